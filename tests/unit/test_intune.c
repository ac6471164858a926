/*
 * ra/ra_intune.c against the Intune test double (tests/doubles/intune,
 * binary intune-double), started here on a free port: tokens once per
 * scope and reused, discovery cached and repeated after a scale-unit
 * move, validateRequest with Success, rejected codes and HTTP 500, the
 * fields of both notifications, "scepctl azure test"'s diagnoses, a
 * rotated secret, the revocation calls, and no secret in the double's
 * request log or stderr.
 *
 * The double is $SG_INTUNE_DOUBLE, else ../doubles/intune/intune-double
 * beside this binary; without it the tests fail (never skip).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ra_http.h"
#include "ra_int.h"		/* ra_json_wipe_*() */
#include "ra_intune.h"

#define CHALLENGE	"unit-good-challenge-7d1f"
#define SECRET		"unit-client-secret-3b9e5a0c"
#define WRONG		"unit-wrong-secret-0000"

struct fx {
	char		 dir[64];
	char		 secret[128];	/* DIR/secret */
	char		 log[128];	/* DIR/double.log: its stderr */
	char		 base[128];	/* http://127.0.0.1:PORT */
	pid_t		 pid;
	struct ra_http	*http;		/* for the double's hooks */
	struct conf_azure az;
	struct ra_intune *in;
	EVP_PKEY	*key;
	uint8_t		*csr, *bad_csr;	/* good and wrong challenge */
	size_t		 csr_len, bad_len;
	X509		*cert;
	int		 seq;
};

static char	double_path[1024];

/* ---- fixtures ---- */

static void
write_secret(const char *path, const char *s)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "%s\n", s);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

/* A P-256 PKCS#10 with challengePassword "ch", DER. */
static void
make_csr(EVP_PKEY *key, const char *ch, uint8_t **out, size_t *len)
{
	X509_REQ	*req = X509_REQ_new();
	X509_NAME	*n = X509_NAME_new();
	unsigned char	*p = NULL;
	int		 l;

	assert_non_null(req);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"intune-device", -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(req, n));
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_add1_attr_by_NID(req,
	    NID_pkcs9_challengePassword, MBSTRING_ASC,
	    (const unsigned char *)ch, -1));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_true((l = i2d_X509_REQ(req, &p)) > 0);
	*out = p;
	*len = (size_t)l;
	X509_NAME_free(n);
	X509_REQ_free(req);
}

