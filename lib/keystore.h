/* The keystore: one GDBM file in the instance home.
 *
 * Public part, readable with no credential: the instance's public identity
 * (Ed25519 identity key, X25519 transfer key), and for each key its name,
 * algorithm, purposes, state and public key.
 *
 * Private part, encrypted at rest (AES-256-GCM, record name and instance id
 * as associated data): per role a bundle wrapped under an Argon2id key of
 * that role's passphrase.  Both roles' bundles hold the instance identity
 * key, the X25519 key and the seal root; only the officer's holds the
 * governance key that signs officer-controlled state; only the operator's
 * holds the storage key that opens user keys.  So the officer cannot sign
 * and the operator cannot change governance state.
 *
 * Every write rebuilds the file beside it and renames it into place under
 * an exclusive lock: a kill -9 leaves the old or the new state; readers never
 * block. */
#ifndef ENF_KEYSTORE_H
#define ENF_KEYSTORE_H

#include <time.h>
#include "enf.h"
#include "key.h"
#include "cred.h"
#include "crypto.h"

#define KEYSTORE_FILE "keystore"
#define PURPOSES_MAX 16
#define SEAL_ROOT_LEN 32
#define KS_TOKEN_ID_MAX 64	/* = P11_ID_MAX */
#define KS_MODULE_MAX 1024
#define KS_LABEL_MAX 32
#define KS_SERIAL_MAX 16

enum binding { BIND_NONE = 0, BIND_HOST, BIND_TPM };

struct ks_key {
	char name[ENF_NAME_MAX + 1];
	int alg;			/* enum key_alg */
	int state;			/* enum key_state */
	char *purposes[PURPOSES_MAX];
	size_t npurposes;
	int64_t created;		/* UTC seconds */
	struct pubkey pub;		/* blob, type and bits only: sexp is NULL;
					   pubkey_from_blob(pub.blob) to verify */
	/* The back end: "" when the keystore holds the private key, else the
	 * name of the token (struct ks_token) holding it under CKA_ID id. */
	char token[ENF_NAME_MAX + 1];
	unsigned char id[KS_TOKEN_ID_MAX];
	size_t idlen;
};

/* A PKCS#11 token (SPEC "Keys in a PKCS#11 token"), officer-governed like
 * the keys; its PIN is a record of its own, sealed to the operator. */
struct ks_token {
	char name[ENF_NAME_MAX + 1];
	char module[KS_MODULE_MAX + 1];	/* absolute path of the PKCS#11 module */
	char label[KS_LABEL_MAX + 1];
	char serial[KS_SERIAL_MAX + 1];	/* the token's serial, as found at token add */
	uint32_t timeout_ms;		/* deadline of each module call */
};

struct keystore;

struct ks_init_opts {
	unsigned lockout;		/* failed unlocks before a role locks; default 10 */
	int binding;			/* enum binding */
	const struct kdf_params *kdf;	/* NULL: KDF_DEFAULT */
	const char *tcti;		/* BIND_TPM: NULL for tpm_tcti()'s default */
	uint32_t tpm_pcrs;		/* BIND_TPM: PCR mask of the policy, or 0 */
};

/* Create the home (0700) and its keystore; fails if a keystore exists. */
int ks_init(const char *home, const struct ks_init_opts *o, const struct secret *officer,
	    const struct secret *operator_, struct keystore **out);
/* Open read-only (public view).  ENF_FAIL: missing, unsafe, corrupt. */
int ks_open(const char *home, struct keystore **out);
/* ks_open on the home -H gives (opt), else $ENF_HOME, else ~/.enf. */
int ks_open_home(const char *opt, struct keystore **out);
void ks_close(struct keystore *ks);
/* In a forked process, before it reads the keystore: see store_own_view. */
int ks_own_view(struct keystore *ks);

/* Unlock a role.  The attempt is counted first, durably, in the lockout
 * file beside the keystore (lockout.h), under the keystore's lock; only then
 * is the passphrase tried (Argon2id, constant-time), and a right one clears
 * the count.  ENF_FAIL "locked" at the limit and ENF_FAIL when the attempt
 * cannot be counted (the passphrase is then not tried at all); ENF_FAIL
 * "wrong ROLE passphrase (N tries left)" otherwise.
 * Verifies the governance signature over officer-controlled state, over
 * the very bytes ks_open decoded (the record is read once, never again):
 * ENF_NO if they do not verify (tampered keystore).  Does not audit:
 * programs call unlock_role() (unlock.h), which reads the credential and
 * audits. */
int ks_unlock(struct keystore *ks, int role, const struct secret *pass);
int ks_unlocked_role(const struct keystore *ks);	/* -1 if locked */

