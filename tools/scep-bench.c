/*
 * scep-bench: a SCEP load generator and test client for any SCEP server
 * (RFC 8894). It enrolls (GetCACert once, then PKCSReq by POST, each
 * CertRep verified, decrypted and checked against the request's key),
 * or storms GetCACaps/GetCACert, at a given concurrency for a count or
 * a duration, and reports requests/s, latency percentiles, failures by
 * kind and, with --server-pid, the server's CPU time per success.
 * See bench_int.h for the file layout and bench/run.sh for its use.
 */
#include <sys/resource.h>

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "bench_int.h"

enum mode {
	MODE_ENROLL,
	MODE_GETCACAPS,
	MODE_GETCACERT,
};

static const char *const mode_names[] = { "enroll", "getcacaps",
    "getcacert" };

struct opts {
	const char	*url;
	const char	*challenge;
	const char	*key_file;
	long		 count;		/* 0: no limit */
	double		 duration;	/* seconds, 0: no limit */
	long		 concurrency;
	long		 nkeys;		/* 0: min(count, 64) */
	long		 server_pid;
	long		 hold;		/* --hold-connections */
	bool		 hold_idle;	/* ... without a request on them */
	long		 hold_s;
	long		 timeout_s;
	enum mode	 mode;
	const char	*cipher;
	const char	*digest;
	int		 cipher_nid;
	int		 digest_nid;
	bool		 json;
	bool		 verbose;
};

/* What the workers share. */
struct run {
	const struct opts	*o;
	struct bench_enroll	 enroll;
	const struct bench_key	*keys;
	size_t			 nkeys;
	const char		*get_url;	/* storm modes */
	atomic_ullong		 next;		/* the next sequence number */
	uint64_t		 deadline_us;	/* 0: none */
};

struct worker {
	pthread_t		 tid;
	struct run		*run;
	struct bench_http	 http;
	struct bench_stats	 st;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: scep-bench --url URL [options]\n"
	    "  --url URL             SCEP URL (http://host:port/scep/demo)\n"
	    "  --mode MODE           enroll (default), getcacaps, getcacert\n"
	    "  --challenge CODE      challengePassword (access code)\n"
	    "  --count N             requests in all (default 100 unless "
	    "--duration)\n"
	    "  --duration S          run for S seconds\n"
	    "  --concurrency C       parallel clients (default 1)\n"
	    "  --keys N              RSA-2048 keys, reused round-robin "
	    "(default min(count, 64))\n"
	    "  --key-file FILE       load keys from FILE; save generated "
	    "ones there\n"
	    "  --cipher C            aes128 (default), aes256, des3, des\n"
	    "  --digest D            sha256 (default), sha1, sha384, sha512\n"
	    "  --server-pid PID      report the server's CPU and memory from "
	    "/proc\n"
	    "  --hold-connections N  open N connections, one GetCACaps "
	    "each, keep them\n"
	    "  --hold-seconds S      ... open S seconds (default 3)\n"
	    "  --hold-idle           ... and send nothing on them\n"
	    "  --timeout S           per request (default 60)\n"
	    "  --json                one JSON object on stdout\n"
	    "  --verbose             print every failure on stderr\n");
}

/* Map an option's word to its NID. */
static bool
pick(const char *s, const char *const names[], const int nids[], size_t n,
    int *out)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = nids[i];
			return true;
		}
	return false;
}

