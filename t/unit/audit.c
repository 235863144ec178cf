/* Unit tests of the audit records (encode, parse, hash, sign), the append
 * and verification.  With arguments it is also the appender that
 * t/audit.bats drives (parallel writers, kill -9 mid-append):
 *   audit pub SEEDHEX               print the identity's OpenSSH line
 *   audit append HOME SEEDHEX N     append N signed records
 *   audit append-unsigned HOME SEEDHEX N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tap.h"
#include "enf.h"
#include "audit.h"
#include "crypto.h"
#include "encode.h"
#include "io.h"
#include "key.h"
#include "keyfmt.h"

static int key_from_hex(const char *hex, struct privkey *k, char fp[FINGERPRINT_MAX])
{
	unsigned char seed[32];

	if (hex_decode(hex, strlen(hex), seed, 32) != ENF_OK ||
	    privkey_ed25519_from_seed(k, seed) != ENF_OK)
		return -1;
	pubkey_fingerprint(&k->pub, fp);
	return 0;
}

static int tool(int argc, char **argv)
{
	struct privkey k;
	char fp[FINGERPRINT_MAX];
	struct wbuf w;

	enf_setprogname("audit-test");
	if (crypto_init() != ENF_OK || argc < 3 || key_from_hex(argv[argc == 5 ? 3 : 2], &k, fp))
		return 2;
	if (strcmp(argv[1], "pub") == 0) {
		wbuf_init(&w, 0);
		pubkey_to_line(&k.pub, "instance", &w);
		printf("%s\n", (char *)w.p);
		wbuf_free(&w);
		privkey_free(&k);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc == 5 && (strcmp(argv[1], "append") == 0 || strcmp(argv[1], "append-unsigned") == 0)) {
		int n = atoi(argv[4]);
		int sign = strcmp(argv[1], "append") == 0;
		struct audit_event ev = { .program = "audit-test", .op = "test",
					  .outcome = sign ? "ok" : "fail", .scope = "a b\nc",
					  .detail = "pid" };
		char pid[32];
		snprintf(pid, sizeof pid, "%d", (int)getpid());
		ev.detail = pid;
		int rc = 0;
		for (int i = 0; i < n && rc == 0; i++)
			if (!audit_append_raw(argv[2], &k.pub, sign ? &k : NULL, &ev))
				rc = 1;
		privkey_free(&k);
		return rc;
	}
	return 2;
}

static const struct audit_event EV = {
	.program = "enf-sign", .op = "sign", .outcome = "deny", .reason = "scope-not-allowed",
	.key = "k1", .identity = "alice", .purpose = "release",
	.scope = "v1 2\n fake=1 hash=00%", .rule = "-", .policy_id = "",
	.detail = "caf\xc3\xa9 \x01\xff",
};
/* What a program without the key may record: a refusal. */
static const struct audit_event EV_FAIL = {
	.program = "enf-keygen", .op = "new", .outcome = "fail", .reason = "bad-passphrase",
	.identity = "officer",
};

