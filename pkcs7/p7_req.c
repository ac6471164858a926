/*
 * The client side of the codec: pkiMessages as a SCEP client sends them
 * (RFC 8894 3.2) and CertReps as a client reads them (3.3.2). Used by
 * the tests and by scep-bench, never by the server.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "p7_int.h"

enum sg_rc
p7_req_build(const struct p7_req *rq, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	CMS_ContentInfo	*env = NULL, *cms = NULL;
	CMS_SignerInfo	*si;
	EVP_CIPHER	*cipher = NULL;
	BIO		*in = NULL, *envbio = NULL;
	uint8_t		*envder = NULL, nonce[16];
	const uint8_t	*sn = rq->sender_nonce;
	size_t		 envlen = 0, snlen = rq->sender_nonce_len;
	unsigned int	 flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	char		 type[8];
	enum sg_rc	 rc;

	cipher = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(rq->cipher_nid ?
	    rq->cipher_nid : NID_aes_128_cbc), NULL);
	if (cipher == NULL) {
		rc = sg_err_set(err, SG_EALG, "pkiMessage: cipher unavailable");
		goto out;
	}
	if ((in = BIO_new_mem_buf(rq->data, (int)rq->data_len)) == NULL ||
	    (env = CMS_encrypt(rq->recipients, in, cipher, CMS_BINARY)) ==
	    NULL || (rc = p7_der_cms(env, &envder, &envlen)) != SG_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "pkiMessage: envelope");
		goto out;
	}
	if (sn == NULL) {
		if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
			rc = sg_err_set(err, SG_EINTERNAL, "random");
			goto out;
		}
		sn = nonce;
		snlen = sizeof(nonce);
	}
	if ((envbio = BIO_new_mem_buf(envder, (int)envlen)) == NULL ||
	    (cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (si = CMS_add1_signer(cms, rq->signer, rq->signer_key,
	    EVP_get_digestbynid(rq->digest_nid ? rq->digest_nid : NID_sha256),
	    flags)) == NULL) {
		rc = sg_err_set(err, SG_EINTERNAL, "pkiMessage: signer");
		goto out;
	}
	snprintf(type, sizeof(type), "%d", rq->type);
	if ((rc = p7_attr_add(si, P7_OID_MESSAGETYPE, V_ASN1_PRINTABLESTRING,
	    type, strlen(type))) != SG_OK ||
	    (rc = p7_attr_add(si, P7_OID_TRANSID, V_ASN1_PRINTABLESTRING,
	    rq->transid, strlen(rq->transid))) != SG_OK ||
	    (rc = p7_attr_add(si, P7_OID_SENDERNONCE, V_ASN1_OCTET_STRING,
	    sn, snlen)) != SG_OK) {
		(void)sg_err_set(err, rc, "pkiMessage: attributes");
		goto out;
	}
	if (CMS_final(cms, envbio, NULL, flags) != 1 ||
	    (rc = p7_der_cms(cms, der, len)) != SG_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "pkiMessage: signature");
		goto out;
	}
	rc = SG_OK;
out:
	BIO_free(in);
	BIO_free(envbio);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(cms);
	EVP_CIPHER_free(cipher);
	free(envder);
	return rc;
}

void
p7_certrep_free(struct p7_certrep *r)
{
	if (r == NULL)
		return;
	sk_X509_pop_free(r->certs, X509_free);
	X509_CRL_free(r->crl);
	free(r);
}

/* The first CRL of a degenerate SignedData (GetCRL), or NULL. */
static X509_CRL *
first_crl(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	PKCS7			*p7;
	X509_CRL		*crl = NULL;

	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 != NULL && PKCS7_type_is_signed(p7) && p7->d.sign != NULL &&
	    sk_X509_CRL_num(p7->d.sign->crl) > 0) {
		crl = sk_X509_CRL_value(p7->d.sign->crl, 0);
		if (!X509_CRL_up_ref(crl))
			crl = NULL;
	}
	PKCS7_free(p7);
	return crl;
}

