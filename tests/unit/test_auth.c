/*
 * Who is asking (ra_auth.c): the renewal signer and window (RFC 8894
 * 2.4, 3.3.1.2), the lockout after repeated wrong access codes, and
 * access codes that never reach the database in clear (DESIGN.md
 * "Identity and secrets"). On the shared instance fixture (sg_test.h).
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

/* ---- RenewalReq (RFC 8894 2.4, 3.3.1.2) ---- */

/* A "type" request for a CSR of "newkey" with "code", signed by "old". */
static struct p7_certrep *
signed_by(struct sgt_fx *fx, const char *uri, int type, X509 *old,
    EVP_PKEY *oldkey, EVP_PKEY *newkey, const char *code)
{
	char	tid[64];

	sgt_transid(fx, "renew", tid, sizeof(tid));
	return sgt_request(fx, fx->ra, uri, type, tid, newkey, code, 0, old,
	    oldkey);
}

/* A RenewalReq for a CSR of "newkey" (no challenge), signed by old. */
static struct p7_certrep *
renew(struct sgt_fx *fx, const char *uri, X509 *old, EVP_PKEY *oldkey,
    EVP_PKEY *newkey)
{
	return signed_by(fx, uri, P7_TYPE_RENEWALREQ, old, oldkey, newkey,
	    NULL);
}

static void
test_renewal(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_cert		 info, *list = NULL;
	struct sg_err		 err = { 0 };
	X509			*old, *x, *forged;
	char			 s_old[80], s_new[80];
	size_t			 n = 0, i;
	bool			 listed = false;

	sgt_add_simple(fx, "renew", 0, 30, false, RA_GETCERT_FULL_CHAIN);
	sgt_add_simple(fx, "renew-early", 1, 30, false, RA_GETCERT_FULL_CHAIN);
	sgt_add_simple(fx, "renew-window", 30, 20, false,
	    RA_GETCERT_FULL_CHAIN);
	assert_true(sgt_has_cap(fx->ra, "renew", "Renewal"));

	/* Signed with the issued certificate: a new one for the new key. */
	old = sgt_issued_cert(fx, "renew", 0, SGT_CODE);
	rep = renew(fx, "renew", old, fx->key[0], fx->key[1]);
	x = sgt_expect_issued(fx, rep, fx->key[1], 2, "renewal");
	sgt_serial_hex(old, s_old, sizeof(s_old));
	sgt_serial_hex(x, s_new, sizeof(s_new));
	assert_string_not_equal(s_old, s_new);
	sgt_cert_info(fx, x, &info);
	assert_string_equal(info.account, "renew-acct");
	assert_string_equal(info.endpoint, "renew");
	assert_int_equal(info.status, RA_CERT_VALID);
	/* The account's term carries over. */
	assert_true(info.not_after - info.not_before >= 30 * 86400 - 600 &&
	    info.not_after - info.not_before <= 30 * 86400 + 600);
	p7_certrep_free(rep);
	/* The old one is superseded, in ra_cert_get and ra_cert_list. */
	sgt_cert_info(fx, old, &info);
	if (info.status != RA_CERT_SUPERSEDED)
		fail_msg("renewed certificate %s is %s, not superseded",
		    s_old, ra_cert_status_name(info.status));
	assert_int_equal(ra_cert_list(fx->ra, "renew", RA_CERT_SUPERSEDED,
	    &list, &n, &err), SG_OK);
	for (i = 0; i < n; i++)
		listed |= strcmp(list[i].serial, s_old) == 0;
	free(list);
	assert_true(listed);
	/* A superseded certificate renews no more. */
	rep = renew(fx, "renew", old, fx->key[0], fx->key[2]);
	sgt_expect_failure(rep, "renewal with a superseded certificate");
	p7_certrep_free(rep);
	X509_free(old);

	/* A revoked one neither. */
	old = sgt_issued_cert(fx, "renew", 2, SGT_CODE);
	sgt_serial_hex(old, s_old, sizeof(s_old));
	assert_int_equal(ra_cert_revoke(fx->ra, s_old, 0, &err), SG_OK);
	rep = renew(fx, "renew", old, fx->key[2], fx->key[3]);
	sgt_expect_failure(rep, "renewal with a revoked certificate");
	p7_certrep_free(rep);
	X509_free(old);

	/* A self-signed certificate was not issued here: badCertId. */
	rep = renew(fx, "renew", fx->cert[3], fx->key[3], fx->key[4]);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "renewal with a self-signed certificate");
	assert_null(rep->certs);
	p7_certrep_free(rep);

	/* Nor one that copies the issuer and serial of an issued one. */
	old = sgt_issued_cert(fx, "renew", 3, SGT_CODE);
	forged = X509_dup(old);
	assert_non_null(forged);
	assert_true(X509_set_pubkey(forged, fx->key[4]));
	assert_true(X509_sign(forged, fx->key[4], EVP_sha256()) > 0);
	rep = renew(fx, "renew", forged, fx->key[4], fx->key[4]);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "renewal with a forged copy of an issued certificate");
	p7_certrep_free(rep);
	X509_free(forged);
	sgt_cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);

	/* Nor the RA certificate, issued by the CA but not to a client. */
	rep = renew(fx, "renew", fx->ra_cert, fx->ra_key, fx->key[4]);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "renewal with the RA certificate");
	p7_certrep_free(rep);

	/* A certificate of another endpoint. */
	old = sgt_issued_cert(fx, "elsewhere", 3, SGT_OTHER_CODE);
	rep = renew(fx, "renew", old, fx->key[3], fx->key[4]);
	sgt_expect_failure(rep, "renewal with another endpoint's certificate");
	p7_certrep_free(rep);
	sgt_cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);

	/* Term 30 days, window 1 day: too early. */
	old = sgt_issued_cert(fx, "renew-early", 0, SGT_CODE);
	rep = renew(fx, "renew-early", old, fx->key[0], fx->key[1]);
	sgt_expect_failure(rep, "renewal outside the window");
	p7_certrep_free(rep);
	sgt_cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);

	/* Term 20 days, window 30 days: inside. */
	old = sgt_issued_cert(fx, "renew-window", 1, SGT_CODE);
	rep = renew(fx, "renew-window", old, fx->key[1], fx->key[2]);
	sgt_expect_issued(fx, rep, fx->key[2], 2, "renewal inside the window");
	p7_certrep_free(rep);
	X509_free(old);
}

