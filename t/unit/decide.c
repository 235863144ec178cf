/* The decision function (decide.h): every reason code is reached by a
 * request that fails only that check, with real SSHSIG signatures made
 * here; the order of the checks is fixed; the same input gives the same
 * decision. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "crypto.h"
#include "keyfmt.h"
#include "decide.h"

enum { CI, ALICE, BOB, CAROL, DAVE, EVE, LONG1, LONG7 = LONG1 + 6, STRANGER, NKEYS };
#define LONGNAME(n) "approver-" #n "-with-a-name-as-long-as-a-policy-allows-it-to-be-xx"
static const char *const names[NKEYS] = {
	"ci-bot", "alice", "bob", "carol", "dave", "eve", LONGNAME(1), LONGNAME(2), LONGNAME(3),
	LONGNAME(4), LONGNAME(5), LONGNAME(6), LONGNAME(7), "stranger"
};
static struct privkey keys[NKEYS];
static struct policy *pol;

struct req {
	const char *key, *identity, *purpose, *scope, *rule;
	int format;
};

static const struct req GOOD = {
	"rel-key", "ci-bot", "release", "artifact:tarball", "rel", FMT_SSHSIG
};

static const char *const purposes_release[] = { "release" };
static const char *const purposes_two[] = { "release", "firmware" };
static const struct key_facts ACTIVE_ED = { 1, ALG_ED25519, KS_ACTIVE, purposes_release, 1 };

static char detail[512], named[384];
static size_t napproved;

static void body_of(const struct req *r, struct wbuf *out)
{
	struct envelope e;

	memset(&e, 0, sizeof e);
	snprintf(e.key, sizeof e.key, "%s", r->key);
	snprintf(e.identity, sizeof e.identity, "%s", r->identity);
	snprintf(e.purpose, sizeof e.purpose, "%s", r->purpose);
	snprintf(e.scope, sizeof e.scope, "%s", r->scope);
	snprintf(e.rule, sizeof e.rule, "%s", r->rule);
	e.format = r->format;
	e.digest_alg = HASH_SHA256;
	hash_buf(HASH_SHA256, "data", 4, e.digest);
	envelope_write_body(&e, out);
}

/* An armored SSHSIG by key k in namespace ns over the body of r. */
static void sign(const struct req *r, int k, const char *ns, struct wbuf *out)
{
	struct wbuf body;
	unsigned char d[64];

	wbuf_init(&body, 0);
	body_of(r, &body);
	hash_buf(HASH_SHA512, body.p, body.len, d);
	if (sshsig_sign_digest(&keys[k], ns, HASH_SHA512, d, out) != ENF_OK)
		printf("# sshsig_sign_digest failed: %s\n", enf_errmsg());
	wbuf_free(&body);
}

/* A request for r, signed by `signer` (as if over `signed_as`, r when
 * NULL), approved by approvers[0..n) (-1 ends the list). */
static int run_full(const struct req *r, const struct req *signed_as, int signer,
		    const int *approvers, int status, const struct key_facts *kf)
{
	struct wbuf text;
	struct envelope e;
	struct decision d;
	char why[160];
	int rc;

	wbuf_init(&text, 0);
	body_of(r, &text);
	sign(signed_as ? signed_as : r, signer, NS_REQUEST, &text);
	for (size_t i = 0; approvers && approvers[i] >= 0; i++)
		sign(r, approvers[i], NS_APPROVE, &text);
	if (envelope_parse(&e, (char *)text.p, text.len, 0, why, sizeof why) != ENF_OK) {
		printf("# test request does not parse: %s\n", why);
		wbuf_free(&text);
		return -1;
	}
	rc = decide(&e, NULL, pol, status, kf, &d);
	snprintf(detail, sizeof detail, "%s", d.detail);
	snprintf(named, sizeof named, "%s", d.approvers);
	napproved = d.approvals;
	envelope_free(&e);
	wbuf_free(&text);
	return rc;
}

