/* PKCS#11 responses: lib/p11.c against a fake module (t/p11/fuzzmod.c)
 * whose every answer the input scripts — slot lists, token info, found
 * handles, attribute lengths and values, signature lengths, return codes.
 * Input: one byte of flags (bits 0-1 the algorithm: Ed25519, RSA-3072,
 * RSA-4096, Ed25519; bit 2 name a serial; bit 3 p11_generate instead of
 * p11_find; bit 4 p11_destroy at the end; bit 5 log in twice), then the
 * script, one op byte per module call (0: a well-behaved token's answer;
 * see fuzzmod.c).  Each input runs p11_open, p11_login, p11_find or
 * p11_generate, p11_sign (twice), perhaps p11_destroy, and p11_close, and
 * then checks that the module was finalized with no session left open.
 *
 * The module is $FUZZ_P11_MODULE or p11mod.so beside this program (a
 * shared object: p11_open dlopen's it).  It is dlopen'ed here first, by the
 * same path, so that this file and p11.c share its one instance. */
#include <dlfcn.h>
#include <limits.h>
#include "fuzz.h"
#include "p11.h"
#include "privkey.h"
#include "pubkey.h"

#define LABEL "enf-fuzz"	/* what the module's well-behaved token is called */
#define SERIAL "0001"
#define TIMEOUT_MS 5000		/* never reached: the module does not block */

static char module[PATH_MAX];
static void (*script)(const unsigned char *, size_t, int, int);
static void (*state)(int *, int *);
static struct secret pin;
static int trace;	/* FUZZ_P11_TRACE=1: each call's result on stderr, for seeds */

static void module_path(void)
{
	const char *env = getenv("FUZZ_P11_MODULE");
	char exe[PATH_MAX - 16], *slash;
	ssize_t n;

	if (env && *env) {
		fuzz_assert(realpath(env, module));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	fuzz_assert(n > 0);
	exe[n] = '\0';
	fuzz_assert((slash = strrchr(exe, '/')));
	*slash = '\0';
	snprintf(module, sizeof module, "%s/p11mod.so", exe);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	void *dl;

	(void)argc; (void)argv;
	fuzz_assert(crypto_init() == ENF_OK);
	module_path();
	dl = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!dl)
		fprintf(stderr, "fuzz: %s\n", dlerror());
	fuzz_assert(dl);
	*(void **)&script = dlsym(dl, "fuzzmod_script");
	*(void **)&state = dlsym(dl, "fuzzmod_state");
	fuzz_assert(script && state);
	pin.p = secure_alloc(4);
	fuzz_assert(pin.p);
	memcpy(pin.p, "1234", 4);
	pin.n = 4;
	trace = getenv("FUZZ_P11_TRACE") != NULL;
	return 0;
}

/* No call may have timed out: the module never blocks, so a deadline that
 * passed would be a finding (and leave a wedged handle behind). */
#define checked(call) checked_(call, #call)
static int checked_(int rc, const char *call)
{
	if (trace)
		fprintf(stderr, "fuzz-p11: %.*s: %d %s\n", (int)strcspn(call, "("), call, rc,
			rc == ENF_OK ? "" : enf_errmsg());
	fuzz_assert(rc == ENF_OK || (strcmp(enf_errmsg(), "token timed out") != 0 &&
				     strncmp(enf_errmsg(), "token wedged", 12) != 0));
	fuzz_assert(rc == ENF_OK || rc == ENF_FAIL || rc == ENF_USAGE);
	return rc;
}

static void sign_twice(struct p11 *t, unsigned long h, int alg, size_t siglen)
{
	static const unsigned char msg[51] = { 0x30, 0x31 };	/* a DigestInfo's length */
	struct wbuf sig;

	for (int i = 0; i < 2; i++) {
		wbuf_init(&sig, 0);
		if (checked(p11_sign(t, h, alg, msg, alg == ALG_ED25519 ? 32 : sizeof msg, &sig)) ==
		    ENF_OK)
			fuzz_assert(!sig.failed && sig.len == siglen);
		wbuf_free(&sig);
	}
}

/* The key p11_find or p11_generate returned is of the asked size. */
static void key_check(const struct pubkey *pub, int alg)
{
	fuzz_assert(pub->bits == (alg == ALG_ED25519 ? 256u : alg == ALG_RSA3072 ? 3072u : 4096u));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int algs[] = { ALG_ED25519, ALG_RSA3072, ALG_RSA4096, ALG_ED25519 };
	static const unsigned char id[] = { 0xe5, 0x0f };
	unsigned flags = size ? data[0] : 0;
	int alg = algs[flags & 3], init, sessions;
	struct p11_token_info info;
	struct pubkey pub;
	unsigned long h = 0;
	struct p11 *t;
	int rc;

	/* The generate path starts from an empty token, the others from one
	 * with the key pair. */
	script(size ? data + 1 : data, size ? size - 1 : 0, (int)(flags & 3) % 3,
	       !(flags & 8));
	if (checked(p11_open(module, LABEL, flags & 4 ? SERIAL : NULL, TIMEOUT_MS, &t)) != ENF_OK) {
		fuzz_assert(t == NULL);
		goto out;
	}
	fuzz_assert(p11_info(t, &info) == ENF_OK);
	fuzz_assert(strcmp(info.label, LABEL) == 0);
	fuzz_assert(!(flags & 4) || strcmp(info.serial, SERIAL) == 0);
	rc = checked(p11_login(t, &pin));
	if (flags & 32)
		fuzz_assert(checked(p11_login(t, &pin)) == rc);
	if (flags & 8)
		rc = checked(p11_generate(t, alg, id, sizeof id, "fuzz", &pub));
	else
		rc = checked(p11_find(t, alg, id, sizeof id, &h, &pub));
	if (rc == ENF_OK) {
		key_check(&pub, alg);
		pubkey_free(&pub);
		if (!(flags & 8))
			sign_twice(t, h, alg, alg == ALG_ED25519 ? 64 : alg == ALG_RSA3072 ? 384 : 512);
	}
	if (flags & 16)
		checked(p11_destroy(t, id, sizeof id));
	p11_close(t);
out:
	/* What p11_open set up, p11_close undid: the next input starts from a
	 * module that is not initialised (p11.c's count of its users too). */
	state(&init, &sessions);
	fuzz_assert(init == 0 && sessions == 0);
	return 0;
}
