/*
 * The store's calls (the contract is ra_store.h), written once over the
 * driver of ra_store_drv.h: SQLite (ra_store_sqlite.c) or PostgreSQL
 * (ra_store_pg.c), chosen by the "database" value. The SQL is portable
 * ("?N" placeholders, which the PostgreSQL driver writes as "$N";
 * RETURNING id); each driver keeps its own schema. Nothing here decides
 * policy.
 *
 * Three layers: the SQL, thin calls into the driver (lock, step,
 * column, begin, savepoint, changes, error), and the contract's calls
 * written on those only.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ra_int.h"
#include "ra_store_drv.h"
enum stmt_id {
	S_ORG_ADD, S_DEPT_ADD, S_ORG_GET, S_DEPT_GET, S_ORG_LIST, S_DEPT_LIST,
	S_ORG_SCM, S_DEPT_SCM, S_PROF_LIST, S_PROF_CLEAR, S_PROF_ADD,
	S_EP_ADD, S_EP_BY_NAME, S_EP_BY_URI, S_EP_BY_ID, S_EP_LIST, S_EP_ID,
	S_EP_USAGE, S_EP_DEL_ACCOUNTS, S_EP_DEL, S_EP_UPDATE, S_EP_DELEGATED,
	S_DELEG_CLEAR, S_DELEG_ADD, S_DELEG_LIST,
	S_ACCT_ADD, S_ACCT_BY_CODE, S_ACCT_BY_ID, S_ACCT_BY_NAME, S_ACCT_LIST,
	S_ACCT_DEL, S_ACCT_UPDATE, S_ACCT_CODE,
	S_TXN_BEGIN, S_TXN_FIND, S_TXN_GET, S_TXN_UPDATE, S_TXN_LIST,
	S_TXN_ORDERS, S_TXN_STUCK, S_TXN_MARK, S_TXN_UNMARK, S_TXN_MARKED,
	S_GAUGES, S_TXN_CLAIM, S_LEASE_TAKE, S_TXN_NEWER,
	S_INVARIANTS, S_AUDIT_GUARD, S_GRANT,
	S_CERT_ADD, S_CERT_GET, S_CERT_LIST, S_CERT_STATUS,
	S_CRL_GET, S_CRL_NUMBER, S_CRL_PUT,
	S_AUDIT_ADD, S_AUDIT_LIST,
	S_FAIL_COUNT, S_FAIL_ADD, S_FAIL_EXPIRE,
	S_REF_REPORT, S_REF_CLOSE, S_REF_ADD,
	S_PRUNE_RANGE, S_PRUNE_MARK, S_PRUNE_DEL, S_PRUNE_UNMARK,
	S_TOK_ADD, S_TOK_LIST, S_TOK_BY_HMAC, S_TOK_USED, S_TOK_REVOKE,
	S_CHAL_ADD, S_CHAL_BY_CODE, S_CHAL_GET, S_CHAL_LIST, S_CHAL_REVOKE,
	S_CHAL_CLAIM, S_CHAL_USE, S_CHAL_PURGE,
	S_VERSION, S_VERSION_SET,
	S_WH_SET, S_EV_ISSUED, S_EV_REVOKED, S_EV_ADD, S_EV_DUE, S_EV_CLAIM,
	S_EV_DONE, S_EV_RETRY,
	/* ra_store_copy(): select, insert, count of each table */
	S_COPY, S_COPY_LAST = S_COPY + 3 * RA_STORE_TABLES - 1,
	S_MAX
};

#define EP_COLS "id, name, uri, type, ra_id, ra_enc_id, cacert_fmt, " \
	"getcert_fmt, renewal_days, min_rsa_bits, key_types, " \
	"challenge_types, created, delegated, org, dept, profile, " \
	"term_days, azure, san_types, name_pattern, subject_csr, renewal_any"
/* An endpoint's webhooks (docs/webhooks.md), version 4's ep_webhook. */
#define EP_SELECT "SELECT " EP_COLS ", COALESCE(challenge_url, ''), " \
	"COALESCE(secret_file, ''), COALESCE(timeout_s, 0), " \
	"COALESCE(notify_url, '') FROM endpoint " \
	"LEFT JOIN ep_webhook ON endpoint_id = id "
#define EV_COLS "id, event_id, endpoint_id, kind, serial, subject, " \
	"not_after, transid, reason, code, created, attempts, next_try"
#define ACCT_SELECT "SELECT a.id, e.name, a.name, o.name, " \
	"COALESCE(d.name, ''), a.profile, a.term_days, a.disabled, " \
	"a.manual, a.created FROM account a " \
	"JOIN endpoint e ON e.id = a.endpoint_id " \
	"JOIN org o ON o.id = a.org_id LEFT JOIN dept d ON d.id = a.dept_id "
#define TXN_COLS "id, endpoint_id, transid, COALESCE(account_id, 0), " \
	"msg_type, status, key_id, COALESCE(subject, ''), " \
	"COALESCE(serial, ''), COALESCE(order_id, ''), " \
	"COALESCE(failinfo, -1), COALESCE(reason, ''), COALESCE(peer, ''), " \
	"COALESCE(renews, ''), COALESCE(challenge_id, 0)"
#define CERT_SELECT "SELECT c.serial, e.name, COALESCE(a.name, ''), " \
	"c.subject, c.not_before, c.not_after, c.status, " \
	"COALESCE(c.revoked_at, 0), COALESCE(c.reason, 0), " \
	"COALESCE(c.account_id, 0), c.der, COALESCE(c.challenge_id, 0), " \
	"COALESCE(c.minted_by, '') FROM cert c " \
	"JOIN endpoint e ON e.id = c.endpoint_id " \
	"LEFT JOIN account a ON a.id = c.account_id "
#define TOK_COLS "id, name, scope, endpoint, created, last_used, revoked, " \
	"secret_hmac"
/* The status as of ?1 (RA_CHAL_*: used, revoked, expired, outstanding). */
#define CHAL_SELECT "SELECT ch.id, COALESCE(e.name, ''), " \
	"COALESCE(a.name, ''), ch.minted_by, ch.cn, ch.san, CASE " \
	"WHEN ch.used > 0 THEN 1 WHEN ch.revoked > 0 THEN 3 " \
	"WHEN ch.expires <= ?1 THEN 2 ELSE 0 END, ch.created, ch.expires, " \
	"ch.used, COALESCE(ch.serial, ''), ch.endpoint_id, ch.account_id, " \
	"COALESCE(ch.txn_id, 0) FROM challenge ch " \
	"LEFT JOIN endpoint e ON e.id = ch.endpoint_id " \
	"LEFT JOIN account a ON a.id = ch.account_id "

/*
 * Claims of pending orders (schema 4): rows unclaimed, expired or the
 * holder's own. PostgreSQL's form adds FOR UPDATE SKIP LOCKED, so that
 * an instance claiming at the same time skips the rows being claimed
 * instead of waiting for them (and then re-checking); SQLite has one
 * writer at a time.
 */
#define TXN_CLAIM(lock) "UPDATE txn SET claimed_by = ?1, " \
	"claimed_until = ?3 WHERE id IN (SELECT id FROM txn WHERE " \
	"status = 1 AND order_id IS NOT NULL AND (claimed_until IS NULL OR " \
	"claimed_until < ?2 OR claimed_by = ?1) ORDER BY updated, id " \
	"LIMIT ?4" lock ") RETURNING " TXN_COLS

/*
 * NEW rows older than ?1; on PostgreSQL also those whose creator (an
 * instance other than ?2) has no connection left: it died (kill -9,
 * a crash), so its row is stuck at once, not only after the age.
 * SQLite has one instance: ?2 goes unused there.
 */
#define TXN_STUCK(gone) "SELECT " TXN_COLS " FROM (SELECT t.id, " \
	"t.endpoint_id, t.transid, t.account_id, t.msg_type, t.status, " \
	"t.key_id, t.subject, (SELECT c.serial FROM cert c WHERE " \
	"c.txn_id = t.id LIMIT 1) AS serial, t.order_id, t.failinfo, " \
	"t.reason, t.peer, t.renews, t.challenge_id, t.updated FROM txn t " \
	"WHERE t.status = 0 AND (t.updated < ?1" gone ")) AS s " \
	"ORDER BY updated, id LIMIT 1000"
#define CREATOR_GONE " OR (t.claimed_by IS NOT NULL AND " \
	"t.claimed_by <> ?2 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity " \
	"p WHERE p.application_name = t.claimed_by))"

