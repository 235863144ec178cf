/* Unit tests for lib/selftest.c: the product build passes both tiers, and
 * the table names each primitive once (the names failures print and that
 * make selftest-corrupt builds one corrupted program for). */
#include <string.h>
#include "crypto.h"
#include "enf.h"
#include "selftest.h"
#include "tap.h"

int main(void)
{
	size_t i, j, n = 0;
	int unique = 1;

	ok(crypto_init() == ENF_OK, "crypto_init runs the fast tier and passes");
	ok(selftest_run(SELFTEST_FAST) == ENF_OK, "fast tier: every known answer matches");
	ok(selftest_run(SELFTEST_SIGNING) == ENF_OK, "signing tier: every known answer matches");
	while (selftest_name(n))
		n++;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			unique = unique && strcmp(selftest_name(i), selftest_name(j)) != 0;
	ok(n == 12 && unique, "twelve primitives, each named once (%zu)", n);
	ok(selftest_run(7) == ENF_OK && selftest_name(n) == NULL, "an unknown tier tests nothing");
	return done_testing();
}
