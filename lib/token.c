/* The token back end (token.h): the token signer, and the officer's token
 * verbs of enf-keygen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "keyfmt.h"
#include "p11.h"
#include "token.h"
#include "token_session.h"
#include "unlock.h"

#define PROG "enf-keygen"
#define NEW_ID_LEN 16

/* ---- the signer ---- */

struct token_signer {
	struct signer s;
	struct pubkey pub;		/* the keystore's, with its sexp: every
					   signature the token returns is checked */
	int alg;
	struct ks_token def;
	unsigned char id[KS_TOKEN_ID_MAX];
	size_t idlen;
	struct secret pin;
	struct token_session sess;	/* in process (no broker) */
};

/* The raw signature of the mechanism over msg, from this process's own
 * session or through the agent's broker. */
static int token_mech(struct token_signer *t, const unsigned char *msg, size_t n, struct wbuf *out)
{
	struct token_req r = { &t->def, &t->pin, t->alg, t->id, t->idlen,
			       t->pub.blob, t->pub.bloblen, msg, n };

	if (token_broker_active())
		return token_broker_sign(&r, out);
	return token_session_sign(&t->sess, &r, out);
}

static int invalid(void)
{
	return enf_err(ENF_FAIL, "token returned an invalid signature");
}

static int tok_sign_ssh(struct signer *s, const void *data, size_t n, struct wbuf *sig)
{
	struct token_signer *t = (struct token_signer *)s;
	unsigned char h[HASH_MAX];
	struct wbuf msg, raw, blob;
	int rc;

	wbuf_init(&msg, 0);
	wbuf_init(&raw, 0);
	wbuf_init(&blob, 0);
	if (t->alg == ALG_ED25519) {
		rc = token_mech(t, data, n, &raw);
	} else if ((rc = hash_buf(HASH_SHA512, data, n, h)) == ENF_OK &&
		   (rc = digest_info(HASH_SHA512, h, &msg)) == ENF_OK) {
		rc = token_mech(t, msg.p, msg.len, &raw);
	}
	if (rc == ENF_OK) {
		wbuf_cstring(&blob, t->alg == ALG_ED25519 ? "ssh-ed25519" : "rsa-sha2-512");
		wbuf_string(&blob, raw.p, raw.len);
		if (blob.failed)
			rc = enf_err(ENF_FAIL, "out of memory");
		else if (pubkey_verify_ssh(&t->pub, data, n, blob.p, blob.len) != ENF_OK)
			rc = invalid();
		else if (wbuf_put(sig, blob.p, blob.len) < 0)
			rc = enf_err(ENF_FAIL, "out of memory");
	}
	wbuf_free(&msg);
	wbuf_free(&raw);
	wbuf_free(&blob);
	return rc;
}

static int tok_sign_raw(struct signer *s, int hash_alg, const unsigned char *digest,
			struct wbuf *sig)
{
	struct token_signer *t = (struct token_signer *)s;
	struct wbuf msg, raw;
	int rc;

	if (!hash_name(hash_alg))
		return enf_err(ENF_NO, "unknown hash algorithm");
	if (t->alg == ALG_ED25519)
		return enf_err(ENF_NO, "Ed25519 keys do not sign digests");
	wbuf_init(&msg, 0);
	wbuf_init(&raw, 0);
	/* PKCS#1 v1.5 signs a DigestInfo; Ed25519 (CKM_EDDSA) the data. */
	if ((rc = digest_info(hash_alg, digest, &msg)) == ENF_OK &&
	    (rc = token_mech(t, msg.p, msg.len, &raw)) == ENF_OK) {
		if (pubkey_verify_raw(&t->pub, hash_alg, digest, raw.p, raw.len) != ENF_OK)
			rc = invalid();
		else if (wbuf_put(sig, raw.p, raw.len) < 0)
			rc = enf_err(ENF_FAIL, "out of memory");
	}
	wbuf_free(&msg);
	wbuf_free(&raw);
	return rc;
}

static void tok_free(struct signer *s)
{
	struct token_signer *t = (struct token_signer *)s;

	token_session_close(&t->sess);
	secret_free(&t->pin);
	pubkey_free(&t->pub);
	free(t);
}

