/* The enf-agent wire protocol (agent_proto.h): pure parsers and encoders,
 * and blocking whole-frame I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "agent_proto.h"
#include "crypto.h"
#include "io.h"

size_t ap_body_max(int type)
{
	switch (type) {
	case AP_SIGN: return AP_FRAME_MAX - 1;
	case AP_SEAL: return 1 + 4 + AP_MSG_MAX;
	case AP_OPEN: return 1 + 4 + AP_MSG_MAX + 4 + AP_FROM_MAX;
	case AP_DATA: case AP_STDERR: return AP_CHUNK;
	case AP_RESULT: return 1 + 8 + 4 + AP_MSG_MAX + 4 + AP_SIG_MAX;
	case AP_DONE: return 1 + 4 + AP_MSG_MAX;
	case AP_COMMIT: case AP_END: case AP_STOP: return 0;
	default: return (size_t)-1;
	}
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int ap_frame_parse(const unsigned char *buf, size_t n, struct ap_frame *f, size_t *used)
{
	uint32_t len;
	size_t max;

	if (n < AP_HEADER) {
		*used = AP_HEADER - n;
		return ENF_NO;
	}
	len = be32(buf);
	max = ap_body_max(buf[4]);
	if (len == 0 || max == (size_t)-1 || len - 1 > max)
		return ENF_FAIL;
	if (n - 4 < len) {
		*used = len - (n - 4);
		return ENF_NO;
	}
	f->type = buf[4];
	f->body = buf + AP_HEADER;
	f->len = len - 1;
	*used = 4 + (size_t)len;
	return ENF_OK;
}

static int get_string(struct rbuf *r, size_t max, const unsigned char **p, size_t *n)
{
	return rbuf_string(r, p, n) == 0 && *n <= max ? 0 : -1;
}

int ap_sign_parse(const struct ap_frame *f, struct ap_sign *s)
{
	struct rbuf r;
	uint8_t flags;

	if (f->type != AP_SIGN)
		return ENF_FAIL;
	rbuf_init(&r, f->body, f->len);
	if (rbuf_u8(&r, &flags) < 0 || (flags & ~(AP_F_OVERSIZE | AP_F_NO_OUTPUT)) ||
	    get_string(&r, AP_MSG_MAX, &s->msg, &s->msglen) < 0 ||
	    get_string(&r, AP_REQUEST_MAX, &s->req, &s->reqlen) < 0 || !rbuf_done(&r))
		return ENF_FAIL;
	/* An oversize request travels as its flag alone. */
	if ((flags & AP_F_OVERSIZE) && s->reqlen)
		return ENF_FAIL;
	s->flags = flags;
	return ENF_OK;
}

int ap_stream_parse(const struct ap_frame *f, struct ap_stream *s)
{
	struct rbuf r;
	uint8_t fl;
	unsigned allowed = AP_F_NO_OUTPUT | AP_F_STREAM | (f->type == AP_OPEN ? AP_F_FROM : 0);

	memset(s, 0, sizeof *s);
	if (f->type != AP_SEAL && f->type != AP_OPEN)
		return ENF_FAIL;
	rbuf_init(&r, f->body, f->len);
	if (rbuf_u8(&r, &fl) < 0 || (fl & ~allowed) ||
	    get_string(&r, AP_MSG_MAX, &s->msg, &s->msglen) < 0)
		return ENF_FAIL;
	if ((fl & AP_F_FROM) && get_string(&r, AP_FROM_MAX, &s->from, &s->fromlen) < 0)
		return ENF_FAIL;
	if (!rbuf_done(&r))
		return ENF_FAIL;
	s->flags = fl;
	return ENF_OK;
}

static int valid_status(uint8_t s) { return s == ENF_OK || s == ENF_NO || s == ENF_FAIL; }

int ap_result_parse(const struct ap_frame *f, struct ap_result *res)
{
	struct rbuf r;
	uint8_t st;

	if (f->type != AP_RESULT)
		return ENF_FAIL;
	rbuf_init(&r, f->body, f->len);
	if (rbuf_u8(&r, &st) < 0 || !valid_status(st) || rbuf_u64(&r, &res->seq) < 0 ||
	    get_string(&r, AP_MSG_MAX, &res->msg, &res->msglen) < 0 ||
	    get_string(&r, AP_SIG_MAX, &res->sig, &res->siglen) < 0 || !rbuf_done(&r))
		return ENF_FAIL;
	/* A signature comes with a permit, and only with one. */
	if ((st == ENF_OK) != (res->siglen > 0))
		return ENF_FAIL;
	res->status = st;
	return ENF_OK;
}

int ap_done_parse(const struct ap_frame *f, struct ap_done *d)
{
	struct rbuf r;
	uint8_t st;

	if (f->type != AP_DONE)
		return ENF_FAIL;
	rbuf_init(&r, f->body, f->len);
	if (rbuf_u8(&r, &st) < 0 || !valid_status(st) ||
	    get_string(&r, AP_MSG_MAX, &d->msg, &d->msglen) < 0 || !rbuf_done(&r))
		return ENF_FAIL;
	d->status = st;
	return ENF_OK;
}

/* ---- encoders ---- */

static int put_header(struct wbuf *w, int type, size_t n)
{
	if (n > ap_body_max(type)) {
		w->failed = 1;
		return ENF_FAIL;
	}
	wbuf_u32(w, (uint32_t)(n + 1));
	wbuf_u8(w, (uint8_t)type);
	return w->failed ? ENF_FAIL : ENF_OK;
}

