/*
 * The SQLite store. One connection per struct ra_store, guarded by one
 * mutex; WAL so that scepctl and scepgate work on the same file at once;
 * synchronous=FULL so that every commit is on stable storage when it
 * returns (issue 17, docs/durability.md); every statement prepared once
 * and reused. Nothing here decides policy.
 * Writes that race between processes (finishing a transaction) are
 * conditional UPDATEs, so that nothing here assumes a single writer.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ra_int.h"

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
"  created INTEGER NOT NULL);"
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
"  updated INTEGER NOT NULL);"
"CREATE INDEX IF NOT EXISTS txn_transid ON txn(endpoint_id, transid);"
/* At most one live (new or pending) transaction per transactionID. */
"CREATE UNIQUE INDEX IF NOT EXISTS txn_live ON txn(endpoint_id, transid)"
"  WHERE status IN (0, 1);"
"CREATE TABLE IF NOT EXISTS cert(serial TEXT PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL, account_id INTEGER, txn_id INTEGER,"
"  subject TEXT NOT NULL, not_before INTEGER NOT NULL,"
"  not_after INTEGER NOT NULL, der BLOB NOT NULL,"
"  status INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER, reason INTEGER);"
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
"CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
"  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
"INSERT OR IGNORE INTO meta VALUES('schema_version', '1');";

enum stmt_id {
	S_ORG_ADD, S_DEPT_ADD, S_ORG_ID, S_DEPT_ID, S_ORG_LIST, S_DEPT_LIST,
	S_ORG_SCM, S_DEPT_SCM, S_PROF_LIST, S_PROF_CLEAR, S_PROF_ADD,
	S_EP_ADD, S_EP_BY_NAME, S_EP_BY_URI, S_EP_BY_ID, S_EP_LIST, S_EP_NACCOUNTS,
	S_EP_NPENDING, S_EP_DEL_ACCOUNTS, S_EP_DEL, S_EP_UPDATE,
	S_DELEG_CLEAR, S_DELEG_ADD, S_DELEG_LIST, S_DELEG_OK,
	S_ACCT_ADD, S_ACCT_BY_CODE, S_ACCT_BY_ID, S_ACCT_BY_NAME, S_ACCT_LIST,
	S_ACCT_DEL, S_ACCT_UPDATE, S_ACCT_CODE,
	S_TXN_BEGIN, S_TXN_FIND, S_TXN_GET, S_TXN_UPDATE, S_TXN_LIST,
	S_TXN_ORDERS,
	S_CERT_ADD, S_CERT_GET, S_CERT_LIST, S_CERT_STATUS,
	S_CRL_GET, S_CRL_NUMBER, S_CRL_PUT,
	S_AUDIT_ADD, S_AUDIT_LIST,
	S_MAX
};

#define EP_COLS "id, name, uri, type, ra_id, ra_enc_id, cacert_fmt, " \
	"getcert_fmt, renewal_days, min_rsa_bits, key_types, " \
	"challenge_types, created, delegated, org, dept, profile, " \
	"term_days, azure"
#define ACCT_SELECT "SELECT a.id, e.name, a.name, o.name, " \
	"COALESCE(d.name, ''), a.profile, a.term_days, a.disabled, " \
	"a.manual, a.created FROM account a " \
	"JOIN endpoint e ON e.id = a.endpoint_id " \
	"JOIN org o ON o.id = a.org_id LEFT JOIN dept d ON d.id = a.dept_id "
#define TXN_COLS "id, endpoint_id, transid, COALESCE(account_id, 0), " \
	"msg_type, status, key_id, COALESCE(subject, ''), " \
	"COALESCE(serial, ''), COALESCE(order_id, ''), " \
	"COALESCE(failinfo, -1), COALESCE(reason, ''), COALESCE(peer, ''), " \
	"COALESCE(renews, '')"
#define CERT_SELECT "SELECT c.serial, e.name, COALESCE(a.name, ''), " \
	"c.subject, c.not_before, c.not_after, c.status, " \
	"COALESCE(c.revoked_at, 0), COALESCE(c.reason, 0), " \
	"COALESCE(c.account_id, 0), c.der FROM cert c " \
	"JOIN endpoint e ON e.id = c.endpoint_id " \
	"LEFT JOIN account a ON a.id = c.account_id "

