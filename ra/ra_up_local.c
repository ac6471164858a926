/*
 * The embedded local CA: for evaluation, tests and offline sites. The
 * CA key is parsed once at start; issuance is one RSA signature.
 */
#include <stdlib.h>

#include "ra_int.h"

struct local {
	X509		*cert;
	EVP_PKEY	*key;
};

static enum sg_rc
local_issue(struct ra_up *up, const struct ra_issue *is, X509 **out,
    struct sg_err *err)
{
	struct local		*l = up->priv;
	struct ra_x509_req	 r = { 0 };
	bool			 client;

	client = is->ep->type == RA_EP_CLIENT ||
	    is->ep->type == RA_EP_CLIENT_INTUNE;
	r.subject = X509_REQ_get_subject_name(is->csr->req);
	r.pubkey = X509_REQ_get0_pubkey(is->csr->req);
	r.issuer = l->cert;
	r.issuer_key = l->key;
	r.now = is->now;
	r.days = is->acct != NULL && is->acct->term_days > 0 ?
	    is->acct->term_days : 365;
	r.profile = client ? RA_X509_CLIENT : RA_X509_DEVICE;
	r.csr = is->csr->req;
	return ra_x509_make(&r, out, err);
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
}

static const struct ra_up_ops local_ops = {
	.name = "local",
	.issue = local_issue,
	.free = local_free,
};

enum sg_rc
ra_up_local_open(const struct conf *conf, struct ra_up **out,
    struct sg_err *err)
{
	struct ra_up	*up = NULL;
	struct local	*l;
	enum sg_rc	 rc;

	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (up->priv = l = calloc(1, sizeof(*l))) == NULL ||
	    (up->chain = sk_X509_new_null()) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "local CA");
		goto out;
	}
	up->ops = &local_ops;
	if ((rc = ra_pem_read_cert(conf->upstream.ca_cert, &l->cert, err)) !=
	    SG_OK ||
	    (rc = ra_pem_read_key(conf->upstream.ca_key, &l->key, err)) !=
	    SG_OK)
		goto out;
	if (X509_check_private_key(l->cert, l->key) != 1) {
		rc = sg_err_set(err, SG_ECONF, "%s does not match %s",
		    conf->upstream.ca_key, conf->upstream.ca_cert);
		goto out;
	}
	if (!X509_up_ref(l->cert) || !sk_X509_push(up->chain, l->cert)) {
		rc = sg_err_set(err, SG_ENOMEM, "local CA");
		goto out;
	}
	if (conf->upstream.ca_chain[0] != '\0' &&
	    (rc = ra_pem_read_certs(conf->upstream.ca_chain, up->chain,
	    err)) != SG_OK)
		goto out;
	*out = up;
	up = NULL;
	rc = SG_OK;
out:
	ra_up_free(up);
	return rc;
}