int ap_put_frame(struct wbuf *w, int type, const void *body, size_t n)
{
	if (put_header(w, type, n) != ENF_OK)
		return ENF_FAIL;
	wbuf_put(w, body, n);
	return w->failed ? ENF_FAIL : ENF_OK;
}

static size_t msg_len(const char *msg)
{
	size_t n = msg ? strlen(msg) : 0;

	return n > AP_MSG_MAX ? AP_MSG_MAX : n;
}

int ap_put_sign(struct wbuf *w, unsigned flags, const char *msg, const void *req, size_t n)
{
	size_t m = msg_len(msg);

	if (put_header(w, AP_SIGN, 1 + 4 + m + 4 + n) != ENF_OK)
		return ENF_FAIL;
	wbuf_u8(w, (uint8_t)flags);
	wbuf_string(w, msg ? msg : "", m);
	wbuf_string(w, req, n);
	return w->failed ? ENF_FAIL : ENF_OK;
}

int ap_put_stream(struct wbuf *w, int type, unsigned flags, const char *msg,
		  const void *from, size_t fromlen)
{
	size_t m = msg_len(msg);

	if (from && (type != AP_OPEN || fromlen > AP_FROM_MAX))
		return ENF_FAIL;
	if (from)
		flags |= AP_F_FROM;
	if (put_header(w, type, 1 + 4 + m + (from ? 4 + fromlen : 0)) != ENF_OK)
		return ENF_FAIL;
	wbuf_u8(w, (uint8_t)flags);
	wbuf_string(w, msg ? msg : "", m);
	if (from)
		wbuf_string(w, from, fromlen);
	return w->failed ? ENF_FAIL : ENF_OK;
}

int ap_put_result(struct wbuf *w, int status, uint64_t seq, const char *msg, const void *sig,
		  size_t n)
{
	size_t m = msg_len(msg);

	if (put_header(w, AP_RESULT, 1 + 8 + 4 + m + 4 + n) != ENF_OK)
		return ENF_FAIL;
	wbuf_u8(w, (uint8_t)status);
	wbuf_u64(w, seq);
	wbuf_string(w, msg ? msg : "", m);
	wbuf_string(w, sig, n);
	return w->failed ? ENF_FAIL : ENF_OK;
}

int ap_put_done(struct wbuf *w, int status, const char *msg)
{
	size_t m = msg_len(msg);

	if (put_header(w, AP_DONE, 1 + 4 + m) != ENF_OK)
		return ENF_FAIL;
	wbuf_u8(w, (uint8_t)status);
	wbuf_string(w, msg ? msg : "", m);
	return w->failed ? ENF_FAIL : ENF_OK;
}

/* ---- I/O ---- */

/* Reads exactly n bytes: n, 0 at a clean end before any byte, -1 on error
 * or an end in the middle. */
static ssize_t read_exact(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = 0;
			return got ? -1 : 0;
		}
		got += (size_t)r;
	}
	return (ssize_t)n;
}

static int io_failed(const char *what)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return enf_err(ENF_FAIL, "agent connection: timed out %s", what);
	if (errno == 0)
		return enf_err(ENF_FAIL, "agent connection: closed in the middle of a frame");
	return enf_err(ENF_FAIL, "agent connection: %s", strerror(errno));
}

int ap_read_frame(int fd, struct ap_buf *b, struct ap_frame *f)
{
	unsigned char hdr[AP_HEADER];
	size_t need, used;
	ssize_t r;
	int rc;

	if ((r = read_exact(fd, hdr, AP_HEADER)) == 0)
		return ENF_NO;
	if (r < 0)
		return io_failed("reading");
	rc = ap_frame_parse(hdr, AP_HEADER, f, &need);
	if (rc == ENF_FAIL)
		return enf_err(ENF_FAIL, "agent connection: malformed frame");
	if (rc == ENF_NO) {
		/* need is bounded by ap_body_max: at most AP_FRAME_MAX. */
		if (b->cap < AP_HEADER + need) {
			unsigned char *np = malloc(AP_HEADER + need);
			if (!np)
				return enf_err(ENF_FAIL, "out of memory");
			ap_buf_free(b);
			b->p = np;
			b->cap = AP_HEADER + need;
		}
		memcpy(b->p, hdr, AP_HEADER);
		if (read_exact(fd, b->p + AP_HEADER, need) != (ssize_t)need)
			return io_failed("reading");
		rc = ap_frame_parse(b->p, AP_HEADER + need, f, &used);
	} else {
		/* A frame with an empty body. */
		if (!b->p && !(b->p = malloc(b->cap = AP_HEADER)))
			return enf_err(ENF_FAIL, "out of memory");
		memcpy(b->p, hdr, AP_HEADER);
		rc = ap_frame_parse(b->p, AP_HEADER, f, &used);
	}
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "agent connection: malformed frame");
}

void ap_buf_free(struct ap_buf *b)
{
	if (b->p) {
		wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->cap = 0;
}

int ap_write(int fd, const struct wbuf *w)
{
	if (w->failed)
		return enf_err(ENF_FAIL, "out of memory");
	if (io_write_all(fd, w->p, w->len) < 0)
		return io_failed("writing");
	return ENF_OK;
}

int ap_send(int fd, int type, const void *body, size_t n)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	rc = ap_put_frame(&w, type, body, n) == ENF_OK ? ap_write(fd, &w) :
		enf_err(ENF_FAIL, "out of memory");
	wbuf_free(&w);
	return rc;
}
