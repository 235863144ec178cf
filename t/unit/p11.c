/* Unit tests of lib/p11.c against a real SoftHSMv2 token that the test
 * makes in a temporary directory, and against the fault shim
 * (build/t/p11/libfaulty.so) in front of it.  Objects that enf must refuse
 * are made by a child process that drives the module directly. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>
#include "crypto.h"
#include "enf.h"
#include "p11.h"
#include "tap.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define LABEL "enf-test"
#define FAST 300	/* ms: the deadline for the hang tests */

static char dir[] = "/tmp/enf-p11-unit-XXXXXX";
static char faulty[PATH_MAX], notp11[PATH_MAX];

/* SoftHSMv2 2.6.1 leaks a few OpenSSL ASN.1 strings per Ed25519 key it
 * loads; t/lsan.supp suppresses leaks whose stack passes through
 * libsofthsm2.so.  That needs whole stacks (the fast unwinder stops inside
 * libcrypto) and the module still mapped at exit (p11.c never unloads a
 * module, and neither does raw_child). */
#ifdef __SANITIZE_ADDRESS__
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
#endif

/* ---- Fixture ---- */

/* The test modules are built beside the unit tests: ../p11/. */
static int find_test_modules(void)
{
	char exe[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return -1;
	*slash = '\0';
	snprintf(faulty, sizeof faulty, "%s/../p11/libfaulty.so", exe);
	snprintf(notp11, sizeof notp11, "%s/../p11/libnotp11.so", exe);
	return access(faulty, R_OK) == 0 && access(notp11, R_OK) == 0 ? 0 : -1;
}

static int token_make(void)
{
	char path[PATH_MAX], cmd[PATH_MAX + 200];
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/softhsm2.conf", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
		"log.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(cmd, sizeof cmd, "mkdir %s/tokens && softhsm2-util --init-token --free "
		 "--label %s --pin 1234 --so-pin 5678 >/dev/null", dir, LABEL);
	return system(cmd) == 0 ? 0 : -1;
}

static void token_remove(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
}

static struct secret pin_of(const char *s)
{
	struct secret p = { secure_alloc(PASSPHRASE_MAX + 1), strlen(s) };

	if (p.p)
		memcpy(p.p, s, p.n);
	return p;
}

/* The message of a call that should have worked, for the test's line. */
static const char *why(int rc)
{
	return rc == ENF_OK ? "" : enf_errmsg();
}

static int has(const char *msg, const char *part)
{
	return strstr(msg, part) != NULL;
}

/* An open handle, logged in, on the real module or the shim with faults. */
static struct p11 *open_login(const char *fault, unsigned timeout_ms)
{
	struct secret pin = pin_of("1234");
	struct p11 *t = NULL;
	const char *module = SOFTHSM;

	if (fault) {
		setenv("ENF_P11_REAL", SOFTHSM, 1);
		setenv("ENF_P11_FAULT", fault, 1);
		module = faulty;
	}
	if (p11_open(module, LABEL, NULL, timeout_ms, &t) != ENF_OK ||
	    p11_login(t, &pin) != ENF_OK) {
		printf("# open/login (%s): %s\n", fault ? fault : "softhsm", enf_errmsg());
		p11_close(t);
		t = NULL;
	}
	secret_free(&pin);
	return t;
}

/* ---- Objects made around enf, by a child that uses the module itself ---- */

struct raw_key {
	unsigned char id;
	CK_BBOOL sensitive, extractable, sign, private_;
	const char *curve;	/* "edwards25519", "edwards448", or NULL: RSA */
	CK_ULONG bits;
};

