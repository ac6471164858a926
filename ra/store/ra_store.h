/*
 * ra/store/: where state lives. This header is the contract; ra_store.c
 * implements it once over a driver (ra_store_drv.h) per database:
 * ra_store_sqlite.c, ra_store_pg.c (docs/postgresql.md). Only a
 * driver's file includes its database's header (sqlite3.h, libpq-fe.h),
 * and tests/unit/test_store.c checks every call below on whichever
 * backend SG_TEST_DATABASE names (ctest unit_test_store and
 * unit_test_store_pg).
 *
 * Rules for every call:
 * - Arguments are borrowed. Out-structs are filled only on SG_OK
 *   (*out arrays are malloc'ed, free() them; *n is their length).
 * - Return codes: SG_OK; SG_ENOTFOUND when the named object (or, for a
 *   conditional write, the row in the expected state) does not exist;
 *   SG_EEXIST when a unique key is taken; SG_ENOMEM; SG_ESTORE when the
 *   database failed; SG_ELIMIT where a call has a cap and says so.
 *   Nothing else: the store states facts, ra/ decides
 *   (delegation, the endpoint-delete guard) and words hints for scepctl.
 *   "err" may be NULL; its message names the object, never a secret.
 * - Each call is atomic: all its writes happen or none do.
 * - Durable: a call that wrote returns only after its commit is on
 *   stable storage, and a call that read returns only after the writes
 *   it saw are (docs/durability.md). The replies that follow may rely
 *   on that: an issued certificate, an order id, a revocation, a CRL
 *   number are never forgotten after the caller hears SG_OK.
 * - Several threads and several processes (scepgate, scepctl, more
 *   scepgate instances on PostgreSQL) may call at once: races between
 *   writers are decided by conditional writes, never by a lock in ra/.
 */
#ifndef RA_STORE_H
#define RA_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "p7.h"
#include "ra.h"


/* A transaction row; request rows for scepctl are struct ra_request. */
struct ra_txn {
	int64_t		 id;
	int64_t		 endpoint_id;
	char		 transid[P7_TRANSID_MAX + 1];
	int64_t		 account_id;	/* 0 if none */
	int		 msg_type;
	enum ra_req_status status;
	uint8_t		 key_id[32];
	char		 subject[512];
	char		 serial[80];	/* issued certificate, "" if none */
	char		 order_id[64];	/* upstream order, "" if none */
	char		 renews[80];	/* RenewalReq: the old serial, or "" */
	int		 failinfo;
	char		 reason[256];
	char		 peer[64];
	int64_t		 challenge_id;	/* admitted with it (issue 13); 0 */
	const uint8_t	*csr;		/* sealed CSR: borrowed, inserts only */
	size_t		 csr_len;
};

struct ra_cert_rec {
	char		 serial[80];
	int64_t		 endpoint_id;
	int64_t		 account_id;
	int64_t		 txn_id;
	char		 subject[512];
	int64_t		 not_before;
	int64_t		 not_after;
	const uint8_t	*der;		/* borrowed */
	size_t		 der_len;
};

struct ra_audit {
	const char	*actor;
	const char	*endpoint;
	const char	*account;
	const char	*transid;
	const char	*action;
	const char	*outcome;
	const char	*details;
};

struct ra_store;

/*
 * Open the store that "database" names (conf_database_parse(): a path,
 * sqlite:PATH or a postgresql:// URI), create the schema if it is
 * missing, upgrade an older one. A new SQLite file is mode 0600.
 * On SG_OK *out belongs to the caller: ra_store_close().
 * SG_ECONF for a bad value; SG_ESTORE when the database fails, its
 * schema is newer than this build's, or it is PostgreSQL with
 * synchronous_commit off.
 */
enum sg_rc	 ra_store_open(const char *database, struct ra_store **out,
		    struct sg_err *);
/*
 * ra_store_open() with flags: RA_STORE_NO_UPGRADE refuses an older
 * schema (SG_ESTORE, "run scepctl db upgrade") instead of upgrading it
 * (conf database_auto_upgrade = false).
 */
#define RA_STORE_NO_UPGRADE	0x1
enum sg_rc	 ra_store_open_flags(const char *database, int flags,
		    struct ra_store **out, struct sg_err *);
