/* The signing transaction (sign.h) against a real instance: every request
 * of a batch gets its own record and outcome; all records are written
 * before the first output is published; a denial or a failed output in
 * the middle changes nothing for the others. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "tap.h"
#include "audit.h"
#include "crypto.h"
#include "envelope.h"
#include "io.h"
#include "keyfmt.h"
#include "sign.h"
#include "sshsig.h"

static const struct kdf_params cheap = { 1, 8192, 1 };
static char home[96];
static struct privkey requester;

static struct secret pass(const char *s)
{
	struct secret p = { secure_alloc(PASSPHRASE_MAX + 1), strlen(s) };

	memcpy(p.p, s, p.n);
	return p;
}

static size_t log_records(void)
{
	char path[128];
	size_t n = 0;
	int c;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", home, AUDIT_FILE);
	if (!(f = fopen(path, "r")))
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* A request by ci-bot for key rel in scope, signed. */
static void request(const char *scope, struct request_text *r)
{
	struct envelope e;
	struct wbuf t;
	unsigned char d[64];

	memset(&e, 0, sizeof e);
	snprintf(e.key, sizeof e.key, "rel");
	snprintf(e.identity, sizeof e.identity, "ci-bot");
	snprintf(e.purpose, sizeof e.purpose, "release");
	snprintf(e.scope, sizeof e.scope, "%s", scope);
	snprintf(e.rule, sizeof e.rule, "rel");
	e.digest_alg = HASH_SHA256;
	hash_buf(HASH_SHA256, "data", 4, e.digest);
	wbuf_init(&t, 0);
	envelope_write_body(&e, &t);
	hash_buf(HASH_SHA512, t.p, t.len, d);
	sshsig_sign_digest(&requester, NS_REQUEST, HASH_SHA512, d, &t);
	r->p = t.p;
	r->n = t.len;
	r->oversize = 0;
}

static void install_policy(struct keystore *ks)
{
	struct wbuf t, line;
	unsigned char digest[32];
	char *path = home_path(home, "policy");

	privkey_generate(&requester, ALG_ED25519);
	wbuf_init(&line, 0);
	pubkey_to_line(&requester.pub, NULL, &line);
	wbuf_cstr_terminate(&line);
	wbuf_init(&t, 0);
	wbuf_printf(&t, "version 1\npolicy unit\npurpose release\nidentity ci-bot %s\n"
		    "rule rel key=rel identity=ci-bot purpose=release scope=ok:*\n",
		    (char *)line.p);
	hash_buf(HASH_SHA256, t.p, t.len, digest);
	ok(io_write_atomic(path, t.p, t.len, 0600) == ENF_OK &&
	   ks_set_policy_digest(ks, digest) == ENF_OK, "policy installed");
	wbuf_free(&t);
	wbuf_free(&line);
	free(path);
}

/* An output in memory that remembers how many records the log held when
 * it was published. */
struct mem_out {
	int fail_stage, staged, published, discarded;
	size_t records_at_publish;
	size_t len;
};

static int mem_stage(void *arg, const unsigned char *sig, size_t n)
{
	struct mem_out *m = arg;

	(void)sig;
	if (m->fail_stage)
		return enf_err(ENF_FAIL, "disk full (test)");
	m->staged = 1;
	m->len = n;
	return ENF_OK;
}

static int mem_publish(void *arg)
{
	struct mem_out *m = arg;

	m->published = 1;
	m->records_at_publish = log_records();
	return ENF_OK;
}

static void mem_discard(void *arg) { ((struct mem_out *)arg)->discarded = 1; }

static struct keystore *operator_session(struct secret *op)
{
	struct keystore *ks = NULL;

	if (ks_open(home, &ks) != ENF_OK || ks_unlock(ks, ROLE_OPERATOR, op) != ENF_OK) {
		ks_close(ks);
		return NULL;
	}
	return ks;
}

static void test_batch(struct keystore *ks)
{
	const char *scopes[] = { "ok:1", "elsewhere", "ok:2", "ok:3" };
	struct mem_out m[4];
	struct sign_batch *b = NULL;
	size_t before = log_records();
	const struct sign_outcome *o[4];

	memset(m, 0, sizeof m);
	m[3].fail_stage = 1;
	ok(sign_batch_new(ks, "uid=1,pid=2", NULL, &b) == ENF_OK, "batch");
	for (int i = 0; i < 4; i++) {
		struct request_text r;
		struct sign_output out = { mem_stage, mem_publish, mem_discard, &m[i] };
		request(scopes[i], &r);
		ok(sign_batch_add(b, &r, &out) == ENF_OK, "add %s", scopes[i]);
		free(r.p);
	}
	ok(log_records() == before, "nothing is recorded before the commit");
	ok(!m[0].published && !m[2].published, "nor published");
	ok(sign_batch_commit(b) == 4, "commit");
	for (int i = 0; i < 4; i++)
		o[i] = sign_batch_outcome(b, i);
	ok(o[0]->status == ENF_OK && o[2]->status == ENF_OK, "permits stay permits");
	ok(o[1]->status == ENF_NO, "the denial in the middle is a denial");
	ok(o[3]->status == ENF_FAIL && strstr(o[3]->msg, "disk full"),
	   "an output that cannot be staged fails: %s", o[3]->msg);
	ok(o[0]->seq == before + 1 && o[1]->seq == before + 2 && o[2]->seq == before + 3 &&
	   o[3]->seq == before + 4, "one record each, in order");
	ok(m[0].records_at_publish == before + 4 && m[2].records_at_publish == before + 4,
	   "every record of the batch is in the log before the first publish");
	ok(!m[1].staged && !m[1].published && !m[3].published && m[3].discarded,
	   "nothing is published for the denial or the failure");
	ok(sign_exit_code(o, 4) == ENF_FAIL && sign_exit_code(o, 3) == ENF_NO &&
	   sign_exit_code(o, 1) == ENF_OK, "exit codes: 3 over 1 over 0");
	sign_batch_free(b);
}

