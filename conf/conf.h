/*
 * conf/: the one place that reads the configuration file (libconfig).
 * conf_load() applies every default, checks every range, path and URL,
 * rejects unknown keys and reports file:line. The result is a plain,
 * read-only struct; relative paths are made absolute against the
 * directory of the configuration file.
 */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sg.h"

#define CONF_MAX_RA	8
#define CONF_MAX_AZURE	8
#define CONF_PATH_MAX	1024

/* One RA certificate: signs replies and decrypts requests. */
struct conf_ra {
	char	id[64];
	char	cert[CONF_PATH_MAX];	/* PEM certificate */
	char	key[CONF_PATH_MAX];	/* PEM key path, or a pkcs11: URI */
	char	chain[CONF_PATH_MAX];	/* optional extra PEM chain, "" if none */
	char	next_cert[CONF_PATH_MAX]; /* rollover: next RA cert, "" */
};

enum conf_upstream_type {
	CONF_UPSTREAM_LOCAL = 0,
	CONF_UPSTREAM_SCM,
};

/* How scepgate logs in to SCM (docs/upstream-scm.md). */
enum conf_scm_auth {
	CONF_SCM_AUTH_PASSWORD = 0,	/* headers login, password, ... */
	CONF_SCM_AUTH_CLIENT_CERT,	/* TLS client certificate */
	CONF_SCM_AUTH_OAUTH,		/* client credentials, bearer token */
};

struct conf_upstream {
	enum conf_upstream_type type;
	/* local */
	char	ca_cert[CONF_PATH_MAX];	/* PEM issuing CA certificate */
	char	ca_key[CONF_PATH_MAX];	/* PEM CA key path, or pkcs11: URI */
	/* local: optional intermediates/root; scm (required): issuing CA
	 * first, up to the root */
	char	ca_chain[CONF_PATH_MAX];
	char	next_ca_cert[CONF_PATH_MAX]; /* rollover: next CA cert, "" */
	int	crl_days;		/* local CA: CRL validity */
	/* scm: secrets stay in their files; ra/ reads them once */
	char	url[256];		/* REST base, ".../api", no final '/' */
	char	customer_uri[128];
	enum conf_scm_auth auth;
	char	login[128];
	char	password_file[CONF_PATH_MAX];
	char	client_cert[CONF_PATH_MAX];	/* PEM, client-cert auth */
	char	client_key[CONF_PATH_MAX];	/* PEM, mode 0600 */
	char	token_url[256];			/* oauth */
	char	client_id[256];			/* oauth */
	char	client_secret_file[CONF_PATH_MAX]; /* oauth, mode 0600 */
	char	tls_ca_file[CONF_PATH_MAX];	/* "": the system store */
	int	smime_api_version;	/* 1 or 2 */
	int	timeout;		/* seconds per call, retries included */
	int	poll_interval;		/* seconds between collects */
};

/*
 * One Azure (Entra ID) account that Intune endpoints name
 * (docs/intune.md, reference/intune-scep.md 2). URLs have no final '/';
 * the secret stays in its file, which ra/ reads (and re-reads on
 * SIGHUP).
 */
struct conf_azure {
	char	name[64];		/* first member: the unique key */
	char	tenant[256];		/* GUID or contoso.onmicrosoft.com */
	char	client_id[64];		/* the app registration */
	char	client_secret_file[CONF_PATH_MAX]; /* mode 0600 */
	char	authority_url[256];	/* token: {authority}/{tenant}/... */
	char	graph_url[256];		/* discovery */
	char	intune_url[256];	/* the Intune resource */
	char	tls_ca_file[CONF_PATH_MAX]; /* "": the system store */
	char	graph_scope[256];	/* token scope for discovery */
	char	intune_scope[256];	/* token scope for the SCEP service */
	char	api_version[32];	/* api-version of the SCEP actions */
	char	provider[128];		/* callerInfo and UserAgent */
	int	timeout;		/* seconds per operation, all in */
	bool	revocation;		/* take Intune's revocations (7) */
	int	revocation_interval;	/* seconds between downloads */
	int	issue_wait;		/* seconds an enrollment may wait
					 * for the upstream (no PENDING) */
	bool	wait_success;		/* wait_for_success_notification */
};

struct conf {
	char	path[CONF_PATH_MAX];	/* the file itself, absolute */

