/*
 * The transaction state machine (ra_txn.c): idempotency on
 * transactionID (RFC 8894 5.2), per endpoint; manual approval with
 * PENDING, CertPoll, approve and reject (RFC 8894 3.3.3); a manual
 * RenewalReq; nonces across a resent request. On the shared instance
 * fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "p7.h"
#include "ra.h"
#include "ra_int.h"		/* ra_txn_recover, the store */
#include "sg.h"
#include "sg_test.h"

/* ---- idempotency on transactionID (RFC 8894 5.2) ---- */

/* Send "der" again, byte for byte, and read the reply as the signer. */
static struct p7_certrep *
replay(struct sgt_fx *fx, const char *uri, const uint8_t *der, size_t len,
    X509 *signer, EVP_PKEY *skey)
{
	struct p7_certrep	*rep;
	struct ra_reply		 r;

	sgt_pkiop(fx->ra, uri, der, len, &r);
	rep = sgt_read_rep(&r, fx->ra_cert, signer, skey);
	ra_reply_free(&r);
	return rep;
}

/*
 * A PKCSReq or RenewalReq ("type") for "csr" under "transid", signed by
 * signer/skey, read as the signer; the message into *der (free it).
 */
static struct p7_certrep *
send_csr(struct sgt_fx *fx, const char *uri, int type, const char *transid,
    const uint8_t *csr, size_t csrlen, X509 *signer, EVP_PKEY *skey,
    uint8_t **der, size_t *len)
{
	struct p7_req	rq = { 0 };

	rq.type = type;
	rq.transid = transid;
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = signer;
	rq.signer_key = skey;
	sgt_build(fx, &rq, 0, der, len);
	return replay(fx, uri, *der, *len, signer, skey);
}

/* A PKCSReq by client "who" for a CSR with CN "cn" under "transid". */
static struct p7_certrep *
reenroll(struct sgt_fx *fx, const char *uri, const char *transid, int who,
    const char *cn)
{
	struct p7_certrep	*rep;
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;

	sgt_make_csr(fx->key[who], cn, SGT_CODE, 0, &csr, &csrlen);
	rep = send_csr(fx, uri, P7_TYPE_PKCSREQ, transid, csr, csrlen,
	    fx->cert[who], fx->key[who], &der, &len);
	free(der);
	free(csr);
	return rep;
}

static void
test_idempotency(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*a, *b, *c;
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 tid[64], tid2[64], sa[80], sb[80], sc[80];

	/* The same bytes twice: the same certificate, not a second one. */
	sgt_transid(fx, "idem", tid, sizeof(tid));
	/* CN=tid, as sgt_enroll makes it: the same CSR below. */
	sgt_make_csr(fx->key[0], tid, fx->code, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	sgt_build(fx, &rq, 0, &der, &len);
	a = sgt_exchange(fx, "demo", der, len, 0);
	b = sgt_exchange(fx, "demo", der, len, 0);
	sgt_expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "first");
	sgt_expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "replay");
	sgt_expect_issued(fx, b, fx->key[0], 2, "replay");
	sgt_serial_hex(sk_X509_value(a->certs, 0), sa, sizeof(sa));
	sgt_serial_hex(sk_X509_value(b->certs, 0), sb, sizeof(sb));
	assert_string_equal(sa, sb);
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);
	free(der);
	free(csr);

	/* A new PKCSReq, same transactionID and key: same certificate. */
	b = sgt_enroll(fx, "demo", tid, 0, fx->code);
	sgt_expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "new message");
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);

	/*
	 * Same transactionID and key, another subject: not a resend but a
	 * new request (a re-enrollment), so a new certificate.
	 */
	b = reenroll(fx, "demo", tid, 0, "idem-renamed");
	sgt_expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "new subject");
	sgt_serial_hex(sk_X509_value(b->certs, 0), sb, sizeof(sb));
	if (strcmp(sa, sb) == 0)
		fail_msg("same key, new subject: the old certificate %s", sa);
	p7_certrep_free(b);

	/* Same transactionID, another key: refused. */
	b = sgt_enroll(fx, "demo", tid, 1, fx->code);
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "other key");
	p7_certrep_free(b);

	/* The transaction still belongs to the first key. */
	b = reenroll(fx, "demo", tid, 0, "idem-renamed");
	sgt_expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE,
	    "after other key");
	sgt_serial_hex(sk_X509_value(b->certs, 0), sc, sizeof(sc));
	assert_string_equal(sb, sc);
	p7_certrep_free(b);

	/* A FAILURE is not final: the same transactionID may try again. */
	sgt_transid(fx, "retry", tid2, sizeof(tid2));
	b = sgt_enroll(fx, "demo", tid2, 0, "WrongCode123456789012");
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "wrong code");
	c = sgt_enroll(fx, "demo", tid2, 0, fx->code);
	sgt_expect_status(c, P7_STATUS_SUCCESS, SG_FAIL_NONE, "retry");
	sgt_expect_issued(fx, c, fx->key[0], 2, "retry");
	/* A new transaction: a new certificate. */
	sgt_serial_hex(sk_X509_value(c->certs, 0), sb, sizeof(sb));
	assert_string_not_equal(sa, sb);
	p7_certrep_free(c);
	p7_certrep_free(b);
	p7_certrep_free(a);

	/* The transactionID is per endpoint: "other" issues afresh. */
	a = sgt_enroll(fx, "other", tid, 0, SGT_OTHER_CODE);
	sgt_expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "other endpoint");
	sgt_serial_hex(sk_X509_value(a->certs, 0), sb, sizeof(sb));
	assert_string_not_equal(sa, sb);
	p7_certrep_free(a);
}

