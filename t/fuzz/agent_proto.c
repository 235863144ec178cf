/* The enf-agent wire protocol (enf-agent(1) PROTOCOL, agent_proto.h): any
 * bytes as the stream a peer sends.  Frames are cut with ap_frame_parse
 * until it needs more or refuses; every frame's body goes through every
 * body parser (each must refuse a frame not of its type), and what parses
 * must encode back to exactly the frame it was parsed from. */
#include "fuzz.h"
#include "agent_proto.h"

FUZZ_INIT_CRYPTO

/* The encoding of a parsed frame equals its bytes. */
static void same_bytes(const struct wbuf *w, const unsigned char *frame, size_t used)
{
	fuzz_assert(!w->failed);
	fuzz_assert(w->len == used && memcmp(w->p, frame, used) == 0);
}

static void bodies(const struct ap_frame *f, const unsigned char *frame, size_t used)
{
	struct ap_sign s;
	struct ap_result r;
	struct ap_done d;
	struct ap_stream st;
	struct wbuf w;
	char *m;

	wbuf_init(&w, 0);
	if (ap_sign_parse(f, &s) == ENF_OK) {
		fuzz_assert(f->type == AP_SIGN && s.msglen <= AP_MSG_MAX && s.reqlen <= AP_REQUEST_MAX);
		/* Messages are text on the wire; a NUL inside cannot round-trip. */
		if (!memchr(s.msg, 0, s.msglen)) {
			m = fuzz_cstr(s.msg, s.msglen);
			fuzz_assert(ap_put_sign(&w, s.flags, m, s.req, s.reqlen) == ENF_OK);
			same_bytes(&w, frame, used);
			free(m);
		}
	}
	w.len = 0;
	if (ap_stream_parse(f, &st) == ENF_OK) {
		fuzz_assert((f->type == AP_SEAL || f->type == AP_OPEN) && st.msglen <= AP_MSG_MAX);
		fuzz_assert(!st.from || (f->type == AP_OPEN && st.fromlen <= AP_FROM_MAX));
		if (!memchr(st.msg, 0, st.msglen)) {
			m = fuzz_cstr(st.msg, st.msglen);
			fuzz_assert(ap_put_stream(&w, f->type, st.flags, m, st.from, st.fromlen) ==
				    ENF_OK);
			same_bytes(&w, frame, used);
			free(m);
		}
	}
	w.len = 0;
	if (ap_result_parse(f, &r) == ENF_OK) {
		fuzz_assert(f->type == AP_RESULT && r.siglen <= AP_SIG_MAX);
		fuzz_assert((r.status == ENF_OK) == (r.siglen > 0));
		if (!memchr(r.msg, 0, r.msglen)) {
			m = fuzz_cstr(r.msg, r.msglen);
			fuzz_assert(ap_put_result(&w, r.status, r.seq, m, r.sig, r.siglen) == ENF_OK);
			same_bytes(&w, frame, used);
			free(m);
		}
	}
	w.len = 0;
	if (ap_done_parse(f, &d) == ENF_OK) {
		fuzz_assert(f->type == AP_DONE && d.msglen <= AP_MSG_MAX);
		if (!memchr(d.msg, 0, d.msglen)) {
			m = fuzz_cstr(d.msg, d.msglen);
			fuzz_assert(ap_put_done(&w, d.status, m) == ENF_OK);
			same_bytes(&w, frame, used);
			free(m);
		}
	}
	w.len = 0;
	/* Any frame the parser accepted, re-framed as it is. */
	fuzz_assert(ap_put_frame(&w, f->type, f->body, f->len) == ENF_OK);
	same_bytes(&w, frame, used);
	wbuf_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_frame f;
	size_t off = 0, used, need;
	int rc;

	while (off < size) {
		rc = ap_frame_parse(data + off, size - off, &f, &used);
		if (rc == ENF_NO) {
			fuzz_assert(used >= 1);
			/* One byte less needs one byte more (same header state). */
			if (size - off < AP_HEADER || size - off - 1 >= AP_HEADER) {
				fuzz_assert(ap_frame_parse(data + off, size - off - 1, &f, &need) == ENF_NO);
				fuzz_assert(need == used + 1);
			}
			break;
		}
		if (rc != ENF_OK)
			break;
		fuzz_assert(used >= AP_HEADER && used <= size - off);
		fuzz_assert(f.body == data + off + AP_HEADER && f.len == used - AP_HEADER);
		fuzz_assert(f.len <= ap_body_max(f.type));
		bodies(&f, data + off, used);
		off += used;
	}
	return 0;
}
