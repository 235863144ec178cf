/* signers.c and the key line reader under it: the corners of the
 * allowed_signers grammar (ssh-keygen(1) ALLOWED SIGNERS) that the file
 * tests in encode.c do not reach, and OpenSSH key lines' blanks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "keyfmt.h"

static char line[200];	/* an ssh-ed25519 key line, no comment */

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

/* The result of one line "PREFIX KEY SUFFIX" for alice in namespace ns. */
static int one(const char *prefix, const char *suffix, const char *ns)
{
	char f[400];
	int rc;

	snprintf(f, sizeof f, "%s%s%s", prefix, line, suffix);
	find(f, "alice", ns, &rc);
	return rc;
}

static void test_grammar(void)
{
	char f[600];
	int rc;

	ok(one("alice ", "", "x") == ENF_OK, "a last line without a newline is read");
	ok(one("\t alice\t ", "  comment words  \n", "x") == ENF_OK, "blanks and a comment around the fields");
	ok(one("alice namespaces=\"a\\\"b\" ", "\n", "a\"b") == ENF_OK, "\\\" in an option value is a quote");
	ok(one("alice namespaces=\"a\\\"b\" ", "\n", "a\\\"b") == ENF_NO, "and not a backslash");
	ok(one("alice namespaces=\"a\\b\" ", "\n", "a\\b") == ENF_OK, "another backslash stays as it is");
	ok(one("alice namespaces=\"x ", "\n", "x") == ENF_FAIL, "an unterminated option value fails the file");
	ok(one("alice namespaces=\"x\\\"", "\n", "x") == ENF_FAIL,
	   "a value ending in an escaped quote is unterminated");
	ok(one("alice cert-authority,namespaces=\"x\" ", "\n", "x") == ENF_NO, "options in a list");
	ok(one("alice cert-authority, ", "\n", "x") == ENF_FAIL, "a list ending in a comma fails the file");
	ok(one("alice cert-authorityx ", "\n", "x") == ENF_FAIL, "an option name that only begins right fails");
	ok(one("alice Valid-After=\"20200101\" ", "\n", "x") == ENF_NO, "valid-after, in any case, is refused");
	ok(one("\"alice\"x ", "\n", "x") == ENF_FAIL, "a quoted principal must end its field");
	ok(one("\"alice ", "\n", "x") == ENF_FAIL, "an unterminated quoted principal fails the file");
	ok(one("\"bob alice\" ", "\n", "x") == ENF_NO, "quoted principals are one pattern, blank and all");
	ok(one("bob,,alice ", "\n", "x") == ENF_OK, "an empty pattern in the list matches nothing, the rest still do");
	ok(one("!bob,a* ", "\n", "x") == ENF_OK, "a negation of someone else does not veto");
	ok(one("a?ice ", "\n", "x") == ENF_OK, "? matches one character");
	ok(one("! ", "\n", "x") == ENF_NO, "a lone ! matches nobody");
	ok(one("alice ", " \n", "x") == ENF_OK, "blanks after the key");
	snprintf(f, sizeof f, "   \n\t\n# alice %s\n  #x\nalice %s\n", "garbage", line);
	ok(find(f, "alice", "x", &rc) == 1 && rc == ENF_OK, "blank and comment lines are skipped");
	snprintf(f, sizeof f, "alice %s\nbob x\n", line);
	ok(find(f, "alice", "x", &rc) == 0 && rc == ENF_FAIL && strstr(enf_errmsg(), "line 2"),
	   "a malformed line is named by its number: %s", enf_errmsg());
	snprintf(f, sizeof f, "alice %s\n# a\nbob %s", line, line);
	f[strlen(f) - 3] = '\0';
	ok(find_n(f, strlen(f) + 3, "bob", "x", &rc) == 0 && rc == ENF_FAIL &&
	   strstr(enf_errmsg(), "line 3"), "a NUL in a line fails the file: %s", enf_errmsg());
	ok(find("", "alice", "x", &rc) == 0 && rc == ENF_NO, "an empty file has no key");
}

static void test_key_lines(void)
{
	struct pubkey k;
	char s[300], *comment = NULL;

	ok(pubkey_from_line(&k, line, &comment) == ENF_OK && comment == NULL, "a line without comment");
	pubkey_free(&k);
	snprintf(s, sizeof s, "%s \t a comment \t", line);
	ok(pubkey_from_line(&k, s, &comment) == ENF_OK && comment && strcmp(comment, "a comment") == 0,
	   "the comment without the blanks around it");
	pubkey_free(&k);
	free(comment);
	snprintf(s, sizeof s, " %s", line);
	ok(pubkey_from_line(&k, s, NULL) == ENF_NO, "a blank before the type is refused");
	ok(pubkey_from_line(&k, "ssh-ed25519", NULL) == ENF_NO, "a type alone is refused");
	ok(pubkey_from_line(&k, "ssh-ed25519 \t", NULL) == ENF_NO, "a type and blanks are refused");
	ok(pubkey_from_line(&k, "", NULL) == ENF_NO &&
	   strcmp(enf_errmsg(), "public key: not an OpenSSH public key line") == 0, "an empty line is refused");
	snprintf(s, sizeof s, "ecdsa-sha2-nistp256%s", strchr(line, ' '));
	ok(pubkey_from_line(&k, s, NULL) == ENF_NO, "a type other than the blob's is refused");
}

int main(void)
{
	struct privkey pk;
	struct wbuf w;

	wbuf_init(&w, 0);
	if (privkey_generate(&pk, ALG_ED25519) != ENF_OK || pubkey_to_line(&pk.pub, NULL, &w) != ENF_OK ||
	    w.len >= sizeof line) {
		ok(0, "make a key: %s", enf_errmsg());
		return done_testing();
	}
	memcpy(line, w.p, w.len + 1);
	wbuf_free(&w);
	privkey_free(&pk);
	test_grammar();
	test_key_lines();
	return done_testing();
}
