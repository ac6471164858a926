/*
 * ra/: policy and state. Every decision lives here: which endpoint, which
 * account, whether to issue, what to answer. It owns the store (SQLite),
 * the RA keys and the upstream CA. Thread-safe: the HTTP workers share
 * one struct ra.
 *
 * Two audiences (docs/layout.md): server/ calls the SCEP section
 * (ra_open .. ra_collect_pending); tools/ (scepctl, scep-bench) the
 * admin section below it, and ra_open/ra_close. Where a call lives:
 * ra.c (open, GET operations, PKIOperation), ra_admin.c, ra_catalog.c,
 * ra_cert.c, ra_txn.c (requests), ra_audit.c, ra_names.c (words),
 * ra_instance.c (scepctl init).
 */
#ifndef RA_H
#define RA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg.h"

struct conf;
struct ra;

#define RA_NAME_MAX	128
#define RA_CODE_MAX	128	/* longest access code accepted */
#define RA_CODE_LEN	20	/* length of generated access codes */
#define RA_URL_MAX	512	/* a webhook URL with its NUL */
#define RA_PATH_MAX	512	/* a file path with its NUL */
#define RA_WEBHOOK_TIMEOUT	5	/* default webhook_timeout, s */

/* Endpoint types (DESIGN.md: certificate kind x access check). */
enum ra_ep_type {
	RA_EP_DEVICE = 0,	/* device certificate, SCEP accounts */
	RA_EP_CLIENT,		/* client certificate, SCEP accounts */
	RA_EP_DEVICE_INTUNE,
	RA_EP_CLIENT_INTUNE,
};

/* GetCACert reply formats (DESIGN.md). */
enum ra_cacert_fmt {
	RA_CACERT_CMS_CHAIN = 0,
	RA_CACERT_DER,
	RA_CACERT_PEM,
};

/* Certificates in a successful CertRep. */
enum ra_getcert_fmt {
	RA_GETCERT_FULL_CHAIN = 0,
	RA_GETCERT_SINGLE,
};

/* CSR policy bits of an endpoint. */
#define RA_KEY_RSA		0x01
#define RA_KEY_EC		0x02
#define RA_CHAL_PRINTABLE	0x01	/* challengePassword string types */
#define RA_CHAL_UTF8		0x02
#define RA_CHAL_BMP		0x04
#define RA_CHAL_OTHER		0x08	/* T61, IA5, Universal */

/*
 * Name policy of an endpoint (docs/names.md): the subjectAltName types a
 * CSR may ask for. 0 when adding means the default, RA_SAN_DEFAULT;
 * RA_SAN_NONE alone means no SAN at all. On Intune endpoints the
 * strong-mapping URI tag:microsoft.com,2022-09-14:sid:<SID> is always
 * allowed.
 */
#define RA_SAN_DNS		0x01
#define RA_SAN_IP		0x02
#define RA_SAN_EMAIL		0x04
#define RA_SAN_URI		0x08
#define RA_SAN_UPN		0x10
#define RA_SAN_NONE		0x100	/* explicitly none */
#define RA_SAN_DEFAULT		(RA_SAN_DNS | RA_SAN_IP | RA_SAN_EMAIL)
#define RA_PATTERN_MAX		256	/* name_pattern with its NUL */

