/*
 * The admin listener (docs/admin-api.md, docs/admin-api.yaml): the REST
 * API under /api/v1/ and NDES's mscep_admin page. Each route is one row
 * of routes[] (method, path, the scope it needs) and one handler making
 * one ra/ call; the JSON shapes are ra_json.c's, as scepctl --json
 * prints them. Errors are {"error": "..."}.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "ra.h"
#include "ra_json.h"
#include "srv.h"
#include "srv_int.h"

#define ARGS_MAX	3
#define QUERY_MAX	256	/* longest query parameter value */

/* One admin request being answered. */
struct call {
	const struct conf		*conf;
	struct ra			*ra;
	const struct srv_request	*in;
	struct srv_answer		*a;
	struct ra_token			 tok;
	char				 arg[ARGS_MAX][RA_NAME_MAX];
	json_t				*body;	/* a JSON object; NULL: none */
};

struct route {
	const char	*method;
	const char	*path;		/* "{x}" matches one segment */
	enum ra_scope	 need;
	bool		 on_endpoint;	/* about endpoint {arg 0} (bound tokens) */
	void		(*run)(struct call *);
};

/* ---- answers ---- */

static void
reply_json(struct call *c, int status, json_t *v)
{
	char	*text;

	if (v == NULL || (text = json_dumps(v, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)) == NULL) {
		json_decref(v);
		c->a->status = 500;
		return;
	}
	json_decref(v);
	c->a->status = status;
	c->a->ctype = "application/json";
	c->a->body = (uint8_t *)text;
	c->a->len = strlen(text);
}

