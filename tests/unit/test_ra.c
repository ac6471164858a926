/*
 * ra/ unit tests (STYLE.md 7): a throwaway instance from
 * ra_init_instance() (local CA, RA certificate, SQLite store, endpoint
 * "demo"), driven through the public API only. SCEP messages are built
 * with the client side of the codec (p7_req_build) and the replies read
 * back with p7_certrep_parse, as a SCEP client would (RFC 8894 3.3).
 * Tables hold the PKCSReq access checks, the bad inputs and the admin
 * calls; the idempotency, nonce, CertPoll and GetCert cases are short
 * sequences because each step depends on the previous one.
 */
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
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "conf.h"
#include "p7.h"
#include "sg_test.h"
#include "ra.h"
#include "sg.h"

#define NKEYS		3		/* client RSA-2048 keys */
#define KWEAK		NKEYS		/* index of the RSA-1024 key */
#define OTHER_CODE	"OtherEndpointCode0042"
#define CTYPE_PKI	"application/x-pki-message"

struct fx {
	char		 dir[64];
	char		 db[CONF_PATH_MAX];
	struct conf	*conf;
	struct ra	*ra;
	X509		*ra_cert;		/* from DIR/ra.pem */
	X509		*ca_cert;		/* from DIR/ca.pem */
	EVP_PKEY	*key[NKEYS + 1];
	X509		*cert[NKEYS + 1];	/* self-signed, per key */
	char		 code[RA_CODE_MAX + 1];	/* the demo account's */
	unsigned int	 seq;			/* for transactionIDs */
};

/* ---- helpers ---- */

static X509 *
read_cert(const char *dir, const char *name)
{
	char	 path[256];
	FILE	*fp;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

/* A self-signed certificate, as SCEP clients sign requests with. */
static X509 *
selfsign(EVP_PKEY *key, const char *cn)
{
	X509		*x;
	X509_NAME	*n;

	x = X509_new();
	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	n = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, n));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -300));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void
new_transid(struct fx *fx, const char *tag, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%ld", tag, ++fx->seq, (long)getpid());
}

/*
 * Build a pkiMessage signed by client "who". Unset fields of "rq" get
 * the defaults: signer and key of "who", the RA certificate as the
 * only recipient.
 */
static void
build(struct fx *fx, struct p7_req *rq, int who, uint8_t **der, size_t *len)
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

/*
 * Read a CertRep as client "who" reads it (signature checked with the RA
 * certificate only). The caller frees the result.
 */
static struct p7_certrep *
read_certrep(struct fx *fx, const uint8_t *der, size_t len, int who)
{
	struct sg_err		 err = { 0 };
	struct p7_certrep	*rep = NULL;
	enum sg_rc		 rc;

	rc = p7_certrep_parse(der, len, fx->ra_cert, fx->cert[who],
	    fx->key[who], &rep, &err);
	if (rc != SG_OK)
		fail_msg("p7_certrep_parse: %s: %s", sg_strerror(rc), err.msg);
	return rep;
}

/* ra_pkiop with a pkiMessage that must be answered by a CertRep. */
static struct p7_certrep *
exchange(struct fx *fx, const char *uri, const uint8_t *der, size_t len,
    int who)
{
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	struct p7_certrep	*rep;
	enum sg_rc		 rc;

	rc = ra_pkiop(fx->ra, uri, der, len, "192.0.2.1", &r, &err);
	if (rc != SG_OK)
		fail_msg("ra_pkiop: %s: %s", sg_strerror(rc), err.msg);
	assert_non_null(r.body);
	assert_non_null(r.ctype);
	assert_string_equal(r.ctype, CTYPE_PKI);
	rep = read_certrep(fx, r.body, r.len, who);
	ra_reply_free(&r);
	return rep;
}

/* A PKCSReq from client "who" with "code" (NULL: none) to "uri". */
static struct p7_certrep *
enroll(struct fx *fx, const char *uri, const char *transid, int who,
    const char *code)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 cn[64];

	snprintf(cn, sizeof(cn), "client %d", who);
	sgt_make_csr(fx->key[who], cn, code, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = transid;
	rq.data = csr;
	rq.data_len = csrlen;
	build(fx, &rq, who, &der, &len);
	rep = exchange(fx, uri, der, len, who);
	assert_string_equal(rep->transid, transid);
	free(der);
	free(csr);
	return rep;
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

/* The whole file; NULL with *len 0 if it does not exist. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	uint8_t	*buf = NULL;
	size_t	 n = 0, cap = 0, got;

	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		got = fread(buf + n, 1, cap - n, fp);
		if (got == 0)
			break;
		n += got;
	}
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	*len = n;
	return buf;
}

/* Does "needle" occur in the database or its WAL / rollback journal? */
static bool
db_contains(const struct fx *fx, const char *needle)
{
	static const char *const sfx[] = { "", "-wal", "-journal", "-shm" };
	char	 path[CONF_PATH_MAX + 16];
	uint8_t	*buf;
	size_t	 i, len, total = 0;
	bool	 found = false;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", fx->db, sfx[i]);
		buf = slurp(path, &len);
		total += len;
		if (buf != NULL && memmem(buf, len, needle,
		    strlen(needle)) != NULL)
			found = true;
		free(buf);
	}
	assert_true(total > 0);		/* we did read the database */
	return found;
}

static bool
code_chars_ok(const char *code)
{
	return strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(code);
}

static void
add_endpoint(struct fx *fx, const char *name, const char *uri,
    enum ra_cacert_fmt cfmt, enum ra_getcert_fmt gfmt)
{
	struct ra_endpoint	ep = { 0 };
	struct sg_err		err = { 0 };
	enum sg_rc		rc;

	snprintf(ep.name, sizeof(ep.name), "%s", name);
	snprintf(ep.uri, sizeof(ep.uri), "%s", uri);
	ep.type = RA_EP_DEVICE;
	ep.cacert_fmt = cfmt;
	ep.getcert_fmt = gfmt;
	ep.renewal_days = 30;
	rc = ra_endpoint_add(fx->ra, &ep, &err);
	if (rc != SG_OK)
		fail_msg("ra_endpoint_add %s: %s", name, err.msg);
	assert_true(ep.id > 0);
	assert_string_equal(ep.ra_id, "ra1");	/* the default RA */
}