struct ra_endpoint {
	int64_t			id;
	char			name[RA_NAME_MAX];
	char			uri[RA_NAME_MAX];	/* URL path extension */
	enum ra_ep_type		type;
	char			ra_id[64];	/* RA certificate that signs */
	char			ra_enc_id[64];	/* ... and decrypts; "" = ra_id */
	enum ra_cacert_fmt	cacert_fmt;
	enum ra_getcert_fmt	getcert_fmt;
	int			renewal_days;	/* 0: renew at any time */
	int			min_rsa_bits;	/* CSR policy */
	int			key_types;	/* RA_KEY_* */
	int			challenge_types; /* RA_CHAL_* */
	bool			delegated;	/* false: General (all orgs) */
	/* Names (docs/names.md). */
	int			san_types;	/* RA_SAN_* */
	/* CN, DNS and email must match: globs, comma-separated; "" any */
	char			name_pattern[RA_PATTERN_MAX];
	bool			subject_from_csr; /* false: account O/OU */
	bool			renewal_any_names; /* false: names kept */
	/* Intune endpoints: what accounts supply on plain SCEP ones. */
	char			org[RA_NAME_MAX];
	char			dept[RA_NAME_MAX];
	char			profile[RA_NAME_MAX];
	int			term_days;
	char			azure[RA_NAME_MAX];	/* Azure account */
	int64_t			created;
	/* Webhooks (docs/webhooks.md); "" is none. */
	char			challenge_webhook[RA_URL_MAX];	/* decides */
	char			webhook_secret_file[RA_PATH_MAX]; /* HMAC key */
	int			webhook_timeout; /* s; 0: RA_WEBHOOK_TIMEOUT */
	char			notify_webhook[RA_URL_MAX];	/* events */
};

/* One delegation entry: an organization, or one of its departments. */
struct ra_deleg {
	char	org[RA_NAME_MAX];
	char	dept[RA_NAME_MAX];	/* "" for the whole organization */
};

/* An RA certificate of the configuration, for "scepctl ra". */
struct ra_racert {
	char	id[64];
	char	subject[256];
	char	issuer[256];
	char	key_usage[96];
	char	serial[80];
	int64_t	not_after;
	char	endpoints[512];		/* names of endpoints using it */
};

/* Account changes: NULL / -1 keep the current value. */
struct ra_account_edit {
	const char	*profile;
	int		 term_days;	/* 0 keeps */
	int		 disabled;	/* -1 keeps, 0, 1 */
	int		 manual;	/* -1 keeps, 0, 1 */
};

struct ra_account {
	int64_t		id;
	char		endpoint[RA_NAME_MAX];
	char		name[RA_NAME_MAX];
	char		org[RA_NAME_MAX];
	char		dept[RA_NAME_MAX];	/* "" if none */
	char		profile[RA_NAME_MAX];	/* "" if none */
	int		term_days;
	bool		disabled;
	bool		manual;		/* requests wait for approval */
	int64_t		created;
};

/* Request (transaction) states, as the store keeps them. */
enum ra_req_status {
	RA_REQ_NEW = 0,		/* being processed */
	RA_REQ_PENDING,		/* waiting for approval or the upstream */
	RA_REQ_ISSUED,
	RA_REQ_REJECTED,
};

/* One SCEP transaction, for "scepctl request". */
struct ra_request {
	int64_t			id;
	char			endpoint[RA_NAME_MAX];
	char			account[RA_NAME_MAX];
	char			transid[130];
	char			type[16];	/* PKCSReq, RenewalReq */
	enum ra_req_status	status;
	char			subject[512];
	char			serial[80];
	char			order_id[64];	/* upstream order, "" if none */
	char			reason[256];
	char			peer[64];
	int64_t			created;
	int64_t			updated;
};

/* Certificate states. */
enum ra_cert_status {
	RA_CERT_VALID = 0,
	RA_CERT_REVOKED,
	RA_CERT_SUPERSEDED,	/* renewed: a newer one replaces it */
};

struct ra_cert {
	char			serial[80];	/* uppercase hex */
	char			endpoint[RA_NAME_MAX];
	char			account[RA_NAME_MAX];
	char			subject[512];
	int64_t			not_before;
	int64_t			not_after;
	enum ra_cert_status	status;
	int64_t			revoked_at;
	int			reason;		/* CRL reason code */
	int64_t			challenge_id;	/* issued with it; 0 none */
	char			minted_by[RA_NAME_MAX];	/* its minter */
};

