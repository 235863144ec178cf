/* The signing transaction (sign.h) and enf-sign's in-process flow. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "audit.h"
#include "io.h"
#include "sign.h"
#include "signer.h"
#include "sshsig.h"
#include "unlock.h"

/* One request between its decision and its commit: a copy of what its
 * record needs, so the request and its evaluation are freed at once and a
 * batch holds about a kilobyte per request. */
struct pending {
	char outcome[8], reason[32];
	char key[ENF_NAME_MAX + 1], identity[ENF_NAME_MAX + 1], purpose[ENF_NAME_MAX + 1];
	char scope[SCOPE_MAX + 1], rule[ENF_NAME_MAX + 1], policy_id[ENF_NAME_MAX + 1];
	int have_env, have_policy_digest;
	unsigned char request_digest[32], policy_digest[32];
	char detail[512];
	struct sign_output out;
	int staged;
	struct sign_outcome res;
};

/* What a batch reads once: the installed policy (read and checked once:
 * every request is decided under the same bytes) and the keys it opened
 * (opening one — unwrap, load, public-key check — costs more than a
 * signature).  A batch owns one, or uses the agent's (sign_cache_new). */
#define KEY_CACHE 64
struct cached_key {
	char name[ENF_NAME_MAX + 1];
	struct signer *k;	/* the keystore's or a token's (signer.h) */
};

struct sign_cache {
	struct evaluation policy;
	int policy_loaded;
	struct cached_key keys[KEY_CACHE];
	size_t nkeys;
};

struct sign_batch {
	struct keystore *ks;
	const char *observer;
	struct sign_cache *cache, own;
	struct pending *p;
	size_t n, cap;
	int (*before_publish)(void *);
	void *before_arg;
	void (*on_recorded)(void *);
	void *recorded_arg;
	uint64_t *seqs;			/* during the commit: the records' numbers */
};

struct sign_cache *sign_cache_new(void)
{
	return calloc(1, sizeof(struct sign_cache));
}

static void cache_clear(struct sign_cache *c)
{
	for (size_t i = 0; i < c->nkeys; i++)
		signer_free(c->keys[i].k);
	if (c->policy_loaded)
		evaluation_free(&c->policy);
	memset(c, 0, sizeof *c);
}

void sign_cache_free(struct sign_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c);
}

static int cache_policy(struct sign_cache *c, const struct keystore *ks)
{
	if (c->policy_loaded)
		return ENF_OK;
	if (evaluation_policy_load(ks, &c->policy) != ENF_OK) {
		evaluation_free(&c->policy);
		return ENF_FAIL;
	}
	c->policy_loaded = 1;
	return ENF_OK;
}

int sign_cache_load(struct sign_cache *c, const struct keystore *ks, int keys)
{
	int rc;

	cache_clear(c);
	if ((rc = cache_policy(c, ks)) != ENF_OK)
		return rc;
	for (size_t i = 0; keys && i < ks_key_count(ks) && c->nkeys < KEY_CACHE; i++) {
		const struct ks_key *k = ks_key_at(ks, i);
		struct cached_key *ck = &c->keys[c->nkeys];
		if (k->state != KS_ACTIVE)
			continue;
		memset(ck, 0, sizeof *ck);
		if (signer_open(ks, k->name, &ck->k) != ENF_OK)
			continue;	/* opened (and refused) again when asked for */
		snprintf(ck->name, sizeof ck->name, "%s", k->name);
		c->nkeys++;
	}
	enf_err_clear();
	return ENF_OK;
}

int sign_batch_new(struct keystore *ks, const char *observer, struct sign_cache *cache,
		   struct sign_batch **out)
{
	struct sign_batch *b = calloc(1, sizeof *b);

	if (!b)
		return enf_err(ENF_FAIL, "out of memory");
	b->ks = ks;
	b->observer = observer;
	b->cache = cache ? cache : &b->own;
	*out = b;
	return ENF_OK;
}

void sign_batch_before_publish(struct sign_batch *b, int (*fn)(void *), void *arg)
{
	b->before_publish = fn;
	b->before_arg = arg;
}

void sign_batch_on_recorded(struct sign_batch *b, void (*fn)(void *), void *arg)
{
	b->on_recorded = fn;
	b->recorded_arg = arg;
}

