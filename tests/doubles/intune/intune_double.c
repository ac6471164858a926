/*
 * intune-double: an offline stand-in for Microsoft's side of Intune's
 * third-party SCEP integration, for scepgate's tests and for trying an
 * Intune endpoint without a tenant. It follows section 8 of
 * reference/intune-scep.md (with its section 10 corrections):
 *
 *  1. the Entra ID token endpoint (client credentials, one token per
 *     scope, wrong and expired secrets, both spellings of the Intune
 *     scope);
 *  2. Graph service discovery of the Intune service principal's
 *     endpoints (Graph token only; 403, no SCEP entry, scale-unit move);
 *  3. the three SCEP actions (token, api-version, JSON shape, the CSR
 *     parsed and its challengePassword compared, canned codes, faults);
 *  4. the PkiConnectorFEService revocation calls with a test-filled
 *     queue (section 7);
 *  5. a redacted request log and switches under /__test/.
 *
 * One process, one lock (d->lock) over all state; libmicrohttpd runs a
 * thread per connection, and slow answers sleep outside the lock.
 * Secrets (client secret, challenge, tokens) never reach stderr or the
 * request log. See README.md next to this file.
 */
#include <sys/socket.h>
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
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dbl_http.h"

#define LOG_MAX		2000		/* request log entries kept */
#define TOKENS_MAX	256
#define CODE_MAX	96		/* a canned Intune code */
#define INTUNE_APP	"0000000a-0000-0000-c000-000000000000"
#define SP_PREFIX	"/v1.0/servicePrincipals/"
#define SCEP_SVC	"scepsvc"	/* ScepRequestValidationFEService */
#define PKI_SVC		"pkisvc"	/* PkiConnectorFEService */
#define SCEP_API	"2018-02-20"	/* section 5, correction 4 */
#define SCEP_API_ALT	"5019-05-05"	/* EJBCA's, reported to work */
#define PKI_API		"5019-05-05"	/* section 7 */
#define REDACTED	"[redacted]"

enum scope { SC_NONE, SC_GRAPH, SC_INTUNE };
static const char *const scope_names[] = { "none", "graph", "intune" };

/* What a request is; faults are set per action. */
enum act { A_TOKEN, A_DISCOVERY, A_VALIDATE, A_SUCCESS, A_FAILURE,
	A_DOWNLOAD, A_UPLOAD, A_COUNT, A_OTHER = A_COUNT };
static const char *const act_names[] = { "token", "discovery",
    "validateRequest", "successNotification", "failureNotification",
    "downloadRevocationRequests", "uploadRevocationResults" };

enum fkind { F_NONE, F_500, F_429, F_503, F_MALFORMED, F_SLOW, F_RESET,
	F_COUNT };
static const char *const fkind_names[] = { "none", "500", "429", "503",
    "malformed", "slow", "reset" };

struct fault {
	enum fkind	kind;
	int		count;		/* requests left; -1: until cleared */
	int		seconds;	/* Retry-After (429), delay (slow) */
};

/* The switches: flags at start, POST /__test/config at run time. */
struct cfg {
	bool		secret_expired;	/* AADSTS7000222 for the right one */
	int		token_ttl;	/* expires_in, seconds */
	bool		discovery_403;	/* Graph permission missing */
	bool		no_scep_entry;	/* scep_challenge_provider missing */
	int		move_after;	/* discoveries until a move; 0: off */
	int		moved_status;	/* what the old scale unit answers */
	bool		api_version_check;
	char		code[A_COUNT][CODE_MAX];	/* canned replies */
	struct fault	faults[A_COUNT];
};

struct token {
	char		value[65];
	enum scope	scope;
	time_t		expires;
};

struct dbl {
	pthread_mutex_t	 lock;		/* guards everything below */
	struct cfg	 cfg;
	char		 tenant[128];
	char		 client_id[128];
	char		 client_secret[256];
	char		 good_challenge[256];
	char		 graph_res[256];	/* scope resources */
	char		 intune_res[256];
	char		 base[2][128];	/* http://..., https://... */
	int		 su;		/* the tenant's scale unit */
	long		 discoveries;
	long		 issued[3];	/* tokens per scope */
	long		 forms[2];	/* Intune scope: "/.default", "//" */
	struct token	 tokens[TOKENS_MAX];
	size_t		 ntokens;
	json_t		*log;		/* request records */
	long		 seq;
	json_t		*txns;		/* transactionId -> [events] */
	json_t		*revs;		/* the revocation queue */
	long		 next_ctx;
};

struct listener {
	struct dbl	*d;
	bool		 tls;
};

/* One answer, and what the log should say about the request. */
struct out {
	unsigned int	 status;
	char		*body;		/* malloc'ed */
	size_t		 len;
	const char	*ctype;
	char		 hdr[4][2][160];
	int		 nhdr;
	enum act	 act;
	enum fkind	 fault;		/* applied to this request */
	int		 delay;		/* seconds to wait before answering */
	json_t		*note;		/* extra log fields (object) */
	json_t		*logbody;	/* redacted request body, or NULL */
	bool		 secret;	/* body holds a token */
};

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "intune-double: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* ---- answers ---- */

static void
add_hdr(struct out *o, const char *name, const char *value)
{
	if (o->nhdr >= 4)
		return;
	snprintf(o->hdr[o->nhdr][0], sizeof(o->hdr[0][0]), "%s", name);
	snprintf(o->hdr[o->nhdr][1], sizeof(o->hdr[0][1]), "%s", value);
	o->nhdr++;
}

/* A JSON answer; "j" is consumed. A second answer replaces the first. */
static void
reply(struct out *o, unsigned int status, json_t *j)
{
	free(o->body);
	o->status = status;
	o->ctype = "application/json; charset=utf-8";
	o->body = j != NULL ? json_dumps(j, JSON_COMPACT |
	    JSON_PRESERVE_ORDER) : NULL;
	o->len = o->body != NULL ? strlen(o->body) : 0;
	json_decref(j);
}

static void
note(struct out *o, const char *key, json_t *v)
{
	if (o->note == NULL)
		o->note = json_object();
	json_object_set_new(o->note, key, v);
}

