/* Files: bounded reads, atomic writes, permission checks, the home. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "io.h"

static int is_stdio(const char *path) { return !path || strcmp(path, "-") == 0; }

int io_read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
	int fd = is_stdio(path) ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	const char *name = is_stdio(path) ? "standard input" : path;
	size_t cap = 4096, n = 0;
	unsigned char *p;
	ssize_t r;

	if (fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", name, strerror(errno));
	p = malloc(cap + 1);
	for (;;) {
		if (!p)
			goto nomem;
		if (n == cap) {
			unsigned char *np;
			if (cap > max)
				break;
			cap *= 2;
			np = realloc(p, cap + 1);
			if (!np)
				goto nomem;
			p = np;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(p);
			if (fd != STDIN_FILENO)
				close(fd);
			return enf_err(ENF_FAIL, "%s: %s", name, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n > max) {
		free(p);
		return enf_err(ENF_NO, "%s: larger than %zu bytes", name, max);
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	return ENF_OK;
nomem:
	free(p);
	if (fd != STDIN_FILENO)
		close(fd);
	return enf_err(ENF_FAIL, "out of memory");
}

int io_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

char *io_dirname(const char *path)
{
	char *d = strdup(path), *slash;

	if (!d)
		return NULL;
	slash = strrchr(d, '/');
	if (!slash)
		strcpy(d, ".");
	else if (slash == d)
		d[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* The checks run on the descriptor that is then read, never on the path
 * first: a file checked by name can be swapped before it is opened. */
int io_open_private(const char *path, int flags, mode_t mode, int *fdp)
{
	struct stat st;
	int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode), rc = ENF_OK;

	*fdp = -1;
	if (fd < 0 && errno == ENOENT)
		return enf_err(ENF_NO, "%s: %s", path, strerror(errno));
	if (fd < 0 && errno == ELOOP)
		return enf_err(ENF_FAIL, "%s: is a symbolic link; refusing it", path);
	if (fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		rc = enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = enf_err(ENF_FAIL, "%s: not a regular file; refusing it", path);
	else if (st.st_uid != geteuid())
		rc = enf_err(ENF_FAIL, "%s: not owned by the current user; refusing it", path);
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		rc = enf_err(ENF_FAIL, "%s: group or others have access (mode %04o); it must be "
			     "private (chmod go= %s)", path, (unsigned)(st.st_mode & 07777), path);
	if (rc != ENF_OK) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return ENF_OK;
}

int io_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int io_open_unnamed(const char *dir, mode_t mode)
{
	if (access("/proc/self/fd", X_OK) < 0)
		return -1;
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
}

