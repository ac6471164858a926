/*
 * Fixtures shared by the ra/ unit tests (cmocka). Every helper fails the
 * running test on any error, so callers need no checks of their own.
 *
 * The instance fixture (struct sgt_fx) is a throwaway "scepctl init"
 * directory: local CA, RA certificate "ra1", SQLite store and endpoint
 * "demo", opened as fx->ra and driven through the public API (ra.h).
 * SCEP messages are built with the client side of the codec
 * (p7_req_build) and replies read back with p7_certrep_parse, as a SCEP
 * client would (RFC 8894 3.3).
 */
#ifndef SG_TEST_H
#define SG_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "p7.h"
#include "ra.h"

#define SGT_NKEYS	5		/* client RSA-2048 keys */
#define SGT_KWEAK	SGT_NKEYS	/* index of the RSA-1024 key */
#define SGT_CODE	"EnrollTestCode0001"	/* account on "demo" */
/* The code of the accounts on "other" and "elsewhere". */
#define SGT_OTHER_CODE	"OtherEndpointCode0042"
#define SGT_PEER	"192.0.2.1"	/* the client address of requests */
#define SGT_CTYPE_PKI	"application/x-pki-message"

/*
 * The instance fixture. Besides "demo" (with its generated code in
 * "code" and account "enroll-tests" with SGT_CODE), sgt_fx_setup adds
 * endpoint "other" (cms-chain, single-certificate replies) and
 * "elsewhere" (full chain, no renewal window), each with one account
 * using SGT_OTHER_CODE. The lockout of fx->ra is off (lockout_failures
 * 0): many wrong codes come from SGT_PEER.
 */
struct sgt_fx {
	char		 dir[64];
	char		 db[CONF_PATH_MAX];	/* the SQLite file */
	struct conf	*conf;
	struct ra	*ra;
	X509		*ra_cert;		/* DIR/ra.pem: "ra1" */
	EVP_PKEY	*ra_key;		/* DIR/ra.key */
	X509		*ca_cert;		/* DIR/ca.pem */
	EVP_PKEY	*ca_key;		/* DIR/ca.key */
	EVP_PKEY	*key[SGT_NKEYS + 1];	/* [SGT_KWEAK]: RSA-1024 */
	X509		*cert[SGT_NKEYS + 1];	/* self-signed */
	EVP_PKEY	*ec_key;		/* P-256, for CSRs only */
	EVP_PKEY	*extra_key;		/* second RA, next CA */
	char		 code[RA_CODE_MAX + 1];	/* demo's own */
	unsigned int	 seq;		/* for transactionIDs */
};

/* A second configuration opened beside fx->ra, on the same database. */
struct sgt_variant {
	struct conf	*conf;
	struct ra	*ra;
};

/*
 * cmocka group setup and teardown: *state becomes a new struct sgt_fx
 * in /tmp/<tag>.XXXXXX ("tag" also names the log), freed and removed by
 * sgt_fx_teardown.
 */
int		 sgt_fx_setup(void **state, const char *tag);
int		 sgt_fx_teardown(void **state);

/*
 * A throwaway instance ("scepctl init") in a new /tmp/<tag>.XXXXXX:
 * fills "dir", loads its configuration into *conf (calloc'ed, free it)
 * and, if "code" is not NULL, the demo account's access code
 * (RA_CODE_MAX + 1 bytes).
 */
void		 sgt_instance(const char *tag, char *dir, size_t dirsz,
		    struct conf **conf, char *code);
/* ra_open(). */
struct ra	*sgt_ra_open(const struct conf *);
/* Remove a directory tree (the instance). */
void		 sgt_rm_tree(const char *dir);

/*
 * The whole file, malloc'ed, with a NUL after the last byte (not
 * counted in *len); NULL with *len 0 if it does not exist.
 */
uint8_t		*sgt_slurp(const char *path, size_t *len);
/* PEM files in the instance directory. Results belong to the caller. */
X509		*sgt_read_cert(const struct sgt_fx *, const char *name);
EVP_PKEY	*sgt_read_key(const struct sgt_fx *, const char *name);
/* Write "x" and/or "key" to DIR/<name>: mode 0600 with a key, else 0644. */
void		 sgt_write_pem(const struct sgt_fx *, const char *name,
		    X509 *x, EVP_PKEY *key);

/*
 * Write DIR/<name> as the generated scepgate.cfg with each edits[2i]
 * replaced by edits[2i + 1] (every one must occur), and open an RA on
 * it. The database and the keys are the instance's own. Close it with
 * sgt_variant_close().
 */
void		 sgt_variant_open(struct sgt_fx *, const char *name,
		    const char *const *edits, size_t nedits,
		    struct sgt_variant *);
void		 sgt_variant_close(struct sgt_variant *);

/*
 * A certificate for "key" with subject O=scepgate tests, CN=cn, valid
 * from 5 minutes ago for a year: self-signed if "issuer" is NULL.
 * "ku": a keyUsage value for X509V3_EXT_conf_nid, or NULL; "ca" adds a
 * critical basicConstraints CA:TRUE.
 */
X509		*sgt_make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		    EVP_PKEY *issuer_key, long serial, const char *ku, bool ca);
/*
 * A PKCS#10 request for "key" with subject O=scepgate tests, CN=cn.
 * "code" NULL: no challengePassword; "chal_type" 0: PrintableString
 * (MBSTRING_ASC), else the ASN.1 string type to encode it as. *der is
 * malloc'ed.
 */
void		 sgt_make_csr(EVP_PKEY *key, const char *cn,
		    const char *code, int chal_type, uint8_t **der,
		    size_t *len);
