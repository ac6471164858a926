/*
 * The lockout of wrong access codes (ra_throttle.c), called directly
 * with an explicit clock (ra_int.h) on a real store: each case is a
 * sequence of wrong codes and lockout checks at given times, with the
 * expected answers; then sources by prefix, a flood of other sources,
 * the endpoint's ceiling, and two store handles on one database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ra_int.h"

enum op {
	FAIL,		/* ra_throttle_fail: did this lock it out? */
	LOCKED,		/* ra_throttle_locked: is it locked out now? */
};

struct step {
	enum op		 op;
	const char	*peer;
	time_t		 t;
	bool		 want;
};

#define MAXSTEPS	12

static const struct throttle_case {
	const char	*name;
	int		 max_fails;
	int		 seconds;
	struct step	 steps[MAXSTEPS];	/* up to peer == NULL */
} cases[] = {
	{ "locked after max fails, released after the window", 3, 600, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1001, false },
	    { LOCKED, "a", 1001, false }, { FAIL, "a", 1002, true },
	    { LOCKED, "a", 1002, true }, { LOCKED, "a", 1601, true },
	    { LOCKED, "a", 1602, false } } },
	{ "locked for exactly the window", 2, 60, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1000, true },
	    { LOCKED, "a", 1059, true }, { LOCKED, "a", 1060, false } } },
	{ "per peer", 2, 600, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1000, true },
	    { LOCKED, "b", 1000, false }, { FAIL, "b", 1000, false },
	    { LOCKED, "b", 1000, false }, { LOCKED, "a", 1000, true },
	    { LOCKED, "192.0.2.1", 1000, false } } },
	{ "fails older than the window do not count", 3, 60, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1030, false },
	    { FAIL, "a", 1061, false }, { LOCKED, "a", 1061, false },
	    { FAIL, "a", 1062, true }, { LOCKED, "a", 1062, true } } },
	{ "the count starts again after a lockout", 2, 100, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1000, true },
	    { LOCKED, "a", 1099, true }, { LOCKED, "a", 1100, false },
	    { FAIL, "a", 1100, false }, { LOCKED, "a", 1100, false },
	    { FAIL, "a", 1100, true }, { LOCKED, "a", 1199, true },
	    { LOCKED, "a", 1200, false } } },
	{ "a window that ended starts a new count", 2, 100, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1000, true },
	    { FAIL, "a", 1101, false }, { LOCKED, "a", 1101, false },
	    { FAIL, "a", 1102, true } } },
	{ "one wrong code is enough with max 1", 1, 10, {
	    { LOCKED, "a", 1000, false }, { FAIL, "a", 1000, true },
	    { LOCKED, "a", 1009, true }, { LOCKED, "a", 1010, false } } },
	{ "max 0 never locks out", 0, 600, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1000, false },
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1000, false },
	    { FAIL, "a", 1000, false }, { LOCKED, "a", 1000, false } } },
};

struct fx {
	char		 dir[64];
	char		 db[128];
	struct ra_store	*st;
	struct conf	 c;
	struct sg_err	 err;
};

static int
setup(void **state)
{
	struct fx	*fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sg-throttle.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->db, sizeof(fx->db), "sqlite:%s/t.db", fx->dir);
	if (ra_store_open(fx->db, &fx->st, &fx->err) != SG_OK)
		return -1;
	fx->c.lockout_failures = 3;
	fx->c.lockout_seconds = 600;
	fx->c.lockout_prefix4 = 24;
	fx->c.lockout_prefix6 = 64;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	char		 p[160];
	static const char *const sfx[] = { "", "-wal", "-shm" };
	size_t		 i;

	ra_store_close(fx->st);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s/t.db%s", fx->dir, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Count a wrong code of "peer" on endpoint "ep": did it lock out? */
static bool
fail_at(struct fx *fx, struct ra_store *st, int64_t ep, const char *peer,
    time_t t)
{
	bool	locked = false;

	if (ra_throttle_fail(st, &fx->c, ep, peer, t, &locked, &fx->err) !=
	    SG_OK)
		fail_msg("ra_throttle_fail: %s", fx->err.msg);
	return locked;
}

static enum ra_lock
lock_at(struct fx *fx, struct ra_store *st, int64_t ep, const char *peer,
    time_t t)
{
	enum ra_lock	lock = RA_LOCK_NONE;

	if (ra_throttle_check(st, &fx->c, ep, peer, t, &lock, &fx->err) !=
	    SG_OK)
		fail_msg("ra_throttle_check: %s", fx->err.msg);
	return lock;
}