	/* listen = { address; port; tls_port; tls_cert; tls_key; } */
	char	listen_address[64];
	int	listen_port;
	int	listen_tls_port;		/* 0: no HTTPS listener */
	char	listen_tls_cert[CONF_PATH_MAX];	/* PEM, chain after it */
	char	listen_tls_key[CONF_PATH_MAX];	/* PEM, mode 0600 */
	/* the endpoint also at /certsrv/mscep/mscep.dll; "": none */
	char	listen_ndes_endpoint[128];
	/* admin = { address; port; tls_cert; tls_key; } (srv_admin.c) */
	char	admin_address[64];
	int	admin_port;			/* 0: no admin listener */
	char	admin_tls_cert[CONF_PATH_MAX];	/* "": plain HTTP */
	char	admin_tls_key[CONF_PATH_MAX];
	char	base_url[256];		/* for messages: http://host:port */

	/* SQLite: an absolute path; PostgreSQL: the URI (conf_db_parse) */
	char	database[CONF_PATH_MAX];
	bool	database_auto_upgrade;	/* false: refuse an older schema */
	char	secret_file[CONF_PATH_MAX];	/* HMAC key for access codes */

	struct conf_ra	ra[CONF_MAX_RA];
	size_t		nra;

	struct conf_upstream upstream;

	struct conf_azure	azure[CONF_MAX_AZURE];
	size_t			nazure;

	/* crypto = { ... } */
	bool	allow_des;	/* single DES / 3DES requests (legacy clients) */
	bool	allow_sha1;	/* SHA-1 digests */

	/* limits = { ... } */
	size_t	max_body;	/* bytes of a POST body or GET message */
	int	threads;	/* HTTP worker threads */
	int	connection_limit;
	int	workers;	/* PKIOperation worker threads */
	int	lockout_failures; /* wrong codes before a lockout; 0: off */
	int	lockout_seconds;  /* counting window and lockout length */
	int	per_address;	/* connections from one IP address; 0: any */
	int	idle_connections; /* waiting for a request; oldest cut */
	int	header_timeout;	/* s: ready until the headers are in */
	int	body_timeout;	/* s: headers until the body is in */
	size_t	connection_memory; /* bytes per connection (libmicrohttpd) */
	int	lockout_prefix4;  /* IPv4 prefix length of one source */
	int	lockout_prefix6;  /* IPv6 prefix length of one source */
	int	lockout_ceiling;  /* wrong codes a minute per endpoint */
	int	refusal_seconds;  /* refusals of a source audited once per */

	/* challenges = { ... } (docs/challenges.md) */
	int	challenge_max;	/* outstanding per endpoint */
	int	challenge_lifetime; /* s: the default and the longest */

	/* log = { ... } */
	int	log_level;	/* enum sg_log_level */
	bool	log_syslog;
	int	log_format;	/* enum sg_log_format */
};

/*
 * Read and validate "path". On success fill *out (owned by the caller;
 * nothing to free). On failure the message names file:line and the key.
 */
enum sg_rc	 conf_load(const char *path, struct conf *out,
		    struct sg_err *err);

/* Parse configuration text as if read from "name" (used by the fuzzer). */
enum sg_rc	 conf_load_string(const char *text, const char *name,
		    struct conf *out, struct sg_err *err);

/* Which store a "database" value names. */
enum conf_db_kind {
	CONF_DB_SQLITE = 0,
	CONF_DB_POSTGRESQL,
};

struct conf_db {
	enum conf_db_kind kind;
	const char	*path;	/* SQLite file, or PostgreSQL URI */
};

/*
 * Parse a "database" value: a plain path or "sqlite:PATH" is SQLite, a
 * "postgresql://" or "postgres://" URI is PostgreSQL. "s" is borrowed
 * and out->path points into it. SG_ECONF (message without the key name)
 * for an empty path, "sqlite://..." or any other "scheme:" prefix (a
 * path with a colon in its first segment needs "sqlite:" or "./").
 * conf_load() and ra_store_open() both use it.
 */
enum sg_rc	 conf_database_parse(const char *s, struct conf_db *out,
		    struct sg_err *err);

/* Find an RA by id; NULL if absent. */
const struct conf_ra *conf_ra_find(const struct conf *, const char *id);

/* Find an Azure account by name; NULL if absent or either is NULL. */
const struct conf_azure *conf_azure_find(const struct conf *,
		    const char *name);

/* Print every key with its type, default and meaning (check-config). */
void		 conf_describe(FILE *fp);

#endif /* CONF_H */
