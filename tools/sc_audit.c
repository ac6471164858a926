/* scepctl audit (list, export, prune) and ra (list, show, export). */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ra_json.h"
#include "scepctl.h"

static int
audit_print(const struct ra_audit_rec *a, size_t n, const char *format)
{
	char	 t[32];
	size_t	 i;

	if (strcmp(format, "json") == 0)
		return sc_json_print(ra_json_array(RA_JSON_AUDIT, a, n));
	if (strcmp(format, "csv") == 0) {
		ra_json_audit_csv(stdout, a, n);
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

/* ---- retention: export to a file, then prune (docs/lockout.md) ---- */

/*
 * The last line of an export file: what it holds and the SHA-256 of
 * every byte before it, which is the CSV that "audit export --format
 * csv --until BEFORE-1" prints.
 */
#define TRAILER	"# scepgate audit export:"

struct export {
	long	before, first, last, count;
	char	sha256[65];
};

static void
sha256_hex(const void *p, size_t len, char hex[65])
{
	uint8_t		md[32];
	unsigned int	mdlen = 0;
	size_t		i;

	hex[0] = '\0';
	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/*
 * The records before "before" as CSV (*buf malloc'ed) with what the
 * trailer says of them; SC_OK, or an exit code after a message.
 */
static int
export_of(struct sc_ctx *ctx, int64_t before, char **buf, size_t *len,
    struct export *x)
{
	struct ra_audit_filter	 f = { 0 };
	struct ra_audit_rec	*a = NULL;
	struct sg_err		 err;
	FILE			*fp;
	size_t			 n = 0;

	*buf = NULL;
	f.until = before - 1;
	if (ra_audit_list(ctx->ra, &f, &a, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (n == 0 || (fp = open_memstream(buf, len)) == NULL) {
		free(a);
		fprintf(stderr, "scepctl: %s\n", n == 0 ? "no audit records "
		    "before that time" : "out of memory");
		return SC_FAIL;
	}
	ra_json_audit_csv(fp, a, n);
	x->before = (long)before;
	x->first = (long)a[0].id;
	x->last = (long)a[n - 1].id;
	x->count = (long)n;
	free(a);
	if (fclose(fp) != 0) {
		fprintf(stderr, "scepctl: out of memory\n");
		return SC_FAIL;
	}
	sha256_hex(*buf, *len, x->sha256);
	return SC_OK;
}

static int
export_write(struct sc_ctx *ctx, int64_t before, const char *path)
{
	struct export	 x;
	FILE		*fp = NULL;
	char		*buf = NULL;
	size_t		 len = 0;
	int		 fd, ret;

	if ((ret = export_of(ctx, before, &buf, &len, &x)) != SC_OK)
		goto out;
	ret = SC_FAIL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		fprintf(stderr, "scepctl: %s: cannot create it (it must not "
		    "exist)\n", path);
		goto out;
	}
	fwrite(buf, 1, len, fp);
	fprintf(fp, "%s before=%ld first=%ld last=%ld count=%ld sha256=%s\n",
	    TRAILER, x.before, x.first, x.last, x.count, x.sha256);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || ferror(fp)) {
		fprintf(stderr, "scepctl: %s: write failed\n", path);
		goto out;
	}
	printf("exported %ld audit records (ids %ld..%ld) to %s\n", x.count,
	    x.first, x.last, path);
	ret = SC_OK;
out:
	if (fp != NULL && fclose(fp) != 0)
		ret = SC_FAIL;
	free(buf);
	return ret;
}

/* The value after "name" in the trailer "t" (up to a space). */
static bool
trailer_long(const char *t, const char *name, long *v)
{
	const char	*p = strstr(t, name);
	char		 tok[32];
	size_t		 n;

	if (p == NULL)
		return false;
	p += strlen(name);
	n = strcspn(p, " \n");
	if (n == 0 || n >= sizeof(tok))
		return false;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return sg_parse_long(tok, 0, LONG_MAX, v);
}

/* Read export file "path": its trailer into *x if the digest holds. */
static bool
export_read(const char *path, struct export *x)
{
	FILE		*fp;
	char		*buf = NULL, *t, hex[65];
	size_t		 len = 0, cap = 0, got;
	bool		 ok = false;

	if ((fp = fopen(path, "r")) == NULL)
		return false;
	for (;;) {
		if (cap - len < 4096) {
			if ((t = realloc(buf, cap + 65536)) == NULL)
				goto out;
			buf = t;
			cap += 65536;
		}
		if ((got = fread(buf + len, 1, cap - len - 1, fp)) == 0)
			break;
		len += got;
	}
	buf[len] = '\0';
	if ((t = strstr(buf, "\n" TRAILER)) == NULL ||
	    strstr(t + 1, "\n" TRAILER) != NULL)
		goto out;
	t++;
	sha256_hex(buf, (size_t)(t - buf), hex);
	ok = strlen(t) > sizeof(TRAILER) &&
	    trailer_long(t, "before=", &x->before) &&
	    trailer_long(t, "first=", &x->first) &&
	    trailer_long(t, "last=", &x->last) &&
	    trailer_long(t, "count=", &x->count) &&
	    strstr(t, "sha256=") != NULL &&
	    strncmp(strstr(t, "sha256=") + 7, hex, 64) == 0;
	snprintf(x->sha256, sizeof(x->sha256), "%s", hex);
out:
	fclose(fp);
	free(buf);
	return ok;
}

static int
prune(struct sc_ctx *ctx, int64_t before, const char *path)
{
	struct export	 x, db;
	struct sg_err	 err;
	char		*buf = NULL;
	size_t		 len;
	int		 ret;

	if (!export_read(path, &x)) {
		fprintf(stderr, "scepctl: %s: not an intact export of "
		    "\"scepctl audit export --before\"\n", path);
		return SC_FAIL;
	}
	if (x.before != (long)before) {
		fprintf(stderr, "scepctl: %s exports the records before %ld, "
		    "not before %lld\n", path, x.before, (long long)before);
		return SC_FAIL;
	}
	if ((ret = export_of(ctx, before, &buf, &len, &db)) != SC_OK)
		return ret;
	free(buf);
	if (strcmp(db.sha256, x.sha256) != 0 || db.first != x.first ||
	    db.last != x.last || db.count != x.count) {
		fprintf(stderr, "scepctl: %s does not hold the records the "
		    "database has before that time: export again\n", path);
		return SC_FAIL;
	}
	if (ra_audit_prune(ctx->ra, before, x.first, x.last, x.count, path,
	    x.sha256, &err) != SG_OK)
		return sc_fail(&err);
	printf("pruned %ld audit records (ids %ld..%ld)\n", x.count, x.first,
	    x.last);
	return SC_OK;
}

/* export --before T --out FILE, or prune --before T --export FILE. */
static int
retention(struct sc_ctx *ctx, int argc, char *argv[])
{
	const char	*v = sc_opt_value(argc, argv, "--before");
	const char	*file;
	bool		 is_prune = strcmp(argv[1], "prune") == 0;
	int64_t		 before = 0;

	file = sc_opt_value(argc, argv, is_prune ? "--export" : "--out");
	if (v == NULL || !ra_json_time_parse(v, &before) || before <= 1 ||
	    before > (int64_t)time(NULL) || file == NULL) {
		fprintf(stderr, "scepctl: audit %s --before T (in the past) "
		    "%s FILE\n", argv[1], is_prune ? "--export" : "--out");
		return SC_USAGE;
	}
	return is_prune ? prune(ctx, before, file) :
	    export_write(ctx, before, file);
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
	static const char *const rvals[] = { "--before", "--out", "--export",
	    NULL };
	static const char *const flags[] = { "--json", NULL };

	if (argc >= 2 && (strcmp(argv[1], "prune") == 0 ||
	    (strcmp(argv[1], "export") == 0 &&
	    sc_opt_value(argc, argv, "--before") != NULL))) {
		if (!sc_args_ok(argc, argv, 2, rvals, NULL, 0))
			return sc_usage("audit");
		return retention(ctx, argc, argv);
	}
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
	    !ra_json_time_parse(v, &f.since)) ||
	    ((v = sc_opt_value(argc, argv, "--until")) != NULL &&
	    !ra_json_time_parse(v, &f.until))) {
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
		arr = ra_json_racert(&r[i]);
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
		arr = ra_json_array(RA_JSON_RACERT, r, n);
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