static CK_RV raw_generate(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const struct raw_key *k)
{
	CK_BBOOL yes = CK_TRUE;
	unsigned char params[32], e[] = { 1, 0, 1 };
	CK_ULONG plen = 0;
	CK_OBJECT_HANDLE pub, priv;

	if (k->curve) {
		params[0] = 0x13;
		params[1] = (unsigned char)strlen(k->curve);
		memcpy(params + 2, k->curve, params[1]);
		plen = 2 + params[1];
	}
	CK_ATTRIBUTE pt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_ID, (void *)&k->id, 1 },
		{ CKA_EC_PARAMS, params, plen },
	};
	CK_ATTRIBUTE rsa_pt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_ID, (void *)&k->id, 1 },
		{ CKA_MODULUS_BITS, (void *)&k->bits, sizeof k->bits }, { CKA_PUBLIC_EXPONENT, e, 3 },
	};
	CK_ATTRIBUTE vt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_ID, (void *)&k->id, 1 },
		{ CKA_SENSITIVE, (void *)&k->sensitive, 1 },
		{ CKA_EXTRACTABLE, (void *)&k->extractable, 1 },
		{ CKA_SIGN, (void *)&k->sign, 1 }, { CKA_PRIVATE, (void *)&k->private_, 1 },
	};
	CK_MECHANISM ec = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };

	if (k->curve)
		return f->C_GenerateKeyPair(s, &ec, pt, 4, vt, 6, &pub, &priv);
	return f->C_GenerateKeyPair(s, &rsa, rsa_pt, 5, vt, 6, &pub, &priv);
}

/* Run fn in a child with a logged-in session of its own on the token; the
 * child's exit status is fn's return (0-9), or 10 and above when the
 * session could not be had.  -1 when the child did not exit. */
typedef int raw_fn(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const void *arg);

static int raw_child(raw_fn *fn, const void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		void *dl = dlopen(SOFTHSM, RTLD_NOW | RTLD_LOCAL);
		CK_C_GetFunctionList get;
		CK_FUNCTION_LIST_PTR f;
		CK_SLOT_ID slots[8];
		CK_ULONG ns = 8;
		CK_SESSION_HANDLE s;
		CK_TOKEN_INFO ti;
		int rc;

		if (!dl)
			_exit(10);
		*(void **)&get = dlsym(dl, "C_GetFunctionList");
		if (!get || get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
		    f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK)
			_exit(11);
		for (CK_ULONG i = 0; i < ns; i++)
			if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
			    memcmp(ti.label, LABEL " ", sizeof LABEL) == 0)
				slots[0] = slots[i];
		if (f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				     &s) != CKR_OK ||
		    f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4) != CKR_OK)
			_exit(12);
		rc = fn(f, s, arg);
		f->C_Finalize(NULL);
		_exit(rc);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int raw_make_all(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const void *arg)
{
	const struct raw_key *k = arg;

	for (; k->id; k++)
		if (raw_generate(f, s, k) != CKR_OK) {
			printf("# raw_make: key %02x refused\n", k->id);
			return 1;
		}
	return 0;
}

/* The private value of a key: 0 read, 1 refused as sensitive, 2 other. */
struct raw_read { unsigned char id; CK_ATTRIBUTE_TYPE attr; };

static int raw_read_value(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const void *arg)
{
	const struct raw_read *r = arg;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, (void *)&r->id, 1 } };
	unsigned char value[1024];
	CK_ATTRIBUTE get = { r->attr, value, sizeof value };
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;
	CK_RV rv;

	if (f->C_FindObjectsInit(s, tmpl, 2) != CKR_OK || f->C_FindObjects(s, &h, 1, &n) != CKR_OK ||
	    f->C_FindObjectsFinal(s) != CKR_OK || n != 1)
		return 2;
	rv = f->C_GetAttributeValue(s, h, &get, 1);
	return rv == CKR_OK ? 0 : rv == CKR_ATTRIBUTE_SENSITIVE ? 1 : 2;
}

/* ---- Opening ---- */

