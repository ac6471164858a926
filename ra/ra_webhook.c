/*
 * Webhooks of an endpoint (ra_webhook.h, docs/webhooks.md): the
 * challenge-validation request that admits a PKCSReq in place of an
 * access code, and the delivery of the outbox's notification events.
 * Every failure to ask fails closed.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ra_http.h"
#include "ra_json.h"
#include "ra_webhook.h"

/* The secret: one line, at most this long. */
#define SECRET_MAX	4096
/* Events taken per run of ra_webhook_deliver, and the longest pause. */
#define DELIVER_BATCH	32
#define BACKOFF_MAX	3600

/* ---- signature ---- */

enum sg_rc
ra_webhook_sign(const uint8_t *key, size_t keylen, const char *ts,
    const uint8_t *body, size_t len, char out[RA_WEBHOOK_SIG_MAX])
{
	EVP_MAC		*mac = NULL;
	EVP_MAC_CTX	*ctx = NULL;
	OSSL_PARAM	 par[2];
	uint8_t		 md[32];
	size_t		 mdlen = 0;
	enum sg_rc	 rc = SG_EINTERNAL;

	par[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	par[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, par) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)ts, strlen(ts)) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)".", 1) != 1 ||
	    EVP_MAC_update(ctx, body, len) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 ||
	    mdlen != sizeof(md))
		goto out;
	memcpy(out, "sha256=", 7);
	sg_hex(md, sizeof(md), out + 7);
	rc = SG_OK;
out:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/* ---- the validation request ---- */

/* One subjectAltName as {"type", "value"}; NULL when out of memory. */
static json_t *
san_json(const GENERAL_NAME *g)
{
	const char		*type = "other";
	char			 val[256] = "", safe[256];
	const ASN1_STRING	*s = NULL;
	json_t			*j;
	int			 len;

	switch (g->type) {
	case GEN_DNS:
		type = "dns";
		s = g->d.dNSName;
		break;
	case GEN_EMAIL:
		type = "email";
		s = g->d.rfc822Name;
		break;
	case GEN_URI:
		type = "uri";
		s = g->d.uniformResourceIdentifier;
		break;
	case GEN_IPADD:
		type = "ip";
		len = ASN1_STRING_length(g->d.iPAddress);
		if (len == 4 || len == 16)
			(void)inet_ntop(len == 4 ? AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(g->d.iPAddress), val,
			    sizeof(val));
		break;
	case GEN_OTHERNAME:
		if (OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
		    g->d.otherName->value->type == V_ASN1_UTF8STRING) {
			type = "upn";
			s = g->d.otherName->value->value.utf8string;
		}
		break;
	default:
		break;
	}
	if (s != NULL)
		snprintf(val, sizeof(val), "%.*s", ASN1_STRING_length(s),
		    (const char *)ASN1_STRING_get0_data(s));
	if ((j = json_pack("{s:s, s:s}", "type", type, "value", val)) != NULL)
		return j;
	/* Not UTF-8: the printable ASCII of it. */
	sg_safe_str(val, safe, sizeof(safe));
	return json_pack("{s:s, s:s}", "type", type, "value", safe);
}

/* The request's subjectAltNames as a JSON array into "arr". */
static enum sg_rc
sans_json(X509_REQ *req, json_t *arr, struct sg_err *err)
{
	STACK_OF(X509_EXTENSION)	*exts;
	GENERAL_NAMES			*gens = NULL;
	int				 i, crit = 0;
	enum sg_rc			 rc = SG_OK;

	if ((exts = X509_REQ_get_extensions(req)) == NULL)
		return SG_OK;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1)
		rc = sg_err_set(err, SG_EPARSE, "CSR: subjectAltName does "
		    "not decode");
	for (i = 0; rc == SG_OK && i < sk_GENERAL_NAME_num(gens); i++)
		if (json_array_append_new(arr, san_json(sk_GENERAL_NAME_value(
		    gens, i))) != 0)
			rc = sg_err_set(err, SG_ENOMEM, "webhook body");
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* "s" as a JSON string into "b", without a copy outside "b". */
static enum sg_rc
add_json_string(struct sg_buf *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[7];
	enum sg_rc		 rc;
	size_t			 i;

	rc = sg_buf_add(b, "\"", 1);
	for (i = 0; rc == SG_OK && s[i] != '\0'; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = sg_buf_add(b, esc, 2);
		} else if (c < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			rc = sg_buf_add(b, esc, 6);
		} else
			rc = sg_buf_add(b, &s[i], 1);
	}
	OPENSSL_cleanse(esc, sizeof(esc));
	return rc == SG_OK ? sg_buf_add(b, "\"", 1) : rc;
}

