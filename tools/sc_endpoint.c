/* scepctl endpoint. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "scepctl.h"

static json_t *
ep_json(struct ra *ra, const struct ra_endpoint *ep)
{
	char	url[512], created[32];

	ra_endpoint_url(ra, ep, url, sizeof(url));
	sc_time(ep->created, created, sizeof(created));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
	    "id", (json_int_t)ep->id, "name", ep->name, "uri", ep->uri,
	    "url", url, "type", ra_ep_type_name(ep->type), "ra", ep->ra_id,
	    "cacert_format", ra_cacert_fmt_name(ep->cacert_fmt),
	    "getcert_format", ra_getcert_fmt_name(ep->getcert_fmt),
	    "renewal_days", ep->renewal_days, "created", created);
}

static int
ep_add(struct sc_ctx *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "uri", required_argument, NULL, 'u' },
		{ "ra", required_argument, NULL, 'r' },
		{ "cacert-format", required_argument, NULL, 'c' },
		{ "getcert-format", required_argument, NULL, 'g' },
		{ "renewal-days", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct ra_endpoint	 ep = { 0 };
	struct sg_err		 err;
	char			 url[512];
	bool			 have_type = false;
	long			 v;
	int			 c;

	ep.renewal_days = 30;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!ra_ep_type_parse(optarg, &ep.type)) {
				fprintf(stderr, "scepctl: --type: device, "
				    "client, device-intune or client-intune\n");
				return SC_USAGE;
			}
			have_type = true;
			break;
		case 'u':
			snprintf(ep.uri, sizeof(ep.uri), "%s", optarg);
			break;
		case 'r':
			snprintf(ep.ra_id, sizeof(ep.ra_id), "%s", optarg);
			break;
		case 'c':
			if (!ra_cacert_fmt_parse(optarg, &ep.cacert_fmt)) {
				fprintf(stderr, "scepctl: --cacert-format: "
				    "pem, der or cms-chain\n");
				return SC_USAGE;
			}
			break;
		case 'g':
			if (!ra_getcert_fmt_parse(optarg, &ep.getcert_fmt)) {
				fprintf(stderr, "scepctl: --getcert-format: "
				    "single or full-chain\n");
				return SC_USAGE;
			}
			break;
		case 'w':
			if (!sg_parse_long(optarg, 0, 3650, &v))
				return sc_usage("endpoint");
			ep.renewal_days = (int)v;
			break;
		default:
			return sc_usage("endpoint");
		}
	}
	/* The name follows "add": argv[1] after getopt's permutation. */
	if (!have_type || ep.uri[0] == '\0' || optind + 1 != argc) {
		fprintf(stderr, "scepctl: endpoint add needs NAME, --type and "
		    "--uri\n");
		return sc_usage("endpoint");
	}
	snprintf(ep.name, sizeof(ep.name), "%s", argv[optind]);
	if (ra_endpoint_add(ctx->ra, &ep, &err) != SG_OK)
		return sc_fail(&err);
	ra_endpoint_url(ctx->ra, &ep, url, sizeof(url));
	printf("endpoint '%s' added\nSCEP URL: %s\n", ep.name, url);
	return SC_OK;
}

static int
ep_list(struct sc_ctx *ctx, bool json)
{
	struct ra_endpoint	*eps = NULL;
	struct sg_err		 err;
	char			 url[512];
	json_t			*arr;
	size_t			 n = 0, i;

	if (ra_endpoint_list(ctx->ra, &eps, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, ep_json(ctx->ra, &eps[i]));
		free(eps);
		return sc_json_print(arr);
	}
	printf("%-16s  %-14s  %-6s  %-10s  %-10s  %s\n", "NAME", "TYPE", "RA",
	    "CACERT", "GETCERT", "URL");
	for (i = 0; i < n; i++) {
		ra_endpoint_url(ctx->ra, &eps[i], url, sizeof(url));
		printf("%-16s  %-14s  %-6s  %-10s  %-10s  %s\n", eps[i].name,
		    ra_ep_type_name(eps[i].type), eps[i].ra_id,
		    ra_cacert_fmt_name(eps[i].cacert_fmt),
		    ra_getcert_fmt_name(eps[i].getcert_fmt), url);
	}
	free(eps);
	return SC_OK;
}

static int
ep_show(struct sc_ctx *ctx, const char *name, bool json)
{
	struct ra_endpoint	 ep;
	struct sg_err		 err;
	char			 url[512], created[32];

	if (ra_endpoint_get(ctx->ra, name, &ep, &err) != SG_OK)
		return sc_fail(&err);
	if (json)
		return sc_json_print(ep_json(ctx->ra, &ep));
	ra_endpoint_url(ctx->ra, &ep, url, sizeof(url));
	sc_time(ep.created, created, sizeof(created));
	printf("name:            %s\n"
	    "url:             %s\n"
	    "uri extension:   %s\n"
	    "type:            %s\n"
	    "RA certificate:  %s\n"
	    "GetCACert:       %s\n"
	    "GetCert:         %s\n"
	    "renewal window:  %d days\n"
	    "created:         %s\n",
	    ep.name, url, ep.uri, ra_ep_type_name(ep.type), ep.ra_id,
	    ra_cacert_fmt_name(ep.cacert_fmt),
	    ra_getcert_fmt_name(ep.getcert_fmt), ep.renewal_days, created);
	return SC_OK;
}

int
sc_endpoint(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	err;
	bool		json = sc_has_flag(argc, argv, "--json");
	bool		force = sc_has_flag(argc, argv, "--force");

	if (argc < 2)
		return sc_usage("endpoint");
	if (strcmp(argv[1], "add") == 0)
		return ep_add(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0 && argc == 2 + (int)json)
		return ep_list(ctx, json);
	if (strcmp(argv[1], "show") == 0 && argc == 3 + (int)json)
		return ep_show(ctx, argv[2], json);
	if (strcmp(argv[1], "delete") == 0 && argc == 3 + (int)force) {
		if (ra_endpoint_delete(ctx->ra, argv[2], force, &err) != SG_OK)
			return sc_fail(&err);
		printf("endpoint '%s' deleted\n", argv[2]);
		return SC_OK;
	}
	return sc_usage("endpoint");
}