/* Serial 0x0123ABCD, issuer "CN=Test CA,O=Example", 2030-01-02. */
static X509 *
make_cert(EVP_PKEY *key)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();

	assert_non_null(x);
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x0123ABCD));
	assert_true(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Example", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Test CA", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, n));
	assert_true(X509_set_subject_name(x, n));
	assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x),
	    "20250101000000Z"));
	assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x),
	    "20300102030405Z"));
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* Start the double; its first stdout line names the base URL. */
static void
start_double(struct fx *f)
{
	char	 line[512], *p, *e;
	int	 fds[2], lfd;
	FILE	*fp;

	assert_int_equal(pipe(fds), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		lfd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fds[1], 1);
		dup2(lfd, 2);
		close(fds[0]);
		execl(double_path, "intune-double", "--port", "0",
		    "--client-secret-file", f->secret, "--good-challenge",
		    CHALLENGE, "--token-ttl", "3600", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	assert_non_null(fp = fdopen(fds[0], "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_non_null(p = strstr(line, "http://"));
	assert_non_null(e = strchr(p, ' '));
	*e = '\0';
	/* "http://127.0.0.1:PORT/": drop the final '/'. */
	if (e[-1] == '/')
		e[-1] = '\0';
	snprintf(f->base, sizeof(f->base), "%s", p);
	fclose(fp);
}

static int
setup(void **state)
{
	struct fx	*f;
	struct sg_err	 err;
	EVP_PKEY_CTX	*kc;

	assert_non_null(f = calloc(1, sizeof(*f)));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_intune.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->secret, sizeof(f->secret), "%s/secret", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/double.log", f->dir);
	write_secret(f->secret, SECRET);
	start_double(f);
	assert_int_equal(ra_http_new("test", NULL, &f->http, &err), SG_OK);

	snprintf(f->az.name, sizeof(f->az.name), "contoso");
	snprintf(f->az.tenant, sizeof(f->az.tenant),
	    "contoso.onmicrosoft.com");
	snprintf(f->az.client_id, sizeof(f->az.client_id),
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	snprintf(f->az.client_secret_file, sizeof(f->az.client_secret_file),
	    "%s", f->secret);
	snprintf(f->az.authority_url, sizeof(f->az.authority_url), "%s",
	    f->base);
	snprintf(f->az.graph_url, sizeof(f->az.graph_url), "%s", f->base);
	snprintf(f->az.intune_url, sizeof(f->az.intune_url), "%s", f->base);
	snprintf(f->az.graph_scope, sizeof(f->az.graph_scope),
	    "https://graph.microsoft.com/.default");
	snprintf(f->az.intune_scope, sizeof(f->az.intune_scope),
	    "https://api.manage.microsoft.com//.default");
	snprintf(f->az.api_version, sizeof(f->az.api_version), "2018-02-20");
	snprintf(f->az.provider, sizeof(f->az.provider), "scepgate/test");
	f->az.timeout = 10;
	f->az.revocation = true;
	assert_int_equal(ra_intune_open(&f->az, &f->in, &err), SG_OK);
	assert_string_equal(ra_intune_name(f->in), "contoso");

	assert_non_null(kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL));
	assert_true(EVP_PKEY_keygen_init(kc) > 0);
	assert_true(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc,
	    NID_X9_62_prime256v1) > 0);
	assert_true(EVP_PKEY_keygen(kc, &f->key) > 0);
	EVP_PKEY_CTX_free(kc);
	make_csr(f->key, CHALLENGE, &f->csr, &f->csr_len);
	make_csr(f->key, "not-the-challenge", &f->bad_csr, &f->bad_len);
	f->cert = make_cert(f->key);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[128];

	if (f == NULL)
		return 0;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	ra_intune_free(f->in);
	ra_http_free(f->http);
	OPENSSL_free(f->csr);
	OPENSSL_free(f->bad_csr);
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- the double's hooks ---- */

/* METHOD /__test/PATH [JSON]: the answer's JSON (json_decref). */
static json_t *
hook(struct fx *f, const char *method, const char *path, const char *body)
{
	struct ra_http_req	 q = { 0 };
	struct ra_http_resp	 r = { 0 };
	struct sg_err		 err;
	char			 url[256];
	json_t			*j;

	snprintf(url, sizeof(url), "%s/__test/%s", f->base, path);
	q.what = path;
	q.method = method;
	q.url = url;
	q.body = body;
	q.content_type = body != NULL ? "application/json" : NULL;
	q.tries = 1;
	q.deadline = ra_http_now_ms() + 5000;
	assert_int_equal(ra_http_call(f->http, &q, &r, &err), SG_OK);
	if (r.http != 200)
		fail_msg("%s %s: HTTP %ld: %s", method, path, r.http,
		    r.body.data != NULL ? (char *)r.body.data : "");
	j = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
	assert_non_null(j);
	ra_http_resp_free(&r);
	return j;
}

static void
config(struct fx *f, const char *json)
{
	json_decref(hook(f, "POST", "config", json));
}

/* The back to normal: no faults, every code Success. */
static void
reset(struct fx *f)
{
	config(f, "{\"faults\":{\"validateRequest\":null,"
	    "\"successNotification\":null,\"discovery\":null},"
	    "\"codes\":{\"validateRequest\":\"Success\","
	    "\"successNotification\":\"Success\","
	    "\"failureNotification\":\"Success\"},"
	    "\"discovery_403\":false,\"no_scep_entry\":false}");
}

static json_int_t
state_int(struct fx *f, const char *a, const char *b)
{
	json_t		*s = hook(f, "GET", "state", NULL), *v;
	json_int_t	 n;

	v = json_object_get(s, a);
	if (b != NULL)
		v = json_object_get(v, b);
	assert_true(json_is_integer(v));
	n = json_integer_value(v);
	json_decref(s);
	return n;
}

/* The last logged request of "action" (json_decref), or NULL. */
static json_t *
last_request(struct fx *f, const char *action)
{
	json_t	*log = hook(f, "GET", "requests", NULL), *e, *found = NULL;
	size_t	 i;

	assert_true(json_is_array(log));
	json_array_foreach(log, i, e)
		if (json_is_string(json_object_get(e, "action")) &&
		    strcmp(json_string_value(json_object_get(e, "action")),
		    action) == 0)
			found = e;
	if (found != NULL)
		json_incref(found);
	json_decref(log);
	return found;
}

/* How many logged requests of "action". */
static size_t
count_requests(struct fx *f, const char *action)
{
	json_t		*log = hook(f, "GET", "requests", NULL), *e;
	const char	*a;
	size_t		 i, n = 0;

	json_array_foreach(log, i, e) {
		a = json_string_value(json_object_get(e, "action"));
		if (a != NULL && strcmp(a, action) == 0)
			n++;
	}
	json_decref(log);
	return n;
}

/* The logged body's notification/request object. */
static const json_t *
inner(const json_t *e, const char *wrap)
{
	const json_t	*b = json_object_get(e, "body");

	assert_true(json_is_object(b));
	b = json_object_get(b, wrap);
	assert_true(json_is_object(b));
	return b;
}

static const char *
field(const json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("no string field %s", k);
	return s;
}

static void
transid(struct fx *f, char *out, size_t outsz)
{
	snprintf(out, outsz, "TXN-%d-%d", (int)getpid(), ++f->seq);
}

/* ---- tests ---- */

static void
test_validate_success(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_verdict v;
	struct sg_err		 err;
	char			 t[64];
	json_t			*e;
	const json_t		*h, *rq;
	const char		*id;

	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_OK);
	assert_true(v.ok);
	assert_string_equal(v.code, "Success");
	assert_non_null(e = last_request(f, "validateRequest"));
	assert_int_equal(json_integer_value(json_object_get(e, "status")),
	    200);
	h = json_object_get(e, "headers");
	assert_string_equal(field(h, "api-version"), "2018-02-20");
	assert_string_equal(field(h, "UserAgent"), "scepgate/test");
	assert_string_equal(field(h, "Content-Type"), "application/json");
	assert_string_equal(field(h, "Authorization"), "Bearer [intune]");
	id = field(h, "client-request-id");
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	rq = inner(e, "request");
	assert_string_equal(field(rq, "transactionId"), t);
	assert_string_equal(field(rq, "callerInfo"), "scepgate/test");
	json_decref(e);
}

/* A token per scope, fetched once and reused; discovery cached. */
static void
test_tokens_reused(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_verdict v;
	struct sg_err		 err;
	char			 t[64];
	json_int_t		 disc;
	int			 i;

	disc = state_int(f, "discovery_calls", NULL);
	for (i = 0; i < 3; i++) {
		transid(f, t, sizeof(t));
		assert_int_equal(ra_intune_validate(f->in, t, f->csr,
		    f->csr_len, &v, &err), SG_OK);
	}
	assert_int_equal(state_int(f, "tokens_issued", "graph"), 1);
	assert_int_equal(state_int(f, "tokens_issued", "intune"), 1);
	assert_int_equal(state_int(f, "intune_scope_forms", "double_slash"),
	    1);
	assert_int_equal(state_int(f, "discovery_calls", NULL), disc);
	assert_int_equal(count_requests(f, "token"), 2);
}

static void
test_validate_rejected(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_verdict v;
	struct sg_err		 err;
	char			 t[64];

	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_validate(f->in, t, f->bad_csr, f->bad_len,
	    &v, &err), SG_EPOLICY);
	assert_false(v.ok);
	assert_int_equal(err.failinfo, SG_FAIL_BADREQUEST);
	assert_string_equal(err.msg, "Intune refused the challenge: "
	    "ChallengeDeserializationError");

	config(f, "{\"codes\":{\"validateRequest\":\"ChallengeExpired\"}}");
	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_EPOLICY);
	assert_string_equal(v.code, "ChallengeExpired");
	assert_string_equal(err.msg, "Intune refused the challenge: "
	    "ChallengeExpired");
	/* Any code but Success, also one nobody knows, is a no. */
	config(f, "{\"codes\":{\"validateRequest\":\"success\"}}");
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_EPOLICY);
	assert_false(v.ok);
	reset(f);
}

