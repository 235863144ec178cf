/* The failed-unlock counters: HOME/lockout, a small file of its own so that
 * counting an attempt never rewrites the keystore.
 *
 *   enf-lockout 1
 *   instance SHA256:...        the instance the counts belong to
 *   officer N
 *   operator N
 *
 * The caller serialises every read-modify-write (the keystore's lock); a
 * write replaces the file atomically and durably (temp file, fsync,
 * rename, fsync of the directory).  The file cannot be authenticated: the
 * process that counts a failure holds no secret to sign it with, so whoever
 * can write the home can reset the counts (see enf-keygen(1)). */
#ifndef ENF_LOCKOUT_H
#define ENF_LOCKOUT_H

#include <stdint.h>

#define LOCKOUT_FILE "lockout"

struct lockout_counts {
	uint32_t n[2];		/* indexed by enum role */
};

/* Reads home/lockout.  A missing file is all zeros; a file that is unsafe
 * (not ours, not private, a symlink), unreadable, malformed or names
 * another instance is ENF_FAIL (message set): the caller must not try a
 * passphrase then. */
int lockout_load(const char *home, const char *instance_id, struct lockout_counts *c);
/* Replaces home/lockout.  ENF_FAIL (message set) when it cannot be written
 * durably, including a file-size limit (SIGXFSZ is held off meanwhile). */
int lockout_save(const char *home, const char *instance_id, const struct lockout_counts *c);

#endif
