/*
 * libmicrohttpd front end: one struct req per request, bounded bodies,
 * the raw URI kept for the query (libmicrohttpd would turn a raw '+'
 * into a space, scep-interop.md 1.3), one log line per request.
 */
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

struct srv {
	struct MHD_Daemon	*mhd;
	const struct conf	*conf;
	struct ra		*ra;
};

/* Per request; freed by request_done(). */
struct req {
	char		*raw_uri;	/* path and query as sent */
	struct sg_buf	 body;
	bool		 too_large;
	bool		 headers_seen;	/* the first handler call was made */
	struct timespec	 start;
};

static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct srv	*srv = cls;
	struct req	*req;

	(void)con;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
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

/* Send "a" (whose body is taken over) with its status and type. */
static enum MHD_Result
send_answer(struct MHD_Connection *con, struct srv_answer *a)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;

	resp = MHD_create_response_from_buffer(a->len, a->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(a->body);
		a->body = NULL;
		return MHD_NO;
	}
	a->body = NULL;		/* libmicrohttpd frees it */
	if (a->ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    a->ctype);
	if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    "GET, POST, HEAD");
	ret = MHD_queue_response(con, (unsigned int)a->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static long
elapsed_us(const struct timespec *start)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000000 +
	    (now.tv_nsec - start->tv_nsec) / 1000;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct srv		*srv = cls;
	struct req		*req = *con_cls;
	struct srv_request	 in = { 0 };
	struct srv_answer	 a = { 0 };
	char			 peer[64], safe[160];
	const char		*q;
	enum MHD_Result		 ret;

	(void)version;
	if (req == NULL)
		return MHD_NO;	/* out of memory in uri_logger */
	if (!req->headers_seen) {
		/* The first call has the headers only; the body follows. */
		req->headers_seen = true;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Bounded: past max_body, drain and answer 413 at the end. */
		if (!req->too_large && sg_buf_add(&req->body, upload_data,
		    *upload_data_size) != SG_OK)
			req->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	peer_name(con, peer, sizeof(peer));
	q = req->raw_uri != NULL ? strchr(req->raw_uri, '?') : NULL;
	in.path = url;
	in.query = q != NULL ? q + 1 : "";
	in.method = method;
	in.body = req->body.data;
	in.body_len = req->body.len;
	in.too_large = req->too_large;
	in.peer = peer;
	srv_scep_answer(srv->conf, srv->ra, &in, &a);
	sg_safe_str(url, safe, sizeof(safe));
	sg_log(SG_LOG_INFO, "peer=%s %s %s op=%s status=%d bytes=%zu us=%ld",
	    peer, method, safe, a.op != NULL ? a.op : "-", a.status, a.len,
	    elapsed_us(&req->start));
	ret = send_answer(con, &a);
	return ret;
}

enum sg_rc
srv_start(const struct conf *conf, struct ra *ra, struct srv **out,
    struct sg_err *err)
{
	struct srv		*srv;
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)conf->listen_port);
	if (inet_pton(AF_INET, conf->listen_address, &sin.sin_addr) != 1)
		return sg_err_set(err, SG_ECONF, "listen.address '%s' is not "
		    "an IPv4 address", conf->listen_address);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "server");
	srv->conf = conf;
	srv->ra = ra;
	srv->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG,
	    (uint16_t)conf->listen_port, NULL, NULL, handler, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)conf->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)conf->connection_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    /* Long GET PKIOperation messages (scep-interop.md 1.3). */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(4 * conf->max_body +
	    65536),
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
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
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
