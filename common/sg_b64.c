/*
 * Lenient base64 for SCEP GET messages (scep-interop.md 1.3), decoded
 * by OpenSSL's EVP_Decode* after normalising what clients really send.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sg.h"

enum sg_rc
sg_b64_decode(const char *in, size_t inlen, size_t max, uint8_t **out,
    size_t *outlen, struct sg_err *err)
{
	EVP_ENCODE_CTX	*ctx = NULL;
	char		*norm = NULL;
	uint8_t		*buf = NULL;
	size_t		 n = 0, i;
	int		 l1 = 0, l2 = 0;
	enum sg_rc	 rc;

	/* Line breaks add a few percent; the exact check follows below. */
	if (inlen / 2 > max + 16) {
		rc = sg_err_set(err, SG_ELIMIT, "base64: %zu characters "
		    "exceed the limit", inlen);
		goto out;
	}
	/* Room for the text and up to 3 characters of padding. */
	if ((norm = malloc(inlen + 4)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "base64");
		goto out;
	}
	for (i = 0; i < inlen; i++) {
		char c = in[i];

		if (c == '\r' || c == '\n' || c == '\t')
			continue;
		if (c == ' ')
			c = '+';	/* a raw '+' after form decoding */
		else if (c == '-')
			c = '+';	/* base64url (old micromdm client) */
		else if (c == '_')
			c = '/';
		norm[n++] = c;
	}
	while (n % 4 != 0)
		norm[n++] = '=';
	if (n / 4 * 3 > max + 3) {
		rc = sg_err_set(err, SG_ELIMIT, "base64: decoded message "
		    "exceeds %zu bytes", max);
		goto out;
	}
	if (n == 0) {
		rc = sg_err_set(err, SG_EPARSE, "base64: empty message");
		goto out;
	}
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL ||
	    (ctx = EVP_ENCODE_CTX_new()) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "base64");
		goto out;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &l1, (unsigned char *)norm,
	    (int)n) < 0 || EVP_DecodeFinal(ctx, buf + l1, &l2) < 0) {
		rc = sg_err_set(err, SG_EPARSE, "base64: invalid character "
		    "or padding");
		goto out;
	}
	if ((size_t)(l1 + l2) > max) {
		rc = sg_err_set(err, SG_ELIMIT, "base64: decoded message "
		    "exceeds %zu bytes", max);
		goto out;
	}
	*out = buf;
	*outlen = (size_t)(l1 + l2);
	buf = NULL;
	rc = SG_OK;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(norm);
	free(buf);
	return rc;
}

enum sg_rc
sg_b64_encode(const uint8_t *in, size_t inlen, char **out)
{
	char	*s;
	int	 n;

	if (inlen > (size_t)INT32_MAX / 2)
		return SG_ELIMIT;
	if ((s = malloc(4 * ((inlen + 2) / 3) + 1)) == NULL)
		return SG_ENOMEM;
	n = EVP_EncodeBlock((unsigned char *)s, in, (int)inlen);
	s[n] = '\0';
	*out = s;
	return SG_OK;
}