/* 500 fails at once, without a second send; 503 is busy, retried. */
static void
test_validate_500(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_verdict v;
	struct sg_err		 err;
	char			 t[64];
	size_t			 before;

	before = count_requests(f, "validateRequest");
	config(f, "{\"faults\":{\"validateRequest\":{\"kind\":\"500\","
	    "\"count\":-1}}}");
	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_EUPSTREAM);
	assert_int_equal(err.failinfo, SG_FAIL_BADREQUEST);
	assert_non_null(strstr(err.msg, "validateRequest: HTTP 500"));
	assert_false(v.ok);
	assert_int_equal(count_requests(f, "validateRequest"), before + 1);

	config(f, "{\"faults\":{\"validateRequest\":{\"kind\":\"503\","
	    "\"count\":1}}}");
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_OK);
	reset(f);
}

/* The tenant moves: the old unit's refusal leads to a new discovery. */
static void
test_scale_unit_move(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_verdict v;
	struct sg_err		 err;
	char			 t[64];
	json_int_t		 disc, su;
	json_t			*e;

	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_OK);
	disc = state_int(f, "discovery_calls", NULL);
	su = state_int(f, "scale_unit", NULL);
	config(f, "{\"move_now\":true}");
	assert_int_equal(state_int(f, "scale_unit", NULL), su + 1);
	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_OK);
	assert_true(v.ok);
	assert_int_equal(state_int(f, "discovery_calls", NULL), disc + 1);
	e = last_request(f, "validateRequest");
	assert_int_equal(json_integer_value(json_object_get(e, "status")),
	    200);
	json_decref(e);
	/* And the new URI is cached again. */
	assert_int_equal(ra_intune_validate(f->in, t, f->csr, f->csr_len, &v,
	    &err), SG_OK);
	assert_int_equal(state_int(f, "discovery_calls", NULL), disc + 1);
}

