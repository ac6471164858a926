/* scepctl endpoint: add, edit, delete, list, show, delegate. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ra_json.h"
#include "scepctl.h"

/* The name policy options (docs/names.md). */
static int
name_option(int c, const char *arg, struct ra_endpoint *ep)
{
	switch (c) {
	case 'S':
		if (ra_json_bits_parse(RA_BITS_SAN, arg, &ep->san_types))
			return SC_OK;
		fprintf(stderr, "scepctl: --san-types: a list of dns, ip, "
		    "email, uri, upn; or none\n");
		return SC_USAGE;
	case 'P':
		return sc_arg_copy(ep->name_pattern, sizeof(ep->name_pattern),
		    "--name-pattern", arg) ? SC_OK : SC_USAGE;
	case 'O':
		if (strcmp(arg, "account") != 0 && strcmp(arg, "csr") != 0) {
			fprintf(stderr, "scepctl: --subject-org: account or "
			    "csr\n");
			return SC_USAGE;
		}
		ep->subject_from_csr = strcmp(arg, "csr") == 0;
		return SC_OK;
	}
	if (strcmp(arg, "same") != 0 && strcmp(arg, "any") != 0) {
		fprintf(stderr, "scepctl: --renewal-names: same or any\n");
		return SC_USAGE;
	}
	ep->renewal_any_names = strcmp(arg, "any") == 0;
	return SC_OK;
}

/* The webhook options (docs/webhooks.md); "" clears a URL or path. */
static int
webhook_option(int c, const char *arg, struct ra_endpoint *ep)
{
	long	v;

	switch (c) {
	case 'W':
		return sc_arg_copy(ep->challenge_webhook,
		    sizeof(ep->challenge_webhook), "--challenge-webhook", arg) ?
		    SC_OK : SC_USAGE;
	case 'N':
		return sc_arg_copy(ep->notify_webhook,
		    sizeof(ep->notify_webhook), "--notify-webhook", arg) ?
		    SC_OK : SC_USAGE;
	case 'F':
		return sc_arg_copy(ep->webhook_secret_file,
		    sizeof(ep->webhook_secret_file), "--webhook-secret-file",
		    arg) ? SC_OK : SC_USAGE;
	}
	if (!sg_parse_long(arg, 1, 60, &v)) {
		fprintf(stderr, "scepctl: --webhook-timeout: 1 to 60 "
		    "seconds\n");
		return SC_USAGE;
	}
	ep->webhook_timeout = (int)v;
	return SC_OK;
}

