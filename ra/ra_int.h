/* Shared inside ra/ only. */
#ifndef RA_INT_H
#define RA_INT_H

#include <pthread.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "p7.h"
#include "ra.h"

/* ---- keys (ra_keys.c: the only holder of RA private keys) ---- */

/* One RA certificate with its key and its precomputed GetCACert bodies. */
struct ra_key {
	char		 id[64];
	X509		*cert;
	EVP_PKEY	*key;
	STACK_OF(X509)	*chain;		/* RA cert, then the CA chain */
	uint8_t		*cms;		/* GetCACert cms-chain body */
	size_t		 cms_len;
	uint8_t		*der;		/* GetCACert der body */
	size_t		 der_len;
	char		*pem;		/* GetCACert pem body */
	size_t		 pem_len;
};

struct ra_keys {
	struct ra_key	 ra[CONF_MAX_RA];
	size_t		 nra;
	uint8_t		 secret[64];	/* HMAC key for access codes */
	size_t		 secret_len;
	uint8_t		 seal_key[32];	/* derived: sealed CSRs */
};

/* Load RA keys and the secret; "ca_chain" (issuing CA first) is borrowed. */
enum sg_rc	 ra_keys_load(struct ra_keys *, const struct conf *,
		    STACK_OF(X509) *ca_chain, struct sg_err *);
void		 ra_keys_free(struct ra_keys *);
const struct ra_key *ra_keys_find(const struct ra_keys *, const char *id);
/*
 * Seal and open data with AES-256-GCM under a key derived from the
 * server secret: the signed CSR of a request waiting for approval holds
 * the access code, and the database never holds it in clear. *out is
 * malloc'ed.
 */
enum sg_rc	 ra_keys_seal(const struct ra_keys *, const uint8_t *in,
		    size_t len, uint8_t **out, size_t *outlen);
enum sg_rc	 ra_keys_unseal(const struct ra_keys *, const uint8_t *in,
		    size_t len, uint8_t **out, size_t *outlen);
/* HMAC-SHA256 of an access code under the server secret. */
enum sg_rc	 ra_keys_code_hmac(const struct ra_keys *, const char *code,
		    uint8_t out[32]);

/* Subject, issuer, key usage, serial and expiry of an RA certificate. */
void		 ra_keys_describe(const struct ra_key *, struct ra_racert *);

/* PEM helpers shared by keys, the local CA and init. */
enum sg_rc	 ra_pem_read_cert(const char *path, X509 **, struct sg_err *);
enum sg_rc	 ra_pem_read_certs(const char *path, STACK_OF(X509) *,
		    struct sg_err *);
/* Refuses a key file that others may read. */
enum sg_rc	 ra_pem_read_key(const char *path, EVP_PKEY **,
		    struct sg_err *);

/* ---- certificates (ra_x509.c) ---- */

enum ra_x509_profile {
	RA_X509_ROOT,		/* self-signed CA */
	RA_X509_RA,		/* RA: digitalSignature, keyEncipherment */
	RA_X509_DEVICE,		/* end entity: clientAuth, serverAuth */
	RA_X509_CLIENT,		/* end entity: clientAuth, emailProtection */
};

struct ra_x509_req {
	const X509_NAME	*subject;
	EVP_PKEY	*pubkey;
	X509		*issuer;	/* NULL: self-signed */
	EVP_PKEY	*issuer_key;
	time_t		 now;
	int		 days;
	enum ra_x509_profile profile;
	X509_REQ	*csr;		/* extensions to copy (SAN), or NULL */
};
enum sg_rc	 ra_x509_make(const struct ra_x509_req *, X509 **out,
		    struct sg_err *);
/* Uppercase hex serial of "x" into out (at least 80 bytes). */
void		 ra_x509_serial(const X509 *x, char *out, size_t outsz);

/* ---- upstream CAs (ra_up.c, ra_up_local.c, ra_up_scm.c) ---- */

struct ra_issue {
	const struct p7_csr	*csr;
	const struct ra_endpoint *ep;
	const struct ra_account	*acct;
	const char		*transid;
	time_t			 now;
};

/* A revoked certificate, for the CRL. */
struct ra_revoked {
	char		serial[80];
	int64_t		revoked_at;
	int		reason;
};

#define RA_ORDER_MAX	64

/*
 * An upstream's catalogue (3.1, 3.2 of the SCM notes): organizations
 * with their departments, and profiles. A name the store cannot hold
 * (too long) is "": the sync reports it as skipped.
 */
struct ra_cat_dept {
	int64_t			 scm_id;
	char			 name[RA_NAME_MAX];
};
struct ra_cat_org {
	int64_t			 scm_id;
	char			 name[RA_NAME_MAX];
	struct ra_cat_dept	*depts;
	size_t			 ndepts;
};
struct ra_catalog {
	struct ra_cat_org	*orgs;
	size_t			 norgs;
	struct ra_profile	*profiles;
	size_t			 nprofiles;
};
/* Free the arrays (not "cat" itself) and zero it; NULL is allowed. */
void		 ra_catalog_free(struct ra_catalog *cat);

