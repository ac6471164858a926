/*
 * Public keys decoded once, without OpenSSL 3.0's decoder chain.
 *
 * d2i of any structure holding a SubjectPublicKeyInfo (a certificate, a
 * PKCS#10 request) builds a new OSSL_DECODER chain in OpenSSL 3.0: 1.4
 * million instructions for each RSA key, 11% of an enrollment
 * (bench/RESULTS.md). Decoded in a library context that holds only the
 * "null" provider, the structure comes out with its key undecoded and
 * cheaply; p7_key_rsa() then reads an RSA key from its RSAPublicKey
 * bytes, and the caller puts it back (X509_set_pubkey). Callers check
 * that the structure still encodes to the bytes received, and fall back
 * to the ordinary d2i for anything else (EC keys, RSA-PSS, odd DER).
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "p7_int.h"

static pthread_once_t	 nokeys_once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX	*nokeys;
static OSSL_PROVIDER	*nokeys_null;

static void
nokeys_free(void)
{
	OSSL_PROVIDER_unload(nokeys_null);
	OSSL_LIB_CTX_free(nokeys);
}

static void
nokeys_init(void)
{
	if ((nokeys = OSSL_LIB_CTX_new()) == NULL)
		return;
	if ((nokeys_null = OSSL_PROVIDER_load(nokeys, "null")) == NULL) {
		OSSL_LIB_CTX_free(nokeys);
		nokeys = NULL;
		return;
	}
	atexit(nokeys_free);
}

OSSL_LIB_CTX *
p7_key_nodecode(void)
{
	pthread_once(&nokeys_once, nokeys_init);
	return nokeys;
}

ASN1_VALUE *
p7_key_d2i(const ASN1_ITEM *it, const uint8_t *der, size_t len)
{
	OSSL_LIB_CTX		*nul = p7_key_nodecode();
	const unsigned char	*p = der;
	ASN1_VALUE		*v;

	if (nul == NULL)
		return NULL;
	v = ASN1_item_d2i_ex(NULL, &p, (long)len, it, nul, NULL);
	if (v != NULL && p != der + len) {
		ASN1_item_free(v, it);
		v = NULL;
	}
	return v;
}

EVP_PKEY *
p7_key_rsa(X509_PUBKEY *pub)
{
	const unsigned char	*p, *end;
	X509_ALGOR		*alg;
	const ASN1_OBJECT	*obj;
	const void		*pval;
	EVP_PKEY		*pk;
	int			 len, ptype;

	if (pub == NULL || !X509_PUBKEY_get0_param(NULL, &p, &len, &alg,
	    pub) || len <= 0)
		return NULL;
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	/* RFC 3279 2.3.1: rsaEncryption, parameters NULL (or absent). */
	if (OBJ_obj2nid(obj) != NID_rsaEncryption ||
	    (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF))
		return NULL;
	end = p + len;
	pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	if (pk != NULL && p != end) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}