static void __attribute__((format(printf, 3, 4)))
reply_error(struct call *c, int status, const char *fmt, ...)
{
	va_list	ap;
	char	msg[320];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* An ra/ failure as HTTP: the status its code means, its message. */
static void
reply_rc(struct call *c, enum sg_rc rc, const struct sg_err *err)
{
	int	status;

	switch (rc) {
	case SG_ENOTFOUND:
		status = 404;
		break;
	case SG_EEXIST:
	case SG_ELIMIT:
		status = 409;
		break;
	case SG_EPOLICY:
	case SG_EPARSE:
	case SG_ECONF:
		status = 422;
		break;
	case SG_EUPSTREAM:
		status = 502;
		break;
	default:
		sg_log(SG_LOG_ERR, "admin API: %s: %s", sg_strerror(rc),
		    err->msg);
		reply_error(c, 500, "internal error");
		return;
	}
	reply_error(c, status, "%s", err->msg[0] ? err->msg :
	    sg_strerror(rc));
}

/* A list from ra/ (rc, items, n): the array, or the error. */
static void
reply_list(struct call *c, enum sg_rc rc, const struct sg_err *err,
    enum ra_json_kind kind, void *items, size_t n)
{
	if (rc != SG_OK)
		reply_rc(c, rc, err);
	else
		reply_json(c, 200, ra_json_array(kind, items, n));
	free(items);
}

/* A change with nothing to show: 200 {"ok": true} or the error. */
static void
reply_done(struct call *c, enum sg_rc rc, const struct sg_err *err)
{
	if (rc != SG_OK)
		reply_rc(c, rc, err);
	else
		reply_json(c, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- request fields ---- */

/* Query parameter "name" into out ("" if absent); false after a 400. */
static bool
query(struct call *c, const char *name, char *out, size_t outsz)
{
	char		*v = NULL;
	size_t		 len;
	enum sg_rc	 rc;

	out[0] = '\0';
	rc = srv_query_get(c->in->query, name, QUERY_MAX, &v, &len);
	if (rc == SG_ENOTFOUND)
		return true;
	if (rc != SG_OK || len >= outsz) {
		free(v);
		reply_error(c, 400, "query parameter %s: malformed or too "
		    "long", name);
		return false;
	}
	memcpy(out, v, len + 1);
	free(v);
	return true;
}

/*
 * Body string "key" into out, when present (else out stays); false
 * after a 400 for another type or one too long.
 */
static bool
text(struct call *c, json_t *o, const char *key, char *out, size_t outsz)
{
	json_t		*v = json_object_get(o, key);
	const char	*s;

	if (v == NULL)
		return true;
	if (!json_is_string(v) || strlen(s = json_string_value(v)) >= outsz) {
		reply_error(c, 400, "%s: a string of at most %zu bytes", key,
		    outsz - 1);
		return false;
	}
	memcpy(out, s, strlen(s) + 1);
	return true;
}

/* Body integer "key" in [min, max] into *out, when present. */
static bool
integer(struct call *c, json_t *o, const char *key, long min, long max,
    int *out)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		reply_error(c, 400, "%s: an integer from %ld to %ld", key, min,
		    max);
		return false;
	}
	*out = (int)json_integer_value(v);
	return true;
}

/* Body word "key", one of "a" (then *out = 0) or "b" (*out = 1). */
static bool
choice(struct call *c, json_t *o, const char *key, const char *a,
    const char *b, int *out)
{
	char	w[32] = "";

	if (!text(c, o, key, w, sizeof(w)))
		return false;
	if (w[0] == '\0')
		return true;
	if (strcmp(w, a) != 0 && strcmp(w, b) != 0) {
		reply_error(c, 400, "%s: %s or %s", key, a, b);
		return false;
	}
	*out = strcmp(w, b) == 0;
	return true;
}

/* Body bit-set words ("rsa,ec") of "key", when present. */
static bool
bits(struct call *c, json_t *o, const char *key, enum ra_json_bits which,
    int *out)
{
	char	w[128] = "";

	if (!text(c, o, key, w, sizeof(w)))
		return false;
	if (w[0] != '\0' && !ra_json_bits_parse(which, w, out)) {
		reply_error(c, 400, "%s: unknown word in '%s'", key, w);
		return false;
	}
	return true;
}

/* Does the body hold only keys of "known" (NULL-terminated)? */
static bool
only(struct call *c, json_t *o, const char *const *known)
{
	const char		*key;
	const char *const	*k;
	json_t			*v;

	json_object_foreach(o, key, v) {
		for (k = known; *k != NULL && strcmp(*k, key) != 0; k++)
			continue;
		if (*k == NULL) {
			reply_error(c, 400, "unknown field '%s'", key);
			return false;
		}
	}
	return true;
}

/* A path id ("42") as a number; false after a 404. */
static bool
path_id(struct call *c, const char *s, int64_t *out)
{
	long	v;

	if (!sg_parse_long(s, 1, (long)(INT64_MAX >> 1), &v)) {
		reply_error(c, 404, "no such id '%s'", s);
		return false;
	}
	*out = v;
	return true;
}

/* ---- endpoints ---- */

static const char *const ep_fields[] = { "name", "type", "uri", "ra",
    "ra_enc", "cacert_format", "getcert_format", "renewal_days",
    "min_rsa_bits", "key_types", "challenge_types", "san_types",
    "name_pattern", "subject_org", "renewal_names", "intune", NULL };
static const char *const intune_fields[] = { "org", "dept", "profile",
    "term_days", "azure_account", NULL };

/* The words of an endpoint's formats, when present. */
static bool
ep_formats(struct call *c, json_t *o, struct ra_endpoint *ep)
{
	char	w[32] = "";

	if (!text(c, o, "cacert_format", w, sizeof(w)))
		return false;
	if (w[0] != '\0' && !ra_cacert_fmt_parse(w, &ep->cacert_fmt)) {
		reply_error(c, 400, "cacert_format: pem, der or cms-chain");
		return false;
	}
	w[0] = '\0';
	if (!text(c, o, "getcert_format", w, sizeof(w)))
		return false;
	if (w[0] != '\0' && !ra_getcert_fmt_parse(w, &ep->getcert_fmt)) {
		reply_error(c, 400, "getcert_format: single or full-chain");
		return false;
	}
	return true;
}

/* The Intune settings of an endpoint ("intune": {...}), when present. */
static bool
ep_intune(struct call *c, json_t *o, struct ra_endpoint *ep)
{
	json_t	*in = json_object_get(o, "intune");

	if (in == NULL)
		return true;
	if (!json_is_object(in)) {
		reply_error(c, 400, "intune: an object");
		return false;
	}
	return only(c, in, intune_fields) &&
	    text(c, in, "org", ep->org, sizeof(ep->org)) &&
	    text(c, in, "dept", ep->dept, sizeof(ep->dept)) &&
	    text(c, in, "profile", ep->profile, sizeof(ep->profile)) &&
	    integer(c, in, "term_days", 1, 3650, &ep->term_days) &&
	    text(c, in, "azure_account", ep->azure, sizeof(ep->azure));
}

/* The fields of the endpoint shape in the body onto "ep". */
static bool
ep_fields_apply(struct call *c, struct ra_endpoint *ep)
{
	json_t	*o = c->body;
	int	 v;

	if (!only(c, o, ep_fields) ||
	    !text(c, o, "uri", ep->uri, sizeof(ep->uri)) ||
	    !text(c, o, "ra", ep->ra_id, sizeof(ep->ra_id)) ||
	    !text(c, o, "ra_enc", ep->ra_enc_id, sizeof(ep->ra_enc_id)) ||
	    !ep_formats(c, o, ep) ||
	    !integer(c, o, "renewal_days", 0, 3650, &ep->renewal_days) ||
	    !integer(c, o, "min_rsa_bits", 1024, 16384, &ep->min_rsa_bits) ||
	    !bits(c, o, "key_types", RA_BITS_KEY, &ep->key_types) ||
	    !bits(c, o, "challenge_types", RA_BITS_CHALLENGE,
	    &ep->challenge_types) ||
	    !bits(c, o, "san_types", RA_BITS_SAN, &ep->san_types) ||
	    !text(c, o, "name_pattern", ep->name_pattern,
	    sizeof(ep->name_pattern)) ||
	    !ep_intune(c, o, ep))
		return false;
	v = ep->subject_from_csr;
	if (!choice(c, o, "subject_org", "account", "csr", &v))
		return false;
	ep->subject_from_csr = v;
	v = ep->renewal_any_names;
	if (!choice(c, o, "renewal_names", "same", "any", &v))
		return false;
	ep->renewal_any_names = v;
	return true;
}

/*
 * What scepctl checks before ra_endpoint_add and _update: Intune
 * settings only on Intune endpoints, an Azure account of the
 * configuration. false after a 400 or 422.
 */
static bool
ep_check(struct call *c, const struct ra_endpoint *ep)
{
	bool	intune = ep->type == RA_EP_DEVICE_INTUNE ||
		    ep->type == RA_EP_CLIENT_INTUNE;

	if (!intune && json_object_get(c->body, "intune") != NULL) {
		reply_error(c, 400, "intune: for Intune endpoints only; plain "
		    "SCEP endpoints take these per account");
		return false;
	}
	if (ep->azure[0] != '\0' && conf_azure_find(c->conf, ep->azure) ==
	    NULL) {
		reply_error(c, 422, "no azure account '%s' in the "
		    "configuration", ep->azure);
		return false;
	}
	return true;
}

/* The endpoint named arg[0] as JSON with "status". */
static void
ep_reply(struct call *c, int status, const char *name)
{
	struct ra_endpoint	ep;
	struct sg_err		err;
	enum sg_rc		rc;

	if ((rc = ra_endpoint_get(c->ra, name, &ep, &err)) != SG_OK)
		reply_rc(c, rc, &err);
	else
		reply_json(c, status, ra_endpoint_json(c->ra, &ep));
}

static void
ep_list(struct call *c)
{
	struct ra_endpoint	*v = NULL;
	struct sg_err		 err;
	size_t			 n = 0;
	enum sg_rc		 rc;

	if ((rc = ra_endpoint_list(c->ra, &v, &n, &err)) != SG_OK)
		reply_rc(c, rc, &err);
	else
		reply_json(c, 200, ra_endpoint_json_list(c->ra, v, n));
	free(v);
}

static void
ep_add(struct call *c)
{
	struct ra_endpoint	ep;
	struct sg_err		err;
	char			type[32] = "";
	enum sg_rc		rc;

	memset(&ep, 0, sizeof(ep));
	ep.renewal_days = 30;
	if (!text(c, c->body, "name", ep.name, sizeof(ep.name)) ||
	    !text(c, c->body, "type", type, sizeof(type)) ||
	    !ep_fields_apply(c, &ep))
		return;
	if (ep.name[0] == '\0' || ep.uri[0] == '\0' ||
	    !ra_ep_type_parse(type, &ep.type)) {
		reply_error(c, 400, "an endpoint needs name, uri and type "
		    "(device, client, device-intune or client-intune)");
		return;
	}
	if (!ep_check(c, &ep))
		return;
	if ((rc = ra_endpoint_add(c->ra, &ep, &err)) != SG_OK)
		reply_rc(c, rc, &err);
	else
		ep_reply(c, 201, ep.name);
}

static void
ep_show(struct call *c)
{
	ep_reply(c, 200, c->arg[0]);
}

static void
ep_patch(struct call *c)
{
	struct ra_endpoint	ep;
	struct sg_err		err;
	enum sg_rc		rc;

	if (json_object_get(c->body, "name") != NULL ||
	    json_object_get(c->body, "type") != NULL) {
		reply_error(c, 400, "name and type are fixed once created");
		return;
	}
	if ((rc = ra_endpoint_get(c->ra, c->arg[0], &ep, &err)) != SG_OK) {
		reply_rc(c, rc, &err);
		return;
	}
	if (!ep_fields_apply(c, &ep) || !ep_check(c, &ep))
		return;
	if ((rc = ra_endpoint_update(c->ra, &ep, &err)) != SG_OK)
		reply_rc(c, rc, &err);
	else
		ep_reply(c, 200, ep.name);
}

static void
ep_delete(struct call *c)
{
	struct sg_err	err;
	char		force[8];

	if (!query(c, "force", force, sizeof(force)))
		return;
	reply_done(c, ra_endpoint_delete(c->ra, c->arg[0],
	    strcmp(force, "true") == 0, &err), &err);
}

/* ---- accounts ---- */

static const char *const acct_add_fields[] = { "name", "org", "dept",
    "profile", "term_days", "approval", "access_code", NULL };
static const char *const acct_edit_fields[] = { "profile", "term_days",
    "approval", "state", NULL };

/* The account arg[1] of endpoint arg[0], with the code when given. */
static void
acct_reply(struct call *c, int status, const char *code)
{
	struct ra_account	 a;
	struct sg_err		 err;
	enum sg_rc		 rc;
	json_t			*v;

	if ((rc = ra_account_get(c->ra, c->arg[0], c->arg[1], &a, &err)) !=
	    SG_OK) {
		reply_rc(c, rc, &err);
		return;
	}
	v = ra_json_account(&a);
	if (v != NULL && code != NULL)
		json_object_set_new(v, "access_code", json_string(code));
	reply_json(c, status, v);
}

static void
acct_list(struct call *c)
{
	struct ra_account	*v = NULL;
	struct sg_err		 err;
	size_t			 n = 0;
	enum sg_rc		 rc;

	rc = ra_account_list(c->ra, c->arg[0], &v, &n, &err);
	reply_list(c, rc, &err, RA_JSON_ACCOUNT, v, n);
}

static void
acct_add(struct call *c)
{
	struct ra_account	a;
	struct sg_err		err;
	char			code[RA_CODE_MAX + 1] = "";
	char			out[RA_CODE_MAX + 1] = "";
	int			manual = 0;
	enum sg_rc		rc;

	memset(&a, 0, sizeof(a));
	snprintf(a.endpoint, sizeof(a.endpoint), "%s", c->arg[0]);
	if (!only(c, c->body, acct_add_fields) ||
	    !text(c, c->body, "name", a.name, sizeof(a.name)) ||
	    !text(c, c->body, "org", a.org, sizeof(a.org)) ||
	    !text(c, c->body, "dept", a.dept, sizeof(a.dept)) ||
	    !text(c, c->body, "profile", a.profile, sizeof(a.profile)) ||
	    !integer(c, c->body, "term_days", 1, 3650, &a.term_days) ||
	    !choice(c, c->body, "approval", "auto", "manual", &manual) ||
	    !text(c, c->body, "access_code", code, sizeof(code)))
		goto out;
	a.manual = manual;
	if (a.name[0] == '\0' || a.org[0] == '\0' || a.term_days == 0) {
		reply_error(c, 400, "an account needs name, org and "
		    "term_days");
		goto out;
	}
	rc = ra_account_add(c->ra, &a, code[0] ? code : NULL, out, &err);
	if (rc != SG_OK) {
		reply_rc(c, rc, &err);
		goto out;
	}
	snprintf(c->arg[1], sizeof(c->arg[1]), "%s", a.name);
	acct_reply(c, 201, out);
out:
	explicit_bzero(code, sizeof(code));
	explicit_bzero(out, sizeof(out));
}

static void
acct_show(struct call *c)
{
	acct_reply(c, 200, NULL);
}

static void
acct_patch(struct call *c)
{
	struct ra_account_edit	e = { NULL, 0, -1, -1 };
	struct sg_err		err;
	char			profile[RA_NAME_MAX] = "";
	enum sg_rc		rc;

	if (!only(c, c->body, acct_edit_fields) ||
	    !text(c, c->body, "profile", profile, sizeof(profile)) ||
	    !integer(c, c->body, "term_days", 1, 3650, &e.term_days) ||
	    (json_object_get(c->body, "approval") != NULL &&
	    !choice(c, c->body, "approval", "auto", "manual", &e.manual)) ||
	    (json_object_get(c->body, "state") != NULL &&
	    !choice(c, c->body, "state", "enabled", "disabled", &e.disabled)))
		return;
	if (json_object_get(c->body, "profile") != NULL)
		e.profile = profile;
	rc = ra_account_edit(c->ra, c->arg[0], c->arg[1], &e, &err);
	if (rc != SG_OK)
		reply_rc(c, rc, &err);
	else
		acct_reply(c, 200, NULL);
}

static void
acct_delete(struct call *c)
{
	struct sg_err	err;

	reply_done(c, ra_account_delete(c->ra, c->arg[0], c->arg[1], &err),
	    &err);
}

static void
acct_rotate(struct call *c)
{
	struct sg_err	err;
	char		code[RA_CODE_MAX + 1] = "";
	enum sg_rc	rc;

	rc = ra_account_rotate_code(c->ra, c->arg[0], c->arg[1], code, &err);
	if (rc != SG_OK)
		reply_rc(c, rc, &err);
	else
		acct_reply(c, 200, code);
	explicit_bzero(code, sizeof(code));
}

/* ---- requests, certificates ---- */

static void
req_list(struct call *c)
{
	static const char *const words[] = { "new", "pending", "issued",
	    "rejected", NULL };
	struct ra_request	*v = NULL;
	struct sg_err		 err;
	char			 status[16];
	size_t			 n = 0;
	int			 s = -1, i;
	enum sg_rc		 rc;

	if (!query(c, "status", status, sizeof(status)))
		return;
	for (i = 0; status[0] != '\0' && words[i] != NULL; i++)
		if (strcmp(words[i], status) == 0)
			s = i;
	if (status[0] != '\0' && s < 0) {
		reply_error(c, 400, "status: new, pending, issued or "
		    "rejected");
		return;
	}
	rc = ra_request_list(c->ra, s, &v, &n, &err);
	reply_list(c, rc, &err, RA_JSON_REQUEST, v, n);
}

/* One ra/ call on the id of the path: approve, revoke a challenge. */
static void
by_id(struct call *c, enum sg_rc (*fn)(struct ra *, int64_t,
    struct sg_err *))
{
	struct sg_err	err;
	int64_t		id;

	if (path_id(c, c->arg[0], &id))
		reply_done(c, fn(c->ra, id, &err), &err);
}

static void
req_approve(struct call *c)
{
	by_id(c, ra_request_approve);
}

static void
req_reject(struct call *c)
{
	static const char *const fields[] = { "reason", NULL };
	struct sg_err	err;
	char		reason[256] = "";
	int64_t		id;

	if (!path_id(c, c->arg[0], &id) || !only(c, c->body, fields) ||
	    !text(c, c->body, "reason", reason, sizeof(reason)))
		return;
	if (reason[0] == '\0') {
		reply_error(c, 400, "a rejection needs a reason");
		return;
	}
	reply_done(c, ra_request_reject(c->ra, id, reason, &err), &err);
}

static void
cert_list(struct call *c)
{
	static const char *const words[] = { "valid", "revoked", "superseded",
	    NULL };
	struct ra_cert	*v = NULL;
	struct sg_err	 err;
	char		 ep[RA_NAME_MAX], status[16];
	size_t		 n = 0;
	int		 s = -1, i;
	enum sg_rc	 rc;

	if (!query(c, "endpoint", ep, sizeof(ep)) ||
	    !query(c, "status", status, sizeof(status)))
		return;
	for (i = 0; status[0] != '\0' && words[i] != NULL; i++)
		if (strcmp(words[i], status) == 0)
			s = i;
	if (status[0] != '\0' && s < 0) {
		reply_error(c, 400, "status: valid, revoked or superseded");
		return;
	}
	rc = ra_cert_list(c->ra, ep[0] ? ep : NULL, s, &v, &n, &err);
	reply_list(c, rc, &err, RA_JSON_CERT, v, n);
}

static void
cert_show(struct call *c)
{
	struct ra_cert	 cert;
	struct sg_err	 err;
	char		*pem = NULL;
	enum sg_rc	 rc;

	if ((rc = ra_cert_get(c->ra, c->arg[0], &cert, &pem, &err)) != SG_OK)
		reply_rc(c, rc, &err);
	else
		reply_json(c, 200, ra_json_cert_pem(&cert, pem));
	free(pem);
}

static void
cert_revoke(struct call *c)
{
	static const char *const fields[] = { "reason", NULL };
	struct sg_err	err;
	char		word[64] = "unspecified";
	int		reason;

	if (!only(c, c->body, fields) ||
	    !text(c, c->body, "reason", word, sizeof(word)))
		return;
	if (!ra_crl_reason_parse(word, &reason)) {
		reply_error(c, 400, "reason: a CRL reason (keyCompromise, "
		    "superseded, ...)");
		return;
	}
	reply_done(c, ra_cert_revoke(c->ra, c->arg[0], reason, &err), &err);
}

/* ---- the audit ---- */

/* The filters of the query; false after a 400. */
static bool
audit_query(struct call *c, struct ra_audit_rec **v, size_t *n)
{
	struct ra_audit_filter	 f = { 0 };
	struct sg_err		 err;
	char			 e[RA_NAME_MAX], a[RA_NAME_MAX], o[16];
	char			 since[32], until[32];
	enum sg_rc		 rc;

	if (!query(c, "endpoint", e, sizeof(e)) ||
	    !query(c, "account", a, sizeof(a)) ||
	    !query(c, "outcome", o, sizeof(o)) ||
	    !query(c, "since", since, sizeof(since)) ||
	    !query(c, "until", until, sizeof(until)))
		return false;
	if ((since[0] && !ra_json_time_parse(since, &f.since)) ||
	    (until[0] && !ra_json_time_parse(until, &f.until))) {
		reply_error(c, 400, "since, until: YYYY-MM-DD, "
		    "YYYY-MM-DDTHH:MM:SSZ or epoch seconds");
		return false;
	}
	f.endpoint = e[0] ? e : NULL;
	f.account = a[0] ? a : NULL;
	f.outcome = o[0] ? o : NULL;
	if ((rc = ra_audit_list(c->ra, &f, v, n, &err)) != SG_OK) {
		reply_rc(c, rc, &err);
		return false;
	}
	return true;
}

static void
audit_list(struct call *c)
{
	struct ra_audit_rec	*v = NULL;
	size_t			 n = 0;

	if (audit_query(c, &v, &n))
		reply_json(c, 200, ra_json_array(RA_JSON_AUDIT, v, n));
	free(v);
}

static void
audit_export(struct call *c)
{
	struct ra_audit_rec	*v = NULL;
	char			 format[8], *buf = NULL;
	size_t			 n = 0, len = 0;
	FILE			*fp;

	if (!query(c, "format", format, sizeof(format)))
		return;
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
		reply_error(c, 400, "format: csv or json");
		return;
	}
	if (!audit_query(c, &v, &n))
		goto out;
	if (strcmp(format, "json") == 0) {
		reply_json(c, 200, ra_json_array(RA_JSON_AUDIT, v, n));
		goto out;
	}
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		reply_error(c, 500, "out of memory");
		goto out;
	}
	ra_json_audit_csv(fp, v, n);
	if (fclose(fp) != 0) {
		reply_error(c, 500, "out of memory");
		goto out;
	}
	c->a->status = 200;
	c->a->ctype = "text/csv; charset=utf-8";
	c->a->body = (uint8_t *)buf;
	c->a->len = len;
	buf = NULL;
