/*
 * The JSON shapes of docs/scepctl-json.md, one encoder per object, shared
 * by scepctl --json (tools/) and the admin API (server/srv_admin.c), so
 * the two cannot drift. Each returns a new reference (json_decref()), or
 * NULL when out of memory. Times are "YYYY-MM-DDTHH:MM:SSZ" in UTC, 0
 * is "". No encoder ever includes a secret.
 */
#ifndef RA_JSON_H
#define RA_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ra.h"

/* A time as the JSON shapes write it (ra_json.c); 0 gives "". */
void		 ra_json_time(int64_t t, char *out, size_t outsz);

/* Tokens (ra_token.c) and challenges (ra_challenge.c). */
json_t		*ra_json_token(const struct ra_token *);
json_t		*ra_json_challenge(const struct ra_challenge *);

#endif /* RA_JSON_H */
