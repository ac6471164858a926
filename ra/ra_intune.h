/*
 * ra/ra_intune.c: the client of Microsoft Intune's SCEP challenge
 * validation (reference/intune-scep.md, docs/intune.md), one struct
 * ra_intune per Azure account of the configuration, built on ra/http/.
 *
 * What it does for one account: OAuth client-credentials tokens for the
 * Graph scope and the Intune scope (ra/http/ caches one per scope);
 * Graph service discovery of ScepRequestValidationFEService and
 * PkiConnectorFEService, cached and dropped on any failed call so that
 * a tenant that moved scale units is found again (section 4, correction
 * 5); validateRequest, successNotification, failureNotification (5);
 * the revocation calls (7).
 *
 * Decisions stay with the caller (ra_auth.c, ra_txn.c): these calls
 * answer "Intune said yes", "Intune said no (code)" or "Intune could
 * not be asked"; all fail closed. Secrets and tokens never reach a log
 * line or an sg_err.
 *
 * Threads: one struct ra_intune serves every thread at once; its locks
 * are inside. ra_intune_reload() may run beside the other calls.
 */
#ifndef RA_INTUNE_H
#define RA_INTUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "conf.h"
#include "sg.h"

struct ra_intune;

/* Longest service URI kept from discovery. */
#define RA_INTUNE_URI_MAX	512

/*
 * scepgate's HRESULTs for failureNotification (MS-ERREF layout; Intune
 * shows them to admins; docs/intune.md lists them).
 */
#define RA_INTUNE_HR_FAIL	((int32_t)0x80004005)	/* E_FAIL: CA refused */
#define RA_INTUNE_HR_TIMEOUT	((int32_t)0x800705B4)	/* CA did not answer */
#define RA_INTUNE_HR_UNEXPECTED	((int32_t)0x8000FFFF)	/* E_UNEXPECTED */

/* CARequestErrorCodes of a revocation result (section 7). */
#define RA_INTUNE_CAERR_NONE		0
#define RA_INTUNE_CAERR_SERVICE		4000	/* non-retryable */
#define RA_INTUNE_CAERR_SERIALIZATION	4001
#define RA_INTUNE_CAERR_PARAMETER	4002
#define RA_INTUNE_CAERR_CRYPTO		4003
#define RA_INTUNE_CAERR_NOT_FOUND	4004	/* no such certificate */
#define RA_INTUNE_CAERR_CONFLICT	4005	/* already revoked */
#define RA_INTUNE_CAERR_NOT_SUPPORTED	4006
#define RA_INTUNE_CAERR_TOO_LARGE	4007
#define RA_INTUNE_CAERR_RETRY		4100	/* retryable */
#define RA_INTUNE_CAERR_UNAVAILABLE	4101
#define RA_INTUNE_CAERR_BUSY		4102
#define RA_INTUNE_CAERR_AUTH		4103

/*
 * Open the client of account "az" (copied): reads the client secret
 * file (ra_secret_read: mode 0600, one line) and the TLS CA file now;
 * no network call. Free *out with ra_intune_free(). SG_ECONF or SG_EIO
 * for the files, SG_ENOMEM.
 */
enum sg_rc	 ra_intune_open(const struct conf_azure *az,
		    struct ra_intune **out, struct sg_err *err);
void		 ra_intune_free(struct ra_intune *);
/* The account's name (borrowed, lives as long as the client). */
const char	*ra_intune_name(const struct ra_intune *);

/*
 * Read the client secret file again (SIGHUP: a rotated secret needs no
 * restart). A changed secret gets a fresh token source, so the tokens
 * of the old one are not used again; calls already running finish with
 * the old one. On error the old secret stays in use.
 */
enum sg_rc	 ra_intune_reload(struct ra_intune *, struct sg_err *err);

/* What validateRequest answered. */
struct ra_intune_verdict {
	bool	ok;		/* code "Success" */
	char	code[64];	/* Intune's code, printable ("" none) */
	char	text[256];	/* its errorDescription, printable */
};

