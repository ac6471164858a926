/*
 * Enrollment (RFC 8894 3.3.1-3.3.3): the PKCSReq, RenewalReq and
 * CertPoll handlers. Who asks is ra_auth.c's question, the transaction
 * ra_txn.c's, the CertRep ra_reply.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra_int.h"
#include "ra_policy.h"
#include "ra_webhook.h"

/*
 * Admit the request: who asks (access code or old certificate; "by_cert"
 * when a PKCSReq's signer already proved a renewal, with "acct"), is
 * the account enabled, and does the CSR meet the endpoint's policy?
 */
static bool
admit(struct ra_op *op, const struct p7_csr *csr, bool renewal, bool by_cert,
    struct ra_account *acct, struct ra_txn *t, char *old, size_t oldsz)
{
	struct sg_err	e;

	if (!renewal && ra_ep_intune(&op->ep)) {
		memset(acct, 0, sizeof(*acct));	/* Intune: no account */
		return ra_intune_admit(op, csr);
	}
	if (by_cert)
		renewal = true;
	else if (!(renewal ? ra_auth_renewal(op, acct, old, oldsz, true) :
	    ra_auth_code(op, csr, acct)))
		return false;
	snprintf(op->account, sizeof(op->account), "%s", acct->name);
	t->account_id = acct->id;
	t->challenge_id = op->challenge_id;	/* claimed by txn_begin */
	if (acct->disabled) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused",
		    "account '%s' is disabled", acct->name);
		return false;
	}
	/* A renewal proves itself with its certificate, not a code. */
	if (ra_policy_check_csr(&op->ep, csr, !renewal, &e) != SG_OK ||
	    ra_policy_check_names(&op->ep, csr->req, &e) != SG_OK ||
	    (renewal && ra_policy_renewal_names(op->msg->signer, csr,
	    &op->ep, &e) != SG_OK)) {
		ra_op_fail_err(op, &e);
		/*
		 * The CSR rule's own words ("RSA key of 1024 bits is below
		 * this endpoint's minimum 2048") tell the device's admin
		 * what to change, and hold nothing secret.
		 */
		op->failtext = op->err.msg;
		return false;
	}
	return true;
}

/*
 * The device's audit record of an issuance, as ra_audit_op() writes it
 * for other outcomes; it is written in the issuance's own commit, with
 * the transaction's reason as details (ra_txn_issue).
 */
static void
device_audit(const struct ra_op *op, char *actor, size_t actorsz,
    struct ra_audit *a)
{
	snprintf(actor, actorsz, "device@%s", op->peer);
	memset(a, 0, sizeof(*a));
	a->actor = actor;
	a->endpoint = op->ep.name;
	a->account = op->account[0] ? op->account : NULL;
	a->transid = op->msg->transid;
	a->action = p7_type_name(op->msg->type);
	a->outcome = ra_p7_status_name(P7_STATUS_SUCCESS);
}

