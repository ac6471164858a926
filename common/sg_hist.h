/*
 * A Prometheus histogram (text format 0.0.4): observe values, then
 * write the cumulative _bucket lines, _sum and _count. Plain data with
 * no lock: the owner guards it. Serves /metrics' request histogram
 * (server/srv_metrics.c) and the upstream calls' (ra/http/ra_http.c).
 */
#ifndef SG_HIST_H
#define SG_HIST_H

#include <stddef.h>

#include "sg.h"

#define SG_HIST_MAX	16	/* buckets, the +Inf one not counted */

struct sg_hist {
	const double	*le;		/* upper bounds, increasing; borrowed */
	size_t		 nle;		/* at most SG_HIST_MAX */
	unsigned long	 n[SG_HIST_MAX];	/* per bucket, not cumulative */
	unsigned long	 count;
	double		 sum;
};

/*
 * Empty "h" over the bounds "le" (nle of them, at most SG_HIST_MAX;
 * more are ignored). "le" is borrowed and must outlive "h": a static
 * table.
 */
void		 sg_hist_init(struct sg_hist *h, const double *le, size_t nle);
/* Count "v" in the first bucket whose bound is >= v (or +Inf only). */
void		 sg_hist_observe(struct sg_hist *h, double v);
/*
 * Append the series "name" with the labels "labels" (`a="x",b="y"`,
 * already escaped; "" for none) to "b": one name_bucket line per bound
 * and le="+Inf", cumulative, then name_sum and name_count. SG_OK or
 * the buffer's error (SG_ENOMEM, its maximum).
 */
enum sg_rc	 sg_hist_text(const struct sg_hist *h, const char *name,
		    const char *labels, struct sg_buf *b);

#endif /* SG_HIST_H */
