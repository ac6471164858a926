/*
 * Intune endpoints (device-intune, client-intune) in the enrollment
 * path, and Intune's revocation requests (reference/intune-scep.md
 * sections 5, 6, 7 and 10; docs/intune.md says what is enforced).
 *
 * A PKCSReq there is admitted by validateRequest, not an access code;
 * it is issued with the endpoint's own settings; Intune has no PENDING
 * (correction 8), so an asynchronous upstream is waited for within
 * azure.issue_wait; then successNotification or failureNotification.
 * Everything fails closed. The Intune client itself is ra_intune.c.
 *
 * Calls point down only: ra_enroll.c calls here; this file calls
 * ra_txn.c, ra_cert.c and the helpers, never ra.c or ra_admin.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ra_csr_msft.h"
#include "ra_int.h"
#include "ra_intune.h"

/* CRL reason of a revocation Intune asked for: the device is retired. */
#define INTUNE_REV_REASON	5	/* cessationOfOperation */
/* Requests taken per download (section 7 allows 1..500). */
#define INTUNE_REV_BATCH	100

bool
ra_ep_intune(const struct ra_endpoint *ep)
{
	return ep->type == RA_EP_DEVICE_INTUNE ||
	    ep->type == RA_EP_CLIENT_INTUNE;
}

/* The client of Azure account "name" and its settings, or NULL. */
static struct ra_intune *
client_of(struct ra *ra, const char *name, const struct conf_azure **az)
{
	size_t	i;

	for (i = 0; i < ra->nintune; i++) {
		if (strcmp(ra->conf->azure[i].name, name) != 0)
			continue;
		if (az != NULL)
			*az = &ra->conf->azure[i];
		return ra->intune[i];
	}
	return NULL;
}

bool
ra_intune_admit(struct ra_op *op, const struct p7_csr *csr)
{
	struct ra_intune_verdict v;
	struct ra_intune	*in;
	struct sg_err		 e;
	enum sg_rc		 rc;

	if ((in = client_of(op->ra, op->ep.azure, NULL)) == NULL) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused", "Azure "
		    "account '%s' of this endpoint is not in the "
		    "configuration", op->ep.azure);
		return false;
	}
	/* The CSR rules first: a request we would refuse is not validated. */
	if (ra_policy_check_csr(&op->ep, csr, true, &e) != SG_OK) {
		ra_op_fail_err(op, &e);
		op->failtext = op->err.msg;	/* as admit() does */
		return false;
	}
	/* The CSR exactly as decrypted: the challenge blob is inside (5.1). */
	rc = ra_intune_validate(in, op->msg->transid, op->msg->data,
	    op->msg->data_len, &v, &e);
	if (rc == SG_OK)
		return true;
	if (rc == SG_EPOLICY) {
		/* Intune's code is for the device's admin; no secret. */
		ra_op_fail(op, SG_FAIL_BADREQUEST, NULL, "Intune: %s", v.code);
		op->failtext = op->err.msg;
		sg_log(SG_LOG_WARN, "transid=%s: Intune refused the request: "
		    "%s: %s", op->tid, v.code, v.text);
		return false;
	}
	/* Intune could not be asked: no certificate (fail closed, 5.5). */
	ra_op_fail(op, SG_FAIL_BADREQUEST, "Intune validation unavailable",
	    "Intune validateRequest failed: %s", e.msg);
	return false;
}

/*
 * The CSR's ValidityPeriod (Windows, Android; correction 7) shortens
 * the endpoint's term, never lengthens it. A malformed attribute is
 * logged and the term applies: Intune has validated the CSR already.
 */
static void
clamp_term(struct ra_op *op, const struct p7_csr *csr,
    struct ra_endpoint *ep)
{
	struct sg_err	e;
	long		days = 0;

	if (ra_csr_msft_validity(csr->req, &days, &e) != SG_OK) {
		sg_log(SG_LOG_WARN, "transid=%s: ValidityPeriod ignored, the "
		    "term of %d days applies: %s", op->tid, ep->term_days,
		    e.msg);
		return;
	}
	if (days > 0 && days < ep->term_days) {
		sg_log(SG_LOG_INFO, "transid=%s: ValidityPeriod of %ld days "
		    "(term %d)", op->tid, days, ep->term_days);
		ep->term_days = (int)days;
	}
}