/* One audit record (append-only). */
struct ra_audit_rec {
	int64_t		id;
	int64_t		time;
	char		actor[96];
	char		endpoint[RA_NAME_MAX];
	char		account[RA_NAME_MAX];
	char		transid[130];
	char		action[64];
	char		outcome[16];
	char		details[512];
};

/* Filters for ra_audit_list; empty strings and 0 mean "any". */
struct ra_audit_filter {
	const char	*endpoint;
	const char	*account;
	const char	*outcome;
	int64_t		 since;
	int64_t		 until;
};

struct ra_org {
	int64_t		id;
	char		name[RA_NAME_MAX];
	char		org[RA_NAME_MAX];	/* departments: their org */
	int64_t		scm_id;		/* the upstream's id; 0 if not synced */
};

/* Profile families: the endpoint types a profile serves. */
enum ra_profile_kind {
	RA_PROFILE_DEVICE = 0,	/* device, device-intune */
	RA_PROFILE_CLIENT,	/* client, client-intune */
};

#define RA_TERMS_MAX	16

/* A certificate profile copied from the upstream (SCM's certType). */
struct ra_profile {
	int64_t			scm_id;
	char			name[RA_NAME_MAX];
	enum ra_profile_kind	kind;
	int			terms[RA_TERMS_MAX];	/* days; none: any */
	size_t			nterms;
};

/* What a catalogue sync did with one entry of the upstream. */
enum ra_sync_kind {
	RA_SYNC_ORG = 0,
	RA_SYNC_DEPT,
	RA_SYNC_DEVICE_PROFILE,
	RA_SYNC_CLIENT_PROFILE,
};
enum ra_sync_action {
	RA_SYNC_ADDED = 0,
	RA_SYNC_UPDATED,	/* id recorded or changed; profile changed */
	RA_SYNC_UNCHANGED,
	RA_SYNC_REMOVED,	/* profiles only: gone from the upstream */
	RA_SYNC_SKIPPED,	/* a name the store cannot hold; see detail */
};
struct ra_sync_item {
	enum ra_sync_kind	kind;
	enum ra_sync_action	action;
	int64_t			scm_id;
	char			org[RA_NAME_MAX];	/* of a department */
	char			name[RA_NAME_MAX];
	char			detail[128];	/* "SCM id was 11", "terms 365" */
};

/* ==== for server/ (and ra_open, ra_close for tools/ too) ==== */

/*
 * Open the RA for "conf" (borrowed; must outlive the RA): load the RA
 * keys and the upstream CA once, build the GetCACert bodies, open (and
 * create) the store. SG_OK with *out set (free it with ra_close()), or
 * an error with *out untouched: SG_ECONF, SG_EIO or SG_EPARSE for the
 * files, SG_ESTORE, SG_ENOMEM; "err" says which.
 */
enum sg_rc	 ra_open(const struct conf *conf, struct ra **out,
		    struct sg_err *err);
void		 ra_close(struct ra *);
/*
 * SIGHUP: re-read what may change under a running server without a
 * restart, today the Azure client secrets (a rotated secret takes
 * effect for the next token). Safe beside requests. SG_OK, or the
 * first failure (the old secret stays in use for that account).
 */
enum sg_rc	 ra_reload(struct ra *, struct sg_err *);
/*
 * Append the upstream call histogram (Prometheus text format 0.0.4,
 * scepgate_upstream_request_seconds by service and result) to "b".
 * Process-wide (ra/http/ra_http.c); safe from any thread.
 */
enum sg_rc	 ra_http_metrics_text(struct sg_buf *b);

/*
 * An answer to a SCEP operation. "ctype" is a static string; "body" is
 * malloc'ed and released by ra_reply_free().
 */
struct ra_reply {
	const char	*ctype;
	uint8_t		*body;
	size_t		 len;
	/*
	 * A PKIOperation's CertRep, for server/'s metrics (static strings,
	 * NULL for other answers): the request's messageType ("PKCSReq",
	 * ...), the pkiStatus ("success", "pending", "failure") and, on
	 * failure, the failInfo ("badRequest", ...; else "none").
	 */
	const char	*msg_type;
	const char	*outcome;
	const char	*failinfo;
};
void		 ra_reply_free(struct ra_reply *);