static void test_encode_parse(const struct privkey *k, const char *fp)
{
	unsigned char prev[32] = { 1 }, hash[32];
	struct wbuf w, v;
	struct audit_rec r;
	char why[128];

	wbuf_init(&w, 0);
	wbuf_init(&v, 0);
	ok(audit_rec_encode(&w, 7, 1700000000, fp, &EV, prev, k, hash) == ENF_OK, "encodes");
	ok(w.len > 0 && w.p[w.len - 1] == '\n' && memchr(w.p, '\n', w.len) == w.p + w.len - 1,
	   "one line, newline only at the end, whatever the values hold");
	ok(audit_rec_parse(&r, (char *)w.p, w.len - 1, why, sizeof why) == ENF_OK, "parses: %s", why);
	ok(r.seq == 7 && memcmp(r.prev, prev, 32) == 0 && memcmp(r.hash, hash, 32) == 0,
	   "seq, prev and hash as written");
	ok(audit_rec_hash_ok(&r), "hash verifies");
	ok(audit_rec_sig_ok(&r, &k->pub), "signature verifies");
	ok(audit_rec_value(&r, AF_SCOPE, &v) == ENF_OK && strcmp((char *)v.p, EV.scope) == 0,
	   "scope with space, newline, '=' and '%%' round-trips");
	ok(audit_rec_value(&r, AF_RULE, &v) == ENF_OK && strcmp((char *)v.p, "-") == 0,
	   "a literal \"-\" is not taken for absent");
	ok(audit_rec_absent(&r, AF_POLICY) && audit_rec_absent(&r, AF_PEER), "empty and NULL are absent");
	ok(strstr((char *)w.p, " scope=v1%202%0A%20fake=1%20hash=00%25 ") != NULL,
	   "escaping is canonical %%XX");
	ok(strstr((char *)w.p, "time=2023-11-14T22:13:20Z") != NULL, "UTC time RFC 3339");
	wbuf_reset(&v);
	ok(audit_rec_format_json(&r, &v) == ENF_OK &&
	   strstr((char *)v.p, "\"detail\":\"caf\xc3\xa9 \\u0001\\ufffd\"") != NULL &&
	   strstr((char *)v.p, "\"policy\":null") != NULL, "JSON escapes and nulls");
	wbuf_free(&w);
	wbuf_free(&v);
}

/* Every other field absent: a field the builder forgot to clear would
 * put stale text into a signed record. */
static int only_common(const struct audit_event *e)
{
	return !e->key && !e->identity && !e->purpose && !e->scope && !e->rule &&
	       !e->policy_id && !e->policy_digest && !e->request_digest && !e->peer && !e->detail;
}

static void test_event_builder(void)
{
	struct audit_event e = audit_event_make("enf-policy", "install", "deny", "bad-policy");

	ok(strcmp(e.program, "enf-policy") == 0 && strcmp(e.op, "install") == 0 &&
	   strcmp(e.outcome, "deny") == 0 && strcmp(e.reason, "bad-policy") == 0 && only_common(&e),
	   "audit_event_make: the four common fields, every other absent");
	e = audit_event_result("enf-keygen", "new", ENF_OK, "created", "refused");
	ok(strcmp(e.outcome, "ok") == 0 && strcmp(e.reason, "created") == 0 && only_common(&e),
	   "audit_event_result: ENF_OK is outcome ok with the ok reason");
	e = audit_event_result("enf-keygen", "new", ENF_NO, "created", "refused");
	ok(strcmp(e.outcome, "fail") == 0 && strcmp(e.reason, "refused") == 0,
	   "audit_event_result: ENF_NO is outcome fail with the fail reason");
	e = audit_event_result("enf-seal", "open", ENF_FAIL, "ok", NULL);
	ok(strcmp(e.outcome, "fail") == 0 && !e.reason && only_common(&e),
	   "audit_event_result: ENF_FAIL is a failure too, a NULL reason stays absent");
}

