/*
 * The PostgreSQL driver of the store (ra_store_drv.h; the calls and their
 * SQL are ra_store.c's), with libpq. Several scepgate instances and
 * scepctl share one database: races between them are decided by the
 * database (unique indexes, conditional updates, the CRL trigger), never
 * by a lock here.
 *
 * A small pool of connections per store, taken for one call: each call
 * is one transaction (BEGIN before its first write; COMMIT if it
 * succeeded, ROLLBACK otherwise), so a call is atomic without
 * savepoints. Statements are prepared once per connection, "?N" written
 * as "$N". Results come in binary form.
 *
 * Durability (docs/durability.md): synchronous_commit must be on (or
 * stronger): then COMMIT returns after the WAL is flushed, and no other
 * session sees a commit before that, so a read sees only durable writes.
 * A server that reports "off" is refused at open.
 *
 * Outages: a call on a broken connection fails with SG_ESTORE (the
 * device gets HTTP 500 and retries); the next call on that connection
 * resets it (PQreset), so the store reconnects by itself.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ra_store_drv.h"

/*
 * Version 3's additions, idempotent (schema and upgrade): the name
 * policy columns of an endpoint (docs/names.md) with the safe defaults
 * (dns, ip and email SANs, no pattern, O/OU from the account, renewals
 * keep their names); crash recovery's indexes; the failure counters,
 * refusal windows and the prune marker (ra_store.h). A DELETE of an
 * audit row passes its trigger only inside an id range that
 * ra_store_audit_prune() marked in the same transaction; UPDATE and
 * TRUNCATE never.
 */
#define EP_NAME_COLS ", san_types BIGINT NOT NULL DEFAULT 7," \
	" name_pattern TEXT NOT NULL DEFAULT ''," \
	" subject_csr BIGINT NOT NULL DEFAULT 0," \
	" renewal_any BIGINT NOT NULL DEFAULT 0"
/* The upgrade's only: no ALTER TABLE (an exclusive lock) at each open. */
#define NAME_COLUMNS_V3 \
"ALTER TABLE endpoint" \
"  ADD COLUMN IF NOT EXISTS san_types BIGINT NOT NULL DEFAULT 7," \
"  ADD COLUMN IF NOT EXISTS name_pattern TEXT NOT NULL DEFAULT ''," \
"  ADD COLUMN IF NOT EXISTS subject_csr BIGINT NOT NULL DEFAULT 0," \
"  ADD COLUMN IF NOT EXISTS renewal_any BIGINT NOT NULL DEFAULT 0;"
#define SCHEMA_V3 \
"CREATE INDEX IF NOT EXISTS txn_new ON txn(updated) WHERE status = 0;" \
"CREATE INDEX IF NOT EXISTS cert_txn ON cert(txn_id);" \
"CREATE TABLE IF NOT EXISTS auth_fail(endpoint_id BIGINT NOT NULL," \
"  name TEXT NOT NULL, t BIGINT NOT NULL, n BIGINT NOT NULL," \
"  PRIMARY KEY(endpoint_id, name, t));" \
"CREATE INDEX IF NOT EXISTS auth_fail_t ON auth_fail(t);" \
"CREATE TABLE IF NOT EXISTS refusal(source TEXT NOT NULL," \
"  endpoint TEXT NOT NULL, reason TEXT NOT NULL, start BIGINT NOT NULL," \
"  n BIGINT NOT NULL, PRIMARY KEY(source, endpoint, reason));" \
"CREATE INDEX IF NOT EXISTS refusal_start ON refusal(start);" \
"CREATE TABLE IF NOT EXISTS audit_prune(first_id BIGINT NOT NULL," \
"  last_id BIGINT NOT NULL, time BIGINT NOT NULL);" \
"CREATE OR REPLACE FUNCTION audit_delete_pruned() RETURNS trigger" \
"  LANGUAGE plpgsql AS $$ BEGIN" \
"  IF NOT EXISTS (SELECT 1 FROM audit_prune p" \
"    WHERE OLD.id BETWEEN p.first_id AND p.last_id) THEN" \
"    RAISE EXCEPTION 'audit records are append-only';" \
"  END IF; RETURN OLD; END $$;" \
"DROP TRIGGER IF EXISTS audit_no_change ON audit;" \
"CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE" \
"  ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();" \
"CREATE OR REPLACE TRIGGER audit_delete_pruned BEFORE DELETE" \
"  ON audit FOR EACH ROW EXECUTE FUNCTION audit_delete_pruned();"