static void test_open(void)
{
	struct p11_token_info info;
	struct p11 *t = NULL;
	char serial[P11_SERIAL_MAX + 1];
	int rc;

	rc = p11_open(SOFTHSM, LABEL, NULL, 0, &t);
	ok(rc == ENF_OK && t, "opens the token by its label%s", why(rc));
	if (!t)
		return;
	p11_info(t, &info);
	ok(strcmp(info.label, LABEL) == 0 && info.serial[0] &&
	   strcmp(info.manufacturer, "SoftHSM project") == 0,
	   "reports label, serial and manufacturer (%s, %s, %s)", info.label, info.serial,
	   info.manufacturer);
	snprintf(serial, sizeof serial, "%s", info.serial);
	p11_close(t);

	t = NULL;
	rc = p11_open(SOFTHSM, LABEL, serial, 0, &t);
	ok(rc == ENF_OK && t, "opens the token by label and serial");
	p11_close(t);

	t = NULL;
	rc = p11_open(SOFTHSM, LABEL, "0123456789abcdef", 0, &t);
	ok(rc == ENF_FAIL && !t && has(enf_errmsg(), "has serial") &&
	   has(enf_errmsg(), serial), "refuses a token with another serial: %s", enf_errmsg());

	rc = p11_open(SOFTHSM, "enf-other", NULL, 0, &t);
	ok(rc == ENF_FAIL && !t && has(enf_errmsg(), "no token labelled 'enf-other'"),
	   "refuses a label no token has: %s", enf_errmsg());

	rc = p11_open(SOFTHSM, "enf-tes", NULL, 0, &t);
	ok(rc == ENF_FAIL && !t, "a label's prefix is not the label");

	rc = p11_open(SOFTHSM, "123456789012345678901234567890123", NULL, 0, &t);
	ok(rc == ENF_USAGE && !t, "refuses a label longer than 32 bytes");

	rc = p11_open("/nonexistent/libnone.so", LABEL, NULL, 0, &t);
	ok(rc == ENF_FAIL && !t && has(enf_errmsg(), "cannot load PKCS#11 module /nonexistent"),
	   "refuses a module that does not exist: %s", enf_errmsg());

	rc = p11_open(notp11, LABEL, NULL, 0, &t);
	ok(rc == ENF_FAIL && !t && has(enf_errmsg(), "is not a PKCS#11 module"),
	   "refuses a shared object that is not a PKCS#11 module: %s", enf_errmsg());
}

static void test_login(void)
{
	struct secret wrong = pin_of("0000"), right = pin_of("1234");
	struct p11 *t = NULL;
	int rc;

	if (p11_open(SOFTHSM, LABEL, NULL, 0, &t) != ENF_OK) {
		ok(0, "open for the login tests: %s", enf_errmsg());
		return;
	}
	rc = p11_login(t, &wrong);
	ok(rc == ENF_FAIL && strcmp(enf_errmsg(), "wrong token PIN") == 0,
	   "a wrong PIN fails: %s", enf_errmsg());
	ok(!has(enf_errmsg(), "0000"), "the message does not show the PIN");
	rc = p11_login(t, &right);
	ok(rc == ENF_FAIL && has(enf_errmsg(), "earlier login failed"),
	   "after a wrong PIN the handle refuses to log in again, even with the right one: %s",
	   enf_errmsg());
	p11_close(t);

	t = NULL;
	if (p11_open(SOFTHSM, LABEL, NULL, 0, &t) == ENF_OK) {
		rc = p11_login(t, &right);
		ok(rc == ENF_OK, "the right PIN logs in%s", why(rc));
		ok(p11_login(t, &right) == ENF_OK, "a second login on the handle succeeds");
	}
	p11_close(t);
	secret_free(&wrong);
	secret_free(&right);
}

/* ---- Keys ---- */

static const unsigned char ID_ED[] = { 0x01 }, ID_RSA[] = { 0x02 };

/* DER DigestInfo prefix for SHA-512 (RFC 8017 9.2, note 1). */
static const unsigned char SHA512_PREFIX[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x03, 0x05, 0x00, 0x04, 0x40 };

/* An SSH signature blob of an Ed25519 signature, for pubkey_verify_ssh. */
static int ed25519_verifies(const struct pubkey *k, const char *data, const struct wbuf *sig)
{
	struct wbuf blob;
	int rc;

	wbuf_init(&blob, 0);
	wbuf_cstring(&blob, "ssh-ed25519");
	wbuf_string(&blob, sig->p, sig->len);
	rc = pubkey_verify_ssh(k, data, strlen(data), blob.p, blob.len);
	wbuf_free(&blob);
	return rc == ENF_OK;
}

static void digest_info(const char *data, unsigned char digest[64], unsigned char di[83])
{
	hash_buf(HASH_SHA512, data, strlen(data), digest);
	memcpy(di, SHA512_PREFIX, sizeof SHA512_PREFIX);
	memcpy(di + sizeof SHA512_PREFIX, digest, 64);
}

