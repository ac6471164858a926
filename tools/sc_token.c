/*
 * scepctl token: add, list, revoke (issue 13). API tokens authenticate
 * the admin API and the NDES page; a token is printed once, at add, and
 * stored only as an HMAC (ra_token.c).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ra_json.h"
#include "scepctl.h"

/* Print "j" (which holds the secret under "key"), then wipe its copy. */
int
sc_secret_json(json_t *j, const char *key)
{
	json_t	*s = json_object_get(j, key);
	char	*v = s != NULL ? (char *)json_string_value(s) : NULL;

	if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER) != 0) {
		fprintf(stderr, "scepctl: cannot write JSON\n");
		json_decref(j);
		return SC_FAIL;
	}
	fputc('\n', stdout);
	if (v != NULL)
		OPENSSL_cleanse(v, strlen(v));
	json_decref(j);
	return SC_OK;
}

static int
token_add(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_token	 t = { 0 };
	struct sg_err	 err;
	const char	*v;
	char		 secret[RA_TOKEN_MAX];
	json_t		*j;
	int		 rc = SC_OK;

	if (argc < 3 || !sc_arg_copy(t.name, sizeof(t.name), "NAME",
	    argv[2]))
		return sc_usage("token");
	if ((v = sc_opt_value(argc, argv, "--scope")) == NULL ||
	    !ra_scope_parse(v, &t.scope)) {
		fprintf(stderr, "scepctl: --scope: challenge, read or admin\n");
		return SC_USAGE;
	}
	if ((v = sc_opt_value(argc, argv, "--endpoint")) != NULL &&
	    !sc_arg_copy(t.endpoint, sizeof(t.endpoint), "--endpoint", v))
		return SC_USAGE;
	if (ra_token_add(ctx->ra, &t, secret, &err) != SG_OK)
		return sc_fail(&err);
	if (sc_has_flag(argc, argv, "--json")) {
		j = ra_json_token(&t);
		json_object_set_new(j, "token", json_string(secret));
		rc = sc_secret_json(j, "token");
	} else
		printf("token '%s' added (scope %s%s%s)\n"
		    "token: %s\n"
		    "(shown once; only its HMAC is stored)\n", t.name,
		    ra_scope_name(t.scope), t.endpoint[0] ? ", endpoint " : "",
		    t.endpoint, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static int
token_list(struct sc_ctx *ctx, bool json)
{
	struct ra_token	*t = NULL;
	struct sg_err	 err;
	json_t		*arr;
	char		 created[32], used[32];
	size_t		 n = 0, i;

	if (ra_token_list(ctx->ra, &t, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, ra_json_token(&t[i]));
		free(t);
		return sc_json_print(arr);
	}
	printf("%-20s  %-9s  %-16s  %-20s  %-20s  %s\n", "NAME", "SCOPE",
	    "ENDPOINT", "CREATED", "LAST USED", "STATE");
	for (i = 0; i < n; i++) {
		ra_json_time(t[i].created, created, sizeof(created));
		ra_json_time(t[i].last_used, used, sizeof(used));
		printf("%-20s  %-9s  %-16s  %-20s  %-20s  %s\n", t[i].name,
		    ra_scope_name(t[i].scope), t[i].endpoint[0] ?
		    t[i].endpoint : "-", created, used[0] ? used : "-",
		    t[i].revoked ? "revoked" : "active");
	}
	free(t);
	return SC_OK;
}

int
sc_token(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	err;

	static const char *const avals[] = { "--scope", "--endpoint", NULL };
	static const char *const jflag[] = { "--json", NULL };

	if (argc >= 2 && strcmp(argv[1], "add") == 0) {
		if (!sc_args_ok(argc, argv, 2, avals, jflag, 1))
			return sc_usage("token");
		return token_add(ctx, argc, argv);
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (!sc_args_ok(argc, argv, 2, NULL, jflag, 0))
			return sc_usage("token");
		return token_list(ctx, sc_has_flag(argc, argv, "--json"));
	}
	if (argc == 3 && strcmp(argv[1], "revoke") == 0) {
		if (ra_token_revoke(ctx->ra, argv[2], &err) != SG_OK)
			return sc_fail(&err);
		printf("token '%s' revoked\n", argv[2]);
		return SC_OK;
	}
	return sc_usage("token");
}