static const int TWO[] = { ALICE, BOB, -1 };

static int run(const struct req *r, int signer, const int *approvers)
{
	return run_full(r, NULL, signer, approvers, POLICY_OK, &ACTIVE_ED);
}

static void expect(int got, int want, const char *what)
{
	ok(got == want, "%s -> %s", what, reason_code(want));
	if (got != want)
		printf("#   got %s: %s\n", got >= 0 ? reason_code(got) : "(no request)", detail);
}

static void setup(void)
{
	struct wbuf t, line;
	char *buf;

	wbuf_init(&t, 0);
	wbuf_printf(&t, "version 1\npolicy unit\npurpose release\npurpose firmware\n");
	for (int i = 0; i < NKEYS; i++) {
		if (privkey_generate(&keys[i], i == BOB ? ALG_ECDSA_P256 : ALG_ED25519) != ENF_OK)
			printf("# privkey_generate failed: %s\n", enf_errmsg());
		if (i == STRANGER)
			continue;
		wbuf_init(&line, 0);
		pubkey_to_line(&keys[i].pub, NULL, &line);
		wbuf_cstr_terminate(&line);
		wbuf_printf(&t, "identity %s %s\n", names[i], (char *)line.p);
		wbuf_free(&line);
	}
	wbuf_printf(&t,
		"group managers alice bob carol eve " LONGNAME(1) " " LONGNAME(2) " " LONGNAME(3)
		" " LONGNAME(4) " " LONGNAME(5) " " LONGNAME(6) " " LONGNAME(7) "\n"
		"rule rel key=rel-key identity=ci-bot purpose=release scope=artifact:tarball,device:* approvals=2:managers\n"
		"rule noapp key=rel-key identity=ci-bot purpose=release scope=plain\n"
		"rule old key=rel-key identity=ci-bot purpose=release scope=plain\n"
		"rule r-eve key=rel-key identity=eve purpose=release scope=plain\n"
		"rule r-oldkey key=old-key identity=ci-bot purpose=release scope=plain\n"
		"revoke rule old\nrevoke identity eve\nrevoke key old-key\n");
	buf = (char *)t.p;
	if (policy_parse(buf, t.len, "unit.policy", stdout, &pol) != ENF_OK)
		printf("# the test policy does not parse\n");
	wbuf_free(&t);
}

static void test_structure_and_authenticity(void)
{
	struct req r = GOOD;
	struct decision d;
	const int stranger[] = { ALICE, STRANGER, -1 };

	expect(decide(NULL, "line 3: expected 'identity NAME'", pol, POLICY_OK, &ACTIVE_ED, &d),
	       R_MALFORMED, "a request that did not parse");
	ok(strcmp(d.detail, "line 3: expected 'identity NAME'") == 0,
	   "the parser's reason is the detail");
	expect(run_full(&r, NULL, CI, TWO, POLICY_NONE, &ACTIVE_ED), R_NO_POLICY,
	       "no installed policy");
	expect(run_full(&r, NULL, CI, TWO, POLICY_DRIFT, &ACTIVE_ED), R_POLICY_DRIFT,
	       "a policy that drifted from its digest");
	{
		struct policy *keep = pol;
		pol = NULL;
		expect(run_full(&r, NULL, CI, TWO, POLICY_DRIFT, &ACTIVE_ED), R_POLICY_DRIFT,
		       "drift when the drifted file could not even be parsed");
		expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &ACTIVE_ED), R_NO_POLICY,
		       "no policy object at all fails closed");
		pol = keep;
	}
	r.identity = "stranger";
	expect(run(&r, STRANGER, TWO), R_UNKNOWN_IDENTITY, "a requester the policy does not know");
	r = GOOD;
	expect(run(&r, ALICE, TWO), R_BAD_SIGNATURE,
	       "a request signed by another identity's key");
	expect(run(&r, STRANGER, TWO), R_BAD_SIGNATURE, "a request signed by an unknown key");
	r.scope = "device:evil";
	expect(run_full(&r, &GOOD, CI, NULL, POLICY_OK, &ACTIVE_ED), R_BAD_SIGNATURE,
	       "a body changed after signing (scope)");
	r = GOOD;
	expect(run(&r, CI, stranger), R_BAD_APPROVAL, "an approval by a key of no identity");
	ok(strstr(detail, "approval 2") != NULL, "the detail names which approval");
}

