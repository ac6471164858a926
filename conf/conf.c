/*
 * conf/: libconfig text -> a plain, validated struct conf (STYLE.md 6).
 *
 * Everything hangs off keys[] below: the walker rejects any key that is
 * not in it, stores values through the offsets given there, applies the
 * defaults written there, and conf_describe() prints the same rows, so
 * the documentation and the parser cannot drift apart. No libconfig type
 * leaves this file.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"

/* A configuration file is a few hundred bytes; refuse anything absurd. */
#define CONF_FILE_MAX	(1024 * 1024)

/* Characters of an RA id: it ends up in URLs and log lines. */
#define ID_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789._-"

enum ktype {
	K_GROUP,	/* { ... }: the keys whose parent is this key */
	K_LIST,		/* ( { ... }, ... ): the RA entries */
	K_STR,		/* any string that fits */
	K_PATH,		/* a string, made absolute */
	K_KEY,		/* a key: a path (made absolute) or a pkcs11: URI */
	K_ADDR,		/* a numeric IPv4 or IPv6 address */
	K_ID,		/* [A-Za-z0-9._-]+ */
	K_URL,		/* http:// or https:// */
	K_DB,		/* conf_database_parse(); SQLite: made absolute */
	K_ENUM,		/* one of "names", stored as its index */
	K_INT,
	K_BOOL,
};

static const struct {
	const char	*name;	/* for conf_describe() */
	const char	*want;	/* for "must be ..." */
} types[] = {
	[K_GROUP] =	{ "group",	"a group { ... }" },
	[K_LIST] =	{ "list",	"a list ( { ... }, ... )" },
	[K_STR] =	{ "string",	"a string" },
	[K_PATH] =	{ "path",	"a string (a path)" },
	[K_KEY] =	{ "key",	"a string (a path or a pkcs11: URI)" },
	[K_ADDR] =	{ "address",	"a string (an IP address)" },
	[K_ID] =	{ "id",		"a string (an id)" },
	[K_URL] =	{ "url",	"a string (a URL)" },
	[K_DB] =	{ "database",	"a string (a path or a URI)" },
	[K_ENUM] =	{ "enum",	"a string" },
	[K_INT] =	{ "int",	"an integer" },
	[K_BOOL] =	{ "bool",	"true or false" },
};

#define F_REQ		0x01	/* must be present */
#define F_LOCAL		0x02	/* only with upstream type "local" */
#define F_SCM		0x04	/* only with upstream type "scm" */
#define F_DERIVED	0x08	/* "def" is computed by finish(), not parsed */

struct key {
	const char	*parent;	/* "" at the top; "ra" in each entry */
	const char	*name;
	enum ktype	 type;
	int		 flags;		/* F_* */
	const char	*def;		/* as written in a file; NULL: none */
	long long	 min;		/* K_INT value, K_LIST length */
	long long	 max;
	const char	*names;		/* K_ENUM "a|b|c"; value = index */
	size_t		 off;		/* in struct conf (conf_ra in "ra") */
	size_t		 size;
	const char	*help;
};

#define C(m)	offsetof(struct conf, m), sizeof(((struct conf *)0)->m)
#define R(m)	offsetof(struct conf_ra, m), sizeof(((struct conf_ra *)0)->m)
#define A(m)	offsetof(struct conf_azure, m), \
		sizeof(((struct conf_azure *)0)->m)
#define NOF	0, 0

/* The SCM token server of the Admin Operations API (scm-rest-api.md 1.3). */
#define SCM_TOKEN_URL	"https://auth.sso.sectigo.com/auth/realms/apiclients" \
			"/protocol/openid-connect/token"

/*
 * Intune's callerInfo names the product (intune-scep.md 2).
 * XXX keep in step with project() in the root CMakeLists.txt.
 */
#define AZURE_PROVIDER	"scepgate/0.1.0"

