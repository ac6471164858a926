/*
 * The upstream's catalogue in the store (ra/ra_catalog.c, issue #4):
 * the checks that account add and edit make against synced profiles
 * (table-driven), and what org sync and profile sync do with a
 * catalogue: add, record ids, never delete organizations, mirror the
 * profiles, skip what the store cannot hold, audit every sync.
 *
 * Like the ra unit tests: a throwaway instance from ra_instance_create(),
 * driven through ra.h. Two internal hooks from ra_int.h: the profile table is
 * filled with ra_store_profile_replace(), and a fake upstream whose
 * catalog() returns a fixed catalogue stands in for SCM (the HTTP side
 * runs against tests/doubles/scm in tests/integration/test_scm.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "ra.h"
#include "sg_test.h"
#include "ra_int.h"
#include "sg.h"

struct fx {
	char		 dir[64];
	struct conf	*conf;
	struct ra	*ra;
	int		 seq;		/* for account names */
};

/* ---- a fake upstream: catalog() deep-copies "priv" ---- */

static enum sg_rc
fake_catalog(struct ra_up *up, struct ra_catalog *out, struct sg_err *err)
{
	const struct ra_catalog	*src = up->priv;
	struct ra_catalog	 c = { 0 };
	size_t			 i, n;

	(void)err;
	c.orgs = calloc(src->norgs + 1, sizeof(*c.orgs));
	c.profiles = calloc(src->nprofiles + 1, sizeof(*c.profiles));
	assert_non_null(c.orgs);
	assert_non_null(c.profiles);
	for (i = 0; i < src->norgs; i++) {
		c.orgs[i] = src->orgs[i];
		n = src->orgs[i].ndepts;
		c.orgs[i].depts = calloc(n + 1, sizeof(*c.orgs[i].depts));
		assert_non_null(c.orgs[i].depts);
		if (n > 0)
			memcpy(c.orgs[i].depts, src->orgs[i].depts,
			    n * sizeof(*c.orgs[i].depts));
		c.norgs++;
	}
	if (src->nprofiles > 0)
		memcpy(c.profiles, src->profiles, src->nprofiles *
		    sizeof(*c.profiles));
	c.nprofiles = src->nprofiles;
	*out = c;
	return SG_OK;
}

static const struct ra_up_ops fake_ops = {
	.name = "fake",
	.catalog = fake_catalog,
};

/* Sync "cat" through the fake upstream; the real one comes back after. */
static enum sg_rc
sync_with(struct fx *fx, const struct ra_catalog *cat, bool profiles,
    struct ra_sync_item **items, size_t *n, struct sg_err *err)
{
	struct ra_up	 fake = { .ops = &fake_ops };
	struct ra_up	*real = fx->ra->up;
	enum sg_rc	 rc;

	fake.priv = (void *)(uintptr_t)cat;
	fx->ra->up = &fake;
	rc = ra_catalog_sync(fx->ra, profiles, items, n, err);
	fx->ra->up = real;
	return rc;
}

/* The item for "name" (and "org" for departments), or a test failure. */
static const struct ra_sync_item *
item(const struct ra_sync_item *v, size_t n, enum ra_sync_kind kind,
    const char *org, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i].kind == kind && strcmp(v[i].org, org) == 0 &&
		    strcmp(v[i].name, name) == 0)
			return &v[i];
	fail_msg("no sync item %s '%s'", ra_sync_kind_name(kind), name);
	return NULL;
}

static void
expect_action(const struct ra_sync_item *v, size_t n, enum ra_sync_kind kind,
    const char *org, const char *name, enum ra_sync_action want)
{
	const struct ra_sync_item	*it = item(v, n, kind, org, name);

	if (it->action != want)
		fail_msg("%s '%s': %s, expected %s (%s)",
		    ra_sync_kind_name(kind), name,
		    ra_sync_action_name(it->action), ra_sync_action_name(want),
		    it->detail);
}

/* The newest audit record has this action, outcome and details. */
static void
expect_audit(struct fx *fx, const char *action, const char *outcome,
    const char *details)
{
	struct ra_audit_filter	 f = { 0 };
	struct ra_audit_rec	*a = NULL;
	struct sg_err		 err = { 0 };
	size_t			 n = 0;

	assert_int_equal(ra_audit_list(fx->ra, &f, &a, &n, &err), SG_OK);
	assert_true(n > 0);
	assert_string_equal(a[n - 1].action, action);
	assert_string_equal(a[n - 1].outcome, outcome);
	if (strstr(a[n - 1].details, details) == NULL)
		fail_msg("audit details '%s' lack '%s'", a[n - 1].details,
		    details);
	free(a);
}