/* ---- manual approval: PENDING, CertPoll (RFC 8894 3.3.3) ---- */

/* The senderNonces of all replies seen so far. */
struct nonces {
	uint8_t	v[16][P7_NONCE_MAX];
	size_t	len[16];
	size_t	n;
};

/*
 * The reply echoes our senderNonce as its recipientNonce and brings a
 * fresh senderNonce of its own (RFC 8894 3.2.1.5): not ours, and not
 * one of an earlier reply.
 */
static void
check_nonces(struct nonces *seen, const struct p7_certrep *rep,
    const uint8_t *sent, size_t sentlen)
{
	size_t	i;

	assert_int_equal(rep->recipient_nonce_len, sentlen);
	assert_memory_equal(rep->recipient_nonce, sent, sentlen);
	assert_true(rep->sender_nonce_len >= 8);
	assert_false(rep->sender_nonce_len == sentlen &&
	    memcmp(rep->sender_nonce, sent, sentlen) == 0);
	for (i = 0; i < seen->n; i++)
		if (seen->len[i] == rep->sender_nonce_len &&
		    memcmp(seen->v[i], rep->sender_nonce, seen->len[i]) == 0)
			fail_msg("senderNonce of reply %zu repeats reply %zu",
			    seen->n, i);
	assert_true(seen->n < 16);
	memcpy(seen->v[seen->n], rep->sender_nonce, rep->sender_nonce_len);
	seen->len[seen->n++] = rep->sender_nonce_len;
}

/* CertPoll by client "who" (its self-signed certificate). */
static struct p7_certrep *
certpoll(struct sgt_fx *fx, const char *uri, const char *transid, int who,
    const uint8_t *nonce, size_t nlen)
{
	return sgt_certpoll(fx, uri, transid, fx->cert[who], fx->key[who],
	    NULL, nonce, nlen);
}

