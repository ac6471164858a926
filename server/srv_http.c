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
#include <unistd.h>

#include <stdatomic.h>
#include <stdarg.h>
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

/*
 * One TCP connection, from accept to close, kept for the deadlines and
 * the idle cap (libmicrohttpd's own timeout is reset by every byte).
 */
enum conn_state {
	CONN_WAIT = 0,	/* no complete request headers: new, kept alive, slow */
	CONN_BODY,	/* headers in, receiving the body */
	CONN_BUSY,	/* request in, being answered */
	CONN_CUT,	/* shut down by us; libmicrohttpd closes it */
};

struct conn {
	struct conn		*prev;	/* in the list of its state */
	struct conn		*next;
	int			 fd;
	enum conn_state		 state;
	long long		 since;	/* ms (monotonic): entered the state */
};

/* Oldest first: appended on entry, so the head expires first. */
struct conn_list {
	struct conn		*head;
	struct conn		*tail;
	size_t			 n;
};

/*
 * Every connection in CONN_WAIT or CONN_BODY, under "lock": the notify
 * callbacks run on each libmicrohttpd thread, the reaper on its own.
 * libmicrohttpd reports MHD_CONNECTION_NOTIFY_CLOSED before it closes
 * the socket, so an fd found here under the lock is still ours to
 * shutdown(); it then sees end-of-file and closes the connection.
 */
struct conns {
	pthread_mutex_t		 lock;
	struct conn_list	 wait;
	struct conn_list	 body;
	size_t			 max_wait;	/* limits.idle_connections */
	long long		 header_ms;
	long long		 body_ms;
	pthread_t		 reaper;
	bool			 reaping;	/* the thread was started */
	atomic_bool		 stop;
	atomic_ulong		 cut_idle;	/* for the log at stop */
	atomic_ulong		 cut_late;
	atomic_llong		 log_sec;	/* mhd_log(): last line's second */
	atomic_ulong		 log_dropped;
};

/* Earlier HTTPS listeners kept until their connections are done. */
#define SRV_TLS_OLD	8

/* An HTTPS daemon and the files it was started with. */
struct srv_listener {
	struct MHD_Daemon	*mhd;
	struct srv_tls		 tls;
};

struct srv {
	struct MHD_Daemon	*mhd;
	struct srv_listener	 tls;		/* .mhd NULL: no HTTPS */
	struct srv_listener	 admin;		/* .mhd NULL: no admin API */
	struct srv_listener	 old[SRV_TLS_OLD];	/* quiesced */
	size_t			 nold;
	const struct conf	*conf;
	struct ra		*ra;
	struct srv_work		*work;
	struct srv_metrics	*metrics;
	struct conns		 conns;
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
	bool			 admin;		/* on the admin listener */
	enum req_state		 state;
	struct srv_request	 in;
	struct srv_answer	 out;
	struct timespec		 start;
};

/* How often the reaper looks for connections past their deadline. */
#define CONN_TICK_MS	250

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct conn_list *
conn_list_of(struct conns *cs, enum conn_state state)
{
	if (state == CONN_WAIT)
		return &cs->wait;
	if (state == CONN_BODY)
		return &cs->body;
	return NULL;
}

