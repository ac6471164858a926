/*
 * pkcs7/: the SCEP message codec (RFC 8894 over CMS, RFC 5652).
 * Pure functions over bytes and keys: no sockets, SQL, configuration,
 * logging, files or clock reads. Errors are typed (struct sg_err) and
 * carry the SCEP failInfo the reply should use.
 */
#ifndef P7_H
#define P7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sg.h"

/* messageType values (RFC 8894 3.2.1.2). */
#define P7_TYPE_CERTREP		3
#define P7_TYPE_RENEWALREQ	17
#define P7_TYPE_UPDATEREQ	18
#define P7_TYPE_PKCSREQ		19
#define P7_TYPE_CERTPOLL	20
#define P7_TYPE_GETCERT		21
#define P7_TYPE_GETCRL		22

/* pkiStatus values (RFC 8894 3.2.1.3). */
#define P7_STATUS_SUCCESS	0
#define P7_STATUS_FAILURE	2
#define P7_STATUS_PENDING	3

#define P7_TRANSID_MAX		128
#define P7_NONCE_MAX		64

/* Size limits on what we accept from the network. */
#define P7_MSG_MAX		(1024 * 1024)

/*
 * A decoded pkiMessage. The outer layer (p7_msg_parse) fills the
 * attributes and the signer; p7_msg_open fills the inner fields.
 */
struct p7_msg {
	int		 type;		/* P7_TYPE_* */
	char		 transid[P7_TRANSID_MAX + 1];
	uint8_t		 sender_nonce[P7_NONCE_MAX];
	size_t		 sender_nonce_len;
	X509		*signer;	/* owned: the signing certificate */
	int		 digest_nid;	/* SignerInfo digestAlgorithm */
	uint8_t		*envelope;	/* owned: the eContent (EnvelopedData DER) */
	size_t		 envelope_len;

	/* Filled by p7_msg_open(). */
	int		 cipher_nid;	/* content encryption of the envelope */
	uint8_t		*data;		/* owned: decrypted messageData */
	size_t		 data_len;
};

/*
 * Decode and verify the outer SignedData of a pkiMessage (RFC 8894 3.2).
 * The signature over the signed attributes is checked with the included
 * signer certificate, which is not chain-validated (self-signed signers
 * are normal, RFC 8894 2.3). "der" is borrowed. On success *out belongs
 * to the caller: p7_msg_free(). On a bad signature, if the attributes
 * could be read, *out is still set (so that a signed FAILURE can be sent)
 * and SG_EBADSIG is returned with failinfo badMessageCheck; in every
 * other error case *out is untouched.
 */
enum sg_rc	 p7_msg_parse(const uint8_t *der, size_t len,
		    struct p7_msg **out, struct sg_err *err);

/*
 * Decrypt the pkcsPKIEnvelope of "msg" with the RA key (RFC 8894 3.2.2),
 * choosing the RecipientInfo that matches "ra_cert" (PKCS#1 v1.5 and
 * RSA-OAEP key transport). Sets msg->data and msg->cipher_nid. Borrowed
 * arguments. Failinfo badMessageCheck if the envelope does not open,
 * badAlg if its cipher is unsupported.
 */
enum sg_rc	 p7_msg_open(struct p7_msg *msg, X509 *ra_cert,
		    EVP_PKEY *ra_key, struct sg_err *err);
void		 p7_msg_free(struct p7_msg *);

/* A decoded PKCS#10 request (RFC 2986) with what SCEP needs of it. */
struct p7_csr {
	X509_REQ	*req;		/* owned */
	char		*challenge;	/* owned, UTF-8, NULL if absent; wiped on free */
	int		 challenge_type; /* V_ASN1_* of the challenge, or -1 */
	char		 subject[512];	/* RFC 2253 text, for logs and lists */
	uint8_t		 key_id[32];	/* SHA-256 of the SubjectPublicKeyInfo */
	int		 key_type;	/* EVP_PKEY_RSA, ... */
	int		 key_bits;
};

/*
 * Decode a PKCS#10 request and verify its self-signature. "der" is
 * borrowed; free *out with p7_csr_free(). Failinfo badRequest for a
 * malformed request, badMessageCheck for a bad self-signature.
 */
enum sg_rc	 p7_csr_parse(const uint8_t *der, size_t len,
		    struct p7_csr **out, struct sg_err *err);
void		 p7_csr_free(struct p7_csr *);

/*
 * A degenerate certs-only SignedData (RFC 8894 3.4) holding "certs" in
 * the given order (built with the PKCS7 API, which keeps the order).
 * "certs" is borrowed; *der is malloc'ed (free()).
 */
enum sg_rc	 p7_certs_build(STACK_OF(X509) *certs, uint8_t **der,
		    size_t *len, struct sg_err *err);
