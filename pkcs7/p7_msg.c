/*
 * Decoding a pkiMessage (RFC 8894 3.2): the outer SignedData with its
 * SCEP attributes, then the pkcsPKIEnvelope (EnvelopedData) inside it.
 * The CMS API is used for both, since only it opens RSA-OAEP recipients
 * (Windows via Intune, scep-interop.md 4.3) and it accepts BER input
 * with chunked eContent (4.1).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "p7_int.h"

const char *
p7_type_name(int type)
{
	switch (type) {
	case P7_TYPE_CERTREP:		return "CertRep";
	case P7_TYPE_RENEWALREQ:	return "RenewalReq";
	case P7_TYPE_UPDATEREQ:		return "UpdateReq";
	case P7_TYPE_PKCSREQ:		return "PKCSReq";
	case P7_TYPE_CERTPOLL:		return "CertPoll";
	case P7_TYPE_GETCERT:		return "GetCert";
	case P7_TYPE_GETCRL:		return "GetCRL";
	}
	return "unknown";
}

void
p7_msg_free(struct p7_msg *msg)
{
	if (msg == NULL)
		return;
	X509_free(msg->signer);
	free(msg->envelope);
	if (msg->data != NULL)
		OPENSSL_cleanse(msg->data, msg->data_len);
	free(msg->data);
	free(msg);
}

/*
 * The decrypted content holds the challengePassword (an access code or
 * an Intune challenge): wipe the memory BIO's copy before it is freed.
 * Nothing was read from it, so its buffer is all there. NULL allowed.
 */
static void
wipe_bio(BIO *b)
{
	BUF_MEM	*bm = NULL;

	if (b != NULL && BIO_get_mem_ptr(b, &bm) == 1 && bm != NULL &&
	    bm->data != NULL)
		OPENSSL_cleanse(bm->data, bm->length);
}

/* Copy a memory BIO's contents into a malloc'ed buffer. */
static enum sg_rc
bio_take(BIO *b, uint8_t **out, size_t *outlen)
{
	char	*p;
	long	 n;

	n = BIO_get_mem_data(b, &p);
	if (n < 0)
		return SG_EINTERNAL;
	if ((*out = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		return SG_ENOMEM;
	if (n > 0)
		memcpy(*out, p, (size_t)n);
	*outlen = (size_t)n;
	return SG_OK;
}

/* Read messageType, transactionID and senderNonce (RFC 8894 3.2.1). */
static enum sg_rc
read_attrs(CMS_SignerInfo *si, struct p7_msg *msg, struct sg_err *err)
{
	char	 buf[16];
	long	 v;

	if (p7_attr_get_str(si, P7_OID_MESSAGETYPE, buf, sizeof(buf)) !=
	    SG_OK || !sg_parse_long(buf, 0, 255, &v))
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "signerInfo: RFC 8894 3.2.1.2: missing or bad messageType");
	msg->type = (int)v;
	if (p7_attr_get_str(si, P7_OID_TRANSID, msg->transid,
	    sizeof(msg->transid)) != SG_OK || msg->transid[0] == '\0')
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "signerInfo: RFC 8894 3.2.1.1: missing or bad "
		    "transactionID");
	if (p7_attr_get_octets(si, P7_OID_SENDERNONCE, msg->sender_nonce,
	    sizeof(msg->sender_nonce), &msg->sender_nonce_len) != SG_OK)
		return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "signerInfo: RFC 8894 3.2.1.5: missing or bad senderNonce");
	return SG_OK;
}

/* The DER of a certificate, OPENSSL_malloc'ed; NULL on failure. */
static unsigned char *
cert_der(X509 *x, int *n)
{
	unsigned char	*der = NULL;

	if ((*n = i2d_X509(x, &der)) <= 0)
		return NULL;
	return der;
}

/*
 * Give the signer certificate the RSA key p7_key_rsa() reads, if it
 * still encodes to the same bytes with it; then the SignerInfo verifies
 * with that key. Returns 1 if done.
 */
static int
signer_key(CMS_SignerInfo *si, X509 *signer)
{
	unsigned char	*before = NULL, *after = NULL;
	EVP_PKEY	*pk;
	int		 nb, na, ok = 0;

	if ((pk = p7_key_rsa(X509_get_X509_PUBKEY(signer))) == NULL ||
	    (before = cert_der(signer, &nb)) == NULL ||
	    !X509_set_pubkey(signer, pk) ||
	    (after = cert_der(signer, &na)) == NULL)
		goto out;
	if (na == nb && memcmp(before, after, (size_t)na) == 0) {
		CMS_SignerInfo_set1_signer_cert(si, signer);
		ok = 1;
	}
out:
	OPENSSL_free(before);
	OPENSSL_free(after);
	EVP_PKEY_free(pk);
	return ok;
}