static void
test_manual(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	struct ra_request	 req;
	struct ra_reply		 r;
	struct ra_cert		*certs = NULL;
	struct sg_err		 err = { 0 };
	struct nonces		 seen = { 0 };
	uint8_t			*csr = NULL, *der = NULL, nonce[8][16];
	size_t			 csrlen = 0, len = 0, n = 0, i;
	char			 tid[64], tid2[64], serial[80], s2[80];
	int64_t			 id, id2;

	sgt_add_simple(fx, "approval", 30, 30, true, RA_GETCERT_FULL_CHAIN);
	for (i = 0; i < 8; i++)
		memset(nonce[i], 0xa0 + (int)i, sizeof(nonce[i]));

	/* PKCSReq: PENDING, no content. */
	sgt_transid(fx, "manual", tid, sizeof(tid));
	sgt_make_csr(fx->key[0], "manual", SGT_CODE, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.sender_nonce = nonce[0];
	rq.sender_nonce_len = sizeof(nonce[0]);
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = fx->cert[0];
	rq.signer_key = fx->key[0];
	sgt_build(fx, &rq, 0, &der, &len);
	sgt_pkiop(fx->ra, "approval", der, len, &r);
	rep = sgt_read_rep(&r, fx->ra_cert, fx->cert[0], fx->key[0]);
	ra_reply_free(&r);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
	    "manual PKCSReq");
	assert_null(rep->certs);
	assert_null(rep->crl);
	check_nonces(&seen, rep, nonce[0], sizeof(nonce[0]));
	p7_certrep_free(rep);

	/* CertPoll: still PENDING, a fresh senderNonce each time. */
	for (i = 1; i <= 2; i++) {
		rep = certpoll(fx, "approval", tid, 0, nonce[i],
		    sizeof(nonce[i]));
		sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
		    "CertPoll before approval");
		assert_null(rep->certs);
		check_nonces(&seen, rep, nonce[i], sizeof(nonce[i]));
		p7_certrep_free(rep);
	}

	/* The request waits in the list. */
	if (!sgt_find_request(fx, RA_REQ_PENDING, tid, &req))
		fail_msg("ra_request_list(pending) lacks %s", tid);
	assert_int_equal(req.status, RA_REQ_PENDING);
	assert_string_equal(req.endpoint, "approval");
	assert_string_equal(req.account, "approval-acct");
	assert_string_equal(req.type, "PKCSReq");
	id = req.id;
	assert_int_equal(ra_cert_list(fx->ra, "approval", -1, &certs, &n,
	    &err), SG_OK);
	free(certs);
	assert_int_equal(n, 0);		/* nothing issued yet */

	/* Approved: the next CertPoll gets the certificate. */
	if (ra_request_approve(fx->ra, id, &err) != SG_OK)
		fail_msg("ra_request_approve: %s", err.msg);
	assert_false(sgt_find_request(fx, RA_REQ_PENDING, tid, &req));
	assert_true(sgt_find_request(fx, RA_REQ_ISSUED, tid, &req));
	rep = certpoll(fx, "approval", tid, 0, nonce[3], sizeof(nonce[3]));
	sgt_expect_issued(fx, rep, fx->key[0], 2, "CertPoll after approval");
	check_nonces(&seen, rep, nonce[3], sizeof(nonce[3]));
	sgt_serial_hex(sk_X509_value(rep->certs, 0), serial, sizeof(serial));
	assert_string_equal(req.serial, serial);
	p7_certrep_free(rep);

	/* The PKCSReq re-sent byte for byte: the same certificate. */
	sgt_pkiop(fx->ra, "approval", der, len, &r);
	rep = sgt_read_rep(&r, fx->ra_cert, fx->cert[0], fx->key[0]);
	ra_reply_free(&r);
	sgt_expect_issued(fx, rep, fx->key[0], 2, "re-sent PKCSReq");
	sgt_serial_hex(sk_X509_value(rep->certs, 0), s2, sizeof(s2));
	assert_string_equal(serial, s2);
	check_nonces(&seen, rep, nonce[0], sizeof(nonce[0]));
	p7_certrep_free(rep);
	free(der);
	free(csr);

	/* Approving an issued request again is an error. */
	assert_int_not_equal(ra_request_approve(fx->ra, id, &err), SG_OK);
	assert_int_not_equal(ra_request_reject(fx->ra, id, "late", &err),
	    SG_OK);
	assert_int_not_equal(ra_request_approve(fx->ra, 987654321, &err),
	    SG_OK);
	/* ... and leaves the transaction as it was. */
	assert_true(sgt_find_request(fx, RA_REQ_ISSUED, tid, &req));
	assert_string_equal(req.serial, serial);
	rep = certpoll(fx, "approval", tid, 0, nonce[5], sizeof(nonce[5]));
	sgt_expect_issued(fx, rep, fx->key[0], 2,
	    "CertPoll after a re-approve");
	sgt_serial_hex(sk_X509_value(rep->certs, 0), s2, sizeof(s2));
	assert_string_equal(serial, s2);
	check_nonces(&seen, rep, nonce[5], sizeof(nonce[5]));
	p7_certrep_free(rep);

	/* Another one, rejected: CertPoll gets FAILURE badRequest. */
	sgt_transid(fx, "manual-rej", tid2, sizeof(tid2));
	rep = sgt_enroll(fx, "approval", tid2, 1, SGT_CODE);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
	    "second PKCSReq");
	p7_certrep_free(rep);
	assert_true(sgt_find_request(fx, RA_REQ_PENDING, tid2, &req));
	id2 = req.id;
	assert_int_not_equal(id, id2);
	assert_int_equal(ra_request_reject(fx->ra, id2, "test", &err), SG_OK);
	assert_true(sgt_find_request(fx, RA_REQ_REJECTED, tid2, &req));
	rep = certpoll(fx, "approval", tid2, 1, nonce[4], sizeof(nonce[4]));
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "CertPoll after reject");
	assert_null(rep->certs);
	p7_certrep_free(rep);
	assert_int_not_equal(ra_request_approve(fx->ra, id2, &err), SG_OK);
	/* Still only the approved certificate on this endpoint. */
	assert_int_equal(ra_cert_list(fx->ra, "approval", -1, &certs, &n,
	    &err), SG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(certs[0].serial, serial);
	free(certs);
}

