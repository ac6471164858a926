/*
 * The SCM upstream (DESIGN.md "Upstream: SCM"): order certificates from
 * Sectigo Certificate Manager over its REST API, collect them, revoke
 * them. Section numbers refer to reference/scm-rest-api.md; the JSON
 * and the meaning of SCM's answers are in ra_up_scm_msg.c, the HTTP
 * client (curl pool, retries, OAuth tokens, secret files) in ra/http/.
 * This file holds SCM's URLs, logins and codes.
 *
 * Threads: the HTTP workers call issue() and collect() at the same
 * time; the catalogue caches and the collect pacing sit behind s->lock.
 *
 * Secrets (password, OAuth client secret and token, client key) are
 * read once at open from files only their owner may read, go out only
 * in request headers, the token form or the TLS handshake, never into
 * logs or errors, and are wiped on free. Log lines may name the login.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ra_http.h"
#include "ra_int.h"		/* ra_pem_read_certs(): a helper below */
#include "ra_up_scm_int.h"

#define SCM_SECRET_MAX	1024	/* password, OAuth client secret */
#define SCM_QUICK_MS	2000	/* issue(): wait this long at most */
#define SCM_FIND_MS	3000	/* the look-up right after a lost answer */
#define SCM_FIND_PAGES	5	/* of 200 certificates each */

/* issue(): collects right after enroll, after these pauses (6.2). */
static const long quick_ms[] = { 500, 1000 };

/* When a pending order may be collected again (never hammer SCM). */
struct scm_poll {
	char		 order[RA_ORDER_MAX];
	unsigned	 n;		/* collects so far */
	int64_t		 next;		/* monotonic ms */
};

struct scm_list {
	struct scm_entry	*v;
	size_t			 n;
	int64_t			 at;	/* monotonic seconds; -1: never */
};

enum { LIST_ORGS, LIST_DEVICE, LIST_CLIENT, NLISTS };

struct scm {
	const struct conf_upstream *u;	/* borrowed: outlives the RA */
	char		 base[320];	/* REST base: ".../api" */
	char		 smime[16];	/* "smime/v1" */
	int64_t		 ttl;		/* seconds a catalogue is trusted */
	struct ra_http	*http;		/* TLS files, client key, pool */
	struct ra_http_oauth *oauth;	/* auth = "oauth" only */
	struct ra_secret password;	/* auth = "password" only */

	pthread_mutex_t	 lock;		/* guards what follows */
	struct scm_list	 lists[NLISTS];
	struct scm_poll	*polls;		/* pending orders collected */
	size_t		 npolls;
};

/* One SCM call: which one (4.2) and how it may be retried (4.4). */
struct req {
	const char	*what;		/* "enroll": for logs and errors */
	enum scm_call	 call;
	const char	*method;	/* GET, POST */
	char		 url[1024];
	const char	*body;		/* JSON; NULL: none */
	bool		 replay;	/* may go again after a lost answer */
	int		 tries;		/* 0: as many as the deadline allows */
	int64_t		 deadline;	/* ra_http_now_ms() */
};

struct resp {
	long		 http;
	struct sg_buf	 body;
	int		 code;		/* SCM error code, or SCM_NO_CODE */
	char		 desc[160];	/* SCM's description, printable */
};

static bool
is_client(enum ra_ep_type t)
{
	return t == RA_EP_CLIENT || t == RA_EP_CLIENT_INTUNE;
}

/* ---- HTTP ---- */

/* SCM's "busy" (4.4): 429, 5xx, and -140, -195, -2, -65 on any status. */
static bool
busy(long http, const uint8_t *body, size_t len, void *arg)
{
	const struct req	*q = arg;
	char			 desc[8];
	int			 code = SCM_NO_CODE;

	if (http >= 300)
		scm_error_parse(body, len, &code, desc, sizeof(desc));
	return scm_classify(q->call, http, code) == SCM_C_TRANSIENT;
}

/*
 * Send "q" with the login of 1.1, 1.2 or 1.3, retried while SCM is busy
 * (ra_http_call). SG_OK means "an answer is in *r" (any status, with
 * SCM's code and description read: the caller decides); an error means
 * no usable answer came.
 */
