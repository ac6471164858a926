/*
 * The store contract (ra/store/ra_store.h), call by call, on a real
 * database: a new SQLite file in /tmp by default, or whatever
 * SG_TEST_DATABASE names (a scratch database: the suite adds rows under
 * names unique to the run and replaces the profile table). A second
 * backend passes when this suite does.
 */
#include <sys/wait.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "ra_store.h"

struct fx {
	char		 dir[64];	/* temp directory, "" if none */
	char		 db[128];	/* the "database" value */
	char		 tag[32];	/* names unique to the run */
	struct ra_store	*st;
	struct sg_err	 err;
};

/* A name unique to the run: "<what>-<tag>". */
static const char *
nm(const struct fx *fx, const char *what)
{
	static char	buf[8][RA_NAME_MAX];
	static int	i;
	char		*b = buf[i++ % 8];

	snprintf(b, RA_NAME_MAX, "%s-%s", what, fx->tag);
	return b;
}

#define OK(fx, call) do {						\
	if ((call) != SG_OK)						\
		fail_msg("%s: %s", #call, (fx)->err.msg);		\
} while (0)
#define RC(fx, want, call) do {						\
	enum sg_rc rc_ = (call);					\
	if (rc_ != (want))						\
		fail_msg("%s: rc %d, want %d (%s)", #call, (int)rc_,	\
		    (int)(want), (fx)->err.msg);			\
} while (0)

static int
setup(void **state)
{
	static int	 n;
	const char	*env = getenv("SG_TEST_DATABASE");
	struct fx	*fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->tag, sizeof(fx->tag), "%ld-%d", (long)getpid(), n++);
	if (env != NULL && env[0] != '\0')
		snprintf(fx->db, sizeof(fx->db), "%s", env);
	else {
		snprintf(fx->dir, sizeof(fx->dir), "/tmp/sg-store.XXXXXX");
		if (mkdtemp(fx->dir) == NULL)
			return -1;
		snprintf(fx->db, sizeof(fx->db), "sqlite:%s/t.db", fx->dir);
	}
	if (ra_store_open(fx->db, &fx->st, &fx->err) != SG_OK) {
		fprintf(stderr, "ra_store_open %s: %s\n", fx->db, fx->err.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	char		 p[160];

	ra_store_close(fx->st);
	if (fx->dir[0] != '\0') {
		snprintf(p, sizeof(p), "%s/t.db", fx->dir);
		(void)unlink(p);
		snprintf(p, sizeof(p), "%s/t.db-wal", fx->dir);
		(void)unlink(p);
		snprintf(p, sizeof(p), "%s/t.db-shm", fx->dir);
		(void)unlink(p);
		(void)rmdir(fx->dir);
	}
	free(fx);
	return 0;
}

/* Organization "o" with department "d", endpoint "e" on them. */
static void
base(struct fx *fx, struct ra_endpoint *ep)
{
	OK(fx, ra_store_org_add(fx->st, nm(fx, "o"), NULL, 0, &fx->err));
	OK(fx, ra_store_org_add(fx->st, nm(fx, "o"), "d", 0, &fx->err));
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->name, sizeof(ep->name), "%s", nm(fx, "e"));
	snprintf(ep->uri, sizeof(ep->uri), "%s", nm(fx, "u"));
	snprintf(ep->ra_id, sizeof(ep->ra_id), "ra1");
	ep->min_rsa_bits = 2048;
	ep->key_types = RA_KEY_RSA;
	ep->challenge_types = RA_CHAL_PRINTABLE;
	OK(fx, ra_store_endpoint_add(fx->st, ep, &fx->err));
}

static void
account(struct fx *fx, const char *name, const char *dept, uint8_t seed,
    struct ra_account *a)
{
	uint8_t	mac[32];

	memset(mac, seed, sizeof(mac));
	memset(a, 0, sizeof(*a));
	snprintf(a->endpoint, sizeof(a->endpoint), "%s", nm(fx, "e"));
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->org, sizeof(a->org), "%s", nm(fx, "o"));
	snprintf(a->dept, sizeof(a->dept), "%s", dept);
	a->term_days = 30;
	OK(fx, ra_store_account_add(fx->st, a, mac, &fx->err));
}

static void
txn(int64_t ep_id, const char *transid, struct ra_txn *t)
{
	static const uint8_t	csr[] = { 1, 2, 3, 4 };

	memset(t, 0, sizeof(*t));
	t->endpoint_id = ep_id;
	snprintf(t->transid, sizeof(t->transid), "%s", transid);
	t->msg_type = 19;
	snprintf(t->subject, sizeof(t->subject), "CN=x");
	t->csr = csr;
	t->csr_len = sizeof(csr);
}

static void
test_open(void **state)
{
	struct fx	*fx = *state;
	struct ra_store	*st = NULL;
	struct sg_err	 err;

	/* A second handle on the same database, as scepctl opens it. */
	OK(fx, ra_store_open(fx->db, &st, &fx->err));
	ra_store_close(st);
	ra_store_close(NULL);
	/* No server there: the database failed, not the value. */
	assert_int_equal(ra_store_open("postgresql:///sg?host=/nonexistent",
	    &st, &err), SG_ESTORE);
	/* A password belongs in a file, never in the configuration. */
	assert_int_equal(ra_store_open("postgresql://u:pw@h/sg", &st, &err),
	    SG_ECONF);
	assert_int_equal(ra_store_open("postgresql://h/sg?password=pw", &st,
	    &err), SG_ECONF);
	assert_null(strstr(err.msg, "pw"));
	assert_int_equal(ra_store_open("mysql://h/sg", &st, &err), SG_ECONF);
	assert_int_equal(ra_store_open("", &st, &err), SG_ECONF);
}