/* Mutations of a good record that the parser must refuse. */
static void test_parse_rejects(const char *fp)
{
	unsigned char prev[32] = { 0 }, hash[32];
	static const struct { const char *from, *to, *what; } m[] = {
		{ " seq=7 ", " seq=07 ", "leading zero in seq" },
		{ " seq=7 ", " seq=0 ", "seq 0" },
		{ "T22:13:20Z", "T22:13:20+00:00", "time not in Z form" },
		{ " key=k1 ", " key=%6B1 ", "needless escape" },
		{ "%20", "%2a", "lower-case escape" },
		{ " key=k1 ", " key= ", "empty value" },
		{ " key=k1 ", " ", "missing field" },
		{ " key=k1 ", " key=k1 key=k2 ", "repeated field" },
		{ " op=sign ", " op=- ", "absent op" },
		{ " prev=0", " prev=X", "bad prev" },
		{ "enf-audit-1 ", "enf-audit-2 ", "other version" },
		{ " policy_digest=- ", " policy_digest=abc ", "short digest" },
	};
	struct wbuf w;
	struct audit_rec r;
	char why[128], buf[AUDIT_LINE_MAX];

	wbuf_init(&w, 0);
	audit_rec_encode(&w, 7, 1700000000, fp, &EV, prev, NULL, hash);
	w.p[--w.len] = '\0';
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		const char *at = strstr((char *)w.p, m[i].from);
		size_t pre = at ? (size_t)(at - (char *)w.p) : 0;
		snprintf(buf, sizeof buf, "%.*s%s%s", (int)pre, (char *)w.p, m[i].to,
			 at ? at + strlen(m[i].from) : "");
		ok(at && audit_rec_parse(&r, buf, strlen(buf), why, sizeof why) == ENF_NO,
		   "refuses %s", m[i].what);
	}
	snprintf(buf, sizeof buf, "%s x", (char *)w.p);
	ok(audit_rec_parse(&r, buf, strlen(buf), why, sizeof why) == ENF_NO, "refuses text after sig");
	ok(audit_rec_parse(&r, (char *)w.p, w.len, why, sizeof why) == ENF_OK && !r.has_sig,
	   "an unsigned record parses, sig=-");
	wbuf_free(&w);
}

static void test_sig_other_key(const struct privkey *k, const char *fp)
{
	unsigned char prev[32] = { 0 }, hash[32], seed[32] = { 9 };
	struct privkey other;
	struct wbuf w;
	struct audit_rec r;
	char why[128];

	wbuf_init(&w, 0);
	privkey_ed25519_from_seed(&other, seed);
	audit_rec_encode(&w, 1, 1700000000, fp, &EV, prev, &other, hash);
	audit_rec_parse(&r, (char *)w.p, w.len - 1, why, sizeof why);
	ok(!audit_rec_sig_ok(&r, &k->pub), "a signature by another key does not verify");
	privkey_free(&other);
	wbuf_free(&w);
}

static int verify_dir(const char *dir, const struct pubkey *id, struct audit_verify_result *res)
{
	char log[512], head[512];
	struct audit_verify_opts o = { .log = log, .head = head, .head_required = 1, .id = id };

	snprintf(log, sizeof log, "%s/audit.log", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
	return audit_verify(&o, res);
}

/* An empty log is not mapped (NULL, 0): no pointer arithmetic on NULL. */
static void test_empty_log(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-empty-XXXXXX", log[512];
	struct audit_verify_opts o = { .log = log, .id = &k->pub };
	struct audit_verify_result res;
	FILE *f;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(log, sizeof log, "%s/audit.log", dir);
	f = fopen(log, "w");
	ok(f && fclose(f) == 0, "empty log");
	ok(audit_verify(&o, &res) == ENF_NO && strstr(res.why, "no complete record"),
	   "an empty log is not intact: %s", res.why);
	unlink(log);
	rmdir(dir);
}

static void test_append(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-unit-XXXXXX", log[512];
	struct audit_verify_result res;
	struct stat st;
	FILE *f;
	uint64_t s1, s2, s3;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(log, sizeof log, "%s/audit.log", dir);
	s1 = audit_append_raw(dir, &k->pub, k, &EV);
	s2 = audit_append_raw(dir, &k->pub, NULL, &EV_FAIL);
	s3 = audit_append_raw(dir, &k->pub, k, &EV);
	ok(s1 == 1 && s2 == 2 && s3 == 3, "appends number records 1, 2, 3");
	ok(stat(log, &st) == 0 && (st.st_mode & 0777) == 0600, "log is 0600");
	ok(verify_dir(dir, &k->pub, &res) == ENF_OK && res.records == 3 && res.last_signed == 3,
	   "verifies: %s", res.why);
	/* a torn append: half a record, no newline */
	f = fopen(log, "a");
	fputs("enf-audit-1 seq=4 time=20", f);
	fclose(f);
	ok(verify_dir(dir, &k->pub, &res) == ENF_OK && res.torn == 25, "torn tail ignored by verify");
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 5, "next append repairs (4) then records (5)");
	ok(verify_dir(dir, &k->pub, &res) == ENF_OK && res.records == 5 && res.torn == 0,
	   "verifies after repair: %s", res.why);
	audit_append_raw(dir, &k->pub, NULL, &EV_FAIL);
	ok(verify_dir(dir, &k->pub, &res) == ENF_NO && res.bad == 6, "unsigned tail is named: %s",
	   res.why);
	ok(truncate(log, 0) == 0 && audit_append_raw(dir, &k->pub, k, &EV) == 0,
	   "refuses to start over a log emptied behind audit.head's back");
	snprintf(log, sizeof log, "rm -rf %s", dir);
	ok(system(log) == 0, "cleanup");
}

