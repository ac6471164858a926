/* scepctl endpoint: add, edit, delete, list, show, delegate. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "scepctl.h"

/* "rsa,ec" and "printable,utf8,bmp,other" into bit sets. */
static bool
parse_bits(const char *s, const char *const *names, const int *bits,
    int *out)
{
	char	 buf[128], *p, *comma;
	size_t	 i;
	int	 v = 0;
	bool	 found;

	snprintf(buf, sizeof(buf), "%s", s);
	for (p = buf; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		found = false;
		for (i = 0; names[i] != NULL; i++) {
			if (strcmp(p, names[i]) == 0) {
				v |= bits[i];
				found = true;
			}
		}
		if (!found)
			return false;
	}
	*out = v;
	return v != 0;
}

static const char *const key_names[] = { "rsa", "ec", NULL };
static const int key_bits[] = { RA_KEY_RSA, RA_KEY_EC };
static const char *const chal_names[] = { "printable", "utf8", "bmp",
    "other", NULL };
static const int chal_bits[] = { RA_CHAL_PRINTABLE, RA_CHAL_UTF8,
    RA_CHAL_BMP, RA_CHAL_OTHER };

static const char *const san_names[] = { "dns", "ip", "email", "uri", "upn",
    "none", NULL };
static const int san_bits[] = { RA_SAN_DNS, RA_SAN_IP, RA_SAN_EMAIL,
    RA_SAN_URI, RA_SAN_UPN, RA_SAN_NONE };

static void
bits_text(int v, const char *const *names, const int *bits, char *out,
    size_t outsz)
{
	size_t	i, off = 0;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && off < outsz; i++)
		if (v & bits[i])
			off += (size_t)snprintf(out + off, outsz - off, "%s%s",
			    off ? "," : "", names[i]);
}

static json_t *
ep_json(struct ra *ra, const struct ra_endpoint *ep)
{
	struct ra_deleg	*d = NULL;
	struct sg_err	 err;
	char		 url[512], created[32], keys[32], chal[64], san[64];
	json_t		*v, *dl;
	size_t		 n = 0, i;

	ra_endpoint_url(ra, ep, url, sizeof(url));
	sc_time(ep->created, created, sizeof(created));
	bits_text(ep->key_types, key_names, key_bits, keys, sizeof(keys));
	bits_text(ep->challenge_types, chal_names, chal_bits, chal,
	    sizeof(chal));
	bits_text(ep->san_types, san_names, san_bits, san, sizeof(san));
	v = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, "
	    "s:i, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)ep->id, "name", ep->name, "uri", ep->uri,
	    "url", url, "type", ra_ep_type_name(ep->type), "ra", ep->ra_id,
	    "ra_enc", ep->ra_enc_id[0] ? ep->ra_enc_id : ep->ra_id,
	    "cacert_format", ra_cacert_fmt_name(ep->cacert_fmt),
	    "getcert_format", ra_getcert_fmt_name(ep->getcert_fmt),
	    "renewal_days", ep->renewal_days, "min_rsa_bits", ep->min_rsa_bits,
	    "key_types", keys, "challenge_types", chal,
	    "delegation", ep->delegated ? "customized" : "general",
	    "created", created);
	if (v != NULL)
		json_object_update_new(v, json_pack("{s:s, s:s, s:s, s:s}",
		    "san_types", san, "name_pattern", ep->name_pattern,
		    "subject_org", ep->subject_from_csr ? "csr" : "account",
		    "renewal_names", ep->renewal_any_names ? "any" : "same"));
	if (v != NULL)	/* docs/webhooks.md; the secret is only a path */
		json_object_update_new(v, json_pack("{s:s, s:s, s:i, s:s}",
		    "challenge_webhook", ep->challenge_webhook,
		    "webhook_secret_file", ep->webhook_secret_file,
		    "webhook_timeout", ep->webhook_timeout > 0 ?
		    ep->webhook_timeout : RA_WEBHOOK_TIMEOUT,
		    "notify_webhook", ep->notify_webhook));
	if (v != NULL && (ep->type == RA_EP_DEVICE_INTUNE ||
	    ep->type == RA_EP_CLIENT_INTUNE))
		json_object_set_new(v, "intune", json_pack("{s:s, s:s, s:s, "
		    "s:i, s:s}", "org", ep->org, "dept", ep->dept, "profile",
		    ep->profile, "term_days", ep->term_days, "azure_account",
		    ep->azure));
	if (v != NULL && ep->delegated && ra_endpoint_delegations(ra,
	    ep->name, &d, &n, &err) == SG_OK) {
		dl = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(dl, json_pack("{s:s, s:s}", "org",
			    d[i].org, "dept", d[i].dept));
		json_object_set_new(v, "delegated_to", dl);
		free(d);
	}
	return v;
}

/* The name policy options (docs/names.md). */
static int
name_option(int c, const char *arg, struct ra_endpoint *ep)
{
	switch (c) {
	case 'S':
		if (parse_bits(arg, san_names, san_bits, &ep->san_types))
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
			if (!parse_bits(optarg, key_names, key_bits,
			    &ep->key_types)) {
				fprintf(stderr, "scepctl: --key-types: a "
				    "list of rsa, ec\n");
				return SC_USAGE;
			}
			break;
		case 'C':
			if (!parse_bits(optarg, chal_names, chal_bits,
			    &ep->challenge_types)) {
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
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, ep_json(ctx->ra, &eps[i]));
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
	if ((v = ep_json(ctx->ra, &ep)) == NULL)
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
