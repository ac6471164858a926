/*
 * Enrollment: PKCSReq and RenewalReq, CertPoll, GetCert and GetCRL
 * (RFC 8894 3.3), the transaction state machine (new -> pending ->
 * issued | rejected, keyed by endpoint and transactionID), manual
 * approval and asynchronous upstream orders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pkcs7.h>

#include "ra_int.h"

/* SUCCESS with "x" first, then the CA chain if the endpoint wants it. */
static enum sg_rc
op_success(struct ra_op *op, X509 *x)
{
	STACK_OF(X509)	*chain = op->ra->up->chain;
	int		 i;

	if ((op->certs = sk_X509_new_null()) == NULL ||
	    !X509_up_ref(x) || !sk_X509_push(op->certs, x))
		return SG_ENOMEM;
	if (op->ep.getcert_fmt == RA_GETCERT_FULL_CHAIN) {
		for (i = 0; i < sk_X509_num(chain); i++) {
			X509 *c = sk_X509_value(chain, i);

			if (!X509_up_ref(c) || !sk_X509_push(op->certs, c))
				return SG_ENOMEM;
		}
	}
	op->status = P7_STATUS_SUCCESS;
	return SG_OK;
}

/* A stored certificate by serial, decoded; NULL if absent. */
static X509 *
load_cert(struct ra *ra, const char *serial, struct ra_cert *info,
    int64_t *account_id)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	X509			*x = NULL;

	if (ra_store_cert_get(ra->store, serial, info, account_id, &der, &len,
	    NULL) == SG_OK) {
		p = der;
		x = d2i_X509(NULL, &p, (long)len);
	}
	free(der);
	return x;
}

/* Answer SUCCESS with "x" (borrowed), the certificate "serial". */
static void
deliver_cert(struct ra_op *op, X509 *x, const char *serial)
{
	if (op_success(op, x) != SG_OK)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused",
		    "out of memory");
	else
		snprintf(op->reason, sizeof(op->reason), "serial %s "
		    "delivered", serial);
}

/* Deliver the certificate of an issued transaction (RFC 8894 5.2). */
static void
deliver(struct ra_op *op, const char *serial)
{
	X509	*x;

	if ((x = load_cert(op->ra, serial, NULL, NULL)) == NULL) {
		ra_op_fail(op, SG_FAIL_BADCERTID, "certificate not found",
		    "no certificate with serial %s", serial);
		return;
	}
	deliver_cert(op, x, serial);
	X509_free(x);
}

/* Record a certificate the upstream issued for transaction "t". */
static enum sg_rc
store_issued(struct ra *ra, const struct ra_txn *t, X509 *x,
    const char *serial, struct sg_err *err)
{
	struct ra_cert_rec	 cr = { 0 };
	struct tm		 tm;
	unsigned char		*der = NULL;
	BIO			*b = NULL;
	int			 n;
	enum sg_rc		 rc;

	snprintf(cr.serial, sizeof(cr.serial), "%s", serial);
	cr.endpoint_id = t->endpoint_id;
	cr.account_id = t->account_id;
	cr.txn_id = t->id;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
		    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		n = BIO_read(b, cr.subject, sizeof(cr.subject) - 1);
		cr.subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		cr.not_before = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		cr.not_after = (int64_t)timegm(&tm);
	if ((n = i2d_X509(x, &der)) <= 0)
		return sg_err_set(err, SG_EINTERNAL, "encode certificate");
	cr.der = der;
	cr.der_len = (size_t)n;
	rc = ra_store_cert_add(ra->store, &cr, err);
	OPENSSL_free(der);
	return rc;
}

/*
 * Record certificate "x" as the outcome of transaction "t"; the one a
 * renewal replaces is superseded (RFC 8894 2.4: it stays valid, but
 * cannot renew again).
 */
