/* Unit tests for lib/verify.c: what enf-verify decides, without the
 * program: which key, which purpose, which data, and one message per
 * refusal ("invalid signature[: why]"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "crypto.h"
#include "enf.h"
#include "keyfmt.h"
#include "sshsig.h"
#include "verify.h"

static char dir[] = "/tmp/enf-verify-XXXXXX";
static char path_data[64], path_other[64], path_ed[64], path_p256[64], path_bad[64],
	    path_signers[64], path_sig[64];
static const char data[] = "release 1.2.3\n";

static void put(char *path, const char *name, const void *p, size_t n)
{
	FILE *f;

	snprintf(path, 64, "%s/%s", dir, name);
	if ((f = fopen(path, "w"))) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static void put_pub(char *path, const char *name, const struct pubkey *k)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	pubkey_to_line(k, name, &w);
	wbuf_put(&w, "\n", 1);
	put(path, name, w.p, w.len);
	wbuf_free(&w);
}

static int msg_is(const char *want) { return strcmp(enf_errmsg(), want) == 0; }

static struct data_ref file_ref(const char *path)
{
	struct data_ref d = { .path = path, .digest_alg = -1 };

	return d;
}

static void test_data_ref(void)
{
	struct data_ref d = file_ref(NULL);
	unsigned char out[HASH_MAX], want[HASH_MAX];
	int alg = -1;

	ok(data_ref_hash(&d, -1, HASH_SHA256, &alg) == ENF_OK && alg == HASH_SHA256,
	   "no -a, no digest: the default hash");
	ok(data_ref_hash(&d, HASH_SHA384, HASH_SHA256, &alg) == ENF_OK && alg == HASH_SHA384,
	   "-a picks the hash");
	d.digest_alg = HASH_SHA512;
	ok(data_ref_hash(&d, -1, HASH_SHA256, &alg) == ENF_OK && alg == HASH_SHA512,
	   "a digest names its hash");
	ok(data_ref_hash(&d, HASH_SHA256, HASH_SHA256, &alg) == ENF_USAGE &&
	   msg_is("-a and --digest name different hashes"), "-a and --digest must agree");
	d.path = "-";
	ok(data_ref_hash(&d, -1, HASH_SHA256, &alg) == ENF_USAGE &&
	   msg_is("--digest and a data file exclude each other"), "a digest and a file exclude each other");

	d = file_ref(path_data);
	hash_buf(HASH_SHA512, data, strlen(data), want);
	ok(data_ref_digest(&d, HASH_SHA512, out) == ENF_OK && memcmp(out, want, 64) == 0,
	   "the file's digest, streamed");
	d.digest_alg = HASH_SHA256;
	ok(data_ref_digest(&d, HASH_SHA512, out) == ENF_NO &&
	   msg_is("the signature uses sha512, --digest gives sha256"), "a digest of another hash is no");
}

static void test_keys(void)
{
	struct verify_keys ks;
	char want[256];

	ok(verify_keys_from_file(&ks, path_ed) == ENF_OK && ks.n == 1 && ks.named, "-k: one key");
	verify_keys_free(&ks);
	snprintf(want, sizeof want, "%s: public key: not an OpenSSH public key line", path_bad);
	ok(verify_keys_from_file(&ks, path_bad) == ENF_FAIL && msg_is(want),
	   "a file that is not a key: its path once, then why");
	verify_keys_free(&ks);
	ok(verify_keys_from_signers(&ks, path_signers, "ci", "release") == ENF_OK && ks.n == 1 &&
	   !ks.named, "-A -I: the principal's key for the namespace");
	verify_keys_free(&ks);
	ok(verify_keys_from_signers(&ks, path_signers, "ci", "nightly") == ENF_NO,
	   "-A -I: none for another namespace");
	verify_keys_free(&ks);
}

static void test_sshsig(const char *sig, size_t n)
{
	struct verify_keys ed, p256;
	struct verify_result res;
	struct data_ref d = file_ref(path_data), other = file_ref(path_other);
	char fp[FINGERPRINT_MAX], *more = malloc(n + 9);

	verify_keys_from_file(&ed, path_ed);
	verify_keys_from_file(&p256, path_p256);
	pubkey_fingerprint(&ed.k[0], fp);
	ok(verify_sshsig_text(&ed, "release", sig, n, &d, &res) == ENF_OK &&
	   strcmp(res.fingerprint, fp) == 0 && strcmp(res.key_type, "ssh-ed25519") == 0 &&
	   res.hash_alg == HASH_SHA512, "a good SSHSIG, and who made it");
	ok(verify_sshsig_text(&ed, "nightly", sig, n, &d, &res) == ENF_NO &&
	   msg_is("invalid signature: signature is for another purpose"), "another purpose");
	ok(verify_sshsig_text(&p256, "release", sig, n, &d, &res) == ENF_NO &&
	   msg_is("invalid signature: signature is by another key"), "another key");
	ok(verify_sshsig_text(&ed, "release", sig, n, &other, &res) == ENF_NO &&
	   msg_is("invalid signature"), "other data: the signature itself, no more said");
	memcpy(more, sig, n);
	memcpy(more + n, "trailing", 8);
	ok(verify_sshsig_text(&ed, "release", more, n + 8, &d, &res) == ENF_NO &&
	   msg_is("invalid signature: signature: text after the SSH SIGNATURE block"),
	   "text after the block");
	ok(verify_sshsig_text(&ed, "release", sig, n / 2, &d, &res) == ENF_NO &&
	   strncmp(enf_errmsg(), "invalid signature: ", 19) == 0, "a truncated block");
	d.digest_alg = HASH_SHA256;
	d.path = NULL;
	ok(verify_sshsig_text(&ed, "release", sig, n, &d, &res) == ENF_NO &&
	   msg_is("invalid signature: the signature uses sha512, --digest gives sha256"),
	   "a digest of another hash");
	free(more);
	verify_keys_free(&ed);
	verify_keys_free(&p256);
}

static void test_raw(const struct privkey *p256)
{
	struct verify_keys ks, ed;
	struct verify_result res;
	struct data_ref d = file_ref(path_data);
	unsigned char digest[HASH_MAX];
	struct wbuf sig;

	wbuf_init(&sig, 0);
	hash_buf(HASH_SHA256, data, strlen(data), digest);
	privkey_sign_raw(p256, HASH_SHA256, digest, &sig);
	verify_keys_from_file(&ks, path_p256);
	verify_keys_from_file(&ed, path_ed);
	ok(verify_raw_sig(&ks, HASH_SHA256, sig.p, sig.len, &d, &res) == ENF_OK &&
	   res.hash_alg == HASH_SHA256 && strcmp(res.key_type, "ecdsa-sha2-nistp256") == 0,
	   "a good raw ECDSA signature");
	ok(verify_raw_sig(&ks, HASH_SHA512, sig.p, sig.len, &d, &res) == ENF_NO &&
	   msg_is("invalid signature"), "under another hash it is invalid");
	ok(verify_raw_sig(&ed, HASH_SHA256, sig.p, sig.len, &d, &res) == ENF_USAGE,
	   "a named Ed25519 key is a usage error");
	verify_keys_free(&ks);
	verify_keys_free(&ed);
	wbuf_free(&sig);
}

static void test_request(void)
{
	struct verify_result res;
	struct verify_req r = { .purpose = "release", .signers = path_signers, .principal = "ci",
				.sigfile = path_sig, .data = file_ref(path_data) };

	ok(verify_request(&r, &res) == ENF_OK, "keys, signature and data from their files");
	r.principal = "nobody";
	ok(verify_request(&r, &res) == ENF_NO &&
	   strncmp(enf_errmsg(), "invalid signature: no key for \"nobody\"", 38) == 0,
	   "no key for the principal is an invalid signature, said why");
	r.principal = "ci";
	r.sigfile = path_data;
	ok(verify_request(&r, &res) == ENF_NO, "a file that is no signature");
}

int main(void)
{
	struct privkey ed, p256;
	unsigned char digest[HASH_MAX];
	struct wbuf sig, line;

	ok(crypto_init() == ENF_OK && mkdtemp(dir) != NULL, "setup");
	ok(privkey_generate(&ed, ALG_ED25519) == ENF_OK &&
	   privkey_generate(&p256, ALG_ECDSA_P256) == ENF_OK, "keys");
	put(path_data, "data", data, strlen(data));
	put(path_other, "other", "release 1.2.4\n", 14);
	put_pub(path_ed, "ed.pub", &ed.pub);
	put_pub(path_p256, "p256.pub", &p256.pub);
	put(path_bad, "bad.pub", "ssh-ed25519 AAAAnotbase64\n", 26);
	wbuf_init(&line, 0);
	wbuf_printf(&line, "ci namespaces=\"release\" ");
	pubkey_to_line(&ed.pub, NULL, &line);
	wbuf_put(&line, "\n", 1);
	put(path_signers, "allowed", line.p, line.len);
	wbuf_free(&line);
	hash_buf(HASH_SHA512, data, strlen(data), digest);
	wbuf_init(&sig, 0);
	ok(sshsig_sign_digest(&ed, "release", HASH_SHA512, digest, &sig) == ENF_OK, "an SSHSIG");
	put(path_sig, "data.sig", sig.p, sig.len);

	test_data_ref();
	test_keys();
	test_sshsig((const char *)sig.p, sig.len);
	test_raw(&p256);
	test_request();

	wbuf_free(&sig);
	privkey_free(&ed);
	privkey_free(&p256);
	{
		const char *const all[] = { path_data, path_other, path_ed, path_p256, path_bad,
					    path_signers, path_sig };
		for (size_t i = 0; i < sizeof all / sizeof *all; i++)
			unlink(all[i]);
	}
	rmdir(dir);
	return done_testing();
}