static int write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");
	int ok_ = f && fwrite(text, 1, n, f) == n;

	if (f)
		fclose(f);
	return ok_ ? 0 : -1;
}

/* audit.head's grammar, read through the bounded text reader: one line,
 * six tokens, single spaces, its LF last.  Each variant must be refused
 * as malformed, and the good head still accepted afterwards. */
static void test_head_grammar(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-head-XXXXXX", path[512], good[1100], bad_[1200];
	struct audit_verify_result res;
	FILE *f;
	size_t n;
	char *sp;

	ok(mkdtemp(dir) != NULL, "temp dir");
	audit_append_raw(dir, &k->pub, k, &EV);
	audit_append_raw(dir, &k->pub, k, &EV);
	snprintf(path, sizeof path, "%s/audit.head", dir);
	f = fopen(path, "r");
	n = f ? fread(good, 1, sizeof good - 1, f) : 0;
	if (f)
		fclose(f);
	good[n] = '\0';
	ok(n > 0 && good[n - 1] == '\n' && verify_dir(dir, &k->pub, &res) == ENF_OK,
	   "the head as written verifies");
	sp = strchr(good, ' ');
	for (int i = 0; i < 8; i++) {
		const char *what = "";
		size_t len = n;

		memcpy(bad_, good, n);
		switch (i) {
		case 0: len = n - 1; what = "no LF at the end"; break;
		case 1: memcpy(bad_ + n, "x\n", 2); len = n + 2; what = "text after the LF"; break;
		case 2: bad_[n - 1] = ' '; bad_[n] = '\n'; len = n + 1; what = "a trailing space"; break;
		case 3: memmove(bad_ + (sp - good) + 1, good + (sp - good), n - (size_t)(sp - good));
			len = n + 1; what = "two spaces between tokens"; break;
		case 4: bad_[(sp - good) + 1] = '\0'; what = "a NUL in a token"; break;
		case 5: bad_[n - 1] = '\r'; bad_[n] = '\n'; len = n + 1; what = "CR LF"; break;
		case 6: len = (size_t)(strrchr(good, ' ') - good); bad_[len++] = '\n';
			what = "without its signature"; break;
		case 7: bad_[0] = 'E'; what = "another magic"; break;
		}
		ok(write_file(path, bad_, len) == 0 && verify_dir(dir, &k->pub, &res) == ENF_NO &&
		   strstr(res.why, "malformed") != NULL, "head refused: %s", what);
	}
	ok(write_file(path, good, n) == 0 && verify_dir(dir, &k->pub, &res) == ENF_OK,
	   "the good head is accepted again");
	snprintf(path, sizeof path, "rm -rf %s", dir);
	ok(system(path) == 0, "cleanup");
}