static int64_t
org_scm_id(struct fx *fx, const char *org, const char *dept)
{
	struct ra_org	*v = NULL;
	struct sg_err	 err = { 0 };
	size_t		 n = 0, i;
	int64_t		 id = -1;

	if (dept == NULL)
		assert_int_equal(ra_org_list(fx->ra, &v, &n, &err), SG_OK);
	else
		assert_int_equal(ra_dept_list(fx->ra, org, &v, &n, &err),
		    SG_OK);
	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, dept != NULL ? dept : org) == 0)
			id = v[i].scm_id;
	free(v);
	return id;
}

static int
group_setup(void **state)
{
	struct ra_endpoint	 ep = { 0 };
	struct sg_err		 err = { 0 };
	struct fx		*fx;

	sg_log_init(SG_LOG_ERR, false, "test_catalog");
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	sgt_instance("test_catalog", fx->dir, sizeof(fx->dir), &fx->conf,
	    NULL);
	fx->ra = sgt_ra_open(fx->conf);
	/* "demo" issues device certificates; "people" client ones. */
	snprintf(ep.name, sizeof(ep.name), "people");
	snprintf(ep.uri, sizeof(ep.uri), "people");
	ep.type = RA_EP_CLIENT;
	if (ra_endpoint_add(fx->ra, &ep, &err) != SG_OK)
		fail_msg("ra_endpoint_add: %s", err.msg);
	*state = fx;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx	*fx = *state;

	if (fx == NULL)
		return 0;
	ra_close(fx->ra);
	sgt_rm_tree(fx->dir);
	free(fx->conf);
	free(fx);
	return 0;
}

static enum sg_rc
add_account(struct fx *fx, const char *endpoint, const char *profile,
    int term, char *name, size_t namesz, struct sg_err *err)
{
	struct ra_account	a = { 0 };
	char			code[RA_CODE_MAX + 1];

	snprintf(name, namesz, "acct-%d", ++fx->seq);
	snprintf(a.endpoint, sizeof(a.endpoint), "%s", endpoint);
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.org, sizeof(a.org), "Demo");
	snprintf(a.profile, sizeof(a.profile), "%s", profile);
	a.term_days = term;
	return ra_account_add(fx->ra, &a, NULL, code, err);
}

/* ---- the account check ---- */

static const struct ra_profile profiles[] = {
	{ 7311, "IoT Device 1y", RA_PROFILE_DEVICE, { 365, 730 }, 2 },
	{ 7312, "Device Manual Approval", RA_PROFILE_DEVICE, { 365 }, 1 },
	{ 7320, "Any Term Device", RA_PROFILE_DEVICE, { 0 }, 0 },
	{ 7402, "Client Cert 1y", RA_PROFILE_CLIENT, { 365, 730 }, 2 },
	/* The same name in both families: the endpoint's kind decides. */
	{ 7330, "Shared", RA_PROFILE_DEVICE, { 90 }, 1 },
	{ 7430, "Shared", RA_PROFILE_CLIENT, { 180 }, 1 },
};

static void
set_profiles(struct fx *fx, const struct ra_profile *p, size_t n)
{
	struct sg_err	err = { 0 };

	if (ra_store_profile_replace(fx->ra->store, p, n, &err) != SG_OK)
		fail_msg("ra_store_profile_replace: %s", err.msg);
}

static void
test_no_catalogue(void **state)
{
	struct fx		*fx = *state;
	struct ra_sync_item	*v = NULL;
	struct sg_err		 err = { 0 };
	char			 name[32];
	size_t			 n = 0;

	/* Nothing synced: free-text profiles and any term (local CA). */
	assert_int_equal(add_account(fx, "demo", "whatever", 42, name,
	    sizeof(name), &err), SG_OK);
	assert_int_equal(add_account(fx, "people", "", 1, name,
	    sizeof(name), &err), SG_OK);
	/* The local upstream has no catalogue to sync: audited refusal. */
	assert_int_equal(ra_catalog_sync(fx->ra, false, &v, &n, &err),
	    SG_ECONF);
	assert_non_null(strstr(err.msg, "the local upstream has no "
	    "catalogue"));
	assert_null(v);
	expect_audit(fx, "org sync", "failure", "no catalogue");
	assert_int_equal(ra_catalog_sync(fx->ra, true, &v, &n, &err),
	    SG_ECONF);
	expect_audit(fx, "profile sync", "failure", "no catalogue");
}

