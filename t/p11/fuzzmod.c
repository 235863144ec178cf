/* A fake PKCS#11 module whose every answer is scripted by a fuzzer input
 * (t/fuzz/p11.c).  Each call reads one "op" byte from the script: 0 is the
 * answer of a well-behaved token holding one key pair (so that an empty
 * script signs), other values are hostile answers — counts larger than the
 * buffer, CK_UNAVAILABLE_INFORMATION, huge, zero or off-by-one lengths,
 * values taken from the script, CKR_BUFFER_TOO_SMALL and other return
 * codes.  Some ops read more script bytes (counts, lengths, values); an
 * exhausted script reads as zeros.
 *
 * The module lies about lengths but never writes past a buffer it was
 * given: p11.c cannot defend against that, and the fuzzer looks for what
 * p11.c does with the lengths it is told.  Its own state (initialised,
 * open sessions) is there for the target to check that p11_close undoes
 * what p11_open did.
 *
 * Built as $(FUZZ_BUILD)/p11mod.so with the sanitizers but without
 * coverage (its branches are not what the fuzzer should explore); the
 * target dlopen's the same path as p11_open, so both see one instance. */
#include <string.h>
#include <p11-kit/pkcs11.h>

void fuzzmod_script(const unsigned char *p, size_t n, int kind, int objects);
void fuzzmod_state(int *initialized, int *sessions);

enum { KIND_ED25519, KIND_RSA3072, KIND_RSA4096 };
#define H_PRIV 2	/* the handles of the well-behaved token's key pair */
#define H_PUB 3

static const unsigned char *sp;
static size_t sn;
static int kind, objects, initialized, sessions;
static int find_calls;
static CK_OBJECT_CLASS find_cls;

/* RFC 8032 test 1's public key: a valid point, as pubkey_from_blob wants. */
static const unsigned char ED_POINT[34] = { 0x04, 0x20,
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
	0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
	0xf7, 0x07, 0x51, 0x1a };
static const unsigned char ED_PARAMS[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };
static const unsigned char RSA_E[] = { 0x01, 0x00, 0x01 };

void fuzzmod_script(const unsigned char *p, size_t n, int k, int objs)
{
	sp = p;
	sn = n;
	kind = k;
	objects = objs;
	find_calls = 0;
}

void fuzzmod_state(int *init, int *sess)
{
	*init = initialized;
	*sess = sessions;
}

/* ---- Reading the script ---- */

static unsigned op(void)
{
	if (sn == 0)
		return 0;
	sn--;
	return *sp++;
}

static unsigned op16(void)
{
	unsigned hi = op();

	return hi << 8 | op();
}

/* Up to n script bytes into out; the rest of out is left as it is. */
static void take(void *out, size_t n)
{
	size_t k = n < sn ? n : sn;

	memcpy(out, sp, k);
	sp += k;
	sn -= k;
}

static CK_RV fail_rv(unsigned b)
{
	static const CK_RV rvs[] = { CKR_GENERAL_ERROR, CKR_DEVICE_ERROR, CKR_FUNCTION_FAILED,
		CKR_SESSION_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN, CKR_BUFFER_TOO_SMALL,
		CKR_CRYPTOKI_NOT_INITIALIZED, CKR_ARGUMENTS_BAD, CKR_OBJECT_HANDLE_INVALID,
		CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_KEY_HANDLE_INVALID,
		CKR_PIN_INCORRECT, CKR_OPERATION_ACTIVE, CKR_VENDOR_DEFINED | 7, CKR_OK };

	return rvs[b % (sizeof rvs / sizeof rvs[0])];
}

/* CKR_OK for op 0, else a return code the script picks. */
static CK_RV rv_op(void)
{
	unsigned b = op();

	return b == 0 ? CKR_OK : fail_rv(b);
}

static CK_ULONG huge(void)
{
	return op() & 1 ? (CK_ULONG)-2 : (CK_ULONG)1 << 31;
}

/* ---- Start and end ---- */

static CK_RV fm_initialize(CK_VOID_PTR args)
{
	unsigned b = op();

	(void)args;
	if (b == 1)	/* a lie: "already", though it is not */
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	if (b != 0)
		return fail_rv(b);
	if (initialized)
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	initialized = 1;
	return CKR_OK;
}

