/*
 * Building a CertRep (RFC 8894 3.3.2): a SignedData by the RA whose
 * content, on SUCCESS, is an EnvelopedData for the requester holding a
 * degenerate certs-only SignedData.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "p7_int.h"

/* The reply's digest: the request's, if it is one we sign with. */
static const EVP_MD *
reply_digest(int nid)
{
	switch (nid) {
	case NID_sha1:
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return EVP_get_digestbynid(nid);
	}
	return EVP_sha256();
}

/*
 * Encrypt the certs-only SignedData to the request's signer certificate
 * (RFC 8894 2.3) with the request's cipher (scep-interop.md 5.3: Cisco
 * rejects any other). *out is malloc'ed.
 */
static enum sg_rc
envelope(const struct p7_rep *rep, uint8_t **out, size_t *outlen,
    struct sg_err *err)
{
	STACK_OF(X509)	*rcpt = NULL;
	CMS_ContentInfo	*cms = NULL;
	EVP_CIPHER	*cipher = NULL;
	BIO		*in = NULL;
	uint8_t		*inner = NULL;
	size_t		 innerlen;
	int		 nid;
	enum sg_rc	 rc;

	rc = rep->crl != NULL ? p7_crl_build(rep->crl, &inner, &innerlen, err) :
	    p7_certs_build(rep->certs, &inner, &innerlen, err);
	if (rc != SG_OK)
		goto out;
	nid = rep->cipher_nid ? rep->cipher_nid : rep->req->cipher_nid;
	/* Fetched, so that DES from the legacy provider works when loaded. */
	cipher = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(nid), NULL);
	if (cipher == NULL) {
		rc = sg_err_fail(err, SG_EALG, SG_FAIL_BADALG,
		    "CertRep: cipher %s unavailable", OBJ_nid2sn(nid));
		goto out;
	}
	if ((rcpt = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(rcpt, rep->req->signer) ||
	    (in = BIO_new_mem_buf(inner, (int)innerlen)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "CertRep");
		goto out;
	}
	cms = CMS_encrypt(rcpt, in, cipher, CMS_BINARY);
	if (cms == NULL || (rc = p7_der_cms(cms, out, outlen)) != SG_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "CertRep: cannot encrypt "
		    "to the requester");
		goto out;
	}
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(rcpt);	/* the certificate is borrowed */
	EVP_CIPHER_free(cipher);
	free(inner);
	return rc;
}

/* The SCEP attributes of every CertRep (scep-interop.md 5.2). */
static enum sg_rc
add_attrs(CMS_SignerInfo *si, const struct p7_rep *rep)
{
	uint8_t		 nonce[16];
	char		 num[8];
	enum sg_rc	 rc;

	/* A fresh senderNonce for every reply: jscep rejects repeats. */
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return SG_EINTERNAL;
	if ((rc = p7_attr_add(si, P7_OID_MESSAGETYPE, V_ASN1_PRINTABLESTRING,
	    "3", 1)) != SG_OK)
		return rc;
	snprintf(num, sizeof(num), "%d", rep->status);
	if ((rc = p7_attr_add(si, P7_OID_PKISTATUS, V_ASN1_PRINTABLESTRING,
	    num, strlen(num))) != SG_OK)
		return rc;
	if ((rc = p7_attr_add(si, P7_OID_TRANSID, V_ASN1_PRINTABLESTRING,
	    rep->req->transid, strlen(rep->req->transid))) != SG_OK)
		return rc;
	if ((rc = p7_attr_add(si, P7_OID_SENDERNONCE, V_ASN1_OCTET_STRING,
	    nonce, sizeof(nonce))) != SG_OK)
		return rc;
	if ((rc = p7_attr_add(si, P7_OID_RECIPIENTNONCE, V_ASN1_OCTET_STRING,
	    rep->req->sender_nonce, rep->req->sender_nonce_len)) != SG_OK)
		return rc;
	if (rep->status != P7_STATUS_FAILURE)
		return SG_OK;
	snprintf(num, sizeof(num), "%d", sg_failinfo(rep->failinfo));
	if ((rc = p7_attr_add(si, P7_OID_FAILINFO, V_ASN1_PRINTABLESTRING,
	    num, strlen(num))) != SG_OK)
		return rc;
	if (rep->failtext != NULL && rep->failtext[0] != '\0')
		rc = p7_attr_add(si, P7_OID_FAILINFOTEXT, V_ASN1_UTF8STRING,
		    rep->failtext, strlen(rep->failtext));
	return rc;
}

enum sg_rc
p7_rep_build(const struct p7_rep *rep, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	CMS_ContentInfo	*cms = NULL;
	CMS_SignerInfo	*si;
	BIO		*data = NULL;
	uint8_t		*env = NULL;
	size_t		 envlen = 0;
	unsigned int	 flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	enum sg_rc	 rc;

	if (rep->status == P7_STATUS_SUCCESS) {
		if (rep->crl == NULL && (rep->certs == NULL ||
		    sk_X509_num(rep->certs) < 1)) {
			rc = sg_err_set(err, SG_EINTERNAL, "CertRep: SUCCESS "
			    "without a certificate");
			goto out;
		}
		if ((rc = envelope(rep, &env, &envlen, err)) != SG_OK)
			goto out;
	}
	/*
	 * FAILURE and PENDING have no pkcsPKIEnvelope (3.3.2.2): their
	 * eContent is an empty OCTET STRING of type data, not absent.
	 * PKCS7_verify() (certmonger) fails "no content" on a detached
	 * SignedData, and the signature over the empty content is the
	 * same either way, so clients that expect none still verify it.
	 * micromdm's scepserver answers the same way.
	 */
	if ((data = BIO_new_mem_buf(env != NULL ? env : (uint8_t *)"",
	    (int)envlen)) == NULL ||
	    (cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "CertRep");
		goto out;
	}
	si = CMS_add1_signer(cms, rep->sign_cert, rep->sign_key,
	    reply_digest(rep->digest_nid ? rep->digest_nid :
	    rep->req->digest_nid), flags);
	if (si == NULL) {
		rc = sg_err_set(err, SG_EINTERNAL, "CertRep: cannot add the "
		    "RA signer");
		goto out;
	}
	if ((rc = add_attrs(si, rep)) != SG_OK) {
		(void)sg_err_set(err, rc, "CertRep: signed attributes");
		goto out;
	}
	if (CMS_final(cms, data, NULL, flags) != 1 ||
	    (rc = p7_der_cms(cms, der, len)) != SG_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "CertRep: cannot sign");
		goto out;
	}
out:
	CMS_ContentInfo_free(cms);
	BIO_free(data);
	free(env);
	return rc;
}
