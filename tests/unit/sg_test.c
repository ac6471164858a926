/* Fixtures shared by the ra/ unit tests (contracts in sg_test.h). */
#include <sys/stat.h>

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sg.h"
#include "sg_test.h"

/* ---- the instance ---- */

void
sgt_instance(const char *tag, char *dir, size_t dirsz, struct conf **conf,
    char *code)
{
	struct ra_instance_result	res;
	struct sg_err		err = { 0 };

	snprintf(dir, dirsz, "/tmp/%s.XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	if (ra_instance_create(dir, "127.0.0.1", 8080, &res, &err) != SG_OK)
		fail_msg("ra_instance_create: %s", err.msg);
	if (code != NULL)
		snprintf(code, RA_CODE_MAX + 1, "%s", res.code);
	OPENSSL_cleanse(res.code, sizeof(res.code));
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

/* Client keys, each with a self-signed certificate to sign requests. */
static void
make_clients(struct sgt_fx *fx)
{
	char	cn[32];
	int	i;

	for (i = 0; i <= SGT_NKEYS; i++) {
		fx->key[i] = EVP_RSA_gen(i == SGT_KWEAK ? 1024 : 2048);
		assert_non_null(fx->key[i]);
		snprintf(cn, sizeof(cn), "test client %d", i);
		fx->cert[i] = sgt_make_cert(fx->key[i], cn, NULL, NULL, 1,
		    NULL, false);
	}
	fx->ec_key = EVP_EC_gen("P-256");
	assert_non_null(fx->ec_key);
	fx->extra_key = EVP_RSA_gen(2048);
	assert_non_null(fx->extra_key);
}

/* The accounts and endpoints of struct sgt_fx beside "demo". */
static void
add_defaults(struct sgt_fx *fx)
{
	struct ra_account	acct = { 0 };
	struct ra_endpoint	ep = { 0 };

	snprintf(acct.endpoint, sizeof(acct.endpoint), "demo");
	snprintf(acct.name, sizeof(acct.name), "enroll-tests");
	acct.term_days = 90;
	sgt_add_account(fx->ra, &acct, SGT_CODE, NULL);
	sgt_add_device(fx, "other", "other", RA_CACERT_CMS_CHAIN,
	    RA_GETCERT_SINGLE);
	sgt_account(fx, "other", "other-devices", SGT_OTHER_CODE, NULL);
	snprintf(ep.name, sizeof(ep.name), "elsewhere");
	ep.type = RA_EP_DEVICE;
	ep.renewal_days = 0;
	sgt_add_endpoint(fx->ra, &ep);
	sgt_account(fx, "elsewhere", "elsewhere-acct", SGT_OTHER_CODE, NULL);
}

int
sgt_fx_setup(void **state, const char *tag)
{
	struct sgt_fx	*fx;

	/* Refused requests log a WARN line each; keep ctest output short. */
	sg_log_init(SG_LOG_ERR, false, tag);
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	sgt_instance(tag, fx->dir, sizeof(fx->dir), &fx->conf, fx->code);
	assert_true(fx->conf->allow_des && fx->conf->allow_sha1);
	/* test_lockout checks the lockout with its own RA. */
	fx->conf->lockout_failures = 0;
	snprintf(fx->db, sizeof(fx->db), "%s", fx->conf->database);
	fx->ra = sgt_ra_open(fx->conf);
	fx->ra_cert = sgt_read_cert(fx, "ra.pem");
	fx->ra_key = sgt_read_key(fx, "ra.key");
	fx->ca_cert = sgt_read_cert(fx, "ca.pem");
	fx->ca_key = sgt_read_key(fx, "ca.key");
	make_clients(fx);
	add_defaults(fx);
	*state = fx;
	return 0;
}

int
sgt_fx_teardown(void **state)
{
	struct sgt_fx	*fx = *state;
	int		 i;

	if (fx == NULL)
		return 0;
	ra_close(fx->ra);
	for (i = 0; i <= SGT_NKEYS; i++) {
		X509_free(fx->cert[i]);
		EVP_PKEY_free(fx->key[i]);
	}
	EVP_PKEY_free(fx->ec_key);
	EVP_PKEY_free(fx->extra_key);
	X509_free(fx->ra_cert);
	EVP_PKEY_free(fx->ra_key);
	X509_free(fx->ca_cert);
	EVP_PKEY_free(fx->ca_key);
	sgt_rm_tree(fx->dir);
	free(fx->conf);
	OPENSSL_cleanse(fx, sizeof(*fx));
	free(fx);
	return 0;
}

/* ---- files ---- */

uint8_t *
sgt_slurp(const char *path, size_t *len)
{
	FILE	*fp;
	uint8_t	*buf = NULL;
	size_t	 n = 0, cap = 0, got;

	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		got = fread(buf + n, 1, cap - n - 1, fp);
		if (got == 0)
			break;
		n += got;
	}
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static FILE *
open_in(const struct sgt_fx *fx, const char *name, const char *mode,
    char *path, size_t pathsz)
{
	FILE	*fp;

	snprintf(path, pathsz, "%s/%s", fx->dir, name);
	fp = fopen(path, mode);
	if (fp == NULL)
		fail_msg("%s: cannot open", path);
	return fp;
}

X509 *
sgt_read_cert(const struct sgt_fx *fx, const char *name)
{
	char	 path[256];
	FILE	*fp;
	X509	*x;

	fp = open_in(fx, name, "r", path, sizeof(path));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

EVP_PKEY *
sgt_read_key(const struct sgt_fx *fx, const char *name)
{
	char		 path[256];
	FILE		*fp;
	EVP_PKEY	*k;

	fp = open_in(fx, name, "r", path, sizeof(path));
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

void
sgt_write_pem(const struct sgt_fx *fx, const char *name, X509 *x,
    EVP_PKEY *key)
{
	char	 path[256];
	FILE	*fp;

	fp = open_in(fx, name, "w", path, sizeof(path));
	if (x != NULL)
		assert_true(PEM_write_X509(fp, x));
	if (key != NULL)
		assert_true(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
		    NULL));
	assert_int_equal(fclose(fp), 0);
	/* ra/ refuses private keys that others may read. */
	assert_int_equal(chmod(path, key != NULL ? 0600 : 0644), 0);
}

/* "text" with its first "from" replaced by "to"; "text" is freed. */
static char *
replace(char *text, const char *from, const char *to)
{
	char	*p, *out;
	size_t	 flen, tlen;

	if ((p = strstr(text, from)) == NULL)
		fail_msg("scepgate.cfg has no \"%s\" to edit", from);
	flen = strlen(from);
	tlen = strlen(to);
	out = malloc(strlen(text) - flen + tlen + 1);
	assert_non_null(out);
	memcpy(out, text, (size_t)(p - text));
	memcpy(out + (p - text), to, tlen);
	memcpy(out + (p - text) + tlen, p + flen, strlen(p + flen) + 1);
	free(text);
	return out;
}

void
sgt_variant_open(struct sgt_fx *fx, const char *name,
    const char *const *edits, size_t nedits, struct sgt_variant *v)
{
	struct sg_err	 err = { 0 };
	char		 path[256], *text;
	size_t		 i, len;
	enum sg_rc	 rc;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/scepgate.cfg", fx->dir);
	text = (char *)sgt_slurp(path, &len);
	assert_non_null(text);
	for (i = 0; i + 1 < nedits; i += 2)
		text = replace(text, edits[i], edits[i + 1]);
	fp = open_in(fx, name, "w", path, sizeof(path));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	free(text);
	v->conf = calloc(1, sizeof(*v->conf));
	assert_non_null(v->conf);
	rc = conf_load(path, v->conf, &err);
	if (rc != SG_OK)
		fail_msg("conf_load %s: %s", name, err.msg);
	rc = ra_open(v->conf, &v->ra, &err);
	if (rc != SG_OK)
		fail_msg("ra_open %s: %s", name, err.msg);
}

void
sgt_variant_close(struct sgt_variant *v)
{
	ra_close(v->ra);
	free(v->conf);
	memset(v, 0, sizeof(*v));
}

/* ---- certificates and requests ---- */

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*e;

	e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

X509 *
sgt_make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
    EVP_PKEY *issuer_key, long serial, const char *ku, bool ca)
{
	X509		*x;
	X509_NAME	*n;
	X509V3_CTX	 ctx;

	x = X509_new();
	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
	n = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"scepgate tests", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -300));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x),
	    365L * 86400));
	assert_true(X509_set_pubkey(x, key));
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (ku != NULL)
		add_ext(x, &ctx, NID_key_usage, ku);
	if (ca)
		add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha256()) > 0);
	return x;
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

