/*
 * ra/http/: outbound HTTPS shared by the upstreams and the outside
 * services (SCM today, Intune next): a pool of curl handles with the
 * TLS options, one retry engine, an OAuth client-credentials token
 * cache and the one reader of secret and key files. Only this folder
 * includes curl/curl.h.
 *
 * Threads: one struct ra_http and its struct ra_http_oauth serve every
 * thread at once; their locks are inside.
 *
 * Clock: deadlines are milliseconds of ra_http_now_ms() (monotonic).
 */
#ifndef RA_HTTP_H
#define RA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg.h"

/* ---- secret and key files ---- */

/* A secret read from a file; "data" is NUL-terminated. */
struct ra_secret {
	char	*data;
	size_t	 len;
};

/* One line: the final line break and blanks dropped, no other control. */
#define RA_SECRET_LINE	0x1u

/*
 * Read the file "path" whole into *out, for secrets and private keys.
 * Refused with SG_ECONF: not a regular file (fstat, so a directory, a
 * FIFO or a device never is), readable or writable by group or others
 * (the message says "chmod 600"), larger than "max" bytes, or with
 * RA_SECRET_LINE empty or more than one line. SG_EIO if it cannot be
 * opened or read. Messages start "what: path:" and never hold the
 * content. On success *out belongs to the caller: ra_secret_free().
 */
enum sg_rc	 ra_secret_read(const char *path, const char *what, size_t max,
		    unsigned flags, struct ra_secret *out, struct sg_err *err);
/* Wipe (OPENSSL_cleanse) and free the content, zero *s; NULL allowed. */
void		 ra_secret_free(struct ra_secret *s);

/* ---- the client ---- */

struct ra_http;

/* TLS options; each path NULL or "" for none. */
struct ra_http_tls {
	const char	*ca_file;	/* PEM CAs; none: the system store */
	const char	*cert_file;	/* PEM client certificate */
	const char	*key_file;	/* its PEM key (ra_secret_read) */
};

/*
 * A client named "name" (in log lines and errors: "SCM"). The TLS files
 * are read once here, never per request; every request presents the
 * client certificate when one is given. Calls curl_global_init(): open
 * clients before starting threads. Free *out with ra_http_free().
 */
enum sg_rc	 ra_http_new(const char *name, const struct ra_http_tls *tls,
		    struct ra_http **out, struct sg_err *err);
void		 ra_http_free(struct ra_http *);

struct ra_http_oauth;

/*
 * Where a request's Bearer token comes from: a source of tokens per
 * scope, with a way to forget one that a 401 refused. The transport
 * calls it through these pointers only, so that ra_http.c does not
 * depend on the OAuth client (ra_http_oauth_auth() hands one out).
 */
struct ra_http_auth {
	enum sg_rc	(*token)(void *src, const char *scope,
			    int64_t deadline, char *out, size_t outsz,
			    struct sg_err *err);
	void		(*drop)(void *src, const char *scope);
	void		*src;
};

/* One extra request header; "value" may be a secret (copies are wiped). */
struct ra_http_hdr {
	const char	*name;
	const char	*value;
};

struct ra_http_resp;

/*
 * Is this answer "busy, ask again later"? Called for every answer that
 * arrived, any status. NULL in a request: 429 and 5xx are.
 */
typedef bool	 ra_http_busy_fn(long http, const uint8_t *body, size_t len,
		    void *arg);

/* One logical request; everything borrowed for the call. */
struct ra_http_req {
	const char	*what;		/* "enroll": for logs and errors */
	const char	*method;	/* "GET" or "POST" */
	const char	*url;		/* http or https only */
	const char	*body;		/* POST, NUL-terminated; NULL: empty */
	const char	*content_type;	/* of the body; NULL: none */
	const struct ra_http_hdr *hdrs;	/* may be NULL */
	size_t		 nhdrs;
	const struct ra_http_auth *auth; /* Authorization: Bearer; or NULL */
	const char	*scope;		/* the token's scope; NULL: none */
	bool		 replay;	/* safe to send again if the answer
					   may have been lost (idempotent) */
	int		 tries;		/* 0: as many as the deadline allows */
	int64_t		 deadline;	/* ra_http_now_ms() */
	ra_http_busy_fn	*busy;		/* NULL: 429 and 5xx */
	void		*arg;		/* for busy */
};

struct ra_http_resp {
	long		 http;		/* status of the last answer */
	struct sg_buf	 body;		/* its body, at most 8 MiB */
	long		 retry_after;	/* its Retry-After, seconds; -1 none */
};

/*
 * Send "q" until the answer is not busy. Busy answers (q->busy) and
 * transport errors are tried again after a jittered exponential pause
 * (ra_http_backoff_ms) that honours Retry-After, while the deadline
 * allows and at most q->tries times; a transport error where the
 * request may have arrived is tried again only with q->replay. With
 * q->auth, a 401 drops the scope's token and fetches a new one, once.
 *
 * SG_OK: an answer (any status, perhaps still busy when time ran out)
 * is in *r, which the caller frees with ra_http_resp_free(). Otherwise
 * SG_EUPSTREAM (failInfo badRequest) when no answer came in time,
 * SG_ENOMEM, or the token fetch's error; *r then holds nothing.
 */
enum sg_rc	 ra_http_call(struct ra_http *, const struct ra_http_req *q,
		    struct ra_http_resp *r, struct sg_err *err);
/* Wipe and free the body (it may hold a token); NULL allowed. */
void		 ra_http_resp_free(struct ra_http_resp *);

/* ---- OAuth 2.0 client credentials (RFC 6749 4.4) ---- */

/*
 * A token source: POST token_url with grant_type=client_credentials,
 * client_id, client_secret and, when asked for one, scope. Tokens are
 * cached per scope until shortly before expires_in (60 s, or half the
 * lifetime of short ones). "http" is borrowed and must outlive it; the
 * strings are copied, "secret" into memory wiped on free. Free *out with
 * ra_http_oauth_free().
 */
enum sg_rc	 ra_http_oauth_new(struct ra_http *http, const char *token_url,
		    const char *client_id, const char *secret,
		    struct ra_http_oauth **out, struct sg_err *err);
void		 ra_http_oauth_free(struct ra_http_oauth *);
/* The token source of "o" for ra_http_req.auth; lives as long as "o". */
const struct ra_http_auth *ra_http_oauth_auth(struct ra_http_oauth *o);

/*
 * The token for "scope" (NULL or "": no scope sent) into out (outsz
 * bytes), from the cache or fetched now (one fetch at a time). The
 * caller wipes out. Errors: SG_EUPSTREAM with the token server's error
 * text (never the secret), or the transport's.
 */
enum sg_rc	 ra_http_oauth_token(struct ra_http_oauth *, const char *scope,
		    int64_t deadline, char *out, size_t outsz,
		    struct sg_err *err);
/* Forget the token of "scope" (a 401 said it is no good). */
void		 ra_http_oauth_drop(struct ra_http_oauth *, const char *scope);

/* ---- time ---- */

/* Monotonic milliseconds: the clock of every deadline here. */
int64_t		 ra_http_now_ms(void);
/* Sleep "ms" milliseconds (through signals). */
void		 ra_http_sleep_ms(int64_t ms);

#endif /* RA_HTTP_H */
