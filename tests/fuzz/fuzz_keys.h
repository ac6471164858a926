/*
 * Fixed keys for the fuzz targets. gen_seeds.c made them once, together
 * with the seeds in corpus/ (fuzz_keys.inc holds the PEM), so that the
 * seed envelopes really open: PKCSReq seeds are encrypted to the RA
 * certificate, SUCCESS CertRep seeds to the client certificate. Keys
 * made afresh at start-up would leave every decryption path unreached.
 * Test material only: nothing here protects anything.
 */
#ifndef FUZZ_KEYS_H
#define FUZZ_KEYS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct fuzz_keys {
	X509		*ra_cert;	/* RA: decrypts requests, signs replies */
	EVP_PKEY	*ra_key;
	X509		*client_cert;	/* client: signs requests (self-signed) */
	EVP_PKEY	*client_key;
};

/*
 * Load the keys on the first call (from LLVMFuzzerInitialize) and return
 * the same ones afterwards; they live until exit. Aborts on failure: a
 * fuzzer without its keys would only report nonsense.
 */
const struct fuzz_keys	*fuzz_keys(void);

#endif /* FUZZ_KEYS_H */
