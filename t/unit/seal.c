/* Unit tests of lib/seal.c: the sealed-file format (enf-seal(5)) against
 * truncation, reordering, splicing, flipped bits, the wrong instance or
 * host, and transfer between instances, signed by the source; the audit
 * reason of each refusal. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "enf.h"
#include "crypto.h"
#include "encode.h"
#include "key.h"
#include "keyfmt.h"
#include "seal.h"
#include "tap.h"

#define CT (SEAL_CHUNK + AEAD_TAG)
#define HOST_A "0123456789abcdef0123456789abcdef\n"
#define HOST_B "fedcba9876543210fedcba9876543210\n"

struct blob { unsigned char *p; size_t n; };

static int fd_with(const void *p, size_t n)
{
	int fd = memfd_create("seal-test", 0);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

static struct blob fd_contents(int fd)
{
	struct blob b;
	off_t end = lseek(fd, 0, SEEK_END);

	b.n = (size_t)end;
	b.p = malloc(b.n + 1);
	if (!b.p || lseek(fd, 0, SEEK_SET) != 0 || (b.n && read(fd, b.p, b.n) != (ssize_t)b.n))
		abort();
	return b;
}

/* An atomic_file that writes straight into a memory file. */
static struct atomic_file mem_out(void)
{
	struct atomic_file f = { .path = NULL, .tmp = NULL, .fd = fd_with(NULL, 0), .to_stdout = 1 };
	return f;
}

static struct blob do_seal(const struct seal_self *me, const struct blob *pt, int *rc)
{
	int in = fd_with(pt->p, pt->n);
	struct atomic_file o = mem_out();
	struct blob b;

	*rc = seal_encrypt(me, in, &o, NULL);
	b = fd_contents(o.fd);
	close(in);
	close(o.fd);
	return b;
}

static int do_open(const struct seal_self *me, const struct blob *ct, struct blob *pt)
{
	int in = fd_with(ct->p, ct->n), rc;
	struct atomic_file o = mem_out();
	struct seal_header h;

	rc = seal_decrypt(me, in, &o, &h);
	*pt = fd_contents(o.fd);
	close(in);
	close(o.fd);
	return rc;
}

static int opens(const struct seal_self *me, const struct blob *ct)
{
	struct blob pt;
	int rc = do_open(me, ct, &pt);

	free(pt.p);
	return rc;
}

static struct blob random_blob(size_t n)
{
	struct blob b = { malloc(n + 1), n };

	random_nonce(b.p, n);
	return b;
}

static struct blob copy(const struct blob *b)
{
	struct blob c = { malloc(b->n + 1), b->n };

	memcpy(c.p, b->p, b->n);
	return c;
}

static struct seal_self *self(unsigned char tag, const char *host, const unsigned char *xsk)
{
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN];
	struct seal_self *me;

	memset(id, tag, sizeof id);
	memset(root, tag ^ 0x5a, sizeof root);
	if (seal_self_new(id, root, host, xsk, &me) != ENF_OK)
		abort();
	return me;
}

/* An instance whose id is its Ed25519 identity key's, as a real one is:
 * it can sign transfers. */
static struct seal_self *self_signing(unsigned char tag, const unsigned char *xsk,
				      struct privkey *k)
{
	unsigned char seed[32], id[SEAL_ID_LEN], root[SEAL_ROOT_LEN];
	struct seal_self *me;

	memset(seed, tag, sizeof seed);
	memset(root, tag ^ 0x5a, sizeof root);
	if (privkey_ed25519_from_seed(k, seed) != ENF_OK ||
	    hash_buf(HASH_SHA256, k->pub.blob, k->pub.bloblen, id) != ENF_OK ||
	    seal_self_new(id, root, NULL, xsk, &me) != ENF_OK)
		abort();
	me->identity = k;
	return me;
}

static void round_trips(const struct seal_self *me)
{
	static const size_t sizes[] = { 0, 1, SEAL_CHUNK - 1, SEAL_CHUNK, SEAL_CHUNK + 1,
					3 * SEAL_CHUNK + 7, 2 * SEAL_CHUNK };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct blob pt = random_blob(sizes[i]), ct, back;
		size_t chunks = sizes[i] / SEAL_CHUNK + 1;
		int rc;

		ct = do_seal(me, &pt, &rc);
		ok(rc == ENF_OK, "seals %zu bytes", sizes[i]);
		ok(ct.n == SEAL_HDR_LOCAL + sizes[i] + chunks * AEAD_TAG,
		   "%zu bytes seal to header + data + one tag per chunk (%zu chunks)", sizes[i], chunks);
		rc = do_open(me, &ct, &back);
		ok(rc == ENF_OK && back.n == pt.n && memcmp(back.p, pt.p, pt.n) == 0,
		   "opens %zu bytes to the same data", sizes[i]);
		free(pt.p);
		free(ct.p);
		free(back.p);
	}
}

