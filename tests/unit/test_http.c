/*
 * ra/http/: the secret-file reader, the answer parsers, back-off and
 * Retry-After arithmetic, the token cache, and the retry engine against
 * a scripted HTTP server on 127.0.0.1 (a thread of this test).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "ra_http_int.h"
#include "ra_int.h"
#include "sg_test.h"

#define S(lit)	(const uint8_t *)(lit), sizeof(lit) - 1

/* ---- secret files ---- */

static char dir[64];

static void
put_file(const char *name, const char *text, mode_t mode, char *path,
    size_t pathsz)
{
	FILE	*fp;

	snprintf(path, pathsz, "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static const struct {
	const char	*name;
	const char	*text;
	mode_t		 mode;
	size_t		 max;
	unsigned	 flags;
	enum sg_rc	 rc;
	const char	*want;		/* the content, or the error's words */
} secrets[] = {
	{ "good", "s3cret\n", 0600, 64, RA_SECRET_LINE, SG_OK, "s3cret" },
	{ "raw", "-----BEGIN\nx\n", 0400, 64, 0, SG_OK, "-----BEGIN\nx\n" },
	{ "0644", "s3cret\n", 0644, 64, RA_SECRET_LINE, SG_ECONF,
	    "readable by group or others; chmod 600" },
	{ "0640", "s3cret\n", 0640, 64, 0, SG_ECONF, "chmod 600" },
	{ "0602", "s3cret\n", 0602, 64, 0, SG_ECONF, "chmod 600" },
	{ "big", "0123456789abcdef0", 0600, 16, 0, SG_ECONF,
	    "larger than 16 bytes" },
	{ "limit", "0123456789abcdef", 0600, 16, 0, SG_OK,
	    "0123456789abcdef" },
	{ "two-lines", "a\nb\n", 0600, 64, RA_SECRET_LINE, SG_ECONF,
	    "more than one line" },
	{ "empty", "\n", 0600, 64, RA_SECRET_LINE, SG_ECONF, "empty" },
};

static void
test_secret(void **state)
{
	struct ra_secret s;
	struct sg_err	 e;
	char		 path[128];
	size_t		 i;
	enum sg_rc	 rc;

	(void)state;
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		put_file(secrets[i].name, secrets[i].text, secrets[i].mode,
		    path, sizeof(path));
		memset(&s, 0, sizeof(s));
		rc = ra_secret_read(path, "test.secret", secrets[i].max,
		    secrets[i].flags, &s, &e);
		if (rc != secrets[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", secrets[i].name, rc,
			    secrets[i].rc, e.msg);
		if (rc == SG_OK) {
			assert_string_equal(s.data, secrets[i].want);
			assert_int_equal(s.len, strlen(secrets[i].want));
		} else {
			assert_null(s.data);
			if (strstr(e.msg, secrets[i].want) == NULL ||
			    strstr(e.msg, "test.secret: ") != e.msg)
				fail_msg("%s: %s", secrets[i].name, e.msg);
			/* never the content */
			assert_null(strstr(e.msg, "s3cret"));
		}
		ra_secret_free(&s);
		assert_null(s.data);
		unlink(path);
	}
}

static void
test_secret_not_file(void **state)
{
	struct ra_secret s = { 0 };
	struct sg_err	 e;
	char		 path[128];

	(void)state;
	/* a directory, even one only its owner may enter */
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ra_secret_read(path, "k", 64, 0, &s, &e), SG_ECONF);
	assert_non_null(strstr(e.msg, "not a regular file"));
	assert_int_equal(rmdir(path), 0);
	/* a FIFO: refused at once, the open does not wait for a writer */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(ra_secret_read(path, "k", 64, 0, &s, &e), SG_ECONF);
	assert_non_null(strstr(e.msg, "not a regular file"));
	unlink(path);
	/* missing */
	assert_int_equal(ra_secret_read(path, "k", 64, 0, &s, &e), SG_EIO);
	assert_null(s.data);
	ra_secret_free(NULL);
}

