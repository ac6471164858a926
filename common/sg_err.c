/* Error codes and messages (STYLE.md 4). */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "sg.h"

const char *
sg_strerror(enum sg_rc rc)
{
	switch (rc) {
	case SG_OK:		return "success";
	case SG_ENOMEM:		return "out of memory";
	case SG_EPARSE:		return "malformed input";
	case SG_EBADSIG:	return "bad signature";
	case SG_EDECRYPT:	return "cannot decrypt";
	case SG_EALG:		return "unsupported algorithm";
	case SG_EPOLICY:	return "refused by policy";
	case SG_ENOTFOUND:	return "not found";
	case SG_EEXIST:		return "already exists";
	case SG_EUPSTREAM:	return "upstream CA error";
	case SG_ESTORE:		return "database error";
	case SG_ECONF:		return "configuration error";
	case SG_EIO:		return "I/O error";
	case SG_ELIMIT:		return "size limit exceeded";
	case SG_EINTERNAL:	return "internal error";
	}
	return "unknown error";
}

/* Append the drained OpenSSL error queue, as rpki-client's cryptowarnx. */
static void
append_openssl(char *msg, size_t sz)
{
	unsigned long	 e;
	size_t		 n;
	char		 buf[160];

	while ((e = ERR_get_error()) != 0) {
		n = strlen(msg);
		if (n + 3 >= sz)
			continue;	/* keep draining */
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(msg + n, sz - n, ": %s", buf);
	}
}

static enum sg_rc __attribute__((format(printf, 4, 0)))
vset(struct sg_err *err, enum sg_rc rc, int failinfo, const char *fmt,
    va_list ap)
{
	if (err == NULL) {
		ERR_clear_error();
		return rc;
	}
	err->rc = rc;
	err->failinfo = failinfo;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	append_openssl(err->msg, sizeof(err->msg));
	return rc;
}

enum sg_rc
sg_err_set(struct sg_err *err, enum sg_rc rc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vset(err, rc, SG_FAIL_NONE, fmt, ap);
	va_end(ap);
	return rc;
}

enum sg_rc
sg_err_fail(struct sg_err *err, enum sg_rc rc, int failinfo,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vset(err, rc, failinfo, fmt, ap);
	va_end(ap);
	return rc;
}

int
sg_failinfo(int failinfo)
{
	if (failinfo >= SG_FAIL_BADALG && failinfo <= SG_FAIL_BADCERTID)
		return failinfo;
	return SG_FAIL_BADREQUEST;
}

void
sg_err_clear(struct sg_err *err)
{
	if (err == NULL)
		return;
	err->rc = SG_OK;
	err->failinfo = SG_FAIL_NONE;
	err->msg[0] = '\0';
}
