/* Shared inside server/ only. */
#ifndef SRV_INT_H
#define SRV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct ra;

/* One HTTP request, as srv_http.c hands it to srv_scep.c (borrowed). */
struct srv_request {
	const char	*path;		/* decoded path */
	const char	*query;		/* raw query, without '?' */
	const char	*method;
	const uint8_t	*body;
	size_t		 body_len;
	bool		 too_large;
	const char	*peer;
};

/* The answer: "body" is malloc'ed and handed to libmicrohttpd. */
struct srv_answer {
	int		 status;
	const char	*ctype;		/* static */
	uint8_t		*body;
	size_t		 len;
	const char	*op;		/* for the log line */
};

/* Route a request and fill the answer; never fails (500 at worst). */
void	srv_scep_answer(const struct conf *, struct ra *,
	    const struct srv_request *, struct srv_answer *);

#endif /* SRV_INT_H */