enum sg_rc
ra_webhook_body(const struct ra_webhook_in *in, struct sg_buf *out,
    struct sg_err *err)
{
	json_t		*o = NULL, *sans = NULL;
	char		*b64 = NULL, *text = NULL, when[32];
	const char	*chal = in->csr->challenge;
	enum sg_rc	 rc;

	ra_json_time(in->time, when, sizeof(when));
	if ((rc = sg_b64_encode(in->der, in->der_len, &b64)) != SG_OK ||
	    (sans = json_array()) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "webhook body");
		goto out;
	}
	if ((rc = sans_json(in->csr->req, sans, err)) != SG_OK)
		goto out;
	/* Everything but the challenge, which goes in by hand below. */
	o = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:s}", "endpoint",
	    in->endpoint, "transaction_id", in->transid, "csr", b64,
	    "subject", in->csr->subject, "sans", sans, "peer", in->peer,
	    "time", when);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL || text[0] != '{' ||
	    (rc = sg_buf_add(out, text, strlen(text) - 1)) != SG_OK ||
	    (rc = sg_buf_addstr(out, ",\"challenge\":")) != SG_OK ||
	    (rc = add_json_string(out, chal != NULL ? chal : "")) != SG_OK ||
	    (rc = sg_buf_add(out, "}", 1)) != SG_OK)
		rc = sg_err_set(err, SG_ENOMEM, "webhook body");
out:
	free(text);
	free(b64);
	json_decref(o);
	json_decref(sans);
	return rc;
}

/* ---- the answer ---- */

enum sg_rc
ra_webhook_answer_parse(const uint8_t *body, size_t len,
    struct ra_webhook_answer *out, struct sg_err *err)
{
	json_t		*j, *allow, *acct, *why;
	json_error_t	 je;
	enum sg_rc	 rc = SG_OK;

	memset(out, 0, sizeof(*out));
	if (len > RA_WEBHOOK_ANSWER_MAX)
		return sg_err_set(err, SG_EPARSE, "webhook answer: larger "
		    "than %u bytes", RA_WEBHOOK_ANSWER_MAX);
	if ((j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL)
		return sg_err_set(err, SG_EPARSE, "webhook answer: not JSON "
		    "(line %d column %d)", je.line, je.column);
	allow = json_object_get(j, "allow");
	acct = json_object_get(j, "account");
	why = json_object_get(j, "reason");
	if (!json_is_object(j) || !json_is_boolean(allow))
		rc = sg_err_set(err, SG_EPARSE, "webhook answer: no boolean "
		    "\"allow\"");
	else if (acct != NULL && (!json_is_string(acct) ||
	    !ra_policy_name_ok(json_string_value(acct))))
		rc = sg_err_set(err, SG_EPARSE, "webhook answer: \"account\" "
		    "is not an account name");
	else if (why != NULL && !json_is_string(why) && !json_is_null(why))
		rc = sg_err_set(err, SG_EPARSE, "webhook answer: \"reason\" "
		    "is not a string");
	if (rc == SG_OK) {
		out->allow = json_is_true(allow);
		if (acct != NULL)
			snprintf(out->account, sizeof(out->account), "%s",
			    json_string_value(acct));
		if (json_is_string(why))
			sg_safe_str(json_string_value(why), out->reason,
			    sizeof(out->reason));
	}
	json_decref(j);
	return rc;
}

/* ---- settings ---- */

static bool
url_ok(const char *u)
{
	size_t	i;

	if (u[0] == '\0')
		return true;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return false;
	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f)
			return false;
	return strlen(u) > 8;
}

enum sg_rc
ra_webhook_check(const struct ra_endpoint *ep, struct sg_err *err)
{
	struct ra_secret	sec = { NULL, 0 };
	enum sg_rc		rc;

	if (!url_ok(ep->challenge_webhook) || !url_ok(ep->notify_webhook))
		return sg_err_set(err, SG_EPOLICY, "webhook URL: use "
		    "http://HOST/PATH or https://HOST/PATH");
	if (ep->webhook_timeout < 0 || ep->webhook_timeout > 60)
		return sg_err_set(err, SG_EPOLICY, "webhook timeout %d: use 1 "
		    "to 60 seconds", ep->webhook_timeout);
	/* Not ra_ep_intune(): ra_intune_flow.c calls back into ra_cert.c. */
	if (ep->challenge_webhook[0] != '\0' &&
	    (ep->type == RA_EP_DEVICE_INTUNE || ep->type == RA_EP_CLIENT_INTUNE))
		return sg_err_set(err, SG_EPOLICY, "Intune endpoints are "
		    "validated by Intune: no challenge webhook");
	if (ep->challenge_webhook[0] == '\0' && ep->notify_webhook[0] == '\0')
		return SG_OK;
	if (ep->webhook_secret_file[0] == '\0')
		return sg_err_set(err, SG_EPOLICY, "a webhook needs "
		    "--webhook-secret-file (the HMAC key, mode 0600)");
	rc = ra_secret_read(ep->webhook_secret_file, "webhook_secret_file",
	    SECRET_MAX, RA_SECRET_LINE, &sec, err);
	ra_secret_free(&sec);
	return rc;
}

