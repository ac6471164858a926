/*
 * ra.c's static answers (RFC 8894 3.5, 4.1, 4.7): GetCACaps, GetCACert in
 * each format of an endpoint, GetNextCACert. On the shared instance
 * fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p7.h"
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

static void
test_getcacaps(void **state)
{
	struct sgt_fx	*fx = *state;
	struct ra_reply	 r = { 0 };
	struct sg_err	 err = { 0 };
	size_t		 i;
	static const char *const want[] = {
		"AES", "POSTPKIOperation", "SCEPStandard", "SHA-256",
		"DES3", "SHA-1",	/* crypto.allow_* in the config */
	};

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!sgt_has_cap(fx->ra, "demo", want[i]))
			fail_msg("GetCACaps has no %s", want[i]);
	assert_int_equal(ra_getcacaps(fx->ra, "nope", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
}

static void
test_getcacert(void **state)
{
	struct sgt_fx	*fx = *state;
	struct ra_reply	 r;
	struct sg_err	 err = { 0 };
	STACK_OF(X509)	*certs = NULL;
	unsigned char	*der = NULL;
	BIO		*b;
	char		*pem;
	long		 pemlen;
	int		 derlen;
	static const struct {
		const char		*name;
		const char		*uri;
		enum ra_cacert_fmt	 fmt;
		const char		*ctype;
	} cases[] = {
		{ "demo", "demo", RA_CACERT_CMS_CHAIN,
		    "application/x-x509-ca-ra-cert" },
		{ "cacert der", "ca-der", RA_CACERT_DER,
		    "application/x-x509-ca-cert" },
		{ "cacert pem", "ca-pem", RA_CACERT_PEM,
		    "application/x-x509-ca-cert" },
	};
	size_t		 i;

	derlen = i2d_X509(fx->ra_cert, &der);
	assert_true(derlen > 0);
	b = BIO_new(BIO_s_mem());
	assert_non_null(b);
	assert_true(PEM_write_bio_X509(b, fx->ra_cert));
	pemlen = BIO_get_mem_data(b, &pem);
	assert_true(pemlen > 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].fmt != RA_CACERT_CMS_CHAIN)
			sgt_add_device(fx, cases[i].name, cases[i].uri,
			    cases[i].fmt, RA_GETCERT_FULL_CHAIN);
		memset(&r, 0, sizeof(r));
		if (ra_getcacert(fx->ra, cases[i].uri, &r, &err) != SG_OK)
			fail_msg("%s: %s", cases[i].name, err.msg);
		assert_string_equal(r.ctype, cases[i].ctype);
		switch (cases[i].fmt) {
		case RA_CACERT_DER:
			assert_int_equal(r.len, (size_t)derlen);
			assert_memory_equal(r.body, der, (size_t)derlen);
			break;
		case RA_CACERT_PEM:
			assert_int_equal(r.len, (size_t)pemlen);
			assert_memory_equal(r.body, pem, (size_t)pemlen);
			break;
		case RA_CACERT_CMS_CHAIN:
			assert_int_equal(p7_certs_parse(r.body, r.len, &certs,
			    &err), SG_OK);
			assert_int_equal(sk_X509_num(certs), 2);
			assert_int_equal(X509_cmp(sk_X509_value(certs, 0),
			    fx->ra_cert), 0);
			assert_int_equal(X509_cmp(sk_X509_value(certs, 1),
			    fx->ca_cert), 0);
			sk_X509_pop_free(certs, X509_free);
			certs = NULL;
			break;
		}
		ra_reply_free(&r);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(ra_getcacert(fx->ra, "nope", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
	BIO_free(b);
	OPENSSL_free(der);
}

/* ---- GetNextCACert (RFC 8894 4.7) ---- */

static void
test_nextca(void **state)
{
	struct sgt_fx		*fx = *state;
	static const char *const edits[] = {
		"ca_key = \"ca.key\";",
		"ca_key = \"ca.key\"; next_ca_cert = \"next.pem\";",
	};
	struct sgt_variant	 v;
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	const unsigned char	*p;
	CMS_ContentInfo		*cms;
	STACK_OF(X509)		*signers, *certs = NULL;
	X509			*next;
	BIO			*out;
	char			*content;
	long			 clen;

	next = sgt_make_cert(fx->extra_key, "scepgate next root CA", NULL,
	    NULL, 4242, "critical,keyCertSign,cRLSign", true);
	sgt_write_pem(fx, "next.pem", next, NULL);
	sgt_variant_open(fx, "next.cfg", edits, 2, &v);

	assert_int_equal(ra_getnextcacert(v.ra, "demo", &r, &err), SG_OK);
	assert_string_equal(r.ctype, "application/x-x509-next-ca-cert");
	p = r.body;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)r.len);
	assert_non_null(cms);
	assert_true(p == r.body + r.len);
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	/* Signed by the RA certificate, and only by it. */
	signers = sk_X509_new_null();
	assert_non_null(signers);
	assert_true(sk_X509_push(signers, fx->ca_cert));
	out = BIO_new(BIO_s_mem());
	assert_non_null(out);
	assert_int_not_equal(CMS_verify(cms, signers, NULL, NULL, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY), 1);
	assert_true(sk_X509_pop(signers) == fx->ca_cert);
	assert_true(sk_X509_push(signers, fx->ra_cert));
	assert_int_equal(CMS_verify(cms, signers, NULL, NULL, out,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY), 1);
	/* The content: a degenerate PKCS#7 with the next CA. */
	clen = BIO_get_mem_data(out, &content);
	assert_true(clen > 0);
	assert_int_equal(p7_certs_parse((uint8_t *)content, (size_t)clen,
	    &certs, &err), SG_OK);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), next), 0);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_free(signers);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	ra_reply_free(&r);

	/* GetCACaps says so; the first RA, without the key, does not. */
	assert_true(sgt_has_cap(v.ra, "demo", "GetNextCACert"));
	assert_false(sgt_has_cap(fx->ra, "demo", "GetNextCACert"));
	memset(&r, 0, sizeof(r));
	assert_int_equal(ra_getnextcacert(fx->ra, "demo", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
	assert_int_equal(ra_getnextcacert(v.ra, "no-such-endpoint", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
	sgt_variant_close(&v);
	X509_free(next);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_cacert");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getcacaps),
		cmocka_unit_test(test_getcacert),
		cmocka_unit_test(test_nextca),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