static void other_instance(const struct seal_self *me, const struct blob *ct)
{
	struct seal_self *other = self(2, NULL, NULL), *clone_id;
	struct blob edited = copy(ct);
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN];

	ok(opens(other, ct) == ENF_NO && strcmp(enf_errmsg(), "sealed to another instance") == 0,
	   "another instance refuses: sealed to another instance");
	memcpy(edited.p + 14, other->id, SEAL_ID_LEN);
	ok(opens(other, &edited) == ENF_NO &&
	   strcmp(enf_errmsg(), "sealed to another instance") != 0,
	   "a header edited to name another instance does not open there");
	/* Same id, different seal root: what a forged keystore would hold. */
	memcpy(id, me->id, sizeof id);
	memset(root, 0x77, sizeof root);
	if (seal_self_new(id, root, NULL, NULL, &clone_id) != ENF_OK)
		abort();
	ok(opens(clone_id, ct) == ENF_NO && strstr(enf_errmsg(), "does not authenticate") != NULL,
	   "the instance id without its seal root does not open");
	seal_self_free(clone_id);
	seal_self_free(other);
	free(edited.p);
}

static void truncations(const struct seal_self *me, const struct blob *pt, const struct blob *ct)
{
	size_t bad = 0, tried = 0, leaked = 0;

	for (size_t len = 0; len < ct->n; len += len < SEAL_HDR_LOCAL + 64 ? 1 : 997) {
		struct blob t = { ct->p, len }, out;
		tried++;
		if (do_open(me, &t, &out) != ENF_OK)
			bad++;
		/* Only whole authenticated chunks of the true plaintext come out. */
		if (out.n % SEAL_CHUNK || out.n > pt->n || memcmp(out.p, pt->p, out.n))
			leaked++;
		free(out.p);
	}
	ok(bad == tried, "every truncation fails (%zu of %zu lengths)", bad, tried);
	ok(leaked == 0, "a truncated open releases only whole authenticated chunks");
	bad = tried = 0;
	for (size_t k = 0; SEAL_HDR_LOCAL + k * CT < ct->n; k++) {
		struct blob t = { ct->p, SEAL_HDR_LOCAL + k * CT };
		bad += opens(me, &t) == ENF_NO;
		tried++;
	}
	ok(tried == 4 && bad == tried, "truncation at every chunk boundary fails (%zu)", tried);
}

static void bit_flips(const struct seal_self *me, const struct blob *ct)
{
	struct blob t = copy(ct);
	size_t bad = 0, tried = 0;

	for (size_t i = 0; i < SEAL_HDR_LOCAL; i++)
		for (int bit = 0; bit < 8; bit++) {
			t.p[i] ^= (unsigned char)(1 << bit);
			bad += opens(me, &t) != ENF_OK;
			tried++;
			t.p[i] ^= (unsigned char)(1 << bit);
		}
	ok(bad == tried, "every flipped bit of the header fails (%zu)", tried);
	bad = tried = 0;
	for (size_t i = SEAL_HDR_LOCAL; i < t.n; i += 4099) {
		t.p[i] ^= 0x10;
		bad += opens(me, &t) == ENF_NO;
		tried++;
		t.p[i] ^= 0x10;
	}
	t.p[t.n - 1] ^= 1;
	bad += opens(me, &t) == ENF_NO;
	tried++;
	ok(bad == tried, "flipped bits in the body fail (%zu places)", tried);
	free(t.p);
}