static const char *const sql[S_MAX] = {
	[S_ORG_ADD] = "INSERT INTO org(name, created, scm_id) "
	    "VALUES(?1, ?2, NULLIF(?3, 0))",
	[S_DEPT_ADD] = "INSERT INTO dept(org_id, name, created, scm_id) "
	    "VALUES(?1, ?2, ?3, NULLIF(?4, 0))",
	[S_ORG_GET] = "SELECT id, name, '', COALESCE(scm_id, 0) FROM org "
	    "WHERE name = ?1",
	[S_DEPT_GET] = "SELECT d.id, d.name, o.name, COALESCE(d.scm_id, 0) "
	    "FROM dept d JOIN org o ON o.id = d.org_id "
	    "WHERE o.name = ?1 AND d.name = ?2",
	[S_ORG_LIST] = "SELECT id, name, '', COALESCE(scm_id, 0) FROM org "
	    "ORDER BY name",
	[S_DEPT_LIST] = "SELECT d.id, d.name, o.name, COALESCE(d.scm_id, 0) "
	    "FROM dept d JOIN org o ON o.id = d.org_id "
	    "WHERE ?1 IS NULL OR o.name = ?1 ORDER BY o.name, d.name",
	[S_ORG_SCM] = "UPDATE org SET scm_id = NULLIF(?3, 0) WHERE name = ?1",
	[S_DEPT_SCM] = "UPDATE dept SET scm_id = NULLIF(?3, 0) WHERE "
	    "name = ?2 AND org_id = (SELECT id FROM org WHERE name = ?1)",
	[S_PROF_LIST] = "SELECT scm_id, name, kind, terms FROM profile "
	    "ORDER BY kind, name, scm_id",
	[S_PROF_CLEAR] = "DELETE FROM profile",
	[S_PROF_ADD] = "INSERT INTO profile(scm_id, name, kind, terms, "
	    "synced) VALUES(?1, ?2, ?3, ?4, ?5)",
	[S_EP_ADD] = "INSERT INTO endpoint(name, uri, type, ra_id, ra_enc_id,"
	    " cacert_fmt, getcert_fmt, renewal_days, min_rsa_bits, key_types,"
	    " challenge_types, created, delegated, org, dept, profile, "
	    "term_days, azure, san_types, name_pattern, subject_csr, "
	    "renewal_any) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
	    "?22) RETURNING id",
	[S_EP_UPDATE] = "UPDATE endpoint SET uri = ?2, ra_id = ?4, "
	    "ra_enc_id = ?5, cacert_fmt = ?6, getcert_fmt = ?7, "
	    "renewal_days = ?8, min_rsa_bits = ?9, key_types = ?10, "
	    "challenge_types = ?11, delegated = ?13, org = ?14, dept = ?15, "
	    "profile = ?16, term_days = ?17, azure = ?18, san_types = ?19, "
	    "name_pattern = ?20, subject_csr = ?21, renewal_any = ?22 "
	    "WHERE name = ?1",
	[S_EP_DELEGATED] = "UPDATE endpoint SET delegated = ?2 WHERE id = ?1",
	[S_EP_ID] = "SELECT id FROM endpoint WHERE name = ?1",
	[S_EP_USAGE] = "SELECT (SELECT COUNT(*) FROM account a WHERE "
	    "a.endpoint_id = e.id), (SELECT COUNT(*) FROM txn t WHERE "
	    "t.endpoint_id = e.id AND t.status IN (0, 1)) FROM endpoint e "
	    "WHERE e.name = ?1",
	[S_DELEG_CLEAR] = "DELETE FROM delegation WHERE endpoint_id = ?1",
	[S_DELEG_ADD] = "INSERT INTO delegation(endpoint_id, org_id, dept_id) "
	    "VALUES(?1, ?2, NULLIF(?3, 0))",
	[S_DELEG_LIST] = "SELECT o.name, COALESCE(d.name, '') FROM delegation g"
	    " JOIN endpoint e ON e.id = g.endpoint_id "
	    "JOIN org o ON o.id = g.org_id LEFT JOIN dept d ON d.id = g.dept_id"
	    " WHERE e.name = ?1 ORDER BY o.name, COALESCE(d.name, '')",
	[S_EP_BY_NAME] = EP_SELECT "WHERE name = ?1",
	[S_EP_BY_URI] = EP_SELECT "WHERE uri = ?1",
	[S_EP_BY_ID] = EP_SELECT "WHERE id = ?1",
	[S_EP_LIST] = EP_SELECT "ORDER BY name",
	[S_EP_DEL_ACCOUNTS] = "DELETE FROM account WHERE endpoint_id = ?1",
	[S_EP_DEL] = "DELETE FROM endpoint WHERE id = ?1",
	[S_ACCT_ADD] = "INSERT INTO account(endpoint_id, name, org_id, "
	    "dept_id, profile, term_days, code_hmac, disabled, manual, "
	    "created) VALUES(?1, ?2, ?3, NULLIF(?4, 0), ?5, ?6, ?7, ?8, ?9, "
	    "?10) RETURNING id",
	[S_ACCT_BY_CODE] = ACCT_SELECT
	    "WHERE a.endpoint_id = ?1 AND a.code_hmac = ?2",
	[S_ACCT_BY_ID] = ACCT_SELECT "WHERE a.id = ?1",
	[S_ACCT_LIST] = ACCT_SELECT "WHERE e.name = ?1 ORDER BY a.name",
	[S_ACCT_BY_NAME] = ACCT_SELECT "WHERE e.name = ?1 AND a.name = ?2",
	[S_ACCT_UPDATE] = "UPDATE account SET profile = ?2, term_days = ?3, "
	    "disabled = ?4, manual = ?5 WHERE id = ?1",
	[S_ACCT_CODE] = "UPDATE account SET code_hmac = ?2 WHERE id = ?1",
	[S_ACCT_DEL] = "DELETE FROM account WHERE name = ?2 AND "
	    "endpoint_id = (SELECT id FROM endpoint WHERE name = ?1)",
	[S_TXN_BEGIN] = "INSERT INTO txn(endpoint_id, transid, account_id, "
	    "msg_type, status, key_id, csr_sealed, subject, peer, created, "
	    "updated, renews, challenge_id, claimed_by) VALUES(?1, ?2, "
	    "NULLIF(?3, 0), ?4, 0, ?5, ?6, ?7, ?8, ?9, ?9, NULLIF(?10, ''), "
	    "NULLIF(?11, 0), ?12) RETURNING id",
	[S_TXN_FIND] = "SELECT " TXN_COLS " FROM txn WHERE endpoint_id = ?1 "
	    "AND transid = ?2 ORDER BY id DESC LIMIT 1",
	[S_TXN_GET] = "SELECT " TXN_COLS ", csr_sealed FROM txn WHERE id = ?1",
	[S_TXN_UPDATE] = "UPDATE txn SET status = ?2, serial = NULLIF(?3, ''),"
	    " order_id = NULLIF(?4, ''), failinfo = ?5, reason = ?6, "
	    "account_id = NULLIF(?7, 0), updated = ?8, "
	    /* A decided request no longer needs its sealed CSR. */
	    "csr_sealed = CASE WHEN ?2 IN (2, 3) THEN NULL "
	    "ELSE csr_sealed END "
	    "WHERE id = ?1 AND status = ?9",
	[S_TXN_LIST] = "SELECT t.id, e.name, COALESCE(a.name, ''), t.transid,"
	    " t.msg_type, t.status, COALESCE(t.subject, ''), "
	    "COALESCE(t.serial, ''), COALESCE(t.order_id, ''), "
	    "COALESCE(t.reason, ''), COALESCE(t.peer, ''), t.created, "
	    "t.updated FROM txn t JOIN endpoint e ON e.id = t.endpoint_id "
	    "LEFT JOIN account a ON a.id = t.account_id "
	    "WHERE ?1 < 0 OR t.status = ?1 ORDER BY t.id",
	[S_TXN_ORDERS] = "SELECT " TXN_COLS " FROM txn WHERE status = 1 AND "
	    "order_id IS NOT NULL ORDER BY updated LIMIT 1000",
	/* The serial is the certificate recorded for the row, if any. */
	[S_TXN_STUCK] = TXN_STUCK(""),
	[S_TXN_CLAIM] = TXN_CLAIM(""),
	[S_INVARIANTS] = "SELECT "
	    "(SELECT COUNT(*) FROM (SELECT 1 FROM txn WHERE status IN (0, 1) "
	    "GROUP BY endpoint_id, transid HAVING COUNT(*) > 1) x), "
	    "(SELECT COUNT(*) FROM crl a JOIN crl b ON b.created > a.created "
	    "AND b.number < a.number), "
	    "(SELECT COUNT(*) FROM cert c WHERE c.txn_id IS NOT NULL AND NOT "
	    "EXISTS (SELECT 1 FROM txn t WHERE t.id = c.txn_id)), "
	    "(SELECT COUNT(*) FROM txn t WHERE t.status = 2 AND NOT EXISTS "
	    "(SELECT 1 FROM cert c WHERE c.serial = t.serial)), "
	    "(SELECT COUNT(*) FROM (SELECT 1 FROM txn WHERE status = 2 "
	    "GROUP BY serial HAVING COUNT(*) > 1) y), "
	    "(SELECT COUNT(*) FROM txn), (SELECT COUNT(*) FROM cert), "
	    "(SELECT COUNT(*) FROM crl), (SELECT COUNT(*) FROM audit)",
	/* How many of the audit's append-only triggers are missing. */
	[S_AUDIT_GUARD] = "SELECT 2 - COUNT(*) FROM sqlite_master WHERE "
	    "type = 'trigger' AND tbl_name = 'audit' AND name IN "
	    "('audit_no_update', 'audit_delete_pruned')",
	/* A new statement: PostgreSQL's snapshot has what committed since. */
	[S_TXN_NEWER] = "SELECT COUNT(*) FROM txn WHERE endpoint_id = ?1 AND "
	    "transid = ?2 AND id > ?3 AND id <> ?4",
	[S_LEASE_TAKE] = "INSERT INTO lease(name, holder, until) "
	    "VALUES(?1, ?2, ?4) ON CONFLICT(name) DO UPDATE SET holder = ?2, "
	    "until = ?4 WHERE lease.until < ?3 OR lease.holder = ?2",
	/* The order in flight (schema 4): one write sets or replaces it. */
	[S_TXN_MARK] = "UPDATE txn SET ordering = 1 WHERE id = ?1",
	[S_TXN_UNMARK] = "UPDATE txn SET ordering = 0, order_id = CASE WHEN "
	    "id = ?3 AND ?4 <> '' THEN ?4 ELSE order_id END "
	    "WHERE endpoint_id = ?1 AND transid = ?2 AND "
	    "(ordering = 1 OR id = ?3)",
	[S_TXN_MARKED] = "SELECT COUNT(*) FROM txn WHERE endpoint_id = ?1 AND "
	    "transid = ?2 AND ordering = 1",
	/* The gauges of /metrics (ra_gauges_get), cached by the caller. */
	[S_GAUGES] = "SELECT (SELECT COUNT(*) FROM (SELECT DISTINCT "
	    "endpoint_id, name FROM auth_fail WHERE name LIKE ?1 AND t >= ?2) "
	    "AS l), (SELECT COUNT(*) FROM (SELECT endpoint_id FROM auth_fail "
	    "WHERE name = '*' AND t >= ?3 GROUP BY endpoint_id "
	    "HAVING ?4 > 0 AND SUM(n) >= ?4) AS c), "
	    "(SELECT COUNT(*) FROM txn WHERE status = 0), "
	    "(SELECT COUNT(*) FROM txn WHERE status = 1), "
	    "(SELECT COUNT(*) FROM cert WHERE status = 0 AND not_after >= ?5), "
	    "(SELECT COUNT(*) FROM cert WHERE status = 1), "
	    "(SELECT COUNT(*) FROM cert WHERE status = 0 AND not_after >= ?5 "
	    "AND not_after < ?6)",
	/* The challenge and its minter come with the transaction (?4). */
	[S_CERT_ADD] = "INSERT INTO cert(serial, endpoint_id, account_id, "
	    "txn_id, subject, not_before, not_after, der, challenge_id, "
	    "minted_by) VALUES(?1, ?2, NULLIF(?3, 0), NULLIF(?4, 0), ?5, ?6, "
	    "?7, ?8, (SELECT t.challenge_id FROM txn t WHERE t.id = ?4), "
	    "(SELECT ch.minted_by FROM txn t JOIN challenge ch ON "
	    "ch.id = t.challenge_id WHERE t.id = ?4))",
	[S_CERT_GET] = CERT_SELECT "WHERE c.serial = ?1",
	[S_CERT_LIST] = CERT_SELECT "WHERE (?1 IS NULL OR e.name = ?1) AND "
	    "(?2 < 0 OR c.status = ?2) ORDER BY c.not_before, c.serial",
	[S_CERT_STATUS] = "UPDATE cert SET status = ?2, revoked_at = "
	    "CASE WHEN ?2 = 1 THEN ?3 ELSE NULL END, reason = ?4 "
	    "WHERE serial = ?1 AND (status = 0 OR (?2 = 1 AND status = 2))",
	[S_CRL_GET] = "SELECT der, next_update FROM crl ORDER BY number DESC "
	    "LIMIT 1",
	[S_CRL_NUMBER] = "SELECT COALESCE(MAX(number), 0) + 1 FROM crl",
	/* Strictly increasing: a number at or below the last one is refused. */
	[S_CRL_PUT] = "INSERT INTO crl(number, der, next_update, created) "
	    "SELECT ?1, ?2, ?3, ?4 WHERE ?1 > "
	    "(SELECT COALESCE(MAX(number), 0) FROM crl)",
	[S_AUDIT_ADD] = "INSERT INTO audit(time, actor, endpoint, account, "
	    "transid, action, outcome, details) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_AUDIT_LIST] = "SELECT id, time, actor, COALESCE(endpoint, ''), "
	    "COALESCE(account, ''), COALESCE(transid, ''), action, outcome, "
	    "COALESCE(details, '') FROM audit WHERE "
	    "(?1 IS NULL OR endpoint = ?1) AND (?2 IS NULL OR account = ?2) "
	    "AND (?3 IS NULL OR outcome = ?3) AND time >= ?4 AND time <= ?5 "
	    "ORDER BY id",
	[S_FAIL_COUNT] = "SELECT "
	    /* CAST: PostgreSQL's SUM of BIGINT is a NUMERIC. */
	    "CAST(COALESCE(SUM(CASE WHEN name = ?2 AND t >= ?3 THEN n END), 0) "
	    "AS BIGINT), "
	    "CAST(COALESCE(SUM(CASE WHEN name = ?4 AND t >= ?5 THEN n END), 0) "
	    "AS BIGINT), "
	    "CAST(COALESCE(SUM(CASE WHEN name = ?6 AND t >= ?7 THEN n END), 0) "
	    "AS BIGINT) "
	    "FROM auth_fail WHERE endpoint_id = ?1 AND name IN (?2, ?4, ?6)",
	[S_FAIL_ADD] = "INSERT INTO auth_fail(endpoint_id, name, t, n) "
	    "VALUES(?1, ?2, ?3, 1) ON CONFLICT(endpoint_id, name, t) "
	    "DO UPDATE SET n = auth_fail.n + 1",
	[S_FAIL_EXPIRE] = "DELETE FROM auth_fail WHERE t < ?1",
	[S_REF_REPORT] = "INSERT INTO audit(time, actor, endpoint, action, "
	    "outcome, details) SELECT ?1, 'device@' || source, endpoint, "
	    "'refused', 'failure', n || ' further refused requests from ' || "
	    "source || ' within ' || ?3 || ' s: ' || reason FROM refusal "
	    "WHERE start <= ?2 AND n > 0 ORDER BY start, source",
	[S_REF_CLOSE] = "DELETE FROM refusal WHERE start <= ?1",
	[S_REF_ADD] = "INSERT INTO refusal(source, endpoint, reason, start, n)"
	    " VALUES(?1, ?2, ?3, ?4, 0) ON CONFLICT(source, endpoint, reason) "
	    "DO UPDATE SET n = refusal.n + 1 RETURNING n",
	[S_PRUNE_RANGE] = "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0), "
	    "COUNT(*) FROM audit WHERE time < ?1",
	[S_PRUNE_MARK] = "INSERT INTO audit_prune(first_id, last_id, time) "
	    "VALUES(?1, ?2, ?3)",
	[S_PRUNE_DEL] = "DELETE FROM audit WHERE time < ?1 AND "
	    "id BETWEEN ?2 AND ?3",
	[S_PRUNE_UNMARK] = "DELETE FROM audit_prune",
	[S_TOK_ADD] = "INSERT INTO api_token(name, scope, endpoint, "
	    "secret_hmac, created) VALUES(?1, ?2, ?3, ?4, ?5) RETURNING id",
	[S_TOK_LIST] = "SELECT " TOK_COLS " FROM api_token ORDER BY name",
	[S_TOK_BY_HMAC] = "SELECT " TOK_COLS " FROM api_token "
	    "WHERE secret_hmac = ?1",
	[S_TOK_USED] = "UPDATE api_token SET last_used = ?2 WHERE id = ?1",
	[S_TOK_REVOKE] = "UPDATE api_token SET revoked = ?2 "
	    "WHERE name = ?1 AND revoked = 0",
	/* The cap: outstanding ones of the endpoint at ?7. */
	[S_CHAL_ADD] = "INSERT INTO challenge(endpoint_id, account_id, "
	    "code_hmac, minted_by, cn, san, created, expires) "
	    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE (SELECT COUNT(*) "
	    "FROM challenge WHERE endpoint_id = ?1 AND used = 0 AND "
	    "revoked = 0 AND expires > ?7) < ?9 RETURNING id",
	[S_CHAL_BY_CODE] = CHAL_SELECT "WHERE ch.endpoint_id = ?2 AND "
	    "ch.code_hmac = ?3",
	[S_CHAL_GET] = CHAL_SELECT "WHERE ch.id = ?2",
	[S_CHAL_LIST] = CHAL_SELECT "WHERE (?2 IS NULL OR e.name = ?2) AND "
	    "(?3 = 1 OR (ch.used = 0 AND ch.revoked = 0 AND "
	    "ch.expires > ?1)) ORDER BY ch.id",
	[S_CHAL_REVOKE] = "UPDATE challenge SET revoked = ?2 WHERE id = ?1 "
	    "AND used = 0 AND revoked = 0",
	/*
	 * One claim at a time: a transaction takes an outstanding
	 * challenge that nobody holds, or whose holder was REJECTED (a
	 * failed issuance does not burn it).
	 */
	[S_CHAL_CLAIM] = "UPDATE challenge SET txn_id = ?2 WHERE id = ?1 AND "
	    "used = 0 AND revoked = 0 AND expires > ?3 AND (txn_id IS NULL "
	    "OR EXISTS (SELECT 1 FROM txn t WHERE t.id = challenge.txn_id "
	    "AND t.status = 3))",
	[S_CHAL_USE] = "UPDATE challenge SET used = ?3, serial = ?4 "
	    "WHERE id = ?1 AND txn_id = ?2 AND used = 0",
	[S_CHAL_PURGE] = "DELETE FROM challenge WHERE used = 0 AND "
	    "expires < ?1 AND NOT EXISTS (SELECT 1 FROM txn t WHERE "
	    "t.id = challenge.txn_id AND t.status IN (0, 1))",
	[S_VERSION] = "SELECT CAST(value AS INTEGER) FROM meta "
	    "WHERE key = 'schema_version'",
	[S_VERSION_SET] = "UPDATE meta SET value = ?1 "
	    "WHERE key = 'schema_version'",
	[S_WH_SET] = "INSERT INTO ep_webhook(endpoint_id, challenge_url, "
	    "secret_file, timeout_s, notify_url) SELECT id, ?2, ?3, ?4, ?5 "
	    "FROM endpoint WHERE name = ?1 ON CONFLICT(endpoint_id) DO UPDATE "
	    "SET challenge_url = excluded.challenge_url, secret_file = "
	    "excluded.secret_file, timeout_s = excluded.timeout_s, "
	    "notify_url = excluded.notify_url",
	/* The outbox: only for endpoints with a notify_webhook. */
	[S_EV_ISSUED] = "INSERT INTO webhook_outbox(event_id, endpoint_id, "
	    "kind, serial, subject, not_after, transid, created, next_try) "
	    "SELECT 'issued-' || CAST(?1 AS TEXT), endpoint_id, 'issued', ?1, "
	    "?3, ?4, ?5, ?6, ?6 FROM ep_webhook WHERE endpoint_id = ?2 AND "
	    "notify_url <> ''",
	[S_EV_REVOKED] = "INSERT INTO webhook_outbox(event_id, endpoint_id, "
	    "kind, serial, subject, not_after, code, created, next_try) "
	    "SELECT 'revoked-' || c.serial, c.endpoint_id, 'revoked', "
	    "c.serial, c.subject, c.not_after, ?2, ?3, ?3 FROM cert c "
	    "JOIN ep_webhook w ON w.endpoint_id = c.endpoint_id "
	    "WHERE c.serial = ?1 AND w.notify_url <> ''",
	[S_EV_ADD] = "INSERT INTO webhook_outbox(event_id, endpoint_id, kind, "
	    "serial, subject, not_after, transid, reason, code, created, "
	    "next_try) SELECT ?1, endpoint_id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?10 FROM ep_webhook WHERE endpoint_id = ?2 AND "
	    "notify_url <> ''",
	[S_EV_DUE] = "SELECT " EV_COLS " FROM webhook_outbox "
	    "WHERE next_try <= ?1 ORDER BY next_try, id LIMIT ?2",
	[S_EV_CLAIM] = "UPDATE webhook_outbox SET attempts = attempts + 1, "
	    "next_try = ?3 WHERE id = ?1 AND next_try = ?2",
	[S_EV_DONE] = "DELETE FROM webhook_outbox WHERE id = ?1",
	[S_EV_RETRY] = "UPDATE webhook_outbox SET next_try = ?2, "
	    "last_error = ?3 WHERE id = ?1",
};
/* Where PostgreSQL's text differs (the driver is fixed per store). */
static const char *const sql_pg[S_MAX] = {
	[S_TXN_CLAIM] = TXN_CLAIM(" FOR UPDATE SKIP LOCKED"),
	[S_TXN_STUCK] = TXN_STUCK(CREATOR_GONE),
	/* Through the owner's view: a runtime role has no DELETE on audit. */
	[S_PRUNE_DEL] = "DELETE FROM audit_prunable WHERE time < ?1 AND "
	    "id BETWEEN ?2 AND ?3",
	[S_GRANT] = "SELECT scepgate_grant(?1)",
	/* And TRUNCATE's, which SQLite does not have. */
	[S_AUDIT_GUARD] = "SELECT 3 - COUNT(*) FROM pg_trigger WHERE "
	    "tgrelid = 'audit'::regclass AND NOT tgisinternal AND tgname IN "
	    "('audit_no_update', 'audit_delete_pruned', 'audit_no_truncate')",
};

#define A_INT(v)	{ ARG_INT, (int64_t)(v), NULL, 0 }
#define A_TEXT(v)	{ ARG_TEXT, 0, (v), 0 }
#define A_BLOB(v, n)	{ ARG_BLOB, 0, (v), (n) }
/* An empty filter is NULL, for "?N IS NULL OR ...". */
#define A_FILTER(v)	{ (v) != NULL && (v)[0] != '\0' ? ARG_TEXT : \
			    ARG_NULL, 0, (v), 0 }
