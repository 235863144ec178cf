/* Verifying a whole log (enf-audit(5), WHAT VERIFICATION PROVES): one pass
 * over the mapped log (in parallel chunks for a large one), then the last
 * signature, the head, anchors and a pending audit.gap. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "audit_impl.h"
#include "crypto.h"
#include "keyfmt.h"

/* ---------------------------------------------------------------- verify */

struct checkpoint {
	uint64_t seq;
	unsigned char hash[32];
	char what[64];
};

struct vstate {
	const struct audit_verify_opts *o;
	struct audit_verify_result *res;
	const char *base;		/* the mapped log */
	size_t len;			/* its complete lines: base[0..len) */
	struct wbuf inst;		/* the expected instance value, encoded */
	size_t *sig_off;		/* line offsets of the signed records */
	size_t nsig, capsig;
	struct checkpoint cp[64];
	size_t ncp;
	struct audit_headfile head;
	int head_present;
	uint64_t cp_bad;		/* first record that differs from a checkpoint */
	char cp_why[80];
	int show_progress;
};

static int bad(struct audit_verify_result *res, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct audit_verify_result *res, uint64_t seq, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	res->bad = seq;
	if (seq)
		snprintf(res->why, sizeof res->why, "record %llu: %s", (unsigned long long)seq, msg);
	else
		snprintf(res->why, sizeof res->why, "%s", msg);
	return ENF_NO;
}

