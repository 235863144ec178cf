/* The failed-unlock counters file (lockout.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "io.h"
#include "lockout.h"

#define LOCKOUT_MAX 256		/* the file is far smaller; more is not ours */

static int corrupt(const char *path)
{
	return enf_err(ENF_FAIL, "%s: not a failed-unlock count of this instance (see "
		       "enf-keygen(1), FILES)", path);
}

/* The file is checked on the descriptor it is read from, not by path. */
static int read_private(const char *path, char *buf, size_t *n)
{
	ssize_t r;
	int fd, e, rc = io_open_private(path, O_RDONLY, 0, &fd);

	if (rc != ENF_OK)
		return rc;
	do
		r = read(fd, buf, LOCKOUT_MAX);
	while (r < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (r < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(e));
	*n = (size_t)r;
	return ENF_OK;
}

static int parse_count(const char *line, const char *role, uint32_t *v)
{
	size_t rl = strlen(role);
	char *end;
	unsigned long x;

	if (strncmp(line, role, rl) != 0 || line[rl] != ' ' || line[rl + 1] < '0' ||
	    line[rl + 1] > '9')
		return -1;
	errno = 0;
	x = strtoul(line + rl + 1, &end, 10);
	if (errno || *end != '\0' || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int parse(char *text, const char *instance_id, struct lockout_counts *c)
{
	char *lines[5], *save = NULL, *l;
	size_t n = 0, len = strlen(text);

	if (len == 0 || text[len - 1] != '\n')
		return -1;
	for (l = strtok_r(text, "\n", &save); l && n < 5; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n == 4 && strcmp(lines[0], "enf-lockout 1") == 0 &&
			       strncmp(lines[1], "instance ", 9) == 0 &&
			       strcmp(lines[1] + 9, instance_id) == 0 &&
			       parse_count(lines[2], role_name(ROLE_OFFICER), &c->n[ROLE_OFFICER]) == 0 &&
			       parse_count(lines[3], role_name(ROLE_OPERATOR), &c->n[ROLE_OPERATOR]) == 0
		       ? 0
		       : -1;
}

int lockout_load(const char *home, const char *instance_id, struct lockout_counts *c)
{
	char *path = home_path(home, LOCKOUT_FILE), buf[LOCKOUT_MAX + 1];
	size_t n = 0;
	int rc;

	memset(c, 0, sizeof *c);
	if (!path)
		return enf_err(ENF_FAIL, "out of memory");
	rc = read_private(path, buf, &n);
	if (rc == ENF_NO) {
		rc = ENF_OK;	/* never written: no failure yet */
	} else if (rc == ENF_OK) {
		buf[n] = '\0';
		if (n == LOCKOUT_MAX || strlen(buf) != n || parse(buf, instance_id, c) < 0)
			rc = corrupt(path);
	}
	free(path);
	return rc;
}

int lockout_save(const char *home, const char *instance_id, const struct lockout_counts *c)
{
	char *path = home_path(home, LOCKOUT_FILE), buf[LOCKOUT_MAX];
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int n, rc;

	if (!path)
		return enf_err(ENF_FAIL, "out of memory");
	n = snprintf(buf, sizeof buf, "enf-lockout 1\ninstance %s\n%s %u\n%s %u\n", instance_id,
		     role_name(ROLE_OFFICER), (unsigned)c->n[ROLE_OFFICER], role_name(ROLE_OPERATOR),
		     (unsigned)c->n[ROLE_OPERATOR]);
	/* Over a file-size limit the write must fail and be reported, not
	 * kill the process with the attempt half-counted. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGXFSZ, &ign, &old);
	/* A file of the instance: replaced, never followed, and durable
	 * (its directory synced), so that no count is lost to a crash. */
	rc = io_write_home_file(path, buf, (size_t)n, 0600);
	sigaction(SIGXFSZ, &old, NULL);
	free(path);
	return rc;
}
