/* Unit tests for lib/keygen_cmd.c: init refuses options that do not fit
 * before anything is written, and every officer verb leaves the audit
 * record enf-keygen always wrote (op, outcome, reason, key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tap.h"
#include "crypto.h"
#include "enf.h"
#include "io.h"
#include "keygen_cmd.h"
#include "keystore.h"

static char dir[64], home[96], offf[96], opf[96], newf[96];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

/* 1 when the home's audit log has a record containing s. */
static int logged(const char *s)
{
	char path[128];
	unsigned char *text = NULL;
	size_t n;
	int found;

	snprintf(path, sizeof path, "%s/audit.log", home);
	if (io_read_file(path, 1 << 20, &text, &n) != ENF_OK)
		return 0;
	found = memmem(text, n, s, strlen(s)) != NULL;
	free(text);
	return found;
}

static void refused(const struct keygen_init *a, const char *msg)
{
	struct stat st;

	ok(keygen_init(home, a, stdout) == ENF_USAGE && strcmp(enf_errmsg(), msg) == 0 &&
	   stat(home, &st) < 0, "init refuses, writing nothing: %s", msg);
}

static void test_init_refusals(void)
{
	refused(&(struct keygen_init){ .bind = "tmp" }, "--bind takes tpm, host or none");
	refused(&(struct keygen_init){ .tcti = "swtpm" }, "--tpm-pcrs and --tcti go with --bind tpm");
	refused(&(struct keygen_init){ .bind = "tpm", .tpm_pcrs = "24" },
		"--tpm-pcrs takes PCR numbers 0-23 separated by commas");
	refused(&(struct keygen_init){ .argon2 = "1:1024:1" },
		"--argon2 takes T:M:P (1-64 passes, 8192+ KiB, 1-16 lanes)");
}

static struct keystore *open_home(void)
{
	struct keystore *ks = NULL;

	ok(ks_open(home, &ks) == ENF_OK, "the instance opens");
	return ks;
}

static void test_new_pubkey_krl(struct keystore *ks)
{
	struct keygen_new a = { "k2", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
				"a1,b1,c1,d1,e1,f1,g1,h1,i1,j1,k1", ALG_ED25519, NULL, NULL, NULL, offf };
	char krl[128];
	struct wbuf w;
	struct stat st;

	ok(keygen_new(ks, &a, stdout) == ENF_USAGE && strcmp(enf_errmsg(), "too many purposes") == 0 &&
	   !ks_key_find(ks, "k2"), "new: too many purposes is a usage error, and no key");
	wbuf_init(&w, 0);
	ok(keygen_pubkey(ks, "k1", 0, &w) == ENF_OK && w.len > 12 &&
	   memcmp(w.p, "ssh-ed25519 ", 12) == 0 && memcmp(w.p + w.len - 4, " k1\n", 4) == 0,
	   "pubkey: the OpenSSH line and its newline");
	w.len = 0;
	ok(keygen_pubkey(ks, "k1", 1, &w) == ENF_OK && w.len > 26 &&
	   memcmp(w.p, "-----BEGIN PUBLIC KEY-----", 26) == 0, "pubkey --format pem");
	ok(keygen_pubkey(ks, "nope", 0, &w) == ENF_NO &&
	   strcmp(enf_errmsg(), "no key named 'nope'") == 0, "pubkey of a missing key: exit 1");
	wbuf_free(&w);
	snprintf(krl, sizeof krl, "%s/krl", dir);
	ok(keygen_krl(ks, krl) == ENF_OK && stat(krl, &st) == 0, "krl writes the file");
}

static void test_verbs(void)
{
	struct keygen_init a = { .lockout = 3, .bind = "none", .argon2 = "1:8192:1",
				 .offpass = offf, .oppass = opf };
	char *purposes[] = { "release" }, out[4096] = "";
	FILE *f = fmemopen(out, sizeof out, "w");
	struct keystore *ks;

	ok(keygen_init(home, &a, f) == ENF_OK, "init");
	fflush(f);
	ok(strlen(out) > 1 && out[strlen(out) - 1] == '\n', "init prints the instance id");
	ok(logged(" op=init outcome=ok reason=bind-none "), "init is recorded (bind-none)");
	if (!(ks = open_home()))
		return;
	rewind(f);
	ok(keygen_key_new(ks, "k1", ALG_ED25519, purposes, 1, "release", offf, f) == ENF_OK,
	   "new");
	fflush(f);
	ok(strncmp(out, "ssh-ed25519 ", 12) == 0 && strstr(out, " k1\n"), "new prints the key line");
	ok(logged(" op=new outcome=ok reason=created key=k1 "), "new is recorded");
	test_new_pubkey_krl(ks);
	ok(keygen_state(ks, "nope", KS_DESTROYED, offf, NULL) == ENF_NO &&
	   strcmp(enf_errmsg(), "no key named 'nope'") == 0, "state of a missing key: exit 1");
	ok(keygen_state(ks, "k1", KS_DESTROYED, offf, NULL) == ENF_OK &&
	   logged(" op=state outcome=ok reason=to-destroyed key=k1 "), "state, recorded");
	ok(keygen_passwd(ks, ROLE_OPERATOR, offf, opf, newf) == ENF_OK &&
	   logged(" op=passwd outcome=ok reason=operator "), "passwd, recorded");
	ok(keygen_reset_lockout(ks, offf) == ENF_OK &&
	   logged(" op=reset-lockout outcome=ok reason=operator "), "reset-lockout, recorded");
	ks_close(ks);
	fclose(f);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof dir, "/tmp/enf-keygen-cmd-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(home, sizeof home, "%s/h", dir);
	snprintf(offf, sizeof offf, "%s/off", dir);
	snprintf(opf, sizeof opf, "%s/op", dir);
	snprintf(newf, sizeof newf, "%s/new", dir);
	put(offf, "officer passphrase\n");
	put(opf, "operator passphrase\n");
	put(newf, "another operator passphrase\n");
	ok(crypto_init() == ENF_OK, "crypto_init");
	test_init_refusals();
	test_verbs();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "remove %s", dir);
	return done_testing();
}