/* The key readers of ra_keys.c go through the same rules. */
static void
test_key_files(void **state)
{
	EVP_PKEY	*k = NULL;
	struct sg_err	 e;
	char		 path[128];

	(void)state;
	/* a directory: refused as such (it used to be a parse error) */
	snprintf(path, sizeof(path), "%s/key.d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ra_pem_read_key(path, &k, &e), SG_ECONF);
	assert_non_null(strstr(e.msg, "not a regular file"));
	assert_int_equal(rmdir(path), 0);
	/* readable by others */
	put_file("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0644, path,
	    sizeof(path));
	assert_int_equal(ra_pem_read_key(path, &k, &e), SG_ECONF);
	assert_non_null(strstr(e.msg, "chmod 600"));
	/* safe, but not a key */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(ra_pem_read_key(path, &k, &e), SG_EPARSE);
	assert_null(k);
	unlink(path);
}

/* ---- answers, back-off ---- */

static void
test_token_parse(void **state)
{
	char	tok[64], desc[64];
	long	ttl;

	(void)state;
	assert_int_equal(ra_http_token_parse(S("{\"access_token\":"
	    "\"abc.DEF-1\",\"token_type\":\"Bearer\",\"expires_in\":120}"), tok,
	    sizeof(tok), &ttl), SG_OK);
	assert_string_equal(tok, "abc.DEF-1");
	assert_int_equal(ttl, 120);
	/* 300 s when the lifetime is not given, or absurd */
	assert_int_equal(ra_http_token_parse(S("{\"access_token\":\"t\"}"),
	    tok, sizeof(tok), &ttl), SG_OK);
	assert_int_equal(ttl, 300);
	assert_int_equal(ra_http_token_parse(S("{\"access_token\":\"t\","
	    "\"expires_in\":-5}"), tok, sizeof(tok), &ttl), SG_OK);
	assert_int_equal(ttl, 300);
	/* a token that cannot go into a header, or does not fit */
	assert_int_equal(ra_http_token_parse(
	    S("{\"access_token\":\"a\\r\\nX: y\"}"), tok, sizeof(tok), &ttl),
	    SG_EPARSE);
	assert_int_equal(ra_http_token_parse(
	    S("{\"access_token\":\"0123456789\"}"), tok, 10, &ttl), SG_EPARSE);
	assert_int_equal(ra_http_token_parse(
	    S("{\"error\":\"invalid_client\"}"), tok, sizeof(tok), &ttl),
	    SG_EPARSE);
	assert_int_equal(ra_http_token_parse(S("[\"access_token\"]"), tok,
	    sizeof(tok), &ttl), SG_EPARSE);
	assert_int_equal(ra_http_token_parse(NULL, 0, tok, sizeof(tok), &ttl),
	    SG_EPARSE);

	ra_http_oauth_error(S("{\"error\":\"invalid_client\","
	    "\"error_description\":\"Invalid client \\\"x\\\"\"}"), desc,
	    sizeof(desc));
	assert_string_equal(desc, "invalid_client: Invalid client ?x?");
	ra_http_oauth_error(S("{\"error\":\"unauthorized_client\"}"), desc,
	    sizeof(desc));
	assert_string_equal(desc, "unauthorized_client");
	ra_http_oauth_error(S("<html>"), desc, sizeof(desc));
	assert_string_equal(desc, "");
}

static void
test_backoff(void **state)
{
	unsigned	a, r;
	long		w, prev_max = 0;

	(void)state;
	assert_int_equal(ra_http_retry_after("1", 0), 1);
	assert_int_equal(ra_http_retry_after(" 120", 0), 120);
	assert_int_equal(ra_http_retry_after(NULL, 0), -1);
	assert_int_equal(ra_http_retry_after("soon", 0), -1);
	assert_int_equal(ra_http_retry_after("-3", 0), -1);
	assert_int_equal(ra_http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
	    1445412470), 10);
	assert_int_equal(ra_http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
	    1445412490), 0);
	for (a = 0; a < 8; a++) {
		long base = a < 4 ? 500L << a : 8000;

		for (r = 0; r < 5000; r += 37) {
			w = ra_http_backoff_ms(a, -1, r * 2654435761u);
			/* equal jitter: between half and all of the base */
			assert_true(w >= base / 2 && w <= base);
		}
		assert_true(base >= prev_max);
		prev_max = base;
	}
	/* Retry-After is a floor */
	assert_true(ra_http_backoff_ms(0, 3, 0) == 3000);
	assert_true(ra_http_backoff_ms(3, 1, 0) >= 2000);
	/* the default busy rule */
	assert_true(ra_http_busy_default(429, NULL, 0, NULL));
	assert_true(ra_http_busy_default(503, NULL, 0, NULL));
	assert_false(ra_http_busy_default(400, NULL, 0, NULL));
	assert_false(ra_http_busy_default(401, NULL, 0, NULL));
	assert_false(ra_http_busy_default(200, NULL, 0, NULL));
}

