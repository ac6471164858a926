/*
 * libFuzzer target for the hand-written HTTP parsing in server/ and the
 * lenient base64 in common/ (STYLE.md 7): what a GET request line
 * carries, "/scep/EXT/pkiclient.exe?operation=...&message=...".
 *
 * The input, cut at its first NUL as a C string would be, is split at
 * its first '?' into a path and a query, as libmicrohttpd hands them
 * over; without a '?' the whole input is both. The calls and limits are
 * those of srv_scep.c with the default max_body. sg_safe_str(), which
 * puts outside strings into log lines, gets the path too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ra.h"
#include "sg.h"
#include "srv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* limits.max_body's default (conf.c): the GET message bound. */
#define MAX_BODY	65536

/* An exactly sized NUL-terminated copy: ASan sees any over-read. */
static char *
dup_range(const char *p, size_t n)
{
	char	*s;

	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*in = (const char *)data, *q;
	char		*path = NULL, *query = NULL, *op = NULL, *msg = NULL;
	char		*ext = NULL, *safe = NULL;
	uint8_t		*der = NULL;
	size_t		 n, len, oplen, msglen;

	n = strnlen(in, size);
	q = memchr(in, '?', n);
	path = dup_range(in, q != NULL ? (size_t)(q - in) : n);
	query = q != NULL ? dup_range(q + 1, n - (size_t)(q - in) - 1) :
	    dup_range(in, n);
	/* srv_scep.c's buffer is RA_NAME_MAX on the stack; here exact. */
	ext = malloc(RA_NAME_MAX);
	safe = malloc(64);
	if (path == NULL || query == NULL || ext == NULL || safe == NULL)
		goto out;

	sg_safe_str(path, safe, 64);
	if (strlen(safe) >= 64)
		abort();

	if (srv_path_endpoint(path, ext, RA_NAME_MAX))
		(void)strlen(ext);
	if (srv_query_get(query, "operation", 64, &op, &oplen) == SG_OK &&
	    strlen(op) != oplen)
		abort();	/* the contract: no NUL inside */
	if (srv_query_get(query, "message", 2 * MAX_BODY, &msg, &msglen) ==
	    SG_OK && sg_b64_decode(msg, msglen, MAX_BODY, &der, &len, NULL) ==
	    SG_OK && len > MAX_BODY)
		abort();	/* the contract: at most "max" bytes */
out:
	free(der);
	free(msg);
	free(op);
	free(safe);
	free(ext);
	free(query);
	free(path);
	return 0;
}
