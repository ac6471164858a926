/*
 * ra/ra_csr_msft.c: the ValidityPeriod enrollment name/value pairs of
 * Windows and Android CSRs (intune-scep.md correction 7), one table of
 * {pairs, raw values, rc, days}. Each row is read after a DER round
 * trip, as a device's bytes would be, and, with one attribute, also
 * from the X509_REQ built in memory. With SG_MSFT_SEEDS=DIR each row's DER is written to DIR
 * (the seeds of tests/fuzz/corpus/msft_attr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ra_csr_msft.h"

#define NVP	"1.3.6.1.4.1.311.13.2.1"
#define NPAIRS	4

struct mcase {
	const char	*name;		/* also the seed's file name */
	const char	*pairs[NPAIRS];	/* "Name=Value", BMPStrings */
	const char	*raw;		/* hex DER of one more value */
	bool		 one_attr;	/* every value in one attribute */
	enum sg_rc	 rc;
	long		 days;
};

static const struct mcase cases[] = {
	{ "none", { NULL }, NULL, false, SG_OK, 0 },
	{ "other_pair_only", { "CertificateTemplate=User" }, NULL, false,
	    SG_OK, 0 },
	{ "years", { "ValidityPeriod=Years", "ValidityPeriodUnits=2" }, NULL,
	    false, SG_OK, 730 },
	{ "days_one_attribute", { "ValidityPeriod=Days",
	    "ValidityPeriodUnits=30" }, NULL, true, SG_OK, 30 },
	{ "weeks_with_template", { "CertificateTemplate=Machine",
	    "ValidityPeriod=Weeks", "ValidityPeriodUnits=3" }, NULL, false,
	    SG_OK, 21 },
	{ "months", { "ValidityPeriodUnits=6", "ValidityPeriod=Months" },
	    NULL, false, SG_OK, 180 },
	{ "hours_round_up", { "ValidityPeriod=Hours",
	    "ValidityPeriodUnits=36" }, NULL, false, SG_OK, 2 },
	{ "minutes", { "ValidityPeriod=Minutes", "ValidityPeriodUnits=1441" },
	    NULL, false, SG_OK, 2 },
	{ "one_second", { "ValidityPeriod=Seconds", "ValidityPeriodUnits=1" },
	    NULL, false, SG_OK, 1 },
	{ "android_swapped", { "ValidityPeriod=1",
	    "ValidityPeriodUnits=Years" }, NULL, false, SG_OK, 365 },
	{ "any_case", { "validityperiod=DAYS", "VALIDITYPERIODUNITS=10" },
	    NULL, false, SG_OK, 10 },
	{ "clamped", { "ValidityPeriod=Years", "ValidityPeriodUnits=1000" },
	    NULL, false, SG_OK, RA_CSR_MSFT_DAYS_MAX },
	{ "utf8_strings", { "ValidityPeriodUnits=5" },
	    "30160c0e56616c6964697479506572696f640c0444617973", false,
	    SG_OK, 5 },
	{ "unknown_unit", { "ValidityPeriod=Fortnights",
	    "ValidityPeriodUnits=2" }, NULL, false, SG_EPARSE, 0 },
	{ "zero", { "ValidityPeriod=Days", "ValidityPeriodUnits=0" }, NULL,
	    false, SG_EPARSE, 0 },
	{ "too_many", { "ValidityPeriod=Days", "ValidityPeriodUnits=100001" },
	    NULL, false, SG_EPARSE, 0 },
	{ "not_a_number", { "ValidityPeriod=Days", "ValidityPeriodUnits=1x" },
	    NULL, false, SG_EPARSE, 0 },
	{ "both_numbers", { "ValidityPeriod=2", "ValidityPeriodUnits=3" },
	    NULL, false, SG_EPARSE, 0 },
	{ "period_only", { "ValidityPeriod=Days" }, NULL, false, SG_EPARSE,
	    0 },
	{ "units_only", { "ValidityPeriodUnits=7" }, NULL, false, SG_EPARSE,
	    0 },
	{ "twice", { "ValidityPeriod=Days", "ValidityPeriodUnits=1",
	    "ValidityPeriod=Years" }, NULL, false, SG_EPARSE, 0 },
	{ "empty_value", { "ValidityPeriod=", "ValidityPeriodUnits=1" }, NULL,
	    false, SG_EPARSE, 0 },
	{ "not_a_sequence", { NULL }, "0c0178", false, SG_EPARSE, 0 },
	{ "integer_name", { NULL }, "30050201010c00", false, SG_EPARSE, 0 },
	{ "three_elements", { NULL }, "30080c01610c01620500", false,
	    SG_EPARSE, 0 },
	{ "one_element", { NULL }, "30030c0161", false, SG_EPARSE, 0 },
	{ "inner_truncated", { NULL }, "30050c05616263", false, SG_EPARSE,
	    0 },
	{ "long_value", { "ValidityPeriod=Days", "ValidityPeriodUnits="
	    "0000000000000000000000000000000000000000000000000000000000000001" },
	    NULL, false, SG_EPARSE, 0 },
};