/*
 * Version 4's, idempotent: a collector's claim on a pending order
 * (ra_store_txn_claim) and the named leases of jobs one instance runs
 * at a time (ra_store_lease_take).
 */
#define LEASE_TABLE \
"CREATE TABLE IF NOT EXISTS lease(name TEXT PRIMARY KEY," \
"  holder TEXT NOT NULL, until BIGINT NOT NULL);"
/*
 * Version 4's roles (docs/postgresql.md): the owner (who creates and
 * upgrades the schema) and a runtime role that scepgate may use
 * instead, given by scepgate_grant(role) (scepctl db grant): no DDL, no
 * UPDATE or DELETE of the audit. Its prune deletes through the view
 * audit_prunable, which runs with the owner's rights and shows only
 * ranges marked in audit_prune; the CRL trigger locks its table with
 * the owner's rights too.
 */
#define ROLES_V4 \
"CREATE OR REPLACE VIEW audit_prunable AS SELECT * FROM audit a" \
"  WHERE EXISTS (SELECT 1 FROM audit_prune p" \
"  WHERE a.id BETWEEN p.first_id AND p.last_id);" \
"ALTER FUNCTION crl_increasing() SECURITY DEFINER SET search_path = public;" \
"CREATE OR REPLACE FUNCTION scepgate_grant(r TEXT) RETURNS BIGINT" \
"  LANGUAGE plpgsql AS $$ BEGIN" \
"  EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', r);" \
"  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON org, dept," \
"    profile, endpoint, delegation, account, txn, cert, auth_fail," \
"    refusal, audit_prune, lease TO %I', r);" \
"  EXECUTE format('GRANT SELECT, INSERT ON crl, audit TO %I', r);" \
"  EXECUTE format('GRANT SELECT, DELETE ON audit_prunable TO %I', r);" \
"  EXECUTE format('GRANT SELECT ON meta TO %I', r);" \
"  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public" \
"    TO %I', r);" \
"  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM %I', r);" \
"  RETURN 1; END $$;"
/* The upgrade's only (an ALTER TABLE), as NAME_COLUMNS_V3. */
#define SCHEMA_V4 \
"ALTER TABLE txn ADD COLUMN IF NOT EXISTS claimed_by TEXT," \
"  ADD COLUMN IF NOT EXISTS claimed_until BIGINT;" LEASE_TABLE ROLES_V4
#define TXN_CLAIM_COLS ", claimed_by TEXT, claimed_until BIGINT"