/* ---- the token cache ---- */

static void
test_token_cache(void **state)
{
	struct ra_http		*h = NULL;
	struct ra_http_oauth	*o = NULL;
	char			 tok[64], scope[32];
	int			 i;

	(void)state;
	assert_int_equal(ra_http_new("T", NULL, &h, NULL), SG_OK);
	assert_int_equal(ra_http_oauth_new(h, "http://127.0.0.1:9/token",
	    "id", "secret", &o, NULL), SG_OK);
	assert_false(ra_http_tok_get(o, NULL, 0, tok, sizeof(tok)));
	/* one token per scope; NULL and "" are the same scope */
	ra_http_tok_put(o, NULL, "t-none", 3600, 0);
	ra_http_tok_put(o, "https://graph.microsoft.com/.default", "t-graph",
	    3600, 0);
	assert_true(ra_http_tok_get(o, "", 1000, tok, sizeof(tok)));
	assert_string_equal(tok, "t-none");
	assert_true(ra_http_tok_get(o, "https://graph.microsoft.com/.default",
	    1000, tok, sizeof(tok)));
	assert_string_equal(tok, "t-graph");
	assert_false(ra_http_tok_get(o, "https://api.manage.microsoft.com/"
	    "/.default", 1000, tok, sizeof(tok)));
	/* due 60 s before expiry */
	assert_true(ra_http_tok_get(o, NULL, 3539999, tok, sizeof(tok)));
	assert_false(ra_http_tok_get(o, NULL, 3540000, tok, sizeof(tok)));
	/* short-lived: halfway */
	ra_http_tok_put(o, NULL, "t-short", 60, 0);
	assert_true(ra_http_tok_get(o, NULL, 29999, tok, sizeof(tok)));
	assert_false(ra_http_tok_get(o, NULL, 30000, tok, sizeof(tok)));
	/* too big for the caller's buffer: not handed out */
	assert_false(ra_http_tok_get(o, "https://graph.microsoft.com/.default",
	    0, tok, 4));
	/* a 401 drops it */
	ra_http_oauth_drop(o, "https://graph.microsoft.com/.default");
	assert_false(ra_http_tok_get(o, "https://graph.microsoft.com/.default",
	    0, tok, sizeof(tok)));
	/* full: the entry due first makes room */
	for (i = 0; i < RA_HTTP_NTOKENS + 2; i++) {
		snprintf(scope, sizeof(scope), "s%d", i);
		ra_http_tok_put(o, scope, scope, 1000 + i, 0);
	}
	assert_int_equal(o->ntok, RA_HTTP_NTOKENS);
	snprintf(scope, sizeof(scope), "s%d", RA_HTTP_NTOKENS + 1);
	assert_true(ra_http_tok_get(o, scope, 0, tok, sizeof(tok)));
	assert_string_equal(tok, scope);
	ra_http_oauth_free(o);
	ra_http_free(h);
}

/* ---- the engine, against a scripted server ---- */

struct seen {
	char	path[128];
	char	auth[128];	/* Authorization value, "" if none */
	char	body[512];
};

