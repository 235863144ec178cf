/* Passphrases: from a file (first line), else the terminal with echo off.
 * The bytes live in secure memory only, and are wiped on free. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "cred.h"
#include "crypto.h"
#include "enf.h"
#include "io.h"
#include "ttylock.h"

#define PASSPHRASE_MIN 8

/* Indexed by role; the last entry is a new passphrase, which has no
 * environment variable so that it can never be the old one by accident. */
#define NEW_PASS 2
static const char *const file_opt[] = { "--officer-passphrase-file", "--passphrase-file",
					"--new-passphrase-file" };
static const char *const file_env[] = { "ENF_OFFICER_PASSPHRASE_FILE", "ENF_PASSPHRASE_FILE",
					NULL };

void secret_free(struct secret *s)
{
	secure_free(s->p, PASSPHRASE_MAX + 1);
	s->p = NULL;
	s->n = 0;
}

/* Reads one line (without its newline) from fd into s; the rest of the
 * input is ignored. */
static int read_line(int fd, struct secret *s, const char *name)
{
	unsigned char c;
	ssize_t r;

	s->n = 0;
	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return enf_err(ENF_FAIL, "%s: %s", name, strerror(errno));
		if (r == 0 || c == '\n')
			break;
		if (s->n == PASSPHRASE_MAX)
			return enf_err(ENF_FAIL, "%s: passphrase longer than %d bytes", name,
				       PASSPHRASE_MAX);
		s->p[s->n++] = c;
	}
	if (s->n > 0 && s->p[s->n - 1] == '\r')
		s->n--;
	c = 0;
	return ENF_OK;
}

/* source names where the path came from ("$ENF_PASSPHRASE_FILE",
 * "--passphrase-file"), so that a stale variable is found at once. */
static int from_file(const char *path, const char *source, struct secret *s)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return enf_err(ENF_FAIL, "%s %s: %s", source, path, strerror(errno));
	/* A passphrase others can read is no secret: refuse it, as ssh does
	 * for private keys.  Pipes (<(...)) are fine. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return enf_err(ENF_FAIL, "%s: group or others can read this passphrase file; "
			       "it must be private (chmod go= %s)", path, path);
	}
	rc = read_line(fd, s, path);
	close(fd);
	return rc;
}

static int from_tty(int tty, const char *prompt, struct secret *s)
{
	struct termios old, quiet;
	int rc;

	if (tcgetattr(tty, &old) < 0)
		return enf_err(ENF_FAIL, "terminal: %s", strerror(errno));
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (dprintf(tty, "%s: ", prompt) < 0 || tcsetattr(tty, TCSAFLUSH, &quiet) < 0)
		return enf_err(ENF_FAIL, "terminal: %s", strerror(errno));
	rc = read_line(tty, s, "terminal");
	tcsetattr(tty, TCSAFLUSH, &old);
	dprintf(tty, "\n");
	return rc;
}

/* What a passphrase being set must satisfy; why receives the rule it
 * breaks.  other: a passphrase it must differ from, or NULL. */
static int acceptable(const struct secret *s, const char *what, const struct secret *other,
		      char *why, size_t n)
{
	if (s->n < PASSPHRASE_MIN)
		snprintf(why, n, "the %s must be at least %d characters", what, PASSPHRASE_MIN);
	else if (other && other->n == s->n && ct_equal(other->p, s->p, s->n))
		snprintf(why, n, "the officer and operator passphrases must differ");
	else
		return 1;
	return 0;
}

/* A passphrase being set, on the terminal: each rule is told right after
 * the first entry, and a mistake (too short, equal to the other role's, a
 * confirmation that differs) asks again, up to SET_TRIES times. */