static enum sg_rc
record_issued(struct ra *ra, struct ra_txn *t, X509 *x, struct sg_err *e)
{
	enum sg_rc	rc;

	ra_x509_serial(x, t->serial, sizeof(t->serial));
	if ((rc = store_issued(ra, t, x, t->serial, e)) != SG_OK)
		return rc;
	t->status = RA_REQ_ISSUED;
	if (t->renews[0] == '\0') {
		snprintf(t->reason, sizeof(t->reason), "issued serial %s",
		    t->serial);
		return SG_OK;
	}
	snprintf(t->reason, sizeof(t->reason), "renewed serial %s as %s",
	    t->renews, t->serial);
	if (ra_store_cert_set_status(ra->store, t->renews, RA_CERT_SUPERSEDED,
	    0, e) != SG_OK)
		sg_log(SG_LOG_ERR, "serial %s: %s", t->renews, e->msg);
	return SG_OK;
}

/*
 * Ask the upstream for a certificate for transaction "t" and record the
 * outcome in "t": ISSUED (with serial; *out set), PENDING (with the
 * order id) or REJECTED (failinfo, reason). "t" is then written back.
 */
static void
issuance(const struct ra_endpoint *ep, const struct ra_account *acct,
    struct ra_issuance *w)
{
	const bool intune = ep->type == RA_EP_DEVICE_INTUNE ||
	    ep->type == RA_EP_CLIENT_INTUNE;

	memset(w, 0, sizeof(*w));
	if (acct != NULL)
		snprintf(w->account, sizeof(w->account), "%s", acct->name);
	if (intune || acct == NULL) {
		snprintf(w->org, sizeof(w->org), "%s", ep->org);
		snprintf(w->dept, sizeof(w->dept), "%s", ep->dept);
		snprintf(w->profile, sizeof(w->profile), "%s", ep->profile);
		w->term_days = ep->term_days;
		return;
	}
	snprintf(w->org, sizeof(w->org), "%s", acct->org);
	snprintf(w->dept, sizeof(w->dept), "%s", acct->dept);
	snprintf(w->profile, sizeof(w->profile), "%s", acct->profile);
	w->term_days = acct->term_days;
}

static void
issue(struct ra *ra, const struct ra_endpoint *ep,
    const struct ra_account *acct, const struct p7_csr *csr,
    struct ra_txn *t, X509 **out)
{
	struct ra_issue	 is = { 0 };
	struct ra_issuance with;
	struct sg_err	 e;
	X509		*x = NULL;
	enum ra_req_status from = t->status;

