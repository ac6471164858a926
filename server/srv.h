/*
 * server/: HTTP only (libmicrohttpd). Translates requests into ra/ calls
 * and their answers into HTTP; no OpenSSL and no policy here.
 */
#ifndef SRV_H
#define SRV_H

#include <stdbool.h>
#include <stddef.h>

#include "sg.h"

struct conf;
struct ra;
struct srv;

/*
 * Start listening on conf->listen_address:listen_port with a pool of
 * conf->threads workers, and on listen_tls_port with HTTPS when it is
 * not 0 (the same routes and limits, each listener with its own pool;
 * SG_ECONF if libmicrohttpd has no TLS or a TLS file is refused).
 * Connections are bounded by the limits.* keys: in total, per address,
 * waiting for a request (the oldest closed first),
 * and by total deadlines for the headers and the body (docs/hardening.md).
 * "conf" and "ra" are borrowed and must outlive the server. Free with
 * srv_stop().
 */
enum sg_rc	 srv_start(const struct conf *, struct ra *, struct srv **,
		    struct sg_err *);
/*
 * SIGHUP: re-read listen.tls_cert and tls_key (and admin.tls_cert and
 * tls_key) and start a new HTTPS daemon with them on the same port; the previous one stops accepting
 * and serves its open connections until they close (it is stopped at a
 * later reload or at srv_stop()). On failure the running listener goes
 * on unchanged: SG_ECONF or SG_EIO (a bad file, the message names it),
 * SG_ELIMIT (too many earlier listeners still busy). SG_OK and nothing
 * done without HTTPS. Call from one thread only (main's signal loop).
 */
enum sg_rc	 srv_reload(struct srv *, struct sg_err *);
/* Stop accepting, finish running requests, free. NULL is allowed. */
void		 srv_stop(struct srv *);

/*
 * Find parameter "name" in a raw query string ("a=1&b=2", no '?') and
 * percent-decode its value, leaving '+' alone (scep-interop.md 1.3: a
 * raw '+' in base64 must survive). *out is malloc'ed, NUL-terminated,
 * with its length in *outlen; at most "max" bytes. SG_ENOTFOUND if the
 * parameter is absent, SG_EPARSE for a bad escape, SG_ELIMIT if too long.
 */
enum sg_rc	 srv_query_get(const char *query, const char *name,
		    size_t max, char **out, size_t *outlen);

/*
 * Split a request path into the endpoint's URI extension: "/scep/EXT",
 * "/scep/EXT/", "/scep/EXT/pkiclient.exe", "/scep/EXT/cgi-bin/..." all
 * give EXT. Returns false if the path is not under /scep/.
 */
bool		 srv_path_endpoint(const char *path, char *ext, size_t extsz);

#endif /* SRV_H */
