/* Makes the fuzz seeds that need the fixed identities of fixed.h (the other
 * seeds come from the programs themselves; see t/fuzz/README):
 *   mkseeds audit DIR          audit records and logs signed by the fixed identity
 *   mkseeds seal DIR           sealed files: local, empty, two chunks, transferred
 *   mkseeds mkstore HOME       an instance with Argon2id at its cheapest (1:8:1),
 *                              passphrase "fuzz" for both roles, two keys
 *   mkseeds keystore KS OUT    a keystore's records in keystore.c's input format
 * Built by hand: cc -Ilib -It/fuzz t/fuzz/tools/mkseeds.c build/libenf.a ... */
#include <fcntl.h>
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "audit.h"
#include "keyfmt.h"
#include "seal.h"
#include "keystore.h"
#include "fixed.h"

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")) || fwrite(p, 1, n, f) != n || fclose(f))
		exit(1);
}

static int audit(const char *dir)
{
	static const unsigned char digest[32] = { 1, 2, 3 };
	struct audit_event ev = { .program = "enf-sign", .op = "sign", .outcome = "permit",
		.reason = "permit", .key = "rel", .identity = "ci", .purpose = "release",
		.scope = "artifact:tarball", .rule = "r1", .policy_id = "p",
		.policy_digest = digest, .request_digest = digest, .detail = "approvers=alice" };
	struct audit_event deny = { .program = "enf-sign", .op = "sign", .outcome = "deny",
		.reason = "scope-mismatch", .detail = "a \"quoted\" detail\\with escapes" };
	unsigned char prev[32] = { 0 }, hash[32];
	char fp[FINGERPRINT_MAX], name[32];
	struct privkey id;
	struct wbuf log, rec;
	uint64_t seq;

	fuzz_identity(&id);
	pubkey_fingerprint(&id.pub, fp);
	wbuf_init(&log, 0);
	for (seq = 1; seq <= 4; seq++) {
		wbuf_init(&rec, 0);
		if (audit_rec_encode(&rec, seq, 1767225600 + (int64_t)seq, fp,
				     seq == 2 ? &deny : &ev, prev, seq == 3 ? NULL : &id, hash))
			return 1;
		memcpy(prev, hash, 32);
		snprintf(name, sizeof name, "record-%llu", (unsigned long long)seq);
		put(dir, name, rec.p, rec.len - 1);	/* a line without its newline */
		wbuf_put(&log, rec.p, rec.len);
		wbuf_free(&rec);
	}
	return 0 * fprintf(stdout, "%.*s", (int)log.len, (const char *)log.p);
}

static void self(unsigned char idb, unsigned char rootb, unsigned char skb, struct seal_self **me)
{
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN], sk[X25519_LEN];

	memset(id, idb, sizeof id);
	memset(root, rootb, sizeof root);
	memset(sk, skb, sizeof sk);
	if (seal_self_new(id, root, NULL, sk, me) != ENF_OK)
		exit(1);
}

static int memfd_with(size_t n)
{
	int fd = memfd_create("in", 0);
	unsigned char *p = calloc(1, n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)('a' + i % 26);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || lseek(fd, 0, SEEK_SET))
		exit(1);
	free(p);
	return fd;
}

static void seal_to(const char *dir, const char *name, const struct seal_self *me, size_t n)
{
	struct atomic_file out = { .fd = -1 };
	char path[512];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	out.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out.fd < 0 || seal_encrypt(me, memfd_with(n), &out, NULL) != ENF_OK)
		exit(1);
	close(out.fd);
}

static int seal(const char *dir)
{
	static const unsigned char base[X25519_LEN] = { 9 };
	struct seal_self *me, *other;
	struct seal_peer to;
	struct seal_header h;
	struct atomic_file out = { .fd = -1 };
	unsigned char sk[X25519_LEN];
	char path[512];
	int in;

	self(FUZZ_SEAL_ID, FUZZ_SEAL_ROOT, FUZZ_SEAL_X25519, &me);
	self(FUZZ_SEAL_PEER_ID, 0x55, 0x66, &other);
	seal_to(dir, "local-small", me, 100);
	seal_to(dir, "local-empty", me, 0);
	seal_to(dir, "local-two-chunks", me, SEAL_CHUNK + 10);
	seal_to(dir, "other-instance", other, 50);
	/* Transferred from the other instance to the fixed one. */
	memset(to.id, FUZZ_SEAL_ID, sizeof to.id);
	memset(sk, FUZZ_SEAL_X25519, sizeof sk);
	if (x25519(to.x25519_pk, sk, base) != ENF_OK)
		return 1;
	snprintf(path, sizeof path, "%s/other-instance", dir);
	in = open(path, O_RDONLY);
	snprintf(path, sizeof path, "%s/transferred", dir);
	out.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out.fd < 0 || seal_reencrypt(other, &to, in, &out, &h, NULL) != ENF_OK)
		return 1;
	close(out.fd);
	return 0;
}

static void be16(FILE *f, size_t n)
{
	fputc((int)(n >> 8) & 0xff, f);
	fputc((int)n & 0xff, f);
}

static int keystore(const char *ks, const char *outpath)
{
	GDBM_FILE db = gdbm_open(ks, 0, GDBM_READER | GDBM_NOLOCK, 0, NULL);
	FILE *f = fopen(outpath, "wb");
	datum k, v, next;

	if (!db || !f)
		return 1;
	for (k = gdbm_firstkey(db); k.dptr; k = next) {
		v = gdbm_fetch(db, k);
		be16(f, (size_t)k.dsize);
		fwrite(k.dptr, 1, (size_t)k.dsize, f);
		be16(f, (size_t)v.dsize);
		fwrite(v.dptr, 1, (size_t)v.dsize, f);
		free(v.dptr);
		next = gdbm_nextkey(db, k);
		free(k.dptr);
	}
	gdbm_close(db);
	return fclose(f) != 0;
}

static int mkstore(const char *home)
{
	static const struct kdf_params cheap = { 1, 8, 1 };
	struct ks_init_opts o = { .lockout = 3, .kdf = &cheap };
	char *purposes[] = { "release", "fw" };
	unsigned char *p = secure_alloc(4);
	struct secret pass = { p, 4 };
	struct keystore *ks;

	memcpy(p, "fuzz", 4);
	if (ks_init(home, &o, &pass, &pass, &ks) != ENF_OK ||
	    ks_key_new(ks, "rel", ALG_ED25519, purposes, 1, NULL) != ENF_OK ||
	    ks_key_new(ks, "fw", ALG_ECDSA_P256, purposes, 2, NULL) != ENF_OK ||
	    ks_key_set_state(ks, "fw", KS_DEACTIVATED) != ENF_OK) {
		fprintf(stderr, "mkseeds: %s\n", enf_errmsg());
		return 1;
	}
	ks_close(ks);
	return 0;
}

int main(int argc, char **argv)
{
	if (crypto_init() != ENF_OK)
		return 3;
	if (argc == 3 && strcmp(argv[1], "audit") == 0)
		return audit(argv[2]);
	if (argc == 3 && strcmp(argv[1], "seal") == 0)
		return seal(argv[2]);
	if (argc == 3 && strcmp(argv[1], "mkstore") == 0)
		return mkstore(argv[2]);
	if (argc == 4 && strcmp(argv[1], "keystore") == 0)
		return keystore(argv[2], argv[3]);
	fprintf(stderr, "usage: mkseeds audit|seal DIR | keystore KS OUT\n");
	return 2;
}
