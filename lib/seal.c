/* Sealing: chunked AES-256-GCM bound to this instance (seal.h, enf-seal(5)). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "instance.h"
#include "io.h"
#include "keyfmt.h"
#include "keystore.h"
#include "seal.h"

#define MACHINE_ID_PATH "/etc/machine-id"
#define MACHINE_ID_HEX 32
/* Labels separate this derivation from every other use of the same secrets. */
#define KEK_INFO "enf-seal v1 file key"
#define HOST_LABEL "enf-seal v1 machine-id"
#define CHUNK_AD_LEN (32 + 8 + 1)
#define CT_CHUNK (SEAL_CHUNK + AEAD_TAG)

static const char another_instance[] = "sealed to another instance";

/* The message for the caller, and the audit reason (a short stable code)
 * into st when there is one.  Failures that are ours alone (out of memory,
 * a cipher that will not start) use enf_err: their reason is "internal". */
static int fail(struct seal_status *st, int code, const char *why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct seal_status *st, int code, const char *why, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (st)
		st->reason = why;
	return enf_err(code, "%s", msg);
}

/* rc, with its reason: for a failure whose message is already said. */
static int because(struct seal_status *st, const char *why, int rc)
{
	if (st)
		st->reason = why;
	return rc;
}

void seal_status_init(struct seal_status *st)
{
	st->reason = NULL;
	st->released = 0;
}

const char *seal_status_reason(const struct seal_status *st, int rc)
{
	if (rc == ENF_OK)
		return "ok";
	return st->reason ? st->reason : "internal";
}

/* Until n bytes or end of input: a short count means end of input. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (unsigned char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int read_error(struct seal_status *st)
{
	return fail(st, ENF_FAIL, "io-error", "reading input: %s", strerror(errno));
}

/* ---- this instance, other instances ---- */

int seal_host_digest(const char *text, size_t n, unsigned char out[32])
{
	unsigned char id[MACHINE_ID_HEX / 2];
	struct hash_ctx h;
	int nonzero = 0;

	if (n == MACHINE_ID_HEX + 1 && text[MACHINE_ID_HEX] == '\n')
		n--;
	if (hex_decode(text, n, id, sizeof id) != ENF_OK)
		return enf_err(ENF_FAIL, "%s is malformed", MACHINE_ID_PATH);
	for (size_t i = 0; i < sizeof id; i++)
		nonzero |= id[i] != 0;
	/* An all-zero id is a placeholder, shared by every unconfigured host. */
	if (!nonzero)
		return enf_err(ENF_FAIL, "%s is not initialised", MACHINE_ID_PATH);
	if (hash_begin(&h, HASH_SHA256) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot hash");
	hash_update(&h, HOST_LABEL, sizeof HOST_LABEL);
	hash_update(&h, text, n);
	return hash_end(&h, out) == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "cannot hash");
}

int seal_self_new(const unsigned char id[SEAL_ID_LEN], const unsigned char root[SEAL_ROOT_LEN],
		  const char *host_id, const unsigned char *x25519_sk, struct seal_self **out)
{
	struct seal_self *me = secure_alloc(sizeof *me);

	*out = NULL;
	if (!me)
		return enf_err(ENF_FAIL, "out of secure memory");
	memcpy(me->id, id, SEAL_ID_LEN);
	memcpy(me->root, root, SEAL_ROOT_LEN);
	if (host_id) {
		me->bind_host = 1;
		if (seal_host_digest(host_id, strlen(host_id), me->host) != ENF_OK) {
			seal_self_free(me);
			return ENF_FAIL;
		}
	}
	if (x25519_sk) {
		me->have_x25519 = 1;
		memcpy(me->x25519_sk, x25519_sk, X25519_LEN);
	}
	*out = me;
	return ENF_OK;
}

void seal_self_free(struct seal_self *me)
{
	secure_free(me, sizeof *me);
}

