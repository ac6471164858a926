/*
 * The admin API (ra_admin.c): organizations and departments, accounts
 * and their access codes, endpoints added and deleted while the RA
 * runs. On the shared instance fixture (sg_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "p7.h"
#include "ra.h"
#include "sg.h"
#include "sg_test.h"

static bool
code_chars_ok(const char *code)
{
	return strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(code);
}

static void
test_org(void **state)
{
	struct sgt_fx	*fx = *state;
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
	struct sgt_fx	*fx = *state;
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
	sgt_transid(fx, "longcode", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 1, code_max);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE, "long code");
	p7_certrep_free(rep);
	/* Intune endpoints take no access codes (not implemented). */
	sgt_transid(fx, "intune", tid, sizeof(tid));
	rep = sgt_enroll(fx, "intune", tid, 1, fx->code);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, "intune");
	p7_certrep_free(rep);
}

static void
test_account_codes(void **state)
{
	struct sgt_fx		*fx = *state;
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
	sgt_account(fx, "demo", "generated-1", NULL, c1);
	sgt_account(fx, "demo", "generated-2", NULL, c2);
	assert_int_equal(strlen(c1), RA_CODE_LEN);
	assert_int_equal(strlen(c2), RA_CODE_LEN);
	assert_true(code_chars_ok(c1));
	assert_true(code_chars_ok(c2));
	assert_string_not_equal(c1, c2);
	assert_string_not_equal(c1, fx->code);

	/* A generated code works, for its endpoint. */
	sgt_transid(fx, "gen", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 2, c2);
	sgt_expect_status(rep, P7_STATUS_SUCCESS, SG_FAIL_NONE,
	    "generated code");
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
	sgt_transid(fx, "deleted", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 2, c2);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
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
	sgt_transid(fx, "disabled", tid, sizeof(tid));
	rep = sgt_enroll(fx, "demo", tid, 2, "DisabledCode12345678");
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "disabled account");
	p7_certrep_free(rep);
	OPENSSL_cleanse(c1, sizeof(c1));
	OPENSSL_cleanse(c2, sizeof(c2));
}

static void
test_endpoint_add(void **state)
{
	struct sgt_fx	*fx = *state;
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
	struct sgt_fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_reply		 r = { 0 };
	struct sg_err		 err = { 0 };
	char			 code[RA_CODE_MAX + 1];

	sgt_add_device(fx, "doomed", "doomed", RA_CACERT_CMS_CHAIN,
	    RA_GETCERT_FULL_CHAIN);
	sgt_account(fx, "doomed", "doomed-devices", NULL, code);
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
	sgt_add_device(fx, "empty", "empty", RA_CACERT_CMS_CHAIN,
	    RA_GETCERT_FULL_CHAIN);
	assert_int_equal(ra_endpoint_delete(fx->ra, "empty", false, &err),
	    SG_OK);
	assert_int_equal(ra_endpoint_get(fx->ra, "empty", &ep, &err),
	    SG_ENOTFOUND);
}

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_admin");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_org),
		cmocka_unit_test(test_account_add),
		cmocka_unit_test(test_account_codes),
		cmocka_unit_test(test_endpoint_add),
		cmocka_unit_test(test_endpoint_delete),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
