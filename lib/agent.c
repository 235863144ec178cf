/* enf-agent: the server (agent.h has the design). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "enf.h"
#include "agent.h"
#include "agent_proto.h"
#include "cred.h"
#include "crypto.h"
#include "io.h"
#include "seal.h"
#include "seal_cmd.h"
#include "token.h"
#include "unlock.h"

#define PROG "enf-agent"

/* The unlocked session and what it was authenticated from. */
struct session {
	char *home;
	struct keystore *ks;		/* NULL when the changed keystore did not re-authenticate */
	struct secret pass;		/* kept, in secure memory, to re-authenticate */
	struct stat seen;		/* the keystore file when it was authenticated */
	struct sign_cache *cache;	/* the policy and keys, read once (sign.h) */
	struct stat policy_seen;	/* the policy file when cache read it */
	int policy_present;
	char broken[512];		/* why ks is NULL */
	int locked_memory;		/* mlockall succeeded: children must lock too */
	uid_t uid;
	unsigned gen;			/* bumped whenever ks or cache changes */
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) { (void)sig; stop_requested = 1; }
/* Caught (not ignored) only so that a handler's end interrupts ppoll. */
static void on_child(int sig) { (void)sig; }

/* ---- start-up ---- */

/* Nothing of the agent's memory may reach a core file, swap or a debugger
 * of the same uid. */
static void harden(void)
{
	struct rlimit no = { 0, 0 };

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &no);
}

/* In the process that will hold the secrets: locks do not survive fork. */
static void lock_memory(struct session *s)
{
	s->locked_memory = mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0;
	if (!s->locked_memory)
		enf_warn("warning: cannot lock the agent's memory (%s); secrets stay in "
			 "libgcrypt's locked pool, the rest may be swapped (raise RLIMIT_MEMLOCK, "
			 "LimitMEMLOCK= in a unit)", strerror(errno));
}

long agent_parse_lifetime(const char *s)
{
	char *end;
	long v, mul = 1;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	return v > 100L * 365 * 86400 / mul ? -1 : v * mul;
}

/* -a PATH: a new name in a directory only we (or root) can write, like
 * ssh-agent's.  Refuses what exists, a symlink, a shared directory. */
static int check_socket_path(const char *path)
{
	struct stat st;
	char *dir = io_dirname(path);
	int rc = ENF_OK;

	if (!dir)
		return enf_err(ENF_FAIL, "out of memory");
	if (strlen(path) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
		free(dir);
		return enf_err(ENF_FAIL, "%s: socket path too long", path);
	}
	if (lstat(path, &st) == 0) {
		rc = enf_err(ENF_FAIL, "%s: %s; refusing to replace it", path,
			     S_ISLNK(st.st_mode) ? "is a symlink" : "exists already");
	} else if (errno != ENOENT) {
		rc = enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	} else {
		if (lstat(dir, &st) < 0)
			rc = enf_err(ENF_FAIL, "%s: %s", dir, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			rc = enf_err(ENF_FAIL, "%s: not a directory (or a symlink)", dir);
		else if ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
			 (st.st_uid != geteuid() && st.st_uid != 0))
			rc = enf_err(ENF_FAIL, "%s: others can write this directory; "
				     "the agent's socket must live in a private one", dir);
	}
	free(dir);
	return rc;
}

/* The default: a fresh 0700 directory under $TMPDIR (0710 and the group's
 * when --group is given, so that its members can reach the socket). */
static int default_socket(gid_t gid, int with_group, char **dirp, char **pathp)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;
	size_t n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = strlen(tmp) + 32;
	if (!(dir = malloc(n)) || !(*pathp = malloc(n + 32))) {
		free(dir);
		return enf_err(ENF_FAIL, "out of memory");
	}
	snprintf(dir, n, "%s/enf-agent-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		int e = errno;
		free(dir);
		free(*pathp);
		return enf_err(ENF_FAIL, "cannot create a directory in %s: %s", tmp, strerror(e));
	}
	if (with_group && (chown(dir, (uid_t)-1, gid) < 0 || chmod(dir, 0710) < 0)) {
		int e = errno;
		enf_err(ENF_FAIL, "%s: %s", dir, strerror(e));
		rmdir(dir);
		free(dir);
		free(*pathp);
		return ENF_FAIL;
	}
	snprintf(*pathp, n + 32, "%s/agent.%ld", dir, (long)getpid());
	*dirp = dir;
	return ENF_OK;
}

