/*
 * The GET side of the HTTP layer (STYLE.md 7): srv_query_get() and
 * srv_path_endpoint() from server/srv_query.c, and the lenient
 * sg_b64_decode() from common/, driven by tables of what real clients
 * send (scep-interop.md 1.1, 1.3). The last test chains all three on a
 * real PKIOperation (tests/data/scep_req2.der) as each client encodes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p7.h"
#include "sg.h"
#include "srv.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define STR(s)		s, sizeof(s) - 1

/*
 * srv_query_get
 */

struct query_case {
	const char	*name;
	const char	*query;
	const char	*param;
	size_t		 max;
	enum sg_rc	 rc;
	const char	*want;		/* SG_OK only */
	size_t		 wantlen;
};

static const struct query_case query_cases[] = {
	{ "plain", "operation=GetCACaps&message=CA", "operation", 64, SG_OK,
	    STR("GetCACaps") },
	{ "second parameter", "operation=GetCACaps&message=CA", "message",
	    64, SG_OK, STR("CA") },
	/* A raw '+' is base64, not a space (1.3). */
	{ "raw + kept", "message=MIIB+ab/c+", "message", 64, SG_OK,
	    STR("MIIB+ab/c+") },
	{ "%2B", "message=ab%2Bcd", "message", 64, SG_OK, STR("ab+cd") },
	{ "%2F and %2f", "message=a%2Fb%2fc", "message", 64, SG_OK,
	    STR("a/b/c") },
	{ "%3D padding", "message=YQ%3D%3D", "message", 64, SG_OK,
	    STR("YQ==") },
	{ "raw = in the value", "message=YQ==", "message", 64, SG_OK,
	    STR("YQ==") },
	{ "%0A line breaks", "message=ab%0Acd%0A", "message", 64, SG_OK,
	    STR("ab\ncd\n") },
	{ "%0D%0A line breaks", "message=ab%0D%0Acd", "message", 64, SG_OK,
	    STR("ab\r\ncd") },
	{ "%2D (sscep)", "message=a%2Db", "message", 64, SG_OK, STR("a-b") },
	{ "%20 stays a space", "message=a%20b", "message", 64, SG_OK,
	    STR("a b") },
	{ "empty value (macOS)", "operation=GetCACaps&message=", "message",
	    64, SG_OK, STR("") },
	{ "no '=' at all", "operation=GetCACaps&message", "message", 64,
	    SG_OK, STR("") },
	{ "first match wins", "message=first&message=second", "message", 64,
	    SG_OK, STR("first") },
	{ "empty pairs skipped", "&&message=a&", "message", 64, SG_OK,
	    STR("a") },
	{ "longer name before", "xmessage=no&message=yes", "message", 64,
	    SG_OK, STR("yes") },
	{ "longer name only", "xmessage=no", "message", 64, SG_ENOTFOUND,
	    NULL, 0 },
	{ "name with a suffix", "messagex=no", "message", 64, SG_ENOTFOUND,
	    NULL, 0 },
	{ "name prefix", "mess=no", "message", 64, SG_ENOTFOUND, NULL, 0 },
	{ "names are case-sensitive", "Message=no", "message", 64,
	    SG_ENOTFOUND, NULL, 0 },
	{ "value is not a name", "operation=message", "message", 64,
	    SG_ENOTFOUND, NULL, 0 },
	{ "missing", "operation=GetCACaps", "message", 64, SG_ENOTFOUND,
	    NULL, 0 },
	{ "empty query", "", "message", 64, SG_ENOTFOUND, NULL, 0 },
	{ "bad escape %zz", "message=ab%zzcd", "message", 64, SG_EPARSE,
	    NULL, 0 },
	{ "bad escape %4g", "message=%4g", "message", 64, SG_EPARSE, NULL,
	    0 },
	{ "truncated %4", "message=ab%4", "message", 64, SG_EPARSE, NULL,
	    0 },
	{ "truncated %4 before &", "message=ab%4&operation=x", "message", 64,
	    SG_EPARSE, NULL, 0 },
	{ "lone % at the end", "message=ab%", "message", 64, SG_EPARSE, NULL,
	    0 },
	{ "%00 (embedded NUL)", "message=a%00b", "message", 64, SG_EPARSE,
	    NULL, 0 },
	{ "bad escape in another parameter", "x=%zz&message=ok", "message",
	    64, SG_OK, STR("ok") },
	{ "at the limit", "message=abcd", "message", 4, SG_OK, STR("abcd") },
	{ "over the limit", "message=abcde", "message", 4, SG_ELIMIT, NULL,
	    0 },
	{ "escaped, at the limit", "message=%41%42%43%44", "message", 4,
	    SG_OK, STR("ABCD") },
	{ "escaped, over the limit", "message=%41%42%43%44%45", "message", 4,
	    SG_ELIMIT, NULL, 0 },
	{ "limit 0, empty value", "message=", "message", 0, SG_OK, STR("") },
	{ "limit 0, one byte", "message=a", "message", 0, SG_ELIMIT, NULL,
	    0 },
};