static void test_ed25519(struct p11 *t)
{
	struct pubkey gen, found;
	unsigned long h = 0;
	struct wbuf sig;
	int rc;

	rc = p11_generate(t, ALG_ED25519, ID_ED, 1, "enf-ed", &gen);
	ok(rc == ENF_OK && gen.type == KT_ED25519, "generates an Ed25519 key%s", why(rc));
	if (rc != ENF_OK)
		return;
	rc = p11_find(t, ALG_ED25519, ID_ED, 1, &h, &found);
	ok(rc == ENF_OK && pubkey_equal(&gen, &found), "finds it by id, with the same public key");
	wbuf_init(&sig, 0);
	rc = p11_sign(t, h, ALG_ED25519, (const unsigned char *)"hello", 5, &sig);
	ok(rc == ENF_OK && sig.len == 64, "signs with it: 64 bytes%s", why(rc));
	ok(rc == ENF_OK && ed25519_verifies(&gen, "hello", &sig),
	   "the signature verifies with enf's verifier");
	ok(!ed25519_verifies(&gen, "hellp", &sig), "and not over other data");
	wbuf_free(&sig);
	if (rc == ENF_OK)
		pubkey_free(&found);
	pubkey_free(&gen);

	rc = p11_generate(t, ALG_ED25519, ID_ED, 1, "again", &gen);
	ok(rc == ENF_FAIL && has(enf_errmsg(), "already on the token"),
	   "refuses to generate under an id in use: %s", enf_errmsg());
	rc = p11_generate(t, ALG_ECDSA_P256, (const unsigned char *)"\x09", 1, "ec", &gen);
	ok(rc == ENF_USAGE && has(enf_errmsg(), "ECDSA") && has(enf_errmsg(), "deterministic"),
	   "refuses ECDSA with the reason: %s", enf_errmsg());
	rc = p11_find(t, ALG_RSA3072, ID_ED, 1, &h, &found);
	ok(rc == ENF_FAIL && has(enf_errmsg(), "not of the expected type"),
	   "refuses the Ed25519 key as an RSA key: %s", enf_errmsg());
}

static void test_rsa(struct p11 *t)
{
	unsigned char digest[64], di[83];
	struct pubkey gen, found;
	unsigned long h = 0;
	struct wbuf sig;
	int rc;

	rc = p11_generate(t, ALG_RSA3072, ID_RSA, 1, "enf-rsa", &gen);
	ok(rc == ENF_OK && gen.type == KT_RSA && gen.bits == 3072,
	   "generates an RSA-3072 key%s", why(rc));
	if (rc != ENF_OK)
		return;
	rc = p11_find(t, ALG_RSA3072, ID_RSA, 1, &h, &found);
	ok(rc == ENF_OK && pubkey_equal(&gen, &found), "finds it, with the same public key");
	digest_info("hello", digest, di);
	wbuf_init(&sig, 0);
	rc = p11_sign(t, h, ALG_RSA3072, di, sizeof di, &sig);
	ok(rc == ENF_OK && sig.len == 384, "signs a DigestInfo: 384 bytes%s", why(rc));
	ok(rc == ENF_OK && pubkey_verify_raw(&gen, HASH_SHA512, digest, sig.p, sig.len) == ENF_OK,
	   "the PKCS#1 v1.5 signature verifies with enf's verifier");
	digest[0] ^= 1;
	ok(pubkey_verify_raw(&gen, HASH_SHA512, digest, sig.p, sig.len) != ENF_OK,
	   "and not for another digest");
	wbuf_free(&sig);
	if (rc == ENF_OK)
		pubkey_free(&found);
	rc = p11_find(t, ALG_RSA4096, ID_RSA, 1, &h, &found);
	ok(rc == ENF_FAIL && has(enf_errmsg(), "unexpected public key"),
	   "refuses the 3072-bit key as RSA-4096: %s", enf_errmsg());
	pubkey_free(&gen);
}