/* The schema, at version RA_STORE_SCHEMA (meta.schema_version). */
static const char schema[] =
"BEGIN;"
"SET LOCAL client_min_messages = warning;"
/* Two instances starting at once create the schema one after the other. */
"SELECT pg_advisory_xact_lock(724613001);"
"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
"CREATE TABLE IF NOT EXISTS org("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE, created BIGINT NOT NULL, scm_id BIGINT);"
"CREATE TABLE IF NOT EXISTS dept("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  org_id BIGINT NOT NULL REFERENCES org(id), name TEXT NOT NULL,"
"  created BIGINT NOT NULL, scm_id BIGINT, UNIQUE(org_id, name));"
"CREATE TABLE IF NOT EXISTS profile("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  scm_id BIGINT NOT NULL, name TEXT NOT NULL, kind BIGINT NOT NULL,"
"  terms TEXT NOT NULL, synced BIGINT NOT NULL, UNIQUE(kind, scm_id));"
"CREATE TABLE IF NOT EXISTS endpoint("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE, uri TEXT NOT NULL UNIQUE,"
"  type BIGINT NOT NULL, ra_id TEXT NOT NULL, ra_enc_id TEXT NOT NULL,"
"  cacert_fmt BIGINT NOT NULL, getcert_fmt BIGINT NOT NULL,"
"  renewal_days BIGINT NOT NULL, min_rsa_bits BIGINT NOT NULL,"
"  key_types BIGINT NOT NULL, challenge_types BIGINT NOT NULL,"
"  delegated BIGINT NOT NULL DEFAULT 0, org TEXT NOT NULL DEFAULT '',"
"  dept TEXT NOT NULL DEFAULT '', profile TEXT NOT NULL DEFAULT '',"
"  term_days BIGINT NOT NULL DEFAULT 0, azure TEXT NOT NULL DEFAULT '',"
"  created BIGINT NOT NULL" EP_NAME_COLS ");"
"CREATE TABLE IF NOT EXISTS delegation("
"  endpoint_id BIGINT NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,"
"  org_id BIGINT NOT NULL REFERENCES org(id),"
"  dept_id BIGINT REFERENCES dept(id));"
"CREATE TABLE IF NOT EXISTS account("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  endpoint_id BIGINT NOT NULL REFERENCES endpoint(id),"
"  name TEXT NOT NULL, org_id BIGINT NOT NULL REFERENCES org(id),"
"  dept_id BIGINT REFERENCES dept(id), profile TEXT NOT NULL,"
"  term_days BIGINT NOT NULL, code_hmac BYTEA NOT NULL,"
"  disabled BIGINT NOT NULL DEFAULT 0, manual BIGINT NOT NULL DEFAULT 0,"
"  created BIGINT NOT NULL,"
"  UNIQUE(endpoint_id, name), UNIQUE(endpoint_id, code_hmac));"
"CREATE TABLE IF NOT EXISTS txn("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  endpoint_id BIGINT NOT NULL, transid TEXT NOT NULL,"
"  account_id BIGINT, msg_type BIGINT NOT NULL, status BIGINT NOT NULL,"
"  key_id BYTEA, csr_sealed BYTEA, subject TEXT, serial TEXT,"
"  order_id TEXT, renews TEXT,"
"  failinfo BIGINT, reason TEXT, peer TEXT, created BIGINT NOT NULL,"
"  updated BIGINT NOT NULL" TXN_CLAIM_COLS ");"
"CREATE INDEX IF NOT EXISTS txn_transid ON txn(endpoint_id, transid);"
/* At most one live (new or pending) transaction per transactionID. */
"CREATE UNIQUE INDEX IF NOT EXISTS txn_live ON txn(endpoint_id, transid)"
"  WHERE status IN (0, 1);"
"CREATE TABLE IF NOT EXISTS cert(serial TEXT PRIMARY KEY,"
"  endpoint_id BIGINT NOT NULL, account_id BIGINT, txn_id BIGINT,"
"  subject TEXT NOT NULL, not_before BIGINT NOT NULL,"
"  not_after BIGINT NOT NULL, der BYTEA NOT NULL,"
"  status BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT, reason BIGINT);"
"CREATE TABLE IF NOT EXISTS crl(number BIGINT PRIMARY KEY,"
"  der BYTEA NOT NULL, next_update BIGINT NOT NULL,"
"  created BIGINT NOT NULL);"
"CREATE TABLE IF NOT EXISTS audit("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  time BIGINT NOT NULL, actor TEXT NOT NULL, endpoint TEXT,"
"  account TEXT, transid TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL,"
"  details TEXT);"
/* The audit log is append-only (SCM's "View Audit"), for every role. */
"CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger"
"  LANGUAGE plpgsql AS $$ BEGIN"
"  RAISE EXCEPTION 'audit records are append-only'; END $$;"
"CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE"
"  ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"
/*
 * CRL numbers strictly increase in commit order too (RFC 5280 5.2.3):
 * writers take the table's lock in turn and compare with what is
 * committed; a loser gets unique_violation, as for a number taken.
 */
