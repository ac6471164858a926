/*
 * The upstream's catalogue in the store (issue #4). "scepctl org sync"
 * and "profile sync" copy SCM's organizations, departments and profiles
 * (reference/scm-rest-api.md 3.1, 3.2); account add and edit then check
 * an account's profile and term against the copy, so that a typo fails
 * at once instead of at the first enrollment (SCM's -36, -39, -5109,
 * -172). Before any profile sync nothing is checked: the local CA takes
 * free-text profiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ra_int.h"

#define NWORDS(a)	(sizeof(a) / sizeof((a)[0]))


void
ra_sync_summary(const struct ra_sync_item *v, size_t n, char *out,
    size_t outsz)
{
	size_t	count[RA_SYNC_SKIPPED + 1] = { 0 };
	size_t	i, off = 0;

	for (i = 0; i < n; i++)
		if ((size_t)v[i].action < NWORDS(count))
			count[v[i].action]++;
	out[0] = '\0';
	/* Added, updated and unchanged always; removed, skipped if any. */
	for (i = 0; i < NWORDS(count) && off < outsz; i++)
		if (i <= RA_SYNC_UNCHANGED || count[i] > 0)
			off += (size_t)snprintf(out + off, outsz - off,
			    "%s%zu %s", off > 0 ? ", " : "", count[i],
			    ra_sync_action_name((enum ra_sync_action)i));
}

/* "365, 730", or "any" for a profile that lists no terms. */
static void
terms_words(const struct ra_profile *p, char *out, size_t outsz)
{
	size_t	i, off = 0;

	snprintf(out, outsz, "any");
	for (i = 0; i < p->nterms && off < outsz; i++)
		off += (size_t)snprintf(out + off, outsz - off, "%s%d",
		    i > 0 ? ", " : "", p->terms[i]);
}

/* ---- the sync ---- */

/* The growing result of a sync. */
struct items {
	struct ra_sync_item	*v;
	size_t			 n;
};

