/* Unit tests of the instance file parser (instance.c): the file
 * enf-keygen instance prints, and what must be refused or marked
 * incomplete. */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "crypto.h"
#include "instance.h"
#include "keyfmt.h"

#define ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm/RAlphM3+hUG6wWfcO5bIUIaqMLa2ywxcOK1wMWbh"
#define RSA_LINE "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC4+zy1GY7NnTmRRbWF3Zm2Er1Rw8GIqb74O1tDqDjpAOLh/uXtrXhmPTI8s7voXCFwOfjEg33vcS9A9eGVZXk/+OQrNQf92zrBmn+sfElRlZPGi/DoLzTLcTbUmfKrH8A0ceJTvBGr9Z5He81g/DPwAD/1JJYgeciroGubgCtQoV3a4K4uipbfp0Y36428/7+6nSh4kp/7b8f9Hn7WaXGLFG1ksg/r6j/f2Prw9QUubvaDmjJYKpE9wAvblzGLiwL0FA0mPaM6KuArEzvn6OlGzFlmZQ3UYLjKBbUazShTe0OblYJJr4HpJvDMEAigqT9Y/IhBONpjEYr+PTibU5ax"
/* 32 bytes 0x01..0x20, and 32 zero bytes */
#define X "enf-x25519 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define X_ZERO "enf-x25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define X_SHORT "enf-x25519 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e"

/* -1: refused; 0: identity only; 1: identity and transfer key. */
static int parse(const char *text, size_t n)
{
	struct instance_file f;
	int has;

	if (instance_parse(text, n, &f) != ENF_OK)
		return f.identity.blob == NULL ? -1 : -2;	/* -2: left something to free */
	has = f.has_x25519;
	instance_free(&f);
	return has;
}

static int parse_s(const char *text)
{
	return parse(text, strlen(text));
}

static void test_good(void)
{
	struct instance_file f;
	const char *t = ED " enf-instance\n" X "\n";
	char fp[FINGERPRINT_MAX];

	ok(instance_parse(t, strlen(t), &f) == ENF_OK && f.has_x25519 &&
	   f.identity.type == KT_ED25519 && f.x25519[0] == 1 && f.x25519[31] == 0x20,
	   "the file enf-keygen instance prints: identity and transfer key");
	pubkey_fingerprint(&f.identity, fp);
	ok(strncmp(fp, "SHA256:", 7) == 0, "the identity is a usable key (%s)", fp);
	instance_free(&f);
	ok(f.identity.blob == NULL, "instance_free clears");
	ok(parse_s("# enf instance\n\n" ED "\n\n# transfers\n" X "\n\n") == 1,
	   "blank lines and comments are skipped");
	ok(parse_s(ED "\n" X) == 1, "no newline at the end");
}

static void test_identity_refused(void)
{
	ok(parse_s("") == -1, "empty file");
	ok(parse_s("\n\n# only comments\n") == -1, "only blank lines and comments");
	ok(parse_s(RSA_LINE "\n" X "\n") == -1, "an RSA key is not an instance identity");
	ok(parse_s(X "\n" ED "\n") == -1, "lines in the wrong order");
	ok(parse_s("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm/\n" X "\n") == -1,
	   "a truncated identity key");
	ok(parse_s("ssh-ed25519\n") == -1, "a key type without a key");
	ok(parse_s(" " ED "\n") == -1, "leading space");
}

static void test_transfer_key_missing(void)
{
	char buf[512];
	size_t n;

	ok(parse_s(ED "\n") == 0, "identity alone: parses, without a transfer key");
	ok(parse_s(ED "\n" X_ZERO "\n") == 0, "the all-zero X25519 key is refused");
	ok(parse_s(ED "\n" X_SHORT "\n") == 0, "a short X25519 key is refused");
	ok(parse_s(ED "\nenf-x25519 \n") == 0, "an empty X25519 key is refused");
	ok(parse_s(ED "\nenf-x25519 AQID!!!=\n") == 0, "bad base64 is refused");
	ok(parse_s(ED "\nenf-x448 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n") == 0,
	   "another tag is refused");
	ok(parse_s(ED "\n" X "\n" X "\n") == 0, "a third line makes the file incomplete");
	ok(parse_s(ED "\n" X "\ngarbage\n") == 0, "trailing text makes the file incomplete");
	/* Bounded: a text that is cut short is parsed only as far as n. */
	n = (size_t)snprintf(buf, sizeof buf, "%s\n%s\n", ED, X);
	ok(parse(buf, n - 6) == 0, "the transfer key cut by n is refused");
	ok(parse(buf, strlen(ED) - 4) == -1, "the identity cut by n is refused");
	ok(parse(buf, 0) == -1, "n = 0 is an empty file");
	buf[strlen(ED) + 5] = '\0';
	ok(parse(buf, n) == 0, "a NUL inside the transfer key line is not skipped over");
}

int main(void)
{
	enf_setprogname("instance-unit");
	ok(crypto_init() == ENF_OK, "crypto");
	test_good();
	test_identity_refused();
	test_transfer_key_missing();
	return done_testing();
}
