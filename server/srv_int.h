/* Shared inside server/ only. */
#ifndef SRV_INT_H
#define SRV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <stdatomic.h>

#include "sg.h"

struct conf;
struct ra;

/* Request counters for /metrics, updated without locks. */
#define SRV_OP_MAX	6	/* GetCACaps ... other, see srv_http.c */
struct srv_metrics {
	atomic_ulong	requests[SRV_OP_MAX][6];	/* by op, status class */
	atomic_ulong	busy;		/* 503: worker queue full */
	atomic_ulong	usec_total[SRV_OP_MAX];
};

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
 * Start "nthreads" workers with a queue of "queue" jobs, and when
 * poll_interval > 0 a collector calling ra_collect_pending() that often.
 */
enum sg_rc	srv_work_start(struct ra *, size_t nthreads, size_t queue,
		    int poll_interval, struct srv_work **, struct sg_err *);
/* Queue a job; false when the queue is full or stopping (answer 503). */
bool		srv_work_submit(struct srv_work *, struct srv_job *);
/* Wait until no job is queued or running. */
void		srv_work_drain(struct srv_work *);
/* Finish queued jobs, stop the threads, free. NULL is allowed. */
void		srv_work_stop(struct srv_work *);

/* ---- metrics (srv_http.c) ---- */

/* Prometheus text for /metrics; *out malloc'ed. */
enum sg_rc	srv_metrics_text(const struct srv_metrics *, uint8_t **out,
		    size_t *len);

#endif /* SRV_INT_H */
