/* Bounded growable buffers (STYLE.md 5) and small string helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sg.h"

enum sg_rc
sg_buf_add(struct sg_buf *b, const void *p, size_t n)
{
	size_t	 max = b->max ? b->max : SG_BUF_DEFAULT_MAX;
	size_t	 ncap;
	uint8_t	*nd;

	if (n > max || b->len > max - n)
		return SG_ELIMIT;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if (nd == NULL)
			return SG_ENOMEM;
		b->data = nd;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return SG_OK;
}

enum sg_rc
sg_buf_addstr(struct sg_buf *b, const char *s)
{
	return sg_buf_add(b, s, strlen(s));
}

enum sg_rc
sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[512];
	char	*big = NULL;
	int	 n;
	enum sg_rc rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return SG_EINTERNAL;
	if ((size_t)n < sizeof(small))
		return sg_buf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return SG_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = sg_buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

void
sg_buf_free(struct sg_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
sg_buf_wipe(struct sg_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	sg_buf_free(b);
}

void
sg_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t	i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
sg_safe_str(const char *in, char *out, size_t outsz)
{
	size_t	i;

	if (outsz == 0)
		return;
	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ?
		    '?' : (char)c;
	}
	out[i] = '\0';
}

bool
sg_parse_long(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}
