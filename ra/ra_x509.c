/* Certificate construction for the local CA and for scepctl init. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ra_int.h"

/* Extensions per profile, in openssl.cnf syntax. */
static const struct {
	int		 nid;
	const char	*value;
	unsigned int	 profiles;	/* bit per enum ra_x509_profile */
} exts[] = {
#define P(x)	(1u << (x))
	{ NID_basic_constraints, "critical,CA:TRUE", P(RA_X509_ROOT) },
	{ NID_basic_constraints, "critical,CA:FALSE",
	    P(RA_X509_RA) | P(RA_X509_DEVICE) | P(RA_X509_CLIENT) },
	/* The CA may answer as its own RA: digitalSignature (RFC 8894
	 * 2.1.2, scep-interop.md 3.2). */
	{ NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature",
	    P(RA_X509_ROOT) },
	{ NID_key_usage, "critical,digitalSignature,keyEncipherment",
	    P(RA_X509_RA) | P(RA_X509_DEVICE) | P(RA_X509_CLIENT) },
	{ NID_ext_key_usage, "clientAuth,serverAuth", P(RA_X509_DEVICE) },
	{ NID_ext_key_usage, "clientAuth,emailProtection", P(RA_X509_CLIENT) },
	{ NID_subject_key_identifier, "hash",
	    P(RA_X509_ROOT) | P(RA_X509_RA) | P(RA_X509_DEVICE) |
	    P(RA_X509_CLIENT) },
	{ NID_authority_key_identifier, "keyid:always",
	    P(RA_X509_RA) | P(RA_X509_DEVICE) | P(RA_X509_CLIENT) },
#undef P
};

/* A positive random 127-bit serial: no counter file to race on. */
static int
random_serial(X509 *x)
{
	unsigned char	 buf[16];
	BIGNUM		*bn;
	int		 ok;

	if (RAND_bytes(buf, sizeof(buf)) != 1)
		return 0;
	buf[0] &= 0x7f;
	buf[0] |= 0x40;		/* always 16 bytes long */
	if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
		return 0;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

/*
 * The subject key: from the request's SubjectPublicKeyInfo as received
 * when there is one (X509_set_pubkey() would encode and decode it again
 * through OpenSSL 3's key coders, an eighth of an enrollment's CPU).
 */
static int
set_pubkey(X509 *x, const struct ra_x509_req *r)
{
	X509_PUBKEY		*src;
	X509_ALGOR		*alg;
	const ASN1_OBJECT	*aobj;
	const void		*pval;
	const unsigned char	*pk;
	ASN1_OBJECT		*obj = NULL;
	void			*pcopy = NULL;
	unsigned char		*penc = NULL;
	int			 pklen, ptype;

	if (r->csr == NULL)
		return X509_set_pubkey(x, r->pubkey);
	src = X509_REQ_get_X509_PUBKEY(r->csr);
	if (src == NULL || !X509_PUBKEY_get0_param(NULL, &pk, &pklen, &alg,
	    src))
		return 0;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	/* Parameters: an EC curve name, or explicit (RSA-PSS) ones. */
	if (ptype == V_ASN1_OBJECT)
		pcopy = OBJ_dup(pval);
	else if (ptype == V_ASN1_SEQUENCE)
		pcopy = ASN1_STRING_dup(pval);
	if ((obj = OBJ_dup(aobj)) == NULL || (pklen > 0 &&
	    (penc = OPENSSL_memdup(pk, (size_t)pklen)) == NULL) ||
	    ((ptype == V_ASN1_OBJECT || ptype == V_ASN1_SEQUENCE) &&
	    pcopy == NULL))
		goto fail;
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj, ptype,
	    pcopy, penc, pklen))
		goto fail;
	return 1;
fail:
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(pcopy);
	else if (ptype == V_ASN1_SEQUENCE)
		ASN1_STRING_free(pcopy);
	ASN1_OBJECT_free(obj);
	OPENSSL_free(penc);
	return 0;
}

/* Copy subjectAltName from the request (the only extension we honour). */
static int
copy_san(X509 *x, X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION) *req_exts;
	int	 i, ok = 1;

	if ((req_exts = X509_REQ_get_extensions(csr)) == NULL)
		return 1;
	for (i = 0; i < sk_X509_EXTENSION_num(req_exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(req_exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) ==
		    NID_subject_alt_name && !X509_add_ext(x, e, -1))
			ok = 0;
	}
	sk_X509_EXTENSION_pop_free(req_exts, X509_EXTENSION_free);
	return ok;
}

