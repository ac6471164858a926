/* Fixtures shared by the ra/ unit tests (cmocka). */
#ifndef SG_TEST_H
#define SG_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "ra.h"

/*
 * A throwaway instance ("scepctl init") in a new /tmp/<tag>.XXXXXX:
 * fills "dir", loads its configuration into *conf (calloc'ed, free it)
 * and, if "code" is not NULL, the demo account's access code
 * (RA_CODE_MAX + 1 bytes). Fails the test on any error.
 */
void		 sgt_instance(const char *tag, char *dir, size_t dirsz,
		    struct conf **conf, char *code);
/* ra_open(), failing the test on error. */
struct ra	*sgt_ra_open(const struct conf *);
/* Remove a directory tree (the instance). */
void		 sgt_rm_tree(const char *dir);
/*
 * A PKCS#10 request for "key" with subject O=scepgate tests, CN=cn.
 * "code" NULL: no challengePassword; "chal_type" 0: PrintableString
 * (MBSTRING_ASC), else the ASN.1 string type to encode it as. *der is
 * malloc'ed.
 */
void		 sgt_make_csr(EVP_PKEY *key, const char *cn, const char *code,
		    int chal_type, uint8_t **der, size_t *len);

/* Uppercase hex serial of "x", as ra/ writes it. */
void		 sgt_serial_hex(const X509 *x, char *out, size_t outsz);

#endif /* SG_TEST_H */