static void
add_account(struct fx *fx, const char *endpoint, const char *name,
    const char *code, char *code_out)
{
	struct ra_account	acct = { 0 };
	struct sg_err		err = { 0 };
	enum sg_rc		rc;

	snprintf(acct.endpoint, sizeof(acct.endpoint), "%s", endpoint);
	snprintf(acct.name, sizeof(acct.name), "%s", name);
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = 30;
	rc = ra_account_add(fx->ra, &acct, code, code_out, &err);
	if (rc != SG_OK)
		fail_msg("ra_account_add %s/%s: %s", endpoint, name, err.msg);
	assert_true(acct.id > 0);
}

static int
group_setup(void **state)
{
	struct fx		*fx;
	char			 code[RA_CODE_MAX + 1];
	int			 i;

	/* Refused requests log a WARN line each; keep ctest output short. */
	sg_log_init(SG_LOG_ERR, false, "test_ra");
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	sgt_instance("test_ra", fx->dir, sizeof(fx->dir), &fx->conf, fx->code);
	assert_true(fx->conf->allow_des);
	/* Many wrong codes come from one address here; test_lockout
	 * checks the lockout with its own RA. */
	fx->conf->lockout_failures = 0;
	snprintf(fx->db, sizeof(fx->db), "%s", fx->conf->database);
	fx->ra = sgt_ra_open(fx->conf);
	fx->ra_cert = read_cert(fx->dir, "ra.pem");
	fx->ca_cert = read_cert(fx->dir, "ca.pem");
	for (i = 0; i <= NKEYS; i++) {
		char cn[32];

		fx->key[i] = EVP_RSA_gen(i == KWEAK ? 1024 : 2048);
		assert_non_null(fx->key[i]);
		snprintf(cn, sizeof(cn), "test client %d", i);
		fx->cert[i] = selfsign(fx->key[i], cn);
	}
	/* A second endpoint, single-certificate replies, one account. */
	add_endpoint(fx, "other", "other", RA_CACERT_CMS_CHAIN,
	    RA_GETCERT_SINGLE);
	add_account(fx, "other", "other-devices", OTHER_CODE, code);
	assert_string_equal(code, OTHER_CODE);
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
	for (i = 0; i <= NKEYS; i++) {
		X509_free(fx->cert[i]);
		EVP_PKEY_free(fx->key[i]);
	}
	X509_free(fx->ra_cert);
	X509_free(fx->ca_cert);
	sgt_rm_tree(fx->dir);
	free(fx->conf);
	free(fx);
	return 0;
}

/* ---- PKCSReq: access checks through ra_pkiop (the real path) ---- */

enum code_kind {
	C_DEMO,		/* the demo account's code */
	C_OTHER,	/* the code of the account on "other" */
	C_WRONG,
	C_NONE,		/* no challengePassword attribute */
	C_EMPTY,
};

enum tamper {
	T_NONE,
	T_BADSIG,	/* one byte of the outer signature flipped */
	T_RCPT,		/* envelope encrypted to another certificate */
};

static const struct pkcs_case {
	const char	*name;
	const char	*uri;
	enum code_kind	 code;
	int		 key;
	int		 cipher;	/* 0: AES-128-CBC */
	int		 digest;	/* 0: SHA-256 */
	enum tamper	 tamper;
	int		 status;
	int		 failinfo;
	int		 ncerts;	/* SUCCESS: certificates in the reply */
} pkcs_cases[] = {
	{ "right code", "demo", C_DEMO, 0, 0, 0, T_NONE,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "right code, AES-256, SHA-512", "demo", C_DEMO, 1,
	    NID_aes_256_cbc, NID_sha512, T_NONE,
	    P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "right code, 3DES, SHA-1", "demo", C_DEMO, 2, NID_des_ede3_cbc,
	    NID_sha1, T_NONE, P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "right code, DES (legacy provider)", "demo", C_DEMO, 0,
	    NID_des_cbc, 0, T_NONE, P7_STATUS_SUCCESS, SG_FAIL_NONE, 2 },
	{ "own code, single-cert endpoint", "other", C_OTHER, 1, 0, 0,
	    T_NONE, P7_STATUS_SUCCESS, SG_FAIL_NONE, 1 },
	{ "wrong code", "demo", C_WRONG, 0, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "no challengePassword", "demo", C_NONE, 0, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "empty challengePassword", "demo", C_EMPTY, 0, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "code of an account on another endpoint", "demo", C_OTHER, 0,
	    0, 0, T_NONE, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "demo code on the other endpoint", "other", C_DEMO, 0, 0, 0,
	    T_NONE, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, 0 },
	{ "RSA-1024 key", "demo", C_DEMO, KWEAK, 0, 0, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADALG, 0 },
	{ "MD5 digest", "demo", C_DEMO, 0, 0, NID_md5, T_NONE,
	    P7_STATUS_FAILURE, SG_FAIL_BADALG, 0 },
	{ "bad outer signature", "demo", C_DEMO, 0, 0, 0, T_BADSIG,
	    P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK, 0 },
	{ "encrypted to another certificate", "demo", C_DEMO, 0, 0, 0,
	    T_RCPT, P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK, 0 },
};

static const char *
case_code(const struct fx *fx, enum code_kind k)
{
	switch (k) {
	case C_DEMO:	return fx->code;
	case C_OTHER:	return OTHER_CODE;
	case C_WRONG:	return "WrongCode123456789012";
	case C_EMPTY:	return "";
	case C_NONE:	break;
	}
	return NULL;
}

