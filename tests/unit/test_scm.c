/*
 * The SCM upstream's pure helpers (ra/ra_up_scm_msg.c), table-driven:
 * what each answer means (reference/scm-rest-api.md 4.2, 4.3), the
 * enroll JSON built from a CSR and the names taken from it (3.3, 3.8),
 * the listings, serials, Retry-After and the back-off. The HTTP side
 * runs against tests/doubles/scm in tests/integration/test_scm.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ra_up_scm_int.h"

#define S(x)	(const uint8_t *)(x), strlen(x)

/* ---- classification ---- */

static const struct {
	enum scm_call	call;
	long		http;
	int		code;
	enum scm_class	want;
} classes[] = {
	{ SCM_CALL_ENROLL, 200, SCM_NO_CODE, SCM_C_OK },
	{ SCM_CALL_REVOKE, 204, SCM_NO_CODE, SCM_C_OK },
	/* 4.3: the three pending bodies, and "try later" */
	{ SCM_CALL_COLLECT, 400, 0, SCM_C_PENDING },
	{ SCM_CALL_COLLECT, 400, -1400, SCM_C_PENDING },
	{ SCM_CALL_COLLECT, 400, -183, SCM_C_PENDING },
	{ SCM_CALL_COLLECT, 400, -109, SCM_C_PENDING },
	{ SCM_CALL_COLLECT, 400, -103, SCM_C_FAIL },
	{ SCM_CALL_COLLECT, 400, -110, SCM_C_REVOKED },
	{ SCM_CALL_COLLECT, 400, -192, SCM_C_REVOKED },
	{ SCM_CALL_COLLECT, 404, -5101, SCM_C_NOTFOUND },
	{ SCM_CALL_COLLECT, 400, -124, SCM_C_NOTFOUND },
	{ SCM_CALL_COLLECT, 404, SCM_NO_CODE, SCM_C_NOTFOUND },
	{ SCM_CALL_COLLECT, 400, -1450, SCM_C_FAIL },
	{ SCM_CALL_COLLECT, 400, SCM_NO_CODE, SCM_C_FAIL },
	/* code 0 pends only on collect */
	{ SCM_CALL_ENROLL, 400, 0, SCM_C_FAIL },
	/* 4.4 and transient codes, on any call */
	{ SCM_CALL_ENROLL, 429, SCM_NO_CODE, SCM_C_TRANSIENT },
	{ SCM_CALL_COLLECT, 503, SCM_NO_CODE, SCM_C_TRANSIENT },
	{ SCM_CALL_ENROLL, 500, -2, SCM_C_TRANSIENT },
	{ SCM_CALL_ENROLL, 400, -195, SCM_C_TRANSIENT },
	{ SCM_CALL_ENROLL, 400, -140, SCM_C_TRANSIENT },
	{ SCM_CALL_OTHER, 400, -65, SCM_C_TRANSIENT },
	/* authentication and privileges */
	{ SCM_CALL_ENROLL, 401, -16, SCM_C_AUTH },
	{ SCM_CALL_ENROLL, 400, -970, SCM_C_AUTH },
	{ SCM_CALL_COLLECT, 401, SCM_NO_CODE, SCM_C_AUTH },
	{ SCM_CALL_ENROLL, 400, -3, SCM_C_AUTH },
	{ SCM_CALL_ENROLL, 403, -37, SCM_C_AUTH },
	/* enroll: the request, the key, the setup */
	{ SCM_CALL_ENROLL, 400, -9, SCM_C_CSR },
	{ SCM_CALL_ENROLL, 400, -10, SCM_C_CSR },
	{ SCM_CALL_ENROLL, 400, -138, SCM_C_CSR },
	{ SCM_CALL_ENROLL, 400, -188, SCM_C_CSR },
	{ SCM_CALL_ENROLL, 400, -13, SCM_C_ALG },
	{ SCM_CALL_ENROLL, 400, -170, SCM_C_ALG },
	{ SCM_CALL_ENROLL, 400, -78, SCM_C_ALG },
	{ SCM_CALL_ENROLL, 400, -36, SCM_C_CONFIG },
	{ SCM_CALL_ENROLL, 400, -5109, SCM_C_CONFIG },
	{ SCM_CALL_ENROLL, 400, -172, SCM_C_CONFIG },
	{ SCM_CALL_ENROLL, 400, -62, SCM_C_CONFIG },
	{ SCM_CALL_ENROLL, 400, -1023, SCM_C_CONFIG },
	{ SCM_CALL_ENROLL, 400, -7, SCM_C_CONFIG },
	/* -159 is "already revoked" on revoke only (4.2) */
	{ SCM_CALL_REVOKE, 400, -159, SCM_C_DONE },
	{ SCM_CALL_ENROLL, 400, -159, SCM_C_FAIL },
	{ SCM_CALL_REVOKE, 400, -102, SCM_C_FAIL },
	{ SCM_CALL_REVOKE, 404, -5101, SCM_C_NOTFOUND },
};

