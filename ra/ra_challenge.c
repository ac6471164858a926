/*
 * One-time challenges (issue 13, ra.h, docs/challenges.md): minted by
 * scepctl or the admin API for one endpoint, good for one successful
 * enrollment before they expire, stored only as HMAC-SHA256 under the
 * server secret (a purpose prefix of their own: never an access code's
 * or a token's HMAC). A PKCSReq presenting one as its challengePassword
 * is admitted under the challenge's account (ra_challenge_admit); its
 * transaction claims the challenge when it is inserted and uses it up
 * with its certificate, both by conditional writes in the store, so two
 * requests (threads, or instances on one PostgreSQL) never get two
 * certificates from one challenge. Codes are never logged or audited:
 * challenges are named by their id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "ra_int.h"
#include "ra_json.h"

#define CHAL_PURPOSE	"scepgate: challenge, v1: "
/* Expired unused challenges stay listable (--all) this long. */
#define CHAL_KEEP_SECONDS	(7 * 86400)
/* The collector purges at most this often. */
#define CHAL_PURGE_SECONDS	3600

static const char *const status_names[] = {
	[RA_CHAL_OUTSTANDING] = "outstanding",
	[RA_CHAL_USED] = "used",
	[RA_CHAL_EXPIRED] = "expired",
	[RA_CHAL_REVOKED] = "revoked",
};

const char *
ra_chal_status_name(enum ra_chal_status s)
{
	if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "?";
	return status_names[s];
}

/* ---- minting ---- */

/*
 * The account a challenge of "ep" issues under: "name", or the only
 * account of the endpoint.
 */
static enum sg_rc
chal_account(struct ra *ra, const struct ra_endpoint *ep, const char *name,
    struct ra_account *out, struct sg_err *err)
{
	struct ra_account	*a = NULL;
	size_t			 n = 0;
	enum sg_rc		 rc;

	if (name != NULL && name[0] != '\0')
		return ra_store_account_by_name(ra->store, ep->name, name, out,
		    err);
	if ((rc = ra_store_account_list(ra->store, ep->name, &a, &n, err)) !=
	    SG_OK)
		return rc;
	if (n == 1)
		*out = a[0];
	else if (n == 0)
		rc = sg_err_set(err, SG_ENOTFOUND, "endpoint '%s' has no "
		    "account to issue under (scepctl account add)", ep->name);
	else
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' has %zu "
		    "accounts: name the one to issue under", ep->name, n);
	free(a);
	return rc;
}

/* Split "TYPE:value" of a SAN requirement; false if TYPE is unknown. */
static bool
san_split(const char *san, int *type, const char **value)
{
	static const struct {
		const char	*word;
		int		 type;
	} types[] = {
		{ "DNS:", GEN_DNS }, { "IP:", GEN_IPADD },
		{ "email:", GEN_EMAIL }, { "URI:", GEN_URI },
	};
	size_t	i, n;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i].word);
		if (strncasecmp(san, types[i].word, n) == 0 &&
		    san[n] != '\0') {
			*type = types[i].type;
			*value = san + n;
			return true;
		}
	}
	return false;
}

/* Is "san" a requirement a certificate can meet? */
static bool
san_ok(const char *san)
{
	ASN1_OCTET_STRING	*ip;
	const char		*v;
	int			 type;

	if (!san_split(san, &type, &v))
		return false;
	if (type != GEN_IPADD)
		return true;
	ip = a2i_IPADDRESS(v);
	ASN1_OCTET_STRING_free(ip);
	return ip != NULL;
}