/* The SCEP service's own answer shape (5.4). */
static void
scep_reply(struct out *o, unsigned int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
scep_reply(struct out *o, unsigned int status, const char *code,
    const char *fmt, ...)
{
	char	desc[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	reply(o, status, json_pack("{s:s, s:s}", "code", code,
	    "errorDescription", desc));
	note(o, "code", json_string(code));
}

/* Entra ID's OAuth error shape. */
static void
aad_error(struct out *o, unsigned int status, const char *error, int aadsts,
    const char *desc)
{
	char	text[512];

	snprintf(text, sizeof(text), "AADSTS%d: %s", aadsts, desc);
	reply(o, status, json_pack("{s:s, s:s, s:[i]}", "error", error,
	    "error_description", text, "error_codes", aadsts));
	note(o, "error", json_string(error));
}

/* Microsoft Graph's error shape. */
static void
graph_error(struct out *o, unsigned int status, const char *code,
    const char *msg)
{
	reply(o, status, json_pack("{s:{s:s, s:s}}", "error", "code", code,
	    "message", msg));
	note(o, "error", json_string(code));
}

/* ---- small helpers ---- */

/* A decimal number in [min, max], else false. */
static bool
num(const char *s, long min, long max, long *v)
{
	char	*end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && errno == 0 && *v >= min &&
	    *v <= max;
}

static void
hex(const unsigned char *p, size_t n, char *out, bool upper)
{
	size_t	i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", p[i]);
}

/* A random GUID (request-id headers). */
static void
guid(char out[37])
{
	unsigned char	r[16];
	char		h[33];

	RAND_bytes(r, sizeof(r));
	hex(r, sizeof(r), h, false);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
}

static const char *
header(struct MHD_Connection *con, const char *name)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

/* The "/.default" resource in "scope": 0 no, 1 "/.default", 2 "//". */
static int
scope_form(const char *res, const char *scope)
{
	size_t	n = strlen(res);

	while (n > 0 && res[n - 1] == '/')
		n--;
	if (strncmp(scope, res, n) != 0)
		return 0;
	if (strcmp(scope + n, "/.default") == 0)
		return 1;
	if (strcmp(scope + n, "//.default") == 0)
		return 2;
	return 0;
}

static void
wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		OPENSSL_cleanse((char *)json_string_value(s),
		    json_string_length(s));
}

/*
 * application/x-www-form-urlencoded into a JSON object of strings
 * (the last of repeated keys wins). The caller wipes secret values.
 */
static json_t *
form_parse(const char *body, size_t len)
{
	json_t	*j = json_object();
	char	*buf, *p, *pair, *eq, *w, *r, hx[3] = { 0 };

	if ((buf = strndup(body != NULL ? body : "", len)) == NULL)
		die("malloc");
	p = buf;
	while ((pair = strsep(&p, "&")) != NULL) {
		if ((eq = strchr(pair, '=')) == NULL)
			continue;
		*eq = '\0';
		for (r = w = eq + 1; *r != '\0'; r++) {
			if (*r == '%' && isxdigit((unsigned char)r[1]) &&
			    isxdigit((unsigned char)r[2])) {
				hx[0] = r[1];
				hx[1] = r[2];
				*w++ = (char)strtol(hx, NULL, 16);
				r += 2;
			} else
				*w++ = *r == '+' ? ' ' : *r;
		}
		*w = '\0';
		wipe_json_string(json_object_get(j, pair));
		json_object_set_new(j, pair, json_string(eq + 1));
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return j;
}

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* ---- tokens (section 3, 8.1) ---- */

static struct token *
token_find(struct dbl *d, const char *authz)
{
	size_t	i;

	if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0)
		return NULL;
	for (i = 0; i < d->ntokens; i++)
		if (strcmp(d->tokens[i].value, authz + 7) == 0)
			return &d->tokens[i];
	return NULL;
}

/* The scope of a live bearer token; SC_NONE if none, unknown, expired. */
static enum scope
bearer(struct dbl *d, struct MHD_Connection *con, bool *expired)
{
	struct token	*t = token_find(d, header(con, "Authorization"));

	*expired = t != NULL && t->expires <= time(NULL);
	return t != NULL && !*expired ? t->scope : SC_NONE;
}

static void
token_issue(struct dbl *d, enum scope sc, struct out *o)
{
	struct token	*t;
	unsigned char	 raw[32];

	if (d->ntokens == TOKENS_MAX) {
		OPENSSL_cleanse(&d->tokens[0], sizeof(d->tokens[0]));
		memmove(d->tokens, d->tokens + 1,
		    (TOKENS_MAX - 1) * sizeof(d->tokens[0]));
		d->ntokens--;
	}
	t = &d->tokens[d->ntokens++];
	RAND_bytes(raw, sizeof(raw));
	hex(raw, sizeof(raw), t->value, false);
	t->scope = sc;
	t->expires = time(NULL) + d->cfg.token_ttl;
	d->issued[sc]++;
	reply(o, 200, json_pack("{s:s, s:i, s:i, s:s}", "token_type",
	    "Bearer", "expires_in", d->cfg.token_ttl, "ext_expires_in",
	    d->cfg.token_ttl, "access_token", t->value));
	o->secret = true;
	note(o, "token_scope", json_string(scope_names[sc]));
}

/* POST /{tenant}/oauth2/v2.0/token, checked in Entra's order. */
static void
token(struct dbl *d, const char *tenant, json_t *form, struct out *o)
{
	const char	*grant = jstr(form, "grant_type");
	const char	*id = jstr(form, "client_id");
	const char	*secret = jstr(form, "client_secret");
	const char	*scope = jstr(form, "scope");
	int		 gf, inf = 0;

	if (strcasecmp(tenant, d->tenant) != 0)
		aad_error(o, 400, "invalid_request", 90002, "Tenant not "
		    "found. Check the tenant of the authority URL.");
	else if (grant == NULL || strcmp(grant, "client_credentials") != 0)
		aad_error(o, 400, "unsupported_grant_type", 70003, "The app "
		    "requested an unsupported grant type; only "
		    "client_credentials is served here.");
	else if (id == NULL || strcmp(id, d->client_id) != 0)
		aad_error(o, 400, "unauthorized_client", 700016, "Application "
		    "with the given client_id was not found in the tenant.");
	else if (secret == NULL || *secret == '\0')
		aad_error(o, 401, "invalid_client", 7000216, "'client_secret' "
		    "is required.");
	else if (strlen(secret) != strlen(d->client_secret) ||
	    CRYPTO_memcmp(secret, d->client_secret, strlen(secret)) != 0)
		aad_error(o, 401, "invalid_client", 7000215, "Invalid client "
		    "secret provided. Ensure the secret being sent in the "
		    "request is the client secret value, not the client "
		    "secret ID.");
	else if (d->cfg.secret_expired)
		aad_error(o, 401, "invalid_client", 7000222, "The provided "
		    "client secret keys for the app are expired. Create new "
		    "keys for the app.");
	else if (scope == NULL)
		aad_error(o, 400, "invalid_request", 90014, "The required "
		    "field 'scope' is missing.");
	else if ((gf = scope_form(d->graph_res, scope)) != 0 ||
	    (inf = scope_form(d->intune_res, scope)) != 0) {
		if (gf == 0)
			d->forms[inf - 1]++;
		note(o, "scope_form", json_string((gf ? gf : inf) == 2 ?
		    "double-slash" : "single-slash"));
		token_issue(d, gf ? SC_GRAPH : SC_INTUNE, o);
	} else
		aad_error(o, 400, "invalid_scope", 1002012, "The provided "
		    "value for scope is not valid: client credential flows "
		    "need <resource>/.default of Graph or Intune.");
	if (scope != NULL && o->status != 200)
		note(o, "scope", json_string(scope));
}

/* ---- discovery (section 4, 8.2) ---- */

static json_t *
sp_endpoint(const char *name, const char *uri)
{
	char	id[37];

	guid(id);
	return json_pack("{s:s, s:n, s:s, s:n, s:s, s:n, s:s}", "id", id,
	    "deletedDateTime", "capability", "ServiceEndpoint", "providerId",
	    "providerName", name, "providerResourceId", "uri", uri);
}

static void
discovery(struct dbl *d, struct MHD_Connection *con, const char *app,
    bool tls, struct out *o)
{
	json_t	*v;
	char	 uri[3][300];
	bool	 expired;

	if (strcmp(app, "appId=" INTUNE_APP) != 0) {
		graph_error(o, 404, "Request_ResourceNotFound", "Resource "
		    "does not exist or one of its queried reference-property "
		    "objects are not present.");
		return;
	}
	switch (bearer(d, con, &expired)) {
	case SC_NONE:
		graph_error(o, 401, "InvalidAuthenticationToken", expired ?
		    "Lifetime validation failed, the token is expired." :
		    header(con, "Authorization") == NULL ?
		    "Access token is empty." :
		    "Access token validation failure. Invalid audience.");
		return;
	case SC_INTUNE:
		graph_error(o, 403, "Authorization_RequestDenied", "The "
		    "token's audience is Intune, not Microsoft Graph.");
		return;
	case SC_GRAPH:
		break;
	}
	if (d->cfg.discovery_403) {
		graph_error(o, 403, "Authorization_RequestDenied",
		    "Insufficient privileges to complete the operation.");
		return;
	}
	d->discoveries++;
	snprintf(uri[0], sizeof(uri[0]), "%s/su%d/" SCEP_SVC, d->base[tls],
	    d->su);
	snprintf(uri[1], sizeof(uri[1]), "%s/su%d/" PKI_SVC, d->base[tls],
	    d->su);
	snprintf(uri[2], sizeof(uri[2]), "%s/su%d/other", d->base[tls],
	    d->su);
	v = json_array();
	/* One of the many other entries a real tenant lists (404s here). */
	json_array_append_new(v, sp_endpoint("OtherFEService", uri[2]));
	if (!d->cfg.no_scep_entry)
		json_array_append_new(v, sp_endpoint(
		    "ScepRequestValidationFEService", uri[0]));
	json_array_append_new(v, sp_endpoint("PkiConnectorFEService", uri[1]));
	reply(o, 200, json_pack("{s:s, s:o}", "@odata.context",
	    "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals"
	    "('appId%3D" INTUNE_APP "')/endpoints", "value", v));
	note(o, "scale_unit", json_integer(d->su));
	/* 8.2: the tenant moves after the Nth answer. */
	if (d->cfg.move_after > 0 && --d->cfg.move_after == 0)
		d->su++;
}

/* ---- the CSR (5.1): base64, PKCS#10, challengePassword ---- */

struct csr_info {
	char	sha256[65];
	char	subject[256];
	char	challenge[8];	/* "good", "wrong", "missing" */
};

/* Strict standard base64 with padding; malloc'ed bytes, or NULL. */
static unsigned char *
b64_decode(const char *s, size_t *outlen)
{
	unsigned char	*raw;
	size_t		 n = strlen(s), pad = 0;
	int		 k;

	if (n == 0 || n % 4 != 0 || n > INT_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != n)
		return NULL;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	if (strcspn(s, "=") != n - pad)		/* '=' only as padding */
		return NULL;
	if ((raw = malloc(n)) == NULL)
		die("malloc");
	if ((k = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n)) <
	    0) {
		free(raw);
		return NULL;
	}
	*outlen = (size_t)k - pad;
	return raw;
}