static void
test_classify(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (scm_classify(classes[i].call, classes[i].http,
		    classes[i].code) != classes[i].want)
			fail_msg("case %zu: HTTP %ld code %d: %s, not %s", i,
			    classes[i].http, classes[i].code,
			    scm_class_name(scm_classify(classes[i].call,
			    classes[i].http, classes[i].code)),
			    scm_class_name(classes[i].want));
}

static const struct {
	const char	*body;
	int		 code;
	const char	*desc;
} errors[] = {
	{ "{\"code\":-36,\"description\":\"The validity period (term) is "
	    "invalid for this certificate profile.\"}", -36,
	    "The validity period (term) is invalid for this certificate "
	    "profile." },
	{ "{\"code\":0,\"description\":\"Being processed by Sectigo\"}", 0,
	    "Being processed by Sectigo" },
	/* Admin spec extras are ignored; a missing code is allowed */
	{ "{\"description\":\"x\",\"details\":\"d\",\"items\":[\"a\"]}",
	    SCM_NO_CODE, "x" },
	{ "{\"error\":\"invalid_client\"}", SCM_NO_CODE, "invalid_client" },
	{ "<html><body>Service Unavailable</body></html>", SCM_NO_CODE, "" },
	{ "", SCM_NO_CODE, "" },
	{ "{\"code\":\"-36\"}", SCM_NO_CODE, "" },
	{ "{\"code\":-16,\"description\":\"a\\nb\\\"c\"}", -16, "a?b?c" },
};

static void
test_error_parse(void **state)
{
	struct sg_err	 e;
	char		 desc[160];
	int		 code;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		scm_error_parse(S(errors[i].body), &code, desc, sizeof(desc));
		assert_int_equal(code, errors[i].code);
		assert_string_equal(desc, errors[i].desc);
	}
	/* failInfo by class; the message names call, status, code */
	assert_int_equal(scm_error_set(&e, SCM_CALL_ENROLL, "enroll", 400, -13,
	    "Key size"), SG_EUPSTREAM);
	assert_int_equal(e.failinfo, SG_FAIL_BADALG);
	assert_string_equal(e.msg, "SCM enroll: HTTP 400, code -13: Key size");
	(void)scm_error_set(&e, SCM_CALL_ENROLL, "enroll", 401, -16, "Unknown user");
	assert_int_equal(e.failinfo, SG_FAIL_BADREQUEST);
	assert_non_null(strstr(e.msg, "HTTP 401, code -16: Unknown user "
	    "(check the SCM credentials"));
	(void)scm_error_set(&e, SCM_CALL_ENROLL, "enroll", 400, -36, "");
	assert_non_null(strstr(e.msg, "code -36 (check the account's"));
	(void)scm_error_set(&e, SCM_CALL_COLLECT, "collect", 502, SCM_NO_CODE, "");
	assert_string_equal(e.msg, "SCM collect: HTTP 502");
}

static const struct {
	const char	*s;
	enum scm_state	 want;
} states[] = {
	{ "Issued", SCM_S_ISSUED }, { "ISSUED", SCM_S_ISSUED },
	{ "issued", SCM_S_ISSUED }, { "Downloaded", SCM_S_ISSUED },
	{ "Declined", SCM_S_DECLINED }, { "rejected", SCM_S_DECLINED },
	{ "REVOKED", SCM_S_REVOKED }, { "pre_revoked", SCM_S_REVOKED },
	{ "Requested", SCM_S_PENDING }, { "APPROVED", SCM_S_PENDING },
	{ "Applied", SCM_S_PENDING }, { "AWAITING_APPROVAL", SCM_S_PENDING },
	{ "", SCM_S_PENDING },
};