/* Options shared by add and edit; "add" also takes --type. */
static int
ep_options(int argc, char *argv[], struct ra_endpoint *ep, bool add,
    bool *have_type)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "uri", required_argument, NULL, 'u' },
		{ "ra", required_argument, NULL, 'r' },
		{ "ra-enc", required_argument, NULL, 'E' },
		{ "cacert-format", required_argument, NULL, 'c' },
		{ "getcert-format", required_argument, NULL, 'g' },
		{ "renewal-days", required_argument, NULL, 'w' },
		{ "min-rsa", required_argument, NULL, 'm' },
		{ "key-types", required_argument, NULL, 'k' },
		{ "challenge-types", required_argument, NULL, 'C' },
		{ "org", required_argument, NULL, 'o' },
		{ "dept", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "term", required_argument, NULL, 'T' },
		{ "azure", required_argument, NULL, 'a' },
		{ "san-types", required_argument, NULL, 'S' },
		{ "name-pattern", required_argument, NULL, 'P' },
		{ "subject-org", required_argument, NULL, 'O' },
		{ "renewal-names", required_argument, NULL, 'R' },
		{ "challenge-webhook", required_argument, NULL, 'W' },
		{ "webhook-secret-file", required_argument, NULL, 'F' },
		{ "webhook-timeout", required_argument, NULL, 'X' },
		{ "notify-webhook", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	long	v;
	int	c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!add || !ra_ep_type_parse(optarg, &ep->type)) {
				fprintf(stderr, "scepctl: --type: device, "
				    "client, device-intune or client-intune "
				    "(fixed once created)\n");
				return SC_USAGE;
			}
			*have_type = true;
			break;
		case 'u':
			if (!sc_arg_copy(ep->uri, sizeof(ep->uri),
			    "--uri", optarg))
				return SC_USAGE;
			break;
		case 'r':
			if (!sc_arg_copy(ep->ra_id, sizeof(ep->ra_id),
			    "--ra", optarg))
				return SC_USAGE;
			break;
		case 'E':
			if (!sc_arg_copy(ep->ra_enc_id, sizeof(ep->ra_enc_id),
			    "--ra-enc", optarg))
				return SC_USAGE;
			break;
		case 'c':
			if (!ra_cacert_fmt_parse(optarg, &ep->cacert_fmt)) {
				fprintf(stderr, "scepctl: --cacert-format: "
				    "pem, der or cms-chain\n");
				return SC_USAGE;
			}
			break;
		case 'g':
			if (!ra_getcert_fmt_parse(optarg, &ep->getcert_fmt)) {
				fprintf(stderr, "scepctl: --getcert-format: "
				    "single or full-chain\n");
				return SC_USAGE;
			}
			break;
		case 'w':
			if (!sg_parse_long(optarg, 0, 3650, &v))
				return SC_USAGE;
			ep->renewal_days = (int)v;
			break;
		case 'm':
			if (!sg_parse_long(optarg, 1024, 16384, &v))
				return SC_USAGE;
			ep->min_rsa_bits = (int)v;
			break;
		case 'k':
			if (!ra_json_bits_parse(RA_BITS_KEY, optarg,
			    &ep->key_types)) {
				fprintf(stderr, "scepctl: --key-types: a "
				    "list of rsa, ec\n");
				return SC_USAGE;
			}
			break;
		case 'C':
			if (!ra_json_bits_parse(RA_BITS_CHALLENGE,
			    optarg, &ep->challenge_types)) {
				fprintf(stderr, "scepctl: --challenge-types: "
				    "a list of printable, utf8, bmp, other\n");
				return SC_USAGE;
			}
			break;
		case 'o':
			if (!sc_arg_copy(ep->org, sizeof(ep->org),
			    "--org", optarg))
				return SC_USAGE;
			break;
		case 'd':
			if (!sc_arg_copy(ep->dept, sizeof(ep->dept),
			    "--dept", optarg))
				return SC_USAGE;
			break;
		case 'p':
			if (!sc_arg_copy(ep->profile, sizeof(ep->profile),
			    "--profile", optarg))
				return SC_USAGE;
			break;
		case 'T':
			if (!sg_parse_long(optarg, 1, 3650, &v))
				return SC_USAGE;
			ep->term_days = (int)v;
			break;
		case 'a':
			if (!sc_arg_copy(ep->azure, sizeof(ep->azure),
			    "--azure", optarg))
				return SC_USAGE;
			break;
		case 'S':
		case 'P':
		case 'O':
		case 'R':
			if (name_option(c, optarg, ep) != SC_OK)
				return SC_USAGE;
			break;
		case 'W':
		case 'F':
		case 'X':
		case 'N':
			if (webhook_option(c, optarg, ep) != SC_OK)
				return SC_USAGE;
			break;
		default:
			return SC_USAGE;
		}
	}
	if (optind + 1 != argc)
		return SC_USAGE;
	if (!sc_arg_copy(ep->name, sizeof(ep->name), "endpoint name",
	    argv[optind]))
		return SC_USAGE;
	return SC_OK;
}

/*
 * The pem GetCACert format (SCM's "Single PEM") sends PEM text where RFC
 * 8894 4.2.1.1 has binary DER (scep-interop.md 3.1): said on stderr, so
 * that --json output on stdout stays clean.
 */
static const char pem_caveat[] =
    "pem sends the RA certificate as PEM text under "
    "application/x-x509-ca-cert, whose body RFC 8894 defines as binary "
    "DER: micromdm's scepclient fails with \"x509: malformed "
    "certificate\" and other DER-only clients fail too; strongSwan pki "
    "reads it. Use it only for clients that read PEM or are configured "
    "with the RA certificate out of band; der or cms-chain suit every "
    "client (docs/clients.md)";

static void
pem_warn(void)
{
	fprintf(stderr, "scepctl: warning: --cacert-format %s\n", pem_caveat);
}

