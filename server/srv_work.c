/*
 * Worker threads for PKIOperation. libmicrohttpd's threads only parse
 * HTTP and answer the static operations; a PKIOperation suspends its
 * connection, runs here (RSA work, the store, a possibly slow upstream)
 * and resumes it, so that a slow upstream never holds GetCACaps hostage
 * (DESIGN.md) and the thread count stays fixed. A background collector
 * fetches pending upstream orders and resolves stuck transactions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra.h"
#include "srv_int.h"

/* Seconds between recoveries of stuck transactions with no collect. */
#define SRV_RECOVER_INTERVAL	30

struct srv_work {
	pthread_mutex_t	  lock;		/* guards everything below */
	pthread_cond_t	  more;		/* a job was queued, or stop */
	pthread_cond_t	  idle;		/* a job finished */
	pthread_cond_t	  stop;		/* the collector's: stopping */
	struct srv_job	**queue;	/* ring buffer of "cap" slots */
	size_t		  cap, head, len;
	size_t		  running;
	bool		  stopping;
	pthread_t	 *threads;
	size_t		  nthreads;
	pthread_t	  collector;
	bool		  have_collector;
	pthread_t	  notifier;	/* webhook outbox delivery */
	bool		  have_notifier;
	int		  poll_interval;
	int		  tick;		/* collector period, s */
	struct ra	 *ra;
};

static void *
worker(void *arg)
{
	struct srv_work	*w = arg;
	struct srv_job	*job;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->len == 0 && !w->stopping)
			pthread_cond_wait(&w->more, &w->lock);
		if (w->len == 0)
			break;		/* stopping, and nothing left */
		job = w->queue[w->head];
		w->head = (w->head + 1) % w->cap;
		w->len--;
		w->running++;
		pthread_mutex_unlock(&w->lock);
		job->run(job);		/* resumes its connection */
		pthread_mutex_lock(&w->lock);
		w->running--;
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * Collect pending upstream orders every poll_interval seconds, and run
 * Intune's revocation job when it is due (ra_intune_revocations_run
 * keeps each account's schedule): the thread wakes at the shorter of
 * the two intervals.
 */
static void *
collector(void *arg)
{
	struct srv_work	*w = arg;
	struct timespec	 until;
	size_t		 n;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		/* At start too: what a crash left in NEW (issue 10). */
		pthread_mutex_unlock(&w->lock);
		if ((n = ra_collect_pending(w->ra)) > 0)
			sg_log(SG_LOG_INFO, "collector: %zu transaction(s) "
			    "finished or recovered", n);
		(void)ra_intune_revocations_run(w->ra);
		pthread_mutex_lock(&w->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += w->tick;
		/*
		 * Not on "more": a submit's signal would wake the collector
		 * instead of a worker and leave the job queued.
		 */
		while (!w->stopping && pthread_cond_timedwait(&w->stop,
		    &w->lock, &until) != ETIMEDOUT)
			continue;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * Deliver the webhook outbox every RA_WEBHOOK_TICK seconds, apart from
 * the collector so that a slow receiver never delays collects.
 */
static void *
notifier(void *arg)
{
	struct srv_work	*w = arg;
	struct timespec	 until;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		pthread_mutex_unlock(&w->lock);
		(void)ra_webhook_deliver(w->ra);
		pthread_mutex_lock(&w->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RA_WEBHOOK_TICK;
		while (!w->stopping && pthread_cond_timedwait(&w->stop,
		    &w->lock, &until) != ETIMEDOUT)
			continue;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

enum sg_rc
srv_work_start(struct ra *ra, size_t nthreads, size_t queue,
    int poll_interval, struct srv_work **out, struct sg_err *err)
{
	struct srv_work	*w;
	size_t		 i;
	int		 rev;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->queue = calloc(queue, sizeof(*w->queue))) == NULL ||
	    (w->threads = calloc(nthreads, sizeof(*w->threads))) == NULL) {
		if (w != NULL)
			free(w->queue);
		free(w);
		return sg_err_set(err, SG_ENOMEM, "workers");
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->idle, NULL);
	pthread_cond_init(&w->stop, NULL);
	w->cap = queue;
	w->ra = ra;
	/* Without upstream orders it still recovers stuck transactions. */
	w->poll_interval = poll_interval > 0 ? poll_interval :
	    SRV_RECOVER_INTERVAL;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, worker, w) != 0)
			break;
		w->nthreads++;
	}
	if (w->nthreads == 0) {
		srv_work_stop(w);
		return sg_err_set(err, SG_EINTERNAL, "cannot start workers");
	}
	w->tick = w->poll_interval;
	if ((rev = ra_intune_revocation_interval(ra)) > 0 && rev < w->tick)
		w->tick = rev;
	if (pthread_create(&w->collector, NULL, collector, w) == 0)
		w->have_collector = true;
	if (pthread_create(&w->notifier, NULL, notifier, w) == 0)
		w->have_notifier = true;
	*out = w;
	return SG_OK;
}

bool
srv_work_submit(struct srv_work *w, struct srv_job *job)
{
	bool	ok = false;

	pthread_mutex_lock(&w->lock);
	if (!w->stopping && w->len < w->cap) {
		w->queue[(w->head + w->len) % w->cap] = job;
		w->len++;
		pthread_cond_signal(&w->more);
		ok = true;
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

void
srv_work_drain(struct srv_work *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->len > 0 || w->running > 0)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void
srv_work_stop(struct srv_work *w)
{
	size_t	i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->more);
	pthread_cond_broadcast(&w->stop);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	if (w->have_collector)
		pthread_join(w->collector, NULL);
	if (w->have_notifier)
		pthread_join(w->notifier, NULL);
	pthread_cond_destroy(&w->more);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->stop);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w->queue);
	free(w);
}