/*
 * The pkiMessage decoded without OpenSSL's key decoders (p7_key.c): its
 * one signer's RSA key read once, or NULL: then decode it the ordinary
 * way, which also says what is wrong with it.
 */
static CMS_ContentInfo *
cms_fast(const uint8_t *der, size_t len)
{
	CMS_ContentInfo		*cms;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo		*si;
	X509			*signer = NULL;

	ERR_set_mark();
	cms = (CMS_ContentInfo *)p7_key_d2i(ASN1_ITEM_rptr(CMS_ContentInfo),
	    der, len);
	if (cms == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    (sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1)
		goto fail;
	si = sk_CMS_SignerInfo_value(sis, 0);
	CMS_set1_signers_certs(cms, NULL, 0);
	CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	if (signer == NULL || !signer_key(si, signer))
		goto fail;
	ERR_pop_to_mark();
	return cms;
fail:
	CMS_ContentInfo_free(cms);
	ERR_pop_to_mark();
	return NULL;
}

enum sg_rc
p7_msg_parse(const uint8_t *der, size_t len, struct p7_msg **out,
    struct sg_err *err)
{
	const unsigned char	*p = der;
	CMS_ContentInfo		*cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo		*si;
	X509			*signer = NULL;
	X509_ALGOR		*dig = NULL;
	BIO			*content = NULL;
	struct p7_msg		*msg = NULL;
	enum sg_rc		 rc;

	if (len == 0 || len > P7_MSG_MAX) {
		rc = sg_err_set(err, SG_EPARSE, "pkiMessage: size %zu out of "
		    "range", len);
		goto out;
	}
	if ((cms = cms_fast(der, len)) != NULL)
		p = der + len;
	else if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
		rc = sg_err_set(err, SG_EPARSE, "pkiMessage: RFC 8894 3.2: "
		    "not a CMS ContentInfo");
		goto out;
	}
	if (p != der + len) {
		rc = sg_err_set(err, SG_EPARSE, "pkiMessage: %zu bytes of "
		    "trailing data", (size_t)(der + len - p));
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		rc = sg_err_set(err, SG_EPARSE, "pkiMessage: RFC 8894 3.2: "
		    "not a SignedData");
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1) {
		rc = sg_err_set(err, SG_EPARSE, "pkiMessage: RFC 8894 3.2: "
		    "expected exactly one signerInfo");
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	/* Match the included certificates to the signer (RFC 8894 2.3). */
	CMS_set1_signers_certs(cms, NULL, 0);
	CMS_SignerInfo_get0_algs(si, NULL, &signer, &dig, NULL);
	if (signer == NULL) {
		rc = sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "pkiMessage: RFC 8894 2.3: signer certificate not "
		    "included");
		goto out;
	}
	if ((msg = calloc(1, sizeof(*msg))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "pkiMessage");
		goto out;
	}
	if (!X509_up_ref(signer)) {
		rc = sg_err_set(err, SG_EINTERNAL, "pkiMessage");
		goto out;
	}
	msg->signer = signer;
	msg->digest_nid = dig != NULL ? OBJ_obj2nid(dig->algorithm) : NID_undef;
	if ((rc = read_attrs(si, msg, err)) != SG_OK)
		goto out;
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		rc = sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "pkiMessage: RFC 8894 3.2: eContentType is not id-data");
		goto out;
	}
	/*
	 * Verify messageDigest and the signature over the signed attributes
	 * with the signer's own key; no chain check (RFC 8894 2.3: the
	 * signer is usually self-signed; renewal checks are ra/'s job).
	 */
	if ((content = BIO_new(BIO_s_mem())) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "pkiMessage");
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, NULL, content,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		rc = sg_err_fail(err, SG_EBADSIG, SG_FAIL_BADMSGCHECK,
		    "pkiMessage: RFC 8894 3.2: signature does not verify");
		*out = msg;	/* still good enough for a signed FAILURE */
		msg = NULL;
		goto out;
	}
	if ((rc = bio_take(content, &msg->envelope, &msg->envelope_len)) !=
	    SG_OK) {
		(void)sg_err_set(err, rc, "pkiMessage");
		goto out;
	}
	*out = msg;
	msg = NULL;
	rc = SG_OK;
out:
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	p7_msg_free(msg);
	return rc;
}

/*
 * Just enough of EnvelopedData (RFC 5652 6.1) to read its content
 * encryption algorithm, which the CMS API keeps to itself. The PKCS7
 * decoder would do, but it refuses RecipientInfos that name the key by
 * subjectKeyIdentifier (version 2), which CMS clients may send.
 */