static int map_locked(struct audit_map *m, const char *path, struct vstate *vs)
{
	struct stat st;
	int rc = ENF_OK;

	memset(m, 0, sizeof *m);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	/* Log size and head are taken together under a shared lock, so that a
	 * concurrent append cannot make the head look ahead of the log. */
	flock(m->fd, LOCK_SH);
	if (fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = enf_err(ENF_FAIL, "%s: not a regular file", path);
	else if (vs->o->head && (rc = audit_headfile_read(vs->o->head, &vs->head, &vs->head_present)) ==
		 ENF_NO)
		rc = bad(vs->res, 0, "%s", enf_errmsg());
	m->len = rc == ENF_OK ? (size_t)st.st_size : 0;
	flock(m->fd, LOCK_UN);
	if (rc == ENF_OK && m->len) {
		m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
		if (m->p == MAP_FAILED) {
			m->p = NULL;
			rc = enf_err(ENF_FAIL, "%s: cannot map: %s", path, strerror(errno));
		} else {
			madvise((void *)m->p, m->len, MADV_SEQUENTIAL);
		}
	}
	if (rc != ENF_OK)
		audit_map_close(m);
	return rc;
}

static int add_checkpoint(struct vstate *vs, uint64_t seq, const unsigned char hash[32],
			  const char *what)
{
	struct checkpoint *c;

	if (vs->ncp == sizeof vs->cp / sizeof vs->cp[0])
		return enf_err(ENF_USAGE, "too many anchors");
	c = &vs->cp[vs->ncp++];
	c->seq = seq;
	memcpy(c->hash, hash, 32);
	snprintf(c->what, sizeof c->what, "%s", what);
	return ENF_OK;
}

static int checkpoints_setup(struct vstate *vs)
{
	const struct audit_verify_opts *o = vs->o;
	int rc = ENF_OK;

	for (size_t i = 0; rc == ENF_OK && i < o->nanchors; i++)
		rc = add_checkpoint(vs, o->anchors[i].seq, o->anchors[i].hash, "the anchor");
	if (rc != ENF_OK || !o->head)
		return rc;
	if (!vs->head_present)
		return o->head_required ? bad(vs->res, 0, "%s is missing: cannot tell whether the "
					      "log was cut short", o->head) : ENF_OK;
	rc = add_checkpoint(vs, vs->head.tip, vs->head.tip_hash, AUDIT_HEAD_FILE);
	if (rc == ENF_OK)
		rc = add_checkpoint(vs, vs->head.sseq, vs->head.shash, "the signed " AUDIT_HEAD_FILE);
	return rc;
}

static int push_signed(struct vstate *vs, size_t off)
{
	if (vs->nsig == vs->capsig) {
		size_t cap = vs->capsig ? 2 * vs->capsig : 1024;
		size_t *n = realloc(vs->sig_off, cap * sizeof *n);
		if (!n)
			return enf_err(ENF_FAIL, "out of memory");
		vs->sig_off = n;
		vs->capsig = cap;
	}
	vs->sig_off[vs->nsig++] = off;
	return ENF_OK;
}

/* One complete line at expected position `expect`, following `prev`. */
static int check_record(struct vstate *vs, struct audit_rec *r, const char *line, size_t len,
			uint64_t expect, const unsigned char prev[32])
{
	struct audit_verify_result *res = vs->res;
	char why[128];

	if (len + 1 > AUDIT_LINE_MAX)
		return bad(res, expect, "longer than %d bytes", AUDIT_LINE_MAX);
	if (audit_rec_parse(r, line, len, why, sizeof why) != ENF_OK)
		return bad(res, expect, "malformed: %s", why);
	if (r->seq != expect)
		return bad(res, expect, "sequence number is %llu, expected %llu "
			   "(a record was deleted, inserted or reordered)",
			   (unsigned long long)r->seq, (unsigned long long)expect);
	if (memcmp(r->prev, prev, 32) != 0)
		return bad(res, expect, "prev is not the hash of record %llu "
			   "(a record before it was changed, removed or inserted)",
			   (unsigned long long)(expect - 1));
	if (!audit_rec_hash_ok(r))
		return bad(res, expect, "hash mismatch (the record was edited)");
	if (r->v[AF_INSTANCE].len != vs->inst.len ||
	    memcmp(line + r->v[AF_INSTANCE].off, vs->inst.p, vs->inst.len) != 0)
		return bad(res, expect, "written by another instance");
	/* Reported after the signatures: a rewrite is better named by them. */
	for (size_t i = 0; i < vs->ncp && !vs->cp_bad; i++)
		if (vs->cp[i].seq == expect && memcmp(vs->cp[i].hash, r->hash, 32) != 0) {
			vs->cp_bad = expect;
			snprintf(vs->cp_why, sizeof vs->cp_why, "%s", vs->cp[i].what);
		}
	/* Only a refusal can be written without the key; anything else
	 * unsigned was put there by someone without it. */
	if (!r->has_sig && !audit_rec_may_be_unsigned(r))
		return bad(res, expect, "not signed, and only a refusal (outcome=fail) may be");
	if (!r->has_sig && vs->head_present && expect == vs->head.sseq)
		return bad(res, expect, "not signed, but the signed %s names it", AUDIT_HEAD_FILE);
	if (r->v[AF_OP].len == 3 && memcmp(line + r->v[AF_OP].off, "gap", 3) == 0)
		res->gaps++;
	if (r->has_sig) {
		if (vs->o->all_signatures && !audit_rec_sig_ok(r, vs->o->id))
			return bad(res, expect, "signature does not verify");
		if (push_signed(vs, (size_t)(line - vs->base)) != ENF_OK)
			return ENF_FAIL;
		res->last_signed = expect;
	}
	return ENF_OK;
}

static void progress(const struct vstate *vs, size_t done, size_t total, size_t *next)
{
	if (!vs->show_progress || total < ((size_t)64 << 20) || done < *next)
		return;
	fprintf(stderr, "\r%s: verifying %3u%%", enf_progname(), (unsigned)(done * 100 / total));
	*next = done + total / 50;
}

static int cp_mismatch(struct vstate *vs)
{
	return bad(vs->res, vs->cp_bad, "hash differs from %s", vs->cp_why);
}

/* Records in [p, end) (whole lines).  With `linked` the first record must
 * follow `prev` as record `expect`; without, the first record's own seq and
 * prev are taken (a chunk of a parallel scan: its link is checked after). */
static int scan_range(struct vstate *vs, const char *p, const char *end, uint64_t expect,
		      unsigned char prev[32], int linked)
{
	struct audit_rec r;
	struct rbuf rb;
	const char *line;
	size_t len, next = 0, total = (size_t)(end - p);
	int rc;

	rbuf_init(&rb, p, total);
	while (rbuf_line(&rb, &line, &len, NULL) == 0) {
		char why[128];

		if (!linked) {
			if (audit_rec_parse(&r, line, len, why, sizeof why) != ENF_OK)
				return ENF_NO;
			expect = r.seq;
			memcpy(prev, r.prev, 32);
			linked = 1;
		}
		if ((rc = check_record(vs, &r, line, len, expect, prev)) != ENF_OK)
			return rc == ENF_NO && vs->cp_bad ? cp_mismatch(vs) : rc;
		memcpy(prev, r.hash, 32);
		vs->res->records = expect++;
		progress(vs, rb.off, total, &next);
	}
	if (vs->show_progress && total >= ((size_t)64 << 20))
		fprintf(stderr, "\r%*s\r", 40, "");
	return ENF_OK;
}

struct chunk {
	struct vstate vs;
	struct audit_verify_result res;
	const char *start, *end;
	uint64_t first_seq;
	unsigned char first_prev[32], last_hash[32];
	int rc;
	pthread_t th;
};

static void *chunk_run(void *arg)
{
	struct chunk *c = arg;
	struct audit_rec r;
	struct rbuf rb;
	const char *line;
	size_t len;
	char why[128];

	c->rc = ENF_NO;
	rbuf_init(&rb, c->start, (size_t)(c->end - c->start));
	if (rbuf_line(&rb, &line, &len, NULL) || audit_rec_parse(&r, line, len, why, sizeof why) != ENF_OK)
		return NULL;
	c->first_seq = r.seq;
	memcpy(c->first_prev, r.prev, 32);
	c->rc = scan_range(&c->vs, c->start, c->end, 0, c->last_hash, 0);
	return NULL;
}

/* Fold the chunks into vs; 0 when they do not join into one good chain
 * (the caller then rescans serially, which names the first bad record). */
static int chunks_join(struct vstate *vs, struct chunk *c, size_t n)
{
	unsigned char prev[32] = { 0 };
	uint64_t next = 1;

	for (size_t i = 0; i < n; i++) {
		if (c[i].rc != ENF_OK || c[i].vs.cp_bad || c[i].first_seq != next ||
		    memcmp(c[i].first_prev, prev, 32) != 0)
			return 0;
		next = c[i].res.records + 1;
		memcpy(prev, c[i].last_hash, 32);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < c[i].vs.nsig; j++)
			if (push_signed(vs, c[i].vs.sig_off[j]) != ENF_OK)
				return 0;
		if (c[i].res.last_signed)
			vs->res->last_signed = c[i].res.last_signed;
		vs->res->gaps += c[i].res.gaps;
	}
	vs->res->records = next - 1;
	return 1;
}

