/*
 * The RA: opens keys, store and upstream once, answers the SCEP
 * operations, and dispatches PKIOperation on messageType (RFC 8894 3.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>

#include "ra_int.h"

/* One PKIOperation being answered. */
struct op {
	struct ra		*ra;
	struct ra_endpoint	 ep;
	const struct ra_key	*rk;
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
};

static void
build_caps(struct ra *ra)
{
	const struct conf *c = ra->conf;

	/*
	 * scep-interop.md 2.1, exact case. SHA-384 too: strongSwan 5.9.8
	 * (Debian 12) tests each capability against the wrong bit and only
	 * uses AES with SHA-256 when SHA-384 is listed as well. GetNextCACert
	 * and Renewal only once implemented (XXX issue #3).
	 */
	snprintf(ra->caps, sizeof(ra->caps), "AES\n%sPOSTPKIOperation\n"
	    "SCEPStandard\n%sSHA-256\nSHA-384\nSHA-512\n",
	    c->allow_des ? "DES3\n" : "", c->allow_sha1 ? "SHA-1\n" : "");
}

static pthread_once_t	legacy_once = PTHREAD_ONCE_INIT;
static bool		legacy_ok;

/*
 * Single DES (micromdm scepclient, old Cisco, certmonger) lives in the
 * legacy provider in OpenSSL 3; load it beside the default provider once
 * per process, only when crypto.allow_des is set (scep-interop.md 9).
 */
static void
load_legacy(void)
{
	legacy_ok = OSSL_PROVIDER_load(NULL, "legacy") != NULL &&
	    OSSL_PROVIDER_load(NULL, "default") != NULL;
}

