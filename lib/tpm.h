/* Binding an instance to this machine's TPM (enf-keygen init --bind tpm).
 *
 * At init a random 32-byte secret is sealed into a TPM data object under
 * the owner hierarchy's storage root key (the TCG template, ECC P-256,
 * re-created from the TPM's seed at each use, so nothing is left in the
 * TPM).  The keystore keeps the object's public and private blobs in its
 * "tpm" record; only the TPM that made them can load them.  Each role's
 * wrapping key becomes HKDF(Argon2id(passphrase) || TPM secret), so the
 * passphrase alone opens nothing, and nothing checkable comes out of the
 * Argon2id work without the TPM.
 *
 * Every TPM call goes over a session salted to the storage root key with
 * parameter encryption: the secret never crosses the bus in the clear.
 * The TPM is reached through the TSS2 TCTI loader: the configuration given
 * at init, else $TSS2_TCTI, else $TPM2TOOLS_TCTI, else device:/dev/tpmrm0.
 * The configuration is not stored. */
#ifndef ENF_TPM_H
#define ENF_TPM_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define TPM_SECRET_LEN 32
#define TPM_PCR_MAX 23		/* PCRs 0-23 of the SHA-256 bank */

/* The unsealed secret, in secure memory. */
struct tpm_root;

/* "16" or "0,2,7": a bit per PCR; -1 when not such a list. */
int tpm_parse_pcrs(const char *list, uint32_t *mask);

/* The TCTI configuration to use: opt when given, else the environment,
 * else the kernel resource manager. */
const char *tpm_tcti(const char *opt);

/* Init: a new secret sealed to the TPM (to the current values of the PCRs
 * in pcr_mask, if any), unsealed once to prove it works; the record for
 * the keystore goes to rec.  instance_id binds the record to the
 * instance. */
int tpm_bind(const char *tcti, uint32_t pcr_mask, const char *instance_id,
	     struct tpm_root **root, struct wbuf *rec);

/* Unlock: the secret of a record, from the TPM.  On failure the message is
 * set and *reason is a short audit code:
 *   tpm-other        the TPM is not the one the record was made on (ENF_FAIL)
 *   tpm-unavailable  the TPM cannot be reached (ENF_FAIL)
 *   tpm-pcr          the PCRs no longer hold their values at init (ENF_FAIL)
 *   tpm-lockout      the TPM is in dictionary-attack lockout (ENF_FAIL)
 *   tpm-object       the record is damaged or not this instance's (ENF_NO)
 *   tpm-error        any other TPM refusal (ENF_FAIL)
 * One attempt, never retried. */
int tpm_unbind(const char *tcti, const unsigned char *rec, size_t n, const char *instance_id,
	       struct tpm_root **root, const char **reason);

/* kek (n bytes, the Argon2id output) := HKDF-SHA256(kek || secret). */
int tpm_root_mix(const struct tpm_root *root, unsigned char *kek, size_t n);
void tpm_root_free(struct tpm_root *root);

#endif