/* A PKCSReq for a CSR of "newkey" with "code", signed by "old". */
static struct p7_certrep *
signed_pkcsreq(struct sgt_fx *fx, const char *uri, X509 *old,
    EVP_PKEY *oldkey, EVP_PKEY *newkey, const char *code)
{
	return signed_by(fx, uri, P7_TYPE_PKCSREQ, old, oldkey, newkey, code);
}

/*
 * RFC 8894 2.3: a PKCSReq signed with the current certificate is a
 * renewal (certmonger, strongSwan pki --scep --cert): no access code,
 * the old certificate superseded. A signer that cannot renew (revoked,
 * outside the window, another endpoint's) leaves an ordinary PKCSReq
 * that needs a code.
 */
static void
test_pkcsreq_renewal(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_cert		 info;
	struct sg_err		 err = { 0 };
	X509			*old, *x;
	char			 s_old[80], s_new[80];
	int			 st;

	sgt_add_simple(fx, "pkcs-renew", 0, 30, false, RA_GETCERT_FULL_CHAIN);
	sgt_add_simple(fx, "pkcs-early", 1, 30, false, RA_GETCERT_FULL_CHAIN);

	old = sgt_issued_cert(fx, "pkcs-renew", 0, SGT_CODE);
	rep = signed_pkcsreq(fx, "pkcs-renew", old, fx->key[0], fx->key[1],
	    NULL);
	st = rep->status;
	if (st == P7_STATUS_SUCCESS) {
		x = sgt_expect_issued(fx, rep, fx->key[1], 2, "renewal");
		sgt_serial_hex(x, s_new, sizeof(s_new));
		sgt_cert_info(fx, x, &info);
		assert_string_equal(info.account, "pkcs-renew-acct");
	}
	p7_certrep_free(rep);
	if (st != P7_STATUS_SUCCESS) {
		X509_free(old);
		fail_msg("PKCSReq signed by a valid issued certificate, no "
		    "code: status %d, expected SUCCESS", st);
	}
	sgt_serial_hex(old, s_old, sizeof(s_old));
	assert_string_not_equal(s_old, s_new);
	sgt_cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_SUPERSEDED);
	/* Superseded now: a code is needed again. */
	rep = signed_pkcsreq(fx, "pkcs-renew", old, fx->key[0], fx->key[2],
	    NULL);
	sgt_expect_failure(rep, "PKCSReq signed by a superseded certificate");
	p7_certrep_free(rep);
	X509_free(old);

	/* Revoked: no renewal; with a code, an ordinary PKCSReq. */
	old = sgt_issued_cert(fx, "pkcs-renew", 2, SGT_CODE);
	sgt_serial_hex(old, s_old, sizeof(s_old));
	assert_int_equal(ra_cert_revoke(fx->ra, s_old, 0, &err), SG_OK);
	rep = signed_pkcsreq(fx, "pkcs-renew", old, fx->key[2], fx->key[3],
	    NULL);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "PKCSReq signed by a revoked certificate, no code");
	p7_certrep_free(rep);
	rep = signed_pkcsreq(fx, "pkcs-renew", old, fx->key[2], fx->key[3],
	    SGT_CODE);
	sgt_expect_issued(fx, rep, fx->key[3], 2,
	    "PKCSReq signed by a revoked certificate, with the code");
	p7_certrep_free(rep);
	sgt_cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_REVOKED);
	X509_free(old);

	/* Outside the renewal window, or of another endpoint: a code. */
	old = sgt_issued_cert(fx, "pkcs-early", 0, SGT_CODE);
	rep = signed_pkcsreq(fx, "pkcs-early", old, fx->key[0], fx->key[1],
	    NULL);
	sgt_expect_failure(rep, "PKCSReq outside the window, no code");
	p7_certrep_free(rep);
	rep = signed_pkcsreq(fx, "pkcs-renew", old, fx->key[0], fx->key[1],
	    NULL);
	sgt_expect_failure(rep, "PKCSReq signed by another endpoint's");
	p7_certrep_free(rep);
	sgt_cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);
}