int token_signer_open(const struct keystore *ks, const struct ks_key *k, struct signer **out)
{
	const struct ks_token *def = ks_token_find(ks, k->token);
	struct token_signer *t;
	int rc;

	*out = NULL;
	if (k->state != KS_ACTIVE)
		return enf_err(ENF_NO, "key '%s' is not available", k->name);
	if (!def)
		return enf_err(ENF_FAIL, "key '%s': no token named '%s'", k->name, k->token);
	if (!(t = calloc(1, sizeof *t)))
		return enf_err(ENF_FAIL, "out of memory");
	t->s = (struct signer){ tok_sign_ssh, tok_sign_raw, tok_free, &t->pub };
	t->alg = k->alg;
	t->def = *def;
	memcpy(t->id, k->id, k->idlen);
	t->idlen = k->idlen;
	token_session_init(&t->sess, def);
	if ((rc = pubkey_from_blob(&t->pub, k->pub.blob, k->pub.bloblen)) != ENF_OK)
		rc = enf_err(ENF_FAIL, "key '%s': its public key does not load", k->name);
	else
		rc = ks_token_pin(ks, k->token, &t->pin);
	if (rc != ENF_OK) {
		tok_free(&t->s);
		return rc;
	}
	*out = &t->s;
	return ENF_OK;
}

/* ---- the officer's verbs ---- */

static int read_pin(const char *pinfile, struct secret *pin)
{
	if (!pinfile)
		return enf_err(ENF_USAGE, "this needs the token PIN: --pin-file FILE");
	return cred_read_file(pinfile, "--pin-file", "token PIN", pin);
}

/* A logged-in session on the token def names, for the officer's verbs. */
static int officer_session(const struct ks_token *def, const struct secret *pin, struct p11 **t)
{
	*t = NULL;
	if (p11_open(def->module, def->label, def->serial[0] ? def->serial : NULL, def->timeout_ms,
		     t) != ENF_OK)
		return ENF_FAIL;
	if (p11_login(*t, pin) != ENF_OK) {
		p11_close(*t);
		*t = NULL;
		return ENF_FAIL;
	}
	return ENF_OK;
}

static void record_token(struct keystore *ks, const char *op, int rc, const char *ok_reason,
			 const char *key, const char *detail)
{
	struct audit_event ev = { .program = PROG, .op = op, .key = key, .detail = detail,
				  .outcome = rc == ENF_OK ? "ok" : "fail",
				  .reason = rc == ENF_OK ? ok_reason : "refused" };

	audit_append(ks, &ev);
}

static void describe(const struct ks_token *d, char *out, size_t n)
{
	snprintf(out, n, "token=%s module=%s label=%s serial=%s", d->name, d->module, d->label,
		 d->serial);
}

int token_add(struct keystore *ks, const struct token_def_args *a, const char *offpass)
{
	struct ks_token def = { 0 };
	struct p11_token_info info;
	struct secret pin = { 0 };
	struct p11 *t = NULL;
	char detail[1200];
	int rc;

	if (!a->module || !a->label)
		return enf_err(ENF_USAGE, "token add needs --module LIB.so and --label TOKEN");
	if (snprintf(def.name, sizeof def.name, "%s", a->name) >= (int)sizeof def.name ||
	    snprintf(def.module, sizeof def.module, "%s", a->module) >= (int)sizeof def.module ||
	    snprintf(def.label, sizeof def.label, "%s", a->label) >= (int)sizeof def.label ||
	    snprintf(def.serial, sizeof def.serial, "%s", a->serial ? a->serial : "") >=
		    (int)sizeof def.serial)
		return enf_err(ENF_USAGE, "a token name, module path, label or serial is too long");
	if (!enf_valid_name(def.name))
		return enf_err(ENF_USAGE, "invalid token name '%s': use [a-z0-9][a-z0-9._-]{0,63}",
			       def.name);
	if (def.module[0] != '/')
		return enf_err(ENF_USAGE, "--module takes the absolute path of a PKCS#11 module");
	def.timeout_ms = (a->timeout_s ? a->timeout_s : TOKEN_TIMEOUT_DEFAULT) * 1000u;
	if (ks_token_find(ks, def.name))
		return enf_err(ENF_NO, "a token named '%s' exists already", def.name);
	if ((rc = read_pin(a->pinfile, &pin)) != ENF_OK)
		return rc;
	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "token-add")) != ENF_OK)
		goto out;
	/* The token must be there and take the PIN now; its serial pins the
	 * definition to this very token (another one with the same label is
	 * refused later). */
	if ((rc = officer_session(&def, &pin, &t)) == ENF_OK && (rc = p11_info(t, &info)) == ENF_OK &&
	    !def.serial[0])
		snprintf(def.serial, sizeof def.serial, "%s", info.serial);
	if (rc == ENF_OK)
		rc = ks_token_add(ks, &def, &pin);
	describe(&def, detail, sizeof detail);
	record_token(ks, "token-add", rc, "added", NULL, detail);
