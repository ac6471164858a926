/*
 * p7_info: a description of a SignedData and its envelope for scepctl
 * inspect (p7_info.h). It reads what is there and decides nothing.
 */
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>

#include "p7_info.h"

/* Issuer and serial of one PKCS#7 RecipientInfo (RFC 5652 6.2.1). */
static void
rcpt_fill(PKCS7_RECIP_INFO *ri, struct p7_info_rcpt *r)
{
	BIGNUM	*bn = NULL;
	char	*hex = NULL;

	if (ri->issuer_and_serial != NULL) {
		X509_NAME_oneline(ri->issuer_and_serial->issuer, r->issuer,
		    (int)sizeof(r->issuer));
		if ((bn = ASN1_INTEGER_to_BN(ri->issuer_and_serial->serial,
		    NULL)) != NULL && (hex = BN_bn2hex(bn)) != NULL)
			snprintf(r->serial, sizeof(r->serial), "%s", hex);
	}
	if (ri->key_enc_algor != NULL)
		r->key_alg_nid = OBJ_obj2nid(ri->key_enc_algor->algorithm);
	OPENSSL_free(hex);
	BN_free(bn);
}

/*
 * The envelope (RFC 8894 3.2.2) through the PKCS#7 structures, whose
 * fields OpenSSL exposes (its CMS API has no getter for the content
 * cipher). A CMS-only form (a subjectKeyIdentifier recipient) does not
 * decode here: it is then shown as unreadable.
 */
static void
envelope_fill(const uint8_t *der, size_t len, struct p7_info *out)
{
	const unsigned char	*p = der;
	PKCS7			*p7;
	PKCS7_ENVELOPE		*env;
	int			 i, n;

	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL)
		return;
	if (PKCS7_type_is_enveloped(p7) && (env = p7->d.enveloped) != NULL) {
		if (env->enc_data != NULL && env->enc_data->algorithm != NULL)
			out->cipher_nid =
			    OBJ_obj2nid(env->enc_data->algorithm->algorithm);
		n = sk_PKCS7_RECIP_INFO_num(env->recipientinfo);
		out->nrcpt = n > 0 ? (size_t)n : 0;
		for (i = 0; i < n && i < P7_INFO_RCPT_MAX; i++)
			rcpt_fill(sk_PKCS7_RECIP_INFO_value(env->recipientinfo,
			    i), &out->rcpt[i]);
	}
	PKCS7_free(p7);
}

enum sg_rc
p7_info_parse(const uint8_t *der, size_t len, struct p7_info *out,
    struct sg_err *err)
{
	const unsigned char	*p = der;
	CMS_ContentInfo		*cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	ASN1_OCTET_STRING	**content;
	X509			*signer = NULL;
	X509_ALGOR		*dig = NULL, *sig = NULL;
	enum sg_rc		 rc = SG_OK;

	memset(out, 0, sizeof(*out));
	if (len > P7_INFO_DER_MAX || (cms = d2i_CMS_ContentInfo(NULL, &p,
	    (long)len)) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    (sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1) {
		rc = sg_err_set(err, SG_EPARSE, "RFC 8894 3.2: not a "
		    "SignedData with one SignerInfo");
		goto out;
	}
	/* Matches the SignerInfo to the certificates it carries. */
	CMS_set1_signers_certs(cms, NULL, 0);
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL,
	    &signer, &dig, &sig);
	if (signer != NULL && X509_up_ref(signer))
		out->signer = signer;
	out->digest_nid = dig != NULL ? OBJ_obj2nid(dig->algorithm) :
	    NID_undef;
	out->sig_alg_nid = sig != NULL ? OBJ_obj2nid(sig->algorithm) :
	    NID_undef;
	out->cipher_nid = NID_undef;
	if ((content = CMS_get0_content(cms)) != NULL && *content != NULL &&
	    (*content)->length > 0) {
		out->envelope_len = (size_t)(*content)->length;
		envelope_fill((*content)->data, out->envelope_len, out);
	}
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	return rc;
}

void
p7_info_clear(struct p7_info *info)
{
	if (info == NULL)
		return;
	X509_free(info->signer);
	memset(info, 0, sizeof(*info));
}

const char *
p7_failinfo_name(int failinfo)
{
	static const char *const names[] = { "badAlg", "badMessageCheck",
	    "badRequest", "badTime", "badCertId" };

	if (failinfo == SG_FAIL_NONE)
		return "none";
	if (failinfo < 0 || failinfo >= (int)(sizeof(names) /
	    sizeof(names[0])))
		return "unknown";
	return names[failinfo];
}