static void reorder_splice(const struct seal_self *me, const struct blob *pt, const struct blob *ct)
{
	struct blob t = copy(ct), other, ext;
	unsigned char *c0 = t.p + SEAL_HDR_LOCAL, *tmp = malloc(CT);
	int rc;

	memcpy(tmp, c0, CT);
	memmove(c0, c0 + CT, CT);
	memcpy(c0 + CT, tmp, CT);
	ok(opens(me, &t) == ENF_NO, "two chunks swapped within a file fail");
	other = do_seal(me, pt, &rc);
	memcpy(t.p, ct->p, ct->n);
	memcpy(t.p + SEAL_HDR_LOCAL + CT, other.p + SEAL_HDR_LOCAL + CT, CT);
	ok(opens(me, &t) == ENF_NO, "a chunk spliced from another sealed file fails");
	memcpy(t.p, other.p, SEAL_HDR_LOCAL);
	memcpy(t.p + SEAL_HDR_LOCAL, ct->p + SEAL_HDR_LOCAL, ct->n - SEAL_HDR_LOCAL);
	ok(opens(me, &t) == ENF_NO, "a body under another file's header fails");
	ext.n = ct->n + 1;
	ext.p = malloc(ext.n);
	memcpy(ext.p, ct->p, ct->n);
	ext.p[ct->n] = 0;
	ok(opens(me, &ext) == ENF_NO, "a byte appended after the final chunk fails");
	free(ext.p);
	free(other.p);
	free(tmp);
	free(t.p);
}

static void host_binding(void)
{
	struct seal_self *a = self(3, HOST_A, NULL), *b = self(3, HOST_B, NULL);
	struct seal_self *none = self(3, NULL, NULL);
	struct blob pt = random_blob(1000), ct;
	unsigned char d[32];
	int rc;

	ct = do_seal(a, &pt, &rc);
	ok(rc == ENF_OK && opens(a, &ct) == ENF_OK, "a host-bound file opens on its host");
	ok(opens(b, &ct) == ENF_NO, "a host-bound file does not open under another machine-id");
	ok(opens(none, &ct) == ENF_NO, "nor with the host binding dropped");
	ok(ct.p[9] == SEAL_FLAG_HOST, "the header says host-bound");
	ok(seal_host_digest("", 0, d) == ENF_FAIL, "an empty machine-id is refused");
	ok(seal_host_digest("0123456789ABCDEF0123456789abcdef", 32, d) == ENF_FAIL,
	   "an uppercase machine-id is refused");
	ok(seal_host_digest("00000000000000000000000000000000\n", 33, d) == ENF_FAIL,
	   "an all-zero machine-id is refused");
	ok(seal_host_digest(HOST_A "x", 34, d) == ENF_FAIL, "trailing bytes are refused");
	free(pt.p);
	free(ct.p);
	seal_self_free(a);
	seal_self_free(b);
	seal_self_free(none);
}

static struct blob do_transfer(const struct seal_self *me, const struct seal_peer *to,
			       const struct blob *ct, int *rc)
{
	int in = fd_with(ct->p, ct->n);
	struct atomic_file o = mem_out();
	struct seal_header h;
	struct blob b;

	*rc = seal_reencrypt(me, to, in, &o, &h, NULL);
	b = fd_contents(o.fd);
	close(in);
	close(o.fd);
	return b;
}

/* Open ct at `at`, requiring (when not NULL) that it came from `source`. */
static int opens_from(const struct seal_self *at, const unsigned char *source, const struct blob *ct)
{
	int in = fd_with(ct->p, ct->n), rc;
	struct atomic_file o = mem_out();
	struct seal_header h;

	rc = seal_decrypt_from(at, source, in, &o, &h);
	close(in);
	close(o.fd);
	return rc;
}