static void
test_orgs(void **state)
{
	struct fx	*fx = *state;
	struct ra_org	 o, *l = NULL;
	size_t		 n = 0, i;
	bool		 seen = false;

	OK(fx, ra_store_org_add(fx->st, nm(fx, "o"), NULL, 7, &fx->err));
	RC(fx, SG_EEXIST, ra_store_org_add(fx->st, nm(fx, "o"), NULL, 0,
	    &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_org_add(fx->st, nm(fx, "no"), "d", 0,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no organization"));
	OK(fx, ra_store_org_add(fx->st, nm(fx, "o"), "d", 0, &fx->err));
	RC(fx, SG_EEXIST, ra_store_org_add(fx->st, nm(fx, "o"), "d", 0,
	    &fx->err));

	OK(fx, ra_store_org_get(fx->st, nm(fx, "o"), NULL, &o, &fx->err));
	assert_string_equal(o.name, nm(fx, "o"));
	assert_int_equal(o.scm_id, 7);
	OK(fx, ra_store_org_get(fx->st, nm(fx, "o"), "d", &o, &fx->err));
	assert_string_equal(o.name, "d");
	assert_string_equal(o.org, nm(fx, "o"));
	RC(fx, SG_ENOTFOUND, ra_store_org_get(fx->st, nm(fx, "no"), NULL, &o,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no organization"));
	RC(fx, SG_ENOTFOUND, ra_store_org_get(fx->st, nm(fx, "o"), "x", &o,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no department 'x'"));

	OK(fx, ra_store_org_set_scm(fx->st, nm(fx, "o"), "d", 9, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_org_set_scm(fx->st, nm(fx, "no"), NULL,
	    1, &fx->err));
	OK(fx, ra_store_org_list(fx->st, nm(fx, "o"), true, &l, &n, &fx->err));
	assert_int_equal(n, 1);
	assert_string_equal(l[0].name, "d");
	assert_int_equal(l[0].scm_id, 9);
	free(l);
	OK(fx, ra_store_org_list(fx->st, NULL, false, &l, &n, &fx->err));
	for (i = 0; i < n; i++)
		seen |= strcmp(l[i].name, nm(fx, "o")) == 0;
	for (i = 1; i < n; i++)
		assert_true(strcmp(l[i - 1].name, l[i].name) < 0);
	assert_true(seen);
	free(l);
}

static void
test_profiles(void **state)
{
	struct fx		*fx = *state;
	struct ra_profile	 p[2], *l = NULL;
	size_t			 n = 0;

	memset(p, 0, sizeof(p));
	p[0].scm_id = 2;
	snprintf(p[0].name, sizeof(p[0].name), "b");
	p[0].terms[0] = 365;
	p[0].terms[1] = 730;
	p[0].nterms = 2;
	p[1].scm_id = 1;
	snprintf(p[1].name, sizeof(p[1].name), "a");
	OK(fx, ra_store_profile_replace(fx->st, p, 2, &fx->err));
	OK(fx, ra_store_profile_list(fx->st, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	assert_string_equal(l[0].name, "a");
	assert_int_equal(l[1].nterms, 2);
	assert_int_equal(l[1].terms[1], 730);
	free(l);
	/* The same (kind, id) twice: refused, and the old set stays. */
	p[1].scm_id = 2;
	RC(fx, SG_EEXIST, ra_store_profile_replace(fx->st, p, 2, &fx->err));
	OK(fx, ra_store_profile_list(fx->st, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	free(l);
	OK(fx, ra_store_profile_replace(fx->st, NULL, 0, &fx->err));
	OK(fx, ra_store_profile_list(fx->st, &l, &n, &fx->err));
	assert_int_equal(n, 0);
	free(l);
}

static void
test_endpoints(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep, e2, *l = NULL;
	struct ra_account	 a;
	size_t			 n = 0, i, accounts, pending;
	bool			 seen = false;

	base(fx, &ep);
	assert_true(ep.id > 0);
	assert_true(ep.created > 0);
	e2 = ep;
	RC(fx, SG_EEXIST, ra_store_endpoint_add(fx->st, &e2, &fx->err));
	snprintf(e2.name, sizeof(e2.name), "%s", nm(fx, "e2"));
	RC(fx, SG_EEXIST, ra_store_endpoint_add(fx->st, &e2, &fx->err));
	snprintf(e2.uri, sizeof(e2.uri), "%s", nm(fx, "u2"));
	OK(fx, ra_store_endpoint_add(fx->st, &e2, &fx->err));
	assert_true(e2.id > ep.id);

	OK(fx, ra_store_endpoint_get(fx->st, nm(fx, "u"), true, &e2,
	    &fx->err));
	assert_int_equal(e2.id, ep.id);
	assert_int_equal(e2.min_rsa_bits, 2048);
	RC(fx, SG_ENOTFOUND, ra_store_endpoint_get(fx->st, nm(fx, "x"), false,
	    &e2, &fx->err));
	assert_non_null(strstr(fx->err.msg, "no endpoint named"));
	OK(fx, ra_store_endpoint_by_id(fx->st, ep.id, &e2, &fx->err));
	assert_string_equal(e2.name, ep.name);
	RC(fx, SG_ENOTFOUND, ra_store_endpoint_by_id(fx->st, -1, &e2,
	    &fx->err));

	ep.renewal_days = 14;
	snprintf(ep.uri, sizeof(ep.uri), "%s", nm(fx, "u3"));
	OK(fx, ra_store_endpoint_update(fx->st, &ep, &fx->err));
	OK(fx, ra_store_endpoint_get(fx->st, ep.name, false, &e2, &fx->err));
	assert_int_equal(e2.renewal_days, 14);
	assert_string_equal(e2.uri, nm(fx, "u3"));
	snprintf(ep.uri, sizeof(ep.uri), "%s", nm(fx, "u2"));
	RC(fx, SG_EEXIST, ra_store_endpoint_update(fx->st, &ep, &fx->err));
	snprintf(e2.name, sizeof(e2.name), "%s", nm(fx, "x"));
	RC(fx, SG_ENOTFOUND, ra_store_endpoint_update(fx->st, &e2, &fx->err));

	OK(fx, ra_store_endpoint_list(fx->st, &l, &n, &fx->err));
	for (i = 0; i < n; i++)
		seen |= l[i].id == ep.id;
	assert_true(seen);
	free(l);

	/* Usage: the facts behind the --force guard, which is not here. */
	account(fx, "a1", "", 1, &a);
	OK(fx, ra_store_endpoint_usage(fx->st, ep.name, &accounts, &pending,
	    &fx->err));
	assert_int_equal(accounts, 1);
	assert_int_equal(pending, 0);
	RC(fx, SG_ENOTFOUND, ra_store_endpoint_usage(fx->st, nm(fx, "x"),
	    &accounts, &pending, &fx->err));
	OK(fx, ra_store_endpoint_delete(fx->st, ep.name, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_endpoint_get(fx->st, ep.name, false,
	    &e2, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_account_by_id(fx->st, a.id, &a,
	    &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_endpoint_delete(fx->st, ep.name,
	    &fx->err));
}

static void
test_delegation(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_deleg		 d[2], *l = NULL;
	size_t			 n = 0;

	base(fx, &ep);
	memset(d, 0, sizeof(d));
	snprintf(d[0].org, sizeof(d[0].org), "%s", nm(fx, "o"));
	snprintf(d[0].dept, sizeof(d[0].dept), "d");
	snprintf(d[1].org, sizeof(d[1].org), "%s", nm(fx, "o"));
	OK(fx, ra_store_delegate(fx->st, ep.name, false, d, 2, &fx->err));
	OK(fx, ra_store_delegations(fx->st, ep.name, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	assert_string_equal(l[0].dept, "");
	assert_string_equal(l[1].dept, "d");
	free(l);
	OK(fx, ra_store_endpoint_get(fx->st, ep.name, false, &ep, &fx->err));
	assert_true(ep.delegated);

	/* An unknown department: nothing changes (atomic). */
	snprintf(d[1].dept, sizeof(d[1].dept), "nowhere");
	RC(fx, SG_ENOTFOUND, ra_store_delegate(fx->st, ep.name, false, d, 2,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "nowhere"));
	OK(fx, ra_store_delegations(fx->st, ep.name, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	free(l);
	RC(fx, SG_ENOTFOUND, ra_store_delegate(fx->st, nm(fx, "x"), true,
	    NULL, 0, &fx->err));
	assert_non_null(strstr(fx->err.msg, "no endpoint named"));

	OK(fx, ra_store_delegate(fx->st, ep.name, true, NULL, 0, &fx->err));
	OK(fx, ra_store_delegations(fx->st, ep.name, &l, &n, &fx->err));
	assert_int_equal(n, 0);
	free(l);
	OK(fx, ra_store_endpoint_get(fx->st, ep.name, false, &ep, &fx->err));
	assert_false(ep.delegated);
}

static void
test_accounts(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_account	 a, b, *l = NULL;
	uint8_t			 mac[32];
	size_t			 n = 0;

	base(fx, &ep);
	account(fx, "b", "d", 1, &a);
	assert_true(a.id > 0);
	assert_true(a.created > 0);
	account(fx, "a", "", 2, &b);

	/* The same name, or the same code HMAC, on this endpoint. */
	memset(mac, 3, sizeof(mac));
	RC(fx, SG_EEXIST, ra_store_account_add(fx->st, &b, mac, &fx->err));
	memset(mac, 1, sizeof(mac));
	snprintf(b.name, sizeof(b.name), "c");
	RC(fx, SG_EEXIST, ra_store_account_add(fx->st, &b, mac, &fx->err));
	memset(mac, 4, sizeof(mac));
	snprintf(b.dept, sizeof(b.dept), "nowhere");
	RC(fx, SG_ENOTFOUND, ra_store_account_add(fx->st, &b, mac,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no department"));
	snprintf(b.org, sizeof(b.org), "%s", nm(fx, "no"));
	RC(fx, SG_ENOTFOUND, ra_store_account_add(fx->st, &b, mac,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no organization"));
	snprintf(b.endpoint, sizeof(b.endpoint), "%s", nm(fx, "x"));
	RC(fx, SG_ENOTFOUND, ra_store_account_add(fx->st, &b, mac,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no endpoint"));

	memset(mac, 1, sizeof(mac));
	OK(fx, ra_store_account_by_code(fx->st, ep.id, mac, &b, &fx->err));
	assert_int_equal(b.id, a.id);
	assert_string_equal(b.dept, "d");
	assert_string_equal(b.org, nm(fx, "o"));
	memset(mac, 9, sizeof(mac));
	RC(fx, SG_ENOTFOUND, ra_store_account_by_code(fx->st, ep.id, mac, &b,
	    &fx->err));
	OK(fx, ra_store_account_by_id(fx->st, a.id, &b, &fx->err));
	assert_string_equal(b.name, "b");
	OK(fx, ra_store_account_by_name(fx->st, ep.name, "b", &b, &fx->err));
	assert_int_equal(b.id, a.id);
	RC(fx, SG_ENOTFOUND, ra_store_account_by_name(fx->st, ep.name, "x",
	    &b, &fx->err));
	assert_non_null(strstr(fx->err.msg, "no account 'x' on endpoint"));

	a.term_days = 90;
	a.disabled = true;
	a.manual = true;
	OK(fx, ra_store_account_update(fx->st, &a, NULL, &fx->err));
	OK(fx, ra_store_account_by_id(fx->st, a.id, &b, &fx->err));
	assert_int_equal(b.term_days, 90);
	assert_true(b.disabled && b.manual);
	memset(mac, 2, sizeof(mac));	/* account "a"'s code */
	RC(fx, SG_EEXIST, ra_store_account_update(fx->st, &a, mac, &fx->err));
	memset(mac, 5, sizeof(mac));
	OK(fx, ra_store_account_update(fx->st, &a, mac, &fx->err));
	OK(fx, ra_store_account_by_code(fx->st, ep.id, mac, &b, &fx->err));
	assert_int_equal(b.id, a.id);
	b.id = -1;
	RC(fx, SG_ENOTFOUND, ra_store_account_update(fx->st, &b, NULL,
	    &fx->err));

	OK(fx, ra_store_account_list(fx->st, ep.name, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	assert_string_equal(l[0].name, "a");
	assert_string_equal(l[1].name, "b");
	free(l);
	OK(fx, ra_store_account_delete(fx->st, ep.name, "a", &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_account_delete(fx->st, ep.name, "a",
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no account 'a'"));
}

static void
test_txn(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_txn		 t, u, *o = NULL;
	struct ra_request	*r = NULL;
	uint8_t			*csr = NULL;
	size_t			 len = 0, n = 0;

	base(fx, &ep);
	txn(ep.id, "T1", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	assert_true(t.id > 0);
	assert_int_equal(t.status, RA_REQ_NEW);
	/* One live transaction per (endpoint, transactionID). */
	txn(ep.id, "T1", &u);
	RC(fx, SG_EEXIST, ra_store_txn_begin(fx->st, &u, &fx->err));

	OK(fx, ra_store_txn_find(fx->st, ep.id, "T1", &u, &fx->err));
	assert_int_equal(u.id, t.id);
	assert_string_equal(u.subject, "CN=x");
	RC(fx, SG_ENOTFOUND, ra_store_txn_find(fx->st, ep.id, "T9", &u,
	    &fx->err));
	OK(fx, ra_store_txn_get(fx->st, t.id, &u, &csr, &len, &fx->err));
	assert_int_equal(len, 4);
	assert_int_equal(csr[3], 4);
	free(csr);
	RC(fx, SG_ENOTFOUND, ra_store_txn_get(fx->st, -1, &u, NULL, NULL,
	    &fx->err));
	assert_non_null(strstr(fx->err.msg, "no request -1"));

	/* PENDING with an order: still live, listed as an order. */
	t.status = RA_REQ_PENDING;
	snprintf(t.order_id, sizeof(t.order_id), "order-1");
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_NEW, &fx->err));
	RC(fx, SG_EEXIST, ra_store_txn_begin(fx->st, &u, &fx->err));
	OK(fx, ra_store_txn_orders(fx->st, &o, &n, &fx->err));
	assert_int_equal(n, 1);
	assert_string_equal(o[0].order_id, "order-1");
	free(o);

	/* The conditional write: only from the status it is still in. */
	t.status = RA_REQ_ISSUED;
	snprintf(t.serial, sizeof(t.serial), "0A");
	RC(fx, SG_ENOTFOUND, ra_store_txn_update(fx->st, &t, RA_REQ_NEW,
	    &fx->err));
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_PENDING, &fx->err));
	OK(fx, ra_store_txn_get(fx->st, t.id, &u, &csr, &len, &fx->err));
	assert_int_equal(u.status, RA_REQ_ISSUED);
	assert_string_equal(u.serial, "0A");
	assert_null(csr);	/* decided: the sealed CSR is gone */

	/*
	 * Decided: a new transaction may reuse the transactionID, if the
	 * caller saw the decided one; one it did not see (decided by
	 * another request meanwhile) refuses the insert.
	 */
	txn(ep.id, "T1", &u);
	RC(fx, SG_EEXIST, ra_store_txn_begin(fx->st, &u, &fx->err));
	OK(fx, ra_store_txn_find(fx->st, ep.id, "T1", &u, &fx->err));
	assert_int_equal(u.id, t.id);	/* nothing written */
	txn(ep.id, "T1", &u);
	u.id = t.id;
	OK(fx, ra_store_txn_begin(fx->st, &u, &fx->err));
	OK(fx, ra_store_txn_find(fx->st, ep.id, "T1", &t, &fx->err));
	assert_int_equal(t.id, u.id);

	OK(fx, ra_store_txn_list(fx->st, RA_REQ_ISSUED, &r, &n, &fx->err));
	assert_int_equal(n, 1);
	assert_string_equal(r[0].serial, "0A");
	assert_string_equal(r[0].endpoint, ep.name);
	free(r);
	OK(fx, ra_store_txn_list(fx->st, -1, &r, &n, &fx->err));
	assert_int_equal(n, 2);
	free(r);
}

/*
 * The marker of an order in flight (ra_store_txn_mark): it outlives
 * the transaction that set it (a rejected attempt) and is seen from a
 * second handle (a restarted process); the answer clears it from every
 * attempt of the transactionID and records the order id in one write.
 */
static void
test_txn_mark(void **state)
{
	struct fx		*fx = *state;
	struct ra_store		*other = NULL;
	struct ra_endpoint	 ep;
	struct ra_txn		 t, u, v;
	bool			 m = true;

	base(fx, &ep);
	txn(ep.id, "M1", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	txn(ep.id, "M2", &v);
	OK(fx, ra_store_txn_begin(fx->st, &v, &fx->err));
	OK(fx, ra_store_txn_marked(fx->st, ep.id, "M1", &m, &fx->err));
	assert_false(m);
	OK(fx, ra_store_txn_mark(fx->st, &t, NULL, &fx->err));
	OK(fx, ra_store_txn_mark(fx->st, &v, NULL, &fx->err));
	/* The answer was lost: the attempt is rejected, marked still. */
	t.status = RA_REQ_REJECTED;
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_NEW, &fx->err));
	OK(fx, ra_store_open(fx->db, &other, &fx->err));
	OK(fx, ra_store_txn_marked(other, ep.id, "M1", &m, &fx->err));
	assert_true(m);
	OK(fx, ra_store_txn_marked(other, ep.id + 1, "M1", &m, &fx->err));
	assert_false(m);

	/* The retry, a new row, learns the order: both rows unmarked. */
	txn(ep.id, "M1", &u);
	u.id = t.id;		/* the newest attempt the retry saw */
	OK(fx, ra_store_txn_begin(other, &u, &fx->err));
	OK(fx, ra_store_txn_mark(other, &u, "order-7", &fx->err));
	OK(fx, ra_store_txn_marked(fx->st, ep.id, "M1", &m, &fx->err));
	assert_false(m);
	OK(fx, ra_store_txn_get(fx->st, u.id, &u, NULL, NULL, &fx->err));
	assert_string_equal(u.order_id, "order-7");
	OK(fx, ra_store_txn_get(fx->st, t.id, &t, NULL, NULL, &fx->err));
	assert_string_equal(t.order_id, "");
	/* Another transactionID keeps its marker; "" clears without id. */
	OK(fx, ra_store_txn_marked(fx->st, ep.id, "M2", &m, &fx->err));
	assert_true(m);
	OK(fx, ra_store_txn_mark(fx->st, &v, "", &fx->err));
	OK(fx, ra_store_txn_marked(fx->st, ep.id, "M2", &m, &fx->err));
	assert_false(m);
	OK(fx, ra_store_txn_get(fx->st, v.id, &v, NULL, NULL, &fx->err));
	assert_string_equal(v.order_id, "");
	t.id = -1;
	RC(fx, SG_ENOTFOUND, ra_store_txn_mark(fx->st, &t, NULL, &fx->err));
	ra_store_close(other);
}

/*
 * The gauges of /metrics (ra_store_gauges): a lockout counts once per
 * source however often it was hit and only inside its window; the
 * ceiling counts an endpoint; NEW and PENDING transactions; valid
 * certificates (expired ones not), those expiring, revoked ones. Far in
 * the future and as differences, since the PostgreSQL run shares the
 * database with the other tests.
 */
static void
test_gauges(void **state)
{
	struct fx		*fx = *state;
	const int64_t		 T = 5000000000LL;
	struct ra_gauge_query	 q = { "!%", T - 9, T - 59, 3, T,
	    T + 30 * 86400 };
	static const uint8_t	 der[] = { 0x30, 0x03, 1, 2, 3 };
	const char		*la[] = { "!192.0.2.0/24" };
	const char		*lb[] = { "!198.51.100.0/24" };
	const char		*all[] = { "*", "192.0.2.0/24" };
	const int64_t		 ends[] = { T + 365 * 86400, T + 10 * 86400,
	    T - 1, T + 365 * 86400 };
	struct ra_endpoint	 ep;
	struct ra_txn		 t, u;
	struct ra_cert_rec	 rec;
	struct ra_gauges	 g0, g;
	size_t			 i;

	base(fx, &ep);
	OK(fx, ra_store_gauges(fx->st, &q, &g0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, ep.id, la, 1, T - 5, 0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, ep.id, la, 1, T - 4, 0, &fx->err));
	/* Locked out long ago: over. */
	OK(fx, ra_store_fail_add(fx->st, ep.id, lb, 1, T - 20, 0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, ep.id, all, 2, T - 2, 0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, ep.id, all, 2, T - 1, 0, &fx->err));
	OK(fx, ra_store_gauges(fx->st, &q, &g, &fx->err));
	assert_int_equal(g.locked_sources - g0.locked_sources, 1);
	assert_int_equal(g.locked_endpoints - g0.locked_endpoints, 0);
	OK(fx, ra_store_fail_add(fx->st, ep.id, all, 2, T, 0, &fx->err));

	txn(ep.id, nm(fx, "G1"), &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	txn(ep.id, nm(fx, "G2"), &u);
	OK(fx, ra_store_txn_begin(fx->st, &u, &fx->err));
	u.status = RA_REQ_PENDING;
	OK(fx, ra_store_txn_update(fx->st, &u, RA_REQ_NEW, &fx->err));

	memset(&rec, 0, sizeof(rec));
	rec.endpoint_id = ep.id;
	snprintf(rec.subject, sizeof(rec.subject), "CN=x");
	rec.der = der;
	rec.der_len = sizeof(der);
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		snprintf(rec.serial, sizeof(rec.serial), "G%zu-%s", i, fx->tag);
		rec.not_before = T - 86400;
		rec.not_after = ends[i];
		OK(fx, ra_store_cert_add(fx->st, &rec, &fx->err));
	}
	OK(fx, ra_store_cert_set_status(fx->st, rec.serial, RA_CERT_REVOKED,
	    1, &fx->err));

	OK(fx, ra_store_gauges(fx->st, &q, &g, &fx->err));
	assert_int_equal(g.locked_sources - g0.locked_sources, 1);
	assert_int_equal(g.locked_endpoints - g0.locked_endpoints, 1);
	assert_int_equal(g.txn_new - g0.txn_new, 1);
	assert_int_equal(g.txn_pending - g0.txn_pending, 1);
	assert_int_equal(g.certs_valid - g0.certs_valid, 2);
	assert_int_equal(g.certs_expiring - g0.certs_expiring, 1);
	assert_int_equal(g.certs_revoked - g0.certs_revoked, 1);
	/* No ceiling configured: no endpoint is at it. */
	q.ceiling = 0;
	OK(fx, ra_store_gauges(fx->st, &q, &g, &fx->err));
	assert_int_equal(g.locked_endpoints - g0.locked_endpoints, 0);
}

/* Two handles (two processes) finish the same transaction: one wins. */
static void
test_txn_race(void **state)
{
	struct fx		*fx = *state;
	struct ra_store		*other = NULL;
	struct ra_endpoint	 ep;
	struct ra_txn		 t, u;

	base(fx, &ep);
	OK(fx, ra_store_open(fx->db, &other, &fx->err));
	txn(ep.id, "race", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	u = t;
	t.status = RA_REQ_ISSUED;
	u.status = RA_REQ_REJECTED;
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_NEW, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_txn_update(other, &u, RA_REQ_NEW,
	    &fx->err));
	OK(fx, ra_store_txn_find(other, ep.id, "race", &u, &fx->err));
	assert_int_equal(u.status, RA_REQ_ISSUED);
	/* And a second live transaction from the other handle. */
	txn(ep.id, "race2", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	RC(fx, SG_EEXIST, ra_store_txn_begin(other, &t, &fx->err));
	ra_store_close(other);
}

static void
test_certs(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_account	 a;
	struct ra_cert_rec	 rec;
	struct ra_cert		 c, *l = NULL;
	static const uint8_t	 der[] = { 0x30, 0x03, 1, 2, 3 };
	uint8_t			*got = NULL;
	size_t			 len = 0, n = 0;
	int64_t			 acct = 0;

	base(fx, &ep);
	account(fx, "a", "", 1, &a);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "S1"));
	rec.endpoint_id = ep.id;
	rec.account_id = a.id;
	snprintf(rec.subject, sizeof(rec.subject), "CN=x");
	rec.not_before = 100;
	rec.not_after = 200;
	rec.der = der;
	rec.der_len = sizeof(der);
	OK(fx, ra_store_cert_add(fx->st, &rec, &fx->err));
	RC(fx, SG_EEXIST, ra_store_cert_add(fx->st, &rec, &fx->err));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "S2"));
	rec.not_before = 150;
	OK(fx, ra_store_cert_add(fx->st, &rec, &fx->err));

	OK(fx, ra_store_cert_get(fx->st, nm(fx, "S1"), &c, &acct, &got, &len,
	    &fx->err));
	assert_int_equal(acct, a.id);
	assert_int_equal(len, sizeof(der));
	assert_memory_equal(got, der, sizeof(der));
	assert_int_equal(c.status, RA_CERT_VALID);
	assert_string_equal(c.account, "a");
	free(got);
	OK(fx, ra_store_cert_get(fx->st, nm(fx, "S1"), NULL, NULL, NULL, NULL,
	    &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_cert_get(fx->st, nm(fx, "S9"), &c, NULL,
	    NULL, NULL, &fx->err));
	assert_non_null(strstr(fx->err.msg, "no certificate with serial"));

	/* VALID -> SUPERSEDED -> REVOKED; revoking twice is refused. */
	OK(fx, ra_store_cert_set_status(fx->st, nm(fx, "S1"),
	    RA_CERT_SUPERSEDED, 0, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_cert_set_status(fx->st, nm(fx, "S1"),
	    RA_CERT_SUPERSEDED, 0, &fx->err));
	OK(fx, ra_store_cert_set_status(fx->st, nm(fx, "S1"), RA_CERT_REVOKED,
	    4, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_cert_set_status(fx->st, nm(fx, "S1"),
	    RA_CERT_REVOKED, 4, &fx->err));
	assert_non_null(strstr(fx->err.msg, "no valid certificate"));
	OK(fx, ra_store_cert_get(fx->st, nm(fx, "S1"), &c, NULL, NULL, NULL,
	    &fx->err));
	assert_int_equal(c.status, RA_CERT_REVOKED);
	assert_int_equal(c.reason, 4);
	assert_true(c.revoked_at > 0);

	OK(fx, ra_store_cert_list(fx->st, ep.name, -1, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	assert_string_equal(l[0].serial, nm(fx, "S1"));
	free(l);
	OK(fx, ra_store_cert_list(fx->st, ep.name, RA_CERT_VALID, &l, &n,
	    &fx->err));
	assert_int_equal(n, 1);
	assert_string_equal(l[0].serial, nm(fx, "S2"));
	free(l);
}

static void
test_crl(void **state)
{
	struct fx		*fx = *state;
	static const uint8_t	 der[] = { 0x30, 0x00 };
	uint8_t			*got = NULL;
	size_t			 len = 0;
	int64_t			 num = 0, next = 0;

	RC(fx, SG_ENOTFOUND, ra_store_crl_get(fx->st, &got, &len, &next,
	    &fx->err));
	OK(fx, ra_store_crl_number(fx->st, &num, &fx->err));
	assert_int_equal(num, 1);
	OK(fx, ra_store_crl_put(fx->st, num, der, sizeof(der), 1000,
	    &fx->err));
	/* Two writers with the same number: the second one loses. */
	RC(fx, SG_EEXIST, ra_store_crl_put(fx->st, num, der, sizeof(der), 1000,
	    &fx->err));
	OK(fx, ra_store_crl_put(fx->st, 5, der, sizeof(der), 2000, &fx->err));
	/* Strictly increasing: below the highest is refused too. */
	RC(fx, SG_EEXIST, ra_store_crl_put(fx->st, 3, der, sizeof(der), 3000,
	    &fx->err));
	OK(fx, ra_store_crl_number(fx->st, &num, &fx->err));
	assert_int_equal(num, 6);
	OK(fx, ra_store_crl_get(fx->st, &got, &len, &next, &fx->err));
	assert_int_equal(next, 2000);
	assert_int_equal(len, sizeof(der));
	free(got);
}

/* Run argv; its exit status, or -1 if it could not run. */
static int
run(char *const argv[])
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		(void)freopen("/dev/null", "w", stdout);
		(void)freopen("/dev/null", "w", stderr);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Raw SQL through the database's own client: 0 if it succeeded. */
static int
raw_sql(const struct fx *fx, const char *q)
{
	struct conf_db	db;
	char		sqlq[256];

	if (conf_database_parse(fx->db, &db, NULL) != SG_OK)
		return -1;
	snprintf(sqlq, sizeof(sqlq), "%s", q);
	if (db.kind == CONF_DB_SQLITE) {
		char *const argv[] = { "sqlite3", (char *)db.path, sqlq,
		    NULL };

		return run(argv);
	} else {
		char *const argv[] = { "psql", "-v", "ON_ERROR_STOP=1",
		    (char *)db.path, "-c", sqlq, NULL };

		return run(argv);
	}
}

static void
test_audit(void **state)
{
	struct fx		*fx = *state;
	struct ra_audit		 a = { "alice", NULL, NULL, NULL, "x",
	    "ok", NULL };
	struct ra_audit_filter	 f;
	struct ra_audit_rec	*l = NULL;
	size_t			 n = 0;
	int			 r;

	a.endpoint = nm(fx, "e");
	a.details = "one";
	OK(fx, ra_store_audit_add(fx->st, &a, &fx->err));
	a.outcome = "failed";
	a.details = "two";
	OK(fx, ra_store_audit_add(fx->st, &a, &fx->err));
	memset(&f, 0, sizeof(f));
	f.endpoint = nm(fx, "e");
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	assert_true(l[0].id < l[1].id);
	assert_string_equal(l[0].details, "one");
	assert_string_equal(l[1].actor, "alice");
	free(l);
	f.outcome = "failed";
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	assert_int_equal(n, 1);
	assert_string_equal(l[0].details, "two");
	free(l);
	f.outcome = "";
	f.until = 1;
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	assert_int_equal(n, 0);
	free(l);

	/* Append-only for every client, not just for this API. */
	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0) {
		fprintf(stderr, "no database client: append-only unchecked\n");
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_not_equal(raw_sql(fx, "UPDATE audit SET outcome = 'ok'"),
	    0);
	assert_int_not_equal(raw_sql(fx, "DELETE FROM audit"), 0);
	f.until = 0;
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	assert_int_equal(n, 2);
	assert_string_equal(l[1].outcome, "failed");
	free(l);
}

/* The events of endpoint "id" due at "now" (other runs share PG). */
static size_t
events_of(struct fx *fx, int64_t id, int64_t now, struct ra_event *out,
    size_t max)
{
	struct ra_event	*l = NULL;
	size_t		 n = 0, i, k = 0;

	OK(fx, ra_store_event_due(fx->st, now, 1000, &l, &n, &fx->err));
	for (i = 0; i < n; i++)
		if (l[i].endpoint_id == id && k < max)
			out[k++] = l[i];
	free(l);
	return k;
}

/*
 * Version 4: an endpoint's webhooks, and the outbox: "issued" goes with
 * the issuance's commit and "revoked" with the revocation's, only while
 * the endpoint has a notify_webhook; an event stays until done.
 */
static void
test_webhooks(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep, got;
	struct ra_txn		 t;
	struct ra_cert_rec	 c;
	struct ra_event		 ev[4], add;
	static const uint8_t	 der[] = { 0x30, 0 };
	int64_t			 now = (int64_t)time(NULL);

	base(fx, &ep);
	OK(fx, ra_store_endpoint_get(fx->st, ep.name, false, &got,
	    &fx->err));
	assert_string_equal(got.challenge_webhook, "");
	assert_int_equal(got.webhook_timeout, 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s", nm(fx, "S1"));
	c.endpoint_id = ep.id;
	snprintf(c.subject, sizeof(c.subject), "CN=dev");
	c.not_after = now + 86400;
	c.der = der;
	c.der_len = sizeof(der);
	txn(ep.id, "W1", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	t.status = RA_REQ_ISSUED;
	snprintf(t.serial, sizeof(t.serial), "%s", c.serial);
	c.txn_id = t.id;
	/* No notify_webhook: no event. */
	OK(fx, ra_store_txn_issued(fx->st, &t, &c, NULL, RA_REQ_NEW,
	    &fx->err));
	assert_int_equal(events_of(fx, ep.id, now + 10, ev, 4), 0);

	snprintf(ep.challenge_webhook, sizeof(ep.challenge_webhook),
	    "http://127.0.0.1:1/check");
	snprintf(ep.webhook_secret_file, sizeof(ep.webhook_secret_file),
	    "/etc/s");
	ep.webhook_timeout = 7;
	snprintf(ep.notify_webhook, sizeof(ep.notify_webhook),
	    "http://127.0.0.1:1/events");
	OK(fx, ra_store_endpoint_update(fx->st, &ep, &fx->err));
	OK(fx, ra_store_endpoint_get(fx->st, ep.uri, true, &got, &fx->err));
	assert_string_equal(got.challenge_webhook, "http://127.0.0.1:1/check");
	assert_string_equal(got.webhook_secret_file, "/etc/s");
	assert_int_equal(got.webhook_timeout, 7);
	assert_string_equal(got.notify_webhook, "http://127.0.0.1:1/events");

	snprintf(c.serial, sizeof(c.serial), "%s", nm(fx, "S2"));
	txn(ep.id, "W2", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	t.status = RA_REQ_ISSUED;
	c.txn_id = t.id;
	OK(fx, ra_store_txn_issued(fx->st, &t, &c, NULL, RA_REQ_NEW,
	    &fx->err));
	OK(fx, ra_store_cert_set_status(fx->st, c.serial, RA_CERT_REVOKED, 1,
	    &fx->err));
	memset(&add, 0, sizeof(add));
	snprintf(add.event_id, sizeof(add.event_id), "refused-1");
	add.endpoint_id = ep.id;
	snprintf(add.kind, sizeof(add.kind), "refused");
	snprintf(add.reason, sizeof(add.reason), "bad access code");
	add.created = now;
	OK(fx, ra_store_event_add(fx->st, &add, &fx->err));
	assert_int_equal(events_of(fx, ep.id, now + 10, ev, 4), 3);
	assert_string_equal(ev[0].kind, "issued");
	assert_string_equal(ev[0].transid, "W2");
	assert_int_equal(ev[0].not_after, now + 86400);
	assert_string_equal(ev[0].event_id + 7, c.serial);
	assert_string_equal(ev[1].kind, "revoked");
	assert_int_equal(ev[1].code, 1);
	assert_string_equal(ev[1].serial, c.serial);
	assert_string_equal(ev[2].reason, "bad access code");

	/* Claimed once; retried later; gone when done. */
	OK(fx, ra_store_event_claim(fx->st, &ev[0], now + 60, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_event_claim(fx->st, &ev[0], now + 60,
	    &fx->err));
	OK(fx, ra_store_event_retry(fx->st, ev[0].id, now + 5, "HTTP 500",
	    &fx->err));
	assert_int_equal(events_of(fx, ep.id, now + 1, ev, 4), 2);
	assert_int_equal(events_of(fx, ep.id, now + 10, ev, 4), 3);
	assert_int_equal(ev[2].attempts, 1);
	OK(fx, ra_store_event_done(fx->st, ev[2].id, &fx->err));
	assert_int_equal(events_of(fx, ep.id, now + 10, ev, 4), 2);
}

/* Fails (a duplicate key) unless the schema version is "v". */
static int
version_is(const struct fx *fx, const char *v)
{
	char	q[200];

	snprintf(q, sizeof(q), "INSERT INTO meta SELECT 'schema_version', "
	    "'x' WHERE (SELECT value FROM meta WHERE key = "
	    "'schema_version') <> '%s'", v);
	return raw_sql(fx, q);
}

/* An older schema is upgraded at open; a newer one is refused. */
static void
test_schema_version(void **state)
{
	struct fx	*fx = *state;
	struct ra_store	*st = NULL;
	struct sg_err	 err;
	int		 r;

	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0) {
		fprintf(stderr, "no database client: versions unchecked\n");
		skip();
	}
	assert_int_equal(version_is(fx, "4"), 0);
	assert_int_equal(raw_sql(fx, "UPDATE meta SET value = '1' "
	    "WHERE key = 'schema_version'"), 0);
	assert_int_not_equal(version_is(fx, "4"), 0);
	OK(fx, ra_store_open(fx->db, &st, &fx->err));
	ra_store_close(st);
	assert_int_equal(version_is(fx, "4"), 0);

	assert_int_equal(raw_sql(fx, "UPDATE meta SET value = '99' "
	    "WHERE key = 'schema_version'"), 0);
	st = NULL;
	assert_int_equal(ra_store_open(fx->db, &st, &err), SG_ESTORE);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 99"));
	assert_int_equal(raw_sql(fx, "UPDATE meta SET value = '4' "
	    "WHERE key = 'schema_version'"), 0);
}

/* Version 2's audit trigger, in each dialect. */
static const char v2_trigger_sqlite[] = "DROP TRIGGER audit_delete_pruned;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN "
    "SELECT RAISE(ABORT, 'audit records are append-only'); END;";
static const char v2_trigger_pg[] = "DROP VIEW audit_prunable; "
    "DROP TRIGGER audit_delete_pruned ON "
    "audit; DROP TRIGGER audit_no_update ON audit; CREATE TRIGGER "
    "audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW "
    "EXECUTE FUNCTION audit_append_only();";

/* Make the database what a version 2 build left (no version 3 parts). */
static void
make_v2(struct fx *fx)
{
	struct conf_db	db;

	assert_int_equal(conf_database_parse(fx->db, &db, NULL), SG_OK);
	assert_int_equal(raw_sql(fx, db.kind == CONF_DB_SQLITE ?
	    v2_trigger_sqlite : v2_trigger_pg), 0);
	assert_int_equal(raw_sql(fx, "DROP TABLE auth_fail; DROP TABLE "
	    "refusal; DROP TABLE audit_prune; DROP INDEX txn_new; "
	    "DROP INDEX cert_txn"), 0);
	assert_int_equal(raw_sql(fx, "ALTER TABLE endpoint DROP COLUMN "
	    "san_types; ALTER TABLE endpoint DROP COLUMN name_pattern"), 0);
	assert_int_equal(raw_sql(fx, "ALTER TABLE endpoint DROP COLUMN "
	    "subject_csr; ALTER TABLE endpoint DROP COLUMN renewal_any"), 0);
	assert_int_equal(raw_sql(fx, "DROP TABLE webhook_outbox; "
	    "DROP TABLE ep_webhook"), 0);
	/* Version 4's column too: the upgrade takes both steps. */
	assert_int_equal(raw_sql(fx, "ALTER TABLE txn DROP COLUMN ordering"),
	    0);
	assert_int_equal(raw_sql(fx, "UPDATE meta SET value = '2' "
	    "WHERE key = 'schema_version'"), 0);
}

/*
 * A version 2 database (wip/pg's) is upgraded to 3 at open: the name
 * columns with their defaults, the counters, and a DELETE trigger that
 * lets ra_store_audit_prune() through.
 */
static void
test_schema_upgrade_v2(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep, got;
	struct ra_audit		 a = { "alice", NULL, NULL, NULL, "x",
	    "ok", NULL };
	struct ra_audit		 rec = { "admin", NULL, NULL, NULL,
	    "audit prune", "success", "ids" };
	struct ra_audit_filter	 f;
	struct ra_audit_rec	*l = NULL;
	struct ra_fail_query	 q = { "k", 0 };
	const char		*keys[] = { "k" };
	int64_t			 cnt = 0, before;
	size_t			 n = 0;
	int			 r;

	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0) {
		fprintf(stderr, "no database client: upgrade unchecked\n");
		skip();
	}
	a.endpoint = nm(fx, "e");
	OK(fx, ra_store_audit_add(fx->st, &a, &fx->err));
	base(fx, &ep);
	ra_store_close(fx->st);
	fx->st = NULL;
	make_v2(fx);
	OK(fx, ra_store_open(fx->db, &fx->st, &fx->err));
	assert_int_equal(version_is(fx, "4"), 0);

	/* The endpoint from before gets the safe defaults. */
	OK(fx, ra_store_endpoint_get(fx->st, ep.name, false, &got,
	    &fx->err));
	assert_int_equal(got.san_types, RA_SAN_DEFAULT);
	assert_string_equal(got.name_pattern, "");
	ep.san_types = 5;
	snprintf(ep.name_pattern, sizeof(ep.name_pattern), "*.example.com");
	ep.renewal_any_names = true;
	OK(fx, ra_store_endpoint_update(fx->st, &ep, &fx->err));
	OK(fx, ra_store_endpoint_get(fx->st, ep.name, false, &got,
	    &fx->err));
	assert_int_equal(got.san_types, 5);
	assert_string_equal(got.name_pattern, "*.example.com");
	assert_true(got.renewal_any_names);
	assert_false(got.subject_from_csr);

	OK(fx, ra_store_fail_add(fx->st, ep.id, keys, 1, 100, 0, &fx->err));
	OK(fx, ra_store_fail_count(fx->st, ep.id, &q, 1, &cnt, &fx->err));
	assert_int_equal(cnt, 1);

	/* Version 2's trigger refused every DELETE: the prune passes now. */
	before = (int64_t)time(NULL) + 1;
	memset(&f, 0, sizeof(f));
	f.until = before - 1;
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	assert_true(n >= 1);
	OK(fx, ra_store_audit_prune(fx->st, before, l[0].id, l[n - 1].id,
	    (int64_t)n, &rec, &fx->err));
	free(l);
	assert_int_not_equal(raw_sql(fx, "DELETE FROM audit"), 0);
	assert_int_not_equal(raw_sql(fx, "UPDATE audit SET outcome = 'x'"),
	    0);
}

/* Concurrent writers share commits (group commit) and lose nothing. */
#define THREADS	8
#define EACH	25

struct worker {
	struct fx	*fx;
	const char	*endpoint;	/* nm() is not thread-safe */
	int		 fails;
};

static void *
writer(void *arg)
{
	struct worker	*w = arg;
	struct ra_audit	 a = { "w", NULL, NULL, NULL, "x", "ok", NULL };
	int		 i;

	a.endpoint = w->endpoint;
	for (i = 0; i < EACH; i++)
		if (ra_store_audit_add(w->fx->st, &a, NULL) != SG_OK)
			w->fails++;
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct fx		*fx = *state;
	pthread_t		 t[THREADS];
	struct worker		 w[THREADS];
	struct ra_audit_filter	 f;
	struct ra_audit_rec	*l = NULL;
	struct ra_store		*other = NULL;
	const char		*ep = nm(fx, "par");
	size_t			 n = 0, i;

	for (i = 0; i < THREADS; i++) {
		w[i].fx = fx;
		w[i].endpoint = ep;
		w[i].fails = 0;
		assert_int_equal(pthread_create(&t[i], NULL, writer, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].fails, 0);
	}
	/* Committed: a second handle sees every record. */
	OK(fx, ra_store_open(fx->db, &other, &fx->err));
	memset(&f, 0, sizeof(f));
	f.endpoint = ep;
	OK(fx, ra_store_audit_list(other, &f, &l, &n, &fx->err));
	assert_int_equal(n, THREADS * EACH);
	free(l);
	ra_store_close(other);
}

/* ---- failure counters, refusal windows, prune (issue 10 s.4, s.5) ---- */

/* Counts are shared by every handle, expire by time, are never evicted. */
static void
test_fail_counts(void **state)
{
	struct fx		*fx = *state;
	struct ra_store		*other = NULL;
	struct ra_fail_query	 q[RA_FAIL_KEYS] = { { "p", 1000 },
	    { "*", 1050 }, { NULL, 0 } };
	const char		*both[] = { "p", "*" };
	const char		*one[2] = { NULL, "*" };
	int64_t			 c[RA_FAIL_KEYS];
	char			 key[32];
	int			 i;

	OK(fx, ra_store_open(fx->db, &other, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, 7, both, 2, 1000, 0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, 7, both, 2, 1000, 0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, 7, both, 2, 1060, 0, &fx->err));
	OK(fx, ra_store_fail_add(fx->st, 8, both, 2, 1060, 0, &fx->err));
	/* Another handle (another process) sees them, per endpoint. */
	OK(fx, ra_store_fail_count(other, 7, q, 3, c, &fx->err));
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 1);		/* since 1050 */
	assert_int_equal(c[2], 0);
	/* 2,000 other keys make no room by dropping "p". */
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.0/24", i / 256, i % 256);
		one[0] = key;
		OK(fx, ra_store_fail_add(other, 7, one, 2, 1061, 900,
		    &fx->err));
	}
	OK(fx, ra_store_fail_count(fx->st, 7, q, 2, c, &fx->err));
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 2001);
	/* Time is what expires them. */
	OK(fx, ra_store_fail_add(other, 9, one, 1, 2000, 1001, &fx->err));
	OK(fx, ra_store_fail_count(fx->st, 7, q, 2, c, &fx->err));
	assert_int_equal(c[0], 1);
	ra_store_close(other);
}

static void
audit_details(struct fx *fx, const char *endpoint, struct ra_audit_rec **l,
    size_t *n)
{
	struct ra_audit_filter	f;

	memset(&f, 0, sizeof(f));
	f.endpoint = endpoint;
	OK(fx, ra_store_audit_list(fx->st, &f, l, n, &fx->err));
}

/* One record per window and source, however many refusals. */
static void
test_refusal_windows(void **state)
{
	struct fx		*fx = *state;
	struct ra_refusal	 r = { "192.0.2.0/24", NULL,
	    "bad access code" };
	struct ra_audit_rec	*l = NULL;
	size_t			 n = 0;
	bool			 first = false;
	int			 i;

	r.endpoint = nm(fx, "e");
	OK(fx, ra_store_refusal_add(fx->st, &r, 1000, 60, &first, &fx->err));
	assert_true(first);
	for (i = 0; i < 412; i++) {
		OK(fx, ra_store_refusal_add(fx->st, &r, 1001 + i % 59, 60,
		    &first, &fx->err));
		assert_false(first);
	}
	audit_details(fx, r.endpoint, &l, &n);
	assert_int_equal(n, 0);		/* the window is still open */
	free(l);
	/* Closed by the next call after it, with or without a refusal. */
	OK(fx, ra_store_refusal_add(fx->st, NULL, 1060, 60, NULL, &fx->err));
	audit_details(fx, r.endpoint, &l, &n);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].details, "412 further refused requests from "
	    "192.0.2.0/24 within 60 s: bad access code");
	assert_string_equal(l[0].actor, "device@192.0.2.0/24");
	assert_string_equal(l[0].outcome, "failure");
	free(l);
	OK(fx, ra_store_refusal_add(fx->st, &r, 1061, 60, &first, &fx->err));
	assert_true(first);		/* a new window */
	/* A window with one refusal only adds no record when it closes. */
	OK(fx, ra_store_refusal_add(fx->st, NULL, 5000, 60, NULL, &fx->err));
	audit_details(fx, r.endpoint, &l, &n);
	assert_int_equal(n, 1);
	free(l);
}

/* Prune: only the exported range, itself recorded, nothing else. */
static void
test_audit_prune(void **state)
{
	struct fx		*fx = *state;
	struct ra_audit		 a = { "alice", NULL, NULL, NULL, "x",
	    "ok", NULL };
	struct ra_audit		 rec = { "admin", NULL, NULL, NULL,
	    "audit prune", "success", "ids" };
	struct ra_audit_filter	 f;
	struct ra_audit_rec	*l = NULL;
	size_t			 n = 0;
	int64_t			 before = (int64_t)time(NULL) + 1;
	int			 i, r;

	a.endpoint = nm(fx, "e");
	rec.endpoint = a.endpoint;
	for (i = 0; i < 3; i++)
		OK(fx, ra_store_audit_add(fx->st, &a, &fx->err));
	audit_details(fx, a.endpoint, &l, &n);
	assert_int_equal(n, 3);
	/* A range that is not what the database holds: nothing goes. */
	RC(fx, SG_ENOTFOUND, ra_store_audit_prune(fx->st, before, l[0].id,
	    l[1].id, 2, &rec, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_audit_prune(fx->st, before, l[0].id,
	    l[2].id, 0, &rec, &fx->err));
	free(l);
	/* A shared database (PostgreSQL) holds earlier tests' records too. */
	memset(&f, 0, sizeof(f));
	f.until = before - 1;
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	OK(fx, ra_store_audit_prune(fx->st, before, l[0].id, l[n - 1].id,
	    (int64_t)n, &rec, &fx->err));
	free(l);
	audit_details(fx, a.endpoint, &l, &n);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].action, "audit prune");
	free(l);
	/* Outside the prune call, a DELETE is still refused. */
	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0)
		skip();
	assert_int_not_equal(raw_sql(fx, "DELETE FROM audit"), 0);
	audit_details(fx, a.endpoint, &l, &n);
	assert_int_equal(n, 1);
	free(l);
}

/*
 * ra_store_txn_stuck(before) with only endpoint "ep"'s rows kept: a
 * shared database (PostgreSQL) holds other tests' NEW rows too (stuck
 * there as soon as the store that made them is closed).
 */
static void
stuck_before(struct fx *fx, int64_t before, int64_t ep, struct ra_txn **o,
    size_t *n)
{
	size_t	i, k = 0;

	OK(fx, ra_store_txn_stuck(fx->st, before, o, n, &fx->err));
	for (i = 0; i < *n; i++)
		if ((*o)[i].endpoint_id == ep)
			(*o)[k++] = (*o)[i];
	*n = k;
}

static void
stuck_of(struct fx *fx, int64_t ep, struct ra_txn **o, size_t *n)
{
	stuck_before(fx, INT64_MAX, ep, o, n);
}

/*
 * ra_store_txn_issued: certificate, ISSUED state, superseding and audit
 * in one call, all or nothing; ra_store_txn_stuck lists old NEW rows
 * with the certificate recorded for them.
 */
static void
test_txn_issued(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_txn		 t, u, *o = NULL;
	struct ra_cert_rec	 rec;
	struct ra_cert		 c;
	struct ra_audit		 au = { "device@x", NULL, NULL, "I1",
	    "PKCSReq", "success", "issued" };
	struct ra_audit_filter	 f;
	struct ra_audit_rec	*l = NULL;
	static const uint8_t	 der[] = { 0x30, 0x03, 1, 2, 3 };
	size_t			 n = 0, before;

	base(fx, &ep);
	memset(&f, 0, sizeof(f));
	f.until = INT64_MAX;
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &before, &fx->err));
	free(l);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "OLD"));
	rec.endpoint_id = ep.id;
	snprintf(rec.subject, sizeof(rec.subject), "CN=x");
	rec.der = der;
	rec.der_len = sizeof(der);
	OK(fx, ra_store_cert_add(fx->st, &rec, &fx->err));

	txn(ep.id, "I1", &t);
	snprintf(t.renews, sizeof(t.renews), "%s", nm(fx, "OLD"));
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	/* Stuck: NEW and older than the bound; none when the bound is old. */
	stuck_before(fx, 0, ep.id, &o, &n);
	assert_int_equal(n, 0);
	free(o);
	stuck_of(fx, ep.id, &o, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].id, t.id);
	assert_string_equal(o[0].serial, "");
	free(o);

	/* A lost race writes nothing: no certificate, no audit. */
	t.status = RA_REQ_ISSUED;
	snprintf(t.serial, sizeof(t.serial), "%s", nm(fx, "NEW"));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "NEW"));
	rec.txn_id = t.id;
	RC(fx, SG_ENOTFOUND, ra_store_txn_issued(fx->st, &t, &rec, &au,
	    RA_REQ_PENDING, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_cert_get(fx->st, nm(fx, "NEW"), &c,
	    NULL, NULL, NULL, &fx->err));
	/* A known serial: the state is not written either. */
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "OLD"));
	RC(fx, SG_EEXIST, ra_store_txn_issued(fx->st, &t, &rec, &au,
	    RA_REQ_NEW, &fx->err));
	OK(fx, ra_store_txn_find(fx->st, ep.id, "I1", &u, &fx->err));
	assert_int_equal(u.status, RA_REQ_NEW);

	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "NEW"));
	OK(fx, ra_store_txn_issued(fx->st, &t, &rec, &au, RA_REQ_NEW,
	    &fx->err));
	OK(fx, ra_store_txn_find(fx->st, ep.id, "I1", &u, &fx->err));
	assert_int_equal(u.status, RA_REQ_ISSUED);
	assert_string_equal(u.serial, nm(fx, "NEW"));
	OK(fx, ra_store_cert_get(fx->st, nm(fx, "NEW"), &c, NULL, NULL, NULL,
	    &fx->err));
	assert_int_equal(c.status, RA_CERT_VALID);
	OK(fx, ra_store_cert_get(fx->st, nm(fx, "OLD"), &c, NULL, NULL, NULL,
	    &fx->err));
	assert_int_equal(c.status, RA_CERT_SUPERSEDED);
	OK(fx, ra_store_audit_list(fx->st, &f, &l, &n, &fx->err));
	assert_int_equal(n, before + 1);
	assert_string_equal(l[n - 1].transid, "I1");
	free(l);
	stuck_of(fx, ep.id, &o, &n);
	assert_int_equal(n, 0);
	free(o);

	/* A NEW row whose certificate is recorded is listed with it. */
	txn(ep.id, "I2", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "ORPHAN"));
	rec.txn_id = t.id;
	OK(fx, ra_store_cert_add(fx->st, &rec, &fx->err));
	stuck_of(fx, ep.id, &o, &n);
	assert_int_equal(n, 1);
	assert_string_equal(o[0].serial, nm(fx, "ORPHAN"));
	/* Finished with the certificate already there (c NULL), no audit. */
	o[0].status = RA_REQ_ISSUED;
	OK(fx, ra_store_txn_issued(fx->st, &o[0], NULL, NULL, RA_REQ_NEW,
	    &fx->err));
	free(o);
	OK(fx, ra_store_txn_find(fx->st, ep.id, "I2", &u, &fx->err));
	assert_int_equal(u.status, RA_REQ_ISSUED);
	assert_string_equal(u.serial, nm(fx, "ORPHAN"));
}

/* A pending transaction "transid" of endpoint ep_id with an order. */
static int64_t
pending(struct fx *fx, int64_t ep_id, const char *transid)
{
	struct ra_txn	t;

	txn(ep_id, transid, &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	t.status = RA_REQ_PENDING;
	snprintf(t.order_id, sizeof(t.order_id), "order-%s", transid);
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_NEW, &fx->err));
	return t.id;
}

/* How many of the "n" claimed rows belong to this run's endpoint. */
static size_t
mine(const struct ra_txn *o, size_t n, int64_t ep_id)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		k += o[i].endpoint_id == ep_id;
	return k;
}

/*
 * Claims of pending orders: two holders get disjoint rows; a holder
 * re-claims its own; an expired claim is taken over; a decided row is
 * no order. The scratch database may hold other runs' rows: only this
 * run's endpoint is counted.
 */
static void
test_txn_claim(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_txn		*a = NULL, *b = NULL, t;
	size_t			 na = 0, nb = 0;
	int64_t			 id1;

	base(fx, &ep);
	id1 = pending(fx, ep.id, "C1");
	(void)pending(fx, ep.id, "C2");
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "a"), 1000, 1060, 1000, &a,
	    &na, &fx->err));
	assert_int_equal(mine(a, na, ep.id), 2);
	free(a);
	/* Held by a until 1060: b gets none of them, a gets them again. */
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "b"), 1010, 1070, 1000, &b,
	    &nb, &fx->err));
	assert_int_equal(mine(b, nb, ep.id), 0);
	free(b);
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "a"), 1020, 1080, 1000, &a,
	    &na, &fx->err));
	assert_int_equal(mine(a, na, ep.id), 2);
	free(a);
	/* a died: after its claim ran out, b takes both over. */
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "b"), 1081, 1141, 1000, &b,
	    &nb, &fx->err));
	assert_int_equal(mine(b, nb, ep.id), 2);
	free(b);
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "a"), 1090, 1150, 1000, &a,
	    &na, &fx->err));
	assert_int_equal(mine(a, na, ep.id), 0);
	free(a);
	/* Decided: no longer an order for anybody. */
	OK(fx, ra_store_txn_get(fx->st, id1, &t, NULL, NULL, &fx->err));
	t.status = RA_REQ_ISSUED;
	snprintf(t.serial, sizeof(t.serial), "C1");
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_PENDING, &fx->err));
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "b"), 2000, 2060, 1000, &b,
	    &nb, &fx->err));
	assert_int_equal(mine(b, nb, ep.id), 1);
	assert_string_equal(b[0].order_id, "order-C2");
	free(b);
}

