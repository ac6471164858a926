/*
 * scepctl challenge: add, list, revoke (issue 13, docs/challenges.md).
 * A one-time challenge is printed once, at add, and stored only as an
 * HMAC (ra_challenge.c); lists name challenges by id.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ra_json.h"
#include "scepctl.h"

static int
chal_add(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_challenge_req	 req = { 0 };
	struct ra_challenge	 c;
	struct sg_err		 err;
	const char		*v;
	char			 code[RA_CODE_MAX + 1], expires[32];
	json_t			*j;
	long			 life;
	int			 rc = SC_OK;

	if ((req.endpoint = sc_opt_value(argc, argv, "--endpoint")) == NULL)
		return sc_usage("challenge");
	req.account = sc_opt_value(argc, argv, "--account");
	req.cn = sc_opt_value(argc, argv, "--cn");
	req.san = sc_opt_value(argc, argv, "--san");
	if ((v = sc_opt_value(argc, argv, "--lifetime")) != NULL) {
		if (!sg_parse_long(v, 1, INT_MAX, &life)) {
			fprintf(stderr, "scepctl: --lifetime: seconds\n");
			return SC_USAGE;
		}
		req.lifetime = (int)life;
	}
	if (ra_challenge_add(ctx->ra, &req, code, &c, &err) != SG_OK)
		return sc_fail(&err);
	if (sc_has_flag(argc, argv, "--json")) {
		j = ra_json_challenge(&c);
		json_object_set_new(j, "challenge", json_string(code));
		rc = sc_secret_json(j, "challenge");
	} else {
		ra_json_time(c.expires, expires, sizeof(expires));
		printf("challenge %lld on endpoint '%s' (account '%s')\n"
		    "challenge: %s\nexpires: %s\n"
		    "(shown once; good for one enrollment)\n",
		    (long long)c.id, c.endpoint, c.account, code, expires);
	}
	OPENSSL_cleanse(code, sizeof(code));
	return rc;
}

static int
chal_list(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_challenge	*c = NULL;
	struct sg_err		 err;
	json_t			*arr;
	char			 expires[32];
	size_t			 n = 0, i;

	if (ra_challenge_list(ctx->ra, sc_opt_value(argc, argv,
	    "--endpoint"), sc_has_flag(argc, argv, "--all"), &c, &n,
	    &err) != SG_OK)
		return sc_fail(&err);
	if (sc_has_flag(argc, argv, "--json")) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, ra_json_challenge(&c[i]));
		free(c);
		return sc_json_print(arr);
	}
	printf("%-6s  %-16s  %-16s  %-11s  %-20s  %-16s  %s\n", "ID",
	    "ENDPOINT", "ACCOUNT", "STATUS", "EXPIRES", "MINTED BY",
	    "SERIAL");
	for (i = 0; i < n; i++) {
		ra_json_time(c[i].expires, expires, sizeof(expires));
		printf("%-6lld  %-16s  %-16s  %-11s  %-20s  %-16s  %s\n",
		    (long long)c[i].id, c[i].endpoint, c[i].account,
		    ra_chal_status_name(c[i].status), expires, c[i].minted_by,
		    c[i].serial[0] ? c[i].serial : "-");
	}
	free(c);
	return SC_OK;
}

int
sc_challenge(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	err;
	long		id;

	static const char *const avals[] = { "--endpoint", "--account",
	    "--lifetime", "--cn", "--san", NULL };
	static const char *const lvals[] = { "--endpoint", NULL };
	static const char *const jflag[] = { "--json", NULL };
	static const char *const lflags[] = { "--json", "--all", NULL };

	if (argc >= 2 && strcmp(argv[1], "add") == 0) {
		if (!sc_args_ok(argc, argv, 2, avals, jflag, 0))
			return sc_usage("challenge");
		return chal_add(ctx, argc, argv);
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (!sc_args_ok(argc, argv, 2, lvals, lflags, 0))
			return sc_usage("challenge");
		return chal_list(ctx, argc, argv);
	}
	if (argc == 3 && strcmp(argv[1], "revoke") == 0) {
		if (!sg_parse_long(argv[2], 1, LONG_MAX, &id))
			return sc_usage("challenge");
		if (ra_challenge_revoke(ctx->ra, id, &err) != SG_OK)
			return sc_fail(&err);
		printf("challenge %ld revoked\n", id);
		return SC_OK;
	}
	return sc_usage("challenge");
}
