/* The policy parser (enf-policy(5)): every error and every warning, each
 * at the line it belongs to; a valid policy parses into what it says. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "crypto.h"
#include "policy.h"

#define ALICE "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO3qxqNut6uBK1bv4mTphbLrXUdsKA72d1y4QQNNv/65"
#define BOB "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIApKn+ajzvqH5wCqATpHkvK5uSVNzb53vwKmksAAo2dQ"
#define CAROL "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOja3YOIAVxuFf3FcuqyjvJ8+QVaVgT5kgbS77nBDoGS"
#define DAVE "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBP7+hTr3cKqys6Vz+9x6rNx9NscUEzh0rNg6ffi6bPpKswQYvOjGaY8ZP4m0zm/x+tmp1xxXm9E6KSi+UeWNGZI="

/* Lines 1-7 of every test policy; what a test adds starts at line 8. */
#define HEAD \
	"version 1\n" \
	"policy test-1\n" \
	"purpose release\n" \
	"identity ci-bot " ALICE " ci@build\n" \
	"identity bob " BOB "\n" \
	"identity carol " CAROL "\n" \
	"group managers bob carol\n"

static char diagbuf[8192];
static int last_rc;

/* Parse; the diagnostics land in diagbuf. */
static struct policy *parse(const char *text)
{
	struct policy *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	last_rc = policy_parse(text, strlen(text), "t.policy", f, &p);
	fclose(f);
	snprintf(diagbuf, sizeof diagbuf, "%s", buf ? buf : "");
	free(buf);
	return p;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* text has exactly one diagnostic, `want` (a prefix of it). */
static void one(const char *text, const char *want, const char *what)
{
	struct policy *p = parse(text);
	int is_error = strstr(want, ": error: ") != NULL;

	ok(strncmp(diagbuf, want, strlen(want)) == 0 && count_lines(diagbuf) == 1 &&
	   (is_error ? last_rc == ENF_NO && !p : last_rc == ENF_OK && p),
	   "%s: %s", what, want);
	if (strncmp(diagbuf, want, strlen(want)) != 0 || count_lines(diagbuf) != 1)
		printf("#   got: %s", diagbuf);
	policy_free(p);
}

static void has(const char *text, const char *want, const char *what)
{
	struct policy *p = parse(text);

	ok(strstr(diagbuf, want) != NULL, "%s: %s", what, want);
	if (!strstr(diagbuf, want))
		printf("#   got: %s", diagbuf);
	policy_free(p);
}

static void test_valid(void)
{
	struct policy *p = parse(HEAD
		"# a comment line\n"
		"\n"
		"  rule rel\tkey=release-2026 identity=ci-bot purpose=release "
		"scope=artifact:tarball,device:* approvals=1:managers   # trailing\n"
		"revoke identity mallory\n"
		"revoke key old-2025\n"
		"revoke rule fw-legacy\n");
	const struct pol_rule *r;
	unsigned char d[32];
	const char *text = HEAD;

	ok(p && last_rc == ENF_OK && diagbuf[0] == '\0', "a valid policy parses silently");
	if (!p)
		return;
	ok(strcmp(p->id, "test-1") == 0, "the policy id is kept");
	ok(p->nidentities == 3 && p->identities[0].comment &&
	   strcmp(p->identities[0].comment, "ci@build") == 0, "identities and comments are kept");
	r = policy_rule(p, "rel");
	ok(r && r->nscopes == 2 && r->approvals == 1 && strcmp(r->group, "managers") == 0 &&
	   r->line == 10, "the rule is kept with its scopes, approvals and line");
	ok(policy_group(p, "managers")->nmembers == 2, "group members resolve");
	ok(policy_revoked_identity(p, "mallory") && policy_revoked_key(p, "old-2025") &&
	   policy_revoked_rule(p, "fw-legacy") && !policy_revoked_rule(p, "rel"),
	   "revocations may name what the policy does not define");
	ok(policy_has_purpose(p, "release") && !policy_has_purpose(p, "firmware"),
	   "purposes are looked up exactly");
	policy_free(p);
	p = parse(text);
	hash_buf(HASH_SHA256, text, strlen(text), d);
	ok(p && memcmp(p->digest, d, 32) == 0, "the digest is SHA-256 of the file bytes");
	policy_free(p);
}

static void test_forward_refs(void)
{
	struct policy *p = parse("version 1\npolicy x\n"
		"rule r key=k identity=a purpose=p scope=s approvals=1:g\n"
		"group g b\n"
		"identity a " ALICE "\nidentity b " BOB "\npurpose p\n");

	ok(p && last_rc == ENF_OK, "definitions may follow their use");
	policy_free(p);
}

static void test_scope_match(void)
{
	ok(scope_match("artifact:tarball", "artifact:tarball"), "a literal scope matches itself");
	ok(!scope_match("artifact:tarball", "artifact:tarballs"), "a literal is no prefix");
	ok(scope_match("device:*", "device:gw/1"), "a trailing '*' matches a prefix");
	ok(scope_match("device:*", "device:"), "a trailing '*' matches the empty rest");
	ok(!scope_match("device:*", "devices:x"), "the prefix must match in full");
	ok(!scope_match("Device:*", "device:x"), "scopes are case-sensitive");
	ok(scope_match("*", "anything"), "a bare '*' matches everything");
	ok(scope_pattern_valid("a.b_c:d/e@f+g-h*") && !scope_pattern_valid("a*b") &&
	   !scope_pattern_valid("**") && !scope_pattern_valid("") &&
	   !scope_pattern_valid("a b") && !scope_pattern_valid("a#"),
	   "scope pattern syntax");
	char big[131];
	memset(big, 'a', 128);
	big[128] = '\0';
	ok(scope_pattern_valid(big), "a 128-byte pattern is valid");
	big[128] = 'a';
	big[129] = '\0';
	ok(!scope_pattern_valid(big), "a 129-byte pattern is not");
}

static void test_errors(void)
{
	has("", "t.policy:1: error: missing 'version 1'", "an empty file");
	has("policy x\n", "t.policy:1: error: missing 'version 1'", "no version");
	has("# c\n\npurpose p\nversion 1\npolicy x\n",
	    "t.policy:3: error: missing 'version 1'", "version after another statement");
	has("# c\n\npurpose p\nversion 1\npolicy x\n",
	    "t.policy:4: error: 'version 1' must be the first statement",
	    "a late version is pointed at");
	one("version 2\npolicy x\n", "t.policy:1: error: unsupported version",
	    "another version");
	one("version 1 extra\npolicy x\n", "t.policy:1: error: unsupported version",
	    "version with extra tokens");
	one("version 1\nversion 1\npolicy x\n", "t.policy:2: error: repeated 'version'",
	    "a repeated version");
	one("version 1\npurpose p\n", "t.policy:2: error: missing 'policy ID'",
	    "no policy id");
	one("version 1\npolicy a\npolicy b\n", "t.policy:3: error: repeated 'policy'",
	    "a repeated policy id");
	one("version 1\npolicy A\n", "t.policy:2: error: bad policy name 'A'",
	    "a bad policy id");
	one("version 1\npolicy\n", "t.policy:2: error: expected 'policy ID'", "policy alone");
	one(HEAD "frobnicate x\n", "t.policy:8: error: unknown statement 'frobnicate'",
	    "an unknown statement");
	one(HEAD "Rule r\n", "t.policy:8: error: unknown statement 'Rule'",
	    "statements are case-sensitive");
	one(HEAD "purpose release\n", "t.policy:8: error: duplicate purpose 'release'",
	    "a duplicate purpose");
	one(HEAD "purpose Bad\n", "t.policy:8: error: bad purpose name 'Bad'",
	    "a bad purpose name");
	one(HEAD "purpose a b\n", "t.policy:8: error: expected 'purpose NAME'",
	    "purpose with two names");
	one(HEAD "identity bob " CAROL "\n",
	    "t.policy:8: error: duplicate identity 'bob' (first at line 5)",
	    "a duplicate identity");
	one(HEAD "identity dave " BOB "\n",
	    "t.policy:8: error: identity 'dave' has the same public key as identity 'bob'",
	    "one key for two identities");
	one(HEAD "identity dave ssh-ed25519\n", "t.policy:8: error: expected 'identity NAME",
	    "an identity without a key");
	one(HEAD "identity dave ssh-ed25519 AAAAnotbase64!\n",
	    "t.policy:8: error: identity 'dave': not a valid OpenSSH public key",
	    "a bad key");
	one(HEAD "identity dave ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIO3qxqNut6uBK1bv4mTphbLrXUdsKA72d1y4QQNNv/65\n",
	    "t.policy:8: error: identity 'dave': not a valid OpenSSH public key",
	    "a key whose type does not match its blob");
	one(HEAD "identity Dave " DAVE "\n", "t.policy:8: error: bad identity name 'Dave'",
	    "a bad identity name");
	one(HEAD "group managers bob\n",
	    "t.policy:8: error: duplicate group 'managers' (first at line 7)", "a duplicate group");
	one(HEAD "group g bob nobody\n", "t.policy:8: error: group 'g': undefined identity 'nobody'",
	    "a group member that is not defined");
	one(HEAD "group g bob bob\n", "t.policy:8: error: group 'g': repeated member 'bob'",
	    "a repeated group member");
	one(HEAD "group g\n", "t.policy:8: error: expected 'group NAME MEMBER...'",
	    "an empty group");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s\n"
	    "rule r key=k identity=ci-bot purpose=release scope=t\n",
	    "t.policy:9: error: duplicate rule 'r' (first at line 8)", "a duplicate rule");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s colour=red\n",
	    "t.policy:8: error: rule 'r': unknown attribute 'colour'", "an unknown attribute");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s key=k\n",
	    "t.policy:8: error: rule 'r': repeated attribute 'key'", "a repeated attribute");
	one(HEAD "rule r key=k identity=ci-bot purpose=release\n",
	    "t.policy:8: error: rule 'r': missing attribute 'scope='", "a missing scope");
	one(HEAD "rule r identity=ci-bot purpose=release scope=s\n",
	    "t.policy:8: error: rule 'r': missing attribute 'key='", "a missing key");
	one(HEAD "rule r key=k purpose=release scope=s\n",
	    "t.policy:8: error: rule 'r': missing attribute 'identity='", "a missing identity");
	one(HEAD "rule r key=k identity=ci-bot scope=s\n",
	    "t.policy:8: error: rule 'r': missing attribute 'purpose='", "a missing purpose");
	one(HEAD "rule r key= identity=ci-bot purpose=release scope=s\n",
	    "t.policy:8: error: rule 'r': empty value for 'key'", "an empty value");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals\n",
	    "t.policy:8: error: rule 'r': expected ATTRIBUTE=VALUE", "a bare word in a rule");
	one(HEAD "rule r key=k identity=nobody purpose=release scope=s\n",
	    "t.policy:8: error: rule 'r': undefined identity 'nobody'", "an undefined identity");
	one(HEAD "rule r key=k identity=ci-bot purpose=firmware scope=s\n",
	    "t.policy:8: error: rule 'r': undefined purpose 'firmware'", "an undefined purpose");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals=1:nogroup\n",
	    "t.policy:8: error: rule 'r': undefined group 'nogroup'", "an undefined group");
	one(HEAD "rule r key=K identity=ci-bot purpose=release scope=s\n",
	    "t.policy:8: error: bad key name 'K'", "a bad key name");
	one(HEAD "rule R key=k identity=ci-bot purpose=release scope=s\n",
	    "t.policy:8: error: bad rule name 'R'", "a bad rule name");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=a*b\n",
	    "t.policy:8: error: rule 'r': bad scope pattern 'a*b'", "a '*' inside a scope");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=a,,b\n",
	    "t.policy:8: error: rule 'r': empty scope pattern", "an empty scope item");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=a,\n",
	    "t.policy:8: error: rule 'r': empty scope pattern", "a trailing comma");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=a%b\n",
	    "t.policy:8: error: rule 'r': bad scope pattern 'a%b'", "a bad scope character");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals=0:managers\n",
	    "t.policy:8: error: rule 'r': approvals=N:GROUP needs N of at least 1",
	    "approvals N of 0");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals=-1:managers\n",
	    "t.policy:8: error: rule 'r': expected 'approvals=N:GROUP'", "a negative N");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals=2\n",
	    "t.policy:8: error: rule 'r': expected 'approvals=N:GROUP'", "N without a group");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals=9999999:managers\n",
	    "t.policy:8: error: rule 'r': approvals count '9999999' is out of range",
	    "an absurd N");
	one(HEAD "revoke identity\n", "t.policy:8: error: expected 'revoke identity|key|rule NAME'",
	    "revoke without a name");
	one(HEAD "revoke group managers\n", "t.policy:8: error: cannot revoke 'group'",
	    "revoking a group");
	one(HEAD "revoke key Old\n", "t.policy:8: error: bad key name 'Old'",
	    "revoking a bad name");
	one(HEAD "purpose p\r\n", "t.policy:8: error: carriage return", "a CR");
	one(HEAD "purpose p\x01\n", "t.policy:8: error: control character", "a control byte");
	one(HEAD "purpose caf\xc3\xa9\n", "t.policy:8: error: non-ASCII byte outside a comment",
	    "non-ASCII in a statement");

	struct policy *p;
	static const char nul[] = "version 1\npolicy x\npurpose a\0b\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	last_rc = policy_parse(nul, sizeof nul - 1, "t.policy", f, &p);
	fclose(f);
	ok(last_rc == ENF_NO && !p && strstr(buf, "t.policy:3: error: NUL byte"),
	   "a NUL byte is an error at its line");
	free(buf);

	p = parse("version 1\npolicy x\nfoo\nbar\n");
	ok(!p && strcmp(diagbuf, "t.policy:3: error: unknown statement 'foo'\n"
			"t.policy:4: error: unknown statement 'bar'\n") == 0,
	   "every error is reported, in line order");
}