/* The same with one CRL and no certificates (GetCRL, RFC 8894 3.3.2.1). */
enum sg_rc	 p7_crl_build(X509_CRL *crl, uint8_t **der, size_t *len,
		    struct sg_err *err);
/*
 * GetNextCACert (RFC 8894 4.7.1): a SignedData by the current RA whose
 * content is the degenerate set of "certs"; its own certificates field
 * holds "certs" too (first, in order), then "sign_cert" unless already
 * among them. Arguments borrowed; *der is malloc'ed (free()).
 */
enum sg_rc	 p7_next_build(STACK_OF(X509) *certs, X509 *sign_cert,
		    EVP_PKEY *sign_key, uint8_t **der, size_t *len,
		    struct sg_err *err);
/* Decode such a set; *out owned by the caller (sk_X509_pop_free). */
enum sg_rc	 p7_certs_parse(const uint8_t *der, size_t len,
		    STACK_OF(X509) **out, struct sg_err *err);

/* What a CertRep says (RFC 8894 3.3.2). All pointers borrowed. */
struct p7_rep {
	int		 status;	/* P7_STATUS_* */
	int		 failinfo;	/* SG_FAIL_*, FAILURE only */
	const char	*failtext;	/* failInfoText, may be NULL */
	const struct p7_msg *req;	/* the request answered */
	STACK_OF(X509)	*certs;		/* SUCCESS: issued cert first */
	X509_CRL	*crl;		/* SUCCESS of GetCRL, instead */
	X509		*sign_cert;	/* RA signing certificate ... */
	EVP_PKEY	*sign_key;	/* ... and its key */
	int		 digest_nid;	/* 0: the request's digest */
	int		 cipher_nid;	/* 0: the request's cipher */
};

/*
 * Build a signed CertRep. SUCCESS wraps "certs" in a degenerate
 * SignedData, encrypts it to the request's signer certificate with the
 * request's cipher, and signs it; FAILURE and PENDING carry no
 * pkcsPKIEnvelope (RFC 8894 3.3.2.2) but an empty eContent, which
 * PKCS7_verify() needs. Every reply gets a fresh senderNonce and the
 * request's senderNonce as recipientNonce. *der is malloc'ed (free()).
 */
enum sg_rc	 p7_rep_build(const struct p7_rep *rep, uint8_t **der,
		    size_t *len, struct sg_err *err);

/* Name of a message type for logs ("PKCSReq", ...); never NULL. */
const char	*p7_type_name(int type);


/*
 * The client side, for tests and scep-bench: build a pkiMessage and read
 * a CertRep. The server never calls these.
 */
struct p7_req {
	int		 type;		/* P7_TYPE_* */
	const char	*transid;
	const uint8_t	*sender_nonce;	/* NULL: 16 random bytes */
	size_t		 sender_nonce_len;
	const uint8_t	*data;		/* messageData (a PKCS#10, ...) */
	size_t		 data_len;
	X509		*signer;	/* usually self-signed */
	EVP_PKEY	*signer_key;
	STACK_OF(X509)	*recipients;	/* RA certificate(s) */
	int		 cipher_nid;	/* 0: AES-128-CBC */
	int		 digest_nid;	/* 0: SHA-256 */
};

/* Build a signed, enveloped pkiMessage. *der is malloc'ed (free()). */
enum sg_rc	 p7_req_build(const struct p7_req *, uint8_t **der,
		    size_t *len, struct sg_err *err);

/* A decoded CertRep. */
struct p7_certrep {
	int		 status;	/* P7_STATUS_* */
	int		 failinfo;	/* SG_FAIL_*, or SG_FAIL_NONE */
	char		 failtext[256];
	char		 transid[P7_TRANSID_MAX + 1];
	uint8_t		 sender_nonce[P7_NONCE_MAX];
	size_t		 sender_nonce_len;
	uint8_t		 recipient_nonce[P7_NONCE_MAX];
	size_t		 recipient_nonce_len;
	int		 cipher_nid;	/* of the envelope, SUCCESS only */
	STACK_OF(X509)	*certs;		/* owned; SUCCESS only */
	X509_CRL	*crl;		/* owned; SUCCESS of GetCRL only */
};

/*
 * Decode a CertRep, verify its signature (with "ra_cert" if not NULL,
 * else with the certificate it carries) and, on SUCCESS, decrypt the
 * certificates with the requester's certificate and key. Free *out
 * with p7_certrep_free().
 */
enum sg_rc	 p7_certrep_parse(const uint8_t *der, size_t len,
		    X509 *ra_cert, X509 *my_cert, EVP_PKEY *my_key,
		    struct p7_certrep **out, struct sg_err *err);
void		 p7_certrep_free(struct p7_certrep *);

#endif /* P7_H */