static const struct key keys[] = {
	{ "", "listen", K_GROUP, 0, NULL, 0, 0, NULL, NOF,
	    "where the HTTP server listens" },
	{ "listen", "address", K_ADDR, 0, "127.0.0.1", 0, 0, NULL,
	    C(listen_address), "numeric IPv4 or IPv6 address to bind" },
	{ "listen", "port", K_INT, 0, "8080", 1, 65535, NULL,
	    C(listen_port), "TCP port" },
	{ "listen", "tls_port", K_INT, 0, "0", 0, 65535, NULL,
	    C(listen_tls_port), "HTTPS port on the same address; 0: no "
	    "HTTPS listener" },
	{ "listen", "tls_cert", K_PATH, 0, NULL, 0, 0, NULL,
	    C(listen_tls_cert), "PEM server certificate, then its chain "
	    "(re-read on SIGHUP)" },
	{ "listen", "tls_key", K_PATH, 0, NULL, 0, 0, NULL,
	    C(listen_tls_key), "its PEM private key, mode 0600 (re-read on "
	    "SIGHUP)" },
	{ "listen", "ndes_endpoint", K_STR, 0, NULL, 0, 0, NULL,
	    C(listen_ndes_endpoint), "endpoint also served at "
	    "/certsrv/mscep/mscep.dll (NDES clients); \"\": none" },
	{ "", "admin", K_GROUP, 0, NULL, 0, 0, NULL, NOF,
	    "the admin REST API and NDES page (docs/admin-api.md)" },
	{ "admin", "address", K_ADDR, 0, "127.0.0.1", 0, 0, NULL,
	    C(admin_address), "address to bind; without TLS only a "
	    "loopback one" },
	{ "admin", "port", K_INT, 0, "0", 0, 65535, NULL,
	    C(admin_port), "TCP port; 0: no admin listener" },
	{ "admin", "tls_cert", K_PATH, 0, NULL, 0, 0, NULL,
	    C(admin_tls_cert), "PEM server certificate, then its chain: "
	    "HTTPS" },
	{ "admin", "tls_key", K_PATH, 0, NULL, 0, 0, NULL,
	    C(admin_tls_key), "its PEM private key, mode 0600" },
	{ "", "base_url", K_URL, F_DERIVED, "http://<address>:<port>", 0, 0,
	    NULL, C(base_url), "public URL of the server, for messages" },
	{ "", "database", K_DB, F_REQ, NULL, 0, 0, NULL,
	    C(database), "the store: an SQLite file (PATH or sqlite:PATH) "
	    "or a postgresql:// URI" },
	{ "", "database_auto_upgrade", K_BOOL, 0, "true", 0, 0, NULL,
	    C(database_auto_upgrade), "upgrade an older database schema at "
	    "start; false: refuse to start (run scepctl db upgrade)" },
	{ "", "secret_file", K_PATH, F_REQ, NULL, 0, 0, NULL,
	    C(secret_file), "HMAC key for access codes" },

	{ "", "ra", K_LIST, F_REQ, NULL, 1, CONF_MAX_RA, NULL, NOF,
	    "RA certificates, one per id" },
	{ "ra", "id", K_ID, F_REQ, NULL, 0, 0, NULL,
	    R(id), "unique name of this RA" },
	{ "ra", "cert", K_PATH, F_REQ, NULL, 0, 0, NULL,
	    R(cert), "PEM RA certificate" },
	{ "ra", "key", K_KEY, F_REQ, NULL, 0, 0, NULL,
	    R(key), "PEM RA private key (mode 0600), or a pkcs11: URI" },
	{ "ra", "chain", K_PATH, 0, NULL, 0, 0, NULL,
	    R(chain), "extra PEM certificates sent with GetCACert" },
	{ "ra", "next_cert", K_PATH, 0, NULL, 0, 0, NULL,
	    R(next_cert), "rollover: the next RA certificate (first RA only)" },

	{ "", "upstream", K_GROUP, F_REQ, NULL, 0, 0, NULL, NOF,
	    "the CA that issues certificates" },
	{ "upstream", "type", K_ENUM, F_REQ, NULL, 0, 0, "local|scm",
	    C(upstream.type), "CA backend" },
	{ "upstream", "ca_cert", K_PATH, F_REQ | F_LOCAL, NULL, 0, 0, NULL,
	    C(upstream.ca_cert), "local: PEM issuing CA certificate" },
	{ "upstream", "ca_key", K_KEY, F_REQ | F_LOCAL, NULL, 0, 0, NULL,
	    C(upstream.ca_key), "local: PEM issuing CA private key, or a "
	    "pkcs11: URI" },
	{ "upstream", "ca_chain", K_PATH, 0, NULL, 0, 0, NULL,
	    C(upstream.ca_chain), "PEM CA chain; local: intermediates and "
	    "root; scm (required): issuing CA first, up to the root" },
	{ "upstream", "next_ca_cert", K_PATH, 0, NULL, 0, 0, NULL,
	    C(upstream.next_ca_cert), "rollover: the next CA certificate, "
	    "served by GetNextCACert" },
	{ "upstream", "crl_days", K_INT, F_LOCAL, "7", 1, 365, NULL,
	    C(upstream.crl_days), "local: days until a CRL's nextUpdate" },
	{ "upstream", "url", K_URL, F_REQ | F_SCM, NULL, 0, 0, NULL,
	    C(upstream.url), "scm: REST API base, e.g. "
	    "https://cert-manager.com/api" },
	{ "upstream", "customer_uri", K_STR, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.customer_uri), "scm: customer URI (password and "
	    "client-cert auth)" },
	{ "upstream", "auth", K_ENUM, F_SCM, "password", 0, 0,
	    "password|client-cert|oauth", C(upstream.auth),
	    "scm: how to log in" },
	{ "upstream", "login", K_STR, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.login), "scm: admin login (password and client-cert "
	    "auth)" },
	{ "upstream", "password_file", K_PATH, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.password_file), "scm: file holding the password "
	    "(mode 0600)" },
	{ "upstream", "client_cert", K_PATH, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.client_cert), "scm: PEM TLS client certificate "
	    "(client-cert auth)" },
	{ "upstream", "client_key", K_PATH, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.client_key), "scm: PEM TLS client key (mode 0600)" },
	{ "upstream", "token_url", K_URL, F_SCM, SCM_TOKEN_URL, 0, 0, NULL,
	    C(upstream.token_url), "scm: OAuth token endpoint (oauth auth)" },
	{ "upstream", "client_id", K_STR, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.client_id), "scm: OAuth client id (oauth auth)" },
	{ "upstream", "client_secret_file", K_PATH, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.client_secret_file), "scm: file holding the OAuth "
	    "client secret (mode 0600)" },
	{ "upstream", "tls_ca_file", K_PATH, F_SCM, NULL, 0, 0, NULL,
	    C(upstream.tls_ca_file), "scm: PEM CAs that verify SCM's TLS "
	    "server (default: system store)" },
	{ "upstream", "smime_api_version", K_INT, F_SCM, "1", 1, 2, NULL,
	    C(upstream.smime_api_version), "scm: client certificate API "
	    "/api/smime/vN" },
	{ "upstream", "timeout", K_INT, F_SCM, "30", 1, 600, NULL,
	    C(upstream.timeout), "scm: seconds per HTTP call, retries "
	    "included" },
	{ "upstream", "poll_interval", K_INT, F_SCM, "5", 1, 3600, NULL,
	    C(upstream.poll_interval), "scm: seconds between collects of a "
	    "pending order" },

	{ "", "azure", K_LIST, 0, NULL, 0, CONF_MAX_AZURE, NULL, NOF,
	    "Azure (Entra ID) accounts of Intune endpoints, one per name" },
	{ "azure", "name", K_ID, F_REQ, NULL, 0, 0, NULL,
	    A(name), "unique name, given to endpoint --azure" },
	{ "azure", "tenant", K_ID, F_REQ, NULL, 0, 0, NULL,
	    A(tenant), "tenant GUID or contoso.onmicrosoft.com" },
	{ "azure", "client_id", K_ID, F_REQ, NULL, 0, 0, NULL,
	    A(client_id), "application (client) ID of the app registration" },
	{ "azure", "client_secret_file", K_PATH, F_REQ, NULL, 0, 0, NULL,
	    A(client_secret_file), "file holding the client secret (mode "
	    "0600), re-read on SIGHUP" },
	{ "azure", "authority_url", K_URL, 0,
	    "https://login.microsoftonline.com/", 0, 0, NULL,
	    A(authority_url), "Entra ID token service (national clouds, "
	    "tests)" },
	{ "azure", "graph_url", K_URL, 0, "https://graph.microsoft.com/",
	    0, 0, NULL, A(graph_url), "Microsoft Graph, for discovery" },
	{ "azure", "intune_url", K_URL, 0,
	    "https://api.manage.microsoft.com/", 0, 0, NULL,
	    A(intune_url), "the Intune resource" },
	{ "azure", "tls_ca_file", K_PATH, 0, NULL, 0, 0, NULL,
	    A(tls_ca_file), "PEM CAs for the three services (default: "
	    "system store)" },
	{ "azure", "graph_scope", K_STR, 0,
	    "https://graph.microsoft.com/.default", 0, 0, NULL,
	    A(graph_scope), "token scope of discovery" },
	{ "azure", "intune_scope", K_STR, 0,
	    "https://api.manage.microsoft.com//.default", 0, 0, NULL,
	    A(intune_scope), "token scope of the SCEP service (the "
	    "reference library's double slash)" },
	{ "azure", "api_version", K_ID, 0, "2018-02-20", 0, 0, NULL,
	    A(api_version), "api-version header of the SCEP actions" },
	{ "azure", "provider", K_STR, 0, AZURE_PROVIDER, 0, 0, NULL,
	    A(provider), "callerInfo and UserAgent sent to Intune" },
	{ "azure", "timeout", K_INT, 0, "30", 1, 600, NULL,
	    A(timeout), "seconds per Intune operation, tokens, discovery "
	    "and retries included" },
	{ "azure", "revocation", K_BOOL, 0, "false", 0, 0, NULL,
	    A(revocation), "take revocation requests from Intune "
	    "(PkiConnectorFEService)" },
	{ "azure", "revocation_interval", K_INT, 0, "300", 1, 86400, NULL,
	    A(revocation_interval), "seconds between downloads of "
	    "Intune's revocation requests" },
	{ "azure", "issue_wait", K_INT, 0, "60", 1, 600, NULL,
	    A(issue_wait), "seconds an Intune enrollment waits for the "
	    "upstream before FAILURE (Intune has no PENDING)" },
	{ "azure", "wait_for_success_notification", K_BOOL, 0, "true", 0, 0,
	    NULL, A(wait_success), "withhold the certificate when "
	    "successNotification fails (false: send it, issue anyway)" },

	{ "", "crypto", K_GROUP, 0, NULL, 0, 0, NULL, NOF,
	    "legacy algorithms" },
	{ "crypto", "allow_des", K_BOOL, 0, "true", 0, 0, NULL,
	    C(allow_des), "accept DES and 3DES requests (old clients)" },
	{ "crypto", "allow_sha1", K_BOOL, 0, "true", 0, 0, NULL,
	    C(allow_sha1), "accept SHA-1 digests" },

	{ "", "limits", K_GROUP, 0, NULL, 0, 0, NULL, NOF,
	    "resource limits" },
	{ "limits", "max_body", K_INT, 0, "65536", 1024, 16777216, NULL,
	    C(max_body), "bytes of a POST body or GET message" },
	{ "limits", "threads", K_INT, 0, "4", 1, 64, NULL,
	    C(threads), "HTTP worker threads" },
	{ "limits", "connections", K_INT, 0, "1024", 1, 100000, NULL,
	    C(connection_limit), "concurrent HTTP connections" },
	{ "limits", "workers", K_INT, 0, "16", 1, 256, NULL,
	    C(workers), "PKIOperation worker threads (RSA work and upstream "
	    "waits)" },
	{ "limits", "lockout_failures", K_INT, 0, "5", 0, 1000, NULL,
	    C(lockout_failures), "wrong access codes from one address "
	    "before it is locked out; 0 disables" },
	{ "limits", "lockout_seconds", K_INT, 0, "900", 1, 86400, NULL,
	    C(lockout_seconds), "window for counting wrong codes, and the "
	    "length of a lockout" },
	{ "limits", "connections_per_address", K_INT, 0, "64", 0, 100000,
	    NULL, C(per_address), "concurrent connections from one IP "
	    "address; 0: no limit" },
	{ "limits", "idle_connections", K_INT, F_DERIVED,
	    "3/4 of connections", 1, 100000, NULL, C(idle_connections),
	    "connections without a complete request (new, kept alive or "
	    "slow) before the oldest of them is closed" },
	{ "limits", "header_timeout", K_INT, 0, "10", 1, 3600, NULL,
	    C(header_timeout), "seconds from accept, or from the previous "
	    "answer, until the request headers are in (not reset by data)" },
	{ "limits", "body_timeout", K_INT, 0, "30", 1, 3600, NULL,
	    C(body_timeout), "seconds from the request headers until the "
	    "whole body is in (not reset by data)" },
	{ "limits", "connection_memory", K_INT, 0, "8192", 4096, 1048576,
	    NULL, C(connection_memory), "bytes per connection for the "
	    "request line, headers and reply headers (a GET message up to "
	    "about 7.5 KB at 8192); longer ones get 414 or 431" },
	{ "limits", "lockout_prefix4", K_INT, 0, "24", 8, 32, NULL,
	    C(lockout_prefix4), "IPv4 addresses in one prefix of this length "
	    "share a lockout" },
	{ "limits", "lockout_prefix6", K_INT, 0, "64", 16, 128, NULL,
	    C(lockout_prefix6), "IPv6 addresses in one prefix of this length "
	    "share a lockout" },
	{ "limits", "lockout_ceiling", K_INT, 0, "100", 0, 1000000, NULL,
	    C(lockout_ceiling), "wrong access codes per endpoint per minute, "
	    "from all sources, before the endpoint refuses codes; 0 "
	    "disables" },
	{ "limits", "refusal_seconds", K_INT, 0, "300", 1, 86400, NULL,
	    C(refusal_seconds), "refused requests of one source are audited "
	    "as one record per window of this length" },

	{ "", "challenges", K_GROUP, 0, NULL, 0, 0, NULL, NOF,
	    "one-time challenges (docs/challenges.md)" },
	{ "challenges", "max_outstanding", K_INT, 0, "1000", 1, 1000000,
	    NULL, C(challenge_max), "unused, unexpired challenges per "
	    "endpoint; minting more is refused (\"The password cache is "
	    "full.\")" },
	{ "challenges", "lifetime", K_INT, 0, "3600", 60, 2592000, NULL,
	    C(challenge_lifetime), "seconds a challenge stays good; also the "
	    "longest lifetime a request may ask for" },

	{ "", "log", K_GROUP, 0, NULL, 0, 0, NULL, NOF,
	    "logging" },
	{ "log", "level", K_ENUM, 0, "info", 0, 0, "err|warn|info|debug",
	    C(log_level), "least severe level written" },
	{ "log", "syslog", K_BOOL, 0, "false", 0, 0, NULL,
	    C(log_syslog), "log to syslog instead of stderr" },
	{ "log", "format", K_ENUM, 0, "text", 0, 0, "text|json",
	    C(log_format), "text lines, or one JSON object a line" },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* put_num() stores an enum upstream type through an int. */
