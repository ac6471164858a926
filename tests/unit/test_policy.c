/*
 * CSR rules (ra_policy.c): an endpoint's CSR policy through a real
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
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

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
		cmocka_unit_test(test_csr_policy),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