/* "good", "wrong" or "missing" for the CSR's challengePassword. */
static const char *
challenge_check(struct dbl *d, X509_REQ *req)
{
	X509_ATTRIBUTE	*a;
	ASN1_TYPE	*t;
	unsigned char	*utf8 = NULL;
	int		 i, n;
	bool		 good;

	if ((i = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword,
	    -1)) < 0 || (a = X509_REQ_get_attr(req, i)) == NULL ||
	    (t = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
	    t->type == V_ASN1_BOOLEAN || t->type == V_ASN1_NULL ||
	    t->type == V_ASN1_OBJECT ||
	    (n = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string)) < 0)
		return "missing";
	good = (size_t)n == strlen(d->good_challenge) &&
	    CRYPTO_memcmp(utf8, d->good_challenge, (size_t)n) == 0;
	OPENSSL_cleanse(utf8, (size_t)n);
	OPENSSL_free(utf8);
	return good ? "good" : "wrong";
}

/* Parses and verifies a base64 DER PKCS#10; fills "ci". */
static bool
csr_check(struct dbl *d, const char *b64, struct csr_info *ci, char *why,
    size_t whysz)
{
	const unsigned char	*q;
	unsigned char		*der, md[32];
	size_t			 len = 0;
	X509_REQ		*req = NULL;
	EVP_PKEY		*pk;
	BIO			*b;
	int			 k;
	bool			 ok = false;

	if ((der = b64_decode(b64, &len)) == NULL) {
		snprintf(why, whysz, "certificateRequest is not standard, "
		    "padded base64 (no PEM armour, no line breaks)");
		return false;
	}
	SHA256(der, len, md);
	hex(md, sizeof(md), ci->sha256, false);
	q = der;
	if ((req = d2i_X509_REQ(NULL, &q, (long)len)) == NULL ||
	    q != der + len) {
		snprintf(why, whysz, "certificateRequest is not one DER "
		    "PKCS#10 CertificationRequest");
		goto out;
	}
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pk) != 1) {
		snprintf(why, whysz, "the PKCS#10 signature does not verify");
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		die("BIO");
	X509_NAME_print_ex(b, X509_REQ_get_subject_name(req), 0,
	    XN_FLAG_RFC2253);
	k = BIO_read(b, ci->subject, sizeof(ci->subject) - 1);
	ci->subject[k > 0 ? k : 0] = '\0';
	BIO_free(b);
	snprintf(ci->challenge, sizeof(ci->challenge), "%s",
	    challenge_check(d, req));
	ok = true;
out:
	ERR_clear_error();
	X509_REQ_free(req);
	free(der);
	return ok;
}

/* ---- the SCEP actions (section 5, 8.3) ---- */

/* Required non-empty strings of each action's object (5.1-5.3). */
static const char *const req_validate[] = { "transactionId",
    "certificateRequest", "callerInfo", NULL };
static const char *const req_success[] = { "transactionId",
    "certificateRequest", "certificateThumbprint",
    "certificateSerialNumber", "certificateExpirationDateUtc",
    "issuingCertificateAuthority", "callerInfo", NULL };
static const char *const req_failure[] = { "transactionId",
    "certificateRequest", "callerInfo", NULL };

/* ISO 8601 UTC: YYYY-MM-DDThh:mm:ss[.f{1,7}]Z (5.2). */
static bool
iso_utc(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t		  i, f = 0;

	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pat[i])
			return false;
	s += i;
	if (*s == '.') {
		while (isdigit((unsigned char)s[++f]))
			;
		if (f < 2 || f > 8)
			return false;
		s += f;
	}
	return strcmp(s, "Z") == 0;
}

/* 400 with a clear message unless the shape of 5.x holds. */
static bool
shape_ok(enum act a, json_t *obj, const char *top, char *why, size_t whysz)
{
	const char *const	*req = a == A_VALIDATE ? req_validate :
				    a == A_SUCCESS ? req_success : req_failure;
	const char		*s;
	json_t			*h;
	size_t			 i;

	if (!json_is_object(obj)) {
		snprintf(why, whysz, "the body must be {\"%s\": {...}} "
		    "(reference section 5)", top);
		return false;
	}
	for (i = 0; req[i] != NULL; i++) {
		if ((s = jstr(obj, req[i])) == NULL || *s == '\0') {
			snprintf(why, whysz, "%s.%s is missing, empty or not "
			    "a string", top, req[i]);
			return false;
		}
	}
	if (a == A_SUCCESS) {
		if (!iso_utc(jstr(obj, "certificateExpirationDateUtc"))) {
			snprintf(why, whysz, "%s.certificateExpirationDateUtc"
			    " is not ISO 8601 UTC (2026-06-11T16:11:20.090Z)",
			    top);
			return false;
		}
		for (i = 0; i < 2; i++) {
			s = i == 0 ? "caConfiguration" : "certificateAuthority";
			h = json_object_get(obj, s);
			if (h != NULL && !json_is_string(h)) {
				snprintf(why, whysz, "%s.%s must be a string",
				    top, s);
				return false;
			}
		}
	}
	if (a != A_FAILURE)
		return true;
	h = json_object_get(obj, "hResult");
	if (!json_is_integer(h) || json_integer_value(h) < INT32_MIN ||
	    json_integer_value(h) > UINT32_MAX) {
		snprintf(why, whysz, "%s.hResult must be a 32-bit HRESULT as "
		    "a JSON integer", top);
		return false;
	}
	if ((s = jstr(obj, "errorDescription")) == NULL || strlen(s) > 255) {
		snprintf(why, whysz, "%s.errorDescription must be a string of"
		    " at most 255 characters", top);
		return false;
	}
	return true;
}

/* One event in the transaction's history (GET /__test/state). */
static void
txn_event(struct dbl *d, enum act a, json_t *obj, const char *code,
    const struct csr_info *ci)
{
	static const char *const keep[] = { "certificateThumbprint",
	    "certificateSerialNumber", "certificateExpirationDateUtc",
	    "issuingCertificateAuthority", "caConfiguration",
	    "certificateAuthority", "hResult", "errorDescription",
	    "callerInfo", NULL };
	const char	*txid = jstr(obj, "transactionId");
	json_t		*ev, *list;
	size_t		 i;

	ev = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "action",
	    act_names[a], "code", code, "seq", (json_int_t)d->seq + 1,
	    "csr_sha256", ci->sha256, "subject", ci->subject, "challenge",
	    ci->challenge);
	for (i = 0; keep[i] != NULL; i++)
		if (json_object_get(obj, keep[i]) != NULL)
			json_object_set(ev, keep[i], json_object_get(obj,
			    keep[i]));
	if ((list = json_object_get(d->txns, txid)) == NULL) {
		list = json_array();
		json_object_set_new(d->txns, txid, list);
	}
	json_array_append_new(list, ev);
}

static void
scep_action(struct dbl *d, enum act a, json_t *body, struct out *o)
{
	const char	*top = a == A_VALIDATE ? "request" : "notification";
	json_t		*obj = json_object_get(body, top);
	struct csr_info	 ci = { "", "", "" };
	const char	*code;
	char		 why[256];

	if (!shape_ok(a, obj, top, why, sizeof(why))) {
		scep_reply(o, 400, "BadRequest", "%s", why);
		return;
	}
	if (!csr_check(d, jstr(obj, "certificateRequest"), &ci, why,
	    sizeof(why))) {
		scep_reply(o, 200, "CertificateRequestDecodingFailed", "%s",
		    why);
		txn_event(d, a, obj, "CertificateRequestDecodingFailed", &ci);
		return;
	}
	note(o, "challenge", json_string(ci.challenge));
	code = d->cfg.code[a];
	/* Real blobs cannot be made offline: a good one is a known text. */
	if (a == A_VALIDATE && strcmp(ci.challenge, "missing") == 0)
		code = "ChallengePasswordMissing";
	else if (a == A_VALIDATE && strcmp(ci.challenge, "wrong") == 0)
		code = "ChallengeDeserializationError";
	if (strcmp(code, "Success") == 0)
		scep_reply(o, 200, code, "%s", "");
	else
		scep_reply(o, 200, code, "intune-double: %s (challenge %s)",
		    code, ci.challenge);
	txn_event(d, a, obj, code, &ci);
}

