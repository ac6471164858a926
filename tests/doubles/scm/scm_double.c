/*
 * scm-double: an offline stand-in for the Sectigo Certificate Manager
 * REST API, for scepgate's tests and for trying the "scm" upstream
 * without an SCM tenant. It follows section 5 of
 * reference/scm-rest-api.md ("What a test double must reproduce"):
 *
 *  1. password, client-certificate (/private/api over TLS) and OAuth
 *     logins, each switchable;
 *  2. a static catalogue: organizations with departments, device and
 *     S/MIME profiles, custom fields, organizationId filtering;
 *  3. enroll validation in the documented order and codes;
 *  4. asynchronous issuance: N pending collects, approval, decline;
 *  5. every collect format, from its own root + issuing CA;
 *  6. revoke by id and serial with the documented errors;
 *  7. lists with paging, filters and X-Total-Count, HEAD for counts;
 *  8. fault injection (429 + Retry-After, 503, empty replies, -195,
 *     -140, 500/-2, slow and non-JSON answers);
 *  9. inspection hooks under /__test/ (request log, state);
 * 10. SCM's inconsistent status casing.
 *
 * One process, one lock (d->lock) over all state; libmicrohttpd runs a
 * thread per connection so that slow answers do not block others.
 * Secrets never reach its own output or the request log (redacted).
 * See README.md next to this file.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dbl_http.h"

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif

#define LOG_MAX		2000		/* request log entries kept */
#define LOG_BODY_MAX	16384		/* bytes of a body in the log */
#define TOKENS_MAX	64
#define TOKEN_PATH	"/auth/realms/apiclients/protocol/openid-connect/token"
#define REDACTED	"***redacted***"

/* ---- the catalogue (section 2, 3.1, 3.2) ---- */

struct org {
	long		 id;
	const char	*name;
	long		 parent;	/* departments: their org; 0 */
};

static const struct org orgs[] = {
	{ 4021, "Example Corp", 0 },
	{ 4022, "Factory Floor", 4021 },
	{ 4023, "Sales", 4021 },
	{ 4030, "Other Org", 0 },
};
#define NORGS	(sizeof(orgs) / sizeof(orgs[0]))

struct profile {
	long		 id;
	bool		 client;	/* S/MIME family, else device */
	const char	*name;
	int		 terms[3];	/* 0-terminated */
	bool		 approval;	/* requests wait for approve */
	long		 only_org;	/* organizationId filter; 0: all */
};

static const struct profile profiles[] = {
	{ 7311, false, "IoT Device 1y", { 365, 730, 0 }, false, 0 },
	{ 7312, false, "Device Manual Approval", { 365, 0, 0 }, true, 0 },
	{ 7313, false, "Other Org Device", { 365, 0, 0 }, false, 4030 },
	{ 7402, true, "Client Cert 1y", { 365, 730, 0 }, false, 0 },
	{ 7403, true, "Client Manual Approval", { 365, 0, 0 }, true, 0 },
};
#define NPROFILES	(sizeof(profiles) / sizeof(profiles[0]))

/* ---- state ---- */

/* Test hooks set these (POST /__test/config); defaults from the flags. */
struct cfg {
	int	pending;	/* collects answered "pending" before issue */
	int	pending_code;	/* 0, -1400 or -183 (4.3) */
	bool	manual;		/* every new request waits for approval */
	bool	decline_next;	/* the next enroll is declined at once */
	bool	mandatory_field; /* device custom field "Cost Center" */
	bool	auth_password;
	bool	auth_cert;
	bool	auth_oauth;
	int	token_ttl;	/* seconds */
	/* Faults for the next K API requests (matching fault_match). */
	int	fail_429;
	int	retry_after;
	int	fail_503;
	int	fail_500;	/* 500 with code -2 */
	int	fail_195;	/* 400 "CA not available now" */
	int	fail_140;	/* 400 "CSR decoding temporarily unavailable" */
	int	empty_reply;	/* close the connection without answer */
	int	non_json;	/* the next K error bodies are HTML */
	int	delay_ms;	/* every API answer waits this long */
	int	late_reply;	/* the next K answers go out after late_ms */
	int	late_ms;	/* (done first: a lost answer, 5.8) */
	int	fail_list;	/* the next K certificate lists: 403 -25 */
	double	fail_rate;	/* random 503s */
	char	fault_match[128];	/* "" or a substring of the path */
};

enum st { ST_REQUESTED, ST_APPROVED, ST_APPLIED, ST_ISSUED, ST_DECLINED,
	ST_REVOKED };

struct cert {
	long		 id;		/* deviceCertId, or the client's id */
	long		 order;		/* orderNumber */
	char		 backend[24];	/* backendCertId */
	bool		 client;
	long		 org_id;
	const struct profile *prof;
	int		 term;
	char		 email[129];
	char		 cn[128];
	char		 comments[1025];
	X509_REQ	*csr;
	X509		*x;		/* once issued */
	char		 serial[128];	/* colon hex */
	enum st		 st;
	int		 pending;	/* collects to answer pending */
	int		 collects;	/* counted since approval */
	int		 reason;	/* revocation */
	time_t		 requested;
};

struct token {
	char	value[65];
	time_t	expires;
};

struct dbl {
	pthread_mutex_t	 lock;		/* guards everything below */
	struct cfg	 cfg;
	char		 login[128];
	char		 password[256];
	char		 customer_uri[128];
	char		 client_id[128];
	char		 client_secret[256];
	char		 base[128];	/* http://host:port */
	EVP_PKEY	*root_key, *ca_key;
	X509		*root, *ca;
	struct cert	*certs;
	size_t		 ncerts;
	long		 next_order, next_client;
	struct token	 tokens[TOKENS_MAX];
	size_t		 ntokens;
	json_t		*log;		/* array of request records */
	long		 seq;
	json_t		*revoked;	/* serials, in order */
	unsigned int	 rnd;		/* --seed, for fail_rate */
};

/* One listener: the plain API or the TLS one for /private. */
struct listener {
	struct dbl	*d;
	bool		 tls;
};

/* One answer. */
struct out {
	unsigned int	 status;
	char		*body;		/* malloc'ed */
	size_t		 len;
	const char	*ctype;
	char		 hdr[4][2][160];	/* extra headers */
	int		 nhdr;
	bool		 close;		/* fault: no answer at all */
	bool		 binary;	/* body is not text (log as base64) */
	bool		 secret;	/* body holds a token: redact in log */
};

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "scm-double: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void
hdr(struct out *o, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
hdr(struct out *o, const char *name, const char *fmt, ...)
{
	va_list	ap;

	if (o->nhdr >= 4)
		return;
	snprintf(o->hdr[o->nhdr][0], sizeof(o->hdr[0][0]), "%s", name);
	va_start(ap, fmt);
	vsnprintf(o->hdr[o->nhdr][1], sizeof(o->hdr[0][1]), fmt, ap);
	va_end(ap);
	o->nhdr++;
}

/* A JSON answer; "j" is consumed. */
static void
send_json(struct out *o, unsigned int status, json_t *j)
{
	o->status = status;
	o->ctype = "application/json";
	o->body = j != NULL ? json_dumps(j, JSON_COMPACT |
	    JSON_PRESERVE_ORDER) : NULL;
	o->len = o->body != NULL ? strlen(o->body) : 0;
	json_decref(j);
}

/* 4.1: status >= 400 with {code, description}. */
static void
send_err(struct out *o, unsigned int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
send_err(struct out *o, unsigned int status, int code, const char *fmt, ...)
{
	char	desc[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	send_json(o, status, json_pack("{s:i, s:s}", "code", code,
	    "description", desc));
}

static void
send_text(struct out *o, unsigned int status, const char *ctype,
    const void *p, size_t n)
{
	o->status = status;
	o->ctype = ctype;
	if ((o->body = malloc(n + 1)) != NULL) {
		memcpy(o->body, p, n);
		o->body[n] = '\0';
		o->len = n;
	}
}

static void
send_str(struct out *o, unsigned int status, const char *ctype,
    const char *s)
{
	send_text(o, status, ctype, s, strlen(s));
}

/* ---- certificates ---- */

static X509_NAME *
make_name(const char *cn)
{
	X509_NAME	*n;

	if ((n = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"scm-double", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		die("name");
	return n;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, e, -1))
		die("extension %s", OBJ_nid2sn(nid));
	X509_EXTENSION_free(e);
}

/*
 * A certificate for "pub" named "subj" (borrowed), signed by issuer
 * (NULL: self-signed with "key"). "kind": "root", "ca", "server",
 * "client" (TLS login), "device" or "smime".
 */
static X509 *
make_cert(const X509_NAME *subj, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *key,
    int days, const char *kind, X509_REQ *csr, char *serial, size_t serialsz)
{
	STACK_OF(X509_EXTENSION) *exts;
	X509_EXTENSION	*e;
	unsigned char	 raw[16];
	BIGNUM		*bn = NULL;
	X509		*x;
	size_t		 i, o = 0;
	int		 k;

	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    RAND_bytes(raw, sizeof(raw)) != 1)
		die("X509_new");
	raw[0] &= 0x7f;
	raw[0] |= 0x10;		/* positive, 16 bytes: a stable text form */
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		die("serial");
	BN_free(bn);
	if (serial != NULL) {
		for (i = 0; i < sizeof(raw) && o + 3 < serialsz; i++)
			o += (size_t)snprintf(serial + o, serialsz - o,
			    "%s%02X", i > 0 ? ":" : "", raw[i]);
	}
	if (!X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : subj) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    !X509_set_pubkey(x, pub))
		die("certificate fields");
	if (strcmp(kind, "root") == 0 || strcmp(kind, "ca") == 0) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		add_ext(x, issuer, NID_ext_key_usage,
		    strcmp(kind, "server") == 0 ? "serverAuth" :
		    strcmp(kind, "smime") == 0 ? "clientAuth,emailProtection" :
		    "clientAuth");
	}
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (strcmp(kind, "server") == 0)
		add_ext(x, issuer, NID_subject_alt_name,
		    "DNS:localhost,IP:127.0.0.1,IP:::1");
	/* The CSR's subjectAltName, as SCM copies it. */
	if (csr != NULL && (exts = X509_REQ_get_extensions(csr)) != NULL) {
		k = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
		if (k >= 0 && (e = X509v3_get_ext(exts, k)) != NULL)
			X509_add_ext(x, e, -1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		die("sign");
	return x;
}

static void
write_file(const char *dir, const char *name, int mode, const char *p,
    size_t n)
{
	char	path[1024];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, p, n) != (ssize_t)n || close(fd) == -1)
		die("%s: %s", path, strerror(errno));
}

