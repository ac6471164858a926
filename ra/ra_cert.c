/* Certificates and the audit log for scepctl: list, show, revoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>

#include "ra_int.h"

/* CRL reason codes (RFC 5280 5.3.1); 7 is unused. */
static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

bool
ra_crl_reason_parse(const char *s, int *out)
{
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i] != NULL && strcmp(reasons[i], s) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

const char *
ra_crl_reason_name(int r)
{
	if (r < 0 || (size_t)r >= sizeof(reasons) / sizeof(reasons[0]) ||
	    reasons[r] == NULL)
		return "?";
	return reasons[r];
}

const char *
ra_cert_status_name(enum ra_cert_status s)
{
	switch (s) {
	case RA_CERT_VALID:		return "valid";
	case RA_CERT_REVOKED:		return "revoked";
	case RA_CERT_SUPERSEDED:	return "superseded";
	}
	return "?";
}

const char *
ra_req_status_name(enum ra_req_status s)
{
	switch (s) {
	case RA_REQ_NEW:	return "new";
	case RA_REQ_PENDING:	return "pending";
	case RA_REQ_ISSUED:	return "issued";
	case RA_REQ_REJECTED:	return "rejected";
	}
	return "?";
}

enum sg_rc
ra_cert_list(struct ra *ra, const char *endpoint, int status,
    struct ra_cert **out, size_t *n, struct sg_err *err)
{
	return ra_store_cert_list(ra->store, endpoint, status, out, n, err);
}

/*
 * Serials are stored as BN_bn2hex() writes them (ra_x509_serial);
 * accept "0a:3f", "0A3F" or "a3f" from admins and write it that way.
 */
static void
norm_serial(const char *in, char *out, size_t outsz)
{
	BIGNUM	*bn = NULL;
	char	 hex[160], *canon = NULL;
	size_t	 i, j = 0;

	for (i = 0; in[i] != '\0' && j + 1 < sizeof(hex); i++)
		if (in[i] != ':')
			hex[j++] = in[i];
	hex[j] = '\0';
	if (BN_hex2bn(&bn, hex) == (int)j && j > 0)
		canon = BN_bn2hex(bn);
	snprintf(out, outsz, "%s", canon != NULL ? canon : hex);
	OPENSSL_free(canon);
	BN_free(bn);
}

enum sg_rc
ra_cert_get(struct ra *ra, const char *serial, struct ra_cert *c, char **pem,
    struct sg_err *err)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	X509			*x = NULL;
	BIO			*b = NULL;
	char			 s[80], *d;
	long			 n;
	enum sg_rc		 rc;

	norm_serial(serial, s, sizeof(s));
	if ((rc = ra_store_cert_get(ra->store, s, c, NULL, pem ? &der : NULL,
	    &len, err)) != SG_OK || pem == NULL)
		return rc;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x) ||
	    (n = BIO_get_mem_data(b, &d)) <= 0 ||
	    (*pem = malloc((size_t)n + 1)) == NULL)
		rc = sg_err_set(err, SG_EINTERNAL, "certificate %s", s);
	else {
		memcpy(*pem, d, (size_t)n);
		(*pem)[n] = '\0';
	}
	BIO_free(b);
	X509_free(x);
	free(der);
	return rc;
}

enum sg_rc
ra_cert_crl_sign(struct ra *ra, int64_t number, uint8_t **der, size_t *len,
    struct sg_err *err)
{
	struct ra_cert		*certs = NULL;
	struct ra_revoked	*rev = NULL;
	size_t			 n = 0, i;
	enum sg_rc		 rc;

	if (ra->up->ops->crl == NULL)
		return sg_err_set(err, SG_ENOTFOUND, "the %s upstream "
		    "publishes no CRL here", ra->up->ops->name);
	/* Revoked certificates only; superseded ones stay valid. */
	if ((rc = ra_store_cert_list(ra->store, NULL, RA_CERT_REVOKED, &certs,
	    &n, err)) != SG_OK)
		return rc;
	if (n > 0 && (rev = calloc(n, sizeof(*rev))) == NULL) {
		free(certs);
		return sg_err_set(err, SG_ENOMEM, "CRL");
	}
	for (i = 0; i < n; i++) {
		snprintf(rev[i].serial, sizeof(rev[i].serial), "%s",
		    certs[i].serial);
		rev[i].revoked_at = certs[i].revoked_at;
		rev[i].reason = certs[i].reason;
	}
	rc = ra->up->ops->crl(ra->up, rev, n, number, time(NULL), der, len,
	    err);
	free(rev);
	free(certs);
	return rc;
}