/* ---- revocation (section 7, 8.4) ---- */

static bool
rev_errcode_ok(json_t *v)
{
	static const long codes[] = { 0, 4000, 4001, 4002, 4003, 4004, 4005,
	    4006, 4007, 4100, 4101, 4102, 4103 };
	long	c;
	size_t	i;

	if (json_is_integer(v))
		c = (long)json_integer_value(v);
	else if (!json_is_string(v) || !num(json_string_value(v), 0, 9999,
	    &c))
		return false;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i] == c)
			return true;
	return false;
}

static json_t *
rev_find(struct dbl *d, const char *ctx)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(d->revs, i, e)
		if (ctx != NULL && strcmp(jstr(e, "requestContext"), ctx) == 0)
			return e;
	return NULL;
}

static void
rev_download(struct dbl *d, json_t *body, struct out *o)
{
	json_t		*p = json_object_get(body, "downloadParameters");
	json_t		*max = json_object_get(p, "maxRequests"), *iss, *e;
	json_t		*v;
	const char	*issuer = NULL;
	size_t		 i;

	iss = json_object_get(p, "issuerName");
	if (!json_is_object(p) || !json_is_integer(max) ||
	    json_integer_value(max) < 1 || json_integer_value(max) > 500 ||
	    (iss != NULL && !json_is_null(iss) && !json_is_string(iss))) {
		scep_reply(o, 400, "BadRequest", "body must be "
		    "{\"downloadParameters\": {\"maxRequests\": 1..500, "
		    "\"issuerName\": optional string}}");
		return;
	}
	if (json_is_string(iss) && *json_string_value(iss) != '\0')
		issuer = json_string_value(iss);
	v = json_array();
	json_array_foreach(d->revs, i, e) {
		if ((json_int_t)json_array_size(v) >= json_integer_value(max))
			break;
		if (json_object_get(e, "result") != NULL || (issuer != NULL &&
		    strcasecmp(issuer, jstr(e, "issuerName")) != 0))
			continue;
		json_object_set_new(e, "downloads", json_integer(
		    json_integer_value(json_object_get(e, "downloads")) + 1));
		json_array_append_new(v, json_pack("{s:O, s:O, s:O, s:O}",
		    "requestContext", json_object_get(e, "requestContext"),
		    "serialNumber", json_object_get(e, "serialNumber"),
		    "issuerName", json_object_get(e, "issuerName"),
		    "caConfiguration", json_object_get(e, "caConfiguration")));
	}
	note(o, "handed_out", json_integer((json_int_t)json_array_size(v)));
	reply(o, 200, json_pack("{s:o}", "value", v));
}

static void
rev_upload(struct dbl *d, json_t *body, struct out *o)
{
	json_t		*r = json_object_get(body, "results"), *e, *q;
	const char	*ctx;
	size_t		 i;

	if (!json_is_array(r) || json_array_size(r) == 0) {
		scep_reply(o, 400, "BadRequest", "body must be {\"results\": "
		    "[...]} with at least one result");
		return;
	}
	json_array_foreach(r, i, e) {	/* check all before taking any */
		ctx = jstr(e, "requestContext");
		if (rev_find(d, ctx) == NULL ||
		    !json_is_boolean(json_object_get(e, "succeeded")) ||
		    !rev_errcode_ok(json_object_get(e, "errorCode")) ||
		    (json_object_get(e, "errorMessage") != NULL &&
		    !json_is_string(json_object_get(e, "errorMessage")))) {
			scep_reply(o, 400, "BadRequest", "results[%zu]: needs "
			    "a known requestContext, succeeded (boolean), "
			    "errorCode (a CARequestErrorCodes value) and "
			    "errorMessage (string)", i);
			return;
		}
	}
	json_array_foreach(r, i, e) {
		q = rev_find(d, jstr(e, "requestContext"));
		json_object_set(q, "result", e);
	}
	reply(o, 200, json_pack("{s:b}", "value", 1));
}

/* ---- the services' common checks ---- */

/*
 * A SCEP or revocation call: Intune token, api-version, Content-Type,
 * a JSON object as body. True if it may go on; else "o" holds the 4xx.
 */
static bool
service_ok(struct dbl *d, struct MHD_Connection *con, enum act a,
    json_t *body, struct out *o)
{
	const char	*ver = header(con, "api-version");
	const char	*ct = header(con, "Content-Type");
	bool		 pki = a == A_DOWNLOAD || a == A_UPLOAD, expired;
	enum scope	 sc = bearer(d, con, &expired);

	note(o, "api_version", ver != NULL ? json_string(ver) : json_null());
	if (sc != SC_INTUNE) {
		reply(o, 401, json_pack("{s:s, s:s}", "Message", expired ?
		    "Authorization has been denied: the token is expired." :
		    sc == SC_GRAPH ? "Authorization has been denied: the "
		    "token's audience is Graph, not Intune." : "Authorization "
		    "has been denied for this request.", "code",
		    "Unauthorized"));
		add_hdr(o, "WWW-Authenticate", "Bearer");
		return false;
	}
	if (d->cfg.api_version_check && (ver == NULL || (pki ?
	    strcmp(ver, PKI_API) != 0 : (strcmp(ver, SCEP_API) != 0 &&
	    strcmp(ver, SCEP_API_ALT) != 0)))) {
		scep_reply(o, 400, "BadRequest", "the api-version header must "
		    "be %s", pki ? PKI_API : SCEP_API);
		return false;
	}
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
		scep_reply(o, 415, "BadRequest", "Content-Type must be "
		    "application/json");
		return false;
	}
	if (!json_is_object(body)) {
		scep_reply(o, 400, "BadRequest", "the body is not a JSON "
		    "object");
		return false;
	}
	return true;
}

/* ---- redaction for the request log ---- */

/* Replaces secrets inside a JSON body (recursively, in place). */
static void
redact_json(json_t *j)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	char		 text[64];

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			redact_json(v);
		return;
	}
	json_object_foreach(j, k, v) {
		if (strcmp(k, "certificateRequest") == 0 &&
		    json_is_string(v)) {
			/* The challenge blob is inside: see "csr_sha256". */
			snprintf(text, sizeof(text), "[CSR, %zu base64 "
			    "characters, redacted]", json_string_length(v));
			wipe_json_string(v);
			json_object_set_new(j, k, json_string(text));
		} else if (strcasecmp(k, "challengePassword") == 0 ||
		    strcasecmp(k, "good_challenge") == 0 ||
		    strcasecmp(k, "client_secret") == 0 ||
		    strcasecmp(k, "access_token") == 0) {
			wipe_json_string(v);
			json_object_set_new(j, k, json_string(REDACTED));
		} else
			redact_json(v);
	}
}

/* A body that is neither a form nor JSON: masked text. */
static json_t *
redact_text(struct dbl *d, const char *p, size_t n)
{
	const char	*secrets[2] = { d->client_secret, d->good_challenge };
	char		*s, *hit;
	size_t		 i;
	json_t		*j;

	if (n > 4096)
		n = 4096;
	if ((s = strndup(p != NULL ? p : "", n)) == NULL)
		die("malloc");
	for (i = 0; i < 2; i++)
		while (*secrets[i] != '\0' &&
		    (hit = strstr(s, secrets[i])) != NULL)
			memset(hit, '*', strlen(secrets[i]));
	for (i = 0; s[i] != '\0'; i++)
		if (!isprint((unsigned char)s[i]) && !isspace((unsigned char)
		    s[i]))
			s[i] = '?';
	j = json_string(s);
	OPENSSL_cleanse(s, n);
	free(s);
	return j;
}

struct hdrlog {
	struct dbl	*d;
	json_t		*h;
};