/* Check what a request asks for; its lifetime into *life. */
static enum sg_rc
chal_check(const struct ra *ra, const struct ra_challenge_req *req,
    int *life, struct sg_err *err)
{
	const int	max = ra->conf->challenge_lifetime;

	*life = req->lifetime == 0 ? max : req->lifetime;
	if (*life < 1 || *life > max)
		return sg_err_set(err, SG_EPOLICY, "lifetime %d s: 1 to %d "
		    "(challenges.lifetime)", req->lifetime, max);
	if (req->cn != NULL && strlen(req->cn) >= RA_NAME_MAX)
		return sg_err_set(err, SG_EPOLICY, "required CN: too long");
	if (req->san != NULL && req->san[0] != '\0' &&
	    (strlen(req->san) >= RA_NAME_MAX || !san_ok(req->san)))
		return sg_err_set(err, SG_EPOLICY, "required SAN '%.64s': "
		    "DNS:name, IP:address, email:address or URI:uri",
		    req->san);
	return SG_OK;
}

/* The record to store for "req" on "ep" under "acct". */
static void
chal_rec(const struct ra_challenge_req *req, const struct ra_endpoint *ep,
    const struct ra_account *acct, int life, struct ra_chal_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->endpoint_id = ep->id;
	r->account_id = acct->id;
	snprintf(r->c.endpoint, sizeof(r->c.endpoint), "%s", ep->name);
	snprintf(r->c.account, sizeof(r->c.account), "%s", acct->name);
	snprintf(r->c.minted_by, sizeof(r->c.minted_by), "%s", ra_actor());
	snprintf(r->c.cn, sizeof(r->c.cn), "%s", req->cn ? req->cn : "");
	snprintf(r->c.san, sizeof(r->c.san), "%s", req->san ? req->san : "");
	r->c.status = RA_CHAL_OUTSTANDING;
	r->c.created = (int64_t)time(NULL);
	r->c.expires = r->c.created + life;
}

/* Mint the code and store its HMAC; the code into code_out. */
static enum sg_rc
chal_store(struct ra *ra, struct ra_chal_rec *r, char *code_out,
    struct sg_err *err)
{
	char		code[RA_CODE_MAX + 1];
	uint8_t		mac[32];
	enum sg_rc	rc;

	if ((rc = ra_policy_gen_code(code, sizeof(code))) != SG_OK ||
	    (rc = ra_purpose_hmac(ra, CHAL_PURPOSE, code, mac)) != SG_OK)
		(void)sg_err_set(err, rc, "challenge code");
	else if ((rc = ra_store_challenge_add(ra->store, r, mac,
	    ra->conf->challenge_max, err)) == SG_ELIMIT)
		(void)sg_err_set(err, rc, "endpoint '%s' has %d outstanding "
		    "challenges (challenges.max_outstanding): the password "
		    "cache is full", r->c.endpoint, ra->conf->challenge_max);
	if (rc == SG_OK)
		snprintf(code_out, RA_CODE_MAX + 1, "%s", code);
	OPENSSL_cleanse(code, sizeof(code));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

enum sg_rc
ra_challenge_add(struct ra *ra, const struct ra_challenge_req *req,
    char *code_out, struct ra_challenge *out, struct sg_err *err)
{
	struct ra_endpoint	ep;
	struct ra_account	acct = { 0 };
	struct ra_chal_rec	r;
	char			details[3 * RA_NAME_MAX];
	size_t			n;
	int			life = 0;
	enum sg_rc		rc;

	memset(&r, 0, sizeof(r));
	if ((rc = ra_store_endpoint_get(ra->store, req->endpoint, false, &ep,
	    err)) != SG_OK)
		goto out;
	if (ep.type == RA_EP_DEVICE_INTUNE || ep.type == RA_EP_CLIENT_INTUNE) {
		/* Intune validates its own challenges (docs/intune.md). */
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' is an Intune "
		    "endpoint: Intune issues its challenges", ep.name);
		goto out;
	}
	if ((rc = chal_check(ra, req, &life, err)) != SG_OK ||
	    (rc = chal_account(ra, &ep, req->account, &acct, err)) != SG_OK)
		goto out;
	chal_rec(req, &ep, &acct, life, &r);
	if ((rc = chal_store(ra, &r, code_out, err)) != SG_OK)
		goto out;
	if (out != NULL)
		*out = r.c;
out:
	/* The id once there is one; never the code. */
	n = 0;
	if (rc == SG_OK)
		n = (size_t)snprintf(details, sizeof(details), "challenge "
		    "%lld, ", (long long)r.c.id);
	snprintf(details + n, sizeof(details) - n, "lifetime %d s%s%s%s%s",
	    life, r.c.cn[0] ? ", CN " : "", r.c.cn, r.c.san[0] ? ", SAN " :
	    "", r.c.san);
	ra_audit_admin(ra, "challenge add", req->endpoint,
	    acct.name[0] ? acct.name : NULL, rc, err, details);
	return rc;
}