static int
ep_add(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_endpoint	 ep;
	struct sg_err		 err;
	char			 url[512];
	bool			 have_type = false;
	bool			 intune;

	memset(&ep, 0, sizeof(ep));
	ep.renewal_days = 30;
	if (ep_options(argc, argv, &ep, true, &have_type) != SC_OK ||
	    !have_type || ep.uri[0] == '\0') {
		fprintf(stderr, "scepctl: endpoint add needs NAME, --type and "
		    "--uri\n");
		return sc_usage("endpoint");
	}
	intune = ep.type == RA_EP_DEVICE_INTUNE ||
	    ep.type == RA_EP_CLIENT_INTUNE;
	if (intune && (ep.org[0] == '\0' || ep.term_days == 0)) {
		fprintf(stderr, "scepctl: Intune endpoints need --org and "
		    "--term (and --profile, --azure)\n");
		return SC_USAGE;
	}
	if (!intune && (ep.org[0] || ep.dept[0] || ep.profile[0] ||
	    ep.term_days || ep.azure[0])) {
		fprintf(stderr, "scepctl: --org, --dept, --profile, --term and "
		    "--azure are for Intune endpoints; plain SCEP endpoints "
		    "take them per account\n");
		return SC_USAGE;
	}
	if (ep.azure[0] && conf_azure_find(ctx->conf, ep.azure) == NULL) {
		fprintf(stderr, "scepctl: no azure account '%s' (see scepctl "
		    "azure list)\n", ep.azure);
		return SC_FAIL;
	}
	if (ra_endpoint_add(ctx->ra, &ep, &err) != SG_OK)
		return sc_fail(&err);
	ra_endpoint_url(ctx->ra, &ep, url, sizeof(url));
	printf("endpoint '%s' added\nSCEP URL: %s\n", ep.name, url);
	if (ep.cacert_fmt == RA_CACERT_PEM)
		pem_warn();
	return SC_OK;
}

static int
ep_edit(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_endpoint	 ep;
	struct sg_err		 err;
	char			 name[RA_NAME_MAX];
	bool			 have_type = false, intune_opts, pem;

	/* A first pass finds the name; then options change the stored one. */
	memset(&ep, 0, sizeof(ep));
	if (ep_options(argc, argv, &ep, false, &have_type) != SC_OK)
		return sc_usage("endpoint");
	pem = ep.cacert_fmt == RA_CACERT_PEM;	/* 0 is cms-chain */
	/* Intune settings were given if the first pass saw any. */
	intune_opts = ep.org[0] || ep.dept[0] || ep.profile[0] ||
	    ep.term_days || ep.azure[0];
	snprintf(name, sizeof(name), "%s", ep.name);
	if (ra_endpoint_get(ctx->ra, name, &ep, &err) != SG_OK)
		return sc_fail(&err);
	if (intune_opts && ep.type != RA_EP_DEVICE_INTUNE &&
	    ep.type != RA_EP_CLIENT_INTUNE) {
		fprintf(stderr, "scepctl: --org, --dept, --profile, --term and "
		    "--azure are for Intune endpoints; plain SCEP endpoints "
		    "take them per account\n");
		return SC_USAGE;
	}
	if (ep_options(argc, argv, &ep, false, &have_type) != SC_OK)
		return sc_usage("endpoint");
	if (ep.azure[0] && conf_azure_find(ctx->conf, ep.azure) == NULL) {
		fprintf(stderr, "scepctl: no azure account '%s' (see scepctl "
		    "azure list)\n", ep.azure);
		return SC_FAIL;
	}
	if (ra_endpoint_update(ctx->ra, &ep, &err) != SG_OK)
		return sc_fail(&err);
	printf("endpoint '%s' updated\n", ep.name);
	if (pem)
		pem_warn();
	return SC_OK;
}

