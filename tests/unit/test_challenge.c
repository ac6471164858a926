/*
 * API tokens (ra_token.c) and one-time challenges (ra_challenge.c,
 * issue 13): tokens verify, revoke and keep their names; the scope
 * table; challenges mint under a cap, expire, admit one enrollment
 * (a resend of it still gets its certificate), keep their CN/SAN
 * requirement, survive a refused request, and two RAs racing on one
 * challenge get one certificate. On the shared instance fixture.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "p7.h"
#include "ra.h"
#include "ra_json.h"
#include "sg.h"
#include "sg_test.h"

static int
setup(void **state)
{
	return sgt_fx_setup(state, "test_challenge");
}

/* Does the database file hold "secret" anywhere (in clear)? */
static bool
db_holds(const struct sgt_fx *fx, const char *secret)
{
	uint8_t	*b;
	size_t	 len = 0, n = strlen(secret), i;
	bool	 yes = false;

	if ((b = sgt_slurp(fx->db, &len)) == NULL)
		return false;
	for (i = 0; !yes && n <= len && i <= len - n; i++)
		yes = memcmp(b + i, secret, n) == 0;
	free(b);
	return yes;
}

/* Mint on "endpoint" with "lifetime", cn, san; the id, code in code. */
static int64_t
mint(struct sgt_fx *fx, struct ra *ra, const char *endpoint, int lifetime,
    const char *cn, const char *san, char *code)
{
	struct ra_challenge_req	req = { endpoint, NULL, lifetime, cn, san };
	struct ra_challenge	c;
	struct sg_err		err = { 0 };
	enum sg_rc		rc;

	(void)fx;
	rc = ra_challenge_add(ra, &req, code, &c, &err);
	if (rc != SG_OK)
		fail_msg("ra_challenge_add %s: %s", endpoint, err.msg);
	assert_int_equal(strlen(code), RA_CODE_LEN);
	assert_int_equal(c.status, RA_CHAL_OUTSTANDING);
	return c.id;
}

/* The challenge "id" as listed (with --all). */
static struct ra_challenge
listed(struct sgt_fx *fx, const char *endpoint, int64_t id)
{
	struct ra_challenge	*l = NULL, c;
	struct sg_err		 err = { 0 };
	size_t			 n = 0, i;

	assert_int_equal(ra_challenge_list(fx->ra, endpoint, true, &l, &n,
	    &err), SG_OK);
	for (i = 0; i < n && l[i].id != id; i++)
		continue;
	assert_true(i < n);
	c = l[i];
	free(l);
	return c;
}

static void
expect_refused(struct p7_certrep *rep, const char *text, const char *what)
{
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST, what);
	assert_string_equal(rep->failtext, text);
	p7_certrep_free(rep);
}

/* ---- tokens ---- */