static struct pending *pending_new(struct sign_batch *b)
{
	if (b->n == SIGN_BATCH_MAX) {
		enf_err(ENF_FAIL, "more than %d requests in one batch", SIGN_BATCH_MAX);
		return NULL;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct pending *np = realloc(b->p, cap * sizeof *np);
		if (!np) {
			enf_err(ENF_FAIL, "out of memory");
			return NULL;
		}
		b->p = np;
		b->cap = cap;
	}
	memset(&b->p[b->n], 0, sizeof b->p[b->n]);
	return &b->p[b->n++];
}

static void set_outcome(struct pending *p, const char *outcome, const char *reason,
			const char *detail)
{
	snprintf(p->outcome, sizeof p->outcome, "%s", outcome);
	snprintf(p->reason, sizeof p->reason, "%s", reason);
	snprintf(p->detail, sizeof p->detail, "%s", detail ? detail : "");
}

/* What the record says of the request and the policy it met. */
static void copy_facts(struct pending *p, const struct evaluation *ev)
{
	if (ev->have_env) {
		p->have_env = 1;
		snprintf(p->key, sizeof p->key, "%s", ev->env.key);
		snprintf(p->identity, sizeof p->identity, "%s", ev->env.identity);
		snprintf(p->purpose, sizeof p->purpose, "%s", ev->env.purpose);
		snprintf(p->scope, sizeof p->scope, "%s", ev->env.scope);
		snprintf(p->rule, sizeof p->rule, "%s", ev->env.rule);
		memcpy(p->request_digest, ev->env.body_sha256, 32);
	}
	if (ev->pol)
		snprintf(p->policy_id, sizeof p->policy_id, "%s", ev->pol->id);
	if ((p->have_policy_digest = ev->have_policy_digest))
		memcpy(p->policy_digest, ev->policy_digest, 32);
}

/* A permitted request that could still not be carried out (key unreadable,
 * signing or output failed): recorded as such, the message for the caller. */
static void failed(struct pending *p, const char *reason)
{
	const char *msg = enf_errmsg();

	set_outcome(p, "fail", reason, msg);
	p->res.status = ENF_FAIL;
	snprintf(p->res.msg, sizeof p->res.msg, "%s", msg[0] ? msg : "signing failed");
}

/* The private key of an active key, opened once per batch.  Its state
 * was checked by the decision just made, on the same keystore. */
static struct signer *batch_key(struct sign_batch *b, const char *name)
{
	struct sign_cache *sc = b->cache;
	struct cached_key *c;

	for (size_t i = 0; i < sc->nkeys; i++)
		if (strcmp(sc->keys[i].name, name) == 0)
			return sc->keys[i].k;
	if (sc->nkeys == KEY_CACHE) {
		signer_free(sc->keys[KEY_CACHE - 1].k);
		sc->nkeys--;
	}
	c = &sc->keys[sc->nkeys];
	memset(c, 0, sizeof *c);
	if (signer_open(b->ks, name, &c->k) != ENF_OK)
		return NULL;
	snprintf(c->name, sizeof c->name, "%s", name);
	sc->nkeys++;
	return c->k;
}

static int make_signature(struct sign_batch *b, const struct envelope *e, struct wbuf *sig)
{
	struct signer *k = batch_key(b, e->key);
	int rc;

	if (!k)
		return ENF_FAIL;
	if (e->format == FMT_RAW)
		rc = k->sign_raw(k, e->digest_alg, e->digest, sig);
	else
		rc = sshsig_sign_with(k, e->purpose, e->digest_alg, e->digest, sig);
	if (rc == ENF_OK && sig->failed)
		rc = enf_err(ENF_FAIL, "out of memory");
	return rc;
}

/* The permit's detail names the rule and the approvers that counted. */
static void permit(struct sign_batch *b, struct pending *p, const struct evaluation *ev)
{
	struct wbuf sig;

	wbuf_init(&sig, 0);
	enf_err_clear();
	if (make_signature(b, &ev->env, &sig) != ENF_OK) {
		failed(p, "sign-failed");
	} else if (p->out.stage && p->out.stage(p->out.arg, sig.p, sig.len) != ENF_OK) {
		failed(p, "output-failed");
	} else {
		p->staged = 1;
		p->res.status = ENF_OK;
		set_outcome(p, "permit", reason_code(R_PERMIT), ev->d.detail);
	}
	wbuf_free(&sig);
}