/*
 * The SCEP operations (RFC 8894 4). "uri" is the endpoint's URI
 * extension. Return SG_ENOTFOUND for an unknown endpoint, SG_EPARSE for
 * bytes that are not a pkiMessage at all (HTTP 400), SG_ESTORE,
 * SG_EINTERNAL or SG_ENOMEM when the server failed (HTTP 500; the
 * request is not blamed), SG_OK with a reply otherwise, including signed
 * FAILURE CertReps. "peer" is for the log. On error *r holds nothing.
 */
enum sg_rc	 ra_getcacaps(struct ra *, const char *uri,
		    struct ra_reply *, struct sg_err *);
enum sg_rc	 ra_getcacert(struct ra *, const char *uri,
		    struct ra_reply *, struct sg_err *);
/* GetNextCACert (RFC 8894 4.7): SG_ENOTFOUND when none is configured. */
enum sg_rc	 ra_getnextcacert(struct ra *, const char *uri,
		    struct ra_reply *, struct sg_err *);
/*
 * May a PKIOperation on endpoint "uri" wait on the network: an upstream
 * other than the local CA, an Azure account, or the endpoint's challenge
 * webhook? server/ answers the others on its own thread. A store that
 * cannot tell says true.
 */
bool		 ra_pkiop_may_wait(struct ra *, const char *uri);
enum sg_rc	 ra_pkiop(struct ra *, const char *uri, const uint8_t *der,
		    size_t len, const char *peer, struct ra_reply *,
		    struct sg_err *);

/*
 * /healthz: can this instance reach its database (one cheap read, a
 * broken PostgreSQL connection made again)? SG_OK, or SG_ESTORE with
 * the database's reason in err (no secret in it).
 */
enum sg_rc	 ra_health(struct ra *, struct sg_err *);
/*
 * Seconds between collects of pending upstream orders (the server's
 * collector thread); 0 if the upstream never answers later.
 */
int		 ra_poll_interval(const struct ra *);
/*
 * Resolve the transactions a crash left in NEW (ra_txn.c), then ask the
 * upstream about every pending order once (the background collector
 * and CertPoll both end here). Returns how many changed.
 */
size_t		 ra_collect_pending(struct ra *);

/*
 * What the gauges of /metrics show (docs/operations.md, "Monitoring"):
 * counted by the store, so every instance on a shared database shows
 * the same numbers.
 */
#define RA_EXPIRING_DAYS	30
struct ra_gauges {
	int64_t		 locked_sources;	/* (endpoint, source) pairs */
	int64_t		 locked_endpoints;	/* at limits.lockout_ceiling */
	int64_t		 txn_new;
	int64_t		 txn_pending;
	int64_t		 certs_valid;		/* VALID and not expired */
	int64_t		 certs_revoked;
	int64_t		 certs_expiring;	/* of those valid: notAfter
						 * within RA_EXPIRING_DAYS */
};
/*
 * Fill *g as of "now" with one store read (ra_gauge.c); the caller
 * caches it (a scrape storm must not load the database). SG_OK, or
 * the store's error in "err" (*g untouched).
 */
enum sg_rc	 ra_gauges_get(struct ra *, time_t now, struct ra_gauges *g,
		    struct sg_err *);
/*
 * The notification webhooks (ra_webhook.c, docs/webhooks.md): send the
 * outbox events that are due, each signed like the challenge webhook;
 * a 2xx answer removes the event, anything else tries it again later
 * (back-off up to an hour). Returns how many were delivered. The
 * server's notifier thread calls it every RA_WEBHOOK_TICK seconds.
 */