static void
test_query_table(void **state)
{
	const struct query_case	*t;
	char			*out, *sentinel = (char *)&sentinel;
	size_t			 outlen, i, bad = 0;
	enum sg_rc		 rc;

	(void)state;
	for (i = 0; i < NELEM(query_cases); i++) {
		t = &query_cases[i];
		out = sentinel;
		outlen = 12345;
		rc = srv_query_get(t->query, t->param, t->max, &out, &outlen);
		if (rc != t->rc) {
			print_error("%s: rc %d, want %d\n", t->name, rc, t->rc);
			bad++;
		} else if (rc != SG_OK) {
			/* Out-parameters are written on success only. */
			if (out != sentinel || outlen != 12345) {
				print_error("%s: *out written on error\n",
				    t->name);
				bad++;
			}
		} else if (outlen != t->wantlen ||
		    memcmp(out, t->want, t->wantlen) != 0 ||
		    out[outlen] != '\0') {
			print_error("%s: got \"%.*s\" (%zu)\n", t->name,
			    (int)outlen, out, outlen);
			bad++;
		}
		if (rc == SG_OK)
			free(out);
	}
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(query_cases));
}

/* No '?' in the URI: MHD hands over no query string at all. */
static void
test_query_null(void **state)
{
	char	*out = NULL;
	size_t	 outlen;

	(void)state;
	assert_int_equal(srv_query_get(NULL, "message", 64, &out, &outlen),
	    SG_ENOTFOUND);
	assert_null(out);
}

/*
 * srv_path_endpoint (1.1: route on the prefix, ignore the tail)
 */

struct path_case {
	const char	*path;
	size_t		 extsz;
	bool		 ok;
	const char	*want;
};

/* 31 and 32 characters: the longest that fits in 32 bytes, and one more. */
#define EXT31	"abcdefghijklmnopqrstuvwxyz01234"
#define EXT32	EXT31 "5"

static const struct path_case path_cases[] = {
	{ "/scep/demo", 32, true, "demo" },
	{ "/scep/demo/", 32, true, "demo" },
	{ "/scep/demo/pkiclient.exe", 32, true, "demo" },
	{ "/scep/demo/cgi-bin/pkiclient.exe", 32, true, "demo" },
	{ "/scep/demo/anything/else?x=1", 32, true, "demo" },
	{ "/scep/ra-2.b_c", 32, true, "ra-2.b_c" },
	{ "/scep/" EXT31, 32, true, EXT31 },
	{ "/scep/" EXT31 "/pkiclient.exe", 32, true, EXT31 },
	{ "/scep/abcd", 5, true, "abcd" },
	{ "/scep/", 32, false, NULL },
	{ "/scep", 32, false, NULL },
	{ "/scep//pkiclient.exe", 32, false, NULL },
	{ "/other/demo", 32, false, NULL },
	{ "/cgi-bin/pkiclient.exe", 32, false, NULL },
	{ "/scepdemo", 32, false, NULL },
	{ "/SCEP/demo", 32, false, NULL },
	{ "scep/demo", 32, false, NULL },
	{ "/", 32, false, NULL },
	{ "", 32, false, NULL },
	{ "/scep/" EXT32, 32, false, NULL },
	{ "/scep/" EXT32 "/pkiclient.exe", 32, false, NULL },
	{ "/scep/abcde", 5, false, NULL },
};

