/*
 * The admin API behind scepctl: organizations, departments, endpoints,
 * accounts and RA certificates. Validation, the store, and an audit
 * record for every change (DESIGN.md: admin data is audited).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ra_int.h"
#include "ra_json.h"
#include "ra_policy.h"
#include "ra_webhook.h"


static enum sg_rc
check_name(const char *what, const char *name, struct sg_err *err)
{
	if (strlen(name) >= RA_NAME_MAX)
		return sg_err_set(err, SG_EPOLICY, "%s name of %zu bytes is "
		    "too long: at most %d", what, strlen(name),
		    RA_NAME_MAX - 1);
	if (!ra_policy_name_ok(name))
		return sg_err_set(err, SG_EPOLICY, "%s name '%s': use 1 to %d "
		    "letters, digits, spaces and . _ - @", what, name,
		    RA_NAME_MAX - 1);
	return SG_OK;
}

enum sg_rc
ra_org_add(struct ra *ra, const char *name, struct sg_err *err)
{
	enum sg_rc	rc;

	if ((rc = check_name("organization", name, err)) == SG_OK)
		rc = ra_store_org_add(ra->store, name, NULL, 0, err);
	ra_audit_admin(ra, "org add", NULL, NULL, rc, err, name);
	return rc;
}

enum sg_rc
ra_org_list(struct ra *ra, struct ra_org **out, size_t *n,
    struct sg_err *err)
{
	return ra_store_org_list(ra->store, NULL, false, out, n, err);
}

enum sg_rc
ra_dept_add(struct ra *ra, const char *org, const char *name,
    struct sg_err *err)
{
	char		details[2 * RA_NAME_MAX + 2];
	enum sg_rc	rc;

	if ((rc = check_name("department", name, err)) == SG_OK)
		rc = ra_policy_hint(ra_store_org_add(ra->store, org, name, 0,
		    err), "scepctl org add", err);
	snprintf(details, sizeof(details), "%s/%s", org, name);
	ra_audit_admin(ra, "dept add", NULL, NULL, rc, err, details);
	return rc;
}

enum sg_rc
ra_dept_list(struct ra *ra, const char *org, struct ra_org **out, size_t *n,
    struct sg_err *err)
{
	return ra_store_org_list(ra->store, org, true, out, n, err);
}

/* Does organization "org" (and its department "dept", if any) exist? */
static enum sg_rc
org_exists(struct ra *ra, const char *org, const char *dept,
    struct sg_err *err)
{
	struct ra_org	*list = NULL;
	size_t		 n = 0, i;
	bool		 found = false;
	enum sg_rc	 rc;

	if ((rc = ra_store_org_list(ra->store, org, dept[0] != '\0', &list, &n,
	    err)) != SG_OK)
		return rc;
	for (i = 0; i < n && !found; i++)
		found = strcmp(dept[0] != '\0' ? list[i].org : list[i].name,
		    org) == 0 && (dept[0] == '\0' ||
		    strcmp(list[i].name, dept) == 0);
	free(list);
	if (!found)
		return sg_err_set(err, SG_ENOTFOUND, "organization '%s%s%s' "
		    "does not exist (scepctl org add, dept add)", org,
		    dept[0] ? "/" : "", dept);
	return SG_OK;
}

/*
 * The name policy of an endpoint (docs/names.md): SAN types default to
 * RA_SAN_DEFAULT, "none" stands alone, the pattern must be valid.
 */
static enum sg_rc
check_names(struct ra_endpoint *ep, struct sg_err *err)
{
	if (ep->san_types == 0)
		ep->san_types = RA_SAN_DEFAULT;
	if ((ep->san_types & RA_SAN_NONE) && ep->san_types != RA_SAN_NONE)
		return sg_err_set(err, SG_EPOLICY, "SAN types: 'none' "
		    "excludes every other type");
	if (!ra_policy_pattern_ok(ep->name_pattern))
		return sg_err_set(err, SG_EPOLICY, "name pattern '%s': globs "
		    "of letters, digits and . - _ @ * ? [ ] !, separated by "
		    "commas, at most %d bytes", ep->name_pattern,
		    RA_PATTERN_MAX - 1);
	return SG_OK;
}

