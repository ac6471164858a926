/*
 * scep-rsaref: the crypto floor of one enrollment, as instructions.
 *
 * Loads an RSA private key (the instance's RA or CA key) and runs, in
 * rsaref_ops(), exactly the three private-key operations a local-CA
 * enrollment cannot avoid: one PKCS#1 v1.5 decryption (the request's
 * content-encryption key) and two SHA-256 PKCS#1 signatures (the
 * certificate and the CertRep). The contexts are made before, so that
 * rsaref_ops() holds just the private-key arithmetic, as `openssl speed`
 * measures it. bench/callgrind.sh runs this under callgrind with
 * --toggle-collect=rsaref_ops.
 *
 *	scep-rsaref KEYFILE [ROUNDS]
 *
 * ROUNDS (default 1) repeats the three operations after one warm-up
 * round (not counted); the tool prints the round count. Exit 0 on
 * success, 1 on any failure (with a message).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "sg.h"

struct rsaref {
	EVP_PKEY_CTX	*dec;		/* decrypt, PKCS#1 v1.5 */
	EVP_PKEY_CTX	*sig;		/* sign, SHA-256 PKCS#1 v1.5 */
	unsigned char	 ct[512];	/* a wrapped 16-byte key */
	size_t		 ctlen;
	unsigned char	 md[32];	/* the digest to sign */
};

static EVP_PKEY *
load_key(const char *path)
{
	EVP_PKEY	*pk = NULL;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pk != NULL && (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pk) != 2048)) {
		fprintf(stderr, "scep-rsaref: %s is not an RSA-2048 key\n",
		    path);
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

/* The contexts, and a ciphertext for the decryption to open. */
static enum sg_rc
rsaref_prepare(struct rsaref *r, EVP_PKEY *pk)
{
	EVP_PKEY_CTX	*enc = NULL;
	unsigned char	 cek[16];
	enum sg_rc	 rc = SG_EINTERNAL;

	memset(cek, 0x5a, sizeof(cek));
	memset(r->md, 0xa5, sizeof(r->md));
	r->ctlen = sizeof(r->ct);
	if ((enc = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(enc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(enc, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_encrypt(enc, r->ct, &r->ctlen, cek, sizeof(cek)) != 1)
		goto out;
	if ((r->dec = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(r->dec) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(r->dec, RSA_PKCS1_PADDING) != 1)
		goto out;
	if ((r->sig = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_sign_init(r->sig) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(r->sig, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(r->sig, EVP_sha256()) != 1)
		goto out;
	rc = SG_OK;
out:
	EVP_PKEY_CTX_free(enc);
	return rc;
}

/* One decryption and two signatures. */
__attribute__((noinline)) static enum sg_rc
rsaref_run(struct rsaref *r)
{
	unsigned char	 out[512];
	size_t		 outlen;
	int		 i;

	outlen = sizeof(out);
	if (EVP_PKEY_decrypt(r->dec, out, &outlen, r->ct, r->ctlen) != 1 ||
	    outlen != 16)
		return SG_EINTERNAL;
	OPENSSL_cleanse(out, outlen);
	for (i = 0; i < 2; i++) {
		outlen = sizeof(out);
		if (EVP_PKEY_sign(r->sig, out, &outlen, r->md,
		    sizeof(r->md)) != 1)
			return SG_EINTERNAL;
	}
	return SG_OK;
}

/*
 * The first use of a key builds its Montgomery contexts and blinding,
 * which a server does once at start: rsaref_warm() pays for them, and
 * callgrind counts only rsaref_ops().
 */
__attribute__((noinline)) static enum sg_rc
rsaref_warm(struct rsaref *r)
{
	return rsaref_run(r);
}

/* "rounds" times; a body of its own, so that no pass merges the two. */
__attribute__((noinline)) static enum sg_rc
rsaref_ops(struct rsaref *r, long rounds)
{
	long	i;

	for (i = 0; i < rounds; i++)
		if (rsaref_run(r) != SG_OK)
			return SG_EINTERNAL;
	return SG_OK;
}

int
main(int argc, char **argv)
{
	struct rsaref	 r = { 0 };
	EVP_PKEY	*pk = NULL;
	long		 rounds = 1;
	int		 ret = 1;

	if (argc < 2 || argc > 3 || (argc == 3 &&
	    !sg_parse_long(argv[2], 1, 1000000, &rounds))) {
		fprintf(stderr, "usage: scep-rsaref KEYFILE [ROUNDS]\n");
		return 2;
	}
	if ((pk = load_key(argv[1])) == NULL) {
		fprintf(stderr, "scep-rsaref: cannot load %s\n", argv[1]);
		goto out;
	}
	if (rsaref_prepare(&r, pk) != SG_OK) {
		fprintf(stderr, "scep-rsaref: cannot prepare the contexts\n");
		goto out;
	}
	if (rsaref_warm(&r) != SG_OK || rsaref_ops(&r, rounds) != SG_OK) {
		fprintf(stderr, "scep-rsaref: a private-key operation "
		    "failed\n");
		goto out;
	}
	printf("rounds: %ld\n", rounds);
	ret = 0;
out:
	if (ret != 0)
		ERR_print_errors_fp(stderr);
	EVP_PKEY_CTX_free(r.dec);
	EVP_PKEY_CTX_free(r.sig);
	EVP_PKEY_free(pk);
	return ret;
}
