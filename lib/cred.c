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

static int from_file(const char *path, struct secret *s)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
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

static int prompt_tty(int role, int confirm, const char *what, struct secret *s)
{
	struct secret again = { 0 };
	char prompt[128];
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), rc;

	if (tty < 0 && role == NEW_PASS)
		return enf_err(ENF_FAIL, "no %s: give %s FILE (there is no terminal to ask on)",
			       what, file_opt[role]);
	if (tty < 0)
		return enf_err(ENF_FAIL, "no %s: give %s FILE or set %s (there is no terminal to ask on)",
			       what, file_opt[role], file_env[role]);
	snprintf(prompt, sizeof prompt, "Enter %s", what);
	rc = from_tty(tty, prompt, s);
	if (rc == ENF_OK && confirm) {
		again.p = secure_alloc(PASSPHRASE_MAX + 1);
		snprintf(prompt, sizeof prompt, "Enter %s again", what);
		rc = again.p ? from_tty(tty, prompt, &again) : enf_err(ENF_FAIL, "out of secure memory");
		if (rc == ENF_OK && (again.n != s->n || !ct_equal(again.p, s->p, s->n)))
			rc = enf_err(ENF_FAIL, "the two passphrases differ");
		secret_free(&again);
	}
	close(tty);
	return rc;
}

static int read_cred(int role, const char *file, int confirm, const char *what,
		     struct secret *out)
{
	int rc;

	out->n = 0;
	out->p = secure_alloc(PASSPHRASE_MAX + 1);
	if (!out->p)
		return enf_err(ENF_FAIL, "out of secure memory");
	if ((!file || !*file) && file_env[role])
		file = getenv(file_env[role]);
	if (file && *file) {
		rc = from_file(file, out);
	} else {
		int lock = tty_lock();	/* parallel prompts take turns */
		rc = prompt_tty(role, confirm, what, out);
		tty_unlock(lock);
	}
	if (rc == ENF_OK && confirm && out->n < PASSPHRASE_MIN)
		rc = enf_err(ENF_FAIL, "the %s must be at least %d characters", what, PASSPHRASE_MIN);
	if (rc == ENF_OK && out->n == 0)
		rc = enf_err(ENF_FAIL, "empty %s", what);
	if (rc != ENF_OK)
		secret_free(out);
	return rc;
}

int cred_read(int role, const char *file, int confirm, const char *what, struct secret *out)
{
	return read_cred(role == ROLE_OFFICER ? ROLE_OFFICER : ROLE_OPERATOR, file, confirm, what, out);
}

int cred_read_new(const char *file, const char *what, struct secret *out)
{
	return read_cred(NEW_PASS, file, 1, what, out);
}
