/* Signature verification for a verifier with no instance and no credential
 * (enf-verify(1)): which keys are trusted, what the data's digest is, and
 * whether an SSHSIG or a raw ECDSA/RSA signature by one of those keys
 * covers it.  The formats are sshsig.c's and key.c's; this module holds the
 * verifier's decisions around them, as OpenSSH's sshsig.c does. */
#ifndef ENF_VERIFY_H
#define ENF_VERIFY_H

#include "crypto.h"
#include "key.h"
#include "keyfmt.h"

/* What a verifier reads into memory at most. */
#define VERIFY_KEY_MAX (64 * 1024)
#define VERIFY_SIG_MAX (64 * 1024)
#define VERIFY_SIGNERS_MAX (1024 * 1024)

/* The data a signature covers, as a program's options name it: a file
 * (path NULL or "-": stdin), or its digest (--digest ALG:HEX). */
struct data_ref {
	const char *path;
	int digest_alg;			/* -1: no digest given */
	unsigned char digest[HASH_MAX];
};

/* The hash the data is taken under, from -a (a; -1: not given), the
 * digest's, else def.  A digest and a data file exclude each other and -a
 * and --digest must agree (enf-verify --raw, enf-request): ENF_USAGE. */
int data_ref_hash(const struct data_ref *d, int a, int def, int *alg);
/* The data's digest under alg: the given one (ENF_NO when it is of another
 * hash), or the file's, streamed. */
int data_ref_digest(const struct data_ref *d, int alg, unsigned char *out);

/* The keys a signature may be by. */
struct verify_keys {
	struct pubkey *k;
	size_t n;
	int named;	/* one key named directly (-k), not found in allowed_signers */
};
/* -k FILE: one public key, an OpenSSH line or PEM (ENF_FAIL if it is not). */
int verify_keys_from_file(struct verify_keys *ks, const char *path);
/* -A FILE -I NAME: the keys the allowed_signers file gives principal name
 * for namespace ns; ENF_NO when there is none, ENF_FAIL if malformed. */
int verify_keys_from_signers(struct verify_keys *ks, const char *path, const char *name,
			     const char *ns);
void verify_keys_free(struct verify_keys *ks);

/* Who made a good signature. */
struct verify_result {
	const char *key_type;		/* "ssh-ed25519", ... */
	char fingerprint[FINGERPRINT_MAX];
	int hash_alg;
};

/* An armored SSHSIG (nothing after it) for namespace `purpose`, by one of
 * ks, over d.  ENF_OK; ENF_NO "invalid signature[: why]"; ENF_FAIL. */
int verify_sshsig_text(const struct verify_keys *ks, const char *purpose, const char *text,
		       size_t n, const struct data_ref *d, struct verify_result *res);
/* A raw ECDSA (DER) or RSA PKCS#1 v1.5 signature under hash alg, by one of
 * ks, over d.  It carries no purpose: only allowed_signers' namespaces tie
 * a key to one.  A named Ed25519 key is ENF_USAGE. */
int verify_raw_sig(const struct verify_keys *ks, int alg, const unsigned char *sig, size_t n,
		   const struct data_ref *d, struct verify_result *res);

/* What enf-verify checks: a signature file against a key file or an
 * allowed_signers principal, for a purpose, over some data. */
struct verify_req {
	const char *purpose;
	const char *keyfile;			/* -k, or NULL */
	const char *signers, *principal;	/* -A -I, or NULL */
	const char *sigfile;			/* "-": stdin */
	int raw, alg;				/* --raw and its hash */
	struct data_ref data;
};
/* Loads the keys, reads the signature and verifies it. */
int verify_request(const struct verify_req *r, struct verify_result *res);

#endif
