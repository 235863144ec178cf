/* audit.gap (enf-audit(5), GAPS): the trace of records an append could not
 * write, taken into the log by the next signed append. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "enf.h"
#include "audit_impl.h"
#include "crypto.h"
#include "io.h"

/* A record that could not be written leaves a line in audit.gap beside the
 * log (enf-audit(5), GAPS): a small file of its own, so that it can still
 * be written when the log is refused or its disk has no room for a record.
 * The next signed append records it and moves it to audit.gap.SEQ. */

static int put_gap_value(struct wbuf *w, const char *name, const char *v)
{
	return wbuf_printf(w, " %s=", name) || audit_put_value(w, v) ? -1 : 0;
}

static int gap_line(struct wbuf *w, const struct audit_event *ev, const char *why)
{
	char tbuf[32];
	int bad = 0;

	audit_utc_time((int64_t)time(NULL), tbuf);
	bad |= wbuf_printf(w, "%s time=%s", GAP_MAGIC, tbuf);
	bad |= put_gap_value(w, "program", ev->program);
	bad |= put_gap_value(w, "op", ev->op);
	bad |= put_gap_value(w, "outcome", ev->outcome);
	bad |= put_gap_value(w, "reason", ev->reason);
	bad |= put_gap_value(w, "key", ev->key);
	bad |= put_gap_value(w, "identity", ev->identity);
	bad |= put_gap_value(w, "rule", ev->rule);
	bad |= wbuf_printf(w, " request_digest=");
	bad |= audit_put_hex(w, ev->request_digest);
	bad |= put_gap_value(w, "why", why);
	bad |= wbuf_put(w, "\n", 1);
	return bad || w->failed ? -1 : 0;
}

/* Open audit.gap to add to it, under its lock, and make sure the file we
 * hold is still the one at the path (an append may have just moved it). */
static int gap_open_append(const char *path)
{
	for (int tries = 0; tries < 4; tries++) {
		struct stat st, now;
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 077) || flock(fd, LOCK_EX) < 0) {
			close(fd);
			errno = EPERM;
			return -1;
		}
		if (lstat(path, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/* The trace of a record that could not be written.  Best effort: if even
 * this fails, the message on stderr is all there is. */
void audit_gap_note(const char *home, const struct audit_event *ev, const char *why)
{
	char *path = home_path(home, AUDIT_GAP_FILE);
	struct wbuf w;
	int fd = path ? gap_open_append(path) : -1;

	wbuf_init(&w, 0);
	if (fd < 0 || gap_line(&w, ev, why) < 0 || io_write_all(fd, w.p, w.len) < 0 ||
	    fsync(fd) < 0)
		enf_warn("audit: nor can %s record that it is missing: %s",
			 path ? path : AUDIT_GAP_FILE, strerror(errno));
	if (fd >= 0)
		close(fd);
	wbuf_free(&w);
	free(path);
}

void audit_gap_close(struct audit_gap *g)
{
	if (g->fd >= 0)
		close(g->fd);
	free(g->path);
	g->fd = -1;
	g->path = NULL;
}

/* Only a writer holding the key takes audit.gap in: a record of it must be
 * signed, and a refusal (the only unsigned kind) cannot say it. */
int audit_gap_take(const char *home, struct audit_gap *g)
{
	unsigned char buf[8192];
	struct hash_ctx md;
	struct stat st;
	ssize_t r;

	memset(g, 0, sizeof *g);
	g->fd = -1;
	if (!(g->path = home_path(home, AUDIT_GAP_FILE)))
		return enf_err(ENF_FAIL, "out of memory");
	g->fd = open(g->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (g->fd < 0)		/* none, or not a file we may read: verify reports it */
		return ENF_OK;
	if (fstat(g->fd, &st) < 0 || !S_ISREG(st.st_mode) || flock(g->fd, LOCK_EX) < 0 ||
	    hash_begin(&md, HASH_SHA256) != ENF_OK) {
		audit_gap_close(g);
		return ENF_OK;
	}
	while ((r = read(g->fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < r; i++)
			g->lines += buf[i] == '\n';
		if (g->bytes < GAP_SUMMARY_MAX) {
			size_t n = (size_t)r < GAP_SUMMARY_MAX - g->bytes ? (size_t)r :
				GAP_SUMMARY_MAX - (size_t)g->bytes;
			memcpy(g->first + g->bytes, buf, n);
			g->first[g->bytes + n] = '\0';
		}
		g->bytes += r > 0 ? (uint64_t)r : 0;
		hash_update(&md, buf, r > 0 ? (size_t)r : 0);
	}
	if (hash_end(&md, g->sha) != ENF_OK || r < 0)
		audit_gap_close(g);
	return ENF_OK;
}

/* "N record(s) could not be written ...: <the first of them>" */
void audit_gap_detail(const struct audit_gap *g, uint64_t seq, char *out, size_t n)
{
	char hex[65];
	const char *first = g->first;
	size_t ml = strlen(GAP_MAGIC " ");
	int k;

	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", g->sha[i]);
	if (strncmp(first, GAP_MAGIC " ", ml) == 0)
		first += ml;
	k = snprintf(out, n, "%llu record(s) could not be written (from audit.gap, not "
		     "authenticated, %llu bytes, sha256 %s, kept as audit.gap.%llu)%s",
		     (unsigned long long)g->lines, (unsigned long long)g->bytes, hex,
		     (unsigned long long)seq, g->bytes ? "; the first: " : "");
	if (k > 0 && (size_t)k < n)
		snprintf(out + k, n - (size_t)k, "%.*s", (int)strcspn(first, "\n"), first);
}

/* The gap is in the log: move the file aside (under its lock, so that a
 * writer adding to it either got in before or finds the path free). */
void audit_gap_done(const char *home, struct audit_gap *g)
{
	char suffix[40], *to;

	snprintf(suffix, sizeof suffix, AUDIT_GAP_FILE ".%llu", (unsigned long long)g->seq);
	to = home_path(home, suffix);
	if (!to || rename(g->path, to) < 0)
		enf_warn("audit: recorded %s as record %llu but cannot move it aside: %s",
			 g->path, (unsigned long long)g->seq, strerror(errno));
	free(to);
}

/* A pending audit.gap: records that could not be written and that no
 * append has recorded yet.  *lines is how many (at least 1 when the file is
 * there, whatever it holds), 0 when there is none. */
int audit_gap_pending(const char *path, uint64_t *pending)
{
	unsigned char buf[8192];
	struct stat st;
	uint64_t lines = 0;
	ssize_t r;
	int fd;

	*pending = 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? ENF_OK : enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
	while (fd >= 0 && ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)))
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	if (fd >= 0)
		close(fd);
	*pending = lines ? lines : 1;
	return ENF_OK;
}
