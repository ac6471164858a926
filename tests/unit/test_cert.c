/*
 * Issued certificates (ra_cert.c): GetCert by issuer and serial and its
 * reply format, GetCRL with the local CA's CRL after revocations
 * (RFC 8894 3.3.4, 3.3.5). On the shared instance fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "p7.h"
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

/* ---- GetCert (RFC 8894 3.3.4) ---- */

static void
test_getcert(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*a, *b;
	struct p7_req		 rq = { 0 };
	ASN1_INTEGER		*bogus;
	X509			*x;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	char			 tid[64];
	static const uint8_t junk[] = { 0x04, 0x02, 0xde, 0xad };

	sgt_transid(fx, "gc", tid, sizeof(tid));
	a = sgt_enroll(fx, "demo", tid, 2, fx->code);
	sgt_expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "enroll");
	x = sk_X509_value(a->certs, 0);

	b = sgt_by_ias(fx, "demo", P7_TYPE_GETCERT, X509_get_issuer_name(x),
	    X509_get0_serialNumber(x), 2);
	sgt_expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCert");
	assert_true(sk_X509_num(b->certs) >= 1);
	assert_int_equal(X509_cmp(sk_X509_value(b->certs, 0), x), 0);
	p7_certrep_free(b);

	bogus = ASN1_INTEGER_new();
	assert_non_null(bogus);
	assert_true(ASN1_INTEGER_set(bogus, 0x1234567));
	b = sgt_by_ias(fx, "demo", P7_TYPE_GETCERT, X509_get_issuer_name(x),
	    bogus, 2);
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "GetCert unknown serial");
	assert_null(b->certs);
	p7_certrep_free(b);
	ASN1_INTEGER_free(bogus);

	/* messageData that is no IssuerAndSerialNumber. */
	sgt_transid(fx, "gc-junk", tid, sizeof(tid));
	rq.type = P7_TYPE_GETCERT;
	rq.transid = tid;
	rq.data = junk;
	rq.data_len = sizeof(junk);
	sgt_build(fx, &rq, 2, &der, &len);
	b = sgt_exchange(fx, "demo", der, len, 2);
	sgt_expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "GetCert junk");
	p7_certrep_free(b);
	free(der);
	p7_certrep_free(a);
}

/* GetCert or GetCRL for certificate "x" on "uri", as client "who". */
static struct p7_certrep *
by_ias(struct sgt_fx *fx, const char *uri, int type, const X509 *x, int who)
{
	return sgt_by_ias(fx, uri, type, X509_get_issuer_name(x),
	    X509_get0_serialNumber(x), who);
}

static void
test_getcert_format(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	X509			*single, *full;

	sgt_add_simple(fx, "gc-single", 30, 30, false, RA_GETCERT_SINGLE);
	sgt_add_simple(fx, "gc-full", 30, 30, false, RA_GETCERT_FULL_CHAIN);

	/* PKCSReq: one certificate, or the issued one then the CA. */
	rep = sgt_enroll(fx, "gc-single", "gc-single-1", 0, SGT_CODE);
	single = sgt_expect_issued(fx, rep, fx->key[0], 1, "single PKCSReq");
	assert_true(X509_up_ref(single));
	p7_certrep_free(rep);
	rep = sgt_enroll(fx, "gc-full", "gc-full-1", 1, SGT_CODE);
	full = sgt_expect_issued(fx, rep, fx->key[1], 2, "full-chain PKCSReq");
	assert_true(X509_up_ref(full));
	p7_certrep_free(rep);

	/* GetCert of the endpoint's own certificate, in its format. */
	rep = by_ias(fx, "gc-single", P7_TYPE_GETCERT, single, 2);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE,
	    "GetCert single");
	assert_int_equal(sk_X509_num(rep->certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 0), single), 0);
	p7_certrep_free(rep);
	rep = by_ias(fx, "gc-full", P7_TYPE_GETCERT, full, 2);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCert full");
	assert_int_equal(sk_X509_num(rep->certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 0), full), 0);
	assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 1), fx->ca_cert),
	    0);
	p7_certrep_free(rep);

	/* Another endpoint's certificate: badCertId, both ways. */
	rep = by_ias(fx, "gc-full", P7_TYPE_GETCERT, single, 2);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "GetCert of another endpoint's certificate");
	assert_null(rep->certs);
	p7_certrep_free(rep);
	rep = by_ias(fx, "gc-single", P7_TYPE_GETCERT, full, 2);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "GetCert of another endpoint's certificate");
	p7_certrep_free(rep);
	X509_free(single);
	X509_free(full);
}