static enum MHD_Result
log_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct hdrlog	*hl = cls;
	struct token	*t;
	char		 text[64];

	(void)kind;
	if (strcasecmp(key, "Authorization") == 0) {
		/* 8: the token's scope name, never the token. */
		if ((t = token_find(hl->d, value)) != NULL)
			snprintf(text, sizeof(text), "Bearer [%s%s]",
			    scope_names[t->scope], t->expires <= time(NULL) ?
			    ", expired" : "");
		else
			snprintf(text, sizeof(text), "%s", value != NULL &&
			    strncasecmp(value, "Bearer ", 7) == 0 ?
			    "Bearer [unknown token]" : REDACTED);
		value = text;
	}
	json_object_set_new(hl->h, key, json_string(value != NULL ? value :
	    ""));
	return MHD_YES;
}

static enum MHD_Result
log_query(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	char	*q = cls;
	size_t	 n = strlen(q);

	(void)kind;
	snprintf(q + n, 512 - n, "%s%s=%s", n == 0 ? "?" : "&", key,
	    value != NULL ? value : "");
	return MHD_YES;
}

static void
log_request(struct dbl *d, struct MHD_Connection *con, const char *method,
    const char *url, const struct dbl_rq *r, struct out *o)
{
	struct hdrlog	 hl = { d, json_object() };
	char		 q[512] = "", path[1024];
	json_t		*e, *resp, *rh = json_object();
	int		 i, status = o->fault == F_RESET ? 0 : (int)o->status;

	MHD_get_connection_values(con, MHD_HEADER_KIND, log_header, &hl);
	MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, log_query, q);
	snprintf(path, sizeof(path), "%s%s", url, q);
	if (o->logbody == NULL)
		o->logbody = r->len > 0 ? redact_text(d, r->body, r->len) :
		    json_string("");
	if (o->secret)
		resp = json_string("{\"access_token\":\"" REDACTED "\",...}");
	else
		resp = json_stringn(o->body != NULL ? o->body : "",
		    o->fault == F_RESET ? 0 : o->len);
	for (i = 0; i < o->nhdr; i++)
		json_object_set_new(rh, o->hdr[i][0],
		    json_string(o->hdr[i][1]));
	if (o->ctype != NULL)
		json_object_set_new(rh, "Content-Type", json_string(o->ctype));
	e = json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:O, s:i, s:o, s:o}",
	    "seq", (json_int_t)++d->seq, "time", (json_int_t)time(NULL),
	    "method", method, "path", path, "action", o->act == A_OTHER ?
	    "other" : act_names[o->act], "headers", hl.h, "body", o->logbody,
	    "status", status, "response_headers", rh, "response", resp);
	if (e == NULL)
		die("log");
	if (o->fault != F_NONE)
		note(o, "fault", json_string(fkind_names[o->fault]));
	if (o->note != NULL)
		json_object_update(e, o->note);
	/* The hooks are the test's own calls: stderr only. */
	if (strncmp(url, "/__test/", 8) != 0)
		json_array_append_new(d->log, e);
	else
		json_decref(e);
	if (json_array_size(d->log) > LOG_MAX)
		json_array_remove(d->log, 0);
	/* One line per request; the notes hold no secret. */
	fprintf(stderr, "intune-double: %s %s -> %d", method, path, status);
	if (o->note != NULL) {
		char *s = json_dumps(o->note, JSON_COMPACT | JSON_SORT_KEYS);

		fprintf(stderr, " %s", s != NULL ? s : "");
		free(s);
	}
	fputc('\n', stderr);
}

/* ---- faults (8.3) ---- */

/*
 * Takes the next fault of action "a". 500, 429, 503 and reset answer
 * at once (true); slow sets the delay and malformed cuts the answer
 * later (both false: the request is served).
 */
static bool
fault_take(struct dbl *d, enum act a, struct out *o)
{
	struct fault	*f;
	char		 num_s[16];

	if (a == A_OTHER || (f = &d->cfg.faults[a])->kind == F_NONE)
		return false;
	o->fault = f->kind;
	if (f->kind == F_SLOW)
		o->delay = f->seconds;
	if (f->count > 0 && --f->count == 0)
		f->kind = F_NONE;
	switch (o->fault) {
	case F_500:
		scep_reply(o, 500, "InternalServerError", "intune-double: "
		    "injected HTTP 500");
		return true;
	case F_429:
		scep_reply(o, 429, "TooManyRequests", "intune-double: "
		    "injected HTTP 429");
		snprintf(num_s, sizeof(num_s), "%d", f->seconds);
		add_hdr(o, "Retry-After", num_s);
		return true;
	case F_503:
		free(o->body);
		o->body = strdup("<html><body>Service Unavailable</body>"
		    "</html>");
		o->len = o->body != NULL ? strlen(o->body) : 0;
		o->status = 503;
		o->ctype = "text/html";
		return true;
	case F_RESET:
		return true;
	default:
		return false;
	}
}

/* ---- test hooks ---- */

static json_t *
cfg_json(const struct cfg *c)
{
	json_t	*f = json_object(), *codes = json_object();
	int	 a;

	for (a = 0; a < A_COUNT; a++) {
		if (a >= A_VALIDATE && a <= A_FAILURE)
			json_object_set_new(codes, act_names[a],
			    json_string(c->code[a]));
		if (c->faults[a].kind != F_NONE)
			json_object_set_new(f, act_names[a], json_pack(
			    "{s:s, s:i, s:i}", "kind",
			    fkind_names[c->faults[a].kind], "count",
			    c->faults[a].count, "seconds",
			    c->faults[a].seconds));
	}
	return json_pack("{s:b, s:i, s:b, s:b, s:i, s:i, s:b, s:o, s:o}",
	    "secret_expired", c->secret_expired, "token_ttl", c->token_ttl,
	    "discovery_403", c->discovery_403, "no_scep_entry",
	    c->no_scep_entry, "move_after", c->move_after, "moved_status",
	    c->moved_status, "api_version_check", c->api_version_check,
	    "codes", codes, "faults", f);
}

static int
act_find(const char *name)
{
	int	a;

	for (a = 0; a < A_COUNT; a++)
		if (strcmp(name, act_names[a]) == 0)
			return a;
	return -1;
}

static bool
int_in(json_t *v, long min, long max, int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return false;
	*out = (int)json_integer_value(v);
	return true;
}

/* {"ACTION": {"kind": K, "count": N, "seconds": S} or null, ...} */
static bool
faults_set(struct cfg *c, json_t *j)
{
	const char	*k, *kind;
	json_t		*v;
	struct fault	 f;
	int		 a, i;

	if (!json_is_object(j))
		return false;
	json_object_foreach(j, k, v) {
		if ((a = act_find(k)) < 0)
			return false;
		f.kind = F_NONE;
		f.count = 1;
		f.seconds = json_is_null(v) ? 0 : -1;
		if (!json_is_null(v)) {
			kind = jstr(v, "kind");
			for (i = 0; kind != NULL && i < F_COUNT; i++)
				if (strcmp(kind, fkind_names[i]) == 0)
					f.kind = (enum fkind)i;
			if (json_object_get(v, "count") != NULL &&
			    (!int_in(json_object_get(v, "count"), -1, 1000000,
			    &f.count) || f.count == 0))
				return false;
			if (json_object_get(v, "seconds") != NULL &&
			    !int_in(json_object_get(v, "seconds"), 0, 3600,
			    &f.seconds))
				return false;
			if (kind == NULL || (f.kind == F_NONE &&
			    strcmp(kind, "none") != 0))
				return false;
		}
		if (f.seconds < 0)	/* defaults: Retry-After 1, slow 30 */
			f.seconds = f.kind == F_SLOW ? 30 : 1;
		c->faults[a] = f;
	}
	return true;
}

static bool
codes_set(struct cfg *c, json_t *j)
{
	const char	*k;
	json_t		*v;
	int		 a;

	if (!json_is_object(j))
		return false;
	json_object_foreach(j, k, v) {
		if ((a = act_find(k)) < A_VALIDATE || a > A_FAILURE ||
		    !json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= CODE_MAX)
			return false;
		snprintf(c->code[a], CODE_MAX, "%s", json_string_value(v));
	}
	return true;
}

