/* scepctl: one file per subcommand, listed in one table (scepctl.c). */
#ifndef SCEPCTL_H
#define SCEPCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "conf.h"
#include "ra.h"

/* Exit codes: 0 ok, 1 failure, 2 usage (issue: ergonomics). */
#define SC_OK		0
#define SC_FAIL		1
#define SC_USAGE	2

/* What every subcommand gets: the opened RA (NULL for init). */
struct sc_ctx {
	const char	*config;
	struct conf	*conf;
	struct ra	*ra;
};

struct sc_cmd {
	const char	*name;
	bool		 needs_ra;
	int		(*run)(struct sc_ctx *, int argc, char *argv[]);
	const char	*usage;
};

int	sc_init(struct sc_ctx *, int, char *[]);
int	sc_org(struct sc_ctx *, int, char *[]);
int	sc_dept(struct sc_ctx *, int, char *[]);
int	sc_endpoint(struct sc_ctx *, int, char *[]);
int	sc_account(struct sc_ctx *, int, char *[]);
int	sc_check_config(struct sc_ctx *, int, char *[]);
int	sc_request(struct sc_ctx *, int, char *[]);
int	sc_cert(struct sc_ctx *, int, char *[]);
int	sc_audit(struct sc_ctx *, int, char *[]);
int	sc_ra(struct sc_ctx *, int, char *[]);
int	sc_profile(struct sc_ctx *, int, char *[]);
int	sc_azure(struct sc_ctx *, int, char *[]);
int	sc_inspect(struct sc_ctx *, int, char *[]);
int	sc_backup(struct sc_ctx *, int, char *[]);
int	sc_db(struct sc_ctx *, int, char *[]);
int	sc_token(struct sc_ctx *, int, char *[]);
int	sc_challenge(struct sc_ctx *, int, char *[]);

/* Shared helpers (scepctl.c). */
int	sc_usage(const char *cmd);
int	sc_fail(const struct sg_err *);
/* Print a JSON value to stdout, then free it. */
int	sc_json_print(json_t *);
/* The same for a value holding a secret string under "key", which is
 * wiped before the value is freed (sc_token.c). */
int	sc_secret_json(json_t *, const char *key);
/* Does argv contain "--json"? Removes nothing. */
bool	sc_has_flag(int argc, char *argv[], const char *flag);
void	sc_time(long long t, char *out, size_t outsz);
/*
 * Copy an argument into a fixed field; one that does not fit is
 * refused (said on stderr, naming "what"), never cut: false.
 */
bool	sc_arg_copy(char *dst, size_t dstsz, const char *what,
	    const char *value);
/*
 * Are argv[first..] only the options "valued" (each followed by a value),
 * the flags "flags" (both NULL-terminated) and at most "npos" other
 * words? Prints what is wrong otherwise.
 */
bool	sc_args_ok(int argc, char *argv[], int first,
	    const char *const *valued, const char *const *flags, int npos);
/* The value after "--flag" in argv, or NULL. */
const char *sc_opt_value(int argc, char *argv[], const char *flag);
/*
 * Print what a catalogue sync ("org" or "profile") did: a line per
 * entry that changed or was skipped, then the counts (sc_profile.c).
 */
void	sc_sync_print(const struct ra_sync_item *, size_t n,
	    const char *what);

#endif /* SCEPCTL_H */