"CREATE OR REPLACE FUNCTION crl_increasing() RETURNS trigger"
"  LANGUAGE plpgsql AS $$ BEGIN"
"  LOCK TABLE crl IN SHARE ROW EXCLUSIVE MODE;"
"  IF NEW.number <= (SELECT COALESCE(MAX(number), 0) FROM crl) THEN"
"    RAISE EXCEPTION 'CRL number % is not above the last one', NEW.number"
"      USING ERRCODE = 'unique_violation';"
"  END IF; RETURN NEW; END $$;"
"CREATE OR REPLACE TRIGGER crl_increasing BEFORE INSERT ON crl"
"  FOR EACH ROW EXECUTE FUNCTION crl_increasing();"
"CREATE INDEX IF NOT EXISTS txn_orders ON txn(status, updated);"
SCHEMA_V3
LEASE_TABLE
ROLES_V4
"INSERT INTO meta VALUES('schema_version', '4') ON CONFLICT DO NOTHING;"
"COMMIT;";

/*
 * upgrades[v] takes a database of schema version v to v + 1; steps are
 * idempotent, and instances starting at once take them in turn.
 */
static const char *const upgrades[RA_STORE_SCHEMA] = {
	[1] = "CREATE INDEX IF NOT EXISTS txn_orders ON txn(status, updated);",
	[2] = NAME_COLUMNS_V3 SCHEMA_V3,
	[3] = SCHEMA_V4,
};

/* Seconds a connection attempt may take (libpq's connect_timeout). */
#define CONNECT_S	3
/* Connections per store; more concurrent calls wait for one. */
#define POOL_MAX	16
/* Parameters of the longest statement, and the SQL after "?N" -> "$N". */
#define ARGS_MAX	24
#define SQL_MAX		1024

/* OIDs of the parameter types (pg_type.dat). */
#define OID_BYTEA	17
#define OID_INT8	20
#define OID_TEXT	25

struct conn {
	PGconn		*pg;
	bool		 busy;		/* taken by a call */
	bool		 tx;		/* BEGIN sent */
	bool		 bad;		/* not connected now */
	bool		*prepared;	/* by statement id */
	int64_t		 changes;
	char		 state[6];	/* SQLSTATE of the last failure */
	char		 msg[256];
};

struct db {
	char		*uri;
	size_t		 nstmt;
	pthread_mutex_t	 lock;		/* guards "busy", "nconn" */
	pthread_cond_t	 freed;
	size_t		 nconn;
	struct conn	 conns[POOL_MAX];
};

/* The connection this thread took for its call (one call at a time). */
static _Thread_local struct conn *cur;

static void
fail(struct conn *c, const char *state, const char *msg)
{
	size_t	n;

	snprintf(c->state, sizeof(c->state), "%s", state ? state : "");
	snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "failed");
	/* One line: libpq writes several, each ending with a newline. */
	for (n = 0; c->msg[n] != '\0'; n++)
		if (c->msg[n] == '\n' || c->msg[n] == '\t')
			c->msg[n] = ' ';
	while (n > 0 && c->msg[n - 1] == ' ')
		c->msg[--n] = '\0';
}

/* Server notices (e.g. the shutdown warning) are not ours to print. */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A command on c; true if it ran (its result status is "want"). */
static bool
exec(struct conn *c, const char *q, ExecStatusType want)
{
	PGresult	*res = PQexec(c->pg, q);
	bool		 ok = PQresultStatus(res) == want;

	if (!ok)
		fail(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(c->pg));
	PQclear(res);
	return ok;
}

