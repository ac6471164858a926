/*
 * conf/ unit tests (STYLE.md 7): one table of {name, text, rc, message}
 * walked by conf_load_string(), then the values, the paths and
 * conf_load() on real temporary files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

/* Every case is parsed as if read from this file. */
#define NAME	"/etc/sg/test.conf"

#define DB	"database = \"sg.db\";\n"
#define SECRET	"secret_file = \"secret.key\";\n"
#define RA1	"{ id = \"ra1\"; cert = \"ra.pem\"; key = \"ra.key\"; }"
#define RA	"ra = ( " RA1 " );\n"
#define UP	"upstream = { type = \"local\"; ca_cert = \"ca.pem\"; " \
		"ca_key = \"ca.key\"; };\n"
/* The least an "scm" upstream needs; close it with "};\n". */
#define SCM_MIN	"upstream = { type = \"scm\"; url = \"https://scm.example/api/\";" \
		" customer_uri = \"examplecorp\"; login = \"scep-gw\";" \
		" password_file = \"scm.pw\"; ca_chain = \"scm-chain.pem\"; "
/* Four lines: a key appended after BASE sits on line 5. */
#define BASE	DB SECRET RA UP

struct tcase {
	const char	*name;
	const char	*text;
	enum sg_rc	 rc;
	const char	*msg;	/* substring of err.msg; "" when rc is SG_OK */
};

