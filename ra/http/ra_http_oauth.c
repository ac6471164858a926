/*
 * OAuth 2.0 client credentials (RFC 6749 4.4) with a token cache keyed
 * by scope: SCM's Admin API wants one token without a scope (SCM notes
 * 1.3), Intune one for Graph and one for its SCEP service
 * (intune-scep.md 3). The secret and the tokens are wiped when dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "ra_http_int.h"

/* ---- answers ---- */

static json_t *
json_obj(const uint8_t *body, size_t len)
{
	json_t	*j;

	if (body == NULL || len == 0)
		return NULL;
	j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

enum sg_rc
ra_http_token_parse(const uint8_t *body, size_t len, char *tok, size_t toksz,
    long *expires_in)
{
	json_t		*j, *t, *e;
	const char	*v;
	enum sg_rc	 rc = SG_EPARSE;
	size_t		 n;

	*expires_in = 300;	/* what clients assume (SCM notes 1.3) */
	if ((j = json_obj(body, len)) == NULL)
		return SG_EPARSE;
	t = json_object_get(j, "access_token");
	e = json_object_get(j, "expires_in");
	if (json_is_string(t)) {
		v = json_string_value(t);
		n = json_string_length(t);
		/* RFC 6750 2.1 b64token characters. */
		if (n > 0 && n < toksz && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-._~+/=") == n) {
			memcpy(tok, v, n + 1);
			rc = SG_OK;
		}
		/* The token is a secret: do not leave it in freed memory. */
		OPENSSL_cleanse((char *)v, n);
	}
	if (json_is_integer(e) && json_integer_value(e) > 0 &&
	    json_integer_value(e) < 86400 * 366)
		*expires_in = (long)json_integer_value(e);
	json_decref(j);
	return rc;
}

void
ra_http_oauth_error(const uint8_t *body, size_t len, char *desc,
    size_t descsz)
{
	json_t		*j, *e, *d;
	char		 text[400];

	if (descsz == 0)
		return;
	desc[0] = '\0';
	if ((j = json_obj(body, len)) == NULL)
		return;
	e = json_object_get(j, "error");
	d = json_object_get(j, "error_description");
	if (json_is_string(e)) {
		snprintf(text, sizeof(text), "%s%s%s", json_string_value(e),
		    json_is_string(d) ? ": " : "",
		    json_is_string(d) ? json_string_value(d) : "");
		sg_safe_str(text, desc, descsz);
	}
	json_decref(j);
}

/* ---- the cache ---- */

static struct ra_http_tok *
tok_find(struct ra_http_oauth *o, const char *scope)
{
	size_t	i;

	for (i = 0; i < o->ntok; i++)
		if (strcmp(o->tok[i].scope, scope) == 0)
			return &o->tok[i];
	return NULL;
}

bool
ra_http_tok_get(struct ra_http_oauth *o, const char *scope, int64_t now,
    char *out, size_t outsz)
{
	struct ra_http_tok	*t;
	bool			 ok = false;
	size_t			 n;

	pthread_mutex_lock(&o->lock);
	if ((t = tok_find(o, scope != NULL ? scope : "")) != NULL &&
	    t->token[0] != '\0' && now < t->exp &&
	    (n = strlen(t->token)) < outsz) {
		memcpy(out, t->token, n + 1);
		ok = true;
	}
	pthread_mutex_unlock(&o->lock);
	return ok;
}

void
ra_http_tok_put(struct ra_http_oauth *o, const char *scope, const char *tok,
    long ttl, int64_t now)
{
	struct ra_http_tok	*t;
	long			 margin;
	size_t			 i;

	if (scope == NULL)
		scope = "";
	/* Refresh 60 s before expiry, or halfway for short-lived tokens. */
	margin = ttl > 120 ? 60 : ttl / 2;
	pthread_mutex_lock(&o->lock);
	if ((t = tok_find(o, scope)) == NULL) {
		if (o->ntok < RA_HTTP_NTOKENS)
			t = &o->tok[o->ntok++];
		else
			for (t = &o->tok[0], i = 1; i < o->ntok; i++)
				if (o->tok[i].exp < t->exp)
					t = &o->tok[i];
	}
	OPENSSL_cleanse(t, sizeof(*t));
	snprintf(t->scope, sizeof(t->scope), "%s", scope);
	snprintf(t->token, sizeof(t->token), "%s", tok);
	t->exp = now + (int64_t)(ttl - margin) * 1000;
	pthread_mutex_unlock(&o->lock);
}

void
ra_http_oauth_drop(struct ra_http_oauth *o, const char *scope)
{
	struct ra_http_tok	*t;

	pthread_mutex_lock(&o->lock);
	if ((t = tok_find(o, scope != NULL ? scope : "")) != NULL) {
		OPENSSL_cleanse(t->token, sizeof(t->token));
		t->exp = 0;
	}
	pthread_mutex_unlock(&o->lock);
}

/* ---- the token request ---- */

/* The form, in one exact buffer: no copy of the secret is left behind. */
static char *
form_new(const struct ra_http_oauth *o, const char *scope, size_t *n)
{
	static const char	 fmt[] = "grant_type=client_credentials"
				    "&client_id=%s&client_secret=%s%s%s";
	char			*id, *sec, *sc = NULL, *form = NULL;

	id = curl_easy_escape(NULL, o->client_id, 0);
	sec = curl_easy_escape(NULL, o->secret.data, 0);
	if (scope != NULL && scope[0] != '\0')
		sc = curl_easy_escape(NULL, scope, 0);
	if (id != NULL && sec != NULL && (sc != NULL || scope == NULL ||
	    scope[0] == '\0')) {
		*n = sizeof(fmt) + strlen(id) + strlen(sec) +
		    (sc != NULL ? strlen(sc) + 7 : 0);
		if ((form = malloc(*n)) != NULL)
			snprintf(form, *n, fmt, id, sec, sc != NULL ?
			    "&scope=" : "", sc != NULL ? sc : "");
	}
	if (sec != NULL)
		OPENSSL_cleanse(sec, strlen(sec));
	curl_free(sc);
	curl_free(sec);
	curl_free(id);
	return form;
}

/* Fetch a token for "scope" into the cache; fetch_lock is held. */
static enum sg_rc
token_fetch(struct ra_http_oauth *o, const char *scope, int64_t deadline,
    struct sg_err *err)
{
	struct ra_http_req	 q = { 0 };
	struct ra_http_resp	 r = { 0 };
	char			*form, tok[RA_HTTP_TOKEN_MAX], desc[200];
	size_t			 n = 0;
	long			 ttl = 0;
	enum sg_rc		 rc;

	if ((form = form_new(o, scope, &n)) == NULL)
		return sg_err_set(err, SG_ENOMEM, "OAuth token request");
	q.what = "OAuth token";
	q.method = "POST";
	q.url = o->token_url;
	q.body = form;
	q.content_type = "application/x-www-form-urlencoded";
	q.hdrs = &(const struct ra_http_hdr){ "Accept", "application/json" };
	q.nhdrs = 1;
	q.replay = true;	/* a second token does no harm */
	q.deadline = deadline;
	rc = ra_http_call(o->http, &q, &r, err);
	OPENSSL_clear_free(form, n);
	if (rc != SG_OK)
		return rc;
	if (r.http != 200) {
		ra_http_oauth_error(r.body.data, r.body.len, desc,
		    sizeof(desc));
		rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "OAuth token for %s: HTTP %ld%s%s (check the client id and "
		    "secret)", o->client_id, r.http,
		    desc[0] != '\0' ? ": " : "", desc);
	} else if (ra_http_token_parse(r.body.data, r.body.len, tok,
	    sizeof(tok), &ttl) != SG_OK) {
		rc = sg_err_fail(err, SG_EUPSTREAM, SG_FAIL_BADREQUEST,
		    "OAuth token for %s: no access_token in the answer",
		    o->client_id);
	} else {
		ra_http_tok_put(o, scope, tok, ttl, ra_http_now_ms());
		sg_log(SG_LOG_INFO, "oauth: new token for client %s%s%s, "
		    "valid %ld s", o->client_id, scope != NULL &&
		    scope[0] != '\0' ? ", scope " : "", scope != NULL ?
		    scope : "", ttl);
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	ra_http_resp_free(&r);
	return rc;
}

enum sg_rc
ra_http_oauth_token(struct ra_http_oauth *o, const char *scope,
    int64_t deadline, char *out, size_t outsz, struct sg_err *err)
{
	enum sg_rc	rc = SG_OK;

	if (ra_http_tok_get(o, scope, ra_http_now_ms(), out, outsz))
		return SG_OK;
	pthread_mutex_lock(&o->fetch_lock);
	/* Another thread may have fetched one while we waited. */
	if (!ra_http_tok_get(o, scope, ra_http_now_ms(), out, outsz) &&
	    (rc = token_fetch(o, scope, deadline, err)) == SG_OK &&
	    !ra_http_tok_get(o, scope, ra_http_now_ms(), out, outsz))
		rc = sg_err_set(err, SG_EUPSTREAM, "OAuth token for %s "
		    "expired at once", o->client_id);
	pthread_mutex_unlock(&o->fetch_lock);
	return rc;
}

static enum sg_rc
auth_token(void *src, const char *scope, int64_t deadline, char *out,
    size_t outsz, struct sg_err *err)
{
	return ra_http_oauth_token(src, scope, deadline, out, outsz, err);
}

static void
auth_drop(void *src, const char *scope)
{
	ra_http_oauth_drop(src, scope);
}

const struct ra_http_auth *
ra_http_oauth_auth(struct ra_http_oauth *o)
{
	return o != NULL ? &o->auth : NULL;
}

enum sg_rc
ra_http_oauth_new(struct ra_http *http, const char *token_url,
    const char *client_id, const char *secret, struct ra_http_oauth **out,
    struct sg_err *err)
{
	struct ra_http_oauth	*o;
	size_t			 n = strlen(secret);

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "OAuth client");
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->fetch_lock, NULL);
	o->http = http;
	o->auth.token = auth_token;
	o->auth.drop = auth_drop;
	o->auth.src = o;
	o->token_url = strdup(token_url);
	o->client_id = strdup(client_id);
	if ((o->secret.data = malloc(n + 1)) != NULL) {
		memcpy(o->secret.data, secret, n + 1);
		o->secret.len = n;
	}
	if (o->token_url == NULL || o->client_id == NULL ||
	    o->secret.data == NULL) {
		ra_http_oauth_free(o);
		return sg_err_set(err, SG_ENOMEM, "OAuth client");
	}
	*out = o;
	return SG_OK;
}

void
ra_http_oauth_free(struct ra_http_oauth *o)
{
	if (o == NULL)
		return;
	free(o->token_url);
	free(o->client_id);
	ra_secret_free(&o->secret);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->fetch_lock);
	OPENSSL_cleanse(o, sizeof(*o));	/* the tokens */
	free(o);
}
