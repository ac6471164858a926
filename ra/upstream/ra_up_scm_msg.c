/*
 * SCM REST messages (reference/scm-rest-api.md): the enroll JSON built
 * from a CSR and an account, the parsing of answers and listings, and
 * what each status and error code means to the gateway. Pure functions:
 * the HTTP side is ra_up_scm.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ra_up_scm_int.h"

/* Bodies are bounded by the caller; listings of a big tenant fit. */
#define JSON_FLAGS	JSON_REJECT_DUPLICATES

static bool
in(int code, const int *set, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (set[i] == code)
			return true;
	return false;
}

#define IN(code, ...)	in((code), (const int[]){ __VA_ARGS__ }, \
	sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

/*
 * 4.2 and 4.3. Key on the code *and* the call: SCM reuses numbers
 * (-159 is "already revoked" on revoke, a custom-field limit elsewhere).
 */
enum scm_class
scm_classify(enum scm_call call, long http, int code)
{
	if (http >= 200 && http < 300)
		return SCM_C_OK;
	/* 4.4: undocumented, but a client must cope. */
	if (http == 429 || (http >= 500 && http < 600))
		return SCM_C_TRANSIENT;
	if (IN(code, -140, -195, -2, -65))
		return SCM_C_TRANSIENT;
	if (http == 401 || IN(code, -16, -970, -3, -25, -37))
		return SCM_C_AUTH;
	switch (call) {
	case SCM_CALL_COLLECT:
		/* 4.3: "Being processed by Sectigo" and its siblings. */
		if (IN(code, 0, -1400, -183, -109))
			return SCM_C_PENDING;
		if (IN(code, -110, -192))
			return SCM_C_REVOKED;
		break;
	case SCM_CALL_REVOKE:
		if (code == -159)
			return SCM_C_DONE;
		break;
	case SCM_CALL_ENROLL:
		if (IN(code, -9, -10, -138, -188))
			return SCM_C_CSR;
		if (IN(code, -11, -13, -194, -141, -170, -78))
			return SCM_C_ALG;
		if (IN(code, -7, -36, -39, -111, -172, -5109, -62, -64, -639,
		    -1023))
			return SCM_C_CONFIG;
		break;
	case SCM_CALL_OTHER:
		break;
	}
	if (http == 404 || IN(code, -5101, -124))
		return SCM_C_NOTFOUND;
	return SCM_C_FAIL;
}

const char *
scm_class_name(enum scm_class c)
{
	static const char *const names[] = {
		[SCM_C_OK] = "ok",
		[SCM_C_PENDING] = "pending",
		[SCM_C_TRANSIENT] = "transient",
		[SCM_C_AUTH] = "authentication",
		[SCM_C_CSR] = "request refused",
		[SCM_C_ALG] = "key refused",
		[SCM_C_CONFIG] = "configuration",
		[SCM_C_REVOKED] = "revoked",
		[SCM_C_NOTFOUND] = "not found",
		[SCM_C_DONE] = "done",
		[SCM_C_FAIL] = "failed",
	};

	if ((size_t)c < sizeof(names) / sizeof(names[0]) && names[c] != NULL)
		return names[c];
	return "?";
}

static json_t *
json_parse(const uint8_t *body, size_t len)
{
	if (body == NULL || len == 0)
		return NULL;
	return json_loadb((const char *)body, len, JSON_FLAGS, NULL);
}

void
scm_error_parse(const uint8_t *body, size_t len, int *code, char *desc,
    size_t descsz)
{
	json_t		*j, *v;
	const char	*s = NULL;

	*code = SCM_NO_CODE;
	if (descsz > 0)
		desc[0] = '\0';
	if ((j = json_parse(body, len)) == NULL)
		return;
	if (json_is_object(j)) {
		v = json_object_get(j, "code");
		if (json_is_integer(v) &&
		    json_integer_value(v) >= INT_MIN + 1 &&
		    json_integer_value(v) <= INT_MAX)
			*code = (int)json_integer_value(v);
		if (json_is_string(v = json_object_get(j, "description")))
			s = json_string_value(v);
		else if (json_is_string(v = json_object_get(j, "error")))
			s = json_string_value(v);	/* OAuth */
		if (s != NULL && descsz > 0)
			sg_safe_str(s, desc, descsz);
	}
	json_decref(j);
}