#define RA_WEBHOOK_TICK	2
size_t		 ra_webhook_deliver(struct ra *);
/*
 * Intune's revocation requests (ra_intune_flow.c, intune-scep.md 7):
 * the seconds between runs of the job (the shortest
 * azure.revocation_interval of the accounts with revocation = true; 0
 * if none), and one run: each such account that is due downloads its
 * requests, revokes each certificate its Intune endpoints issued
 * through the upstream, uploads the results and audits them. Returns
 * how many requests were answered. One caller at a time.
 */
int		 ra_intune_revocation_interval(const struct ra *);
size_t		 ra_intune_revocations_run(struct ra *);

/* ==== for tools/ (scepctl): the admin API ==== */

/*
 * Unless a comment says otherwise, each returns SG_OK; SG_ENOTFOUND (no
 * such object), SG_EEXIST (exists already), SG_EPOLICY (refused; the
 * message says what to do instead) or SG_ESTORE (the database failed),
 * with "err" filled. Lists are malloc'ed arrays: free(). Every change is
 * audited with the actor of ra_set_actor().
 */
enum sg_rc	 ra_org_add(struct ra *, const char *name, struct sg_err *);
enum sg_rc	 ra_org_list(struct ra *, struct ra_org **, size_t *,
		    struct sg_err *);
enum sg_rc	 ra_dept_add(struct ra *, const char *org, const char *name,
		    struct sg_err *);
/* "org" may be NULL for all departments. */
enum sg_rc	 ra_dept_list(struct ra *, const char *org, struct ra_org **,
		    size_t *, struct sg_err *);

/*
 * Catalogue sync (ra_catalog.c): copy what the upstream CA knows into
 * the store. "profiles" false: organizations and departments are
 * created when missing and their upstream ids recorded by name; none is
 * ever deleted. "profiles" true: the profile table becomes a copy of
 * the upstream's device and client profiles. *items (malloc'ed, free())
 * gets one entry per upstream entry and per removed profile. SG_ECONF
 * for an upstream without a catalogue (the local CA). Audited.
 */
enum sg_rc	 ra_catalog_sync(struct ra *, bool profiles,
		    struct ra_sync_item **items, size_t *n, struct sg_err *);
/* "2 added, 1 updated, 3 unchanged" (and removed, skipped if any). */
void		 ra_sync_summary(const struct ra_sync_item *, size_t n,
		    char *out, size_t outsz);
/* The synced profiles by kind, then name; *out malloc'ed (free()). */
enum sg_rc	 ra_profile_list(struct ra *, struct ra_profile **out,
		    size_t *n, struct sg_err *);

/* Checks the RA id against the configuration; fills ep->id, created. */
enum sg_rc	 ra_endpoint_add(struct ra *, struct ra_endpoint *ep,
		    struct sg_err *);
enum sg_rc	 ra_endpoint_get(struct ra *, const char *name,
		    struct ra_endpoint *, struct sg_err *);
enum sg_rc	 ra_endpoint_list(struct ra *, struct ra_endpoint **,
		    size_t *, struct sg_err *);
/* Update the mutable fields of endpoint ep->name (not its type). */
enum sg_rc	 ra_endpoint_update(struct ra *, struct ra_endpoint *ep,
		    struct sg_err *);
/*
 * Delegation (SCM's General vs Customized): general, or exactly the
 * listed organizations and departments. Accounts can only be created
 * for what the endpoint is delegated to.
 */
enum sg_rc	 ra_endpoint_delegate(struct ra *, const char *name,
		    bool general, const struct ra_deleg *, size_t n,
		    struct sg_err *);
enum sg_rc	 ra_endpoint_delegations(struct ra *, const char *name,
		    struct ra_deleg **, size_t *, struct sg_err *);
/* Refuses an endpoint with accounts or pending requests unless "force". */
enum sg_rc	 ra_endpoint_delete(struct ra *, const char *name, bool force,
		    struct sg_err *);