static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t	i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++)
		out[i] = (uint8_t)strtoul((char[3]){ hex[2 * i],
		    hex[2 * i + 1], '\0' }, NULL, 16);
	return n;
}

/* A DER tag and length (below 256) at out; returns the bytes used. */
static size_t
tl(uint8_t *out, uint8_t tag, size_t len)
{
	out[0] = tag;
	if (len < 128) {
		out[1] = (uint8_t)len;
		return 2;
	}
	out[1] = 0x81;
	out[2] = (uint8_t)len;
	return 3;
}

/* SEQUENCE { BMPString name, BMPString value } of "Name=Value". */
static size_t
pair_der(const char *nv, uint8_t *out)
{
	const char	*eq = strchr(nv, '=');
	const char	*s[2] = { nv, eq + 1 };
	size_t		 len[2] = { (size_t)(eq - nv), strlen(eq + 1) };
	uint8_t		 body[256];
	size_t		 n = 0, i, j, h;

	for (i = 0; i < 2; i++) {
		n += tl(body + n, 0x1e, 2 * len[i]);	/* BMPString */
		for (j = 0; j < len[i]; j++) {
			body[n++] = 0;
			body[n++] = (uint8_t)s[i][j];
		}
	}
	h = tl(out, 0x30, n);
	memcpy(out + h, body, n);
	return h + n;
}

/*
 * OpenSSL (3.2 on) refuses a second attribute of one type, so attribute
 * k > 0 is made under the stand-in 1.3.6.1.4.1.311.13.2.(126 - k),
 * whose DER has the same length, and renamed in the DER (rename()).
 */
#define STANDIN		"1.3.6.1.4.1.311.13.2."
static const uint8_t nvp_der[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
    0x01, 0x82, 0x37, 0x0d, 0x02 };

static void
rename_standins(uint8_t *der, size_t len)
{
	size_t	i, n = sizeof(nvp_der);

	for (i = 0; i + n < len; i++)
		if (memcmp(der + i, nvp_der, n) == 0 && der[i + n] >= 126 -
		    NPAIRS && der[i + n] <= 126)
			der[i + n] = 0x01;
}

/* One more value: into *one (made on first use), else attribute k. */
static void
add_value(X509_REQ *req, X509_ATTRIBUTE **one, size_t k, const uint8_t *der,
    size_t len)
{
	ASN1_OBJECT	*oid;
	X509_ATTRIBUTE	*a;
	char		 txt[64];
	int		 type = V_ASN1_SEQUENCE;

	if (k == 0)
		snprintf(txt, sizeof(txt), "%s", NVP);
	else
		snprintf(txt, sizeof(txt), STANDIN "%zu", 126 - k);
	assert_non_null(oid = OBJ_txt2obj(txt, 1));
	if (der[0] != 0x30) {
		/* Not a SEQUENCE: the content of a UTF8String. */
		type = V_ASN1_UTF8STRING;
		der += 2;
		len -= 2;
	}
	if (one != NULL && *one != NULL)
		assert_true(X509_ATTRIBUTE_set1_data(*one, type, der,
		    (int)len));
	else {
		assert_non_null(a = X509_ATTRIBUTE_create_by_OBJ(NULL, oid,
		    type, der, (int)len));
		if (one != NULL)
			*one = a;
		else {
			if (!X509_REQ_add1_attr(req, a)) {
				ERR_print_errors_fp(stderr);
				fail_msg("add1_attr %s", txt);
			}
			X509_ATTRIBUTE_free(a);
		}
	}
	ASN1_OBJECT_free(oid);
}