/* pkiStatus, failInfo, failInfoText and the nonces. */
static enum sg_rc
certrep_attrs(CMS_SignerInfo *si, struct p7_certrep *r, struct sg_err *err)
{
	char	buf[16];
	long	v;

	if (p7_attr_get_str(si, P7_OID_MESSAGETYPE, buf, sizeof(buf)) !=
	    SG_OK || !sg_parse_long(buf, 0, 255, &v) || v != P7_TYPE_CERTREP)
		return sg_err_set(err, SG_EPARSE, "CertRep: messageType is "
		    "not 3");
	if (p7_attr_get_str(si, P7_OID_PKISTATUS, buf, sizeof(buf)) !=
	    SG_OK || !sg_parse_long(buf, 0, 3, &v) || v == 1)
		return sg_err_set(err, SG_EPARSE, "CertRep: bad pkiStatus");
	r->status = (int)v;
	r->failinfo = SG_FAIL_NONE;
	if (r->status == P7_STATUS_FAILURE) {
		if (p7_attr_get_str(si, P7_OID_FAILINFO, buf, sizeof(buf)) !=
		    SG_OK || !sg_parse_long(buf, 0, 4, &v))
			return sg_err_set(err, SG_EPARSE, "CertRep: FAILURE "
			    "without a valid failInfo");
		r->failinfo = (int)v;
		(void)p7_attr_get_str(si, P7_OID_FAILINFOTEXT, r->failtext,
		    sizeof(r->failtext));
	}
	if (p7_attr_get_str(si, P7_OID_TRANSID, r->transid,
	    sizeof(r->transid)) != SG_OK ||
	    p7_attr_get_octets(si, P7_OID_SENDERNONCE, r->sender_nonce,
	    sizeof(r->sender_nonce), &r->sender_nonce_len) != SG_OK ||
	    p7_attr_get_octets(si, P7_OID_RECIPIENTNONCE, r->recipient_nonce,
	    sizeof(r->recipient_nonce), &r->recipient_nonce_len) != SG_OK)
		return sg_err_set(err, SG_EPARSE, "CertRep: missing "
		    "transactionID or nonces");
	return SG_OK;
}

enum sg_rc
p7_certrep_parse(const uint8_t *der, size_t len, X509 *ra_cert,
    X509 *my_cert, EVP_PKEY *my_key, struct p7_certrep **out,
    struct sg_err *err)
{
	const unsigned char	*p = der;
	CMS_ContentInfo		*cms = NULL;
	STACK_OF(X509)		*extra = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	struct p7_msg		 env = { 0 };
	struct p7_certrep	*r = NULL;
	BIO			*content = NULL, *empty = NULL;
	unsigned int		 flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY;
	char			*buf;
	long			 n;
	enum sg_rc		 rc;

	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL || p != der + len ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    (sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1) {
		rc = sg_err_set(err, SG_EPARSE, "CertRep: not a SignedData "
		    "with one signer");
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "CertRep");
		goto out;
	}
	if ((rc = certrep_attrs(sk_CMS_SignerInfo_value(sis, 0), r, err)) !=
	    SG_OK)
		goto out;
	if (ra_cert != NULL) {
		if ((extra = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(extra, ra_cert)) {
			rc = sg_err_set(err, SG_ENOMEM, "CertRep");
			goto out;
		}
		flags |= CMS_NOINTERN;	/* only the RA may have signed */
	}
	/*
	 * FAILURE and PENDING sign empty content (3.3.2.2): as an empty
	 * eContent (scepgate, micromdm) or detached, with none at all.
	 */
	if (CMS_is_detached(cms) &&
	    (empty = BIO_new_mem_buf("", 0)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "CertRep");
		goto out;
	}
	if ((content = BIO_new(BIO_s_mem())) == NULL ||
	    CMS_verify(cms, extra, NULL, empty, content, flags) != 1) {
		rc = sg_err_set(err, SG_EBADSIG, "CertRep: signature does not "
		    "verify");
		goto out;
	}
	if (r->status == P7_STATUS_SUCCESS) {
		n = BIO_get_mem_data(content, &buf);
		env.envelope = (uint8_t *)buf;
		env.envelope_len = n > 0 ? (size_t)n : 0;
		rc = p7_msg_open(&env, my_cert, my_key, err);
		env.envelope = NULL;	/* borrowed from the BIO */
		r->cipher_nid = env.cipher_nid;
		if (rc == SG_OK)
			rc = p7_certs_parse(env.data, env.data_len, &r->certs,
			    err);
		if (rc == SG_OK)
			r->crl = first_crl(env.data, env.data_len);
		free(env.data);
		if (rc != SG_OK)
			goto out;
	}
	*out = r;
	r = NULL;
	rc = SG_OK;
out:
	BIO_free(empty);
	BIO_free(content);
	sk_X509_free(extra);
	CMS_ContentInfo_free(cms);
	p7_certrep_free(r);
	return rc;
}
