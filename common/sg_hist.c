/* Prometheus histograms (sg_hist.h). */
#include "sg_hist.h"

void
sg_hist_init(struct sg_hist *h, const double *le, size_t nle)
{
	size_t	i;

	h->le = le;
	h->nle = nle < SG_HIST_MAX ? nle : SG_HIST_MAX;
	for (i = 0; i < SG_HIST_MAX; i++)
		h->n[i] = 0;
	h->count = 0;
	h->sum = 0;
}

void
sg_hist_observe(struct sg_hist *h, double v)
{
	size_t	i;

	for (i = 0; i < h->nle && v > h->le[i]; i++)
		continue;
	if (i < h->nle)
		h->n[i]++;
	h->count++;
	h->sum += v;
}

enum sg_rc
sg_hist_text(const struct sg_hist *h, const char *name, const char *labels,
    struct sg_buf *b)
{
	const char	*sep = labels[0] != '\0' ? "," : "";
	unsigned long	 cum = 0;
	enum sg_rc	 rc = SG_OK;
	size_t		 i;

	for (i = 0; rc == SG_OK && i < h->nle; i++) {
		cum += h->n[i];
		rc = sg_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name,
		    labels, sep, h->le[i], cum);
	}
	if (rc != SG_OK)
		return rc;
	/* Without labels the braces of _sum and _count go too. */
	if (labels[0] == '\0')
		return sg_buf_printf(b, "%s_bucket{le=\"+Inf\"} %lu\n"
		    "%s_sum %.6f\n%s_count %lu\n", name, h->count, name,
		    h->sum, name, h->count);
	return sg_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %lu\n"
	    "%s_sum{%s} %.6f\n%s_count{%s} %lu\n", name, labels, h->count,
	    name, labels, h->sum, name, labels, h->count);
}
