/*
 * ra/upstream/: the backend interface of the CAs that sign (the local
 * CA, SCM). Used by ra/ only. Backends call down only: ra/http/ and
 * the low-level helpers of ra_int.h (ra_pem_read_*, ra_x509_make),
 * never ra/'s decisions.
 */
#ifndef RA_UP_H
#define RA_UP_H

#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "conf.h"
#include "p7.h"
#include "ra.h"


/*
 * What the certificate is issued under, resolved by ra/ before the
 * upstream is called: from the account on SCEP endpoints, from the
 * endpoint itself on Intune ones (SCM's endpoint page). Backends read
 * this, never the account.
 */
struct ra_issuance {
	char		 account[RA_NAME_MAX];	/* for comments; "" if none */
	char		 org[RA_NAME_MAX];
	char		 dept[RA_NAME_MAX];	/* "" if none */
	char		 profile[RA_NAME_MAX];	/* "" if none */
	int		 term_days;		/* 0: the upstream's default */
};

struct ra_issue {
	const struct p7_csr	*csr;
	const struct ra_endpoint *ep;
	const struct ra_issuance *with;
	const char		*transid;
	time_t			 now;
	/*
	 * The durable marker of an order in flight (issue 10 s.6), which
	 * ra/ keeps with the transaction in the store so that neither a
	 * lost answer nor a restart orders twice. "lost": an earlier
	 * attempt of this transactionID sent its order and heard no
	 * answer, so an order nobody recorded may exist: look it up
	 * before ordering again. An upstream whose ordering call may lose
	 * its answer calls mark(arg, NULL) right before that call leaves
	 * (and does not send it unless SG_OK: SG_ESTORE is then its
	 * result), and mark(arg, order) once it knows: the order id it
	 * got or found, or "" for none (a refusal, or SCM lists none).
	 * A lost answer leaves the marker. The local CA ignores it; mark
	 * NULL keeps none (unit tests that call a backend directly).
	 */
	bool			 lost;
	enum sg_rc		(*mark)(void *arg, const char *order);
	void			*arg;
};

/* A revoked certificate, for the CRL. */
struct ra_revoked {
	char		serial[80];
	int64_t		revoked_at;
	int		reason;
};

#define RA_ORDER_MAX	64

/*
 * An upstream's catalogue (3.1, 3.2 of the SCM notes): organizations
 * with their departments, and profiles. A name the store cannot hold
 * (too long) is "": the sync reports it as skipped.
 */
struct ra_cat_dept {
	int64_t			 scm_id;
	char			 name[RA_NAME_MAX];
};
struct ra_cat_org {
	int64_t			 scm_id;
	char			 name[RA_NAME_MAX];
	struct ra_cat_dept	*depts;
	size_t			 ndepts;
};
struct ra_catalog {
	struct ra_cat_org	*orgs;
	size_t			 norgs;
	struct ra_profile	*profiles;
	size_t			 nprofiles;
};
/* Free the arrays (not "cat" itself) and zero it; NULL is allowed. */
void		 ra_catalog_free(struct ra_catalog *cat);

struct ra_up;
struct ra_up_ops {
	const char	*name;
	/*
	 * Issue, or order, a certificate. SG_OK with *out set: issued
	 * (owned by the caller). SG_OK with *out NULL: ordered, the
	 * upstream's id is in "order" (RA_ORDER_MAX bytes), collect later;
	 * err->msg may then hold a note for the audit ("" if none: the
	 * caller clears it), e.g. that an earlier order was adopted.
	 * Otherwise refused: err carries the reason and the failInfo.
	 */
	enum sg_rc	(*issue)(struct ra_up *, const struct ra_issue *,
			    X509 **out, char *order, struct sg_err *);
	/* Collect an order: as issue(); *out NULL means "not yet". */
	enum sg_rc	(*collect)(struct ra_up *, const struct ra_endpoint *,
			    const char *order, X509 **out, struct sg_err *);
	/* Revoke at the upstream (the local CA has nothing to do). */
	enum sg_rc	(*revoke)(struct ra_up *, const char *serial,
			    int reason, struct sg_err *);
	/* Sign a CRL; SG_ENOTFOUND if this upstream publishes none here. */
	enum sg_rc	(*crl)(struct ra_up *, const struct ra_revoked *,
			    size_t n, int64_t number, time_t now,
			    uint8_t **der, size_t *len, struct sg_err *);
	/*
	 * Optional (NULL: no catalogue): fetch every organization and
	 * profile into *out, which the caller frees (ra_catalog_free).
	 */
	enum sg_rc	(*catalog)(struct ra_up *, struct ra_catalog *out,
			    struct sg_err *);
	void		(*free)(struct ra_up *);
};
/*
 * The generic layer owns this struct, as curl's vtls owns its backends'
 * (ra_up.c allocates and frees it, with an empty "chain"); a backend's
 * init fills ops (first), chain and priv, and ops->free frees priv
 * alone (whatever init got to; priv may be NULL).
 */
struct ra_up {
	const struct ra_up_ops	*ops;
	STACK_OF(X509)		*chain;	/* issuing CA first, up to the root */
	void			*priv;
};

/*
 * The upstream that conf->upstream chooses; "conf" is borrowed and must
 * outlive it. On success *out is the caller's: ra_up_free(). Errors are
 * the backend's (SG_ECONF for a bad file or setting, SG_ENOMEM).
 */
enum sg_rc	 ra_up_open(const struct conf *, struct ra_up **,
		    struct sg_err *);
/* Free priv (ops->free), the chain and the struct; NULL is allowed. */
void		 ra_up_free(struct ra_up *);

/*
 * The backends' initialisers, called by ra_up_open() only, as described
 * above struct ra_up. On failure ra_up_open() calls ra_up_free().
 */
enum sg_rc	 ra_up_local_init(struct ra_up *, const struct conf *,
		    struct sg_err *);
enum sg_rc	 ra_up_scm_init(struct ra_up *, const struct conf *,
		    struct sg_err *);

#endif /* RA_UP_H */
