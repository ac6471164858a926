/*
 * Wrong access codes are counted and then locked out for a while
 * (DESIGN.md "Identity and secrets", docs/lockout.md). The counts live
 * in the store (ra_store_fail_*), so every process and every instance
 * on the database sees the same lock, and they expire by time only: no
 * table fills up and forgets a locked source. Counted per source, an
 * IPv4 /limits.lockout_prefix4 or IPv6 /limits.lockout_prefix6, per
 * endpoint; limits.lockout_ceiling caps the wrong codes of an endpoint
 * per minute from all sources together.
 *
 * Keys of the counters (per endpoint): the source ("192.0.2.0/24") for
 * its wrong codes, "!" and the source for the moment it was locked out,
 * "*" for all wrong codes of the endpoint.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "ra_int.h"

#define CEILING_SECONDS	60

/* Keep the first "bits" bits of the "len" bytes of "a". */
static void
mask(uint8_t *a, size_t len, int bits)
{
	size_t	i;

	for (i = 0; i < len; i++, bits -= 8) {
		if (bits >= 8)
			continue;
		a[i] = bits <= 0 ? 0 : (uint8_t)(a[i] & (0xff << (8 - bits)));
	}
}

void
ra_throttle_source(const struct conf *c, const char *peer, char *out,
    size_t outsz)
{
	struct in6_addr	a6;
	struct in_addr	a4;
	char		txt[INET6_ADDRSTRLEN];

	snprintf(out, outsz, "%s", peer);
	if (inet_pton(AF_INET6, peer, &a6) == 1 &&
	    IN6_IS_ADDR_V4MAPPED(&a6))
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
	else if (inet_pton(AF_INET6, peer, &a6) == 1) {
		mask(a6.s6_addr, sizeof(a6.s6_addr), c->lockout_prefix6);
		if (inet_ntop(AF_INET6, &a6, txt, sizeof(txt)) != NULL)
			snprintf(out, outsz, "%s/%d", txt, c->lockout_prefix6);
		return;
	} else if (inet_pton(AF_INET, peer, &a4) != 1)
		return;
	mask((uint8_t *)&a4, sizeof(a4), c->lockout_prefix4);
	if (inet_ntop(AF_INET, &a4, txt, sizeof(txt)) != NULL)
		snprintf(out, outsz, "%s/%d", txt, c->lockout_prefix4);
}

/* "!" and the source of "peer": the key of its lock. */
static void
lock_key(const struct conf *c, const char *peer, char *lk, size_t lksz)
{
	lk[0] = '!';
	ra_throttle_source(c, peer, lk + 1, lksz - 1);
}

void
ra_throttle_gauge_query(const struct conf *c, time_t now,
    struct ra_gauge_query *q)
{
	q->lock_like = "!%";	/* lock_key() */
	q->lock_since = (int64_t)now - c->lockout_seconds + 1;
	q->ceiling_since = (int64_t)now - CEILING_SECONDS + 1;
	q->ceiling = c->lockout_ceiling;
}

enum sg_rc
ra_throttle_check(struct ra_store *st, const struct conf *c, int64_t ep_id,
    const char *peer, time_t now, enum ra_lock *lock, struct sg_err *err)
{
	struct ra_fail_query	q[2];
	int64_t			n[2];
	char			lk[80];
	enum sg_rc		rc;

	lock_key(c, peer, lk, sizeof(lk));
	q[0].key = lk;
	q[0].since = (int64_t)now - c->lockout_seconds + 1;
	q[1].key = "*";
	q[1].since = (int64_t)now - CEILING_SECONDS + 1;
	if ((rc = ra_store_fail_count(st, ep_id, q, 2, n, err)) != SG_OK)
		return rc;
	*lock = RA_LOCK_NONE;
	if (c->lockout_failures > 0 && n[0] > 0)
		*lock = RA_LOCK_SOURCE;
	else if (c->lockout_ceiling > 0 && n[1] >= c->lockout_ceiling)
		*lock = RA_LOCK_ENDPOINT;
	return SG_OK;
}

enum sg_rc
ra_throttle_fail(struct ra_store *st, const struct conf *c, int64_t ep_id,
    const char *peer, time_t now, bool *locked, struct sg_err *err)
{
	struct ra_fail_query	 q[1];
	const char		*keys[2];
	int64_t			 n = 0, keep;
	char			 lk[80];
	enum sg_rc		 rc;

	*locked = false;
	lock_key(c, peer, lk, sizeof(lk));
	keys[0] = lk + 1;
	keys[1] = "*";
	keep = c->lockout_seconds > CEILING_SECONDS ? c->lockout_seconds :
	    CEILING_SECONDS;
	if ((rc = ra_store_fail_add(st, ep_id, keys, 2, now, now - keep,
	    err)) != SG_OK || c->lockout_failures == 0)
		return rc;
	q[0].key = lk + 1;
	q[0].since = (int64_t)now - c->lockout_seconds + 1;
	if ((rc = ra_store_fail_count(st, ep_id, q, 1, &n, err)) != SG_OK ||
	    n < c->lockout_failures)
		return rc;
	keys[0] = lk;
	*locked = true;
	return ra_store_fail_add(st, ep_id, keys, 1, now, now - keep, err);
}

/*
 * The admin listener (ra.h): its wrong tokens are counted like access
 * codes, under endpoint id 0, which no endpoint has.
 */
#define ADMIN_EP	0

enum sg_rc
ra_admin_locked(struct ra *ra, const char *peer, bool *locked,
    struct sg_err *err)
{
	enum ra_lock	lock = RA_LOCK_NONE;
	enum sg_rc	rc;

	rc = ra_throttle_check(ra->store, ra->conf, ADMIN_EP, peer, time(NULL),
	    &lock, err);
	*locked = lock != RA_LOCK_NONE;
	return rc;
}

enum sg_rc
ra_admin_failed(struct ra *ra, const char *peer, struct sg_err *err)
{
	enum sg_rc	rc;
	bool		locked = false;

	rc = ra_throttle_fail(ra->store, ra->conf, ADMIN_EP, peer, time(NULL),
	    &locked, err);
	if (rc == SG_OK && locked)
		sg_log(SG_LOG_WARN, "peer=%s admin API: locked out for "
		    "repeated wrong tokens", peer);
	return rc;
}