/* Always finalizes (the target checks that p11.c called it). */
static CK_RV fm_finalize(CK_VOID_PTR r)
{
	(void)r;
	initialized = 0;
	sessions = 0;
	return rv_op();
}

static CK_RV fm_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n)
{
	CK_ULONG cap = *n, c;
	unsigned char id;
	unsigned b = op();

	(void)present;
	switch (b) {
	case 0:		/* one slot with a token */
		if (list && cap >= 1)
			list[0] = 1;
		*n = 1;
		return list && cap < 1 ? CKR_BUFFER_TOO_SMALL : CKR_OK;
	case 1:		/* a count the script picks, ids too */
		c = op();
		for (CK_ULONG i = 0; list && i < c && i < cap; i++) {
			id = (unsigned char)op();
			list[i] = id;
		}
		*n = c;
		return CKR_OK;
	case 2:		/* a hostile count, nothing written */
		*n = huge();
		return CKR_OK;
	case 3:
		*n = op();
		return CKR_BUFFER_TOO_SMALL;
	case 4:
		*n = 0;
		return CKR_OK;
	default:
		return fail_rv(b);
	}
}

static void blank(CK_UTF8CHAR *p, size_t n, const char *s)
{
	size_t len = strlen(s);

	memset(p, ' ', n);
	memcpy(p, s, len < n ? len : n);
}

static CK_RV fm_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
	unsigned b = op();

	(void)slot;
	memset(ti, 0, sizeof *ti);
	blank(ti->label, sizeof ti->label, "enf-fuzz");
	blank(ti->manufacturerID, sizeof ti->manufacturerID, "enf");
	blank(ti->model, sizeof ti->model, "fuzz");
	blank(ti->serialNumber, sizeof ti->serialNumber, "0001");
	switch (b) {
	case 0:
		return CKR_OK;
	case 1:		/* every text field from the script: odd bytes, no blanks */
		take(ti->label, sizeof ti->label);
		take(ti->manufacturerID, sizeof ti->manufacturerID);
		take(ti->model, sizeof ti->model);
		take(ti->serialNumber, sizeof ti->serialNumber);
		return CKR_OK;
	case 2:
		take(ti->serialNumber, sizeof ti->serialNumber);
		return CKR_OK;
	default:
		return fail_rv(b);
	}
}

static CK_RV fm_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
			     CK_SESSION_HANDLE_PTR s)
{
	CK_RV rv = rv_op();

	(void)slot; (void)flags; (void)app; (void)notify;
	if (rv == CKR_OK) {
		sessions++;
		*s = 1;
	}
	return rv;
}

/* The session is gone whatever the answer says. */
static CK_RV fm_close_session(CK_SESSION_HANDLE s)
{
	(void)s;
	if (sessions > 0)
		sessions--;
	return rv_op();
}

static CK_RV fm_login(CK_SESSION_HANDLE s, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG n)
{
	unsigned b = op();

	(void)s; (void)who; (void)pin; (void)n;
	switch (b) {
	case 0: return CKR_OK;
	case 1: return CKR_USER_ALREADY_LOGGED_IN;
	case 2: return CKR_PIN_INCORRECT;
	case 3: return CKR_PIN_LOCKED;
	default: return fail_rv(b);
	}
}

static CK_RV fm_logout(CK_SESSION_HANDLE s)
{
	(void)s;
	return rv_op();
}

/* ---- Objects ---- */

static CK_RV fm_find_init(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	(void)s;
	find_calls = 0;
	find_cls = CKO_PRIVATE_KEY;
	for (CK_ULONG i = 0; i < n; i++)
		if (tmpl[i].type == CKA_CLASS && tmpl[i].ulValueLen == sizeof find_cls)
			memcpy(&find_cls, tmpl[i].pValue, sizeof find_cls);
	return rv_op();
}