static int
parse_opts(int argc, char *argv[], struct opts *o)
{
	static const struct option lo[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "challenge", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "concurrency", required_argument, NULL, 'C' },
		{ "keys", required_argument, NULL, 'k' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "mode", required_argument, NULL, 'm' },
		{ "cipher", required_argument, NULL, 'e' },
		{ "digest", required_argument, NULL, 'g' },
		{ "server-pid", required_argument, NULL, 'p' },
		{ "hold-connections", required_argument, NULL, 'H' },
		{ "hold-seconds", required_argument, NULL, 'S' },
		{ "hold-idle", no_argument, NULL, 'I' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const ciphers[] = { "aes128", "aes256", "des3",
	    "des" };
	static const int cipher_nids[] = { NID_aes_128_cbc, NID_aes_256_cbc,
	    NID_des_ede3_cbc, NID_des_cbc };
	static const char *const digests[] = { "sha1", "sha256", "sha384",
	    "sha512" };
	static const int digest_nids[] = { NID_sha1, NID_sha256, NID_sha384,
	    NID_sha512 };
	static const int modes[] = { MODE_ENROLL, MODE_GETCACAPS,
	    MODE_GETCACERT };
	long	 secs;
	int	 c, m;
	char	*end;

	o->concurrency = 1;
	o->hold_s = 3;
	o->timeout_s = 60;
	o->cipher = "aes128";
	o->digest = "sha256";
	o->cipher_nid = NID_aes_128_cbc;
	o->digest_nid = NID_sha256;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->url = optarg;
			break;
		case 'c':
			o->challenge = optarg;
			break;
		case 'n':
			if (!sg_parse_long(optarg, 1, 100000000, &o->count))
				return 2;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || o->duration <= 0 ||
			    o->duration > 86400)
				return 2;
			break;
		case 'C':
			if (!sg_parse_long(optarg, 1, 4096, &o->concurrency))
				return 2;
			break;
		case 'k':
			if (!sg_parse_long(optarg, 1, 100000, &o->nkeys))
				return 2;
			break;
		case 'K':
			o->key_file = optarg;
			break;
		case 'm':
			if (!pick(optarg, mode_names, modes, 3, &m))
				return 2;
			o->mode = (enum mode)m;
			break;
		case 'e':
			o->cipher = optarg;
			if (!pick(optarg, ciphers, cipher_nids, 4,
			    &o->cipher_nid))
				return 2;
			break;
		case 'g':
			o->digest = optarg;
			if (!pick(optarg, digests, digest_nids, 4,
			    &o->digest_nid))
				return 2;
			break;
		case 'p':
			if (!sg_parse_long(optarg, 1, 1L << 22, &o->server_pid))
				return 2;
			break;
		case 'H':
			if (!sg_parse_long(optarg, 1, 100000, &o->hold))
				return 2;
			break;
		case 'I':
			o->hold_idle = true;
			break;
		case 'S':
			if (!sg_parse_long(optarg, 0, 3600, &o->hold_s))
				return 2;
			break;
		case 't':
			if (!sg_parse_long(optarg, 1, 3600, &secs))
				return 2;
			o->timeout_s = secs;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return 2;
		}
	}
	if (optind != argc || o->url == NULL)
		return 2;
	if (o->count == 0 && o->duration == 0)
		o->count = 100;
	/*
	 * An RSA-2048 key takes ~100 ms to make, so keys are reused
	 * round-robin; each request still gets its own CSR, signer
	 * certificate and transaction.
	 */
	if (o->nkeys == 0)
		o->nkeys = o->count > 0 && o->count < 64 ? o->count : 64;
	return 0;
}

/*
 * Count one request in the worker's statistics (each worker has its
 * own, merged after the run, so the hot path takes no lock).
 */
static void
record(struct worker *w, const struct bench_result *res, bool ok,
    const struct sg_err *err, unsigned long long seq)
{
	struct bench_stats	*st = &w->st;
	enum bench_fail		 kind = res->kind;
	struct sg_err		 oom;

	if (res->lat_us > 0 && !bench_stats_add(st, res->lat_us)) {
		ok = false;
		kind = BENCH_F_CLIENT;
		err = &oom;
		(void)sg_err_set(&oom, SG_ENOMEM, "statistics: out of memory");
	}
	if (ok) {
		st->ok++;
		if (st->reply_cipher == 0)
			st->reply_cipher = res->reply_cipher;
		return;
	}
	st->fails[kind]++;
	if (st->first_err[0] == '\0')
		snprintf(st->first_err, sizeof(st->first_err), "%s: %s",
		    bench_fail_name(kind), err->msg);
	if (w->run->o->verbose)
		fprintf(stderr, "scep-bench: #%llu %s: %s\n", seq,
		    bench_fail_name(kind), err->msg);
}

