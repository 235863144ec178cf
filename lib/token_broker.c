/* The agent's token broker (token.h).
 *
 * PKCS#11 handles do not survive fork, and the agent forks a process per
 * connection; SoftHSMv2 also fails under parallel signing processes (its
 * issue #757).  So one process, started before the agent forks any
 * connection, holds the token sessions for the agent's lifetime and signs
 * one request at a time for all of them:
 *
 *   agent ----- ctl (SOCK_SEQPACKET pair, made before any connection fork)
 *    |  fork                        |
 *   connection process              broker
 *     socketpair(chan), sends one end over ctl (SCM_RIGHTS) once, then
 *     request -> reply on its own channel, so replies cannot cross.
 *
 *   request = uint32(1) string(module) string(label) string(serial)
 *             uint32(timeout_ms) string(pin) uint32(alg) string(id)
 *             string(public key blob) string(message)
 *   reply   = uint32(status) string(signature | message)
 *
 * The broker holds nothing of the keystore: the connection process (which
 * holds the unlocked session) sends the PIN and the public key the keystore
 * records, and verifies what comes back (token.c).  The broker dies with
 * the agent (PR_SET_PDEATHSIG). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "crypto.h"
#include "enf.h"
#include "token.h"
#include "token_session.h"

#define FRAME_MAX 16384
#define CHANNELS_MAX 256
#define SESSIONS_MAX 16

static int broker_wanted;	/* this is an agent (or one of its children) */
static int ctl_fd = -1;		/* the agent's end, inherited by its children */
static pid_t broker_pid;
static int chan_fd = -1;	/* a connection process's own channel */

/* ---- the broker process ---- */

struct broker {
	struct token_session sess[SESSIONS_MAX];
	size_t nsess;
	struct pollfd fds[CHANNELS_MAX + 1];	/* [0]: ctl */
	size_t nfds;
};

static struct token_session *session_for(struct broker *b, const struct ks_token *def)
{
	for (size_t i = 0; i < b->nsess; i++)
		if (token_session_is(&b->sess[i], def))
			return &b->sess[i];
	if (b->nsess == SESSIONS_MAX) {
		enf_err(ENF_FAIL, "the agent holds sessions on %d tokens already", SESSIONS_MAX);
		return NULL;
	}
	token_session_init(&b->sess[b->nsess], def);
	return &b->sess[b->nsess++];
}

