/*
 * Decoding a pkiMessage (RFC 8894 3.2): the outer SignedData with its
 * SCEP attributes, then the pkcsPKIEnvelope (EnvelopedData) inside it.
 * The CMS API is used for both, since only it opens RSA-OAEP recipients
 * (Windows via Intune, scep-interop.md 4.3) and it accepts BER input
 * with chunked eContent (4.1).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
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
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL) {
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
		sg_err_set(err, rc, "pkiMessage");
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

/* The content-encryption algorithm of an EnvelopedData, or NID_undef. */
static int
envelope_cipher(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	PKCS7			*p7;
	int			 nid = NID_undef;

	/* CMS has no getter for it; the PKCS7 decoder reads the field. */
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 != NULL && PKCS7_type_is_enveloped(p7) &&
	    p7->d.enveloped->enc_data != NULL &&
	    p7->d.enveloped->enc_data->algorithm != NULL)
		nid = OBJ_obj2nid(p7->d.enveloped->enc_data->algorithm->algorithm);
	PKCS7_free(p7);
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
		sg_err_set(err, rc, "pkcsPKIEnvelope");
		goto out;
	}
	rc = SG_OK;
out:
	BIO_free(data);
	CMS_ContentInfo_free(cms);
	return rc;
}
