/* Access codes and request policy (DESIGN.md "Identity and secrets"). */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ra_int.h"
#include "ra_policy.h"

/*
 * Generated codes: letters and digits only. Windows needs a
 * PrintableString challenge and fails on '_', '@', '!' (scep-interop.md
 * 4.5); no space or punctuation, which copy and paste mangle.
 */
static const char code_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/* Codes an admin chooses: the whole PrintableString set (X.680 41.4). */
static const char code_printable[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    " '()+,-./:=?";

enum sg_rc
ra_policy_gen_code(char *out, size_t outsz)
{
	unsigned char	r;
	size_t		i = 0, n = sizeof(code_alphabet) - 1;

	if (outsz < RA_CODE_LEN + 1)
		return SG_ELIMIT;
	while (i < RA_CODE_LEN) {
		if (RAND_bytes(&r, 1) != 1)
			return SG_EINTERNAL;
		/* Rejection sampling: 248 = 4 * 62, so no modulo bias. */
		if (r >= 4 * n)
			continue;
		out[i++] = code_alphabet[r % n];
	}
	out[i] = '\0';
	return SG_OK;
}

bool
ra_policy_code_ok(const char *code)
{
	size_t	len = strlen(code);

	return len >= 8 && len <= RA_CODE_MAX &&
	    strspn(code, code_printable) == len;
}

bool
ra_policy_name_ok(const char *name)
{
	size_t	len = strlen(name);

	return len > 0 && len < RA_NAME_MAX &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789 ._-@") == len && name[0] != ' ' && name[0] != '-';
}

static int
challenge_bit(int type)
{
	switch (type) {
	case V_ASN1_PRINTABLESTRING:	return RA_CHAL_PRINTABLE;
	case V_ASN1_UTF8STRING:		return RA_CHAL_UTF8;
	case V_ASN1_BMPSTRING:		return RA_CHAL_BMP;
	}
	return RA_CHAL_OTHER;
}

enum sg_rc
ra_policy_check_csr(const struct ra_endpoint *ep, const struct p7_csr *csr,
    bool challenge, struct sg_err *err)
{
	if (challenge && csr->challenge != NULL &&
	    (ep->challenge_types & challenge_bit(csr->challenge_type)) == 0)
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "challengePassword string type %d not allowed here",
		    csr->challenge_type);
	switch (csr->key_type) {
	case EVP_PKEY_RSA:
		if ((ep->key_types & RA_KEY_RSA) == 0)
			break;
		/* Apple profiles without Keysize send 1024 bits. */
		if (csr->key_bits < ep->min_rsa_bits)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
			    "RSA key of %d bits is below this endpoint's "
			    "minimum %d", csr->key_bits, ep->min_rsa_bits);
		if (csr->key_bits > 16384)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
			    "RSA key of %d bits; at most 16384", csr->key_bits);
		return SG_OK;
	case EVP_PKEY_EC:
		if ((ep->key_types & RA_KEY_EC) == 0)
			break;
		if (csr->key_bits < 256)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
			    "EC key of %d bits; at least 256 required",
			    csr->key_bits);
		return SG_OK;
	}
	return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
	    "public key type not allowed on this endpoint");
}

/* ---- admin rules on the store's facts (issue 9: out of the store) ---- */

enum sg_rc
ra_policy_hint(enum sg_rc rc, const char *hint, struct sg_err *err)
{
	size_t	len;

	if (rc != SG_ENOTFOUND || err == NULL)
		return rc;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, " (%s)", hint);
	return rc;
}

enum sg_rc
ra_policy_endpoint_delete(struct ra *ra, const char *name, bool force,
    struct sg_err *err)
{
	size_t		accounts, pending;
	enum sg_rc	rc;

