/* A sealed file (enf-seal(5)) through open: header and chunks, as the
 * instance it names (local) and as the target of a transfer; nothing that
 * does not authenticate may reach the output.  A header that reads goes on
 * to enf-seal info's text. */
#include "fuzz.h"
#include "seal.h"
#include "fixed.h"

static struct seal_self *me;
static struct fuzz_file in_file, out_file;

static void cleanup(void)
{
	fuzz_file_remove(&in_file);
	fuzz_file_remove(&out_file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN], sk[X25519_LEN];

	(void)argc; (void)argv;
	fuzz_assert(crypto_init() == ENF_OK);
	memset(id, FUZZ_SEAL_ID, sizeof id);
	memset(root, FUZZ_SEAL_ROOT, sizeof root);
	memset(sk, FUZZ_SEAL_X25519, sizeof sk);
	fuzz_assert(seal_self_new(id, root, NULL, sk, &me) == ENF_OK);
	fuzz_file_open(&in_file, "sealed");
	fuzz_file_open(&out_file, "opened");
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Written to a file that is never committed: only its size is read. */
	struct atomic_file out = { .fd = fuzz_file_fill(&out_file, NULL, 0) };
	struct seal_header h;
	int rc;

	rc = seal_decrypt(me, fuzz_file_fill(&in_file, data, size), &out, &h);
	fuzz_assert(rc == ENF_OK || rc == ENF_NO || rc == ENF_FAIL);
	/* Authenticated output never exceeds the input's payload. */
	fuzz_assert(lseek(out.fd, 0, SEEK_END) <= (off_t)size);
	/* seal_decrypt read the header with seal_read_header, as info does
	 * (h->rawlen != 0 when it read): reading it a second time would only
	 * verify a transfer's signature again. */
	if (h.rawlen != 0) {
		struct wbuf info;

		wbuf_init(&info, 0);
		(void)seal_info_text(&h, &info);
		wbuf_free(&info);
	}
	return 0;
}
