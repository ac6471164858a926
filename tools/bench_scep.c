/*
 * scep-bench's SCEP client side: keys, the PKCS#10 (RFC 2986), the
 * self-signed signer certificate (RFC 8894 2.3), GetCACert (3.5.1) and
 * one PKCSReq (3.3.1). The pkiMessage and the CertRep are pkcs7/'s.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "bench_int.h"

/* Key generation: threads take the next free slot, after the loaded. */
struct keygen {
	struct bench_key	*keys;
	size_t			 n;
	size_t			 next;
	bool			 failed;
	pthread_mutex_t		 lock;	/* guards next, failed */
};

static void *
keygen_run(void *cls)
{
	struct keygen	*kg = cls;
	EVP_PKEY	*k;
	size_t		 i;

	for (;;) {
		pthread_mutex_lock(&kg->lock);
		i = kg->next++;
		pthread_mutex_unlock(&kg->lock);
		if (i >= kg->n)
			return NULL;
		if ((k = EVP_RSA_gen(2048)) == NULL) {
			pthread_mutex_lock(&kg->lock);
			kg->failed = true;
			pthread_mutex_unlock(&kg->lock);
			return NULL;
		}
		kg->keys[i].pkey = k;
	}
}

/* Hex SHA-1 of the DER SubjectPublicKeyInfo, as scepclient names keys. */
static bool
spki_sha1(EVP_PKEY *k, char out[41])
{
	unsigned char	*der = NULL, md[20];
	unsigned int	 mdlen = 0;
	int		 n;
	bool		 ok;

	n = i2d_PUBKEY(k, &der);
	ok = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha1(),
	    NULL) == 1 && mdlen == sizeof(md);
	if (ok)
		sg_hex(md, sizeof(md), out);
	OPENSSL_free(der);
	return ok;
}

/* Up to "n" PEM private keys from "path"; how many were read. */
static size_t
keys_load(const char *path, struct bench_key *keys, size_t n)
{
	FILE	*fp;
	size_t	 i = 0;

	if (path == NULL || (fp = fopen(path, "r")) == NULL)
		return 0;
	while (i < n && (keys[i].pkey = PEM_read_PrivateKey(fp, NULL, NULL,
	    NULL)) != NULL)
		i++;
	fclose(fp);
	ERR_clear_error();	/* the end of the file */
	return i;
}

/* The whole set, mode 0600: they are private keys, if throwaway ones. */
static enum sg_rc
keys_save(const char *path, const struct bench_key *keys, size_t n,
    struct sg_err *err)
{
	FILE	*fp;
	size_t	 i;
	int	 fd;
	bool	 ok = true;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return sg_err_set(err, SG_EIO, "%s: cannot write", path);
	}
	for (i = 0; i < n && ok; i++)
		ok = PEM_write_PrivateKey(fp, keys[i].pkey, NULL, NULL, 0,
		    NULL, NULL) == 1;
	if (fclose(fp) != 0 || !ok)
		return sg_err_set(err, SG_EIO, "%s: cannot write", path);
	return SG_OK;
}

enum sg_rc
bench_keys_get(const char *path, size_t n, size_t threads,
    struct bench_key **out, struct sg_err *err)
{
	struct keygen	 kg = { 0 };
	pthread_t	*tids = NULL;
	size_t		 i, loaded, started = 0;
	enum sg_rc	 rc;

	if ((kg.keys = calloc(n, sizeof(*kg.keys))) == NULL ||
	    (tids = calloc(threads, sizeof(*tids))) == NULL) {
		rc = sg_err_set(err, SG_ENOMEM, "keys");
		goto out;
	}
	kg.n = n;
	loaded = keys_load(path, kg.keys, n);
	kg.next = loaded;
	pthread_mutex_init(&kg.lock, NULL);
	for (i = 0; i < threads && loaded < n; i++) {
		if (pthread_create(&tids[i], NULL, keygen_run, &kg) != 0)
			break;
		started++;
	}
	if (loaded < n && started == 0)
		keygen_run(&kg);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&kg.lock);
	if (kg.failed) {
		rc = sg_err_set(err, SG_EINTERNAL, "RSA-2048 key generation");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!spki_sha1(kg.keys[i].pkey, kg.keys[i].spki_sha1)) {
			rc = sg_err_set(err, SG_EINTERNAL, "public key hash");
			goto out;
		}
	if (loaded < n && path != NULL &&
	    (rc = keys_save(path, kg.keys, n, err)) != SG_OK)
		goto out;
	*out = kg.keys;
	kg.keys = NULL;
	rc = SG_OK;
out:
	bench_keys_free(kg.keys, n);
	free(tids);
	return rc;
}

