/*
 * /metrics: Prometheus text format 0.0.4. Every request is counted by
 * endpoint, operation and outcome as ra/ reported it (struct ra_reply),
 * PKIOperations also in a latency histogram by endpoint and messageType.
 * Label values come from a bounded set: operations and outcomes are
 * static words, endpoints are the URI extensions ra/ knows (srv_scep.c
 * sets one only when ra/ answered), and past SRV_MET_ROWS series a new
 * one is dropped and counted as such. The gauges (lockouts, undecided
 * transactions, certificates) are counted by the store (ra_gauges_get)
 * at most once per SRV_GAUGE_SECONDS, whatever the scrape rate.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "ra.h"
#include "sg_hist.h"
#include "srv_int.h"

#ifndef SG_VERSION
#define SG_VERSION	"unknown"
#endif

#define SRV_MET_ROWS	4096	/* series of each kind, at most */
#define SRV_GAUGE_SECONDS 5	/* the gauges' cache */

static const char *const op_names[] = {
	"GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation", "health",
	"other",
};
#define NOPS	(sizeof(op_names) / sizeof(op_names[0]))

/* Upper bounds of the latency buckets, seconds (RSA-2048 to a slow CA). */
static const double buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

/* One request counter series; the strings are static but "endpoint". */
struct met_row {
	char		 endpoint[128];
	const char	*op;
	const char	*msg_type;	/* PKIOperation, else NULL */
	const char	*outcome;
	const char	*failinfo;	/* when refused, else NULL */
	unsigned long	 n;
};

/* One histogram series. */
struct met_hist {
	char		 endpoint[128];
	const char	*msg_type;
	struct sg_hist	 h;
};

struct srv_metrics {
	pthread_mutex_t	 lock;		/* guards everything below */
	struct met_row	*rows;
	size_t		 nrows;
	struct met_hist	*hist;
	size_t		 nhist;
	unsigned long	 busy;		/* 503: worker queue full */
	unsigned long	 dropped;	/* series past SRV_MET_ROWS */

	/* Scrapes take turns here, so one store read serves them all. */
	pthread_mutex_t	 glock;		/* guards what follows */
	struct ra	*ra;		/* borrowed */
	struct ra_gauges gauges;
	time_t		 gauges_at;	/* 0: never read */
};

enum sg_rc
srv_metrics_new(struct srv_metrics **out, struct ra *ra, struct sg_err *err)
{
	struct srv_metrics	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->rows = calloc(SRV_MET_ROWS, sizeof(*m->rows))) == NULL ||
	    (m->hist = calloc(SRV_MET_ROWS, sizeof(*m->hist))) == NULL) {
		if (m != NULL)
			free(m->rows);
		free(m);
		return sg_err_set(err, SG_ENOMEM, "metrics");
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->glock, NULL);
	m->ra = ra;
	*out = m;
	return SG_OK;
}

void
srv_metrics_free(struct srv_metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->glock);
	free(m->rows);
	free(m->hist);
	free(m);
}

static const char *
op_name(const char *op)
{
	size_t	i;

	for (i = 0; op != NULL && i < NOPS - 1; i++)
		if (strcmp(op, op_names[i]) == 0)
			return op_names[i];
	return op_names[NOPS - 1];
}

/* What a request came to, in the words of the dashboard. */
static const char *
outcome_name(const struct srv_answer *a)
{
	if (a->outcome == NULL)
		return a->status >= 200 && a->status < 300 ? "success" :
		    "error";
	if (strcmp(a->outcome, "failure") == 0)
		return "refused";
	if (strcmp(a->outcome, "pending") == 0)
		return "pending";
	/* A certificate handed out: a new one, or one fetched by polling. */
	if (strcmp(a->msg_type, "PKCSReq") == 0 ||
	    strcmp(a->msg_type, "RenewalReq") == 0 ||
	    strcmp(a->msg_type, "CertPoll") == 0)
		return "issued";
	return "success";
}

static bool
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static struct met_row *
row_get(struct srv_metrics *m, const struct met_row *k)
{
	struct met_row	*r;
	size_t		 i;

	for (i = 0; i < m->nrows; i++) {
		r = &m->rows[i];
		if (r->op == k->op && same(r->failinfo, k->failinfo) &&
		    same(r->outcome, k->outcome) &&
		    same(r->msg_type, k->msg_type) &&
		    strcmp(r->endpoint, k->endpoint) == 0)
			return r;
	}
	if (m->nrows == SRV_MET_ROWS)
		return NULL;
	r = &m->rows[m->nrows++];
	*r = *k;
	return r;
}

