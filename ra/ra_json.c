/*
 * The JSON shapes shared by scepctl --json and the admin API (ra_json.h).
 */
#include <time.h>

#include "ra_json.h"

void
ra_json_time(int64_t t, char *out, size_t outsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return;
	if (strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}