void
sgt_transid(struct sgt_fx *fx, const char *tag, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%ld", tag, ++fx->seq, (long)getpid());
}

/* ---- SCEP exchanges ---- */

void
sgt_build(struct sgt_fx *fx, struct p7_req *rq, int who, uint8_t **der,
    size_t *len)
{
	STACK_OF(X509)	*rcpt = NULL;
	struct sg_err	 err = { 0 };
	enum sg_rc	 rc;

	if (rq->recipients == NULL) {
		rcpt = sk_X509_new_null();
		assert_non_null(rcpt);
		assert_true(sk_X509_push(rcpt, fx->ra_cert));
		rq->recipients = rcpt;
	}
	if (rq->signer == NULL) {
		rq->signer = fx->cert[who];
		rq->signer_key = fx->key[who];
	}
	rc = p7_req_build(rq, der, len, &err);
	if (rc != SG_OK)
		fail_msg("p7_req_build: %s: %s", sg_strerror(rc), err.msg);
	if (rcpt != NULL) {
		sk_X509_free(rcpt);
		rq->recipients = NULL;
	}
}

void
sgt_pkiop(struct ra *ra, const char *uri, const uint8_t *der, size_t len,
    struct ra_reply *r)
{
	struct sg_err	err = { 0 };
	enum sg_rc	rc;

