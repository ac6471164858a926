/*
 * pkcs7/ unit tests (STYLE.md 7): the RFC 8894 reference messages in
 * tests/data, round trips through the client and server halves of the
 * codec with keys made once per run, and hostile input (files from
 * make-hostile.sh, hand-built messages and in-memory mutations).
 * Tables walk {name, input, expected rc/failinfo}; each reports every
 * failing row, then fails once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "p7.h"
#include "p7_int.h"		/* p7_csr_wipe_req() */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* SCEP attribute OIDs (RFC 8894 3.2.1), for hand-built messages. */
#define OID_MESSAGETYPE	"2.16.840.1.113733.1.9.2"
#define OID_SENDERNONCE	"2.16.840.1.113733.1.9.5"
#define OID_TRANSID	"2.16.840.1.113733.1.9.7"

/* The challenge of the fixture CSR (UTF8String). */
#define CHALLENGE	"s3cret-Z\xc3\xbcrich"

/*
 * Report a failed check with its line and jump to "out", where the
 * function frees what it holds and returns "ok".
 */
#define CHECK(name, cond) do {						\
	if (!(cond)) {							\
		print_error("%s: line %d: %s\n", (name), __LINE__, #cond); \
		ok = false;						\
		goto out;						\
	}								\
} while (0)

/* Made once by the group setup, read-only afterwards. */
struct fx {
	OSSL_PROVIDER	*legacy;	/* NULL if not installed */
	OSSL_PROVIDER	*deflt;
	EVP_PKEY	*ra_key, *cli_key, *other_key, *ec_key;
	X509		*ra_cert;	/* the RA: self-signed */
	X509		*cli_cert;	/* the client's self-signed signer */
	X509		*other_cert;	/* a second recipient, not the RA */
	X509		*chain[3];	/* issued leaf, sub CA, root */
	STACK_OF(X509)	*ra_stack;	/* just ra_cert */
	uint8_t		*csr;		/* PKCS#10 with CHALLENGE and a SAN */
	size_t		 csr_len;
};

/*
 * Helpers
 */

/* Read tests/data/"name"; *len gets its size. Never NULL. */
static uint8_t *
load(const char *name, size_t *len)
{
	const char	*dir = getenv("SG_TESTDATA");
	char		 path[1024];
	uint8_t		*buf;
	FILE		*fp;
	long		 n;

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir :
	    "tests/data", name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* A malloc'ed copy of "len" bytes. */
static uint8_t *
dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t	*q;

	q = malloc(len > 0 ? len : 1);
	assert_non_null(q);
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

/* The offset of "needle" in "hay", or -1. */
static long
find(const uint8_t *hay, size_t haylen, const uint8_t *needle, size_t nlen)
{
	const uint8_t	*p;

	p = memmem(hay, haylen, needle, nlen);
	return p != NULL ? (long)(p - hay) : -1;
}

/*
 * A certificate for "pub" named CN="cn", signed by "ikey" ("issuer"
 * NULL: self-signed).
 */
static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey,
    long serial)
{
	X509		*x;
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;

	x = X509_new();
	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_true(X509_set_pubkey(x, pub));
	name = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name));
	/* A subjectKeyIdentifier, so that CMS can name the key by it. */
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash");
	assert_non_null(ext);
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

/*
 * A DER PKCS#10 for "key" with subject "O=Example, CN=J\u00fcrgen
 * Device", a SAN, and "count" (0 to 2) challengePassword attributes of
 * ASN.1 type "asn1" holding the raw bytes "val" (so that any encoding,
 * valid or not, can be sent). malloc'ed.
 */
static uint8_t *
make_csr(EVP_PKEY *key, int asn1, const char *val, size_t vlen, int count,
    size_t *len)
{
	static const uint8_t		 oid_9_8[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x09, 0x08,
	};
	X509_REQ			*req;
	X509_NAME			*name;
	X509_EXTENSION			*ext;
	STACK_OF(X509_EXTENSION)	*exts;
	const unsigned char		*p;
	unsigned char			*der = NULL;
	uint8_t				*out;
	long				 off;
	int				 n;

	req = X509_REQ_new();
	assert_non_null(req);
	assert_true(X509_REQ_set_version(req, X509_REQ_VERSION_1));
	name = X509_REQ_get_subject_name(req);
	assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"J\xc3\xbcrgen Device", -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key));
	if (count > 0)
		assert_true(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_challengePassword, asn1,
		    (const unsigned char *)val, (int)vlen));
	if (count > 1)
		assert_true(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_unstructuredAddress, asn1,
		    (const unsigned char *)val, (int)vlen));
	exts = sk_X509_EXTENSION_new_null();
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "DNS:device.example.com,IP:192.0.2.1");
	assert_non_null(exts);
	assert_non_null(ext);
	assert_true(sk_X509_EXTENSION_push(exts, ext));
	assert_true(X509_REQ_add_extensions(req, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	if (count > 1) {
		/*
		 * OpenSSL refuses to add an attribute twice, so rename the
		 * second one (1.2.840.113549.1.9.8, as long) in the DER,
		 * then decode and sign again.
		 */
		off = find(der, (size_t)n, oid_9_8, sizeof(oid_9_8));
		assert_true(off > 0);
		der[off + sizeof(oid_9_8) - 1] = 0x07;
		p = der;
		X509_REQ_free(req);
		req = d2i_X509_REQ(NULL, &p, n);
		assert_non_null(req);
		assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
		OPENSSL_free(der);
		der = NULL;
		n = i2d_X509_REQ(req, &der);
		assert_true(n > 0);
	}
	out = dup_bytes(der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	X509_REQ_free(req);
	return out;
}

/* A PKCSReq carrying "data" with the defaults, to the RA. malloc'ed. */
static uint8_t *
wrap(const struct fx *f, const uint8_t *data, size_t dlen, size_t *len)
{
	struct p7_req	 rq = { 0 };
	struct sg_err	 err;
	uint8_t		*der = NULL;

	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "WRAP";
	rq.data = data;
	rq.data_len = dlen;
	rq.signer = f->cli_cert;
	rq.signer_key = f->cli_key;
	rq.recipients = f->ra_stack;
	if (p7_req_build(&rq, &der, len, &err) != SG_OK)
		fail_msg("p7_req_build: %s", err.msg);
	return der;
}

/* A PKCSReq carrying the fixture CSR, to the RA. malloc'ed. */
static uint8_t *
make_req(const struct fx *f, int cipher, int digest, const uint8_t *nonce,
    const char *transid, size_t *len)
{
	struct p7_req	 rq = { 0 };
	struct sg_err	 err;
	uint8_t		*der = NULL;

	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = transid;
	rq.sender_nonce = nonce;
	rq.sender_nonce_len = nonce != NULL ? 16 : 0;
	rq.data = f->csr;
	rq.data_len = f->csr_len;
	rq.signer = f->cli_cert;
	rq.signer_key = f->cli_key;
	rq.recipients = f->ra_stack;
	rq.cipher_nid = cipher;
	rq.digest_nid = digest;
	if (p7_req_build(&rq, &der, len, &err) != SG_OK)
		fail_msg("p7_req_build: %s", err.msg);
	return der;
}

/* What the server does first: parse and open; NULL on any error. */
static struct p7_msg *
server_read(const struct fx *f, const uint8_t *der, size_t len)
{
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;

	if (p7_msg_parse(der, len, &msg, &err) != SG_OK ||
	    p7_msg_open(msg, f->ra_cert, f->ra_key, &err) != SG_OK) {
		print_error("server_read: %s\n", err.msg);
		p7_msg_free(msg);
		return NULL;
	}
	return msg;
}

/* Build a SUCCESS with "certs" (or PENDING if NULL) to "msg". */
static uint8_t *
make_rep(const struct fx *f, struct p7_msg *msg, STACK_OF(X509) *certs,
    int cipher, int digest, size_t *len)
{
	struct p7_rep	 rep = { 0 };
	struct sg_err	 err;
	uint8_t		*der = NULL;

	rep.status = certs != NULL ? P7_STATUS_SUCCESS : P7_STATUS_PENDING;
	rep.failinfo = SG_FAIL_NONE;
	rep.req = msg;
	rep.certs = certs;
	rep.sign_cert = f->ra_cert;
	rep.sign_key = f->ra_key;
	rep.cipher_nid = cipher;
	rep.digest_nid = digest;
	if (p7_rep_build(&rep, &der, len, &err) != SG_OK)
		fail_msg("p7_rep_build: %s", err.msg);
	return der;
}

/* The digest of the only SignerInfo of a SignedData, or NID_undef. */
static int
signer_digest(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	CMS_ContentInfo		*cms;
	X509_ALGOR		*dig = NULL;
	int			 nid = NID_undef;

	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms != NULL && sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) ==
	    1) {
		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(
		    CMS_get0_SignerInfos(cms), 0), NULL, NULL, &dig, NULL);
		nid = OBJ_obj2nid(dig->algorithm);
	}
	CMS_ContentInfo_free(cms);
	return nid;
}

/* The length of a SignedData's eContent; -1 if absent or unreadable. */
static long
econtent_len(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	CMS_ContentInfo		*cms;
	ASN1_OCTET_STRING	**pos;
	long			 r = -1;

	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL)
		return -1;
	pos = CMS_get0_content(cms);
	if (pos != NULL && *pos != NULL &&
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) == NID_pkcs7_data)
		r = ASN1_STRING_length(*pos);
	CMS_ContentInfo_free(cms);
	return r;
}

/*
 * Whether PKCS7_verify() accepts a SignedData signed by "signer" given
 * no detached content, as certmonger calls it (scep-interop.md 7).
 */
static bool
pkcs7_verifies(const uint8_t *der, size_t len, X509 *signer)
{
	const unsigned char	*p = der;
	STACK_OF(X509)		*certs;
	PKCS7			*p7;
	BIO			*out;
	bool			 ok = false;

	p7 = d2i_PKCS7(NULL, &p, (long)len);
	certs = sk_X509_new_null();
	out = BIO_new(BIO_s_mem());
	if (p7 != NULL && certs != NULL && out != NULL &&
	    sk_X509_push(certs, signer))
		ok = PKCS7_verify(p7, certs, NULL, NULL, out, PKCS7_NOVERIFY |
		    PKCS7_BINARY) == 1;
	ERR_clear_error();
	BIO_free(out);
	sk_X509_free(certs);
	PKCS7_free(p7);
	return ok;
}

/* "der" re-encoded without its eContent (CMS_set_detached). */
static uint8_t *
detach(const uint8_t *der, size_t len, size_t *outlen)
{
	const unsigned char	*p = der;
	CMS_ContentInfo		*cms;
	unsigned char		*buf = NULL;
	uint8_t			*r;
	int			 n;

	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	assert_int_equal(CMS_set_detached(cms, 1), 1);
	n = i2d_CMS_ContentInfo(cms, &buf);
	assert_true(n > 0);
	r = dup_bytes(buf, (size_t)n);
	*outlen = (size_t)n;
	OPENSSL_free(buf);
	CMS_ContentInfo_free(cms);
	return r;
}