static struct met_hist *
hist_get(struct srv_metrics *m, const char *endpoint, const char *msg_type)
{
	struct met_hist	*h;
	size_t		 i;

	for (i = 0; i < m->nhist; i++) {
		h = &m->hist[i];
		if (same(h->msg_type, msg_type) &&
		    strcmp(h->endpoint, endpoint) == 0)
			return h;
	}
	if (m->nhist == SRV_MET_ROWS)
		return NULL;
	h = &m->hist[m->nhist++];
	snprintf(h->endpoint, sizeof(h->endpoint), "%s", endpoint);
	h->msg_type = msg_type;
	sg_hist_init(&h->h, buckets, NBUCKETS);
	return h;
}

void
srv_metrics_count(struct srv_metrics *m, const struct srv_answer *a,
    long us)
{
	struct met_row	 k = { 0 };
	struct met_row	*r;
	struct met_hist	*h = NULL;

	snprintf(k.endpoint, sizeof(k.endpoint), "%s", a->endpoint);
	k.op = op_name(a->op);
	k.msg_type = a->outcome != NULL ? a->msg_type : NULL;
	k.outcome = outcome_name(a);
	if (strcmp(k.outcome, "refused") == 0)
		k.failinfo = a->failinfo;
	pthread_mutex_lock(&m->lock);
	if ((r = row_get(m, &k)) != NULL)
		r->n++;
	else
		m->dropped++;
	if (k.msg_type != NULL &&
	    (h = hist_get(m, k.endpoint, k.msg_type)) == NULL)
		m->dropped++;
	if (h != NULL)
		sg_hist_observe(&h->h, (double)us / 1e6);
	pthread_mutex_unlock(&m->lock);
}

void
srv_metrics_busy(struct srv_metrics *m)
{
	pthread_mutex_lock(&m->lock);
	m->busy++;
	pthread_mutex_unlock(&m->lock);
}

/* "s" as a label value: backslash, quote and newline escaped. */
static void
label(const char *s, char *out, size_t outsz)
{
	size_t	o = 0;

	for (; *s != '\0' && o + 3 < outsz; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n')
			out[o++] = '\\';
		out[o++] = *s == '\n' ? 'n' : *s;
	}
	out[o] = '\0';
}

static enum sg_rc
rows_text(const struct srv_metrics *m, struct sg_buf *b)
{
	const struct met_row	*r;
	char			 ep[260], fi[48];
	enum sg_rc		 rc;
	size_t			 i;

	rc = sg_buf_addstr(b, "# HELP scepgate_requests_total Requests by "
	    "endpoint (URI extension), operation, messageType and outcome: "
	    "issued, pending, refused (with failInfo), success, error.\n"
	    "# TYPE scepgate_requests_total counter\n");
	for (i = 0; rc == SG_OK && i < m->nrows; i++) {
		r = &m->rows[i];
		label(r->endpoint, ep, sizeof(ep));
		fi[0] = '\0';
		if (r->failinfo != NULL)
			snprintf(fi, sizeof(fi), ",failinfo=\"%s\"",
			    r->failinfo);
		rc = sg_buf_printf(b, "scepgate_requests_total{endpoint=\"%s\","
		    "operation=\"%s\",message_type=\"%s\",outcome=\"%s\"%s} "
		    "%lu\n", ep, r->op, r->msg_type != NULL ? r->msg_type : "",
		    r->outcome, fi, r->n);
	}
	return rc;
}

static enum sg_rc
hist_text(const struct srv_metrics *m, struct sg_buf *b)
{
	const struct met_hist	*h;
	char			 ep[260], lab[400];
	enum sg_rc		 rc;
	size_t			 i;

	rc = sg_buf_addstr(b, "# HELP scepgate_pkioperation_seconds Time to "
	    "answer a PKIOperation, by endpoint and messageType.\n"
	    "# TYPE scepgate_pkioperation_seconds histogram\n");
	for (i = 0; rc == SG_OK && i < m->nhist; i++) {
		h = &m->hist[i];
		label(h->endpoint, ep, sizeof(ep));
		snprintf(lab, sizeof(lab), "endpoint=\"%s\",message_type=\"%s\"",
		    ep, h->msg_type);
		rc = sg_hist_text(&h->h, "scepgate_pkioperation_seconds", lab,
		    b);
	}
	return rc;
}

