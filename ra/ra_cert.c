/*
 * Issued certificates: GetCert and GetCRL (RFC 8894 3.3.4, 3.3.5), the
 * CRL, and list, show and revoke for scepctl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "ra_int.h"

enum sg_rc
ra_cert_load(struct ra *ra, const char *serial, struct ra_cert *info,
    int64_t *account_id, X509 **out, struct sg_err *err)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	enum sg_rc		 rc;

	if ((rc = ra_store_cert_get(ra->store, serial, info, account_id, &der,
	    &len, err)) != SG_OK)
		goto out;
	p = der;
	if ((*out = d2i_X509(NULL, &p, (long)len)) == NULL)
		rc = sg_err_set(err, SG_ESTORE, "certificate %s: the stored "
		    "DER does not decode", serial);
out:
	free(der);
	return rc;
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

/*
 * Does "issuer" name the certificate of this endpoint's RA (signing or
 * decrypting)? Some clients put the RA's name, not the CA's, into the
 * IssuerAndSerialNumber of GetCert and GetCRL.
 */
static bool
ra_named(const struct ra_op *op, const X509_NAME *issuer)
{
	return X509_NAME_cmp(issuer, X509_get_subject_name(op->rk->cert)) ==
	    0 || X509_NAME_cmp(issuer,
	    X509_get_subject_name(op->rk_enc->cert)) == 0;
}

/*
 * Certificate "serial" of this endpoint, named by "issuer": its issuer
 * or the endpoint's RA. *x (free it) if found; *by_ra when the RA was
 * named. SG_ENOTFOUND if not ours, a store error otherwise.
 */
static enum sg_rc
endpoint_cert(struct ra_op *op, const X509_NAME *issuer, const char *serial,
    X509 **x, bool *by_ra, struct sg_err *e)
{
	struct ra_cert	info;
	enum sg_rc	rc;

	*by_ra = false;
	if ((rc = ra_cert_load(op->ra, serial, &info, NULL, x, e)) != SG_OK)
		return rc;
	if (strcmp(info.endpoint, op->ep.name) == 0 &&
	    X509_NAME_cmp(issuer, X509_get_issuer_name(*x)) == 0)
		return SG_OK;
	if (strcmp(info.endpoint, op->ep.name) == 0 && ra_named(op, issuer)) {
		*by_ra = true;
		return SG_OK;
	}
	X509_free(*x);
	*x = NULL;
	return SG_ENOTFOUND;
}

/* GetCert (RFC 8894 3.3.4): a certificate by issuer and serial. */
void
ra_op_getcert(struct ra_op *op)
{
	struct sg_err	 e;
	X509_NAME	*issuer = NULL;
	X509		*x = NULL;
	char		 serial[80];
	bool		 by_ra;
	enum sg_rc	 rc;

	if (!ias_serial(op, serial, sizeof(serial), &issuer)) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "GetCert:"
		    " RFC 8894 3.3.4: not an IssuerAndSerialNumber");
		return;
	}
	/* Only certificates of this endpoint, by issuer and serial. */
	rc = endpoint_cert(op, issuer, serial, &x, &by_ra, &e);
	X509_NAME_free(issuer);
	if (rc == SG_ENOTFOUND)
		ra_op_fail(op, SG_FAIL_BADCERTID, "certificate not found",
		    "GetCert: no certificate %s of this issuer on this "
		    "endpoint", serial);
	else if (rc != SG_OK)
		ra_op_internal(op, "GetCert", &e);
	else {
		ra_op_deliver(op, x, serial);
		if (by_ra && op->status == P7_STATUS_SUCCESS)
			ra_op_note(op, "serial %s delivered; the issuer named "
			    "was the RA's", serial);
	}
	X509_free(x);
}