/* One storm request: HTTP 200 with a body is a success. */
static bool
get_one(struct worker *w, struct bench_result *res, struct sg_err *err)
{
	uint64_t	t0 = bench_now_us();
	enum sg_rc	rc;

	memset(res, 0, sizeof(*res));
	rc = bench_http_do(&w->http, w->run->get_url, NULL, 0);
	res->lat_us = bench_now_us() - t0;
	if (rc != SG_OK) {
		res->kind = BENCH_F_HTTP;
		(void)sg_err_set(err, rc, "%s", w->http.errbuf);
		return false;
	}
	if (w->http.status != 200 || w->http.body.len == 0) {
		res->kind = BENCH_F_STATUS;
		(void)sg_err_set(err, SG_EPARSE, "HTTP %ld, %zu bytes",
		    w->http.status, w->http.body.len);
		return false;
	}
	return true;
}

static void *
worker_run(void *cls)
{
	struct worker		*w = cls;
	struct run		*r = w->run;
	struct bench_result	 res;
	struct sg_err		 err;
	unsigned long long	 seq;
	bool			 ok;

	/* Workers share one sequence: --count is exact at any concurrency. */
	for (;;) {
		seq = atomic_fetch_add(&r->next, 1);
		if (r->o->count > 0 && seq >= (unsigned long long)r->o->count)
			break;
		if (r->deadline_us != 0 && bench_now_us() >= r->deadline_us)
			break;
		sg_err_clear(&err);
		if (r->o->mode == MODE_ENROLL)
			ok = bench_enroll_one(&r->enroll, &w->http,
			    &r->keys[seq % r->nkeys], seq, &res, &err) == SG_OK;
		else
			ok = get_one(w, &res, &err);
		record(w, &res, ok, &err, seq);
	}
	return NULL;
}

/* GetCACaps (printed unless --json) and GetCACert, once. */
static enum sg_rc
discover(const struct opts *o, struct bench_ca *ca, struct sg_err *err)
{
	struct bench_http	 h;
	char			*url = NULL, subj[256];
	size_t			 i;
	enum sg_rc		 rc;

	if ((rc = bench_http_init(&h, o->timeout_s)) != SG_OK) {
		(void)sg_err_set(err, rc, "libcurl");
		goto out;
	}
	if ((rc = bench_url_op(o->url, "GetCACaps", &url)) != SG_OK ||
	    (rc = bench_http_do(&h, url, NULL, 0)) != SG_OK) {
		(void)sg_err_set(err, rc, "GetCACaps: %s", h.errbuf);
		goto out;
	}
	if (h.status != 200 || h.body.len == 0) {
		fprintf(stderr, "scep-bench: warning: GetCACaps: HTTP %ld, %zu "
		    "bytes\n", h.status, h.body.len);
	} else if (strstr((char *)h.body.data, "POSTPKIOperation") == NULL)
		fprintf(stderr, "scep-bench: warning: the server does not "
		    "announce POSTPKIOperation; POSTing anyway\n");
	if (!o->json && h.status == 200 && h.body.len > 0) {
		for (i = 0; i < h.body.len; i++)
			if (h.body.data[i] == '\n' || h.body.data[i] == '\r')
				h.body.data[i] = ' ';
		fprintf(stderr, "scep-bench: GetCACaps: %s\n", h.body.data);
	}
	free(url);
	url = NULL;
	if ((rc = bench_url_op(o->url, "GetCACert", &url)) != SG_OK ||
	    (rc = bench_http_do(&h, url, NULL, 0)) != SG_OK) {
		(void)sg_err_set(err, rc, "GetCACert: %s", h.errbuf);
		goto out;
	}
	if (h.status != 200) {
		rc = sg_err_set(err, SG_EPARSE, "GetCACert: HTTP %ld", h.status);
		goto out;
	}
	rc = bench_ca_parse(h.ctype, h.body.data, h.body.len, ca, err);
	if (rc == SG_OK && !o->json) {
		X509_NAME_oneline(X509_get_subject_name(ca->ra), subj,
		    sizeof(subj));
		fprintf(stderr, "scep-bench: GetCACert: %s, %d certificate(s), "
		    "RA %s\n", h.ctype, sk_X509_num(ca->certs), subj);
	}
out:
	free(url);
	bench_http_free(&h);
	return rc;
}

