/* Public key text: OpenSSH lines, PEM SubjectPublicKeyInfo and
 * allowed_signers files.  A key that parses must write back to a line and
 * a PEM that parse to the same key. */
#include "fuzz.h"
#include "keyfmt.h"

FUZZ_INIT_CRYPTO

static void round_trip(const struct pubkey *k)
{
	struct pubkey k2, k3;
	struct wbuf line, pem;

	wbuf_init(&line, 0);
	wbuf_init(&pem, 0);
	fuzz_assert(pubkey_to_line(k, "c", &line) == ENF_OK);
	fuzz_assert(pubkey_from_line(&k2, (const char *)line.p, NULL) == ENF_OK);
	fuzz_assert(pubkey_equal(k, &k2));
	fuzz_assert(pubkey_to_pem(k, &pem) == ENF_OK);
	fuzz_assert(pubkey_from_pem(&k3, (const char *)pem.p, pem.len) == ENF_OK);
	fuzz_assert(pubkey_equal(k, &k3));
	pubkey_free(&k2);
	pubkey_free(&k3);
	wbuf_free(&line);
	wbuf_free(&pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *comment = NULL;
	struct pubkey k, *keys = NULL;
	size_t nkeys = 0, i;

	if (!memchr(s, '\n', size) && pubkey_from_line(&k, s, &comment) == ENF_OK) {
		round_trip(&k);
		pubkey_free(&k);
		free(comment);
	}
	if (pubkey_from_text(&k, s, size) == ENF_OK) {
		round_trip(&k);
		pubkey_free(&k);
	}
	if (allowed_signers_find(s, size, "alice", "file", &keys, &nkeys) == ENF_OK) {
		for (i = 0; i < nkeys; i++)
			pubkey_free(&keys[i]);
		free(keys);
	}
	free(s);
	return 0;
}
