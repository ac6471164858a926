/*
 * The SQLite store. One connection per struct ra_store, guarded by one
 * mutex; WAL so that scepctl and scepgate work on the same file at once;
 * every statement prepared once and reused. Nothing here decides policy.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ra_int.h"

#define SCHEMA_VERSION	1

static const char schema[] =
"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
"CREATE TABLE IF NOT EXISTS org(id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
"CREATE TABLE IF NOT EXISTS dept(id INTEGER PRIMARY KEY,"
"  org_id INTEGER NOT NULL REFERENCES org(id), name TEXT NOT NULL,"
"  created INTEGER NOT NULL, UNIQUE(org_id, name));"
"CREATE TABLE IF NOT EXISTS endpoint(id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE, uri TEXT NOT NULL UNIQUE,"
"  type INTEGER NOT NULL, ra_id TEXT NOT NULL, cacert_fmt INTEGER NOT NULL,"
"  getcert_fmt INTEGER NOT NULL, renewal_days INTEGER NOT NULL,"
"  created INTEGER NOT NULL);"
"CREATE TABLE IF NOT EXISTS account(id INTEGER PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL REFERENCES endpoint(id),"
"  name TEXT NOT NULL, org_id INTEGER NOT NULL REFERENCES org(id),"
"  dept_id INTEGER REFERENCES dept(id), profile TEXT NOT NULL,"
"  term_days INTEGER NOT NULL, code_hmac BLOB NOT NULL,"
"  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
"  UNIQUE(endpoint_id, name), UNIQUE(endpoint_id, code_hmac));"
"CREATE TABLE IF NOT EXISTS txn(id INTEGER PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL, transid TEXT NOT NULL,"
"  account_id INTEGER, msg_type INTEGER NOT NULL, status INTEGER NOT NULL,"
"  key_id BLOB, csr BLOB, subject TEXT, serial TEXT, failinfo INTEGER,"
"  reason TEXT, peer TEXT, created INTEGER NOT NULL,"
"  updated INTEGER NOT NULL);"
"CREATE INDEX IF NOT EXISTS txn_transid ON txn(endpoint_id, transid);"
/* At most one live (new or pending) transaction per transactionID. */
"CREATE UNIQUE INDEX IF NOT EXISTS txn_live ON txn(endpoint_id, transid)"
"  WHERE status IN (0, 1);"
"CREATE TABLE IF NOT EXISTS cert(serial TEXT PRIMARY KEY,"
"  endpoint_id INTEGER NOT NULL, account_id INTEGER, txn_id INTEGER,"
"  subject TEXT NOT NULL, not_before INTEGER NOT NULL,"
"  not_after INTEGER NOT NULL, der BLOB NOT NULL,"
"  status INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER, reason TEXT);"
"CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY,"
"  time INTEGER NOT NULL, actor TEXT NOT NULL, endpoint TEXT,"
"  account TEXT, transid TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL,"
"  details TEXT);"
/* The audit log is append-only (issue: SCM "View Audit"). */
"CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
"  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
"CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
"  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;";

enum stmt_id {
	S_ORG_ADD,
	S_DEPT_ADD,
	S_ORG_ID,
	S_DEPT_ID,
	S_ORG_LIST,
	S_DEPT_LIST,
	S_EP_ADD,
	S_EP_BY_NAME,
	S_EP_BY_URI,
	S_EP_LIST,
	S_EP_NACCOUNTS,
	S_EP_DEL_ACCOUNTS,
	S_EP_DEL,
	S_ACCT_ADD,
	S_ACCT_BY_CODE,
	S_ACCT_LIST,
	S_ACCT_DEL,
	S_TXN_BEGIN,
	S_TXN_FIND,
	S_TXN_FINISH,
	S_CERT_ADD,
	S_CERT_GET,
	S_AUDIT_ADD,
	S_MAX
};

#define EP_COLS "id, name, uri, type, ra_id, cacert_fmt, getcert_fmt, " \
	"renewal_days, created"
#define ACCT_SELECT "SELECT a.id, e.name, a.name, o.name, " \
	"COALESCE(d.name, ''), a.profile, a.term_days, a.disabled, " \
	"a.created FROM account a JOIN endpoint e ON e.id = a.endpoint_id " \
	"JOIN org o ON o.id = a.org_id LEFT JOIN dept d ON d.id = a.dept_id "