struct srv {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	struct seen	 seen[64];
	size_t		 n;
	/* The answer to request number "i" (0-based) for "path". */
	const char	*(*answer)(struct srv *, size_t i, const struct seen *);
	int		 counter;	/* for the scripts */
};

static struct srv srv;

/* Read one request head and body (Content-Length) into "s". */
static bool
read_req(int c, struct seen *s)
{
	char	buf[8192], *end, *p;
	size_t	got = 0;
	ssize_t	n;
	long	clen = 0;

	memset(s, 0, sizeof(*s));
	while ((end = memmem(buf, got, "\r\n\r\n", 4)) == NULL) {
		if (got == sizeof(buf) - 1 ||
		    (n = read(c, buf + got, sizeof(buf) - 1 - got)) <= 0)
			return false;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*end = '\0';
	if ((p = strchr(buf, ' ')) != NULL)
		snprintf(s->path, sizeof(s->path), "%.*s",
		    (int)strcspn(p + 1, " "), p + 1);
	for (p = buf; (p = strstr(p, "\r\n")) != NULL; p += 2) {
		if (strncasecmp(p + 2, "Authorization: ", 15) == 0)
			snprintf(s->auth, sizeof(s->auth), "%.*s",
			    (int)strcspn(p + 17, "\r"), p + 17);
		if (strncasecmp(p + 2, "Content-Length: ", 16) == 0)
			clen = strtol(p + 18, NULL, 10);
	}
	got -= (size_t)(end + 4 - buf);
	memmove(buf, end + 4, got);
	while ((long)got < clen && got < sizeof(buf) - 1 &&
	    (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	snprintf(s->body, sizeof(s->body), "%.*s", (int)got, buf);
	return true;
}

static void *
serve(void *arg)
{
	struct seen	 s;
	const char	*a;
	char		 out[2048];
	size_t		 i;
	int		 c;

	(void)arg;
	while ((c = accept(srv.fd, NULL, NULL)) != -1) {
		if (read_req(c, &s)) {
			pthread_mutex_lock(&srv.lock);
			i = srv.n;
			if (srv.n < sizeof(srv.seen) / sizeof(srv.seen[0]))
				srv.seen[srv.n++] = s;
			a = srv.answer(&srv, i, &s);
			pthread_mutex_unlock(&srv.lock);
			/* "status\r\nheaders..." then the body after "\n\n" */
			snprintf(out, sizeof(out), "HTTP/1.1 %s", a);
			if (write(c, out, strlen(out)) < 0)
				break;
		}
		close(c);
	}
	return NULL;
}

static void
srv_start(const char *(*answer)(struct srv *, size_t, const struct seen *))
{
	struct sockaddr_in	sin = { 0 };
	socklen_t		len = sizeof(sin);

	srv.n = 0;
	srv.counter = 0;
	srv.answer = answer;
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((srv.fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(srv.fd, 16), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&sin, &len),
	    0);
	srv.port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void
srv_stop(void)
{
	shutdown(srv.fd, SHUT_RDWR);
	close(srv.fd);
	pthread_join(srv.thread, NULL);
}

#define OK_JSON	"200 OK\r\nContent-Type: application/json\r\n" \
	"Content-Length: 2\r\nConnection: close\r\n\r\n{}"

static const char *
busy_then_ok(struct srv *s, size_t i, const struct seen *q)
{
	(void)s;
	(void)q;
	if (i == 0)
		return "429 Too Many Requests\r\nRetry-After: 1\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	if (i == 1)
		return "503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n"
		    "\r\n";
	return OK_JSON;
}

static const char *
always_503(struct srv *s, size_t i, const struct seen *q)
{
	(void)s;
	(void)i;
	(void)q;
	return "503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

static const char *
code_195(struct srv *s, size_t i, const struct seen *q)
{
	(void)s;
	(void)q;
	if (i == 0)
		return "400 Bad Request\r\nContent-Length: 12\r\n"
		    "Connection: close\r\n\r\n{\"code\":-195";
	return OK_JSON;
}

static void
req_init(struct ra_http_req *q, char *url, size_t urlsz, const char *path,
    int64_t ms)
{
	memset(q, 0, sizeof(*q));
	snprintf(url, urlsz, "http://127.0.0.1:%d%s", srv.port, path);
	q->what = "test";
	q->method = "GET";
	q->url = url;
	q->replay = true;
	q->deadline = ra_http_now_ms() + ms;
}

static void
test_retry(void **state)
{
	struct ra_http		*h = NULL;
	struct ra_http_req	 q;
	struct ra_http_resp	 r;
	struct sg_err		 e;
	char			 url[128];
	int64_t			 t0;

	(void)state;
	assert_int_equal(ra_http_new("T", NULL, &h, NULL), SG_OK);

	/* 429 with Retry-After: 1, then 503, then 200 */
	srv_start(busy_then_ok);
	req_init(&q, url, sizeof(url), "/a", 10000);
	t0 = ra_http_now_ms();
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_OK);
	assert_int_equal(r.http, 200);
	assert_string_equal((char *)r.body.data, "{}");
	assert_int_equal(srv.n, 3);
	/* at least the Retry-After second, plus the 503's >= 500 ms */
	assert_true(ra_http_now_ms() - t0 >= 1500);
	ra_http_resp_free(&r);
	srv_stop();

	/* busy forever: "tries" bounds it, the last answer is returned */
	srv_start(always_503);
	req_init(&q, url, sizeof(url), "/b", 10000);
	q.tries = 2;
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_OK);
	assert_int_equal(r.http, 503);
	assert_int_equal(srv.n, 2);
	ra_http_resp_free(&r);
	/* ... and the deadline: no try would end in time after the pause */
	srv.n = 0;
	req_init(&q, url, sizeof(url), "/b", 1200);
	t0 = ra_http_now_ms();
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_OK);
	assert_int_equal(r.http, 503);
	assert_true(srv.n >= 1 && srv.n <= 3);
	assert_true(ra_http_now_ms() - t0 < 1200);
	ra_http_resp_free(&r);
	srv_stop();

	/* the caller's rule: a 400 with an SCM-style "busy" code */
	srv_start(code_195);
	req_init(&q, url, sizeof(url), "/c", 10000);
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_OK);
	assert_int_equal(r.http, 400);	/* not busy by the default rule */
	assert_int_equal(srv.n, 1);
	ra_http_resp_free(&r);
	srv_stop();

	/* nobody listens: retried (never sent) until the deadline */
	req_init(&q, url, sizeof(url), "/d", 1500);
	q.replay = false;
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_EUPSTREAM);
	assert_int_equal(e.failinfo, SG_FAIL_BADREQUEST);
	assert_non_null(strstr(e.msg, "T test: "));
	assert_null(r.body.data);
	ra_http_free(h);
}