static void
test_token(void **state)
{
	struct sgt_fx	*fx = *state;
	struct ra_token	 t = { 0 }, got, *l = NULL;
	struct sg_err	 err = { 0 };
	char		 sec[RA_TOKEN_MAX], sec2[RA_TOKEN_MAX];
	json_t		*j;
	size_t		 n = 0;

	snprintf(t.name, sizeof(t.name), "mdm");
	t.scope = RA_SCOPE_CHALLENGE;
	snprintf(t.endpoint, sizeof(t.endpoint), "demo");
	assert_int_equal(ra_token_add(fx->ra, &t, sec, &err), SG_OK);
	assert_true(t.id > 0);
	assert_memory_equal(sec, "sgt_", 4);
	assert_int_equal(strlen(sec), 4 + 43);	/* 32 bytes, base64url */
	assert_null(strpbrk(sec, "+/="));
	assert_false(db_holds(fx, sec));

	assert_int_equal(ra_token_verify(fx->ra, sec, NULL, &got, &err),
	    SG_OK);
	assert_string_equal(got.name, "mdm");
	assert_int_equal(got.scope, RA_SCOPE_CHALLENGE);
	assert_string_equal(got.endpoint, "demo");
	assert_int_equal(ra_token_verify(fx->ra, sec, "mdm", &got, &err),
	    SG_OK);
	/* Basic auth with another user name; a wrong or cut token. */
	assert_int_equal(ra_token_verify(fx->ra, sec, "other", &got, &err),
	    SG_EPOLICY);
	assert_string_equal(err.msg, "bad token");
	sec[10] = sec[10] == 'A' ? 'B' : 'A';
	assert_int_equal(ra_token_verify(fx->ra, sec, NULL, &got, &err),
	    SG_EPOLICY);
	assert_string_equal(err.msg, "bad token");
	sec[10] = '\0';
	assert_int_equal(ra_token_verify(fx->ra, sec, NULL, &got, &err),
	    SG_EPOLICY);
	assert_int_equal(ra_token_verify(fx->ra, "", NULL, &got, &err),
	    SG_EPOLICY);

	/* An unknown endpoint, a second "mdm". */
	snprintf(t.endpoint, sizeof(t.endpoint), "nosuch");
	snprintf(t.name, sizeof(t.name), "mdm2");
	assert_int_equal(ra_token_add(fx->ra, &t, sec2, &err), SG_ENOTFOUND);
	t.endpoint[0] = '\0';
	t.scope = RA_SCOPE_READ;
	assert_int_equal(ra_token_add(fx->ra, &t, sec2, &err), SG_OK);
	snprintf(t.name, sizeof(t.name), "mdm");
	assert_int_equal(ra_token_add(fx->ra, &t, sec, &err), SG_EEXIST);

	/* Revoked: refused, still listed, its name not reused. */
	assert_int_equal(ra_token_verify(fx->ra, sec2, "mdm2", &got, &err),
	    SG_OK);
	assert_int_equal(ra_token_revoke(fx->ra, "mdm2", &err), SG_OK);
	assert_int_equal(ra_token_verify(fx->ra, sec2, "mdm2", &got, &err),
	    SG_EPOLICY);
	assert_int_equal(ra_token_revoke(fx->ra, "mdm2", &err),
	    SG_ENOTFOUND);
	assert_int_equal(ra_token_add(fx->ra, &t, sec, &err), SG_EEXIST);
	assert_int_equal(ra_token_list(fx->ra, &l, &n, &err), SG_OK);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].name, "mdm");
	assert_false(l[0].revoked);
	assert_true(l[0].last_used > 0);
	assert_string_equal(l[1].name, "mdm2");
	assert_true(l[1].revoked);
	j = ra_json_token(&l[1]);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "revoked");
	assert_string_equal(json_string_value(json_object_get(j, "scope")),
	    "read");
	json_decref(j);
	free(l);
	assert_false(db_holds(fx, sec2));
}

/* The scope table of ra_token_allows. */
static void
test_scope(void **state)
{
	static const struct {
		enum ra_scope	 scope;
		const char	*bound;
		enum ra_scope	 need;
		const char	*endpoint;
		bool		 ok;
	} t[] = {
		{ RA_SCOPE_CHALLENGE, "", RA_SCOPE_CHALLENGE, "demo", true },
		{ RA_SCOPE_CHALLENGE, "demo", RA_SCOPE_CHALLENGE, "demo",
		    true },
		{ RA_SCOPE_CHALLENGE, "demo", RA_SCOPE_CHALLENGE, "other",
		    false },
		{ RA_SCOPE_CHALLENGE, "", RA_SCOPE_CHALLENGE, NULL, false },
		{ RA_SCOPE_CHALLENGE, "", RA_SCOPE_READ, NULL, false },
		{ RA_SCOPE_CHALLENGE, "demo", RA_SCOPE_READ, "demo", false },
		{ RA_SCOPE_CHALLENGE, "", RA_SCOPE_ADMIN, "demo", false },
		{ RA_SCOPE_READ, "", RA_SCOPE_READ, NULL, true },
		{ RA_SCOPE_READ, "", RA_SCOPE_READ, "demo", true },
		{ RA_SCOPE_READ, "demo", RA_SCOPE_READ, "other", false },
		{ RA_SCOPE_READ, "", RA_SCOPE_CHALLENGE, "demo", false },
		{ RA_SCOPE_READ, "", RA_SCOPE_ADMIN, NULL, false },
		{ RA_SCOPE_ADMIN, "", RA_SCOPE_ADMIN, NULL, true },
		{ RA_SCOPE_ADMIN, "", RA_SCOPE_READ, NULL, true },
		{ RA_SCOPE_ADMIN, "", RA_SCOPE_CHALLENGE, "demo", true },
	};
	struct ra_token	tok;
	size_t		i;
	enum ra_scope	s;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&tok, 0, sizeof(tok));
		tok.scope = t[i].scope;
		snprintf(tok.endpoint, sizeof(tok.endpoint), "%s",
		    t[i].bound);
		if (ra_token_allows(&tok, t[i].need, t[i].endpoint) !=
		    t[i].ok)
			fail_msg("row %zu: %s token (bound '%s') for %s on %s",
			    i, ra_scope_name(t[i].scope), t[i].bound,
			    ra_scope_name(t[i].need),
			    t[i].endpoint ? t[i].endpoint : "(none)");
		tok.revoked = true;
		assert_false(ra_token_allows(&tok, t[i].need,
		    t[i].endpoint));
	}
	assert_true(ra_scope_parse("admin", &s));
	assert_int_equal(s, RA_SCOPE_ADMIN);
	assert_false(ra_scope_parse("root", &s));
}

