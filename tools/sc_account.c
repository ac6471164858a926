/* scepctl account: add, edit, delete, list, show, rotate-code,
 * disable, enable. Accounts are addressed as --endpoint E --name N. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ra_json.h"
#include "scepctl.h"

struct acct_args {
	struct ra_account	 a;
	const char		*code;
	bool			 have_term;
	bool			 have_profile;
	bool			 have_org;
	int			 manual;	/* -1 unset */
	bool			 json;
};

static int
parse(int argc, char *argv[], struct acct_args *aa)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "org", required_argument, NULL, 'o' },
		{ "dept", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "term", required_argument, NULL, 't' },
		{ "access-code", required_argument, NULL, 'c' },
		{ "approval", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	long	v;
	int	c;

	aa->manual = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (!sc_arg_copy(aa->a.endpoint, sizeof(aa->a.endpoint),
			    "--endpoint", optarg))
				return SC_USAGE;
			break;
		case 'n':
			if (!sc_arg_copy(aa->a.name, sizeof(aa->a.name),
			    "--name", optarg))
				return SC_USAGE;
			break;
		case 'o':
			if (!sc_arg_copy(aa->a.org, sizeof(aa->a.org),
			    "--org", optarg))
				return SC_USAGE;
			aa->have_org = true;
			break;
		case 'd':
			if (!sc_arg_copy(aa->a.dept, sizeof(aa->a.dept),
			    "--dept", optarg))
				return SC_USAGE;
			aa->have_org = true;
			break;
		case 'p':
			if (!sc_arg_copy(aa->a.profile, sizeof(aa->a.profile),
			    "--profile", optarg))
				return SC_USAGE;
			aa->have_profile = true;
			break;
		case 't':
			if (!sg_parse_long(optarg, 1, 3650, &v)) {
				fprintf(stderr, "scepctl: --term: 1 to 3650 "
				    "days\n");
				return SC_USAGE;
			}
			aa->a.term_days = (int)v;
			aa->have_term = true;
			break;
		case 'c':
			aa->code = optarg;
			break;
		case 'A':
			if (strcmp(optarg, "manual") != 0 &&
			    strcmp(optarg, "auto") != 0) {
				fprintf(stderr, "scepctl: --approval: auto or "
				    "manual\n");
				return SC_USAGE;
			}
			aa->manual = strcmp(optarg, "manual") == 0;
			break;
		case 'j':
			aa->json = true;
			break;
		default:
			return SC_USAGE;
		}
	}
	if (optind != argc || aa->a.endpoint[0] == '\0') {
		fprintf(stderr, "scepctl: accounts are addressed as --endpoint "
		    "NAME --name N\n");
		return SC_USAGE;
	}
	return SC_OK;
}

