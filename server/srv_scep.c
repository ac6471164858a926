/*
 * Routes: /healthz and /scep/<uri-extension>[/...]?operation=... (RFC
 * 8894 4), and NDES's /certsrv/mscep/mscep.dll[/pkiclient.exe] for the
 * endpoint named by listen.ndes_endpoint. One ra/ call per request;
 * this file only picks the HTTP status: 404 for an unknown endpoint,
 * 400 for what is not SCEP at all, 413 for a body over the limit, 500
 * for server faults. SCEP-level errors travel inside 200 replies as
 * signed FAILURE CertReps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ra.h"
#include "srv.h"
#include "srv_int.h"

static void
text(struct srv_answer *a, int status, const char *msg)
{
	size_t	n = strlen(msg);

	a->status = status;
	a->ctype = "text/plain";
	if ((a->body = malloc(n + 1)) == NULL) {
		a->len = 0;
		return;
	}
	memcpy(a->body, msg, n);
	a->body[n] = '\n';
	a->len = n + 1;
}

/*
 * GET /healthz: 200 {"status":"ok","database":"ok"} when the database
 * answers (ra_health), else 503 {"status":"degraded","database":
 * "<reason>"}, so that a load balancer sends no request to an instance
 * that cannot answer it.
 */
static void
health(struct ra *ra, struct srv_answer *a)
{
	struct sg_err	 err;
	char		 why[sizeof(err.msg)], *body;
	size_t		 i, n;
	bool		 ok;

	sg_err_clear(&err);
	ok = ra_health(ra, &err) == SG_OK;
	/* A JSON string: no quote, backslash or control character. */
	for (i = 0; err.msg[i] != '\0' && i + 1 < sizeof(why); i++)
		why[i] = err.msg[i] == '"' || err.msg[i] == '\\' ||
		    (unsigned char)err.msg[i] < 0x20 ? ' ' : err.msg[i];
	why[i] = '\0';
	n = strlen(why) + 64;
	a->status = ok ? 200 : 503;
	a->ctype = "application/json";
	a->len = 0;
	if ((body = malloc(n)) == NULL)
		return;
	if (ok)
		snprintf(body, n, "{\"status\":\"ok\",\"database\":"
		    "\"ok\"}\n");
	else
		snprintf(body, n, "{\"status\":\"degraded\",\"database\":"
		    "\"%s\"}\n", why[0] != '\0' ? why : "failed");
	a->body = (uint8_t *)body;
	a->len = strlen(body);
	if (!ok)
		sg_log(SG_LOG_WARN, "healthz: database: %s", why);
}

/* An ra/ result as HTTP. */
static void
from_ra(struct srv_answer *a, enum sg_rc rc, struct ra_reply *r,
    const struct sg_err *err)
{
	switch (rc) {
	case SG_OK:
		a->status = 200;
		a->ctype = r->ctype;
		a->body = r->body;
		a->len = r->len;
		a->msg_type = r->msg_type;
		a->outcome = r->outcome;
		a->failinfo = r->failinfo;
		r->body = NULL;
		return;
	case SG_ENOTFOUND:
		text(a, 404, err->msg[0] ? err->msg : "not found");
		return;
	case SG_EPARSE:
	case SG_ELIMIT:
		text(a, 400, err->msg);
		return;
	case SG_ESTORE:		/* the server failed, not the request: */
	case SG_EINTERNAL:	/* no SCEP answer blames the device */
	case SG_ENOMEM:
	default:
		sg_log(SG_LOG_ERR, "SCEP: %s: %s", sg_strerror(rc), err->msg);
		text(a, 500, "internal error");
		return;
	}
}

/* PKIOperation: the DER from the POST body or the GET "message". */
static void
pkioperation(const struct conf *conf, struct ra *ra, const char *ext,
    const struct srv_request *in, struct srv_answer *a)
{
	struct ra_reply	 r = { 0 };
	struct sg_err	 err;
	char		*msg = NULL;
	uint8_t		*der = NULL;
	size_t		 msglen = 0, len = 0;
	enum sg_rc	 rc;

	sg_err_clear(&err);
	if (strcmp(in->method, "POST") == 0) {
		if (in->too_large) {
			text(a, 413, "request body too large");
			return;
		}
		rc = ra_pkiop(ra, ext, in->body, in->body_len, in->peer, &r,
		    &err);
		from_ra(a, rc, &r, &err);
		ra_reply_free(&r);
		return;
	}
	rc = srv_query_get(in->query, "message", 2 * conf->max_body, &msg,
	    &msglen);
	if (rc == SG_ELIMIT) {
		text(a, 413, "message too large");
		goto out;
	}
	if (rc != SG_OK) {
		text(a, 400, "PKIOperation: missing or malformed message");
		goto out;
	}
	if (sg_b64_decode(msg, msglen, conf->max_body, &der, &len, &err) !=
	    SG_OK) {
		text(a, err.rc == SG_ELIMIT ? 413 : 400, err.msg);
		goto out;
	}
	rc = ra_pkiop(ra, ext, der, len, in->peer, &r, &err);
	from_ra(a, rc, &r, &err);
out:
	ra_reply_free(&r);
	free(der);
	free(msg);
}

