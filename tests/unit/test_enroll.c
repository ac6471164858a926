/*
 * The PKCSReq and CertPoll handlers (ra_enroll.c) through ra_pkiop, the
 * real path: a table of access checks, algorithms and tampered
 * envelopes, then CertPoll of issued, unknown and refused
 * transactions (RFC 8894 3.3.1, 3.3.3). On the shared instance fixture
 * (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "p7.h"
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

/* ---- PKCSReq: access checks through ra_pkiop (the real path) ---- */

enum code_kind {
	C_DEMO,		/* the demo account's code */
	C_OTHER,	/* the code of the account on "other" */
	C_WRONG,
	C_NONE,		/* no challengePassword attribute */
	C_EMPTY,
};

enum tamper {
	T_NONE,
	T_BADSIG,	/* one byte of the outer signature flipped */
	T_RCPT,		/* envelope encrypted to another certificate */
};

static const struct pkcs_case {
	const char	*name;
	const char	*uri;
	enum code_kind	 code;
	int		 key;
	int		 cipher;	/* 0: AES-128-CBC */
	int		 digest;	/* 0: SHA-256 */
	enum tamper	 tamper;
	int		 status;
	int		 failinfo;
	int		 ncerts;	/* SUCCESS: certificates in it */
} pkcs_cases[] = {
	{ "right code", "demo", C_DEMO, 0, 0, 0, T_NONE,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "right code, AES-256, SHA-512", "demo", C_DEMO, 1,
	    NID_aes_256_cbc, NID_sha512, T_NONE,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "right code, 3DES, SHA-1", "demo", C_DEMO, 2, NID_des_ede3_cbc,
	    NID_sha1, T_NONE, P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "right code, DES (legacy provider)", "demo", C_DEMO, 0,
	    NID_des_cbc, 0, T_NONE, P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "own code, single-cert endpoint", "other", C_OTHER, 1, 0, 0,
	    T_NONE, P7_STATUS_SUCCESS, SG_FAIL_NONE, 1 },
	{ "wrong code", "demo", C_WRONG, 0, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "no challengePassword", "demo", C_NONE, 0, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "empty challengePassword", "demo", C_EMPTY, 0, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "code of an account on another endpoint", "demo", C_OTHER, 0,
	    0, 0, T_NONE, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "demo code on the other endpoint", "other", C_DEMO, 0, 0, 0,
	    T_NONE, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "RSA-1024 key", "demo", C_DEMO, SGT_KWEAK, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADALG, 0 },
	{ "MD5 digest", "demo", C_DEMO, 0, 0, NID_md5, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADALG, 0 },
	{ "bad outer signature", "demo", C_DEMO, 0, 0, 0, T_BADSIG,
	    P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK, 0 },
	{ "encrypted to another certificate", "demo", C_DEMO, 0, 0, 0,
	    T_RCPT, P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK, 0 },
};

static const char *
case_code(const struct sgt_fx *fx, enum code_kind k)
{
	switch (k) {
	case C_DEMO:	return fx->code;
	case C_OTHER:	return SGT_OTHER_CODE;
	case C_WRONG:	return "WrongCode123456789012";
	case C_EMPTY:	return "";
	case C_NONE:	break;
	}
	return NULL;
}