/* Split [p, end) at line ends into up to n chunks and check them at once. */
static int scan_parallel(struct vstate *vs, const char *p, const char *end, size_t n)
{
	struct chunk *c = calloc(n, sizeof *c);
	size_t k = 0, started = 0, step = (size_t)(end - p) / n;
	int ok = 0;

	if (!c)
		return 0;
	while (p < end && k < n) {
		const char *q = k == n - 1 || (size_t)(end - p) <= step ? end : p + step;
		if (q < end) {		/* on to the end of the line q is in */
			struct rbuf rb;
			const char *line;
			size_t len;

			rbuf_init(&rb, q, (size_t)(end - q));
			rbuf_line(&rb, &line, &len, NULL);
			q += rb.off;
		}
		c[k].vs = *vs;
		c[k].vs.res = &c[k].res;
		c[k].vs.sig_off = NULL;
		c[k].vs.nsig = c[k].vs.capsig = 0;
		c[k].vs.show_progress = vs->show_progress && k == 0;
		c[k].start = p;
		c[k].end = q;
		p = q;
		k++;
	}
	for (started = 0; started < k; started++)
		if (pthread_create(&c[started].th, NULL, chunk_run, &c[started]) != 0)
			break;
	for (size_t i = 0; i < started; i++)
		pthread_join(c[i].th, NULL);
	if (started == k)
		ok = chunks_join(vs, c, k);
	for (size_t i = 0; i < k; i++)
		free(c[i].vs.sig_off);
	free(c);
	return ok;
}

static size_t scan_threads(const struct audit_verify_opts *o, size_t len)
{
	long cpus;

	if (o->threads)
		return o->threads;
	if (len < ((size_t)4 << 20))
		return 1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 2 ? 1 : cpus > 4 ? 4 : (size_t)cpus;
}

static int scan(struct vstate *vs, const struct audit_map *m)
{
	const char *end, *last_nl;
	unsigned char prev[32] = { 0 };
	size_t threads;

	if (m->len == 0)	/* an empty log is not mapped: m->p is NULL */
		return ENF_OK;
	last_nl = memrchr(m->p, '\n', m->len);
	end = last_nl ? last_nl + 1 : m->p;
	vs->len = (size_t)(end - m->p);
	vs->res->torn = m->len - vs->len;
	if (end == m->p)
		return ENF_OK;
	threads = scan_threads(vs->o, (size_t)(end - m->p));
	if (threads > 1 && scan_parallel(vs, m->p, end, threads))
		return ENF_OK;
	/* serial: the only pass for small logs, the naming pass for bad ones */
	vs->nsig = 0;
	vs->res->last_signed = vs->res->records = vs->res->gaps = 0;
	return scan_range(vs, m->p, end, 1, prev, 1);
}

/* The record whose line starts at off, parsed again; bounded by the
 * complete lines of the map (never past its length). */
static int record_at(const struct vstate *vs, size_t off, struct audit_rec *r)
{
	struct rbuf rb;
	const char *line;
	size_t len;
	char why[128];
	int nl;

	memset(r, 0, sizeof *r);
	if (off >= vs->len)
		return -1;
	rbuf_init(&rb, vs->base + off, vs->len - off);
	if (rbuf_line(&rb, &line, &len, &nl) || !nl ||
	    audit_rec_parse(r, line, len, why, sizeof why) != ENF_OK)
		return -1;
	return 0;
}