/*
 * Create an account. With code == NULL a strong code is generated. The
 * code in effect is written to code_out (RA_CODE_MAX + 1 bytes): shown
 * once, stored only as HMAC-SHA256 under the server secret. Once
 * profiles are synced (ra_catalog_sync), the profile must be one of them,
 * of the endpoint's kind, and allow the term; ra_account_edit checks a
 * new profile or term the same way.
 */
enum sg_rc	 ra_account_add(struct ra *, struct ra_account *acct,
		    const char *code, char *code_out, struct sg_err *);
enum sg_rc	 ra_account_list(struct ra *, const char *endpoint,
		    struct ra_account **, size_t *, struct sg_err *);
enum sg_rc	 ra_account_delete(struct ra *, const char *endpoint,
		    const char *name, struct sg_err *);
enum sg_rc	 ra_account_get(struct ra *, const char *endpoint,
		    const char *name, struct ra_account *, struct sg_err *);
enum sg_rc	 ra_account_edit(struct ra *, const char *endpoint,
		    const char *name, const struct ra_account_edit *,
		    struct sg_err *);
/* A new generated access code (shown once) replaces the old one. */
enum sg_rc	 ra_account_rotate_code(struct ra *, const char *endpoint,
		    const char *name, char *code_out, struct sg_err *);

/* The RA certificates of the configuration; *pem: ra_racert_pem(). */
enum sg_rc	 ra_racert_list(struct ra *, struct ra_racert **, size_t *,
		    struct sg_err *);
/* PEM of RA certificate "id" (borrowed; lives as long as the RA). */
const char	*ra_racert_pem(struct ra *, const char *id);

/* Requests: list (status < 0: all), approve (issue now), reject. */
enum sg_rc	 ra_request_list(struct ra *, int status,
		    struct ra_request **, size_t *, struct sg_err *);
enum sg_rc	 ra_request_approve(struct ra *, int64_t id, struct sg_err *);
enum sg_rc	 ra_request_reject(struct ra *, int64_t id, const char *reason,
		    struct sg_err *);
/* Certificates: list (endpoint NULL, status < 0: all), show, revoke. */
enum sg_rc	 ra_cert_list(struct ra *, const char *endpoint, int status,
		    struct ra_cert **, size_t *, struct sg_err *);
/* *pem (may be NULL) gets the PEM text, malloc'ed. */
enum sg_rc	 ra_cert_get(struct ra *, const char *serial, struct ra_cert *,
		    char **pem, struct sg_err *);
/*
 * Revoke with a CRL reason code (RFC 5280 5.3.1) and refresh the CRL.
 * SG_EPOLICY if revoked already; the upstream's error (SG_EUPSTREAM);
 * if the CRL refresh fails the certificate stays revoked and its error
 * is returned.
 */
enum sg_rc	 ra_cert_revoke(struct ra *, const char *serial, int reason,
		    struct sg_err *);
bool		 ra_crl_reason_parse(const char *, int *);
const char	*ra_crl_reason_name(int);
const char	*ra_cert_status_name(enum ra_cert_status);
const char	*ra_req_status_name(enum ra_req_status);

enum sg_rc	 ra_audit_list(struct ra *, const struct ra_audit_filter *,
		    struct ra_audit_rec **, size_t *, struct sg_err *);
/*
 * Remove the audit records timed before "before" (scepctl audit prune),
 * which the caller exported to "file" with SHA-256 "digest" and checked:
 * they must be exactly "count" records, ids "first" to "last", else
 * SG_ENOTFOUND and nothing goes. Audited either way.
 */
enum sg_rc	 ra_audit_prune(struct ra *, int64_t before, int64_t first,
		    int64_t last, int64_t count, const char *file,
		    const char *digest, struct sg_err *);

/* The URL of an endpoint for messages: base_url + "/scep/" + uri. */
void		 ra_endpoint_url(const struct ra *, const struct ra_endpoint *,
		    char *out, size_t outsz);

