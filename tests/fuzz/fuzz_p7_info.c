/*
 * libFuzzer target for p7_info_parse (pkcs7/p7_info.h), the describer
 * behind scepctl inspect: a SignedData from outside, and the envelope
 * inside it decoded as PKCS#7 without a key (RFC 5652 5 and 6). Seeds:
 * requests and CertReps of every shape from the p7_msg and certs corpora.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p7_info.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p7_info	info;
	struct sg_err	err;
	size_t		i;

	if (p7_info_parse(data, size, &info, &err) == SG_OK) {
		/* Touch what scepctl inspect prints, so that ASan checks it. */
		if (info.signer != NULL)
			(void)X509_get_subject_name(info.signer);
		for (i = 0; i < info.nrcpt && i < P7_INFO_RCPT_MAX; i++) {
			(void)strlen(info.rcpt[i].issuer);
			(void)strlen(info.rcpt[i].serial);
		}
		p7_info_clear(&info);
	}
	return 0;
}