/* URI extensions: one path segment of URL-safe characters. */
static bool
uri_ok(const char *uri)
{
	size_t	len = strlen(uri);

	return len > 0 && len < RA_NAME_MAX && strspn(uri,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	    "._-") == len && strcmp(uri, "pkiclient.exe") != 0 &&
	    uri[0] != '.';
}

enum sg_rc
ra_endpoint_add(struct ra *ra, struct ra_endpoint *ep, struct sg_err *err)
{
	enum sg_rc	rc;

	if ((rc = check_name("endpoint", ep->name, err)) != SG_OK)
		goto out;
	if (!uri_ok(ep->uri)) {
		rc = sg_err_set(err, SG_EPOLICY, "URI extension '%s': use "
		    "letters, digits, '.', '_' and '-'", ep->uri);
		goto out;
	}
	if (ep->ra_id[0] == '\0' && ra->keys.nra > 0)
		snprintf(ep->ra_id, sizeof(ep->ra_id), "%s", ra->keys.ra[0].id);
	if (ra_keys_find(&ra->keys, ep->ra_id) == NULL ||
	    (ep->ra_enc_id[0] != '\0' &&
	    ra_keys_find(&ra->keys, ep->ra_enc_id) == NULL)) {
		rc = sg_err_set(err, SG_ENOTFOUND, "RA certificate '%s' is not "
		    "in the configuration (see 'ra' in %s)",
		    ra_keys_find(&ra->keys, ep->ra_id) == NULL ? ep->ra_id :
		    ep->ra_enc_id, ra->conf->path);
		goto out;
	}
	if (ep->type == RA_EP_DEVICE_INTUNE || ep->type == RA_EP_CLIENT_INTUNE) {
		if (ep->org[0] == '\0' || ep->term_days < 1) {
			rc = sg_err_set(err, SG_EPOLICY, "Intune endpoints need "
			    "an organization and a term");
			goto out;
		}
		if ((rc = org_exists(ra, ep->org, ep->dept, err)) != SG_OK)
			goto out;
	}
	/* Defaults of the CSR policy: RSA >= 2048 or EC, any string. */
	if (ep->min_rsa_bits == 0)
		ep->min_rsa_bits = 2048;
	if (ep->key_types == 0)
		ep->key_types = RA_KEY_RSA | RA_KEY_EC;
	if (ep->challenge_types == 0)
		ep->challenge_types = RA_CHAL_PRINTABLE | RA_CHAL_UTF8 |
		    RA_CHAL_BMP | RA_CHAL_OTHER;
	if (ep->min_rsa_bits < 1024 || ep->min_rsa_bits > 16384) {
		rc = sg_err_set(err, SG_EPOLICY, "minimum RSA size %d: use "
		    "1024 to 16384", ep->min_rsa_bits);
		goto out;
	}
	if (ep->renewal_days < 0 || ep->renewal_days > 3650) {
		rc = sg_err_set(err, SG_EPOLICY, "renewal window %d: use 0 to "
		    "3650 days", ep->renewal_days);
		goto out;
	}
	if ((rc = check_names(ep, err)) != SG_OK ||
	    (rc = ra_webhook_check(ep, err)) != SG_OK)
		goto out;
	rc = ra_store_endpoint_add(ra->store, ep, err);
out:
	ra_audit_admin(ra, "endpoint add", ep->name, NULL, rc, err, ep->uri);
	return rc;
}

enum sg_rc
ra_endpoint_get(struct ra *ra, const char *name, struct ra_endpoint *ep,
    struct sg_err *err)
{
	return ra_store_endpoint_get(ra->store, name, false, ep, err);
}

enum sg_rc
ra_endpoint_list(struct ra *ra, struct ra_endpoint **out, size_t *n,
    struct sg_err *err)
{
	return ra_store_endpoint_list(ra->store, out, n, err);
}

enum sg_rc
ra_endpoint_delete(struct ra *ra, const char *name, bool force,
    struct sg_err *err)
{
	enum sg_rc	rc;

	if ((rc = ra_policy_endpoint_delete(ra, name, force, err)) == SG_OK)
		rc = ra_store_endpoint_delete(ra->store, name, err);
	ra_audit_admin(ra, "endpoint delete", name, NULL, rc, err,
	    force ? "forced" : NULL);
	return rc;
}

