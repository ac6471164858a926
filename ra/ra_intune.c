/*
 * The Intune SCEP validation client (ra_intune.h; facts and their
 * sources in reference/intune-scep.md, whose section 10 corrects the
 * rest). Transport, retries and the token cache are ra/http/'s; this
 * file knows Microsoft's URLs, headers and JSON.
 *
 * Retries. ra/http/ resends what surely never left; an answer lost on
 * the way is resent only for requests marked "replay":
 *  - discovery (a GET), validateRequest and both revocation calls are
 *    marked. validateRequest has no side effect a CA depends on, and a
 *    resend is the very request a device's own SCEP resend (same
 *    transactionID, same CSR) makes Intune see anyway;
 *  - the two notifications are not: a lost answer fails the call and
 *    the caller decides (a duplicate report is worse than none).
 * Busy is 429, 502, 503 and 504; a 500 is Intune's verdict on the
 * request (the reference's test matrix: no certificate) and fails at
 * once.
 *
 * Discovery (section 4): the two service URIs are cached per account
 * (one tenant each) and dropped on any failed call, any status but 2xx
 * included (correction 5). A call that failed on a cached URI is sent
 * once more if discovering again yields another URI: the tenant moved
 * scale units, and the old unit's refusal was no verdict.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ra_http.h"
#include "ra_int.h"	/* ra_json_wipe_install() */
#include "ra_intune.h"

/* The first-party Intune application whose endpoints Graph lists. */
#define INTUNE_APP	"0000000a-0000-0000-c000-000000000000"
#define SCEP_SERVICE	"ScepRequestValidationFEService"
#define PKI_SERVICE	"PkiConnectorFEService"
/* What the reference library sends to the revocation service (7). */
#define PKI_API_VERSION	"5019-05-05"
#define SECRET_MAX	4096
#define URL_MAX		1024

/* One client secret and the token source made with it. */
struct cred {
	struct ra_http_oauth	*oauth;
	struct ra_secret	 secret;
	int			 refs;	/* in->lock; the client holds one */
};

struct ra_intune {
	struct conf_azure	 az;
	struct ra_http		*http;
	char			 token_url[URL_MAX];
	pthread_mutex_t		 lock;	/* everything below */
	struct cred		*cred;
	bool			 have;	/* scep, pki hold a discovery */
	char			 scep[RA_INTUNE_URI_MAX];
	char			 pki[RA_INTUNE_URI_MAX];
};

/* The codes of IntuneScepServiceException.ErrorCode (section 5.4). */
static const char *const codes[] = {
	"Unknown", "Success", "CertificateRequestDecodingFailed",
	"ChallengePasswordMissing", "ChallengeDeserializationError",
	"ChallengeDecryptionError", "ChallengeDecodingError",
	"ChallengeInvalidTimestamp", "ChallengeExpired",
	"SubjectNameMissing", "SubjectNameMismatch",
	"SubjectAltNameMissing", "SubjectAltNameMismatch",
	"KeyUsageMismatch", "KeyLengthMismatch", "EnhancedKeyUsageMissing",
	"EnhancedKeyUsageMismatch", "AadKeyIdentifierListMissing",
	"RegisteredKeyMismatch", "SigningCertThumbprintMismatch",
	"ScepProfileNoLongerTargetedToTheClient",
	"SignatureValidationFailed", "BadCertificateRequestIdInChallenge",
	"BadDeviceIdInChallenge", "BadUserIdInChallenge",
};

/* ---- token sources ---- */

static void
cred_free(struct cred *c)
{
	if (c == NULL)
		return;
	ra_http_oauth_free(c->oauth);
	ra_secret_free(&c->secret);
	free(c);
}

