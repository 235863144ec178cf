/* The keystore: one GDBM file, records encoded with the SSH wire format.
 *
 *   "format"        "enf-keystore 1"
 *   "instance"      public identity: identity, X25519, storage and governance
 *                   public keys, binding, creation time
 *   "gov"           officer-controlled state (generation, lockout limit,
 *                   binding, policy digest, every key's name, algorithm,
 *                   state, purposes, public key and back end, every token's
 *                   definition) + Ed25519 signature by the governance key
 *   "role/ROLE"     Argon2id salt and parameters + the role's bundle under
 *                   AES-256-GCM
 *   "key/NAME"      private key, sealed to the storage key
 *   "pin/TOKEN"     a token's PIN, sealed to the storage key
 *   "tpm"           with --bind tpm: the TPM object the role keys need (tpm.h)
 *
 * Every write replaces the whole file (store.h): a kill -9 at any moment
 * leaves the old or the new state, readers never take a lock, and a deleted
 * record (a destroyed key) leaves no bytes behind in the file.  The
 * failed-unlock counters live beside it (lockout.h), so that counting an
 * attempt does not rewrite the keystore. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "io.h"
#include "keyfmt.h"
#include "keystore.h"
#include "lockout.h"
#include "store.h"
#include "tpm.h"

#define FORMAT "enf-keystore 1"
#define SALT_LEN 16
#define SEED_LEN 32
#define DEFAULT_LOCKOUT 10

/* What a role's passphrase unwraps. */
struct secrets {
	unsigned char id_seed[SEED_LEN];
	unsigned char x_sk[X25519_LEN];
	unsigned char seal_root[SEAL_ROOT_LEN];
	unsigned char gov_seed[SEED_LEN];	/* officer only */
	unsigned char storage_sk[X25519_LEN];	/* operator only */
	unsigned char gov_pub[32];		/* operator: its trust anchor */
};

struct gov {
	uint64_t generation;
	uint32_t lockout;
	uint32_t binding;
	int has_policy;
	unsigned char policy[32];
	struct ks_key *keys;	/* sorted by name */
	size_t nkeys;
	struct ks_token *tokens;	/* sorted by name */
	size_t ntokens;
};

struct keystore {
	char *home;
	struct store st;
	/* instance */
	unsigned char *inst_rec;
	size_t inst_len;
	unsigned char id_pub[32], x_pub[32], storage_pub[32], gov_pub[32];
	int64_t created;
	struct pubkey idpub;
	char instance_id[FINGERPRINT_MAX];
	/* gov is decoded from gov_rec, the governance record as read once at
	 * open (or as this process last wrote it).  An unlock verifies the
	 * signature over these very bytes and never reads the record again,
	 * so what was checked is what decisions and officer commits use. */
	unsigned char *gov_rec;
	size_t gov_len;
	struct gov gov;
	/* unlocked */
	int role;
	int unlock_result;		/* enum unlock_result of the last ks_unlock */
	uint32_t tries_left;		/* after the last attempt counted */
	struct secrets *sec;
	struct privkey idkey, govkey;
	/* --bind tpm: the TPM's part of every role key, from the first unlock */
	struct tpm_root *tpm;
	const char *tpm_fail;	/* audit code of a failed TPM step */
};

static int tpm_bind_new(struct keystore *ks, const struct ks_init_opts *o, struct wbuf *rec);

static void record_name(char *out, size_t n, const char *prefix, const char *name)
{
	snprintf(out, n, "%s/%s", prefix, name);
}

/* ---- the instance record ---- */

static int instance_encode(const struct keystore *ks, uint32_t binding, struct wbuf *w)
{
	wbuf_u32(w, 1);
	wbuf_string(w, ks->id_pub, 32);
	wbuf_string(w, ks->x_pub, 32);
	wbuf_string(w, ks->storage_pub, 32);
	wbuf_string(w, ks->gov_pub, 32);
	wbuf_u32(w, binding);
	wbuf_u64(w, (uint64_t)ks->created);
	return w->failed ? -1 : 0;
}

static int get32(struct rbuf *r, unsigned char out[32])
{
	const unsigned char *p;

	if (rbuf_fixed_string(r, 32, &p) < 0)
		return -1;
	memcpy(out, p, 32);
	return 0;
}

static int ed25519_blob(const unsigned char pk[32], struct pubkey *out)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	wbuf_cstring(&w, "ssh-ed25519");
	wbuf_string(&w, pk, 32);
	rc = w.failed ? ENF_FAIL : pubkey_from_blob(out, w.p, w.len);
	wbuf_free(&w);
	return rc;
}

static int instance_decode(struct keystore *ks, const unsigned char *p, size_t n)
{
	struct rbuf r;
	uint32_t version, binding;
	uint64_t created;

	rbuf_init(&r, p, n);
	if (rbuf_u32(&r, &version) < 0 || version != 1 || get32(&r, ks->id_pub) < 0 ||
	    get32(&r, ks->x_pub) < 0 || get32(&r, ks->storage_pub) < 0 ||
	    get32(&r, ks->gov_pub) < 0 || rbuf_u32(&r, &binding) < 0 ||
	    rbuf_u64(&r, &created) < 0 || !rbuf_done(&r) || binding > BIND_TPM)
		return -1;
	ks->created = (int64_t)created;
	if (ed25519_blob(ks->id_pub, &ks->idpub) != ENF_OK)
		return -1;
	pubkey_fingerprint(&ks->idpub, ks->instance_id);
	return 0;
}

/* ---- the governance record ---- */

static void key_clear(struct ks_key *k)
{
	for (size_t i = 0; i < k->npurposes; i++)
		free(k->purposes[i]);
	pubkey_free(&k->pub);
	memset(k, 0, sizeof *k);
}

static void gov_clear(struct gov *g)
{
	for (size_t i = 0; i < g->nkeys; i++)
		key_clear(&g->keys[i]);
	free(g->keys);
	free(g->tokens);
	memset(g, 0, sizeof *g);
}

/* Version 2 adds each key's back end (token name, CKA_ID: empty for the
 * keystore) and the token definitions; version 1 (no tokens) still opens,
 * and the first officer change writes it again as version 2. */
#define GOV_V1 "enf-gov 1"
#define GOV_V2 "enf-gov 2"

static void token_encode(struct wbuf *w, const struct ks_token *t)
{
	wbuf_cstring(w, t->name);
	wbuf_cstring(w, t->module);
	wbuf_cstring(w, t->label);
	wbuf_cstring(w, t->serial);
	wbuf_u32(w, t->timeout_ms);
}

static void gov_body(const struct keystore *ks, const struct gov *g, struct wbuf *w)
{
	unsigned char h[32];

	hash_buf(HASH_SHA256, ks->inst_rec, ks->inst_len, h);
	wbuf_cstring(w, GOV_V2);
	wbuf_cstring(w, ks->instance_id);
	wbuf_u64(w, g->generation);
	wbuf_string(w, h, 32);
	wbuf_u32(w, g->lockout);
	wbuf_u32(w, g->binding);
	wbuf_string(w, g->policy, g->has_policy ? 32 : 0);
	wbuf_u32(w, (uint32_t)g->nkeys);
	for (size_t i = 0; i < g->nkeys; i++) {
		const struct ks_key *k = &g->keys[i];
		wbuf_cstring(w, k->name);
		wbuf_u32(w, (uint32_t)k->alg);
		wbuf_u32(w, (uint32_t)k->state);
		wbuf_u64(w, (uint64_t)k->created);
		wbuf_string(w, k->pub.blob, k->pub.bloblen);
		wbuf_u32(w, (uint32_t)k->npurposes);
		for (size_t j = 0; j < k->npurposes; j++)
			wbuf_cstring(w, k->purposes[j]);
		wbuf_cstring(w, k->token);
		wbuf_string(w, k->id, k->idlen);
	}
	wbuf_u32(w, (uint32_t)g->ntokens);
	for (size_t i = 0; i < g->ntokens; i++)
		token_encode(w, &g->tokens[i]);
}

