/*
 * ra/ enrollment tests for the RFC 8894 completion (issue #3): one test
 * per bullet, each of which fails without the feature it names.
 * RenewalReq, manual approval with CertPoll, GetCert and its reply
 * format, GetCRL with the local CA's CRL, GetNextCACert, algorithm
 * switches, separate signing and encryption RA certificates, the CSR
 * policy of an endpoint, and idempotency with the nonces.
 *
 * Like test_ra.c: a throwaway instance from ra_init_instance(), driven
 * through ra_pkiop() and the admin API only, with messages built by the
 * client side of the codec (p7_req_build) and read back with
 * p7_certrep_parse() as a client would. Configuration variants are the
 * generated scepgate.cfg with a few strings replaced, opened as a second
 * struct ra on the same database. Keys are generated once.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "p7.h"
#include "sg_test.h"
#include "ra.h"
#include "sg.h"

#define NKEYS		5		/* client RSA-2048 keys */
#define CODE		"EnrollTestCode0001"	/* every test account's */
#define OTHER_CODE	"EnrollOtherCode0002"
#define CTYPE_PKI	"application/x-pki-message"
#define PEER		"192.0.2.7"

struct fx {
	char		 dir[64];
	struct conf	*conf;
	struct ra	*ra;
	X509		*ra_cert;		/* DIR/ra.pem: "ra1" */
	EVP_PKEY	*ra_key;		/* DIR/ra.key */
	X509		*ca_cert;		/* DIR/ca.pem */
	EVP_PKEY	*ca_key;		/* DIR/ca.key */
	EVP_PKEY	*key[NKEYS];
	X509		*cert[NKEYS];		/* self-signed, per key */
	EVP_PKEY	*ec_key;		/* P-256, for CSRs only */
	EVP_PKEY	*extra_key;		/* second RA, next CA */
	unsigned int	 seq;			/* for transactionIDs */
};

/* A second configuration opened beside the first. */
struct variant {
	struct conf	*conf;
	struct ra	*ra;
};

/* ---- helpers: files, certificates, requests ---- */

static void
path_in(const struct fx *fx, const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", fx->dir, name);
}

static X509 *
read_cert(const struct fx *fx, const char *name)
{
	char	 path[256];
	FILE	*fp;
	X509	*x;

	path_in(fx, name, path, sizeof(path));
	fp = fopen(path, "r");
	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
read_key(const struct fx *fx, const char *name)
{
	char		 path[256];
	FILE		*fp;
	EVP_PKEY	*k;

	path_in(fx, name, path, sizeof(path));
	fp = fopen(path, "r");
	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static void
write_pem(const struct fx *fx, const char *name, X509 *x, EVP_PKEY *key)
{
	char	 path[256];
	FILE	*fp;

	path_in(fx, name, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	if (x != NULL)
		assert_true(PEM_write_X509(fp, x));
	if (key != NULL)
		assert_true(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
		    NULL));
	assert_int_equal(fclose(fp), 0);
	/* ra/ refuses private keys that others may read. */
	assert_int_equal(chmod(path, key != NULL ? 0600 : 0644), 0);
}

/* The whole text file, NUL-terminated. */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/*
 * Write DIR/<name> as the generated scepgate.cfg with each edits[2i]
 * replaced by edits[2i + 1] (every one must occur), and open an RA on
 * it. The database and the keys are the instance's own.
 */
static void
variant_open(struct fx *fx, const char *name, const char *const *edits,
    size_t nedits, struct variant *v)
{
	struct sg_err	 err = { 0 };
	char		 path[256], *text, *p, *out;
	size_t		 i, flen, tlen;
	enum sg_rc	 rc;
	FILE		*fp;

	path_in(fx, "scepgate.cfg", path, sizeof(path));
	text = slurp(path);
	for (i = 0; i + 1 < nedits; i += 2) {
		p = strstr(text, edits[i]);
		if (p == NULL)
			fail_msg("scepgate.cfg has no \"%s\" to edit", edits[i]);
		flen = strlen(edits[i]);
		tlen = strlen(edits[i + 1]);
		out = malloc(strlen(text) - flen + tlen + 1);
		assert_non_null(out);
		memcpy(out, text, (size_t)(p - text));
		memcpy(out + (p - text), edits[i + 1], tlen);
		memcpy(out + (p - text) + tlen, p + flen, strlen(p + flen) + 1);
		free(text);
		text = out;
	}
	path_in(fx, name, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
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

static void
variant_close(struct variant *v)
{
	ra_close(v->ra);
	free(v->conf);
	memset(v, 0, sizeof(*v));
}

/* A certificate for "key": self-signed if "issuer" is NULL. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    long serial, const char *ku, bool ca)
{
	X509		*x;
	X509_NAME	*n;
	X509_EXTENSION	*e;
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
	if (ku != NULL) {
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, ku);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	if (ca) {
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
		    "critical,CA:TRUE");
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha256()) > 0);
	return x;
}

static void
new_transid(struct fx *fx, const char *tag, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%ld", tag, ++fx->seq, (long)getpid());
}

/* Build a pkiMessage; "rq" names its signer; no recipients: ra.pem. */
static void
build(struct fx *fx, struct p7_req *rq, uint8_t **der, size_t *len)
{
	STACK_OF(X509)	*rcpt = NULL;
	struct sg_err	 err = { 0 };
	enum sg_rc	 rc;

	assert_non_null(rq->signer);
	assert_non_null(rq->signer_key);
	if (rq->recipients == NULL) {
		rcpt = sk_X509_new_null();
		assert_non_null(rcpt);
		assert_true(sk_X509_push(rcpt, fx->ra_cert));
		rq->recipients = rcpt;
	}
	rc = p7_req_build(rq, der, len, &err);
	if (rc != SG_OK)
		fail_msg("p7_req_build: %s: %s", sg_strerror(rc), err.msg);
	if (rcpt != NULL) {
		sk_X509_free(rcpt);
		rq->recipients = NULL;
	}
}

/* ra_pkiop that must answer with a pkiMessage; the DER is returned. */
static void
pkiop_raw(struct ra *ra, const char *uri, const uint8_t *der, size_t len,
    struct ra_reply *r)
{
	struct sg_err	err = { 0 };
	enum sg_rc	rc;

	memset(r, 0, sizeof(*r));
	rc = ra_pkiop(ra, uri, der, len, PEER, r, &err);
	if (rc != SG_OK)
		fail_msg("ra_pkiop %s: %s: %s", uri, sg_strerror(rc), err.msg);
	assert_non_null(r->body);
	assert_non_null(r->ctype);
	assert_string_equal(r->ctype, CTYPE_PKI);
}

/* Read a CertRep as the holder of my_cert/my_key, signed by "ra_cert". */
static struct p7_certrep *
read_rep(const struct ra_reply *r, X509 *ra_cert, X509 *my_cert,
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

/* Send the built "rq" to ra/uri and read the answer as its signer. */
static struct p7_certrep *
send_rq(struct fx *fx, struct ra *ra, const char *uri, struct p7_req *rq)
{
	struct ra_reply		 r;
	struct p7_certrep	*rep;
	uint8_t			*der = NULL;
	size_t			 len = 0;

	build(fx, rq, &der, &len);
	pkiop_raw(ra, uri, der, len, &r);
	rep = read_rep(&r, fx->ra_cert, rq->signer, rq->signer_key);
	assert_string_equal(rep->transid, rq->transid);
	ra_reply_free(&r);
	free(der);
	return rep;
}

/*
 * A PKCSReq (or RenewalReq) for "csrkey" signed by signer/skey, with
 * "code" (NULL: none) of string type "chal" (0: printable).
 */
static struct p7_certrep *
request(struct fx *fx, struct ra *ra, const char *uri, int type,
    const char *transid, EVP_PKEY *csrkey, const char *code, int chal,
    X509 *signer, EVP_PKEY *skey)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*csr = NULL;
	size_t			 csrlen = 0;

	sgt_make_csr(csrkey, transid, code, chal, &csr, &csrlen);
	rq.type = type;
	rq.transid = transid;
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = signer;
	rq.signer_key = skey;
	rep = send_rq(fx, ra, uri, &rq);
	free(csr);
	return rep;
}

/* A PKCSReq by client "who" (self-signed signer) on the main RA. */
static struct p7_certrep *
enroll(struct fx *fx, const char *uri, const char *transid, int who,
    const char *code)
{
	return request(fx, fx->ra, uri, P7_TYPE_PKCSREQ, transid, fx->key[who],
	    code, 0, fx->cert[who], fx->key[who]);
}

static void
expect_status(const struct p7_certrep *rep, int status, int failinfo,
    const char *what)
{
	if (rep->status != status || rep->failinfo != failinfo)
		fail_msg("%s: status %d failinfo %d (\"%s\"), expected %d/%d",
		    what, rep->status, rep->failinfo, rep->failtext, status,
		    failinfo);
}

/* FAILURE with any failInfo, and no certificates. */
static void
expect_failure(const struct p7_certrep *rep, const char *what)
{
	if (rep->status != P7_STATUS_FAILURE)
		fail_msg("%s: status %d, expected FAILURE", what, rep->status);
	assert_int_not_equal(rep->failinfo, SG_FAIL_NONE);
	assert_null(rep->certs);
}

/* SUCCESS: a certificate from the CA for "key", and "ncerts" in all. */
static X509 *
expect_issued(const struct fx *fx, const struct p7_certrep *rep,
    EVP_PKEY *key, int ncerts, const char *what)
{
	X509	*x;

	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, what);
	if (sk_X509_num(rep->certs) != ncerts)
		fail_msg("%s: %d certificates, expected %d", what,
		    sk_X509_num(rep->certs), ncerts);
	x = sk_X509_value(rep->certs, 0);
	if (EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1)
		fail_msg("%s: the first certificate is not for the CSR key",
		    what);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(fx->ca_cert)), 1);
	if (ncerts > 1)
		assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 1),
		    fx->ca_cert), 0);
	return x;
}