enum sg_rc
ra_open(const struct conf *conf, struct ra **out, struct sg_err *err)
{
	struct ra	*ra;
	enum sg_rc	 rc;

	if ((ra = calloc(1, sizeof(*ra))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "ra");
	ra->conf = conf;
	snprintf(ra->actor, sizeof(ra->actor), "system");
	if (conf->allow_des) {
		pthread_once(&legacy_once, load_legacy);
		if (!legacy_ok)
			sg_log(SG_LOG_WARN, "OpenSSL legacy provider not "
			    "available: single-DES requests will fail");
	}
	if ((rc = ra_up_open(conf, &ra->up, err)) != SG_OK ||
	    (rc = ra_keys_load(&ra->keys, conf, ra->up->chain, err)) != SG_OK ||
	    (rc = ra_store_open(conf->database, &ra->store, err)) != SG_OK) {
		ra_close(ra);
		return rc;
	}
	build_caps(ra);
	*out = ra;
	return SG_OK;
}

void
ra_close(struct ra *ra)
{
	if (ra == NULL)
		return;
	ra_store_close(ra->store);
	ra_keys_free(&ra->keys);
	ra_up_free(ra->up);
	free(ra);
}

void
ra_set_actor(struct ra *ra, const char *actor)
{
	snprintf(ra->actor, sizeof(ra->actor), "%s", actor);
}

void
ra_reply_free(struct ra_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static enum sg_rc
reply_copy(struct ra_reply *r, const char *ctype, const void *p, size_t n)
{
	if ((r->body = malloc(n > 0 ? n : 1)) == NULL)
		return SG_ENOMEM;
	memcpy(r->body, p, n);
	r->len = n;
	r->ctype = ctype;
	return SG_OK;
}

/* The endpoint for a URI and its RA key. */
static enum sg_rc
find_endpoint(struct ra *ra, const char *uri, struct ra_endpoint *ep,
    const struct ra_key **rk, struct sg_err *err)
{
	enum sg_rc	rc;

	if ((rc = ra_store_endpoint_get(ra->store, uri, true, ep, err)) !=
	    SG_OK)
		return rc;
	if ((*rk = ra_keys_find(&ra->keys, ep->ra_id)) == NULL)
		return sg_err_set(err, SG_ECONF, "endpoint '%s' uses RA '%s', "
		    "which the configuration does not define", ep->name,
		    ep->ra_id);
	return SG_OK;
}

enum sg_rc
ra_getcacaps(struct ra *ra, const char *uri, struct ra_reply *r,
    struct sg_err *err)
{
	struct ra_endpoint	 ep;
	const struct ra_key	*rk;
	enum sg_rc		 rc;

	if ((rc = find_endpoint(ra, uri, &ep, &rk, err)) != SG_OK)
		return rc;
	return reply_copy(r, "text/plain", ra->caps, strlen(ra->caps));
}

enum sg_rc
ra_getcacert(struct ra *ra, const char *uri, struct ra_reply *r,
    struct sg_err *err)
{
	struct ra_endpoint	 ep;
	const struct ra_key	*rk;
	enum sg_rc		 rc;

	if ((rc = find_endpoint(ra, uri, &ep, &rk, err)) != SG_OK)
		return rc;
	switch (ep.cacert_fmt) {
	case RA_CACERT_DER:
		return reply_copy(r, "application/x-x509-ca-cert", rk->der,
		    rk->der_len);
	case RA_CACERT_PEM:
		return reply_copy(r, "application/x-x509-ca-cert", rk->pem,
		    rk->pem_len);
	case RA_CACERT_CMS_CHAIN:
		break;
	}
	return reply_copy(r, "application/x-x509-ca-ra-cert", rk->cms,
	    rk->cms_len);
}

/* Answer FAILURE: "text" goes to the client, "fmt" to log and audit. */
static void
op_fail(struct op *op, int failinfo, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
op_fail(struct op *op, int failinfo, const char *text, const char *fmt, ...)
{
	va_list	ap;

	op->status = P7_STATUS_FAILURE;
	op->failinfo = failinfo;
	op->failtext = text;
	va_start(ap, fmt);
	vsnprintf(op->reason, sizeof(op->reason), fmt, ap);
	va_end(ap);
}

/* A FAILURE from a typed error of pkcs7/ or the policy. */
static void
op_fail_err(struct op *op, const struct sg_err *e)
{
	int		 fi = e->failinfo >= 0 ? e->failinfo : SG_FAIL_BADREQUEST;
	const char	*text;

	switch (fi) {
	case SG_FAIL_BADALG:	  text = "unsupported algorithm"; break;
	case SG_FAIL_BADMSGCHECK: text = "message check failed"; break;
	case SG_FAIL_BADTIME:	  text = "bad time"; break;
	case SG_FAIL_BADCERTID:	  text = "certificate not found"; break;
	default:		  text = "bad request"; break;
	}
	op_fail(op, fi, text, "%s", e->msg);
}

/* SUCCESS with "x" first, then the CA chain if the endpoint wants it. */
static enum sg_rc
op_success(struct op *op, X509 *x)
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

static void
audit_op(struct op *op, const char *action, const char *outcome)
{
	struct ra_audit	 a = { 0 };
	char		 actor[96];

	snprintf(actor, sizeof(actor), "device@%s", op->peer);
	a.actor = actor;
	a.endpoint = op->ep.name;
	a.account = op->account[0] ? op->account : NULL;
	a.transid = op->msg->transid;
	a.action = action;
	a.outcome = outcome;
	a.details = op->reason[0] ? op->reason : NULL;
	if (ra_store_audit_add(op->ra->store, &a, NULL) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: cannot write the audit record",
		    op->tid);
}

/* Algorithms this server accepts (GetCACaps says the same). */
static bool
alg_allowed(const struct op *op, struct sg_err *e)
{
	const struct conf *c = op->ra->conf;
	int		 d = op->msg->digest_nid;

	if (d == NID_sha1 && !c->allow_sha1) {
		sg_err_fail(e, SG_EALG, SG_FAIL_BADALG, "SHA-1 is disabled");
		return false;
	}
	if (d != NID_sha1 && d != NID_sha224 && d != NID_sha256 &&
	    d != NID_sha384 && d != NID_sha512) {
		sg_err_fail(e, SG_EALG, SG_FAIL_BADALG, "digest %s refused",
		    OBJ_nid2sn(d));
		return false;
	}
	return true;
}

static bool
cipher_allowed(const struct op *op, struct sg_err *e)
{
	int	n = op->msg->cipher_nid;

	if ((n == NID_des_cbc || n == NID_des_ede3_cbc) &&
	    !op->ra->conf->allow_des) {
		sg_err_fail(e, SG_EALG, SG_FAIL_BADALG, "%s is disabled "
		    "(crypto.allow_des)", OBJ_nid2sn(n));
		return false;
	}
	return true;
}

/* Deliver the certificate of an issued transaction again (RFC 8894 5.2). */
static void
redeliver(struct op *op, const struct ra_txn *t)
{
	struct sg_err		 e;
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	X509			*x = NULL;

	if (ra_store_cert_get(op->ra->store, t->serial, &der, &len, &e) !=
	    SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "%s", e.msg);
		goto out;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    op_success(op, x) != SG_OK)
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "stored "
		    "certificate %s unreadable", t->serial);
	else
		snprintf(op->reason, sizeof(op->reason), "serial %s "
		    "delivered again", t->serial);
out:
	X509_free(x);
	free(der);
}

/*
 * What an earlier transaction with the same transactionID means for
 * this request (RFC 8894 5.2, scep-interop.md 6). Returns true when the
 * answer is decided.
 */
static bool
resync(struct op *op, const struct p7_csr *csr)
{
	struct ra_txn	t;
	struct sg_err	e;

	if (ra_store_txn_find(op->ra->store, op->ep.id, op->msg->transid, &t,
	    &e) != SG_OK)
		return false;
	switch (t.status) {
	case RA_TXN_ISSUED:
		if (memcmp(t.key_id, csr->key_id, sizeof(t.key_id)) != 0) {
			op_fail(op, SG_FAIL_BADREQUEST, "transactionID in use",
			    "transactionID already issued for another key");
			return true;
		}
		redeliver(op, &t);
		return true;
	case RA_TXN_NEW:
	case RA_TXN_PENDING:
		op->status = P7_STATUS_PENDING;
		snprintf(op->reason, sizeof(op->reason), "transaction "
		    "already in progress");
		return true;
	case RA_TXN_REJECTED:
		break;	/* a fresh attempt */
	}
	return false;
}

/* Check the access code: the account it belongs to, or a failure. */
static bool
authorize(struct op *op, const struct p7_csr *csr, struct ra_account *acct)
{
	uint8_t		mac[32];
	struct sg_err	e;
	enum sg_rc	rc;

	if (op->ep.type == RA_EP_DEVICE_INTUNE ||
	    op->ep.type == RA_EP_CLIENT_INTUNE) {
		/* XXX issue: Intune challenge validation is not written. */
		op_fail(op, SG_FAIL_BADREQUEST, "request refused", "Intune "
		    "validation is not implemented yet");
		return false;
	}
	if (csr->challenge == NULL || csr->challenge[0] == '\0') {
		op_fail(op, SG_FAIL_BADREQUEST, "access code required",
		    "no challengePassword in the request");
		return false;
	}
	if (strlen(csr->challenge) > RA_CODE_MAX ||
	    ra_keys_code_hmac(&op->ra->keys, csr->challenge, mac) != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "bad access code",
		    "access code mismatch");
		return false;
	}
	rc = ra_store_account_by_code(op->ra->store, op->ep.id, mac, acct, &e);
	if (rc == SG_ENOTFOUND) {
		op_fail(op, SG_FAIL_BADREQUEST, "bad access code",
		    "access code mismatch");
		return false;
	}
	if (rc != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "%s", e.msg);
		return false;
	}
	snprintf(op->account, sizeof(op->account), "%s", acct->name);
	if (acct->disabled) {
		op_fail(op, SG_FAIL_BADREQUEST, "bad access code", "account "
		    "'%s' is disabled", acct->name);
		return false;
	}
	return true;
}