int io_link_unnamed(int fd, const char *path)
{
	char proc[64];

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

static int unnamed_beside(const char *path, mode_t mode)
{
	char *dir = io_dirname(path);
	int fd = dir ? io_open_unnamed(dir, mode) : -1;

	free(dir);
	return fd;
}

/* 1 when name is a temporary file's, STEM MARK PID "." SUFFIX (SUFFIX
 * letters and digits: a counter or mkstemp's), whose process no longer
 * exists (kill(pid, 0) says ESRCH).  Never a live writer's; a reused pid
 * only keeps a stale file a while longer. */
static int dead_temp(const char *name, const char *mark)
{
	const char *t = strstr(name, mark), *suffix;
	char *end;
	long pid;

	if (!t || t[strlen(mark)] < '1' || t[strlen(mark)] > '9')
		return 0;
	errno = 0;
	pid = strtol(t + strlen(mark), &end, 10);
	suffix = end + 1;
	if (errno || *end != '.' || !*suffix || suffix[strspn(suffix, "0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")] || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void io_sweep_dead(const char *dir, const char *mark)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (dead_temp(e->d_name, mark))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* Name the unnamed file: straight as the target when there is none, else
 * under a fresh temporary name for the instant of the rename over it. */
static int commit_unnamed(struct atomic_file *f)
{
	size_t n = strlen(f->path) + 32;
	char *tmp;
	unsigned i;
	int rc = -1;

	if (io_link_unnamed(f->fd, f->path) == 0)
		return 0;
	if (errno != EEXIST || !(tmp = malloc(n)))
		return -1;
	for (i = 0; i < 100 && rc < 0; i++) {
		snprintf(tmp, n, "%s.tmp%ld.%u", f->path, (long)getpid(), i);
		rc = io_link_unnamed(f->fd, tmp);
		if (rc < 0 && errno != EEXIST)
			break;
	}
	if (rc == 0 && rename(tmp, f->path) < 0) {
		unlink(tmp);
		rc = -1;
	}
	free(tmp);
	return rc;
}

static mode_t current_umask(void)
{
	mode_t m = umask(077);

	umask(m);
	return m;
}

mode_t io_output_mode(mode_t mode) { return mode & ~current_umask(); }

/* -o onto something that is not a regular file: a character device or a
 * FIFO (/dev/null, /dev/stdout on a terminal, a named pipe) is written into,
 * as `cat >` would; anything else is refused.  Never replaced. */
static int open_special(struct atomic_file *f, const char *path, const struct stat *st)
{
	struct stat now;

	if (!S_ISCHR(st->st_mode) && !S_ISFIFO(st->st_mode))
		return enf_err(ENF_FAIL, "%s: %s; refusing to write over it", path,
			       S_ISDIR(st->st_mode) ? "is a directory" :
			       "not a regular file, a character device or a FIFO");
	if (!(f->path = strdup(path)))
		return enf_err(ENF_FAIL, "out of memory");
	f->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;
		atomic_abort(f);
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(e));
	}
	/* Swapped for a regular file since the stat: that one we would write
	 * in place, not atomically. */
	if (fstat(f->fd, &now) < 0 || (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
		atomic_abort(f);
		return enf_err(ENF_FAIL, "%s: changed while being opened; refusing it", path);
	}
	f->direct = 1;
	f->hold = 1;
	return ENF_OK;
}

/* The path to replace atomically: path itself, or, when it is a symlink,
 * the existing regular file it ends at.  malloc'd (NULL: out of memory). */
static int resolve_link(const char *path, char **out)
{
	struct stat st;

	*out = NULL;
	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode)) {
		*out = strdup(path);
		return ENF_OK;
	}
	if (!(*out = realpath(path, NULL)))
		return enf_err(ENF_FAIL, "%s: a symbolic link to nothing usable (%s); "
			       "refusing to replace it", path, strerror(errno));
	return ENF_OK;
}

/* output: a path the caller named (-o), written as described in io.h;
 * else a file of the instance, replaced whatever is there now, with exactly
 * `mode` (a symlink or FIFO planted in the home is never followed). */
static int open_as(struct atomic_file *f, const char *path, mode_t mode, int output)
{
	struct stat st;
	size_t n;
	int rc;

	memset(f, 0, sizeof *f);
	f->fd = -1;
	if (is_stdio(path)) {
		f->to_stdout = 1;
		f->hold = 1;
		f->fd = STDOUT_FILENO;
		return ENF_OK;
	}
	if (output && stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return open_special(f, path, &st);
	/* A symlink is not replaced either: the file it names is (so that
	 * -o /dev/stdout onto a redirected stdout does not replace /dev/stdout). */
	f->sync_dir = !output;
	if (!output)
		f->path = strdup(path);
	else if ((rc = resolve_link(path, &f->path)) != ENF_OK)
		return rc;
	n = strlen(f->path ? f->path : "") + 40;
	f->tmp = malloc(n);
	if (!f->path || !f->tmp) {
		atomic_abort(f);
		return enf_err(ENF_FAIL, "out of memory");
	}
	snprintf(f->tmp, n, "%s.tmp%ld.XXXXXX", f->path, (long)getpid());
	/* Unnamed until commit where the system allows (tmp NULL then): a
	 * kill -9 meanwhile leaves no temporary file behind, except in the
	 * instant commit_unnamed names it to rename it over path.  What such
	 * an instant left in the home, its next writer removes; in a caller's
	 * directory nothing is removed. */
	if (!output) {
		char *dir = io_dirname(f->path);
		if (dir)
			io_sweep_dead(dir, ".tmp");
		free(dir);
	}
	if ((f->fd = unnamed_beside(f->path, 0600)) >= 0) {
		free(f->tmp);
		f->tmp = NULL;
	} else {
		f->fd = mkstemp(f->tmp);
	}
	if (f->fd < 0) {
		int e = errno;
		free(f->tmp);
		f->tmp = NULL;
		atomic_abort(f);
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(e));
	}
	if (fchmod(f->fd, output ? io_output_mode(mode) : mode) < 0) {
		int e = errno;
		atomic_abort(f);
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(e));
	}
	return ENF_OK;
}