static void
add_endpoint(struct ra *ra, struct ra_endpoint *ep)
{
	struct sg_err	err = { 0 };
	enum sg_rc	rc;

	if (ep->uri[0] == '\0')
		snprintf(ep->uri, sizeof(ep->uri), "%s", ep->name);
	rc = ra_endpoint_add(ra, ep, &err);
	if (rc != SG_OK)
		fail_msg("ra_endpoint_add %s: %s", ep->name, err.msg);
}

/* A device endpoint with a renewal window and one account. */
static void
add_simple(struct fx *fx, const char *name, int renewal_days, int term,
    bool manual, enum ra_getcert_fmt gfmt)
{
	struct ra_endpoint	ep = { 0 };
	struct ra_account	acct = { 0 };
	struct sg_err		err = { 0 };
	char			code[RA_CODE_MAX + 1];

	snprintf(ep.name, sizeof(ep.name), "%s", name);
	ep.type = RA_EP_DEVICE;
	ep.getcert_fmt = gfmt;
	ep.renewal_days = renewal_days;
	add_endpoint(fx->ra, &ep);
	snprintf(acct.endpoint, sizeof(acct.endpoint), "%s", name);
	snprintf(acct.name, sizeof(acct.name), "%s-acct", name);
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = term;
	acct.manual = manual;
	if (ra_account_add(fx->ra, &acct, CODE, code, &err) != SG_OK)
		fail_msg("ra_account_add %s: %s", name, err.msg);
}

/* GetCert / GetCRL messageData: an IssuerAndSerialNumber. */
static void
ias_der(const X509_NAME *issuer, const ASN1_INTEGER *serial, uint8_t **der,
    size_t *len)
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

/* GetCert or GetCRL for certificate "x" on "uri", as client "who". */
static struct p7_certrep *
by_ias(struct fx *fx, const char *uri, int type, const X509 *x, int who)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*data = NULL;
	size_t			 dlen = 0;
	char			 tid[64];

	ias_der(X509_get_issuer_name(x), X509_get0_serialNumber(x), &data,
	    &dlen);
	new_transid(fx, type == P7_TYPE_GETCRL ? "getcrl" : "getcert", tid,
	    sizeof(tid));
	rq.type = type;
	rq.transid = tid;
	rq.data = data;
	rq.data_len = dlen;
	rq.signer = fx->cert[who];
	rq.signer_key = fx->key[who];
	rep = send_rq(fx, fx->ra, uri, &rq);
	free(data);
	return rep;
}

/*
 * CertPoll (IssuerAndSubject) for "transid" with an explicit nonce,
 * signed by signer/skey as the request was.
 */
static struct p7_certrep *
certpoll_as(struct fx *fx, const char *uri, const char *transid,
    X509 *signer, EVP_PKEY *skey, const uint8_t *nonce, size_t nlen)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	X509_NAME		*names[2];
	unsigned char		*a = NULL, *b = NULL;
	uint8_t			*data;
	int			 na, nb;
	size_t			 body, hdr = 4;

	names[0] = X509_get_subject_name(fx->ca_cert);
	names[1] = X509_get_subject_name(signer);
	na = i2d_X509_NAME(names[0], &a);
	nb = i2d_X509_NAME(names[1], &b);
	assert_true(na > 0 && nb > 0);
	body = (size_t)na + (size_t)nb;
	assert_true(body < 65536);
	data = malloc(hdr + body);
	assert_non_null(data);
	data[0] = 0x30;			/* SEQUENCE, long form, 2 bytes */
	data[1] = 0x82;
	data[2] = (uint8_t)(body >> 8);
	data[3] = (uint8_t)body;
	memcpy(data + hdr, a, (size_t)na);
	memcpy(data + hdr + na, b, (size_t)nb);
	OPENSSL_free(a);
	OPENSSL_free(b);
	rq.type = P7_TYPE_CERTPOLL;
	rq.transid = transid;
	rq.sender_nonce = nonce;
	rq.sender_nonce_len = nlen;
	rq.data = data;
	rq.data_len = hdr + body;
	rq.signer = signer;
	rq.signer_key = skey;
	rep = send_rq(fx, fx->ra, uri, &rq);
	free(data);
	return rep;
}

