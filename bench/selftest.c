/* bench/selftest: what the start-up self-tests cost, in one fresh process per
 * measurement (the first call is the one a program pays).
 *   selftest init      crypto_init() as programs call it: libgcrypt set-up
 *                      and the fast tier of known-answer tests
 *   selftest bare      the same libgcrypt set-up without any self-test
 *   selftest signing   the signing tier, which the first secure_alloc() runs
 * Each prints microseconds. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <gcrypt.h>
#include "crypto.h"
#include "enf.h"
#include "selftest.h"

static double usec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* crypto_init()'s libgcrypt calls, nothing else. */
static int bare(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		return ENF_FAIL;
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 1u << 20, 0);
	gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 1u << 20);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return ENF_OK;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "init";
	double t0, t1;
	int rc;

	if (strcmp(m, "signing") == 0) {
		if (crypto_init() != ENF_OK)
			return 3;
		t0 = usec();
		rc = selftest_run(SELFTEST_SIGNING);
	} else {
		t0 = usec();
		rc = strcmp(m, "bare") == 0 ? bare() : crypto_init();
	}
	t1 = usec();
	if (rc != ENF_OK) {
		fprintf(stderr, "selftest: %s\n", enf_errmsg());
		return 3;
	}
	printf("%.0f\n", t1 - t0);
	return 0;
}