/*
 * A RenewalReq on an account with manual approval waits like a PKCSReq.
 * Once approved, (a) the old certificate is superseded, as after an
 * immediate renewal, and (b) the client collects the new one with
 * CertPoll signed by the same certificate as its RenewalReq, the old
 * one (strongSwan pki --scep --cert/--key polls that way).
 */
static void
test_renewal_manual(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_request	 req;
	struct ra_cert		 info;
	struct sg_err		 err = { 0 };
	X509			*old;
	uint8_t			 nonce[16];
	char			 tid[64], rtid[64], s_old[80];
	bool			 superseded, delivered;
	int			 st, fi;

	memset(nonce, 0x5a, sizeof(nonce));
	sgt_add_simple(fx, "renew-manual", 0, 30, true, RA_GETCERT_FULL_CHAIN);
	sgt_transid(fx, "rm-enroll", tid, sizeof(tid));
	rep = sgt_enroll(fx, "renew-manual", tid, 0, SGT_CODE);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
	    "manual PKCSReq");
	p7_certrep_free(rep);
	assert_true(sgt_find_request(fx, RA_REQ_PENDING, tid, &req));
	assert_int_equal(ra_request_approve(fx->ra, req.id, &err), SG_OK);
	rep = certpoll(fx, "renew-manual", tid, 0, nonce, sizeof(nonce));
	old = sgt_expect_issued(fx, rep, fx->key[0], 2, "first certificate");
	assert_true(X509_up_ref(old));
	p7_certrep_free(rep);
	sgt_serial_hex(old, s_old, sizeof(s_old));

	/* The renewal waits for approval too. */
	sgt_transid(fx, "rm-renew", rtid, sizeof(rtid));
	rep = sgt_request(fx, fx->ra, "renew-manual", P7_TYPE_RENEWALREQ, rtid,
	    fx->key[1], NULL, 0, old, fx->key[0]);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
	    "manual renewal");
	p7_certrep_free(rep);
	rep = sgt_certpoll(fx, "renew-manual", rtid, old, fx->key[0], NULL,
	    nonce, sizeof(nonce));
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
	    "CertPoll of a pending renewal");
	p7_certrep_free(rep);
	assert_true(sgt_find_request(fx, RA_REQ_PENDING, rtid, &req));
	assert_string_equal(req.type, "RenewalReq");
	assert_string_equal(req.account, "renew-manual-acct");
	assert_int_equal(ra_request_approve(fx->ra, req.id, &err), SG_OK);

	sgt_cert_info(fx, old, &info);
	superseded = info.status == RA_CERT_SUPERSEDED;
	rep = sgt_certpoll(fx, "renew-manual", rtid, old, fx->key[0], NULL,
	    nonce, sizeof(nonce));
	delivered = rep->status == P7_STATUS_SUCCESS;
	st = rep->status;
	fi = rep->failinfo;
	if (delivered)
		sgt_expect_issued(fx, rep, fx->key[1], 2, "approved renewal");
	p7_certrep_free(rep);
	X509_free(old);
	if (!superseded || !delivered)
		fail_msg("approved RenewalReq: old certificate %s is %s "
		    "(expected superseded); CertPoll signed with the old "
		    "certificate: status %d failinfo %d (expected SUCCESS)",
		    s_old, ra_cert_status_name(info.status), st, fi);
}