/* The private values of the generated keys cannot be read, even by a
 * session logged in with the PIN (asked directly: pkcs11-tool 0.23's
 * --read-object --type privkey reads no private key of any kind, and
 * exits 0 saying so).  Key 0a, made readable, shows that the
 * question can be answered the other way. */
static void test_not_extractable(void)
{
	static const struct raw_read ed = { 0x01, CKA_VALUE }, rsa = { 0x02, CKA_PRIVATE_EXPONENT },
		loose = { 0x0a, CKA_VALUE };

	ok(raw_child(raw_read_value, &ed) == 1, "the Ed25519 key's value is sensitive");
	ok(raw_child(raw_read_value, &rsa) == 1, "the RSA key's private exponent is sensitive");
	ok(raw_child(raw_read_value, &loose) == 0, "while a key made readable can be read");
}

/* Objects made around enf that p11_find must refuse. */
static const struct raw_key raw_keys[] = {
	{ 0x0a, CK_FALSE, CK_TRUE, CK_TRUE, CK_TRUE, "edwards25519", 0 },	/* not sensitive */
	{ 0x0b, CK_TRUE, CK_TRUE, CK_TRUE, CK_TRUE, "edwards25519", 0 },	/* extractable */
	{ 0x0c, CK_TRUE, CK_FALSE, CK_FALSE, CK_TRUE, "edwards25519", 0 },	/* cannot sign */
	{ 0x0d, CK_TRUE, CK_FALSE, CK_TRUE, CK_FALSE, "edwards25519", 0 },	/* not private */
	{ 0x0e, CK_TRUE, CK_FALSE, CK_TRUE, CK_TRUE, "edwards448", 0 },	/* Ed448 */
	{ 0x0f, CK_TRUE, CK_FALSE, CK_TRUE, CK_TRUE, "edwards25519", 0 },	/* twice */
	{ 0x0f, CK_TRUE, CK_FALSE, CK_TRUE, CK_TRUE, "edwards25519", 0 },
	{ 0x10, CK_TRUE, CK_FALSE, CK_TRUE, CK_TRUE, NULL, 2048 },		/* RSA-2048 */
	{ 0x11, CK_TRUE, CK_FALSE, CK_TRUE, CK_TRUE, "edwards25519", 0 },	/* acceptable */
	{ 0 }
};

static void refused(struct p11 *t, int alg, unsigned char id, const char *why, const char *what)
{
	struct pubkey pub;
	unsigned long h;
	int rc = p11_find(t, alg, &id, 1, &h, &pub);

	ok(rc == ENF_FAIL && has(enf_errmsg(), why), "refuses a key that %s: %s", what,
	   enf_errmsg());
	if (rc == ENF_OK)
		pubkey_free(&pub);
}

static void test_refused_objects(struct p11 *t)
{
	struct pubkey pub;
	unsigned long h;
	unsigned char id = 0x11;

	refused(t, ALG_ED25519, 0x0a, "not sensitive", "is not sensitive");
	refused(t, ALG_ED25519, 0x0b, "extractable", "is extractable");
	refused(t, ALG_ED25519, 0x0c, "cannot sign", "may not sign");
	refused(t, ALG_ED25519, 0x0d, "not private", "is not private");
	refused(t, ALG_ED25519, 0x0e, "not an Ed25519 key", "is Ed448");
	refused(t, ALG_ED25519, 0x0f, "2 private keys with id 0f", "shares its id");
	refused(t, ALG_RSA3072, 0x10, "unexpected public key", "is RSA-2048");
	refused(t, ALG_ED25519, 0x12, "no private key with id 12", "is not there");
	ok(p11_find(t, ALG_ED25519, &id, 1, &h, &pub) == ENF_OK,
	   "accepts the same kind of key made right (so the refusals are the attributes')");
	pubkey_free(&pub);
	ok(p11_find(t, ALG_ED25519, &id, 0, &h, &pub) == ENF_USAGE, "refuses an empty id");
}