/* The tip of audit.head: its first number. */
static unsigned long long head_tip(void)
{
	char path[128];
	unsigned long long tip = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", home, AUDIT_HEAD_FILE);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "enf-audit-head-1 %llu ", &tip) != 1)
			tip = 0;
		fclose(f);
	}
	return tip;
}

/* Whether anyone may read the log now: a shared lock, as readers take. */
static int log_readable(void)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof path, "%s/%s", home, AUDIT_FILE);
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	ok = flock(fd, LOCK_SH | LOCK_NB) == 0 ? 1 : errno == EWOULDBLOCK ? 0 : -1;
	close(fd);
	return ok;
}

struct at_answer {
	struct mem_out *m;
	struct sign_batch *b;
	int calls, published, readable;
	size_t records;
	unsigned long long tip, seq;
};

static void answer(void *arg)
{
	struct at_answer *a = arg;

	a->calls++;
	a->published = a->m->published;
	a->records = log_records();
	a->tip = head_tip();
	a->readable = log_readable();
	a->seq = sign_batch_outcome(a->b, 0)->seq;
}

/* The agent's answer (sign_batch_on_recorded) goes once the record is in
 * the log, before the head names it, while no reader may look; outputs are
 * published after, the log unlocked. */
static void test_answer_before_head(struct keystore *ks)
{
	struct mem_out m;
	struct at_answer a = { .m = &m };
	struct sign_batch *b = NULL;
	struct request_text r;
	struct sign_output out = { mem_stage, mem_publish, mem_discard, &m };
	size_t before = log_records();
	unsigned long long tip = head_tip();

	memset(&m, 0, sizeof m);
	ok(sign_batch_new(ks, NULL, NULL, &b) == ENF_OK, "batch");
	a.b = b;
	sign_batch_on_recorded(b, answer, &a);
	request("ok:answer", &r);
	ok(sign_batch_add(b, &r, &out) == ENF_OK, "add");
	free(r.p);
	ok(sign_batch_commit(b) == 1 && a.calls == 1, "the answer runs once");
	ok(a.records == before + 1 && !a.published, "after the record, before the publish");
	ok(tip == before && a.tip == before, "before the head names the record (head %llu)", a.tip);
	ok(a.readable == 0, "with the log still locked");
	ok(head_tip() == before + 1 && log_readable() == 1 && m.published,
	   "then the head, the lock goes, and the output is published");
	ok(a.seq == before + 1, "and it knew the record's number");
	sign_batch_free(b);
}

static void test_records(void)
{
	char path[128];
	struct audit_map m;
	struct audit_rec r;
	struct wbuf v;
	const char *p, *end, *line, *want[] = { "permit", "deny", "permit", "fail" };
	size_t n = 0;
	char why[128];

	snprintf(path, sizeof path, "%s/%s", home, AUDIT_FILE);
	ok(audit_map_open(&m, path) == ENF_OK, "log maps");
	p = m.p;
	end = m.p + m.len;
	wbuf_init(&v, 0);
	while (p < end) {
		line = p;
		while (p < end && *p != '\n')
			p++;
		if (audit_rec_parse(&r, line, (size_t)(p - line), why, sizeof why) == ENF_OK &&
		    audit_rec_value(&r, AF_OP, &v) == ENF_OK && strcmp((char *)v.p, "sign") == 0) {
			wbuf_reset(&v);
			audit_rec_value(&r, AF_OUTCOME, &v);
			ok(n < 4 && strcmp((char *)v.p, want[n]) == 0, "record %zu is %s", n, want[n]);
			wbuf_reset(&v);
			audit_rec_value(&r, AF_PEER, &v);
			ok(strcmp((char *)v.p, "uid=1,pid=2") == 0, "the observer is in peer");
			ok(r.has_sig, "and the record is signed");
			n++;
		}
		wbuf_reset(&v);
		p++;
	}
	ok(n == 4, "four sign records");
	wbuf_free(&v);
	audit_map_close(&m);
}

int main(void)
{
	char tmpl[] = "/tmp/enf-sign-unit-XXXXXX", *dir = mkdtemp(tmpl), cmd[128];
	struct secret off = pass("officer passphrase"), op = pass("operator passphrase");
	struct ks_init_opts o = { .lockout = 5, .binding = BIND_NONE, .kdf = &cheap };
	struct keystore *ks = NULL;
	char *purpose = "release";

	snprintf(home, sizeof home, "%s/h", dir);
	ok(crypto_init() == ENF_OK && ks_init(home, &o, &off, &op, &ks) == ENF_OK, "init");
	ks_close(ks);
	ks = NULL;
	ok(ks_open(home, &ks) == ENF_OK && ks_unlock(ks, ROLE_OFFICER, &off) == ENF_OK &&
	   ks_key_new(ks, "rel", ALG_ED25519, &purpose, 1, NULL) == ENF_OK, "key rel");
	install_policy(ks);
	ks_close(ks);

	ks = operator_session(&op);
	ok(ks != NULL, "operator session");
	if (ks) {
		test_batch(ks);
		test_records();
		test_answer_before_head(ks);
	}
	ks_close(ks);
	privkey_free(&requester);
	secret_free(&off);
	secret_free(&op);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "clean up");
	return done_testing();
}
