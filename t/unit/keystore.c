/* Keystore paths the programs cannot reach one at a time: two officers
 * changing the keystore at once, role separation at the library level,
 * bulk creation that must be all or nothing, a file that changes between
 * the open and the unlock. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crypto.h"
#include "keystore.h"
#include "tap.h"

static const struct kdf_params cheap = { 1, 8192, 1 };

static struct secret pass(const char *s)
{
	struct secret p = { secure_alloc(PASSPHRASE_MAX + 1), strlen(s) };

	memcpy(p.p, s, p.n);
	return p;
}

static struct keystore *open_as(const char *home, int role, struct secret *pw)
{
	struct keystore *ks = NULL;

	if (ks_open(home, &ks) != ENF_OK || ks_unlock(ks, role, pw) != ENF_OK) {
		ks_close(ks);
		return NULL;
	}
	return ks;
}

/* The whole keystore file, or NULL. */
static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat st;
	unsigned char *p = NULL;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && fstat(fd, &st) == 0 && (p = malloc((size_t)st.st_size + 1)) &&
	    read(fd, p, (size_t)st.st_size) == st.st_size) {
		*n = (size_t)st.st_size;
	} else {
		free(p);
		p = NULL;
	}
	if (fd >= 0)
		close(fd);
	return p;
}

/* Rewrites the file's bytes in place (same inode, same size), as someone
 * with write access to the home can while enf runs. */
static int overwrite(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY);
	int rc = fd >= 0 && pwrite(fd, p, n, 0) == (ssize_t)n ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return rc;
}

/* The governance record flipped while the keystore is opened and restored
 * before the unlock: the unlock must refuse, not verify the restored bytes
 * and then decide on the flipped ones.  pattern is found in the file and
 * its byte at `at` set to `to`. */
static void flipped_while_opening(const char *home, int role, struct secret *pw,
				  const char *what, const unsigned char *pattern, size_t plen,
				  size_t at, unsigned char to)
{
	char path[96];
	unsigned char *orig, *flip, *hit;
	size_t n = 0;
	struct keystore *ks = NULL;
	int rc;

	snprintf(path, sizeof path, "%s/keystore", home);
	orig = slurp(path, &n);
	flip = orig ? malloc(n) : NULL;
	hit = flip ? memmem(orig, n, pattern, plen) : NULL;
	ok(hit != NULL, "%s: found in the file", what);
	if (!hit) {
		free(orig);
		free(flip);
		return;
	}
	memcpy(flip, orig, n);
	flip[(size_t)(hit - orig) + at] = to;
	ok(overwrite(path, flip, n) == 0 && ks_open(home, &ks) == ENF_OK, "%s: open the flipped file",
	   what);
	ok(overwrite(path, orig, n) == 0, "%s: restore the signed bytes", what);
	rc = ks ? ks_unlock(ks, role, pw) : ENF_FAIL;
	ok(rc == ENF_NO && ks_unlocked_role(ks) < 0,
	   "%s: the %s unlock refuses the state it decoded (rc %d: %s)", what, role_name(role), rc,
	   enf_errmsg());
	ks_close(ks);
	free(orig);
	free(flip);
}

