/*
 * The JSON shapes shared by scepctl --json and the admin API (ra_json.h,
 * docs/scepctl-json.md): one encoder per object, the words of the
 * endpoint's bit sets, the audit CSV and the time words. Pure: it calls
 * nothing else of ra/ but ra_names.c, so every file may call it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra_json.h"

void
ra_json_time(int64_t t, char *out, size_t outsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return;
	if (strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

bool
ra_json_time_parse(const char *s, int64_t *out)
{
	struct tm	 tm;
	const char	*end;
	long		 v;

	if (sg_parse_long(s, 0, LONG_MAX, &v)) {
		*out = v;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return false;
	}
	*out = (int64_t)timegm(&tm);
	return true;
}

/* ---- the endpoint's bit sets ---- */

struct bitword {
	const char	*word;
	int		 bit;
};

static const struct bitword key_words[] = {
	{ "rsa", RA_KEY_RSA }, { "ec", RA_KEY_EC }, { NULL, 0 },
};
static const struct bitword chal_words[] = {
	{ "printable", RA_CHAL_PRINTABLE }, { "utf8", RA_CHAL_UTF8 },
	{ "bmp", RA_CHAL_BMP }, { "other", RA_CHAL_OTHER }, { NULL, 0 },
};
static const struct bitword san_words[] = {
	{ "dns", RA_SAN_DNS }, { "ip", RA_SAN_IP }, { "email", RA_SAN_EMAIL },
	{ "uri", RA_SAN_URI }, { "upn", RA_SAN_UPN }, { "none", RA_SAN_NONE },
	{ NULL, 0 },
};

static const struct bitword *
words_of(enum ra_json_bits which)
{
	if (which == RA_BITS_KEY)
		return key_words;
	if (which == RA_BITS_CHALLENGE)
		return chal_words;
	return san_words;
}

bool
ra_json_bits_parse(enum ra_json_bits which, const char *s, int *out)
{
	const struct bitword	*w;
	const char		*p = s;
	size_t			 len;
	int			 v = 0;

	for (;;) {
		len = strcspn(p, ",");
		for (w = words_of(which); w->word != NULL; w++)
			if (strlen(w->word) == len &&
			    strncmp(p, w->word, len) == 0)
				break;
		if (w->word == NULL)
			return false;
		v |= w->bit;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*out = v;
	return v != 0;
}

void
ra_json_bits_text(enum ra_json_bits which, int v, char *out, size_t outsz)
{
	const struct bitword	*w;
	size_t			 off = 0;

	out[0] = '\0';
	for (w = words_of(which); w->word != NULL && off < outsz; w++)
		if (v & w->bit)
			off += (size_t)snprintf(out + off, outsz - off, "%s%s",
			    off ? "," : "", w->word);
}

/* ---- one encoder per object ---- */

json_t *
ra_json_org(const struct ra_org *o, bool dept)
{
	if (dept)
		return json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)
		    o->id, "org", o->org, "name", o->name, "scm_id",
		    (json_int_t)o->scm_id);
	return json_pack("{s:I, s:s, s:I}", "id", (json_int_t)o->id, "name",
	    o->name, "scm_id", (json_int_t)o->scm_id);
}

