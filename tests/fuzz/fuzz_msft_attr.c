/*
 * libFuzzer target for the enrollment name/value pairs of Windows and
 * Android CSRs (ra/ra_csr_msft.c, OID 1.3.6.1.4.1.311.13.2.1): the
 * ValidityPeriod a device asks for. The input is a DER PKCS#10 as it
 * comes out of the envelope; its signature is not checked here (the
 * parser reads the attributes only). Seeds: test_csr_msft's table,
 * written with SG_MSFT_SEEDS=corpus/msft_attr build/.../test_csr_msft.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "ra_csr_msft.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char	*p = data;
	X509_REQ		*req;
	struct sg_err		 err;
	long			 days = 0;

	if (size > 65536 || (req = d2i_X509_REQ(NULL, &p, (long)size)) ==
	    NULL)
		return 0;
	if (ra_csr_msft_validity(req, &days, &err) == SG_OK &&
	    (days < 0 || days > RA_CSR_MSFT_DAYS_MAX))
		abort();
	X509_REQ_free(req);
	return 0;
}
