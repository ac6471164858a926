/*
 * The transaction state machine (RFC 8894 3.3, DESIGN.md): new ->
 * pending -> issued | rejected, keyed by endpoint and transactionID.
 * Resume an earlier transactionID, issue or order at the upstream,
 * collect pending orders, approve or reject by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra_int.h"
#include "ra_webhook.h"

/* The record of certificate "x" of transaction "t"; *der: OPENSSL_free. */
static enum sg_rc
cert_rec(const struct ra_txn *t, X509 *x, struct ra_cert_rec *cr,
    unsigned char **der, struct sg_err *err)
{
	struct tm		 tm;
	BIO			*b = NULL;
	int			 n;

	memset(cr, 0, sizeof(*cr));
	snprintf(cr->serial, sizeof(cr->serial), "%s", t->serial);
	cr->endpoint_id = t->endpoint_id;
	cr->account_id = t->account_id;
	cr->txn_id = t->id;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
		    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		n = BIO_read(b, cr->subject, sizeof(cr->subject) - 1);
		cr->subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		cr->not_before = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		cr->not_after = (int64_t)timegm(&tm);
	*der = NULL;
	if ((n = i2d_X509(x, der)) <= 0)
		return sg_err_set(err, SG_EINTERNAL, "encode certificate");
	cr->der = *der;
	cr->der_len = (size_t)n;
	return SG_OK;
}

/*
 * Record certificate "x" as the outcome of transaction "t" (still in
 * state "from"), with audit record "au" (NULL: none; its details are
 * t's reason), in one store call: the certificate, ISSUED, and the
 * one a renewal replaces superseded (RFC 8894 2.4: it stays valid, but
 * cannot renew again) are one commit, or nothing is written and "t"
 * stays in "from" (issue 10: no certificate without its transaction).
 */
static enum sg_rc
txn_set_issued(struct ra *ra, struct ra_txn *t, X509 *x,
    const struct ra_audit *au, enum ra_req_status from, struct sg_err *e)
{
	char			 details[sizeof(t->reason) + SG_REQID_MAX + 16];
	struct ra_cert_rec	 cr;
	struct ra_audit		 a;
	unsigned char		*der = NULL;
	size_t			 n;
	enum sg_rc		 rc;

	ra_x509_serial(x, t->serial, sizeof(t->serial));
	if ((rc = cert_rec(t, x, &cr, &der, e)) != SG_OK)
		goto out;
	if (t->renews[0] == '\0')
		snprintf(t->reason, sizeof(t->reason), "issued serial %s",
		    t->serial);
	else
		snprintf(t->reason, sizeof(t->reason), "renewed serial %s as "
		    "%s", t->renews, t->serial);
	n = strlen(t->reason);
	if (t->challenge_id != 0)	/* the id, never the code */
		snprintf(t->reason + n, sizeof(t->reason) - n, " with "
		    "challenge %lld", (long long)t->challenge_id);
	if (au != NULL) {
		/* As ra_audit_op() words it: the request id ties it to the log. */
		a = *au;
		if (sg_log_reqid()[0] != '\0') {
			snprintf(details, sizeof(details), "%s; request_id=%s",
			    t->reason, sg_log_reqid());
			a.details = details;
		} else
			a.details = t->reason;
		au = &a;
	}
	t->status = RA_REQ_ISSUED;
	rc = ra_store_txn_issued(ra->store, t, &cr, au, from, e);
	if (rc == SG_ENOTFOUND)
		rc = sg_err_set(e, SG_ESTORE, "transaction %lld is no longer "
		    "%s (recovered meanwhile?)", (long long)t->id,
		    ra_req_status_name(from));
	if (rc != SG_OK)
		t->status = from;
out:
	OPENSSL_free(der);
	return rc;
}

enum sg_rc
ra_txn_write(struct ra *ra, const struct ra_txn *t, enum ra_req_status from,
    struct sg_err *err)
{
	enum sg_rc	rc;