	is.csr = csr;
	is.ep = ep;
	issuance(ep, acct, &with);
	is.with = &with;
	is.transid = t->transid;
	is.now = time(NULL);
	t->order_id[0] = '\0';
	if (ra->up->ops->issue(ra->up, &is, &x, t->order_id, &e) != SG_OK) {
		t->status = RA_REQ_REJECTED;
		t->failinfo = e.failinfo >= 0 ? e.failinfo : SG_FAIL_BADREQUEST;
		snprintf(t->reason, sizeof(t->reason), "upstream: %s", e.msg);
	} else if (x == NULL) {
		t->status = RA_REQ_PENDING;
		snprintf(t->reason, sizeof(t->reason), "ordered at the "
		    "upstream as %s", t->order_id);
	} else if (record_issued(ra, t, x, &e) != SG_OK) {
		t->status = RA_REQ_REJECTED;
		t->failinfo = SG_FAIL_BADREQUEST;
		snprintf(t->reason, sizeof(t->reason), "%s", e.msg);
		X509_free(x);
		x = NULL;
	}
	if (ra_store_txn_update(ra->store, t, from, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transaction %lld: %s", (long long)t->id,
		    e.msg);
	*out = x;
}

/* Turn the state of transaction "t" into this reply; "x" if in hand. */
static void
answer_txn(struct ra_op *op, const struct ra_txn *t, X509 *x)
{
	switch (t->status) {
	case RA_REQ_ISSUED:
		if (x == NULL)
			deliver(op, t->serial);
		else
			deliver_cert(op, x, t->serial);
		break;
	case RA_REQ_NEW:
	case RA_REQ_PENDING:
		op->status = P7_STATUS_PENDING;
		snprintf(op->reason, sizeof(op->reason), "%s", t->reason[0] ?
		    t->reason : "in progress");
		break;
	case RA_REQ_REJECTED:
		ra_op_fail(op, t->failinfo >= 0 ? t->failinfo :
		    SG_FAIL_BADREQUEST, "request refused", "%s", t->reason);
		break;
	}
}

/* Ask the upstream about one pending order; true if "t" changed. */
static bool
collect_one(struct ra *ra, struct ra_txn *t)
{
	struct ra_endpoint	 ep;
	struct sg_err		 e;
	X509			*x = NULL;
	enum sg_rc		 rc;

	if (t->status != RA_REQ_PENDING || t->order_id[0] == '\0' ||
	    ra->up->ops->collect == NULL ||
	    ra_store_endpoint_by_id(ra->store, t->endpoint_id, &ep, &e) !=
	    SG_OK)
		return false;
	rc = ra->up->ops->collect(ra->up, &ep, t->order_id, &x, &e);
	if (rc == SG_OK && x == NULL)
		return false;		/* not yet */
	if (rc != SG_OK) {
		t->status = RA_REQ_REJECTED;
		t->failinfo = e.failinfo >= 0 ? e.failinfo : SG_FAIL_BADREQUEST;
		snprintf(t->reason, sizeof(t->reason), "upstream: %s", e.msg);
	} else if (record_issued(ra, t, x, &e) != SG_OK) {
		/* Keep it pending: the next collect retries. */
		sg_log(SG_LOG_ERR, "order %s: %s", t->order_id, e.msg);
		X509_free(x);
		return false;
	}
	X509_free(x);
	if (ra_store_txn_update(ra->store, t, RA_REQ_PENDING, &e) != SG_OK)
		return false;	/* another instance got there first */
	sg_log(SG_LOG_INFO, "order %s: %s", t->order_id, t->reason);
	return true;
}

size_t
ra_collect_pending(struct ra *ra)
{
	struct ra_txn	*ts = NULL;
	size_t		 n = 0, i, changed = 0;

	if (ra->up->ops->collect == NULL ||
	    ra_store_txn_orders(ra->store, &ts, &n, NULL) != SG_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (collect_one(ra, &ts[i]))
			changed++;
	free(ts);
	return changed;
}

/*
 * What an earlier transaction with the same transactionID means for
 * this request (RFC 8894 5.2, scep-interop.md 6): the same key resumes
 * it (re-sent or new PKCSReq), another key is refused. A finished
 * FAILURE lets a fresh attempt start. Returns true when answered.
 */
static bool
resync(struct ra_op *op, const struct p7_csr *csr)
{
	struct ra_txn	t;

	if (ra_store_txn_find(op->ra->store, op->ep.id, op->msg->transid, &t,
	    NULL) != SG_OK || t.status == RA_REQ_REJECTED)
		return false;
	if (memcmp(t.key_id, csr->key_id, sizeof(t.key_id)) != 0) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "transactionID in use",
		    "transactionID in use with another key");
		return true;
	}
	collect_one(op->ra, &t);
	answer_txn(op, &t, NULL);
	return true;
}

/* Check the access code: the account it belongs to, or a failure. */
static bool
authorize(struct ra_op *op, const struct p7_csr *csr, struct ra_account *acct)
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
	if (strlen(csr->challenge) > RA_CODE_MAX ||
	    ra_keys_code_hmac(&op->ra->keys, csr->challenge, mac) != SG_OK ||
	    (rc = ra_store_account_by_code(op->ra->store, op->ep.id, mac, acct,
	    &e)) == SG_ENOTFOUND) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "bad access code",
		    "access code mismatch");
		if (ra_throttle_fail(op->ra->throttle, op->peer, time(NULL)))
			sg_log(SG_LOG_WARN, "peer=%s: locked out for repeated "
			    "wrong access codes", op->peer);
		return false;
	}
	if (rc != SG_OK) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "%s",
		    e.msg);
		return false;
	}
	return true;
}