/*
 * Open "database", bring its schema to this build's version and close
 * it again (scepctl db upgrade): *from is the version found (for a
 * new database: this build's), *to the one it has now. Errors as ra_store_open().
 */
enum sg_rc	 ra_store_upgrade(const char *database, int *from, int *to,
		    struct sg_err *);
/*
 * This process's id among the instances on one database
 * ("host:pid:start", borrowed): the creator of its transactions and
 * the application_name of its PostgreSQL connections. A NEW
 * transaction whose creator has no connection left is stuck at once
 * (ra_store_txn_stuck); ra/ claims orders and leases with it.
 */
const char	*ra_store_instance(const struct ra_store *);
/* Close; NULL is allowed. No call may be running. */
void		 ra_store_close(struct ra_store *);
/* What ra_store_invariants() counted; each *_bad is a violation. */
struct ra_store_invariants {
	int64_t	schema;		/* meta.schema_version */
	int64_t	schema_want;	/* the one this build writes */
	int64_t	live_bad;	/* transactionIDs with two live rows */
	int64_t	crl_bad;	/* CRLs numbered below an older one */
	int64_t	cert_bad;	/* certificates of a missing transaction */
	int64_t	issued_bad;	/* ISSUED rows without their certificate */
	int64_t	serial_bad;	/* serials issued by two transactions */
	bool	audit_guard;	/* the audit's append-only triggers exist */
	int64_t	txns, certs, crls, audit;	/* rows */
};
/*
 * The invariants that several writers must keep, read in one call
 * (scepctl db check on PostgreSQL): schema version, one live
 * transaction per transactionID, CRL numbers increasing with time,
 * certificates referring to existing transactions and the reverse, no
 * serial issued twice, the audit's triggers; and the counts.
 */
enum sg_rc	 ra_store_invariants(struct ra_store *,
		    struct ra_store_invariants *, struct sg_err *);
/* Did they hold (schema is this build's, no *_bad, audit_guard)? */
bool		 ra_store_invariants_ok(const struct ra_store_invariants *);
/*
 * PostgreSQL: give role "role" (borrowed; an existing role) what a
 * running scepgate needs and no more (docs/postgresql.md): rows of the
 * admin and state tables, SELECT and INSERT on the audit and the CRLs,
 * the prune through the owner's view, no DDL; run by the schema's
 * owner. SG_ECONF on SQLite; SG_ESTORE (e.g. no such role).
 */
enum sg_rc	 ra_store_grant(struct ra_store *, const char *role,
		    struct sg_err *);
/*
 * Is the database there? One cheap read (the schema version), for
 * /healthz; on PostgreSQL a broken connection is made again first.
 * SG_ESTORE with the database's reason otherwise.
 */
enum sg_rc	 ra_store_ping(struct ra_store *, struct sg_err *);

/*
 * Organization "org" (dept NULL), or its department "dept"; scm_id 0 for
 * none. SG_EEXIST if it exists; SG_ENOTFOUND "no organization" for a
 * department of an unknown organization.
 */
enum sg_rc	 ra_store_org_add(struct ra_store *, const char *org,
		    const char *dept, int64_t scm_id, struct sg_err *);
/*
 * Organization "org" (dept NULL or ""), or its department: *out as in
 * a list row. SG_ENOTFOUND "no organization 'X'" or "no department 'D'
 * in organization 'X'": the message says which is missing.
 */
enum sg_rc	 ra_store_org_get(struct ra_store *, const char *org,
		    const char *dept, struct ra_org *out, struct sg_err *);
/*
 * Organizations by name (depts false; "org" ignored), or departments by
 * organization then name, of "org" only unless it is NULL.
 */
enum sg_rc	 ra_store_org_list(struct ra_store *, const char *org,
		    bool depts, struct ra_org **, size_t *, struct sg_err *);
/* Record the upstream id of an organization, or of its department;
 * SG_ENOTFOUND if there is none. */
enum sg_rc	 ra_store_org_set_scm(struct ra_store *, const char *org,
		    const char *dept, int64_t scm_id, struct sg_err *);

/* The synced profiles, by kind, name, then upstream id. */
enum sg_rc	 ra_store_profile_list(struct ra_store *, struct ra_profile **,
		    size_t *, struct sg_err *);