/* A new entry, or NULL when out of memory. */
static struct ra_sync_item *
item_new(struct items *it, enum ra_sync_kind kind, int64_t scm_id,
    const char *org, const char *name)
{
	struct ra_sync_item	*v;

	if ((v = reallocarray(it->v, it->n + 1, sizeof(*v))) == NULL)
		return NULL;
	it->v = v;
	v = &it->v[it->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->scm_id = scm_id;
	snprintf(v->org, sizeof(v->org), "%s", org);
	snprintf(v->name, sizeof(v->name), "%s", name);
	return v;
}

/*
 * Entries the store cannot take: a name that is too long (the parser
 * left it ""), one that scepctl could not type ("strict": organization
 * and department names follow ra_policy_name_ok), or a second entry
 * with the same key at the upstream.
 */
static bool
skipped(struct ra_sync_item *item, bool strict, bool dup)
{
	const char	*why = NULL;

	if (item->name[0] == '\0')
		why = "the name is longer than 127 bytes";
	else if (strict && !ra_policy_name_ok(item->name))
		why = "the name has characters other than letters, digits, "
		    "spaces and . _ - @";
	else if (dup)
		why = "the upstream lists it twice";
	if (why == NULL)
		return false;
	item->action = RA_SYNC_SKIPPED;
	snprintf(item->detail, sizeof(item->detail), "%s", why);
	return true;
}

static const struct ra_org *
org_find(const struct ra_org *v, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/*
 * One organization or department, matched by name with "local" (the
 * stored ones at the same level): add it, record its upstream id, or
 * leave it. Nothing is ever deleted: accounts refer to them.
 */
static enum sg_rc
sync_one(struct ra *ra, struct ra_sync_item *item, const struct ra_org *local,
    size_t nlocal, struct sg_err *err)
{
	const struct ra_org	*o = org_find(local, nlocal, item->name);
	bool			 dept = item->kind == RA_SYNC_DEPT;
	const char		*org = dept ? item->org : item->name;

	if (o == NULL) {
		item->action = RA_SYNC_ADDED;
		return ra_store_org_add(ra->store, org, dept ? item->name :
		    NULL, item->scm_id, err);
	}
	if (o->scm_id == item->scm_id) {
		item->action = RA_SYNC_UNCHANGED;
		return SG_OK;
	}
	item->action = RA_SYNC_UPDATED;
	if (o->scm_id == 0)
		snprintf(item->detail, sizeof(item->detail), "SCM id recorded");
	else
		snprintf(item->detail, sizeof(item->detail), "SCM id was %lld",
		    (long long)o->scm_id);
	return ra_store_org_set_scm(ra->store, org, dept ? item->name : NULL,
	    item->scm_id, err);
}

static bool
dept_dup(const struct ra_cat_org *o, size_t j)
{
	size_t	i;

	for (i = 0; i < j; i++)
		if (strcmp(o->depts[i].name, o->depts[j].name) == 0)
			return true;
	return false;
}

/* The departments of "o"; all skipped when "o" itself was. */
static enum sg_rc
sync_depts(struct ra *ra, const struct ra_cat_org *o, bool skip_all,
    struct items *it, struct sg_err *err)
{
	struct ra_sync_item	*item;
	struct ra_org		*local = NULL;
	size_t			 nlocal = 0, j;
	enum sg_rc		 rc = SG_OK;

	if (!skip_all && (rc = ra_store_org_list(ra->store, o->name, true,
	    &local, &nlocal, err)) != SG_OK)
		return rc;
	for (j = 0; rc == SG_OK && j < o->ndepts; j++) {
		item = item_new(it, RA_SYNC_DEPT, o->depts[j].scm_id, o->name,
		    o->depts[j].name);
		if (item == NULL)
			rc = sg_err_set(err, SG_ENOMEM, "catalogue sync");
		else if (skip_all) {
			item->action = RA_SYNC_SKIPPED;
			snprintf(item->detail, sizeof(item->detail), "its "
			    "organization was skipped");
		} else if (!skipped(item, true, dept_dup(o, j)))
			rc = sync_one(ra, item, local, nlocal, err);
	}
	free(local);
	return rc;
}

static bool
org_dup(const struct ra_catalog *cat, size_t j)
{
	size_t	i;

	for (i = 0; i < j; i++)
		if (strcmp(cat->orgs[i].name, cat->orgs[j].name) == 0)
			return true;
	return false;
}

static enum sg_rc
sync_orgs(struct ra *ra, const struct ra_catalog *cat, struct items *it,
    struct sg_err *err)
{
	const struct ra_cat_org	*o;
	struct ra_sync_item	*item;
	struct ra_org		*local = NULL;
	size_t			 nlocal = 0, i;
	bool			 skip;
	enum sg_rc		 rc;

	if ((rc = ra_store_org_list(ra->store, NULL, false, &local, &nlocal,
	    err)) != SG_OK)
		return rc;
	for (i = 0; rc == SG_OK && i < cat->norgs; i++) {
		o = &cat->orgs[i];
		if ((item = item_new(it, RA_SYNC_ORG, o->scm_id, "",
		    o->name)) == NULL) {
			rc = sg_err_set(err, SG_ENOMEM, "catalogue sync");
			break;
		}
		skip = skipped(item, true, org_dup(cat, i));
		if (!skip)
			rc = sync_one(ra, item, local, nlocal, err);
		if (rc == SG_OK)
			rc = sync_depts(ra, o, skip, it, err);
	}
	free(local);
	return rc;
}

static const struct ra_profile *
profile_find(const struct ra_profile *v, size_t n, enum ra_profile_kind kind,
    int64_t scm_id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i].kind == kind && v[i].scm_id == scm_id)
			return &v[i];
	return NULL;
}

/* What changed between the stored copy "old" (or none) and "p". */
static void
profile_diff(struct ra_sync_item *item, const struct ra_profile *p,
    const struct ra_profile *old)
{
	char	now[RA_TERMS_MAX * 13], was[RA_TERMS_MAX * 13];

	terms_words(p, now, sizeof(now));
	item->action = RA_SYNC_UPDATED;
	if (old == NULL) {
		item->action = RA_SYNC_ADDED;
		snprintf(item->detail, sizeof(item->detail), "terms %s", now);
	} else if (strcmp(old->name, p->name) != 0) {
		snprintf(item->detail, sizeof(item->detail), "was '%s'",
		    old->name);
	} else if (old->nterms != p->nterms || memcmp(old->terms, p->terms,
	    p->nterms * sizeof(p->terms[0])) != 0) {
		terms_words(old, was, sizeof(was));
		snprintf(item->detail, sizeof(item->detail), "terms %s (were "
		    "%s)", now, was);
	} else
		item->action = RA_SYNC_UNCHANGED;
}