/* The SUCCESS reply: the issued certificate for the CSR key, then CA. */
static void
check_issued(const struct fx *fx, const struct p7_certrep *rep,
    EVP_PKEY *key, int ncerts, const char *what)
{
	X509	*x;

	if (sk_X509_num(rep->certs) != ncerts)
		fail_msg("%s: %d certificates, expected %d", what,
		    sk_X509_num(rep->certs), ncerts);
	x = sk_X509_value(rep->certs, 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(fx->ca_cert)), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(fx->ca_cert)), 1);
	if (ncerts > 1)
		assert_int_equal(X509_cmp(sk_X509_value(rep->certs, 1),
		    fx->ca_cert), 0);
}

static void
test_pkcsreq_table(void **state)
{
	struct fx		*fx = *state;
	const struct pkcs_case	*c;
	struct p7_req		 rq;
	struct p7_certrep	*rep;
	STACK_OF(X509)		*rcpt;
	uint8_t			*csr, *der, nonce[16];
	size_t			 i, csrlen, len;
	char			 tid[64];

	for (i = 0; i < sizeof(pkcs_cases) / sizeof(pkcs_cases[0]); i++) {
		c = &pkcs_cases[i];
		csr = der = NULL;
		rcpt = NULL;
		sgt_make_csr(fx->key[c->key], c->name, case_code(fx, c->code),
		    0, &csr, &csrlen);
		new_transid(fx, "table", tid, sizeof(tid));
		memset(nonce, (int)i + 1, sizeof(nonce));
		memset(&rq, 0, sizeof(rq));
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid;
		rq.sender_nonce = nonce;
		rq.sender_nonce_len = sizeof(nonce);
		rq.data = csr;
		rq.data_len = csrlen;
		rq.cipher_nid = c->cipher;
		rq.digest_nid = c->digest;
		if (c->tamper == T_RCPT) {
			rcpt = sk_X509_new_null();
			assert_non_null(rcpt);
			assert_true(sk_X509_push(rcpt, fx->cert[2]));
			rq.recipients = rcpt;
		}
		build(fx, &rq, c->key, &der, &len);
		if (c->tamper == T_BADSIG) {
			/* The SignerInfo signature ends the DER. */
			der[len - 20] ^= 0x01;
		}
		rep = exchange(fx, c->uri, der, len, c->key);
		expect_status(rep, c->status, c->failinfo, c->name);
		assert_string_equal(rep->transid, tid);
		assert_int_equal(rep->recipient_nonce_len, sizeof(nonce));
		assert_memory_equal(rep->recipient_nonce, nonce,
		    sizeof(nonce));
		if (c->status == P7_STATUS_SUCCESS) {
			check_issued(fx, rep, fx->key[c->key], c->ncerts,
			    c->name);
			/* The reply mirrors the request's cipher. */
			assert_int_equal(rep->cipher_nid, c->cipher ?
			    c->cipher : NID_aes_128_cbc);
		} else
			assert_null(rep->certs);
		p7_certrep_free(rep);
		sk_X509_free(rcpt);
		free(der);
		free(csr);
	}
}

/*
 * A FAILURE CertRep carries no content (RFC 8894 3.3.2.2: p7_rep_build
 * signs it detached); a client must still verify and read it. Once
 * p7_certrep_parse gave CMS_verify no content and failed on every one.
 */
static void
test_certrep_detached(void **state)
{
	struct fx		*fx = *state;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep = NULL;
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 tid[64];
	enum sg_rc		 rc;

	sgt_make_csr(fx->key[0], "detached", "WrongCode123456789012", 0, &csr,
	    &csrlen);
	new_transid(fx, "detached", tid, sizeof(tid));
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	build(fx, &rq, 0, &der, &len);
	assert_int_equal(ra_pkiop(fx->ra, "demo", der, len, "192.0.2.1", &r,
	    &err), SG_OK);
	rc = p7_certrep_parse(r.body, r.len, fx->ra_cert, fx->cert[0],
	    fx->key[0], &rep, &err);
	ra_reply_free(&r);
	free(der);
	free(csr);
	if (rc != SG_OK)
		fail_msg("p7_certrep_parse of a FAILURE CertRep: %s: %s",
		    sg_strerror(rc), err.msg);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "detached");
	assert_string_equal(rep->transid, tid);
	p7_certrep_free(rep);
}