/* ---- idempotency and nonces (RFC 8894 3.2.1, 5.2) ---- */

static void
test_idempotency_nonces(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep[4];
	struct nonces		 seen = { 0 };
	uint8_t			 nonce[4][16];
	size_t			 i;
	char			 tid[64], s0[80], s1[80];
	static const int	 who[] = { 1, 1, 2, 1 };

	sgt_transid(fx, "idem", tid, sizeof(tid));
	for (i = 0; i < 4; i++) {
		struct p7_req	 rq = { 0 };
		uint8_t		*csr = NULL;
		size_t		 csrlen = 0;

		memset(nonce[i], 0x30 + (int)i, sizeof(nonce[i]));
		sgt_make_csr(fx->key[who[i]], "idempotent", SGT_CODE, 0, &csr,
		    &csrlen);
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid;
		rq.sender_nonce = nonce[i];
		rq.sender_nonce_len = sizeof(nonce[i]);
		rq.data = csr;
		rq.data_len = csrlen;
		rq.signer = fx->cert[who[i]];
		rq.signer_key = fx->key[who[i]];
		rep[i] = sgt_send(fx, fx->ra, "demo", &rq, who[i]);
		free(csr);
		check_nonces(&seen, rep[i], nonce[i], sizeof(nonce[i]));
	}
	/* Same transactionID and key after SUCCESS: the same certificate. */
	sgt_expect_issued(fx, rep[0], fx->key[1], 2, "first");
	sgt_expect_issued(fx, rep[1], fx->key[1], 2, "again");
	sgt_serial_hex(sk_X509_value(rep[0]->certs, 0), s0, sizeof(s0));
	sgt_serial_hex(sk_X509_value(rep[1]->certs, 0), s1, sizeof(s1));
	assert_string_equal(s0, s1);
	/* Same transactionID, another key: refused, and nothing changes. */
	sgt_expect_status(rep[2], P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "another key");
	assert_null(rep[2]->certs);
	sgt_expect_issued(fx, rep[3], fx->key[1], 2, "after another key");
	sgt_serial_hex(sk_X509_value(rep[3]->certs, 0), s1, sizeof(s1));
	assert_string_equal(s0, s1);
	for (i = 0; i < 4; i++)
		p7_certrep_free(rep[i]);
}

/* ---- a finished transactionID and the same key (RFC 8894 3.2.1.1) ---- */

/* The serial of the certificate a SUCCESS brings for "key". */
static void
issued_serial(struct sgt_fx *fx, const struct p7_certrep *rep, EVP_PKEY *key,
    const char *what, char *out, size_t outsz)
{
	sgt_serial_hex(sgt_expect_issued(fx, rep, key, 2, what), out, outsz);
}

/*
 * micromdm's scepclient derives the transactionID from the key, so its
 * renewal with the same key arrives under the transactionID of the
 * first enrollment; so does a re-enrollment after revocation. Each is a
 * new request: a new certificate. A byte-for-byte resend is not.
 */
