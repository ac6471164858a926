/*
 * Who is asking (DESIGN.md "Authentication of a PKCSReq"): the access
 * code of a plain SCEP endpoint with the lockout of repeated wrong
 * codes, the certificate that signs a renewal, and the signer of a
 * CertPoll. Intune endpoints are admitted by ra_intune_flow.c instead.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ra_int.h"

/*
 * May "op" present an access code now (ra_throttle.c)? A lockout is a
 * FAILURE; a store that cannot tell is an internal error (fail closed).
 */
static bool
unlocked(struct ra_op *op)
{
	struct sg_err	e;
	enum ra_lock	lock;

	if (ra_throttle_check(op->ra->store, op->ra->conf, op->ep.id,
	    op->peer, time(NULL), &lock, &e) != SG_OK) {
		ra_op_internal(op, "lockout", &e);
		return false;
	}
	if (lock == RA_LOCK_SOURCE)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "too many attempts",
		    "locked out after repeated wrong access codes");
	else if (lock == RA_LOCK_ENDPOINT)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "too many attempts",
		    "endpoint refuses access codes: %d wrong codes within a "
		    "minute", op->ra->conf->lockout_ceiling);
	return lock == RA_LOCK_NONE;
}

/* Count the wrong code of "op" (its FAILURE is set). */
static void
count_failure(struct ra_op *op)
{
	struct sg_err	e;
	bool		locked;

	if (ra_throttle_fail(op->ra->store, op->ra->conf, op->ep.id,
	    op->peer, time(NULL), &locked, &e) != SG_OK)
		ra_op_internal(op, "counting a wrong access code", &e);
	else if (locked)
		sg_log(SG_LOG_WARN, "peer=%s endpoint=%s: locked out for "
		    "repeated wrong access codes", op->peer, op->ep.name);
}

/* Check the access code: the account it belongs to, or a failure. */
bool
ra_auth_code(struct ra_op *op, const struct p7_csr *csr,
    struct ra_account *acct)
{
	uint8_t		mac[32];
	struct sg_err	e;
	enum ra_chal_admit chal;
	enum sg_rc	rc;

	if (op->ep.type == RA_EP_DEVICE_INTUNE ||
	    op->ep.type == RA_EP_CLIENT_INTUNE) {
		/* Intune validates its own challenges (ra_intune_admit). */
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "Intune "
		    "endpoints take no access code");
		return false;
	}
	if (!unlocked(op))
		return false;
	if (csr->challenge == NULL || csr->challenge[0] == '\0') {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "access code required",
		    "no challengePassword in the request");
		return false;
	}
	if (strlen(csr->challenge) > RA_CODE_MAX)
		rc = SG_ENOTFOUND;	/* no code that long exists */
	else if ((rc = ra_keys_code_hmac(&op->ra->keys, csr->challenge,
	    mac)) != SG_OK)
		(void)sg_err_set(&e, rc, "access code HMAC");
	else
		rc = ra_store_account_by_code(op->ra->store, op->ep.id, mac,
		    acct, &e);
	OPENSSL_cleanse(mac, sizeof(mac));
	/*
	 * Not an access code: a one-time challenge (ra_challenge.c)? Codes
	 * first, so that a request with an access code costs no more
	 * lookups than before. A wrong challenge is a wrong code: it counts.
	 */
	if (rc == SG_ENOTFOUND && strlen(csr->challenge) <= RA_CODE_MAX &&
	    (chal = ra_challenge_admit(op, csr, acct)) != RA_CHAL_ADMIT_NONE)
		return chal == RA_CHAL_ADMIT_OK;
	if (rc == SG_ENOTFOUND) {
		/* The failInfo of a wrong access code (DESIGN.md). */
		ra_op_fail(op, SG_FAIL_BADREQUEST, "bad access code",
		    "access code mismatch");
		count_failure(op);
		return false;
	}
	if (rc != SG_OK) {
		ra_op_internal(op, "access code", &e);
		return false;
	}
	return true;
}

/* Why a signer cannot renew: for the FAILURE of a RenewalReq. */
struct refusal {
	int		 failinfo;
	const char	*text;		/* for the client */
	char		 why[192];	/* for log and audit */
};