static void
conn_unlink(struct conns *cs, struct conn *c)
{
	struct conn_list	*l = conn_list_of(cs, c->state);

	if (l == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static void
conn_append(struct conns *cs, struct conn *c)
{
	struct conn_list	*l = conn_list_of(cs, c->state);

	if (l == NULL)
		return;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

/* Caller holds the lock. The reply side of the socket closes too. */
static void
conn_cut(struct conns *cs, struct conn *c)
{
	conn_unlink(cs, c);
	c->state = CONN_CUT;
	shutdown(c->fd, SHUT_RDWR);
}

/*
 * Move "c" to "state" (never out of CONN_CUT). Entering CONN_WAIT past
 * limits.idle_connections closes the oldest waiting connection: a new
 * client always finds room, and a slow one is the first to go.
 */
static void
conn_set(struct conns *cs, struct conn *c, enum conn_state state)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	if (c->state != CONN_CUT) {
		conn_unlink(cs, c);
		c->state = state;
		c->since = now_ms();
		conn_append(cs, c);
		while (cs->wait.n > cs->max_wait) {
			conn_cut(cs, cs->wait.head);
			atomic_fetch_add(&cs->cut_idle, 1);
		}
	}
	pthread_mutex_unlock(&cs->lock);
}

/* The struct conn of a libmicrohttpd connection; NULL if none. */
static struct conn *
conn_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection is accepted or closed. */
static void
conn_notify(void *cls, struct MHD_Connection *con, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct conns			*cs = cls;
	struct conn			*c = *socket_context;
	const union MHD_ConnectionInfo	*ci;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c == NULL)
			return;
		pthread_mutex_lock(&cs->lock);
		conn_unlink(cs, c);
		pthread_mutex_unlock(&cs->lock);
		free(c);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return;		/* untracked: only the MHD timeout applies */
	c->fd = ci->connect_fd;
	c->state = CONN_BUSY;	/* in no list until conn_set() */
	*socket_context = c;
	conn_set(cs, c, CONN_WAIT);
}

/* Cut the connections of list "l" that entered it before "before". */
static void
conn_expire(struct conns *cs, struct conn_list *l, long long before)
{
	while (l->head != NULL && l->head->since < before) {
		conn_cut(cs, l->head);
		atomic_fetch_add(&cs->cut_late, 1);
	}
}

/* The reaper thread: total deadlines for the headers and the body. */
static void *
conn_reaper(void *arg)
{
	struct conns		*cs = arg;
	struct timespec		 tick = { 0, CONN_TICK_MS * 1000000L };
	long long		 now;

	while (!atomic_load(&cs->stop)) {
		nanosleep(&tick, NULL);
		now = now_ms();
		pthread_mutex_lock(&cs->lock);
		conn_expire(cs, &cs->wait, now - cs->header_ms);
		conn_expire(cs, &cs->body, now - cs->body_ms);
		pthread_mutex_unlock(&cs->lock);
	}
	return NULL;
}

/*
 * libmicrohttpd's messages (MHD_OPTION_EXTERNAL_LOGGER). It writes one
 * per refused connection, so a flood of connections would flood the log
 * too: at most one line a second, with the count of those left out.
 */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct conns	*cs = cls;
	long long	 now = now_ms() / 1000, last;
	char		 msg[256];

	last = atomic_load(&cs->log_sec);
	if (last == now ||
	    !atomic_compare_exchange_strong(&cs->log_sec, &last, now)) {
		atomic_fetch_add(&cs->log_dropped, 1);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	sg_log(SG_LOG_WARN, "libmicrohttpd: %s (%lu lines left out before)",
	    msg, atomic_exchange(&cs->log_dropped, 0));
}

static enum sg_rc
conns_start(struct conns *cs, const struct conf *conf, struct sg_err *err)
{
	if (pthread_mutex_init(&cs->lock, NULL) != 0)
		return sg_err_set(err, SG_ENOMEM, "connection table lock");
	cs->max_wait = (size_t)conf->idle_connections;
	cs->header_ms = (long long)conf->header_timeout * 1000;
	cs->body_ms = (long long)conf->body_timeout * 1000;
	atomic_init(&cs->stop, false);
	if (pthread_create(&cs->reaper, NULL, conn_reaper, cs) != 0) {
		pthread_mutex_destroy(&cs->lock);
		return sg_err_set(err, SG_ENOMEM, "connection reaper thread");
	}
	cs->reaping = true;
	return SG_OK;
}

/* After MHD_stop_daemon(): every connection is closed and freed. */
static void
conns_stop(struct conns *cs)
{
	if (!cs->reaping)
		return;
	atomic_store(&cs->stop, true);
	pthread_join(cs->reaper, NULL);
	cs->reaping = false;
	pthread_mutex_destroy(&cs->lock);
	sg_log(SG_LOG_INFO, "connections closed by limits.idle_connections: "
	    "%lu, by the header or body deadline: %lu",
	    atomic_load(&cs->cut_idle), atomic_load(&cs->cut_late));
}

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
	struct srv	*srv = cls;
	struct req	*req = *con_cls;

	/* A kept-alive connection waits for its next request again. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		conn_set(&srv->conns, conn_of(con), CONN_WAIT);
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
	if (a->status == MHD_HTTP_UNAUTHORIZED && a->www_auth != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    a->www_auth);
	if (a->ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    a->ctype);
	if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED && a->www_auth == NULL &&
	    strcmp(a->op != NULL ? a->op : "", "admin") != 0)
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
		conn_set(&srv->conns, conn_of(con), CONN_BODY);
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
	conn_set(&srv->conns, conn_of(con), CONN_BUSY);
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
	if (req->admin) {
		/* Admin calls are few: answered here, never queued. */
		req->in.authorization = MHD_lookup_connection_value(con,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		sg_log_reqid_set(req->reqid);
		srv_admin_answer(srv->conf, srv->ra, &req->in, &req->out);
		sg_log_reqid_set(NULL);
		return send_answer(req);
	}
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
	if (!srv_scep_is_slow(srv->conf, srv->ra, &req->in)) {
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

/* The admin listener's requests: the same path, marked for srv_admin.c. */
static enum MHD_Result
admin_handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct req	*req = *con_cls;

	if (req != NULL)
		req->admin = true;
	return handler(cls, con, url, method, version, upload_data,
	    upload_data_size, con_cls);
}

/* The address to bind for "port", and MHD_USE_IPv6 into *flags. */
static enum sg_rc
listen_addr(const char *addr, int port, struct sockaddr_storage *ss,
    unsigned int *flags, struct sg_err *err)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return SG_OK;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*flags |= MHD_USE_IPv6;
		return SG_OK;
	}
	return sg_err_set(err, SG_ECONF, "'%s' is not an IP address", addr);
}