/* ---- lockout of wrong access codes ---- */

/* Repeated wrong codes lock the address out, even for a right code. */
static void
test_lockout(void **state)
{
	struct sgt_fx		*fx = *state;
	struct conf		 c = *fx->conf;
	struct ra		*saved = fx->ra, *ra2 = NULL;
	struct sg_err		 err;
	struct p7_certrep	*rep;
	char			 tid[64];
	int			 i;

	c.lockout_failures = 3;
	c.lockout_seconds = 600;
	assert_int_equal(ra_open(&c, &ra2, &err), SG_OK);
	fx->ra = ra2;
	for (i = 0; i < 3; i++) {
		sgt_transid(fx, "lockout", tid, sizeof(tid));
		rep = sgt_enroll(fx, "demo", tid, 0, "WrongCode1234");
		sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
		    "wrong code before the lockout");
		assert_string_equal(rep->failtext, "bad access code");
		p7_certrep_free(rep);
	}
	sgt_transid(fx, "lockout", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 0, fx->code);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "right code while locked out");
	assert_string_equal(rep->failtext, "too many attempts");
	p7_certrep_free(rep);
	fx->ra = saved;
	ra_close(ra2);
}

/*
 * Issue 10 s.4, s.5: wrong codes through one RA lock out a second RA on
 * the same database (another process, another instance), and a refused
 * request leaves no transaction row.
 */