/* An approval made over another body, attached to this one. */
static void test_approval_over_other_body(void)
{
	struct req other = GOOD;
	struct wbuf text;
	struct envelope e;
	struct decision d;
	char why[160];

	other.scope = "device:x";
	wbuf_init(&text, 0);
	body_of(&GOOD, &text);
	sign(&GOOD, CI, NS_REQUEST, &text);
	sign(&GOOD, ALICE, NS_APPROVE, &text);
	sign(&other, BOB, NS_APPROVE, &text);
	if (envelope_parse(&e, (char *)text.p, text.len, 0, why, sizeof why) == ENF_OK) {
		expect(decide(&e, NULL, pol, POLICY_OK, &ACTIVE_ED, &d), R_BAD_APPROVAL,
		       "an approval made for another request");
		envelope_free(&e);
	} else {
		ok(0, "approval request parses: %s", why);
	}
	wbuf_free(&text);
}

static void test_evaluation(void)
{
	struct req r = GOOD;
	const struct key_facts none = { 0, 0, 0, NULL, 0 };
	const struct key_facts deact = { 1, ALG_ED25519, KS_DEACTIVATED, purposes_release, 1 };
	const struct key_facts destroyed = { 1, ALG_ED25519, KS_DESTROYED, purposes_release, 1 };
	const struct key_facts fw_only = { 1, ALG_ED25519, KS_ACTIVE, purposes_two + 1, 1 };

	r.rule = "nope";
	expect(run(&r, CI, TWO), R_UNKNOWN_RULE, "a rule the policy does not have");
	r.rule = "old";
	r.scope = "plain";
	expect(run(&r, CI, NULL), R_REVOKED_RULE, "a revoked rule");
	r = GOOD;
	r.key = "other-key";
	expect(run(&r, CI, TWO), R_RULE_KEY, "a key the rule does not grant");
	r = GOOD;
	r.identity = "alice";
	expect(run(&r, ALICE, TWO), R_RULE_IDENTITY, "an identity the rule does not name");
	r = GOOD;
	r.purpose = "firmware";
	expect(run(&r, CI, TWO), R_RULE_PURPOSE, "a purpose the rule does not grant");
	r = GOOD;
	r.scope = "artifact:tarballs";
	expect(run(&r, CI, TWO), R_SCOPE, "a scope the rule does not list");
	r.scope = "Device:x";
	expect(run(&r, CI, TWO), R_SCOPE, "a scope matched case-sensitively");
	r = GOOD;
	r.identity = "eve";
	r.rule = "r-eve";
	r.scope = "plain";
	expect(run(&r, EVE, NULL), R_REVOKED_IDENTITY, "a revoked requester");
	r = GOOD;
	r.key = "old-key";
	r.rule = "r-oldkey";
	r.scope = "plain";
	expect(run(&r, CI, NULL), R_REVOKED_KEY, "a revoked key");
	r = GOOD;
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &none), R_UNKNOWN_KEY,
	       "a key the keystore does not have");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, NULL), R_UNKNOWN_KEY,
	       "no key facts at all");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &deact), R_KEY_NOT_ACTIVE,
	       "a deactivated key");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &destroyed), R_KEY_NOT_ACTIVE,
	       "a destroyed key");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &fw_only), R_KEY_PURPOSE,
	       "a key created without the purpose");
}

