/*
 * Inside ra/http/: the pure pieces of the client (answer parsing, back-off
 * arithmetic, the token cache), apart so that tests/unit/test_http.c and
 * the fuzz targets can drive them without sockets or clocks.
 */
#ifndef RA_HTTP_INT_H
#define RA_HTTP_INT_H

#include <pthread.h>
#include <time.h>

#include "ra_http.h"

#define RA_HTTP_TOKEN_MAX	4096	/* bytes of a bearer token, NUL too */
#define RA_HTTP_SCOPE_MAX	256
#define RA_HTTP_NTOKENS		8	/* scopes cached per token source */

/* A cached token; exp is when to fetch a new one (ra_http_now_ms). */
struct ra_http_tok {
	char		 scope[RA_HTTP_SCOPE_MAX];
	char		 token[RA_HTTP_TOKEN_MAX];	/* "" if none */
	int64_t		 exp;
};

struct ra_http_oauth {
	struct ra_http	*http;		/* borrowed */
	char		*token_url;
	char		*client_id;
	struct ra_secret secret;

	pthread_mutex_t	 lock;		/* guards tok[] */
	struct ra_http_tok tok[RA_HTTP_NTOKENS];
	size_t		 ntok;

	pthread_mutex_t	 fetch_lock;	/* one token request at a time */
	struct ra_http_auth auth;	/* this, as a token source */
};

/*
 * The cache alone, with the clock as an argument. tok_get copies the
 * token of "scope" (NULL means "") into out if one is cached, fits and
 * is not due at "now". tok_put stores "tok", valid "ttl" seconds from
 * "now", due 60 s early (half the ttl when that is 120 s or less); when
 * the cache is full the entry due first goes. tok_drop forgets a scope.
 */
bool		 ra_http_tok_get(struct ra_http_oauth *, const char *scope,
		    int64_t now, char *out, size_t outsz);
void		 ra_http_tok_put(struct ra_http_oauth *, const char *scope,
		    const char *tok, long ttl, int64_t now);

/*
 * An OAuth token answer (RFC 6749 5.1): access_token into tok (toksz
 * bytes; only RFC 6750 b64token characters, so it fits in a header) and
 * expires_in (300 if absent or out of range). SG_EPARSE if there is no
 * usable token. "body" is borrowed and need not be NUL-terminated; the
 * parsed copy of the token is wiped.
 */
enum sg_rc	 ra_http_token_parse(const uint8_t *body, size_t len,
		    char *tok, size_t toksz, long *expires_in);
/*
 * An OAuth error answer (RFC 6749 5.2): "error", then ": " and
 * "error_description" when present, made printable, into desc ("" if
 * none or not JSON).
 */
void		 ra_http_oauth_error(const uint8_t *body, size_t len,
		    char *desc, size_t descsz);

/* Retry-After in seconds (delta or HTTP date, RFC 9110 10.2.3), or -1. */
long		 ra_http_retry_after(const char *value, time_t now);
/*
 * Milliseconds to wait before try "attempt" + 2: exponential from
 * 500 ms, capped at 8 s, with jitter from "rnd", never less than
 * Retry-After (seconds, -1 for none).
 */
long		 ra_http_backoff_ms(unsigned attempt, long retry_after,
		    unsigned rnd);
/* The default busy rule: 429 and 5xx. */
bool		 ra_http_busy_default(long http, const uint8_t *body,
		    size_t len, void *arg);

#endif /* RA_HTTP_INT_H */
