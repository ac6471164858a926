/*
 * The outbound HTTPS client (ra_http.h): a small pool of curl easy
 * handles, the TLS files read once, and the retry engine. What an
 * answer means is the caller's business; this file only knows "busy"
 * (the caller's rule, or 429 and 5xx) and "no answer".
 *
 * Header lines can hold secrets (a password, a bearer token): they are
 * formatted in a buffer that is wiped, and curl's copies are wiped too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ra.h"	/* ra_http_metrics_text() */
#include "ra_http_int.h"
#include "sg_hist.h"

#define HTTP_POOL	4			/* idle curl handles kept */
#define HTTP_BODY_MAX	(8u * 1024 * 1024)	/* an answer or a listing */
#define HTTP_PEM_MAX	(256u * 1024)		/* client cert, TLS CAs */
#define HTTP_KEY_MAX	(64u * 1024)		/* client key */
#define HTTP_CONNECT_MS	10000

struct ra_http {
	char		 name[32];	/* "SCM": logs and errors */
	bool		 curl_ok;	/* curl_global_init() done */
	struct sg_buf	 tls_ca;	/* PEM; empty: the system store */
	struct sg_buf	 cert;		/* PEM client certificate, or empty */
	struct ra_secret key;		/* its key */

	pthread_mutex_t	 lock;		/* guards the pool */
	CURL		*idle[HTTP_POOL];
	size_t		 nidle;
};

int64_t
ra_http_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ra_http_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- the pure parts ---- */

long
ra_http_retry_after(const char *value, time_t now)
{
	long	v;
	time_t	t;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (sg_parse_long(value, 0, 86400, &v))
		return v;
	if ((t = curl_getdate(value, NULL)) == -1)
		return -1;
	return t > now ? (long)(t - now) : 0;
}

long
ra_http_backoff_ms(unsigned attempt, long retry_after, unsigned rnd)
{
	long	base = 8000, wait;

	if (attempt < 4)
		base = 500L << attempt;
	/* "Equal jitter": half fixed, half random, so threads spread out. */
	wait = base / 2 + (long)(rnd % (unsigned)(base / 2 + 1));
	if (retry_after >= 0 && wait < retry_after * 1000)
		wait = retry_after * 1000;
	return wait;
}

bool
ra_http_busy_default(long http, const uint8_t *body, size_t len, void *arg)
{
	(void)body;
	(void)len;
	(void)arg;
	return http == 429 || (http >= 500 && http < 600);
}

/* ---- files ---- */

/* A public PEM file (client certificate, TLS CAs), read once. */
static enum sg_rc
read_pem(const char *path, const char *name, const char *what,
    struct sg_buf *b, struct sg_err *err)
{
	FILE	*fp;
	char	 chunk[4096];
	size_t	 n;
	enum sg_rc rc = SG_OK;

	b->max = HTTP_PEM_MAX;
	if ((fp = fopen(path, "r")) == NULL)
		return sg_err_set(err, SG_EIO, "%s %s: %s: %s", name, what,
		    path, strerror(errno));
	while (rc == SG_OK && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		rc = sg_buf_add(b, chunk, n);
	if (rc == SG_OK && (ferror(fp) || b->len == 0))
		rc = SG_EIO;
	fclose(fp);
	if (rc != SG_OK)
		return sg_err_set(err, SG_ECONF, "%s %s: %s: cannot read it",
		    name, what, path);
	return SG_OK;
}

static bool
given(const char *path)
{
	return path != NULL && path[0] != '\0';
}

static enum sg_rc
read_tls(struct ra_http *c, const struct ra_http_tls *tls,
    struct sg_err *err)
{
	enum sg_rc	rc;

	if (tls == NULL)
		return SG_OK;
	if (given(tls->ca_file) && (rc = read_pem(tls->ca_file, c->name,
	    "TLS CA file", &c->tls_ca, err)) != SG_OK)
		return rc;
	if (given(tls->cert_file) != given(tls->key_file))
		return sg_err_set(err, SG_ECONF, "%s: a TLS client certificate "
		    "needs its key, and a key its certificate", c->name);
	if (!given(tls->cert_file))
		return SG_OK;
	if ((rc = read_pem(tls->cert_file, c->name, "TLS client certificate",
	    &c->cert, err)) != SG_OK)
		return rc;
	return ra_secret_read(tls->key_file, "TLS client key", HTTP_KEY_MAX, 0,
	    &c->key, err);
}

enum sg_rc
ra_http_new(const char *name, const struct ra_http_tls *tls,
    struct ra_http **out, struct sg_err *err)
{
	struct ra_http	*c;
	enum sg_rc	 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "%s: HTTP client", name);
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* Before any thread exists: curl_global_init is not thread-safe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "libcurl init failed");
		goto out;
	}
	c->curl_ok = true;
	if ((rc = read_tls(c, tls, err)) != SG_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	ra_http_free(c);
	return rc;
}

