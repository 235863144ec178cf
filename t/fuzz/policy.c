/* The policy parser (enf-policy(5)): any bytes; what parses is rendered
 * both ways (show, show --json), and the canonical rendering parses again
 * to the same statements. */
#include "fuzz.h"
#include "policy.h"

FUZZ_INIT_CRYPTO

static char *render(const struct policy *p, int json, size_t *n)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, n);

	fuzz_assert(f);
	fuzz_assert(policy_show(p, f, json) == ENF_OK);
	fuzz_assert(fclose(f) == 0);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL, *q = NULL;
	char *text, *json, *again;
	size_t n, m, k;

	if (policy_parse((const char *)data, size, "fuzz", NULL, &p) != ENF_OK)
		return 0;
	json = render(p, 1, &m);
	text = render(p, 0, &n);
	fuzz_assert(policy_parse(text, n, "again", NULL, &q) == ENF_OK);
	again = render(q, 0, &k);
	fuzz_assert(k == n && memcmp(text, again, n) == 0);
	free(again);
	free(text);
	free(json);
	policy_free(q);
	policy_free(p);
	return 0;
}