enum sg_rc
scm_error_set(struct sg_err *err, enum scm_call call, const char *what,
    long http, int code, const char *desc)
{
	enum scm_class	c = scm_classify(call, http, code);
	char		cs[32] = "";

	if (code != SCM_NO_CODE)
		snprintf(cs, sizeof(cs), ", code %d", code);
	return sg_err_fail(err, SG_EUPSTREAM, c == SCM_C_ALG ?
	    SG_FAIL_BADALG : SG_FAIL_BADREQUEST, "SCM %s: HTTP %ld%s%s%s%s",
	    what, http, cs, desc != NULL && desc[0] != '\0' ? ": " : "",
	    desc != NULL ? desc : "", c == SCM_C_AUTH ? " (check the SCM "
	    "credentials and the admin's privileges)" : c == SCM_C_CONFIG ?
	    " (check the account's organization, profile and term)" : "");
}

enum scm_state
scm_state_parse(const char *s)
{
	static const char *const issued[] = { "issued", "downloaded" };
	static const char *const declined[] = { "declined", "rejected" };
	static const char *const revoked[] = { "revoked", "pre_revoked",
	    "expired" };
	size_t	i;

	for (i = 0; i < sizeof(issued) / sizeof(issued[0]); i++)
		if (strcasecmp(s, issued[i]) == 0)
			return SCM_S_ISSUED;
	for (i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		if (strcasecmp(s, declined[i]) == 0)
			return SCM_S_DECLINED;
	for (i = 0; i < sizeof(revoked) / sizeof(revoked[0]); i++)
		if (strcasecmp(s, revoked[i]) == 0)
			return SCM_S_REVOKED;
	return SCM_S_PENDING;
}

/* The UTF-8 text of the first "nid" entry of "name" into out, or false. */
static bool
name_text(const X509_NAME *name, int nid, char *out, size_t outsz)
{
	const X509_NAME_ENTRY	*e;
	unsigned char		*u = NULL;
	int			 i, n;
	bool			 ok;

	if ((i = X509_NAME_get_index_by_NID(name, nid, -1)) < 0 ||
	    (e = X509_NAME_get_entry(name, i)) == NULL ||
	    (n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e))) < 0)
		return false;
	/* No embedded NUL: the text goes into JSON and logs. */
	ok = (size_t)n < outsz && memchr(u, '\0', (size_t)n) == NULL;
	if (ok) {
		memcpy(out, u, (size_t)n);
		out[n] = '\0';
	}
	OPENSSL_free(u);
	return ok;
}

/* The first rfc822Name of the request's subjectAltName. */
static bool
san_email(X509_REQ *req, char *out, size_t outsz)
{
	STACK_OF(X509_EXTENSION)	*exts;
	GENERAL_NAMES			*gens = NULL;
	const GENERAL_NAME		*g;
	bool				 ok = false;
	int				 i, n;

	if ((exts = X509_REQ_get_extensions(req)) == NULL)
		return false;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_EMAIL)
			continue;
		n = ASN1_STRING_length(g->d.rfc822Name);
		if (n <= 0 || (size_t)n >= outsz ||
		    memchr(ASN1_STRING_get0_data(g->d.rfc822Name), '\0',
		    (size_t)n) != NULL)
			continue;
		memcpy(out, ASN1_STRING_get0_data(g->d.rfc822Name), (size_t)n);
		out[n] = '\0';
		ok = true;
		break;
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok;
}

/* 3.8: "a valid address", at most 128 characters. */
static bool
email_ok(const char *s)
{
	const char	*at = strchr(s, '@');
	size_t		 i;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return i <= 128;
}

/* Split "s" at its last separator; one word gives both names. */
static void
split_name(const char *s, const char *seps, struct scm_person *p)
{
	const char	*cut = NULL, *q;
	size_t		 n;

	for (q = s; *q != '\0'; q++)
		if (strchr(seps, *q) != NULL && q != s && q[1] != '\0')
			cut = q;
	if (cut == NULL) {
		snprintf(p->first, sizeof(p->first), "%s", s);
		snprintf(p->last, sizeof(p->last), "%s", s);
		return;
	}
	n = (size_t)(cut - s);
	snprintf(p->first, sizeof(p->first), "%.*s", (int)n, s);
	snprintf(p->last, sizeof(p->last), "%s", cut + 1);
}