static void
test_same_key(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_cert		 info;
	struct sg_err		 err = { 0 };
	X509			*a, *b;
	EVP_PKEY		*k = fx->key[2];
	uint8_t			*csr = NULL, *der = NULL, *rder = NULL;
	size_t			 csrlen = 0, len = 0, rlen = 0;
	char			 tid[64], sa[80], sb[80], sc[80], sd[80];

	sgt_add_simple(fx, "rekey", 0, 30, false, RA_GETCERT_FULL_CHAIN);
	sgt_transid(fx, "same-key", tid, sizeof(tid));
	sgt_make_csr(k, "same-key", SGT_CODE, 0, &csr, &csrlen);
	rep = send_csr(fx, "rekey", P7_TYPE_PKCSREQ, tid, csr, csrlen,
	    fx->cert[2], k, &der, &len);
	a = sgt_expect_issued(fx, rep, k, 2, "first enrollment");
	assert_true(X509_up_ref(a));
	sgt_serial_hex(a, sa, sizeof(sa));
	p7_certrep_free(rep);

	/* RenewalReq, same key and transactionID, signed by "a". */
	rep = send_csr(fx, "rekey", P7_TYPE_RENEWALREQ, tid, csr, csrlen, a,
	    k, &rder, &rlen);
	b = sgt_expect_issued(fx, rep, k, 2, "same-key renewal");
	assert_true(X509_up_ref(b));
	sgt_serial_hex(b, sb, sizeof(sb));
	p7_certrep_free(rep);
	if (strcmp(sa, sb) == 0)
		fail_msg("same-key RenewalReq got the old certificate %s", sa);
	sgt_cert_info(fx, a, &info);
	assert_int_equal(info.status, RA_CERT_SUPERSEDED);

	/* The renewal re-sent byte for byte: the same new certificate. */
	rep = replay(fx, "rekey", rder, rlen, a, k);
	issued_serial(fx, rep, k, "renewal resent", sc, sizeof(sc));
	assert_string_equal(sb, sc);
	p7_certrep_free(rep);
	free(rder);

	/* A PKCSReq signed by "b", no code: a renewal (RFC 8894 2.3). */
	sgt_make_csr(k, "same-key", NULL, 0, &rder, &rlen);
	free(der);
	rep = send_csr(fx, "rekey", P7_TYPE_PKCSREQ, tid, rder, rlen, b, k,
	    &der, &len);
	issued_serial(fx, rep, k, "PKCSReq signed by the certificate", sc,
	    sizeof(sc));
	p7_certrep_free(rep);
	free(der);
	assert_string_not_equal(sb, sc);
	sgt_cert_info(fx, b, &info);
	assert_int_equal(info.status, RA_CERT_SUPERSEDED);
	free(rder);

	/* Revoked, then the first request again: a new certificate. */
	assert_int_equal(ra_cert_revoke(fx->ra, sc, 0, &err), SG_OK);
	rep = send_csr(fx, "rekey", P7_TYPE_PKCSREQ, tid, csr, csrlen,
	    fx->cert[2], k, &der, &len);
	issued_serial(fx, rep, k, "re-enrollment after revocation", sd,
	    sizeof(sd));
	p7_certrep_free(rep);
	if (strcmp(sc, sd) == 0)
		fail_msg("re-enrollment got the revoked certificate %s", sc);

	/* Byte for byte again now: the same (current) certificate. */
	rep = replay(fx, "rekey", der, len, fx->cert[2], k);
	issued_serial(fx, rep, k, "resend", sc, sizeof(sc));
	assert_string_equal(sd, sc);
	p7_certrep_free(rep);
	free(der);
	free(csr);
	X509_free(a);
	X509_free(b);
}

/*
 * Issue 10: the victim's CSR re-sent under its transactionID, signed by
 * another key, must not get the victim's certificate, pending or
 * issued: a resumed transaction is signed by the key of its request.
 */
