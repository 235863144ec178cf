/* Cryptographic primitives over libgcrypt (see crypto.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gcrypt.h>
#include <fcntl.h>
#include <stdio.h>
#include "crypto.h"
#include "selftest.h"
#include "enf.h"

#define SECMEM_POOL (1u << 20)
#define KDF_MAX_LANES 16

/* RFC 9106's second recommended setting (t=3, 64 MiB) with two lanes for
 * the two cores of the reference machine.  Measured there, idle: 325-380 ms
 * with one lane; two lanes on threads bring it towards half that (under
 * load they cost what one lane costs).  One derivation must cost 100-500 ms
 * so that a guessed passphrase costs an attacker what an unlock costs us. */
const struct kdf_params KDF_DEFAULT = { 3, 65536, 2 };

static int initialised;
static char selftest_failure[64];
static int selftest_busy, signing_tested;

int crypto_init(void)
{
	if (selftest_failure[0])
		return enf_err(ENF_FAIL, "%s", selftest_failure);
	if (initialised)
		return ENF_OK;
	if (!gcry_check_version(GCRYPT_VERSION))
		return enf_err(ENF_FAIL, "libgcrypt is older than %s", GCRYPT_VERSION);
	/* Without privileges mlock may fail; libgcrypt then still uses the
	 * pool (wiped on free), so the warning is noise for an unprivileged
	 * tool. */
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	if (gcry_control(GCRYCTL_INIT_SECMEM, SECMEM_POOL, 0))
		return enf_err(ENF_FAIL, "cannot set up secure memory");
	/* A server holding many keys must not fail when the first pool is
	 * full; further pools are wiped on free like the first. */
	gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, SECMEM_POOL);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	initialised = 1;
	/* selftest.h: the fast tier before anything else (the tests call back
	 * in here, hence after initialised); a failure is permanent. */
	selftest_busy = 1;
	if (selftest_run(SELFTEST_FAST) != ENF_OK)
		snprintf(selftest_failure, sizeof selftest_failure, "%s", enf_errmsg());
	selftest_busy = 0;
	return selftest_failure[0] ? ENF_FAIL : ENF_OK;
}

/* The signing tier, once, before the first secret reaches secure memory.
 * A module whose signatures are wrong must not go on (FIPS 140-3's error
 * state): the callers of secure_alloc could only report "out of memory",
 * so this says what failed and exits 3 itself. */
static void selftest_before_secrets(void)
{
	if (signing_tested || selftest_busy)
		return;
	signing_tested = selftest_busy = 1;
	if (selftest_run(SELFTEST_SIGNING) != ENF_OK) {
		enf_warn("%s", enf_errmsg());
		exit(ENF_FAIL);
	}
	selftest_busy = 0;
}

void *secure_alloc(size_t n)
{
	if (crypto_init() != ENF_OK)
		return NULL;
	selftest_before_secrets();
	return gcry_calloc_secure(1, n ? n : 1);
}

void secure_free(void *p, size_t n)
{
	if (!p)
		return;
	wipe(p, n);
	gcry_free(p);
}

void wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

int ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void random_nonce(void *p, size_t n)
{
	crypto_init();
	gcry_randomize(p, n, GCRY_STRONG_RANDOM);
}

void random_key(void *p, size_t n)
{
	crypto_init();
	gcry_randomize(p, n, GCRY_VERY_STRONG_RANDOM);
}

/* Hashing. */

static const struct {
	const char *name;
	int md;
	size_t len;
} hashes[] = {
	[HASH_SHA256] = { "sha256", GCRY_MD_SHA256, 32 },
	[HASH_SHA384] = { "sha384", GCRY_MD_SHA384, 48 },
	[HASH_SHA512] = { "sha512", GCRY_MD_SHA512, 64 },
};
#define NHASH (int)(sizeof hashes / sizeof hashes[0])

static int hash_ok(int alg) { return alg >= 0 && alg < NHASH; }

size_t hash_len(int alg) { return hash_ok(alg) ? hashes[alg].len : 0; }
const char *hash_name(int alg) { return hash_ok(alg) ? hashes[alg].name : NULL; }

int hash_parse(const char *name)
{
	int i;

	for (i = 0; name && i < NHASH; i++)
		if (strcmp(name, hashes[i].name) == 0)
			return i;
	return -1;
}

