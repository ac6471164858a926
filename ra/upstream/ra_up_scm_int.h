/*
 * The pure parts of the SCM backend (ra_up_scm.c): JSON in and out,
 * the meaning of SCM's answers, the pacing of collects. No sockets and
 * no clock reads (HTTP, retries and OAuth are ra/http/'s), so
 * tests/unit/test_scm.c can drive them with tables.
 * Section numbers refer to reference/scm-rest-api.md.
 */
#ifndef RA_UP_SCM_INT_H
#define RA_UP_SCM_INT_H

#include <limits.h>
#include <time.h>

#include "ra_up.h"

/* An answer without a JSON "code" (4.1: accept a missing code). */
#define SCM_NO_CODE	INT_MIN

/* Which call answered: the same code means different things (4.2). */
enum scm_call {
	SCM_CALL_ENROLL,
	SCM_CALL_COLLECT,
	SCM_CALL_REVOKE,
	SCM_CALL_OTHER,		/* listings, details, token */
};

/* What the gateway does with an answer (4.2, 4.3). */
enum scm_class {
	SCM_C_OK,		/* 2xx */
	SCM_C_PENDING,		/* collect: 0, -1400, -183, -109 */
	SCM_C_TRANSIENT,	/* 429, 5xx, -140, -195, -2, -65: back off */
	SCM_C_AUTH,		/* 401, -16, -970; -3, -25, -37 privileges */
	SCM_C_CSR,		/* the request itself: badRequest */
	SCM_C_ALG,		/* key algorithm or size: badAlg */
	SCM_C_CONFIG,		/* org, profile, term, fields: the setup */
	SCM_C_REVOKED,		/* collect: -110, -192 */
	SCM_C_NOTFOUND,		/* 404, -5101, -124 */
	SCM_C_DONE,		/* revoke: -159, already revoked */
	SCM_C_FAIL,		/* anything else */
};

enum scm_class	 scm_classify(enum scm_call, long http, int code);
const char	*scm_class_name(enum scm_class);

/*
 * Read an error body leniently (4.1): "code" (SCM_NO_CODE if absent or
 * not JSON) and "description" (or OAuth's "error"), made printable, into
 * desc ("" if none). "body" is borrowed and need not be NUL-terminated.
 */
void		 scm_error_parse(const uint8_t *body, size_t len, int *code,
		    char *desc, size_t descsz);

/*
 * Fill err for a failed call "what" (e.g. "enroll"): SG_EUPSTREAM, the
 * failInfo of its class (badAlg for SCM_C_ALG, else badRequest) and a
 * message with HTTP status, code and SCM's description. Returns the rc.
 */
enum sg_rc	 scm_error_set(struct sg_err *, enum scm_call,
		    const char *what, long http, int code, const char *desc);

/* Certificate states of details and lists (3.4, 3.8), any casing. */
enum scm_state {
	SCM_S_PENDING,		/* requested, approved, applied, ... */
	SCM_S_ISSUED,		/* issued, downloaded */
	SCM_S_DECLINED,		/* declined, rejected */
	SCM_S_REVOKED,		/* revoked, pre_revoked, expired */
};
enum scm_state	 scm_state_parse(const char *);

/* The S/MIME person of a client certificate (3.8). */
struct scm_person {
	char	email[129];
	char	first[65];
	char	last[65];
	char	cn[65];		/* "" if the subject has no CN */
};
/*
 * Email from the subject's emailAddress, else the first rfc822Name SAN;
 * names from givenName and surname, else the CN split at its last
 * space, else the email's local part split at its last '.', '_' or '-'
 * (one word is used for both names). SG_EPOLICY with failInfo
 * badRequest when there is no email address or a name is too long.
 */
enum sg_rc	 scm_person_from_csr(X509_REQ *, struct scm_person *,
		    struct sg_err *);

/* One enroll body (3.3 device, 3.8 client). */
struct scm_enroll {
	bool		 client;	/* S/MIME API, with the person */
	long		 org_id;	/* organization or department */
	long		 cert_type;	/* profile id */
	int		 term;		/* days */
	const char	*comments;	/* SCEP transactionID and endpoint */
	X509_REQ	*csr;		/* borrowed; sent as PEM */
	const struct scm_person *person;	/* client only */
};
/* The JSON text of an enroll body; *json malloc'ed (free()). */
enum sg_rc	 scm_enroll_json(const struct scm_enroll *, char **json,
		    struct sg_err *);