static void test_ok_bytes(void)
{
	struct policy *p = parse(HEAD "# caf\xc3\xa9 \t comments may hold any text\n");

	ok(p && !diagbuf[0], "non-ASCII text is allowed in a comment");
	policy_free(p);
	p = parse(HEAD "identity dave " DAVE "   dave  at   home\n");
	ok(p && strcmp(policy_identity(p, "dave")->comment, "dave at home") == 0,
	   "a key comment's words are kept, single-spaced");
	policy_free(p);
}

static void test_warnings(void)
{
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=*\n",
	    "t.policy:8: warning: rule 'r': scope '*' matches every scope", "a bare '*' scope");
	one(HEAD "group g ci-bot bob carol\n"
	    "rule r key=k identity=ci-bot purpose=release scope=s approvals=2:g\n",
	    "t.policy:9: warning: rule 'r': approval group 'g' contains the rule's own identity",
	    "a group with the requester");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s approvals=3:managers\n",
	    "t.policy:8: warning: rule 'r': approvals=3:managers can never be met: the group "
	    "has 2 members", "an unsatisfiable N");
	has(HEAD "group g ci-bot bob\n"
	    "rule r key=k identity=ci-bot purpose=release scope=s approvals=2:g\n",
	    "t.policy:9: warning: rule 'r': approvals=2:g can never be met: the group has 1 "
	    "member other than 'ci-bot'", "the requester does not count toward N");
	one(HEAD "rule r key=k identity=ci-bot purpose=release scope=s,s\n",
	    "t.policy:8: warning: rule 'r': repeated scope pattern 's'", "a repeated scope");
	one(HEAD "revoke key k\nrevoke key k\n", "t.policy:9: warning: key 'k' is already revoked",
	    "a repeated revocation");
	struct policy *p = parse(HEAD "rule r key=k identity=ci-bot purpose=release scope=s "
				 "approvals=2:managers\n");
	ok(p && !diagbuf[0], "exactly N others is satisfiable (no diagnostic)");
	policy_free(p);
}

static void test_show(void)
{
	const char *text = HEAD "rule r key=k identity=ci-bot purpose=release scope=a,b* "
		"approvals=1:managers\nrevoke identity mallory\n";
	struct policy *p = parse(text), *q;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ok(policy_show(p, f, 0) == ENF_OK, "show writes the canonical text");
	fclose(f);
	q = parse(buf);
	ok(q && strstr(buf, "rule r key=k identity=ci-bot purpose=release scope=a,b* "
		       "approvals=1:managers\n") && strstr(buf, "identity ci-bot " ALICE " ci@build\n"),
	   "the canonical text parses again and keeps every statement");
	policy_free(q);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	ok(policy_show(p, f, 1) == ENF_OK && strstr(buf, "\"rules\":[{\"name\":\"r\"") &&
	   strstr(buf, "\"approvals\":{\"count\":1,\"group\":\"managers\"}"),
	   "show --json names the rules and their approvals");
	fclose(f);
	free(buf);
	policy_free(p);
}

int main(void)
{
	crypto_init();
	test_valid();
	test_forward_refs();
	test_scope_match();
	test_errors();
	test_ok_bytes();
	test_warnings();
	test_show();
	return done_testing();
}