	rc = ra_store_endpoint_usage(ra->store, name, &accounts, &pending,
	    err);
	if (rc != SG_OK || force || (accounts == 0 && pending == 0))
		return rc;
	return sg_err_set(err, SG_EPOLICY, "endpoint '%s' has %zu "
	    "account(s) and %zu pending request(s); use --force to delete "
	    "it anyway", name, accounts, pending);
}

/* Customized delegation: the whole organization, or this department. */
static bool
delegated_to(const struct ra_deleg *d, size_t n, const char *org,
    const char *dept)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(d[i].org, org) == 0 && (d[i].dept[0] == '\0' ||
		    strcmp(d[i].dept, dept) == 0))
			return true;
	return false;
}

enum sg_rc
ra_policy_account_place(struct ra *ra, const struct ra_endpoint *ep,
    const char *org, const char *dept, struct sg_err *err)
{
	struct ra_org	 o;
	struct ra_deleg	*d = NULL;
	size_t		 n = 0;
	enum sg_rc	 rc;

	rc = ra_store_org_get(ra->store, org, NULL, &o, err);
	if ((rc = ra_policy_hint(rc, "scepctl org add", err)) != SG_OK)
		return rc;
	if (dept[0] != '\0') {
		rc = ra_store_org_get(ra->store, org, dept, &o, err);
		if ((rc = ra_policy_hint(rc, "scepctl dept add", err)) != SG_OK)
			return rc;
	}
	if (!ep->delegated)
		return SG_OK;
	if ((rc = ra_store_delegations(ra->store, ep->name, &d, &n, err)) !=
	    SG_OK)
		return rc;
	if (!delegated_to(d, n, org, dept))
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' is not "
		    "delegated to '%s%s%s' (scepctl endpoint delegate)",
		    ep->name, org, dept[0] != '\0' ? "/" : "", dept);
	free(d);
	return rc;
}

/* ---- names: what the certificate may say (docs/names.md) ---- */

/* Microsoft's strong certificate mapping (KB5014754), Intune only. */
#define SID_URI_PREFIX	"tag:microsoft.com,2022-09-14:sid:"
#define NAME_TEXT_MAX	256	/* longest CN, DNS name, email checked */
/* The transaction row's subject (struct ra_txn, struct ra_request). */
#define TXN_SUBJECT_MAX	sizeof(((struct ra_txn *)0)->subject)

bool
ra_policy_pattern_ok(const char *list)
{
	size_t	len = strlen(list);

	if (len == 0)
		return true;
	return len < RA_PATTERN_MAX && strspn(list,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	    ".-_@*?[]!,") == len && list[0] != ',' && list[len - 1] != ',' &&
	    strstr(list, ",,") == NULL;
}

/* Lowercase copy of "in" (NUL-terminated); false if it does not fit. */
static bool
lower_copy(const char *in, char *out, size_t outsz)
{
	size_t	i, len = strlen(in);

	if (len >= outsz)
		return false;
	for (i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return true;
}

/*
 * Does "value" match one of the comma-separated globs of "list"
 * (fnmatch(3), case-insensitive)? An empty list matches everything.
 * A value holding '*' (a wildcard DNS name) matches only an entry
 * equal to it: the glob "*.example.com" grants "*.example.com" but not
 * "*.sub.example.com", which fnmatch would let through.
 */
static bool
pattern_match(const char *list, const char *value)
{
	char	pat[RA_PATTERN_MAX], val[NAME_TEXT_MAX], *p, *comma;
	bool	wild;

	if (list[0] == '\0')
		return true;
	if (!lower_copy(list, pat, sizeof(pat)) ||
	    !lower_copy(value, val, sizeof(val)))
		return false;
	wild = strchr(val, '*') != NULL;
	for (p = pat; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (wild ? strcmp(p, val) == 0 : fnmatch(p, val, 0) == 0)
			return true;
	}
	return false;
}

/* An email address matches as a whole or by its domain. */
static bool
email_match(const char *list, const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return pattern_match(list, addr) ||
	    (at != NULL && pattern_match(list, at + 1));
}

/*
 * The text of an ASN.1 string as UTF-8 into out; false for one that is
 * too long, holds a NUL or a control character (nothing to match).
 */
static bool
name_text(const ASN1_STRING *s, char *out, size_t outsz)
{
	unsigned char	*u = NULL;
	int		 n, i;
	bool		 ok;

	if ((n = ASN1_STRING_to_UTF8(&u, s)) < 0)
		return false;
	ok = (size_t)n < outsz;
	for (i = 0; ok && i < n; i++)
		ok = u[i] >= 0x20 && u[i] != 0x7f;
	if (ok) {
		memcpy(out, u, (size_t)n);
		out[n] = '\0';
	}
	OPENSSL_free(u);
	return ok;
}

static enum sg_rc
name_refused(struct sg_err *err, const char *what, const char *value,
    const struct ra_endpoint *ep)
{
	return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
	    "%s %s does not match %s", what, value, ep->name_pattern);
}