/*
 * Group setup: providers, keys, certificates and the CSR, made once.
 * DES-CBC lives in the legacy provider (scep-interop.md 4.3); loading a
 * provider by hand disables the implicit default one, so load both.
 */
static int
setup(void **state)
{
	struct fx	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->legacy = OSSL_PROVIDER_load(NULL, "legacy");
	f->deflt = OSSL_PROVIDER_load(NULL, "default");
	assert_non_null(f->deflt);
	ERR_clear_error();
	f->ra_key = EVP_RSA_gen(2048);
	f->cli_key = EVP_RSA_gen(2048);
	/* Only ever the wrong key: smaller, as key generation dominates. */
	f->other_key = EVP_RSA_gen(1024);
	f->ec_key = EVP_EC_gen("P-256");
	assert_non_null(f->ra_key);
	assert_non_null(f->cli_key);
	assert_non_null(f->other_key);
	assert_non_null(f->ec_key);
	f->ra_cert = make_cert("scepgate test RA", f->ra_key, NULL,
	    f->ra_key, 1);
	f->cli_cert = make_cert("8D8C1EA2-6D4B-4B3E-9C44-0B1F3A9B7C11",
	    f->cli_key, NULL, f->cli_key, 2);
	f->other_cert = make_cert("another recipient", f->other_key, NULL,
	    f->other_key, 3);
	f->chain[2] = make_cert("Root CA", f->ra_key, NULL, f->ra_key, 10);
	f->chain[1] = make_cert("Sub CA", f->other_key, f->chain[2],
	    f->ra_key, 11);
	f->chain[0] = make_cert("J\xc3\xbcrgen Device", f->cli_key,
	    f->chain[1], f->other_key, 12);
	f->ra_stack = sk_X509_new_null();
	assert_non_null(f->ra_stack);
	assert_true(sk_X509_push(f->ra_stack, f->ra_cert));
	f->csr = make_csr(f->cli_key, V_ASN1_UTF8STRING, CHALLENGE,
	    strlen(CHALLENGE), 1, &f->csr_len);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	size_t		 i;

	sk_X509_free(f->ra_stack);
	for (i = 0; i < NELEM(f->chain); i++)
		X509_free(f->chain[i]);
	X509_free(f->ra_cert);
	X509_free(f->cli_cert);
	X509_free(f->other_cert);
	EVP_PKEY_free(f->ra_key);
	EVP_PKEY_free(f->cli_key);
	EVP_PKEY_free(f->other_key);
	EVP_PKEY_free(f->ec_key);
	free(f->csr);
	if (f->legacy != NULL)
		OSSL_PROVIDER_unload(f->legacy);
	OSSL_PROVIDER_unload(f->deflt);
	free(f);
	return 0;
}

/*
 * The RFC 8894 reference messages (tests/data/README.md)
 */

static void
test_sample_req(void **state)
{
	static const uint8_t nonce[16] = {
		0xe8, 0xc5, 0x7d, 0x51, 0x69, 0x09, 0x02, 0x6f,
		0x34, 0x63, 0xf8, 0xe9, 0x07, 0xfc, 0x98, 0x56,
	};
	struct fx	*f = *state;
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len;
	X509_NAME	*subj;
	char		 cn[64];

	der = load("scep_req2.der", &len);
	/* randomNonce and signingTime are extra and must be ignored. */
	if (p7_msg_parse(der, len, &msg, &err) != SG_OK)
		fail_msg("scep_req2.der: %s", err.msg);
	assert_int_equal(msg->type, P7_TYPE_PKCSREQ);
	assert_string_equal(msg->transid, "7XXEY-ERLPU-2JDR9");
	assert_int_equal(msg->sender_nonce_len, sizeof(nonce));
	assert_memory_equal(msg->sender_nonce, nonce, sizeof(nonce));
	assert_int_equal(msg->digest_nid, NID_sha256);
	assert_non_null(msg->signer);
	subj = X509_get_subject_name(msg->signer);
	assert_true(X509_NAME_get_text_by_NID(subj, NID_commonName, cn,
	    sizeof(cn)) > 0);
	assert_string_equal(cn, "Test SCEP PKI user");
	/* The envelope is the eContent: an EnvelopedData of 1088 bytes. */
	assert_int_equal(msg->envelope_len, 1088);
	assert_int_equal(find(der, len, msg->envelope, msg->envelope_len),
	    66);
	assert_int_equal(msg->cipher_nid, 0);
	assert_null(msg->data);
	/* It is for "Dave Himself", not for us: no matching recipient. */
	assert_int_equal(p7_msg_open(msg, f->ra_cert, f->ra_key, &err),
	    SG_EDECRYPT);
	assert_int_equal(err.failinfo, SG_FAIL_BADMSGCHECK);
	assert_null(msg->data);
	p7_msg_free(msg);
	free(der);
}

static void
test_sample_csr(void **state)
{
	/* openssl req -pubkey | openssl pkey -pubin -outform DER | sha256 */
	static const uint8_t key_id[32] = {
		0x27, 0x93, 0xdc, 0xfc, 0x80, 0x8c, 0x0b, 0x63,
		0xf3, 0x19, 0xd6, 0x76, 0x95, 0xd8, 0xee, 0xb0,
		0x57, 0x06, 0x67, 0x77, 0x46, 0x14, 0xc2, 0x4d,
		0x26, 0xf9, 0x7a, 0x4c, 0x41, 0xf2, 0xbb, 0x35,
	};
	struct p7_csr	*csr = NULL;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len;

	(void)state;
	der = load("scep_req0.der", &len);
	if (p7_csr_parse(der, len, &csr, &err) != SG_OK)
		fail_msg("scep_req0.der: %s", err.msg);
	assert_string_equal(csr->challenge, "NQ3C6-GS3ZN-2XPGL-SEJTQ");
	assert_int_equal(csr->challenge_type, V_ASN1_PRINTABLESTRING);
	assert_string_equal(csr->subject, "CN=Test SCEP PKI user,"
	    "OU=Procurement,O=Dave's Wetaburgers,C=NZ");
	assert_int_equal(csr->key_type, EVP_PKEY_RSA);
	assert_int_equal(csr->key_bits, 1536);
	assert_memory_equal(csr->key_id, key_id, sizeof(key_id));
	assert_non_null(csr->req);
	p7_csr_free(csr);
	free(der);
}

/*
 * OpenSSL's copy of the challengePassword inside the parsed request is
 * wiped (p7_csr_wipe_req, which p7_csr_free calls): afterwards the
 * attribute's value holds only zeros.
 */
static void
test_csr_wipe(void **state)
{
	struct p7_csr		*csr = NULL;
	struct sg_err		 err;
	const ASN1_STRING	*s;
	const unsigned char	*d;
	uint8_t			*der;
	size_t			 len;
	int			 i, idx;

	(void)state;
	der = load("scep_req0.der", &len);
	if (p7_csr_parse(der, len, &csr, &err) != SG_OK)
		fail_msg("scep_req0.der: %s", err.msg);
	idx = X509_REQ_get_attr_by_NID(csr->req, NID_pkcs9_challengePassword,
	    -1);
	assert_true(idx >= 0);
	s = X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(csr->req, idx),
	    0)->value.asn1_string;
	assert_memory_equal(ASN1_STRING_get0_data(s), "NQ3C6", 5);
	p7_csr_wipe_req(csr->req);
	d = ASN1_STRING_get0_data(s);
	assert_int_equal(ASN1_STRING_length(s), 23);
	for (i = 0; i < ASN1_STRING_length(s); i++)
		assert_int_equal(d[i], 0);
	p7_csr_free(csr);
	free(der);
}

/*
 * The signer's and the request's keys are read without OpenSSL's
 * decoders (pkcs7/p7_key.c): the same keys, and the same bytes, as the
 * ordinary d2i gives.
 */
static void
test_keys_as_decoded(void **state)
{
	struct p7_msg		*msg = NULL;
	struct p7_csr		*csr = NULL;
	struct sg_err		 err;
	CMS_ContentInfo		*cms;
	STACK_OF(X509)		*certs;
	X509_REQ		*req;
	const unsigned char	*p;
	unsigned char		*a = NULL, *b = NULL;
	uint8_t			*der;
	size_t			 len;
	int			 na, nb;

	(void)state;
	der = load("scep_req2.der", &len);
	assert_int_equal(p7_msg_parse(der, len, &msg, &err), SG_OK);
	p = der;
	assert_non_null(cms = d2i_CMS_ContentInfo(NULL, &p, (long)len));
	assert_non_null(certs = CMS_get1_certs(cms));
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(msg->signer),
	    X509_get0_pubkey(sk_X509_value(certs, 0))), 1);
	na = i2d_X509(msg->signer, &a);
	nb = i2d_X509(sk_X509_value(certs, 0), &b);
	assert_true(na > 0 && na == nb);
	assert_memory_equal(a, b, (size_t)na);
	OPENSSL_free(a);
	OPENSSL_free(b);
	a = b = NULL;
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	p7_msg_free(msg);
	free(der);

	der = load("scep_req0.der", &len);
	assert_int_equal(p7_csr_parse(der, len, &csr, &err), SG_OK);
	p = der;
	assert_non_null(req = d2i_X509_REQ(NULL, &p, (long)len));
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(csr->req),
	    X509_REQ_get0_pubkey(req)), 1);
	assert_int_equal(i2d_X509_REQ(csr->req, &a), (int)len);
	assert_memory_equal(a, der, len);
	OPENSSL_free(a);
	X509_REQ_free(req);
	p7_csr_free(csr);
	free(der);
}

static void
test_sample_certs(void **state)
{
	STACK_OF(X509)	*certs = NULL;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len;
	char		 cn[64];
	ASN1_INTEGER	*serial;
	BIGNUM		*bn;
	char		*hex;

	(void)state;
	der = load("scep_resp0.der", &len);
	if (p7_certs_parse(der, len, &certs, &err) != SG_OK)
		fail_msg("scep_resp0.der: %s", err.msg);
	/* One certificate: the one issued to the requester. */
	assert_int_equal(sk_X509_num(certs), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(
	    sk_X509_value(certs, 0)), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "Test SCEP PKI user");
	serial = X509_get_serialNumber(sk_X509_value(certs, 0));
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	hex = BN_bn2hex(bn);
	assert_string_equal(hex, "54B8488FA1AEEB46");
	OPENSSL_free(hex);
	BN_free(bn);
	sk_X509_pop_free(certs, X509_free);
	free(der);
}

/*
 * scep_resp2.der is a SUCCESS CertRep without a senderNonce (it breaks
 * the MUST of RFC 8894 3.2.1). Both readers refuse it before looking at
 * the signature: the server parser because every pkiMessage needs one,
 * the client reader likewise. Its envelope is for a key we do not have,
 * so only OpenSSL itself can check its signature here.
 */