static const struct tcase cases[] = {
	/* valid */
	{ "minimal", BASE, SG_OK, "" },
	{ "all keys",
	    "listen = { address = \"::1\"; port = 8443; };\n"
	    "base_url = \"https://scep.example.com/\";\n"
	    DB SECRET
	    "ra = ( " RA1 ", { id = \"ra-2.b_c\"; cert = \"/x/ra2.pem\";"
	    " key = \"ra2.key\"; chain = \"extra.pem\"; } );\n"
	    "upstream = { type = \"local\"; ca_cert = \"ca.pem\";"
	    " ca_key = \"ca.key\"; ca_chain = \"chain.pem\"; };\n"
	    "crypto = { allow_des = false; allow_sha1 = false; };\n"
	    "limits = { max_body = 1024; threads = 64;"
	    " connections = 100000; };\n"
	    "log = { level = \"debug\"; syslog = true; };\n",
	    SG_OK, "" },
	{ "empty groups", BASE "listen = {}; crypto = {}; limits = {};"
	    " log = {};\n", SG_OK, "" },
	{ "colon and comments", "# c\n// c\n/* c */ database: \"d\";\n"
	    SECRET RA UP, SG_OK, "" },
	{ "int64 literal", BASE "listen = { port = 8080L; };\n", SG_OK, "" },
	{ "hex literal", BASE "listen = { port = 0x1F90; };\n", SG_OK, "" },
	{ "port 1", BASE "listen = { port = 1; };\n", SG_OK, "" },
	{ "port 65535", BASE "listen = { port = 65535; };\n", SG_OK, "" },
	{ "tls listener", BASE "listen = { tls_port = 8443;"
	    " tls_cert = \"tls.pem\"; tls_key = \"tls.key\"; };\n", SG_OK, "" },
	{ "tls without key", BASE "listen = { tls_port = 8443;"
	    " tls_cert = \"tls.pem\"; };\n", SG_ECONF,
	    "listen.tls_port needs listen.tls_cert and listen.tls_key" },
	{ "tls on the plain port", BASE "listen = { tls_port = 8080;"
	    " tls_cert = \"c\"; tls_key = \"k\"; };\n", SG_ECONF,
	    "listen.tls_port: 8080 is listen.port too" },
	{ "max_body max", BASE "limits = { max_body = 16777216; };\n",
	    SG_OK, "" },
	{ "threads 1", BASE "limits = { threads = 1; };\n", SG_OK, "" },
	{ "connections 1", BASE "limits = { connections = 1; };\n",
	    SG_OK, "" },
	{ "eight RAs", DB SECRET UP "ra = ("
	    " { id = \"1\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"2\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"3\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"4\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"5\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"6\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"7\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"8\"; cert = \"c\"; key = \"k\"; } );\n", SG_OK, "" },
	{ "scm upstream", DB SECRET RA
	    "upstream = { type = \"scm\"; url = \"https://scm.example\";\n"
	    " customer_uri = \"c\"; auth = \"oauth\"; login = \"a@b\";\n"
	    " password_file = \"pw\"; client_cert = \"c.pem\";\n"
	    " client_key = \"c.key\"; token_url = \"https://t\";\n"
	    " client_id = \"id\"; client_secret_file = \"s\";\n"
	    " smime_api_version = 2; timeout = 30; poll_interval = 60;\n"
	    " ca_chain = \"chain.pem\"; tls_ca_file = \"tls.pem\"; };\n",
	    SG_OK, "" },
	{ "scm minimal", DB SECRET RA SCM_MIN "};\n", SG_OK, "" },
	{ "scm client-cert", DB SECRET RA "upstream = { type = \"scm\";"
	    " url = \"https://x/api\"; ca_chain = \"c.pem\";\n"
	    " auth = \"client-cert\"; login = \"l\"; customer_uri = \"c\";"
	    " client_cert = \"c.pem\"; client_key = \"c.key\"; };\n",
	    SG_OK, "" },
	{ "@include in a string", BASE "log = { level = \"info\n"
	    "@include\"; };\n", SG_ECONF, ":6: @include is not supported" },

	/* libconfig syntax */
	{ "empty text", "", SG_ECONF, NAME ": missing key 'database'" },
	{ "syntax error", DB "secret_file = ;\n", SG_ECONF,
	    NAME ":2: syntax error" },
	{ "duplicate key", BASE DB, SG_ECONF,
	    NAME ":5: duplicate setting name" },
	{ "garbage", BASE "%%%\n", SG_ECONF, NAME ":5: " },
	{ "@include", BASE "  @include \"/etc/passwd\"\n", SG_ECONF,
	    NAME ":5: @include is not supported" },

	/* unknown keys, at every level */
	{ "unknown top", BASE "foo = 1;\n", SG_ECONF,
	    NAME ":5: unknown key 'foo'" },
	{ "unknown listen", BASE "listen = { adress = \"::1\"; };\n",
	    SG_ECONF, NAME ":5: unknown key 'listen.adress'" },
	{ "unknown ra entry", DB SECRET UP "ra = ( " RA1 ",\n"
	    "{ id = \"b\"; cert = \"c\"; key = \"k\"; name = \"x\"; } );\n",
	    SG_ECONF, NAME ":5: unknown key 'ra[1].name'" },
	{ "second upstream", BASE "upstream = { foo = 1; };\n", SG_ECONF,
	    NAME ":5: duplicate setting name" },
	{ "unknown upstream key", DB SECRET RA
	    "upstream = { type = \"local\"; ca_cert = \"c\"; ca_key = \"k\";\n"
	    " cakey = \"k\"; };\n", SG_ECONF,
	    NAME ":5: unknown key 'upstream.cakey'" },
	{ "unknown crypto", BASE "crypto = { allow_md5 = true; };\n",
	    SG_ECONF, "unknown key 'crypto.allow_md5'" },
	{ "unknown limits", BASE "limits = { body = 1; };\n", SG_ECONF,
	    "unknown key 'limits.body'" },
	{ "unknown log", BASE "log = { file = \"x\"; };\n", SG_ECONF,
	    "unknown key 'log.file'" },
	{ "key of a list entry at top", BASE "id = \"x\";\n", SG_ECONF,
	    "unknown key 'id'" },
	{ "key of a group at top", BASE "port = 1;\n", SG_ECONF,
	    "unknown key 'port'" },

	/* types */
	{ "port string", BASE "listen = { port = \"80\"; };\n", SG_ECONF,
	    NAME ":5: listen.port: must be an integer" },
	{ "port float", BASE "listen = { port = 80.0; };\n", SG_ECONF,
	    "listen.port: must be an integer" },
	{ "listen not group", BASE "listen = 5;\n", SG_ECONF,
	    "listen: must be a group" },
	{ "database int", "database = 5;\n" SECRET RA UP, SG_ECONF,
	    NAME ":1: database: must be a string" },
	{ "bool as int", BASE "crypto = { allow_des = 1; };\n", SG_ECONF,
	    "crypto.allow_des: must be true or false" },
	{ "bool as string", BASE "log = { syslog = \"yes\"; };\n", SG_ECONF,
	    "log.syslog: must be true or false" },
	{ "ra group", DB SECRET UP "ra = " RA1 ";\n", SG_ECONF,
	    NAME ":4: ra: must be a list" },
	{ "ra array", DB SECRET UP "ra = [ \"a\" ];\n", SG_ECONF,
	    "ra: must be a list" },
	{ "ra entry string", DB SECRET UP "ra = ( \"a\" );\n", SG_ECONF,
	    "ra[0]: must be a group" },
	{ "level int", BASE "log = { level = 3; };\n", SG_ECONF,
	    "log.level: must be one of err|warn|info|debug" },
	{ "scm key group", DB SECRET RA
	    "upstream = { type = \"scm\"; timeout = { a = 1; }; };\n",
	    SG_ECONF, "upstream.timeout: must be an integer" },
	{ "scm auth name", DB SECRET RA SCM_MIN "auth = \"basic\"; };\n",
	    SG_ECONF, "upstream.auth: must be one of password|client-cert|oauth" },
	{ "scm url", DB SECRET RA "upstream = { type = \"scm\";"
	    " url = \"ftp://x\"; };\n", SG_ECONF,
	    "upstream.url: not an http:// or https:// URL" },
	{ "scm smime version", DB SECRET RA SCM_MIN
	    "smime_api_version = 3; };\n", SG_ECONF,
	    "upstream.smime_api_version: 3 is out of range 1..2" },
	{ "scm timeout 0", DB SECRET RA SCM_MIN "timeout = 0; };\n",
	    SG_ECONF, "upstream.timeout: 0 is out of range 1..600" },

	/* required keys */
	{ "no database", SECRET RA UP, SG_ECONF,
	    NAME ": missing key 'database'" },
	{ "no secret_file", DB RA UP, SG_ECONF,
	    "missing key 'secret_file'" },
	{ "no ra", DB SECRET UP, SG_ECONF, "missing key 'ra'" },
	{ "no upstream", DB SECRET RA, SG_ECONF, "missing key 'upstream'" },
	{ "no upstream type", DB SECRET RA
	    "upstream = { ca_cert = \"c\"; ca_key = \"k\"; };\n", SG_ECONF,
	    NAME ":4: missing key 'upstream.type'" },
	{ "no ca_cert", DB SECRET RA
	    "upstream = { type = \"local\"; ca_key = \"k\"; };\n", SG_ECONF,
	    "missing key 'upstream.ca_cert'" },
	{ "no ca_key", DB SECRET RA
	    "upstream = { type = \"local\"; ca_cert = \"c\"; };\n", SG_ECONF,
	    "missing key 'upstream.ca_key'" },
	{ "no ra id", DB SECRET UP "ra = (\n"
	    "{ cert = \"c\"; key = \"k\"; } );\n", SG_ECONF,
	    NAME ":5: missing key 'ra[0].id'" },
	{ "no ra cert", DB SECRET UP "ra = ( { id = \"a\"; key = \"k\"; } );\n",
	    SG_ECONF, "missing key 'ra[0].cert'" },
	{ "no ra key", DB SECRET UP "ra = ( { id = \"a\"; cert = \"c\"; } );\n",
	    SG_ECONF, "missing key 'ra[0].key'" },

	/* what the SCM login method needs */
	{ "scm no url", DB SECRET RA "upstream = { type = \"scm\"; };\n",
	    SG_ECONF, NAME ":4: missing key 'upstream.url'" },
	{ "scm no ca_chain", DB SECRET RA "upstream = { type = \"scm\";"
	    " url = \"https://x/api\"; login = \"l\"; customer_uri = \"c\";"
	    " password_file = \"p\"; };\n", SG_ECONF,
	    NAME ": upstream.ca_chain: required with upstream type \"scm\"" },
	{ "scm no password_file", DB SECRET RA "upstream = { type = \"scm\";"
	    " url = \"https://x/api\"; ca_chain = \"c\"; login = \"l\";"
	    " customer_uri = \"c\"; };\n", SG_ECONF, "upstream.password_file:"
	    " required with upstream.auth \"password\"" },
	{ "scm no customer_uri", DB SECRET RA "upstream = { type = \"scm\";"
	    " url = \"https://x/api\"; ca_chain = \"c\"; login = \"l\";"
	    " password_file = \"p\"; };\n", SG_ECONF, "upstream.customer_uri:"
	    " required with upstream.auth \"password\"" },
	{ "scm no client_key", DB SECRET RA "upstream = { type = \"scm\";"
	    " url = \"https://x/api\"; ca_chain = \"c\"; login = \"l\";"
	    " customer_uri = \"c\"; auth = \"client-cert\";"
	    " client_cert = \"c\"; };\n", SG_ECONF, "upstream.client_key:"
	    " required with upstream.auth \"client-cert\"" },
	{ "scm no client_secret_file", DB SECRET RA "upstream = { type ="
	    " \"scm\"; url = \"https://x/api\"; ca_chain = \"c\";"
	    " auth = \"oauth\"; client_id = \"i\"; };\n", SG_ECONF,
	    "upstream.client_secret_file: required with upstream.auth "
	    "\"oauth\"" },

	/* upstream type */
	{ "bad type", DB SECRET RA "upstream = { type = \"acme\"; };\n",
	    SG_ECONF, "upstream.type: must be one of local|scm" },
	{ "type case", DB SECRET RA "upstream = { type = \"LOCAL\"; };\n",
	    SG_ECONF, "upstream.type: must be one of local|scm" },
	{ "local key with scm", DB SECRET RA
	    "upstream = { type = \"scm\";\n ca_cert = \"c\"; };\n", SG_ECONF,
	    NAME ":5: upstream.ca_cert: only for upstream type \"local\"" },
	{ "scm key with local", DB SECRET RA
	    "upstream = { type = \"local\"; ca_cert = \"c\"; ca_key = \"k\";\n"
	    " url = \"https://x\"; };\n", SG_ECONF,
	    NAME ":5: upstream.url: only for upstream type \"scm\"" },
	{ "type last", DB SECRET RA
	    "upstream = { ca_cert = \"c\"; ca_key = \"k\";\n"
	    " type = \"scm\"; };\n",
	    SG_ECONF, "upstream.ca_cert: only for upstream type \"local\"" },

	/* ranges, with the line of the value */
	{ "port 0", BASE "listen = {\n address = \"127.0.0.1\";\n"
	    " port = 0;\n};\n", SG_ECONF,
	    NAME ":7: listen.port: 0 is out of range 1..65535" },
	{ "port 65536", BASE "listen = { port = 65536; };\n", SG_ECONF,
	    "listen.port: 65536 is out of range 1..65535" },
	{ "port negative", BASE "listen = { port = -1; };\n", SG_ECONF,
	    "listen.port: -1 is out of range" },
	{ "port int64", BASE "listen = { port = 4294967297L; };\n", SG_ECONF,
	    "listen.port: 4294967297 is out of range" },
	{ "max_body small", BASE "limits = { max_body = 1023; };\n", SG_ECONF,
	    "limits.max_body: 1023 is out of range 1024..16777216" },
	{ "max_body big", BASE "limits = { max_body = 16777217; };\n",
	    SG_ECONF, "limits.max_body: 16777217 is out of range" },
	{ "threads 0", BASE "limits = { threads = 0; };\n", SG_ECONF,
	    "limits.threads: 0 is out of range 1..64" },
	{ "threads 65", BASE "limits = { threads = 65; };\n", SG_ECONF,
	    "limits.threads: 65 is out of range 1..64" },
	{ "connections 0", BASE "limits = { connections = 0; };\n", SG_ECONF,
	    "limits.connections: 0 is out of range 1..100000" },
	{ "connections big", BASE "limits = { connections = 100001; };\n",
	    SG_ECONF, "limits.connections: 100001 is out of range" },
	{ "level name", BASE "log = { level = \"verbose\"; };\n", SG_ECONF,
	    "log.level: must be one of err|warn|info|debug" },

	/* RA entries */
	{ "ra empty list", DB SECRET UP "ra = ();\n", SG_ECONF,
	    NAME ":4: ra: needs 1 to 8 entries, not 0" },
	{ "nine RAs", DB SECRET UP "ra = ("
	    " { id = \"1\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"2\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"3\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"4\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"5\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"6\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"7\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"8\"; cert = \"c\"; key = \"k\"; },"
	    " { id = \"9\"; cert = \"c\"; key = \"k\"; } );\n", SG_ECONF,
	    "ra: needs 1 to 8 entries, not 9" },
	{ "duplicate id", DB SECRET UP "ra = ( " RA1 ",\n"
	    "{ id = \"ra1\"; cert = \"c\"; key = \"k\"; } );\n", SG_ECONF,
	    NAME ":5: ra[1]: id 'ra1' is also ra[0]" },
	{ "empty id", DB SECRET UP
	    "ra = ( { id = \"\"; cert = \"c\"; key = \"k\"; } );\n", SG_ECONF,
	    "ra[0].id: must be 1 or more of A-Z a-z 0-9 . _ -" },
	{ "id with space", DB SECRET UP
	    "ra = ( { id = \"r a\"; cert = \"c\"; key = \"k\"; } );\n",
	    SG_ECONF, "ra[0].id: must be 1 or more of" },
	{ "id with slash", DB SECRET UP
	    "ra = ( { id = \"../x\"; cert = \"c\"; key = \"k\"; } );\n",
	    SG_ECONF, "ra[0].id: must be 1 or more of" },
	{ "id too long", DB SECRET UP "ra = ( { id = \""
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\"; cert = \"c\"; key = \"k\"; } );\n", SG_ECONF,
	    "ra[0].id: longer than 63 bytes" },
	{ "empty cert", DB SECRET UP
	    "ra = ( { id = \"a\"; cert = \"\"; key = \"k\"; } );\n", SG_ECONF,
	    "ra[0].cert: empty path" },

	/* strings */
	{ "empty database", "database = \"\";\n" SECRET RA UP, SG_ECONF,
	    NAME ":1: database: empty path" },
	{ "dot database", "database = \"./\";\n" SECRET RA UP, SG_ECONF,
	    "database: empty path" },
	/* The database value is typed (issue 9): conf_database_parse(). */
	{ "sqlite database", "database = \"sqlite:sg.db\";\n" SECRET RA UP,
	    SG_OK, "" },
	{ "postgresql database", "database = \"postgresql://sg@db/sg\";\n"
	    SECRET RA UP, SG_OK, "" },
	{ "empty sqlite database", "database = \"sqlite:\";\n" SECRET RA UP,
	    SG_ECONF, NAME ":1: database: empty path" },
	{ "sqlite URI database", "database = \"sqlite:///x.db\";\n" SECRET RA
	    UP, SG_ECONF, "database: write sqlite:PATH" },
	{ "mysql database", "database = \"mysql://db/sg\";\n" SECRET RA UP,
	    SG_ECONF, NAME ":1: database: unknown scheme 'mysql:'" },
	{ "file database", "database = \"file:sg.db\";\n" SECRET RA UP,
	    SG_ECONF, "database: unknown scheme 'file:'" },
	{ "hostname address", BASE "listen = { address = \"localhost\"; };\n",
	    SG_ECONF, "listen.address: not a numeric IPv4 or IPv6 address" },
	{ "empty address", BASE "listen = { address = \"\"; };\n", SG_ECONF,
	    "listen.address: not a numeric" },
	{ "ftp url", BASE "base_url = \"ftp://x\";\n", SG_ECONF,
	    NAME ":5: base_url: not an http:// or https:// URL" },
	{ "url without host", BASE "base_url = \"http://\";\n", SG_ECONF,
	    "base_url: not an http:// or https:// URL" },
	{ "url with space", BASE "base_url = \"http://a b\";\n", SG_ECONF,
	    "base_url: not an http:// or https:// URL" },
	{ "url empty", BASE "base_url = \"\";\n", SG_ECONF,
	    "base_url: not an http:// or https:// URL" },
	{ "url too long", BASE "base_url = \"http://"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\";\n", SG_ECONF, "base_url: longer than 255 bytes" },
};

