/*
 * libmicrohttpd front end: one struct req per request, bounded bodies,
 * the raw URI kept for the query (libmicrohttpd would turn a raw '+'
 * into a space, scep-interop.md 1.3), one log line per request.
 * PKIOperations suspend their connection and run on a worker
 * (srv_work.c); everything else is answered on libmicrohttpd's threads.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "conf.h"
#include "ra.h"
#include "srv.h"
#include "srv_int.h"

/* Worker threads and queue length: RSA work plus upstream waits. */
#define SRV_QUEUE	4096

struct srv {
	struct MHD_Daemon	*mhd;
	const struct conf	*conf;
	struct ra		*ra;
	struct srv_work		*work;
	struct srv_metrics	*metrics;
};

enum req_state {
	REQ_HEADERS = 0,	/* the first call: headers only */
	REQ_BODY,		/* receiving the body */
	REQ_RUNNING,		/* suspended, on a worker */
	REQ_DONE,		/* answer ready, connection resumed */
};

/* Per request; freed by request_done(). */
struct req {
	struct srv_job		 job;	/* first: the worker's handle */
	struct srv		*srv;
	struct MHD_Connection	*con;
	char			*raw_uri;	/* path and query as sent */
	char			*path;
	char			 method[16];
	char			 peer[64];
	char			 reqid[SG_REQID_MAX + 1];
	struct sg_buf		 body;
	bool			 too_large;
	enum req_state		 state;
	struct srv_request	 in;
	struct srv_answer	 out;
	struct timespec		 start;
};

static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct srv	*srv = cls;
	struct req	*req;

	(void)con;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->srv = srv;
	req->raw_uri = strdup(uri);
	req->body.max = srv->conf->max_body;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	return req;
}

static void
request_done(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req	*req = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (req == NULL)
		return;
	free(req->raw_uri);
	free(req->path);
	free(req->out.body);
	sg_buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

static void
peer_name(struct MHD_Connection *con, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, outsz, "?");
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, out, (socklen_t)outsz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, out, (socklen_t)outsz);
}

static long
elapsed_us(const struct timespec *start)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000000 +
	    (now.tv_nsec - start->tv_nsec) / 1000;
}

/*
 * The request id (docs/operations.md, "Logs"): a caller's X-Request-ID
 * when it is 1-64 characters of [A-Za-z0-9._:-], which keeps it safe in
 * log lines, JSON, the audit and upstream headers; else 16 random hex
 * digits. A failed getrandom() still gives an id, from the clock.
 */
static void
request_id(struct MHD_Connection *con, char *out, size_t outsz)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._:-";
	const char	*in;
	uint8_t		 raw[8];
	uint64_t	 t;
	struct timespec	 ts;
	size_t		 n;

	in = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    "X-Request-ID");
	if (in != NULL && (n = strlen(in)) > 0 && n <= SG_REQID_MAX &&
	    in[strspn(in, ok)] == '\0') {
		snprintf(out, outsz, "%s", in);
		return;
	}
	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != sizeof(raw)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		memcpy(raw, &t, sizeof(raw));
	}
	if (outsz > 2 * sizeof(raw))
		sg_hex(raw, sizeof(raw), out);
}