static void
test_notify_success(void **state)
{
	struct fx	*f = *state;
	struct sg_err	 err;
	unsigned char	 md[20];
	unsigned int	 mdlen, i;
	char		 t[64], thumb[41];
	json_t		*e;
	const json_t	*n;

	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_notify_success(f->in, t, f->csr,
	    f->csr_len, f->cert, &err), SG_OK);
	assert_true(X509_digest(f->cert, EVP_sha1(), md, &mdlen));
	for (i = 0; i < mdlen; i++)
		snprintf(thumb + 2 * i, 3, "%02X", md[i]);
	assert_non_null(e = last_request(f, "successNotification"));
	n = inner(e, "notification");
	assert_string_equal(field(n, "transactionId"), t);
	assert_string_equal(field(n, "certificateThumbprint"), thumb);
	assert_string_equal(field(n, "certificateSerialNumber"), "0123ABCD");
	assert_string_equal(field(n, "certificateExpirationDateUtc"),
	    "2030-01-02T03:04:05.000Z");
	assert_string_equal(field(n, "issuingCertificateAuthority"),
	    "CN=Test CA,O=Example");
	assert_string_equal(field(n, "callerInfo"), "scepgate/test");
	assert_non_null(strstr(field(n, "certificateRequest"), "[CSR"));
	assert_string_equal(field(n, "caConfiguration"), "");
	json_decref(e);

	/* 500 on the notification is an error the caller sees. */
	config(f, "{\"faults\":{\"successNotification\":{\"kind\":\"500\","
	    "\"count\":-1}}}");
	assert_int_equal(ra_intune_notify_success(f->in, t, f->csr,
	    f->csr_len, f->cert, &err), SG_EUPSTREAM);
	reset(f);
}

