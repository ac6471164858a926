/*
 * What a pkiMessage or CertRep says without a key and without judging it:
 * the signer, the digest, and the envelope's cipher and recipients. For
 * scepctl inspect, which shows a failing exchange as it is; the server
 * decodes with p7_msg_parse and p7_msg_open (p7.h), which check.
 */
#ifndef P7_INFO_H
#define P7_INFO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "sg.h"

#define P7_INFO_RCPT_MAX	8
#define P7_INFO_DER_MAX		(1024 * 1024)	/* as P7_MSG_MAX */

/* One RecipientInfo of the envelope (RFC 5652 6.2.1). */
struct p7_info_rcpt {
	char	issuer[256];	/* "/C=../CN=.." of issuerAndSerialNumber */
	char	serial[80];	/* hex */
	int	key_alg_nid;	/* rsaEncryption, RSAES-OAEP, ... */
};

struct p7_info {
	X509			*signer;	/* owned, NULL if none */
	int			 digest_nid;	/* NID_undef if unknown */
	int			 sig_alg_nid;
	size_t			 envelope_len;	/* 0: no eContent */
	int			 cipher_nid;	/* NID_undef: no envelope */
	size_t			 nrcpt;		/* all of them ... */
	struct p7_info_rcpt	 rcpt[P7_INFO_RCPT_MAX]; /* ... the first */
};

/*
 * Describe the SignedData "der" (RFC 8894 3.2, RFC 5652 5): its one
 * signer's certificate and algorithms, and, if its eContent is an
 * EnvelopedData, that envelope's content cipher and recipients. Neither
 * the signature nor the attributes are checked; an unreadable envelope
 * leaves cipher_nid NID_undef. "der" is borrowed. On success *out is
 * filled and owns the signer: p7_info_clear(). SG_EPARSE when "der" is
 * not a SignedData with one SignerInfo; *out is then cleared.
 */
enum sg_rc	p7_info_parse(const uint8_t *der, size_t len,
		    struct p7_info *out, struct sg_err *err);
/* Free what *info owns and zero it. NULL is allowed. */
void		p7_info_clear(struct p7_info *info);

/*
 * The RFC 8894 3.2.1.4 name of a failInfo (SG_FAIL_*): "badAlg", ...;
 * "none" for SG_FAIL_NONE, "unknown" for any other value. Static.
 */
const char	*p7_failinfo_name(int failinfo);

#endif /* P7_INFO_H */
