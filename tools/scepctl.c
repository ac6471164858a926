/*
 * scepctl: the admin CLI. It parses arguments and prints; every action is
 * a call into ra/ (STYLE.md: tools hold no logic of their own).
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scepctl.h"

static const struct sc_cmd cmds[] = {
	{ "init", false, sc_init,
	  "init --dir DIR [--port N] [--address A] [--tls-port N]\n"
	  "    create an instance: local CA, RA certificate, secret, config,\n"
	  "    database, endpoint \"demo\" with one account, a self-signed\n"
	  "    HTTPS certificate (tls.pem; HTTPS on --tls-port).\n"
	  "    example: scepctl init --dir /var/lib/scepgate --port 8080" },
	{ "check-config", false, sc_check_config,
	  "check-config [--describe]\n"
	  "    validate the configuration file and load its keys (like\n"
	  "    acme-client -n); --describe lists every key.\n"
	  "    example: scepctl --config scepgate.cfg check-config" },
	{ "inspect", false, sc_inspect,
	  "inspect [--key KEY] [--cert CERT] FILE|-\n"
	  "    decode a pkiMessage or CertRep (DER, base64, PEM-like or a\n"
	  "    captured \"message=\" query): type, transactionID, nonces,\n"
	  "    signer, digest, cipher. With the recipient's KEY (the RA key\n"
	  "    for a request, the client's for a reply; CERT picks among\n"
	  "    several recipients) also the CSR or the issued certificates.\n"
	  "    example: scepctl inspect --key /var/lib/scepgate/ra.key req.der" },
	{ "backup", true, sc_backup,
	  "backup FILE\n"
	  "    copy the database into the new FILE (mode 0600) while\n"
	  "    scepgate runs (SQLite's online backup; PostgreSQL: pg_dump\n"
	  "    --format=custom, for pg_restore). Keys and the secret\n"
	  "    file are not in it: docs/operations.md.\n"
	  "    example: scepctl backup /var/backups/scepgate-$(date +%F).db" },
	/* Not through ra_open: "db upgrade" runs on an older schema. */
	{ "db", false, sc_db,
	  "db upgrade\n"
	  "    bring the database's schema to this scepctl's version and\n"
	  "    say from which (for database_auto_upgrade = false).\n"
	  "db grant ROLE\n"
	  "    PostgreSQL: give the existing ROLE what scepgate needs at\n"
	  "    run time and no more (no DDL, no UPDATE or DELETE of the\n"
	  "    audit; docs/postgresql.md); run as the schema's owner.\n"
	  "db check [FILE]\n"
	  "    check the database (or a backup FILE): SQLite integrity,\n"
	  "    foreign keys, and the audit log's append-only rule (its\n"
	  "    triggers, ids 1..n without a gap); PostgreSQL: schema\n"
	  "    version, one live transaction per transactionID, CRL\n"
	  "    numbers increasing, certificates and their transactions,\n"
	  "    the audit triggers, counts. Exit 1 if a check fails.\n"
	  "    example: scepctl db check /var/backups/scepgate-2026-12-01.db\n"
	  "db copy --from DATABASE --to DATABASE\n"
	  "    copy every table, audit included, into an empty database\n"
	  "    (SQLite to PostgreSQL or back) and verify the counts.\n"
	  "    example: scepctl db copy --from sqlite:/var/lib/scepgate/"
	  "scepgate.db \\\n"
	  "             --to postgresql:///scepgate?host=/run/postgresql" },
	{ "org", true, sc_org,
	  "org add NAME | org list [--json] | org sync\n"
	  "    org sync copies the upstream's (SCM's) organizations and\n"
	  "    departments with their ids: adds and updates, never deletes.\n"
	  "    example: scepctl org add \"Example Corp\"" },
	{ "dept", true, sc_dept,
	  "dept add ORG NAME | dept list [ORG] [--json]\n"
	  "    example: scepctl dept add \"Example Corp\" Sales" },
	{ "profile", true, sc_profile,
	  "profile sync | profile list [--json]\n"
	  "    profile sync copies SCM's device and client profiles with\n"
	  "    their allowed terms; from then on account add and edit\n"
	  "    refuse an unknown profile, one of the wrong kind, or a term\n"
	  "    it does not allow.\n"
	  "    example: scepctl profile sync && scepctl profile list" },
	{ "endpoint", true, sc_endpoint,
	  "endpoint add NAME --type device|client|device-intune|client-intune\n"
	  "              --uri EXT [--ra ID] [--ra-enc ID]\n"
	  "              [--cacert-format pem|der|cms-chain]\n"
	  "              pem: PEM text under application/x-x509-ca-cert,\n"
	  "              whose RFC 8894 body is DER; micromdm scepclient\n"
	  "              fails (\"x509: malformed certificate\"); only for\n"
	  "              clients that read PEM (strongSwan pki) or get the\n"
	  "              RA certificate out of band\n"
	  "              [--getcert-format single|full-chain]\n"
	  "              [--renewal-days N] [--min-rsa BITS]\n"
	  "              [--key-types rsa,ec]\n"
	  "              [--challenge-types printable,utf8,bmp,other]\n"
	  "              [--san-types dns,ip,email,uri,upn|none]\n"
	  "              [--name-pattern GLOB[,GLOB...]]\n"
	  "              [--subject-org account|csr]\n"
	  "              [--renewal-names same|any]\n"
	  "              [--challenge-webhook URL] [--notify-webhook URL]\n"
	  "              [--webhook-secret-file F] [--webhook-timeout S]\n"
	  "              (\"\" clears; docs/webhooks.md)\n"
	  "              Intune: --org ORG [--dept D] --profile P --term DAYS\n"
	  "              --azure ACCOUNT\n"
	  "endpoint edit NAME [the same options but --type]\n"
	  "endpoint delegate NAME --general | --org ORG[/DEPT] ...\n"
	  "endpoint list [--json] | endpoint show NAME [--json]\n"
	  "endpoint delete NAME [--force]\n"
	  "    example: scepctl endpoint add routers --type device \\\n"
	  "             --uri routers --cacert-format cms-chain" },
	{ "account", true, sc_account,
	  "account add --endpoint E --name N --org ORG [--dept D]\n"
	  "            [--profile P] --term DAYS [--access-code CODE]\n"
	  "            [--approval auto|manual]\n"
	  "account edit --endpoint E --name N [--profile P] [--term DAYS]\n"
	  "            [--approval auto|manual]\n"
	  "account list --endpoint E [--json]\n"
	  "account show|delete|rotate-code|disable|enable --endpoint E "
	  "--name N\n"
	  "    Codes are shown once; only their HMAC is stored.\n"
	  "    example: scepctl account add --endpoint demo --name lab \\\n"
	  "             --org Demo --term 365" },
	{ "token", true, sc_token,
	  "token add NAME --scope challenge|read|admin [--endpoint E] "
	  "[--json]\n"
	  "token list [--json] | token revoke NAME\n"
	  "    API tokens of the admin API and the NDES page; a token is\n"
	  "    shown once, only its HMAC is stored (docs/challenges.md).\n"
	  "    example: scepctl token add jamf --scope challenge "
	  "--endpoint demo" },
	{ "challenge", true, sc_challenge,
	  "challenge add --endpoint E [--account A] [--lifetime S] "
	  "[--cn CN]\n"
	  "              [--san DNS:NAME|IP:ADDR|email:ADDR|URI:URI] "
	  "[--json]\n"
	  "challenge list [--endpoint E] [--all] [--json]\n"
	  "challenge revoke ID\n"
	  "    one-time challenges: good for one enrollment on E before\n"
	  "    they expire; shown once (docs/challenges.md).\n"
	  "    example: scepctl challenge add --endpoint demo --lifetime 600" },
	{ "request", true, sc_request,
	  "request list [--status new|pending|issued|rejected] [--json]\n"
	  "request approve ID | request reject ID --reason TEXT\n"
	  "    example: scepctl request list --status pending" },
	{ "cert", true, sc_cert,
	  "cert list [--endpoint E] [--status valid|revoked|superseded] "
	  "[--json]\n"
	  "cert show SERIAL [--json|--pem]\n"
	  "cert revoke SERIAL --reason keyCompromise|superseded|...\n"
	  "    example: scepctl cert revoke 5A3F... --reason keyCompromise" },
	{ "audit", true, sc_audit,
	  "audit list [--endpoint E] [--account A] [--since T] [--until T]\n"
	  "           [--outcome success|failure|pending] [--json]\n"
	  "audit export --format csv|json [the same filters]\n"
	  "audit export --before T --out FILE   (for retention, then:)\n"
	  "audit prune --before T --export FILE (FILE from the export)\n"
	  "    T is YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch seconds.\n"
	  "    example: scepctl audit export --format csv > audit.csv" },
	{ "azure", false, sc_azure,
	  "azure list [--json] | azure test NAME [--json]\n"
	  "    the Azure accounts of the configuration; test gets both\n"
	  "    tokens and runs discovery, printing the SCEP validation\n"
	  "    service found or why not (docs/intune.md).\n"
	  "    example: scepctl azure test contoso" },
	{ "ra", true, sc_ra,
	  "ra list [--json] | ra show ID [--json] | ra export ID\n"
	  "    the SCEP RA certificates of the configuration.\n"
	  "    example: scepctl ra export ra1 > ra.pem" },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: scepctl [--config FILE] [--actor NAME] COMMAND "
	    "...\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %s\n\n", cmds[i].usage);
	fprintf(fp, "FILE defaults to $SCEPGATE_CONFIG. Exit codes: 0 ok, "
	    "1 failure, 2 usage.\n");
}