	rc = ra_store_txn_update(ra->store, t, from, err);
	if (rc == SG_ENOTFOUND)
		rc = sg_err_set(err, SG_ESTORE, "transaction %lld is no longer "
		    "%s (recovered meanwhile?)", (long long)t->id,
		    ra_req_status_name(from));
	return rc;
}

/*
 * What the upstream issues with (ra_up.h): the account's organization,
 * department, profile and term, or the endpoint's on Intune endpoints.
 */
static void
issuance(const struct ra_endpoint *ep, const struct ra_account *acct,
    struct ra_issuance *w)
{
	const bool intune = ep->type == RA_EP_DEVICE_INTUNE ||
	    ep->type == RA_EP_CLIENT_INTUNE;

	memset(w, 0, sizeof(*w));
	if (acct != NULL)
		snprintf(w->account, sizeof(w->account), "%s", acct->name);
	if (intune || acct == NULL) {
		snprintf(w->org, sizeof(w->org), "%s", ep->org);
		snprintf(w->dept, sizeof(w->dept), "%s", ep->dept);
		snprintf(w->profile, sizeof(w->profile), "%s", ep->profile);
		w->term_days = ep->term_days;
		return;
	}
	snprintf(w->org, sizeof(w->org), "%s", acct->org);
	snprintf(w->dept, sizeof(w->dept), "%s", acct->dept);
	snprintf(w->profile, sizeof(w->profile), "%s", acct->profile);
	w->term_days = acct->term_days;
}

/* The transaction whose order in flight an upstream marks (ra_up.h). */
struct order_mark {
	struct ra		*ra;
	const struct ra_txn	*t;
};

static enum sg_rc
order_mark(void *arg, const char *order)
{
	const struct order_mark	*m = arg;
	struct sg_err		 e;
	char			 tid[P7_TRANSID_MAX + 1];

	if (ra_store_txn_mark(m->ra->store, m->t, order, &e) == SG_OK)
		return SG_OK;
	sg_safe_str(m->t->transid, tid, sizeof(tid));
	sg_log(SG_LOG_ERR, "transid=%s: order marker: %s", tid, e.msg);
	return SG_ESTORE;
}

enum sg_rc
ra_txn_issue(struct ra *ra, const struct ra_endpoint *ep,
    const struct ra_account *acct, const struct p7_csr *csr,
    struct ra_txn *t, const struct ra_audit *au, X509 **out,
    struct sg_err *err)
{
	struct ra_issue	 is = { 0 };
	struct ra_issuance with;
	struct order_mark m = { ra, t };
	struct sg_err	 e;
	X509		*x = NULL;
	enum ra_req_status from = t->status;
	enum sg_rc	 rc, urc = SG_OK;

	is.csr = csr;
	is.ep = ep;
	issuance(ep, acct, &with);
	is.with = &with;
	is.transid = t->transid;
	is.now = time(NULL);
	is.mark = order_mark;
	is.arg = &m;
	t->order_id[0] = '\0';
	sg_err_clear(&e);	/* an upstream's note (ra_up.h) */
	/* An earlier attempt's order may be in flight (issue 10 s.6). */
	if ((rc = ra_store_txn_marked(ra->store, t->endpoint_id, t->transid,
	    &is.lost, err)) != SG_OK)
		goto out;
	urc = ra->up->ops->issue(ra->up, &is, &x, t->order_id, &e);
	if (urc == SG_ESTORE)
		rc = sg_err_set(err, urc, "%s", e.msg);
	else if (urc != SG_OK) {
		t->status = RA_REQ_REJECTED;
		t->failinfo = sg_failinfo(e.failinfo);
		snprintf(t->reason, sizeof(t->reason), "upstream: %s", e.msg);
		rc = ra_txn_write(ra, t, from, err);
	} else if (x == NULL) {
		/* The order id is durable before the client hears PENDING. */
		t->status = RA_REQ_PENDING;
		snprintf(t->reason, sizeof(t->reason), "ordered at the "
		    "upstream as %s%s%s", t->order_id, e.msg[0] ? "; " : "",
		    e.msg);
		rc = ra_txn_write(ra, t, from, err);
	} else
		rc = txn_set_issued(ra, t, x, au, from, err);
out:
	if (rc != SG_OK) {
		/*
		 * Nothing of the outcome is recorded: the row stays in
		 * "from" for recovery (ra_txn_recover), and the caller
		 * answers an internal error, never SUCCESS or FAILURE.
		 */
		t->status = from;
		X509_free(x);
		x = NULL;
	}
	*out = x;
	return rc;
}

