/*
 * ra/ra_csr_msft.c: what Windows and Android put in an Intune PKCS#10
 * besides the challenge: the enrollment name/value pairs attribute
 * (szOID_ENROLLMENT_NAME_VALUE_PAIR, 1.3.6.1.4.1.311.13.2.1) with
 * ValidityPeriod and ValidityPeriodUnits (intune-scep.md correction 7).
 * The bytes come from the device: every step is checked.
 */
#ifndef RA_CSR_MSFT_H
#define RA_CSR_MSFT_H

#include <openssl/x509.h>

#include "sg.h"

/* Longest validity honoured before the clamp to the term: 100 years. */
#define RA_CSR_MSFT_DAYS_MAX	36500L

/*
 * The validity "req" (borrowed) asks for, in days, into *days: 0 when
 * it asks for none (no attribute, or no ValidityPeriod pair). Hours,
 * Minutes and Seconds are rounded up to whole days; Weeks are 7 days,
 * Months 30, Years 365; the result is at most RA_CSR_MSFT_DAYS_MAX.
 * The Android order (the unit word in ValidityPeriodUnits, the number
 * in ValidityPeriod) is read the same. Each pair is SEQUENCE { name, value } of BMP, UTF8,
 * Printable or IA5 strings; other names are ignored.
 *
 * SG_OK: *days set. SG_EPARSE (failInfo badRequest), *days untouched:
 * a malformed pair, an unknown unit, a count that is not 1..100000,
 * only one of the two names, or one name twice. The caller chooses
 * whether that refuses the request or falls back to the term; the
 * clamp to the endpoint's term is the caller's too.
 */
enum sg_rc	 ra_csr_msft_validity(const X509_REQ *req, long *days,
		    struct sg_err *err);

#endif /* RA_CSR_MSFT_H */