static CK_RV fm_find(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR h, CK_ULONG max, CK_ULONG_PTR got)
{
	unsigned b = op();
	CK_ULONG c;

	(void)s;
	switch (b) {
	case 0:		/* the one object of the class, once */
		*got = objects && find_calls++ == 0 && max >= 1;
		if (*got)
			h[0] = find_cls == CKO_PUBLIC_KEY ? H_PUB : H_PRIV;
		return CKR_OK;
	case 1:		/* a count the script picks (perhaps more than max), handles too */
		c = op();
		for (CK_ULONG i = 0; i < c && i < max; i++)
			h[i] = op();
		*got = c;
		return CKR_OK;
	case 2:		/* a hostile count, max handles written */
		for (CK_ULONG i = 0; i < max; i++)
			h[i] = H_PRIV;
		*got = huge();
		return CKR_OK;
	case 3:
		*got = 0;
		return CKR_OK;
	default:
		return fail_rv(b);
	}
}

static CK_RV fm_find_final(CK_SESSION_HANDLE s)
{
	(void)s;
	return rv_op();
}

/* The well-behaved token's value of attribute type; 0 when it has none. */
static size_t good_value(CK_ATTRIBUTE_TYPE type, unsigned char *v, size_t cap)
{
	CK_ULONG kt = kind == KIND_ED25519 ? CKK_EC_EDWARDS : CKK_RSA;
	size_t nlen = kind == KIND_RSA4096 ? 512 : 384;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

	if (cap < 512)
		return 0;
	switch (type) {
	case CKA_KEY_TYPE:
		memcpy(v, &kt, sizeof kt);
		return sizeof kt;
	case CKA_PRIVATE: case CKA_SENSITIVE: case CKA_SIGN: case CKA_VERIFY:
		memcpy(v, &yes, 1);
		return 1;
	case CKA_EXTRACTABLE:
		memcpy(v, &no, 1);
		return 1;
	case CKA_EC_PARAMS:
		memcpy(v, ED_PARAMS, sizeof ED_PARAMS);
		return sizeof ED_PARAMS;
	case CKA_EC_POINT:
		memcpy(v, ED_POINT, sizeof ED_POINT);
		return sizeof ED_POINT;
	case CKA_MODULUS:		/* 2^bits - 1: odd, of exactly bits bits */
		memset(v, 0xff, nlen);
		return nlen;
	case CKA_PUBLIC_EXPONENT:
		memcpy(v, RSA_E, sizeof RSA_E);
		return sizeof RSA_E;
	default:
		return 0;
	}
}

/* One attribute's answer: the good value or one of the hostile ones. */
static void attr_answer(CK_ATTRIBUTE *a)
{
	unsigned char *v = a->pValue;
	CK_ULONG cap = v ? a->ulValueLen : 0, len;
	size_t good = v ? good_value(a->type, v, cap) : 0;
	unsigned b = op() % 10, i;

	switch (b) {
	case 0:
		a->ulValueLen = good ? good : CK_UNAVAILABLE_INFORMATION;
		break;
	case 1:
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		break;
	case 2:
		a->ulValueLen = huge();
		break;
	case 3:
		a->ulValueLen = 0;
		break;
	case 4:		/* longer than the buffer it was given */
		a->ulValueLen = cap + 1 + op();
		break;
	case 5:		/* a short value from the script (hostile DER, odd booleans) */
		len = op();
		if (v)
			take(v, len < cap ? len : cap);
		a->ulValueLen = len;
		break;
	case 6:		/* a long one: its length, then as many bytes as fit */
		len = op16();
		if (v)
			take(v, len < cap ? len : cap);
		a->ulValueLen = len;
		break;
	case 7:		/* the good value, its length off by a little */
		len = good + (op() % 5) - 2;
		a->ulValueLen = len;
		break;
	case 8:		/* the good value with one byte changed */
		i = op();
		if (v && good && i < good)
			v[i] ^= (unsigned char)(op() | 1);
		a->ulValueLen = good ? good : CK_UNAVAILABLE_INFORMATION;
		break;
	default:	/* the good value but a length given by the script */
		a->ulValueLen = op16();
		break;
	}
}