static const char *const sql[S_MAX] = {
	[S_ORG_ADD] = "INSERT INTO org(name, created, scm_id) "
	    "VALUES(?1, ?2, NULLIF(?3, 0))",
	[S_DEPT_ADD] = "INSERT INTO dept(org_id, name, created, scm_id) "
	    "VALUES(?1, ?2, ?3, NULLIF(?4, 0))",
	[S_ORG_ID] = "SELECT id FROM org WHERE name = ?1",
	[S_DEPT_ID] = "SELECT id FROM dept WHERE org_id = ?1 AND name = ?2",
	[S_ORG_LIST] = "SELECT id, name, '', COALESCE(scm_id, 0) FROM org "
	    "ORDER BY name",
	[S_DEPT_LIST] = "SELECT d.id, d.name, o.name, COALESCE(d.scm_id, 0) "
	    "FROM dept d JOIN org o ON o.id = d.org_id "
	    "WHERE ?1 IS NULL OR o.name = ?1 ORDER BY o.name, d.name",
	[S_ORG_SCM] = "UPDATE org SET scm_id = NULLIF(?3, 0) WHERE name = ?1",
	[S_DEPT_SCM] = "UPDATE dept SET scm_id = NULLIF(?3, 0) WHERE "
	    "name = ?2 AND org_id = (SELECT id FROM org WHERE name = ?1)",
	[S_PROF_LIST] = "SELECT scm_id, name, kind, terms FROM profile "
	    "ORDER BY kind, name, scm_id",
	[S_PROF_CLEAR] = "DELETE FROM profile",
	[S_PROF_ADD] = "INSERT INTO profile(scm_id, name, kind, terms, "
	    "synced) VALUES(?1, ?2, ?3, ?4, ?5)",
	[S_EP_ADD] = "INSERT INTO endpoint(name, uri, type, ra_id, ra_enc_id,"
	    " cacert_fmt, getcert_fmt, renewal_days, min_rsa_bits, key_types,"
	    " challenge_types, created, delegated, org, dept, profile, "
	    "term_days, azure) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
	[S_EP_UPDATE] = "UPDATE endpoint SET uri = ?2, ra_id = ?4, "
	    "ra_enc_id = ?5, cacert_fmt = ?6, getcert_fmt = ?7, "
	    "renewal_days = ?8, min_rsa_bits = ?9, key_types = ?10, "
	    "challenge_types = ?11, delegated = ?13, org = ?14, dept = ?15, "
	    "profile = ?16, term_days = ?17, azure = ?18 WHERE name = ?1",
	[S_EP_NPENDING] = "SELECT COUNT(*) FROM txn WHERE endpoint_id = ?1 "
	    "AND status IN (0, 1)",
	[S_DELEG_CLEAR] = "DELETE FROM delegation WHERE endpoint_id = ?1",
	[S_DELEG_ADD] = "INSERT INTO delegation(endpoint_id, org_id, dept_id) "
	    "VALUES(?1, ?2, NULLIF(?3, 0))",
	[S_DELEG_LIST] = "SELECT o.name, COALESCE(d.name, '') FROM delegation g"
	    " JOIN endpoint e ON e.id = g.endpoint_id "
	    "JOIN org o ON o.id = g.org_id LEFT JOIN dept d ON d.id = g.dept_id"
	    " WHERE e.name = ?1 ORDER BY o.name, d.name",
	/* Allowed: the whole organization, or exactly this department. */
	[S_DELEG_OK] = "SELECT COUNT(*) FROM delegation WHERE endpoint_id = ?1"
	    " AND org_id = ?2 AND (dept_id IS NULL OR dept_id = ?3)",
	[S_EP_BY_NAME] = "SELECT " EP_COLS " FROM endpoint WHERE name = ?1",
	[S_EP_BY_URI] = "SELECT " EP_COLS " FROM endpoint WHERE uri = ?1",
	[S_EP_BY_ID] = "SELECT " EP_COLS " FROM endpoint WHERE id = ?1",
	[S_EP_LIST] = "SELECT " EP_COLS " FROM endpoint ORDER BY name",
	[S_EP_NACCOUNTS] = "SELECT COUNT(*) FROM account WHERE "
	    "endpoint_id = ?1",
	[S_EP_DEL_ACCOUNTS] = "DELETE FROM account WHERE endpoint_id = ?1",
	[S_EP_DEL] = "DELETE FROM endpoint WHERE id = ?1",
	[S_ACCT_ADD] = "INSERT INTO account(endpoint_id, name, org_id, "
	    "dept_id, profile, term_days, code_hmac, disabled, manual, "
	    "created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_ACCT_BY_CODE] = ACCT_SELECT
	    "WHERE a.endpoint_id = ?1 AND a.code_hmac = ?2",
	[S_ACCT_BY_ID] = ACCT_SELECT "WHERE a.id = ?1",
	[S_ACCT_LIST] = ACCT_SELECT "WHERE e.name = ?1 ORDER BY a.name",
	[S_ACCT_BY_NAME] = ACCT_SELECT "WHERE e.name = ?1 AND a.name = ?2",
	[S_ACCT_UPDATE] = "UPDATE account SET profile = ?2, term_days = ?3, "
	    "disabled = ?4, manual = ?5 WHERE id = ?1",
	[S_ACCT_CODE] = "UPDATE account SET code_hmac = ?2 WHERE id = ?1",
	[S_ACCT_DEL] = "DELETE FROM account WHERE name = ?2 AND "
	    "endpoint_id = (SELECT id FROM endpoint WHERE name = ?1)",
	[S_TXN_BEGIN] = "INSERT INTO txn(endpoint_id, transid, account_id, "
	    "msg_type, status, key_id, csr_sealed, subject, peer, created, "
	    "updated, "
	    "renews) VALUES(?1, ?2, NULLIF(?3, 0), ?4, 0, ?5, ?6, ?7, ?8, ?9, "
	    "?9, NULLIF(?10, ''))",
	[S_TXN_FIND] = "SELECT " TXN_COLS " FROM txn WHERE endpoint_id = ?1 "
	    "AND transid = ?2 ORDER BY id DESC LIMIT 1",
	[S_TXN_GET] = "SELECT " TXN_COLS ", csr_sealed FROM txn WHERE id = ?1",
	[S_TXN_UPDATE] = "UPDATE txn SET status = ?2, serial = NULLIF(?3, ''),"
	    " order_id = NULLIF(?4, ''), failinfo = ?5, reason = ?6, "
	    "account_id = NULLIF(?7, 0), updated = ?8, "
	    /* A decided request no longer needs its sealed CSR. */
	    "csr_sealed = CASE WHEN ?2 IN (2, 3) THEN NULL "
	    "ELSE csr_sealed END "
	    "WHERE id = ?1 AND status = ?9",
	[S_TXN_LIST] = "SELECT t.id, e.name, COALESCE(a.name, ''), t.transid,"
	    " t.msg_type, t.status, COALESCE(t.subject, ''), "
	    "COALESCE(t.serial, ''), COALESCE(t.order_id, ''), "
	    "COALESCE(t.reason, ''), COALESCE(t.peer, ''), t.created, "
	    "t.updated FROM txn t JOIN endpoint e ON e.id = t.endpoint_id "
	    "LEFT JOIN account a ON a.id = t.account_id "
	    "WHERE ?1 < 0 OR t.status = ?1 ORDER BY t.id",
	[S_TXN_ORDERS] = "SELECT " TXN_COLS " FROM txn WHERE status = 1 AND "
	    "order_id IS NOT NULL ORDER BY updated LIMIT 1000",
	[S_CERT_ADD] = "INSERT INTO cert(serial, endpoint_id, account_id, "
	    "txn_id, subject, not_before, not_after, der) "
	    "VALUES(?1, ?2, NULLIF(?3, 0), NULLIF(?4, 0), ?5, ?6, ?7, ?8)",
	[S_CERT_GET] = CERT_SELECT "WHERE c.serial = ?1",
	[S_CERT_LIST] = CERT_SELECT "WHERE (?1 IS NULL OR e.name = ?1) AND "
	    "(?2 < 0 OR c.status = ?2) ORDER BY c.not_before, c.serial",
	[S_CERT_STATUS] = "UPDATE cert SET status = ?2, revoked_at = "
	    "CASE WHEN ?2 = 1 THEN ?3 ELSE NULL END, reason = ?4 "
	    "WHERE serial = ?1 AND (status = 0 OR (?2 = 1 AND status = 2))",
	[S_CRL_GET] = "SELECT der, next_update FROM crl ORDER BY number DESC "
	    "LIMIT 1",
	[S_CRL_NUMBER] = "SELECT COALESCE(MAX(number), 0) + 1 FROM crl",
	[S_CRL_PUT] = "INSERT INTO crl(number, der, next_update, created) "
	    "VALUES(?1, ?2, ?3, ?4)",
	[S_AUDIT_ADD] = "INSERT INTO audit(time, actor, endpoint, account, "
	    "transid, action, outcome, details) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_AUDIT_LIST] = "SELECT id, time, actor, COALESCE(endpoint, ''), "
	    "COALESCE(account, ''), COALESCE(transid, ''), action, outcome, "
	    "COALESCE(details, '') FROM audit WHERE "
	    "(?1 IS NULL OR endpoint = ?1) AND (?2 IS NULL OR account = ?2) "
	    "AND (?3 IS NULL OR outcome = ?3) AND time >= ?4 AND time <= ?5 "
	    "ORDER BY id",
};

