/*
 * The name policy of an endpoint (issue 10 section 3, docs/names.md):
 * which subjectAltName types a request may ask for, the pattern its CN,
 * DNS names and emails must match, the subject the local CA writes (O
 * and OU from the account), and a renewal that keeps its names. Tables
 * walk {name, input, expected}; each reports every failing row, then
 * fails once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509v3.h>

#include "ra.h"
#include "ra_int.h"
#include "ra_policy.h"
#include "sg.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define UPN		"otherName:1.3.6.1.4.1.311.20.2.3;UTF8:"
#define SID		"URI:tag:microsoft.com,2022-09-14:sid:" \
	"S-1-5-21-1004336348-1177238915-682003330-512"

/* "O=Other Org/CN=www.bank.example" into a name ('/' separated). */
static X509_NAME *
make_name(const char *text)
{
	X509_NAME	*n = X509_NAME_new();
	char		 buf[1024], *p, *slash, *eq;

	assert_non_null(n);
	snprintf(buf, sizeof(buf), "%s", text);
	for (p = buf; p != NULL && *p != '\0'; p = slash) {
		if ((slash = strchr(p, '/')) != NULL)
			*slash++ = '\0';
		eq = strchr(p, '=');
		assert_non_null(eq);
		*eq++ = '\0';
		assert_true(X509_NAME_add_entry_by_txt(n, p, MBSTRING_UTF8,
		    (const unsigned char *)eq, -1, -1, 0));
	}
	return n;
}

/*
 * A subjectAltName extension from "TYPE:value|TYPE:value" (openssl.cnf
 * words; '|' since URIs hold commas), or NULL for none.
 */
static X509_EXTENSION *
make_san(const char *san)
{
	GENERAL_NAMES	*g;
	GENERAL_NAME	*n;
	X509_EXTENSION	*e;
	CONF_VALUE	 cv;
	char		 buf[1024], *p, *bar, *colon;

	if (san == NULL)
		return NULL;
	g = sk_GENERAL_NAME_new_null();
	assert_non_null(g);
	snprintf(buf, sizeof(buf), "%s", san);
	for (p = buf; p != NULL; p = bar) {
		if ((bar = strchr(p, '|')) != NULL)
			*bar++ = '\0';
		colon = strchr(p, ':');
		assert_non_null(colon);
		*colon = '\0';
		memset(&cv, 0, sizeof(cv));
		cv.name = p;
		cv.value = colon + 1;
		n = v2i_GENERAL_NAME(NULL, NULL, &cv);
		assert_non_null(n);
		assert_true(sk_GENERAL_NAME_push(g, n));
	}
	e = X509V3_EXT_i2d(NID_subject_alt_name, 0, g);
	assert_non_null(e);
	GENERAL_NAMES_free(g);
	return e;
}

