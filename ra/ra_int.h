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
#include "ra_store.h"
#include "ra_up.h"

/* ---- keys (ra_keys.c: the only holder of RA private keys) ---- */

/* One RA certificate with its key (its GetCACert bodies: ra.c). */
struct ra_key {
	char		 id[64];
	X509		*cert;
	EVP_PKEY	*key;
	STACK_OF(X509)	*chain;		/* RA cert, then the CA chain */
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
/*
 * A private key on a PKCS#11 token, "uri" an RFC 7512 pkcs11: URI
 * (ra_pkcs11.c: pin-source=file:PATH, module-path=PATH). *out is the
 * caller's (EVP_PKEY_free); SG_ECONF when it cannot be loaded.
 */
enum sg_rc	 ra_pkcs11_key(const char *uri, EVP_PKEY **,
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
/*
 * The subject the local CA issues for request "csr" (borrowed) on "ep"
 * (docs/names.md): the request's, or, unless ep->subject_from_csr, the
 * request's without O and OU, with the organization and department of
 * "with" (the account's) before the first CN. *out is the caller's
 * (X509_NAME_free). SG_ENOMEM, SG_EINTERNAL.
 */
enum sg_rc	 ra_x509_subject(const struct ra_endpoint *ep,
		    const struct ra_issuance *with, X509_REQ *csr,
		    X509_NAME **out, struct sg_err *);
/* Uppercase hex serial of "x" into out (at least 80 bytes). */
void		 ra_x509_serial(const X509 *x, char *out, size_t outsz);

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

/* ---- lockout of wrong access codes (ra_throttle.c, docs/lockout.md) ---- */

/* Why an access code is refused before it is checked. */
enum ra_lock {
	RA_LOCK_NONE,
	RA_LOCK_SOURCE,		/* the source's prefix is locked out */
	RA_LOCK_ENDPOINT,	/* limits.lockout_ceiling reached */
};
/*
 * The source that "peer" counts as: its IPv4 /limits.lockout_prefix4 or
 * IPv6 /limits.lockout_prefix6 ("192.0.2.0/24", "2001:db8::/64"; an
 * IPv4-mapped IPv6 address counts as IPv4), or "peer" itself when it is
 * no address.
 */
void		 ra_throttle_source(const struct conf *, const char *peer,
		    char *out, size_t outsz);
/*
 * Is "peer" locked out of endpoint "ep_id" at "now"? One store read.
 * SG_OK with *lock; a store error (SG_ESTORE, SG_ENOMEM) in "err".
 */
enum sg_rc	 ra_throttle_check(struct ra_store *, const struct conf *,
		    int64_t ep_id, const char *peer, time_t now,
		    enum ra_lock *lock, struct sg_err *err);
/*
 * Count a wrong code of "peer" on "ep_id" at "now" (for its source and
 * for the endpoint's ceiling); *locked when it was the
 * limits.lockout_failures-th within limits.lockout_seconds, which locks
 * the source out for limits.lockout_seconds. A store error otherwise.
 */
enum sg_rc	 ra_throttle_fail(struct ra_store *, const struct conf *,
		    int64_t ep_id, const char *peer, time_t now,
		    bool *locked, struct sg_err *err);
/*
 * jansson's allocator from now on (ra_intune.c; once per process, at
 * the open of a client whose JSON carries a CSR with its challenge:
 * Intune, SCM): malloc, and a free that wipes the whole block
 * (malloc_usable_size: no header, so blocks jansson got before stay
 * valid) before it releases it, so no copy of a request body (jansson's
 * strings, json_dumps' buffers) stays readable in freed memory.
 */
void		 ra_json_wipe_install(void);
/* That free's wipe, then release(p): free, or a test's check. */
void		 ra_json_wipe_then(void *p, void (*release)(void *));

/* The lockout part of the gauges' query (ra_gauges_get) at "now". */
void		 ra_throttle_gauge_query(const struct conf *, time_t now,
		    struct ra_gauge_query *q);

/* ---- the RA ---- */

/* The GetCACert bodies of one RA certificate, built once (ra.c). */
struct ra_cacert {
	uint8_t		*cms;		/* cms-chain: RA, then CA chain */
	size_t		 cms_len;
	uint8_t		*der;		/* der: the RA certificate */
	size_t		 der_len;
	char		*pem;		/* pem: the same, as PEM text */
	size_t		 pem_len;
};

struct ra;
struct ra_http;
/* The bodies of "rk", one of ra->keys.ra (borrowed, live with the RA). */
const struct ra_cacert *ra_cacert_of(const struct ra *,
		    const struct ra_key *rk);

struct ra {
	const struct conf	*conf;
	struct ra_store		*store;
	struct ra_keys		 keys;
	struct ra_cacert	 cacert[CONF_MAX_RA];	/* of keys.ra[i] */
	struct ra_up		*up;
	char			 caps[256];	/* GetCACaps body */
	uint8_t			*next_ca_p7;	/* GetNextCACert content */
	size_t			 next_ca_p7_len; /* (unsigned inner set) */
	/* One Intune client per conf->azure[i], same order. */
	struct ra_intune	*intune[CONF_MAX_AZURE];
	size_t			 nintune;
	/* When each account's revocations are next due (collector only). */
	time_t			 intune_rev_due[CONF_MAX_AZURE];
	/* The endpoints' webhooks (ra_webhook.c). */
	struct ra_http		*webhook;
	time_t			 chal_purge_due;	/* collector only */
	/* Seconds a collector's claim on an order lasts: two runs and
	 * some, so the holder keeps its orders from run to run and
	 * another instance takes them over soon after it died. */
	int64_t			 claim_lease;
};

/* One PKIOperation being answered (ra.c and the handlers below). */
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
	int			 status;	/* P7_STATUS_*, RA_OP_INTERNAL */
	/*
	 * The one failure channel: rc, failInfo and what happened (for
	 * log and audit; on SUCCESS and PENDING too). Set through
	 * ra_op_fail*() and ra_op_internal() only.
	 */
	struct sg_err		 err;
	const char		*failtext;	/* for the client */
	STACK_OF(X509)		*certs;		/* SUCCESS */
	bool			 audited;	/* in the issuance's commit */
	int64_t			 challenge_id;	/* admitted by it; 0 */
	/* The newest transaction of this transactionID that
	 * ra_txn_resume found (0: none), for ra_store_txn_begin. */
	int64_t			 txn_seen;
	X509_CRL		*crl;		/* SUCCESS of GetCRL */
};

/*
 * op->status of an operation that failed inside the server (the store,
 * memory, a bug): no CertRep, ra_pkiop() returns op->err.rc (HTTP 500).
 * A device is never told that its request was bad when it was not.
 */
#define RA_OP_INTERNAL	(-1)

/*
 * The files of ra/ below call each other only downwards (no circles;
 * scripts/check-ra-cycles.sh checks): ra.c dispatches to ra_enroll.c
 * and ra_cert.c; ra_enroll.c uses ra_auth.c and ra_txn.c; all of them
 * use ra_reply.c, ra_audit.c and ra_names.c, which call only the store.
 */

/* ---- the CertRep being built (ra_reply.c) ---- */

/*
 * Set a FAILURE refused by policy (SG_EPOLICY) with "failinfo": "text"
 * for the client, "fmt" for log and audit.
 */
/* The audit actor of this thread's admin calls (ra_set_actor). */
const char	*ra_actor(void);
void		 ra_op_fail(struct ra_op *, int failinfo, const char *text,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * Set a FAILURE from "e": its rc, its failInfo (sg_failinfo() picks the
 * default), and a fixed text for the client.
 */
void		 ra_op_fail_err(struct ra_op *, const struct sg_err *e);
/*
 * The operation failed inside the server: "e" (its rc SG_ESTORE,
 * SG_EINTERNAL or SG_ENOMEM) becomes op->err, op->status
 * RA_OP_INTERNAL. "what" prefixes the message ("transaction lookup").
 */
void		 ra_op_internal(struct ra_op *, const char *what,
		    const struct sg_err *e);
/* Note what happened on SUCCESS or PENDING, for log and audit. */
void		 ra_op_note(struct ra_op *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/*
 * Set SUCCESS with certificate "x" (borrowed; the reply takes a
 * reference), the certificate "serial", then the CA chain if the
 * endpoint's GetCert format says so.
 */
void		 ra_op_deliver(struct ra_op *, X509 *x, const char *serial);
/*
 * Sign (and on SUCCESS encrypt) the operation's answer into r->body
 * (malloc'ed). A SUCCESS that cannot be encrypted is sent as FAILURE.
 */
enum sg_rc	 ra_reply_build(struct ra_op *, struct ra_reply *r,
		    struct sg_err *);

/* ---- message handlers, after the envelope is open ---- */

/* PKCSReq and RenewalReq (ra_enroll.c, RFC 8894 3.3.1). */
void		 ra_op_pkcsreq(struct ra_op *, bool renewal);
/* CertPoll (ra_enroll.c, 3.3.3). */
void		 ra_op_certpoll(struct ra_op *);
/* GetCert and GetCRL (ra_cert.c, 3.3.4, 3.3.5). */
void		 ra_op_getcert(struct ra_op *);
void		 ra_op_getcrl(struct ra_op *);

/* ---- who asks (ra_auth.c); false: op holds the answer ---- */

/* (a FAILURE, or RA_OP_INTERNAL when the store failed) */

/* The access code's account ("acct"), under the lockout of wrong codes. */
bool		 ra_auth_code(struct ra_op *, const struct p7_csr *,
		    struct ra_account *acct);
/*
 * A renewal's signer (RFC 8894 2.3, 3.3.1.2): a valid, unrevoked
 * certificate this endpoint issued, in the renewal window; its account
 * into "acct", its serial into "old". "required" (a RenewalReq): a
 * signer that cannot renew is a FAILURE. Not required (a PKCSReq):
 * false with op untouched and "old" empty when the signer cannot renew
 * (the request then needs an access code), unless op->status is
 * RA_OP_INTERNAL (the store failed).
 */
bool		 ra_auth_renewal(struct ra_op *, struct ra_account *acct,
		    char *old, size_t oldsz, bool required);
/* Does a CertPoll's signer own transaction "t" (its key, or renewal)? */
bool		 ra_auth_poll_signer(struct ra_op *, const struct ra_txn *t);

/* How a request's signer stands to an earlier transaction "t". */
enum ra_signer {
	RA_SIGNER_OWNER,	/* t's key, or the certificate t renews */
	RA_SIGNER_ISSUED,	/* the certificate t issued: a renewal */
	RA_SIGNER_OTHER,	/* another key: not t's requester */
	RA_SIGNER_ERROR,	/* op holds an internal error */
};
/*
 * The signer of op against transaction "t" (issue 10: a resumed
 * transaction must be signed by the key of its request).
 */
enum ra_signer	 ra_auth_txn_signer(struct ra_op *,
		    const struct ra_txn *t);

/* ---- Intune endpoints (ra_intune_flow.c, docs/intune.md) ---- */

/* Is "ep" a device-intune or client-intune endpoint? */
bool		 ra_ep_intune(const struct ra_endpoint *ep);
/*
 * Admit a PKCSReq on an Intune endpoint instead of an access code: the
 * endpoint's CSR policy, then validateRequest with the CSR exactly as
 * decrypted. False: op holds the FAILURE (badRequest, Intune's code in
 * failInfoText and the audit); nothing was sent but validateRequest.
 */
bool		 ra_intune_admit(struct ra_op *, const struct p7_csr *);
/*
 * Issue for an admitted Intune request "t": the endpoint's settings,
 * the CSR's ValidityPeriod clamped to the term, a wait for an
 * asynchronous upstream within azure.issue_wait (no PENDING: FAILURE
 * when it runs out), then successNotification (its failure withholds
 * the certificate unless wait_for_success_notification is false) or
 * failureNotification. "t" holds the outcome and is written back; *out
 * the certificate to deliver (caller frees) or NULL. Returns as
 * ra_txn_issue().
 */
enum sg_rc	 ra_intune_issue(struct ra_op *, const struct p7_csr *,
		    struct ra_txn *t, X509 **out, struct sg_err *);

/* ---- API tokens and one-time challenges (ra_token.c, ra_challenge.c) ---- */

/*
 * HMAC-SHA256 under the server secret of "purpose" then "secret" (a
 * token, a challenge code), so that secrets of different kinds never
 * share an HMAC. SG_ELIMIT for a secret longer than RA_CODE_MAX + 100.
 */
enum sg_rc	 ra_purpose_hmac(const struct ra *, const char *purpose,
		    const char *secret, uint8_t out[32]);
/* What a challengePassword is to ra_challenge_admit(). */
enum ra_chal_admit {
	RA_CHAL_ADMIT_NONE,	/* no challenge of this endpoint */
	RA_CHAL_ADMIT_OK,	/* admitted: acct, op->challenge_id */
	RA_CHAL_ADMIT_REFUSED,	/* op holds the FAILURE or internal error */
};
/*
 * Is the challengePassword of "csr" (not NULL, at most RA_CODE_MAX; no
 * access code of the endpoint: ra_auth_code asks first) a challenge of
 * op's endpoint? Outstanding, and its CN/SAN requirement met by the CSR:
 * its account into "acct" and its id into op->challenge_id (the
 * transaction's insert claims it, ra_store_txn_begin). Used, expired or
 * revoked: FAILURE badRequest "challenge already used", "challenge
 * expired", "challenge revoked"; a requirement not met names the field.
 * An unknown code is NONE (the caller counts it as a wrong access code
 * for the lockout).
 */
enum ra_chal_admit ra_challenge_admit(struct ra_op *,
		    const struct p7_csr *csr, struct ra_account *acct);
/*
 * Delete unused challenges that expired a week before "now", at most
 * once an hour (ra_collect_pending); failures are logged.
 */
void		 ra_challenge_purge(struct ra *, time_t now);

/* ---- the transaction state machine (ra_txn.c) ---- */

/*
 * An earlier transaction with this transactionID (RFC 8894 5.2, 3.2.1.1:
 * the transactionID may be a hash of the public key, so a renewal or a
 * re-enrollment with the same key reuses it). True when answered: a
 * resend (see ra_txn.c) gets the transaction's state; a CSR of another
 * key, or a signer that is not the transaction's (RA_SIGNER_OTHER), is
 * refused; a failed lookup is an internal error. False: a new
 * transaction starts and supersedes a finished one.
 */
bool		 ra_txn_resume(struct ra_op *, const struct p7_csr *);
/*
 * Ask the upstream for a certificate for transaction "t" and record the
 * outcome in "t": ISSUED (with serial; *out set, the caller frees it),
 * PENDING (with the order id) or REJECTED (failinfo, reason). "t" is
 * then written back, conditionally on its state at the call; an issued
 * certificate, the ISSUED state, the superseding of t->renews and audit
 * record "au" (NULL: none; its details become t's reason) are one
 * commit (ra_store_txn_issued). SG_OK once the outcome is durable.
 * Otherwise an internal error (SG_ESTORE, SG_EINTERNAL, SG_ENOMEM):
 * nothing is recorded, *out is NULL, "t" keeps its state and the row is
 * left for recovery (ra_txn_recover); the caller must not answer
 * SUCCESS or FAILURE.
 */
enum sg_rc	 ra_txn_issue(struct ra *, const struct ra_endpoint *,
		    const struct ra_account *, const struct p7_csr *,
		    struct ra_txn *t, const struct ra_audit *au, X509 **out,
		    struct sg_err *);
/*
 * Write the outcome in "t" if its state is still "from"
 * (ra_store_txn_update); a lost race is SG_ESTORE here, as the caller
 * can no longer answer from "t".
 */
enum sg_rc	 ra_txn_write(struct ra *, const struct ra_txn *t,
		    enum ra_req_status from, struct sg_err *);
/*
 * A NEW transaction older than this many seconds (or twice
 * upstream.timeout, if longer) is stuck: a crash, kill -9 or failed
 * write left it. Two minutes is far longer than any issuance takes
 * (the local CA signs in milliseconds, an SCM call gives up after
 * upstream.timeout) and short enough that a device's retry, which
 * gets PENDING until then, is not kept waiting long.
 */
#define RA_TXN_STUCK_SECONDS	120
/*
 * Resolve the transactions stuck in NEW at time "now": finished
 * (ISSUED) when a certificate is recorded for one, otherwise released
 * (REJECTED, "interrupted; retry": a retry starts afresh). Each is
 * logged and audited. Returns how many changed; store failures are
 * logged and leave rows for the next run.
 */
size_t		 ra_txn_recover(struct ra *, time_t now);
/*
 * "t" was read in state NEW: recover stuck rows and, if any changed,
 * read "t" again. SG_OK, or the store's error.
 */
enum sg_rc	 ra_txn_unstick(struct ra *, struct ra_txn *t,
		    struct sg_err *);
/* Ask the upstream about one pending order; true if "t" changed. */
bool		 ra_txn_collect(struct ra *, struct ra_txn *t);
/* Turn the state of "t" into the answer; "x" (borrowed) if in hand. */
void		 ra_txn_answer(struct ra_op *, const struct ra_txn *t, X509 *x);

/* ---- issued certificates (ra_cert.c) ---- */

/*
 * A stored certificate by serial, decoded into *out (free it); its row
 * into "info" and its account into "account_id" when not NULL.
 * SG_ENOTFOUND if there is none; SG_ESTORE if the store failed or
 * holds one that does not decode.
 */
enum sg_rc	 ra_cert_load(struct ra *, const char *serial,
		    struct ra_cert *info, int64_t *account_id, X509 **out,
		    struct sg_err *);

/* ---- catalogue (ra_catalog.c) ---- */

/*
 * May an account (or an edit) of endpoint "ep" use "profile" for
 * "term_days"? Always SG_OK while no profile is synced (the local CA
 * takes free-text profiles). Then the profile, by name or by upstream
 * id, must be a synced one of the endpoint's kind that allows the term:
 * SG_ENOTFOUND or SG_EPOLICY with what to do.
 */
enum sg_rc	 ra_catalog_check(struct ra *, const struct ra_endpoint *ep,
		    const char *profile, int term_days, struct sg_err *);

/* ---- the audit log (ra_audit.c); a failed write is logged ---- */

/* The device record of one PKIOperation, outcome "success" etc. */
void		 ra_audit_op(struct ra_op *, const char *outcome);
/* Audit and log one admin action; "err" says why it failed. */
void		 ra_audit_admin(struct ra *, const char *action,
		    const char *endpoint, const char *account,
		    enum sg_rc rc, const struct sg_err *err,
		    const char *details);
/* Audit an admin action on a request: its endpoint, account, transid. */
void		 ra_audit_txn(struct ra *, const char *action,
		    const struct ra_txn *, enum sg_rc, const struct sg_err *,
		    const char *details);

/* ---- words (ra_names.c) ---- */

/* "success", "pending", "failure" for a pkiStatus. */
const char	*ra_p7_status_name(int status);

#endif /* RA_INT_H */