typedef struct {
	ASN1_OBJECT		*type;
	X509_ALGOR		*alg;
	ASN1_OCTET_STRING	*data;
} P7_ECI;

typedef struct {
	ASN1_INTEGER		*version;
	STACK_OF(ASN1_TYPE)	*originator;
	STACK_OF(ASN1_TYPE)	*recipients;
	P7_ECI			*eci;
	STACK_OF(ASN1_TYPE)	*attrs;
} P7_ENV;

typedef struct {
	ASN1_OBJECT		*type;
	P7_ENV			*env;
} P7_ENVCI;

ASN1_SEQUENCE(P7_ECI) = {
	ASN1_SIMPLE(P7_ECI, type, ASN1_OBJECT),
	ASN1_SIMPLE(P7_ECI, alg, X509_ALGOR),
	ASN1_IMP_OPT(P7_ECI, data, ASN1_OCTET_STRING, 0),
} static_ASN1_SEQUENCE_END(P7_ECI)

ASN1_SEQUENCE(P7_ENV) = {
	ASN1_SIMPLE(P7_ENV, version, ASN1_INTEGER),
	ASN1_IMP_SEQUENCE_OF_OPT(P7_ENV, originator, ASN1_ANY, 0),
	ASN1_SET_OF(P7_ENV, recipients, ASN1_ANY),
	ASN1_SIMPLE(P7_ENV, eci, P7_ECI),
	ASN1_IMP_SET_OF_OPT(P7_ENV, attrs, ASN1_ANY, 1),
} static_ASN1_SEQUENCE_END(P7_ENV)

ASN1_SEQUENCE(P7_ENVCI) = {
	ASN1_SIMPLE(P7_ENVCI, type, ASN1_OBJECT),
	ASN1_EXP(P7_ENVCI, env, P7_ENV, 0),
} static_ASN1_SEQUENCE_END(P7_ENVCI)

/* The content-encryption algorithm of an EnvelopedData, or NID_undef. */
static int
envelope_cipher(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	P7_ENVCI		*ci;
	int			 nid = NID_undef;

	ci = (P7_ENVCI *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(P7_ENVCI));
	if (ci != NULL && ci->env != NULL && ci->env->eci != NULL &&
	    ci->env->eci->alg != NULL)
		nid = OBJ_obj2nid(ci->env->eci->alg->algorithm);
	ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(P7_ENVCI));
	return nid;
}

static bool
cipher_known(int nid)
{
	switch (nid) {
	case NID_des_cbc:
	case NID_des_ede3_cbc:
	case NID_aes_128_cbc:
	case NID_aes_192_cbc:
	case NID_aes_256_cbc:
		return true;
	}
	return false;
}

enum sg_rc
p7_msg_open(struct p7_msg *msg, X509 *ra_cert, EVP_PKEY *ra_key,
    struct sg_err *err)
{
	const unsigned char	*p;
	CMS_ContentInfo		*cms = NULL;
	BIO			*data = NULL;
	enum sg_rc		 rc;

	if (msg->envelope == NULL || msg->envelope_len == 0) {
		rc = sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "pkcsPKIEnvelope: RFC 8894 3.2.2: missing");
		goto out;
	}
	p = msg->envelope;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)msg->envelope_len);
	if (cms == NULL || p != msg->envelope + msg->envelope_len ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
		rc = sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "pkcsPKIEnvelope: RFC 8894 3.2.2: not an EnvelopedData");
		goto out;
	}
	msg->cipher_nid = envelope_cipher(msg->envelope, msg->envelope_len);
	if (!cipher_known(msg->cipher_nid)) {
		rc = sg_err_fail(err, SG_EALG, SG_FAIL_BADALG,
		    "pkcsPKIEnvelope: unsupported content encryption %s",
		    OBJ_nid2sn(msg->cipher_nid));
		goto out;
	}
	if ((data = BIO_new(BIO_s_mem())) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "pkcsPKIEnvelope");
		goto out;
	}
	/* The certificate picks our RecipientInfo among several (3.3). */
	if (CMS_decrypt(cms, ra_key, ra_cert, NULL, data, CMS_BINARY) != 1) {
		rc = sg_err_fail(err, SG_EDECRYPT, SG_FAIL_BADMSGCHECK,
		    "pkcsPKIEnvelope: cannot decrypt with the RA key");
		goto out;
	}
	if ((rc = bio_take(data, &msg->data, &msg->data_len)) != SG_OK) {
		(void)sg_err_set(err, rc, "pkcsPKIEnvelope");
		goto out;
	}
	rc = SG_OK;
out:
	wipe_bio(data);
	BIO_free(data);
	CMS_ContentInfo_free(cms);
	return rc;
}
