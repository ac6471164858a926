/*
 * Who is asking (DESIGN.md "Authentication of a PKCSReq"): the access
 * code of a plain SCEP endpoint with the lockout of repeated wrong
 * codes, the certificate that signs a renewal, and the signer of a
 * CertPoll. Later Intune validation and challenges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ra_int.h"

/* Check the access code: the account it belongs to, or a failure. */
bool
ra_auth_code(struct ra_op *op, const struct p7_csr *csr,
    struct ra_account *acct)
{
	uint8_t		mac[32];
	struct sg_err	e;
	enum sg_rc	rc;

	if (op->ep.type == RA_EP_DEVICE_INTUNE ||
	    op->ep.type == RA_EP_CLIENT_INTUNE) {
		/* XXX Intune challenge validation is not written yet. */
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "Intune "
		    "validation is not implemented yet");
		return false;
	}
	if (ra_throttle_locked(op->ra->throttle, op->peer, time(NULL))) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "too many attempts",
		    "locked out after repeated wrong access codes");
		return false;
	}
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
	if (rc == SG_ENOTFOUND) {
		/* The failInfo of a wrong access code (DESIGN.md). */
		ra_op_fail(op, SG_FAIL_BADREQUEST, "bad access code",
		    "access code mismatch");
		if (ra_throttle_fail(op->ra->throttle, op->peer, time(NULL)))
			sg_log(SG_LOG_WARN, "peer=%s: locked out for repeated "
			    "wrong access codes", op->peer);
		return false;
	}
	if (rc != SG_OK) {
		ra_op_internal(op, "access code", &e);
		return false;
	}
	return true;
}

/*
 * RenewalReq (RFC 8894 2.4, 3.3.1.2): signed with a certificate this
 * gateway issued on this endpoint, valid, not revoked or superseded,
 * inside the endpoint's renewal window. Its account carries over.
 */
bool
ra_auth_renewal(struct ra_op *op, struct ra_account *acct, char *old,
    size_t oldsz)
{
	struct ra_cert	 info;
	struct sg_err	 e;
	X509		*x = NULL;
	int64_t		 account_id = 0, now = (int64_t)time(NULL);
	bool		 same;
	enum sg_rc	 rc;

	ra_x509_serial(op->msg->signer, old, oldsz);
	rc = ra_cert_load(op->ra, old, &info, &account_id, &x, &e);
	if (rc != SG_OK && rc != SG_ENOTFOUND) {
		ra_op_internal(op, "RenewalReq signer", &e);
		return false;
	}
	same = rc == SG_OK && X509_cmp(x, op->msg->signer) == 0;
	X509_free(x);
	if (!same || strcmp(info.endpoint, op->ep.name) != 0) {
		ra_op_fail(op, SG_FAIL_BADCERTID, "certificate not found",
		    "RenewalReq signed with serial %s, not issued here", old);
		return false;
	}
	if (info.status != RA_CERT_VALID) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "certificate not valid",
		    "serial %s is %s", old, ra_cert_status_name(info.status));
		return false;
	}
	if (now < info.not_before || now > info.not_after) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "certificate not valid",
		    "serial %s is expired or not yet valid", old);
		return false;
	}
	if (op->ep.renewal_days > 0 &&
	    now < info.not_after - (int64_t)op->ep.renewal_days * 86400) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "too early to renew",
		    "serial %s: outside the %d-day renewal window", old,
		    op->ep.renewal_days);
		return false;
	}
	rc = ra_store_account_by_id(op->ra->store, account_id, acct, &e);
	if (rc == SG_ENOTFOUND) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "serial "
		    "%s: its account no longer exists", old);
		return false;
	}
	if (rc != SG_OK) {
		ra_op_internal(op, "RenewalReq account", &e);
		return false;
	}
	return true;
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
	X509		*old = NULL;
	int		 n;
	enum sg_rc	 rc;

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
	rc = ra_cert_load(op->ra, serial, NULL, NULL, &old, e);
	*ok = rc == SG_OK && X509_cmp(old, op->msg->signer) == 0;
	X509_free(old);
	return rc == SG_ENOTFOUND ? SG_OK : rc;
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