static X509_REQ *
build(const struct mcase *t, EVP_PKEY *key)
{
	X509_REQ	*req = X509_REQ_new();
	X509_ATTRIBUTE	*one = NULL;
	uint8_t		 der[256];
	size_t		 i, n;

	assert_non_null(req);
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_add1_attr_by_NID(req,
	    NID_pkcs9_challengePassword, MBSTRING_ASC,
	    (const unsigned char *)"challenge", -1));
	for (i = 0; i < NPAIRS && t->pairs[i] != NULL; i++) {
		n = pair_der(t->pairs[i], der);
		add_value(req, t->one_attr ? &one : NULL, i, der, n);
	}
	if (t->raw != NULL) {
		n = unhex(t->raw, der);
		add_value(req, t->one_attr ? &one : NULL, i, der, n);
	}
	if (one != NULL) {
		assert_true(X509_REQ_add1_attr(req, one));
		X509_ATTRIBUTE_free(one);
	}
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

static size_t
nattrs(const struct mcase *t)
{
	size_t	n = 0;

	while (n < NPAIRS && t->pairs[n] != NULL)
		n++;
	n += t->raw != NULL;
	return t->one_attr && n > 0 ? 1 : n;
}

static bool
check(const struct mcase *t, const X509_REQ *req, const char *how)
{
	struct sg_err	err;
	long		days = -7;
	enum sg_rc	rc;

	sg_err_clear(&err);
	rc = ra_csr_msft_validity(req, &days, &err);
	if (rc != t->rc) {
		print_error("%s (%s): rc %d, want %d (%s)\n", t->name, how, rc,
		    t->rc, err.msg);
		return false;
	}
	if (rc == SG_OK && days != t->days) {
		print_error("%s (%s): %ld days, want %ld\n", t->name, how, days,
		    t->days);
		return false;
	}
	if (rc != SG_OK && (days != -7 || err.failinfo != SG_FAIL_BADREQUEST ||
	    strstr(err.msg, NVP) == NULL)) {
		print_error("%s (%s): *days %ld, failinfo %d, \"%s\"\n",
		    t->name, how, days, err.failinfo, err.msg);
		return false;
	}
	return true;
}

static void
seed(const char *dir, const struct mcase *t, const uint8_t *der, int len)
{
	char	 path[1024];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s.der", dir, t->name);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(der, 1, (size_t)len, fp), (size_t)len);
	assert_int_equal(fclose(fp), 0);
}

static void
test_table(void **state)
{
	const char		*seeds = getenv("SG_MSFT_SEEDS");
	EVP_PKEY		*key = EVP_EC_gen("P-256");
	X509_REQ		*req, *back;
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 i, bad = 0;
	int			 len;

	(void)state;
	assert_non_null(key);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req = build(&cases[i], key);
		/* Stand-ins are read only once renamed. */
		if (nattrs(&cases[i]) <= 1 && !check(&cases[i], req, "built"))
			bad++;
		der = NULL;
		assert_true((len = i2d_X509_REQ(req, &der)) > 0);
		rename_standins(der, (size_t)len);
		p = der;
		/* Broken inner DER may not survive the outer decoder. */
		if ((back = d2i_X509_REQ(NULL, &p, len)) != NULL &&
		    !check(&cases[i], back, "decoded"))
			bad++;
		if (seeds != NULL)
			seed(seeds, &cases[i], der, len);
		X509_REQ_free(back);
		OPENSSL_free(der);
		X509_REQ_free(req);
	}
	EVP_PKEY_free(key);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