/* CertPoll by client "who" (its self-signed certificate). */
static struct p7_certrep *
certpoll(struct fx *fx, const char *uri, const char *transid, int who,
    const uint8_t *nonce, size_t nlen)
{
	return certpoll_as(fx, uri, transid, fx->cert[who], fx->key[who],
	    nonce, nlen);
}

/* Does GetCACaps of ra/uri hold the whole line "cap"? */
static bool
has_cap(struct ra *ra, const char *uri, const char *cap)
{
	struct ra_reply	 r = { 0 };
	struct sg_err	 err = { 0 };
	char		*text, line[64];
	bool		 found;

	assert_int_equal(ra_getcacaps(ra, uri, &r, &err), SG_OK);
	text = calloc(1, r.len + 2);
	assert_non_null(text);
	text[0] = '\n';
	memcpy(text + 1, r.body, r.len);
	snprintf(line, sizeof(line), "\n%s\n", cap);
	found = strstr(text, line) != NULL;
	free(text);
	ra_reply_free(&r);
	return found;
}

static void
cert_info(struct fx *fx, const X509 *x, struct ra_cert *info)
{
	struct sg_err	err = { 0 };
	char		serial[80];

	sgt_serial_hex(x, serial, sizeof(serial));
	if (ra_cert_get(fx->ra, serial, info, NULL, &err) != SG_OK)
		fail_msg("ra_cert_get %s: %s", serial, err.msg);
}

/* The request of "transid" in ra_request_list(status); false if none. */
static bool
find_request(struct fx *fx, int status, const char *transid,
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

static int
group_setup(void **state)
{
	struct ra_account	 acct = { 0 };
	struct ra_endpoint	 ep = { 0 };
	struct sg_err		 err = { 0 };
	struct fx		*fx;
	char			 code[RA_CODE_MAX + 1], cn[32];
	int			 i;

	/* Refused requests log a WARN line each; keep ctest output short. */
	sg_log_init(SG_LOG_ERR, false, "test_ra_enroll");
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	sgt_instance("test_ra_enroll", fx->dir, sizeof(fx->dir), &fx->conf,
	    NULL);
	assert_true(fx->conf->allow_des && fx->conf->allow_sha1);
	fx->ra = sgt_ra_open(fx->conf);
	fx->ra_cert = read_cert(fx, "ra.pem");
	fx->ra_key = read_key(fx, "ra.key");
	fx->ca_cert = read_cert(fx, "ca.pem");
	fx->ca_key = read_key(fx, "ca.key");
	for (i = 0; i < NKEYS; i++) {
		fx->key[i] = EVP_RSA_gen(2048);
		assert_non_null(fx->key[i]);
		snprintf(cn, sizeof(cn), "enroll client %d", i);
		fx->cert[i] = make_cert(fx->key[i], cn, NULL, NULL, 1, NULL,
		    false);
	}
	fx->ec_key = EVP_EC_gen("P-256");
	assert_non_null(fx->ec_key);
	fx->extra_key = EVP_RSA_gen(2048);
	assert_non_null(fx->extra_key);
	/* The demo account gets a known code too. */
	snprintf(acct.endpoint, sizeof(acct.endpoint), "demo");
	snprintf(acct.name, sizeof(acct.name), "enroll-tests");
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = 90;
	assert_int_equal(ra_account_add(fx->ra, &acct, CODE, code, &err),
	    SG_OK);
	/* Another endpoint, for certificates that are not demo's. */
	snprintf(ep.name, sizeof(ep.name), "elsewhere");
	ep.type = RA_EP_DEVICE;
	ep.renewal_days = 0;
	add_endpoint(fx->ra, &ep);
	memset(&acct, 0, sizeof(acct));
	snprintf(acct.endpoint, sizeof(acct.endpoint), "elsewhere");
	snprintf(acct.name, sizeof(acct.name), "elsewhere-acct");
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = 30;
	assert_int_equal(ra_account_add(fx->ra, &acct, OTHER_CODE, code,
	    &err), SG_OK);
	*state = fx;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx	*fx = *state;
	int		 i;

	if (fx == NULL)
		return 0;
	ra_close(fx->ra);
	for (i = 0; i < NKEYS; i++) {
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
	free(fx);
	return 0;
}

/* ---- RenewalReq (RFC 8894 2.4, 3.3.1.2) ---- */

/* Enroll client "who" on "uri" and return its certificate (owned). */
static X509 *
issued_cert(struct fx *fx, const char *uri, int who, const char *code)
{
	struct p7_certrep	*rep;
	X509			*x;
	char			 tid[64];

	new_transid(fx, "pre", tid, sizeof(tid));
	rep = enroll(fx, uri, tid, who, code);
	x = expect_issued(fx, rep, fx->key[who], 2, "enroll before renewal");
	assert_true(X509_up_ref(x));
	p7_certrep_free(rep);
	return x;
}

/* A RenewalReq for a CSR of "newkey" (no challenge), signed by old. */
static struct p7_certrep *
renew(struct fx *fx, const char *uri, X509 *old, EVP_PKEY *oldkey,
    EVP_PKEY *newkey)
{
	char	tid[64];

	new_transid(fx, "renew", tid, sizeof(tid));
	return request(fx, fx->ra, uri, P7_TYPE_RENEWALREQ, tid, newkey, NULL,
	    0, old, oldkey);
}

static void
test_renewal(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_cert		 info, *list = NULL;
	struct sg_err		 err = { 0 };
	X509			*old, *x, *forged;
	char			 s_old[80], s_new[80];
	size_t			 n = 0, i;
	bool			 listed = false;

	add_simple(fx, "renew", 0, 30, false, RA_GETCERT_FULL_CHAIN);
	add_simple(fx, "renew-early", 1, 30, false, RA_GETCERT_FULL_CHAIN);
	add_simple(fx, "renew-window", 30, 20, false, RA_GETCERT_FULL_CHAIN);
	assert_true(has_cap(fx->ra, "renew", "Renewal"));

	/* Signed with the issued certificate: a new one for the new key. */
	old = issued_cert(fx, "renew", 0, CODE);
	rep = renew(fx, "renew", old, fx->key[0], fx->key[1]);
	x = expect_issued(fx, rep, fx->key[1], 2, "renewal");
	sgt_serial_hex(old, s_old, sizeof(s_old));
	sgt_serial_hex(x, s_new, sizeof(s_new));
	assert_string_not_equal(s_old, s_new);
	cert_info(fx, x, &info);
	assert_string_equal(info.account, "renew-acct");
	assert_string_equal(info.endpoint, "renew");
	assert_int_equal(info.status, RA_CERT_VALID);
	/* The account's term carries over. */
	assert_true(info.not_after - info.not_before >= 30 * 86400 - 600 &&
	    info.not_after - info.not_before <= 30 * 86400 + 600);
	p7_certrep_free(rep);
	/* The old one is superseded, in ra_cert_get and ra_cert_list. */
	cert_info(fx, old, &info);
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
	expect_failure(rep, "renewal with a superseded certificate");
	p7_certrep_free(rep);
	X509_free(old);

	/* A revoked one neither. */
	old = issued_cert(fx, "renew", 2, CODE);
	sgt_serial_hex(old, s_old, sizeof(s_old));
	assert_int_equal(ra_cert_revoke(fx->ra, s_old, 0, &err), SG_OK);
	rep = renew(fx, "renew", old, fx->key[2], fx->key[3]);
	expect_failure(rep, "renewal with a revoked certificate");
	p7_certrep_free(rep);
	X509_free(old);

	/* A self-signed certificate was not issued here: badCertId. */
	rep = renew(fx, "renew", fx->cert[3], fx->key[3], fx->key[4]);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "renewal with a self-signed certificate");
	assert_null(rep->certs);
	p7_certrep_free(rep);

	/* Nor one that copies the issuer and serial of an issued one. */
	old = issued_cert(fx, "renew", 3, CODE);
	forged = X509_dup(old);
	assert_non_null(forged);
	assert_true(X509_set_pubkey(forged, fx->key[4]));
	assert_true(X509_sign(forged, fx->key[4], EVP_sha256()) > 0);
	rep = renew(fx, "renew", forged, fx->key[4], fx->key[4]);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "renewal with a forged copy of an issued certificate");
	p7_certrep_free(rep);
	X509_free(forged);
	cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);

	/* Nor the RA certificate, issued by the CA but not to a client. */
	rep = renew(fx, "renew", fx->ra_cert, fx->ra_key, fx->key[4]);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "renewal with the RA certificate");
	p7_certrep_free(rep);

	/* A certificate of another endpoint. */
	old = issued_cert(fx, "elsewhere", 3, OTHER_CODE);
	rep = renew(fx, "renew", old, fx->key[3], fx->key[4]);
	expect_failure(rep, "renewal with another endpoint's certificate");
	p7_certrep_free(rep);
	cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);

	/* Term 30 days, window 1 day: too early. */
	old = issued_cert(fx, "renew-early", 0, CODE);
	rep = renew(fx, "renew-early", old, fx->key[0], fx->key[1]);
	expect_failure(rep, "renewal outside the window");
	p7_certrep_free(rep);
	cert_info(fx, old, &info);
	assert_int_equal(info.status, RA_CERT_VALID);
	X509_free(old);

	/* Term 20 days, window 30 days: inside. */
	old = issued_cert(fx, "renew-window", 1, CODE);
	rep = renew(fx, "renew-window", old, fx->key[1], fx->key[2]);
	expect_issued(fx, rep, fx->key[2], 2, "renewal inside the window");
	p7_certrep_free(rep);
	X509_free(old);
}

