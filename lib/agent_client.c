/* enf-agent's clients: enf-sign and enf-seal seal|open through the agent,
 * and enf-agent -k.  What the caller sees — output bytes, stderr lines,
 * exit codes — is what the in-process path shows: the agent runs the same
 * transaction and relays the library's stderr; the client prints the
 * outcome lines with the same sign_report. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "enf.h"
#include "agent.h"
#include "agent_proto.h"
#include "io.h"
#include "seal.h"

static int agent_connect(const char *path, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = AGENT_CLIENT_TIMEOUT };
	int fd;

	if (!path || !*path)
		return enf_err(ENF_FAIL, "no agent: give --agent SOCKET or set %s", AGENT_ENV);
	if (strlen(path) >= sizeof sa.sun_path)
		return enf_err(ENF_FAIL, "%s: socket path too long", path);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return enf_err(ENF_FAIL, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return enf_err(ENF_FAIL, "cannot reach the agent at %s: %s", path, strerror(e));
	}
	/* An agent that stops answering is an error, never a hang. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	*fdp = fd;
	return ENF_OK;
}

static int gone(void)
{
	const char *msg = enf_errmsg();

	return enf_err(ENF_FAIL, "the agent went away (%s)", msg[0] ? msg : "connection closed");
}

/* A frame from the agent; STDERR frames are written out on the way. */
static int next_frame(int fd, struct ap_buf *b, struct ap_frame *f)
{
	for (;;) {
		int rc = ap_read_frame(fd, b, f);
		if (rc == ENF_NO)
			return enf_err(ENF_FAIL, "the agent went away (connection closed)");
		if (rc != ENF_OK)
			return gone();
		if (f->type != AP_STDERR)
			return ENF_OK;
		io_write_all(STDERR_FILENO, f->body, f->len);
	}
}

/* DONE where a RESULT was expected: the agent refused the whole exchange. */
static int refused(const struct ap_frame *f)
{
	struct ap_done d;

	if (ap_done_parse(f, &d) != ENF_OK)
		return enf_err(ENF_FAIL, "the agent sent a malformed reply");
	return enf_err(d.status == ENF_OK ? ENF_FAIL : d.status, "%.*s", (int)d.msglen,
		       (const char *)d.msg);
}

/* A send failed: the agent may have said why before it closed (busy, a
 * refusal); else it went away. */
static int send_failed(int fd)
{
	struct ap_buf b = { 0 };
	struct ap_frame f;
	int rc;

	if (ap_read_frame(fd, &b, &f) == ENF_OK && f.type == AP_DONE)
		rc = refused(&f);
	else
		rc = gone();
	ap_buf_free(&b);
	return rc;
}

/* ---- sign ---- */

/* Where one request's signature goes, opened before the request is sent,
 * so that a failure to open it is the agent's "output-failed" record. */
struct dest {
	int batch;
	struct atomic_file single;
	struct staged_file staged;
	char *path;
	int open_ok;
	char why[AP_MSG_MAX + 1];
};

static void dest_open(struct dest *d, const char *out)
{
	int rc;

	enf_err_clear();
	if (d->batch) {
		d->staged.fd = -1;
		rc = d->path ? staged_open(&d->staged, d->path) : enf_err(ENF_FAIL, "out of memory");
	} else {
		rc = atomic_open(&d->single, out, 0644);
	}
	d->open_ok = rc == ENF_OK;
	snprintf(d->why, sizeof d->why, "%s", d->open_ok ? "" : enf_errmsg());
}

static int dest_write(struct dest *d, const unsigned char *p, size_t n)
{
	if (d->batch)
		return staged_write(&d->staged, p, n);
	if (atomic_write(&d->single, p, n) != ENF_OK) {
		atomic_abort(&d->single);
		return ENF_FAIL;
	}
	return ENF_OK;
}

