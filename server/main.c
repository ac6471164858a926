/*
 * scepgate: the SCEP server. Reads the configuration once, opens the RA
 * (keys, store, upstream), serves until SIGINT or SIGTERM. SIGHUP re-reads
 * and checks the file but applies nothing (scepgate(8), RELOAD).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ra.h"
#include "srv.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: scepgate --config FILE [--check]\n"
	    "  --config FILE  the libconfig file (scepctl init writes one)\n"
	    "  --check        validate the file, load keys, and exit\n"
	    "  --version      print the version\n");
}

/*
 * Tell systemd (Type=notify) "state", as sd_notify(3) does: one datagram
 * to $NOTIFY_SOCKET, a path or, with a leading '@', an abstract socket.
 * Not a setting but the service manager's channel, so it is read here.
 * Without the variable (not under systemd) it does nothing.
 */
static void
notify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path;
	size_t			 len;
	int			 fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL ||
	    (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == -1)
		sg_log(SG_LOG_WARN, "sd_notify %s: cannot send", state);
	close(fd);
}

/*
 * SIGHUP: re-read the Azure client secrets (ra_reload) and the HTTPS
 * certificate and key (srv_reload: open connections are kept), and
 * re-read and check "path". Nothing else is applied: keys, the plain
 * listener, the store and the upstream are opened once (their reload
 * is not written yet), and admin data needs no reload since every
 * request reads it.
 */
static void
reload(struct ra *ra, struct srv *srv, const char *path)
{
	struct conf	*next;
	struct sg_err	 err;

	notify("RELOADING=1");
	if (ra_reload(ra, &err) != SG_OK)
		sg_log(SG_LOG_ERR, "SIGHUP: %s", err.msg);
	if (srv_reload(srv, &err) != SG_OK)
		sg_log(SG_LOG_ERR, "SIGHUP: %s (the HTTPS listener goes on "
		    "with the certificate it had)", err.msg);
	if ((next = calloc(1, sizeof(*next))) == NULL)
		sg_log(SG_LOG_ERR, "SIGHUP: out of memory");
	else if (conf_load(path, next, &err) != SG_OK)
		sg_log(SG_LOG_ERR, "SIGHUP: %s (still serving the "
		    "configuration read at start)", err.msg);
	else
		sg_log(SG_LOG_WARN, "SIGHUP: %s is valid; restart scepgate "
		    "to apply it", path);
	free(next);
	notify("READY=1");
}

/* Descriptors beyond the connections: listener, epoll, database, logs. */
#define FD_SPARE	128

/*
 * limits.connections needs as many descriptors: raise the soft
 * RLIMIT_NOFILE up to the hard one, or say clearly what is missing.
 */
static bool
raise_nofile(const struct conf *conf)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)conf->connection_limit + FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "scepgate: getrlimit: %s\n", strerror(errno));
		return false;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		fprintf(stderr, "scepgate: limits.connections = %d needs %llu "
		    "open files, but the hard limit (ulimit -Hn) is %llu: "
		    "raise it or lower limits.connections\n",
		    conf->connection_limit, (unsigned long long)want,
		    (unsigned long long)rl.rlim_max);
		return false;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "scepgate: setrlimit(RLIMIT_NOFILE, %llu): "
		    "%s\n", (unsigned long long)want, strerror(errno));
		return false;
	}
	return true;
}

int
main(int argc, char *argv[])
{
	struct conf	*conf = NULL;
	struct ra	*ra = NULL;
	struct srv	*srv = NULL;
	struct sg_err	 err;
	const char	*path = NULL;
	bool		 check = false;
	sigset_t	 set;
	int		 i, sig = 0, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("scepgate %s\n", SG_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return 1;
	if (conf_load(path, conf, &err) != SG_OK) {
		fprintf(stderr, "scepgate: %s\n", err.msg);
		goto out;
	}
	sg_log_init((enum sg_log_level)conf->log_level, conf->log_syslog,
	    "scepgate");
	sg_log_format((enum sg_log_format)conf->log_format);
	/* Block the signals in every thread; the main thread waits. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ra_open(conf, &ra, &err) != SG_OK) {
		fprintf(stderr, "scepgate: %s\n", err.msg);
		goto out;
	}
	if (check) {
		printf("%s: OK\n", conf->path);
		ret = 0;
		goto out;
	}
	if (!raise_nofile(conf))
		goto out;
	if (srv_start(conf, ra, &srv, &err) != SG_OK) {
		fprintf(stderr, "scepgate: %s\n", err.msg);
		goto out;
	}
	sg_log(SG_LOG_INFO, "listening on %s (%s:%d), %d threads",
	    conf->base_url, conf->listen_address, conf->listen_port,
	    conf->threads);
	if (conf->listen_tls_port != 0)
		sg_log(SG_LOG_INFO, "listening with HTTPS on %s:%d",
		    conf->listen_address, conf->listen_tls_port);
	if (conf->admin_port != 0)
		sg_log(SG_LOG_INFO, "admin API on %s://%s:%d",
		    conf->admin_tls_cert[0] ? "https" : "http",
		    conf->admin_address, conf->admin_port);
	notify("READY=1");
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		reload(ra, srv, path);
	sg_log(SG_LOG_INFO, "signal %d: stopping", sig);
	notify("STOPPING=1");
	ret = 0;
out:
	srv_stop(srv);
	ra_close(ra);
	free(conf);
	return ret;
}
