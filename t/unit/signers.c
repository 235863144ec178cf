/* signers.c and the key line reader under it: allowed_signers files
 * (ssh-keygen(1) ALLOWED SIGNERS) and the corners of their grammar, and
 * the blanks of OpenSSH key lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "keyfmt.h"

/* Key lines without comment: two Ed25519, a P-256 and a P-384 key. */
static char keys[4][256];

/* Keys found for name/ns in the file text (its length given: it may hold a
 * NUL); *rc the result. */
static size_t find_n(const char *file, size_t len, const char *name, const char *ns, int *rc)
{
	struct pubkey *k = NULL;
	size_t n = 0;

	*rc = allowed_signers_find(file, len, name, ns, &k, &n);
	for (size_t i = 0; i < n; i++)
		pubkey_free(&k[i]);
	free(k);
	return n;
}

static size_t find(const char *file, const char *name, const char *ns, int *rc)
{
	return find_n(file, strlen(file), name, ns, rc);
}

/* Lookups in the file test_allowed_signers writes: n keys (-1: any) and
 * the result, with msg in its message where msg is set. */
static const struct {
	const char *name, *ns;
	int want, n;
	const char *msg, *what;
} lookups[] = {
	{ "alice@example.com", "release", ENF_OK, 2, NULL, "every line of a principal gives a key" },
	{ "build@ci.example", "release", ENF_OK, 1, NULL, "principal patterns match" },
	{ "build@ci.example", "nightly-arm64", ENF_OK, 1, NULL, "namespace patterns match" },
	{ "build@ci.example", "firmware", ENF_NO, 0, NULL, "namespaces=\"...\" restricts the key" },
	{ "evil@ci.example", "release", ENF_NO, -1, NULL, "a negated principal pattern vetoes the line" },
	{ "bob@example.com", "release", ENF_NO, -1, "unsupported", "cert-authority lines are refused, and said so" },
	{ "carol@example.com", "release", ENF_NO, -1, NULL, "valid-before lines are refused" },
	{ "dave@example.com", "file", ENF_OK, 1, NULL, "quoted principals and upper-case option names are read" },
	{ "erin@example.com", "file", ENF_NO, -1, NULL, "a key type enf does not verify does not match" },
	{ "mallory@example.com", "release", ENF_NO, -1, NULL, "an unknown principal has no key" },
	{ "alice@example.co", "release", ENF_NO, -1, NULL, "principals match whole" },
};

static void test_allowed_signers(void)
{
	char f[4000];
	int rc;
	size_t n;

	snprintf(f, sizeof f,
		 "# release signers\n"
		 "\n"
		 "alice@example.com %s alice laptop\n"
		 "  *@ci.example,!evil@ci.example namespaces=\"release,nightly-*\" %s\n"
		 "bob@example.com cert-authority %s\n"
		 "carol@example.com valid-before=\"20300101\" %s\n"
		 "\"dave@example.com\" NAMESPACES=\"file\" %s\n"
		 "erin@example.com sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t\n"
		 "alice@example.com %s\n",
		 keys[0], keys[1], keys[2], keys[3], keys[0], keys[1]);
	for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
		n = find(f, lookups[i].name, lookups[i].ns, &rc);
		ok(rc == lookups[i].want && (lookups[i].n < 0 || n == (size_t)lookups[i].n) &&
		   (!lookups[i].msg || strstr(enf_errmsg(), lookups[i].msg)), "%s", lookups[i].what);
	}
	find("alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm/\n", "alice@example.com", "a", &rc);
	ok(rc == ENF_FAIL, "a truncated key fails the file");
}