/* Deliver the certificate of an issued transaction (RFC 8894 5.2). */
static void
deliver(struct ra_op *op, const char *serial)
{
	struct sg_err	 e;
	X509		*x = NULL;
	enum sg_rc	 rc;

	rc = ra_cert_load(op->ra, serial, NULL, NULL, &x, &e);
	if (rc == SG_ENOTFOUND)
		ra_op_fail(op, SG_FAIL_BADCERTID, "certificate not found",
		    "no certificate with serial %s", serial);
	else if (rc != SG_OK)
		ra_op_internal(op, "issued certificate", &e);
	else
		ra_op_deliver(op, x, serial);
	X509_free(x);
}

/* Turn the state of transaction "t" into this reply; "x" if in hand. */
void
ra_txn_answer(struct ra_op *op, const struct ra_txn *t, X509 *x)
{
	switch (t->status) {
	case RA_REQ_ISSUED:
		if (x == NULL)
			deliver(op, t->serial);
		else
			ra_op_deliver(op, x, t->serial);
		break;
	case RA_REQ_NEW:
	case RA_REQ_PENDING:
		op->status = P7_STATUS_PENDING;
		ra_op_note(op, "%s", t->reason[0] ?
		    t->reason : "in progress");
		break;
	case RA_REQ_REJECTED:
		ra_op_fail(op, sg_failinfo(t->failinfo), "request refused",
		    "%s", t->reason);
		break;
	}
}

/* Ask the upstream about one pending order; true if "t" changed. */
bool
ra_txn_collect(struct ra *ra, struct ra_txn *t)
{
	struct ra_endpoint	 ep;
	struct sg_err		 e;
	X509			*x = NULL;
	enum sg_rc		 rc;

	if (t->status != RA_REQ_PENDING || t->order_id[0] == '\0' ||
	    ra->up->ops->collect == NULL ||
	    ra_store_endpoint_by_id(ra->store, t->endpoint_id, &ep, &e) !=
	    SG_OK)
		return false;
	rc = ra->up->ops->collect(ra->up, &ep, t->order_id, &x, &e);
	if (rc == SG_OK && x == NULL)
		return false;		/* not yet */
	if (rc != SG_OK) {
		t->status = RA_REQ_REJECTED;
		t->failinfo = sg_failinfo(e.failinfo);
		snprintf(t->reason, sizeof(t->reason), "upstream: %s", e.msg);
	} else if (txn_set_issued(ra, t, x, NULL, RA_REQ_PENDING, &e) !=
	    SG_OK) {
		/* Keep it pending: the next collect retries. */
		sg_log(SG_LOG_ERR, "order %s: %s", t->order_id, e.msg);
		X509_free(x);
		return false;
	}
	X509_free(x);
	if (t->status == RA_REQ_REJECTED) {
		if (ra_store_txn_update(ra->store, t, RA_REQ_PENDING, &e) !=
		    SG_OK)
			return false;	/* another instance got there first */
		ra_webhook_refusal(ra, t->endpoint_id, t->transid, t->reason);
	}
	sg_log(SG_LOG_INFO, "order %s: %s", t->order_id, t->reason);
	return true;
}

