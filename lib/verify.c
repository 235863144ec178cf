/* Signature verification with no instance (verify.h, enf-verify(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "io.h"
#include "sshsig.h"
#include "verify.h"

/* rc with "prefix: " before the recorded message. */
static int prefixed(int rc, const char *prefix)
{
	return enf_err(rc, "%s: %s", prefix, enf_errmsg());
}

/* Every refusal reads "invalid signature: WHY", or "invalid signature"
 * when the signature itself is wrong. */
static int invalid(int rc) { return rc == ENF_NO ? prefixed(rc, "invalid signature") : rc; }
static int refuse(const char *why) { return enf_err(ENF_NO, "invalid signature: %s", why); }

int data_ref_hash(const struct data_ref *d, int a, int def, int *alg)
{
	if (d->digest_alg >= 0 && d->path)
		return enf_err(ENF_USAGE, "--digest and a data file exclude each other");
	if (a >= 0 && d->digest_alg >= 0 && a != d->digest_alg)
		return enf_err(ENF_USAGE, "-a and --digest name different hashes");
	*alg = a >= 0 ? a : d->digest_alg >= 0 ? d->digest_alg : def;
	return ENF_OK;
}

int data_ref_digest(const struct data_ref *d, int alg, unsigned char *out)
{
	if (d->digest_alg < 0)
		return hash_path(alg, d->path, out);
	if (d->digest_alg != alg)
		return enf_err(ENF_NO, "the signature uses %s, --digest gives %s", hash_name(alg),
			       hash_name(d->digest_alg));
	memcpy(out, d->digest, hash_len(alg));
	return ENF_OK;
}

/* Too large is malformed (io.h): `too_large` is the code a malformed file
 * of this kind gets, ENF_NO for the signature, ENF_FAIL for the keys.
 * io_read_file names the path and any other error. */
static int read_input(const char *path, size_t max, const char *what, int too_large,
		      unsigned char **p, size_t *n)
{
	int rc = io_read_file(path, max, p, n);

	if (rc == ENF_NO)
		return enf_err(too_large, "%s: %s larger than %zu bytes", path, what, max);
	return rc;
}

/* ks emptied, then the file that names its keys read. */
static int read_keys_file(struct verify_keys *ks, const char *path, size_t max, const char *what,
			  unsigned char **text, size_t *n)
{
	memset(ks, 0, sizeof *ks);
	return read_input(path, max, what, ENF_FAIL, text, n);
}

int verify_keys_from_file(struct verify_keys *ks, const char *path)
{
	unsigned char *text;
	size_t n;
	int rc;

	if ((rc = read_keys_file(ks, path, VERIFY_KEY_MAX, "public key", &text, &n)) != ENF_OK)
		return rc;
	if (!(ks->k = calloc(1, sizeof *ks->k)))
		rc = enf_err(ENF_FAIL, "out of memory");
	else if (pubkey_from_text(ks->k, (char *)text, n) != ENF_OK)
		rc = prefixed(ENF_FAIL, path);
	else
		ks->n = 1;
	ks->named = 1;
	free(text);
	return rc;
}

int verify_keys_from_signers(struct verify_keys *ks, const char *path, const char *name,
			     const char *ns)
{
	unsigned char *text;
	size_t n;
	int rc;

	if ((rc = read_keys_file(ks, path, VERIFY_SIGNERS_MAX, "allowed signers", &text, &n)) !=
	    ENF_OK)
		return rc;
	rc = allowed_signers_find((char *)text, n, name, ns, &ks->k, &ks->n);
	free(text);
	return rc == ENF_FAIL ? prefixed(rc, path) : rc;
}

void verify_keys_free(struct verify_keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		pubkey_free(&ks->k[i]);
	free(ks->k);
	memset(ks, 0, sizeof *ks);
}

static void good(const struct pubkey *k, int alg, struct verify_result *res)
{
	res->key_type = pubkey_ssh_type(k);
	pubkey_fingerprint(k, res->fingerprint);
	res->hash_alg = alg;
}

static const struct pubkey *find_key(const struct verify_keys *ks, const struct pubkey *k)
{
	for (size_t i = 0; i < ks->n; i++)
		if (pubkey_equal(&ks->k[i], k))
			return &ks->k[i];
	return NULL;
}

/* Its key, the data's hash, its purpose, then the mathematics. */
static int check_sshsig(const struct verify_keys *ks, const char *purpose, const struct sshsig *s,
			const struct data_ref *d, struct verify_result *res)
{
	unsigned char digest[HASH_MAX];
	const struct pubkey *signer = find_key(ks, &s->key);
	int rc;

	if (!signer)
		return refuse("signature is by another key");
	if ((rc = data_ref_digest(d, s->hash_alg, digest)) != ENF_OK)
		return invalid(rc);
	if (strcmp(s->ns, purpose) != 0)
		return refuse("signature is for another purpose");
	/* Key and namespace are checked: ENF_NO is the signature itself. */
	if ((rc = sshsig_verify_digest(s, purpose, signer, digest)) == ENF_NO)
		return enf_err(ENF_NO, "invalid signature");
	if (rc == ENF_OK)
		good(signer, s->hash_alg, res);
	return rc;
}

int verify_sshsig_text(const struct verify_keys *ks, const char *purpose, const char *text,
		       size_t n, const struct data_ref *d, struct verify_result *res)
{
	struct sshsig s;
	size_t used = 0;
	int rc;

	if ((rc = sshsig_parse_armored(&s, text, n, &used)) != ENF_OK)
		return invalid(rc);
	if (used != n)
		rc = refuse("signature: text after the SSH SIGNATURE block");
	else
		rc = check_sshsig(ks, purpose, &s, d, res);
	sshsig_free(&s);
	return rc;
}

int verify_raw_sig(const struct verify_keys *ks, int alg, const unsigned char *sig, size_t n,
		   const struct data_ref *d, struct verify_result *res)
{
	unsigned char digest[HASH_MAX];
	int rc;

	if (ks->named && ks->n == 1 && ks->k[0].type == KT_ED25519)
		return enf_err(ENF_USAGE, "--raw needs an ECDSA or RSA key, not Ed25519");
	if ((rc = data_ref_digest(d, alg, digest)) != ENF_OK)
		return invalid(rc);
	for (size_t i = 0; i < ks->n; i++)
		if (ks->k[i].type != KT_ED25519 &&
		    pubkey_verify_raw(&ks->k[i], alg, digest, sig, n) == ENF_OK) {
			good(&ks->k[i], alg, res);
			return ENF_OK;
		}
	return enf_err(ENF_NO, "invalid signature");
}

int verify_request(const struct verify_req *r, struct verify_result *res)
{
	struct verify_keys ks = { 0 };
	unsigned char *sig = NULL;
	size_t n;
	int rc;

	rc = r->keyfile ? verify_keys_from_file(&ks, r->keyfile)
			: invalid(verify_keys_from_signers(&ks, r->signers, r->principal, r->purpose));
	if (rc == ENF_OK &&
	    (rc = invalid(read_input(r->sigfile, VERIFY_SIG_MAX, "signature", ENF_NO, &sig, &n))) == ENF_OK)
		rc = r->raw ? verify_raw_sig(&ks, r->alg, sig, n, &r->data, res)
			    : verify_sshsig_text(&ks, r->purpose, (char *)sig, n, &r->data, res);
	free(sig);
	verify_keys_free(&ks);
	return rc;
}
