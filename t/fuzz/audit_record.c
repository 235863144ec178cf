/* One audit record (enf-audit(5)) through the strict line parser, then
 * everything a reader does with a parsed record: hash, signature, values,
 * both renderings. */
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
	struct audit_rec r;
	struct wbuf out;
	char why[256];
	int f;

	if (audit_rec_parse(&r, (const char *)data, size, why, sizeof why) != ENF_OK)
		return 0;
	fuzz_assert(r.hashed <= r.len && r.len == size);
	(void)audit_rec_hash_ok(&r);
	if (r.has_sig)
		(void)audit_rec_sig_ok(&r, &id.pub);
	wbuf_init(&out, 0);
	for (f = 0; f < AF_COUNT; f++) {
		fuzz_assert(r.v[f].off + r.v[f].len <= r.len);
		if (!audit_rec_absent(&r, f))
			(void)audit_rec_value(&r, f, &out);
		wbuf_reset(&out);
	}
	fuzz_assert(audit_rec_format_text(&r, &out) == ENF_OK);
	wbuf_reset(&out);
	fuzz_assert(audit_rec_format_json(&r, &out) == ENF_OK);
	wbuf_free(&out);
	return 0;
}