struct ra_store {
	sqlite3		*db;
	pthread_mutex_t	 lock;	/* guards db and stmts */
	sqlite3_stmt	*stmts[S_MAX];
};

/* A row decoder: fills one element of a result array. */
typedef void	(*row_fn)(sqlite3_stmt *, void *);

static enum sg_rc
dberr(struct ra_store *st, struct sg_err *err, const char *what)
{
	int	code = sqlite3_extended_errcode(st->db);

	if (code == SQLITE_CONSTRAINT_UNIQUE ||
	    code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return sg_err_set(err, SG_EEXIST, "%s: already exists", what);
	return sg_err_set(err, SG_ESTORE, "%s: %s", what,
	    sqlite3_errmsg(st->db));
}

/* Lock the store and hand out a reset statement; NULL on failure. */
static sqlite3_stmt *
begin(struct ra_store *st, enum stmt_id id)
{
	sqlite3_stmt	*s;

	pthread_mutex_lock(&st->lock);
	s = st->stmts[id];
	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
			return NULL;
		st->stmts[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* A second statement while the lock is held. */
static sqlite3_stmt *
also(struct ra_store *st, enum stmt_id id)
{
	sqlite3_stmt	*s = st->stmts[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
			return NULL;
		st->stmts[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void
end(struct ra_store *st, sqlite3_stmt *s)
{
	if (s != NULL)
		sqlite3_reset(s);
	pthread_mutex_unlock(&st->lock);
}

static void
col_text(sqlite3_stmt *s, int col, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(out, outsz, "%s", t != NULL ? (const char *)t : "");
}

static void
bind_text(sqlite3_stmt *s, int idx, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, idx);
	else
		sqlite3_bind_text(s, idx, v, -1, SQLITE_STATIC);
}

/* Bind NULL for an empty filter string. */
static void
bind_filter(sqlite3_stmt *s, int idx, const char *v)
{
	bind_text(s, idx, v != NULL && v[0] != '\0' ? v : NULL);
}

/* Step a bound statement into a malloc'ed array of "elsize" elements. */
static enum sg_rc
rows(struct ra_store *st, sqlite3_stmt *s, size_t elsize, row_fn fn,
    void **out, size_t *nout, struct sg_err *err, const char *what)
{
	uint8_t	*arr = NULL, *na;
	size_t	 n = 0;
	int	 r;

	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if ((na = realloc(arr, (n + 1) * elsize)) == NULL) {
			free(arr);
			return sg_err_set(err, SG_ENOMEM, "%s", what);
		}
		arr = na;
		memset(arr + n * elsize, 0, elsize);
		fn(s, arr + n * elsize);
		n++;
	}
	if (r != SQLITE_DONE) {
		free(arr);
		return dberr(st, err, what);
	}
	*out = arr;
	*nout = n;
	return SG_OK;
}

/* Rows of statement "id", with ?1 bound to "key" when it has one. */
static enum sg_rc
list_text(struct ra_store *st, enum stmt_id id, const char *key,
    size_t elsize, row_fn fn, void **out, size_t *n, struct sg_err *err,
    const char *what)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, id)) == NULL)
		rc = dberr(st, err, what);
	else {
		if (sqlite3_bind_parameter_count(s) > 0)
			bind_text(s, 1, key);
		rc = rows(st, s, elsize, fn, out, n, err, what);
	}
	end(st, s);
	return rc;
}

/* Step once expecting one row, decoded by "fn"; SG_ENOTFOUND if none. */
static enum sg_rc
one_row(struct ra_store *st, sqlite3_stmt *s, row_fn fn, void *out,
    struct sg_err *err, const char *what)
{
	int	r = sqlite3_step(s);

	if (r == SQLITE_ROW) {
		fn(s, out);
		return SG_OK;
	}
	if (r == SQLITE_DONE)
		return sg_err_set(err, SG_ENOTFOUND, "%s: not found", what);
	return dberr(st, err, what);
}

/* Step a write; SG_OK if it changed a row (when "must_change"). */
static enum sg_rc
write_row(struct ra_store *st, sqlite3_stmt *s, bool must_change,
    struct sg_err *err, const char *what)
{
	if (s == NULL || sqlite3_step(s) != SQLITE_DONE)
		return dberr(st, err, what);
	if (must_change && sqlite3_changes(st->db) == 0)
		return sg_err_set(err, SG_ENOTFOUND, "%s: not found", what);
	return SG_OK;
}

enum sg_rc
ra_store_open(const char *path, struct ra_store **out, struct sg_err *err)
{
	struct ra_store	*st;
	char		*msg = NULL;
	enum sg_rc	 rc;
	int		 fd;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "store");
	pthread_mutex_init(&st->lock, NULL);
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
	ra_store_close(st);
	return rc;
}

void
ra_store_close(struct ra_store *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < S_MAX; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Look up an id by a text or integer key and an optional text; 0 if none. */
static int64_t
lookup_id(struct ra_store *st, enum stmt_id id, const char *a, int64_t ia,
    const char *b)
{
	sqlite3_stmt	*s = also(st, id);
	int64_t		 v = 0;

	if (s == NULL)
		return -1;
	if (a != NULL)
		bind_text(s, 1, a);
	else
		sqlite3_bind_int64(s, 1, ia);
	if (b != NULL)
		bind_text(s, 2, b);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

/* ---- organizations and departments ---- */

enum sg_rc
ra_store_org_add(struct ra_store *st, const char *org, const char *dept,
    int64_t scm_id, struct sg_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 org_id;
	enum sg_rc	 rc;

	s = begin(st, dept == NULL ? S_ORG_ADD : S_DEPT_ADD);
	if (s != NULL && dept == NULL) {
		bind_text(s, 1, org);
		sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
		sqlite3_bind_int64(s, 3, scm_id);
	} else if (s != NULL) {
		if ((org_id = lookup_id(st, S_ORG_ID, org, 0, NULL)) <= 0) {
			rc = sg_err_set(err, SG_ENOTFOUND, "organization '%s' "
			    "does not exist (scepctl org add)", org);
			goto out;
		}
		sqlite3_bind_int64(s, 1, org_id);
		bind_text(s, 2, dept);
		sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
		sqlite3_bind_int64(s, 4, scm_id);
	}
	rc = write_row(st, s, false, err, dept ? "department" : "organization");
out:
	end(st, s);
	return rc;
}

static void
row_org(sqlite3_stmt *s, void *p)
{
	struct ra_org	*o = p;

	o->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, o->name, sizeof(o->name));
	col_text(s, 2, o->org, sizeof(o->org));
	o->scm_id = sqlite3_column_int64(s, 3);
}

enum sg_rc
ra_store_org_list(struct ra_store *st, const char *org, bool depts,
    struct ra_org **out, size_t *n, struct sg_err *err)
{
	return list_text(st, depts ? S_DEPT_LIST : S_ORG_LIST, org,
	    sizeof(**out), row_org, (void **)out, n, err, "organizations");
}

enum sg_rc
ra_store_org_set_scm(struct ra_store *st, const char *org, const char *dept,
    int64_t scm_id, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, dept == NULL ? S_ORG_SCM : S_DEPT_SCM)) != NULL) {
		bind_text(s, 1, org);
		bind_text(s, 2, dept);
		sqlite3_bind_int64(s, 3, scm_id);
	}
	rc = write_row(st, s, true, err, dept == NULL ? "organization" :
	    "department");
	end(st, s);
	return rc;
}

