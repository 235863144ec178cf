/* One token session (inside lib: token.c signs with it in process, the
 * broker in token_broker.c for the agent's connection processes). */
#ifndef ENF_TOKEN_SESSION_H
#define ENF_TOKEN_SESSION_H

#include <stddef.h>
#include "buf.h"
#include "cred.h"
#include "keystore.h"

/* One signature a token key is asked for: where the key is, what the
 * keystore says it is, and the bytes the mechanism signs (Ed25519: the
 * data; RSA: a DigestInfo). */
struct token_req {
	const struct ks_token *def;
	const struct secret *pin;
	int alg;
	const unsigned char *id;
	size_t idlen;
	const unsigned char *blob;	/* the keystore's public key (SSH blob) */
	size_t bloblen;
	const unsigned char *msg;
	size_t n;
};

#define TOKEN_FOUND_MAX 16

struct token_found {
	int alg;
	unsigned char id[KS_TOKEN_ID_MAX];
	size_t idlen;
	unsigned char *blob;
	size_t bloblen;
	unsigned long handle;
};

struct token_session {
	struct ks_token def;
	struct p11 *t;
	int failed;		/* open or login failed: never tried again */
	char why[512];
	struct token_found found[TOKEN_FOUND_MAX];
	size_t nfound;
};

void token_session_init(struct token_session *ts, const struct ks_token *def);
int token_session_is(const struct token_session *ts, const struct ks_token *def);
/* Open and log in (once), find the key (once; it must hold r->blob), sign
 * r->msg: the raw signature bytes the mechanism returns into sig. */
int token_session_sign(struct token_session *ts, const struct token_req *r, struct wbuf *sig);
void token_session_close(struct token_session *ts);

/* An object id as the officer gives it (lowercase hex). */
void token_id_hex(const unsigned char *id, size_t n, char *out, size_t outlen);

/* The broker's client side (token_broker.c): 1 when this process signs
 * through a broker. */
int token_broker_active(void);
int token_broker_sign(const struct token_req *r, struct wbuf *sig);

#endif
