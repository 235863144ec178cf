/* The enf-agent wire protocol (enf-agent(1), PROTOCOL): frames over a Unix
 * stream socket.  The parsers are pure functions over a byte buffer (no
 * I/O), so that they can be fuzzed and unit-tested alone.
 *
 *   frame  = length:uint32 type:byte body     length = 1 + |body|
 *
 * All integers big-endian; string = uint32 length + bytes (RFC 4251).
 *
 *   client -> agent
 *     SIGN   0x01  flags:byte  string:message  string:request
 *                  flags 0x01 request over 1 MiB (request is empty)
 *                        0x02 the caller's output cannot be written;
 *                             message says why
 *     COMMIT 0x02  (empty) end of the requests: decide, record, reply
 *     SEAL   0x03  flags:byte string:message   then DATA..., END
 *     OPEN   0x04  flags:byte string:message [string:from]
 *                  then DATA..., END
 *                  flags 0x02 as for SIGN; 0x04 the output is a stream
 *                  (stdout), so a late failure must say it is partial;
 *                  0x08 (OPEN only) `from` follows: the text of the
 *                  --from identity file (at most 64 KiB)
 *     DATA   0x05  bytes (at most 64 KiB)
 *     END    0x06  (empty) end of the input
 *     STOP   0x07  (empty) stop the agent (only its own uid)
 *
 *   agent -> client
 *     DATA   0x05  bytes of output (seal, open)
 *     STDERR 0x81  bytes the client writes to its standard error
 *     RESULT 0x82  status:byte seq:uint64 string:message string:signature
 *                  one per SIGN, in order, after COMMIT
 *     DONE   0x83  status:byte string:message   end of the exchange
 *
 * status is the exit code (0 permit/ok, 1 denied/invalid, 3 failed). */
#ifndef ENF_AGENT_PROTO_H
#define ENF_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum ap_type {
	AP_SIGN = 0x01, AP_COMMIT = 0x02, AP_SEAL = 0x03, AP_OPEN = 0x04,
	AP_DATA = 0x05, AP_END = 0x06, AP_STOP = 0x07,
	AP_STDERR = 0x81, AP_RESULT = 0x82, AP_DONE = 0x83,
};

#define AP_HEADER 5
#define AP_CHUNK 65536u			/* DATA and STDERR bodies */
#define AP_MSG_MAX 1024u		/* messages in SIGN, RESULT, DONE */
#define AP_REQUEST_MAX (1024u * 1024u)	/* = REQUEST_SIZE_MAX */
#define AP_SIG_MAX 16384u		/* a signature (RSA-4096 armored: ~1.2 KiB) */
#define AP_FROM_MAX 65536u		/* = the identity file limit of enf-seal */
/* The largest frame of any type: a SIGN with the largest request. */
#define AP_FRAME_MAX (1u + 1u + 4u + AP_MSG_MAX + 4u + AP_REQUEST_MAX)

#define AP_F_OVERSIZE 0x01
#define AP_F_NO_OUTPUT 0x02
#define AP_F_STREAM 0x04
#define AP_F_FROM 0x08

struct ap_frame {
	int type;
	const unsigned char *body;	/* into the parsed buffer */
	size_t len;
};

/* The largest body a frame of this type may carry; 0 for an unknown type. */
size_t ap_body_max(int type);
/* Parse the frame at the start of buf[0..n): ENF_OK and *used set when it
 * is complete; ENF_NO when more bytes are needed (*used = bytes still
 * missing, at least 1); ENF_FAIL when it can never become valid (length 0,
 * unknown type, body over the type's limit). */
int ap_frame_parse(const unsigned char *buf, size_t n, struct ap_frame *f, size_t *used);

struct ap_sign {
	unsigned flags;
	const unsigned char *msg, *req;
	size_t msglen, reqlen;
};
struct ap_result {
	int status;
	uint64_t seq;
	const unsigned char *msg, *sig;
	size_t msglen, siglen;
};
struct ap_done {
	int status;
	const unsigned char *msg;
	size_t msglen;
};

/* Bodies: ENF_OK or ENF_FAIL (malformed, trailing bytes, out of range). */
int ap_sign_parse(const struct ap_frame *f, struct ap_sign *s);
struct ap_stream {
	unsigned flags;
	const unsigned char *msg, *from;	/* from: NULL unless AP_F_FROM */
	size_t msglen, fromlen;
};
int ap_stream_parse(const struct ap_frame *f, struct ap_stream *s);
int ap_result_parse(const struct ap_frame *f, struct ap_result *r);
int ap_done_parse(const struct ap_frame *f, struct ap_done *d);

/* Encoders append one whole frame to w (ENF_FAIL when w failed). */
int ap_put_frame(struct wbuf *w, int type, const void *body, size_t n);
int ap_put_sign(struct wbuf *w, unsigned flags, const char *msg, const void *req, size_t n);
/* from: NULL, or the --from identity file's text (sets AP_F_FROM). */
int ap_put_stream(struct wbuf *w, int type, unsigned flags, const char *msg,
		  const void *from, size_t fromlen);
int ap_put_result(struct wbuf *w, int status, uint64_t seq, const char *msg, const void *sig,
		  size_t n);
int ap_put_done(struct wbuf *w, int status, const char *msg);

/* Blocking I/O of whole frames on a socket.  ap_read_frame reads into buf
 * (grown as needed, never beyond AP_HEADER + AP_FRAME_MAX): ENF_OK, ENF_NO
 * at a clean end of stream before any byte, ENF_FAIL otherwise (I/O,
 * timeout, malformed, truncated; message set). */
struct ap_buf { unsigned char *p; size_t cap; };
int ap_read_frame(int fd, struct ap_buf *buf, struct ap_frame *f);
void ap_buf_free(struct ap_buf *buf);	/* wipes */
int ap_write(int fd, const struct wbuf *w);
int ap_send(int fd, int type, const void *body, size_t n);

#endif
