/* A whole audit log through enf-audit verify's checker, with every
 * signature checked and without; and through audit_head. */
#include "fuzz.h"
#include "audit.h"
#include "fixed.h"

static struct privkey id;
static struct fuzz_file log_file;

static void cleanup(void)
{
	fuzz_file_remove(&log_file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_assert(crypto_init() == ENF_OK);
	fuzz_identity(&id);
	fuzz_file_open(&log_file, "audit.log");
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_opts o = { .id = &id.pub, .threads = 1, .log = log_file.path };
	struct audit_verify_result res;
	unsigned char hash[32];
	uint64_t seq;
	int rc;

	fuzz_file_fill(&log_file, data, size);
	o.allow_unsigned_tail = size & 1;
	rc = audit_verify(&o, &res);
	fuzz_assert(rc == ENF_OK || rc == ENF_NO || rc == ENF_FAIL);
	if (rc == ENF_OK)
		fuzz_assert(res.bad == 0);
	o.all_signatures = 1;
	(void)audit_verify(&o, &res);
	(void)audit_head(log_file.path, &seq, hash);
	return 0;
}
