/*
 * scepctl inspect: print a pkiMessage or CertRep as a client sent it or
 * a log caught it (like rpki-client's file mode). It shows what is there,
 * checks included, and never stops at the first thing wrong: a failing
 * exchange is what an admin brings to it. With --key of the recipient it
 * opens the envelope: the request's CSR, or the certificates issued.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "p7.h"
#include "p7_info.h"
#include "scepctl.h"

/* A captured message with base64 and PEM armour fits easily in this. */
#define INSPECT_IN_MAX	(4 * 1024 * 1024)

struct inspect {
	uint8_t		*der;
	size_t		 len;
	EVP_PKEY	*key;	/* --key: the recipient's, may be NULL */
	X509		*cert;	/* --cert: picks the recipient, may be NULL */
};

/* Read all of "path" ("-": stdin), at most INSPECT_IN_MAX bytes. */
static int
read_all(const char *path, struct sg_buf *b)
{
	FILE	*fp;
	char	 chunk[8192];
	size_t	 n;
	int	 ret = SC_OK;

	b->max = INSPECT_IN_MAX;
	if ((fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb")) ==
	    NULL) {
		fprintf(stderr, "scepctl: %s: cannot open\n", path);
		return SC_FAIL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (sg_buf_add(b, chunk, n) != SG_OK) {
			fprintf(stderr, "scepctl: %s: more than %d bytes\n",
			    path, INSPECT_IN_MAX);
			ret = SC_FAIL;
			break;
		}
	if (ret == SC_OK && ferror(fp)) {
		fprintf(stderr, "scepctl: %s: read error\n", path);
		ret = SC_FAIL;
	}
	if (fp != stdin)
		fclose(fp);
	return ret;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Base64 text as captured: a query's "message=" value (percent-encoded),
 * PEM-like "-----" lines, any whitespace. Keeps only the base64 itself.
 */
static char *
b64_text(const char *in, size_t len, size_t *outlen)
{
	const char	*end = in + len, *m;
	char		*out, *o;
	int		 hi, lo;

	if ((m = memmem(in, len, "message=", 8)) != NULL)
		in = m + 8;
	if ((o = out = malloc(len + 1)) == NULL)
		return NULL;
	for (; in < end; in++) {
		/* A query value ends at the next parameter or the URI's end. */
		if (m != NULL && (*in == '&' || isspace((unsigned char)*in)))
			break;
		if (*in == '-' && in + 5 <= end && memcmp(in, "-----", 5) == 0) {
			while (in < end && *in != '\n')
				in++;	/* a PEM armour line */
			continue;
		}
		if (*in == '%' && in + 2 < end && (hi = hexval(in[1])) >= 0 &&
		    (lo = hexval(in[2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			in += 2;
		} else if (!isspace((unsigned char)*in))
			*o++ = *in;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/* The input as DER: as is if it starts like one, else from base64. */
static int
decode_input(const struct sg_buf *b, struct inspect *in)
{
	struct sg_err	 err;
	char		*text;
	size_t		 n;
	enum sg_rc	 rc;

	if (b->len == 0) {
		fprintf(stderr, "scepctl: the input is empty\n");
		return SC_FAIL;
	}
	if (b->data[0] == 0x30) {
		if ((in->der = malloc(b->len)) == NULL)
			return SC_FAIL;
		memcpy(in->der, b->data, b->len);
		in->len = b->len;
		return SC_OK;
	}
	if ((text = b64_text((const char *)b->data, b->len, &n)) == NULL)
		return SC_FAIL;
	rc = sg_b64_decode(text, n, P7_MSG_MAX, &in->der, &in->len, &err);
	free(text);
	if (rc != SG_OK || in->len == 0) {
		fprintf(stderr, "scepctl: input is neither DER nor base64%s%s\n",
		    rc != SG_OK ? ": " : "", rc != SG_OK ? err.msg : "");
		return SC_FAIL;
	}
	return SC_OK;
}

/*
 * The private key (key != NULL) or the certificate (cert != NULL) in
 * "path", PEM or DER.
 */
static int
load(const char *path, EVP_PKEY **key, X509 **cert)
{
	BIO	*b;
	bool	 ok;

	if ((b = BIO_new_file(path, "rb")) == NULL)
		ok = false;
	else if (key != NULL) {
		*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		if (*key == NULL && BIO_reset(b) == 0)
			*key = d2i_PrivateKey_bio(b, NULL);
		ok = *key != NULL;
	} else {
		*cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (*cert == NULL && BIO_reset(b) == 0)
			*cert = d2i_X509_bio(b, NULL);
		ok = *cert != NULL;
	}
	BIO_free(b);
	if (ok)
		return SC_OK;
	ERR_clear_error();
	fprintf(stderr, "scepctl: %s: no %s\n", path, key != NULL ?
	    "private key" : "certificate");
	return SC_FAIL;
}

static void
print_hex(const char *label, const uint8_t *p, size_t len)
{
	char	hex[2 * P7_NONCE_MAX + 1];

	if (len == 0) {
		printf("%s: (absent)\n", label);
		return;
	}
	sg_hex(p, len > P7_NONCE_MAX ? P7_NONCE_MAX : len, hex);
	printf("%s: %s\n", label, hex);
}

static void
print_name(const char *label, const X509_NAME *name)
{
	char	buf[512];

	X509_NAME_oneline(name, buf, (int)sizeof(buf));
	printf("%s: %s\n", label, buf);
}

static void
print_key(const char *label, EVP_PKEY *pk)
{
	printf("%s: %s %d bits\n", label, pk == NULL ? "?" :
	    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)), pk == NULL ? 0 :
	    EVP_PKEY_get_bits(pk));
}

/* Subject, issuer, serial, validity, key of one certificate. */
static void
print_cert(const char *indent, X509 *x)
{
	const ASN1_INTEGER	*sn = X509_get0_serialNumber(x);
	BIGNUM			*bn = ASN1_INTEGER_to_BN(sn, NULL);
	char			*hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	char			 label[64];
	BIO			*out = BIO_new_fp(stdout, BIO_NOCLOSE);

	snprintf(label, sizeof(label), "%ssubject", indent);
	print_name(label, X509_get_subject_name(x));
	snprintf(label, sizeof(label), "%sissuer", indent);
	print_name(label, X509_get_issuer_name(x));
	printf("%sserial: %s\n", indent, hex != NULL ? hex : "?");
	if (out != NULL) {
		BIO_printf(out, "%snotAfter: ", indent);
		ASN1_TIME_print(out, X509_get0_notAfter(x));
		BIO_printf(out, "\n");
		BIO_free(out);
	}
	snprintf(label, sizeof(label), "%skey", indent);
	print_key(label, X509_get0_pubkey(x));
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Signer, algorithms and envelope recipients (p7_info.h). */
static void
print_info(const struct p7_info *info)
{
	size_t	i;

	if (info->signer != NULL) {
		printf("signer:\n");
		print_cert("  ", info->signer);
	} else
		printf("signer: (no certificate in the message)\n");
	printf("digest: %s\n", OBJ_nid2sn(info->digest_nid));
	printf("signature algorithm: %s\n", OBJ_nid2sn(info->sig_alg_nid));
	if (info->envelope_len == 0) {
		printf("envelope: (none)\n");
		return;
	}
	if (info->cipher_nid == NID_undef) {
		printf("envelope: %zu bytes, not a readable EnvelopedData\n",
		    info->envelope_len);
		return;
	}
	printf("envelope: %zu bytes, cipher %s, %zu recipient(s)\n",
	    info->envelope_len, OBJ_nid2sn(info->cipher_nid), info->nrcpt);
	for (i = 0; i < info->nrcpt && i < P7_INFO_RCPT_MAX; i++)
		printf("  recipient: issuer %s serial %s key transport %s\n",
		    info->rcpt[i].issuer, info->rcpt[i].serial,
		    OBJ_nid2sn(info->rcpt[i].key_alg_nid));
}

/* subjectAltName entries of a CSR's extensionRequest. */
static void
print_sans(X509_REQ *req)
{
	STACK_OF(X509_EXTENSION)	*exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES			*gens;
	GENERAL_NAME			*g;
	char				*s;
	int				 i;

	gens = exts != NULL ? X509V3_get_d2i(exts, NID_subject_alt_name,
	    NULL, NULL) : NULL;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS || g->type == GEN_EMAIL ||
		    g->type == GEN_URI) {
			s = (char *)ASN1_STRING_get0_data(g->d.ia5);
			printf("  SAN: %s:%.*s\n", g->type == GEN_DNS ? "DNS" :
			    g->type == GEN_EMAIL ? "email" : "URI",
			    ASN1_STRING_length(g->d.ia5), s);
		} else
			printf("  SAN: (type %d)\n", g->type);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* The CSR inside a PKCSReq or RenewalReq; the challenge stays hidden. */
static void
print_csr(const struct p7_csr *csr)
{
	X509_ATTRIBUTE	*a;
	int		 i;

	printf("csr:\n  subject: %s\n", csr->subject);
	printf("  key: %s %d bits\n", OBJ_nid2sn(csr->key_type),
	    csr->key_bits);
	print_sans(csr->req);
	for (i = 0; i < X509_REQ_get_attr_count(csr->req); i++) {
		a = X509_REQ_get_attr(csr->req, i);
		printf("  attribute: %s\n",
		    OBJ_nid2ln(OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a))));
	}
	printf("  challengePassword: %s\n", csr->challenge != NULL ?
	    "present" : "absent");
}

/* What the outer layer says (p7_msg_parse), then signer and envelope. */
static void
print_head(const struct p7_info *info, const struct p7_msg *msg,
    enum sg_rc vrc)
{
	printf("messageType: %s (%d)\n", p7_type_name(msg->type), msg->type);
	printf("transactionID: %s\n", msg->transid);
	print_hex("senderNonce", msg->sender_nonce, msg->sender_nonce_len);
	printf("signature: %s\n", vrc == SG_OK ? "verifies" : "BAD");
	print_info(info);
}

static void
print_request(struct inspect *in, const struct p7_info *info,
    struct p7_msg *msg, enum sg_rc vrc)
{
	struct p7_csr	*csr = NULL;
	struct sg_err	 err;

	print_head(info, msg, vrc);
	if (in->key == NULL)
		return;
	if (p7_msg_open(msg, in->cert, in->key, &err) != SG_OK) {
		printf("decrypted: no: %s\n", err.msg);
		return;
	}
	if (msg->type != P7_TYPE_PKCSREQ && msg->type != P7_TYPE_RENEWALREQ) {
		printf("decrypted: %zu bytes of messageData\n", msg->data_len);
		return;
	}
	/*
	 * A wrong key does not always fail: against Bleichenbacher, CMS
	 * decrypts with a random key then (RFC 3218 2.3.2), and that can
	 * pass the padding check. Only a CSR that decodes proves the key.
	 */
	if (p7_csr_parse(msg->data, msg->data_len, &csr, &err) != SG_OK) {
		printf("decrypted: no: the content is not a PKCS#10 (a wrong "
		    "key?): %s\n", err.msg);
		return;
	}
	printf("decrypted: %zu bytes of messageData\n", msg->data_len);
	print_csr(csr);
	p7_csr_free(csr);
}

static const char *
status_name(int status)
{
	switch (status) {
	case P7_STATUS_SUCCESS:
		return "SUCCESS";
	case P7_STATUS_FAILURE:
		return "FAILURE";
	case P7_STATUS_PENDING:
		return "PENDING";
	}
	return "?";
}

/*
 * A CertRep. Without the requester's key a SUCCESS stays sealed: then
 * the outer layer "msg" is shown (NULL if it did not decode, "why" says
 * why), which is not a failure.
 */
static int
print_certrep(struct inspect *in, const struct p7_info *info,
    const struct p7_msg *msg, enum sg_rc vrc, const struct sg_err *why)
{
	struct p7_certrep	*r = NULL;
	struct sg_err		 err;
	int			 i;

	if (p7_certrep_parse(in->der, in->len, NULL, in->cert, in->key, &r,
	    &err) != SG_OK) {
		if (msg != NULL)
			print_head(info, msg, vrc);
		else {
			printf("as a request: %s\n", why->msg);
			print_info(info);
		}
		printf("as a CertRep: %s\n", err.msg);
		if (msg != NULL && in->key == NULL && info->envelope_len > 0) {
			printf("certificates: sealed (give the requester's "
			    "key with --key)\n");
			return SC_OK;
		}
		return SC_FAIL;
	}
	printf("messageType: CertRep (3)\ntransactionID: %s\n", r->transid);
	print_hex("senderNonce", r->sender_nonce, r->sender_nonce_len);
	print_hex("recipientNonce", r->recipient_nonce,
	    r->recipient_nonce_len);
	printf("signature: verifies\npkiStatus: %s\n", status_name(r->status));
	if (r->status == P7_STATUS_FAILURE)
		printf("failInfo: %s%s%s\n", p7_failinfo_name(r->failinfo),
		    r->failtext[0] ? ": " : "", r->failtext);
	print_info(info);
	for (i = 0; i < sk_X509_num(r->certs); i++) {
		printf("certificate %d:\n", i);
		print_cert("  ", sk_X509_value(r->certs, i));
	}
	if (r->crl != NULL)
		print_name("crl issuer", X509_CRL_get_issuer(r->crl));
	p7_certrep_free(r);
	return SC_OK;
}

static int
inspect(struct inspect *in)
{
	struct p7_info	 info;
	struct p7_msg	*msg = NULL;
	struct sg_err	 err;
	enum sg_rc	 rc;
	int		 ret = SC_OK;

	printf("size: %zu bytes\n", in->len);
	if (p7_info_parse(in->der, in->len, &info, &err) != SG_OK) {
		printf("not a pkiMessage: %s\n", err.msg);
		return SC_FAIL;
	}
	rc = p7_msg_parse(in->der, in->len, &msg, &err);
	if (msg != NULL && msg->type != P7_TYPE_CERTREP)
		print_request(in, &info, msg, rc);
	else
		ret = print_certrep(in, &info, msg, rc, &err);
	p7_msg_free(msg);
	p7_info_clear(&info);
	return ret;
}

int
sc_inspect(struct sc_ctx *ctx, int argc, char *argv[])
{
	static const char *const valued[] = { "--key", "--cert", NULL };
	struct inspect	 in = { 0 };
	struct sg_buf	 b = { 0 };
	const char	*kpath, *cpath, *path = NULL;
	int		 i, ret;

	(void)ctx;
	if (!sc_args_ok(argc, argv, 1, valued, NULL, 1))
		return sc_usage("inspect");
	for (i = 1; i < argc && path == NULL; i++)
		if (strcmp(argv[i], "--key") == 0 ||
		    strcmp(argv[i], "--cert") == 0)
			i++;
		else
			path = argv[i];
	if (path == NULL)
		return sc_usage("inspect");
	kpath = sc_opt_value(argc, argv, "--key");
	cpath = sc_opt_value(argc, argv, "--cert");
	if ((kpath != NULL && (ret = load(kpath, &in.key, NULL)) != SC_OK) ||
	    (cpath != NULL && (ret = load(cpath, NULL, &in.cert)) != SC_OK))
		goto out;
	if ((ret = read_all(path, &b)) != SC_OK ||
	    (ret = decode_input(&b, &in)) != SC_OK)
		goto out;
	ret = inspect(&in);
out:
	sg_buf_free(&b);
	free(in.der);
	EVP_PKEY_free(in.key);
	X509_free(in.cert);
	return ret;
}
