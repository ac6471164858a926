/*
 * scepctl backup, db check and db copy: the store as a file, beside a
 * running server (ra/store/ra_store_backup.h). Keys and the secret file
 * are not in the database; docs/operations.md says how to keep them.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ra_store.h"
#include "ra_store_backup.h"
#include "scepctl.h"

/* Is "database" a PostgreSQL one (else SQLite, or not valid)? */
static bool
is_pg(const char *database)
{
	struct conf_db	db;

	return conf_database_parse(database, &db, NULL) == SG_OK &&
	    db.kind == CONF_DB_POSTGRESQL;
}

int
sc_backup(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	err;
	long long	n = 0;

	if (argc != 2 || strncmp(argv[1], "--", 2) == 0)
		return sc_usage("backup");
	if (is_pg(ctx->conf->database)) {
		if (ra_store_dump(ctx->conf->database, argv[1], &n, &err) !=
		    SG_OK)
			return sc_fail(&err);
		printf("%s: %lld bytes (pg_dump custom format; pg_restore "
		    "reads it)\n", argv[1], n);
		return SC_OK;
	}
	if (ra_store_backup(ctx->conf->database, argv[1], &n, &err) != SG_OK)
		return sc_fail(&err);
	printf("%s: %lld pages of %s\n", argv[1], n, ctx->conf->database);
	return SC_OK;
}

/* db check on PostgreSQL: the invariants of several writers. */
static int
check_pg(const char *uri)
{
	struct ra_store_invariants	 v;
	struct ra_store			*st = NULL;
	struct sg_err			 err;
	bool				 ok;

	if (ra_store_open_flags(uri, RA_STORE_NO_UPGRADE, &st, &err) !=
	    SG_OK || ra_store_invariants(st, &v, &err) != SG_OK) {
		ra_store_close(st);
		return sc_fail(&err);
	}
	ra_store_close(st);
	ok = ra_store_invariants_ok(&v);
	printf("database:          PostgreSQL\n");
	printf("schema version:    %lld%s\n", (long long)v.schema,
	    v.schema == v.schema_want ? "" : " (not this scepctl's)");
	printf("live transactions: %lld transactionIDs with two\n",
	    (long long)v.live_bad);
	printf("CRL numbers:       %lld below an older CRL's\n",
	    (long long)v.crl_bad);
	printf("certificates:      %lld (%lld of a missing transaction)\n",
	    (long long)v.certs, (long long)v.cert_bad);
	printf("transactions:      %lld (%lld issued without their "
	    "certificate, %lld serials issued twice)\n", (long long)v.txns,
	    (long long)v.issued_bad, (long long)v.serial_bad);
	printf("CRLs:              %lld\n", (long long)v.crls);
	printf("audit records:     %lld\n", (long long)v.audit);
	printf("audit triggers:    %s\n", v.audit_guard ? "present" :
	    "MISSING");
	printf("result:            %s\n", ok ? "ok" : "FAILED");
	return ok ? SC_OK : SC_FAIL;
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

/* db grant ROLE: PostgreSQL's runtime role (docs/postgresql.md). */
static int
db_grant(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_store	*st = NULL;
	struct sg_err	 err;
	int		 rc = SC_OK;

	if (argc != 3 || strncmp(argv[2], "--", 2) == 0)
		return sc_usage("db");
	if (ra_store_open(ctx->conf->database, &st, &err) != SG_OK ||
	    ra_store_grant(st, argv[2], &err) != SG_OK)
		rc = sc_fail(&err);
	else
		printf("role %s: granted what scepgate needs at run time\n",
		    argv[2]);
	ra_store_close(st);
	return rc;
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
	if (argc >= 2 && strcmp(argv[1], "grant") == 0)
		return db_grant(ctx, argc, argv);
	if (argc < 2 || argc > 3 || strcmp(argv[1], "check") != 0 ||
	    (argc == 3 && strncmp(argv[2], "--", 2) == 0))
		return sc_usage("db");
	path = argc == 3 ? argv[2] : ctx->conf->database;
	if (is_pg(path))
		return check_pg(path);
	if (ra_store_check(path, &c, &err) != SG_OK)
		return sc_fail(&err);
	ok = ra_store_check_ok(&c);
	check_print(path, &c, ok);
	return ok ? SC_OK : SC_FAIL;
}