/* Send the answer (its body is handed to libmicrohttpd) and log it. */
static enum MHD_Result
send_answer(struct req *req)
{
	struct srv_answer	*a = &req->out;
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			 safe[160];
	long			 us = elapsed_us(&req->start);

	srv_metrics_count(req->srv->metrics, a, us);
	sg_safe_str(req->path, safe, sizeof(safe));
	sg_log_reqid_set(req->reqid);
	sg_log(SG_LOG_INFO, "peer=%s %s %s op=%s status=%d bytes=%zu us=%ld",
	    req->peer, req->method, safe, a->op != NULL ? a->op : "-",
	    a->status, a->len, us);
	sg_log_reqid_set(NULL);
	resp = MHD_create_response_from_buffer(a->len, a->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	a->body = NULL;		/* libmicrohttpd frees it */
	MHD_add_response_header(resp, "X-Request-ID", req->reqid);
	if (a->ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    a->ctype);
	if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    "GET, POST, HEAD");
	ret = MHD_queue_response(req->con, (unsigned int)a->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* On a worker: answer, then hand the connection back. */
static void
run_job(struct srv_job *job)
{
	struct req	*req = (struct req *)(void *)job;

	sg_log_reqid_set(req->reqid);
	srv_scep_answer(req->srv->conf, req->srv->ra, &req->in, &req->out);
	sg_log_reqid_set(NULL);
	req->state = REQ_DONE;
	MHD_resume_connection(req->con);
}

static void
answer_text(struct srv_answer *a, int status, const char *ctype,
    const char *text)
{
	size_t	n = strlen(text);

	a->status = status;
	a->ctype = ctype;
	if ((a->body = malloc(n + 1)) != NULL) {
		memcpy(a->body, text, n + 1);
		a->len = n;
	}
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct srv	*srv = cls;
	struct req	*req = *con_cls;
	const char	*q;

	(void)version;
	if (req == NULL)
		return MHD_NO;	/* out of memory in uri_logger */
	switch (req->state) {
	case REQ_HEADERS:
		/* The first call has the headers only; the body follows. */
		req->state = REQ_BODY;
		req->con = con;
		return MHD_YES;
	case REQ_RUNNING:
		return MHD_YES;	/* spurious: still on a worker */
	case REQ_DONE:
		return send_answer(req);
	case REQ_BODY:
		break;
	}
	if (*upload_data_size > 0) {
		/* Bounded: past max_body, drain and answer 413 at the end. */
		if (!req->too_large && sg_buf_add(&req->body, upload_data,
		    *upload_data_size) != SG_OK)
			req->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	peer_name(con, req->peer, sizeof(req->peer));
	request_id(con, req->reqid, sizeof(req->reqid));
	snprintf(req->method, sizeof(req->method), "%s", method);
	if ((req->path = strdup(url)) == NULL)
		return MHD_NO;
	q = req->raw_uri != NULL ? strchr(req->raw_uri, '?') : NULL;
	req->in.path = req->path;
	req->in.query = q != NULL ? q + 1 : "";
	req->in.method = req->method;
	req->in.body = req->body.data;
	req->in.body_len = req->body.len;
	req->in.too_large = req->too_large;
	req->in.peer = req->peer;
	if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0) {
		req->out.op = "health";
		req->out.status = 200;
		req->out.ctype = "text/plain; version=0.0.4";
		if (srv_metrics_text(srv->metrics, &req->out.body,
		    &req->out.len) != SG_OK)
			answer_text(&req->out, 500, "text/plain",
			    "internal error\n");
		return send_answer(req);
	}
	if (!srv_scep_is_slow(&req->in)) {
		sg_log_reqid_set(req->reqid);
		srv_scep_answer(srv->conf, srv->ra, &req->in, &req->out);
		sg_log_reqid_set(NULL);
		return send_answer(req);
	}
	req->job.run = run_job;
	req->state = REQ_RUNNING;
	MHD_suspend_connection(con);
	if (!srv_work_submit(srv->work, &req->job)) {
		srv_metrics_busy(srv->metrics);
		req->out.op = "PKIOperation";
		answer_text(&req->out, 503, "text/plain", "server busy, retry "
		    "later\n");
		req->state = REQ_DONE;
		MHD_resume_connection(con);
	}
	return MHD_YES;
}

enum sg_rc
srv_start(const struct conf *conf, struct ra *ra, struct srv **out,
    struct sg_err *err)
{
	struct srv		*srv;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		*sa;
	unsigned int		 flags;
	enum sg_rc		 rc;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (inet_pton(AF_INET, conf->listen_address, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)conf->listen_port);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, conf->listen_address,
	    &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)conf->listen_port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else
		return sg_err_set(err, SG_ECONF, "listen.address '%s' is not "
		    "an IP address", conf->listen_address);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "server");
	srv->conf = conf;
	srv->ra = ra;
	if ((rc = srv_metrics_new(&srv->metrics, err)) != SG_OK) {
		free(srv);
		return rc;
	}
	if ((rc = srv_work_start(ra, (size_t)conf->workers, SRV_QUEUE,
	    ra_poll_interval(ra), &srv->work, err)) != SG_OK) {
		srv_metrics_free(srv->metrics);
		free(srv);
		return rc;
	}
	srv->mhd = MHD_start_daemon(flags, (uint16_t)conf->listen_port,
	    NULL, NULL, handler, srv,
	    MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)conf->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)conf->connection_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    /*
	     * libmicrohttpd clears this per request on kept-alive
	     * connections, and 1,000 connections hold it each: 48 KiB takes
	     * a GET PKIOperation of a 4096-bit request with its chain
	     * (scep-interop.md 1.3: 3.5-8 KB); longer URIs get 414. POST
	     * bodies do not use it (srv_http.c collects them).
	     */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(48 * 1024),
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		srv_work_stop(srv->work);
		srv_metrics_free(srv->metrics);
		free(srv);
		return sg_err_set(err, SG_EIO, "cannot listen on %s:%d",
		    conf->listen_address, conf->listen_port);
	}
	*out = srv;
	return SG_OK;
}

void
srv_stop(struct srv *srv)
{
	if (srv == NULL)
		return;
	/* Suspended connections must be resumed before the daemon stops. */
	MHD_quiesce_daemon(srv->mhd);
	srv_work_drain(srv->work);
	MHD_stop_daemon(srv->mhd);
	srv_work_stop(srv->work);
	srv_metrics_free(srv->metrics);
	free(srv);
}
