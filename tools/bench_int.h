/*
 * scep-bench: a SCEP load generator and test client. Messages are
 * built and read by pkcs7/ (p7_req_build, p7_certrep_parse); this tool
 * only adds what a client needs around them: keys, the PKCS#10, the
 * self-signed signer certificate, HTTP (libcurl) and the statistics.
 *
 *   scep-bench.c   options, worker threads, the report
 *   bench_scep.c   keys, CSR, GetCACert, one enrollment
 *   bench_http.c   libcurl transfers and the --hold-connections mode
 *   bench_stat.c   latencies, failures, /proc readings
 */
#ifndef BENCH_INT_H
#define BENCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p7.h"
#include "sg.h"

/* Largest HTTP body we read. */
#define BENCH_BODY_MAX	(1024 * 1024)

/* Why a request did not count as a success. */
enum bench_fail {
	BENCH_F_CLIENT = 0,	/* building the request failed (our bug) */
	BENCH_F_HTTP,		/* transport: connect, timeout, reset */
	BENCH_F_STATUS,		/* an HTTP status other than 200 */
	BENCH_F_REPLY,		/* not a CertRep, bad signature, no decrypt */
	BENCH_F_TXN,		/* transactionID or recipientNonce mismatch */
	BENCH_F_SCEP_FAILURE,	/* pkiStatus FAILURE */
	BENCH_F_PENDING,	/* pkiStatus PENDING */
	BENCH_F_KEY,		/* the certificate is not for our key */
	BENCH_F_MAX
};

/* Fixed name of a failure kind, for the report ("http", ...). */
const char	*bench_fail_name(enum bench_fail);

/* One pre-generated client key. */
struct bench_key {
	EVP_PKEY	*pkey;		/* owned */
	char		 spki_sha1[41];	/* hex SHA-1 of the public key */
};

/*
 * Generate "n" RSA-2048 keys on "threads" threads, or first load those
 * in "path" (PEM, may be NULL or missing) and write the whole set back
 * when some had to be generated. *out is calloc'ed: bench_keys_free().
 */
enum sg_rc	 bench_keys_get(const char *path, size_t n, size_t threads,
		    struct bench_key **out, struct sg_err *err);
void		 bench_keys_free(struct bench_key *, size_t n);

/* What GetCACert told us about the server. */
struct bench_ca {
	STACK_OF(X509)	*certs;		/* owned: everything received */
	X509		*ra;		/* borrowed from certs: recipient and
					   CertRep signer */
	bool		 chain;		/* application/x-x509-ca-ra-cert */
};

/*
 * Read a GetCACert body: a degenerate PKCS#7 (RA first, then CA) or
 * one certificate (DER or PEM). The RA is the first certificate that
 * is not a CA or allows keyEncipherment (RFC 8894 3.5.1).
 */
enum sg_rc	 bench_ca_parse(const char *ctype, const uint8_t *body,
		    size_t len, struct bench_ca *ca, struct sg_err *err);
void		 bench_ca_free(struct bench_ca *);

/* An HTTP client: one per thread (libcurl easy handles are not shared). */
struct bench_http {
	CURL		*curl;
	struct curl_slist *hdrs;	/* Content-Type and "Expect:" */
	long		 timeout_s;
	/* The last answer. */
	long		 status;
	char		 ctype[128];
	struct sg_buf	 body;
	char		 errbuf[CURL_ERROR_SIZE];
};

enum sg_rc	 bench_http_init(struct bench_http *, long timeout_s);
void		 bench_http_free(struct bench_http *);
/*
 * GET "url" (body NULL) or POST "body" as application/x-pki-message.
 * SG_EIO on a transport error (errbuf says which); any HTTP status is
 * SG_OK, with status, ctype and body set.
 */
enum sg_rc	 bench_http_do(struct bench_http *, const char *url,
		    const uint8_t *body, size_t len);

/*
 * "url" with "operation=OP" appended ('?' or '&'). *out is malloc'ed.
 */
enum sg_rc	 bench_url_op(const char *url, const char *op, char **out);

/*
 * Open "n" TCP connections to the host and port of "url", send one
 * keep-alive GetCACaps on each (unless "idle") and read the answers,
 * then keep them all open "hold_s" seconds. Reports how many answered
 * and how many the server still held at the end; with "pid" > 0 the
 * server's VmRSS while they were open.
 */
struct bench_hold {
	size_t		 opened;	/* connect() succeeded */
	size_t		 answered;	/* an HTTP 200 came back */
	size_t		 alive;		/* still open after hold_s */
	long		 rss_kb;	/* VmRSS with all open, -1 unknown */
	long		 hwm_kb;	/* VmHWM at the end, -1 unknown */
};
enum sg_rc	 bench_hold_run(const char *url, size_t n, bool idle,
		    unsigned hold_s, pid_t pid, struct bench_hold *out,
		    struct sg_err *err);

/* One enrollment: the inputs the workers share, read-only. */
struct bench_enroll {
	const struct bench_ca	*ca;
	const char		*url;		/* with operation=PKIOperation */
	const char		*challenge;	/* NULL: none */
	const char		*runtag;	/* unique per run */
	int			 cipher_nid;
	int			 digest_nid;
};

/* How one request went. */
struct bench_result {
	uint64_t	 lat_us;	/* HTTP round trip, 0 if none was made */
	enum bench_fail	 kind;		/* why it failed, if it did */
	int		 reply_cipher;	/* SUCCESS: the CertRep's envelope */
};

/*
 * PKCSReq with "key" (RFC 8894 3.3.1): a fresh CSR and self-signed
 * certificate, transactionID = SHA-1 of the key + run tag + "seq".
 * SG_OK only if the CertRep is SUCCESS, verifies, decrypts, answers
 * our transaction and certifies our key; otherwise res->kind says why
 * and "err" has the details.
 */
enum sg_rc	 bench_enroll_one(const struct bench_enroll *,
		    struct bench_http *, const struct bench_key *key,
		    uint64_t seq, struct bench_result *res, struct sg_err *err);

/* Latencies and failure counts of one worker, merged at the end. */
struct bench_stats {
	uint32_t	*lat_us;	/* every completed HTTP exchange */
	size_t		 n;
	size_t		 cap;
	size_t		 ok;
	size_t		 fails[BENCH_F_MAX];
	int		 reply_cipher;	/* of the first SUCCESS, 0 if none */
	char		 first_err[256];	/* the first failure's message */
};

/* Record one request; false only when out of memory. */
bool		 bench_stats_add(struct bench_stats *, uint64_t lat_us);
/* Add "src" into "dst" (src is left as is). */
bool		 bench_stats_merge(struct bench_stats *dst,
		    const struct bench_stats *src);
void		 bench_stats_free(struct bench_stats *);
/* Sort the latencies and read percentile "p" (0-100), in microseconds. */
void		 bench_stats_sort(struct bench_stats *);
uint32_t	 bench_stats_pct(const struct bench_stats *, double p);

/* From /proc/PID: utime + stime in seconds, or -1. */
double		 bench_proc_cpu(pid_t);
/* From /proc/PID/status: a "Vm...:" line in kB, or -1. */
long		 bench_proc_kb(pid_t, const char *field);

/* Monotonic microseconds. */
uint64_t	 bench_now_us(void);

#endif /* BENCH_INT_H */