enum sg_rc
scm_person_from_csr(X509_REQ *req, struct scm_person *p, struct sg_err *err)
{
	const X509_NAME	*subj = X509_REQ_get_subject_name(req);
	char		 given[256], sur[256], cn[256], local[129];
	char		*at;

	memset(p, 0, sizeof(*p));
	if (!name_text(subj, NID_pkcs9_emailAddress, p->email,
	    sizeof(p->email)) && !san_email(req, p->email, sizeof(p->email)))
		p->email[0] = '\0';
	if (p->email[0] == '\0' || !email_ok(p->email))
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "client certificate needs an email address");
	if (name_text(subj, NID_commonName, cn, sizeof(cn))) {
		if (strlen(cn) > 64)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
			    "client certificate: CN longer than 64 characters");
		snprintf(p->cn, sizeof(p->cn), "%s", cn);
	}
	if (name_text(subj, NID_givenName, given, sizeof(given)) &&
	    name_text(subj, NID_surname, sur, sizeof(sur)) &&
	    given[0] != '\0' && sur[0] != '\0') {
		snprintf(p->first, sizeof(p->first), "%s", given);
		snprintf(p->last, sizeof(p->last), "%s", sur);
		if (strlen(given) >= sizeof(p->first) ||
		    strlen(sur) >= sizeof(p->last))
			p->first[0] = '\0';	/* too long: refused below */
	} else if (p->cn[0] != '\0') {
		split_name(p->cn, " ", p);
	} else {
		snprintf(local, sizeof(local), "%s", p->email);
		if ((at = strchr(local, '@')) != NULL)
			*at = '\0';
		split_name(local, "._-", p);
	}
	/* 3.8: first + middle + last must total 1..64 characters. */
	if (p->first[0] == '\0' || p->last[0] == '\0' ||
	    strlen(p->first) + strlen(p->last) > 64)
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "client certificate: first and last name must total 1 to "
		    "64 characters");
	return SG_OK;
}

