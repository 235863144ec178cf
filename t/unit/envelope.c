/* The request envelope parser: every way a request can be malformed is
 * refused, and the one canonical spelling is accepted (enf-request(5)).
 * The signatures below were made with ssh-keygen -Y sign over BODY. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "crypto.h"
#include "envelope.h"

#define DIGEST "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static const char *const LINES[8] = {
	"enf-request 1", "key release-2026", "identity ci-bot", "purpose release",
	"scope artifact:tarball", "rule rel-tarballs", "format sshsig", "digest sha256 " DIGEST,
};

static const char REQ_SIG[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgpzr8zH/6kcgwIjrUdWypiOD2FW\n"
	"5r6yGaTkl2xeoT+KkAAAALZW5mLXJlcXVlc3QAAAAAAAAABnNoYTUxMgAAAFMAAAALc3No\n"
	"LWVkMjU1MTkAAABAss5GNkDuJVzg89aaTztsSFa2Os+owQGyjcuj6xxT6XgX9Y4t1gbadQ\n"
	"jbn+h0JyQPLOIpsiz+oNkV3H3FtrhXDQ==\n"
	"-----END SSH SIGNATURE-----\n";
static const char APPROVE_A[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgjAVCsxtqui8IiMsEowJkV2p3m3\n"
	"ypq/knmCi1ZE163RUAAAALZW5mLWFwcHJvdmUAAAAAAAAABnNoYTUxMgAAAFMAAAALc3No\n"
	"LWVkMjU1MTkAAABATcBd5LRVuZAU5471mGQnzvQr0Yci7sAHKT8v5t+r1A+pm+B8SBuAyw\n"
	"SMhmLRahbeh15Ex6BTNzl/ctAGSzI2BA==\n"
	"-----END SSH SIGNATURE-----\n";
static const char APPROVE_B[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EEIT+4x7dx6FavYj6t9HNm9bI/9m+2Y4PIjpHCozstF2ecORoTCEpb8z6iVID/zWSyAVJm\n"
	"KEYViFUOdWRAXqwZtQAAAAtlbmYtYXBwcm92ZQAAAAAAAAAGc2hhNTEyAAAAZAAAABNlY2\n"
	"RzYS1zaGEyLW5pc3RwMjU2AAAASQAAACEAmzA7DUiLeSqW6+5zoOTDp3EHtwFys4YVGPmJ\n"
	"gsmZWKEAAAAgK8qYTpurLrETs4GItrgEainylTqzRZUwy0sgeWLaP54=\n"
	"-----END SSH SIGNATURE-----\n";
/* Namespace "release": a signature for some other use. */
static const char WRONG_NS[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgpzr8zH/6kcgwIjrUdWypiOD2FW\n"
	"5r6yGaTkl2xeoT+KkAAAAHcmVsZWFzZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQy\n"
	"NTUxOQAAAEDxEe9J+0L0XCACDjGfu5GHm9z0vzuvCfGedPe+AgNRaKL9aTRX/ZmNZAJINC\n"
	"552PnTw0oZ6Hqii89/1qRDBgcA\n"
	"-----END SSH SIGNATURE-----\n";

static char text[16384];
static size_t textlen;

static void start(void) { textlen = 0; text[0] = '\0'; }

static void add(const char *s)
{
	size_t n = strlen(s);
	if (textlen + n < sizeof text) {
		memcpy(text + textlen, s, n + 1);
		textlen += n;
	}
}

static void add_line(const char *s) { add(s); add("\n"); }

/* The body with line `skip` left out and/or line `replace` replaced
 * (-1: none). */
static void body_with(int skip, int replace, const char *with)
{
	for (int i = 0; i < 8; i++) {
		if (i == skip)
			continue;
		add_line(i == replace ? with : LINES[i]);
	}
}

static void body(void) { body_with(-1, -1, NULL); }

static char why[256];

static int parse(int allow_unsigned)
{
	struct envelope e;
	int rc = envelope_parse(&e, text, textlen, allow_unsigned, why, sizeof why);
	if (rc == ENF_OK)
		envelope_free(&e);
	return rc;
}

/* One malformed request: refused with a reason. */
static void refused(const char *name)
{
	int rc = parse(0);
	ok(rc == ENF_NO && why[0], "refuses %s (%s)", name, why);
	rc = parse(1);
	ok(rc == ENF_NO, "refuses %s even when a bare body is allowed", name);
}

static void test_valid(void)
{
	struct envelope e;
	unsigned char h[32];
	struct wbuf w;

	start(); body(); add(REQ_SIG);
	ok(envelope_parse(&e, text, textlen, 0, why, sizeof why) == ENF_OK,
	   "accepts a signed request with no approval (%s)", why);
	ok(strcmp(e.key, "release-2026") == 0 && strcmp(e.identity, "ci-bot") == 0 &&
	   strcmp(e.purpose, "release") == 0 && strcmp(e.scope, "artifact:tarball") == 0 &&
	   strcmp(e.rule, "rel-tarballs") == 0 && e.format == FMT_SSHSIG &&
	   e.digest_alg == HASH_SHA256, "fields are read");
	ok(e.digest[0] == 0x2c && e.digest[31] == 0x24, "digest is decoded");
	ok(e.has_signature && e.napprovals == 0 && strcmp(e.requester.ns, NS_REQUEST) == 0,
	   "requester signature is kept");
	ok(e.bodylen == textlen - strlen(REQ_SIG) && memcmp(e.body, text, e.bodylen) == 0,
	   "body is the exact bytes before the signature");
	hash_buf(HASH_SHA256, text, e.bodylen, h);
	ok(memcmp(h, e.body_sha256, 32) == 0, "body_sha256 is SHA-256 of the body bytes");
	ok(sshsig_verify(&e.requester, NS_REQUEST, NULL, e.body, e.bodylen) == ENF_OK,
	   "the requester's ssh-keygen signature verifies over the parsed body");
	wbuf_init(&w, 0);
	ok(envelope_write_body(&e, &w) == ENF_OK && w.len == e.bodylen &&
	   memcmp(w.p, e.body, w.len) == 0, "writer reproduces the body byte for byte");
	wbuf_free(&w);
	envelope_free(&e);

	start(); body(); add(REQ_SIG); add(APPROVE_A);
	ok(envelope_parse(&e, text, textlen, 0, why, sizeof why) == ENF_OK && e.napprovals == 1,
	   "accepts one approval");
	envelope_free(&e);
	start(); body(); add(REQ_SIG); add(APPROVE_A); add(APPROVE_B);
	ok(envelope_parse(&e, text, textlen, 0, why, sizeof why) == ENF_OK && e.napprovals == 2 &&
	   strcmp(e.approvals[1].ns, NS_APPROVE) == 0, "accepts two approvals");
	envelope_free(&e);

	start(); body();
	ok(parse(1) == ENF_OK, "accepts a bare body when allowed");
	ok(envelope_parse(&e, text, textlen, 1, why, sizeof why) == ENF_OK && !e.has_signature,
	   "a bare body has no signature");
	envelope_free(&e);
	ok(parse(0) == ENF_NO, "refuses a bare body when a signature is required (%s)", why);

	start();
	body_with(-1, 7, "digest sha512 "
		  "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"
		  "2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043");
	ok(parse(1) == ENF_OK, "accepts a sha512 digest");
	start(); body_with(-1, 6, "format raw");
	ok(parse(1) == ENF_OK, "accepts format raw");
	start(); body_with(-1, 4, "scope A.Z_0:9/x@y+z-w");
	ok(parse(1) == ENF_OK, "accepts every scope character");
}

static void test_lines(void)
{
	static const char *const names[8] = {
		"magic", "key", "identity", "purpose", "scope", "rule", "format", "digest"
	};
	char name[64];

	for (int i = 0; i < 8; i++) {
		start(); body_with(i, -1, NULL); add(REQ_SIG);
		snprintf(name, sizeof name, "a request missing its %s line", names[i]);
		refused(name);
	}
	start(); body(); add_line("comment hello"); add(REQ_SIG);
	refused("an extra line after the body");
	start(); body_with(-1, 3, "purpose release\nnote x"); add(REQ_SIG);
	refused("an extra line inside the body");
	start(); body_with(-1, 2, "identity ci-bot\nidentity ci-bot"); add(REQ_SIG);
	refused("a repeated identity line");
	start(); body_with(-1, 1, "key release-2026\nkey release-2026"); add(REQ_SIG);
	refused("a repeated key line");
	start();
	add_line(LINES[0]); add_line(LINES[1]); add_line(LINES[3]); add_line(LINES[2]);
	for (int i = 4; i < 8; i++)
		add_line(LINES[i]);
	add(REQ_SIG);
	refused("reordered identity and purpose lines");
	start(); add_line(LINES[7]);
	for (int i = 0; i < 7; i++)
		add_line(LINES[i]);
	add(REQ_SIG);
	refused("the digest line first");
	start();
	for (int i = 0; i < 7; i++)
		add_line(LINES[i]);
	add(LINES[7]);
	refused("a body whose last line lacks LF");
}

static void test_bytes(void)
{
	char name[64];

	start();
	for (int i = 0; i < 8; i++) { add(LINES[i]); add("\r\n"); }
	add(REQ_SIG);
	refused("CRLF line endings");
	start(); body(); add(REQ_SIG); text[textlen - 1] = '\r'; add("\n");
	refused("a CR in the signature armor");
	start(); body_with(-1, 1, "key\trelease-2026"); add(REQ_SIG);
	refused("a tab between keyword and value");
	for (int i = 0; i < 8; i++) {
		char line[256];
		snprintf(line, sizeof line, "%s ", LINES[i]);
		start(); body_with(-1, i, line); add(REQ_SIG);
		snprintf(name, sizeof name, "a trailing space on line %d", i + 1);
		refused(name);
	}
	start(); body_with(-1, 2, "identity  ci-bot"); add(REQ_SIG);
	refused("a double space");
	start(); body_with(-1, 2, " identity ci-bot"); add(REQ_SIG);
	refused("a leading space");
	start(); body_with(-1, 4, "scope artifact:tarb\xc3\xa4ll"); add(REQ_SIG);
	refused("non-ASCII in the scope");
	start(); body(); add(REQ_SIG);
	text[20] = '\0';
	refused("a NUL byte in the body");
	start(); body(); add(REQ_SIG);
	text[textlen - 10] = '\0';
	refused("a NUL byte in the signature");
	start(); body(); add("\x7f"); add(REQ_SIG);
	refused("a DEL byte");
}

static void test_values(void)
{
	static const struct { int line; const char *text, *name; } bad[] = {
		{ 0, "enf-request 2", "version 2" },
		{ 0, "enf-request", "a version line without version" },
		{ 1, "key Release-2026", "an uppercase key name" },
		{ 1, "key -release", "a key name starting with '-'" },
		{ 1, "key ", "an empty key name" },
		{ 1, "key a2345678901234567890123456789012345678901234567890123456789012345",
		  "a 65-character key name" },
		{ 2, "identity ci bot", "an identity with a space" },
		{ 3, "purpose re/lease", "a purpose with '/'" },
		{ 4, "scope ", "an empty scope" },
		{ 4, "scope a*", "a scope with '*'" },
		{ 4, "scope a,b", "a scope with ','" },
		{ 5, "rule ../x", "a rule name with '/'" },
		{ 6, "format pem", "format pem" },
		{ 6, "format SSHSIG", "format in capitals" },
		{ 7, "digest sha384 " DIGEST, "digest sha384" },
		{ 7, "digest sha256 " DIGEST "00", "a digest too long" },
		{ 7, "digest sha256 2cf24dba", "a digest too short" },
		{ 7, "digest sha256 2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
		  "an uppercase hex digest" },
		{ 7, "digest sha256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982g",
		  "a non-hex digest" },
		{ 7, "digest sha512 " DIGEST, "a sha512 digest of sha256 length" },
		{ 7, "digest " DIGEST, "a digest without algorithm" },
	};
	char scope[200];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		start(); body_with(-1, bad[i].line, bad[i].text); add(REQ_SIG);
		refused(bad[i].name);
	}
	start(); body_with(-1, 1, "key a234567890123456789012345678901234567890123456789012345678901234");
	add(REQ_SIG);
	ok(parse(0) == ENF_OK, "accepts a 64-character key name");
	memset(scope, 0, sizeof scope);
	strcpy(scope, "scope ");
	memset(scope + 6, 'a', 129);
	start(); body_with(-1, 4, scope); add(REQ_SIG);
	refused("a 129-character scope");
	scope[6 + 128] = '\0';
	start(); body_with(-1, 4, scope); add(REQ_SIG);
	ok(parse(0) == ENF_OK, "accepts a 128-character scope");
}