enum sg_rc
ra_challenge_list(struct ra *ra, const char *endpoint, bool all,
    struct ra_challenge **out, size_t *n, struct sg_err *err)
{
	return ra_store_challenge_list(ra->store, endpoint, all,
	    (int64_t)time(NULL), out, n, err);
}

enum sg_rc
ra_challenge_revoke(struct ra *ra, int64_t id, struct sg_err *err)
{
	struct ra_chal_rec	r;
	char			details[32];
	int64_t			now = (int64_t)time(NULL);
	enum sg_rc		rc;

	memset(&r, 0, sizeof(r));
	if ((rc = ra_store_challenge_get(ra->store, id, now, &r, err)) ==
	    SG_OK)
		rc = ra_store_challenge_revoke(ra->store, id, now, err);
	snprintf(details, sizeof(details), "challenge %lld", (long long)id);
	ra_audit_admin(ra, "challenge revoke", r.c.endpoint[0] ?
	    r.c.endpoint : NULL, r.c.account[0] ? r.c.account : NULL, rc,
	    err, details);
	return rc;
}

void
ra_challenge_purge(struct ra *ra, time_t now)
{
	struct sg_err	e;
	int64_t		n = 0;

	if (now < ra->chal_purge_due)
		return;
	ra->chal_purge_due = now + CHAL_PURGE_SECONDS;
	if (ra_store_challenge_purge(ra->store, (int64_t)now -
	    CHAL_KEEP_SECONDS, &n, &e) != SG_OK)
		sg_log(SG_LOG_ERR, "challenge purge: %s", e.msg);
	else if (n > 0)
		sg_log(SG_LOG_INFO, "purged %lld challenges expired over %d "
		    "days ago", (long long)n, CHAL_KEEP_SECONDS / 86400);
}

/* ---- consumption ---- */

/* Does a CN of "req" equal "cn" (case aside)? */
static bool
has_cn(X509_REQ *req, const char *cn)
{
	const X509_NAME	*name = X509_REQ_get_subject_name(req);
	unsigned char	*u = NULL;
	int		 i = -1;
	bool		 yes = false;

	while (!yes && (i = X509_NAME_get_index_by_NID(name, NID_commonName,
	    i)) >= 0) {
		if (ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, i))) >= 0)
			yes = strcasecmp((char *)u, cn) == 0;
		OPENSSL_free(u);
		u = NULL;
	}
	return yes;
}

/* Is general name "g" the SAN "type" "value"? */
static bool
san_is(const GENERAL_NAME *g, int type, const char *value)
{
	ASN1_OCTET_STRING	*ip;
	const ASN1_STRING	*s;
	bool			 yes;

	if (g->type != type)
		return false;
	if (type == GEN_IPADD) {
		if ((ip = a2i_IPADDRESS(value)) == NULL)
			return false;
		yes = ASN1_OCTET_STRING_cmp(ip, g->d.iPAddress) == 0;
		ASN1_OCTET_STRING_free(ip);
		return yes;
	}
	s = g->d.ia5;	/* dNSName, rfc822Name, URI: IA5String */
	return (size_t)ASN1_STRING_length(s) == strlen(value) &&
	    strncasecmp((const char *)ASN1_STRING_get0_data(s), value,
	    strlen(value)) == 0;
}