/*
 * validateRequest (section 5.1) for the PKCSReq "transid" whose
 * decrypted PKCS#10 is "csr" ("len" bytes, sent as base64 exactly as
 * given: the challenge blob is inside). Everything is borrowed.
 * SG_OK: Intune said "Success" (*v filled, v->ok). SG_EPOLICY with
 * failInfo badRequest: any other code, "Intune refused the challenge:
 * CODE" (*v filled). SG_EUPSTREAM with failInfo badRequest: no usable
 * answer (transport, HTTP status, JSON, tokens, discovery); *v then
 * has ok false and code "". The request is sent again only where
 * ra/http/ may (see ra_intune.c: validate is replayed).
 */
enum sg_rc	 ra_intune_validate(struct ra_intune *, const char *transid,
		    const uint8_t *csr, size_t len,
		    struct ra_intune_verdict *v, struct sg_err *err);

/*
 * successNotification (5.2) after "cert" was issued for the request
 * validated before ("transid", "csr" as given to ra_intune_validate).
 * It sends the SHA-1 thumbprint (uppercase hex), the serial (hex), the
 * expiry (ISO 8601 UTC with milliseconds) and the issuer DN.
 * SG_OK: "Success"; SG_EPOLICY: another code; SG_EUPSTREAM: no answer.
 * Per the reference, a failed notification means the certificate should
 * not be handed out: the caller decides.
 */
enum sg_rc	 ra_intune_notify_success(struct ra_intune *,
		    const char *transid, const uint8_t *csr, size_t len,
		    X509 *cert, struct sg_err *err);

/*
 * failureNotification (5.3): issuance failed after a successful
 * validation. "hresult" is one of RA_INTUNE_HR_*; "desc" (printable,
 * cut to 255 bytes) is shown to Intune's admins. Returns as
 * ra_intune_notify_success().
 */
enum sg_rc	 ra_intune_notify_failure(struct ra_intune *,
		    const char *transid, const uint8_t *csr, size_t len,
		    int32_t hresult, const char *desc, struct sg_err *err);

/* What "scepctl azure test" found. */
struct ra_intune_report {
	char	scep_uri[RA_INTUNE_URI_MAX];	/* the validation service */
	char	pki_uri[RA_INTUNE_URI_MAX];	/* revocation; "" none */
};

/*
 * Get both tokens and run discovery afresh, for "scepctl azure test".
 * SG_OK: *out filled. Otherwise err says which step failed and why:
 * "Graph token: ..." / "Intune token: ..." (a bad secret names the
 * token server's error), "discovery: HTTP 403 ..." (the Graph
 * permission), "discovery: no ScepRequestValidationFEService ..." (the
 * Intune permission or licence).
 */
enum sg_rc	 ra_intune_test(struct ra_intune *,
		    struct ra_intune_report *out, struct sg_err *err);

/* One revocation request from Intune (section 7). */
struct ra_intune_revreq {
	char	context[256];	/* requestContext, to answer with */
	char	serial[128];	/* serialNumber, as Intune sent it */
	char	issuer[512];	/* issuerName */
	char	ca_config[256];	/* caConfiguration */
};

/*
 * downloadRevocationRequests: at most "max" (1..500) requests, of the
 * issuer "issuer" (NULL or "": any). On SG_OK *out (free()) holds *n
 * entries (possibly 0). SG_ECONF if the account has revocation off;
 * SG_EUPSTREAM if no usable answer; SG_EPARSE for a malformed entry.
 */
enum sg_rc	 ra_intune_revocations_download(struct ra_intune *,
		    size_t max, const char *issuer,
		    struct ra_intune_revreq **out, size_t *n,
		    struct sg_err *err);

/* The outcome of one revocation request; all borrowed. */
struct ra_intune_revres {
	const char	*context;	/* the request's requestContext */
	bool		 succeeded;
	int		 code;		/* RA_INTUNE_CAERR_* */
	const char	*message;	/* NULL: "" */
};

/*
 * uploadRevocationResults for "n" (1..500) results. SG_OK when Intune
 * answered {"value": true}; SG_ECONF if revocation is off;
 * SG_EUPSTREAM otherwise.
 */
enum sg_rc	 ra_intune_revocations_upload(struct ra_intune *,
		    const struct ra_intune_revres *res, size_t n,
		    struct sg_err *err);

#endif /* RA_INTUNE_H */
