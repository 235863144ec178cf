/* sshsig.c: our signatures verify with ssh-keygen -Y verify, ssh-keygen's
 * Ed25519 signature is byte-identical to ours for the same key, and the
 * parser refuses every deviation from PROTOCOL.sshsig. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "io.h"
#include "keyfmt.h"
#include "sshsig.h"

static char dir[] = "/tmp/enf-sshsig-XXXXXX";
static const char msg[] = "release 1.2.3\n";

static void put_file(const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024], a[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a, sizeof a, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "cd %s && %s >/dev/null 2>&1", dir, a);
	return system(cmd);
}

static int sign(const struct privkey *k, const char *ns, int alg, struct wbuf *out)
{
	unsigned char h[HASH_MAX];

	hash_buf(alg, msg, strlen(msg), h);
	return sshsig_sign_digest(k, ns, alg, h, out);
}

static void test_interop(int alg)
{
	struct privkey k;
	struct wbuf sig, sig2, line;
	struct sshsig s;
	size_t used;
	const char *an = alg_name(alg);

	if (privkey_generate(&k, alg) != ENF_OK) {
		ok(0, "%s: generate", an);
		return;
	}
	wbuf_init(&sig, 0);
	wbuf_init(&sig2, 0);
	wbuf_init(&line, 0);
	ok(sign(&k, "release", HASH_SHA512, &sig) == ENF_OK, "%s: sshsig_sign_digest", an);
	sign(&k, "release", HASH_SHA512, &sig2);
	ok(sig.len == sig2.len && memcmp(sig.p, sig2.p, sig.len) == 0, "%s: signing is deterministic", an);
	ok(sshsig_parse_armored(&s, (char *)sig.p, sig.len, &used) == ENF_OK && used == sig.len,
	   "%s: our signature parses", an);
	ok(sshsig_verify(&s, "release", &k.pub, msg, strlen(msg)) == ENF_OK, "%s: and verifies", an);
	ok(sshsig_verify(&s, "releasf", NULL, msg, strlen(msg)) == ENF_NO,
	   "%s: not for another namespace", an);
	ok(sshsig_verify(&s, "release", NULL, "release 1.2.4\n", strlen(msg)) == ENF_NO,
	   "%s: not over other data", an);
	s.sig[s.siglen - 3] ^= 0x20;
	ok(sshsig_verify(&s, "release", NULL, msg, strlen(msg)) == ENF_NO,
	   "%s: not with a flipped signature bit", an);
	sshsig_free(&s);

	pubkey_to_line(&k.pub, NULL, &line);
	put_file("msg", msg, strlen(msg));
	put_file("sig", sig.p, sig.len);
	put_file("signers", "ci@example ", 11);
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof path, "%s/signers", dir);
		f = fopen(path, "a");
		fprintf(f, "%s\n", (char *)line.p);
		fclose(f);
	}
	ok(sh("ssh-keygen -Y verify -n release -f signers -I ci@example -s sig < msg%s", "") == 0,
	   "%s: ssh-keygen -Y verify accepts our signature", an);
	ok(sh("ssh-keygen -Y verify -n releasf -f signers -I ci@example -s sig < msg%s", "") != 0,
	   "%s: ssh-keygen refuses it for another namespace", an);
	wbuf_reset(&sig);
	sign(&k, "release", HASH_SHA256, &sig);
	put_file("sig", sig.p, sig.len);
	ok(sh("ssh-keygen -Y verify -n release -f signers -I ci@example -s sig < msg%s", "") == 0,
	   "%s: and our sha256 signature", an);
	wbuf_free(&sig);
	wbuf_free(&sig2);
	wbuf_free(&line);
	privkey_free(&k);
}

/* The Ed25519 seed of an unencrypted OpenSSH private key file. */
static int openssh_seed(const char *text, size_t n, unsigned char seed[32])
{
	static const char magic[] = "openssh-key-v1";
	struct wbuf b;
	struct rbuf r;
	const unsigned char *m, *pub, *priv, *sk;
	size_t used, publen, privlen;
	uint32_t nkeys, c1, c2;
	int rc = -1;

	wbuf_init(&b, 1);
	if (armor_decode(&b, "OPENSSH PRIVATE KEY", text, n, &used) != ENF_OK)
		goto out;
	rbuf_init(&r, b.p, b.len);
	if (rbuf_bytes(&r, sizeof magic, &m) < 0 || memcmp(m, magic, sizeof magic) != 0 ||
	    rbuf_expect_cstring(&r, "none") < 0 || rbuf_expect_cstring(&r, "none") < 0 ||
	    rbuf_expect_cstring(&r, "") < 0 || rbuf_u32(&r, &nkeys) < 0 || nkeys != 1 ||
	    rbuf_string(&r, &pub, &publen) < 0 || rbuf_string(&r, &priv, &privlen) < 0)
		goto out;
	rbuf_init(&r, priv, privlen);
	if (rbuf_u32(&r, &c1) < 0 || rbuf_u32(&r, &c2) < 0 || c1 != c2 ||
	    rbuf_expect_cstring(&r, "ssh-ed25519") < 0 || rbuf_fixed_string(&r, 32, &m) < 0 ||
	    rbuf_fixed_string(&r, 64, &sk) < 0)
		goto out;
	memcpy(seed, sk, 32);
	rc = 0;
out:
	wbuf_free(&b);
	return rc;
}