	memset(r, 0, sizeof(*r));
	rc = ra_pkiop(ra, uri, der, len, SGT_PEER, r, &err);
	if (rc != SG_OK)
		fail_msg("ra_pkiop %s: %s: %s", uri, sg_strerror(rc), err.msg);
	assert_non_null(r->body);
	assert_non_null(r->ctype);
	assert_string_equal(r->ctype, SGT_CTYPE_PKI);
}

struct p7_certrep *
sgt_read_rep(const struct ra_reply *r, X509 *ra_cert, X509 *my_cert,
    EVP_PKEY *my_key)
{
	struct sg_err		 err = { 0 };
	struct p7_certrep	*rep = NULL;
	enum sg_rc		 rc;

	rc = p7_certrep_parse(r->body, r->len, ra_cert, my_cert, my_key, &rep,
	    &err);
	if (rc != SG_OK)
		fail_msg("p7_certrep_parse: %s: %s", sg_strerror(rc), err.msg);
	return rep;
}

struct p7_certrep *
sgt_exchange(struct sgt_fx *fx, const char *uri, const uint8_t *der,
    size_t len, int who)
{
	struct ra_reply		 r;
	struct p7_certrep	*rep;

	sgt_pkiop(fx->ra, uri, der, len, &r);
	rep = sgt_read_rep(&r, fx->ra_cert, fx->cert[who], fx->key[who]);
	ra_reply_free(&r);
	return rep;
}

struct p7_certrep *
sgt_send(struct sgt_fx *fx, struct ra *ra, const char *uri,
    struct p7_req *rq, int who)
{
	struct ra_reply		 r;
	struct p7_certrep	*rep;
	uint8_t			*der = NULL;
	size_t			 len = 0;

	sgt_build(fx, rq, who, &der, &len);
	sgt_pkiop(ra, uri, der, len, &r);
	rep = sgt_read_rep(&r, fx->ra_cert, rq->signer, rq->signer_key);
	assert_string_equal(rep->transid, rq->transid);
	ra_reply_free(&r);
	free(der);
	return rep;
}

