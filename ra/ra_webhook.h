/*
 * ra/ra_webhook.c: the challenge-validation webhook and the notification
 * webhook of an endpoint (docs/webhooks.md), built on ra/http/. Shared
 * inside ra/ (and with the unit test and fuzz target) only.
 *
 * Both POST JSON signed the way GitHub- and Stripe-style receivers
 * check it: X-Scepgate-Timestamp is the Unix time in seconds and
 * X-Scepgate-Signature is "sha256=" + the lowercase hex HMAC-SHA256,
 * keyed with the endpoint's webhook_secret_file, of the timestamp, a
 * ".", and the body's bytes.
 *
 * The secret is read (ra_secret_read: mode 0600, one line) at each use,
 * so a rotated file takes effect with the next request and no SIGHUP;
 * it and the challenge are wiped after use and never logged.
 */
#ifndef RA_WEBHOOK_H
#define RA_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ra_int.h"

/* "sha256=" + 64 hex digits + NUL. */
#define RA_WEBHOOK_SIG_MAX	72
/* Longest reason of a refusal kept for failInfoText (with its NUL). */
#define RA_WEBHOOK_REASON_MAX	128
/* Largest webhook answer read. */
#define RA_WEBHOOK_ANSWER_MAX	(64u * 1024)

/*
 * The signature header's value for "body" (len bytes) sent at Unix time
 * "ts" (its decimal text), keyed with "key" (keylen bytes), into "out".
 * SG_OK, or SG_EINTERNAL when OpenSSL fails.
 */
enum sg_rc	 ra_webhook_sign(const uint8_t *key, size_t keylen,
		    const char *ts, const uint8_t *body, size_t len,
		    char out[RA_WEBHOOK_SIG_MAX]);

/* What a validation request says; everything borrowed. */
struct ra_webhook_in {
	const char		*endpoint;
	const char		*transid;
	const char		*peer;
	const struct p7_csr	*csr;		/* challenge, subject, SANs */
	const uint8_t		*der;		/* the CSR as received */
	size_t			 der_len;
	int64_t			 time;		/* Unix seconds */
};

/*
 * The validation request's JSON body into "out" (zeroed by the caller;
 * it holds the challenge: release it with sg_buf_wipe()): endpoint,
 * transaction_id, challenge ("" when the CSR has none), csr (base64
 * DER), subject (RFC 2253), sans ([{"type": "dns"|"ip"|"email"|"uri"|
 * "upn"|"other", "value": ...}]), peer and time (RFC 3339, UTC).
 * SG_ENOMEM, or SG_EPARSE for a SAN extension that does not decode.
 */
enum sg_rc	 ra_webhook_body(const struct ra_webhook_in *in,
		    struct sg_buf *out, struct sg_err *err);

/* A decoded answer. */
struct ra_webhook_answer {
	bool	allow;
	char	account[RA_NAME_MAX];		/* "" when not given */
	char	reason[RA_WEBHOOK_REASON_MAX];	/* printable; "" none */
};

/*
 * Decode a receiver's answer (len bytes, borrowed): a JSON object with
 * a boolean "allow", an optional "account" (a valid account name) and
 * an optional string "reason" (cut to RA_WEBHOOK_REASON_MAX - 1 bytes,
 * every byte outside printable ASCII and '"' '\' made '?'). Other
 * members are ignored. SG_OK with *out filled, or SG_EPARSE with what
 * is wrong (never echoing the body).
 */
enum sg_rc	 ra_webhook_answer_parse(const uint8_t *body, size_t len,
		    struct ra_webhook_answer *out, struct sg_err *err);

/*
 * May "ep" have its webhook settings (scepctl endpoint edit)? URLs are
 * "" or http(s)://... without blanks or controls; a URL needs the
 * secret file, which must read (ra_secret_read: mode 0600, one line);
 * a challenge webhook is not for Intune endpoints (Intune validates);
 * the timeout is 0 (RA_WEBHOOK_TIMEOUT) to 60 s. SG_OK, or SG_EPOLICY
 * or the secret file's SG_ECONF / SG_EIO saying what to fix.
 */
enum sg_rc	 ra_webhook_check(const struct ra_endpoint *ep,
		    struct sg_err *err);

/*
 * Admit a PKCSReq on an endpoint with a challenge_webhook instead of an
 * access code: ask the webhook; an "allow" admits the request under
 * the account it names, or the endpoint's only account ("acct").
 * False: op holds the FAILURE (badRequest; failInfoText says why, the
 * receiver's reason on a denial, what to fix when the webhook could
 * not be asked: fail closed) or an internal error. *denied is set when
 * the receiver said no (a wrong challenge, for the lockout).
 */
bool		 ra_webhook_admit(struct ra_op *, const struct p7_csr *,
		    struct ra_account *acct, bool *denied);

/*
 * A PKCSReq or RenewalReq that op refused (FAILURE): its "refused"
 * event into the outbox when the endpoint has a notify_webhook. This
 * is written right after the refusal (which writes no state of its
 * own but the audit record); a store error is logged.
 */
void		 ra_webhook_refused(struct ra_op *);
/*
 * The "refused" event of transaction "transid" on endpoint
 * "endpoint_id" with "reason" (made printable), if that endpoint has a
 * notify_webhook: a FAILURE answered now (ra_webhook_refused) or an
 * admin's reject. Written after the refusal's own commit; a failure to
 * write it is logged.
 */
void		 ra_webhook_refusal(struct ra *, int64_t endpoint_id,
		    const char *transid, const char *reason);

#endif /* RA_WEBHOOK_H */
