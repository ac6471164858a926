/*
 * libFuzzer target for the PKCS#10 decoder (STYLE.md 7): the request
 * inside a PKCSReq or RenewalReq, which a client controls entirely once
 * the envelope is open (RFC 8894 3.3.1, RFC 2986).
 *
 *  - p7_csr_parse(), then, as ra/ does with a request it accepts,
 *    p7_csr_strip_challenge() and p7_csr_parse_stored() on the result,
 *    which must come back without a challenge;
 *  - p7_csr_parse_stored() straight on the input. It skips only the
 *    self-signature check, which a mutated request almost never passes,
 *    so this is how the fuzzer reaches the challengePassword and
 *    subject code with hostile attributes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p7.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Touch what ra/ reads next, so that ASan checks the strings. */
static void
use(const struct p7_csr *csr)
{
	(void)strlen(csr->subject);
	if (csr->challenge != NULL)
		(void)strlen(csr->challenge);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p7_csr	*csr = NULL, *stored = NULL;
	struct sg_err	 err;
	uint8_t		*der = NULL;
	size_t		 len = 0;

	if (p7_csr_parse(data, size, &csr, &err) == SG_OK) {
		use(csr);
		if (p7_csr_strip_challenge(csr, &der, &len, &err) == SG_OK) {
			if (p7_csr_parse_stored(der, len, &stored, &err) !=
			    SG_OK || stored->challenge != NULL)
				abort();	/* stored, so it must read back */
			use(stored);
			p7_csr_free(stored);
			stored = NULL;
			free(der);
		}
		p7_csr_free(csr);
	}

	if (p7_csr_parse_stored(data, size, &stored, &err) == SG_OK) {
		use(stored);
		p7_csr_free(stored);
	}
	return 0;
}
