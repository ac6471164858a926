/*
 * libFuzzer target for the PKCS#10 decoder (STYLE.md 7): the request
 * inside a PKCSReq or RenewalReq, which a client controls entirely once
 * the envelope is open (RFC 8894 3.3.1, RFC 2986). A mutated request
 * rarely keeps a valid self-signature, so the seeds carry valid ones and
 * the decoder's early checks see the hostile variants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p7.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p7_csr	*csr = NULL;
	struct sg_err	 err;

	if (p7_csr_parse(data, size, &csr, &err) == SG_OK) {
		/* Touch what ra/ reads next, so that ASan checks it. */
		(void)strlen(csr->subject);
		if (csr->challenge != NULL)
			(void)strlen(csr->challenge);
		p7_csr_free(csr);
	}
	return 0;
}
