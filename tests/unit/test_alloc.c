/*
 * Fail the Nth allocation (STYLE.md 7, curl's torture mode): run one
 * entry point with allocation N failing, for N = 1, 2, 3, ... until a
 * run finishes without reaching N. Every run must return an error or
 * succeed (never crash, never SG_OK with nothing opened) and leave no
 * block behind.
 *
 * The hook: our own libraries are linked with -Wl,--wrap=malloc (and
 * calloc, realloc, reallocarray, strdup, free; tests/CMakeLists.txt), so
 * their calls land in __wrap_*; OpenSSL's allocations come through
 * CRYPTO_set_mem_functions(). Both count every allocation and remember
 * the live blocks, so a plain build checks the balance and build-asan
 * adds LeakSanitizer. SQLite and libconfig allocate on their own and are
 * not failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p7.h"
#include "ra.h"
#include "sg_test.h"

void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
void	 __real_free(void *);
void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
void	*__wrap_reallocarray(void *, size_t, size_t);
char	*__wrap_strdup(const char *);
void	 __wrap_free(void *);

/* ---- the hook ---- */

#define LIVE_SLOTS	(1u << 20)	/* open addressing, power of two */
#define TOMB		((void *)1)

static struct {
	bool	 armed;		/* count (and maybe fail) allocations */
	size_t	 count;		/* allocations seen since armed */
	size_t	 fail_at;	/* 1-based; 0 never fails */
	bool	 failed;	/* the run reached fail_at */
	size_t	 live;		/* blocks allocated while armed, not freed */
	void	*slot[LIVE_SLOTS];
	const char *file[LIVE_SLOTS];	/* OpenSSL's: where; ours: NULL */
	int	 line[LIVE_SLOTS];
	const char *next_file;	/* set by the OpenSSL hooks */
	int	 next_line;
} h;

static size_t
slot_of(const void *p)
{
	uintptr_t	v = (uintptr_t)p;

	v ^= v >> 17;
	v *= 0xed5ad4bbU;
	v ^= v >> 11;
	return (size_t)v & (LIVE_SLOTS - 1);
}

static void
live_add(void *p)
{
	size_t	i = slot_of(p);

	while (h.slot[i] != NULL && h.slot[i] != TOMB)
		i = (i + 1) & (LIVE_SLOTS - 1);
	h.slot[i] = p;
	h.file[i] = h.next_file;
	h.line[i] = h.next_line;
	h.live++;
}

/* Forget "p" if it is ours (blocks from before arming are not). */
static bool
live_del(void *p)
{
	size_t	i = slot_of(p);

	while (h.slot[i] != NULL) {
		if (h.slot[i] == p) {
			h.slot[i] = TOMB;
			h.live--;
			return true;
		}
		i = (i + 1) & (LIVE_SLOTS - 1);
	}
	return false;
}

/* Name the blocks still live (for the failure message). */
static void
live_print(void)
{
	size_t	i;

	for (i = 0; i < LIVE_SLOTS; i++)
		if (h.slot[i] != NULL && h.slot[i] != TOMB)
			print_error("  leaked %p from %s:%d\n", h.slot[i],
			    h.file[i] != NULL ? h.file[i] : "scepgate",
			    h.line[i]);
}

static void
live_reset(void)
{
	memset(h.slot, 0, sizeof(h.slot));
	h.live = 0;
}

/* Should this allocation fail? */
static bool
fail_now(void)
{
	if (!h.armed)
		return false;
	h.count++;
	if (h.fail_at != 0 && h.count == h.fail_at) {
		h.failed = true;
		return true;
	}
	return false;
}

static void *
track(void *p)
{
	if (p != NULL && h.armed)
		live_add(p);
	return p;
}

void *
__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : track(__real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t sz)
{
	return fail_now() ? NULL : track(__real_calloc(n, sz));
}

void *
__wrap_realloc(void *p, size_t n)
{
	void	*q;
	bool	 ours;

	if (fail_now())
		return NULL;
	if ((q = __real_realloc(p, n)) == NULL)
		return NULL;
	/* Grown from a block of before arming: still not ours. */
	ours = p == NULL || live_del(p);
	return ours ? track(q) : q;
}

void *
__wrap_reallocarray(void *p, size_t n, size_t sz)
{
	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	return __wrap_realloc(p, n * sz);
}

