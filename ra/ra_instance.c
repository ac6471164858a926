/*
 * scepctl init: a complete evaluation instance in one directory, with a
 * local root CA, an RA certificate issued by it, the access-code secret,
 * the configuration file and a demo endpoint with one account.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ra_int.h"

#define CA_DAYS		3650
#define RA_DAYS		730
#define TLS_DAYS	730

static const char config_fmt[] =
"# scepgate configuration, written by \"scepctl init\".\n"
"# Every key: \"scepctl --config FILE check-config --describe\".\n"
"# HTTPS: tls.pem is self-signed for the demo (clients trust it with\n"
"# curl --cacert tls.pem, SSL_CERT_FILE=tls.pem); tls_port 0: off.\n"
"listen = { address = \"%s\"; port = %d; tls_port = %d;\n"
"    tls_cert = \"tls.pem\"; tls_key = \"tls.key\"; };\n"
"database = \"scepgate.db\";\n"
"secret_file = \"secret.key\";\n"
"ra = ( { id = \"ra1\"; cert = \"ra.pem\"; key = \"ra.key\"; } );\n"
"upstream = { type = \"local\"; ca_cert = \"ca.pem\"; ca_key = \"ca.key\"; };\n"
"crypto = { allow_des = true; allow_sha1 = true; };\n"
"limits = { max_body = 65536; threads = 4; connections = 1024; };\n"
"log = { level = \"info\"; };\n";

/* Create "dir/name" exclusively with "mode" and write "buf". */
static enum sg_rc
write_new(const char *dir, const char *name, mode_t mode, const void *buf,
    size_t len, struct sg_err *err)
{
	char	path[1024];
	int	fd;
	ssize_t	n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1)
		return sg_err_set(err, SG_EIO, "%s: %s", path, strerror(errno));
	n = write(fd, buf, len);
	if (close(fd) == -1 || n < 0 || (size_t)n != len)
		return sg_err_set(err, SG_EIO, "%s: write failed", path);
	return SG_OK;
}

/* PEM of a key or certificate into a new file. */
static enum sg_rc
write_pem(const char *dir, const char *name, EVP_PKEY *key, X509 *x,
    struct sg_err *err)
{
	BIO		*b;
	char		*p;
	long		 n;
	enum sg_rc	 rc;

	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		return sg_err_set(err, SG_ENOMEM, "%s", name);
	/* Traditional "RSA PRIVATE KEY" is not needed: PKCS#8 is read by
	 * every tool we point at these files. */
	if ((key != NULL && !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0,
	    NULL, NULL)) || (x != NULL && !PEM_write_bio_X509(b, x))) {
		BIO_free(b);
		return sg_err_set(err, SG_EINTERNAL, "%s", name);
	}
	n = BIO_get_mem_data(b, &p);
	rc = write_new(dir, name, key != NULL ? 0600 : 0644, p, (size_t)n,
	    err);
	BIO_free(b);
	return rc;
}

