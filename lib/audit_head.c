/* audit.head (enf-audit(5), HEAD): the signed pointer to the last signed
 * record, which tells a log cut short from a complete one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "audit_impl.h"
#include "encode.h"
#include "io.h"

static const char SIGCTX_HEAD[] = "enf-audit-1 head";
#define HEAD_MAGIC "enf-audit-head-1"
#define HEAD_MAX 1024		/* bytes: a head is about 250 */

void audit_headfile_free(struct audit_headfile *h)
{
	free(h->sig);
	h->sig = NULL;
}

/* A head's sequence numbers may be 0: the genesis head (tip 0, sseq 0,
 * both hashes the zero prev of record 1), which the first append writes
 * before its record (audit_headfile_genesis). */
static int parse_head_seq(const char *s, size_t n, uint64_t *out)
{
	if (text_is(s, n, "0")) {
		*out = 0;
		return 0;
	}
	return audit_parse_seq(s, n, out);
}

/* " TOKEN": exactly one space, then a token of one byte or more. */
static int next_tok(struct rbuf *rb, const char **t, size_t *n)
{
	if (rbuf_expect(rb, " ") || rbuf_peek(rb, " "))
		return -1;
	return rbuf_word(rb, " ", t, n);
}

/* "enf-audit-head-1 TIPSEQ TIPHASH SSEQ SHASH SIG\n", nothing else: one
 * line of text (no NUL), its LF last, single spaces between the tokens. */
static int head_parse(const char *text, size_t n, struct audit_headfile *h)
{
	struct rbuf rb;
	const char *line, *t[5];
	size_t len, tl[5];
	int nl;

	memset(h, 0, sizeof *h);
	rbuf_init(&rb, text, n);
	if (memchr(text, '\0', n) || rbuf_line(&rb, &line, &len, &nl) || !nl || !rbuf_done(&rb))
		return -1;
	rbuf_init(&rb, line, len);
	if (rbuf_expect(&rb, HEAD_MAGIC))
		return -1;
	for (int i = 0; i < 5; i++)
		if (next_tok(&rb, &t[i], &tl[i]))
			return -1;
	if (!rbuf_done(&rb))
		return -1;
	if (parse_head_seq(t[0], tl[0], &h->tip) || audit_parse_hash(t[1], tl[1], h->tip_hash))
		return -1;
	/* The signed part is not optional: an unsigned head would let anyone
	 * who can write the file point it wherever they like. */
	if (parse_head_seq(t[2], tl[2], &h->sseq) || audit_parse_hash(t[3], tl[3], h->shash) ||
	    audit_check_base64(t[4], tl[4]) || h->sseq > h->tip)
		return -1;
	h->sig = strndup(t[4], tl[4]);
	return h->sig ? 0 : -1;
}

/* ENF_OK with *present = 0 when there is no head file; ENF_NO when it is
 * not a regular file (a symbolic link is not followed: whoever planted it
 * would choose what the head says) or does not parse. */