/* A named lease: one holder at a time, taken over once it expired. */
static void
test_lease(void **state)
{
	struct fx	*fx = *state;
	const char	*job = nm(fx, "job");
	bool		 taken = false;

	OK(fx, ra_store_lease_take(fx->st, job, "a", 100, 160, &taken,
	    &fx->err));
	assert_true(taken);
	OK(fx, ra_store_lease_take(fx->st, job, "b", 150, 210, &taken,
	    &fx->err));
	assert_false(taken);
	OK(fx, ra_store_lease_take(fx->st, job, "a", 155, 215, &taken,
	    &fx->err));
	assert_true(taken);
	OK(fx, ra_store_lease_take(fx->st, job, "b", 210, 270, &taken,
	    &fx->err));
	assert_false(taken);
	OK(fx, ra_store_lease_take(fx->st, job, "b", 216, 276, &taken,
	    &fx->err));
	assert_true(taken);
	OK(fx, ra_store_ping(fx->st, &fx->err));
}

/* ---- API tokens and one-time challenges (issue 13) ---- */

static void
test_tokens(void **state)
{
	struct fx	*fx = *state;
	struct ra_token	 t = { 0 }, got, *l = NULL;
	uint8_t		 mac[32], other[32], stored[32];
	size_t		 n = 0;

	memset(mac, 0x5a, sizeof(mac));
	memset(other, 0xa5, sizeof(other));
	snprintf(t.name, sizeof(t.name), "%s", nm(fx, "tok"));
	t.scope = RA_SCOPE_READ;
	t.created = 1000;
	OK(fx, ra_store_token_add(fx->st, &t, mac, &fx->err));
	assert_true(t.id > 0);
	/* A name, and an HMAC, only once. */
	RC(fx, SG_EEXIST, ra_store_token_add(fx->st, &t, other, &fx->err));
	snprintf(t.name, sizeof(t.name), "%s", nm(fx, "tok2"));
	RC(fx, SG_EEXIST, ra_store_token_add(fx->st, &t, mac, &fx->err));
	OK(fx, ra_store_token_by_hmac(fx->st, mac, &got, stored, &fx->err));
	assert_string_equal(got.name, nm(fx, "tok"));
	assert_int_equal(got.scope, RA_SCOPE_READ);
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.last_used, 0);
	assert_memory_equal(stored, mac, sizeof(mac));
	RC(fx, SG_ENOTFOUND, ra_store_token_by_hmac(fx->st, other, &got,
	    stored, &fx->err));
	OK(fx, ra_store_token_used(fx->st, got.id, 2000, &fx->err));
	OK(fx, ra_store_token_revoke(fx->st, nm(fx, "tok"), 3000, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_token_revoke(fx->st, nm(fx, "tok"),
	    3000, &fx->err));
	OK(fx, ra_store_token_by_hmac(fx->st, mac, &got, stored, &fx->err));
	assert_int_equal(got.last_used, 2000);
	assert_true(got.revoked);
	OK(fx, ra_store_token_list(fx->st, &l, &n, &fx->err));
	assert_true(n >= 1);
	free(l);
}

