/* Access codes and request policy (DESIGN.md "Identity and secrets"). */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ra_int.h"
#include "ra_policy.h"

/*
 * Generated codes: letters and digits only. Windows needs a
 * PrintableString challenge and fails on '_', '@', '!' (scep-interop.md
 * 4.5); no space or punctuation, which copy and paste mangle.
 */
static const char code_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/* Codes an admin chooses: the whole PrintableString set (X.680 41.4). */
static const char code_printable[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    " '()+,-./:=?";

enum sg_rc
ra_policy_gen_code(char *out, size_t outsz)
{
	unsigned char	r;
	size_t		i = 0, n = sizeof(code_alphabet) - 1;

	if (outsz < RA_CODE_LEN + 1)
		return SG_ELIMIT;
	while (i < RA_CODE_LEN) {
		if (RAND_bytes(&r, 1) != 1)
			return SG_EINTERNAL;
		/* Rejection sampling: 248 = 4 * 62, so no modulo bias. */
		if (r >= 4 * n)
			continue;
		out[i++] = code_alphabet[r % n];
	}
	out[i] = '\0';
	return SG_OK;
}

bool
ra_policy_code_ok(const char *code)
{
	size_t	len = strlen(code);

	return len >= 8 && len <= RA_CODE_MAX &&
	    strspn(code, code_printable) == len;
}

bool
ra_policy_name_ok(const char *name)
{
	size_t	len = strlen(name);

	return len > 0 && len < RA_NAME_MAX &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789 ._-@") == len && name[0] != ' ' && name[0] != '-';
}

static int
challenge_bit(int type)
{
	switch (type) {
	case V_ASN1_PRINTABLESTRING:	return RA_CHAL_PRINTABLE;
	case V_ASN1_UTF8STRING:		return RA_CHAL_UTF8;
	case V_ASN1_BMPSTRING:		return RA_CHAL_BMP;
	}
	return RA_CHAL_OTHER;
}

enum sg_rc
ra_policy_check_csr(const struct ra_endpoint *ep, const struct p7_csr *csr,
    bool challenge, struct sg_err *err)
{
	if (challenge && csr->challenge != NULL &&
	    (ep->challenge_types & challenge_bit(csr->challenge_type)) == 0)
		return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADREQUEST,
		    "challengePassword string type %d not allowed here",
		    csr->challenge_type);
	switch (csr->key_type) {
	case EVP_PKEY_RSA:
		if ((ep->key_types & RA_KEY_RSA) == 0)
			break;
		/* Apple profiles without Keysize send 1024 bits. */
		if (csr->key_bits < ep->min_rsa_bits)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
			    "RSA key of %d bits is below this endpoint's "
			    "minimum %d", csr->key_bits, ep->min_rsa_bits);
		if (csr->key_bits > 16384)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
			    "RSA key of %d bits; at most 16384", csr->key_bits);
		return SG_OK;
	case EVP_PKEY_EC:
		if ((ep->key_types & RA_KEY_EC) == 0)
			break;
		if (csr->key_bits < 256)
			return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
			    "EC key of %d bits; at least 256 required",
			    csr->key_bits);
		return SG_OK;
	}
	return sg_err_fail(err, SG_EPOLICY, SG_FAIL_BADALG,
	    "public key type not allowed on this endpoint");
}

/* ---- admin rules on the store's facts (issue 9: out of the store) ---- */

enum sg_rc
ra_policy_hint(enum sg_rc rc, const char *hint, struct sg_err *err)
{
	size_t	len;

	if (rc != SG_ENOTFOUND || err == NULL)
		return rc;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, " (%s)", hint);
	return rc;
}

enum sg_rc
ra_policy_endpoint_delete(struct ra *ra, const char *name, bool force,
    struct sg_err *err)
{
	size_t		accounts, pending;
	enum sg_rc	rc;

	rc = ra_store_endpoint_usage(ra->store, name, &accounts, &pending,
	    err);
	if (rc != SG_OK || force || (accounts == 0 && pending == 0))
		return rc;
	return sg_err_set(err, SG_EPOLICY, "endpoint '%s' has %zu "
	    "account(s) and %zu pending request(s); use --force to delete "
	    "it anyway", name, accounts, pending);
}

/* Customized delegation: the whole organization, or this department. */
static bool
delegated_to(const struct ra_deleg *d, size_t n, const char *org,
    const char *dept)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(d[i].org, org) == 0 && (d[i].dept[0] == '\0' ||
		    strcmp(d[i].dept, dept) == 0))
			return true;
	return false;
}

enum sg_rc
ra_policy_account_place(struct ra *ra, const struct ra_endpoint *ep,
    const char *org, const char *dept, struct sg_err *err)
{
	struct ra_org	 o;
	struct ra_deleg	*d = NULL;
	size_t		 n = 0;
	enum sg_rc	 rc;

	rc = ra_store_org_get(ra->store, org, NULL, &o, err);
	if ((rc = ra_policy_hint(rc, "scepctl org add", err)) != SG_OK)
		return rc;
	if (dept[0] != '\0') {
		rc = ra_store_org_get(ra->store, org, dept, &o, err);
		if ((rc = ra_policy_hint(rc, "scepctl dept add", err)) != SG_OK)
			return rc;
	}
	if (!ep->delegated)
		return SG_OK;
	if ((rc = ra_store_delegations(ra->store, ep->name, &d, &n, err)) !=
	    SG_OK)
		return rc;
	if (!delegated_to(d, n, org, dept))
		rc = sg_err_set(err, SG_EPOLICY, "endpoint '%s' is not "
		    "delegated to '%s%s%s' (scepctl endpoint delegate)",
		    ep->name, org, dept[0] != '\0' ? "/" : "", dept);
	free(d);
	return rc;
}