static void transfer(const struct seal_self *me, const struct blob *pt, const struct blob *ct)
{
	unsigned char sk[X25519_LEN], esk[X25519_LEN], epk[X25519_LEN];
	struct seal_peer to;
	struct seal_self *target, *evil, *mute;
	struct privkey evil_key;
	struct blob x, back, t, self_to, ev, evx;
	struct seal_header h;
	int rc, fd;

	x25519_keygen(sk, to.x25519_pk);
	target = self(9, NULL, sk);
	memcpy(to.id, target->id, SEAL_ID_LEN);
	x = do_transfer(me, &to, ct, &rc);
	ok(rc == ENF_OK && x.n == ct->n - SEAL_HDR_LOCAL + SEAL_HDR_TRANSFER,
	   "transfer re-encrypts for the target");
	if (rc != ENF_OK || x.n < SEAL_HDR_TRANSFER) {
		free(x.p);
		seal_self_free(target);
		return;
	}
	ok(do_open(target, &x, &back) == ENF_OK && back.n == pt->n &&
	   memcmp(back.p, pt->p, pt->n) == 0, "the target opens a transferred file");
	free(back.p);
	ok(opens(me, &x) == ENF_NO && strcmp(enf_errmsg(), "sealed to another instance") == 0,
	   "the source does not open what it transferred");
	t = copy(&x);
	memcpy(t.p + 14, me->id, SEAL_ID_LEN);
	ok(opens(me, &t) == ENF_NO, "nor with the header edited to name the source");
	memcpy(t.p, x.p, x.n);
	t.p[SEAL_FIXED_LEN] ^= 1;
	ok(opens(target, &t) == ENF_NO && strstr(enf_errmsg(), "source") != NULL,
	   "an edited source key fails at the target: %s", enf_errmsg());
	memcpy(t.p, x.p, x.n);
	t.p[SEAL_HDR_TRANSFER - SEAL_SIG_LEN + 5] ^= 0x20;
	ok(opens(target, &t) == ENF_NO && strstr(enf_errmsg(), "not signed") != NULL,
	   "a flipped bit in the source's signature fails at the target");
	memcpy(t.p, x.p, x.n);
	t.p[SEAL_FIXED_LEN + SEAL_SOURCE_KEY_LEN + 40] ^= 1;
	ok(opens(target, &t) == ENF_NO && strstr(enf_errmsg(), "not signed") != NULL,
	   "a flipped bit in the sealed box breaks the signature first");
	memcpy(t.p, x.p, x.n);
	t.p[8] = SEAL_TRANSFERRED_UNSIGNED;
	fd = fd_with(t.p, t.n);
	ok(seal_read_header(fd, &h) == ENF_NO && strstr(enf_errmsg(), "unsigned transfer") != NULL &&
	   h.rawlen == 0, "a header of the unsigned kind 2 is refused");
	close(fd);
	free(t.p);
	fd = fd_with(x.p, x.n);
	ok(seal_read_header(fd, &h) == ENF_OK && h.kind == SEAL_TRANSFERRED &&
	   memcmp(h.source, me->id, SEAL_ID_LEN) == 0 && memcmp(h.instance, to.id, SEAL_ID_LEN) == 0,
	   "the transferred header names target and source");
	close(fd);
	ok(opens_from(target, me->id, &x) == ENF_OK, "it opens with the source pinned");
	ok(opens_from(target, target->id, &x) == ENF_NO &&
	   strstr(enf_errmsg(), "not transferred from") != NULL,
	   "and not with another instance pinned as the source");
	ok(opens_from(me, me->id, ct) == ENF_NO, "a pinned source refuses a file sealed locally");

	/* Another instance can transfer to the target too, under its own
	 * name only: the signature proves which key made the transfer. */
	x25519_keygen(esk, epk);
	evil = self_signing(0x66, esk, &evil_key);
	ev = do_seal(evil, pt, &rc);
	evx = do_transfer(evil, &to, &ev, &rc);
	fd = fd_with(evx.p, evx.n);
	ok(rc == ENF_OK && seal_read_header(fd, &h) == ENF_OK &&
	   memcmp(h.source, evil->id, SEAL_ID_LEN) == 0 && opens(target, &evx) == ENF_OK,
	   "another instance's transfer opens and names that instance");
	close(fd);
	ok(opens_from(target, me->id, &evx) == ENF_NO,
	   "and is refused when the expected source is pinned");
	/* Without an identity key (or one that is not its id) nothing is signed. */
	if (seal_self_new(me->id, me->root, NULL, NULL, &mute) != ENF_OK)
		abort();
	free(do_transfer(mute, &to, ct, &rc).p);
	ok(rc == ENF_FAIL, "an instance without its identity key cannot transfer");
	mute->identity = &evil_key;
	free(do_transfer(mute, &to, ct, &rc).p);
	ok(rc == ENF_FAIL, "nor with an identity key that is not its own");
	seal_self_free(mute);
	free(ev.p);
	free(evx.p);
	seal_self_free(evil);
	privkey_free(&evil_key);

	t.p = ct->p;
	t.n = ct->n - 1;
	free(x.p);
	x = do_transfer(me, &to, &t, &rc);
	ok(rc == ENF_NO && opens(target, &x) == ENF_NO,
	   "transferring a truncated file fails and its partial output does not open");
	free(x.p);
	memcpy(to.id, me->id, SEAL_ID_LEN);
	self_to = do_transfer(me, &to, ct, &rc);
	ok(rc == ENF_USAGE && self_to.n == 0, "a transfer to this instance itself is refused");
	free(self_to.p);
	seal_self_free(target);
}