static void
test_path_table(void **state)
{
	const struct path_case	*t;
	char			 ext[64];
	size_t			 i, j, bad = 0;
	bool			 ok;

	(void)state;
	for (i = 0; i < NELEM(path_cases); i++) {
		t = &path_cases[i];
		memset(ext, 'X', sizeof(ext));
		ok = srv_path_endpoint(t->path, ext, t->extsz);
		if (ok != t->ok) {
			print_error("\"%s\": %s, want %s\n", t->path,
			    ok ? "true" : "false", t->ok ? "true" : "false");
			bad++;
		} else if (ok && strcmp(ext, t->want) != 0) {
			print_error("\"%s\": \"%s\", want \"%s\"\n", t->path,
			    ext, t->want);
			bad++;
		} else {
			/* Nothing written past ext[extsz - 1]. */
			for (j = t->extsz; j < sizeof(ext); j++)
				if (ext[j] != 'X')
					break;
			if (j < sizeof(ext)) {
				print_error("\"%s\": wrote past extsz\n",
				    t->path);
				bad++;
			}
		}
	}
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(path_cases));
}

/*
 * sg_b64_decode (1.3: what clients really send)
 */

struct b64_case {
	const char	*name;
	const char	*in;
	size_t		 inlen;
	size_t		 max;
	enum sg_rc	 rc;
	const char	*want;		/* SG_OK only */
	size_t		 wantlen;
};

static const struct b64_case b64_cases[] = {
	{ "plain", STR("aGVsbG8="), 64, SG_OK, STR("hello") },
	{ "two pads", STR("aGVsbA=="), 64, SG_OK, STR("hell") },
	{ "no padding needed", STR("aGVs"), 64, SG_OK, STR("hel") },
	{ "missing one pad", STR("aGVsbG8"), 64, SG_OK, STR("hello") },
	{ "missing two pads", STR("aGVsbA"), 64, SG_OK, STR("hell") },
	{ "+ and /", STR("+/+/"), 64, SG_OK, STR("\xfb\xff\xbf") },
	/* A raw '+' that a form decoder turned into a space. */
	{ "spaces as +", STR("  //"), 64, SG_OK, STR("\xfb\xef\xff") },
	{ "all spaces", STR("    "), 64, SG_OK, STR("\xfb\xef\xbe") },
	{ "base64url - and _", STR("--__"), 64, SG_OK,
	    STR("\xfb\xef\xff") },
	{ "base64url, no padding", STR("-_8"), 64, SG_OK,
	    STR("\xfb\xff") },
	{ "LF", STR("aGVs\nbG8=\n"), 64, SG_OK, STR("hello") },
	{ "CRLF", STR("aGVs\r\nbG8=\r\n"), 64, SG_OK, STR("hello") },
	{ "tab", STR("aGVs\tbG8="), 64, SG_OK, STR("hello") },
	{ "LF inside a quantum", STR("aG\nVsbG8="), 64, SG_OK,
	    STR("hello") },
	{ "at the limit", STR("aGVsbG8="), 5, SG_OK, STR("hello") },
	{ "over the limit", STR("aGVsbG8="), 4, SG_ELIMIT, NULL, 0 },
	{ "far over the limit", STR("aGVsbG8gd29ybGQsIGhlbGxvIHdvcmxk"), 4,
	    SG_ELIMIT, NULL, 0 },
	{ "invalid *", STR("aGV*bG8="), 64, SG_EPARSE, NULL, 0 },
	{ "invalid !", STR("aGVsbG8=!"), 64, SG_EPARSE, NULL, 0 },
	{ "invalid %", STR("aGVs%2B8="), 64, SG_EPARSE, NULL, 0 },
	{ "invalid NUL", "aG\0sbG8=", 8, 64, SG_EPARSE, NULL, 0 },
	{ "invalid 8-bit", STR("aGVs\xc3\xa9G8="), 64, SG_EPARSE, NULL, 0 },
	{ "one character", STR("a"), 64, SG_EPARSE, NULL, 0 },
	{ "five characters", STR("aGVsb"), 64, SG_EPARSE, NULL, 0 },
	{ "data after padding", STR("YQ==YQ=="), 64, SG_EPARSE, NULL, 0 },
	{ "empty", STR(""), 64, SG_EPARSE, NULL, 0 },
	{ "only line breaks", STR("\r\n\r\n"), 64, SG_EPARSE, NULL, 0 },
	{ "only padding", STR("===="), 64, SG_EPARSE, NULL, 0 },
};