#define NARGS(a)	(sizeof(a) / sizeof((a)[0]))

typedef void	(*row_fn)(const struct row *, void *);

struct ra_store {
	const struct ra_drv	*drv;
	void			*db;
	/* This process to the others: "host:pid:start" (application_name
	 * of its PostgreSQL connections, creator of its NEW rows). */
	char			 instance[64];
};

/* ---- the driver, called by name ---- */

static enum sg_rc
dberr(struct ra_store *st, struct sg_err *err, const char *what)
{
	return st->drv->error(st->db, err, what);
}

static void
stmt_lock(struct ra_store *st)
{
	st->drv->lock(st->db);
}

static enum sg_rc
stmt_unlock(struct ra_store *st, enum sg_rc rc, struct sg_err *err)
{
	return st->drv->unlock(st->db, rc, err);
}

static enum sg_rc
tx_join(struct ra_store *st, struct sg_err *err)
{
	return st->drv->begin(st->db, err);
}

static enum sg_rc
op_begin(struct ra_store *st, struct sg_err *err)
{
	return st->drv->op_begin(st->db, err);
}

static enum sg_rc
op_end(struct ra_store *st, enum sg_rc rc, struct sg_err *err)
{
	return st->drv->op_end(st->db, rc, err);
}

/* Bind and take the first step: DRV_ROW, DRV_DONE or DRV_ERR. */
static enum drv_res
step_text(struct ra_store *st, enum stmt_id id, const char *text,
    const struct arg *a, size_t n, struct row *r)
{
	r->drv = st->drv;
	r->s = NULL;
	r->i = 0;
	return st->drv->step(st->db, (int)id, text, a, n, r);
}

/* Statement id's text for this store's database. */
static const char *
text_of(const struct ra_store *st, enum stmt_id id)
{
	if (st->drv == &ra_drv_pg && sql_pg[id] != NULL)
		return sql_pg[id];
	return sql[id];
}

static enum drv_res
step(struct ra_store *st, enum stmt_id id, const struct arg *a, size_t n,
    struct row *r)
{
	return step_text(st, id, text_of(st, id), a, n, r);
}

/* Done with a statement: it holds no snapshot or lock. */
static enum drv_res
done(struct row *r, enum drv_res res)
{
	r->drv->done(r);
	return res;
}

static int64_t
col_int(const struct row *r, int col)
{
	return r->drv->col_int(r, col);
}

static const char *
col_str(const struct row *r, int col)
{
	return r->drv->col_str(r, col);
}

static void
col_text(const struct row *r, int col, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", col_str(r, col));
}

static const void *
col_blob(const struct row *r, int col, size_t *len)
{
	return r->drv->col_blob(r, col, len);
}

/* A malloc'ed copy of a blob column; *out NULL when it is empty. */
static enum sg_rc
col_copy(const struct row *r, int col, uint8_t **out, size_t *len,
    struct sg_err *err)
{
	const void	*p = col_blob(r, col, len);

	*out = NULL;
	if (p == NULL)
		return SG_OK;
	if ((*out = malloc(*len)) == NULL)
		return sg_err_set(err, SG_ENOMEM, "store: blob");
	memcpy(*out, p, *len);
	return SG_OK;
}

/* ---- queries on the driver; "x_" ones run with the lock held ---- */

/* One row of "text" decoded by "fn" into "out"; SG_ENOTFOUND if none. */
static enum sg_rc
x_one_text(struct ra_store *st, enum stmt_id id, const char *text,
    const struct arg *a, size_t n, row_fn fn, void *out, struct sg_err *err,
    const char *what)
{
	struct row	r;
	enum drv_res	res = step_text(st, id, text, a, n, &r);

	if (res == DRV_ROW)
		fn(&r, out);
	if (done(&r, res) == DRV_ROW)
		return SG_OK;
	if (res == DRV_DONE)
		return sg_err_set(err, SG_ENOTFOUND, "no %s", what);
	return dberr(st, err, what);
}

static enum sg_rc
x_one(struct ra_store *st, enum stmt_id id, const struct arg *a, size_t n,
    row_fn fn, void *out, struct sg_err *err, const char *what)
{
	return x_one_text(st, id, text_of(st, id), a, n, fn, out, err, what);
}

static void
row_int(const struct row *r, void *p)
{
	*(int64_t *)p = col_int(r, 0);
}

/* The integer in column 0 of the one row (a count, an id). */
static enum sg_rc
x_int(struct ra_store *st, enum stmt_id id, const struct arg *a, size_t n,
    int64_t *v, struct sg_err *err, const char *what)
{
	return x_one(st, id, a, n, row_int, v, err, what);
}

/* An INSERT ... RETURNING id. */
static enum sg_rc
x_insert(struct ra_store *st, enum stmt_id id, const struct arg *a,
    size_t n, int64_t *v, struct sg_err *err, const char *what)
{
	enum sg_rc	rc;

	if ((rc = tx_join(st, err)) != SG_OK)
		return rc;
	return x_int(st, id, a, n, v, err, what);
}

/* A write of "text"; SG_ENOTFOUND if "must_change" and no row changed. */
static enum sg_rc
x_write_text(struct ra_store *st, enum stmt_id id, const char *text,
    const struct arg *a, size_t n, bool must_change, struct sg_err *err,
    const char *what)
{
	struct row	r;
	enum sg_rc	rc;

	if ((rc = tx_join(st, err)) != SG_OK)
		return rc;
	if (done(&r, step_text(st, id, text, a, n, &r)) != DRV_DONE)
		return dberr(st, err, what);
	if (must_change && st->drv->changes(st->db) == 0)
		return sg_err_set(err, SG_ENOTFOUND, "no %s", what);
	return SG_OK;
}

static enum sg_rc
x_write(struct ra_store *st, enum stmt_id id, const struct arg *a,
    size_t n, bool must_change, struct sg_err *err, const char *what)
{
	return x_write_text(st, id, text_of(st, id), a, n, must_change, err,
	    what);
}

/* Every row, decoded into a malloc'ed array of "elsize" elements. */
static enum sg_rc
x_rows(struct ra_store *st, enum stmt_id id, const struct arg *a, size_t n,
    size_t elsize, row_fn fn, void **out, size_t *nout, struct sg_err *err,
    const char *what)
{
	struct row	 r;
	uint8_t		*arr = NULL, *na;
	size_t		 len = 0;
	enum drv_res	 res;

	for (res = step(st, id, a, n, &r); res == DRV_ROW;
	    res = r.drv->next(&r)) {
		if ((na = realloc(arr, (len + 1) * elsize)) == NULL) {
			free(arr);
			return sg_err_set(err, SG_ENOMEM, "%s", what);
		}
		arr = na;
		memset(arr + len * elsize, 0, elsize);
		fn(&r, arr + len * elsize);
		len++;
	}
	if (done(&r, res) != DRV_DONE) {
		free(arr);
		return dberr(st, err, what);
	}
	*out = arr;
	*nout = len;
	return SG_OK;
}

/* The locked forms: one call, one statement. */
static enum sg_rc
q_one(struct ra_store *st, enum stmt_id id, const struct arg *a, size_t n,
    row_fn fn, void *out, struct sg_err *err, const char *what)
{
	stmt_lock(st);
	return stmt_unlock(st, x_one(st, id, a, n, fn, out, err, what), err);
}

static enum sg_rc
q_write(struct ra_store *st, enum stmt_id id, const struct arg *a,
    size_t n, bool must_change, struct sg_err *err, const char *what)
{
	stmt_lock(st);
	return stmt_unlock(st, x_write(st, id, a, n, must_change, err, what),
	    err);
}

static enum sg_rc
q_rows(struct ra_store *st, enum stmt_id id, const struct arg *a, size_t n,
    size_t elsize, row_fn fn, void **out, size_t *nout, struct sg_err *err,
    const char *what)
{
	stmt_lock(st);
	return stmt_unlock(st, x_rows(st, id, a, n, elsize, fn, out, nout,
	    err, what), err);
}

/* ---- open and close ---- */

static void
row_version(const struct row *r, void *p)
{
	*(int64_t *)p = col_int(r, 0);
}

/*
 * Refuse a schema newer than this build; upgrade an older one (the
 * driver's statements) unless "flags" say not to, then record the
 * version. *from: the version found.
 */
static enum sg_rc
x_schema(struct ra_store *st, int flags, int *from, struct sg_err *err)
{
	struct arg	a[] = { A_INT(RA_STORE_SCHEMA) };
	int64_t		v = 0;
	enum sg_rc	rc;

	rc = x_one(st, S_VERSION, NULL, 0, row_version, &v, err,
	    "schema version");
	*from = (int)v;
	if (rc != SG_OK || v == RA_STORE_SCHEMA)
		return rc;
	if (v > RA_STORE_SCHEMA || v < 1)
		return sg_err_set(err, SG_ESTORE, "database schema version "
		    "%lld is not one this scepgate knows (it writes %d): "
		    "run a newer scepgate", (long long)v, RA_STORE_SCHEMA);
	if (flags & RA_STORE_NO_UPGRADE)
		return sg_err_set(err, SG_ESTORE, "database schema version "
		    "%lld is older than this scepgate's (%d) and "
		    "database_auto_upgrade is off: run scepctl db upgrade",
		    (long long)v, RA_STORE_SCHEMA);
	if ((rc = op_begin(st, err)) != SG_OK)
		return rc;
	rc = st->drv->upgrade(st->db, (int)v, RA_STORE_SCHEMA, err);
	if (rc == SG_OK)
		rc = x_write(st, S_VERSION_SET, a, NARGS(a), true, err,
		    "schema version");
	return op_end(st, rc, err);
}