/* PEM of certificates (and a key) as one malloc'ed string. */
static char *
pem_of(X509 *const *xs, size_t n, EVP_PKEY *key, size_t *len)
{
	BIO	*b;
	char	*p, *s;
	long	 k;
	size_t	 i;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		die("BIO");
	for (i = 0; i < n; i++)
		PEM_write_bio_X509(b, xs[i]);
	if (key != NULL)
		PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	k = BIO_get_mem_data(b, &p);
	if ((s = malloc((size_t)k + 1)) == NULL)
		die("malloc");
	memcpy(s, p, (size_t)k);
	s[k] = '\0';
	*len = (size_t)k;
	BIO_free(b);
	return s;
}

/* Root and issuing CA, TLS server and client login certificates. */
static void
make_pki(struct dbl *d, const char *dir, char **tls_cert, char **tls_key,
    char **tls_trust)
{
	EVP_PKEY	*srv_key = NULL, *cli_key = NULL;
	X509		*srv, *cli, *xs[2];
	X509_NAME	*n;
	char		*p;
	size_t		 len;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		die("%s: %s", dir, strerror(errno));
	if ((d->root_key = EVP_RSA_gen(2048)) == NULL ||
	    (d->ca_key = EVP_RSA_gen(2048)) == NULL ||
	    (srv_key = EVP_RSA_gen(2048)) == NULL ||
	    (cli_key = EVP_RSA_gen(2048)) == NULL)
		die("keys");
	n = make_name("scm-double Root CA");
	d->root = make_cert(n, d->root_key, NULL, d->root_key, 3650, "root",
	    NULL, NULL, 0);
	X509_NAME_free(n);
	n = make_name("scm-double Issuing CA");
	d->ca = make_cert(n, d->ca_key, d->root, d->root_key, 3650, "ca",
	    NULL, NULL, 0);
	X509_NAME_free(n);
	n = make_name("localhost");
	srv = make_cert(n, srv_key, d->root, d->root_key, 365, "server",
	    NULL, NULL, 0);
	X509_NAME_free(n);
	n = make_name(d->login);
	cli = make_cert(n, cli_key, d->root, d->root_key, 365, "client",
	    NULL, NULL, 0);
	X509_NAME_free(n);

	/* ca.pem: the issuing CA first, up to the root (scepgate ca_chain). */
	xs[0] = d->ca;
	xs[1] = d->root;
	p = pem_of(xs, 2, NULL, &len);
	write_file(dir, "ca.pem", 0644, p, len);
	free(p);
	p = pem_of(&d->root, 1, NULL, &len);
	write_file(dir, "root.pem", 0644, p, len);
	*tls_trust = p;
	p = pem_of(&d->ca, 1, NULL, &len);
	write_file(dir, "issuing-ca.pem", 0644, p, len);
	free(p);
	p = pem_of(&cli, 1, NULL, &len);
	write_file(dir, "client.pem", 0644, p, len);
	free(p);
	p = pem_of(NULL, 0, cli_key, &len);
	write_file(dir, "client.key", 0600, p, len);
	OPENSSL_cleanse(p, len);
	free(p);
	*tls_cert = pem_of(&srv, 1, NULL, &len);
	*tls_key = pem_of(NULL, 0, srv_key, &len);
	write_file(dir, "password.txt", 0600, d->password,
	    strlen(d->password));
	write_file(dir, "client_secret.txt", 0600, d->client_secret,
	    strlen(d->client_secret));
	X509_free(srv);
	X509_free(cli);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
}

/* ---- small helpers ---- */

/* A decimal number, or -1 (so that range checks refuse it). */
static int
num(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < INT_MIN ||
	    v > INT_MAX)
		return -1;
	return (int)v;
}

static const struct org *
org_find(long id)
{
	size_t	i;

	for (i = 0; i < NORGS; i++)
		if (orgs[i].id == id)
			return &orgs[i];
	return NULL;
}

static const struct profile *
profile_find(long id)
{
	size_t	i;

	for (i = 0; i < NPROFILES; i++)
		if (profiles[i].id == id)
			return &profiles[i];
	return NULL;
}

/* Is profile "p" offered to organization (or department) "org"? */
static bool
profile_for(const struct profile *p, long org)
{
	const struct org	*o = org_find(org);

	if (p->only_org == 0)
		return true;
	return o != NULL && (o->id == p->only_org || o->parent == p->only_org);
}

static bool
term_ok(const struct profile *p, long term)
{
	size_t	i;

	for (i = 0; i < 3 && p->terms[i] != 0; i++)
		if (p->terms[i] == term)
			return true;
	return false;
}

static const char *
st_name(enum st s, bool client, bool upper)
{
	static const char *const dev[] = { "Requested", "Approved",
	    "Applied", "Issued", "Declined", "Revoked" };
	static const char *const devu[] = { "REQUESTED", "APPROVED",
	    "APPLIED", "ISSUED", "DECLINED", "REVOKED" };
	/* 3.8: client states are lower case; no "declined". */
	static const char *const cli[] = { "requested", "requested",
	    "requested", "issued", "rejected", "revoked" };

	if (client)
		return cli[s];
	return upper ? devu[s] : dev[s];
}

/* Hex serial with or without colons, any case -> "AB:CD:..." form. */
static void
norm_serial(const char *in, char *out, size_t outsz)
{
	char	hex[130];
	size_t	n = 0, i, o = 0;

	for (i = 0; in[i] != '\0' && n + 1 < sizeof(hex); i++)
		if (isxdigit((unsigned char)in[i]))
			hex[n++] = (char)toupper((unsigned char)in[i]);
	hex[n] = '\0';
	i = 0;
	while (n - i > 2 && hex[i] == '0' && hex[i + 1] == '0')
		i += 2;	/* leading zero bytes */
	if ((n - i) % 2 == 1 && o + 2 < outsz) {
		out[o++] = '0';
		out[o++] = hex[i++];
		if (i < n)
			out[o++] = ':';
	}
	for (; i < n && o + 3 < outsz; i += 2) {
		out[o++] = hex[i];
		out[o++] = hex[i + 1];
		if (i + 2 < n)
			out[o++] = ':';
	}
	out[o] = '\0';
}

static struct cert *
cert_by_id(struct dbl *d, bool client, const char *id, bool backend)
{
	char	*end;
	long	 v;
	size_t	 i;

	errno = 0;
	v = strtol(id, &end, 10);
	for (i = 0; i < d->ncerts; i++) {
		struct cert *c = &d->certs[i];

		if (c->client != client)
			continue;
		if (backend ? strcmp(c->backend, id) == 0 :
		    (*end == '\0' && errno == 0 && c->id == v))
			return c;
	}
	return NULL;
}

