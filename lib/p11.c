/* PKCS#11 client (see p11.h): the module is dlopen'ed and driven through
 * its function list; no other library is involved.
 *
 * Every module call runs on the handle's own worker thread, as a "job": a
 * heap object holding the call's inputs and outputs.  The caller posts the
 * job and waits with a deadline.  When the deadline passes the caller
 * abandons the job (the worker frees it if the module ever returns) and
 * the handle is wedged: nothing of the caller's (stack, buffers, the PIN)
 * is reachable from a call that is still running, so a module that returns
 * late cannot write into memory the caller has reused.  The worker does
 * nothing but call the module; checks, parsing and messages stay on the
 * caller's thread (enf_err's buffer is not per thread). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <p11-kit/pkcs11.h>
#include "crypto.h"
#include "enf.h"
#include "p11.h"

#define SIG_MAX 1024		/* any signature we accept is at most 512 bytes */
#define ATTR_MAX 1024		/* longest attribute we read (an RSA-4096 modulus is 512) */
#define SLOTS_MAX 64
#define FOUND_MAX 16		/* objects a find reports by handle */
#define FOUND_COUNT_MAX 1000	/* objects a find counts before it gives up */

struct job {
	void (*run)(struct p11 *t, struct job *j);
	void (*cleanup)(struct job *j);	/* frees what run needed; NULL: free(j) */
	CK_RV rv;
	const char *call;	/* the module function that returned rv */
	int done, abandoned;
};

struct p11 {
	pthread_t worker;
	pthread_mutex_t mu, call_mu;
	pthread_cond_t work, done;
	struct job *job;	/* posted, not yet taken by the worker */
	int quit, detached;
	unsigned timeout_ms;
	int wedged, login_refused, logged_in;
	char *module;
	struct p11_token_info info;
	/* Touched only on the worker thread: */
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	int owns_init;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	int session_open;
};

/* ---- The worker and the deadline ---- */

static void job_free(struct job *j)
{
	if (j && j->cleanup)
		j->cleanup(j);
	else
		free(j);
}

static void handle_free(struct p11 *t)
{
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->call_mu);
	pthread_cond_destroy(&t->work);
	pthread_cond_destroy(&t->done);
	free(t->module);
	free(t);
}

static void *worker_main(void *arg)
{
	struct p11 *t = arg;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (!t->job && !t->quit)
			pthread_cond_wait(&t->work, &t->mu);
		if (t->quit)
			break;
		struct job *j = t->job;
		t->job = NULL;
		pthread_mutex_unlock(&t->mu);
		j->run(t, j);
		pthread_mutex_lock(&t->mu);
		if (j->abandoned) {
			job_free(j);
		} else {
			j->done = 1;
			pthread_cond_signal(&t->done);
		}
	}
	/* A wedged handle's caller has gone; whoever leaves last frees it. */
	int detached = t->detached;
	pthread_mutex_unlock(&t->mu);
	if (detached)
		handle_free(t);
	return NULL;
}

static void deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int wedged_error(void)
{
	return enf_err(ENF_FAIL, "token wedged: an earlier call timed out");
}

/* Run j on the worker within the deadline.  ENF_OK: j ran, j->rv says how
 * it went, the caller frees j.  Otherwise j belongs to the worker (or is
 * freed) and the caller must not touch it again. */
static int run_job(struct p11 *t, struct job *j)
{
	struct timespec ts;
	int timed_out = 0;

	pthread_mutex_lock(&t->call_mu);
	if (t->wedged) {
		pthread_mutex_unlock(&t->call_mu);
		job_free(j);
		return wedged_error();
	}
	deadline(&ts, t->timeout_ms);
	pthread_mutex_lock(&t->mu);
	t->job = j;
	pthread_cond_signal(&t->work);
	while (!j->done && !timed_out)
		if (pthread_cond_timedwait(&t->done, &t->mu, &ts) == ETIMEDOUT && !j->done)
			timed_out = 1;
	if (timed_out) {
		/* Taken or not, the job is the worker's now: taking it back
		 * here would race with a module that is about to return. */
		j->abandoned = 1;
		if (t->job == j) {
			t->job = NULL;
			job_free(j);
		}
		t->wedged = 1;
	}
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_unlock(&t->call_mu);
	return timed_out ? enf_err(ENF_FAIL, "token timed out") : ENF_OK;
}

/* The worker blocks every signal: they belong to the caller's threads, and
 * a module call must not be interrupted by a handler it does not expect. */
