/*
 * API tokens (issue 13, ra.h): the bearer tokens of the admin API and
 * the NDES page. A token is "sgt_" and 32 random bytes in base64url,
 * shown once; the store keeps only its HMAC-SHA256 under the server
 * secret, with a purpose prefix of its own, so that a token's HMAC is
 * never an access code's or a challenge's. Tokens are never logged or
 * audited, only their names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ra_int.h"
#include "ra_json.h"

#define TOKEN_PREFIX	"sgt_"
#define TOKEN_BYTES	32
/* What a token's HMAC is taken over: this, then the token. */
#define TOKEN_PURPOSE	"scepgate: api token, v1: "
/* A use is recorded at most this often (each record is a commit). */
#define TOKEN_USE_SECONDS	60

static const char *const scope_names[] = {
	[RA_SCOPE_CHALLENGE] = "challenge",
	[RA_SCOPE_READ] = "read",
	[RA_SCOPE_ADMIN] = "admin",
};

bool
ra_scope_parse(const char *s, enum ra_scope *out)
{
	size_t	i;

	for (i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
		if (strcmp(s, scope_names[i]) == 0) {
			*out = (enum ra_scope)i;
			return true;
		}
	return false;
}

const char *
ra_scope_name(enum ra_scope s)
{
	if ((size_t)s >= sizeof(scope_names) / sizeof(scope_names[0]))
		return "?";
	return scope_names[s];
}

enum sg_rc
ra_purpose_hmac(const struct ra *ra, const char *purpose, const char *secret,
    uint8_t out[32])
{
	char		buf[RA_CODE_MAX + 128];
	enum sg_rc	rc;
	int		n;

	n = snprintf(buf, sizeof(buf), "%s%s", purpose, secret);
	if (n < 0 || (size_t)n >= sizeof(buf))
		rc = SG_ELIMIT;
	else
		rc = ra_keys_code_hmac(&ra->keys, buf, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* A new token text into out (RA_TOKEN_MAX bytes). */
static enum sg_rc
token_new(char *out, struct sg_err *err)
{
	uint8_t		 r[TOKEN_BYTES];
	char		*b64 = NULL, *p;
	enum sg_rc	 rc = SG_OK;

	if (RAND_bytes(r, sizeof(r)) != 1) {
		rc = sg_err_set(err, SG_EINTERNAL, "token: random bytes");
		goto out;
	}
	if ((rc = sg_b64_encode(r, sizeof(r), &b64)) != SG_OK) {
		(void)sg_err_set(err, rc, "token: base64");
		goto out;
	}
	/* base64url (RFC 4648 5), no padding. */
	for (p = b64; *p != '\0'; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=')
			*p = '\0';
	snprintf(out, RA_TOKEN_MAX, "%s%s", TOKEN_PREFIX, b64);
out:
	if (b64 != NULL) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	OPENSSL_cleanse(r, sizeof(r));
	return rc;
}

/* The endpoint a token is bound to must exist. */
static enum sg_rc
token_check(struct ra *ra, const struct ra_token *tok, struct sg_err *err)
{
	struct ra_endpoint	ep;

	if (!ra_policy_name_ok(tok->name))
		return sg_err_set(err, SG_EPOLICY, "token name '%s': letters, "
		    "digits and \" ._-@\" only", tok->name);
	if ((size_t)tok->scope >= sizeof(scope_names) / sizeof(scope_names[0]))
		return sg_err_set(err, SG_EPOLICY, "unknown scope");
	if (tok->endpoint[0] == '\0')
		return SG_OK;
	return ra_store_endpoint_get(ra->store, tok->endpoint, false, &ep,
	    err);
}

enum sg_rc
ra_token_add(struct ra *ra, struct ra_token *tok, char *secret_out,
    struct sg_err *err)
{
	char		text[RA_TOKEN_MAX];
	uint8_t		mac[32];
	char		details[RA_NAME_MAX + 32];
	enum sg_rc	rc;

	if ((rc = token_check(ra, tok, err)) != SG_OK ||
	    (rc = token_new(text, err)) != SG_OK)
		goto out;
	if ((rc = ra_purpose_hmac(ra, TOKEN_PURPOSE, text, mac)) != SG_OK) {
		(void)sg_err_set(err, rc, "token HMAC");
		goto out;
	}
	tok->created = (int64_t)time(NULL);
	tok->last_used = 0;
	tok->revoked = false;
	rc = ra_store_token_add(ra->store, tok, mac, err);
	if (rc == SG_EEXIST)
		(void)sg_err_set(err, rc, "token '%s' exists (names are not "
		    "reused)", tok->name);
	if (rc == SG_OK)
		snprintf(secret_out, RA_TOKEN_MAX, "%s", text);
out:
	snprintf(details, sizeof(details), "token %s, scope %s", tok->name,
	    ra_scope_name(tok->scope));
	ra_audit_admin(ra, "token add", tok->endpoint[0] ? tok->endpoint :
	    NULL, NULL, rc, err, details);
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

enum sg_rc
ra_token_list(struct ra *ra, struct ra_token **out, size_t *n,
    struct sg_err *err)
{
	return ra_store_token_list(ra->store, out, n, err);
}

enum sg_rc
ra_token_revoke(struct ra *ra, const char *name, struct sg_err *err)
{
	char		details[RA_NAME_MAX + 8];
	enum sg_rc	rc;

	rc = ra_store_token_revoke(ra->store, name, (int64_t)time(NULL), err);
	snprintf(details, sizeof(details), "token %s", name);
	ra_audit_admin(ra, "token revoke", NULL, NULL, rc, err, details);
	return rc;
}

/* Record the use of "tok" now and then; a failure only logs. */
static void
token_used(struct ra *ra, struct ra_token *tok)
{
	struct sg_err	e;
	int64_t		now = (int64_t)time(NULL);

	if (now - tok->last_used < TOKEN_USE_SECONDS)
		return;
	if (ra_store_token_used(ra->store, tok->id, now, &e) != SG_OK)
		sg_log(SG_LOG_WARN, "token '%s': last use not recorded: %s",
		    tok->name, e.msg);
	else
		tok->last_used = now;
}

enum sg_rc
ra_token_verify(struct ra *ra, const char *secret, const char *name,
    struct ra_token *tok, struct sg_err *err)
{
	struct ra_token	t;
	uint8_t		mac[32], stored[32];
	enum sg_rc	rc;
	bool		ok;

	memset(stored, 0, sizeof(stored));
	if (secret == NULL || strncmp(secret, TOKEN_PREFIX,
	    strlen(TOKEN_PREFIX)) != 0 || strlen(secret) >= RA_TOKEN_MAX)
		rc = SG_ENOTFOUND;	/* no token looks like that */
	else if ((rc = ra_purpose_hmac(ra, TOKEN_PURPOSE, secret, mac)) !=
	    SG_OK)
		(void)sg_err_set(err, rc, "token HMAC");
	else
		rc = ra_store_token_by_hmac(ra->store, mac, &t, stored, err);
	if (rc == SG_OK) {
		/* The index found it; the bytes are compared in constant
		 * time all the same, then the name and the revocation. */
		ok = CRYPTO_memcmp(mac, stored, sizeof(mac)) == 0;
		ok = ok && !t.revoked && (name == NULL ||
		    strcmp(name, t.name) == 0);
		if (!ok)
			rc = SG_ENOTFOUND;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(stored, sizeof(stored));
	if (rc == SG_ENOTFOUND)
		return sg_err_set(err, SG_EPOLICY, "bad token");
	if (rc != SG_OK)
		return rc;
	token_used(ra, &t);
	*tok = t;
	return SG_OK;
}

bool
ra_token_allows(const struct ra_token *tok, enum ra_scope need,
    const char *endpoint)
{
	bool	bound_ok;

	if (tok == NULL || tok->revoked)
		return false;
	bound_ok = tok->endpoint[0] == '\0' || (endpoint != NULL &&
	    strcmp(endpoint, tok->endpoint) == 0);
	switch (need) {
	case RA_SCOPE_ADMIN:
		return tok->scope == RA_SCOPE_ADMIN && bound_ok;
	case RA_SCOPE_READ:
		return (tok->scope == RA_SCOPE_ADMIN ||
		    tok->scope == RA_SCOPE_READ) && bound_ok;
	case RA_SCOPE_CHALLENGE:
		/* Minting is about one endpoint, always. */
		return endpoint != NULL && bound_ok &&
		    (tok->scope == RA_SCOPE_CHALLENGE ||
		    tok->scope == RA_SCOPE_ADMIN);
	}
	return false;
}

json_t *
ra_json_token(const struct ra_token *t)
{
	char	created[32], used[32];

	ra_json_time(t->created, created, sizeof(created));
	ra_json_time(t->last_used, used, sizeof(used));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)t->id, "name", t->name,
	    "scope", ra_scope_name(t->scope), "endpoint", t->endpoint,
	    "created", created, "last_used", used,
	    "state", t->revoked ? "revoked" : "active");
}
