/*
 * ra/store/: the driver under ra_store.c. ra_store.c holds the contract's
 * calls and their SQL, written once ("?N" placeholders, RETURNING id);
 * a driver (ra_store_sqlite.c, ra_store_pg.c) runs that SQL on its
 * database and owns its schema. Only ra/store/ includes this header.
 *
 * A call of ra_store.c is: lock; zero or more statements (begin before
 * the first write; op_begin/op_end around a call of several writes);
 * unlock, which returns only once the call's writes, and the writes it
 * read, are durable (docs/durability.md).
 */
#ifndef RA_STORE_DRV_H
#define RA_STORE_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg.h"

/* One parameter; ?1 is args[0]. Text and blobs are borrowed. */
/* ARG_NULL is a NULL text; ARG_NULL_INT a NULL integer. */
enum arg_type { ARG_NULL, ARG_INT, ARG_TEXT, ARG_BLOB, ARG_NULL_INT };
struct arg {
	enum arg_type	 type;
	int64_t		 i;
	const void	*p;
	size_t		 len;
};

/* What a step gave: a row, the end of the rows, or an error. */
enum drv_res { DRV_ROW, DRV_DONE, DRV_ERR };

struct ra_drv;

/* A result row, handed to the decoders; columns count from 0. */
struct row {
	const struct ra_drv	*drv;
	void			*s;	/* the driver's cursor */
	int			 i;	/* its row number */
};

/*
 * The operations, on the driver's handle "db". Statement "id" (below
 * "nstmt" of the open call) always has the text "sql": a driver may
 * prepare it once and keep it.
 */
struct ra_drv {
	const char	*name;		/* "sqlite", "postgresql" */
	void		(*close)(void *db);	/* NULL is allowed */
	/* Take and give back the database for one call; unlock returns rc,
	 * or SG_ESTORE (with "err") if rc was SG_OK and the commit failed. */
	void		(*lock)(void *db);
	enum sg_rc	(*unlock)(void *db, enum sg_rc rc,
			    struct sg_err *err);
	/* Before the first write of a call: a write transaction. */
	enum sg_rc	(*begin)(void *db, struct sg_err *err);
	/* Around the writes of a call of several: all or none (rc). */
	enum sg_rc	(*op_begin)(void *db, struct sg_err *err);
	enum sg_rc	(*op_end)(void *db, enum sg_rc rc,
			    struct sg_err *err);
	/* Bind "a" to statement "id" and take its first step into "r". */
	enum drv_res	(*step)(void *db, int id, const char *sql,
			    const struct arg *a, size_t n, struct row *r);
	enum drv_res	(*next)(struct row *r);
	/* Done with r's statement (after any step result). */
	void		(*done)(struct row *r);
	bool		(*col_null)(const struct row *r, int col);
	int64_t		(*col_int)(const struct row *r, int col);
	/* Text, "" for NULL; blobs, NULL if empty: borrowed until done. */
	const char	*(*col_str)(const struct row *r, int col);
	const void	*(*col_blob)(const struct row *r, int col,
			    size_t *len);
	/* Rows changed by the last write of this call. */
	int64_t		(*changes)(void *db);
	/* The last failure as SG_EEXIST (a unique key) or SG_ESTORE. */
	enum sg_rc	(*error)(void *db, struct sg_err *err,
			    const char *what);
	/*
	 * Bring the schema from version "from" to "to" (a few statements
	 * of the driver's dialect, in one transaction); SG_ESTORE if it
	 * cannot.
	 */
	enum sg_rc	(*upgrade)(void *db, int from, int to,
			    struct sg_err *err);
	/* After rows with their ids were copied into "table": number
	 * new rows above them. */
	enum sg_rc	(*renumber)(void *db, const char *table,
			    struct sg_err *err);
};

/*
 * Open a driver's database and create its schema (at the latest
 * version) if it is missing. "nstmt" bounds the statement ids. On SG_OK
 * *db belongs to the caller: drv->close(). SG_ESTORE if the database
 * fails or is unsafe (PostgreSQL with synchronous_commit off).
 */
enum sg_rc	 ra_drv_sqlite_open(const char *path, size_t nstmt, void **db,
		    struct sg_err *);
/* "app": the application_name of its connections (ra_store_instance). */
enum sg_rc	 ra_drv_pg_open(const char *uri, const char *app, size_t nstmt,
		    void **db, struct sg_err *);
extern const struct ra_drv ra_drv_sqlite;
extern const struct ra_drv ra_drv_pg;

/*
 * The schema version this build writes; older ones are upgraded at open
 * (each driver's upgrades[], idempotent steps), newer ones refused.
 * 1: the first; 2: index txn(status, updated) for the order collector;
 * 3: the endpoint's name policy columns, the failure counters, refusal
 * windows and audit prune (tables auth_fail, refusal, audit_prune; the
 * audit's DELETE trigger passes pruned ranges), the indexes of crash
 * recovery (txn_new, cert_txn); 4: the webhooks (tables ep_webhook,
 * webhook_outbox), API tokens and one-time challenges (tables
 * api_token, challenge; txn.challenge_id, cert.challenge_id and
 * cert.minted_by), txn.ordering (an order in flight, ra_store_txn_mark),
 * claims of pending orders (txn's claimed_by, claimed_until) and named
 * leases (table lease).
 */
#define RA_STORE_SCHEMA	4

#endif /* RA_STORE_DRV_H */