/* The CSR as PEM with 64-character lines (3.3). */
static char *
csr_pem(X509_REQ *req)
{
	BIO	*b;
	char	*p, *out = NULL;
	long	 n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509_REQ(b, req) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

enum sg_rc
scm_enroll_json(const struct scm_enroll *e, char **json, struct sg_err *err)
{
	const struct scm_person	*p = e->person;
	json_t			*j = NULL;
	char			*pem = NULL, *s = NULL;
	enum sg_rc		 rc = SG_ENOMEM;

	if ((pem = csr_pem(e->csr)) == NULL)
		goto out;
	/* Field order as in the reference's examples, for readable logs. */
	j = json_pack("{s:I, s:I, s:i}", "orgId", (json_int_t)e->org_id,
	    "certType", (json_int_t)e->cert_type, "term", e->term);
	if (j == NULL)
		goto out;
	if (e->client) {
		if (p == NULL) {
			rc = sg_err_set(err, SG_EINTERNAL, "no person");
			goto out;
		}
		if (json_object_set_new(j, "email", json_string(p->email)) ||
		    json_object_set_new(j, "firstName",
		    json_string(p->first)) ||
		    json_object_set_new(j, "lastName", json_string(p->last)) ||
		    (p->cn[0] != '\0' && json_object_set_new(j, "commonName",
		    json_string(p->cn))))
			goto out;
	}
	if (json_object_set_new(j, "csr", json_string(pem)) ||
	    (e->comments != NULL && json_object_set_new(j, "comments",
	    json_string(e->comments))))
		goto out;
	if ((s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	*json = s;
	rc = SG_OK;
out:
	if (rc == SG_ENOMEM)
		(void)sg_err_set(err, rc, "SCM enroll: cannot build the JSON body");
	json_decref(j);
	free(pem);
	return rc;
}

/*
 * An order id: the positive integer (device) or the string of SCM's
 * characters (client) under "key" of object "o", into order
 * (RA_ORDER_MAX bytes); false if there is none.
 */
static bool
order_of(json_t *o, const char *key, bool str, char *order)
{
	json_t		*v = json_object_get(o, key);
	const char	*id;
	int		 n = -1;

	if (!str && json_is_integer(v) && json_integer_value(v) > 0)
		n = snprintf(order, RA_ORDER_MAX, "%lld",
		    (long long)json_integer_value(v));
	else if (str && json_is_string(v) && json_string_length(v) > 0) {
		id = json_string_value(v);
		if (strspn(id, "0123456789abcdefABCDEF-_") ==
		    json_string_length(v))
			n = snprintf(order, RA_ORDER_MAX, "%s", id);
	}
	return n > 0 && n < RA_ORDER_MAX;
}

enum sg_rc
scm_enroll_order(bool client, const uint8_t *body, size_t len, char *order,
    struct sg_err *err)
{
	json_t		*j;
	enum sg_rc	 rc = SG_OK;

	if ((j = json_parse(body, len)) == NULL || !json_is_object(j)) {
		json_decref(j);
		return sg_err_set(err, SG_EUPSTREAM, "SCM enroll: the answer "
		    "is not a JSON object");
	}
	if (!order_of(j, client ? "backendCertId" : "deviceCertId", client,
	    order))
		rc = sg_err_set(err, SG_EUPSTREAM, "SCM enroll: no %s in the "
		    "answer", client ? "backendCertId" : "deviceCertId");
	json_decref(j);
	return rc;
}

void
scm_comments_prefix(const char *transid, const char *endpoint, char *out,
    size_t outsz)
{
	char	tid[P7_TRANSID_MAX + 1], ep[RA_NAME_MAX];

	sg_safe_str(transid, tid, sizeof(tid));
	sg_safe_str(endpoint, ep, sizeof(ep));
	snprintf(out, outsz, "SCEP transactionID %s; scepgate endpoint %s,",
	    tid, ep);
}

enum sg_rc
scm_list_match(bool client, const uint8_t *body, size_t len,
    const char *prefix, char *order, size_t *n)
{
	json_t		*j, *o, *c;
	enum sg_rc	 rc = SG_ENOTFOUND;
	size_t		 i, plen = strlen(prefix);

	*n = 0;
	if ((j = json_parse(body, len)) == NULL || !json_is_array(j)) {
		json_decref(j);
		return SG_EPARSE;
	}
	*n = json_array_size(j);
	json_array_foreach(j, i, o) {
		c = json_object_get(o, "comments");
		/* Exactly the prefix: a comment may not hold a NUL. */
		if (!json_is_string(c) || json_string_length(c) < plen ||
		    memcmp(json_string_value(c), prefix, plen) != 0)
			continue;
		/* 3.4: a device's "id" is its deviceCertId. */
		if (order_of(o, client ? "backendCertId" : "id", client,
		    order)) {
			rc = SG_OK;
			break;
		}
	}
	json_decref(j);
	return rc;
}

bool
scm_query_escape(const char *s, char *out, size_t outsz)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			k = 0;
	unsigned char		ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-._~", ch) != NULL) {
			if (k + 1 >= outsz)
				return false;
			out[k++] = (char)ch;
			continue;
		}
		if (k + 3 >= outsz)
			return false;
		out[k++] = '%';
		out[k++] = hex[ch >> 4];
		out[k++] = hex[ch & 0xf];
	}
	if (outsz == 0)
		return false;
	out[k] = '\0';
	return true;
}

enum sg_rc
scm_status_field(const uint8_t *body, size_t len, char *out, size_t outsz)
{
	json_t		*j, *o, *v;
	enum sg_rc	 rc = SG_ENOTFOUND;

	if ((j = json_parse(body, len)) == NULL)
		return SG_EPARSE;
	o = json_is_array(j) ? json_array_get(j, 0) : j;
	if (json_is_object(o)) {
		v = json_object_get(o, "status");
		if (!json_is_string(v))
			v = json_object_get(o, "state");
		if (json_is_string(v)) {
			sg_safe_str(json_string_value(v), out, outsz);
			rc = SG_OK;
		}
	}
	json_decref(j);
	return rc;
}

enum sg_rc
scm_cert_parse(const uint8_t *body, size_t len, X509 **out,
    struct sg_err *err)
{
	const unsigned char	*p = body;
	BIO			*b;
	X509			*x = NULL;

	if (len > 0 && len < INT_MAX &&
	    (b = BIO_new_mem_buf(body, (int)len)) != NULL) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (x == NULL && len > 0 && len < LONG_MAX)
		x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return sg_err_set(err, SG_EUPSTREAM, "SCM collect: no "
		    "certificate in the answer");
	ERR_clear_error();	/* the failed PEM or DER attempt */
	*out = x;
	return SG_OK;
}