static void dest_discard(struct dest *d)
{
	if (!d->open_ok)
		return;
	if (d->batch)
		staged_discard(&d->staged);
	else
		atomic_abort(&d->single);
	d->open_ok = 0;
}

static int send_request(int fd, struct request_text *r, struct dest *d)
{
	struct wbuf w;
	unsigned flags = 0;
	int rc;

	if (r->oversize)
		flags |= AP_F_OVERSIZE;
	if (!d->open_ok)
		flags |= AP_F_NO_OUTPUT;
	wbuf_init(&w, 0);
	rc = ap_put_sign(&w, flags, d->why, r->p, r->oversize ? 0 : r->n);
	if (rc == ENF_OK && (rc = ap_write(fd, &w)) != ENF_OK)
		rc = send_failed(fd);
	else if (rc != ENF_OK)
		rc = enf_err(ENF_FAIL, "out of memory");
	wbuf_free(&w);
	return rc;
}

/* One RESULT: its outcome, and for a permit the signature written. */
static int take_result(const struct ap_frame *f, struct dest *d, struct sign_outcome *o)
{
	struct ap_result r;

	if (ap_result_parse(f, &r) != ENF_OK)
		return enf_err(ENF_FAIL, "the agent sent a malformed reply");
	o->status = r.status;
	o->seq = r.seq;
	snprintf(o->msg, sizeof o->msg, "%.*s", (int)r.msglen, (const char *)r.msg);
	if (r.status != ENF_OK || !d->open_ok) {
		dest_discard(d);
		if (r.status == ENF_OK) {
			o->status = ENF_FAIL;
			snprintf(o->msg, sizeof o->msg, "%.*s", (int)sizeof o->msg - 1, d->why);
		}
		return ENF_OK;
	}
	enf_err_clear();
	if (dest_write(d, r.sig, r.siglen) != ENF_OK) {
		d->open_ok = 0;
		o->status = ENF_FAIL;
		snprintf(o->msg, sizeof o->msg, "%s", enf_errmsg());
	}
	return ENF_OK;
}

static void publish(struct dest *d, size_t n, struct sign_outcome *o, const char *dir)
{
	int synced = dir ? staged_sync_dir(dir) : ENF_OK;

	for (size_t i = 0; i < n; i++) {
		int rc;
		if (o[i].status != ENF_OK)
			continue;
		enf_err_clear();
		if (synced != ENF_OK) {
			dest_discard(&d[i]);
			rc = ENF_FAIL;
		} else {
			rc = d[i].batch ? staged_rename(&d[i].staged) : atomic_commit(&d[i].single);
		}
		if (rc != ENF_OK) {
			o[i].status = ENF_FAIL;
			snprintf(o[i].msg, sizeof o[i].msg, "%s", enf_errmsg());
		}
	}
	if (dir)
		io_fsync_dir(dir);
}

/* Sends the requests and COMMIT, and takes the results.  A request that
 * cannot be read ends the batch there, as in process: what was sent is
 * still decided and carried out (*n becomes its count), and *stopped
 * says why (message saved in why). */
static int exchange(int fd, const struct sign_job *j, struct dest *d, struct sign_outcome *o,
		    size_t *n, int *stopped, char *why, size_t whylen)
{
	struct ap_buf b = { 0 };
	struct ap_frame f;
	size_t got = 0;
	int rc = ENF_OK;

	*stopped = ENF_OK;
	for (size_t i = 0; rc == ENF_OK && i < *n; i++) {
		struct request_text r = { 0 };
		if ((*stopped = request_read(j->dir ? j->requests[i] :
					     (j->requests ? j->requests[0] : NULL), &r)) != ENF_OK) {
			snprintf(why, whylen, "%s", enf_errmsg());
			*n = i;
			break;
		}
		dest_open(&d[i], j->out);
		rc = send_request(fd, &r, &d[i]);
		request_free(&r);
	}
	if (*stopped != ENF_OK && *n == 0)
		return *stopped;	/* nothing sent: nothing to commit */
	if (rc == ENF_OK && ap_send(fd, AP_COMMIT, NULL, 0) != ENF_OK)
		rc = send_failed(fd);
	while (rc == ENF_OK && got < *n) {
		if ((rc = next_frame(fd, &b, &f)) != ENF_OK)
			break;
		if (f.type == AP_DONE)
			rc = refused(&f);
		else if (f.type != AP_RESULT)
			rc = enf_err(ENF_FAIL, "the agent sent an unexpected reply");
		else
			rc = take_result(&f, &d[got], &o[got]);
		got += rc == ENF_OK;
	}
	ap_buf_free(&b);
	return rc;
}