void
ra_http_free(struct ra_http *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	sg_buf_free(&c->tls_ca);
	sg_buf_free(&c->cert);
	ra_secret_free(&c->key);
	pthread_mutex_destroy(&c->lock);
	if (c->curl_ok)
		curl_global_cleanup();
	free(c);
}

/* ---- one exchange ---- */

static CURL *
handle_get(struct ra_http *c)
{
	CURL	*h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->nidle > 0)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	if (h == NULL)
		return curl_easy_init();
	curl_easy_reset(h);	/* keeps its live connections */
	return h;
}

static void
handle_put(struct ra_http *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->nidle < HTTP_POOL) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	curl_easy_cleanup(h);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sg_buf	*b = arg;

	if (sg_buf_add(b, p, size * n) != SG_OK)
		return 0;	/* too big: CURLE_WRITE_ERROR */
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct ra_http_resp	*r = arg;
	size_t			 len = size * n;
	char			 v[80];

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		snprintf(v, sizeof(v), "%.*s", (int)(len - 12), p + 12);
		v[strcspn(v, "\r\n")] = '\0';
		r->retry_after = ra_http_retry_after(v, time(NULL));
	}
	return len;
}

/* Append one formatted header; the text (it may hold a secret) is wiped. */
static bool __attribute__((format(printf, 2, 3)))
hdr_add(struct curl_slist **l, const char *fmt, ...)
{
	struct curl_slist	*n = NULL;
	char			 line[RA_HTTP_TOKEN_MAX + 300];
	va_list			 ap;
	int			 k;

	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (k > 0 && (size_t)k < sizeof(line))
		n = curl_slist_append(*l, line);
	OPENSSL_cleanse(line, sizeof(line));
	if (n == NULL)
		return false;
	*l = n;
	return true;
}

/* curl copied our header lines: wipe its copies too. */
static void
hdr_free(struct curl_slist *l)
{
	struct curl_slist	*i;

	for (i = l; i != NULL; i = i->next)
		OPENSSL_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

/* The header lines of one try, with a fresh look at the token cache. */
static enum sg_rc
headers(struct ra_http *c, const struct ra_http_req *q,
    struct curl_slist **out, struct sg_err *err)
{
	struct curl_slist	*l = NULL;
	char			 tok[RA_HTTP_TOKEN_MAX];
	bool			 ok;
	size_t			 i;
	enum sg_rc		 rc = SG_OK;

	ok = hdr_add(&l, "Expect:");
	if (ok && q->content_type != NULL)
		ok = hdr_add(&l, "Content-Type: %s", q->content_type);
	for (i = 0; ok && i < q->nhdrs; i++)
		ok = hdr_add(&l, "%s: %s", q->hdrs[i].name, q->hdrs[i].value);
	/* The SCEP request this call serves (server/ checked its form). */
	if (ok && sg_log_reqid()[0] != '\0')
		ok = hdr_add(&l, "X-Request-ID: %s", sg_log_reqid());
	if (ok && q->auth != NULL) {
		rc = q->auth->token(q->auth->src, q->scope, q->deadline, tok,
		    sizeof(tok), err);
		if (rc == SG_OK)
			ok = hdr_add(&l, "Authorization: Bearer %s", tok);
		OPENSSL_cleanse(tok, sizeof(tok));
	}
	if (rc == SG_OK && !ok)
		rc = sg_err_set(err, SG_ENOMEM, "%s %s: headers", c->name,
		    q->what);
	if (rc != SG_OK) {
		hdr_free(l);
		return rc;
	}
	*out = l;
	return SG_OK;
}

static void
set_blob(CURL *h, CURLoption opt, const void *p, size_t len)
{
	struct curl_blob	b;

	/*
	 * NOCOPY: the data lives as long as the client, and curl keeps no
	 * unwiped copy of the key. The struct itself may go after the call.
	 */
	b.data = (void *)p;
	b.len = len;
	b.flags = CURL_BLOB_NOCOPY;
	curl_easy_setopt(h, opt, &b);
}

static CURLcode
perform(struct ra_http *c, CURL *h, const struct ra_http_req *q,
    struct curl_slist *hdr, struct ra_http_resp *r, int64_t left,
    char *cerr)
{
	curl_easy_setopt(h, CURLOPT_URL, q->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(left < HTTP_CONNECT_MS ? left : HTTP_CONNECT_MS));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "scepgate");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body != NULL ?
		    q->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, q->body != NULL ?
		    (long)strlen(q->body) : 0L);
	}
	/* Read once at open: no file access per request. */
	if (c->tls_ca.len > 0)
		set_blob(h, CURLOPT_CAINFO_BLOB, c->tls_ca.data, c->tls_ca.len);
	if (c->cert.len > 0) {
		set_blob(h, CURLOPT_SSLCERT_BLOB, c->cert.data, c->cert.len);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		set_blob(h, CURLOPT_SSLKEY_BLOB, c->key.data, c->key.len);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return curl_easy_perform(h);
}

