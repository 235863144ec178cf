/* enf-verify: check an SSHSIG (or a raw ECDSA/RSA signature) against a
 * public key or an allowed_signers file, with no instance and no
 * credential (enf-verify(1)).  The purpose is mandatory: it is the SSHSIG
 * namespace, so a signature made for another purpose never verifies. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "crypto.h"
#include "encode.h"
#include "io.h"
#include "keyfmt.h"
#include "proc.h"
#include "sshsig.h"

#define KEY_MAX (64 * 1024)
#define SIG_MAX (64 * 1024)
#define SIGNERS_MAX (1024 * 1024)

struct opts {
	const char *purpose, *keyfile, *signers, *name, *sigfile, *data;
	int raw, verbose, alg;		/* alg: -a, or -1 */
	int have_digest, digest_alg;
	unsigned char digest[HASH_MAX];
};

struct keys {
	struct pubkey *k;
	size_t n;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: enf-verify -p PURPOSE (-k PUBKEY | -A ALLOWED_SIGNERS -I NAME) -s SIG\n"
		"                  [--raw [-a sha256|sha384|sha512]] [-v]\n"
		"                  [--digest ALG:HEX | FILE | -]\n"
		"       enf-verify -h | --version\n");
}

static int parse_digest(struct opts *o, const char *arg)
{
	int rc = digest_arg_parse(arg, &o->digest_alg, o->digest);

	o->have_digest = rc == ENF_OK;
	return rc;
}

static int is_stdin(const char *p) { return p && strcmp(p, "-") == 0; }

/* The combination rules of the synopsis. */
static int check_opts(struct opts *o, int argc, char **argv)
{
	int stdins;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one data file");
	o->data = argc == 1 ? argv[0] : NULL;
	if (!o->purpose || !o->sigfile)
		return enf_err(ENF_USAGE, "-p PURPOSE and -s SIG are required");
	if (!enf_valid_name(o->purpose))
		return enf_err(ENF_USAGE, "bad purpose \"%s\"", o->purpose);
	if (!!o->keyfile == !!o->signers || !!o->signers != !!o->name)
		return enf_err(ENF_USAGE, "give either -k PUBKEY or -A ALLOWED_SIGNERS -I NAME");
	if (o->have_digest && o->data)
		return enf_err(ENF_USAGE, "--digest and a data file exclude each other");
	if (o->alg >= 0 && !o->raw)
		return enf_err(ENF_USAGE, "-a is for --raw; an SSHSIG names its own hash");
	if (o->raw && o->have_digest && o->alg >= 0 && o->alg != o->digest_alg)
		return enf_err(ENF_USAGE, "-a and --digest name different hashes");
	if (o->raw && o->alg < 0)
		o->alg = o->have_digest ? o->digest_alg : HASH_SHA256;
	stdins = is_stdin(o->keyfile) + is_stdin(o->signers) + is_stdin(o->sigfile) +
		 (!o->have_digest && (!o->data || is_stdin(o->data)));
	if (stdins > 1)
		return enf_err(ENF_USAGE, "only one input can come from stdin");
	return ENF_OK;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "purpose", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "allowed-signers", required_argument, NULL, 'A' },
		{ "identity", required_argument, NULL, 'I' },
		{ "signature", required_argument, NULL, 's' },
		{ "hash", required_argument, NULL, 'a' },
		{ "raw", no_argument, NULL, 'r' },
		{ "digest", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "home", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof *o);
	o->alg = -1;
	while ((c = getopt_long(argc, argv, "p:k:A:I:s:a:vH:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o->purpose = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'A': o->signers = optarg; break;
		case 'I': o->name = optarg; break;
		case 's': o->sigfile = optarg; break;
		case 'r': o->raw = 1; break;
		case 'v': o->verbose = 1; break;
		case 'H': break;	/* no instance is used; accepted like every enf program */
		case 'a':
			o->alg = hash_parse(optarg);
			if (o->alg < 0)
				return enf_err(ENF_USAGE, "-a: unknown hash \"%s\"", optarg);
			break;
		case 'd':
			if ((rc = parse_digest(o, optarg)) != ENF_OK)
				return rc;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("enf-verify %s\n", ENF_VERSION); exit(0);
		default: usage(stderr); exit(ENF_USAGE);
		}
	}
	return check_opts(o, argc - optind, argv + optind);
}

/* Too large is malformed (io.h): `too_large` is the code a malformed file
 * of this kind gets, ENF_NO for the signature, ENF_FAIL for the keys. */
static int read_input(const char *path, size_t max, const char *what, int too_large,
		      unsigned char **p, size_t *n)
{
	int rc = io_read_file(path, max, p, n);

	if (rc == ENF_NO)
		return enf_err(too_large, "%s: %s larger than %zu bytes", path, what, max);
	return rc;	/* io_read_file names the path and the error */
}