static void test_destroy(struct p11 *t)
{
	struct pubkey pub;
	unsigned long h;
	int rc;

	rc = p11_destroy(t, ID_ED, 1);
	ok(rc == ENF_OK, "destroys the Ed25519 key pair%s", why(rc));
	rc = p11_find(t, ALG_ED25519, ID_ED, 1, &h, &pub);
	ok(rc == ENF_FAIL && has(enf_errmsg(), "no private key with id 01"),
	   "which is then gone: %s", enf_errmsg());
	rc = p11_destroy(t, ID_ED, 1);
	ok(rc == ENF_FAIL && has(enf_errmsg(), "no key with id 01"),
	   "destroying it again fails: %s", enf_errmsg());
	rc = p11_find(t, ALG_RSA3072, ID_RSA, 1, &h, &pub);
	ok(rc == ENF_OK, "the RSA key is still there");
	if (rc == ENF_OK)
		pubkey_free(&pub);
}

/* ---- Faults, through the shim ---- */

static int find_sign(struct p11 *t, int alg, const unsigned char *id, struct wbuf *sig,
		     struct pubkey *pub)
{
	unsigned char digest[64], di[83];
	unsigned long h;
	int rc;

	memset(pub, 0, sizeof *pub);	/* the caller frees it in any case */
	if ((rc = p11_find(t, alg, id, 1, &h, pub)) != ENF_OK)
		return rc;
	if (alg == ALG_ED25519)
		return p11_sign(t, h, alg, (const unsigned char *)"hello", 5, sig);
	digest_info("hello", digest, di);
	return p11_sign(t, h, alg, di, sizeof di, sig);
}

static void test_sign_faults(void)
{
	static const unsigned char id_ed[] = { 0x11 };
	static const struct { const char *fault; int alg; const char *why; } cases[] = {
		{ "sign-fails", ALG_ED25519, "C_Sign failed: CKR_DEVICE_ERROR" },
		{ "short-sig", ALG_ED25519, "malformed signature" },
		{ "short-sig", ALG_RSA3072, "malformed signature" },
		{ "long-sig", ALG_ED25519, "malformed signature" },
		{ "long-sig", ALG_RSA3072, "malformed signature" },
	};
	struct pubkey pub;
	struct wbuf sig;
	struct p11 *t;
	int rc;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!(t = open_login(cases[i].fault, 0))) {
			ok(0, "open the shim with %s", cases[i].fault);
			continue;
		}
		wbuf_init(&sig, 0);
		rc = find_sign(t, cases[i].alg, cases[i].alg == ALG_ED25519 ? id_ed : ID_RSA,
			       &sig, &pub);
		ok(rc == ENF_FAIL && sig.len == 0 && has(enf_errmsg(), cases[i].why),
		   "%s (%s): no signature, %s", cases[i].fault, alg_name(cases[i].alg),
		   enf_errmsg());
		pubkey_free(&pub);
		wbuf_free(&sig);
		p11_close(t);
	}

	/* A wrong signature of the right length is the caller's to catch. */
	if ((t = open_login("bad-sig", 0))) {
		wbuf_init(&sig, 0);
		rc = find_sign(t, ALG_ED25519, id_ed, &sig, &pub);
		ok(rc == ENF_OK && sig.len == 64 && !ed25519_verifies(&pub, "hello", &sig),
		   "bad-sig: a signature of the right length that does not verify");
		pubkey_free(&pub);
		wbuf_free(&sig);
		p11_close(t);
	}
}

static void test_token_faults(void)
{
	struct secret pin = pin_of("1234");
	struct p11 *t = NULL;
	int rc;

	setenv("ENF_P11_REAL", SOFTHSM, 1);
	setenv("ENF_P11_FAULT", "no-token", 1);
	rc = p11_open(faulty, LABEL, NULL, 0, &t);
	ok(rc == ENF_FAIL && !t && has(enf_errmsg(), "no token labelled"),
	   "no-token: refused: %s", enf_errmsg());

	setenv("ENF_P11_FAULT", "no-sign-fn", 1);
	rc = p11_open(faulty, LABEL, NULL, 0, &t);
	ok(rc == ENF_FAIL && !t && has(enf_errmsg(), "not a usable PKCS#11 module"),
	   "no-sign-fn: a function list without C_Sign is refused at open: %s", enf_errmsg());

	setenv("ENF_P11_FAULT", "pin-locked", 1);
	if (p11_open(faulty, LABEL, NULL, 0, &t) == ENF_OK) {
		rc = p11_login(t, &pin);
		ok(rc == ENF_FAIL && has(enf_errmsg(), "PIN is locked"),
		   "pin-locked: login fails: %s", enf_errmsg());
		rc = p11_login(t, &pin);
		ok(rc == ENF_FAIL && has(enf_errmsg(), "earlier login failed"),
		   "and is not tried again: %s", enf_errmsg());
		p11_close(t);
	} else {
		ok(0, "open the shim with pin-locked: %s", enf_errmsg());
	}
	secret_free(&pin);
}