/*
 * RenewalReq (RFC 8894 2.4, 3.3.1.2): signed with a certificate this
 * gateway issued on this endpoint, valid, not revoked or superseded,
 * inside the endpoint's renewal window. Its account carries over.
 */
static bool
authorize_renewal(struct ra_op *op, struct ra_account *acct, char *old,
    size_t oldsz)
{
	struct ra_cert	 info;
	struct sg_err	 e;
	X509		*x;
	int64_t		 account_id = 0, now = (int64_t)time(NULL);
	bool		 same;

	ra_x509_serial(op->msg->signer, old, oldsz);
	x = load_cert(op->ra, old, &info, &account_id);
	same = x != NULL && X509_cmp(x, op->msg->signer) == 0;
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
	if (ra_store_account_by_id(op->ra->store, account_id, acct, &e) !=
	    SG_OK) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "serial "
		    "%s: its account no longer exists", old);
		return false;
	}
	return true;
}

/* Who asks (access code or old certificate), and may they? */
static bool
decide(struct ra_op *op, const struct p7_csr *csr, bool renewal,
    struct ra_account *acct, struct ra_txn *t, char *old, size_t oldsz)
{
	struct sg_err	e;

	if (!(renewal ? authorize_renewal(op, acct, old, oldsz) :
	    authorize(op, csr, acct)))
		return false;
	snprintf(op->account, sizeof(op->account), "%s", acct->name);
	t->account_id = acct->id;
	if (acct->disabled) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused",
		    "account '%s' is disabled", acct->name);
		return false;
	}
	/* A renewal proves itself with its certificate, not a code. */
	if (ra_policy_check_csr(&op->ep, csr, !renewal, &e) != SG_OK) {
		ra_op_fail_err(op, &e);
		return false;
	}
	return true;
}

/* PKCSReq (3.3.1) and RenewalReq (3.3.1.2). */
void
ra_op_pkcsreq(struct ra_op *op, bool renewal)
{
	struct p7_csr		*csr = NULL;
	struct ra_account	 acct;
	struct ra_txn		 t;
	struct sg_err		 e;
	X509			*x = NULL;
	uint8_t			*stored = NULL;
	size_t			 stored_len = 0;
	char			 old[80] = "";
	enum sg_rc		 rc;

	if (p7_csr_parse(op->msg->data, op->msg->data_len, &csr, &e) !=
	    SG_OK) {
		ra_op_fail_err(op, &e);
		goto out;
	}
	if (resync(op, csr))
		goto out;
	memset(&t, 0, sizeof(t));
	t.endpoint_id = op->ep.id;
	snprintf(t.transid, sizeof(t.transid), "%s", op->msg->transid);
	t.msg_type = op->msg->type;
	memcpy(t.key_id, csr->key_id, sizeof(t.key_id));
	snprintf(t.subject, sizeof(t.subject), "%s", csr->subject);
	snprintf(t.peer, sizeof(t.peer), "%s", op->peer);
	/*
	 * Kept until decided (approval sends the signed original upstream),
	 * sealed: it holds the access code (ra_keys_seal).
	 */
	if (ra_keys_seal(&op->ra->keys, op->msg->data, op->msg->data_len,
	    &stored, &stored_len) != SG_OK) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "cannot "
		    "seal the CSR");
		goto out;
	}
	t.csr = stored;
	t.csr_len = stored_len;
	t.failinfo = -1;
	if (renewal)
		ra_x509_serial(op->msg->signer, t.renews, sizeof(t.renews));
	if ((rc = ra_store_txn_begin(op->ra->store, &t, &e)) == SG_EEXIST) {
		/* The same transaction, concurrently: in progress. */
		op->status = P7_STATUS_PENDING;
		snprintf(op->reason, sizeof(op->reason), "in progress");
		goto out;
	}
	if (rc != SG_OK) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "%s",
		    e.msg);
		goto out;
	}
	if (!decide(op, csr, renewal, &acct, &t, old, sizeof(old)))
		goto refused;
	if (acct.manual) {
		t.status = RA_REQ_PENDING;
		snprintf(t.reason, sizeof(t.reason), "waiting for approval");
		if (ra_store_txn_update(op->ra->store, &t, RA_REQ_NEW, &e) !=
		    SG_OK)
			sg_log(SG_LOG_ERR, "transid=%s: %s", op->tid, e.msg);
		answer_txn(op, &t, NULL);
		goto out;
	}
	issue(op->ra, &op->ep, &acct, csr, &t, &x);
	answer_txn(op, &t, x);
	if (x != NULL)
		snprintf(op->reason, sizeof(op->reason), "%s", t.reason);
	goto out;