/* ---- profiles ---- */

/* Terms are kept as text, "365,730": a short list read as a whole. */
static void
terms_text(const struct ra_profile *p, char *out, size_t outsz)
{
	size_t	i, off = 0;

	out[0] = '\0';
	for (i = 0; i < p->nterms && off < outsz; i++)
		off += (size_t)snprintf(out + off, outsz - off, "%s%d",
		    i > 0 ? "," : "", p->terms[i]);
}

static void
row_profile(sqlite3_stmt *s, void *arg)
{
	struct ra_profile	*p = arg;
	const char		*t;
	char			*end;
	long			 v;

	p->scm_id = sqlite3_column_int64(s, 0);
	col_text(s, 1, p->name, sizeof(p->name));
	p->kind = (enum ra_profile_kind)sqlite3_column_int(s, 2);
	t = (const char *)sqlite3_column_text(s, 3);
	while (t != NULL && *t != '\0' && p->nterms < RA_TERMS_MAX) {
		v = strtol(t, &end, 10);
		if (end == t || v < 1 || v > INT32_MAX)
			break;
		p->terms[p->nterms++] = (int)v;
		t = *end == ',' ? end + 1 : end;
	}
}

enum sg_rc
ra_store_profile_list(struct ra_store *st, struct ra_profile **out,
    size_t *n, struct sg_err *err)
{
	return list_text(st, S_PROF_LIST, NULL, sizeof(**out), row_profile,
	    (void **)out, n, err, "profiles");
}

enum sg_rc
ra_store_profile_replace(struct ra_store *st, const struct ra_profile *p,
    size_t n, struct sg_err *err)
{
	sqlite3_stmt	*s;
	char		 terms[RA_TERMS_MAX * 12];
	size_t		 i;
	enum sg_rc	 rc;

	s = begin(st, S_PROF_CLEAR);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = dberr(st, err, "profiles");
		goto out;
	}
	rc = write_row(st, s, false, err, "profiles");
	for (i = 0; rc == SG_OK && i < n; i++) {
		terms_text(&p[i], terms, sizeof(terms));
		if ((s = also(st, S_PROF_ADD)) != NULL) {
			sqlite3_bind_int64(s, 1, p[i].scm_id);
			bind_text(s, 2, p[i].name);
			sqlite3_bind_int(s, 3, (int)p[i].kind);
			bind_text(s, 4, terms);
			sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
		}
		rc = write_row(st, s, false, err, "profile (an id twice?)");
	}
	sqlite3_exec(st->db, rc == SG_OK ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL);
out:
	end(st, s);
	return rc;
}

/* ---- endpoints ---- */

static void
row_endpoint(sqlite3_stmt *s, void *p)
{
	struct ra_endpoint	*ep = p;

	ep->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, ep->name, sizeof(ep->name));
	col_text(s, 2, ep->uri, sizeof(ep->uri));
	ep->type = (enum ra_ep_type)sqlite3_column_int(s, 3);
	col_text(s, 4, ep->ra_id, sizeof(ep->ra_id));
	col_text(s, 5, ep->ra_enc_id, sizeof(ep->ra_enc_id));
	ep->cacert_fmt = (enum ra_cacert_fmt)sqlite3_column_int(s, 6);
	ep->getcert_fmt = (enum ra_getcert_fmt)sqlite3_column_int(s, 7);
	ep->renewal_days = sqlite3_column_int(s, 8);
	ep->min_rsa_bits = sqlite3_column_int(s, 9);
	ep->key_types = sqlite3_column_int(s, 10);
	ep->challenge_types = sqlite3_column_int(s, 11);
	ep->created = sqlite3_column_int64(s, 12);
	ep->delegated = sqlite3_column_int(s, 13) != 0;
	col_text(s, 14, ep->org, sizeof(ep->org));
	col_text(s, 15, ep->dept, sizeof(ep->dept));
	col_text(s, 16, ep->profile, sizeof(ep->profile));
	ep->term_days = sqlite3_column_int(s, 17);
	col_text(s, 18, ep->azure, sizeof(ep->azure));
}

/* The columns of S_EP_ADD and S_EP_UPDATE, by the same numbers. */
static void
bind_endpoint(sqlite3_stmt *s, const struct ra_endpoint *ep)
{
	bind_text(s, 1, ep->name);
	bind_text(s, 2, ep->uri);
	sqlite3_bind_int(s, 3, (int)ep->type);
	bind_text(s, 4, ep->ra_id);
	bind_text(s, 5, ep->ra_enc_id);
	sqlite3_bind_int(s, 6, (int)ep->cacert_fmt);
	sqlite3_bind_int(s, 7, (int)ep->getcert_fmt);
	sqlite3_bind_int(s, 8, ep->renewal_days);
	sqlite3_bind_int(s, 9, ep->min_rsa_bits);
	sqlite3_bind_int(s, 10, ep->key_types);
	sqlite3_bind_int(s, 11, ep->challenge_types);
	sqlite3_bind_int64(s, 12, ep->created);
	sqlite3_bind_int(s, 13, ep->delegated);
	bind_text(s, 14, ep->org);
	bind_text(s, 15, ep->dept);
	bind_text(s, 16, ep->profile);
	sqlite3_bind_int(s, 17, ep->term_days);
	bind_text(s, 18, ep->azure);
}

