/*
 * The SCM upstream (DESIGN.md "Upstream: SCM"): order certificates from
 * Sectigo Certificate Manager over its REST API, collect them, revoke
 * them. Section numbers refer to reference/scm-rest-api.md; the JSON
 * and the meaning of SCM's answers are in ra_up_scm_msg.c.
 *
 * Threads: the HTTP workers call issue() and collect() at the same
 * time. Each HTTP call takes a curl easy handle from a small pool; the
 * pool, the OAuth token and the catalogue caches sit behind s->lock.
 *
 * Secrets (password, OAuth client secret and token, client key) are
 * read once at open from files only their owner may read, go out only
 * in request headers, the token form or the TLS handshake, never into
 * logs or errors, and are wiped with OPENSSL_cleanse. Log lines may
 * name the login.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ra_up_scm_int.h"

#define SCM_POOL	4			/* idle curl handles kept */
#define SCM_BODY_MAX	(8u * 1024 * 1024)	/* an answer or a listing */
#define SCM_PEM_MAX	(256u * 1024)		/* client cert, TLS CAs */
#define SCM_QUICK_MS	2000	/* issue(): wait this long at most */
#define SCM_CONNECT_MS	10000

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
	bool		 curl_ok;	/* curl_global_init() done */
	/* Secrets, NUL-terminated, wiped on free. */
	char		 password[1024];
	char		 client_secret[1024];
	char		 client_key[16384];
	size_t		 client_key_len;
	struct sg_buf	 client_cert;
	struct sg_buf	 tls_ca;

	pthread_mutex_t	 lock;		/* guards what follows */
	CURL		*idle[SCM_POOL];
	size_t		 nidle;
	char		 token[4096];	/* OAuth bearer token, "" if none */
	int64_t		 token_exp;	/* monotonic ms: refresh from here */
	struct scm_list	 lists[NLISTS];
	struct scm_poll	*polls;		/* pending orders collected */
	size_t		 npolls;

	pthread_mutex_t	 token_lock;	/* one token request at a time */
};

/* One HTTP exchange, with the retry policy of 4.4. */
struct req {
	const char	*what;		/* "enroll": for logs and errors */
	enum scm_call	 call;
	const char	*method;	/* GET, POST */
	char		 url[1024];
	const char	*body;		/* NULL: none */
	bool		 form;		/* OAuth token request */
	bool		 replay;	/* may go again after a lost answer */
	int		 tries;		/* 0: as many as the deadline allows */
	int64_t		 deadline;	/* monotonic ms */
};