static enum sg_rc
call(struct scm *s, const struct req *q, struct resp *r, struct sg_err *err)
{
	const struct conf_upstream	*u = s->u;
	struct ra_http_hdr		 h[4];
	struct ra_http_req		 hq = { 0 };
	struct ra_http_resp		 hr;
	size_t				 n = 0;
	enum sg_rc			 rc;

	h[n++] = (struct ra_http_hdr){ "Accept", "application/json" };
	if (u->auth == CONF_SCM_AUTH_PASSWORD ||
	    u->auth == CONF_SCM_AUTH_CLIENT_CERT)
		h[n++] = (struct ra_http_hdr){ "login", u->login };
	if (u->auth == CONF_SCM_AUTH_PASSWORD)
		h[n++] = (struct ra_http_hdr){ "password", s->password.data };
	if (u->auth == CONF_SCM_AUTH_PASSWORD ||
	    u->auth == CONF_SCM_AUTH_CLIENT_CERT)
		h[n++] = (struct ra_http_hdr){ "customerUri",
		    u->customer_uri };
	hq.what = q->what;
	hq.method = q->method;
	hq.url = q->url;
	hq.body = q->body;
	hq.content_type = q->body != NULL ? "application/json;charset=utf-8" :
	    NULL;
	hq.hdrs = h;
	hq.nhdrs = n;
	hq.auth = ra_http_oauth_auth(s->oauth); /* NULL unless "oauth" */
	hq.replay = q->replay;
	hq.tries = q->tries;
	hq.deadline = q->deadline;
	hq.busy = busy;
	hq.arg = (void *)q;
	memset(r, 0, sizeof(*r));
	r->code = SCM_NO_CODE;
	if ((rc = ra_http_call(s->http, &hq, &hr, err)) != SG_OK)
		return rc;
	r->http = hr.http;
	r->body = hr.body;		/* the caller frees it now */
	if (r->http >= 300) {
		scm_error_parse(r->body.data, r->body.len, &r->code, r->desc,
		    sizeof(r->desc));
		sg_log(SG_LOG_DEBUG, "scm: %s: HTTP %ld%s%s", q->what, r->http,
		    r->desc[0] != '\0' ? " " : "", r->desc);
	}
	return SG_OK;
}

/* ---- catalogue: organization and profile ids (3.1, 3.2) ---- */

static long
list_find(struct scm *s, int which, const char *name, const char *parent,
    int64_t *age)
{
	struct scm_list	*l = &s->lists[which];
	long		 id = -1;

	pthread_mutex_lock(&s->lock);
	*age = l->at < 0 ? -1 : ra_http_now_ms() / 1000 - l->at;
	if (l->at >= 0)
		id = scm_entry_find(l->v, l->n, name, parent);
	pthread_mutex_unlock(&s->lock);
	return id;
}

static const char *const list_what[NLISTS] = { "organizations",
    "device profiles", "client profiles" };

/* GET listing "which" (3.1, 3.2); SG_OK: a 200 answer is in r->body. */
static enum sg_rc
list_get(struct scm *s, int which, int64_t deadline, struct resp *r,
    struct sg_err *err)
{
	struct req	q = { 0 };
	enum sg_rc	rc;

	q.what = list_what[which];
	q.call = SCM_CALL_OTHER;
	q.method = "GET";
	q.replay = true;
	q.deadline = deadline;
	if (which == LIST_ORGS)
		snprintf(q.url, sizeof(q.url), "%s/organization/v1", s->base);
	else
		snprintf(q.url, sizeof(q.url), "%s/%s/types", s->base,
		    which == LIST_DEVICE ? "device/v1" : s->smime);
	if ((rc = call(s, &q, r, err)) != SG_OK)
		return rc;
	if (r->http != 200) {
		rc = scm_error_set(err, SCM_CALL_OTHER, q.what, r->http,
		    r->code, r->desc);
		sg_buf_free(&r->body);
	}
	return rc;
}

static enum sg_rc
list_fetch(struct scm *s, int which, int64_t deadline, struct sg_err *err)
{
	struct scm_list	*l = &s->lists[which];
	struct scm_entry *v = NULL, *old;
	struct resp	 r;
	size_t		 n = 0;
	enum sg_rc	 rc;

	if ((rc = list_get(s, which, deadline, &r, err)) != SG_OK)
		return rc;
	if (which == LIST_ORGS)
		rc = scm_orgs_parse(r.body.data, r.body.len, &v, &n, err);
	else
		rc = scm_types_parse(r.body.data, r.body.len, &v, &n, err);
	sg_buf_free(&r.body);
	if (rc != SG_OK)
		return rc;
	pthread_mutex_lock(&s->lock);
	old = l->v;
	l->v = v;
	l->n = n;
	l->at = ra_http_now_ms() / 1000;
	pthread_mutex_unlock(&s->lock);
	free(old);
	sg_log(SG_LOG_DEBUG, "scm: %zu %s", n, list_what[which]);
	return SG_OK;
}

/*
 * The id of "name" (under "parent") in a listing cached for poll_interval
 * x 12 seconds. A name that is missing from a listing younger than
 * poll_interval is not fetched again: a typo must not hammer SCM. A
 * stale listing still answers when SCM cannot be reached.
 */