/* A challenge on ep under account "acct_id", expiring at "expires". */
static int64_t
challenge(struct fx *fx, const struct ra_endpoint *ep, int64_t acct_id,
    uint8_t seed, int64_t expires, int64_t cap, enum sg_rc want)
{
	struct ra_chal_rec	r;
	uint8_t			mac[32];

	memset(&r, 0, sizeof(r));
	memset(mac, seed, sizeof(mac));
	r.endpoint_id = ep->id;
	r.account_id = acct_id;
	snprintf(r.c.minted_by, sizeof(r.c.minted_by), "mdm");
	snprintf(r.c.cn, sizeof(r.c.cn), "dev");
	r.c.created = (int64_t)time(NULL);
	r.c.expires = expires;
	RC(fx, want, ra_store_challenge_add(fx->st, &r, mac, cap, &fx->err));
	return r.c.id;
}

static void
test_challenges(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_account	 a;
	struct ra_chal_rec	 r;
	struct ra_challenge	*l = NULL;
	struct ra_txn		 t1, t2, t3, u;
	struct ra_cert_rec	 rec;
	struct ra_cert		 c;
	static const uint8_t	 der[] = { 0x30, 0x03, 1, 2, 3 };
	uint8_t			 mac[32];
	int64_t			 now = (int64_t)time(NULL), id, id2, purged;
	size_t			 n = 0;

	base(fx, &ep);
	account(fx, "a", "", 7, &a);
	id = challenge(fx, &ep, a.id, 1, now + 600, 2, SG_OK);
	id2 = challenge(fx, &ep, a.id, 2, now + 600, 2, SG_OK);
	(void)challenge(fx, &ep, a.id, 3, now + 600, 2, SG_ELIMIT);
	(void)challenge(fx, &ep, a.id, 1, now + 600, 9, SG_EEXIST);
	memset(mac, 1, sizeof(mac));
	OK(fx, ra_store_challenge_by_code(fx->st, ep.id, mac, now, &r,
	    &fx->err));
	assert_int_equal(r.c.id, id);
	assert_int_equal(r.account_id, a.id);
	assert_string_equal(r.c.account, "a");
	assert_string_equal(r.c.endpoint, ep.name);
	assert_string_equal(r.c.cn, "dev");
	assert_int_equal(r.c.status, RA_CHAL_OUTSTANDING);
	RC(fx, SG_ENOTFOUND, ra_store_challenge_by_code(fx->st, ep.id + 1,
	    mac, now, &r, &fx->err));
	OK(fx, ra_store_challenge_get(fx->st, id, now + 601, &r, &fx->err));
	assert_int_equal(r.c.status, RA_CHAL_EXPIRED);

	/* One claim: the second transaction is not inserted. */
	txn(ep.id, "C1", &t1);
	t1.challenge_id = id;
	OK(fx, ra_store_txn_begin(fx->st, &t1, &fx->err));
	txn(ep.id, "C2", &t2);
	t2.challenge_id = id;
	RC(fx, SG_ENOTFOUND, ra_store_txn_begin(fx->st, &t2, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_txn_find(fx->st, ep.id, "C2", &u,
	    &fx->err));
	/* Its holder rejected, the challenge is free again. */
	t1.status = RA_REQ_REJECTED;
	OK(fx, ra_store_txn_update(fx->st, &t1, RA_REQ_NEW, &fx->err));
	OK(fx, ra_store_txn_begin(fx->st, &t2, &fx->err));
	OK(fx, ra_store_txn_find(fx->st, ep.id, "C2", &u, &fx->err));
	assert_int_equal(u.challenge_id, id);

	/* Issued: the certificate names it and its minter; used up. */
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "CH"));
	rec.endpoint_id = ep.id;
	rec.txn_id = t2.id;
	snprintf(rec.subject, sizeof(rec.subject), "CN=dev");
	rec.der = der;
	rec.der_len = sizeof(der);
	t2.status = RA_REQ_ISSUED;
	snprintf(t2.serial, sizeof(t2.serial), "%s", nm(fx, "CH"));
	OK(fx, ra_store_txn_issued(fx->st, &t2, &rec, NULL, RA_REQ_NEW,
	    &fx->err));
	OK(fx, ra_store_cert_get(fx->st, nm(fx, "CH"), &c, NULL, NULL, NULL,
	    &fx->err));
	assert_int_equal(c.challenge_id, id);
	assert_string_equal(c.minted_by, "mdm");
	OK(fx, ra_store_challenge_get(fx->st, id, now, &r, &fx->err));
	assert_int_equal(r.c.status, RA_CHAL_USED);
	assert_string_equal(r.c.serial, nm(fx, "CH"));
	assert_true(r.c.used > 0);
	txn(ep.id, "C3", &t3);
	t3.challenge_id = id;
	RC(fx, SG_ENOTFOUND, ra_store_txn_begin(fx->st, &t3, &fx->err));
	RC(fx, SG_ENOTFOUND, ra_store_challenge_revoke(fx->st, id, now,
	    &fx->err));

	/* Lists; revoke; the room it leaves under the cap. */
	OK(fx, ra_store_challenge_list(fx->st, ep.name, false, now, &l, &n,
	    &fx->err));
	assert_int_equal(n, 1);
	assert_int_equal(l[0].id, id2);
	free(l);
	OK(fx, ra_store_challenge_list(fx->st, ep.name, true, now, &l, &n,
	    &fx->err));
	assert_int_equal(n, 2);
	free(l);
	OK(fx, ra_store_challenge_revoke(fx->st, id2, now, &fx->err));
	OK(fx, ra_store_challenge_get(fx->st, id2, now, &r, &fx->err));
	assert_int_equal(r.c.status, RA_CHAL_REVOKED);
	txn(ep.id, "C4", &t3);
	t3.challenge_id = id2;
	RC(fx, SG_ENOTFOUND, ra_store_txn_begin(fx->st, &t3, &fx->err));
	(void)challenge(fx, &ep, a.id, 4, now + 600, 2, SG_OK);

	/* Purge: long expired and unused only. */
	(void)challenge(fx, &ep, a.id, 5, now - 30 * 86400, 9, SG_OK);
	OK(fx, ra_store_challenge_purge(fx->st, now - 7 * 86400, &purged,
	    &fx->err));
	assert_int_equal(purged, 1);
	OK(fx, ra_store_challenge_get(fx->st, id, now, &r, &fx->err));
	OK(fx, ra_store_challenge_purge(fx->st, now - 7 * 86400, &purged,
	    &fx->err));
	assert_int_equal(purged, 0);
}