static enum sg_rc
cred_new(struct ra_intune *in, struct cred **out, struct sg_err *err)
{
	struct cred	*c;
	enum sg_rc	 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "azure %s: out of memory",
		    in->az.name);
	c->refs = 1;
	rc = ra_secret_read(in->az.client_secret_file,
	    "azure.client_secret_file", SECRET_MAX, RA_SECRET_LINE,
	    &c->secret, err);
	if (rc == SG_OK)
		rc = ra_http_oauth_new(in->http, in->token_url,
		    in->az.client_id, c->secret.data, &c->oauth, err);
	if (rc != SG_OK) {
		cred_free(c);
		return rc;
	}
	*out = c;
	return SG_OK;
}

static struct cred *
cred_get(struct ra_intune *in)
{
	struct cred	*c;

	pthread_mutex_lock(&in->lock);
	c = in->cred;
	c->refs++;
	pthread_mutex_unlock(&in->lock);
	return c;
}

static void
cred_put(struct ra_intune *in, struct cred *c)
{
	bool	last;

	pthread_mutex_lock(&in->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&in->lock);
	if (last)
		cred_free(c);
}

/* ---- small pieces ---- */

static int64_t
deadline(const struct ra_intune *in)
{
	return ra_http_now_ms() + (int64_t)in->az.timeout * 1000;
}

/* A random (version 4) GUID: the client-request-id of one call. */
static void
guid(char out[37])
{
	uint8_t	b[16];
	char	h[33];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));	/* only a correlation id */
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	sg_hex(b, sizeof(b), h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
}

static bool
busy(long http, const uint8_t *body, size_t len, void *arg)
{
	(void)body;
	(void)len;
	(void)arg;
	return http == 429 || http == 502 || http == 503 || http == 504;
}

static json_t *
json_obj(const struct ra_http_resp *r)
{
	json_t	*j;

	if (r->body.data == NULL || r->body.len == 0)
		return NULL;
	j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * What a refusal says, for messages: Graph's {"error":{"code",
 * "message"}}, Intune's {"code","errorDescription"}; printable, short.
 */
static void
why(const struct ra_http_resp *r, char *out, size_t outsz)
{
	json_t		*j = json_obj(r), *e;
	const char	*code = NULL, *msg = NULL;
	char		 a[64], b[160];

	out[0] = '\0';
	if (j == NULL)
		return;
	e = json_object_get(j, "error");
	if (json_is_object(e)) {
		code = str(e, "code");
		msg = str(e, "message");
	} else {
		code = str(j, "code");
		msg = str(j, "errorDescription");
	}
	sg_safe_str(code != NULL ? code : "", a, sizeof(a));
	sg_safe_str(msg != NULL ? msg : "", b, sizeof(b));
	if (a[0] != '\0' || b[0] != '\0')
		snprintf(out, outsz, " (%s%s%s)", a, a[0] && b[0] ? ": " : "",
		    b);
	json_decref(j);
}

static enum sg_rc
http_fail(const struct ra_intune *in, const char *what,
    const struct ra_http_resp *r, struct sg_err *err)
{
	char	w[240];

	why(r, w, sizeof(w));
	return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
	    "Intune (%s): %s: HTTP %ld%s", in->az.name, what, r->http, w);
}

static void
drop(struct ra_intune *in)
{
	pthread_mutex_lock(&in->lock);
	in->have = false;
	pthread_mutex_unlock(&in->lock);
}

/* ---- discovery (section 4) ---- */

/* Copy a discovered URI without its final '/'; false if unusable. */
static bool
uri_copy(const char *uri, char *out)
{
	size_t	n = strlen(uri);

	if (strncmp(uri, "https://", 8) != 0 && strncmp(uri, "http://", 7))
		return false;
	while (n > 0 && uri[n - 1] == '/')
		n--;
	if (n >= RA_INTUNE_URI_MAX || strcspn(uri, " \t\r\n\"\\") < n)
		return false;
	memcpy(out, uri, n);
	out[n] = '\0';
	return true;
}

/* Pick the two services out of Graph's value[]; scep "" if absent. */
static enum sg_rc
pick(const struct ra_intune *in, const json_t *j, char *scep, char *pki,
    struct sg_err *err)
{
	const json_t	*v = json_object_get(j, "value"), *e;
	const char	*name, *uri;
	size_t		 i;

