/*
 * ra.c's PKIOperation path before a handler runs (RFC 8894 3.2, 3.5.2):
 * bytes that are no pkiMessage, unknown endpoints, the algorithm
 * switches crypto.allow_*, and the envelope opened with one RA
 * certificate while the reply is signed with another. On the shared
 * instance fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p7.h"
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

/* Bytes that are not a pkiMessage: HTTP 400, no reply at all. */
static void
test_not_scep(void **state)
{
	struct sgt_fx	*fx = *state;
	struct p7_req	 rq = { 0 };
	struct ra_reply	 r;
	struct sg_err	 err;
	uint8_t		*csr = NULL, *der = NULL, *longer;
	size_t		 csrlen = 0, len = 0, i;
	static const uint8_t garbage[] = "this is not DER at all";
	static const uint8_t seq[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct {
		const char	*name;
		const uint8_t	*p;
		size_t		 len;
	} cases[5];

	sgt_make_csr(fx->key[0], "not scep", fx->code, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "not-scep";
	rq.data = csr;
	rq.data_len = csrlen;
	sgt_build(fx, &rq, 0, &der, &len);
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	cases[0].name = "garbage";
	cases[0].p = garbage;
	cases[0].len = sizeof(garbage) - 1;
	cases[1].name = "a SEQUENCE of an INTEGER";
	cases[1].p = seq;
	cases[1].len = sizeof(seq);
	cases[2].name = "truncated pkiMessage";
	cases[2].p = der;
	cases[2].len = len / 2;
	cases[3].name = "trailing byte";
	cases[3].p = longer;
	cases[3].len = len + 1;
	cases[4].name = "a PKCS#10 request";
	cases[4].p = csr;
	cases[4].len = csrlen;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		memset(&err, 0, sizeof(err));
		if (ra_pkiop(fx->ra, "demo", cases[i].p, cases[i].len,
		    SGT_PEER, &r, &err) != SG_EPARSE)
			fail_msg("%s: not SG_EPARSE", cases[i].name);
		assert_null(r.body);
		assert_int_equal(r.len, 0);
		assert_true(err.msg[0] != '\0');
	}
	/* An unknown endpoint, with a valid message. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(ra_pkiop(fx->ra, "no-such-endpoint", der, len,
	    SGT_PEER, &r, &err), SG_ENOTFOUND);
	assert_null(r.body);
	assert_int_equal(ra_pkiop(fx->ra, "", der, len, SGT_PEER, &r,
	    &err), SG_ENOTFOUND);
	assert_null(r.body);
	free(longer);
	free(der);
	free(csr);
}

/* ---- algorithms (RFC 8894 3.5.2, crypto.allow_*) ---- */

static const struct alg_case {
	const char	*name;
	int		 cipher;	/* 0: AES-128-CBC */
	int		 digest;	/* 0: SHA-256 */
	bool		 legacy;	/* refused by allow_* false */
} alg_cases[] = {
	{ "AES-128", NID_aes_128_cbc, 0, false },
	{ "AES-256", NID_aes_256_cbc, 0, false },
	{ "DES3", NID_des_ede3_cbc, 0, true },
	{ "DES", NID_des_cbc, 0, true },
	{ "SHA-1", 0, NID_sha1, true },
	{ "SHA-256", 0, NID_sha256, false },
	{ "SHA-512", 0, NID_sha512, false },
};

static struct p7_certrep *
alg_request(struct sgt_fx *fx, struct ra *ra, const struct alg_case *c)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*csr = NULL;
	size_t			 csrlen = 0;
	char			 tid[64];

	sgt_transid(fx, "alg", tid, sizeof(tid));
	sgt_make_csr(fx->key[3], c->name, SGT_CODE, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	rq.cipher_nid = c->cipher;
	rq.digest_nid = c->digest;
	rq.signer = fx->cert[3];
	rq.signer_key = fx->key[3];
	rep = sgt_send(fx, ra, "demo", &rq, 3);
	free(csr);
	return rep;
}

static void
test_algorithms(void **state)
{
	struct sgt_fx		*fx = *state;
	static const char *const edits[] = {
		"allow_des = true; allow_sha1 = true;",
		"allow_des = false; allow_sha1 = false;",
	};
	const struct alg_case	*c;
	struct p7_certrep	*rep;
	struct sgt_variant	 v;
	size_t			 i;

	for (i = 0; i < sizeof(alg_cases) / sizeof(alg_cases[0]); i++) {
		c = &alg_cases[i];
		rep = alg_request(fx, fx->ra, c);
		sgt_expect_issued(fx, rep, fx->key[3], 2, c->name);
		if (rep->cipher_nid != (c->cipher ? c->cipher :
		    NID_aes_128_cbc))
			fail_msg("%s: reply encrypted with %s", c->name,
			    OBJ_nid2sn(rep->cipher_nid));
		p7_certrep_free(rep);
	}
	assert_true(sgt_has_cap(fx->ra, "demo", "DES3"));
	assert_true(sgt_has_cap(fx->ra, "demo", "SHA-1"));

	sgt_variant_open(fx, "strict.cfg", edits, 2, &v);
	assert_false(v.conf->allow_des);
	assert_false(v.conf->allow_sha1);
	for (i = 0; i < sizeof(alg_cases) / sizeof(alg_cases[0]); i++) {
		c = &alg_cases[i];
		rep = alg_request(fx, v.ra, c);
		if (c->legacy) {
			sgt_expect_status(rep, P7_STATUS_FAILURE,
			    SG_FAIL_BADALG, c->name);
			assert_null(rep->certs);
		} else
			sgt_expect_issued(fx, rep, fx->key[3], 2, c->name);
		p7_certrep_free(rep);
	}
	assert_false(sgt_has_cap(v.ra, "demo", "DES3"));
	assert_false(sgt_has_cap(v.ra, "demo", "SHA-1"));
	assert_true(sgt_has_cap(v.ra, "demo", "AES"));
	assert_true(sgt_has_cap(v.ra, "demo", "SHA-256"));
	sgt_variant_close(&v);
}

/* ---- separate signing and encryption RA certificates ---- */

static void
test_two_ra(void **state)
{
	struct sgt_fx		*fx = *state;
	static const char *const edits[] = {
		"key = \"ra.key\"; } );",
		"key = \"ra.key\"; }, { id = \"ra2\"; cert = \"ra2.pem\"; "
		    "key = \"ra2.key\"; } );",
	};
	struct sgt_variant	 v;
	struct ra_endpoint	 ep = { 0 };
	struct ra_account	 acct = { 0 };
	struct ra_reply		 r = { 0 };
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep = NULL;
	struct sg_err		 err = { 0 };
	STACK_OF(X509)		*certs = NULL, *rcpt;
	X509			*sig;
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 code[RA_CODE_MAX + 1];
	enum sg_rc		 rc;

	/* ra2 signs (digitalSignature only); ra1 (ra.pem) decrypts. */
	sig = sgt_make_cert(fx->extra_key, "scepgate test signing RA",
	    fx->ca_cert, fx->ca_key, 77, "critical,digitalSignature", false);
	sgt_write_pem(fx, "ra2.pem", sig, NULL);
	sgt_write_pem(fx, "ra2.key", NULL, fx->extra_key);
	sgt_variant_open(fx, "two-ra.cfg", edits, 2, &v);
	assert_int_equal(v.conf->nra, 2);

	snprintf(ep.name, sizeof(ep.name), "split");
	ep.type = RA_EP_DEVICE;
	ep.renewal_days = 30;
	snprintf(ep.ra_id, sizeof(ep.ra_id), "ra2");
	snprintf(ep.ra_enc_id, sizeof(ep.ra_enc_id), "ra9");
	snprintf(ep.uri, sizeof(ep.uri), "split");
	assert_int_equal(ra_endpoint_add(v.ra, &ep, &err), SG_ENOTFOUND);
	snprintf(ep.ra_enc_id, sizeof(ep.ra_enc_id), "ra1");
	sgt_add_endpoint(v.ra, &ep);
	snprintf(acct.endpoint, sizeof(acct.endpoint), "split");
	snprintf(acct.name, sizeof(acct.name), "split-acct");
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = 30;
	assert_int_equal(ra_account_add(v.ra, &acct, SGT_CODE, code, &err),
	    SG_OK);

	/* GetCACert cms-chain: encryption, signing, CA. */
	assert_int_equal(ra_getcacert(v.ra, "split", &r, &err), SG_OK);
	assert_string_equal(r.ctype, "application/x-x509-ca-ra-cert");
	assert_int_equal(p7_certs_parse(r.body, r.len, &certs, &err), SG_OK);
	assert_int_equal(sk_X509_num(certs), 3);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), fx->ra_cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 1), sig), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 2), fx->ca_cert), 0);
	sk_X509_pop_free(certs, X509_free);
	ra_reply_free(&r);

	/* Encrypted to the encryption certificate: SUCCESS ... */
	sgt_make_csr(fx->key[4], "split", SGT_CODE, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "split-1";
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = fx->cert[4];
	rq.signer_key = fx->key[4];
	sgt_build(fx, &rq, 4, &der, &len);		/* to ra.pem */
	sgt_pkiop(v.ra, "split", der, len, &r);
	free(der);
	/* ... signed by the signing certificate, not the other one. */
	rc = p7_certrep_parse(r.body, r.len, fx->ra_cert, fx->cert[4],
	    fx->key[4], &rep, &err);
	if (rc == SG_OK)
		fail_msg("CertRep verifies with the encryption certificate");
	rep = sgt_read_rep(&r, sig, fx->cert[4], fx->key[4]);
	sgt_expect_issued(fx, rep, fx->key[4], 2, "split RA");
	p7_certrep_free(rep);
	ra_reply_free(&r);

	/* Encrypted to the signing certificate: it cannot be opened. */
	rcpt = sk_X509_new_null();
	assert_non_null(rcpt);
	assert_true(sk_X509_push(rcpt, sig));
	rq.transid = "split-2";
	rq.recipients = rcpt;
	sgt_build(fx, &rq, 4, &der, &len);
	sk_X509_free(rcpt);
	sgt_pkiop(v.ra, "split", der, len, &r);
	free(der);
	rep = sgt_read_rep(&r, sig, fx->cert[4], fx->key[4]);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK,
	    "encrypted to the signing certificate");
	p7_certrep_free(rep);
	ra_reply_free(&r);
	free(csr);
	sgt_variant_close(&v);
	X509_free(sig);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_pkiop");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_scep),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_two_ra),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
