/* Query strings and paths, parsed by hand from the raw URI. */
#include <stdlib.h>
#include <string.h>

#include "srv.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode [p, p + n) into a new string; '+' stays '+'. */
static enum sg_rc
unescape(const char *p, size_t n, size_t max, char **out, size_t *outlen)
{
	char	*s;
	size_t	 i, j = 0;
	int	 hi, lo;

	if (n > 3 * max + 3)
		return SG_ELIMIT;
	if ((s = malloc(n + 1)) == NULL)
		return SG_ENOMEM;
	for (i = 0; i < n; i++) {
		if (p[i] != '%') {
			s[j++] = p[i];
			continue;
		}
		if (i + 2 >= n || (hi = hexval(p[i + 1])) < 0 ||
		    (lo = hexval(p[i + 2])) < 0) {
			free(s);
			return SG_EPARSE;
		}
		s[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	s[j] = '\0';
	if (j > max || memchr(s, '\0', j) != NULL) {
		free(s);
		return j > max ? SG_ELIMIT : SG_EPARSE;
	}
	*out = s;
	*outlen = j;
	return SG_OK;
}

enum sg_rc
srv_query_get(const char *query, const char *name, size_t max, char **out,
    size_t *outlen)
{
	const char	*p = query, *amp, *eq;
	size_t		 nlen = strlen(name), klen;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		klen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', klen);
		if ((eq != NULL ? (size_t)(eq - p) : klen) == nlen &&
		    strncmp(p, name, nlen) == 0) {
			if (eq == NULL)
				return unescape("", 0, max, out, outlen);
			return unescape(eq + 1, klen - nlen - 1, max, out,
			    outlen);
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return SG_ENOTFOUND;
}

bool
srv_path_endpoint(const char *path, char *ext, size_t extsz)
{
	static const char prefix[] = "/scep/";
	const char	*p, *end;
	size_t		 n;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return false;
	p = path + sizeof(prefix) - 1;
	end = strchr(p, '/');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n >= extsz)
		return false;
	memcpy(ext, p, n);
	ext[n] = '\0';
	return true;
}