	scep[0] = pki[0] = '\0';
	if (!json_is_array(v))
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "Intune (%s): discovery: no value[] in Graph's answer",
		    in->az.name);
	json_array_foreach(v, i, e) {
		name = str(e, "providerName");
		uri = str(e, "uri");
		if (name == NULL || uri == NULL)
			continue;
		if (strcasecmp(name, SCEP_SERVICE) == 0 && scep[0] == '\0' &&
		    !uri_copy(uri, scep))
			return sg_err_fail(err, SG_EUPSTREAM,
			    SG_FAIL_BADREQUEST, "Intune (%s): discovery: "
			    "unusable " SCEP_SERVICE " URI", in->az.name);
		if (strcasecmp(name, PKI_SERVICE) == 0 && pki[0] == '\0' &&
		    !uri_copy(uri, pki))
			pki[0] = '\0';
	}
	return SG_OK;
}

/* GET the Intune principal's endpoints with the Graph token. */
static enum sg_rc
discover(struct ra_intune *in, struct cred *c, int64_t dl, char *scep,
    char *pki, struct sg_err *err)
{
	struct ra_http_req	 q = { 0 };
	struct ra_http_resp	 r = { 0 };
	struct ra_http_hdr	 h[2];
	char			 url[URL_MAX], id[37];
	json_t			*j = NULL;
	enum sg_rc		 rc;

	snprintf(url, sizeof(url), "%s/v1.0/servicePrincipals/appId="
	    INTUNE_APP "/endpoints", in->az.graph_url);
	guid(id);
	h[0] = (struct ra_http_hdr){ "client-request-id", id };
	h[1] = (struct ra_http_hdr){ "Accept", "application/json" };
	q.what = "discovery";
	q.method = "GET";
	q.url = url;
	q.hdrs = h;
	q.nhdrs = 2;
	q.auth = ra_http_oauth_auth(c->oauth);
	q.scope = in->az.graph_scope;
	q.replay = true;
	q.deadline = dl;
	q.busy = busy;
	if ((rc = ra_http_call(in->http, &q, &r, err)) != SG_OK)
		goto out;
	if (r.http != 200) {
		rc = http_fail(in, "discovery", &r, err);
		goto out;
	}
	if ((j = json_obj(&r)) == NULL) {
		rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "Intune (%s): discovery: Graph's answer is not JSON",
		    in->az.name);
		goto out;
	}
	rc = pick(in, j, scep, pki, err);
out:
	json_decref(j);
	ra_http_resp_free(&r);
	return rc;
}

/*
 * The URI of a service (pki: the revocation one), cached or discovered
 * now (*cached says which). No SCEP entry is not cached: granting the
 * permission must work without a restart.
 */
static enum sg_rc
service(struct ra_intune *in, struct cred *c, bool pki, int64_t dl,
    char *uri, bool *cached, struct sg_err *err)
{
	char		 s[RA_INTUNE_URI_MAX], p[RA_INTUNE_URI_MAX];
	enum sg_rc	 rc;

	pthread_mutex_lock(&in->lock);
	*cached = in->have;
	if (in->have)
		memcpy(uri, pki ? in->pki : in->scep, RA_INTUNE_URI_MAX);
	pthread_mutex_unlock(&in->lock);
	if (!*cached) {
		if ((rc = discover(in, c, dl, s, p, err)) != SG_OK)
			return rc;
		if (s[0] == '\0')
			return sg_err_fail(err, SG_EUPSTREAM,
			    SG_FAIL_BADREQUEST, "Intune (%s): discovery: no "
			    SCEP_SERVICE " for tenant %s: grant the app the "
			    "Intune permission scep_challenge_provider (and "
			    "check the Intune licence)", in->az.name,
			    in->az.tenant);
		pthread_mutex_lock(&in->lock);
		memcpy(in->scep, s, sizeof(s));
		memcpy(in->pki, p, sizeof(p));
		in->have = true;
		pthread_mutex_unlock(&in->lock);
		memcpy(uri, pki ? p : s, RA_INTUNE_URI_MAX);
	}
	if (uri[0] == '\0')
		return sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "Intune (%s): discovery: no " PKI_SERVICE " for tenant %s",
		    in->az.name, in->az.tenant);
	return SG_OK;
}