static enum sg_rc
list_id(struct scm *s, int which, const char *name, const char *parent,
    int64_t deadline, long *id, struct sg_err *err)
{
	int64_t		age;
	enum sg_rc	rc;

	*id = list_find(s, which, name, parent, &age);
	if (age >= 0 && ((*id > 0 && age < s->ttl) ||
	    (*id < 0 && age < s->u->poll_interval)))
		return *id > 0 ? SG_OK : SG_ENOTFOUND;
	if ((rc = list_fetch(s, which, deadline, err)) != SG_OK) {
		if (*id > 0) {
			sg_log(SG_LOG_WARN, "scm: %s; using the cached id",
			    err != NULL ? err->msg : "listing failed");
			sg_err_clear(err);
			return SG_OK;
		}
		return rc;
	}
	*id = list_find(s, which, name, parent, &age);
	return *id > 0 ? SG_OK : SG_ENOTFOUND;
}

/* orgId: the department's id when the account names one (3.2). */
static enum sg_rc
org_id(struct scm *s, const struct ra_issuance *a, int64_t deadline,
    long *id, struct sg_err *err)
{
	enum sg_rc	rc;

	if (a->dept[0] != '\0')
		rc = list_id(s, LIST_ORGS, a->dept, a->org, deadline, id, err);
	else
		rc = list_id(s, LIST_ORGS, a->org, "", deadline, id, err);
	if (rc == SG_ENOTFOUND)
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "SCM has no %s \"%s\"%s%s%s", a->dept[0] != '\0' ?
		    "department" : "organization", a->dept[0] != '\0' ?
		    a->dept : a->org, a->dept[0] != '\0' ? " in \"" : "",
		    a->dept[0] != '\0' ? a->org : "",
		    a->dept[0] != '\0' ? "\"" : "");
	return rc;
}

/* certType: a numeric profile is the id, else looked up by name (3.1). */
static enum sg_rc
profile_id(struct scm *s, bool client, const struct ra_issuance *a,
    int64_t deadline, long *id, struct sg_err *err)
{
	enum sg_rc	rc;

	if (a->profile[0] == '\0')
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "account '%s' has no profile: SCM needs a certificate "
		    "profile", a->account);
	if ((*id = scm_numeric_id(a->profile)) > 0)
		return SG_OK;
	rc = list_id(s, client ? LIST_CLIENT : LIST_DEVICE, a->profile, "",
	    deadline, id, err);
	if (rc == SG_ENOTFOUND)
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "SCM has no %s certificate profile \"%s\"", client ?
		    "client" : "device", a->profile);
	return rc;
}

/* ---- enroll, collect, revoke ---- */

/*
 * The order's state (3.4; clients: the v2 list by backendCertId), to
 * tell "still pending" from "declined": a collect answers both with the
 * same codes. An error only for a dead order.
 */
static enum sg_rc
check_state(struct scm *s, bool client, const char *id, int64_t deadline,
    struct sg_err *err)
{
	struct req	q = { 0 };
	struct resp	r;
	char		st[32];
	enum sg_rc	rc = SG_OK;

	q.what = "status";
	q.call = SCM_CALL_OTHER;
	q.method = "GET";
	q.replay = true;
	q.tries = 1;
	q.deadline = deadline;
	if (client)
		snprintf(q.url, sizeof(q.url), "%s/smime/v2?backendCertId=%s",
		    s->base, id);
	else
		snprintf(q.url, sizeof(q.url), "%s/device/v1/%s", s->base, id);
	if (call(s, &q, &r, NULL) != SG_OK)
		return SG_OK;	/* unknown: still pending */
	if (r.http == 200 && scm_status_field(r.body.data, r.body.len, st,
	    sizeof(st)) == SG_OK) {
		switch (scm_state_parse(st)) {
		case SCM_S_DECLINED:
			rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
			    "SCM order %s: %s", id, st);
			break;
		case SCM_S_REVOKED:
			rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
			    "SCM order %s: %s before delivery", id, st);
			break;
		default:
			break;
		}
	}
	sg_buf_free(&r.body);
	return rc;
}

/*
 * One collect of order "id" (3.5, 4.3), in x509CO: the leaf alone, as
 * PEM. SG_OK with *out set: issued; SG_OK with *out NULL: not yet (or
 * SCM busy or unreachable: the next poll asks again); an error: the
 * order is dead.
 */
