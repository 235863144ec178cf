/* Keystore paths the programs cannot reach one at a time: two officers
 * changing the keystore at once, role separation at the library level,
 * bulk creation that must be all or nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

	secret_free(&off);
	secret_free(&op);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "clean up");
	return done_testing();
}