int agent_sign(const char *socket, const struct sign_job *j)
{
	size_t n = j->dir ? j->nrequests : 1;
	struct dest *d = calloc(n, sizeof *d);
	struct sign_outcome *o = calloc(n, sizeof *o);
	const struct sign_outcome **po = calloc(n, sizeof *po);
	int fd = -1, rc = ENF_OK, stopped = ENF_OK;
	size_t sent = n;
	char why[512] = "";

	if (!d || !o || !po)
		rc = enf_err(ENF_FAIL, "out of memory");
	for (size_t i = 0; rc == ENF_OK && j->dir && i < n; i++) {
		if (access(j->requests[i], R_OK) != 0)
			rc = enf_err(ENF_FAIL, "%s: %s", j->requests[i], strerror(errno));
		d[i].batch = 1;
		d[i].path = sign_batch_path(j->dir, j->requests[i]);
	}
	if (rc == ENF_OK)
		rc = agent_connect(socket, &fd);
	if (rc == ENF_OK)
		rc = exchange(fd, j, d, o, &sent, &stopped, why, sizeof why);
	if (rc == ENF_OK) {
		publish(d, sent, o, j->dir);
		for (size_t i = 0; i < sent; i++) {
			po[i] = &o[i];
			sign_report(j->dir ? j->requests[i] : NULL, &o[i]);
		}
		rc = sign_exit_code(po, sent);
		if (stopped != ENF_OK)
			rc = enf_report(enf_err(stopped, "%s", why));
	} else {
		rc = enf_report(rc);
	}
	for (size_t i = 0; d && i < n; i++) {
		dest_discard(&d[i]);
		free(d[i].path);
	}
	if (fd >= 0)
		close(fd);
	free(d);
	free(o);
	free(po);
	return rc;
}

/* ---- seal, open ---- */

/* The input, framed, in a process of its own, so that reading the agent's
 * output never waits on sending it more input. */
