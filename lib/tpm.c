/* The TPM binding of an instance, over the TSS2 ESAPI (tpm.h).
 *
 * The keystore's "tpm" record (SSH wire format):
 *
 *   uint32  1
 *   uint32  PCR mask (bit i: PCR i of the SHA-256 bank; 0: no PCR policy)
 *   string  salt (16 bytes)
 *   string  parent check: HMAC-SHA256(salt, "enf-tpm-parent 1\0" || SRK name)
 *   string  secret check: HMAC-SHA256(secret, "enf-tpm-check 1" || instance id || mask)
 *   string  TPM2B_PUBLIC of the sealed object (TPM marshalling)
 *   string  TPM2B_PRIVATE of the sealed object
 *
 * The parent check tells "another TPM" (or a cleared one) from a damaged
 * record before anything is loaded; salted, so that two homes on one
 * machine cannot be linked by it.  The secret check tells a record swapped
 * in from another instance on this TPM from a wrong passphrase, so that
 * neither is counted as a guess.
 *
 * One unlock is: CreatePrimary (the SRK), StartAuthSession (salted to the
 * SRK), [PolicyPCR], Load, Unseal, and the flushes.
 *
 * The secret is wiped wherever enf holds it; the TSS decrypts the Unseal
 * response in its own buffer, which it frees unwiped at Esys_Finalize, so
 * a copy may remain in this process's freed heap until it exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include "crypto.h"
#include "enf.h"
#include "tpm.h"

#define RECORD_VERSION 1
#define SALT_LEN 16
#define DEFAULT_TCTI "device:/dev/tpmrm0"

struct tpm_root {
	unsigned char secret[TPM_SECRET_LEN];
};

/* One connection and the handles it holds; all flushed by tpm_close. */
struct tpm {
	const char *conf;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR srk, obj, session;
	uint32_t pcrs;		/* the object's PCR policy, for messages */
	const char *context;	/* why enf needs the TPM, for messages */
	const char *reason;
};

/* The record, parsed. */
struct record {
	uint32_t mask;
	const unsigned char *salt, *parent, *check;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
};

/* ---- configuration ---- */

const char *tpm_tcti(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	if ((env = getenv("TSS2_TCTI")) && *env)
		return env;
	if ((env = getenv("TPM2TOOLS_TCTI")) && *env)
		return env;
	return DEFAULT_TCTI;
}

int tpm_parse_pcrs(const char *list, uint32_t *mask)
{
	const char *p = list;
	char *end;
	unsigned long v;

	*mask = 0;
	for (;;) {
		if (*p < '0' || *p > '9')
			return -1;
		v = strtoul(p, &end, 10);
		if (v > TPM_PCR_MAX)
			return -1;
		*mask |= 1u << v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		p = end + 1;
	}
}

/* "0,2,7" */
static void pcr_list(uint32_t mask, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i <= TPM_PCR_MAX && len < n; i++)
		if (mask & (1u << i))
			len += (size_t)snprintf(out + len, n - len, "%s%d", len ? "," : "", i);
}

static TPML_PCR_SELECTION pcr_selection(uint32_t mask)
{
	TPML_PCR_SELECTION sel = { .count = 1 };

	sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel.pcrSelections[0].sizeofSelect = 3;
	sel.pcrSelections[0].pcrSelect[0] = mask & 0xff;
	sel.pcrSelections[0].pcrSelect[1] = (mask >> 8) & 0xff;
	sel.pcrSelections[0].pcrSelect[2] = (mask >> 16) & 0xff;
	return sel;
}

/* ---- errors ---- */

static int is_fmt1(TSS2_RC rc, TSS2_RC code)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) &&
	       (rc & (TPM2_RC_FMT1 | 0x3f)) == code;
}

/* The TPM could not be talked to at all (as opposed to refusing). */
static int is_transport(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, base = rc & 0xffff;

	return layer == TSS2_TCTI_RC_LAYER ||
	       (layer != TSS2_TPM_RC_LAYER && (base == TSS2_BASE_RC_IO_ERROR ||
					       base == TSS2_BASE_RC_NO_CONNECTION ||
					       base == TSS2_BASE_RC_TRY_AGAIN ||
					       base == TSS2_BASE_RC_MALFORMED_RESPONSE ||
					       base == TSS2_BASE_RC_INSUFFICIENT_RESPONSE));
}