/* ---- sending ---- */

/* The endpoint's timeout in seconds. */
static int
timeout_of(const struct ra_endpoint *ep)
{
	return ep->webhook_timeout > 0 ? ep->webhook_timeout :
	    RA_WEBHOOK_TIMEOUT;
}

/*
 * POST "body" to "url", signed with the endpoint's secret, one try
 * within its timeout. SG_OK with the answer in *r (any status), or the
 * secret's or the transport's error; *timed_out when the time ran out.
 */
static enum sg_rc
post(struct ra *ra, const struct ra_endpoint *ep, const char *url,
    const char *what, const struct sg_buf *body, const char *event_id,
    struct ra_http_resp *r, bool *timed_out, struct sg_err *err)
{
	struct ra_secret	 sec = { NULL, 0 };
	struct ra_http_hdr	 h[3];
	struct ra_http_req	 q;
	char			 ts[24], sig[RA_WEBHOOK_SIG_MAX];
	int64_t			 t0 = ra_http_now_ms();
	enum sg_rc		 rc;

	*timed_out = false;
	if ((rc = ra_secret_read(ep->webhook_secret_file, "webhook_secret_file",
	    SECRET_MAX, RA_SECRET_LINE, &sec, err)) != SG_OK)
		return rc;
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	rc = ra_webhook_sign((const uint8_t *)sec.data, sec.len, ts,
	    body->data, body->len, sig);
	ra_secret_free(&sec);
	if (rc != SG_OK)
		return sg_err_set(err, rc, "webhook signature");
	h[0].name = "X-Scepgate-Timestamp";
	h[0].value = ts;
	h[1].name = "X-Scepgate-Signature";
	h[1].value = sig;
	h[2].name = "X-Scepgate-Event-Id";
	h[2].value = event_id;
	memset(&q, 0, sizeof(q));
	q.what = what;
	q.method = "POST";
	q.url = url;
	q.body = (const char *)body->data;
	q.content_type = "application/json";
	q.hdrs = h;
	q.nhdrs = event_id != NULL ? 3 : 2;
	q.tries = 1;
	q.deadline = t0 + (int64_t)timeout_of(ep) * 1000;
	rc = ra_http_call(ra->webhook, &q, r, err);
	*timed_out = rc == SG_EUPSTREAM && ra_http_now_ms() >= q.deadline - 50;
	return rc;
}