static int listen_on(const char *path, int with_group, gid_t gid, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old;

	if (fd < 0)
		return enf_err(ENF_FAIL, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	/* Created 0600: never reachable by others, not even for an instant. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		umask(old);
		close(fd);
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(e));
	}
	umask(old);
	if ((with_group && (chown(path, (uid_t)-1, gid) < 0 || chmod(path, 0660) < 0)) ||
	    listen(fd, 128) < 0) {
		int e = errno;
		unlink(path);
		close(fd);
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(e));
	}
	*fdp = fd;
	return ENF_OK;
}

static int stat_keystore(const char *home, struct stat *st)
{
	char *path = home_path(home, KEYSTORE_FILE);
	int rc = path && stat(path, st) == 0 ? ENF_OK : ENF_FAIL;

	free(path);
	return rc;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int stat_policy(const char *home, struct stat *st)
{
	char *path = home_path(home, "policy");
	int present = path && lstat(path, st) == 0;

	if (!present)
		memset(st, 0, sizeof *st);
	free(path);
	return present;
}

/* The policy and the keys every child would otherwise read again: read
 * once here, and again whenever the policy file or the keystore changes.
 * A policy that cannot be loaded (unsafe file) is read, and refused, by
 * each request as in process. */
static void load_cache(struct session *s)
{
	s->gen++;
	s->policy_present = stat_policy(s->home, &s->policy_seen);
	if (!s->cache && !(s->cache = sign_cache_new()))
		return;
	sign_cache_load(s->cache, s->ks, 1);
}

static void refresh_policy(struct session *s)
{
	struct stat now;
	int present = stat_policy(s->home, &now);

	if (s->ks && (present != s->policy_present || !same_file(&now, &s->policy_seen)))
		load_cache(s);
}

/* Open and unlock the instance from the passphrase we hold; on success
 * the session uses it from now on. */
static int authenticate(struct session *s)
{
	struct keystore *ks = NULL;
	int rc;

	if ((rc = ks_open(s->home, &ks)) == ENF_OK)
		rc = unlock_with(ks, ROLE_OPERATOR, &s->pass, PROG, "unlock");
	if (rc != ENF_OK) {
		ks_close(ks);
		return rc;
	}
	ks_close(s->ks);
	s->ks = ks;
	s->broken[0] = '\0';
	/* After the unlock: a successful one may itself rewrite the keystore
	 * (it clears a failure count). */
	stat_keystore(s->home, &s->seen);
	load_cache(s);
	return ENF_OK;
}

/* The keystore changed (an officer's change, a failed unlock elsewhere,
 * tampering): re-read and re-authenticate it once per change.  Until that
 * succeeds the agent serves nothing. */
static void refresh(struct session *s)
{
	struct stat now;

	if (stat_keystore(s->home, &now) != ENF_OK || same_file(&now, &s->seen))
		return;
	s->seen = now;
	if (authenticate(s) != ENF_OK) {
		snprintf(s->broken, sizeof s->broken, "the instance's keystore changed and "
			 "the agent could not re-authenticate it (%s); restart the agent",
			 enf_errmsg());
		ks_close(s->ks);
		s->ks = NULL;
		s->gen++;
		stat_keystore(s->home, &s->seen);
	}
}

static void session_wipe(struct session *s)
{
	sign_cache_free(s->cache);
	s->cache = NULL;
	ks_close(s->ks);
	s->ks = NULL;
	secret_free(&s->pass);
}

/* ---- one connection (in its own process) ---- */

struct conn {
	int fd;
	struct session *s;
	char observer[64];
	uid_t peer_uid;
	int errfd;			/* memfd that is our stderr: relayed to the client */
	int logfd;			/* the agent's own stderr */
	struct ap_buf in;
};

/* What the library wrote on stderr since the last call, as frames. */
static void put_stderr(struct conn *c, struct wbuf *w)
{
	unsigned char buf[AP_CHUNK];
	off_t end = lseek(c->errfd, 0, SEEK_CUR);
	ssize_t r;

	if (end <= 0)
		return;
	fflush(stderr);
	lseek(c->errfd, 0, SEEK_SET);
	while ((r = read(c->errfd, buf, sizeof buf)) > 0)
		ap_put_frame(w, AP_STDERR, buf, (size_t)r);
	if (ftruncate(c->errfd, 0) < 0)
		return;
	lseek(c->errfd, 0, SEEK_SET);
}

static void done(struct conn *c, int status, const char *msg)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	put_stderr(c, &w);
	ap_put_done(&w, status, msg);
	ap_write(c->fd, &w);
	wbuf_free(&w);
}

/* A permitted signature waits here until the batch's records are written. */
struct held {
	int no_output;
	char msg[AP_MSG_MAX + 1];
	struct wbuf sig;
};

static int held_stage(void *arg, const unsigned char *sig, size_t n)
{
	struct held *h = arg;

	/* The caller could not open its output: as in process, the permit
	 * becomes a failure recorded as output-failed. */
	if (h->no_output)
		return enf_err(ENF_FAIL, "%s", h->msg);
	wbuf_reset(&h->sig);
	return wbuf_put(&h->sig, sig, n) < 0 ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

static int add_request(struct conn *c, struct sign_batch *b, const struct ap_frame *f,
		       struct held ***held, size_t *n)
{
	struct request_text r = { 0 };
	struct ap_sign as;
	struct held *h, **nh;
	int rc;

	if (ap_sign_parse(f, &as) != ENF_OK)
		return enf_err(ENF_FAIL, "malformed sign request");
	if (!(nh = realloc(*held, (*n + 1) * sizeof *nh)) || !(h = calloc(1, sizeof *h))) {
		if (nh)
			*held = nh;
		return enf_err(ENF_FAIL, "out of memory");
	}
	*held = nh;
	nh[(*n)++] = h;
	wbuf_init(&h->sig, 0);
	h->no_output = (as.flags & AP_F_NO_OUTPUT) != 0;
	snprintf(h->msg, sizeof h->msg, "%.*s", (int)as.msglen, (const char *)as.msg);
	r.oversize = (as.flags & AP_F_OVERSIZE) != 0;
	if (!(r.p = malloc(as.reqlen + 1)))
		return enf_err(ENF_FAIL, "out of memory");
	memcpy(r.p, as.req, as.reqlen);
	r.p[as.reqlen] = '\0';
	r.n = as.reqlen;
	struct sign_output out = { held_stage, NULL, NULL, h };
	rc = sign_batch_add(b, &r, &out);
	request_free(&r);
	(void)c;
	return rc;
}

/* A batch's answer: its results, sent once its records are durable and
 * before the audit head is written (sign_batch_on_recorded), so that the
 * caller does not wait for the head.  The log is still locked then,
 * so nothing may wait for the caller: what the socket does not take at
 * once goes after the commit (answer_rest). */
struct answer {
	struct conn *c;
	const struct sign_batch *b;
	struct held **held;
	size_t n, sent;
	struct wbuf w;
};

static void answer_now(void *arg)
{
	struct answer *a = arg;
	ssize_t r = 0;

	put_stderr(a->c, &a->w);
	for (size_t i = 0; i < a->n; i++) {
		const struct sign_outcome *o = sign_batch_outcome(a->b, i);
		int ok = o->status == ENF_OK;
		ap_put_result(&a->w, o->status, o->seq, o->status == ENF_FAIL ? o->msg : NULL,
			      ok ? a->held[i]->sig.p : NULL, ok ? a->held[i]->sig.len : 0);
	}
	while (!a->w.failed && a->sent < a->w.len &&
	       ((r = send(a->c->fd, a->w.p + a->sent, a->w.len - a->sent,
			  MSG_DONTWAIT | MSG_NOSIGNAL)) > 0 || (r < 0 && errno == EINTR)))
		a->sent += r > 0 ? (size_t)r : 0;
	/* The caller has its answer: what writing the head may still report
	 * is the agent's to log. */
	fflush(stderr);
	if (a->c->logfd >= 0)
		dup2(a->c->logfd, STDERR_FILENO);
}

static void answer_rest(struct answer *a)
{
	if (!a->w.failed && a->sent < a->w.len)
		io_write_all(a->c->fd, a->w.p + a->sent, a->w.len - a->sent);
}

/* SIGN... COMMIT: one batch, one group commit, and every result as soon
 * as the records are durable (struct answer).  A client that goes away
 * before COMMIT gets nothing decided recorded and nothing signed out of
 * the agent. */
static int serve_sign(struct conn *c, struct ap_frame *f)
{
	struct answer a;
	struct sign_batch *b = NULL;
	struct held **held = NULL;
	size_t n = 0;
	int rc;

	enf_setprogname(SIGN_PROGRAM);
	if ((rc = sign_batch_new(c->s->ks, c->observer, c->s->cache, &b)) != ENF_OK)
		goto out;
	for (;;) {
		if ((rc = add_request(c, b, f, &held, &n)) != ENF_OK)
			goto out;
		if ((rc = ap_read_frame(c->fd, &c->in, f)) != ENF_OK)
			goto out;
		if (f->type == AP_COMMIT)
			break;
		if (f->type != AP_SIGN) {
			rc = enf_err(ENF_FAIL, "unexpected frame in a batch");
			goto out;
		}
	}
	a = (struct answer){ .c = c, .b = b, .held = held, .n = n };
	wbuf_init(&a.w, 0);
	sign_batch_on_recorded(b, answer_now, &a);
	sign_batch_commit(b);
	answer_rest(&a);
	wbuf_free(&a.w);
out:
	if (rc != ENF_OK)
		done(c, ENF_FAIL, rc == ENF_NO ? "the connection ended before the commit" :
		     enf_errmsg());
	sign_batch_free(b);
	for (size_t i = 0; i < n; i++) {
		wbuf_free(&held[i]->sig);
		free(held[i]);
	}
	free(held);
	return rc;
}

/* ---- seal and open: the stream relayed through two pipes ---- */

struct relay {
	struct conn *c;
	int pipe_fd;
};

/* Client DATA frames into the pipe seal reads, until END.  A client that
 * goes away or breaks the protocol mid-stream ends the whole connection at
 * once: nothing is recorded as done, and its output was never committed. */
static void *relay_in(void *arg)
{
	struct relay *r = arg;
	struct ap_buf buf = { 0 };
	struct ap_frame f;

	for (;;) {
		if (ap_read_frame(r->c->fd, &buf, &f) != ENF_OK || (f.type != AP_DATA && f.type != AP_END))
			_exit(ENF_FAIL);
		if (f.type == AP_END)
			break;
		if (io_write_all(r->pipe_fd, f.body, f.len) < 0)
			break;		/* seal stopped reading: it has failed, and says why */
	}
	close(r->pipe_fd);
	ap_buf_free(&buf);
	return NULL;
}

/* seal's output, framed as DATA to the client. */
static void *relay_out(void *arg)
{
	struct relay *r = arg;
	unsigned char *buf = malloc(AP_CHUNK);
	ssize_t got;

	if (!buf)
		_exit(ENF_FAIL);
	for (;;) {
		size_t n = 0;
		while (n < AP_CHUNK && (got = read(r->pipe_fd, buf + n, AP_CHUNK - n)) != 0) {
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				_exit(ENF_FAIL);
			n += (size_t)got;
			break;
		}
		if (n == 0)
			break;
		if (ap_send(r->c->fd, AP_DATA, buf, n) != ENF_OK)
			_exit(ENF_FAIL);
	}
	wipe(buf, AP_CHUNK);
	free(buf);
	return NULL;
}

static int serve_seal(struct conn *c, const struct ap_frame *f)
{
	struct ap_stream st;
	struct seal_peer from;
	char outerr[AP_MSG_MAX + 1];
	int in[2], out[2], rc;
	struct relay ri, ro;
	pthread_t ti, to;
	struct atomic_file af;

	enf_setprogname("enf-seal");
	/* The --from file is parsed here as enf-seal parses it in process;
	 * the client has parsed it already, so only a broken client fails. */
	if (ap_stream_parse(f, &st) != ENF_OK ||
	    (st.from && seal_peer_parse((const char *)st.from, st.fromlen, &from) != ENF_OK)) {
		done(c, ENF_FAIL, "malformed seal request");
		return ENF_FAIL;
	}
	snprintf(outerr, sizeof outerr, "%.*s", (int)st.msglen, (const char *)st.msg);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		done(c, ENF_FAIL, "cannot create a pipe");
		return ENF_FAIL;
	}
	ri = (struct relay){ c, in[1] };
	ro = (struct relay){ c, out[0] };
	if (pthread_create(&ti, NULL, relay_in, &ri) != 0 ||
	    pthread_create(&to, NULL, relay_out, &ro) != 0) {
		done(c, ENF_FAIL, "cannot start the relay");
		return ENF_FAIL;
	}
	memset(&af, 0, sizeof af);
	af.to_stdout = 1;
	af.fd = out[1];
	rc = seal_serve(c->s->ks, f->type == AP_OPEN, st.from ? from.id : NULL, in[0], &af,
			(st.flags & AP_F_NO_OUTPUT) ? outerr : NULL, (st.flags & AP_F_STREAM) != 0,
			c->observer);
	snprintf(outerr, sizeof outerr, "%s", enf_errmsg());
	close(out[1]);
	pthread_join(to, NULL);
	close(in[0]);
	done(c, rc, rc == ENF_OK ? NULL : outerr);
	return rc;
}

static int serve_stop(struct conn *c)
{
	/* Only the agent's own account (or root) may stop it: a caller of a
	 * shared service must not be able to stop the service. */
	if (c->peer_uid != c->s->uid && c->peer_uid != 0) {
		done(c, ENF_NO, "only the agent's owner may stop it");
		return ENF_NO;
	}
	kill(getppid(), SIGTERM);
	done(c, ENF_OK, NULL);
	return ENF_OK;
}

static void conn_setup(struct conn *c)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->peer_uid = cr.uid;
		/* Observation only: it never takes part in a decision. */
		snprintf(c->observer, sizeof c->observer, "uid=%lu,pid=%ld",
			 (unsigned long)cr.uid, (long)cr.pid);
	} else {
		c->peer_uid = (uid_t)-1;
		snprintf(c->observer, sizeof c->observer, "uid=?,pid=?");
	}
}