static void test_size(void)
{
	char *big = malloc(8192);

	strcpy(big, "scope ");
	memset(big + 6, 'a', 5000);
	big[5006] = '\0';
	start(); body_with(-1, 4, big); add(REQ_SIG);
	refused("a body over 4 KiB");
	ok(strstr(why, "4096") != NULL, "the reason names the size limit");
	free(big);
}

static void test_tail(void)
{
	start(); body(); add(REQ_SIG); add("\n");
	refused("a blank line after the signature");
	start(); body(); add(REQ_SIG); add(APPROVE_A); add("\n");
	refused("a blank line after the last approval");
	start(); body(); add(REQ_SIG); add("trailing text\n");
	refused("text after the signature");
	start(); body(); add(REQ_SIG); add(APPROVE_A); add("x");
	refused("one byte after the last approval");
	start(); body(); add(REQ_SIG); textlen--; text[textlen] = '\0';
	refused("a signature without its final LF");
	start(); body(); add(REQ_SIG); textlen -= 28; text[textlen] = '\0';
	refused("a signature without its END line");
	start(); body(); add("\n"); add(REQ_SIG);
	refused("a blank line between body and signature");
	start(); body(); add(REQ_SIG); add(REQ_SIG);
	refused("a second requester signature (namespace enf-request) as approval");
}

