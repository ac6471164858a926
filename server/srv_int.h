/* Shared inside server/ only. */
#ifndef SRV_INT_H
#define SRV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

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
};

/* The answer: "body" is malloc'ed and handed to libmicrohttpd. */
struct srv_answer {
	int		 status;
	const char	*ctype;		/* static */
	uint8_t		*body;
	size_t		 len;
	const char	*op;		/* for the log line */
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
/* Does this request need a worker (a PKIOperation)? */
bool	srv_scep_is_slow(const struct srv_request *);

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

/* New, empty counters; free with srv_metrics_free (NULL allowed). */
enum sg_rc	srv_metrics_new(struct srv_metrics **, struct sg_err *);
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

#endif /* SRV_INT_H */