static enum sg_rc
san_refused(struct sg_err *err, const char *type, const struct ra_endpoint *ep)
{
	return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
	    "SAN type %s is not allowed on endpoint '%s'", type, ep->name);
}

/* A pattern-checked value: CN, DNS name or email. */
static enum sg_rc
check_value(const struct ra_endpoint *ep, const char *what,
    const ASN1_STRING *s, bool email, struct sg_err *err)
{
	char	v[NAME_TEXT_MAX];

	if (!name_text(s, v, sizeof(v)))
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "%s: longer than %d bytes or holds a control character",
		    what, NAME_TEXT_MAX - 1);
	if (!(email ? email_match(ep->name_pattern, v) :
	    pattern_match(ep->name_pattern, v)))
		return name_refused(err, what, v, ep);
	return SG_OK;
}

static bool
is_intune(const struct ra_endpoint *ep)
{
	return ep->type == RA_EP_DEVICE_INTUNE ||
	    ep->type == RA_EP_CLIENT_INTUNE;
}

/* tag:microsoft.com,2022-09-14:sid:S-1-5-21-... on an Intune endpoint. */
static bool
sid_uri(const struct ra_endpoint *ep, const ASN1_STRING *s)
{
	char	v[NAME_TEXT_MAX];
	size_t	n = sizeof(SID_URI_PREFIX) - 1;

	return is_intune(ep) && name_text(s, v, sizeof(v)) &&
	    strncmp(v, SID_URI_PREFIX, n) == 0 && strncmp(v + n, "S-", 2) ==
	    0 && v[n + 2] != '\0' && strspn(v + n + 2, "0123456789-") ==
	    strlen(v + n + 2);
}

static bool
san_allowed(const struct ra_endpoint *ep, int bit)
{
	int	types = ep->san_types == 0 ? RA_SAN_DEFAULT : ep->san_types;

	return (types & bit) != 0;
}

/* One subjectAltName entry against the endpoint's types and pattern. */
static enum sg_rc
check_san(const struct ra_endpoint *ep, const GENERAL_NAME *g,
    struct sg_err *err)
{
	int	type;

	switch (g->type) {
	case GEN_DNS:
		if (!san_allowed(ep, RA_SAN_DNS))
			return san_refused(err, "dns", ep);
		return check_value(ep, "DNS name", g->d.dNSName, false, err);
	case GEN_EMAIL:
		if (!san_allowed(ep, RA_SAN_EMAIL))
			return san_refused(err, "email", ep);
		return check_value(ep, "email", g->d.rfc822Name, true, err);
	case GEN_IPADD:
		return san_allowed(ep, RA_SAN_IP) ? SG_OK :
		    san_refused(err, "ip", ep);
	case GEN_URI:
		return san_allowed(ep, RA_SAN_URI) ||
		    sid_uri(ep, g->d.uniformResourceIdentifier) ? SG_OK :
		    san_refused(err, "uri", ep);
	case GEN_OTHERNAME:
		type = OBJ_obj2nid(g->d.otherName->type_id);
		if (type != NID_ms_upn)
			return san_refused(err, "otherName", ep);
		if (!san_allowed(ep, RA_SAN_UPN))
			return san_refused(err, "upn", ep);
		return SG_OK;
	case GEN_DIRNAME:
		return san_refused(err, "dirName", ep);
	case GEN_RID:
		return san_refused(err, "registeredID", ep);
	}
	return san_refused(err, "x400Address/ediPartyName", ep);
}

