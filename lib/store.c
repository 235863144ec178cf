/* A GDBM file replaced whole on every change (see store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "io.h"
#include "store.h"

static datum dkey(const char *k)
{
	datum d = { (char *)k, (int)strlen(k) };
	return d;
}

int store_get(GDBM_FILE db, const char *key, unsigned char **p, size_t *n)
{
	datum v = gdbm_fetch(db, dkey(key));

	if (!v.dptr)
		return -1;
	*p = (unsigned char *)v.dptr;
	*n = (size_t)v.dsize;
	return 0;
}

/* No mmap: a file cut short must read as an error, not a SIGBUS.  The file
 * is checked on the descriptor GDBM then reads, so that the file found
 * private is the file used (a path checked first can be swapped before it
 * is opened). */
static int open_read(const char *path, GDBM_FILE *db)
{
	int fd, rc;

	*db = NULL;
	if ((rc = io_open_private(path, O_RDONLY, 0, &fd)) != ENF_OK)
		return ENF_FAIL;
	*db = gdbm_fd_open(fd, path, 0, GDBM_READER | GDBM_NOLOCK | GDBM_NOMMAP | GDBM_XVERIFY |
			   GDBM_CLOEXEC | GDBM_CLOERROR, NULL);
	if (!*db)
		return enf_err(ENF_FAIL, "%s: not a valid enf keystore (%s)", path,
			       gdbm_strerror(gdbm_errno));
	return ENF_OK;
}

/* A forked process shares its parent's open file description, and with
 * it the file offset that GDBM's seek-then-read uses: two processes
 * reading the one view at once read each other's records.  Reopening the
 * descriptor through /proc gives this process a description of its own
 * for the same file, even one renamed over since (checked by inode), and
 * dup3 puts it under the number GDBM reads from: GDBM seeks before every
 * read, so nothing it holds depends on the old offset. */
int store_own_view(struct store *s)
{
	char proc[64];
	struct stat was, now;
	int old, fd, rc;

	if (!s->db)
		return ENF_OK;
	old = gdbm_fdesc(s->db);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", old);
	if (fstat(old, &was) < 0 || (fd = open(proc, O_RDONLY | O_CLOEXEC)) < 0)
		return enf_err(ENF_FAIL, "%s: cannot reopen the keystore (%s)", s->path,
			       strerror(errno));
	if (fstat(fd, &now) < 0 || now.st_dev != was.st_dev || now.st_ino != was.st_ino)
		rc = enf_err(ENF_FAIL, "%s: cannot reopen the keystore (not the same file)", s->path);
	else if (dup3(fd, old, O_CLOEXEC) < 0)
		rc = enf_err(ENF_FAIL, "%s: cannot reopen the keystore (%s)", s->path,
			     strerror(errno));
	else
		rc = ENF_OK;
	close(fd);
	return rc;
}

static char *path_with(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s%s", dir, name, suffix);
	return p;
}

int store_open(struct store *s, const char *dir, const char *name)
{
	memset(s, 0, sizeof *s);
	s->dir = strdup(dir);
	s->path = path_with(dir, name, "");
	s->lockpath = path_with(dir, name, ".lock");
	s->tmppath = path_with(dir, name, ".new");
	if (!s->dir || !s->path || !s->lockpath || !s->tmppath) {
		store_close(s);
		return enf_err(ENF_FAIL, "out of memory");
	}
	return store_exists(s) ? open_read(s->path, &s->db) : ENF_OK;
}

int store_exists(const struct store *s) { return access(s->path, F_OK) == 0; }

void store_close(struct store *s)
{
	if (s->db)
		gdbm_close(s->db);
	free(s->dir);
	free(s->path);
	free(s->lockpath);
	free(s->tmppath);
	memset(s, 0, sizeof *s);
}

struct wbuf *change_put(struct changes *cs, const char *key)
{
	static struct wbuf scratch;
	struct change *c;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 8;
		struct change *nc = realloc(cs->c, cap * sizeof *nc);
		if (!nc) {
			cs->failed = 1;
			wbuf_free(&scratch);
			wbuf_init(&scratch, 0);
			return &scratch;
		}
		cs->c = nc;
		cs->cap = cap;
	}
	c = &cs->c[cs->n++];
	snprintf(c->key, sizeof c->key, "%s", key);
	wbuf_init(&c->val, 0);
	c->del = 0;
	return &c->val;
}

void change_del(struct changes *cs, const char *key)
{
	change_put(cs, key);
	if (!cs->failed)
		cs->c[cs->n - 1].del = 1;
}

void changes_free(struct changes *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		wbuf_free(&cs->c[i].val);
	free(cs->c);
	memset(cs, 0, sizeof *cs);
}