/* ---- the service calls ---- */

struct call {
	const char	*action;	/* "ScepActions/validateRequest" */
	const char	*body;		/* JSON */
	bool		 pki;		/* the revocation service */
	bool		 replay;
};

/* One POST to "base"; SG_OK: a 2xx answer whose JSON is in *out. */
static enum sg_rc
post(struct ra_intune *in, struct cred *c, const struct call *k,
    const char *base, int64_t dl, json_t **out, struct sg_err *err)
{
	struct ra_http_req	 q = { 0 };
	struct ra_http_resp	 r = { 0 };
	struct ra_http_hdr	 h[3];
	char			 url[URL_MAX + RA_INTUNE_URI_MAX], id[37];
	enum sg_rc		 rc;

	snprintf(url, sizeof(url), "%s/%s", base, k->action);
	guid(id);
	h[0] = (struct ra_http_hdr){ "client-request-id", id };
	h[1] = (struct ra_http_hdr){ "api-version", k->pki ?
	    PKI_API_VERSION : in->az.api_version };
	/* The Java library's header name, literally (section 5). */
	h[2] = (struct ra_http_hdr){ "UserAgent", in->az.provider };
	q.what = strchr(k->action, '/') + 1;
	q.method = "POST";
	q.url = url;
	q.body = k->body;
	q.content_type = "application/json";
	q.hdrs = h;
	q.nhdrs = 3;
	q.auth = ra_http_oauth_auth(c->oauth);
	q.scope = in->az.intune_scope;
	q.replay = k->replay;
	q.deadline = dl;
	q.busy = busy;
	if ((rc = ra_http_call(in->http, &q, &r, err)) != SG_OK)
		goto out;
	if (r.http < 200 || r.http > 299) {
		rc = http_fail(in, q.what, &r, err);
		goto out;
	}
	if ((*out = json_obj(&r)) == NULL)
		rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "Intune (%s): %s: the answer is not JSON", in->az.name,
		    q.what);
out:
	ra_http_resp_free(&r);
	return rc;
}

/* "k" to its service, rediscovered once after a failure (see top). */
static enum sg_rc
call(struct ra_intune *in, const struct call *k, json_t **out,
    struct sg_err *err)
{
	struct cred	*c = cred_get(in);
	char		 uri[RA_INTUNE_URI_MAX], again[RA_INTUNE_URI_MAX];
	int64_t		 dl = deadline(in);
	bool		 cached;
	enum sg_rc	 rc;

	rc = service(in, c, k->pki, dl, uri, &cached, err);
	if (rc == SG_OK)
		rc = post(in, c, k, uri, dl, out, err);
	if (rc == SG_OK || rc == SG_ENOMEM)
		goto out;
	drop(in);
	if (!cached || service(in, c, k->pki, dl, again, &cached, NULL) !=
	    SG_OK || strcmp(uri, again) == 0)
		goto out;
	sg_log(SG_LOG_INFO, "Intune (%s): service moved, %s sent again",
	    in->az.name, k->action);
	sg_err_clear(err);
	if ((rc = post(in, c, k, again, dl, out, err)) != SG_OK)
		drop(in);
out:
	cred_put(in, c);
	return rc;
}

/* ---- SCEP actions (section 5) ---- */

/* The answer of 5.4 into *v; only "Success" is a yes. */
static enum sg_rc
verdict(const struct ra_intune *in, const char *action, const json_t *j,
    struct ra_intune_verdict *v, struct sg_err *err)
{
	const char	*code = str(j, "code");
	const char	*text = str(j, "errorDescription");
	size_t		 i;