refused:
	/* Refused before reaching the upstream. */
	t.status = RA_REQ_REJECTED;
	t.failinfo = op->failinfo;
	snprintf(t.reason, sizeof(t.reason), "%s", op->reason);
	if (ra_store_txn_update(op->ra->store, &t, RA_REQ_NEW, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: %s", op->tid, e.msg);
out:
	free(stored);
	X509_free(x);
	p7_csr_free(csr);
}

/*
 * Does the request's signer own transaction "t"? It holds the new key,
 * or, for a renewal, it is the certificate being renewed (clients sign
 * their renewal polls with the old certificate).
 */
static bool
signer_owns(const struct ra_op *op, const struct ra_txn *t)
{
	unsigned char	*der = NULL;
	uint8_t		 md[32];
	unsigned int	 mdlen = 0;
	char		 serial[80];
	X509		*old;
	int		 n;
	bool		 ok = false;

	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(op->msg->signer), &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(),
	    NULL) == 1)
		ok = memcmp(md, t->key_id, sizeof(md)) == 0;
	OPENSSL_free(der);
	if (ok || t->renews[0] == '\0')
		return ok;
	ra_x509_serial(op->msg->signer, serial, sizeof(serial));
	if (strcmp(serial, t->renews) != 0)
		return false;
	old = load_cert(op->ra, serial, NULL, NULL);
	ok = old != NULL && X509_cmp(old, op->msg->signer) == 0;
	X509_free(old);
	return ok;
}

/* Name the transaction's account in the log line and the audit. */
static void
set_account(struct ra_op *op, int64_t account_id)
{
	struct ra_account	a;

	if (account_id > 0 && ra_store_account_by_id(op->ra->store,
	    account_id, &a, NULL) == SG_OK)
		snprintf(op->account, sizeof(op->account), "%s", a.name);
}

/*
 * CertPoll (RFC 8894 3.3.3): the transaction is named by its
 * transactionID; the IssuerAndSubject inside is not needed. Polls are
 * signed with the same key as the request in every client read.
 */
void
ra_op_certpoll(struct ra_op *op)
{
	struct ra_txn	t;

	if (ra_store_txn_find(op->ra->store, op->ep.id, op->msg->transid, &t,
	    NULL) != SG_OK) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "no such transaction",
		    "CertPoll for an unknown transaction");
		return;
	}
	set_account(op, t.account_id);
	if (t.status == RA_REQ_ISSUED && !signer_owns(op, &t)) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "no such transaction",
		    "CertPoll signed with another key than the request");
		return;
	}
	collect_one(op->ra, &t);
	answer_txn(op, &t, NULL);
}