/* The table: rc, message and, on failure, an untouched *out. */
static void
test_table(void **state)
{
	const struct tcase	*t;
	struct conf		*conf, *orig;
	struct sg_err		 err;
	enum sg_rc		 rc;
	size_t			 i, bad = 0;

	(void)state;
	conf = malloc(sizeof(*conf));
	orig = malloc(sizeof(*orig));
	assert_non_null(conf);
	assert_non_null(orig);
	memset(orig, 0xa5, sizeof(*orig));
	/* Report every failing row, then fail once. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = &cases[i];
		memcpy(conf, orig, sizeof(*conf));
		sg_err_clear(&err);
		rc = conf_load_string(t->text, NAME, conf, &err);
		if (rc != t->rc) {
			print_error("%s: rc %d, want %d (%s)\n", t->name, rc,
			    t->rc, err.msg);
			bad++;
		} else if (rc == SG_OK) {
			if (strcmp(conf->path, NAME) != 0) {
				print_error("%s: path %s\n", t->name,
				    conf->path);
				bad++;
			}
		} else if (err.rc != t->rc || strstr(err.msg, t->msg) == NULL) {
			print_error("%s: message \"%s\", want \"%s\"\n",
			    t->name, err.msg, t->msg);
			bad++;
		} else if (memcmp(conf, orig, sizeof(*conf)) != 0) {
			print_error("%s: *out written on failure\n", t->name);
			bad++;
		}
		/* A NULL err is allowed, with the same result. */
		if (conf_load_string(t->text, NAME, conf, NULL) != rc) {
			print_error("%s: other rc with err NULL\n", t->name);
			bad++;
		}
	}
	free(conf);
	free(orig);
	assert_int_equal(bad, 0);
}