/* Names the failure of `what` for the caller and the audit log. */
static int fail(struct tpm *t, const char *what, TSS2_RC rc)
{
	if (is_transport(rc)) {
		t->reason = "tpm-unavailable";
		return enf_err(ENF_FAIL, "cannot reach the TPM through TCTI '%s' (%s: %s)%s",
			       t->conf, what, Tss2_RC_Decode(rc), t->context);
	}
	if (rc == TPM2_RC_LOCKOUT) {
		t->reason = "tpm-lockout";
		return enf_err(ENF_FAIL, "the TPM is in dictionary-attack lockout (%s); enf does not "
			       "retry: its owner clears it (tpm2_dictionarylockout -c)", what);
	}
	if (is_fmt1(rc, TPM2_RC_POLICY_FAIL) || rc == TPM2_RC_PCR_CHANGED) {
		char list[3 * (TPM_PCR_MAX + 1)];
		pcr_list(t->pcrs, list, sizeof list);
		t->reason = "tpm-pcr";
		return enf_err(ENF_FAIL, "the TPM refuses to release this instance's key: PCR %s "
			       "no longer holds the value it had at init", list);
	}
	t->reason = "tpm-error";
	return enf_err(ENF_FAIL, "the TPM refused %s: %s", what, Tss2_RC_Decode(rc));
}

/* ---- connection ---- */

static void tpm_close(struct tpm *t)
{
	ESYS_TR *h[] = { &t->session, &t->obj, &t->srk };

	for (size_t i = 0; t->esys && i < sizeof h / sizeof *h; i++)
		if (*h[i] != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, *h[i]);
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
}

static int tpm_connect(struct tpm *t, const char *conf, const char *context)
{
	TSS2_RC rc;

	memset(t, 0, sizeof *t);
	t->conf = conf;
	t->context = context;
	t->srk = t->obj = t->session = ESYS_TR_NONE;
	/* The TSS logs to stderr in its own format; enf reports for itself.
	 * A TSS2_LOG set by the user (to debug) is left alone. */
	setenv("TSS2_LOG", "all+NONE", 0);
	if ((rc = Tss2_TctiLdr_Initialize(conf, &t->tcti)) != TSS2_RC_SUCCESS) {
		t->tcti = NULL;
		t->reason = "tpm-unavailable";
		return enf_err(ENF_FAIL, "cannot reach the TPM through TCTI '%s' (%s)%s", conf,
			       Tss2_RC_Decode(rc), t->context);
	}
	if ((rc = Esys_Initialize(&t->esys, t->tcti, NULL)) != TSS2_RC_SUCCESS) {
		t->esys = NULL;
		return fail(t, "initialisation", rc);
	}
	return ENF_OK;
}

/* The storage root key from the TCG provisioning template (ECC P-256,
 * AES-128-CFB, no DA): the same key at every call on one TPM until the
 * owner's seed changes (TPM2_Clear). */
static int create_srk(struct tpm *t)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_PUBLIC tmpl = { .publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				       .mode.aes = TPM2_ALG_CFB },
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = TPM2_ECC_NIST_P256,
			.kdf.scheme = TPM2_ALG_NULL,
		},
		.unique.ecc = { .x.size = 32, .y.size = 32 },
	} };
	TSS2_RC rc;

	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &t->srk, NULL, NULL,
				NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		return fail(t, "to create its storage root key", rc);
	}
	return ENF_OK;
}

static int parent_check(struct tpm *t, const unsigned char salt[SALT_LEN], unsigned char out[32])
{
	static const char label[] = "enf-tpm-parent 1";
	TPM2B_NAME *name = NULL;
	unsigned char msg[sizeof label + sizeof name->name];
	TSS2_RC rc;

	if ((rc = Esys_TR_GetName(t->esys, t->srk, &name)) != TSS2_RC_SUCCESS)
		return fail(t, "the storage root key's name", rc);
	memcpy(msg, label, sizeof label);
	memcpy(msg + sizeof label, name->name, name->size);
	rc = hmac_sha256(salt, SALT_LEN, msg, sizeof label + name->size, out);
	Esys_Free(name);
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "cannot hash the storage root key");
}

