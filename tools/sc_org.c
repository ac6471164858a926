/* scepctl org and dept; org sync shares its report with profile sync. */
#include <stdlib.h>
#include <string.h>

#include "ra_json.h"
#include "scepctl.h"

static int
print_list(const struct ra_org *o, size_t n, bool depts, bool json)
{
	char	 scm[24];
	size_t	 i;

	if (json)
		return sc_json_print(ra_json_array(depts ? RA_JSON_DEPT :
		    RA_JSON_ORG, o, n));
	if (depts)
		printf("%-6s  %-8s  %-30s  %s\n", "ID", "SCM ID",
		    "ORGANIZATION", "DEPARTMENT");
	else
		printf("%-6s  %-8s  %s\n", "ID", "SCM ID", "ORGANIZATION");
	for (i = 0; i < n; i++) {
		/* "-": not synced from the upstream (scepctl org sync). */
		snprintf(scm, sizeof(scm), "%lld", (long long)o[i].scm_id);
		if (depts)
			printf("%-6lld  %-8s  %-30s  %s\n", (long long)o[i].id,
			    o[i].scm_id > 0 ? scm : "-", o[i].org, o[i].name);
		else
			printf("%-6lld  %-8s  %s\n", (long long)o[i].id,
			    o[i].scm_id > 0 ? scm : "-", o[i].name);
	}
	return SC_OK;
}

int
sc_org(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_org		*o = NULL;
	struct ra_sync_item	*v = NULL;
	struct sg_err		 err;
	size_t			 n = 0;
	int			 ret;

	if (argc == 3 && strcmp(argv[1], "add") == 0) {
		if (ra_org_add(ctx->ra, argv[2], &err) != SG_OK)
			return sc_fail(&err);
		printf("organization '%s' added\n", argv[2]);
		return SC_OK;
	}
	if (argc == 2 && strcmp(argv[1], "sync") == 0) {
		if (ra_catalog_sync(ctx->ra, false, &v, &n, &err) != SG_OK)
			return sc_fail(&err);
		sc_sync_print(v, n, "org");
		free(v);
		return SC_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0 &&
	    argc == 2 + (int)sc_has_flag(argc, argv, "--json")) {
		if (ra_org_list(ctx->ra, &o, &n, &err) != SG_OK)
			return sc_fail(&err);
		ret = print_list(o, n, false, sc_has_flag(argc, argv,
		    "--json"));
		free(o);
		return ret;
	}
	return sc_usage("org");
}

int
sc_dept(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_org	*o = NULL;
	struct sg_err	 err;
	const char	*org = NULL;
	size_t		 n = 0;
	bool		 json = sc_has_flag(argc, argv, "--json");
	int		 ret;

	if (argc == 4 && strcmp(argv[1], "add") == 0) {
		if (ra_dept_add(ctx->ra, argv[2], argv[3], &err) != SG_OK)
			return sc_fail(&err);
		printf("department '%s' added to '%s'\n", argv[3], argv[2]);
		return SC_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (argc - (int)json == 3)
			org = strcmp(argv[2], "--json") == 0 ? argv[3] :
			    argv[2];
		else if (argc - (int)json != 2)
			return sc_usage("dept");
		if (ra_dept_list(ctx->ra, org, &o, &n, &err) != SG_OK)
			return sc_fail(&err);
		ret = print_list(o, n, true, json);
		free(o);
		return ret;
	}
	return sc_usage("dept");
}