int atomic_open(struct atomic_file *f, const char *path, mode_t mode)
{
	return open_as(f, path, mode, 1);
}

static const char *out_name(const struct atomic_file *f)
{
	return f->to_stdout ? "standard output" : f->path;
}

/* Stdout and devices are written in place, so what goes there is held
 * until commit: a small product (a signature) appears only after what the
 * caller did before committing (its audit record); a stream larger than
 * ATOMIC_HOLD flows on. */
static int release_held(struct atomic_file *f)
{
	int rc = ENF_OK;

	if (f->held_len && io_write_all(f->fd, f->held, f->held_len) < 0)
		rc = enf_err(ENF_FAIL, "%s: %s", out_name(f), strerror(errno));
	if (f->held)
		explicit_bzero(f->held, f->held_len);
	free(f->held);
	f->held = NULL;
	f->held_len = 0;
	return rc;
}

int atomic_write(struct atomic_file *f, const void *p, size_t n)
{
	if (n == 0)
		return ENF_OK;
	if (f->hold && !f->streaming) {
		if (f->held_len + n <= ATOMIC_HOLD) {
			/* One buffer, never moved: nothing is left behind in freed
			 * memory but what release_held wipes. */
			if (!f->held && !(f->held = malloc(ATOMIC_HOLD)))
				return enf_err(ENF_FAIL, "out of memory");
			memcpy(f->held + f->held_len, p, n);
			f->held_len += n;
			return ENF_OK;
		}
		f->streaming = 1;
		if (release_held(f) != ENF_OK)
			return ENF_FAIL;
	}
	if (io_write_all(f->fd, p, n) < 0)
		return enf_err(ENF_FAIL, "%s: %s", out_name(f), strerror(errno));
	return ENF_OK;
}

int atomic_sync(struct atomic_file *f)
{
	if (f->to_stdout || f->direct || f->synced)
		return ENF_OK;
	if (fsync(f->fd) < 0)
		return enf_err(ENF_FAIL, "%s: %s", f->path, strerror(errno));
	f->synced = 1;
	return ENF_OK;
}

int atomic_commit(struct atomic_file *f)
{
	char *dir;
	int rc = ENF_OK;

	if (f->to_stdout) {
		rc = release_held(f);
		f->fd = -1;
		return rc;
	}
	if (f->direct) {
		rc = release_held(f);
		if (close(f->fd) < 0 && rc == ENF_OK)
			rc = enf_err(ENF_FAIL, "%s: %s", f->path, strerror(errno));
		f->fd = -1;
		atomic_abort(f);
		return rc;
	}
	if ((!f->synced && fsync(f->fd) < 0) || (!f->tmp && commit_unnamed(f) < 0) ||
	    close(f->fd) < 0) {
		f->fd = -1;
		rc = enf_err(ENF_FAIL, "%s: %s", f->path, strerror(errno));
		atomic_abort(f);
		return rc;
	}
	f->fd = -1;
	if (!f->tmp)
		;	/* published by commit_unnamed */
	else if (rename(f->tmp, f->path) < 0) {
		rc = enf_err(ENF_FAIL, "%s: %s", f->path, strerror(errno));
		atomic_abort(f);
		return rc;
	}
	if (f->sync_dir) {
		dir = io_dirname(f->path);
		if (!dir || io_fsync_dir(dir) < 0)
			rc = enf_err(ENF_FAIL, "%s: cannot sync its directory", f->path);
		free(dir);
	}
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	return rc;
}