enum sg_rc
ra_store_endpoint_add(struct ra_store *st, struct ra_endpoint *ep,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_EP_ADD)) != NULL) {
		ep->created = (int64_t)time(NULL);
		bind_endpoint(s, ep);
	}
	rc = write_row(st, s, false, err, "endpoint name or URI");
	if (rc == SG_OK)
		ep->id = sqlite3_last_insert_rowid(st->db);
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_endpoint_get(struct ra_store *st, const char *key, bool by_uri,
    struct ra_endpoint *ep, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, by_uri ? S_EP_BY_URI : S_EP_BY_NAME)) == NULL)
		rc = dberr(st, err, "endpoint");
	else {
		bind_text(s, 1, key);
		memset(ep, 0, sizeof(*ep));
		rc = one_row(st, s, row_endpoint, ep, NULL, "endpoint");
		if (rc == SG_ENOTFOUND)
			(void)sg_err_set(err, rc, "no endpoint %s '%s'", by_uri ?
			    "with URI extension" : "named", key);
		else if (rc != SG_OK)
			rc = dberr(st, err, "endpoint");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_endpoint_by_id(struct ra_store *st, int64_t id,
    struct ra_endpoint *ep, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_EP_BY_ID)) == NULL)
		rc = dberr(st, err, "endpoint");
	else {
		sqlite3_bind_int64(s, 1, id);
		memset(ep, 0, sizeof(*ep));
		rc = one_row(st, s, row_endpoint, ep, err, "endpoint");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_endpoint_list(struct ra_store *st, struct ra_endpoint **out,
    size_t *n, struct sg_err *err)
{
	return list_text(st, S_EP_LIST, NULL, sizeof(**out), row_endpoint,
	    (void **)out, n, err, "endpoints");
}

enum sg_rc
ra_store_endpoint_update(struct ra_store *st, const struct ra_endpoint *ep,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_EP_UPDATE)) != NULL)
		bind_endpoint(s, ep);
	rc = write_row(st, s, true, err, "endpoint (URI extension in use?)");
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_delegate(struct ra_store *st, const char *name, bool general,
    const struct ra_deleg *d, size_t n, struct sg_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 ep_id, org_id, dept_id;
	size_t		 i;
	enum sg_rc	 rc = SG_OK;

	s = begin(st, S_DELEG_CLEAR);
	if ((ep_id = lookup_id(st, S_EP_BY_NAME, name, 0, NULL)) <= 0) {
		rc = sg_err_set(err, SG_ENOTFOUND, "no endpoint named '%s'",
		    name);
		goto out;
	}
	sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if ((s = also(st, S_DELEG_CLEAR)) != NULL)
		sqlite3_bind_int64(s, 1, ep_id);
	rc = write_row(st, s, false, err, "delegation");
	for (i = 0; rc == SG_OK && i < n; i++) {
		if ((org_id = lookup_id(st, S_ORG_ID, d[i].org, 0, NULL)) <= 0) {
			rc = sg_err_set(err, SG_ENOTFOUND, "organization '%s' "
			    "does not exist", d[i].org);
			break;
		}
		dept_id = 0;
		if (d[i].dept[0] != '\0' && (dept_id = lookup_id(st,
		    S_DEPT_ID, NULL, org_id, d[i].dept)) <= 0) {
			rc = sg_err_set(err, SG_ENOTFOUND, "department '%s' "
			    "does not exist in '%s'", d[i].dept, d[i].org);
			break;
		}
		if ((s = also(st, S_DELEG_ADD)) != NULL) {
			sqlite3_bind_int64(s, 1, ep_id);
			sqlite3_bind_int64(s, 2, org_id);
			sqlite3_bind_int64(s, 3, dept_id);
		}
		rc = write_row(st, s, false, err, "delegation");
	}
	if (rc == SG_OK) {
		char	sqlbuf[96];

		snprintf(sqlbuf, sizeof(sqlbuf), "UPDATE endpoint SET "
		    "delegated = %d WHERE id = %lld", general ? 0 : 1,
		    (long long)ep_id);
		if (sqlite3_exec(st->db, sqlbuf, NULL, NULL, NULL) != SQLITE_OK)
			rc = dberr(st, err, "delegation");
	}
	sqlite3_exec(st->db, rc == SG_OK ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL);
out:
	end(st, s);
	return rc;
}

static void
row_deleg(sqlite3_stmt *s, void *p)
{
	struct ra_deleg	*d = p;

	col_text(s, 0, d->org, sizeof(d->org));
	col_text(s, 1, d->dept, sizeof(d->dept));
}

enum sg_rc
ra_store_delegations(struct ra_store *st, const char *name,
    struct ra_deleg **out, size_t *n, struct sg_err *err)
{
	return list_text(st, S_DELEG_LIST, name, sizeof(**out), row_deleg,
	    (void **)out, n, err, "delegation");
}

enum sg_rc
ra_store_endpoint_delete(struct ra_store *st, const char *name, bool force,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 id, naccounts, npending;
	enum sg_rc	 rc;

	s = begin(st, S_EP_BY_NAME);
	if ((id = lookup_id(st, S_EP_BY_NAME, name, 0, NULL)) <= 0) {
		rc = sg_err_set(err, SG_ENOTFOUND, "no endpoint named '%s'",
		    name);
		goto out;
	}
	naccounts = lookup_id(st, S_EP_NACCOUNTS, NULL, id, NULL);
	npending = lookup_id(st, S_EP_NPENDING, NULL, id, NULL);
	if ((naccounts > 0 || npending > 0) && !force) {
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' has %lld "
		    "account(s) and %lld pending request(s); use --force to "
		    "delete it anyway", name, (long long)naccounts,
		    (long long)npending);
		goto out;
	}
	sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if ((s = also(st, S_EP_DEL_ACCOUNTS)) != NULL)
		sqlite3_bind_int64(s, 1, id);
	if ((rc = write_row(st, s, false, err, "endpoint")) == SG_OK) {
		if ((s = also(st, S_EP_DEL)) != NULL)
			sqlite3_bind_int64(s, 1, id);
		rc = write_row(st, s, true, err, "endpoint");
	}
	sqlite3_exec(st->db, rc == SG_OK ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL);
out:
	end(st, s);
	return rc;
}

/* ---- accounts ---- */

static void
row_account(sqlite3_stmt *s, void *p)
{
	struct ra_account	*a = p;

	a->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, a->endpoint, sizeof(a->endpoint));
	col_text(s, 2, a->name, sizeof(a->name));
	col_text(s, 3, a->org, sizeof(a->org));
	col_text(s, 4, a->dept, sizeof(a->dept));
	col_text(s, 5, a->profile, sizeof(a->profile));
	a->term_days = sqlite3_column_int(s, 6);
	a->disabled = sqlite3_column_int(s, 7) != 0;
	a->manual = sqlite3_column_int(s, 8) != 0;
	a->created = sqlite3_column_int64(s, 9);
}

