/* The key list (keylist.h). */
#include <string.h>
#include <time.h>
#include "encode.h"
#include "enf.h"
#include "keyfmt.h"
#include "keylist.h"

/* The form the text list and the audit log use. */
static void iso8601(int64_t secs, char when[32])
{
	time_t t = (time_t)secs;
	struct tm tm;

	strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

/* "keystore", or the token and the object's id. */
static void backend_json(struct wbuf *w, const struct ks_key *k)
{
	if (!k->token[0]) {
		wbuf_printf(w, "\"keystore\"");
		return;
	}
	wbuf_printf(w, "{\"token\":");
	json_string(w, k->token, strlen(k->token));
	wbuf_printf(w, ",\"id\":\"");
	hex_encode(w, k->id, k->idlen);
	wbuf_printf(w, "\"}");
}

static void line_json(const struct ks_key *k, const char *fp, const char *when, struct wbuf *w)
{
	wbuf_printf(w, "{\"name\":");
	json_string(w, k->name, strlen(k->name));
	wbuf_printf(w, ",\"algorithm\":\"%s\",\"state\":\"%s\",\"purposes\":[",
		    alg_name(k->alg), key_state_name(k->state));
	for (size_t j = 0; j < k->npurposes; j++) {
		if (j)
			wbuf_put(w, ",", 1);
		json_string(w, k->purposes[j], strlen(k->purposes[j]));
	}
	wbuf_printf(w, "],\"fingerprint\":\"%s\",\"created\":\"%s\",\"backend\":", fp, when);
	backend_json(w, k);
	wbuf_printf(w, "}\n");
}

static void line_text(const struct ks_key *k, const char *fp, const char *when, struct wbuf *w)
{
	wbuf_printf(w, "%-24s %-11s %-12s %s %s ", k->name, alg_name(k->alg),
		    key_state_name(k->state), when, fp);
	for (size_t j = 0; j < k->npurposes; j++)
		wbuf_printf(w, "%s%s", j ? "," : "", k->purposes[j]);
	wbuf_printf(w, " %s%s\n", k->token[0] ? "token:" : "keystore", k->token);
}

int keylist_line(const struct ks_key *k, int json, struct wbuf *out)
{
	char fp[FINGERPRINT_MAX], when[32];

	pubkey_fingerprint(&k->pub, fp);
	iso8601(k->created, when);
	(json ? line_json : line_text)(k, fp, when, out);
	return out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

int keylist_print(const struct keystore *ks, int json, FILE *f)
{
	struct wbuf w;
	int rc = ENF_OK;

	for (size_t i = 0; i < ks_key_count(ks) && rc == ENF_OK; i++) {
		wbuf_init(&w, 0);
		if ((rc = keylist_line(ks_key_at(ks, i), json, &w)) == ENF_OK)
			fwrite(w.p, 1, w.len, f);
		wbuf_free(&w);
	}
	return rc;
}