static void test_approvals(void)
{
	const int one_[] = { ALICE, -1 };
	const int same_twice[] = { ALICE, ALICE, -1 };
	const int with_requester[] = { ALICE, CI, -1 };
	const int non_member[] = { ALICE, DAVE, -1 };
	const int revoked[] = { ALICE, EVE, -1 };
	const int three[] = { CAROL, ALICE, BOB, -1 };

	expect(run(&GOOD, CI, NULL), R_APPROVALS, "no approval where two are needed");
	expect(run(&GOOD, CI, one_), R_APPROVALS, "one approval where two are needed");
	ok(napproved == 1, "the decision counts the valid approvals");
	expect(run(&GOOD, CI, same_twice), R_APPROVALS, "one approver twice counts once");
	expect(run(&GOOD, CI, with_requester), R_APPROVALS,
	       "the requester's own approval does not count");
	expect(run(&GOOD, CI, non_member), R_APPROVALS,
	       "an identity outside the group does not count");
	expect(run(&GOOD, CI, revoked), R_APPROVALS, "a revoked approver does not count");
	expect(run(&GOOD, CI, TWO), R_PERMIT, "two distinct members approve");
	ok(strcmp(named, "alice, bob") == 0, "the decision names them: '%s'", named);
	ok(strstr(detail, "(2 approvals: alice, bob)") != NULL, "and so does its detail: %s",
	   detail);
	expect(run(&GOOD, CI, three), R_PERMIT, "more approvals than needed");
	ok(napproved == 3, "all distinct approvals are counted");
	ok(strcmp(named, "carol, alice, bob") == 0, "all are named, in request order: '%s'",
	   named);
}

/* Only the approvals that counted are named. */
static void test_approver_names(void)
{
	const int same_twice[] = { ALICE, ALICE, -1 };
	const int mixed[] = { CI, DAVE, EVE, ALICE, -1 };
	int many[16], n = 0;
	struct req r = GOOD;

	expect(run(&GOOD, CI, same_twice), R_APPROVALS, "one approver twice");
	ok(strcmp(named, "alice") == 0 && strstr(detail, "got 1 (alice)"),
	   "is named once: %s", detail);
	expect(run(&GOOD, CI, mixed), R_APPROVALS, "requester, non-member, revoked and alice");
	ok(strcmp(named, "alice") == 0, "only alice counted and is named: '%s'", named);
	r.scope = "plain";
	r.rule = "noapp";
	expect(run(&r, CI, NULL), R_PERMIT, "a rule without approvals");
	ok(named[0] == '\0' && strstr(detail, "no approval required"), "names no one: %s",
	   detail);
	many[n++] = ALICE;
	many[n++] = BOB;
	for (int k = LONG1; k <= LONG7; k++)
		many[n++] = k;
	many[n] = -1;
	expect(run(&GOOD, CI, many), R_PERMIT, "nine approvals");
	ok(napproved == 9, "all nine count");
	ok(strncmp(named, "alice, bob, " LONGNAME(1) ", ", strlen("alice, bob, " LONGNAME(1) ", ")) == 0 &&
	   strstr(named, " more") && strlen(detail) < sizeof detail - 1,
	   "names that do not fit are counted, not cut: '%s'", named);
	{
		unsigned shown = 1, more = 0;
		const char *m = strstr(named, ", and ");
		for (const char *c = named; m && c < m; c++)
			shown += *c == ',';
		ok(m && sscanf(m, ", and %u more", &more) == 1 && shown + more == 9,
		   "named (%u) and counted (%u) make nine", shown, more);
	}
}