/*
 * How old a NEW row must be to count as stuck: RA_TXN_STUCK_SECONDS, or
 * twice the upstream's timeout (retries included) if that is longer, so
 * that a slow issuance still in flight is never taken for a crash.
 */
static int64_t
stuck_after(const struct ra *ra)
{
	int64_t	s = RA_TXN_STUCK_SECONDS;

	if (2 * (int64_t)ra->conf->upstream.timeout > s)
		s = 2 * (int64_t)ra->conf->upstream.timeout;
	return s;
}

/*
 * Resolve stuck NEW row "t" (its recorded certificate, if any, in
 * t->serial): finished (ISSUED) when a certificate is recorded for it,
 * so the client's retry gets it; PENDING when the upstream's order id
 * is recorded (the collector fetches it); otherwise released
 * (REJECTED, "interrupted; retry"), so the retry starts a fresh
 * transaction, which looks an order in flight up first (its marker
 * stays, ra_store_txn_mark). The
 * write is conditional on NEW: a slow issuance that finishes first
 * wins. True if "t" changed.
 */
static bool
recover_one(struct ra *ra, struct ra_txn *t)
{
	struct sg_err	e;
	char		tid[P7_TRANSID_MAX + 1], details[320];
	enum sg_rc	rc;

	sg_safe_str(t->transid, tid, sizeof(tid));
	if (t->serial[0] != '\0') {
		t->status = RA_REQ_ISSUED;
		snprintf(t->reason, sizeof(t->reason), "recovered after an "
		    "interruption: issued serial %s", t->serial);
		rc = ra_store_txn_issued(ra->store, t, NULL, NULL, RA_REQ_NEW,
		    &e);
	} else if (t->order_id[0] != '\0') {
		/* Ordered (ra_store_txn_mark), the client not told: collect. */
		t->status = RA_REQ_PENDING;
		snprintf(t->reason, sizeof(t->reason), "recovered after an "
		    "interruption: ordered at the upstream as %s", t->order_id);
		rc = ra_store_txn_update(ra->store, t, RA_REQ_NEW, &e);
	} else {
		t->status = RA_REQ_REJECTED;
		t->failinfo = sg_failinfo(SG_FAIL_NONE);
		snprintf(t->reason, sizeof(t->reason), "interrupted; retry");
		rc = ra_store_txn_update(ra->store, t, RA_REQ_NEW, &e);
	}
	if (rc == SG_ENOTFOUND)
		return false;	/* finished meanwhile */
	if (rc != SG_OK) {
		sg_log(SG_LOG_ERR, "transid=%s: transaction %lld stays new: %s",
		    tid, (long long)t->id, e.msg);
		return false;
	}
	sg_log(SG_LOG_WARN, "transid=%s: stuck transaction %lld %s",
	    tid, (long long)t->id, t->reason);
	snprintf(details, sizeof(details), "request %lld: %s",
	    (long long)t->id, t->reason);
	ra_audit_txn(ra, "request recover", t, SG_OK, NULL, details);
	return true;
}

