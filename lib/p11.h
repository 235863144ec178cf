/* PKCS#11 client (contract between branches `p11` and `token`; `p11` may
 * refine it but keeps these names and meanings, and commits this header
 * first so that `token` can build against it).
 *
 * One struct p11 = one dlopen'ed module, one token (found by label, and by
 * serial when given), one R/W session, logged in as CKU_USER at most once.
 * Every failure is ENF_FAIL (exit 3) with a message naming what failed,
 * never a PIN; a swapped or missing object is ENF_FAIL too.  Bad arguments
 * (and ECDSA) are ENF_USAGE.
 *
 * Deadlines: every call into the module runs on the handle's own worker
 * thread while the caller waits at most timeout_ms for it (one deadline per
 * p11_* call; p11_open's three steps — load and C_Initialize, the slot
 * list, C_OpenSession — each get one).  When a deadline passes the call
 * fails with ENF_FAIL "token timed out" and the handle is wedged for good:
 * every later call fails at once ("token wedged: ..."), the module is never
 * called again through it, and p11_close returns without waiting, leaving
 * the thread, the session and the module behind (freed by the thread if
 * the module ever returns).  A late return cannot touch the caller's
 * memory: a call's inputs and outputs (the PIN included, in secure memory)
 * are the worker's own copies.  Nothing is retried.
 *
 * Threads: calls on one handle are serialised; handles on the same module
 * share one C_Initialize (counted; the last p11_close finalizes).  A
 * module is never unloaded (RTLD_NODELETE).  Do not use a handle across
 * fork(). */
#ifndef ENF_P11_H
#define ENF_P11_H

#include <stddef.h>
#include "buf.h"
#include "cred.h"	/* struct secret */
#include "key.h"	/* struct pubkey, enum key_alg */

#define P11_LABEL_MAX 32	/* CK_TOKEN_INFO label, blank-padded on the wire */
#define P11_SERIAL_MAX 16
#define P11_ID_MAX 64		/* CKA_ID bytes enf uses */
#define P11_TIMEOUT_MS 30000	/* default deadline per module call */

struct p11;

struct p11_token_info {
	char label[P11_LABEL_MAX + 1];		/* trailing blanks removed */
	char serial[P11_SERIAL_MAX + 1];
	char manufacturer[33], model[17];
};

/* dlopen(module), C_GetFunctionList, C_Initialize with CKF_OS_LOCKING_OK,
 * find the slot whose token has this label (and serial, unless NULL),
 * C_OpenSession(RW).  Errors: "cannot load PKCS#11 module PATH: ...",
 * "PATH is not a PKCS#11 module", "no token labelled 'L'", "token 'L' has
 * serial S, not T", "N tokens labelled 'L': name one by its serial".
 * label: 1..32 bytes, compared without the blank padding; serial: 1..16
 * bytes or NULL.  *out is NULL on failure. */
int p11_open(const char *module, const char *label, const char *serial,
	     unsigned timeout_ms, struct p11 **out);
/* Logout, close the session, C_Finalize when no other handle uses the
 * module.  Never blocks on a wedged handle (see above).  NULL is a no-op. */
void p11_close(struct p11 *t);
/* The deadline for later calls (0: P11_TIMEOUT_MS), e.g. a long one for
 * opening and login and a short one for signatures. */
void p11_set_timeout(struct p11 *t, unsigned timeout_ms);
/* The token found at open (no module call). */
int p11_info(const struct p11 *t, struct p11_token_info *out);

/* CKU_USER login, once.  CKR_PIN_INCORRECT: ENF_FAIL "wrong token PIN";
 * CKR_PIN_LOCKED: "token PIN is locked"; after any failed login the handle
 * refuses every further one ("token login refused: an earlier login
 * failed") without calling the module (never retried: a real HSM may lock
 * or wipe itself).  CKR_USER_ALREADY_LOGGED_IN is success; a second call
 * after success is a no-op. */
int p11_login(struct p11 *t, const struct secret *pin);

/* Generate a key pair inside the token: private object CKA_TOKEN,
 * CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE=false, CKA_SIGN only;
 * public object CKA_VERIFY; both with CKA_ID id and CKA_LABEL label.
 * alg: ALG_ED25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKA_EC_PARAMS the
 * printable string "edwards25519"), ALG_RSA3072 / ALG_RSA4096
 * (CKM_RSA_PKCS_KEY_PAIR_GEN, e = 65537).  ECDSA: ENF_USAGE with the
 * reason (a token's random nonces break deterministic signing).
 * Refused when any key object already has this id.  The new pair is then
 * read back through p11_find's checks; if the token made something else,
 * both objects are destroyed and the call fails.  label: at most 128 bytes.
 * *pub: the public key as enf encodes it (pubkey_from_blob'ed). */
int p11_generate(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
		 const char *label, struct pubkey *pub);

/* Find the private key with CKA_ID id; check CKA_KEY_TYPE against alg, that
 * it is CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN; read its
 * public half (the public object with the same id, or the private object's
 * CKA_EC_POINT / CKA_MODULUS+CKA_PUBLIC_EXPONENT) into *pub.  Exactly one
 * private object must match ("no private key with id X on the token", "N
 * private keys with id X on the token").  Ed25519 also needs CKA_EC_PARAMS
 * naming edwards25519 (printable string or OID) on both objects, and its
 * public object's CKA_EC_POINT is the DER OCTET STRING of 32 bytes or the
 * 32 bytes; RSA's public key is the private object's own CKA_MODULUS and
 * CKA_PUBLIC_EXPONENT, of exactly alg's size.  The caller compares *pub
 * with what the keystore holds (and verifies after signing: nothing ties a
 * token's Ed25519 public object to its private one). */
int p11_find(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
	     unsigned long *handle, struct pubkey *pub);

/* One signature with the object p11_find returned, appended to *sig.
 * ALG_ED25519: CKM_EDDSA over msg (64 bytes out).
 * RSA: CKM_RSA_PKCS over msg, which is a DER DigestInfo the caller built
 * (out: exactly the modulus length).  A signature of any other length is
 * ENF_FAIL "token returned a malformed signature"; a failed C_SignInit or
 * C_Sign "token: C_Sign failed: CKR_...".  Nothing is verified here: the
 * caller verifies.  One C_Sign into a buffer larger than any accepted
 * signature (no length query). */
int p11_sign(struct p11 *t, unsigned long handle, int alg, const unsigned char *msg,
	     size_t n, struct wbuf *sig);

/* C_DestroyObject on every private and public key object with this id
 * (needs a login).  ENF_FAIL "no key with id X on the token" when there is
 * none; when only one half is left, that half is destroyed. */
int p11_destroy(struct p11 *t, const unsigned char *id, size_t idlen);

#endif
