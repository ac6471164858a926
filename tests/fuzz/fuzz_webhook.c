/*
 * libFuzzer target for the answer of a challenge-validation webhook
 * (ra/ra_webhook.c, docs/webhooks.md): bytes from an outside service,
 * decoded before they admit or refuse a device. The whole input is the
 * answer body (an exactly sized copy, not NUL-terminated, as ra/http/
 * hands it over). Checked: the texts are NUL-terminated inside their
 * buffers, the reason printable (it goes into failInfoText), the
 * account a valid account name, and a refused answer leaves no half
 * result behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ra_webhook.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ra_webhook_answer	 a;
	struct sg_err			 err;
	uint8_t				*copy;
	size_t				 n;

	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (ra_webhook_answer_parse(copy, size, &a, &err) == SG_OK) {
		n = strnlen(a.account, sizeof(a.account));
		if (n == sizeof(a.account) ||
		    (a.account[0] != '\0' && !ra_policy_name_ok(a.account)))
			abort();
		n = strnlen(a.reason, sizeof(a.reason));
		if (n == sizeof(a.reason))
			abort();
		while (n-- > 0)
			if ((unsigned char)a.reason[n] < ' ' ||
			    (unsigned char)a.reason[n] > '~')
				abort();
	} else if (a.allow || a.account[0] != '\0' || a.reason[0] != '\0' ||
	    strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
		abort();
	free(copy);
	return 0;
}