/* How the last ks_unlock on ks ended, for the audit record. */
enum unlock_result {
	UNLOCK_OK = 0,
	UNLOCK_LOCKED,		/* at the limit: the passphrase was not tried */
	UNLOCK_UNCOUNTED,	/* the attempt could not be counted: not tried */
	UNLOCK_WRONG,		/* tried, wrong, counted */
	UNLOCK_TAMPERED,	/* right passphrase; governance state does not verify */
	UNLOCK_ERROR,		/* anything else: memory, a corrupt record */
};
int ks_unlock_result(const struct keystore *ks);
/* Failed unlocks the role may still make before it locks (0: locked), as
 * the lockout file says now; -1 when that file is unreadable (treat as
 * locked). */
int ks_tries_left(const struct keystore *ks, int role);
/* 1 when the role has reached its failed-unlock limit (or its count is
 * unreadable). */
int ks_role_locked(const struct keystore *ks, int role);

/* Instance identity (public, no credential). */
const struct pubkey *ks_identity_pub(const struct keystore *ks);
const char *ks_instance_id(const struct keystore *ks);	/* "SHA256:..." */
const unsigned char *ks_x25519_pub(const struct keystore *ks);
int ks_binding(const struct keystore *ks);
const char *ks_home(const struct keystore *ks);
/* The public identity file: OpenSSH line of the identity key, a line
 * "enf-x25519 BASE64" — see enf-keygen(1) "instance". */
int ks_instance_export(const struct keystore *ks, struct wbuf *out);

/* Secrets of an unlocked role (ENF_FAIL when locked). */
const struct privkey *ks_identity_key(const struct keystore *ks);
int ks_x25519_secret(const struct keystore *ks, unsigned char sk[X25519_LEN]);
int ks_seal_root(const struct keystore *ks, unsigned char out[SEAL_ROOT_LEN]);

/* Keys (public view). */
size_t ks_key_count(const struct keystore *ks);
const struct ks_key *ks_key_at(const struct keystore *ks, size_t i);	/* sorted by name */
const struct ks_key *ks_key_find(const struct keystore *ks, const char *name);
/* Officer. */
int ks_key_new(struct keystore *ks, const char *name, int alg, char *const *purposes,
	       size_t npurposes, const struct ks_key **out);
/* The same for many keys in one governance change (provisioning). */
int ks_key_new_many(struct keystore *ks, char *const *names, size_t n, int alg,
		    char *const *purposes, size_t npurposes);
int ks_key_set_state(struct keystore *ks, const char *name, int state);
/* Operator: the private key of an active key the keystore holds (ENF_FAIL
 * for a token key: signer.h opens either). */
int ks_key_private(const struct keystore *ks, const char *name, struct privkey *out);

/* Tokens (public view), sorted by name. */
size_t ks_token_count(const struct keystore *ks);
const struct ks_token *ks_token_at(const struct keystore *ks, size_t i);
const struct ks_token *ks_token_find(const struct keystore *ks, const char *name);
/* Officer: a token definition and its PIN, sealed to the storage key
 * ("pin/NAME"): the officer who gives it can never read it back. */
int ks_token_add(struct keystore *ks, const struct ks_token *t, const struct secret *pin);
/* Officer: refused (ENF_NO) while a key that is not destroyed uses it. */
int ks_token_remove(struct keystore *ks, const char *name);
/* Operator: the PIN of a token, in secure memory (secret_free). */
int ks_token_pin(const struct keystore *ks, const char *name, struct secret *pin);
/* Officer: a key whose private half lives in token `token` under CKA_ID id
 * (generated there or adopted); pub is its public key as the token gave
 * it.  ECDSA is refused (ENF_USAGE): a token's random nonces would break
 * deterministic signing. */
int ks_key_adopt(struct keystore *ks, const char *name, int alg, const char *token,
		 const unsigned char *id, size_t idlen, const struct pubkey *pub,
		 char *const *purposes, size_t npurposes);

/* Installed policy digest (officer-controlled).  *present = 0 if none. */
int ks_policy_digest(const struct keystore *ks, unsigned char out[32], int *present);
int ks_set_policy_digest(struct keystore *ks, const unsigned char digest[32]);

/* Officer: change a role's passphrase.  For the operator role, old_op is the
 * current operator passphrase (only it unwraps the operator's bundle). */
int ks_passwd(struct keystore *ks, int role, const struct secret *old_op,
	      const struct secret *newpass);
/* Officer: clear the operator's failed-unlock count. */
int ks_reset_lockout(struct keystore *ks);

/* BIND_TPM: the TPM's part of the role keys, once per keystore handle
 * (ks_unlock calls it first; unlock_role before asking for a passphrase).
 * Never counts as a failed unlock.  ks_tpm_failure: the audit code of the
 * last failure (tpm.h), or NULL. */
int ks_tpm_unlock(struct keystore *ks);
const char *ks_tpm_failure(const struct keystore *ks);

#endif
