/*
 * common/sg_hist.c: a table of observations with the exact text
 * /metrics must print for them (cumulative buckets, a value on a bound
 * counted in that bucket, past the last bound only in +Inf), with and
 * without labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sg_hist.h"

static const double le[] = { 0.1, 1, 10 };

static const struct hist_case {
	const char	*name;
	const char	*labels;
	double		 v[6];
	size_t		 nv;
	const char	*want;
} cases[] = {
	{ "empty", "a=\"x\"", { 0 }, 0,
	    "m_bucket{a=\"x\",le=\"0.1\"} 0\n"
	    "m_bucket{a=\"x\",le=\"1\"} 0\n"
	    "m_bucket{a=\"x\",le=\"10\"} 0\n"
	    "m_bucket{a=\"x\",le=\"+Inf\"} 0\n"
	    "m_sum{a=\"x\"} 0.000000\n"
	    "m_count{a=\"x\"} 0\n" },
	{ "bounds and beyond", "a=\"x\",b=\"y\"",
	    { 0.05, 0.1, 0.5, 1, 20, 10 }, 6,
	    "m_bucket{a=\"x\",b=\"y\",le=\"0.1\"} 2\n"
	    "m_bucket{a=\"x\",b=\"y\",le=\"1\"} 4\n"
	    "m_bucket{a=\"x\",b=\"y\",le=\"10\"} 5\n"
	    "m_bucket{a=\"x\",b=\"y\",le=\"+Inf\"} 6\n"
	    "m_sum{a=\"x\",b=\"y\"} 31.650000\n"
	    "m_count{a=\"x\",b=\"y\"} 6\n" },
	{ "no labels", "", { 2 }, 1,
	    "m_bucket{le=\"0.1\"} 0\n"
	    "m_bucket{le=\"1\"} 0\n"
	    "m_bucket{le=\"10\"} 1\n"
	    "m_bucket{le=\"+Inf\"} 1\n"
	    "m_sum 2.000000\n"
	    "m_count 1\n" },
};

static void
test_table(void **state)
{
	struct sg_hist	 h;
	struct sg_buf	 b;
	size_t		 i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&b, 0, sizeof(b));
		sg_hist_init(&h, le, sizeof(le) / sizeof(le[0]));
		for (j = 0; j < cases[i].nv; j++)
			sg_hist_observe(&h, cases[i].v[j]);
		assert_int_equal(sg_hist_text(&h, "m", cases[i].labels, &b),
		    SG_OK);
		print_message("%s\n", cases[i].name);
		assert_string_equal((const char *)b.data, cases[i].want);
		sg_buf_free(&b);
	}
}

/* A full buffer is the caller's error, not a cut line. */
static void
test_full(void **state)
{
	struct sg_hist	 h;
	struct sg_buf	 b = { .max = 40 };

	(void)state;
	sg_hist_init(&h, le, sizeof(le) / sizeof(le[0]));
	assert_int_not_equal(sg_hist_text(&h, "m", "a=\"x\"", &b), SG_OK);
	sg_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