static void
test_state(void **state)
{
	char	st[32];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (scm_state_parse(states[i].s) != states[i].want)
			fail_msg("state \"%s\"", states[i].s);
	/* details: "status"; client lists: "state" of the first entry */
	assert_int_equal(scm_status_field(S("{\"id\":1,\"status\":\"Issued\"}"),
	    st, sizeof(st)), SG_OK);
	assert_string_equal(st, "Issued");
	assert_int_equal(scm_status_field(S("[{\"state\":\"rejected\"},"
	    "{\"state\":\"issued\"}]"), st, sizeof(st)), SG_OK);
	assert_string_equal(st, "rejected");
	assert_int_equal(scm_status_field(S("[]"), st, sizeof(st)),
	    SG_ENOTFOUND);
	assert_int_equal(scm_status_field(S("nope"), st, sizeof(st)),
	    SG_EPARSE);
}

/* ---- CSRs and the enroll JSON ---- */

static EVP_PKEY *key;

static int
setup(void **state)
{
	(void)state;
	key = EVP_RSA_gen(2048);
	return key != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/*
 * A CSR with subject entries "name=value/..." (OpenSSL short names) and
 * an optional subjectAltName ("email:a@b", ...).
 */
static X509_REQ *
csr(const char *subject, const char *san)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	X509_EXTENSION			*ext;
	X509_REQ			*req;
	X509_NAME			*name;
	char				 buf[512], *p, *f, *eq;

	req = X509_REQ_new();
	assert_non_null(req);
	name = X509_REQ_get_subject_name(req);
	snprintf(buf, sizeof(buf), "%s", subject);
	for (p = buf; (f = strsep(&p, "/")) != NULL;) {
		if (*f == '\0' || (eq = strchr(f, '=')) == NULL)
			continue;
		*eq = '\0';
		assert_true(X509_NAME_add_entry_by_txt(name, f, MBSTRING_UTF8,
		    (unsigned char *)eq + 1, -1, -1, 0));
	}
	if (san != NULL) {
		exts = sk_X509_EXTENSION_new_null();
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
		    san);
		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
		assert_true(X509_REQ_add_extensions(req, exts));
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

static const struct {
	const char	*subject;
	const char	*san;
	enum sg_rc	 rc;
	const char	*email, *first, *last, *cn;	/* or the message */
} persons[] = {
	{ "CN=Jane Doe/emailAddress=j.doe@example.net", NULL, SG_OK,
	    "j.doe@example.net", "Jane", "Doe", "Jane Doe" },
	{ "CN=Jane Q. Public", "email:jq@example.net", SG_OK,
	    "jq@example.net", "Jane Q.", "Public", "Jane Q. Public" },
	/* the subject's address wins over the SAN */
	{ "CN=A B/emailAddress=s@example.net", "email:san@example.net", SG_OK,
	    "s@example.net", "A", "B", "A B" },
	/* given name and surname win over the CN */
	{ "CN=jdoe/GN=Jane/SN=Doe/emailAddress=jd@example.net", NULL, SG_OK,
	    "jd@example.net", "Jane", "Doe", "jdoe" },
	/* one word: both names */
	{ "CN=jdoe", "DNS:x.example.net, email:jdoe@example.net", SG_OK,
	    "jdoe@example.net", "jdoe", "jdoe", "jdoe" },
	/* no CN: the address' local part */
	{ "O=Example", "email:jane.doe@example.net", SG_OK,
	    "jane.doe@example.net", "jane", "doe", "" },
	{ "CN=Jane Doe", NULL, SG_EPOLICY,
	    "client certificate needs an email address", NULL, NULL, NULL },
	{ "CN=Jane Doe", "DNS:x.example.net", SG_EPOLICY,
	    "client certificate needs an email address", NULL, NULL, NULL },
	{ "CN=Jane Doe/emailAddress=not-an-address", NULL, SG_EPOLICY,
	    "client certificate needs an email address", NULL, NULL, NULL },
	{ "CN=ab/GN=Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "/SN=Bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "email:a@example.net",
	    SG_EPOLICY, "first and last name must total 1 to 64", NULL, NULL,
	    NULL },
};

static void
test_person(void **state)
{
	struct scm_person	 p;
	struct sg_err		 e;
	X509_REQ		*req;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(persons) / sizeof(persons[0]); i++) {
		req = csr(persons[i].subject, persons[i].san);
		sg_err_clear(&e);
		if (scm_person_from_csr(req, &p, &e) != persons[i].rc)
			fail_msg("case %zu (%s): %s", i, persons[i].subject,
			    e.msg);
		if (persons[i].rc == SG_OK) {
			assert_string_equal(p.email, persons[i].email);
			assert_string_equal(p.first, persons[i].first);
			assert_string_equal(p.last, persons[i].last);
			assert_string_equal(p.cn, persons[i].cn);
		} else {
			assert_int_equal(e.failinfo, SG_FAIL_BADREQUEST);
			assert_non_null(strstr(e.msg, persons[i].email));
		}
		X509_REQ_free(req);
	}
}