/* ---- manual approval: PENDING, CertPoll (RFC 8894 3.3.3) ---- */

/* The senderNonces of all replies seen so far. */
struct nonces {
	uint8_t	v[16][P7_NONCE_MAX];
	size_t	len[16];
	size_t	n;
};

/*
 * The reply echoes our senderNonce as its recipientNonce and brings a
 * fresh senderNonce of its own (RFC 8894 3.2.1.5): not ours, and not
 * one of an earlier reply.
 */
static void
check_nonces(struct nonces *seen, const struct p7_certrep *rep,
    const uint8_t *sent, size_t sentlen)
{
	size_t	i;

	assert_int_equal(rep->recipient_nonce_len, sentlen);
	assert_memory_equal(rep->recipient_nonce, sent, sentlen);
	assert_true(rep->sender_nonce_len >= 8);
	assert_false(rep->sender_nonce_len == sentlen &&
	    memcmp(rep->sender_nonce, sent, sentlen) == 0);
	for (i = 0; i < seen->n; i++)
		if (seen->len[i] == rep->sender_nonce_len &&
		    memcmp(seen->v[i], rep->sender_nonce, seen->len[i]) == 0)
			fail_msg("senderNonce of reply %zu repeats reply %zu",
			    seen->n, i);
	assert_true(seen->n < 16);
	memcpy(seen->v[seen->n], rep->sender_nonce, rep->sender_nonce_len);
	seen->len[seen->n++] = rep->sender_nonce_len;
}