/*
 * Replace every profile by these "n", atomically: a reader sees the old
 * set or the new one. SG_EEXIST (and nothing changed) if (kind, scm_id)
 * repeats.
 */
enum sg_rc	 ra_store_profile_replace(struct ra_store *,
		    const struct ra_profile *, size_t n, struct sg_err *);

/*
 * Add "ep" (ep->id and ep->created are set on SG_OK). SG_EEXIST if the
 * name or the URI extension is taken. The store checks no policy.
 */
enum sg_rc	 ra_store_endpoint_add(struct ra_store *, struct ra_endpoint *,
		    struct sg_err *);
/* By name (by_uri false) or by URI extension; SG_ENOTFOUND "no endpoint
 * named 'X'" / "no endpoint with URI extension 'X'". */
enum sg_rc	 ra_store_endpoint_get(struct ra_store *, const char *key,
		    bool by_uri, struct ra_endpoint *, struct sg_err *);
enum sg_rc	 ra_store_endpoint_by_id(struct ra_store *, int64_t id,
		    struct ra_endpoint *, struct sg_err *);
/* Every endpoint, by name. */
enum sg_rc	 ra_store_endpoint_list(struct ra_store *,
		    struct ra_endpoint **, size_t *, struct sg_err *);
/*
 * How much hangs on endpoint "name": its accounts and its live (NEW or
 * PENDING) transactions. ra/ decides from this whether a delete needs
 * --force; the counts may change before the delete (an admin race that
 * --force would allow anyway). SG_ENOTFOUND "no endpoint named 'X'".
 */
enum sg_rc	 ra_store_endpoint_usage(struct ra_store *, const char *name,
		    size_t *accounts, size_t *pending, struct sg_err *);
/*
 * Delete endpoint "name" with its accounts and delegations, atomically;
 * transactions, certificates and audit records stay. Unconditional:
 * the guard is ra/'s. SG_ENOTFOUND "no endpoint named 'X'".
 */
enum sg_rc	 ra_store_endpoint_delete(struct ra_store *, const char *name,
		    struct sg_err *);
/*
 * Write every field of the endpoint named ep->name but its name, type,
 * id and creation time. SG_ENOTFOUND if there is none, SG_EEXIST if the
 * URI extension is another endpoint's.
 */
enum sg_rc	 ra_store_endpoint_update(struct ra_store *,
		    const struct ra_endpoint *, struct sg_err *);
/*
 * Replace the delegation of endpoint "name", atomically: general, or
 * customized to the "n" organizations/departments "d". SG_ENOTFOUND
 * (and nothing changed) if the endpoint or one of them does not exist,
 * with "no endpoint named", "no organization" or "no department" in
 * the message. Which accounts a delegation allows is ra/'s rule.
 */
enum sg_rc	 ra_store_delegate(struct ra_store *, const char *name,
		    bool general, const struct ra_deleg *, size_t,
		    struct sg_err *);
/* The customized delegation of "name" by organization, department;
 * none (n = 0) when it is general or the endpoint does not exist. */
enum sg_rc	 ra_store_delegations(struct ra_store *, const char *name,
		    struct ra_deleg **, size_t *, struct sg_err *);

/*
 * Add account "a" (a->endpoint, org, dept by name) with the HMAC of its
 * access code; a->id and a->created are set on SG_OK. SG_ENOTFOUND for
 * an unknown endpoint, organization or department (the message says
 * which); SG_EEXIST if the name, or the code HMAC, is taken on this
 * endpoint. Delegation is not checked here (ra_policy.c).
 */
enum sg_rc	 ra_store_account_add(struct ra_store *, struct ra_account *,
		    const uint8_t hmac[32], struct sg_err *);
/* The account of an endpoint with this code HMAC (one lookup, the
 * HMAC is unique per endpoint); SG_ENOTFOUND if none. */
enum sg_rc	 ra_store_account_by_code(struct ra_store *,
		    int64_t endpoint_id, const uint8_t hmac[32],
		    struct ra_account *, struct sg_err *);
enum sg_rc	 ra_store_account_by_id(struct ra_store *, int64_t id,
		    struct ra_account *, struct sg_err *);
/* SG_ENOTFOUND "no account 'A' on endpoint 'E'". */
enum sg_rc	 ra_store_account_by_name(struct ra_store *,
		    const char *endpoint, const char *name, struct ra_account *,
		    struct sg_err *);