static int identity_id(const struct pubkey *k, unsigned char id[SEAL_ID_LEN])
{
	if (!k || !k->blob || hash_buf(HASH_SHA256, k->blob, k->bloblen, id) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot read the instance identity");
	return ENF_OK;
}

/* The text of /etc/machine-id, for an instance bound to its host; checked
 * here so that a malformed one is recorded as the host's fault. */
static int read_host(unsigned char **text, struct seal_status *st)
{
	unsigned char digest[32];
	size_t n = 0;
	int rc = ENF_OK;

	*text = NULL;
	if (io_read_file(MACHINE_ID_PATH, 256, text, &n) != ENF_OK)
		rc = fail(st, ENF_FAIL, "host-unavailable",
			  "cannot read %s, to which this instance is bound", MACHINE_ID_PATH);
	else if (seal_host_digest((const char *)*text, strlen((const char *)*text), digest) != ENF_OK)
		rc = because(st, "host-unavailable", ENF_FAIL);
	if (rc != ENF_OK) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

/* Gathers the parts from the keystore and builds through seal_self_new, the
 * same constructor the unit tests use. */
int seal_self_load(struct keystore *ks, struct seal_self **out, struct seal_status *st)
{
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN], xsk[X25519_LEN], *host = NULL;
	int have_x, rc;

	*out = NULL;
	rc = identity_id(ks_identity_pub(ks), id);
	if (rc == ENF_OK && ks_seal_root(ks, root) != ENF_OK)
		rc = enf_err(ENF_FAIL, "the seal root is not available");
	have_x = rc == ENF_OK && ks_x25519_secret(ks, xsk) == ENF_OK;
	if (rc == ENF_OK && ks_binding(ks) == BIND_HOST)
		rc = read_host(&host, st);
	if (rc == ENF_OK)
		rc = seal_self_new(id, root, (const char *)host, have_x ? xsk : NULL, out);
	if (rc == ENF_OK)
		(*out)->identity = ks_identity_key(ks);
	wipe(root, sizeof root);
	wipe(xsk, sizeof xsk);
	free(host);
	return rc;
}

void seal_id_string(const unsigned char id[SEAL_ID_LEN], char out[SEAL_ID_STR])
{
	struct wbuf b;

	wbuf_init(&b, 0);
	if (base64_encode(&b, id, SEAL_ID_LEN, 0) != 0 || b.len + 8 > SEAL_ID_STR)
		snprintf(out, SEAL_ID_STR, "SHA256:?");
	else
		snprintf(out, SEAL_ID_STR, "SHA256:%.*s", (int)b.len, (const char *)b.p);
	wbuf_free(&b);
}

int seal_peer_parse(const char *text, size_t n, struct seal_peer *p)
{
	struct instance_file f;
	int rc = ENF_NO;

	if (instance_parse(text, n, &f) == ENF_OK) {
		if (f.has_x25519) {
			memcpy(p->x25519_pk, f.x25519, X25519_LEN);
			rc = identity_id(&f.identity, p->id);
		}
		instance_free(&f);
	}
	if (rc == ENF_NO)
		return enf_err(ENF_NO,
			    "not an instance identity file (enf-keygen instance prints one)");
	return rc;
}

/* ---- header ---- */

/* The fixed part, field by field in the order of enf-seal(5)'s table. */
static void header_fixed(struct wbuf *w, int kind, unsigned flags,
			 const unsigned char inst[SEAL_ID_LEN], const unsigned char fid[32])
{
	wbuf_put(w, SEAL_MAGIC, SEAL_MAGIC_LEN);
	wbuf_u8(w, SEAL_VERSION);
	wbuf_u8(w, (uint8_t)kind);
	wbuf_u8(w, (uint8_t)flags);
	wbuf_u32(w, SEAL_CHUNK);
	wbuf_put(w, inst, SEAL_ID_LEN);
	wbuf_put(w, fid, 32);
}

static int not_sealed(struct seal_status *st)
{
	return fail(st, ENF_NO, "not-sealed", "not an enf sealed file");
}

/* The fixed part, read as header_fixed writes it; checked in that order. */
static int check_fixed(struct seal_header *h, struct seal_status *st)
{
	const unsigned char *inst, *fid;
	uint8_t version, kind, flags;
	struct rbuf r;

	rbuf_init(&r, h->raw, SEAL_FIXED_LEN);
	if (rbuf_expect(&r, SEAL_MAGIC) != 0 || rbuf_u8(&r, &version) != 0 ||
	    rbuf_u8(&r, &kind) != 0 || rbuf_u8(&r, &flags) != 0 || rbuf_u32(&r, &h->chunk) != 0 ||
	    rbuf_bytes(&r, SEAL_ID_LEN, &inst) != 0 || rbuf_bytes(&r, 32, &fid) != 0)
		return not_sealed(st);
	h->version = version;
	h->kind = kind;
	h->flags = flags;
	if (h->version != SEAL_VERSION)
		return fail(st, ENF_NO, "unsupported", "unsupported sealed-file version %d", h->version);
	if (h->kind == SEAL_TRANSFERRED_UNSIGNED)
		return fail(st, ENF_NO, "unsigned-transfer", "an unsigned transfer (enf 0.1.0) is "
			    "refused: nothing proves its source; have it transferred again");
	if (h->kind != SEAL_LOCAL && h->kind != SEAL_TRANSFERRED)
		return fail(st, ENF_NO, "not-sealed", "unknown sealed-file kind %d", h->kind);
	if ((h->kind == SEAL_LOCAL && (h->flags & ~SEAL_FLAG_HOST)) ||
	    (h->kind == SEAL_TRANSFERRED && h->flags))
		return fail(st, ENF_NO, "not-sealed", "unknown sealed-file flags 0x%02x", h->flags);
	if (h->chunk != SEAL_CHUNK)
		return fail(st, ENF_NO, "unsupported", "unsupported chunk size %u", h->chunk);
	memcpy(h->instance, inst, SEAL_ID_LEN);
	memcpy(h->file_id, fid, 32);
	return ENF_OK;
}

/* Transferred headers: the source's key, the box, the source's signature. */
#define BOX_OFF (SEAL_FIXED_LEN + SEAL_SOURCE_KEY_LEN)
#define SIG_OFF (BOX_OFF + SEAL_BOX_LEN)
#define SIG_MSG_LEN (sizeof SEAL_TRANSFER_SIG_LABEL + SIG_OFF)

/* The 32 bytes of an Ed25519 public key. */
static int ed25519_key(const struct pubkey *k, const unsigned char **pk)
{
	struct rbuf r;

	rbuf_init(&r, k->blob, k->bloblen);
	return k->type == KT_ED25519 && rbuf_expect_cstring(&r, "ssh-ed25519") == 0 &&
	       rbuf_fixed_string(&r, SEAL_SOURCE_KEY_LEN, pk) == 0 && rbuf_done(&r) ? ENF_OK : ENF_NO;
}

/* What the source signs: the label, its NUL, header bytes 0..SIG_OFF-1. */
static void transfer_sig_msg(const unsigned char raw[SIG_OFF], unsigned char msg[SIG_MSG_LEN])
{
	memcpy(msg, SEAL_TRANSFER_SIG_LABEL, sizeof SEAL_TRANSFER_SIG_LABEL);
	memcpy(msg + sizeof SEAL_TRANSFER_SIG_LABEL, raw, SIG_OFF);
}

static int transfer_sign(const struct privkey *key, const unsigned char raw[SIG_OFF],
			 unsigned char out[SEAL_SIG_LEN])
{
	unsigned char msg[SIG_MSG_LEN];
	const unsigned char *s;
	struct wbuf sig;
	struct rbuf r;
	int rc;

	transfer_sig_msg(raw, msg);
	wbuf_init(&sig, 0);
	rc = privkey_sign_ssh(key, msg, sizeof msg, &sig);
	rbuf_init(&r, sig.p, sig.len);
	if (rc == ENF_OK && rbuf_expect_cstring(&r, "ssh-ed25519") == 0 &&
	    rbuf_fixed_string(&r, SEAL_SIG_LEN, &s) == 0 && rbuf_done(&r))
		memcpy(out, s, SEAL_SIG_LEN);
	else
		rc = enf_err(ENF_FAIL, "cannot sign the transfer");
	wbuf_free(&sig);
	return rc;
}

/* The signature of a transferred header verifies under the source key it
 * carries, through the one verifier every signature in enf goes through;
 * the source id is that key's. */
static int transfer_verify(struct seal_header *h, struct seal_status *st)
{
	unsigned char msg[SIG_MSG_LEN];
	const unsigned char *fixed, *key, *box, *s;
	struct wbuf blob, sig;
	struct rbuf r;
	struct pubkey k;
	int rc;

	/* The transferred part, in the order of enf-seal(5)'s table. */
	rbuf_init(&r, h->raw, SEAL_HDR_TRANSFER);
	if (rbuf_bytes(&r, SEAL_FIXED_LEN, &fixed) != 0 ||
	    rbuf_bytes(&r, SEAL_SOURCE_KEY_LEN, &key) != 0 ||
	    rbuf_bytes(&r, SEAL_BOX_LEN, &box) != 0 || rbuf_bytes(&r, SEAL_SIG_LEN, &s) != 0 ||
	    !rbuf_done(&r))
		return enf_err(ENF_FAIL, "a transferred header of the wrong size");
	memset(&k, 0, sizeof k);
	wbuf_init(&blob, 0);
	wbuf_init(&sig, 0);
	wbuf_cstring(&blob, "ssh-ed25519");
	wbuf_string(&blob, key, SEAL_SOURCE_KEY_LEN);
	wbuf_cstring(&sig, "ssh-ed25519");
	wbuf_string(&sig, s, SEAL_SIG_LEN);
	transfer_sig_msg(h->raw, msg);
	if (blob.failed || sig.failed)
		rc = enf_err(ENF_FAIL, "out of memory");
	else if (pubkey_from_blob(&k, blob.p, blob.len) != ENF_OK)
		rc = fail(st, ENF_NO, "bad-transfer-signature",
			  "transferred file names no valid source key");
	else if (pubkey_verify_ssh(&k, msg, sizeof msg, sig.p, sig.len) != ENF_OK)
		rc = fail(st, ENF_NO, "bad-transfer-signature", "transferred file is not signed by "
			  "the instance it names as its source");
	else
		rc = identity_id(&k, h->source);
	pubkey_free(&k);
	wbuf_free(&blob);
	wbuf_free(&sig);
	return rc;
}

static int read_header(int fd, struct seal_header *h, struct seal_status *st)
{
	ssize_t r;
	size_t rest;
	int rc;

	memset(h, 0, sizeof *h);
	r = read_full(fd, h->raw, SEAL_FIXED_LEN);
	if (r < 0)
		return read_error(st);
	if (r < SEAL_FIXED_LEN)
		return not_sealed(st);
	if ((rc = check_fixed(h, st)) != ENF_OK)
		return rc;
	rest = (h->kind == SEAL_LOCAL ? SEAL_HDR_LOCAL : SEAL_HDR_TRANSFER) - SEAL_FIXED_LEN;
	r = read_full(fd, h->raw + SEAL_FIXED_LEN, rest);
	if (r < 0)
		return read_error(st);
	if ((size_t)r < rest)
		return fail(st, ENF_NO, "truncated", "sealed data is truncated (in its header)");
	if (h->kind == SEAL_TRANSFERRED && (rc = transfer_verify(h, st)) != ENF_OK)
		return rc;
	/* Only now a header: callers (and the audit record) see nothing of
	 * one whose source does not verify. */
	h->rawlen = SEAL_FIXED_LEN + rest;
	return ENF_OK;
}

int seal_read_header(int fd, struct seal_header *h)
{
	return read_header(fd, h, NULL);
}

/* Secrets of one file, kept together in secure memory. */
struct file_keys {
	unsigned char ikm[SEAL_ROOT_LEN + 32];
	unsigned char kek[AEAD_KEY];
	unsigned char ck[AEAD_KEY];		/* content key (input) */
	unsigned char ck2[AEAD_KEY];		/* content key (re-encryption) */
};

/* KEK = HKDF(seal root [|| host digest], salt = file id, info = label ||
 * OUR instance id || file id || binding).  Our own id, never the header's:
 * a header edited to name this instance still derives nothing useful. */
static int file_kek(const struct seal_self *me, const unsigned char fid[32],
		    struct file_keys *k)
{
	unsigned char info[sizeof KEK_INFO + SEAL_ID_LEN + 32 + 1];
	size_t ikmlen = SEAL_ROOT_LEN;

	memcpy(k->ikm, me->root, SEAL_ROOT_LEN);
	if (me->bind_host) {
		memcpy(k->ikm + SEAL_ROOT_LEN, me->host, 32);
		ikmlen += 32;
	}
	memcpy(info, KEK_INFO, sizeof KEK_INFO);
	memcpy(info + sizeof KEK_INFO, me->id, SEAL_ID_LEN);
	memcpy(info + sizeof KEK_INFO + SEAL_ID_LEN, fid, 32);
	info[sizeof info - 1] = (unsigned char)me->bind_host;
	if (hkdf_sha256(k->ikm, ikmlen, fid, 32, info, sizeof info, k->kek, AEAD_KEY) != ENF_OK)
		return enf_err(ENF_FAIL, "key derivation failed");
	return ENF_OK;
}

static const unsigned char zero_nonce[AEAD_NONCE];

/* The content key of a header that names this instance. */
static int header_content_key(const struct seal_self *me, const struct seal_header *h,
			      struct file_keys *k, struct seal_status *st)
{
	int rc;

	if (memcmp(h->instance, me->id, SEAL_ID_LEN) != 0)
		return fail(st, ENF_NO, "another-instance", "%s", another_instance);
	if (h->kind == SEAL_LOCAL) {
		if ((rc = file_kek(me, h->file_id, k)) != ENF_OK)
			return rc;
		rc = aead_open(k->kek, zero_nonce, h->raw, SEAL_FIXED_LEN,
			       h->raw + SEAL_FIXED_LEN, SEAL_WRAP_LEN, k->ck);
		if (rc == ENF_NO)
			return fail(st, ENF_NO, me->bind_host ? "not-authentic-or-host" : "not-authentic",
				    "sealed file does not authenticate: its header was altered%s",
				    me->bind_host ? ", or it was sealed on another host" : "");
		return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "cannot decrypt");
	}
	if (!me->have_x25519)
		return enf_err(ENF_FAIL, "the transfer key is not available");
	rc = sealbox_open(me->x25519_sk, SEAL_TRANSFER_LABEL, h->raw, BOX_OFF, h->raw + BOX_OFF,
			  SEAL_BOX_LEN, k->ck);
	if (rc == ENF_NO)
		return fail(st, ENF_NO, "not-authentic",
			    "transferred file does not authenticate: its header was altered");
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "cannot decrypt");
}