/* Refuse a server that acknowledges commits before they are flushed. */
static bool
durable(struct conn *c)
{
	PGresult	*res = PQexec(c->pg, "SHOW synchronous_commit");
	bool		 ok = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    PQerrorMessage(c->pg));
	else if (strcmp(PQgetvalue(res, 0, 0), "off") == 0)
		fail(c, "", "synchronous_commit is off: commits would not "
		    "be durable (docs/durability.md)");
	else
		ok = true;
	PQclear(res);
	return ok;
}

/* Connect c, or reset it if its connection broke; true if it is up. */
static bool
connect_conn(struct db *db, struct conn *c, bool force)
{
	bool	fresh = c->pg == NULL;

	if (!fresh && !force && PQstatus(c->pg) == CONNECTION_OK)
		return true;
	if (fresh)
		c->pg = PQconnectdb(db->uri);
	else
		PQreset(c->pg);
	memset(c->prepared, 0, db->nstmt * sizeof(*c->prepared));
	c->tx = false;
	if (c->pg != NULL)
		PQsetNoticeProcessor(c->pg, quiet, NULL);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		fail(c, "08006", c->pg != NULL ? PQerrorMessage(c->pg) :
		    "out of memory");
		return false;
	}
	if (durable(c))
		return true;
	PQfinish(c->pg);
	c->pg = NULL;
	return false;
}

/*
 * A pooled connection whose server restarted fails at its first use
 * (c->state: no SQLSTATE, class 08 or 57P, or libpq saw it close).
 * Before the call has begun a transaction nothing of it was done, so
 * connect again and let the caller retry once.
 */
static bool
retry(struct db *db, struct conn *c)
{
	bool	lost;

	if (c->tx || c->pg == NULL)
		return false;
	lost = PQstatus(c->pg) != CONNECTION_OK || c->state[0] == '\0' ||
	    strncmp(c->state, "08", 2) == 0 || strncmp(c->state, "57P", 3) == 0;
	if (!lost)
		return false;
	c->bad = !connect_conn(db, c, true);
	return !c->bad;
}

/* Take a connection for this call (connected at once). */
static void
db_lock(void *p)
{
	struct db	*db = p;
	struct conn	*c = NULL;
	size_t		 i;

	pthread_mutex_lock(&db->lock);
	while (c == NULL) {
		for (i = 0; i < db->nconn && c == NULL; i++)
			if (!db->conns[i].busy)
				c = &db->conns[i];
		if (c == NULL && db->nconn < POOL_MAX)
			c = &db->conns[db->nconn++];
		if (c == NULL)
			pthread_cond_wait(&db->freed, &db->lock);
	}
	c->busy = true;
	pthread_mutex_unlock(&db->lock);
	c->state[0] = '\0';
	c->msg[0] = '\0';
	c->bad = !connect_conn(db, c, false);
	cur = c;
}

static bool
up(const struct conn *c)
{
	return !c->bad && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK;
}