static char *get_name(struct rbuf *r)
{
	const unsigned char *p;
	size_t n;
	char *s;

	if (rbuf_string(r, &p, &n) < 0 || n == 0 || n > ENF_NAME_MAX)
		return NULL;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	if (!enf_valid_name(s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Keystore keys keep their public key as the SSH blob only (sexp NULL):
 * listing and encoding need nothing more, and building a libgcrypt key for
 * each of thousands of keys at every open would cost most of the time.
 * The blob is bound to the private key by the record's associated data. */
static int blob_pub(struct pubkey *k, int alg, const unsigned char *blob, size_t n)
{
	static const int type[] = { KT_ED25519, KT_P256, KT_P384, KT_RSA, KT_RSA };
	static const unsigned bits[] = { 256, 256, 384, 3072, 4096 };

	memset(k, 0, sizeof *k);
	if (n == 0 || !(k->blob = malloc(n)))
		return -1;
	memcpy(k->blob, blob, n);
	k->bloblen = n;
	k->type = type[alg];
	k->bits = bits[alg];
	return 0;
}

/* A printable string of 0..max bytes (min 1 when nonempty) into out. */
static int get_text(struct rbuf *r, char *out, size_t max, int nonempty)
{
	const unsigned char *p;
	size_t n;

	if (rbuf_string(r, &p, &n) < 0 || n > max || (nonempty && n == 0))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Version 2's back end of a key: string token ("" or a name), string id. */
static int backend_decode(struct rbuf *r, struct ks_key *k)
{
	const unsigned char *id;
	size_t idlen;

	if (get_text(r, k->token, ENF_NAME_MAX, 0) < 0 || rbuf_string(r, &id, &idlen) < 0 ||
	    idlen > KS_TOKEN_ID_MAX || (k->token[0] && (!enf_valid_name(k->token) || !idlen)) ||
	    (!k->token[0] && idlen))
		return -1;
	memcpy(k->id, id, idlen);
	k->idlen = idlen;
	return 0;
}

static int token_decode(struct rbuf *r, struct ks_token *t)
{
	if (get_text(r, t->name, ENF_NAME_MAX, 1) < 0 || !enf_valid_name(t->name) ||
	    get_text(r, t->module, KS_MODULE_MAX, 1) < 0 || t->module[0] != '/' ||
	    get_text(r, t->label, KS_LABEL_MAX, 1) < 0 ||
	    get_text(r, t->serial, KS_SERIAL_MAX, 0) < 0 || rbuf_u32(r, &t->timeout_ms) < 0 ||
	    t->timeout_ms == 0)
		return -1;
	return 0;
}

static int tokens_decode(struct rbuf *r, struct gov *g)
{
	uint32_t n;

	if (rbuf_u32(r, &n) < 0 || n > rbuf_left(r) / 20)
		return -1;
	if (!(g->tokens = calloc(n ? n : 1, sizeof *g->tokens)))
		return -1;
	for (; g->ntokens < n; g->ntokens++)
		if (token_decode(r, &g->tokens[g->ntokens]) < 0 ||
		    (g->ntokens > 0 &&
		     strcmp(g->tokens[g->ntokens - 1].name, g->tokens[g->ntokens].name) >= 0))
			return -1;
	/* Every token key that is not destroyed names a token that is defined
	 * (a destroyed one keeps the name of the token it was in). */
	for (size_t i = 0; i < g->nkeys; i++) {
		int found = !g->keys[i].token[0] || g->keys[i].state == KS_DESTROYED;
		for (size_t j = 0; j < g->ntokens && !found; j++)
			found = strcmp(g->keys[i].token, g->tokens[j].name) == 0;
		if (!found)
			return -1;
	}
	return 0;
}

static int key_decode(struct rbuf *r, struct ks_key *k, int v2)
{
	const unsigned char *blob;
	size_t bloblen;
	uint32_t alg, state, np;
	uint64_t created;
	char *name = get_name(r);

	if (!name)
		return -1;
	snprintf(k->name, sizeof k->name, "%s", name);
	free(name);
	if (rbuf_u32(r, &alg) < 0 || alg > ALG_RSA4096 || rbuf_u32(r, &state) < 0 ||
	    state > KS_DESTROYED || rbuf_u64(r, &created) < 0 ||
	    rbuf_string(r, &blob, &bloblen) < 0 || rbuf_u32(r, &np) < 0 || np == 0 ||
	    np > PURPOSES_MAX)
		return -1;
	k->alg = (int)alg;
	k->state = (int)state;
	k->created = (int64_t)created;
	for (; k->npurposes < np; k->npurposes++)
		if (!(k->purposes[k->npurposes] = get_name(r)))
			return -1;
	if (v2 && backend_decode(r, k) < 0)
		return -1;
	return blob_pub(&k->pub, k->alg, blob, bloblen);
}

/* 1 for version 2, 0 for version 1, -1 for anything else. */
static int gov_version(struct rbuf *r)
{
	const unsigned char *p;
	size_t n;

	if (rbuf_string(r, &p, &n) < 0 || n != strlen(GOV_V1))
		return -1;
	if (memcmp(p, GOV_V2, n) == 0)
		return 1;
	return memcmp(p, GOV_V1, n) == 0 ? 0 : -1;
}

/* Parses the body only; the signature is checked by gov_verify once a role
 * is unlocked and the governance public key is trusted. */
static int gov_decode(const struct keystore *ks, const unsigned char *body, size_t n,
		      struct gov *g)
{
	struct rbuf r;
	const unsigned char *h, *pol;
	size_t pollen;
	uint32_t nkeys;
	unsigned char want[32];
	int v2;

	memset(g, 0, sizeof *g);
	rbuf_init(&r, body, n);
	if ((v2 = gov_version(&r)) < 0 ||
	    rbuf_expect_cstring(&r, ks->instance_id) < 0 || rbuf_u64(&r, &g->generation) < 0 ||
	    rbuf_fixed_string(&r, 32, &h) < 0 || rbuf_u32(&r, &g->lockout) < 0 ||
	    rbuf_u32(&r, &g->binding) < 0 || rbuf_string(&r, &pol, &pollen) < 0 ||
	    (pollen != 0 && pollen != 32) || rbuf_u32(&r, &nkeys) < 0 ||
	    nkeys > rbuf_left(&r) / 16)
		return -1;
	hash_buf(HASH_SHA256, ks->inst_rec, ks->inst_len, want);
	if (!ct_equal(h, want, 32))
		return -1;
	g->has_policy = pollen == 32;
	if (g->has_policy)
		memcpy(g->policy, pol, 32);
	g->keys = calloc(nkeys ? nkeys : 1, sizeof *g->keys);
	if (!g->keys)
		return -1;
	for (; g->nkeys < nkeys; g->nkeys++) {
		if (key_decode(&r, &g->keys[g->nkeys], v2) < 0) {
			g->nkeys++;
			return -1;
		}
		if (g->nkeys > 0 && strcmp(g->keys[g->nkeys - 1].name, g->keys[g->nkeys].name) >= 0) {
			g->nkeys++;	/* decoded: the caller frees it with the rest */
			return -1;
		}
	}
	if (v2 && tokens_decode(&r, g) < 0)
		return -1;
	return rbuf_done(&r) ? 0 : -1;
}

/* "gov" = string body, string signature (SSH Ed25519 signature blob). */
static int gov_split(const unsigned char *p, size_t n, const unsigned char **body,
		     size_t *blen, const unsigned char **sig, size_t *slen)
{
	struct rbuf r;

	rbuf_init(&r, p, n);
	return rbuf_string(&r, body, blen) < 0 || rbuf_string(&r, sig, slen) < 0 ||
	       !rbuf_done(&r) ? -1 : 0;
}

/* The body grows with the number of keys, and libgcrypt cannot sign a
 * message over 64 KiB with Ed25519, so the signature is over its SHA-512. */
static void gov_digest(const unsigned char *body, size_t n, unsigned char out[64])
{
	hash_buf(HASH_SHA512, body, n, out);
}

static int gov_encode_signed(const struct keystore *ks, const struct gov *g, struct wbuf *out)
{
	struct wbuf body, sig;
	unsigned char h[64];
	int rc = ENF_FAIL;

	wbuf_init(&body, 0);
	wbuf_init(&sig, 0);
	gov_body(ks, g, &body);
	if (!body.failed)
		gov_digest(body.p, body.len, h);
	if (!body.failed && privkey_sign_ssh(&ks->govkey, h, sizeof h, &sig) == ENF_OK) {
		wbuf_string(out, body.p, body.len);
		wbuf_string(out, sig.p, sig.len);
		rc = out->failed ? ENF_FAIL : ENF_OK;
	}
	wbuf_free(&body);
	wbuf_free(&sig);
	return rc;
}

/* ---- role bundles ---- */

static void role_ad(const struct keystore *ks, int role, const unsigned char *salt,
		    const struct kdf_params *kp, struct wbuf *ad)
{
	wbuf_cstring(ad, "enf-role 1");
	wbuf_cstring(ad, role_name(role));
	wbuf_cstring(ad, ks->instance_id);
	wbuf_string(ad, salt, SALT_LEN);
	wbuf_u32(ad, kp->t_cost);
	wbuf_u32(ad, kp->m_cost_kib);
	wbuf_u32(ad, kp->parallelism);
}

static void bundle_encode(const struct secrets *s, int role, struct wbuf *w)
{
	wbuf_string(w, s->id_seed, SEED_LEN);
	wbuf_string(w, s->x_sk, X25519_LEN);
	wbuf_string(w, s->seal_root, SEAL_ROOT_LEN);
	if (role == ROLE_OFFICER) {
		wbuf_string(w, s->gov_seed, SEED_LEN);
	} else {
		wbuf_string(w, s->storage_sk, X25519_LEN);
		wbuf_string(w, s->gov_pub, 32);
	}
}

static int bundle_decode(struct secrets *s, int role, const unsigned char *p, size_t n)
{
	struct rbuf r;
	const unsigned char *a, *b, *c, *d, *e = NULL;

	rbuf_init(&r, p, n);
	if (rbuf_fixed_string(&r, SEED_LEN, &a) < 0 || rbuf_fixed_string(&r, X25519_LEN, &b) < 0 ||
	    rbuf_fixed_string(&r, SEAL_ROOT_LEN, &c) < 0 || rbuf_fixed_string(&r, 32, &d) < 0 ||
	    (role == ROLE_OPERATOR && rbuf_fixed_string(&r, 32, &e) < 0) || !rbuf_done(&r))
		return -1;
	memcpy(s->id_seed, a, SEED_LEN);
	memcpy(s->x_sk, b, X25519_LEN);
	memcpy(s->seal_root, c, SEAL_ROOT_LEN);
	if (role == ROLE_OFFICER) {
		memcpy(s->gov_seed, d, SEED_LEN);
	} else {
		memcpy(s->storage_sk, d, X25519_LEN);
		memcpy(s->gov_pub, e, 32);
	}
	return 0;
}

/* Role record: u32 1, string salt, u32 t, u32 m, u32 p, string nonce, string ct. */
static int role_wrap(const struct keystore *ks, int role, const struct secrets *s,
		     const struct secret *pass, const struct kdf_params *kp, struct wbuf *out)
{
	unsigned char salt[SALT_LEN], nonce[AEAD_NONCE], *kek = secure_alloc(AEAD_KEY), *ct = NULL;
	struct wbuf pt, ad;
	int rc = ENF_FAIL;

	wbuf_init(&pt, 1);
	wbuf_init(&ad, 0);
	random_nonce(salt, sizeof salt);
	random_nonce(nonce, sizeof nonce);
	bundle_encode(s, role, &pt);
	role_ad(ks, role, salt, kp, &ad);
	if (!kek || pt.failed || ad.failed || !(ct = malloc(pt.len + AEAD_TAG)))
		goto out;
	if (argon2id(pass->p, pass->n, salt, sizeof salt, kp, kek, AEAD_KEY) != ENF_OK ||
	    tpm_root_mix(ks->tpm, kek, AEAD_KEY) != ENF_OK ||
	    aead_seal(kek, nonce, ad.p, ad.len, pt.p, pt.len, ct) != ENF_OK)
		goto out;
	wbuf_u32(out, 1);
	wbuf_string(out, salt, sizeof salt);
	wbuf_u32(out, kp->t_cost);
	wbuf_u32(out, kp->m_cost_kib);
	wbuf_u32(out, kp->parallelism);
	wbuf_string(out, nonce, sizeof nonce);
	wbuf_string(out, ct, pt.len + AEAD_TAG);
	rc = out->failed ? ENF_FAIL : ENF_OK;
out:
	if (rc != ENF_OK)
		enf_err(ENF_FAIL, "cannot protect the %s credential", role_name(role));
	secure_free(kek, AEAD_KEY);
	free(ct);
	wbuf_free(&pt);
	wbuf_free(&ad);
	return rc;
}

/* ENF_NO: wrong passphrase (or an edited record: the two are one to us). */
static int role_unwrap(const struct keystore *ks, int role, const unsigned char *rec,
		       size_t n, const struct secret *pass, struct secrets *s)
{
	struct rbuf r;
	const unsigned char *salt, *nonce, *ct;
	size_t ctlen = 0;
	uint32_t version;
	struct kdf_params kp;
	unsigned char *kek = secure_alloc(AEAD_KEY), *pt = NULL;
	struct wbuf ad;
	int rc = ENF_FAIL;

	wbuf_init(&ad, 0);
	rbuf_init(&r, rec, n);
	if (!kek)
		goto out;
	if (rbuf_u32(&r, &version) < 0 || version != 1 ||
	    rbuf_fixed_string(&r, SALT_LEN, &salt) < 0 || rbuf_u32(&r, &kp.t_cost) < 0 ||
	    rbuf_u32(&r, &kp.m_cost_kib) < 0 || rbuf_u32(&r, &kp.parallelism) < 0 ||
	    rbuf_fixed_string(&r, AEAD_NONCE, &nonce) < 0 || rbuf_string(&r, &ct, &ctlen) < 0 ||
	    !rbuf_done(&r) || ctlen < AEAD_TAG || ctlen > 4096 ||
	    /* Bounds that keep an edited record from making us allocate or spin. */
	    kp.t_cost < 1 || kp.t_cost > 64 || kp.m_cost_kib < 8 ||
	    kp.m_cost_kib > 4u * 1024 * 1024 || kp.parallelism < 1 || kp.parallelism > 16) {
		rc = enf_err(ENF_FAIL, "%s: the %s record is corrupt", ks->st.path, role_name(role));
		goto out;
	}
	role_ad(ks, role, salt, &kp, &ad);
	pt = secure_alloc(ctlen);
	if (ad.failed || !pt || argon2id(pass->p, pass->n, salt, SALT_LEN, &kp, kek, AEAD_KEY) != ENF_OK ||
	    tpm_root_mix(ks->tpm, kek, AEAD_KEY) != ENF_OK)
		goto out;
	rc = aead_open(kek, nonce, ad.p, ad.len, ct, ctlen, pt);
	if (rc == ENF_OK && bundle_decode(s, role, pt, ctlen - AEAD_TAG) < 0)
		rc = enf_err(ENF_FAIL, "%s: the %s record is corrupt", ks->st.path, role_name(role));
out:
	secure_free(kek, AEAD_KEY);
	secure_free(pt, ctlen);
	wbuf_free(&ad);
	return rc;
}

/* ---- opening ---- */

static int load(struct keystore *ks)
{
	unsigned char *p = NULL;
	const unsigned char *body, *s;
	size_t n, blen, slen;
	int rc = ENF_FAIL;

	if (store_get(ks->st.db, "format", &p, &n) < 0 || n != strlen(FORMAT) ||
	    memcmp(p, FORMAT, n) != 0)
		goto bad;
	free(p);
	p = NULL;
	if (store_get(ks->st.db, "instance", &ks->inst_rec, &ks->inst_len) < 0 ||
	    instance_decode(ks, ks->inst_rec, ks->inst_len) < 0)
		goto bad;
	if (store_get(ks->st.db, "gov", &ks->gov_rec, &ks->gov_len) < 0 ||
	    gov_split(ks->gov_rec, ks->gov_len, &body, &blen, &s, &slen) < 0 ||
	    gov_decode(ks, body, blen, &ks->gov) < 0)
		goto bad;
	rc = ENF_OK;
	goto out;
bad:
	rc = enf_err(ENF_FAIL, "%s: not a valid enf keystore (corrupt or truncated)", ks->st.path);
out:
	free(p);
	return rc;
}

static struct keystore *ks_alloc(const char *home)
{
	struct keystore *ks = calloc(1, sizeof *ks);

	if (!ks)
		return NULL;
	ks->role = -1;
	if (!(ks->home = strdup(home))) {
		free(ks);
		return NULL;
	}
	return ks;
}

/* Refuses a missing or unsafe keystore before GDBM reads a byte of it. */
static int check_file(const char *home)
{
	char *path = home_path(home, KEYSTORE_FILE);
	int rc;

	if (!path)
		return enf_err(ENF_FAIL, "out of memory");
	if (access(path, F_OK) < 0)
		rc = enf_err(ENF_FAIL, "%s: no keystore here (enf-keygen init creates one)", home);
	else
		rc = io_check_private(path);
	free(path);
	return rc;
}

int ks_open(const char *home, struct keystore **out)
{
	struct keystore *ks;
	int rc;

	*out = NULL;
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	if ((rc = home_check(home)) != ENF_OK || (rc = check_file(home)) != ENF_OK)
		return rc;
	if (!(ks = ks_alloc(home)))
		return enf_err(ENF_FAIL, "out of memory");
	if ((rc = store_open(&ks->st, home, KEYSTORE_FILE)) != ENF_OK || (rc = load(ks)) != ENF_OK) {
		ks_close(ks);
		return rc;
	}
	*out = ks;
	return ENF_OK;
}

int ks_own_view(struct keystore *ks) { return store_own_view(&ks->st); }

int ks_open_home(const char *opt, struct keystore **out)
{
	char *home = NULL;
	int rc;

	*out = NULL;
	if ((rc = home_resolve(opt, &home)) == ENF_OK)
		rc = ks_open(home, out);
	free(home);
	return rc;
}

static void forget_secrets(struct keystore *ks)
{
	if (ks->sec)
		secure_free(ks->sec, sizeof *ks->sec);
	ks->sec = NULL;
	privkey_free(&ks->idkey);
	privkey_free(&ks->govkey);
	ks->role = -1;
}

void ks_close(struct keystore *ks)
{
	if (!ks)
		return;
	forget_secrets(ks);
	tpm_root_free(ks->tpm);
	store_close(&ks->st);
	gov_clear(&ks->gov);
	free(ks->gov_rec);
	pubkey_free(&ks->idpub);
	free(ks->inst_rec);
	free(ks->home);
	free(ks);
}

/* ---- unlocking ---- */

static int locked_error(int role)
{
	if (role == ROLE_OFFICER)
		return enf_err(ENF_FAIL, "officer locked after too many failed unlocks; "
			       "the instance must be initialised again");
	return enf_err(ENF_FAIL, "operator locked after too many failed unlocks; "
		       "the officer resets it with 'enf-keygen reset-lockout'");
}

static int uncounted(void)
{
	return enf_err(ENF_FAIL, "%s; cannot count the unlock attempt, so no passphrase is tried",
		       enf_errmsg());
}

/* Counts an attempt of role before its passphrase is tried, under the
 * keystore's lock so that parallel guesses are counted one by one: at the
 * limit it refuses (ENF_FAIL "locked", nothing written), else it writes
 * the count plus one durably.  When the count cannot be read or written
 * the attempt is refused too: a guess that is not counted is not tried. */
static int attempt_begin(struct keystore *ks, int role)
{
	struct lockout_counts c;
	int fd = store_lock(&ks->st), rc;

	ks->unlock_result = UNLOCK_UNCOUNTED;
	if (fd < 0)
		return uncounted();
	if ((rc = lockout_load(ks->home, ks->instance_id, &c)) == ENF_OK) {
		if (c.n[role] >= ks->gov.lockout) {
			ks->unlock_result = UNLOCK_LOCKED;
			rc = locked_error(role);
		} else {
			c.n[role]++;
			ks->tries_left = ks->gov.lockout - c.n[role];
			rc = lockout_save(ks->home, ks->instance_id, &c);
		}
	}
	close(fd);
	return rc == ENF_OK || ks->unlock_result == UNLOCK_LOCKED ? rc : uncounted();
}

/* Clears role's count: a passphrase that was right, or reset-lockout. */
static int attempt_clear(struct keystore *ks, int role)
{
	struct lockout_counts c;
	int fd = store_lock(&ks->st), rc;

	if (fd < 0)
		return ENF_FAIL;
	if ((rc = lockout_load(ks->home, ks->instance_id, &c)) == ENF_OK && c.n[role] != 0) {
		c.n[role] = 0;
		rc = lockout_save(ks->home, ks->instance_id, &c);
	}
	close(fd);
	return rc;
}

/* A wrong passphrase, already counted; always an error. */
static int wrong_passphrase(struct keystore *ks, int role)
{
	ks->unlock_result = UNLOCK_WRONG;
	if (ks->tries_left == 0)
		return enf_err(ENF_FAIL, "wrong %s passphrase; %s", role_name(role),
			       role == ROLE_OFFICER
				       ? "officer locked: the instance must be initialised again"
				       : "operator locked: the officer resets it with 'enf-keygen "
					 "reset-lockout'");
	return enf_err(ENF_FAIL, "wrong %s passphrase (%u %s left)", role_name(role),
		       (unsigned)ks->tries_left, ks->tries_left == 1 ? "try" : "tries");
}

int ks_tries_left(const struct keystore *ks, int role)
{
	struct lockout_counts c;

	if (lockout_load(ks->home, ks->instance_id, &c) != ENF_OK)
		return -1;
	return c.n[role] >= ks->gov.lockout ? 0 : (int)(ks->gov.lockout - c.n[role]);
}

int ks_role_locked(const struct keystore *ks, int role)
{
	return ks_tries_left(ks, role) <= 0;
}

int ks_unlock_result(const struct keystore *ks) { return ks->unlock_result; }

/* Checks the signature over ks->gov_rec, the bytes ks->gov was decoded
 * from: never over a fresh read of the file, which may have changed since. */
static int gov_verify(struct keystore *ks)
{
	struct pubkey gp = { 0 };
	unsigned char h[64];
	const unsigned char *body, *sig;
	size_t blen, slen;
	int rc = ENF_NO;

	if (!ct_equal(ks->gov_pub, ks->sec->gov_pub, 32) || ed25519_blob(ks->gov_pub, &gp) != ENF_OK)
		goto out;
	if (gov_split(ks->gov_rec, ks->gov_len, &body, &blen, &sig, &slen) < 0)
		goto out;
	gov_digest(body, blen, h);
	rc = pubkey_verify_ssh(&gp, h, sizeof h, sig, slen);
out:
	pubkey_free(&gp);
	return rc == ENF_OK ? ENF_OK
			    : enf_err(ENF_NO, "%s: governance state does not verify: the keystore "
				      "was modified outside enf", ks->st.path);
}

/* The unwrapped secrets must match the public identity they claim. */
static int secrets_activate(struct keystore *ks, int role)
{
	unsigned char pk[32];

	if (privkey_ed25519_from_seed(&ks->idkey, ks->sec->id_seed) != ENF_OK)
		return ENF_FAIL;
	if (!pubkey_equal(&ks->idkey.pub, &ks->idpub))
		return enf_err(ENF_NO, "%s: identity key does not match the instance", ks->st.path);
	if (role == ROLE_OFFICER) {
		if (privkey_ed25519_from_seed(&ks->govkey, ks->sec->gov_seed) != ENF_OK)
			return ENF_FAIL;
		/* The officer's trust anchor is the key it holds. */
		memcpy(pk, ks->govkey.pub.blob + ks->govkey.pub.bloblen - 32, 32);
		memcpy(ks->sec->gov_pub, pk, 32);
	}
	ks->role = role;
	return gov_verify(ks);
}

static int role_record(const struct keystore *ks, GDBM_FILE db, int role, unsigned char **p,
		       size_t *n)
{
	char k[32];

	record_name(k, sizeof k, "role", role_name(role));
	if (store_get(db, k, p, n) < 0)
		return enf_err(ENF_FAIL, "%s: no %s credential (corrupt keystore)", ks->st.path,
			       role_name(role));
	return ENF_OK;
}

int ks_unlock(struct keystore *ks, int role, const struct secret *pass)
{
	unsigned char *rec = NULL;
	size_t n;
	int rc;

	forget_secrets(ks);
	ks->unlock_result = UNLOCK_ERROR;
	/* First, so that another TPM fails before any passphrase is tried. */
	if ((rc = ks_tpm_unlock(ks)) != ENF_OK)
		return rc;
	if ((rc = role_record(ks, ks->st.db, role, &rec, &n)) != ENF_OK)
		return rc;
	if ((rc = attempt_begin(ks, role)) != ENF_OK) {
		free(rec);
		return rc;
	}
	ks->unlock_result = UNLOCK_ERROR;
	if (!(ks->sec = secure_alloc(sizeof *ks->sec))) {
		free(rec);
		return enf_err(ENF_FAIL, "out of secure memory");
	}
	rc = role_unwrap(ks, role, rec, n, pass, ks->sec);
	free(rec);
	if (rc == ENF_NO) {
		forget_secrets(ks);
		return wrong_passphrase(ks, role);
	}
	/* The passphrase was right: that clears the count, whatever follows. */
	if (rc == ENF_OK && (rc = attempt_clear(ks, role)) == ENF_OK &&
	    (rc = secrets_activate(ks, role)) == ENF_NO)
		ks->unlock_result = UNLOCK_TAMPERED;
	if (rc == ENF_OK)
		ks->unlock_result = UNLOCK_OK;
	else
		forget_secrets(ks);
	return rc;
}

int ks_unlocked_role(const struct keystore *ks) { return ks->role; }

/* ---- public view ---- */

const struct pubkey *ks_identity_pub(const struct keystore *ks) { return &ks->idpub; }
const char *ks_instance_id(const struct keystore *ks) { return ks->instance_id; }
const unsigned char *ks_x25519_pub(const struct keystore *ks) { return ks->x_pub; }
int ks_binding(const struct keystore *ks) { return (int)ks->gov.binding; }
const char *ks_home(const struct keystore *ks) { return ks->home; }

int ks_instance_export(const struct keystore *ks, struct wbuf *out)
{
	if (pubkey_to_line(&ks->idpub, NULL, out) != ENF_OK)
		return ENF_FAIL;
	wbuf_printf(out, " enf-instance\nenf-x25519 ");
	base64_encode(out, ks->x_pub, 32, 1);
	wbuf_put(out, "\n", 1);
	wbuf_cstr_terminate(out);
	return out->failed ? ENF_FAIL : ENF_OK;
}

static int need_role(const struct keystore *ks, int role)
{
	if (ks->role < 0 || (role >= 0 && ks->role != role))
		return enf_err(ENF_FAIL, "this needs the %s credential",
			       role >= 0 ? role_name(role) : "officer or operator");
	return ENF_OK;
}

const struct privkey *ks_identity_key(const struct keystore *ks)
{
	return ks->role >= 0 ? &ks->idkey : NULL;
}

int ks_x25519_secret(const struct keystore *ks, unsigned char sk[X25519_LEN])
{
	if (need_role(ks, -1) != ENF_OK)
		return ENF_FAIL;
	memcpy(sk, ks->sec->x_sk, X25519_LEN);
	return ENF_OK;
}

int ks_seal_root(const struct keystore *ks, unsigned char out[SEAL_ROOT_LEN])
{
	if (need_role(ks, -1) != ENF_OK)
		return ENF_FAIL;
	memcpy(out, ks->sec->seal_root, SEAL_ROOT_LEN);
	return ENF_OK;
}

size_t ks_key_count(const struct keystore *ks) { return ks->gov.nkeys; }

const struct ks_key *ks_key_at(const struct keystore *ks, size_t i)
{
	return i < ks->gov.nkeys ? &ks->gov.keys[i] : NULL;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, ((const struct ks_key *)b)->name);
}

const struct ks_key *ks_key_find(const struct keystore *ks, const char *name)
{
	return ks->gov.nkeys ? bsearch(name, ks->gov.keys, ks->gov.nkeys, sizeof *ks->gov.keys,
				       key_cmp)
			     : NULL;
}

int ks_policy_digest(const struct keystore *ks, unsigned char out[32], int *present)
{
	*present = ks->gov.has_policy;
	if (*present)
		memcpy(out, ks->gov.policy, 32);
	return ENF_OK;
}

/* ---- governance changes (officer) ---- */

/* A governance change: the new state, the record changes that go with it,
 * and the generation it was based on, so that two officers acting at once
 * cannot silently undo each other. */
struct gov_change {
	struct keystore *ks;
	struct gov next;
	struct changes extra;
	uint64_t based_on;
	struct wbuf rec;	/* the signed record written, kept as ks->gov_rec */
};

/* The generation of the file's governance record, without parsing its keys. */
static int gov_generation(const struct keystore *ks, GDBM_FILE db, uint64_t *gen)
{
	unsigned char *p = NULL;
	const unsigned char *body, *sig;
	size_t n, blen, slen;
	struct rbuf r;
	int rc = -1;

	if (store_get(db, "gov", &p, &n) == 0 && gov_split(p, n, &body, &blen, &sig, &slen) == 0) {
		rbuf_init(&r, body, blen);
		if (gov_version(&r) >= 0 &&
		    rbuf_expect_cstring(&r, ks->instance_id) == 0 && rbuf_u64(&r, gen) == 0)
			rc = 0;
	}
	free(p);
	return rc;
}

static int mutate_gov(void *ctx, GDBM_FILE cur, struct changes *cs)
{
	struct gov_change *gc = ctx;
	struct keystore *ks = gc->ks;
	uint64_t now;

	if (!cur || gov_generation(ks, cur, &now) < 0)
		return enf_err(ENF_FAIL, "%s: not a valid enf keystore", ks->st.path);
	if (now != gc->based_on)
		return enf_err(ENF_FAIL, "the keystore was changed by another process; try again");
	gc->next.generation = gc->based_on + 1;
	wbuf_free(&gc->rec);
	wbuf_init(&gc->rec, 0);
	if (gov_encode_signed(ks, &gc->next, &gc->rec) != ENF_OK ||
	    wbuf_put(change_put(cs, "gov"), gc->rec.p, gc->rec.len) < 0)
		return enf_err(ENF_FAIL, "cannot sign the governance state");
	/* The record the signed state names by its hash, as verified at the
	 * unlock, not whatever the file holds now. */
	wbuf_put(change_put(cs, "instance"), ks->inst_rec, ks->inst_len);
	/* Hand the prepared record changes over to the rewrite. */
	return changes_take(cs, &gc->extra) < 0 ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

/* Copies the current governance state into gc->next (deep copy of keys). */
static int gov_dup(const struct gov *from, struct gov *to, size_t extra)
{
	*to = *from;
	to->tokens = NULL;	/* never the original's, should this fail */
	to->keys = calloc(from->nkeys + extra + 1, sizeof *to->keys);
	if (!to->keys)
		return -1;
	for (to->nkeys = 0; to->nkeys < from->nkeys; to->nkeys++) {
		const struct ks_key *a = &from->keys[to->nkeys];
		struct ks_key *b = &to->keys[to->nkeys];
		*b = *a;
		memset(&b->pub, 0, sizeof b->pub);
		for (size_t j = 0; j < a->npurposes; j++)
			if (!(b->purposes[j] = strdup(a->purposes[j])))
				return -1;
		if (blob_pub(&b->pub, a->alg, a->pub.blob, a->pub.bloblen) < 0)
			return -1;
	}
	/* One spare slot: token add appends to it. */
	to->tokens = calloc(from->ntokens + 1, sizeof *to->tokens);
	if (!to->tokens)
		return -1;
	if (from->ntokens)
		memcpy(to->tokens, from->tokens, from->ntokens * sizeof *to->tokens);
	return 0;
}

static int gov_commit(struct keystore *ks, struct gov_change *gc)
{
	int rc;

	gc->ks = ks;
	gc->based_on = ks->gov.generation;
	wbuf_init(&gc->rec, 0);
	rc = store_rewrite(&ks->st, mutate_gov, gc);
	changes_free(&gc->extra);
	if (rc == ENF_OK) {
		gov_clear(&ks->gov);
		ks->gov = gc->next;
		free(ks->gov_rec);
		ks->gov_rec = gc->rec.p;	/* handed over, not freed */
		ks->gov_len = gc->rec.len;
	} else {
		gov_clear(&gc->next);
		wbuf_free(&gc->rec);
	}
	return rc;
}

static int gov_begin(struct keystore *ks, struct gov_change *gc, size_t extra_keys)
{
	memset(gc, 0, sizeof *gc);
	if (need_role(ks, ROLE_OFFICER) != ENF_OK)
		return ENF_FAIL;
	if (gov_dup(&ks->gov, &gc->next, extra_keys) < 0) {
		gov_clear(&gc->next);
		return enf_err(ENF_FAIL, "out of memory");
	}
	return ENF_OK;
}

static void key_ad(const struct keystore *ks, const char *name, int alg,
		   const struct pubkey *pub, struct wbuf *ad)
{
	wbuf_cstring(ad, "enf-key 1");
	wbuf_cstring(ad, ks->instance_id);
	wbuf_cstring(ad, name);
	wbuf_u32(ad, (uint32_t)alg);
	wbuf_string(ad, pub->blob, pub->bloblen);
}

/* Seals the private key to the operator's storage key: the officer who
 * creates it can never open it again. */
static int seal_private(const struct keystore *ks, const char *name, const struct privkey *k,
			struct wbuf *out)
{
	struct wbuf priv, ad;
	int rc = ENF_FAIL;

	wbuf_init(&priv, 1);
	wbuf_init(&ad, 0);
	key_ad(ks, name, k->alg, &k->pub, &ad);
	if (privkey_save(k, &priv) == ENF_OK && !ad.failed) {
		size_t n = priv.len + SEALBOX_OVERHEAD;
		unsigned char *ct = malloc(n);
		if (ct && sealbox_seal(ks->storage_pub, "enf key", ad.p, ad.len, priv.p, priv.len,
				       ct) == ENF_OK && wbuf_put(out, ct, n) == 0)
			rc = ENF_OK;
		free(ct);
	}
	wbuf_free(&priv);
	wbuf_free(&ad);
	return rc;
}

static int purposes_valid(char *const *purposes, size_t n)
{
	if (n == 0 || n > PURPOSES_MAX)
		return enf_err(ENF_USAGE, "give 1 to %d purposes", PURPOSES_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!enf_valid_name(purposes[i]))
			return enf_err(ENF_USAGE, "invalid purpose '%s': use [a-z0-9][a-z0-9._-]{0,63}",
				       purposes[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(purposes[i], purposes[j]) == 0)
				return enf_err(ENF_USAGE, "purpose '%s' given twice", purposes[i]);
	}
	return ENF_OK;
}

static int name_free(const struct keystore *ks, const char *name)
{
	if (!enf_valid_name(name))
		return enf_err(ENF_USAGE, "invalid key name '%s': use [a-z0-9][a-z0-9._-]{0,63}", name);
	if (ks_key_find(ks, name))
		return enf_err(ENF_NO, "a key named '%s' exists already", name);
	return ENF_OK;
}

/* Appends a new active key to gc (sorted later). */
static struct ks_key *append_key(struct gov_change *gc, const char *name, int alg,
				 const struct pubkey *pub, char *const *purposes, size_t npurposes)
{
	struct ks_key *k = &gc->next.keys[gc->next.nkeys];

	memset(k, 0, sizeof *k);
	gc->next.nkeys++;
	snprintf(k->name, sizeof k->name, "%s", name);
	k->alg = alg;
	k->state = KS_ACTIVE;
	k->created = (int64_t)time(NULL);
	for (; k->npurposes < npurposes; k->npurposes++)
		if (!(k->purposes[k->npurposes] = strdup(purposes[k->npurposes])))
			break;
	if (k->npurposes < npurposes || blob_pub(&k->pub, alg, pub->blob, pub->bloblen) < 0) {
		enf_err(ENF_FAIL, "out of memory");
		return NULL;
	}
	return k;
}

/* Appends a new key to gc (sorted later) and its sealed private record. */
static int add_key(struct keystore *ks, struct gov_change *gc, const char *name, int alg,
		   char *const *purposes, size_t npurposes)
{
	struct privkey priv = { 0 };
	char rec[ENF_NAME_MAX + 16];
	int rc;

	if ((rc = name_free(ks, name)) != ENF_OK)
		return rc;
	if ((rc = privkey_generate(&priv, alg)) != ENF_OK)
		return rc;
	record_name(rec, sizeof rec, "key", name);
	if (!append_key(gc, name, alg, &priv.pub, purposes, npurposes))
		rc = ENF_FAIL;
	else if (seal_private(ks, name, &priv, change_put(&gc->extra, rec)) != ENF_OK)
		rc = enf_err(ENF_FAIL, "cannot protect the new key");
	privkey_free(&priv);
	return rc;
}

static int key_order(const void *a, const void *b)
{
	return strcmp(((const struct ks_key *)a)->name, ((const struct ks_key *)b)->name);
}

int ks_key_new_many(struct keystore *ks, char *const *names, size_t n, int alg,
		    char *const *purposes, size_t npurposes)
{
	struct gov_change gc;
	int rc;

	if (alg < 0 || alg > ALG_RSA4096)
		return enf_err(ENF_USAGE, "unknown algorithm");
	if ((rc = purposes_valid(purposes, npurposes)) != ENF_OK)
		return rc;
	if ((rc = gov_begin(ks, &gc, n)) != ENF_OK)
		return rc;
	for (size_t i = 0; i < n && rc == ENF_OK; i++)
		rc = add_key(ks, &gc, names[i], alg, purposes, npurposes);
	qsort(gc.next.keys, gc.next.nkeys, sizeof *gc.next.keys, key_order);
	for (size_t i = 1; i < gc.next.nkeys && rc == ENF_OK; i++)
		if (strcmp(gc.next.keys[i - 1].name, gc.next.keys[i].name) == 0)
			rc = enf_err(ENF_NO, "key name '%s' given twice", gc.next.keys[i].name);
	if (rc != ENF_OK) {
		changes_free(&gc.extra);
		gov_clear(&gc.next);
		return rc;
	}
	return gov_commit(ks, &gc);
}

int ks_key_new(struct keystore *ks, const char *name, int alg, char *const *purposes,
	       size_t npurposes, const struct ks_key **out)
{
	char *names[1] = { (char *)name };
	int rc = ks_key_new_many(ks, names, 1, alg, purposes, npurposes);

	if (rc == ENF_OK && out)
		*out = ks_key_find(ks, name);
	return rc;
}

int ks_key_set_state(struct keystore *ks, const char *name, int state)
{
	struct gov_change gc;
	const struct ks_key *cur = ks_key_find(ks, name);
	char rec[ENF_NAME_MAX + 16];
	int rc;

	if (!cur)
		return enf_err(ENF_NO, "no key named '%s'", name);
	if (state <= cur->state)
		return enf_err(ENF_NO, "key '%s' is %s: states only move forward "
			       "(active, deactivated, compromised, destroyed)", name,
			       key_state_name(cur->state));
	if ((rc = gov_begin(ks, &gc, 0)) != ENF_OK)
		return rc;
	for (size_t i = 0; i < gc.next.nkeys; i++)
		if (strcmp(gc.next.keys[i].name, name) == 0)
			gc.next.keys[i].state = state;
	/* Leaving active, a key can never sign again (states only move
	 * forward), so its private record goes now rather than at destroyed:
	 * otherwise the operator passphrase would still open it offline.  The
	 * rewrite copies every other record into a new file: the private
	 * key's bytes do not survive anywhere in it. */
	record_name(rec, sizeof rec, "key", name);
	change_del(&gc.extra, rec);
	return gov_commit(ks, &gc);
}

int ks_key_private(const struct keystore *ks, const char *name, struct privkey *out)
{
	const struct ks_key *k = ks_key_find(ks, name);
	char rec[ENF_NAME_MAX + 16];
	unsigned char *ct = NULL, *pt = NULL;
	size_t n = 0;
	struct wbuf ad;
	int rc = ENF_FAIL;

	memset(out, 0, sizeof *out);
	if (need_role(ks, ROLE_OPERATOR) != ENF_OK)
		return ENF_FAIL;
	if (!k || k->state != KS_ACTIVE)
		return enf_err(ENF_NO, "key '%s' is not available", name);
	if (k->token[0])
		return enf_err(ENF_FAIL, "key '%s' is held in token '%s'", name, k->token);
	wbuf_init(&ad, 0);
	key_ad(ks, name, k->alg, &k->pub, &ad);
	record_name(rec, sizeof rec, "key", name);
	if (store_get(ks->st.db, rec, &ct, &n) < 0 || n < SEALBOX_OVERHEAD ||
	    !(pt = secure_alloc(n - SEALBOX_OVERHEAD)) ||
	    sealbox_open(ks->sec->storage_sk, "enf key", ad.p, ad.len, ct, n, pt) != ENF_OK ||
	    privkey_load(out, k->alg, pt, n - SEALBOX_OVERHEAD) != ENF_OK ||
	    !pubkey_equal(&out->pub, &k->pub)) {
		privkey_free(out);
		rc = enf_err(ENF_NO, "%s: key '%s' does not open: the keystore was modified "
			     "outside enf", ks->st.path, name);
	} else {
		rc = ENF_OK;
	}
	if (pt)
		secure_free(pt, n - SEALBOX_OVERHEAD);
	free(ct);
	wbuf_free(&ad);
	return rc;
}

int ks_set_policy_digest(struct keystore *ks, const unsigned char digest[32])
{
	struct gov_change gc;
	int rc;

	if ((rc = gov_begin(ks, &gc, 0)) != ENF_OK)
		return rc;
	gc.next.has_policy = 1;
	memcpy(gc.next.policy, digest, 32);
	return gov_commit(ks, &gc);
}

int ks_passwd(struct keystore *ks, int role, const struct secret *old_op,
	      const struct secret *newpass)
{
	struct gov_change gc;
	struct secrets *op = NULL;
	const struct secrets *src = ks->sec;
	unsigned char *rec = NULL;
	size_t n;
	char k[32];
	int rc;

	if ((rc = gov_begin(ks, &gc, 0)) != ENF_OK)
		return rc;
	if (role == ROLE_OPERATOR) {
		/* Only the operator's own passphrase unwraps its bundle. */
		if (!(op = secure_alloc(sizeof *op))) {
			rc = enf_err(ENF_FAIL, "out of secure memory");
			goto out;
		}
		if ((rc = role_record(ks, ks->st.db, ROLE_OPERATOR, &rec, &n)) != ENF_OK ||
		    (rc = attempt_begin(ks, ROLE_OPERATOR)) != ENF_OK)
			goto out;
		rc = role_unwrap(ks, ROLE_OPERATOR, rec, n, old_op, op);
		if (rc == ENF_NO)
			rc = wrong_passphrase(ks, ROLE_OPERATOR);
		else if (rc == ENF_OK)
			rc = attempt_clear(ks, ROLE_OPERATOR);
		if (rc != ENF_OK)
			goto out;
		src = op;
	}
	record_name(k, sizeof k, "role", role_name(role));
	if ((rc = role_wrap(ks, role, src, newpass, &KDF_DEFAULT, change_put(&gc.extra, k))) != ENF_OK)
		goto out;
	rc = gov_commit(ks, &gc);
	goto done;
out:
	changes_free(&gc.extra);
	gov_clear(&gc.next);
done:
	if (op)
		secure_free(op, sizeof *op);
	free(rec);
	return rc;
}

int ks_reset_lockout(struct keystore *ks)
{
	if (need_role(ks, ROLE_OFFICER) != ENF_OK)
		return ENF_FAIL;
	return attempt_clear(ks, ROLE_OPERATOR);
}

/* ---- creation ---- */

struct init_ctx {
	struct keystore *ks;
	const struct ks_init_opts *o;
	const struct secret *officer, *operator_;
	struct wbuf tpm_rec;
};

static int new_secrets(struct keystore *ks, struct secrets *s)
{
	struct privkey gk = { 0 };
	int rc;

	random_key(s->id_seed, SEED_LEN);
	random_key(s->seal_root, SEAL_ROOT_LEN);
	random_key(s->gov_seed, SEED_LEN);
	if (x25519_keygen(s->x_sk, ks->x_pub) != ENF_OK ||
	    x25519_keygen(s->storage_sk, ks->storage_pub) != ENF_OK ||
	    privkey_ed25519_from_seed(&ks->idkey, s->id_seed) != ENF_OK ||
	    privkey_ed25519_from_seed(&gk, s->gov_seed) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot generate the instance keys");
	memcpy(ks->id_pub, ks->idkey.pub.blob + ks->idkey.pub.bloblen - 32, 32);
	memcpy(ks->gov_pub, gk.pub.blob + gk.pub.bloblen - 32, 32);
	memcpy(s->gov_pub, ks->gov_pub, 32);
	rc = pubkey_copy(&ks->idpub, &ks->idkey.pub);
	ks->govkey = gk;
	pubkey_fingerprint(&ks->idpub, ks->instance_id);
	return rc;
}

static int mutate_init(void *ctx, GDBM_FILE cur, struct changes *cs)
{
	struct init_ctx *ic = ctx;
	struct keystore *ks = ic->ks;
	const struct kdf_params *kp = ic->o->kdf ? ic->o->kdf : &KDF_DEFAULT;
	struct wbuf inst, gov;
	int rc;

	if (cur)
		return enf_err(ENF_FAIL, "%s: an instance exists here already", ks->home);
	ks->created = (int64_t)time(NULL);
	wbuf_init(&inst, 0);
	if (instance_encode(ks, (uint32_t)ic->o->binding, &inst) < 0) {
		wbuf_free(&inst);
		return enf_err(ENF_FAIL, "out of memory");
	}
	ks->inst_rec = inst.p;
	ks->inst_len = inst.len;
	ks->gov.lockout = ic->o->lockout ? ic->o->lockout : DEFAULT_LOCKOUT;
	ks->gov.binding = (uint32_t)ic->o->binding;
	ks->gov.generation = 1;
	wbuf_put(change_put(cs, "format"), FORMAT, strlen(FORMAT));
	wbuf_put(change_put(cs, "instance"), ks->inst_rec, ks->inst_len);
	if (ic->tpm_rec.len)
		wbuf_put(change_put(cs, "tpm"), ic->tpm_rec.p, ic->tpm_rec.len);
	wbuf_init(&gov, 0);
	if (gov_encode_signed(ks, &ks->gov, &gov) != ENF_OK ||
	    wbuf_put(change_put(cs, "gov"), gov.p, gov.len) < 0) {
		wbuf_free(&gov);
		return enf_err(ENF_FAIL, "cannot sign the governance state");
	}
	ks->gov_rec = gov.p;
	ks->gov_len = gov.len;
	if ((rc = role_wrap(ks, ROLE_OFFICER, ks->sec, ic->officer, kp,
			    change_put(cs, "role/officer"))) != ENF_OK)
		return rc;
	return role_wrap(ks, ROLE_OPERATOR, ks->sec, ic->operator_, kp,
			 change_put(cs, "role/operator"));
}

static int make_home(const char *home)
{
	struct stat st;

	if (mkdir(home, 0700) == 0)
		return ENF_OK;
	if (errno != EEXIST)
		return enf_err(ENF_FAIL, "%s: %s", home, strerror(errno));
	if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode))
		return enf_err(ENF_FAIL, "%s: exists and is not a directory", home);
	return io_check_private(home);
}

int ks_init(const char *home, const struct ks_init_opts *o, const struct secret *officer,
	    const struct secret *operator_, struct keystore **out)
{
	struct init_ctx ic = { NULL, o, officer, operator_, { 0 } };
	struct keystore *ks;
	int rc;

	*out = NULL;
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	if ((rc = make_home(home)) != ENF_OK)
		return rc;
	if (!(ks = ks_alloc(home)))
		return enf_err(ENF_FAIL, "out of memory");
	if ((rc = store_open(&ks->st, home, KEYSTORE_FILE)) != ENF_OK)
		goto fail;
	if (store_exists(&ks->st)) {
		rc = enf_err(ENF_FAIL, "%s: an instance exists here already", home);
		goto fail;
	}
	if (!(ks->sec = secure_alloc(sizeof *ks->sec))) {
		rc = enf_err(ENF_FAIL, "out of secure memory");
		goto fail;
	}
	ic.ks = ks;
	/* Fresh counts for the new instance id, replacing any left behind. */
	if ((rc = new_secrets(ks, ks->sec)) != ENF_OK ||
	    (rc = lockout_save(home, ks->instance_id, &(struct lockout_counts){ { 0, 0 } })) != ENF_OK ||
	    (rc = tpm_bind_new(ks, o, &ic.tpm_rec)) != ENF_OK ||
	    (rc = store_rewrite(&ks->st, mutate_init, &ic)) != ENF_OK)
		goto fail;
	wbuf_free(&ic.tpm_rec);
	ks->role = ROLE_OFFICER;
	*out = ks;
	return ENF_OK;
fail:
	wbuf_free(&ic.tpm_rec);
	ks_close(ks);
	return rc;
}

/* ---- the TPM binding (tpm.h) ---- */

static int tpm_bind_new(struct keystore *ks, const struct ks_init_opts *o, struct wbuf *rec)
{
	wbuf_init(rec, 0);
	if (o->binding != BIND_TPM)
		return ENF_OK;
	return tpm_bind(tpm_tcti(o->tcti), o->tpm_pcrs, ks->instance_id, &ks->tpm, rec);
}

int ks_tpm_unlock(struct keystore *ks)
{
	unsigned char *rec = NULL;
	size_t n;
	int rc;

	ks->tpm_fail = NULL;
	if (ks->gov.binding != BIND_TPM || ks->tpm)
		return ENF_OK;
	if (store_get(ks->st.db, "tpm", &rec, &n) < 0) {
		ks->tpm_fail = "tpm-object";
		return enf_err(ENF_FAIL, "%s: no TPM record (corrupt keystore)", ks->st.path);
	}
	rc = tpm_unbind(tpm_tcti(NULL), rec, n, ks->instance_id, &ks->tpm, &ks->tpm_fail);
	free(rec);
	return rc;
}

const char *ks_tpm_failure(const struct keystore *ks) { return ks->tpm_fail; }

/* ---- tokens (SPEC "Keys in a PKCS#11 token") ---- */

size_t ks_token_count(const struct keystore *ks) { return ks->gov.ntokens; }

const struct ks_token *ks_token_at(const struct keystore *ks, size_t i)
{
	return i < ks->gov.ntokens ? &ks->gov.tokens[i] : NULL;
}

static int token_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, ((const struct ks_token *)b)->name);
}

const struct ks_token *ks_token_find(const struct keystore *ks, const char *name)
{
	return ks->gov.ntokens ? bsearch(name, ks->gov.tokens, ks->gov.ntokens,
					 sizeof *ks->gov.tokens, token_cmp)
			       : NULL;
}

static int token_order(const void *a, const void *b)
{
	return strcmp(((const struct ks_token *)a)->name, ((const struct ks_token *)b)->name);
}

static int printable(const char *s, size_t max, int nonempty)
{
	size_t n = strlen(s);

	if (n > max || (nonempty && n == 0))
		return 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static int token_valid(const struct ks_token *t)
{
	if (!enf_valid_name(t->name))
		return enf_err(ENF_USAGE, "invalid token name '%s': use [a-z0-9][a-z0-9._-]{0,63}",
			       t->name);
	if (t->module[0] != '/' || !printable(t->module, KS_MODULE_MAX, 1))
		return enf_err(ENF_USAGE, "--module takes the absolute path of a PKCS#11 module");
	if (!printable(t->label, KS_LABEL_MAX, 1))
		return enf_err(ENF_USAGE, "--label takes 1 to %d printable characters", KS_LABEL_MAX);
	if (!printable(t->serial, KS_SERIAL_MAX, 0))
		return enf_err(ENF_USAGE, "--serial takes up to %d printable characters",
			       KS_SERIAL_MAX);
	if (t->timeout_ms == 0)
		return enf_err(ENF_USAGE, "a token needs a timeout");
	return ENF_OK;
}

/* The PIN record's associated data binds it to this instance and token. */
static void pin_ad(const struct keystore *ks, const char *token, struct wbuf *ad)
{
	wbuf_cstring(ad, "enf-pin 1");
	wbuf_cstring(ad, ks->instance_id);
	wbuf_cstring(ad, token);
}

static int seal_pin(const struct keystore *ks, const char *token, const struct secret *pin,
		    struct wbuf *out)
{
	struct wbuf ad;
	unsigned char *ct = malloc(pin->n + SEALBOX_OVERHEAD);
	int rc = ENF_FAIL;

	wbuf_init(&ad, 0);
	pin_ad(ks, token, &ad);
	if (ct && !ad.failed &&
	    sealbox_seal(ks->storage_pub, "enf pin", ad.p, ad.len, pin->p, pin->n, ct) == ENF_OK &&
	    wbuf_put(out, ct, pin->n + SEALBOX_OVERHEAD) == 0)
		rc = ENF_OK;
	free(ct);
	wbuf_free(&ad);
	return rc == ENF_OK ? rc : enf_err(ENF_FAIL, "cannot protect the token PIN");
}

int ks_token_add(struct keystore *ks, const struct ks_token *t, const struct secret *pin)
{
	struct gov_change gc;
	char rec[ENF_NAME_MAX + 16];
	int rc;

	if ((rc = token_valid(t)) != ENF_OK)
		return rc;
	if (pin->n == 0 || pin->n > 255)
		return enf_err(ENF_USAGE, "a token PIN has 1 to 255 bytes");
	if (ks_token_find(ks, t->name))
		return enf_err(ENF_NO, "a token named '%s' exists already", t->name);
	if ((rc = gov_begin(ks, &gc, 0)) != ENF_OK)
		return rc;
	gc.next.tokens[gc.next.ntokens++] = *t;
	qsort(gc.next.tokens, gc.next.ntokens, sizeof *gc.next.tokens, token_order);
	record_name(rec, sizeof rec, "pin", t->name);
	if ((rc = seal_pin(ks, t->name, pin, change_put(&gc.extra, rec))) != ENF_OK) {
		changes_free(&gc.extra);
		gov_clear(&gc.next);
		return rc;
	}
	return gov_commit(ks, &gc);
}

int ks_token_remove(struct keystore *ks, const char *name)
{
	struct gov_change gc;
	char rec[ENF_NAME_MAX + 16];
	size_t i;
	int rc;

	if (!ks_token_find(ks, name))
		return enf_err(ENF_NO, "no token named '%s'", name);
	for (i = 0; i < ks->gov.nkeys; i++)
		if (strcmp(ks->gov.keys[i].token, name) == 0 && ks->gov.keys[i].state != KS_DESTROYED)
			return enf_err(ENF_NO, "token '%s' holds key '%s' (%s): destroy it first", name,
				       ks->gov.keys[i].name, key_state_name(ks->gov.keys[i].state));
	if ((rc = gov_begin(ks, &gc, 0)) != ENF_OK)
		return rc;
	for (i = 0; i < gc.next.ntokens && strcmp(gc.next.tokens[i].name, name) != 0; i++)
		;
	memmove(&gc.next.tokens[i], &gc.next.tokens[i + 1],
		(gc.next.ntokens - i - 1) * sizeof *gc.next.tokens);
	gc.next.ntokens--;
	record_name(rec, sizeof rec, "pin", name);
	change_del(&gc.extra, rec);
	return gov_commit(ks, &gc);
}

int ks_token_pin(const struct keystore *ks, const char *name, struct secret *pin)
{
	char rec[ENF_NAME_MAX + 16];
	unsigned char *ct = NULL;
	size_t n = 0;
	struct wbuf ad;
	int rc = ENF_FAIL;

	pin->p = NULL;
	pin->n = 0;
	if (need_role(ks, ROLE_OPERATOR) != ENF_OK)
		return ENF_FAIL;
	if (!ks_token_find(ks, name))
		return enf_err(ENF_NO, "no token named '%s'", name);
	wbuf_init(&ad, 0);
	pin_ad(ks, name, &ad);
	record_name(rec, sizeof rec, "pin", name);
	/* As large as cred.h's secrets, which secret_free wipes. */
	if (!ad.failed && store_get(ks->st.db, rec, &ct, &n) == 0 && n > SEALBOX_OVERHEAD &&
	    n - SEALBOX_OVERHEAD <= PASSPHRASE_MAX && (pin->p = secure_alloc(PASSPHRASE_MAX + 1)) &&
	    sealbox_open(ks->sec->storage_sk, "enf pin", ad.p, ad.len, ct, n, pin->p) == ENF_OK) {
		pin->n = n - SEALBOX_OVERHEAD;
		rc = ENF_OK;
	} else {
		secret_free(pin);
		rc = enf_err(ENF_NO, "%s: the PIN of token '%s' does not open: the keystore was "
			     "modified outside enf", ks->st.path, name);
	}
	free(ct);
	wbuf_free(&ad);
	return rc;
}

int ks_key_adopt(struct keystore *ks, const char *name, int alg, const char *token,
		 const unsigned char *id, size_t idlen, const struct pubkey *pub,
		 char *const *purposes, size_t npurposes)
{
	struct gov_change gc;
	struct ks_key *k;
	int rc;

	if (alg == ALG_ECDSA_P256 || alg == ALG_ECDSA_P384)
		return enf_err(ENF_USAGE, "ECDSA keys cannot live in a token: a token's random "
			       "nonces would make its signatures non-deterministic");
	if (alg < 0 || alg > ALG_RSA4096)
		return enf_err(ENF_USAGE, "unknown algorithm");
	if (!ks_token_find(ks, token))
		return enf_err(ENF_NO, "no token named '%s'", token);
	if (idlen == 0 || idlen > KS_TOKEN_ID_MAX)
		return enf_err(ENF_USAGE, "a token object id has 1 to %d bytes", KS_TOKEN_ID_MAX);
	for (size_t i = 0; i < ks->gov.nkeys; i++) {
		const struct ks_key *o = &ks->gov.keys[i];
		if (o->state != KS_DESTROYED && strcmp(o->token, token) == 0 && o->idlen == idlen &&
		    memcmp(o->id, id, idlen) == 0)
			return enf_err(ENF_NO, "key '%s' is that token object already", o->name);
	}
	if ((rc = purposes_valid(purposes, npurposes)) != ENF_OK || (rc = name_free(ks, name)) != ENF_OK)
		return rc;
	if ((rc = gov_begin(ks, &gc, 1)) != ENF_OK)
		return rc;
	if (!(k = append_key(&gc, name, alg, pub, purposes, npurposes))) {
		gov_clear(&gc.next);
		return ENF_FAIL;
	}
	snprintf(k->token, sizeof k->token, "%s", token);
	memcpy(k->id, id, idlen);
	k->idlen = idlen;
	qsort(gc.next.keys, gc.next.nkeys, sizeof *gc.next.keys, key_order);
	return gov_commit(ks, &gc);
}