void
ra_endpoint_url(const struct ra *ra, const struct ra_endpoint *ep,
    char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/scep/%s", ra->conf->base_url, ep->uri);
}

enum sg_rc
ra_account_add(struct ra *ra, struct ra_account *acct, const char *code,
    char *code_out, struct sg_err *err)
{
	struct ra_endpoint	ep;
	char			gen[RA_CODE_MAX + 1];
	uint8_t			mac[32];
	enum sg_rc		rc;

	if ((rc = check_name("account", acct->name, err)) != SG_OK)
		goto out;
	if ((rc = ra_store_endpoint_get(ra->store, acct->endpoint, false, &ep,
	    err)) != SG_OK)
		goto out;
	if (ep.type == RA_EP_DEVICE_INTUNE || ep.type == RA_EP_CLIENT_INTUNE) {
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' is an Intune "
		    "endpoint: it has no accounts", ep.name);
		goto out;
	}
	if (acct->term_days < 1 || acct->term_days > 3650) {
		rc = sg_err_set(err, SG_EPOLICY, "term %d: use 1 to 3650 days",
		    acct->term_days);
		goto out;
	}
	if ((rc = ra_catalog_check(ra, &ep, acct->profile, acct->term_days,
	    err)) != SG_OK)
		goto out;
	if ((rc = ra_policy_account_place(ra, &ep, acct->org, acct->dept,
	    err)) != SG_OK)
		goto out;
	if (code == NULL) {
		if ((rc = ra_policy_gen_code(gen, sizeof(gen))) != SG_OK) {
			(void)sg_err_set(err, rc, "cannot generate an access code");
			goto out;
		}
		code = gen;
	} else if (!ra_policy_code_ok(code)) {
		/* Never echo the code itself (DESIGN.md: secrets). */
		rc = sg_err_set(err, SG_EPOLICY, "access code: use 8 to %d "
		    "letters and digits (Windows needs a PrintableString)",
		    RA_CODE_MAX);
		goto out;
	}
	if ((rc = ra_keys_code_hmac(&ra->keys, code, mac)) != SG_OK) {
		(void)sg_err_set(err, rc, "access code");
		goto out;
	}
	if ((rc = ra_store_account_add(ra->store, acct, mac, err)) != SG_OK)
		goto out;
	snprintf(code_out, RA_CODE_MAX + 1, "%s", code);
out:
	OPENSSL_cleanse(gen, sizeof(gen));
	ra_audit_admin(ra, "account add", acct->endpoint, acct->name, rc, err,
	    NULL);
	return rc;
}

enum sg_rc
ra_account_list(struct ra *ra, const char *endpoint, struct ra_account **out,
    size_t *n, struct sg_err *err)
{
	struct ra_endpoint	ep;
	enum sg_rc		rc;

	if ((rc = ra_store_endpoint_get(ra->store, endpoint, false, &ep,
	    err)) != SG_OK)
		return rc;
	return ra_store_account_list(ra->store, endpoint, out, n, err);
}

enum sg_rc
ra_account_delete(struct ra *ra, const char *endpoint, const char *name,
    struct sg_err *err)
{
	enum sg_rc	rc;

	rc = ra_store_account_delete(ra->store, endpoint, name, err);
	ra_audit_admin(ra, "account delete", endpoint, name, rc, err, NULL);
	return rc;
}