static void
test_manual(void **state)
{
	struct fx		*fx = *state;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	struct ra_request	 req;
	struct ra_reply		 r;
	struct ra_cert		*certs = NULL;
	struct sg_err		 err = { 0 };
	struct nonces		 seen = { 0 };
	uint8_t			*csr = NULL, *der = NULL, nonce[8][16];
	size_t			 csrlen = 0, len = 0, n = 0, i;
	char			 tid[64], tid2[64], serial[80], s2[80];
	int64_t			 id, id2;

	add_simple(fx, "approval", 30, 30, true, RA_GETCERT_FULL_CHAIN);
	for (i = 0; i < 8; i++)
		memset(nonce[i], 0xa0 + (int)i, sizeof(nonce[i]));

	/* PKCSReq: PENDING, no content. */
	new_transid(fx, "manual", tid, sizeof(tid));
	sgt_make_csr(fx->key[0], "manual", CODE, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.sender_nonce = nonce[0];
	rq.sender_nonce_len = sizeof(nonce[0]);
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = fx->cert[0];
	rq.signer_key = fx->key[0];
	build(fx, &rq, &der, &len);
	pkiop_raw(fx->ra, "approval", der, len, &r);
	rep = read_rep(&r, fx->ra_cert, fx->cert[0], fx->key[0]);
	ra_reply_free(&r);
	expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "manual PKCSReq");
	assert_null(rep->certs);
	assert_null(rep->crl);
	check_nonces(&seen, rep, nonce[0], sizeof(nonce[0]));
	p7_certrep_free(rep);

	/* CertPoll: still PENDING, a fresh senderNonce each time. */
	for (i = 1; i <= 2; i++) {
		rep = certpoll(fx, "approval", tid, 0, nonce[i],
		    sizeof(nonce[i]));
		expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
		    "CertPoll before approval");
		assert_null(rep->certs);
		check_nonces(&seen, rep, nonce[i], sizeof(nonce[i]));
		p7_certrep_free(rep);
	}

	/* The request waits in the list. */
	if (!find_request(fx, RA_REQ_PENDING, tid, &req))
		fail_msg("ra_request_list(pending) lacks %s", tid);
	assert_int_equal(req.status, RA_REQ_PENDING);
	assert_string_equal(req.endpoint, "approval");
	assert_string_equal(req.account, "approval-acct");
	assert_string_equal(req.type, "PKCSReq");
	id = req.id;
	assert_int_equal(ra_cert_list(fx->ra, "approval", -1, &certs, &n,
	    &err), SG_OK);
	free(certs);
	assert_int_equal(n, 0);		/* nothing issued yet */

	/* Approved: the next CertPoll gets the certificate. */
	if (ra_request_approve(fx->ra, id, &err) != SG_OK)
		fail_msg("ra_request_approve: %s", err.msg);
	assert_false(find_request(fx, RA_REQ_PENDING, tid, &req));
	assert_true(find_request(fx, RA_REQ_ISSUED, tid, &req));
	rep = certpoll(fx, "approval", tid, 0, nonce[3], sizeof(nonce[3]));
	expect_issued(fx, rep, fx->key[0], 2, "CertPoll after approval");
	check_nonces(&seen, rep, nonce[3], sizeof(nonce[3]));
	sgt_serial_hex(sk_X509_value(rep->certs, 0), serial, sizeof(serial));
	assert_string_equal(req.serial, serial);
	p7_certrep_free(rep);

	/* The PKCSReq re-sent byte for byte: the same certificate. */
	pkiop_raw(fx->ra, "approval", der, len, &r);
	rep = read_rep(&r, fx->ra_cert, fx->cert[0], fx->key[0]);
	ra_reply_free(&r);
	expect_issued(fx, rep, fx->key[0], 2, "re-sent PKCSReq");
	sgt_serial_hex(sk_X509_value(rep->certs, 0), s2, sizeof(s2));
	assert_string_equal(serial, s2);
	check_nonces(&seen, rep, nonce[0], sizeof(nonce[0]));
	p7_certrep_free(rep);
	free(der);
	free(csr);

	/* Approving an issued request again is an error. */
	assert_int_not_equal(ra_request_approve(fx->ra, id, &err), SG_OK);
	assert_int_not_equal(ra_request_reject(fx->ra, id, "late", &err),
	    SG_OK);
	assert_int_not_equal(ra_request_approve(fx->ra, 987654321, &err),
	    SG_OK);
	/* ... and leaves the transaction as it was. */
	assert_true(find_request(fx, RA_REQ_ISSUED, tid, &req));
	assert_string_equal(req.serial, serial);
	rep = certpoll(fx, "approval", tid, 0, nonce[5], sizeof(nonce[5]));
	expect_issued(fx, rep, fx->key[0], 2, "CertPoll after a re-approve");
	sgt_serial_hex(sk_X509_value(rep->certs, 0), s2, sizeof(s2));
	assert_string_equal(serial, s2);
	check_nonces(&seen, rep, nonce[5], sizeof(nonce[5]));
	p7_certrep_free(rep);

	/* Another one, rejected: CertPoll gets FAILURE badRequest. */
	new_transid(fx, "manual-rej", tid2, sizeof(tid2));
	rep = enroll(fx, "approval", tid2, 1, CODE);
	expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "second PKCSReq");
	p7_certrep_free(rep);
	assert_true(find_request(fx, RA_REQ_PENDING, tid2, &req));
	id2 = req.id;
	assert_int_not_equal(id, id2);
	assert_int_equal(ra_request_reject(fx->ra, id2, "test", &err), SG_OK);
	assert_true(find_request(fx, RA_REQ_REJECTED, tid2, &req));
	rep = certpoll(fx, "approval", tid2, 1, nonce[4], sizeof(nonce[4]));
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "CertPoll after reject");
	assert_null(rep->certs);
	p7_certrep_free(rep);
	assert_int_not_equal(ra_request_approve(fx->ra, id2, &err), SG_OK);
	/* Still only the approved certificate on this endpoint. */
	assert_int_equal(ra_cert_list(fx->ra, "approval", -1, &certs, &n,
	    &err), SG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(certs[0].serial, serial);
	free(certs);
}

/*
 * A RenewalReq on an account with manual approval waits like a PKCSReq.
 * Once approved, (a) the old certificate is superseded, as after an
 * immediate renewal, and (b) the client collects the new one with
 * CertPoll signed by the same certificate as its RenewalReq, the old
 * one (strongSwan pki --scep --cert/--key polls that way).
 */
static void
test_renewal_manual(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_request	 req;
	struct ra_cert		 info;
	struct sg_err		 err = { 0 };
	X509			*old;
	uint8_t			 nonce[16];
	char			 tid[64], rtid[64], s_old[80];
	bool			 superseded, delivered;
	int			 st, fi;

	memset(nonce, 0x5a, sizeof(nonce));
	add_simple(fx, "renew-manual", 0, 30, true, RA_GETCERT_FULL_CHAIN);
	new_transid(fx, "rm-enroll", tid, sizeof(tid));
	rep = enroll(fx, "renew-manual", tid, 0, CODE);
	expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "manual PKCSReq");
	p7_certrep_free(rep);
	assert_true(find_request(fx, RA_REQ_PENDING, tid, &req));
	assert_int_equal(ra_request_approve(fx->ra, req.id, &err), SG_OK);
	rep = certpoll(fx, "renew-manual", tid, 0, nonce, sizeof(nonce));
	old = expect_issued(fx, rep, fx->key[0], 2, "first certificate");
	assert_true(X509_up_ref(old));
	p7_certrep_free(rep);
	sgt_serial_hex(old, s_old, sizeof(s_old));

	/* The renewal waits for approval too. */
	new_transid(fx, "rm-renew", rtid, sizeof(rtid));
	rep = request(fx, fx->ra, "renew-manual", P7_TYPE_RENEWALREQ, rtid,
	    fx->key[1], NULL, 0, old, fx->key[0]);
	expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "manual renewal");
	p7_certrep_free(rep);
	rep = certpoll_as(fx, "renew-manual", rtid, old, fx->key[0], nonce,
	    sizeof(nonce));
	expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE,
	    "CertPoll of a pending renewal");
	p7_certrep_free(rep);
	assert_true(find_request(fx, RA_REQ_PENDING, rtid, &req));
	assert_string_equal(req.type, "RenewalReq");
	assert_string_equal(req.account, "renew-manual-acct");
	assert_int_equal(ra_request_approve(fx->ra, req.id, &err), SG_OK);

	cert_info(fx, old, &info);
	superseded = info.status == RA_CERT_SUPERSEDED;
	rep = certpoll_as(fx, "renew-manual", rtid, old, fx->key[0], nonce,
	    sizeof(nonce));
	delivered = rep->status == P7_STATUS_SUCCESS;
	st = rep->status;
	fi = rep->failinfo;
	if (delivered)
		expect_issued(fx, rep, fx->key[1], 2, "approved renewal");
	p7_certrep_free(rep);
	X509_free(old);
	if (!superseded || !delivered)
		fail_msg("approved RenewalReq: old certificate %s is %s "
		    "(expected superseded); CertPoll signed with the old "
		    "certificate: status %d failinfo %d (expected SUCCESS)",
		    s_old, ra_cert_status_name(info.status), st, fi);
}