static int secret_check(const unsigned char secret[TPM_SECRET_LEN], const char *instance_id,
			uint32_t mask, unsigned char out[32])
{
	struct wbuf m;
	int rc;

	wbuf_init(&m, 0);
	wbuf_cstring(&m, "enf-tpm-check 1");
	wbuf_cstring(&m, instance_id);
	wbuf_u32(&m, mask);
	rc = m.failed ? ENF_FAIL : hmac_sha256(secret, TPM_SECRET_LEN, m.p, m.len, out);
	wbuf_free(&m);
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "out of memory");
}

/* A session salted to the SRK, so that its key is unknown to whoever
 * watches the bus; attrs says which parameters it encrypts. */
static int start_session(struct tpm *t, TPM2_SE type, TPMA_SESSION attrs)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, type, &sym, TPM2_ALG_SHA256, &t->session);
	if (rc != TSS2_RC_SUCCESS) {
		t->session = ESYS_TR_NONE;
		return fail(t, "a session", rc);
	}
	rc = Esys_TRSess_SetAttributes(t->esys, t->session,
				       attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
	return rc == TSS2_RC_SUCCESS ? ENF_OK : fail(t, "session attributes", rc);
}

/* The policy of the PCRs in mask at their current values (a trial). */
static int pcr_policy(struct tpm *t, uint32_t mask, TPM2B_DIGEST *out)
{
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel = pcr_selection(mask);
	TPM2B_DIGEST current = { 0 }, *d = NULL;
	ESYS_TR trial = ESYS_TR_NONE;
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, &trial);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_PolicyPCR(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    &current, &sel);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_PolicyGetDigest(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
	if (trial != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, trial);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "a PCR policy", rc);
	*out = *d;
	Esys_Free(d);
	return ENF_OK;
}

/* Load the object and unseal it, through one encrypting session. */
static int unseal(struct tpm *t, const struct record *r, unsigned char secret[TPM_SECRET_LEN])
{
	TPML_PCR_SELECTION sel = pcr_selection(r->mask);
	TPM2B_DIGEST current = { 0 };
	TPM2B_SENSITIVE_DATA *out = NULL;
	TSS2_RC rc;
	int ok;

	t->pcrs = r->mask;
	rc = Esys_Load(t->esys, t->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &r->priv,
		       &r->pub, &t->obj);
	if (rc != TSS2_RC_SUCCESS) {
		t->obj = ESYS_TR_NONE;
		if (is_transport(rc) || rc == TPM2_RC_LOCKOUT)
			return fail(t, "to load this instance's object", rc);
		t->reason = "tpm-object";
		return enf_err(ENF_NO, "the TPM object in the keystore does not load on its TPM: "
			       "it was replaced or damaged (%s)", Tss2_RC_Decode(rc));
	}
	if (start_session(t, r->mask ? TPM2_SE_POLICY : TPM2_SE_HMAC, TPMA_SESSION_ENCRYPT) !=
	    ENF_OK)
		return ENF_FAIL;
	if (r->mask && (rc = Esys_PolicyPCR(t->esys, t->session, ESYS_TR_NONE, ESYS_TR_NONE,
					    ESYS_TR_NONE, &current, &sel)) != TSS2_RC_SUCCESS)
		return fail(t, "the PCR policy", rc);
	rc = Esys_Unseal(t->esys, t->obj, t->session, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "to unseal this instance's key", rc);
	ok = out->size == TPM_SECRET_LEN;
	if (ok)
		memcpy(secret, out->buffer, TPM_SECRET_LEN);
	wipe(out, sizeof *out);
	Esys_Free(out);
	if (!ok) {
		t->reason = "tpm-object";
		return enf_err(ENF_NO, "the TPM object in the keystore is not an enf instance key");
	}
	return ENF_OK;
}

/* ---- the record ---- */