	sg_safe_str(code != NULL ? code : "", v->code, sizeof(v->code));
	sg_safe_str(text != NULL ? text : "", v->text, sizeof(v->text));
	v->ok = code != NULL && strcmp(code, "Success") == 0;
	if (v->ok)
		return SG_OK;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (code != NULL && strcmp(code, codes[i]) == 0)
			break;
	if (i == sizeof(codes) / sizeof(codes[0]))
		sg_log(SG_LOG_WARN, "Intune (%s): %s: unknown code \"%s\"",
		    in->az.name, action, v->code);
	if (strcmp(action, "validateRequest") == 0)
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "Intune refused the challenge: %s",
		    v->code[0] != '\0' ? v->code : "no code");
	return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
	    "Intune refused the %s: %s", action,
	    v->code[0] != '\0' ? v->code : "no code");
}

/* Send {"<wrap>": obj} to ScepActions/<action>; obj is taken. */
static enum sg_rc
scep_action(struct ra_intune *in, const char *action, const char *wrap,
    json_t *obj, bool replay, struct ra_intune_verdict *v,
    struct sg_err *err)
{
	struct call	 k = { 0 };
	char		 path[64];
	char		*body = NULL;
	json_t		*j = NULL, *ans = NULL;
	enum sg_rc	 rc;

	memset(v, 0, sizeof(*v));
	if (obj == NULL || (j = json_pack("{s:o}", wrap, obj)) == NULL ||
	    (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		/* json_pack took obj even on failure ("o"). */
		rc = sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
		    "Intune (%s): %s: cannot build the request (a field is "
		    "not UTF-8, or out of memory)", in->az.name, action);
		goto out;
	}
	snprintf(path, sizeof(path), "ScepActions/%s", action);
	k.action = path;
	k.body = body;
	k.replay = replay;
	if ((rc = call(in, &k, &ans, err)) == SG_OK)
		rc = verdict(in, action, ans, v, err);
out:
	/* The CSR holds the one-time challenge: wipe our copy. */
	if (body != NULL)
		OPENSSL_cleanse(body, strlen(body));
	free(body);
	json_decref(j);
	json_decref(ans);
	return rc;
}

/* transactionId, certificateRequest, callerInfo: in every action. */
static json_t *
common(const struct ra_intune *in, const char *transid, const uint8_t *csr,
    size_t len)
{
	json_t	*o = NULL;
	char	*b64 = NULL;

	if (transid == NULL || transid[0] == '\0' || csr == NULL || len == 0)
		return NULL;
	if (sg_b64_encode(csr, len, &b64) != SG_OK)
		return NULL;
	o = json_pack("{s:s, s:s, s:s}", "transactionId", transid,
	    "certificateRequest", b64, "callerInfo", in->az.provider);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return o;
}

enum sg_rc
ra_intune_validate(struct ra_intune *in, const char *transid,
    const uint8_t *csr, size_t len, struct ra_intune_verdict *v,
    struct sg_err *err)
{
	return scep_action(in, "validateRequest", "request",
	    common(in, transid, csr, len), true, v, err);
}

