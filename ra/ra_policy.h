/*
 * The admin rules that used to sit in the SQLite store (issue 9): they
 * decide from the store's facts and word the scepctl hints. Declared
 * here, not in ra_int.h, only while another change owns that file;
 * fold into its "policy (ra_policy.c)" section when merging.
 */
#ifndef RA_POLICY_H
#define RA_POLICY_H

#include "ra_int.h"

/*
 * An endpoint with accounts or live requests is deleted only with
 * "force": SG_EPOLICY naming the counts and --force otherwise; the
 * store's SG_ENOTFOUND for an unknown endpoint.
 */
enum sg_rc	 ra_policy_endpoint_delete(struct ra *, const char *name,
		    bool force, struct sg_err *);
/*
 * May an account of "org" (and department "dept", or "") be created on
 * "ep"? The organization and department must exist (SG_ENOTFOUND with
 * a scepctl org add / dept add hint), and a customized delegation must
 * name the whole organization or exactly this department (SG_EPOLICY
 * with a scepctl endpoint delegate hint).
 */
enum sg_rc	 ra_policy_account_place(struct ra *,
		    const struct ra_endpoint *ep, const char *org,
		    const char *dept, struct sg_err *);
/*
 * Append " (HINT)" to the message of a store's SG_ENOTFOUND; returns
 * rc unchanged.
 */
enum sg_rc	 ra_policy_hint(enum sg_rc rc, const char *hint,
		    struct sg_err *);

#endif /* RA_POLICY_H */
