/*
 * CSR, code and name rules (ra_policy.c): the rules called directly
 * (ra_int.h) in tables, then an endpoint's CSR policy through a real
 * PKCSReq. On the shared instance fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p7.h"
#include "ra_int.h"
#include "sg.h"
#include "sg_test.h"

static char	long_ok[RA_CODE_MAX + 1];	/* RA_CODE_MAX letters */
static char	too_long[RA_CODE_MAX + 2];	/* one more */
static char	name_max[RA_NAME_MAX];		/* the longest */
static char	name_long[RA_NAME_MAX + 1];	/* one more */

/* Access codes: 8..RA_CODE_MAX of the PrintableString set (issue 11). */
static void
test_code_ok(void **state)
{
	static const struct {
		const char	*code;
		bool		 ok;
	} cases[] = {
		{ "Abcd1234", true }, { "ABCDEFGHIJKLMNOPQRST", true },
		{ "0123456789", true }, { long_ok, true },
		{ "", false }, { "Abc1234", false }, { too_long, false },
		{ "Code_1234", false }, { "Code@1234", false },
		{ "Code 1234", true }, { "Code!1234", false },
		{ "Code-1234", true }, { "Code\t1234", false },
		{ "Cod\xc3\xa9" "1234", false },	/* UTF-8 e-acute */
	};
	size_t	i;

	(void)state;
	memset(long_ok, 'A', RA_CODE_MAX);
	memset(too_long, 'B', RA_CODE_MAX + 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ra_policy_code_ok(cases[i].code) != cases[i].ok)
			fail_msg("code \"%.20s\" (%zu bytes): not %s",
			    cases[i].code, strlen(cases[i].code),
			    cases[i].ok ? "accepted" : "refused");
}

/* Generated codes: RA_CODE_LEN, accepted, each one new. */
static void
test_gen_code(void **state)
{
	char	code[64][RA_CODE_LEN + 1], small[RA_CODE_LEN];
	bool	upper = false, lower = false, digit = false;
	size_t	i, j;

	(void)state;
	assert_int_equal(ra_policy_gen_code(small, sizeof(small)), SG_ELIMIT);
	for (i = 0; i < 64; i++) {
		assert_int_equal(ra_policy_gen_code(code[i], sizeof(code[i])),
		    SG_OK);
		assert_int_equal(strlen(code[i]), RA_CODE_LEN);
		assert_true(ra_policy_code_ok(code[i]));
		for (j = 0; j < RA_CODE_LEN; j++) {
			upper |= code[i][j] >= 'A' && code[i][j] <= 'Z';
			lower |= code[i][j] >= 'a' && code[i][j] <= 'z';
			digit |= code[i][j] >= '0' && code[i][j] <= '9';
		}
		for (j = 0; j < i; j++)
			assert_string_not_equal(code[i], code[j]);
	}
	/* 1280 characters from 62: all three classes show up. */
	assert_true(upper && lower && digit);
	OPENSSL_cleanse(code, sizeof(code));
}

/* Names: letters, digits and " ._-@", not starting with ' ' or '-'. */
static void
test_name_ok(void **state)
{
	static const struct {
		const char	*name;
		bool		 ok;
	} cases[] = {
		{ "demo", true }, { "a", true }, { "Acme Corp", true },
		{ "ep-good_1.x", true }, { "ops@example.com", true },
		{ name_max, true }, { ".hidden", true },
		{ "", false }, { name_long, false }, { " lead", false },
		{ "-lead", false }, { "a/b", false }, { "a?b", false },
		{ "a\\b", false }, { "a\nb", false }, { "a:b", false },
		{ "caf\xc3\xa9", false },
	};
	size_t	i;

	(void)state;
	memset(name_max, 'n', RA_NAME_MAX - 1);
	memset(name_long, 'm', RA_NAME_MAX);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ra_policy_name_ok(cases[i].name) != cases[i].ok)
			fail_msg("name \"%.20s\" (%zu bytes): not %s",
			    cases[i].name, strlen(cases[i].name),
			    cases[i].ok ? "accepted" : "refused");
}