out:
	free(buf);
	free(v);
}

/* ---- challenges ---- */

static const char *const chal_fields[] = { "account", "lifetime", "cn",
    "san", NULL };

/*
 * Mint a challenge on "endpoint" with the body's options (c->body may
 * be NULL); SG_OK with the code in code_out, else the error in "err"
 * (SG_EPARSE after a 400 is already set).
 */
static enum sg_rc
chal_mint(struct call *c, const char *endpoint, char *code_out,
    struct ra_challenge *rec, struct sg_err *err)
{
	struct ra_challenge_req	req = { 0 };
	char			acct[RA_NAME_MAX] = "", cn[RA_NAME_MAX] = "";
	char			san[RA_NAME_MAX] = "";

	sg_err_clear(err);
	if (c->body != NULL && (!only(c, c->body, chal_fields) ||
	    !text(c, c->body, "account", acct, sizeof(acct)) ||
	    !integer(c, c->body, "lifetime", 1, 7 * 86400, &req.lifetime) ||
	    !text(c, c->body, "cn", cn, sizeof(cn)) ||
	    !text(c, c->body, "san", san, sizeof(san))))
		return SG_EPARSE;
	req.endpoint = endpoint;
	req.account = acct[0] ? acct : NULL;
	req.cn = cn[0] ? cn : NULL;
	req.san = san[0] ? san : NULL;
	return ra_challenge_add(c->ra, &req, code_out, rec, err);
}

