/* Sealing (SPEC "Sealing", enf-seal(1), the format in enf-seal(5)):
 * chunked AES-256-GCM bound to this instance's identity, its seal root and,
 * with BIND_HOST, its host.  Data of any size streams in constant memory.
 *
 * A sealed file is a header (names the instance it is bound to, a random
 * file id and the content key, wrapped either under a key derived from the
 * instance's seal root or, after a transfer, in a sealed box to the target
 * instance's X25519 key, the whole header then signed by the source
 * instance's identity key) followed by 64 KiB chunks, each sealed with a
 * counter nonce and associated data SHA-256(header) || index || final flag.
 * The last chunk is always shorter than 64 KiB (possibly empty) and marked
 * final, so truncation at any point, reordering and splicing all fail. */
#ifndef ENF_SEAL_H
#define ENF_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include "io.h"
#include "keystore.h"

#define SEAL_MAGIC "ENFSEAL"
#define SEAL_MAGIC_LEN 7
#define SEAL_VERSION 1
#define SEAL_CHUNK 65536u
#define SEAL_ID_LEN 32			/* SHA-256 of the identity key blob */
#define SEAL_FIXED_LEN 78		/* magic .. file id */
#define SEAL_WRAP_LEN (32 + AEAD_TAG)
#define SEAL_BOX_LEN (32 + SEALBOX_OVERHEAD)
#define SEAL_SOURCE_KEY_LEN 32		/* the source's Ed25519 identity key */
#define SEAL_SIG_LEN 64			/* Ed25519 signature by that key */
#define SEAL_HDR_LOCAL (SEAL_FIXED_LEN + SEAL_WRAP_LEN)			/* 126 */
#define SEAL_HDR_TRANSFER (SEAL_FIXED_LEN + SEAL_SOURCE_KEY_LEN + SEAL_BOX_LEN + \
			   SEAL_SIG_LEN)					/* 254 */
#define SEAL_HDR_MAX SEAL_HDR_TRANSFER
#define SEAL_MAX_CHUNKS ((uint64_t)1 << 32)	/* 256 TiB */
#define SEAL_FLAG_HOST 0x01
#define SEAL_TRANSFER_LABEL "enf transfer"
/* What the source signs: this label, its NUL, then header bytes 0..189. */
#define SEAL_TRANSFER_SIG_LABEL "enf-seal v1 transfer"
/* "SHA256:" + 43 characters of unpadded base64 + NUL. */
#define SEAL_ID_STR 51

/* Kind 2, enf 0.1.0's unsigned transfer, is refused: anyone with the two
 * public identity files could make one naming any source. */
enum seal_kind { SEAL_LOCAL = 1, SEAL_TRANSFERRED_UNSIGNED = 2, SEAL_TRANSFERRED = 3 };

/* A parsed header: raw holds its exact bytes (hashed into every chunk). */
struct seal_header {
	int version, kind;
	unsigned flags;
	uint32_t chunk;
	unsigned char instance[SEAL_ID_LEN];	/* bound to */
	unsigned char file_id[32];
	unsigned char source[SEAL_ID_LEN];	/* transferred from (kind 3): the id
						 * of the key whose signature the
						 * header carries, checked on read */
	unsigned char raw[SEAL_HDR_MAX];
	size_t rawlen;
};

/* What this instance brings to sealing.  Lives in secure memory. */
struct seal_self {
	unsigned char id[SEAL_ID_LEN];
	unsigned char root[SEAL_ROOT_LEN];
	int bind_host;
	unsigned char host[32];			/* machine digest when bind_host */
	int have_x25519;
	unsigned char x25519_sk[X25519_LEN];
	/* The identity key whose id is `id`, borrowed from the unlocked
	 * keystore (not owned): signs transfers.  NULL: cannot transfer. */
	const struct privkey *identity;
};

/* Another instance, from its public identity file (enf-keygen instance). */
struct seal_peer {
	unsigned char id[SEAL_ID_LEN];
	unsigned char x25519_pk[X25519_LEN];
};

/* How an operation ended, for its audit record: passed in by the caller
 * (results travel through parameters, never through file statics).
 * reason: the short stable code of a failure ("not-authentic",
 * "truncated", "io-error", ...), NULL while none was given;
 * released: the plaintext bytes an open wrote out, each chunk authenticated. */
struct seal_status {
	const char *reason;
	uint64_t released;
};
void seal_status_init(struct seal_status *st);
/* The audit reason of an operation that returned rc: "ok" on success, the
 * recorded reason, or "internal" when none was (out of memory and the like). */