_Static_assert(sizeof(enum conf_upstream_type) == sizeof(int),
    "enum conf_upstream_type is not int-sized");
_Static_assert(sizeof(enum conf_scm_auth) == sizeof(int),
    "enum conf_scm_auth is not int-sized");

struct ctx {
	struct conf	*conf;		/* being filled */
	const char	*label;		/* the file name in messages */
	char		 dir[CONF_PATH_MAX]; /* of the file, no final '/' */
	struct sg_err	*err;
};

static enum sg_rc walk(struct ctx *, const config_setting_t *,
    const char *, const char *, void *);

/* "FILE:LINE: message", the line taken from the setting when known. */
static enum sg_rc __attribute__((format(printf, 3, 4)))
fail(const struct ctx *c, const config_setting_t *st, const char *fmt, ...)
{
	va_list		 ap;
	char		 msg[224];
	const char	*file = c->label;
	unsigned int	 line = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st != NULL) {
		line = config_setting_source_line(st);
		if (config_setting_source_file(st) != NULL)
			file = config_setting_source_file(st);
	}
	if (line == 0)
		return sg_err_set(c->err, SG_ECONF, "%s: %s", file, msg);
	return sg_err_set(c->err, SG_ECONF, "%s:%u: %s", file, line, msg);
}

static const struct key *
find(const char *parent, const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].parent, parent) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Our own lookup: libconfig's treats '.' and ':' in "name" as paths. */
static const config_setting_t *
member(const config_setting_t *grp, const char *name)
{
	const config_setting_t	*st;
	int			 i;

	if (grp == NULL)
		return NULL;
	for (i = 0; i < config_setting_length(grp); i++) {
		st = config_setting_get_elem(grp, i);
		if (strcmp(config_setting_name(st), name) == 0)
			return st;
	}
	return NULL;
}