/* One line "PREFIX KEY SUFFIX", looked up for alice in namespace ns. */
static const struct {
	const char *prefix, *suffix, *ns;
	int want;
	const char *what;
} lines[] = {
	{ "alice ", "", "x", ENF_OK, "a last line without a newline is read" },
	{ "\t alice\t ", "  comment words  \n", "x", ENF_OK, "blanks and a comment around the fields" },
	{ "alice namespaces=\"a\\\"b\" ", "\n", "a\"b", ENF_OK, "\\\" in an option value is a quote" },
	{ "alice namespaces=\"a\\\"b\" ", "\n", "a\\\"b", ENF_NO, "and not a backslash" },
	{ "alice namespaces=\"a\\b\" ", "\n", "a\\b", ENF_OK, "another backslash stays as it is" },
	{ "alice namespaces=\"x ", "\n", "x", ENF_FAIL, "an unterminated option value fails the file" },
	{ "alice namespaces=\"x\\\"", "\n", "x", ENF_FAIL,
	  "a value ending in an escaped quote is unterminated" },
	{ "alice cert-authority,namespaces=\"x\" ", "\n", "x", ENF_NO, "options in a list" },
	{ "alice cert-authority, ", "\n", "x", ENF_FAIL, "a list ending in a comma fails the file" },
	{ "alice cert-authorityx ", "\n", "x", ENF_FAIL, "an option name that only begins right fails" },
	{ "alice Valid-After=\"20200101\" ", "\n", "x", ENF_NO, "valid-after, in any case, is refused" },
	{ "\"alice\"x ", "\n", "x", ENF_FAIL, "a quoted principal must end its field" },
	{ "\"alice ", "\n", "x", ENF_FAIL, "an unterminated quoted principal fails the file" },
	{ "\"bob alice\" ", "\n", "x", ENF_NO, "quoted principals are one pattern, blank and all" },
	{ "bob,,alice ", "\n", "x", ENF_OK, "an empty pattern in the list matches nothing, the rest still do" },
	{ "!bob,a* ", "\n", "x", ENF_OK, "a negation of someone else does not veto" },
	{ "a?ice ", "\n", "x", ENF_OK, "? matches one character" },
	{ "! ", "\n", "x", ENF_NO, "a lone ! matches nobody" },
	{ "alice ", " \n", "x", ENF_OK, "blanks after the key" },
	{ "alice nosuchoption ", "\n", "x", ENF_FAIL, "a malformed line fails the file" },
	{ "alice namespaces=x ", "\n", "x", ENF_FAIL, "an unquoted option value fails the file" },
	{ "alice namespaces=\"a\",namespaces=\"b\" ", "\n", "a", ENF_FAIL,
	  "two namespaces clauses fail the file" },
	{ "alice ", "\nother\n", "x", ENF_FAIL, "a line without key fails the file, whoever it is for" },
};

static void test_grammar(void)
{
	char f[2000];
	int rc;

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		snprintf(f, sizeof f, "%s%s%s", lines[i].prefix, keys[0], lines[i].suffix);
		find(f, "alice", lines[i].ns, &rc);
		ok(rc == lines[i].want, "%s", lines[i].what);
	}
	snprintf(f, sizeof f, "   \n\t\n# alice %s\n  #x\nalice %s\n", "garbage", keys[0]);
	ok(find(f, "alice", "x", &rc) == 1 && rc == ENF_OK, "blank and comment lines are skipped");
	snprintf(f, sizeof f, "alice %s\nbob x\n", keys[0]);
	ok(find(f, "alice", "x", &rc) == 0 && rc == ENF_FAIL && strstr(enf_errmsg(), "line 2"),
	   "a malformed line is named by its number: %s", enf_errmsg());
	snprintf(f, sizeof f, "alice %s\n# a\nbob %s", keys[0], keys[0]);
	f[strlen(f) - 3] = '\0';
	ok(find_n(f, strlen(f) + 3, "bob", "x", &rc) == 0 && rc == ENF_FAIL &&
	   strstr(enf_errmsg(), "line 3"), "a NUL in a line fails the file: %s", enf_errmsg());
	ok(find("", "alice", "x", &rc) == 0 && rc == ENF_NO, "an empty file has no key");
}