static void
test_sample_certrep(void **state)
{
	struct p7_msg		*msg = NULL;
	struct p7_certrep	*rep = NULL;
	struct sg_err		 err;
	const unsigned char	*p;
	CMS_ContentInfo		*cms;
	uint8_t			*der;
	size_t			 len;

	(void)state;
	der = load("scep_resp2.der", &len);
	sg_err_clear(&err);
	assert_int_equal(p7_msg_parse(der, len, &msg, &err), SG_EPARSE);
	assert_int_equal(err.failinfo, SG_FAIL_BADREQUEST);
	assert_non_null(strstr(err.msg, "senderNonce"));
	assert_null(msg);
	assert_int_equal(p7_certrep_parse(der, len, NULL, NULL, NULL, &rep,
	    &err), SG_EPARSE);
	assert_non_null(strstr(err.msg, "nonces"));
	assert_null(rep);
	/* The fixture itself is sound: its signature verifies. */
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	assert_int_equal(CMS_verify(cms, NULL, NULL, NULL, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1);
	CMS_ContentInfo_free(cms);
	free(der);
}

/*
 * PKCS#10: challengePassword in every DirectoryString type (scep-interop
 * 4.5), and malformed ones
 */

struct csr_case {
	const char	*name;
	bool		 ec;	/* P-256 instead of RSA-2048 */
	int		 count;	/* challengePassword attributes */
	int		 asn1;	/* their V_ASN1_* type */
	const char	*val;	/* raw content octets */
	size_t		 len;
	enum sg_rc	 rc;
	int		 failinfo;
	const char	*want;	/* UTF-8 challenge; NULL: none */
};

#define STR(s)	s, sizeof(s) - 1

static const struct csr_case csr_cases[] = {
	{ "PrintableString", false, 1, V_ASN1_PRINTABLESTRING,
	    STR("NQ3C6-GS3ZN-2XPGL-SEJTQ"), SG_OK, SG_FAIL_NONE,
	    "NQ3C6-GS3ZN-2XPGL-SEJTQ" },
	{ "UTF8String", false, 1, V_ASN1_UTF8STRING,
	    STR("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac"), SG_OK, SG_FAIL_NONE,
	    "p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac" },
	{ "BMPString", false, 1, V_ASN1_BMPSTRING,
	    STR("\0p\0\xe4\0s\0s\x20\xac"), SG_OK, SG_FAIL_NONE,
	    "p\xc3\xa4ss\xe2\x82\xac" },
	{ "UniversalString", false, 1, V_ASN1_UNIVERSALSTRING,
	    STR("\0\0\0\xfc\0\0\x20\xac"), SG_OK, SG_FAIL_NONE,
	    "\xc3\xbc\xe2\x82\xac" },
	{ "T61String as Latin-1", false, 1, V_ASN1_T61STRING,
	    STR("caf\xe9"), SG_OK, SG_FAIL_NONE, "caf\xc3\xa9" },
	{ "IA5String", false, 1, V_ASN1_IA5STRING, STR("abc"), SG_OK,
	    SG_FAIL_NONE, "abc" },
	{ "empty PrintableString", false, 1, V_ASN1_PRINTABLESTRING,
	    STR(""), SG_OK, SG_FAIL_NONE, "" },
	{ "no challenge", false, 0, 0, STR(""), SG_OK, SG_FAIL_NONE, NULL },
	{ "EC key", true, 1, V_ASN1_PRINTABLESTRING, STR("abc"), SG_OK,
	    SG_FAIL_NONE, "abc" },
	{ "repeated", false, 2, V_ASN1_PRINTABLESTRING, STR("abc"),
	    SG_EPARSE, SG_FAIL_BADREQUEST, NULL },
	{ "OCTET STRING", false, 1, V_ASN1_OCTET_STRING, STR("abc"),
	    SG_EPARSE, SG_FAIL_BADREQUEST, NULL },
	{ "BMPString lone surrogate", false, 1, V_ASN1_BMPSTRING,
	    STR("\0a\xd8\0"), SG_EPARSE, SG_FAIL_BADREQUEST, NULL },
	{ "UniversalString beyond U+10FFFF", false, 1,
	    V_ASN1_UNIVERSALSTRING, STR("\0\x11\0\0"), SG_EPARSE,
	    SG_FAIL_BADREQUEST, NULL },
	{ "UTF8String invalid", false, 1, V_ASN1_UTF8STRING,
	    STR("\xff\xfe"), SG_EPARSE, SG_FAIL_BADREQUEST, NULL },
	{ "UTF8String embedded NUL", false, 1, V_ASN1_UTF8STRING,
	    STR("ab\0cd"), SG_EPARSE, SG_FAIL_BADREQUEST, NULL },
};

static bool
csr_row(const struct fx *f, const struct csr_case *t)
{
	struct p7_csr			*csr = NULL;
	struct p7_msg			*msg = NULL;
	struct sg_err			 err;
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	EVP_PKEY			*key = t->ec ? f->ec_key : f->cli_key;
	unsigned char			*spki = NULL;
	uint8_t				*der, *req, id[32];
	size_t				 len, reqlen;
	enum sg_rc			 rc;
	bool				 ok = true;
	int				 n;

	der = make_csr(key, t->asn1, t->val, t->len, t->count, &len);
	/* Through a PKCSReq: the RA parses what comes out of the envelope. */
	req = wrap(f, der, len, &reqlen);
	msg = server_read(f, req, reqlen);
	CHECK(t->name, msg != NULL);
	CHECK(t->name, msg->data_len == len &&
	    memcmp(msg->data, der, len) == 0);
	sg_err_clear(&err);
	rc = p7_csr_parse(msg->data, msg->data_len, &csr, &err);
	if (rc != t->rc)
		print_error("%s: %s\n", t->name, err.msg);
	CHECK(t->name, rc == t->rc);
	if (rc != SG_OK) {
		CHECK(t->name, csr == NULL);
		CHECK(t->name, err.rc == rc && err.failinfo == t->failinfo);
		CHECK(t->name, p7_csr_parse(der, len, &csr, NULL) == rc);
		goto out;
	}
	if (t->want == NULL) {
		CHECK(t->name, csr->challenge == NULL);
		CHECK(t->name, csr->challenge_type == -1);
	} else {
		CHECK(t->name, csr->challenge != NULL);
		CHECK(t->name, strcmp(csr->challenge, t->want) == 0);
		CHECK(t->name, csr->challenge_type == t->asn1);
	}
	CHECK(t->name, strcmp(csr->subject,
	    "CN=J\xc3\xbcrgen Device,O=Example") == 0);
	CHECK(t->name, csr->key_type == (t->ec ? EVP_PKEY_EC : EVP_PKEY_RSA));
	CHECK(t->name, csr->key_bits == (t->ec ? 256 : 2048));
	n = i2d_PUBKEY(key, &spki);
	CHECK(t->name, n > 0 && EVP_Digest(spki, (size_t)n, id, NULL,
	    EVP_sha256(), NULL) == 1);
	CHECK(t->name, memcmp(csr->key_id, id, sizeof(id)) == 0);
	/* The request itself is kept whole, SAN included. */
	exts = X509_REQ_get_extensions(csr->req);
	CHECK(t->name, X509v3_get_ext_by_NID(exts, NID_subject_alt_name,
	    -1) >= 0);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	OPENSSL_free(spki);
	p7_csr_free(csr);
	p7_msg_free(msg);
	free(req);
	free(der);
	return ok;
}

static void
test_csr_table(void **state)
{
	size_t	i, bad = 0;

	for (i = 0; i < NELEM(csr_cases); i++)
		if (!csr_row(*state, &csr_cases[i]))
			bad++;
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(csr_cases));
}

/*
 * Round trips: client request -> server -> CertRep -> client
 */

/*
 * One enrollment with "cipher" and "digest": the server reads what the
 * client sent, and the client reads a SUCCESS that mirrors both
 * (scep-interop.md 5.3).
 */
static bool
roundtrip(const struct fx *f, const char *name, int cipher, int digest)
{
	static const uint8_t nonce[16] = "0123456789abcdef";
	struct p7_msg		*msg = NULL;
	struct p7_csr		*csr = NULL;
	struct p7_certrep	*cr = NULL;
	struct p7_rep		 rep = { 0 };
	struct sg_err		 err;
	STACK_OF(X509)		*certs = NULL;
	uint8_t			*der, *rder = NULL;
	size_t			 len, rlen;
	bool			 ok = true;

	der = make_req(f, cipher, digest, nonce, "RT-1", &len);
	CHECK(name, p7_msg_parse(der, len, &msg, &err) == SG_OK);
	CHECK(name, msg->type == P7_TYPE_PKCSREQ);
	CHECK(name, strcmp(msg->transid, "RT-1") == 0);
	CHECK(name, msg->sender_nonce_len == 16 &&
	    memcmp(msg->sender_nonce, nonce, 16) == 0);
	CHECK(name, msg->digest_nid == digest);
	CHECK(name, X509_cmp(msg->signer, f->cli_cert) == 0);
	CHECK(name, p7_msg_open(msg, f->ra_cert, f->ra_key, &err) == SG_OK);
	CHECK(name, msg->cipher_nid == cipher);
	CHECK(name, msg->data_len == f->csr_len &&
	    memcmp(msg->data, f->csr, f->csr_len) == 0);
	CHECK(name, p7_csr_parse(msg->data, msg->data_len, &csr, &err) ==
	    SG_OK);
	CHECK(name, strcmp(csr->challenge, CHALLENGE) == 0);
	CHECK(name, csr->challenge_type == V_ASN1_UTF8STRING);

	certs = sk_X509_new_null();
	CHECK(name, certs != NULL && sk_X509_push(certs, f->chain[0]));
	rep.status = P7_STATUS_SUCCESS;
	rep.failinfo = SG_FAIL_NONE;
	rep.req = msg;
	rep.certs = certs;
	rep.sign_cert = f->ra_cert;
	rep.sign_key = f->ra_key;
	if (p7_rep_build(&rep, &rder, &rlen, &err) != SG_OK)
		print_error("%s: p7_rep_build: %s\n", name, err.msg);
	CHECK(name, rder != NULL);
	CHECK(name, signer_digest(rder, rlen) == digest);
	if (p7_certrep_parse(rder, rlen, f->ra_cert, f->cli_cert, f->cli_key,
	    &cr, &err) != SG_OK)
		print_error("%s: p7_certrep_parse: %s\n", name, err.msg);
	CHECK(name, cr != NULL);
	CHECK(name, cr->status == P7_STATUS_SUCCESS);
	CHECK(name, cr->cipher_nid == cipher);
	CHECK(name, sk_X509_num(cr->certs) == 1 &&
	    X509_cmp(sk_X509_value(cr->certs, 0), f->chain[0]) == 0);
out:
	p7_certrep_free(cr);
	sk_X509_free(certs);
	p7_csr_free(csr);
	p7_msg_free(msg);
	free(rder);
	free(der);
	return ok;
}