/*
 * One daemon on "port" with the shared handler (marked "admin" for the
 * admin listener), limits and connection
 * table; HTTPS with "tls" (borrowed, kept until MHD_stop_daemon()),
 * on a SO_REUSEPORT socket so that a reload can bind the port again.
 */
static enum sg_rc
daemon_start(struct srv *srv, const char *addr, int port,
    const struct srv_tls *tls, bool admin, struct MHD_Daemon **out,
    struct sg_err *err)
{
	const struct conf	*conf = srv->conf;
	struct sockaddr_storage	 ss;
	struct MHD_OptionItem	 extra[] = {
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned int		 flags;
	enum sg_rc		 rc;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if ((rc = listen_addr(addr, port, &ss, &flags, err)) != SG_OK)
		return rc;
	if (tls != NULL) {
		flags |= MHD_USE_TLS | MHD_USE_ITC;
		extra[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
		    0, tls->cert };
		extra[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
		    0, tls->key.data };
		extra[2] = (struct MHD_OptionItem){
		    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL };
	}
	*out = MHD_start_daemon(flags, (uint16_t)port,
	    NULL, NULL, admin ? admin_handler : handler, srv,
	    /* First, or libmicrohttpd prints what comes before it itself. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &srv->conns,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)conf->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)conf->connection_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)conf->per_address,
	    /* Inactivity only; conn_reaper() enforces the total deadlines. */
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    /*
	     * Each connection keeps this pool for its request line, headers
	     * and reply headers while it lives, and a kept-alive one has
	     * touched all of it: 8 KiB (the default) keeps 10,000 idle
	     * connections near 100 MB and takes a GET message of about
	     * 7.5 KB (scep-interop.md 1.3: 3.5-8 KB; larger ones get 414
	     * or 431). POST bodies do not use it (handler() collects them).
	     */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, conf->connection_memory,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, &srv->conns,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
	    MHD_OPTION_ARRAY, extra,
	    MHD_OPTION_END);
	if (*out == NULL)
		return sg_err_set(err, SG_EIO, "cannot listen on %s:%d%s",
		    addr, port, tls != NULL ? " (HTTPS: is the tls_key the "
		    "key of the tls_cert?)" : "");
	return SG_OK;
}

/* Read listen.tls_cert and tls_key and start an HTTPS daemon with them. */
static enum sg_rc
tls_start(struct srv *srv, struct srv_listener *out, struct sg_err *err)
{
	struct srv_listener	l = { 0 };
	enum sg_rc		rc;

	if ((rc = srv_tls_read("listen", srv->conf->listen_tls_cert,
	    srv->conf->listen_tls_key, &l.tls, err)) != SG_OK)
		goto out;
	if ((rc = daemon_start(srv, srv->conf->listen_address,
	    srv->conf->listen_tls_port, &l.tls, false, &l.mhd, err)) != SG_OK)
		goto out;
	*out = l;
	memset(&l, 0, sizeof(l));	/* the caller owns it now */
out:
	srv_tls_free(&l.tls);
	return rc;
}

/*
 * The admin listener (srv_admin.c): HTTPS with admin.tls_cert and
 * tls_key, else plain HTTP (conf_load allowed it on loopback only).
 */
static enum sg_rc
admin_start(struct srv *srv, struct srv_listener *out, struct sg_err *err)
{
	const struct conf	*conf = srv->conf;
	struct srv_listener	 l = { 0 };
	bool			 tls = conf->admin_tls_cert[0] != '\0';
	enum sg_rc		 rc;

	if (tls && (rc = srv_tls_read("admin", conf->admin_tls_cert,
	    conf->admin_tls_key, &l.tls, err)) != SG_OK)
		goto out;
	if ((rc = daemon_start(srv, conf->admin_address, conf->admin_port,
	    tls ? &l.tls : NULL, true, &l.mhd, err)) != SG_OK)
		goto out;
	*out = l;
	memset(&l, 0, sizeof(l));	/* the caller owns it now */
out:
	srv_tls_free(&l.tls);
	return rc;
}

static void
tls_stop(struct srv_listener *l)
{
	if (l->mhd != NULL)
		MHD_stop_daemon(l->mhd);
	srv_tls_free(&l->tls);
	memset(l, 0, sizeof(*l));
}

/* Stop the quiesced HTTPS daemons that have no connection left. */
static void
tls_reap(struct srv *srv)
{
	const union MHD_DaemonInfo	*di;
	size_t				 i, n = 0;

	for (i = 0; i < srv->nold; i++) {
		di = MHD_get_daemon_info(srv->old[i].mhd,
		    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (di != NULL && di->num_connections == 0)
			tls_stop(&srv->old[i]);
		else
			srv->old[n++] = srv->old[i];
	}
	srv->nold = n;
}

/* A new daemon for "cur" from start(); "cur" finishes its connections. */
static enum sg_rc
relisten(struct srv *srv, struct srv_listener *cur, const char *what,
    enum sg_rc (*start)(struct srv *, struct srv_listener *,
    struct sg_err *), struct sg_err *err)
{
	struct srv_listener	next = { 0 };
	MHD_socket		fd;
	enum sg_rc		rc;

	tls_reap(srv);
	if (srv->nold == SRV_TLS_OLD)
		return sg_err_set(err, SG_ELIMIT, "%s: %d earlier listeners "
		    "still have connections; certificate not reloaded, try "
		    "again later", what, SRV_TLS_OLD);
	if ((rc = start(srv, &next, err)) != SG_OK)
		return rc;
	/*
	 * The new daemon shares the port (SO_REUSEPORT); the old one stops
	 * accepting and closes its socket, so the kernel gives every new
	 * connection to the new one, and keeps serving the connections it
	 * has until they close.
	 */
	fd = MHD_quiesce_daemon(cur->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	srv->old[srv->nold++] = *cur;
	*cur = next;
	sg_log(SG_LOG_INFO, "%s: certificate and key re-read; %zu earlier "
	    "listeners finish their connections", what, srv->nold);
	return SG_OK;
}

enum sg_rc
srv_reload(struct srv *srv, struct sg_err *err)
{
	struct sg_err	e2;
	enum sg_rc	rc = SG_OK, rc2;

	if (srv->tls.mhd != NULL)
		rc = relisten(srv, &srv->tls, "HTTPS", tls_start, err);
	if (srv->admin.tls.cert == NULL)
		return rc;
	rc2 = relisten(srv, &srv->admin, "admin HTTPS", admin_start,
	    rc == SG_OK ? err : &e2);
	return rc != SG_OK ? rc : rc2;
}

static void
srv_free(struct srv *srv)
{
	size_t	i;

	/* Suspended connections must be resumed before the daemon stops. */
	if (srv->mhd != NULL)
		MHD_quiesce_daemon(srv->mhd);
	if (srv->tls.mhd != NULL)
		MHD_quiesce_daemon(srv->tls.mhd);
	if (srv->work != NULL)
		srv_work_drain(srv->work);
	if (srv->mhd != NULL)
		MHD_stop_daemon(srv->mhd);
	tls_stop(&srv->tls);
	tls_stop(&srv->admin);
	for (i = 0; i < srv->nold; i++)
		tls_stop(&srv->old[i]);
	srv_work_stop(srv->work);
	srv_metrics_free(srv->metrics);
	conns_stop(&srv->conns);
	free(srv);
}

enum sg_rc
srv_start(const struct conf *conf, struct ra *ra, struct srv **out,
    struct sg_err *err)
{
	struct srv	*srv;
	enum sg_rc	 rc;

	if ((conf->listen_tls_port != 0 || conf->admin_tls_cert[0] != '\0') &&
	    MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return sg_err_set(err, SG_ECONF, "listen.tls_port, "
		    "admin.tls_cert: this libmicrohttpd was built without TLS "
		    "support");
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "server");
	srv->conf = conf;
	srv->ra = ra;
	if ((rc = srv_metrics_new(&srv->metrics, ra, err)) != SG_OK)
		goto out;
	if ((rc = conns_start(&srv->conns, conf, err)) != SG_OK)
		goto out;
	if ((rc = srv_work_start(ra, (size_t)conf->workers, SRV_QUEUE,
	    ra_poll_interval(ra), &srv->work, err)) != SG_OK)
		goto out;
	if ((rc = daemon_start(srv, conf->listen_address, conf->listen_port,
	    NULL, false, &srv->mhd, err)) != SG_OK)
		goto out;
	if (conf->listen_tls_port != 0 &&
	    (rc = tls_start(srv, &srv->tls, err)) != SG_OK)
		goto out;
	if (conf->admin_port != 0 &&
	    (rc = admin_start(srv, &srv->admin, err)) != SG_OK)
		goto out;
	*out = srv;
	srv = NULL;
out:
	if (srv != NULL)
		srv_free(srv);
	return rc;
}

void
srv_stop(struct srv *srv)
{
	if (srv != NULL)
		srv_free(srv);
}