/* Customized delegation that excludes this organization/department. */
static bool
deleg_denied(struct ra_store *st, int64_t ep_id, int64_t org_id,
    int64_t dept_id)
{
	sqlite3_stmt	*s = also(st, S_EP_BY_ID);
	bool		 delegated = false;
	int64_t		 n;

	if (s == NULL)
		return true;
	sqlite3_bind_int64(s, 1, ep_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		delegated = sqlite3_column_int(s, 13) != 0;
	sqlite3_reset(s);
	if (!delegated)
		return false;
	if ((s = also(st, S_DELEG_OK)) == NULL)
		return true;
	sqlite3_bind_int64(s, 1, ep_id);
	sqlite3_bind_int64(s, 2, org_id);
	sqlite3_bind_int64(s, 3, dept_id);
	n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return n == 0;
}

enum sg_rc
ra_store_account_add(struct ra_store *st, struct ra_account *a,
    const uint8_t hmac[32], struct sg_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 ep_id, org_id, dept_id = 0;
	enum sg_rc	 rc;

	s = begin(st, S_ACCT_ADD);
	if ((ep_id = lookup_id(st, S_EP_BY_NAME, a->endpoint, 0, NULL)) <= 0) {
		rc = sg_err_set(err, SG_ENOTFOUND, "no endpoint named '%s'",
		    a->endpoint);
		goto out;
	}
	if ((org_id = lookup_id(st, S_ORG_ID, a->org, 0, NULL)) <= 0) {
		rc = sg_err_set(err, SG_ENOTFOUND, "organization '%s' does "
		    "not exist (scepctl org add)", a->org);
		goto out;
	}
	if (a->dept[0] != '\0' &&
	    (dept_id = lookup_id(st, S_DEPT_ID, NULL, org_id, a->dept)) <= 0) {
		rc = sg_err_set(err, SG_ENOTFOUND, "department '%s' does not "
		    "exist in '%s' (scepctl dept add)", a->dept, a->org);
		goto out;
	}
	if (deleg_denied(st, ep_id, org_id, dept_id)) {
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' is not "
		    "delegated to '%s%s%s' (scepctl endpoint delegate)",
		    a->endpoint, a->org, a->dept[0] ? "/" : "", a->dept);
		goto out;
	}
	if (s != NULL) {
		a->created = (int64_t)time(NULL);
		sqlite3_bind_int64(s, 1, ep_id);
		bind_text(s, 2, a->name);
		sqlite3_bind_int64(s, 3, org_id);
		if (dept_id > 0)
			sqlite3_bind_int64(s, 4, dept_id);
		bind_text(s, 5, a->profile);
		sqlite3_bind_int(s, 6, a->term_days);
		sqlite3_bind_blob(s, 7, hmac, 32, SQLITE_STATIC);
		sqlite3_bind_int(s, 8, a->disabled);
		sqlite3_bind_int(s, 9, a->manual);
		sqlite3_bind_int64(s, 10, a->created);
	}
	/* The same name, or the same code as another account here. */
	rc = write_row(st, s, false, err, "account (name or access code in "
	    "use)");
	if (rc == SG_OK)
		a->id = sqlite3_last_insert_rowid(st->db);
out:
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_account_by_code(struct ra_store *st, int64_t endpoint_id,
    const uint8_t hmac[32], struct ra_account *a, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_ACCT_BY_CODE)) == NULL)
		rc = dberr(st, err, "account");
	else {
		sqlite3_bind_int64(s, 1, endpoint_id);
		sqlite3_bind_blob(s, 2, hmac, 32, SQLITE_STATIC);
		memset(a, 0, sizeof(*a));
		rc = one_row(st, s, row_account, a, err, "account");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_account_by_id(struct ra_store *st, int64_t id, struct ra_account *a,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_ACCT_BY_ID)) == NULL)
		rc = dberr(st, err, "account");
	else {
		sqlite3_bind_int64(s, 1, id);
		memset(a, 0, sizeof(*a));
		rc = one_row(st, s, row_account, a, err, "account");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_account_by_name(struct ra_store *st, const char *endpoint,
    const char *name, struct ra_account *a, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_ACCT_BY_NAME)) == NULL)
		rc = dberr(st, err, "account");
	else {
		bind_text(s, 1, endpoint);
		bind_text(s, 2, name);
		memset(a, 0, sizeof(*a));
		rc = one_row(st, s, row_account, a, NULL, "account");
		if (rc == SG_ENOTFOUND)
			(void)sg_err_set(err, rc, "no account '%s' on endpoint '%s'",
			    name, endpoint);
		else if (rc != SG_OK)
			rc = dberr(st, err, "account");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_account_update(struct ra_store *st, const struct ra_account *a,
    const uint8_t *hmac, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, hmac != NULL ? S_ACCT_CODE : S_ACCT_UPDATE)) !=
	    NULL) {
		sqlite3_bind_int64(s, 1, a->id);
		if (hmac != NULL)
			sqlite3_bind_blob(s, 2, hmac, 32, SQLITE_STATIC);
		else {
			bind_text(s, 2, a->profile);
			sqlite3_bind_int(s, 3, a->term_days);
			sqlite3_bind_int(s, 4, a->disabled);
			sqlite3_bind_int(s, 5, a->manual);
		}
	}
	rc = write_row(st, s, true, err, "account (access code in use?)");
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_account_list(struct ra_store *st, const char *endpoint,
    struct ra_account **out, size_t *n, struct sg_err *err)
{
	return list_text(st, S_ACCT_LIST, endpoint, sizeof(**out), row_account,
	    (void **)out, n, err, "accounts");
}

enum sg_rc
ra_store_account_delete(struct ra_store *st, const char *endpoint,
    const char *name, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_ACCT_DEL)) != NULL) {
		bind_text(s, 1, endpoint);
		bind_text(s, 2, name);
	}
	rc = write_row(st, s, true, NULL, "account");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no account '%s' on endpoint '%s'", name,
		    endpoint);
	else if (rc != SG_OK)
		rc = dberr(st, err, "account");
	end(st, s);
	return rc;
}

/* ---- transactions ---- */

