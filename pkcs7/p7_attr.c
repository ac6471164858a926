/* SCEP signed attributes (RFC 8894 3.2.1) on a CMS SignerInfo. */
#include <string.h>

#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p7_int.h"

/* The value of a single-valued attribute, or NULL. */
static ASN1_TYPE *
attr_value(CMS_SignerInfo *si, const char *oid, enum sg_rc *rc)
{
	ASN1_OBJECT	*obj;
	X509_ATTRIBUTE	*attr;
	int		 idx;

	*rc = SG_ENOTFOUND;
	if ((obj = OBJ_txt2obj(oid, 1)) == NULL) {
		*rc = SG_ENOMEM;
		return NULL;
	}
	idx = CMS_signed_get_attr_by_OBJ(si, obj, -1);
	if (idx < 0)
		goto out;
	/* A repeated attribute is ambiguous: refuse it. */
	if (CMS_signed_get_attr_by_OBJ(si, obj, idx) >= 0) {
		*rc = SG_EPARSE;
		goto out;
	}
	attr = CMS_signed_get_attr(si, idx);
	if (attr == NULL || X509_ATTRIBUTE_count(attr) != 1) {
		*rc = SG_EPARSE;
		goto out;
	}
	*rc = SG_OK;
	ASN1_OBJECT_free(obj);
	return X509_ATTRIBUTE_get0_type(attr, 0);
out:
	ASN1_OBJECT_free(obj);
	return NULL;
}

enum sg_rc
p7_attr_get_str(CMS_SignerInfo *si, const char *oid, char *out,
    size_t outsz)
{
	ASN1_TYPE	*t;
	enum sg_rc	 rc;
	size_t		 len;

	if ((t = attr_value(si, oid, &rc)) == NULL)
		return rc;
	if (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING &&
	    t->type != V_ASN1_IA5STRING)
		return SG_EPARSE;
	len = (size_t)ASN1_STRING_length(t->value.asn1_string);
	if (len + 1 > outsz)
		return SG_EPARSE;
	memcpy(out, ASN1_STRING_get0_data(t->value.asn1_string), len);
	out[len] = '\0';
	if (strlen(out) != len)		/* embedded NUL */
		return SG_EPARSE;
	return SG_OK;
}

enum sg_rc
p7_attr_get_octets(CMS_SignerInfo *si, const char *oid, uint8_t *out,
    size_t outsz, size_t *len)
{
	ASN1_TYPE	*t;
	enum sg_rc	 rc;
	size_t		 n;

	if ((t = attr_value(si, oid, &rc)) == NULL)
		return rc;
	if (t->type != V_ASN1_OCTET_STRING)
		return SG_EPARSE;
	n = (size_t)ASN1_STRING_length(t->value.octet_string);
	if (n > outsz || n == 0)
		return SG_EPARSE;
	memcpy(out, ASN1_STRING_get0_data(t->value.octet_string), n);
	*len = n;
	return SG_OK;
}

enum sg_rc
p7_attr_add(CMS_SignerInfo *si, const char *oid, int type, const void *data,
    size_t len)
{
	ASN1_OBJECT	*obj;
	int		 ok;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL)
		return SG_ENOMEM;
	ok = CMS_signed_add1_attr_by_OBJ(si, obj, type, data, (int)len);
	ASN1_OBJECT_free(obj);
	return ok ? SG_OK : SG_EINTERNAL;
}