/* Two handles (processes) claim one challenge at once: one wins. */
struct claimer {
	struct ra_store		*st;
	pthread_barrier_t	*go;
	struct ra_txn		 t;
	enum sg_rc		 rc;
};

static void *
claim(void *arg)
{
	struct claimer	*c = arg;

	(void)pthread_barrier_wait(c->go);
	c->rc = ra_store_txn_begin(c->st, &c->t, NULL);
	return NULL;
}

static void
test_challenge_race(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_account	 a;
	struct claimer		 c[2];
	pthread_barrier_t	 go;
	pthread_t		 th[2];
	char			 tid[32];
	int64_t			 id;
	int			 round, i, won;

	base(fx, &ep);
	account(fx, "a", "", 8, &a);
	memset(c, 0, sizeof(c));
	OK(fx, ra_store_open(fx->db, &c[1].st, &fx->err));
	c[0].st = fx->st;
	for (round = 0; round < 10; round++) {
		id = challenge(fx, &ep, a.id, (uint8_t)(10 + round),
		    (int64_t)time(NULL) + 600, 100, SG_OK);
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			snprintf(tid, sizeof(tid), "R%d-%d", round, i);
			txn(ep.id, tid, &c[i].t);
			c[i].t.challenge_id = id;
			c[i].go = &go;
			assert_int_equal(pthread_create(&th[i], NULL, claim,
			    &c[i]), 0);
		}
		won = 0;
		for (i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			if (c[i].rc == SG_OK)
				won++;
			else
				assert_int_equal(c[i].rc, SG_ENOTFOUND);
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(won, 1);
	}
	ra_store_close(c[1].st);
}