/* ---- minting ---- */

static void
test_mint(void **state)
{
	struct sgt_fx		*fx = *state;
	struct ra_challenge_req	 req = { "chal-mint", NULL, 0, NULL, NULL };
	struct ra_account	 acct = { 0 };
	struct ra_challenge	 c;
	struct sg_err		 err = { 0 };
	char			 code[RA_CODE_MAX + 1];
	json_t			*j;
	char			*text;

	sgt_add_simple(fx, "chal-mint", 0, 30, false, RA_GETCERT_SINGLE);
	ra_set_actor(fx->ra, "mdm-token");
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_OK);
	ra_set_actor(fx->ra, "");
	assert_string_equal(c.account, "chal-mint-acct");
	assert_string_equal(c.minted_by, "mdm-token");
	assert_int_equal(c.expires - c.created, fx->conf->challenge_lifetime);
	assert_false(db_holds(fx, code));
	j = ra_json_challenge(&c);
	text = json_dumps(j, 0);
	assert_null(strstr(text, code));
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "outstanding");
	free(text);
	json_decref(j);

	/* Longer than challenges.lifetime; none; an unknown endpoint. */
	req.lifetime = fx->conf->challenge_lifetime + 1;
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_EPOLICY);
	req.lifetime = -1;
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_EPOLICY);
	req.lifetime = 0;
	req.san = "FTP:x";
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_EPOLICY);
	req.san = NULL;
	req.endpoint = "nosuch";
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_ENOTFOUND);

	/* Two accounts: the one to issue under must be named. */
	snprintf(acct.endpoint, sizeof(acct.endpoint), "chal-mint");
	snprintf(acct.name, sizeof(acct.name), "second");
	acct.term_days = 30;
	sgt_add_account(fx->ra, &acct, NULL, NULL);
	req.endpoint = "chal-mint";
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_EPOLICY);
	req.account = "second";
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_OK);
	assert_string_equal(c.account, "second");
	req.account = "third";
	assert_int_equal(ra_challenge_add(fx->ra, &req, code, &c, &err),
	    SG_ENOTFOUND);
}

/* challenges.max_outstanding: SG_ELIMIT at the cap, room after revoke. */
static void
test_cap(void **state)
{
	struct sgt_fx		*fx = *state;
	struct conf		 c = *fx->conf;
	struct ra		*ra2 = NULL;
	struct ra_challenge_req	 req = { "chal-cap", NULL, 0, NULL, NULL };
	struct ra_challenge	 ch;
	struct sg_err		 err = { 0 };
	char			 code[RA_CODE_MAX + 1];
	int64_t			 first = 0;
	int			 i;

	sgt_add_simple(fx, "chal-cap", 0, 30, false, RA_GETCERT_SINGLE);
	c.challenge_max = 3;
	assert_int_equal(ra_open(&c, &ra2, &err), SG_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ra_challenge_add(ra2, &req, code, &ch, &err),
		    SG_OK);
		if (i == 0)
			first = ch.id;
	}
	assert_int_equal(ra_challenge_add(ra2, &req, code, &ch, &err),
	    SG_ELIMIT);
	/* The cap is per endpoint. */
	sgt_add_simple(fx, "chal-cap2", 0, 30, false, RA_GETCERT_SINGLE);
	req.endpoint = "chal-cap2";
	assert_int_equal(ra_challenge_add(ra2, &req, code, &ch, &err),
	    SG_OK);
	req.endpoint = "chal-cap";
	assert_int_equal(ra_challenge_revoke(ra2, first, &err), SG_OK);
	assert_int_equal(ra_challenge_revoke(ra2, first, &err),
	    SG_ENOTFOUND);
	assert_int_equal(listed(fx, "chal-cap", first).status,
	    RA_CHAL_REVOKED);
	assert_int_equal(ra_challenge_add(ra2, &req, code, &ch, &err),
	    SG_OK);
	assert_int_equal(ra_challenge_add(ra2, &req, code, &ch, &err),
	    SG_ELIMIT);
	ra_close(ra2);
}

