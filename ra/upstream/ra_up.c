/*
 * The upstream CA, chosen by configuration (DESIGN.md "Upstream"). This
 * file owns struct ra_up; the backends own only their priv.
 */
#include <stdlib.h>
#include <string.h>

#include "ra_up.h"

enum sg_rc
ra_up_open(const struct conf *conf, struct ra_up **out, struct sg_err *err)
{
	struct ra_up	*up;
	enum sg_rc	 rc;

	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (up->chain = sk_X509_new_null()) == NULL) {
		free(up);
		return sg_err_set(err, SG_ENOMEM, "upstream");
	}
	switch (conf->upstream.type) {
	case CONF_UPSTREAM_LOCAL:
		rc = ra_up_local_init(up, conf, err);
		break;
	case CONF_UPSTREAM_SCM:
		rc = ra_up_scm_init(up, conf, err);
		break;
	default:
		rc = sg_err_set(err, SG_ECONF, "%s: unknown upstream type",
		    conf->path);
		break;
	}
	if (rc != SG_OK) {
		ra_up_free(up);
		return rc;
	}
	*out = up;
	return SG_OK;
}

void
ra_up_free(struct ra_up *up)
{
	if (up == NULL)
		return;
	if (up->ops != NULL && up->ops->free != NULL)
		up->ops->free(up);
	sk_X509_pop_free(up->chain, X509_free);
	free(up);
}

