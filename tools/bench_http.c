/*
 * scep-bench's HTTP: one libcurl easy handle per worker thread (kept
 * alive between requests, as a load balancer or MDM would), and the
 * --hold-connections mode on plain sockets.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_int.h"

/* libcurl's write callback: the body, bounded by BENCH_BODY_MAX. */
static size_t
on_data(char *p, size_t size, size_t nmemb, void *cls)
{
	struct bench_http	*h = cls;

	if (sg_buf_add(&h->body, p, size * nmemb) != SG_OK)
		return 0;	/* aborts the transfer: too large */
	return size * nmemb;
}

enum sg_rc
bench_http_init(struct bench_http *h, long timeout_s)
{
	struct curl_slist	*l;

	memset(h, 0, sizeof(*h));
	h->timeout_s = timeout_s;
	h->body.max = BENCH_BODY_MAX;
	if ((h->curl = curl_easy_init()) == NULL)
		return SG_ENOMEM;
	/* RFC 8894 4.3; no "Expect: 100-continue" round trip. */
	l = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
	if (l == NULL || (h->hdrs = curl_slist_append(l, "Expect:")) == NULL) {
		curl_slist_free_all(l);
		return SG_ENOMEM;
	}
	/* Threads: no SIGALRM for timeouts; small requests: no Nagle. */
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	return SG_OK;
}

void
bench_http_free(struct bench_http *h)
{
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdrs);
	sg_buf_free(&h->body);
	memset(h, 0, sizeof(*h));
}

enum sg_rc
bench_http_do(struct bench_http *h, const char *url, const uint8_t *body,
    size_t len)
{
	char		*ct = NULL;
	CURLcode	 cc;

	h->body.len = 0;
	h->status = 0;
	h->ctype[0] = '\0';
	h->errbuf[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	/* PKIOperation by POST (RFC 8894 4.3), the DER as the body. */
	if (body != NULL) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	}
	if ((cc = curl_easy_perform(h->curl)) != CURLE_OK) {
		if (h->errbuf[0] == '\0')
			snprintf(h->errbuf, sizeof(h->errbuf), "%s",
			    curl_easy_strerror(cc));
		return SG_EIO;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
	if (curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct) ==
	    CURLE_OK && ct != NULL)
		snprintf(h->ctype, sizeof(h->ctype), "%s", ct);
	return SG_OK;
}

enum sg_rc
bench_url_op(const char *url, const char *op, char **out)
{
	size_t	n = strlen(url) + strlen(op) + 16;

	if ((*out = malloc(n)) == NULL)
		return SG_ENOMEM;
	snprintf(*out, n, "%s%coperation=%s", url,
	    strchr(url, '?') != NULL ? '&' : '?', op);
	return SG_OK;
}

/* Host, port and "path?query" of an http:// URL, via libcurl's parser. */
static enum sg_rc
url_parts(const char *url, char **host, char **port, char **target,
    struct sg_err *err)
{
	CURLU		*u;
	char		*scheme = NULL, *path = NULL, *query = NULL;
	size_t		 n;
	enum sg_rc	 rc = SG_OK;

	*host = *port = *target = NULL;
	if ((u = curl_url()) == NULL)
		return sg_err_set(err, SG_ENOMEM, "url");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "http") != 0 ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		rc = sg_err_set(err, SG_EPARSE, "%s: --hold-connections needs "
		    "an http:// URL", url);
		goto out;
	}
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	n = strlen(path) + (query != NULL ? strlen(query) : 0) + 2;
	if ((*target = malloc(n)) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "url");
		goto out;
	}
	snprintf(*target, n, "%s%s%s", path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
out:
	if (rc != SG_OK) {
		curl_free(*host);
		curl_free(*port);
		*host = *port = NULL;
	}
	curl_free(scheme);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

/* One more connection, with the request written unless "reqlen" is 0. */
static int
hold_open(const struct addrinfo *ai, const char *req, size_t reqlen)
{
	int	fd;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    (reqlen > 0 && write(fd, req, reqlen) != (ssize_t)reqlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

enum sg_rc
bench_hold_run(const char *url, size_t n, bool idle, unsigned hold_s,
    pid_t pid, struct bench_hold *out, struct sg_err *err)
{
	struct addrinfo	 hints = { 0 }, *ai = NULL;
	struct rlimit	 rl;
	struct pollfd	*pfd = NULL;
	int		*fds = NULL;
	char		*host = NULL, *port = NULL, *target = NULL, *opurl = NULL;
	char		 req[2048], buf[4096];
	size_t		 i, waiting, reqlen;
	uint64_t	 deadline;
	ssize_t		 r;
	enum sg_rc	 rc;

	memset(out, 0, sizeof(*out));
	out->rss_kb = out->hwm_kb = -1;
	if ((rc = bench_url_op(url, "GetCACaps", &opurl)) != SG_OK ||
	    (rc = url_parts(opurl, &host, &port, &target, err)) != SG_OK)
		goto out;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "User-Agent: scep-bench\r\nConnection: keep-alive\r\n\r\n",
	    target, host, port);
	reqlen = strlen(req);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		rc = sg_err_set(err, SG_EIO, "%s: cannot resolve", host);
		goto out;
	}
	/* Each connection is one descriptor: lift the soft limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((pfd = calloc(n, sizeof(*pfd))) == NULL ||
	    (fds = calloc(n, sizeof(*fds))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "hold");
		goto out;
	}
	for (i = 0; i < n; i++) {
		fds[i] = hold_open(ai, req, idle ? 0 : reqlen);
		pfd[i].fd = fds[i];	/* poll() skips it once it is -1 */
		pfd[i].events = POLLIN;
		if (fds[i] != -1)
			out->opened++;
	}
	/*
	 * Read each answer's first bytes; 10 s for all of them. The rest
	 * of an answer may stay unread: only the connection matters.
	 */
	waiting = idle ? 0 : out->opened;
	deadline = bench_now_us() + 10000000u;
	while (waiting > 0 && bench_now_us() < deadline) {
		if (poll(pfd, n, 200) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, buf, sizeof(buf) - 1);
			if (r > 0) {
				buf[r] = '\0';
				if (strncmp(buf, "HTTP/1.1 200", 12) == 0)
					out->answered++;
			}
			pfd[i].fd = -1;
			waiting--;
		}
	}
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLRDHUP;
	}
	sleep(hold_s);
	if (pid > 0)
		out->rss_kb = bench_proc_kb(pid, "VmRSS");
	/* Still open: the server has not hung up (POLLRDHUP, POLLHUP). */
	poll(pfd, n, 0);
	for (i = 0; i < n; i++)
		if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLRDHUP | POLLHUP |
		    POLLERR)) == 0)
			out->alive++;
	if (pid > 0)
		out->hwm_kb = bench_proc_kb(pid, "VmHWM");
	rc = SG_OK;
out:
	if (fds != NULL)
		for (i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	free(fds);
	free(pfd);
	if (ai != NULL)
		freeaddrinfo(ai);
	curl_free(host);
	curl_free(port);
	free(target);
	free(opurl);
	return rc;
}