static void
test_b64_table(void **state)
{
	const struct b64_case	*t;
	struct sg_err		 err;
	uint8_t			*out, *sentinel = (uint8_t *)&sentinel;
	size_t			 outlen, i, bad = 0;
	enum sg_rc		 rc;

	(void)state;
	for (i = 0; i < NELEM(b64_cases); i++) {
		t = &b64_cases[i];
		out = sentinel;
		outlen = 12345;
		sg_err_clear(&err);
		rc = sg_b64_decode(t->in, t->inlen, t->max, &out, &outlen,
		    &err);
		if (rc != t->rc) {
			print_error("%s: rc %d, want %d (%s)\n", t->name, rc,
			    t->rc, err.msg);
			bad++;
		} else if (rc != SG_OK) {
			if (err.rc != rc || err.msg[0] == '\0' ||
			    out != sentinel || outlen != 12345) {
				print_error("%s: err or *out wrong\n",
				    t->name);
				bad++;
			}
		} else if (outlen != t->wantlen ||
		    memcmp(out, t->want, t->wantlen) != 0) {
			print_error("%s: %zu bytes, want %zu\n", t->name,
			    outlen, t->wantlen);
			bad++;
		}
		if (rc == SG_OK)
			free(out);
		/* NULL err is allowed and changes nothing. */
		out = sentinel;
		if (sg_b64_decode(t->in, t->inlen, t->max, &out, &outlen,
		    NULL) != rc) {
			print_error("%s: different rc with NULL err\n",
			    t->name);
			bad++;
		}
		if (out != sentinel)
			free(out);
	}
	if (bad > 0)
		fail_msg("%zu of %zu rows failed", bad, NELEM(b64_cases));
}

/*
 * "n" bytes of a fixed pattern, base64-encoded with sg_b64_encode and
 * a line break "nl" after every 64 characters (sscep, strongSwan and
 * Cisco send "\n"; OpenSSL BIOs too). Returns the encoded text.
 */
static char *
wrapped(const uint8_t *data, size_t n, const char *nl)
{
	char	*flat, *out, *q;
	size_t	 len, i;

	assert_int_equal(sg_b64_encode(data, n, &flat), SG_OK);
	len = strlen(flat);
	out = malloc(len + (len / 64 + 1) * strlen(nl) + 1);
	assert_non_null(out);
	q = out;
	for (i = 0; i < len; i++) {
		*q++ = flat[i];
		if (i % 64 == 63) {
			memcpy(q, nl, strlen(nl));
			q += strlen(nl);
		}
	}
	*q = '\0';
	free(flat);
	return out;
}

/* Line-wrapped input decodes, every byte value survives. */
static void
test_b64_wrapped(void **state)
{
	static const char *const nls[] = { "\n", "\r\n", "\t", "\r\n\t" };
	struct sg_err	 err;
	uint8_t		 data[300], *out;
	size_t		 i, n, outlen;
	char		*text;
	enum sg_rc	 rc;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < NELEM(nls); i++)
		for (n = 1; n <= sizeof(data); n += 37) {
			text = wrapped(data, n, nls[i]);
			/* The breaks do not count against the limit. */
			rc = sg_b64_decode(text, strlen(text), n, &out,
			    &outlen, &err);
			if (rc != SG_OK)
				fail_msg("%zu bytes, break %zu: %s", n, i,
				    err.msg);
			assert_int_equal(outlen, n);
			assert_memory_equal(out, data, n);
			free(out);
			free(text);
		}
}

/*
 * Regression (found by this test, fixed in dea5330): sg_b64_decode()'s
 * early size check "inlen / 4 * 3 > max + 3" counted the line breaks it
 * drops later, so a message of exactly "max" bytes (or up to ~1.5% less)
 * with a newline every 64 characters, as sscep, strongSwan and Cisco
 * send it, was refused with SG_ELIMIT.
 */
static void
test_b64_limit_with_breaks(void **state)
{
	static const char *const nls[] = { "\n", "\r\n" };
	struct sg_err	 err;
	uint8_t		*data, *out;
	size_t		 i, outlen, n = 1000, bad = 0;
	char		*text;
	enum sg_rc	 rc;

	(void)state;
	data = malloc(n);
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 13 + 1);
	for (i = 0; i < NELEM(nls); i++) {
		text = wrapped(data, n, nls[i]);
		rc = sg_b64_decode(text, strlen(text), n, &out, &outlen, &err);
		if (rc == SG_OK) {
			if (outlen != n || memcmp(out, data, n) != 0) {
				print_error("wrong bytes\n");
				bad++;
			}
			free(out);
		} else {
			print_error("%zu bytes, max %zu, breaks \"%s\": rc %d "
			    "(%s)\n", n, n, i == 0 ? "\\n" : "\\r\\n", rc,
			    err.msg);
			bad++;
		}
		free(text);
	}
	/* Without the breaks the same message fits. */
	text = wrapped(data, n, "");
	assert_int_equal(sg_b64_decode(text, strlen(text), n, &out, &outlen,
	    &err), SG_OK);
	free(out);
	free(text);
	free(data);
	if (bad > 0)
		fail_msg("%zu of %zu wrapped forms refused", bad, NELEM(nls));
}

