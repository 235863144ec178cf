/* PKCS#11 client: see p11.h.  This first commit only fixes the API so that
 * the token branch can build against it; every function refuses. */
#include "p11.h"
#include "enf.h"

int p11_open(const char *module, const char *label, const char *serial,
	     unsigned timeout_ms, struct p11 **out)
{
	(void)label; (void)serial; (void)timeout_ms;
	*out = NULL;
	return enf_err(ENF_FAIL, "cannot load PKCS#11 module %s: not built yet", module);
}

void p11_close(struct p11 *t) { (void)t; }

int p11_info(const struct p11 *t, struct p11_token_info *out)
{
	(void)t; (void)out;
	return enf_err(ENF_FAIL, "PKCS#11 not built yet");
}

int p11_login(struct p11 *t, const struct secret *pin)
{
	(void)t; (void)pin;
	return enf_err(ENF_FAIL, "PKCS#11 not built yet");
}

int p11_generate(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
		 const char *label, struct pubkey *pub)
{
	(void)t; (void)alg; (void)id; (void)idlen; (void)label; (void)pub;
	return enf_err(ENF_FAIL, "PKCS#11 not built yet");
}

int p11_find(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
	     unsigned long *handle, struct pubkey *pub)
{
	(void)t; (void)alg; (void)id; (void)idlen; (void)handle; (void)pub;
	return enf_err(ENF_FAIL, "PKCS#11 not built yet");
}

int p11_sign(struct p11 *t, unsigned long handle, int alg, const unsigned char *msg,
	     size_t n, struct wbuf *sig)
{
	(void)t; (void)handle; (void)alg; (void)msg; (void)n; (void)sig;
	return enf_err(ENF_FAIL, "PKCS#11 not built yet");
}

int p11_destroy(struct p11 *t, const unsigned char *id, size_t idlen)
{
	(void)t; (void)id; (void)idlen;
	return enf_err(ENF_FAIL, "PKCS#11 not built yet");
}