struct p7_certrep *
sgt_request(struct sgt_fx *fx, struct ra *ra, const char *uri, int type,
    const char *transid, EVP_PKEY *csrkey, const char *code, int chal,
    X509 *signer, EVP_PKEY *skey)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*csr = NULL;
	size_t			 csrlen = 0;
	char			 cn[128];

	/*
	 * A renewal (a RenewalReq, or a PKCSReq signed by an issued
	 * certificate rather than the client's self-signed one) keeps the
	 * renewed certificate's CN (docs/names.md).
	 */
	if (signer == NULL || (type != P7_TYPE_RENEWALREQ &&
	    X509_check_issued(signer, signer) == X509_V_OK) ||
	    X509_NAME_get_text_by_NID(X509_get_subject_name(signer),
	    NID_commonName, cn, sizeof(cn)) <= 0)
		snprintf(cn, sizeof(cn), "%s", transid);
	sgt_make_csr(csrkey, cn, code, chal, &csr, &csrlen);
	rq.type = type;
	rq.transid = transid;
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = signer;
	rq.signer_key = skey;
	rep = sgt_send(fx, ra, uri, &rq, 0);
	free(csr);
	return rep;
}

struct p7_certrep *
sgt_enroll(struct sgt_fx *fx, const char *uri, const char *transid, int who,
    const char *code)
{
	return sgt_request(fx, fx->ra, uri, P7_TYPE_PKCSREQ, transid,
	    fx->key[who], code, 0, fx->cert[who], fx->key[who]);
}

X509 *
sgt_issued_cert(struct sgt_fx *fx, const char *uri, int who,
    const char *code)
{
	struct p7_certrep	*rep;
	X509			*x;
	char			 tid[64];

	sgt_transid(fx, "pre", tid, sizeof(tid));
	rep = sgt_enroll(fx, uri, tid, who, code);
	x = sgt_expect_issued(fx, rep, fx->key[who], 2, "enroll");
	assert_true(X509_up_ref(x));
	p7_certrep_free(rep);
	return x;
}

/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }. */
static void
issuer_and_subject(const X509_NAME *iss, const X509_NAME *sub,
    uint8_t **der, size_t *len)
{
	unsigned char	*a = NULL, *b = NULL;
	uint8_t		*p;
	int		 na, nb;
	size_t		 body, hdr;

	na = i2d_X509_NAME(iss, &a);
	nb = i2d_X509_NAME(sub, &b);
	assert_true(na > 0 && nb > 0);
	body = (size_t)na + (size_t)nb;
	assert_true(body < 65536);
	hdr = body < 128 ? 2 : body < 256 ? 3 : 4;
	p = malloc(hdr + body);
	assert_non_null(p);
	p[0] = 0x30;
	if (hdr == 2)
		p[1] = (uint8_t)body;
	else if (hdr == 3) {
		p[1] = 0x81;
		p[2] = (uint8_t)body;
	} else {
		p[1] = 0x82;
		p[2] = (uint8_t)(body >> 8);
		p[3] = (uint8_t)body;
	}
	memcpy(p + hdr, a, (size_t)na);
	memcpy(p + hdr + na, b, (size_t)nb);
	OPENSSL_free(a);
	OPENSSL_free(b);
	*der = p;
	*len = hdr + body;
}

struct p7_certrep *
sgt_certpoll(struct sgt_fx *fx, const char *uri, const char *transid,
    X509 *signer, EVP_PKEY *skey, const X509_NAME *subject,
    const uint8_t *nonce, size_t nlen)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*data = NULL;
	size_t			 dlen = 0;

	issuer_and_subject(X509_get_subject_name(fx->ca_cert),
	    subject != NULL ? subject : X509_get_subject_name(signer), &data,
	    &dlen);
	rq.type = P7_TYPE_CERTPOLL;
	rq.transid = transid;
	rq.sender_nonce = nonce;
	rq.sender_nonce_len = nlen;
	rq.data = data;
	rq.data_len = dlen;
	rq.signer = signer;
	rq.signer_key = skey;
	rep = sgt_send(fx, fx->ra, uri, &rq, 0);
	free(data);
	return rep;
}

