/*
 * Private keys on a PKCS#11 token (RFC 7512 URIs), through libp11's
 * "pkcs11" engine (Debian: libengine-pkcs11-openssl). This file holds
 * every engine call of the program: the ENGINE API is deprecated in
 * OpenSSL 3, and a later move to a PKCS#11 provider (OSSL_STORE on the
 * URI) replaces this one file behind ra_pkcs11_key().
 *
 * The URI is taken apart here rather than handed over as written:
 *  - pin-source=file:PATH is read with ra_secret_read() (mode 0600, like
 *    every secret) and given to the engine as its PIN, then wiped;
 *  - pin-value is refused: a PIN does not belong in the configuration,
 *    whose values reach log lines and errors;
 *  - module-path=PATH picks the PKCS#11 module; without it libp11 uses
 *    p11-kit's proxy, which offers every module p11-kit knows.
 * The rest (token, object, id, ...) goes to ENGINE_load_private_key().
 *
 * The engine is a documented global (common/sg.h): started once, on the
 * first pkcs11: key, and kept for the life of the process, because the
 * keys it returns call into the module it loaded.
 */

/* Before any OpenSSL header: the ENGINE API is deprecated in 3.0. */
#undef OPENSSL_NO_DEPRECATED
#undef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT	10101

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ra_http.h"	/* ra_secret_read() */
#include "ra_int.h"

#define PIN_FILE_MAX	256u
#define URI_MAX		1024u

/* The engine, once started: see the comment at the top. */
static pthread_mutex_t	 p11_lock = PTHREAD_MUTEX_INITIALIZER;
static ENGINE		*p11_engine;
static char		 p11_module[CONF_PATH_MAX];	/* "": p11-kit */

/* What ra_pkcs11_key() takes out of the URI; the rest is in "uri". */
struct p11_uri {
	char	uri[URI_MAX];		/* for the engine */
	char	pin_file[CONF_PATH_MAX];
	char	module[CONF_PATH_MAX];
};

static bool
attr_is(const char *a, size_t n, const char *name)
{
	size_t	k = strlen(name);

	return n > k && strncmp(a, name, k) == 0 && a[k] == '=';
}

/*
 * Copy what follows "skip" bytes of attribute "a" (n bytes) into "dst"
 * (size "sz"), not percent-decoded: paths are written as they are.
 */
static bool
attr_value(const char *a, size_t n, size_t skip, char *dst, size_t sz)
{
	if (n <= skip || n - skip >= sz)
		return false;
	memcpy(dst, a + skip, n - skip);
	dst[n - skip] = '\0';
	return true;
}

/*
 * Split "s" (after "pkcs11:") into its attributes, separated by ';' in
 * the path and '?' '&' in the query (RFC 7512 2.3). pin-source and
 * module-path may stand in either part, as OpenSSL users write them.
 */
static enum sg_rc
uri_parse(const char *s, struct p11_uri *u, struct sg_err *err)
{
	const char	*a = s + 7;
	size_t		 n, pos;
	int		 k;

	memset(u, 0, sizeof(*u));
	pos = (size_t)snprintf(u->uri, sizeof(u->uri), "pkcs11:");
	for (; *a != '\0'; a += n + (a[n] != '\0')) {
		n = strcspn(a, ";?&");
		if (n == 0)
			continue;
		if (attr_is(a, n, "pin-value"))
			/* Not "s": the message would show the PIN. */
			return sg_err_set(err, SG_ECONF, "a pkcs11: URI has a "
			    "pin-value: put the PIN in a file (mode 0600) and "
			    "write pin-source=file:PATH");
		if (attr_is(a, n, "pin-source")) {
			if (strncmp(a + 11, "file:", 5) != 0 ||
			    !attr_value(a, n, 16, u->pin_file,
			    sizeof(u->pin_file)))
				return sg_err_set(err, SG_ECONF, "%s: "
				    "pin-source must be file:PATH", s);
			continue;
		}
		if (attr_is(a, n, "module-path")) {
			if (!attr_value(a, n, 12, u->module,
			    sizeof(u->module)))
				return sg_err_set(err, SG_ECONF, "%s: bad "
				    "module-path", s);
			continue;
		}
		k = snprintf(u->uri + pos, sizeof(u->uri) - pos, "%s%.*s",
		    u->uri[pos - 1] == ':' ? "" : ";", (int)n, a);
		if (k < 0 || (size_t)k >= sizeof(u->uri) - pos)
			return sg_err_set(err, SG_ECONF, "%s: too long", s);
		pos += (size_t)k;
	}
	if (u->uri[pos - 1] == ':')
		return sg_err_set(err, SG_ECONF, "%s: names no object", s);
	return SG_OK;
}

