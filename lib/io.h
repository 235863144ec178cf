/* Files: safe reading, atomic writing, permission checks, the instance home. */
#ifndef ENF_IO_H
#define ENF_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file ("-" or NULL: stdin) of at most max bytes; the result is
 * NUL-terminated (not counted).  ENF_FAIL on I/O, ENF_NO when larger than
 * max.  Free with free(). */
int io_read_file(const char *path, size_t max, unsigned char **out, size_t *len);

/* Atomic output: a temp file beside the target, fsync, rename, fsync the
 * directory.  Path "-" or NULL means stdout (written on commit only). */
struct atomic_file {
	char *path, *tmp;
	int fd;
	int to_stdout;
};
int atomic_open(struct atomic_file *f, const char *path, mode_t mode);
int atomic_write(struct atomic_file *f, const void *p, size_t n);
int atomic_commit(struct atomic_file *f);
void atomic_abort(struct atomic_file *f);	/* unlinks the temp file */
int io_write_atomic(const char *path, const void *p, size_t n, mode_t mode);
/* write(2) all of it, retrying on EINTR. */
int io_write_all(int fd, const void *p, size_t n);

/* Refuse a path that group or others can read or write (or that is not
 * owned by us, or is a symlink): ENF_FAIL naming the path. */
int io_check_private(const char *path);
int io_fsync_dir(const char *dir);

/* The instance home: -H DIR, else $ENF_HOME, else ~/.enf.  malloc'd. */
int home_resolve(const char *opt, char **out);
/* An existing, private home (0700, ours).  ENF_FAIL naming the path. */
int home_check(const char *home);
/* home + "/" + name, malloc'd (NULL on failure). */
char *home_path(const char *home, const char *name);

/* A file with no name yet (O_TMPFILE) in dir, opened read-write with mode:
 * a kill -9 before io_link_unnamed leaves nothing behind.  -1 (errno set)
 * where the file system or the absence of /proc rules it out: callers then
 * use a named temporary file. */
int io_open_unnamed(const char *dir, mode_t mode);
/* Give the (fsynced) unnamed file fd the name path, which must not exist.
 * 0, or -1 with errno (EEXIST when it exists). */
int io_link_unnamed(int fd, const char *path);

#endif
