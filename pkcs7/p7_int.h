/* Helpers shared inside pkcs7/ only. */
#ifndef P7_INT_H
#define P7_INT_H

#include <openssl/cms.h>

#include "p7.h"

/* SCEP attribute OIDs (RFC 8894 3.2.1), created once per call site. */
#define P7_OID_MESSAGETYPE	"2.16.840.1.113733.1.9.2"
#define P7_OID_PKISTATUS	"2.16.840.1.113733.1.9.3"
#define P7_OID_FAILINFO		"2.16.840.1.113733.1.9.4"
#define P7_OID_SENDERNONCE	"2.16.840.1.113733.1.9.5"
#define P7_OID_RECIPIENTNONCE	"2.16.840.1.113733.1.9.6"
#define P7_OID_TRANSID		"2.16.840.1.113733.1.9.7"
#define P7_OID_FAILINFOTEXT	"1.3.6.1.5.5.7.24.1"

/*
 * Read a single-valued string attribute of a SignerInfo into "out"
 * (size "outsz", NUL-terminated). PrintableString is what the RFC says;
 * UTF8String and IA5String are accepted too. Returns SG_ENOTFOUND if
 * absent, SG_EPARSE if malformed or too long.
 */
enum sg_rc	 p7_attr_get_str(CMS_SignerInfo *si, const char *oid,
		    char *out, size_t outsz);
/* Read an OCTET STRING attribute; *len gets its length (<= outsz). */
enum sg_rc	 p7_attr_get_octets(CMS_SignerInfo *si, const char *oid,
		    uint8_t *out, size_t outsz, size_t *len);
/*
 * Copy an i2d result (OPENSSL_malloc'ed "buf" of "n" bytes, n <= 0 on
 * failure) into malloc'ed *der and free "buf" (p7_der.c).
 */
enum sg_rc	 p7_der_take(unsigned char *buf, int n, uint8_t **der,
		    size_t *len);
/* The DER of a CMS ContentInfo, malloc'ed. */
enum sg_rc	 p7_der_cms(CMS_ContentInfo *cms, uint8_t **der, size_t *len);
/*
 * A library context with only the "null" provider (p7_key.c): d2i with
 * it leaves every SubjectPublicKeyInfo undecoded. Process-wide, made at
 * the first call; NULL if it cannot be made (use the default then).
 */
OSSL_LIB_CTX	*p7_key_nodecode(void);
/*
 * d2i of "it" with p7_key_nodecode(), all of "der" or NULL (also when
 * there is no such context). Free with ASN1_item_free().
 */
ASN1_VALUE	*p7_key_d2i(const ASN1_ITEM *it, const uint8_t *der,
		    size_t len);
/*
 * The RSA key of an rsaEncryption SubjectPublicKeyInfo, decoded from
 * its bytes without a decoder chain; NULL for another key type or a
 * malformed key. The caller frees it.
 */
EVP_PKEY	*p7_key_rsa(X509_PUBKEY *pub);
/* Add a signed attribute of ASN.1 string type "type". */
enum sg_rc	 p7_attr_add(CMS_SignerInfo *si, const char *oid, int type,
		    const void *data, size_t len);

/* Wipe the challengePassword values inside "req" (p7_csr.c). */
void		 p7_csr_wipe_req(X509_REQ *req);

#endif /* P7_INT_H */