static void
test_roundtrip(void **state)
{
	static const int ciphers[] = {
		NID_aes_128_cbc, NID_aes_192_cbc, NID_aes_256_cbc,
		NID_des_ede3_cbc,
	};
	static const int digests[] = { NID_sha1, NID_sha256, NID_sha512 };
	char	name[64];
	size_t	i, j, bad = 0;

	for (i = 0; i < NELEM(ciphers); i++)
		for (j = 0; j < NELEM(digests); j++) {
			snprintf(name, sizeof(name), "%s/%s",
			    OBJ_nid2sn(ciphers[i]), OBJ_nid2sn(digests[j]));
			if (!roundtrip(*state, name, ciphers[i], digests[j]))
				bad++;
		}
	if (bad > 0)
		fail_msg("%zu round trips failed", bad);
}

/* Single DES, from the legacy provider (old Cisco, sscep, certmonger). */
static void
test_roundtrip_des(void **state)
{
	struct fx	*f = *state;

	if (f->legacy == NULL) {
		print_message("legacy provider not installed\n");
		skip();
	}
	assert_true(roundtrip(f, "DES-CBC/SHA-1", NID_des_cbc, NID_sha1));
	assert_true(roundtrip(f, "DES-CBC/SHA-256", NID_des_cbc,
	    NID_sha256));
}

/* p7_req_build defaults: AES-128-CBC, SHA-256, a random 16-byte nonce. */
static void
test_req_defaults(void **state)
{
	struct fx	*f = *state;
	struct p7_msg	*a, *b;
	uint8_t		*d1, *d2;
	size_t		 l1, l2;

	d1 = make_req(f, 0, 0, NULL, "DEFAULTS", &l1);
	d2 = make_req(f, 0, 0, NULL, "DEFAULTS", &l2);
	a = server_read(f, d1, l1);
	b = server_read(f, d2, l2);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->cipher_nid, NID_aes_128_cbc);
	assert_int_equal(a->digest_nid, NID_sha256);
	assert_int_equal(a->sender_nonce_len, 16);
	assert_int_equal(b->sender_nonce_len, 16);
	assert_memory_not_equal(a->sender_nonce, b->sender_nonce, 16);
	p7_msg_free(a);
	p7_msg_free(b);
	free(d1);
	free(d2);
}

/* Encrypted to the RA and to another certificate (micromdm: RA + CA). */
static void
test_two_recipients(void **state)
{
	struct fx	*f = *state;
	struct p7_req	 rq = { 0 };
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;
	STACK_OF(X509)	*rcpt;
	uint8_t		*der = NULL;
	size_t		 len;

	rcpt = sk_X509_new_null();
	assert_non_null(rcpt);
	/* The RA second, so that the first RecipientInfo is not ours. */
	assert_true(sk_X509_push(rcpt, f->other_cert));
	assert_true(sk_X509_push(rcpt, f->ra_cert));
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "TWO";
	rq.data = f->csr;
	rq.data_len = f->csr_len;
	rq.signer = f->cli_cert;
	rq.signer_key = f->cli_key;
	rq.recipients = rcpt;
	rq.cipher_nid = NID_aes_256_cbc;
	assert_int_equal(p7_req_build(&rq, &der, &len, &err), SG_OK);
	msg = server_read(f, der, len);
	assert_non_null(msg);
	assert_int_equal(msg->cipher_nid, NID_aes_256_cbc);
	assert_int_equal(msg->data_len, f->csr_len);
	assert_memory_equal(msg->data, f->csr, f->csr_len);
	p7_msg_free(msg);
	/* The other recipient can open it too. */
	assert_int_equal(p7_msg_parse(der, len, &msg, &err), SG_OK);
	assert_int_equal(p7_msg_open(msg, f->other_cert, f->other_key, &err),
	    SG_OK);
	assert_memory_equal(msg->data, f->csr, f->csr_len);
	p7_msg_free(msg);
	sk_X509_free(rcpt);
	free(der);
}

/*
 * An EC client (RFC 8894 3.1 leaves non-RSA keys to the client): the RA
 * reads its request as any other, and the SUCCESS envelope to its
 * certificate becomes a KeyAgreeRecipientInfo (ECDH), which the client
 * reader must open too.
 */