enum sg_rc
ra_x509_make(const struct ra_x509_req *r, X509 **out, struct sg_err *err)
{
	X509		*x = NULL;
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	size_t		 i;
	enum sg_rc	 rc;

	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !random_serial(x) ||
	    !X509_set_subject_name(x, r->subject) ||
	    !X509_set_issuer_name(x, r->issuer ?
	    X509_get_subject_name(r->issuer) : r->subject) ||
	    !set_pubkey(x, r) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -300,
	    (time_t *)&r->now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), r->days, 0,
	    (time_t *)&r->now) == NULL) {
		rc = sg_err_set(err, SG_EINTERNAL, "certificate");
		goto out;
	}
	X509V3_set_ctx(&ctx, r->issuer ? r->issuer : x, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if ((exts[i].profiles & (1u << r->profile)) == 0)
			continue;
		e = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid,
		    exts[i].value);
		if (e == NULL || !X509_add_ext(x, e, -1)) {
			X509_EXTENSION_free(e);
			rc = sg_err_set(err, SG_EINTERNAL, "certificate: "
			    "extension %s", OBJ_nid2sn(exts[i].nid));
			goto out;
		}
		X509_EXTENSION_free(e);
	}
	if (r->csr != NULL && !copy_san(x, r->csr)) {
		rc = sg_err_set(err, SG_EINTERNAL, "certificate: "
		    "subjectAltName");
		goto out;
	}
	if (X509_sign(x, r->issuer_key, EVP_sha256()) <= 0) {
		rc = sg_err_set(err, SG_EINTERNAL, "certificate: cannot sign");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = SG_OK;
out:
	X509_free(x);
	return rc;
}

void
ra_x509_serial(const X509 *x, char *out, size_t outsz)
{
	BIGNUM	*bn;
	char	*hex = NULL;

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn != NULL)
		hex = BN_bn2hex(bn);
	snprintf(out, outsz, "%s", hex != NULL ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Add O (and OU) of "with" to "name" at position "loc" (-1: the end). */
static int
add_org(X509_NAME *name, const struct ra_issuance *with, int loc)
{
	if (with->org[0] != '\0' && !X509_NAME_add_entry_by_NID(name,
	    NID_organizationName, MBSTRING_UTF8,
	    (const unsigned char *)with->org, -1, loc, 0))
		return 0;
	if (loc >= 0 && with->org[0] != '\0')
		loc++;
	return with->dept[0] == '\0' || X509_NAME_add_entry_by_NID(name,
	    NID_organizationalUnitName, MBSTRING_UTF8,
	    (const unsigned char *)with->dept, -1, loc, 0);
}

enum sg_rc
ra_x509_subject(const struct ra_endpoint *ep, const struct ra_issuance *with,
    X509_REQ *csr, X509_NAME **out, struct sg_err *err)
{
	const X509_NAME	*req = X509_REQ_get_subject_name(csr);
	X509_NAME	*name = NULL;
	X509_NAME_ENTRY	*ne;
	int		 i, nid, cn = -1, ok = 1;

	if (ep->subject_from_csr) {
		if ((*out = X509_NAME_dup(req)) == NULL)
			return sg_err_set(err, SG_ENOMEM, "subject");
		return SG_OK;
	}
	if ((name = X509_NAME_new()) == NULL)
		return sg_err_set(err, SG_ENOMEM, "subject");
	/* The request's attributes but O and OU, in order. */
	for (i = 0; ok && i < X509_NAME_entry_count(req); i++) {
		ne = X509_NAME_get_entry(req, i);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		if (nid == NID_organizationName ||
		    nid == NID_organizationalUnitName)
			continue;
		if (nid == NID_commonName && cn < 0)
			cn = X509_NAME_entry_count(name);
		ok = X509_NAME_add_entry(name, ne, -1, 0);
	}
	/* The account's O and OU go before the CN, as SCM puts them. */
	if (!ok || !add_org(name, with, cn)) {
		X509_NAME_free(name);
		return sg_err_set(err, SG_EINTERNAL, "subject");
	}
	*out = name;
	return SG_OK;
}