/* Bytes that are not a pkiMessage: HTTP 400, no reply at all. */
static void
test_not_scep(void **state)
{
	struct fx	*fx = *state;
	struct p7_req	 rq = { 0 };
	struct ra_reply	 r;
	struct sg_err	 err;
	uint8_t		*csr = NULL, *der = NULL, *longer;
	size_t		 csrlen = 0, len = 0, i;
	static const uint8_t garbage[] = "this is not DER at all";
	static const uint8_t seq[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct {
		const char	*name;
		const uint8_t	*p;
		size_t		 len;
	} cases[5];

	sgt_make_csr(fx->key[0], "not scep", fx->code, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "not-scep";
	rq.data = csr;
	rq.data_len = csrlen;
	build(fx, &rq, 0, &der, &len);
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	cases[0].name = "garbage";
	cases[0].p = garbage;
	cases[0].len = sizeof(garbage) - 1;
	cases[1].name = "a SEQUENCE of an INTEGER";
	cases[1].p = seq;
	cases[1].len = sizeof(seq);
	cases[2].name = "truncated pkiMessage";
	cases[2].p = der;
	cases[2].len = len / 2;
	cases[3].name = "trailing byte";
	cases[3].p = longer;
	cases[3].len = len + 1;
	cases[4].name = "a PKCS#10 request";
	cases[4].p = csr;
	cases[4].len = csrlen;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		memset(&err, 0, sizeof(err));
		if (ra_pkiop(fx->ra, "demo", cases[i].p, cases[i].len,
		    "192.0.2.1", &r, &err) != SG_EPARSE)
			fail_msg("%s: not SG_EPARSE", cases[i].name);
		assert_null(r.body);
		assert_int_equal(r.len, 0);
		assert_true(err.msg[0] != '\0');
	}
	/* An unknown endpoint, with a valid message. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(ra_pkiop(fx->ra, "no-such-endpoint", der, len,
	    "192.0.2.1", &r, &err), SG_ENOTFOUND);
	assert_null(r.body);
	assert_int_equal(ra_pkiop(fx->ra, "", der, len, "192.0.2.1", &r,
	    &err), SG_ENOTFOUND);
	assert_null(r.body);
	free(longer);
	free(der);
	free(csr);
}

/* ---- idempotency on transactionID (RFC 8894 5.2) ---- */

static void
test_idempotency(void **state)
{
	struct fx		*fx = *state;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*a, *b, *c;
	uint8_t			*csr = NULL, *der = NULL;
	size_t			 csrlen = 0, len = 0;
	char			 tid[64], tid2[64], sa[80], sb[80];

	/* The same bytes twice: the same certificate, not a second one. */
	new_transid(fx, "idem", tid, sizeof(tid));
	sgt_make_csr(fx->key[0], "idempotent", fx->code, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	build(fx, &rq, 0, &der, &len);
	a = exchange(fx, "demo", der, len, 0);
	b = exchange(fx, "demo", der, len, 0);
	expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "first");
	expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "replay");
	check_issued(fx, b, fx->key[0], 2, "replay");
	sgt_serial_hex(sk_X509_value(a->certs, 0), sa, sizeof(sa));
	sgt_serial_hex(sk_X509_value(b->certs, 0), sb, sizeof(sb));
	assert_string_equal(sa, sb);
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);
	free(der);
	free(csr);

	/* A new PKCSReq, same transactionID and key: same certificate. */
	b = enroll(fx, "demo", tid, 0, fx->code);
	expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "new message");
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);

	/* Same transactionID, another key: refused. */
	b = enroll(fx, "demo", tid, 1, fx->code);
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "other key");
	p7_certrep_free(b);

	/* The transaction still belongs to the first key. */
	b = enroll(fx, "demo", tid, 0, fx->code);
	expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "after other key");
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);

	/* A FAILURE is not final: the same transactionID may try again. */
	new_transid(fx, "retry", tid2, sizeof(tid2));
	b = enroll(fx, "demo", tid2, 0, "WrongCode123456789012");
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "wrong code");
	c = enroll(fx, "demo", tid2, 0, fx->code);
	expect_status(c, P7_STATUS_SUCCESS, SG_FAIL_NONE, "retry");
	check_issued(fx, c, fx->key[0], 2, "retry");
	/* A new transaction: a new certificate. */
	sgt_serial_hex(sk_X509_value(c->certs, 0), sb, sizeof(sb));
	assert_string_not_equal(sa, sb);
	p7_certrep_free(c);
	p7_certrep_free(b);
	p7_certrep_free(a);

	/* The transactionID is per endpoint: "other" issues afresh. */
	a = enroll(fx, "other", tid, 0, OTHER_CODE);
	expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "other endpoint");
	sgt_serial_hex(sk_X509_value(a->certs, 0), sb, sizeof(sb));
	assert_string_not_equal(sa, sb);
	p7_certrep_free(a);
}

/* ---- nonces and transactionID (RFC 8894 3.2.1) ---- */

static void
test_nonces(void **state)
{
	struct fx		*fx = *state;
	struct p7_req		 rq;
	struct p7_certrep	*rep[3];
	uint8_t			*csr = NULL, *der = NULL, nonce[3][32];
	size_t			 csrlen = 0, len, i, j;
	char			 tid[3][64];
	const char		*code;

	sgt_make_csr(fx->key[1], "nonces", fx->code, 0, &csr, &csrlen);
	for (i = 0; i < 3; i++) {
		/* Two SUCCESS replies and one FAILURE. */
		code = i < 2 ? fx->code : "WrongCode123456789012";
		free(csr);
		sgt_make_csr(fx->key[1], "nonces", code, 0, &csr, &csrlen);
		new_transid(fx, "nonce", tid[i], sizeof(tid[i]));
		for (j = 0; j < sizeof(nonce[i]); j++)
			nonce[i][j] = (uint8_t)(i * 64 + j);
		memset(&rq, 0, sizeof(rq));
		rq.type = P7_TYPE_PKCSREQ;
		rq.transid = tid[i];
		rq.sender_nonce = nonce[i];
		rq.sender_nonce_len = sizeof(nonce[i]);
		rq.data = csr;
		rq.data_len = csrlen;
		len = 0;
		build(fx, &rq, 1, &der, &len);
		rep[i] = exchange(fx, "demo", der, len, 1);
		free(der);
		expect_status(rep[i], i < 2 ? P7_STATUS_SUCCESS :
		    P7_STATUS_FAILURE, i < 2 ? SG_FAIL_NONE :
		    SG_FAIL_BADREQUEST, "nonces");
		assert_string_equal(rep[i]->transid, tid[i]);
		assert_int_equal(rep[i]->recipient_nonce_len,
		    sizeof(nonce[i]));
		assert_memory_equal(rep[i]->recipient_nonce, nonce[i],
		    sizeof(nonce[i]));
		/* The RA's own nonce: 16 bytes or more, not ours. */
		assert_true(rep[i]->sender_nonce_len >= 8);
		assert_false(rep[i]->sender_nonce_len == sizeof(nonce[i]) &&
		    memcmp(rep[i]->sender_nonce, nonce[i],
		    sizeof(nonce[i])) == 0);
	}
	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			assert_false(rep[i]->sender_nonce_len ==
			    rep[j]->sender_nonce_len &&
			    memcmp(rep[i]->sender_nonce, rep[j]->sender_nonce,
			    rep[i]->sender_nonce_len) == 0);
	for (i = 0; i < 3; i++)
		p7_certrep_free(rep[i]);
	free(csr);
}

/* ---- CertPoll (RFC 8894 3.3.3) ---- */

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