int sign_batch_add(struct sign_batch *b, const struct request_text *r,
		   const struct sign_output *out)
{
	struct evaluation ev;
	struct pending *p;
	int rc;

	if (!(p = pending_new(b)))
		return ENF_FAIL;
	if (out)
		p->out = *out;
	enf_err_clear();
	if (cache_policy(b->cache, b->ks) != ENF_OK) {
		failed(p, "evaluation-failed");
		return ENF_OK;
	}
	rc = evaluate_request_under(b->ks, &b->cache->policy, r, &ev);
	copy_facts(p, &ev);
	if (rc == ENF_OK) {
		permit(b, p, &ev);
	} else if (rc == ENF_NO) {
		set_outcome(p, "deny", reason_code(ev.d.reason), ev.d.detail);
		p->res.status = ENF_NO;
	} else {
		failed(p, "evaluation-failed");
	}
	evaluation_free(&ev);
	return ENF_OK;
}

static void event_of(const struct sign_batch *b, const struct pending *p, struct audit_event *a)
{
	*a = audit_event_make(SIGN_PROGRAM, "sign", p->outcome, p->reason);
	a->detail = p->detail[0] ? p->detail : NULL;
	a->peer = b->observer;
	if (p->have_env) {
		a->key = p->key;
		a->identity = p->identity;
		a->purpose = p->purpose;
		a->scope = p->scope;
		a->rule = p->rule;
		a->request_digest = p->request_digest;
	}
	if (p->policy_id[0])
		a->policy_id = p->policy_id;
	if (p->have_policy_digest)
		a->policy_digest = p->policy_digest;
}

static void publish_failed(struct pending *p)
{
	const char *msg = enf_errmsg();

	p->res.status = ENF_FAIL;
	snprintf(p->res.msg, sizeof p->res.msg, "%s", msg[0] ? msg : "cannot publish the output");
}

/* Once the records are durable (or could not be written: a failed append
 * never changes a decision), before the audit head is written. */
static void recorded(void *arg)
{
	struct sign_batch *b = arg;

	for (size_t i = 0; b->seqs && i < b->n; i++)
		b->p[i].res.seq = b->seqs[i];
	if (b->on_recorded)
		b->on_recorded(b->recorded_arg);
}

/* After the append, outside the log's lock: a caller's output may be slow
 * to take (a full pipe, a stopped terminal) and must not hold up every
 * other writer of the log. */
static void publish_all(struct sign_batch *b)
{
	int ready = ENF_OK;

	enf_err_clear();
	if (b->before_publish)
		ready = b->before_publish(b->before_arg);
	for (size_t i = 0; i < b->n; i++) {
		struct pending *p = &b->p[i];
		if (!p->staged) {
			if (p->out.discard)
				p->out.discard(p->out.arg);
		} else if (ready != ENF_OK) {
			if (p->out.discard)
				p->out.discard(p->out.arg);
			publish_failed(p);
		} else if (p->out.publish && p->out.publish(p->out.arg) != ENF_OK) {
			publish_failed(p);
		}
		p->staged = 0;
	}
}

/* Every record of the batch in one append: one lock, one fsync. */
size_t sign_batch_commit(struct sign_batch *b)
{
	struct audit_event *evs;

	if (b->n == 0)
		return 0;
	evs = calloc(b->n, sizeof *evs);
	b->seqs = calloc(b->n, sizeof *b->seqs);
	if (evs && b->seqs) {
		for (size_t i = 0; i < b->n; i++)
			event_of(b, &b->p[i], &evs[i]);
		audit_append_many(b->ks, evs, b->n, b->seqs, recorded, b);
	} else {
		enf_warn("audit: cannot write the records: out of memory");
		recorded(b);
	}
	free(evs);
	free(b->seqs);
	b->seqs = NULL;
	publish_all(b);
	return b->n;
}

const struct sign_outcome *sign_batch_outcome(const struct sign_batch *b, size_t i)
{
	return i < b->n ? &b->p[i].res : NULL;
}

void sign_batch_free(struct sign_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->p[i].staged && b->p[i].out.discard)
			b->p[i].out.discard(b->p[i].out.arg);
	cache_clear(&b->own);
	free(b->p);
	free(b);
}

