/*
 * libFuzzer target for the pkiMessage decoder (STYLE.md 7): the bytes of
 * a PKIOperation POST body or GET message, straight from the network.
 *
 * Each input is tried two ways:
 *  - as a whole pkiMessage: p7_msg_parse(), then p7_msg_open() with the
 *    RA key on whatever it returned (a message whose signature fails
 *    comes back too, without an envelope), then p7_msg_free();
 *  - as a bare pkcsPKIEnvelope handed to p7_msg_open(). A mutated
 *    message almost never keeps a valid signature, so without this the
 *    EnvelopedData decoder would only ever see the seeds' envelopes.
 * The RA key is fixed (fuzz_keys.h) so that the seed envelopes, which
 * gen_seeds.c encrypted to it, decrypt and the inner paths are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"
#include "p7.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	(void)fuzz_keys();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys	*k = fuzz_keys();
	struct p7_msg		*msg = NULL;
	struct p7_msg		 env = { 0 };
	struct sg_err		 err;

	(void)p7_msg_parse(data, size, &msg, &err);
	if (msg != NULL) {
		(void)p7_type_name(msg->type);
		(void)p7_msg_open(msg, k->ra_cert, k->ra_key, &err);
		p7_msg_free(msg);
	}

	/* The same bytes as an envelope, in an exactly sized copy. */
	if (size == 0 || size > P7_MSG_MAX)
		return 0;
	if ((env.envelope = malloc(size)) == NULL)
		return 0;
	memcpy(env.envelope, data, size);
	env.envelope_len = size;
	(void)p7_msg_open(&env, k->ra_cert, k->ra_key, &err);
	free(env.envelope);
	free(env.data);
	return 0;
}
