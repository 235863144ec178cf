/* Making and approving requests (request.h). */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "evaluate.h"
#include "io.h"
#include "keystore.h"
#include "request.h"
#include "sshkeygen.h"
#include "verify.h"

/* ssh-keygen's signature over msg[0..n) in namespace ns, appended to out. */
static int append_signature(const char *ssh_key, const char *ns, const char *msg, size_t n,
			    struct wbuf *out)
{
	struct wbuf sig;
	int rc;

	wbuf_init(&sig, 0);
	rc = sshkeygen_sign(ssh_key, ns, msg, n, &sig);
	if (rc == ENF_OK && wbuf_put(out, sig.p, sig.len) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	wbuf_free(&sig);
	return rc;
}

int request_make(const struct envelope *e, const char *ssh_key, struct wbuf *out)
{
	int rc = envelope_write_body(e, out);

	if (rc == ENF_OK && ssh_key)
		rc = append_signature(ssh_key, NS_REQUEST, (const char *)out->p, out->len, out);
	return rc;
}

int request_approve(const char *text, size_t n, const char *ssh_key, struct wbuf *out)
{
	struct envelope e, check;
	char why[256];
	int rc;

	if (envelope_parse(&e, text, n, 0, why, sizeof why) != ENF_OK)
		return enf_err(ENF_NO, "malformed request: %s", why);
	if (wbuf_put(out, text, n) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	else
		rc = append_signature(ssh_key, NS_APPROVE, e.body, e.bodylen, out);
	envelope_free(&e);
	/* What we write must itself be a request enf-sign can parse. */
	if (rc == ENF_OK && envelope_parse(&check, (const char *)out->p, out->len, 0, why,
					   sizeof why) != ENF_OK)
		return enf_err(ENF_FAIL, "approved request does not parse: %s", why);
	if (rc == ENF_OK)
		envelope_free(&check);
	return rc;
}

int request_file_read(const char *path, unsigned char **text, size_t *n)
{
	int rc = io_read_file(path, REQUEST_SIZE_MAX, text, n);

	if (rc == ENF_NO)
		return enf_err(ENF_NO, "%s: request larger than %d bytes",
			       path ? path : "-", REQUEST_SIZE_MAX);
	return rc;
}

int request_file_parse(const char *path, int unsigned_ok, struct envelope *e)
{
	unsigned char *text = NULL;
	char why[256];
	size_t n;
	int rc;

	if ((rc = request_file_read(path, &text, &n)) != ENF_OK)
		return rc;
	rc = envelope_parse(e, (const char *)text, n, unsigned_ok, why, sizeof why);
	free(text);
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_NO, "malformed request: %s", why);
}

/* The envelope carries sha256 or sha512 only. */
static int parse_digest_opt(const char *s, int *alg, unsigned char *digest)
{
	int rc = digest_arg_parse(s, alg, digest);

	if (rc == ENF_OK && *alg != HASH_SHA256 && *alg != HASH_SHA512)
		rc = enf_err(ENF_USAGE, "--digest: algorithm must be sha256 or sha512");
	return rc;
}

static int copy_names(const struct request_args *a, struct envelope *e)
{
	if (!a->key || !a->identity || !a->purpose || !a->scope || !a->rule)
		return enf_err(ENF_USAGE, "-k, -i, -p, -s and -r are all required");
	if (strlen(a->key) > ENF_NAME_MAX || strlen(a->identity) > ENF_NAME_MAX ||
	    strlen(a->purpose) > ENF_NAME_MAX || strlen(a->rule) > ENF_NAME_MAX ||
	    strlen(a->scope) > SCOPE_MAX)
		return enf_err(ENF_USAGE, "a name is longer than %d characters", ENF_NAME_MAX);
	strcpy(e->key, a->key);
	strcpy(e->identity, a->identity);
	strcpy(e->purpose, a->purpose);
	strcpy(e->scope, a->scope);
	strcpy(e->rule, a->rule);
	return ENF_OK;
}

int request_fields(const struct request_args *a, struct envelope *e)
{
	struct data_ref d = { .path = a->data, .digest_alg = -1 };
	int h = -1, rc;

	if ((rc = copy_names(a, e)) != ENF_OK)
		return rc;
	if ((e->format = a->format ? format_parse(a->format) : FMT_SSHSIG) < 0)
		return enf_err(ENF_USAGE, "-f: format must be sshsig or raw");
	if (a->hash && (h = hash_parse(a->hash)) != HASH_SHA256 && h != HASH_SHA512)
		return enf_err(ENF_USAGE, "-a: hash must be sha256 or sha512");
	if (a->digest && parse_digest_opt(a->digest, &d.digest_alg, d.digest) != ENF_OK)
		return ENF_USAGE;
	if ((rc = data_ref_hash(&d, h, HASH_SHA512, &e->digest_alg)) != ENF_OK)
		return rc;
	return data_ref_digest(&d, e->digest_alg, e->digest);
}

static int policy_from_file(const char *file, struct policy **pol, char *where, size_t n)
{
	unsigned char *text = NULL;
	size_t len;
	int rc;

	if ((rc = io_read_file(file, POLICY_SIZE_MAX, &text, &len)) == ENF_NO)
		return enf_err(ENF_NO, "%s: larger than any policy", file);
	if (rc != ENF_OK)
		return rc;
	rc = policy_parse((char *)text, len, file, stderr, pol);
	free(text);
	if (rc != ENF_OK)
		return enf_err(rc, "%s: not a valid policy", file);
	snprintf(where, n, "file %s", file);
	return ENF_OK;
}

int request_policy(const char *policy_file, const char *home, struct policy **pol, char *where,
		   size_t n)
{
	struct keystore *ks = NULL;
	struct evaluation ev;
	int rc;

	if (policy_file)
		return policy_from_file(policy_file, pol, where, n);
	if ((rc = ks_open_home(home, &ks)) != ENF_OK)
		return rc;
	rc = evaluation_policy_load(ks, &ev);
	if (rc == ENF_OK && ev.policy_status == POLICY_NONE)
		rc = enf_err(ENF_FAIL, "%s: no policy is installed (or give --policy FILE)",
			     ks_home(ks));
	else if (rc == ENF_OK && ev.policy_status != POLICY_OK)
		rc = enf_err(ENF_NO, "%s: the installed policy does not match the digest recorded "
			     "at install", ks_home(ks));
	if (rc == ENF_OK) {
		snprintf(where, n, "installed in %s", ks_home(ks));
		*pol = ev.pol;
		ev.pol = NULL;
	}
	evaluation_free(&ev);
	ks_close(ks);
	return rc;
}

int request_digest_check(const struct envelope *e, const char *data, const char *digest,
			 char *note, size_t n)
{
	unsigned char d[HASH_MAX];
	int alg = e->digest_alg, rc;

	if (data && digest)
		return enf_err(ENF_USAGE, "--data and --digest exclude each other");
	if (!data && !digest) {
		snprintf(note, n, "(not checked: give --data FILE or --digest ALG:HEX)");
		return ENF_OK;
	}
	if (data && (rc = hash_path(alg, data, d)) != ENF_OK)
		return rc;
	if (digest && digest_arg_parse(digest, &alg, d) != ENF_OK)
		return ENF_USAGE;
	if (alg != e->digest_alg)
		return enf_err(ENF_NO, "--digest is %s but the request's digest is %s",
			       hash_name(alg), hash_name(e->digest_alg));
	if (!ct_equal(d, e->digest, hash_len(alg)))
		return enf_err(ENF_NO, "the request's digest does not match %s",
			       data ? data : "--digest");
	snprintf(note, n, "(matches %s)", data ? data : "--digest");
	return ENF_OK;
}