static int serve(struct conn *c, const char *refusal)
{
	struct ap_frame f;
	int rc;

	if ((rc = ap_read_frame(c->fd, &c->in, &f)) != ENF_OK) {
		if (rc == ENF_FAIL)
			done(c, ENF_FAIL, enf_errmsg());
		return ENF_FAIL;
	}
	if (f.type == AP_STOP)
		return serve_stop(c);
	if (refusal) {
		done(c, ENF_FAIL, refusal);
		return ENF_FAIL;
	}
	if (f.type == AP_SIGN)
		return serve_sign(c, &f);
	if (f.type == AP_SEAL || f.type == AP_OPEN)
		return serve_seal(c, &f);
	done(c, ENF_FAIL, "unexpected frame");
	return ENF_FAIL;
}

/* What every handler does first, before it has a connection: die with
 * the agent (a kill -9 of the agent leaves no child signing), drop the
 * agent's fds and signal handling, lock memory.  Returns the refusal a
 * handler that cannot lock its memory gives, or NULL. */
static const char *child_start(struct session *s, int lfd, int spare_fd)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	close(lfd);
	if (spare_fd >= 0)
		close(spare_fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Memory locks are not inherited across fork.  MCL_ONFAULT locks what
	 * is resident and what gets faulted in (the copies made on write)
	 * without populating, so it costs next to nothing. */
	if (s->locked_memory && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		return "the agent cannot lock its memory";
	/* Handlers read keys the cache does not hold, all at once. */
	if (s->ks && ks_own_view(s->ks) != ENF_OK)
		return "the agent cannot read its keystore";
	return NULL;
}

static void child_serve(struct session *s, int fd, unsigned timeout, const char *refusal)
{
	struct conn c = { .fd = fd, .s = s, .errfd = -1, .logfd = -1 };
	struct timeval tv = { .tv_sec = timeout };
	int rc;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	conn_setup(&c);
	if ((c.errfd = memfd_create("enf-agent-stderr", MFD_CLOEXEC)) >= 0) {
		fflush(stderr);
		c.logfd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		dup2(c.errfd, STDERR_FILENO);
	}
	rc = serve(&c, refusal);
	ap_buf_free(&c.in);
	session_wipe(s);
	_exit(rc);
}

/* ---- the spare handler ----
 *
 * Forking the agent and starting a handler was on every request's path
 * (fork, page tables, mlockall: about half a millisecond of a signature
 * that must beat ssh-keygen's).  So one handler is forked ahead: it waits
 * on a socketpair for the accepted connection (SCM_RIGHTS) and the
 * accept-time refusal, then serves exactly as a handler forked at accept
 * would.  It is forked from the session as it was then; the agent hands
 * it a connection only if refresh() has changed nothing since (gen), and
 * otherwise lets it go and forks a handler from the current session. */

/* The refusal travels as a flag byte and its text. */
static int hand_over(int chan, int fd, const char *refusal)
{
	char buf[1 + 512] = { refusal != NULL };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	size_t n = 1;
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof ctl };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	if (refusal) {
		size_t len = strnlen(refusal, sizeof buf - 2);
		memcpy(buf + 1, refusal, len);
		n += len;
	}
	iov = (struct iovec){ buf, n };
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(chan, &m, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* The connection, or -1 when the agent closed the channel (it stops, or
 * the session changed under this spare). */
static int take_over(int chan, char *why, size_t whylen, int *refused)
{
	char buf[1 + 512];
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof buf - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof ctl };
	struct cmsghdr *cm;
	ssize_t r;
	int fd = -1;

	while ((r = recvmsg(chan, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	cm = r > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	buf[r] = '\0';
	*refused = buf[0] != 0;
	snprintf(why, whylen, "%s", buf + 1);
	return fd;
}

/* While it waits the spare is named apart (ps, and the tests that count
 * the connections being served); serving, it is a handler like any. */
static void spare_main(struct session *s, int lfd, int chan, unsigned timeout)
{
	static char why[513];
	char name[17] = "";
	const char *refusal = child_start(s, lfd, -1);
	int refused = 0, fd;

	prctl(PR_GET_NAME, name, 0, 0, 0);
	prctl(PR_SET_NAME, "enf-agent-spare", 0, 0, 0);
	fd = take_over(chan, why, sizeof why, &refused);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	close(chan);
	if (fd < 0) {
		session_wipe(s);
		_exit(0);
	}
	child_serve(s, fd, timeout, refusal ? refusal : refused ? why : NULL);
}

/* ---- the agent process ---- */

struct server {
	struct session *s;
	int lfd;
	unsigned live, max_conn, timeout;
	pid_t *pids;			/* max_conn + 1 slots (the spare), 0 when free */
	pid_t spare;			/* the handler forked ahead, or 0 */
	int spare_fd;			/* our end of its channel */
	unsigned spare_gen;		/* the session it was forked from */
};

static void reap(struct server *v)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (unsigned i = 0; i <= v->max_conn; i++)
			if (v->pids[i] == pid) {
				v->pids[i] = 0;
				v->live--;
			}
}

static void track(struct server *v, pid_t pid)
{
	for (unsigned i = 0; i <= v->max_conn; i++)
		if (!v->pids[i]) {
			v->pids[i] = pid;
			v->live++;
			return;
		}
}

static void busy(int fd)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	if (ap_put_done(&w, ENF_FAIL, "the agent is busy (too many connections); try again") == ENF_OK)
		send(fd, w.p, w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	wbuf_free(&w);
}

/* Let the spare go (it wipes and exits when its channel closes). */
static void spare_drop(struct server *v)
{
	if (v->spare_fd >= 0)
		close(v->spare_fd);
	v->spare_fd = -1;
	v->spare = 0;
}

static void spare_fork(struct server *v)
{
	int sv[2];
	pid_t pid;

	if (v->spare || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		spare_main(v->s, v->lfd, sv[1], v->timeout);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return;
	}
	track(v, pid);
	v->spare = pid;
	v->spare_fd = sv[0];
	v->spare_gen = v->s->gen;
}

/* The spare takes fd when it was forked from the current session. */
static int spare_take(struct server *v, int fd, const char *refusal)
{
	int ok;

	if (!v->spare)
		return 0;
	ok = v->spare_gen == v->s->gen && hand_over(v->spare_fd, fd, refusal) == 0;
	spare_drop(v);
	return ok;
}

static void accept_one(struct server *v)
{
	static char why[512];
	const char *refusal = NULL;
	int fd = accept4(v->lfd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return;
	if (v->live - (v->spare != 0) >= v->max_conn) {
		busy(fd);
		close(fd);
		return;
	}
	refresh(v->s);
	refresh_policy(v->s);
	/* The home is checked as every program checks it, for every request. */
	if (home_check(v->s->home) != ENF_OK)
		refusal = why;
	else if (!v->s->ks)
		refusal = v->s->broken;
	snprintf(why, sizeof why, "%s", enf_errmsg());
	if (!spare_take(v, fd, refusal)) {
		pid = fork();
		if (pid == 0) {
			const char *unlocked = child_start(v->s, v->lfd, v->spare_fd);
			child_serve(v->s, fd, v->timeout, unlocked ? unlocked : refusal);
		}
		if (pid > 0)
			track(v, pid);
	}
	close(fd);
	/* A spare forked now would take the other CPU from the signature just
	 * handed over.  It is forked now only when other handlers are busy,
	 * that is when connections come in together (make -j) and the next
	 * is likely to come before this one is answered; otherwise once the
	 * agent is idle again (loop). */
	if (v->live > 1)
		spare_fork(v);
}

static void wait_children(struct server *v)
{
	time_t until = time(NULL) + v->timeout;

	while (v->live && time(NULL) < until) {
		reap(v);
		if (v->live)
			usleep(20000);
	}
	for (unsigned i = 0; v->live && i <= v->max_conn; i++)
		if (v->pids[i])
			kill(v->pids[i], SIGKILL);
	while (v->live && waitpid(-1, NULL, 0) > 0)
		reap(v);
}

static void loop(struct server *v, unsigned long lifetime)
{
	time_t end = lifetime ? time(NULL) + (time_t)lifetime : 0;
	struct pollfd p = { .fd = v->lfd, .events = POLLIN };
	sigset_t orig, mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &orig);
	spare_fork(v);
	while (!stop_requested) {
		struct timespec ts = { .tv_sec = 1 };
		if (end && time(NULL) >= end)
			break;
		if (end && end - time(NULL) < 1)
			ts.tv_sec = 0, ts.tv_nsec = 100000000;
		int r = ppoll(&p, 1, &ts, &orig);
		/* Reap on every turn, not only when SIGCHLD was handled: when a
		 * connection is waiting, ppoll returns it and restores the mask
		 * without running the handler, so under a steady queue (an
		 * accept slowed by a keystore change) finished handlers piled up
		 * as zombies until they filled the cap and every client was
		 * told "busy".  SIGCHLD only ends a wait early. */
		reap(v);
		if (r > 0 && (p.revents & POLLIN))
			accept_one(v);
		if (!v->live)
			spare_fork(v);
	}
	spare_drop(v);
	sigprocmask(SIG_SETMASK, &orig, NULL);
}

/* Handlers are processes of their own: the head one of them signed is
 * known good to the next through memory they share (sign.h).  Without
 * it each verifies the head again, as any program does. */
static void share_head_memo(void)
{
	void *m = mmap(NULL, 32, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m != MAP_FAILED)
		sign_share_head_memo(m);
}

static int read_pass(const struct agent_opts *o, struct session *s)
{
	int rc;

	if ((rc = crypto_init()) != ENF_OK)
		return rc;
	if ((rc = home_resolve(o->home, &s->home)) != ENF_OK)
		return rc;
	if ((rc = ks_open(s->home, &s->ks)) != ENF_OK)
		return rc;
	/* The keystore is checked before the passphrase is asked for. */
	ks_close(s->ks);
	s->ks = NULL;
	return cred_read(ROLE_OPERATOR, o->passfile, 0, "operator passphrase", &s->pass);
}

static void announce(const char *path, pid_t pid)
{
	printf("%s=%s; export %s;\necho Agent pid %ld;\n", AGENT_ENV, path, AGENT_ENV, (long)pid);
	fflush(stdout);
}

/* Without -D: the child becomes the agent and unlocks (so its memory, not
 * a copy, is what is locked); the parent waits for its verdict, prints the
 * line for eval and exits with the child's status. */
static int daemonize(int *ready)
{
	int p[2];
	pid_t pid;
	unsigned char st = ENF_FAIL;

	if (pipe2(p, O_CLOEXEC) < 0)
		return enf_err(ENF_FAIL, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		return enf_err(ENF_FAIL, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		*ready = p[1];
		return ENF_OK;
	}
	close(p[1]);
	while (read(p[0], &st, 1) < 0 && errno == EINTR)
		;
	if (st != ENF_OK) {
		int ws;
		/* It stopped before serving: its own status, its message is out. */
		if (waitpid(pid, &ws, 0) == pid && WIFEXITED(ws))
			st = (unsigned char)WEXITSTATUS(ws);
	}
	exit(st);
}

static void detach(int ready, const char *path)
{
	int null = open("/dev/null", O_RDWR);
	unsigned char ok = ENF_OK;

	setsid();
	if (chdir("/") < 0)
		(void)0;
	announce(path, getpid());
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(ready, &ok, 1) < 0)
		(void)0;
	close(ready);
}

static int resolve_group(const char *name, gid_t *gid)
{
	struct group *g = getgrnam(name);

	if (!g)
		return enf_err(ENF_FAIL, "no group '%s'", name);
	*gid = g->gr_gid;
	return ENF_OK;
}

int agent_run(const struct agent_opts *o)
{
	struct session s = { .uid = geteuid() };
	struct server v = { .s = &s, .lfd = -1, .spare_fd = -1, .max_conn = o->max_conn ? o->max_conn : AGENT_MAX_CONN,
			    .timeout = o->timeout ? o->timeout : AGENT_TIMEOUT };
	char *dir = NULL, *path = NULL;
	gid_t gid = 0;
	int rc, ready = -1;

	harden();
	signal(SIGPIPE, SIG_IGN);
	if (!(v.pids = calloc(v.max_conn + 1, sizeof *v.pids)))
		return enf_report(enf_err(ENF_FAIL, "out of memory"));
	if (o->group && (rc = resolve_group(o->group, &gid)) != ENF_OK)
		goto out;
	if (o->socket)
		rc = check_socket_path(o->socket);
	else
		rc = default_socket(gid, o->group != NULL, &dir, &path);
	if (rc != ENF_OK)
		goto out;
	if (!path && !(path = strdup(o->socket))) {
		rc = enf_err(ENF_FAIL, "out of memory");
		goto out;
	}
	if (!o->foreground && (rc = daemonize(&ready)) != ENF_OK)
		goto out;
	/* Before any secret is read and any connection forked (token.h). */
	if ((rc = token_broker_start(o->home)) != ENF_OK)
		goto out;
	lock_memory(&s);
	if ((rc = read_pass(o, &s)) != ENF_OK || (rc = authenticate(&s)) != ENF_OK)
		goto out;
	if ((rc = listen_on(path, o->group != NULL, gid, &v.lfd)) != ENF_OK)
		goto out;
	share_head_memo();
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGHUP, on_stop);
	signal(SIGCHLD, on_child);
	if (o->foreground)
		announce(path, getpid());
	else
		detach(ready, path);
	loop(&v, o->lifetime);
	/* Stop taking requests, forget the secrets, let what is in flight end. */
	close(v.lfd);
	unlink(path);
	session_wipe(&s);
	wait_children(&v);
out:
	token_broker_stop();
	if (dir)
		rmdir(dir);
	session_wipe(&s);
	free(v.pids);
	free(s.home);
	free(path);
	free(dir);
	return enf_report(rc);
}
