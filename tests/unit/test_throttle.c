/*
 * The lockout of wrong access codes (ra_throttle.c), called directly
 * with an explicit clock (ra_int.h): each case is a sequence of wrong
 * codes and lockout checks at given times, with the expected answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
	{ "fails further apart than the window do not add up", 3, 60, {
	    { FAIL, "a", 1000, false }, { FAIL, "a", 1030, false },
	    { FAIL, "a", 1061, false }, { FAIL, "a", 1062, false },
	    { LOCKED, "a", 1062, false }, { FAIL, "a", 1063, true },
	    { LOCKED, "a", 1063, true } } },
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

static void
test_throttle_table(void **state)
{
	const struct throttle_case	*c;
	const struct step		*s;
	struct ra_throttle		*t;
	size_t				 i, j;
	bool				 got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		t = ra_throttle_new(c->max_fails, c->seconds);
		assert_non_null(t);
		for (j = 0; j < MAXSTEPS && c->steps[j].peer != NULL; j++) {
			s = &c->steps[j];
			got = s->op == FAIL ?
			    ra_throttle_fail(t, s->peer, s->t) :
			    ra_throttle_locked(t, s->peer, s->t);
			if (got != s->want)
				fail_msg("%s: step %zu (%s %s at %lld): %d",
				    c->name, j + 1, s->op == FAIL ? "fail" :
				    "locked?", s->peer, (long long)s->t, got);
		}
		ra_throttle_free(t);
	}
	ra_throttle_free(NULL);
}

/*
 * The table is bounded (1024 peers); newer peers take the oldest slots
 * first, so a lockout survives a flood of 1023 other addresses.
 */
static void
test_throttle_many_peers(void **state)
{
	struct ra_throttle	*t;
	char			 peer[32];
	int			 i;

	(void)state;
	t = ra_throttle_new(1, 600);
	assert_non_null(t);
	assert_true(ra_throttle_fail(t, "victim", 1000));
	for (i = 0; i < 1023; i++) {
		snprintf(peer, sizeof(peer), "198.51.100.%d/%d", i % 256, i);
		assert_true(ra_throttle_fail(t, peer, 1001));
	}
	assert_true(ra_throttle_locked(t, "victim", 1001));
	assert_true(ra_throttle_locked(t, "198.51.100.0/0", 1001));
	/* More peers than slots: no crash, the newest is tracked. */
	for (i = 0; i < 3000; i++) {
		snprintf(peer, sizeof(peer), "203.0.113.%d/%d", i % 256, i);
		(void)ra_throttle_fail(t, peer, 1002 + i);
	}
	assert_true(ra_throttle_locked(t, peer, 1002 + i - 1));
	ra_throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_throttle_table),
		cmocka_unit_test(test_throttle_many_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
