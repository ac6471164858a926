/*
 * The SQLite driver of the store (ra_store_drv.h; the calls and their
 * SQL are ra_store.c's). One connection per store, guarded by one
 * mutex; WAL so that scepctl and scepgate work on the same file at once;
 * every statement prepared once and reused.
 *
 * Durability (issue 17, docs/durability.md): synchronous=FULL, so a
 * commit is in the WAL on stable storage when COMMIT returns, and no call
 * returns before the commit that holds its writes (or the writes it read)
 * has returned. Concurrent calls share that commit: the first write opens
 * a batch transaction, and while other threads are queued on the mutex
 * the batch stays open for them, at most BATCH_MAX calls or BATCH_US
 * microseconds; the last one in commits once (one fsync) for all.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ra_store_drv.h"

/*
 * The name policy columns of an endpoint (docs/names.md), version 3: a
 * database from before gets them in the upgrade with the safe defaults:
 * dns, ip and email SANs (RA_SAN_DEFAULT), no pattern, O/OU from the
 * account, renewals keep their names.
 */
#define EP_NAME_COLS ", san_types INTEGER NOT NULL DEFAULT 7," \
	" name_pattern TEXT NOT NULL DEFAULT ''," \
	" subject_csr INTEGER NOT NULL DEFAULT 0," \
	" renewal_any INTEGER NOT NULL DEFAULT 0"
static const char name_columns_sql[] =
"ALTER TABLE endpoint ADD COLUMN san_types INTEGER NOT NULL DEFAULT 7;"
"ALTER TABLE endpoint ADD COLUMN name_pattern TEXT NOT NULL DEFAULT '';"
"ALTER TABLE endpoint ADD COLUMN subject_csr INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE endpoint ADD COLUMN renewal_any INTEGER NOT NULL DEFAULT 0;";

/*
 * Version 3's other additions, idempotent (schema and upgrade): crash
 * recovery's indexes (stuck NEW rows by age, a row's certificate), the
 * failure counters (ra_store_fail_*), the refusal windows
 * (ra_store_refusal_add) and the prune marker: a DELETE of an audit row
 * passes the trigger only inside an id range that ra_store_audit_prune()
 * marked in the same transaction (and removes again before it commits).
 */
#define SCHEMA_V3 \
"CREATE INDEX IF NOT EXISTS txn_new ON txn(updated) WHERE status = 0;" \
"CREATE INDEX IF NOT EXISTS cert_txn ON cert(txn_id);" \
"CREATE TABLE IF NOT EXISTS auth_fail(endpoint_id INTEGER NOT NULL," \
"  name TEXT NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL," \
"  PRIMARY KEY(endpoint_id, name, t));" \
"CREATE INDEX IF NOT EXISTS auth_fail_t ON auth_fail(t);" \
"CREATE TABLE IF NOT EXISTS refusal(source TEXT NOT NULL," \
"  endpoint TEXT NOT NULL, reason TEXT NOT NULL, start INTEGER NOT NULL," \
"  n INTEGER NOT NULL, PRIMARY KEY(source, endpoint, reason));" \
"CREATE INDEX IF NOT EXISTS refusal_start ON refusal(start);" \
"CREATE TABLE IF NOT EXISTS audit_prune(first_id INTEGER NOT NULL," \
"  last_id INTEGER NOT NULL, time INTEGER NOT NULL);" \
"CREATE TRIGGER IF NOT EXISTS audit_delete_pruned BEFORE DELETE ON audit" \
"  WHEN NOT EXISTS (SELECT 1 FROM audit_prune p" \
"  WHERE OLD.id BETWEEN p.first_id AND p.last_id)" \
"  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"

/*
 * Version 4 (docs/webhooks.md), idempotent: an endpoint's webhooks
 * (ep_webhook, no row: none) and the outbox of notification events,
 * each removed once its receiver answered 2xx.
 */