static CK_RV fm_get_attribute_value(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
				    CK_ATTRIBUTE_PTR a, CK_ULONG n)
{
	unsigned b;

	(void)s; (void)obj;
	for (CK_ULONG i = 0; i < n; i++)
		attr_answer(&a[i]);
	switch (b = op()) {
	case 0: return CKR_OK;
	case 1: return CKR_ATTRIBUTE_SENSITIVE;
	case 2: return CKR_ATTRIBUTE_TYPE_INVALID;
	case 3: return CKR_BUFFER_TOO_SMALL;
	default: return fail_rv(b);
	}
}

/* ---- Signing, generation, destruction ---- */

static CK_RV fm_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
	(void)s; (void)m; (void)key;
	return rv_op();
}

static CK_RV fm_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG n, CK_BYTE_PTR sig,
		     CK_ULONG_PTR siglen)
{
	CK_ULONG want = kind == KIND_ED25519 ? 64 : kind == KIND_RSA3072 ? 384 : 512;
	CK_ULONG cap = sig ? *siglen : 0, len;
	unsigned b = op();

	(void)s; (void)data; (void)n;
	switch (b) {
	case 0:
		*siglen = want;
		if (!sig)
			return CKR_OK;
		if (cap < want)
			return CKR_BUFFER_TOO_SMALL;
		memset(sig, 0x5a, want);
		return CKR_OK;
	case 1:		/* a length the script picks (0, 63, 65, more than the buffer) */
		len = op16();
		if (sig)
			memset(sig, 0xa5, len < cap ? len : cap);
		*siglen = len;
		return CKR_OK;
	case 2:		/* fewer bytes written than the length says */
		if (sig)
			memset(sig, 0x11, cap < want / 2 ? cap : want / 2);
		*siglen = want;
		return CKR_OK;
	case 3:
		*siglen = huge();
		return CKR_OK;
	case 4:
		*siglen = op16();
		return CKR_BUFFER_TOO_SMALL;
	default:
		return fail_rv(b);
	}
}

static CK_RV fm_generate(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub,
			 CK_ULONG npub, CK_ATTRIBUTE_PTR priv, CK_ULONG npriv,
			 CK_OBJECT_HANDLE_PTR hpub, CK_OBJECT_HANDLE_PTR hpriv)
{
	unsigned b = op();

	(void)s; (void)m; (void)pub; (void)npub; (void)priv; (void)npriv;
	if (b == 0 || b == 1) {
		objects = 1;
		*hpub = b == 0 ? H_PUB : op();
		*hpriv = b == 0 ? H_PRIV : op();
		return CKR_OK;
	}
	return fail_rv(b);
}

static CK_RV fm_destroy(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
	CK_RV rv = rv_op();

	(void)s; (void)h;
	if (rv == CKR_OK)
		objects = 0;
	return rv;
}

/* ---- The function list ---- */

static CK_FUNCTION_LIST good_list = {
	.version = { 2, 40 },
	.C_Initialize = fm_initialize,
	.C_Finalize = fm_finalize,
	.C_GetSlotList = fm_get_slot_list,
	.C_GetTokenInfo = fm_get_token_info,
	.C_OpenSession = fm_open_session,
	.C_CloseSession = fm_close_session,
	.C_Login = fm_login,
	.C_Logout = fm_logout,
	.C_FindObjectsInit = fm_find_init,
	.C_FindObjects = fm_find,
	.C_FindObjectsFinal = fm_find_final,
	.C_GetAttributeValue = fm_get_attribute_value,
	.C_SignInit = fm_sign_init,
	.C_Sign = fm_sign,
	.C_GenerateKeyPair = fm_generate,
	.C_DestroyObject = fm_destroy,
};
static CK_FUNCTION_LIST odd_list;

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	unsigned b = op();

	switch (b) {
	case 0:
		*out = &good_list;
		return CKR_OK;
	case 1:		/* a version p11.c does not take */
		odd_list = good_list;
		odd_list.version.major = (unsigned char)op();
		*out = &odd_list;
		return CKR_OK;
	case 2:		/* a function missing */
		odd_list = good_list;
		odd_list.C_Sign = NULL;
		*out = &odd_list;
		return CKR_OK;
	case 3:
		*out = NULL;
		return CKR_OK;
	default:
		return fail_rv(b) == CKR_OK ? CKR_GENERAL_ERROR : fail_rv(b);
	}
}