static void
test_throttle_table(void **state)
{
	struct fx			*fx = *state;
	const struct throttle_case	*c;
	const struct step		*s;
	size_t				 i, j;
	bool				 got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		fx->c.lockout_failures = c->max_fails;
		fx->c.lockout_seconds = c->seconds;
		for (j = 0; j < MAXSTEPS && c->steps[j].peer != NULL; j++) {
			s = &c->steps[j];
			got = s->op == FAIL ?
			    fail_at(fx, fx->st, (int64_t)i + 1, s->peer, s->t) :
			    lock_at(fx, fx->st, (int64_t)i + 1, s->peer,
			    s->t) == RA_LOCK_SOURCE;
			if (got != s->want)
				fail_msg("%s: step %zu (%s %s at %lld): %d",
				    c->name, j + 1, s->op == FAIL ? "fail" :
				    "locked?", s->peer, (long long)s->t, got);
		}
	}
}

static void
test_source(void **state)
{
	struct fx	*fx = *state;
	char		 out[80];
	size_t		 i;
	static const char *const v[][2] = {
		{ "127.0.0.1", "127.0.0.0/24" },
		{ "192.0.2.255", "192.0.2.0/24" },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
		{ "::ffff:192.0.2.7", "192.0.2.0/24" },
		{ "?", "?" },
	};

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ra_throttle_source(&fx->c, v[i][0], out, sizeof(out));
		assert_string_equal(out, v[i][1]);
	}
	fx->c.lockout_prefix4 = 20;
	ra_throttle_source(&fx->c, "10.1.31.9", out, sizeof(out));
	assert_string_equal(out, "10.1.16.0/20");
}

/* 127.0.0.1 locked out locks out its /24, and only that. */
static void
test_prefix_lockout(void **state)
{
	struct fx	*fx = *state;

	assert_false(fail_at(fx, fx->st, 1, "127.0.0.1", 1000));
	assert_false(fail_at(fx, fx->st, 1, "127.0.0.1", 1001));
	assert_true(fail_at(fx, fx->st, 1, "127.0.0.1", 1002));
	assert_int_equal(lock_at(fx, fx->st, 1, "127.0.0.2", 1003),
	    RA_LOCK_SOURCE);
	assert_int_equal(lock_at(fx, fx->st, 1, "127.0.1.1", 1003),
	    RA_LOCK_NONE);
	assert_int_equal(lock_at(fx, fx->st, 2, "127.0.0.2", 1003),
	    RA_LOCK_NONE);		/* per endpoint */
}

/* 2,000 failures from other prefixes leave the lock where it is. */
static void
test_no_eviction(void **state)
{
	struct fx	*fx = *state;
	char		 peer[32];
	int		 i;

	fx->c.lockout_failures = 1;
	assert_true(fail_at(fx, fx->st, 1, "127.0.0.1", 1000));
	for (i = 0; i < 2000; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.1", i / 256, i % 256);
		(void)fail_at(fx, fx->st, 1, peer, 1001 + i / 10);
	}
	assert_int_equal(lock_at(fx, fx->st, 1, "127.0.0.9", 1300),
	    RA_LOCK_SOURCE);
	assert_int_equal(lock_at(fx, fx->st, 1, "127.0.0.9", 1600),
	    RA_LOCK_NONE);		/* time releases it */
}

/* The endpoint's ceiling: wrong codes from all sources per minute. */
static void
test_ceiling(void **state)
{
	struct fx	*fx = *state;
	char		 peer[32];
	int		 i;

	fx->c.lockout_failures = 100;
	fx->c.lockout_ceiling = 10;
	for (i = 0; i < 10; i++) {
		assert_int_equal(lock_at(fx, fx->st, 1, "198.51.100.1",
		    1000 + i), RA_LOCK_NONE);
		snprintf(peer, sizeof(peer), "10.0.%d.1", i);
		(void)fail_at(fx, fx->st, 1, peer, 1000 + i);
	}
	assert_int_equal(lock_at(fx, fx->st, 1, "198.51.100.1", 1010),
	    RA_LOCK_ENDPOINT);
	assert_int_equal(lock_at(fx, fx->st, 2, "198.51.100.1", 1010),
	    RA_LOCK_NONE);
	assert_int_equal(lock_at(fx, fx->st, 1, "198.51.100.1", 1060),
	    RA_LOCK_NONE);		/* the first one is a minute old */
}

/* Another handle on the database (another process) sees the lock. */
static void
test_two_handles(void **state)
{
	struct fx	*fx = *state;
	struct ra_store	*other = NULL;

	assert_int_equal(ra_store_open(fx->db, &other, &fx->err), SG_OK);
	(void)fail_at(fx, fx->st, 1, "192.0.2.1", 1000);
	(void)fail_at(fx, other, 1, "192.0.2.2", 1000);
	assert_true(fail_at(fx, fx->st, 1, "192.0.2.3", 1001));
	assert_int_equal(lock_at(fx, other, 1, "192.0.2.4", 1002),
	    RA_LOCK_SOURCE);
	ra_store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_throttle_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_lockout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_eviction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ceiling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