enum sg_rc
ra_endpoint_update(struct ra *ra, struct ra_endpoint *ep, struct sg_err *err)
{
	struct ra_endpoint	cur;
	enum sg_rc		rc;

	if ((rc = ra_store_endpoint_get(ra->store, ep->name, false, &cur,
	    err)) != SG_OK)
		goto out;
	if (ep->type != cur.type) {
		rc = sg_err_set(err, SG_EPOLICY, "the type of an endpoint is "
		    "fixed at creation; create a new endpoint instead");
		goto out;
	}
	if (!uri_ok(ep->uri)) {
		rc = sg_err_set(err, SG_EPOLICY, "URI extension '%s': use "
		    "letters, digits, '.', '_' and '-'", ep->uri);
		goto out;
	}
	if (ra_keys_find(&ra->keys, ep->ra_id) == NULL ||
	    (ep->ra_enc_id[0] != '\0' &&
	    ra_keys_find(&ra->keys, ep->ra_enc_id) == NULL)) {
		rc = sg_err_set(err, SG_ENOTFOUND, "RA certificate not in the "
		    "configuration (scepctl ra list)");
		goto out;
	}
	if (ep->min_rsa_bits < 1024 || ep->min_rsa_bits > 16384 ||
	    ep->renewal_days < 0 || ep->renewal_days > 3650) {
		rc = sg_err_set(err, SG_EPOLICY, "minimum RSA size 1024..16384, "
		    "renewal window 0..3650 days");
		goto out;
	}
	/* Organization and department of an Intune endpoint are fixed. */
	if (strcmp(ep->org, cur.org) != 0 || strcmp(ep->dept, cur.dept) != 0) {
		rc = sg_err_set(err, SG_EPOLICY, "organization and department "
		    "are fixed once the endpoint exists");
		goto out;
	}
	if ((rc = check_names(ep, err)) != SG_OK ||
	    (rc = ra_webhook_check(ep, err)) != SG_OK)
		goto out;
	ep->id = cur.id;
	ep->created = cur.created;
	ep->delegated = cur.delegated;
	rc = ra_store_endpoint_update(ra->store, ep, err);
out:
	ra_audit_admin(ra, "endpoint edit", ep->name, NULL, rc, err, NULL);
	return rc;
}

enum sg_rc
ra_endpoint_delegate(struct ra *ra, const char *name, bool general,
    const struct ra_deleg *d, size_t n, struct sg_err *err)
{
	char		details[512];
	size_t		i, off;
	enum sg_rc	rc;

	if (!general && n == 0)
		rc = sg_err_set(err, SG_EPOLICY, "give --general, or at least "
		    "one --org ORG[/DEPT]");
	else
		rc = ra_store_delegate(ra->store, name, general, d,
		    general ? 0 : n, err);
	off = (size_t)snprintf(details, sizeof(details), "%s",
	    general ? "general" : "customized:");
	for (i = 0; !general && i < n && off < sizeof(details); i++)
		off += (size_t)snprintf(details + off, sizeof(details) - off,
		    " %s%s%s", d[i].org, d[i].dept[0] ? "/" : "", d[i].dept);
	ra_audit_admin(ra, "endpoint delegate", name, NULL, rc, err, details);
	return rc;
}

enum sg_rc
ra_endpoint_delegations(struct ra *ra, const char *name,
    struct ra_deleg **out, size_t *n, struct sg_err *err)
{
	return ra_store_delegations(ra->store, name, out, n, err);
}

enum sg_rc
ra_account_get(struct ra *ra, const char *endpoint, const char *name,
    struct ra_account *a, struct sg_err *err)
{
	return ra_store_account_by_name(ra->store, endpoint, name, a, err);
}

enum sg_rc
ra_account_edit(struct ra *ra, const char *endpoint, const char *name,
    const struct ra_account_edit *ed, struct sg_err *err)
{
	struct ra_account	a;
	struct ra_endpoint	ep;
	char			details[64] = "";
	enum sg_rc		rc;

	if ((rc = ra_store_account_by_name(ra->store, endpoint, name, &a,
	    err)) != SG_OK)
		goto out;
	if (ed->profile != NULL && strlen(ed->profile) >= sizeof(a.profile)) {
		rc = sg_err_set(err, SG_EPOLICY, "profile name of %zu bytes is "
		    "too long: at most %zu", strlen(ed->profile),
		    sizeof(a.profile) - 1);
		goto out;
	}
	if (ed->profile != NULL)
		snprintf(a.profile, sizeof(a.profile), "%s", ed->profile);
	if (ed->term_days != 0) {
		if (ed->term_days < 1 || ed->term_days > 3650) {
			rc = sg_err_set(err, SG_EPOLICY, "term %d: use 1 to "
			    "3650 days", ed->term_days);
			goto out;
		}
		a.term_days = ed->term_days;
	}
	/* Only a new profile or term is checked: disabling always works. */
	if (ed->profile != NULL || ed->term_days != 0) {
		if ((rc = ra_store_endpoint_get(ra->store, endpoint, false,
		    &ep, err)) != SG_OK)
			goto out;
		if ((rc = ra_catalog_check(ra, &ep, a.profile, a.term_days,
		    err)) != SG_OK)
			goto out;
	}
	if (ed->disabled >= 0)
		a.disabled = ed->disabled != 0;
	if (ed->manual >= 0)
		a.manual = ed->manual != 0;
	snprintf(details, sizeof(details), "%s%s",
	    ed->disabled == 1 ? "disabled" : ed->disabled == 0 ? "enabled" : "",
	    ed->manual == 1 ? " approval=manual" : ed->manual == 0 ?
	    " approval=auto" : "");
	rc = ra_store_account_update(ra->store, &a, NULL, err);
out:
	ra_audit_admin(ra, "account edit", endpoint, name, rc, err, details);
	return rc;
}

