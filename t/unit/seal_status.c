/* lib/seal.c's header fields (enf-seal(5)'s table, read field by field) and
 * struct seal_status: every refusal names its audit reason, and a status
 * belongs to one call, so a second operation in the same process (enf-agent
 * runs many) never reports the first one's reason or byte count. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "enf.h"
#include "crypto.h"
#include "seal.h"
#include "tap.h"

struct blob { unsigned char *p; size_t n; };

static int fd_with(const void *p, size_t n)
{
	int fd = memfd_create("seal-status", 0);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

static struct blob fd_contents(int fd)
{
	struct blob b;
	off_t end = lseek(fd, 0, SEEK_END);

	b.n = (size_t)end;
	b.p = malloc(b.n + 1);
	if (!b.p || lseek(fd, 0, SEEK_SET) != 0 || (b.n && read(fd, b.p, b.n) != (ssize_t)b.n))
		abort();
	return b;
}

static struct atomic_file mem_out(void)
{
	struct atomic_file f = { .path = NULL, .tmp = NULL, .fd = fd_with(NULL, 0), .to_stdout = 1 };
	return f;
}

static struct seal_self *self(unsigned char tag)
{
	unsigned char id[SEAL_ID_LEN], root[SEAL_ROOT_LEN];
	struct seal_self *me;

	memset(id, tag, sizeof id);
	memset(root, tag ^ 0x5a, sizeof root);
	if (seal_self_new(id, root, NULL, NULL, &me) != ENF_OK)
		abort();
	return me;
}

static struct blob seal_n(const struct seal_self *me, size_t n, struct seal_header *made)
{
	unsigned char *pt = calloc(1, n + 1);
	int in = fd_with(pt, n), rc;
	struct atomic_file o = mem_out();
	struct seal_status st;
	struct blob b;

	seal_status_init(&st);
	rc = seal_stream_seal(me, in, &o, made, &st);
	ok(rc == ENF_OK && strcmp(seal_status_reason(&st, rc), "ok") == 0, "seals %zu bytes", n);
	b = fd_contents(o.fd);
	close(in);
	close(o.fd);
	free(pt);
	return b;
}

/* Opens b (its first n bytes); the status it ends with in *st. */
static int open_n(const struct seal_self *me, const struct blob *b, size_t n,
		  struct seal_status *st)
{
	int in = fd_with(b->p, n), rc;
	struct atomic_file o = mem_out();
	struct seal_header h;

	seal_status_init(st);
	rc = seal_stream_open(me, NULL, in, &o, &h, st);
	close(in);
	close(o.fd);
	return rc;
}

/* b with byte `at` set to v opens with rc and reason. */
static void refused(const struct seal_self *me, const struct blob *b, size_t at, unsigned v,
		    int rc, const char *reason, const char *msg, const char *what)
{
	struct blob t = { malloc(b->n), b->n };
	struct seal_status st;
	int got;

	memcpy(t.p, b->p, b->n);
	t.p[at] = (unsigned char)v;
	got = open_n(me, &t, t.n, &st);
	ok(got == rc && strcmp(seal_status_reason(&st, got), reason) == 0 &&
	   strstr(enf_errmsg(), msg) != NULL && st.released == 0,
	   "%s: %s (got %d %s: %s)", what, reason, got, seal_status_reason(&st, got), enf_errmsg());
	free(t.p);
}

static void header_fields(const struct seal_self *me)
{
	struct seal_header made;
	struct blob b = seal_n(me, 10, &made);

	ok(made.rawlen == SEAL_HDR_LOCAL && made.version == SEAL_VERSION &&
	   made.kind == SEAL_LOCAL && made.flags == 0 && made.chunk == SEAL_CHUNK &&
	   memcmp(made.instance, me->id, SEAL_ID_LEN) == 0,
	   "the header written reads back field by field");
	ok(memcmp(b.p, "ENFSEAL\1\1\0\0\1\0\0", 14) == 0,
	   "magic, version, kind, flags, chunk size at the offsets of enf-seal(5)");
	ok(memcmp(b.p + 14, me->id, SEAL_ID_LEN) == 0 && memcmp(b.p + 46, made.file_id, 32) == 0,
	   "then the instance id and the file id");
	refused(me, &b, 0, 'X', ENF_NO, "not-sealed", "not an enf sealed file", "a wrong magic");
	refused(me, &b, 7, 2, ENF_NO, "unsupported", "version 2", "another version");
	refused(me, &b, 8, SEAL_TRANSFERRED_UNSIGNED, ENF_NO, "unsigned-transfer",
		"unsigned transfer", "kind 2");
	refused(me, &b, 8, 9, ENF_NO, "not-sealed", "kind 9", "an unknown kind");
	refused(me, &b, 9, 0x02, ENF_NO, "not-sealed", "flags 0x02", "an unknown flag");
	refused(me, &b, 12, 0x02, ENF_NO, "unsupported", "chunk size 66048", "another chunk size");
	refused(me, &b, 20, 0x00, ENF_NO, "another-instance", "another instance",
		"another instance id");
	refused(me, &b, 50, b.p[50] ^ 1, ENF_NO, "not-authentic", "does not authenticate",
		"an edited file id");
	free(b.p);
}

static void truncated(const struct seal_self *me)
{
	struct blob b = seal_n(me, 3, NULL);
	struct seal_status st;
	int rc;

	rc = open_n(me, &b, SEAL_FIXED_LEN - 1, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "not-sealed") == 0,
	   "a file shorter than the fixed part is not a sealed file");
	rc = open_n(me, &b, SEAL_HDR_LOCAL - 1, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "truncated") == 0,
	   "a header cut short is truncated");
	rc = open_n(me, &b, SEAL_HDR_LOCAL + 5, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "truncated") == 0 &&
	   st.released == 0, "a final chunk cut short is truncated, nothing released");
	free(b.p);
}

static void one_call_one_status(const struct seal_self *me, const struct seal_self *other)
{
	struct blob b = seal_n(me, SEAL_CHUNK + 100, NULL);
	struct seal_status st;
	int rc;

	rc = open_n(other, &b, b.n, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "another-instance") == 0,
	   "opening under another instance is refused");
	rc = open_n(me, &b, b.n, &st);
	ok(rc == ENF_OK && strcmp(seal_status_reason(&st, rc), "ok") == 0 &&
	   st.released == SEAL_CHUNK + 100, "the next open reports its own result and bytes");
	rc = open_n(me, &b, b.n - 1, &st);
	ok(rc == ENF_NO && strcmp(seal_status_reason(&st, rc), "not-authentic") == 0 &&
	   st.released == SEAL_CHUNK, "a failed open counts only the chunks it released");
	seal_status_init(&st);
	ok(strcmp(seal_status_reason(&st, ENF_FAIL), "internal") == 0,
	   "a failure that gave no reason is internal");
	free(b.p);
}

int main(void)
{
	struct seal_self *me, *other;

	if (crypto_init() != ENF_OK)
		return 1;
	me = self(1);
	other = self(2);
	header_fields(me);
	truncated(me);
	one_call_one_status(me, other);
	seal_self_free(me);
	seal_self_free(other);
	return done_testing();
}