void
sgt_ias_der(const X509_NAME *issuer, const ASN1_INTEGER *serial,
    uint8_t **der, size_t *len)
{
	PKCS7_ISSUER_AND_SERIAL	*ias;
	unsigned char		*buf = NULL;
	int			 n;

	ias = PKCS7_ISSUER_AND_SERIAL_new();
	assert_non_null(ias);
	assert_true(X509_NAME_set(&ias->issuer, (X509_NAME *)issuer));
	assert_true(ASN1_STRING_copy(ias->serial, serial));
	n = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &buf);
	assert_true(n > 0);
	*der = malloc((size_t)n);
	assert_non_null(*der);
	memcpy(*der, buf, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(buf);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
}

struct p7_certrep *
sgt_by_ias(struct sgt_fx *fx, const char *uri, int type,
    const X509_NAME *issuer, const ASN1_INTEGER *serial, int who)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*data = NULL;
	size_t			 dlen = 0;
	char			 tid[64];

	sgt_ias_der(issuer, serial, &data, &dlen);
	sgt_transid(fx, type == P7_TYPE_GETCRL ? "getcrl" : "getcert", tid,
	    sizeof(tid));
	rq.type = type;
	rq.transid = tid;
	rq.data = data;
	rq.data_len = dlen;
	rep = sgt_send(fx, fx->ra, uri, &rq, who);
	free(data);
	return rep;
}

/* ---- what the replies must say ---- */

void
sgt_expect_status(const struct p7_certrep *rep, int status, int failinfo,
    const char *what)
{
	if (rep->status != status || rep->failinfo != failinfo)
		fail_msg("%s: status %d failinfo %d (\"%s\"), expected %d/%d",
		    what, rep->status, rep->failinfo, rep->failtext, status,
		    failinfo);
}

void
sgt_expect_failure(const struct p7_certrep *rep, const char *what)
{
	if (rep->status != P7_STATUS_FAILURE)
		fail_msg("%s: status %d, expected FAILURE", what, rep->status);
	assert_int_not_equal(rep->failinfo, SG_FAIL_NONE);
	assert_null(rep->certs);
}

X509 *
sgt_expect_issued(const struct sgt_fx *fx, const struct p7_certrep *rep,
    EVP_PKEY *key, int ncerts, const char *what)
{
	X509	*x;

	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, what);
	if (sk_X509_num(rep->certs) != ncerts)
		fail_msg("%s: %d certificates, expected %d", what,
		    sk_X509_num(rep->certs), ncerts);
	x = sk_X509_value(rep->certs, 0);
	if (EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1)
		fail_msg("%s: the first certificate is not for the CSR key",
		    what);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(fx->ca_cert)), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(fx->ca_cert)), 1);
	if (ncerts > 1)
		assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 1),
		    fx->ca_cert), 0);
	return x;
}

bool
sgt_has_cap(struct ra *ra, const char *uri, const char *cap)
{
	struct ra_reply	 r = { 0 };
	struct sg_err	 err = { 0 };
	char		*text, line[64];
	bool		 found;

	assert_int_equal(ra_getcacaps(ra, uri, &r, &err), SG_OK);
	assert_string_equal(r.ctype, "text/plain");
	text = calloc(1, r.len + 2);
	assert_non_null(text);
	text[0] = '\n';
	memcpy(text + 1, r.body, r.len);
	/* Whole lines only ("SHA-1" must not match "SHA-1x"). */
	snprintf(line, sizeof(line), "\n%s\n", cap);
	found = strstr(text, line) != NULL;
	free(text);
	ra_reply_free(&r);
	return found;
}

/* ---- admin data ---- */