/*
 * Write profile, term, disabled, manual of a->id; or, with "hmac", only
 * its code HMAC. SG_ENOTFOUND if a->id does not exist, SG_EEXIST if the
 * HMAC is another account's on the endpoint.
 */
enum sg_rc	 ra_store_account_update(struct ra_store *,
		    const struct ra_account *, const uint8_t *hmac,
		    struct sg_err *);
/* The accounts of "endpoint", by name (none for an unknown endpoint). */
enum sg_rc	 ra_store_account_list(struct ra_store *, const char *endpoint,
		    struct ra_account **, size_t *, struct sg_err *);
/* SG_ENOTFOUND "no account 'A' on endpoint 'E'". */
enum sg_rc	 ra_store_account_delete(struct ra_store *,
		    const char *endpoint, const char *name, struct sg_err *);

/*
 * Insert a transaction in state NEW (t->id and t->status set on SG_OK;
 * t->csr is stored sealed as given). At most one live (NEW or PENDING)
 * transaction exists per (endpoint, transactionID), enforced by the
 * database: SG_EEXIST when one is, whoever inserted it. A decided one
 * (ISSUED, REJECTED) does not block a new one if the caller saw it:
 * t->id on entry is the newest transaction of this transactionID that
 * the caller found (ra_store_txn_find; 0 if none), and a newer one
 * (another thread or instance began and decided it meanwhile) is
 * SG_EEXIST too, with nothing written.
 * With t->challenge_id, the same commit claims that challenge for the
 * new row: only if it is unused, unrevoked, unexpired and unclaimed
 * (or claimed by a transaction now REJECTED). SG_ENOTFOUND, and no row
 * inserted, when it is not: of two transactions (threads, processes)
 * presenting one challenge, one is inserted.
 */
enum sg_rc	 ra_store_txn_begin(struct ra_store *, struct ra_txn *,
		    struct sg_err *);
/* The latest transaction (highest id) for (endpoint, transactionID);
 * SG_ENOTFOUND if none. t->csr is not read. */
enum sg_rc	 ra_store_txn_find(struct ra_store *, int64_t endpoint_id,
		    const char *transid, struct ra_txn *, struct sg_err *);
/*
 * A transaction by id, with its sealed CSR while it is undecided
 * (*csr malloc'ed, NULL once decided; csr may be NULL).
 * SG_ENOTFOUND "no request N".
 */
enum sg_rc	 ra_store_txn_get(struct ra_store *, int64_t id,
		    struct ra_txn *, uint8_t **csr, size_t *csr_len,
		    struct sg_err *);
/*
 * Record status, serial, order id, failinfo, reason and account of
 * txn->id, only if its status is still "from" (compare-and-set, so that
 * of two writers, threads or processes, exactly one finishes it; the
 * other gets SG_ENOTFOUND and should re-read). Deciding (ISSUED,
 * REJECTED) drops the sealed CSR.
 */
enum sg_rc	 ra_store_txn_update(struct ra_store *, const struct ra_txn *,
		    enum ra_req_status from, struct sg_err *);
/* Requests for scepctl, by id; status < 0 for all. */
enum sg_rc	 ra_store_txn_list(struct ra_store *, int status,
		    struct ra_request **, size_t *, struct sg_err *);
/* PENDING transactions with an upstream order id, least recently
 * updated first, at most 1000. */
enum sg_rc	 ra_store_txn_orders(struct ra_store *, struct ra_txn **,
		    size_t *, struct sg_err *);
/*
 * Claim PENDING transactions with an order id for "holder" (an
 * instance id) until "until" (seconds since the epoch), at most "max",
 * least recently updated first: those with no claim, a claim that
 * expired before "now" (its holder died), or holder's own. Two
 * instances claiming at once get disjoint rows (PostgreSQL: FOR UPDATE
 * SKIP LOCKED; SQLite: one writer). The claimed rows in *out.
 */
enum sg_rc	 ra_store_txn_claim(struct ra_store *, const char *holder,
		    int64_t now, int64_t until, size_t max, struct ra_txn **,
		    size_t *, struct sg_err *);
/*
 * The named lease (a job that one instance runs at a time, e.g. an
 * Azure account's Intune revocations): taken for "holder" until
 * "until" if it is free, expired before "now" or holder's already;
 * *taken says whether it is holder's now.
 */
