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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* ---- Intune endpoints (ra_intune_flow.c, intune-scep.md 5, 6, 10) ---- */

#define IN_CHALLENGE	"auth-test-intune-challenge"
#define IN_SID	"tag:microsoft.com,2022-09-14:sid:" \
		"S-1-5-21-1004336348-1177238915-682003330-1001"

/* intune-double on a free port, its files in "dir"; its base URL. */
static pid_t
intune_start(const char *dir, char *base, size_t basesz)
{
	const char	*path = getenv("SG_INTUNE_DOUBLE");
	char		 line[512], *p, *sp;
	int		 fds[2];
	pid_t		 pid;
	FILE		*fp;

	if (path == NULL)
		path = "../doubles/intune/intune-double";
	if (access(path, X_OK) != 0) {
		print_message("no intune-double at %s: skipped\n", path);
		skip();
	}
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDOUT_FILENO);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		execl(path, "intune-double", "--port", "0", "--dir", dir,
		    "--good-challenge", IN_CHALLENGE, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	close(fds[1]);
	assert_non_null(fp = fdopen(fds[0], "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_non_null(p = strstr(line, "http://"));
	p[strcspn(p, " \n")] = '\0';
	if ((sp = strrchr(p, '/')) != NULL && sp[1] == '\0')
		*sp = '\0';
	snprintf(base, basesz, "%s", p);
	return pid;
}

/* DER SEQUENCE { BMPString name, BMPString value } at out. */
static int
nv_pair(const char *name, const char *value, unsigned char *out)
{
	ASN1_STRING	*s = NULL;
	unsigned char	 body[200], *q = body;
	const char	*v[2] = { name, value };
	int		 i, n = 0;

	for (i = 0; i < 2; i++) {
		assert_true(ASN1_mbstring_copy(&s, (const unsigned char *)v[i],
		    -1, MBSTRING_ASC, B_ASN1_BMPSTRING) > 0);
		n += i2d_ASN1_BMPSTRING(s, &q);
		ASN1_STRING_free(s);
		s = NULL;
	}
	assert_true(n < 128);
	out[0] = 0x30;
	out[1] = (unsigned char)n;
	memcpy(out + 2, body, (size_t)n);
	return n + 2;
}

/* A subjectAltName of the strong-mapping URI and a DNS name. */
static X509_EXTENSION *
san_ext(void)
{
	GENERAL_NAMES	*gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME	*g;
	ASN1_IA5STRING	*ia5;
	X509_EXTENSION	*e;
	const char	*v[2] = { IN_SID, "dev.example" };
	int		 i;

	assert_non_null(gens);
	for (i = 0; i < 2; i++) {
		assert_non_null(g = GENERAL_NAME_new());
		assert_non_null(ia5 = ASN1_IA5STRING_new());
		assert_true(ASN1_STRING_set(ia5, v[i], -1));
		GENERAL_NAME_set0_value(g, i == 0 ? GEN_URI : GEN_DNS, ia5);
		assert_true(sk_GENERAL_NAME_push(gens, g));
	}
	assert_non_null(e = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens));
	GENERAL_NAMES_free(gens);
	return e;
}

/*
 * What Windows sends: challengePassword "ch", a SAN with the strong
 * mapping URI and a DNS name, a basicConstraints CA:TRUE request (never
 * honoured), and ValidityPeriod "days" Days when days > 0. DER.
 */
static void
intune_csr(EVP_PKEY *key, const char *ch, int days, uint8_t **der,
    size_t *len)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_ATTRIBUTE	*a = NULL;
	X509_REQ	*req = X509_REQ_new();
	X509_NAME	*n = X509_NAME_new();
	ASN1_OBJECT	*oid = OBJ_txt2obj("1.3.6.1.4.1.311.13.2.1", 1);
	unsigned char	 pair[256], *p = NULL;
	char		 num[16];
	int		 l;

	assert_non_null(req);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"intune-unit", -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(req, n));
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_add1_attr_by_NID(req,
	    NID_pkcs9_challengePassword, MBSTRING_ASC,
	    (const unsigned char *)ch, -1));
	/* By hand: the URI's comma would split an openssl.cnf value. */
	assert_true(sk_X509_EXTENSION_push(exts, san_ext()));
	assert_true(sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL,
	    NULL, NID_basic_constraints, "critical,CA:TRUE")));
	if (!X509_REQ_add_extensions(req, exts)) {
		ERR_print_errors_fp(stderr);
		fail_msg("X509_REQ_add_extensions");
	}
	if (days > 0) {
		snprintf(num, sizeof(num), "%d", days);
		l = nv_pair("ValidityPeriod", "Days", pair);
		assert_non_null(a = X509_ATTRIBUTE_create_by_OBJ(NULL, oid,
		    V_ASN1_SEQUENCE, pair, l));
		l = nv_pair("ValidityPeriodUnits", num, pair);
		assert_true(X509_ATTRIBUTE_set1_data(a, V_ASN1_SEQUENCE, pair,
		    l));
		assert_true(X509_REQ_add1_attr(req, a));
	}
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_true((l = i2d_X509_REQ(req, &p)) > 0);
	*der = p;
	*len = (size_t)l;
	X509_ATTRIBUTE_free(a);
	ASN1_OBJECT_free(oid);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
}

