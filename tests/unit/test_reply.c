/*
 * The CertRep being built (ra_reply.c, RFC 8894 3.3.2): a FAILURE is
 * signed detached and still readable; every reply echoes the senderNonce
 * and the transactionID and brings a fresh nonce of its own. On the
 * shared instance fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>


#include "p7.h"
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

/*
 * A FAILURE CertRep carries no content (RFC 8894 3.3.2.2: p7_rep_build
 * signs it detached); a client must still verify and read it. Once
 * p7_certrep_parse gave CMS_verify no content and failed on every one.
 */
static void
test_certrep_detached(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep = NULL;
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 tid[64];
	enum sg_rc		 rc;

	sgt_make_csr(fx->key[0], "detached", "WrongCode123456789012", 0, &csr,
	    &csrlen);
	sgt_transid(fx, "detached", tid, sizeof(tid));
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	sgt_build(fx, &rq, 0, &der, &len);
	assert_int_equal(ra_pkiop(fx->ra, "demo", der, len, SGT_PEER, &r,
	    &err), SG_OK);
	rc = p7_certrep_parse(r.body, r.len, fx->ra_cert, fx->cert[0],
	    fx->key[0], &rep, &err);
	ra_reply_free(&r);
	free(der);
	free(csr);
	if (rc != SG_OK)
		fail_msg("p7_certrep_parse of a FAILURE CertRep: %s: %s",
		    sg_strerror(rc), err.msg);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "detached");
	assert_string_equal(rep->transid, tid);
	p7_certrep_free(rep);
}

/* ---- nonces and transactionID (RFC 8894 3.2.1) ---- */

static void
test_nonces(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_req		 rq;
	struct p7_certrep	*rep[3];
	uint8_t			*csr = NULL, *der = NULL, nonce[3][32];
	size_t			 csrlen = 0, len, i, j;
	char			 tid[3][64];
	const char		*code;

	sgt_make_csr(fx->key[1], "nonces", fx->code, 0, &csr, &csrlen);
	for (i = 0; i < 3; i++) {
		/* Two SUCCESS replies and one FAILURE. */
		code = i < 2 ? fx->code : "WrongCode123456789012";
		free(csr);
		sgt_make_csr(fx->key[1], "nonces", code, 0, &csr, &csrlen);
		sgt_transid(fx, "nonce", tid[i], sizeof(tid[i]));
		for (j = 0; j < sizeof(nonce[i]); j++)
			nonce[i][j] = (uint8_t)(i * 64 + j);
		memset(&rq, 0, sizeof(rq));
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid[i];
		rq.sender_nonce = nonce[i];
		rq.sender_nonce_len = sizeof(nonce[i]);
		rq.data = csr;
		rq.data_len = csrlen;
		len = 0;
		sgt_build(fx, &rq, 1, &der, &len);
		rep[i] = sgt_exchange(fx, "demo", der, len, 1);
		free(der);
		sgt_expect_status(rep[i], i < 2 ? P7_STATUS_SUCCESS :
		    P7_STATUS_FAILURE, i < 2 ? SG_FAIL_NONE :
		    SG_FAIL_BADREQUEST, "nonces");
		assert_string_equal(rep[i]->transid, tid[i]);
		assert_int_equal(rep[i]->recipient_nonce_len,
		    sizeof(nonce[i]));
		assert_memory_equal(rep[i]->recipient_nonce, nonce[i],
		    sizeof(nonce[i]));
		/* The RA's own nonce: 16 bytes or more, not ours. */
		assert_true(rep[i]->sender_nonce_len >= 8);
		assert_false(rep[i]->sender_nonce_len == sizeof(nonce[i]) &&
		    memcmp(rep[i]->sender_nonce, nonce[i],
		    sizeof(nonce[i])) == 0);
	}
	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			assert_false(rep[i]->sender_nonce_len ==
			    rep[j]->sender_nonce_len &&
			    memcmp(rep[i]->sender_nonce, rep[j]->sender_nonce,
			    rep[i]->sender_nonce_len) == 0);
	for (i = 0; i < 3; i++)
		p7_certrep_free(rep[i]);
	free(csr);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_reply");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certrep_detached),
		cmocka_unit_test(test_nonces),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