/* The one parser of "database" values, as ra_store_open() uses it. */
static void
test_database_parse(void **state)
{
	static const struct {
		const char		*in;
		enum sg_rc		 rc;
		enum conf_db_kind	 kind;
		const char		*path;
	} t[] = {
		{ "/var/db/sg.db", SG_OK, CONF_DB_SQLITE, "/var/db/sg.db" },
		{ "sg.db", SG_OK, CONF_DB_SQLITE, "sg.db" },
		{ "./a:b.db", SG_OK, CONF_DB_SQLITE, "./a:b.db" },
		{ "sqlite:/var/db/sg.db", SG_OK, CONF_DB_SQLITE,
		    "/var/db/sg.db" },
		{ "sqlite:a:b.db", SG_OK, CONF_DB_SQLITE, "a:b.db" },
		{ "postgresql://u@h:5432/sg", SG_OK, CONF_DB_POSTGRESQL,
		    "postgresql://u@h:5432/sg" },
		{ "postgres://h/sg", SG_OK, CONF_DB_POSTGRESQL,
		    "postgres://h/sg" },
		{ "", SG_ECONF, 0, NULL },
		{ "sqlite:", SG_ECONF, 0, NULL },
		{ "sqlite://h/x.db", SG_ECONF, 0, NULL },
		{ "postgresql:x", SG_ECONF, 0, NULL },
		{ "a:b.db", SG_ECONF, 0, NULL },
		{ "mysql://h/sg", SG_ECONF, 0, NULL },
	};
	struct conf_db	db;
	struct sg_err	err;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&db, 0, sizeof(db));
		if (conf_database_parse(t[i].in, &db, &err) != t[i].rc)
			fail_msg("'%s': rc %d, want %d (%s)", t[i].in,
			    (int)err.rc, (int)t[i].rc, err.msg);
		if (t[i].rc != SG_OK)
			continue;
		assert_int_equal(db.kind, t[i].kind);
		assert_string_equal(db.path, t[i].path);
	}
}

/* SQLite paths are made absolute without "sqlite:"; URIs kept as written. */
static void
test_database_values(void **state)
{
	struct conf	conf;
	struct sg_err	err;

	(void)state;
	assert_int_equal(conf_load_string("database = \"sqlite:d/sg.db\";\n"
	    SECRET RA UP, NAME, &conf, &err), SG_OK);
	assert_string_equal(conf.database, "/etc/sg/d/sg.db");
	assert_int_equal(conf_load_string("database = \"postgres://h/sg\";\n"
	    SECRET RA UP, NAME, &conf, &err), SG_OK);
	assert_string_equal(conf.database, "postgres://h/sg");
}

static void
test_defaults(void **state)
{
	struct conf	conf;
	struct sg_err	err;

	(void)state;
	assert_int_equal(conf_load_string(BASE, NAME, &conf, &err), SG_OK);
	assert_string_equal(conf.path, NAME);
	assert_string_equal(conf.listen_address, "127.0.0.1");
	assert_int_equal(conf.listen_port, 8080);
	assert_string_equal(conf.base_url, "http://127.0.0.1:8080");
	assert_string_equal(conf.database, "/etc/sg/sg.db");
	assert_string_equal(conf.secret_file, "/etc/sg/secret.key");
	assert_int_equal(conf.nra, 1);
	assert_string_equal(conf.ra[0].id, "ra1");
	assert_string_equal(conf.ra[0].cert, "/etc/sg/ra.pem");
	assert_string_equal(conf.ra[0].key, "/etc/sg/ra.key");
	assert_string_equal(conf.ra[0].chain, "");
	assert_int_equal(conf.upstream.type, CONF_UPSTREAM_LOCAL);
	assert_string_equal(conf.upstream.ca_cert, "/etc/sg/ca.pem");
	assert_string_equal(conf.upstream.ca_key, "/etc/sg/ca.key");
	assert_string_equal(conf.upstream.ca_chain, "");
	assert_true(conf.allow_des);
	assert_true(conf.allow_sha1);
	assert_int_equal(conf.max_body, 65536);
	assert_int_equal(conf.threads, 4);
	assert_int_equal(conf.connection_limit, 1024);
	assert_int_equal(conf.log_level, SG_LOG_INFO);
	assert_false(conf.log_syslog);
}