static void
test_hijack(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_request	 req;
	struct sg_err		 err = { 0 };
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0, i;
	char			 tid[64];

	sgt_add_simple(fx, "hijack", 30, 30, true, RA_GETCERT_FULL_CHAIN);
	sgt_transid(fx, "victim", tid, sizeof(tid));
	sgt_make_csr(fx->key[4], "victim", SGT_CODE, 0, &csr, &csrlen);
	rep = send_csr(fx, "hijack", P7_TYPE_PKCSREQ, tid, csr, csrlen,
	    fx->cert[4], fx->key[4], &der, &len);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "victim");
	p7_certrep_free(rep);
	free(der);
	for (i = 0; i < 2; i++) {
		if (i == 1) {
			assert_true(sgt_find_request(fx, RA_REQ_PENDING, tid,
			    &req));
			assert_int_equal(ra_request_approve(fx->ra, req.id,
			    &err), SG_OK);
		}
		/* The same CSR, signed by client 1 (its own code too). */
		rep = send_csr(fx, "hijack", P7_TYPE_PKCSREQ, tid, csr, csrlen,
		    fx->cert[1], fx->key[1], &der, &len);
		free(der);
		if (rep->status != P7_STATUS_FAILURE || rep->certs != NULL)
			fail_msg("%s victim's CSR signed by another key: "
			    "status %d, %d certificates", i ? "issued" :
			    "pending", rep->status, rep->certs ?
			    sk_X509_num(rep->certs) : 0);
		assert_int_equal(rep->failinfo, SG_FAIL_BADREQUEST);
		p7_certrep_free(rep);
	}
	/* The victim still collects its own. */
	rep = send_csr(fx, "hijack", P7_TYPE_PKCSREQ, tid, csr, csrlen,
	    fx->cert[4], fx->key[4], &der, &len);
	sgt_expect_issued(fx, rep, fx->key[4], 2, "victim's resend");
	p7_certrep_free(rep);
	free(der);
	free(csr);
}

/* ---- crash recovery (issue 10): transactions left in NEW ---- */

/*
 * A transaction as a crash leaves it: NEW for client "who"'s CSR with
 * CN "transid" on "demo", begun as ra_op_pkcsreq begins it, never
 * finished. Its id.
 */
static int64_t
stuck_row(struct sgt_fx *fx, const char *transid, int who)
{
	struct ra_endpoint	 ep;
	struct ra_txn		 t;
	struct p7_csr		*csr = NULL;
	struct sg_err		 e;
	uint8_t			*der = NULL, *sealed = NULL;
	size_t			 len = 0, slen = 0;

	sgt_make_csr(fx->key[who], transid, fx->code, 0, &der, &len);
	assert_int_equal(p7_csr_parse(der, len, &csr, &e), SG_OK);
	assert_int_equal(ra_store_endpoint_get(fx->ra->store, "demo", false,
	    &ep, &e), SG_OK);
	assert_int_equal(ra_keys_seal(&fx->ra->keys, der, len, &sealed,
	    &slen), SG_OK);
	memset(&t, 0, sizeof(t));
	t.endpoint_id = ep.id;
	snprintf(t.transid, sizeof(t.transid), "%s", transid);
	t.msg_type = P7_TYPE_PKCSREQ;
	memcpy(t.key_id, csr->key_id, sizeof(t.key_id));
	snprintf(t.subject, sizeof(t.subject), "%s", csr->subject);
	t.csr = sealed;
	t.csr_len = slen;
	if (ra_store_txn_begin(fx->ra->store, &t, &e) != SG_OK)
		fail_msg("txn_begin: %s", e.msg);
	free(sealed);
	free(der);
	p7_csr_free(csr);
	return t.id;
}

