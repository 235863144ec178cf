/* What fuzzing found (t/fuzz/), one test each, so that a fix cannot be lost
 * in a normal build either: parsers take (pointer, length), and every input
 * here is placed against an unmapped page, so reading one byte past it
 * crashes this test without any sanitizer.  The same inputs are in
 * t/fuzz/corpus/ as regression seeds. */
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "crypto.h"
#include "enf.h"
#include "envelope.h"
#include "keystore.h"
#include "fuzzfound-ks.h"
#include "tap.h"

/* n bytes of p copied to end exactly where an inaccessible page begins. */
static const char *at_page_end(const void *p, size_t n)
{
	static char *map;
	long page = sysconf(_SC_PAGESIZE);

	if (!map) {
		map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED || mprotect(map + page, (size_t)page, PROT_NONE) < 0)
			return NULL;
	}
	memcpy(map + page - n, p, n);
	return map + page - n;
}

/* crash-3bc15c8a: a request of one "-" made envelope_parse compare five
 * bytes ("-----") with strncmp, past the end of the text. */
static void test_envelope_short_dash(void)
{
	static const char *inputs[] = { "-", "--", "----", "enf-request 1\n-", "enf-request 1\n----" };
	struct envelope e;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		const char *t = at_page_end(inputs[i], strlen(inputs[i]));

		ok(t && envelope_parse(&e, t, strlen(inputs[i]), 1, why, sizeof why) == ENF_NO,
		   "envelope: %zu-byte input ending in '-' at a page end is refused (%s)",
		   strlen(inputs[i]), why);
	}
}

/* A keystore file from t/fuzz/keystore.c's input format in a fresh home. */
static int make_home(char *home, const unsigned char *d, size_t n)
{
	char path[4200];
	GDBM_FILE db;
	datum k, v;
	size_t off = 0, kl, vl;

	snprintf(home, 4096, "%s/enf-fuzzfound.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(home))
		return -1;
	snprintf(path, sizeof path, "%s/" KEYSTORE_FILE, home);
	if (!(db = gdbm_open(path, 512, GDBM_NEWDB | GDBM_NOLOCK, 0600, NULL)))
		return -1;
	while (off + 4 <= n) {
		kl = (size_t)d[off] << 8 | d[off + 1];
		vl = (size_t)d[off + 2 + kl] << 8 | d[off + 3 + kl];
		k.dptr = (char *)d + off + 2;
		k.dsize = (int)kl;
		v.dptr = (char *)d + off + 4 + kl;
		v.dsize = (int)vl;
		gdbm_store(db, k, v, GDBM_REPLACE);
		off += 4 + kl + vl;
	}
	gdbm_close(db);
	return 0;
}

static void remove_home(const char *home)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/" KEYSTORE_FILE, home);
	unlink(path);
	rmdir(home);
}

/* leak-16aa0014: a governance record whose keys are out of order was
 * refused, but the key decoded last was not freed (make sanitize's leak
 * check fails on this test without the fix in keystore.c gov_decode). */
static void test_keystore_unsorted_keys(void)
{
	char home[4096];
	struct keystore *ks = NULL;

	ok(make_home(home, ks_unsorted, ks_unsorted_len) == 0, "keystore: hostile file written");
	ok(ks_open(home, &ks) == ENF_FAIL && ks == NULL,
	   "keystore: keys out of order in the governance record are refused (%s)", enf_errmsg());
	remove_home(home);
}

int main(void)
{
	if (crypto_init() != ENF_OK)
		return 3;
	test_envelope_short_dash();
	test_keystore_unsorted_keys();
	return done_testing();
}
