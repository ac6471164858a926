/* The upstream CA, chosen by configuration (DESIGN.md "Upstream"). */
#include <stdlib.h>

#include "ra_int.h"

enum sg_rc
ra_up_open(const struct conf *conf, struct ra_up **out, struct sg_err *err)
{
	switch (conf->upstream.type) {
	case CONF_UPSTREAM_LOCAL:
		return ra_up_local_open(conf, out, err);
	case CONF_UPSTREAM_SCM:
		/* XXX issue #4: the SCM REST client is not written yet. */
		return sg_err_set(err, SG_ECONF, "%s: upstream type \"scm\" "
		    "is not implemented yet; use \"local\"", conf->path);
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