/* ---- GetCert (RFC 8894 3.3.4) and the reply format ---- */

static void
test_getcert(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep;
	X509			*single, *full;

	add_simple(fx, "gc-single", 30, 30, false, RA_GETCERT_SINGLE);
	add_simple(fx, "gc-full", 30, 30, false, RA_GETCERT_FULL_CHAIN);

	/* PKCSReq: one certificate, or the issued one then the CA. */
	rep = enroll(fx, "gc-single", "gc-single-1", 0, CODE);
	single = expect_issued(fx, rep, fx->key[0], 1, "single PKCSReq");
	assert_true(X509_up_ref(single));
	p7_certrep_free(rep);
	rep = enroll(fx, "gc-full", "gc-full-1", 1, CODE);
	full = expect_issued(fx, rep, fx->key[1], 2, "full-chain PKCSReq");
	assert_true(X509_up_ref(full));
	p7_certrep_free(rep);

	/* GetCert of the endpoint's own certificate, in its format. */
	rep = by_ias(fx, "gc-single", P7_TYPE_GETCERT, single, 2);
	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCert single");
	assert_int_equal(sk_X509_num(rep->certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 0), single), 0);
	p7_certrep_free(rep);
	rep = by_ias(fx, "gc-full", P7_TYPE_GETCERT, full, 2);
	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCert full");
	assert_int_equal(sk_X509_num(rep->certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 0), full), 0);
	assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 1), fx->ca_cert),
	    0);
	p7_certrep_free(rep);

	/* Another endpoint's certificate: badCertId, both ways. */
	rep = by_ias(fx, "gc-full", P7_TYPE_GETCERT, single, 2);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "GetCert of another endpoint's certificate");
	assert_null(rep->certs);
	p7_certrep_free(rep);
	rep = by_ias(fx, "gc-single", P7_TYPE_GETCERT, full, 2);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "GetCert of another endpoint's certificate");
	p7_certrep_free(rep);
	X509_free(single);
	X509_free(full);
}

/*
 * GetCert names a certificate by issuer and serial (RFC 8894 3.3.4,
 * RFC 5652 10.2.4): the right serial under another issuer's name is
 * not this CA's certificate.
 */
static void
test_getcert_issuer(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep;
	struct p7_req		 rq = { 0 };
	X509			*x;
	uint8_t			*data = NULL;
	size_t			 dlen = 0;
	int			 st, fi;

	x = issued_cert(fx, "demo", 0, CODE);
	ias_der(X509_get_subject_name(fx->cert[1]), X509_get0_serialNumber(x),
	    &data, &dlen);
	rq.type = P7_TYPE_GETCERT;
	rq.transid = "getcert-foreign-issuer";
	rq.data = data;
	rq.data_len = dlen;
	rq.signer = fx->cert[0];
	rq.signer_key = fx->key[0];
	rep = send_rq(fx, fx->ra, "demo", &rq);
	free(data);
	st = rep->status;
	fi = rep->failinfo;
	/* Freed first: a failure here leaves ASan nothing to report. */
	p7_certrep_free(rep);
	X509_free(x);
	if (st != P7_STATUS_FAILURE || fi != SG_FAIL_BADCERTID)
		fail_msg("GetCert with a foreign issuer name and the serial of "
		    "an issued certificate: status %d failinfo %d, expected "
		    "FAILURE badCertId", st, fi);
}

/* ---- GetCRL (RFC 8894 3.3.5) ---- */

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER	*num;
	long		 v;

	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	v = ASN1_INTEGER_get(num);
	ASN1_INTEGER_free(num);
	return v;
}

/* The reason code of "x" on "crl", -1 if listed without one; -2: absent. */
static int
crl_reason(X509_CRL *crl, const X509 *x)
{
	X509_REVOKED	*rv = NULL;
	ASN1_ENUMERATED	*e;
	int		 reason;

	if (X509_CRL_get0_by_serial(crl, &rv,
	    X509_get0_serialNumber(x)) != 1)
		return -2;
	e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	if (e == NULL)
		return -1;
	reason = (int)ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return reason;
}

/* GetCRL on demo: a CRL signed by the CA. */
static X509_CRL *
get_crl(struct fx *fx, const X509 *x)
{
	struct p7_certrep	*rep;
	X509_CRL		*crl;

	rep = by_ias(fx, "demo", P7_TYPE_GETCRL, x, 0);
	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCRL");
	if (rep->crl == NULL)
		fail_msg("GetCRL SUCCESS without a CRL");
	crl = rep->crl;
	rep->crl = NULL;
	p7_certrep_free(rep);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(fx->ca_cert)),
	    1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(fx->ca_cert)), 0);
	return crl;
}

static void
test_getcrl(void **state)
{
	struct fx	*fx = *state;
	struct sg_err	 err = { 0 };
	X509		*a, *b, *c;
	X509_CRL	*crl;
	char		 serial[80];
	long		 n1;

	a = issued_cert(fx, "demo", 0, CODE);
	b = issued_cert(fx, "demo", 1, CODE);
	c = issued_cert(fx, "demo", 2, CODE);
	sgt_serial_hex(a, serial, sizeof(serial));
	assert_int_equal(ra_cert_revoke(fx->ra, serial, 1 /* keyCompromise */,
	    &err), SG_OK);
	crl = get_crl(fx, a);
	assert_int_equal(crl_reason(crl, a), 1);
	assert_int_equal(crl_reason(crl, b), -2);
	assert_int_equal(crl_reason(crl, c), -2);
	n1 = crl_number(crl);
	X509_CRL_free(crl);

	/* A second revocation: a higher CRL number, both listed. */
	sgt_serial_hex(b, serial, sizeof(serial));
	assert_int_equal(ra_cert_revoke(fx->ra, serial,
	    5 /* cessationOfOperation */, &err), SG_OK);
	crl = get_crl(fx, c);
	assert_int_equal(crl_reason(crl, a), 1);
	assert_int_equal(crl_reason(crl, b), 5);
	assert_int_equal(crl_reason(crl, c), -2);
	if (crl_number(crl) <= n1)
		fail_msg("CRL number %ld after a revocation, was %ld",
		    crl_number(crl), n1);
	X509_CRL_free(crl);
	X509_free(a);
	X509_free(b);
	X509_free(c);
}

