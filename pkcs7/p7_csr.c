/*
 * PKCS#10 requests (RFC 2986) as SCEP carries them (RFC 8894 3.3.1),
 * with the challengePassword read from any DirectoryString type
 * (scep-interop.md 4.5).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p7_int.h"

/*
 * OpenSSL's own copy of the challengePassword (issue 10 s.7): the
 * values of every such attribute, wiped in place. XXX The DER of the
 * request info that OpenSSL keeps to check the signature is opaque and
 * is freed unwiped.
 */
void
p7_csr_wipe_req(X509_REQ *req)
{
	X509_ATTRIBUTE	*attr;
	ASN1_TYPE	*t;
	ASN1_STRING	*s;
	int		 idx = -1, i, ty;

	while ((idx = X509_REQ_get_attr_by_NID(req,
	    NID_pkcs9_challengePassword, idx)) >= 0) {
		attr = X509_REQ_get_attr(req, idx);
		for (i = 0; i < X509_ATTRIBUTE_count(attr); i++) {
			t = X509_ATTRIBUTE_get0_type(attr, i);
			ty = t != NULL ? ASN1_TYPE_get(t) : V_ASN1_NULL;
			/* Every type but these holds an ASN1_STRING. */
			if (ty == V_ASN1_NULL || ty == V_ASN1_BOOLEAN ||
			    ty == V_ASN1_OBJECT ||
			    (s = t->value.asn1_string) == NULL)
				continue;
			OPENSSL_cleanse((void *)ASN1_STRING_get0_data(s),
			    (size_t)ASN1_STRING_length(s));
		}
	}
}

void
p7_csr_free(struct p7_csr *csr)
{
	if (csr == NULL)
		return;
	if (csr->req != NULL)
		p7_csr_wipe_req(csr->req);
	X509_REQ_free(csr->req);
	if (csr->challenge != NULL)
		OPENSSL_cleanse(csr->challenge, strlen(csr->challenge));
	free(csr->challenge);
	free(csr);
}

/* challengePassword (1.2.840.113549.1.9.7), as UTF-8. */
static enum sg_rc
read_challenge(struct p7_csr *csr, struct sg_err *err)
{
	X509_ATTRIBUTE	*attr;
	ASN1_TYPE	*t;
	unsigned char	*utf8 = NULL;
	int		 idx, n;

	csr->challenge_type = -1;
	idx = X509_REQ_get_attr_by_NID(csr->req, NID_pkcs9_challengePassword,
	    -1);
	if (idx < 0)
		return SG_OK;
	if (X509_REQ_get_attr_by_NID(csr->req, NID_pkcs9_challengePassword,
	    idx) >= 0)
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "PKCS#10: RFC 2985 5.4.1: challengePassword repeated");
	attr = X509_REQ_get_attr(csr->req, idx);
	if (X509_ATTRIBUTE_count(attr) != 1 ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL)
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "PKCS#10: RFC 2985 5.4.1: challengePassword must have "
		    "one value");
	switch (t->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_T61STRING:
	case V_ASN1_UNIVERSALSTRING:
	case V_ASN1_IA5STRING:
		break;
	default:
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "PKCS#10: RFC 2985 5.4.1: challengePassword is not a "
		    "DirectoryString");
	}
	n = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
	if (n < 0 || memchr(utf8, '\0', (size_t)n) != NULL) {
		if (n > 0)
			OPENSSL_cleanse(utf8, (size_t)n);
		OPENSSL_free(utf8);
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "PKCS#10: challengePassword cannot be decoded");
	}
	csr->challenge = strdup((char *)utf8);
	OPENSSL_cleanse(utf8, (size_t)n);
	OPENSSL_free(utf8);
	if (csr->challenge == NULL)
		return sg_err_set(err, SG_ENOMEM, "PKCS#10");
	csr->challenge_type = t->type;
	return SG_OK;
}