struct resp {
	long		 http;
	struct sg_buf	 body;
	long		 retry_after;	/* seconds, -1 if none */
	int		 code;		/* SCM error code, or SCM_NO_CODE */
	char		 desc[160];	/* SCM's description, printable */
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
is_client(enum ra_ep_type t)
{
	return t == RA_EP_CLIENT || t == RA_EP_CLIENT_INTUNE;
}

/* ---- files ---- */

/*
 * Read "path" whole into buf (bufsz, NUL-terminated). A secret must not
 * be readable by group or others (as ra_pem_read_key); its final line
 * break is dropped and it may hold no other control character, since
 * it goes into a header.
 */
static enum sg_rc
read_secret(const char *path, const char *what, char *buf, size_t bufsz,
    size_t *len, bool pem, struct sg_err *err)
{
	struct stat	sb;
	ssize_t		n;
	size_t		got = 0, i;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		if (fd != -1)
			close(fd);
		return sg_err_set(err, SG_EIO, "%s: %s: cannot open", what,
		    path);
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return sg_err_set(err, SG_ECONF, "%s: %s: readable by group or "
		    "others (or not a file); chmod 600 it", what, path);
	}
	if (sb.st_size < 0 || (size_t)sb.st_size >= bufsz) {
		close(fd);
		return sg_err_set(err, SG_ECONF, "%s: %s: larger than %zu "
		    "bytes", what, path, bufsz - 1);
	}
	while (got < bufsz - 1 &&
	    (n = read(fd, buf + got, bufsz - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	if (!pem) {
		while (got > 0 && (buf[got - 1] == '\n' ||
		    buf[got - 1] == '\r' || buf[got - 1] == ' ' ||
		    buf[got - 1] == '\t'))
			buf[--got] = '\0';
		for (i = 0; i < got; i++)
			if ((unsigned char)buf[i] < ' ' ||
			    (unsigned char)buf[i] == 0x7f)
				break;
		if (got == 0 || i < got) {
			OPENSSL_cleanse(buf, bufsz);
			return sg_err_set(err, SG_ECONF, "%s: %s: empty, or "
			    "more than one line", what, path);
		}
	}
	if (len != NULL)
		*len = got;
	return SG_OK;
}

/* A public PEM file (client certificate, TLS CAs), read once. */
static enum sg_rc
read_pem(const char *path, const char *what, struct sg_buf *b,
    struct sg_err *err)
{
	FILE	*fp;
	char	 chunk[4096];
	size_t	 n;
	enum sg_rc rc = SG_OK;

	b->max = SCM_PEM_MAX;
	if ((fp = fopen(path, "r")) == NULL)
		return sg_err_set(err, SG_EIO, "%s: %s: %s", what, path,
		    strerror(errno));
	while (rc == SG_OK && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		rc = sg_buf_add(b, chunk, n);
	if (rc == SG_OK && (ferror(fp) || b->len == 0))
		rc = SG_EIO;
	fclose(fp);
	if (rc != SG_OK)
		return sg_err_set(err, SG_ECONF, "%s: %s: cannot read it",
		    what, path);
	return SG_OK;
}

/* ---- HTTP ---- */

static CURL *
handle_get(struct scm *s)
{
	CURL	*h = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->nidle > 0)
		h = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->lock);
	if (h == NULL)
		return curl_easy_init();
	curl_easy_reset(h);	/* keeps its live connections */
	return h;
}

static void
handle_put(struct scm *s, CURL *h)
{
	pthread_mutex_lock(&s->lock);
	if (s->nidle < SCM_POOL) {
		s->idle[s->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->lock);
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
	struct resp	*r = arg;
	size_t		 len = size * n;
	char		 v[80];

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		snprintf(v, sizeof(v), "%.*s", (int)(len - 12), p + 12);
		v[strcspn(v, "\r\n")] = '\0';
		r->retry_after = scm_retry_after(v, time(NULL));
	}
	return len;
}

/* Append one formatted header; the text (it may hold a secret) is wiped. */
static bool __attribute__((format(printf, 2, 3)))
hdr_add(struct curl_slist **l, const char *fmt, ...)
{
	struct curl_slist	*n = NULL;
	char			 line[4400];
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

static enum sg_rc token_get(struct scm *, int64_t, char *, size_t,
    struct sg_err *);

/* The headers of one request, with the login of 1.1, 1.2 or 1.3. */
static enum sg_rc
headers(struct scm *s, const struct req *q, struct curl_slist **out,
    struct sg_err *err)
{
	const struct conf_upstream	*u = s->u;
	struct curl_slist		*l = NULL;
	char				 tok[sizeof(s->token)];
	bool				 ok;
	enum sg_rc			 rc;

	ok = hdr_add(&l, "Accept: application/json") &&
	    hdr_add(&l, "Expect:");
	if (ok && q->body != NULL)
		ok = hdr_add(&l, "Content-Type: %s", q->form ?
		    "application/x-www-form-urlencoded" :
		    "application/json;charset=utf-8");
	if (ok && !q->form) {
		switch (u->auth) {
		case CONF_SCM_AUTH_PASSWORD:
			ok = hdr_add(&l, "login: %s", u->login) &&
			    hdr_add(&l, "password: %s", s->password) &&
			    hdr_add(&l, "customerUri: %s", u->customer_uri);
			break;
		case CONF_SCM_AUTH_CLIENT_CERT:
			ok = hdr_add(&l, "login: %s", u->login) &&
			    hdr_add(&l, "customerUri: %s", u->customer_uri);
			break;
		case CONF_SCM_AUTH_OAUTH:
			rc = token_get(s, q->deadline, tok, sizeof(tok), err);
			if (rc != SG_OK) {
				hdr_free(l);
				return rc;
			}
			ok = hdr_add(&l, "Authorization: Bearer %s", tok);
			OPENSSL_cleanse(tok, sizeof(tok));
			break;
		}
	}
	if (!ok) {
		hdr_free(l);
		return sg_err_set(err, SG_ENOMEM, "SCM %s: headers", q->what);
	}
	*out = l;
	return SG_OK;
}

static CURLcode
perform(struct scm *s, CURL *h, const struct req *q, struct curl_slist *hdr,
    struct resp *r, int64_t left, char *cerr)
{
	struct curl_blob	cert = { 0 }, key = { 0 }, ca = { 0 };

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
	    (long)(left < SCM_CONNECT_MS ? left : SCM_CONNECT_MS));
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
	/* Blobs: read once at open, no file access per request. */
	if (s->tls_ca.len > 0) {
		ca.data = s->tls_ca.data;
		ca.len = s->tls_ca.len;
		ca.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (s->u->auth == CONF_SCM_AUTH_CLIENT_CERT && !q->form) {
		cert.data = s->client_cert.data;
		cert.len = s->client_cert.len;
		cert.flags = CURL_BLOB_NOCOPY;
		key.data = s->client_key;
		key.len = s->client_key_len;
		key.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return curl_easy_perform(h);
}

/* Transport failures where the request surely never reached SCM. */
static bool
unsent(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT ||
	    cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* ... and those where it may have; only a GET may be sent again. */
static bool
lost(CURLcode cc)
{
	return cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR ||
	    cc == CURLE_SEND_ERROR || cc == CURLE_PARTIAL_FILE ||
	    cc == CURLE_OPERATION_TIMEDOUT;
}

static void
resp_reset(struct resp *r)
{
	sg_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	r->body.max = SCM_BODY_MAX;
	r->retry_after = -1;
	r->code = SCM_NO_CODE;
}

static void
token_drop(struct scm *s)
{
	pthread_mutex_lock(&s->lock);
	OPENSSL_cleanse(s->token, sizeof(s->token));
	s->token_exp = 0;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Send "q" until SCM answers something other than "busy" (4.4): 429,
 * 5xx, -140 and -195 are tried again after an exponential, jittered
 * pause that honours Retry-After, while the deadline allows and at most
 * q->tries times. An OAuth 401 fetches a new token once (1.3). SG_OK
 * means "an answer is in *r" (any status: the caller reads it); an
 * error means no usable answer came.
 */
static enum sg_rc
call(struct scm *s, const struct req *q, struct resp *r, struct sg_err *err)
{
	struct curl_slist	*hdr = NULL;
	CURL			*h;
	CURLcode		 cc;
	char			 cerr[CURL_ERROR_SIZE];
	int64_t			 t0, left, wait;
	unsigned		 attempt = 0, rnd = 0;
	bool			 reauth = false;
	enum sg_rc		 rc;

	memset(r, 0, sizeof(*r));
	for (;;) {
		resp_reset(r);
		cerr[0] = '\0';
		t0 = now_ms();
		if ((left = q->deadline - t0) <= 0)
			return sg_err_fail(err, SG_EUPSTREAM,
			    SG_FAIL_BADREQUEST, "SCM %s: no answer in time",
			    q->what);
		if ((rc = headers(s, q, &hdr, err)) != SG_OK)
			return rc;
		if ((h = handle_get(s)) == NULL) {
			hdr_free(hdr);
			return sg_err_set(err, SG_ENOMEM, "SCM %s", q->what);
		}
		/* The token request may have used up some time. */
		left = q->deadline - now_ms();
		cc = left > 0 ? perform(s, h, q, hdr, r, left, cerr) :
		    CURLE_OPERATION_TIMEDOUT;
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->http);
		handle_put(s, h);
		hdr_free(hdr);
		hdr = NULL;
		if (cc != CURLE_OK) {
			sg_log(SG_LOG_WARN, "scm: %s: %s", q->what,
			    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
			if (!unsent(cc) && !(q->replay && lost(cc))) {
				sg_buf_free(&r->body);
				return sg_err_fail(err, SG_EUPSTREAM,
				    SG_FAIL_BADREQUEST, "SCM %s: %s", q->what,
				    cerr[0] != '\0' ? cerr :
				    curl_easy_strerror(cc));
			}
		} else {
			if (r->http >= 300)
				scm_error_parse(r->body.data, r->body.len,
				    &r->code, r->desc, sizeof(r->desc));
			sg_log(SG_LOG_DEBUG, "scm: %s %s: HTTP %ld%s%s in %lld "
			    "ms", q->method, q->what, r->http,
			    r->desc[0] != '\0' ? " " : "", r->desc,
			    (long long)(now_ms() - t0));
			if (r->http == 401 && !q->form && !reauth &&
			    s->u->auth == CONF_SCM_AUTH_OAUTH) {
				token_drop(s);
				reauth = true;
				continue;
			}
			if (scm_classify(q->call, r->http, r->code) !=
			    SCM_C_TRANSIENT)
				return SG_OK;
		}
		/* Busy, or the request never arrived: wait and try again. */
		attempt++;
		if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
			rnd = (unsigned)t0;
		wait = scm_backoff_ms(attempt - 1, r->retry_after, rnd);
		if ((q->tries > 0 && (int)attempt >= q->tries) ||
		    now_ms() + wait >= q->deadline) {
			if (cc == CURLE_OK)
				return SG_OK;	/* the caller reports it */
			sg_buf_free(&r->body);
			return sg_err_fail(err, SG_EUPSTREAM,
			    SG_FAIL_BADREQUEST, "SCM %s: %s", q->what,
			    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		}
		if (cc == CURLE_OK)
			sg_log(SG_LOG_WARN, "scm: %s: HTTP %ld%s%s, try %u in "
			    "%lld ms", q->what, r->http, r->desc[0] != '\0' ?
			    " " : "", r->desc, attempt + 1, (long long)wait);
		else
			sg_log(SG_LOG_WARN, "scm: %s: no answer, try %u in "
			    "%lld ms", q->what, attempt + 1, (long long)wait);
		sleep_ms(wait);
	}
}

/* ---- OAuth (1.3) ---- */

/* Fetch a token; token_lock is held. */
static enum sg_rc
token_fetch(struct scm *s, int64_t deadline, struct sg_err *err)
{
	static const char	 fmt[] = "grant_type=client_credentials"
				    "&client_id=%s&client_secret=%s";
	struct req		 q = { 0 };
	struct resp		 r;
	char			*id = NULL, *sec = NULL, *form = NULL;
	char			 tok[sizeof(s->token)];
	size_t			 n = 0;
	long			 ttl = 0;
	int64_t			 margin;
	enum sg_rc		 rc;

	/* One exact buffer: no copy of the secret is left behind. */
	id = curl_easy_escape(NULL, s->u->client_id, 0);
	sec = curl_easy_escape(NULL, s->client_secret, 0);
	if (id != NULL && sec != NULL) {
		n = sizeof(fmt) + strlen(id) + strlen(sec);
		if ((form = malloc(n)) != NULL)
			snprintf(form, n, fmt, id, sec);
	}
	if (sec != NULL)
		OPENSSL_cleanse(sec, strlen(sec));
	curl_free(sec);
	curl_free(id);
	if (form == NULL)
		return sg_err_set(err, SG_ENOMEM, "SCM token request");
	q.what = "OAuth token";
	q.call = SCM_CALL_OTHER;
	q.method = "POST";
	snprintf(q.url, sizeof(q.url), "%s", s->u->token_url);
	q.body = form;
	q.form = true;
	q.replay = true;	/* a second token does no harm */
	q.deadline = deadline;
	rc = call(s, &q, &r, err);
	OPENSSL_cleanse(form, n);
	free(form);
	if (rc != SG_OK)
		goto out;
	if (r.http != 200) {
		rc = scm_error_set(err, SCM_CALL_OTHER, "OAuth token", r.http,
		    r.code, r.desc);
		goto out;
	}
	if (scm_token_parse(r.body.data, r.body.len, tok, sizeof(tok),
	    &ttl) != SG_OK) {
		rc = sg_err_set(err, SG_EUPSTREAM, "SCM OAuth token: no "
		    "access_token in the answer");
		goto out;
	}
	/* Refresh 60 s before expiry, or halfway for short-lived tokens. */
	margin = ttl > 120 ? 60 : ttl / 2;
	pthread_mutex_lock(&s->lock);
	memcpy(s->token, tok, sizeof(s->token));
	s->token_exp = now_ms() + (ttl - margin) * 1000;
	pthread_mutex_unlock(&s->lock);
	sg_log(SG_LOG_INFO, "scm: new OAuth token for client %s, valid %ld s",
	    s->u->client_id, ttl);
out:
	OPENSSL_cleanse(tok, sizeof(tok));
	if (r.body.data != NULL)
		sg_buf_wipe(&r.body);
	return rc;
}

static bool
token_copy(struct scm *s, char *out, size_t outsz)
{
	bool	ok;

	pthread_mutex_lock(&s->lock);
	ok = s->token[0] != '\0' && now_ms() < s->token_exp &&
	    strlen(s->token) < outsz;
	if (ok)
		memcpy(out, s->token, strlen(s->token) + 1);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* The current token, fetched when missing or about to expire. */
static enum sg_rc
token_get(struct scm *s, int64_t deadline, char *out, size_t outsz,
    struct sg_err *err)
{
	enum sg_rc	rc = SG_OK;

	if (token_copy(s, out, outsz))
		return SG_OK;
	pthread_mutex_lock(&s->token_lock);
	/* Another thread may have fetched one while we waited. */
	if (!token_copy(s, out, outsz) &&
	    (rc = token_fetch(s, deadline, err)) == SG_OK &&
	    !token_copy(s, out, outsz))
		rc = sg_err_set(err, SG_EUPSTREAM, "SCM OAuth token expired "
		    "at once");
	pthread_mutex_unlock(&s->token_lock);
	return rc;
}

/* ---- catalogue: organization and profile ids (3.1, 3.2) ---- */

static long
list_find(struct scm *s, int which, const char *name, const char *parent,
    int64_t *age)
{
	struct scm_list	*l = &s->lists[which];
	long		 id = -1;

	pthread_mutex_lock(&s->lock);
	*age = l->at < 0 ? -1 : now_ms() / 1000 - l->at;
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
	l->at = now_ms() / 1000;
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

static enum sg_rc
scm_issue(struct ra_up *up, const struct ra_issue *is, X509 **out,
    char *order, struct sg_err *err)
{
	struct scm		*s = up->priv;
	const struct ra_issuance *a = is->with;
	struct scm_person	 person;
	struct scm_enroll	 e = { 0 };
	struct req		 q = { 0 };
	struct resp		 r = { 0 };
	char			 tid[P7_TRANSID_MAX + 1], comments[400];
	char			 id[RA_ORDER_MAX], *body = NULL;
	bool			 client = is_client(is->ep->type);
	int64_t			 end;
	X509			*x = NULL;
	enum sg_rc		 rc;
	size_t			 i;

	if (a->org[0] == '\0')
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST, "SCM "
		    "needs an organization, a profile and a term");
	q.deadline = now_ms() + (int64_t)s->u->timeout * 1000;
	if (client && (rc = scm_person_from_csr(is->csr->req, &person, err)) !=
	    SG_OK)
		return rc;
	if ((rc = org_id(s, a, q.deadline, &e.org_id, err)) != SG_OK ||
	    (rc = profile_id(s, client, a, q.deadline, &e.cert_type, err)) !=
	    SG_OK)
		return rc;
	sg_safe_str(is->transid, tid, sizeof(tid));
	snprintf(comments, sizeof(comments), "SCEP transactionID %s; "
	    "scepgate endpoint %s, account %s", tid, is->ep->name,
	    a->account[0] != '\0' ? a->account : "(endpoint)");
	e.client = client;
	e.term = a->term_days > 0 ? a->term_days : 365;
	e.comments = comments;
	e.csr = is->csr->req;
	e.person = client ? &person : NULL;
	if ((rc = scm_enroll_json(&e, &body, err)) != SG_OK)
		return rc;

	/* Enroll: the one call that orders; never sent twice (4.4). */
	q.what = "enroll";
	q.call = SCM_CALL_ENROLL;
	q.method = "POST";
	q.body = body;
	snprintf(q.url, sizeof(q.url), "%s/%s/enroll", s->base, client ?
	    s->smime : "device/v1");
	rc = call(s, &q, &r, err);
	free(body);
	if (rc != SG_OK)
		goto out;
	if (r.http != 200 && r.http != 201) {
		rc = scm_error_set(err, SCM_CALL_ENROLL, "enroll", r.http,
		    r.code, r.desc);
		goto out;
	}
	if ((rc = scm_enroll_order(client, r.body.data, r.body.len, id,
	    err)) != SG_OK)
		goto out;
	/* Recorded with the transaction even if the order dies below. */
	snprintf(order, RA_ORDER_MAX, "%s", id);
	sg_log(SG_LOG_INFO, "scm: transid=%s: %s certificate ordered as %s "
	    "(orgId %ld, certType %ld, term %d)", tid, client ? "client" :
	    "device", id, e.org_id, e.cert_type, e.term);

	/* A short wait (6.2), then PENDING: a worker is not held long. */
	end = now_ms() + SCM_QUICK_MS;
	for (i = 0; i < sizeof(quick_ms) / sizeof(quick_ms[0]); i++) {
		if (now_ms() + quick_ms[i] >= end)
			break;
		sleep_ms(quick_ms[i]);
		if ((rc = collect_once(s, client, id, end, &x, err)) != SG_OK ||
		    x != NULL)
			break;
	}
	if (rc == SG_OK)
		*out = x;
out:
	sg_buf_free(&r.body);
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
	int64_t		 now = now_ms();
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
	rc = collect_once(s, is_client(ep->type), order, now_ms() +
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
	q.deadline = now_ms() + (int64_t)s->u->timeout * 1000;
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
		if ((rc = list_get(s, which, now_ms() +
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
	for (i = 0; i < s->nidle; i++)
		curl_easy_cleanup(s->idle[i]);
	for (i = 0; i < NLISTS; i++)
		free(s->lists[i].v);
	free(s->polls);
	sg_buf_free(&s->client_cert);
	sg_buf_free(&s->tls_ca);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->token_lock);
	if (s->curl_ok)
		curl_global_cleanup();
	OPENSSL_cleanse(s, sizeof(*s));	/* password, secret, key, token */
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

/* Read what the login method needs, once (1.1 to 1.3). */
static enum sg_rc
load_secrets(struct scm *s, struct sg_err *err)
{
	const struct conf_upstream	*u = s->u;
	enum sg_rc			 rc = SG_OK;

	switch (u->auth) {
	case CONF_SCM_AUTH_PASSWORD:
		rc = read_secret(u->password_file, "upstream.password_file",
		    s->password, sizeof(s->password), NULL, false, err);
		break;
	case CONF_SCM_AUTH_CLIENT_CERT:
		if ((rc = read_pem(u->client_cert, "upstream.client_cert",
		    &s->client_cert, err)) == SG_OK)
			rc = read_secret(u->client_key, "upstream.client_key",
			    s->client_key, sizeof(s->client_key),
			    &s->client_key_len, true, err);
		break;
	case CONF_SCM_AUTH_OAUTH:
		rc = read_secret(u->client_secret_file,
		    "upstream.client_secret_file", s->client_secret,
		    sizeof(s->client_secret), NULL, false, err);
		break;
	}
	if (rc == SG_OK && u->tls_ca_file[0] != '\0')
		rc = read_pem(u->tls_ca_file, "upstream.tls_ca_file",
		    &s->tls_ca, err);
	return rc;
}

enum sg_rc
ra_up_scm_open(const struct conf *conf, struct ra_up **out,
    struct sg_err *err)
{
	const struct conf_upstream	*u = &conf->upstream;
	static const char *const	 auth[] = { "password", "client-cert",
					    "oauth" };
	struct ra_up			*up = NULL;
	struct scm			*s;
	enum sg_rc			 rc;
	size_t				 i;

	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		free(up);
		return sg_err_set(err, SG_ENOMEM, "SCM upstream");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->token_lock, NULL);
	up->ops = &scm_ops;
	up->priv = s;
	s->u = u;
	if ((up->chain = sk_X509_new_null()) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "SCM upstream");
		goto out;
	}
	for (i = 0; i < NLISTS; i++)
		s->lists[i].at = -1;
	s->ttl = (int64_t)u->poll_interval * 12;
	/* Before any thread exists: curl_global_init is not thread-safe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "libcurl init failed");
		goto out;
	}
	s->curl_ok = true;
	scm_base_url(u->url, u->auth == CONF_SCM_AUTH_CLIENT_CERT, s->base,
	    sizeof(s->base));
	snprintf(s->smime, sizeof(s->smime), "smime/v%d",
	    u->smime_api_version == 2 ? 2 : 1);
	/* The issuing CA, for full-chain replies and GetCACert. */
	if ((rc = ra_pem_read_certs(u->ca_chain, up->chain, err)) != SG_OK)
		goto out;
	if (sk_X509_num(up->chain) == 0) {
		rc = sg_err_set(err, SG_ECONF, "%s: no certificate",
		    u->ca_chain);
		goto out;
	}
	if ((rc = load_secrets(s, err)) != SG_OK)
		goto out;
	if (strncmp(s->base, "http://", 7) == 0 &&
	    u->auth != CONF_SCM_AUTH_CLIENT_CERT && !loopback(s->base + 7))
		sg_log(SG_LOG_WARN, "scm: %s is plain http: the credentials "
		    "travel unencrypted", s->base);
	sg_log(SG_LOG_DEBUG, "scm: %s, auth %s as %s", s->base, auth[u->auth],
	    u->auth == CONF_SCM_AUTH_OAUTH ? u->client_id : u->login);
	*out = up;
	up = NULL;
	rc = SG_OK;
out:
	ra_up_free(up);
	return rc;
}