int hash_buf(int alg, const void *p, size_t n, unsigned char *out)
{
	if (!hash_ok(alg) || crypto_init() != ENF_OK)
		return ENF_FAIL;
	gcry_md_hash_buffer(hashes[alg].md, out, p, n);
	return ENF_OK;
}

int hash_begin(struct hash_ctx *c, int alg)
{
	gcry_md_hd_t h;

	c->h = NULL;
	c->alg = alg;
	if (!hash_ok(alg) || crypto_init() != ENF_OK)
		return ENF_FAIL;
	if (gcry_md_open(&h, hashes[alg].md, 0))
		return enf_err(ENF_FAIL, "cannot open hash");
	c->h = h;
	return ENF_OK;
}

void hash_update(struct hash_ctx *c, const void *p, size_t n)
{
	if (c->h && n)
		gcry_md_write(c->h, p, n);
}

int hash_end(struct hash_ctx *c, unsigned char *out)
{
	const unsigned char *d;

	if (!c->h)
		return ENF_FAIL;
	d = gcry_md_read(c->h, hashes[c->alg].md);
	if (d)
		memcpy(out, d, hashes[c->alg].len);
	hash_abort(c);
	return d ? ENF_OK : ENF_FAIL;
}

void hash_abort(struct hash_ctx *c)
{
	if (c->h)
		gcry_md_close(c->h);
	c->h = NULL;
}

int hash_fd(int alg, int fd, unsigned char *out)
{
	enum { BUFSZ = 65536 };
	unsigned char *buf;
	struct hash_ctx c;
	ssize_t r;
	int rc;

	if (!(buf = malloc(BUFSZ)))
		return enf_err(ENF_FAIL, "out of memory");
	if (hash_begin(&c, alg) != ENF_OK) {
		free(buf);
		return ENF_FAIL;
	}
	for (;;) {
		r = read(fd, buf, BUFSZ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		hash_update(&c, buf, (size_t)r);
	}
	if (r < 0) {
		rc = enf_err(ENF_FAIL, "read: %s", strerror(errno));
		hash_abort(&c);
	} else
		rc = hash_end(&c, out);
	free(buf);
	return rc;
}

int hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
		unsigned char out[32])
{
	/* HMAC pads the key with zeros to the block size, so an empty key is
	 * the same as a single zero byte (libgcrypt refuses empty keys). */
	static const unsigned char zero[1];
	gcry_md_hd_t h;
	const unsigned char *d;
	int rc = ENF_FAIL;

	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	if (klen == 0) {
		key = zero;
		klen = 1;
	}
	if (gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC | GCRY_MD_FLAG_SECURE))
		return enf_err(ENF_FAIL, "cannot open HMAC");
	if (gcry_md_setkey(h, key, klen) == 0) {
		if (n)
			gcry_md_write(h, p, n);
		d = gcry_md_read(h, GCRY_MD_SHA256);
		if (d) {
			memcpy(out, d, 32);
			rc = ENF_OK;
		}
	}
	gcry_md_close(h);
	return rc;
}

int hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
		const void *info, size_t infolen, unsigned char *out, size_t outlen)
{
	/* prk, t (previous block), then the HMAC input t || info || counter. */
	unsigned char *s, *prk, *t, *msg;
	size_t done = 0, tlen = 0, take, msglen = 32 + infolen + 1;
	unsigned char ctr = 0;
	int rc = ENF_FAIL;

	if (outlen > 255 * 32 || infolen > SIZE_MAX - 64)
		return enf_err(ENF_FAIL, "HKDF output too long");
	if (!(s = secure_alloc(64 + msglen)))
		return enf_err(ENF_FAIL, "out of secure memory");
	prk = s;
	t = s + 32;
	msg = s + 64;
	if (hmac_sha256(salt, saltlen, ikm, ikmlen, prk) != ENF_OK)
		goto out;
	while (done < outlen) {
		ctr++;
		memcpy(msg, t, tlen);
		if (infolen)
			memcpy(msg + tlen, info, infolen);
		msg[tlen + infolen] = ctr;
		if (hmac_sha256(prk, 32, msg, tlen + infolen + 1, t) != ENF_OK)
			goto out;
		tlen = 32;
		take = outlen - done < 32 ? outlen - done : 32;
		memcpy(out + done, t, take);
		done += take;
	}
	rc = ENF_OK;
out:
	if (rc != ENF_OK)
		wipe(out, outlen);
	secure_free(s, 64 + msglen);
	return rc;
}