static int record_encode(const struct record *r, struct wbuf *out)
{
	uint8_t pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)];
	size_t npub = 0, npriv = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&r->pub, pub, sizeof pub, &npub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(&r->priv, priv, sizeof priv, &npriv) != TSS2_RC_SUCCESS)
		return enf_err(ENF_FAIL, "cannot encode the TPM object");
	wbuf_u32(out, RECORD_VERSION);
	wbuf_u32(out, r->mask);
	wbuf_string(out, r->salt, SALT_LEN);
	wbuf_string(out, r->parent, 32);
	wbuf_string(out, r->check, 32);
	wbuf_string(out, pub, npub);
	wbuf_string(out, priv, npriv);
	return out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

static int record_decode(const unsigned char *p, size_t n, struct record *r)
{
	struct rbuf b;
	uint32_t version;
	const unsigned char *pub, *priv;
	size_t npub, npriv, off1 = 0, off2 = 0;

	memset(r, 0, sizeof *r);
	rbuf_init(&b, p, n);
	if (rbuf_u32(&b, &version) < 0 || version != RECORD_VERSION || rbuf_u32(&b, &r->mask) < 0 ||
	    r->mask >> (TPM_PCR_MAX + 1) || rbuf_fixed_string(&b, SALT_LEN, &r->salt) < 0 ||
	    rbuf_fixed_string(&b, 32, &r->parent) < 0 || rbuf_fixed_string(&b, 32, &r->check) < 0 ||
	    rbuf_string(&b, &pub, &npub) < 0 || rbuf_string(&b, &priv, &npriv) < 0 ||
	    !rbuf_done(&b) ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, npub, &off1, &r->pub) != TSS2_RC_SUCCESS ||
	    off1 != npub ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(priv, npriv, &off2, &r->priv) != TSS2_RC_SUCCESS ||
	    off2 != npriv)
		return -1;
	return 0;
}

/* The sealed data object: fixed to this TPM and parent, no DA (its
 * authorisation is empty or a PCR policy: nothing to guess), and with a
 * PCR policy, no password authorisation at all. */
static TPM2B_PUBLIC sealed_template(uint32_t mask, const TPM2B_DIGEST *policy)
{
	TPM2B_PUBLIC pub = { .publicArea = {
		.type = TPM2_ALG_KEYEDHASH,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA,
		.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
	} };

	if (mask)
		pub.publicArea.authPolicy = *policy;
	else
		pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	return pub;
}

static int create_sealed(struct tpm *t, const struct tpm_root *root, uint32_t mask,
			 struct record *r)
{
	TPM2B_SENSITIVE_CREATE sens = { .sensitive.data.size = TPM_SECRET_LEN };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_DIGEST policy = { 0 };
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TSS2_RC rc;

	if (mask && pcr_policy(t, mask, &policy) != ENF_OK)
		return ENF_FAIL;
	tmpl = sealed_template(mask, &policy);
	/* The secret is Create's first parameter: the session encrypts it. */
	if (start_session(t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT) != ENF_OK)
		return ENF_FAIL;
	memcpy(sens.sensitive.data.buffer, root->secret, TPM_SECRET_LEN);
	rc = Esys_Create(t->esys, t->srk, t->session, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
			 &outside, &none, &priv, &pub, NULL, NULL, NULL);
	wipe(&sens, sizeof sens);
	Esys_FlushContext(t->esys, t->session);
	t->session = ESYS_TR_NONE;
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "to create this instance's object", rc);
	r->pub = *pub;
	r->priv = *priv;
	Esys_Free(pub);
	Esys_Free(priv);
	return ENF_OK;
}

/* ---- the two operations ---- */

static struct tpm_root *root_new(void)
{
	struct tpm_root *root = secure_alloc(sizeof *root);

	if (!root)
		enf_err(ENF_FAIL, "out of secure memory");
	return root;
}

int tpm_bind(const char *tcti, uint32_t pcr_mask, const char *instance_id,
	     struct tpm_root **root, struct wbuf *rec)
{
	unsigned char salt[SALT_LEN], parent[32], check[32], again[TPM_SECRET_LEN];
	struct record r = { .mask = pcr_mask, .salt = salt, .parent = parent, .check = check };
	struct tpm t;
	int rc;

