/*
 * The webhooks' pure parts (ra/ra_webhook.h, docs/webhooks.md): the
 * signature against a known vector, the validation body built from a
 * real CSR, the answer parser and the settings check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ra_webhook.h"

/*
 * hmac.new(b"whsec-test", b'1700000000.{"allow":true}',
 * hashlib.sha256).hexdigest(), as the receiver in docs/webhooks.md
 * computes it.
 */
static void
test_sign(void **state)
{
	static const char	 body[] = "{\"allow\":true}";
	static const char	 key[] = "whsec-test";
	char			 sig[RA_WEBHOOK_SIG_MAX];

	(void)state;
	assert_int_equal(ra_webhook_sign((const uint8_t *)key, strlen(key),
	    "1700000000", (const uint8_t *)body, strlen(body), sig), SG_OK);
	assert_string_equal(sig, "sha256=c45353972f0c14c5ac773fea31acc7c7422e"
	    "ab9a46c5d2cafd44a9b0c1e073ce");
	/* Another timestamp is another signature. */
	assert_int_equal(ra_webhook_sign((const uint8_t *)key, strlen(key),
	    "1700000001", (const uint8_t *)body, strlen(body), sig), SG_OK);
	assert_string_not_equal(sig, "sha256=c45353972f0c14c5ac773fea31acc7c74"
	    "22eab9a46c5d2cafd44a9b0c1e073ce");
}

/* A P-256 CSR for CN=dev1 with three SANs and challenge "chal". */
static void
make_csr(const char *chal, uint8_t **der, size_t *len)
{
	EVP_PKEY			*key;
	X509_REQ			*req;
	X509_EXTENSION			*ext;
	STACK_OF(X509_EXTENSION)	*exts;
	unsigned char			*buf = NULL;
	int				 n;

	key = EVP_EC_gen("P-256");
	req = X509_REQ_new();
	assert_non_null(key);
	assert_non_null(req);
	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req),
	    "CN", MBSTRING_ASC, (const unsigned char *)"dev1", -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key));
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "DNS:dev1.example, IP:192.0.2.7, email:a@example.org");
	exts = sk_X509_EXTENSION_new_null();
	assert_non_null(ext);
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	assert_true(X509_REQ_add_extensions(req, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    MBSTRING_UTF8, (const unsigned char *)chal, (int)strlen(chal)));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &buf);
	assert_true(n > 0);
	*der = buf;
	*len = (size_t)n;
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

/* The body names everything, and the challenge survives JSON escaping. */
static void
test_body(void **state)
{
	static const char	 chal[] = "ok-\"q\\z\n\xe2\x82\xac";
	struct ra_webhook_in	 in;
	struct p7_csr		*csr = NULL;
	struct sg_buf		 b = { NULL, 0, 0, 0 };
	struct sg_err		 err;
	json_t			*j, *sans;
	uint8_t			*der = NULL;
	size_t			 len = 0;

	(void)state;
	make_csr(chal, &der, &len);
	assert_int_equal(p7_csr_parse(der, len, &csr, &err), SG_OK);
	memset(&in, 0, sizeof(in));
	in.endpoint = "mdm";
	in.transid = "T-1";
	in.peer = "192.0.2.1";
	in.csr = csr;
	in.der = der;
	in.der_len = len;
	in.time = 1700000000;
	assert_int_equal(ra_webhook_body(&in, &b, &err), SG_OK);
	j = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES,
	    NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "endpoint")),
	    "mdm");
	assert_string_equal(json_string_value(json_object_get(j,
	    "transaction_id")), "T-1");
	assert_string_equal(json_string_value(json_object_get(j,
	    "challenge")), chal);
	assert_string_equal(json_string_value(json_object_get(j, "subject")),
	    "CN=dev1");
	assert_string_equal(json_string_value(json_object_get(j, "peer")),
	    "192.0.2.1");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	    "2023-11-14T22:13:20Z");
	assert_true(strlen(json_string_value(json_object_get(j, "csr"))) ==
	    (len + 2) / 3 * 4);
	sans = json_object_get(j, "sans");
	assert_int_equal(json_array_size(sans), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(sans, 0), "type")), "dns");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(sans, 0), "value")), "dev1.example");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(sans, 1), "value")), "192.0.2.7");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(sans, 2), "type")), "email");
	json_decref(j);
	sg_buf_wipe(&b);
	p7_csr_free(csr);
	OPENSSL_free(der);
}