static struct p7_certrep *
certpoll(struct fx *fx, const char *transid, int who, X509 *issued)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	uint8_t			*data = NULL, *der = NULL;
	size_t			 dlen = 0, len = 0;

	issuer_and_subject(X509_get_subject_name(fx->ca_cert),
	    issued ? X509_get_subject_name(issued) :
	    X509_get_subject_name(fx->cert[who]), &data, &dlen);
	rq.type = P7_TYPE_CERTPOLL;
	rq.transid = transid;
	rq.data = data;
	rq.data_len = dlen;
	build(fx, &rq, who, &der, &len);
	rep = exchange(fx, "demo", der, len, who);
	assert_string_equal(rep->transid, transid);
	free(der);
	free(data);
	return rep;
}

static void
test_certpoll(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*a, *b;
	char			 tid[64], tid2[64];

	new_transid(fx, "poll", tid, sizeof(tid));
	a = enroll(fx, "demo", tid, 1, fx->code);
	expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "enroll");

	b = certpoll(fx, tid, 1, sk_X509_value(a->certs, 0));
	expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "poll issued");
	check_issued(fx, b, fx->key[1], 2, "poll issued");
	assert_int_equal(X509_cmp(sk_X509_value(a->certs, 0),
	    sk_X509_value(b->certs, 0)), 0);
	p7_certrep_free(b);

	new_transid(fx, "poll-unknown", tid2, sizeof(tid2));
	b = certpoll(fx, tid2, 1, NULL);
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "poll unknown");
	p7_certrep_free(b);

	/* Only the requester may collect the certificate. */
	b = certpoll(fx, tid, 2, sk_X509_value(a->certs, 0));
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "poll by another key");
	assert_null(b->certs);
	p7_certrep_free(b);
	p7_certrep_free(a);

	/* A refused transaction stays refused when polled. */
	new_transid(fx, "poll-refused", tid2, sizeof(tid2));
	a = enroll(fx, "demo", tid2, 1, "WrongCode123456789012");
	expect_status(a, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "refused");
	b = certpoll(fx, tid2, 1, NULL);
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "poll refused");
	p7_certrep_free(b);
	p7_certrep_free(a);
}

/* ---- GetCert (RFC 8894 3.3.4) ---- */

static struct p7_certrep *
getcert(struct fx *fx, X509_NAME *issuer, const ASN1_INTEGER *serial,
    int who)
{
	PKCS7_ISSUER_AND_SERIAL	*ias;
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep;
	unsigned char		*data = NULL;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	char			 tid[64];
	int			 n;

	ias = PKCS7_ISSUER_AND_SERIAL_new();
	assert_non_null(ias);
	assert_true(X509_NAME_set(&ias->issuer, issuer));
	assert_true(ASN1_STRING_copy(ias->serial, serial));
	n = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &data);
	assert_true(n > 0);
	new_transid(fx, "getcert", tid, sizeof(tid));
	rq.type = P7_TYPE_GETCERT;
	rq.transid = tid;
	rq.data = data;
	rq.data_len = (size_t)n;
	build(fx, &rq, who, &der, &len);
	rep = exchange(fx, "demo", der, len, who);
	assert_string_equal(rep->transid, tid);
	free(der);
	OPENSSL_free(data);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	return rep;
}

static void
test_getcert(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*a, *b;
	struct p7_req		 rq = { 0 };
	ASN1_INTEGER		*bogus;
	X509			*x;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	char			 tid[64];
	static const uint8_t junk[] = { 0x04, 0x02, 0xde, 0xad };

	new_transid(fx, "gc", tid, sizeof(tid));
	a = enroll(fx, "demo", tid, 2, fx->code);
	expect_status(a, P7_STATUS_SUCCESS, SG_FAIL_NONE, "enroll");
	x = sk_X509_value(a->certs, 0);

	b = getcert(fx, X509_get_issuer_name(x), X509_get0_serialNumber(x),
	    2);
	expect_status(b, P7_STATUS_SUCCESS, SG_FAIL_NONE, "GetCert");
	assert_true(sk_X509_num(b->certs) >= 1);
	assert_int_equal(X509_cmp(sk_X509_value(b->certs, 0), x), 0);
	p7_certrep_free(b);

	bogus = ASN1_INTEGER_new();
	assert_non_null(bogus);
	assert_true(ASN1_INTEGER_set(bogus, 0x1234567));
	b = getcert(fx, X509_get_issuer_name(x), bogus, 2);
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "GetCert unknown serial");
	assert_null(b->certs);
	p7_certrep_free(b);
	ASN1_INTEGER_free(bogus);

	/* messageData that is no IssuerAndSerialNumber. */
	new_transid(fx, "gc-junk", tid, sizeof(tid));
	rq.type = P7_TYPE_GETCERT;
	rq.transid = tid;
	rq.data = junk;
	rq.data_len = sizeof(junk);
	build(fx, &rq, 2, &der, &len);
	b = exchange(fx, "demo", der, len, 2);
	expect_status(b, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "GetCert junk");
	p7_certrep_free(b);
	free(der);
	p7_certrep_free(a);
}

/* ---- GetCACaps and GetCACert (RFC 8894 3.5, 4.1) ---- */

static void
test_getcacaps(void **state)
{
	struct fx	*fx = *state;
	struct ra_reply	 r = { 0 };
	struct sg_err	 err = { 0 };
	char		*text;
	size_t		 i;
	static const char *const want[] = {
		"AES\n", "POSTPKIOperation\n", "SCEPStandard\n", "SHA-256\n",
		"DES3\n", "SHA-1\n",	/* crypto.allow_* in the config */
	};

	assert_int_equal(ra_getcacaps(fx->ra, "demo", &r, &err), SG_OK);
	assert_string_equal(r.ctype, "text/plain");
	text = calloc(1, r.len + 2);
	assert_non_null(text);
	text[0] = '\n';
	memcpy(text + 1, r.body, r.len);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[32];

		/* Whole lines only ("SHA-1" must not match "SHA-1x"). */
		snprintf(line, sizeof(line), "\n%s", want[i]);
		if (strstr(text, line) == NULL)
			fail_msg("GetCACaps has no %s", want[i]);
	}
	free(text);
	ra_reply_free(&r);
	assert_int_equal(ra_getcacaps(fx->ra, "nope", &r, &err),
	    SG_ENOTFOUND);
	assert_null(r.body);
}