static int get_text(struct rbuf *r, char *out, size_t max)
{
	const unsigned char *p;
	size_t n;

	if (rbuf_string(r, &p, &n) < 0 || n > max || memchr(p, '\0', n))
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Decodes a request; pin->p points into the frame (secure memory). */
static int decode(const unsigned char *p, size_t n, struct ks_token *def, struct secret *pin,
		  struct token_req *r)
{
	struct rbuf rb;
	uint32_t version, alg;

	rbuf_init(&rb, p, n);
	memset(r, 0, sizeof *r);
	if (rbuf_u32(&rb, &version) < 0 || version != 1 ||
	    get_text(&rb, def->module, KS_MODULE_MAX) < 0 ||
	    get_text(&rb, def->label, KS_LABEL_MAX) < 0 ||
	    get_text(&rb, def->serial, KS_SERIAL_MAX) < 0 || rbuf_u32(&rb, &def->timeout_ms) < 0 ||
	    rbuf_string(&rb, (const unsigned char **)&pin->p, &pin->n) < 0 ||
	    rbuf_u32(&rb, &alg) < 0 || rbuf_string(&rb, &r->id, &r->idlen) < 0 ||
	    r->idlen > KS_TOKEN_ID_MAX || rbuf_string(&rb, &r->blob, &r->bloblen) < 0 ||
	    rbuf_string(&rb, &r->msg, &r->n) < 0 || !rbuf_done(&rb))
		return -1;
	r->alg = (int)alg;
	r->def = def;
	r->pin = pin;
	return 0;
}

static void serve_one(struct broker *b, int fd, const unsigned char *p, size_t n)
{
	struct ks_token def = { 0 };
	struct secret pin;
	struct token_req r;
	struct token_session *ts;
	struct wbuf sig, reply;
	int rc;

	wbuf_init(&sig, 0);
	wbuf_init(&reply, 0);
	enf_err_clear();
	if (decode(p, n, &def, &pin, &r) < 0)
		rc = enf_err(ENF_FAIL, "token broker: malformed request");
	else if (!(ts = session_for(b, &def)))
		rc = ENF_FAIL;
	else
		rc = token_session_sign(ts, &r, &sig);
	wbuf_u32(&reply, (uint32_t)rc);
	if (rc == ENF_OK)
		wbuf_string(&reply, sig.p, sig.len);
	else
		wbuf_cstring(&reply, enf_errmsg()[0] ? enf_errmsg() : "token signing failed");
	if (!reply.failed)
		send(fd, reply.p, reply.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	wbuf_free(&sig);
	wbuf_free(&reply);
}

/* A connection process hands over its channel. */
static void take_channel(struct broker *b)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char one;
	struct iovec iov = { &one, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(b->fds[0].fd, &m, MSG_CMSG_CLOEXEC) <= 0)
		return;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
	if (fd < 0)
		return;
	if (b->nfds == CHANNELS_MAX + 1) {
		close(fd);	/* its process sees the channel close: "broker busy" */
		return;
	}
	b->fds[b->nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
}

static void serve_channel(struct broker *b, size_t i, unsigned char *frame)
{
	ssize_t n = recv(b->fds[i].fd, frame, FRAME_MAX, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(b->fds[i].fd);
		b->fds[i] = b->fds[--b->nfds];
		return;
	}
	serve_one(b, b->fds[i].fd, frame, (size_t)n);
	memset(frame, 0, (size_t)n);	/* the PIN was in it */
}

static void broker_main(int fd)
{
	static struct broker b;
	unsigned char *frame = secure_alloc(FRAME_MAX);

	b.fds[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	b.nfds = 1;
	if (!frame)
		_exit(ENF_FAIL);
	for (;;) {
		if (poll(b.fds, b.nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b.fds[0].revents & (POLLHUP | POLLERR))
			break;	/* the agent is gone */
		if (b.fds[0].revents & POLLIN)
			take_channel(&b);
		for (size_t i = b.nfds; i-- > 1;)
			if (b.fds[i].revents)
				serve_channel(&b, i, frame);
	}
	for (size_t i = 0; i < b.nsess; i++)
		token_session_close(&b.sess[i]);
	secure_free(frame, FRAME_MAX);
	_exit(0);
}

/* In the new broker process: nothing but its end of ctl stays open (it
 * must hold no pipe a caller of the agent waits on), and it dies with the
 * agent. */
static void become_broker(int fd, pid_t agent)
{
	int null = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != agent)
		_exit(0);
	prctl(PR_SET_NAME, "enf-token-broker", 0, 0, 0);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	if (dup2(fd, 3) < 0)
		_exit(ENF_FAIL);
	close_range(4, ~0U, 0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* Best effort, as the agent's own: the PINs pass through here. */
	mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
	broker_main(3);
}

/* Only for an instance that defines a token (read from the public part of
 * the keystore, before any secret is), so that an agent without tokens
 * has no extra process. */
static int defines_tokens(const char *home, int *yes)
{
	struct keystore *ks = NULL;
	int rc = ks_open_home(home, &ks);

	*yes = rc == ENF_OK && ks_token_count(ks) > 0;
	ks_close(ks);
	return rc;
}

int token_broker_start(const char *home)
{
	int sv[2], yes, rc;
	pid_t agent = getpid(), pid;

	broker_wanted = 1;
	if ((rc = defines_tokens(home, &yes)) != ENF_OK || !yes)
		return rc;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return enf_err(ENF_FAIL, "token broker: socketpair: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return enf_err(ENF_FAIL, "token broker: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		become_broker(sv[1], agent);
	}
	close(sv[1]);
	ctl_fd = sv[0];
	broker_pid = pid;
	return ENF_OK;
}

void token_broker_stop(void)
{
	if (ctl_fd >= 0)
		close(ctl_fd);
	ctl_fd = -1;
	broker_wanted = 0;
	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		waitpid(broker_pid, NULL, 0);
	}
	broker_pid = 0;
}

/* ---- a connection process: the client side ---- */

int token_broker_active(void) { return broker_wanted; }

static int open_channel(void)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char one = 1;
	struct iovec iov = { &one, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int sv[2];

	if (chan_fd >= 0)
		return ENF_OK;
	if (ctl_fd < 0)
		return enf_err(ENF_FAIL, "no token was defined when enf-agent started: restart the "
			       "agent to sign with token keys");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return enf_err(ENF_FAIL, "token broker: socketpair: %s", strerror(errno));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	if (sendmsg(ctl_fd, &m, MSG_NOSIGNAL) < 0) {
		close(sv[0]);
		close(sv[1]);
		return enf_err(ENF_FAIL, "the agent's token broker is not running");
	}
	close(sv[1]);
	chan_fd = sv[0];
	return ENF_OK;
}

static void encode(const struct token_req *r, struct wbuf *w)
{
	wbuf_u32(w, 1);
	wbuf_cstring(w, r->def->module);
	wbuf_cstring(w, r->def->label);
	wbuf_cstring(w, r->def->serial);
	wbuf_u32(w, r->def->timeout_ms);
	wbuf_string(w, r->pin->p, r->pin->n);
	wbuf_u32(w, (uint32_t)r->alg);
	wbuf_string(w, r->id, r->idlen);
	wbuf_string(w, r->blob, r->bloblen);
	wbuf_string(w, r->msg, r->n);
}

static int reply(const unsigned char *p, size_t n, struct wbuf *sig)
{
	struct rbuf rb;
	uint32_t status;
	const unsigned char *v;
	size_t vn;

	rbuf_init(&rb, p, n);
	if (rbuf_u32(&rb, &status) < 0 || rbuf_string(&rb, &v, &vn) < 0 || !rbuf_done(&rb))
		return enf_err(ENF_FAIL, "token broker: malformed reply");
	if (status != ENF_OK)
		return enf_err(ENF_FAIL, "%.*s", (int)(vn > 400 ? 400 : vn), (const char *)v);
	return wbuf_put(sig, v, vn) < 0 ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

int token_broker_sign(const struct token_req *r, struct wbuf *sig)
{
	/* Each module call the broker makes has the token's deadline: open,
	 * login, find and sign, and a margin. */
	int wait_ms = (int)(4 * (r->def->timeout_ms > 600000 ? 600000 : r->def->timeout_ms)) + 5000;
	struct pollfd p;
	unsigned char *frame;
	struct wbuf w;
	ssize_t n;
	int rc;

	if (open_channel() != ENF_OK)
		return ENF_FAIL;
	wbuf_init(&w, 1);
	encode(r, &w);
	if (w.failed || w.len > FRAME_MAX) {
		wbuf_free(&w);
		return enf_err(ENF_FAIL, "token broker: request too large");
	}
	n = send(chan_fd, w.p, w.len, MSG_NOSIGNAL);
	wbuf_free(&w);
	if (n < 0)
		return enf_err(ENF_FAIL, "the agent's token broker is not running");
	p = (struct pollfd){ .fd = chan_fd, .events = POLLIN };
	while ((rc = poll(&p, 1, wait_ms)) < 0 && errno == EINTR)
		;
	if (rc == 0) {
		/* Its late answer must not be taken for the next request's. */
		close(chan_fd);
		chan_fd = -1;
		return enf_err(ENF_FAIL, "token timed out (the agent's token broker did not answer)");
	}
	if (!(frame = malloc(FRAME_MAX)))
		return enf_err(ENF_FAIL, "out of memory");
	n = rc < 0 ? -1 : recv(chan_fd, frame, FRAME_MAX, 0);
	rc = n <= 0 ? enf_err(ENF_FAIL, "the agent's token broker is not running")
		    : reply(frame, (size_t)n, sig);
	free(frame);
	return rc;
}
