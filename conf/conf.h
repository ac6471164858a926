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
#define CONF_PATH_MAX	1024

/* One RA certificate: signs replies and decrypts requests. */
struct conf_ra {
	char	id[64];
	char	cert[CONF_PATH_MAX];	/* PEM certificate */
	char	key[CONF_PATH_MAX];	/* PEM private key (mode 0600) */
	char	chain[CONF_PATH_MAX];	/* optional extra PEM chain, "" if none */
	char	next_cert[CONF_PATH_MAX]; /* rollover: next RA cert, "" */
};

enum conf_upstream_type {
	CONF_UPSTREAM_LOCAL = 0,
	CONF_UPSTREAM_SCM,
};

struct conf_upstream {
	enum conf_upstream_type type;
	/* local */
	char	ca_cert[CONF_PATH_MAX];	/* PEM issuing CA certificate */
	char	ca_key[CONF_PATH_MAX];	/* PEM issuing CA key */
	char	ca_chain[CONF_PATH_MAX]; /* optional intermediates/root, "" */
	char	next_ca_cert[CONF_PATH_MAX]; /* rollover: next CA cert, "" */
	int	crl_days;		/* local CA: CRL validity */
};

struct conf {
	char	path[CONF_PATH_MAX];	/* the file itself, absolute */

	/* listen = { address; port; } */
	char	listen_address[64];
	int	listen_port;
	char	base_url[256];		/* for messages: http://host:port */

	char	database[CONF_PATH_MAX];
	char	secret_file[CONF_PATH_MAX];	/* HMAC key for access codes */

	struct conf_ra	ra[CONF_MAX_RA];
	size_t		nra;

	struct conf_upstream upstream;

	/* crypto = { ... } */
	bool	allow_des;	/* single DES / 3DES requests (legacy clients) */
	bool	allow_sha1;	/* SHA-1 digests */

	/* limits = { ... } */
	size_t	max_body;	/* bytes of a POST body or GET message */
	int	threads;	/* HTTP worker threads */
	int	connection_limit;

	/* log = { ... } */
	int	log_level;	/* enum sg_log_level */
	bool	log_syslog;
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

/* Find an RA by id; NULL if absent. */
const struct conf_ra *conf_ra_find(const struct conf *, const char *id);

/* Print every key with its type, default and meaning (check-config). */
void		 conf_describe(FILE *fp);

#endif /* CONF_H */
