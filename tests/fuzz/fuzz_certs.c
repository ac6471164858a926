/*
 * libFuzzer target for the client-side readers (STYLE.md 7), which
 * scepctl and scep-bench run on a server's answers:
 *  - p7_certs_parse(): a degenerate certs-only SignedData (RFC 8894
 *    3.4), as GetCACert returns and as a SUCCESS CertRep carries;
 *  - p7_certrep_parse(): a whole CertRep (3.3.2), verified with the
 *    certificate it carries and, on SUCCESS, decrypted with the fixed
 *    client key (fuzz_keys.h) the CertRep seeds were encrypted to.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "fuzz_keys.h"
#include "p7.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	(void)fuzz_keys();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys	*k = fuzz_keys();
	STACK_OF(X509)		*certs = NULL;
	struct p7_certrep	*rep = NULL;
	struct sg_err		 err;

	if (p7_certs_parse(data, size, &certs, &err) == SG_OK)
		sk_X509_pop_free(certs, X509_free);
	if (p7_certrep_parse(data, size, NULL, k->client_cert, k->client_key,
	    &rep, &err) == SG_OK)
		p7_certrep_free(rep);
	return 0;
}
