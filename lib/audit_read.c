/* Reading a log for people (enf-audit(1), show): the mapping, and a
 * record as a human line or a JSON object. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "audit_impl.h"
#include "encode.h"

/* ------------------------------------------------------------------- map */

int audit_map_open(struct audit_map *m, const char *path)
{
	struct stat st;

	memset(m, 0, sizeof *m);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	/* A shared lock for the instant of taking the size: appends are whole
	 * records written under the exclusive lock, so this size ends on one. */
	flock(m->fd, LOCK_SH);
	if (fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(m->fd);
		return enf_err(ENF_FAIL, "%s: not a regular file", path);
	}
	m->len = (size_t)st.st_size;
	flock(m->fd, LOCK_UN);
	if (m->len == 0)
		return ENF_OK;
	m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		close(m->fd);
		return enf_err(ENF_FAIL, "%s: cannot map: %s", path, strerror(errno));
	}
	madvise((void *)m->p, m->len, MADV_SEQUENTIAL);
	return ENF_OK;
}

void audit_map_close(struct audit_map *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
	if (m->fd >= 0)
		close(m->fd);
	m->p = NULL;
	m->fd = -1;
}

/* ---------------------------------------------------------------- format */

int audit_rec_format_json(const struct audit_rec *r, struct wbuf *out)
{
	struct wbuf v;

	wbuf_init(&v, 0);
	wbuf_printf(out, "{\"seq\":%llu", (unsigned long long)r->seq);
	for (int f = AF_TIME; f < AF_COUNT; f++) {
		wbuf_printf(out, ",\"%s\":", audit_field_name(f));
		if (audit_rec_value(r, f, &v) == ENF_OK)
			json_string(out, v.p, v.len);
		else
			wbuf_printf(out, "null");
	}
	wbuf_printf(out, "}\n");
	wbuf_free(&v);
	return out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

/* A decoded value for a human: as is when it is one plain token, else in
 * double quotes with \" \\ and every byte outside printable ASCII as \xHH, so
 * that nothing reaches the terminal but printable ASCII and no value can
 * pose as another field. */
static void put_text_value(struct wbuf *out, const unsigned char *v, size_t n)
{
	int plain = n > 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			plain = 0;
	if (plain) {
		wbuf_put(out, v, n);
		return;
	}
	wbuf_put(out, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			wbuf_printf(out, "\\%c", v[i]);
		else if (v[i] < 0x20 || v[i] > 0x7e)
			wbuf_printf(out, "\\x%02x", v[i]);
		else
			wbuf_put(out, &v[i], 1);
	}
	wbuf_put(out, "\"", 1);
}

int audit_rec_format_text(const struct audit_rec *r, struct wbuf *out)
{
	static const int head[] = { AF_SEQ, AF_TIME, AF_PROGRAM, AF_OP, AF_OUTCOME };
	struct wbuf v;
	int failed;

	wbuf_init(&v, 0);
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
		if (i)
			wbuf_put(out, " ", 1);
		if (audit_rec_value(r, head[i], &v) == ENF_OK)
			put_text_value(out, v.p, v.len);
	}
	for (int f = AF_REASON; f <= AF_DETAIL; f++)
		if (audit_rec_value(r, f, &v) == ENF_OK) {
			wbuf_printf(out, " %s=", audit_field_name(f));
			put_text_value(out, v.p, v.len);
		}
	wbuf_printf(out, "%s\n", r->has_sig ? "" : " (unsigned)");
	failed = out->failed || v.failed;
	wbuf_free(&v);
	return failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}
