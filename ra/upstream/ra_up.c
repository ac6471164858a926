/* The upstream CA, chosen by configuration (DESIGN.md "Upstream"). */
#include <stdlib.h>

#include "ra_int.h"
#include "ra_up_scm_int.h"

enum sg_rc
ra_up_open(const struct conf *conf, struct ra_up **out, struct sg_err *err)
{
	switch (conf->upstream.type) {
	case CONF_UPSTREAM_LOCAL:
		return ra_up_local_open(conf, out, err);
	case CONF_UPSTREAM_SCM:
		return ra_up_scm_open(conf, out, err);
	}
	return sg_err_set(err, SG_ECONF, "%s: unknown upstream type",
	    conf->path);
}

void
ra_up_free(struct ra_up *up)
{
	if (up == NULL)
		return;
	sk_X509_pop_free(up->chain, X509_free);
	if (up->ops != NULL && up->ops->free != NULL)
		up->ops->free(up);
	free(up);
}