/* Applies one key of a config object to "c"; false if bad or unknown. */
static bool
cfg_key(struct dbl *d, struct cfg *c, const char *k, json_t *v)
{
	if (strcmp(k, "secret_expired") == 0 && json_is_boolean(v))
		c->secret_expired = json_is_true(v);
	else if (strcmp(k, "discovery_403") == 0 && json_is_boolean(v))
		c->discovery_403 = json_is_true(v);
	else if (strcmp(k, "no_scep_entry") == 0 && json_is_boolean(v))
		c->no_scep_entry = json_is_true(v);
	else if (strcmp(k, "api_version_check") == 0 && json_is_boolean(v))
		c->api_version_check = json_is_true(v);
	else if (strcmp(k, "token_ttl") == 0)
		return int_in(v, 1, 86400, &c->token_ttl);
	else if (strcmp(k, "move_after") == 0)
		return int_in(v, 0, 1000000, &c->move_after);
	else if (strcmp(k, "moved_status") == 0)
		return int_in(v, 400, 599, &c->moved_status);
	else if (strcmp(k, "codes") == 0)
		return codes_set(c, v);
	else if (strcmp(k, "faults") == 0)
		return faults_set(c, v);
	else if (strcmp(k, "good_challenge") == 0 && json_is_string(v) &&
	    json_string_length(v) > 0 && json_string_length(v) <
	    sizeof(d->good_challenge))
		return true;	/* taken by cfg_apply once all is valid */
	else if (strcmp(k, "move_now") == 0 && json_is_true(v))
		return true;
	else
		return false;
	return true;
}

/* Applies a config object: all of it, or nothing (false, "why"). */
static bool
cfg_apply(struct dbl *d, json_t *j, char *why, size_t whysz)
{
	struct cfg	 c = d->cfg;
	const char	*k;
	json_t		*v;

	if (!json_is_object(j)) {
		snprintf(why, whysz, "config: not a JSON object");
		return false;
	}
	json_object_foreach(j, k, v) {
		if (!cfg_key(d, &c, k, v)) {
			snprintf(why, whysz, "config: bad value or unknown "
			    "key \"%s\" (README.md lists them)", k);
			return false;
		}
	}
	d->cfg = c;
	if ((v = json_object_get(j, "good_challenge")) != NULL) {
		OPENSSL_cleanse(d->good_challenge, sizeof(d->good_challenge));
		snprintf(d->good_challenge, sizeof(d->good_challenge), "%s",
		    json_string_value(v));
		wipe_json_string(v);
	}
	if (json_is_true(json_object_get(j, "move_now")))
		d->su++;
	return true;
}

static json_t *
state_json(struct dbl *d)
{
	json_t	*toks = json_array();
	time_t	 now = time(NULL);
	char	 uri[2][300];
	size_t	 i;

	for (i = 0; i < d->ntokens; i++)
		json_array_append_new(toks, json_pack("{s:s, s:I}", "scope",
		    scope_names[d->tokens[i].scope], "expires_in",
		    (json_int_t)(d->tokens[i].expires - now)));
	snprintf(uri[0], sizeof(uri[0]), "%s/su%d/" SCEP_SVC, d->base[0],
	    d->su);
	snprintf(uri[1], sizeof(uri[1]), "%s/su%d/" PKI_SVC, d->base[0],
	    d->su);
	return json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:{s:I, s:I}, "
	    "s:{s:I, s:I}, s:o, s:O, s:O, s:o}", "tenant", d->tenant,
	    "client_id", d->client_id, "scale_unit", d->su, "discovery_calls",
	    (json_int_t)d->discoveries, "scep_uri", uri[0], "pki_uri", uri[1],
	    "tokens_issued", "graph",
	    (json_int_t)d->issued[SC_GRAPH], "intune",
	    (json_int_t)d->issued[SC_INTUNE], "intune_scope_forms",
	    "single_slash", (json_int_t)d->forms[0], "double_slash",
	    (json_int_t)d->forms[1], "tokens", toks, "transactions", d->txns,
	    "revocations", d->revs, "config", cfg_json(&d->cfg));
}

/* POST /__test/revocations {"requests": [{serialNumber, ...}]} */
static bool
rev_fill(struct dbl *d, json_t *j)
{
	json_t		*r = json_object_get(j, "requests"), *e;
	char		 ctx[40];
	const char	*s;
	size_t		 i;

	if (!json_is_array(r))
		return false;
	json_array_foreach(r, i, e)
		if (jstr(e, "serialNumber") == NULL)
			return false;
	json_array_foreach(r, i, e) {
		if ((s = jstr(e, "requestContext")) == NULL) {
			snprintf(ctx, sizeof(ctx), "ctx-%ld", ++d->next_ctx);
			s = ctx;
		}
		json_array_append_new(d->revs, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:i}", "requestContext", s, "serialNumber",
		    jstr(e, "serialNumber"), "issuerName",
		    jstr(e, "issuerName") != NULL ? jstr(e, "issuerName") : "",
		    "caConfiguration", jstr(e, "caConfiguration") != NULL ?
		    jstr(e, "caConfiguration") : "", "downloads", 0));
	}
	return true;
}

static void
test_hook(struct dbl *d, const char *method, const char *path,
    json_t *body, struct out *o)
{
	char	 why[256];
	size_t	 i;
	bool	 get = strcmp(method, "GET") == 0;
	bool	 post = strcmp(method, "POST") == 0;
	bool	 del = strcmp(method, "DELETE") == 0;

	if (strcmp(path, "/__test/config") == 0 && (get || post)) {
		if (post && !cfg_apply(d, body, why, sizeof(why)))
			scep_reply(o, 400, "BadRequest", "%s", why);
		else
			reply(o, 200, cfg_json(&d->cfg));
	} else if (strcmp(path, "/__test/requests") == 0 && (get || del)) {
		if (del)
			json_array_clear(d->log);
		reply(o, 200, json_incref(d->log));
	} else if (strcmp(path, "/__test/state") == 0 && get) {
		reply(o, 200, state_json(d));
	} else if (strcmp(path, "/__test/expire_tokens") == 0 && post) {
		for (i = 0; i < d->ntokens; i++)
			d->tokens[i].expires = 0;
		reply(o, 200, json_pack("{s:I}", "expired",
		    (json_int_t)d->ntokens));
	} else if (strcmp(path, "/__test/revocations") == 0 &&
	    (get || post || del)) {
		if (del)
			json_array_clear(d->revs);
		if (post && !rev_fill(d, body))
			scep_reply(o, 400, "BadRequest", "body must be "
			    "{\"requests\": [{\"serialNumber\": ..., "
			    "\"issuerName\": ..., ...}]}");
		else
			reply(o, 200, json_incref(d->revs));
	} else
		scep_reply(o, 404, "NotFound", "no test hook %s %s", method,
		    path);
}

/* ---- routing ---- */

/* "/suN/SVC/GROUP/NAME": the scale unit and the action, else false. */
static bool
service_path(const char *url, int *su, enum act *a)
{
	static const struct {
		const char	*suffix;
		enum act	 act;
	} routes[] = {
		{ "/" SCEP_SVC "/ScepActions/validateRequest", A_VALIDATE },
		{ "/" SCEP_SVC "/ScepActions/successNotification", A_SUCCESS },
		{ "/" SCEP_SVC "/ScepActions/failureNotification", A_FAILURE },
		{ "/" PKI_SVC "/CertificateAuthorityRequests/"
		    "downloadRevocationRequests", A_DOWNLOAD },
		{ "/" PKI_SVC "/CertificateAuthorityRequests/"
		    "uploadRevocationResults", A_UPLOAD },
	};
	char	*end;
	long	 v;
	size_t	 i;

	if (strncmp(url, "/su", 3) != 0 || !isdigit((unsigned char)url[3]))
		return false;
	errno = 0;
	v = strtol(url + 3, &end, 10);
	if (errno != 0 || v < 1 || v > INT_MAX)
		return false;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(end, routes[i].suffix) == 0) {
			*su = (int)v;
			*a = routes[i].act;
			return true;
		}
	}
	return false;
}

/* "/{tenant}/oauth2/v2.0/token": the tenant into "out". */
static bool
token_path(const char *url, char *out, size_t outsz)
{
	static const char	 tail[] = "/oauth2/v2.0/token";
	const char		*slash;

	if (url[0] != '/' || (slash = strchr(url + 1, '/')) == NULL ||
	    slash == url + 1 || strcmp(slash, tail) != 0 ||
	    (size_t)(slash - url) > outsz)
		return false;
	snprintf(out, outsz, "%.*s", (int)(slash - url - 1), url + 1);
	return true;
}

