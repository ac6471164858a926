/*
 * The audit log (DESIGN.md: every failure and every admin change is
 * audited, without secrets): device records for SCEP operations, admin
 * records for scepctl, and the listing. Refusals of requests nobody
 * authenticated are audited once per source and window, then counted
 * (docs/lockout.md), so that refused requests cannot fill the disk.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ra_int.h"

/*
 * Per thread: the admin API's workers each act for their own token, and
 * scepctl's one thread for its user.
 */
static _Thread_local char	tl_actor[96];

void
ra_set_actor(struct ra *ra, const char *actor)
{
	(void)ra;
	snprintf(tl_actor, sizeof(tl_actor), "%s", actor);
}

const char *
ra_actor(void)
{
	return tl_actor[0] != '\0' ? tl_actor : "system";
}

/* One admin audit record; a refusal records why (never a secret). */
static void
audit_write(struct ra *ra, const char *action, const char *endpoint,
    const char *account, const char *transid, enum sg_rc rc,
    const struct sg_err *err, const char *details)
{
	struct ra_audit	a = { 0 };
	struct sg_err	e;
	char		buf[512];

	if (details != NULL && details[0] == '\0')
		details = NULL;
	if (rc != SG_OK && err != NULL && err->msg[0] != '\0') {
		snprintf(buf, sizeof(buf), "%s%s%s", details ? details : "",
		    details ? ": " : "", err->msg);
		details = buf;
	}
	a.actor = ra_actor();
	a.endpoint = endpoint;
	a.account = account;
	a.transid = transid;
	a.action = action;
	a.outcome = rc == SG_OK ? "success" : "failure";
	a.details = details;
	if (ra_store_audit_add(ra->store, &a, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "%s: cannot write the audit record: %s",
		    action, e.msg);
}

void
ra_audit_admin(struct ra *ra, const char *action, const char *endpoint,
    const char *account, enum sg_rc rc, const struct sg_err *err,
    const char *details)
{
	audit_write(ra, action, endpoint, account, NULL, rc, err, details);
}

void
ra_audit_txn(struct ra *ra, const char *action, const struct ra_txn *t,
    enum sg_rc rc, const struct sg_err *err, const char *details)
{
	struct ra_endpoint	ep = { 0 };
	struct ra_account	acct = { 0 };
	struct sg_err		e;

	/* Best effort: a record without the names beats no record. */
	if (t->endpoint_id > 0 && ra_store_endpoint_by_id(ra->store,
	    t->endpoint_id, &ep, &e) != SG_OK)
		sg_log(SG_LOG_WARN, "%s: endpoint: %s", action, e.msg);
	if (t->account_id > 0 && ra_store_account_by_id(ra->store,
	    t->account_id, &acct, &e) != SG_OK)
		sg_log(SG_LOG_WARN, "%s: account: %s", action, e.msg);
	audit_write(ra, action, ep.name[0] ? ep.name : NULL,
	    acct.name[0] ? acct.name : NULL,
	    t->transid[0] ? t->transid : NULL, rc, err, details);
}

/*
 * Is "op" a refusal of a request nobody authenticated that its source's
 * open window only counts (ra_store_refusal_add)? False for the one that
 * opens a window, and for everything else: those get a record each.
 */
static bool
refusal_counted(struct ra_op *op)
{
	struct ra_refusal	r;
	struct sg_err		e;
	char			src[80];
	bool			first = true;

	if (op->status != P7_STATUS_FAILURE || op->account[0] != '\0')
		return false;
	ra_throttle_source(op->ra->conf, op->peer, src, sizeof(src));
	r.source = src;
	r.endpoint = op->ep.name;
	r.reason = op->failtext != NULL ? op->failtext : "request refused";
	if (ra_store_refusal_add(op->ra->store, &r, (int64_t)time(NULL),
	    op->ra->conf->refusal_seconds, &first, &e) != SG_OK) {
		sg_log(SG_LOG_ERR, "transid=%s: cannot count the refusal: %s",
		    op->tid, e.msg);
		return false;
	}
	return !first;
}

void
ra_audit_op(struct ra_op *op, const char *outcome)
{
	struct ra_audit	 a = { 0 };
	struct sg_err	 e;
	char		 actor[96];
	char		 details[sizeof(op->err.msg) + SG_REQID_MAX + 16];

	if (refusal_counted(op))
		return;
	snprintf(actor, sizeof(actor), "device@%s", op->peer);
	/* The request id ties the record to the log lines (operations.md). */
	snprintf(details, sizeof(details), "%s%srequest_id=%s", op->err.msg,
	    op->err.msg[0] ? "; " : "", sg_log_reqid());
	a.actor = actor;
	a.endpoint = op->ep.name;
	a.account = op->account[0] ? op->account : NULL;
	a.transid = op->msg->transid;
	a.action = p7_type_name(op->msg->type);
	a.outcome = outcome;
	a.details = sg_log_reqid()[0] ? details : op->err.msg[0] ?
	    op->err.msg : NULL;
	if (ra_store_audit_add(op->ra->store, &a, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "transid=%s: cannot write the audit record: "
		    "%s", op->tid, e.msg);
}

enum sg_rc
ra_audit_list(struct ra *ra, const struct ra_audit_filter *f,
    struct ra_audit_rec **out, size_t *n, struct sg_err *err)
{
	enum sg_rc	rc;

	/* Windows that have closed become records first. */
	if ((rc = ra_store_refusal_add(ra->store, NULL, (int64_t)time(NULL),
	    ra->conf->refusal_seconds, NULL, err)) != SG_OK)
		return rc;
	return ra_store_audit_list(ra->store, f, out, n, err);
}

enum sg_rc
ra_audit_prune(struct ra *ra, int64_t before, int64_t first, int64_t last,
    int64_t count, const char *file, const char *digest,
    struct sg_err *err)
{
	struct ra_audit	a = { 0 };
	char		details[512];
	enum sg_rc	rc;

	snprintf(details, sizeof(details), "records %lld..%lld (%lld) "
	    "before %lld, exported to %s (sha256 %s)", (long long)first,
	    (long long)last, (long long)count, (long long)before, file,
	    digest);
	a.actor = ra_actor();
	a.action = "audit prune";
	a.outcome = "success";
	a.details = details;
	rc = ra_store_audit_prune(ra->store, before, first, last, count, &a,
	    err);
	if (rc != SG_OK)
		ra_audit_admin(ra, "audit prune", NULL, NULL, rc, err, details);
	return rc;
}