/* PKCSReq (3.3.1) and RenewalReq (3.3.1.2). */
void
ra_op_pkcsreq(struct ra_op *op, bool renewal)
{
	struct p7_csr		*csr = NULL;
	struct ra_account	 acct;
	struct ra_txn		 t;
	struct sg_err		 e;
	X509			*x = NULL;
	uint8_t			*stored = NULL;
	size_t			 stored_len = 0;
	struct ra_audit		 au;
	char			 old[80] = "", actor[96];
	bool			 by_cert = false, intune;
	enum sg_rc		 rc;

	if (p7_csr_parse(op->msg->data, op->msg->data_len, &csr, &e) !=
	    SG_OK) {
		ra_op_fail_err(op, &e);
		goto out;
	}
	if (ra_txn_resume(op, csr))
		goto out;
	/*
	 * A PKCSReq signed with a certificate this endpoint issued, valid
	 * and in the renewal window, is a renewal (RFC 8894 2.3; certmonger,
	 * strongSwan --cert): no access code. Any other signer: a code.
	 */
	if (!renewal && !ra_ep_intune(&op->ep)) {
		/* Intune devices renew with a fresh challenge instead. */
		by_cert = ra_auth_renewal(op, &acct, old, sizeof(old), false);
		if (op->status == RA_OP_INTERNAL)
			goto out;
		if (by_cert)
			sg_log(SG_LOG_INFO, "transid=%s: PKCSReq signed with "
			    "serial %s: a renewal", op->tid, old);
	}
	memset(&t, 0, sizeof(t));
	t.id = op->txn_seen;	/* ra_store_txn_begin: the newest one seen */
	t.endpoint_id = op->ep.id;
	snprintf(t.transid, sizeof(t.transid), "%s", op->msg->transid);
	t.msg_type = op->msg->type;
	memcpy(t.key_id, csr->key_id, sizeof(t.key_id));
	snprintf(t.subject, sizeof(t.subject), "%s", csr->subject);
	snprintf(t.peer, sizeof(t.peer), "%s", op->peer);
	/* Authenticated first: a refused request writes no transaction. */
	if (!admit(op, csr, renewal, by_cert, &acct, &t, old, sizeof(old)))
		goto out;
	/*
	 * Kept until decided (approval sends the signed original upstream),
	 * sealed: it holds the access code (ra_keys_seal).
	 */
	if ((rc = ra_keys_seal(&op->ra->keys, op->msg->data,
	    op->msg->data_len, &stored, &stored_len)) != SG_OK) {
		(void)sg_err_set(&e, rc, "cannot seal the CSR");
		ra_op_internal(op, "PKCSReq", &e);
		goto out;
	}
	t.csr = stored;
	t.csr_len = stored_len;
	t.failinfo = -1;
	if (renewal)
		ra_x509_serial(op->msg->signer, t.renews, sizeof(t.renews));
	else if (by_cert)
		snprintf(t.renews, sizeof(t.renews), "%s", old);
	if ((rc = ra_store_txn_begin(op->ra->store, &t, &e)) == SG_EEXIST) {
		/* The same transaction, concurrently: in progress. */
		op->status = P7_STATUS_PENDING;
		ra_op_note(op, "in progress");
		goto out;
	}
	if (rc == SG_ENOTFOUND) {
		/* Its challenge went to another transaction meanwhile. */
		ra_op_fail(op, SG_FAIL_BADREQUEST, "challenge already used",
		    "challenge %lld claimed by another transaction",
		    (long long)t.challenge_id);
		goto out;
	}
	if (rc != SG_OK) {
		ra_op_internal(op, "new transaction", &e);
		goto out;
	}
	if (acct.manual) {
		t.status = RA_REQ_PENDING;
		snprintf(t.reason, sizeof(t.reason), "waiting for approval");
		if (ra_txn_write(op->ra, &t, RA_REQ_NEW, &e) != SG_OK)
			ra_op_internal(op, "pending transaction", &e);
		else
			ra_txn_answer(op, &t, NULL);
		goto out;
	}
	/*
	 * Intune may still withhold the certificate after its commit (a
	 * failed successNotification): its outcome is audited afterwards.
	 */
	intune = !renewal && ra_ep_intune(&op->ep);
	device_audit(op, actor, sizeof(actor), &au);
	if ((intune ? ra_intune_issue(op, csr, &t, &x, &e) :
	    ra_txn_issue(op->ra, &op->ep, &acct, csr, &t, &au, &x, &e)) !=
	    SG_OK) {
		ra_op_internal(op, "issuance", &e);
		goto out;
	}
	/* The audit record of an issuance went with its commit. */
	op->audited = x != NULL && !intune;
	ra_txn_answer(op, &t, x);
	if (x != NULL && op->status == P7_STATUS_SUCCESS)
		ra_op_note(op, "%s", t.reason);
out:
	ra_webhook_refused(op);		/* FAILURE only */
	free(stored);
	X509_free(x);
	p7_csr_free(csr);
}

/* Name the transaction's account in the log line and the audit. */
static void
set_account(struct ra_op *op, int64_t account_id)
{
	struct ra_account	a;
	struct sg_err		e;
	enum sg_rc		rc;

	if (account_id <= 0)
		return;
	rc = ra_store_account_by_id(op->ra->store, account_id, &a, &e);
	if (rc == SG_OK)
		snprintf(op->account, sizeof(op->account), "%s", a.name);
	else if (rc != SG_ENOTFOUND)	/* only a name: log it, go on */
		sg_log(SG_LOG_ERR, "transid=%s: %s", op->tid, e.msg);
}

/*
 * CertPoll (RFC 8894 3.3.3): the transaction is named by its
 * transactionID; the IssuerAndSubject inside is not needed. Polls are
 * signed with the same key as the request in every client read.
 */
void
ra_op_certpoll(struct ra_op *op)
{
	struct ra_txn	t;
	struct sg_err	e;
	enum sg_rc	rc;

	rc = ra_store_txn_find(op->ra->store, op->ep.id, op->msg->transid, &t,
	    &e);
	if (rc == SG_ENOTFOUND) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "no such transaction",
		    "CertPoll for an unknown transaction");
		return;
	}
	/* A row stuck in NEW by a crash is resolved first (issue 10). */
	if (rc == SG_OK)
		rc = ra_txn_unstick(op->ra, &t, &e);
	if (rc != SG_OK) {
		ra_op_internal(op, "CertPoll", &e);
		return;
	}
	set_account(op, t.account_id);
	if (t.status == RA_REQ_ISSUED && !ra_auth_poll_signer(op, &t))
		return;
	ra_txn_collect(op->ra, &t);
	ra_txn_answer(op, &t, NULL);
}

/* ---- admin: requests and certificates ---- */