static void
test_getcacert(void **state)
{
	struct fx	*fx = *state;
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
			add_endpoint(fx, cases[i].name, cases[i].uri,
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

/* ---- admin API ---- */

static void
test_org(void **state)
{
	struct fx	*fx = *state;
	struct sg_err	 err = { 0 };
	struct ra_org	*list = NULL;
	size_t		 n = 0, i;
	bool		 demo = false, acme = false;

	assert_int_equal(ra_org_add(fx->ra, "Demo", &err), SG_EEXIST);
	assert_int_equal(ra_org_add(fx->ra, "Acme Corp", &err), SG_OK);
	assert_int_equal(ra_org_add(fx->ra, "Acme Corp", &err), SG_EEXIST);
	assert_int_equal(ra_org_add(fx->ra, "", &err), SG_EPOLICY);
	assert_int_equal(ra_org_add(fx->ra, "a/b", &err), SG_EPOLICY);
	assert_int_equal(ra_dept_add(fx->ra, "Acme Corp", "Sales", &err),
	    SG_OK);
	assert_int_equal(ra_dept_add(fx->ra, "Acme Corp", "Sales", &err),
	    SG_EEXIST);
	assert_int_equal(ra_dept_add(fx->ra, "No Such Org", "Sales", &err),
	    SG_ENOTFOUND);
	assert_int_equal(ra_org_list(fx->ra, &list, &n, &err), SG_OK);
	for (i = 0; i < n; i++) {
		demo |= strcmp(list[i].name, "Demo") == 0;
		acme |= strcmp(list[i].name, "Acme Corp") == 0;
	}
	assert_true(demo && acme);
	free(list);
	list = NULL;
	assert_int_equal(ra_dept_list(fx->ra, "Acme Corp", &list, &n, &err),
	    SG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "Sales");
	assert_string_equal(list[0].org, "Acme Corp");
	free(list);
}

static char	code_max[RA_CODE_MAX + 1];	/* "AAA...A" */
static char	code_long[RA_CODE_MAX + 2];	/* one more */

static void
test_account_add(void **state)
{
	struct fx	*fx = *state;
	static const struct {
		const char	*name;
		const char	*endpoint;
		const char	*acct;
		const char	*org;
		const char	*dept;
		const char	*code;
		int		 term;
		enum sg_rc	 rc;
	} cases[] = {
		{ "good", "demo", "acct-good", "Demo", "", "GoodCode12345678",
		    90, SG_OK },
		{ "same name again", "demo", "acct-good", "Demo", "",
		    "GoodCode87654321", 90, SG_EEXIST },
		{ "same code again", "demo", "acct-dupcode", "Demo", "",
		    "GoodCode12345678", 90, SG_EEXIST },
		{ "same name, other endpoint", "other", "acct-good", "Demo",
		    "", "GoodCode12345678", 90, SG_OK },
		{ "unknown org", "demo", "acct-1", "No Such Org", "",
		    "Code1234567890ab", 90, SG_ENOTFOUND },
		{ "unknown dept", "demo", "acct-2", "Demo", "No Such Dept",
		    "Code1234567890ab", 90, SG_ENOTFOUND },
		{ "unknown endpoint", "nope", "acct-3", "Demo", "",
		    "Code1234567890ab", 90, SG_ENOTFOUND },
		{ "code with _", "demo", "acct-4", "Demo", "",
		    "Code_1234567890", 90, SG_EPOLICY },
		{ "code with @", "demo", "acct-5", "Demo", "",
		    "Code@1234567890", 90, SG_EPOLICY },
		{ "code with space (PrintableString)", "demo", "acct-6",
		    "Demo", "", "Code 1234567890", 90, SG_OK },
		{ "code too short", "demo", "acct-7", "Demo", "", "Abc1234",
		    90, SG_EPOLICY },
		{ "empty code", "demo", "acct-8", "Demo", "", "", 90,
		    SG_EPOLICY },
		{ "term 0", "demo", "acct-9", "Demo", "", "Code1234567890ab",
		    0, SG_EPOLICY },
		{ "bad name", "demo", "acct/10", "Demo", "",
		    "Code1234567890ab", 90, SG_EPOLICY },
		{ "Intune endpoint", "intune", "acct-11", "Demo", "",
		    "Code1234567890ab", 90, SG_EPOLICY },
		{ "code of RA_CODE_MAX", "demo", "acct-long", "Demo", "",
		    code_max, 90, SG_OK },
		{ "code of RA_CODE_MAX + 1", "demo", "acct-12", "Demo", "",
		    code_long, 90, SG_EPOLICY },
	};
	struct ra_account	 a;
	struct ra_endpoint	 ep = { 0 };
	struct p7_certrep	*rep;
	struct sg_err		 err;
	char			 out[RA_CODE_MAX + 1], tid[64];
	size_t			 i;
	enum sg_rc		 rc;

	memset(code_max, 'A', RA_CODE_MAX);
	memset(code_long, 'B', RA_CODE_MAX + 1);
	snprintf(ep.name, sizeof(ep.name), "intune");
	snprintf(ep.uri, sizeof(ep.uri), "intune");
	ep.type = RA_EP_DEVICE_INTUNE;
	/* Intune endpoints name an existing organization themselves. */
	assert_int_equal(ra_endpoint_add(fx->ra, &ep, &err), SG_EPOLICY);
	snprintf(ep.org, sizeof(ep.org), "Demo");
	ep.term_days = 30;
	assert_int_equal(ra_endpoint_add(fx->ra, &ep, &err), SG_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&a, 0, sizeof(a));
		memset(&err, 0, sizeof(err));
		memset(out, 0, sizeof(out));
		snprintf(a.endpoint, sizeof(a.endpoint), "%s",
		    cases[i].endpoint);
		snprintf(a.name, sizeof(a.name), "%s", cases[i].acct);
		snprintf(a.org, sizeof(a.org), "%s", cases[i].org);
		snprintf(a.dept, sizeof(a.dept), "%s", cases[i].dept);
		a.term_days = cases[i].term;
		rc = ra_account_add(fx->ra, &a, cases[i].code, out, &err);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %s (%s), expected %s", cases[i].name,
			    sg_strerror(rc), err.msg,
			    sg_strerror(cases[i].rc));
		if (rc == SG_OK)
			assert_string_equal(out, cases[i].code);
		else {
			assert_string_equal(out, "");
			/* Never echo a code in an error. */
			if (cases[i].code[0] != '\0' &&
			    strstr(err.msg, cases[i].code) != NULL)
				fail_msg("%s: code in \"%s\"", cases[i].name,
				    err.msg);
		}
	}

	/* The longest code accepted by the admin API also enrolls. */
	new_transid(fx, "longcode", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 1, code_max);
	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "long code");
	p7_certrep_free(rep);
	/* Intune endpoints take no access codes (not implemented). */
	new_transid(fx, "intune", tid, sizeof(tid));
	rep = enroll(fx, "intune", tid, 1, fx->code);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "intune");
	p7_certrep_free(rep);
}