/*
 * Who this process is to the other instances: at most 63 bytes (a
 * PostgreSQL application_name), unique by pid and start time.
 */
static void
instance_id(char *out, size_t outsz)
{
	char	host[32];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outsz, "%s:%ld:%lld", host, (long)getpid(),
	    (long long)time(NULL));
}

/* Open "database" (flags as ra_store_open_flags); *from as x_schema. */
static enum sg_rc
store_open(const char *database, int flags, int *from,
    struct ra_store **out, struct sg_err *err)
{
	struct ra_store	*st;
	struct conf_db	 db;
	enum sg_rc	 rc;

	if ((rc = conf_database_parse(database, &db, err)) != SG_OK)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return sg_err_set(err, SG_ENOMEM, "store");
	instance_id(st->instance, sizeof(st->instance));
	if (db.kind == CONF_DB_SQLITE) {
		st->drv = &ra_drv_sqlite;
		rc = ra_drv_sqlite_open(db.path, S_MAX, &st->db, err);
	} else {
		st->drv = &ra_drv_pg;
		rc = ra_drv_pg_open(db.path, st->instance, S_MAX, &st->db,
		    err);
	}
	if (rc == SG_OK) {
		stmt_lock(st);
		rc = stmt_unlock(st, x_schema(st, flags, from, err), err);
	}
	if (rc != SG_OK) {
		ra_store_close(st);
		return rc;
	}
	*out = st;
	return SG_OK;
}

enum sg_rc
ra_store_open_flags(const char *database, int flags, struct ra_store **out,
    struct sg_err *err)
{
	int	from;

	return store_open(database, flags, &from, out, err);
}

enum sg_rc
ra_store_open(const char *database, struct ra_store **out,
    struct sg_err *err)
{
	return ra_store_open_flags(database, 0, out, err);
}

enum sg_rc
ra_store_upgrade(const char *database, int *from, int *to,
    struct sg_err *err)
{
	struct ra_store	*st = NULL;
	enum sg_rc	 rc;

	if ((rc = store_open(database, 0, from, &st, err)) != SG_OK)
		return rc;
	*to = RA_STORE_SCHEMA;
	ra_store_close(st);
	return SG_OK;
}

static void
row_invariants(const struct row *r, void *p)
{
	struct ra_store_invariants	*v = p;

	v->live_bad = col_int(r, 0);
	v->crl_bad = col_int(r, 1);
	v->cert_bad = col_int(r, 2);
	v->issued_bad = col_int(r, 3);
	v->serial_bad = col_int(r, 4);
	v->txns = col_int(r, 5);
	v->certs = col_int(r, 6);
	v->crls = col_int(r, 7);
	v->audit = col_int(r, 8);
}

static enum sg_rc
x_invariants(struct ra_store *st, struct ra_store_invariants *v,
    struct sg_err *err)
{
	int64_t		missing = 0;
	enum sg_rc	rc;

	if ((rc = x_one(st, S_VERSION, NULL, 0, row_version, &v->schema, err,
	    "schema version")) != SG_OK ||
	    (rc = x_one(st, S_INVARIANTS, NULL, 0, row_invariants, v, err,
	    "invariants")) != SG_OK ||
	    (rc = x_int(st, S_AUDIT_GUARD, NULL, 0, &missing, err,
	    "audit triggers")) != SG_OK)
		return rc;
	v->audit_guard = missing == 0;
	v->schema_want = RA_STORE_SCHEMA;
	return SG_OK;
}

enum sg_rc
ra_store_invariants(struct ra_store *st, struct ra_store_invariants *out,
    struct sg_err *err)
{
	struct ra_store_invariants	v;
	enum sg_rc			rc;

	memset(&v, 0, sizeof(v));
	stmt_lock(st);
	if ((rc = stmt_unlock(st, x_invariants(st, &v, err), err)) == SG_OK)
		*out = v;
	return rc;
}

bool
ra_store_invariants_ok(const struct ra_store_invariants *v)
{
	return v->schema == v->schema_want && v->live_bad == 0 &&
	    v->crl_bad == 0 && v->cert_bad == 0 && v->issued_bad == 0 &&
	    v->serial_bad == 0 && v->audit_guard;
}

enum sg_rc
ra_store_grant(struct ra_store *st, const char *role, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(role) };
	int64_t		one = 0;
	enum sg_rc	rc;

	if (st->drv != &ra_drv_pg)
		return sg_err_set(err, SG_ECONF, "roles: SQLite has none "
		    "(PostgreSQL only)");
	stmt_lock(st);
	if ((rc = tx_join(st, err)) == SG_OK)
		rc = x_int(st, S_GRANT, a, NARGS(a), &one, err, "grant");
	return stmt_unlock(st, rc, err);
}

enum sg_rc
ra_store_ping(struct ra_store *st, struct sg_err *err)
{
	int64_t	v = 0;

	return q_one(st, S_VERSION, NULL, 0, row_version, &v, err,
	    "database");
}

const char *
ra_store_instance(const struct ra_store *st)
{
	return st->instance;
}

void
ra_store_close(struct ra_store *st)
{
	if (st == NULL)
		return;
	if (st->db != NULL)
		st->drv->close(st->db);
	free(st);
}

/* ---- organizations and departments ---- */

static void
row_org(const struct row *r, void *p)
{
	struct ra_org	*o = p;

	memset(o, 0, sizeof(*o));
	o->id = col_int(r, 0);
	col_text(r, 1, o->name, sizeof(o->name));
	col_text(r, 2, o->org, sizeof(o->org));
	o->scm_id = col_int(r, 3);
}

/* Organization "org", or its department "dept" (NULL or "": none). */
static enum sg_rc
x_org(struct ra_store *st, const char *org, const char *dept,
    struct ra_org *o, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(org), A_TEXT(dept) };
	enum sg_rc	rc;

	rc = x_one(st, S_ORG_GET, a, 1, row_org, o, err, "organization");
	if (rc == SG_ENOTFOUND)
		return sg_err_set(err, rc, "no organization '%s'", org);
	if (rc != SG_OK || dept == NULL || dept[0] == '\0')
		return rc;
	rc = x_one(st, S_DEPT_GET, a, 2, row_org, o, err, "department");
	if (rc == SG_ENOTFOUND)
		return sg_err_set(err, rc, "no department '%s' in "
		    "organization '%s'", dept, org);
	return rc;
}

enum sg_rc
ra_store_org_get(struct ra_store *st, const char *org, const char *dept,
    struct ra_org *out, struct sg_err *err)
{
	stmt_lock(st);
	return stmt_unlock(st, x_org(st, org, dept, out, err), err);
}

enum sg_rc
ra_store_org_add(struct ra_store *st, const char *org, const char *dept,
    int64_t scm_id, struct sg_err *err)
{
	struct ra_org	o;
	enum sg_rc	rc;

	if (dept == NULL) {
		struct arg	a[] = { A_TEXT(org), A_INT(time(NULL)),
		    A_INT(scm_id) };

		return q_write(st, S_ORG_ADD, a, NARGS(a), false, err,
		    "organization");
	}
	stmt_lock(st);
	if ((rc = x_org(st, org, NULL, &o, err)) == SG_OK) {
		struct arg	a[] = { A_INT(o.id), A_TEXT(dept),
		    A_INT(time(NULL)), A_INT(scm_id) };

		rc = x_write(st, S_DEPT_ADD, a, NARGS(a), false, err,
		    "department");
	}
	return stmt_unlock(st, rc, err);
}

enum sg_rc
ra_store_org_list(struct ra_store *st, const char *org, bool depts,
    struct ra_org **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(org) };

	return q_rows(st, depts ? S_DEPT_LIST : S_ORG_LIST, a, depts ? 1 : 0,
	    sizeof(**out), row_org, (void **)out, n, err, "organizations");
}

enum sg_rc
ra_store_org_set_scm(struct ra_store *st, const char *org, const char *dept,
    int64_t scm_id, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(org), A_TEXT(dept), A_INT(scm_id) };

	return q_write(st, dept == NULL ? S_ORG_SCM : S_DEPT_SCM, a,
	    NARGS(a), true, err, dept == NULL ? "organization" :
	    "department");
}

/* ---- profiles ---- */

/* Terms are kept as text, "365,730": a short list read as a whole. */
static void
terms_text(const struct ra_profile *p, char *out, size_t outsz)
{
	size_t	i, off = 0;

	out[0] = '\0';
	for (i = 0; i < p->nterms && off < outsz; i++)
		off += (size_t)snprintf(out + off, outsz - off, "%s%d",
		    i > 0 ? "," : "", p->terms[i]);
}

static void
row_profile(const struct row *r, void *arg)
{
	struct ra_profile	*p = arg;
	const char		*t;
	char			*end;
	long			 v;

	p->scm_id = col_int(r, 0);
	col_text(r, 1, p->name, sizeof(p->name));
	p->kind = (enum ra_profile_kind)col_int(r, 2);
	t = col_str(r, 3);
	while (*t != '\0' && p->nterms < RA_TERMS_MAX) {
		v = strtol(t, &end, 10);
		if (end == t || v < 1 || v > INT32_MAX)
			break;
		p->terms[p->nterms++] = (int)v;
		t = *end == ',' ? end + 1 : end;
	}
}

enum sg_rc
ra_store_profile_list(struct ra_store *st, struct ra_profile **out,
    size_t *n, struct sg_err *err)
{
	return q_rows(st, S_PROF_LIST, NULL, 0, sizeof(**out), row_profile,
	    (void **)out, n, err, "profiles");
}

enum sg_rc
ra_store_profile_replace(struct ra_store *st, const struct ra_profile *p,
    size_t n, struct sg_err *err)
{
	char		terms[RA_TERMS_MAX * 12];
	size_t		i;
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) != SG_OK)
		goto out;
	rc = x_write(st, S_PROF_CLEAR, NULL, 0, false, err, "profiles");
	for (i = 0; rc == SG_OK && i < n; i++) {
		struct arg	a[] = { A_INT(p[i].scm_id), A_TEXT(p[i].name),
		    A_INT(p[i].kind), A_TEXT(terms), A_INT(time(NULL)) };

		terms_text(&p[i], terms, sizeof(terms));
		rc = x_write(st, S_PROF_ADD, a, NARGS(a), false, err,
		    "profile (an id twice?)");
	}
	rc = op_end(st, rc, err);
out:
	return stmt_unlock(st, rc, err);
}

/* ---- endpoints ---- */

static void
row_endpoint(const struct row *r, void *p)
{
	struct ra_endpoint	*ep = p;

	memset(ep, 0, sizeof(*ep));
	ep->id = col_int(r, 0);
	col_text(r, 1, ep->name, sizeof(ep->name));
	col_text(r, 2, ep->uri, sizeof(ep->uri));
	ep->type = (enum ra_ep_type)col_int(r, 3);
	col_text(r, 4, ep->ra_id, sizeof(ep->ra_id));
	col_text(r, 5, ep->ra_enc_id, sizeof(ep->ra_enc_id));
	ep->cacert_fmt = (enum ra_cacert_fmt)col_int(r, 6);
	ep->getcert_fmt = (enum ra_getcert_fmt)col_int(r, 7);
	ep->renewal_days = (int)col_int(r, 8);
	ep->min_rsa_bits = (int)col_int(r, 9);
	ep->key_types = (int)col_int(r, 10);
	ep->challenge_types = (int)col_int(r, 11);
	ep->created = col_int(r, 12);
	ep->delegated = col_int(r, 13) != 0;
	col_text(r, 14, ep->org, sizeof(ep->org));
	col_text(r, 15, ep->dept, sizeof(ep->dept));
	col_text(r, 16, ep->profile, sizeof(ep->profile));
	ep->term_days = (int)col_int(r, 17);
	col_text(r, 18, ep->azure, sizeof(ep->azure));
	ep->san_types = (int)col_int(r, 19);
	col_text(r, 20, ep->name_pattern, sizeof(ep->name_pattern));
	ep->subject_from_csr = col_int(r, 21) != 0;
	ep->renewal_any_names = col_int(r, 22) != 0;
	col_text(r, 23, ep->challenge_webhook, sizeof(ep->challenge_webhook));
	col_text(r, 24, ep->webhook_secret_file,
	    sizeof(ep->webhook_secret_file));
	ep->webhook_timeout = (int)col_int(r, 25);
	col_text(r, 26, ep->notify_webhook, sizeof(ep->notify_webhook));
}

/* The webhook settings of endpoint ep->name (one row of ep_webhook). */
static enum sg_rc
x_webhooks(struct ra_store *st, const struct ra_endpoint *ep,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(ep->name), A_TEXT(ep->challenge_webhook),
	    A_TEXT(ep->webhook_secret_file), A_INT(ep->webhook_timeout),
	    A_TEXT(ep->notify_webhook) };

	return x_write(st, S_WH_SET, a, NARGS(a), true, err, "endpoint");
}

/* The parameters of S_EP_ADD and S_EP_UPDATE, by the same numbers. */
#define EP_ARGS(ep) { A_TEXT((ep)->name), A_TEXT((ep)->uri), \
	A_INT((ep)->type), A_TEXT((ep)->ra_id), A_TEXT((ep)->ra_enc_id), \
	A_INT((ep)->cacert_fmt), A_INT((ep)->getcert_fmt), \
	A_INT((ep)->renewal_days), A_INT((ep)->min_rsa_bits), \
	A_INT((ep)->key_types), A_INT((ep)->challenge_types), \
	A_INT((ep)->created), A_INT((ep)->delegated), A_TEXT((ep)->org), \
	A_TEXT((ep)->dept), A_TEXT((ep)->profile), A_INT((ep)->term_days), \
	A_TEXT((ep)->azure), A_INT((ep)->san_types), \
	A_TEXT((ep)->name_pattern), A_INT((ep)->subject_from_csr), \
	A_INT((ep)->renewal_any_names) }