#define WEBHOOK_V4 \
"CREATE TABLE IF NOT EXISTS ep_webhook(endpoint_id INTEGER PRIMARY KEY" \
"  REFERENCES endpoint(id) ON DELETE CASCADE," \
"  challenge_url TEXT NOT NULL DEFAULT ''," \
"  secret_file TEXT NOT NULL DEFAULT ''," \
"  timeout_s INTEGER NOT NULL DEFAULT 0," \
"  notify_url TEXT NOT NULL DEFAULT '');" \
"CREATE TABLE IF NOT EXISTS webhook_outbox(id INTEGER PRIMARY KEY," \
"  event_id TEXT NOT NULL," \
"  endpoint_id INTEGER NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE," \
"  kind TEXT NOT NULL, serial TEXT NOT NULL DEFAULT ''," \
"  subject TEXT NOT NULL DEFAULT '', not_after INTEGER NOT NULL DEFAULT 0," \
"  transid TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT ''," \
"  code INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL," \
"  attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL," \
"  last_error TEXT NOT NULL DEFAULT '');" \
"CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(next_try);"

/*
 * Version 4 (issue 13): API tokens and one-time challenges, stored as
 * HMACs only; a transaction and its certificate record the challenge
 * that admitted it (and the certificate its minter); txn.ordering marks
 * an order in flight to the upstream (ra_store_txn_mark); a collector's
 * claim on a pending order (claimed_by, claimed_until:
 * ra_store_txn_claim) and the named leases of jobs one instance runs at
 * a time (table lease: ra_store_lease_take). The columns come by
 * chal_columns() in an upgrade, the rest is idempotent.
 */
#define TXN_CHAL_COLS \
", challenge_id INTEGER, ordering INTEGER NOT NULL DEFAULT 0," \
"  claimed_by TEXT, claimed_until INTEGER"
#define CERT_CHAL_COLS ", challenge_id INTEGER, minted_by TEXT"
/* Each column: the query that finds it, the statement that adds it. */
static const char *const chal_columns_sql[][2] = {
	{ "SELECT challenge_id FROM txn",
	  "ALTER TABLE txn ADD COLUMN challenge_id INTEGER;" },
	{ "SELECT ordering FROM txn",
	  "ALTER TABLE txn ADD COLUMN ordering INTEGER NOT NULL DEFAULT 0;" },
	{ "SELECT challenge_id FROM cert",
	  "ALTER TABLE cert ADD COLUMN challenge_id INTEGER;" },
	{ "SELECT minted_by FROM cert",
	  "ALTER TABLE cert ADD COLUMN minted_by TEXT;" },
	{ "SELECT claimed_by FROM txn",
	  "ALTER TABLE txn ADD COLUMN claimed_by TEXT;" },
	{ "SELECT claimed_until FROM txn",
	  "ALTER TABLE txn ADD COLUMN claimed_until INTEGER;" },
};
#define CHAL_V4 \
"CREATE TABLE IF NOT EXISTS api_token(id INTEGER PRIMARY KEY," \
"  name TEXT NOT NULL UNIQUE, scope INTEGER NOT NULL," \
"  endpoint TEXT NOT NULL DEFAULT '', secret_hmac BLOB NOT NULL UNIQUE," \
"  created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0," \
"  revoked INTEGER NOT NULL DEFAULT 0);" \
"CREATE TABLE IF NOT EXISTS challenge(id INTEGER PRIMARY KEY," \
"  endpoint_id INTEGER NOT NULL, account_id INTEGER NOT NULL," \
"  code_hmac BLOB NOT NULL UNIQUE, minted_by TEXT NOT NULL," \
"  cn TEXT NOT NULL DEFAULT '', san TEXT NOT NULL DEFAULT ''," \
"  created INTEGER NOT NULL, expires INTEGER NOT NULL," \
"  used INTEGER NOT NULL DEFAULT 0, serial TEXT," \
"  revoked INTEGER NOT NULL DEFAULT 0, txn_id INTEGER);" \
"CREATE INDEX IF NOT EXISTS challenge_open ON challenge(endpoint_id," \
"  expires);"
#define LEASE_V4 \
"CREATE TABLE IF NOT EXISTS lease(name TEXT PRIMARY KEY," \
"  holder TEXT NOT NULL, until INTEGER NOT NULL);"
#define SCHEMA_V4 WEBHOOK_V4 CHAL_V4 LEASE_V4

/* The schema, at version RA_STORE_SCHEMA (meta.schema_version). */