/* Issue with the upstream CA and record the certificate. */
static void
issue(struct op *op, const struct p7_csr *csr, const struct ra_account *acct,
    struct ra_txn *t)
{
	struct ra_issue		 is = { 0 };
	struct ra_cert_rec	 cr = { 0 };
	struct sg_err		 e;
	unsigned char		*der = NULL;
	X509			*x = NULL;
	int			 n;

	is.csr = csr;
	is.ep = &op->ep;
	is.acct = acct;
	is.transid = op->msg->transid;
	is.now = time(NULL);
	if (op->ra->up->ops->issue(op->ra->up, &is, &x, &e) != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "request refused", "upstream: "
		    "%s", e.msg);
		goto out;
	}
	ra_x509_serial(x, t->serial, sizeof(t->serial));
	snprintf(cr.serial, sizeof(cr.serial), "%s", t->serial);
	cr.endpoint_id = op->ep.id;
	cr.account_id = acct->id;
	cr.txn_id = t->id;
	snprintf(cr.subject, sizeof(cr.subject), "%s", csr->subject);
	cr.not_before = (int64_t)is.now;
	cr.not_after = (int64_t)is.now + (int64_t)acct->term_days * 86400;
	if ((n = i2d_X509(x, &der)) <= 0) {
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "encode");
		goto out;
	}
	cr.der = der;
	cr.der_len = (size_t)n;
	if (ra_store_cert_add(op->ra->store, &cr, &e) != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "%s", e.msg);
		goto out;
	}
	if (op_success(op, x) != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "memory");
		goto out;
	}
	snprintf(op->reason, sizeof(op->reason), "issued serial %s to %s",
	    t->serial, csr->subject);
out:
	OPENSSL_free(der);
	X509_free(x);
}

