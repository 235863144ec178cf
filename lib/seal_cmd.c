/* The programs' verbs over sealing (enf-seal(1), seal_cmd.h): resolve the
 * home, unlock the role, run one stream operation of seal.c, commit or
 * abort its output, and leave one audit record whatever the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "audit.h"
#include "crypto.h"
#include "encode.h"
#include "io.h"
#include "keystore.h"
#include "seal.h"
#include "seal_cmd.h"
#include "unlock.h"

#define PROGRAM "enf-seal"

static int is_stdio(const char *path) { return !path || strcmp(path, "-") == 0; }

static int open_input(const char *path, int *fd)
{
	if (is_stdio(path)) {
		*fd = STDIN_FILENO;
		return ENF_OK;
	}
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	return ENF_OK;
}

static void close_input(int fd)
{
	if (fd > STDERR_FILENO)
		close(fd);
}

/* Open the keystore and unlock the role (unlock_role audits a refusal). */
static int begin(const struct seal_cmd *c, int role, const char *op, struct keystore **ks)
{
	int rc;

	*ks = NULL;
	if ((rc = crypto_init()) != ENF_OK)
		return rc;
	if ((rc = ks_open_home(c->home, ks)) != ENF_OK)
		return rc;
	return unlock_role(*ks, role, c->passfile, PROGRAM, op);
}

/* One record for every operation past the credential, whatever its end. */
static void record(struct keystore *ks, const char *op, int rc, const struct seal_status *st,
		   const char *peer, const char *detail)
{
	struct audit_event ev = audit_event_result(PROGRAM, op, rc, "ok", seal_status_reason(st, rc));

	ev.detail = detail && detail[0] ? detail : NULL;
	ev.peer = peer;
	audit_append(ks, &ev);
}

/* Commit only a complete, authenticated result; anything else vanishes. */
static int finish(struct atomic_file *out, int rc, struct seal_status *st)
{
	if (rc == ENF_OK) {
		rc = atomic_commit(out);
		if (rc != ENF_OK)
			st->reason = "io-error";
	} else {
		atomic_abort(out);
	}
	return rc;
}

/* Streaming to stdout writes each chunk once it authenticates; a later
 * failure must say that what came out is incomplete. */
static void warn_partial(int rc)
{
	enf_err(rc, "%s; the output already written was authenticated chunk by chunk "
		"but is incomplete: discard it", enf_errmsg());
}

enum verb { V_SEAL, V_OPEN, V_TRANSFER };
static const char *const verb_op[] = { "seal", "open", "transfer" };

/* The audit detail "file-id:HEX[,transferred-as:HEX]" ties the records of
 * both instances about one file together; peer names the other instance. */
static void describe(const struct seal_self *me, const struct seal_header *h,
		     const struct seal_header *made, char *detail, size_t n,
		     char peer[SEAL_ID_STR])
{
	char a[65], b[65];
	const struct seal_header *first = h->rawlen ? h : made;

	detail[0] = peer[0] = '\0';
	if (first->rawlen) {
		hex_to_str(a, sizeof a, first->file_id, sizeof first->file_id);
		if (h->rawlen && made->rawlen) {
			hex_to_str(b, sizeof b, made->file_id, sizeof made->file_id);
			snprintf(detail, n, "file-id:%s,transferred-as:%s", a, b);
		} else {
			snprintf(detail, n, "file-id:%s", a);
		}
	}
	if (made->rawlen && made->kind == SEAL_TRANSFERRED)
		seal_id_string(made->instance, peer);
	else if (h->rawlen && h->kind == SEAL_TRANSFERRED &&
		 memcmp(h->instance, me->id, SEAL_ID_LEN) == 0)
		seal_id_string(h->source, peer);
	else if (h->rawlen && memcmp(h->instance, me->id, SEAL_ID_LEN) != 0)
		seal_id_string(h->instance, peer);
}

static int run_stream(int verb, const struct seal_self *me, const struct seal_peer *to, int in,
		      struct atomic_file *out, struct seal_header *h, struct seal_header *made,
		      struct seal_status *st)
{
	if (verb == V_SEAL)
		return seal_stream_seal(me, in, out, made, st);
	if (verb == V_OPEN)
		return seal_stream_open(me, to ? to->id : NULL, in, out, h, st);
	return seal_stream_transfer(me, to, in, out, h, made, st);
}