/* The serial of an IssuerAndSerialNumber, as uppercase hex. */
static bool
ias_serial(const struct ra_op *op, char *out, size_t outsz,
    X509_NAME **issuer)
{
	const unsigned char	*p = op->msg->data;
	PKCS7_ISSUER_AND_SERIAL	*ias;
	BIGNUM			*bn = NULL;
	char			*hex = NULL;

	ias = d2i_PKCS7_ISSUER_AND_SERIAL(NULL, &p, (long)op->msg->data_len);
	if (ias != NULL && p == op->msg->data + op->msg->data_len &&
	    (bn = ASN1_INTEGER_to_BN(ias->serial, NULL)) != NULL)
		hex = BN_bn2hex(bn);
	if (hex != NULL && (*issuer = X509_NAME_dup(ias->issuer)) == NULL) {
		OPENSSL_free(hex);
		hex = NULL;
	}
	if (hex != NULL)
		snprintf(out, outsz, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	return hex != NULL;
}

/* GetCert (RFC 8894 3.3.4): a certificate by issuer and serial. */
void
ra_op_getcert(struct ra_op *op)
{
	struct ra_cert	 info;
	X509_NAME	*issuer = NULL;
	X509		*x;
	char		 serial[80];
	bool		 found;

	if (!ias_serial(op, serial, sizeof(serial), &issuer)) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "GetCert:"
		    " RFC 8894 3.3.4: not an IssuerAndSerialNumber");
		return;
	}
	/* Only certificates of this endpoint, by issuer and serial. */
	x = load_cert(op->ra, serial, &info, NULL);
	found = x != NULL && strcmp(info.endpoint, op->ep.name) == 0 &&
	    X509_NAME_cmp(issuer, X509_get_issuer_name(x)) == 0;
	X509_NAME_free(issuer);
	if (found)
		deliver_cert(op, x, serial);
	else
		ra_op_fail(op, SG_FAIL_BADCERTID, "certificate not found",
		    "GetCert: no certificate %s of this issuer on this "
		    "endpoint", serial);
	X509_free(x);
}

/* The current CRL, signed again once it is stale (or missing). */
static X509_CRL *
current_crl(struct ra *ra, struct sg_err *e)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	int64_t			 next = 0, number;
	X509_CRL		*crl = NULL;

	if (ra_store_crl_get(ra->store, &der, &len, &next, NULL) != SG_OK ||
	    next <= (int64_t)time(NULL)) {
		free(der);
		der = NULL;
		if (ra_store_crl_number(ra->store, &number, e) != SG_OK ||
		    ra_cert_crl_sign(ra, number, &der, &len, e) != SG_OK ||
		    ra_store_crl_put(ra->store, number, der, len,
		    (int64_t)time(NULL) +
		    (int64_t)ra->conf->upstream.crl_days * 86400, e) != SG_OK)
			goto out;
	}
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
out:
	free(der);
	return crl;
}

/* GetCRL (RFC 8894 3.3.5): the issuing CA's CRL. */
void
ra_op_getcrl(struct ra_op *op)
{
	struct sg_err	 e;
	X509_NAME	*issuer = NULL;
	char		 serial[80];
	bool		 ours;

	if (!ias_serial(op, serial, sizeof(serial), &issuer)) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "GetCRL: "
		    "RFC 8894 3.3.5: not an IssuerAndSerialNumber");
		return;
	}
	/* The CRL of our issuing CA only. */
	ours = X509_NAME_cmp(issuer, X509_get_subject_name(
	    sk_X509_value(op->ra->up->chain, 0))) == 0;
	X509_NAME_free(issuer);
	if (!ours) {
		ra_op_fail(op, SG_FAIL_BADCERTID, "unknown issuer", "GetCRL: "
		    "the issuer is not this gateway's CA");
		return;
	}
	sg_err_clear(&e);
	if ((op->crl = current_crl(op->ra, &e)) == NULL) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "no CRL", "GetCRL: %s",
		    e.msg[0] ? e.msg : "cannot sign a CRL");
		return;
	}
	op->status = P7_STATUS_SUCCESS;
	snprintf(op->reason, sizeof(op->reason), "CRL delivered");
}

