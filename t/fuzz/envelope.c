/* The request envelope parser (enf-request(5)): any bytes; what parses
 * must write back to exactly the body it was parsed from, and each
 * signature must survive verification against the body. */
#include "fuzz.h"
#include "envelope.h"

FUZZ_INIT_CRYPTO

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e;
	struct wbuf body;
	char why[256];
	size_t i;

	if (envelope_parse(&e, (const char *)data, size, 1, why, sizeof why) != ENF_OK)
		return 0;
	wbuf_init(&body, 0);
	fuzz_assert(envelope_write_body(&e, &body) == ENF_OK);
	fuzz_assert(body.len == e.bodylen && memcmp(body.p, e.body, body.len) == 0);
	wbuf_free(&body);
	if (e.has_signature)
		(void)sshsig_verify(&e.requester, NS_REQUEST, NULL, e.body, e.bodylen);
	for (i = 0; i < e.napprovals; i++)
		(void)sshsig_verify(&e.approvals[i], NS_APPROVE, NULL, e.body, e.bodylen);
	envelope_free(&e);
	return 0;
}