static enum ra_sync_kind
profile_sync_kind(enum ra_profile_kind k)
{
	return k == RA_PROFILE_CLIENT ? RA_SYNC_CLIENT_PROFILE :
	    RA_SYNC_DEVICE_PROFILE;
}

/* Report the stored profiles that the upstream no longer lists. */
static enum sg_rc
profiles_gone(const struct ra_profile *old, size_t nold,
    const struct ra_profile *keep, size_t nkeep, struct items *it,
    struct sg_err *err)
{
	struct ra_sync_item	*item;
	size_t			 i;

	for (i = 0; i < nold; i++) {
		if (profile_find(keep, nkeep, old[i].kind, old[i].scm_id) !=
		    NULL)
			continue;
		if ((item = item_new(it, profile_sync_kind(old[i].kind),
		    old[i].scm_id, "", old[i].name)) == NULL)
			return sg_err_set(err, SG_ENOMEM, "catalogue sync");
		item->action = RA_SYNC_REMOVED;
		snprintf(item->detail, sizeof(item->detail), "no longer at "
		    "the upstream");
	}
	return SG_OK;
}

/*
 * The profile table becomes a copy of the upstream's: profiles are only
 * read by the checks below, so one that SCM dropped goes too. An empty
 * listing (an admin without the privilege?) changes nothing, since it
 * would silently switch the checks off.
 */
static enum sg_rc
sync_profiles(struct ra *ra, const struct ra_catalog *cat, struct items *it,
    struct sg_err *err)
{
	const struct ra_profile	*p;
	struct ra_sync_item	*item;
	struct ra_profile	*old = NULL, *keep = NULL;
	size_t			 nold = 0, nkeep = 0, i;
	enum sg_rc		 rc;

	if (cat->nprofiles == 0)
		return sg_err_set(err, SG_EUPSTREAM, "the upstream lists no "
		    "profiles (check the SCM admin's privileges); the profile "
		    "table is left as it was");
	if ((rc = ra_store_profile_list(ra->store, &old, &nold, err)) != SG_OK)
		return rc;
	if ((keep = calloc(cat->nprofiles, sizeof(*keep))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "catalogue sync");
		goto out;
	}
	for (i = 0; i < cat->nprofiles; i++) {
		p = &cat->profiles[i];
		if ((item = item_new(it, profile_sync_kind(p->kind), p->scm_id,
		    "", p->name)) == NULL) {
			rc = sg_err_set(err, SG_ENOMEM, "catalogue sync");
			goto out;
		}
		if (skipped(item, false, profile_find(keep, nkeep, p->kind,
		    p->scm_id) != NULL))
			continue;
		profile_diff(item, p, profile_find(old, nold, p->kind,
		    p->scm_id));
		keep[nkeep++] = *p;
	}
	if ((rc = profiles_gone(old, nold, keep, nkeep, it, err)) == SG_OK)
		rc = ra_store_profile_replace(ra->store, keep, nkeep, err);
out:
	free(keep);
	free(old);
	return rc;
}

enum sg_rc
ra_catalog_sync(struct ra *ra, bool profiles, struct ra_sync_item **out,
    size_t *n, struct sg_err *err)
{
	struct ra_catalog	cat = { 0 };
	struct items		it = { 0 };
	char			details[128] = "";
	enum sg_rc		rc;

	if (ra->up->ops->catalog == NULL) {
		rc = sg_err_set(err, SG_ECONF, "the %s upstream has no "
		    "catalogue: org sync and profile sync need upstream.type "
		    "= \"scm\"", ra->up->ops->name);
		goto out;
	}
	if ((rc = ra->up->ops->catalog(ra->up, &cat, err)) != SG_OK)
		goto out;
	if (profiles)
		rc = sync_profiles(ra, &cat, &it, err);
	else
		rc = sync_orgs(ra, &cat, &it, err);
	/* Even a sync that failed half-way says what it did. */
	ra_sync_summary(it.v, it.n, details, sizeof(details));
	if (rc == SG_OK) {
		sg_log(SG_LOG_INFO, "%s sync: %s", profiles ? "profile" : "org",
		    details);
		*out = it.v;
		*n = it.n;
		it.v = NULL;
	}
out:
	ra_audit_admin(ra, profiles ? "profile sync" : "org sync", NULL, NULL,
	    rc, err, details[0] != '\0' ? details : NULL);
	ra_catalog_free(&cat);
	free(it.v);
	return rc;
}