/* "/v1.0/servicePrincipals/{app}/endpoints": "{app}" into "out". */
static bool
sp_path(const char *url, char *out, size_t outsz)
{
	const char	*app = url + strlen(SP_PREFIX), *slash;

	if (strncmp(url, SP_PREFIX, strlen(SP_PREFIX)) != 0 ||
	    (slash = strchr(app, '/')) == NULL ||
	    strcmp(slash, "/endpoints") != 0 || (size_t)(slash - app) >= outsz)
		return false;
	snprintf(out, outsz, "%.*s", (int)(slash - app), app);
	return true;
}

/* The request's body as JSON for the log (redacted), and as parsed. */
static json_t *
body_parse(const struct dbl_rq *r, bool form, struct out *o)
{
	json_t	*j;

	if (r->len == 0)
		return NULL;
	if (form) {
		j = form_parse(r->body, r->len);
		o->logbody = json_deep_copy(j);
	} else if ((j = json_loadb(r->body, r->len, 0, NULL)) != NULL)
		o->logbody = json_deep_copy(j);
	if (o->logbody != NULL)
		redact_json(o->logbody);
	return j;
}

static void
route(struct listener *l, struct MHD_Connection *con, const char *method,
    const char *url, const struct dbl_rq *r, struct out *o)
{
	struct dbl	*d = l->d;
	char		 tenant[128];
	json_t		*parsed;
	char		 app[128];
	int		 su = 0;
	bool		 post = strcmp(method, "POST") == 0;

	o->act = A_OTHER;
	parsed = body_parse(r, token_path(url, tenant, sizeof(tenant)), o);
	if (r->too_big) {
		scep_reply(o, 413, "BadRequest", "request body too large");
	} else if (strncmp(url, "/__test/", 8) == 0) {
		test_hook(d, method, url, parsed, o);
	} else if (post && token_path(url, tenant, sizeof(tenant))) {
		o->act = A_TOKEN;
		if (!fault_take(d, o->act, o))
			token(d, tenant, parsed, o);
	} else if (strcmp(method, "GET") == 0 && sp_path(url, app,
	    sizeof(app))) {
		o->act = A_DISCOVERY;
		if (!fault_take(d, o->act, o))
			discovery(d, con, app, l->tls, o);
	} else if (post && service_path(url, &su, &o->act)) {
		if (su != d->su) {
			/* 8.2: the old scale unit has lost the tenant. */
			scep_reply(o, (unsigned int)d->cfg.moved_status,
			    "TenantNotFound", "this scale unit (su%d) does "
			    "not serve the tenant any more; rediscover", su);
			note(o, "moved", json_true());
		} else if (fault_take(d, o->act, o)) {
			/* answered */
		} else if (!service_ok(d, con, o->act, parsed, o)) {
			/* answered */
		} else if (o->act == A_DOWNLOAD) {
			rev_download(d, parsed, o);
		} else if (o->act == A_UPLOAD) {
			rev_upload(d, parsed, o);
		} else {
			scep_action(d, o->act, parsed, o);
		}
	} else {
		scep_reply(o, 404, "NotFound", "no such path: %s %s", method,
		    url);
	}
	if (o->fault == F_MALFORMED && o->len > 1)
		o->len /= 2;	/* a truncated, unparsable answer */
	if (o->act == A_TOKEN && parsed != NULL)
		wipe_json_string(json_object_get(parsed, "client_secret"));
	json_decref(parsed);
}

/* ---- libmicrohttpd ---- */

/* 8.3 "connection reset": RST instead of an answer. */
static enum MHD_Result
reset(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo	*ci;
	struct linger			 lg = { 1, 0 };

	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL)
		(void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	return MHD_NO;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct listener		*l = cls;
	struct dbl		*d = l->d;
	struct dbl_rq		*r = NULL;
	struct MHD_Response	*resp;
	struct out		 o = { .status = 200 };
	enum MHD_Result		 ret;
	char			 rid[37];
	const char		*crid;

	(void)version;
	if (dbl_collect(con_cls, upload, upload_size, &r, &ret))
		return ret;

	pthread_mutex_lock(&d->lock);
	route(l, con, method, url, r, &o);
	log_request(d, con, method, url, r, &o);
	pthread_mutex_unlock(&d->lock);
	json_decref(o.note);
	json_decref(o.logbody);

	if (o.delay > 0)
		sleep((unsigned int)o.delay);	/* 8.3 "slow reply" */
	if (o.fault == F_RESET) {
		free(o.body);
		return reset(con);
	}
	if ((resp = dbl_response(o.body, o.len, o.ctype,
	    (const char (*)[2][160])o.hdr, o.nhdr)) == NULL)
		return MHD_NO;
	/* Microsoft's services echo the caller's id and add their own. */
	if ((crid = header(con, "client-request-id")) != NULL)
		MHD_add_response_header(resp, "client-request-id", crid);
	guid(rid);
	MHD_add_response_header(resp, "request-id", rid);
	return dbl_queue(con, o.status, resp);
}

/* ---- TLS (optional) ---- */

/* A self-signed localhost certificate; PEM of it and of its key. */
static void
make_tls(char **cert, char **key)
{
	EVP_PKEY	*pk;
	X509		*x;
	X509_NAME	*n;
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	BIO		*b;
	char		*p;
	long		 k;
	int		 i;

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"intune-double", -1, -1, 0) ||
	    !X509_set_issuer_name(x, n) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, NULL) == NULL ||
	    !X509_set_pubkey(x, pk))
		die("TLS certificate");
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1")) == NULL || !X509_add_ext(x, e, -1))
		die("subjectAltName");
	X509_EXTENSION_free(e);
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		die("sign");
	for (i = 0; i < 2; i++) {
		if ((b = BIO_new(BIO_s_mem())) == NULL || (i == 0 ?
		    PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, pk,
		    NULL, NULL, 0, NULL, NULL)) != 1)
			die("PEM");
		k = BIO_get_mem_data(b, &p);
		if ((*(i == 0 ? cert : key) = strndup(p, (size_t)k)) == NULL)
			die("malloc");
		OPENSSL_cleanse(p, (size_t)k);
		BIO_free(b);
	}
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* ---- main ---- */

static void
write_file(const char *dir, const char *name, int mode, const char *s)
{
	char	path[1024];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		die("%s: %s", dir, strerror(errno));
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, s, strlen(s)) != (ssize_t)strlen(s) || close(fd) == -1)
		die("%s: %s", path, strerror(errno));
}

static void
read_line(const char *path, char *out, size_t outsz)
{
	FILE	*fp;

	if ((fp = fopen(path, "r")) == NULL || fgets(out, (int)outsz, fp) ==
	    NULL)
		die("%s: cannot read", path);
	fclose(fp);
	out[strcspn(out, "\r\n")] = '\0';
	if (*out == '\0')
		die("%s: empty", path);
}

/* A listener of "l", or exit. */
static struct MHD_Daemon *
start(struct listener *l, const char *addr, long port, const char *cert,
    const char *key)
{
	struct MHD_Daemon	*mhd;
	char			 why[160];

	if ((mhd = dbl_start(handler, l, addr, (int)port, cert, key, NULL, why,
	    sizeof(why))) == NULL)
		die("%s", why);
	return mhd;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: intune-double --port N [--address A] [--tls-port N]"
	    " [--dir DIR]\n"
	    "         [--tenant T] [--client-id I] [--client-secret-file F]\n"
	    "         [--good-challenge C] [--token-ttl S]"
	    " [--graph-resource URL]\n"
	    "         [--intune-resource URL] [--secret-expired]"
	    " [--discovery-403]\n"
	    "         [--no-scep-entry] [--move-after N]"
	    " [--moved-status N]\n"
	    "         [--no-api-version-check] [--code ACTION=CODE]\n"
	    "         [--fault ACTION=KIND[:COUNT[:SECONDS]]]\n");
	exit(2);
}

/* --fault ACTION=KIND[:COUNT[:SECONDS]] into the config object "j". */
static void
fault_flag(json_t *j, const char *spec)
{
	char	 buf[128], *p = buf, *name, *kind, *cnt, *sec;
	json_t	*f, *all = json_object_get(j, "faults");
	long	 v;

	snprintf(buf, sizeof(buf), "%s", spec);
	name = strsep(&p, "=");
	if ((kind = strsep(&p, ":")) == NULL)
		usage();
	cnt = strsep(&p, ":");
	sec = strsep(&p, ":");
	f = json_pack("{s:s}", "kind", kind);
	if (cnt != NULL && num(cnt, -1, 1000000, &v))
		json_object_set_new(f, "count", json_integer(v));
	else if (cnt != NULL)
		usage();
	if (sec != NULL && num(sec, 0, 3600, &v))
		json_object_set_new(f, "seconds", json_integer(v));
	else if (sec != NULL)
		usage();
	if (all == NULL)
		json_object_set_new(j, "faults", all = json_object());
	json_object_set_new(all, name, f);
}

