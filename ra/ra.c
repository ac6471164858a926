/*
 * The RA: opens keys, store and upstream once, answers the SCEP
 * operations, and dispatches PKIOperation on messageType (RFC 8894 3.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include "ra_http.h"
#include "ra_int.h"
#include "ra_intune.h"

/* OpenSSL library state, loaded once per process (see common/sg.h). */
static pthread_once_t	 legacy_once = PTHREAD_ONCE_INIT;
static OSSL_PROVIDER	*legacy, *deflt;

static void
unload_legacy(void)
{
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
}

/*
 * Single DES (micromdm scepclient, old Cisco, certmonger) lives in the
 * legacy provider in OpenSSL 3; load it beside the default provider once
 * per process, only when crypto.allow_des is set (scep-interop.md 9).
 */
static void
load_legacy(void)
{
	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	deflt = OSSL_PROVIDER_load(NULL, "default");
	atexit(unload_legacy);
}

static void
build_caps(struct ra *ra)
{
	const struct conf *c = ra->conf;

	/*
	 * scep-interop.md 2.1, exact case. SHA-384 too: strongSwan 5.9.8
	 * (Debian 12) tests each capability against the wrong bit and only
	 * uses AES with SHA-256 when SHA-384 is listed as well.
	 */
	snprintf(ra->caps, sizeof(ra->caps), "AES\n%s%sPOSTPKIOperation\n"
	    "Renewal\nSCEPStandard\n%sSHA-256\nSHA-384\nSHA-512\n",
	    c->allow_des ? "DES3\n" : "",
	    ra->next_ca_p7 != NULL ? "GetNextCACert\n" : "",
	    c->allow_sha1 ? "SHA-1\n" : "");
}

