/* Unit tests for what enf-request's main hands to lib/request.c and
 * lib/request_show.c: the fields from the options, reading and parsing a
 * request file, the policy to verify under, the digest check, and what
 * show and verify print. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "enf.h"
#include "crypto.h"
#include "decide.h"
#include "encode.h"
#include "envelope.h"
#include "evaluate.h"
#include "policy.h"
#include "request.h"

static char dir[] = "/tmp/enf-request-verify-XXXXXX";
static char key[96], reqf[96], polf[96], dataf[96], sha256[80];
static const char sha384[] = "sha384:"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static struct request_args args(void)
{
	return (struct request_args){ "rel", "ci", "release", "artifact:tarball", "rel", NULL,
				      "sha256", NULL, dataf };
}

static void usage_err(struct request_args a, const char *msg)
{
	struct envelope e;

	memset(&e, 0, sizeof e);
	ok(request_fields(&a, &e) == ENF_USAGE && strcmp(enf_errmsg(), msg) == 0, "fields: %s", msg);
}

static void test_fields(void)
{
	struct request_args a = args();
	struct envelope e;
	unsigned char d[32];

	a.rule = NULL;
	usage_err(a, "-k, -i, -p, -s and -r are all required");
	a = args(), a.format = "pem";
	usage_err(a, "-f: format must be sshsig or raw");
	a = args(), a.hash = "sha1";
	usage_err(a, "-a: hash must be sha256 or sha512");
	a = args(), a.digest = sha384;
	usage_err(a, "--digest: algorithm must be sha256 or sha512");
	a = args();
	memset(&e, 0, sizeof e);
	hash_buf(HASH_SHA256, "data\n", 5, d);
	ok(request_fields(&a, &e) == ENF_OK && e.digest_alg == HASH_SHA256 &&
	   memcmp(e.digest, d, 32) == 0 && e.format == FMT_SSHSIG && strcmp(e.scope, a.scope) == 0,
	   "fields: the data file hashed with -a, format sshsig by default");
}

static void test_files(void)
{
	struct request_args a = args();
	struct envelope e;
	struct wbuf w;
	char big[128], want[256];
	FILE *f;

	memset(&e, 0, sizeof e);
	wbuf_init(&w, 0);
	ok(request_fields(&a, &e) == ENF_OK && request_make(&e, key, &w) == ENF_OK, "a request");
	f = fopen(reqf, "w");
	fwrite(w.p, 1, w.len, f);
	fclose(f);
	wbuf_free(&w);
	ok(request_file_parse(reqf, 0, &e) == ENF_OK && e.has_signature, "request_file_parse");
	envelope_free(&e);
	ok(request_file_parse(dataf, 1, &e) == ENF_NO &&
	   strncmp(enf_errmsg(), "malformed request: ", 19) == 0, "not a request: malformed");
	snprintf(big, sizeof big, "%s/big", dir);
	f = fopen(big, "w");
	for (int i = 0; i <= REQUEST_SIZE_MAX; i++)
		fputc('x', f);
	fclose(f);
	snprintf(want, sizeof want, "%s: request larger than %d bytes", big, REQUEST_SIZE_MAX);
	ok(request_file_parse(big, 1, &e) == ENF_NO && strcmp(enf_errmsg(), want) == 0,
	   "over the limit: %s", want);
	unlink(big);
}

static void test_digest(const struct envelope *e)
{
	char note[128], arg[160], want[160];

	ok(request_digest_check(e, NULL, NULL, note, sizeof note) == ENF_OK &&
	   strcmp(note, "(not checked: give --data FILE or --digest ALG:HEX)") == 0,
	   "digest: not checked without data");
	ok(request_digest_check(e, dataf, sha256, note, sizeof note) == ENF_USAGE,
	   "digest: --data and --digest exclude each other");
	snprintf(want, sizeof want, "(matches %s)", dataf);
	ok(request_digest_check(e, dataf, NULL, note, sizeof note) == ENF_OK &&
	   strcmp(note, want) == 0, "digest: %s", want);
	ok(request_digest_check(e, NULL, sha256, note, sizeof note) == ENF_OK &&
	   strcmp(note, "(matches --digest)") == 0, "digest: matches --digest");
	snprintf(arg, sizeof arg, "%s", sha256);
	arg[strlen(arg) - 1] = arg[strlen(arg) - 1] == '0' ? '1' : '0';
	ok(request_digest_check(e, NULL, arg, note, sizeof note) == ENF_NO &&
	   strcmp(enf_errmsg(), "the request's digest does not match --digest") == 0,
	   "digest: another digest is exit 1");
	snprintf(arg, sizeof arg, "sha512:%0128d", 0);
	ok(request_digest_check(e, NULL, arg, note, sizeof note) == ENF_NO &&
	   strcmp(enf_errmsg(), "--digest is sha512 but the request's digest is sha256") == 0,
	   "digest: another algorithm is exit 1");
}

static int has(const char *out, const char *s)
{
	int found = strstr(out, s) != NULL;

	if (!found)
		printf("# no \"%s\" in:\n%s", s, out);
	return found;
}

static void test_print(const struct envelope *e, const struct policy *pol)
{
	const struct pol_identity *signer[1];
	struct decision d;
	char *out = NULL, where[160];
	size_t n;
	FILE *f = open_memstream(&out, &n);

	request_print(e, f);
	fclose(f);
	ok(has(out, "key            rel\nidentity       ci\npurpose        release\n") &&
	   has(out, "\nrequester      ssh-ed25519 SHA256:") && has(out, "(namespace enf-request, sha512)\n") &&
	   has(out, "signatures are not verified here (enf-request verify and enf-sign verify them "
		    "against the policy)\n"), "show's lines");
	free(out);
	ok(decide_authenticity(e, pol, signer, &d) == R_PERMIT, "the request is authentic");
	f = open_memstream(&out, &n);
	snprintf(where, sizeof where, "file %s", polf);
	request_print_verified(e, pol, signer, where, "(matches --digest)", f);
	fclose(f);
	snprintf(where, sizeof where, "policy         plain (file %s)\n", polf);
	ok(has(out, where) && has(out, " (matches --digest)\n") &&
	   has(out, "requester      ci: ssh-ed25519 SHA256:") && has(out, " good signature\n"),
	   "verify's lines");
	free(out);
}

static void test_policy(void)
{
	struct policy *pol = NULL;
	struct envelope e;
	char where[160], want[160], line[512], pub[128], policy[1024];
	FILE *f;

	snprintf(pub, sizeof pub, "%s.pub", key);
	f = fopen(pub, "r");
	ok(f && fgets(line, sizeof line, f), "the SSH public key");
	if (f)
		fclose(f);
	*strrchr(line, ' ') = 0;	/* no comment */
	snprintf(policy, sizeof policy, "version 1\npolicy plain\npurpose release\nidentity ci %s\n"
		 "rule rel key=rel identity=ci purpose=release scope=artifact:tarball\n", line);
	put(polf, policy);
	snprintf(want, sizeof want, "file %s", polf);
	ok(request_policy(polf, NULL, &pol, where, sizeof where) == ENF_OK &&
	   strcmp(where, want) == 0 && strcmp(pol->id, "plain") == 0, "policy from a file");
	ok(request_file_parse(reqf, 0, &e) == ENF_OK, "the request again");
	test_digest(&e);
	test_print(&e, pol);
	envelope_free(&e);
	policy_free(pol);
	pol = NULL;
	snprintf(want, sizeof want, "%s: not a valid policy", dataf);
	ok(request_policy(dataf, NULL, &pol, where, sizeof where) != ENF_OK && !pol &&
	   strcmp(enf_errmsg(), want) == 0, "%s", want);
}

int main(void)
{
	char cmd[160];
	unsigned char d[32];
	struct wbuf hex;

	ok(crypto_init() == ENF_OK && mkdtemp(dir) != NULL, "setup");
	snprintf(key, sizeof key, "%s/ci", dir);
	snprintf(reqf, sizeof reqf, "%s/req", dir);
	snprintf(polf, sizeof polf, "%s/policy", dir);
	snprintf(dataf, sizeof dataf, "%s/data", dir);
	put(dataf, "data\n");
	hash_buf(HASH_SHA256, "data\n", 5, d);
	wbuf_init(&hex, 0);
	hex_encode(&hex, d, 32);
	snprintf(sha256, sizeof sha256, "sha256:%.*s", (int)hex.len, (char *)hex.p);
	wbuf_free(&hex);
	snprintf(cmd, sizeof cmd, "ssh-keygen -q -t ed25519 -N '' -C ci -f %s", key);
	ok(system(cmd) == 0, "an SSH key");
	test_fields();
	test_files();
	test_policy();
	unlink(reqf);
	unlink(polf);
	unlink(dataf);
	unlink(key);
	strcat(key, ".pub");
	unlink(key);
	ok(rmdir(dir) == 0, "nothing else was left in %s", dir);
	return done_testing();
}