/*
 * A version 3 database (before tokens and challenges) is upgraded to 4
 * at open: the two tables and the challenge columns of txn and cert.
 */
static void
test_schema_upgrade_v3(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_account	 a;
	struct ra_txn		 t, u;
	int			 r;

	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0) {
		fprintf(stderr, "no database client: upgrade unchecked\n");
		skip();
	}
	base(fx, &ep);
	account(fx, "a", "", 9, &a);
	txn(ep.id, "V3", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	ra_store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(raw_sql(fx, "DROP TABLE api_token; DROP TABLE "
	    "challenge; ALTER TABLE txn DROP COLUMN challenge_id; ALTER "
	    "TABLE cert DROP COLUMN challenge_id; ALTER TABLE cert DROP "
	    "COLUMN minted_by; UPDATE meta SET value = '3' "
	    "WHERE key = 'schema_version'"), 0);
	OK(fx, ra_store_open(fx->db, &fx->st, &fx->err));
	assert_int_equal(version_is(fx, "4"), 0);
	OK(fx, ra_store_txn_find(fx->st, ep.id, "V3", &u, &fx->err));
	assert_int_equal(u.challenge_id, 0);
	txn(ep.id, "V4", &t);
	t.challenge_id = challenge(fx, &ep, a.id, 42,
	    (int64_t)time(NULL) + 600, 9, SG_OK);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
}

