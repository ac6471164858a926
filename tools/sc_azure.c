/*
 * scepctl azure: the Azure (Entra ID) accounts of the configuration,
 * and a live check of one (docs/intune.md). Only the configuration is
 * needed, not the database.
 */
#include <stdlib.h>
#include <string.h>

#include "ra_intune.h"
#include "scepctl.h"

static json_t *
azure_json(const struct conf_azure *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "name", a->name, "tenant", a->tenant, "client_id", a->client_id,
	    "client_secret_file", a->client_secret_file, "authority_url",
	    a->authority_url, "graph_url", a->graph_url, "intune_url",
	    a->intune_url, "intune_scope", a->intune_scope, "revocation",
	    a->revocation);
}

static int
azure_list(const struct conf *conf, bool json)
{
	json_t	*arr;
	size_t	 i;

	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < conf->nazure; i++)
			json_array_append_new(arr, azure_json(&conf->azure[i]));
		return sc_json_print(arr);
	}
	printf("%-16s  %-32s  %-36s  %s\n", "NAME", "TENANT", "CLIENT ID",
	    "REVOCATION");
	for (i = 0; i < conf->nazure; i++)
		printf("%-16s  %-32s  %-36s  %s\n", conf->azure[i].name,
		    conf->azure[i].tenant, conf->azure[i].client_id,
		    conf->azure[i].revocation ? "on" : "off");
	return SC_OK;
}

/* Both tokens and discovery, now; the exact failure otherwise. */
static int
azure_test(const struct conf *conf, const char *name, bool json)
{
	const struct conf_azure	*a = conf_azure_find(conf, name);
	struct ra_intune	*in = NULL;
	struct ra_intune_report	 r;
	struct sg_err		 err;
	enum sg_rc		 rc;
	json_t			*v;

	if (a == NULL) {
		fprintf(stderr, "scepctl: no azure account '%s' in %s (see "
		    "scepctl azure list)\n", name, conf->path);
		return SC_FAIL;
	}
	sg_err_clear(&err);
	if ((rc = ra_intune_open(a, &in, &err)) == SG_OK)
		rc = ra_intune_test(in, &r, &err);
	ra_intune_free(in);
	if (json) {
		if (rc == SG_OK)
			v = json_pack("{s:s, s:b, s:s, s:s}", "name", name,
			    "ok", 1, "scep_service", r.scep_uri,
			    "revocation_service", r.pki_uri);
		else
			v = json_pack("{s:s, s:b, s:s}", "name", name, "ok", 0,
			    "error", err.msg);
		return sc_json_print(v) == SC_OK && rc == SG_OK ? SC_OK :
		    SC_FAIL;
	}
	if (rc != SG_OK)
		return sc_fail(&err);
	printf("azure %s: tokens for Graph and Intune: ok\n"
	    "SCEP validation service: %s\nrevocation service: %s\n", name,
	    r.scep_uri, r.pki_uri[0] != '\0' ? r.pki_uri : "(none listed)");
	return SC_OK;
}

int
sc_azure(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct conf	*conf = ctx->conf, *own = NULL;
	struct sg_err	 err;
	bool		 json = sc_has_flag(argc, argv, "--json");
	int		 ret;
	static const char *const flags[] = { "--json", NULL };

	if (!sc_args_ok(argc, argv, 2, NULL, flags, 1) || argc < 2)
		return sc_usage("azure");
	if (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "test") != 0)
		return sc_usage("azure");
	if (strcmp(argv[1], "test") == 0 && (argc < 3 ||
	    strncmp(argv[2], "--", 2) == 0))
		return sc_usage("azure");
	if (conf == NULL) {
		if (ctx->config == NULL) {
			fprintf(stderr, "scepctl: no configuration: give "
			    "--config FILE or set SCEPGATE_CONFIG\n");
			return SC_USAGE;
		}
		if ((conf = own = calloc(1, sizeof(*conf))) == NULL)
			return SC_FAIL;
		if (conf_load(ctx->config, conf, &err) != SG_OK) {
			free(own);
			return sc_fail(&err);
		}
	}
	if (strcmp(argv[1], "list") == 0)
		ret = azure_list(conf, json);
	else
		ret = azure_test(conf, argv[2], json);
	free(own);
	return ret;
}
