/* The test doubles' libmicrohttpd plumbing (dbl_http.h). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dbl_http.h"

bool
dbl_collect(void **con_cls, const char *upload, size_t *upload_size,
    struct dbl_rq **out, enum MHD_Result *ret)
{
	struct dbl_rq	*r = *con_cls;
	char		*p;

	*ret = MHD_YES;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			*ret = MHD_NO;
		*con_cls = r;
		return true;
	}
	if (*upload_size == 0) {
		*out = r;
		return false;
	}
	if (r->len + *upload_size > DBL_BODY_MAX)
		r->too_big = true;
	else if ((p = realloc(r->body, r->len + *upload_size + 1)) != NULL) {
		r->body = p;
		memcpy(r->body + r->len, upload, *upload_size);
		r->len += *upload_size;
		r->body[r->len] = '\0';
	}
	*upload_size = 0;
	return true;
}

void
dbl_done(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct dbl_rq	*r = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (r == NULL)
		return;
	if (r->body != NULL)
		OPENSSL_cleanse(r->body, r->len);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

struct MHD_Response *
dbl_response(char *body, size_t len, const char *ctype,
    const char (*hdr)[2][160], int nhdr)
{
	struct MHD_Response	*resp;
	int			 i;

	resp = MHD_create_response_from_buffer(len, body != NULL ? body :
	    (char *)"", body != NULL ? MHD_RESPMEM_MUST_FREE :
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return NULL;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	for (i = 0; i < nhdr; i++)
		MHD_add_response_header(resp, hdr[i][0], hdr[i][1]);
	return resp;
}

enum MHD_Result
dbl_queue(struct MHD_Connection *con, unsigned int status,
    struct MHD_Response *resp)
{
	enum MHD_Result	ret;

	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct MHD_Daemon *
dbl_start(MHD_AccessHandlerCallback handler, void *cls, const char *addr,
    int port, const char *cert, const char *key, const char *trust,
    char *why, size_t whysz)
{
	struct sockaddr_in	 sa;
	struct MHD_OptionItem	 o[8];
	unsigned int		 flags = MHD_USE_INTERNAL_POLLING_THREAD |
				    MHD_USE_THREAD_PER_CONNECTION |
				    MHD_USE_ERROR_LOG;
	struct MHD_Daemon	*mhd;
	size_t			 n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		snprintf(why, whysz, "--address: an IPv4 address, not %s",
		    addr);
		return NULL;
	}
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &sa };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)dbl_done, NULL };
	if (cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(why, whysz, "libmicrohttpd has no TLS: no "
			    "--tls-port");
			return NULL;
		}
		flags |= MHD_USE_TLS;
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
		    (void *)cert };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
		    (void *)key };
		if (trust != NULL)
			o[n++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)trust };
	}
	o[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, cls,
	    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	if (mhd == NULL)
		snprintf(why, whysz, "cannot listen on %s:%d", addr, port);
	return mhd;
}

int
dbl_bound_port(struct MHD_Daemon *mhd)
{
	const union MHD_DaemonInfo	*di;

	di = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL ? di->port : 0;
}
