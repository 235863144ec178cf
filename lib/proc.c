/* Process start-up: no core dumps, valid standard fds, a checked stdout. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include "enf.h"
#include "cli.h"
#include "proc.h"

static int no_core_dumps(void)
{
	const struct rlimit zero = { 0, 0 };

	/* Not dumpable also covers a core_pattern that pipes to a handler,
	 * which ignores RLIMIT_CORE; the limit covers the rest. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return enf_err(ENF_FAIL, "cannot disable core dumps: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &zero) < 0)
		return enf_err(ENF_FAIL, "cannot disable core dumps: %s", strerror(errno));
	return ENF_OK;
}

/* A closed fd 0..2 gets /dev/null, opened so that using it fails (EBADF):
 * `enf-sign <&-` must not read the keystore as its request, and
 * `enf-keygen new >&-` must not lose its output silently. */
static int standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		nfd = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
		if (nfd != fd) {
			if (nfd >= 0)
				close(nfd);
			return enf_err(ENF_FAIL, "fd %d is closed and /dev/null cannot take it", fd);
		}
	}
	return ENF_OK;
}

/* What a program prints on stdout is its product: losing it is failure.
 * (A main that checked its stdout itself has already said so.) */
static void check_stdout(void)
{
	int bad = ferror(stdout), e = 0;

	if (fflush(stdout) != 0) {
		bad = 1;
		e = errno;
	}
	if (!bad)
		return;
	if (!enf_warned())
		enf_report(cli_stdout_error(e));
	_exit(ENF_FAIL);
}

int enf_start(const char *argv0)
{
	int rc;

	enf_setprogname(argv0 ? argv0 : "enf");
	if ((rc = no_core_dumps()) != ENF_OK || (rc = standard_fds()) != ENF_OK)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	if (atexit(check_stdout) != 0)
		return enf_err(ENF_FAIL, "cannot register the exit check");
	return ENF_OK;
}