/* PKCSReq (RFC 8894 3.3.1): initial enrollment with an access code. */
static void
pkcsreq(struct op *op)
{
	struct p7_csr		*csr = NULL;
	struct ra_account	 acct;
	struct ra_txn		 t;
	struct sg_err		 e;
	enum sg_rc		 rc;

	if (p7_csr_parse(op->msg->data, op->msg->data_len, &csr, &e) !=
	    SG_OK) {
		op_fail_err(op, &e);
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
	t.csr = op->msg->data;
	t.csr_len = op->msg->data_len;
	rc = ra_store_txn_begin(op->ra->store, &t, &e);
	if (rc == SG_EEXIST) {
		/* The same transaction, concurrently: it is in progress. */
		op->status = P7_STATUS_PENDING;
		snprintf(op->reason, sizeof(op->reason), "transaction "
		    "already in progress");
		goto out;
	}
	if (rc != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "internal error", "%s", e.msg);
		goto out;
	}
	if (authorize(op, csr, &acct)) {
		t.account_id = acct.id;
		if (ra_policy_check_key(csr, &e) != SG_OK)
			op_fail_err(op, &e);
		else
			issue(op, csr, &acct, &t);
	}
	t.status = op->status == P7_STATUS_SUCCESS ? RA_TXN_ISSUED :
	    RA_TXN_REJECTED;
	t.failinfo = op->status == P7_STATUS_FAILURE ? op->failinfo : -1;
	snprintf(t.reason, sizeof(t.reason), "%s", op->reason);
	if (ra_store_txn_finish(op->ra->store, &t, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: %s", op->tid, e.msg);
out:
	p7_csr_free(csr);
}

/* Hash of the signer's public key, to match it with a transaction. */
static bool
signer_owns(const struct op *op, const struct ra_txn *t)
{
	unsigned char	*der = NULL;
	uint8_t		 md[32];
	unsigned int	 mdlen = 0;
	int		 n;
	bool		 ok = false;

	n = i2d_PUBKEY(X509_get0_pubkey(op->msg->signer), &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(),
	    NULL) == 1)
		ok = memcmp(md, t->key_id, sizeof(md)) == 0;
	OPENSSL_free(der);
	return ok;
}

/*
 * CertPoll (RFC 8894 3.3.3): the transaction is named by its
 * transactionID; the IssuerAndSubject inside is not needed.
 */
static void
certpoll(struct op *op)
{
	struct ra_txn	t;
	struct sg_err	e;

	if (ra_store_txn_find(op->ra->store, op->ep.id, op->msg->transid, &t,
	    &e) != SG_OK) {
		op_fail(op, SG_FAIL_BADREQUEST, "no such transaction",
		    "CertPoll for an unknown transaction");
		return;
	}
	if (!signer_owns(op, &t)) {
		op_fail(op, SG_FAIL_BADREQUEST, "no such transaction",
		    "CertPoll signed with another key than the request");
		return;
	}
	switch (t.status) {
	case RA_TXN_ISSUED:
		redeliver(op, &t);
		break;
	case RA_TXN_NEW:
	case RA_TXN_PENDING:
		op->status = P7_STATUS_PENDING;
		break;
	case RA_TXN_REJECTED:
		op_fail(op, t.failinfo >= 0 ? t.failinfo : SG_FAIL_BADREQUEST,
		    "request refused", "%s", t.reason);
		break;
	}
}

/* GetCert (RFC 8894 3.3.4): a certificate by issuer and serial. */
static void
getcert(struct op *op)
{
	const unsigned char	*p = op->msg->data;
	PKCS7_ISSUER_AND_SERIAL	*ias;
	struct ra_txn		 t = { 0 };
	BIGNUM			*bn = NULL;
	char			*hex = NULL;

	ias = d2i_PKCS7_ISSUER_AND_SERIAL(NULL, &p, (long)op->msg->data_len);
	if (ias == NULL || (bn = ASN1_INTEGER_to_BN(ias->serial, NULL)) ==
	    NULL || (hex = BN_bn2hex(bn)) == NULL) {
		op_fail(op, SG_FAIL_BADREQUEST, "bad request", "GetCert: "
		    "RFC 8894 3.3.4: not an IssuerAndSerialNumber");
		goto out;
	}
	snprintf(t.serial, sizeof(t.serial), "%s", hex);
	redeliver(op, &t);
	if (op->status == P7_STATUS_FAILURE)
		op_fail(op, SG_FAIL_BADCERTID, "certificate not found",
		    "GetCert: no certificate with serial %s", hex);
out:
	OPENSSL_free(hex);
	BN_free(bn);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
}

/* Decrypt, check algorithms, and run the message type's handler. */
static void
dispatch(struct op *op)
{
	struct sg_err	e;

	if (!alg_allowed(op, &e)) {
		op_fail_err(op, &e);
		return;
	}
	if (p7_msg_open(op->msg, op->rk->cert, op->rk->key, &e) != SG_OK ||
	    !cipher_allowed(op, &e)) {
		op_fail_err(op, &e);
		return;
	}
	switch (op->msg->type) {
	case P7_TYPE_PKCSREQ:
		pkcsreq(op);
		break;
	case P7_TYPE_CERTPOLL:
		certpoll(op);
		break;
	case P7_TYPE_GETCERT:
		getcert(op);
		break;
	case P7_TYPE_RENEWALREQ:
	case P7_TYPE_UPDATEREQ:
	case P7_TYPE_GETCRL:
		/* XXX issue #3: renewal and CRLs are not implemented yet. */
		op_fail(op, SG_FAIL_BADREQUEST, "not supported", "%s is not "
		    "supported yet", p7_type_name(op->msg->type));
		break;
	default:
		op_fail(op, SG_FAIL_BADREQUEST, "bad request", "unknown "
		    "messageType %d", op->msg->type);
		break;
	}
}

static const char *
status_name(int status)
{
	switch (status) {
	case P7_STATUS_SUCCESS:	return "success";
	case P7_STATUS_PENDING:	return "pending";
	}
	return "failure";
}

/* Sign (and on SUCCESS encrypt) the answer; SUCCESS falls back to FAILURE. */
static enum sg_rc
op_reply(struct op *op, struct ra_reply *r, struct sg_err *err)
{
	struct p7_rep	 rep = { 0 };
	enum sg_rc	 rc;

	rep.req = op->msg;
	rep.sign_cert = op->rk->cert;
	rep.sign_key = op->rk->key;
	rep.status = op->status;
	rep.failinfo = op->failinfo;
	rep.failtext = op->failtext;
	rep.certs = op->certs;
	/* A request that never opened has no cipher to mirror. */
	if (op->msg->cipher_nid == 0)
		rep.cipher_nid = NID_aes_128_cbc;
	rc = p7_rep_build(&rep, &r->body, &r->len, err);
	if (rc != SG_OK && op->status == P7_STATUS_SUCCESS) {
		sg_log(SG_LOG_ERR, "transid=%s: cannot build the SUCCESS "
		    "reply: %s", op->tid, err ? err->msg : "");
		op_fail(op, SG_FAIL_BADALG, "cannot encrypt the reply",
		    "reply encryption failed");
		rep.status = op->status;
		rep.failinfo = op->failinfo;
		rep.failtext = op->failtext;
		rc = p7_rep_build(&rep, &r->body, &r->len, err);
	}
	r->ctype = "application/x-pki-message";
	return rc;
}

enum sg_rc
ra_pkiop(struct ra *ra, const char *uri, const uint8_t *der, size_t len,
    const char *peer, struct ra_reply *r, struct sg_err *err)
{
	struct op	 op;
	struct sg_err	 perr;
	enum sg_rc	 rc;

	memset(&op, 0, sizeof(op));
	op.ra = ra;
	op.peer = peer;
	op.failinfo = SG_FAIL_NONE;
	if ((rc = find_endpoint(ra, uri, &op.ep, &op.rk, err)) != SG_OK)
		return rc;
	rc = p7_msg_parse(der, len, &op.msg, &perr);
	if (op.msg == NULL) {
		/* Not SCEP at all: no signer to answer (HTTP 400). */
		sg_log(SG_LOG_INFO, "endpoint=%s peer=%s: PKIOperation "
		    "refused: %s", op.ep.name, peer, perr.msg);
		return sg_err_set(err, SG_EPARSE, "%s", perr.msg);
	}
	sg_safe_str(op.msg->transid, op.tid, sizeof(op.tid));
	if (rc != SG_OK)
		op_fail_err(&op, &perr);
	else
		dispatch(&op);
	rc = op_reply(&op, r, err);
	sg_log(op.status == P7_STATUS_FAILURE ? SG_LOG_WARN : SG_LOG_INFO,
	    "endpoint=%s transid=%s peer=%s account=%s: %s %s%s%s",
	    op.ep.name, op.tid, peer, op.account[0] ? op.account : "-",
	    p7_type_name(op.msg->type), status_name(op.status),
	    op.reason[0] ? ": " : "", op.reason);
	if (op.msg->type == P7_TYPE_PKCSREQ || op.status ==
	    P7_STATUS_FAILURE)
		audit_op(&op, p7_type_name(op.msg->type),
		    status_name(op.status));
	sk_X509_pop_free(op.certs, X509_free);
	p7_msg_free(op.msg);
	return rc;
}
