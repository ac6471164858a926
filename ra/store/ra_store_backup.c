/*
 * ra_store_backup: the SQLite database as a file (ra_store_backup.h).
 * Only this file and ra_store_sqlite.c include sqlite3.h.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ra_store_backup.h"

/* How long a step waits for a writer's lock before giving up. */
#define BACKUP_BUSY_MS	10000

static enum sg_rc
dberr(sqlite3 *db, struct sg_err *err, const char *what)
{
	return sg_err_set(err, SG_ESTORE, "%s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

static enum sg_rc
open_db(const char *path, int flags, sqlite3 **db, struct sg_err *err)
{
	enum sg_rc	rc;

	if (sqlite3_open_v2(path, db, flags, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(*db, BACKUP_BUSY_MS);
		return SG_OK;
	}
	rc = dberr(*db, err, path);
	sqlite3_close(*db);
	*db = NULL;
	return rc;
}

/* Create "path" exclusively, 0600: a backup holds the CA's records. */
static enum sg_rc
create_new(const char *path, struct sg_err *err)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return sg_err_set(err, errno == EEXIST ? SG_EEXIST : SG_EIO,
		    "%s: %s", path, strerror(errno));
	close(fd);
	return SG_OK;
}

enum sg_rc
ra_store_backup(const char *src, const char *dst, long long *pages,
    struct sg_err *err)
{
	sqlite3		*from = NULL, *to = NULL;
	sqlite3_backup	*b = NULL;
	bool		 created = false;
	enum sg_rc	 rc;
	int		 r;

	/* Read-write without CREATE: a WAL reader may need the -shm. */
	if ((rc = open_db(src, SQLITE_OPEN_READWRITE, &from, err)) != SG_OK)
		goto out;
	if ((rc = create_new(dst, err)) != SG_OK)
		goto out;
	created = true;
	if ((rc = open_db(dst, SQLITE_OPEN_READWRITE, &to, err)) != SG_OK)
		goto out;
	if ((b = sqlite3_backup_init(to, "main", from, "main")) == NULL) {
		rc = dberr(to, err, "backup");
		goto out;
	}
	/* All pages in one step: one read transaction, one moment. */
	while ((r = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    r == SQLITE_LOCKED)
		sqlite3_sleep(50);
	if (pages != NULL)
		*pages = sqlite3_backup_pagecount(b);
	if (sqlite3_backup_finish(b) != SQLITE_OK || r != SQLITE_DONE) {
		b = NULL;
		rc = dberr(to, err, "backup");
		goto out;
	}
	b = NULL;
	rc = SG_OK;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (to != NULL && sqlite3_close(to) != SQLITE_OK && rc == SG_OK)
		rc = dberr(to, err, dst);
	sqlite3_close(from);
	if (rc != SG_OK && created && rc != SG_EEXIST)
		unlink(dst);
	return rc;
}

/* Run pg_dump into the existing (empty, 0600) file "dst". */
static enum sg_rc
pg_dump(const char *uri, const char *dst, struct sg_err *err)
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) == -1)
		return sg_err_set(err, SG_EIO, "fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("pg_dump", "pg_dump", "--format=custom", "--no-password",
		    "--file", dst, "--dbname", uri, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return sg_err_set(err, SG_EIO, "waitpid: %s",
			    strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return SG_OK;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return sg_err_set(err, SG_ESTORE, "pg_dump is not installed "
		    "(Debian: postgresql-client)");
	return sg_err_set(err, SG_ESTORE, "pg_dump failed (status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

enum sg_rc
ra_store_dump(const char *uri, const char *dst, long long *bytes,
    struct sg_err *err)
{
	struct stat	sb;
	enum sg_rc	rc;

	if ((rc = create_new(dst, err)) != SG_OK)
		return rc;
	if ((rc = pg_dump(uri, dst, err)) == SG_OK && stat(dst, &sb) == -1)
		rc = sg_err_set(err, SG_EIO, "%s: %s", dst, strerror(errno));
	if (rc != SG_OK) {
		unlink(dst);
		return rc;
	}
	if (bytes != NULL)
		*bytes = (long long)sb.st_size;
	return SG_OK;
}

/* The first column of the first row of "sql" as an integer. */
static enum sg_rc
count(sqlite3 *db, const char *sql, long long *out, struct sg_err *err)
{
	sqlite3_stmt	*s = NULL;
	enum sg_rc	 rc = SG_OK;

	*out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return dberr(db, err, sql);
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		*out = sqlite3_column_int64(s, 0);
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = dberr(db, err, sql);
	}
	sqlite3_finalize(s);
	return rc;
}

static enum sg_rc
integrity(sqlite3 *db, struct ra_store_check *out, struct sg_err *err)
{
	sqlite3_stmt		*s = NULL;
	const unsigned char	*t;
	enum sg_rc		 rc = SG_OK;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s,
	    NULL) != SQLITE_OK)
		return dberr(db, err, "integrity_check");
	if (sqlite3_step(s) == SQLITE_ROW &&
	    (t = sqlite3_column_text(s, 0)) != NULL)
		snprintf(out->integrity, sizeof(out->integrity), "%s", t);
	else
		rc = dberr(db, err, "integrity_check");
	sqlite3_finalize(s);
	return rc;
}

enum sg_rc
ra_store_check(const char *path, struct ra_store_check *out,
    struct sg_err *err)
{
	sqlite3		*db = NULL;
	long long	 n;
	enum sg_rc	 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_db(path, SQLITE_OPEN_READONLY, &db, err)) != SG_OK)
		return rc;
	if ((rc = integrity(db, out, err)) != SG_OK ||
	    (rc = count(db, "SELECT COUNT(*) FROM pragma_foreign_key_check",
	    &out->fk_violations, err)) != SG_OK ||
	    (rc = count(db, "SELECT COUNT(*) FROM sqlite_master WHERE "
	    "type = 'trigger' AND tbl_name = 'audit' AND name IN "
	    "('audit_no_update', 'audit_delete_pruned')", &n, err)) != SG_OK)
		goto out;
	out->audit_triggers = n == 2;
	if ((rc = count(db, "SELECT COUNT(*) FROM audit", &out->audit_rows,
	    err)) != SG_OK ||
	    (rc = count(db, "SELECT COALESCE(MIN(id), 0) FROM audit",
	    &out->audit_first, err)) != SG_OK ||
	    (rc = count(db, "SELECT COALESCE(MAX(id), 0) FROM audit",
	    &out->audit_last, err)) != SG_OK ||
	    (rc = count(db, "SELECT COUNT(*) FROM audit a JOIN audit b "
	    "ON b.id = a.id + 1 WHERE b.time < a.time", &out->audit_back,
	    err)) != SG_OK ||
	    (rc = count(db, "SELECT COUNT(*) FROM cert", &out->certs,
	    err)) != SG_OK ||
	    (rc = count(db, "SELECT COUNT(*) FROM txn", &out->txns, err)) !=
	    SG_OK)
		goto out;
out:
	sqlite3_close(db);
	return rc;
}

bool
ra_store_check_ok(const struct ra_store_check *c)
{
	/* Ids 1..n: INTEGER PRIMARY KEY gives max + 1, so a gap is a loss. */
	bool	audit = c->audit_rows == 0 ? c->audit_last == 0 :
	    c->audit_first == 1 && c->audit_last == c->audit_rows;

	return strcmp(c->integrity, "ok") == 0 && c->fk_violations == 0 &&
	    c->audit_triggers && audit;
}
