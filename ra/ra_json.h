/*
 * The JSON shapes of docs/scepctl-json.md, one encoder per object, shared
 * by scepctl --json (tools/) and the admin API (server/srv_admin.c), so
 * the two cannot drift. Each returns a new reference (json_decref()), or
 * NULL when out of memory. Times are "YYYY-MM-DDTHH:MM:SSZ" in UTC, 0
 * is "". No encoder ever includes a secret. Arguments are borrowed.
 */
#ifndef RA_JSON_H
#define RA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ra.h"

/* A time as the JSON shapes write it (ra_json.c); 0 gives "". */
void		 ra_json_time(int64_t t, char *out, size_t outsz);
/*
 * A time as scepctl and the API take it: "YYYY-MM-DD",
 * "YYYY-MM-DDTHH:MM:SSZ" (UTC) or seconds since the epoch. false if it
 * is none of them (*out untouched).
 */
bool		 ra_json_time_parse(const char *, int64_t *out);

/* The endpoint's bit sets and their words ("rsa,ec", "dns,ip,email"). */
enum ra_json_bits {
	RA_BITS_KEY = 0,	/* RA_KEY_*: rsa, ec */
	RA_BITS_CHALLENGE,	/* RA_CHAL_*: printable, utf8, bmp, other */
	RA_BITS_SAN,		/* RA_SAN_*: dns, ip, email, uri, upn, none */
};
/* A comma-separated list into bits; false for an unknown word or none. */
bool		 ra_json_bits_parse(enum ra_json_bits, const char *,
		    int *out);
/* The words of the bits in "v", comma-separated ("" for none). */
void		 ra_json_bits_text(enum ra_json_bits, int v, char *out,
		    size_t outsz);

/* "dept" true: a department (with its "org"). */
json_t		*ra_json_org(const struct ra_org *, bool dept);
/*
 * An endpoint with its SCEP URL and, when customized, the "nd"
 * delegations "d"; ra_endpoint_json() (ra_admin.c) reads both.
 */
json_t		*ra_json_endpoint(const struct ra_endpoint *, const char *url,
		    const struct ra_deleg *d, size_t nd);
json_t		*ra_json_account(const struct ra_account *);
json_t		*ra_json_request(const struct ra_request *);
json_t		*ra_json_cert(const struct ra_cert *);
/* "cert show": the certificate with its "pem" text. */
json_t		*ra_json_cert_pem(const struct ra_cert *, const char *pem);
json_t		*ra_json_audit(const struct ra_audit_rec *);
json_t		*ra_json_profile(const struct ra_profile *);
json_t		*ra_json_racert(const struct ra_racert *);

/* A list: an array of "n" objects of one kind (their C array). */
enum ra_json_kind {
	RA_JSON_ORG = 0,	/* struct ra_org */
	RA_JSON_DEPT,		/* struct ra_org, as departments */
	RA_JSON_ACCOUNT,
	RA_JSON_REQUEST,
	RA_JSON_CERT,
	RA_JSON_AUDIT,		/* struct ra_audit_rec */
	RA_JSON_PROFILE,
	RA_JSON_RACERT,
};
json_t		*ra_json_array(enum ra_json_kind, const void *items,
		    size_t n);
/*
 * Endpoints as ra_json_endpoint() writes them, with the URL and the
 * delegations read from "ra" (ra_admin.c); one, or an array of "n".
 */
json_t		*ra_endpoint_json(struct ra *, const struct ra_endpoint *);
json_t		*ra_endpoint_json_list(struct ra *, const struct ra_endpoint *,
		    size_t n);

/*
 * The audit records as CSV (RFC 4180, with a header line; fields that a
 * spreadsheet would run as formulas are defused) to "fp".
 */
void		 ra_json_audit_csv(FILE *fp, const struct ra_audit_rec *,
		    size_t n);

/* Tokens (ra_token.c) and challenges (ra_challenge.c). */
json_t		*ra_json_token(const struct ra_token *);
json_t		*ra_json_challenge(const struct ra_challenge *);

#endif /* RA_JSON_H */