static void
test_account_codes(void **state)
{
	struct fx		*fx = *state;
	struct ra_account	*list = NULL, a;
	struct sg_err		 err = { 0 };
	struct p7_certrep	*rep;
	char			 c1[RA_CODE_MAX + 1], c2[RA_CODE_MAX + 1];
	char			 tid[64];
	size_t			 n = 0, i;
	bool			 found = false;

	/* The code from scepctl init is a generated one too. */
	assert_int_equal(strlen(fx->code), RA_CODE_LEN);
	assert_true(code_chars_ok(fx->code));
	add_account(fx, "demo", "generated-1", NULL, c1);
	add_account(fx, "demo", "generated-2", NULL, c2);
	assert_int_equal(strlen(c1), RA_CODE_LEN);
	assert_int_equal(strlen(c2), RA_CODE_LEN);
	assert_true(code_chars_ok(c1));
	assert_true(code_chars_ok(c2));
	assert_string_not_equal(c1, c2);
	assert_string_not_equal(c1, fx->code);

	/* A generated code works, for its endpoint. */
	new_transid(fx, "gen", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 2, c2);
	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "generated code");
	p7_certrep_free(rep);

	/* The list shows the accounts and no code, in any field. */
	assert_int_equal(ra_account_list(fx->ra, "demo", &list, &n, &err),
	    SG_OK);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i].name, "demo-devices") == 0) {
			found = true;
			assert_string_equal(list[i].endpoint, "demo");
			assert_string_equal(list[i].org, "Demo");
			assert_int_equal(list[i].term_days, 365);
			assert_false(list[i].disabled);
		}
	}
	assert_true(found);
	assert_null(memmem(list, n * sizeof(*list), fx->code,
	    strlen(fx->code)));
	assert_null(memmem(list, n * sizeof(*list), c1, strlen(c1)));
	assert_null(memmem(list, n * sizeof(*list), c2, strlen(c2)));
	free(list);
	list = NULL;
	assert_int_equal(ra_account_list(fx->ra, "nope", &list, &n, &err),
	    SG_ENOTFOUND);

	/* A deleted account's code stops working at once. */
	assert_int_equal(ra_account_delete(fx->ra, "demo", "generated-2",
	    &err), SG_OK);
	assert_int_equal(ra_account_delete(fx->ra, "demo", "generated-2",
	    &err), SG_ENOTFOUND);
	new_transid(fx, "deleted", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 2, c2);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "deleted account");
	p7_certrep_free(rep);

	/* So does a disabled one's. */
	memset(&a, 0, sizeof(a));
	snprintf(a.endpoint, sizeof(a.endpoint), "demo");
	snprintf(a.name, sizeof(a.name), "disabled");
	snprintf(a.org, sizeof(a.org), "Demo");
	a.term_days = 30;
	a.disabled = true;
	assert_int_equal(ra_account_add(fx->ra, &a, "DisabledCode12345678",
	    c2, &err), SG_OK);
	new_transid(fx, "disabled", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 2, "DisabledCode12345678");
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "disabled account");
	p7_certrep_free(rep);
	OPENSSL_cleanse(c1, sizeof(c1));
	OPENSSL_cleanse(c2, sizeof(c2));
}

static void
test_endpoint_add(void **state)
{
	struct fx	*fx = *state;
	static const struct {
		const char	*name;
		const char	*uri;
		const char	*ra_id;
		int		 renewal;
		enum sg_rc	 rc;	/* SG_EINTERNAL: any error */
	} cases[] = {
		{ "ep-slash", "a/b", "", 30, SG_EINTERNAL },
		{ "ep-empty", "", "", 30, SG_EINTERNAL },
		{ "ep-query", "a?b", "", 30, SG_EINTERNAL },
		{ "ep-space", "a b", "", 30, SG_EINTERNAL },
		{ "ep-dot", ".hidden", "", 30, SG_EINTERNAL },
		{ "ep-dotdot", "..", "", 30, SG_EINTERNAL },
		{ "ep-pkiclient", "pkiclient.exe", "", 30, SG_EINTERNAL },
		{ "", "ep-noname", "", 30, SG_EINTERNAL },
		{ "ep-no-ra", "ep-no-ra", "ra9", 30, SG_ENOTFOUND },
		{ "ep-renewal", "ep-renewal", "", -1, SG_EPOLICY },
		{ "ep-dup-uri", "demo", "", 30, SG_EEXIST },
		{ "demo", "ep-dup-name", "", 30, SG_EEXIST },
		{ "ep-good", "ep-good_1.x", "ra1", 30, SG_OK },
	};
	struct ra_endpoint	 ep, got;
	struct sg_err		 err;
	size_t			 i;
	enum sg_rc		 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ep, 0, sizeof(ep));
		memset(&err, 0, sizeof(err));
		snprintf(ep.name, sizeof(ep.name), "%s", cases[i].name);
		snprintf(ep.uri, sizeof(ep.uri), "%s", cases[i].uri);
		snprintf(ep.ra_id, sizeof(ep.ra_id), "%s", cases[i].ra_id);
		ep.type = RA_EP_CLIENT;
		ep.renewal_days = cases[i].renewal;
		rc = ra_endpoint_add(fx->ra, &ep, &err);
		if (cases[i].rc == SG_EINTERNAL ? rc == SG_OK :
		    rc != cases[i].rc)
			fail_msg("endpoint '%s' uri '%s': rc %s (%s)",
			    cases[i].name, cases[i].uri, sg_strerror(rc),
			    err.msg);
		if (rc == SG_OK)
			continue;
		assert_true(err.msg[0] != '\0');
		/* Nothing half-created. */
		if (strcmp(cases[i].name, "demo") != 0)
			assert_int_equal(ra_endpoint_get(fx->ra,
			    cases[i].name, &got, &err), SG_ENOTFOUND);
	}
	assert_int_equal(ra_endpoint_get(fx->ra, "ep-good", &got, &err),
	    SG_OK);
	assert_string_equal(got.uri, "ep-good_1.x");
	assert_int_equal(got.type, RA_EP_CLIENT);
	/* The demo endpoint kept its URI. */
	assert_int_equal(ra_endpoint_get(fx->ra, "demo", &got, &err), SG_OK);
	assert_string_equal(got.uri, "demo");
}