/* A PKCSReq of client "who" with "csr" to ra/uri. */
static struct p7_certrep *
intune_send(struct sgt_fx *fx, struct ra *ra, int who, uint8_t *csr,
    size_t len)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	char			 tid[64];

	sgt_transid(fx, "intune", tid, sizeof(tid));
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = len;
	rq.signer = fx->cert[who];
	rq.signer_key = fx->key[who];
	rep = sgt_send(fx, ra, "intune-unit", &rq, who);
	OPENSSL_free(csr);
	return rep;
}

/* Days from now to the end of "x", rounded. */
static long
days_left(const X509 *x)
{
	int	d = 0, s = 0;

	assert_true(ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(x)));
	return d + (s > 43200 ? 1 : 0);
}

/*
 * A device-intune endpoint, validated by intune-double: the CSR's
 * ValidityPeriod shortens the 30-day term and never lengthens it, the
 * strong-mapping SAN URI survives (and nothing else the CSR asks for),
 * and a challenge Intune refuses gives FAILURE with its code.
 */
static void
test_intune_enroll(void **state)
{
	struct sgt_fx		*fx = *state;
	struct sgt_variant	 v;
	struct ra_endpoint	 ep;
	struct p7_certrep	*rep;
	GENERAL_NAMES		*san;
	BASIC_CONSTRAINTS	*bc;
	X509			*x;
	uint8_t			*csr;
	size_t			 len;
	char			 dir[64], base[256], az[1024];
	const char		*edits[2] = { "database = ", az };
	pid_t			 pid;
	int			 i;
	bool			 uri = false;

	snprintf(dir, sizeof(dir), "%s/intune", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	pid = intune_start(dir, base, sizeof(base));
	snprintf(az, sizeof(az), "azure = ( { name = \"contoso\"; tenant = "
	    "\"contoso.onmicrosoft.com\"; client_id = "
	    "\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"; client_secret_file = "
	    "\"%s/client_secret.txt\"; authority_url = \"%s/\"; graph_url = "
	    "\"%s/\"; intune_url = \"%s/\"; timeout = 10; } );\ndatabase = ",
	    dir, base, base, base);
	sgt_variant_open(fx, "intune.cfg", edits, 2, &v);
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.name, sizeof(ep.name), "intune-unit");
	ep.type = RA_EP_DEVICE_INTUNE;
	snprintf(ep.org, sizeof(ep.org), "Demo");
	ep.term_days = 30;
	snprintf(ep.azure, sizeof(ep.azure), "contoso");
	sgt_add_endpoint(v.ra, &ep);

	intune_csr(fx->key[3], IN_CHALLENGE, 10, &csr, &len);
	rep = intune_send(fx, v.ra, 3, csr, len);
	x = sgt_expect_issued(fx, rep, fx->key[3], 2, "ValidityPeriod 10");
	assert_int_equal(days_left(x), 10);
	assert_non_null(san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL));
	assert_int_equal(sk_GENERAL_NAME_num(san), 2);
	for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);

		if (g->type == GEN_URI && strcmp((const char *)
		    ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
		    IN_SID) == 0)
			uri = true;
	}
	GENERAL_NAMES_free(san);
	if (!uri)
		fail_msg("the strong-mapping SAN URI is not in the "
		    "certificate");
	/* The profile's CA:FALSE, not the CSR's CA:TRUE. */
	assert_non_null(bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL,
	    NULL));
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	p7_certrep_free(rep);

	intune_csr(fx->key[4], IN_CHALLENGE, 400, &csr, &len);
	rep = intune_send(fx, v.ra, 4, csr, len);
	x = sgt_expect_issued(fx, rep, fx->key[4], 2, "ValidityPeriod 400");
	assert_int_equal(days_left(x), 30);
	p7_certrep_free(rep);

	intune_csr(fx->key[2], "not-the-challenge", 0, &csr, &len);
	rep = intune_send(fx, v.ra, 2, csr, len);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "challenge refused by Intune");
	assert_string_equal(rep->failtext,
	    "Intune: ChallengeDeserializationError");
	p7_certrep_free(rep);

	sgt_variant_close(&v);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
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
		cmocka_unit_test(test_intune_enroll),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
