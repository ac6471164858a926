/* scepctl audit (list, export) and ra (list, show, export). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scepctl.h"

/* "2026-11-21", "2026-11-21T10:00:00Z" or seconds since the epoch. */
static bool
parse_time(const char *s, int64_t *out)
{
	struct tm	 tm;
	const char	*end;
	long		 v;

	if (sg_parse_long(s, 0, LONG_MAX, &v)) {
		*out = v;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
			return false;
	}
	*out = (int64_t)timegm(&tm);
	return true;
}

static json_t *
audit_json(const struct ra_audit_rec *a)
{
	char	t[32];

	sc_time(a->time, t, sizeof(t));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)a->id, "time", t, "actor", a->actor,
	    "endpoint", a->endpoint, "account", a->account, "transid",
	    a->transid, "action", a->action, "outcome", a->outcome,
	    "details", a->details);
}

/*
 * RFC 4180: quote every field, double the quotes inside. Against CSV
 * injection (OWASP "CSV Injection"): a field a spreadsheet would take
 * for a formula, starting with = + - @ or a control character (tab,
 * CR), gets a leading single quote, and control characters are written
 * as \xNN so that none reaches the spreadsheet or a terminal.
 */
static void
csv_field(const char *s, bool last)
{
	unsigned char	c = (unsigned char)s[0];

	putchar('"');
	if (c == '=' || c == '+' || c == '-' || c == '@' || (c != '\0' &&
	    (c < 0x20 || c == 0x7f)))
		putchar('\'');
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			printf("\\x%02x", c);
			continue;
		}
		if (c == '"')
			putchar('"');
		putchar(c);
	}
	putchar('"');
	putchar(last ? '\n' : ',');
}

static int
audit_print(const struct ra_audit_rec *a, size_t n, const char *format)
{
	json_t	*arr;
	char	 t[32], id[24];
	size_t	 i;

	if (strcmp(format, "json") == 0) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, audit_json(&a[i]));
		return sc_json_print(arr);
	}
	if (strcmp(format, "csv") == 0) {
		printf("id,time,actor,endpoint,account,transid,action,outcome,"
		    "details\n");
		for (i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "%lld", (long long)a[i].id);
			sc_time(a[i].time, t, sizeof(t));
			csv_field(id, false);
			csv_field(t, false);
			csv_field(a[i].actor, false);
			csv_field(a[i].endpoint, false);
			csv_field(a[i].account, false);
			csv_field(a[i].transid, false);
			csv_field(a[i].action, false);
			csv_field(a[i].outcome, false);
			csv_field(a[i].details, true);
		}
		return SC_OK;
	}
	printf("%-20s  %-22s  %-12s  %-16s  %-20s  %-8s  %s\n", "TIME", "ACTOR",
	    "ENDPOINT", "ACCOUNT", "ACTION", "OUTCOME", "DETAILS");
	for (i = 0; i < n; i++) {
		sc_time(a[i].time, t, sizeof(t));
		printf("%-20s  %-22s  %-12s  %-16s  %-20s  %-8s  %s\n", t,
		    a[i].actor, a[i].endpoint[0] ? a[i].endpoint : "-",
		    a[i].account[0] ? a[i].account : "-", a[i].action,
		    a[i].outcome, a[i].details);
	}
	return SC_OK;
}