enum sg_rc	 ra_store_lease_take(struct ra_store *, const char *name,
		    const char *holder, int64_t now, int64_t until,
		    bool *taken, struct sg_err *);

/*
 * Finish transaction "t" as issued, in one database transaction (one
 * commit; issue 10, 17): write t's status, serial, order id, failinfo,
 * reason and account as ra_store_txn_update() does, only if its status
 * is still "from"; record certificate "c" (NULL when it is recorded
 * already, as recovery finds it); mark the certificate t->renews (if
 * not "") SUPERSEDED when it is still VALID (revoked or superseded
 * already is not a failure); mark the challenge t->challenge_id (if
 * not 0) used by c's serial, only if it is unused and claimed by t;
 * append audit record "au" (NULL: none; timed now) and, for "c" on an
 * endpoint with a notify_webhook, its "issued" outbox event. All of it
 * happens or none: SG_ENOTFOUND (nothing written) if t is no longer in
 * state "from" or its challenge is used, SG_EEXIST if c's serial is
 * known, SG_ESTORE. The certificate row takes t's challenge id and its
 * minter. A certificate is therefore never recorded
 * without its transaction saying ISSUED, nor the reverse.
 */
enum sg_rc	 ra_store_txn_issued(struct ra_store *, const struct ra_txn *t,
		    const struct ra_cert_rec *c, const struct ra_audit *au,
		    enum ra_req_status from, struct sg_err *);
/*
 * NEW transactions last updated before "before" (seconds since the
 * epoch), or on PostgreSQL created by another instance that has no
 * connection to the database left (it died), least recently updated
 * first, at most 1000: left by a crash or a failed write (ra_txn.c
 * recovers them). In each, "serial" is the
 * certificate recorded for it (its txn_id), "" if there is none.
 */
enum sg_rc	 ra_store_txn_stuck(struct ra_store *, int64_t before,
		    struct ra_txn **, size_t *, struct sg_err *);
/*
 * The gauges' counts (struct ra_gauges, ra.h) in one read: lock keys
 * (LIKE "lock_like") of a source counted at or after "lock_since";
 * endpoints with at least "ceiling" (0: never) wrong codes (key "*")
 * at or after "ceiling_since"; NEW and PENDING transactions; VALID
 * certificates with notAfter at or after "now" (and of those, before
 * "expiring_before"), REVOKED ones. SG_OK or SG_ESTORE.
 */
struct ra_gauge_query {
	const char	*lock_like;
	int64_t		 lock_since;
	int64_t		 ceiling_since;
	int64_t		 ceiling;
	int64_t		 now;
	int64_t		 expiring_before;
};
enum sg_rc	 ra_store_gauges(struct ra_store *,
		    const struct ra_gauge_query *, struct ra_gauges *,
		    struct sg_err *);
/*
 * The marker of an order in flight (issue 10 s.6; schema 4, column
 * txn.ordering), for an upstream whose answer may be lost, so that no
 * restart orders twice. "order" NULL: transaction t->id is about to
 * send its order (SG_ENOTFOUND if there is no such row). Otherwise the
 * upstream has told: the marker goes from every transaction of
 * (t->endpoint_id, t->transid), and a non-empty "order" becomes
 * t->id's order id in the same write. SG_ESTORE if it cannot write.
 */
enum sg_rc	 ra_store_txn_mark(struct ra_store *, const struct ra_txn *t,
		    const char *order, struct sg_err *);
/*
 * *marked: a transaction of (endpoint, transactionID), this one or an
 * earlier attempt, carries the marker: its order may exist upstream
 * without being recorded here. SG_OK or SG_ESTORE.
 */
enum sg_rc	 ra_store_txn_marked(struct ra_store *, int64_t endpoint_id,
		    const char *transid, bool *marked, struct sg_err *);

/* Record an issued certificate (status VALID); SG_EEXIST if the serial
 * is known. */
enum sg_rc	 ra_store_cert_add(struct ra_store *,
		    const struct ra_cert_rec *, struct sg_err *);
/* A certificate by serial; c, account_id, der may each be NULL; *der
 * malloc'ed. SG_ENOTFOUND "no certificate with serial S". */