static int worker_start(struct p11 *t)
{
	sigset_t all, old;
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->call_mu, NULL);
	pthread_cond_init(&t->work, NULL);
	pthread_cond_init(&t->done, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->worker, NULL, worker_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

/* ---- Names for messages ---- */

static const char *rv_name(CK_RV rv)
{
	static const struct { CK_RV rv; const char *name; } names[] = {
		{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
		{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
		{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
		{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
		{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
		{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
		{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
		{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
		{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
		{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
		{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
		{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
		{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
		{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
		{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
		{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
		{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
		{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
		{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
		{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
		{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
		{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
		{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
		{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
		{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	};
	static _Thread_local char other[32];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].rv == rv)
			return names[i].name;
	snprintf(other, sizeof other, "CKR 0x%lx", (unsigned long)rv);
	return other;
}

static int call_error(const struct job *j)
{
	return enf_err(ENF_FAIL, "token: %s failed: %s", j->call, rv_name(j->rv));
}

/* An object id for messages, in hex (P11_ID_MAX bytes fit). */
struct idhex { char s[2 * P11_ID_MAX + 1]; };

static struct idhex id_hex(const unsigned char *id, size_t n)
{
	struct idhex h = { "" };

	for (size_t i = 0; i < n && i < P11_ID_MAX; i++)
		snprintf(h.s + 2 * i, 3, "%02x", id[i]);
	return h;
}

/* A token's blank-padded text as a C string: trailing blanks dropped,
 * anything but printable ASCII shown as '?' (it comes from the module). */
static void token_text(char *out, const CK_UTF8CHAR *p, size_t n)
{
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\0'))
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
}

/* ---- Loading and initialising the module ---- */

/* C_Initialize and C_Finalize are per process, not per handle: handles on
 * the same module share one initialisation, counted here, so that closing
 * one does not finalize the module under another. */
static struct { CK_FUNCTION_LIST_PTR f; unsigned refs; } inits[8];
static pthread_mutex_t inits_mu = PTHREAD_MUTEX_INITIALIZER;

static CK_RV module_initialize(struct p11 *t)
{
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	size_t i, slot = sizeof inits / sizeof inits[0];
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&inits_mu);
	for (i = 0; i < sizeof inits / sizeof inits[0]; i++) {
		if (inits[i].f == t->f)
			break;
		if (!inits[i].f && slot == sizeof inits / sizeof inits[0])
			slot = i;
	}
	if (i < sizeof inits / sizeof inits[0]) {
		inits[i].refs++;
		t->owns_init = 1;
	} else if (slot == sizeof inits / sizeof inits[0]) {
		rv = CKR_HOST_MEMORY;
	} else if ((rv = t->f->C_Initialize(&args)) == CKR_OK) {
		inits[slot].f = t->f;
		inits[slot].refs = 1;
		t->owns_init = 1;
	} else if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		/* Initialised behind this table (a wedged handle's module, or
		 * one module loaded through another): usable, not ours. */
		rv = CKR_OK;
	}
	pthread_mutex_unlock(&inits_mu);
	return rv;
}

static void module_finalize(struct p11 *t)
{
	pthread_mutex_lock(&inits_mu);
	for (size_t i = 0; t->owns_init && i < sizeof inits / sizeof inits[0]; i++)
		if (inits[i].f == t->f && --inits[i].refs == 0) {
			t->f->C_Finalize(NULL);
			inits[i].f = NULL;
		}
	t->owns_init = 0;
	pthread_mutex_unlock(&inits_mu);
}

enum load_step { LOAD_OK, LOAD_DLOPEN, LOAD_NOT_MODULE, LOAD_LIST, LOAD_UNUSABLE, LOAD_INIT };

/* A version 2 or 3 function list with every function this file calls: a
 * NULL among them would be a crash later, not an error. */
static int list_usable(const CK_FUNCTION_LIST *f)
{
	if (f->version.major != 2 && f->version.major != 3)
		return 0;
	return f->C_Initialize && f->C_Finalize && f->C_GetSlotList && f->C_GetTokenInfo &&
	       f->C_OpenSession && f->C_CloseSession && f->C_Login && f->C_Logout &&
	       f->C_FindObjectsInit && f->C_FindObjects && f->C_FindObjectsFinal &&
	       f->C_GetAttributeValue && f->C_SignInit && f->C_Sign &&
	       f->C_GenerateKeyPair && f->C_DestroyObject;
}

struct load_job {
	struct job base;
	char *path;
	int step;
	char dlerr[256];
};

static void load_cleanup(struct job *j)
{
	free(((struct load_job *)j)->path);
	free(j);
}

static void load_run(struct p11 *t, struct job *jb)
{
	struct load_job *j = (struct load_job *)jb;
	CK_C_GetFunctionList get;
	const char *e;

	/* RTLD_NODELETE: a module may leave threads or exit handlers behind
	 * (SoftHSMv2's OpenSSL does), which must not outlive its code; and a
	 * leak report can then still name the module. */
	if (!(t->dl = dlopen(j->path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE))) {
		e = dlerror();
		snprintf(j->dlerr, sizeof j->dlerr, "%s", e ? e : "unknown error");
		j->step = LOAD_DLOPEN;
		return;
	}
	*(void **)&get = dlsym(t->dl, "C_GetFunctionList");
	if (!get) {
		j->step = LOAD_NOT_MODULE;
		return;
	}
	jb->call = "C_GetFunctionList";
	if ((jb->rv = get(&t->f)) != CKR_OK || !t->f) {
		t->f = NULL;
		j->step = LOAD_LIST;
		return;
	}
	if (!list_usable(t->f)) {
		t->f = NULL;
		j->step = LOAD_UNUSABLE;
		return;
	}
	jb->call = "C_Initialize";
	if ((jb->rv = module_initialize(t)) != CKR_OK)
		j->step = LOAD_INIT;
}

static int module_load(struct p11 *t)
{
	struct load_job *j = calloc(1, sizeof *j);
	int rc;

	if (!j || !(j->path = strdup(t->module))) {
		free(j);
		return enf_err(ENF_FAIL, "out of memory");
	}
	j->base.run = load_run;
	j->base.cleanup = load_cleanup;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	switch (j->step) {
	case LOAD_OK:
		rc = ENF_OK;
		break;
	case LOAD_DLOPEN:
		rc = enf_err(ENF_FAIL, "cannot load PKCS#11 module %s: %s", t->module, j->dlerr);
		break;
	case LOAD_NOT_MODULE:
		rc = enf_err(ENF_FAIL, "%s is not a PKCS#11 module", t->module);
		break;
	case LOAD_UNUSABLE:
		rc = enf_err(ENF_FAIL, "%s is not a usable PKCS#11 module (version or functions "
			     "missing)", t->module);
		break;
	default:
		rc = enf_err(ENF_FAIL, "PKCS#11 module %s: %s failed: %s", t->module,
			     j->base.call, rv_name(j->base.rv));
	}
	job_free(&j->base);
	return rc;
}

/* ---- Finding the token ---- */

struct slots_job {
	struct job base;
	CK_ULONG n;			/* slots with a token */
	CK_SLOT_ID id[SLOTS_MAX];
	CK_TOKEN_INFO info[SLOTS_MAX];
};

static void slots_run(struct p11 *t, struct job *jb)
{
	struct slots_job *j = (struct slots_job *)jb;

	j->n = SLOTS_MAX;
	jb->call = "C_GetSlotList";
	if ((jb->rv = t->f->C_GetSlotList(CK_TRUE, j->id, &j->n)) != CKR_OK)
		return;
	if (j->n > SLOTS_MAX) {		/* a module that ignores the buffer size */
		jb->rv = CKR_BUFFER_TOO_SMALL;
		return;
	}
	jb->call = "C_GetTokenInfo";
	for (CK_ULONG i = 0; i < j->n; i++)
		if ((jb->rv = t->f->C_GetTokenInfo(j->id[i], &j->info[i])) != CKR_OK)
			return;
}

static void info_from(struct p11_token_info *out, const CK_TOKEN_INFO *ti)
{
	token_text(out->label, ti->label, sizeof ti->label);
	token_text(out->serial, ti->serialNumber, sizeof ti->serialNumber);
	token_text(out->manufacturer, ti->manufacturerID, sizeof ti->manufacturerID);
	token_text(out->model, ti->model, sizeof ti->model);
}

/* Whether the token's blank-padded field holds exactly s.  Compared as
 * bytes, so that the shown form (token_text) cannot make two labels equal. */
static int field_is(const CK_UTF8CHAR *field, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len > n || memcmp(field, s, len) != 0)
		return 0;
	for (; len < n; len++)
		if (field[len] != ' ')
			return 0;
	return 1;
}

/* The one slot whose token has this label (and serial). */
static int slot_choose(struct p11 *t, const struct slots_job *j, const char *label,
		       const char *serial)
{
	const CK_TOKEN_INFO *seen = NULL;
	unsigned labelled = 0, chosen = 0;
	char seen_serial[P11_SERIAL_MAX + 1];

	for (CK_ULONG i = 0; i < j->n; i++) {
		const CK_TOKEN_INFO *ti = &j->info[i];

		if (!field_is(ti->label, sizeof ti->label, label))
			continue;
		labelled++;
		seen = ti;
		if (serial && !field_is(ti->serialNumber, sizeof ti->serialNumber, serial))
			continue;
		chosen++;
		info_from(&t->info, ti);
		t->slot = j->id[i];
	}
	if (labelled == 0)
		return enf_err(ENF_FAIL, "no token labelled '%s'", label);
	if (chosen == 0 && labelled == 1) {
		token_text(seen_serial, seen->serialNumber, sizeof seen->serialNumber);
		return enf_err(ENF_FAIL, "token '%s' has serial %s, not %s", label, seen_serial,
			       serial);
	}
	if (chosen == 0)
		return enf_err(ENF_FAIL, "no token labelled '%s' has serial %s", label, serial);
	if (chosen > 1)
		return enf_err(ENF_FAIL, "%u tokens labelled '%s'%s", chosen, label,
			       serial ? " have that serial" : ": name one by its serial");
	return ENF_OK;
}

static int token_find(struct p11 *t, const char *label, const char *serial)
{
	struct slots_job *j = calloc(1, sizeof *j);
	int rc;

	if (!j)
		return enf_err(ENF_FAIL, "out of memory");
	j->base.run = slots_run;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	rc = j->base.rv != CKR_OK ? call_error(&j->base) : slot_choose(t, j, label, serial);
	job_free(&j->base);
	return rc;
}

static void session_run(struct p11 *t, struct job *j)
{
	j->call = "C_OpenSession";
	j->rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				    &t->session);
	t->session_open = j->rv == CKR_OK;
}

/* A job with no inputs or outputs but its CK_RV. */
static int run_simple(struct p11 *t, void (*run)(struct p11 *, struct job *))
{
	struct job *j = calloc(1, sizeof *j);
	int rc;

	if (!j)
		return enf_err(ENF_FAIL, "out of memory");
	j->run = run;
	if ((rc = run_job(t, j)) != ENF_OK)
		return rc;
	rc = j->rv == CKR_OK ? ENF_OK : call_error(j);
	job_free(j);
	return rc;
}

static int open_args_check(const char *module, const char *label, const char *serial)
{
	if (!module || !*module)
		return enf_err(ENF_USAGE, "no PKCS#11 module given");
	if (!label || !*label || strlen(label) > P11_LABEL_MAX)
		return enf_err(ENF_USAGE, "a token label is 1 to %d characters", P11_LABEL_MAX);
	if (serial && (!*serial || strlen(serial) > P11_SERIAL_MAX))
		return enf_err(ENF_USAGE, "a token serial is 1 to %d characters", P11_SERIAL_MAX);
	return ENF_OK;
}

int p11_open(const char *module, const char *label, const char *serial,
	     unsigned timeout_ms, struct p11 **out)
{
	struct p11 *t;
	int rc;

	*out = NULL;
	if ((rc = open_args_check(module, label, serial)) != ENF_OK)
		return rc;
	if (!(t = calloc(1, sizeof *t)) || !(t->module = strdup(module))) {
		free(t);
		return enf_err(ENF_FAIL, "out of memory");
	}
	t->timeout_ms = timeout_ms ? timeout_ms : P11_TIMEOUT_MS;
	if (worker_start(t) < 0) {
		handle_free(t);
		return enf_err(ENF_FAIL, "cannot start the token thread");
	}
	if ((rc = module_load(t)) == ENF_OK && (rc = token_find(t, label, serial)) == ENF_OK)
		rc = run_simple(t, session_run);
	if (rc != ENF_OK) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", enf_errmsg());
		p11_close(t);	/* may record a message of its own */
		return enf_err(rc, "%s", msg);
	}
	*out = t;
	return ENF_OK;
}

/* ---- Closing ---- */

static void close_run(struct p11 *t, struct job *j)
{
	j->call = "C_CloseSession";
	if (t->session_open) {
		if (t->logged_in)
			t->f->C_Logout(t->session);
		j->rv = t->f->C_CloseSession(t->session);
		t->session_open = 0;
	}
	if (t->f)
		module_finalize(t);
	if (t->dl)
		dlclose(t->dl);
	t->dl = NULL;
	t->f = NULL;
}

/* Leave a wedged handle to its worker: it frees the handle if the module
 * ever returns, and else both stay for the life of the process.  Joining
 * it here could block forever. */
static void close_wedged(struct p11 *t)
{
	pthread_mutex_lock(&t->mu);
	pthread_detach(t->worker);
	t->quit = 1;
	t->detached = 1;
	pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->mu);
}

void p11_close(struct p11 *t)
{
	if (!t)
		return;
	if (!t->wedged)
		run_simple(t, close_run);	/* a failure to close changes nothing */
	if (t->wedged) {			/* now or before */
		close_wedged(t);
		return;
	}
	pthread_mutex_lock(&t->mu);
	t->quit = 1;
	pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->worker, NULL);
	handle_free(t);
}

void p11_set_timeout(struct p11 *t, unsigned timeout_ms)
{
	pthread_mutex_lock(&t->call_mu);
	t->timeout_ms = timeout_ms ? timeout_ms : P11_TIMEOUT_MS;
	pthread_mutex_unlock(&t->call_mu);
}

int p11_info(const struct p11 *t, struct p11_token_info *out)
{
	*out = t->info;
	return ENF_OK;
}

/* ---- Login ---- */

struct login_job {
	struct job base;
	unsigned char *pin;	/* secure memory, the job's own copy */
	size_t n;
};

static void login_cleanup(struct job *j)
{
	struct login_job *l = (struct login_job *)j;

	secure_free(l->pin, l->n);
	free(j);
}

static void login_run(struct p11 *t, struct job *jb)
{
	struct login_job *j = (struct login_job *)jb;

	jb->call = "C_Login";
	jb->rv = t->f->C_Login(t->session, CKU_USER, j->pin, (CK_ULONG)j->n);
}

/* Any failed login poisons the handle: a wrong PIN is counted by the token
 * and a retry could lock (or wipe) a real HSM. */
static int login_result(struct p11 *t, CK_RV rv, const struct job *j)
{
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		t->logged_in = 1;
		return ENF_OK;
	}
	t->login_refused = 1;
	if (rv == CKR_PIN_INCORRECT)
		return enf_err(ENF_FAIL, "wrong token PIN");
	if (rv == CKR_PIN_LOCKED)
		return enf_err(ENF_FAIL, "token PIN is locked");
	return call_error(j);
}

int p11_login(struct p11 *t, const struct secret *pin)
{
	struct login_job *j;
	int rc;

	if (t->wedged)
		return wedged_error();
	if (t->login_refused)
		return enf_err(ENF_FAIL, "token login refused: an earlier login failed");
	if (t->logged_in)
		return ENF_OK;
	if (!pin || !pin->p || pin->n == 0 || pin->n > PASSPHRASE_MAX)
		return enf_err(ENF_USAGE, "no usable token PIN");
	if (!(j = calloc(1, sizeof *j)) || !(j->pin = secure_alloc(pin->n))) {
		free(j);
		return enf_err(ENF_FAIL, "out of memory");
	}
	memcpy(j->pin, pin->p, pin->n);
	j->n = pin->n;
	j->base.run = login_run;
	j->base.cleanup = login_cleanup;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	rc = login_result(t, j->base.rv, &j->base);
	job_free(&j->base);
	return rc;
}

/* ---- Objects: find by class and id, read attributes ---- */

static int id_check(const unsigned char *id, size_t idlen)
{
	if (!id || idlen == 0 || idlen > P11_ID_MAX)
		return enf_err(ENF_USAGE, "a token object id is 1 to %d bytes", P11_ID_MAX);
	return ENF_OK;
}

struct find_job {
	struct job base;
	CK_OBJECT_CLASS cls;
	unsigned char id[P11_ID_MAX];
	CK_ULONG idlen;
	CK_OBJECT_HANDLE h[FOUND_MAX];	/* the first ones found */
	CK_ULONG n;			/* how many were found */
};

static void find_run(struct p11 *t, struct job *jb)
{
	struct find_job *j = (struct find_job *)jb;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &j->cls, sizeof j->cls },
		{ CKA_ID, j->id, j->idlen },
	};
	CK_OBJECT_HANDLE h[FOUND_MAX];
	CK_ULONG got;
	CK_RV rv;

	jb->call = "C_FindObjectsInit";
	if ((jb->rv = t->f->C_FindObjectsInit(t->session, tmpl, 2)) != CKR_OK)
		return;
	jb->call = "C_FindObjects";
	do {
		got = 0;
		if ((jb->rv = t->f->C_FindObjects(t->session, h, FOUND_MAX, &got)) != CKR_OK)
			break;
		for (CK_ULONG i = 0; i < got && i < FOUND_MAX; i++, j->n++)
			if (j->n < FOUND_MAX)
				j->h[j->n] = h[i];
	} while (got > 0 && j->n < FOUND_COUNT_MAX);
	rv = t->f->C_FindObjectsFinal(t->session);
	if (jb->rv == CKR_OK && rv != CKR_OK) {
		jb->call = "C_FindObjectsFinal";
		jb->rv = rv;
	}
}

/* The objects of class cls with this id: *n of them, the first FOUND_MAX
 * handles in h (when h is not NULL). */
static int objects_find(struct p11 *t, CK_OBJECT_CLASS cls, const unsigned char *id,
			size_t idlen, CK_OBJECT_HANDLE *h, CK_ULONG *n)
{
	struct find_job *j = calloc(1, sizeof *j);
	int rc;

	if (!j)
		return enf_err(ENF_FAIL, "out of memory");
	j->base.run = find_run;
	j->cls = cls;
	memcpy(j->id, id, idlen);
	j->idlen = idlen;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	if ((rc = j->base.rv == CKR_OK ? ENF_OK : call_error(&j->base)) == ENF_OK) {
		*n = j->n;
		if (h)
			memcpy(h, j->h, sizeof j->h);
	}
	job_free(&j->base);
	return rc;
}

/* Exactly one object of class cls with this id. */
static int object_find_one(struct p11 *t, CK_OBJECT_CLASS cls, const unsigned char *id,
			   size_t idlen, CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_HANDLE h[FOUND_MAX];
	const char *what = cls == CKO_PRIVATE_KEY ? "private key" : "public key";
	CK_ULONG n = 0;
	int rc;

	if ((rc = objects_find(t, cls, id, idlen, h, &n)) != ENF_OK)
		return rc;
	if (n == 0)
		return enf_err(ENF_FAIL, "no %s with id %s on the token", what, id_hex(id, idlen).s);
	if (n > 1)
		return enf_err(ENF_FAIL, "%s%lu %ss with id %s on the token",
			       n >= FOUND_COUNT_MAX ? "at least " : "", (unsigned long)n, what,
			       id_hex(id, idlen).s);
	*out = h[0];
	return ENF_OK;
}

#define ATTRS_MAX 8

struct attr_job {
	struct job base;
	CK_OBJECT_HANDLE obj;
	CK_ULONG n;
	CK_ATTRIBUTE a[ATTRS_MAX];
	unsigned char val[ATTRS_MAX][ATTR_MAX];
};

static void attr_run(struct p11 *t, struct job *jb)
{
	struct attr_job *j = (struct attr_job *)jb;

	for (CK_ULONG i = 0; i < j->n; i++) {
		j->a[i].pValue = j->val[i];
		j->a[i].ulValueLen = ATTR_MAX;
	}
	jb->call = "C_GetAttributeValue";
	jb->rv = t->f->C_GetAttributeValue(t->session, j->obj, j->a, j->n);
}

/* Read attributes types[0..n) of obj; *out is the caller's to free.  An
 * attribute the object lacks or hides is left "unavailable" (the getters
 * below then fail), not an error here. */
static int attrs_read(struct p11 *t, CK_OBJECT_HANDLE obj, const CK_ATTRIBUTE_TYPE *types,
		      size_t n, struct attr_job **out)
{
	struct attr_job *j = calloc(1, sizeof *j);
	int rc;

	*out = NULL;
	if (!j)
		return enf_err(ENF_FAIL, "out of memory");
	j->base.run = attr_run;
	j->obj = obj;
	j->n = n;
	for (size_t i = 0; i < n; i++)
		j->a[i].type = types[i];
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	if (j->base.rv != CKR_OK && j->base.rv != CKR_ATTRIBUTE_SENSITIVE &&
	    j->base.rv != CKR_ATTRIBUTE_TYPE_INVALID) {
		rc = call_error(&j->base);
		job_free(&j->base);
		return rc;
	}
	*out = j;
	return ENF_OK;
}

/* Attribute i's bytes, or -1 when the token did not give them. */
static int attr_bytes(const struct attr_job *j, size_t i, const unsigned char **p, size_t *n)
{
	if (j->a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION || j->a[i].ulValueLen > ATTR_MAX)
		return -1;
	*p = j->val[i];
	*n = j->a[i].ulValueLen;
	return 0;
}

/* 1 for CK_TRUE, 0 for CK_FALSE, -1 for anything else (absent included). */
static int attr_bool(const struct attr_job *j, size_t i)
{
	if (j->a[i].ulValueLen != sizeof(CK_BBOOL))
		return -1;
	return j->val[i][0] == CK_TRUE ? 1 : j->val[i][0] == CK_FALSE ? 0 : -1;
}

static int attr_ulong(const struct attr_job *j, size_t i, CK_ULONG *v)
{
	if (j->a[i].ulValueLen != sizeof(CK_ULONG))
		return -1;
	memcpy(v, j->val[i], sizeof *v);
	return 0;
}

/* ---- Keys: what enf accepts, and their public halves ---- */

/* The curve parameter for Ed25519 in either form PKCS#11 3.0 allows: the
 * printable string "edwards25519" (what SoftHSMv2 2.6.1 takes) or the OID
 * 1.3.101.112.  Ed448 (also CKK_EC_EDWARDS) is neither. */
static const unsigned char ED25519_PARAMS_NAME[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };
static const unsigned char ED25519_PARAMS_OID[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

static int ed25519_params_ok(const unsigned char *p, size_t n)
{
	return (n == sizeof ED25519_PARAMS_NAME && !memcmp(p, ED25519_PARAMS_NAME, n)) ||
	       (n == sizeof ED25519_PARAMS_OID && !memcmp(p, ED25519_PARAMS_OID, n));
}

/* The key type, modulus size and signature length enf expects for alg;
 * ECDSA is refused for every token operation. */
struct key_spec { CK_KEY_TYPE type; unsigned bits; size_t siglen; };

static int key_spec(int alg, struct key_spec *k)
{
	switch (alg) {
	case ALG_ED25519: *k = (struct key_spec){ CKK_EC_EDWARDS, 256, 64 }; return ENF_OK;
	case ALG_RSA3072: *k = (struct key_spec){ CKK_RSA, 3072, 384 }; return ENF_OK;
	case ALG_RSA4096: *k = (struct key_spec){ CKK_RSA, 4096, 512 }; return ENF_OK;
	case ALG_ECDSA_P256:
	case ALG_ECDSA_P384:
		return enf_err(ENF_USAGE, "ECDSA keys are refused on a token: its random nonces "
			       "would make signatures non-deterministic");
	default:
		return enf_err(ENF_USAGE, "unknown key algorithm");
	}
}

/* The private object's attributes, in this order. */
enum { PA_TYPE, PA_PRIVATE, PA_SENSITIVE, PA_EXTRACTABLE, PA_SIGN, PA_PARAM1, PA_PARAM2, PA_N };

/* What makes a private key one enf will sign with: the right type, and a
 * token that keeps it to itself. */
static int private_attrs_check(const struct attr_job *a, const struct key_spec *k,
			       const char *idhex)
{
	CK_ULONG type;

	if (attr_ulong(a, PA_TYPE, &type) < 0 || type != k->type)
		return enf_err(ENF_FAIL, "key %s on the token is not of the expected type", idhex);
	if (attr_bool(a, PA_PRIVATE) != 1)
		return enf_err(ENF_FAIL, "key %s on the token is not private (CKA_PRIVATE)", idhex);
	if (attr_bool(a, PA_SENSITIVE) != 1)
		return enf_err(ENF_FAIL, "key %s on the token is not sensitive (CKA_SENSITIVE)", idhex);
	if (attr_bool(a, PA_EXTRACTABLE) != 0)
		return enf_err(ENF_FAIL, "key %s on the token is extractable (CKA_EXTRACTABLE)", idhex);
	if (attr_bool(a, PA_SIGN) != 1)
		return enf_err(ENF_FAIL, "key %s on the token cannot sign (CKA_SIGN)", idhex);
	return ENF_OK;
}

/* SSH wire blob -> *pub, which must be of k's size. */
static int pub_from_wire(struct wbuf *w, const struct key_spec *k, const char *idhex,
			 struct pubkey *pub)
{
	int rc;

	if (w->failed) {
		wbuf_free(w);
		return enf_err(ENF_FAIL, "out of memory");
	}
	rc = pubkey_from_blob(pub, w->p, w->len);
	wbuf_free(w);
	if (rc != ENF_OK || pub->bits != k->bits) {
		if (rc == ENF_OK)
			pubkey_free(pub);
		return enf_err(ENF_FAIL, "key %s on the token has a malformed or unexpected "
			       "public key", idhex);
	}
	return ENF_OK;
}

/* RSA: the modulus and exponent the private object itself carries, so that
 * the public key is the signing key's and not a neighbour object's. */
static int pub_rsa(const struct attr_job *a, const struct key_spec *k, const char *idhex,
		   struct pubkey *pub)
{
	const unsigned char *n, *e;
	size_t nlen, elen;
	struct wbuf w;

	if (attr_bytes(a, PA_PARAM1, &n, &nlen) < 0 || attr_bytes(a, PA_PARAM2, &e, &elen) < 0)
		return enf_err(ENF_FAIL, "key %s on the token does not show its modulus", idhex);
	wbuf_init(&w, 0);
	wbuf_cstring(&w, "ssh-rsa");
	wbuf_mpint(&w, e, elen);
	wbuf_mpint(&w, n, nlen);
	return pub_from_wire(&w, k, idhex, pub);
}

/* CKA_EC_POINT of an Ed25519 key: the DER OCTET STRING around the 32 bytes
 * (SoftHSMv2, PKCS#11 3.0) or the 32 bytes themselves; nothing else. */
static int ed25519_point(const unsigned char *p, size_t n, const unsigned char **pt)
{
	if (n == 34 && p[0] == 0x04 && p[1] == 32) {
		*pt = p + 2;
		return 0;
	}
	if (n == 32) {
		*pt = p;
		return 0;
	}
	return -1;
}

/* Ed25519: the private object holds no public point, so it is read from
 * the one public object with the same id.  The caller's verify-after-sign
 * is what binds the two. */
static int pub_ed25519(struct p11 *t, const unsigned char *id, size_t idlen,
		       const struct key_spec *k, const char *idhex, struct pubkey *pub)
{
	static const CK_ATTRIBUTE_TYPE types[] = { CKA_KEY_TYPE, CKA_EC_PARAMS, CKA_EC_POINT };
	const unsigned char *params, *point, *pt;
	size_t plen, ptlen;
	struct attr_job *a;
	CK_OBJECT_HANDLE h;
	CK_ULONG type;
	struct wbuf w;
	int rc;

	if ((rc = object_find_one(t, CKO_PUBLIC_KEY, id, idlen, &h)) != ENF_OK ||
	    (rc = attrs_read(t, h, types, 3, &a)) != ENF_OK)
		return rc;
	if (attr_ulong(a, 0, &type) < 0 || type != CKK_EC_EDWARDS ||
	    attr_bytes(a, 1, &params, &plen) < 0 || !ed25519_params_ok(params, plen) ||
	    attr_bytes(a, 2, &point, &ptlen) < 0 || ed25519_point(point, ptlen, &pt) < 0) {
		job_free(&a->base);
		return enf_err(ENF_FAIL, "key %s on the token has a malformed or unexpected "
			       "public key", idhex);
	}
	wbuf_init(&w, 0);
	wbuf_cstring(&w, "ssh-ed25519");
	wbuf_string(&w, pt, 32);
	job_free(&a->base);
	return pub_from_wire(&w, k, idhex, pub);
}

/* The private key's handle, checked, and its attributes for the public half. */
static int private_find(struct p11 *t, const struct key_spec *k, const unsigned char *id,
			size_t idlen, const char *idhex, CK_OBJECT_HANDLE *h, struct attr_job **a)
{
	CK_ATTRIBUTE_TYPE types[PA_N] = { CKA_KEY_TYPE, CKA_PRIVATE, CKA_SENSITIVE,
		CKA_EXTRACTABLE, CKA_SIGN, CKA_MODULUS, CKA_PUBLIC_EXPONENT };
	const unsigned char *params;
	size_t plen;
	int rc;

	if (k->type == CKK_EC_EDWARDS)
		types[PA_PARAM1] = types[PA_PARAM2] = CKA_EC_PARAMS;
	if ((rc = object_find_one(t, CKO_PRIVATE_KEY, id, idlen, h)) != ENF_OK ||
	    (rc = attrs_read(t, *h, types, PA_N, a)) != ENF_OK)
		return rc;
	rc = private_attrs_check(*a, k, idhex);
	if (rc == ENF_OK && k->type == CKK_EC_EDWARDS &&
	    (attr_bytes(*a, PA_PARAM1, &params, &plen) < 0 || !ed25519_params_ok(params, plen)))
		rc = enf_err(ENF_FAIL, "key %s on the token is not an Ed25519 key", idhex);
	if (rc != ENF_OK) {
		job_free(&(*a)->base);
		*a = NULL;
	}
	return rc;
}

int p11_find(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
	     unsigned long *handle, struct pubkey *pub)
{
	struct key_spec k;
	struct attr_job *a;
	CK_OBJECT_HANDLE h;
	int rc;

	if ((rc = key_spec(alg, &k)) != ENF_OK || (rc = id_check(id, idlen)) != ENF_OK)
		return rc;
	if (t->wedged)
		return wedged_error();
	struct idhex hex = id_hex(id, idlen);
	if ((rc = private_find(t, &k, id, idlen, hex.s, &h, &a)) != ENF_OK)
		return rc;
	if (k.type == CKK_RSA)
		rc = pub_rsa(a, &k, hex.s, pub);
	else
		rc = pub_ed25519(t, id, idlen, &k, hex.s, pub);
	job_free(&a->base);
	if (rc == ENF_OK)
		*handle = h;
	return rc;
}

/* ---- Signing ---- */

struct sign_job {
	struct job base;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM_TYPE mech;
	unsigned char *msg;	/* the job's own copy */
	CK_ULONG n;
	unsigned char sig[SIG_MAX];
	CK_ULONG siglen;
};

static void sign_cleanup(struct job *j)
{
	free(((struct sign_job *)j)->msg);
	free(j);
}

/* One C_Sign into a buffer larger than any signature we accept, rather
 * than the two-call protocol: one round trip less, and the operation always
 * ends with this call (a length query would leave it active when we then
 * refuse the length). */
static void sign_run(struct p11 *t, struct job *jb)
{
	struct sign_job *j = (struct sign_job *)jb;
	CK_MECHANISM mech = { j->mech, NULL, 0 };

	jb->call = "C_SignInit";
	if ((jb->rv = t->f->C_SignInit(t->session, &mech, j->key)) != CKR_OK)
		return;
	j->siglen = sizeof j->sig;
	jb->call = "C_Sign";
	jb->rv = t->f->C_Sign(t->session, j->msg, j->n, j->sig, &j->siglen);
}

int p11_sign(struct p11 *t, unsigned long handle, int alg, const unsigned char *msg,
	     size_t n, struct wbuf *sig)
{
	struct key_spec k;
	struct sign_job *j;
	int rc;

	if ((rc = key_spec(alg, &k)) != ENF_OK)
		return rc;
	if (t->wedged)
		return wedged_error();
	if (!(j = calloc(1, sizeof *j)) || !(j->msg = malloc(n ? n : 1))) {
		free(j);
		return enf_err(ENF_FAIL, "out of memory");
	}
	if (n)
		memcpy(j->msg, msg, n);
	j->n = n;
	j->key = handle;
	j->mech = k.type == CKK_RSA ? CKM_RSA_PKCS : CKM_EDDSA;
	j->base.run = sign_run;
	j->base.cleanup = sign_cleanup;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	if (j->base.rv != CKR_OK)
		rc = call_error(&j->base);
	else if (j->siglen != k.siglen)
		rc = enf_err(ENF_FAIL, "token returned a malformed signature");
	else if (wbuf_put(sig, j->sig, j->siglen) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	job_free(&j->base);
	return rc;
}

/* ---- Generation ---- */

#define LABEL_MAX 128

struct gen_job {
	struct job base;
	struct key_spec k;
	unsigned char id[P11_ID_MAX];
	CK_ULONG idlen;
	char label[LABEL_MAX + 1];
	CK_ULONG bits;			/* CKA_MODULUS_BITS' value */
	CK_OBJECT_HANDLE pub, priv;
};

static const unsigned char RSA_F4[] = { 0x01, 0x00, 0x01 };	/* e = 65537 */

/* The algorithm's part of the public template: the curve, or the modulus
 * size and e = 65537.  Returns how many attributes it wrote (at most 2);
 * the values live in *j so that they outlive this call. */
static CK_ULONG gen_alg_attrs(struct gen_job *j, CK_ATTRIBUTE *a)
{
	if (j->k.type != CKK_RSA) {
		a[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)ED25519_PARAMS_NAME,
				       sizeof ED25519_PARAMS_NAME };
		return 1;
	}
	j->bits = j->k.bits;
	a[0] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &j->bits, sizeof j->bits };
	a[1] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)RSA_F4, sizeof RSA_F4 };
	return 2;
}

/* The private key signs and does nothing else; CKA_SENSITIVE and
 * CKA_EXTRACTABLE=false keep its value inside the token for good.  The
 * public object is public (readable without login) and only verifies. */
static void gen_run(struct p11 *t, struct job *jb)
{
	struct gen_job *j = (struct gen_job *)jb;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG labellen = strlen(j->label);
	CK_MECHANISM mech = { j->k.type == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN :
			      CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pub[9] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 }, { CKA_VERIFY, &yes, 1 },
		{ CKA_ENCRYPT, &no, 1 }, { CKA_WRAP, &no, 1 },
		{ CKA_ID, j->id, j->idlen }, { CKA_LABEL, j->label, labellen },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
		{ CKA_EXTRACTABLE, &no, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_SIGN_RECOVER, &no, 1 },
		{ CKA_DECRYPT, &no, 1 }, { CKA_UNWRAP, &no, 1 }, { CKA_DERIVE, &no, 1 },
		{ CKA_ID, j->id, j->idlen }, { CKA_LABEL, j->label, labellen },
	};
	CK_ULONG npub = 7 + gen_alg_attrs(j, pub + 7);

	jb->call = "C_GenerateKeyPair";
	jb->rv = t->f->C_GenerateKeyPair(t->session, &mech, pub, npub, priv,
					 sizeof priv / sizeof priv[0], &j->pub, &j->priv);
}

static int gen_args_check(int alg, const unsigned char *id, size_t idlen, const char *label,
			  struct key_spec *k)
{
	int rc;

	if ((rc = key_spec(alg, k)) != ENF_OK || (rc = id_check(id, idlen)) != ENF_OK)
		return rc;
	if (!label || strlen(label) > LABEL_MAX)
		return enf_err(ENF_USAGE, "a token object label is at most %d bytes", LABEL_MAX);
	return ENF_OK;
}

/* No object of either class may carry the id yet: afterwards p11_find
 * must see exactly the new pair. */
static int id_unused(struct p11 *t, const unsigned char *id, size_t idlen)
{
	CK_ULONG npriv = 0, npub = 0;
	int rc;

	if ((rc = objects_find(t, CKO_PRIVATE_KEY, id, idlen, NULL, &npriv)) != ENF_OK ||
	    (rc = objects_find(t, CKO_PUBLIC_KEY, id, idlen, NULL, &npub)) != ENF_OK)
		return rc;
	if (npriv || npub)
		return enf_err(ENF_FAIL, "a key with id %s is already on the token",
			       id_hex(id, idlen).s);
	return ENF_OK;
}

static int objects_destroy(struct p11 *t, const CK_OBJECT_HANDLE *h, size_t n);

int p11_generate(struct p11 *t, int alg, const unsigned char *id, size_t idlen,
		 const char *label, struct pubkey *pub)
{
	struct key_spec k;
	struct gen_job *j;
	unsigned long h;
	int rc;

	if ((rc = gen_args_check(alg, id, idlen, label, &k)) != ENF_OK)
		return rc;
	if (t->wedged)
		return wedged_error();
	if ((rc = id_unused(t, id, idlen)) != ENF_OK)
		return rc;
	if (!(j = calloc(1, sizeof *j)))
		return enf_err(ENF_FAIL, "out of memory");
	j->k = k;
	memcpy(j->id, id, idlen);
	j->idlen = idlen;
	snprintf(j->label, sizeof j->label, "%s", label);
	j->base.run = gen_run;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	if (j->base.rv != CKR_OK) {
		rc = call_error(&j->base);
		job_free(&j->base);
		return rc;
	}
	/* Read back what the token made, through the same checks as any key:
	 * a token that ignored the template must not leave a key behind. */
	CK_OBJECT_HANDLE made[2] = { j->priv, j->pub };
	job_free(&j->base);
	if ((rc = p11_find(t, alg, id, idlen, &h, pub)) != ENF_OK && !t->wedged) {
		char msg[400];

		snprintf(msg, sizeof msg, "%s", enf_errmsg());
		objects_destroy(t, made, 2);
		return enf_err(rc, "the token's new key was refused and destroyed: %s", msg);
	}
	return rc;
}

/* ---- Destruction ---- */

struct destroy_job {
	struct job base;
	CK_OBJECT_HANDLE h[2 * FOUND_MAX];
	CK_ULONG n;
};

/* Every object is attempted; the first failure is the one reported. */
static void destroy_run(struct p11 *t, struct job *jb)
{
	struct destroy_job *j = (struct destroy_job *)jb;
	CK_RV rv;

	jb->call = "C_DestroyObject";
	for (CK_ULONG i = 0; i < j->n; i++)
		if ((rv = t->f->C_DestroyObject(t->session, j->h[i])) != CKR_OK && jb->rv == CKR_OK)
			jb->rv = rv;
}

static int objects_destroy(struct p11 *t, const CK_OBJECT_HANDLE *h, size_t n)
{
	struct destroy_job *j = calloc(1, sizeof *j);
	int rc;

	if (!j)
		return enf_err(ENF_FAIL, "out of memory");
	j->base.run = destroy_run;
	memcpy(j->h, h, n * sizeof *h);
	j->n = n;
	if ((rc = run_job(t, &j->base)) != ENF_OK)
		return rc;
	rc = j->base.rv == CKR_OK ? ENF_OK : call_error(&j->base);
	job_free(&j->base);
	return rc;
}

int p11_destroy(struct p11 *t, const unsigned char *id, size_t idlen)
{
	CK_OBJECT_HANDLE h[2 * FOUND_MAX];
	CK_ULONG npriv = 0, npub = 0;
	int rc;

	if ((rc = id_check(id, idlen)) != ENF_OK)
		return rc;
	if (t->wedged)
		return wedged_error();
	if ((rc = objects_find(t, CKO_PRIVATE_KEY, id, idlen, h, &npriv)) != ENF_OK ||
	    (rc = objects_find(t, CKO_PUBLIC_KEY, id, idlen, h + (npriv < FOUND_MAX ? npriv :
			       FOUND_MAX), &npub)) != ENF_OK)
		return rc;
	if (npriv > FOUND_MAX || npub > FOUND_MAX)
		return enf_err(ENF_FAIL, "too many objects with id %s on the token",
			       id_hex(id, idlen).s);
	if (npriv + npub == 0)
		return enf_err(ENF_FAIL, "no key with id %s on the token", id_hex(id, idlen).s);
	return objects_destroy(t, h, npriv + npub);
}