static void
test_check_table(void **state)
{
	static const struct {
		const char	*name;
		const char	*endpoint;
		const char	*profile;
		int		 term;
		enum sg_rc	 rc;
		const char	*msg;		/* in the error */
	} cases[] = {
		{ "name, allowed term", "demo", "IoT Device 1y", 730,
		    SG_OK, NULL },
		{ "id, allowed term", "demo", "7311", 365, SG_OK, NULL },
		{ "term not allowed", "demo", "IoT Device 1y", 90,
		    SG_EPOLICY, "allowed terms: 365, 730" },
		{ "term of a one-term profile", "demo",
		    "Device Manual Approval", 730, SG_EPOLICY,
		    "allowed terms: 365" },
		{ "profile without terms", "demo", "Any Term Device", 17,
		    SG_OK, NULL },
		{ "client profile, device endpoint", "demo",
		    "Client Cert 1y", 365, SG_EPOLICY,
		    "is a client profile, but endpoint 'demo' issues device" },
		{ "client id, device endpoint", "demo", "7402", 365,
		    SG_EPOLICY, "pick a device profile" },
		{ "device profile, client endpoint", "people",
		    "IoT Device 1y", 365, SG_EPOLICY,
		    "device profile, but endpoint 'people' issues client" },
		{ "client profile, client endpoint", "people",
		    "Client Cert 1y", 730, SG_OK, NULL },
		{ "unknown profile", "demo", "IoT Device 2y", 365,
		    SG_ENOTFOUND, "run scepctl profile sync" },
		{ "unknown id", "demo", "9999", 365, SG_ENOTFOUND,
		    "scepctl profile sync" },
		{ "no profile", "demo", "", 365, SG_EPOLICY,
		    "needs a device profile" },
		{ "shared name, device terms", "demo", "Shared", 90, SG_OK,
		    NULL },
		{ "shared name, client terms", "people", "Shared", 180,
		    SG_OK, NULL },
		{ "shared name, other kind's term", "demo", "Shared", 180,
		    SG_EPOLICY, "allowed terms: 90" },
		/* Names are case-sensitive, as in SCM's own lookup. */
		{ "other case", "demo", "iot device 1y", 365, SG_ENOTFOUND,
		    "profile list" },
	};
	struct fx	*fx = *state;
	struct sg_err	 err;
	char		 name[32];
	size_t		 i;
	enum sg_rc	 rc;

	set_profiles(fx, profiles, sizeof(profiles) / sizeof(profiles[0]));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		rc = add_account(fx, cases[i].endpoint, cases[i].profile,
		    cases[i].term, name, sizeof(name), &err);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %s (%s), expected %s", cases[i].name,
			    sg_strerror(rc), err.msg,
			    sg_strerror(cases[i].rc));
		if (cases[i].msg != NULL && strstr(err.msg,
		    cases[i].msg) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].name,
			    err.msg, cases[i].msg);
	}
	/* The refusal is audited with its reason. */
	expect_audit(fx, "account add", "failure", "profile list");
	set_profiles(fx, NULL, 0);
}

static void
test_check_edit(void **state)
{
	struct fx		*fx = *state;
	struct ra_account_edit	 ed;
	struct sg_err		 err = { 0 };
	char			 legacy[32], good[32];

	/* Made before any sync, with a free-text profile. */
	assert_int_equal(add_account(fx, "demo", "legacy", 30, legacy,
	    sizeof(legacy), &err), SG_OK);
	set_profiles(fx, profiles, sizeof(profiles) / sizeof(profiles[0]));
	assert_int_equal(add_account(fx, "demo", "IoT Device 1y", 365, good,
	    sizeof(good), &err), SG_OK);

	/* Disabling or the approval mode is no profile change. */
	ed = (struct ra_account_edit){ NULL, 0, 1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", legacy, &ed, &err),
	    SG_OK);
	ed = (struct ra_account_edit){ NULL, 0, -1, 1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", legacy, &ed, &err),
	    SG_OK);
	/* A new term is checked against the (unknown) profile in place. */
	ed = (struct ra_account_edit){ NULL, 365, -1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", legacy, &ed, &err),
	    SG_ENOTFOUND);
	/* A new profile must allow the term the account already has. */
	ed = (struct ra_account_edit){ "IoT Device 1y", 0, -1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", legacy, &ed, &err),
	    SG_EPOLICY);
	assert_non_null(strstr(err.msg, "allowed terms: 365, 730"));
	ed = (struct ra_account_edit){ "IoT Device 1y", 730, -1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", legacy, &ed, &err),
	    SG_OK);
	/* A term the profile does not allow; another kind's profile. */
	ed = (struct ra_account_edit){ NULL, 400, -1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", good, &ed, &err),
	    SG_EPOLICY);
	expect_audit(fx, "account edit", "failure", "allowed terms: 365, 730");
	ed = (struct ra_account_edit){ "Client Cert 1y", 0, -1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", good, &ed, &err),
	    SG_EPOLICY);
	ed = (struct ra_account_edit){ "Device Manual Approval", 0, -1, -1 };
	assert_int_equal(ra_account_edit(fx->ra, "demo", good, &ed, &err),
	    SG_OK);
	set_profiles(fx, NULL, 0);
}

