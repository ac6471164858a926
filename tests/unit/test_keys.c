/*
 * ra_keys.c's secret-keyed primitives, called directly (ra_int.h):
 * sealing of stored CSRs (AES-256-GCM, IV || ciphertext || tag) and the
 * access-code HMAC. Only the key fields of struct ra_keys are set; no
 * instance is needed.
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

#include "ra_int.h"
#include "sg.h"

#define IV	12		/* the sealed layout, ra_keys.c */
#define TAG	16

enum change {
	C_NONE,
	C_IV,		/* one bit of the IV flipped */
	C_DATA,		/* one bit of the ciphertext flipped */
	C_TAG,		/* one bit of the tag flipped */
	C_SHORT,	/* the last byte cut off */
	C_LONG,		/* one byte appended */
	C_TINY,		/* only IV and tag length minus one byte */
	C_KEY,		/* opened under another seal key */
};

static const struct seal_case {
	const char	*name;
	size_t		 len;		/* of the plaintext */
	enum change	 change;
	enum sg_rc	 rc;		/* of ra_keys_unseal */
} seal_cases[] = {
	{ "empty", 0, C_NONE, SG_OK },
	{ "one byte", 1, C_NONE, SG_OK },
	{ "a CSR's size", 1200, C_NONE, SG_OK },
	{ "IV changed", 64, C_IV, SG_EPARSE },
	{ "ciphertext changed", 64, C_DATA, SG_EPARSE },
	{ "tag changed", 64, C_TAG, SG_EPARSE },
	{ "tag of empty changed", 0, C_TAG, SG_EPARSE },
	{ "truncated", 64, C_SHORT, SG_EPARSE },
	{ "byte appended", 64, C_LONG, SG_EPARSE },
	{ "shorter than IV and tag", 0, C_TINY, SG_EPARSE },
	{ "another key", 64, C_KEY, SG_EPARSE },
};

static void
set_key(struct ra_keys *k, uint8_t fill)
{
	memset(k, 0, sizeof(*k));
	memset(k->seal_key, fill, sizeof(k->seal_key));
}

/* Apply "c" to the sealed bytes; the new length. */
static size_t
change(uint8_t *buf, size_t len, enum change c)
{
	switch (c) {
	case C_IV:
		buf[0] ^= 0x01;
		break;
	case C_DATA:
		buf[IV] ^= 0x80;
		break;
	case C_TAG:
		buf[len - 1] ^= 0x01;
		break;
	case C_SHORT:
		return len - 1;
	case C_LONG:
		buf[len] = 0;
		return len + 1;
	case C_TINY:
		return IV + TAG - 1;
	case C_NONE:
	case C_KEY:
		break;
	}
	return len;
}

static void
test_seal_table(void **state)
{
	const struct seal_case	*c;
	static struct ra_keys	 k, other;
	uint8_t			*plain, *sealed, *buf, *out;
	size_t			 i, j, slen, olen, len;
	enum sg_rc		 rc;

	(void)state;
	set_key(&k, 0x11);
	set_key(&other, 0x22);
	for (i = 0; i < sizeof(seal_cases) / sizeof(seal_cases[0]); i++) {
		c = &seal_cases[i];
		plain = malloc(c->len + 1);
		assert_non_null(plain);
		for (j = 0; j < c->len; j++)
			plain[j] = (uint8_t)(j * 7 + 3);
		sealed = NULL;
		slen = 0;
		assert_int_equal(ra_keys_seal(&k, plain, c->len, &sealed,
		    &slen), SG_OK);
		assert_int_equal(slen, IV + c->len + TAG);
		/* The plaintext does not show through. */
		if (c->len >= 16 && memmem(sealed, slen, plain, 16) != NULL)
			fail_msg("%s: plaintext in the sealed bytes", c->name);
		buf = malloc(slen + 1);
		assert_non_null(buf);
		memcpy(buf, sealed, slen);
		len = change(buf, slen, c->change);
		out = NULL;
		olen = 12345;
		rc = ra_keys_unseal(c->change == C_KEY ? &other : &k, buf, len,
		    &out, &olen);
		if (rc != c->rc)
			fail_msg("%s: unseal %s, expected %s", c->name,
			    sg_strerror(rc), sg_strerror(c->rc));
		if (rc == SG_OK) {
			assert_int_equal(olen, c->len);
			if (c->len > 0)
				assert_memory_equal(out, plain, c->len);
		} else {
			/* Nothing handed out on failure. */
			assert_null(out);
			assert_int_equal(olen, 12345);
		}
		free(out);
		free(buf);
		free(sealed);
		free(plain);
	}
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(&other, sizeof(other));
}

/* A fresh IV each time: the same plaintext never seals the same. */
static void
test_seal_fresh_iv(void **state)
{
	static struct ra_keys	 k;
	static const uint8_t	 msg[] = "the same CSR twice";
	uint8_t			*a = NULL, *b = NULL;
	size_t			 alen = 0, blen = 0;

	(void)state;
	set_key(&k, 0x33);
	assert_int_equal(ra_keys_seal(&k, msg, sizeof(msg), &a, &alen), SG_OK);
	assert_int_equal(ra_keys_seal(&k, msg, sizeof(msg), &b, &blen), SG_OK);
	assert_int_equal(alen, blen);
	assert_memory_not_equal(a, b, IV);
	assert_memory_not_equal(a + IV, b + IV, alen - IV);
	free(a);
	free(b);
	OPENSSL_cleanse(&k, sizeof(k));
}

static const struct hmac_case {
	const char	*name;
	const char	*secret;
	const char	*code;
	const char	*hex;		/* NULL: compared only */
} hmac_cases[] = {
	/* RFC 4231 has no short-key case; this is the well-known one. */
	{ "known answer", "key",
	    "The quick brown fox jumps over the lazy dog",
	    "F7BC83F430538424B13298E6AA6FB143"
	    "EF4D59A14946175997479DBC2D1A3CD8" },
	{ "code A", "server secret 0123456789", "AccessCode0001", NULL },
	{ "code B", "server secret 0123456789", "AccessCode0002", NULL },
	{ "code A, other secret", "server secret 0123456780",
	    "AccessCode0001", NULL },
};

#define NHMAC	(sizeof(hmac_cases) / sizeof(hmac_cases[0]))

static void
hmac_of(const struct hmac_case *c, uint8_t out[32])
{
	static struct ra_keys	k;

	memset(&k, 0, sizeof(k));
	k.secret_len = strlen(c->secret);
	memcpy(k.secret, c->secret, k.secret_len);
	assert_int_equal(ra_keys_code_hmac(&k, c->code, out), SG_OK);
	OPENSSL_cleanse(&k, sizeof(k));
}

/* Keyed and deterministic: equal only for the same secret and code. */
static void
test_code_hmac(void **state)
{
	uint8_t	mac[NHMAC][32], again[32];
	char	hex[65];
	size_t	i, j, n = NHMAC;

	(void)state;
	for (i = 0; i < n; i++) {
		hmac_of(&hmac_cases[i], mac[i]);
		hmac_of(&hmac_cases[i], again);
		assert_memory_equal(mac[i], again, 32);
		if (hmac_cases[i].hex == NULL)
			continue;
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02X", mac[i][j]);
		assert_string_equal(hex, hmac_cases[i].hex);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (memcmp(mac[i], mac[j], 32) == 0)
				fail_msg("%s and %s: the same HMAC",
				    hmac_cases[i].name, hmac_cases[j].name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_table),
		cmocka_unit_test(test_seal_fresh_iv),
		cmocka_unit_test(test_code_hmac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