/*
 * Start the engine once. It loads one module, so every key must name
 * the same module-path (or none) as the first.
 */
static enum sg_rc
engine_get(const char *module, ENGINE **out, struct sg_err *err)
{
	ENGINE		*e = NULL;
	enum sg_rc	 rc = SG_OK;

	pthread_mutex_lock(&p11_lock);
	if (p11_engine != NULL) {
		if (strcmp(module, p11_module) != 0)
			rc = sg_err_set(err, SG_ECONF, "PKCS#11: module-path "
			    "'%s' differs from the first key's '%s': one "
			    "module for all keys", module, p11_module);
		goto out;
	}
	ENGINE_load_builtin_engines();
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		rc = sg_err_set(err, SG_ECONF, "PKCS#11: no OpenSSL engine "
		    "\"pkcs11\" (install libengine-pkcs11-openssl)");
		goto out;
	}
	if (module[0] != '\0' && !ENGINE_ctrl_cmd_string(e, "MODULE_PATH",
	    module, 0)) {
		rc = sg_err_set(err, SG_ECONF, "PKCS#11: module %s", module);
		goto out;
	}
	if (!ENGINE_init(e)) {
		rc = sg_err_set(err, SG_ECONF, "PKCS#11: the engine does not "
		    "start%s%s", module[0] ? " with " : "", module);
		goto out;
	}
	p11_engine = e;		/* ENGINE_init's reference: kept */
	snprintf(p11_module, sizeof(p11_module), "%s", module);
out:
	ENGINE_free(e);		/* the structural one of ENGINE_by_id */
	*out = p11_engine;
	pthread_mutex_unlock(&p11_lock);
	return rc;
}

enum sg_rc
ra_pkcs11_key(const char *uri, EVP_PKEY **out, struct sg_err *err)
{
	struct p11_uri	 u;
	struct ra_secret pin = { 0 };
	ENGINE		*e;
	EVP_PKEY	*k = NULL;
	enum sg_rc	 rc;

	if ((rc = uri_parse(uri, &u, err)) != SG_OK)
		return rc;
	if (u.pin_file[0] != '\0' && (rc = ra_secret_read(u.pin_file,
	    "PKCS#11 PIN", PIN_FILE_MAX, RA_SECRET_LINE, &pin, err)) != SG_OK)
		return rc;
	if ((rc = engine_get(u.module, &e, err)) != SG_OK)
		goto out;
	/* The PIN is the engine's, so loads take the lock too. */
	pthread_mutex_lock(&p11_lock);
	if (pin.data != NULL && !ENGINE_ctrl_cmd_string(e, "PIN", pin.data,
	    0))
		rc = sg_err_set(err, SG_ECONF, "%s: the engine refuses the "
		    "PIN", uri);
	else if ((k = ENGINE_load_private_key(e, u.uri, NULL, NULL)) ==
	    NULL)
		rc = sg_err_set(err, SG_ECONF, "%s: no private key on the "
		    "token (object, token name or PIN wrong?)", uri);
	pthread_mutex_unlock(&p11_lock);
	if (rc == SG_OK)
		*out = k;
out:
	ra_secret_free(&pin);
	return rc;
}
