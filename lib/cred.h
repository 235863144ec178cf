/* Credentials: passphrases from --passphrase-file / $ENF_PASSPHRASE_FILE
 * (operator), --officer-passphrase-file / $ENF_OFFICER_PASSPHRASE_FILE
 * (officer), else the terminal with echo off.  Never argv. */
#ifndef ENF_CRED_H
#define ENF_CRED_H

#include <stddef.h>

struct secret {
	unsigned char *p;	/* secure memory */
	size_t n;
};

#define PASSPHRASE_MAX 1024

/* file: the option's value or NULL (then the role's environment variable,
 * then /dev/tty).  confirm: a passphrase being set: at least 8 characters,
 * asked twice on a terminal, and asked again (up to 3 times) when it is too
 * short or the two entries differ.
 * prompt_what: e.g. "officer passphrase" / "new operator passphrase".
 * ENF_FAIL with a message that names both ways when there is neither. */
int cred_read(int role, const char *file, int confirm, const char *prompt_what,
	      struct secret *out);
/* A passphrase being set: --new-passphrase-file FILE (no environment
 * variable), else the terminal, asked twice; at least 8 characters. */
int cred_read_new(const char *file, const char *what, struct secret *out);
/* A role's passphrase being set (confirm) that must differ from the other
 * role's, told right after it is typed (init). */
int cred_read_distinct(int role, const char *file, const char *what, const struct secret *other,
		       struct secret *out);
/* A secret that is not a role's passphrase (a token PIN): one line of
 * file, which must be private; source names the option in messages. */
int cred_read_file(const char *file, const char *source, const char *what, struct secret *out);
void secret_free(struct secret *s);

#endif