/* ---- GetNextCACert (RFC 8894 4.7) ---- */

static void
test_nextca(void **state)
{
	struct fx		*fx = *state;
	static const char *const edits[] = {
		"ca_key = \"ca.key\";",
		"ca_key = \"ca.key\"; next_ca_cert = \"next.pem\";",
	};
	struct variant		 v;
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	const unsigned char	*p;
	CMS_ContentInfo		*cms;
	STACK_OF(X509)		*signers, *certs = NULL;
	X509			*next;
	BIO			*out;
	char			*content;
	long			 clen;

	next = make_cert(fx->extra_key, "scepgate next root CA", NULL, NULL,
	    4242, "critical,keyCertSign,cRLSign", true);
	write_pem(fx, "next.pem", next, NULL);
	variant_open(fx, "next.cfg", edits, 2, &v);

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
	assert_true(has_cap(v.ra, "demo", "GetNextCACert"));
	assert_false(has_cap(fx->ra, "demo", "GetNextCACert"));
	memset(&r, 0, sizeof(r));
	assert_int_equal(ra_getnextcacert(fx->ra, "demo", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
	assert_int_equal(ra_getnextcacert(v.ra, "no-such-endpoint", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
	variant_close(&v);
	X509_free(next);
}

/* ---- algorithms (RFC 8894 3.5.2, crypto.allow_*) ---- */

static const struct alg_case {
	const char	*name;
	int		 cipher;	/* 0: AES-128-CBC */
	int		 digest;	/* 0: SHA-256 */
	bool		 legacy;	/* refused with allow_des/sha1 false */
} alg_cases[] = {
	{ "AES-128", NID_aes_128_cbc, 0, false },
	{ "AES-256", NID_aes_256_cbc, 0, false },
	{ "DES3", NID_des_ede3_cbc, 0, true },
	{ "DES", NID_des_cbc, 0, true },
	{ "SHA-1", 0, NID_sha1, true },
	{ "SHA-256", 0, NID_sha256, false },
	{ "SHA-512", 0, NID_sha512, false },
};

static struct p7_certrep *
alg_request(struct fx *fx, struct ra *ra, const struct alg_case *c)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*csr = NULL;
	size_t			 csrlen = 0;
	char			 tid[64];

	new_transid(fx, "alg", tid, sizeof(tid));
	sgt_make_csr(fx->key[3], c->name, CODE, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	rq.cipher_nid = c->cipher;
	rq.digest_nid = c->digest;
	rq.signer = fx->cert[3];
	rq.signer_key = fx->key[3];
	rep = send_rq(fx, ra, "demo", &rq);
	free(csr);
	return rep;
}

static void
test_algorithms(void **state)
{
	struct fx		*fx = *state;
	static const char *const edits[] = {
		"allow_des = true; allow_sha1 = true;",
		"allow_des = false; allow_sha1 = false;",
	};
	const struct alg_case	*c;
	struct p7_certrep	*rep;
	struct variant		 v;
	size_t			 i;

	for (i = 0; i < sizeof(alg_cases) / sizeof(alg_cases[0]); i++) {
		c = &alg_cases[i];
		rep = alg_request(fx, fx->ra, c);
		expect_issued(fx, rep, fx->key[3], 2, c->name);
		if (rep->cipher_nid != (c->cipher ? c->cipher :
		    NID_aes_128_cbc))
			fail_msg("%s: reply encrypted with %s", c->name,
			    OBJ_nid2sn(rep->cipher_nid));
		p7_certrep_free(rep);
	}
	assert_true(has_cap(fx->ra, "demo", "DES3"));
	assert_true(has_cap(fx->ra, "demo", "SHA-1"));

	variant_open(fx, "strict.cfg", edits, 2, &v);
	assert_false(v.conf->allow_des);
	assert_false(v.conf->allow_sha1);
	for (i = 0; i < sizeof(alg_cases) / sizeof(alg_cases[0]); i++) {
		c = &alg_cases[i];
		rep = alg_request(fx, v.ra, c);
		if (c->legacy) {
			expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADALG,
			    c->name);
			assert_null(rep->certs);
		} else
			expect_issued(fx, rep, fx->key[3], 2, c->name);
		p7_certrep_free(rep);
	}
	assert_false(has_cap(v.ra, "demo", "DES3"));
	assert_false(has_cap(v.ra, "demo", "SHA-1"));
	assert_true(has_cap(v.ra, "demo", "AES"));
	assert_true(has_cap(v.ra, "demo", "SHA-256"));
	variant_close(&v);
}

/* ---- separate signing and encryption RA certificates ---- */

static void
test_two_ra(void **state)
{
	struct fx		*fx = *state;
	static const char *const edits[] = {
		"key = \"ra.key\"; } );",
		"key = \"ra.key\"; }, { id = \"ra2\"; cert = \"ra2.pem\"; "
		    "key = \"ra2.key\"; } );",
	};
	struct variant		 v;
	struct ra_endpoint	 ep = { 0 };
	struct ra_account	 acct = { 0 };
	struct ra_reply		 r = { 0 };
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep = NULL;
	struct sg_err		 err = { 0 };
	STACK_OF(X509)		*certs = NULL, *rcpt;
	X509			*sig;
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 code[RA_CODE_MAX + 1];
	enum sg_rc		 rc;

	/* ra2 signs (digitalSignature only); ra1 (ra.pem) decrypts. */
	sig = make_cert(fx->extra_key, "scepgate test signing RA",
	    fx->ca_cert, fx->ca_key, 77, "critical,digitalSignature", false);
	write_pem(fx, "ra2.pem", sig, NULL);
	write_pem(fx, "ra2.key", NULL, fx->extra_key);
	variant_open(fx, "two-ra.cfg", edits, 2, &v);
	assert_int_equal(v.conf->nra, 2);

	snprintf(ep.name, sizeof(ep.name), "split");
	ep.type = RA_EP_DEVICE;
	ep.renewal_days = 30;
	snprintf(ep.ra_id, sizeof(ep.ra_id), "ra2");
	snprintf(ep.ra_enc_id, sizeof(ep.ra_enc_id), "ra9");
	snprintf(ep.uri, sizeof(ep.uri), "split");
	assert_int_equal(ra_endpoint_add(v.ra, &ep, &err), SG_ENOTFOUND);
	snprintf(ep.ra_enc_id, sizeof(ep.ra_enc_id), "ra1");
	add_endpoint(v.ra, &ep);
	snprintf(acct.endpoint, sizeof(acct.endpoint), "split");
	snprintf(acct.name, sizeof(acct.name), "split-acct");
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = 30;
	assert_int_equal(ra_account_add(v.ra, &acct, CODE, code, &err),
	    SG_OK);

	/* GetCACert cms-chain: encryption, signing, CA. */
	assert_int_equal(ra_getcacert(v.ra, "split", &r, &err), SG_OK);
	assert_string_equal(r.ctype, "application/x-x509-ca-ra-cert");
	assert_int_equal(p7_certs_parse(r.body, r.len, &certs, &err), SG_OK);
	assert_int_equal(sk_X509_num(certs), 3);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), fx->ra_cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 1), sig), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 2), fx->ca_cert), 0);
	sk_X509_pop_free(certs, X509_free);
	ra_reply_free(&r);

	/* Encrypted to the encryption certificate: SUCCESS ... */
	sgt_make_csr(fx->key[4], "split", CODE, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "split-1";
	rq.data = csr;
	rq.data_len = csrlen;
	rq.signer = fx->cert[4];
	rq.signer_key = fx->key[4];
	build(fx, &rq, &der, &len);		/* to ra.pem */
	pkiop_raw(v.ra, "split", der, len, &r);
	free(der);
	/* ... signed by the signing certificate, not the other one. */
	rc = p7_certrep_parse(r.body, r.len, fx->ra_cert, fx->cert[4],
	    fx->key[4], &rep, &err);
	if (rc == SG_OK)
		fail_msg("CertRep verifies with the encryption certificate");
	rep = read_rep(&r, sig, fx->cert[4], fx->key[4]);
	expect_issued(fx, rep, fx->key[4], 2, "split RA");
	p7_certrep_free(rep);
	ra_reply_free(&r);

	/* Encrypted to the signing certificate: it cannot be opened. */
	rcpt = sk_X509_new_null();
	assert_non_null(rcpt);
	assert_true(sk_X509_push(rcpt, sig));
	rq.transid = "split-2";
	rq.recipients = rcpt;
	build(fx, &rq, &der, &len);
	sk_X509_free(rcpt);
	pkiop_raw(v.ra, "split", der, len, &r);
	free(der);
	rep = read_rep(&r, sig, fx->cert[4], fx->key[4]);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK,
	    "encrypted to the signing certificate");
	p7_certrep_free(rep);
	ra_reply_free(&r);
	free(csr);
	variant_close(&v);
	X509_free(sig);
}