static int signed_at(const struct vstate *vs, size_t i, struct audit_rec *r)
{
	return record_at(vs, vs->sig_off[i], r) == 0 && audit_rec_sig_ok(r, vs->o->id);
}

/* The last signature covers every record before it through the chain.  If
 * it fails, find where the signatures start failing: after a rewrite that
 * re-chained the log from record k, every signature from k on fails and
 * every one before k holds, so a binary search names k. */
static int check_last_signature(struct vstate *vs)
{
	struct audit_rec r;
	size_t lo = 0, hi;

	if (vs->nsig == 0)
		return bad(vs->res, 1, "no record in the log is signed");
	if (vs->o->all_signatures || signed_at(vs, vs->nsig - 1, &r))
		return ENF_OK;
	hi = vs->nsig - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (signed_at(vs, mid, &r))
			lo = mid + 1;
		else
			hi = mid;
	}
	record_at(vs, vs->sig_off[hi], &r);
	return bad(vs->res, r.seq, "signature does not verify (the log was rewritten from here on)");
}

/* Signed records after the signed head's: an append that wrote its record
 * but not the head (a crash, or a head that could not be written).  The
 * last signature covers them through the chain only if it is theirs, so
 * each is verified (there is normally none). */
static int check_head_lag(struct vstate *vs)
{
	struct audit_rec r;

	for (size_t i = vs->nsig; i > 0; i--) {
		int good = signed_at(vs, i - 1, &r);
		if (r.seq <= vs->head.sseq)
			break;
		if (!good)
			return bad(vs->res, r.seq, "signature does not verify");
		vs->res->head_lag++;
	}
	return ENF_OK;
}


/* A pending audit.gap: records that could not be written and that no
 * append has recorded yet.  The log is then incomplete, whatever else holds. */
static int check_gap(const char *path, struct audit_verify_result *res)
{
	int rc = audit_gap_pending(path, &res->gap_pending);

	if (rc != ENF_OK || res->gap_pending == 0)
		return rc;
	return bad(res, 0, "%s: %llu record(s) could not be written and are not in the log yet "
		   "(the log is incomplete; the next signed append records them, see "
		   "enf-audit(5), GAPS)", path, (unsigned long long)res->gap_pending);
}

static int after_scan(struct vstate *vs)
{
	struct audit_verify_result *res = vs->res;
	uint64_t n = res->records;

	if (n == 0)
		return bad(res, 0, "the log holds no complete record");
	for (size_t i = 0; i < vs->ncp; i++)
		if (vs->cp[i].seq > n)
			return bad(res, n + 1, "missing: the log ends at record %llu but %s "
				   "records %llu (the log was cut short)", (unsigned long long)n,
				   vs->cp[i].what, (unsigned long long)vs->cp[i].seq);
	if (check_last_signature(vs) != ENF_OK)
		return ENF_NO;
	if (vs->cp_bad)
		return cp_mismatch(vs);
	if (vs->head_present && !audit_headfile_sig_ok(&vs->head, vs->o->id))
		return bad(res, 0, "%s: its signature does not verify", vs->o->head);
	if (vs->head_present && check_head_lag(vs) != ENF_OK)
		return ENF_NO;
	res->unsigned_tail = n - res->last_signed;
	if (res->unsigned_tail && !vs->o->allow_unsigned_tail)
		return bad(res, res->last_signed + 1, "not signed, and no signed record follows "
			   "(%llu unauthenticated record(s) at the end)",
			   (unsigned long long)res->unsigned_tail);
	return vs->o->gap ? check_gap(vs->o->gap, res) : ENF_OK;
}

int audit_verify(const struct audit_verify_opts *o, struct audit_verify_result *res)
{
	struct vstate vs;
	struct audit_map m = { .fd = -1 };
	char fp[FINGERPRINT_MAX];
	int rc;

	memset(res, 0, sizeof *res);
	memset(&vs, 0, sizeof vs);
	vs.o = o;
	vs.res = res;
	vs.show_progress = o->progress;
	wbuf_init(&vs.inst, 0);
	if ((rc = crypto_init()) != ENF_OK)
		return rc;
	pubkey_fingerprint(o->id, fp);
	if (audit_put_value(&vs.inst, fp) || vs.inst.failed)
		return enf_err(ENF_FAIL, "out of memory");
	rc = map_locked(&m, o->log, &vs);
	vs.base = m.p;
	if (rc == ENF_OK)
		rc = checkpoints_setup(&vs);
	if (rc == ENF_OK)
		rc = scan(&vs, &m);
	if (rc == ENF_OK)
		rc = after_scan(&vs);
	audit_map_close(&m);
	audit_headfile_free(&vs.head);
	wbuf_free(&vs.inst);
	free(vs.sig_off);
	return rc;
}