static void
test_ec_client(void **state)
{
	struct fx		*f = *state;
	struct p7_req		 rq = { 0 };
	struct p7_msg		*msg;
	struct p7_csr		*csr = NULL;
	struct p7_certrep	*cr = NULL;
	struct sg_err		 err;
	STACK_OF(X509)		*certs;
	X509			*ec_cert;
	uint8_t			*csrder, *der = NULL, *rder;
	size_t			 csrlen, len, rlen;

	ec_cert = make_cert("EC client", f->ec_key, NULL, f->ec_key, 6);
	csrder = make_csr(f->ec_key, V_ASN1_PRINTABLESTRING, STR("abc"), 1,
	    &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = "EC";
	rq.data = csrder;
	rq.data_len = csrlen;
	rq.signer = ec_cert;
	rq.signer_key = f->ec_key;
	rq.recipients = f->ra_stack;
	assert_int_equal(p7_req_build(&rq, &der, &len, &err), SG_OK);
	msg = server_read(f, der, len);
	assert_non_null(msg);
	assert_int_equal(X509_cmp(msg->signer, ec_cert), 0);
	assert_int_equal(p7_csr_parse(msg->data, msg->data_len, &csr, &err),
	    SG_OK);
	assert_int_equal(csr->key_type, EVP_PKEY_EC);
	assert_string_equal(csr->challenge, "abc");
	certs = sk_X509_new_null();
	assert_non_null(certs);
	assert_true(sk_X509_push(certs, f->chain[0]));
	rder = make_rep(f, msg, certs, 0, 0, &rlen);
	if (p7_certrep_parse(rder, rlen, f->ra_cert, ec_cert, f->ec_key, &cr,
	    &err) != SG_OK)
		fail_msg("p7_certrep_parse: %s", err.msg);
	assert_int_equal(cr->status, P7_STATUS_SUCCESS);
	assert_int_equal(cr->cipher_nid, NID_aes_128_cbc);
	assert_int_equal(sk_X509_num(cr->certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(cr->certs, 0), f->chain[0]),
	    0);
	p7_certrep_free(cr);
	sk_X509_free(certs);
	free(rder);
	p7_csr_free(csr);
	p7_msg_free(msg);
	free(der);
	free(csrder);
	X509_free(ec_cert);
}

/*
 * Hand-built pkiMessages (CMS API directly): what p7_req_build cannot
 * make, valid (RSA-OAEP, BER streaming) or not (attributes missing,
 * repeated, of the wrong type or size)
 */

#define H_NO_NONCE	0x0001	/* no senderNonce */
#define H_DUP_TRANSID	0x0002	/* transactionID attribute twice */
#define H_TWO_VALUES	0x0004	/* transactionID with two values */
#define H_ECT_SIGNED	0x0008	/* eContentType id-signedData */
#define H_NO_CERTS	0x0010	/* signer certificate left out */
#define H_NOATTR	0x0020	/* no signed attributes at all */
#define H_OAEP		0x0040	/* RSAES-OAEP key transport */
#define H_STREAM	0x0080	/* BER, indefinite lengths, chunks */
#define H_TWO_SIGNERS	0x0100	/* a second SignerInfo */
#define H_DETACHED	0x0200	/* no eContent */
#define H_SIGNER_KEYID	0x0400	/* SignerInfo sid: subjectKeyIdentifier */
#define H_RCPT_KEYID	0x0800	/* RecipientInfo rid: the same */

struct hand {
	const char	*name;
	const char	*type;		/* messageType; NULL: left out */
	const char	*transid;	/* NULL: left out */
	size_t		 transid_len;	/* 0: strlen */
	int		 transid_asn1;	/* 0: PrintableString */
	size_t		 nonce_len;	/* 0: 16 */
	int		 nonce_asn1;	/* 0: OCTET STRING */
	unsigned int	 flags;		/* H_* */
	enum sg_rc	 rc;
	int		 failinfo;
};

#define S16	"0123456789ABCDEF"
#define S128	S16 S16 S16 S16 S16 S16 S16 S16
#define GOOD	SG_OK, SG_FAIL_NONE
#define BADREQ	SG_EPARSE, SG_FAIL_BADREQUEST

static const struct hand hand_cases[] = {
	{ "valid", "19", "HAND", 0, 0, 0, 0, 0, GOOD },
	{ "RSAES-OAEP recipient", "19", "HAND", 0, 0, 0, 0, H_OAEP, GOOD },
	{ "BER, chunked eContent", "19", "HAND", 0, 0, 0, 0, H_STREAM, GOOD },
	{ "signer named by keyid", "19", "HAND", 0, 0, 0, 0, H_SIGNER_KEYID,
	    GOOD },
	{ "messageType 99 (ra/ decides)", "99", "HAND", 0, 0, 0, 0, 0, GOOD },
	{ "messageType 255", "255", "HAND", 0, 0, 0, 0, 0, GOOD },
	{ "no messageType", NULL, "HAND", 0, 0, 0, 0, 0, BADREQ },
	{ "messageType 256", "256", "HAND", 0, 0, 0, 0, 0, BADREQ },
	{ "messageType -1", "-1", "HAND", 0, 0, 0, 0, 0, BADREQ },
	{ "messageType 19x", "19x", "HAND", 0, 0, 0, 0, 0, BADREQ },
	{ "messageType empty", "", "HAND", 0, 0, 0, 0, 0, BADREQ },
	{ "no transactionID", "19", NULL, 0, 0, 0, 0, 0, BADREQ },
	{ "empty transactionID", "19", "", 0, 0, 0, 0, 0, BADREQ },
	{ "transactionID 128 chars", "19", S128, 0, 0, 0, 0, 0, GOOD },
	{ "transactionID 129 chars", "19", S128 "X", 0, 0, 0, 0, 0,
	    BADREQ },
	{ "transactionID base64", "19", "q+/5a7hPq2HrRZ0z2b9bZ3Vq/z8=", 0, 0,
	    0, 0, 0, GOOD },
	{ "transactionID UTF8String", "19", "HAND", 0, V_ASN1_UTF8STRING,
	    0, 0, 0, GOOD },
	{ "transactionID IA5String", "19", "HAND", 0, V_ASN1_IA5STRING,
	    0, 0, 0, GOOD },
	{ "transactionID BMPString", "19", "\0H\0I", 4, V_ASN1_BMPSTRING,
	    0, 0, 0, BADREQ },
	{ "transactionID OCTET STRING", "19", "HAND", 0,
	    V_ASN1_OCTET_STRING, 0, 0, 0, BADREQ },
	{ "transactionID embedded NUL", "19", "HA\0ND", 5, 0, 0, 0, 0,
	    BADREQ },
	{ "transactionID repeated", "19", "HAND", 0, 0, 0, 0, H_DUP_TRANSID,
	    BADREQ },
	{ "transactionID two values", "19", "HAND", 0, 0, 0, 0,
	    H_TWO_VALUES, BADREQ },
	{ "senderNonce 1 byte", "19", "HAND", 0, 0, 1, 0, 0, GOOD },
	{ "senderNonce 8 bytes", "19", "HAND", 0, 0, 8, 0, 0, GOOD },
	{ "senderNonce 64 bytes", "19", "HAND", 0, 0, 64, 0, 0, GOOD },
	{ "senderNonce 65 bytes", "19", "HAND", 0, 0, 65, 0, 0, BADREQ },
	{ "senderNonce empty", "19", "HAND", 0, 0, (size_t)-1, 0, 0,
	    BADREQ },
	{ "senderNonce PrintableString", "19", "HAND", 0, 0, 0,
	    V_ASN1_PRINTABLESTRING, 0, BADREQ },
	{ "no senderNonce", "19", "HAND", 0, 0, 0, 0, H_NO_NONCE, BADREQ },
	{ "no signed attributes", "19", "HAND", 0, 0, 0, 0, H_NOATTR,
	    BADREQ },
	{ "eContentType signedData", "19", "HAND", 0, 0, 0, 0, H_ECT_SIGNED,
	    BADREQ },
	{ "signer certificate left out", "19", "HAND", 0, 0, 0, 0,
	    H_NO_CERTS, BADREQ },
	{ "two signerInfos", "19", "HAND", 0, 0, 0, 0, H_TWO_SIGNERS,
	    SG_EPARSE, SG_FAIL_NONE },
	/*
	 * No eContent: nothing to check messageDigest against, so the
	 * CMS verification fails and it reads as a bad signature (with
	 * *out set, so that a FAILURE can still be signed).
	 */
	{ "detached (no eContent)", "19", "HAND", 0, 0, 0, 0, H_DETACHED,
	    SG_EBADSIG, SG_FAIL_BADMSGCHECK },
};

/* The EnvelopedData for the RA, with PKCS#1 v1.5 or OAEP. */
static uint8_t *
hand_envelope(const struct fx *f, bool oaep, bool keyid, size_t *len)
{
	CMS_ContentInfo		*cms;
	CMS_RecipientInfo	*ri;
	BIO			*in;
	unsigned char		*der = NULL;
	uint8_t			*out;
	unsigned int		 flags = CMS_BINARY | CMS_PARTIAL;
	int			 n;

	in = BIO_new_mem_buf(f->csr, (int)f->csr_len);
	assert_non_null(in);
	cms = CMS_encrypt(NULL, NULL, EVP_aes_128_cbc(), flags);
	assert_non_null(cms);
	ri = CMS_add1_recipient_cert(cms, f->ra_cert, flags |
	    (oaep ? CMS_KEY_PARAM : 0) | (keyid ? CMS_USE_KEYID : 0));
	assert_non_null(ri);
	if (oaep)
		assert_true(EVP_PKEY_CTX_set_rsa_padding(
		    CMS_RecipientInfo_get0_pkey_ctx(ri),
		    RSA_PKCS1_OAEP_PADDING) > 0);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	out = dup_bytes(der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return out;
}

/* Add one signed attribute of ASN.1 type "asn1". */
static void
hand_attr(CMS_SignerInfo *si, const char *oid, int asn1, const void *p,
    size_t len)
{
	assert_int_equal(CMS_signed_add1_attr_by_txt(si, oid, asn1, p,
	    (int)len), 1);
}

/* Give the attribute "oid" of "si" a second value. */
static void
second_value(CMS_SignerInfo *si, const char *oid)
{
	ASN1_OBJECT	*obj;
	int		 idx;

	obj = OBJ_txt2obj(oid, 1);
	assert_non_null(obj);
	idx = CMS_signed_get_attr_by_OBJ(si, obj, -1);
	ASN1_OBJECT_free(obj);
	assert_true(idx >= 0);
	assert_int_equal(X509_ATTRIBUTE_set1_data(CMS_signed_get_attr(si,
	    idx), V_ASN1_PRINTABLESTRING, "OTHER", 5), 1);
}

static uint8_t *
hand_build(const struct fx *f, const struct hand *h, size_t *len)
{
	CMS_ContentInfo	*cms;
	CMS_SignerInfo	*si;
	BIO		*in, *out, *b, *next;
	uint8_t		*env, *der, nonce[80];
	unsigned char	*buf = NULL;
	const char	*p;
	size_t		 envlen, nlen, tlen, i;
	unsigned int	 flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	int		 n;

	env = hand_envelope(f, (h->flags & H_OAEP) != 0,
	    (h->flags & H_RCPT_KEYID) != 0, &envlen);
	if (h->flags & H_NOATTR)
		flags |= CMS_NOATTR;
	if (h->flags & H_NO_CERTS)
		flags |= CMS_NOCERTS;
	if (h->flags & H_STREAM)
		flags |= CMS_STREAM;
	if (h->flags & H_DETACHED)
		flags |= CMS_DETACHED;
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	assert_non_null(cms);
	if (h->flags & H_ECT_SIGNED)
		assert_int_equal(CMS_set1_eContentType(cms,
		    OBJ_nid2obj(NID_pkcs7_signed)), 1);
	si = CMS_add1_signer(cms, f->cli_cert, f->cli_key, EVP_sha256(),
	    flags | (h->flags & H_SIGNER_KEYID ? CMS_USE_KEYID : 0));
	assert_non_null(si);
	if (h->flags & H_TWO_SIGNERS)
		assert_non_null(CMS_add1_signer(cms, f->other_cert,
		    f->other_key, EVP_sha256(), flags));
	if (!(h->flags & H_NOATTR)) {
		if (h->type != NULL)
			hand_attr(si, OID_MESSAGETYPE, V_ASN1_PRINTABLESTRING,
			    h->type, strlen(h->type));
		if (h->transid != NULL) {
			tlen = h->transid_len ? h->transid_len :
			    strlen(h->transid);
			hand_attr(si, OID_TRANSID, h->transid_asn1 ?
			    h->transid_asn1 : V_ASN1_PRINTABLESTRING,
			    h->transid, tlen);
			if (h->flags & H_DUP_TRANSID)
				hand_attr(si, OID_TRANSID,
				    V_ASN1_PRINTABLESTRING, h->transid, tlen);
			if (h->flags & H_TWO_VALUES)
				second_value(si, OID_TRANSID);
		}
		if (!(h->flags & H_NO_NONCE)) {
			nlen = h->nonce_len == 0 ? 16 :
			    h->nonce_len == (size_t)-1 ? 0 : h->nonce_len;
			for (i = 0; i < sizeof(nonce); i++)
				nonce[i] = (uint8_t)('a' + i % 26);
			hand_attr(si, OID_SENDERNONCE, h->nonce_asn1 ?
			    h->nonce_asn1 : V_ASN1_OCTET_STRING, nonce, nlen);
		}
	}
	in = BIO_new_mem_buf(env, (int)envlen);
	assert_non_null(in);
	if (h->flags & H_STREAM) {
		/*
		 * Indefinite lengths, eContent as a constructed OCTET
		 * STRING of 100-byte chunks, as Windows sends (4.1).
		 */
		out = BIO_new(BIO_s_mem());
		b = BIO_new_CMS(out, cms);
		assert_non_null(b);
		for (i = 0; i < envlen; i += 100)
			assert_true(BIO_write(b, env + i, envlen - i < 100 ?
			    (int)(envlen - i) : 100) > 0);
		assert_int_equal(BIO_flush(b), 1);
		do {
			next = BIO_pop(b);
			BIO_free(b);
			b = next;
		} while (b != out);
		n = (int)BIO_get_mem_data(out, &p);
		assert_true(n > 0);
		der = dup_bytes((const uint8_t *)p, (size_t)n);
		BIO_free(out);
	} else {
		assert_int_equal(CMS_final(cms, in, NULL, flags), 1);
		n = i2d_CMS_ContentInfo(cms, &buf);
		assert_true(n > 0);
		der = dup_bytes(buf, (size_t)n);
		OPENSSL_free(buf);
	}
	*len = (size_t)n;
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	free(env);
	return der;
}

static bool
hand_row(const struct fx *f, const struct hand *h)
{
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len, tlen;
	enum sg_rc	 rc;
	long		 type;
	bool		 ok = true;

	der = hand_build(f, h, &len);
	sg_err_clear(&err);
	rc = p7_msg_parse(der, len, &msg, &err);
	if (rc != h->rc)
		print_error("%s: rc %d: %s\n", h->name, rc, err.msg);
	CHECK(h->name, rc == h->rc);
	if (rc != SG_OK) {
		CHECK(h->name, err.rc == rc && err.failinfo == h->failinfo);
		/* *out is set on a bad signature only. */
		CHECK(h->name, (msg != NULL) == (rc == SG_EBADSIG));
		if (rc != SG_EBADSIG)
			CHECK(h->name, p7_msg_parse(der, len, &msg, NULL) ==
			    rc);
		goto out;
	}
	CHECK(h->name, sg_parse_long(h->type, 0, 255, &type));
	CHECK(h->name, msg->type == (int)type);
	tlen = h->transid_len ? h->transid_len : strlen(h->transid);
	CHECK(h->name, strlen(msg->transid) == tlen &&
	    memcmp(msg->transid, h->transid, tlen) == 0);
	CHECK(h->name, msg->sender_nonce_len == (h->nonce_len ? h->nonce_len :
	    16));
	CHECK(h->name, p7_msg_open(msg, f->ra_cert, f->ra_key, &err) ==
	    SG_OK);
	CHECK(h->name, msg->cipher_nid == NID_aes_128_cbc);
	CHECK(h->name, msg->data_len == f->csr_len &&
	    memcmp(msg->data, f->csr, f->csr_len) == 0);
out:
	p7_msg_free(msg);
	free(der);
	return ok;
}

static void
test_hand_table(void **state)
{
	size_t	i, bad = 0;

	for (i = 0; i < NELEM(hand_cases); i++)
		if (!hand_row(*state, &hand_cases[i]))
			bad++;
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(hand_cases));
}

/*
 * Regression (found by this test, fixed in dea5330): p7_msg_open() read
 * the content cipher with the PKCS#7 v1.5 decoder, which only knows
 * RecipientInfos named by issuerAndSerialNumber. An EnvelopedData whose
 * RecipientInfo names the RA key by subjectKeyIdentifier (RFC 5652
 * 6.2.1, version 2; CMS_USE_KEYID) read as cipher NID_undef and was
 * refused with SG_EALG/badAlg, although CMS_decrypt() opens it.
 */
static void
test_open_keyid(void **state)
{
	static const struct hand h = {
		"recipient named by keyid", "19", "HAND", 0, 0, 0, 0,
		H_RCPT_KEYID, GOOD,
	};
	struct fx	*f = *state;
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len;
	enum sg_rc	 rc;
	bool		 ok;

	der = hand_build(f, &h, &len);
	assert_int_equal(p7_msg_parse(der, len, &msg, &err), SG_OK);
	sg_err_clear(&err);
	rc = p7_msg_open(msg, f->ra_cert, f->ra_key, &err);
	ok = rc == SG_OK && msg->cipher_nid == NID_aes_128_cbc &&
	    msg->data_len == f->csr_len &&
	    memcmp(msg->data, f->csr, f->csr_len) == 0;
	p7_msg_free(msg);
	free(der);
	/* Freed first, so that the failure leaks nothing under ASan. */
	if (!ok)
		fail_msg("p7_msg_open: rc %d failinfo %d: %.100s", rc,
		    err.failinfo, err.msg);
}

/*
 * CertRep: p7_rep_build -> p7_certrep_parse (RFC 8894 3.3.2)
 */

struct rep_case {
	const char	*name;
	int		 status;
	int		 failinfo;	/* given to p7_rep_build */
	const char	*failtext;
	size_t		 ncerts;	/* of the chain, SUCCESS only */
	int		 want_failinfo;
	const char	*want_failtext;
};

#define LONGTEXT	S128 S128 "!"	/* 257 bytes: more than we read */

static const struct rep_case rep_cases[] = {
	{ "SUCCESS, one cert", P7_STATUS_SUCCESS, SG_FAIL_NONE, NULL, 1,
	    SG_FAIL_NONE, "" },
	{ "SUCCESS, chain of 3", P7_STATUS_SUCCESS, SG_FAIL_NONE, NULL, 3,
	    SG_FAIL_NONE, "" },
	{ "PENDING", P7_STATUS_PENDING, SG_FAIL_NONE, NULL, 0, SG_FAIL_NONE,
	    "" },
	{ "FAILURE badAlg", P7_STATUS_FAILURE, SG_FAIL_BADALG, NULL, 0,
	    SG_FAIL_BADALG, "" },
	{ "FAILURE badMessageCheck", P7_STATUS_FAILURE, SG_FAIL_BADMSGCHECK,
	    "cannot decrypt", 0, SG_FAIL_BADMSGCHECK, "cannot decrypt" },
	{ "FAILURE badRequest", P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "access code mismatch", 0, SG_FAIL_BADREQUEST,
	    "access code mismatch" },
	{ "FAILURE badTime", P7_STATUS_FAILURE, SG_FAIL_BADTIME, "", 0,
	    SG_FAIL_BADTIME, "" },
	{ "FAILURE badCertId", P7_STATUS_FAILURE, SG_FAIL_BADCERTID,
	    "Zugriff verweigert \xe2\x80\x93 \xc3\xbc", 0, SG_FAIL_BADCERTID,
	    "Zugriff verweigert \xe2\x80\x93 \xc3\xbc" },
	{ "FAILURE, no failInfo given", P7_STATUS_FAILURE, SG_FAIL_NONE,
	    NULL, 0, SG_FAIL_BADREQUEST, "" },
	{ "FAILURE, failInfo out of range", P7_STATUS_FAILURE, 99, NULL, 0,
	    SG_FAIL_BADREQUEST, "" },
	{ "FAILURE, failInfoText too long to read", P7_STATUS_FAILURE,
	    SG_FAIL_BADREQUEST, LONGTEXT, 0, SG_FAIL_BADREQUEST, "" },
};

static bool
rep_row(const struct fx *f, const struct rep_case *t)
{
	static const uint8_t nonce[16] = "fedcba9876543210";
	struct p7_msg		*msg = NULL;
	struct p7_certrep	*cr = NULL;
	struct p7_rep		 rep = { 0 };
	struct sg_err		 err;
	STACK_OF(X509)		*certs = NULL;
	uint8_t			*der, *rder = NULL;
	size_t			 len, rlen, i;
	enum sg_rc		 rc;
	bool			 ok = true;

	/* Cipher and digest other than the defaults, to see them mirrored. */
	der = make_req(f, NID_aes_256_cbc, NID_sha512, nonce, "REP-TXN",
	    &len);
	msg = server_read(f, der, len);
	CHECK(t->name, msg != NULL);
	certs = sk_X509_new_null();
	CHECK(t->name, certs != NULL);
	for (i = 0; i < t->ncerts; i++)
		CHECK(t->name, sk_X509_push(certs, f->chain[i]));
	rep.status = t->status;
	rep.failinfo = t->failinfo;
	rep.failtext = t->failtext;
	rep.req = msg;
	rep.certs = certs;
	rep.sign_cert = f->ra_cert;
	rep.sign_key = f->ra_key;
	rc = p7_rep_build(&rep, &rder, &rlen, &err);
	if (rc != SG_OK)
		print_error("%s: p7_rep_build: %s\n", t->name, err.msg);
	CHECK(t->name, rc == SG_OK);
	CHECK(t->name, signer_digest(rder, rlen) == NID_sha512);
	/*
	 * FAILURE and PENDING: no pkcsPKIEnvelope (3.3.2.2) but an empty
	 * eContent of type data, so that PKCS7_verify() (certmonger)
	 * verifies them without detached content.
	 */
	if (t->status != P7_STATUS_SUCCESS)
		CHECK(t->name, econtent_len(rder, rlen) == 0);
	else
		CHECK(t->name, econtent_len(rder, rlen) > 0);
	CHECK(t->name, pkcs7_verifies(rder, rlen, f->ra_cert));
	sg_err_clear(&err);
	rc = p7_certrep_parse(rder, rlen, f->ra_cert, f->cli_cert,
	    f->cli_key, &cr, &err);
	if (rc != SG_OK)
		print_error("%s: p7_certrep_parse: %s\n", t->name, err.msg);
	CHECK(t->name, rc == SG_OK);
	CHECK(t->name, cr->status == t->status);
	CHECK(t->name, cr->failinfo == t->want_failinfo);
	CHECK(t->name, strcmp(cr->failtext, t->want_failtext) == 0);
	CHECK(t->name, strcmp(cr->transid, "REP-TXN") == 0);
	CHECK(t->name, cr->recipient_nonce_len == 16 &&
	    memcmp(cr->recipient_nonce, nonce, 16) == 0);
	CHECK(t->name, cr->sender_nonce_len == 16 &&
	    memcmp(cr->sender_nonce, nonce, 16) != 0);
	if (t->status != P7_STATUS_SUCCESS) {
		CHECK(t->name, cr->certs == NULL);
		goto out;
	}
	CHECK(t->name, cr->cipher_nid == NID_aes_256_cbc);
	/* The issued certificate first, then the chain in order (5.1). */
	CHECK(t->name, (size_t)sk_X509_num(cr->certs) == t->ncerts);
	for (i = 0; i < t->ncerts; i++)
		CHECK(t->name, X509_cmp(sk_X509_value(cr->certs, (int)i),
		    f->chain[i]) == 0);
out:
	p7_certrep_free(cr);
	sk_X509_free(certs);
	p7_msg_free(msg);
	free(rder);
	free(der);
	return ok;
}

static void
test_rep_table(void **state)
{
	size_t	i, bad = 0;

	for (i = 0; i < NELEM(rep_cases); i++)
		if (!rep_row(*state, &rep_cases[i]))
			bad++;
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(rep_cases));
}