static enum sg_rc
make_name(const char *cn, X509_NAME **out)
{
	X509_NAME	*n;

	if ((n = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"scepgate", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return SG_ENOMEM;
	}
	*out = n;
	return SG_OK;
}

/* The root CA and the RA certificate with their keys. */
static enum sg_rc
make_pki(const char *dir, struct sg_err *err)
{
	EVP_PKEY		*cakey = NULL, *rakey = NULL;
	X509			*ca = NULL, *ra = NULL;
	X509_NAME		*caname = NULL, *raname = NULL;
	struct ra_x509_req	 r = { 0 };
	enum sg_rc		 rc;

	if ((cakey = EVP_RSA_gen(2048)) == NULL ||
	    (rakey = EVP_RSA_gen(2048)) == NULL ||
	    make_name("scepgate demo root CA", &caname) != SG_OK ||
	    make_name("scepgate demo RA", &raname) != SG_OK) {
		rc = sg_err_set(err, SG_EINTERNAL, "cannot generate keys");
		goto out;
	}
	r.subject = caname;
	r.pubkey = cakey;
	r.issuer_key = cakey;
	r.now = time(NULL);
	r.days = CA_DAYS;
	r.profile = RA_X509_ROOT;
	if ((rc = ra_x509_make(&r, &ca, err)) != SG_OK)
		goto out;
	r.subject = raname;
	r.pubkey = rakey;
	r.issuer = ca;
	r.days = RA_DAYS;
	r.profile = RA_X509_RA;
	if ((rc = ra_x509_make(&r, &ra, err)) != SG_OK)
		goto out;
	if ((rc = write_pem(dir, "ca.key", cakey, NULL, err)) != SG_OK ||
	    (rc = write_pem(dir, "ca.pem", NULL, ca, err)) != SG_OK ||
	    (rc = write_pem(dir, "ra.key", rakey, NULL, err)) != SG_OK ||
	    (rc = write_pem(dir, "ra.pem", NULL, ra, err)) != SG_OK)
		goto out;
	rc = SG_OK;
out:
	X509_NAME_free(caname);
	X509_NAME_free(raname);
	X509_free(ca);
	X509_free(ra);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(rakey);
	return rc;
}

/*
 * A request for ra_x509_make() (which takes the public key and the
 * subjectAltName from it): "key" and subjectAltName "san".
 */
static X509_REQ *
san_req(EVP_PKEY *key, const char *san)
{
	X509_REQ			*req;
	X509_EXTENSION			*e = NULL;
	STACK_OF(X509_EXTENSION)	*sk = NULL;

	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_pubkey(req, key) ||
	    (e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL || (sk = sk_X509_EXTENSION_new_null()) == NULL ||
	    !sk_X509_EXTENSION_push(sk, e) ||
	    !X509_REQ_add_extensions(req, sk)) {
		X509_REQ_free(req);
		req = NULL;
	}
	sk_X509_EXTENSION_free(sk);
	X509_EXTENSION_free(e);
	return req;
}

/*
 * The demo's HTTPS certificate: self-signed P-256, CN the listen
 * address, subjectAltName the address and localhost (Go and curl match
 * the SAN, not the CN).
 */
static enum sg_rc
make_tls(const char *dir, const char *address, struct sg_err *err)
{
	EVP_PKEY		*key = NULL;
	X509			*x = NULL;
	X509_NAME		*name = NULL;
	struct ra_x509_req	 r = { 0 };
	char			 san[128];
	enum sg_rc		 rc;

	snprintf(san, sizeof(san), "DNS:localhost,IP:%s", address);
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    make_name(address, &name) != SG_OK ||
	    (r.csr = san_req(key, san)) == NULL) {
		rc = sg_err_set(err, SG_EINTERNAL, "cannot generate the TLS "
		    "key");
		goto out;
	}
	r.subject = name;
	r.pubkey = key;
	r.issuer_key = key;
	r.now = time(NULL);
	r.days = TLS_DAYS;
	r.profile = RA_X509_DEVICE;	/* serverAuth */
	if ((rc = ra_x509_make(&r, &x, err)) != SG_OK ||
	    (rc = write_pem(dir, "tls.key", key, NULL, err)) != SG_OK ||
	    (rc = write_pem(dir, "tls.pem", NULL, x, err)) != SG_OK)
		goto out;
out:
	X509_REQ_free(r.csr);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

static enum sg_rc
make_secret(const char *dir, struct sg_err *err)
{
	uint8_t		raw[32];
	char		hex[2 * sizeof(raw) + 2];
	enum sg_rc	rc;

	if (RAND_priv_bytes(raw, sizeof(raw)) != 1)
		return sg_err_set(err, SG_EINTERNAL, "random");
	sg_hex(raw, sizeof(raw), hex);
	hex[2 * sizeof(raw)] = '\n';
	rc = write_new(dir, "secret.key", 0600, hex, 2 * sizeof(raw) + 1, err);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

/* The demo organization, endpoint and account. */
static enum sg_rc
make_demo(const struct conf *conf, struct ra_instance_result *res,
    struct sg_err *err)
{
	struct ra		*ra = NULL;
	struct ra_endpoint	 ep = { 0 };
	struct ra_account	 acct = { 0 };
	enum sg_rc		 rc;

	if ((rc = ra_open(conf, &ra, err)) != SG_OK)
		goto out;
	ra_set_actor(ra, "scepctl-init");
	if ((rc = ra_org_add(ra, "Demo", err)) != SG_OK)
		goto out;
	snprintf(ep.name, sizeof(ep.name), "demo");
	snprintf(ep.uri, sizeof(ep.uri), "demo");
	snprintf(ep.ra_id, sizeof(ep.ra_id), "ra1");
	ep.type = RA_EP_DEVICE;
	ep.cacert_fmt = RA_CACERT_CMS_CHAIN;
	ep.getcert_fmt = RA_GETCERT_FULL_CHAIN;
	ep.renewal_days = 30;
	if ((rc = ra_endpoint_add(ra, &ep, err)) != SG_OK)
		goto out;
	snprintf(acct.endpoint, sizeof(acct.endpoint), "demo");
	snprintf(acct.name, sizeof(acct.name), "demo-devices");
	snprintf(acct.org, sizeof(acct.org), "Demo");
	acct.term_days = 365;
	if ((rc = ra_account_add(ra, &acct, NULL, res->code, err)) != SG_OK)
		goto out;
	ra_endpoint_url(ra, &ep, res->url, sizeof(res->url));
out:
	ra_close(ra);
	return rc;
}

enum sg_rc
ra_instance_create(const char *dir, const char *address, int port,
    struct ra_instance_result *res, struct sg_err *err)
{
	return ra_instance_create_tls(dir, address, port, 0, res, err);
}

enum sg_rc
ra_instance_create_tls(const char *dir, const char *address, int port,
    int tls_port, struct ra_instance_result *res, struct sg_err *err)
{
	struct conf	*conf = NULL;
	char		 text[2048], path[1024];
	int		 n;
	enum sg_rc	 rc;

	memset(res, 0, sizeof(*res));
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return sg_err_set(err, SG_EIO, "%s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/scepgate.cfg", dir);
	if (access(path, F_OK) == 0)
		return sg_err_set(err, SG_EEXIST, "%s exists: refusing to "
		    "overwrite an instance", path);
	snprintf(path, sizeof(path), "%s/scepgate.db", dir);
	if (access(path, F_OK) == 0)
		return sg_err_set(err, SG_EEXIST, "%s exists: refusing to "
		    "overwrite an instance", path);
	if ((rc = make_pki(dir, err)) != SG_OK ||
	    (rc = make_secret(dir, err)) != SG_OK ||
	    (rc = make_tls(dir, address, err)) != SG_OK)
		return rc;
	n = snprintf(text, sizeof(text), config_fmt, address, port, tls_port);
	if ((rc = write_new(dir, "scepgate.cfg", 0644, text, (size_t)n,
	    err)) != SG_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/scepgate.cfg", dir);
	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "init");
	if ((rc = conf_load(path, conf, err)) == SG_OK &&
	    (rc = make_demo(conf, res, err)) == SG_OK)
		snprintf(res->config, sizeof(res->config), "%s", conf->path);
	free(conf);
	return rc;
}
