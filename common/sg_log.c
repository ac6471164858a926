/*
 * Logging. The sink, level and format are the program's documented
 * globals (see sg.h); they are set once by sg_log_init() and
 * sg_log_format() before threads start. The request id is a thread-local
 * (also listed in sg.h): server/ sets it around the handling of one
 * request, so that every line written meanwhile, in ra/ and ra/http/ too,
 * carries it without an argument threaded through every call.
 *
 * In JSON each line is one object (docs/operations.md, "Logs"): "ts",
 * "level" and "msg" always, "request_id" when set, and the fields of
 * fields[] below when the text has them as "name=value" words. Call sites
 * keep writing one printf format; the text form stays what it was.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "sg.h"

static enum sg_log_level	log_level = SG_LOG_INFO;
static bool			log_syslog;
static enum sg_log_format	log_format = SG_LOG_TEXT;

static _Thread_local char	log_reqid[SG_REQID_MAX + 1];

/* The structured fields of a JSON line, in this order; stable names. */
static const char *const fields[] = {
	"endpoint", "transid", "peer", "account", "op", "status", "bytes",
	"us",
};

#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

void
sg_log_init(enum sg_log_level level, bool use_syslog, const char *ident)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
sg_log_format(enum sg_log_format format)
{
	log_format = format;
}

bool
sg_log_enabled(enum sg_log_level level)
{
	return level <= log_level;
}

void
sg_log_reqid_set(const char *id)
{
	if (id == NULL)
		id = "";
	snprintf(log_reqid, sizeof(log_reqid), "%s", id);
}

const char *
sg_log_reqid(void)
{
	return log_reqid;
}

/* Append "s" (n bytes) as JSON string content; false when out is full. */
static bool
json_add(char *out, size_t outsz, size_t *pos, const char *s, size_t n)
{
	unsigned char	c;
	size_t		i;
	int		k;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			k = snprintf(out + *pos, outsz - *pos, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			k = snprintf(out + *pos, outsz - *pos, "\\u%04x", c);
		else if (c >= 0x80)	/* maybe not UTF-8: never bad JSON */
			k = snprintf(out + *pos, outsz - *pos, "?");
		else
			k = snprintf(out + *pos, outsz - *pos, "%c", c);
		if (k < 0 || (size_t)k >= outsz - *pos)
			return false;
		*pos += (size_t)k;
	}
	return true;
}

/* Append ,"name":"value"; on failure *pos is unchanged. */
static bool
json_field(char *out, size_t outsz, size_t *pos, const char *name,
    const char *v, size_t vlen)
{
	size_t	p = *pos;
	int	k;

	k = snprintf(out + p, outsz - p, ",\"%s\":\"", name);
	if (k < 0 || (size_t)k >= outsz - p)
		return false;
	p += (size_t)k;
	if (!json_add(out, outsz, &p, v, vlen) || p + 1 >= outsz)
		return false;
	out[p++] = '"';
	out[p] = '\0';
	*pos = p;
	return true;
}

/*
 * The value of the first word "name=value" of "line": a word starts the
 * line or follows a space; the value ends at a space, and a ':' or ','
 * ending it (as in "transid=ab12: ...") is punctuation, not value.
 */
static const char *
word_value(const char *line, const char *name, size_t *vlen)
{
	size_t		 n = strlen(name);
	const char	*p, *v;

	for (p = line; (p = strstr(p, name)) != NULL; p += n) {
		if ((p != line && p[-1] != ' ') || p[n] != '=')
			continue;
		v = p + n + 1;
		*vlen = strcspn(v, " ");
		while (*vlen > 0 && (v[*vlen - 1] == ':' ||
		    v[*vlen - 1] == ','))
			(*vlen)--;
		return v;
	}
	return NULL;
}

/* Room kept at the end of a JSON line for its cut-off ending. */
#define JSON_TAIL	sizeof(",\"msg\":\"(cut)\"}")

/* One JSON object for "line" into "out"; a cut line is still valid. */
static void
json_line(char *out, size_t outsz, const char *ts, const char *level,
    const char *line)
{
	const char	*v;
	size_t		 room = outsz - JSON_TAIL, pos, vlen, i;
	int		 k;

	k = snprintf(out, room, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level);
	pos = k > 0 && (size_t)k < room ? (size_t)k : 0;
	if (log_reqid[0] != '\0' && !json_field(out, room, &pos,
	    "request_id", log_reqid, strlen(log_reqid)))
		goto cut;
	for (i = 0; i < NFIELDS; i++) {
		if ((v = word_value(line, fields[i], &vlen)) == NULL)
			continue;
		if (!json_field(out, room, &pos, fields[i], v, vlen))
			goto cut;
	}
	if (json_field(out, room, &pos, "msg", line, strlen(line))) {
		snprintf(out + pos, outsz - pos, "}");
		return;
	}
cut:
	/* Out of room: end the object where it is still well-formed. */
	snprintf(out + pos, outsz - pos, ",\"msg\":\"(cut)\"}");
}

void
sg_log(enum sg_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "ERR", "WARN", "INFO", "DEBUG" };
	static const char *const jnames[] = { "err", "warn", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char		 line[1024];
	char		 buf[3 * 1024];
	char		 ts[32];
	const char	*out;
	struct tm	 tm;
	time_t		 now;
	va_list		 ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out = line;
	if (log_format == SG_LOG_JSON) {
		json_line(buf, sizeof(buf), ts, jnames[level], line);
		out = buf;
	} else if (log_reqid[0] != '\0') {
		snprintf(buf, sizeof(buf), "request_id=%s %s", log_reqid, line);
		out = buf;
	}
	if (log_syslog) {
		syslog(prio[level], "%s", out);
		return;
	}
	/* One fprintf per line, so that threads do not interleave. */
	if (log_format == SG_LOG_JSON)
		fprintf(stderr, "%s\n", out);
	else
		fprintf(stderr, "%s %s %s\n", ts, names[level], out);
}
