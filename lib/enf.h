/* enf — the library's public face: status codes, errors, names, states. */
#ifndef ENF_H
#define ENF_H

#include <stddef.h>
#include <stdint.h>

#define ENF_VERSION "0.1.0"

/* Every library function that can fail returns one of these; they are also
 * the programs' exit codes (SPEC, "Conventions"). */
enum enf_status {
	ENF_OK = 0,	/* yes / done */
	ENF_NO = 1,	/* no: denied, invalid, tampered, not this instance */
	ENF_USAGE = 2,	/* usage error */
	ENF_FAIL = 3,	/* cannot proceed: I/O, unsafe files, bad credential */
};

/* Record a message for the caller to print and return `code`.  The message
 * must never hold secrets.  The last message wins; it may be built from the
 * one before: enf_err(rc, "%s: %s", path, enf_errmsg()). */
int enf_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *enf_errmsg(void);
void enf_err_clear(void);

/* Program name for messages ("enf-keygen"); set once by main(). */
void enf_setprogname(const char *argv0);
const char *enf_progname(void);
/* "prog: message" on stderr. */
void enf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether enf_warn has printed anything yet. */
int enf_warned(void);
/* Print the recorded message (if code != 0 and one is set) and return code. */
int enf_report(int code);

/* NAME and PURPOSE syntax: [a-z0-9][a-z0-9._-]{0,63}. */
#define ENF_NAME_MAX 64
int enf_valid_name(const char *s);
/* The index of s in list[0..n), or -1. */
int name_index(const char *const *list, size_t n, const char *s);

/* Key life cycle (NIST SP 800-57), forward only. */
enum key_state { KS_ACTIVE = 0, KS_DEACTIVATED, KS_COMPROMISED, KS_DESTROYED };
const char *key_state_name(int state);
int key_state_parse(const char *s);	/* -1 if unknown */

/* Roles. */
enum role { ROLE_OFFICER = 0, ROLE_OPERATOR = 1 };
const char *role_name(int role);
int role_parse(const char *s);		/* -1 if unknown */

#endif