static int
ep_delegate(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_deleg	*d = NULL;
	struct sg_err	 err;
	const char	*name = NULL;
	char		*slash;
	size_t		 n = 0;
	bool		 general = false;
	int		 i, ret = SC_USAGE;

	if ((d = calloc((size_t)argc, sizeof(*d))) == NULL)
		return SC_FAIL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--general") == 0)
			general = true;
		else if (strcmp(argv[i], "--org") == 0 && i + 1 < argc) {
			if (!sc_arg_copy(d[n].org, sizeof(d[n].org), "--org",
			    argv[++i]))
				goto out;
			if ((slash = strchr(d[n].org, '/')) != NULL) {
				*slash = '\0';
				snprintf(d[n].dept, sizeof(d[n].dept), "%s",
				    slash + 1);
			}
			n++;
		} else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			goto out;
	}
	if (name == NULL || general == (n > 0))
		goto out;
	if (ra_endpoint_delegate(ctx->ra, name, general, d, n, &err) != SG_OK) {
		ret = sc_fail(&err);
		goto out;
	}
	printf("endpoint '%s': %s delegation\n", name, general ? "general" :
	    "customized");
	ret = SC_OK;
out:
	free(d);
	return ret == SC_USAGE ? sc_usage("endpoint") : ret;
}

static int
ep_list(struct sc_ctx *ctx, bool json)
{
	struct ra_endpoint	*eps = NULL;
	struct sg_err		 err;
	char			 url[512];
	json_t			*arr;
	size_t			 n = 0, i;

	if (ra_endpoint_list(ctx->ra, &eps, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (json) {
		arr = ra_endpoint_json_list(ctx->ra, eps, n);
		free(eps);
		return sc_json_print(arr);
	}
	printf("%-16s  %-14s  %-10s  %-10s  %-10s  %s\n", "NAME", "TYPE",
	    "DELEGATION", "CACERT", "GETCERT", "URL");
	for (i = 0; i < n; i++) {
		ra_endpoint_url(ctx->ra, &eps[i], url, sizeof(url));
		printf("%-16s  %-14s  %-10s  %-10s  %-10s  %s\n", eps[i].name,
		    ra_ep_type_name(eps[i].type),
		    eps[i].delegated ? "customized" : "general",
		    ra_cacert_fmt_name(eps[i].cacert_fmt),
		    ra_getcert_fmt_name(eps[i].getcert_fmt), url);
	}
	free(eps);
	return SC_OK;
}

static int
ep_show(struct sc_ctx *ctx, const char *name, bool json)
{
	struct ra_endpoint	 ep;
	struct sg_err		 err;
	json_t			*v, *val;
	const char		*key;

	if (ra_endpoint_get(ctx->ra, name, &ep, &err) != SG_OK)
		return sc_fail(&err);
	if ((v = ra_endpoint_json(ctx->ra, &ep)) == NULL)
		return SC_FAIL;
	if (json)
		return sc_json_print(v);
	/* The same fields as --json, one per line. */
	json_object_foreach(v, key, val) {
		char *text = json_is_string(val) ?
		    strdup(json_string_value(val)) :
		    json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%-16s %s\n", key, text != NULL ? text : "?");
		free(text);
	}
	if (ep.cacert_fmt == RA_CACERT_PEM)
		printf("%-16s %s\n", "note", pem_caveat);
	json_decref(v);
	return SC_OK;
}

int
sc_endpoint(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct sg_err	err;
	bool		json = sc_has_flag(argc, argv, "--json");
	bool		force = sc_has_flag(argc, argv, "--force");

	if (argc < 2)
		return sc_usage("endpoint");
	if (strcmp(argv[1], "add") == 0)
		return ep_add(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "edit") == 0)
		return ep_edit(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "delegate") == 0)
		return ep_delegate(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0 && argc == 2 + (int)json)
		return ep_list(ctx, json);
	if (strcmp(argv[1], "show") == 0 && argc == 3 + (int)json)
		return ep_show(ctx, strcmp(argv[2], "--json") ? argv[2] :
		    argv[3], json);
	if (strcmp(argv[1], "delete") == 0 && argc == 3 + (int)force) {
		const char *name = strcmp(argv[2], "--force") ? argv[2] :
		    argv[3];

		if (ra_endpoint_delete(ctx->ra, name, force, &err) != SG_OK)
			return sc_fail(&err);
		printf("endpoint '%s' deleted\n", name);
		return SC_OK;
	}
	return sc_usage("endpoint");
}