static void
chal_add(struct call *c)
{
	struct ra_challenge	rec;
	struct sg_err		err;
	char			code[RA_CODE_MAX + 1] = "", exp[32];
	enum sg_rc		rc;

	rc = chal_mint(c, c->arg[0], code, &rec, &err);
	if (rc == SG_EPARSE && c->a->status != 0)
		goto out;
	if (rc != SG_OK) {
		reply_rc(c, rc, &err);
		goto out;
	}
	ra_json_time(rec.expires, exp, sizeof(exp));
	reply_json(c, 201, json_pack("{s:s, s:s, s:I}", "challenge", code,
	    "expires_at", exp, "id", (json_int_t)rec.id));
out:
	explicit_bzero(code, sizeof(code));
}

static void
chal_list(struct call *c)
{
	struct ra_challenge	*v = NULL;
	struct sg_err		 err;
	json_t			*arr;
	char			 all[8];
	size_t			 n = 0, i = 0;
	enum sg_rc		 rc;

	if (!query(c, "all", all, sizeof(all)))
		return;
	rc = ra_challenge_list(c->ra, c->arg[0], strcmp(all, "true") == 0,
	    &v, &n, &err);
	if (rc != SG_OK) {
		reply_rc(c, rc, &err);
		goto out;
	}
	/* ra_json_array() is pure; challenges are ra_challenge.c's. */
	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, ra_json_challenge(&v[i])) != 0)
			break;
	if (i == n)
		reply_json(c, 200, arr);
	else {
		json_decref(arr);
		reply_error(c, 500, "out of memory");
	}
