/* A GDBM file that is only ever replaced whole: every change builds a new
 * file beside it from the current one plus the changes, syncs it and renames
 * it into place, under an exclusive lock.  A crash or kill -9 at any moment
 * leaves the old or the new file; readers never lock and never see a
 * half-written one; a deleted record leaves no bytes behind. */
#ifndef ENF_STORE_H
#define ENF_STORE_H

#include <gdbm.h>
#include <stddef.h>
#include "buf.h"

#define STORE_KEY_MAX 96

struct store {
	char *dir, *path, *lockpath, *tmppath;
	GDBM_FILE db;		/* read-only view of the current file, or NULL */
};

/* Names dir/name (and its .lock and .new companions); opens the file
 * read-only if it exists.  ENF_FAIL (message set) when it does not open. */
int store_open(struct store *s, const char *dir, const char *name);
int store_exists(const struct store *s);
/* After fork: the view reads through a file description of this process's
 * own (the same file), so that reads in parent and child cannot interleave. */
int store_own_view(struct store *s);
void store_close(struct store *s);
/* A record of db (the store's view or a mutator's current file):
 * 0 and a malloc'd copy, or -1 when absent. */
int store_get(GDBM_FILE db, const char *key, unsigned char **p, size_t *n);

/* Changes to apply: new record values, or deletions. */
struct change {
	char key[STORE_KEY_MAX];
	struct wbuf val;
	int del;
};

struct changes {
	struct change *c;
	size_t n, cap;
	int failed;		/* an allocation failed: store_rewrite refuses */
};

/* A value to fill for key (never NULL; on allocation failure the set is
 * marked failed and a scratch buffer is returned). */
struct wbuf *change_put(struct changes *cs, const char *key);
void change_del(struct changes *cs, const char *key);
/* Moves every change of from into to (from is emptied). */
int changes_take(struct changes *to, struct changes *from);
void changes_free(struct changes *cs);

/* Decides the changes from the current file (NULL when there is none yet),
 * under the lock; returns ENF_OK to write them, anything else to write
 * nothing. */
typedef int (*store_mutate_fn)(void *ctx, GDBM_FILE cur, struct changes *cs);

/* The exclusive lock store_rewrite takes, for state kept beside the store
 * that must change in step with it: a descriptor to close() to release
 * it, or -1 (message set). */
int store_lock(const struct store *s);

/* Lock, call fn, build and rename the new file, reopen the view. */
int store_rewrite(struct store *s, store_mutate_fn fn, void *ctx);

#endif