/* "format" of ?format= or the legacy /collect/{id}/{format}. */
static bool
collect_body(struct dbl *d, const struct cert *c, const char *fmt,
    struct out *o)
{
	X509		*xs[3];
	PKCS7		*p7 = NULL;
	BIO		*b;
	unsigned char	*der = NULL;
	char		*p;
	size_t		 n = 0, i;
	long		 k;
	int		 len;
	bool		 pkcs7 = false, bin = false;

	if (fmt == NULL || *fmt == '\0' || strcmp(fmt, "base64") == 0) {
		pkcs7 = true;	/* the documented default */
	} else if (strcmp(fmt, "bin") == 0) {
		pkcs7 = bin = true;
	} else if (strcmp(fmt, "x509") == 0) {	/* root first, leaf last */
		xs[n++] = d->root;
		xs[n++] = d->ca;
		xs[n++] = c->x;
	} else if (strcmp(fmt, "x509R") == 0 || strcmp(fmt, "pem") == 0) {
		xs[n++] = c->x;
		xs[n++] = d->ca;
		xs[n++] = d->root;
	} else if (strcmp(fmt, "x509CO") == 0 || strcmp(fmt, "pemco") == 0) {
		xs[n++] = c->x;
	} else if (strcmp(fmt, "x509IO") == 0) {
		xs[n++] = d->root;
		xs[n++] = d->ca;
	} else if (strcmp(fmt, "x509IOR") == 0) {
		xs[n++] = d->ca;
		xs[n++] = d->root;
	} else if (strcmp(fmt, "pemia") == 0) {
		xs[n++] = c->x;
		xs[n++] = d->ca;
	} else {
		return false;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		die("BIO");
	if (pkcs7) {
		if ((p7 = PKCS7_new()) == NULL ||
		    !PKCS7_set_type(p7, NID_pkcs7_signed) ||
		    !PKCS7_content_new(p7, NID_pkcs7_data) ||
		    !PKCS7_add_certificate(p7, c->x) ||
		    !PKCS7_add_certificate(p7, d->ca) ||
		    !PKCS7_add_certificate(p7, d->root))
			die("PKCS7");
		if (bin) {
			if ((len = i2d_PKCS7(p7, &der)) <= 0)
				die("PKCS7 DER");
			BIO_write(b, der, len);
			OPENSSL_free(der);
		} else {
			PEM_write_bio_PKCS7(b, p7);
		}
		PKCS7_free(p7);
	}
	for (i = 0; i < n; i++)
		PEM_write_bio_X509(b, xs[i]);
	k = BIO_get_mem_data(b, &p);
	send_text(o, 200, "application/octet-stream", p, (size_t)k);
	o->binary = bin;
	hdr(o, "Content-Disposition", "attachment; filename=\"%s.%s\"",
	    c->backend, bin ? "p7b" : "pem");
	BIO_free(b);
	return true;
}

/* ---- enroll (3.3, 3.8) and the checks of 5.3 ---- */

/* -9: not base64 (PEM armour allowed); -10: not a valid PKCS#10. */
static int
parse_csr(const char *s, X509_REQ **out)
{
	const unsigned char	*q;
	unsigned char		*raw = NULL;
	char			*b64;
	size_t			 n = 0, i, len = strlen(s);
	int			 k, pad = 0;
	X509_REQ		*req;
	EVP_PKEY		*pk;

	if (len == 0 || len > 32767 || (b64 = malloc(len + 1)) == NULL)
		return -10;
	for (i = 0; i < len; i++) {
		if (s[i] == '-' && strncmp(s + i, "-----", 5) == 0) {
			/* An armour line: skip to its end. */
			while (i < len && s[i] != '\n')
				i++;
			continue;
		}
		if (isspace((unsigned char)s[i]))
			continue;
		if (!isalnum((unsigned char)s[i]) && strchr("+/=", s[i]) ==
		    NULL) {
			free(b64);
			return -9;
		}
		b64[n++] = s[i];
	}
	b64[n] = '\0';
	if (n == 0 || n % 4 != 0 || (raw = malloc(n)) == NULL ||
	    (k = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n)) < 0) {
		free(b64);
		free(raw);
		return -9;
	}
	while (n > 0 && b64[n - 1] == '=') {
		n--;
		pad++;
	}
	free(b64);
	q = raw;
	req = d2i_X509_REQ(NULL, &q, k - pad);
	free(raw);
	if (req == NULL || (pk = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pk) != 1) {
		X509_REQ_free(req);
		ERR_clear_error();
		return -10;
	}
	*out = req;
	return 0;
}

static bool
get_long(json_t *j, const char *key, long *v)
{
	json_t	*x = json_object_get(j, key);

	if (json_is_integer(x)) {
		*v = (long)json_integer_value(x);
		return true;
	}
	return false;
}

static bool
custom_field_given(json_t *j, const char *name)
{
	json_t	*cf = json_object_get(j, "customFields"), *e;
	size_t	 i;

	json_array_foreach(cf, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *v = json_string_value(json_object_get(e, "value"));

		if (n != NULL && strcmp(n, name) == 0 && v != NULL &&
		    *v != '\0')
			return true;
	}
	return false;
}

static void
enroll(struct dbl *d, bool client, const char *body, size_t len,
    struct out *o)
{
	const struct profile	*p;
	struct cert		*c;
	json_t			*j;
	X509_REQ		*csr = NULL;
	long			 org, type, term = 0;
	const char		*s, *req[] = { "email", "firstName",
				    "lastName" };
	size_t			 i;
	int			 code;

	if ((j = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		send_err(o, 400, -7, "Request body is not valid JSON");
		return;
	}
	if (!get_long(j, "orgId", &org) || org < 1) {
		send_err(o, 400, -7, "Required field is missing: orgId");
		goto out;
	}
	if (!get_long(j, "certType", &type) || type < 1) {
		send_err(o, 400, -7, "Required field is missing: certType");
		goto out;
	}
	for (i = 0; client && i < 3; i++) {
		s = json_string_value(json_object_get(j, req[i]));
		if (s == NULL || *s == '\0') {
			send_err(o, 400, -7, "Required field is missing: %s",
			    req[i]);
			goto out;
		}
	}
	if (org_find(org) == NULL) {
		send_err(o, 400, -1023, "Organization not found.");
		goto out;
	}
	if ((p = profile_find(type)) == NULL || !profile_for(p, org)) {
		send_err(o, 400, -39, "Invalid certificate type.");
		goto out;
	}
	if (p->client != client) {
		if (client)
			send_err(o, 400, -172, "Client certificate profile "
			    "not found.");
		else
			send_err(o, 400, -5109, "Device certificate profile "
			    "not found.");
		goto out;
	}
	if (!get_long(j, "term", &term) || !term_ok(p, term)) {
		send_err(o, 400, -36, "The validity period (term) is invalid "
		    "for this certificate profile.");
		goto out;
	}
	s = json_string_value(json_object_get(j, "csr"));
	if (s == NULL) {
		send_err(o, 400, -7, "Required field is missing: csr");
		goto out;
	}
	if ((code = parse_csr(s, &csr)) != 0) {
		send_err(o, 400, code, code == -9 ? "CSR is not base64 "
		    "encoded." : "CSR cannot be decoded.");
		goto out;
	}
	if (!client && d->cfg.mandatory_field &&
	    !custom_field_given(j, "Cost Center")) {
		send_err(o, 400, -62, "Custom field is mandatory: Cost Center");
		goto out;
	}
	if ((c = reallocarray(d->certs, d->ncerts + 1, sizeof(*c))) == NULL)
		die("malloc");
	d->certs = c;
	c = &d->certs[d->ncerts++];
	memset(c, 0, sizeof(*c));
	c->client = client;
	c->order = d->next_order++;
	c->id = client ? d->next_client++ : c->order;
	snprintf(c->backend, sizeof(c->backend), "%ld", c->order);
	c->org_id = org;
	c->prof = p;
	c->term = (int)term;
	c->csr = csr;
	csr = NULL;
	c->pending = d->cfg.pending;
	c->requested = time(NULL);
	if ((s = json_string_value(json_object_get(j, "email"))) != NULL)
		snprintf(c->email, sizeof(c->email), "%s", s);
	if ((s = json_string_value(json_object_get(j, "comments"))) != NULL)
		snprintf(c->comments, sizeof(c->comments), "%s", s);
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(c->csr),
	    NID_commonName, c->cn, sizeof(c->cn));
	c->st = p->approval || d->cfg.manual ? ST_REQUESTED : ST_APPROVED;
	if (d->cfg.decline_next) {
		c->st = ST_DECLINED;
		d->cfg.decline_next = false;
	}
	if (client)
		send_json(o, 200, json_pack("{s:I, s:s}", "orderNumber",
		    (json_int_t)c->order, "backendCertId", c->backend));
	else	/* 5.10: upper case here, capitalised in details */
		send_json(o, 200, json_pack("{s:I, s:s, s:s, s:I}",
		    "deviceCertId", (json_int_t)c->id, "status",
		    st_name(c->st == ST_DECLINED ? ST_REQUESTED : c->st, false,
		    true), "backendCertId", c->backend, "orderNumber",
		    (json_int_t)c->order));
out:
	X509_REQ_free(csr);
	json_decref(j);
}

