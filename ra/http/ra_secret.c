/*
 * The one reader of secret and key files (DESIGN.md "Identity and
 * secrets"): upstream passwords and OAuth secrets, TLS client keys, RA
 * and CA private keys, the server's HMAC secret. One set of rules for
 * all, checked on the open descriptor so that the file checked is the
 * file read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ra_http.h"

/* RA_SECRET_LINE: drop the final line break and blanks, refuse others. */
static bool
one_line(struct ra_secret *s)
{
	size_t	i;

	while (s->len > 0 && (s->data[s->len - 1] == '\n' ||
	    s->data[s->len - 1] == '\r' || s->data[s->len - 1] == ' ' ||
	    s->data[s->len - 1] == '\t'))
		s->data[--s->len] = '\0';
	for (i = 0; i < s->len; i++)
		if ((unsigned char)s->data[i] < ' ' ||
		    (unsigned char)s->data[i] == 0x7f)
			return false;
	return s->len > 0;
}

/* Check what "fd" is, before a byte of it is read. */
static enum sg_rc
check_fd(int fd, const char *path, const char *what, size_t max,
    size_t *size, struct sg_err *err)
{
	struct stat	sb;

	if (fstat(fd, &sb) == -1)
		return sg_err_set(err, SG_EIO, "%s: %s: %s", what, path,
		    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return sg_err_set(err, SG_ECONF, "%s: %s: not a regular file",
		    what, path);
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		return sg_err_set(err, SG_ECONF, "%s: %s: readable by group or "
		    "others; chmod 600 it", what, path);
	if (sb.st_size < 0 || (uintmax_t)sb.st_size > max)
		return sg_err_set(err, SG_ECONF, "%s: %s: larger than %zu "
		    "bytes", what, path, max);
	*size = (size_t)sb.st_size;
	return SG_OK;
}

enum sg_rc
ra_secret_read(const char *path, const char *what, size_t max,
    unsigned flags, struct ra_secret *out, struct sg_err *err)
{
	struct ra_secret s = { 0 };
	size_t		 size = 0;
	ssize_t		 n;
	int		 fd;
	enum sg_rc	 rc;

	/* O_NONBLOCK: a FIFO must not hang the open; fstat refuses it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return sg_err_set(err, SG_EIO, "%s: %s: cannot open: %s", what,
		    path, strerror(errno));
	if ((rc = check_fd(fd, path, what, max, &size, err)) != SG_OK)
		goto out;
	if ((s.data = malloc(size + 1)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "%s: %s", what, path);
		goto out;
	}
	while (s.len < size &&
	    (n = read(fd, s.data + s.len, size - s.len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = sg_err_set(err, SG_EIO, "%s: %s: %s", what, path,
			    strerror(errno));
			goto out;
		}
		s.len += (size_t)n;
	}
	s.data[s.len] = '\0';
	if ((flags & RA_SECRET_LINE) && !one_line(&s)) {
		rc = sg_err_set(err, SG_ECONF, "%s: %s: empty, or more than "
		    "one line", what, path);
		goto out;
	}
	*out = s;
	memset(&s, 0, sizeof(s));	/* the caller owns it now */
	rc = SG_OK;
out:
	ra_secret_free(&s);
	close(fd);
	return rc;
}

void
ra_secret_free(struct ra_secret *s)
{
	if (s == NULL)
		return;
	if (s->data != NULL)
		OPENSSL_clear_free(s->data, s->len + 1);
	s->data = NULL;
	s->len = 0;
}