out:
	if (t)
		p11_close(t);
	secret_free(&pin);
	return rc;
}

int token_remove(struct keystore *ks, const char *name, const char *offpass)
{
	char detail[128];
	int rc;

	if (!ks_token_find(ks, name))
		return enf_err(ENF_NO, "no token named '%s'", name);
	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "token-remove")) != ENF_OK)
		return rc;
	rc = ks_token_remove(ks, name);
	snprintf(detail, sizeof detail, "token=%s", name);
	record_token(ks, "token-remove", rc, "removed", NULL, detail);
	return rc;
}

static size_t keys_on(const struct keystore *ks, const char *token)
{
	size_t n = 0;

	for (size_t i = 0; i < ks_key_count(ks); i++)
		n += strcmp(ks_key_at(ks, i)->token, token) == 0;
	return n;
}

int token_list(const struct keystore *ks, int json)
{
	struct wbuf w;
	int rc = ENF_OK;

	for (size_t i = 0; i < ks_token_count(ks) && rc == ENF_OK; i++) {
		const struct ks_token *d = ks_token_at(ks, i);
		wbuf_init(&w, 0);
		if (json) {
			wbuf_printf(&w, "{\"name\":");
			json_string(&w, d->name, strlen(d->name));
			wbuf_printf(&w, ",\"module\":");
			json_string(&w, d->module, strlen(d->module));
			wbuf_printf(&w, ",\"label\":");
			json_string(&w, d->label, strlen(d->label));
			wbuf_printf(&w, ",\"serial\":");
			json_string(&w, d->serial, strlen(d->serial));
			wbuf_printf(&w, ",\"timeout\":%u,\"keys\":%zu}\n", d->timeout_ms / 1000,
				    keys_on(ks, d->name));
		} else {
			wbuf_printf(&w, "%-16s %-32s %-16s %zu %s\n", d->name, d->label,
				    d->serial[0] ? d->serial : "-", keys_on(ks, d->name), d->module);
		}
		if (w.failed || fwrite(w.p, 1, w.len, stdout) != w.len)
			rc = enf_err(ENF_FAIL, "standard output: write error");
		wbuf_free(&w);
	}
	return rc == ENF_OK && fflush(stdout) != 0 ? enf_err(ENF_FAIL, "standard output: write error")
						   : rc;
}

/* What new --token and adopt check before the token is touched. */
static int key_args_ok(const struct keystore *ks, const struct token_key_args *a,
		       const struct ks_token **def)
{
	if (a->alg == ALG_ECDSA_P256 || a->alg == ALG_ECDSA_P384)
		return enf_err(ENF_USAGE, "ECDSA keys cannot live in a token: a token's random "
			       "nonces would make its signatures non-deterministic");
	if (!enf_valid_name(a->name))
		return enf_err(ENF_USAGE, "invalid key name '%s': use [a-z0-9][a-z0-9._-]{0,63}",
			       a->name);
	if (ks_key_find(ks, a->name))
		return enf_err(ENF_NO, "a key named '%s' exists already", a->name);
	if (!(*def = ks_token_find(ks, a->token)))
		return enf_err(ENF_NO, "no token named '%s'", a->token);
	return ENF_OK;
}

static void print_key(const struct keystore *ks, const char *name)
{
	const struct ks_key *k = ks_key_find(ks, name);
	struct wbuf line;

	wbuf_init(&line, 0);
	if (k && pubkey_to_line(&k->pub, k->name, &line) == ENF_OK)
		printf("%s\n", (char *)line.p);
	wbuf_free(&line);
}

static void record_key(struct keystore *ks, const char *op, const struct token_key_args *a,
		       const char *idhex, int rc)
{
	char detail[256], purposes[PURPOSES_MAX * (ENF_NAME_MAX + 1) + 1] = "";
	struct audit_event ev = { .program = PROG, .op = op, .key = a->name,
				  .outcome = rc == ENF_OK ? "ok" : "fail",
				  .reason = rc == ENF_OK ? "created" : "refused", .detail = detail };

	for (size_t i = 0; i < a->npurposes; i++)
		snprintf(purposes + strlen(purposes), sizeof purposes - strlen(purposes), "%s%s",
			 i ? "," : "", a->purposes[i]);
	ev.purpose = purposes;
	snprintf(detail, sizeof detail, "%s token=%s id=%s", alg_name(a->alg), a->token, idhex);
	audit_append(ks, &ev);
}