/*
 * The order id of an enroll answer: deviceCertId (device) or the
 * backendCertId string (client), into order (RA_ORDER_MAX bytes).
 */
enum sg_rc	 scm_enroll_order(bool client, const uint8_t *body, size_t len,
		    char *order, struct sg_err *);
/* "status" of details, or "state"/"status" of a list's first entry. */
enum sg_rc	 scm_status_field(const uint8_t *body, size_t len, char *out,
		    size_t outsz);

/*
 * Lost enroll answers (docs/upstream-scm.md): the start of the comments
 * scepgate sends with every order, "SCEP transactionID T; scepgate
 * endpoint E," (T made printable), which finds the order again. The
 * comments are this prefix, " account A".
 */
#define SCM_PREFIX_MAX	(20 + P7_TRANSID_MAX + 21 + RA_NAME_MAX + 2)
void		 scm_comments_prefix(const char *transid, const char *endpoint,
		    char *out, size_t outsz);
/*
 * One page of a certificate listing (3.4 device list, 3.8 client list):
 * the first entry whose "comments" start with "prefix"; its id (device
 * "id", client "backendCertId", SCM's characters only) into order
 * (RA_ORDER_MAX bytes). *n is the number of entries in the page. SG_OK
 * found; SG_ENOTFOUND not in this page; SG_EPARSE not a JSON array.
 * "body" is borrowed and need not be NUL-terminated.
 */
enum sg_rc	 scm_list_match(bool client, const uint8_t *body, size_t len,
		    const char *prefix, char *order, size_t *n);
/* Percent-encode "s" for a query value (RFC 3986 2.3); false if too long. */
bool		 scm_query_escape(const char *s, char *out, size_t outsz);

/* The first certificate of a collect body (PEM, or DER); *out owned. */
enum sg_rc	 scm_cert_parse(const uint8_t *body, size_t len, X509 **out,
		    struct sg_err *);

/* Organizations, departments and profiles, flattened (3.1, 3.2). */
struct scm_entry {
	long	id;
	char	name[RA_NAME_MAX];
	char	parent[RA_NAME_MAX];	/* departments: their org; else "" */
};
/* A listing; *out malloc'ed (free()), may be NULL when *n is 0. */
enum sg_rc	 scm_orgs_parse(const uint8_t *, size_t, struct scm_entry **out,
		    size_t *n, struct sg_err *);
enum sg_rc	 scm_types_parse(const uint8_t *, size_t,
		    struct scm_entry **out, size_t *n, struct sg_err *);
/*
 * The catalogue for scepctl's org sync and profile sync: the
 * organizations with their departments into cat->orgs (empty before),
 * or the profiles of one family with their terms appended to
 * cat->profiles. Entries without a positive int32 id or a name are left
 * out; a name too long for the store is kept as "" (the sync reports it).
 */
enum sg_rc	 scm_catalog_orgs(const uint8_t *, size_t, struct ra_catalog *,
		    struct sg_err *);
enum sg_rc	 scm_catalog_profiles(const uint8_t *, size_t,
		    enum ra_profile_kind, struct ra_catalog *, struct sg_err *);
/* The id of "name" under "parent" ("" for top level), or -1. */
long		 scm_entry_find(const struct scm_entry *, size_t n,
		    const char *name, const char *parent);
/* A decimal id of 1..INT32_MAX ("7311"), or -1. */
long		 scm_numeric_id(const char *);

/*
 * The REST base: "url" as configured, with "/private" put before a
 * final "/api" for client-certificate login (1.2).
 */
void		 scm_base_url(const char *url, bool client_cert, char *out,
		    size_t outsz);

/* Uppercase hex "1A2B3" -> "01:A2:B3" (3.6 shows colon-separated). */
bool		 scm_serial_colon(const char *hex, char *out, size_t outsz);

/*
 * Milliseconds before a pending order is collected again after "n"
 * collects: poll_interval (seconds) for the first three, then doubling
 * every three, up to 64 x poll_interval.
 */
long long	 scm_poll_wait_ms(int poll_interval, unsigned n);

#endif /* RA_UP_SCM_INT_H */