static void
test_values(void **state)
{
	struct conf	conf;
	struct sg_err	err;
	const char	*text =
	    "listen = { address = \"::1\"; port = 8443; };\n"
	    "database = \"/var/db/sg.db\";\n"
	    "secret_file = \"./keys/secret\";\n"
	    "ra = ( { id = \"a\"; cert = \"../ra.pem\"; key = \".//ra.key\";"
	    " chain = \"c.pem\"; },\n"
	    " { id = \"b\"; cert = \"b.pem\";"
	    " key = \"pkcs11:token=t;object=b\"; } );\n"
	    "upstream = { type = \"local\"; ca_cert = \"ca.pem\";"
	    " ca_key = \"ca.key\"; ca_chain = \"/pki/chain.pem\"; };\n"
	    "crypto = { allow_des = false; allow_sha1 = FALSE; };\n"
	    "limits = { max_body = 1048576; threads = 16;"
	    " connections = 77; };\n"
	    "log = { level = \"err\"; syslog = true;"
	    " format = \"json\"; };\n";

	(void)state;
	assert_int_equal(conf_load_string(text, NAME, &conf, &err), SG_OK);
	assert_string_equal(conf.listen_address, "::1");
	assert_int_equal(conf.listen_port, 8443);
	/* An IPv6 address is bracketed in the derived URL. */
	assert_string_equal(conf.base_url, "http://[::1]:8443");
	assert_string_equal(conf.database, "/var/db/sg.db");
	assert_string_equal(conf.secret_file, "/etc/sg/keys/secret");
	assert_int_equal(conf.nra, 2);
	assert_string_equal(conf.ra[0].cert, "/etc/sg/../ra.pem");
	assert_string_equal(conf.ra[0].key, "/etc/sg/ra.key");
	assert_string_equal(conf.ra[0].chain, "/etc/sg/c.pem");
	assert_string_equal(conf.ra[1].id, "b");
	/* A key on a token is a URI, not a relative path. */
	assert_string_equal(conf.ra[1].key, "pkcs11:token=t;object=b");
	assert_int_equal(conf.log_format, SG_LOG_JSON);
	assert_string_equal(conf.ra[1].chain, "");
	assert_string_equal(conf.upstream.ca_chain, "/pki/chain.pem");
	assert_false(conf.allow_des);
	assert_false(conf.allow_sha1);
	assert_int_equal(conf.max_body, 1048576);
	assert_int_equal(conf.threads, 16);
	assert_int_equal(conf.connection_limit, 77);
	assert_int_equal(conf.log_level, SG_LOG_ERR);
	assert_true(conf.log_syslog);

	/* Given base_url wins; trailing '/' is dropped. */
	assert_int_equal(conf_load_string(BASE
	    "base_url = \"https://scep.example.com/scep//\";\n"
	    "log = { level = \"debug\"; };\n", NAME, &conf, &err), SG_OK);
	assert_string_equal(conf.base_url, "https://scep.example.com/scep");
	assert_int_equal(conf.log_level, SG_LOG_DEBUG);

	assert_int_equal(conf_load_string(DB SECRET RA SCM_MIN
	    "timeout = 5; };\n"
	    "log = { level = \"warn\"; };\n", NAME, &conf, &err), SG_OK);
	assert_int_equal(conf.upstream.type, CONF_UPSTREAM_SCM);
	assert_string_equal(conf.upstream.ca_cert, "");
	assert_string_equal(conf.upstream.url, "https://scm.example/api");
	assert_string_equal(conf.upstream.customer_uri, "examplecorp");
	assert_int_equal(conf.upstream.auth, CONF_SCM_AUTH_PASSWORD);
	assert_string_equal(conf.upstream.login, "scep-gw");
	assert_string_equal(conf.upstream.password_file, "/etc/sg/scm.pw");
	assert_string_equal(conf.upstream.ca_chain, "/etc/sg/scm-chain.pem");
	assert_string_equal(conf.upstream.tls_ca_file, "");
	assert_true(strncmp(conf.upstream.token_url, "https://auth.sso.",
	    17) == 0);
	assert_int_equal(conf.upstream.smime_api_version, 1);
	assert_int_equal(conf.upstream.timeout, 5);
	assert_int_equal(conf.upstream.poll_interval, 5);
	assert_int_equal(conf.log_level, SG_LOG_WARN);
}

/* Paths that do not fit CONF_PATH_MAX are refused, not cut. */
static void
test_long_path(void **state)
{
	struct conf	 conf;
	struct sg_err	 err;
	char		 name[CONF_PATH_MAX + 16];
	char		*text;
	size_t		 fill, len;

	(void)state;
	/* "/etc/sg/" + fill + "\0" is exactly CONF_PATH_MAX: it fits. */
	fill = CONF_PATH_MAX - strlen("/etc/sg/") - 1;
	len = fill + 256;
	text = malloc(len);
	assert_non_null(text);
	memset(text, 0, len);
	snprintf(text, len, "database = \"%0*d\";\n" SECRET RA UP,
	    (int)fill, 0);
	assert_int_equal(conf_load_string(text, NAME, &conf, &err), SG_OK);
	assert_int_equal(strlen(conf.database), CONF_PATH_MAX - 1);

	snprintf(text, len, "database = \"%0*d\";\n" SECRET RA UP,
	    (int)fill + 1, 0);
	assert_int_equal(conf_load_string(text, NAME, &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg,
	    NAME ":1: database: path longer than 1023 bytes"));
	free(text);

	/* The configuration file name itself (the message cuts it). */
	memset(name, 'x', sizeof(name) - 1);
	name[0] = '/';
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(conf_load_string(BASE, name, &conf, &err), SG_ECONF);
	assert_int_equal(err.rc, SG_ECONF);
	assert_int_equal(strncmp(err.msg, "/xxxxxxxx", 9), 0);
}