enum sg_rc
ra_store_endpoint_add(struct ra_store *st, struct ra_endpoint *ep,
    struct sg_err *err)
{
	struct arg	a[] = EP_ARGS(ep);
	int64_t		id = 0;
	enum sg_rc	rc;

	ep->created = (int64_t)time(NULL);
	a[11].i = ep->created;
	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK) {
		rc = x_insert(st, S_EP_ADD, a, NARGS(a), &id, err,
		    "endpoint name or URI");
		if (rc == SG_OK)
			rc = x_webhooks(st, ep, err);
		rc = op_end(st, rc, err);
	}
	if ((rc = stmt_unlock(st, rc, err)) == SG_OK)
		ep->id = id;
	return rc;
}

enum sg_rc
ra_store_endpoint_get(struct ra_store *st, const char *key, bool by_uri,
    struct ra_endpoint *ep, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(key) };
	enum sg_rc	rc;

	rc = q_one(st, by_uri ? S_EP_BY_URI : S_EP_BY_NAME, a, NARGS(a),
	    row_endpoint, ep, err, "endpoint");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no endpoint %s '%s'", by_uri ?
		    "with URI extension" : "named", key);
	return rc;
}

enum sg_rc
ra_store_endpoint_by_id(struct ra_store *st, int64_t id,
    struct ra_endpoint *ep, struct sg_err *err)
{
	struct arg	a[] = { A_INT(id) };

	return q_one(st, S_EP_BY_ID, a, NARGS(a), row_endpoint, ep, err,
	    "endpoint");
}

enum sg_rc
ra_store_endpoint_list(struct ra_store *st, struct ra_endpoint **out,
    size_t *n, struct sg_err *err)
{
	return q_rows(st, S_EP_LIST, NULL, 0, sizeof(**out), row_endpoint,
	    (void **)out, n, err, "endpoints");
}

enum sg_rc
ra_store_endpoint_update(struct ra_store *st, const struct ra_endpoint *ep,
    struct sg_err *err)
{
	struct arg	a[] = EP_ARGS(ep);
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK) {
		rc = x_write(st, S_EP_UPDATE, a, NARGS(a), true, err,
		    "endpoint (or its URI extension is in use)");
		if (rc == SG_OK)
			rc = x_webhooks(st, ep, err);
		rc = op_end(st, rc, err);
	}
	return stmt_unlock(st, rc, err);
}

/* The id of endpoint "name"; SG_ENOTFOUND "no endpoint named ...". */
static enum sg_rc
x_endpoint_id(struct ra_store *st, const char *name, int64_t *id,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(name) };
	enum sg_rc	rc;

	rc = x_int(st, S_EP_ID, a, NARGS(a), id, err, "endpoint");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no endpoint named '%s'", name);
	return rc;
}

struct usage {
	size_t	*accounts;
	size_t	*pending;
};

static void
row_usage(const struct row *r, void *p)
{
	struct usage	*u = p;

	*u->accounts = (size_t)col_int(r, 0);
	*u->pending = (size_t)col_int(r, 1);
}

enum sg_rc
ra_store_endpoint_usage(struct ra_store *st, const char *name,
    size_t *accounts, size_t *pending, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(name) };
	struct usage	u = { accounts, pending };
	enum sg_rc	rc;

	rc = q_one(st, S_EP_USAGE, a, NARGS(a), row_usage, &u, err,
	    "endpoint");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no endpoint named '%s'", name);
	return rc;
}

enum sg_rc
ra_store_endpoint_delete(struct ra_store *st, const char *name,
    struct sg_err *err)
{
	int64_t		id = 0;
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = x_endpoint_id(st, name, &id, err)) != SG_OK ||
	    (rc = op_begin(st, err)) != SG_OK)
		goto out;
	{
		struct arg	a[] = { A_INT(id) };

		rc = x_write(st, S_EP_DEL_ACCOUNTS, a, 1, false, err,
		    "endpoint");
		if (rc == SG_OK)
			rc = x_write(st, S_EP_DEL, a, 1, true, err, "endpoint");
	}
	rc = op_end(st, rc, err);
out:
	return stmt_unlock(st, rc, err);
}

/* The ids of organization "org" and of its department "dept" (or 0). */
static enum sg_rc
x_org_ids(struct ra_store *st, const char *org, const char *dept,
    int64_t *org_id, int64_t *dept_id, struct sg_err *err)
{
	struct ra_org	o;
	enum sg_rc	rc;

	if ((rc = x_org(st, org, NULL, &o, err)) != SG_OK)
		return rc;
	*org_id = o.id;
	*dept_id = 0;
	if (dept[0] != '\0' && (rc = x_org(st, org, dept, &o, err)) == SG_OK)
		*dept_id = o.id;
	return rc;
}

/* Clear the delegations of "ep_id", add "d", set the delegated flag. */
static enum sg_rc
x_delegate(struct ra_store *st, int64_t ep_id, bool general,
    const struct ra_deleg *d, size_t n, struct sg_err *err)
{
	struct arg	a[] = { A_INT(ep_id), A_INT(0), A_INT(0) };
	size_t		i;
	enum sg_rc	rc;

	rc = x_write(st, S_DELEG_CLEAR, a, 1, false, err, "delegation");
	for (i = 0; rc == SG_OK && i < n; i++) {
		rc = x_org_ids(st, d[i].org, d[i].dept, &a[1].i, &a[2].i, err);
		if (rc == SG_OK)
			rc = x_write(st, S_DELEG_ADD, a, NARGS(a), false, err,
			    "delegation");
	}
	a[1].i = !general;
	if (rc == SG_OK)
		rc = x_write(st, S_EP_DELEGATED, a, 2, true, err, "endpoint");
	return rc;
}

enum sg_rc
ra_store_delegate(struct ra_store *st, const char *name, bool general,
    const struct ra_deleg *d, size_t n, struct sg_err *err)
{
	int64_t		ep_id;
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = x_endpoint_id(st, name, &ep_id, err)) == SG_OK &&
	    (rc = op_begin(st, err)) == SG_OK)
		rc = op_end(st, x_delegate(st, ep_id, general, d, n, err),
		    err);
	return stmt_unlock(st, rc, err);
}

static void
row_deleg(const struct row *r, void *p)
{
	struct ra_deleg	*d = p;

	col_text(r, 0, d->org, sizeof(d->org));
	col_text(r, 1, d->dept, sizeof(d->dept));
}

enum sg_rc
ra_store_delegations(struct ra_store *st, const char *name,
    struct ra_deleg **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(name) };

	return q_rows(st, S_DELEG_LIST, a, NARGS(a), sizeof(**out), row_deleg,
	    (void **)out, n, err, "delegation");
}

/* ---- accounts ---- */

static void
row_account(const struct row *r, void *p)
{
	struct ra_account	*a = p;

	memset(a, 0, sizeof(*a));
	a->id = col_int(r, 0);
	col_text(r, 1, a->endpoint, sizeof(a->endpoint));
	col_text(r, 2, a->name, sizeof(a->name));
	col_text(r, 3, a->org, sizeof(a->org));
	col_text(r, 4, a->dept, sizeof(a->dept));
	col_text(r, 5, a->profile, sizeof(a->profile));
	a->term_days = (int)col_int(r, 6);
	a->disabled = col_int(r, 7) != 0;
	a->manual = col_int(r, 8) != 0;
	a->created = col_int(r, 9);
}

static enum sg_rc
x_account_add(struct ra_store *st, struct ra_account *ac,
    const uint8_t hmac[32], struct sg_err *err)
{
	struct arg	a[] = { A_INT(0), A_TEXT(ac->name), A_INT(0),
	    A_INT(0), A_TEXT(ac->profile), A_INT(ac->term_days),
	    A_BLOB(hmac, 32), A_INT(ac->disabled), A_INT(ac->manual),
	    A_INT(time(NULL)) };
	int64_t		id = 0;
	enum sg_rc	rc;

	if ((rc = x_endpoint_id(st, ac->endpoint, &a[0].i, err)) != SG_OK ||
	    (rc = x_org_ids(st, ac->org, ac->dept, &a[2].i, &a[3].i,
	    err)) != SG_OK)
		return rc;
	/* The same name, or the same code as another account here. */
	if ((rc = x_insert(st, S_ACCT_ADD, a, NARGS(a), &id, err,
	    "account (name or access code in use)")) == SG_OK) {
		ac->id = id;
		ac->created = a[9].i;
	}
	return rc;
}

enum sg_rc
ra_store_account_add(struct ra_store *st, struct ra_account *a,
    const uint8_t hmac[32], struct sg_err *err)
{
	stmt_lock(st);
	return stmt_unlock(st, x_account_add(st, a, hmac, err), err);
}

enum sg_rc
ra_store_account_by_code(struct ra_store *st, int64_t endpoint_id,
    const uint8_t hmac[32], struct ra_account *ac, struct sg_err *err)
{
	struct arg	a[] = { A_INT(endpoint_id), A_BLOB(hmac, 32) };

	return q_one(st, S_ACCT_BY_CODE, a, NARGS(a), row_account, ac, err,
	    "account with this access code");
}

enum sg_rc
ra_store_account_by_id(struct ra_store *st, int64_t id,
    struct ra_account *ac, struct sg_err *err)
{
	struct arg	a[] = { A_INT(id) };

	return q_one(st, S_ACCT_BY_ID, a, NARGS(a), row_account, ac, err,
	    "account");
}

enum sg_rc
ra_store_account_by_name(struct ra_store *st, const char *endpoint,
    const char *name, struct ra_account *ac, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(endpoint), A_TEXT(name) };
	enum sg_rc	rc;

	rc = q_one(st, S_ACCT_BY_NAME, a, NARGS(a), row_account, ac, err,
	    "account");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no account '%s' on endpoint '%s'",
		    name, endpoint);
	return rc;
}

enum sg_rc
ra_store_account_update(struct ra_store *st, const struct ra_account *ac,
    const uint8_t *hmac, struct sg_err *err)
{
	struct arg	a[] = { A_INT(ac->id), A_TEXT(ac->profile),
	    A_INT(ac->term_days), A_INT(ac->disabled), A_INT(ac->manual) };
	struct arg	c[] = { A_INT(ac->id), A_BLOB(hmac, 32) };

	if (hmac != NULL)
		return q_write(st, S_ACCT_CODE, c, NARGS(c), true, err,
		    "account (or the access code is in use)");
	return q_write(st, S_ACCT_UPDATE, a, NARGS(a), true, err, "account");
}

enum sg_rc
ra_store_account_list(struct ra_store *st, const char *endpoint,
    struct ra_account **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(endpoint) };

	return q_rows(st, S_ACCT_LIST, a, NARGS(a), sizeof(**out),
	    row_account, (void **)out, n, err, "accounts");
}

enum sg_rc
ra_store_account_delete(struct ra_store *st, const char *endpoint,
    const char *name, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(endpoint), A_TEXT(name) };
	enum sg_rc	rc;

	rc = q_write(st, S_ACCT_DEL, a, NARGS(a), true, err, "account");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no account '%s' on endpoint '%s'",
		    name, endpoint);
	return rc;
}

/* ---- transactions ---- */

static void
row_txn(const struct row *r, void *p)
{
	struct ra_txn	*t = p;
	const void	*kid;
	size_t		 len;

	memset(t, 0, sizeof(*t));
	t->id = col_int(r, 0);
	t->endpoint_id = col_int(r, 1);
	col_text(r, 2, t->transid, sizeof(t->transid));
	t->account_id = col_int(r, 3);
	t->msg_type = (int)col_int(r, 4);
	t->status = (enum ra_req_status)col_int(r, 5);
	if ((kid = col_blob(r, 6, &len)) != NULL && len == sizeof(t->key_id))
		memcpy(t->key_id, kid, sizeof(t->key_id));
	col_text(r, 7, t->subject, sizeof(t->subject));
	col_text(r, 8, t->serial, sizeof(t->serial));
	col_text(r, 9, t->order_id, sizeof(t->order_id));
	t->failinfo = (int)col_int(r, 10);
	col_text(r, 11, t->reason, sizeof(t->reason));
	col_text(r, 12, t->peer, sizeof(t->peer));
	col_text(r, 13, t->renews, sizeof(t->renews));
	t->challenge_id = col_int(r, 14);
}

/*
 * The insert of ra_store_txn_begin; then the check that no transaction
 * of this transactionID newer than the one the caller saw (t->id)
 * exists besides it: a concurrent request may have been inserted and
 * decided between the caller's lookup and this insert, where the live
 * index no longer stops it (issue 14, test_pg_instances: two
 * certificates for one PKCSReq sent to two instances at once); then
 * the claim of its challenge.
 */
static enum sg_rc
x_txn_begin(struct ra_store *st, const struct ra_txn *t, int64_t *id,
    struct sg_err *err)
{
	int64_t		now = (int64_t)time(NULL), newer = 0;
	struct arg	a[] = { A_INT(t->endpoint_id), A_TEXT(t->transid),
	    A_INT(t->account_id), A_INT(t->msg_type),
	    A_BLOB(t->key_id, sizeof(t->key_id)), A_BLOB(t->csr, t->csr_len),
	    A_TEXT(t->subject), A_TEXT(t->peer), A_INT(now),
	    A_TEXT(t->renews), A_INT(t->challenge_id), A_TEXT(st->instance) };
	struct arg	b[] = { A_INT(t->endpoint_id), A_TEXT(t->transid),
	    A_INT(t->id), A_INT(0) };
	struct arg	c[] = { A_INT(t->challenge_id), A_INT(0), A_INT(now) };
	enum sg_rc	rc;