static void test_layout(void)
{
	char dir[] = "/tmp/enf-audit-lay-XXXXXX", path[512], *home = NULL, *log = NULL, *p;
	FILE *f;

	p = audit_beside("copy/sub/audit.log", AUDIT_HEAD_FILE);
	ok(p && strcmp(p, "copy/sub/audit.head") == 0, "audit.head beside a copied log");
	free(p);
	p = audit_beside("audit.log", AUDIT_GAP_FILE);
	ok(p && strcmp(p, "audit.gap") == 0, "beside a log in the working directory");
	free(p);
	p = audit_beside("/audit.log", AUDIT_HEAD_FILE);
	ok(p && strcmp(p, "/audit.head") == 0, "beside a log at the root");
	free(p);
	ok(mkdtemp(dir) != NULL, "temp home");
	ok(audit_log_locate(dir, "elsewhere.log", &home, &log) == ENF_OK &&
	   strcmp(log, "elsewhere.log") == 0 && home && strcmp(home, dir) == 0,
	   "a given log is taken as it is, the home beside it for the keystore");
	free(home);
	free(log);
	ok(audit_log_locate(dir, NULL, &home, &log) == ENF_FAIL &&
	   strstr(enf_errmsg(), "no audit log") != NULL, "the home's log must exist: %s",
	   enf_errmsg());
	free(home);
	free(log);
	snprintf(path, sizeof path, "%s/audit.log", dir);
	f = fopen(path, "w");
	fclose(f);
	chmod(path, 0644);
	ok(audit_log_locate(dir, NULL, &home, &log) == ENF_FAIL, "a log others can read is refused");
	free(home);
	free(log);
	chmod(path, 0600);
	ok(audit_log_locate(dir, NULL, &home, &log) == ENF_OK && strcmp(log, path) == 0,
	   "the home's private audit.log");
	free(home);
	free(log);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	ok(system(path) == 0, "cleanup");
}

/* show's walk on log: its result, and in *lines how many lines it printed
 * (*first: whether the first starts with "1 "). */
static int show(const char *log, char **sel, size_t n, size_t *lines, int *first)
{
	struct audit_cmd c = { .log = log };
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	int rc = audit_cmd_show(&c, sel, n, f);

	fclose(f);
	*lines = 0;
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		++*lines;
	*first = strncmp(out, "1 ", 2) == 0;
	free(out);
	return rc;
}

