/* The fixed identities the targets and their seeds share (tools/mkseeds.c
 * makes the seeds with the same ones), so that seeds reach the paths behind
 * a valid signature or a valid AEAD tag. */
#ifndef ENF_FUZZ_FIXED_H
#define ENF_FUZZ_FIXED_H

#include <string.h>
#include "key.h"
#include "crypto.h"

/* The instance identity (Ed25519) that signs the seeds' audit records. */
static inline void fuzz_identity(struct privkey *k)
{
	unsigned char seed[32];

	memset(seed, 0x42, sizeof seed);
	if (privkey_ed25519_from_seed(k, seed) != ENF_OK)
		abort();
}

/* The sealing instance: id, root and X25519 key of fixed bytes. */
#define FUZZ_SEAL_ID 0x11
#define FUZZ_SEAL_ROOT 0x22
#define FUZZ_SEAL_X25519 0x33
#define FUZZ_SEAL_PEER_ID 0x44

#endif