/* Refuse op because the webhook could not be asked (fail closed). */
static void
unchecked(struct ra_op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
unchecked(struct ra_op *op, const char *fmt, ...)
{
	char	why[160];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ra_op_fail(op, SG_FAIL_BADREQUEST, NULL, "challenge could not be "
	    "checked: %s", why);
	op->failtext = op->err.msg;
}

/* Ask the challenge webhook about op: SG_OK with *a, else op failed. */
static bool
ask(struct ra_op *op, const struct p7_csr *csr, struct ra_webhook_answer *a)
{
	struct ra_webhook_in	 in;
	struct sg_buf		 body = { NULL, 0, 0, 0 };
	struct ra_http_resp	 r;
	struct sg_err		 e;
	bool			 late, ok = false;
	enum sg_rc		 rc;

	memset(&r, 0, sizeof(r));
	in.endpoint = op->ep.name;
	in.transid = op->msg->transid;
	in.peer = op->peer;
	in.csr = csr;
	in.der = op->msg->data;
	in.der_len = op->msg->data_len;
	in.time = (int64_t)time(NULL);
	if ((rc = ra_webhook_body(&in, &body, &e)) == SG_ENOMEM) {
		ra_op_internal(op, "challenge webhook", &e);
		goto out;
	}
	if (rc != SG_OK) {
		ra_op_fail_err(op, &e);
		goto out;
	}
	rc = post(op->ra, &op->ep, op->ep.challenge_webhook, "challenge",
	    &body, NULL, &r, &late, &e);
	if (rc != SG_OK) {
		sg_log(SG_LOG_WARN, "transid=%s endpoint=%s: challenge "
		    "webhook: %s", op->tid, op->ep.name, e.msg);
		if (rc == SG_ECONF || rc == SG_EIO)
			unchecked(op, "the webhook secret file cannot be read");
		else if (late)
			unchecked(op, "webhook timed out after %d s",
			    timeout_of(&op->ep));
		else
			unchecked(op, "webhook unreachable");
	} else if (r.http / 100 != 2)
		unchecked(op, "webhook answered HTTP %ld%s", r.http, r.http ==
		    401 ? " (check webhook_secret_file on both sides)" : "");
	else if (ra_webhook_answer_parse(r.body.data, r.body.len, a, &e) !=
	    SG_OK) {
		sg_log(SG_LOG_WARN, "transid=%s endpoint=%s: %s", op->tid,
		    op->ep.name, e.msg);
		unchecked(op, "webhook answer is not {\"allow\": true|false}");
	} else
		ok = true;
out:
	ra_http_resp_free(&r);
	sg_buf_wipe(&body);
	return ok;
}

/* The account an allowing answer names, or the endpoint's only one. */
static bool
pick_account(struct ra_op *op, const char *name, struct ra_account *acct)
{
	struct ra_account	*all = NULL;
	struct sg_err		 e;
	size_t			 n = 0;
	enum sg_rc		 rc;

	if (name[0] != '\0') {
		rc = ra_store_account_by_name(op->ra->store, op->ep.name,
		    name, acct, &e);
		if (rc == SG_ENOTFOUND) {
			unchecked(op, "webhook chose account '%s', which this "
			    "endpoint does not have", name);
			return false;
		}
	} else if ((rc = ra_store_account_list(op->ra->store, op->ep.name,
	    &all, &n, &e)) == SG_OK && n != 1) {
		unchecked(op, "webhook named no account and the endpoint has "
		    "%zu", n);
		free(all);
		return false;
	} else if (rc == SG_OK)
		*acct = all[0];
	free(all);
	if (rc != SG_OK)
		ra_op_internal(op, "webhook account", &e);
	return rc == SG_OK;
}

bool
ra_webhook_admit(struct ra_op *op, const struct p7_csr *csr,
    struct ra_account *acct, bool *denied)
{
	struct ra_webhook_answer	a;

	*denied = false;
	if (!ask(op, csr, &a))
		return false;
	if (!a.allow) {
		*denied = true;
		ra_op_fail(op, SG_FAIL_BADREQUEST, NULL, "challenge refused by "
		    "the webhook%s%s", a.reason[0] ? ": " : "", a.reason);
		op->failtext = op->err.msg;
		return false;
	}
	if (!pick_account(op, a.account, acct))
		return false;
	sg_log(SG_LOG_INFO, "transid=%s endpoint=%s: challenge webhook "
	    "allowed, account '%s'", op->tid, op->ep.name, acct->name);
	return true;
}

/* ---- notifications ---- */

void
ra_webhook_refusal(struct ra *ra, int64_t endpoint_id, const char *transid,
    const char *reason)
{
	struct ra_event	*ev;
	struct sg_err	 e;
	uint8_t		 rnd[16];

	if ((ev = calloc(1, sizeof(*ev))) == NULL ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1) {
		sg_log(SG_LOG_ERR, "transid=%s: refused event lost: out of "
		    "memory or randomness", transid);
		free(ev);
		return;
	}
	memcpy(ev->event_id, "refused-", 8);
	sg_hex(rnd, sizeof(rnd), ev->event_id + 8);
	ev->endpoint_id = endpoint_id;
	snprintf(ev->kind, sizeof(ev->kind), "refused");
	snprintf(ev->transid, sizeof(ev->transid), "%s", transid);
	sg_safe_str(reason, ev->reason, sizeof(ev->reason));
	ev->created = (int64_t)time(NULL);
	if (ra_store_event_add(ra->store, ev, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: refused event lost: %s",
		    transid, e.msg);
	free(ev);
}

void
ra_webhook_refused(struct ra_op *op)
{
	if (op->ep.notify_webhook[0] == '\0' ||
	    op->status != P7_STATUS_FAILURE)
		return;
	ra_webhook_refusal(op->ra, op->ep.id, op->msg->transid, op->err.msg);
}

/* The JSON body of event "ev" of endpoint "ep"; NULL: out of memory. */
static char *
event_body(const struct ra_event *ev, const struct ra_endpoint *ep)
{
	json_t	*o;
	char	 when[32], until[32], *s = NULL;

	ra_json_time(ev->created, when, sizeof(when));
	ra_json_time(ev->not_after, until, sizeof(until));
	o = json_pack("{s:s, s:s, s:s, s:s}", "id", ev->event_id, "event",
	    ev->kind, "endpoint", ep->name, "time", when);
	if (o == NULL)
		return NULL;
	if (strcmp(ev->kind, "refused") != 0 &&
	    (json_object_set_new(o, "serial", json_string(ev->serial)) != 0 ||
	    json_object_set_new(o, "subject", json_string(ev->subject)) != 0))
		goto out;
	if (strcmp(ev->kind, "issued") == 0 &&
	    json_object_set_new(o, "not_after", json_string(until)) != 0)
		goto out;
	if (strcmp(ev->kind, "revoked") != 0 &&
	    json_object_set_new(o, "transaction_id",
	    json_string(ev->transid)) != 0)
		goto out;
	if (strcmp(ev->kind, "issued") != 0 &&
	    json_object_set_new(o, "reason", json_string(strcmp(ev->kind,
	    "revoked") == 0 ? ra_crl_reason_name(ev->code) : ev->reason)) != 0)
		goto out;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(o);
	return s;
}

/*
 * Send one event; SG_OK when its receiver took it (2xx), else why not
 * in "err" (a store error is SG_ESTORE).
 */
static enum sg_rc
deliver_one(struct ra *ra, const struct ra_event *ev, bool *drop,
    struct sg_err *err)
{
	struct ra_endpoint	 ep;
	struct ra_http_resp	 r;
	struct sg_buf		 body = { NULL, 0, 0, 0 };
	char			*text = NULL;
	bool			 late;
	enum sg_rc		 rc;

	*drop = false;
	memset(&r, 0, sizeof(r));
	if ((rc = ra_store_endpoint_by_id(ra->store, ev->endpoint_id, &ep,
	    err)) != SG_OK || ep.notify_webhook[0] == '\0') {
		/* The endpoint or its notify_webhook is gone. */
		*drop = rc == SG_OK || rc == SG_ENOTFOUND;
		return rc == SG_OK ? sg_err_set(err, SG_ENOTFOUND, "endpoint "
		    "has no notify_webhook any more") : rc;
	}
	if ((text = event_body(ev, &ep)) == NULL ||
	    sg_buf_addstr(&body, text) != SG_OK) {
		rc = sg_err_set(err, SG_ENOMEM, "event body");
		goto out;
	}
	rc = post(ra, &ep, ep.notify_webhook, "notify", &body, ev->event_id,
	    &r, &late, err);
	if (rc == SG_OK && r.http / 100 != 2)
		rc = sg_err_set(err, SG_EUPSTREAM, "HTTP %ld", r.http);
out:
	ra_http_resp_free(&r);
	sg_buf_free(&body);
	free(text);
	return rc;
}

/* Seconds before try number "attempts" + 1: 5, 10, 20, ... an hour. */
static int64_t
backoff(int attempts)
{
	int64_t	s = 5;

	while (--attempts > 0 && s < BACKOFF_MAX)
		s *= 2;
	return s < BACKOFF_MAX ? s : BACKOFF_MAX;
}

size_t
ra_webhook_deliver(struct ra *ra)
{
	struct ra_event	*evs = NULL;
	struct sg_err	 e;
	size_t		 n = 0, i, sent = 0;
	int64_t		 now = (int64_t)time(NULL);
	bool		 drop;
	enum sg_rc	 rc;

	if (ra_store_event_due(ra->store, now, DELIVER_BATCH, &evs, &n,
	    &e) != SG_OK) {
		sg_log(SG_LOG_ERR, "notify webhook: %s", e.msg);
		return 0;
	}
	for (i = 0; i < n; i++) {
		/* A lease: another instance leaves it alone meanwhile. */
		if (ra_store_event_claim(ra->store, &evs[i], now + 60, &e) !=
		    SG_OK)
			continue;
		rc = deliver_one(ra, &evs[i], &drop, &e);
		if (rc == SG_OK || drop) {
			if (rc == SG_OK)
				sent++;
			else
				sg_log(SG_LOG_WARN, "notify webhook: event %s "
				    "dropped: %s", evs[i].event_id, e.msg);
			rc = ra_store_event_done(ra->store, evs[i].id, &e);
		} else {
			sg_log(SG_LOG_WARN, "notify webhook: event %s, try %d: "
			    "%s", evs[i].event_id, evs[i].attempts + 1, e.msg);
			rc = ra_store_event_retry(ra->store, evs[i].id,
			    (int64_t)time(NULL) + backoff(evs[i].attempts + 1),
			    e.msg, &e);
		}
		if (rc != SG_OK)
			sg_log(SG_LOG_ERR, "notify webhook: %s", e.msg);
	}
	free(evs);
	return sent;
}