static void
test_enroll_json(void **state)
{
	struct scm_enroll	 en = { 0 };
	struct scm_person	 p;
	struct sg_err		 e;
	X509_REQ		*req, *back;
	json_t			*j;
	BIO			*b;
	const char		*pem;
	char			*s = NULL;

	(void)state;
	/* Device (3.3): ids, term, PEM CSR, comments; no person. */
	req = csr("CN=dev-000981.example.net", NULL);
	en.org_id = 4022;
	en.cert_type = 7311;
	en.term = 365;
	en.comments = "SCEP transactionID 5F3A9C";
	en.csr = req;
	assert_int_equal(scm_enroll_json(&en, &s, &e), SG_OK);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "orgId")),
	    4022);
	assert_int_equal(json_integer_value(json_object_get(j, "certType")),
	    7311);
	assert_int_equal(json_integer_value(json_object_get(j, "term")), 365);
	assert_string_equal(json_string_value(json_object_get(j, "comments")),
	    "SCEP transactionID 5F3A9C");
	assert_null(json_object_get(j, "email"));
	pem = json_string_value(json_object_get(j, "csr"));
	assert_non_null(pem);
	assert_true(strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----\n",
	    36) == 0);
	b = BIO_new_mem_buf(pem, -1);
	back = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(back);
	assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(back),
	    X509_REQ_get_subject_name(req)), 0);
	X509_REQ_free(back);
	BIO_free(b);
	/* The reference's field order, for readable logs. */
	assert_true(strncmp(s, "{\"orgId\":4022,\"certType\":7311,\"term\":365,"
	    "\"csr\":", 45) == 0);
	json_decref(j);
	free(s);
	X509_REQ_free(req);

	/* Client (3.8): email, names and commonName from the CSR. */
	req = csr("CN=Jane Doe", "email:j.doe@example.net");
	assert_int_equal(scm_person_from_csr(req, &p, &e), SG_OK);
	en.client = true;
	en.csr = req;
	en.person = &p;
	en.comments = NULL;
	assert_int_equal(scm_enroll_json(&en, &s, &e), SG_OK);
	j = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "email")),
	    "j.doe@example.net");
	assert_string_equal(json_string_value(json_object_get(j, "firstName")),
	    "Jane");
	assert_string_equal(json_string_value(json_object_get(j, "lastName")),
	    "Doe");
	assert_string_equal(json_string_value(json_object_get(j,
	    "commonName")), "Jane Doe");
	assert_null(json_object_get(j, "comments"));
	json_decref(j);
	free(s);
	X509_REQ_free(req);
}

/* ---- answers ---- */

