/* A sealed file (enf-seal(5)) through open: header and chunks, as the
 * instance it names (local) and as the target of a transfer; nothing that
 * does not authenticate may reach the output. */
#include "fuzz.h"
#include "seal.h"
#include "fixed.h"

static struct seal_self *me;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN], sk[X25519_LEN];

	(void)argc; (void)argv;
	fuzz_assert(crypto_init() == ENF_OK);
	memset(id, FUZZ_SEAL_ID, sizeof id);
	memset(root, FUZZ_SEAL_ROOT, sizeof root);
	memset(sk, FUZZ_SEAL_X25519, sizeof sk);
	fuzz_assert(seal_self_new(id, root, NULL, sk, &me) == ENF_OK);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atomic_file out = { .fd = -1 };
	struct seal_header h;
	int in = fuzz_memfd(data, size), rc;

	/* Written to a memfd that is never committed: only its size is read. */
	out.fd = memfd_create("out", MFD_CLOEXEC);
	fuzz_assert(out.fd >= 0);
	rc = seal_decrypt(me, in, &out, &h);
	fuzz_assert(rc == ENF_OK || rc == ENF_NO || rc == ENF_FAIL);
	/* Authenticated output never exceeds the input's payload. */
	fuzz_assert(lseek(out.fd, 0, SEEK_END) <= (off_t)size);
	close(out.fd);
	close(in);
	in = fuzz_memfd(data, size);
	if (seal_read_header(in, &h) == ENF_OK) {
		struct wbuf info;

		wbuf_init(&info, 0);
		(void)seal_info_text(&h, &info);
		wbuf_free(&info);
	}
	close(in);
	return 0;
}