/* With no directory in the name, relative paths follow the cwd. */
static void
test_string_names(void **state)
{
	struct conf	conf;
	struct sg_err	err;
	char		cwd[CONF_PATH_MAX], want[CONF_PATH_MAX + 32];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	if (strcmp(cwd, "/") == 0)
		cwd[0] = '\0';

	assert_int_equal(conf_load_string(BASE, "test.conf", &conf, &err),
	    SG_OK);
	snprintf(want, sizeof(want), "%s/test.conf", cwd);
	assert_string_equal(conf.path, want);
	snprintf(want, sizeof(want), "%s/sg.db", cwd);
	assert_string_equal(conf.database, want);

	assert_int_equal(conf_load_string(BASE, "./sub/t.conf", &conf, &err),
	    SG_OK);
	snprintf(want, sizeof(want), "%s/sub/t.conf", cwd);
	assert_string_equal(conf.path, want);
	snprintf(want, sizeof(want), "%s/sub/sg.db", cwd);
	assert_string_equal(conf.database, want);

	assert_int_equal(conf_load_string(BASE, NULL, &conf, &err), SG_OK);
	assert_string_equal(conf.path, "");
	snprintf(want, sizeof(want), "%s/sg.db", cwd);
	assert_string_equal(conf.database, want);

	assert_int_equal(conf_load_string(BASE "x = 1;\n", NULL, &conf, &err),
	    SG_ECONF);
	assert_non_null(strstr(err.msg, "<string>:5: unknown key 'x'"));

	assert_int_equal(conf_load_string(BASE, "/t.conf", &conf, &err),
	    SG_OK);
	assert_string_equal(conf.path, "/t.conf");
	assert_string_equal(conf.database, "/sg.db");
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* conf_load on real files in a temporary directory. */
static void
test_load_file(void **state)
{
	struct conf	 conf;
	struct sg_err	 err;
	char		 tmpl[] = "/tmp/test_conf.XXXXXX";
	char		 dir[CONF_PATH_MAX], old[CONF_PATH_MAX];
	char		 path[CONF_PATH_MAX + 32], want[CONF_PATH_MAX + 32];
	char		*big;
	size_t		 bigsz = 1024 * 1024 + 1;
	static const char nul[] = "database = \"a\";\0\n";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(getcwd(old, sizeof(old)));
	/* The physical directory name, as getcwd() will report it. */
	assert_int_equal(chdir(tmpl), 0);
	assert_non_null(getcwd(dir, sizeof(dir)));

	snprintf(path, sizeof(path), "%s/scepgate.conf", dir);
	write_file(path, BASE, strlen(BASE));
	assert_int_equal(conf_load(path, &conf, &err), SG_OK);
	assert_string_equal(conf.path, path);
	snprintf(want, sizeof(want), "%s/sg.db", dir);
	assert_string_equal(conf.database, want);
	snprintf(want, sizeof(want), "%s/ra.pem", dir);
	assert_string_equal(conf.ra[0].cert, want);

	/* A relative name is made absolute against the cwd. */
	assert_int_equal(conf_load("scepgate.conf", &conf, &err), SG_OK);
	assert_string_equal(conf.path, path);

	/* Errors name the file as given. */
	write_file(path, BASE "listen = { port = 0; };\n",
	    strlen(BASE "listen = { port = 0; };\n"));
	assert_int_equal(conf_load("scepgate.conf", &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg, "scepgate.conf:5: listen.port"));
	write_file(path, "a = ;\n", 6);
	assert_int_equal(conf_load(path, &conf, &err), SG_ECONF);
	assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
	assert_string_equal(err.msg + strlen(path), ":1: syntax error");

	assert_int_equal(conf_load("missing.conf", &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg, "missing.conf: "));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));
	assert_int_equal(conf_load(dir, &conf, &err), SG_ECONF);

	write_file(path, "", 0);
	assert_int_equal(conf_load(path, &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg, "missing key 'database'"));

	write_file(path, nul, sizeof(nul) - 1);
	assert_int_equal(conf_load(path, &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg, "contains a NUL byte"));

	big = malloc(bigsz);
	assert_non_null(big);
	memset(big, '\n', bigsz);
	write_file(path, big, bigsz);
	free(big);
	assert_int_equal(conf_load(path, &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg, "larger than"));

	write_file(path, "@include \"/etc/passwd\"\n", 23);
	assert_int_equal(conf_load(path, &conf, &err), SG_ECONF);
	assert_non_null(strstr(err.msg, ":1: @include is not supported"));

	assert_int_equal(unlink(path), 0);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_ra_find(void **state)
{
	struct conf		 conf;
	struct sg_err		 err;
	const struct conf_ra	*ra;

	(void)state;
	assert_int_equal(conf_load_string(DB SECRET UP "ra = ( " RA1 ",\n"
	    "{ id = \"two\"; cert = \"c\"; key = \"k\"; } );\n", NAME, &conf,
	    &err), SG_OK);
	ra = conf_ra_find(&conf, "two");
	assert_ptr_equal(ra, &conf.ra[1]);
	assert_string_equal(ra->cert, "/etc/sg/c");
	assert_ptr_equal(conf_ra_find(&conf, "ra1"), &conf.ra[0]);
	assert_null(conf_ra_find(&conf, "ra"));
	assert_null(conf_ra_find(&conf, ""));
	assert_null(conf_ra_find(&conf, NULL));
	assert_null(conf_ra_find(NULL, "ra1"));
}

/* Every key in the table shows up, with its type and default. */
static void
test_describe(void **state)
{
	static const char *const want[] = {
		"listen.address", "127.0.0.1", "listen.port", "int 1..65535",
		"listen.tls_port", "int 0..65535", "listen.tls_key",
		"base_url", "http://<address>:<port>", "database",
		"database_auto_upgrade",
		"secret_file", "ra ", "list 1..8", "ra[].id", "ra[].chain",
		"upstream.type", "local|scm", "upstream.ca_cert",
		"required if local", "upstream.client_secret_file",
		"upstream.poll_interval", "required if scm",
		"password|client-cert|oauth", "upstream.tls_ca_file",
		"crypto.allow_des",
		"crypto.allow_sha1", "limits.max_body", "int 1024..16777216",
		"65536", "limits.threads", "limits.connections",
		"int 1..100000", "log.level", "err|warn|info|debug",
		"log.syslog", "log.format", "text|json",
		"challenges.max_outstanding", "challenges.lifetime",
	};
	char	*buf = NULL, *p;
	size_t	 len = 0, i, lines = 0;
	FILE	*fp;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	conf_describe(fp);
	assert_int_equal(fclose(fp), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(buf, want[i]) == NULL)
			fail_msg("conf_describe: no \"%s\"", want[i]);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	/* 10 top-level keys; listen 5, ra 5, upstream 20, crypto 2,
	 * limits 15, log 3; azure: 1 + 17 (test_azure_describe);
	 * challenges: 1 + 2; admin: 1 + 4 and listen.ndes_endpoint. */
	assert_int_equal(lines, 10 + 5 + 5 + 20 + 2 + 15 + 3 + 1 + 17 +
	    1 + 2 + 6);
	assert_int_equal(buf[len - 1], '\n');
	free(buf);
}

