/*
 * scepgate: the SCEP server. Reads the configuration once, opens the RA
 * (keys, store, upstream), serves until SIGINT or SIGTERM.
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
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
	int		 i, sig, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("scepgate 0.1.0\n");
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
	/* Block the signals in every thread; the main thread waits. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
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
	if (sigwait(&set, &sig) == 0)
		sg_log(SG_LOG_INFO, "signal %d: stopping", sig);
	ret = 0;
out:
	srv_stop(srv);
	ra_close(ra);
	free(conf);
	return ret;
}
