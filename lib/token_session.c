/* A token session (token_session.h): open and log in once, find each key
 * once and check it is the key the keystore holds, sign. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "p11.h"
#include "token_session.h"

void token_session_init(struct token_session *ts, const struct ks_token *def)
{
	memset(ts, 0, sizeof *ts);
	ts->def = *def;
}

int token_session_is(const struct token_session *ts, const struct ks_token *def)
{
	return strcmp(ts->def.module, def->module) == 0 && strcmp(ts->def.label, def->label) == 0 &&
	       strcmp(ts->def.serial, def->serial) == 0 && ts->def.timeout_ms == def->timeout_ms;
}

/* A failure that must not be tried again: remembered, and the message
 * given for every later request. */
static int give_up(struct token_session *ts)
{
	ts->failed = 1;
	snprintf(ts->why, sizeof ts->why, "%s", enf_errmsg());
	return ENF_FAIL;
}

static int session_open(struct token_session *ts, const struct secret *pin)
{
	const struct ks_token *d = &ts->def;

	if (ts->failed)
		return enf_err(ENF_FAIL, "%s", ts->why);
	if (ts->t)
		return ENF_OK;
	if (p11_open(d->module, d->label, d->serial[0] ? d->serial : NULL, d->timeout_ms,
		     &ts->t) != ENF_OK)
		return give_up(ts);
	/* Once: a real HSM may lock or wipe itself after wrong PINs. */
	if (p11_login(ts->t, pin) != ENF_OK)
		return give_up(ts);
	return ENF_OK;
}

static struct token_found *lookup(struct token_session *ts, const struct token_req *r)
{
	for (size_t i = 0; i < ts->nfound; i++) {
		struct token_found *f = &ts->found[i];
		if (f->alg == r->alg && f->idlen == r->idlen && memcmp(f->id, r->id, r->idlen) == 0 &&
		    f->bloblen == r->bloblen && memcmp(f->blob, r->blob, r->bloblen) == 0)
			return f;
	}
	return NULL;
}

static void forget(struct token_session *ts, struct token_found *f)
{
	free(f->blob);
	*f = ts->found[--ts->nfound];
}

void token_id_hex(const unsigned char *id, size_t n, char *out, size_t outlen)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	hex_encode(&w, id, n);
	wbuf_cstr_terminate(&w);
	snprintf(out, outlen, "%s", w.failed ? "?" : (char *)w.p);
	wbuf_free(&w);
}

/* The object with the key's id must hold the public key the keystore
 * holds: one swapped behind enf's back is refused, not used. */
static int find(struct token_session *ts, const struct token_req *r, unsigned long *handle)
{
	struct token_found *f = lookup(ts, r);
	struct pubkey pub = { 0 };
	char id[2 * KS_TOKEN_ID_MAX + 1];
	int same;

	if (f) {
		*handle = f->handle;
		return ENF_OK;
	}
	if (p11_find(ts->t, r->alg, r->id, r->idlen, handle, &pub) != ENF_OK)
		return ENF_FAIL;
	same = pub.bloblen == r->bloblen && memcmp(pub.blob, r->blob, r->bloblen) == 0;
	pubkey_free(&pub);
	if (!same) {
		token_id_hex(r->id, r->idlen, id, sizeof id);
		return enf_err(ENF_FAIL, "token object %s holds another key than the keystore "
			       "records (replaced behind enf's back)", id);
	}
	if (ts->nfound < TOKEN_FOUND_MAX && (ts->found[ts->nfound].blob = malloc(r->bloblen))) {
		f = &ts->found[ts->nfound++];
		f->alg = r->alg;
		memcpy(f->id, r->id, r->idlen);
		f->idlen = r->idlen;
		memcpy(f->blob, r->blob, r->bloblen);
		f->bloblen = r->bloblen;
		f->handle = *handle;
	}
	return ENF_OK;
}

int token_session_sign(struct token_session *ts, const struct token_req *r, struct wbuf *sig)
{
	unsigned long handle;
	struct token_found *f;

	if (session_open(ts, r->pin) != ENF_OK || find(ts, r, &handle) != ENF_OK)
		return ENF_FAIL;
	if (p11_sign(ts->t, handle, r->alg, r->msg, r->n, sig) == ENF_OK)
		return ENF_OK;
	/* The object may have gone: find it again next time. */
	if ((f = lookup(ts, r)))
		forget(ts, f);
	return ENF_FAIL;
}

void token_session_close(struct token_session *ts)
{
	while (ts->nfound)
		forget(ts, &ts->found[0]);
	if (ts->t)
		p11_close(ts->t);
	ts->t = NULL;
}