/* Last: a hung call leaves the module initialised and a thread behind. */
static void test_hangs(void)
{
	static const unsigned char id_ed[] = { 0x11 };
	struct secret pin = pin_of("1234");
	struct pubkey pub;
	unsigned long h = 0;
	struct wbuf sig;
	struct p11 *t;
	int rc;

	for (int slow = 0; slow <= 1; slow++) {
		const char *fault = slow ? "slow-sign" : "hang-sign";

		/* The short deadline only for the signature: opening and
		 * logging in may take longer on a busy machine. */
		if (!(t = open_login(fault, 0))) {
			ok(0, "open the shim with %s", fault);
			continue;
		}
		rc = p11_find(t, ALG_ED25519, id_ed, 1, &h, &pub);
		ok(rc == ENF_OK, "%s: finds the key%s", fault, why(rc));
		if (rc == ENF_OK)
			pubkey_free(&pub);
		p11_set_timeout(t, FAST);
		wbuf_init(&sig, 0);
		rc = p11_sign(t, h, ALG_ED25519, (const unsigned char *)"hello", 5, &sig);
		ok(rc == ENF_FAIL && sig.len == 0 && strcmp(enf_errmsg(), "token timed out") == 0,
		   "%s: the signature times out: %s", fault, enf_errmsg());
		rc = p11_sign(t, h, ALG_ED25519, (const unsigned char *)"x", 1, &sig);
		ok(rc == ENF_FAIL && has(enf_errmsg(), "wedged"),
		   "%s: a later call fails at once: %s", fault, enf_errmsg());
		rc = p11_login(t, &pin);
		ok(rc == ENF_FAIL && has(enf_errmsg(), "wedged"), "%s: so does a login", fault);
		p11_close(t);	/* must not block */
		ok(1, "%s: closing the wedged handle returns", fault);
		wbuf_free(&sig);
	}
	sleep(2);	/* slow-sign's module returns into the abandoned job meanwhile */
	ok(1, "a module that returns after the deadline writes only into its own job");

	/* A copy of the shim is a module of its own, not yet initialised in
	 * this process (the handles above left the shim initialised). */
	char copy[PATH_MAX + 64];
	snprintf(copy, sizeof copy, "cp %s %s/libfaulty2.so", faulty, dir);
	if (system(copy) != 0)
		ok(0, "copy the shim");
	snprintf(copy, sizeof copy, "%s/libfaulty2.so", dir);
	setenv("ENF_P11_FAULT", "hang-init", 1);
	t = NULL;
	rc = p11_open(copy, LABEL, NULL, FAST, &t);
	ok(rc == ENF_FAIL && !t && strcmp(enf_errmsg(), "token timed out") == 0,
	   "hang-init: opening times out: %s", enf_errmsg());
	secret_free(&pin);
}

int main(void)
{
	struct p11 *t;

	if (crypto_init() != ENF_OK || find_test_modules() < 0 || token_make() < 0) {
		ok(0, "set up: crypto, the test modules and a SoftHSMv2 token");
		return done_testing();
	}
	ok(raw_child(raw_make_all, raw_keys) == 0,
	   "made the keys enf must refuse, around enf");
	test_open();
	test_login();
	if ((t = open_login(NULL, 0))) {
		test_ed25519(t);
		test_rsa(t);
		p11_close(t);
		test_not_extractable();
		t = open_login(NULL, 0);
		test_refused_objects(t);
		test_destroy(t);
		p11_close(t);
	} else {
		ok(0, "open and log in for the key tests");
	}
	test_sign_faults();
	test_token_faults();
	test_hangs();
	token_remove();
	return done_testing();
}