/*
 * Set the audit actor for this thread's admin calls (default: "system";
 * ra_actor() in ra_int.h reads it). The admin API sets the token name.
 */
void		 ra_set_actor(struct ra *, const char *actor);

/*
 * Create a new instance in "dir" (scepctl init; ra_instance.c): a local
 * root CA, an RA certificate, the server secret, a self-signed HTTPS
 * certificate (tls.pem, tls.key), the configuration file,
 * the database with a device endpoint "demo" and one account. Refuses
 * an existing instance (SG_EEXIST). Fills "res" with the config path,
 * URL and access code for display (shown once).
 */
struct ra_instance_result {
	char	config[1024];
	char	url[512];
	char	code[RA_CODE_MAX + 1];
};
enum sg_rc	 ra_instance_create(const char *dir, const char *address,
		    int port, struct ra_instance_result *res,
		    struct sg_err *);
/* The same with HTTPS on "tls_port" (0: off) with the demo's tls.pem. */
enum sg_rc	 ra_instance_create_tls(const char *dir, const char *address,
		    int port, int tls_port, struct ra_instance_result *res,
		    struct sg_err *);
/* Parsers of the admin words ("device", "cms-chain", ...; ra_names.c). */
bool		 ra_ep_type_parse(const char *, enum ra_ep_type *);
const char	*ra_ep_type_name(enum ra_ep_type);
bool		 ra_cacert_fmt_parse(const char *, enum ra_cacert_fmt *);
const char	*ra_cacert_fmt_name(enum ra_cacert_fmt);
bool		 ra_getcert_fmt_parse(const char *, enum ra_getcert_fmt *);
const char	*ra_getcert_fmt_name(enum ra_getcert_fmt);
const char	*ra_profile_kind_name(enum ra_profile_kind);
const char	*ra_sync_kind_name(enum ra_sync_kind);
const char	*ra_sync_action_name(enum ra_sync_action);

/*
 * ==== API tokens and one-time challenges (issue 13) ====
 *
 * Tokens (ra_token.c) authenticate the admin API (server/srv_admin.c):
 * bearer tokens, or HTTP Basic with user = token name and password =
 * token on the NDES page. A token is shown once, at creation, and stored
 * only as HMAC-SHA256 under the server secret (ra_keys_code_hmac with a
 * purpose prefix of its own). Scopes: "challenge" (mint challenges,
 * only for its endpoint when one is bound), "read" (lists and shows),
 * "admin" (everything scepctl may change, and read, and mint).
 */
enum ra_scope {
	RA_SCOPE_CHALLENGE = 0,
	RA_SCOPE_READ,
	RA_SCOPE_ADMIN,
};
#define RA_TOKEN_MAX	96	/* longest token text with its NUL */

struct ra_token {
	int64_t		id;
	char		name[RA_NAME_MAX];
	enum ra_scope	scope;
	char		endpoint[RA_NAME_MAX];	/* bound endpoint; "" any */
	int64_t		created;
	int64_t		last_used;		/* 0: never */
	bool		revoked;
};
bool		 ra_scope_parse(const char *, enum ra_scope *);
const char	*ra_scope_name(enum ra_scope);
/*
 * Create token tok->name (scope, endpoint: "" for none; the endpoint
 * must exist). The token text goes to secret_out (RA_TOKEN_MAX bytes),
 * to be shown once; the caller wipes it. SG_EEXIST for a name in use
 * (revoked ones included: names are never reused, the audit names
 * them). Fills tok->id, created. Audited.
 */
enum sg_rc	 ra_token_add(struct ra *, struct ra_token *tok,
		    char *secret_out, struct sg_err *);
/* All tokens, revoked ones too, by name; *out malloc'ed (free()). */
enum sg_rc	 ra_token_list(struct ra *, struct ra_token **out, size_t *n,
		    struct sg_err *);
/* Revoke by name: the next call with it is refused. Audited. */
enum sg_rc	 ra_token_revoke(struct ra *, const char *name,
		    struct sg_err *);