/* ---- collect (3.5, 4.3, 5.4) ---- */

static void
collect(struct dbl *d, bool client, const char *id, const char *fmt,
    struct out *o)
{
	struct cert	*c = cert_by_id(d, client, id, true);
	X509_NAME	*subj;
	static const char *const pend[] = { "Being processed by Sectigo",
	    "The request is being processed by Sectigo.",
	    "Certificate is not collectable." };
	int		 k;

	if (c == NULL) {
		send_err(o, 404, -5101, "Certificate not found.");
		return;
	}
	switch (c->st) {
	case ST_DECLINED:
		/* 5.4: the code is unconfirmed; -183, as for "not yet". */
		send_err(o, 400, -183, "Certificate is not collectable.");
		return;
	case ST_REVOKED:
		send_err(o, 400, -110, "Certificate has been revoked and "
		    "cannot be downloaded.");
		return;
	case ST_REQUESTED:
		break;		/* waits for approval: not counted */
	case ST_APPROVED:
	case ST_APPLIED:
		if (++c->collects > c->pending) {
			subj = X509_NAME_dup(X509_REQ_get_subject_name(c->csr));
			c->x = make_cert(subj, X509_REQ_get0_pubkey(c->csr),
			    d->ca, d->ca_key, c->term, client ? "smime" :
			    "device", c->csr, c->serial, sizeof(c->serial));
			X509_NAME_free(subj);
			c->st = ST_ISSUED;
		} else {
			c->st = ST_APPLIED;
		}
		break;
	case ST_ISSUED:
		break;
	}
	if (c->st != ST_ISSUED) {
		k = d->cfg.pending_code == -1400 ? 1 :
		    d->cfg.pending_code == -183 ? 2 : 0;
		send_err(o, 400, d->cfg.pending_code == -1400 ||
		    d->cfg.pending_code == -183 ? d->cfg.pending_code : 0,
		    "%s", pend[k]);
		return;
	}
	if (!collect_body(d, c, fmt, o))
		send_err(o, 400, -1450, "Unsupported certificate format "
		    "specified");
}

/* ---- details and lists (3.4, 5.7) ---- */

static json_t *
cert_json(const struct cert *c, bool detail)
{
	json_t	*j;

	j = json_pack("{s:I, s:s, s:I, s:s, s:s, s:I, s:{s:I, s:s}, s:i, "
	    "s:s}", "id", (json_int_t)c->id, "commonName", c->cn, "orgId",
	    (json_int_t)c->org_id, c->client ? "state" : "status",
	    st_name(c->st, c->client, false), "backendCertId", c->backend,
	    "orderNumber", (json_int_t)c->order, "certType", "id",
	    (json_int_t)c->prof->id, "name", c->prof->name, "term", c->term,
	    "comments", c->comments);
	if (j == NULL)
		die("json");
	if (c->serial[0] != '\0')
		json_object_set_new(j, "serialNumber", json_string(c->serial));
	if (c->client)
		json_object_set_new(j, "email", json_string(c->email));
	if (detail && c->client) {
		/* Details spell it "status" (3.8). */
		json_object_del(j, "state");
		json_object_set_new(j, "status", json_string(st_name(c->st,
		    true, false)));
	}
	return j;
}

static const char *
arg(struct MHD_Connection *con, const char *key)
{
	return MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, key);
}

static void
list(struct dbl *d, struct MHD_Connection *con, bool client, struct out *o)
{
	const char	*status = arg(con, client ? "state" : "status");
	const char	*serial = arg(con, "serialNumber");
	const char	*backend = arg(con, "backendCertId");
	const char	*email = arg(con, "email");
	const char	*cn = arg(con, "commonName");
	const char	*org = arg(con, "orgId");
	const char	*type = arg(con, "certTypeId");
	const char	*size_s = arg(con, "size"), *pos_s = arg(con,
			    "position");
	char		 a[128], b[128];
	json_t		*arr = json_array();
	long		 size = size_s != NULL ? num(size_s) : 10;
	long		 pos = pos_s != NULL ? num(pos_s) : 0;
	long		 total = 0;
	size_t		 i;

	if (d->cfg.fail_list > 0) {
		/* An admin without the right to list (4.2: -25). */
		d->cfg.fail_list--;
		json_decref(arr);
		send_err(o, 403, -25, "Access denied.");
		return;
	}
	if (size < 1 || size > 200 || pos < 0) {
		json_decref(arr);
		send_err(o, 400, -7, "size must be 1 to 200 and position 0 or "
		    "more");
		return;
	}
	for (i = 0; i < d->ncerts; i++) {
		const struct cert *c = &d->certs[i];

		if (c->client != client)
			continue;
		if (status != NULL && strcasecmp(status, st_name(c->st, client,
		    false)) != 0)
			continue;
		if (backend != NULL && strcmp(backend, c->backend) != 0)
			continue;
		if (email != NULL && strcasecmp(email, c->email) != 0)
			continue;
		if (cn != NULL && strcmp(cn, c->cn) != 0)
			continue;
		if ((org != NULL && num(org) != c->org_id) || (type != NULL &&
		    num(type) != c->prof->id))
			continue;
		if (serial != NULL) {
			norm_serial(serial, a, sizeof(a));
			norm_serial(c->serial, b, sizeof(b));
			if (c->serial[0] == '\0' || strcmp(a, b) != 0)
				continue;
		}
		if (total >= pos && total < pos + size)
			json_array_append_new(arr, cert_json(c, false));
		total++;
	}
	send_json(o, 200, arr);
	hdr(o, "X-Total-Count", "%ld", total);
}

/* ---- approve, decline (3.7), revoke (3.6, 5.6) ---- */

static void
approve(struct dbl *d, bool client, const char *id, bool yes,
    struct out *o)
{
	struct cert	*c = cert_by_id(d, client, id, client);

	if (c == NULL) {
		send_err(o, 404, -5101, "Certificate not found.");
		return;
	}
	if (c->st != ST_REQUESTED && (yes || c->st == ST_ISSUED ||
	    c->st == ST_DECLINED || c->st == ST_REVOKED)) {
		send_err(o, 400, -1112, "Certificate can't be approved cause "
		    "it has state = %s", st_name(c->st, client, false));
		return;
	}
	c->st = yes ? ST_APPROVED : ST_DECLINED;
	c->collects = 0;
	o->status = 204;
}

static bool
parse_reason(const char *body, size_t len, int *reason)
{
	json_t	*j, *r;
	long	 v = -1;
	char	*end;

	if ((j = json_loadb(body, len, 0, NULL)) == NULL)
		return false;
	r = json_object_get(j, "reasonCode");
	if (json_is_integer(r))
		v = (long)json_integer_value(r);
	else if (json_is_string(r) && json_string_value(r)[0] != '\0') {
		v = strtol(json_string_value(r), &end, 10);
		if (*end != '\0')
			v = -1;
	}
	json_decref(j);
	if (v != 0 && v != 1 && v != 3 && v != 4 && v != 5)
		return false;
	*reason = (int)v;
	return true;
}

static void
revoke_one(struct dbl *d, struct cert *c, int reason, struct out *o)
{
	if (c->st == ST_REVOKED) {
		send_err(o, 400, -159, "Your certificate already revoked");
		return;
	}
	if (c->st != ST_ISSUED) {
		send_err(o, 400, -102, "Only issued certificates could be "
		    "revoked.");
		return;
	}
	c->st = ST_REVOKED;
	c->reason = reason;
	json_array_append_new(d->revoked, json_string(c->serial));
	o->status = 204;
}