enum sg_rc
ra_cert_revoke(struct ra *ra, const char *serial, int reason,
    struct sg_err *err)
{
	struct ra_cert	c;
	char		s[80], details[160];
	enum sg_rc	rc = SG_OK;

	norm_serial(serial, s, sizeof(s));
	memset(&c, 0, sizeof(c));
	if (ra_store_cert_get(ra->store, s, &c, NULL, NULL, NULL, err) != SG_OK)
		rc = SG_ENOTFOUND;
	else if (c.status == RA_CERT_REVOKED)
		rc = sg_err_set(err, SG_EPOLICY, "certificate %s is revoked "
		    "already", s);
	if (rc == SG_OK && ra->up->ops->revoke != NULL)
		rc = ra->up->ops->revoke(ra->up, s, reason, err);
	if (rc == SG_OK)
		rc = ra_store_cert_set_status(ra->store, s, RA_CERT_REVOKED,
		    reason, err);
	/* A fresh CRL at once (scepctl holds the same keys as scepgate). */
	if (rc == SG_OK && ra->up->ops->crl != NULL) {
		int64_t		 number;
		uint8_t		*der = NULL;
		size_t		 len = 0;

		if (ra_store_crl_number(ra->store, &number, NULL) == SG_OK &&
		    ra_cert_crl_sign(ra, number, &der, &len, NULL) == SG_OK)
			/* XXX a failed CRL refresh is not reported (issue 9). */
			(void)ra_store_crl_put(ra->store, number, der, len,
			    (int64_t)time(NULL) +
			    (int64_t)ra->conf->upstream.crl_days * 86400, NULL);
		free(der);
	}
	snprintf(details, sizeof(details), "serial %s reason %s", s,
	    ra_crl_reason_name(reason));
	ra_audit_admin(ra, "cert revoke", c.endpoint[0] ? c.endpoint : NULL,
	    c.account[0] ? c.account : NULL, rc, err, details);
	if (rc == SG_OK)
		sg_log(SG_LOG_INFO, "serial %s revoked (%s)", s,
		    ra_crl_reason_name(reason));
	return rc;
}

enum sg_rc
ra_audit_list(struct ra *ra, const struct ra_audit_filter *f,
    struct ra_audit_rec **out, size_t *n, struct sg_err *err)
{
	return ra_store_audit_list(ra->store, f, out, n, err);
}

enum sg_rc
ra_racert_list(struct ra *ra, struct ra_racert **out, size_t *n,
    struct sg_err *err)
{
	struct ra_endpoint	*eps = NULL;
	struct ra_racert	*arr;
	size_t			 neps = 0, i, j, off;
	enum sg_rc		 rc;

	if ((rc = ra_store_endpoint_list(ra->store, &eps, &neps, err)) !=
	    SG_OK)
		return rc;
	if ((arr = calloc(ra->keys.nra + 1, sizeof(*arr))) == NULL) {
		free(eps);
		return sg_err_set(err, SG_ENOMEM, "RA certificates");
	}
	for (i = 0; i < ra->keys.nra; i++) {
		ra_keys_describe(&ra->keys.ra[i], &arr[i]);
		off = 0;
		for (j = 0; j < neps && off < sizeof(arr[i].endpoints); j++) {
			if (strcmp(eps[j].ra_id, arr[i].id) != 0 &&
			    strcmp(eps[j].ra_enc_id, arr[i].id) != 0)
				continue;
			off += (size_t)snprintf(arr[i].endpoints + off,
			    sizeof(arr[i].endpoints) - off, "%s%s",
			    off ? "," : "", eps[j].name);
		}
	}
	free(eps);
	*out = arr;
	*n = ra->keys.nra;
	return SG_OK;
}

const char *
ra_racert_pem(struct ra *ra, const char *id)
{
	const struct ra_key	*rk = ra_keys_find(&ra->keys, id);

	return rk != NULL ? ra_cacert_of(ra, rk)->pem : NULL;
}