static const struct {
	bool		 client;
	const char	*body;
	enum sg_rc	 rc;
	const char	*order;
} orders[] = {
	{ false, "{\"deviceCertId\":918273,\"status\":\"REQUESTED\","
	    "\"backendCertId\":\"918273\",\"orderNumber\":918273}", SG_OK,
	    "918273" },
	{ true, "{\"orderNumber\":55012,\"backendCertId\":\"55012\"}", SG_OK,
	    "55012" },
	{ true, "{\"orderNumber\":55012}", SG_EUPSTREAM, NULL },
	{ false, "{\"backendCertId\":\"1\"}", SG_EUPSTREAM, NULL },
	{ false, "{\"deviceCertId\":0}", SG_EUPSTREAM, NULL },
	{ false, "{\"deviceCertId\":\"918273\"}", SG_EUPSTREAM, NULL },
	/* an id goes into URLs: nothing but SCM's characters */
	{ true, "{\"backendCertId\":\"1/../x\"}", SG_EUPSTREAM, NULL },
	{ true, "[1]", SG_EUPSTREAM, NULL },
	{ true, "", SG_EUPSTREAM, NULL },
};

static void
test_enroll_order(void **state)
{
	char	order[RA_ORDER_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		order[0] = '\0';
		assert_int_equal(scm_enroll_order(orders[i].client,
		    S(orders[i].body), order, NULL), orders[i].rc);
		if (orders[i].rc == SG_OK)
			assert_string_equal(order, orders[i].order);
	}
}

static const char orgs_json[] =
    "[{\"id\":4021,\"name\":\"Example Corp\",\"departments\":["
    "{\"id\":4022,\"name\":\"Factory Floor\",\"parentName\":\"Example Corp\"},"
    "{\"id\":4023,\"name\":\"Sales\",\"parentName\":\"Example Corp\"}]},"
    "{\"id\":4030,\"name\":\"Other Org\",\"departments\":[]},"
    "{\"id\":4031,\"name\":\"Sales\"},"
    "{\"name\":\"no id\"}]";

static const char types_json[] =
    "[{\"id\":7311,\"name\":\"IoT Device 1y\",\"terms\":[365,730],"
    "\"term\":365,\"keyTypes\":{\"RSA\":[\"2048\"]},\"ku\":[],\"eku\":[]},"
    "{\"id\":7312,\"name\":\"Device Manual Approval\",\"terms\":[365]}]";