static int
acct_list(struct sc_ctx *ctx, const struct acct_args *aa)
{
	struct ra_account	*a = NULL;
	struct sg_err		 err;
	json_t			*arr;
	size_t			 n = 0, i;

	if (ra_account_list(ctx->ra, aa->a.endpoint, &a, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (aa->json) {
		arr = ra_json_array(RA_JSON_ACCOUNT, a, n);
		free(a);
		return sc_json_print(arr);
	}
	printf("%-20s  %-20s  %-16s  %-12s  %5s  %-8s  %s\n", "NAME",
	    "ORGANIZATION", "DEPARTMENT", "PROFILE", "TERM", "APPROVAL",
	    "STATE");
	for (i = 0; i < n; i++)
		printf("%-20s  %-20s  %-16s  %-12s  %5d  %-8s  %s\n", a[i].name,
		    a[i].org, a[i].dept[0] ? a[i].dept : "-",
		    a[i].profile[0] ? a[i].profile : "-", a[i].term_days,
		    a[i].manual ? "manual" : "auto",
		    a[i].disabled ? "disabled" : "enabled");
	free(a);
	return SC_OK;
}

static int
acct_show(struct sc_ctx *ctx, const struct acct_args *aa)
{
	struct ra_account	 a;
	struct sg_err		 err;
	json_t			*v, *val;
	const char		*key;

	if (ra_account_get(ctx->ra, aa->a.endpoint, aa->a.name, &a, &err) !=
	    SG_OK)
		return sc_fail(&err);
	if ((v = ra_json_account(&a)) == NULL)
		return SC_FAIL;
	if (aa->json)
		return sc_json_print(v);
	json_object_foreach(v, key, val) {
		if (json_is_string(val))
			printf("%-12s %s\n", key, json_string_value(val));
		else
			printf("%-12s %lld\n", key,
			    (long long)json_integer_value(val));
	}
	printf("%-12s (stored as an HMAC; 'account rotate-code' issues a "
	    "new one)\n", "access code");
	json_decref(v);
	return SC_OK;
}

/*
 * A refused admin-chosen code: say which characters are allowed (the
 * PrintableString set, ra_policy_code_ok). XXX ra_account_add's own
 * message still reads "letters and digits"; once it lists the set, this
 * override can go. The code itself is never echoed.
 */
static int
code_fail(const struct acct_args *aa, const struct sg_err *err)
{
	if (aa->code == NULL || err->rc != SG_EPOLICY ||
	    strncmp(err->msg, "access code:", 12) != 0)
		return sc_fail(err);
	fprintf(stderr, "scepctl: access code: use 8 to %d characters from "
	    "A-Z a-z 0-9 space ' ( ) + , - . / : = ? (the PrintableString "
	    "set, which Windows needs)\n", RA_CODE_MAX);
	return SC_FAIL;
}

static int
acct_add(struct sc_ctx *ctx, struct acct_args *aa)
{
	struct sg_err	err;
	char		code[RA_CODE_MAX + 1];

	if (aa->a.name[0] == '\0' || aa->a.org[0] == '\0' || !aa->have_term) {
		fprintf(stderr, "scepctl: account add needs --name, --org and "
		    "--term\n");
		return sc_usage("account");
	}
	aa->a.manual = aa->manual == 1;
	if (ra_account_add(ctx->ra, &aa->a, aa->code, code, &err) != SG_OK)
		return code_fail(aa, &err);
	printf("account '%s' added to endpoint '%s'\n"
	    "access code: %s\n"
	    "(shown once; only its HMAC is stored)\n",
	    aa->a.name, aa->a.endpoint, code);
	OPENSSL_cleanse(code, sizeof(code));
	return SC_OK;
}

static int
acct_edit(struct sc_ctx *ctx, const struct acct_args *aa, int disabled)
{
	struct ra_account_edit	ed;
	struct sg_err		err;

	if (aa->have_org) {
		fprintf(stderr, "scepctl: organization and department are "
		    "fixed once an account exists; create a new account "
		    "instead\n");
		return SC_FAIL;
	}
	if (aa->code != NULL) {
		fprintf(stderr, "scepctl: use 'account rotate-code' for a new "
		    "access code\n");
		return SC_USAGE;
	}
	ed.profile = aa->have_profile ? aa->a.profile : NULL;
	ed.term_days = aa->have_term ? aa->a.term_days : 0;
	ed.disabled = disabled;
	ed.manual = aa->manual;
	if (ra_account_edit(ctx->ra, aa->a.endpoint, aa->a.name, &ed, &err) !=
	    SG_OK)
		return sc_fail(&err);
	printf("account '%s' updated\n", aa->a.name);
	return SC_OK;
}

int
sc_account(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct acct_args	 aa;
	struct sg_err		 err;
	char			 code[RA_CODE_MAX + 1];
	const char		*verb;

	memset(&aa, 0, sizeof(aa));
	if (argc < 2 || parse(argc - 1, argv + 1, &aa) != SC_OK)
		return sc_usage("account");
	verb = argv[1];
	if (strcmp(verb, "add") == 0)
		return acct_add(ctx, &aa);
	if (strcmp(verb, "list") == 0)
		return acct_list(ctx, &aa);
	if (aa.a.name[0] == '\0') {
		fprintf(stderr, "scepctl: account %s needs --name\n", verb);
		return sc_usage("account");
	}
	if (strcmp(verb, "show") == 0)
		return acct_show(ctx, &aa);
	if (strcmp(verb, "edit") == 0)
		return acct_edit(ctx, &aa, -1);
	if (strcmp(verb, "disable") == 0)
		return acct_edit(ctx, &aa, 1);
	if (strcmp(verb, "enable") == 0)
		return acct_edit(ctx, &aa, 0);
	if (strcmp(verb, "rotate-code") == 0) {
		if (ra_account_rotate_code(ctx->ra, aa.a.endpoint, aa.a.name,
		    code, &err) != SG_OK)
			return sc_fail(&err);
		printf("account '%s': new access code\n"
		    "access code: %s\n(shown once; the old code no longer "
		    "works)\n", aa.a.name, code);
		OPENSSL_cleanse(code, sizeof(code));
		return SC_OK;
	}
	if (strcmp(verb, "delete") == 0) {
		if (ra_account_delete(ctx->ra, aa.a.endpoint, aa.a.name,
		    &err) != SG_OK)
			return sc_fail(&err);
		printf("account '%s' deleted\n", aa.a.name);
		return SC_OK;
	}
	return sc_usage("account");
}