static void
test_notify_failure(void **state)
{
	struct fx	*f = *state;
	struct sg_err	 err;
	char		 t[64], desc[400];
	json_t		*e;
	const json_t	*n;

	memset(desc, 'x', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	memcpy(desc, "CA \"refused\"", 12);
	transid(f, t, sizeof(t));
	assert_int_equal(ra_intune_notify_failure(f->in, t, f->csr,
	    f->csr_len, RA_INTUNE_HR_FAIL, desc, &err), SG_OK);
	assert_non_null(e = last_request(f, "failureNotification"));
	n = inner(e, "notification");
	assert_string_equal(field(n, "transactionId"), t);
	assert_int_equal(json_integer_value(json_object_get(n, "hResult")),
	    -2147467259);
	assert_int_equal(strlen(field(n, "errorDescription")), 255);
	assert_int_equal(strncmp(field(n, "errorDescription"),
	    "CA ?refused?", 12), 0);
	assert_string_equal(field(n, "callerInfo"), "scepgate/test");
	json_decref(e);
}

/* scepctl azure test: both tokens, discovery, each failure named. */
static void
test_azure_test(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_report	 r;
	struct sg_err		 err;

	assert_int_equal(ra_intune_test(f->in, &r, &err), SG_OK);
	assert_non_null(strstr(r.scep_uri, "/scepsvc"));
	assert_non_null(strstr(r.pki_uri, "/pkisvc"));
	assert_int_equal(strncmp(r.scep_uri, f->base, strlen(f->base)), 0);

	config(f, "{\"discovery_403\":true}");
	assert_int_equal(ra_intune_test(f->in, &r, &err), SG_EUPSTREAM);
	assert_non_null(strstr(err.msg, "discovery: HTTP 403"));
	assert_non_null(strstr(err.msg, "Application.Read.All"));
	config(f, "{\"discovery_403\":false,\"no_scep_entry\":true}");
	assert_int_equal(ra_intune_test(f->in, &r, &err), SG_EUPSTREAM);
	assert_non_null(strstr(err.msg, "scep_challenge_provider"));
	reset(f);

	/* A rotated (here: wrong) secret is used after a reload only. */
	write_secret(f->secret, WRONG);
	assert_int_equal(ra_intune_test(f->in, &r, &err), SG_OK);
	assert_int_equal(ra_intune_reload(f->in, &err), SG_OK);
	assert_int_equal(ra_intune_test(f->in, &r, &err), SG_EUPSTREAM);
	assert_non_null(strstr(err.msg, "Graph token"));
	assert_non_null(strstr(err.msg, "invalid_client"));
	if (strstr(err.msg, "client_secret_file") == NULL)
		fail_msg("%s", err.msg);
	assert_null(strstr(err.msg, WRONG));
	write_secret(f->secret, SECRET);
	assert_int_equal(ra_intune_reload(f->in, &err), SG_OK);
	assert_int_equal(ra_intune_test(f->in, &r, &err), SG_OK);
}

static void
test_revocation(void **state)
{
	struct fx		*f = *state;
	struct ra_intune_revreq	*rq = NULL;
	struct ra_intune_revres	 res;
	struct sg_err		 err;
	struct ra_intune	*off;
	struct conf_azure	 az;
	size_t			 n = 0;
	json_t			*q;
	char			*text;

	json_decref(hook(f, "POST", "revocations", "{\"requests\":[{"
	    "\"serialNumber\":\"0123ABCD\",\"issuerName\":\"CN=Test CA\","
	    "\"requestContext\":\"ctx-unit\"}]}"));
	assert_int_equal(ra_intune_revocations_download(f->in, 10, NULL, &rq,
	    &n, &err), SG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rq[0].serial, "0123ABCD");
	assert_string_equal(rq[0].context, "ctx-unit");
	assert_string_equal(rq[0].issuer, "CN=Test CA");
	res.context = rq[0].context;
	res.succeeded = false;
	res.code = RA_INTUNE_CAERR_CONFLICT;
	res.message = "already revoked";
	assert_int_equal(ra_intune_revocations_upload(f->in, &res, 1, &err),
	    SG_OK);
	free(rq);
	q = hook(f, "GET", "revocations", NULL);
	assert_non_null(text = json_dumps(q, 0));
	assert_non_null(strstr(text, "4005"));
	free(text);
	json_decref(q);

	/* Off unless the account says revocation = true. */
	az = f->az;
	az.revocation = false;
	assert_int_equal(ra_intune_open(&az, &off, &err), SG_OK);
	assert_int_equal(ra_intune_revocations_download(off, 10, NULL, &rq,
	    &n, &err), SG_ECONF);
	ra_intune_free(off);
}

/* Neither the double's log nor its stderr ever saw the secret. */
static void
test_no_secret_logged(void **state)
{
	struct fx	*f = *state;
	json_t		*log;
	char		*text, buf[65536];
	FILE		*fp;
	size_t		 n;

	log = hook(f, "GET", "requests", NULL);
	assert_true(json_array_size(log) > 5);
	assert_non_null(text = json_dumps(log, 0));
	assert_null(strstr(text, SECRET));
	assert_null(strstr(text, WRONG));
	assert_null(strstr(text, CHALLENGE));
	free(text);
	json_decref(log);
	assert_non_null(fp = fopen(f->log, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_true(n > 0);
	assert_null(strstr(buf, SECRET));
	assert_null(strstr(buf, WRONG));
}

/* Where the double is; the tests cannot run without it. */
static void
find_double(const char *argv0)
{
	const char	*env = getenv("SG_INTUNE_DOUBLE");
	char		 a[1024];

	snprintf(a, sizeof(a), "%s", argv0);
	if (env != NULL && env[0] != '\0')
		snprintf(double_path, sizeof(double_path), "%s", env);
	else
		snprintf(double_path, sizeof(double_path),
		    "%s/../doubles/intune/intune-double", dirname(a));
	if (access(double_path, X_OK) != 0) {
		fprintf(stderr, "no intune-double at %s (%s): build it\n",
		    double_path, strerror(errno));
		exit(1);
	}
}

/*
 * jansson's copies of a request body are wiped when freed (issue 10
 * s.7): ra_json_wipe_install() replaces jansson's free, and a body
 * built as scep_action() builds it goes through ra_json_wipe_then(),
 * whose every released block the check below finds zeroed.
 */
static size_t	json_blocks;

static void
json_check_release(void *p)
{
	const unsigned char	*b = p;
	size_t			 i, n;

	if (p != NULL) {
		n = malloc_usable_size(p);
		for (i = 0; i < n; i++)
			if (b[i] != 0)
				fail_msg("a freed jansson block holds byte %zu "
				    "of %zu", i, n);
		json_blocks++;
	}
	free(p);
}

static void
json_free_checked(void *p)
{
	ra_json_wipe_then(p, json_check_release);
}

static void
test_json_wiped(void **state)
{
	json_malloc_t	 m;
	json_free_t	 f;
	json_t		*j;
	char		*body;

	(void)state;
	ra_json_wipe_install();
	json_get_alloc_funcs(&m, &f);
	assert_ptr_equal(m, malloc);
	assert_ptr_not_equal(f, free);
	json_set_alloc_funcs(malloc, json_free_checked);
	j = json_pack("{s:{s:s, s:s}}", "request", "transactionId", "T1",
	    "certificateRequest", "MIIB-challenge-NQ3C6-GS3ZN-2XPGL-SEJTQ");
	assert_non_null(j);
	body = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(body, "NQ3C6-GS3ZN"));
	json_decref(j);
	json_free_checked(body);
	/* The strings, objects, their tables and the dump's buffers. */
	assert_true(json_blocks >= 4);
	json_set_alloc_funcs(m, f);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_success),
		cmocka_unit_test(test_tokens_reused),
		cmocka_unit_test(test_validate_rejected),
		cmocka_unit_test(test_validate_500),
		cmocka_unit_test(test_scale_unit_move),
		cmocka_unit_test(test_notify_success),
		cmocka_unit_test(test_notify_failure),
		cmocka_unit_test(test_azure_test),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_no_secret_logged),
		cmocka_unit_test(test_json_wiped),
	};

	(void)argc;
	find_double(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