static void
row_txn(sqlite3_stmt *s, void *p)
{
	struct ra_txn	*t = p;
	const void	*kid;

	t->id = sqlite3_column_int64(s, 0);
	t->endpoint_id = sqlite3_column_int64(s, 1);
	col_text(s, 2, t->transid, sizeof(t->transid));
	t->account_id = sqlite3_column_int64(s, 3);
	t->msg_type = sqlite3_column_int(s, 4);
	t->status = (enum ra_req_status)sqlite3_column_int(s, 5);
	kid = sqlite3_column_blob(s, 6);
	if (kid != NULL && sqlite3_column_bytes(s, 6) == sizeof(t->key_id))
		memcpy(t->key_id, kid, sizeof(t->key_id));
	col_text(s, 7, t->subject, sizeof(t->subject));
	col_text(s, 8, t->serial, sizeof(t->serial));
	col_text(s, 9, t->order_id, sizeof(t->order_id));
	t->failinfo = sqlite3_column_int(s, 10);
	col_text(s, 11, t->reason, sizeof(t->reason));
	col_text(s, 12, t->peer, sizeof(t->peer));
	col_text(s, 13, t->renews, sizeof(t->renews));
}

enum sg_rc
ra_store_txn_begin(struct ra_store *st, struct ra_txn *t, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_TXN_BEGIN)) != NULL) {
		sqlite3_bind_int64(s, 1, t->endpoint_id);
		bind_text(s, 2, t->transid);
		sqlite3_bind_int64(s, 3, t->account_id);
		sqlite3_bind_int(s, 4, t->msg_type);
		sqlite3_bind_blob(s, 5, t->key_id, sizeof(t->key_id),
		    SQLITE_STATIC);
		if (t->csr != NULL)
			sqlite3_bind_blob(s, 6, t->csr, (int)t->csr_len,
			    SQLITE_STATIC);
		bind_text(s, 7, t->subject);
		bind_text(s, 8, t->peer);
		sqlite3_bind_int64(s, 9, (int64_t)time(NULL));
		bind_text(s, 10, t->renews);
	}
	if ((rc = write_row(st, s, false, err, "transaction")) == SG_OK) {
		t->id = sqlite3_last_insert_rowid(st->db);
		t->status = RA_REQ_NEW;
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_find(struct ra_store *st, int64_t endpoint_id,
    const char *transid, struct ra_txn *t, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_TXN_FIND)) == NULL)
		rc = dberr(st, err, "transaction");
	else {
		sqlite3_bind_int64(s, 1, endpoint_id);
		bind_text(s, 2, transid);
		memset(t, 0, sizeof(*t));
		rc = one_row(st, s, row_txn, t, err, "transaction");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_get(struct ra_store *st, int64_t id, struct ra_txn *t,
    uint8_t **csr, size_t *csr_len, struct sg_err *err)
{
	sqlite3_stmt	*s;
	const void	*blob;
	int		 n;
	enum sg_rc	 rc;

	if ((s = begin(st, S_TXN_GET)) == NULL) {
		rc = dberr(st, err, "request");
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	memset(t, 0, sizeof(*t));
	if ((rc = one_row(st, s, row_txn, t, NULL, "request")) != SG_OK) {
		(void)sg_err_set(err, rc, "no request %lld", (long long)id);
		goto out;
	}
	if (csr != NULL) {
		blob = sqlite3_column_blob(s, 14);
		n = sqlite3_column_bytes(s, 14);
		*csr = NULL;
		*csr_len = 0;
		if (blob != NULL && n > 0) {
			if ((*csr = malloc((size_t)n)) == NULL) {
				rc = sg_err_set(err, SG_ENOMEM, "request");
				goto out;
			}
			memcpy(*csr, blob, (size_t)n);
			*csr_len = (size_t)n;
		}
	}
out:
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_update(struct ra_store *st, const struct ra_txn *t,
    enum ra_req_status from, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_TXN_UPDATE)) != NULL) {
		sqlite3_bind_int64(s, 1, t->id);
		sqlite3_bind_int(s, 2, (int)t->status);
		bind_text(s, 3, t->serial);
		bind_text(s, 4, t->order_id);
		sqlite3_bind_int(s, 5, t->failinfo);
		bind_text(s, 6, t->reason);
		sqlite3_bind_int64(s, 7, t->account_id);
		sqlite3_bind_int64(s, 8, (int64_t)time(NULL));
		sqlite3_bind_int(s, 9, (int)from);
	}
	rc = write_row(st, s, true, err, "transaction in the expected state");
	end(st, s);
	return rc;
}

static void
row_request(sqlite3_stmt *s, void *p)
{
	struct ra_request	*r = p;

	r->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, r->endpoint, sizeof(r->endpoint));
	col_text(s, 2, r->account, sizeof(r->account));
	col_text(s, 3, r->transid, sizeof(r->transid));
	snprintf(r->type, sizeof(r->type), "%s",
	    p7_type_name(sqlite3_column_int(s, 4)));
	r->status = (enum ra_req_status)sqlite3_column_int(s, 5);
	col_text(s, 6, r->subject, sizeof(r->subject));
	col_text(s, 7, r->serial, sizeof(r->serial));
	col_text(s, 8, r->order_id, sizeof(r->order_id));
	col_text(s, 9, r->reason, sizeof(r->reason));
	col_text(s, 10, r->peer, sizeof(r->peer));
	r->created = sqlite3_column_int64(s, 11);
	r->updated = sqlite3_column_int64(s, 12);
}

enum sg_rc
ra_store_txn_list(struct ra_store *st, int status, struct ra_request **out,
    size_t *n, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_TXN_LIST)) == NULL)
		rc = dberr(st, err, "requests");
	else {
		sqlite3_bind_int(s, 1, status);
		rc = rows(st, s, sizeof(**out), row_request, (void **)out, n,
		    err, "requests");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_orders(struct ra_store *st, struct ra_txn **out, size_t *n,
    struct sg_err *err)
{
	return list_text(st, S_TXN_ORDERS, NULL, sizeof(**out), row_txn,
	    (void **)out, n, err, "orders");
}

/* ---- certificates and CRLs ---- */

enum sg_rc
ra_store_cert_add(struct ra_store *st, const struct ra_cert_rec *c,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_CERT_ADD)) != NULL) {
		bind_text(s, 1, c->serial);
		sqlite3_bind_int64(s, 2, c->endpoint_id);
		sqlite3_bind_int64(s, 3, c->account_id);
		sqlite3_bind_int64(s, 4, c->txn_id);
		bind_text(s, 5, c->subject);
		sqlite3_bind_int64(s, 6, c->not_before);
		sqlite3_bind_int64(s, 7, c->not_after);
		sqlite3_bind_blob(s, 8, c->der, (int)c->der_len,
		    SQLITE_STATIC);
	}
	rc = write_row(st, s, false, err, "certificate");
	end(st, s);
	return rc;
}