void atomic_abort(struct atomic_file *f)
{
	if (f->held)
		explicit_bzero(f->held, f->held_len);
	free(f->held);
	f->held = NULL;
	f->held_len = 0;
	if (!f->to_stdout && f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	f->fd = -1;
}

static int write_as(const char *path, const void *p, size_t n, mode_t mode, int output)
{
	struct atomic_file f;
	int rc = open_as(&f, path, mode, output);

	if (rc == ENF_OK && (rc = atomic_write(&f, p, n)) == ENF_OK)
		return atomic_commit(&f);
	if (rc != ENF_OK)
		atomic_abort(&f);
	return rc;
}

int io_write_atomic(const char *path, const void *p, size_t n, mode_t mode)
{
	return write_as(path, p, n, mode, 1);
}

int io_write_home_file(const char *path, const void *p, size_t n, mode_t mode)
{
	return write_as(path, p, n, mode, 0);
}

int io_check_private(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return enf_err(ENF_FAIL, "%s: is a symbolic link; refusing it", path);
	if (st.st_uid != geteuid())
		return enf_err(ENF_FAIL, "%s: not owned by the current user; refusing it", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return enf_err(ENF_FAIL, "%s: group or others have access (mode %04o); "
			       "it must be private (chmod go= %s)", path,
			       (unsigned)(st.st_mode & 07777), path);
	return ENF_OK;
}

/* One directory on the way to a home: not a symlink; and, unless it is the
 * home itself (checked by io_check_private), changeable by no one but root
 * and us, as ssh's StrictModes asks: owned by root or us, and not group- or
 * other-writable unless sticky (/tmp is fine). */
static int trail_dir(const char *dir, int is_home, int *gone)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT) {
			*gone = 1;	/* nothing below to check; init creates it */
			return ENF_OK;
		}
		return enf_err(ENF_FAIL, "%s: %s", dir, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return enf_err(ENF_FAIL, "%s: is a symbolic link; refusing a home through it "
			       "(give its real path)", dir);
	if (is_home)
		return ENF_OK;
	if (!S_ISDIR(st.st_mode))
		return enf_err(ENF_FAIL, "%s: not a directory", dir);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return enf_err(ENF_FAIL, "%s: owned by another user (uid %u); refusing a home "
			       "below it", dir, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return enf_err(ENF_FAIL, "%s: writable by group or others (mode %04o); refusing "
			       "a home below it", dir, (unsigned)(st.st_mode & 07777));
	return ENF_OK;
}

/* Every prefix of the home's absolute path, the home last, component by
 * component with lstat: "link/", "link/." and "link/../link" all meet the
 * link itself. */
static int home_trail(const char *home)
{
	char path[PATH_MAX];
	size_t n = 0, i;
	int gone = 0, rc;

	if (home[0] != '/') {
		if (!getcwd(path, sizeof path))
			return enf_err(ENF_FAIL, "cannot find the working directory: %s",
				       strerror(errno));
		n = strlen(path);
	}
	if (n + 1 + strlen(home) >= sizeof path)
		return enf_err(ENF_FAIL, "home path too long");
	if (home[0] != '/')
		path[n++] = '/';
	strcpy(path + n, home);
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if ((rc = trail_dir("/", n == 1, &gone)) != ENF_OK)
		return rc;
	for (i = 1; i <= n && !gone; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		if (path[i - 1] == '/')
			continue;	/* "//" */
		path[i] = '\0';
		rc = trail_dir(path, i == n, &gone);
		if (i < n)
			path[i] = '/';
		if (rc != ENF_OK)
			return rc;
	}
	return ENF_OK;
}

int home_resolve(const char *opt, char **out)
{
	const char *h = opt;
	char buf[PATH_MAX];
	int rc;

	if (!h || !*h)
		h = getenv("ENF_HOME");
	if (!h || !*h) {
		const char *home = getenv("HOME");
		struct passwd *pw;
		if (!home || !*home) {
			pw = getpwuid(geteuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return enf_err(ENF_FAIL, "cannot find the home directory; use -H DIR");
		if ((size_t)snprintf(buf, sizeof buf, "%s/.enf", home) >= sizeof buf)
			return enf_err(ENF_FAIL, "home path too long");
		h = buf;
	}
	if ((rc = home_trail(h)) != ENF_OK)
		return rc;
	*out = strdup(h);
	return *out ? ENF_OK : enf_err(ENF_FAIL, "out of memory");
}

int home_check(const char *home)
{
	struct stat st;
	int rc;

	if ((rc = home_trail(home)) != ENF_OK)
		return rc;
	if (stat(home, &st) < 0) {
		if (errno == ENOENT)
			return enf_err(ENF_FAIL, "%s: no instance here (enf-keygen init creates one)", home);
		return enf_err(ENF_FAIL, "%s: %s", home, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return enf_err(ENF_FAIL, "%s: not a directory", home);
	return io_check_private(home);
}

char *home_path(const char *home, const char *name)
{
	size_t n = strlen(home) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", home, name);
	return p;
}