#define TXN_COLS "id, endpoint_id, transid, COALESCE(account_id, 0), " \
	"msg_type, status, key_id, COALESCE(subject, ''), " \
	"COALESCE(serial, ''), COALESCE(failinfo, -1), " \
	"COALESCE(reason, ''), COALESCE(peer, '')"

static const char *const sql[S_MAX] = {
	[S_ORG_ADD] = "INSERT INTO org(name, created) VALUES(?1, ?2)",
	[S_DEPT_ADD] = "INSERT INTO dept(org_id, name, created) "
	    "VALUES(?1, ?2, ?3)",
	[S_ORG_ID] = "SELECT id FROM org WHERE name = ?1",
	[S_DEPT_ID] = "SELECT id FROM dept WHERE org_id = ?1 AND name = ?2",
	[S_ORG_LIST] = "SELECT id, name, '' FROM org ORDER BY name",
	[S_DEPT_LIST] = "SELECT d.id, d.name, o.name FROM dept d "
	    "JOIN org o ON o.id = d.org_id "
	    "WHERE ?1 IS NULL OR o.name = ?1 ORDER BY o.name, d.name",
	[S_EP_ADD] = "INSERT INTO endpoint(name, uri, type, ra_id, "
	    "cacert_fmt, getcert_fmt, renewal_days, created) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_EP_BY_NAME] = "SELECT " EP_COLS " FROM endpoint WHERE name = ?1",
	[S_EP_BY_URI] = "SELECT " EP_COLS " FROM endpoint WHERE uri = ?1",
	[S_EP_LIST] = "SELECT " EP_COLS " FROM endpoint ORDER BY name",
	[S_EP_NACCOUNTS] = "SELECT COUNT(*) FROM account WHERE "
	    "endpoint_id = ?1",
	[S_EP_DEL_ACCOUNTS] = "DELETE FROM account WHERE endpoint_id = ?1",
	[S_EP_DEL] = "DELETE FROM endpoint WHERE id = ?1",
	[S_ACCT_ADD] = "INSERT INTO account(endpoint_id, name, org_id, "
	    "dept_id, profile, term_days, code_hmac, disabled, created) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_ACCT_BY_CODE] = ACCT_SELECT
	    "WHERE a.endpoint_id = ?1 AND a.code_hmac = ?2",
	[S_ACCT_LIST] = ACCT_SELECT "WHERE e.name = ?1 ORDER BY a.name",
	[S_ACCT_DEL] = "DELETE FROM account WHERE name = ?2 AND "
	    "endpoint_id = (SELECT id FROM endpoint WHERE name = ?1)",
	[S_TXN_BEGIN] = "INSERT INTO txn(endpoint_id, transid, account_id, "
	    "msg_type, status, key_id, csr, subject, peer, created, updated) "
	    "VALUES(?1, ?2, NULLIF(?3, 0), ?4, 0, ?5, ?6, ?7, ?8, ?9, ?9)",
	[S_TXN_FIND] = "SELECT " TXN_COLS " FROM txn WHERE endpoint_id = ?1 "
	    "AND transid = ?2 ORDER BY id DESC LIMIT 1",
	[S_TXN_FINISH] = "UPDATE txn SET status = ?2, serial = NULLIF(?3, ''),"
	    " failinfo = ?4, reason = ?5, account_id = NULLIF(?6, 0), "
	    "updated = ?7 WHERE id = ?1",
	[S_CERT_ADD] = "INSERT INTO cert(serial, endpoint_id, account_id, "
	    "txn_id, subject, not_before, not_after, der) "
	    "VALUES(?1, ?2, NULLIF(?3, 0), NULLIF(?4, 0), ?5, ?6, ?7, ?8)",
	[S_CERT_GET] = "SELECT der FROM cert WHERE serial = ?1",
	[S_AUDIT_ADD] = "INSERT INTO audit(time, actor, endpoint, account, "
	    "transid, action, outcome, details) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

struct ra_store {
	sqlite3		*db;
	pthread_mutex_t	 lock;	/* guards db and stmts */
	sqlite3_stmt	*stmts[S_MAX];
};

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

/* The prepared statement, reset and unbound; call with the lock held. */
static sqlite3_stmt *
stmt(struct ra_store *st, enum stmt_id id)
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
lock(struct ra_store *st)
{
	pthread_mutex_lock(&st->lock);
}

static void
unlock(struct ra_store *st, sqlite3_stmt *s)
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

enum sg_rc
ra_store_open(const char *path, struct ra_store **out, struct sg_err *err)
{
	struct ra_store	*st;
	char		*msg = NULL;
	enum sg_rc	 rc;
	int		 fd;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "store");
	/* A new database is private: it holds access-code HMACs. */
	if ((fd = open(path, O_RDWR | O_CREAT, 0600)) != -1)
		close(fd);
	pthread_mutex_init(&st->lock, NULL);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = sg_err_set(err, SG_ESTORE, "%s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
	    NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		rc = sg_err_set(err, SG_ESTORE, "%s: %s", path,
		    msg ? msg : sqlite3_errmsg(st->db));
		goto out;
	}
	sqlite3_exec(st->db, "INSERT OR IGNORE INTO meta VALUES"
	    "('schema_version', '1')", NULL, NULL, NULL);
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

/* Look up an id by one or two keys; 0 if absent. Lock held. */
static int64_t
lookup_id(struct ra_store *st, enum stmt_id id, const char *a, int64_t ia,
    const char *b)
{
	sqlite3_stmt	*s = stmt(st, id);
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

enum sg_rc
ra_store_org_add(struct ra_store *st, const char *org, const char *dept,
    struct sg_err *err)
{
	sqlite3_stmt	*s = NULL;
	int64_t		 org_id;
	enum sg_rc	 rc;

	lock(st);
	if (dept == NULL) {
		if ((s = stmt(st, S_ORG_ADD)) == NULL)
			goto fail;
		bind_text(s, 1, org);
		sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	} else {
		if ((org_id = lookup_id(st, S_ORG_ID, org, 0, NULL)) <= 0) {
			rc = sg_err_set(err, SG_ENOTFOUND, "organization '%s' "
			    "does not exist", org);
			goto out;
		}
		if ((s = stmt(st, S_DEPT_ADD)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, org_id);
		bind_text(s, 2, dept);
		sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	rc = SG_OK;
	goto out;
fail:
	rc = dberr(st, err, dept ? "department" : "organization");
out:
	unlock(st, s);
	return rc;
}

/* Grow a result array by one element; NULL when out of memory. */
static void *
grow(void **arr, size_t *n, size_t elsize)
{
	void	*na;

	if ((na = realloc(*arr, (*n + 1) * elsize)) == NULL)
		return NULL;
	*arr = na;
	memset((char *)na + *n * elsize, 0, elsize);
	return (char *)na + (*n)++ * elsize;
}

enum sg_rc
ra_store_org_list(struct ra_store *st, const char *org, bool depts,
    struct ra_org **out, size_t *nout, struct sg_err *err)
{
	sqlite3_stmt	*s;
	struct ra_org	*arr = NULL, *o;
	size_t		 n = 0;
	enum sg_rc	 rc = SG_OK;
	int		 r;

	lock(st);
	if ((s = stmt(st, depts ? S_DEPT_LIST : S_ORG_LIST)) == NULL) {
		rc = dberr(st, err, "organizations");
		goto out;
	}
	if (depts)
		bind_text(s, 1, org);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if ((o = grow((void **)&arr, &n, sizeof(*arr))) == NULL) {
			rc = sg_err_set(err, SG_ENOMEM, "organizations");
			goto out;
		}
		o->id = sqlite3_column_int64(s, 0);
		col_text(s, 1, o->name, sizeof(o->name));
		col_text(s, 2, o->org, sizeof(o->org));
	}
	if (r != SQLITE_DONE)
		rc = dberr(st, err, "organizations");
out:
	unlock(st, s);
	if (rc != SG_OK) {
		free(arr);
		return rc;
	}
	*out = arr;
	*nout = n;
	return SG_OK;
}

static void
row_endpoint(sqlite3_stmt *s, struct ra_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, ep->name, sizeof(ep->name));
	col_text(s, 2, ep->uri, sizeof(ep->uri));
	ep->type = (enum ra_ep_type)sqlite3_column_int(s, 3);
	col_text(s, 4, ep->ra_id, sizeof(ep->ra_id));
	ep->cacert_fmt = (enum ra_cacert_fmt)sqlite3_column_int(s, 5);
	ep->getcert_fmt = (enum ra_getcert_fmt)sqlite3_column_int(s, 6);
	ep->renewal_days = sqlite3_column_int(s, 7);
	ep->created = sqlite3_column_int64(s, 8);
}

enum sg_rc
ra_store_endpoint_add(struct ra_store *st, struct ra_endpoint *ep,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	lock(st);
	if ((s = stmt(st, S_EP_ADD)) == NULL) {
		rc = dberr(st, err, "endpoint");
		goto out;
	}
	ep->created = (int64_t)time(NULL);
	bind_text(s, 1, ep->name);
	bind_text(s, 2, ep->uri);
	sqlite3_bind_int(s, 3, (int)ep->type);
	bind_text(s, 4, ep->ra_id);
	sqlite3_bind_int(s, 5, (int)ep->cacert_fmt);
	sqlite3_bind_int(s, 6, (int)ep->getcert_fmt);
	sqlite3_bind_int(s, 7, ep->renewal_days);
	sqlite3_bind_int64(s, 8, ep->created);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(st, err, "endpoint name or URI");
	else
		ep->id = sqlite3_last_insert_rowid(st->db);
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_endpoint_get(struct ra_store *st, const char *key, bool by_uri,
    struct ra_endpoint *ep, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;
	int		 r;

	lock(st);
	if ((s = stmt(st, by_uri ? S_EP_BY_URI : S_EP_BY_NAME)) == NULL) {
		rc = dberr(st, err, "endpoint");
		goto out;
	}
	bind_text(s, 1, key);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		row_endpoint(s, ep);
	else if (r == SQLITE_DONE)
		rc = sg_err_set(err, SG_ENOTFOUND, "no endpoint %s '%s'",
		    by_uri ? "with URI" : "named", key);
	else
		rc = dberr(st, err, "endpoint");
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_endpoint_list(struct ra_store *st, struct ra_endpoint **out,
    size_t *nout, struct sg_err *err)
{
	sqlite3_stmt		*s;
	struct ra_endpoint	*arr = NULL, *ep;
	size_t			 n = 0;
	enum sg_rc		 rc = SG_OK;
	int			 r;

	lock(st);
	if ((s = stmt(st, S_EP_LIST)) == NULL) {
		rc = dberr(st, err, "endpoints");
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if ((ep = grow((void **)&arr, &n, sizeof(*arr))) == NULL) {
			rc = sg_err_set(err, SG_ENOMEM, "endpoints");
			goto out;
		}
		row_endpoint(s, ep);
	}
	if (r != SQLITE_DONE)
		rc = dberr(st, err, "endpoints");
out:
	unlock(st, s);
	if (rc != SG_OK) {
		free(arr);
		return rc;
	}
	*out = arr;
	*nout = n;
	return SG_OK;
}

enum sg_rc
ra_store_endpoint_delete(struct ra_store *st, const char *name, bool force,
    struct sg_err *err)
{
	sqlite3_stmt	*s = NULL;
	int64_t		 id, naccounts;
	enum sg_rc	 rc;

	lock(st);
	if ((s = stmt(st, S_EP_BY_NAME)) == NULL)
		goto fail;
	bind_text(s, 1, name);
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = sg_err_set(err, SG_ENOTFOUND, "no endpoint named '%s'",
		    name);
		goto out;
	}
	id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	naccounts = lookup_id(st, S_EP_NACCOUNTS, NULL, id, NULL);
	if (naccounts > 0 && !force) {
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' has %lld "
		    "account(s); delete them first or use --force", name,
		    (long long)naccounts);
		goto out;
	}
	sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if ((s = stmt(st, S_EP_DEL_ACCOUNTS)) == NULL)
		goto rollback;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto rollback;
	if ((s = stmt(st, S_EP_DEL)) == NULL)
		goto rollback;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto rollback;
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	rc = SG_OK;
	goto out;
rollback:
	rc = dberr(st, err, "endpoint delete");
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	goto out;
fail:
	rc = dberr(st, err, "endpoint delete");
out:
	unlock(st, s);
	return rc;
}

static void
row_account(sqlite3_stmt *s, struct ra_account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, a->endpoint, sizeof(a->endpoint));
	col_text(s, 2, a->name, sizeof(a->name));
	col_text(s, 3, a->org, sizeof(a->org));
	col_text(s, 4, a->dept, sizeof(a->dept));
	col_text(s, 5, a->profile, sizeof(a->profile));
	a->term_days = sqlite3_column_int(s, 6);
	a->disabled = sqlite3_column_int(s, 7) != 0;
	a->created = sqlite3_column_int64(s, 8);
}

enum sg_rc
ra_store_account_add(struct ra_store *st, struct ra_account *a,
    const uint8_t hmac[32], struct sg_err *err)
{
	sqlite3_stmt	*s = NULL;
	int64_t		 ep_id, org_id, dept_id = 0;
	enum sg_rc	 rc;

	lock(st);
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
	if ((s = stmt(st, S_ACCT_ADD)) == NULL)
		goto fail;
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
	sqlite3_bind_int64(s, 9, a->created);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	a->id = sqlite3_last_insert_rowid(st->db);
	rc = SG_OK;
	goto out;
fail:
	/* The same name, or the same code as another account here. */
	rc = dberr(st, err, "account (name or access code in use)");
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_account_by_code(struct ra_store *st, int64_t endpoint_id,
    const uint8_t hmac[32], struct ra_account *a, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;
	int		 r;

	lock(st);
	if ((s = stmt(st, S_ACCT_BY_CODE)) == NULL) {
		rc = dberr(st, err, "account");
		goto out;
	}
	sqlite3_bind_int64(s, 1, endpoint_id);
	sqlite3_bind_blob(s, 2, hmac, 32, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		row_account(s, a);
	else if (r == SQLITE_DONE)
		rc = sg_err_set(err, SG_ENOTFOUND, "no account with this "
		    "access code");
	else
		rc = dberr(st, err, "account");
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_account_list(struct ra_store *st, const char *endpoint,
    struct ra_account **out, size_t *nout, struct sg_err *err)
{
	sqlite3_stmt		*s;
	struct ra_account	*arr = NULL, *a;
	size_t			 n = 0;
	enum sg_rc		 rc = SG_OK;
	int			 r;

	lock(st);
	if ((s = stmt(st, S_ACCT_LIST)) == NULL) {
		rc = dberr(st, err, "accounts");
		goto out;
	}
	bind_text(s, 1, endpoint);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if ((a = grow((void **)&arr, &n, sizeof(*arr))) == NULL) {
			rc = sg_err_set(err, SG_ENOMEM, "accounts");
			goto out;
		}
		row_account(s, a);
	}
	if (r != SQLITE_DONE)
		rc = dberr(st, err, "accounts");
out:
	unlock(st, s);
	if (rc != SG_OK) {
		free(arr);
		return rc;
	}
	*out = arr;
	*nout = n;
	return SG_OK;
}

enum sg_rc
ra_store_account_delete(struct ra_store *st, const char *endpoint,
    const char *name, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	lock(st);
	if ((s = stmt(st, S_ACCT_DEL)) == NULL) {
		rc = dberr(st, err, "account");
		goto out;
	}
	bind_text(s, 1, endpoint);
	bind_text(s, 2, name);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(st, err, "account");
	else if (sqlite3_changes(st->db) == 0)
		rc = sg_err_set(err, SG_ENOTFOUND, "no account '%s' on "
		    "endpoint '%s'", name, endpoint);
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_begin(struct ra_store *st, struct ra_txn *t,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	lock(st);
	if ((s = stmt(st, S_TXN_BEGIN)) == NULL) {
		rc = dberr(st, err, "transaction");
		goto out;
	}
	sqlite3_bind_int64(s, 1, t->endpoint_id);
	bind_text(s, 2, t->transid);
	sqlite3_bind_int64(s, 3, t->account_id);
	sqlite3_bind_int(s, 4, t->msg_type);
	sqlite3_bind_blob(s, 5, t->key_id, sizeof(t->key_id), SQLITE_STATIC);
	if (t->csr != NULL)
		sqlite3_bind_blob(s, 6, t->csr, (int)t->csr_len,
		    SQLITE_STATIC);
	bind_text(s, 7, t->subject);
	bind_text(s, 8, t->peer);
	sqlite3_bind_int64(s, 9, (int64_t)time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(st, err, "transaction");
	else {
		t->id = sqlite3_last_insert_rowid(st->db);
		t->status = RA_TXN_NEW;
	}
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_find(struct ra_store *st, int64_t endpoint_id,
    const char *transid, struct ra_txn *t, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;
	const void	*kid;
	int		 r;

	lock(st);
	if ((s = stmt(st, S_TXN_FIND)) == NULL) {
		rc = dberr(st, err, "transaction");
		goto out;
	}
	sqlite3_bind_int64(s, 1, endpoint_id);
	bind_text(s, 2, transid);
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	if (r != SQLITE_ROW) {
		rc = dberr(st, err, "transaction");
		goto out;
	}
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, 0);
	t->endpoint_id = sqlite3_column_int64(s, 1);
	col_text(s, 2, t->transid, sizeof(t->transid));
	t->account_id = sqlite3_column_int64(s, 3);
	t->msg_type = sqlite3_column_int(s, 4);
	t->status = (enum ra_txn_status)sqlite3_column_int(s, 5);
	kid = sqlite3_column_blob(s, 6);
	if (kid != NULL && sqlite3_column_bytes(s, 6) == sizeof(t->key_id))
		memcpy(t->key_id, kid, sizeof(t->key_id));
	col_text(s, 7, t->subject, sizeof(t->subject));
	col_text(s, 8, t->serial, sizeof(t->serial));
	t->failinfo = sqlite3_column_int(s, 9);
	col_text(s, 10, t->reason, sizeof(t->reason));
	col_text(s, 11, t->peer, sizeof(t->peer));
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_txn_finish(struct ra_store *st, const struct ra_txn *t,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	lock(st);
	if ((s = stmt(st, S_TXN_FINISH)) == NULL) {
		rc = dberr(st, err, "transaction");
		goto out;
	}
	sqlite3_bind_int64(s, 1, t->id);
	sqlite3_bind_int(s, 2, (int)t->status);
	bind_text(s, 3, t->serial);
	sqlite3_bind_int(s, 4, t->failinfo);
	bind_text(s, 5, t->reason);
	sqlite3_bind_int64(s, 6, t->account_id);
	sqlite3_bind_int64(s, 7, (int64_t)time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(st, err, "transaction");
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_cert_add(struct ra_store *st, const struct ra_cert_rec *c,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	lock(st);
	if ((s = stmt(st, S_CERT_ADD)) == NULL) {
		rc = dberr(st, err, "certificate");
		goto out;
	}
	bind_text(s, 1, c->serial);
	sqlite3_bind_int64(s, 2, c->endpoint_id);
	sqlite3_bind_int64(s, 3, c->account_id);
	sqlite3_bind_int64(s, 4, c->txn_id);
	bind_text(s, 5, c->subject);
	sqlite3_bind_int64(s, 6, c->not_before);
	sqlite3_bind_int64(s, 7, c->not_after);
	sqlite3_bind_blob(s, 8, c->der, (int)c->der_len, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(st, err, "certificate");
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_cert_get(struct ra_store *st, const char *serial, uint8_t **der,
    size_t *len, struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;
	const void	*blob;
	int		 n;

	lock(st);
	if ((s = stmt(st, S_CERT_GET)) == NULL) {
		rc = dberr(st, err, "certificate");
		goto out;
	}
	bind_text(s, 1, serial);
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = sg_err_set(err, SG_ENOTFOUND, "no certificate with "
		    "serial %s", serial);
		goto out;
	}
	blob = sqlite3_column_blob(s, 0);
	n = sqlite3_column_bytes(s, 0);
	if (blob == NULL || n <= 0 || (*der = malloc((size_t)n)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "certificate");
		goto out;
	}
	memcpy(*der, blob, (size_t)n);
	*len = (size_t)n;
out:
	unlock(st, s);
	return rc;
}

enum sg_rc
ra_store_audit_add(struct ra_store *st, const struct ra_audit *a,
    struct sg_err *err)
{
	sqlite3_stmt	*s;
	enum sg_rc	 rc = SG_OK;

	lock(st);
	if ((s = stmt(st, S_AUDIT_ADD)) == NULL) {
		rc = dberr(st, err, "audit");
		goto out;
	}
	sqlite3_bind_int64(s, 1, (int64_t)time(NULL));
	bind_text(s, 2, a->actor);
	bind_text(s, 3, a->endpoint);
	bind_text(s, 4, a->account);
	bind_text(s, 5, a->transid);
	bind_text(s, 6, a->action);
	bind_text(s, 7, a->outcome);
	bind_text(s, 8, a->details);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(st, err, "audit");
out:
	unlock(st, s);
	return rc;
}