/* Read a listing: an array of objects with "id" and "name". */
static enum sg_rc
entries(const uint8_t *body, size_t len, bool orgs, struct scm_entry **out,
    size_t *n, struct sg_err *err)
{
	json_t			*j, *o, *d, *deps, *id, *name;
	struct scm_entry	*v = NULL, *e;
	size_t			 i, k, cap = 0, cnt = 0;
	enum sg_rc		 rc = SG_OK;

	if ((j = json_parse(body, len)) == NULL || !json_is_array(j)) {
		json_decref(j);
		return sg_err_set(err, SG_EUPSTREAM, "SCM %s: the answer is "
		    "not a JSON array", orgs ? "organizations" : "profiles");
	}
	for (i = 0; i < json_array_size(j); i++) {
		o = json_array_get(j, i);
		deps = orgs ? json_object_get(o, "departments") : NULL;
		/* One for the entry, one per department. */
		for (k = 0; k <= json_array_size(deps); k++) {
			d = k == 0 ? o : json_array_get(deps, k - 1);
			id = json_object_get(d, "id");
			name = json_object_get(d, "name");
			if (!json_is_integer(id) || !json_is_string(name))
				continue;
			if (cnt == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				if ((e = reallocarray(v, cap, sizeof(*v))) ==
				    NULL) {
					rc = sg_err_set(err, SG_ENOMEM,
					    "SCM listing");
					goto out;
				}
				v = e;
			}
			e = &v[cnt++];
			memset(e, 0, sizeof(*e));
			e->id = (long)json_integer_value(id);
			snprintf(e->name, sizeof(e->name), "%s",
			    json_string_value(name));
			if (k > 0)
				snprintf(e->parent, sizeof(e->parent), "%s",
				    json_string_value(json_object_get(o,
				    "name")));
		}
	}
	*out = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	json_decref(j);
	return rc;
}

enum sg_rc
scm_orgs_parse(const uint8_t *body, size_t len, struct scm_entry **out,
    size_t *n, struct sg_err *err)
{
	return entries(body, len, true, out, n, err);
}

enum sg_rc
scm_types_parse(const uint8_t *body, size_t len, struct scm_entry **out,
    size_t *n, struct sg_err *err)
{
	return entries(body, len, false, out, n, err);
}

/* The "id" of a catalogue entry: a positive int32 (2), or -1. */
static int64_t
cat_id(const json_t *o)
{
	json_t	*id = json_object_get(o, "id");

	if (!json_is_integer(id) || json_integer_value(id) < 1 ||
	    json_integer_value(id) > INT32_MAX)
		return -1;
	return (int64_t)json_integer_value(id);
}

/* Its "name", or "" when too long for the store; false if none. */
static bool
cat_name(const json_t *o, char *out, size_t outsz)
{
	json_t	*v = json_object_get(o, "name");
	size_t	 n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	out[0] = '\0';
	if (n < outsz)	/* jansson refuses \u0000 (no JSON_ALLOW_NUL) */
		memcpy(out, json_string_value(v), n + 1);
	return true;
}