size_t
ra_txn_recover(struct ra *ra, time_t now)
{
	struct ra_txn	*ts = NULL;
	struct sg_err	 e;
	size_t		 n = 0, i, changed = 0;

	if (ra_store_txn_stuck(ra->store, (int64_t)now - stuck_after(ra), &ts,
	    &n, &e) != SG_OK) {
		sg_log(SG_LOG_ERR, "stuck transactions: %s", e.msg);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (recover_one(ra, &ts[i]))
			changed++;
	free(ts);
	return changed;
}

enum sg_rc
ra_txn_unstick(struct ra *ra, struct ra_txn *t, struct sg_err *err)
{
	if (t->status != RA_REQ_NEW || ra_txn_recover(ra, time(NULL)) == 0)
		return SG_OK;
	return ra_store_txn_get(ra->store, t->id, t, NULL, NULL, err);
}

/*
 * Several instances on one database: each collects only the orders it
 * claimed (ra_store_txn_claim), so one order is fetched by one instance
 * per run; the conditional write of the outcome still decides if a
 * claim ran out while its holder was slow.
 */
size_t
ra_collect_pending(struct ra *ra)
{
	struct ra_txn	*ts = NULL;
	struct sg_err	 e;
	int64_t		 now = (int64_t)time(NULL);
	size_t		 n = 0, i, changed;

	changed = ra_txn_recover(ra, now);
	ra_challenge_purge(ra, now);
	if (ra->up->ops->collect == NULL)
		return changed;
	if (ra_store_txn_claim(ra->store, ra_store_instance(ra->store),
	    now, now + ra->claim_lease, 1000, &ts, &n, &e) != SG_OK) {
		sg_log(SG_LOG_ERR, "pending orders: %s", e.msg);
		return changed;
	}
	for (i = 0; i < n; i++)
		if (ra_txn_collect(ra, &ts[i]))
			changed++;
	free(ts);
	return changed;
}

/*
 * Is the certificate of issued transaction "t" still one to hand out
 * again: valid, not revoked or superseded, not expired? A store failure
 * answers op (internal error) and returns false with *ok unset.
 */
static bool
still_current(struct ra_op *op, const struct ra_txn *t, bool *ok)
{
	struct ra_cert	c;
	struct sg_err	e;
	int64_t		now = (int64_t)time(NULL);
	enum sg_rc	rc;

	rc = ra_store_cert_get(op->ra->store, t->serial, &c, NULL, NULL,
	    NULL, &e);
	if (rc != SG_OK && rc != SG_ENOTFOUND) {
		ra_op_internal(op, "transaction certificate", &e);
		return false;
	}
	*ok = rc == SG_OK && c.status == RA_CERT_VALID &&
	    now >= c.not_before && now <= c.not_after;
	return true;
}

/*
 * Is this request a resend of issued transaction "t" (RFC 8894 5.2)?
 * The same messageType, the same signer (t's key or the certificate t
 * renews, not the certificate t issued), the same CSR public key and
 * subject, and t's certificate is still current. XXX The requested
 * extensions are not compared: the store drops the CSR once decided.
 * Anything else is a new request with the same key: a renewal (signed
 * by the certificate t issued, RFC 8894 2.3), or a re-enrollment after
 * revocation or expiry. A failed lookup answers op and returns true.
 */
static bool
resend_of(struct ra_op *op, const struct ra_txn *t, enum ra_signer who,
    const struct p7_csr *csr, bool *resend)
{
	bool	current = false;

	*resend = false;
	if (who == RA_SIGNER_ISSUED || t->msg_type != op->msg->type ||
	    strcmp(t->subject, csr->subject) != 0)
		return true;
	if (!still_current(op, t, &current))
		return false;
	*resend = current;
	return true;
}

/*
 * What an earlier transaction with the same transactionID means for
 * this request (RFC 8894 5.2, scep-interop.md 4.2 and 6). A FAILURE
 * lets a fresh attempt start. Another CSR key, or a signer that is not
 * the transaction's (a CSR re-sent by someone else under its
 * transactionID), is refused. A live (new or pending) transaction is
 * resumed: certmonger re-sends its PKCSReq to collect an approved
 * certificate. An issued one answers a resend (resend_of) with its
 * certificate; anything else starts a new transaction, which
 * supersedes it (the store keeps one live transaction per
 * transactionID; the finished one stays in the history). Returns true
 * when answered.
 */
bool
ra_txn_resume(struct ra_op *op, const struct p7_csr *csr)
{
	struct ra_txn	t;
	struct sg_err	e;
	enum ra_signer	who;
	bool		resend;
	enum sg_rc	rc;

	rc = ra_store_txn_find(op->ra->store, op->ep.id, op->msg->transid, &t,
	    &e);
	if (rc == SG_ENOTFOUND)
		return false;
	if (rc == SG_OK)
		op->txn_seen = t.id;
	/* A row stuck in NEW by a crash is resolved first (issue 10). */
	if (rc == SG_OK)
		rc = ra_txn_unstick(op->ra, &t, &e);
	if (rc != SG_OK) {
		/* Not "a new transaction": the store could not say. */
		ra_op_internal(op, "transaction lookup", &e);
		return true;
	}
	if (t.status == RA_REQ_REJECTED)
		return false;
	if (memcmp(t.key_id, csr->key_id, sizeof(t.key_id)) != 0) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "transactionID in use",
		    "transactionID in use with another key");
		return true;
	}
	if ((who = ra_auth_txn_signer(op, &t)) == RA_SIGNER_ERROR)
		return true;
	if (who == RA_SIGNER_OTHER) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "transactionID in use",
		    "transactionID in use: signed with another key than its "
		    "request");
		return true;
	}
	if (t.status == RA_REQ_ISSUED) {
		if (!resend_of(op, &t, who, csr, &resend))
			return true;
		if (!resend) {
			sg_log(SG_LOG_INFO, "transid=%s: a new request on "
			    "finished transaction %lld (serial %s): a new "
			    "transaction", op->tid, (long long)t.id, t.serial);
			return false;
		}
	}
	ra_txn_collect(op->ra, &t);
	ra_txn_answer(op, &t, NULL);
	return true;
}