enum sg_rc	 ra_store_cert_get(struct ra_store *, const char *serial,
		    struct ra_cert *, int64_t *account_id, uint8_t **der,
		    size_t *len, struct sg_err *);
/* By notBefore then serial; "endpoint" NULL or "" for all, status < 0
 * for every status. */
enum sg_rc	 ra_store_cert_list(struct ra_store *, const char *endpoint,
		    int status, struct ra_cert **, size_t *, struct sg_err *);
/*
 * Conditional status change: a VALID certificate becomes REVOKED (with
 * the time and "reason") or SUPERSEDED; a SUPERSEDED one may still be
 * REVOKED. A revocation writes its "revoked" outbox event in the same
 * commit. SG_ENOTFOUND "no valid certificate with serial S" otherwise
 * (unknown, or already revoked: revoking twice is refused).
 */
enum sg_rc	 ra_store_cert_set_status(struct ra_store *, const char *serial,
		    enum ra_cert_status, int reason, struct sg_err *);

/* The CRL with the highest number (*der malloc'ed) and its nextUpdate;
 * SG_ENOTFOUND "no CRL yet". */
enum sg_rc	 ra_store_crl_get(struct ra_store *, uint8_t **der,
		    size_t *len, int64_t *next_update, struct sg_err *);
/* The next CRL number: one above the highest stored (1 at first). */
enum sg_rc	 ra_store_crl_number(struct ra_store *, int64_t *number,
		    struct sg_err *);
/*
 * Store a signed CRL. CRL numbers strictly increase (RFC 5280 5.2.3):
 * SG_EEXIST if "number" is not above every stored one, e.g. when two
 * writers signed with the same ra_store_crl_number(); the loser should
 * not publish its CRL.
 */
enum sg_rc	 ra_store_crl_put(struct ra_store *, int64_t number,
		    const uint8_t *der, size_t len, int64_t next_update,
		    struct sg_err *);

/*
 * Append an audit record, timed now. The audit log is append-only: no
 * call but ra_store_audit_prune() removes a record, and the schema
 * refuses UPDATE of audit rows, and DELETE outside that call, from any
 * client (triggers, in both schemas).
 */
enum sg_rc	 ra_store_audit_add(struct ra_store *, const struct ra_audit *,
		    struct sg_err *);
/* Records matching "f" (empty strings and 0 times match all), by id. */
enum sg_rc	 ra_store_audit_list(struct ra_store *,
		    const struct ra_audit_filter *, struct ra_audit_rec **,
		    size_t *, struct sg_err *);

/*
 * Failure counters (the lockout of wrong access codes, ra_throttle.c;
 * docs/lockout.md). Events are counted per (endpoint, key) per second
 * of "now"; the keys are ra/'s words (a source prefix, "*" for the
 * whole endpoint, a lock marker). Every process on the database sees
 * the same counts. Rows go away by time only (ra_store_fail_add's
 * "expire_before"), never to make room: no count is forgotten early.
 */
#define RA_FAIL_KEYS	3
struct ra_fail_query {
	const char	*key;		/* NULL: this slot is unused */
	int64_t		 since;	/* count events from this on */
};
/*
 * counts[i]: the events of endpoint "endpoint_id" under q[i].key at or
 * after q[i].since (0 for an unused slot); n <= RA_FAIL_KEYS. One
 * indexed read, no write.
 */
enum sg_rc	 ra_store_fail_count(struct ra_store *, int64_t endpoint_id,
		    const struct ra_fail_query *q, size_t n, int64_t *counts,
		    struct sg_err *);
/*
 * Count one event at "now" under each of the "n" keys (n <=
 * RA_FAIL_KEYS) of "endpoint_id", and delete every counter row (of any
 * endpoint and key) older than "expire_before", atomically.
 */
enum sg_rc	 ra_store_fail_add(struct ra_store *, int64_t endpoint_id,
		    const char *const *keys, size_t n, int64_t now,
		    int64_t expire_before, struct sg_err *);