static int load_keys(const struct opts *o, struct keys *ks)
{
	unsigned char *text;
	size_t n;
	int rc;

	if (o->keyfile) {
		if ((rc = read_input(o->keyfile, KEY_MAX, "public key", ENF_FAIL, &text, &n)) != ENF_OK)
			return rc;
		if (!(ks->k = calloc(1, sizeof *ks->k)))
			rc = enf_err(ENF_FAIL, "out of memory");
		else if (pubkey_from_text(ks->k, (char *)text, n) != ENF_OK)
			rc = enf_err(ENF_FAIL, "%s: %s", o->keyfile, enf_errmsg());
		else
			ks->n = 1;
		free(text);
		return rc;
	}
	if ((rc = read_input(o->signers, SIGNERS_MAX, "allowed signers", ENF_FAIL, &text, &n)) != ENF_OK)
		return rc;
	rc = allowed_signers_find((char *)text, n, o->name, o->purpose, &ks->k, &ks->n);
	free(text);
	if (rc == ENF_FAIL)
		return enf_err(ENF_FAIL, "%s: %s", o->signers, enf_errmsg());
	return rc;
}

static void free_keys(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		pubkey_free(&ks->k[i]);
	free(ks->k);
}

/* The data's digest under alg: from --digest, or by streaming the file. */
static int data_digest(const struct opts *o, int alg, unsigned char *out)
{
	const char *path = o->data && !is_stdin(o->data) ? o->data : NULL;

	if (o->have_digest) {
		if (o->digest_alg != alg)
			return enf_err(ENF_NO, "the signature uses %s, --digest gives %s",
				       hash_name(alg), hash_name(o->digest_alg));
		memcpy(out, o->digest, hash_len(alg));
		return ENF_OK;
	}
	return hash_path(alg, path, out);
}

static int verify_sshsig(const struct opts *o, const struct keys *ks, const char *text, size_t n)
{
	struct sshsig s;
	unsigned char digest[HASH_MAX];
	const struct pubkey *signer = NULL;
	size_t used = 0;
	int rc;

	if ((rc = sshsig_parse_armored(&s, text, n, &used)) != ENF_OK)
		return rc;
	if (used != n) {
		sshsig_free(&s);
		return enf_err(ENF_NO, "signature: text after the SSH SIGNATURE block");
	}
	for (size_t i = 0; i < ks->n && !signer; i++)
		if (pubkey_equal(&ks->k[i], &s.key))
			signer = &ks->k[i];
	if (!signer)
		rc = enf_err(ENF_NO, "signature is by another key");
	else if ((rc = data_digest(o, s.hash_alg, digest)) == ENF_OK)
		rc = sshsig_verify_digest(&s, o->purpose, signer, digest);
	if (rc == ENF_OK && o->verbose) {
		char fp[FINGERPRINT_MAX];

		pubkey_fingerprint(signer, fp);
		enf_warn("good signature for purpose %s by %s key %s", o->purpose,
			 pubkey_ssh_type(signer), fp);
	}
	sshsig_free(&s);
	return rc;
}

/* A raw signature carries no purpose; only -A's namespaces="..." can tie
 * the key to one. */
static int verify_raw(const struct opts *o, const struct keys *ks, const unsigned char *sig, size_t n)
{
	unsigned char digest[HASH_MAX];
	int rc;

	if (o->keyfile && ks->k[0].type == KT_ED25519)
		return enf_err(ENF_USAGE, "--raw needs an ECDSA or RSA key, not Ed25519");
	if ((rc = data_digest(o, o->alg, digest)) != ENF_OK)
		return rc;
	for (size_t i = 0; i < ks->n; i++)
		if (ks->k[i].type != KT_ED25519 && pubkey_verify_raw(&ks->k[i], o->alg, digest, sig, n) == ENF_OK) {
			if (o->verbose) {
				char fp[FINGERPRINT_MAX];

				pubkey_fingerprint(&ks->k[i], fp);
				enf_warn("good raw %s signature by %s key %s", hash_name(o->alg),
					 pubkey_ssh_type(&ks->k[i]), fp);
			}
			return ENF_OK;
		}
	return enf_err(ENF_NO, "invalid signature");
}

static int run(const struct opts *o)
{
	struct keys ks = { NULL, 0 };
	unsigned char *sig = NULL;
	size_t n;
	int rc;

	if ((rc = load_keys(o, &ks)) == ENF_OK &&
	    (rc = read_input(o->sigfile, SIG_MAX, "signature", ENF_NO, &sig, &n)) == ENF_OK)
		rc = o->raw ? verify_raw(o, &ks, sig, n) : verify_sshsig(o, &ks, (char *)sig, n);
	free(sig);
	free_keys(&ks);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc;

	if (enf_start(argv[0]) != ENF_OK)
		return enf_report(ENF_FAIL);
	if ((rc = parse_opts(&o, argc, argv)) != ENF_OK) {
		enf_report(rc);
		usage(stderr);
		return rc;
	}
	if (crypto_init() != ENF_OK)
		return enf_report(ENF_FAIL);
	rc = run(&o);
	if (rc == ENF_NO) {
		const char *why = enf_errmsg();

		if (!*why || strcmp(why, "invalid signature") == 0)
			enf_warn("invalid signature");
		else
			enf_warn("invalid signature: %s", why);
		return rc;
	}
	return enf_report(rc);
}