/* ---- chunks ---- */

struct chunk_stream {
	struct aead_ctx aead;
	int live;
	unsigned char hh[32];		/* SHA-256 of the header */
	uint64_t index;
	struct seal_status *st;		/* why it failed, or NULL */
};

static int stream_init(struct chunk_stream *s, const unsigned char *hdr, size_t n,
		       const unsigned char ck[AEAD_KEY], struct seal_status *st)
{
	memset(s, 0, sizeof *s);
	s->st = st;
	if (hash_buf(HASH_SHA256, hdr, n, s->hh) != ENF_OK || aead_ctx_init(&s->aead, ck) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot start the cipher");
	s->live = 1;
	return ENF_OK;
}

static void stream_free(struct chunk_stream *s)
{
	if (s->live)
		aead_ctx_free(&s->aead);
	s->live = 0;
}

/* Nonce: 4 zero bytes || index; AD: header hash || index || final. */
static void chunk_params(const struct chunk_stream *s, int final, unsigned char nonce[AEAD_NONCE],
			 unsigned char ad[CHUNK_AD_LEN])
{
	struct wbuf w;

	wbuf_init_fixed(&w, nonce, AEAD_NONCE);
	wbuf_u32(&w, 0);
	wbuf_u64(&w, s->index);
	wbuf_init_fixed(&w, ad, CHUNK_AD_LEN);
	wbuf_put(&w, s->hh, sizeof s->hh);
	wbuf_u64(&w, s->index);
	wbuf_u8(&w, final ? 1 : 0);
}

struct chunk_writer {
	struct chunk_stream s;
	struct atomic_file *out;
	unsigned char *ct;		/* CT_CHUNK bytes */
};

static int chunk_put(struct chunk_writer *w, const unsigned char *pt, size_t n, int final)
{
	unsigned char nonce[AEAD_NONCE], ad[CHUNK_AD_LEN];

	if (w->s.index >= SEAL_MAX_CHUNKS)
		return fail(w->s.st, ENF_FAIL, "too-large", "input too large to seal (256 TiB at most)");
	chunk_params(&w->s, final, nonce, ad);
	if (aead_ctx_seal(&w->s.aead, nonce, ad, sizeof ad, pt, n, w->ct) != ENF_OK)
		return enf_err(ENF_FAIL, "encryption failed");
	w->s.index++;
	if (atomic_write(w->out, w->ct, n + AEAD_TAG) != ENF_OK)
		return because(w->s.st, "io-error", ENF_FAIL);
	return ENF_OK;
}

/* Plaintext from fd, in chunks; the last is shorter than a chunk (maybe
 * empty), so its length alone marks it final. */
static int seal_body(struct chunk_writer *w, int in, unsigned char *pt)
{
	for (;;) {
		ssize_t r = read_full(in, pt, SEAL_CHUNK);
		int final = r < (ssize_t)SEAL_CHUNK, rc;

		if (r < 0)
			return read_error(w->s.st);
		if ((rc = chunk_put(w, pt, (size_t)r, final)) != ENF_OK)
			return rc;
		if (final)
			return ENF_OK;
	}
}

typedef int (*emit_fn)(void *arg, const unsigned char *pt, size_t n, int final);

/* Sealed chunks from fd; each is handed to emit only once it authenticates. */
static int open_body(struct chunk_stream *s, int in, unsigned char *ct, unsigned char *pt,
		     emit_fn emit, void *arg)
{
	unsigned char nonce[AEAD_NONCE], ad[CHUNK_AD_LEN];

	for (;;) {
		ssize_t r = read_full(in, ct, CT_CHUNK);
		int final = r < (ssize_t)CT_CHUNK, rc;

		if (r < 0)
			return read_error(s->st);
		if (r < AEAD_TAG || s->index >= SEAL_MAX_CHUNKS)
			return fail(s->st, ENF_NO, "truncated", "sealed data is truncated after chunk %llu",
				    (unsigned long long)s->index);
		chunk_params(s, final, nonce, ad);
		rc = aead_ctx_open(&s->aead, nonce, ad, sizeof ad, ct, (size_t)r, pt);
		if (rc == ENF_NO)
			return fail(s->st, ENF_NO, "not-authentic",
				    "sealed data does not authenticate at chunk %llu "
				    "(altered, truncated, reordered or spliced)",
				    (unsigned long long)s->index);
		if (rc != ENF_OK)
			return enf_err(ENF_FAIL, "decryption failed");
		s->index++;
		if ((rc = emit(arg, pt, (size_t)r - AEAD_TAG, final)) != ENF_OK)
			return rc;
		if (final)
			return ENF_OK;
	}
}

/* Where an open writes its plaintext, and counts what it released. */
struct plain_out {
	struct atomic_file *out;
	struct seal_status *st;
};

static int emit_plain(void *arg, const unsigned char *pt, size_t n, int final)
{
	struct plain_out *po = arg;

	(void)final;
	if (atomic_write(po->out, pt, n) != ENF_OK)
		return because(po->st, "io-error", ENF_FAIL);
	if (po->st)
		po->st->released += n;
	return ENF_OK;
}

static int emit_reseal(void *arg, const unsigned char *pt, size_t n, int final)
{
	return chunk_put(arg, pt, n, final);
}

/* Buffers and keys of one operation. */
struct work {
	struct file_keys *k;
	unsigned char *pt, *ct, *ct2;
};

static int work_new(struct work *w, int two)
{
	w->k = secure_alloc(sizeof *w->k);
	w->pt = malloc(SEAL_CHUNK);
	w->ct = malloc(CT_CHUNK);
	w->ct2 = two ? malloc(CT_CHUNK) : NULL;
	if (!w->k || !w->pt || !w->ct || (two && !w->ct2))
		return enf_err(ENF_FAIL, "out of memory");
	return ENF_OK;
}

static void work_free(struct work *w)
{
	secure_free(w->k, sizeof *w->k);
	if (w->pt)
		wipe(w->pt, SEAL_CHUNK);
	free(w->pt);
	free(w->ct);
	free(w->ct2);
	memset(w, 0, sizeof *w);
}

/* The parsed form of a header this module just wrote (by instance me). */
static void header_made(const struct seal_self *me, const unsigned char *raw, size_t n,
			struct seal_header *made)
{
	if (!made)
		return;
	memset(made, 0, sizeof *made);
	memcpy(made->raw, raw, n);
	made->rawlen = n;
	check_fixed(made, NULL);
	if (made->kind == SEAL_TRANSFERRED)
		memcpy(made->source, me->id, SEAL_ID_LEN);
}

int seal_stream_seal(const struct seal_self *me, int in, struct atomic_file *out,
		     struct seal_header *made, struct seal_status *st)
{
	unsigned char raw[SEAL_HDR_LOCAL], fid[32], wrapped[SEAL_WRAP_LEN];
	struct chunk_writer cw;
	struct work w = { 0 };
	struct wbuf hw;
	int rc;

	memset(&cw, 0, sizeof cw);
	if ((rc = work_new(&w, 0)) != ENF_OK)
		goto out;
	random_nonce(fid, sizeof fid);
	random_nonce(w.k->ck, AEAD_KEY);
	wbuf_init_fixed(&hw, raw, sizeof raw);
	header_fixed(&hw, SEAL_LOCAL, me->bind_host ? SEAL_FLAG_HOST : 0, me->id, fid);
	if ((rc = file_kek(me, fid, w.k)) != ENF_OK)
		goto out;
	if (aead_seal(w.k->kek, zero_nonce, raw, hw.len, w.k->ck, AEAD_KEY, wrapped) != ENF_OK ||
	    wbuf_put(&hw, wrapped, sizeof wrapped) != 0 || hw.len != sizeof raw) {
		rc = enf_err(ENF_FAIL, "cannot wrap the content key");
		goto out;
	}
	header_made(me, raw, sizeof raw, made);
	if ((rc = atomic_write(out, raw, sizeof raw)) != ENF_OK) {
		because(st, "io-error", rc);
		goto out;
	}
	if ((rc = stream_init(&cw.s, raw, sizeof raw, w.k->ck, st)) != ENF_OK)
		goto out;
	cw.out = out;
	cw.ct = w.ct;
	rc = seal_body(&cw, in, w.pt);
out:
	stream_free(&cw.s);
	work_free(&w);
	return rc;
}

int seal_encrypt(const struct seal_self *me, int in, struct atomic_file *out,
		 struct seal_header *made)
{
	return seal_stream_seal(me, in, out, made, NULL);
}

int seal_decrypt(const struct seal_self *me, int in, struct atomic_file *out,
		 struct seal_header *h)
{
	return seal_stream_open(me, NULL, in, out, h, NULL);
}

int seal_decrypt_from(const struct seal_self *me, const unsigned char *source, int in,
		      struct atomic_file *out, struct seal_header *h)
{
	return seal_stream_open(me, source, in, out, h, NULL);
}

int seal_stream_open(const struct seal_self *me, const unsigned char *source, int in,
		     struct atomic_file *out, struct seal_header *h, struct seal_status *st)
{
	struct plain_out po = { out, st };
	struct chunk_stream s;
	struct work w = { 0 };
	int rc;

	memset(&s, 0, sizeof s);
	if ((rc = read_header(in, h, st)) != ENF_OK)
		return rc;
	if (source && (h->kind != SEAL_TRANSFERRED || memcmp(h->source, source, SEAL_ID_LEN) != 0))
		return fail(st, ENF_NO, "unexpected-source",
			    "not transferred from the instance --from names");
	if ((rc = work_new(&w, 0)) != ENF_OK)
		goto out;
	if ((rc = header_content_key(me, h, w.k, st)) != ENF_OK)
		goto out;
	if ((rc = stream_init(&s, h->raw, h->rawlen, w.k->ck, st)) != ENF_OK)
		goto out;
	rc = open_body(&s, in, w.ct, w.pt, emit_plain, &po);
out:
	stream_free(&s);
	work_free(&w);
	return rc;
}

/* The header of a transferred file: names the target, carries our identity
 * key, holds the new content key in a sealed box that only the target's
 * X25519 key opens (its associated data is everything before it), and ends
 * with our signature over all of that, so that no one but this instance
 * can make a file that names it as the source. */
static int transfer_header(const struct seal_self *me, const struct seal_peer *to,
			   const unsigned char ck[AEAD_KEY], unsigned char raw[SEAL_HDR_TRANSFER],
			   struct seal_status *st)
{
	unsigned char fid[32], id[SEAL_ID_LEN], box[SEAL_BOX_LEN], sig[SEAL_SIG_LEN];
	const unsigned char *pk;
	struct wbuf w;

	if (!me->identity || ed25519_key(&me->identity->pub, &pk) != ENF_OK ||
	    identity_id(&me->identity->pub, id) != ENF_OK || memcmp(id, me->id, SEAL_ID_LEN) != 0)
		return enf_err(ENF_FAIL, "the identity key is not available");
	random_nonce(fid, sizeof fid);
	wbuf_init_fixed(&w, raw, SEAL_HDR_TRANSFER);
	header_fixed(&w, SEAL_TRANSFERRED, 0, to->id, fid);
	wbuf_put(&w, pk, SEAL_SOURCE_KEY_LEN);
	if (sealbox_seal(to->x25519_pk, SEAL_TRANSFER_LABEL, raw, w.len, ck, AEAD_KEY, box) != ENF_OK)
		return fail(st, ENF_NO, "bad-target", "cannot encrypt to the target's X25519 key");
	wbuf_put(&w, box, sizeof box);
	if (transfer_sign(me->identity, raw, sig) != ENF_OK)
		return ENF_FAIL;
	wbuf_put(&w, sig, sizeof sig);
	return w.failed || w.len != SEAL_HDR_TRANSFER ? enf_err(ENF_FAIL, "cannot write the header")
						       : ENF_OK;
}

int seal_reencrypt(const struct seal_self *me, const struct seal_peer *to, int in,
		   struct atomic_file *out, struct seal_header *h, struct seal_header *made)
{
	return seal_stream_transfer(me, to, in, out, h, made, NULL);
}

int seal_stream_transfer(const struct seal_self *me, const struct seal_peer *to, int in,
			 struct atomic_file *out, struct seal_header *h,
			 struct seal_header *made, struct seal_status *st)
{
	unsigned char raw[SEAL_HDR_TRANSFER];
	struct chunk_stream s;
	struct chunk_writer cw;
	struct work w = { 0 };
	int rc;

	memset(&s, 0, sizeof s);
	memset(&cw, 0, sizeof cw);
	if (memcmp(to->id, me->id, SEAL_ID_LEN) == 0)
		return fail(st, ENF_USAGE, "bad-target", "the target is this instance");
	if ((rc = read_header(in, h, st)) != ENF_OK)
		return rc;
	if ((rc = work_new(&w, 1)) != ENF_OK)
		goto out;
	if ((rc = header_content_key(me, h, w.k, st)) != ENF_OK)
		goto out;
	if ((rc = stream_init(&s, h->raw, h->rawlen, w.k->ck, st)) != ENF_OK)
		goto out;
	random_nonce(w.k->ck2, AEAD_KEY);
	if ((rc = transfer_header(me, to, w.k->ck2, raw, st)) != ENF_OK)
		goto out;
	header_made(me, raw, sizeof raw, made);
	if ((rc = atomic_write(out, raw, sizeof raw)) != ENF_OK) {
		because(st, "io-error", rc);
		goto out;
	}
	if ((rc = stream_init(&cw.s, raw, sizeof raw, w.k->ck2, st)) != ENF_OK)
		goto out;
	cw.out = out;
	cw.ct = w.ct2;
	rc = open_body(&s, in, w.ct, w.pt, emit_reseal, &cw);
out:
	stream_free(&s);
	stream_free(&cw.s);
	work_free(&w);
	return rc;
}

int seal_info_text(const struct seal_header *h, struct wbuf *out)
{
	char id[SEAL_ID_STR];

	seal_id_string(h->instance, id);
	wbuf_printf(out, "version %d\ninstance %s\n", h->version, id);
	if (h->kind == SEAL_TRANSFERRED) {
		seal_id_string(h->source, id);
		wbuf_printf(out, "transferred-from %s\n", id);
	}
	wbuf_printf(out, "host-bound %s\nchunk-size %u\nfile-id ",
		    h->flags & SEAL_FLAG_HOST ? "yes" : "no", h->chunk);
	hex_encode(out, h->file_id, sizeof h->file_id);
	wbuf_put(out, "\n", 1);
	return out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

static int prefix_err(int rc, const char *what)
{
	return enf_err(rc, "%s: %s", what, enf_errmsg());
}

/* Another instance's public identity file; its text handed back in *text
 * (the caller frees it) when text is not NULL. */
int seal_peer_read(const char *path, struct seal_peer *p, unsigned char **text, size_t *len)
{
	unsigned char *t = NULL;
	size_t n = 0;
	int rc;

	if ((rc = crypto_init()) != ENF_OK)
		return rc;
	if ((rc = io_read_file(path, SEAL_PEER_MAX, &t, &n)) != ENF_OK) {
		free(t);
		return rc == ENF_NO ? enf_err(ENF_NO, "%s: too large for an identity file", path) : rc;
	}
	rc = seal_peer_parse((const char *)t, n, p);
	if (rc == ENF_OK && text) {
		*text = t;
		*len = n;
	} else {
		free(t);
	}
	return rc == ENF_OK ? ENF_OK : prefix_err(rc, path);
}
