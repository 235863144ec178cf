/* The lockout counts file: what it accepts, and that anything else stops
 * the unlock (ENF_FAIL) instead of reading as zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "lockout.h"
#include "tap.h"

#define ID "SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

static char path[128];

static int load_text(const char *dir, const char *text, struct lockout_counts *c)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	return lockout_load(dir, ID, c);
}

int main(void)
{
	char tmpl[] = "/tmp/enf-lockout-unit-XXXXXX", *dir = mkdtemp(tmpl), cmd[96];
	struct lockout_counts c = { { 7, 7 } }, back;
	static const char *const bad[] = {
		"",						/* empty */
		"enf-lockout 1\ninstance " ID "\nofficer 1\noperator 2",	/* no final newline */
		"enf-lockout 2\ninstance " ID "\nofficer 1\noperator 2\n",	/* another format */
		"enf-lockout 1\ninstance SHA256:other\nofficer 1\noperator 2\n", /* another instance */
		"enf-lockout 1\ninstance " ID "\noperator 2\nofficer 1\n",	/* reordered */
		"enf-lockout 1\ninstance " ID "\nofficer 1\n",			/* a role missing */
		"enf-lockout 1\ninstance " ID "\nofficer 1\noperator 2\nextra 3\n", /* a line more */
		"enf-lockout 1\ninstance " ID "\nofficer -1\noperator 2\n",	/* negative */
		"enf-lockout 1\ninstance " ID "\nofficer 4294967296\noperator 2\n", /* over u32 */
		"enf-lockout 1\ninstance " ID "\nofficer 1 \noperator 2\n",	/* trailing space */
		"enf-lockout 1\ninstance " ID "\nofficer  1\noperator 2\n",	/* two spaces */
		"enf-lockout 1\ninstance " ID "\nofficer 1x\noperator 2\n",	/* junk */
	};

	snprintf(path, sizeof path, "%s/" LOCKOUT_FILE, dir);
	ok(lockout_load(dir, ID, &back) == ENF_OK && back.n[0] == 0 && back.n[1] == 0,
	   "a missing file counts zero");
	ok(lockout_save(dir, ID, &c) == ENF_OK && lockout_load(dir, ID, &back) == ENF_OK &&
	   back.n[ROLE_OFFICER] == 7 && back.n[ROLE_OPERATOR] == 7, "saved counts read back");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		back.n[0] = back.n[1] = 0;
		ok(load_text(dir, bad[i], &back) == ENF_FAIL, "refused: bad file %zu (%s)", i,
		   enf_errmsg());
	}
	ok(load_text(dir, "enf-lockout 1\ninstance " ID "\nofficer 4294967295\noperator 0\n",
		     &back) == ENF_OK && back.n[ROLE_OFFICER] == 4294967295u,
	   "the largest count reads");
	chmod(path, 0640);
	ok(lockout_load(dir, ID, &back) == ENF_FAIL, "a file group can read is refused: %s",
	   enf_errmsg());
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "clean up");
	return done_testing();
}
