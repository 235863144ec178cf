/* The libgcrypt floor of one enf decision: one Ed25519 verify (the
 * request's signature) and two Ed25519 signs (the signature asked for and
 * the audit record's), through enf's own key.c / sshsig.c calls.  Prints
 * decisions per second: 1 / (verify + 2 signs), each timed over N runs, by
 * the wall clock and by this process's CPU time (steadier on a shared
 * machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enf.h"
#include "crypto.h"
#include "key.h"
#include "sshsig.h"

static clockid_t which = CLOCK_MONOTONIC;

static double now(void)
{
	struct timespec t;

	clock_gettime(which, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;

	if (argc > 2 && argv[2][0] == 'c')
		which = CLOCK_PROCESS_CPUTIME_ID;
	struct privkey k;
	struct wbuf sig;
	unsigned char d[64] = { 1 };
	double t0, t_sign, t_verify;
	struct sshsig s;

	if (crypto_init() != ENF_OK || privkey_generate(&k, ALG_ED25519) != ENF_OK)
		return 3;
	wbuf_init(&sig, 0);
	t0 = now();
	for (int i = 0; i < n; i++) {
		wbuf_reset(&sig);
		d[0] = (unsigned char)i;
		privkey_sign_ssh(&k, d, sizeof d, &sig);
	}
	t_sign = (now() - t0) / n;
	wbuf_reset(&sig);
	if (sshsig_sign_digest(&k, "enf-request", HASH_SHA512, d, &sig) != ENF_OK)
		return 3;
	memset(&s, 0, sizeof s);
	size_t used;
	if (sshsig_parse_armored(&s, (const char *)sig.p, sig.len, &used) != ENF_OK)
		return 3;
	t0 = now();
	for (int i = 0; i < n; i++)
		if (sshsig_verify_digest(&s, "enf-request", &k.pub, d) != ENF_OK)
			return 3;
	t_verify = (now() - t0) / n;
	printf("sign_us %.1f verify_us %.1f floor_per_s %.1f\n", t_sign * 1e6, t_verify * 1e6,
	       1 / (t_verify + 2 * t_sign));
	return 0;
}