static enum sg_rc
collect_once(struct scm *s, bool client, const char *id, int64_t deadline,
    X509 **out, struct sg_err *err)
{
	struct req	 q = { 0 };
	struct resp	 r;
	struct sg_err	 e;
	enum sg_rc	 rc = SG_OK;

	q.what = "collect";
	q.call = SCM_CALL_COLLECT;
	q.method = "GET";
	q.replay = true;
	q.tries = 1;		/* the next poll is the retry */
	q.deadline = deadline;
	snprintf(q.url, sizeof(q.url), "%s/%s/collect/%s?format=x509CO",
	    s->base, client ? s->smime : "device/v1", id);
	if (call(s, &q, &r, &e) != SG_OK) {
		sg_log(SG_LOG_WARN, "scm: order %s: %s", id, e.msg);
		return SG_OK;
	}
	switch (scm_classify(SCM_CALL_COLLECT, r.http, r.code)) {
	case SCM_C_OK:
		rc = scm_cert_parse(r.body.data, r.body.len, out, err);
		break;
	case SCM_C_PENDING:
		rc = check_state(s, client, id, deadline, err);
		break;
	case SCM_C_TRANSIENT:
	case SCM_C_AUTH:
		/* Not this request's fault: keep it pending. */
		sg_log(r.http == 401 ? SG_LOG_ERR : SG_LOG_WARN, "scm: order "
		    "%s: collect: HTTP %ld %s", id, r.http, r.desc);
		break;
	case SCM_C_REVOKED:
		rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "SCM order %s: revoked before delivery", id);
		break;
	default:
		rc = scm_error_set(err, SCM_CALL_COLLECT, "collect", r.http,
		    r.code, r.desc);
		break;
	}
	sg_buf_free(&r.body);
	return rc;
}

/* ---- lost enroll answers (docs/upstream-scm.md) ---- */

/*
 * The durable marker of ra_up.h (none if is->mark is NULL): "order"
 * NULL before the enroll leaves, else what SCM told.
 */
static enum sg_rc
mark(const struct ra_issue *is, const char *order)
{
	return is->mark != NULL ? is->mark(is->arg, order) : SG_OK;
}

/* SCM told: clear the marker. If that fails it stays, which is safe. */
static void
told(const struct ra_issue *is, const char *tid, const char *order)
{
	if (mark(is, order) != SG_OK)
		sg_log(SG_LOG_WARN, "scm: transid=%s: the order marker stays: "
		    "a retry looks the order up first", tid);
}

/*
 * Look the order of an enroll whose answer was lost up at SCM: the
 * certificate lists (3.4; 3.8, v2 only) with the filters the reference
 * documents (device: commonName, orgId, certTypeId; client: email,
 * certTypeId), matched on the comments scepgate sent ("prefix").
 * SG_OK: found, its id in "id"; SG_ENOTFOUND: SCM has none; otherwise
 * SCM cannot tell, and err says why.
 */
static enum sg_rc
find_order(struct scm *s, const struct scm_enroll *e, const char *cn,
    const char *prefix, int64_t deadline, char *id, struct sg_err *err)
{
	struct req	 q = { 0 };
	struct resp	 r;
	char		 filter[3 * 129 + 32];
	size_t		 n = 0;
	enum sg_rc	 rc = SG_ENOTFOUND;
	int		 page;

	q.what = "certificate list";
	q.call = SCM_CALL_OTHER;
	q.method = "GET";
	q.replay = true;
	q.deadline = deadline;
	memcpy(filter, "&commonName=", 13);
	if (e->client) {
		memcpy(filter, "&email=", 8);
		(void)scm_query_escape(e->person->email, filter + 7,
		    sizeof(filter) - 7);
	} else if (cn[0] == '\0' || !scm_query_escape(cn, filter + 12,
	    sizeof(filter) - 12))
		filter[0] = '\0';
	for (page = 0; rc == SG_ENOTFOUND && page < SCM_FIND_PAGES; page++) {
		if (page > 0 && n < 200)
			return SG_ENOTFOUND;	/* the last page was short */
		if (e->client)
			snprintf(q.url, sizeof(q.url), "%s/smime/v2?size=200&"
			    "position=%d&certTypeId=%ld%s", s->base, page * 200,
			    e->cert_type, filter);
		else
			snprintf(q.url, sizeof(q.url), "%s/device/v1?size=200&"
			    "position=%d&orgId=%ld&certTypeId=%ld%s", s->base,
			    page * 200, e->org_id, e->cert_type, filter);
		if ((rc = call(s, &q, &r, err)) != SG_OK)
			return rc;
		if (r.http != 200)
			rc = scm_error_set(err, SCM_CALL_OTHER, q.what, r.http,
			    r.code, r.desc);
		else if ((rc = scm_list_match(e->client, r.body.data,
		    r.body.len, prefix, id, &n)) == SG_EPARSE)
			rc = sg_err_set(err, SG_EUPSTREAM, "SCM certificate "
			    "list: not a JSON array");
		sg_buf_free(&r.body);
	}
	if (rc == SG_ENOTFOUND && n >= 200)
		rc = sg_err_set(err, SG_EUPSTREAM, "SCM certificate list: "
		    "more than %d certificates match", SCM_FIND_PAGES * 200);
	return rc;
}