static void
keypath(char *buf, size_t sz, const char *path, const char *name)
{
	snprintf(buf, sz, "%s%s%s", path, *path != '\0' ? "." : "", name);
}

/* Index of "s" in "a|b|c", or -1. */
static int
enum_index(const char *names, const char *s)
{
	const char	*p = names;
	size_t		 n;
	int		 i;

	for (i = 0; *p != '\0'; i++) {
		n = strcspn(p, "|");
		if (strlen(s) == n && strncmp(p, s, n) == 0)
			return i;
		p += n;
		if (*p == '|')
			p++;
	}
	return -1;
}

/* Fields are int, size_t or an int-sized enum; memcpy keeps it legal. */
static void
put_num(const struct key *k, void *base, long long v)
{
	char	*p = (char *)base + k->off;
	size_t	 z = (size_t)v;
	int	 i = (int)v;

	if (k->size == sizeof(z))
		memcpy(p, &z, sizeof(z));
	else
		memcpy(p, &i, sizeof(i));
}

static enum sg_rc
put_int(const struct ctx *c, const config_setting_t *st,
    const struct key *k, const char *key, void *base, long long v)
{
	if (v < k->min || v > k->max)
		return fail(c, st, "%s: %lld is out of range %lld..%lld",
		    key, v, k->min, k->max);
	put_num(k, base, v);
	return SG_OK;
}

/*
 * Relative paths are taken against the directory of the configuration
 * file, not the working directory: the daemon runs from "/", while
 * "scepctl check-config" runs from a shell, and both must read the same
 * files. A leading "./" is dropped to keep the paths in log lines short.
 */
static enum sg_rc
put_path(const struct ctx *c, const config_setting_t *st,
    const struct key *k, const char *key, char *dst, const char *s)
{
	int	 n;

	while (s[0] == '.' && s[1] == '/')
		s += strspn(s + 1, "/") + 1;
	if (*s == '\0')
		return fail(c, st, "%s: empty path", key);
	if (s[0] == '/')
		n = snprintf(dst, k->size, "%s", s);
	else
		n = snprintf(dst, k->size, "%s/%s", c->dir, s);
	if (n < 0 || (size_t)n >= k->size)
		return fail(c, st, "%s: path longer than %zu bytes", key,
		    k->size - 1);
	return SG_OK;
}

/* RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static size_t
scheme_len(const char *s)
{
	size_t	n;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+-.");
	return s[n] == ':' ? n : 0;
}

/*
 * A PostgreSQL URI names its password file ("passfile=", PGPASSFILE),
 * never the password: the configuration is readable by more eyes.
 */
static enum sg_rc
pg_uri_check(const char *s, struct sg_err *err)
{
	const char	*auth = strstr(s, "://") + 3;
	size_t		 n = strcspn(auth, "/?");
	const char	*at = memchr(auth, '@', n);

	if ((at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL) ||
	    strstr(s, "password=") != NULL)
		return sg_err_set(err, SG_ECONF, "no password in the database "
		    "URI: use passfile=PATH or PGPASSFILE");
	return SG_OK;
}