	*root = NULL;
	if (!(*root = root_new()))
		return ENF_FAIL;
	random_key((*root)->secret, TPM_SECRET_LEN);
	random_nonce(salt, sizeof salt);
	rc = tpm_connect(&t, tcti, "");
	if (rc == ENF_OK && (rc = create_srk(&t)) == ENF_OK &&
	    (rc = parent_check(&t, salt, parent)) == ENF_OK &&
	    (rc = create_sealed(&t, *root, pcr_mask, &r)) == ENF_OK &&
	    (rc = secret_check((*root)->secret, instance_id, pcr_mask, check)) == ENF_OK)
		/* Proves the object opens before the keystore depends on it. */
		rc = unseal(&t, &r, again);
	if (rc == ENF_OK && !ct_equal(again, (*root)->secret, TPM_SECRET_LEN))
		rc = enf_err(ENF_FAIL, "the TPM returned another secret than it was given");
	wipe(again, sizeof again);
	tpm_close(&t);
	if (rc == ENF_OK)
		rc = record_encode(&r, rec);
	if (rc != ENF_OK) {
		tpm_root_free(*root);
		*root = NULL;
	}
	return rc;
}

/* Another TPM is told apart before anything is loaded; a record from
 * another instance is told apart after the unseal. */
static int unbind(struct tpm *t, const struct record *r, const char *instance_id,
		  unsigned char secret[TPM_SECRET_LEN])
{
	unsigned char parent[32], check[32];
	int rc;

	if ((rc = create_srk(t)) != ENF_OK || (rc = parent_check(t, r->salt, parent)) != ENF_OK)
		return rc;
	if (!ct_equal(parent, r->parent, 32)) {
		t->reason = "tpm-other";
		return enf_err(ENF_FAIL, "this instance is bound to another TPM: the TPM at '%s' is "
			       "not the one it was created on (a copied home, or a cleared TPM)",
			       t->conf);
	}
	if ((rc = unseal(t, r, secret)) != ENF_OK ||
	    (rc = secret_check(secret, instance_id, r->mask, check)) != ENF_OK)
		return rc;
	if (!ct_equal(check, r->check, 32)) {
		t->reason = "tpm-object";
		return enf_err(ENF_NO, "the TPM object in the keystore belongs to another instance");
	}
	return ENF_OK;
}

int tpm_unbind(const char *tcti, const unsigned char *rec, size_t n, const char *instance_id,
	       struct tpm_root **root, const char **reason)
{
	struct record r;
	struct tpm t;
	int rc;

	*root = NULL;
	*reason = "tpm-object";
	if (record_decode(rec, n, &r) < 0)
		return enf_err(ENF_NO, "the keystore's TPM record is corrupt");
	*reason = "tpm-error";
	if (!(*root = root_new()))
		return ENF_FAIL;
	if ((rc = tpm_connect(&t, tcti, "; this instance is bound to it")) == ENF_OK)
		rc = unbind(&t, &r, instance_id, (*root)->secret);
	if (rc != ENF_OK && t.reason)
		*reason = t.reason;
	tpm_close(&t);
	if (rc == ENF_OK) {
		*reason = NULL;
	} else {
		tpm_root_free(*root);
		*root = NULL;
	}
	return rc;
}

int tpm_root_mix(const struct tpm_root *root, unsigned char *kek, size_t n)
{
	static const char info[] = "enf-role-kek tpm 1";
	unsigned char *ikm;
	int rc;

	if (!root)
		return ENF_OK;
	if (!(ikm = secure_alloc(n + TPM_SECRET_LEN)))
		return enf_err(ENF_FAIL, "out of secure memory");
	memcpy(ikm, kek, n);
	memcpy(ikm + n, root->secret, TPM_SECRET_LEN);
	rc = hkdf_sha256(ikm, n + TPM_SECRET_LEN, NULL, 0, info, sizeof info - 1, kek, n);
	secure_free(ikm, n + TPM_SECRET_LEN);
	return rc;
}

void tpm_root_free(struct tpm_root *root)
{
	secure_free(root, sizeof *root);
}