static void test_show(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-show-XXXXXX", log[512];
	char *three[] = { "3" }, *zero[] = { "0" }, *two[] = { "2-2" };
	static const char torn[] = "enf-audit-1 seq=3 time=20", garbage[] = "enf-audit-1 seq=1 garbage\n";
	size_t lines;
	int first;
	FILE *f;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(log, sizeof log, "%s/audit.log", dir);
	audit_append_raw(dir, &k->pub, k, &EV);
	audit_append_raw(dir, &k->pub, k, &EV);
	ok(show(log, NULL, 0, &lines, &first) == ENF_OK && lines == 2 && first,
	   "show: every record, one line each");
	f = fopen(log, "a");
	fputs(torn, f);		/* a torn append: no newline */
	fclose(f);
	ok(show(log, NULL, 0, &lines, &first) == ENF_OK && lines == 2,
	   "show: an incomplete last line is not shown and not read past");
	ok(show(log, three, 1, &lines, &first) == ENF_NO && lines == 0,
	   "show: the torn record 3 is not there");
	ok(show(log, zero, 1, &lines, &first) == ENF_USAGE, "show: record 0 is a usage error");
	ok(write_file(log, garbage, strlen(garbage)) == 0 &&
	   show(log, NULL, 0, &lines, &first) == ENF_NO && lines == 0,
	   "show: a malformed line is reported, not shown");
	ok(show(log, two, 1, &lines, &first) == ENF_NO, "show: a range with no record in it");
	ok(write_file(log, "", 0) == 0 && show(log, NULL, 0, &lines, &first) == ENF_OK && lines == 0,
	   "show: an empty log");
	snprintf(log, sizeof log, "rm -rf %s", dir);
	ok(system(log) == 0, "cleanup");
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int exists(const char *dir, const char *name)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static int verify_gap(const char *dir, const struct pubkey *id, struct audit_verify_result *res)
{
	char log[128], head[128], gap[128];
	struct audit_verify_opts o = { .log = log, .head = head, .head_required = 1, .gap = gap,
				       .id = id };

	snprintf(log, sizeof log, "%s/audit.log", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
	snprintf(gap, sizeof gap, "%s/audit.gap", dir);
	return audit_verify(&o, res);
}

/* Without the key: only refusals, never first, never a repair; and a head
 * left behind by an interrupted append is caught up, not taken for a cut.
 * Every record that could not be written leaves a line in audit.gap, which
 * the next signed append records (op=gap) and moves to audit.gap.SEQ. */
static void test_unsigned_rules(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-uns-XXXXXX", log[128], head[128], cmd[300];
	struct audit_verify_result res;
	long size;
	FILE *f;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(log, sizeof log, "%s/audit.log", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
	ok(audit_append_raw(dir, &k->pub, NULL, &EV_FAIL) == 0 && file_size(log) == 0,
	   "a refusal without the key cannot start a log");
	ok(exists(dir, "audit.gap"), "the record that could not be written is in audit.gap");
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 2 && !exists(dir, "audit.gap") &&
	   exists(dir, "audit.gap.1"), "a signed append records the gap (1), then itself (2)");
	ok(verify_gap(dir, &k->pub, &res) == ENF_OK && res.gaps == 1, "intact, one gap record: %s",
	   res.why);
	size = file_size(log);
	ok(audit_append_raw(dir, &k->pub, NULL, &EV) == 0 && file_size(log) == size,
	   "without the key, a record that is not a refusal is not written");
	ok(verify_gap(dir, &k->pub, &res) == ENF_NO && res.gap_pending == 1 &&
	   strstr(res.why, "audit.gap: 1 record(s) could not be written"),
	   "verify fails while audit.gap is pending: %s", res.why);
	ok(audit_append_raw(dir, &k->pub, NULL, &EV_FAIL) == 3 && exists(dir, "audit.gap"),
	   "a refusal is written, and does not take the gap in (it cannot sign it)");
	f = fopen(log, "a");
	fputs("enf-audit-1 seq=4 time=20", f);
	fclose(f);
	size = file_size(log);
	ok(audit_append_raw(dir, &k->pub, NULL, &EV_FAIL) == 0 && file_size(log) == size,
	   "without the key a torn tail is neither repaired nor written after");
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 6 && exists(dir, "audit.gap.5") &&
	   !exists(dir, "audit.gap"), "with it: repair (4), the gap of two (5), the record (6)");
	/* an append whose head was never written: keep the head of record 6 */
	snprintf(cmd, sizeof cmd, "cp %s %s.6", head, head);
	ok(system(cmd) == 0, "head of record 6 kept");
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 7, "record 7");
	snprintf(cmd, sizeof cmd, "mv %s.6 %s", head, head);
	ok(system(cmd) == 0, "head set back to record 6");
	ok(verify_gap(dir, &k->pub, &res) == ENF_OK && res.head_lag == 1 && res.gaps == 2,
	   "a signed record after the head's verifies, and is reported: %s", res.why);
	ok(audit_append_raw(dir, &k->pub, NULL, &EV_FAIL) == 8 &&
	   verify_gap(dir, &k->pub, &res) == ENF_NO && res.bad == 8,
	   "a refusal chains after it, keeping the signed head");
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 9 &&
	   verify_gap(dir, &k->pub, &res) == ENF_OK && res.head_lag == 0,
	   "the next signed append catches the head up: %s", res.why);
	snprintf(cmd, sizeof cmd, "grep -q ' op=gap .*detail=2%%20record(s)%%20could%%20not' %s",
		 log);
	ok(system(cmd) == 0, "the gap record says how many");
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleanup");
}

/* Refusals after the signed head filling more than the appender's first
 * read: it reads further back to the head's record, and still checks them. */