/* End the call's transaction: COMMIT if rc is SG_OK, else ROLLBACK. */
static enum sg_rc
db_unlock(void *p, enum sg_rc rc, struct sg_err *err)
{
	struct db	*db = p;
	struct conn	*c = cur;
	PGresult	*res;
	bool		 ok;

	if (c->tx && up(c)) {
		res = PQexec(c->pg, rc == SG_OK ? "COMMIT" : "ROLLBACK");
		/* COMMIT of a failed transaction says ROLLBACK. */
		ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
		    strcmp(PQcmdStatus(res), rc == SG_OK ? "COMMIT" :
		    "ROLLBACK") == 0;
		if (!ok)
			fail(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
			    PQerrorMessage(c->pg));
		PQclear(res);
		if (rc == SG_OK && !ok)
			rc = sg_err_set(err, SG_ESTORE, "store: commit "
			    "failed: %s", c->msg);
	} else if (c->tx && rc == SG_OK)
		rc = sg_err_set(err, SG_ESTORE, "store: connection lost: %s",
		    c->msg);
	c->tx = false;
	cur = NULL;
	pthread_mutex_lock(&db->lock);
	c->busy = false;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static enum sg_rc
db_error(void *p, struct sg_err *err, const char *what)
{
	struct conn	*c = cur;

	(void)p;
	if (strcmp(c->state, "23505") == 0)
		return sg_err_set(err, SG_EEXIST, "%s: already exists", what);
	return sg_err_set(err, SG_ESTORE, "%s: %s", what,
	    c->msg[0] != '\0' ? c->msg : "database failure");
}

static enum sg_rc
db_begin(void *p, struct sg_err *err)
{
	struct conn	*c = cur;

	if (c->tx)
		return SG_OK;
	if (!up(c) || (!exec(c, "BEGIN", PGRES_COMMAND_OK) &&
	    (!retry(p, c) || !exec(c, "BEGIN", PGRES_COMMAND_OK))))
		return db_error(p, err, "store: begin");
	c->tx = true;
	return SG_OK;
}

/* The call is one transaction: its rollback undoes all of it. */
static enum sg_rc
db_op_end(void *p, enum sg_rc rc, struct sg_err *err)
{
	(void)p;
	(void)err;
	return rc;
}

/* "?N" -> "$N" (the SQL has no '?' in literals); false if too long. */
static bool
dollars(const char *sql, char *out, size_t outsz)
{
	size_t	i;

	for (i = 0; sql[i] != '\0'; i++) {
		if (i + 1 >= outsz)
			return false;
		out[i] = sql[i] == '?' ? '$' : sql[i];
	}
	out[i] = '\0';
	return true;
}

static Oid
arg_oid(const struct arg *a)
{
	if (a->type == ARG_INT)
		return OID_INT8;
	if (a->type == ARG_NULL_INT)
		return OID_INT8;
	/* NULL is an empty text filter ("?N IS NULL OR ..."). */
	return a->type == ARG_BLOB ? OID_BYTEA : OID_TEXT;
}

/* Prepare statement "id" on c once per connection, as "s<id>". */
static bool
prepare(struct conn *c, int id, const char *sql, const struct arg *a,
    size_t n)
{
	char		 name[16], q[SQL_MAX];
	Oid		 types[ARGS_MAX];
	PGresult	*res;
	size_t		 i;
	bool		 ok;

	if (c->prepared[id])
		return true;
	if (!dollars(sql, q, sizeof(q))) {
		fail(c, "", "statement too long");
		return false;
	}
	for (i = 0; i < n; i++)
		types[i] = arg_oid(&a[i]);
	snprintf(name, sizeof(name), "s%d", id);
	res = PQprepare(c->pg, name, q, (int)n, types);
	if (!(ok = PQresultStatus(res) == PGRES_COMMAND_OK))
		fail(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    PQresultErrorMessage(res));
	PQclear(res);
	c->prepared[id] = ok;
	return ok;
}

static enum drv_res
db_step(void *p, int id, const char *sql, const struct arg *a, size_t n,
    struct row *r)
{
	struct db	*db = p;
	struct conn	*c = cur;
	const char	*vals[ARGS_MAX];
	char		 ints[ARGS_MAX][24], name[16];
	int		 lens[ARGS_MAX], fmts[ARGS_MAX];
	PGresult	*res;
	ExecStatusType	 s;
	size_t		 i;

	r->s = NULL;
	if (id < 0 || (size_t)id >= db->nstmt || n > ARGS_MAX) {
		fail(c, "", "bad statement");
		return DRV_ERR;
	}
	if (!up(c))
		return DRV_ERR;
	if (!prepare(c, id, sql, a, n) &&
	    (!retry(db, c) || !prepare(c, id, sql, a, n)))
		return DRV_ERR;
	for (i = 0; i < n; i++) {
		vals[i] = a[i].type == ARG_NULL ||
		    a[i].type == ARG_NULL_INT ? NULL : a[i].p;
		lens[i] = (int)a[i].len;
		fmts[i] = a[i].type == ARG_BLOB;
		if (a[i].type == ARG_INT) {
			snprintf(ints[i], sizeof(ints[i]), "%lld",
			    (long long)a[i].i);
			vals[i] = ints[i];
		}
	}
	snprintf(name, sizeof(name), "s%d", id);
	res = PQexecPrepared(c->pg, name, (int)n, vals, lens, fmts, 1);
	s = PQresultStatus(res);
	if (s == PGRES_FATAL_ERROR)
		fail(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    PQresultErrorMessage(res));
	if (s == PGRES_FATAL_ERROR && retry(db, c) &&
	    prepare(c, id, sql, a, n)) {
		PQclear(res);
		res = PQexecPrepared(c->pg, name, (int)n, vals, lens, fmts, 1);
		s = PQresultStatus(res);
	}
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		fail(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(c->pg));
		PQclear(res);
		return DRV_ERR;
	}
	c->changes = strtoll(PQcmdTuples(res), NULL, 10);
	r->s = res;
	r->i = 0;
	return PQntuples(res) > 0 ? DRV_ROW : DRV_DONE;
}

