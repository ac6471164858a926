/*
 * The gauges of /metrics (docs/operations.md, "Monitoring"): lockouts,
 * undecided transactions, certificates by status and those expiring
 * soon, from one store read. server/ caches the answer.
 */
#include <string.h>

#include "ra_int.h"

enum sg_rc
ra_gauges_get(struct ra *ra, time_t now, struct ra_gauges *g,
    struct sg_err *err)
{
	struct ra_gauge_query	q;
	struct ra_gauges	v;
	enum sg_rc		rc;

	memset(&q, 0, sizeof(q));
	ra_throttle_gauge_query(ra->conf, now, &q);
	q.now = (int64_t)now;
	q.expiring_before = (int64_t)now + RA_EXPIRING_DAYS * 86400;
	memset(&v, 0, sizeof(v));
	if ((rc = ra_store_gauges(ra->store, &q, &v, err)) == SG_OK)
		*g = v;
	return rc;
}