static void
row_cert(sqlite3_stmt *s, void *p)
{
	struct ra_cert	*c = p;

	col_text(s, 0, c->serial, sizeof(c->serial));
	col_text(s, 1, c->endpoint, sizeof(c->endpoint));
	col_text(s, 2, c->account, sizeof(c->account));
	col_text(s, 3, c->subject, sizeof(c->subject));
	c->not_before = sqlite3_column_int64(s, 4);
	c->not_after = sqlite3_column_int64(s, 5);
	c->status = (enum ra_cert_status)sqlite3_column_int(s, 6);
	c->revoked_at = sqlite3_column_int64(s, 7);
	c->reason = sqlite3_column_int(s, 8);
}

enum sg_rc
ra_store_cert_get(struct ra_store *st, const char *serial, struct ra_cert *c,
    int64_t *account_id, uint8_t **der, size_t *len, struct sg_err *err)
{
	sqlite3_stmt	*s;
	struct ra_cert	 tmp;
	const void	*blob;
	int		 n;
	enum sg_rc	 rc;

	if (c == NULL)
		c = &tmp;
	if ((s = begin(st, S_CERT_GET)) == NULL) {
		rc = dberr(st, err, "certificate");
		goto out;
	}
	bind_text(s, 1, serial);
	memset(c, 0, sizeof(*c));
	if ((rc = one_row(st, s, row_cert, c, NULL, "certificate")) != SG_OK) {
		(void)sg_err_set(err, rc, "no certificate with serial %s", serial);
		goto out;
	}
	if (account_id != NULL)
		*account_id = sqlite3_column_int64(s, 9);
	if (der != NULL) {
		blob = sqlite3_column_blob(s, 10);
		n = sqlite3_column_bytes(s, 10);
		if (blob == NULL || n <= 0 ||
		    (*der = malloc((size_t)n)) == NULL) {
			rc = sg_err_set(err, SG_ENOMEM, "certificate");
			goto out;
		}
		memcpy(*der, blob, (size_t)n);
		*len = (size_t)n;
	}
out:
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_cert_list(struct ra_store *st, const char *endpoint, int status,
    struct ra_cert **out, size_t *n, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_CERT_LIST)) == NULL)
		rc = dberr(st, err, "certificates");
	else {
		bind_filter(s, 1, endpoint);
		sqlite3_bind_int(s, 2, status);
		rc = rows(st, s, sizeof(**out), row_cert, (void **)out, n,
		    err, "certificates");
	}
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_cert_set_status(struct ra_store *st, const char *serial,
    enum ra_cert_status status, int reason, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_CERT_STATUS)) != NULL) {
		bind_text(s, 1, serial);
		sqlite3_bind_int(s, 2, (int)status);
		sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
		sqlite3_bind_int(s, 4, reason);
	}
	rc = write_row(st, s, true, NULL, "certificate");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no valid certificate with serial %s",
		    serial);
	else if (rc != SG_OK)
		rc = dberr(st, err, "certificate");
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_crl_get(struct ra_store *st, uint8_t **der, size_t *len,
    int64_t *next_update, struct sg_err *err)
{
	sqlite3_stmt	*s;
	const void	*blob;
	int		 n, r;
	enum sg_rc	 rc = SG_OK;

	if ((s = begin(st, S_CRL_GET)) == NULL) {
		rc = dberr(st, err, "CRL");
		goto out;
	}
	if ((r = sqlite3_step(s)) != SQLITE_ROW) {
		rc = r == SQLITE_DONE ? sg_err_set(err, SG_ENOTFOUND, "no CRL "
		    "yet") : dberr(st, err, "CRL");
		goto out;
	}
	blob = sqlite3_column_blob(s, 0);
	n = sqlite3_column_bytes(s, 0);
	if (blob == NULL || n <= 0 || (*der = malloc((size_t)n)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "CRL");
		goto out;
	}
	memcpy(*der, blob, (size_t)n);
	*len = (size_t)n;
	*next_update = sqlite3_column_int64(s, 1);
out:
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_crl_number(struct ra_store *st, int64_t *number, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	if ((s = begin(st, S_CRL_NUMBER)) == NULL ||
	    sqlite3_step(s) != SQLITE_ROW)
		rc = dberr(st, err, "CRL number");
	else
		*number = sqlite3_column_int64(s, 0);
	end(st, s);
	return rc;
}

enum sg_rc
ra_store_crl_put(struct ra_store *st, int64_t number, const uint8_t *der,
    size_t len, int64_t next_update, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_CRL_PUT)) != NULL) {
		sqlite3_bind_int64(s, 1, number);
		sqlite3_bind_blob(s, 2, der, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, next_update);
		sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	}
	rc = write_row(st, s, false, err, "CRL");
	end(st, s);
	return rc;
}

/* ---- audit ---- */

enum sg_rc
ra_store_audit_add(struct ra_store *st, const struct ra_audit *a,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_AUDIT_ADD)) != NULL) {
		sqlite3_bind_int64(s, 1, (int64_t)time(NULL));
		bind_text(s, 2, a->actor);
		bind_text(s, 3, a->endpoint);
		bind_text(s, 4, a->account);
		bind_text(s, 5, a->transid);
		bind_text(s, 6, a->action);
		bind_text(s, 7, a->outcome);
		bind_text(s, 8, a->details);
	}
	rc = write_row(st, s, false, err, "audit");
	end(st, s);
	return rc;
}

static void
row_audit(sqlite3_stmt *s, void *p)
{
	struct ra_audit_rec	*a = p;

	a->id = sqlite3_column_int64(s, 0);
	a->time = sqlite3_column_int64(s, 1);
	col_text(s, 2, a->actor, sizeof(a->actor));
	col_text(s, 3, a->endpoint, sizeof(a->endpoint));
	col_text(s, 4, a->account, sizeof(a->account));
	col_text(s, 5, a->transid, sizeof(a->transid));
	col_text(s, 6, a->action, sizeof(a->action));
	col_text(s, 7, a->outcome, sizeof(a->outcome));
	col_text(s, 8, a->details, sizeof(a->details));
}

enum sg_rc
ra_store_audit_list(struct ra_store *st, const struct ra_audit_filter *f,
    struct ra_audit_rec **out, size_t *n, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc;

	if ((s = begin(st, S_AUDIT_LIST)) == NULL)
		rc = dberr(st, err, "audit");
	else {
		bind_filter(s, 1, f->endpoint);
		bind_filter(s, 2, f->account);
		bind_filter(s, 3, f->outcome);
		sqlite3_bind_int64(s, 4, f->since);
		sqlite3_bind_int64(s, 5, f->until > 0 ? f->until : INT64_MAX);
		rc = rows(st, s, sizeof(**out), row_audit, (void **)out, n,
		    err, "audit");
	}
	end(st, s);
	return rc;
}