static void test_long_unsigned_tail(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-long-XXXXXX", log[128], cmd[300];
	struct audit_verify_result res;
	uint64_t seq = 0;
	long size;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(log, sizeof log, "%s/audit.log", dir);
	audit_append_raw(dir, &k->pub, k, &EV);
	for (int i = 0; i < 200; i++)
		seq = audit_append_raw(dir, &k->pub, NULL, &EV_FAIL);
	ok(seq == 201 && file_size(log) > 3 * AUDIT_LINE_MAX, "200 refusals, %ld bytes",
	   file_size(log));
	/* record 2, far behind the first window, altered: the appender must
	 * notice it that far back */
	snprintf(cmd, sizeof cmd, "sed -i '2s/ outcome=fail / outcome=okay /' %s", log);
	ok(system(cmd) == 0, "record 2 altered");
	size = file_size(log);
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 0 && file_size(log) == size,
	   "the appender reads back to the signed head and refuses");
	snprintf(cmd, sizeof cmd, "sed -i '2s/ outcome=okay / outcome=fail /' %s", log);
	ok(system(cmd) == 0 && unlink(strcat(strcpy(cmd, dir), "/audit.gap")) == 0, "restored");
	ok(audit_append_raw(dir, &k->pub, k, &EV) == 202 &&
	   verify_dir(dir, &k->pub, &res) == ENF_OK, "and appends when it is intact: %s", res.why);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleanup");
}

/* The parallel scan must agree with the serial one, on good and bad logs. */
static void test_parallel(const struct privkey *k)
{
	char dir[] = "/tmp/enf-audit-par-XXXXXX", log[512], head[512];
	struct audit_verify_opts o = { .log = log, .head = head, .head_required = 1,
				       .id = &k->pub };
	struct audit_verify_result res;
	FILE *f;
	long off;
	int c;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(log, sizeof log, "%s/audit.log", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
	for (int i = 0; i < 50; i++)
		audit_append_raw(dir, &k->pub, i % 7 ? NULL : k, i % 7 ? &EV_FAIL : &EV);
	audit_append_raw(dir, &k->pub, k, &EV);
	for (unsigned t = 1; t <= 4; t++) {
		o.threads = t;
		ok(audit_verify(&o, &res) == ENF_OK && res.records == 51 && res.last_signed == 51,
		   "%u thread(s): intact, 51 records", t);
	}
	/* flip one byte in record 30 */
	f = fopen(log, "r+");
	for (int line = 1; line < 30; )
		if ((c = fgetc(f)) == '\n')
			line++;
	off = ftell(f) + 40;
	fseek(f, off, SEEK_SET);
	c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c == '1' ? '2' : '1', f);
	fclose(f);
	for (unsigned t = 1; t <= 4; t++) {
		o.threads = t;
		ok(audit_verify(&o, &res) == ENF_NO && res.bad == 30,
		   "%u thread(s): names record 30: %s", t, res.why);
	}
	snprintf(log, sizeof log, "rm -rf %s", dir);
	ok(system(log) == 0, "cleanup");
}

int main(int argc, char **argv)
{
	struct privkey k;
	char fp[FINGERPRINT_MAX];
	struct audit_anchor a;

	if (argc > 1)
		return tool(argc, argv);
	enf_setprogname("audit-unit");
	ok(crypto_init() == ENF_OK, "crypto");
	ok(key_from_hex("0101010101010101010101010101010101010101010101010101010101010101",
			&k, fp) == 0, "identity key");
	test_event_builder();
	test_encode_parse(&k, fp);
	test_parse_rejects(fp);
	test_sig_other_key(&k, fp);
	test_empty_log(&k);
	test_append(&k);
	test_layout();
	test_head_grammar(&k);
	test_show(&k);
	test_unsigned_rules(&k);
	test_long_unsigned_tail(&k);
	test_parallel(&k);
	ok(audit_anchor_parse("12:" "00000000000000000000000000000000"
			      "000000000000000000000000000000ff", &a) == ENF_OK && a.seq == 12 &&
	   a.hash[31] == 0xff, "anchor parses");
	ok(audit_anchor_parse("012:00", &a) == ENF_NO, "bad anchor refused");
	privkey_free(&k);
	return done_testing();
}