static enum sg_rc
misc_text(const struct srv_metrics *m, struct sg_buf *b)
{
	return sg_buf_printf(b, "# HELP scepgate_build_info The running "
	    "build; the value is always 1.\n"
	    "# TYPE scepgate_build_info gauge\n"
	    "scepgate_build_info{version=\"%s\",libmicrohttpd=\"%s\"} 1\n"
	    "# HELP scepgate_busy_total Requests refused with 503 because "
	    "every worker was busy.\n"
	    "# TYPE scepgate_busy_total counter\n"
	    "scepgate_busy_total %lu\n"
	    "# HELP scepgate_metrics_dropped_total Counts not kept: more "
	    "than %d series.\n"
	    "# TYPE scepgate_metrics_dropped_total counter\n"
	    "scepgate_metrics_dropped_total %lu\n",
	    SG_VERSION, MHD_get_version(), m->busy, SRV_MET_ROWS, m->dropped);
}

/*
 * The gauges, read again when the cache is older than SRV_GAUGE_SECONDS.
 * A failed read leaves them out of this scrape (logged), rather than
 * showing stale numbers as current.
 */
static enum sg_rc
gauge_text(struct srv_metrics *m, struct sg_buf *b)
{
	struct ra_gauges	g;
	struct sg_err		e;
	time_t			now = time(NULL);
	enum sg_rc		rc = SG_OK;
	bool			ok = true;

	pthread_mutex_lock(&m->glock);
	if (m->gauges_at == 0 || now - m->gauges_at >= SRV_GAUGE_SECONDS ||
	    now < m->gauges_at) {
		if ((ok = ra_gauges_get(m->ra, now, &m->gauges, &e) ==
		    SG_OK))
			m->gauges_at = now;
		else
			sg_log(SG_LOG_ERR, "metrics: gauges: %s", e.msg);
	}
	g = m->gauges;
	pthread_mutex_unlock(&m->glock);
	if (ok)
		rc = sg_buf_printf(b, "# HELP scepgate_lockouts Locked out "
		    "now for wrong access codes: sources (per endpoint) and "
		    "endpoints at their ceiling.\n"
		    "# TYPE scepgate_lockouts gauge\n"
		    "scepgate_lockouts{kind=\"source\"} %lld\n"
		    "scepgate_lockouts{kind=\"endpoint\"} %lld\n"
		    "# HELP scepgate_transactions Transactions not decided "
		    "yet, by status.\n"
		    "# TYPE scepgate_transactions gauge\n"
		    "scepgate_transactions{status=\"new\"} %lld\n"
		    "scepgate_transactions{status=\"pending\"} %lld\n"
		    "# HELP scepgate_certificates Certificates issued through "
		    "scepgate: valid (not expired) and revoked.\n"
		    "# TYPE scepgate_certificates gauge\n"
		    "scepgate_certificates{status=\"valid\"} %lld\n"
		    "scepgate_certificates{status=\"revoked\"} %lld\n"
		    "# HELP scepgate_certificates_expiring Valid certificates "
		    "whose notAfter is within %d days.\n"
		    "# TYPE scepgate_certificates_expiring gauge\n"
		    "scepgate_certificates_expiring %lld\n",
		    (long long)g.locked_sources, (long long)g.locked_endpoints,
		    (long long)g.txn_new, (long long)g.txn_pending,
		    (long long)g.certs_valid, (long long)g.certs_revoked,
		    RA_EXPIRING_DAYS, (long long)g.certs_expiring);
	return rc;
}

enum sg_rc
srv_metrics_text(struct srv_metrics *m, uint8_t **out, size_t *len)
{
	struct sg_buf	b = { 0 };
	enum sg_rc	rc;

	pthread_mutex_lock(&m->lock);
	if ((rc = misc_text(m, &b)) == SG_OK &&
	    (rc = rows_text(m, &b)) == SG_OK)
		rc = hist_text(m, &b);
	pthread_mutex_unlock(&m->lock);
	if (rc == SG_OK)
		rc = gauge_text(m, &b);
	if (rc == SG_OK)
		rc = ra_http_metrics_text(&b);
	if (rc != SG_OK) {
		sg_buf_free(&b);
		return rc;
	}
	*out = b.data;
	*len = b.len;
	return SG_OK;
}