/* ---- org sync ---- */

static void
test_sync_orgs(void **state)
{
	struct ra_cat_dept	 demo_depts[] = {
		{ 12, "Lab" }, { 17, "Lab" }, { 18, "Night Shift" },
	};
	struct ra_cat_dept	 bad_depts[] = { { 14, "X" } };
	struct ra_cat_org	 orgs[] = {
		{ 11, "Demo", demo_depts, 3 },
		{ 13, "Bad, Inc.", bad_depts, 1 },
		{ 15, "", NULL, 0 },		/* too long for the store */
		{ 16, "Acme", NULL, 0 },
		{ 19, "Acme", NULL, 0 },	/* listed twice */
	};
	struct ra_catalog	 cat = { orgs, 5, NULL, 0 };
	struct fx		*fx = *state;
	struct ra_sync_item	*v = NULL;
	struct sg_err		 err = { 0 };
	size_t			 n = 0;

	/* Local only, and never deleted by a sync. */
	assert_int_equal(ra_org_add(fx->ra, "Local Only", &err), SG_OK);
	assert_int_equal(ra_dept_add(fx->ra, "Demo", "Night Shift", &err),
	    SG_OK);
	assert_int_equal(sync_with(fx, &cat, false, &v, &n, &err), SG_OK);
	assert_int_equal(n, 9);
	expect_action(v, n, RA_SYNC_ORG, "", "Demo", RA_SYNC_UPDATED);
	assert_string_equal(item(v, n, RA_SYNC_ORG, "", "Demo")->detail,
	    "SCM id recorded");
	expect_action(v, n, RA_SYNC_DEPT, "Demo", "Lab", RA_SYNC_ADDED);
	expect_action(v, n, RA_SYNC_DEPT, "Demo", "Night Shift",
	    RA_SYNC_UPDATED);
	expect_action(v, n, RA_SYNC_ORG, "", "Bad, Inc.", RA_SYNC_SKIPPED);
	expect_action(v, n, RA_SYNC_DEPT, "Bad, Inc.", "X", RA_SYNC_SKIPPED);
	expect_action(v, n, RA_SYNC_ORG, "", "", RA_SYNC_SKIPPED);
	/* The second "Lab" and "Acme" are skipped, the first ones kept. */
	assert_int_equal(v[2].action, RA_SYNC_SKIPPED);
	assert_int_equal(v[2].scm_id, 17);
	assert_int_equal(v[7].action, RA_SYNC_ADDED);
	assert_int_equal(v[8].action, RA_SYNC_SKIPPED);
	free(v);
	expect_audit(fx, "org sync", "success",
	    "2 added, 2 updated, 0 unchanged, 5 skipped");
	assert_int_equal(org_scm_id(fx, "Demo", NULL), 11);
	assert_int_equal(org_scm_id(fx, "Demo", "Lab"), 12);
	assert_int_equal(org_scm_id(fx, "Demo", "Night Shift"), 18);
	assert_int_equal(org_scm_id(fx, "Acme", NULL), 16);
	assert_int_equal(org_scm_id(fx, "Local Only", NULL), 0);
	assert_int_equal(org_scm_id(fx, "Bad, Inc.", NULL), -1);

	/* Again: nothing to do. Then SCM renumbers "Demo". */
	assert_int_equal(sync_with(fx, &cat, false, &v, &n, &err), SG_OK);
	expect_action(v, n, RA_SYNC_ORG, "", "Demo", RA_SYNC_UNCHANGED);
	expect_action(v, n, RA_SYNC_DEPT, "Demo", "Night Shift",
	    RA_SYNC_UNCHANGED);
	free(v);
	orgs[0].scm_id = 21;
	assert_int_equal(sync_with(fx, &cat, false, &v, &n, &err), SG_OK);
	expect_action(v, n, RA_SYNC_ORG, "", "Demo", RA_SYNC_UPDATED);
	assert_string_equal(item(v, n, RA_SYNC_ORG, "", "Demo")->detail,
	    "SCM id was 11");
	free(v);
	assert_int_equal(org_scm_id(fx, "Demo", NULL), 21);
	assert_int_equal(org_scm_id(fx, "Local Only", NULL), 0);
}