static const char schema[] =
"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
/* scm_id: the upstream's id, recorded by "scepctl org sync". */
"CREATE TABLE IF NOT EXISTS org(id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, scm_id INTEGER);"
"CREATE TABLE IF NOT EXISTS dept(id INTEGER PRIMARY KEY,"
"  org_id INTEGER NOT NULL REFERENCES org(id), name TEXT NOT NULL,"
"  created INTEGER NOT NULL, scm_id INTEGER, UNIQUE(org_id, name));"
/* A copy of the upstream's profiles; terms in days: "365,730". */
"CREATE TABLE IF NOT EXISTS profile(id INTEGER PRIMARY KEY,"
"  scm_id INTEGER NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,"
"  terms TEXT NOT NULL, synced INTEGER NOT NULL, UNIQUE(kind, scm_id));"
"CREATE TABLE IF NOT EXISTS endpoint(id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE, uri TEXT NOT NULL UNIQUE,"
"  type INTEGER NOT NULL, ra_id TEXT NOT NULL, ra_enc_id TEXT NOT NULL,"
"  cacert_fmt INTEGER NOT NULL, getcert_fmt INTEGER NOT NULL,"
"  renewal_days INTEGER NOT NULL, min_rsa_bits INTEGER NOT NULL,"
"  key_types INTEGER NOT NULL, challenge_types INTEGER NOT NULL,"
"  delegated INTEGER NOT NULL DEFAULT 0, org TEXT NOT NULL DEFAULT '',"
"  dept TEXT NOT NULL DEFAULT '', profile TEXT NOT NULL DEFAULT '',"
"  term_days INTEGER NOT NULL DEFAULT 0, azure TEXT NOT NULL DEFAULT '',"
"  created INTEGER NOT NULL" EP_NAME_COLS ");"
"CREATE TABLE IF NOT EXISTS delegation("
"  endpoint_id INTEGER NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,"
"  org_id INTEGER NOT NULL REFERENCES org(id),"
"  dept_id INTEGER REFERENCES dept(id));"
"CREATE TABLE IF NOT EXISTS account(id INTEGER PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL REFERENCES endpoint(id),"
"  name TEXT NOT NULL, org_id INTEGER NOT NULL REFERENCES org(id),"
"  dept_id INTEGER REFERENCES dept(id), profile TEXT NOT NULL,"
"  term_days INTEGER NOT NULL, code_hmac BLOB NOT NULL,"
"  disabled INTEGER NOT NULL DEFAULT 0, manual INTEGER NOT NULL DEFAULT 0,"
"  created INTEGER NOT NULL,"
"  UNIQUE(endpoint_id, name), UNIQUE(endpoint_id, code_hmac));"
"CREATE TABLE IF NOT EXISTS txn(id INTEGER PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL, transid TEXT NOT NULL,"
"  account_id INTEGER, msg_type INTEGER NOT NULL, status INTEGER NOT NULL,"
"  key_id BLOB, csr_sealed BLOB, subject TEXT, serial TEXT,"
"  order_id TEXT, renews TEXT,"
"  failinfo INTEGER, reason TEXT, peer TEXT, created INTEGER NOT NULL,"
"  updated INTEGER NOT NULL" TXN_CHAL_COLS ");"
"CREATE INDEX IF NOT EXISTS txn_transid ON txn(endpoint_id, transid);"
/* At most one live (new or pending) transaction per transactionID. */
"CREATE UNIQUE INDEX IF NOT EXISTS txn_live ON txn(endpoint_id, transid)"
"  WHERE status IN (0, 1);"
"CREATE TABLE IF NOT EXISTS cert(serial TEXT PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL, account_id INTEGER, txn_id INTEGER,"
"  subject TEXT NOT NULL, not_before INTEGER NOT NULL,"
"  not_after INTEGER NOT NULL, der BLOB NOT NULL,"
"  status INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER, reason INTEGER"
"  " CERT_CHAL_COLS ");"
"CREATE TABLE IF NOT EXISTS crl(number INTEGER PRIMARY KEY,"
"  der BLOB NOT NULL, next_update INTEGER NOT NULL,"
"  created INTEGER NOT NULL);"
"CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY,"
"  time INTEGER NOT NULL, actor TEXT NOT NULL, endpoint TEXT,"
"  account TEXT, transid TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL,"
"  details TEXT);"
/* The audit log is append-only (SCM's "View Audit"). */
"CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
"  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
"CREATE INDEX IF NOT EXISTS txn_orders ON txn(status, updated);"
SCHEMA_V3
SCHEMA_V4
"INSERT OR IGNORE INTO meta VALUES('schema_version', '4');";

