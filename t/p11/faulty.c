/* A PKCS#11 module for fault tests: it loads the real module named by
 * ENF_P11_REAL, passes every call through, and breaks the calls that
 * ENF_P11_FAULT names (a comma-separated list):
 *
 *   hang-sign    C_Sign never returns
 *   hang-init    C_Initialize never returns
 *   slow-sign    C_Sign returns after 1 s (a module that answers after the
 *                caller's deadline), with a good signature
 *   sign-fails   C_Sign returns CKR_DEVICE_ERROR
 *   short-sig    the signature is one byte short
 *   long-sig     the signature is one byte too long
 *   bad-sig      the signature has the right length and one flipped bit
 *   no-token     C_GetSlotList reports no slot with a token
 *   pin-locked   C_Login returns CKR_PIN_LOCKED
 *   no-sign-fn   the function list has no C_Sign (NULL)
 *
 * Built as $(BUILD)/t/p11/libfaulty.so (see the Makefile), without the
 * sanitizers, so that any program can load it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST list;
static CK_FUNCTION_LIST_PTR real;

static int fault(const char *name)
{
	const char *f = getenv("ENF_P11_FAULT");
	size_t n = strlen(name);

	for (; f && *f; f += strcspn(f, ",") + (f[strcspn(f, ",")] == ',')) {
		if (strncmp(f, name, n) == 0 && (f[n] == ',' || f[n] == '\0'))
			return 1;
	}
	return 0;
}

static void forever(void)
{
	for (;;)
		sleep(3600);
}

static CK_RV hang_initialize(CK_VOID_PTR args)
{
	(void)args;
	forever();
	return CKR_GENERAL_ERROR;
}

static CK_RV faulty_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG n,
			 CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	CK_ULONG cap = siglen ? *siglen : 0;
	CK_RV rv;

	if (fault("hang-sign"))
		forever();
	if (fault("slow-sign"))
		sleep(1);
	if (fault("sign-fails"))
		return CKR_DEVICE_ERROR;
	rv = real->C_Sign(s, data, n, sig, siglen);
	if (rv != CKR_OK || !sig || !siglen || *siglen == 0)
		return rv;
	if (fault("short-sig"))
		(*siglen)--;
	if (fault("long-sig") && *siglen < cap)
		sig[(*siglen)++] = 0;
	if (fault("bad-sig"))
		sig[*siglen / 2] ^= 0x01;
	return rv;
}

static CK_RV no_slots(CK_BBOOL present, CK_SLOT_ID_PTR slots, CK_ULONG_PTR n)
{
	(void)present;
	(void)slots;
	*n = 0;
	return CKR_OK;
}

static CK_RV pin_locked(CK_SESSION_HANDLE s, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG n)
{
	(void)s;
	(void)who;
	(void)pin;
	(void)n;
	return CKR_PIN_LOCKED;
}

/* ENF_P11_LOGINS=FILE: one line per C_Login, so that a test can count
 * the attempts (a wrong PIN must be tried once, never again). */
static CK_RV counted_login(CK_SESSION_HANDLE s, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG n)
{
	const char *path = getenv("ENF_P11_LOGINS");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fputs("C_Login\n", f);
		fclose(f);
	}
	return real->C_Login(s, who, pin, n);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	const char *path = getenv("ENF_P11_REAL");
	CK_C_GetFunctionList get;
	void *dl;
	CK_RV rv;

	if (!path || !(dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
		return CKR_GENERAL_ERROR;
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (!get || (rv = get(&real)) != CKR_OK)
		return CKR_GENERAL_ERROR;
	list = *real;
	if (fault("hang-init"))
		list.C_Initialize = hang_initialize;
	list.C_Sign = faulty_sign;
	if (fault("no-token"))
		list.C_GetSlotList = no_slots;
	if (getenv("ENF_P11_LOGINS"))
		list.C_Login = counted_login;
	if (fault("pin-locked"))
		list.C_Login = pin_locked;
	if (fault("no-sign-fn"))
		list.C_Sign = NULL;
	*out = &list;
	return CKR_OK;
}