static X509_REQ *
make_req(const char *subject, const char *san)
{
	STACK_OF(X509_EXTENSION) *exts;
	X509_REQ		*req = X509_REQ_new();
	X509_NAME		*n = make_name(subject);
	X509_EXTENSION		*e = make_san(san);

	assert_non_null(req);
	assert_true(X509_REQ_set_subject_name(req, n));
	X509_NAME_free(n);
	if (e != NULL) {
		exts = sk_X509_EXTENSION_new_null();
		assert_true(sk_X509_EXTENSION_push(exts, e));
		assert_true(X509_REQ_add_extensions(req, exts));
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	return req;
}

/* A SAN with a directoryName (no config section needed). */
static X509_REQ *
make_req_dirname(const char *subject)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES		*g = sk_GENERAL_NAME_new_null();
	GENERAL_NAME		*n = GENERAL_NAME_new();
	X509_REQ		*req = make_req(subject, NULL);

	assert_true(g != NULL && n != NULL);
	n->type = GEN_DIRNAME;
	n->d.directoryName = make_name("CN=x");
	assert_true(sk_GENERAL_NAME_push(g, n));
	assert_true(X509V3_add1_i2d(&exts, NID_subject_alt_name, g, 0, 0));
	assert_true(X509_REQ_add_extensions(req, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(g);
	return req;
}

static X509 *
make_cert(const char *subject, const char *san)
{
	X509		*x = X509_new();
	X509_NAME	*n = make_name(subject);
	X509_EXTENSION	*e = make_san(san);

	assert_non_null(x);
	assert_true(X509_set_subject_name(x, n));
	X509_NAME_free(n);
	if (e != NULL)
		assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	return x;
}

static void
endpoint(struct ra_endpoint *ep, enum ra_ep_type type, int san_types,
    const char *pattern)
{
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->name, sizeof(ep->name), "demo");
	ep->type = type;
	ep->san_types = san_types;
	snprintf(ep->name_pattern, sizeof(ep->name_pattern), "%s", pattern);
}

/* Compare one result; print the row when it is wrong. */
static bool
expect(const char *row, enum sg_rc rc, const struct sg_err *err,
    enum sg_rc want, const char *msg)
{
	if (rc == want && (want == SG_OK || (err->failinfo ==
	    SG_FAIL_BADREQUEST && (msg == NULL || strcmp(err->msg, msg) ==
	    0))))
		return true;
	print_error("%s: rc %d failinfo %d \"%s\", expected rc %d \"%s\"\n",
	    row, rc, err->failinfo, err->msg, want, msg ? msg : "");
	return false;
}

/* ---- which names a request may ask for ---- */

struct names_case {
	const char	*name;
	enum ra_ep_type	 type;
	int		 san_types;	/* 0: the default */
	const char	*pattern;
	const char	*subject;
	const char	*san;
	enum sg_rc	 rc;
	const char	*msg;		/* exact, when not NULL */
};

static const struct names_case names_cases[] = {
	/* The measured request of issue 10, on the defaults. */
	{ "upn refused by default", RA_EP_DEVICE, 0, "",
	    "O=Other Org/CN=www.bank.example",
	    "DNS:*.google.com|IP:10.0.0.1|" UPN "administrator@corp",
	    SG_EPOLICY, "SAN type upn is not allowed on endpoint 'demo'" },
	{ "uri refused by default", RA_EP_DEVICE, 0, "", "CN=a",
	    "URI:https://evil.example/", SG_EPOLICY,
	    "SAN type uri is not allowed on endpoint 'demo'" },
	{ "dns, ip, email allowed by default", RA_EP_DEVICE, 0, "", "CN=a",
	    "DNS:a.example.com|IP:10.0.0.1|email:a@example.com", SG_OK, NULL },
	{ "no SAN at all", RA_EP_DEVICE, 0, "", "CN=a", NULL, SG_OK, NULL },
	{ "DNS outside the pattern", RA_EP_DEVICE, 0, "*.example.com",
	    "CN=www.example.com", "DNS:*.google.com", SG_EPOLICY,
	    "DNS name *.google.com does not match *.example.com" },
	{ "CN outside the pattern", RA_EP_DEVICE, 0, "*.example.com",
	    "CN=www.bank.example", NULL, SG_EPOLICY,
	    "CN www.bank.example does not match *.example.com" },
	{ "CN and DNS inside, any case", RA_EP_DEVICE, 0, "*.example.com",
	    "CN=WWW.Example.COM", "DNS:host.example.com", SG_OK, NULL },
	{ "wildcard DNS only by an equal entry", RA_EP_DEVICE, 0,
	    "*.example.com", "CN=a.example.com", "DNS:*.sub.example.com",
	    SG_EPOLICY,
	    "DNS name *.sub.example.com does not match *.example.com" },
	{ "wildcard DNS equal to an entry", RA_EP_DEVICE, 0,
	    "*.example.com", "CN=a.example.com", "DNS:*.example.com", SG_OK,
	    NULL },
	{ "a list of patterns", RA_EP_DEVICE, 0, "router-*,*.example.com",
	    "CN=router-7", "DNS:r7.example.com", SG_OK, NULL },
	{ "email by its domain", RA_EP_CLIENT, 0, "alice,example.com",
	    "CN=alice", "email:alice@example.com", SG_OK, NULL },
	{ "email of another domain", RA_EP_CLIENT, 0, "alice,example.com",
	    "CN=alice", "email:alice@evil.example", SG_EPOLICY,
	    "email alice@evil.example does not match alice,example.com" },
	{ "subject emailAddress counts as email", RA_EP_CLIENT, RA_SAN_DNS,
	    "", "CN=alice/emailAddress=alice@example.com", NULL, SG_EPOLICY,
	    "SAN type email is not allowed on endpoint 'demo'" },
	{ "ip not in the list", RA_EP_DEVICE, RA_SAN_DNS, "", "CN=a",
	    "IP:10.0.0.1", SG_EPOLICY,
	    "SAN type ip is not allowed on endpoint 'demo'" },
	{ "upn when allowed", RA_EP_CLIENT, RA_SAN_UPN, "", "CN=a",
	    UPN "alice@corp", SG_OK, NULL },
	{ "none: no SAN", RA_EP_DEVICE, RA_SAN_NONE, "", "CN=a",
	    "DNS:a", SG_EPOLICY,
	    "no subjectAltName is allowed on endpoint 'demo'" },
	{ "dirName never", RA_EP_DEVICE, RA_SAN_DNS | RA_SAN_URI, "",
	    "CN=a", "dirName", SG_EPOLICY,
	    "SAN type dirName is not allowed on endpoint 'demo'" },
	{ "Intune: the SID URI always", RA_EP_DEVICE_INTUNE, 0, "",
	    "CN=a", SID, SG_OK, NULL },
	{ "Intune: another URI still refused", RA_EP_DEVICE_INTUNE, 0, "",
	    "CN=a", "URI:tag:microsoft.com,2022-09-14:sid:evil", SG_EPOLICY,
	    "SAN type uri is not allowed on endpoint 'demo'" },
	{ "SID URI on a plain endpoint", RA_EP_DEVICE, 0, "", "CN=a", SID,
	    SG_EPOLICY, "SAN type uri is not allowed on endpoint 'demo'" },
};

static bool
names_row(const struct names_case *t)
{
	struct ra_endpoint	 ep;
	struct sg_err		 err = { 0 };
	X509_REQ		*req;
	enum sg_rc		 rc;

	endpoint(&ep, t->type, t->san_types, t->pattern);
	if (t->san != NULL && strcmp(t->san, "dirName") == 0)
		req = make_req_dirname(t->subject);
	else
		req = make_req(t->subject, t->san);
	rc = ra_policy_check_names(&ep, req, &err);
	X509_REQ_free(req);
	return expect(t->name, rc, &err, t->rc, t->msg);
}

static void
test_names(void **state)
{
	size_t	i, bad = 0;

	(void)state;
	for (i = 0; i < NELEM(names_cases); i++)
		bad += !names_row(&names_cases[i]);
	if (bad > 0)
		fail_msg("%zu of %zu rows wrong", bad, NELEM(names_cases));
}

/* A subject longer than the transaction row is refused, not cut. */
static void
test_subject_length(void **state)
{
	struct ra_endpoint	 ep;
	struct sg_err		 err = { 0 };
	X509_REQ		*req;
	char			 subj[1024] = "CN=a";
	size_t			 i;

	(void)state;
	endpoint(&ep, RA_EP_DEVICE, 0, "");
	/* Ten OUs of 60 characters: about 640 bytes of RFC 2253 text. */
	for (i = 0; i < 10; i++)
		snprintf(subj + strlen(subj), sizeof(subj) - strlen(subj),
		    "/OU=%060zu", i);
	req = make_req(subj, NULL);
	assert_int_equal(ra_policy_check_names(&ep, req, &err), SG_EPOLICY);
	assert_non_null(strstr(err.msg, "too long (at most 511)"));
	X509_REQ_free(req);
}

/* ---- a renewal keeps its names ---- */

struct renew_case {
	const char	*name;
	bool		 from_csr;	/* ep->subject_from_csr */
	bool		 any;		/* ep->renewal_any_names */
	const char	*old_subject, *old_san;
	const char	*subject, *san;
	enum sg_rc	 rc;
};

static const struct renew_case renew_cases[] = {
	{ "same names", false, false, "O=Acct Org/CN=host1", "DNS:host1",
	    "CN=host1", "DNS:host1", SG_OK },
	{ "O of the CSR is not compared (from the account)", false, false,
	    "O=Acct Org/CN=host1", NULL, "O=Other Org/CN=host1", NULL, SG_OK },
	{ "a new CN", false, false, "O=Acct Org/CN=host1", NULL,
	    "CN=www.bank.example", NULL, SG_EPOLICY },
	{ "CN dropped", false, false, "CN=host1/L=Paris", NULL, "L=Paris",
	    NULL, SG_EPOLICY },
	{ "an added attribute", false, false, "CN=host1", NULL,
	    "CN=host1/L=Paris", NULL, SG_EPOLICY },
	{ "an added SAN", false, false, "CN=host1", "DNS:host1", "CN=host1",
	    "DNS:host1|DNS:*.google.com", SG_EPOLICY },
	{ "a SAN dropped", false, false, "CN=host1", "DNS:host1|IP:10.0.0.1",
	    "CN=host1", "DNS:host1", SG_EPOLICY },
	{ "SANs in another order", false, false, "CN=host1",
	    "DNS:host1|IP:10.0.0.1", "CN=host1", "IP:10.0.0.1|DNS:host1",
	    SG_OK },
	{ "--renewal-names any", false, true, "CN=host1", "DNS:host1",
	    "CN=other", "DNS:other", SG_OK },
	{ "from the CSR: O must stay", true, false, "O=Acct Org/CN=host1",
	    NULL, "O=Other Org/CN=host1", NULL, SG_EPOLICY },
};

static bool
renew_row(const struct renew_case *t)
{
	struct ra_endpoint	 ep;
	struct p7_csr		 csr;
	struct sg_err		 err = { 0 };
	X509			*old;
	enum sg_rc		 rc;

	endpoint(&ep, RA_EP_DEVICE, 0, "");
	ep.subject_from_csr = t->from_csr;
	ep.renewal_any_names = t->any;
	memset(&csr, 0, sizeof(csr));
	csr.req = make_req(t->subject, t->san);
	snprintf(csr.subject, sizeof(csr.subject), "%s", t->subject);
	old = make_cert(t->old_subject, t->old_san);
	rc = ra_policy_renewal_names(old, &csr, &ep, &err);
	X509_free(old);
	X509_REQ_free(csr.req);
	return expect(t->name, rc, &err, t->rc, NULL);
}

static void
test_renewal_names(void **state)
{
	size_t	i, bad = 0;

	(void)state;
	for (i = 0; i < NELEM(renew_cases); i++)
		bad += !renew_row(&renew_cases[i]);
	if (bad > 0)
		fail_msg("%zu of %zu rows wrong", bad, NELEM(renew_cases));
}

/* ---- the subject the local CA writes ---- */

struct subject_case {
	const char	*name;
	bool		 from_csr;
	const char	*csr_subject;
	const char	*org, *dept;
	const char	*want;		/* RFC 2253 */
};

static const struct subject_case subject_cases[] = {
	{ "O and OU from the account", false,
	    "C=US/O=Other Org/OU=Evil/CN=www.bank.example", "Acct Org", "Ops",
	    "CN=www.bank.example,OU=Ops,O=Acct Org,C=US" },
	{ "no department: no OU", false, "OU=Evil/CN=host1", "Acct Org", "",
	    "CN=host1,O=Acct Org" },
	{ "no CN: O at the end", false, "L=Paris", "Acct Org", "",
	    "O=Acct Org,L=Paris" },
	{ "from the CSR: as asked", true, "O=Other Org/CN=host1", "Acct Org",
	    "Ops", "CN=host1,O=Other Org" },
};

static bool
subject_row(const struct subject_case *t)
{
	struct ra_endpoint	 ep;
	struct ra_issuance	 with;
	struct sg_err		 err = { 0 };
	X509_REQ		*req;
	X509_NAME		*out = NULL;
	char			 text[512] = "";
	BIO			*b;
	int			 n;
	bool			 ok;

	endpoint(&ep, RA_EP_DEVICE, 0, "");
	ep.subject_from_csr = t->from_csr;
	memset(&with, 0, sizeof(with));
	snprintf(with.org, sizeof(with.org), "%s", t->org);
	snprintf(with.dept, sizeof(with.dept), "%s", t->dept);
	req = make_req(t->csr_subject, NULL);
	ok = ra_x509_subject(&ep, &with, req, &out, &err) == SG_OK;
	if (ok) {
		b = BIO_new(BIO_s_mem());
		X509_NAME_print_ex(b, out, 0, XN_FLAG_RFC2253);
		n = BIO_read(b, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = '\0';
		BIO_free(b);
		ok = strcmp(text, t->want) == 0;
	}
	if (!ok)
		print_error("%s: \"%s\" (%s), expected \"%s\"\n", t->name, text,
		    err.msg, t->want);
	X509_NAME_free(out);
	X509_REQ_free(req);
	return ok;
}

static void
test_subject(void **state)
{
	size_t	i, bad = 0;

	(void)state;
	for (i = 0; i < NELEM(subject_cases); i++)
		bad += !subject_row(&subject_cases[i]);
	if (bad > 0)
		fail_msg("%zu of %zu rows wrong", bad, NELEM(subject_cases));
}

/* ---- the admin's pattern ---- */

static void
test_pattern_ok(void **state)
{
	static const struct {
		const char	*p;
		bool		 ok;
	} rows[] = {
		{ "", true }, { "*.example.com", true },
		{ "router-*,*.example.com", true }, { "host[0-9]", true },
		{ ",a", false }, { "a,", false }, { "a,,b", false },
		{ "a b", false }, { "a\\*", false }, { "a/b", false },
	};
	size_t	i, bad = 0;

	(void)state;
	for (i = 0; i < NELEM(rows); i++)
		if (ra_policy_pattern_ok(rows[i].p) != rows[i].ok) {
			print_error("pattern \"%s\": expected %s\n", rows[i].p,
			    rows[i].ok ? "valid" : "refused");
			bad++;
		}
	if (bad > 0)
		fail_msg("%zu pattern rows wrong", bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_subject_length),
		cmocka_unit_test(test_renewal_names),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_pattern_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