static enum drv_res
db_next(struct row *r)
{
	return ++r->i < PQntuples(r->s) ? DRV_ROW : DRV_DONE;
}

static void
db_done(struct row *r)
{
	PQclear(r->s);
	r->s = NULL;
}

static bool
db_col_null(const struct row *r, int col)
{
	return PQgetisnull(r->s, r->i, col) != 0;
}

/* Binary integers of 2, 4 or 8 bytes, big-endian; 0 for NULL. */
static int64_t
db_col_int(const struct row *r, int col)
{
	const unsigned char	*v;
	int			 len, i;
	uint64_t		 u = 0;

	if (PQgetisnull(r->s, r->i, col))
		return 0;
	v = (const unsigned char *)PQgetvalue(r->s, r->i, col);
	len = PQgetlength(r->s, r->i, col);
	if (len != 2 && len != 4 && len != 8)
		return 0;
	for (i = 0; i < len; i++)
		u = u << 8 | v[i];
	if (len < 8 && (v[0] & 0x80))
		u |= ~(uint64_t)0 << (len * 8);
	return (int64_t)u;
}

/* libpq ends every value with a NUL byte, binary ones too. */
static const char *
db_col_str(const struct row *r, int col)
{
	return PQgetvalue(r->s, r->i, col);
}

static const void *
db_col_blob(const struct row *r, int col, size_t *len)
{
	int	n = PQgetlength(r->s, r->i, col);

	*len = n > 0 ? (size_t)n : 0;
	return *len > 0 ? PQgetvalue(r->s, r->i, col) : NULL;
}

static int64_t
db_changes(void *p)
{
	(void)p;
	return cur->changes;
}

/* Run the upgrade steps in the call's transaction. */
static enum sg_rc
db_upgrade(void *p, int from, int to, struct sg_err *err)
{
	struct conn	*c = cur;
	int		 v;

	if (!exec(c, "SELECT pg_advisory_xact_lock(724613001)",
	    PGRES_TUPLES_OK))
		return db_error(p, err, "schema upgrade");
	for (v = from; v < to; v++)
		if (upgrades[v] != NULL &&
		    !exec(c, upgrades[v], PGRES_COMMAND_OK))
			return sg_err_set(err, SG_ESTORE, "schema upgrade from "
			    "version %d: %s", v, c->msg);
	return SG_OK;
}

/* An identity column continues above the ids copied into "table". */
static enum sg_rc
db_renumber(void *p, const char *table, struct sg_err *err)
{
	struct conn	*c = cur;
	char		 q[200];

	snprintf(q, sizeof(q), "SELECT setval(pg_get_serial_sequence('%s', "
	    "'id'), (SELECT MAX(id) FROM %s))", table, table);
	if (!exec(c, q, PGRES_TUPLES_OK))
		return db_error(p, err, table);
	return SG_OK;
}