char *
__wrap_strdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p;

	if ((p = __wrap_malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

void
__wrap_free(void *p)
{
	if (p != NULL)
		(void)live_del(p);
	__real_free(p);
}

/*
 * OpenSSL's caches: the per-thread error queue keeps its buffers for
 * the next error, and the method store caches what a fetch found in
 * its hash tables (a failed run fills them later than a clean one).
 * Reachable, not leaks (LeakSanitizer agrees): failed like any other
 * allocation, not counted in the balance.
 */
static bool
ossl_cache(const char *file)
{
	return file != NULL && (strstr(file, "crypto/err/") != NULL ||
	    strstr(file, "crypto/property/") != NULL ||
	    strstr(file, "crypto/lhash/") != NULL);
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	void	*p;

	if (ossl_cache(file))
		return fail_now() ? NULL : __real_malloc(n);
	h.next_file = file;
	h.next_line = line;
	p = __wrap_malloc(n);
	h.next_file = NULL;
	return p;
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	void	*q;

	if (ossl_cache(file))
		return fail_now() ? NULL : __real_realloc(p, n);
	h.next_file = file;
	h.next_line = line;
	q = __wrap_realloc(p, n);
	h.next_file = NULL;
	return q;
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	__wrap_free(p);
}

static void
arm(size_t fail_at)
{
	live_reset();
	h.count = 0;
	h.fail_at = fail_at;
	h.failed = false;
	h.armed = true;
}

static void
disarm(void)
{
	h.armed = false;
}

/* ---- the runs ---- */

/*
 * One entry point under test: run it, check its result, clean up. It
 * returns false (with a message printed) if the contract is broken.
 */
typedef bool	(*run_fn)(void *arg, size_t n);

/*
 * Run "fn" with allocation 1, 2, ... failing until a run does not reach
 * its failure. Counts the runs in *runs.
 */
static void
torture(const char *name, run_fn fn, void *arg, size_t *runs)
{
	size_t	n;
	bool	ok;

	/* A clean run first: OpenSSL's lazy tables, the legacy provider. */
	assert_true(fn(arg, 0));
	for (n = 1; n < 200000; n++) {
		arm(n);
		ok = fn(arg, n);
		disarm();
		if (!ok)
			fail_msg("%s: contract broken with allocation %zu "
			    "failing", name, n);
		if (h.live != 0)
			live_print();
		if (h.live != 0)
			fail_msg("%s: %zu block(s) leaked with allocation %zu "
			    "failing", name, h.live, n);
		if (!h.failed)
			break;
	}
	*runs = n;
	assert_true(n > 1);
	print_message("%s: %zu runs, each an error or a success\n", name, n);
}

static uint8_t *
read_data(const char *name, size_t *len)
{
	const char	*dir = getenv("SG_TESTDATA");
	char		 path[1024];
	uint8_t		*buf;
	FILE		*fp;
	long		 n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((n = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(buf = __real_malloc((size_t)n));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* ra_open: SG_OK with a RA, or an error with *out untouched. */
static bool
run_ra_open(void *arg, size_t n)
{
	const struct conf	*conf = arg;
	struct sg_err		 err;
	struct ra		*ra = NULL;
	enum sg_rc		 rc;

	rc = ra_open(conf, &ra, &err);
	if (rc == SG_OK && ra == NULL) {
		print_error("ra_open: SG_OK without a RA (n=%zu)\n", n);
		return false;
	}
	if (rc != SG_OK && ra != NULL) {
		print_error("ra_open: %s, yet *out set (n=%zu)\n",
		    sg_strerror(rc), n);
		return false;
	}
	ra_close(ra);
	return true;
}

static void
test_ra_open(void **state)
{
	struct conf	*conf = NULL;
	char		 dir[256];
	size_t		 runs;

	(void)state;
	sgt_instance("sg-alloc", dir, sizeof(dir), &conf, NULL);
	torture("ra_open", run_ra_open, conf, &runs);
	free(conf);
	sgt_rm_tree(dir);
}

struct blob {
	uint8_t	*der;
	size_t	 len;
};

/* p7_msg_parse: a message (maybe with an error) or nothing. */
static bool
run_msg_parse(void *arg, size_t n)
{
	const struct blob	*b = arg;
	struct p7_msg		*msg = NULL;
	struct sg_err		 err;
	enum sg_rc		 rc;

	rc = p7_msg_parse(b->der, b->len, &msg, &err);
	if (rc == SG_OK && msg == NULL) {
		print_error("p7_msg_parse: SG_OK without a message (n=%zu)\n",
		    n);
		return false;
	}
	p7_msg_free(msg);
	return true;
}

static bool
run_csr_parse(void *arg, size_t n)
{
	const struct blob	*b = arg;
	struct p7_csr		*csr = NULL;
	struct sg_err		 err;
	enum sg_rc		 rc;

	rc = p7_csr_parse(b->der, b->len, &csr, &err);
	if ((rc == SG_OK) != (csr != NULL)) {
		print_error("p7_csr_parse: %s with csr %p (n=%zu)\n",
		    sg_strerror(rc), (void *)csr, n);
		return false;
	}
	p7_csr_free(csr);
	return true;
}

static void
parser(const char *file, run_fn fn)
{
	struct blob	b;
	size_t		runs;

	b.der = read_data(file, &b.len);
	torture(file, fn, &b, &runs);
	__real_free(b.der);
}

static void
test_msg_parse(void **state)
{
	(void)state;
	parser("scep_req2.der", run_msg_parse);
	parser("req2_bad_signature.der", run_msg_parse);
}

static void
test_csr_parse(void **state)
{
	(void)state;
	parser("scep_req0.der", run_csr_parse);
}

/*
 * p7_msg_parse and p7_csr_parse decode keys without OpenSSL's decoders
 * and fall back to them when that fails (with an allocation failing,
 * say): fill the decoders' lazy tables before counting, as the clean
 * run of torture() does for the rest.
 */
static bool
warm_decoders(void)
{
	EVP_PKEY	*pk, *back = NULL;
	unsigned char	*der = NULL;
	const unsigned char *p;
	int		 n = 0;
	bool		 ok;

	if ((pk = EVP_RSA_gen(1024)) != NULL &&
	    (n = i2d_PUBKEY(pk, &der)) > 0) {
		p = der;
		back = d2i_PUBKEY(NULL, &p, n);
	}
	ok = back != NULL;
	EVP_PKEY_free(back);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return ok;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_parse),
		cmocka_unit_test(test_csr_parse),
		cmocka_unit_test(test_ra_open),
	};

	/* Before OpenSSL allocates anything. */
	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return 1;
	}
	if (!warm_decoders()) {
		fprintf(stderr, "cannot warm OpenSSL's key decoders\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
