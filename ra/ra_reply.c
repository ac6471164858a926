/*
 * The CertRep being built (RFC 8894 3.3.2): an operation's FAILURE with
 * its failInfo, its SUCCESS with the certificates the endpoint sends,
 * and the signed (on SUCCESS encrypted) reply made from it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "p7_info.h"
#include "ra_int.h"

void
ra_op_fail(struct ra_op *op, int failinfo, const char *text, const char *fmt,
    ...)
{
	va_list	ap;

	op->status = P7_STATUS_FAILURE;
	op->failtext = text;
	op->err.rc = SG_EPOLICY;
	op->err.failinfo = failinfo;
	va_start(ap, fmt);
	vsnprintf(op->err.msg, sizeof(op->err.msg), fmt, ap);
	va_end(ap);
}

void
ra_op_fail_err(struct ra_op *op, const struct sg_err *e)
{
	int		 fi = sg_failinfo(e->failinfo);
	const char	*text;

	/* Short fixed texts: no internal detail reaches the client. */
	switch (fi) {
	case SG_FAIL_BADALG:	  text = "unsupported algorithm"; break;
	case SG_FAIL_BADMSGCHECK: text = "message check failed"; break;
	case SG_FAIL_BADTIME:	  text = "bad time"; break;
	case SG_FAIL_BADCERTID:	  text = "certificate not found"; break;
	default:		  text = "request refused"; break;
	}
	ra_op_fail(op, fi, text, "%s", e->msg);
	if (e->rc != SG_OK)
		op->err.rc = e->rc;	/* SG_EPARSE, SG_EALG, ... */
}

void
ra_op_internal(struct ra_op *op, const char *what, const struct sg_err *e)
{
	op->status = RA_OP_INTERNAL;
	op->failtext = NULL;
	op->err.rc = e->rc != SG_OK ? e->rc : SG_EINTERNAL;
	op->err.failinfo = SG_FAIL_NONE;
	snprintf(op->err.msg, sizeof(op->err.msg), "%s: %s", what, e->msg);
}

void
ra_op_note(struct ra_op *op, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(op->err.msg, sizeof(op->err.msg), fmt, ap);
	va_end(ap);
}

/* Sign (and on SUCCESS encrypt) the answer; SUCCESS falls back to FAILURE. */
enum sg_rc
ra_reply_build(struct ra_op *op, struct ra_reply *r, struct sg_err *err)
{
	struct p7_rep	 rep = { 0 };
	enum sg_rc	 rc;

	rep.req = op->msg;
	rep.sign_cert = op->rk->cert;
	rep.sign_key = op->rk->key;
	rep.status = op->status;
	rep.failinfo = op->err.failinfo;
	rep.failtext = op->failtext;
	rep.certs = op->certs;
	rep.crl = op->crl;
	/* A request that never opened has no cipher to mirror. */
	if (op->msg->cipher_nid == 0)
		rep.cipher_nid = NID_aes_128_cbc;
	rc = p7_rep_build(&rep, &r->body, &r->len, err);
	if (rc != SG_OK && op->status == P7_STATUS_SUCCESS) {
		sg_log(SG_LOG_ERR, "transid=%s: cannot build the SUCCESS "
		    "reply: %s", op->tid, err ? err->msg : "");
		ra_op_fail(op, SG_FAIL_BADALG, "cannot encrypt the reply",
		    "reply encryption failed");
		rep.status = op->status;
		rep.failinfo = op->err.failinfo;
		rep.failtext = op->failtext;
		rc = p7_rep_build(&rep, &r->body, &r->len, err);
	}
	r->ctype = "application/x-pki-message";
	/* For server/'s metrics: static words. */
	r->msg_type = p7_type_name(op->msg->type);
	r->outcome = ra_p7_status_name(op->status);
	r->failinfo = p7_failinfo_name(op->status == P7_STATUS_FAILURE ?
	    sg_failinfo(op->err.failinfo) : SG_FAIL_NONE);
	return rc;
}

/* SUCCESS with "x" first, then the CA chain if the endpoint wants it. */
static enum sg_rc
op_success(struct ra_op *op, X509 *x)
{
	STACK_OF(X509)	*chain = op->ra->up->chain;
	int		 i;

	if ((op->certs = sk_X509_new_null()) == NULL ||
	    !X509_up_ref(x) || !sk_X509_push(op->certs, x))
		return SG_ENOMEM;
	if (op->ep.getcert_fmt == RA_GETCERT_FULL_CHAIN) {
		for (i = 0; i < sk_X509_num(chain); i++) {
			X509 *c = sk_X509_value(chain, i);

			if (!X509_up_ref(c) || !sk_X509_push(op->certs, c))
				return SG_ENOMEM;
		}
	}
	op->status = P7_STATUS_SUCCESS;
	return SG_OK;
}

/* Answer SUCCESS with "x" (borrowed), the certificate "serial". */
void
ra_op_deliver(struct ra_op *op, X509 *x, const char *serial)
{
	struct sg_err	e;

	if (op_success(op, x) != SG_OK) {
		(void)sg_err_set(&e, SG_ENOMEM, "serial %s", serial);
		ra_op_internal(op, "certificates of the reply", &e);
	} else
		ra_op_note(op, "serial %s delivered", serial);
}
