/* Unit tests of lib/tpm.c: the PCR list and TCTI choice, the record's
 * parser, and bind/unbind against a software TPM that the test starts
 * (swtpm, loopback, state in a temporary directory) and stops by pid. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "crypto.h"
#include "enf.h"
#include "tpm.h"
#include "tap.h"

static char dir[] = "/tmp/enf-tpm-unit-XXXXXX";
static char tcti[64];

/* A swtpm on the first free pair of ports; 0 on success. */
static int swtpm_start(void)
{
	char cmd[512];

	if (!mkdtemp(dir))
		return -1;
	srand((unsigned)getpid());
	for (int i = 0; i < 50; i++) {
		int port = 20000 + 2 * (rand() % 15000);
		snprintf(cmd, sizeof cmd,
			 "swtpm socket --tpmstate dir=%s --tpm2 "
			 "--server type=tcp,port=%d,bindaddr=127.0.0.1 "
			 "--ctrl type=tcp,port=%d,bindaddr=127.0.0.1 "
			 "--flags not-need-init,startup-clear --daemon --pid file=%s/pid "
			 ">/dev/null 2>&1", dir, port, port + 1, dir);
		if (system(cmd) == 0) {
			snprintf(tcti, sizeof tcti, "swtpm:host=127.0.0.1,port=%d", port);
			return 0;
		}
	}
	return -1;
}

static void swtpm_stop(void)
{
	char path[128], cmd[160];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof path, "%s/pid", dir);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%d", &pid) == 1 && pid > 0)
			kill(pid, SIGTERM);
		fclose(f);
	}
	while (pid > 0 && kill(pid, 0) == 0)
		usleep(20000);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
}

static void test_pcr_lists(void)
{
	static const char *bad[] = { "", ",", "1,", ",1", "1,,2", "24", "a", "-1", " 1", "1 ",
				     "99999999999999999999" };
	uint32_t m;

	ok(tpm_parse_pcrs("16", &m) == 0 && m == 1u << 16, "one PCR");
	ok(tpm_parse_pcrs("0,2,7", &m) == 0 && m == 0x85, "a list");
	ok(tpm_parse_pcrs("23,0,23", &m) == 0 && m == (1u << 23 | 1), "repeats and order do not matter");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(tpm_parse_pcrs(bad[i], &m) < 0, "refuses '%s'", bad[i]);
}

static void test_tcti_choice(void)
{
	unsetenv("TSS2_TCTI");
	unsetenv("TPM2TOOLS_TCTI");
	ok(strcmp(tpm_tcti(NULL), "device:/dev/tpmrm0") == 0, "default: the kernel resource manager");
	setenv("TPM2TOOLS_TCTI", "b:", 1);
	ok(strcmp(tpm_tcti(NULL), "b:") == 0, "then $TPM2TOOLS_TCTI");
	setenv("TSS2_TCTI", "", 1);
	ok(strcmp(tpm_tcti(NULL), "b:") == 0, "an empty $TSS2_TCTI is not a choice");
	setenv("TSS2_TCTI", "a:", 1);
	ok(strcmp(tpm_tcti(NULL), "a:") == 0, "$TSS2_TCTI first");
	ok(strcmp(tpm_tcti("c:"), "c:") == 0, "an option before both");
	unsetenv("TSS2_TCTI");
	unsetenv("TPM2TOOLS_TCTI");
}

