/* What enf-request show and verify print about a request (request.h). */
#include <stdio.h>
#include "enf.h"
#include "crypto.h"
#include "encode.h"
#include "keyfmt.h"
#include "request.h"

/* "TYPE [BITS ]SHA256:...", the way every signer is shown; bits for RSA
 * when asked (show, which verifies nothing, says what it saw). */
static void print_key(const struct pubkey *k, int bits, FILE *out)
{
	char fp[FINGERPRINT_MAX];

	pubkey_fingerprint(k, fp);
	fprintf(out, "%s ", pubkey_ssh_type(k));
	if (bits && k->type == KT_RSA)
		fprintf(out, "%u ", k->bits);
	fputs(fp, out);
}

/* The body's fields; digest_note follows the data's digest when given. */
static void print_fields(const struct envelope *e, const char *digest_note, FILE *out)
{
	struct wbuf hex;

	wbuf_init(&hex, 0);
	hex_encode(&hex, e->digest, hash_len(e->digest_alg));
	wbuf_put(&hex, " ", 1);
	hex_encode(&hex, e->body_sha256, 32);
	wbuf_cstr_terminate(&hex);
	fprintf(out, "%-15s%s\n%-15s%s\n%-15s%s\n%-15s%s\n%-15s%s\n%-15s%s\n", "key", e->key,
		"identity", e->identity, "purpose", e->purpose, "scope", e->scope, "rule", e->rule,
		"format", format_name(e->format));
	if (!hex.failed) {
		fprintf(out, "%-15s%s %.*s%s%s\n", "digest", hash_name(e->digest_alg),
			(int)(2 * hash_len(e->digest_alg)), (char *)hex.p,
			digest_note ? " " : "", digest_note ? digest_note : "");
		fprintf(out, "%-15ssha256 %s\n", "request",
			(char *)hex.p + 2 * hash_len(e->digest_alg) + 1);
	}
	wbuf_free(&hex);
}

static void print_signer(const char *label, const struct sshsig *s, FILE *out)
{
	fprintf(out, "%-15s", label);
	print_key(&s->key, 1, out);
	fprintf(out, " (namespace %s, %s)\n", s->ns, hash_name(s->hash_alg));
}

void request_print(const struct envelope *e, FILE *out)
{
	char label[32];

	print_fields(e, NULL, out);
	if (!e->has_signature)
		fprintf(out, "%-15s%s\n", "requester", "none (unsigned body)");
	else
		print_signer("requester", &e->requester, out);
	for (size_t i = 0; i < e->napprovals; i++) {
		snprintf(label, sizeof label, "approval %zu", i + 1);
		print_signer(label, &e->approvals[i], out);
	}
	fprintf(out, "signatures are not verified here (enf-request verify and enf-sign verify "
		"them against the policy)\n");
}

static void print_verified(const char *label, const struct pol_identity *id,
			   const struct sshsig *s, const struct policy *pol, int again, FILE *out)
{
	fprintf(out, "%-15s%s: ", label, id->name);
	print_key(&s->key, 0, out);
	fprintf(out, " good signature%s%s\n",
		policy_revoked_identity(pol, id->name) ? " (identity revoked in the policy)" : "",
		again ? " (again: counts once)" : "");
}

void request_print_verified(const struct envelope *e, const struct policy *pol,
			    const struct pol_identity *const *signer, const char *where,
			    const char *note, FILE *out)
{
	char label[32];

	print_fields(e, note, out);
	fprintf(out, "%-15s%s (%s)\n", "policy", pol->id, where);
	print_verified("requester", policy_identity(pol, e->identity), &e->requester, pol, 0, out);
	for (size_t i = 0; i < e->napprovals; i++) {
		int again = 0;
		for (size_t j = 0; j < i; j++)
			again |= signer[j] == signer[i];
		snprintf(label, sizeof label, "approval %zu", i + 1);
		print_verified(label, signer[i], &e->approvals[i], pol, again, out);
	}
}