/* AEAD. */

int aead_ctx_init(struct aead_ctx *c, const unsigned char key[AEAD_KEY])
{
	gcry_cipher_hd_t h;

	c->h = NULL;
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	if (gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, GCRY_CIPHER_SECURE))
		return enf_err(ENF_FAIL, "cannot open AES-256-GCM");
	if (gcry_cipher_setkey(h, key, AEAD_KEY)) {
		gcry_cipher_close(h);
		return enf_err(ENF_FAIL, "cannot set AES key");
	}
	c->h = h;
	return ENF_OK;
}

void aead_ctx_free(struct aead_ctx *c)
{
	if (c->h)
		gcry_cipher_close(c->h);	/* wipes the key schedule */
	c->h = NULL;
}

/* Start a message: fresh GCM state under the kept key, then the AD. */
static int aead_start(gcry_cipher_hd_t h, const unsigned char *nonce,
		      const void *ad, size_t adlen)
{
	if (gcry_cipher_reset(h) || gcry_cipher_setiv(h, nonce, AEAD_NONCE))
		return -1;
	if (adlen && gcry_cipher_authenticate(h, ad, adlen))
		return -1;
	return 0;
}

int aead_ctx_seal(struct aead_ctx *c, const unsigned char nonce[AEAD_NONCE],
		  const void *ad, size_t adlen, const void *pt, size_t ptlen, unsigned char *out)
{
	gcry_cipher_hd_t h = c->h;

	if (!h || aead_start(h, nonce, ad, adlen) < 0)
		return enf_err(ENF_FAIL, "AES-GCM setup failed");
	if (gcry_cipher_final(h) || gcry_cipher_encrypt(h, out, ptlen, ptlen ? pt : NULL, ptlen) ||
	    gcry_cipher_gettag(h, out + ptlen, AEAD_TAG)) {
		wipe(out, ptlen + AEAD_TAG);
		return enf_err(ENF_FAIL, "AES-GCM encryption failed");
	}
	return ENF_OK;
}

int aead_ctx_open(struct aead_ctx *c, const unsigned char nonce[AEAD_NONCE],
		  const void *ad, size_t adlen, const void *ct, size_t ctlen, unsigned char *out)
{
	gcry_cipher_hd_t h = c->h;
	const unsigned char *in = ct;
	size_t n;
	gcry_error_t e;

	if (ctlen < AEAD_TAG)
		return ENF_NO;
	n = ctlen - AEAD_TAG;
	if (!h || aead_start(h, nonce, ad, adlen) < 0)
		return enf_err(ENF_FAIL, "AES-GCM setup failed");
	if (gcry_cipher_final(h) || gcry_cipher_decrypt(h, out, n, n ? in : NULL, n)) {
		wipe(out, n);
		return enf_err(ENF_FAIL, "AES-GCM decryption failed");
	}
	e = gcry_cipher_checktag(h, in + n, AEAD_TAG);
	if (e) {
		wipe(out, n);
		if (gcry_err_code(e) == GPG_ERR_CHECKSUM)
			return ENF_NO;
		return enf_err(ENF_FAIL, "AES-GCM tag check failed");
	}
	return ENF_OK;
}

int aead_seal(const unsigned char key[AEAD_KEY], const unsigned char nonce[AEAD_NONCE],
	      const void *ad, size_t adlen, const void *pt, size_t ptlen, unsigned char *out)
{
	struct aead_ctx c;
	int rc;

	if (aead_ctx_init(&c, key) != ENF_OK)
		return ENF_FAIL;
	rc = aead_ctx_seal(&c, nonce, ad, adlen, pt, ptlen, out);
	aead_ctx_free(&c);
	return rc;
}

int aead_open(const unsigned char key[AEAD_KEY], const unsigned char nonce[AEAD_NONCE],
	      const void *ad, size_t adlen, const void *ct, size_t ctlen, unsigned char *out)
{
	struct aead_ctx c;
	int rc;

	if (ctlen < AEAD_TAG)
		return ENF_NO;
	if (aead_ctx_init(&c, key) != ENF_OK)
		return ENF_FAIL;
	rc = aead_ctx_open(&c, nonce, ad, adlen, ct, ctlen, out);
	aead_ctx_free(&c);
	return rc;
}