	if ((rc = x_insert(st, S_TXN_BEGIN, a, NARGS(a), id, err,
	    "transaction")) != SG_OK)
		return rc;
	b[3] = (struct arg)A_INT(*id);
	if ((rc = x_int(st, S_TXN_NEWER, b, NARGS(b), &newer, err,
	    "transaction")) != SG_OK)
		return rc;
	if (newer > 0)
		return sg_err_set(err, SG_EEXIST, "transaction: decided by "
		    "another request meanwhile");
	if (t->challenge_id == 0)
		return SG_OK;
	c[1] = (struct arg)A_INT(*id);
	return x_write(st, S_CHAL_CLAIM, c, NARGS(c), true, err,
	    "outstanding challenge");
}

enum sg_rc
ra_store_txn_begin(struct ra_store *st, struct ra_txn *t, struct sg_err *err)
{
	int64_t		id = 0;
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK)
		rc = op_end(st, x_txn_begin(st, t, &id, err), err);
	if ((rc = stmt_unlock(st, rc, err)) == SG_OK) {
		t->id = id;
		t->status = RA_REQ_NEW;
	}
	return rc;
}

enum sg_rc
ra_store_txn_find(struct ra_store *st, int64_t endpoint_id,
    const char *transid, struct ra_txn *t, struct sg_err *err)
{
	struct arg	a[] = { A_INT(endpoint_id), A_TEXT(transid) };

	return q_one(st, S_TXN_FIND, a, NARGS(a), row_txn, t, err,
	    "transaction");
}

struct txn_csr {
	struct ra_txn	*t;
	uint8_t		**csr;
	size_t		*len;
	enum sg_rc	 rc;
};

static void
row_txn_csr(const struct row *r, void *p)
{
	struct txn_csr	*x = p;

	row_txn(r, x->t);
	if (x->csr != NULL)
		x->rc = col_copy(r, 15, x->csr, x->len, NULL);
}

enum sg_rc
ra_store_txn_get(struct ra_store *st, int64_t id, struct ra_txn *t,
    uint8_t **csr, size_t *csr_len, struct sg_err *err)
{
	struct arg	a[] = { A_INT(id) };
	struct txn_csr	x = { t, csr, csr_len, SG_OK };
	enum sg_rc	rc;

	rc = q_one(st, S_TXN_GET, a, NARGS(a), row_txn_csr, &x, err,
	    "request");
	if (rc == SG_ENOTFOUND)
		return sg_err_set(err, rc, "no request %lld", (long long)id);
	if (rc == SG_OK && x.rc != SG_OK)
		return sg_err_set(err, x.rc, "request %lld: CSR",
		    (long long)id);
	return rc;
}

enum sg_rc
ra_store_txn_update(struct ra_store *st, const struct ra_txn *t,
    enum ra_req_status from, struct sg_err *err)
{
	struct arg	a[] = { A_INT(t->id), A_INT(t->status),
	    A_TEXT(t->serial), A_TEXT(t->order_id), A_INT(t->failinfo),
	    A_TEXT(t->reason), A_INT(t->account_id), A_INT(time(NULL)),
	    A_INT(from) };

	return q_write(st, S_TXN_UPDATE, a, NARGS(a), true, err,
	    "transaction in the expected state");
}

static void
row_request(const struct row *r, void *p)
{
	struct ra_request	*q = p;

	q->id = col_int(r, 0);
	col_text(r, 1, q->endpoint, sizeof(q->endpoint));
	col_text(r, 2, q->account, sizeof(q->account));
	col_text(r, 3, q->transid, sizeof(q->transid));
	snprintf(q->type, sizeof(q->type), "%s",
	    p7_type_name((int)col_int(r, 4)));
	q->status = (enum ra_req_status)col_int(r, 5);
	col_text(r, 6, q->subject, sizeof(q->subject));
	col_text(r, 7, q->serial, sizeof(q->serial));
	col_text(r, 8, q->order_id, sizeof(q->order_id));
	col_text(r, 9, q->reason, sizeof(q->reason));
	col_text(r, 10, q->peer, sizeof(q->peer));
	q->created = col_int(r, 11);
	q->updated = col_int(r, 12);
}

enum sg_rc
ra_store_txn_list(struct ra_store *st, int status, struct ra_request **out,
    size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_INT(status) };

	return q_rows(st, S_TXN_LIST, a, NARGS(a), sizeof(**out), row_request,
	    (void **)out, n, err, "requests");
}

enum sg_rc
ra_store_txn_orders(struct ra_store *st, struct ra_txn **out, size_t *n,
    struct sg_err *err)
{
	return q_rows(st, S_TXN_ORDERS, NULL, 0, sizeof(**out), row_txn,
	    (void **)out, n, err, "orders");
}

enum sg_rc
ra_store_txn_stuck(struct ra_store *st, int64_t before, struct ra_txn **out,
    size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_INT(before), A_TEXT(st->instance) };

	return q_rows(st, S_TXN_STUCK, a, NARGS(a), sizeof(**out), row_txn,
	    (void **)out, n, err, "stuck transactions");
}

static void
row_gauges(const struct row *r, void *p)
{
	struct ra_gauges	*g = p;

	g->locked_sources = col_int(r, 0);
	g->locked_endpoints = col_int(r, 1);
	g->txn_new = col_int(r, 2);
	g->txn_pending = col_int(r, 3);
	g->certs_valid = col_int(r, 4);
	g->certs_revoked = col_int(r, 5);
	g->certs_expiring = col_int(r, 6);
}

enum sg_rc
ra_store_gauges(struct ra_store *st, const struct ra_gauge_query *q,
    struct ra_gauges *g, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(q->lock_like), A_INT(q->lock_since),
	    A_INT(q->ceiling_since), A_INT(q->ceiling), A_INT(q->now),
	    A_INT(q->expiring_before) };

	return q_one(st, S_GAUGES, a, NARGS(a), row_gauges, g, err,
	    "gauges");
}

enum sg_rc
ra_store_txn_mark(struct ra_store *st, const struct ra_txn *t,
    const char *order, struct sg_err *err)
{
	struct arg	ma[] = { A_INT(t->id) };
	struct arg	ua[] = { A_INT(t->endpoint_id), A_TEXT(t->transid),
	    A_INT(t->id), A_TEXT(order) };

	if (order == NULL)
		return q_write(st, S_TXN_MARK, ma, NARGS(ma), true, err,
		    "transaction to mark");
	return q_write(st, S_TXN_UNMARK, ua, NARGS(ua), false, err,
	    "order marker");
}

enum sg_rc
ra_store_txn_marked(struct ra_store *st, int64_t endpoint_id,
    const char *transid, bool *marked, struct sg_err *err)
{
	struct arg	a[] = { A_INT(endpoint_id), A_TEXT(transid) };
	int64_t		n = 0;
	enum sg_rc	rc;

	stmt_lock(st);
	rc = stmt_unlock(st, x_int(st, S_TXN_MARKED, a, NARGS(a), &n, err,
	    "order marker"), err);
	if (rc == SG_OK)
		*marked = n > 0;
	return rc;
}

enum sg_rc
ra_store_txn_claim(struct ra_store *st, const char *holder, int64_t now,
    int64_t until, size_t max, struct ra_txn **out, size_t *n,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(holder), A_INT(now), A_INT(until),
	    A_INT(max) };
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = tx_join(st, err)) == SG_OK)
		rc = x_rows(st, S_TXN_CLAIM, a, NARGS(a), sizeof(**out),
		    row_txn, (void **)out, n, err, "order claims");
	return stmt_unlock(st, rc, err);
}

enum sg_rc
ra_store_lease_take(struct ra_store *st, const char *name,
    const char *holder, int64_t now, int64_t until, bool *taken,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(name), A_TEXT(holder), A_INT(now),
	    A_INT(until) };
	enum sg_rc	rc;

	stmt_lock(st);
	rc = x_write(st, S_LEASE_TAKE, a, NARGS(a), false, err, "lease");
	if (rc == SG_OK)
		*taken = st->drv->changes(st->db) > 0;
	return stmt_unlock(st, rc, err);
}

/* The writes of ra_store_txn_issued, inside its savepoint. */
static enum sg_rc
x_issued(struct ra_store *st, const struct ra_txn *t,
    const struct ra_cert_rec *c, const struct ra_audit *au,
    enum ra_req_status from, struct sg_err *err)
{
	int64_t		now = (int64_t)time(NULL);
	struct arg	ta[] = { A_INT(t->id), A_INT(t->status),
	    A_TEXT(t->serial), A_TEXT(t->order_id), A_INT(t->failinfo),
	    A_TEXT(t->reason), A_INT(t->account_id), A_INT(now),
	    A_INT(from) };
	struct arg	sa[] = { A_TEXT(t->renews), A_INT(RA_CERT_SUPERSEDED),
	    A_INT(now), A_INT(0) };
	struct arg	ua[] = { A_INT(t->challenge_id), A_INT(t->id),
	    A_INT(now), A_TEXT(t->serial) };
	enum sg_rc	rc;

	/* The compare-and-set first: a lost race writes nothing. */
	if ((rc = x_write(st, S_TXN_UPDATE, ta, NARGS(ta), true, err,
	    "transaction in the expected state")) != SG_OK)
		return rc;
	/* One certificate per challenge, whoever else holds it. */
	if (t->challenge_id != 0 && (rc = x_write(st, S_CHAL_USE, ua,
	    NARGS(ua), true, err, "unused challenge of this transaction")) !=
	    SG_OK)
		return rc;
	if (c != NULL) {
		struct arg	ca[] = { A_TEXT(c->serial),
		    A_INT(c->endpoint_id), A_INT(c->account_id),
		    A_INT(c->txn_id), A_TEXT(c->subject),
		    A_INT(c->not_before), A_INT(c->not_after),
		    A_BLOB(c->der, c->der_len) };

		struct arg	ea[] = { A_TEXT(c->serial),
		    A_INT(c->endpoint_id), A_TEXT(c->subject),
		    A_INT(c->not_after), A_TEXT(t->transid), A_INT(now) };

		if ((rc = x_write(st, S_CERT_ADD, ca, NARGS(ca), false, err,
		    "certificate")) != SG_OK ||
		    (rc = x_write(st, S_EV_ISSUED, ea, NARGS(ea), false, err,
		    "outbox")) != SG_OK)
			return rc;
	}
	/* Not a failure when the old one is revoked or superseded already. */
	if (t->renews[0] != '\0' && (rc = x_write(st, S_CERT_STATUS, sa,
	    NARGS(sa), false, err, "renewed certificate")) != SG_OK)
		return rc;
	if (au != NULL) {
		struct arg	aa[] = { A_INT(now), A_TEXT(au->actor),
		    A_TEXT(au->endpoint), A_TEXT(au->account),
		    A_TEXT(au->transid), A_TEXT(au->action),
		    A_TEXT(au->outcome), A_TEXT(au->details) };

		rc = x_write(st, S_AUDIT_ADD, aa, NARGS(aa), false, err,
		    "audit");
	}
	return rc;
}

enum sg_rc
ra_store_txn_issued(struct ra_store *st, const struct ra_txn *t,
    const struct ra_cert_rec *c, const struct ra_audit *au,
    enum ra_req_status from, struct sg_err *err)
{
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK)
		rc = op_end(st, x_issued(st, t, c, au, from, err), err);
	return stmt_unlock(st, rc, err);
}

/* ---- certificates and CRLs ---- */

enum sg_rc
ra_store_cert_add(struct ra_store *st, const struct ra_cert_rec *c,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(c->serial), A_INT(c->endpoint_id),
	    A_INT(c->account_id), A_INT(c->txn_id), A_TEXT(c->subject),
	    A_INT(c->not_before), A_INT(c->not_after),
	    A_BLOB(c->der, c->der_len) };

	return q_write(st, S_CERT_ADD, a, NARGS(a), false, err,
	    "certificate");
}

static void
row_cert(const struct row *r, void *p)
{
	struct ra_cert	*c = p;

	memset(c, 0, sizeof(*c));
	col_text(r, 0, c->serial, sizeof(c->serial));
	col_text(r, 1, c->endpoint, sizeof(c->endpoint));
	col_text(r, 2, c->account, sizeof(c->account));
	col_text(r, 3, c->subject, sizeof(c->subject));
	c->not_before = col_int(r, 4);
	c->not_after = col_int(r, 5);
	c->status = (enum ra_cert_status)col_int(r, 6);
	c->revoked_at = col_int(r, 7);
	c->reason = (int)col_int(r, 8);
	c->challenge_id = col_int(r, 11);
	col_text(r, 12, c->minted_by, sizeof(c->minted_by));
}

struct cert_der {
	struct ra_cert	*c;
	int64_t		*account_id;
	uint8_t		**der;
	size_t		*len;
	enum sg_rc	 rc;
};

static void
row_cert_der(const struct row *r, void *p)
{
	struct cert_der	*x = p;

	row_cert(r, x->c);
	if (x->account_id != NULL)
		*x->account_id = col_int(r, 9);
	if (x->der != NULL) {
		x->rc = col_copy(r, 10, x->der, x->len, NULL);
		if (x->rc == SG_OK && *x->der == NULL)
			x->rc = SG_ESTORE;
	}
}

enum sg_rc
ra_store_cert_get(struct ra_store *st, const char *serial, struct ra_cert *c,
    int64_t *account_id, uint8_t **der, size_t *len, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(serial) };
	struct ra_cert	tmp;
	struct cert_der	x = { c != NULL ? c : &tmp, account_id, der, len,
	    SG_OK };
	enum sg_rc	rc;

	rc = q_one(st, S_CERT_GET, a, NARGS(a), row_cert_der, &x, err,
	    "certificate");
	if (rc == SG_ENOTFOUND)
		return sg_err_set(err, rc, "no certificate with serial %s",
		    serial);
	if (rc == SG_OK && x.rc != SG_OK)
		return sg_err_set(err, x.rc, "certificate %s: DER", serial);
	return rc;
}

enum sg_rc
ra_store_cert_list(struct ra_store *st, const char *endpoint, int status,
    struct ra_cert **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_FILTER(endpoint), A_INT(status) };

	return q_rows(st, S_CERT_LIST, a, NARGS(a), sizeof(**out), row_cert,
	    (void **)out, n, err, "certificates");
}

