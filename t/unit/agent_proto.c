/* The agent's frame parser (agent_proto.h) as a pure function: every
 * length, type and body a hostile client could send is refused or waited
 * for, never read past. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "agent_proto.h"

static void test_frames(void)
{
	struct wbuf w;
	struct ap_frame f;
	size_t used;
	unsigned char bad[8];

	wbuf_init(&w, 0);
	ok(ap_put_sign(&w, 0, "", "req", 3) == ENF_OK, "encode SIGN");
	for (size_t n = 0; n < w.len; n++)
		ok(ap_frame_parse(w.p, n, &f, &used) == ENF_NO && used > 0 && n + used <= w.len,
		   "a frame cut at %zu bytes waits for %zu more", n, used);
	ok(ap_frame_parse(w.p, w.len, &f, &used) == ENF_OK && used == w.len && f.type == AP_SIGN,
	   "the whole frame parses");
	wbuf_free(&w);

	memcpy(bad, "\0\0\0\0\x01", 5);
	ok(ap_frame_parse(bad, 5, &f, &used) == ENF_FAIL, "length 0 is refused");
	memcpy(bad, "\xff\xff\xff\xff\x01", 5);
	ok(ap_frame_parse(bad, 5, &f, &used) == ENF_FAIL, "a 4 GiB frame is refused at its header");
	memcpy(bad, "\0\x10\0\x02\x05", 5);
	ok(ap_frame_parse(bad, 5, &f, &used) == ENF_FAIL, "DATA over 64 KiB is refused");
	memcpy(bad, "\0\0\0\x02\x02", 5);
	ok(ap_frame_parse(bad, 5, &f, &used) == ENF_FAIL, "COMMIT with a body is refused");
	memcpy(bad, "\0\0\0\x01\x42", 5);
	ok(ap_frame_parse(bad, 5, &f, &used) == ENF_FAIL, "an unknown type is refused");
	memcpy(bad, "\0\0\0\x01\x06", 5);
	ok(ap_frame_parse(bad, 5, &f, &used) == ENF_OK && f.type == AP_END && f.len == 0,
	   "END parses");
}

static void test_bodies(void)
{
	struct wbuf w;
	struct ap_frame f;
	struct ap_sign s;
	struct ap_result r;
	struct ap_done d;
	size_t used;

	wbuf_init(&w, 0);
	ap_put_sign(&w, AP_F_NO_OUTPUT, "disk full", "body", 4);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_sign_parse(&f, &s) == ENF_OK && s.flags == AP_F_NO_OUTPUT && s.msglen == 9 &&
	   s.reqlen == 4 && memcmp(s.req, "body", 4) == 0, "SIGN round-trips");
	f.len--;
	ok(ap_sign_parse(&f, &s) == ENF_FAIL, "a SIGN body one byte short is refused");
	wbuf_reset(&w);
	ap_put_sign(&w, 0x80, "", "x", 1);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_sign_parse(&f, &s) == ENF_FAIL, "unknown flags are refused");
	wbuf_reset(&w);
	ap_put_sign(&w, AP_F_OVERSIZE, "", "x", 1);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_sign_parse(&f, &s) == ENF_FAIL, "an oversize request carries no bytes");

	wbuf_reset(&w);
	ap_put_result(&w, ENF_OK, 42, NULL, "sig", 3);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_result_parse(&f, &r) == ENF_OK && r.status == 0 && r.seq == 42 && r.siglen == 3,
	   "RESULT round-trips");
	wbuf_reset(&w);
	ap_put_result(&w, ENF_NO, 7, NULL, "sig", 3);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_result_parse(&f, &r) == ENF_FAIL, "a denial with a signature is refused");
	wbuf_reset(&w);
	ap_put_result(&w, 2, 7, NULL, NULL, 0);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_result_parse(&f, &r) == ENF_FAIL, "status 2 is no outcome");

	wbuf_reset(&w);
	ap_put_done(&w, ENF_FAIL, "busy");
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_done_parse(&f, &d) == ENF_OK && d.status == 3 && d.msglen == 4, "DONE round-trips");
	ok(ap_sign_parse(&f, &s) == ENF_FAIL, "a body is parsed only as its own type");
	wbuf_free(&w);
}

/* OPEN carries the --from identity file's text only under its flag, only
 * for OPEN, and at most 64 KiB of it. */