enum sg_rc
ra_request_list(struct ra *ra, int status, struct ra_request **out,
    size_t *n, struct sg_err *err)
{
	return ra_store_txn_list(ra->store, status, out, n, err);
}

/*
 * Is NEW request "t" stuck (older than stuck_after)? Its recorded
 * certificate, if any, into t->serial. SG_EPOLICY while it may still
 * be in progress.
 */
static enum sg_rc
stuck(struct ra *ra, struct ra_txn *t, struct sg_err *err)
{
	struct ra_txn	*ts = NULL;
	size_t		 n = 0, i;
	enum sg_rc	 rc;

	rc = ra_store_txn_stuck(ra->store, (int64_t)time(NULL) -
	    stuck_after(ra), &ts, &n, err);
	if (rc != SG_OK)
		return rc;
	for (i = 0; i < n && ts[i].id != t->id; i++)
		continue;
	if (i < n)
		snprintf(t->serial, sizeof(t->serial), "%s", ts[i].serial);
	free(ts);
	if (i == n)
		return sg_err_set(err, SG_EPOLICY, "request %lld is new: in "
		    "progress until it is %lld s old", (long long)t->id,
		    (long long)stuck_after(ra));
	return SG_OK;
}

/*
 * A pending request waiting for approval (no upstream order yet), or a
 * NEW one left stuck by a crash.
 */
static enum sg_rc
awaiting(struct ra *ra, int64_t id, struct ra_txn *t, uint8_t **csr,
    size_t *csr_len, struct sg_err *err)
{
	enum sg_rc	rc;

	if ((rc = ra_store_txn_get(ra->store, id, t, csr, csr_len, err)) !=
	    SG_OK)
		return rc;
	if (t->status == RA_REQ_NEW)
		rc = stuck(ra, t, err);
	else if (t->status != RA_REQ_PENDING || t->order_id[0] != '\0')
		rc = sg_err_set(err, SG_EPOLICY, "request %lld is %s, not "
		    "waiting for approval", (long long)id,
		    ra_req_status_name(t->status));
	if (rc != SG_OK && csr != NULL) {
		free(*csr);
		*csr = NULL;
	}
	return rc;
}

/* Approve stuck NEW request "t" whose certificate is recorded: finish it. */
static enum sg_rc
finish(struct ra *ra, struct ra_txn *t, struct sg_err *err)
{
	enum sg_rc	rc;

	t->status = RA_REQ_ISSUED;
	snprintf(t->reason, sizeof(t->reason), "approved by %s: recorded "
	    "serial %s", ra_actor(), t->serial);
	rc = ra_store_txn_issued(ra->store, t, NULL, NULL, RA_REQ_NEW, err);
	if (rc == SG_ENOTFOUND)
		rc = sg_err_set(err, SG_EPOLICY, "request %lld changed "
		    "meanwhile", (long long)t->id);
	return rc;
}