/* ---- consumption ---- */

/* Is there an audit record of "endpoint" whose details hold "text"? */
static bool
audited(struct sgt_fx *fx, const char *endpoint, const char *text)
{
	struct ra_audit_filter	 f = { 0 };
	struct ra_audit_rec	*a = NULL;
	struct sg_err		 err = { 0 };
	size_t			 n = 0, i;
	bool			 yes = false;

	f.endpoint = endpoint;
	assert_int_equal(ra_audit_list(fx->ra, &f, &a, &n, &err), SG_OK);
	for (i = 0; i < n && !yes; i++)
		yes = strstr(a[i].details, text) != NULL;
	free(a);
	return yes;
}

/* One enrollment per challenge; a resend still gets its certificate. */
static void
test_single_use(void **state)
{
	struct sgt_fx		*fx = *state;
	struct p7_certrep	*rep;
	struct ra_cert		 info;
	struct ra_challenge	 c;
	char			 code[RA_CODE_MAX + 1], tid[64], tid2[64];
	char			 s1[80], s2[80], want[64];
	X509			*x;
	int64_t			 id;

	sgt_add_simple(fx, "chal-use", 0, 30, false, RA_GETCERT_SINGLE);
	ra_set_actor(fx->ra, "mdm-token");
	id = mint(fx, fx->ra, "chal-use", 0, NULL, NULL, code);
	ra_set_actor(fx->ra, "");
	sgt_transid(fx, "chal", tid, sizeof(tid));
	rep = sgt_enroll(fx, "chal-use", tid, 0, code);
	x = sgt_expect_issued(fx, rep, fx->key[0], 1, "with a challenge");
	sgt_serial_hex(x, s1, sizeof(s1));
	sgt_cert_info(fx, x, &info);
	assert_int_equal(info.challenge_id, id);
	assert_string_equal(info.minted_by, "mdm-token");
	assert_string_equal(info.account, "chal-use-acct");
	p7_certrep_free(rep);
	c = listed(fx, "chal-use", id);
	assert_int_equal(c.status, RA_CHAL_USED);
	assert_string_equal(c.serial, s1);
	snprintf(want, sizeof(want), "with challenge %lld", (long long)id);
	assert_true(audited(fx, "chal-use", want));
	assert_false(audited(fx, "chal-use", code));
	assert_false(db_holds(fx, code));

	/* The same transaction again (its reply was lost): the same one. */
	rep = sgt_enroll(fx, "chal-use", tid, 0, code);
	x = sgt_expect_issued(fx, rep, fx->key[0], 1, "resend");
	sgt_serial_hex(x, s2, sizeof(s2));
	assert_string_equal(s1, s2);
	p7_certrep_free(rep);

	/* Another transaction, another key: refused. */
	sgt_transid(fx, "chal", tid2, sizeof(tid2));
	expect_refused(sgt_enroll(fx, "chal-use", tid2, 1, code),
	    "challenge already used", "second use");
	/* A challenge of another endpoint is no code here. */
	sgt_add_simple(fx, "chal-use2", 0, 30, false, RA_GETCERT_SINGLE);
	id = mint(fx, fx->ra, "chal-use2", 0, NULL, NULL, code);
	expect_refused(sgt_enroll(fx, "chal-use", tid2, 1, code),
	    "bad access code", "another endpoint's challenge");
	assert_int_equal(listed(fx, "chal-use2", id).status,
	    RA_CHAL_OUTSTANDING);
}

static void
test_expired(void **state)
{
	struct sgt_fx	*fx = *state;
	char		 code[RA_CODE_MAX + 1], tid[64];
	int64_t		 id;

	sgt_add_simple(fx, "chal-exp", 0, 30, false, RA_GETCERT_SINGLE);
	id = mint(fx, fx->ra, "chal-exp", 1, NULL, NULL, code);
	sleep(2);
	assert_int_equal(listed(fx, "chal-exp", id).status, RA_CHAL_EXPIRED);
	sgt_transid(fx, "chal", tid, sizeof(tid));
	expect_refused(sgt_enroll(fx, "chal-exp", tid, 2, code),
	    "challenge expired", "expired challenge");
}