/* The departments of one organization (3.2). */
static enum sg_rc
cat_depts(const json_t *deps, struct ra_cat_org *o, struct sg_err *err)
{
	struct ra_cat_dept	*d;
	json_t			*v;
	size_t			 i;

	if (json_array_size(deps) == 0)
		return SG_OK;
	if ((o->depts = calloc(json_array_size(deps), sizeof(*d))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "SCM organizations");
	json_array_foreach(deps, i, v) {
		d = &o->depts[o->ndepts];
		d->scm_id = cat_id(v);
		if (d->scm_id > 0 && cat_name(v, d->name, sizeof(d->name)))
			o->ndepts++;
	}
	return SG_OK;
}

enum sg_rc
scm_catalog_orgs(const uint8_t *body, size_t len, struct ra_catalog *cat,
    struct sg_err *err)
{
	struct ra_cat_org	*o;
	json_t			*j, *v;
	size_t			 i;
	enum sg_rc		 rc = SG_OK;

	if ((j = json_parse(body, len)) == NULL || !json_is_array(j)) {
		json_decref(j);
		return sg_err_set(err, SG_EUPSTREAM, "SCM organizations: the "
		    "answer is not a JSON array");
	}
	if (json_array_size(j) > 0 && (cat->orgs = calloc(json_array_size(j),
	    sizeof(*o))) == NULL)
		rc = sg_err_set(err, SG_ENOMEM, "SCM organizations");
	json_array_foreach(j, i, v) {
		if (rc != SG_OK)
			break;
		o = &cat->orgs[cat->norgs];
		o->scm_id = cat_id(v);
		if (o->scm_id < 0 || !cat_name(v, o->name, sizeof(o->name)))
			continue;
		/* Counted only once its departments are in: freed with it. */
		if ((rc = cat_depts(json_object_get(v, "departments"), o,
		    err)) == SG_OK)
			cat->norgs++;
	}
	json_decref(j);
	return rc;
}

/* The terms of a profile (3.1): days, the first RA_TERMS_MAX. */
static void
cat_terms(const json_t *terms, struct ra_profile *p)
{
	json_t	*t;
	size_t	 i;

	json_array_foreach(terms, i, t)
		if (json_is_integer(t) && json_integer_value(t) >= 1 &&
		    json_integer_value(t) <= INT32_MAX &&
		    p->nterms < RA_TERMS_MAX)
			p->terms[p->nterms++] = (int)json_integer_value(t);
}

enum sg_rc
scm_catalog_profiles(const uint8_t *body, size_t len,
    enum ra_profile_kind kind, struct ra_catalog *cat, struct sg_err *err)
{
	struct ra_profile	*p;
	json_t			*j, *v;
	size_t			 i, n;

	if ((j = json_parse(body, len)) == NULL || !json_is_array(j)) {
		json_decref(j);
		return sg_err_set(err, SG_EUPSTREAM, "SCM %s profiles: the "
		    "answer is not a JSON array", kind == RA_PROFILE_CLIENT ?
		    "client" : "device");
	}
	if ((n = json_array_size(j)) > 0) {
		p = reallocarray(cat->profiles, cat->nprofiles + n, sizeof(*p));
		if (p == NULL) {
			json_decref(j);
			return sg_err_set(err, SG_ENOMEM, "SCM profiles");
		}
		cat->profiles = p;
	}
	json_array_foreach(j, i, v) {
		p = &cat->profiles[cat->nprofiles];
		memset(p, 0, sizeof(*p));
		p->kind = kind;
		p->scm_id = cat_id(v);
		if (p->scm_id < 0 || !cat_name(v, p->name, sizeof(p->name)))
			continue;
		cat_terms(json_object_get(v, "terms"), p);
		cat->nprofiles++;
	}
	json_decref(j);
	return SG_OK;
}

long
scm_entry_find(const struct scm_entry *v, size_t n, const char *name,
    const char *parent)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0 &&
		    strcmp(v[i].parent, parent) == 0)
			return v[i].id;
	return -1;
}

long
scm_numeric_id(const char *s)
{
	long	v;

	if (s[0] < '1' || s[0] > '9' || !sg_parse_long(s, 1, INT32_MAX, &v))
		return -1;
	return v;
}

void
scm_base_url(const char *url, bool client_cert, char *out, size_t outsz)
{
	size_t	n = strlen(url);

	if (client_cert && n >= 4 && strcmp(url + n - 4, "/api") == 0 &&
	    (n < 12 || strcmp(url + n - 12, "/private/api") != 0))
		snprintf(out, outsz, "%.*s/private/api", (int)(n - 4), url);
	else
		snprintf(out, outsz, "%s", url);
}

bool
scm_serial_colon(const char *hex, char *out, size_t outsz)
{
	size_t	n = strlen(hex), i, o = 0;
	bool	odd = n % 2 == 1;

	if (n == 0 || strspn(hex, "0123456789abcdefABCDEF") != n ||
	    (n + odd) / 2 * 3 > outsz)
		return false;
	for (i = 0; i < n + odd; i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ':';
		out[o++] = (char)toupper((unsigned char)(odd && i == 0 ? '0' :
		    hex[i - odd]));
	}
	out[o] = '\0';
	return true;
}

long long
scm_poll_wait_ms(int poll_interval, unsigned n)
{
	unsigned	shift = n / 3 < 6 ? n / 3 : 6;

	return (long long)poll_interval * 1000 << shift;
}
