/* scep-bench: latency percentiles, failure kinds, /proc readings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_int.h"

const char *
bench_fail_name(enum bench_fail f)
{
	static const char *const names[BENCH_F_MAX] = {
		[BENCH_F_CLIENT] = "client",
		[BENCH_F_HTTP] = "http",
		[BENCH_F_STATUS] = "http_status",
		[BENCH_F_REPLY] = "bad_reply",
		[BENCH_F_TXN] = "txn_mismatch",
		[BENCH_F_SCEP_FAILURE] = "scep_failure",
		[BENCH_F_PENDING] = "pending",
		[BENCH_F_KEY] = "key_mismatch",
	};

	return (unsigned)f < BENCH_F_MAX ? names[f] : "?";
}

/* CLOCK_MONOTONIC: immune to clock steps during a run. */
uint64_t
bench_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Latencies are kept whole (4 bytes each) for exact percentiles. */
bool
bench_stats_add(struct bench_stats *s, uint64_t lat_us)
{
	uint32_t	*p;
	size_t		 cap;

	if (s->n == s->cap) {
		cap = s->cap ? 2 * s->cap : 1024;
		if ((p = realloc(s->lat_us, cap * sizeof(*p))) == NULL)
			return false;
		s->lat_us = p;
		s->cap = cap;
	}
	s->lat_us[s->n++] = lat_us > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)lat_us;
	return true;
}

bool
bench_stats_merge(struct bench_stats *dst, const struct bench_stats *src)
{
	size_t	i;

	for (i = 0; i < src->n; i++)
		if (!bench_stats_add(dst, src->lat_us[i]))
			return false;
	dst->ok += src->ok;
	for (i = 0; i < BENCH_F_MAX; i++)
		dst->fails[i] += src->fails[i];
	if (dst->reply_cipher == 0)
		dst->reply_cipher = src->reply_cipher;
	if (dst->first_err[0] == '\0')
		memcpy(dst->first_err, src->first_err, sizeof(dst->first_err));
	return true;
}

void
bench_stats_free(struct bench_stats *s)
{
	free(s->lat_us);
	memset(s, 0, sizeof(*s));
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
bench_stats_sort(struct bench_stats *s)
{
	if (s->n > 1)
		qsort(s->lat_us, s->n, sizeof(*s->lat_us), cmp_u32);
}

/* Nearest rank on sorted latencies. */
uint32_t
bench_stats_pct(const struct bench_stats *s, double p)
{
	size_t	rank;

	if (s->n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->lat_us[rank - 1];
}

/* proc(5): /proc/PID/stat counts utime and stime in clock ticks. */
double
bench_proc_cpu(pid_t pid)
{
	char			 path[64], buf[1024], *p, *end;
	FILE			*fp;
	size_t			 n;
	unsigned long long	 v[2];
	int			 field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* comm may hold spaces and ')': fields restart after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* Field 3 (state) follows; utime and stime are fields 14 and 15. */
	for (field = 3; field < 14; field++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	v[0] = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	p = end;
	v[1] = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	return (double)(v[0] + v[1]) / (double)sysconf(_SC_CLK_TCK);
}

/* proc(5): "VmHWM:   12345 kB" lines in /proc/PID/status. */
long
bench_proc_kb(pid_t pid, const char *field)
{
	char	 path[64], line[256];
	FILE	*fp;
	size_t	 flen = strlen(field);
	long	 kb = -1;
	char	*end;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, field, flen) != 0 || line[flen] != ':')
			continue;
		kb = strtol(line + flen + 1, &end, 10);
		if (end == line + flen + 1)
			kb = -1;
		break;
	}
	fclose(fp);
	return kb;
}