/* upgrades[v] takes a database of schema version v to v + 1. */
static const char *const upgrades[RA_STORE_SCHEMA] = {
	[1] = "CREATE INDEX IF NOT EXISTS txn_orders ON txn(status, updated);",
	/* The name columns come first, by name_columns(). */
	[2] = SCHEMA_V3 "DROP TRIGGER IF EXISTS audit_no_delete;",
	/* The challenge columns come first, by chal_columns(). */
	[3] = SCHEMA_V4,
};
/* The driver's own statements, prepared once like the store's. */
enum tx_id { T_BEGIN, T_COMMIT, T_ROLLBACK, T_SAVEPOINT, T_RELEASE,
	T_ROLLBACK_TO, T_MAX };

static const char *const tx_sql[T_MAX] = {
	/* Takes the write lock at once: no deadlock between two writers. */
	[T_BEGIN] = "BEGIN IMMEDIATE",
	[T_COMMIT] = "COMMIT",
	[T_ROLLBACK] = "ROLLBACK",
	[T_SAVEPOINT] = "SAVEPOINT op",
	[T_RELEASE] = "RELEASE op",
	[T_ROLLBACK_TO] = "ROLLBACK TO op",
};

/* ---- the driver ---- */

/* Group commit bounds: calls per batch, and how long a batch stays open. */
#define BATCH_MAX	64
#define BATCH_US	2000
/* Outcomes of the last batches, for the calls that waited on them. */
#define BATCH_RING	64