out:
	free(v);
}

static void
chal_revoke(struct call *c)
{
	by_id(c, ra_challenge_revoke);
}

/*
 * ---- the route table ----
 * docs/admin-api.yaml describes each row; test_admin_api.sh reads the
 * rows from this file (one "{ METHOD, PATH" string pair each) to check.
 */

static const struct route routes[] = {
	{ "GET", "/api/v1/endpoints", RA_SCOPE_READ, false, ep_list },
	{ "POST", "/api/v1/endpoints", RA_SCOPE_ADMIN, false, ep_add },
	{ "GET", "/api/v1/endpoints/{name}", RA_SCOPE_READ, true, ep_show },
	{ "PATCH", "/api/v1/endpoints/{name}", RA_SCOPE_ADMIN, true,
	    ep_patch },
	{ "DELETE", "/api/v1/endpoints/{name}", RA_SCOPE_ADMIN, true,
	    ep_delete },
	{ "GET", "/api/v1/endpoints/{name}/accounts", RA_SCOPE_READ, true,
	    acct_list },
	{ "POST", "/api/v1/endpoints/{name}/accounts", RA_SCOPE_ADMIN, true,
	    acct_add },
	{ "GET", "/api/v1/endpoints/{name}/accounts/{account}",
	    RA_SCOPE_READ, true, acct_show },
	{ "PATCH", "/api/v1/endpoints/{name}/accounts/{account}",
	    RA_SCOPE_ADMIN, true, acct_patch },
	{ "DELETE", "/api/v1/endpoints/{name}/accounts/{account}",
	    RA_SCOPE_ADMIN, true, acct_delete },
	{ "POST", "/api/v1/endpoints/{name}/accounts/{account}/rotate-code",
	    RA_SCOPE_ADMIN, true, acct_rotate },
	{ "GET", "/api/v1/requests", RA_SCOPE_READ, false, req_list },
	{ "POST", "/api/v1/requests/{id}/approve", RA_SCOPE_ADMIN, false,
	    req_approve },
	{ "POST", "/api/v1/requests/{id}/reject", RA_SCOPE_ADMIN, false,
	    req_reject },
	{ "GET", "/api/v1/certificates", RA_SCOPE_READ, false, cert_list },
	{ "GET", "/api/v1/certificates/{serial}", RA_SCOPE_READ, false,
	    cert_show },
	{ "POST", "/api/v1/certificates/{serial}/revoke", RA_SCOPE_ADMIN,
	    false, cert_revoke },
	{ "GET", "/api/v1/audit", RA_SCOPE_READ, false, audit_list },
	{ "GET", "/api/v1/audit/export", RA_SCOPE_READ, false,
	    audit_export },
	{ "POST", "/api/v1/endpoints/{name}/challenges", RA_SCOPE_CHALLENGE,
	    true, chal_add },
	{ "GET", "/api/v1/endpoints/{name}/challenges", RA_SCOPE_READ, true,
	    chal_list },
	{ "DELETE", "/api/v1/challenges/{id}", RA_SCOPE_ADMIN, false,
	    chal_revoke },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/*
 * Does "path" match the route's pattern? Fills c->arg with the segments
 * that "{...}" matched; false for a segment too long for them.
 */
static bool
match(const char *pattern, const char *path, struct call *c)
{
	size_t	np, nq, narg = 0;

	while (*pattern == '/' && *path == '/') {
		pattern++;
		path++;
		np = strcspn(pattern, "/");
		nq = strcspn(path, "/");
		if (pattern[0] == '{') {
			if (nq == 0 || nq >= RA_NAME_MAX || narg == ARGS_MAX)
				return false;
			memcpy(c->arg[narg], path, nq);
			c->arg[narg++][nq] = '\0';
		} else if (np != nq || strncmp(pattern, path, np) != 0)
			return false;
		pattern += np;
		path += nq;
	}
	return *pattern == '\0' && *path == '\0';
}

/* ---- authentication ---- */

/*
 * Who is asking: "Bearer TOKEN", or for the NDES page "Basic" with
 * name:token. SG_OK with c->tok filled; else the answer is set (401,
 * 429, 500). Wrong tokens count toward the source's lockout.
 */
static enum sg_rc
authenticate(struct call *c, bool basic)
{
	const char	*h = c->in->authorization, *colon;
	char		 secret[RA_TOKEN_MAX], name[RA_NAME_MAX] = "";
	uint8_t		*raw = NULL;
	struct sg_err	 err;
	size_t		 len = 0;
	bool		 locked = false;
	enum sg_rc	 rc = SG_EPOLICY;

	secret[0] = '\0';
	c->a->www_auth = basic ? "Basic realm=\"NDES\", charset=\"UTF-8\"" :
	    "Bearer realm=\"scepgate\"";
	if (ra_admin_locked(c->ra, c->in->peer, &locked, &err) != SG_OK) {
		reply_rc(c, SG_ESTORE, &err);
		return SG_ESTORE;
	}
	if (locked) {
		reply_error(c, 429, "too many wrong tokens; try again later");
		return SG_ELIMIT;
	}
	if (h == NULL)
		goto out;
	/* Too long for a token is no token (never a cut one). */
	if (!basic && strncmp(h, "Bearer ", 7) == 0 &&
	    strlen(h + 7) < sizeof(secret))
		memcpy(secret, h + 7, strlen(h + 7) + 1);
	else if (basic && strncmp(h, "Basic ", 6) == 0 &&
	    sg_b64_decode(h + 6, strlen(h + 6), 512, &raw, &len, NULL) ==
	    SG_OK && memchr(raw, '\0', len) == NULL &&
	    (colon = memchr(raw, ':', len)) != NULL &&
	    (size_t)(colon - (char *)raw) < sizeof(name) &&
	    len - (size_t)(colon - (char *)raw) - 1 < sizeof(secret)) {
		memcpy(name, raw, (size_t)(colon - (char *)raw));
		name[colon - (char *)raw] = '\0';
		memcpy(secret, colon + 1, len - (size_t)(colon - (char *)raw) -
		    1);
		secret[len - (size_t)(colon - (char *)raw) - 1] = '\0';
	} else
		goto out;
	rc = ra_token_verify(c->ra, secret, basic ? name : NULL, &c->tok,
	    &err);
	if (rc == SG_EPOLICY && ra_admin_failed(c->ra, c->in->peer, &err) !=
	    SG_OK)
		rc = SG_ESTORE;
out:
	explicit_bzero(secret, sizeof(secret));
	if (raw != NULL)
		explicit_bzero(raw, len);
	free(raw);
	if (rc == SG_EPOLICY)
		reply_error(c, 401, "a valid token is needed");
	else if (rc != SG_OK)
		reply_error(c, 500, "internal error");
	return rc;
}

/* ---- NDES's mscep_admin page ---- */

/*
 * The page as NDES writes it (the sentences Fleet, Jamf and other MDMs
 * look for), UTF-16LE with a byte-order mark: the code is ASCII, as is
 * everything else on the page.
 */
static void
ndes_page(struct call *c, int status, const char *body)
{
	static const char head[] = "<HTML><Head><Meta HTTP-Equiv="
	    "\"Content-Type\" Content=\"text/html; charset=UTF-16\">"
	    "<Title>Network Device Enrollment Service</Title></Head>"
	    "<Body BgColor=#FFFFFF><Font ID=locPageFont Face=\"Arial\">"
	    "<P ID=locPageTitle> Network Device Enrollment Service allows "
	    "you to obtain certificates for routers or other network devices "
	    "using the Simple Certificate Enrollment Protocol (SCEP). </P>";
	static const char tail[] = "</Font></Body></HTML>";
	size_t		 n = strlen(head) + strlen(body) + strlen(tail), i;
	uint8_t		*out;
	const char	*parts[3] = { head, body, tail }, *p;
	size_t		 k, j = 2;

	if ((out = malloc(2 * n + 2)) == NULL) {
		c->a->status = 500;
		return;
	}
	out[0] = 0xff;
	out[1] = 0xfe;
	for (k = 0; k < 3; k++) {
		for (p = parts[k], i = 0; p[i] != '\0'; i++) {
			out[j++] = (uint8_t)p[i] < 0x80 ? (uint8_t)p[i] : '?';
			out[j++] = 0;
		}
	}
	c->a->status = status;
	c->a->ctype = "text/html; charset=utf-16";
	c->a->body = out;
	c->a->len = j;
}

static void
ndes_admin(struct call *c)
{
	struct ra_challenge	rec;
	struct sg_err		err;
	char			code[RA_CODE_MAX + 1] = "", body[512];
	long			minutes;
	enum sg_rc		rc;

	if (c->tok.scope != RA_SCOPE_CHALLENGE || c->tok.endpoint[0] == '\0') {
		ndes_page(c, 403, "<P> You do not have sufficient permission "
		    "to enroll with SCEP. Please contact your system "
		    "administrator: this page needs a challenge token bound to "
		    "one endpoint. </P>");
		return;
	}
	rc = chal_mint(c, c->tok.endpoint, code, &rec, &err);
	if (rc == SG_ELIMIT) {
		ndes_page(c, 200, "<P> The password cache is full. <P> "
		    "Unused passwords are kept until they expire; try again "
		    "when one has been used or has expired. </P>");
		return;
	}
	if (rc != SG_OK) {
		reply_rc(c, rc, &err);
		return;
	}
	minutes = (long)((rec.expires - rec.created + 59) / 60);
	snprintf(body, sizeof(body), "<P> The enrollment challenge password "
	    "is: <B> %s </B> <P> This password can be used only once and "
	    "will expire within %ld minutes. <P> Each enrollment requires a "
	    "new challenge password. You can refresh this web page to obtain "
	    "a new challenge password. </P>", code, minutes);
	ndes_page(c, 200, body);
	explicit_bzero(code, sizeof(code));
	explicit_bzero(body, sizeof(body));
}

/* ---- the entry point ---- */

static bool
is_ndes(const char *path)
{
	return strcmp(path, "/certsrv/mscep_admin/") == 0 ||
	    strcmp(path, "/certsrv/mscep_admin") == 0;
}

/* The route for the request, or NULL after a 404 or 405. */
static const struct route *
route_of(struct call *c)
{
	size_t	i;
	bool	path_known = false;

	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].path, c->in->path, c))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, c->in->method) == 0)
			return &routes[i];
	}
	if (path_known)
		reply_error(c, 405, "method not allowed");
	else
		reply_error(c, 404, "no such route");
	return NULL;
}