/* Argon2id.  libgcrypt computes the lanes of each segment as jobs that we
 * run on threads, so that p lanes use p cores; the attacker's cost stays
 * the same, the wait for the user shrinks. */

struct kdf_jobs {
	pthread_t th[KDF_MAX_LANES];
	int n;
};

struct kdf_job {
	gcry_kdf_job_fn_t fn;
	void *priv;
};

static void *kdf_thread(void *arg)
{
	struct kdf_job j = *(struct kdf_job *)arg;

	free(arg);
	j.fn(j.priv);
	return NULL;
}

static int kdf_dispatch(void *ctx, gcry_kdf_job_fn_t fn, void *priv)
{
	struct kdf_jobs *jobs = ctx;
	struct kdf_job *j;

	/* Without a thread the job still runs, only not in parallel. */
	if (jobs->n < KDF_MAX_LANES && (j = malloc(sizeof *j))) {
		j->fn = fn;
		j->priv = priv;
		if (pthread_create(&jobs->th[jobs->n], NULL, kdf_thread, j) == 0) {
			jobs->n++;
			return 0;
		}
		free(j);
	}
	fn(priv);
	return 0;
}

static int kdf_wait(void *ctx)
{
	struct kdf_jobs *jobs = ctx;

	while (jobs->n > 0)
		pthread_join(jobs->th[--jobs->n], NULL);
	return 0;
}

int argon2id(const void *pass, size_t passlen, const void *salt, size_t saltlen,
	     const struct kdf_params *kp, unsigned char *out, size_t outlen)
{
	unsigned long param[4];
	struct kdf_jobs jobs = { .n = 0 };
	gcry_kdf_thread_ops_t ops = { &jobs, kdf_dispatch, kdf_wait };
	gcry_kdf_hd_t h;
	gcry_error_t e;

	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	if (!kp || kp->t_cost < 1 || kp->parallelism < 1 || kp->parallelism > 255 ||
	    kp->m_cost_kib < 8 * kp->parallelism || kp->m_cost_kib > (1u << 22) ||
	    outlen < 4 || outlen > UINT32_MAX || saltlen < 8)
		return enf_err(ENF_FAIL, "invalid Argon2id parameters");
	param[0] = outlen;
	param[1] = kp->t_cost;
	param[2] = kp->m_cost_kib;
	param[3] = kp->parallelism;
	e = gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4,
			  pass, passlen, salt, saltlen, NULL, 0, NULL, 0);
	if (e)
		return enf_err(ENF_FAIL, "Argon2id: %s", gcry_strerror(e));
	e = gcry_kdf_compute(h, kp->parallelism > 1 ? &ops : NULL);
	if (!e)
		e = gcry_kdf_final(h, outlen, out);
	gcry_kdf_close(h);	/* wipes its memory */
	if (e) {
		wipe(out, outlen);
		return enf_err(ENF_FAIL, "Argon2id: %s", gcry_strerror(e));
	}
	return ENF_OK;
}

/* X25519: libgcrypt takes and returns RFC 7748 byte strings (little-endian
 * u-coordinates) and clamps the scalar itself. */

int x25519(unsigned char out[X25519_LEN], const unsigned char sk[X25519_LEN],
	   const unsigned char pk[X25519_LEN])
{
	static const unsigned char zero[X25519_LEN];
	unsigned char *r, u[X25519_LEN];
	gcry_error_t e;
	int rc;

	if (crypto_init() != ENF_OK || !(r = secure_alloc(X25519_LEN)))
		return ENF_FAIL;
	/* RFC 7748 section 5: the top bit of u must be ignored. */
	memcpy(u, pk, X25519_LEN);
	u[X25519_LEN - 1] &= 0x7f;
	e = gcry_ecc_mul_point(GCRY_ECC_CURVE25519, r, sk, u);
	/* An error here means a peer point libgcrypt will not multiply:
	 * the peer's fault (ENF_NO), like a low-order point. */
	rc = e || ct_equal(r, zero, X25519_LEN) ? ENF_NO : ENF_OK;
	if (rc == ENF_OK)
		memcpy(out, r, X25519_LEN);
	else
		enf_err(ENF_NO, "X25519: invalid peer key");
	secure_free(r, X25519_LEN);
	return rc;
}