/* CN and SAN requirements; a refused request does not use it up. */
static void
test_requirements(void **state)
{
	struct sgt_fx		*fx = *state;
	struct ra_endpoint	 ep = { 0 };
	struct p7_certrep	*rep;
	char			 code[RA_CODE_MAX + 1], tid[64];
	struct sg_err		 err = { 0 };
	int64_t			 id;

	snprintf(ep.name, sizeof(ep.name), "chal-names");
	ep.type = RA_EP_DEVICE;
	ep.san_types = RA_SAN_DEFAULT;
	snprintf(ep.name_pattern, sizeof(ep.name_pattern), "ok-*");
	sgt_add_endpoint(fx->ra, &ep);
	sgt_account(fx, "chal-names", "names-acct", NULL, NULL);

	id = mint(fx, fx->ra, "chal-names", 0, "ok-device-7", NULL, code);
	sgt_transid(fx, "chal", tid, sizeof(tid));
	expect_refused(sgt_enroll(fx, "chal-names", tid, 0, code),
	    "CN does not match the challenge", "CN requirement");
	/* The CN asked for, but the endpoint's name policy refuses it. */
	assert_int_equal(ra_challenge_revoke(fx->ra, id, &err), SG_OK);
	id = mint(fx, fx->ra, "chal-names", 0, "bad-device", NULL, code);
	rep = sgt_enroll(fx, "chal-names", "bad-device", 0, code);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "name policy");
	p7_certrep_free(rep);
	assert_int_equal(listed(fx, "chal-names", id).status,
	    RA_CHAL_OUTSTANDING);
	assert_int_equal(ra_challenge_revoke(fx->ra, id, &err), SG_OK);
	expect_refused(sgt_enroll(fx, "chal-names", "bad-device", 0, code),
	    "challenge revoked", "revoked challenge");

	/* Refused by name, then the right CN: the same challenge issues. */
	id = mint(fx, fx->ra, "chal-names", 0, NULL, NULL, code);
	rep = sgt_enroll(fx, "chal-names", "bad-device-2", 0, code);
	sgt_expect_status(rep, P7_STATUS_FAILURE, SG_FAIL_BADREQUEST,
	    "name policy");
	p7_certrep_free(rep);
	rep = sgt_enroll(fx, "chal-names", "ok-device-8", 0, code);
	(void)sgt_expect_issued(fx, rep, fx->key[0], 2, "after a refusal");
	p7_certrep_free(rep);
	assert_int_equal(listed(fx, "chal-names", id).status, RA_CHAL_USED);

	/* The CSRs of sgt_enroll carry no SAN. */
	(void)mint(fx, fx->ra, "chal-names", 0, NULL, "DNS:ok.example",
	    code);
	expect_refused(sgt_enroll(fx, "chal-names", "ok-device-9", 1, code),
	    "subjectAltName does not match the challenge", "SAN requirement");
}

/*
 * Manual approval: the pending request holds the challenge; rejected,
 * it lets go (a refused issuance does not burn the challenge).
 */
static void
test_claim(void **state)
{
	struct sgt_fx		*fx = *state;
	struct ra_request	 rq;
	struct p7_certrep	*rep;
	struct sg_err		 err = { 0 };
	char			 code[RA_CODE_MAX + 1], t1[64], t2[64];
	int64_t			 id;

	sgt_add_simple(fx, "chal-manual", 0, 30, true, RA_GETCERT_SINGLE);
	id = mint(fx, fx->ra, "chal-manual", 0, NULL, NULL, code);
	sgt_transid(fx, "chal", t1, sizeof(t1));
	rep = sgt_enroll(fx, "chal-manual", t1, 0, code);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "manual");
	p7_certrep_free(rep);
	sgt_transid(fx, "chal", t2, sizeof(t2));
	expect_refused(sgt_enroll(fx, "chal-manual", t2, 1, code),
	    "challenge already used", "held by a pending request");
	assert_true(sgt_find_request(fx, RA_REQ_PENDING, t1, &rq));
	assert_int_equal(ra_request_reject(fx->ra, rq.id, "no", &err),
	    SG_OK);
	rep = sgt_enroll(fx, "chal-manual", t2, 1, code);
	sgt_expect_status(rep, P7_STATUS_PENDING, SG_FAIL_NONE, "reclaimed");
	p7_certrep_free(rep);
	assert_true(sgt_find_request(fx, RA_REQ_PENDING, t2, &rq));
	assert_int_equal(ra_request_approve(fx->ra, rq.id, &err), SG_OK);
	assert_int_equal(listed(fx, "chal-manual", id).status, RA_CHAL_USED);
}