static void test_open_from(void)
{
	struct wbuf w;
	struct ap_frame f;
	struct ap_stream st;
	size_t used;
	char *big = calloc(1, AP_FROM_MAX + 1);

	wbuf_init(&w, 0);
	ok(ap_put_stream(&w, AP_OPEN, AP_F_STREAM, "", "id\n", 3) == ENF_OK &&
	   ap_frame_parse(w.p, w.len, &f, &used) == ENF_OK && ap_stream_parse(&f, &st) == ENF_OK &&
	   st.flags == (AP_F_STREAM | AP_F_FROM) && st.fromlen == 3 && memcmp(st.from, "id\n", 3) == 0,
	   "OPEN with from round-trips");
	wbuf_reset(&w);
	ap_put_stream(&w, AP_OPEN, 0, "", NULL, 0);
	ap_frame_parse(w.p, w.len, &f, &used);
	ok(ap_stream_parse(&f, &st) == ENF_OK && st.from == NULL && st.flags == 0,
	   "OPEN without from has none");
	wbuf_reset(&w);
	ok(ap_put_stream(&w, AP_SEAL, 0, "", "id\n", 3) == ENF_FAIL, "SEAL takes no from");
	wbuf_reset(&w);
	ap_put_stream(&w, AP_OPEN, 0, "", NULL, 0);
	ap_frame_parse(w.p, w.len, &f, &used);
	f.type = AP_SEAL;
	w.p[5] = AP_F_FROM;
	ok(ap_stream_parse(&f, &st) == ENF_FAIL, "a SEAL with the from flag is refused");
	f.type = AP_OPEN;
	ok(ap_stream_parse(&f, &st) == ENF_FAIL, "the from flag without its string is refused");
	wbuf_reset(&w);
	ok(ap_put_stream(&w, AP_OPEN, 0, "", big, AP_FROM_MAX + 1) == ENF_FAIL,
	   "a from over 64 KiB is not encoded");
	wbuf_reset(&w);
	ok(ap_put_stream(&w, AP_OPEN, 0, "", big, AP_FROM_MAX) == ENF_OK &&
	   ap_frame_parse(w.p, w.len, &f, &used) == ENF_OK && ap_stream_parse(&f, &st) == ENF_OK,
	   "a from of exactly 64 KiB fits the OPEN frame");
	/* a header announcing one byte more than the largest OPEN body */
	{
		uint32_t len = (uint32_t)ap_body_max(AP_OPEN) + 2;
		unsigned char hdr[5] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
					 (unsigned char)(len >> 8), (unsigned char)len, AP_OPEN };

		ok(ap_body_max(AP_OPEN) == 1 + 4 + AP_MSG_MAX + 4 + AP_FROM_MAX &&
		   ap_frame_parse(hdr, 5, &f, &used) == ENF_FAIL, "an OPEN frame over its limit is refused");
	}
	free(big);
	wbuf_free(&w);
}

/* Every prefix and every single-byte corruption of a valid exchange
 * parses or fails cleanly (run under ASan by make sanitize). */
static void test_mutations(void)
{
	struct wbuf w;
	struct ap_frame f;
	struct ap_sign s;
	struct ap_result r;
	struct ap_done d;
	size_t used, fails = 0;

	wbuf_init(&w, 0);
	ap_put_sign(&w, 0, "m", "request", 7);
	for (size_t i = 0; i < w.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			unsigned char *c = malloc(w.len);
			memcpy(c, w.p, w.len);
			c[i] ^= (unsigned char)(1 << bit);
			if (ap_frame_parse(c, w.len, &f, &used) == ENF_OK)
				fails += ap_sign_parse(&f, &s) != ENF_OK && ap_result_parse(&f, &r) != ENF_OK &&
					 ap_done_parse(&f, &d) != ENF_OK;
			free(c);
		}
	ok(fails > 0, "corrupted frames are refused (%zu), none read out of bounds", fails);
	wbuf_free(&w);
}

int main(void)
{
	test_frames();
	test_bodies();
	test_open_from();
	test_mutations();
	return done_testing();
}