int changes_take(struct changes *to, struct changes *from)
{
	for (size_t i = 0; i < from->n; i++) {
		struct wbuf *w = change_put(to, from->c[i].key);
		if (to->failed)
			return -1;
		*w = from->c[i].val;
		to->c[to->n - 1].del = from->c[i].del;
		wbuf_init(&from->c[i].val, 0);
	}
	changes_free(from);
	return 0;
}

static const struct change *change_find(const struct changes *cs, const char *k, size_t n)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strlen(cs->c[i].key) == n && memcmp(cs->c[i].key, k, n) == 0)
			return &cs->c[i];
	return NULL;
}

/* Every record of from that no change names, then the changes. */
static int copy_with(GDBM_FILE from, GDBM_FILE to, const struct changes *cs)
{
	datum k = from ? gdbm_firstkey(from) : (datum){ NULL, 0 };

	while (k.dptr) {
		datum next, v;
		int bad = 0;
		if (!change_find(cs, k.dptr, (size_t)k.dsize)) {
			v = gdbm_fetch(from, k);
			bad = !v.dptr || gdbm_store(to, k, v, GDBM_INSERT) != 0;
			free(v.dptr);
		}
		next = gdbm_nextkey(from, k);
		free(k.dptr);
		if (bad) {
			free(next.dptr);
			return -1;
		}
		k = next;
	}
	/* The end of iteration and a read error look alike: tell them apart. */
	if (from && gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR)
		return -1;
	for (size_t i = 0; i < cs->n; i++) {
		datum key = dkey(cs->c[i].key), val = { (char *)cs->c[i].val.p, (int)cs->c[i].val.len };
		if (cs->c[i].val.failed)
			return -1;
		if (!cs->c[i].del && gdbm_store(to, key, val, GDBM_REPLACE) != 0)
			return -1;
	}
	return 0;
}

static int write_new(const char *dir, const char *tmp, GDBM_FILE cur, const struct changes *cs)
{
	GDBM_FILE out;
	int rc, fd;

	/* Built unnamed where the system allows (io.h), and named only for the
	 * rename: a kill -9 while it is written leaves no keystore.new. */
	fd = io_open_unnamed(dir, 0600);
	out = fd >= 0 ? gdbm_fd_open(fd, tmp, 0, GDBM_NEWDB | GDBM_NOLOCK | GDBM_CLOERROR, NULL) :
		gdbm_open(tmp, 0, GDBM_NEWDB | GDBM_NOLOCK | GDBM_CLOEXEC, 0600, NULL);
	if (!out)
		return -1;
	rc = copy_with(cur, out, cs);
	if (rc == 0 && (gdbm_sync(out) != 0 || fsync(gdbm_fdesc(out)) != 0))
		rc = -1;
	/* Named after gdbm_close, just before the caller's rename, so that
	 * only an instant leaves a name for the next writer to remove. */
	if (rc == 0 && fd >= 0 && (fd = dup(fd)) < 0)
		rc = -1;
	gdbm_close(out);
	if (rc == 0 && fd >= 0 && io_link_unnamed(fd, tmp) < 0)
		rc = -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

int store_lock(const struct store *s)
{
	int fd = open(s->lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", s->lockpath, strerror(errno)), -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return enf_err(ENF_FAIL, "%s: %s", s->lockpath, strerror(errno)), -1;
		}
	}
	/* keystore.new has a name only under this lock, from write_new to the
	 * rename: one that exists now was left by a writer killed between. */
	unlink(s->tmppath);
	return fd;
}

int store_rewrite(struct store *s, store_mutate_fn fn, void *ctx)
{
	struct changes cs = { 0 };
	GDBM_FILE cur = NULL;
	int fd, rc;

	if ((fd = store_lock(s)) < 0)
		return ENF_FAIL;
	if (store_exists(s) && (rc = open_read(s->path, &cur)) != ENF_OK)
		goto out;
	if ((rc = fn(ctx, cur, &cs)) != ENF_OK)
		goto out;
	if (cs.failed) {
		rc = enf_err(ENF_FAIL, "out of memory");
		goto out;
	}
	if (write_new(s->dir, s->tmppath, cur, &cs) < 0 || rename(s->tmppath, s->path) < 0 ||
	    io_fsync_dir(s->dir) < 0) {
		unlink(s->tmppath);
		rc = enf_err(ENF_FAIL, "%s: cannot write the keystore", s->path);
		goto out;
	}
	/* Read on from the file just written, not the replaced one. */
	if (s->db)
		gdbm_close(s->db);
	if (open_read(s->path, &s->db) != ENF_OK)
		rc = enf_err(ENF_FAIL, "%s: cannot reopen the keystore", s->path);
out:
	if (cur)
		gdbm_close(cur);
	close(fd);
	changes_free(&cs);
	return rc;
}
