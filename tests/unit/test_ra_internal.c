/*
 * A store failure is the server's, never the device's (issue 9): with
 * one store call failing (SG_ESTORE, through -Wl,--wrap; see
 * tests/CMakeLists.txt), ra_pkiop() returns SG_ESTORE and no CertRep
 * (srv_scep.c answers HTTP 500), where it used to answer a signed
 * FAILURE that blamed the request (badCertId, "no such transaction",
 * "request refused") or, for GetCRL, signed a new CRL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "p7.h"
#include "ra_int.h"
#include "sg_test.h"

/* ---- the store calls that can be made to fail ---- */

enum which { NONE, TXN_FIND, CERT_GET, CRL_GET, ACCOUNT_BY_CODE };
static enum which	 failing;

enum sg_rc	__real_ra_store_txn_find(struct ra_store *, int64_t,
		    const char *, struct ra_txn *, struct sg_err *);
enum sg_rc	__wrap_ra_store_txn_find(struct ra_store *, int64_t,
		    const char *, struct ra_txn *, struct sg_err *);
enum sg_rc	__real_ra_store_cert_get(struct ra_store *, const char *,
		    struct ra_cert *, int64_t *, uint8_t **, size_t *,
		    struct sg_err *);
enum sg_rc	__wrap_ra_store_cert_get(struct ra_store *, const char *,
		    struct ra_cert *, int64_t *, uint8_t **, size_t *,
		    struct sg_err *);
enum sg_rc	__real_ra_store_crl_get(struct ra_store *, uint8_t **,
		    size_t *, int64_t *, struct sg_err *);
enum sg_rc	__wrap_ra_store_crl_get(struct ra_store *, uint8_t **,
		    size_t *, int64_t *, struct sg_err *);
enum sg_rc	__real_ra_store_account_by_code(struct ra_store *, int64_t,
		    const uint8_t *, struct ra_account *, struct sg_err *);
enum sg_rc	__wrap_ra_store_account_by_code(struct ra_store *, int64_t,
		    const uint8_t *, struct ra_account *, struct sg_err *);

static enum sg_rc
broken(struct sg_err *err)
{
	return sg_err_set(err, SG_ESTORE, "test: database is locked");
}

enum sg_rc
__wrap_ra_store_txn_find(struct ra_store *s, int64_t ep, const char *tid,
    struct ra_txn *t, struct sg_err *err)
{
	if (failing == TXN_FIND)
		return broken(err);
	return __real_ra_store_txn_find(s, ep, tid, t, err);
}

enum sg_rc
__wrap_ra_store_cert_get(struct ra_store *s, const char *serial,
    struct ra_cert *c, int64_t *acct, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	if (failing == CERT_GET)
		return broken(err);
	return __real_ra_store_cert_get(s, serial, c, acct, der, len, err);
}

enum sg_rc
__wrap_ra_store_crl_get(struct ra_store *s, uint8_t **der, size_t *len,
    int64_t *next, struct sg_err *err)
{
	if (failing == CRL_GET)
		return broken(err);
	return __real_ra_store_crl_get(s, der, len, next, err);
}

enum sg_rc
__wrap_ra_store_account_by_code(struct ra_store *s, int64_t ep,
    const uint8_t *mac, struct ra_account *a, struct sg_err *err)
{
	if (failing == ACCOUNT_BY_CODE)
		return broken(err);
	return __real_ra_store_account_by_code(s, ep, mac, a, err);
}

/* ---- fixture: an instance; requests signed with the RA's own key ---- */

struct fx {
	char		 dir[256];
	char		 code[RA_CODE_MAX + 1];
	struct conf	*conf;
	struct ra	*ra;
	X509		*ra_cert;
	EVP_PKEY	*ra_key;
	X509		*ca_cert;
};

static X509 *
read_cert(const char *dir, const char *name)
{
	char	 path[512];
	FILE	*fp;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "r"));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static int
setup(void **state)
{
	struct fx	*fx;
	char		 path[512];
	FILE		*fp;

	assert_non_null(fx = calloc(1, sizeof(*fx)));
	sgt_instance("sg-internal", fx->dir, sizeof(fx->dir), &fx->conf,
	    fx->code);
	fx->ra = sgt_ra_open(fx->conf);
	fx->ra_cert = read_cert(fx->dir, "ra.pem");
	fx->ca_cert = read_cert(fx->dir, "ca.pem");
	snprintf(path, sizeof(path), "%s/ra.key", fx->dir);
	assert_non_null(fp = fopen(path, "r"));
	fx->ra_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(fx->ra_key);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	ra_close(fx->ra);
	X509_free(fx->ra_cert);
	X509_free(fx->ca_cert);
	EVP_PKEY_free(fx->ra_key);
	free(fx->conf);
	sgt_rm_tree(fx->dir);
	free(fx);
	return 0;
}