/* Record certificate "x" for transaction "id", as the old code did. */
static void
record_cert(struct sgt_fx *fx, int64_t id, X509 *x, char *serial,
    size_t serialsz)
{
	struct ra_txn		t;
	struct ra_cert_rec	cr;
	struct sg_err		e;
	unsigned char		*der = NULL;
	int			n;

	assert_int_equal(ra_store_txn_get(fx->ra->store, id, &t, NULL, NULL,
	    &e), SG_OK);
	sgt_serial_hex(x, serial, serialsz);
	memset(&cr, 0, sizeof(cr));
	snprintf(cr.serial, sizeof(cr.serial), "%s", serial);
	cr.endpoint_id = t.endpoint_id;
	cr.txn_id = id;
	snprintf(cr.subject, sizeof(cr.subject), "%s", t.subject);
	cr.not_before = (int64_t)time(NULL) - 300;
	cr.not_after = (int64_t)time(NULL) + 86400;
	assert_true((n = i2d_X509(x, &der)) > 0);
	cr.der = der;
	cr.der_len = (size_t)n;
	assert_int_equal(ra_store_cert_add(fx->ra->store, &cr, &e), SG_OK);
	OPENSSL_free(der);
}

static void
test_recover(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_txn		 t;
	struct sg_err		 e;
	X509			*x;
	char			 ta[64], tb[64], tc[64], serial[80], got[80];
	int64_t			 ida, idb, idc;

	/* A: its certificate is recorded (an interrupted finish). */
	sgt_transid(fx, "stuck-cert", ta, sizeof(ta));
	ida = stuck_row(fx, ta, 2);
	x = sgt_make_cert(fx->key[2], ta, fx->ca_cert, fx->ca_key, 0x5eed01,
	    NULL, false);
	record_cert(fx, ida, x, serial, sizeof(serial));
	X509_free(x);
	/* B: nothing recorded (killed before the upstream answered). */
	sgt_transid(fx, "stuck-none", tb, sizeof(tb));
	idb = stuck_row(fx, tb, 3);

	/* Young rows may be in progress: left alone, a retry is PENDING. */
	assert_int_equal(ra_txn_recover(fx->ra, time(NULL)), 0);
	rep = sgt_enroll(fx, "demo", tb, 3, fx->code);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "young");
	p7_certrep_free(rep);

	/* Past the bound both are resolved, once. */
	assert_int_equal(ra_txn_recover(fx->ra, time(NULL) +
	    RA_TXN_STUCK_SECONDS + 1), 2);
	assert_int_equal(ra_txn_recover(fx->ra, time(NULL) +
	    RA_TXN_STUCK_SECONDS + 1), 0);
	assert_int_equal(ra_store_txn_get(fx->ra->store, ida, &t, NULL, NULL,
	    &e), SG_OK);
	assert_int_equal(t.status, RA_REQ_ISSUED);
	assert_string_equal(t.serial, serial);
	assert_int_equal(ra_store_txn_get(fx->ra->store, idb, &t, NULL, NULL,
	    &e), SG_OK);
	assert_int_equal(t.status, RA_REQ_REJECTED);
	assert_string_equal(t.reason, "interrupted; retry");

	/* The retries: A gets the recorded certificate, B a fresh one. */
	rep = sgt_enroll(fx, "demo", ta, 2, fx->code);
	sgt_expect_issued(fx, rep, fx->key[2], 2, "recovered");
	sgt_serial_hex(sk_X509_value(rep->certs, 0), got, sizeof(got));
	assert_string_equal(got, serial);
	p7_certrep_free(rep);
	rep = sgt_enroll(fx, "demo", tb, 3, fx->code);
	sgt_expect_issued(fx, rep, fx->key[3], 2, "released");
	p7_certrep_free(rep);

	/* An admin may not resolve a NEW row that may be in progress. */
	sgt_transid(fx, "stuck-young", tc, sizeof(tc));
	idc = stuck_row(fx, tc, 2);
	assert_int_equal(ra_request_reject(fx->ra, idc, "test", &e),
	    SG_EPOLICY);
	assert_non_null(strstr(e.msg, "in progress"));
	assert_int_equal(ra_request_approve(fx->ra, idc, &e), SG_EPOLICY);
	assert_int_equal(ra_txn_recover(fx->ra, time(NULL) +
	    RA_TXN_STUCK_SECONDS + 1), 1);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_txn");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_manual),
		cmocka_unit_test(test_renewal_manual),
		cmocka_unit_test(test_idempotency_nonces),
		cmocka_unit_test(test_same_key),
		cmocka_unit_test(test_hijack),
		cmocka_unit_test(test_recover),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
