/*
 * The enrollment name/value pairs of a Windows or Android PKCS#10
 * (ra_csr_msft.h). Windows' certreq writes the pairs as
 *
 *   EnrollmentNameValuePair ::= SEQUENCE {
 *       name   BMPString,
 *       value  BMPString }
 *
 * each one a value of the attribute 1.3.6.1.4.1.311.13.2.1 (one
 * attribute per pair, or several values in one; both are read). Other
 * string types are accepted: the bytes come from many stacks.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "ra_csr_msft.h"

#define NVP_OID		"1.3.6.1.4.1.311.13.2.1"
#define WORD_MAX	64

/* What the pairs said; "" for a name not seen. */
struct nvp {
	char	period[WORD_MAX];	/* ValidityPeriod */
	char	units[WORD_MAX];	/* ValidityPeriodUnits */
};

/* n units are (n * mul + div - 1) / div days: rounded up. */
static const struct unit {
	const char	*word;
	long		 mul;
	long		 div;
} units[] = {
	{ "Seconds", 1, 86400 }, { "Minutes", 1, 1440 }, { "Hours", 1, 24 },
	{ "Days", 1, 1 }, { "Weeks", 7, 1 }, { "Months", 30, 1 },
	{ "Years", 365, 1 },
};

static enum sg_rc
bad(struct sg_err *err, const char *what)
{
	return sg_err_fail(err, SG_EPARSE, SG_FAIL_BADREQUEST,
	    "CSR enrollment name/value pair (" NVP_OID "): %s", what);
}

/* One string element at *pp (advanced) into out, as UTF-8. */
static bool
word(const unsigned char **pp, long len, char *out)
{
	ASN1_TYPE	*t;
	unsigned char	*u = NULL;
	int		 n;
	bool		 ok = false;

	if ((t = d2i_ASN1_TYPE(NULL, pp, len)) == NULL)
		return false;
	switch (t->type) {
	case V_ASN1_BMPSTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_IA5STRING:
		n = ASN1_STRING_to_UTF8(&u, t->value.asn1_string);
		if (n >= 0 && n < WORD_MAX && memchr(u, '\0', (size_t)n) ==
		    NULL) {
			memcpy(out, u, (size_t)n);
			out[n] = '\0';
			ok = true;
		}
		break;
	default:
		break;
	}
	OPENSSL_free(u);
	ASN1_TYPE_free(t);
	return ok;
}

/* Store "value" under "name" if it is one of ours; refuse a repeat. */
static enum sg_rc
keep(struct nvp *v, const char *name, const char *value, struct sg_err *err)
{
	char	*slot;

	if (strcasecmp(name, "ValidityPeriod") == 0)
		slot = v->period;
	else if (strcasecmp(name, "ValidityPeriodUnits") == 0)
		slot = v->units;
	else
		return SG_OK;
	if (slot[0] != '\0')
		return bad(err, "a name is given twice");
	if (value[0] == '\0')
		return bad(err, "an empty value");
	memcpy(slot, value, WORD_MAX);
	return SG_OK;
}

/* One SEQUENCE { name, value }, nothing before or after. */
static enum sg_rc
pair(const ASN1_TYPE *t, struct nvp *v, struct sg_err *err)
{
	const unsigned char	*p, *end;
	char			 name[WORD_MAX], value[WORD_MAX];
	long			 len;
	int			 tag, cls, ret;

	if (t->type != V_ASN1_SEQUENCE || t->value.sequence == NULL)
		return bad(err, "a value is not a SEQUENCE");
	p = t->value.sequence->data;
	end = p + t->value.sequence->length;
	ret = ASN1_get_object(&p, &len, &tag, &cls, end - p);
	if ((ret & 0x80) || !(ret & V_ASN1_CONSTRUCTED) ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
	    len != end - p)
		return bad(err, "a malformed SEQUENCE");
	if (!word(&p, end - p, name) || !word(&p, end - p, value))
		return bad(err, "a name or value is not a short string");
	if (p != end)
		return bad(err, "more than a name and a value");
	return keep(v, name, value, err);
}

static enum sg_rc
collect(const X509_REQ *req, struct nvp *v, struct sg_err *err)
{
	X509_ATTRIBUTE	*a;
	ASN1_OBJECT	*oid;
	enum sg_rc	 rc = SG_OK;
	int		 i, j;

	if ((oid = OBJ_txt2obj(NVP_OID, 1)) == NULL)
		return sg_err_set(err, SG_ENOMEM, "out of memory");
	for (i = 0; rc == SG_OK && i < X509_REQ_get_attr_count(req); i++) {
		a = X509_REQ_get_attr(req, i);
		if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), oid) != 0)
			continue;
		for (j = 0; rc == SG_OK && j < X509_ATTRIBUTE_count(a); j++)
			rc = pair(X509_ATTRIBUTE_get0_type(a, j), v, err);
	}
	ASN1_OBJECT_free(oid);
	return rc;
}

static const struct unit *
unit_find(const char *w)
{
	size_t	i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(w, units[i].word) == 0)
			return &units[i];
	return NULL;
}

enum sg_rc
ra_csr_msft_validity(const X509_REQ *req, long *days, struct sg_err *err)
{
	const struct unit	*u;
	struct nvp		 v;
	const char		*count;
	long			 n;
	enum sg_rc		 rc;

	memset(&v, 0, sizeof(v));
	if ((rc = collect(req, &v, err)) != SG_OK)
		return rc;
	if (v.period[0] == '\0' && v.units[0] == '\0') {
		*days = 0;
		return SG_OK;
	}
	if (v.period[0] == '\0' || v.units[0] == '\0')
		return bad(err, "ValidityPeriod and ValidityPeriodUnits "
		    "come together");
	/* Android swaps them (Intune-Resource-Access#162). */
	count = v.units;
	if ((u = unit_find(v.period)) == NULL) {
		u = unit_find(v.units);
		count = v.period;
	}
	if (u == NULL)
		return bad(err, "ValidityPeriod is not a known unit");
	if (!sg_parse_long(count, 1, 100000, &n))
		return bad(err, "ValidityPeriodUnits is not 1..100000");
	n = (n * u->mul + u->div - 1) / u->div;
	*days = n < RA_CSR_MSFT_DAYS_MAX ? n : RA_CSR_MSFT_DAYS_MAX;
	return SG_OK;
}
