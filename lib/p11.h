/* PKCS#11 client (contract between branches `p11` and `token`; `p11` may
 * refine it but keeps these names and meanings, and commits this header
 * first so that `token` can build against it).
 *
 * One struct p11 = one dlopen'ed module, one token (found by label, and by
 * serial when given), one R/W session, logged in as CKU_USER at most once.
 * Every call into the module runs under a deadline (timeout_ms): a module
 * that hangs makes the call fail with ENF_FAIL "token timed out" and the
 * handle becomes unusable ("token wedged") for good; it is never retried.
 * Every failure is ENF_FAIL (exit 3) with a message naming what failed,
 * never a PIN; a swapped or missing object is ENF_FAIL too. */
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
 * serial S, not T". */
int p11_open(const char *module, const char *label, const char *serial,
	     unsigned timeout_ms, struct p11 **out);
void p11_close(struct p11 *t);		/* logout, close session, finalize, dlclose */
int p11_info(const struct p11 *t, struct p11_token_info *out);

/* CKU_USER login, once.  CKR_PIN_INCORRECT: ENF_FAIL "wrong token PIN";
 * the handle then refuses every further login (never retried: a real HSM
 * may lock or wipe itself).  CKR_USER_ALREADY_LOGGED_IN is success. */
int p11_login(struct p11 *t, const struct secret *pin);

/* Generate a key pair inside the token: private object CKA_TOKEN,
 * CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE=false, CKA_SIGN only;
 * public object CKA_VERIFY; both with CKA_ID id and CKA_LABEL label.
 * alg: ALG_ED25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKA_EC_PARAMS the
 * printable string "edwards25519"), ALG_RSA3072 / ALG_RSA4096
 * (CKM_RSA_PKCS_KEY_PAIR_GEN, e = 65537).  ECDSA: ENF_USAGE with the
 * reason (a token's random nonces break deterministic signing).
 * *pub: the public key as enf encodes it (pubkey_from_blob'ed). */
int p11_generate(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
		 const char *label, struct pubkey *pub);

/* Find the private key with CKA_ID id; check CKA_KEY_TYPE against alg, that
 * it is CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN; read its
 * public half (the public object with the same id, or the private object's
 * CKA_EC_POINT / CKA_MODULUS+CKA_PUBLIC_EXPONENT) into *pub.  Exactly one
 * private object must match ("no key with id X on the token", "N keys with
 * id X").  The caller compares *pub with what the keystore holds. */
int p11_find(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
	     unsigned long *handle, struct pubkey *pub);

/* One signature with the object p11_find returned.
 * ALG_ED25519: CKM_EDDSA over msg (64 bytes out).
 * RSA: CKM_RSA_PKCS over msg, which is a DER DigestInfo the caller built
 * (out: exactly the modulus length).  A signature of any other length is
 * ENF_FAIL "token returned a malformed signature". */
int p11_sign(struct p11 *t, unsigned long handle, int alg, const unsigned char *msg,
	     size_t n, struct wbuf *sig);

/* C_DestroyObject on the private and public objects with this id. */
int p11_destroy(struct p11 *t, const unsigned char *id, size_t idlen);

#endif