void sign_share_head_memo(void *mem)
{
	audit_share_head_memo(mem);
}

void sign_report(const char *name, const struct sign_outcome *o)
{
	char who[1100] = "";

	if (o->status == ENF_OK)
		return;
	if (name)
		snprintf(who, sizeof who, "%s: ", name);
	if (o->status == ENF_FAIL)
		fprintf(stderr, "%s: %s%s\n", SIGN_PROGRAM, who, o->msg);
	/* Exactly this line and nothing else: the reason is in the log. */
	else if (o->seq)
		fprintf(stderr, "%s: %sdenied (audit #%llu)\n", SIGN_PROGRAM, who,
			(unsigned long long)o->seq);
	else
		fprintf(stderr, "%s: %sdenied (audit record not written)\n", SIGN_PROGRAM, who);
}

int sign_exit_code(const struct sign_outcome *const *o, size_t n)
{
	int rc = ENF_OK;

	for (size_t i = 0; i < n; i++) {
		if (o[i]->status == ENF_FAIL)
			return ENF_FAIL;
		if (o[i]->status == ENF_NO)
			rc = ENF_NO;
	}
	return rc;
}

/* ---- outputs ---- */

static int atomic_stage(void *arg, const unsigned char *sig, size_t n)
{
	struct atomic_file *f = arg;

	if (atomic_open(f, f->path, 0644) != ENF_OK)
		return ENF_FAIL;
	if (atomic_write(f, sig, n) != ENF_OK) {
		atomic_abort(f);
		return ENF_FAIL;
	}
	return ENF_OK;
}

static int atomic_publish(void *arg) { return atomic_commit(arg); }
static void atomic_discard(void *arg)
{
	struct atomic_file *f = arg;

	if (f->fd >= 0 || f->tmp)
		atomic_abort(f);
}

char *sign_batch_path(const char *dir, const char *request)
{
	const char *base = strrchr(request, '/');
	size_t n, dn = strlen(dir);
	char *path;

	base = base ? base + 1 : request;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".req") == 0)
		n -= 4;
	if (n == 0 || (n == 1 && base[0] == '.') || (n == 2 && strncmp(base, "..", 2) == 0))
		return NULL;
	if (!(path = malloc(dn + n + 6)))
		return NULL;
	snprintf(path, dn + n + 6, "%s/%.*s.sig", dir, (int)n, base);
	return path;
}

/* A batch's staged files are named (a batch may stage more files than it
 * may hold open), NAME.sig.tmpPID.XXXXXX: a kill -9 between staging and
 * publishing leaves them.  The first staging into a directory removes
 * those of processes that no longer exist. */
static void sweep_stale(const char *path)
{
	static char *swept;
	char *dir = io_dirname(path);

	if (!dir || (swept && strcmp(swept, dir) == 0)) {
		free(dir);
		return;
	}
	io_sweep_dead(dir, ".sig.tmp");
	free(swept);
	swept = dir;
}

/* The temporary file for path, with mode: 0, or -1 and errno (no
 * message: ahead_run's thread calls it too). */
static int staged_create(struct staged_file *f, const char *path, mode_t mode)
{
	size_t n = strlen(path) + 40;
	int e = ENOMEM;

	f->fd = -1;
	f->tmp = NULL;
	if ((f->path = strdup(path)) && (f->tmp = malloc(n))) {
		snprintf(f->tmp, n, "%s.tmp%ld.XXXXXX", path, (long)getpid());
		if ((f->fd = mkstemp(f->tmp)) >= 0 && fchmod(f->fd, mode) == 0)
			return 0;
		e = errno;
	}
	staged_discard(f);
	errno = e;
	return -1;
}

int staged_open(struct staged_file *f, const char *path)
{
	sweep_stale(path);
	/* Signatures are public: 0644 less the umask, as for -o. */
	if (staged_create(f, path, io_output_mode(0644)) == 0)
		return ENF_OK;
	if (errno == ENOMEM)
		return enf_err(ENF_FAIL, "out of memory");
	return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
}