enum sg_rc
conf_database_parse(const char *s, struct conf_db *out, struct sg_err *err)
{
	size_t	n = scheme_len(s);

	out->kind = CONF_DB_SQLITE;
	out->path = s;
	if (n == 6 && strncmp(s, "sqlite", 6) == 0) {
		if (strncmp(s + 7, "//", 2) == 0)
			return sg_err_set(err, SG_ECONF, "write sqlite:PATH, "
			    "not an sqlite:// URI");
		out->path = s + 7;
	} else if (strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0) {
		out->kind = CONF_DB_POSTGRESQL;
		return pg_uri_check(s, err);
	} else if (n > 0)
		return sg_err_set(err, SG_ECONF, "unknown scheme '%.*s:' (use "
		    "a path, sqlite:PATH or postgresql://...)", (int)n, s);
	if (out->path[0] == '\0')
		return sg_err_set(err, SG_ECONF, "empty path");
	return SG_OK;
}

/* SQLite paths become absolute (without "sqlite:"); URIs stay as they are. */
static enum sg_rc
put_db(const struct ctx *c, const config_setting_t *st,
    const struct key *k, const char *key, char *dst, const char *s)
{
	struct conf_db	db;
	struct sg_err	e;

	if (conf_database_parse(s, &db, &e) != SG_OK)
		return fail(c, st, "%s: %s", key, e.msg);
	if (db.kind == CONF_DB_SQLITE)
		return put_path(c, st, k, key, dst, db.path);
	if (strlen(s) >= k->size)
		return fail(c, st, "%s: longer than %zu bytes", key,
		    k->size - 1);
	memcpy(dst, s, strlen(s) + 1);
	return SG_OK;
}

static bool
addr_ok(const char *s)
{
	unsigned char	buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

static bool
url_ok(const char *s)
{
	const char	*host;
	size_t		 i;

	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return false;
	if (*host == '\0' || *host == '/')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Check and store any of the string kinds; "st" is NULL for defaults. */
static enum sg_rc
put_text(const struct ctx *c, const config_setting_t *st,
    const struct key *k, const char *key, void *base, const char *s)
{
	char	*dst = (char *)base + k->off;
	size_t	 len = strlen(s);
	int	 i;

	switch (k->type) {
	case K_PATH:
		return put_path(c, st, k, key, dst, s);
	case K_KEY:
		/* RFC 7512: a token object, not a file: kept as written. */
		if (strncmp(s, "pkcs11:", 7) != 0)
			return put_path(c, st, k, key, dst, s);
		break;
	case K_DB:
		return put_db(c, st, k, key, dst, s);
	case K_ENUM:
		i = enum_index(k->names, s);
		if (i < 0)
			return fail(c, st, "%s: must be one of %s", key,
			    k->names);
		put_num(k, base, i);
		return SG_OK;
	case K_ADDR:
		if (!addr_ok(s))
			return fail(c, st, "%s: not a numeric IPv4 or IPv6 "
			    "address", key);
		break;
	case K_ID:
		if (len == 0 || s[strspn(s, ID_CHARS)] != '\0')
			return fail(c, st, "%s: must be 1 or more of "
			    "A-Z a-z 0-9 . _ -", key);
		break;
	case K_URL:
		if (!url_ok(s))
			return fail(c, st, "%s: not an http:// or https:// "
			    "URL", key);
		break;
	default:
		break;
	}
	if (len >= k->size)
		return fail(c, st, "%s: longer than %zu bytes", key,
		    k->size - 1);
	memcpy(dst, s, len + 1);
	/* Paths are appended to base_url: one form avoids "//". */
	if (k->type == K_URL)
		while (len > 0 && dst[len - 1] == '/')
			dst[--len] = '\0';
	return SG_OK;
}

/* The defaults are text in keys[], so they go through the same checks. */
static enum sg_rc
put_default(const struct ctx *c, const struct key *k, const char *key,
    void *base)
{
	long	v;

	switch (k->type) {
	case K_INT:
		if (!sg_parse_long(k->def, k->min, k->max, &v))
			return sg_err_set(c->err, SG_EINTERNAL,
			    "%s: bad built-in default", key);
		put_num(k, base, v);
		return SG_OK;
	case K_BOOL:
		*(bool *)((char *)base + k->off) = strcmp(k->def, "true") == 0;
		return SG_OK;
	case K_GROUP:
	case K_LIST:
		return SG_OK;
	default:
		return put_text(c, NULL, k, key, base, k->def);
	}
}

static bool
applies(const struct ctx *c, const struct key *k)
{
	if (k->flags & F_LOCAL)
		return c->conf->upstream.type == CONF_UPSTREAM_LOCAL;
	if (k->flags & F_SCM)
		return c->conf->upstream.type == CONF_UPSTREAM_SCM;
	return true;
}

/* The first row under "k" in keys[]: a list's unique key. */
static const struct key *
first_child(const struct key *k)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].parent, k->name) == 0)
			return &keys[i];
	return k;
}

/*
 * Entry i of the list "k" and its count. Each entry's unique key (the
 * first row under the list in keys[]) is its struct's first member.
 */
static char *
list_entry(struct conf *conf, const struct key *k, int i, size_t **count)
{
	if (strcmp(k->name, "azure") == 0) {
		*count = &conf->nazure;
		return conf->azure[i].name;
	}
	*count = &conf->nra;
	return conf->ra[i].id;
}

_Static_assert(offsetof(struct conf_ra, id) == 0, "ra id is not first");
_Static_assert(offsetof(struct conf_azure, name) == 0,
    "azure name is not first");

/* Each entry is a group of the list's keys; its first key is unique. */
static enum sg_rc
walk_list(struct ctx *c, const config_setting_t *list, const struct key *k)
{
	const config_setting_t	*e;
	const struct key	*id = first_child(k);
	char			 key[64];
	char			*ei;
	size_t			*count;
	enum sg_rc		 rc;
	int			 i, j, n;

	n = config_setting_length(list);
	if (n < k->min || n > k->max)
		return fail(c, list, "%s: needs %lld to %lld entries, not %d",
		    k->name, k->min, k->max, n);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(list, i);
		snprintf(key, sizeof(key), "%s[%d]", k->name, i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return fail(c, e, "%s: must be %s", key,
			    types[K_GROUP].want);
		ei = list_entry(c->conf, k, i, &count);
		rc = walk(c, e, k->name, key, ei);
		if (rc != SG_OK)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(list_entry(c->conf, k, j, &count), ei) == 0)
				return fail(c, e, "%s: %s '%s' is also "
				    "%s[%d]", key, id->name, ei, k->name, j);
		*count = (size_t)i + 1;
	}
	return SG_OK;
}