int audit_headfile_read(const char *path, struct audit_headfile *h, int *present)
{
	char text[HEAD_MAX + 1];
	struct stat st;
	size_t n = 0;
	ssize_t r = 0;
	int fd, rc;

	memset(h, 0, sizeof *h);
	*present = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ENF_OK;
	if (fd < 0)
		return errno == ELOOP ? enf_err(ENF_NO, "%s is a symbolic link; refusing it", path) :
			enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return enf_err(ENF_NO, "%s is not a regular file; refusing it", path);
	}
	while (n < sizeof text && ((r = read(fd, text + n, sizeof text - n)) > 0 ||
				   (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	rc = r < 0 ? enf_err(ENF_FAIL, "%s: %s", path, strerror(errno)) : ENF_OK;
	close(fd);
	if (rc != ENF_OK)
		return rc;
	if (n <= HEAD_MAX)
		text[n] = '\0';
	if (n > HEAD_MAX || head_parse(text, n, h))
		return enf_err(ENF_NO, "%s: malformed or without its signed part (see "
			       "enf-audit(5), HEAD)", path);
	*present = 1;
	return ENF_OK;
}

/* The signed part of the last head this process (or, with
 * audit_share_head_memo, any of the agent's handlers) signed or verified:
 * SHA-256 of the identity's key, SSEQ, SHASH and SIG.  A head that is
 * exactly that is known to verify (it saves one Ed25519 verify of every
 * agent request); anything else, a head written elsewhere or altered in
 * any byte, is verified as always.  Appends use it under the log's lock. */
static unsigned char head_memo_own[32], *head_memo = head_memo_own;

void audit_share_head_memo(void *mem)
{
	head_memo = mem ? mem : head_memo_own;
}

static void head_digest(const struct pubkey *id, uint64_t sseq, const unsigned char shash[32],
			const char *sig, size_t siglen, unsigned char out[32])
{
	struct wbuf w;

	wbuf_init(&w, 0);
	wbuf_string(&w, id->blob, id->bloblen);
	wbuf_printf(&w, "%llu ", (unsigned long long)sseq);
	wbuf_put(&w, shash, 32);
	wbuf_put(&w, sig, siglen);
	if (w.failed || hash_buf(HASH_SHA256, w.p, w.len, out) != ENF_OK)
		memset(out, 0, 32);
	wbuf_free(&w);
}

static int head_known_good(const struct audit_headfile *h, const struct pubkey *id)
{
	static const unsigned char none[32];
	unsigned char d[32];

	head_digest(id, h->sseq, h->shash, h->sig, strlen(h->sig), d);
	return memcmp(d, none, 32) != 0 && memcmp(d, head_memo, 32) == 0;
}

int audit_headfile_sig_ok(const struct audit_headfile *h, const struct pubkey *id)
{
	unsigned char body[40];
	struct wbuf sig;
	int ok;

	if (head_known_good(h, id))
		return 1;
	for (int i = 0; i < 8; i++)
		body[i] = (unsigned char)(h->sseq >> (56 - 8 * i));
	memcpy(body + 8, h->shash, 32);
	wbuf_init(&sig, 0);
	ok = base64_decode(&sig, h->sig, strlen(h->sig), 1) == ENF_OK &&
	     audit_verify_msg(id, SIGCTX_HEAD, body, sizeof body, sig.p, sig.len) == ENF_OK;
	wbuf_free(&sig);
	if (ok)
		head_digest(id, h->sseq, h->shash, h->sig, strlen(h->sig), head_memo);
	return ok;
}

int audit_headfile_encode(struct wbuf *w, uint64_t tip, const unsigned char tip_hash[32],
		       const struct privkey *key, const struct audit_headfile *old)
{
	wbuf_printf(w, "%s %llu ", HEAD_MAGIC, (unsigned long long)tip);
	hex_encode(w, tip_hash, 32);
	if (key) {
		unsigned char body[40];
		struct wbuf sig;
		int rc;

		for (int i = 0; i < 8; i++)
			body[i] = (unsigned char)(tip >> (56 - 8 * i));
		memcpy(body + 8, tip_hash, 32);
		wbuf_init(&sig, 0);
		rc = audit_sign_msg(key, SIGCTX_HEAD, body, sizeof body, &sig);
		wbuf_printf(w, " %llu ", (unsigned long long)tip);
		hex_encode(w, tip_hash, 32);
		wbuf_put(w, " ", 1);
		size_t at = w->len;
		if (rc == ENF_OK && base64_encode(w, sig.p, sig.len, 1) == ENF_OK && !w->failed)
			head_digest(&key->pub, tip, tip_hash, (const char *)w->p + at, w->len - at,
				    head_memo);
		wbuf_free(&sig);
		if (rc != ENF_OK)
			return ENF_FAIL;
	} else if (old && old->sseq) {
		wbuf_printf(w, " %llu ", (unsigned long long)old->sseq);
		hex_encode(w, old->shash, 32);
		wbuf_printf(w, " %s", old->sig);
	} else {
		return enf_err(ENF_FAIL, "no signed head to keep");
	}
	wbuf_put(w, "\n", 1);
	return w->failed ? ENF_FAIL : ENF_OK;
}

/* Under the log's lock, so a fixed temp name is safe and a crash leaves at
 * most that one file, which the next append overwrites. */
int audit_headfile_write(const char *home, const struct wbuf *w)
{
	char *path = home_path(home, AUDIT_HEAD_FILE), *tmp = home_path(home, AUDIT_HEAD_FILE ".tmp");
	int fd = -1, rc = ENF_FAIL, e = ENOMEM;

	if (!path || !tmp)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || io_write_all(fd, w->p, w->len) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
		e = errno;
	else
		rc = ENF_OK;
out:
	if (rc != ENF_OK)
		enf_err(ENF_FAIL, "cannot update %s: %s", path ? path : AUDIT_HEAD_FILE, strerror(e));
	if (fd >= 0)
		close(fd);
	if (rc != ENF_OK && tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	return rc;
}

/* Before the first record of a log: a head that signs "nothing yet" (tip
 * 0), so that a crash between that record and its head leaves a log the
 * next append can check and catch up with, as after any other record,
 * rather than records and no head, which looks like a deleted head and is
 * refused.  A missing head therefore always means a deleted one. */
int audit_headfile_genesis(const char *home, const struct privkey *key)
{
	static const unsigned char zero[32];
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	rc = audit_headfile_encode(&w, 0, zero, key, NULL);
	if (rc == ENF_OK)
		rc = audit_headfile_write(home, &w);
	wbuf_free(&w);
	return rc;
}