static enum sg_rc
refuse(struct refusal *r, int failinfo, const char *text, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static enum sg_rc
refuse(struct refusal *r, int failinfo, const char *text, const char *fmt,
    ...)
{
	va_list	ap;

	r->failinfo = failinfo;
	r->text = text;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return SG_EPOLICY;
}

/*
 * Is the request's signer the stored certificate "serial" (the whole
 * certificate, not only its serial)? SG_OK with *same set, or a store
 * error in "e". The certificate's row into "info" when not NULL.
 */
static enum sg_rc
signer_is(struct ra_op *op, const char *serial, struct ra_cert *info,
    int64_t *account_id, bool *same, struct sg_err *e)
{
	X509		*x = NULL;
	enum sg_rc	 rc;

	*same = false;
	rc = ra_cert_load(op->ra, serial, info, account_id, &x, e);
	*same = rc == SG_OK && X509_cmp(x, op->msg->signer) == 0;
	X509_free(x);
	return rc == SG_ENOTFOUND ? SG_OK : rc;
}

/*
 * The renewal rules (RFC 8894 2.4, 3.3.1.2): the signer is a
 * certificate this gateway issued on this endpoint, valid, not revoked
 * or superseded, inside the endpoint's renewal window. SG_OK with its
 * account in "acct"; SG_EPOLICY with "r" saying why not; a store error
 * in "e" otherwise.
 */
static enum sg_rc
renewal_signer(struct ra_op *op, struct ra_account *acct, const char *old,
    struct refusal *r, struct sg_err *e)
{
	struct ra_cert	 info;
	const char	*what = p7_type_name(op->msg->type);
	int64_t		 account_id = 0, now = (int64_t)time(NULL);
	bool		 same;
	enum sg_rc	 rc;

	if ((rc = signer_is(op, old, &info, &account_id, &same, e)) != SG_OK)
		return rc;
	if (!same || strcmp(info.endpoint, op->ep.name) != 0)
		return refuse(r, SG_FAIL_BADCERTID, "certificate not found",
		    "%s signed with serial %s, not issued here", what, old);
	if (info.status != RA_CERT_VALID)
		return refuse(r, SG_FAIL_BADREQUEST, "certificate not valid",
		    "serial %s is %s", old, ra_cert_status_name(info.status));
	if (now < info.not_before || now > info.not_after)
		return refuse(r, SG_FAIL_BADREQUEST, "certificate not valid",
		    "serial %s is expired or not yet valid", old);
	if (op->ep.renewal_days > 0 &&
	    now < info.not_after - (int64_t)op->ep.renewal_days * 86400)
		return refuse(r, SG_FAIL_BADREQUEST, "too early to renew",
		    "serial %s: outside the %d-day renewal window", old,
		    op->ep.renewal_days);
	rc = ra_store_account_by_id(op->ra->store, account_id, acct, e);
	if (rc == SG_ENOTFOUND)
		return refuse(r, SG_FAIL_BADREQUEST, "request refused",
		    "serial %s: its account no longer exists", old);
	return rc;
}

/*
 * A RenewalReq, or a PKCSReq signed with the current certificate (RFC
 * 8894 2.3: many clients renew that way): the account of the old
 * certificate carries over.
 */
bool
ra_auth_renewal(struct ra_op *op, struct ra_account *acct, char *old,
    size_t oldsz, bool required)
{
	struct refusal	r;
	struct sg_err	e;
	enum sg_rc	rc;

	ra_x509_serial(op->msg->signer, old, oldsz);
	rc = renewal_signer(op, acct, old, &r, &e);
	if (rc == SG_OK)
		return true;
	if (rc != SG_EPOLICY)
		ra_op_internal(op, "renewal signer", &e);
	else if (required)
		ra_op_fail(op, r.failinfo, r.text, "%s", r.why);
	else
		sg_log(SG_LOG_DEBUG, "transid=%s: not a renewal: %s", op->tid,
		    r.why);
	if (rc == SG_EPOLICY && !required)
		old[0] = '\0';
	return false;
}

/*
 * Does the request's signer own transaction "t"? It holds the new key,
 * or, for a renewal, it is the certificate being renewed (clients sign
 * their renewal polls with the old certificate).
 */
static enum sg_rc
owns(struct ra_op *op, const struct ra_txn *t, bool *ok, struct sg_err *e)
{
	unsigned char	*der = NULL;
	uint8_t		 md[32];
	unsigned int	 mdlen = 0;
	char		 serial[80];
	int		 n;

	*ok = false;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(op->msg->signer), &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(),
	    NULL) == 1)
		*ok = memcmp(md, t->key_id, sizeof(md)) == 0;
	OPENSSL_free(der);
	if (*ok || t->renews[0] == '\0')
		return SG_OK;
	ra_x509_serial(op->msg->signer, serial, sizeof(serial));
	if (strcmp(serial, t->renews) != 0)
		return SG_OK;
	return signer_is(op, serial, NULL, NULL, ok, e);
}

enum ra_signer
ra_auth_txn_signer(struct ra_op *op, const struct ra_txn *t)
{
	struct sg_err	e;
	char		serial[80];
	bool		yes = false;
	enum sg_rc	rc = SG_OK;

	ra_x509_serial(op->msg->signer, serial, sizeof(serial));
	if (t->serial[0] != '\0' && strcmp(serial, t->serial) == 0)
		rc = signer_is(op, serial, NULL, NULL, &yes, &e);
	if (rc == SG_OK && yes)
		return RA_SIGNER_ISSUED;
	if (rc == SG_OK)
		rc = owns(op, t, &yes, &e);
	if (rc != SG_OK) {
		ra_op_internal(op, "transaction signer", &e);
		return RA_SIGNER_ERROR;
	}
	return yes ? RA_SIGNER_OWNER : RA_SIGNER_OTHER;
}

bool
ra_auth_poll_signer(struct ra_op *op, const struct ra_txn *t)
{
	struct sg_err	e;
	bool		ok;

	if (owns(op, t, &ok, &e) != SG_OK) {
		ra_op_internal(op, "CertPoll signer", &e);
		return false;
	}
	if (!ok)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "no such transaction",
		    "CertPoll signed with another key than the request");
	return ok;
}