/* The request's JSON object into c->body; false after a 400 or 413. */
static bool
parse_body(struct call *c)
{
	json_error_t	jerr;

	if (c->in->too_large) {
		reply_error(c, 413, "request body too large");
		return false;
	}
	if (c->in->body_len == 0)
		return true;
	c->body = json_loadb((const char *)c->in->body, c->in->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (c->body == NULL || !json_is_object(c->body)) {
		reply_error(c, 400, "the body must be a JSON object%s%s",
		    c->body == NULL ? ": " : "", c->body == NULL ?
		    jerr.text : "");
		return false;
	}
	return true;
}

void
srv_admin_answer(const struct conf *conf, struct ra *ra,
    const struct srv_request *in, struct srv_answer *a)
{
	const struct route	*r = NULL;
	struct call		 c;
	char			 actor[RA_NAME_MAX + 8];

	memset(&c, 0, sizeof(c));
	c.conf = conf;
	c.ra = ra;
	c.in = in;
	c.a = a;
	a->op = "admin";
	if (is_ndes(in->path)) {
		a->op = "mscep_admin";
		if (strcmp(in->method, "GET") != 0)
			reply_error(&c, 405, "method not allowed");
		else if (authenticate(&c, true) == SG_OK) {
			snprintf(actor, sizeof(actor), "token:%s", c.tok.name);
			ra_set_actor(ra, actor);
			ndes_admin(&c);
			ra_set_actor(ra, "system");
		}
		return;
	}
	if ((r = route_of(&c)) == NULL || !parse_body(&c) ||
	    authenticate(&c, false) != SG_OK)
		goto out;
	if (!ra_token_allows(&c.tok, r->need, r->on_endpoint ? c.arg[0] :
	    NULL)) {
		reply_error(&c, 403, "token '%s' (scope %s) may not do this",
		    c.tok.name, ra_scope_name(c.tok.scope));
		goto out;
	}
	/* No body is an empty object: the handlers read it alike. */
	if (c.body == NULL && (c.body = json_object()) == NULL) {
		a->status = 500;
		goto out;
	}
	snprintf(actor, sizeof(actor), "token:%s", c.tok.name);
	ra_set_actor(ra, actor);
	r->run(&c);
	ra_set_actor(ra, "system");
out:
	json_decref(c.body);
	if (a->status == 0)
		a->status = 500;
}