/* ---- azure (issue 12) ---- */

#define AZ1	"{ name = \"contoso\"; tenant = \"contoso.onmicrosoft.com\";" \
		" client_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\";" \
		" client_secret_file = \"az.secret\"; "

struct azcase {
	const char	*name;
	const char	*text;	/* after BASE */
	const char	*msg;	/* NULL: SG_OK */
};

static const struct azcase azcases[] = {
	{ "one", "azure = ( " AZ1 "} );\n", NULL },
	{ "none", "azure = ( );\n", NULL },
	{ "all keys", "azure = ( " AZ1
	    "authority_url = \"http://127.0.0.1:1/\";"
	    " graph_url = \"http://127.0.0.1:1/\";"
	    " intune_url = \"https://api.manage.microsoft.us/\";"
	    " tls_ca_file = \"az.secret\"; graph_scope = \"g/.default\";"
	    " intune_scope = \"i/.default\"; api_version = \"5019-05-05\";"
	    " provider = \"scepgate/9 test\"; timeout = 600;"
	    " revocation = true; } );\n", NULL },
	{ "duplicate name", "azure = ( " AZ1 "}, " AZ1 "} );\n",
	    "azure[1]: name 'contoso' is also azure[0]" },
	{ "no tenant", "azure = ( { name = \"a\"; client_id = \"c\";"
	    " client_secret_file = \"az.secret\"; } );\n",
	    "missing key 'azure[0].tenant'" },
	{ "no secret file", "azure = ( { name = \"a\"; tenant = \"t\";"
	    " client_id = \"c\"; } );\n",
	    "missing key 'azure[0].client_secret_file'" },
	{ "secret file absent", "azure = ( { name = \"a\"; tenant = \"t\";"
	    " client_id = \"c\"; client_secret_file = \"nope\"; } );\n",
	    "azure[0].client_secret_file: " },
	{ "tls_ca_file absent", "azure = ( " AZ1 "tls_ca_file = \"/nonexistent/"
	    "ca.pem\"; } );\n", "azure[0].tls_ca_file: /nonexistent/ca.pem: " },
	{ "tls_ca_file a directory", "azure = ( " AZ1 "tls_ca_file = \"/\"; } "
	    ");\n", "azure[0].tls_ca_file: /: not a regular file" },
	{ "bad url", "azure = ( " AZ1 "graph_url = \"graph.microsoft.com\"; "
	    "} );\n", "azure[0].graph_url: not an http:// or https:// URL" },
	{ "tenant with slash", "azure = ( { name = \"a\"; tenant = \"t/x\";"
	    " client_id = \"c\"; client_secret_file = \"az.secret\"; } );\n",
	    "azure[0].tenant: must be 1 or more of" },
	{ "name with space", "azure = ( { name = \"a b\"; tenant = \"t\";"
	    " client_id = \"c\"; client_secret_file = \"az.secret\"; } );\n",
	    "azure[0].name: must be 1 or more of" },
	{ "scope with space", "azure = ( " AZ1 "intune_scope = \"a b\"; } );\n",
	    "azure[0].intune_scope: must be printable ASCII" },
	{ "provider with newline", "azure = ( " AZ1 "provider = \"a\\nb\"; } "
	    ");\n", "azure[0].provider: must be printable ASCII" },
	{ "empty provider", "azure = ( " AZ1 "provider = \"\"; } );\n",
	    "azure[0].provider: must be printable ASCII" },
	{ "timeout 0", "azure = ( " AZ1 "timeout = 0; } );\n",
	    "azure[0].timeout: 0 is out of range 1..600" },
	{ "issue_wait 601", "azure = ( " AZ1 "issue_wait = 601; } );\n",
	    "azure[0].issue_wait: 601 is out of range 1..600" },
	{ "unknown key", "azure = ( " AZ1 "proxy = \"x\"; } );\n",
	    "unknown key 'azure[0].proxy'" },
	{ "not a list", "azure = { name = \"a\"; };\n",
	    "azure: must be a list" },
	{ "nine", "azure = ( " AZ1 "}, " AZ1 "}, " AZ1 "}, " AZ1 "}, " AZ1 "}, "
	    AZ1 "}, " AZ1 "}, " AZ1 "}, " AZ1 "} );\n",
	    "azure: needs 0 to 8 entries, not 9" },
};

/* A directory with az.secret, for the file checks; "" on cleanup. */
static void
az_dir(char *dir, size_t dirsz, char *name, size_t namesz)
{
	char	path[CONF_PATH_MAX + 32];

	snprintf(dir, dirsz, "/tmp/test_conf_az.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/az.secret", dir);
	write_file(path, "s3cret\n", 7);
	snprintf(name, namesz, "%s/test.conf", dir);
}

