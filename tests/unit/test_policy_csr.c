/*
 * ra/ra_policy.c on its own (issue #11): the CSR policy of an endpoint
 * (key type and size, challengePassword string type) with the messages
 * a client sees as failInfoText, and which access codes an admin may
 * choose (the PrintableString set) while generated ones stay letters
 * and digits. Tables walk {name, input, expected}; each reports every
 * failing row, then fails once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "ra.h"
#include "ra_int.h"
#include "sg.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct csr_case {
	const char	*name;
	int		 min_rsa;	/* the endpoint's minimum */
	int		 key_types;	/* RA_KEY_* the endpoint allows */
	int		 key_type;	/* of the CSR: EVP_PKEY_* */
	int		 key_bits;
	int		 chal_type;	/* V_ASN1_*, or -1 for none */
	bool		 challenge;	/* checked (not a renewal) */
	enum sg_rc	 rc;
	int		 failinfo;
	const char	*msg;		/* exact, when not NULL */
};

static const struct csr_case csr_cases[] = {
	/* Apple profiles without Keysize (scep-interop.md 7). */
	{ "Apple default 1024-bit key", 2048, RA_KEY_RSA, EVP_PKEY_RSA, 1024,
	    V_ASN1_PRINTABLESTRING, true, SG_EPOLICY, SG_FAIL_BADALG,
	    "RSA key of 1024 bits is below this endpoint's minimum 2048" },
	{ "2048 below a 3072 minimum", 3072, RA_KEY_RSA, EVP_PKEY_RSA, 2048,
	    -1, true, SG_EPOLICY, SG_FAIL_BADALG,
	    "RSA key of 2048 bits is below this endpoint's minimum 3072" },
	{ "2048 at the minimum", 2048, RA_KEY_RSA, EVP_PKEY_RSA, 2048,
	    V_ASN1_PRINTABLESTRING, true, SG_OK, SG_FAIL_NONE, NULL },
	{ "RSA 20000", 2048, RA_KEY_RSA, EVP_PKEY_RSA, 20000, -1, true,
	    SG_EPOLICY, SG_FAIL_BADALG,
	    "RSA key of 20000 bits; at most 16384" },
	{ "EC P-256 allowed", 2048, RA_KEY_RSA | RA_KEY_EC, EVP_PKEY_EC, 256,
	    -1, true, SG_OK, SG_FAIL_NONE, NULL },
	{ "EC 224", 2048, RA_KEY_RSA | RA_KEY_EC, EVP_PKEY_EC, 224, -1, true,
	    SG_EPOLICY, SG_FAIL_BADALG, "EC key of 224 bits; at least 256 "
	    "required" },
	{ "EC on an RSA-only endpoint", 2048, RA_KEY_RSA, EVP_PKEY_EC, 256,
	    -1, true, SG_EPOLICY, SG_FAIL_BADALG,
	    "public key type not allowed on this endpoint" },
	{ "RSA on an EC-only endpoint", 2048, RA_KEY_EC, EVP_PKEY_RSA, 2048,
	    -1, true, SG_EPOLICY, SG_FAIL_BADALG, NULL },
	{ "UTF8String challenge refused", 2048, RA_KEY_RSA, EVP_PKEY_RSA,
	    2048, V_ASN1_UTF8STRING, true, SG_EPOLICY, SG_FAIL_BADREQUEST,
	    NULL },
	{ "renewal: challenge type not checked", 2048, RA_KEY_RSA,
	    EVP_PKEY_RSA, 2048, V_ASN1_UTF8STRING, false, SG_OK, SG_FAIL_NONE,
	    NULL },
};

static bool
csr_row(const struct csr_case *t)
{
	struct ra_endpoint	 ep;
	struct p7_csr		 csr;
	struct sg_err		 err;
	char			 chal[] = "Abc-123.x";
	enum sg_rc		 rc;
	bool			 ok = true;

	memset(&ep, 0, sizeof(ep));
	memset(&csr, 0, sizeof(csr));
	ep.min_rsa_bits = t->min_rsa;
	ep.key_types = t->key_types;
	ep.challenge_types = RA_CHAL_PRINTABLE;
	csr.key_type = t->key_type;
	csr.key_bits = t->key_bits;
	csr.challenge_type = t->chal_type;
	csr.challenge = t->chal_type >= 0 ? chal : NULL;
	sg_err_clear(&err);
	rc = ra_policy_check_csr(&ep, &csr, t->challenge, &err);
	if (rc != t->rc) {
		print_error("%s: rc %d, want %d (%s)\n", t->name, rc, t->rc,
		    err.msg);
		ok = false;
	} else if (rc != SG_OK && err.failinfo != t->failinfo) {
		print_error("%s: failinfo %d, want %d\n", t->name,
		    err.failinfo, t->failinfo);
		ok = false;
	} else if (t->msg != NULL && strcmp(err.msg, t->msg) != 0) {
		print_error("%s: message '%s', want '%s'\n", t->name, err.msg,
		    t->msg);
		ok = false;
	}
	return ok;
}

static void
test_check_csr(void **state)
{
	size_t	i, bad = 0;

	(void)state;
	for (i = 0; i < NELEM(csr_cases); i++)
		if (!csr_row(&csr_cases[i]))
			bad++;
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(csr_cases));
}

struct code_case {
	const char	*code;
	bool		 ok;
};

static char	code_max[RA_CODE_MAX + 1];	/* "AAA...A" */
static char	code_long[RA_CODE_MAX + 2];	/* one more */

static const struct code_case code_cases[] = {
	{ "Abc-123.x", true },
	{ "Secret12345", true },
	{ "A b'()+,-./:=?", true },	/* every punctuation mark allowed */
	{ "12345678", true },
	{ code_max, true },
	{ code_long, false },
	{ "short1", false },
	{ "Secret_12345", false },
	{ "pass@word1", false },
	{ "Secret!12345", false },
	{ "tab\there123", false },
	{ "S\xc3\xa9" "cret1234", false },	/* UTF-8 */
	{ "semi;colon1", false },
	{ "quote\"12345", false },
	{ "", false },
};

static void
test_code_ok(void **state)
{
	size_t	i, bad = 0;

	(void)state;
	memset(code_max, 'A', RA_CODE_MAX);
	memset(code_long, 'B', RA_CODE_MAX + 1);
	for (i = 0; i < NELEM(code_cases); i++) {
		if (ra_policy_code_ok(code_cases[i].code) != code_cases[i].ok) {
			print_error("'%.20s': %s, want %s\n",
			    code_cases[i].code, code_cases[i].ok ? "refused" :
			    "accepted", code_cases[i].ok ? "accepted" :
			    "refused");
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("%zu of %zu codes misjudged", bad, NELEM(code_cases));
}

/* Generated codes stay letters and digits, and pass the admin check. */
static void
test_gen_code(void **state)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	char	code[RA_CODE_MAX + 1];
	int	i;

	(void)state;
	for (i = 0; i < 200; i++) {
		assert_int_equal(ra_policy_gen_code(code, sizeof(code)), SG_OK);
		assert_int_equal(strlen(code), RA_CODE_LEN);
		assert_int_equal(strspn(code, alnum), RA_CODE_LEN);
		assert_true(ra_policy_code_ok(code));
	}
	assert_int_equal(ra_policy_gen_code(code, RA_CODE_LEN), SG_ELIMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_csr),
		cmocka_unit_test(test_code_ok),
		cmocka_unit_test(test_gen_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