/* ---- profile sync ---- */

static void
test_sync_profiles(void **state)
{
	struct ra_profile	 p[] = {
		{ 7311, "IoT Device 1y", RA_PROFILE_DEVICE, { 365, 730 }, 2 },
		{ 7312, "Manual", RA_PROFILE_DEVICE, { 365 }, 1 },
		{ 7402, "Client Cert 1y", RA_PROFILE_CLIENT, { 365 }, 1 },
		/* Ids are per family: the same number is another profile. */
		{ 7311, "Client 7311", RA_PROFILE_CLIENT, { 30 }, 1 },
	};
	struct ra_catalog	 cat = { NULL, 0, p, 4 };
	struct fx		*fx = *state;
	struct ra_sync_item	*v = NULL;
	struct ra_profile	*list = NULL;
	struct sg_err		 err = { 0 };
	size_t			 n = 0;

	assert_int_equal(sync_with(fx, &cat, true, &v, &n, &err), SG_OK);
	assert_int_equal(n, 4);
	expect_action(v, n, RA_SYNC_DEVICE_PROFILE, "", "IoT Device 1y",
	    RA_SYNC_ADDED);
	assert_string_equal(v[0].detail, "terms 365, 730");
	free(v);
	assert_int_equal(ra_profile_list(fx->ra, &list, &n, &err), SG_OK);
	assert_int_equal(n, 4);
	/* By kind, then name; the terms come back. */
	assert_string_equal(list[0].name, "IoT Device 1y");
	assert_int_equal(list[0].nterms, 2);
	assert_int_equal(list[0].terms[1], 730);
	assert_int_equal(list[3].kind, RA_PROFILE_CLIENT);
	free(list);

	/* SCM renames one, changes the terms of another, drops one. */
	snprintf(p[1].name, sizeof(p[1].name), "Manual Approval");
	p[2].terms[1] = 730;
	p[2].nterms = 2;
	p[3] = p[0];		/* a duplicate id in the same family */
	assert_int_equal(sync_with(fx, &cat, true, &v, &n, &err), SG_OK);
	assert_int_equal(n, 5);
	expect_action(v, n, RA_SYNC_DEVICE_PROFILE, "", "IoT Device 1y",
	    RA_SYNC_UNCHANGED);
	expect_action(v, n, RA_SYNC_DEVICE_PROFILE, "", "Manual Approval",
	    RA_SYNC_UPDATED);
	assert_string_equal(v[1].detail, "was 'Manual'");
	expect_action(v, n, RA_SYNC_CLIENT_PROFILE, "", "Client Cert 1y",
	    RA_SYNC_UPDATED);
	assert_string_equal(v[2].detail, "terms 365, 730 (were 365)");
	assert_int_equal(v[3].action, RA_SYNC_SKIPPED);
	expect_action(v, n, RA_SYNC_CLIENT_PROFILE, "", "Client 7311",
	    RA_SYNC_REMOVED);
	free(v);
	expect_audit(fx, "profile sync", "success",
	    "0 added, 2 updated, 1 unchanged, 1 removed, 1 skipped");
	assert_int_equal(ra_profile_list(fx->ra, &list, &n, &err), SG_OK);
	assert_int_equal(n, 3);
	free(list);

	/* An empty listing would switch the checks off: refused. */
	cat.nprofiles = 0;
	assert_int_equal(sync_with(fx, &cat, true, &v, &n, &err),
	    SG_EUPSTREAM);
	expect_audit(fx, "profile sync", "failure", "lists no profiles");
	assert_int_equal(ra_profile_list(fx->ra, &list, &n, &err), SG_OK);
	assert_int_equal(n, 3);
	free(list);
	set_profiles(fx, NULL, 0);
}

static void
test_summary(void **state)
{
	struct ra_sync_item	v[4] = { 0 };
	char			out[128];

	(void)state;
	ra_sync_summary(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "0 added, 0 updated, 0 unchanged");
	v[0].action = RA_SYNC_ADDED;
	v[1].action = RA_SYNC_UNCHANGED;
	v[2].action = RA_SYNC_UNCHANGED;
	v[3].action = RA_SYNC_REMOVED;
	ra_sync_summary(v, 4, out, sizeof(out));
	assert_string_equal(out, "1 added, 0 updated, 2 unchanged, 1 removed");
	ra_sync_summary(v, 4, out, 10);
	assert_string_equal(out, "1 added, ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_no_catalogue),
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_check_edit),
		cmocka_unit_test(test_sync_orgs),
		cmocka_unit_test(test_sync_profiles),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