/*
 * GetCert names a certificate by issuer and serial (RFC 8894 3.3.4,
 * RFC 5652 10.2.4): the right serial under another issuer's name is
 * not this CA's certificate.
 */
static void
test_getcert_issuer(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct p7_req		 rq = { 0 };
	X509			*x;
	uint8_t			*data = NULL;
	size_t			 dlen = 0;
	int			 st, fi;

	x = sgt_issued_cert(fx, "demo", 0, SGT_CODE);
	sgt_ias_der(X509_get_subject_name(fx->cert[1]),
	    X509_get0_serialNumber(x), &data, &dlen);
	rq.type = P7_TYPE_GETCERT;
	rq.transid = "getcert-foreign-issuer";
	rq.data = data;
	rq.data_len = dlen;
	rq.signer = fx->cert[0];
	rq.signer_key = fx->key[0];
	rep = sgt_send(fx, fx->ra, "demo", &rq, 0);
	free(data);
	st = rep->status;
	fi = rep->failinfo;
	/* Freed first: a failure here leaves ASan nothing to report. */
	p7_certrep_free(rep);
	X509_free(x);
	if (st != P7_STATUS_FAILURE || fi != SG_FAIL_BADCERTID)
		fail_msg("GetCert with a foreign issuer name and the serial of "
		    "an issued certificate: status %d failinfo %d, expected "
		    "FAILURE badCertId", st, fi);
}

/*
 * Some clients name the RA certificate as the issuer in GetCert and
 * GetCRL: answered for a certificate of this endpoint, badCertId for an
 * unknown serial or another endpoint's certificate.
 */
static void
test_ra_as_issuer(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	const X509_NAME		*ra = X509_get_subject_name(fx->ra_cert);
	ASN1_INTEGER		*bogus;
	X509			*x, *y;
	int			 st[4], fi[4], i;
	bool			 got;

	x = sgt_issued_cert(fx, "demo", 3, SGT_CODE);
	y = sgt_issued_cert(fx, "elsewhere", 3, SGT_OTHER_CODE);
	assert_int_not_equal(X509_NAME_cmp(ra, X509_get_issuer_name(x)), 0);
	bogus = ASN1_INTEGER_new();
	assert_non_null(bogus);
	assert_true(ASN1_INTEGER_set(bogus, 0x7654321));

	rep = sgt_by_ias(fx, "demo", P7_TYPE_GETCERT, ra,
	    X509_get0_serialNumber(x), 3);
	st[0] = rep->status;
	fi[0] = rep->failinfo;
	got = rep->certs != NULL &&
	    X509_cmp(sk_X509_value(rep->certs, 0), x) == 0;
	p7_certrep_free(rep);
	rep = sgt_by_ias(fx, "demo", P7_TYPE_GETCRL, ra,
	    X509_get0_serialNumber(x), 3);
	st[1] = rep->status;
	fi[1] = rep->failinfo;
	got = got && rep->crl != NULL;
	p7_certrep_free(rep);
	rep = sgt_by_ias(fx, "demo", P7_TYPE_GETCERT, ra, bogus, 3);
	st[2] = rep->status;
	fi[2] = rep->failinfo;
	p7_certrep_free(rep);
	rep = sgt_by_ias(fx, "demo", P7_TYPE_GETCRL, ra,
	    X509_get0_serialNumber(y), 3);
	st[3] = rep->status;
	fi[3] = rep->failinfo;
	p7_certrep_free(rep);
	ASN1_INTEGER_free(bogus);
	X509_free(x);
	X509_free(y);
	/* Freed first: a failure here leaves ASan nothing to report. */
	for (i = 0; i < 2; i++)
		if (st[i] != P7_STATUS_SUCCESS)
			fail_msg("%s naming the RA as issuer: status %d "
			    "failinfo %d, expected SUCCESS", i ? "GetCRL" :
			    "GetCert", st[i], fi[i]);
	assert_true(got);
	for (i = 2; i < 4; i++)
		if (st[i] != P7_STATUS_FAILURE || fi[i] != SG_FAIL_BADCERTID)
			fail_msg("%s naming the RA, serial not of this "
			    "endpoint: status %d failinfo %d", i == 2 ?
			    "GetCert" : "GetCRL", st[i], fi[i]);
}