/* Transport failures where the request surely never left. */
static bool
unsent(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT ||
	    cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* ... and those where it may have arrived: only a replay goes again. */
static bool
lost(CURLcode cc)
{
	return cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR ||
	    cc == CURLE_SEND_ERROR || cc == CURLE_PARTIAL_FILE ||
	    cc == CURLE_OPERATION_TIMEDOUT;
}

static void
resp_reset(struct ra_http_resp *r)
{
	ra_http_resp_free(r);
	memset(r, 0, sizeof(*r));
	r->body.max = HTTP_BODY_MAX;
	r->retry_after = -1;
}

void
ra_http_resp_free(struct ra_http_resp *r)
{
	if (r == NULL || r->body.data == NULL)
		return;
	sg_buf_wipe(&r->body);
}

/* One try: SG_OK with *cc the transport's result, r filled on CURLE_OK. */
static enum sg_rc
try_once(struct ra_http *c, const struct ra_http_req *q,
    struct ra_http_resp *r, CURLcode *cc, char *cerr, struct sg_err *err)
{
	struct curl_slist	*hdr = NULL;
	CURL			*h;
	int64_t			 left;
	enum sg_rc		 rc;

	resp_reset(r);
	cerr[0] = '\0';
	if ((rc = headers(c, q, &hdr, err)) != SG_OK)
		return rc;
	if ((h = handle_get(c)) == NULL) {
		hdr_free(hdr);
		return sg_err_set(err, SG_ENOMEM, "%s %s", c->name, q->what);
	}
	/* The token request may have used up some time. */
	left = q->deadline - ra_http_now_ms();
	*cc = left > 0 ? perform(c, h, q, hdr, r, left, cerr) :
	    CURLE_OPERATION_TIMEDOUT;
	if (*cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->http);
	handle_put(c, h);
	hdr_free(hdr);
	return SG_OK;
}

static enum sg_rc
no_answer(struct ra_http *c, const struct ra_http_req *q,
    struct ra_http_resp *r, CURLcode cc, const char *cerr,
    struct sg_err *err)
{
	ra_http_resp_free(r);
	return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST, "%s %s: %s",
	    c->name, q->what, cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
}

/*
 * Upstream call metrics (docs/operations.md, "Monitoring"): one
 * histogram series per service and result, for every client in the
 * process; a documented global (common/sg.h) because the clients live
 * in backends that /metrics never sees. The labels are bounded: the
 * service is the client's name up to " (" ("SCM", "Intune"), the
 * result one of the words of call_result(); past UP_ROWS series a new
 * one is not kept.
 */
#define UP_ROWS		32
#define UP_METRIC	"scepgate_upstream_request_seconds"

static const double up_le[] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};
#define UP_NLE		(sizeof(up_le) / sizeof(up_le[0]))

struct up_row {
	char		 service[32];
	const char	*result;
	struct sg_hist	 h;
};

static pthread_mutex_t	up_lock = PTHREAD_MUTEX_INITIALIZER;
static struct up_row	up_rows[UP_ROWS];	/* guarded by up_lock */
static size_t		up_nrows;

static const char *
call_result(enum sg_rc rc, const struct ra_http_resp *r)
{
	if (rc == SG_EUPSTREAM)
		return "no_answer";
	if (rc != SG_OK)
		return "error";
	if (r->http >= 200 && r->http < 300)
		return "ok";
	if (r->http >= 400 && r->http < 500)
		return "http_4xx";
	if (r->http >= 500 && r->http < 600)
		return "http_5xx";
	return "http_other";
}

static void
up_count(const char *name, const char *result, double secs)
{
	struct up_row	*u = NULL;
	size_t		 i, n = strcspn(name, "(");

	while (n > 0 && name[n - 1] == ' ')
		n--;
	pthread_mutex_lock(&up_lock);
	for (i = 0; i < up_nrows && u == NULL; i++)
		if (up_rows[i].result == result &&
		    strncmp(up_rows[i].service, name, n) == 0 &&
		    up_rows[i].service[n] == '\0')
			u = &up_rows[i];
	if (u == NULL && up_nrows < UP_ROWS) {
		u = &up_rows[up_nrows++];
		snprintf(u->service, sizeof(u->service), "%.*s", (int)n, name);
		u->result = result;
		sg_hist_init(&u->h, up_le, UP_NLE);
	}
	if (u != NULL)
		sg_hist_observe(&u->h, secs);
	pthread_mutex_unlock(&up_lock);
}

