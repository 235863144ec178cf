/* bench/audit-gen: real audit logs through libenf for bench/audit.sh.
 *   audit-gen pub                 the identity's OpenSSH line (fixed seed)
 *   audit-gen gen HOME N [EVERY]  a log of N records, every EVERY-th signed
 *                                 (default 1: all; the others are refusals,
 *                                 the only kind that may be unsigned), written in bulk through
 *                                 audit_rec_encode; the last one through
 *                                 audit_append_raw, which writes the head
 *   audit-gen append HOME N       N appends, each flock'ed and fsynced */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enf.h"
#include "audit.h"
#include "crypto.h"
#include "io.h"
#include "key.h"
#include "keyfmt.h"

static const struct audit_event EV = {
	.program = "enf-sign", .op = "sign", .outcome = "permit", .reason = "permit",
	.key = "release-2026", .identity = "ci-builder", .purpose = "release",
	.scope = "github.com/example/app@v1.2.3", .rule = "ci-release",
	.policy_id = "prod-7",
	.policy_digest = (const unsigned char *)"0123456789abcdef0123456789abcdef",
	.request_digest = (const unsigned char *)"fedcba9876543210fedcba9876543210",
};
static const struct audit_event EV_FAIL = {
	.program = "enf-sign", .op = "sign", .outcome = "fail", .reason = "bad-passphrase",
	.identity = "operator",
};

static int gen(const char *home, unsigned long n, unsigned long every,
	       const struct privkey *k, const char *fp)
{
	unsigned char prev[32];
	char *path = home_path(home, AUDIT_FILE);
	uint64_t seq;
	struct wbuf w;
	FILE *f;

	/* record 1 and the head through the real append, the bulk behind it
	 * (a log ahead of its head is what a crash after the write leaves),
	 * the last record through the real append again */
	if (audit_append_raw(home, &k->pub, k, &EV) != 1 || audit_head(path, &seq, prev) != ENF_OK ||
	    !(f = fopen(path, "a")))
		return 1;
	free(path);
	wbuf_init(&w, 0);
	for (unsigned long i = 2; i < n; i++) {
		wbuf_reset(&w);
		int sign = i % every == 0;
		if (audit_rec_encode(&w, i, (int64_t)time(NULL), fp, sign ? &EV : &EV_FAIL, prev,
				     sign ? k : NULL, prev) != ENF_OK)
			return 1;
		fwrite(w.p, 1, w.len, f);
	}
	if (fclose(f) != 0)
		return 1;
	return audit_append_raw(home, &k->pub, k, &EV) == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned char seed[32];
	struct privkey k;
	char fp[FINGERPRINT_MAX];
	struct wbuf w;

	enf_setprogname("audit-gen");
	memset(seed, 7, sizeof seed);
	if (argc < 2 || crypto_init() != ENF_OK || privkey_ed25519_from_seed(&k, seed) != ENF_OK)
		return 2;
	pubkey_fingerprint(&k.pub, fp);
	if (strcmp(argv[1], "pub") == 0) {
		wbuf_init(&w, 0);
		pubkey_to_line(&k.pub, "bench", &w);
		printf("%s\n", (char *)w.p);
		wbuf_free(&w);
		privkey_free(&k);
		return fflush(stdout) ? 1 : 0;
	}
	if (strcmp(argv[1], "gen") == 0 && argc >= 4)
		return gen(argv[2], strtoul(argv[3], NULL, 10),
			   argc > 4 ? strtoul(argv[4], NULL, 10) : 1, &k, fp);
	if (strcmp(argv[1], "append") == 0 && argc == 4) {
		unsigned long n = strtoul(argv[3], NULL, 10);
		for (unsigned long i = 0; i < n; i++)
			if (!audit_append_raw(argv[2], &k.pub, &k, &EV))
				return 1;
		return 0;
	}
	return 2;
}