enum sg_rc
ra_profile_list(struct ra *ra, struct ra_profile **out, size_t *n,
    struct sg_err *err)
{
	return ra_store_profile_list(ra->store, out, n, err);
}

/* ---- the account check ---- */

/* Does "profile" name "p": its name, or its upstream id in decimal? */
static bool
profile_is(const struct ra_profile *p, const char *profile)
{
	char	id[24];

	snprintf(id, sizeof(id), "%lld", (long long)p->scm_id);
	return strcmp(p->name, profile) == 0 || strcmp(id, profile) == 0;
}

static const struct ra_profile *
profile_named(const struct ra_profile *v, size_t n, enum ra_profile_kind kind,
    const char *profile)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i].kind == kind && profile_is(&v[i], profile))
			return &v[i];
	return NULL;
}

static bool
term_ok(const struct ra_profile *p, int term_days)
{
	size_t	i;

	for (i = 0; i < p->nterms; i++)
		if (p->terms[i] == term_days)
			return true;
	return p->nterms == 0;
}

/* The check itself, on the synced profiles "v" (n > 0). */
static enum sg_rc
check(const struct ra_profile *v, size_t n, const struct ra_endpoint *ep,
    const char *profile, int term_days, struct sg_err *err)
{
	enum ra_profile_kind	 kind = RA_PROFILE_DEVICE, other;
	const struct ra_profile	*p;
	char			 terms[RA_TERMS_MAX * 13];

	if (ep->type == RA_EP_CLIENT || ep->type == RA_EP_CLIENT_INTUNE)
		kind = RA_PROFILE_CLIENT;
	other = kind == RA_PROFILE_CLIENT ? RA_PROFILE_DEVICE :
	    RA_PROFILE_CLIENT;
	if (profile[0] == '\0')
		return sg_err_set(err, SG_EPOLICY, "endpoint '%s' needs a %s "
		    "profile: give --profile (scepctl profile list)", ep->name,
		    ra_profile_kind_name(kind));
	if ((p = profile_named(v, n, kind, profile)) != NULL) {
		if (term_ok(p, term_days))
			return SG_OK;
		terms_words(p, terms, sizeof(terms));
		return sg_err_set(err, SG_EPOLICY, "profile '%s' does not "
		    "allow a term of %d days; allowed terms: %s", p->name,
		    term_days, terms);
	}
	if ((p = profile_named(v, n, other, profile)) != NULL)
		return sg_err_set(err, SG_EPOLICY, "profile '%s' is a %s "
		    "profile, but endpoint '%s' issues %s certificates: pick "
		    "a %s profile (scepctl profile list)", p->name,
		    ra_profile_kind_name(other), ep->name,
		    ra_profile_kind_name(kind), ra_profile_kind_name(kind));
	return sg_err_set(err, SG_ENOTFOUND, "no %s profile '%s' at the "
	    "upstream: run scepctl profile sync if it is new there "
	    "(scepctl profile list shows the known ones)",
	    ra_profile_kind_name(kind), profile);
}

enum sg_rc
ra_catalog_check(struct ra *ra, const struct ra_endpoint *ep,
    const char *profile, int term_days, struct sg_err *err)
{
	struct ra_profile	*v = NULL;
	size_t			 n = 0;
	enum sg_rc		 rc;

	rc = ra_store_profile_list(ra->store, &v, &n, err);
	if (rc == SG_OK && n > 0)
		rc = check(v, n, ep, profile, term_days, err);
	free(v);
	return rc;
}