/*
 * Take over order "id" for this transaction: it is collected as usual
 * (the client polls; no quick wait, so that the audit records the
 * adoption). The note goes to the audit through err (ra_up.h).
 */
static enum sg_rc
adopt(const char *tid, const char *id, char *order, struct sg_err *err)
{
	snprintf(order, RA_ORDER_MAX, "%s", id);
	sg_log(SG_LOG_INFO, "scm: transid=%s: adopted SCM order %s, placed "
	    "by an enroll whose answer was lost", tid, id);
	if (err != NULL) {
		sg_err_clear(err);
		snprintf(err->msg, sizeof(err->msg), "adopted SCM order %s of "
		    "an earlier enroll whose answer was lost", id);
	}
	return SG_OK;
}

/* The CN of the CSR's subject, for the list filter; "" if none. */
static void
csr_cn(X509_REQ *req, char *cn, size_t cnsz)
{
	cn[0] = '\0';
	if (X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
	    NID_commonName, cn, (int)cnsz) <= 0)
		cn[0] = '\0';
}

/*
 * POST enroll (3.3, 3.8): the one call that orders, never sent twice
 * (4.4). SG_OK: ordered as "id". *lost: no answer came (the order may
 * exist); otherwise an error is SCM's refusal.
 */
static enum sg_rc
enroll(struct scm *s, const struct scm_enroll *e, int64_t deadline,
    char *id, bool *lost, struct sg_err *err)
{
	struct req	 q = { 0 };
	struct resp	 r = { 0 };
	char		*body = NULL;
	enum sg_rc	 rc;

	*lost = false;
	if ((rc = scm_enroll_json(e, &body, err)) != SG_OK)
		return rc;
	q.what = "enroll";
	q.call = SCM_CALL_ENROLL;
	q.method = "POST";
	q.body = body;
	q.deadline = deadline;
	snprintf(q.url, sizeof(q.url), "%s/%s/enroll", s->base, e->client ?
	    s->smime : "device/v1");
	rc = call(s, &q, &r, err);
	free(body);
	if (rc != SG_OK) {
		*lost = true;
		return rc;
	}
	if (r.http != 200 && r.http != 201)
		rc = scm_error_set(err, SCM_CALL_ENROLL, "enroll", r.http,
		    r.code, r.desc);
	else
		rc = scm_enroll_order(e->client, r.body.data, r.body.len, id,
		    err);
	sg_buf_free(&r.body);
	return rc;
}

/*
 * Order for this transaction, unless an earlier enroll of it got no
 * answer (is->lost, kept in the store across restarts): then SCM is
 * asked first, and its order adopted if found. If SCM cannot tell, no
 * second order (FAILURE: there is no order to answer PENDING with; the
 * retry asks again).
 */
static enum sg_rc
order_once(struct scm *s, const struct ra_issue *is,
    const struct scm_enroll *e, const char *cn, const char *prefix,
    const char *tid, int64_t deadline, char *id, bool *adopted,
    struct sg_err *err)
{
	struct sg_err	 fe;
	char		 why[sizeof(fe.msg)];
	bool		 lost;
	enum sg_rc	 rc;

	*adopted = false;
	if (is->lost) {
		rc = find_order(s, e, cn, prefix, deadline, id, &fe);
		if (rc == SG_OK) {
			told(is, tid, id);
			*adopted = true;
			return SG_OK;
		}
		if (rc != SG_ENOTFOUND)
			return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
			    "an earlier enroll got no answer and SCM cannot "
			    "tell whether it ordered (%s): not ordering again",
			    fe.msg);
		sg_log(SG_LOG_INFO, "scm: transid=%s: SCM has no order from "
		    "the enroll whose answer was lost: ordering", tid);
	}
	/* Durable before the enroll leaves: a crash now is a lost answer. */
	if (mark(is, NULL) != SG_OK)
		return sg_err_set(err, SG_ESTORE, "the order in flight could "
		    "not be recorded: not ordering");
	rc = enroll(s, e, deadline, id, &lost, err);
	if (!lost) {
		told(is, tid, rc == SG_OK ? id : "");
		return rc;
	}
	snprintf(why, sizeof(why), "%s", err != NULL ? err->msg : "");
	sg_log(SG_LOG_WARN, "scm: transid=%s: enroll: %s: looking the order "
	    "up at SCM", tid, why);
	rc = find_order(s, e, cn, prefix, ra_http_now_ms() + SCM_FIND_MS, id,
	    &fe);
	if (rc == SG_OK) {
		told(is, tid, id);
		*adopted = true;
		return SG_OK;
	}
	return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST, "SCM enroll "
	    "got no answer (%s) and %s: a retry looks again before ordering",
	    why, rc == SG_ENOTFOUND ? "SCM lists no order yet" :
	    "SCM cannot tell whether it ordered");
}