static pid_t feed(int fd, int in)
{
	pid_t pid = fork();
	unsigned char *buf;
	ssize_t r;

	if (pid != 0)
		return pid;
	if (!(buf = malloc(AP_CHUNK)))
		_exit(ENF_FAIL);
	for (;;) {
		size_t n = 0;
		while (n < AP_CHUNK && (r = read(in, buf + n, AP_CHUNK - n)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				_exit(ENF_FAIL);	/* no END: the agent records nothing done */
			n += (size_t)r;
		}
		if (n && ap_send(fd, AP_DATA, buf, n) != ENF_OK)
			_exit(ENF_FAIL);
		if (n < AP_CHUNK)
			break;
	}
	_exit(ap_send(fd, AP_END, NULL, 0) == ENF_OK ? 0 : ENF_FAIL);
}

static int stream_back(int fd, struct atomic_file *out, int *status)
{
	struct ap_buf b = { 0 };
	struct ap_frame f;
	struct ap_done d;
	int rc;

	for (;;) {
		if ((rc = next_frame(fd, &b, &f)) != ENF_OK)
			break;
		if (f.type == AP_DATA) {
			if ((rc = atomic_write(out, f.body, f.len)) != ENF_OK)
				break;
			continue;
		}
		if (f.type != AP_DONE || ap_done_parse(&f, &d) != ENF_OK) {
			rc = enf_err(ENF_FAIL, "the agent sent an unexpected reply");
			break;
		}
		*status = d.status;
		if (d.status != ENF_OK)
			enf_err(d.status, "%.*s", (int)d.msglen, (const char *)d.msg);
		break;
	}
	ap_buf_free(&b);
	return rc;
}

int agent_seal(const char *socket, int open_, const char *frompath, const char *inpath,
	       const char *outpath)
{
	struct seal_peer peer;
	unsigned char *from = NULL;
	size_t fromlen = 0;
	struct atomic_file out;
	struct wbuf w;
	char why[AP_MSG_MAX + 1] = "";
	unsigned flags = (!outpath || strcmp(outpath, "-") == 0) ? AP_F_STREAM : 0;
	int in = STDIN_FILENO, fd = -1, status = ENF_FAIL, rc, opened;
	pid_t feeder = -1;

	/* --from is read and checked here first, as in process (the agent
	 * may not be able to read the caller's file). */
	if (frompath && (rc = seal_peer_read(frompath, &peer, &from, &fromlen)) != ENF_OK)
		return enf_report(rc);
	if (inpath && strcmp(inpath, "-") != 0 && (in = open(inpath, O_RDONLY | O_CLOEXEC)) < 0) {
		free(from);
		return enf_report(enf_err(ENF_FAIL, "%s: %s", inpath, strerror(errno)));
	}
	if ((rc = agent_connect(socket, &fd)) != ENF_OK)
		goto out;
	/* Sealed data is ciphertext meant to travel; plaintext stays private. */
	opened = atomic_open(&out, outpath, open_ ? 0600 : 0644) == ENF_OK;
	if (!opened) {
		flags |= AP_F_NO_OUTPUT;
		snprintf(why, sizeof why, "%s", enf_errmsg());
	}
	wbuf_init(&w, 0);
	rc = ap_put_stream(&w, open_ ? AP_OPEN : AP_SEAL, flags, why, from, fromlen);
	if (rc == ENF_OK && (rc = ap_write(fd, &w)) != ENF_OK)
		rc = send_failed(fd);
	wbuf_free(&w);
	if (rc == ENF_OK && opened)
		feeder = feed(fd, in);
	else if (rc == ENF_OK)
		rc = ap_send(fd, AP_END, NULL, 0) == ENF_OK ? ENF_OK : gone();
	if (rc == ENF_OK && opened && feeder < 0)
		rc = enf_err(ENF_FAIL, "fork: %s", strerror(errno));
	if (rc == ENF_OK)
		rc = stream_back(fd, opened ? &out : NULL, &status);
	if (feeder > 0) {
		kill(feeder, SIGKILL);
		waitpid(feeder, NULL, 0);
	}
	if (rc == ENF_OK)
		rc = status;
	if (opened) {
		if (rc == ENF_OK)
			rc = atomic_commit(&out);
		else
			atomic_abort(&out);
	}
out:
	free(from);
	if (fd >= 0)
		close(fd);
	if (in > STDERR_FILENO)
		close(in);
	return enf_report(rc);
}

int agent_stop(const char *socket)
{
	struct ap_buf b = { 0 };
	struct ap_frame f;
	struct ap_done d;
	int fd, rc;

	if ((rc = agent_connect(socket, &fd)) != ENF_OK)
		return enf_report(rc);
	if (ap_send(fd, AP_STOP, NULL, 0) != ENF_OK || next_frame(fd, &b, &f) != ENF_OK)
		rc = gone();
	else if (f.type != AP_DONE || ap_done_parse(&f, &d) != ENF_OK)
		rc = enf_err(ENF_FAIL, "the agent sent an unexpected reply");
	else
		rc = enf_err(d.status, "%.*s", (int)d.msglen, (const char *)d.msg);
	ap_buf_free(&b);
	close(fd);
	return enf_report(rc);
}
