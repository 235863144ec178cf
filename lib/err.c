/* Errors and messages: one recorded message, printed by main() as
 * "enf-xxx: message". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "enf.h"

/* Per thread: a helper thread's message must not replace the one its
 * caller is about to print (the caller says what the helper's failure
 * means). */
static _Thread_local char errbuf[512];
static const char *progname = "enf";
static int warned;	/* a message went to stderr */

int enf_err(int code, const char *fmt, ...)
{
	char msg[sizeof errbuf];
	va_list ap;

	/* Formatted aside, then copied: an argument may be the message being
	 * replaced, as in enf_err(rc, "%s: %s", path, enf_errmsg()). */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(errbuf, msg, sizeof errbuf);
	return code;
}

const char *enf_errmsg(void) { return errbuf; }
void enf_err_clear(void) { errbuf[0] = '\0'; }

void enf_setprogname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	progname = slash ? slash + 1 : argv0;
}

const char *enf_progname(void) { return progname; }

void enf_warn(const char *fmt, ...)
{
	va_list ap;

	warned = 1;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int enf_warned(void) { return warned; }

int enf_report(int code)
{
	if (code != ENF_OK && errbuf[0])
		enf_warn("%s", errbuf);
	return code;
}

int enf_valid_name(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];
		if (i >= ENF_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int name_index(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (list[i] && strcmp(list[i], s) == 0)
			return (int)i;
	return -1;
}

static const char *const state_names[] = { "active", "deactivated", "compromised", "destroyed" };
static const char *const role_names[] = { "officer", "operator" };

const char *key_state_name(int st) { return st >= 0 && st < 4 ? state_names[st] : "?"; }
int key_state_parse(const char *s) { return name_index(state_names, 4, s); }
const char *role_name(int r) { return r >= 0 && r < 2 ? role_names[r] : "?"; }
int role_parse(const char *s) { return name_index(role_names, 2, s); }