/*
 * XXX libconfig 1.5 (Debian) wraps decimal literals outside int to 32
 * bits without an error ("port = 4294967297" reads as 1); 1.7 makes them
 * INT64, which the range check then refuses. All our ranges fit an int.
 */
static enum sg_rc
store(struct ctx *c, const struct key *k, const config_setting_t *st,
    const char *key, void *base)
{
	int	t = config_setting_type(st);

	switch (k->type) {
	case K_GROUP:
		if (t != CONFIG_TYPE_GROUP)
			break;
		return walk(c, st, k->name, key, base);
	case K_LIST:
		if (t != CONFIG_TYPE_LIST)
			break;
		return walk_list(c, st, k);
	case K_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			break;
		return put_int(c, st, k, key, base,
		    config_setting_get_int64(st));
	case K_BOOL:
		if (t != CONFIG_TYPE_BOOL)
			break;
		*(bool *)((char *)base + k->off) =
		    config_setting_get_bool(st) != 0;
		return SG_OK;
	case K_STR:
	case K_PATH:
	case K_KEY:
	case K_DB:
	case K_ADDR:
	case K_ID:
	case K_URL:
	case K_ENUM:
		if (t != CONFIG_TYPE_STRING)
			break;
		return put_text(c, st, k, key, base,
		    config_setting_get_string(st));
	}
	if (k->type == K_ENUM)
		return fail(c, st, "%s: must be one of %s", key, k->names);
	return fail(c, st, "%s: must be %s", key, types[k->type].want);
}

/*
 * Walk the group "grp" (NULL if absent) whose keys have parent "parent":
 * first every member present, which must be in keys[]; then every key of
 * that parent, for what is missing, required or in the wrong backend.
 * The second pass comes after the first because upstream.type, wherever
 * it sits in the group, decides which upstream keys apply. "path" names
 * the group in messages; values are stored relative to "base".
 */
static enum sg_rc
walk(struct ctx *c, const config_setting_t *grp, const char *parent,
    const char *path, void *base)
{
	const config_setting_t	*st;
	const struct key	*k;
	char			 key[128];
	enum sg_rc		 rc;
	size_t			 i;
	int			 n;

	n = grp != NULL ? config_setting_length(grp) : 0;
	for (i = 0; i < (size_t)n; i++) {
		st = config_setting_get_elem(grp, (unsigned int)i);
		keypath(key, sizeof(key), path, config_setting_name(st));
		k = find(parent, config_setting_name(st));
		if (k == NULL)
			return fail(c, st, "unknown key '%s'", key);
		rc = store(c, k, st, key, base);
		if (rc != SG_OK)
			return rc;
	}

	for (i = 0; i < NKEYS; i++) {
		k = &keys[i];
		if (strcmp(k->parent, parent) != 0)
			continue;
		keypath(key, sizeof(key), path, k->name);
		st = member(grp, k->name);
		if (st != NULL) {
			if (!applies(c, k))
				return fail(c, st, "%s: only for upstream "
				    "type \"%s\"", key,
				    (k->flags & F_LOCAL) ? "local" : "scm");
			continue;
		}
		if (!applies(c, k))
			continue;
		if (k->flags & F_REQ)
			return fail(c, grp, "missing key '%s'", key);
		if (k->type == K_GROUP)
			rc = walk(c, NULL, k->name, key, base);
		else if (k->def != NULL && !(k->flags & F_DERIVED))
			rc = put_default(c, k, key, base);
		else
			rc = SG_OK;
		if (rc != SG_OK)
			return rc;
	}
	return SG_OK;
}

/*
 * What the SCM login method needs (scm-rest-api.md 1): the header trio,
 * the TLS client certificate, or an OAuth client. Keys of the other
 * methods may stay in the file, unused, to switch methods quickly.
 */
static enum sg_rc
finish_scm(struct ctx *c)
{
	const struct conf_upstream	*u = &c->conf->upstream;
	static const char *const	 auth[] = { "password", "client-cert",
					    "oauth" };
	const char			*need = NULL;

	if (u->type != CONF_UPSTREAM_SCM)
		return SG_OK;
	if (u->ca_chain[0] == '\0')
		return fail(c, NULL, "upstream.ca_chain: required with "
		    "upstream type \"scm\" (the issuing CA, for replies and "
		    "GetCACert)");
	switch (u->auth) {
	case CONF_SCM_AUTH_PASSWORD:
		if (u->login[0] == '\0')
			need = "login";
		else if (u->password_file[0] == '\0')
			need = "password_file";
		else if (u->customer_uri[0] == '\0')
			need = "customer_uri";
		break;
	case CONF_SCM_AUTH_CLIENT_CERT:
		if (u->login[0] == '\0')
			need = "login";
		else if (u->client_cert[0] == '\0')
			need = "client_cert";
		else if (u->client_key[0] == '\0')
			need = "client_key";
		else if (u->customer_uri[0] == '\0')
			need = "customer_uri";
		break;
	case CONF_SCM_AUTH_OAUTH:
		if (u->client_id[0] == '\0')
			need = "client_id";
		else if (u->client_secret_file[0] == '\0')
			need = "client_secret_file";
		break;
	}
	if (need != NULL)
		return fail(c, NULL, "upstream.%s: required with upstream.auth "
		    "\"%s\"", need, auth[u->auth]);
	return SG_OK;
}

