/*
 * libFuzzer target for the parsers of what SCM's REST API and an OAuth
 * token server send back (ra/upstream/ra_up_scm_msg.c, ra/http/): bytes
 * from the network, read before anything is trusted.
 *
 * The first byte picks the parser: ('0' + k) for parser k of the switch
 * below (other bytes wrap around modulo 12; ':' is 10, ';' 11), so seeds
 * read "4{...}"; the
 * rest, an exactly sized copy without a final NUL (bodies are not
 * NUL-terminated), is the answer body. Results are checked for what the
 * callers rely on: texts NUL-terminated within their buffers and
 * printable, counts matching arrays, nothing left to free on failure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ra_http_int.h"
#include "ra_up_scm_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
printable(const char *s, size_t bufsz)
{
	size_t	n = strnlen(s, bufsz);

	if (n == bufsz)
		abort();
	while (n-- > 0)
		if ((unsigned char)s[n] < ' ' || (unsigned char)s[n] > '~')
			abort();
}

static void
error_parse(const uint8_t *p, size_t n)
{
	char	desc[160], oauth[200];
	int	code;

	scm_error_parse(p, n, &code, desc, sizeof(desc));
	printable(desc, sizeof(desc));
	ra_http_oauth_error(p, n, oauth, sizeof(oauth));
	printable(oauth, sizeof(oauth));
}

static void
enroll_order(const uint8_t *p, size_t n, bool client)
{
	char	order[RA_ORDER_MAX];

	memset(order, 'x', sizeof(order));
	if (scm_enroll_order(client, p, n, order, NULL) == SG_OK &&
	    strnlen(order, sizeof(order)) == sizeof(order))
		abort();
}

static void
cert_parse(const uint8_t *p, size_t n)
{
	X509	*x = NULL;

	if (scm_cert_parse(p, n, &x, NULL) == SG_OK && x == NULL)
		abort();
	X509_free(x);
}

static void
token_parse(const uint8_t *p, size_t n)
{
	char	tok[RA_HTTP_TOKEN_MAX];
	long	ttl = 0;

	if (ra_http_token_parse(p, n, tok, sizeof(tok), &ttl) == SG_OK)
		printable(tok, sizeof(tok));
	if (ttl <= 0)
		abort();
}

static void
listing(const uint8_t *p, size_t n, bool orgs)
{
	struct scm_entry	*v = NULL;
	size_t			 i, k = 0;
	enum sg_rc		 rc;

	rc = orgs ? scm_orgs_parse(p, n, &v, &k, NULL) :
	    scm_types_parse(p, n, &v, &k, NULL);
	if (rc != SG_OK && v != NULL)
		abort();
	for (i = 0; i < k; i++) {
		if (strnlen(v[i].name, sizeof(v[i].name)) == sizeof(v[i].name))
			abort();
		(void)scm_entry_find(v, k, v[i].name, v[i].parent);
	}
	free(v);
}

static void
catalog(const uint8_t *p, size_t n, bool orgs)
{
	struct ra_catalog	cat = { 0 };
	size_t			i;

	if (orgs)
		(void)scm_catalog_orgs(p, n, &cat, NULL);
	else
		(void)scm_catalog_profiles(p, n, RA_PROFILE_CLIENT, &cat, NULL);
	for (i = 0; i < cat.nprofiles; i++)
		if (cat.profiles[i].nterms > RA_TERMS_MAX)
			abort();
	ra_catalog_free(&cat);
}

static void
status_field(const uint8_t *p, size_t n)
{
	char	st[32];

	if (scm_status_field(p, n, st, sizeof(st)) == SG_OK) {
		if (strnlen(st, sizeof(st)) == sizeof(st))
			abort();
		(void)scm_state_parse(st);
	}
}

/* A certificate list searched for a lost order (scm_list_match). */
static void
list_match(const uint8_t *p, size_t n, bool client)
{
	char	order[RA_ORDER_MAX];
	size_t	k = 0;

	memset(order, 'x', sizeof(order));
	if (scm_list_match(client, p, n, "SCEP transactionID 5F3A; scepgate "
	    "endpoint demo,", order, &k) == SG_OK &&
	    (strnlen(order, sizeof(order)) == sizeof(order) || k == 0 ||
	    strspn(order, "0123456789abcdefABCDEF-_") != strlen(order)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*p;
	size_t	 n;
	unsigned k;

	if (size == 0)
		return 0;
	n = size - 1;
	/* Exact copy: ASan sees a read past the end of the body. */
	if ((p = malloc(n > 0 ? n : 1)) == NULL)
		return 0;
	memcpy(p, data + 1, n);
	k = (uint8_t)(data[0] - '0') % 12;
	switch (k) {
	case 0:
		error_parse(p, n);
		break;
	case 1:
	case 2:
		enroll_order(p, n, k == 2);
		break;
	case 3:
		cert_parse(p, n);
		break;
	case 4:
		token_parse(p, n);
		break;
	case 5:
	case 6:
		listing(p, n, k == 5);
		break;
	case 7:
	case 8:
		catalog(p, n, k == 7);
		break;
	case 9:
		status_field(p, n);
		break;
	default:
		list_match(p, n, k == 11);
		break;
	}
	free(p);
	return 0;
}