#define SET_TRIES 3
static int prompt_new(int tty, const char *what, const struct secret *other, struct secret *s)
{
	struct secret again = { 0 };
	char prompt[128], why[128] = "";
	int rc = ENF_OK;

	if (!(again.p = secure_alloc(PASSPHRASE_MAX + 1)))
		return enf_err(ENF_FAIL, "out of secure memory");
	for (int i = 0; i < SET_TRIES; i++) {
		snprintf(prompt, sizeof prompt, "Enter %s", what);
		if ((rc = from_tty(tty, prompt, s)) != ENF_OK)
			break;
		if (!acceptable(s, what, other, why, sizeof why)) {
			dprintf(tty, "%s: %s\n", enf_progname(), why);
			continue;
		}
		snprintf(prompt, sizeof prompt, "Enter %s again", what);
		if ((rc = from_tty(tty, prompt, &again)) != ENF_OK)
			break;
		if (again.n == s->n && ct_equal(again.p, s->p, s->n)) {
			secret_free(&again);
			return ENF_OK;
		}
		snprintf(why, sizeof why, "the two entries differ");
		dprintf(tty, "%s: %s; enter it again\n", enf_progname(), why);
	}
	secret_free(&again);
	return rc != ENF_OK ? rc : enf_err(ENF_FAIL, "%s not set after %d tries: %s", what,
					   SET_TRIES, why);
}

static int prompt_tty(int role, int confirm, const char *what, const struct secret *other,
		      struct secret *s)
{
	char prompt[128];
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), rc;

	if (tty < 0 && role == NEW_PASS)
		return enf_err(ENF_FAIL, "no %s: give %s FILE (there is no terminal to ask on)",
			       what, file_opt[role]);
	if (tty < 0)
		return enf_err(ENF_FAIL, "no %s: give %s FILE or set %s (there is no terminal to ask on)",
			       what, file_opt[role], file_env[role]);
	snprintf(prompt, sizeof prompt, "Enter %s", what);
	rc = confirm ? prompt_new(tty, what, other, s) : from_tty(tty, prompt, s);
	close(tty);
	return rc;
}

static int read_cred(int role, const char *file, int confirm, const char *what,
		     const struct secret *other, struct secret *out)
{
	char source[64], why[128];
	int rc;

	out->n = 0;
	out->p = secure_alloc(PASSPHRASE_MAX + 1);
	if (!out->p)
		return enf_err(ENF_FAIL, "out of secure memory");
	snprintf(source, sizeof source, "%s", file_opt[role]);
	if ((!file || !*file) && file_env[role] && (file = getenv(file_env[role])))
		snprintf(source, sizeof source, "$%s", file_env[role]);
	if (file && *file) {
		rc = from_file(file, source, out);
		/* A file cannot be asked again: its mistake ends the command. */
		if (rc == ENF_OK && confirm && !acceptable(out, what, other, why, sizeof why))
			rc = enf_err(ENF_FAIL, "%s", why);
	} else {
		int lock = tty_lock();	/* parallel prompts take turns */

		rc = prompt_tty(role, confirm, what, other, out);
		tty_unlock(lock);
	}
	if (rc == ENF_OK && out->n == 0)
		rc = enf_err(ENF_FAIL, "empty %s", what);
	if (rc != ENF_OK)
		secret_free(out);
	return rc;
}

int cred_read(int role, const char *file, int confirm, const char *what, struct secret *out)
{
	return read_cred(role == ROLE_OFFICER ? ROLE_OFFICER : ROLE_OPERATOR, file, confirm, what,
			 NULL, out);
}

int cred_read_new(const char *file, const char *what, struct secret *out)
{
	return read_cred(NEW_PASS, file, 1, what, NULL, out);
}

int cred_read_distinct(int role, const char *file, const char *what, const struct secret *other,
		       struct secret *out)
{
	return read_cred(role == ROLE_OFFICER ? ROLE_OFFICER : ROLE_OPERATOR, file, 1, what,
			 other, out);
}

int cred_read_file(const char *file, const char *source, const char *what, struct secret *out)
{
	int rc;

	out->n = 0;
	if (!(out->p = secure_alloc(PASSPHRASE_MAX + 1)))
		return enf_err(ENF_FAIL, "out of secure memory");
	rc = from_file(file, source, out);
	if (rc == ENF_OK && out->n == 0)
		rc = enf_err(ENF_FAIL, "empty %s", what);
	if (rc != ENF_OK)
		secret_free(out);
	return rc;
}