static void peer_files(void)
{
	struct privkey k;
	struct wbuf line, text;
	struct seal_peer p;
	unsigned char pk[X25519_LEN], sk[X25519_LEN], id[32];
	char ids[SEAL_ID_STR], fp[FINGERPRINT_MAX];

	wbuf_init(&line, 0);
	wbuf_init(&text, 0);
	if (privkey_generate(&k, ALG_ED25519) != ENF_OK || pubkey_to_line(&k.pub, "x", &line))
		abort();
	x25519_keygen(sk, pk);
	wbuf_printf(&text, "%s\nenf-x25519 ", (const char *)line.p);
	base64_encode(&text, pk, sizeof pk, 1);
	wbuf_put(&text, "\n", 1);
	ok(seal_peer_parse((const char *)text.p, text.len, &p) == ENF_OK &&
	   memcmp(p.x25519_pk, pk, sizeof pk) == 0, "parses an instance identity file");
	hash_buf(HASH_SHA256, k.pub.blob, k.pub.bloblen, id);
	seal_id_string(p.id, ids);
	pubkey_fingerprint(&k.pub, fp);
	ok(memcmp(p.id, id, 32) == 0 && strcmp(ids, fp) == 0,
	   "its instance id is the identity key's SHA256 fingerprint (%s)", ids);
	ok(seal_peer_parse((const char *)line.p, line.len, &p) == ENF_NO,
	   "an identity file without its X25519 line is refused");
	wbuf_reset(&text);
	wbuf_printf(&text, "%s\nenf-x25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		    (const char *)line.p);
	ok(seal_peer_parse((const char *)text.p, text.len, &p) == ENF_NO,
	   "an all-zero X25519 key is refused");
	wbuf_put(&text, "extra\n", 6);
	ok(seal_peer_parse((const char *)text.p, text.len, &p) == ENF_NO,
	   "trailing lines are refused");
	privkey_free(&k);
	wbuf_free(&line);
	wbuf_free(&text);
}

/* ---- struct seal_status and the header's fields (enf-seal(5)'s table):
 * every refusal names its audit reason, and a status belongs to one call,
 * so a second operation in one process (enf-agent runs many) never reports
 * the first one's reason or byte count. */

static struct blob seal_n(const struct seal_self *me, size_t n, struct seal_header *made)
{
	unsigned char *pt = calloc(1, n + 1);
	int in = fd_with(pt, n), rc;
	struct atomic_file o = mem_out();
	struct seal_status st;
	struct blob b;

	seal_status_init(&st);
	rc = seal_stream_seal(me, in, &o, made, &st);
	ok(rc == ENF_OK && strcmp(seal_status_reason(&st, rc), "ok") == 0, "seals %zu bytes", n);
	b = fd_contents(o.fd);
	close(in);
	close(o.fd);
	free(pt);
	return b;
}

/* Opens b (its first n bytes); the status it ends with in *st. */
static int open_n(const struct seal_self *me, const struct blob *b, size_t n,
		  struct seal_status *st)
{
	int in = fd_with(b->p, n), rc;
	struct atomic_file o = mem_out();
	struct seal_header h;

	seal_status_init(st);
	rc = seal_stream_open(me, NULL, in, &o, &h, st);
	close(in);
	close(o.fd);
	return rc;
}

/* b with byte `at` set to v opens with rc and reason. */
static void refused(const struct seal_self *me, const struct blob *b, size_t at, unsigned v,
		    int rc, const char *reason, const char *msg, const char *what)
{
	struct blob t = { malloc(b->n), b->n };
	struct seal_status st;
	int got;

	memcpy(t.p, b->p, b->n);
	t.p[at] = (unsigned char)v;
	got = open_n(me, &t, t.n, &st);
	ok(got == rc && strcmp(seal_status_reason(&st, got), reason) == 0 &&
	   strstr(enf_errmsg(), msg) != NULL && st.released == 0,
	   "%s: %s (got %d %s: %s)", what, reason, got, seal_status_reason(&st, got), enf_errmsg());
	free(t.p);
}

static void header_fields(const struct seal_self *me)
{
	struct seal_header made;
	struct blob b = seal_n(me, 10, &made);

	ok(made.rawlen == SEAL_HDR_LOCAL && made.version == SEAL_VERSION &&
	   made.kind == SEAL_LOCAL && made.flags == 0 && made.chunk == SEAL_CHUNK &&
	   memcmp(made.instance, me->id, SEAL_ID_LEN) == 0,
	   "the header written reads back field by field");
	ok(memcmp(b.p, "ENFSEAL\1\1\0\0\1\0\0", 14) == 0,
	   "magic, version, kind, flags, chunk size at the offsets of enf-seal(5)");
	ok(memcmp(b.p + 14, me->id, SEAL_ID_LEN) == 0 && memcmp(b.p + 46, made.file_id, 32) == 0,
	   "then the instance id and the file id");
	refused(me, &b, 0, 'X', ENF_NO, "not-sealed", "not an enf sealed file", "a wrong magic");
	refused(me, &b, 7, 2, ENF_NO, "unsupported", "version 2", "another version");
	refused(me, &b, 8, SEAL_TRANSFERRED_UNSIGNED, ENF_NO, "unsigned-transfer",
		"unsigned transfer", "kind 2");
	refused(me, &b, 8, 9, ENF_NO, "not-sealed", "kind 9", "an unknown kind");
	refused(me, &b, 9, 0x02, ENF_NO, "not-sealed", "flags 0x02", "an unknown flag");
	refused(me, &b, 12, 0x02, ENF_NO, "unsupported", "chunk size 66048", "another chunk size");
	refused(me, &b, 20, 0x00, ENF_NO, "another-instance", "another instance",
		"another instance id");
	refused(me, &b, 50, b.p[50] ^ 1, ENF_NO, "not-authentic", "does not authenticate",
		"an edited file id");
	free(b.p);
}

static void truncated_status(const struct seal_self *me)
{
	struct blob b = seal_n(me, 3, NULL);
	struct seal_status st;
	int rc;

	rc = open_n(me, &b, SEAL_FIXED_LEN - 1, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "not-sealed") == 0,
	   "a file shorter than the fixed part is not a sealed file");
	rc = open_n(me, &b, SEAL_HDR_LOCAL - 1, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "truncated") == 0,
	   "a header cut short is truncated");
	rc = open_n(me, &b, SEAL_HDR_LOCAL + 5, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "truncated") == 0 &&
	   st.released == 0, "a final chunk cut short is truncated, nothing released");
	free(b.p);
}