/* Uppercase hex serial of "x", as ra/ writes it. */
void		 sgt_serial_hex(const X509 *x, char *out, size_t outsz);
/* A fresh transactionID "<tag>-<seq>-<pid>". */
void		 sgt_transid(struct sgt_fx *, const char *tag, char *out,
		    size_t outsz);

/*
 * Build a pkiMessage. An unset signer becomes client "who" (rq->signer
 * and rq->signer_key are set, so the reply can be read as it); unset
 * recipients mean the RA certificate alone. *der is malloc'ed.
 */
void		 sgt_build(struct sgt_fx *, struct p7_req *rq, int who,
		    uint8_t **der, size_t *len);
/* ra_pkiop that must answer with a pkiMessage; free *r: ra_reply_free. */
void		 sgt_pkiop(struct ra *, const char *uri, const uint8_t *der,
		    size_t len, struct ra_reply *r);
/* Read a CertRep as the holder of my_cert/my_key, signed by "ra_cert". */
struct p7_certrep *sgt_read_rep(const struct ra_reply *r, X509 *ra_cert,
		    X509 *my_cert, EVP_PKEY *my_key);
/* sgt_pkiop on fx->ra, the reply read as client "who". */
struct p7_certrep *sgt_exchange(struct sgt_fx *, const char *uri,
		    const uint8_t *der, size_t len, int who);
/*
 * Build "rq" (as sgt_build), send it to ra/uri and read the reply as
 * its signer; the reply must carry rq->transid.
 */
struct p7_certrep *sgt_send(struct sgt_fx *, struct ra *, const char *uri,
		    struct p7_req *rq, int who);
/*
 * A PKCSReq (or RenewalReq: "type") for a CSR of "csrkey" with CN
 * "transid" and "code" (NULL: none) of string type "chal" (0:
 * printable), signed by signer/skey.
 */
struct p7_certrep *sgt_request(struct sgt_fx *, struct ra *, const char *uri,
		    int type, const char *transid, EVP_PKEY *csrkey,
		    const char *code, int chal, X509 *signer, EVP_PKEY *skey);
/* A PKCSReq by client "who" (its key and self-signed certificate). */
struct p7_certrep *sgt_enroll(struct sgt_fx *, const char *uri,
		    const char *transid, int who, const char *code);
/* Enroll client "who" on "uri"; its certificate (the caller's). */
X509		*sgt_issued_cert(struct sgt_fx *, const char *uri, int who,
		    const char *code);
/*
 * CertPoll (RFC 8894 3.3.3) for "transid", signed by signer/skey:
 * IssuerAndSubject of the CA and "subject" (NULL: the signer's), with
 * senderNonce "nonce" (NULL: a random one).
 */
struct p7_certrep *sgt_certpoll(struct sgt_fx *, const char *uri,
		    const char *transid, X509 *signer, EVP_PKEY *skey,
		    const X509_NAME *subject, const uint8_t *nonce,
		    size_t nlen);
/* GetCert or GetCRL ("type") by issuer and serial, as client "who". */
struct p7_certrep *sgt_by_ias(struct sgt_fx *, const char *uri, int type,
		    const X509_NAME *issuer, const ASN1_INTEGER *serial,
		    int who);
/* IssuerAndSerialNumber DER (messageData of GetCert, GetCRL). */
void		 sgt_ias_der(const X509_NAME *issuer,
		    const ASN1_INTEGER *serial, uint8_t **der, size_t *len);

/* The reply's pkiStatus and failInfo; "what" names the case. */
void		 sgt_expect_status(const struct p7_certrep *, int status,
		    int failinfo, const char *what);
/* FAILURE with any failInfo, and no certificates. */
void		 sgt_expect_failure(const struct p7_certrep *,
		    const char *what);
/*
 * SUCCESS with "ncerts" certificates: the first issued by the CA for
 * "key", the second (if any) the CA. Returns the first (borrowed).
 */
X509		*sgt_expect_issued(const struct sgt_fx *,
		    const struct p7_certrep *, EVP_PKEY *key, int ncerts,
		    const char *what);
/* Does GetCACaps of ra/uri hold the whole line "cap"? */
bool		 sgt_has_cap(struct ra *, const char *uri, const char *cap);

/*
 * Add "ep" (an empty uri becomes the name). An empty ra_id must come
 * back as the default RA, "ra1".
 */
void		 sgt_add_endpoint(struct ra *, struct ra_endpoint *ep);
/* A device endpoint with renewal window 30 and the two formats. */
void		 sgt_add_device(struct sgt_fx *, const char *name,
		    const char *uri, enum ra_cacert_fmt, enum ra_getcert_fmt);
/*
 * Add "acct" (org "Demo" unless set) with "code" (NULL: generated); the
 * code in effect goes to code_out (RA_CODE_MAX + 1 bytes) or nowhere.
 */
void		 sgt_add_account(struct ra *, struct ra_account *acct,
		    const char *code, char *code_out);
/* Account "name" on "endpoint": org Demo, term 30 days. */
void		 sgt_account(struct sgt_fx *, const char *endpoint,
		    const char *name, const char *code, char *code_out);
/*
 * A device endpoint "name" with a renewal window and the GetCert format,
 * and account "<name>-acct" with SGT_CODE, "term" days, "manual"
 * approval.
 */
void		 sgt_add_simple(struct sgt_fx *, const char *name,
		    int renewal_days, int term, bool manual,
		    enum ra_getcert_fmt);

/* ra_cert_get of certificate "x". */
void		 sgt_cert_info(struct sgt_fx *, const X509 *x,
		    struct ra_cert *info);
/* The request of "transid" in ra_request_list(status); false if none. */
bool		 sgt_find_request(struct sgt_fx *, int status,
		    const char *transid, struct ra_request *out);

#endif /* SG_TEST_H */
