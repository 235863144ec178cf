/* Running a helper program (ssh-keygen, git, enf-sign): bytes to its
 * stdin, its stdout collected, its stderr left to the user. */
#ifndef ENF_SPAWN_H
#define ENF_SPAWN_H

#include <stddef.h>
#include "buf.h"

#define SPAWN_QUIET 1	/* send the child's stderr to /dev/null */

/* Runs argv (execvp: PATH is searched unless argv[0] holds a '/'), no
 * shell, the environment unchanged.  in[0..n) goes to its stdin, which is
 * then closed; at most max bytes of its stdout go to out.  *status is its
 * exit code (127 when it could not be run, 128+N when killed by signal N).
 * ENF_OK when it ran to the end, ENF_FAIL (message set) when it could not be
 * started or wrote more than max. */
int spawn_run(char *const argv[], int flags, const void *in, size_t n, struct wbuf *out,
	     size_t max, int *status);

#endif