/* The GetNextCACert certificates: next RA (if any), then the next CA. */
static enum sg_rc
load_next(struct ra *ra, struct sg_err *err)
{
	const struct conf	*c = ra->conf;
	STACK_OF(X509)		*certs = NULL;
	X509			*x = NULL;
	enum sg_rc		 rc = SG_OK;

	if (c->upstream.next_ca_cert[0] == '\0')
		return SG_OK;
	if ((certs = sk_X509_new_null()) == NULL)
		return sg_err_set(err, SG_ENOMEM, "rollover");
	if (c->nra > 0 && c->ra[0].next_cert[0] != '\0' &&
	    (rc = ra_pem_read_certs(c->ra[0].next_cert, certs, err)) != SG_OK)
		goto out;
	if ((rc = ra_pem_read_cert(c->upstream.next_ca_cert, &x, err)) !=
	    SG_OK)
		goto out;
	if (!sk_X509_push(certs, x)) {
		X509_free(x);
		rc = sg_err_set(err, SG_ENOMEM, "rollover");
		goto out;
	}
	/* Kept unsigned: each endpoint's RA signs it per request. */
	rc = p7_certs_build(certs, &ra->next_ca_p7, &ra->next_ca_p7_len, err);
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* PEM text of one certificate, malloc'ed and NUL-terminated. */
static enum sg_rc
cert_pem(X509 *x, char **out, size_t *len, struct sg_err *err)
{
	BIO		*b;
	char		*p;
	long		 n;
	enum sg_rc	 rc = SG_OK;

	if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (*out = malloc((size_t)n + 1)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "GetCACert pem body");
		goto out;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
out:
	BIO_free(b);
	return rc;
}

/* DER of one certificate, malloc'ed. */
static enum sg_rc
cert_der(X509 *x, uint8_t **out, size_t *len, struct sg_err *err)
{
	unsigned char	*der = NULL;
	int		 n;

	if ((n = i2d_X509(x, &der)) <= 0 ||
	    (*out = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		return sg_err_set(err, SG_ENOMEM, "GetCACert der body");
	}
	memcpy(*out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	return SG_OK;
}

/*
 * The three GetCACert bodies of every RA certificate, built once at
 * start (DESIGN.md: GetCACert is a static answer). The two-RA chain is
 * built per request instead (two_ra_chain).
 */
static enum sg_rc
cacert_bodies(struct ra *ra, struct sg_err *err)
{
	const struct ra_key	*rk;
	struct ra_cacert	*b;
	size_t			 i;
	enum sg_rc		 rc;

	for (i = 0; i < ra->keys.nra; i++) {
		rk = &ra->keys.ra[i];
		b = &ra->cacert[i];
		if ((rc = p7_certs_build(rk->chain, &b->cms, &b->cms_len,
		    err)) != SG_OK)
			return rc;
		if ((rc = cert_der(rk->cert, &b->der, &b->der_len, err)) !=
		    SG_OK)
			return rc;
		if ((rc = cert_pem(rk->cert, &b->pem, &b->pem_len, err)) !=
		    SG_OK)
			return rc;
	}
	return SG_OK;
}

/* The bodies of "rk", one of ra->keys.ra. */
const struct ra_cacert *
ra_cacert_of(const struct ra *ra, const struct ra_key *rk)
{
	return &ra->cacert[rk - ra->keys.ra];
}

enum sg_rc
ra_open(const struct conf *conf, struct ra **out, struct sg_err *err)
{
	struct ra	*ra;
	enum sg_rc	 rc;

	if ((ra = calloc(1, sizeof(*ra))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "ra");
	ra->conf = conf;
	if (conf->allow_des) {
		pthread_once(&legacy_once, load_legacy);
		if (legacy == NULL || deflt == NULL)
			sg_log(SG_LOG_WARN, "OpenSSL legacy provider not "
			    "available: single-DES requests will fail");
	}
	/* One step a statement: each failure sets rc (STYLE.md 8). */
	if ((rc = ra_up_open(conf, &ra->up, err)) != SG_OK)
		goto out;
	if ((rc = ra_keys_load(&ra->keys, conf, ra->up->chain, err)) != SG_OK)
		goto out;
	if ((rc = cacert_bodies(ra, err)) != SG_OK)
		goto out;
	if ((rc = load_next(ra, err)) != SG_OK)
		goto out;
	if ((rc = ra_store_open_flags(conf->database,
	    conf->database_auto_upgrade ? 0 : RA_STORE_NO_UPGRADE,
	    &ra->store, err)) != SG_OK)
		goto out;
	ra->claim_lease = 2 * (int64_t)ra_poll_interval(ra) + 10;
	/* One Intune client per Azure account (no network call yet). */
	for (; ra->nintune < conf->nazure; ra->nintune++)
		if ((rc = ra_intune_open(&conf->azure[ra->nintune],
		    &ra->intune[ra->nintune], err)) != SG_OK)
			goto out;
	if ((rc = ra_http_new("webhook", NULL, &ra->webhook, err)) != SG_OK)
		goto out;
	build_caps(ra);
	*out = ra;
	ra = NULL;
out:
	ra_close(ra);
	return rc;
}

enum sg_rc
ra_reload(struct ra *ra, struct sg_err *err)
{
	enum sg_rc	rc = SG_OK;
	size_t		i;

	for (i = 0; i < ra->nintune; i++)
		if (ra_intune_reload(ra->intune[i], rc == SG_OK ? err :
		    NULL) != SG_OK)
			rc = SG_ECONF;
	return rc;
}

void
ra_close(struct ra *ra)
{
	size_t	i;

	if (ra == NULL)
		return;
	ra_store_close(ra->store);
	ra_keys_free(&ra->keys);
	ra_up_free(ra->up);
	ra_http_free(ra->webhook);
	for (i = 0; i < ra->nintune; i++)
		ra_intune_free(ra->intune[i]);
	for (i = 0; i < CONF_MAX_RA; i++) {
		free(ra->cacert[i].cms);
		free(ra->cacert[i].der);
		free(ra->cacert[i].pem);
	}
	free(ra->next_ca_p7);
	free(ra);
}

enum sg_rc
ra_health(struct ra *ra, struct sg_err *err)
{
	return ra_store_ping(ra->store, err);
}

int
ra_poll_interval(const struct ra *ra)
{
	if (ra->up->ops->collect == NULL)
		return 0;
	return ra->conf->upstream.poll_interval > 0 ?
	    ra->conf->upstream.poll_interval : 5;
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
reply_copy(struct ra_reply *r, const char *ctype, const void *p, size_t n,
    struct sg_err *err)
{
	if ((r->body = malloc(n > 0 ? n : 1)) == NULL)
		return sg_err_set(err, SG_ENOMEM, "%s reply", ctype);
	memcpy(r->body, p, n);
	r->len = n;
	r->ctype = ctype;
	return SG_OK;
}

/* The endpoint for a URI and its RA keys (signing and decryption). */
static enum sg_rc
find_endpoint(struct ra *ra, const char *uri, struct ra_endpoint *ep,
    const struct ra_key **rk, const struct ra_key **rk_enc,
    struct sg_err *err)
{
	const char	*enc;
	enum sg_rc	 rc;

	if ((rc = ra_store_endpoint_get(ra->store, uri, true, ep, err)) !=
	    SG_OK)
		return rc;
	enc = ep->ra_enc_id[0] != '\0' ? ep->ra_enc_id : ep->ra_id;
	if ((*rk = ra_keys_find(&ra->keys, ep->ra_id)) == NULL ||
	    (*rk_enc = ra_keys_find(&ra->keys, enc)) == NULL)
		return sg_err_set(err, SG_ECONF, "endpoint '%s' uses RA '%s', "
		    "which the configuration does not define", ep->name,
		    *rk == NULL ? ep->ra_id : enc);
	return SG_OK;
}

enum sg_rc
ra_getcacaps(struct ra *ra, const char *uri, struct ra_reply *r,
    struct sg_err *err)
{
	struct ra_endpoint	 ep;
	const struct ra_key	*rk, *rk_enc;
	enum sg_rc		 rc;

	if ((rc = find_endpoint(ra, uri, &ep, &rk, &rk_enc, err)) != SG_OK)
		return rc;
	return reply_copy(r, "text/plain", ra->caps, strlen(ra->caps), err);
}

/*
 * With separate RA certificates, the chain form lists the encryption
 * one, then the signing one, then the CA chain (scep-interop.md 3.2).
 */
static enum sg_rc
two_ra_chain(const struct ra_key *sig, const struct ra_key *enc,
    struct ra_reply *r, struct sg_err *err)
{
	STACK_OF(X509)	*certs;
	int		 i;
	enum sg_rc	 rc = SG_ENOMEM;

	if ((certs = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(certs, enc->cert))
		goto out;
	for (i = 0; i < sk_X509_num(sig->chain); i++)
		if (!sk_X509_push(certs, sk_X509_value(sig->chain, i)))
			goto out;
	rc = p7_certs_build(certs, &r->body, &r->len, err);
	r->ctype = "application/x-x509-ca-ra-cert";
out:
	sk_X509_free(certs);	/* the certificates are borrowed */
	return rc;
}

enum sg_rc
ra_getcacert(struct ra *ra, const char *uri, struct ra_reply *r,
    struct sg_err *err)
{
	struct ra_endpoint	 ep;
	const struct ra_key	*rk, *rk_enc;
	enum sg_rc		 rc;

	if ((rc = find_endpoint(ra, uri, &ep, &rk, &rk_enc, err)) != SG_OK)
		return rc;
	/* One certificate: the one clients encrypt to (DESIGN.md). */
	switch (ep.cacert_fmt) {
	case RA_CACERT_DER:
		return reply_copy(r, "application/x-x509-ca-cert",
		    ra_cacert_of(ra, rk_enc)->der,
		    ra_cacert_of(ra, rk_enc)->der_len, err);
	case RA_CACERT_PEM:
		return reply_copy(r, "application/x-x509-ca-cert",
		    ra_cacert_of(ra, rk_enc)->pem,
		    ra_cacert_of(ra, rk_enc)->pem_len, err);
	case RA_CACERT_CMS_CHAIN:
		break;
	}
	if (rk_enc != rk)
		return two_ra_chain(rk, rk_enc, r, err);
	return reply_copy(r, "application/x-x509-ca-ra-cert",
	    ra_cacert_of(ra, rk)->cms, ra_cacert_of(ra, rk)->cms_len, err);
}

enum sg_rc
ra_getnextcacert(struct ra *ra, const char *uri, struct ra_reply *r,
    struct sg_err *err)
{
	struct ra_endpoint	 ep;
	const struct ra_key	*rk, *rk_enc;
	STACK_OF(X509)		*certs = NULL;
	enum sg_rc		 rc;

	if ((rc = find_endpoint(ra, uri, &ep, &rk, &rk_enc, err)) != SG_OK)
		return rc;
	if (ra->next_ca_p7 == NULL)
		return sg_err_set(err, SG_ENOTFOUND, "no next CA certificate "
		    "configured");
	if ((rc = p7_certs_parse(ra->next_ca_p7, ra->next_ca_p7_len, &certs,
	    err)) == SG_OK)
		rc = p7_next_build(certs, rk->cert, rk->key, &r->body, &r->len,
		    err);
	sk_X509_pop_free(certs, X509_free);
	r->ctype = "application/x-x509-next-ca-cert";
	return rc;
}

/* Algorithms this server accepts (GetCACaps says the same). */
static bool
alg_allowed(const struct ra_op *op, struct sg_err *e)
{
	const struct conf *c = op->ra->conf;
	int		 d = op->msg->digest_nid;

	if (d == NID_sha1 && !c->allow_sha1) {
		(void)sg_err_fail(e, SG_EALG, SG_FAIL_BADALG, "SHA-1 is disabled "
		    "(crypto.allow_sha1)");
		return false;
	}
	if (d != NID_sha1 && d != NID_sha224 && d != NID_sha256 &&
	    d != NID_sha384 && d != NID_sha512) {
		(void)sg_err_fail(e, SG_EALG, SG_FAIL_BADALG, "digest %s refused",
		    OBJ_nid2sn(d));
		return false;
	}
	return true;
}

static bool
cipher_allowed(const struct ra_op *op, struct sg_err *e)
{
	int	n = op->msg->cipher_nid;

	if ((n == NID_des_cbc || n == NID_des_ede3_cbc) &&
	    !op->ra->conf->allow_des) {
		(void)sg_err_fail(e, SG_EALG, SG_FAIL_BADALG, "%s is disabled "
		    "(crypto.allow_des)", OBJ_nid2sn(n));
		return false;
	}
	return true;
}

/* Decrypt, check algorithms, and run the message type's handler. */
static void
dispatch(struct ra_op *op)
{
	struct sg_err	e;

	if (!alg_allowed(op, &e)) {
		ra_op_fail_err(op, &e);
		return;
	}
	if (p7_msg_open(op->msg, op->rk_enc->cert, op->rk_enc->key, &e) !=
	    SG_OK || !cipher_allowed(op, &e)) {
		ra_op_fail_err(op, &e);
		return;
	}
	switch (op->msg->type) {
	case P7_TYPE_PKCSREQ:
		ra_op_pkcsreq(op, false);
		break;
	case P7_TYPE_RENEWALREQ:
	case P7_TYPE_UPDATEREQ:	/* the drafts' name for it */
		ra_op_pkcsreq(op, true);
		break;
	case P7_TYPE_CERTPOLL:
		ra_op_certpoll(op);
		break;
	case P7_TYPE_GETCERT:
		ra_op_getcert(op);
		break;
	case P7_TYPE_GETCRL:
		ra_op_getcrl(op);
		break;
	default:
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "unknown "
		    "messageType %d", op->msg->type);
		break;
	}
}

/* The log line and the audit record of one PKIOperation. */
static void
op_record(struct ra_op *op)
{
	sg_log(op->status == P7_STATUS_SUCCESS ||
	    op->status == P7_STATUS_PENDING ? SG_LOG_INFO :
	    op->status == RA_OP_INTERNAL ? SG_LOG_ERR : SG_LOG_WARN,
	    "endpoint=%s transid=%s peer=%s account=%s: %s %s%s%s",
	    op->ep.name, op->tid, op->peer, op->account[0] ? op->account : "-",
	    p7_type_name(op->msg->type), ra_p7_status_name(op->status),
	    op->err.msg[0] ? ": " : "", op->err.msg);
	/* Every enrollment outcome, and every refusal, is audited. */
	if (!op->audited && (op->msg->type == P7_TYPE_PKCSREQ ||
	    op->msg->type == P7_TYPE_RENEWALREQ ||
	    op->status != P7_STATUS_PENDING))
		ra_audit_op(op, ra_p7_status_name(op->status));
}

bool
ra_pkiop_may_wait(struct ra *ra, const char *uri)
{
	struct ra_endpoint	ep;
	struct sg_err		err;

	if (ra->conf->upstream.type != CONF_UPSTREAM_LOCAL ||
	    ra->conf->nazure > 0)
		return true;
	if (ra_store_endpoint_get(ra->store, uri, true, &ep, &err) != SG_OK)
		return err.rc != SG_ENOTFOUND;
	return ep.challenge_webhook[0] != '\0';
}

enum sg_rc
ra_pkiop(struct ra *ra, const char *uri, const uint8_t *der, size_t len,
    const char *peer, struct ra_reply *r, struct sg_err *err)
{
	struct ra_op	 op;
	struct sg_err	 perr;
	enum sg_rc	 rc;

	memset(&op, 0, sizeof(op));
	op.ra = ra;
	op.peer = peer;
	sg_err_clear(&op.err);
	if ((rc = find_endpoint(ra, uri, &op.ep, &op.rk, &op.rk_enc, err)) !=
	    SG_OK)
		return rc;
	rc = p7_msg_parse(der, len, &op.msg, &perr);
	if (op.msg == NULL && (rc == SG_ENOMEM || rc == SG_EINTERNAL))
		return sg_err_set(err, rc, "PKIOperation: %s", perr.msg);
	if (op.msg == NULL) {
		/* Not SCEP at all: no signer to answer (HTTP 400). */
		sg_log(SG_LOG_WARN, "endpoint=%s peer=%s: PKIOperation "
		    "refused: %s", op.ep.name, peer, perr.msg);
		return sg_err_set(err, SG_EPARSE, "%s", perr.msg);
	}
	sg_safe_str(op.msg->transid, op.tid, sizeof(op.tid));
	if (rc != SG_OK)
		ra_op_fail_err(&op, &perr);
	else
		dispatch(&op);
	if (op.status == RA_OP_INTERNAL) {
		/* No CertRep: the server failed, not the request (500). */
		rc = sg_err_set(err, op.err.rc, "transid=%s: %s", op.tid,
		    op.err.msg);
	} else
		rc = ra_reply_build(&op, r, err);
	op_record(&op);
	sk_X509_pop_free(op.certs, X509_free);
	X509_CRL_free(op.crl);
	p7_msg_free(op.msg);
	return rc;
}
