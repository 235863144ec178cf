/* The keystore file: a hostile GDBM file through ks_open and an unlock of
 * each role with the passphrase its seed was made with ("fuzz").  The input
 * is the file's records — repeated [u16 key length][key][u16 value
 * length][value] — written into a fresh GDBM file in a private home, so
 * that mutations reach enf's record parsers rather than only libgdbm's. */
#include <gdbm.h>
#include <sys/stat.h>
#include "fuzz.h"
#include "keystore.h"
#include "lockout.h"

#define ROLE_KDF_T 24	/* offsets of t_cost and m_cost in a role record */
#define ROLE_KDF_M 28

static char home[4096], file[4200], lockout[4200];
static struct secret pass;

/* The private home and what enf put in it. */
static void cleanup(void)
{
	static const char *const names[] = { KEYSTORE_FILE, KEYSTORE_FILE ".lock", LOCKOUT_FILE };
	char p[4300];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", home, names[i]);
		unlink(p);
	}
	rmdir(home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_assert(crypto_init() == ENF_OK);
	/* In $TMPDIR: t/fuzz/run points it at its scratch directory (on tmpfs
	 * when it can: a wrong passphrase rewrites the file, with fsync). */
	snprintf(home, sizeof home, "%s/enf-fuzz-ks.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fuzz_assert(mkdtemp(home));
	snprintf(file, sizeof file, "%s/" KEYSTORE_FILE, home);
	snprintf(lockout, sizeof lockout, "%s/" LOCKOUT_FILE, home);
	pass.p = secure_alloc(8);
	fuzz_assert(pass.p);
	memcpy(pass.p, "fuzz", 4);
	pass.n = 4;
	atexit(cleanup);
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Argon2id costs are the file's to choose (bounded by keystore.c at 4 GiB
 * and 64 passes, which is not a bug): keep the fuzzer to cheap ones. */
static int cheap(const char *key, size_t klen, const unsigned char *v, size_t vlen)
{
	if (klen < 5 || memcmp(key, "role/", 5) != 0 || vlen < ROLE_KDF_M + 4)
		return 1;
	return be32(v + ROLE_KDF_T) <= 2 && be32(v + ROLE_KDF_M) <= 256;
}

/* Writes the records; 0 when the input is malformed or too costly. */
static int write_file(const uint8_t *d, size_t n)
{
	GDBM_FILE db;
	datum k, v;
	size_t off = 0, kl, vl;
	int ok = 1;

	db = gdbm_open(file, 512, GDBM_NEWDB | GDBM_NOLOCK, 0600, NULL);
	fuzz_assert(db);
	while (ok && off + 2 <= n) {
		kl = (size_t)d[off] << 8 | d[off + 1];
		if (kl == 0 || off + 2 + kl + 2 > n)
			break;
		vl = (size_t)d[off + 2 + kl] << 8 | d[off + 3 + kl];
		if (off + 4 + kl + vl > n)
			break;
		k.dptr = (char *)d + off + 2;
		k.dsize = (int)kl;
		v.dptr = (char *)d + off + 4 + kl;
		v.dsize = (int)vl;
		ok = cheap(k.dptr, kl, (const unsigned char *)v.dptr, vl) &&
			gdbm_store(db, k, v, GDBM_REPLACE) == 0;
		off += 4 + kl + vl;
	}
	gdbm_close(db);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keystore *ks;
	size_t i;
	int role;

	/* Every input starts with no failed unlock counted: the counts of
	 * earlier inputs (HOME/lockout) would lock the roles after three wrong
	 * passphrases, or name another instance, and every later input would be
	 * refused before its role record is unwrapped. */
	unlink(lockout);
	if (!write_file(data, size))
		return 0;
	for (role = ROLE_OFFICER; role <= ROLE_OPERATOR; role++) {
		if (ks_open(home, &ks) != ENF_OK)
			return 0;
		(void)ks_instance_id(ks);
		for (i = 0; i < ks_key_count(ks); i++)
			fuzz_assert(ks_key_at(ks, i) != NULL);
		if (ks_unlock(ks, role, &pass) == ENF_OK)
			fuzz_assert(ks_unlocked_role(ks) == role);
		ks_close(ks);
	}
	return 0;
}