/* NDES's SCEP path; clients append /pkiclient.exe as to any base URL. */
static bool
ndes_path(const char *path)
{
	return strcmp(path, "/certsrv/mscep/mscep.dll") == 0 ||
	    strcmp(path, "/certsrv/mscep/mscep.dll/pkiclient.exe") == 0;
}

/*
 * The URI extension a path names: /scep/EXT, or on NDES's path that of
 * listen.ndes_endpoint (read from the store: endpoints change live).
 */
static bool
path_ext(const struct conf *conf, struct ra *ra, const char *path,
    char *ext, size_t extsz)
{
	struct ra_endpoint	ep;
	struct sg_err		err;

	if (srv_path_endpoint(path, ext, extsz))
		return true;
	if (conf->listen_ndes_endpoint[0] == '\0' || !ndes_path(path) ||
	    ra_endpoint_get(ra, conf->listen_ndes_endpoint, &ep, &err) !=
	    SG_OK)
		return false;
	snprintf(ext, extsz, "%s", ep.uri);
	return true;
}

/*
 * Can this PKIOperation wait on the network (ra_pkiop_may_wait: an SCM
 * upstream, Intune, an endpoint's challenge webhook)? If not, every step
 * is CPU and the store: answering on libmicrohttpd's thread saves two
 * thread hand-offs per enrollment (bench/RESULTS.md).
 */
static bool
may_wait(const struct conf *conf, struct ra *ra, const char *path)
{
	char	ext[RA_NAME_MAX];

	if (!path_ext(conf, ra, path, ext, sizeof(ext)))
		return false;		/* 404, at once */
	return ra_pkiop_may_wait(ra, ext);
}

bool
srv_scep_is_slow(const struct conf *conf, struct ra *ra,
    const struct srv_request *in)
{
	char	*op = NULL;
	size_t	 oplen;
	bool	 slow;

	if (strncmp(in->path, "/scep/", 6) != 0 && !ndes_path(in->path))
		return false;
	if (strcmp(in->method, "POST") == 0)
		slow = !in->too_large;
	else if (srv_query_get(in->query, "operation", 64, &op, &oplen) !=
	    SG_OK)
		return false;
	else {
		slow = strcmp(op, "PKIOperation") == 0;
		free(op);
	}
	/* Only a PKIOperation pays for the endpoint look-up. */
	return slow && may_wait(conf, ra, in->path);
}

void
srv_scep_answer(const struct conf *conf, struct ra *ra,
    const struct srv_request *in, struct srv_answer *a)
{
	struct ra_reply	 r = { 0 };
	struct sg_err	 err;
	char		 ext[RA_NAME_MAX];
	char		*op = NULL;
	size_t		 oplen;
	enum sg_rc	 rc;

	sg_err_clear(&err);
	a->op = NULL;
	if (strcmp(in->method, "GET") != 0 && strcmp(in->method, "POST") != 0 &&
	    strcmp(in->method, "HEAD") != 0) {
		text(a, 405, "method not allowed");
		return;
	}
	if (strcmp(in->path, "/healthz") == 0) {
		health(ra, a);
		return;
	}
	if (!path_ext(conf, ra, in->path, ext, sizeof(ext))) {
		text(a, 404, "not found");
		return;
	}
	rc = srv_query_get(in->query, "operation", 64, &op, &oplen);
	if (rc == SG_ENOTFOUND && strcmp(in->method, "POST") == 0) {
		/* RFC 8894 4.3: many CAs do not check it on POST. */
		a->op = "PKIOperation";
	} else if (rc != SG_OK) {
		text(a, 400, "missing operation");
		return;
	} else if (strcmp(op, "GetCACaps") == 0)
		a->op = "GetCACaps";
	else if (strcmp(op, "GetCACert") == 0 || strcmp(op, "GetCAChain") == 0)
		a->op = "GetCACert";	/* certmonger asks for GetCAChain */
	else if (strcmp(op, "PKIOperation") == 0)
		a->op = "PKIOperation";
	else if (strcmp(op, "GetNextCACert") == 0)
		a->op = "GetNextCACert";
	free(op);
	if (a->op == NULL) {
		text(a, 400, "unknown operation");
		return;
	}
	if (strcmp(a->op, "GetCACaps") == 0)
		rc = ra_getcacaps(ra, ext, &r, &err);
	else if (strcmp(a->op, "GetCACert") == 0)
		rc = ra_getcacert(ra, ext, &r, &err);
	else if (strcmp(a->op, "GetNextCACert") == 0)
		rc = ra_getnextcacert(ra, ext, &r, &err);
	else {
		pkioperation(conf, ra, ext, in, a);
		goto out;
	}
	from_ra(a, rc, &r, &err);
	ra_reply_free(&r);
out:
	/*
	 * ra/ answered, so the endpoint exists and its URI extension may
	 * label the metrics; a client's made-up path never does.
	 */
	if (a->status == 200)
		snprintf(a->endpoint, sizeof(a->endpoint), "%s", ext);
}