/* Write and close: the batch syncs all its files at once (staged_sync_dir). */
int staged_write(struct staged_file *f, const unsigned char *p, size_t n)
{
	int rc = io_write_all(f->fd, p, n);

	if (close(f->fd) < 0)
		rc = -1;
	f->fd = -1;
	if (rc < 0) {
		int e = errno;
		staged_discard(f);
		return enf_err(ENF_FAIL, "%s: %s", f->path ? f->path : "output", strerror(e));
	}
	return ENF_OK;
}

int staged_rename(struct staged_file *f)
{
	if (rename(f->tmp, f->path) < 0) {
		int e = errno;
		enf_err(ENF_FAIL, "%s: %s", f->path, strerror(e));
		staged_discard(f);
		return ENF_FAIL;
	}
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	return ENF_OK;
}

void staged_discard(struct staged_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	f->fd = -1;
}

int staged_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", dir, strerror(errno));
	rc = syncfs(fd);
	close(fd);
	return rc < 0 ? enf_err(ENF_FAIL, "%s: %s", dir, strerror(errno)) : ENF_OK;
}

/* ---- enf-sign in process ---- */

struct dir_output {
	struct staged_file f;
	char *path;
};

/* Creating a file costs as much as a quarter of a decision on some disks
 * (0.3-0.5 ms on the VM the bench ran on), and the decisions use one
 * core: a thread creates the batch's temporary files on another, at most
 * AHEAD_MAX requests ahead of the decisions.  A file it could not create
 * is created again, and its failure reported, by the decision's own
 * staging.  A request that stages nothing (a denial) has its file closed
 * when its decision is made, and removed with the batch's discards. */
#define AHEAD_MAX 32

struct ahead {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dir_output *outs;
	size_t n, made, deciding;
	mode_t mode;
	int stop, running;	/* running: the thread was started */
};