/* A wrong challenge is a wrong access code: it counts for the lockout. */
static void
test_lockout(void **state)
{
	struct sgt_fx	*fx = *state;
	struct conf	 c = *fx->conf;
	struct ra	*saved = fx->ra, *ra2 = NULL;
	struct sg_err	 err = { 0 };
	char		 code[RA_CODE_MAX + 1], tid[64];
	int64_t		 id;
	int		 i;

	sgt_add_simple(fx, "chal-lock", 0, 30, false, RA_GETCERT_SINGLE);
	c.lockout_failures = 2;
	c.lockout_seconds = 600;
	assert_int_equal(ra_open(&c, &ra2, &err), SG_OK);
	fx->ra = ra2;
	id = mint(fx, ra2, "chal-lock", 0, NULL, NULL, code);
	for (i = 0; i < 2; i++) {
		sgt_transid(fx, "lock", tid, sizeof(tid));
		expect_refused(sgt_enroll(fx, "chal-lock", tid, 0,
		    "WrongChallenge0000x"), "bad access code", "wrong one");
	}
	sgt_transid(fx, "lock", tid, sizeof(tid));
	expect_refused(sgt_enroll(fx, "chal-lock", tid, 0, code),
	    "too many attempts", "a right challenge while locked out");
	fx->ra = saved;
	ra_close(ra2);
	assert_int_equal(listed(fx, "chal-lock", id).status,
	    RA_CHAL_OUTSTANDING);
}

/* ---- two RAs (two processes' worth) racing on one challenge ---- */

struct racer {
	struct ra		*ra;
	pthread_barrier_t	*go;
	const uint8_t		*der;
	size_t			 len;
	struct ra_reply		 r;
	enum sg_rc		 rc;
};

static void *
race(void *arg)
{
	struct racer	*x = arg;
	struct sg_err	 err;

	(void)pthread_barrier_wait(x->go);
	x->rc = ra_pkiop(x->ra, "chal-race", x->der, x->len, SGT_PEER, &x->r,
	    &err);
	return NULL;
}

/* A PKCSReq of client "who" with "code", built for a racer. */
static void
race_msg(struct sgt_fx *fx, int who, const char *code, uint8_t **der,
    size_t *len)
{
	struct p7_req	 rq = { 0 };
	uint8_t		*csr = NULL;
	size_t		 csrlen = 0;
	char		 tid[64];

	sgt_transid(fx, "race", tid, sizeof(tid));
	sgt_make_csr(fx->key[who], tid, code, 0, &csr, &csrlen);
	rq.type = P7_TYPE_PKCSREQ;
	rq.transid = tid;
	rq.data = csr;
	rq.data_len = csrlen;
	sgt_build(fx, &rq, who, der, len);
	free(csr);
}

static void
test_race(void **state)
{
	struct sgt_fx		*fx = *state;
	struct ra		*ra2 = NULL;
	struct racer		 x[2];
	pthread_barrier_t	 go;
	pthread_t		 th[2];
	struct p7_certrep	*rep;
	struct sg_err		 err = { 0 };
	char			 code[RA_CODE_MAX + 1];
	int			 round, i, won;

	sgt_add_simple(fx, "chal-race", 0, 30, false, RA_GETCERT_SINGLE);
	assert_int_equal(ra_open(fx->conf, &ra2, &err), SG_OK);
	for (round = 0; round < 8; round++) {
		(void)mint(fx, fx->ra, "chal-race", 0, NULL, NULL, code);
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			memset(&x[i], 0, sizeof(x[i]));
			x[i].ra = i == 0 ? fx->ra : ra2;
			x[i].go = &go;
			race_msg(fx, i + 1, code, (uint8_t **)&x[i].der,
			    &x[i].len);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&th[i], NULL, race,
			    &x[i]), 0);
		won = 0;
		for (i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(x[i].rc, SG_OK);
			rep = sgt_read_rep(&x[i].r, fx->ra_cert,
			    fx->cert[i + 1], fx->key[i + 1]);
			if (rep->status == P7_STATUS_SUCCESS)
				won++;
			else
				assert_string_equal(rep->failtext,
				    "challenge already used");
			p7_certrep_free(rep);
			ra_reply_free(&x[i].r);
			free((void *)x[i].der);
		}
		pthread_barrier_destroy(&go);
		if (won != 1)
			fail_msg("round %d: %d certificates from one challenge",
			    round, won);
	}
	ra_close(ra2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_mint),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_single_use),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_requirements),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_race),
	};

	return cmocka_run_group_tests(tests, setup, sgt_fx_teardown);
}
