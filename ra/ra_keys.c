/*
 * RA keys and the server secret: parsed once at start (DESIGN.md,
 * performance budget); ra.c builds the GetCACert bodies from them. This file
 * is the only one that holds RA private keys (STYLE.md 1).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ra_http.h"	/* ra_secret_read(): the one secret reader */
#include "ra_int.h"

enum sg_rc
ra_pem_read_cert(const char *path, X509 **out, struct sg_err *err)
{
	BIO	*b;
	X509	*x;

	if ((b = BIO_new_file(path, "r")) == NULL)
		return sg_err_set(err, SG_EIO, "%s: cannot open", path);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		return sg_err_set(err, SG_EPARSE, "%s: no PEM certificate",
		    path);
	*out = x;
	return SG_OK;
}

enum sg_rc
ra_pem_read_certs(const char *path, STACK_OF(X509) *sk, struct sg_err *err)
{
	BIO	*b;
	X509	*x;
	int	 n = 0;

	if ((b = BIO_new_file(path, "r")) == NULL)
		return sg_err_set(err, SG_EIO, "%s: cannot open", path);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			BIO_free(b);
			return sg_err_set(err, SG_ENOMEM, "%s", path);
		}
		n++;
	}
	BIO_free(b);
	ERR_clear_error();	/* the end of the file */
	if (n == 0)
		return sg_err_set(err, SG_EPARSE, "%s: no PEM certificate",
		    path);
	return SG_OK;
}

#define KEY_FILE_MAX	(64u * 1024)	/* a PEM private key */
#define SECRET_FILE_MAX	256u		/* the server secret, or its hex */

enum sg_rc
ra_pem_read_key(const char *path, EVP_PKEY **out, struct sg_err *err)
{
	struct ra_secret s = { 0 };
	BIO		*b = NULL;
	EVP_PKEY	*k = NULL;
	enum sg_rc	 rc;

	/* A key on a token (RFC 7512) is not a file: ra_pkcs11.c. */
	if (strncmp(path, "pkcs11:", 7) == 0)
		return ra_pkcs11_key(path, out, err);
	/* The one reader: a regular file only its owner may read. */
	if ((rc = ra_secret_read(path, "private key", KEY_FILE_MAX, 0, &s,
	    err)) != SG_OK)
		return rc;
	if ((b = BIO_new_mem_buf(s.data, (int)s.len)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "%s", path);
		goto out;
	}
	if ((k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		rc = sg_err_set(err, SG_EPARSE, "%s: no PEM private key",
		    path);
		goto out;
	}
	*out = k;
out:
	BIO_free(b);
	ra_secret_free(&s);
	return rc;
}

/* The secret file: hex (as scepctl init writes it) or raw bytes. */
static enum sg_rc
read_secret(struct ra_keys *k, const char *path, struct sg_err *err)
{
	struct ra_secret s = { 0 };
	size_t		 n, i;
	long		 len;
	unsigned char	*raw;
	enum sg_rc	 rc;

	if ((rc = ra_secret_read(path, "secret_file", SECRET_FILE_MAX, 0, &s,
	    err)) != SG_OK)
		return rc;
	n = s.len;
	while (n > 0 && (s.data[n - 1] == '\n' || s.data[n - 1] == '\r'))
		s.data[--n] = '\0';
	raw = OPENSSL_hexstr2buf(s.data, &len);
	if (raw != NULL && len >= 16 && (size_t)len <= sizeof(k->secret)) {
		memcpy(k->secret, raw, (size_t)len);
		k->secret_len = (size_t)len;
	} else if (n >= 16 && n <= sizeof(k->secret)) {
		memcpy(k->secret, s.data, n);
		k->secret_len = n;
	}
	OPENSSL_clear_free(raw, raw != NULL ? (size_t)len : 0);
	ra_secret_free(&s);
	ERR_clear_error();
	for (i = 0; i < k->secret_len && k->secret[i] == 0; i++)
		continue;
	if (k->secret_len == 0 || i == k->secret_len)
		return sg_err_set(err, SG_ECONF, "%s: the secret must be 16 to "
		    "64 bytes (or their hex)", path);
	return SG_OK;
}

/* Load one RA: certificate, key, and its chain for GetCACert. */
static enum sg_rc
load_ra(struct ra_key *rk, const struct conf_ra *cr, STACK_OF(X509) *ca_chain,
    struct sg_err *err)
{
	enum sg_rc	 rc;
	int		 i;

	snprintf(rk->id, sizeof(rk->id), "%s", cr->id);
	if ((rc = ra_pem_read_cert(cr->cert, &rk->cert, err)) != SG_OK ||
	    (rc = ra_pem_read_key(cr->key, &rk->key, err)) != SG_OK)
		return rc;
	if (X509_check_private_key(rk->cert, rk->key) != 1)
		return sg_err_set(err, SG_ECONF, "ra '%s': %s does not match "
		    "%s", cr->id, cr->key, cr->cert);
	if (EVP_PKEY_get_base_id(rk->key) != EVP_PKEY_RSA)
		return sg_err_set(err, SG_ECONF, "ra '%s': RFC 8894 needs an "
		    "RSA key to decrypt requests", cr->id);
	/* RA first, then its extra chain, then the CA chain (3.3). */
	if ((rk->chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(rk->chain, rk->cert))
		return sg_err_set(err, SG_ENOMEM, "ra");
	(void)X509_up_ref(rk->cert);	/* pushed: the chain holds one */
	if (cr->chain[0] != '\0' &&
	    (rc = ra_pem_read_certs(cr->chain, rk->chain, err)) != SG_OK)
		return rc;
	for (i = 0; i < sk_X509_num(ca_chain); i++) {
		X509 *x = sk_X509_value(ca_chain, i);

		/* The CA acting as its own RA appears once. */
		if (X509_cmp(x, rk->cert) == 0)
			continue;
		if (!sk_X509_push(rk->chain, x))
			return sg_err_set(err, SG_ENOMEM, "ra");
		(void)X509_up_ref(x);
	}
	return SG_OK;
}

enum sg_rc
ra_keys_load(struct ra_keys *k, const struct conf *conf,
    STACK_OF(X509) *ca_chain, struct sg_err *err)
{
	enum sg_rc	rc;
	size_t		i;

	memset(k, 0, sizeof(*k));
	if ((rc = read_secret(k, conf->secret_file, err)) != SG_OK)
		return rc;
	/* A separate key for sealing, so the HMAC key is used for one job. */
	if (ra_keys_code_hmac(k, "scepgate: sealed CSR, v1", k->seal_key) !=
	    SG_OK)
		return sg_err_set(err, SG_EINTERNAL, "key derivation");
	for (i = 0; i < conf->nra; i++) {
		k->nra++;
		if ((rc = load_ra(&k->ra[i], &conf->ra[i], ca_chain, err)) !=
		    SG_OK)
			return rc;
	}
	return SG_OK;
}

void
ra_keys_free(struct ra_keys *k)
{
	size_t	i;

	for (i = 0; i < k->nra; i++) {
		X509_free(k->ra[i].cert);
		EVP_PKEY_free(k->ra[i].key);
		sk_X509_pop_free(k->ra[i].chain, X509_free);
	}
	OPENSSL_cleanse(k, sizeof(*k));
}

const struct ra_key *
ra_keys_find(const struct ra_keys *k, const char *id)
{
	size_t	i;

	for (i = 0; i < k->nra; i++)
		if (strcmp(k->ra[i].id, id) == 0)
			return &k->ra[i];
	return NULL;
}

enum sg_rc
ra_keys_code_hmac(const struct ra_keys *k, const char *code,
    uint8_t out[32])
{
	unsigned int	len = 0;

	if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
	    (const unsigned char *)code, strlen(code), out, &len) == NULL ||
	    len != 32)
		return SG_EINTERNAL;
	return SG_OK;
}