static enum sg_rc
scm_issue(struct ra_up *up, const struct ra_issue *is, X509 **out,
    char *order, struct sg_err *err)
{
	struct scm		*s = up->priv;
	const struct ra_issuance *a = is->with;
	struct scm_person	 person;
	struct scm_enroll	 e = { 0 };
	char			 tid[P7_TRANSID_MAX + 1], cn[65];
	char			 prefix[SCM_PREFIX_MAX];
	char			 comments[SCM_PREFIX_MAX + RA_NAME_MAX + 16];
	char			 id[RA_ORDER_MAX];
	bool			 client = is_client(is->ep->type), adopted;
	int64_t			 deadline, end;
	X509			*x = NULL;
	enum sg_rc		 rc = SG_OK;
	size_t			 i;

	if (a->org[0] == '\0')
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST, "SCM "
		    "needs an organization, a profile and a term");
	deadline = ra_http_now_ms() + (int64_t)s->u->timeout * 1000;
	if (client && (rc = scm_person_from_csr(is->csr->req, &person, err)) !=
	    SG_OK)
		return rc;
	if ((rc = org_id(s, a, deadline, &e.org_id, err)) != SG_OK ||
	    (rc = profile_id(s, client, a, deadline, &e.cert_type, err)) !=
	    SG_OK)
		return rc;
	sg_safe_str(is->transid, tid, sizeof(tid));
	scm_comments_prefix(is->transid, is->ep->name, prefix, sizeof(prefix));
	snprintf(comments, sizeof(comments), "%s account %s", prefix,
	    a->account[0] != '\0' ? a->account : "(endpoint)");
	e.client = client;
	e.term = a->term_days > 0 ? a->term_days : 365;
	e.comments = comments;
	e.csr = is->csr->req;
	e.person = client ? &person : NULL;
	csr_cn(is->csr->req, cn, sizeof(cn));
	if ((rc = order_once(s, is, &e, cn, prefix, tid, deadline, id,
	    &adopted, err)) != SG_OK)
		return rc;
	if (adopted) {
		*out = NULL;
		return adopt(tid, id, order, err);
	}
	/* Recorded with the transaction even if the order dies below. */
	snprintf(order, RA_ORDER_MAX, "%s", id);
	sg_log(SG_LOG_INFO, "scm: transid=%s: %s certificate ordered as %s "
	    "(orgId %ld, certType %ld, term %d)", tid, client ? "client" :
	    "device", id, e.org_id, e.cert_type, e.term);

	/* A short wait (6.2), then PENDING: a worker is not held long. */
	end = ra_http_now_ms() + SCM_QUICK_MS;
	for (i = 0; i < sizeof(quick_ms) / sizeof(quick_ms[0]); i++) {
		if (ra_http_now_ms() + quick_ms[i] >= end)
			break;
		ra_http_sleep_ms(quick_ms[i]);
		if ((rc = collect_once(s, client, id, end, &x, err)) != SG_OK ||
		    x != NULL)
			break;
	}
	if (rc == SG_OK)
		*out = x;
	return rc;
}

/* Order ids come back from the database: only SCM's characters. */
static bool
order_ok(const char *id)
{
	size_t	n = strlen(id);

	return n > 0 && n < RA_ORDER_MAX &&
	    strspn(id, "0123456789abcdefABCDEF-_") == n;
}

/*
 * May "order" be collected now? CertPoll and the background collector
 * both ask, and an order waiting for approval at SCM may wait for hours:
 * each order is asked at most once per scm_poll_wait_ms(), which grows
 * from poll_interval to 64 times that.
 */
