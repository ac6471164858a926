/*
 * DER out of OpenSSL: callers of pkcs7/ free() every buffer they get, so
 * the OPENSSL_malloc'ed result of an i2d call is copied once, here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "p7_int.h"

enum sg_rc
p7_der_take(unsigned char *buf, int n, uint8_t **der, size_t *len)
{
	enum sg_rc	rc = SG_OK;

	if (n <= 0 || buf == NULL)
		rc = SG_EINTERNAL;
	else if ((*der = malloc((size_t)n)) == NULL)
		rc = SG_ENOMEM;
	else {
		memcpy(*der, buf, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(buf);
	return rc;
}

enum sg_rc
p7_der_cms(CMS_ContentInfo *cms, uint8_t **der, size_t *len)
{
	unsigned char	*buf = NULL;
	int		 n;

	n = i2d_CMS_ContentInfo(cms, &buf);
	return p7_der_take(buf, n, der, len);
}