/*
 * Refused requests that made no transaction (issue 10 s.5), counted
 * instead of audited one by one: a window per (source, endpoint,
 * reason) opens at its first refusal, which the caller audits in full;
 * the refusals after it in the window are only counted. One atomic
 * call:
 * 1. Every window opened at or before now - "window" is closed: if it
 *    counted any, one audit record is appended (actor "device@SOURCE",
 *    action "refused", outcome "failure", details "N further refused
 *    requests from SOURCE within W s: REASON"), and the window goes.
 * 2. With "r" (NULL: step 1 only), its window counts one more refusal
 *    (*first false) or opens now (*first true: audit this one).
 * The audit stays append-only: counts live in their own table and
 * reach the audit as new records only.
 */
struct ra_refusal {
	const char	*source;	/* "192.0.2.0/24" */
	const char	*endpoint;	/* endpoint name */
	const char	*reason;	/* a fixed text: "bad access code" */
};
enum sg_rc	 ra_store_refusal_add(struct ra_store *,
		    const struct ra_refusal *r, int64_t now, int64_t window,
		    bool *first, struct sg_err *);

/*
 * The one removal of audit records (scepctl audit prune): delete the
 * records timed before "before", only if they are exactly "count"
 * records with ids "first" to "last" (what the caller exported and
 * checked); SG_ENOTFOUND otherwise, and nothing changes. Atomically,
 * "rec" is appended first (it is newer, so it stays and ids never go
 * back), then a row in audit_prune marks the id range, which is what
 * lets the schema's delete trigger pass, then the records and the
 * marker go. Any other DELETE of an audit row is refused by the
 * database.
 */
enum sg_rc	 ra_store_audit_prune(struct ra_store *, int64_t before,
		    int64_t first, int64_t last, int64_t count,
		    const struct ra_audit *rec, struct sg_err *);

/*
 * The webhook outbox (docs/webhooks.md): notification events waiting
 * for delivery to their endpoint's notify_webhook. An event is written
 * only while its endpoint has a notify_webhook: "issued" in the commit
 * of ra_store_txn_issued (a certificate), "revoked" in the commit of
 * ra_store_cert_set_status (REVOKED), "refused" by ra_store_event_add.
 * Its event_id is unique ("issued-SERIAL", "revoked-SERIAL",
 * "refused-RANDOM") and stays the same on every delivery attempt.
 */
struct ra_event {
	int64_t		id;
	char		event_id[96];
	int64_t		endpoint_id;
	char		kind[16];	/* issued, refused, revoked */
	char		serial[80];
	char		subject[512];
	int64_t		not_after;
	char		transid[130];
	char		reason[256];	/* refused: why */
	int		code;		/* revoked: the CRL reason code */
	int64_t		created;
	int		attempts;	/* deliveries tried */
	int64_t		next_try;
};
/* Add "ev" (a refusal) if endpoint ev->endpoint_id has a notify URL. */
enum sg_rc	 ra_store_event_add(struct ra_store *,
		    const struct ra_event *ev, struct sg_err *);
/* At most "max" events due at "now" (next_try <= now), oldest first. */
enum sg_rc	 ra_store_event_due(struct ra_store *, int64_t now, size_t max,
		    struct ra_event **out, size_t *n, struct sg_err *);
/*
 * Take event "ev" for one delivery attempt: attempts + 1 and next_try
 * "next", if its next_try is still ev->next_try (another instance did
 * not take it first: SG_ENOTFOUND then).
 */
enum sg_rc	 ra_store_event_claim(struct ra_store *,
		    const struct ra_event *ev, int64_t next, struct sg_err *);
/* Delivered: the event goes. */
enum sg_rc	 ra_store_event_done(struct ra_store *, int64_t id,
		    struct sg_err *);
/* Not delivered: try again at "next"; "why" is kept for the admin. */
enum sg_rc	 ra_store_event_retry(struct ra_store *, int64_t id,
		    int64_t next, const char *why, struct sg_err *);

/*
 * API tokens (issue 13; ra_token.c). A token is stored as the HMAC of
 * its text only. Names are unique for ever (a revoked token keeps its
 * row); SG_EEXIST for a name or an HMAC in use. tok->id and
 * tok->created (given) on SG_OK.
 */
enum sg_rc	 ra_store_token_add(struct ra_store *, struct ra_token *tok,
		    const uint8_t hmac[32], struct sg_err *);
/* Every token, by name, revoked ones too. */
enum sg_rc	 ra_store_token_list(struct ra_store *, struct ra_token **,
		    size_t *, struct sg_err *);