/*
 * Every subjectAltName the request asks for, from each SAN extension
 * (ra_x509.c copies each one). *out is the caller's
 * (GENERAL_NAMES_free), empty without a SAN. SG_EPARSE for a SAN that
 * does not decode.
 */
static enum sg_rc
csr_sans(X509_REQ *req, GENERAL_NAMES **out, struct sg_err *err)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES	*all = NULL, *g;
	GENERAL_NAME	*n;
	enum sg_rc	 rc = SG_OK;
	int		 i;

	if ((all = sk_GENERAL_NAME_new_null()) == NULL)
		return sg_err_set(err, SG_ENOMEM, "subjectAltName");
	exts = X509_REQ_get_extensions(req);
	for (i = 0; rc == SG_OK && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) !=
		    NID_subject_alt_name)
			continue;
		if ((g = X509V3_EXT_d2i(e)) == NULL) {
			rc = sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
			    "subjectAltName does not decode");
			break;
		}
		while (rc == SG_OK && (n = sk_GENERAL_NAME_shift(g)) != NULL)
			if (!sk_GENERAL_NAME_push(all, n)) {
				GENERAL_NAME_free(n);
				rc = sg_err_set(err, SG_ENOMEM,
				    "subjectAltName");
			}
		GENERAL_NAMES_free(g);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc == SG_OK) {
		*out = all;
		all = NULL;
	}
	GENERAL_NAMES_free(all);
	return rc;
}

/* The whole subject as the transaction row keeps it (p7_csr.c). */
static enum sg_rc
check_subject_len(const X509_NAME *name, struct sg_err *err)
{
	BIO	*b;
	int	 n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return sg_err_set(err, SG_ENOMEM, "subject");
	n = X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	BIO_free(b);
	if (n < 0 || (size_t)n >= TXN_SUBJECT_MAX)
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "subject of %d bytes is too long (at most %zu)", n,
		    TXN_SUBJECT_MAX - 1);
	return SG_OK;
}

enum sg_rc
ra_policy_check_names(const struct ra_endpoint *ep, X509_REQ *req,
    struct sg_err *err)
{
	const X509_NAME	*name = X509_REQ_get_subject_name(req);
	GENERAL_NAMES	*sans = NULL;
	X509_NAME_ENTRY	*ne;
	enum sg_rc	 rc;
	int		 i, nid;

	if ((rc = check_subject_len(name, err)) != SG_OK)
		return rc;
	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		ne = X509_NAME_get_entry(name, i);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		if (nid == NID_commonName)
			rc = check_value(ep, "CN", X509_NAME_ENTRY_get_data(ne),
			    false, err);
		else if (nid == NID_pkcs9_emailAddress)
			rc = !san_allowed(ep, RA_SAN_EMAIL) ?
			    san_refused(err, "email", ep) : check_value(ep,
			    "email", X509_NAME_ENTRY_get_data(ne), true, err);
		if (rc != SG_OK)
			return rc;
	}
	if ((rc = csr_sans(req, &sans, err)) != SG_OK)
		return rc;
	if (sk_GENERAL_NAME_num(sans) > 0 && (ep->san_types & RA_SAN_NONE))
		rc = sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "no subjectAltName is allowed on endpoint '%s'", ep->name);
	for (i = 0; rc == SG_OK && i < sk_GENERAL_NAME_num(sans); i++)
		rc = check_san(ep, sk_GENERAL_NAME_value(sans, i), err);
	GENERAL_NAMES_free(sans);
	return rc;
}

