/*
 * common/: the few helpers every folder may use: error codes and
 * messages, logging, bounded byte buffers, lenient base64.
 *
 * Mutable globals in the whole program (the only ones, STYLE.md 6):
 *  - the log sink, level and format in sg_log.c (set once at startup);
 *  - the request id in sg_log.c, a thread-local: server/ sets it on the
 *    thread handling a request and clears it after, sg_log() and ra/ read
 *    it (log lines, the X-Request-ID of upstream calls, the audit);
 *  - OpenSSL's own library state (providers loaded once at startup), and
 *    the PKCS#11 engine of ra/ra_pkcs11.c (started on the first pkcs11:
 *    key, kept until exit; under its lock);
 *  - the upstream call histogram in ra/http/ra_http.c (under its lock:
 *    the HTTP clients live in backends /metrics never reaches);
 *  - jansson's allocator, set once (pthread_once) by
 *    ra_json_wipe_install() in ra/ra_intune.c to a free that wipes.
 */
#ifndef SG_H
#define SG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every function returning enum sg_rc must have its result looked at:
 * clang warns for each ignored one (-Werror in CI makes it an error).
 * GCC cannot mark a type, so there it is a no-op.
 */
#if defined(__clang__)
#define SG_MUSTCHECK	__attribute__((warn_unused_result))
#else
#define SG_MUSTCHECK
#endif

enum SG_MUSTCHECK sg_rc {
	SG_OK = 0,
	SG_ENOMEM,	/* out of memory */
	SG_EPARSE,	/* malformed input */
	SG_EBADSIG,	/* a signature did not verify */
	SG_EDECRYPT,	/* an envelope could not be opened */
	SG_EALG,	/* unsupported algorithm */
	SG_EPOLICY,	/* refused by policy (access code, key size, ...) */
	SG_ENOTFOUND,	/* no such object */
	SG_EEXIST,	/* object exists already */
	SG_EUPSTREAM,	/* the upstream CA failed */
	SG_ESTORE,	/* the database failed */
	SG_ECONF,	/* bad configuration */
	SG_EIO,		/* a file or socket failed */
	SG_ELIMIT,	/* a size limit was hit */
	SG_EINTERNAL,	/* a bug or an OpenSSL failure */
};

/* SCEP failInfo values (RFC 8894 3.2.1.4); -1 means "none". */
#define SG_FAIL_NONE		(-1)
#define SG_FAIL_BADALG		0
#define SG_FAIL_BADMSGCHECK	1
#define SG_FAIL_BADREQUEST	2
#define SG_FAIL_BADTIME		3
#define SG_FAIL_BADCERTID	4

struct sg_err {
	enum sg_rc	rc;
	int		failinfo;	/* SG_FAIL_*, or SG_FAIL_NONE */
	char		msg[256];
};

/*
 * The failInfo to send for "failinfo": itself if RFC 8894 3.2.1.4
 * defines it, else badRequest. The one place that picks the default:
 * an error without a failInfo of its own is a bad request.
 */
int		 sg_failinfo(int failinfo);

/* Fixed text for a code; never NULL. */
const char	*sg_strerror(enum sg_rc);

/*
 * Fill "err" (may be NULL) with rc, no failInfo and the formatted message,
 * with the drained OpenSSL error queue appended. Returns rc.
 */
enum sg_rc	 sg_err_set(struct sg_err *err, enum sg_rc rc,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* As sg_err_set, also setting the SCEP failInfo. Returns rc. */
enum sg_rc	 sg_err_fail(struct sg_err *err, enum sg_rc rc, int failinfo,
		    const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* Reset to SG_OK with an empty message. "err" may be NULL. */
void		 sg_err_clear(struct sg_err *err);

/* Logging (STYLE.md 6): stderr by default, syslog when chosen. */
enum sg_log_level {
	SG_LOG_ERR = 0,
	SG_LOG_WARN,
	SG_LOG_INFO,
	SG_LOG_DEBUG,
};
enum sg_log_format {
	SG_LOG_TEXT = 0,	/* "TS LEVEL text" */
	SG_LOG_JSON,		/* one object a line (docs/operations.md) */
};
void		 sg_log_init(enum sg_log_level, bool use_syslog,
		    const char *ident);
/* Text (the default) or JSON lines; set once at startup. */
void		 sg_log_format(enum sg_log_format);
void		 sg_log(enum sg_log_level, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
bool		 sg_log_enabled(enum sg_log_level);

/*
 * The request id of this thread (a documented global, see above): set
 * by server/ for the time one request is handled, "" when none. "id" is
 * copied (cut at SG_REQID_MAX); NULL clears it. sg_log_reqid() never
 * returns NULL; the string is valid until this thread sets it again.
 */
#define SG_REQID_MAX	64
void		 sg_log_reqid_set(const char *id);
const char	*sg_log_reqid(void);

/*
 * A growable byte buffer with a hard maximum (STYLE.md 5). Zero-initialise
 * it, set "max", append, and release with sg_buf_free(); the buffer owns
 * "data". "data" is kept NUL-terminated for convenience.
 */
struct sg_buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* 0 means SG_BUF_DEFAULT_MAX */
};
#define SG_BUF_DEFAULT_MAX	(16u * 1024 * 1024)

enum sg_rc	 sg_buf_add(struct sg_buf *, const void *, size_t);
enum sg_rc	 sg_buf_addstr(struct sg_buf *, const char *);
enum sg_rc	 sg_buf_printf(struct sg_buf *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 sg_buf_free(struct sg_buf *);
/* Wipe with OPENSSL_cleanse, then free: for buffers that held secrets. */
void		 sg_buf_wipe(struct sg_buf *);

/*
 * Decode base64 as SCEP clients really send it (scep-interop.md 1.3):
 * spaces become '+' (form decoding of a raw '+'), '-' and '_' become
 * '+' and '/' (old micromdm clients), CR, LF, tabs are dropped and
 * missing '=' padding is tolerated. "in" is borrowed. On success *out
 * is malloc'ed (free()), *outlen set. At most "max" output bytes.
 */
enum sg_rc	 sg_b64_decode(const char *in, size_t inlen, size_t max,
		    uint8_t **out, size_t *outlen, struct sg_err *err);
/* Standard base64 without line breaks; *out is a NUL-terminated
 * malloc'ed string. */
enum sg_rc	 sg_b64_encode(const uint8_t *in, size_t inlen, char **out);

/* Lowercase hex of "len" bytes into "out" (2 * len + 1 bytes). */
void		 sg_hex(const uint8_t *in, size_t len, char *out);

/*
 * Copy "in" to "out" (size "outsz", always NUL-terminated) replacing
 * every byte outside printable ASCII, and '"' and '\\', by '?': for
 * putting outside strings (transaction IDs, subjects) in log lines.
 */
void		 sg_safe_str(const char *in, char *out, size_t outsz);

/* Parse a decimal integer in [min, max]; false if not one. */
bool		 sg_parse_long(const char *s, long min, long max, long *out);

#endif /* SG_H */
