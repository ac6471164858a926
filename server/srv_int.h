/* Shared inside server/ only. */
#ifndef SRV_INT_H
#define SRV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "ra_http.h"
#include "sg.h"

struct conf;
struct ra;

/* The counters behind /metrics (srv_metrics.c). */
struct srv_metrics;

/* One HTTP request, as srv_http.c hands it to srv_scep.c (borrowed). */
struct srv_request {
	const char	*path;		/* decoded path */
	const char	*query;		/* raw query, without '?' */
	const char	*method;
	const uint8_t	*body;
	size_t		 body_len;
	bool		 too_large;
	const char	*peer;
	const char	*authorization;	/* the header; NULL: none (admin) */
};

/* The answer: "body" is malloc'ed and handed to libmicrohttpd. */
struct srv_answer {
	int		 status;
	const char	*ctype;		/* static */
	uint8_t		*body;
	size_t		 len;
	const char	*op;		/* for the log line */
	const char	*www_auth;	/* a 401's WWW-Authenticate (static) */
	/* For the metrics: the endpoint's URI extension ("" if unknown) and
	 * what ra/ answered a PKIOperation (struct ra_reply). */
	char		 endpoint[128];
	const char	*msg_type;
	const char	*outcome;
	const char	*failinfo;
};

/* Route a request and fill the answer; never fails (500 at worst). */
void	srv_scep_answer(const struct conf *, struct ra *,
	    const struct srv_request *, struct srv_answer *);
/*
 * Does this request need a worker: a PKIOperation that may wait on an
 * upstream (SCM), Intune or a challenge webhook? Other local-CA
 * enrollments are answered inline.
 */
bool	srv_scep_is_slow(const struct conf *, struct ra *,
	    const struct srv_request *);

/*
 * The admin listener (srv_admin.c, docs/admin-api.md): the REST API
 * under /api/v1/ (bearer tokens) and NDES's /certsrv/mscep_admin/ page
 * (HTTP Basic). Authenticates, checks the token's scope, sets this
 * thread's audit actor to "token:NAME" for the one ra/ call and back to
 * "system" after. Never fails (500 at worst); never logs a token.
 */
void	srv_admin_answer(const struct conf *, struct ra *,
	    const struct srv_request *, struct srv_answer *);

/* ---- workers (srv_work.c) ---- */

/* A unit of work; run() must not free the job before it returns. */
struct srv_job {
	void	(*run)(struct srv_job *);
};
struct srv_work;

/*
 * Start "nthreads" workers with a queue of "queue" jobs, and a collector
 * calling ra_collect_pending() at start and every poll_interval seconds
 * (30 when it is 0).
 */
enum sg_rc	srv_work_start(struct ra *, size_t nthreads, size_t queue,
		    int poll_interval, struct srv_work **, struct sg_err *);
/* Queue a job; false when the queue is full or stopping (answer 503). */
bool		srv_work_submit(struct srv_work *, struct srv_job *);
/* Wait until no job is queued or running. */
void		srv_work_drain(struct srv_work *);
/* Finish queued jobs, stop the threads, free. NULL is allowed. */
void		srv_work_stop(struct srv_work *);

/* ---- metrics (srv_metrics.c) ---- */

/*
 * New, empty counters; the gauges come from "ra" (borrowed, outlives
 * them). Free with srv_metrics_free (NULL allowed).
 */
enum sg_rc	srv_metrics_new(struct srv_metrics **, struct ra *,
		    struct sg_err *);
void		srv_metrics_free(struct srv_metrics *);
/*
 * Count one answered request that took "us" microseconds: by endpoint,
 * operation and outcome, and PKIOperations in the latency histogram.
 * "a" is borrowed. Safe from any thread.
 */
void		srv_metrics_count(struct srv_metrics *,
		    const struct srv_answer *a, long us);
/* Count a 503: every worker was busy. */
void		srv_metrics_busy(struct srv_metrics *);
/* Prometheus text format 0.0.4 for /metrics; *out malloc'ed. */
enum sg_rc	srv_metrics_text(struct srv_metrics *, uint8_t **out,
		    size_t *len);

/*
 * The HTTPS listener's certificate and key (srv_tls.c), as the bytes
 * libmicrohttpd's MHD_OPTION_HTTPS_MEM_CERT / _KEY take: both
 * NUL-terminated PEM, the certificate followed by its chain. "key" is
 * wiped when freed.
 */
struct srv_tls {
	char			*cert;
	struct ra_secret	 key;	/* ra_secret_read(): key.data */
};

/*
 * Read the "group" ("listen", "admin") listener's tls_cert "cert" and
 * tls_key "key" into *out. The key follows ra_secret_read()'s rules
 * (regular file, mode 0600), the certificate must be a regular file;
 * both at most 1 MiB and holding PEM. SG_ECONF or SG_EIO with the key
 * and path in the message (never the content). On success free *out
 * with srv_tls_free().
 */
enum sg_rc	srv_tls_read(const char *group, const char *cert,
		    const char *key, struct srv_tls *out, struct sg_err *err);
/* Wipe the key, free both and zero *t; NULL allowed. */
void		srv_tls_free(struct srv_tls *t);

#endif /* SRV_INT_H */