const char *seal_status_reason(const struct seal_status *st, int rc);

/* The unlocked keystore's sealing material; BIND_HOST reads /etc/machine-id
 * (ENF_FAIL, "host-unavailable", when it is missing or malformed).  st may be
 * NULL.  Free with seal_self_free. */
int seal_self_load(struct keystore *ks, struct seal_self **out, struct seal_status *st);
/* From raw parts (seal_self_load, and tests): host_id is the machine-id text or NULL;
 * x25519_sk may be NULL. */
int seal_self_new(const unsigned char id[SEAL_ID_LEN], const unsigned char root[SEAL_ROOT_LEN],
		  const char *host_id, const unsigned char *x25519_sk, struct seal_self **out);
void seal_self_free(struct seal_self *me);
/* The host digest of a machine-id file's text: exactly 32 lowercase hex
 * digits and an optional newline, else ENF_FAIL. */
int seal_host_digest(const char *text, size_t n, unsigned char out[32]);

/* Parse an instance's public identity file: the OpenSSH line of its Ed25519
 * identity key, then "enf-x25519 BASE64".  ENF_NO when malformed. */
int seal_peer_parse(const char *text, size_t n, struct seal_peer *p);
/* Read and parse the identity file at path (at most SEAL_PEER_MAX bytes);
 * errors name the path.  text (if not NULL) gets the file's text, which the
 * caller frees: enf-seal hands it to the agent, which parses it again. */
#define SEAL_PEER_MAX (64u * 1024u)
int seal_peer_read(const char *path, struct seal_peer *p, unsigned char **text, size_t *n);

/* "SHA256:..." as ssh-keygen -l and ks_instance_id print it. */
void seal_id_string(const unsigned char id[SEAL_ID_LEN], char out[SEAL_ID_STR]);

/* Read and check a header from fd (consumes exactly its bytes).  ENF_NO:
 * not a sealed file, unsupported version, malformed, a transferred header
 * whose source signature does not verify; ENF_FAIL: I/O.  Needs no secret:
 * a transferred header's source is authenticated here, for info too. */
int seal_read_header(int fd, struct seal_header *h);

/* Stream operations.  in: a readable fd; out: an atomic_open()ed file (also
 * stdout), written but neither committed nor aborted here.
 * seal_encrypt: seal in for this instance;
 *   made (when not NULL) receives the header written.
 * seal_decrypt: open a file sealed to, or transferred to, this instance;
 *   ENF_NO "sealed to another instance" before any decryption when the
 *   header names another instance; ENF_NO when anything does not
 *   authenticate.  Only authenticated chunks reach out.  h receives the
 *   header (valid when it could be read, h->rawlen != 0).
 * seal_decrypt_from: the same, and when `source` is not NULL the file must
 *   have been transferred from the instance of that id (ENF_NO
 *   "unexpected-source" before any decryption otherwise).
 * seal_reencrypt: open as seal_decrypt and seal each authenticated chunk
 *   anew for `to`, under a header signed with me->identity; the final
 *   chunk is written only when the input's final chunk authenticates, so
 *   an aborted transfer never opens. */
int seal_encrypt(const struct seal_self *me, int in, struct atomic_file *out,
		 struct seal_header *made /* or NULL */);
int seal_decrypt(const struct seal_self *me, int in, struct atomic_file *out,
		 struct seal_header *h);
int seal_decrypt_from(const struct seal_self *me, const unsigned char *source, int in,
		      struct atomic_file *out, struct seal_header *h);
int seal_reencrypt(const struct seal_self *me, const struct seal_peer *to, int in,
		   struct atomic_file *out, struct seal_header *h,
		   struct seal_header *made /* or NULL */);
/* The same three with a status (st may be NULL; see struct seal_status). */
int seal_stream_seal(const struct seal_self *me, int in, struct atomic_file *out,
		     struct seal_header *made, struct seal_status *st);
int seal_stream_open(const struct seal_self *me, const unsigned char *source, int in,
		     struct atomic_file *out, struct seal_header *h, struct seal_status *st);
int seal_stream_transfer(const struct seal_self *me, const struct seal_peer *to, int in,
			 struct atomic_file *out, struct seal_header *h,
			 struct seal_header *made, struct seal_status *st);

/* The text enf-seal info prints. */
int seal_info_text(const struct seal_header *h, struct wbuf *out);

#endif