/* Finish a transaction that did not end well: REJECTED with "why". */
static void
txn_reject(struct ra *ra, struct ra_txn *t, enum ra_req_status from,
    const char *why)
{
	struct sg_err	e;

	t->status = RA_REQ_REJECTED;
	t->failinfo = SG_FAIL_BADREQUEST;
	snprintf(t->reason, sizeof(t->reason), "%s", why);
	if (ra_store_txn_update(ra->store, t, from, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transaction %lld: %s", (long long)t->id,
		    e.msg);
}

/*
 * Intune has no PENDING: wait for the upstream's order within
 * azure.issue_wait seconds, collecting it (or seeing the background
 * collector finish it), then REJECTED if it is still not there.
 */
static void
wait_upstream(struct ra_op *op, const struct conf_azure *az,
    struct ra_txn *t)
{
	struct ra_txn	cur;
	struct sg_err	e;
	char		why[256];
	time_t		until = time(NULL) + az->issue_wait, now;
	int		step = op->ra->conf->upstream.poll_interval;

	/* Collect at the upstream's pace, at least every 5 s. */
	if (step <= 0 || step > 5)
		step = step <= 0 ? 1 : 5;
	while (t->status == RA_REQ_PENDING && (now = time(NULL)) < until) {
		sleep((unsigned int)(until - now < step ? until - now : step));
		if (ra_store_txn_find(op->ra->store, t->endpoint_id,
		    t->transid, &cur, &e) == SG_OK && cur.id == t->id &&
		    cur.status != RA_REQ_PENDING) {
			*t = cur;	/* the collector finished it */
			break;
		}
		(void)ra_txn_collect(op->ra, t);
	}
	if (t->status != RA_REQ_PENDING)
		return;
	snprintf(why, sizeof(why), "the upstream did not issue order %s "
	    "within %d s (azure.issue_wait; Intune has no PENDING)",
	    t->order_id, az->issue_wait);
	txn_reject(op->ra, t, RA_REQ_PENDING, why);
}

/*
 * successNotification failed and the reference says the certificate
 * must not be handed out (5.5): the transaction becomes REJECTED and
 * the undelivered certificate is revoked, so that it is never used.
 */
static void
withhold(struct ra_op *op, struct ra_txn *t, const struct sg_err *why)
{
	struct sg_err	e;
	char		reason[256];

	snprintf(reason, sizeof(reason), "Intune successNotification "
	    "failed, certificate %s withheld: %s", t->serial, why->msg);
	txn_reject(op->ra, t, RA_REQ_ISSUED, reason);
	if (ra_cert_revoke(op->ra, t->serial, INTUNE_REV_REASON, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: withheld serial %s not "
		    "revoked: %s", op->tid, t->serial, e.msg);
}

/* failureNotification after a good validation (5.3); best effort. */
static void
notify_failure(struct ra_op *op, struct ra_intune *in, int32_t hr,
    const char *desc)
{
	struct sg_err	e;

	if (ra_intune_notify_failure(in, op->msg->transid, op->msg->data,
	    op->msg->data_len, hr, desc, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: Intune failureNotification: "
		    "%s", op->tid, e.msg);
}

enum sg_rc
ra_intune_issue(struct ra_op *op, const struct p7_csr *csr,
    struct ra_txn *t, X509 **out, struct sg_err *err)
{
	const struct conf_azure	*az = NULL;
	struct ra_intune	*in;
	struct ra_endpoint	 ep = op->ep;
	struct sg_err		 e;
	X509			*x = NULL;
	enum sg_rc		 rc;

	*out = NULL;
	if ((in = client_of(op->ra, op->ep.azure, &az)) == NULL)
		return sg_err_set(err, SG_EINTERNAL, "Azure account '%s' "
		    "vanished", op->ep.azure);
	clamp_term(op, csr, &ep);
	if ((rc = ra_txn_issue(op->ra, &ep, NULL, csr, t, NULL, &x, err)) !=
	    SG_OK) {
		notify_failure(op, in, RA_INTUNE_HR_UNEXPECTED,
		    "scepgate could not record the certificate");
		return rc;
	}
	if (t->status == RA_REQ_PENDING) {
		wait_upstream(op, az, t);
		if (t->status == RA_REQ_REJECTED) {
			notify_failure(op, in, RA_INTUNE_HR_TIMEOUT, t->reason);
			return SG_OK;
		}
	}
	if (t->status == RA_REQ_REJECTED) {
		notify_failure(op, in, RA_INTUNE_HR_FAIL, t->reason);
		return SG_OK;
	}
	if (x == NULL && (rc = ra_cert_load(op->ra, t->serial, NULL, NULL, &x,
	    err)) != SG_OK)
		return rc;
	if (ra_intune_notify_success(in, op->msg->transid, op->msg->data,
	    op->msg->data_len, x, &e) != SG_OK) {
		if (az->wait_success) {
			withhold(op, t, &e);
			X509_free(x);
			return SG_OK;
		}
		sg_log(SG_LOG_WARN, "transid=%s: Intune successNotification "
		    "failed, certificate delivered anyway "
		    "(wait_for_success_notification = false): %s", op->tid,
		    e.msg);
	}
	*out = x;
	return SG_OK;
}

/* ---- revocations requested by Intune (section 7) ---- */

int
ra_intune_revocation_interval(const struct ra *ra)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < ra->nintune; i++)
		if (ra->conf->azure[i].revocation && (n == 0 ||
		    ra->conf->azure[i].revocation_interval < n))
			n = ra->conf->azure[i].revocation_interval;
	return n;
}

/* Was certificate "c" issued through an Intune endpoint of "azure"? */
static bool
issued_for(struct ra *ra, const struct ra_cert *c, const char *azure)
{
	struct ra_endpoint	ep;
	struct sg_err		e;

	return ra_store_endpoint_get(ra->store, c->endpoint, false, &ep,
	    &e) == SG_OK &&
	    ra_ep_intune(&ep) && strcmp(ep.azure, azure) == 0;
}

/*
 * Answer one request: revoke through the upstream, or say why not
 * (CARequestErrorCodes). Only certificates of this account's Intune
 * endpoints: another tenant's serial is "not found". Audited.
 */
static void
revoke_one(struct ra *ra, const char *azure, const struct ra_intune_revreq *rq,
    struct ra_intune_revres *res, char *msg, size_t msgsz)
{
	struct ra_cert	c, now;
	struct sg_err	e;
	char		details[512];
	enum sg_rc	rc;

	memset(&c, 0, sizeof(c));
	sg_err_clear(&e);
	res->context = rq->context;
	res->succeeded = false;
	rc = ra_cert_get(ra, rq->serial, &c, NULL, &e);
	if (rc == SG_ENOTFOUND || (rc == SG_OK && !issued_for(ra, &c, azure))) {
		res->code = RA_INTUNE_CAERR_NOT_FOUND;
		rc = sg_err_set(&e, SG_ENOTFOUND, "no certificate with serial "
		    "%s from this Azure account's endpoints", rq->serial);
	} else if (rc != SG_OK)
		res->code = RA_INTUNE_CAERR_RETRY;
	else if (c.status == RA_CERT_REVOKED) {
		res->code = RA_INTUNE_CAERR_CONFLICT;
		rc = sg_err_set(&e, SG_EPOLICY, "serial %s is revoked already",
		    c.serial);
	} else if ((rc = ra_cert_revoke(ra, c.serial, INTUNE_REV_REASON,
	    &e)) == SG_OK ||
	    (ra_cert_get(ra, c.serial, &now, NULL, NULL) == SG_OK &&
	    now.status == RA_CERT_REVOKED)) {
		/* Revoked; only the CRL refresh may have failed (logged). */
		res->succeeded = true;
		res->code = RA_INTUNE_CAERR_NONE;
		rc = SG_OK;
	} else
		res->code = rc == SG_EUPSTREAM ? RA_INTUNE_CAERR_RETRY :
		    RA_INTUNE_CAERR_SERVICE;
	snprintf(msg, msgsz, "%s", res->succeeded ? "" : e.msg);
	res->message = msg;
	snprintf(details, sizeof(details), "azure %s: request %s: serial %s: "
	    "%s (code %d)", azure, rq->context, rq->serial,
	    res->succeeded ? "revoked" : "not revoked", res->code);
	ra_audit_admin(ra, "intune revocation", c.endpoint[0] ? c.endpoint :
	    NULL, NULL, rc, &e, details);
}

/* One account's run: download, answer each request, upload. */
static size_t
revocations_one(struct ra *ra, size_t i)
{
	const char		*name = ra->conf->azure[i].name;
	struct ra_intune_revreq	*rq = NULL;
	struct ra_intune_revres	*res = NULL;
	struct sg_err		 e;
	char			(*msgs)[256] = NULL;
	size_t			 n = 0, j, done = 0;
	enum sg_rc		 rc;

	rc = ra_intune_revocations_download(ra->intune[i], INTUNE_REV_BATCH,
	    NULL, &rq, &n, &e);
	if (rc != SG_OK) {
		sg_log(SG_LOG_ERR, "azure %s: revocation requests: %s", name,
		    e.msg);
		goto out;
	}
	if (n == 0)
		goto out;
	if ((res = calloc(n, sizeof(*res))) == NULL ||
	    (msgs = calloc(n, sizeof(*msgs))) == NULL) {
		sg_log(SG_LOG_ERR, "azure %s: revocations: out of memory",
		    name);
		goto out;
	}
	for (j = 0; j < n; j++)
		revoke_one(ra, name, &rq[j], &res[j], msgs[j],
		    sizeof(msgs[j]));
	rc = ra_intune_revocations_upload(ra->intune[i], res, n, &e);
	ra_audit_admin(ra, "intune revocation upload", NULL, NULL, rc, &e,
	    name);
	if (rc != SG_OK) {
		sg_log(SG_LOG_ERR, "azure %s: revocation results: %s", name,
		    e.msg);
		goto out;
	}
	done = n;
	sg_log(SG_LOG_INFO, "azure %s: %zu revocation request(s) answered",
	    name, n);
out:
	free(msgs);
	free(res);
	free(rq);
	return done;
}

/*
 * Does this instance run account i's job now? Several instances on one
 * database take a lease on it in turn: the holder keeps it from run to
 * run (one and a half intervals), another takes it over once the
 * holder stopped renewing. A store failure skips the run.
 */
static bool
rev_lease(struct ra *ra, size_t i, time_t now)
{
	const struct conf_azure	*az = &ra->conf->azure[i];
	char			 name[160];
	struct sg_err		 e;
	bool			 taken = false;
	int64_t			 until = (int64_t)now +
	    az->revocation_interval + az->revocation_interval / 2;

	snprintf(name, sizeof(name), "intune-revocations:%s", az->name);
	if (ra_store_lease_take(ra->store, name, ra_store_instance(ra->store),
	    (int64_t)now, until, &taken, &e) != SG_OK) {
		sg_log(SG_LOG_ERR, "azure %s: revocation lease: %s", az->name,
		    e.msg);
		return false;
	}
	if (!taken)
		sg_log(SG_LOG_DEBUG, "azure %s: revocations run by another "
		    "instance", az->name);
	return taken;
}

size_t
ra_intune_revocations_run(struct ra *ra)
{
	const struct conf_azure	*az;
	time_t			 now = time(NULL);
	size_t			 i, n = 0;

	for (i = 0; i < ra->nintune; i++) {
		az = &ra->conf->azure[i];
		if (!az->revocation || now < ra->intune_rev_due[i])
			continue;
		ra->intune_rev_due[i] = now + az->revocation_interval;
		if (rev_lease(ra, i, now))
			n += revocations_one(ra, i);
	}
	return n;
}