static bool
busy_195(long http, const uint8_t *body, size_t len, void *arg)
{
	(void)arg;
	return http == 400 && len >= 12 && memcmp(body, "{\"code\":-195", 12)
	    == 0;
}

static void
test_busy_rule(void **state)
{
	struct ra_http		*h = NULL;
	struct ra_http_req	 q;
	struct ra_http_resp	 r;
	char			 url[128];

	(void)state;
	assert_int_equal(ra_http_new("T", NULL, &h, NULL), SG_OK);
	srv_start(code_195);
	req_init(&q, url, sizeof(url), "/c", 10000);
	q.busy = busy_195;
	assert_int_equal(ra_http_call(h, &q, &r, NULL), SG_OK);
	assert_int_equal(r.http, 200);
	assert_int_equal(srv.n, 2);
	ra_http_resp_free(&r);
	srv_stop();
	ra_http_free(h);
}

/*
 * /token hands out "tok<n>" (n counts token requests); /api answers 401
 * to a token of a first generation once, when the script says so.
 */
static const char *
oauth_srv(struct srv *s, size_t i, const struct seen *q)
{
	static char	ans[256];
	char		body[96];

	(void)i;
	if (strcmp(q->path, "/token") == 0) {
		s->counter++;
		snprintf(body, sizeof(body), "{\"access_token\":\"tok%d\","
		    "\"expires_in\":3600}", s->counter);
		snprintf(ans, sizeof(ans), "200 OK\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", strlen(body), body);
		return ans;
	}
	if (strcmp(q->path, "/api401") == 0)
		return "401 Unauthorized\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n";
	if (strcmp(q->path, "/bad") == 0)
		return "401 Unauthorized\r\nContent-Length: 59\r\n"
		    "Connection: close\r\n\r\n{\"error\":\"invalid_client\","
		    "\"error_description\":\"bad secret\"}";
	return OK_JSON;
}