/*
 * A version 3 database: refused with database_auto_upgrade off (the
 * message says what to run), then upgraded by ra_store_upgrade (what
 * scepctl db upgrade calls), which says from and to.
 */
static void
test_schema_upgrade_v3_flags(void **state)
{
	struct fx	*fx = *state;
	struct ra_store	*st = NULL;
	struct ra_txn	*o = NULL;
	struct sg_err	 err;
	size_t		 n = 0;
	int		 from = 0, to = 0, r;

	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0) {
		fprintf(stderr, "no database client: upgrade unchecked\n");
		skip();
	}
	ra_store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(raw_sql(fx, "DROP TABLE lease"), 0);
	assert_int_equal(raw_sql(fx, "ALTER TABLE txn DROP COLUMN "
	    "claimed_by"), 0);
	assert_int_equal(raw_sql(fx, "ALTER TABLE txn DROP COLUMN "
	    "claimed_until"), 0);
	assert_int_equal(raw_sql(fx, "UPDATE meta SET value = '3' "
	    "WHERE key = 'schema_version'"), 0);
	assert_int_equal(ra_store_open_flags(fx->db, RA_STORE_NO_UPGRADE,
	    &st, &err), SG_ESTORE);
	assert_null(st);
	assert_non_null(strstr(err.msg, "scepctl db upgrade"));
	assert_int_equal(version_is(fx, "3"), 0);
	OK(fx, ra_store_upgrade(fx->db, &from, &to, &fx->err));
	assert_int_equal(from, 3);
	assert_int_equal(to, 4);
	assert_int_equal(version_is(fx, "4"), 0);
	OK(fx, ra_store_open_flags(fx->db, RA_STORE_NO_UPGRADE, &fx->st,
	    &fx->err));
	OK(fx, ra_store_txn_claim(fx->st, nm(fx, "a"), 0, 1, 1, &o, &n,
	    &fx->err));
	free(o);
	OK(fx, ra_store_upgrade(fx->db, &from, &to, &fx->err));
	assert_int_equal(from, 4);
}