/* ---- GetCRL (RFC 8894 3.3.5) ---- */

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER	*num;
	long		 v;

	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	v = ASN1_INTEGER_get(num);
	ASN1_INTEGER_free(num);
	return v;
}

/* The reason code of "x" on "crl", -1 if listed without one; -2: absent. */
static int
crl_reason(X509_CRL *crl, const X509 *x)
{
	X509_REVOKED	*rv = NULL;
	ASN1_ENUMERATED	*e;
	int		 reason;

	if (X509_CRL_get0_by_serial(crl, &rv,
	    X509_get0_serialNumber(x)) != 1)
		return -2;
	e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	if (e == NULL)
		return -1;
	reason = (int)ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return reason;
}

/* GetCRL on demo: a CRL signed by the CA. */
static X509_CRL *
get_crl(struct sgt_fx *fx, const X509 *x)
{
	struct p7_certrep	*rep;
	X509_CRL		*crl;

	rep = by_ias(fx, "demo", P7_TYPE_GETCRL, x, 0);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCRL");
	if (rep->crl == NULL)
		fail_msg("GetCRL SUCCESS without a CRL");
	crl = rep->crl;
	rep->crl = NULL;
	p7_certrep_free(rep);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(fx->ca_cert)),
	    1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(fx->ca_cert)), 0);
	return crl;
}

static void
test_getcrl(void **state)
{
	struct sgt_fx	*fx = *state;
	struct sg_err	 err = { 0 };
	X509		*a, *b, *c;
	X509_CRL	*crl;
	char		 serial[80];
	long		 n1;

	a = sgt_issued_cert(fx, "demo", 0, SGT_CODE);
	b = sgt_issued_cert(fx, "demo", 1, SGT_CODE);
	c = sgt_issued_cert(fx, "demo", 2, SGT_CODE);
	sgt_serial_hex(a, serial, sizeof(serial));
	assert_int_equal(ra_cert_revoke(fx->ra, serial, 1 /* keyCompromise */,
	    &err), SG_OK);
	crl = get_crl(fx, a);
	assert_int_equal(crl_reason(crl, a), 1);
	assert_int_equal(crl_reason(crl, b), -2);
	assert_int_equal(crl_reason(crl, c), -2);
	n1 = crl_number(crl);
	X509_CRL_free(crl);

	/* A second revocation: a higher CRL number, both listed. */
	sgt_serial_hex(b, serial, sizeof(serial));
	assert_int_equal(ra_cert_revoke(fx->ra, serial,
	    5 /* cessationOfOperation */, &err), SG_OK);
	crl = get_crl(fx, c);
	assert_int_equal(crl_reason(crl, a), 1);
	assert_int_equal(crl_reason(crl, b), 5);
	assert_int_equal(crl_reason(crl, c), -2);
	if (crl_number(crl) <= n1)
		fail_msg("CRL number %ld after a revocation, was %ld",
		    crl_number(crl), n1);
	X509_CRL_free(crl);
	X509_free(a);
	X509_free(b);
	X509_free(c);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_cert");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getcert),
		cmocka_unit_test(test_getcert_format),
		cmocka_unit_test(test_getcert_issuer),
		cmocka_unit_test(test_getcrl),
		cmocka_unit_test(test_ra_as_issuer),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
