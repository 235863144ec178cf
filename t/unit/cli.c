/* Unit tests for lib/cli.c: the verb lookup every main dispatches with, the
 * one meaning of "stdin", the one wording of a lost stdout. */
#include <errno.h>
#include <string.h>
#include "cli.h"
#include "enf.h"
#include "tap.h"

struct verb {
	const char *name;
	int arg;
};

static const struct verb verbs[] = { { "show", 1 }, { "check", 2 }, { "install", 3 } };

static void test_verb_find(void)
{
	char *show[] = { "show", NULL }, *last[] = { "install", "x" }, *bad[] = { "sho" };
	char *none[] = { NULL };
	const struct verb *v;

	v = CLI_VERB(verbs, 1, show);
	ok(v == &verbs[0], "finds the first verb");
	v = CLI_VERB(verbs, 2, last);
	ok(v == &verbs[2] && v->arg == 3, "finds the last verb, with its own fields");
	enf_err_clear();
	ok(CLI_VERB(verbs, 1, bad) == NULL, "a prefix is not a verb");
	ok(strcmp(enf_errmsg(), "unknown command \"sho\"") == 0, "names the unknown command");
	ok(CLI_VERB(verbs, 0, none) == NULL, "no command");
	ok(strcmp(enf_errmsg(), "no command (show, check, install)") == 0,
	   "lists the verbs when none is given");
}

static void test_is_stdin(void)
{
	ok(cli_is_stdin(NULL) && cli_is_stdin("-"), "NULL and - are stdin");
	ok(!cli_is_stdin("./-") && !cli_is_stdin("") && !cli_is_stdin("--"), "nothing else is");
}

static void test_stdout_error(void)
{
	ok(cli_stdout_error(0) == ENF_FAIL, "a lost stdout cannot proceed");
	ok(strcmp(enf_errmsg(), "cannot write standard output") == 0, "one wording");
	cli_stdout_error(ENOSPC);
	ok(strcmp(enf_errmsg(), "cannot write standard output: No space left on device") == 0,
	   "with the reason when there is one");
}

int main(void)
{
	test_verb_find();
	test_is_stdin();
	test_stdout_error();
	return done_testing();
}