/* ---- CSR policy per endpoint ---- */

static void
test_csr_policy(void **state)
{
	struct fx	*fx = *state;
	static const struct {
		const char	*name;
		const char	*ep;
		bool		 ec;		/* P-256 CSR, else RSA-2048 */
		int		 chal;		/* 0: PrintableString */
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
	uint8_t			 bmp[2 * sizeof(CODE)];
	size_t			 i, j;

	for (i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		memset(&ep, 0, sizeof(ep));
		snprintf(ep.name, sizeof(ep.name), "%s", eps[i].name);
		ep.type = RA_EP_DEVICE;
		ep.renewal_days = 30;
		ep.min_rsa_bits = eps[i].min_rsa;
		ep.key_types = eps[i].keys;
		ep.challenge_types = eps[i].chal;
		add_endpoint(fx->ra, &ep);
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
		assert_int_equal(ra_account_add(fx->ra, &acct, CODE, code,
		    &err), SG_OK);
	}
	/* The code as UCS-2 big-endian, for the BMPString case. */
	for (j = 0; j < strlen(CODE); j++) {
		bmp[2 * j] = 0;
		bmp[2 * j + 1] = (uint8_t)CODE[j];
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct p7_req	 rq = { 0 };
		uint8_t		*csr = NULL;
		size_t		 csrlen = 0;
		X509_REQ	*req;
		unsigned char	*buf = NULL;
		int		 n;

		key = cases[i].ec ? fx->ec_key : fx->key[2];
		new_transid(fx, "policy", tid, sizeof(tid));
		if (cases[i].chal != V_ASN1_BMPSTRING)
			sgt_make_csr(key, tid, CODE, cases[i].chal, &csr, &csrlen);
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
			    bmp, (int)(2 * strlen(CODE))));
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
		rep = send_rq(fx, fx->ra, cases[i].ep, &rq);
		if (cases[i].status == P7_STATUS_SUCCESS)
			expect_issued(fx, rep, key, 2, cases[i].name);
		else {
			expect_status(rep, cases[i].status, cases[i].failinfo,
			    cases[i].name);
			assert_null(rep->certs);
		}
		p7_certrep_free(rep);
		free(csr);
	}
}

/* ---- idempotency and nonces (RFC 8894 3.2.1, 5.2) ---- */

static void
test_idempotency(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep[4];
	struct nonces		 seen = { 0 };
	uint8_t			 nonce[4][16];
	size_t			 i;
	char			 tid[64], s0[80], s1[80];
	static const int	 who[] = { 1, 1, 2, 1 };

	new_transid(fx, "idem", tid, sizeof(tid));
	for (i = 0; i < 4; i++) {
		struct p7_req	 rq = { 0 };
		uint8_t		*csr = NULL;
		size_t		 csrlen = 0;

		memset(nonce[i], 0x30 + (int)i, sizeof(nonce[i]));
		sgt_make_csr(fx->key[who[i]], "idempotent", CODE, 0, &csr,
		    &csrlen);
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid;
		rq.sender_nonce = nonce[i];
		rq.sender_nonce_len = sizeof(nonce[i]);
		rq.data = csr;
		rq.data_len = csrlen;
		rq.signer = fx->cert[who[i]];
		rq.signer_key = fx->key[who[i]];
		rep[i] = send_rq(fx, fx->ra, "demo", &rq);
		free(csr);
		check_nonces(&seen, rep[i], nonce[i], sizeof(nonce[i]));
	}
	/* Same transactionID and key after SUCCESS: the same certificate. */
	expect_issued(fx, rep[0], fx->key[1], 2, "first");
	expect_issued(fx, rep[1], fx->key[1], 2, "again");
	sgt_serial_hex(sk_X509_value(rep[0]->certs, 0), s0, sizeof(s0));
	sgt_serial_hex(sk_X509_value(rep[1]->certs, 0), s1, sizeof(s1));
	assert_string_equal(s0, s1);
	/* Same transactionID, another key: refused, and nothing changes. */
	expect_status(rep[2], P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "another key");
	assert_null(rep[2]->certs);
	expect_issued(fx, rep[3], fx->key[1], 2, "after another key");
	sgt_serial_hex(sk_X509_value(rep[3]->certs, 0), s1, sizeof(s1));
	assert_string_equal(s0, s1);
	for (i = 0; i < 4; i++)
		p7_certrep_free(rep[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renewal),
		cmocka_unit_test(test_manual),
		cmocka_unit_test(test_renewal_manual),
		cmocka_unit_test(test_getcert),
		cmocka_unit_test(test_getcert_issuer),
		cmocka_unit_test(test_getcrl),
		cmocka_unit_test(test_nextca),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_two_ra),
		cmocka_unit_test(test_csr_policy),
		cmocka_unit_test(test_idempotency),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