/* An IssuerAndSerialNumber of the CA and serial 0x1234 (GetCert/CRL). */
static void
ias(const struct fx *fx, uint8_t **der, size_t *len)
{
	PKCS7_ISSUER_AND_SERIAL	*v;
	unsigned char		*p = NULL;
	int			 n;

	assert_non_null(v = PKCS7_ISSUER_AND_SERIAL_new());
	assert_int_equal(X509_NAME_set(&v->issuer,
	    X509_get_subject_name(fx->ca_cert)), 1);
	assert_int_equal(ASN1_INTEGER_set(v->serial, 0x1234), 1);
	assert_true((n = i2d_PKCS7_ISSUER_AND_SERIAL(v, &p)) > 0);
	assert_non_null(*der = malloc((size_t)n));
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
	PKCS7_ISSUER_AND_SERIAL_free(v);
}

/* The messageData of each message type. */
static void
message_data(const struct fx *fx, int type, uint8_t **der, size_t *len)
{
	switch (type) {
	case P7_TYPE_PKCSREQ:
		sgt_make_csr(fx->ra_key, "internal", fx->code, 0, der, len);
		break;
	default:	/* CertPoll's IssuerAndSubject is not read */
		ias(fx, der, len);
		break;
	}
}

/* One PKIOperation of "type"; rc of ra_pkiop, the CertRep if any. */
static enum sg_rc
pkiop(struct fx *fx, int type, const char *transid,
    struct p7_certrep **rep)
{
	struct p7_req	 rq = { 0 };
	struct ra_reply	 r = { 0 };
	struct sg_err	 err;
	STACK_OF(X509)	*rcpt;
	uint8_t		*data = NULL, *der = NULL;
	size_t		 dlen = 0, len = 0;
	enum sg_rc	 rc;

	message_data(fx, type, &data, &dlen);
	assert_non_null(rcpt = sk_X509_new_null());
	assert_true(sk_X509_push(rcpt, fx->ra_cert) > 0);
	rq.type = type;
	rq.transid = transid;
	rq.data = data;
	rq.data_len = dlen;
	rq.signer = fx->ra_cert;
	rq.signer_key = fx->ra_key;
	rq.recipients = rcpt;
	assert_int_equal(p7_req_build(&rq, &der, &len, &err), SG_OK);
	rc = ra_pkiop(fx->ra, "demo", der, len, "127.0.0.1", &r, &err);
	*rep = NULL;
	if (rc == SG_OK)
		assert_int_equal(p7_certrep_parse(r.body, r.len, fx->ra_cert,
		    fx->ra_cert, fx->ra_key, rep, &err), SG_OK);
	else
		assert_null(r.body);
	ra_reply_free(&r);
	sk_X509_free(rcpt);
	free(der);
	free(data);
	return rc;
}

struct tcase {
	const char	*name;
	int		 type;
	enum which	 fail;
	/* With the store working: the answer it gives. */
	int		 ok_status;
	int		 ok_failinfo;
};

static const struct tcase cases[] = {
	{ "CertPoll, transaction lookup", P7_TYPE_CERTPOLL, TXN_FIND,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST },
	{ "GetCert, certificate lookup", P7_TYPE_GETCERT, CERT_GET,
	    P7_STATUS_FAILURE, SG_FAIL_BADCERTID },
	{ "GetCRL, stored CRL", P7_TYPE_GETCRL, CRL_GET,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE },
	{ "PKCSReq, access code lookup", P7_TYPE_PKCSREQ, ACCOUNT_BY_CODE,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE },
	{ "PKCSReq, resume lookup", P7_TYPE_PKCSREQ, TXN_FIND,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE },
};

static void
test_store_failure(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep;
	char			 tid[64];
	size_t			 i;
	enum sg_rc		 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];

		/* Broken store first: nothing of the request is stored. */
		snprintf(tid, sizeof(tid), "internal-%zu-broken", i);
		failing = t->fail;
		rc = pkiop(fx, t->type, tid, &rep);
		failing = NONE;
		if (rc != SG_ESTORE)
			fail_msg("%s: with the store failing: %s, status %d "
			    "failInfo %d; want SG_ESTORE and no CertRep",
			    t->name, sg_strerror(rc), rep ? rep->status : -1,
			    rep ? rep->failinfo : -1);
		/* The control: the same request, the store working. */
		snprintf(tid, sizeof(tid), "internal-%zu-ok", i);
		assert_int_equal(pkiop(fx, t->type, tid, &rep), SG_OK);
		if (rep->status != t->ok_status ||
		    (t->ok_failinfo != SG_FAIL_NONE &&
		    rep->failinfo != t->ok_failinfo))
			fail_msg("%s: with the store working: status %d "
			    "failInfo %d", t->name, rep->status, rep->failinfo);
		p7_certrep_free(rep);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_failure, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