/*
 * Hash the SubjectPublicKeyInfo: the key's identity for idempotency.
 * From the X509_PUBKEY as received: i2d_PUBKEY() would run OpenSSL 3's
 * key encoder, a tenth of an enrollment's CPU (bench/RESULTS.md).
 */
static enum sg_rc
key_id(X509_PUBKEY *pk, uint8_t out[32])
{
	unsigned char	*der = NULL;
	unsigned int	 mdlen = 0;
	int		 n;
	enum sg_rc	 rc = SG_EINTERNAL;

	n = i2d_X509_PUBKEY(pk, &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha256(),
	    NULL) == 1)
		rc = SG_OK;
	OPENSSL_free(der);
	return rc;
}

/*
 * The request with its RSA key read by p7_key_rsa() and its
 * self-signature verified, or NULL (then decode it the ordinary way).
 * The signature is checked over the request as re-encoded with that
 * key, so a verified one is the request that was signed.
 */
static X509_REQ *
req_fast(const uint8_t *der, size_t len)
{
	X509_REQ	*req;
	EVP_PKEY	*pk = NULL;

	ERR_set_mark();
	req = (X509_REQ *)p7_key_d2i(ASN1_ITEM_rptr(X509_REQ), der, len);
	if (req == NULL ||
	    (pk = p7_key_rsa(X509_REQ_get_X509_PUBKEY(req))) == NULL ||
	    !X509_REQ_set_pubkey(req, pk) || X509_REQ_verify(req, pk) != 1) {
		X509_REQ_free(req);
		req = NULL;
	}
	EVP_PKEY_free(pk);
	ERR_pop_to_mark();
	return req;
}

/* Decode the request and verify its self-signature. */
static enum sg_rc
req_decode(const uint8_t *der, size_t len, X509_REQ **out,
    struct sg_err *err)
{
	const unsigned char	*p = der;
	EVP_PKEY		*pk;

	if ((*out = req_fast(der, len)) != NULL)
		return SG_OK;
	*out = d2i_X509_REQ(NULL, &p, (long)len);
	if (*out == NULL || p != der + len)
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "PKCS#10: RFC 2986 4: not a CertificationRequest");
	if ((pk = X509_REQ_get0_pubkey(*out)) == NULL)
		return sg_err_fail(err, SG_EALG, SG_FAIL_BADALG,
		    "PKCS#10: unsupported public key");
	if (X509_REQ_verify(*out, pk) != 1)
		return sg_err_fail(err, SG_EBADSIG, SG_FAIL_BADMSGCHECK,
		    "PKCS#10: RFC 2986 4.2: self-signature does not verify");
	return SG_OK;
}

enum sg_rc
p7_csr_parse(const uint8_t *der, size_t len, struct p7_csr **out,
    struct sg_err *err)
{
	struct p7_csr		*csr = NULL;
	EVP_PKEY		*pk;
	BIO			*b = NULL;
	enum sg_rc		 rc;
	int			 n;

	if ((csr = calloc(1, sizeof(*csr))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "PKCS#10");
		goto out;
	}
	if ((rc = req_decode(der, len, &csr->req, err)) != SG_OK)
		goto out;
	pk = X509_REQ_get0_pubkey(csr->req);
	csr->key_type = EVP_PKEY_get_base_id(pk);
	csr->key_bits = EVP_PKEY_get_bits(pk);
	if ((rc = key_id(X509_REQ_get_X509_PUBKEY(csr->req), csr->key_id)) !=
	    SG_OK) {
		(void)sg_err_set(err, rc, "PKCS#10: public key");
		goto out;
	}
	if ((rc = read_challenge(csr, err)) != SG_OK)
		goto out;
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "PKCS#10");
		goto out;
	}
	X509_NAME_print_ex(b, X509_REQ_get_subject_name(csr->req), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(b, csr->subject, sizeof(csr->subject) - 1);
	csr->subject[n > 0 ? n : 0] = '\0';
	*out = csr;
	csr = NULL;
	rc = SG_OK;
out:
	BIO_free(b);
	p7_csr_free(csr);
	return rc;
}