/* ---- admin: requests and certificates ---- */

enum sg_rc
ra_request_list(struct ra *ra, int status, struct ra_request **out,
    size_t *n, struct sg_err *err)
{
	return ra_store_txn_list(ra->store, status, out, n, err);
}

/* A pending request waiting for approval (no upstream order yet). */
static enum sg_rc
awaiting(struct ra *ra, int64_t id, struct ra_txn *t, uint8_t **csr,
    size_t *csr_len, struct sg_err *err)
{
	enum sg_rc	rc;

	if ((rc = ra_store_txn_get(ra->store, id, t, csr, csr_len, err)) !=
	    SG_OK)
		return rc;
	if (t->status != RA_REQ_PENDING || t->order_id[0] != '\0')
		return sg_err_set(err, SG_EPOLICY, "request %lld is %s, not "
		    "waiting for approval", (long long)id,
		    ra_req_status_name(t->status));
	return SG_OK;
}

enum sg_rc
ra_request_approve(struct ra *ra, int64_t id, struct sg_err *err)
{
	struct ra_txn		 t = { 0 };
	struct ra_endpoint	 ep;
	struct ra_account	 acct;
	struct p7_csr		*csr = NULL;
	uint8_t			*der = NULL, *plain = NULL;
	size_t			 len = 0, plen = 0;
	X509			*x = NULL;
	char			 details[64];
	enum sg_rc		 rc;

	if ((rc = awaiting(ra, id, &t, &der, &len, err)) != SG_OK ||
	    (rc = ra_store_endpoint_by_id(ra->store, t.endpoint_id, &ep,
	    err)) != SG_OK ||
	    (rc = ra_store_account_by_id(ra->store, t.account_id, &acct,
	    err)) != SG_OK)
		goto out;
	/* The signed original goes upstream (SCM checks its signature). */
	if (ra_keys_unseal(&ra->keys, der, len, &plain, &plen) != SG_OK) {
		rc = sg_err_set(err, SG_ESTORE, "request %lld: the sealed CSR "
		    "does not open (was secret_file replaced?)", (long long)id);
		goto out;
	}
	if ((rc = p7_csr_parse(plain, plen, &csr, err)) != SG_OK)
		goto out;
	issue(ra, &ep, &acct, csr, &t, &x);
	if (t.status == RA_REQ_REJECTED)
		rc = sg_err_set(err, SG_EUPSTREAM, "%s", t.reason);
out:
	snprintf(details, sizeof(details), "request %lld%s%s", (long long)id,
	    rc == SG_OK ? ": " : "", rc == SG_OK ? t.reason : "");
	ra_audit_txn(ra, "request approve", &t, rc, err, details);
	X509_free(x);
	p7_csr_free(csr);
	if (plain != NULL)
		OPENSSL_cleanse(plain, plen);
	free(plain);
	free(der);
	return rc;
}

enum sg_rc
ra_request_reject(struct ra *ra, int64_t id, const char *reason,
    struct sg_err *err)
{
	struct ra_txn	t = { 0 };
	char		details[320];
	enum sg_rc	rc;

	if ((rc = awaiting(ra, id, &t, NULL, NULL, err)) == SG_OK) {
		t.status = RA_REQ_REJECTED;
		t.failinfo = SG_FAIL_BADREQUEST;
		snprintf(t.reason, sizeof(t.reason), "rejected by %s: %s",
		    ra->actor, reason);
		rc = ra_store_txn_update(ra->store, &t, RA_REQ_PENDING, err);
	}
	snprintf(details, sizeof(details), "request %lld: %s", (long long)id,
	    reason);
	ra_audit_txn(ra, "request reject", &t, rc, err, details);
	return rc;
}