enum sg_rc
ra_store_cert_set_status(struct ra_store *st, const char *serial,
    enum ra_cert_status status, int reason, struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(serial), A_INT(status),
	    A_INT(time(NULL)), A_INT(reason) };
	struct arg	ea[] = { A_TEXT(serial), A_INT(reason),
	    A_INT(time(NULL)) };
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK) {
		rc = x_write(st, S_CERT_STATUS, a, NARGS(a), true, err,
		    "certificate");
		if (rc == SG_OK && status == RA_CERT_REVOKED)
			rc = x_write(st, S_EV_REVOKED, ea, NARGS(ea), false,
			    err, "outbox");
		rc = op_end(st, rc, err);
	}
	rc = stmt_unlock(st, rc, err);
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no valid certificate with serial %s",
		    serial);
	return rc;
}

struct crl {
	uint8_t		**der;
	size_t		*len;
	int64_t		*next_update;
	enum sg_rc	 rc;
};

static void
row_crl(const struct row *r, void *p)
{
	struct crl	*x = p;

	x->rc = col_copy(r, 0, x->der, x->len, NULL);
	if (x->rc == SG_OK && *x->der == NULL)
		x->rc = SG_ESTORE;
	*x->next_update = col_int(r, 1);
}

enum sg_rc
ra_store_crl_get(struct ra_store *st, uint8_t **der, size_t *len,
    int64_t *next_update, struct sg_err *err)
{
	struct crl	x = { der, len, next_update, SG_OK };
	enum sg_rc	rc;

	rc = q_one(st, S_CRL_GET, NULL, 0, row_crl, &x, err, "CRL yet");
	if (rc == SG_OK && x.rc != SG_OK)
		return sg_err_set(err, x.rc, "CRL: DER");
	return rc;
}

enum sg_rc
ra_store_crl_number(struct ra_store *st, int64_t *number, struct sg_err *err)
{
	stmt_lock(st);
	return stmt_unlock(st, x_int(st, S_CRL_NUMBER, NULL, 0, number, err,
	    "CRL number"), err);
}

enum sg_rc
ra_store_crl_put(struct ra_store *st, int64_t number, const uint8_t *der,
    size_t len, int64_t next_update, struct sg_err *err)
{
	struct arg	a[] = { A_INT(number), A_BLOB(der, len),
	    A_INT(next_update), A_INT(time(NULL)) };
	enum sg_rc	rc;

	rc = q_write(st, S_CRL_PUT, a, NARGS(a), true, err, "CRL");
	if (rc == SG_ENOTFOUND)
		return sg_err_set(err, SG_EEXIST, "CRL number %lld: not above "
		    "the last one", (long long)number);
	return rc;
}

/* ---- the webhook outbox ---- */

static void
row_event(const struct row *r, void *p)
{
	struct ra_event	*ev = p;

	memset(ev, 0, sizeof(*ev));
	ev->id = col_int(r, 0);
	col_text(r, 1, ev->event_id, sizeof(ev->event_id));
	ev->endpoint_id = col_int(r, 2);
	col_text(r, 3, ev->kind, sizeof(ev->kind));
	col_text(r, 4, ev->serial, sizeof(ev->serial));
	col_text(r, 5, ev->subject, sizeof(ev->subject));
	ev->not_after = col_int(r, 6);
	col_text(r, 7, ev->transid, sizeof(ev->transid));
	col_text(r, 8, ev->reason, sizeof(ev->reason));
	ev->code = (int)col_int(r, 9);
	ev->created = col_int(r, 10);
	ev->attempts = (int)col_int(r, 11);
	ev->next_try = col_int(r, 12);
}

enum sg_rc
ra_store_event_add(struct ra_store *st, const struct ra_event *ev,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(ev->event_id), A_INT(ev->endpoint_id),
	    A_TEXT(ev->kind), A_TEXT(ev->serial), A_TEXT(ev->subject),
	    A_INT(ev->not_after), A_TEXT(ev->transid), A_TEXT(ev->reason),
	    A_INT(ev->code), A_INT(ev->created) };

	return q_write(st, S_EV_ADD, a, NARGS(a), false, err, "outbox");
}

enum sg_rc
ra_store_event_due(struct ra_store *st, int64_t now, size_t max,
    struct ra_event **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_INT(now), A_INT(max) };

	return q_rows(st, S_EV_DUE, a, NARGS(a), sizeof(**out), row_event,
	    (void **)out, n, err, "outbox");
}

enum sg_rc
ra_store_event_claim(struct ra_store *st, const struct ra_event *ev,
    int64_t next, struct sg_err *err)
{
	struct arg	a[] = { A_INT(ev->id), A_INT(ev->next_try),
	    A_INT(next) };

	return q_write(st, S_EV_CLAIM, a, NARGS(a), true, err,
	    "outbox event due");
}

enum sg_rc
ra_store_event_done(struct ra_store *st, int64_t id, struct sg_err *err)
{
	struct arg	a[] = { A_INT(id) };

	return q_write(st, S_EV_DONE, a, NARGS(a), false, err, "outbox");
}

enum sg_rc
ra_store_event_retry(struct ra_store *st, int64_t id, int64_t next,
    const char *why, struct sg_err *err)
{
	struct arg	a[] = { A_INT(id), A_INT(next), A_TEXT(why) };

	return q_write(st, S_EV_RETRY, a, NARGS(a), false, err, "outbox");
}

/* ---- audit ---- */

enum sg_rc
ra_store_audit_add(struct ra_store *st, const struct ra_audit *au,
    struct sg_err *err)
{
	struct arg	a[] = { A_INT(time(NULL)), A_TEXT(au->actor),
	    A_TEXT(au->endpoint), A_TEXT(au->account), A_TEXT(au->transid),
	    A_TEXT(au->action), A_TEXT(au->outcome), A_TEXT(au->details) };

	return q_write(st, S_AUDIT_ADD, a, NARGS(a), false, err, "audit");
}

static void
row_audit(const struct row *r, void *p)
{
	struct ra_audit_rec	*a = p;

	a->id = col_int(r, 0);
	a->time = col_int(r, 1);
	col_text(r, 2, a->actor, sizeof(a->actor));
	col_text(r, 3, a->endpoint, sizeof(a->endpoint));
	col_text(r, 4, a->account, sizeof(a->account));
	col_text(r, 5, a->transid, sizeof(a->transid));
	col_text(r, 6, a->action, sizeof(a->action));
	col_text(r, 7, a->outcome, sizeof(a->outcome));
	col_text(r, 8, a->details, sizeof(a->details));
}

enum sg_rc
ra_store_audit_list(struct ra_store *st, const struct ra_audit_filter *f,
    struct ra_audit_rec **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_FILTER(f->endpoint), A_FILTER(f->account),
	    A_FILTER(f->outcome), A_INT(f->since),
	    A_INT(f->until > 0 ? f->until : INT64_MAX) };

	return q_rows(st, S_AUDIT_LIST, a, NARGS(a), sizeof(**out), row_audit,
	    (void **)out, n, err, "audit");
}

/* ---- failure counters, refusal windows, prune ---- */

/* Columns 0 .. RA_FAIL_KEYS - 1 as integers. */
static void
row_ints(const struct row *r, void *p)
{
	int64_t	*v = p;
	int	 i;

	for (i = 0; i < RA_FAIL_KEYS; i++)
		v[i] = col_int(r, i);
}

enum sg_rc
ra_store_fail_count(struct ra_store *st, int64_t endpoint_id,
    const struct ra_fail_query *q, size_t n, int64_t *counts,
    struct sg_err *err)
{
	struct arg	a[1 + 2 * RA_FAIL_KEYS];
	int64_t		v[RA_FAIL_KEYS];
	size_t		i;
	enum sg_rc	rc;

	if (n > RA_FAIL_KEYS)
		n = RA_FAIL_KEYS;
	a[0] = (struct arg)A_INT(endpoint_id);
	for (i = 0; i < RA_FAIL_KEYS; i++) {
		a[1 + 2 * i] = (struct arg)A_TEXT(i < n ? q[i].key : NULL);
		a[2 + 2 * i] = (struct arg)A_INT(i < n ? q[i].since : 0);
	}
	rc = q_one(st, S_FAIL_COUNT, a, NARGS(a), row_ints, v, err,
	    "failure count");
	if (rc == SG_OK)
		memcpy(counts, v, n * sizeof(*v));
	return rc;
}

static enum sg_rc
x_fail_add(struct ra_store *st, int64_t endpoint_id,
    const char *const *keys, size_t n, int64_t now, int64_t expire_before,
    struct sg_err *err)
{
	struct arg	e[] = { A_INT(expire_before) };
	size_t		i;
	enum sg_rc	rc = SG_OK;

	for (i = 0; i < n && i < RA_FAIL_KEYS && rc == SG_OK; i++) {
		struct arg	a[] = { A_INT(endpoint_id), A_TEXT(keys[i]),
		    A_INT(now) };

		rc = x_write(st, S_FAIL_ADD, a, NARGS(a), false, err,
		    "failure count");
	}
	if (rc == SG_OK)
		rc = x_write(st, S_FAIL_EXPIRE, e, NARGS(e), false, err,
		    "failure count");
	return rc;
}

enum sg_rc
ra_store_fail_add(struct ra_store *st, int64_t endpoint_id,
    const char *const *keys, size_t n, int64_t now, int64_t expire_before,
    struct sg_err *err)
{
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK)
		rc = op_end(st, x_fail_add(st, endpoint_id, keys, n, now,
		    expire_before, err), err);
	return stmt_unlock(st, rc, err);
}

static enum sg_rc
x_refusal_add(struct ra_store *st, const struct ra_refusal *r, int64_t now,
    int64_t window, bool *first, struct sg_err *err)
{
	struct arg	rep[] = { A_INT(now), A_INT(now - window),
	    A_INT(window) };
	struct arg	cl[] = { A_INT(now - window) };
	int64_t		n = 0;
	enum sg_rc	rc;

	if ((rc = x_write(st, S_REF_REPORT, rep, NARGS(rep), false, err,
	    "refusal window")) != SG_OK || (rc = x_write(st, S_REF_CLOSE, cl,
	    NARGS(cl), false, err, "refusal window")) != SG_OK || r == NULL)
		return rc;
	{
		struct arg	a[] = { A_TEXT(r->source),
		    A_TEXT(r->endpoint), A_TEXT(r->reason), A_INT(now) };

		rc = x_int(st, S_REF_ADD, a, NARGS(a), &n, err,
		    "refusal window");
	}
	if (rc == SG_OK && first != NULL)
		*first = n == 0;
	return rc;
}

enum sg_rc
ra_store_refusal_add(struct ra_store *st, const struct ra_refusal *r,
    int64_t now, int64_t window, bool *first, struct sg_err *err)
{
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK)
		rc = op_end(st, x_refusal_add(st, r, now, window, first, err),
		    err);
	return stmt_unlock(st, rc, err);
}

static enum sg_rc
x_audit_prune(struct ra_store *st, int64_t before, int64_t first,
    int64_t last, int64_t count, const struct ra_audit *au,
    struct sg_err *err)
{
	struct arg	b[] = { A_INT(before) };
	struct arg	m[] = { A_INT(first), A_INT(last),
	    A_INT(time(NULL)) };
	struct arg	d[] = { A_INT(before), A_INT(first), A_INT(last) };
	struct arg	add[] = { A_INT(time(NULL)), A_TEXT(au->actor),
	    A_TEXT(au->endpoint), A_TEXT(au->account), A_TEXT(au->transid),
	    A_TEXT(au->action), A_TEXT(au->outcome), A_TEXT(au->details) };
	int64_t		v[RA_FAIL_KEYS];
	enum sg_rc	rc;

	if ((rc = x_one(st, S_PRUNE_RANGE, b, NARGS(b), row_ints, v, err,
	    "audit")) != SG_OK)
		return rc;
	if (count == 0 || v[0] != first || v[1] != last || v[2] != count)
		return sg_err_set(err, SG_ENOTFOUND, "audit records before "
		    "that time are ids %lld..%lld (%lld), not %lld..%lld "
		    "(%lld)", (long long)v[0], (long long)v[1],
		    (long long)v[2], (long long)first, (long long)last,
		    (long long)count);
	if ((rc = x_write(st, S_AUDIT_ADD, add, NARGS(add), false, err,
	    "audit")) != SG_OK ||
	    (rc = x_write(st, S_PRUNE_MARK, m, NARGS(m), false, err,
	    "audit prune")) != SG_OK ||
	    (rc = x_write(st, S_PRUNE_DEL, d, NARGS(d), true, err,
	    "audit prune")) != SG_OK)
		return rc;
	return x_write(st, S_PRUNE_UNMARK, NULL, 0, false, err,
	    "audit prune");
}

enum sg_rc
ra_store_audit_prune(struct ra_store *st, int64_t before, int64_t first,
    int64_t last, int64_t count, const struct ra_audit *rec,
    struct sg_err *err)
{
	enum sg_rc	rc;

	stmt_lock(st);
	if ((rc = op_begin(st, err)) == SG_OK)
		rc = op_end(st, x_audit_prune(st, before, first, last, count,
		    rec, err), err);
	return stmt_unlock(st, rc, err);
}

/* ---- API tokens (issue 13) ---- */

struct tok_row {
	struct ra_token	*tok;
	uint8_t		*hmac;		/* NULL: not wanted */
};

static void
row_token(const struct row *r, void *p)
{
	struct ra_token	*t = p;

	memset(t, 0, sizeof(*t));
	t->id = col_int(r, 0);
	col_text(r, 1, t->name, sizeof(t->name));
	t->scope = (enum ra_scope)col_int(r, 2);
	col_text(r, 3, t->endpoint, sizeof(t->endpoint));
	t->created = col_int(r, 4);
	t->last_used = col_int(r, 5);
	t->revoked = col_int(r, 6) != 0;
}

