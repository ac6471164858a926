/*
 * Operations on the SQLite store as a file, for scepctl backup and
 * scepctl db check: an online copy and an integrity check. They open
 * their own connections by path and take no struct ra_store, so they run
 * beside a live scepgate (SQLite's WAL lets readers and one writer go on
 * together). On PostgreSQL, ra_store_dump runs pg_dump; db check
 * there is ra_store_invariants (ra_store.h).
 */
#ifndef RA_STORE_BACKUP_H
#define RA_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "sg.h"

/*
 * Copy the database "src" into the new file "dst" (created with mode
 * 0600, refused if it exists) with SQLite's online backup API, in one
 * read transaction: the copy is the database as of one moment, while
 * the server goes on writing. Both paths are borrowed. *pages (may be
 * NULL) gets the number of pages copied. On failure "dst" is removed.
 * SG_EEXIST, SG_EIO for the files, SG_ESTORE for SQLite.
 */
enum sg_rc	ra_store_backup(const char *src, const char *dst,
		    long long *pages, struct sg_err *err);

/*
 * PostgreSQL: pg_dump --format=custom of "uri" into the new file "dst"
 * (created 0600, refused if it exists; removed on failure): one
 * snapshot, taken by pg_dump while the instances go on. The password
 * comes as for scepgate (passfile= in the URI, PGPASSFILE), never on a
 * command line. *bytes (may be NULL): the dump's size. SG_EEXIST,
 * SG_EIO for the file, SG_ESTORE if pg_dump fails (its messages on our
 * stderr) or is not installed.
 */
enum sg_rc	ra_store_dump(const char *uri, const char *dst,
		    long long *bytes, struct sg_err *err);

/* What ra_store_check() found. */
struct ra_store_check {
	char		integrity[256];	/* "ok", or integrity_check's first row */
	long long	fk_violations;	/* rows of foreign_key_check */
	bool		audit_triggers;	/* the append-only triggers exist */
	long long	audit_rows;
	long long	audit_first;	/* lowest id, 0 if empty */
	long long	audit_last;	/* highest id */
	long long	audit_back;	/* records older than the one before */
	long long	certs;		/* issued certificates */
	long long	txns;		/* transactions */
};

/*
 * Check the database "path" (borrowed), read-only: PRAGMA
 * integrity_check and foreign_key_check, and the audit log's rule that
 * records are only ever appended: both triggers present and ids 1..n
 * without a gap (a gap is a deleted record; XXX the loss of the last
 * record leaves none: ids are max + 1, not AUTOINCREMENT, and a
 * schema change is the store's owner's). SG_OK when the checks ran,
 * whatever they found (see ra_store_check_ok); SG_ESTORE when they could
 * not.
 */
enum sg_rc	ra_store_check(const char *path, struct ra_store_check *out,
		    struct sg_err *err);
/* Did the checks pass? Older timestamps (clock steps) do not fail. */
bool		ra_store_check_ok(const struct ra_store_check *);

#endif /* RA_STORE_BACKUP_H */