static void
test_lockout_shared(void **state)
{
	struct sgt_fx		*fx = *state;
	struct conf		 c = *fx->conf;
	struct ra		*ra1 = NULL, *ra2 = NULL;
	struct ra_request	*l = NULL;
	struct sg_err		 err;
	struct p7_certrep	*rep;
	char			 tid[64];
	size_t			 n = 0, i, before;

	sgt_add_simple(fx, "lock2", 30, 30, false, RA_GETCERT_FULL_CHAIN);
	c.lockout_failures = 3;
	c.lockout_seconds = 600;
	assert_int_equal(ra_open(&c, &ra1, &err), SG_OK);
	assert_int_equal(ra_open(&c, &ra2, &err), SG_OK);
	assert_int_equal(ra_request_list(ra1, -1, &l, &before, &err), SG_OK);
	free(l);
	for (i = 0; i < 3; i++) {
		sgt_transid(fx, "lock2", tid, sizeof(tid));
		rep = sgt_request(fx, ra1, "lock2", P7_TYPE_PKCSREQ, tid,
		    fx->key[0], "WrongCode1234", 0, fx->cert[0], fx->key[0]);
		sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
		    "wrong code");
		p7_certrep_free(rep);
	}
	assert_int_equal(ra_request_list(ra1, -1, &l, &n, &err), SG_OK);
	free(l);
	assert_int_equal(n, before);	/* no row for a refused request */
	sgt_transid(fx, "lock2", tid, sizeof(tid));
	rep = sgt_request(fx, ra2, "lock2", P7_TYPE_PKCSREQ, tid, fx->key[1],
	    SGT_CODE, 0, fx->cert[1], fx->key[1]);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "right code on the other RA while locked out");
	assert_string_equal(rep->failtext, "too many attempts");
	p7_certrep_free(rep);
	ra_close(ra1);
	ra_close(ra2);
}

/* ---- secrets (DESIGN.md "Identity and secrets") ---- */

#define SECRET_CODE	"SecretCode4Test9876xyzQ"

/* Does "needle" occur in the database or its WAL / rollback journal? */
static bool
db_contains(const struct sgt_fx *fx, const char *needle)
{
	static const char *const sfx[] = { "", "-wal", "-journal", "-shm" };
	char	 path[CONF_PATH_MAX + 16];
	uint8_t	*buf;
	size_t	 i, len, total = 0;
	bool	 found = false;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", fx->db, sfx[i]);
		buf = sgt_slurp(path, &len);
		total += len;
		if (buf != NULL && memmem(buf, len, needle,
		    strlen(needle)) != NULL)
			found = true;
		free(buf);
	}
	assert_true(total > 0);		/* we did read the database */
	return found;
}

static void
test_secret_not_stored(void **state)
{
	struct sgt_fx	*fx = *state;
	char		 code[RA_CODE_MAX + 1];

	sgt_account(fx, "demo", "secret-holder", SECRET_CODE, code);
	assert_string_equal(code, SECRET_CODE);
	if (db_contains(fx, SECRET_CODE))
		fail_msg("the access code is in the database in clear text");
}

/*
 * After enrolling with it, the code must still not be readable from the
 * database: the PKCS#10 stored with the transaction carries it as its
 * challengePassword, also while a request waits for approval (sealed).
 */
static void
test_secret_not_stored_after_enroll(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	char			 tid[64];

	sgt_transid(fx, "secret-demo", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 1, fx->code);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "demo code");
	p7_certrep_free(rep);
	sgt_add_simple(fx, "secret-manual", 30, 30, true,
	    RA_GETCERT_FULL_CHAIN);
	sgt_transid(fx, "secret-pending", tid, sizeof(tid));
	rep = sgt_enroll(fx, "secret-manual", tid, 2, SGT_CODE);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "pending");
	p7_certrep_free(rep);
	if (db_contains(fx, SGT_CODE))
		fail_msg("the code of a pending request is in the database");
	sgt_transid(fx, "secret", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 0, SECRET_CODE);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "secret code");
	p7_certrep_free(rep);
	sgt_transid(fx, "secret-wrong", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 0, "WrongSecret0000111122");
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "wrong secret");
	p7_certrep_free(rep);
	if (db_contains(fx, SECRET_CODE))
		fail_msg("the access code used in a PKCSReq is in the "
		    "database in clear text");
	if (db_contains(fx, "WrongSecret0000111122"))
		fail_msg("a presented wrong code is in the database");
	/* The demo code, used above and by test_lockout. */
	if (db_contains(fx, fx->code))
		fail_msg("the demo access code is in the database");
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_auth");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renewal),
		cmocka_unit_test(test_pkcsreq_renewal),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_lockout_shared),
		cmocka_unit_test(test_secret_not_stored),
		cmocka_unit_test(test_secret_not_stored_after_enroll),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