/* keyUsage bits as words, for "scepctl ra list". */
static void
key_usage_text(X509 *x, char *out, size_t outsz)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} bits[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
	};
	uint32_t	ku = X509_get_key_usage(x);
	size_t		i, off = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]) && off < outsz; i++)
		if (ku != UINT32_MAX && (ku & bits[i].bit))
			off += (size_t)snprintf(out + off, outsz - off, "%s%s",
			    off ? "," : "", bits[i].name);
	if (ku == UINT32_MAX)
		snprintf(out, outsz, "(any)");
}

/* One certificate's fields into "rc". */
void
ra_keys_describe(const struct ra_key *rk, struct ra_racert *rc)
{
	struct tm	tm;

	snprintf(rc->id, sizeof(rc->id), "%s", rk->id);
	X509_NAME_oneline(X509_get_subject_name(rk->cert), rc->subject,
	    sizeof(rc->subject));
	X509_NAME_oneline(X509_get_issuer_name(rk->cert), rc->issuer,
	    sizeof(rc->issuer));
	key_usage_text(rk->cert, rc->key_usage, sizeof(rc->key_usage));
	ra_x509_serial(rk->cert, rc->serial, sizeof(rc->serial));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(rk->cert), &tm) == 1)
		rc->not_after = (int64_t)timegm(&tm);
}

#define SEAL_IV		12
#define SEAL_TAG	16

enum sg_rc
ra_keys_seal(const struct ra_keys *k, const uint8_t *in, size_t len,
    uint8_t **out, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	uint8_t		*buf = NULL;
	int		 n = 0, f = 0;
	enum sg_rc	 rc = SG_EINTERNAL;

	if (len > INT32_MAX / 2)
		return SG_ELIMIT;
	/* IV || ciphertext || tag */
	if ((buf = malloc(SEAL_IV + len + SEAL_TAG)) == NULL)
		return SG_ENOMEM;
	if (RAND_bytes(buf, SEAL_IV) != 1 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->seal_key,
	    buf) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + SEAL_IV, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + SEAL_IV + n, &f) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
	    buf + SEAL_IV + n + f) != 1)
		goto out;
	*out = buf;
	*outlen = SEAL_IV + (size_t)(n + f) + SEAL_TAG;
	buf = NULL;
	rc = SG_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return rc;
}

enum sg_rc
ra_keys_unseal(const struct ra_keys *k, const uint8_t *in, size_t len,
    uint8_t **out, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	uint8_t		*buf = NULL;
	size_t		 clen;
	int		 n = 0, f = 0;
	enum sg_rc	 rc = SG_EPARSE;

	if (len < SEAL_IV + SEAL_TAG || len > INT32_MAX / 2)
		return SG_EPARSE;
	clen = len - SEAL_IV - SEAL_TAG;
	if ((buf = malloc(clen + 1)) == NULL)
		return SG_ENOMEM;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->seal_key,
	    in) != 1 ||
	    EVP_DecryptUpdate(ctx, buf, &n, in + SEAL_IV, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
	    (void *)(in + SEAL_IV + clen)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, buf + n, &f) != 1)
		goto out;
	*out = buf;
	*outlen = (size_t)(n + f);
	buf = NULL;
	rc = SG_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return rc;
}
