/*
 * ra/store/: where state lives. This header is the contract that every
 * database backend implements; only the backend's file includes its
 * database's header (sqlite3.h, libpq-fe.h).
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
enum sg_rc	 ra_store_open(const char *path, struct ra_store **,
		    struct sg_err *);
void		 ra_store_close(struct ra_store *);

/* Organization "org", or its department "dept"; scm_id 0 for none. */
enum sg_rc	 ra_store_org_add(struct ra_store *, const char *org,
		    const char *dept, int64_t scm_id, struct sg_err *);
enum sg_rc	 ra_store_org_list(struct ra_store *, const char *org,
		    bool depts, struct ra_org **, size_t *, struct sg_err *);
/* Record the upstream id of an organization, or of its department. */
enum sg_rc	 ra_store_org_set_scm(struct ra_store *, const char *org,
		    const char *dept, int64_t scm_id, struct sg_err *);

/* The synced profiles, by kind then name. */
enum sg_rc	 ra_store_profile_list(struct ra_store *, struct ra_profile **,
		    size_t *, struct sg_err *);
/* Replace every profile by these "n", in one transaction. */
enum sg_rc	 ra_store_profile_replace(struct ra_store *,
		    const struct ra_profile *, size_t n, struct sg_err *);

enum sg_rc	 ra_store_endpoint_add(struct ra_store *, struct ra_endpoint *,
		    struct sg_err *);
/* By name (by_uri false) or by URI extension. */
enum sg_rc	 ra_store_endpoint_get(struct ra_store *, const char *key,
		    bool by_uri, struct ra_endpoint *, struct sg_err *);
enum sg_rc	 ra_store_endpoint_by_id(struct ra_store *, int64_t id,
		    struct ra_endpoint *, struct sg_err *);
enum sg_rc	 ra_store_endpoint_list(struct ra_store *,
		    struct ra_endpoint **, size_t *, struct sg_err *);
enum sg_rc	 ra_store_endpoint_delete(struct ra_store *, const char *name,
		    bool force, struct sg_err *);
enum sg_rc	 ra_store_endpoint_update(struct ra_store *,
		    const struct ra_endpoint *, struct sg_err *);
enum sg_rc	 ra_store_delegate(struct ra_store *, const char *name,
		    bool general, const struct ra_deleg *, size_t,
		    struct sg_err *);
enum sg_rc	 ra_store_delegations(struct ra_store *, const char *name,
		    struct ra_deleg **, size_t *, struct sg_err *);

enum sg_rc	 ra_store_account_add(struct ra_store *, struct ra_account *,
		    const uint8_t hmac[32], struct sg_err *);
/* The account of an endpoint with this code HMAC. */
enum sg_rc	 ra_store_account_by_code(struct ra_store *,
		    int64_t endpoint_id, const uint8_t hmac[32],
		    struct ra_account *, struct sg_err *);
enum sg_rc	 ra_store_account_by_id(struct ra_store *, int64_t id,
		    struct ra_account *, struct sg_err *);
enum sg_rc	 ra_store_account_by_name(struct ra_store *,
		    const char *endpoint, const char *name, struct ra_account *,
		    struct sg_err *);
/* Write profile, term, disabled, manual of a->id; or only its code HMAC. */
enum sg_rc	 ra_store_account_update(struct ra_store *,
		    const struct ra_account *, const uint8_t *hmac,
		    struct sg_err *);
enum sg_rc	 ra_store_account_list(struct ra_store *, const char *endpoint,
		    struct ra_account **, size_t *, struct sg_err *);
enum sg_rc	 ra_store_account_delete(struct ra_store *,
		    const char *endpoint, const char *name, struct sg_err *);

/*
 * Insert a transaction in state NEW. SG_EEXIST when the same
 * (endpoint, transactionID) is already NEW or PENDING.
 */
enum sg_rc	 ra_store_txn_begin(struct ra_store *, struct ra_txn *,
		    struct sg_err *);
/* The latest transaction for (endpoint, transactionID). */
enum sg_rc	 ra_store_txn_find(struct ra_store *, int64_t endpoint_id,
		    const char *transid, struct ra_txn *, struct sg_err *);
/*
 * A transaction by id, with its sealed CSR while it is undecided
 * (*csr malloc'ed, NULL once decided; csr may be NULL).
 */
enum sg_rc	 ra_store_txn_get(struct ra_store *, int64_t id,
		    struct ra_txn *, uint8_t **csr, size_t *csr_len,
		    struct sg_err *);
/*
 * Record status, serial, order id, failinfo, reason and account of
 * txn->id, only if its status is still "from" (so that two writers
 * cannot both finish it); SG_ENOTFOUND if it was not.
 */
enum sg_rc	 ra_store_txn_update(struct ra_store *, const struct ra_txn *,
		    enum ra_req_status from, struct sg_err *);
/* Requests for scepctl; status < 0 for all. */
enum sg_rc	 ra_store_txn_list(struct ra_store *, int status,
		    struct ra_request **, size_t *, struct sg_err *);
/* Pending transactions that wait for an upstream order. */
enum sg_rc	 ra_store_txn_orders(struct ra_store *, struct ra_txn **,
		    size_t *, struct sg_err *);

enum sg_rc	 ra_store_cert_add(struct ra_store *,
		    const struct ra_cert_rec *, struct sg_err *);
/* A certificate by serial; *der (may be NULL) malloc'ed. */
enum sg_rc	 ra_store_cert_get(struct ra_store *, const char *serial,
		    struct ra_cert *, int64_t *account_id, uint8_t **der,
		    size_t *len, struct sg_err *);
enum sg_rc	 ra_store_cert_list(struct ra_store *, const char *endpoint,
		    int status, struct ra_cert **, size_t *, struct sg_err *);
/* Set status (and revocation time and reason) of a valid certificate. */
enum sg_rc	 ra_store_cert_set_status(struct ra_store *, const char *serial,
		    enum ra_cert_status, int reason, struct sg_err *);

/* The current CRL (*der malloc'ed) and its nextUpdate. */
enum sg_rc	 ra_store_crl_get(struct ra_store *, uint8_t **der,
		    size_t *len, int64_t *next_update, struct sg_err *);
/* Store a new CRL; *number gets the next CRL number to use first. */
enum sg_rc	 ra_store_crl_number(struct ra_store *, int64_t *number,
		    struct sg_err *);
enum sg_rc	 ra_store_crl_put(struct ra_store *, int64_t number,
		    const uint8_t *der, size_t len, int64_t next_update,
		    struct sg_err *);

enum sg_rc	 ra_store_audit_add(struct ra_store *, const struct ra_audit *,
		    struct sg_err *);
enum sg_rc	 ra_store_audit_list(struct ra_store *,
		    const struct ra_audit_filter *, struct ra_audit_rec **,
		    size_t *, struct sg_err *);

#endif /* RA_STORE_H */
