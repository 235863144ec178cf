/* The terminal prompt lock (ttylock.h).  The lock is on /dev/tty itself:
 * every process opening it gets its own open file description of the same
 * inode, so flock(2) serialises them with no file of our own anywhere, and
 * the kernel releases it when a process dies mid-prompt. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include "ttylock.h"

int tty_lock(void)
{
	int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

void tty_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
