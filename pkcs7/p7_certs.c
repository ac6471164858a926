/*
 * Degenerate certs-only SignedData (RFC 8894 3.4). Built with the PKCS7
 * API because the CMS encoder DER-sorts the certificate SET, and clients
 * take the first certificate as the RA (GetCACert) or as their own
 * (CertRep) (scep-interop.md 3.3, 5.1).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "p7_int.h"

/* A degenerate SignedData with "certs" (in order) and/or "crl". */
static enum sg_rc
degenerate(STACK_OF(X509) *certs, X509_CRL *crl, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	PKCS7		*p7 = NULL;
	unsigned char	*buf = NULL;
	int		 i, n;
	enum sg_rc	 rc;

	if ((p7 = PKCS7_new()) == NULL ||
	    !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_content_new(p7, NID_pkcs7_data)) {
		rc = sg_err_set(err, SG_ENOMEM, "certs-only SignedData");
		goto out;
	}
	/* No eContent at all, as in "openssl crl2pkcs7". */
	PKCS7_set_detached(p7, 1);
	for (i = 0; i < sk_X509_num(certs); i++) {
		if (!PKCS7_add_certificate(p7, sk_X509_value(certs, i))) {
			rc = sg_err_set(err, SG_ENOMEM, "certs-only SignedData");
			goto out;
		}
	}
	if (crl != NULL && !PKCS7_add_crl(p7, crl)) {
		rc = sg_err_set(err, SG_ENOMEM, "certs-only SignedData");
		goto out;
	}
	n = i2d_PKCS7(p7, &buf);
	if ((rc = p7_der_take(buf, n, der, len)) != SG_OK)
		(void)sg_err_set(err, rc, "certs-only SignedData");
out:
	PKCS7_free(p7);
	return rc;
}

enum sg_rc
p7_certs_build(STACK_OF(X509) *certs, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	return degenerate(certs, NULL, der, len, err);
}

enum sg_rc
p7_crl_build(X509_CRL *crl, uint8_t **der, size_t *len, struct sg_err *err)
{
	return degenerate(NULL, crl, der, len, err);
}

/* Whether "x" is in "certs". */
static bool
has_cert(STACK_OF(X509) *certs, X509 *x)
{
	int	i;

	for (i = 0; i < sk_X509_num(certs); i++)
		if (X509_cmp(sk_X509_value(certs, i), x) == 0)
			return true;
	return false;
}

/*
 * The outer certificates field holds the next certificates too, first
 * and in order, for clients that read them there instead of from the
 * content (RFC 8894 4.7.1 allows both readings); the current RA follows
 * them, as sscep and OpenSSL find the signer only there. PKCS7 API, so
 * that the order stays (see above).
 */
enum sg_rc
p7_next_build(STACK_OF(X509) *certs, X509 *sign_cert, EVP_PKEY *sign_key,
    uint8_t **der, size_t *len, struct sg_err *err)
{
	PKCS7		*p7 = NULL;
	BIO		*in = NULL;
	uint8_t		*inner = NULL;
	unsigned char	*buf = NULL;
	size_t		 innerlen;
	int		 flags, i, n;
	enum sg_rc	 rc;

	/* No signer certificate from PKCS7_sign: it is added after "certs". */
	flags = PKCS7_BINARY | PKCS7_NOSMIMECAP | PKCS7_PARTIAL | PKCS7_NOCERTS;
	if ((rc = p7_certs_build(certs, &inner, &innerlen, err)) != SG_OK)
		goto out;
	if ((in = BIO_new_mem_buf(inner, (int)innerlen)) == NULL ||
	    (p7 = PKCS7_sign(NULL, NULL, NULL, NULL, flags)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "GetNextCACert");
		goto out;
	}
	for (i = 0; i < sk_X509_num(certs); i++) {
		if (!PKCS7_add_certificate(p7, sk_X509_value(certs, i))) {
			rc = sg_err_set(err, SG_ENOMEM, "GetNextCACert");
			goto out;
		}
	}
	if ((!has_cert(certs, sign_cert) &&
	    !PKCS7_add_certificate(p7, sign_cert)) ||
	    PKCS7_sign_add_signer(p7, sign_cert, sign_key, NULL, flags) ==
	    NULL || !PKCS7_final(p7, in, flags)) {
		rc = sg_err_set(err, SG_EINTERNAL, "GetNextCACert: cannot "
		    "sign");
		goto out;
	}
	n = i2d_PKCS7(p7, &buf);
	if ((rc = p7_der_take(buf, n, der, len)) != SG_OK)
		(void)sg_err_set(err, rc, "GetNextCACert");
out:
	PKCS7_free(p7);
	BIO_free(in);
	free(inner);
	return rc;
}

enum sg_rc
p7_certs_parse(const uint8_t *der, size_t len, STACK_OF(X509) **out,
    struct sg_err *err)
{
	const unsigned char	*p = der;
	PKCS7			*p7 = NULL;
	STACK_OF(X509)		*certs = NULL;
	int			 i;
	enum sg_rc		 rc;

	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 == NULL || p != der + len || !PKCS7_type_is_signed(p7) ||
	    p7->d.sign == NULL) {
		rc = sg_err_set(err, SG_EPARSE, "certs-only SignedData: RFC "
		    "8894 3.4: not a SignedData");
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "certs-only SignedData");
		goto out;
	}
	for (i = 0; i < sk_X509_num(p7->d.sign->cert); i++) {
		X509 *x = sk_X509_value(p7->d.sign->cert, i);

		if (!X509_up_ref(x))
			goto nomem;
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			goto nomem;
		}
	}
	*out = certs;
	certs = NULL;
	rc = SG_OK;
	goto out;
nomem:
	rc = sg_err_set(err, SG_ENOMEM, "certs-only SignedData");
out:
	sk_X509_pop_free(certs, X509_free);
	PKCS7_free(p7);
	return rc;
}
