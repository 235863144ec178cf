/* Files: safe reading, atomic writing, permission checks, the instance home. */
#ifndef ENF_IO_H
#define ENF_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file ("-" or NULL: stdin) of at most max bytes; the result is
 * NUL-terminated (not counted).  ENF_FAIL on I/O, ENF_NO (a message naming
 * the path and max) when larger than max.  Free with free().
 * A file too large is malformed, not unreadable: every program reports it
 * with the exit code it gives a malformed file of that kind, ENF_NO for
 * what it judges (a request, a signature, a policy, a sealed file's
 * identity), ENF_FAIL for what it needs in order to judge (enf-verify's
 * public key and allowed signers, enf-audit's instance file), so that a
 * file has one exit code however it is broken. */
int io_read_file(const char *path, size_t max, unsigned char **out, size_t *len);

/* Atomic output to a path the user named (-o): a temp file beside the
 * target, created with `mode` less the umask, fsync, rename.  The
 * directory is not synced: after a crash the new file may be missing,
 * never torn, and what enf writes there can be made again (its record was
 * made durable first).  Files of the instance (io_write_home_file) sync
 * the directory as well.  Path "-" or NULL means stdout.  A target that is
 * not a regular file is never replaced: a character device or a FIFO is written
 * into directly, a symlink's regular file is replaced (not the link), and
 * anything else (a directory, a block device, a socket, a dangling link) is
 * refused.  What goes to stdout or a device is held until commit (abort
 * drops it) as long as it is at most ATOMIC_HOLD bytes; more streams. */
#define ATOMIC_HOLD (64 * 1024)
struct atomic_file {
	char *path, *tmp;
	int fd;
	int to_stdout;
	int direct;	/* writing straight into a device or FIFO */
	int hold;	/* set by atomic_open for stdout and direct */
	unsigned char *held;	/* not yet written */
	size_t held_len;
	int streaming;	/* more than ATOMIC_HOLD: written as it comes */
	int synced;	/* atomic_sync flushed it: commit does not again */
	int sync_dir;	/* a file of the instance: commit syncs its directory */
};
int atomic_open(struct atomic_file *f, const char *path, mode_t mode);
/* The mode an output the user named gets: `mode` less the umask (atomic_open,
 * and enf-sign -d's staged files, so that both follow one rule). */
mode_t io_output_mode(mode_t mode);
int atomic_write(struct atomic_file *f, const void *p, size_t n);
/* Flushes a file's data to the disk before its commit, so that a full disk
 * or an I/O error shows before the caller records an outcome; a no-op for
 * stdout and devices. */
int atomic_sync(struct atomic_file *f);
int atomic_commit(struct atomic_file *f);
void atomic_abort(struct atomic_file *f);	/* unlinks the temp file */
int io_write_atomic(const char *path, const void *p, size_t n, mode_t mode);
/* A file of the instance (in the home), written atomically with exactly
 * `mode`: whatever is at path now is replaced, never followed or written
 * into (a symlink or FIFO planted by someone with write access to the home
 * must not redirect an officer's write). */
int io_write_home_file(const char *path, const void *p, size_t n, mode_t mode);
/* write(2) all of it, retrying on EINTR. */
int io_write_all(int fd, const void *p, size_t n);

/* Refuse a path that group or others can read or write (or that is not
 * owned by us, or is a symlink): ENF_FAIL naming the path. */
int io_check_private(const char *path);
int io_fsync_dir(const char *dir);
/* The directory part of path ("." for a bare name, "/" at the root);
 * malloc'd, NULL when out of memory. */
char *io_dirname(const char *path);
/* Open a file of the instance with open(2)'s flags (O_NOFOLLOW, O_NONBLOCK
 * and O_CLOEXEC added) and check on the open descriptor that it is a
 * regular file of ours that group and others cannot use.  ENF_OK with *fdp
 * set; ENF_NO when it does not exist; ENF_FAIL naming the path. */
int io_open_private(const char *path, int flags, mode_t mode, int *fdp);

/* The instance home: -H DIR, else $ENF_HOME, else ~/.enf.  malloc'd.
 * Refused (ENF_FAIL naming the path) when any component of it, the home
 * included and however spelled ("link/", "link/."), is a symlink, or when a
 * directory above it is owned by another user than root or us, or is group-
 * or other-writable without the sticky bit (ssh's StrictModes). */
int home_resolve(const char *opt, char **out);
/* An existing, private home (0700, ours), checked as home_resolve does.
 * ENF_FAIL naming the path. */
int home_check(const char *home);
/* home + "/" + name, malloc'd (NULL on failure). */
char *home_path(const char *home, const char *name);

/* Removes from dir the temporary files of processes that are gone: names
 * with mark followed by PID "." and a suffix of letters and digits, as
 * enf's writers make them (NAME.tmpPID.N, NAME.sig.tmpPID.XXXXXX). */
void io_sweep_dead(const char *dir, const char *mark);

/* A file with no name yet (O_TMPFILE) in dir, opened read-write with mode:
 * a kill -9 before io_link_unnamed leaves nothing behind.  -1 (errno set)
 * where the file system or the absence of /proc rules it out: callers then
 * use a named temporary file. */
int io_open_unnamed(const char *dir, mode_t mode);
/* Give the (fsynced) unnamed file fd the name path, which must not exist.
 * 0, or -1 with errno (EEXIST when it exists). */
int io_link_unnamed(int fd, const char *path);

#endif