/*
 * Who is "secret"? With name != NULL (HTTP Basic) the token must also
 * carry that name. SG_OK with *tok filled (and last_used updated), or
 * SG_EPOLICY for an unknown, revoked or mismatched token (the message
 * does not say which), SG_ESTORE. The comparison is of HMACs, in
 * constant time. Lockout of repeated failures is the caller's
 * (ra_throttle, as for access codes).
 */
enum sg_rc	 ra_token_verify(struct ra *, const char *secret,
		    const char *name, struct ra_token *tok, struct sg_err *);
/*
 * The admin listener's lockout (ra_throttle.c, as for access codes):
 * is "peer"'s source locked out (or limits.lockout_ceiling reached)?
 * And count one wrong token of "peer". SG_OK, or a store error.
 */
enum sg_rc	 ra_admin_locked(struct ra *, const char *peer, bool *locked,
		    struct sg_err *);
enum sg_rc	 ra_admin_failed(struct ra *, const char *peer,
		    struct sg_err *);
/*
 * May "tok" do "need" on "endpoint" (NULL: not about one endpoint)?
 * admin > read for reading; challenge only mints, on its bound endpoint
 * or, unbound, on any.
 */
bool		 ra_token_allows(const struct ra_token *tok,
		    enum ra_scope need, const char *endpoint);

/*
 * One-time challenges (ra_challenge.c): good for one successful
 * enrollment on their endpoint before they expire, stored only as
 * HMAC-SHA256. The PKCSReq that presents one as its challengePassword
 * issues under the challenge's account; the certificate records the
 * challenge id and the minting token. A renewal needs none.
 */
enum ra_chal_status {
	RA_CHAL_OUTSTANDING = 0,
	RA_CHAL_USED,
	RA_CHAL_EXPIRED,
	RA_CHAL_REVOKED,
};
struct ra_challenge {
	int64_t			id;
	char			endpoint[RA_NAME_MAX];
	char			account[RA_NAME_MAX];
	char			minted_by[RA_NAME_MAX];	/* token or actor */
	char			cn[RA_NAME_MAX];	/* required CN; "" any */
	char			san[RA_NAME_MAX];	/* required SAN; "" any */
	enum ra_chal_status	status;
	int64_t			created;
	int64_t			expires;
	int64_t			used;		/* 0: not used */
	char			serial[80];	/* issued with it; "" */
};
/* What to mint: NULL/0 fields take the defaults. */
struct ra_challenge_req {
	const char	*endpoint;
	const char	*account;	/* NULL: the endpoint's only account */
	int		 lifetime;	/* seconds; 0: challenges.lifetime */
	const char	*cn;		/* the certificate must carry it */
	const char	*san;		/* e.g. "DNS:host.example" */
};
const char	*ra_chal_status_name(enum ra_chal_status);
/*
 * Mint a challenge; the code goes to code_out (RA_CODE_MAX + 1 bytes),
 * shown once, wiped by the caller. *out (may be NULL) gets the record.
 * SG_ELIMIT when the endpoint has challenges.max_outstanding unexpired
 * unused ones (the NDES page says "The password cache is full."),
 * SG_ENOTFOUND for an unknown endpoint or account, SG_EPOLICY for an
 * Intune endpoint. Audited with the minter (ra_set_actor).
 */
enum sg_rc	 ra_challenge_add(struct ra *, const struct ra_challenge_req *,
		    char *code_out, struct ra_challenge *out,
		    struct sg_err *);
/* Of one endpoint (NULL: all); "all" false: outstanding only. */
enum sg_rc	 ra_challenge_list(struct ra *, const char *endpoint,
		    bool all, struct ra_challenge **out, size_t *n,
		    struct sg_err *);
enum sg_rc	 ra_challenge_revoke(struct ra *, int64_t id,
		    struct sg_err *);

#endif /* RA_H */