static void test_corrupt_record_needs_no_tpm(void)
{
	static const unsigned char junk[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c' };
	struct tpm_root *root = (struct tpm_root *)1;
	const char *why = NULL;

	ok(tpm_unbind("swtpm:host=127.0.0.1,port=1", junk, sizeof junk, "SHA256:x", &root, &why) ==
		   ENF_NO && root == NULL && why && strcmp(why, "tpm-object") == 0,
	   "a corrupt record is refused before the TPM is contacted");
}

static void test_unreachable(void)
{
	struct tpm_root *root = NULL;
	struct wbuf rec;

	wbuf_init(&rec, 0);
	ok(tpm_bind("swtpm:host=127.0.0.1,port=1", 0, "SHA256:x", &root, &rec) == ENF_FAIL &&
		   !root && rec.len == 0 && strstr(enf_errmsg(), "cannot reach the TPM"),
	   "bind with no TPM: ENF_FAIL, no root, no record (%s)", enf_errmsg());
	wbuf_free(&rec);
}

static int unbind(const struct wbuf *rec, const char *id, struct tpm_root **root, const char **why)
{
	return tpm_unbind(tcti, rec->p, rec->len, id, root, why);
}

static void test_with_swtpm(void)
{
	struct tpm_root *a = NULL, *b = NULL, *c = NULL;
	struct wbuf rec, other;
	const char *why = NULL;
	unsigned char k0[32] = { 1 }, ka[32], kb[32], kc[32];
	int rc;

	wbuf_init(&rec, 0);
	wbuf_init(&other, 0);
	rc = tpm_bind(tcti, 0, "SHA256:one", &a, &rec);
	ok(rc == ENF_OK && a && rec.len > 100, "bind (%s)", rc ? enf_errmsg() : "ok");
	rc = unbind(&rec, "SHA256:one", &b, &why);
	ok(rc == ENF_OK && b && why == NULL, "unbind (%s)", rc ? enf_errmsg() : "ok");
	memcpy(ka, k0, 32);
	memcpy(kb, k0, 32);
	ok(tpm_root_mix(a, ka, 32) == ENF_OK && tpm_root_mix(b, kb, 32) == ENF_OK &&
		   memcmp(ka, kb, 32) == 0 && memcmp(ka, k0, 32) != 0,
	   "the unsealed secret is the sealed one, and it changes the key");
	memcpy(kc, k0, 32);
	ok(tpm_root_mix(NULL, kc, 32) == ENF_OK && memcmp(kc, k0, 32) == 0,
	   "no TPM: the key is left as it is");

	ok(unbind(&rec, "SHA256:two", &c, &why) == ENF_NO && !c && strcmp(why, "tpm-object") == 0,
	   "another instance's record: ENF_NO, tpm-object");

	rec.p[4 + 4 + 4 + 16 + 4] ^= 1;		/* the parent check */
	ok(unbind(&rec, "SHA256:one", &c, &why) == ENF_FAIL && !c && strcmp(why, "tpm-other") == 0 &&
		   strstr(enf_errmsg(), "bound to another TPM"),
	   "a parent that does not match: another TPM");
	rec.p[4 + 4 + 4 + 16 + 4] ^= 1;

	rec.p[rec.len - 5] ^= 0x40;		/* the private blob */
	ok(unbind(&rec, "SHA256:one", &c, &why) == ENF_NO && !c && strcmp(why, "tpm-object") == 0 &&
		   strstr(enf_errmsg(), "does not load"),
	   "a damaged object: does not load (%s)", enf_errmsg());
	rec.p[rec.len - 5] ^= 0x40;

	wbuf_put(&rec, "x", 1);
	ok(unbind(&rec, "SHA256:one", &c, &why) == ENF_NO && strcmp(why, "tpm-object") == 0,
	   "a trailing byte: corrupt");
	rec.len--;

	ok(tpm_bind(tcti, 1u << 16, "SHA256:one", &c, &other) == ENF_OK, "bind with a PCR policy");
	tpm_root_free(c);
	c = NULL;
	ok(tpm_unbind(tcti, other.p, other.len, "SHA256:one", &c, &why) == ENF_OK && c,
	   "unbind while the PCR holds its value");
	tpm_root_free(a);
	tpm_root_free(b);
	tpm_root_free(c);
	wbuf_free(&rec);
	wbuf_free(&other);
}

int main(void)
{
	if (crypto_init() != ENF_OK)
		return 1;
	test_pcr_lists();
	test_tcti_choice();
	test_corrupt_record_needs_no_tpm();
	test_unreachable();
	if (swtpm_start() == 0) {
		test_with_swtpm();
		swtpm_stop();
	} else {
		ok(0, "swtpm starts (make deps installs it)");
	}
	return done_testing();
}