enum sg_rc
ra_account_rotate_code(struct ra *ra, const char *endpoint, const char *name,
    char *code_out, struct sg_err *err)
{
	struct ra_account	a;
	char			code[RA_CODE_MAX + 1];
	uint8_t			mac[32];
	enum sg_rc		rc;

	if ((rc = ra_store_account_by_name(ra->store, endpoint, name, &a,
	    err)) != SG_OK)
		goto out;
	if ((rc = ra_policy_gen_code(code, sizeof(code))) != SG_OK ||
	    (rc = ra_keys_code_hmac(&ra->keys, code, mac)) != SG_OK) {
		(void)sg_err_set(err, rc, "cannot generate an access code");
		goto out;
	}
	if ((rc = ra_store_account_update(ra->store, &a, mac, err)) == SG_OK)
		snprintf(code_out, RA_CODE_MAX + 1, "%s", code);
out:
	OPENSSL_cleanse(code, sizeof(code));
	ra_audit_admin(ra, "account rotate-code", endpoint, name, rc, err, NULL);
	return rc;
}

enum sg_rc
ra_racert_list(struct ra *ra, struct ra_racert **out, size_t *n,
    struct sg_err *err)
{
	struct ra_endpoint	*eps = NULL;
	struct ra_racert	*arr;
	size_t			 neps = 0, i, j, off;
	enum sg_rc		 rc;

	if ((rc = ra_store_endpoint_list(ra->store, &eps, &neps, err)) !=
	    SG_OK)
		return rc;
	if ((arr = calloc(ra->keys.nra + 1, sizeof(*arr))) == NULL) {
		free(eps);
		return sg_err_set(err, SG_ENOMEM, "RA certificates");
	}
	for (i = 0; i < ra->keys.nra; i++) {
		ra_keys_describe(&ra->keys.ra[i], &arr[i]);
		off = 0;
		for (j = 0; j < neps && off < sizeof(arr[i].endpoints); j++) {
			if (strcmp(eps[j].ra_id, arr[i].id) != 0 &&
			    strcmp(eps[j].ra_enc_id, arr[i].id) != 0)
				continue;
			off += (size_t)snprintf(arr[i].endpoints + off,
			    sizeof(arr[i].endpoints) - off, "%s%s",
			    off ? "," : "", eps[j].name);
		}
	}
	free(eps);
	*out = arr;
	*n = ra->keys.nra;
	return SG_OK;
}

const char *
ra_racert_pem(struct ra *ra, const char *id)
{
	const struct ra_key	*rk = ra_keys_find(&ra->keys, id);

	return rk != NULL ? ra_cacert_of(ra, rk)->pem : NULL;
}

/* ---- the endpoint's JSON shape with what it reads (ra_json.h) ---- */

json_t *
ra_endpoint_json(struct ra *ra, const struct ra_endpoint *ep)
{
	struct ra_deleg	*d = NULL;
	struct sg_err	 err;
	char		 url[512];
	size_t		 n = 0;
	json_t		*v;

	ra_endpoint_url(ra, ep, url, sizeof(url));
	if (ep->delegated && ra_endpoint_delegations(ra, ep->name, &d, &n,
	    &err) != SG_OK)
		n = 0;
	v = ra_json_endpoint(ep, url, d, n);
	free(d);
	return v;
}

json_t *
ra_endpoint_json_list(struct ra *ra, const struct ra_endpoint *eps,
    size_t n)
{
	json_t	*arr, *v;
	size_t	 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((v = ra_endpoint_json(ra, &eps[i])) == NULL ||
		    json_array_append_new(arr, v) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