/* Answers: {name, body, rc, allow, account, reason}. */
static const struct answer_case {
	const char	*name;
	const char	*body;
	enum sg_rc	 rc;
	bool		 allow;
	const char	*account;
	const char	*reason;
} answers[] = {
	{ "allow", "{\"allow\": true}", SG_OK, true, "", "" },
	{ "allow with account", "{\"allow\":true,\"account\":\"lab\"}",
	    SG_OK, true, "lab", "" },
	{ "deny with reason", "{\"allow\":false,\"reason\":\"not enrolled\"}",
	    SG_OK, false, "", "not enrolled" },
	{ "reason made printable", "{\"allow\":false,\"reason\":"
	    "\"a\\u0007\\\"b\\n\"}", SG_OK, false, "", "a??b?" },
	{ "null reason", "{\"allow\":false,\"reason\":null}", SG_OK, false,
	    "", "" },
	{ "extra members", "{\"allow\":false,\"x\":[1,2]}", SG_OK, false, "",
	    "" },
	{ "allow as a string", "{\"allow\":\"true\"}", SG_EPARSE, false, "",
	    "" },
	{ "no allow", "{\"account\":\"lab\"}", SG_EPARSE, false, "", "" },
	{ "array", "[true]", SG_EPARSE, false, "", "" },
	{ "not JSON", "allow", SG_EPARSE, false, "", "" },
	{ "empty", "", SG_EPARSE, false, "", "" },
	{ "duplicate allow", "{\"allow\":false,\"allow\":true}", SG_EPARSE,
	    false, "", "" },
	{ "bad account name", "{\"allow\":true,\"account\":\"a/b\"}",
	    SG_EPARSE, false, "", "" },
	{ "account not a string", "{\"allow\":true,\"account\":7}",
	    SG_EPARSE, false, "", "" },
	{ "reason not a string", "{\"allow\":false,\"reason\":{}}",
	    SG_EPARSE, false, "", "" },
};

static void
test_answers(void **state)
{
	struct ra_webhook_answer	 a;
	struct sg_err			 err;
	size_t				 i;
	char				 longr[400];
	char				 body[512];

	(void)state;
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const struct answer_case *c = &answers[i];
		enum sg_rc rc = ra_webhook_answer_parse(
		    (const uint8_t *)c->body, strlen(c->body), &a, &err);

		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
		if (rc != SG_OK)
			continue;
		assert_int_equal(a.allow, c->allow);
		assert_string_equal(a.account, c->account);
		assert_string_equal(a.reason, c->reason);
	}
	/* A long reason is cut to fit failInfoText. */
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"allow\":false,\"reason\":\"%s\"}",
	    longr);
	assert_int_equal(ra_webhook_answer_parse((const uint8_t *)body,
	    strlen(body), &a, &err), SG_OK);
	assert_int_equal(strlen(a.reason), RA_WEBHOOK_REASON_MAX - 1);
}

/* The settings scepctl endpoint edit may store. */
static void
test_check(void **state)
{
	struct ra_endpoint	ep;
	struct sg_err		err;
	char			path[] = "/tmp/sg-whsecret.XXXXXX";
	int			fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\n", 7), 7);
	close(fd);
	memset(&ep, 0, sizeof(ep));
	ep.type = RA_EP_DEVICE;
	assert_int_equal(ra_webhook_check(&ep, &err), SG_OK);
	snprintf(ep.challenge_webhook, sizeof(ep.challenge_webhook),
	    "ftp://x/y");
	assert_int_equal(ra_webhook_check(&ep, &err), SG_EPOLICY);
	snprintf(ep.challenge_webhook, sizeof(ep.challenge_webhook),
	    "https://mdm.example/check me");
	assert_int_equal(ra_webhook_check(&ep, &err), SG_EPOLICY);
	snprintf(ep.challenge_webhook, sizeof(ep.challenge_webhook),
	    "https://mdm.example/check");
	/* A URL needs the secret. */
	assert_int_equal(ra_webhook_check(&ep, &err), SG_EPOLICY);
	assert_non_null(strstr(err.msg, "--webhook-secret-file"));
	snprintf(ep.webhook_secret_file, sizeof(ep.webhook_secret_file), "%s",
	    path);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(ra_webhook_check(&ep, &err), SG_ECONF);
	assert_null(strstr(err.msg, "s3cret"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(ra_webhook_check(&ep, &err), SG_OK);
	ep.webhook_timeout = 61;
	assert_int_equal(ra_webhook_check(&ep, &err), SG_EPOLICY);
	ep.webhook_timeout = 5;
	ep.type = RA_EP_DEVICE_INTUNE;
	assert_int_equal(ra_webhook_check(&ep, &err), SG_EPOLICY);
	ep.challenge_webhook[0] = '\0';
	snprintf(ep.notify_webhook, sizeof(ep.notify_webhook),
	    "http://127.0.0.1:8080/events");
	assert_int_equal(ra_webhook_check(&ep, &err), SG_OK);
	(void)unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