struct db {
	sqlite3		*db;
	pthread_mutex_t	 lock;	/* guards all below */
	pthread_cond_t	 ended;	/* a batch committed or failed */
	atomic_uint	 queued;	/* threads waiting for "lock" */
	bool		 open;	/* a batch transaction is open */
	uint64_t	 batch;	/* number of the open or next batch */
	int64_t		 started;	/* its BEGIN, in us */
	size_t		 calls;	/* calls in the open batch */
	bool		 ok[BATCH_RING];	/* committed? */
	sqlite3_stmt	*tx[T_MAX];
	sqlite3_stmt	**stmts;	/* the store's, by id */
	size_t		 nstmt;
};

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum sg_rc
dberr(void *p, struct sg_err *err, const char *what)
{
	struct db	*st = p;
	int		 code = sqlite3_extended_errcode(st->db);

	if (code == SQLITE_CONSTRAINT_UNIQUE ||
	    code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return sg_err_set(err, SG_EEXIST, "%s: already exists", what);
	return sg_err_set(err, SG_ESTORE, "%s: %s", what,
	    sqlite3_errmsg(st->db));
}

/* Take the store (the number of waiters lets a batch stay open). */
static void
stmt_lock(void *p)
{
	struct db	*st = p;

	atomic_fetch_add(&st->queued, 1);
	pthread_mutex_lock(&st->lock);
	atomic_fetch_sub(&st->queued, 1);
}

/* Statement "sql" in *slot, prepared once, reset and unbound. */
static sqlite3_stmt *
stmt(struct db *st, sqlite3_stmt **slot, const char *sql)
{
	sqlite3_stmt	*s = *slot;

	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
			return NULL;
		*slot = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void
bind(sqlite3_stmt *s, const struct arg *a, size_t n)
{
	size_t	i;
	int	idx;

	for (i = 0; i < n; i++) {
		idx = (int)i + 1;
		if (a[i].type == ARG_INT)
			sqlite3_bind_int64(s, idx, a[i].i);
		else if (a[i].type == ARG_TEXT && a[i].p != NULL)
			sqlite3_bind_text(s, idx, a[i].p, -1, SQLITE_STATIC);
		else if (a[i].type == ARG_BLOB && a[i].p != NULL)
			sqlite3_bind_blob(s, idx, a[i].p, (int)a[i].len,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(s, idx);
	}
}

static enum drv_res
res_of(int res)
{
	if (res == SQLITE_ROW)
		return DRV_ROW;
	return res == SQLITE_DONE ? DRV_DONE : DRV_ERR;
}

/* Prepare, bind and take the first step. */
static enum drv_res
step(void *p, int id, const char *sql, const struct arg *a, size_t n,
    struct row *r)
{
	struct db	*st = p;

	if (id < 0 || (size_t)id >= st->nstmt ||
	    (r->s = stmt(st, &st->stmts[id], sql)) == NULL)
		return DRV_ERR;
	bind(r->s, a, n);
	return res_of(sqlite3_step(r->s));
}

static enum drv_res
next(struct row *r)
{
	return res_of(sqlite3_step(r->s));
}

/* Reset the statement, so it holds no snapshot or lock. */
static void
done(struct row *r)
{
	if (r->s != NULL)
		sqlite3_reset(r->s);
}

static bool
run(struct db *st, enum tx_id id)
{
	sqlite3_stmt	*s = stmt(st, &st->tx[id], tx_sql[id]);
	int		 res;

	if (s == NULL)
		return false;
	res = sqlite3_step(s);
	sqlite3_reset(s);
	return res == SQLITE_DONE;
}

static bool
col_null(const struct row *r, int col)
{
	return sqlite3_column_type(r->s, col) == SQLITE_NULL;
}

static int64_t
col_int(const struct row *r, int col)
{
	return sqlite3_column_int64(r->s, col);
}

static const char *
col_str(const struct row *r, int col)
{
	const unsigned char *t = sqlite3_column_text(r->s, col);

	return t != NULL ? (const char *)t : "";
}

static const void *
col_blob(const struct row *r, int col, size_t *len)
{
	const void	*p = sqlite3_column_blob(r->s, col);
	int		 n = sqlite3_column_bytes(r->s, col);

	*len = p != NULL && n > 0 ? (size_t)n : 0;
	return *len > 0 ? p : NULL;
}

static int64_t
changes(void *p)
{
	return sqlite3_changes(((struct db *)p)->db);
}

/* Open the batch transaction, unless one is open; the lock is held. */
static enum sg_rc
tx_join(void *p, struct sg_err *err)
{
	struct db	*st = p;

	/* A failed statement may have rolled the whole batch back. */
	if (st->open && sqlite3_get_autocommit(st->db))
		return sg_err_set(err, SG_ESTORE, "store: batch rolled back");
	if (st->open)
		return SG_OK;
	if (!run(st, T_BEGIN))
		return dberr(st, err, "store: begin");
	st->open = true;
	st->started = now_us();
	st->calls = 0;
	return SG_OK;
}

/* Commit (or, failing that, roll back) the open batch and wake its calls. */
static void
tx_commit(struct db *st)
{
	bool	ok = run(st, T_COMMIT);

	if (!ok && !sqlite3_get_autocommit(st->db))
		(void)run(st, T_ROLLBACK);
	st->ok[st->batch % BATCH_RING] = ok;
	st->batch++;
	st->open = false;
	pthread_cond_broadcast(&st->ended);
}

/*
 * End a call: return the store. If a batch is open (this call wrote, or
 * read what others wrote), wait until it has committed: commit it now
 * when nobody queues behind, or the batch is full or old enough;
 * otherwise let the queued calls in and wait for the last one's commit.
 * Returns rc, or SG_ESTORE if rc was SG_OK and the commit failed.
 */
static enum sg_rc
stmt_unlock(void *p, enum sg_rc rc, struct sg_err *err)
{
	struct db	*st = p;
	struct timespec	ts;
	uint64_t	mine = st->batch;
	int64_t		deadline;
	bool		ok = true;

	if (st->open) {
		st->calls++;
		deadline = st->started + BATCH_US;
		while (st->open && st->batch == mine) {
			if (atomic_load(&st->queued) == 0 ||
			    st->calls >= BATCH_MAX || now_us() >= deadline) {
				tx_commit(st);
				break;
			}
			ts.tv_sec = (time_t)(deadline / 1000000);
			ts.tv_nsec = (long)(deadline % 1000000) * 1000;
			(void)pthread_cond_timedwait(&st->ended, &st->lock,
			    &ts);
		}
		ok = st->batch - mine <= BATCH_RING &&
		    st->ok[mine % BATCH_RING];
	}
	pthread_mutex_unlock(&st->lock);
	if (rc == SG_OK && !ok)
		rc = sg_err_set(err, SG_ESTORE, "store: commit failed");
	return rc;
}

/* A call of several writes is all or nothing inside its batch. */
static enum sg_rc
op_begin(void *p, struct sg_err *err)
{
	struct db	*st = p;
	enum sg_rc	 rc;

	if ((rc = tx_join(st, err)) != SG_OK)
		return rc;
	if (!run(st, T_SAVEPOINT))
		return dberr(st, err, "store: savepoint");
	return SG_OK;
}

static enum sg_rc
op_end(void *p, enum sg_rc rc, struct sg_err *err)
{
	struct db	*st = p;

	if (rc != SG_OK)
		(void)run(st, T_ROLLBACK_TO);
	if (!run(st, T_RELEASE) && rc == SG_OK)
		rc = dberr(st, err, "store: release");
	return rc;
}

/* Does "sel" prepare, that is, have its table's columns arrived yet? */
static bool
has_columns(sqlite3 *db, const char *sel)
{
	sqlite3_stmt	*s = NULL;
	bool		 ok;

	ok = sqlite3_prepare_v2(db, sel, -1, &s, NULL) == SQLITE_OK;
	sqlite3_finalize(s);
	return ok;
}

/* Version 4's columns, each unless the database has it. */
static int
chal_columns(sqlite3 *db, int v, char **msg)
{
	size_t	i;
	int	rc = SQLITE_OK;

	for (i = 0; v == 3 && rc == SQLITE_OK &&
	    i < sizeof(chal_columns_sql) / sizeof(chal_columns_sql[0]); i++)
		if (!has_columns(db, chal_columns_sql[i][0]))
			rc = sqlite3_exec(db, chal_columns_sql[i][1], NULL,
			    NULL, msg);
	return rc;
}

/*
 * Version 3's name columns, unless the database has them (made by a
 * build that added them at open, at schema version 1).
 */
static int
name_columns(sqlite3 *db, int v, char **msg)
{
	if (v != 2 || has_columns(db, "SELECT renewal_any FROM endpoint"))
		return SQLITE_OK;
	return sqlite3_exec(db, name_columns_sql, NULL, NULL, msg);
}

/* Run the upgrade steps, inside the caller's savepoint. */
static enum sg_rc
upgrade(void *p, int from, int to, struct sg_err *err)
{
	struct db	*st = p;
	char		*msg = NULL;
	enum sg_rc	 rc = SG_OK;
	int		 v;

	for (v = from; rc == SG_OK && v < to; v++) {
		if (name_columns(st->db, v, &msg) != SQLITE_OK ||
		    chal_columns(st->db, v, &msg) != SQLITE_OK ||
		    (upgrades[v] != NULL && sqlite3_exec(st->db, upgrades[v],
		    NULL, NULL, &msg) != SQLITE_OK))
			rc = sg_err_set(err, SG_ESTORE, "schema upgrade from "
			    "version %d: %s", v, msg ? msg : "failed");
		sqlite3_free(msg);
		msg = NULL;
	}
	return rc;
}

/* SQLite numbers a new row above the highest id by itself. */
static enum sg_rc
renumber(void *p, const char *table, struct sg_err *err)
{
	(void)p;
	(void)table;
	(void)err;
	return SG_OK;
}

/* ---- open and close ---- */

static void
db_close(void *p)
{
	struct db	*st = p;
	size_t		 i;

	if (st == NULL)
		return;
	for (i = 0; i < T_MAX; i++)
		sqlite3_finalize(st->tx[i]);
	for (i = 0; i < st->nstmt && st->stmts != NULL; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	pthread_cond_destroy(&st->ended);
	pthread_mutex_destroy(&st->lock);
	free(st->stmts);
	free(st);
}

enum sg_rc
ra_drv_sqlite_open(const char *path, size_t nstmt, void **out,
    struct sg_err *err)
{
	struct db		*st;
	pthread_condattr_t	 ca;
	char			*msg = NULL;
	enum sg_rc		 rc;
	int			 fd;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "store");
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->ended, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&st->queued, 0);
	if ((st->stmts = calloc(nstmt, sizeof(*st->stmts))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "store");
		goto out;
	}
	st->nstmt = nstmt;
	/* A new database is private: it holds access-code HMACs. */
	if ((fd = open(path, O_RDWR | O_CREAT, 0600)) != -1)
		close(fd);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = sg_err_set(err, SG_ESTORE, "%s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(st->db, 10000);
	/* WAL + FULL: a commit is durable when it returns (sqlite.org/wal). */
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
	    NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		rc = sg_err_set(err, SG_ESTORE, "%s: %s", path,
		    msg ? msg : sqlite3_errmsg(st->db));
		goto out;
	}
	*out = st;
	st = NULL;
	rc = SG_OK;
out:
	sqlite3_free(msg);
	db_close(st);
	return rc;
}

const struct ra_drv ra_drv_sqlite = {
	"sqlite", db_close, stmt_lock, stmt_unlock, tx_join, op_begin,
	op_end, step, next, done, col_null, col_int, col_str, col_blob,
	changes, dberr, upgrade, renumber,
};