int
sc_usage(const char *cmd)
{
	size_t	i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, cmd) == 0) {
			fprintf(stderr, "usage: scepctl %s\n", cmds[i].usage);
			return SC_USAGE;
		}
	}
	usage_all(stderr);
	return SC_USAGE;
}

int
sc_fail(const struct sg_err *err)
{
	fprintf(stderr, "scepctl: %s\n", err->msg[0] ? err->msg :
	    sg_strerror(err->rc));
	return SC_FAIL;
}

int
sc_json_print(json_t *v)
{
	if (v == NULL || json_dumpf(v, stdout, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER) != 0) {
		json_decref(v);
		fprintf(stderr, "scepctl: cannot write JSON\n");
		return SC_FAIL;
	}
	fputc('\n', stdout);
	json_decref(v);
	return SC_OK;
}

bool
sc_has_flag(int argc, char *argv[], const char *flag)
{
	int	i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return true;
	return false;
}

static bool
listed(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool
sc_args_ok(int argc, char *argv[], int first, const char *const *valued,
    const char *const *flags, int npos)
{
	int	i;

	for (i = first; i < argc; i++) {
		if (listed(valued, argv[i]) && i + 1 < argc)
			i++;
		else if (listed(flags, argv[i]))
			continue;
		else if (strncmp(argv[i], "--", 2) == 0 || npos-- <= 0) {
			fprintf(stderr, "scepctl: unexpected '%s'\n", argv[i]);
			return false;
		}
	}
	return true;
}

const char *
sc_opt_value(int argc, char *argv[], const char *flag)
{
	int	i;

	for (i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return argv[i + 1];
	return NULL;
}

bool
sc_arg_copy(char *dst, size_t dstsz, const char *what, const char *value)
{
	size_t	len = strlen(value);

	if (len >= dstsz) {
		fprintf(stderr, "scepctl: %s: %zu bytes is too long (at most "
		    "%zu)\n", what, len, dstsz - 1);
		return false;
	}
	memcpy(dst, value, len + 1);
	return true;
}

void
sc_time(long long t, char *out, size_t outsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The audit actor: --actor, else the login name. */
static void
default_actor(char *out, size_t outsz)
{
	struct passwd	*pw = getpwuid(getuid());

	snprintf(out, outsz, "%s", pw != NULL ? pw->pw_name : "unknown");
}

int
main(int argc, char *argv[])
{
	struct sc_ctx		 ctx = { 0 };
	const struct sc_cmd	*cmd = NULL;
	struct sg_err		 err;
	char			 actor[64];
	size_t			 i;
	int			 ret;

	default_actor(actor, sizeof(actor));
	ctx.config = getenv("SCEPGATE_CONFIG");
	argc--;
	argv++;
	while (argc > 0 && strncmp(argv[0], "--", 2) == 0) {
		if (strcmp(argv[0], "--config") == 0 && argc > 1) {
			ctx.config = argv[1];
			argc -= 2;
			argv += 2;
		} else if (strcmp(argv[0], "--actor") == 0 && argc > 1) {
			if (!sc_arg_copy(actor, sizeof(actor), "--actor",
			    argv[1]))
				return SC_USAGE;
			argc -= 2;
			argv += 2;
		} else if (strcmp(argv[0], "--help") == 0) {
			usage_all(stdout);
			return SC_OK;
		} else {
			usage_all(stderr);
			return SC_USAGE;
		}
	}
	if (argc == 0) {
		usage_all(stderr);
		return SC_USAGE;
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, argv[0]) == 0)
			cmd = &cmds[i];
	if (cmd == NULL) {
		fprintf(stderr, "scepctl: unknown command '%s'; see scepctl "
		    "--help\n", argv[0]);
		return SC_USAGE;
	}
	if (sc_has_flag(argc, argv, "--help")) {
		printf("usage: scepctl %s\n", cmd->usage);
		return SC_OK;
	}
	sg_log_init(SG_LOG_WARN, false, "scepctl");
	if (cmd->needs_ra || strcmp(cmd->name, "db") == 0 ||
	    (strcmp(cmd->name, "check-config") == 0 &&
	    !sc_has_flag(argc, argv, "--describe"))) {
		if (ctx.config == NULL) {
			fprintf(stderr, "scepctl: no configuration: give "
			    "--config FILE or set SCEPGATE_CONFIG\n");
			return SC_USAGE;
		}
		if ((ctx.conf = calloc(1, sizeof(*ctx.conf))) == NULL)
			return SC_FAIL;
		if (conf_load(ctx.config, ctx.conf, &err) != SG_OK) {
			free(ctx.conf);
			return sc_fail(&err);
		}
	}
	if (cmd->needs_ra) {
		if (ra_open(ctx.conf, &ctx.ra, &err) != SG_OK) {
			free(ctx.conf);
			return sc_fail(&err);
		}
		ra_set_actor(ctx.ra, actor);
	}
	ret = cmd->run(&ctx, argc, argv);
	ra_close(ctx.ra);
	free(ctx.conf);
	return ret;
}