static void test_raw_and_permit(void)
{
	struct req r = GOOD;
	const struct key_facts ec1 = { 1, ALG_ECDSA_P256, KS_ACTIVE, purposes_release, 1 };
	const struct key_facts ec2 = { 1, ALG_ECDSA_P256, KS_ACTIVE, purposes_two, 2 };
	const struct key_facts rsa1 = { 1, ALG_RSA3072, KS_ACTIVE, purposes_release, 1 };
	const struct key_facts ed2 = { 1, ALG_ED25519, KS_ACTIVE, purposes_two, 2 };

	r.format = FMT_RAW;
	expect(run(&r, CI, TWO), R_RAW_NOT_ALLOWED, "raw from an Ed25519 key");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &ec2), R_RAW_NOT_ALLOWED,
	       "raw from a key with two purposes");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &ec1), R_PERMIT,
	       "raw from a single-purpose ECDSA key");
	expect(run_full(&r, NULL, CI, TWO, POLICY_OK, &rsa1), R_PERMIT,
	       "raw from a single-purpose RSA key");
	expect(run_full(&GOOD, NULL, CI, TWO, POLICY_OK, &ed2), R_PERMIT,
	       "sshsig from a key with two purposes");
	r = GOOD;
	r.scope = "device:gw/1";
	expect(run(&r, CI, TWO), R_PERMIT, "a scope under a prefix pattern");
	r = GOOD;
	r.rule = "noapp";
	r.scope = "plain";
	expect(run(&r, CI, NULL), R_PERMIT, "a rule without approvals");
	ok(strstr(detail, "rule 'noapp' permits") != NULL, "the permit names its rule");
}

static void test_order(void)
{
	struct req r = GOOD;
	const struct key_facts none = { 0, 0, 0, NULL, 0 };

	r.rule = "nope";
	expect(run_full(&r, NULL, ALICE, NULL, POLICY_DRIFT, &none), R_POLICY_DRIFT,
	       "drift is found before a bad signature and an unknown rule");
	expect(run_full(&r, NULL, ALICE, NULL, POLICY_OK, &none), R_BAD_SIGNATURE,
	       "a bad signature is found before an unknown rule");
	r = GOOD;
	r.scope = "nowhere";
	expect(run_full(&r, NULL, CI, NULL, POLICY_OK, &none), R_SCOPE,
	       "the scope is checked before the key and the approvals");
	r = GOOD;
	r.format = FMT_RAW;
	expect(run_full(&r, NULL, CI, NULL, POLICY_OK, &ACTIVE_ED), R_APPROVALS,
	       "approvals are checked before the format");
}

static void test_determinism_and_codes(void)
{
	char first[sizeof detail];
	int a, b;

	a = run(&GOOD, CI, TWO);
	snprintf(first, sizeof first, "%s", detail);
	b = run(&GOOD, CI, TWO);
	ok(a == b && strcmp(first, detail) == 0, "the same input gives the same decision");
	ok(strcmp(reason_code(R_PERMIT), "permit") == 0 &&
	   strcmp(reason_code(R_MALFORMED), "malformed-request") == 0 &&
	   strcmp(reason_code(R_POLICY_DRIFT), "policy-drift") == 0 &&
	   strcmp(reason_code(R_APPROVALS), "insufficient-approvals") == 0 &&
	   strcmp(reason_code(R_RAW_NOT_ALLOWED), "raw-not-allowed") == 0,
	   "reason codes are the documented names");
	int distinct = 1;
	for (int i = 0; i < R__COUNT; i++)
		for (int j = 0; j < i; j++)
			if (!reason_code(i) || strcmp(reason_code(i), reason_code(j)) == 0)
				distinct = 0;
	ok(distinct, "every reason has its own code");
	ok(strcmp(reason_code(R__COUNT), "unknown-reason") == 0 &&
	   strcmp(reason_code(-1), "unknown-reason") == 0, "out-of-range reasons are named");
}

int main(void)
{
	crypto_init();
	setup();
	if (!pol) {
		ok(0, "setup");
		return done_testing();
	}
	test_structure_and_authenticity();
	test_approval_over_other_body();
	test_evaluation();
	test_approvals();
	test_approver_names();
	test_raw_and_permit();
	test_order();
	test_determinism_and_codes();
	policy_free(pol);
	for (int i = 0; i < NKEYS; i++)
		privkey_free(&keys[i]);
	return done_testing();
}