static void
revoke_cert(struct dbl *d, bool client, const char *how, const char *id,
    const char *body, size_t len, struct out *o)
{
	struct cert	*c = NULL;
	char		 a[128], b[128];
	size_t		 i;
	int		 reason;

	if (!parse_reason(body, len, &reason)) {
		/* The code is the double's choice [unconfirmed]. */
		send_err(o, 400, -7, "reasonCode must be 0, 1, 3, 4 or 5");
		return;
	}
	if (strcmp(how, "order") == 0) {
		c = cert_by_id(d, client, id, client);
	} else {
		norm_serial(id, a, sizeof(a));
		for (i = 0; c == NULL && i < d->ncerts; i++) {
			norm_serial(d->certs[i].serial, b, sizeof(b));
			if (d->certs[i].client == client &&
			    d->certs[i].serial[0] != '\0' && strcmp(a, b) == 0)
				c = &d->certs[i];
		}
	}
	if (c == NULL) {
		send_err(o, 404, -5101, "Certificate not found.");
		return;
	}
	revoke_one(d, c, reason, o);
}

/* Every issued client certificate of one email address (section 2). */
static void
revoke_email(struct dbl *d, const char *body, size_t len, struct out *o)
{
	json_t		*j;
	const char	*email;
	size_t		 i;
	int		 reason;

	if (!parse_reason(body, len, &reason)) {
		send_err(o, 400, -7, "reasonCode must be 0, 1, 3, 4 or 5");
		return;
	}
	j = json_loadb(body, len, 0, NULL);
	if ((email = json_string_value(json_object_get(j, "email"))) == NULL) {
		json_decref(j);
		send_err(o, 400, -7, "Required field is missing: email");
		return;
	}
	for (i = 0; i < d->ncerts; i++)
		if (d->certs[i].client && d->certs[i].st == ST_ISSUED &&
		    strcasecmp(d->certs[i].email, email) == 0)
			revoke_one(d, &d->certs[i], reason, o);
	json_decref(j);
	o->status = 204;
}

/* ---- catalogue answers ---- */

static json_t *
orgs_json(void)
{
	json_t	*arr = json_array(), *o, *deps;
	size_t	 i, k;

	for (i = 0; i < NORGS; i++) {
		if (orgs[i].parent != 0)
			continue;
		deps = json_array();
		for (k = 0; k < NORGS; k++)
			if (orgs[k].parent == orgs[i].id)
				json_array_append_new(deps, json_pack(
				    "{s:I, s:s, s:s}", "id",
				    (json_int_t)orgs[k].id, "name",
				    orgs[k].name, "parentName", orgs[i].name));
		o = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)orgs[i].id,
		    "name", orgs[i].name, "departments", deps);
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *
types_json(bool client, const char *org_s)
{
	json_t	*arr = json_array(), *t, *terms;
	long	 org = org_s != NULL ? num(org_s) : 0;
	size_t	 i, k;

	for (i = 0; i < NPROFILES; i++) {
		const struct profile *p = &profiles[i];

		if (p->client != client || (org != 0 && !profile_for(p, org)))
			continue;
		terms = json_array();
		for (k = 0; k < 3 && p->terms[k] != 0; k++)
			json_array_append_new(terms, json_integer(p->terms[k]));
		t = json_pack("{s:I, s:s, s:s, s:o, s:{s:[s,s,s], s:[s,s]}, "
		    "s:b}", "id", (json_int_t)p->id, "name", p->name,
		    "description", p->approval ? "needs approval" :
		    "auto-approved", "terms", terms, "keyTypes", "RSA", "2048",
		    "3072", "4096", "EC", "P-256", "P-384",
		    "useSecondaryOrgName", 0);
		if (!client) {
			json_object_set_new(t, "term",
			    json_integer(p->terms[0]));
			json_object_set_new(t, "ku", json_pack("[s,s]",
			    "Digital Signature", "Key Encipherment"));
			json_object_set_new(t, "eku", json_pack("[s]",
			    "1.3.6.1.5.5.7.3.2"));
		}
		json_array_append_new(arr, t);
	}
	return arr;
}

/* ---- authentication (1.1 to 1.3, 5.1) ---- */

static const char *
header(struct MHD_Connection *con, const char *name)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

#ifdef HAVE_GNUTLS
/* The TLS client certificate: verified against our root, CN = login. */
static bool
client_cert_ok(struct dbl *d, struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo	*ci;
	const gnutls_datum_t		*peers;
	gnutls_session_t		 s;
	const unsigned char		*p;
	unsigned int			 status = 1, n = 0;
	char				 cn[128] = "";
	X509				*x;

	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || (s = ci->tls_session) == NULL ||
	    gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0 ||
	    (peers = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0)
		return false;
	p = peers[0].data;
	if ((x = d2i_X509(NULL, &p, (long)peers[0].size)) == NULL)
		return false;
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
	    sizeof(cn));
	X509_free(x);
	return strcmp(cn, d->login) == 0;
}
#else
static bool
client_cert_ok(struct dbl *d, struct MHD_Connection *con)
{
	(void)d;
	(void)con;
	return false;
}
#endif

static void
unauthorized(struct dbl *d, struct out *o, bool bearer)
{
	send_err(o, 401, -16, "Unknown user");
	if (bearer)
		hdr(o, "WWW-Authenticate", "Bearer authorization_uri=\"%s%s\", "
		    "error=\"invalid_token\"", d->base, TOKEN_PATH);
}

/* True if the request may go on; else *o holds the 401. */
static bool
auth_ok(struct dbl *d, struct MHD_Connection *con, bool private, bool tls,
    struct out *o)
{
	const char	*authz = header(con, "Authorization");
	time_t		 now = time(NULL);
	size_t		 i;

	if (private) {
		if (d->cfg.auth_cert && tls && client_cert_ok(d, con) &&
		    streq(header(con, "login"), d->login) &&
		    streq(header(con, "customerUri"), d->customer_uri))
			return true;
		unauthorized(d, o, false);
		return false;
	}
	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
		for (i = 0; d->cfg.auth_oauth && i < d->ntokens; i++)
			if (strcmp(d->tokens[i].value, authz + 7) == 0 &&
			    d->tokens[i].expires > now)
				return true;
		unauthorized(d, o, true);
		return false;
	}
	if (d->cfg.auth_password && streq(header(con, "login"), d->login) &&
	    streq(header(con, "password"), d->password) &&
	    streq(header(con, "customerUri"), d->customer_uri))
		return true;
	unauthorized(d, o, false);
	return false;
}