int x25519_keygen(unsigned char sk[X25519_LEN], unsigned char pk[X25519_LEN])
{
	static const unsigned char base[X25519_LEN] = { 9 };

	random_key(sk, X25519_LEN);
	if (x25519(pk, sk, base) != ENF_OK) {
		wipe(sk, X25519_LEN);
		return enf_err(ENF_FAIL, "X25519 key generation failed");
	}
	return ENF_OK;
}

/* Sealed box. */

struct seal_tmp {
	unsigned char sk[X25519_LEN], shared[X25519_LEN], key[AEAD_KEY];
	unsigned char salt[2 * X25519_LEN];
};

static int seal_key(struct seal_tmp *t, const char *label)
{
	return hkdf_sha256(t->shared, X25519_LEN, t->salt, sizeof t->salt,
			   label, label ? strlen(label) : 0, t->key, AEAD_KEY);
}

int sealbox_seal(const unsigned char pk[X25519_LEN], const char *label,
		 const void *ad, size_t adlen, const void *pt, size_t ptlen,
		 unsigned char *out)
{
	static const unsigned char nonce[AEAD_NONCE];	/* each key seals once */
	struct seal_tmp *t;
	int rc;

	if (!(t = secure_alloc(sizeof *t)))
		return enf_err(ENF_FAIL, "out of secure memory");
	rc = x25519_keygen(t->sk, t->salt);
	if (rc == ENF_OK) {
		memcpy(t->salt + X25519_LEN, pk, X25519_LEN);
		rc = x25519(t->shared, t->sk, pk);
		if (rc == ENF_NO)
			rc = enf_err(ENF_NO, "sealed box: invalid recipient key");
	}
	if (rc == ENF_OK)
		rc = seal_key(t, label);
	if (rc == ENF_OK)
		rc = aead_seal(t->key, nonce, ad, adlen, pt, ptlen, out + X25519_LEN);
	if (rc == ENF_OK)
		memcpy(out, t->salt, X25519_LEN);
	secure_free(t, sizeof *t);
	return rc;
}

int sealbox_open(const unsigned char sk[X25519_LEN], const char *label,
		 const void *ad, size_t adlen, const void *ct, size_t ctlen,
		 unsigned char *out)
{
	static const unsigned char nonce[AEAD_NONCE];
	static const unsigned char base[X25519_LEN] = { 9 };
	const unsigned char *in = ct;
	struct seal_tmp *t;
	int rc;

	if (ctlen < SEALBOX_OVERHEAD)
		return ENF_NO;
	if (!(t = secure_alloc(sizeof *t)))
		return enf_err(ENF_FAIL, "out of secure memory");
	memcpy(t->salt, in, X25519_LEN);
	rc = x25519(t->salt + X25519_LEN, sk, base);
	if (rc == ENF_OK)
		rc = x25519(t->shared, sk, in);
	if (rc == ENF_OK)
		rc = seal_key(t, label);
	if (rc == ENF_OK)
		rc = aead_open(t->key, nonce, ad, adlen, in + X25519_LEN,
			       ctlen - X25519_LEN, out);
	secure_free(t, sizeof *t);
	return rc;
}

int hash_path(int alg, const char *path, unsigned char *out)
{
	int stdin_ = !path || strcmp(path, "-") == 0;
	int fd = stdin_ ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	rc = hash_fd(alg, fd, out);
	if (!stdin_)
		close(fd);
	return rc == ENF_OK ? ENF_OK
			    : enf_err(ENF_FAIL, "%s: cannot read the data", stdin_ ? "stdin" : path);
}

/* One decimal field of "T:M:P" ending at `end` (':' or NUL), within lo..hi. */
static int kdf_field(const char **s, char end, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *stop;
	unsigned long v;

	if (**s < '0' || **s > '9')
		return -1;
	errno = 0;
	v = strtoul(*s, &stop, 10);
	if (errno || *stop != end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	*s = stop + (end != '\0');
	return 0;
}

int kdf_params_parse(const char *s, struct kdf_params *kp)
{
	struct kdf_params p;

	if (kdf_field(&s, ':', 1, 64, &p.t_cost) < 0 ||
	    kdf_field(&s, ':', 8192, 4u << 20, &p.m_cost_kib) < 0 ||
	    kdf_field(&s, '\0', 1, 16, &p.parallelism) < 0)
		return -1;
	*kp = p;
	return 0;
}