/* ---- renewal: the names stay (issue 10 section 3) ---- */

/* Is entry "ne" (as UTF-8) among the entries of "name"? */
static bool
has_entry(const X509_NAME *name, const X509_NAME_ENTRY *ne)
{
	const ASN1_OBJECT	*obj = X509_NAME_ENTRY_get_object(ne);
	unsigned char		*a = NULL, *b = NULL;
	int			 la, lb, i;
	bool			 found = false;

	if ((la = ASN1_STRING_to_UTF8(&a, X509_NAME_ENTRY_get_data(ne))) < 0)
		return false;
	for (i = 0; !found && i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *o = X509_NAME_get_entry(name, i);

		if (OBJ_cmp(obj, X509_NAME_ENTRY_get_object(o)) != 0)
			continue;
		if ((lb = ASN1_STRING_to_UTF8(&b,
		    X509_NAME_ENTRY_get_data(o))) >= 0)
			found = la == lb && memcmp(a, b, (size_t)la) == 0;
		OPENSSL_free(b);
		b = NULL;
	}
	OPENSSL_free(a);
	return found;
}

/* O and OU: the account's, not the request's, unless subject_from_csr. */
static bool
org_attr(const struct ra_endpoint *ep, const X509_NAME_ENTRY *ne)
{
	int	nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));

	return !ep->subject_from_csr && (nid == NID_organizationName ||
	    nid == NID_organizationalUnitName);
}

/*
 * The same subject: every attribute the request asks for is in the old
 * certificate, and each CN of the old one is asked for again. An
 * upstream that adds attributes of its profile (SCM) still matches.
 */
static bool
same_subject(const struct ra_endpoint *ep, const X509_NAME *old,
    const X509_NAME *req)
{
	const X509_NAME_ENTRY	*ne;
	int			 i;

	for (i = 0; i < X509_NAME_entry_count(req); i++) {
		ne = X509_NAME_get_entry(req, i);
		if (!org_attr(ep, ne) && !has_entry(old, ne))
			return false;
	}
	for (i = 0; i < X509_NAME_entry_count(old); i++) {
		ne = X509_NAME_get_entry(old, i);
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)) ==
		    NID_commonName && !has_entry(req, ne))
			return false;
	}
	return true;
}

/* Is every name of "a" in "b"? */
static bool
sans_in(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
	int	i, j;
	bool	found;

	for (i = 0; i < sk_GENERAL_NAME_num(a); i++) {
		found = false;
		for (j = 0; !found && j < sk_GENERAL_NAME_num(b); j++)
			found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i),
			    sk_GENERAL_NAME_value(b, j)) == 0;
		if (!found)
			return false;
	}
	return true;
}

enum sg_rc
ra_policy_renewal_names(X509 *old, const struct p7_csr *csr,
    const struct ra_endpoint *ep, struct sg_err *err)
{
	GENERAL_NAMES	*was = NULL, *asks = NULL;
	enum sg_rc	 rc;

	if (ep->renewal_any_names)
		return SG_OK;
	if (!same_subject(ep, X509_get_subject_name(old),
	    X509_REQ_get_subject_name(csr->req)))
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "RenewalReq subject %s differs from the certificate "
		    "renewed on endpoint '%s'", csr->subject, ep->name);
	if ((rc = csr_sans(csr->req, &asks, err)) != SG_OK)
		return rc;
	was = X509_get_ext_d2i(old, NID_subject_alt_name, NULL, NULL);
	if (!sans_in(was, asks) || !sans_in(asks, was))
		rc = sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "RenewalReq subjectAltNames differ from the certificate "
		    "renewed on endpoint '%s'", ep->name);
	GENERAL_NAMES_free(was);
	GENERAL_NAMES_free(asks);
	return rc;
}