/* Sign a CRL of every revoked certificate; *der malloc'ed. */
static enum sg_rc
crl_sign(struct ra *ra, int64_t number, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	struct ra_cert		*certs = NULL;
	struct ra_revoked	*rev = NULL;
	size_t			 n = 0, i;
	enum sg_rc		 rc;

	if (ra->up->ops->crl == NULL)
		return sg_err_set(err, SG_ENOTFOUND, "the %s upstream "
		    "publishes no CRL here", ra->up->ops->name);
	/* Revoked certificates only; superseded ones stay valid. */
	if ((rc = ra_store_cert_list(ra->store, NULL, RA_CERT_REVOKED, &certs,
	    &n, err)) != SG_OK)
		return rc;
	if (n > 0 && (rev = calloc(n, sizeof(*rev))) == NULL) {
		free(certs);
		return sg_err_set(err, SG_ENOMEM, "CRL");
	}
	for (i = 0; i < n; i++) {
		snprintf(rev[i].serial, sizeof(rev[i].serial), "%s",
		    certs[i].serial);
		rev[i].revoked_at = certs[i].revoked_at;
		rev[i].reason = certs[i].reason;
	}
	rc = ra->up->ops->crl(ra->up, rev, n, number, time(NULL), der, len,
	    err);
	free(rev);
	free(certs);
	return rc;
}

/*
 * The one CRL refresh (GetCRL when stale, scepctl cert revoke): the next
 * CRL number, a CRL signed with it, stored with nextUpdate crl_days from
 * now. *out (if not NULL) gets the DER, malloc'ed.
 */
static enum sg_rc
crl_refresh(struct ra *ra, uint8_t **out, size_t *outlen, struct sg_err *err)
{
	uint8_t		*der = NULL;
	size_t		 len = 0;
	int64_t		 number, next;
	enum sg_rc	 rc;

	if ((rc = ra_store_crl_number(ra->store, &number, err)) != SG_OK)
		goto out;
	if ((rc = crl_sign(ra, number, &der, &len, err)) != SG_OK)
		goto out;
	next = (int64_t)time(NULL) +
	    (int64_t)ra->conf->upstream.crl_days * 86400;
	if ((rc = ra_store_crl_put(ra->store, number, der, len, next, err)) !=
	    SG_OK)
		goto out;
	if (out != NULL) {
		*out = der;
		*outlen = len;
		der = NULL;
	}
out:
	free(der);
	return rc;
}

/* The current CRL into *out, signed again once stale (or missing). */
static enum sg_rc
current_crl(struct ra *ra, X509_CRL **out, struct sg_err *err)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	int64_t			 next = 0;
	enum sg_rc		 rc;

	rc = ra_store_crl_get(ra->store, &der, &len, &next, err);
	if (rc == SG_ENOTFOUND || (rc == SG_OK && next <= (int64_t)time(NULL))) {
		free(der);
		der = NULL;
		rc = crl_refresh(ra, &der, &len, err);
	}
	if (rc != SG_OK)
		goto out;
	p = der;
	if ((*out = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		rc = sg_err_set(err, SG_ESTORE, "the stored CRL does not "
		    "decode");
out:
	free(der);
	return rc;
}

/* GetCRL (RFC 8894 3.3.5): the issuing CA's CRL. */
void
ra_op_getcrl(struct ra_op *op)
{
	struct sg_err	 e;
	X509_NAME	*issuer = NULL;
	X509		*x = NULL;
	char		 serial[80];
	bool		 ours, by_ra;
	enum sg_rc	 rc;

	if (!ias_serial(op, serial, sizeof(serial), &issuer)) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "GetCRL: "
		    "RFC 8894 3.3.5: not an IssuerAndSerialNumber");
		return;
	}
	/*
	 * The CRL of our issuing CA only; or the RA named as issuer with
	 * the serial of a certificate of this endpoint.
	 */
	ours = X509_NAME_cmp(issuer, X509_get_subject_name(
	    sk_X509_value(op->ra->up->chain, 0))) == 0;
	by_ra = false;
	if (!ours && ra_named(op, issuer)) {
		rc = endpoint_cert(op, issuer, serial, &x, &by_ra, &e);
		X509_free(x);
		if (rc != SG_OK && rc != SG_ENOTFOUND) {
			X509_NAME_free(issuer);
			ra_op_internal(op, "GetCRL", &e);
			return;
		}
		ours = rc == SG_OK;
	}
	X509_NAME_free(issuer);
	if (!ours) {
		ra_op_fail(op, SG_FAIL_BADCERTID, "unknown issuer", "GetCRL: "
		    "the issuer is not this gateway's CA");
		return;
	}
	sg_err_clear(&e);
	if ((rc = current_crl(op->ra, &op->crl, &e)) == SG_ESTORE) {
		/* A store failure is ours, not a reason to refuse. */
		ra_op_internal(op, "GetCRL", &e);
		return;
	}
	if (rc != SG_OK) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "no CRL", "GetCRL: %s",
		    e.msg[0] ? e.msg : "cannot sign a CRL");
		return;
	}
	op->status = P7_STATUS_SUCCESS;
	ra_op_note(op, "CRL delivered%s", by_ra ? "; the issuer named was "
	    "the RA's" : "");
}