static int run(const struct seal_cmd *c, int verb, const struct seal_peer *to)
{
	struct keystore *ks = NULL;
	struct seal_self *me = NULL;
	struct seal_header h, made;
	struct seal_status st;
	struct atomic_file out;
	char peer[SEAL_ID_STR] = "", detail[160] = "";
	int in = -1, opened = 0, rc;

	memset(&h, 0, sizeof h);
	memset(&made, 0, sizeof made);
	seal_status_init(&st);
	if ((rc = open_input(c->in, &in)) != ENF_OK)
		return rc;
	rc = begin(c, verb == V_TRANSFER ? ROLE_OFFICER : ROLE_OPERATOR, verb_op[verb], &ks);
	if (rc != ENF_OK)
		goto done;
	rc = seal_self_load(ks, &me, &st);
	/* Sealed data is ciphertext meant to travel; plaintext stays private. */
	if (rc == ENF_OK && (rc = atomic_open(&out, c->out, verb == V_OPEN ? 0600 : 0644)) != ENF_OK)
		st.reason = "io-error";
	if (rc == ENF_OK) {
		opened = 1;
		rc = run_stream(verb, me, to, in, &out, &h, &made, &st);
		if (rc == ENF_OK && (rc = atomic_sync(&out)) != ENF_OK)
			st.reason = "io-error";
		describe(me, &h, &made, detail, sizeof detail, peer);
		if (verb == V_TRANSFER)
			seal_id_string(to->id, peer);
	}
	/* The record comes before the output is committed, as a signature's
	 * does: a crash between them leaves a record and no file, never a file
	 * without its record.  (To standard output an open streams each chunk
	 * as it authenticates, before any record can be written.) */
	record(ks, verb_op[verb], rc, &st, peer[0] ? peer : NULL, detail);
	if (opened) {
		rc = finish(&out, rc, &st);
		if (rc != ENF_OK && verb == V_OPEN && is_stdio(c->out) && st.released)
			warn_partial(rc);
	}
done:
	seal_self_free(me);
	if (ks)
		ks_close(ks);
	close_input(in);
	return rc;
}

static int read_peer(const char *path, struct seal_peer *p)
{
	return seal_peer_read(path, p, NULL, NULL);
}

int seal_cmd_seal(const struct seal_cmd *c) { return run(c, V_SEAL, NULL); }

/* With --from, run() gets the expected source where transfer has its target. */
int seal_cmd_open(const struct seal_cmd *c)
{
	struct seal_peer from;
	int rc;

	if (!c->from)
		return run(c, V_OPEN, NULL);
	if ((rc = read_peer(c->from, &from)) != ENF_OK)
		return rc;
	return run(c, V_OPEN, &from);
}

int seal_cmd_transfer(const struct seal_cmd *c)
{
	struct seal_peer to;
	int rc;

	if ((rc = read_peer(c->to, &to)) != ENF_OK)
		return rc;
	return run(c, V_TRANSFER, &to);
}

int seal_cmd_info(const struct seal_cmd *c)
{
	struct seal_header h;
	struct wbuf b;
	int in, rc;

	if ((rc = crypto_init()) != ENF_OK)
		return rc;
	if ((rc = open_input(c->in, &in)) != ENF_OK)
		return rc;
	rc = seal_read_header(in, &h);
	close_input(in);
	if (rc != ENF_OK)
		return rc;
	wbuf_init(&b, 0);
	rc = seal_info_text(&h, &b);
	if (rc == ENF_OK && io_write_all(STDOUT_FILENO, b.p, b.len) < 0)
		rc = enf_err(ENF_FAIL, "standard output: %s", strerror(errno));
	wbuf_free(&b);
	return rc;
}

/* enf-agent's seal and open (agent.c): the verbs above with the agent's
 * unlocked operator keystore and the stream it relays, in and out.
 * out_error: the caller could not open its output (recorded as io-error);
 * source: the id of the --from instance (open), or NULL; stream: the
 * caller writes to a stream, so a late failure says the output is partial; observer ("uid=N,pid=N") joins the peer field. */
int seal_serve(struct keystore *ks, int open, const unsigned char *source, int in,
	       struct atomic_file *out, const char *out_error, int stream, const char *observer)
{
	struct seal_self *me = NULL;
	struct seal_header h, made;
	struct seal_status st;
	char peer[SEAL_ID_STR] = "", detail[160] = "", who[SEAL_ID_STR + 80];
	int verb = open ? V_OPEN : V_SEAL, rc;

	memset(&h, 0, sizeof h);
	memset(&made, 0, sizeof made);
	seal_status_init(&st);
	rc = seal_self_load(ks, &me, &st);
	if (rc == ENF_OK && out_error) {
		st.reason = "io-error";
		rc = enf_err(ENF_FAIL, "%s", out_error);
	} else if (rc == ENF_OK) {
		rc = verb == V_SEAL ? seal_stream_seal(me, in, out, &made, &st)
				    : seal_stream_open(me, source, in, out, &h, &st);
		if (rc != ENF_OK && verb == V_OPEN && stream && st.released)
			warn_partial(rc);
		describe(me, &h, &made, detail, sizeof detail, peer);
	}
	snprintf(who, sizeof who, "%s%s%s", peer, peer[0] && observer ? " " : "",
		 observer ? observer : "");
	record(ks, verb_op[verb], rc, &st, who[0] ? who : NULL, detail);
	seal_self_free(me);
	return rc;
}
