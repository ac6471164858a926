/* scepctl request (list, approve, reject) and cert (list, show, revoke). */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra_json.h"
#include "scepctl.h"

static bool
req_status_parse(const char *s, int *out)
{
	int	i;

	for (i = RA_REQ_NEW; i <= RA_REQ_REJECTED; i++) {
		if (strcmp(s, ra_req_status_name((enum ra_req_status)i)) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

static bool
cert_status_parse(const char *s, int *out)
{
	int	i;

	for (i = RA_CERT_VALID; i <= RA_CERT_SUPERSEDED; i++) {
		if (strcmp(s, ra_cert_status_name((enum ra_cert_status)i)) ==
		    0) {
			*out = i;
			return true;
		}
	}
	return false;
}

/*
 * How long a live (new or pending) request has been in its state, as
 * "42s", "7m" or "3h"; "-" once decided. A new one older than a few
 * minutes was left by a crash: "request approve/reject" resolve it.
 */
static void
req_age(const struct ra_request *r, time_t now, char *out, size_t outsz)
{
	long long	age = (long long)now - (long long)r->updated;

	if (r->status != RA_REQ_NEW && r->status != RA_REQ_PENDING)
		snprintf(out, outsz, "-");
	else if (age < 120)
		snprintf(out, outsz, "%llds", age < 0 ? 0 : age);
	else if (age < 7200)
		snprintf(out, outsz, "%lldm", age / 60);
	else
		snprintf(out, outsz, "%lldh", age / 3600);
}

static int
req_list(struct sc_ctx *ctx, int status, bool json)
{
	struct ra_request	*r = NULL;
	struct sg_err		 err;
	char			 created[32], age[16];
	json_t			*arr;
	size_t			 n = 0, i;
	time_t			 now = time(NULL);

	if (ra_request_list(ctx->ra, status, &r, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (json) {
		arr = ra_json_array(RA_JSON_REQUEST, r, n);
		free(r);
		return sc_json_print(arr);
	}
	printf("%-6s  %-12s  %-16s  %-10s  %-8s  %-20s  %-5s  %s\n", "ID",
	    "ENDPOINT", "ACCOUNT", "TYPE", "STATUS", "CREATED", "AGE",
	    "SUBJECT");
	for (i = 0; i < n; i++) {
		sc_time(r[i].created, created, sizeof(created));
		req_age(&r[i], now, age, sizeof(age));
		printf("%-6lld  %-12s  %-16s  %-10s  %-8s  %-20s  %-5s  %s\n",
		    (long long)r[i].id, r[i].endpoint,
		    r[i].account[0] ? r[i].account : "-", r[i].type,
		    ra_req_status_name(r[i].status), created, age,
		    r[i].subject);
	}
	free(r);
	return SC_OK;
}

int
sc_request(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	 err;
	const char	*v, *reason;
	long		 id;
	int		 status = -1;

	static const char *const lvals[] = { "--status", NULL };
	static const char *const lflags[] = { "--json", NULL };
	static const char *const rvals[] = { "--reason", NULL };

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (!sc_args_ok(argc, argv, 2, lvals, lflags, 0))
			return sc_usage("request");
		if ((v = sc_opt_value(argc, argv, "--status")) != NULL &&
		    !req_status_parse(v, &status)) {
			fprintf(stderr, "scepctl: --status: new, pending, "
			    "issued or rejected\n");
			return SC_USAGE;
		}
		return req_list(ctx, status, sc_has_flag(argc, argv, "--json"));
	}
	if (argc < 3 || !sg_parse_long(argv[2], 1, INT64_MAX > LONG_MAX ?
	    LONG_MAX : (long)INT64_MAX, &id))
		return sc_usage("request");
	if (!sc_args_ok(argc, argv, 3, rvals, NULL, 0))
		return sc_usage("request");
	if (strcmp(argv[1], "approve") == 0 && argc == 3) {
		if (ra_request_approve(ctx->ra, id, &err) != SG_OK)
			return sc_fail(&err);
		printf("request %ld approved\n", id);
		return SC_OK;
	}
	if (strcmp(argv[1], "reject") == 0 && argc == 5 &&
	    (reason = sc_opt_value(argc, argv, "--reason")) != NULL) {
		if (ra_request_reject(ctx->ra, id, reason, &err) != SG_OK)
			return sc_fail(&err);
		printf("request %ld rejected\n", id);
		return SC_OK;
	}
	return sc_usage("request");
}

static int
cert_list(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_cert	*c = NULL;
	struct sg_err	 err;
	const char	*v;
	char		 na[32];
	json_t		*arr;
	size_t		 n = 0, i;
	int		 status = -1;

	if ((v = sc_opt_value(argc, argv, "--status")) != NULL &&
	    !cert_status_parse(v, &status)) {
		fprintf(stderr, "scepctl: --status: valid, revoked or "
		    "superseded\n");
		return SC_USAGE;
	}
	if (ra_cert_list(ctx->ra, sc_opt_value(argc, argv, "--endpoint"), status,
	    &c, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (sc_has_flag(argc, argv, "--json")) {
		arr = ra_json_array(RA_JSON_CERT, c, n);
		free(c);
		return sc_json_print(arr);
	}
	printf("%-34s  %-12s  %-16s  %-10s  %-20s  %s\n", "SERIAL", "ENDPOINT",
	    "ACCOUNT", "STATUS", "NOT AFTER", "SUBJECT");
	for (i = 0; i < n; i++) {
		sc_time(c[i].not_after, na, sizeof(na));
		printf("%-34s  %-12s  %-16s  %-10s  %-20s  %s\n", c[i].serial,
		    c[i].endpoint, c[i].account[0] ? c[i].account : "-",
		    ra_cert_status_name(c[i].status), na, c[i].subject);
	}
	free(c);
	return SC_OK;
}

int
sc_cert(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_cert	 c;
	struct sg_err	 err;
	const char	*v;
	char		*pem = NULL;
	json_t		*j;
	int		 reason;

	static const char *const lvals[] = { "--endpoint", "--status", NULL };
	static const char *const sflags[] = { "--json", "--pem", NULL };
	static const char *const rvals[] = { "--reason", NULL };

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (!sc_args_ok(argc, argv, 2, lvals, sflags, 0))
			return sc_usage("cert");
		return cert_list(ctx, argc, argv);
	}
	if (argc >= 2 && !sc_args_ok(argc, argv, 2,
	    strcmp(argv[1], "revoke") == 0 ? rvals : NULL, sflags, 1))
		return sc_usage("cert");
	if (argc >= 3 && strcmp(argv[1], "show") == 0) {
		if (ra_cert_get(ctx->ra, argv[2], &c, &pem, &err) != SG_OK)
			return sc_fail(&err);
		if (sc_has_flag(argc, argv, "--pem"))
			fputs(pem, stdout);
		else if (sc_has_flag(argc, argv, "--json")) {
			j = ra_json_cert_pem(&c, pem);
			free(pem);
			return sc_json_print(j);
		} else {
			j = ra_json_cert(&c);
			printf("serial      %s\nendpoint    %s\naccount     %s\n"
			    "subject     %s\nnot before  %s\nnot after   %s\n"
			    "status      %s%s%s\n%s",
			    c.serial, c.endpoint, c.account, c.subject,
			    json_string_value(json_object_get(j, "not_before")),
			    json_string_value(json_object_get(j, "not_after")),
			    ra_cert_status_name(c.status),
			    c.status == RA_CERT_REVOKED ? ", " : "",
			    c.status == RA_CERT_REVOKED ?
			    ra_crl_reason_name(c.reason) : "", pem);
			json_decref(j);
		}
		free(pem);
		return SC_OK;
	}
	if (argc == 5 && strcmp(argv[1], "revoke") == 0) {
		if ((v = sc_opt_value(argc, argv, "--reason")) == NULL ||
		    !ra_crl_reason_parse(v, &reason)) {
			fprintf(stderr, "scepctl: --reason: unspecified, "
			    "keyCompromise, cACompromise, affiliationChanged, "
			    "superseded, cessationOfOperation, "
			    "certificateHold, privilegeWithdrawn\n");
			return SC_USAGE;
		}
		if (ra_cert_revoke(ctx->ra, argv[2], reason, &err) != SG_OK)
			return sc_fail(&err);
		printf("certificate %s revoked (%s); the CRL is updated\n",
		    argv[2], v);
		return SC_OK;
	}
	return sc_usage("cert");
}