static void
az_rmdir(const char *dir)
{
	char	path[CONF_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/az.secret", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_azure_table(void **state)
{
	const struct azcase	*t;
	struct conf		*conf;
	struct sg_err		 err;
	char			 dir[64], name[128], *text;
	enum sg_rc		 rc;
	size_t			 i, bad = 0, len;

	(void)state;
	az_dir(dir, sizeof(dir), name, sizeof(name));
	assert_non_null(conf = malloc(sizeof(*conf)));
	for (i = 0; i < sizeof(azcases) / sizeof(azcases[0]); i++) {
		t = &azcases[i];
		len = strlen(BASE) + strlen(t->text) + 1;
		assert_non_null(text = malloc(len));
		snprintf(text, len, "%s%s", BASE, t->text);
		sg_err_clear(&err);
		rc = conf_load_string(text, name, conf, &err);
		free(text);
		if (t->msg == NULL && rc != SG_OK) {
			print_error("%s: rc %d (%s)\n", t->name, rc, err.msg);
			bad++;
		} else if (t->msg != NULL && (rc != SG_ECONF ||
		    strstr(err.msg, t->msg) == NULL)) {
			print_error("%s: rc %d \"%s\", want \"%s\"\n", t->name,
			    rc, err.msg, t->msg);
			bad++;
		}
	}
	free(conf);
	az_rmdir(dir);
	assert_int_equal(bad, 0);
}

static void
test_azure_values(void **state)
{
	struct conf		*conf;
	struct sg_err		 err;
	const struct conf_azure	*a;
	char			 dir[64], name[128], want[CONF_PATH_MAX];

	(void)state;
	az_dir(dir, sizeof(dir), name, sizeof(name));
	assert_non_null(conf = malloc(sizeof(*conf)));
	assert_int_equal(conf_load_string(BASE, name, conf, &err), SG_OK);
	assert_int_equal(conf->nazure, 0);
	assert_null(conf_azure_find(conf, "contoso"));

	assert_int_equal(conf_load_string(BASE "azure = ( " AZ1 "},\n"
	    "{ name = \"fabrikam\"; tenant = \"0000-1111\"; client_id = \"c2\";"
	    " client_secret_file = \"az.secret\";"
	    " intune_scope = \"https://api.manage.microsoft.com/.default\";"
	    " revocation = true; timeout = 5; issue_wait = 9;"
	    " wait_for_success_notification = false; } );\n", name, conf,
	    &err),
	    SG_OK);
	assert_int_equal(conf->nazure, 2);
	a = conf_azure_find(conf, "contoso");
	assert_ptr_equal(a, &conf->azure[0]);
	assert_string_equal(a->tenant, "contoso.onmicrosoft.com");
	assert_string_equal(a->client_id,
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	snprintf(want, sizeof(want), "%s/az.secret", dir);
	assert_string_equal(a->client_secret_file, want);
	/* URLs lose their final '/', like every URL of the file. */
	assert_string_equal(a->authority_url,
	    "https://login.microsoftonline.com");
	assert_string_equal(a->graph_url, "https://graph.microsoft.com");
	assert_string_equal(a->intune_url, "https://api.manage.microsoft.com");
	assert_string_equal(a->tls_ca_file, "");
	assert_string_equal(a->graph_scope,
	    "https://graph.microsoft.com/.default");
	assert_string_equal(a->intune_scope,
	    "https://api.manage.microsoft.com//.default");
	assert_string_equal(a->api_version, "2018-02-20");
	assert_string_equal(a->provider, "scepgate/0.1.0");
	assert_int_equal(a->timeout, 30);
	assert_false(a->revocation);
	assert_int_equal(a->revocation_interval, 300);
	assert_int_equal(a->issue_wait, 60);
	assert_true(a->wait_success);
	a = conf_azure_find(conf, "fabrikam");
	assert_ptr_equal(a, &conf->azure[1]);
	assert_string_equal(a->intune_scope,
	    "https://api.manage.microsoft.com/.default");
	assert_true(a->revocation);
	assert_int_equal(a->timeout, 5);
	assert_int_equal(a->issue_wait, 9);
	assert_false(a->wait_success);
	assert_null(conf_azure_find(conf, "Contoso"));
	assert_null(conf_azure_find(conf, ""));
	assert_null(conf_azure_find(conf, NULL));
	assert_null(conf_azure_find(NULL, "contoso"));
	free(conf);
	az_rmdir(dir);
}

/* check-config --describe lists the azure keys with their defaults. */
static void
test_azure_describe(void **state)
{
	static const char *const want[] = {
		"azure ", "list 0..8", "azure[].name", "azure[].tenant",
		"azure[].client_id", "azure[].client_secret_file",
		"azure[].authority_url", "https://login.microsoftonline.com/",
		"azure[].graph_url", "azure[].intune_url",
		"azure[].tls_ca_file", "azure[].intune_scope",
		"https://api.manage.microsoft.com//.default",
		"azure[].api_version", "2018-02-20", "azure[].provider",
		"scepgate/0.1.0", "azure[].timeout", "azure[].revocation",
		"azure[].revocation_interval", "azure[].issue_wait",
		"azure[].wait_for_success_notification",
	};
	char	*buf = NULL;
	size_t	 len = 0, i;
	FILE	*fp;

	(void)state;
	assert_non_null(fp = open_memstream(&buf, &len));
	conf_describe(fp);
	assert_int_equal(fclose(fp), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(buf, want[i]) == NULL)
			fail_msg("conf_describe: no \"%s\"", want[i]);
	free(buf);
}

/*
 * The limits against slow and idle clients (issue 10, section 2):
 * defaults, the idle cap derived from limits.connections, ranges.
 */
#define BAD(l, m)	{ l, SG_ECONF, m, 0, 0, 0, 0, 0 }
static void
test_slow_limits(void **state)
{
	static const struct {
		const char	*limits;
		enum sg_rc	 rc;
		const char	*msg;
		int		 per_address, idle, header, body;
		size_t		 memory;
	} t[] = {
		{ "", SG_OK, "", 64, 768, 10, 30, 8192 },
		{ "connections = 1;", SG_OK, "", 64, 1, 10, 30, 8192 },
		{ "connections = 12000;", SG_OK, "", 64, 9000, 10, 30, 8192 },
		{ "connections_per_address = 0; idle_connections = 10;"
		    " header_timeout = 1; body_timeout = 3600;"
		    " connection_memory = 4096;", SG_OK, "", 0, 10, 1, 3600,
		    4096 },
		{ "connections = 100; idle_connections = 100;", SG_OK, "", 64,
		    100, 10, 30, 8192 },
		BAD("connections = 100; idle_connections = 101;",
		    "limits.idle_connections: 101 is more than "
		    "limits.connections (100)"),
		BAD("idle_connections = 0;",
		    "limits.idle_connections: 0 is out of range 1..100000"),
		BAD("connections_per_address = -1;",
		    "limits.connections_per_address: -1 is out of range"),
		BAD("header_timeout = 0;",
		    "limits.header_timeout: 0 is out of range 1..3600"),
		BAD("body_timeout = 3601;",
		    "limits.body_timeout: 3601 is out of range 1..3600"),
		BAD("connection_memory = 4095;",
		    "limits.connection_memory: 4095 is out of range"),
	};
	struct conf	conf;
	struct sg_err	err;
	char		text[1024];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), BASE "limits = { %s };\n",
		    t[i].limits);
		memset(&err, 0, sizeof(err));
		if (conf_load_string(text, NAME, &conf, &err) != t[i].rc)
			fail_msg("%s: rc %d, %s", t[i].limits, (int)err.rc,
			    err.msg);
		if (t[i].rc != SG_OK) {
			if (strstr(err.msg, t[i].msg) == NULL)
				fail_msg("%s: message \"%s\"", t[i].limits,
				    err.msg);
			continue;
		}
		assert_int_equal(conf.per_address, t[i].per_address);
		assert_int_equal(conf.idle_connections, t[i].idle);
		assert_int_equal(conf.header_timeout, t[i].header);
		assert_int_equal(conf.body_timeout, t[i].body);
		assert_int_equal(conf.connection_memory, t[i].memory);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_database_parse),
		cmocka_unit_test(test_database_values),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_string_names),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_ra_find),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_azure_table),
		cmocka_unit_test(test_azure_values),
		cmocka_unit_test(test_azure_describe),
		cmocka_unit_test(test_slow_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