/* A JSON string (RFC 8259 7): quotes, backslashes, controls escaped. */
static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

/* One run, all workers merged. */
struct result {
	struct bench_stats	 st;
	double			 elapsed_s;
	double			 client_cpu_s;
	double			 server_cpu_s;	/* -1: unknown */
	long			 rss_kb;
	long			 hwm_kb;
};

/* Requests that were not a success, of any kind. */
static size_t
failed(const struct result *res)
{
	size_t	i, n = 0;

	for (i = 0; i < BENCH_F_MAX; i++)
		n += res->st.fails[i];
	return n;
}

/* For bench/run.sh: one object, field names stable. */
static void
report_json(const struct opts *o, size_t nkeys, const struct result *res)
{
	const struct bench_stats *st = &res->st;
	size_t	 i, n = st->ok + failed(res);
	double	 el = res->elapsed_s > 0 ? res->elapsed_s : 1e-9;

	printf("{\"mode\":\"%s\",\"url\":", mode_names[o->mode]);
	json_str(stdout, o->url);
	printf(",\"concurrency\":%ld,\"keys\":%zu,\"cipher\":\"%s\","
	    "\"digest\":\"%s\",\"requests\":%zu,\"ok\":%zu,\"failed\":%zu,"
	    "\"elapsed_s\":%.3f,\"req_per_s\":%.2f,\"ok_per_s\":%.2f,",
	    o->concurrency, nkeys, o->cipher, o->digest, n, st->ok,
	    failed(res), res->elapsed_s, (double)n / el, (double)st->ok / el);
	printf("\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
	    "\"max\":%.3f},", bench_stats_pct(st, 50) / 1e3,
	    bench_stats_pct(st, 90) / 1e3, bench_stats_pct(st, 99) / 1e3,
	    bench_stats_pct(st, 100) / 1e3);
	printf("\"failures\":{");
	for (i = 0; i < BENCH_F_MAX; i++)
		printf("%s\"%s\":%zu", i ? "," : "", bench_fail_name(i),
		    st->fails[i]);
	printf("},\"reply_cipher\":\"%s\",\"client_cpu_ms_per_req\":%.3f,",
	    st->reply_cipher ? OBJ_nid2sn(st->reply_cipher) : "",
	    n ? res->client_cpu_s * 1e3 / (double)n : 0.0);
	if (o->server_pid > 0 && res->server_cpu_s >= 0)
		printf("\"server_pid\":%ld,\"server_cpu_s\":%.3f,"
		    "\"server_cpu_ms_per_ok\":%.3f,\"server_vmrss_kb\":%ld,"
		    "\"server_vmhwm_kb\":%ld,", o->server_pid,
		    res->server_cpu_s, st->ok ? res->server_cpu_s * 1e3 /
		    (double)st->ok : 0.0, res->rss_kb, res->hwm_kb);
	printf("\"first_error\":");
	json_str(stdout, st->first_err);
	printf("}\n");
}

/* For people: the same numbers, one topic a line. */
static void
report_text(const struct opts *o, size_t nkeys, const struct result *res)
{
	const struct bench_stats *st = &res->st;
	size_t	 i, n = st->ok + failed(res);
	double	 el = res->elapsed_s > 0 ? res->elapsed_s : 1e-9;
	bool	 any = false;

	printf("scep-bench %s %s\n", mode_names[o->mode], o->url);
	if (o->mode == MODE_ENROLL)
		printf("  setup     concurrency %ld, %zu keys, %s, %s\n",
		    o->concurrency, nkeys, o->cipher, o->digest);
	else
		printf("  setup     concurrency %ld\n", o->concurrency);
	printf("  requests  %zu in %.2f s: %.1f req/s, %zu ok (%.1f/s)\n", n,
	    res->elapsed_s, (double)n / el, st->ok, (double)st->ok / el);
	printf("  latency   p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max "
	    "%.2f ms\n", bench_stats_pct(st, 50) / 1e3,
	    bench_stats_pct(st, 90) / 1e3, bench_stats_pct(st, 99) / 1e3,
	    bench_stats_pct(st, 100) / 1e3);
	printf("  failures ");
	for (i = 0; i < BENCH_F_MAX; i++)
		if (st->fails[i] > 0) {
			printf(" %s %zu", bench_fail_name(i), st->fails[i]);
			any = true;
		}
	printf("%s\n", any ? "" : " none");
	if (any)
		printf("  first     %s\n", st->first_err);
	if (st->reply_cipher != 0)
		printf("  replies   encrypted with %s\n",
		    OBJ_nid2sn(st->reply_cipher));
	printf("  client    %.2f ms CPU per request\n", n ?
	    res->client_cpu_s * 1e3 / (double)n : 0.0);
	if (o->server_pid > 0 && res->server_cpu_s >= 0)
		printf("  server    pid %ld: %.2f CPU s, %.2f ms per success; "
		    "VmRSS %ld kB, VmHWM %ld kB\n", o->server_pid,
		    res->server_cpu_s, st->ok ? res->server_cpu_s * 1e3 /
		    (double)st->ok : 0.0, res->rss_kb, res->hwm_kb);
}