/*
 * The client side reads both encodings of a CertRep without envelope:
 * scepgate's empty eContent and the detached form (no eContent at all)
 * of other servers and of scepgate before; only the first one passes
 * PKCS7_verify() without content.
 */
static void
test_rep_detached(void **state)
{
	struct fx		*f = *state;
	struct p7_msg		*msg;
	struct p7_certrep	*cr = NULL;
	struct sg_err		 err;
	uint8_t			*der, *rder, *dder;
	size_t			 len, rlen, dlen;

	der = make_req(f, NID_aes_128_cbc, NID_sha256, NULL, "DETACHED",
	    &len);
	msg = server_read(f, der, len);
	assert_non_null(msg);
	rder = make_rep(f, msg, NULL, 0, 0, &rlen);	/* PENDING */
	dder = detach(rder, rlen, &dlen);
	assert_int_equal(econtent_len(rder, rlen), 0);
	assert_int_equal(econtent_len(dder, dlen), -1);
	assert_true(pkcs7_verifies(rder, rlen, f->ra_cert));
	assert_false(pkcs7_verifies(dder, dlen, f->ra_cert));
	assert_int_equal(p7_certrep_parse(rder, rlen, f->ra_cert, f->cli_cert,
	    f->cli_key, &cr, &err), SG_OK);
	assert_int_equal(cr->status, P7_STATUS_PENDING);
	p7_certrep_free(cr);
	cr = NULL;
	assert_int_equal(p7_certrep_parse(dder, dlen, f->ra_cert, f->cli_cert,
	    f->cli_key, &cr, &err), SG_OK);
	assert_int_equal(cr->status, P7_STATUS_PENDING);
	assert_string_equal(cr->transid, "DETACHED");
	p7_certrep_free(cr);
	free(dder);
	free(rder);
	p7_msg_free(msg);
	free(der);
}

/*
 * A fresh senderNonce in every reply (jscep rejects repeats, 5.2), the
 * explicit cipher and digest overrides, and who may read a reply.
 */
static void
test_rep_details(void **state)
{
	struct fx		*f = *state;
	struct p7_msg		*msg;
	struct p7_certrep	*a = NULL, *b = NULL, *c = NULL;
	struct sg_err		 err;
	STACK_OF(X509)		*certs;
	uint8_t			*der, *r1, *r2;
	size_t			 len, l1, l2;

	der = make_req(f, NID_aes_128_cbc, NID_sha256, NULL, "DETAILS", &len);
	msg = server_read(f, der, len);
	assert_non_null(msg);
	certs = sk_X509_new_null();
	assert_non_null(certs);
	assert_true(sk_X509_push(certs, f->chain[0]));

	/* Two SUCCESS replies to one request: different senderNonces. */
	r1 = make_rep(f, msg, certs, 0, 0, &l1);
	r2 = make_rep(f, msg, certs, 0, 0, &l2);
	assert_int_equal(p7_certrep_parse(r1, l1, f->ra_cert, f->cli_cert,
	    f->cli_key, &a, &err), SG_OK);
	assert_int_equal(p7_certrep_parse(r2, l2, NULL, f->cli_cert,
	    f->cli_key, &b, &err), SG_OK);
	assert_int_equal(a->sender_nonce_len, 16);
	assert_memory_not_equal(a->sender_nonce, b->sender_nonce, 16);
	assert_memory_equal(a->recipient_nonce, b->recipient_nonce, 16);
	assert_memory_equal(a->recipient_nonce, msg->sender_nonce, 16);
	p7_certrep_free(a);
	p7_certrep_free(b);
	a = b = NULL;

	/* Signed by someone else than the RA we trust. */
	assert_int_equal(p7_certrep_parse(r1, l1, f->other_cert,
	    f->cli_cert, f->cli_key, &c, &err), SG_EBADSIG);
	assert_null(c);
	/* Encrypted to the client, not to another key. */
	assert_int_equal(p7_certrep_parse(r1, l1, f->ra_cert, f->other_cert,
	    f->other_key, &c, &err), SG_EDECRYPT);
	assert_null(c);
	free(r1);
	free(r2);

	/* Overrides: AES-256 and SHA-384 instead of the request's. */
	r1 = make_rep(f, msg, certs, NID_aes_256_cbc, NID_sha384, &l1);
	assert_int_equal(signer_digest(r1, l1), NID_sha384);
	assert_int_equal(p7_certrep_parse(r1, l1, f->ra_cert, f->cli_cert,
	    f->cli_key, &a, &err), SG_OK);
	assert_int_equal(a->cipher_nid, NID_aes_256_cbc);
	p7_certrep_free(a);
	free(r1);

	/* A digest we do not sign with (MD5) falls back to SHA-256. */
	r1 = make_rep(f, msg, certs, 0, NID_md5, &l1);
	assert_int_equal(signer_digest(r1, l1), NID_sha256);
	free(r1);

	/* SUCCESS needs a certificate. */
	sk_X509_zero(certs);
	assert_int_not_equal(p7_rep_build(&(struct p7_rep){
	    .status = P7_STATUS_SUCCESS, .req = msg, .certs = certs,
	    .sign_cert = f->ra_cert, .sign_key = f->ra_key }, &r1, &l1,
	    &err), SG_OK);

	sk_X509_free(certs);
	p7_msg_free(msg);
	free(der);
}