void
sgt_add_endpoint(struct ra *ra, struct ra_endpoint *ep)
{
	struct sg_err	err = { 0 };
	bool		dflt = ep->ra_id[0] == '\0';

	if (ep->uri[0] == '\0')
		snprintf(ep->uri, sizeof(ep->uri), "%s", ep->name);
	if (ra_endpoint_add(ra, ep, &err) != SG_OK)
		fail_msg("ra_endpoint_add %s: %s", ep->name, err.msg);
	assert_true(ep->id > 0);
	if (dflt)	/* the default RA */
		assert_string_equal(ep->ra_id, "ra1");
}

void
sgt_add_device(struct sgt_fx *fx, const char *name, const char *uri,
    enum ra_cacert_fmt cfmt, enum ra_getcert_fmt gfmt)
{
	struct ra_endpoint	ep = { 0 };

	snprintf(ep.name, sizeof(ep.name), "%s", name);
	snprintf(ep.uri, sizeof(ep.uri), "%s", uri);
	ep.type = RA_EP_DEVICE;
	ep.cacert_fmt = cfmt;
	ep.getcert_fmt = gfmt;
	ep.renewal_days = 30;
	sgt_add_endpoint(fx->ra, &ep);
}

void
sgt_add_account(struct ra *ra, struct ra_account *acct, const char *code,
    char *code_out)
{
	struct sg_err	err = { 0 };
	char		buf[RA_CODE_MAX + 1];

	if (acct->org[0] == '\0')
		snprintf(acct->org, sizeof(acct->org), "Demo");
	if (ra_account_add(ra, acct, code, code_out != NULL ? code_out : buf,
	    &err) != SG_OK)
		fail_msg("ra_account_add %s/%s: %s", acct->endpoint,
		    acct->name, err.msg);
	assert_true(acct->id > 0);
	OPENSSL_cleanse(buf, sizeof(buf));
}

void
sgt_account(struct sgt_fx *fx, const char *endpoint, const char *name,
    const char *code, char *code_out)
{
	struct ra_account	acct = { 0 };

	snprintf(acct.endpoint, sizeof(acct.endpoint), "%s", endpoint);
	snprintf(acct.name, sizeof(acct.name), "%s", name);
	acct.term_days = 30;
	sgt_add_account(fx->ra, &acct, code, code_out);
}

void
sgt_add_simple(struct sgt_fx *fx, const char *name, int renewal_days,
    int term, bool manual, enum ra_getcert_fmt gfmt)
{
	struct ra_endpoint	ep = { 0 };
	struct ra_account	acct = { 0 };

	snprintf(ep.name, sizeof(ep.name), "%s", name);
	ep.type = RA_EP_DEVICE;
	ep.getcert_fmt = gfmt;
	ep.renewal_days = renewal_days;
	sgt_add_endpoint(fx->ra, &ep);
	snprintf(acct.endpoint, sizeof(acct.endpoint), "%s", name);
	snprintf(acct.name, sizeof(acct.name), "%s-acct", name);
	acct.term_days = term;
	acct.manual = manual;
	sgt_add_account(fx->ra, &acct, SGT_CODE, NULL);
}

void
sgt_cert_info(struct sgt_fx *fx, const X509 *x, struct ra_cert *info)
{
	struct sg_err	err = { 0 };
	char		serial[80];

	sgt_serial_hex(x, serial, sizeof(serial));
	if (ra_cert_get(fx->ra, serial, info, NULL, &err) != SG_OK)
		fail_msg("ra_cert_get %s: %s", serial, err.msg);
}

bool
sgt_find_request(struct sgt_fx *fx, int status, const char *transid,
    struct ra_request *out)
{
	struct ra_request	*list = NULL;
	struct sg_err		 err = { 0 };
	size_t			 n = 0, i;
	bool			 found = false;

	assert_int_equal(ra_request_list(fx->ra, status, &list, &n, &err),
	    SG_OK);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i].transid, transid) == 0) {
			*out = list[i];
			found = true;
		}
	}
	free(list);
	return found;
}