/* Our own CPU seconds: the client's share of the machine. */
static double
self_cpu(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Run the workers and gather what they measured. */
static enum sg_rc
run_load(struct run *r, struct result *res, struct sg_err *err)
{
	const struct opts	*o = r->o;
	struct worker		*w;
	double			 cpu0, srv0 = -1, srv1;
	uint64_t		 t0;
	long			 i, started = 0;
	enum sg_rc		 rc = SG_OK;

	if ((w = calloc((size_t)o->concurrency, sizeof(*w))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "workers");
	for (i = 0; i < o->concurrency; i++) {
		w[i].run = r;
		if (bench_http_init(&w[i].http, o->timeout_s) != SG_OK) {
			rc = sg_err_set(err, SG_ENOMEM, "libcurl");
			goto out;
		}
	}
	/*
	 * The server's utime + stime around the run, divided by successes
	 * later: its CPU cost per enrollment whatever the client costs.
	 */
	res->server_cpu_s = -1;
	if (o->server_pid > 0)
		srv0 = bench_proc_cpu((pid_t)o->server_pid);
	cpu0 = self_cpu();
	t0 = bench_now_us();
	if (o->duration > 0)
		r->deadline_us = t0 + (uint64_t)(o->duration * 1e6);
	for (i = 0; i < o->concurrency; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	res->elapsed_s = (double)(bench_now_us() - t0) / 1e6;
	res->client_cpu_s = self_cpu() - cpu0;
	if (o->server_pid > 0) {
		srv1 = bench_proc_cpu((pid_t)o->server_pid);
		if (srv0 >= 0 && srv1 >= 0)
			res->server_cpu_s = srv1 - srv0;
		res->rss_kb = bench_proc_kb((pid_t)o->server_pid, "VmRSS");
		res->hwm_kb = bench_proc_kb((pid_t)o->server_pid, "VmHWM");
	}
	if (started < o->concurrency) {
		rc = sg_err_set(err, SG_EINTERNAL, "only %ld of %ld threads "
		    "started", started, o->concurrency);
		goto out;
	}
	for (i = 0; i < o->concurrency; i++)
		if (!bench_stats_merge(&res->st, &w[i].st)) {
			rc = sg_err_set(err, SG_ENOMEM, "statistics");
			goto out;
		}
	bench_stats_sort(&res->st);
out:
	for (i = 0; i < o->concurrency; i++) {
		bench_http_free(&w[i].http);
		bench_stats_free(&w[i].st);
	}
	free(w);
	return rc;
}

/*
 * --hold-connections: what the server's memory does with many open
 * connections. Exit 1 unless all of them were kept (and answered).
 */
static int
hold(const struct opts *o)
{
	struct bench_hold	h;
	struct sg_err		err;

	if (bench_hold_run(o->url, (size_t)o->hold, o->hold_idle,
	    (unsigned)o->hold_s, (pid_t)o->server_pid, &h, &err) != SG_OK) {
		fprintf(stderr, "scep-bench: %s\n", err.msg);
		return 1;
	}
	if (o->json)
		printf("{\"mode\":\"hold\",\"idle\":%s,\"connections\":%ld,"
		    "\"opened\":%zu,\"answered\":%zu,\"alive\":%zu,"
		    "\"server_vmrss_kb\":%ld,\"server_vmhwm_kb\":%ld}\n",
		    o->hold_idle ? "true" : "false", o->hold, h.opened,
		    h.answered, h.alive, h.rss_kb, h.hwm_kb);
	else {
		printf("scep-bench hold %s\n  connections %ld%s: %zu opened, "
		    "%zu answered, %zu still open after %ld s\n", o->url,
		    o->hold, o->hold_idle ? " (idle)" : "", h.opened,
		    h.answered, h.alive, o->hold_s);
		if (h.rss_kb >= 0)
			printf("  server    VmRSS %ld kB with them open, VmHWM "
			    "%ld kB\n", h.rss_kb, h.hwm_kb);
	}
	return h.alive == (size_t)o->hold && (o->hold_idle ||
	    h.answered == (size_t)o->hold) ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct opts		 o = { 0 };
	struct run		 r = { 0 };
	struct bench_ca		 ca = { 0 };
	struct bench_key	*keys = NULL;
	struct result		 res = { 0 };
	OSSL_PROVIDER		*legacy, *deflt;
	struct sg_err		 err;
	char			*url = NULL;
	unsigned char		 tag[4];
	char			 runtag[9];
	long			 ncpu;
	int			 ret = 1;

	if (parse_opts(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	/* Single DES (--cipher des, and micromdm's replies) is legacy. */
	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	deflt = OSSL_PROVIDER_load(NULL, "default");
	if (legacy == NULL || deflt == NULL)
		fprintf(stderr, "scep-bench: warning: no OpenSSL legacy "
		    "provider: DES replies will not decrypt\n");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "scep-bench: libcurl init failed\n");
		goto out;
	}
	/* libcurl's global state is set up before any thread starts. */
	if (o.hold > 0) {
		ret = hold(&o);
		goto out;
	}
	if (discover(&o, &ca, &err) != SG_OK) {
		fprintf(stderr, "scep-bench: %s\n", err.msg);
		goto out;
	}
	r.o = &o;
	if (o.mode == MODE_ENROLL) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (bench_keys_get(o.key_file, (size_t)o.nkeys, ncpu > 0 ?
		    (size_t)ncpu : 1, &keys, &err) != SG_OK ||
		    bench_url_op(o.url, "PKIOperation", &url) != SG_OK) {
			fprintf(stderr, "scep-bench: %s\n", err.msg);
			goto out;
		}
		/*
		 * A tag per run keeps transactionIDs and subjects unique
		 * across runs against the same database or depot.
		 */
		if (RAND_bytes(tag, sizeof(tag)) != 1)
			goto out;
		sg_hex(tag, sizeof(tag), runtag);
		r.keys = keys;
		r.nkeys = (size_t)o.nkeys;
		r.enroll.ca = &ca;
		r.enroll.url = url;
		r.enroll.challenge = o.challenge;
		r.enroll.runtag = runtag;
		r.enroll.cipher_nid = o.cipher_nid;
		r.enroll.digest_nid = o.digest_nid;
	} else {
		if (bench_url_op(o.url, o.mode == MODE_GETCACAPS ? "GetCACaps" :
		    "GetCACert", &url) != SG_OK)
			goto out;
		r.get_url = url;
	}
	if (run_load(&r, &res, &err) != SG_OK) {
		fprintf(stderr, "scep-bench: %s\n", err.msg);
		goto out;
	}
	if (o.json)
		report_json(&o, o.mode == MODE_ENROLL ? r.nkeys : 0, &res);
	else
		report_text(&o, o.mode == MODE_ENROLL ? r.nkeys : 0, &res);
	ret = failed(&res) == 0 && res.st.ok > 0 ? 0 : 1;
out:
	bench_stats_free(&res.st);
	bench_keys_free(keys, (size_t)o.nkeys);
	bench_ca_free(&ca);
	free(url);
	curl_global_cleanup();
	if (legacy != NULL)
		OSSL_PROVIDER_unload(legacy);
	if (deflt != NULL)
		OSSL_PROVIDER_unload(deflt);
	return ret;
}