/* The certificate details of 5.2; false if OpenSSL cannot say. */
static bool
cert_fields(X509 *cert, char thumb[41], char *serial, size_t serialsz,
    char expiry[32], char *issuer, size_t issuersz)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	struct tm	 tm;
	BIGNUM		*bn = NULL;
	char		*hex = NULL;
	BIO		*b = NULL;
	int		 n;
	bool		 ok = false;

	if (X509_digest(cert, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20)
		goto out;
	for (i = 0; i < mdlen; i++)
		snprintf(thumb + 2 * i, 3, "%02X", md[i]);
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert),
	    NULL)) == NULL || (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	snprintf(serial, serialsz, "%s", hex);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		goto out;
	strftime(expiry, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(b, X509_get_issuer_name(cert), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		goto out;
	n = BIO_read(b, issuer, (int)issuersz - 1);
	issuer[n > 0 ? n : 0] = '\0';
	ok = n > 0;
out:
	BIO_free(b);
	OPENSSL_free(hex);
	BN_free(bn);
	return ok;
}

enum sg_rc
ra_intune_notify_success(struct ra_intune *in, const char *transid,
    const uint8_t *csr, size_t len, X509 *cert, struct sg_err *err)
{
	struct ra_intune_verdict v;
	char		 thumb[41], serial[128], expiry[32], issuer[512];
	json_t		*o;

	if (cert == NULL || !cert_fields(cert, thumb, serial, sizeof(serial),
	    expiry, issuer, sizeof(issuer)))
		return sg_err_set(err, SG_EINTERNAL, "Intune (%s): "
		    "successNotification: cannot read the certificate",
		    in->az.name);
	if ((o = common(in, transid, csr, len)) != NULL &&
	    json_object_update_new(o, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "certificateThumbprint", thumb, "certificateSerialNumber",
	    serial, "certificateExpirationDateUtc", expiry,
	    "issuingCertificateAuthority", issuer, "caConfiguration", "",
	    "certificateAuthority", "")) != 0) {
		json_decref(o);
		o = NULL;
	}
	return scep_action(in, "successNotification", "notification", o,
	    false, &v, err);
}

enum sg_rc
ra_intune_notify_failure(struct ra_intune *in, const char *transid,
    const uint8_t *csr, size_t len, int32_t hresult, const char *desc,
    struct sg_err *err)
{
	struct ra_intune_verdict v;
	char		 d[256];	/* 255 characters (section 5.3) */
	json_t		*o;

	sg_safe_str(desc != NULL ? desc : "", d, sizeof(d));
	if ((o = common(in, transid, csr, len)) != NULL &&
	    json_object_update_new(o, json_pack("{s:I, s:s}", "hResult",
	    (json_int_t)hresult, "errorDescription", d)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return scep_action(in, "failureNotification", "notification", o,
	    false, &v, err);
}

/* ---- scepctl azure test ---- */

static enum sg_rc
token(struct ra_intune *in, struct cred *c, const char *what,
    const char *scope, int64_t dl, struct sg_err *err)
{
	char		 tok[8192];
	struct sg_err	 e;
	enum sg_rc	 rc;

	sg_err_clear(&e);
	rc = ra_http_oauth_token(c->oauth, scope, dl, tok, sizeof(tok), &e);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (rc == SG_OK)
		return SG_OK;
	/* The hint first: the token server's text may fill the message. */
	return sg_err_fail(err, rc, SG_FAIL_BADREQUEST, "Intune (%s): %s "
	    "token: %s%s", in->az.name, what,
	    strstr(e.msg, "invalid_client") != NULL ? "client secret or "
	    "client_id refused (check client_secret_file): " : "", e.msg);
}

enum sg_rc
ra_intune_test(struct ra_intune *in, struct ra_intune_report *out,
    struct sg_err *err)
{
	struct cred	*c = cred_get(in);
	int64_t		 dl = deadline(in);
	char		 w[sizeof(err->msg)];
	enum sg_rc	 rc;

	memset(out, 0, sizeof(*out));
	drop(in);
	if ((rc = token(in, c, "Graph", in->az.graph_scope, dl, err)) !=
	    SG_OK || (rc = token(in, c, "Intune", in->az.intune_scope, dl,
	    err)) != SG_OK)
		goto out;
	rc = service(in, c, false, dl, out->scep_uri, &(bool){ false }, err);
	if (rc != SG_OK) {
		/* Say which permission a 403 is about (section 10.1). */
		if (err != NULL && strstr(err->msg, "HTTP 403") != NULL) {
			snprintf(w, sizeof(w), "%s", err->msg);
			rc = sg_err_fail(err, rc, SG_FAIL_BADREQUEST, "grant the "
			    "app Microsoft Graph's Application.Read.All "
			    "(admin consent): %s", w);
		}
		goto out;
	}
	pthread_mutex_lock(&in->lock);
	memcpy(out->pki_uri, in->pki, sizeof(out->pki_uri));
	pthread_mutex_unlock(&in->lock);
out:
	cred_put(in, c);
	return rc;
}

/* ---- revocation (section 7) ---- */

static enum sg_rc
revocation_on(const struct ra_intune *in, struct sg_err *err)
{
	if (in->az.revocation)
		return SG_OK;
	return sg_err_set(err, SG_ECONF, "Intune (%s): revocation is off "
	    "(azure.revocation)", in->az.name);
}

/* A copy of o[key] into out, exactly: false if absent or too long. */
static bool
field(const json_t *o, const char *key, bool need, char *out, size_t outsz)
{
	const char	*s = str(o, key);

	if (s == NULL) {
		out[0] = '\0';
		return !need && json_object_get(o, key) == NULL;
	}
	return (size_t)snprintf(out, outsz, "%s", s) < outsz;
}

static enum sg_rc
revreqs(const struct ra_intune *in, const json_t *j,
    struct ra_intune_revreq **out, size_t *n, struct sg_err *err)
{
	const json_t		*v = json_object_get(j, "value"), *e;
	struct ra_intune_revreq	*a = NULL, *r;
	size_t			 i;

	if (!json_is_array(v))
		return sg_err_set(err, SG_EPARSE, "Intune (%s): "
		    "downloadRevocationRequests: no value[]", in->az.name);
	if ((a = calloc(json_array_size(v) + 1, sizeof(*a))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "out of memory");
	json_array_foreach(v, i, e) {
		r = &a[i];
		if (!field(e, "requestContext", true, r->context,
		    sizeof(r->context)) || !field(e, "serialNumber", true,
		    r->serial, sizeof(r->serial)) || !field(e, "issuerName",
		    false, r->issuer, sizeof(r->issuer)) ||
		    !field(e, "caConfiguration", false, r->ca_config,
		    sizeof(r->ca_config))) {
			free(a);
			return sg_err_set(err, SG_EPARSE, "Intune (%s): "
			    "downloadRevocationRequests: value[%zu] is "
			    "malformed", in->az.name, i);
		}
	}
	*out = a;
	*n = json_array_size(v);
	return SG_OK;
}

enum sg_rc
ra_intune_revocations_download(struct ra_intune *in, size_t max,
    const char *issuer, struct ra_intune_revreq **out, size_t *n,
    struct sg_err *err)
{
	struct call	 k = { "CertificateAuthorityRequests/"
			    "downloadRevocationRequests", NULL, true, true };
	json_t		*p, *j = NULL, *ans = NULL;
	char		*body = NULL;
	enum sg_rc	 rc;

	if ((rc = revocation_on(in, err)) != SG_OK)
		return rc;
	if (max < 1 || max > 500)
		return sg_err_set(err, SG_ELIMIT, "Intune (%s): maxRequests "
		    "%zu is not 1..500", in->az.name, max);
	p = json_pack("{s:I}", "maxRequests", (json_int_t)max);
	if (p != NULL && issuer != NULL && issuer[0] != '\0' &&
	    json_object_set_new(p, "issuerName", json_string(issuer)) != 0) {
		json_decref(p);
		p = NULL;
	}
	/* "o" takes p, also when it fails. */
	if (p == NULL ||
	    (j = json_pack("{s:o}", "downloadParameters", p)) == NULL ||
	    (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		rc = sg_err_set(err, SG_EPARSE, "Intune (%s): cannot build "
		    "the request", in->az.name);
		goto out;
	}
	k.body = body;
	if ((rc = call(in, &k, &ans, err)) == SG_OK)
		rc = revreqs(in, ans, out, n, err);
out:
	json_decref(j);
	json_decref(ans);
	free(body);
	return rc;
}

static json_t *
results(const struct ra_intune_revres *res, size_t n)
{
	json_t	*a = json_array();
	char	 code[16];
	size_t	 i;

	for (i = 0; a != NULL && i < n; i++) {
		snprintf(code, sizeof(code), "%d", res[i].code);
		if (res[i].context == NULL || json_array_append_new(a,
		    json_pack("{s:s, s:b, s:s, s:s}", "requestContext",
		    res[i].context, "succeeded", res[i].succeeded, "errorCode",
		    code, "errorMessage", res[i].message != NULL ?
		    res[i].message : "")) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

enum sg_rc
ra_intune_revocations_upload(struct ra_intune *in,
    const struct ra_intune_revres *res, size_t n, struct sg_err *err)
{
	struct call	 k = { "CertificateAuthorityRequests/"
			    "uploadRevocationResults", NULL, true, true };
	json_t		*j = NULL, *ans = NULL;
	char		*body = NULL;
	enum sg_rc	 rc;

	if ((rc = revocation_on(in, err)) != SG_OK)
		return rc;
	if (n < 1 || n > 500)
		return sg_err_set(err, SG_ELIMIT, "Intune (%s): %zu results "
		    "is not 1..500", in->az.name, n);
	if ((j = json_pack("{s:o}", "results", results(res, n))) == NULL ||
	    (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		rc = sg_err_set(err, SG_EPARSE, "Intune (%s): cannot build "
		    "the results", in->az.name);
		goto out;
	}
	k.body = body;
	if ((rc = call(in, &k, &ans, err)) == SG_OK &&
	    !json_is_true(json_object_get(ans, "value")))
		rc = sg_err_set(err, SG_EUPSTREAM, "Intune (%s): "
		    "uploadRevocationResults: not accepted", in->az.name);
out:
	json_decref(j);
	json_decref(ans);
	free(body);
	return rc;
}

/* ---- life ---- */

void
ra_json_wipe_then(void *p, void (*release)(void *))
{
	if (p != NULL)
		OPENSSL_cleanse(p, malloc_usable_size(p));
	release(p);
}

static void
json_free_wiped(void *p)
{
	ra_json_wipe_then(p, free);
}

static void
json_hooks(void)
{
	json_set_alloc_funcs(malloc, json_free_wiped);
}

void
ra_json_wipe_install(void)
{
	static pthread_once_t	once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, json_hooks);
}

enum sg_rc
ra_intune_open(const struct conf_azure *az, struct ra_intune **out,
    struct sg_err *err)
{
	struct ra_http_tls	 tls = { 0 };
	struct ra_intune	*in;
	char			 name[96];
	enum sg_rc		 rc;

	ra_json_wipe_install();
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "out of memory");
	in->az = *az;
	pthread_mutex_init(&in->lock, NULL);
	snprintf(in->token_url, sizeof(in->token_url),
	    "%s/%s/oauth2/v2.0/token", az->authority_url, az->tenant);
	snprintf(name, sizeof(name), "Intune (%s)", az->name);
	tls.ca_file = az->tls_ca_file;
	if ((rc = ra_http_new(name, &tls, &in->http, err)) == SG_OK)
		rc = cred_new(in, &in->cred, err);
	if (rc != SG_OK) {
		ra_intune_free(in);
		return rc;
	}
	*out = in;
	return SG_OK;
}

void
ra_intune_free(struct ra_intune *in)
{
	if (in == NULL)
		return;
	/* Free the token source before the client it borrows. */
	cred_free(in->cred);
	ra_http_free(in->http);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

const char *
ra_intune_name(const struct ra_intune *in)
{
	return in->az.name;
}

enum sg_rc
ra_intune_reload(struct ra_intune *in, struct sg_err *err)
{
	struct cred	*c = NULL, *old = NULL;
	enum sg_rc	 rc;

	if ((rc = cred_new(in, &c, err)) != SG_OK)
		return rc;
	pthread_mutex_lock(&in->lock);
	if (c->secret.len != in->cred->secret.len ||
	    CRYPTO_memcmp(c->secret.data, in->cred->secret.data,
	    c->secret.len) != 0) {
		old = in->cred;
		in->cred = c;
		c = NULL;
	}
	pthread_mutex_unlock(&in->lock);
	if (old != NULL) {
		sg_log(SG_LOG_INFO, "Intune (%s): new client secret in use",
		    in->az.name);
		cred_put(in, old);
	}
	cred_free(c);	/* the same secret: keep the cached tokens */
	return SG_OK;
}
