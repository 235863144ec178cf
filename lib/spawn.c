/* Helper programs with a pipe each way (see spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "enf.h"
#include "spawn.h"

static void child(char *const argv[], int flags, int in[2], int out[2])
{
	int null;

	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
		_exit(127);
	if ((flags & SPAWN_QUIET) && (null = open("/dev/null", O_WRONLY)) >= 0)
		dup2(null, 2);
	close(in[0]), close(in[1]), close(out[0]), close(out[1]);
	/* The parent ignores SIGPIPE; the child gets the default back. */
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	if (!(flags & SPAWN_QUIET))
		fprintf(stderr, "%s: cannot run %s: %s\n", enf_progname(), argv[0], strerror(errno));
	_exit(127);
}

/* Feed the input and drain the output at the same time, so that neither
 * side can block the other whatever the sizes. */
static int pump(int to, int from, const unsigned char *in, size_t n, struct wbuf *out,
		size_t max)
{
	struct pollfd p[2] = { { .fd = n ? to : -1, .events = POLLOUT },
			       { .fd = from, .events = POLLIN } };
	unsigned char chunk[4096];
	size_t done = 0;
	int rc = ENF_OK;
	ssize_t r;

	if (!n)
		close(to);
	while (p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = enf_err(ENF_FAIL, "poll: %s", strerror(errno));
			break;
		}
		if (p[0].fd >= 0 && p[0].revents) {
			r = write(to, in + done, n - done);
			if (r > 0)
				done += (size_t)r;
			/* A child that stops reading (EPIPE) just gets less input. */
			if ((r < 0 && errno != EINTR && errno != EAGAIN) || done == n) {
				close(to);
				p[0].fd = -1;
			}
		}
		if (p[1].revents) {
			r = read(from, chunk, sizeof chunk);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0)
				break;
			if (out->len + (size_t)r > max) {
				rc = enf_err(ENF_FAIL, "more output than the %zu bytes expected", max);
				break;
			}
			wbuf_put(out, chunk, (size_t)r);
		}
	}
	if (p[0].fd >= 0)
		close(to);
	close(from);
	if (rc == ENF_OK && out->failed)
		rc = enf_err(ENF_FAIL, "out of memory");
	return rc;
}

int spawn_run(char *const argv[], int flags, const void *in, size_t n, struct wbuf *out,
	     size_t max, int *status)
{
	int ip[2], op[2], ws, rc;
	pid_t pid;

	if (pipe2(ip, O_CLOEXEC) < 0)
		return enf_err(ENF_FAIL, "pipe: %s", strerror(errno));
	if (pipe2(op, O_CLOEXEC) < 0) {
		close(ip[0]), close(ip[1]);
		return enf_err(ENF_FAIL, "pipe: %s", strerror(errno));
	}
	if ((pid = fork()) < 0) {
		close(ip[0]), close(ip[1]), close(op[0]), close(op[1]);
		return enf_err(ENF_FAIL, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		child(argv, flags, ip, op);
	close(ip[0]);
	close(op[1]);
	/* A blocking write waits for room for all of it, while the child may
	 * wait for us to read: writes go only as far as the pipe takes. */
	fcntl(ip[1], F_SETFL, fcntl(ip[1], F_GETFL) | O_NONBLOCK);
	rc = pump(ip[1], op[0], in, n, out, max);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return enf_err(ENF_FAIL, "waitpid: %s", strerror(errno));
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 127;
	return rc;
}