void
bench_keys_free(struct bench_key *keys, size_t n)
{
	size_t	i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		EVP_PKEY_free(keys[i].pkey);
	free(keys);
}

/* Does the Content-Type (parameters ignored) equal "want"? */
static bool
ctype_is(const char *ctype, const char *want)
{
	size_t	n = strlen(want);

	return strncasecmp(ctype, want, n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* The RA among the GetCACert certificates (see bench_int.h). */
static X509 *
pick_ra(STACK_OF(X509) *sk)
{
	X509	*x;
	int	 i;

	for (i = 0; i < sk_X509_num(sk); i++)
		if (X509_check_ca(sk_X509_value(sk, i)) == 0)
			return sk_X509_value(sk, i);
	for (i = 0; i < sk_X509_num(sk); i++) {
		x = sk_X509_value(sk, i);
		if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
		    (X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT))
			return x;
	}
	return sk_X509_value(sk, 0);
}

enum sg_rc
bench_ca_parse(const char *ctype, const uint8_t *body, size_t len,
    struct bench_ca *ca, struct sg_err *err)
{
	const unsigned char	*p = body;
	STACK_OF(X509)		*sk = NULL;
	X509			*x = NULL;
	BIO			*b;
	enum sg_rc		 rc;

	memset(ca, 0, sizeof(*ca));
	if (!ctype_is(ctype, "application/x-x509-ca-cert")) {
		/* x-x509-ca-ra-cert, or unlabelled: try PKCS#7 first. */
		rc = p7_certs_parse(body, len, &sk, err);
		if (rc == SG_OK && sk_X509_num(sk) > 0) {
			ca->certs = sk;
			ca->ra = pick_ra(sk);
			ca->chain = true;
			return SG_OK;
		}
		sk_X509_pop_free(sk, X509_free);
		sk = NULL;
		if (ctype_is(ctype, "application/x-x509-ca-ra-cert"))
			return sg_err_set(err, SG_EPARSE, "GetCACert: "
			    "x-x509-ca-ra-cert that is no certs-only PKCS#7");
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != body + len) {
		X509_free(x);
		x = NULL;
		if ((b = BIO_new_mem_buf(body, (int)len)) != NULL)
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (x == NULL || (sk = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(sk, x)) {
		X509_free(x);
		sk_X509_free(sk);
		return sg_err_set(err, SG_EPARSE, "GetCACert: no certificate "
		    "in a %s body of %zu bytes", ctype[0] ? ctype : "untyped",
		    len);
	}
	ERR_clear_error();
	ca->certs = sk;
	ca->ra = x;
	return SG_OK;
}

void
bench_ca_free(struct bench_ca *ca)
{
	sk_X509_pop_free(ca->certs, X509_free);
	memset(ca, 0, sizeof(*ca));
}

/* PrintableString's alphabet (X.680 41.4): what most clients send. */
static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789 '()+,-./:=?", *s) == NULL)
			return false;
	return true;
}

/* A PKCS#10 for "name" with the challengePassword (RFC 8894 2.2). */
static X509_REQ *
make_csr(EVP_PKEY *k, const X509_NAME *name, const char *challenge)
{
	X509_REQ	*req;

	if ((req = X509_REQ_new()) == NULL)
		return NULL;
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, k) != 1 ||
	    (challenge != NULL && X509_REQ_add1_attr_by_NID(req,
	    NID_pkcs9_challengePassword, printable(challenge) ?
	    V_ASN1_PRINTABLESTRING : MBSTRING_UTF8,
	    (const unsigned char *)challenge, (int)strlen(challenge)) != 1) ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0) {
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

/* The transient self-signed signer certificate (RFC 8894 2.3). */
static X509 *
make_self(EVP_PKEY *k, const X509_NAME *name)
{
	X509		*x;
	BIGNUM		*bn = NULL;
	unsigned char	 serial[8];
	bool		 ok;

	if ((x = X509_new()) == NULL)
		return NULL;
	ok = RAND_bytes(serial, sizeof(serial)) == 1 &&
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_set_version(x, X509_VERSION_3) == 1 &&
	    X509_set_subject_name(x, name) == 1 &&
	    X509_set_issuer_name(x, name) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL &&
	    X509_set_pubkey(x, k) == 1 &&
	    X509_sign(x, k, EVP_sha256()) > 0;
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* What to blame for a CertRep that did not parse. */
static enum bench_fail
reply_kind(enum sg_rc rc)
{
	return rc == SG_ENOMEM ? BENCH_F_CLIENT : BENCH_F_REPLY;
}

enum sg_rc
bench_enroll_one(const struct bench_enroll *e, struct bench_http *h,
    const struct bench_key *key, uint64_t seq, struct bench_result *res,
    struct sg_err *err)
{
	struct p7_req		 rq = { 0 };
	struct p7_certrep	*rep = NULL;
	STACK_OF(X509)		*rcpt = NULL;
	X509_NAME		*name = NULL;
	X509_REQ		*csr = NULL;
	X509			*self = NULL;
	unsigned char		*csrder = NULL;
	uint8_t			*msg = NULL, nonce[16];
	size_t			 msglen = 0;
	char			 cn[96], transid[P7_TRANSID_MAX + 1];
	uint64_t		 t0;
	int			 n;
	enum sg_rc		 rc;

	memset(res, 0, sizeof(*res));
	res->kind = BENCH_F_CLIENT;
	/* A new subject each time: micromdm refuses a CN it issued. */
	snprintf(cn, sizeof(cn), "scep-bench %s-%llu", e->runtag,
	    (unsigned long long)seq);
	snprintf(transid, sizeof(transid), "%s-%s-%llu", key->spki_sha1,
	    e->runtag, (unsigned long long)seq);
	if ((name = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    (csr = make_csr(key->pkey, name, e->challenge)) == NULL ||
	    (self = make_self(key->pkey, name)) == NULL ||
	    (n = i2d_X509_REQ(csr, &csrder)) <= 0 ||
	    RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    (rcpt = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(rcpt, e->ca->ra)) {
		rc = sg_err_set(err, SG_EINTERNAL, "CSR or signer certificate");
		goto out;
	}
	/*
	 * Our own senderNonce, so that the reply's recipientNonce can be
	 * checked (RFC 8894 3.2.1.5); the RA certificate is both the
	 * envelope's recipient and the reply's expected signer.
	 */
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = transid;
	rq.sender_nonce = nonce;
	rq.sender_nonce_len = sizeof(nonce);
	rq.data = csrder;
	rq.data_len = (size_t)n;
	rq.signer = self;
	rq.signer_key = key->pkey;
	rq.recipients = rcpt;
	rq.cipher_nid = e->cipher_nid;
	rq.digest_nid = e->digest_nid;
	if ((rc = p7_req_build(&rq, &msg, &msglen, err)) != SG_OK)
		goto out;

	/* The latency is the HTTP exchange only: client crypto excluded. */
	t0 = bench_now_us();
	rc = bench_http_do(h, e->url, msg, msglen);
	res->lat_us = bench_now_us() - t0;
	if (rc != SG_OK) {
		res->kind = BENCH_F_HTTP;
		rc = sg_err_set(err, rc, "PKIOperation: %s", h->errbuf);
		goto out;
	}
	if (h->status != 200) {
		res->kind = BENCH_F_STATUS;
		rc = sg_err_set(err, SG_EPARSE, "PKIOperation: HTTP %ld: %.80s",
		    h->status, h->body.data != NULL ? (char *)h->body.data :
		    "");
		goto out;
	}

	if ((rc = p7_certrep_parse(h->body.data, h->body.len, e->ca->ra, self,
	    key->pkey, &rep, err)) != SG_OK) {
		res->kind = reply_kind(rc);
		goto out;
	}
	if (strcmp(rep->transid, transid) != 0 ||
	    rep->recipient_nonce_len != sizeof(nonce) ||
	    memcmp(rep->recipient_nonce, nonce, sizeof(nonce)) != 0) {
		res->kind = BENCH_F_TXN;
		rc = sg_err_set(err, SG_EPARSE, "CertRep: RFC 8894 3.2.1: "
		    "transactionID or recipientNonce is not ours");
		goto out;
	}
	if (rep->status == P7_STATUS_PENDING) {
		res->kind = BENCH_F_PENDING;
		rc = sg_err_set(err, SG_EPOLICY, "CertRep: PENDING");
		goto out;
	}
	if (rep->status != P7_STATUS_SUCCESS) {
		res->kind = BENCH_F_SCEP_FAILURE;
		rc = sg_err_set(err, SG_EPOLICY, "CertRep: FAILURE, failInfo "
		    "%d: %s", rep->failinfo, rep->failtext);
		goto out;
	}
	/* RFC 8894 3.3.2: the issued certificate comes first. */
	if (sk_X509_num(rep->certs) < 1 || EVP_PKEY_eq(X509_get0_pubkey(
	    sk_X509_value(rep->certs, 0)), key->pkey) != 1) {
		res->kind = BENCH_F_KEY;
		rc = sg_err_set(err, SG_EPARSE, "CertRep: the first "
		    "certificate is not for the requested key");
		goto out;
	}
	res->reply_cipher = rep->cipher_nid;
	rc = SG_OK;
out:
	p7_certrep_free(rep);
	sk_X509_free(rcpt);
	free(msg);
	OPENSSL_free(csrder);
	X509_free(self);
	X509_REQ_free(csr);
	X509_NAME_free(name);
	return rc;
}