static void test_byte_identical(void)
{
	unsigned char *text = NULL, *theirs = NULL, seed[32];
	size_t n, tn;
	char path[256];
	struct privkey k;
	struct wbuf ours;
	int got;

	ok(sh("ssh-keygen -q -t ed25519 -N '' -C '' -f key%s", "") == 0 &&
	   sh("ssh-keygen -q -Y sign -n release -f key msg%s", "") == 0, "ssh-keygen made a key and a signature");
	snprintf(path, sizeof path, "%s/key", dir);
	got = io_read_file(path, 65536, &text, &n) == ENF_OK && openssh_seed((char *)text, n, seed) == 0;
	ok(got, "read the key's Ed25519 seed");
	if (!got)
		goto out;
	snprintf(path, sizeof path, "%s/msg.sig", dir);
	ok(io_read_file(path, 65536, &theirs, &tn) == ENF_OK, "read ssh-keygen's signature");
	ok(privkey_ed25519_from_seed(&k, seed) == ENF_OK, "the same key in enf");
	wbuf_init(&ours, 0);
	sign(&k, "release", HASH_SHA512, &ours);
	ok(theirs && ours.len == tn && memcmp(ours.p, theirs, tn) == 0,
	   "our SSHSIG is byte-identical to ssh-keygen -Y sign's");
	wbuf_free(&ours);
	privkey_free(&k);
out:
	wipe(seed, sizeof seed);
	free(text);
	free(theirs);
}

/* SSHSIG blob of the given parts, for the strictness cases. */
struct parts {
	uint32_t version;
	const char *ns, *reserved, *hash, *sigalg;
	int trailing;
};

static int parse_parts(const struct privkey *k, const struct parts *p)
{
	struct wbuf data, sig, blob;
	struct rbuf r;
	const unsigned char *a, *b;
	size_t al, bl;
	struct sshsig s;
	int rc;

	wbuf_init(&data, 0);
	wbuf_init(&sig, 0);
	wbuf_init(&blob, 0);
	wbuf_cstring(&data, "anything");
	privkey_sign_ssh(k, data.p, data.len, &sig);
	rbuf_init(&r, sig.p, sig.len);
	rbuf_string(&r, &a, &al);
	rbuf_string(&r, &b, &bl);
	wbuf_put(&blob, "SSHSIG", 6);
	wbuf_u32(&blob, p->version);
	wbuf_string(&blob, k->pub.blob, k->pub.bloblen);
	wbuf_cstring(&blob, p->ns);
	wbuf_cstring(&blob, p->reserved);
	wbuf_cstring(&blob, p->hash);
	wbuf_reset(&data);
	if (p->sigalg)
		wbuf_cstring(&data, p->sigalg);
	else
		wbuf_string(&data, a, al);
	wbuf_string(&data, b, bl);
	wbuf_string(&blob, data.p, data.len);
	if (p->trailing)
		wbuf_u8(&blob, 0);
	rc = sshsig_parse_blob(&s, blob.p, blob.len);
	if (rc == ENF_OK)
		sshsig_free(&s);
	wbuf_free(&data);
	wbuf_free(&sig);
	wbuf_free(&blob);
	return rc;
}

