/* Unit tests for lib/request.c: a made request is the canonical body and
 * its requester signature, an approval appends one signature over the
 * body, and both parse as enf-sign parses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "crypto.h"
#include "enf.h"
#include "envelope.h"
#include "request.h"

static char dir[] = "/tmp/enf-request-XXXXXX";

static struct envelope fields(void)
{
	struct envelope e;

	memset(&e, 0, sizeof e);
	strcpy(e.key, "k");
	strcpy(e.identity, "ci");
	strcpy(e.purpose, "release");
	strcpy(e.scope, "artifact:tarball");
	strcpy(e.rule, "rel");
	e.format = FMT_SSHSIG;
	e.digest_alg = HASH_SHA256;
	hash_buf(HASH_SHA256, "data", 4, e.digest);
	return e;
}

static void test_unsigned(void)
{
	struct envelope e = fields(), back;
	struct wbuf made, body;
	char why[256];

	wbuf_init(&made, 0);
	wbuf_init(&body, 0);
	ok(request_make(&e, NULL, &made) == ENF_OK && envelope_write_body(&e, &body) == ENF_OK &&
	   made.len == body.len && memcmp(made.p, body.p, body.len) == 0,
	   "without a key, the request is the canonical body");
	ok(envelope_parse(&back, (const char *)made.p, made.len, 1, why, sizeof why) == ENF_OK &&
	   !back.has_signature && strcmp(back.scope, e.scope) == 0, "and parses back unsigned");
	envelope_free(&back);
	ok(request_approve((const char *)made.p, made.len, "unused", &body) == ENF_NO &&
	   strncmp(enf_errmsg(), "malformed request: ", 19) == 0,
	   "an unsigned body cannot be approved: malformed request");
	wbuf_free(&made);
	wbuf_free(&body);
}

static void test_signed(const char *key)
{
	struct envelope e = fields(), back;
	struct wbuf made, approved;
	char why[256];

	wbuf_init(&made, 0);
	wbuf_init(&approved, 0);
	ok(request_make(&e, key, &made) == ENF_OK, "signed with ssh-keygen");
	ok(envelope_parse(&back, (const char *)made.p, made.len, 0, why, sizeof why) == ENF_OK &&
	   back.has_signature && back.napprovals == 0 && strcmp(back.requester.ns, NS_REQUEST) == 0,
	   "a signed request, namespace enf-request");
	envelope_free(&back);
	ok(request_approve((const char *)made.p, made.len, key, &approved) == ENF_OK &&
	   approved.len > made.len && memcmp(approved.p, made.p, made.len) == 0,
	   "an approval is appended, the request before it unchanged");
	ok(envelope_parse(&back, (const char *)approved.p, approved.len, 0, why, sizeof why) ==
		   ENF_OK && back.napprovals == 1 && strcmp(back.approvals[0].ns, NS_APPROVE) == 0,
	   "and it parses with one approval, namespace enf-approve");
	envelope_free(&back);
	ok(request_approve((const char *)made.p, made.len - 1, key, &approved) == ENF_NO,
	   "a cut request is not approved");
	wbuf_free(&made);
	wbuf_free(&approved);
}

int main(void)
{
	char key[64], cmd[128];

	ok(crypto_init() == ENF_OK && mkdtemp(dir) != NULL, "setup");
	snprintf(key, sizeof key, "%s/ci", dir);
	snprintf(cmd, sizeof cmd, "ssh-keygen -q -t ed25519 -N '' -C ci -f %s", key);
	ok(system(cmd) == 0, "an SSH key");
	test_unsigned();
	test_signed(key);
	unlink(key);
	strcat(key, ".pub");
	unlink(key);
	rmdir(dir);
	return done_testing();
}
