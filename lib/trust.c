/* allowed_signers and KRL from the keystore (see trust.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "io.h"
#include "keyfmt.h"
#include "spawn.h"
#include "trust.h"

#define KRL_MAX (16 * 1024 * 1024)

static int allowed_line(const struct ks_key *k, struct wbuf *out)
{
	struct wbuf key;
	int rc;

	wbuf_init(&key, 0);
	/* No comment: the principal is the key's name, at the line's start. */
	rc = pubkey_to_line(&k->pub, NULL, &key);
	wbuf_cstr_terminate(&key);
	if (rc == ENF_OK) {
		wbuf_printf(out, "%s namespaces=\"", k->name);
		for (size_t j = 0; j < k->npurposes; j++)
			wbuf_printf(out, "%s%s", j ? "," : "", k->purposes[j]);
		wbuf_printf(out, "\" %s\n", (char *)key.p);
	}
	wbuf_free(&key);
	return rc != ENF_OK ? rc : out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

int trust_allowed_signers(const struct keystore *ks, char *const *names, size_t n,
			  struct wbuf *out)
{
	int rc = ENF_OK;

	for (size_t i = 0; i < n && rc == ENF_OK; i++) {
		const struct ks_key *k = ks_key_find(ks, names[i]);
		if (!k)
			rc = enf_err(ENF_NO, "no key named '%s'", names[i]);
		else if (k->state != KS_ACTIVE)
			rc = enf_err(ENF_NO, "key '%s' is %s: only active keys are trusted to sign",
				     k->name, key_state_name(k->state));
	}
	for (size_t i = 0; i < ks_key_count(ks) && rc == ENF_OK; i++) {
		const struct ks_key *k = ks_key_at(ks, i);
		if (k->state == KS_ACTIVE &&
		    (n == 0 || name_index((const char *const *)names, n, k->name) >= 0))
			rc = allowed_line(k, out);
	}
	if (rc != ENF_OK)
		wbuf_reset(out);
	return rc;
}

/* The public keys that must no longer verify, one OpenSSH line each. */
static int revoked_keys(const struct keystore *ks, struct wbuf *lines, size_t *count)
{
	*count = 0;
	for (size_t i = 0; i < ks_key_count(ks); i++) {
		const struct ks_key *k = ks_key_at(ks, i);
		if (k->state != KS_COMPROMISED && k->state != KS_DESTROYED)
			continue;
		if (pubkey_to_line(&k->pub, k->name, lines) != ENF_OK)
			return ENF_FAIL;
		wbuf_put(lines, "\n", 1);
		(*count)++;
	}
	return lines->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

/* ssh-keygen -k writes files, so it works in a private temporary
 * directory; the caller publishes the bytes atomically. */
static int run_krl(const char *dir, const struct wbuf *lines, size_t count, struct wbuf *out)
{
	char *keys = home_path(dir, "keys"), *krl = home_path(dir, "krl");
	char *argv[] = { "ssh-keygen", "-q", "-k", "-f", krl, count ? keys : NULL, NULL };
	unsigned char *bytes = NULL;
	struct wbuf noise;
	size_t len;
	int status, rc = keys && krl ? ENF_OK : enf_err(ENF_FAIL, "out of memory");

	wbuf_init(&noise, 0);
	if (rc == ENF_OK)
		rc = io_write_atomic(keys, lines->p, lines->len, 0600);
	if (rc == ENF_OK && (rc = spawn_run(argv, 0, NULL, 0, &noise, 4096, &status)) == ENF_OK &&
	    status != 0)
		rc = enf_err(ENF_FAIL, "ssh-keygen -k failed (exit %d)", status);
	if (rc == ENF_OK && (rc = io_read_file(krl, KRL_MAX, &bytes, &len)) == ENF_OK &&
	    wbuf_put(out, bytes, len) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	free(bytes);
	if (keys)
		unlink(keys);
	if (krl)
		unlink(krl);
	free(keys);
	free(krl);
	wbuf_free(&noise);
	return rc;
}

int trust_krl(const struct keystore *ks, struct wbuf *out, size_t *count)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	struct wbuf lines;
	int rc;

	if (snprintf(dir, sizeof dir, "%s/enf-krl.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)sizeof dir)
		return enf_err(ENF_FAIL, "TMPDIR is too long");
	if (!mkdtemp(dir))
		return enf_err(ENF_FAIL, "%s: %s", dir, strerror(errno));
	wbuf_init(&lines, 0);
	rc = revoked_keys(ks, &lines, count);
	if (rc == ENF_OK)
		rc = run_krl(dir, &lines, *count, out);
	wbuf_free(&lines);
	rmdir(dir);
	return rc;
}
