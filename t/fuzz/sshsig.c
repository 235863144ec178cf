/* SSHSIG (PROTOCOL.sshsig): armored and bare blobs through the parser, and
 * what parses through verification over a fixed message, under the key it
 * names — so hostile keys and signature blobs reach every verifier. */
#include "fuzz.h"
#include "sshsig.h"

FUZZ_INIT_CRYPTO

static void verify(const struct sshsig *s)
{
	static const char msg[] = "enf fuzz message\n";

	(void)sshsig_verify(s, s->ns, NULL, msg, sizeof msg - 1);
	(void)sshsig_verify(s, "file", &s->key, msg, sizeof msg - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshsig s;
	size_t used = 0;

	if (sshsig_parse_armored(&s, (const char *)data, size, &used) == ENF_OK) {
		fuzz_assert(used <= size);
		verify(&s);
		sshsig_free(&s);
	}
	if (sshsig_parse_blob(&s, data, size) == ENF_OK) {
		verify(&s);
		sshsig_free(&s);
	}
	return 0;
}