/*
 * Degenerate certs-only SignedData: insertion order is kept (the CMS
 * encoder would DER-sort the SET and put the shorter certificate first)
 */
static void
test_certs_order(void **state)
{
	struct fx	*f = *state;
	STACK_OF(X509)	*in, *out = NULL;
	struct sg_err	 err;
	X509		*longer;
	uint8_t		*der = NULL;
	size_t		 len, i;

	/* 64 characters, the most a CN may have (RFC 5280 A.1). */
	longer = make_cert("a much longer common name than the RA's, so "
	    "it encodes longer.", f->cli_key, NULL, f->cli_key, 99);
	assert_true(i2d_X509(longer, NULL) > i2d_X509(f->ra_cert, NULL));
	in = sk_X509_new_null();
	assert_non_null(in);
	assert_true(sk_X509_push(in, longer));
	assert_true(sk_X509_push(in, f->ra_cert));
	assert_true(sk_X509_push(in, f->chain[0]));
	assert_int_equal(p7_certs_build(in, &der, &len, &err), SG_OK);
	assert_int_equal(p7_certs_parse(der, len, &out, &err), SG_OK);
	assert_int_equal(sk_X509_num(out), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(X509_cmp(sk_X509_value(out, (int)i),
		    sk_X509_value(in, (int)i)), 0);
	/* Degenerate: no eContent, no signers. */
	assert_int_equal(econtent_len(der, len), -1);
	sk_X509_pop_free(out, X509_free);
	free(der);

	/* An empty set is valid too. */
	sk_X509_zero(in);
	assert_int_equal(p7_certs_build(in, &der, &len, &err), SG_OK);
	assert_int_equal(p7_certs_parse(der, len, &out, &err), SG_OK);
	assert_int_equal(sk_X509_num(out), 0);
	sk_X509_pop_free(out, X509_free);
	free(der);
	sk_X509_free(in);
	X509_free(longer);
}

/*
 * GetNextCACert (RFC 8894 4.7.1): the next certificates are readable
 * both from the signed content and from the outer certificates field,
 * and the signature verifies with the current RA alone.
 */
static void
check_next(const struct fx *f, STACK_OF(X509) *next, int want_outer)
{
	const unsigned char	*p;
	STACK_OF(X509)		*inner = NULL, *outer, *other;
	CMS_ContentInfo		*cms;
	struct sg_err		 err;
	PKCS7			*p7;
	BIO			*content;
	uint8_t			*der = NULL;
	char			*buf;
	size_t			 len;
	long			 n;
	int			 i;

	assert_int_equal(p7_next_build(next, f->ra_cert, f->ra_key, &der, &len,
	    &err), SG_OK);
	/* Outer: the next certificates first, in order, then the RA. */
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_true(PKCS7_type_is_signed(p7));
	outer = p7->d.sign->cert;
	assert_int_equal(sk_X509_num(outer), want_outer);
	for (i = 0; i < sk_X509_num(next); i++)
		assert_int_equal(X509_cmp(sk_X509_value(outer, i),
		    sk_X509_value(next, i)), 0);
	assert_int_equal(X509_cmp(sk_X509_value(outer, want_outer - 1),
	    f->ra_cert), 0);
	PKCS7_free(p7);
	/* Inner: verified with only the current RA trusted as signer. */
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	content = BIO_new(BIO_s_mem());
	assert_non_null(content);
	assert_int_equal(CMS_verify(cms, f->ra_stack, NULL, NULL, content,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY), 1);
	n = BIO_get_mem_data(content, &buf);
	assert_int_equal(p7_certs_parse((uint8_t *)buf, (size_t)n, &inner,
	    &err), SG_OK);
	assert_int_equal(sk_X509_num(inner), sk_X509_num(next));
	for (i = 0; i < sk_X509_num(next); i++)
		assert_int_equal(X509_cmp(sk_X509_value(inner, i),
		    sk_X509_value(next, i)), 0);
	/* Only the current RA's signature: another certificate fails. */
	CMS_ContentInfo_free(cms);
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);	/* no cached signer */
	assert_non_null(cms);
	other = sk_X509_new_null();
	assert_non_null(other);
	assert_true(sk_X509_push(other, f->other_cert));
	assert_int_not_equal(CMS_verify(cms, other, NULL, NULL, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY), 1);
	ERR_clear_error();
	sk_X509_free(other);
	sk_X509_pop_free(inner, X509_free);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	free(der);
}

static void
test_next(void **state)
{
	struct fx	*f = *state;
	STACK_OF(X509)	*next;

	next = sk_X509_new_null();
	assert_non_null(next);
	/* A next RA and CA: both, then the current RA (3 in all). */
	assert_true(sk_X509_push(next, f->other_cert));
	assert_true(sk_X509_push(next, f->chain[2]));
	check_next(f, next, 3);
	/* The current RA stays in the next set: not added twice. */
	assert_true(sk_X509_push(next, f->ra_cert));
	check_next(f, next, 3);
	sk_X509_free(next);
}

/*
 * Hostile files (tests/data/make-hostile.sh), through every parser
 */

enum parser { MSG, CSR, CERTS };

struct file_case {
	const char	*file;
	enum parser	 parser;	/* the one the file is aimed at */
	enum sg_rc	 rc;
	int		 failinfo;
};