/*
 * The token with this HMAC (one indexed lookup) into *tok, and the
 * stored HMAC into "stored" for the caller's constant-time compare.
 * SG_ENOTFOUND if none (revoked ones are found: tok->revoked).
 */
enum sg_rc	 ra_store_token_by_hmac(struct ra_store *,
		    const uint8_t hmac[32], struct ra_token *tok,
		    uint8_t stored[32], struct sg_err *);
/* Record a use of token "id" at "now". SG_ENOTFOUND if it is gone. */
enum sg_rc	 ra_store_token_used(struct ra_store *, int64_t id,
		    int64_t now, struct sg_err *);
/* Revoke the live token "name" at "now": SG_ENOTFOUND "no live token
 * 'N'" if there is none (unknown or revoked already). */
enum sg_rc	 ra_store_token_revoke(struct ra_store *, const char *name,
		    int64_t now, struct sg_err *);

/*
 * One-time challenges (issue 13; ra_challenge.c), stored as the HMAC
 * of their code only. A challenge is outstanding while it is unused,
 * unrevoked and unexpired; it is claimed by the transaction that
 * presents it (ra_store_txn_begin) and used by that transaction's
 * certificate (ra_store_txn_issued). Lists give c.status as of "now".
 */
struct ra_chal_rec {
	struct ra_challenge	 c;
	int64_t			 endpoint_id;
	int64_t			 account_id;
	int64_t			 txn_id;	/* the claim; 0 none */
};
/*
 * Add r (endpoint_id, account_id, c.minted_by, c.cn, c.san, c.created,
 * c.expires) with its code HMAC, only while endpoint r->endpoint_id has
 * fewer than "cap" outstanding challenges at c.created: SG_ELIMIT
 * otherwise (two writers racing on PostgreSQL may pass the cap by
 * one each). r->c.id on SG_OK; SG_EEXIST if the HMAC is taken.
 */
enum sg_rc	 ra_store_challenge_add(struct ra_store *,
		    struct ra_chal_rec *r, const uint8_t hmac[32],
		    int64_t cap, struct sg_err *);
/* The challenge of "endpoint_id" with this code HMAC; SG_ENOTFOUND. */
enum sg_rc	 ra_store_challenge_by_code(struct ra_store *,
		    int64_t endpoint_id, const uint8_t hmac[32], int64_t now,
		    struct ra_chal_rec *, struct sg_err *);
/* By id; SG_ENOTFOUND "no challenge N". */
enum sg_rc	 ra_store_challenge_get(struct ra_store *, int64_t id,
		    int64_t now, struct ra_chal_rec *, struct sg_err *);
/*
 * Challenges of "endpoint" (NULL or "": all) by id; "all" false: the
 * outstanding ones only.
 */
enum sg_rc	 ra_store_challenge_list(struct ra_store *,
		    const char *endpoint, bool all, int64_t now,
		    struct ra_challenge **, size_t *, struct sg_err *);
/* Revoke an unused, unrevoked challenge; SG_ENOTFOUND "no outstanding
 * challenge N" otherwise. A claim already taken may still issue. */
enum sg_rc	 ra_store_challenge_revoke(struct ra_store *, int64_t id,
		    int64_t now, struct sg_err *);
/*
 * Delete the unused challenges that expired before "before", unless a
 * live (NEW or PENDING) transaction holds their claim; *n how many.
 */
enum sg_rc	 ra_store_challenge_purge(struct ra_store *, int64_t before,
		    int64_t *n, struct sg_err *);

/* Rows of one table copied by ra_store_copy(). */
#define RA_STORE_TABLES	17
struct ra_store_copied {
	const char	*table;
	int64_t		 rows;
};

/*
 * Copy every row of every table, the audit log included and ids kept,
 * from "from" into "to", all in one transaction of "to"; then compare
 * the counts of each table on both sides; out[] says what was copied.
 * "from" should be idle (scepgate stopped). SG_EEXIST (and nothing
 * copied) if "to" has rows; SG_ESTORE if a count differs or the
 * database fails; SG_ECONF for PostgreSQL to PostgreSQL (pg_dump).
 */
enum sg_rc	 ra_store_copy(struct ra_store *from, struct ra_store *to,
		    struct ra_store_copied out[RA_STORE_TABLES],
		    struct sg_err *);

#endif /* RA_STORE_H */