static void
test_oauth(void **state)
{
	struct ra_http		*h = NULL;
	struct ra_http_oauth	*o = NULL, *bad = NULL;
	struct ra_http_req	 q;
	struct ra_http_resp	 r;
	struct sg_err		 e;
	char			 url[128], tok_url[128];
	size_t			 i, ntok = 0;

	(void)state;
	assert_int_equal(ra_http_new("T", NULL, &h, NULL), SG_OK);
	srv_start(oauth_srv);
	snprintf(tok_url, sizeof(tok_url), "http://127.0.0.1:%d/token",
	    srv.port);
	assert_int_equal(ra_http_oauth_new(h, tok_url, "cid", "sec&ret=1", &o,
	    NULL), SG_OK);
	/* twice with scope A, once with B, once with A again */
	for (i = 0; i < 4; i++) {
		req_init(&q, url, sizeof(url), "/api", 10000);
		q.auth = ra_http_oauth_auth(o);
		q.scope = i == 2 ? "https://b/.default" : "https://a/.default";
		assert_int_equal(ra_http_call(h, &q, &r, &e), SG_OK);
		assert_int_equal(r.http, 200);
		ra_http_resp_free(&r);
	}
	for (i = 0; i < srv.n; i++)
		if (strcmp(srv.seen[i].path, "/token") == 0)
			ntok++;
	assert_int_equal(ntok, 2);
	/* the form: the secret escaped, the scope sent */
	assert_string_equal(srv.seen[0].body, "grant_type=client_credentials"
	    "&client_id=cid&client_secret=sec%26ret%3D1"
	    "&scope=https%3A%2F%2Fa%2F.default");
	assert_string_equal(srv.seen[1].auth, "Bearer tok1");
	assert_string_equal(srv.seen[4].auth, "Bearer tok2");
	assert_string_equal(srv.seen[5].auth, "Bearer tok1");

	/* a 401: one new token, one more try, then the 401 is the answer */
	srv.n = 0;
	req_init(&q, url, sizeof(url), "/api401", 10000);
	q.auth = ra_http_oauth_auth(o);
	q.scope = "https://a/.default";
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_OK);
	assert_int_equal(r.http, 401);
	ra_http_resp_free(&r);
	assert_int_equal(srv.n, 3);
	assert_string_equal(srv.seen[0].auth, "Bearer tok1");
	assert_string_equal(srv.seen[1].path, "/token");
	assert_string_equal(srv.seen[2].auth, "Bearer tok3");

	/* a refused secret: the server's words, not the secret */
	snprintf(tok_url, sizeof(tok_url), "http://127.0.0.1:%d/bad",
	    srv.port);
	assert_int_equal(ra_http_oauth_new(h, tok_url, "cid", "sec&ret=1",
	    &bad, NULL), SG_OK);
	req_init(&q, url, sizeof(url), "/api", 10000);
	q.auth = ra_http_oauth_auth(bad);
	assert_int_equal(ra_http_call(h, &q, &r, &e), SG_EUPSTREAM);
	assert_non_null(strstr(e.msg, "HTTP 401: invalid_client: bad secret"));
	assert_null(strstr(e.msg, "sec&ret"));
	ra_http_oauth_free(bad);
	srv_stop();
	ra_http_oauth_free(o);
	ra_http_free(h);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_http.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	sgt_rm_tree(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_secret_not_file),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_token_parse),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_token_cache),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_busy_rule),
		cmocka_unit_test(test_oauth),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