/*
 * A NEW row is its creator's (ra_store_instance): on PostgreSQL it is
 * stuck at once when the creator has no connection left (kill -9 of an
 * instance), not only after the age bound; never while it is this
 * store's own. SQLite knows only the age.
 */
static void
test_txn_creator_gone(void **state)
{
	struct fx		*fx = *state;
	struct ra_endpoint	 ep;
	struct ra_txn		 t, *o = NULL;
	struct conf_db		 db;
	size_t			 n = 0;
	char			 q[200];
	int			 r;

	r = raw_sql(fx, "SELECT 1");
	if (r == 127 || r < 0) {
		fprintf(stderr, "no database client: creator unchecked\n");
		skip();
	}
	base(fx, &ep);
	txn(ep.id, "G1", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	stuck_before(fx, 0, ep.id, &o, &n);
	assert_int_equal(n, 0);
	free(o);
	snprintf(q, sizeof(q), "UPDATE txn SET claimed_by = 'gone:1:1' "
	    "WHERE id = %lld", (long long)t.id);
	assert_int_equal(raw_sql(fx, q), 0);
	stuck_before(fx, 0, ep.id, &o, &n);
	assert_int_equal(conf_database_parse(fx->db, &db, NULL), SG_OK);
	assert_int_equal(n, db.kind == CONF_DB_SQLITE ? 0 : 1);
	free(o);
	assert_non_null(strchr(ra_store_instance(fx->st), ':'));
	assert_true(strlen(ra_store_instance(fx->st)) < 64);
}

/*
 * ra_store_invariants: the schema and the audit's triggers as made; a
 * certificate of a missing transaction and an ISSUED row without its
 * certificate each count once more (the scratch database may hold
 * other tests' rows: only the increase is checked).
 */
static void
test_invariants(void **state)
{
	struct fx			*fx = *state;
	struct ra_store_invariants	 a, b;
	struct ra_endpoint		 ep;
	struct ra_cert_rec		 rec;
	struct ra_txn			 t;
	static const uint8_t		 der[] = { 0x30, 0x03, 1, 2, 3 };

	base(fx, &ep);
	OK(fx, ra_store_invariants(fx->st, &a, &fx->err));
	assert_int_equal(a.schema, 4);
	assert_true(a.audit_guard);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", nm(fx, "ORPHAN"));
	rec.endpoint_id = ep.id;
	rec.txn_id = INT64_MAX / 2;
	snprintf(rec.subject, sizeof(rec.subject), "CN=x");
	rec.der = der;
	rec.der_len = sizeof(der);
	OK(fx, ra_store_cert_add(fx->st, &rec, &fx->err));
	txn(ep.id, "V1", &t);
	OK(fx, ra_store_txn_begin(fx->st, &t, &fx->err));
	t.status = RA_REQ_ISSUED;
	snprintf(t.serial, sizeof(t.serial), "%s", nm(fx, "NOCERT"));
	OK(fx, ra_store_txn_update(fx->st, &t, RA_REQ_NEW, &fx->err));
	OK(fx, ra_store_invariants(fx->st, &b, &fx->err));
	assert_int_equal(b.cert_bad, a.cert_bad + 1);
	assert_int_equal(b.issued_bad, a.issued_bad + 1);
	assert_int_equal(b.certs, a.certs + 1);
	assert_int_equal(b.txns, a.txns + 1);
	assert_false(ra_store_invariants_ok(&b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orgs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_endpoints, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delegation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_race, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_mark, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gauges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_certs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_challenge_race, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schema_upgrade_v3, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_issued, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_upgrade_v2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fail_counts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusal_windows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_webhooks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_prune, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_claim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invariants, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_creator_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schema_upgrade_v3_flags, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