static void
test_endpoint_delete(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	char			 code[RA_CODE_MAX + 1];

	add_endpoint(fx, "doomed", "doomed", RA_CACERT_CMS_CHAIN,
	    RA_GETCERT_FULL_CHAIN);
	add_account(fx, "doomed", "doomed-devices", NULL, code);
	assert_int_not_equal(ra_endpoint_delete(fx->ra, "doomed", false,
	    &err), SG_OK);
	assert_int_equal(ra_endpoint_get(fx->ra, "doomed", &ep, &err), SG_OK);
	assert_int_equal(ra_getcacaps(fx->ra, "doomed", &r, &err), SG_OK);
	ra_reply_free(&r);
	assert_int_equal(ra_endpoint_delete(fx->ra, "doomed", true, &err),
	    SG_OK);
	assert_int_equal(ra_endpoint_get(fx->ra, "doomed", &ep, &err),
	    SG_ENOTFOUND);
	/* A running server sees the change at once. */
	assert_int_equal(ra_getcacaps(fx->ra, "doomed", &r, &err),
	    SG_ENOTFOUND);
	assert_int_equal(ra_endpoint_delete(fx->ra, "doomed", true, &err),
	    SG_ENOTFOUND);

	/* Without accounts no force is needed. */
	add_endpoint(fx, "empty", "empty", RA_CACERT_CMS_CHAIN,
	    RA_GETCERT_FULL_CHAIN);
	assert_int_equal(ra_endpoint_delete(fx->ra, "empty", false, &err),
	    SG_OK);
	assert_int_equal(ra_endpoint_get(fx->ra, "empty", &ep, &err),
	    SG_ENOTFOUND);
}

/* ---- secrets (DESIGN.md "Identity and secrets") ---- */

#define SECRET_CODE	"SecretCode4Test9876xyzQ"

static void
test_secret_not_stored(void **state)
{
	struct fx	*fx = *state;
	char		 code[RA_CODE_MAX + 1];

	add_account(fx, "demo", "secret-holder", SECRET_CODE, code);
	assert_string_equal(code, SECRET_CODE);
	if (db_contains(fx, SECRET_CODE))
		fail_msg("the access code is in the database in clear text");
}

/*
 * After enrolling with it, the code must still not be readable from the
 * database: the PKCS#10 stored with the transaction carries it as its
 * challengePassword.
 */
static void
test_secret_not_stored_after_enroll(void **state)
{
	struct fx		*fx = *state;
	struct p7_certrep	*rep;
	char			 tid[64];

	new_transid(fx, "secret", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 0, SECRET_CODE);
	expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "secret code");
	p7_certrep_free(rep);
	new_transid(fx, "secret-wrong", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 0, "WrongSecret0000111122");
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "wrong secret");
	p7_certrep_free(rep);
	if (db_contains(fx, SECRET_CODE))
		fail_msg("the access code used in a PKCSReq is in the "
		    "database in clear text");
	if (db_contains(fx, "WrongSecret0000111122"))
		fail_msg("a presented wrong code is in the database");
	/* The demo code, used by every test above. */
	if (db_contains(fx, fx->code))
		fail_msg("the demo access code is in the database");
}

/* Repeated wrong codes lock the address out, even for a right code. */
static void
test_lockout(void **state)
{
	struct fx		*fx = *state;
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
		new_transid(fx, "lockout", tid, sizeof(tid));
		rep = enroll(fx, "demo", tid, 0, "WrongCode1234");
		expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
		    "wrong code before the lockout");
		assert_string_equal(rep->failtext, "bad access code");
		p7_certrep_free(rep);
	}
	new_transid(fx, "lockout", tid, sizeof(tid));
	rep = enroll(fx, "demo", tid, 0, fx->code);
	expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "right code while locked out");
	assert_string_equal(rep->failtext, "too many attempts");
	p7_certrep_free(rep);
	fx->ra = saved;
	ra_close(ra2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcsreq_table),
		cmocka_unit_test(test_certrep_detached),
		cmocka_unit_test(test_not_scep),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_nonces),
		cmocka_unit_test(test_certpoll),
		cmocka_unit_test(test_getcert),
		cmocka_unit_test(test_getcacaps),
		cmocka_unit_test(test_getcacert),
		cmocka_unit_test(test_org),
		cmocka_unit_test(test_account_add),
		cmocka_unit_test(test_account_codes),
		cmocka_unit_test(test_endpoint_add),
		cmocka_unit_test(test_endpoint_delete),
		cmocka_unit_test(test_secret_not_stored),
		cmocka_unit_test(test_secret_not_stored_after_enroll),
		cmocka_unit_test(test_lockout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
