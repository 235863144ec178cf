/* Unit tests for lib/keylist.c: the exact text and JSON lines of
 * enf-keygen list, for a keystore key and for a destroyed token key (the
 * JSON shape t/keygen.bats and t/token.bats read with jq). */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "crypto.h"
#include "enf.h"
#include "keyfmt.h"
#include "keylist.h"
#include "key-fixtures.h"

static char release[] = "release", ci[] = "ci";

static void make_key(struct ks_key *k, const char *name, int state, const char *token)
{
	unsigned char blob[512];
	size_t n = unhex(blob, ossh[0].blob);

	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "%s", name);
	k->alg = ALG_ED25519;
	k->state = state;
	k->purposes[0] = release;
	k->purposes[1] = ci;
	k->npurposes = 2;
	k->created = 1700000000;	/* 2023-11-14T22:13:20Z */
	ok(pubkey_from_blob(&k->pub, blob, n) == ENF_OK, "%s: the fixture key", name);
	snprintf(k->token, sizeof k->token, "%s", token);
	if (token[0]) {
		memcpy(k->id, "\x01\xab", 2);
		k->idlen = 2;
	}
}

static void expect(const struct ks_key *k, int json, const char *want, const char *what)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	rc = keylist_line(k, json, &w);
	wbuf_cstr_terminate(&w);
	ok(rc == ENF_OK && strcmp((char *)w.p, want) == 0, "%s", what);
	if (rc != ENF_OK || strcmp((char *)w.p, want) != 0)
		printf("# got  %s# want %s", (char *)w.p, want);
	wbuf_free(&w);
}

int main(void)
{
	struct ks_key plain, tok;
	char fp[FINGERPRINT_MAX], want[1024];

	ok(crypto_init() == ENF_OK, "crypto_init");
	make_key(&plain, "k1", KS_ACTIVE, "");
	make_key(&tok, "t1", KS_DESTROYED, "hsm");
	pubkey_fingerprint(&plain.pub, fp);

	snprintf(want, sizeof want, "%-24s %-11s %-12s 2023-11-14T22:13:20Z %s release,ci keystore\n",
		 "k1", "ed25519", "active", fp);
	expect(&plain, 0, want, "text, keystore key");
	snprintf(want, sizeof want, "%-24s %-11s %-12s 2023-11-14T22:13:20Z %s release,ci token:hsm\n",
		 "t1", "ed25519", "destroyed", fp);
	expect(&tok, 0, want, "text, destroyed token key");

	snprintf(want, sizeof want, "{\"name\":\"k1\",\"algorithm\":\"ed25519\",\"state\":\"active\","
		 "\"purposes\":[\"release\",\"ci\"],\"fingerprint\":\"%s\","
		 "\"created\":\"2023-11-14T22:13:20Z\",\"backend\":\"keystore\"}\n", fp);
	expect(&plain, 1, want, "JSON, keystore key");
	snprintf(want, sizeof want, "{\"name\":\"t1\",\"algorithm\":\"ed25519\",\"state\":\"destroyed\","
		 "\"purposes\":[\"release\",\"ci\"],\"fingerprint\":\"%s\","
		 "\"created\":\"2023-11-14T22:13:20Z\",\"backend\":{\"token\":\"hsm\",\"id\":\"01ab\"}}\n",
		 fp);
	expect(&tok, 1, want, "JSON, destroyed token key");

	pubkey_free(&plain.pub);
	pubkey_free(&tok.pub);
	return done_testing();
}