static void test_strict(void)
{
	struct privkey ed, rsa;
	const struct parts good = { 1, "release", "", "sha512", NULL, 0 };
	struct parts p;

	if (privkey_generate(&ed, ALG_ED25519) != ENF_OK || privkey_generate(&rsa, ALG_RSA3072) != ENF_OK) {
		ok(0, "generate keys");
		return;
	}
	ok(parse_parts(&ed, &good) == ENF_OK, "a well-formed blob parses");
	p = good, p.version = 2;
	ok(parse_parts(&ed, &p) == ENF_NO, "version 2 is refused");
	p = good, p.reserved = "x";
	ok(parse_parts(&ed, &p) == ENF_NO, "a non-empty reserved field is refused");
	p = good, p.hash = "sha384";
	ok(parse_parts(&ed, &p) == ENF_NO, "hash sha384 is refused (sha256 and sha512 only)");
	p = good, p.hash = "sha1";
	ok(parse_parts(&ed, &p) == ENF_NO, "hash sha1 is refused");
	p = good, p.ns = "";
	ok(parse_parts(&ed, &p) == ENF_NO, "an empty namespace is refused");
	p = good, p.trailing = 1;
	ok(parse_parts(&ed, &p) == ENF_NO, "trailing bytes are refused");
	p = good, p.sigalg = "ecdsa-sha2-nistp256";
	ok(parse_parts(&ed, &p) == ENF_NO, "a signature algorithm of another key type is refused");
	p = good;
	ok(parse_parts(&rsa, &p) == ENF_OK, "RSA as rsa-sha2-512 parses");
	p.sigalg = "rsa-sha2-256";
	ok(parse_parts(&rsa, &p) == ENF_OK, "RSA as rsa-sha2-256 parses");
	p.sigalg = "ssh-rsa";
	ok(parse_parts(&rsa, &p) == ENF_NO, "RSA as ssh-rsa (SHA-1) is refused");
	privkey_free(&ed);
	privkey_free(&rsa);
}

static void test_their_signatures(void)
{
	unsigned char *sig = NULL, *pub = NULL;
	size_t n, pn;
	char path[256];
	struct sshsig s;
	struct pubkey k;
	size_t used;
	const char *types[] = { "ed25519", "ecdsa -b 256", "ecdsa -b 384", "rsa -b 3072" };

	for (int i = 0; i < 4; i++) {
		int good;

		sh("rm -f k k.pub msg.sig && ssh-keygen -q -N '' -f k -t %s", types[i]);
		sh("ssh-keygen -q -Y sign -n release -O hashalg=sha256 -f k msg%s", "");
		snprintf(path, sizeof path, "%s/msg.sig", dir);
		good = io_read_file(path, 65536, &sig, &n) == ENF_OK;
		snprintf(path, sizeof path, "%s/k.pub", dir);
		good = good && io_read_file(path, 65536, &pub, &pn) == ENF_OK &&
		       pubkey_from_text(&k, (char *)pub, pn) == ENF_OK;
		ok(good, "ssh-keygen %s key and sha256 signature", types[i]);
		if (good) {
			ok(sshsig_parse_armored(&s, (char *)sig, n, &used) == ENF_OK && used == n &&
			   s.hash_alg == HASH_SHA256 && sshsig_verify(&s, "release", &k, msg, strlen(msg)) == ENF_OK,
			   "its -O hashalg=sha256 signature verifies");
			sshsig_free(&s);
			pubkey_free(&k);
		}
		free(sig);
		free(pub);
		sig = pub = NULL;
	}
}

int main(void)
{
	if (crypto_init() != ENF_OK || !mkdtemp(dir)) {
		printf("not ok 1 - setup\n1..1\n");
		return 1;
	}
	put_file("msg", msg, strlen(msg));
	test_strict();
	test_byte_identical();
	test_their_signatures();
	for (int alg = ALG_ED25519; alg <= ALG_RSA3072; alg++)
		test_interop(alg);
	sh("rm -f key key.pub k k.pub msg msg.sig sig signers%s", "");
	rmdir(dir);
	return done_testing();
}