static void
row_token_hmac(const struct row *r, void *p)
{
	struct tok_row	*x = p;
	const void	*h;
	size_t		 len = 0;

	row_token(r, x->tok);
	memset(x->hmac, 0, 32);
	if ((h = col_blob(r, 7, &len)) != NULL && len == 32)
		memcpy(x->hmac, h, 32);
}

enum sg_rc
ra_store_token_add(struct ra_store *st, struct ra_token *tok,
    const uint8_t hmac[32], struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(tok->name), A_INT(tok->scope),
	    A_TEXT(tok->endpoint), A_BLOB(hmac, 32), A_INT(tok->created) };
	int64_t		id = 0;
	enum sg_rc	rc;

	stmt_lock(st);
	rc = x_insert(st, S_TOK_ADD, a, NARGS(a), &id, err, "token");
	if ((rc = stmt_unlock(st, rc, err)) == SG_OK)
		tok->id = id;
	return rc;
}

enum sg_rc
ra_store_token_list(struct ra_store *st, struct ra_token **out, size_t *n,
    struct sg_err *err)
{
	return q_rows(st, S_TOK_LIST, NULL, 0, sizeof(**out), row_token,
	    (void **)out, n, err, "tokens");
}

enum sg_rc
ra_store_token_by_hmac(struct ra_store *st, const uint8_t hmac[32],
    struct ra_token *tok, uint8_t stored[32], struct sg_err *err)
{
	struct arg	a[] = { A_BLOB(hmac, 32) };
	struct tok_row	x = { tok, stored };

	return q_one(st, S_TOK_BY_HMAC, a, NARGS(a), row_token_hmac, &x, err,
	    "token");
}

enum sg_rc
ra_store_token_used(struct ra_store *st, int64_t id, int64_t now,
    struct sg_err *err)
{
	struct arg	a[] = { A_INT(id), A_INT(now) };

	return q_write(st, S_TOK_USED, a, NARGS(a), true, err, "token");
}

enum sg_rc
ra_store_token_revoke(struct ra_store *st, const char *name, int64_t now,
    struct sg_err *err)
{
	struct arg	a[] = { A_TEXT(name), A_INT(now) };
	enum sg_rc	rc;

	rc = q_write(st, S_TOK_REVOKE, a, NARGS(a), true, err, "token");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no live token '%s'", name);
	return rc;
}

/* ---- one-time challenges (issue 13) ---- */

static void
row_challenge(const struct row *r, void *p)
{
	struct ra_challenge	*c = p;

	memset(c, 0, sizeof(*c));
	c->id = col_int(r, 0);
	col_text(r, 1, c->endpoint, sizeof(c->endpoint));
	col_text(r, 2, c->account, sizeof(c->account));
	col_text(r, 3, c->minted_by, sizeof(c->minted_by));
	col_text(r, 4, c->cn, sizeof(c->cn));
	col_text(r, 5, c->san, sizeof(c->san));
	c->status = (enum ra_chal_status)col_int(r, 6);
	c->created = col_int(r, 7);
	c->expires = col_int(r, 8);
	c->used = col_int(r, 9);
	col_text(r, 10, c->serial, sizeof(c->serial));
}

static void
row_chal_rec(const struct row *r, void *p)
{
	struct ra_chal_rec	*x = p;

	row_challenge(r, &x->c);
	x->endpoint_id = col_int(r, 11);
	x->account_id = col_int(r, 12);
	x->txn_id = col_int(r, 13);
}

enum sg_rc
ra_store_challenge_add(struct ra_store *st, struct ra_chal_rec *x,
    const uint8_t hmac[32], int64_t cap, struct sg_err *err)
{
	struct arg	a[] = { A_INT(x->endpoint_id), A_INT(x->account_id),
	    A_BLOB(hmac, 32), A_TEXT(x->c.minted_by), A_TEXT(x->c.cn),
	    A_TEXT(x->c.san), A_INT(x->c.created), A_INT(x->c.expires),
	    A_INT(cap) };
	int64_t		id = 0;
	enum sg_rc	rc;

	stmt_lock(st);
	rc = x_insert(st, S_CHAL_ADD, a, NARGS(a), &id, err, "challenge");
	if ((rc = stmt_unlock(st, rc, err)) == SG_OK)
		x->c.id = id;
	else if (rc == SG_ENOTFOUND)
		rc = sg_err_set(err, SG_ELIMIT, "%lld outstanding challenges: "
		    "the cap", (long long)cap);
	return rc;
}

enum sg_rc
ra_store_challenge_by_code(struct ra_store *st, int64_t endpoint_id,
    const uint8_t hmac[32], int64_t now, struct ra_chal_rec *x,
    struct sg_err *err)
{
	struct arg	a[] = { A_INT(now), A_INT(endpoint_id),
	    A_BLOB(hmac, 32) };

	return q_one(st, S_CHAL_BY_CODE, a, NARGS(a), row_chal_rec, x, err,
	    "challenge with this code");
}

enum sg_rc
ra_store_challenge_get(struct ra_store *st, int64_t id, int64_t now,
    struct ra_chal_rec *x, struct sg_err *err)
{
	struct arg	a[] = { A_INT(now), A_INT(id) };
	enum sg_rc	rc;

	rc = q_one(st, S_CHAL_GET, a, NARGS(a), row_chal_rec, x, err,
	    "challenge");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no challenge %lld", (long long)id);
	return rc;
}

enum sg_rc
ra_store_challenge_list(struct ra_store *st, const char *endpoint, bool all,
    int64_t now, struct ra_challenge **out, size_t *n, struct sg_err *err)
{
	struct arg	a[] = { A_INT(now), A_FILTER(endpoint), A_INT(all) };

	return q_rows(st, S_CHAL_LIST, a, NARGS(a), sizeof(**out),
	    row_challenge, (void **)out, n, err, "challenges");
}

enum sg_rc
ra_store_challenge_revoke(struct ra_store *st, int64_t id, int64_t now,
    struct sg_err *err)
{
	struct arg	a[] = { A_INT(id), A_INT(now) };
	enum sg_rc	rc;

	rc = q_write(st, S_CHAL_REVOKE, a, NARGS(a), true, err, "challenge");
	if (rc == SG_ENOTFOUND)
		(void)sg_err_set(err, rc, "no outstanding challenge %lld",
		    (long long)id);
	return rc;
}

enum sg_rc
ra_store_challenge_purge(struct ra_store *st, int64_t before, int64_t *n,
    struct sg_err *err)
{
	struct arg	a[] = { A_INT(before) };
	enum sg_rc	rc;

	stmt_lock(st);
	rc = x_write(st, S_CHAL_PURGE, a, NARGS(a), false, err, "challenges");
	*n = rc == SG_OK ? st->drv->changes(st->db) : 0;
	return stmt_unlock(st, rc, err);
}

/* ---- copy between stores ---- */

/* Every table in the order of its references; column types i, t, b. */
static const struct {
	const char	*name;
	const char	*cols;
	const char	*types;
	bool		 ids;	/* an "id" the database numbers */
} tables[RA_STORE_TABLES] = {
	{ "org", "id, name, created, scm_id", "itii", true },
	{ "dept", "id, org_id, name, created, scm_id", "iitii", true },
	{ "profile", "id, scm_id, name, kind, terms, synced", "iitiii", true },
	{ "endpoint", EP_COLS, "ittittiiiiiiiittiititii", true },
	{ "delegation", "endpoint_id, org_id, dept_id", "iii", false },
	{ "account", "id, endpoint_id, name, org_id, dept_id, profile, "
	    "term_days, code_hmac, disabled, manual, created", "iitiitibiii",
	    true },
	{ "challenge", "id, endpoint_id, account_id, code_hmac, minted_by, "
	    "cn, san, created, expires, used, serial, revoked, txn_id",
	    "iiibtttiiitii", true },
	{ "api_token", "id, name, scope, endpoint, secret_hmac, created, "
	    "last_used, revoked", "ititbiii", true },
	{ "txn", "id, endpoint_id, transid, account_id, msg_type, status, "
	    "key_id, csr_sealed, subject, serial, order_id, renews, failinfo, "
	    "reason, peer, created, updated, challenge_id, ordering",
	    "iitiiibbttttittiiii", true },
	{ "cert", "serial, endpoint_id, account_id, txn_id, subject, "
	    "not_before, not_after, der, status, revoked_at, reason, "
	    "challenge_id, minted_by", "tiiitiibiiiit", false },
	{ "crl", "number, der, next_update, created", "ibii", false },
	{ "audit", "id, time, actor, endpoint, account, transid, action, "
	    "outcome, details", "iittttttt", true },
	{ "auth_fail", "endpoint_id, name, t, n", "itii", false },
	{ "refusal", "source, endpoint, reason, start, n", "tttii", false },
	{ "ep_webhook", "endpoint_id, challenge_url, secret_file, timeout_s, "
	    "notify_url", "ittit", false },
	{ "webhook_outbox", EV_COLS ", last_error", "ititttittiiiit", true },
	/* Empty but inside ra_store_audit_prune(): copied for the count. */
	{ "audit_prune", "first_id, last_id, time", "iii", false },
};
#define COPY_COLS	24

/* Column "c" of r as a parameter of type "type" (NULL stays NULL). */
static struct arg
col_arg(const struct row *r, int c, char type)
{
	struct arg	a = { ARG_NULL, 0, NULL, 0 };

	if (type == 'i')
		a.type = ARG_INT;
	else
		a.type = type == 't' ? ARG_TEXT : ARG_BLOB;
	if (r->drv->col_null(r, c))
		a.type = type == 'i' ? ARG_NULL_INT : a.type;
	else if (type == 'i')
		a.i = col_int(r, c);
	else if (type == 't')
		a.p = col_str(r, c);
	else
		a.p = col_blob(r, c, &a.len);
	return a;
}

/* The rows of table "t" of "from" into "to" (in its transaction). */
static enum sg_rc
copy_rows(struct ra_store *from, struct ra_store *to, size_t t,
    int64_t *rows, struct sg_err *err)
{
	struct arg	 a[COPY_COLS];
	char		 sel[512], ins[1024];
	size_t		 n = strlen(tables[t].types), c, off;
	struct row	 r;
	enum drv_res	 res;
	enum sg_rc	 rc = SG_OK;

	snprintf(sel, sizeof(sel), "SELECT %s FROM %s ORDER BY 1",
	    tables[t].cols, tables[t].name);
	off = (size_t)snprintf(ins, sizeof(ins), "INSERT INTO %s(%s) VALUES(",
	    tables[t].name, tables[t].cols);
	for (c = 0; c < n && off < sizeof(ins); c++)
		off += (size_t)snprintf(ins + off, sizeof(ins) - off, "%s?%zu",
		    c > 0 ? ", " : "", c + 1);
	if (off < sizeof(ins))
		snprintf(ins + off, sizeof(ins) - off, ")");
	*rows = 0;
	for (res = step_text(from, S_COPY + 3 * t, sel, NULL, 0, &r);
	    res == DRV_ROW && rc == SG_OK; res = r.drv->next(&r)) {
		for (c = 0; c < n; c++)
			a[c] = col_arg(&r, (int)c, tables[t].types[c]);
		rc = x_write_text(to, S_COPY + 3 * t + 1, ins, a, n, true, err,
		    tables[t].name);
		(*rows)++;
	}
	if (done(&r, res) == DRV_ERR && rc == SG_OK)
		rc = dberr(from, err, tables[t].name);
	if (rc == SG_OK && tables[t].ids)
		rc = to->drv->renumber(to->db, tables[t].name, err);
	return rc;
}

static enum sg_rc
x_count(struct ra_store *st, size_t t, int64_t *n, struct sg_err *err)
{
	char	q[128];

	snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[t].name);
	return x_one_text(st, S_COPY + 3 * t + 2, q, NULL, 0, row_int, n, err,
	    tables[t].name);
}

/* Copy every table, then compare the counts of both sides. */
static enum sg_rc
x_copy(struct ra_store *from, struct ra_store *to,
    struct ra_store_copied *out, struct sg_err *err)
{
	int64_t		n = 0, m = 0;
	size_t		t;
	enum sg_rc	rc = SG_OK;

	for (t = 0; rc == SG_OK && t < RA_STORE_TABLES; t++)
		if ((rc = x_count(to, t, &n, err)) == SG_OK && n != 0)
			rc = sg_err_set(err, SG_EEXIST, "the target database "
			    "is not empty: %lld rows in %s", (long long)n,
			    tables[t].name);
	for (t = 0; rc == SG_OK && t < RA_STORE_TABLES; t++) {
		out[t].table = tables[t].name;
		rc = copy_rows(from, to, t, &out[t].rows, err);
	}
	for (t = 0; rc == SG_OK && t < RA_STORE_TABLES; t++)
		if ((rc = x_count(from, t, &n, err)) == SG_OK &&
		    (rc = x_count(to, t, &m, err)) == SG_OK &&
		    (n != m || m != out[t].rows))
			rc = sg_err_set(err, SG_ESTORE, "%s: %lld rows, %lld "
			    "copied", tables[t].name, (long long)n,
			    (long long)m);
	return rc;
}

enum sg_rc
ra_store_copy(struct ra_store *from, struct ra_store *to,
    struct ra_store_copied out[RA_STORE_TABLES], struct sg_err *err)
{
	enum sg_rc	rc;

	if (from->drv == to->drv && from->drv == &ra_drv_pg)
		return sg_err_set(err, SG_ECONF, "from PostgreSQL to "
		    "PostgreSQL: use pg_dump");
	stmt_lock(to);
	if ((rc = op_begin(to, err)) == SG_OK) {
		stmt_lock(from);
		rc = stmt_unlock(from, x_copy(from, to, out, err), err);
		rc = op_end(to, rc, err);
	}
	return stmt_unlock(to, rc, err);
}