int
sc_audit(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_audit_filter	 f = { 0 };
	struct ra_audit_rec	*a = NULL;
	struct sg_err		 err;
	const char		*v, *format = "table";
	size_t			 n = 0;
	int			 ret;

	static const char *const vals[] = { "--endpoint", "--account",
	    "--outcome", "--since", "--until", "--format", NULL };
	static const char *const flags[] = { "--json", NULL };

	if (argc < 2 || (strcmp(argv[1], "list") != 0 &&
	    strcmp(argv[1], "export") != 0) ||
	    !sc_args_ok(argc, argv, 2, vals, flags, 0))
		return sc_usage("audit");
	f.endpoint = sc_opt_value(argc, argv, "--endpoint");
	f.account = sc_opt_value(argc, argv, "--account");
	f.outcome = sc_opt_value(argc, argv, "--outcome");
	if (f.outcome != NULL && strcmp(f.outcome, "success") != 0 &&
	    strcmp(f.outcome, "failure") != 0 &&
	    strcmp(f.outcome, "pending") != 0) {
		fprintf(stderr, "scepctl: --outcome: success, failure or "
		    "pending\n");
		return SC_USAGE;
	}
	if (((v = sc_opt_value(argc, argv, "--since")) != NULL &&
	    !parse_time(v, &f.since)) ||
	    ((v = sc_opt_value(argc, argv, "--until")) != NULL &&
	    !parse_time(v, &f.until))) {
		fprintf(stderr, "scepctl: times are YYYY-MM-DD, "
		    "YYYY-MM-DDTHH:MM:SSZ or seconds since 1970\n");
		return SC_USAGE;
	}
	if (strcmp(argv[1], "export") == 0) {
		format = sc_opt_value(argc, argv, "--format");
		if (format == NULL || (strcmp(format, "csv") != 0 &&
		    strcmp(format, "json") != 0)) {
			fprintf(stderr, "scepctl: audit export --format csv|"
			    "json\n");
			return SC_USAGE;
		}
	} else if (sc_has_flag(argc, argv, "--json"))
		format = "json";
	if (ra_audit_list(ctx->ra, &f, &a, &n, &err) != SG_OK)
		return sc_fail(&err);
	ret = audit_print(a, n, format);
	free(a);
	return ret;
}

static json_t *
racert_json(const struct ra_racert *r)
{
	char	na[32];

	sc_time(r->not_after, na, sizeof(na));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", r->id,
	    "subject", r->subject, "issuer", r->issuer, "key_usage",
	    r->key_usage, "serial", r->serial, "not_after", na, "endpoints",
	    r->endpoints);
}

int
sc_ra(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_racert	*r = NULL;
	struct sg_err		 err;
	const char		*pem;
	char			 na[32];
	json_t			*arr;
	size_t			 n = 0, i;
	bool			 json = sc_has_flag(argc, argv, "--json");
	int			 ret = SC_OK;
	static const char *const flags[] = { "--json", NULL };

	if (!sc_args_ok(argc, argv, 2, NULL, flags, 1))
		return sc_usage("ra");
	if (argc == 3 && strcmp(argv[1], "export") == 0) {
		if ((pem = ra_racert_pem(ctx->ra, argv[2])) == NULL) {
			fprintf(stderr, "scepctl: no RA certificate '%s' (see "
			    "scepctl ra list)\n", argv[2]);
			return SC_FAIL;
		}
		fputs(pem, stdout);
		return SC_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "list") != 0 &&
	    strcmp(argv[1], "show") != 0))
		return sc_usage("ra");
	if (ra_racert_list(ctx->ra, &r, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (strcmp(argv[1], "show") == 0) {
		for (i = 0; i < n && (argc < 3 || strcmp(r[i].id, argv[2]));
		    i++)
			continue;
		if (argc < 3 || i == n) {
			fprintf(stderr, "scepctl: no such RA certificate (see "
			    "scepctl ra list)\n");
			free(r);
			return SC_FAIL;
		}
		arr = racert_json(&r[i]);
		if (json)
			ret = sc_json_print(arr);
		else {
			printf("id         %s\nsubject    %s\nissuer     %s\n"
			    "key usage  %s\nserial     %s\nnot after  %s\n"
			    "endpoints  %s\n", r[i].id, r[i].subject,
			    r[i].issuer, r[i].key_usage, r[i].serial,
			    json_string_value(json_object_get(arr,
			    "not_after")), r[i].endpoints);
			json_decref(arr);
		}
		free(r);
		return ret;
	}
	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, racert_json(&r[i]));
		free(r);
		return sc_json_print(arr);
	}
	printf("%-8s  %-36s  %-34s  %-20s  %s\n", "ID", "SUBJECT", "KEY USAGE",
	    "NOT AFTER", "ENDPOINTS");
	for (i = 0; i < n; i++) {
		sc_time(r[i].not_after, na, sizeof(na));
		printf("%-8s  %-36s  %-34s  %-20s  %s\n", r[i].id, r[i].subject,
		    r[i].key_usage, na, r[i].endpoints[0] ? r[i].endpoints :
		    "-");
	}
	free(r);
	return SC_OK;
}
