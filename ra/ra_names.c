/*
 * Every enum <-> word table of ra/: the words scepctl takes and prints,
 * and the words of the log and the audit. Nothing here decides.
 */
#include <stdio.h>
#include <string.h>

#include "ra_int.h"

static const char *const ep_types[] = {
	[RA_EP_DEVICE] = "device",
	[RA_EP_CLIENT] = "client",
	[RA_EP_DEVICE_INTUNE] = "device-intune",
	[RA_EP_CLIENT_INTUNE] = "client-intune",
};
static const char *const cacert_fmts[] = {
	[RA_CACERT_CMS_CHAIN] = "cms-chain",
	[RA_CACERT_DER] = "der",
	[RA_CACERT_PEM] = "pem",
};
static const char *const getcert_fmts[] = {
	[RA_GETCERT_FULL_CHAIN] = "full-chain",
	[RA_GETCERT_SINGLE] = "single",
};

static bool
word_parse(const char *const *words, size_t n, const char *s, int *out)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(words[i], s) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

#define NWORDS(a)	(sizeof(a) / sizeof((a)[0]))

bool
ra_ep_type_parse(const char *s, enum ra_ep_type *out)
{
	int	v;

	if (!word_parse(ep_types, NWORDS(ep_types), s, &v))
		return false;
	*out = (enum ra_ep_type)v;
	return true;
}

const char *
ra_ep_type_name(enum ra_ep_type t)
{
	return (size_t)t < NWORDS(ep_types) ? ep_types[t] : "?";
}

bool
ra_cacert_fmt_parse(const char *s, enum ra_cacert_fmt *out)
{
	int	v;

	if (!word_parse(cacert_fmts, NWORDS(cacert_fmts), s, &v))
		return false;
	*out = (enum ra_cacert_fmt)v;
	return true;
}

const char *
ra_cacert_fmt_name(enum ra_cacert_fmt f)
{
	return (size_t)f < NWORDS(cacert_fmts) ? cacert_fmts[f] : "?";
}

bool
ra_getcert_fmt_parse(const char *s, enum ra_getcert_fmt *out)
{
	int	v;

	if (!word_parse(getcert_fmts, NWORDS(getcert_fmts), s, &v))
		return false;
	*out = (enum ra_getcert_fmt)v;
	return true;
}

const char *
ra_getcert_fmt_name(enum ra_getcert_fmt f)
{
	return (size_t)f < NWORDS(getcert_fmts) ? getcert_fmts[f] : "?";
}

/* CRL reason codes (RFC 5280 5.3.1); 7 is unused. */
static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

bool
ra_crl_reason_parse(const char *s, int *out)
{
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i] != NULL && strcmp(reasons[i], s) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

const char *
ra_crl_reason_name(int r)
{
	if (r < 0 || (size_t)r >= sizeof(reasons) / sizeof(reasons[0]) ||
	    reasons[r] == NULL)
		return "?";
	return reasons[r];
}

const char *
ra_cert_status_name(enum ra_cert_status s)
{
	switch (s) {
	case RA_CERT_VALID:		return "valid";
	case RA_CERT_REVOKED:		return "revoked";
	case RA_CERT_SUPERSEDED:	return "superseded";
	}
	return "?";
}

const char *
ra_req_status_name(enum ra_req_status s)
{
	switch (s) {
	case RA_REQ_NEW:	return "new";
	case RA_REQ_PENDING:	return "pending";
	case RA_REQ_ISSUED:	return "issued";
	case RA_REQ_REJECTED:	return "rejected";
	}
	return "?";
}

const char *
ra_profile_kind_name(enum ra_profile_kind k)
{
	static const char *const names[] = { "device", "client" };

	return (size_t)k < NWORDS(names) ? names[k] : "?";
}

const char *
ra_sync_kind_name(enum ra_sync_kind k)
{
	static const char *const names[] = { "organization", "department",
	    "device profile", "client profile" };

	return (size_t)k < NWORDS(names) ? names[k] : "?";
}

const char *
ra_sync_action_name(enum ra_sync_action a)
{
	static const char *const names[] = { "added", "updated",
	    "unchanged", "removed", "skipped" };

	return (size_t)a < NWORDS(names) ? names[a] : "?";
}

const char *
ra_p7_status_name(int status)
{
	switch (status) {
	case P7_STATUS_SUCCESS:	return "success";
	case P7_STATUS_PENDING:	return "pending";
	}
	return "failure";
}