/* --code ACTION=CODE into the config object "j". */
static void
code_flag(json_t *j, const char *spec)
{
	const char	*eq = strchr(spec, '=');
	json_t		*all = json_object_get(j, "codes");
	char		 name[64];

	if (eq == NULL || (size_t)(eq - spec) >= sizeof(name))
		usage();
	snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
	if (all == NULL)
		json_object_set_new(j, "codes", all = json_object());
	json_object_set_new(all, name, json_string(eq + 1));
}

/* The switch flags go through the same checks as POST /__test/config. */
static void
flag(json_t *j, int c, const char *arg)
{
	static const struct {
		int		 c;
		const char	*key;
		bool		 v;
	} bools[] = {
		{ 'E', "secret_expired", true },
		{ '3', "discovery_403", true },
		{ 'N', "no_scep_entry", true },
		{ 'V', "api_version_check", false },
	};
	size_t	i;
	long	v;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (bools[i].c == c) {
			json_object_set_new(j, bools[i].key,
			    json_boolean(bools[i].v));
			return;
		}
	}
	switch (c) {
	case 't':
	case 'm':
	case 'M':
		if (!num(arg, 0, 1000000, &v))
			usage();
		json_object_set_new(j, c == 't' ? "token_ttl" : c == 'm' ?
		    "move_after" : "moved_status", json_integer(v));
		break;
	case 'f':
		fault_flag(j, arg);
		break;
	case 'k':
		code_flag(j, arg);
		break;
	default:
		usage();
	}
}

static void
dbl_init(struct dbl *d)
{
	int	a;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->cfg.token_ttl = 3599;
	d->cfg.moved_status = 404;
	d->cfg.api_version_check = true;
	for (a = 0; a < A_COUNT; a++)
		snprintf(d->cfg.code[a], CODE_MAX, "Success");
	snprintf(d->tenant, sizeof(d->tenant), "contoso.onmicrosoft.com");
	snprintf(d->client_id, sizeof(d->client_id),
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	snprintf(d->client_secret, sizeof(d->client_secret),
	    "intune-double-client-secret");
	snprintf(d->good_challenge, sizeof(d->good_challenge),
	    "intune-good-challenge");
	snprintf(d->graph_res, sizeof(d->graph_res),
	    "https://graph.microsoft.com/");
	snprintf(d->intune_res, sizeof(d->intune_res),
	    "https://api.manage.microsoft.com/");
	d->su = 1;
	if ((d->log = json_array()) == NULL || (d->txns = json_object()) ==
	    NULL || (d->revs = json_array()) == NULL)
		die("json");
}

/* Everything, so that a sanitizer build of the tests sees no leak. */
static void
dbl_free(struct dbl *d)
{
	json_decref(d->log);
	json_decref(d->txns);
	json_decref(d->revs);
	pthread_mutex_destroy(&d->lock);
	OPENSSL_cleanse(d->client_secret, sizeof(d->client_secret));
	OPENSSL_cleanse(d->good_challenge, sizeof(d->good_challenge));
	OPENSSL_cleanse(d->tokens, sizeof(d->tokens));
}

static void
copy_arg(char *out, size_t outsz, const char *arg)
{
	if ((size_t)snprintf(out, outsz, "%s", arg) >= outsz)
		usage();
}

static void
announce(struct dbl *d, const char *dir, struct MHD_Daemon *tls)
{
	printf("intune-double: authority (token) URL %s/ -> POST %s/%s/"
	    "oauth2/v2.0/token\n", d->base[0], d->base[0], d->tenant);
	printf("intune-double: graph URL %s/ -> GET %s" SP_PREFIX "appId="
	    INTUNE_APP "/endpoints\n", d->base[0], d->base[0]);
	printf("intune-double: intune URL %s/ (scopes: %s.default, %s"
	    "/.default)\n", d->base[0], d->graph_res, d->intune_res);
	printf("intune-double: SCEP service %s/su%d/" SCEP_SVC ", revocation "
	    "service %s/su%d/" PKI_SVC "\n", d->base[0], d->su, d->base[0],
	    d->su);
	if (tls != NULL)
		printf("intune-double: HTTPS at %s/ (certificate %s/tls.pem)\n",
		    d->base[1], dir);
	printf("intune-double: tenant %s, client id %s%s%s; test hooks "
	    "%s/__test/\n", d->tenant, d->client_id, dir != NULL ?
	    ", secret in " : "", dir != NULL ? dir : "", d->base[0]);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "address", required_argument, NULL, 'a' },
		{ "tls-port", required_argument, NULL, 'P' },
		{ "dir", required_argument, NULL, 'D' },
		{ "tenant", required_argument, NULL, 'T' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "client-secret-file", required_argument, NULL, 'S' },
		{ "good-challenge", required_argument, NULL, 'g' },
		{ "graph-resource", required_argument, NULL, 'G' },
		{ "intune-resource", required_argument, NULL, 'I' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "secret-expired", no_argument, NULL, 'E' },
		{ "discovery-403", no_argument, NULL, '3' },
		{ "no-scep-entry", no_argument, NULL, 'N' },
		{ "move-after", required_argument, NULL, 'm' },
		{ "moved-status", required_argument, NULL, 'M' },
		{ "no-api-version-check", no_argument, NULL, 'V' },
		{ "code", required_argument, NULL, 'k' },
		{ "fault", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbl		 d;
	struct listener		 plain = { &d, false }, tls = { &d, true };
	struct MHD_Daemon	*mhd, *mhd_tls = NULL;
	const char		*addr = "127.0.0.1", *dir = NULL;
	char			*cert = NULL, *key = NULL, why[256];
	json_t			*flags = json_object();
	long			 port = -1, tls_port = -1;
	int			 c, sig;
	sigset_t		 set;

	dbl_init(&d);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'P':
			if (!num(optarg, 0, 65535, c == 'p' ? &port :
			    &tls_port))
				usage();
			break;
		case 'a':
			addr = optarg;
			break;
		case 'D':
			dir = optarg;
			break;
		case 'T':
			copy_arg(d.tenant, sizeof(d.tenant), optarg);
			break;
		case 'i':
			copy_arg(d.client_id, sizeof(d.client_id), optarg);
			break;
		case 'S':
			read_line(optarg, d.client_secret,
			    sizeof(d.client_secret));
			break;
		case 'g':
			copy_arg(d.good_challenge, sizeof(d.good_challenge),
			    optarg);
			break;
		case 'G':
			copy_arg(d.graph_res, sizeof(d.graph_res), optarg);
			break;
		case 'I':
			copy_arg(d.intune_res, sizeof(d.intune_res), optarg);
			break;
		default:
			flag(flags, c, optarg);
		}
	}
	if (optind != argc || port < 0 || (tls_port >= 0 && dir == NULL))
		usage();
	if (!cfg_apply(&d, flags, why, sizeof(why)))
		die("%s", why);
	json_decref(flags);

	/* Signals go to sigwait below, not to the MHD threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (dir != NULL)
		write_file(dir, "client_secret.txt", 0600, d.client_secret);
	mhd = start(&plain, addr, port, NULL, NULL);
	snprintf(d.base[0], sizeof(d.base[0]), "http://%s:%d", addr,
	    dbl_bound_port(mhd));
	if (tls_port >= 0) {
		make_tls(&cert, &key);
		write_file(dir, "tls.pem", 0644, cert);
		mhd_tls = start(&tls, addr, tls_port, cert, key);
		snprintf(d.base[1], sizeof(d.base[1]), "https://%s:%d", addr,
		    dbl_bound_port(mhd_tls));
	}
	announce(&d, dir, mhd_tls);

	sigwait(&set, &sig);
	MHD_stop_daemon(mhd);
	if (mhd_tls != NULL)
		MHD_stop_daemon(mhd_tls);
	if (key != NULL)
		OPENSSL_cleanse(key, strlen(key));
	free(cert);
	free(key);
	dbl_free(&d);
	return 0;
}