static bool
poll_due(struct scm *s, const char *order)
{
	struct scm_poll	*p;
	int64_t		 now = ra_http_now_ms();
	size_t		 i;
	bool		 due = true;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->npolls; i++) {
		p = &s->polls[i];
		if (strcmp(p->order, order) != 0)
			continue;
		if (now < p->next)
			due = false;
		else
			p->next = now + scm_poll_wait_ms(s->u->poll_interval,
			    p->n++);
		break;
	}
	if (i == s->npolls) {
		/* Orders older than a week are forgotten, not kept forever. */
		for (i = 0; i < s->npolls; i++)
			if (now - s->polls[i].next > 7 * 86400 * 1000LL)
				s->polls[i--] = s->polls[--s->npolls];
		p = reallocarray(s->polls, s->npolls + 1, sizeof(*p));
		if (p != NULL) {
			s->polls = p;
			p = &s->polls[s->npolls++];
			snprintf(p->order, sizeof(p->order), "%s", order);
			p->n = 1;
			p->next = now + scm_poll_wait_ms(s->u->poll_interval, 0);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return due;
}

/* A finished order needs no more pacing. */
static void
poll_done(struct scm *s, const char *order)
{
	size_t	i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->npolls; i++)
		if (strcmp(s->polls[i].order, order) == 0) {
			s->polls[i] = s->polls[--s->npolls];
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

static enum sg_rc
scm_collect(struct ra_up *up, const struct ra_endpoint *ep,
    const char *order, X509 **out, struct sg_err *err)
{
	struct scm	*s = up->priv;
	X509		*x = NULL;
	enum sg_rc	 rc;

	if (!order_ok(order))
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "not an SCM order id");
	if (!poll_due(s, order)) {
		sg_log(SG_LOG_DEBUG, "scm: order %s: asked again later", order);
		*out = NULL;
		return SG_OK;
	}
	rc = collect_once(s, is_client(ep->type), order, ra_http_now_ms() +
	    (int64_t)s->u->timeout * 1000, &x, err);
	if (rc != SG_OK || x != NULL)
		poll_done(s, order);
	if (rc == SG_OK)
		*out = x;
	return rc;
}

/*
 * Revoke by serial (3.6): the serial alone does not say whether it is a
 * device or a client certificate, so ask the device API first.
 */
static enum sg_rc
scm_revoke(struct ra_up *up, const char *serial, int reason,
    struct sg_err *err)
{
	struct scm	*s = up->priv;
	struct req	 q = { 0 };
	struct resp	 r;
	char		 colon[200], body[96];
	enum scm_class	 c;
	enum sg_rc	 rc;
	int		 fam;

	if (reason != 0 && reason != 1 && reason != 3 && reason != 4 &&
	    reason != 5)
		return sg_err_set(err, SG_EPOLICY, "SCM revokes only for "
		    "unspecified, keyCompromise, affiliationChanged, "
		    "superseded or cessationOfOperation");
	if (!scm_serial_colon(serial, colon, sizeof(colon)))
		return sg_err_set(err, SG_EPARSE, "serial %s: not hex",
		    serial);
	snprintf(body, sizeof(body), "{\"reasonCode\":%d,\"reason\":"
	    "\"revoked with scepgate\"}", reason);
	q.what = "revoke";
	q.call = SCM_CALL_REVOKE;
	q.method = "POST";
	q.body = body;
	q.replay = true;	/* a second revoke answers -159: done */
	q.deadline = ra_http_now_ms() + (int64_t)s->u->timeout * 1000;
	for (fam = 0; fam < 2; fam++) {
		snprintf(q.url, sizeof(q.url), "%s/%s/revoke/serial/%s",
		    s->base, fam == 0 ? "device/v1" : s->smime, colon);
		if ((rc = call(s, &q, &r, err)) != SG_OK)
			return rc;
		c = scm_classify(SCM_CALL_REVOKE, r.http, r.code);
		if (c == SCM_C_OK || c == SCM_C_DONE) {
			sg_log(SG_LOG_INFO, "scm: serial %s revoked at SCM%s",
			    colon, c == SCM_C_DONE ? " (already)" : "");
			sg_buf_free(&r.body);
			return SG_OK;
		}
		if (c != SCM_C_NOTFOUND) {
			rc = scm_error_set(err, SCM_CALL_REVOKE, "revoke",
			    r.http, r.code, r.desc);
			sg_buf_free(&r.body);
			return rc;
		}
		sg_buf_free(&r.body);
	}
	return sg_err_set(err, SG_ENOTFOUND, "SCM knows no certificate with "
	    "serial %s", colon);
}

/*
 * The whole catalogue, for scepctl org sync and profile sync: the three
 * listings, each with its own timeout. Not cached: scepctl runs once.
 */
static enum sg_rc
scm_catalog(struct ra_up *up, struct ra_catalog *out, struct sg_err *err)
{
	struct scm		*s = up->priv;
	struct ra_catalog	 cat = { 0 };
	struct resp		 r;
	enum sg_rc		 rc = SG_OK;
	int			 which;

	for (which = 0; rc == SG_OK && which < NLISTS; which++) {
		if ((rc = list_get(s, which, ra_http_now_ms() +
		    (int64_t)s->u->timeout * 1000, &r, err)) != SG_OK)
			break;
		if (which == LIST_ORGS)
			rc = scm_catalog_orgs(r.body.data, r.body.len, &cat,
			    err);
		else
			rc = scm_catalog_profiles(r.body.data, r.body.len,
			    which == LIST_DEVICE ? RA_PROFILE_DEVICE :
			    RA_PROFILE_CLIENT, &cat, err);
		sg_buf_free(&r.body);
	}
	if (rc == SG_OK) {
		*out = cat;
		memset(&cat, 0, sizeof(cat));	/* the caller owns it now */
	}
	ra_catalog_free(&cat);
	return rc;
}

static void
scm_free(struct ra_up *up)
{
	struct scm	*s = up->priv;
	size_t		 i;

	if (s == NULL)
		return;
	ra_http_oauth_free(s->oauth);
	ra_http_free(s->http);
	ra_secret_free(&s->password);
	for (i = 0; i < NLISTS; i++)
		free(s->lists[i].v);
	free(s->polls);
	pthread_mutex_destroy(&s->lock);
	free(s);
	up->priv = NULL;
}

static const struct ra_up_ops scm_ops = {
	.name = "scm",
	.issue = scm_issue,
	.collect = scm_collect,
	.revoke = scm_revoke,
	.crl = NULL,		/* SCM publishes the CRL itself */
	.catalog = scm_catalog,
	.free = scm_free,
};

/* A test double on this host: no warning about plain http. */
static bool
loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 ||
	    strncmp(host, "localhost", 9) == 0 ||
	    strncmp(host, "[::1]", 5) == 0;
}