enum sg_rc
ra_cert_list(struct ra *ra, const char *endpoint, int status,
    struct ra_cert **out, size_t *n, struct sg_err *err)
{
	return ra_store_cert_list(ra->store, endpoint, status, out, n, err);
}

/*
 * Serials are stored as BN_bn2hex() writes them (ra_x509_serial);
 * accept "0a:3f", "0A3F" or "a3f" from admins and write it that way.
 */
static void
norm_serial(const char *in, char *out, size_t outsz)
{
	BIGNUM	*bn = NULL;
	char	 hex[160], *canon = NULL;
	size_t	 i, j = 0;

	for (i = 0; in[i] != '\0' && j + 1 < sizeof(hex); i++)
		if (in[i] != ':')
			hex[j++] = in[i];
	hex[j] = '\0';
	if (BN_hex2bn(&bn, hex) == (int)j && j > 0)
		canon = BN_bn2hex(bn);
	snprintf(out, outsz, "%s", canon != NULL ? canon : hex);
	OPENSSL_free(canon);
	BN_free(bn);
}

enum sg_rc
ra_cert_get(struct ra *ra, const char *serial, struct ra_cert *c, char **pem,
    struct sg_err *err)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	X509			*x = NULL;
	BIO			*b = NULL;
	char			 s[80], *d;
	long			 n;
	enum sg_rc		 rc;

	norm_serial(serial, s, sizeof(s));
	if ((rc = ra_store_cert_get(ra->store, s, c, NULL, pem ? &der : NULL,
	    &len, err)) != SG_OK || pem == NULL)
		return rc;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x) ||
	    (n = BIO_get_mem_data(b, &d)) <= 0 ||
	    (*pem = malloc((size_t)n + 1)) == NULL)
		rc = sg_err_set(err, SG_EINTERNAL, "certificate %s", s);
	else {
		memcpy(*pem, d, (size_t)n);
		(*pem)[n] = '\0';
	}
	BIO_free(b);
	X509_free(x);
	free(der);
	return rc;
}

enum sg_rc
ra_cert_revoke(struct ra *ra, const char *serial, int reason,
    struct sg_err *err)
{
	struct ra_cert	c;
	char		s[80], details[160];
	enum sg_rc	rc;

	norm_serial(serial, s, sizeof(s));
	memset(&c, 0, sizeof(c));
	/* A store failure stays one: only a missing row is SG_ENOTFOUND. */
	rc = ra_store_cert_get(ra->store, s, &c, NULL, NULL, NULL, err);
	if (rc == SG_OK && c.status == RA_CERT_REVOKED)
		rc = sg_err_set(err, SG_EPOLICY, "certificate %s is revoked "
		    "already", s);
	if (rc == SG_OK && ra->up->ops->revoke != NULL)
		rc = ra->up->ops->revoke(ra->up, s, reason, err);
	if (rc == SG_OK)
		rc = ra_store_cert_set_status(ra->store, s, RA_CERT_REVOKED,
		    reason, err);
	/* A fresh CRL at once (scepctl holds the same keys as scepgate). */
	if (rc == SG_OK && ra->up->ops->crl != NULL &&
	    (rc = crl_refresh(ra, NULL, NULL, err)) != SG_OK)
		sg_log(SG_LOG_ERR, "serial %s revoked, but the CRL was not "
		    "refreshed: %s", s, err != NULL ? err->msg : "");
	snprintf(details, sizeof(details), "serial %s reason %s", s,
	    ra_crl_reason_name(reason));
	ra_audit_admin(ra, "cert revoke", c.endpoint[0] ? c.endpoint : NULL,
	    c.account[0] ? c.account : NULL, rc, err, details);
	if (rc == SG_OK)
		sg_log(SG_LOG_INFO, "serial %s revoked (%s)", s,
		    ra_crl_reason_name(reason));
	return rc;
}
