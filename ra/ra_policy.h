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

/*
 * Is "list" a valid name_pattern: "" or globs of letters, digits and
 * . - _ @ * ? [ ] !, comma-separated, shorter than RA_PATTERN_MAX?
 */
bool		 ra_policy_pattern_ok(const char *list);
/*
 * The endpoint's name policy (docs/names.md) on a request "req"
 * (borrowed): the subject fits the transaction row, each CN and subject
 * emailAddress matches ep->name_pattern, each subjectAltName is of an
 * allowed type (ep->san_types; on Intune endpoints the strong-mapping
 * SID URI always) and DNS names and emails match the pattern. SG_OK, or
 * SG_EPOLICY with failInfo badRequest and a message naming the field
 * ("SAN type upn is not allowed on endpoint 'demo'"), SG_EPARSE for an
 * undecodable SAN, SG_ENOMEM.
 */
enum sg_rc	 ra_policy_check_names(const struct ra_endpoint *ep,
		    X509_REQ *req, struct sg_err *);
/*
 * A RenewalReq keeps the names of the certificate it renews ("old",
 * the signer; borrowed) unless ep->renewal_any_names: every subject
 * attribute asked for is in the old subject and each old CN is asked
 * for (O and OU are not compared when they come from the account), and
 * the subjectAltNames are the same set. SG_OK, or SG_EPOLICY with
 * failInfo badRequest saying which differs.
 */
enum sg_rc	 ra_policy_renewal_names(X509 *old, const struct p7_csr *csr,
		    const struct ra_endpoint *ep, struct sg_err *);

#endif /* RA_POLICY_H */