/* The HTTP client and what the login method needs, once (1.1 to 1.3). */
static enum sg_rc
open_http(struct scm *s, struct sg_err *err)
{
	const struct conf_upstream	*u = s->u;
	struct ra_http_tls		 tls = { 0 };
	struct ra_secret		 sec = { 0 };
	enum sg_rc			 rc;

	tls.ca_file = u->tls_ca_file;
	if (u->auth == CONF_SCM_AUTH_CLIENT_CERT) {
		tls.cert_file = u->client_cert;
		tls.key_file = u->client_key;
	}
	if ((rc = ra_http_new("SCM", &tls, &s->http, err)) != SG_OK)
		return rc;
	switch (u->auth) {
	case CONF_SCM_AUTH_PASSWORD:
		rc = ra_secret_read(u->password_file, "upstream.password_file",
		    SCM_SECRET_MAX, RA_SECRET_LINE, &s->password, err);
		break;
	case CONF_SCM_AUTH_CLIENT_CERT:
		break;
	case CONF_SCM_AUTH_OAUTH:
		if ((rc = ra_secret_read(u->client_secret_file,
		    "upstream.client_secret_file", SCM_SECRET_MAX,
		    RA_SECRET_LINE, &sec, err)) == SG_OK)
			rc = ra_http_oauth_new(s->http, u->token_url,
			    u->client_id, sec.data, &s->oauth, err);
		ra_secret_free(&sec);
		break;
	}
	return rc;
}

enum sg_rc
ra_up_scm_init(struct ra_up *up, const struct conf *conf, struct sg_err *err)
{
	const struct conf_upstream	*u = &conf->upstream;
	static const char *const	 auth[] = { "password", "client-cert",
					    "oauth" };
	struct scm			*s;
	enum sg_rc			 rc;
	size_t				 i;

	up->ops = &scm_ops;
	ra_json_wipe_install();	/* the enroll JSON holds the CSR */
	if ((up->priv = s = calloc(1, sizeof(*s))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "SCM upstream");
	pthread_mutex_init(&s->lock, NULL);
	s->u = u;
	for (i = 0; i < NLISTS; i++)
		s->lists[i].at = -1;
	s->ttl = (int64_t)u->poll_interval * 12;
	scm_base_url(u->url, u->auth == CONF_SCM_AUTH_CLIENT_CERT, s->base,
	    sizeof(s->base));
	snprintf(s->smime, sizeof(s->smime), "smime/v%d",
	    u->smime_api_version == 2 ? 2 : 1);
	/* The issuing CA, for full-chain replies and GetCACert. */
	if ((rc = ra_pem_read_certs(u->ca_chain, up->chain, err)) != SG_OK)
		return rc;
	if (sk_X509_num(up->chain) == 0)
		return sg_err_set(err, SG_ECONF, "%s: no certificate",
		    u->ca_chain);
	if ((rc = open_http(s, err)) != SG_OK)
		return rc;
	if (strncmp(s->base, "http://", 7) == 0 &&
	    u->auth != CONF_SCM_AUTH_CLIENT_CERT && !loopback(s->base + 7))
		sg_log(SG_LOG_WARN, "scm: %s is plain http: the credentials "
		    "travel unencrypted", s->base);
	sg_log(SG_LOG_DEBUG, "scm: %s, auth %s as %s", s->base, auth[u->auth],
	    u->auth == CONF_SCM_AUTH_OAUTH ? u->client_id : u->login);
	return SG_OK;
}