int main(void)
{
	char tmpl[] = "/tmp/enf-ks-unit-XXXXXX", *dir = mkdtemp(tmpl), home[64], cmd[96];
	struct secret off = pass("officer passphrase"), op = pass("operator passphrase");
	struct ks_init_opts o = { .lockout = 5, .binding = BIND_NONE, .kdf = &cheap };
	struct keystore *ks = NULL, *a, *b;
	struct privkey priv;
	char *purpose = "release", *names[] = { "x1", "x2", "x1" };

	snprintf(home, sizeof home, "%s/h", dir);
	ok(crypto_init() == ENF_OK && ks_init(home, &o, &off, &op, &ks) == ENF_OK, "init");
	ks_close(ks);

	/* Two officers unlocked on the same state: the second change is
	 * refused rather than silently undoing the first. */
	a = open_as(home, ROLE_OFFICER, &off);
	b = open_as(home, ROLE_OFFICER, &off);
	ok(a && b, "two officer sessions");
	ok(ks_key_new(a, "k1", ALG_ED25519, &purpose, 1, NULL) == ENF_OK, "the first change lands");
	ok(ks_key_new(b, "k2", ALG_ED25519, &purpose, 1, NULL) == ENF_FAIL &&
	   strstr(enf_errmsg(), "changed by another process"),
	   "the second, based on the older state, is refused: %s", enf_errmsg());
	ks_close(a);
	ks_close(b);
	ok(ks_open(home, &ks) == ENF_OK && ks_key_count(ks) == 1 && ks_key_find(ks, "k1"),
	   "only the first change is in the keystore");
	ks_close(ks);

	/* Bulk creation is all or nothing. */
	a = open_as(home, ROLE_OFFICER, &off);
	ok(a && ks_key_new_many(a, names, 3, ALG_ED25519, &purpose, 1) == ENF_NO,
	   "a name given twice refuses the whole batch");
	ok(a && ks_key_count(a) == 1, "and creates none of it");

	/* Role separation, whatever a program would allow. */
	memset(&priv, 0, sizeof priv);
	ok(a && ks_key_private(a, "k1", &priv) == ENF_FAIL, "the officer cannot open a user key");
	ks_close(a);
	b = open_as(home, ROLE_OPERATOR, &op);
	ok(b && ks_key_new(b, "k3", ALG_ED25519, &purpose, 1, NULL) == ENF_FAIL,
	   "the operator cannot create a key");
	ok(b && ks_key_set_state(b, "k1", KS_COMPROMISED) == ENF_FAIL,
	   "the operator cannot change a key's state");
	ok(b && ks_key_private(b, "k1", &priv) == ENF_OK, "the operator opens the key");
	privkey_free(&priv);
	ks_close(b);

	/* Checked bytes are used bytes.  k1 deactivated, a policy digest of
	 * 0xaa bytes; the file read at open says k1 is active (state u32 0
	 * after name and algorithm) or names another digest. */
	{
		static const unsigned char k1_deactivated[] = { 0, 0, 0, 2, 'k', '1', 0, 0, 0, 0,
								0, 0, 0, 1 };
		unsigned char digest[32], pat[36] = { 0, 0, 0, 32 };
		const struct ks_key *k;

		memset(digest, 0xaa, sizeof digest);
		memcpy(pat + 4, digest, 32);
		a = open_as(home, ROLE_OFFICER, &off);
		ok(a && ks_key_set_state(a, "k1", KS_DEACTIVATED) == ENF_OK &&
		   ks_set_policy_digest(a, digest) == ENF_OK, "k1 deactivated, a digest recorded");
		ks_close(a);
		flipped_while_opening(home, ROLE_OPERATOR, &op, "key state", k1_deactivated,
				      sizeof k1_deactivated, 13, 0);
		flipped_while_opening(home, ROLE_OFFICER, &off, "key state", k1_deactivated,
				      sizeof k1_deactivated, 13, 0);
		flipped_while_opening(home, ROLE_OPERATOR, &op, "policy digest", pat, sizeof pat, 4,
				      0xbb);
		flipped_while_opening(home, ROLE_OFFICER, &off, "policy digest", pat, sizeof pat, 4,
				      0xbb);
		/* Nothing was signed over the flipped state: the file still
		 * verifies and says what the officer set. */
		a = open_as(home, ROLE_OFFICER, &off);
		k = a ? ks_key_find(a, "k1") : NULL;
		ok(k && k->state == KS_DEACTIVATED, "the signed state is unchanged");
		ks_close(a);
	}

	/* An officer commit writes the instance record it verified, not one
	 * edited in the file since the unlock. */
	{
		char path[96];
		const char *np = "release";
		unsigned char *all, xpub[32];
		size_t n = 0;

		snprintf(path, sizeof path, "%s/keystore", home);
		a = open_as(home, ROLE_OFFICER, &off);
		memcpy(xpub, a ? ks_x25519_pub(a) : xpub, 32);
		all = slurp(path, &n);
		unsigned char *hit = all ? memmem(all, n, xpub, 32) : NULL;
		ok(a && hit, "the instance's X25519 key is in the file");
		if (hit) {
			hit[0] ^= 1;
			ok(overwrite(path, all, n) == 0, "an edit of the instance record after the unlock");
		}
		ok(a && ks_key_new(a, "k8", ALG_ED25519, (char *const *)&np, 1, NULL) == ENF_OK,
		   "the officer commits a change");
		ks_close(a);
		ks = NULL;
		ok(ks_open(home, &ks) == ENF_OK && memcmp(ks_x25519_pub(ks), xpub, 32) == 0 &&
		   ks_key_find(ks, "k8"), "the keystore opens with the verified instance record: %s",
		   enf_errmsg());
		ks_close(ks);
		free(all);
	}

	/* The file an officer commit copies from is checked as it is opened:
	 * made group-writable after the unlock, it is refused. */
	{
		char path[96];
		const char *np = "release";

		snprintf(path, sizeof path, "%s/keystore", home);
		a = open_as(home, ROLE_OFFICER, &off);
		ok(a && chmod(path, 0620) == 0, "the keystore turns group-writable after the unlock");
		ok(a && ks_key_new(a, "k9", ALG_ED25519, (char *const *)&np, 1, NULL) == ENF_FAIL,
		   "the commit refuses it: %s", enf_errmsg());
		ks_close(a);
		ok(chmod(path, 0600) == 0 && ks_open(home, &ks) == ENF_OK && !ks_key_find(ks, "k9"),
		   "and wrote nothing");
		ks_close(ks);
	}

	/* Tokens: governed like keys; the PIN sealed so that only the
	 * operator opens it. */
	{
		struct ks_token t = { "hsm", "/usr/lib/softhsm/libsofthsm2.so", "enf-test", "abc",
				      30000 };
		struct secret pin = pass("1234"), got = { 0 };
		struct pubkey pk = { 0 };
		const unsigned char id[] = { 1, 2 };
		const char *np = "release";
		const struct ks_key *k;

		a = open_as(home, ROLE_OFFICER, &off);
		ok(a && ks_token_add(a, &t, &pin) == ENF_OK, "the officer adds a token: %s",
		   enf_errmsg());
		ok(a && ks_token_add(a, &t, &pin) == ENF_NO, "not twice under one name");
		ok(a && ks_token_pin(a, "hsm", &got) == ENF_FAIL, "the officer cannot read the PIN");
		k = a ? ks_key_find(a, "k8") : NULL;
		ok(k && pubkey_copy(&pk, &k->pub) == ENF_OK, "a public key to adopt");
		ok(a && ks_key_adopt(a, "tk", ALG_ECDSA_P256, "hsm", id, 2, &pk,
				     (char *const *)&np, 1) == ENF_USAGE &&
		   strstr(enf_errmsg(), "non-deterministic"), "ECDSA is refused with the reason");
		ok(a && ks_key_adopt(a, "tk", ALG_ED25519, "nosuch", id, 2, &pk,
				     (char *const *)&np, 1) == ENF_NO, "an unknown token is refused");
		ok(a && ks_key_adopt(a, "tk", ALG_ED25519, "hsm", id, 2, &pk, (char *const *)&np, 1) ==
			ENF_OK, "a token key is recorded: %s", enf_errmsg());
		ok(a && ks_key_adopt(a, "tk2", ALG_ED25519, "hsm", id, 2, &pk, (char *const *)&np,
				     1) == ENF_NO, "the same object twice is refused");
		ok(a && ks_token_remove(a, "hsm") == ENF_NO, "a token in use is not removed");
		ks_close(a);
		b = open_as(home, ROLE_OPERATOR, &op);
		k = b ? ks_key_find(b, "tk") : NULL;
		ok(k && strcmp(k->token, "hsm") == 0 && k->idlen == 2 && memcmp(k->id, id, 2) == 0,
		   "the back end reads back under the governance signature");
		ok(b && ks_token_find(b, "hsm") &&
		   strcmp(ks_token_find(b, "hsm")->serial, "abc") == 0, "so does the token");
		ok(b && ks_token_pin(b, "hsm", &got) == ENF_OK && got.n == 4 &&
		   memcmp(got.p, "1234", 4) == 0, "the operator opens the PIN");
		ok(b && ks_key_private(b, "tk", &priv) == ENF_FAIL, "a token key has no private record");
		secret_free(&got);
		ks_close(b);
		a = open_as(home, ROLE_OFFICER, &off);
		ok(a && ks_key_set_state(a, "tk", KS_DESTROYED) == ENF_OK &&
		   ks_token_remove(a, "hsm") == ENF_OK && !ks_token_find(a, "hsm"),
		   "once its key is destroyed, the token goes: %s", enf_errmsg());
		ks_close(a);
		b = open_as(home, ROLE_OPERATOR, &op);
		ok(b && ks_token_pin(b, "hsm", &got) == ENF_NO, "and its PIN with it");
		k = b ? ks_key_find(b, "tk") : NULL;
		ok(k && strcmp(k->token, "hsm") == 0, "the destroyed key still says where it was");
		ks_close(b);
		pubkey_free(&pk);
		secret_free(&pin);
	}

	secret_free(&off);
	secret_free(&op);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "clean up");
	return done_testing();
}