static void test_key_lines(void)
{
	struct pubkey k;
	char s[400], *comment = NULL;

	ok(pubkey_from_line(&k, keys[0], &comment) == ENF_OK && comment == NULL, "a line without comment");
	pubkey_free(&k);
	snprintf(s, sizeof s, "%s \t a comment \t", keys[0]);
	ok(pubkey_from_line(&k, s, &comment) == ENF_OK && comment && strcmp(comment, "a comment") == 0,
	   "the comment without the blanks around it");
	pubkey_free(&k);
	free(comment);
	snprintf(s, sizeof s, " %s", keys[0]);
	ok(pubkey_from_line(&k, s, NULL) == ENF_NO, "a blank before the type is refused");
	ok(pubkey_from_line(&k, "ssh-ed25519", NULL) == ENF_NO, "a type alone is refused");
	ok(pubkey_from_line(&k, "ssh-ed25519 \t", NULL) == ENF_NO, "a type and blanks are refused");
	ok(pubkey_from_line(&k, "", NULL) == ENF_NO &&
	   strcmp(enf_errmsg(), "public key: not an OpenSSH public key line") == 0, "an empty line is refused");
	snprintf(s, sizeof s, "ecdsa-sha2-nistp256%s", strchr(keys[0], ' '));
	ok(pubkey_from_line(&k, s, NULL) == ENF_NO, "a type other than the blob's is refused");
}

/* pubkey_from_text over text[0..n): the result, the key freed. */
static int from_text(const char *text, size_t n)
{
	struct pubkey k;
	int rc = pubkey_from_text(&k, text, n);

	if (rc == ENF_OK)
		pubkey_free(&k);
	return rc;
}

static void test_key_files(void)
{
	char s[600];
	size_t n = strlen(keys[0]);

	snprintf(s, sizeof s, "%s\n", keys[0]);
	ok(from_text(s, n + 1) == ENF_OK && from_text(s, n) == ENF_OK, "a .pub file: one line, newline or not");
	snprintf(s, sizeof s, "%s\n\n", keys[0]);
	ok(from_text(s, n + 2) == ENF_NO, "a blank line after it is refused");
	snprintf(s, sizeof s, "%s\n%s\n", keys[0], keys[1]);
	ok(from_text(s, strlen(s)) == ENF_NO && strstr(enf_errmsg(), "expected one OpenSSH key line"),
	   "two lines are refused: %s", enf_errmsg());
	snprintf(s, sizeof s, "%s x\n", keys[0]);
	s[n] = '\0';
	ok(from_text(s, n + 3) == ENF_NO, "a NUL in the line is refused");
	ok(from_text("", 0) == ENF_NO && strcmp(enf_errmsg(), "public key: not an OpenSSH public key line") == 0 &&
	   from_text("\n", 1) == ENF_NO && strcmp(enf_errmsg(), "public key: not an OpenSSH public key line") == 0,
	   "an empty file or line is not a key line");
	ok(pubkey_type_parse("ssh-ed25519", 11) == KT_ED25519 && pubkey_type_parse("ssh-rsa", 7) == KT_RSA &&
	   pubkey_type_parse("ecdsa-sha2-nistp384", 19) == KT_P384 && pubkey_type_parse("ssh-ed2551", 10) < 0 &&
	   pubkey_type_parse("ssh-ed25519x", 12) < 0 && pubkey_type_parse("ssh-dss", 7) < 0,
	   "pubkey_type_parse knows the four SSH names, whole");
}

static int make_key(int alg, char *line, size_t max)
{
	struct privkey pk;
	struct wbuf w;
	int good;

	wbuf_init(&w, 0);
	good = privkey_generate(&pk, alg) == ENF_OK && pubkey_to_line(&pk.pub, NULL, &w) == ENF_OK &&
	       w.len < max;
	if (good)
		memcpy(line, w.p, w.len + 1);
	wbuf_free(&w);
	privkey_free(&pk);
	return good;
}

int main(void)
{
	static const int algs[4] = { ALG_ED25519, ALG_ED25519, ALG_ECDSA_P256, ALG_ECDSA_P384 };

	for (int i = 0; i < 4; i++)
		if (!make_key(algs[i], keys[i], sizeof keys[i])) {
			ok(0, "make a key: %s", enf_errmsg());
			return done_testing();
		}
	test_allowed_signers();
	test_grammar();
	test_key_lines();
	test_key_files();
	return done_testing();
}
