/* The TPM libraries, loaded when first called (linked into enf-sign and
 * enf-seal instead of -ltss2-*; Makefile, LAZY_TSS2).
 *
 * Why: those two are the agent's clients, and a client holds no secret and
 * never unlocks, yet linking the TSS pulls in libtss2-esys and with it
 * OpenSSL's libcrypto, whose loading and relocation were 1.4 ms of the
 * 2.6 ms a client spent before main (bench/agent.sh's target is a whole
 * client process below ssh-keygen -Y sign).  In process, an unlock of a
 * TPM-bound instance calls into the TSS as before; the first call loads
 * the libraries by their sonames, as the dynamic linker would have.
 *
 * Each function has the TSS's own prototype (the headers are included, so
 * the compiler checks it) and forwards to the real one.  When a library
 * cannot be loaded, the call fails with the layer's NOT_IMPLEMENTED code,
 * and Tss2_RC_Decode says why: lib/tpm.c reports it as any TSS failure. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

static char why[256];

static void *sym(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL), *f = h ? dlsym(h, name) : NULL;

	/* A handle already open is only counted again: loading is once. */
	if (!f)
		snprintf(why, sizeof why, "the TPM library %s cannot be loaded (%s)", lib,
			 dlerror());
	return f;
}

/* name's definition: look the real one up once, then forward to it. */
#define LAZY(lib, ret, name, params, args, fail)				\
	ret name params								\
	{									\
		static ret (*real) params;					\
		if (!real && !(real = (ret (*) params)sym(lib, #name)))		\
			return fail;						\
		return real args;						\
	}

#define ESYS "libtss2-esys.so.0"
#define ESYS_FAIL TSS2_ESYS_RC_NOT_IMPLEMENTED

LAZY(ESYS, TSS2_RC, Esys_Initialize,
     (ESYS_CONTEXT **c, TSS2_TCTI_CONTEXT *t, TSS2_ABI_VERSION *v), (c, t, v), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_FlushContext, (ESYS_CONTEXT *c, ESYS_TR h), (c, h), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_TR_GetName, (ESYS_CONTEXT *c, ESYS_TR h, TPM2B_NAME **n), (c, h, n),
     ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_TRSess_SetAttributes,
     (ESYS_CONTEXT *c, ESYS_TR s, TPMA_SESSION f, TPMA_SESSION m), (c, s, f, m), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_CreatePrimary,
     (ESYS_CONTEXT *c, ESYS_TR ph, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
      const TPM2B_SENSITIVE_CREATE *is, const TPM2B_PUBLIC *ip, const TPM2B_DATA *oi,
      const TPML_PCR_SELECTION *cp, ESYS_TR *oh, TPM2B_PUBLIC **op, TPM2B_CREATION_DATA **cd,
      TPM2B_DIGEST **ch, TPMT_TK_CREATION **ct),
     (c, ph, s1, s2, s3, is, ip, oi, cp, oh, op, cd, ch, ct), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_Create,
     (ESYS_CONTEXT *c, ESYS_TR ph, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
      const TPM2B_SENSITIVE_CREATE *is, const TPM2B_PUBLIC *ip, const TPM2B_DATA *oi,
      const TPML_PCR_SELECTION *cp, TPM2B_PRIVATE **opriv, TPM2B_PUBLIC **opub,
      TPM2B_CREATION_DATA **cd, TPM2B_DIGEST **ch, TPMT_TK_CREATION **ct),
     (c, ph, s1, s2, s3, is, ip, oi, cp, opriv, opub, cd, ch, ct), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_Load,
     (ESYS_CONTEXT *c, ESYS_TR ph, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
      const TPM2B_PRIVATE *ipriv, const TPM2B_PUBLIC *ipub, ESYS_TR *oh),
     (c, ph, s1, s2, s3, ipriv, ipub, oh), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_StartAuthSession,
     (ESYS_CONTEXT *c, ESYS_TR tk, ESYS_TR b, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
      const TPM2B_NONCE *nc, TPM2_SE st, const TPMT_SYM_DEF *sym_, TPMI_ALG_HASH ah,
      ESYS_TR *sh),
     (c, tk, b, s1, s2, s3, nc, st, sym_, ah, sh), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_PolicyPCR,
     (ESYS_CONTEXT *c, ESYS_TR ps, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3, const TPM2B_DIGEST *d,
      const TPML_PCR_SELECTION *p),
     (c, ps, s1, s2, s3, d, p), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_PolicyGetDigest,
     (ESYS_CONTEXT *c, ESYS_TR ps, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3, TPM2B_DIGEST **d),
     (c, ps, s1, s2, s3, d), ESYS_FAIL)
LAZY(ESYS, TSS2_RC, Esys_Unseal,
     (ESYS_CONTEXT *c, ESYS_TR ih, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3, TPM2B_SENSITIVE_DATA **o),
     (c, ih, s1, s2, s3, o), ESYS_FAIL)

/* Nothing to finalize or free from a library that never loaded. */
void Esys_Finalize(ESYS_CONTEXT **c)
{
	static void (*real)(ESYS_CONTEXT **);

	if (real || (real = (void (*)(ESYS_CONTEXT **))sym(ESYS, "Esys_Finalize")))
		real(c);
}

void Esys_Free(void *p)
{
	static void (*real)(void *);

	if (real || (real = (void (*)(void *))sym(ESYS, "Esys_Free")))
		real(p);
}

#define TCTILDR "libtss2-tctildr.so.0"
LAZY(TCTILDR, TSS2_RC, Tss2_TctiLdr_Initialize, (const char *nc, TSS2_TCTI_CONTEXT **c), (nc, c),
     TSS2_TCTI_RC_NOT_IMPLEMENTED)

void Tss2_TctiLdr_Finalize(TSS2_TCTI_CONTEXT **c)
{
	static void (*real)(TSS2_TCTI_CONTEXT **);

	if (real || (real = (void (*)(TSS2_TCTI_CONTEXT **))sym(TCTILDR, "Tss2_TctiLdr_Finalize")))
		real(c);
}

#define MU "libtss2-mu.so.0"
#define MU_FAIL TSS2_MU_RC_BAD_REFERENCE
LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PUBLIC_Marshal,
     (TPM2B_PUBLIC const *s, uint8_t b[], size_t n, size_t *o), (s, b, n, o), MU_FAIL)
LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PRIVATE_Marshal,
     (TPM2B_PRIVATE const *s, uint8_t b[], size_t n, size_t *o), (s, b, n, o), MU_FAIL)
LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PUBLIC_Unmarshal,
     (uint8_t const b[], size_t n, size_t *o, TPM2B_PUBLIC *d), (b, n, o, d), MU_FAIL)
LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PRIVATE_Unmarshal,
     (uint8_t const b[], size_t n, size_t *o, TPM2B_PRIVATE *d), (b, n, o, d), MU_FAIL)

/* The reason a library did not load comes first: it is why every call failed. */
const char *Tss2_RC_Decode(TSS2_RC rc)
{
	static const char *(*real)(TSS2_RC);

	if (why[0])
		return why;
	if (!real && !(real = (const char *(*)(TSS2_RC))sym("libtss2-rc.so.0", "Tss2_RC_Decode")))
		return why;
	return real(rc);
}