/* application/x-www-form-urlencoded value of "key", decoded in place. */
static bool
form_value(char *body, const char *key, char *out, size_t outsz)
{
	char	*p, *amp, *eq;
	size_t	 n = strlen(key), o = 0;
	char	 hx[3] = { 0 };

	for (p = body; p != NULL && *p != '\0'; p = amp != NULL ? amp + 1 :
	    NULL) {
		amp = strchr(p, '&');
		eq = strchr(p, '=');
		if (eq == NULL || (amp != NULL && eq > amp) ||
		    (size_t)(eq - p) != n || strncmp(p, key, n) != 0)
			continue;
		for (p = eq + 1; *p != '\0' && *p != '&' && o + 1 < outsz;
		    p++) {
			if (*p == '+') {
				out[o++] = ' ';
			} else if (*p == '%' && isxdigit((unsigned char)p[1]) &&
			    isxdigit((unsigned char)p[2])) {
				hx[0] = p[1];
				hx[1] = p[2];
				out[o++] = (char)strtol(hx, NULL, 16);
				p += 2;
			} else {
				out[o++] = *p;
			}
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

/* 1.3: POST the token endpoint, client credentials grant. */
static void
token(struct dbl *d, const char *body, size_t len, struct out *o)
{
	char		*copy, grant[64] = "", id[256] = "", secret[256] = "";
	struct token	*t;
	unsigned char	 raw[32];
	size_t		 i;

	if ((copy = strndup(body != NULL ? body : "", len)) == NULL)
		die("malloc");
	form_value(copy, "grant_type", grant, sizeof(grant));
	form_value(copy, "client_id", id, sizeof(id));
	form_value(copy, "client_secret", secret, sizeof(secret));
	OPENSSL_cleanse(copy, len);
	free(copy);
	if (strcmp(grant, "client_credentials") != 0) {
		send_json(o, 400, json_pack("{s:s}", "error",
		    "unsupported_grant_type"));
	} else if (!d->cfg.auth_oauth || strcmp(id, d->client_id) != 0 ||
	    strcmp(secret, d->client_secret) != 0) {
		send_json(o, 401, json_pack("{s:s, s:s}", "error",
		    "invalid_client", "error_description",
		    "Invalid client credentials"));
	} else {
		if (d->ntokens == TOKENS_MAX) {
			memmove(d->tokens, d->tokens + 1,
			    (TOKENS_MAX - 1) * sizeof(d->tokens[0]));
			d->ntokens--;
		}
		t = &d->tokens[d->ntokens++];
		RAND_bytes(raw, sizeof(raw));
		for (i = 0; i < sizeof(raw); i++)
			snprintf(t->value + 2 * i, 3, "%02x", raw[i]);
		t->expires = time(NULL) + d->cfg.token_ttl;
		send_json(o, 200, json_pack("{s:s, s:s, s:i, s:s}",
		    "access_token", t->value, "token_type", "Bearer",
		    "expires_in", d->cfg.token_ttl, "scope", "profile"));
		o->secret = true;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
}

/* ---- fault injection (5.8) ---- */

/*
 * Milliseconds to hold this answer back after the request was done
 * (0: none): an answer the client gives up on, as a lost one.
 */
static int
late_answer(struct cfg *c, const char *path)
{
	if (c->late_reply <= 0 || (c->fault_match[0] != '\0' &&
	    strstr(path, c->fault_match) == NULL))
		return 0;
	c->late_reply--;
	return c->late_ms;
}

/* True when a fault answers this request instead ("o" set). */
static bool
fault(struct dbl *d, const char *path, struct out *o)
{
	struct cfg	*c = &d->cfg;

	if (c->fault_match[0] != '\0' && strstr(path, c->fault_match) == NULL)
		return false;
	if (c->empty_reply > 0) {
		c->empty_reply--;
		o->close = true;
		return true;
	}
	if (c->fail_429 > 0) {
		c->fail_429--;
		send_err(o, 429, -1, "Too many requests");
		hdr(o, "Retry-After", "%d", c->retry_after);
		return true;
	}
	if (c->fail_503 > 0 || (c->fail_rate > 0 &&
	    (double)rand_r(&d->rnd) / RAND_MAX < c->fail_rate)) {
		if (c->fail_503 > 0)
			c->fail_503--;
		send_str(o, 503, "text/html",
		    "<html><body>Service Unavailable</body></html>");
		return true;
	}
	if (c->fail_500 > 0) {
		c->fail_500--;
		send_err(o, 500, -2, "Internal error.");
		return true;
	}
	if (c->fail_195 > 0) {
		c->fail_195--;
		send_err(o, 400, -195, "CA not available now.");
		return true;
	}
	if (c->fail_140 > 0) {
		c->fail_140--;
		send_err(o, 400, -140, "CSR decoding temporarily unavailable.");
		return true;
	}
	return false;
}

/* ---- test hooks (5.9) ---- */

static json_t *
cfg_json(const struct cfg *c)
{
	return json_pack("{s:i, s:i, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:i, "
	    "s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:s}",
	    "pending", c->pending, "pending_code", c->pending_code,
	    "manual", c->manual, "decline_next", c->decline_next,
	    "mandatory_field", c->mandatory_field,
	    "auth_password", c->auth_password, "auth_cert", c->auth_cert,
	    "auth_oauth", c->auth_oauth, "token_ttl", c->token_ttl,
	    "fail_429", c->fail_429, "retry_after", c->retry_after,
	    "fail_503", c->fail_503, "fail_500", c->fail_500,
	    "fail_195", c->fail_195, "fail_140", c->fail_140,
	    "empty_reply", c->empty_reply, "non_json", c->non_json,
	    "delay_ms", c->delay_ms, "late_reply", c->late_reply,
	    "late_ms", c->late_ms, "fail_list", c->fail_list,
	    "fail_rate", c->fail_rate,
	    "fault_match", c->fault_match);
}

static void
set_int(json_t *j, const char *k, int *v, int min, int max)
{
	json_t	*x = json_object_get(j, k);

	if (json_is_integer(x) && json_integer_value(x) >= min &&
	    json_integer_value(x) <= max)
		*v = (int)json_integer_value(x);
}

static void
set_bool(json_t *j, const char *k, bool *v)
{
	json_t	*x = json_object_get(j, k);

	if (json_is_boolean(x))
		*v = json_is_true(x);
}

static void
cfg_update(struct cfg *c, json_t *j)
{
	json_t	*x;

	set_int(j, "pending", &c->pending, 0, 1000);
	set_int(j, "pending_code", &c->pending_code, -1400, 0);
	set_bool(j, "manual", &c->manual);
	set_bool(j, "decline_next", &c->decline_next);
	set_bool(j, "mandatory_field", &c->mandatory_field);
	set_bool(j, "auth_password", &c->auth_password);
	set_bool(j, "auth_cert", &c->auth_cert);
	set_bool(j, "auth_oauth", &c->auth_oauth);
	set_int(j, "token_ttl", &c->token_ttl, 1, 86400);
	set_int(j, "fail_429", &c->fail_429, 0, 1000000);
	set_int(j, "retry_after", &c->retry_after, 0, 3600);
	set_int(j, "fail_503", &c->fail_503, 0, 1000000);
	set_int(j, "fail_500", &c->fail_500, 0, 1000000);
	set_int(j, "fail_195", &c->fail_195, 0, 1000000);
	set_int(j, "fail_140", &c->fail_140, 0, 1000000);
	set_int(j, "empty_reply", &c->empty_reply, 0, 1000000);
	set_int(j, "non_json", &c->non_json, 0, 1000000);
	set_int(j, "delay_ms", &c->delay_ms, 0, 600000);
	set_int(j, "late_reply", &c->late_reply, 0, 1000000);
	set_int(j, "late_ms", &c->late_ms, 0, 600000);
	set_int(j, "fail_list", &c->fail_list, 0, 1000000);
	if (json_is_number(x = json_object_get(j, "fail_rate")))
		c->fail_rate = json_number_value(x);
	if (json_is_string(x = json_object_get(j, "fault_match")))
		snprintf(c->fault_match, sizeof(c->fault_match), "%s",
		    json_string_value(x));
}

static json_t *
state_json(struct dbl *d)
{
	json_t	*certs = json_array(), *c;
	size_t	 i;

	for (i = 0; i < d->ncerts; i++) {
		c = cert_json(&d->certs[i], false);
		json_object_set_new(c, "family",
		    json_string(d->certs[i].client ? "smime" : "device"));
		json_object_set_new(c, "collects",
		    json_integer(d->certs[i].collects));
		json_object_set_new(c, "pending",
		    json_integer(d->certs[i].pending));
		json_array_append_new(certs, c);
	}
	return json_pack("{s:o, s:O, s:i}", "certs", certs, "revoked_serials",
	    d->revoked, "tokens", (int)d->ntokens);
}

static void
test_hook(struct dbl *d, struct MHD_Connection *con, const char *method,
    const char *path, const char *body, size_t len, struct out *o)
{
	const char	*prefix, *m;
	json_t		*j, *arr, *e;
	long		 since;
	size_t		 i;

	if (strcmp(path, "/__test/config") == 0) {
		if (strcmp(method, "POST") == 0) {
			if ((j = json_loadb(body, len, 0, NULL)) == NULL ||
			    !json_is_object(j)) {
				json_decref(j);
				send_err(o, 400, -7, "config: not a JSON "
				    "object");
				return;
			}
			cfg_update(&d->cfg, j);
			json_decref(j);
		}
		send_json(o, 200, cfg_json(&d->cfg));
	} else if (strcmp(path, "/__test/log") == 0) {
		if (strcmp(method, "DELETE") == 0) {
			json_array_clear(d->log);
			o->status = 204;
			return;
		}
		since = arg(con, "since") != NULL ? num(arg(con, "since")) : 0;
		arr = json_array();
		json_array_foreach(d->log, i, e)
			if (json_integer_value(json_object_get(e, "seq")) >
			    since)
				json_array_append(arr, e);
		send_json(o, 200, arr);
	} else if (strcmp(path, "/__test/last") == 0) {
		prefix = arg(con, "path") != NULL ? arg(con, "path") : "/";
		m = arg(con, "method");
		for (i = json_array_size(d->log); i > 0; i--) {
			e = json_array_get(d->log, i - 1);
			if (strncmp(json_string_value(json_object_get(e,
			    "path")), prefix, strlen(prefix)) == 0 &&
			    (m == NULL || strcmp(m, json_string_value(
			    json_object_get(e, "method"))) == 0)) {
				send_json(o, 200, json_incref(e));
				return;
			}
		}
		send_err(o, 404, -5101, "no such request in the log");
	} else if (strcmp(path, "/__test/state") == 0) {
		send_json(o, 200, state_json(d));
	} else if (strcmp(path, "/__test/expire_tokens") == 0 &&
	    strcmp(method, "POST") == 0) {
		for (i = 0; i < d->ntokens; i++)
			d->tokens[i].expires = 0;
		o->status = 204;
	} else {
		send_err(o, 404, -5101, "unknown test hook");
	}
}

/* ---- routing ---- */

/* Split "/a/b/c" into at most 8 segments of "buf". */
static size_t
segments(char *buf, char **seg)
{
	size_t	n = 0;
	char	*p = buf, *s;

	while (n < 8 && (s = strsep(&p, "/")) != NULL)
		if (*s != '\0')
			seg[n++] = s;
	return n;
}

/* /api/... after authentication. "path" starts after "/api". */
static void
api(struct dbl *d, struct MHD_Connection *con, const char *method,
    const char *path, const char *body, size_t len, struct out *o)
{
	char		 buf[512], *s[8];
	size_t		 n;
	bool		 get = strcmp(method, "GET") == 0;
	bool		 head = strcmp(method, "HEAD") == 0;
	bool		 post = strcmp(method, "POST") == 0;
	bool		 dev, cli;

	snprintf(buf, sizeof(buf), "%s", path);
	n = segments(buf, s);
	if (n >= 2 && strcmp(s[0], "organization") == 0 &&
	    strcmp(s[1], "v1") == 0 && get) {
		if (n == 2) {
			send_json(o, 200, orgs_json());
			return;
		}
		if (n == 3 && org_find(num(s[2])) != NULL) {
			const struct org *g = org_find(num(s[2]));

			send_json(o, 200, json_pack("{s:I, s:s, s:[s,s,s], "
			    "s:b, s:b}", "id", (json_int_t)g->id, "name",
			    g->name, "certTypes", "SSL", "SMIME", "DEVICE",
			    "sslCertsApiEnabled", 1, "clientCertsApiEnabled",
			    1));
			return;
		}
		send_err(o, 404, -1023, "Organization not found.");
		return;
	}
	dev = n >= 2 && strcmp(s[0], "device") == 0 && strcmp(s[1], "v1") == 0;
	cli = n >= 2 && strcmp(s[0], "smime") == 0 &&
	    (strcmp(s[1], "v1") == 0 || strcmp(s[1], "v2") == 0);
	if (!dev && !cli) {
		send_json(o, 404, json_pack("{s:s}", "description",
		    "No such API path"));
		return;
	}
	if (n == 2 && (get || head) && (dev || strcmp(s[1], "v2") == 0)) {
		list(d, con, cli, o);
		return;
	}
	if (n == 3 && get && strcmp(s[2], "types") == 0) {
		send_json(o, 200, types_json(cli, arg(con, "organizationId")));
		return;
	}
	if (n == 3 && get && strcmp(s[2], "customFields") == 0) {
		if (dev)
			send_json(o, 200, json_pack("[{s:i, s:s, s:b}, "
			    "{s:i, s:s, s:b}]", "id", 1, "name", "Asset Tag",
			    "mandatory", 0, "id", 2, "name", "Cost Center",
			    "mandatory", d->cfg.mandatory_field));
		else
			send_json(o, 200, json_pack("[{s:i, s:s, s:b}]", "id",
			    3, "name", "Employee ID", "mandatory", 0));
		return;
	}
	if (n == 3 && post && strcmp(s[2], "enroll") == 0) {
		enroll(d, cli, body, len, o);
		return;
	}
	if ((n == 4 || n == 5) && get && strcmp(s[2], "collect") == 0) {
		collect(d, cli, s[3], n == 5 ? s[4] : arg(con, "format"), o);
		return;
	}
	if (n == 4 && post && (strcmp(s[2], "approve") == 0 ||
	    strcmp(s[2], "decline") == 0)) {
		approve(d, cli, s[3], strcmp(s[2], "approve") == 0, o);
		return;
	}
	if (n == 3 && post && cli && strcmp(s[2], "revoke") == 0) {
		revoke_email(d, body, len, o);
		return;
	}
	if (n == 5 && post && strcmp(s[2], "revoke") == 0 &&
	    (strcmp(s[3], "order") == 0 || strcmp(s[3], "serial") == 0)) {
		revoke_cert(d, cli, s[3], s[4], body, len, o);
		return;
	}
	if (n == 3 && get) {
		struct cert *c = cert_by_id(d, cli, s[2], false);

		if (c == NULL)
			send_err(o, 404, -5101, "Certificate not found.");
		else
			send_json(o, 200, cert_json(c, true));
		return;
	}
	send_json(o, 404, json_pack("{s:s}", "description",
	    "No such API path"));
}

/* ---- the request log ---- */

static enum MHD_Result
add_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	json_t	*h = cls;

	(void)kind;
	if (strcasecmp(key, "password") == 0 ||
	    strcasecmp(key, "Authorization") == 0)
		value = REDACTED;
	json_object_set_new(h, key, json_string(value != NULL ? value : ""));
	return MHD_YES;
}

static enum MHD_Result
add_query(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	char	*q = cls;
	size_t	 n = strlen(q);

	(void)kind;
	snprintf(q + n, 512 - n, "%s%s=%s", n == 0 ? "?" : "&", key,
	    value != NULL ? value : "");
	return MHD_YES;
}

/* A body as a JSON string: text, or base64 when binary. */
static json_t *
body_json(const char *p, size_t n, bool binary)
{
	unsigned char	*b64;
	json_t		*j;
	size_t		 i;

	if (n > LOG_BODY_MAX)
		n = LOG_BODY_MAX;
	for (i = 0; !binary && i < n; i++)
		if (p[i] == '\0')
			binary = true;
	if (!binary && (j = json_stringn(p != NULL ? p : "", n)) != NULL)
		return j;
	if ((b64 = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		die("malloc");
	EVP_EncodeBlock(b64, (const unsigned char *)p, (int)n);
	j = json_pack("{s:s}", "base64", (char *)b64);
	free(b64);
	return j;
}

static void
log_request(struct dbl *d, struct MHD_Connection *con, const char *method,
    const char *url, const struct dbl_rq *r, const struct out *o)
{
	char	 q[512] = "", path[1024];
	json_t	*e, *h = json_object(), *rh = json_object(), *req, *resp;
	int	 i;

	MHD_get_connection_values(con, MHD_HEADER_KIND, add_header, h);
	MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, add_query, q);
	snprintf(path, sizeof(path), "%s%s", url, q);
	if (strcmp(url, TOKEN_PATH) == 0)
		req = json_string("grant_type=client_credentials&client_id=..."
		    "&client_secret=" REDACTED);
	else
		req = body_json(r->body, r->len, false);
	if (o->secret)
		resp = json_string("{\"access_token\":\"" REDACTED "\",...}");
	else
		resp = body_json(o->body, o->len, o->binary);
	for (i = 0; i < o->nhdr; i++)
		json_object_set_new(rh, o->hdr[i][0],
		    json_string(o->hdr[i][1]));
	if (o->ctype != NULL)
		json_object_set_new(rh, "Content-Type", json_string(o->ctype));
	e = json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:i, s:o, s:o}",
	    "seq", (json_int_t)++d->seq, "time", (json_int_t)time(NULL),
	    "method", method, "path", path, "headers", h, "body", req,
	    "status", o->close ? 0 : (int)o->status, "response_headers", rh,
	    "response", resp);
	if (e == NULL)
		die("log");
	json_array_append_new(d->log, e);
	if (json_array_size(d->log) > LOG_MAX)
		json_array_remove(d->log, 0);
	fprintf(stderr, "scm-double: %s %s -> %d\n", method, path,
	    o->close ? 0 : (int)o->status);
}

/* ---- libmicrohttpd ---- */

static enum MHD_Result
handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct listener		*l = cls;
	struct dbl		*d = l->d;
	struct dbl_rq		*r = NULL;
	struct out		 o = { .status = 200 };
	enum MHD_Result		 ret;
	const char		*path = url;
	bool			 private = false, is_api;
	int			 delay = 0, late;

	(void)version;
	if (dbl_collect(con_cls, upload, upload_size, &r, &ret))
		return ret;
	if (strncmp(path, "/private/api/", 13) == 0) {
		private = true;
		path += 8;
	}
	is_api = strncmp(path, "/api/", 5) == 0;

	pthread_mutex_lock(&d->lock);
	if (is_api)
		delay = d->cfg.delay_ms;
	pthread_mutex_unlock(&d->lock);
	if (delay > 0)
		usleep((useconds_t)delay * 1000);

	pthread_mutex_lock(&d->lock);
	if (r->too_big) {
		send_err(&o, 413, -7, "Request body too large");
	} else if (strncmp(url, "/__test/", 8) == 0) {
		test_hook(d, con, method, url, r->body, r->len, &o);
	} else if (strcmp(url, TOKEN_PATH) == 0 && strcmp(method, "POST") ==
	    0) {
		token(d, r->body, r->len, &o);
	} else if (!is_api) {
		send_json(&o, 404, json_pack("{s:s}", "description",
		    "No such path"));
	} else if (fault(d, url, &o)) {
		/* answered */
	} else if (auth_ok(d, con, private, l->tls, &o)) {
		api(d, con, method, path + 4, r->body, r->len, &o);
	}
	if (o.status >= 400 && d->cfg.non_json > 0 && !o.close &&
	    strncmp(url, "/__test/", 8) != 0) {
		d->cfg.non_json--;
		free(o.body);
		o.body = NULL;
		send_str(&o, o.status, "text/html",
		    "<html><body>Error</body></html>");
	}
	log_request(d, con, method, url, r, &o);
	late = is_api ? late_answer(&d->cfg, url) : 0;
	pthread_mutex_unlock(&d->lock);
	if (late > 0)
		usleep((useconds_t)late * 1000);	/* done, answered late */

	if (o.close) {
		free(o.body);
		return MHD_NO;	/* 5.8: an empty reply */
	}
	return dbl_queue(con, o.status, dbl_response(o.body, o.len, o.ctype,
	    (const char (*)[2][160])o.hdr, o.nhdr));
}

/* ---- main ---- */

/* Everything, so that a sanitizer build of the tests sees no leak. */
static void
dbl_free(struct dbl *d)
{
	size_t	i;

	for (i = 0; i < d->ncerts; i++) {
		X509_REQ_free(d->certs[i].csr);
		X509_free(d->certs[i].x);
	}
	free(d->certs);
	json_decref(d->log);
	json_decref(d->revoked);
	X509_free(d->root);
	X509_free(d->ca);
	EVP_PKEY_free(d->root_key);
	EVP_PKEY_free(d->ca_key);
	pthread_mutex_destroy(&d->lock);
	OPENSSL_cleanse(d->password, sizeof(d->password));
	OPENSSL_cleanse(d->client_secret, sizeof(d->client_secret));
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: scm-double --port N [--tls-port N] [--address A]\n"
	    "                  [--ca-dir DIR] [--pending N]"
	    " [--pending-code C]\n"
	    "                  [--manual] [--fail-rate P] [--seed N]\n"
	    "                  [--token-ttl S] [--mandatory-field]\n"
	    "                  [--no-password-auth] [--no-cert-auth]"
	    " [--no-oauth]\n"
	    "                  [--login L] [--customer-uri C]"
	    " [--password-file F]\n"
	    "                  [--client-id I] [--client-secret-file F]\n");
	exit(2);
}

