/*
 * The HTTPS listeners' files (issue 12; the admin listener's too): read
 * as bytes for libmicrohttpd (GnuTLS parses them), since server/ has no
 * OpenSSL. The key goes through ra's one secret reader, so its rules are the
 * rules of every other key file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ra_http.h"
#include "srv_int.h"

/* A certificate chain or a key: a few KiB; refuse anything absurd. */
#define TLS_FILE_MAX	(1024 * 1024)

/* The whole regular file "path", NUL-terminated, into *out. */
static enum sg_rc
read_cert(const char *group, const char *path, char **out,
    struct sg_err *err)
{
	struct stat	 sb;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;
	enum sg_rc	 rc = SG_OK;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return sg_err_set(err, SG_EIO, "%s.tls_cert: %s: cannot "
		    "open: %s", group, path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size <= 0 || sb.st_size > TLS_FILE_MAX) {
		rc = sg_err_set(err, SG_ECONF, "%s.tls_cert: %s: not a "
		    "regular file of 1 to %d bytes", group, path,
		    TLS_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "%s.tls_cert: %s", group,
		    path);
		goto out;
	}
	while (len < (size_t)sb.st_size &&
	    (n = read(fd, buf + len, (size_t)sb.st_size - len)) > 0)
		len += (size_t)n;
	if (len != (size_t)sb.st_size) {
		rc = sg_err_set(err, SG_EIO, "%s.tls_cert: %s: short "
		    "read", group, path);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

enum sg_rc
srv_tls_read(const char *group, const char *cert, const char *key,
    struct srv_tls *out, struct sg_err *err)
{
	struct srv_tls	t = { 0 };
	char		what[32];
	enum sg_rc	rc;

	if ((rc = read_cert(group, cert, &t.cert, err)) != SG_OK)
		goto out;
	if (strstr(t.cert, "-----BEGIN CERTIFICATE-----") == NULL) {
		rc = sg_err_set(err, SG_ECONF, "%s.tls_cert: %s: no PEM "
		    "certificate", group, cert);
		goto out;
	}
	snprintf(what, sizeof(what), "%s.tls_key", group);
	if ((rc = ra_secret_read(key, what, TLS_FILE_MAX, 0, &t.key,
	    err)) != SG_OK)
		goto out;
	if (strstr(t.key.data, "PRIVATE KEY-----") == NULL) {
		rc = sg_err_set(err, SG_ECONF, "%s.tls_key: %s: no PEM "
		    "private key", group, key);
		goto out;
	}
	*out = t;
	memset(&t, 0, sizeof(t));	/* the caller owns it now */
out:
	srv_tls_free(&t);
	return rc;
}

void
srv_tls_free(struct srv_tls *t)
{
	if (t == NULL)
		return;
	ra_secret_free(&t->key);
	free(t->cert);
	t->cert = NULL;
}