json_t *
ra_json_endpoint(const struct ra_endpoint *ep, const char *url,
    const struct ra_deleg *d, size_t nd)
{
	char	 created[32], keys[32], chal[64], san[64];
	json_t	*v, *dl;
	size_t	 i;

	ra_json_time(ep->created, created, sizeof(created));
	ra_json_bits_text(RA_BITS_KEY, ep->key_types, keys, sizeof(keys));
	ra_json_bits_text(RA_BITS_CHALLENGE, ep->challenge_types, chal,
	    sizeof(chal));
	ra_json_bits_text(RA_BITS_SAN, ep->san_types, san, sizeof(san));
	v = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, "
	    "s:i, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)ep->id, "name", ep->name, "uri", ep->uri,
	    "url", url, "type", ra_ep_type_name(ep->type), "ra", ep->ra_id,
	    "ra_enc", ep->ra_enc_id[0] ? ep->ra_enc_id : ep->ra_id,
	    "cacert_format", ra_cacert_fmt_name(ep->cacert_fmt),
	    "getcert_format", ra_getcert_fmt_name(ep->getcert_fmt),
	    "renewal_days", ep->renewal_days, "min_rsa_bits", ep->min_rsa_bits,
	    "key_types", keys, "challenge_types", chal,
	    "delegation", ep->delegated ? "customized" : "general",
	    "created", created);
	if (v == NULL)
		return NULL;
	json_object_update_new(v, json_pack("{s:s, s:s, s:s, s:s}",
	    "san_types", san, "name_pattern", ep->name_pattern,
	    "subject_org", ep->subject_from_csr ? "csr" : "account",
	    "renewal_names", ep->renewal_any_names ? "any" : "same"));
	/* docs/webhooks.md; the secret is only a path */
	json_object_update_new(v, json_pack("{s:s, s:s, s:i, s:s}",
	    "challenge_webhook", ep->challenge_webhook,
	    "webhook_secret_file", ep->webhook_secret_file,
	    "webhook_timeout", ep->webhook_timeout > 0 ?
	    ep->webhook_timeout : RA_WEBHOOK_TIMEOUT,
	    "notify_webhook", ep->notify_webhook));
	if (ep->type == RA_EP_DEVICE_INTUNE || ep->type == RA_EP_CLIENT_INTUNE)
		json_object_set_new(v, "intune", json_pack("{s:s, s:s, s:s, "
		    "s:i, s:s}", "org", ep->org, "dept", ep->dept, "profile",
		    ep->profile, "term_days", ep->term_days, "azure_account",
		    ep->azure));
	if (!ep->delegated)
		return v;
	dl = json_array();
	for (i = 0; dl != NULL && i < nd; i++)
		json_array_append_new(dl, json_pack("{s:s, s:s}", "org",
		    d[i].org, "dept", d[i].dept));
	json_object_set_new(v, "delegated_to", dl);
	return v;
}

json_t *
ra_json_account(const struct ra_account *a)
{
	char	created[32];

	ra_json_time(a->created, created, sizeof(created));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, "
	    "s:s}", "id", (json_int_t)a->id, "endpoint", a->endpoint,
	    "name", a->name, "org", a->org, "dept", a->dept,
	    "profile", a->profile, "term_days", a->term_days,
	    "approval", a->manual ? "manual" : "auto",
	    "state", a->disabled ? "disabled" : "enabled",
	    "created", created);
}

json_t *
ra_json_request(const struct ra_request *r)
{
	char	created[32];

	ra_json_time(r->created, created, sizeof(created));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s}", "id", (json_int_t)r->id, "endpoint", r->endpoint,
	    "account", r->account, "transid", r->transid, "type", r->type,
	    "status", ra_req_status_name(r->status), "subject", r->subject,
	    "serial", r->serial, "order", r->order_id, "reason", r->reason,
	    "peer", r->peer, "created", created);
}

json_t *
ra_json_cert(const struct ra_cert *c)
{
	char	nb[32], na[32], ra[32] = "";

	ra_json_time(c->not_before, nb, sizeof(nb));
	ra_json_time(c->not_after, na, sizeof(na));
	if (c->status == RA_CERT_REVOKED)
		ra_json_time(c->revoked_at, ra, sizeof(ra));
	/* challenge_id: the one-time challenge it was issued with, or 0. */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, "
	    "s:s}", "serial", c->serial, "endpoint", c->endpoint, "account",
	    c->account, "subject", c->subject, "not_before", nb, "not_after",
	    na, "status", ra_cert_status_name(c->status), "revoked_at", ra,
	    "reason", c->status == RA_CERT_REVOKED ?
	    ra_crl_reason_name(c->reason) : "", "challenge_id",
	    (json_int_t)c->challenge_id, "minted_by", c->minted_by);
}

json_t *
ra_json_cert_pem(const struct ra_cert *c, const char *pem)
{
	json_t	*v;

	if ((v = ra_json_cert(c)) != NULL && json_object_set_new(v, "pem",
	    json_string(pem != NULL ? pem : "")) != 0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *
ra_json_audit(const struct ra_audit_rec *a)
{
	char	t[32];

	ra_json_time(a->time, t, sizeof(t));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)a->id, "time", t, "actor", a->actor,
	    "endpoint", a->endpoint, "account", a->account, "transid",
	    a->transid, "action", a->action, "outcome", a->outcome,
	    "details", a->details);
}