static void
test_pkcsreq_table(void **state)
{
	struct sgt_fx		*fx = *state;
	const struct pkcs_case	*c;
	struct p7_req		 rq;
	struct p7_certrep	*rep;
	STACK_OF(X509)		*rcpt;
	uint8_t			*csr, *der, nonce[16];
	size_t			 i, csrlen, len;
	char			 tid[64];

	for (i = 0; i < sizeof(pkcs_cases) / sizeof(pkcs_cases[0]); i++) {
		c = &pkcs_cases[i];
		csr = der = NULL;
		rcpt = NULL;
		sgt_make_csr(fx->key[c->key], c->name, case_code(fx, c->code),
		    0, &csr, &csrlen);
		sgt_transid(fx, "table", tid, sizeof(tid));
		memset(nonce, (int)i + 1, sizeof(nonce));
		memset(&rq, 0, sizeof(rq));
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid;
		rq.sender_nonce = nonce;
		rq.sender_nonce_len = sizeof(nonce);
		rq.data = csr;
		rq.data_len = csrlen;
		rq.cipher_nid = c->cipher;
		rq.digest_nid = c->digest;
		if (c->tamper == T_RCPT) {
			rcpt = sk_X509_new_null();
			assert_non_null(rcpt);
			assert_true(sk_X509_push(rcpt, fx->cert[2]));
			rq.recipients = rcpt;
		}
		sgt_build(fx, &rq, c->key, &der, &len);
		if (c->tamper == T_BADSIG) {
			/* The SignerInfo signature ends the DER. */
			der[len - 20] ^= 0x01;
		}
		rep = sgt_exchange(fx, c->uri, der, len, c->key);
		sgt_expect_status(rep, c->status, c->failinfo, c->name);
		assert_string_equal(rep->transid, tid);
		assert_int_equal(rep->recipient_nonce_len, sizeof(nonce));
		assert_memory_equal(rep->recipient_nonce, nonce,
		    sizeof(nonce));
		if (c->status == P7_STATUS_SUCCESS) {
			sgt_expect_issued(fx, rep, fx->key[c->key], c->ncerts,
			    c->name);
			/* The reply mirrors the request's cipher. */
			assert_int_equal(rep->cipher_nid, c->cipher ?
			    c->cipher : NID_aes_128_cbc);
		} else
			assert_null(rep->certs);
		/* Apple's 1024-bit default: the device is told what to fix. */
		if (c->key == SGT_KWEAK)
			assert_non_null(strstr(rep->failtext, "RSA key of 1024 "
			    "bits is below this endpoint's minimum 2048"));
		p7_certrep_free(rep);
		sk_X509_free(rcpt);
		free(der);
		free(csr);
	}
}

/* ---- CertPoll (RFC 8894 3.3.3) ---- */

/* CertPoll on demo by client "who" for "issued" (NULL: its own name). */
static struct p7_certrep *
certpoll(struct sgt_fx *fx, const char *transid, int who, X509 *issued)
{
	return sgt_certpoll(fx, "demo", transid, fx->cert[who], fx->key[who],
	    issued != NULL ? X509_get_subject_name(issued) : NULL, NULL, 0);
}

static void
test_certpoll(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*a, *b;
	char			 tid[64], tid2[64];

	sgt_transid(fx, "poll", tid, sizeof(tid));
	a = sgt_enroll(fx, "demo", tid, 1, fx->code);
	sgt_expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "enroll");

	b = certpoll(fx, tid, 1, sk_X509_value(a->certs, 0));
	sgt_expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "poll issued");
	sgt_expect_issued(fx, b, fx->key[1], 2, "poll issued");
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);

	sgt_transid(fx, "poll-unknown", tid2, sizeof(tid2));
	b = certpoll(fx, tid2, 1, NULL);
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "poll unknown");
	p7_certrep_free(b);

	/* Only the requester may collect the certificate. */
	b = certpoll(fx, tid, 2, sk_X509_value(a->certs, 0));
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "poll by another key");
	assert_null(b->certs);
	p7_certrep_free(b);
	p7_certrep_free(a);

	/* A refused transaction stays refused when polled. */
	sgt_transid(fx, "poll-refused", tid2, sizeof(tid2));
	a = sgt_enroll(fx, "demo", tid2, 1, "WrongCode123456789012");
	sgt_expect_status(a, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "refused");
	b = certpoll(fx, tid2, 1, NULL);
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "poll refused");
	p7_certrep_free(b);
	p7_certrep_free(a);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_enroll");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcsreq_table),
		cmocka_unit_test(test_certpoll),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