static void
db_close(void *p)
{
	struct db	*db = p;
	size_t		 i;

	if (db == NULL)
		return;
	for (i = 0; i < POOL_MAX; i++) {
		if (db->conns[i].pg != NULL)
			PQfinish(db->conns[i].pg);
		free(db->conns[i].prepared);
	}
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->lock);
	free(db->uri);
	free(db);
}

/*
 * The URI with connect_timeout=CONNECT_S unless it sets one (a
 * connection, for a request or /healthz, waits that long at most for a
 * host that does not answer, not the kernel's TCP timeout), and
 * application_name=app: the other instances see in pg_stat_activity
 * whether this one is still connected (ra_store_txn_stuck).
 */
static char *
conn_uri(const char *uri, const char *app)
{
	char	*s;
	size_t	 n;
	char	 sep = strchr(uri, '?') != NULL ? '&' : '?';

	n = strlen(uri) + strlen(app) + 64;
	if ((s = malloc(n)) == NULL)
		return NULL;
	if (strstr(uri, "connect_timeout=") != NULL)
		snprintf(s, n, "%s%capplication_name=%s", uri, sep, app);
	else
		snprintf(s, n, "%s%cconnect_timeout=%d&application_name=%s",
		    uri, sep, CONNECT_S, app);
	return s;
}

static enum sg_rc
db_new(const char *uri, const char *app, size_t nstmt, struct db **out,
    struct sg_err *err)
{
	struct db	*db;
	size_t		 i;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "store");
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->freed, NULL);
	db->nstmt = nstmt;
	if ((db->uri = conn_uri(uri, app)) == NULL)
		goto nomem;
	for (i = 0; i < POOL_MAX; i++)
		if ((db->conns[i].prepared = calloc(nstmt,
		    sizeof(bool))) == NULL)
			goto nomem;
	*out = db;
	return SG_OK;
nomem:
	db_close(db);
	return sg_err_set(err, SG_ENOMEM, "store");
}

/*
 * Is the schema at this build's version already? Then the schema
 * script (DDL: the owner's) is not run, and a runtime role without
 * DDL rights (scepgate_grant) may open the database.
 */
static bool
current(struct conn *c)
{
	PGresult	*res;
	char		 want[16];
	bool		 ok;

	res = PQexec(c->pg, "SELECT value FROM meta WHERE key = "
	    "'schema_version'");
	snprintf(want, sizeof(want), "%d", RA_STORE_SCHEMA);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), want) == 0;
	PQclear(res);
	return ok;
}

/*
 * The URI is libpq's (host=/socket/dir or a host name; a password only
 * from a file: "passfile" in the URI, PGPASSFILE or ~/.pgpass).
 */
enum sg_rc
ra_drv_pg_open(const char *uri, const char *app, size_t nstmt, void **out,
    struct sg_err *err)
{
	struct db	*db = NULL;
	struct conn	*c;
	enum sg_rc	 rc;

	if ((rc = db_new(uri, app, nstmt, &db, err)) != SG_OK)
		return rc;
	db_lock(db);
	c = cur;
	if (!up(c) || (!current(c) && !exec(c, schema, PGRES_COMMAND_OK))) {
		/* A failed script leaves its transaction open. */
		if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
			(void)exec(c, "ROLLBACK", PGRES_COMMAND_OK);
		rc = sg_err_set(err, SG_ESTORE, "postgresql: %s", c->msg);
	}
	(void)db_unlock(db, SG_OK, NULL);
	if (rc != SG_OK) {
		db_close(db);
		return rc;
	}
	*out = db;
	return SG_OK;
}

const struct ra_drv ra_drv_pg = {
	"postgresql", db_close, db_lock, db_unlock, db_begin, db_begin,
	db_op_end, db_step, db_next, db_done, db_col_null, db_col_int,
	db_col_str, db_col_blob, db_changes, db_error, db_upgrade,
	db_renumber,
};