json_t *
ra_json_profile(const struct ra_profile *p)
{
	json_t	*terms;
	size_t	 i;

	if ((terms = json_array()) == NULL)
		return NULL;
	for (i = 0; i < p->nterms; i++)
		json_array_append_new(terms, json_integer(p->terms[i]));
	return json_pack("{s:I, s:s, s:s, s:o}", "scm_id",
	    (json_int_t)p->scm_id, "name", p->name, "kind",
	    ra_profile_kind_name(p->kind), "terms", terms);
}

json_t *
ra_json_racert(const struct ra_racert *r)
{
	char	na[32];

	ra_json_time(r->not_after, na, sizeof(na));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", r->id,
	    "subject", r->subject, "issuer", r->issuer, "key_usage",
	    r->key_usage, "serial", r->serial, "not_after", na, "endpoints",
	    r->endpoints);
}

/* One element of kind "k" at "p". */
static json_t *
one(enum ra_json_kind k, const void *p)
{
	switch (k) {
	case RA_JSON_ORG:
	case RA_JSON_DEPT:
		return ra_json_org(p, k == RA_JSON_DEPT);
	case RA_JSON_ACCOUNT:
		return ra_json_account(p);
	case RA_JSON_REQUEST:
		return ra_json_request(p);
	case RA_JSON_CERT:
		return ra_json_cert(p);
	case RA_JSON_AUDIT:
		return ra_json_audit(p);
	case RA_JSON_PROFILE:
		return ra_json_profile(p);
	case RA_JSON_RACERT:
		break;
	}
	return ra_json_racert(p);
}

static size_t
size_of(enum ra_json_kind k)
{
	switch (k) {
	case RA_JSON_ORG:
	case RA_JSON_DEPT:
		return sizeof(struct ra_org);
	case RA_JSON_ACCOUNT:
		return sizeof(struct ra_account);
	case RA_JSON_REQUEST:
		return sizeof(struct ra_request);
	case RA_JSON_CERT:
		return sizeof(struct ra_cert);
	case RA_JSON_AUDIT:
		return sizeof(struct ra_audit_rec);
	case RA_JSON_PROFILE:
		return sizeof(struct ra_profile);
	case RA_JSON_RACERT:
		break;
	}
	return sizeof(struct ra_racert);
}

json_t *
ra_json_array(enum ra_json_kind k, const void *items, size_t n)
{
	const char	*p = items;
	json_t		*arr, *v;
	size_t		 i, size = size_of(k);

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v = one(k, p + i * size);
		if (v == NULL || json_array_append_new(arr, v) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- the audit as CSV ---- */

/*
 * RFC 4180: quote every field, double the quotes inside. Against CSV
 * injection (OWASP "CSV Injection"): a field a spreadsheet would take
 * for a formula, starting with = + - @ or a control character (tab,
 * CR), gets a leading single quote, and control characters are written
 * as \xNN so that none reaches the spreadsheet or a terminal.
 */
static void
csv_field(FILE *fp, const char *s, bool last)
{
	unsigned char	c = (unsigned char)s[0];

	putc('"', fp);
	if (c == '=' || c == '+' || c == '-' || c == '@' || (c != '\0' &&
	    (c < 0x20 || c == 0x7f)))
		putc('\'', fp);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			fprintf(fp, "\\x%02x", c);
			continue;
		}
		if (c == '"')
			putc('"', fp);
		putc(c, fp);
	}
	putc('"', fp);
	putc(last ? '\n' : ',', fp);
}

void
ra_json_audit_csv(FILE *fp, const struct ra_audit_rec *a, size_t n)
{
	char	t[32], id[24];
	size_t	i;

	fprintf(fp, "id,time,actor,endpoint,account,transid,action,outcome,"
	    "details\n");
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%lld", (long long)a[i].id);
		ra_json_time(a[i].time, t, sizeof(t));
		csv_field(fp, id, false);
		csv_field(fp, t, false);
		csv_field(fp, a[i].actor, false);
		csv_field(fp, a[i].endpoint, false);
		csv_field(fp, a[i].account, false);
		csv_field(fp, a[i].transid, false);
		csv_field(fp, a[i].action, false);
		csv_field(fp, a[i].outcome, false);
		csv_field(fp, a[i].details, true);
	}
}