/* What creating or adopting a token key holds until it ends. */
struct key_work {
	struct secret pin;
	struct pubkey pub;
	struct p11 *t;
};

/* The end both share once the officer is unlocked: the outcome is
 * recorded and the new key printed (key_work_free then releases the
 * session, the PIN and the public key). */
static int key_done(struct keystore *ks, const char *op, const struct token_key_args *a,
		    const char *idhex, int rc)
{
	record_key(ks, op, a, idhex, rc);
	if (rc == ENF_OK)
		print_key(ks, a->name);
	return rc;
}

static void key_work_free(struct key_work *w)
{
	pubkey_free(&w->pub);
	if (w->t)
		p11_close(w->t);
	secret_free(&w->pin);
}

int token_key_new(struct keystore *ks, const struct token_key_args *a, const char *offpass)
{
	const struct ks_token *def;
	struct key_work w = { 0 };
	unsigned char id[NEW_ID_LEN];
	char idhex[2 * NEW_ID_LEN + 1];
	int rc;

	if ((rc = key_args_ok(ks, a, &def)) != ENF_OK || (rc = read_pin(a->pinfile, &w.pin)) != ENF_OK)
		return rc;
	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "new")) != ENF_OK)
		goto out;
	random_nonce(id, sizeof id);
	token_id_hex(id, sizeof id, idhex, sizeof idhex);
	if ((rc = officer_session(def, &w.pin, &w.t)) == ENF_OK &&
	    (rc = p11_generate(w.t, a->alg, id, sizeof id, a->name, &w.pub)) == ENF_OK) {
		rc = ks_key_adopt(ks, a->name, a->alg, a->token, id, sizeof id, &w.pub, a->purposes,
				  a->npurposes);
		/* A key the keystore does not record must not stay in the token
		 * (p11_destroy overwrites the error, so it is kept first). */
		if (rc != ENF_OK) {
			char why[512];
			snprintf(why, sizeof why, "%s", enf_errmsg());
			p11_destroy(w.t, id, sizeof id);
			enf_err(rc, "%s", why);
		}
	}
	rc = key_done(ks, "new", a, idhex, rc);
out:
	key_work_free(&w);
	return rc;
}

int token_key_adopt(struct keystore *ks, const struct token_key_args *a, const char *offpass)
{
	const struct ks_token *def;
	struct key_work w = { 0 };
	unsigned char id[KS_TOKEN_ID_MAX];
	size_t idlen = a->id_hex ? strlen(a->id_hex) / 2 : 0;
	unsigned long handle;
	int rc;

	if (!a->id_hex || idlen == 0 || idlen > KS_TOKEN_ID_MAX || strlen(a->id_hex) % 2 ||
	    hex_decode(a->id_hex, strlen(a->id_hex), id, idlen) != ENF_OK)
		return enf_err(ENF_USAGE, "--id takes the object's CKA_ID in lowercase hex "
			       "(1 to %d bytes)", KS_TOKEN_ID_MAX);
	if ((rc = key_args_ok(ks, a, &def)) != ENF_OK || (rc = read_pin(a->pinfile, &w.pin)) != ENF_OK)
		return rc;
	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "adopt")) != ENF_OK)
		goto out;
	/* p11_find checks the object: key type, private, sensitive, never
	 * extractable, may sign. */
	if ((rc = officer_session(def, &w.pin, &w.t)) == ENF_OK &&
	    (rc = p11_find(w.t, a->alg, id, idlen, &handle, &w.pub)) == ENF_OK)
		rc = ks_key_adopt(ks, a->name, a->alg, a->token, id, idlen, &w.pub, a->purposes,
				  a->npurposes);
	rc = key_done(ks, "adopt", a, a->id_hex, rc);
out:
	key_work_free(&w);
	return rc;
}

int token_before_state(const struct keystore *ks, const char *name, int state,
		       const char *pinfile)
{
	const struct ks_key *k = ks_key_find(ks, name);
	const struct ks_token *def = k ? ks_token_find(ks, k->token) : NULL;
	struct secret pin = { 0 };
	struct p11 *t = NULL;
	int rc;

	/* ks_key_set_state refuses what may not happen (a state backwards). */
	if (!def || state != KS_DESTROYED || state <= k->state)
		return ENF_OK;
	if ((rc = read_pin(pinfile, &pin)) != ENF_OK)
		return rc;
	if ((rc = officer_session(def, &pin, &t)) == ENF_OK)
		rc = p11_destroy(t, k->id, k->idlen);
	if (t)
		p11_close(t);
	secret_free(&pin);
	return rc;
}