static void test_namespaces(void)
{
	start(); body(); add(WRONG_NS);
	refused("a requester signature in namespace 'release'");
	start(); body(); add(APPROVE_A);
	refused("an approval in place of the requester signature");
	start(); body(); add(REQ_SIG); add(WRONG_NS);
	refused("an approval in namespace 'release'");
	start(); body(); add(REQ_SIG); add(APPROVE_A); add(WRONG_NS);
	refused("a second approval in the wrong namespace");
}

static void test_garbage(void)
{
	unsigned char bin[512];
	struct envelope e;

	start();
	refused("empty input");
	ok(envelope_parse(&e, NULL, 0, 1, why, sizeof why) == ENF_NO, "refuses NULL input");
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 131 + 7);
	memcpy(text, bin, sizeof bin);
	textlen = sizeof bin;
	refused("binary input");
	start(); add(REQ_SIG);
	refused("a signature with no body");
	start(); add("\n");
	refused("a lone newline");
}

static void test_writer(void)
{
	struct envelope e;
	struct wbuf w;

	memset(&e, 0, sizeof e);
	strcpy(e.key, "k"); strcpy(e.identity, "i"); strcpy(e.purpose, "p");
	strcpy(e.scope, "s"); strcpy(e.rule, "r");
	e.format = FMT_RAW;
	e.digest_alg = HASH_SHA512;
	wbuf_init(&w, 0);
	ok(envelope_write_body(&e, &w) == ENF_OK, "writes a minimal body");
	memcpy(text, w.p, w.len);
	textlen = w.len;
	ok(parse(1) == ENF_OK, "what the writer writes, the parser reads");
	wbuf_reset(&w);
	strcpy(e.key, "Bad");
	ok(envelope_write_body(&e, &w) != ENF_OK, "writer refuses an invalid name");
	strcpy(e.key, "k");
	strcpy(e.scope, "a b");
	ok(envelope_write_body(&e, &w) != ENF_OK, "writer refuses an invalid scope");
	strcpy(e.scope, "s");
	e.digest_alg = HASH_SHA384;
	ok(envelope_write_body(&e, &w) != ENF_OK, "writer refuses sha384");
	wbuf_free(&w);
	ok(strcmp(format_name(FMT_SSHSIG), "sshsig") == 0 && strcmp(format_name(FMT_RAW), "raw") == 0,
	   "format names");
}

int main(void)
{
	crypto_init();
	test_valid();
	test_lines();
	test_bytes();
	test_values();
	test_size();
	test_tail();
	test_namespaces();
	test_garbage();
	test_writer();
	return done_testing();
}