/*
 * Query + base64 + pkiMessage: scep_req2.der as each client puts it in
 * a GET (scep-interop.md 1.3), through srv_query_get, sg_b64_decode and
 * p7_msg_parse, must come out byte for byte.
 */

/* Which characters a client escapes, and how it breaks lines. */
struct client {
	const char	*name;
	const char	*escape;	/* escaped as %XX */
	const char	*nl;		/* line break after 64 characters */
	bool		 url;		/* base64url alphabet */
	bool		 form;		/* '+' already turned into ' ' */
};

static const struct client clients[] = {
	{ "Cisco IOS", "+/=\n", "\n", false, false },
	{ "sscep", "+-=\n", "\n", false, false },
	{ "strongSwan", "+\n", "\n", false, false },
	{ "Apple", "=", "", false, false },
	{ "micromdm before 2026 (base64url)", "=", "", true, false },
	{ "after a form decoder", "=\n", "\n", false, true },
	{ "everything escaped", "+/=\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789", "\r\n", false, false },
};

/* The query string "operation=PKIOperation&message=..." for "c". */
static char *
client_query(const struct client *c, const uint8_t *der, size_t len)
{
	static const char	 pre[] = "operation=PKIOperation&message=";
	char			*b64, *q, *p;
	const char		*s;

	b64 = wrapped(der, len, c->nl[0] != '\0' ? c->nl : "");
	q = malloc(sizeof(pre) + strlen(b64) * 3 + 16);
	assert_non_null(q);
	memcpy(q, pre, sizeof(pre) - 1);
	p = q + sizeof(pre) - 1;
	for (s = b64; *s != '\0'; s++) {
		char ch = *s;

		if (c->url && ch == '+')
			ch = '-';
		else if (c->url && ch == '/')
			ch = '_';
		else if (c->form && ch == '+')
			ch = ' ';
		if (strchr(c->escape, ch) != NULL)
			p += snprintf(p, 4, "%%%02X", (unsigned char)ch);
		else
			*p++ = ch;
	}
	memcpy(p, "&x=1", 5);
	free(b64);
	return q;
}

static void
test_get_pkioperation(void **state)
{
	const char	*dir = getenv("SG_TESTDATA");
	char		 path[1024], *query, *msg;
	struct p7_msg	*pm;
	struct sg_err	 err;
	uint8_t		*der, *out;
	size_t		 len, msglen, outlen, i;
	long		 n;
	FILE		*fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/scep_req2.der", dir != NULL ? dir :
	    "tests/data");
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	len = (size_t)n;
	der = malloc(len);
	assert_non_null(der);
	assert_int_equal(fread(der, 1, len, fp), len);
	fclose(fp);
	for (i = 0; i < NELEM(clients); i++) {
		query = client_query(&clients[i], der, len);
		if (srv_query_get(query, "message", 2 * P7_MSG_MAX, &msg,
		    &msglen) != SG_OK)
			fail_msg("%s: no message", clients[i].name);
		if (sg_b64_decode(msg, msglen, P7_MSG_MAX, &out, &outlen,
		    &err) != SG_OK)
			fail_msg("%s: %s", clients[i].name, err.msg);
		assert_int_equal(outlen, len);
		assert_memory_equal(out, der, len);
		if (p7_msg_parse(out, outlen, &pm, &err) != SG_OK)
			fail_msg("%s: %s", clients[i].name, err.msg);
		assert_string_equal(pm->transid, "7XXEY-ERLPU-2JDR9");
		p7_msg_free(pm);
		free(out);
		free(msg);
		free(query);
	}
	free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_table),
		cmocka_unit_test(test_query_null),
		cmocka_unit_test(test_path_table),
		cmocka_unit_test(test_b64_table),
		cmocka_unit_test(test_b64_wrapped),
		cmocka_unit_test(test_get_pkioperation),
		cmocka_unit_test(test_b64_limit_with_breaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