#define ANYKEY	(RA_KEY_RSA | RA_KEY_EC)
#define ANYCHAL	(RA_CHAL_PRINTABLE | RA_CHAL_UTF8 | RA_CHAL_BMP | \
		    RA_CHAL_OTHER)

/* ra_policy_check_csr on a parsed CSR's fields (struct p7_csr). */
static void
test_check_csr(void **state)
{
	static const struct {
		const char	*name;
		int		 key_types;	/* of the endpoint */
		int		 min_rsa;
		int		 chal_types;
		int		 key;		/* of the CSR */
		int		 bits;
		int		 chal;		/* -1: no challenge */
		bool		 check_chal;
		int		 failinfo;	/* SG_FAIL_NONE: SG_OK */
	} cases[] = {
		{ "RSA-2048", ANYKEY, 2048, ANYCHAL, EVP_PKEY_RSA, 2048, -1,
		    true, SG_FAIL_NONE },
		{ "RSA below the minimum", ANYKEY, 2048, ANYCHAL,
		    EVP_PKEY_RSA, 2047, -1, true, SG_FAIL_BADALG },
		{ "RSA-16384", ANYKEY, 0, ANYCHAL, EVP_PKEY_RSA, 16384, -1,
		    true, SG_FAIL_NONE },
		{ "RSA above 16384", ANYKEY, 0, ANYCHAL, EVP_PKEY_RSA, 16385,
		    -1, true, SG_FAIL_BADALG },
		{ "RSA, EC only", RA_KEY_EC, 0, ANYCHAL, EVP_PKEY_RSA, 2048,
		    -1, true, SG_FAIL_BADALG },
		{ "P-256", ANYKEY, 3072, ANYCHAL, EVP_PKEY_EC, 256, -1, true,
		    SG_FAIL_NONE },
		{ "EC below 256", ANYKEY, 0, ANYCHAL, EVP_PKEY_EC, 224, -1,
		    true, SG_FAIL_BADALG },
		{ "EC, RSA only", RA_KEY_RSA, 0, ANYCHAL, EVP_PKEY_EC, 256,
		    -1, true, SG_FAIL_BADALG },
		{ "Ed25519", ANYKEY, 0, ANYCHAL, EVP_PKEY_ED25519, 256, -1,
		    true, SG_FAIL_BADALG },
		{ "PrintableString, printable only", ANYKEY, 0,
		    RA_CHAL_PRINTABLE, EVP_PKEY_RSA, 2048,
		    V_ASN1_PRINTABLESTRING, true, SG_FAIL_NONE },
		{ "UTF8String, printable only", ANYKEY, 0, RA_CHAL_PRINTABLE,
		    EVP_PKEY_RSA, 2048, V_ASN1_UTF8STRING, true,
		    SG_FAIL_BADREQUEST },
		{ "UTF8String, not checked (renewal)", ANYKEY, 0,
		    RA_CHAL_PRINTABLE, EVP_PKEY_RSA, 2048, V_ASN1_UTF8STRING,
		    false, SG_FAIL_NONE },
		{ "BMPString, BMP allowed", ANYKEY, 0, RA_CHAL_BMP,
		    EVP_PKEY_RSA, 2048, V_ASN1_BMPSTRING, true,
		    SG_FAIL_NONE },
		{ "T61String, other allowed", ANYKEY, 0, RA_CHAL_OTHER,
		    EVP_PKEY_RSA, 2048, V_ASN1_T61STRING, true,
		    SG_FAIL_NONE },
		{ "IA5String, printable and UTF-8 only", ANYKEY, 0,
		    RA_CHAL_PRINTABLE | RA_CHAL_UTF8, EVP_PKEY_RSA, 2048,
		    V_ASN1_IA5STRING, true, SG_FAIL_BADREQUEST },
		{ "no challenge, printable only", ANYKEY, 0,
		    RA_CHAL_PRINTABLE, EVP_PKEY_RSA, 2048, -1, true,
		    SG_FAIL_NONE },
	};
	struct ra_endpoint	ep;
	struct p7_csr		csr;
	struct sg_err		err;
	char			chal[] = "Abcd1234";
	size_t			i;
	enum sg_rc		rc, want;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ep, 0, sizeof(ep));
		memset(&csr, 0, sizeof(csr));
		memset(&err, 0, sizeof(err));
		ep.key_types = cases[i].key_types;
		ep.min_rsa_bits = cases[i].min_rsa;
		ep.challenge_types = cases[i].chal_types;
		csr.key_type = cases[i].key;
		csr.key_bits = cases[i].bits;
		csr.challenge = cases[i].chal >= 0 ? chal : NULL;
		csr.challenge_type = cases[i].chal;
		rc = ra_policy_check_csr(&ep, &csr, cases[i].check_chal, &err);
		want = cases[i].failinfo == SG_FAIL_NONE ? SG_OK : SG_EPOLICY;
		if (rc != want || (rc != SG_OK &&
		    err.failinfo != cases[i].failinfo))
			fail_msg("%s: %s failinfo %d (%s)", cases[i].name,
			    sg_strerror(rc), err.failinfo, err.msg);
		if (rc != SG_OK)
			assert_true(err.msg[0] != '\0');
	}
}

