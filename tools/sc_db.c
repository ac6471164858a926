/*
 * scepctl backup, db check and db copy: the store as a file, beside a
 * running server (ra/store/ra_store_backup.h). Keys and the secret file
 * are not in the database; docs/operations.md says how to keep them.
 */
#include <stdlib.h>
#include <string.h>

#include "ra_store.h"
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

/* db copy --from DB --to DB: every table, counts verified. */
static int
db_copy(int argc, char *argv[])
{
	struct ra_store_copied	 out[RA_STORE_TABLES];
	struct ra_store		*from = NULL, *to = NULL;
	struct sg_err		 err;
	size_t			 i;
	int			 rc = SC_FAIL;

	if (argc != 6 || strcmp(argv[2], "--from") != 0 ||
	    strcmp(argv[4], "--to") != 0)
		return sc_usage("db");
	if (ra_store_open(argv[3], &from, &err) != SG_OK ||
	    ra_store_open(argv[5], &to, &err) != SG_OK ||
	    ra_store_copy(from, to, out, &err) != SG_OK) {
		rc = sc_fail(&err);
		goto out;
	}
	for (i = 0; i < RA_STORE_TABLES; i++)
		printf("%-12s %lld rows\n", out[i].table,
		    (long long)out[i].rows);
	printf("copied and verified: %s -> %s\n", argv[3], argv[5]);
	rc = SC_OK;
out:
	ra_store_close(to);
	ra_store_close(from);
	return rc;
}

/* db upgrade: the configured database to this build's schema. */
static int
db_upgrade(struct sc_ctx *ctx, int argc)
{
	struct sg_err	err;
	int		from = 0, to = 0;

	if (argc != 2)
		return sc_usage("db");
	if (ra_store_upgrade(ctx->conf->database, &from, &to, &err) != SG_OK)
		return sc_fail(&err);
	if (from == to)
		printf("schema version %d: up to date\n", to);
	else
		printf("schema upgraded from version %d to %d\n", from, to);
	return SC_OK;
}

int
sc_db(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_store_check	 c;
	struct sg_err		 err;
	const char		*path;
	bool			 ok;

	if (argc >= 2 && strcmp(argv[1], "copy") == 0)
		return db_copy(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "upgrade") == 0)
		return db_upgrade(ctx, argc);
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