/* Does "req" ask for the subjectAltName "san" ("DNS:host")? */
static bool
has_san(X509_REQ *req, const char *san)
{
	STACK_OF(X509_EXTENSION)	*exts;
	GENERAL_NAMES			*gens = NULL;
	const char			*value;
	int				 type, i;
	bool				 yes = false;

	if (!san_split(san, &type, &value) ||
	    (exts = X509_REQ_get_extensions(req)) == NULL)
		return false;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; !yes && i < sk_GENERAL_NAME_num(gens); i++)
		yes = san_is(sk_GENERAL_NAME_value(gens, i), type, value);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return yes;
}

/* May challenge "r" admit this request now? False: op holds FAILURE. */
static bool
chal_usable(struct ra_op *op, const struct ra_chal_rec *r,
    const struct p7_csr *csr)
{
	const long long	id = (long long)r->c.id;

	if (r->c.status == RA_CHAL_USED)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "challenge already used",
		    "challenge %lld already used (serial %s)", id, r->c.serial);
	else if (r->c.status == RA_CHAL_EXPIRED)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "challenge expired",
		    "challenge %lld expired", id);
	else if (r->c.status == RA_CHAL_REVOKED)
		ra_op_fail(op, SG_FAIL_BADREQUEST, "challenge revoked",
		    "challenge %lld revoked", id);
	else if (r->c.cn[0] != '\0' && !has_cn(csr->req, r->c.cn))
		ra_op_fail(op, SG_FAIL_BADREQUEST, "CN does not match the "
		    "challenge", "challenge %lld requires CN '%s'", id,
		    r->c.cn);
	else if (r->c.san[0] != '\0' && !has_san(csr->req, r->c.san))
		ra_op_fail(op, SG_FAIL_BADREQUEST, "subjectAltName does not "
		    "match the challenge", "challenge %lld requires SAN '%s'",
		    id, r->c.san);
	else
		return true;
	return false;
}

enum ra_chal_admit
ra_challenge_admit(struct ra_op *op, const struct p7_csr *csr,
    struct ra_account *acct)
{
	struct ra_chal_rec	r;
	struct sg_err		e;
	uint8_t			mac[32];
	enum sg_rc		rc;

	rc = ra_purpose_hmac(op->ra, CHAL_PURPOSE, csr->challenge, mac);
	if (rc != SG_OK)
		(void)sg_err_set(&e, rc, "challenge HMAC");
	else
		rc = ra_store_challenge_by_code(op->ra->store, op->ep.id, mac,
		    (int64_t)time(NULL), &r, &e);
	OPENSSL_cleanse(mac, sizeof(mac));
	if (rc == SG_ENOTFOUND)
		return RA_CHAL_ADMIT_NONE;
	if (rc == SG_OK && !chal_usable(op, &r, csr))
		return RA_CHAL_ADMIT_REFUSED;
	if (rc == SG_OK)
		rc = ra_store_account_by_id(op->ra->store, r.account_id, acct,
		    &e);
	if (rc == SG_ENOTFOUND) {
		ra_op_fail(op, SG_FAIL_BADREQUEST, "request refused",
		    "challenge %lld: its account no longer exists",
		    (long long)r.c.id);
		return RA_CHAL_ADMIT_REFUSED;
	}
	if (rc != SG_OK) {
		ra_op_internal(op, "challenge", &e);
		return RA_CHAL_ADMIT_REFUSED;
	}
	op->challenge_id = r.c.id;
	sg_log(SG_LOG_INFO, "transid=%s: challenge %lld of endpoint %s, "
	    "account %s", op->tid, (long long)r.c.id, op->ep.name, acct->name);
	return RA_CHAL_ADMIT_OK;
}

json_t *
ra_json_challenge(const struct ra_challenge *c)
{
	char	created[32], expires[32], used[32];

	ra_json_time(c->created, created, sizeof(created));
	ra_json_time(c->expires, expires, sizeof(expires));
	ra_json_time(c->used, used, sizeof(used));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s}", "id", (json_int_t)c->id, "endpoint", c->endpoint,
	    "account", c->account, "minted_by", c->minted_by, "cn", c->cn,
	    "san", c->san, "status", ra_chal_status_name(c->status),
	    "created", created, "expires_at", expires, "used_at", used,
	    "serial", c->serial);
}
