/* A whole audit log through enf-audit verify's checker, with every
 * signature checked and without; and through audit_head. */
#include "fuzz.h"
#include "audit.h"
#include "fixed.h"

static struct privkey id;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_assert(crypto_init() == ENF_OK);
	fuzz_identity(&id);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_opts o = { .id = &id.pub, .threads = 1 };
	struct audit_verify_result res;
	unsigned char hash[32];
	char path[64];
	uint64_t seq;
	int fd, rc;

	fd = fuzz_memfd(data, size);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	o.log = path;
	o.allow_unsigned_tail = size & 1;
	rc = audit_verify(&o, &res);
	fuzz_assert(rc == ENF_OK || rc == ENF_NO || rc == ENF_FAIL);
	if (rc == ENF_OK)
		fuzz_assert(res.bad == 0);
	o.all_signatures = 1;
	(void)audit_verify(&o, &res);
	(void)audit_head(path, &seq, hash);
	close(fd);
	return 0;
}
