/* Fixtures shared by the ra/ unit tests. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include "sg_test.h"

void
sgt_instance(const char *tag, char *dir, size_t dirsz, struct conf **conf,
    char *code)
{
	struct ra_init_result	res;
	struct sg_err		err = { 0 };

	snprintf(dir, dirsz, "/tmp/%s.XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	if (ra_init_instance(dir, "127.0.0.1", 8080, &res, &err) != SG_OK)
		fail_msg("ra_init_instance: %s", err.msg);
	if (code != NULL)
		snprintf(code, RA_CODE_MAX + 1, "%s", res.code);
	*conf = calloc(1, sizeof(**conf));
	assert_non_null(*conf);
	if (conf_load(res.config, *conf, &err) != SG_OK)
		fail_msg("conf_load: %s", err.msg);
}

struct ra *
sgt_ra_open(const struct conf *conf)
{
	struct sg_err	 err = { 0 };
	struct ra	*ra = NULL;

	if (ra_open(conf, &ra, &err) != SG_OK)
		fail_msg("ra_open: %s", err.msg);
	return ra;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
sgt_rm_tree(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

void
sgt_make_csr(EVP_PKEY *key, const char *cn, const char *code, int chal_type,
    uint8_t **der, size_t *len)
{
	X509_REQ	*req;
	X509_NAME	*n;
	unsigned char	*buf = NULL;
	int		 sz;

	req = X509_REQ_new();
	assert_non_null(req);
	assert_true(X509_REQ_set_version(req, 0));
	n = X509_REQ_get_subject_name(req);
	assert_true(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"scepgate tests", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key));
	/* MBSTRING_ASC refuses "" (size 1..255), a plain type does not. */
	if (code != NULL && chal_type == 0)
		chal_type = code[0] != '\0' ? MBSTRING_ASC :
		    V_ASN1_PRINTABLESTRING;
	if (code != NULL)
		assert_true(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_challengePassword, chal_type,
		    (const unsigned char *)code, (int)strlen(code)));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	sz = i2d_X509_REQ(req, &buf);
	assert_true(sz > 0);
	*der = malloc((size_t)sz);
	assert_non_null(*der);
	memcpy(*der, buf, (size_t)sz);
	*len = (size_t)sz;
	OPENSSL_free(buf);
	X509_REQ_free(req);
}

void
sgt_serial_hex(const X509 *x, char *out, size_t outsz)
{
	BIGNUM	*bn;
	char	*hex;

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(bn);
	hex = BN_bn2hex(bn);
	assert_non_null(hex);
	snprintf(out, outsz, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
}
