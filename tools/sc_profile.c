/*
 * scepctl profile: sync and list the upstream's certificate profiles;
 * also the report of a catalogue sync, shared with "org sync".
 */
#include <stdlib.h>
#include <string.h>

#include "ra_json.h"
#include "scepctl.h"

void
sc_sync_print(const struct ra_sync_item *v, size_t n, const char *what)
{
	char	summary[128];
	size_t	i;

	/* Unchanged entries only count; everything else gets a line. */
	for (i = 0; i < n; i++) {
		if (v[i].action == RA_SYNC_UNCHANGED)
			continue;
		printf("%s '%s'%s%s%s %s (SCM id %lld)%s%s\n",
		    ra_sync_kind_name(v[i].kind), v[i].name,
		    v[i].org[0] != '\0' ? " of '" : "", v[i].org,
		    v[i].org[0] != '\0' ? "'" : "",
		    ra_sync_action_name(v[i].action), (long long)v[i].scm_id,
		    v[i].detail[0] != '\0' ? ": " : "", v[i].detail);
	}
	ra_sync_summary(v, n, summary, sizeof(summary));
	printf("%s sync: %s\n", what, summary);
}

/* "365,730", or "any" when the upstream lists no terms. */
static void
terms_text(const struct ra_profile *p, char *out, size_t outsz)
{
	size_t	i, off = 0;

	snprintf(out, outsz, "any");
	for (i = 0; i < p->nterms && off < outsz; i++)
		off += (size_t)snprintf(out + off, outsz - off, "%s%d",
		    i > 0 ? "," : "", p->terms[i]);
}

static int
profile_list(struct sc_ctx *ctx, bool json)
{
	struct ra_profile	*p = NULL;
	struct sg_err		 err;
	json_t			*arr;
	char			 terms[RA_TERMS_MAX * 12];
	size_t			 n = 0, i;

	if (ra_profile_list(ctx->ra, &p, &n, &err) != SG_OK)
		return sc_fail(&err);
	if (json) {
		arr = ra_json_array(RA_JSON_PROFILE, p, n);
		free(p);
		return sc_json_print(arr);
	}
	printf("%-8s  %-6s  %-14s  %s\n", "SCM ID", "KIND", "TERMS", "NAME");
	for (i = 0; i < n; i++) {
		terms_text(&p[i], terms, sizeof(terms));
		printf("%-8lld  %-6s  %-14s  %s\n", (long long)p[i].scm_id,
		    ra_profile_kind_name(p[i].kind), terms, p[i].name);
	}
	free(p);
	return SC_OK;
}

int
sc_profile(struct sc_ctx *ctx, int argc, char *argv[])
{
	struct ra_sync_item	*v = NULL;
	struct sg_err		 err;
	size_t			 n = 0;
	bool			 json = sc_has_flag(argc, argv, "--json");

	if (argc == 2 && strcmp(argv[1], "sync") == 0) {
		if (ra_catalog_sync(ctx->ra, true, &v, &n, &err) != SG_OK)
			return sc_fail(&err);
		sc_sync_print(v, n, "profile");
		free(v);
		return SC_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0 &&
	    argc == 2 + (int)json)
		return profile_list(ctx, json);
	return sc_usage("profile");
}
