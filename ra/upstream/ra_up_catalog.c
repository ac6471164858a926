/*
 * The catalogue that an upstream fills (ra_up_ops.catalog) and ra/
 * reads. Its own file so that a backend frees what it built without
 * calling back into ra_up.c, which calls the backends.
 */
#include <stdlib.h>
#include <string.h>

#include "ra_up.h"

void
ra_catalog_free(struct ra_catalog *cat)
{
	size_t	i;

	if (cat == NULL)
		return;
	for (i = 0; i < cat->norgs; i++)
		free(cat->orgs[i].depts);
	free(cat->orgs);
	free(cat->profiles);
	memset(cat, 0, sizeof(*cat));
}