/* One line of a file (a password), without its line break. */
static void
read_line(const char *path, char *out, size_t outsz)
{
	FILE	*fp;

	if ((fp = fopen(path, "r")) == NULL || fgets(out, (int)outsz, fp) ==
	    NULL)
		die("%s: cannot read", path);
	fclose(fp);
	out[strcspn(out, "\r\n")] = '\0';
}

/* A listener of "l", or exit. */
static struct MHD_Daemon *
start(struct listener *l, const char *addr, int port, const char *cert,
    const char *key, const char *trust)
{
	struct MHD_Daemon	*mhd;
	char			 why[160];

	if ((mhd = dbl_start(handler, l, addr, port, cert, key, trust, why,
	    sizeof(why))) == NULL)
		die("%s", why);
	return mhd;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "tls-port", required_argument, NULL, 'P' },
		{ "address", required_argument, NULL, 'a' },
		{ "ca-dir", required_argument, NULL, 'c' },
		{ "pending", required_argument, NULL, 'n' },
		{ "pending-code", required_argument, NULL, 'C' },
		{ "manual", no_argument, NULL, 'm' },
		{ "fail-rate", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "mandatory-field", no_argument, NULL, 'M' },
		{ "no-password-auth", no_argument, NULL, '1' },
		{ "no-cert-auth", no_argument, NULL, '2' },
		{ "no-oauth", no_argument, NULL, '3' },
		{ "login", required_argument, NULL, 'l' },
		{ "customer-uri", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'w' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "client-secret-file", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbl		 d;
	struct listener		 plain = { &d, false }, tls = { &d, true };
	struct MHD_Daemon	*mhd, *mhd_tls = NULL;
	const char		*dir = "scm-double-ca", *addr = "127.0.0.1";
	char			*cert = NULL, *key = NULL, *trust = NULL;
	int			 port = -1, tls_port = -1, c, sig;
	sigset_t		 set;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	d.cfg.pending = 2;
	d.cfg.auth_password = d.cfg.auth_cert = d.cfg.auth_oauth = true;
	d.cfg.token_ttl = 300;
	d.cfg.retry_after = 1;
	snprintf(d.login, sizeof(d.login), "scep-gateway");
	snprintf(d.password, sizeof(d.password), "scm-double-password");
	snprintf(d.customer_uri, sizeof(d.customer_uri), "examplecorp");
	snprintf(d.client_id, sizeof(d.client_id), "scepgate-client");
	snprintf(d.client_secret, sizeof(d.client_secret),
	    "scm-double-client-secret");
	d.next_order = 918273;
	d.next_client = 1201;
	d.rnd = (unsigned int)time(NULL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = num(optarg);
			break;
		case 'P':
			if ((tls_port = num(optarg)) < 0)
				usage();
			break;
		case 'a':
			addr = optarg;
			break;
		case 'c':
			dir = optarg;
			break;
		case 'n':
			d.cfg.pending = num(optarg);
			break;
		case 'C':
			d.cfg.pending_code = num(optarg);
			if (d.cfg.pending_code != 0 &&
			    d.cfg.pending_code != -1400 &&
			    d.cfg.pending_code != -183)
				usage();
			break;
		case 'm':
			d.cfg.manual = true;
			break;
		case 'f':
			d.cfg.fail_rate = strtod(optarg, NULL);
			break;
		case 's':
			d.rnd = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			d.cfg.token_ttl = num(optarg);
			break;
		case 'M':
			d.cfg.mandatory_field = true;
			break;
		case '1':
			d.cfg.auth_password = false;
			break;
		case '2':
			d.cfg.auth_cert = false;
			break;
		case '3':
			d.cfg.auth_oauth = false;
			break;
		case 'l':
			snprintf(d.login, sizeof(d.login), "%s", optarg);
			break;
		case 'u':
			snprintf(d.customer_uri, sizeof(d.customer_uri), "%s",
			    optarg);
			break;
		case 'w':
			read_line(optarg, d.password, sizeof(d.password));
			break;
		case 'i':
			snprintf(d.client_id, sizeof(d.client_id), "%s",
			    optarg);
			break;
		case 'S':
			read_line(optarg, d.client_secret,
			    sizeof(d.client_secret));
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port < 0 || port > 65535 || tls_port > 65535 ||
	    d.cfg.pending < 0 || d.cfg.token_ttl < 1)
		usage();
	if ((d.log = json_array()) == NULL ||
	    (d.revoked = json_array()) == NULL)
		die("json");

	/* Signals go to sigwait below, not to the MHD threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	make_pki(&d, dir, &cert, &key, &trust);
	mhd = start(&plain, addr, port, NULL, NULL, NULL);
	snprintf(d.base, sizeof(d.base), "http://%s:%d", addr,
	    dbl_bound_port(mhd));
	if (tls_port >= 0)
		mhd_tls = start(&tls, addr, tls_port, cert, key, trust);
	printf("scm-double: REST API at %s/api\n", d.base);
	printf("scm-double: OAuth token URL %s%s\n", d.base, TOKEN_PATH);
	if (mhd_tls != NULL)
		printf("scm-double: client-certificate API at "
		    "https://%s:%d/private/api\n", addr, dbl_bound_port(mhd_tls));
	printf("scm-double: CA chain %s/ca.pem; login %s, customerUri %s, "
	    "password in %s/password.txt; OAuth client %s, secret in "
	    "%s/client_secret.txt; TLS login %s/client.pem\n", dir, d.login,
	    d.customer_uri, dir, d.client_id, dir, dir);
	fflush(stdout);

	sigwait(&set, &sig);
	MHD_stop_daemon(mhd);
	if (mhd_tls != NULL)
		MHD_stop_daemon(mhd_tls);
	OPENSSL_cleanse(key, strlen(key));
	free(cert);
	free(key);
	free(trust);
	dbl_free(&d);
	return 0;
}
