/*
 * scepctl backup and scepctl db check: the store as a file, beside a
 * running server (ra/store/ra_store_backup.h). Keys and the secret file
 * are not in the database; docs/operations.md says how to keep them.
 */
#include <stdlib.h>
#include <string.h>

#include "ra_store_backup.h"
#include "scepctl.h"

int
sc_backup(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	err;
	long long	pages = 0;

	if (argc != 2 || strncmp(argv[1], "--", 2) == 0)
		return sc_usage("backup");
	if (ra_store_backup(ctx->conf->database, argv[1], &pages, &err) !=
	    SG_OK)
		return sc_fail(&err);
	printf("%s: %lld pages of %s\n", argv[1], pages, ctx->conf->database);
	return SC_OK;
}

static void
check_print(const char *path, const struct ra_store_check *c, bool ok)
{
	printf("database:          %s\n", path);
	printf("integrity:         %s\n", c->integrity);
	printf("foreign keys:      %lld violations\n", c->fk_violations);
	printf("audit triggers:    %s\n", c->audit_triggers ? "present" :
	    "MISSING");
	printf("audit records:     %lld (ids %lld..%lld)\n", c->audit_rows,
	    c->audit_first, c->audit_last);
	if (c->audit_back > 0)
		printf("audit time:        %lld records older than the one "
		    "before (a clock step?)\n", c->audit_back);
	printf("certificates:      %lld\n", c->certs);
	printf("transactions:      %lld\n", c->txns);
	printf("result:            %s\n", ok ? "ok" : "FAILED");
}

int
sc_db(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_store_check	 c;
	struct sg_err		 err;
	const char		*path;
	bool			 ok;

	if (argc < 2 || argc > 3 || strcmp(argv[1], "check") != 0 ||
	    (argc == 3 && strncmp(argv[2], "--", 2) == 0))
		return sc_usage("db");
	path = argc == 3 ? argv[2] : ctx->conf->database;
	if (ra_store_check(path, &c, &err) != SG_OK)
		return sc_fail(&err);
	ok = ra_store_check_ok(&c);
	check_print(path, &c, ok);
	return ok ? SC_OK : SC_FAIL;
}
