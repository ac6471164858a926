/*
 * The libmicrohttpd plumbing the test doubles (tests/doubles/scm,
 * tests/doubles/intune) share: a request body read in pieces, the
 * completion callback that wipes it, an answer with its headers, and
 * a listener on an IPv4 address, with TLS if given a certificate.
 */
#ifndef DBL_HTTP_H
#define DBL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#define DBL_BODY_MAX	(1024 * 1024)

/* One request being read; *con_cls of the access handler. */
struct dbl_rq {
	char	*body;		/* NUL-terminated; NULL if empty */
	size_t	 len;
	bool	 too_big;	/* over DBL_BODY_MAX: the rest was dropped */
};

/*
 * Call first in the access handler. True: return *ret now (the first
 * call made the request, more body is coming, or no memory). False:
 * the whole body is in *r (owned by the connection: dbl_done frees it).
 */
bool		 dbl_collect(void **con_cls, const char *upload,
		    size_t *upload_size, struct dbl_rq **r,
		    enum MHD_Result *ret);
/* MHD_OPTION_NOTIFY_COMPLETED: wipe and free the request. */
void		 dbl_done(void *cls, struct MHD_Connection *con,
		    void **con_cls, enum MHD_RequestTerminationCode toe);
/*
 * An answer of "len" bytes of "body" (taken: freed with the response,
 * or here on failure; NULL for an empty one), with Content-Type "ctype"
 * (NULL: none) and the "nhdr" headers of "hdr" ({name, value} each).
 * The caller may add headers, then dbl_queue(). NULL if out of memory.
 */
struct MHD_Response *dbl_response(char *body, size_t len, const char *ctype,
		    const char (*hdr)[2][160], int nhdr);
/* Queue "resp" (NULL: MHD_NO) with "status" and release it. */
enum MHD_Result	 dbl_queue(struct MHD_Connection *con, unsigned int status,
		    struct MHD_Response *resp);
/*
 * Listen on "addr" (IPv4), "port" (0: any), a thread per connection;
 * HTTPS if "cert" is set (PEM "cert", "key", and "trust" to ask for a
 * client certificate, or NULL). NULL on failure, the reason in "why".
 */
struct MHD_Daemon *dbl_start(MHD_AccessHandlerCallback handler, void *cls,
		    const char *addr, int port, const char *cert,
		    const char *key, const char *trust, char *why,
		    size_t whysz);
/* The port "mhd" listens on (0 if unknown). */
int		 dbl_bound_port(struct MHD_Daemon *mhd);

#endif /* DBL_HTTP_H */
