/*
 * The embedded local CA: for evaluation, tests and offline sites. The
 * CA key is parsed once at start; issuance is one RSA signature.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "ra_int.h"

struct local {
	X509		*cert;
	EVP_PKEY	*key;
	int		 crl_days;
};

static enum sg_rc
local_issue(struct ra_up *up, const struct ra_issue *is, X509 **out,
    char *order, struct sg_err *err)
{
	struct local		*l = up->priv;
	struct ra_x509_req	 r = { 0 };
	X509_NAME		*subject = NULL;
	bool			 client;
	enum sg_rc		 rc;

	client = is->ep->type == RA_EP_CLIENT ||
	    is->ep->type == RA_EP_CLIENT_INTUNE;
	if ((rc = ra_x509_subject(is->ep, is->with, is->csr->req, &subject,
	    err)) != SG_OK)
		return rc;
	r.subject = subject;
	r.pubkey = X509_REQ_get0_pubkey(is->csr->req);
	r.issuer = l->cert;
	r.issuer_key = l->key;
	r.now = is->now;
	r.days = is->with->term_days > 0 ? is->with->term_days : 365;
	r.profile = client ? RA_X509_CLIENT : RA_X509_DEVICE;
	r.csr = is->csr->req;
	(void)order;		/* issued at once: never pending */
	rc = ra_x509_make(&r, out, err);
	X509_NAME_free(subject);
	return rc;
}

/* One revoked entry with its date and reason (RFC 5280 5.3.1). */
static int
add_revoked(X509_CRL *crl, const struct ra_revoked *rv)
{
	X509_REVOKED	*r = NULL;
	BIGNUM		*bn = NULL;
	ASN1_INTEGER	*serial = NULL;
	ASN1_TIME	*when = NULL;
	ASN1_ENUMERATED	*reason = NULL;
	int		 ok = 0;

	if ((r = X509_REVOKED_new()) == NULL || BN_hex2bn(&bn, rv->serial) == 0 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(r, serial) ||
	    (when = ASN1_TIME_set(NULL, (time_t)rv->revoked_at)) == NULL ||
	    !X509_REVOKED_set_revocationDate(r, when))
		goto out;
	if (rv->reason > 0) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(reason, rv->reason) ||
		    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0))
			goto out;
	}
	if (!X509_CRL_add0_revoked(crl, r))
		goto out;
	r = NULL;
	ok = 1;
out:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_REVOKED_free(r);
	return ok;
}

static enum sg_rc
local_crl(struct ra_up *up, const struct ra_revoked *rev, size_t n,
    int64_t number, time_t now, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	struct local	*l = up->priv;
	X509_CRL	*crl = NULL;
	ASN1_TIME	*t = NULL;
	ASN1_INTEGER	*num = NULL;
	unsigned char	*buf = NULL;
	size_t		 i;
	int		 k;
	enum sg_rc	 rc = SG_EINTERNAL;

	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(l->cert)) ||
	    (t = ASN1_TIME_set(NULL, now)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_adj(t, now, l->crl_days, 0) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t) ||
	    (num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto out;
	for (i = 0; i < n; i++)
		if (!add_revoked(crl, &rev[i]))
			goto out;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, l->key, EVP_sha256()) <= 0 ||
	    (k = i2d_X509_CRL(crl, &buf)) <= 0 ||
	    (*der = malloc((size_t)k)) == NULL)
		goto out;
	memcpy(*der, buf, (size_t)k);
	*len = (size_t)k;
	rc = SG_OK;
out:
	if (rc != SG_OK)
		(void)sg_err_set(err, rc, "cannot sign the CRL");
	OPENSSL_free(buf);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}

static void
local_free(struct ra_up *up)
{
	struct local	*l = up->priv;

	if (l == NULL)
		return;
	X509_free(l->cert);
	EVP_PKEY_free(l->key);
	free(l);
	up->priv = NULL;
}

static const struct ra_up_ops local_ops = {
	.name = "local",
	.issue = local_issue,
	.collect = NULL,	/* never pending */
	.revoke = NULL,		/* the CRL is all there is */
	.crl = local_crl,
	.catalog = NULL,	/* no organizations or profiles of its own */
	.free = local_free,
};

enum sg_rc
ra_up_local_init(struct ra_up *up, const struct conf *conf,
    struct sg_err *err)
{
	struct local	*l;
	enum sg_rc	 rc;

	up->ops = &local_ops;
	if ((up->priv = l = calloc(1, sizeof(*l))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "local CA");
	l->crl_days = conf->upstream.crl_days > 0 ? conf->upstream.crl_days : 7;
	if ((rc = ra_pem_read_cert(conf->upstream.ca_cert, &l->cert, err)) !=
	    SG_OK ||
	    (rc = ra_pem_read_key(conf->upstream.ca_key, &l->key, err)) !=
	    SG_OK)
		return rc;
	if (X509_check_private_key(l->cert, l->key) != 1)
		return sg_err_set(err, SG_ECONF, "%s does not match %s",
		    conf->upstream.ca_key, conf->upstream.ca_cert);
	if (!X509_up_ref(l->cert))
		return sg_err_set(err, SG_ENOMEM, "local CA");
	if (!sk_X509_push(up->chain, l->cert)) {
		X509_free(l->cert);
		return sg_err_set(err, SG_ENOMEM, "local CA");
	}
	if (conf->upstream.ca_chain[0] != '\0')
		return ra_pem_read_certs(conf->upstream.ca_chain, up->chain,
		    err);
	return SG_OK;
}