/* ---- CSR policy per endpoint, through PKCSReq ---- */

static void
test_csr_policy(void **state)
{
	struct sgt_fx	*fx = *state;
	static const struct {
		const char	*name;
		const char	*ep;
		bool		 ec;		/* P-256, or RSA */
		int		 chal;		/* 0: printable */
		int		 status;
		int		 failinfo;
	} cases[] = {
		{ "RSA-2048, min 3072", "pol-3072", false, 0,
		    P7_STATUS_FAILURE, SG_FAIL_BADALG },
		{ "EC, RSA only", "pol-rsa", true, 0,
		    P7_STATUS_FAILURE, SG_FAIL_BADALG },
		{ "RSA, RSA only", "pol-rsa", false, 0,
		    P7_STATUS_SUCCESS, SG_FAIL_NONE },
		{ "EC, EC allowed", "pol-ec", true, 0,
		    P7_STATUS_SUCCESS, SG_FAIL_NONE },
		{ "RSA, EC only", "pol-ec", false, 0,
		    P7_STATUS_FAILURE, SG_FAIL_BADALG },
		{ "UTF8String, printable only", "pol-print", false,
		    V_ASN1_UTF8STRING, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST },
		{ "PrintableString, printable only", "pol-print", false,
		    V_ASN1_PRINTABLESTRING, P7_STATUS_SUCCESS, SG_FAIL_NONE },
		{ "UTF8String, any string", "pol-any", false,
		    V_ASN1_UTF8STRING, P7_STATUS_SUCCESS, SG_FAIL_NONE },
		{ "BMPString, printable only", "pol-print", false,
		    V_ASN1_BMPSTRING, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST },
	};
	static const struct {
		const char	*name;
		int		 min_rsa;
		int		 keys;
		int		 chal;
	} eps[] = {
		{ "pol-3072", 3072, 0, 0 },
		{ "pol-rsa", 0, RA_KEY_RSA, 0 },
		{ "pol-ec", 0, RA_KEY_EC, 0 },
		{ "pol-print", 0, 0, RA_CHAL_PRINTABLE },
		{ "pol-any", 0, 0, 0 },
	};
	struct ra_endpoint	 ep, got;
	struct ra_account	 acct;
	struct p7_certrep	*rep;
	struct sg_err		 err = { 0 };
	EVP_PKEY		*key;
	char			 code[RA_CODE_MAX + 1], tid[64];
	uint8_t			 bmp[2 * sizeof(SGT_CODE)];
	size_t			 i, j;

	for (i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		memset(&ep, 0, sizeof(ep));
		snprintf(ep.name, sizeof(ep.name), "%s", eps[i].name);
		ep.type = RA_EP_DEVICE;
		ep.renewal_days = 30;
		ep.min_rsa_bits = eps[i].min_rsa;
		ep.key_types = eps[i].keys;
		ep.challenge_types = eps[i].chal;
		sgt_add_endpoint(fx->ra, &ep);
		assert_int_equal(ra_endpoint_get(fx->ra, eps[i].name, &got,
		    &err), SG_OK);
		if (eps[i].min_rsa)
			assert_int_equal(got.min_rsa_bits, eps[i].min_rsa);
		if (eps[i].keys)
			assert_int_equal(got.key_types, eps[i].keys);
		if (eps[i].chal)
			assert_int_equal(got.challenge_types, eps[i].chal);
		memset(&acct, 0, sizeof(acct));
		snprintf(acct.endpoint, sizeof(acct.endpoint), "%s",
		    eps[i].name);
		snprintf(acct.name, sizeof(acct.name), "policy");
		snprintf(acct.org, sizeof(acct.org), "Demo");
		acct.term_days = 30;
		assert_int_equal(ra_account_add(fx->ra, &acct, SGT_CODE, code,
		    &err), SG_OK);
	}
	/* The code as UCS-2 big-endian, for the BMPString case. */
	for (j = 0; j < strlen(SGT_CODE); j++) {
		bmp[2 * j] = 0;
		bmp[2 * j + 1] = (uint8_t)SGT_CODE[j];
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct p7_req	 rq = { 0 };
		uint8_t		*csr = NULL;
		size_t		 csrlen = 0;
		X509_REQ	*req;
		unsigned char	*buf = NULL;
		int		 n;

		key = cases[i].ec ? fx->ec_key : fx->key[2];
		sgt_transid(fx, "policy", tid, sizeof(tid));
		if (cases[i].chal != V_ASN1_BMPSTRING)
			sgt_make_csr(key, tid, SGT_CODE, cases[i].chal, &csr,
			    &csrlen);
		else {
			/* X509_REQ_add1_attr_by_NID copies the raw bytes. */
			req = X509_REQ_new();
			assert_non_null(req);
			assert_true(X509_NAME_add_entry_by_txt(
			    X509_REQ_get_subject_name(req), "CN",
			    MBSTRING_ASC, (const unsigned char *)tid, -1, -1,
			    0));
			assert_true(X509_REQ_set_pubkey(req, key));
			assert_true(X509_REQ_add1_attr_by_NID(req,
			    NID_pkcs9_challengePassword, V_ASN1_BMPSTRING,
			    bmp, (int)(2 * strlen(SGT_CODE))));
			assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
			n = i2d_X509_REQ(req, &buf);
			assert_true(n > 0);
			csr = malloc((size_t)n);
			assert_non_null(csr);
			memcpy(csr, buf, (size_t)n);
			csrlen = (size_t)n;
			OPENSSL_free(buf);
			X509_REQ_free(req);
		}
		/* The pkiMessage is signed with an RSA key in every case. */
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid;
		rq.data = csr;
		rq.data_len = csrlen;
		rq.signer = fx->cert[2];
		rq.signer_key = fx->key[2];
		rep = sgt_send(fx, fx->ra, cases[i].ep, &rq, 2);
		if (cases[i].status == P7_STATUS_SUCCESS)
			sgt_expect_issued(fx, rep, key, 2, cases[i].name);
		else {
			sgt_expect_status(rep, cases[i].status,
			    cases[i].failinfo, cases[i].name);
			assert_null(rep->certs);
		}
		p7_certrep_free(rep);
		free(csr);
	}
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_policy");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_ok),
		cmocka_unit_test(test_gen_code),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_check_csr),
		cmocka_unit_test(test_csr_policy),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
