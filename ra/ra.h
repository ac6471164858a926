/*
 * ra/: policy and state. Every decision lives here: which endpoint, which
 * account, whether to issue, what to answer. It owns the store (SQLite),
 * the RA keys and the upstream CA. Thread-safe: the HTTP workers share
 * one struct ra.
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

struct ra_endpoint {
	int64_t			id;
	char			name[RA_NAME_MAX];
	char			uri[RA_NAME_MAX];	/* URL path extension */
	enum ra_ep_type		type;
	char			ra_id[64];		/* RA certificate id */
	enum ra_cacert_fmt	cacert_fmt;
	enum ra_getcert_fmt	getcert_fmt;
	int			renewal_days;
	int64_t			created;
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
	int64_t		created;
};

struct ra_org {
	int64_t		id;
	char		name[RA_NAME_MAX];
	char		org[RA_NAME_MAX];	/* departments: their org */
};

/*
 * Open the RA for "conf" (borrowed; must outlive the RA): load the RA
 * keys and the upstream CA once, open (and create) the store. "admin"
 * skips nothing today but marks CLI use in logs and the audit.
 * Free with ra_close().
 */
enum sg_rc	 ra_open(const struct conf *conf, struct ra **out,
		    struct sg_err *err);
void		 ra_close(struct ra *);

/*
 * An answer to a SCEP operation. "ctype" is a static string; "body" is
 * malloc'ed and released by ra_reply_free().
 */
struct ra_reply {
	const char	*ctype;
	uint8_t		*body;
	size_t		 len;
};
void		 ra_reply_free(struct ra_reply *);

/*
 * The SCEP operations (RFC 8894 4). "uri" is the endpoint's URI
 * extension. Return SG_ENOTFOUND for an unknown endpoint, SG_EPARSE for
 * bytes that are not a pkiMessage at all (HTTP 400), SG_OK with a reply
 * otherwise, including signed FAILURE CertReps. "peer" is for the log.
 */
enum sg_rc	 ra_getcacaps(struct ra *, const char *uri,
		    struct ra_reply *, struct sg_err *);
enum sg_rc	 ra_getcacert(struct ra *, const char *uri,
		    struct ra_reply *, struct sg_err *);
enum sg_rc	 ra_pkiop(struct ra *, const char *uri, const uint8_t *der,
		    size_t len, const char *peer, struct ra_reply *,
		    struct sg_err *);

/* Admin API (scepctl). Lists are malloc'ed arrays: free(). */
enum sg_rc	 ra_org_add(struct ra *, const char *name, struct sg_err *);
enum sg_rc	 ra_org_list(struct ra *, struct ra_org **, size_t *,
		    struct sg_err *);
enum sg_rc	 ra_dept_add(struct ra *, const char *org, const char *name,
		    struct sg_err *);
/* "org" may be NULL for all departments. */
enum sg_rc	 ra_dept_list(struct ra *, const char *org, struct ra_org **,
		    size_t *, struct sg_err *);

/* Checks the RA id against the configuration; fills ep->id, created. */
enum sg_rc	 ra_endpoint_add(struct ra *, struct ra_endpoint *ep,
		    struct sg_err *);
enum sg_rc	 ra_endpoint_get(struct ra *, const char *name,
		    struct ra_endpoint *, struct sg_err *);
enum sg_rc	 ra_endpoint_list(struct ra *, struct ra_endpoint **,
		    size_t *, struct sg_err *);
/* Refuses an endpoint with accounts unless "force". */
enum sg_rc	 ra_endpoint_delete(struct ra *, const char *name, bool force,
		    struct sg_err *);

/*
 * Create an account. With code == NULL a strong code is generated. The
 * code in effect is written to code_out (RA_CODE_MAX + 1 bytes): shown
 * once, stored only as HMAC-SHA256 under the server secret.
 */
enum sg_rc	 ra_account_add(struct ra *, struct ra_account *acct,
		    const char *code, char *code_out, struct sg_err *);
enum sg_rc	 ra_account_list(struct ra *, const char *endpoint,
		    struct ra_account **, size_t *, struct sg_err *);
enum sg_rc	 ra_account_delete(struct ra *, const char *endpoint,
		    const char *name, struct sg_err *);

/* The URL of an endpoint for messages: base_url + "/scep/" + uri. */
void		 ra_endpoint_url(const struct ra *, const struct ra_endpoint *,
		    char *out, size_t outsz);

/* Set the audit actor for admin calls (default: "system"). */
void		 ra_set_actor(struct ra *, const char *actor);

/*
 * Create a new instance in "dir" (scepctl init): a local root CA, an RA
 * certificate, the server secret, the configuration file, the database
 * with a device endpoint "demo" and one account. Refuses an existing
 * instance. Writes the config path, URL and access code for display.
 */
struct ra_init_result {
	char	config[1024];
	char	url[512];
	char	code[RA_CODE_MAX + 1];
};
enum sg_rc	 ra_init_instance(const char *dir, const char *address,
		    int port, struct ra_init_result *, struct sg_err *);

/* Parsers of the admin words ("device", "cms-chain", ...). */
bool		 ra_ep_type_parse(const char *, enum ra_ep_type *);
const char	*ra_ep_type_name(enum ra_ep_type);
bool		 ra_cacert_fmt_parse(const char *, enum ra_cacert_fmt *);
const char	*ra_cacert_fmt_name(enum ra_cacert_fmt);
bool		 ra_getcert_fmt_parse(const char *, enum ra_getcert_fmt *);
const char	*ra_getcert_fmt_name(enum ra_getcert_fmt);

#endif /* RA_H */
