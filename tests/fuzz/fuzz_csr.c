/*
 * libFuzzer target for p7_csr_parse() (STYLE.md 7): the PKCS#10 inside
 * a PKCSReq or RenewalReq, which a client controls entirely once the
 * envelope is open (RFC 8894 3.3.1, RFC 2986).
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
		/* What ra/ reads of it next: let ASan check the strings. */
		(void)strlen(csr->subject);
		if (csr->challenge != NULL)
			(void)strlen(csr->challenge);
		p7_csr_free(csr);
	}
	return 0;
}