struct ra_up;
struct ra_up_ops {
	const char	*name;
	/*
	 * Issue, or order, a certificate. SG_OK with *out set: issued
	 * (owned by the caller). SG_OK with *out NULL: ordered, the
	 * upstream's id is in "order" (RA_ORDER_MAX bytes), collect later.
	 * Otherwise refused: err carries the reason and the failInfo.
	 */
	enum sg_rc	(*issue)(struct ra_up *, const struct ra_issue *,
			    X509 **out, char *order, struct sg_err *);
	/* Collect an order: as issue(); *out NULL means "not yet". */
	enum sg_rc	(*collect)(struct ra_up *, const struct ra_endpoint *,
			    const char *order, X509 **out, struct sg_err *);
	/* Revoke at the upstream (the local CA has nothing to do). */
	enum sg_rc	(*revoke)(struct ra_up *, const char *serial,
			    int reason, struct sg_err *);
	/* Sign a CRL; SG_ENOTFOUND if this upstream publishes none here. */
	enum sg_rc	(*crl)(struct ra_up *, const struct ra_revoked *,
			    size_t n, int64_t number, time_t now,
			    uint8_t **der, size_t *len, struct sg_err *);
	/*
	 * Optional (NULL: no catalogue): fetch every organization and
	 * profile into *out, which the caller frees (ra_catalog_free).
	 */
	enum sg_rc	(*catalog)(struct ra_up *, struct ra_catalog *out,
			    struct sg_err *);
	void		(*free)(struct ra_up *);
};
struct ra_up {
	const struct ra_up_ops	*ops;
	STACK_OF(X509)		*chain;	/* issuing CA first, up to the root */
	void			*priv;
};
enum sg_rc	 ra_up_open(const struct conf *, struct ra_up **,
		    struct sg_err *);
void		 ra_up_free(struct ra_up *);
enum sg_rc	 ra_up_local_open(const struct conf *, struct ra_up **,
		    struct sg_err *);

/* ---- store (ra_store_sqlite.c alone includes sqlite3.h) ---- */

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

/* ---- policy (ra_policy.c) ---- */

/* A random access code of RA_CODE_LEN letters and digits. */
enum sg_rc	 ra_policy_gen_code(char *out, size_t outsz);
/* Access codes must be PrintableString letters and digits. */
bool		 ra_policy_code_ok(const char *code);
/*
 * The endpoint's CSR policy: key type and size (badAlg), and the
 * challengePassword string type when "challenge" (badRequest).
 */
enum sg_rc	 ra_policy_check_csr(const struct ra_endpoint *,
		    const struct p7_csr *, bool challenge, struct sg_err *);
/* Names: letters, digits, and " ._-@" ; 1..RA_NAME_MAX-1 bytes. */
bool		 ra_policy_name_ok(const char *name);

/* ---- lockout of wrong access codes (ra_throttle.c) ---- */

struct ra_throttle;
struct ra_throttle *ra_throttle_new(int max_fails, int seconds);
void		 ra_throttle_free(struct ra_throttle *);
/* Is "peer" locked out now? */
bool		 ra_throttle_locked(struct ra_throttle *, const char *peer,
		    time_t now);
/* Count a wrong code from "peer"; true if that locked it out. */
bool		 ra_throttle_fail(struct ra_throttle *, const char *peer,
		    time_t now);

/* ---- the RA ---- */

struct ra {
	const struct conf	*conf;
	struct ra_store		*store;
	struct ra_keys		 keys;
	struct ra_up		*up;
	char			 caps[256];	/* GetCACaps body */
	char			 actor[64];
	struct ra_throttle	*throttle;	/* wrong access codes */
	uint8_t			*next;		/* GetNextCACert content */
	size_t			 next_len;	/* (unsigned inner set) */
};

/* One PKIOperation being answered (ra.c, ra_enroll.c). */
struct ra_op {
	struct ra		*ra;
	struct ra_endpoint	 ep;
	const struct ra_key	*rk;		/* signs the reply */
	const struct ra_key	*rk_enc;	/* decrypts the request */
	struct p7_msg		*msg;
	const char		*peer;
	char			 tid[P7_TRANSID_MAX + 1];	/* for logs */
	char			 account[RA_NAME_MAX];
	/* The answer. */
	int			 status;
	int			 failinfo;
	const char		*failtext;	/* for the client */
	char			 reason[256];	/* for log and audit */
	STACK_OF(X509)		*certs;		/* SUCCESS */
	X509_CRL		*crl;		/* SUCCESS of GetCRL */
};

/* Audit an admin action on a request: its endpoint, account, transid. */
void		 ra_audit_txn(struct ra *, const char *action,
		    const struct ra_txn *, enum sg_rc, const struct sg_err *,
		    const char *details);

/* Sign a CRL of every revoked certificate (ra_cert.c); *der malloc'ed. */
enum sg_rc	 ra_cert_crl_sign(struct ra *, int64_t number, uint8_t **der,
		    size_t *len, struct sg_err *);

/* Message handlers (ra_enroll.c), after the envelope is open. */
void		 ra_op_pkcsreq(struct ra_op *, bool renewal);
void		 ra_op_certpoll(struct ra_op *);
void		 ra_op_getcert(struct ra_op *);
void		 ra_op_getcrl(struct ra_op *);
/* Set a FAILURE: "text" for the client, "fmt" for log and audit. */
void		 ra_op_fail(struct ra_op *, int failinfo, const char *text,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void		 ra_op_fail_err(struct ra_op *, const struct sg_err *);

/*
 * May an account (or an edit) of endpoint "ep" use "profile" for
 * "term_days" (ra_catalog.c)? Always SG_OK while no profile is synced
 * (the local CA takes free-text profiles). Then the profile, by name or
 * by upstream id, must be a synced one of the endpoint's kind that
 * allows the term: SG_ENOTFOUND or SG_EPOLICY with what to do.
 */
enum sg_rc	 ra_catalog_check(struct ra *, const struct ra_endpoint *ep,
		    const char *profile, int term_days, struct sg_err *);

/* Audit and log one admin action (ra_admin.c). */
void		 ra_audit_admin(struct ra *, const char *action,
		    const char *endpoint, const char *account,
		    enum sg_rc rc, const struct sg_err *err,
		    const char *details);

#endif /* RA_INT_H */