static const struct file_case file_cases[] = {
	{ "empty.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "req2_truncated.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "req2_trailing_garbage.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "req2_bare_certificate.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "req2_envelope_only.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "req2_econtent_type_enveloped.der", MSG, SG_EPARSE,
	    SG_FAIL_BADREQUEST },
	{ "req2_bad_signature.der", MSG, SG_EBADSIG, SG_FAIL_BADMSGCHECK },
	{ "req2_tampered_content.der", MSG, SG_EBADSIG, SG_FAIL_BADMSGCHECK },
	{ "huge_length.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "length_overflow.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "nested_ber_octets.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "req0_truncated.der", CSR, SG_EPARSE, SG_FAIL_BADREQUEST },
	{ "req0_bad_signature.der", CSR, SG_EBADSIG, SG_FAIL_BADMSGCHECK },
	{ "resp0_truncated.der", CERTS, SG_EPARSE, SG_FAIL_NONE },
	{ "resp0_trailing_garbage.der", CERTS, SG_EPARSE, SG_FAIL_NONE },
	/* The samples, each given to the parsers it is not for. */
	{ "scep_req0.der", MSG, SG_EPARSE, SG_FAIL_NONE },
	{ "scep_resp0.der", CSR, SG_EPARSE, SG_FAIL_BADREQUEST },
	{ "scep_req2.der", CSR, SG_EPARSE, SG_FAIL_BADREQUEST },
	{ "scep_req0.der", CERTS, SG_EPARSE, SG_FAIL_NONE },
};

/* Run one parser; free what it made. Returns its rc. */
static enum sg_rc
run_parser(enum parser which, const uint8_t *der, size_t len,
    bool *out_set, struct sg_err *err)
{
	struct p7_msg	*msg = NULL;
	struct p7_csr	*csr = NULL;
	STACK_OF(X509)	*certs = NULL;
	enum sg_rc	 rc;

	switch (which) {
	case MSG:
		rc = p7_msg_parse(der, len, &msg, err);
		break;
	case CSR:
		rc = p7_csr_parse(der, len, &csr, err);
		break;
	default:
		rc = p7_certs_parse(der, len, &certs, err);
		break;
	}
	*out_set = msg != NULL || csr != NULL || certs != NULL;
	p7_msg_free(msg);
	p7_csr_free(csr);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static void
test_hostile_files(void **state)
{
	const struct file_case	*t;
	struct sg_err		 err;
	uint8_t			*der;
	size_t			 len, i, bad = 0;
	enum sg_rc		 rc;
	enum parser		 p;
	bool			 set;

	(void)state;
	for (i = 0; i < NELEM(file_cases); i++) {
		t = &file_cases[i];
		der = load(t->file, &len);
		sg_err_clear(&err);
		rc = run_parser(t->parser, der, len, &set, &err);
		if (rc != t->rc || err.rc != rc ||
		    err.failinfo != t->failinfo) {
			print_error("%s: rc %d failinfo %d, want %d/%d (%s)\n",
			    t->file, rc, err.failinfo, t->rc, t->failinfo,
			    err.msg);
			bad++;
		} else if (set != (rc == SG_EBADSIG && t->parser == MSG)) {
			print_error("%s: *out %s\n", t->file, set ? "set" :
			    "not set");
			bad++;
		} else if (run_parser(t->parser, der, len, &set, NULL) != rc) {
			print_error("%s: different rc with err NULL\n",
			    t->file);
			bad++;
		}
		/* Every parser survives every file. */
		for (p = MSG; p <= CERTS; p++)
			(void)run_parser(p, der, len, &set, &err);
		free(der);
	}
	if (bad > 0)
		fail_msg("%zu of %zu files failed", bad, NELEM(file_cases));
}

/*
 * In-memory mutations of messages made here
 */

/* A bad signature still yields the attributes, for a signed FAILURE. */
static void
test_bad_signature(void **state)
{
	struct fx	*f = *state;
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len;

	der = make_req(f, 0, 0, NULL, "BADSIG", &len);
	/* The RSA-2048 signature is the last 256 bytes (no unsignedAttrs). */
	der[len - 100] ^= 0x01;
	sg_err_clear(&err);
	assert_int_equal(p7_msg_parse(der, len, &msg, &err), SG_EBADSIG);
	assert_int_equal(err.rc, SG_EBADSIG);
	assert_int_equal(err.failinfo, SG_FAIL_BADMSGCHECK);
	assert_non_null(msg);
	assert_int_equal(msg->type, P7_TYPE_PKCSREQ);
	assert_string_equal(msg->transid, "BADSIG");
	assert_int_equal(msg->sender_nonce_len, 16);
	assert_int_equal(X509_cmp(msg->signer, f->cli_cert), 0);
	assert_null(msg->envelope);
	/* Nothing to open: the envelope was never handed out. */
	assert_int_equal(p7_msg_open(msg, f->ra_cert, f->ra_key, &err),
	    SG_EPARSE);
	assert_int_equal(err.failinfo, SG_FAIL_BADREQUEST);
	p7_msg_free(msg);
	free(der);
}

/*
 * Damage to the envelope. Inside the signed eContent it breaks
 * messageDigest. Inside an envelope the client signed as it is (as an
 * attacker can), p7_msg_open must fail: structure -> badRequest, cipher
 * -> badAlg, wrong recipient -> badMessageCheck.
 */
static void
test_envelope_damage(void **state)
{
	static const uint8_t aes128_oid[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		0x04, 0x01, 0x02,
	};
	static const struct {
		const char	*name;
		uint8_t		 last;	/* new last byte of the cipher OID */
	} algs[] = {
		{ "aes-128-ofb", 0x03 },
		{ "aes-128-cfb", 0x04 },
		{ "aes-128-gcm", 0x06 },
		{ "aes-128-wrap", 0x05 },
	};
	struct fx	*f = *state;
	struct p7_msg	*msg = NULL, *m2 = NULL;
	struct p7_csr	*csr = NULL;
	struct sg_err	 err;
	uint8_t		*der, *copy, *saved;
	size_t		 len, i;
	long		 off, k;
	enum sg_rc	 rc;

	der = make_req(f, NID_aes_128_cbc, 0, NULL, "ENVELOPE", &len);
	assert_int_equal(p7_msg_parse(der, len, &msg, &err), SG_OK);
	off = find(der, len, msg->envelope, msg->envelope_len);
	assert_true(off > 0);

	/* Any flipped bit of the signed eContent: bad signature. */
	for (k = 0; k < (long)msg->envelope_len; k += 37) {
		copy = dup_bytes(der, len);
		copy[off + k] ^= 0x80;
		rc = p7_msg_parse(copy, len, &m2, &err);
		if (rc != SG_EBADSIG || err.failinfo != SG_FAIL_BADMSGCHECK)
			fail_msg("eContent byte %ld: rc %d: %s", k, rc,
			    err.msg);
		assert_non_null(m2);
		p7_msg_free(m2);
		m2 = NULL;
		free(copy);
	}

	saved = dup_bytes(msg->envelope, msg->envelope_len);

	/* Not an EnvelopedData any more (SEQUENCE tag changed). */
	msg->envelope[0] = 0x31;
	assert_int_equal(p7_msg_open(msg, f->ra_cert, f->ra_key, &err),
	    SG_EPARSE);
	assert_int_equal(err.failinfo, SG_FAIL_BADREQUEST);
	assert_null(msg->data);
	memcpy(msg->envelope, saved, msg->envelope_len);

	/* Trailing byte after the EnvelopedData. */
	msg->envelope_len--;
	assert_int_equal(p7_msg_open(msg, f->ra_cert, f->ra_key, &err),
	    SG_EPARSE);
	msg->envelope_len++;

	/* A content cipher we do not accept: badAlg. */
	k = find(msg->envelope, msg->envelope_len, aes128_oid,
	    sizeof(aes128_oid));
	assert_true(k > 0);
	for (i = 0; i < NELEM(algs); i++) {
		msg->envelope[k + sizeof(aes128_oid) - 1] = algs[i].last;
		sg_err_clear(&err);
		rc = p7_msg_open(msg, f->ra_cert, f->ra_key, &err);
		if (rc != SG_EALG || err.failinfo != SG_FAIL_BADALG)
			fail_msg("%s: rc %d: %s", algs[i].name, rc, err.msg);
		assert_null(msg->data);
	}
	memcpy(msg->envelope, saved, msg->envelope_len);

	/*
	 * The encrypted key damaged. OpenSSL's CMS defends against the
	 * million-message attack: if RSA decryption fails it goes on with
	 * a random key, so 1 time in ~256 the CBC padding is valid and
	 * garbage comes out. Either way no CSR may come out of it.
	 */
	k = find(msg->envelope, msg->envelope_len, aes128_oid,
	    sizeof(aes128_oid));
	for (i = 0; i < 8; i++) {
		/* The RSA block ends just before the content's OID. */
		msg->envelope[k - 40 - (long)i * 16] ^= 0x10;
		rc = p7_msg_open(msg, f->ra_cert, f->ra_key, &err);
		if (rc == SG_OK) {
			assert_int_not_equal(p7_csr_parse(msg->data,
			    msg->data_len, &csr, &err), SG_OK);
			free(msg->data);
			msg->data = NULL;
		} else {
			assert_int_equal(rc, SG_EDECRYPT);
			assert_int_equal(err.failinfo, SG_FAIL_BADMSGCHECK);
		}
		memcpy(msg->envelope, saved, msg->envelope_len);
	}

	/* Not for this RA: no matching RecipientInfo. */
	sg_err_clear(&err);
	assert_int_equal(p7_msg_open(msg, f->other_cert, f->other_key, &err),
	    SG_EDECRYPT);
	assert_int_equal(err.failinfo, SG_FAIL_BADMSGCHECK);
	assert_null(msg->data);
	/* The RA's certificate with another key: never a CSR (see above). */
	rc = p7_msg_open(msg, f->ra_cert, f->other_key, &err);
	if (rc == SG_OK) {
		assert_int_not_equal(p7_csr_parse(msg->data, msg->data_len,
		    &csr, &err), SG_OK);
		free(msg->data);
		msg->data = NULL;
	} else
		assert_int_equal(rc, SG_EDECRYPT);

	/* And it still opens once repaired. */
	assert_int_equal(p7_msg_open(msg, f->ra_cert, f->ra_key, &err),
	    SG_OK);
	assert_memory_equal(msg->data, f->csr, f->csr_len);
	free(saved);
	p7_msg_free(msg);
	free(der);
}

/* A message cut at every length: always SG_EPARSE, *out untouched. */
static void
test_truncate_all(void **state)
{
	struct fx		*f = *state;
	struct p7_msg		*msg = NULL;
	struct p7_certrep	*cr = NULL;
	STACK_OF(X509)		*certs;
	struct sg_err		 err;
	uint8_t			*der, *rder, *cut;
	size_t			 len, rlen, n;
	enum sg_rc		 rc;
	bool			 set;

	der = make_req(f, 0, 0, NULL, "CUT", &len);
	msg = server_read(f, der, len);
	assert_non_null(msg);
	certs = sk_X509_new_null();
	assert_non_null(certs);
	assert_true(sk_X509_push(certs, f->chain[0]));
	rder = make_rep(f, msg, certs, 0, 0, &rlen);
	p7_msg_free(msg);
	msg = NULL;
	for (n = 0; n < len; n++) {
		/* An exact-size copy, so that ASan sees any over-read. */
		cut = dup_bytes(der, n);
		rc = p7_msg_parse(cut, n, &msg, &err);
		if (rc != SG_EPARSE || msg != NULL)
			fail_msg("request cut to %zu: rc %d", n, rc);
		if (n < f->csr_len) {
			memcpy(cut, f->csr, n);
			if (run_parser(CSR, cut, n, &set, &err) == SG_OK)
				fail_msg("CSR cut to %zu parses", n);
		}
		if (n < rlen) {
			memcpy(cut, rder, n);
			if (p7_certrep_parse(cut, n, f->ra_cert, f->cli_cert,
			    f->cli_key, &cr, &err) == SG_OK || cr != NULL)
				fail_msg("CertRep cut to %zu parses", n);
		}
		free(cut);
	}
	sk_X509_free(certs);
	free(rder);
	free(der);
}

/*
 * Every single byte of a request inverted in turn: no crash, no leak,
 * and whenever it still parses, what it says is what was signed. Only
 * unsigned fields may change unnoticed: the signer certificate outside
 * its key (it is not chain-checked, RFC 8894 2.3), version numbers and
 * algorithm parameters.
 */
static void
test_flip_all(void **state)
{
	struct fx	*f = *state;
	struct p7_msg	*ref, *msg;
	struct sg_err	 err;
	uint8_t		*der;
	size_t		 len, i;
	enum sg_rc	 rc;

	der = make_req(f, 0, 0, NULL, "FLIP", &len);
	assert_int_equal(p7_msg_parse(der, len, &ref, &err), SG_OK);
	for (i = 0; i < len; i++) {
		der[i] ^= 0xff;
		msg = NULL;
		rc = p7_msg_parse(der, len, &msg, &err);
		if (rc == SG_OK) {
			if (msg->type != ref->type ||
			    strcmp(msg->transid, ref->transid) != 0 ||
			    memcmp(msg->sender_nonce, ref->sender_nonce,
			    16) != 0 ||
			    msg->envelope_len != ref->envelope_len ||
			    memcmp(msg->envelope, ref->envelope,
			    ref->envelope_len) != 0 ||
			    EVP_PKEY_eq(X509_get0_pubkey(msg->signer),
			    f->cli_key) != 1)
				fail_msg("byte %zu: tampered message accepted",
				    i);
		} else if ((rc == SG_EBADSIG) != (msg != NULL))
			fail_msg("byte %zu: rc %d, *out %p", i, rc,
			    (void *)msg);
		p7_msg_free(msg);
		der[i] ^= 0xff;
	}
	p7_msg_free(ref);
	free(der);
}

static void
test_free_null(void **state)
{
	(void)state;
	p7_msg_free(NULL);
	p7_csr_free(NULL);
	p7_certrep_free(NULL);
}

static void
test_type_names(void **state)
{
	static const struct {
		int		 type;
		const char	*name;
	} t[] = {
		{ P7_TYPE_CERTREP, "CertRep" },
		{ P7_TYPE_RENEWALREQ, "RenewalReq" },
		{ P7_TYPE_UPDATEREQ, "UpdateReq" },
		{ P7_TYPE_PKCSREQ, "PKCSReq" },
		{ P7_TYPE_CERTPOLL, "CertPoll" },
		{ P7_TYPE_GETCERT, "GetCert" },
		{ P7_TYPE_GETCRL, "GetCRL" },
		{ 0, "unknown" },
		{ 23, "unknown" },
		{ -1, "unknown" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(t); i++)
		assert_string_equal(p7_type_name(t[i].type), t[i].name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_req),
		cmocka_unit_test(test_sample_csr),
		cmocka_unit_test(test_sample_certs),
		cmocka_unit_test(test_sample_certrep),
		cmocka_unit_test(test_csr_table),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_des),
		cmocka_unit_test(test_req_defaults),
		cmocka_unit_test(test_two_recipients),
		cmocka_unit_test(test_ec_client),
		cmocka_unit_test(test_hand_table),
		cmocka_unit_test(test_rep_table),
		cmocka_unit_test(test_rep_detached),
		cmocka_unit_test(test_rep_details),
		cmocka_unit_test(test_certs_order),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_envelope_damage),
		cmocka_unit_test(test_truncate_all),
		cmocka_unit_test(test_flip_all),
		cmocka_unit_test(test_csr_wipe),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_keys_as_decoded),
		cmocka_unit_test(test_open_keyid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
