/*
 * Logging. The sink and level are the program's documented globals
 * (see sg.h); they are set once by sg_log_init() before threads start.
 */
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "sg.h"

static enum sg_log_level	log_level = SG_LOG_INFO;
static bool			log_syslog;

void
sg_log_init(enum sg_log_level level, bool use_syslog, const char *ident)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool
sg_log_enabled(enum sg_log_level level)
{
	return level <= log_level;
}

void
sg_log(enum sg_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "ERR", "WARN", "INFO", "DEBUG" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char		 line[1024];
	char		 ts[32];
	struct tm	 tm;
	time_t		 now;
	va_list		 ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One fprintf per line, so that threads do not interleave. */
	fprintf(stderr, "%s %s %s\n", ts, names[level], line);
}