enum sg_rc
ra_http_metrics_text(struct sg_buf *b)
{
	const struct up_row	*u;
	char			 lab[80];
	size_t			 i;
	enum sg_rc		 rc;

	pthread_mutex_lock(&up_lock);
	rc = sg_buf_addstr(b, "# HELP scepgate_upstream_request_seconds Time "
	    "of an upstream HTTP call, retries included, by service and "
	    "result.\n# TYPE scepgate_upstream_request_seconds histogram\n");
	for (i = 0; rc == SG_OK && i < up_nrows; i++) {
		u = &up_rows[i];
		snprintf(lab, sizeof(lab), "service=\"%s\",result=\"%s\"",
		    u->service, u->result);
		rc = sg_hist_text(&u->h, UP_METRIC, lab, b);
	}
	pthread_mutex_unlock(&up_lock);
	return rc;
}

static enum sg_rc	call(struct ra_http *, const struct ra_http_req *,
			    struct ra_http_resp *, struct sg_err *);

enum sg_rc
ra_http_call(struct ra_http *c, const struct ra_http_req *q,
    struct ra_http_resp *r, struct sg_err *err)
{
	int64_t		t0 = ra_http_now_ms();
	enum sg_rc	rc;

	rc = call(c, q, r, err);
	up_count(c->name, call_result(rc, r),
	    (double)(ra_http_now_ms() - t0) / 1000.0);
	return rc;
}

/* ra_http_call() without the metrics. */
static enum sg_rc
call(struct ra_http *c, const struct ra_http_req *q,
    struct ra_http_resp *r, struct sg_err *err)
{
	ra_http_busy_fn	*busy = q->busy != NULL ? q->busy :
			    ra_http_busy_default;
	CURLcode	 cc = CURLE_OK;
	char		 cerr[CURL_ERROR_SIZE];
	int64_t		 t0, wait;
	unsigned	 attempt = 0, rnd = 0;
	bool		 reauth = false;
	enum sg_rc	 rc;

	memset(r, 0, sizeof(*r));
	for (;;) {
		t0 = ra_http_now_ms();
		if (q->deadline - t0 <= 0) {
			ra_http_resp_free(r);
			return sg_err_fail(err, SG_EUPSTREAM,
			    SG_FAIL_BADREQUEST, "%s %s: no answer in time",
			    c->name, q->what);
		}
		if ((rc = try_once(c, q, r, &cc, cerr, err)) != SG_OK)
			return rc;
		if (cc != CURLE_OK) {
			sg_log(SG_LOG_WARN, "%s: %s: %s", c->name, q->what,
			    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
			if (!unsent(cc) && !(q->replay && lost(cc)))
				return no_answer(c, q, r, cc, cerr, err);
		} else {
			sg_log(SG_LOG_DEBUG, "%s: %s %s: HTTP %ld in %lld ms",
			    c->name, q->method, q->what, r->http,
			    (long long)(ra_http_now_ms() - t0));
			/* RFC 6750 3.1: the token may have expired early. */
			if (r->http == 401 && q->auth != NULL && !reauth) {
				q->auth->drop(q->auth->src, q->scope);
				reauth = true;
				continue;
			}
			if (!busy(r->http, r->body.data, r->body.len, q->arg))
				return SG_OK;
		}
		/* Busy, or the request never arrived: wait and try again. */
		attempt++;
		if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
			rnd = (unsigned)t0;
		wait = ra_http_backoff_ms(attempt - 1, r->retry_after, rnd);
		if ((q->tries > 0 && (int)attempt >= q->tries) ||
		    ra_http_now_ms() + wait >= q->deadline) {
			if (cc == CURLE_OK)
				return SG_OK;	/* the caller reports it */
			return no_answer(c, q, r, cc, cerr, err);
		}
		if (cc == CURLE_OK)
			sg_log(SG_LOG_WARN, "%s: %s: HTTP %ld, try %u in %lld "
			    "ms", c->name, q->what, r->http, attempt + 1,
			    (long long)wait);
		else
			sg_log(SG_LOG_WARN, "%s: %s: no answer, try %u in "
			    "%lld ms", c->name, q->what, attempt + 1,
			    (long long)wait);
		ra_http_sleep_ms(wait);
	}
}