/* Printable ASCII without blanks: it goes into headers and forms. */
static bool
token_ok(const char *s, bool blanks)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < (blanks ? ' ' : '!') ||
		    (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A file the daemon will read must exist (its mode is ra/'s check). */
static enum sg_rc
file_ok(struct ctx *c, int i, const char *key, const char *path)
{
	struct stat	st;

	if (path[0] == '\0')
		return SG_OK;
	if (stat(path, &st) != 0)
		return fail(c, NULL, "azure[%d].%s: %s: %s", i, key, path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(c, NULL, "azure[%d].%s: %s: not a regular file",
		    i, key, path);
	return SG_OK;
}

/* What the table cannot say about an Azure account. */
static enum sg_rc
finish_azure(struct ctx *c)
{
	const struct conf_azure	*a;
	const char		*bad = NULL;
	enum sg_rc		 rc;
	size_t			 i;

	for (i = 0; i < c->conf->nazure; i++) {
		a = &c->conf->azure[i];
		if (!token_ok(a->graph_scope, false) || a->graph_scope[0] == 0)
			bad = "graph_scope";
		else if (!token_ok(a->intune_scope, false) ||
		    a->intune_scope[0] == '\0')
			bad = "intune_scope";
		else if (!token_ok(a->provider, true) || a->provider[0] == 0)
			bad = "provider";
		if (bad != NULL)
			return fail(c, NULL, "azure[%zu].%s: must be printable "
			    "ASCII, not empty", i, bad);
		rc = file_ok(c, (int)i, "client_secret_file",
		    a->client_secret_file);
		if (rc == SG_OK)
			rc = file_ok(c, (int)i, "tls_ca_file", a->tls_ca_file);
		if (rc != SG_OK)
			return rc;
	}
	return SG_OK;
}

/*
 * limits.idle_connections defaults to 3/4 of limits.connections: the
 * rest is headroom for requests being answered, so that a new client
 * finds a free slot while the oldest idle connection is being closed.
 */
static enum sg_rc
finish_limits(struct ctx *c)
{
	struct conf	*conf = c->conf;

	if (conf->idle_connections == 0) {
		conf->idle_connections = conf->connection_limit -
		    conf->connection_limit / 4;
		return SG_OK;
	}
	if (conf->idle_connections > conf->connection_limit)
		return fail(c, NULL, "limits.idle_connections: %d is more than "
		    "limits.connections (%d)", conf->idle_connections,
		    conf->connection_limit);
	return SG_OK;
}

/* listen.tls_*: all three or none, and a port of its own. */
static enum sg_rc
finish_tls(struct ctx *c)
{
	struct conf	*conf = c->conf;

	if (conf->listen_tls_port == 0)
		return SG_OK;
	if (conf->listen_tls_cert[0] == '\0' ||
	    conf->listen_tls_key[0] == '\0')
		return fail(c, NULL, "listen.tls_port needs listen.tls_cert "
		    "and listen.tls_key");
	if (conf->listen_tls_port == conf->listen_port)
		return fail(c, NULL, "listen.tls_port: %d is listen.port too",
		    conf->listen_tls_port);
	return SG_OK;
}

/* Is "a" (a numeric address) a loopback address? */
static bool
loopback(const char *a)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (inet_pton(AF_INET, a, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, a, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* admin.*: TLS both or neither, without TLS loopback only, own port. */
static enum sg_rc
finish_admin(struct ctx *c)
{
	struct conf	*conf = c->conf;
	bool		 tls;

	if (conf->admin_port == 0)
		return SG_OK;
	tls = conf->admin_tls_cert[0] != '\0';
	if (tls != (conf->admin_tls_key[0] != '\0'))
		return fail(c, NULL, "admin.tls_cert and admin.tls_key go "
		    "together");
	if (!tls && !loopback(conf->admin_address))
		return fail(c, NULL, "admin.address %s is not a loopback "
		    "address: without admin.tls_cert and admin.tls_key the "
		    "admin API binds only to loopback", conf->admin_address);
	if (conf->admin_port == conf->listen_port ||
	    conf->admin_port == conf->listen_tls_port)
		return fail(c, NULL, "admin.port: %d is a SCEP listener's port "
		    "too", conf->admin_port);
	return SG_OK;
}

/* Defaults that depend on other keys. */
static enum sg_rc
finish(struct ctx *c)
{
	struct conf	*conf = c->conf;
	enum sg_rc	 rc;
	bool		 v6;
	int		 n;

	rc = finish_scm(c);
	if (rc != SG_OK)
		return rc;
	rc = finish_azure(c);
	if (rc != SG_OK)
		return rc;
	rc = finish_limits(c);
	if (rc != SG_OK)
		return rc;
	rc = finish_tls(c);
	if (rc != SG_OK)
		return rc;
	rc = finish_admin(c);
	if (rc != SG_OK)
		return rc;
	if (conf->base_url[0] != '\0')
		return SG_OK;
	v6 = strchr(conf->listen_address, ':') != NULL;
	n = snprintf(conf->base_url, sizeof(conf->base_url), "http://%s%s%s:%d",
	    v6 ? "[" : "", conf->listen_address, v6 ? "]" : "",
	    conf->listen_port);
	if (n < 0 || (size_t)n >= sizeof(conf->base_url))
		return sg_err_set(c->err, SG_EINTERNAL, "base_url too long");
	return SG_OK;
}

/*
 * Fill conf->path (absolute) and c->dir (its directory, "" for "/") from
 * "name"; with no name, relative paths go against the working directory.
 */
static enum sg_rc
set_path(struct ctx *c, const char *name)
{
	struct conf	*conf = c->conf;
	char		 cwd[CONF_PATH_MAX];
	char		*slash;
	int		 n;

	if (name == NULL || name[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return sg_err_set(c->err, SG_ECONF,
			    "%s: working directory: %s", c->label,
			    strerror(errno));
		if (strcmp(cwd, "/") == 0)
			cwd[0] = '\0';
	}
	if (name == NULL) {
		memcpy(c->dir, cwd, sizeof(c->dir));
		return SG_OK;
	}
	while (name[0] == '.' && name[1] == '/')
		name += strspn(name + 1, "/") + 1;
	if (name[0] == '/')
		n = snprintf(conf->path, sizeof(conf->path), "%s", name);
	else
		n = snprintf(conf->path, sizeof(conf->path), "%s/%s", cwd,
		    name);
	if (n < 0 || (size_t)n >= sizeof(conf->path))
		return sg_err_set(c->err, SG_ECONF,
		    "%s: path longer than %zu bytes", c->label,
		    sizeof(conf->path) - 1);
	memcpy(c->dir, conf->path, sizeof(c->dir));
	slash = strrchr(c->dir, '/');
	*slash = '\0';
	return SG_OK;
}

/*
 * libconfig opens any file named by "@include" (its scanner takes the
 * directive at the start of a line, after blanks). The configuration is
 * one file, so that file:line and check-config stay simple, and the
 * fuzzer must not reach the file system: refuse the directive before
 * libconfig sees it. The scan also fires inside strings and comments; it
 * can only refuse too much, never let a directive through.
 */
static enum sg_rc
no_include(const struct ctx *c, const char *text)
{
	const char	*p = text;
	unsigned int	 line = 1;

	for (;;) {
		p += strspn(p, " \t");
		if (strncmp(p, "@include", 8) == 0)
			return sg_err_set(c->err, SG_ECONF,
			    "%s:%u: @include is not supported", c->label, line);
		p = strchr(p, '\n');
		if (p == NULL)
			return SG_OK;
		p++;
		line++;
	}
}

enum sg_rc
conf_load_string(const char *text, const char *name, struct conf *out,
    struct sg_err *err)
{
	struct ctx	 c;
	struct conf	*conf = NULL;
	config_t	 cfg;
	const char	*file;
	enum sg_rc	 rc;

	config_init(&cfg);
	memset(&c, 0, sizeof(c));
	c.label = (name != NULL && name[0] != '\0') ? name : "<string>";
	c.err = err;
	/* Fill a copy: *out is written only on success (STYLE.md 5). */
	conf = calloc(1, sizeof(*conf));
	if (conf == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "%s: out of memory", c.label);
		goto out;
	}
	c.conf = conf;
	rc = set_path(&c, (name != NULL && name[0] != '\0') ? name : NULL);
	if (rc != SG_OK)
		goto out;
	rc = no_include(&c, text);
	if (rc != SG_OK)
		goto out;
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		file = config_error_file(&cfg);
		rc = sg_err_set(err, SG_ECONF, "%s:%d: %s",
		    file != NULL ? file : c.label, config_error_line(&cfg),
		    config_error_text(&cfg) != NULL ?
		    config_error_text(&cfg) : "parse error");
		goto out;
	}
	rc = walk(&c, config_root_setting(&cfg), "", "", conf);
	if (rc != SG_OK)
		goto out;
	rc = finish(&c);
	if (rc != SG_OK)
		goto out;
	*out = *conf;
out:
	config_destroy(&cfg);
	free(conf);
	return rc;
}

/*
 * Read the file ourselves rather than config_read_file(): the size is
 * bounded, a NUL byte cannot silently end the text, and the @include
 * check in conf_load_string() sees exactly what libconfig parses.
 */
enum sg_rc
conf_load(const char *path, struct conf *out, struct sg_err *err)
{
	struct sg_buf	 b = { .max = CONF_FILE_MAX };
	FILE		*fp = NULL;
	char		 chunk[4096];
	size_t		 n;
	enum sg_rc	 rc;

	fp = fopen(path, "r");
	if (fp == NULL) {
		rc = sg_err_set(err, SG_ECONF, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* An empty file leaves b.data NULL; this makes it "". */
	rc = sg_buf_add(&b, "", 0);
	while (rc == SG_OK) {
		n = fread(chunk, 1, sizeof(chunk), fp);
		if (n == 0)
			break;
		rc = sg_buf_add(&b, chunk, n);
	}
	if (rc == SG_ELIMIT) {
		rc = sg_err_set(err, SG_ECONF, "%s: larger than %d bytes",
		    path, CONF_FILE_MAX);
		goto out;
	}
	if (rc != SG_OK) {
		rc = sg_err_set(err, rc, "%s: out of memory", path);
		goto out;
	}
	if (ferror(fp)) {
		rc = sg_err_set(err, SG_ECONF, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (memchr(b.data, '\0', b.len) != NULL) {
		rc = sg_err_set(err, SG_ECONF, "%s: contains a NUL byte",
		    path);
		goto out;
	}
	rc = conf_load_string((const char *)b.data, path, out, err);
out:
	if (fp != NULL)
		fclose(fp);
	sg_buf_free(&b);
	return rc;
}

const struct conf_ra *
conf_ra_find(const struct conf *conf, const char *id)
{
	size_t	i;

	if (conf == NULL || id == NULL)
		return NULL;
	for (i = 0; i < conf->nra && i < CONF_MAX_RA; i++)
		if (strcmp(conf->ra[i].id, id) == 0)
			return &conf->ra[i];
	return NULL;
}

const struct conf_azure *
conf_azure_find(const struct conf *conf, const char *name)
{
	size_t	i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->nazure && i < CONF_MAX_AZURE; i++)
		if (strcmp(conf->azure[i].name, name) == 0)
			return &conf->azure[i];
	return NULL;
}

void
conf_describe(FILE *fp)
{
	const struct key	*k, *p;
	char			 key[64], type[64];
	const char		*def;
	size_t			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &keys[i];
		p = find("", k->parent);
		if (k->parent[0] == '\0')
			snprintf(key, sizeof(key), "%s", k->name);
		else
			snprintf(key, sizeof(key), "%s%s.%s", k->parent,
			    p != NULL && p->type == K_LIST ? "[]" : "",
			    k->name);
		if (k->type == K_ENUM)
			snprintf(type, sizeof(type), "%s", k->names);
		else if (k->type == K_INT || k->type == K_LIST)
			snprintf(type, sizeof(type), "%s %lld..%lld",
			    types[k->type].name, k->min, k->max);
		else
			snprintf(type, sizeof(type), "%s",
			    types[k->type].name);
		if (k->def != NULL)
			def = k->def;
		else if ((k->flags & (F_REQ | F_LOCAL)) == (F_REQ | F_LOCAL))
			def = "required if local";
		else if ((k->flags & (F_REQ | F_SCM)) == (F_REQ | F_SCM))
			def = "required if scm";
		else if (k->flags & F_REQ)
			def = "required";
		else
			def = "-";
		fprintf(fp, "%-27s %-19s %-23s %s\n", key, type, def,
		    k->help);
	}
}
