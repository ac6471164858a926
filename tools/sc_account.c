/* scepctl account. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "scepctl.h"

struct acct_args {
	struct ra_account	 a;
	const char		*code;
	bool			 have_term;
	bool			 json;
};

static int
parse(int argc, char *argv[], struct acct_args *aa)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "org", required_argument, NULL, 'o' },
		{ "dept", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "term", required_argument, NULL, 't' },
		{ "access-code", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	long	v;
	int	c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			snprintf(aa->a.endpoint, sizeof(aa->a.endpoint), "%s",
			    optarg);
			break;
		case 'n':
			snprintf(aa->a.name, sizeof(aa->a.name), "%s", optarg);
			break;
		case 'o':
			snprintf(aa->a.org, sizeof(aa->a.org), "%s", optarg);
			break;
		case 'd':
			snprintf(aa->a.dept, sizeof(aa->a.dept), "%s", optarg);
			break;
		case 'p':
			snprintf(aa->a.profile, sizeof(aa->a.profile), "%s",
			    optarg);
			break;
		case 't':
			if (!sg_parse_long(optarg, 1, 3650, &v)) {
				fprintf(stderr, "scepctl: --term: 1 to 3650 "
				    "days\n");
				return SC_USAGE;
			}
			aa->a.term_days = (int)v;
			aa->have_term = true;
			break;
		case 'c':
			aa->code = optarg;
			break;
		case 'j':
			aa->json = true;
			break;
		default:
			return SC_USAGE;
		}
	}
	if (optind != argc || aa->a.endpoint[0] == '\0')
		return SC_USAGE;
	return SC_OK;
}

static int
acct_list(struct sc_ctx *ctx, const struct acct_args *aa)
{
	struct ra_account	*a = NULL;
	struct sg_err		 err;
	json_t			*arr;
	char			 created[32];
	size_t			 n = 0, i;

	if (ra_account_list(ctx->ra, aa->a.endpoint, &a, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (aa->json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++) {
			sc_time(a[i].created, created, sizeof(created));
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s, "
			    "s:s, s:s, s:s, s:i, s:b, s:s}",
			    "id", (json_int_t)a[i].id, "endpoint",
			    a[i].endpoint, "name", a[i].name, "org", a[i].org,
			    "dept", a[i].dept, "profile", a[i].profile,
			    "term_days", a[i].term_days, "disabled",
			    a[i].disabled, "created", created));
		}
		free(a);
		return sc_json_print(arr);
	}
	printf("%-20s  %-20s  %-16s  %-12s  %5s  %s\n", "NAME", "ORGANIZATION",
	    "DEPARTMENT", "PROFILE", "TERM", "STATE");
	for (i = 0; i < n; i++)
		printf("%-20s  %-20s  %-16s  %-12s  %5d  %s\n", a[i].name,
		    a[i].org, a[i].dept[0] ? a[i].dept : "-",
		    a[i].profile[0] ? a[i].profile : "-", a[i].term_days,
		    a[i].disabled ? "disabled" : "enabled");
	free(a);
	return SC_OK;
}

int
sc_account(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct acct_args	 aa;
	struct sg_err		 err;
	char			 code[RA_CODE_MAX + 1];
	int			 ret;

	memset(&aa, 0, sizeof(aa));
	if (argc < 2 || parse(argc - 1, argv + 1, &aa) != SC_OK)
		return sc_usage("account");
	if (strcmp(argv[1], "add") == 0) {
		if (aa.a.name[0] == '\0' || aa.a.org[0] == '\0' ||
		    !aa.have_term) {
			fprintf(stderr, "scepctl: account add needs --name, "
			    "--org and --term\n");
			return sc_usage("account");
		}
		if (ra_account_add(ctx->ra, &aa.a, aa.code, code, &err) !=
		    SG_OK)
			return sc_fail(&err);
		printf("account '%s' added to endpoint '%s'\n"
		    "access code: %s\n"
		    "(shown once; only its HMAC is stored)\n",
		    aa.a.name, aa.a.endpoint, code);
		OPENSSL_cleanse(code, sizeof(code));
		return SC_OK;
	}
	if (strcmp(argv[1], "list") == 0)
		return acct_list(ctx, &aa);
	if (strcmp(argv[1], "delete") == 0 && aa.a.name[0] != '\0') {
		ret = ra_account_delete(ctx->ra, aa.a.endpoint, aa.a.name, &err);
		if (ret != SG_OK)
			return sc_fail(&err);
		printf("account '%s' deleted\n", aa.a.name);
		return SC_OK;
	}
	return sc_usage("account");
}
