/* spawn.c: a helper program with a pipe each way, whatever the sizes. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "enf.h"
#include "spawn.h"

int main(void)
{
	enum { BIG = 4 * 1024 * 1024 };	/* far more than a pipe holds */
	char *cat[] = { "cat", NULL };
	char *fail[] = { "sh", "-c", "cat >/dev/null; exit 7", NULL };
	char *none[] = { "/nonexistent/enf-no-such-program", NULL };
	char *deaf[] = { "true", NULL };
	unsigned char *in = malloc(BIG);
	struct wbuf out;
	int status = -1;

	signal(SIGPIPE, SIG_IGN);	/* as every enf program does */
	enf_setprogname("spawn-test");
	for (size_t i = 0; i < BIG; i++)
		in[i] = (unsigned char)(i * 31 + 7);

	/* Both directions at once: writing all before reading would deadlock. */
	wbuf_init(&out, 0);
	ok(spawn_run(cat, 0, in, BIG, &out, BIG, &status) == ENF_OK && status == 0 &&
	   out.len == BIG && memcmp(out.p, in, BIG) == 0, "4 MiB through cat come back intact");
	wbuf_free(&out);

	wbuf_init(&out, 0);
	ok(spawn_run(cat, 0, in, BIG, &out, BIG - 1, &status) == ENF_FAIL,
	   "more output than max is an error, not a truncation");
	wbuf_free(&out);

	wbuf_init(&out, 0);
	ok(spawn_run(fail, 0, "x", 1, &out, 16, &status) == ENF_OK && status == 7,
	   "the child's exit code is reported");
	wbuf_free(&out);

	wbuf_init(&out, 0);
	ok(spawn_run(none, SPAWN_QUIET, NULL, 0, &out, 16, &status) == ENF_OK && status == 127,
	   "a program that cannot be run is exit 127");
	wbuf_free(&out);

	wbuf_init(&out, 0);
	ok(spawn_run(deaf, 0, in, BIG, &out, 16, &status) == ENF_OK && status == 0 &&
	   out.len == 0, "a child that reads nothing does not hang or kill the caller");
	wbuf_free(&out);

	free(in);
	return done_testing();
}