enum sg_rc
ra_request_approve(struct ra *ra, int64_t id, struct sg_err *err)
{
	struct ra_txn		 t = { 0 };
	struct ra_endpoint	 ep;
	struct ra_account	 acct;
	struct p7_csr		*csr = NULL;
	uint8_t			*der = NULL, *plain = NULL;
	size_t			 len = 0, plen = 0;
	X509			*x = NULL;
	char			 details[64];
	enum sg_rc		 rc;

	if ((rc = awaiting(ra, id, &t, &der, &len, err)) != SG_OK)
		goto out;
	if (t.status == RA_REQ_NEW && t.serial[0] != '\0') {
		rc = finish(ra, &t, err);
		goto out;
	}
	if (t.account_id == 0) {
		rc = sg_err_set(err, SG_EPOLICY, "request %lld was interrupted "
		    "before its account was known: reject it", (long long)id);
		goto out;
	}
	if ((rc = ra_store_endpoint_by_id(ra->store, t.endpoint_id, &ep,
	    err)) != SG_OK ||
	    (rc = ra_store_account_by_id(ra->store, t.account_id, &acct,
	    err)) != SG_OK)
		goto out;
	/* The signed original goes upstream (SCM checks its signature). */
	if (ra_keys_unseal(&ra->keys, der, len, &plain, &plen) != SG_OK) {
		rc = sg_err_set(err, SG_ESTORE, "request %lld: the sealed CSR "
		    "does not open (was secret_file replaced?)", (long long)id);
		goto out;
	}
	if ((rc = p7_csr_parse(plain, plen, &csr, err)) != SG_OK)
		goto out;
	if ((rc = ra_txn_issue(ra, &ep, &acct, csr, &t, NULL, &x, err)) !=
	    SG_OK)
		goto out;
	if (t.status == RA_REQ_REJECTED)
		rc = sg_err_set(err, SG_EUPSTREAM, "%s", t.reason);
out:
	snprintf(details, sizeof(details), "request %lld%s%s", (long long)id,
	    rc == SG_OK ? ": " : "", rc == SG_OK ? t.reason : "");
	ra_audit_txn(ra, "request approve", &t, rc, err, details);
	X509_free(x);
	p7_csr_free(csr);
	if (plain != NULL)
		OPENSSL_cleanse(plain, plen);
	free(plain);
	free(der);
	return rc;
}

enum sg_rc
ra_request_reject(struct ra *ra, int64_t id, const char *reason,
    struct sg_err *err)
{
	struct ra_txn		t = { 0 };
	enum ra_req_status	from;
	char			details[320];
	enum sg_rc		rc;

	rc = awaiting(ra, id, &t, NULL, NULL, err);
	/* Never FAILURE while a certificate is recorded (issue 10). */
	if (rc == SG_OK && t.serial[0] != '\0')
		rc = sg_err_set(err, SG_EPOLICY, "request %lld has certificate "
		    "%s recorded: approve finishes it", (long long)id,
		    t.serial);
	if (rc == SG_OK) {
		from = t.status;
		t.status = RA_REQ_REJECTED;
		t.failinfo = SG_FAIL_BADREQUEST;
		snprintf(t.reason, sizeof(t.reason), "rejected by %s: %s",
		    ra_actor(), reason);
		rc = ra_store_txn_update(ra->store, &t, from, err);
	}
	if (rc == SG_OK)
		ra_webhook_refusal(ra, t.endpoint_id, t.transid, t.reason);
	snprintf(details, sizeof(details), "request %lld: %s", (long long)id,
	    reason);
	ra_audit_txn(ra, "request reject", &t, rc, err, details);
	return rc;
}