static void
test_listings(void **state)
{
	struct scm_entry	*v = NULL;
	struct sg_err		 e;
	size_t			 n = 0;

	(void)state;
	assert_int_equal(scm_orgs_parse(S(orgs_json), &v, &n, &e), SG_OK);
	assert_int_equal(n, 5);
	assert_int_equal(scm_entry_find(v, n, "Example Corp", ""), 4021);
	assert_int_equal(scm_entry_find(v, n, "Factory Floor",
	    "Example Corp"), 4022);
	/* a department and an organization of the same name */
	assert_int_equal(scm_entry_find(v, n, "Sales", "Example Corp"), 4023);
	assert_int_equal(scm_entry_find(v, n, "Sales", ""), 4031);
	assert_int_equal(scm_entry_find(v, n, "Factory Floor", ""), -1);
	assert_int_equal(scm_entry_find(v, n, "example corp", ""), -1);
	free(v);
	assert_int_equal(scm_types_parse(S(types_json), &v, &n, &e), SG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(scm_entry_find(v, n, "Device Manual Approval", ""),
	    7312);
	free(v);
	v = NULL;
	assert_int_equal(scm_types_parse(S("[]"), &v, &n, &e), SG_OK);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(scm_orgs_parse(S("{\"id\":1}"), &v, &n, &e),
	    SG_EUPSTREAM);
	assert_int_equal(scm_numeric_id("7311"), 7311);
	assert_int_equal(scm_numeric_id("0"), -1);
	assert_int_equal(scm_numeric_id("07311"), -1);
	assert_int_equal(scm_numeric_id("IoT Device 1y"), -1);
	assert_int_equal(scm_numeric_id("99999999999"), -1);
}

/* The catalogue for scepctl's org sync and profile sync (3.1, 3.2). */
static void
test_catalog(void **state)
{
	static const char odd_json[] =
	    "[{\"id\":0,\"name\":\"id 0\"},"
	    "{\"id\":2147483648,\"name\":\"id too big\"},"
	    "{\"id\":\"7\",\"name\":\"id as text\"},"
	    "{\"id\":7314,\"name\":\"no terms\"},"
	    "{\"id\":7315,\"name\":\"odd terms\","
	    "\"terms\":[365,\"730\",-1,0,90]},"
	    "{\"id\":7317,\"name\":\"%s\"}, 42]";
	struct ra_catalog	 cat = { 0 };
	struct sg_err		 e;
	char			 body[512], longname[RA_NAME_MAX + 1];

	(void)state;
	assert_int_equal(scm_catalog_orgs(S(orgs_json), &cat, &e), SG_OK);
	assert_int_equal(cat.norgs, 3);
	assert_int_equal(cat.orgs[0].scm_id, 4021);
	assert_string_equal(cat.orgs[0].name, "Example Corp");
	assert_int_equal(cat.orgs[0].ndepts, 2);
	assert_int_equal(cat.orgs[0].depts[1].scm_id, 4023);
	assert_string_equal(cat.orgs[0].depts[1].name, "Sales");
	assert_int_equal(cat.orgs[1].ndepts, 0);
	assert_int_equal(cat.orgs[2].scm_id, 4031);
	/* Device profiles, then client ones appended. */
	assert_int_equal(scm_catalog_profiles(S(types_json),
	    RA_PROFILE_DEVICE, &cat, &e), SG_OK);
	assert_int_equal(scm_catalog_profiles(S("[{\"id\":7402,\"name\":"
	    "\"Client Cert 1y\",\"terms\":[365,730]}]"), RA_PROFILE_CLIENT,
	    &cat, &e), SG_OK);
	assert_int_equal(cat.nprofiles, 3);
	assert_int_equal(cat.profiles[0].scm_id, 7311);
	assert_int_equal(cat.profiles[0].kind, RA_PROFILE_DEVICE);
	assert_int_equal(cat.profiles[0].nterms, 2);
	assert_int_equal(cat.profiles[0].terms[1], 730);
	assert_int_equal(cat.profiles[2].kind, RA_PROFILE_CLIENT);
	assert_string_equal(cat.profiles[2].name, "Client Cert 1y");
	ra_catalog_free(&cat);
	assert_null(cat.orgs);

	/* Bad ids are left out; odd terms ignored; long names kept as "". */
	memset(longname, 'n', RA_NAME_MAX);
	longname[RA_NAME_MAX] = '\0';
	snprintf(body, sizeof(body), odd_json, longname);
	assert_int_equal(scm_catalog_profiles(S(body), RA_PROFILE_DEVICE,
	    &cat, &e), SG_OK);
	assert_int_equal(cat.nprofiles, 3);
	assert_string_equal(cat.profiles[0].name, "no terms");
	assert_int_equal(cat.profiles[0].nterms, 0);
	assert_int_equal(cat.profiles[1].nterms, 2);
	assert_int_equal(cat.profiles[1].terms[1], 90);
	assert_int_equal(cat.profiles[2].scm_id, 7317);
	assert_string_equal(cat.profiles[2].name, "");		/* too long */
	ra_catalog_free(&cat);
	assert_int_equal(scm_catalog_orgs(S("{\"id\":1}"), &cat, &e),
	    SG_EUPSTREAM);
	assert_int_equal(scm_catalog_profiles(S("<html>"), RA_PROFILE_CLIENT,
	    &cat, &e), SG_EUPSTREAM);
	assert_non_null(strstr(e.msg, "client profiles"));
	assert_int_equal(scm_catalog_orgs(S("[]"), &cat, &e), SG_OK);
	assert_int_equal(cat.norgs, 0);
	ra_catalog_free(&cat);
}

static void
test_cert_parse(void **state)
{
	X509		*x = NULL, *y = NULL;
	X509_NAME	*n;
	BIO		*b;
	char		*pem;
	unsigned char	*der = NULL;
	long		 len;
	int		 dlen;
	struct sg_err	 e;

	(void)state;
	x = X509_new();
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"leaf", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	/* x509CO: PEM, leaf only; a chain after it is ignored */
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	PEM_write_bio_X509(b, x);
	len = BIO_get_mem_data(b, &pem);
	assert_int_equal(scm_cert_parse((const uint8_t *)pem, (size_t)len, &y,
	    &e), SG_OK);
	assert_int_equal(X509_cmp(x, y), 0);
	X509_free(y);
	BIO_free(b);
	/* DER */
	dlen = i2d_X509(x, &der);
	assert_int_equal(scm_cert_parse(der, (size_t)dlen, &y, &e), SG_OK);
	assert_int_equal(X509_cmp(x, y), 0);
	X509_free(y);
	OPENSSL_free(der);
	assert_int_equal(scm_cert_parse(S("{\"code\":0}"), &y, &e),
	    SG_EUPSTREAM);
	assert_int_equal(scm_cert_parse(NULL, 0, &y, &e), SG_EUPSTREAM);
	X509_free(x);
}

/* ---- URLs, serials, waiting (OAuth and back-off: test_http.c) ---- */

static void
test_base_url(void **state)
{
	char	u[128];

	(void)state;
	scm_base_url("https://cert-manager.com/api", false, u, sizeof(u));
	assert_string_equal(u, "https://cert-manager.com/api");
	/* 1.2: client-certificate login goes through /private */
	scm_base_url("https://cert-manager.com/api", true, u, sizeof(u));
	assert_string_equal(u, "https://cert-manager.com/private/api");
	scm_base_url("https://cert-manager.com/private/api", true, u,
	    sizeof(u));
	assert_string_equal(u, "https://cert-manager.com/private/api");
	scm_base_url("https://hard.cert-manager.com/x", true, u, sizeof(u));
	assert_string_equal(u, "https://hard.cert-manager.com/x");
}

static const struct {
	const char	*hex;
	const char	*want;	/* NULL: refused */
} serials[] = {
	{ "A735", "A7:35" },
	{ "1A2B3", "01:A2:B3" },
	{ "5e210a9c", "5E:21:0A:9C" },
	{ "0", "00" },
	{ "", NULL },
	{ "12:34", NULL },
	{ "XYZ", NULL },
};

static void
test_serial(void **state)
{
	char	out[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		if (serials[i].want == NULL) {
			assert_false(scm_serial_colon(serials[i].hex, out,
			    sizeof(out)));
			continue;
		}
		assert_true(scm_serial_colon(serials[i].hex, out,
		    sizeof(out)));
		assert_string_equal(out, serials[i].want);
	}
	/* "AB:CD" needs 6 bytes */
	assert_false(scm_serial_colon("ABCD", out, 5));
	assert_true(scm_serial_colon("ABCD", out, 6));
}

static void
test_poll_wait(void **state)
{
	(void)state;
	/* pending orders: 3 x poll_interval, then doubling, up to 64 x */
	assert_true(scm_poll_wait_ms(5, 0) == 5000);
	assert_true(scm_poll_wait_ms(5, 2) == 5000);
	assert_true(scm_poll_wait_ms(5, 3) == 10000);
	assert_true(scm_poll_wait_ms(5, 6) == 20000);
	assert_true(scm_poll_wait_ms(5, 18) == 320000);
	assert_true(scm_poll_wait_ms(5, 1000) == 320000);
	assert_true(scm_poll_wait_ms(3600, 1000) == 3600LL * 64 * 1000);
}

/* ---- lost enroll answers: finding the order again ---- */

#define TID1	"SCEP transactionID 5F3A; scepgate endpoint demo,"

static const struct {
	const char	*name;
	bool		 client;
	const char	*body;
	const char	*prefix;
	enum sg_rc	 want;
	const char	*order;		/* when found */
	size_t		 n;		/* entries in the page */
} matches[] = {
	{ "device found", false, "[{\"id\":7,\"comments\":\"other\"},"
	    "{\"id\":918273,\"comments\":\"" TID1 " account a\"}]", TID1,
	    SG_OK, "918273", 2 },
	{ "the first of two", false, "[{\"id\":5,\"comments\":\"" TID1
	    " x\"},{\"id\":6,\"comments\":\"" TID1 " y\"}]", TID1, SG_OK,
	    "5", 2 },
	/* a transactionID that only starts the same */
	{ "longer transid", false, "[{\"id\":7,\"comments\":\"SCEP "
	    "transactionID 5F3AB; scepgate endpoint demo, account a\"}]",
	    TID1, SG_ENOTFOUND, NULL, 1 },
	{ "other endpoint", false, "[{\"id\":7,\"comments\":\"SCEP "
	    "transactionID 5F3A; scepgate endpoint demo2, account a\"}]",
	    TID1, SG_ENOTFOUND, NULL, 1 },
	{ "prefix cut short", false, "[{\"id\":7,\"comments\":\"SCEP "
	    "transactionID 5F3A; scepgate\"}]", TID1, SG_ENOTFOUND, NULL, 1 },
	{ "no comments", false, "[{\"id\":7},{\"id\":8,\"comments\":null}]",
	    TID1, SG_ENOTFOUND, NULL, 2 },
	{ "empty", false, "[]", TID1, SG_ENOTFOUND, NULL, 0 },
	/* a match without a usable id is no match */
	{ "id 0", false, "[{\"id\":0,\"comments\":\"" TID1 "\"}]", TID1,
	    SG_ENOTFOUND, NULL, 1 },
	{ "id string", false, "[{\"id\":\"9\",\"comments\":\"" TID1 "\"}]",
	    TID1, SG_ENOTFOUND, NULL, 1 },
	{ "client found", true, "[{\"id\":3,\"backendCertId\":\"55012\","
	    "\"comments\":\"" TID1 "\"}]", TID1, SG_OK, "55012", 1 },
	{ "client bad id", true, "[{\"backendCertId\":\"55/012\","
	    "\"comments\":\"" TID1 "\"}]", TID1, SG_ENOTFOUND, NULL, 1 },
	{ "client numeric id only", true, "[{\"id\":3,\"comments\":\""
	    TID1 "\"}]", TID1, SG_ENOTFOUND, NULL, 1 },
	/* an embedded NUL: jansson refuses the page (no JSON_ALLOW_NUL) */
	{ "nul in comments", false, "[{\"id\":7,\"comments\":\"SCEP "
	    "transactionID 5F3A\\u0000; scepgate endpoint demo,\"}]", TID1,
	    SG_EPARSE, NULL, 0 },
	{ "not an array", false, "{\"id\":7,\"comments\":\"" TID1 "\"}",
	    TID1, SG_EPARSE, NULL, 0 },
	{ "not JSON", false, "<html>", TID1, SG_EPARSE, NULL, 0 },
	{ "entries not objects", false, "[1,\"x\",null]", TID1, SG_ENOTFOUND,
	    NULL, 3 },
};

static void
test_list_match(void **state)
{
	char	order[RA_ORDER_MAX], prefix[SCM_PREFIX_MAX];
	char	esc[16];
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		n = 99;
		order[0] = '\0';
		if (scm_list_match(matches[i].client, S(matches[i].body),
		    matches[i].prefix, order, &n) != matches[i].want ||
		    n != matches[i].n || (matches[i].order != NULL &&
		    strcmp(order, matches[i].order) != 0))
			fail_msg("%s: got order '%s', %zu entries",
			    matches[i].name, order, n);
	}
	assert_int_equal(scm_list_match(false, NULL, 0, TID1, order, &n),
	    SG_EPARSE);
	/* the prefix is what the comments sent start with */
	scm_comments_prefix("5F3A", "demo", prefix, sizeof(prefix));
	assert_string_equal(prefix, TID1);
	scm_comments_prefix("a\x01" "b", "e\n", prefix, sizeof(prefix));
	assert_null(strchr(prefix, '\x01'));
	assert_null(strchr(prefix, '\n'));
	/* query values */
	assert_true(scm_query_escape("dev-1.ex_ample~", esc, sizeof(esc)));
	assert_string_equal(esc, "dev-1.ex_ample~");
	assert_true(scm_query_escape("a b&c=\xc3", esc, sizeof(esc)));
	assert_string_equal(esc, "a%20b%26c%3D%C3");
	assert_false(scm_query_escape("a b&c=\xc3!", esc, sizeof(esc)));
	assert_true(scm_query_escape("", esc, 1));
	assert_string_equal(esc, "");
	assert_false(scm_query_escape("", esc, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_person),
		cmocka_unit_test(test_enroll_json),
		cmocka_unit_test(test_enroll_order),
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_catalog),
		cmocka_unit_test(test_cert_parse),
		cmocka_unit_test(test_base_url),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_poll_wait),
		cmocka_unit_test(test_list_match),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