static void one_call_one_status(const struct seal_self *me, const struct seal_self *other)
{
	struct blob b = seal_n(me, SEAL_CHUNK + 100, NULL);
	struct seal_status st;
	int rc;

	rc = open_n(other, &b, b.n, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "another-instance") == 0,
	   "opening under another instance is refused");
	rc = open_n(me, &b, b.n, &st);
	ok(rc == ENF_OK && strcmp(seal_status_reason(&st, rc), "ok") == 0 &&
	   st.released == SEAL_CHUNK + 100, "the next open reports its own result and bytes");
	rc = open_n(me, &b, b.n - 1, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "not-authentic") == 0 &&
	   st.released == SEAL_CHUNK, "a failed open counts only the chunks it released");
	seal_status_init(&st);
	ok(strcmp(seal_status_reason(&st, ENF_FAIL), "internal") == 0,
	   "a failure that gave no reason is internal");
	free(b.p);
}

static void statuses(void)
{
	struct seal_self *a = self(7, NULL, NULL), *b = self(8, NULL, NULL);

	header_fields(a);
	truncated_status(a);
	one_call_one_status(a, b);
	seal_self_free(a);
	seal_self_free(b);
}

int main(void)
{
	unsigned char sk[X25519_LEN], pk[X25519_LEN];
	struct seal_self *me;
	struct privkey me_key;
	struct blob pt, ct;
	int rc;

	if (crypto_init() != ENF_OK)
		return 1;
	/* The source holds an X25519 key too: it must not open transfers. */
	x25519_keygen(sk, pk);
	me = self_signing(1, sk, &me_key);
	round_trips(me);
	pt = random_blob(3 * SEAL_CHUNK + 100);
	ct = do_seal(me, &pt, &rc);
	other_instance(me, &ct);
	truncations(me, &pt, &ct);
	bit_flips(me, &ct);
	reorder_splice(me, &pt, &ct);
	host_binding();
	transfer(me, &pt, &ct);
	peer_files();
	statuses();
	free(pt.p);
	free(ct.p);
	seal_self_free(me);
	privkey_free(&me_key);
	return done_testing();
}