static void *ahead_run(void *arg)
{
	struct ahead *a = arg;

	pthread_mutex_lock(&a->mu);
	while (a->made < a->n && !a->stop) {
		size_t i = a->made;
		if (i >= a->deciding + AHEAD_MAX) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		pthread_mutex_unlock(&a->mu);
		if (a->outs[i].path)
			staged_create(&a->outs[i].f, a->outs[i].path, a->mode);
		pthread_mutex_lock(&a->mu);
		a->made = i + 1;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Without a thread (one request, or none could be started) each file is
 * created when it is staged. */
static void ahead_start(struct ahead *a, struct dir_output *outs, size_t n)
{
	a->outs = outs;
	a->n = n;
	a->mode = io_output_mode(0644);	/* umask() is not for threads */
	if (n < 2 || pthread_mutex_init(&a->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&a->cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		return;
	}
	if (pthread_create(&a->thread, NULL, ahead_run, a) != 0) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		return;
	}
	a->running = 1;
}

/* Request i is being decided: its file is made (or given up on). */
static void ahead_deciding(struct ahead *a, size_t i)
{
	if (!a->running)
		return;
	pthread_mutex_lock(&a->mu);
	a->deciding = i;
	pthread_cond_broadcast(&a->cv);
	while (a->made <= i && !a->stop)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

static void ahead_stop(struct ahead *a)
{
	if (!a->running)
		return;
	a->running = 0;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
}

static int dir_stage(void *arg, const unsigned char *sig, size_t n)
{
	struct dir_output *d = arg;

	if (!d->path)
		return enf_err(ENF_FAIL, "out of memory");
	if (d->f.fd < 0 && staged_open(&d->f, d->path) != ENF_OK)
		return ENF_FAIL;
	return staged_write(&d->f, sig, n);
}

static int dir_publish(void *arg) { return staged_rename(&((struct dir_output *)arg)->f); }
static void dir_discard(void *arg) { staged_discard(&((struct dir_output *)arg)->f); }
static int dir_sync(void *dir) { return staged_sync_dir(dir); }

/* Reads each request, decides it, and lets go of it before the next. */
static int add_all(struct sign_batch *b, const struct sign_job *j, struct dir_output *outs,
		   struct ahead *ahead)
{
	struct request_text req;
	struct sign_output o;

	for (size_t i = 0; i < j->nrequests; i++) {
		int rc;

		memset(&req, 0, sizeof req);
		if ((rc = request_read(j->requests[i], &req)) != ENF_OK)
			return rc;
		ahead_deciding(ahead, i);
		o = (struct sign_output){ dir_stage, dir_publish, dir_discard, &outs[i] };
		rc = sign_batch_add(b, &req, &o);
		request_free(&req);
		/* Staging wrote and closed it; else it waits, closed, for its discard. */
		if (outs[i].f.fd >= 0) {
			close(outs[i].f.fd);
			outs[i].f.fd = -1;
		}
		if (rc != ENF_OK)
			return rc;
	}
	return ENF_OK;
}

/* The outputs' paths, and the thread that creates their files ahead. */
static struct dir_output *dir_outputs(const struct sign_job *j, struct ahead *ahead)
{
	struct dir_output *outs = calloc(j->nrequests, sizeof *outs);

	if (!outs)
		return NULL;
	for (size_t i = 0; i < j->nrequests; i++) {
		outs[i].f.fd = -1;
		outs[i].path = sign_batch_path(j->dir, j->requests[i]);
	}
	if (outs[0].path)
		sweep_stale(outs[0].path);
	ahead_start(ahead, outs, j->nrequests);
	return outs;
}

static int report_all(const struct sign_batch *b, const struct sign_job *j)
{
	const struct sign_outcome **o = calloc(b->n ? b->n : 1, sizeof *o);
	int rc;

	if (!o)
		return enf_err(ENF_FAIL, "out of memory");
	for (size_t i = 0; i < b->n; i++) {
		o[i] = sign_batch_outcome(b, i);
		sign_report(j->dir ? j->requests[i] : NULL, o[i]);
	}
	rc = sign_exit_code(o, b->n);
	free(o);
	return rc;
}

/* Every request is read before the passphrase is asked for: an unreadable
 * file stops here, having recorded nothing. */
static int check_readable(const struct sign_job *j)
{
	for (size_t i = 0; j->dir && i < j->nrequests; i++)
		if (access(j->requests[i], R_OK) != 0)
			return enf_err(ENF_FAIL, "%s: %s", j->requests[i], strerror(errno));
	return ENF_OK;
}

int sign_local(const struct sign_job *j)
{
	struct keystore *ks = NULL;
	struct sign_batch *b = NULL;
	struct atomic_file single = { .path = (char *)j->out, .fd = -1 };
	struct dir_output *outs = NULL;
	struct ahead ahead = { 0 };
	struct request_text first = { 0 };
	int rc;

	if ((rc = ks_open_home(j->home, &ks)) != ENF_OK)
		return enf_report(rc);
	if (!j->dir) {
		/* Read before asking for the passphrase (and again below, which for
		 * stdin would lose it: keep this copy). */
		rc = request_read(j->requests ? j->requests[0] : NULL, &first);
	} else {
		rc = check_readable(j);
	}
	if (rc == ENF_OK)
		rc = unlock_role(ks, ROLE_OPERATOR, j->passfile, SIGN_PROGRAM, "sign");
	if (rc == ENF_OK)
		rc = sign_batch_new(ks, NULL, NULL, &b);
	if (rc == ENF_OK && j->dir && !(outs = dir_outputs(j, &ahead)))
		rc = enf_err(ENF_FAIL, "out of memory");
	if (rc == ENF_OK && !j->dir) {
		struct sign_output o = { atomic_stage, atomic_publish, atomic_discard, &single };
		rc = sign_batch_add(b, &first, &o);
	} else if (rc == ENF_OK) {
		sign_batch_before_publish(b, dir_sync, (void *)j->dir);
		rc = add_all(b, j, outs, &ahead);
	}
	ahead_stop(&ahead);
	if (b) {
		/* What was decided is recorded and carried out even when a later
		 * request of the batch could not be read; why it stopped is said
		 * last (the commit has messages of its own). */
		int stopped = rc;
		char why[512];
		snprintf(why, sizeof why, "%s", enf_errmsg());
		sign_batch_commit(b);
		if (j->dir)
			io_fsync_dir(j->dir);
		rc = report_all(b, j);
		if (stopped != ENF_OK)
			rc = enf_report(enf_err(stopped, "%s", why));
	} else {
		rc = enf_report(rc);
	}
	sign_batch_free(b);
	/* Files made ahead for requests never decided (the batch stopped). */
	for (size_t i = 0; outs && i < j->nrequests; i++) {
		staged_discard(&outs[i].f);
		free(outs[i].path);
	}
	free(outs);
	request_free(&first);
	ks_close(ks);
	return rc;
}
