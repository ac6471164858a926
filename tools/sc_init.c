/* scepctl init and check-config. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "scepctl.h"

int
sc_init(struct sc_ctx *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "address", required_argument, NULL, 'a' },
		{ "tls-port", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct ra_instance_result	 res;
	struct sg_err		 err;
	const char		*dir = NULL, *addr = "127.0.0.1";
	long			 port = 8080, tls_port = 0;
	int			 c;

	(void)ctx;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			if (!sg_parse_long(optarg, 1, 65535, &port))
				return sc_usage("init");
			break;
		case 'a':
			addr = optarg;
			break;
		case 't':
			if (!sg_parse_long(optarg, 1, 65535, &tls_port))
				return sc_usage("init");
			break;
		default:
			return sc_usage("init");
		}
	}
	if (dir == NULL || optind != argc)
		return sc_usage("init");
	if (tls_port == port)
		return sc_usage("init");
	if (ra_instance_create_tls(dir, addr, (int)port, (int)tls_port, &res,
	    &err) != SG_OK)
		return sc_fail(&err);
	printf("scepgate instance created in %s\n"
	    "config:      %s\n"
	    "SCEP URL:    %s\n"
	    "access code: %s\n"
	    "(the access code is shown only now; scepctl account add makes "
	    "more)\n"
	    "start with:  scepgate --config %s\n",
	    dir, res.config, res.url, res.code, res.config);
	if (tls_port != 0)
		printf("HTTPS:       port %ld, certificate %s/tls.pem "
		    "(self-signed)\n", tls_port, dir);
	return SC_OK;
}

int
sc_check_config(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra	*ra = NULL;
	struct sg_err	 err;

	if (sc_has_flag(argc, argv, "--describe")) {
		conf_describe(stdout);
		return SC_OK;
	}
	if (argc != 1)
		return sc_usage("check-config");
	/* Load keys and the store too: what scepgate would do at start. */
	if (ra_open(ctx->conf, &ra, &err) != SG_OK)
		return sc_fail(&err);
	ra_close(ra);
	printf("%s: OK\n", ctx->conf->path);
	return SC_OK;
}
