/* The store's read-only view shared across fork: processes forked from one
 * view (the agent's handlers) read it at the same time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "enf.h"
#include "store.h"
#include "tap.h"

#define RECORDS 400
#define READERS 4
#define READS 20000

static void value_of(unsigned i, char *v, size_t n) { snprintf(v, n, "value of record %u", i); }

static int fill(void *ctx, GDBM_FILE cur, struct changes *cs)
{
	char k[32], v[64];

	(void)ctx;
	(void)cur;
	for (unsigned i = 0; i < RECORDS; i++) {
		snprintf(k, sizeof k, "r%u", i);
		value_of(i, v, sizeof v);
		wbuf_put(change_put(cs, k), v, strlen(v));
	}
	return ENF_OK;
}

/* Reads records in an order of its own; exits with the number it read wrong. */
static void reader(struct store *s, unsigned seed, int own)
{
	char k[32], v[64];
	unsigned char *p;
	size_t n;
	int wrong = 0;

	if (own && store_own_view(s) != ENF_OK)
		_exit(100);
	for (unsigned i = 0; i < READS; i++) {
		unsigned r = (i * 7919u + seed * 104729u) % RECORDS;
		snprintf(k, sizeof k, "r%u", r);
		value_of(r, v, sizeof v);
		p = NULL;
		if (store_get(s->db, k, &p, &n) < 0 || n != strlen(v) || memcmp(p, v, n) != 0)
			wrong++;
		free(p);
	}
	_exit(wrong > 99 ? 99 : wrong);
}

static int readers_wrong(struct store *s)
{
	pid_t pids[READERS];
	int status, wrong = 0;

	for (unsigned i = 0; i < READERS; i++)
		if ((pids[i] = fork()) == 0)
			reader(s, i + 1, 1);
	for (unsigned i = 0; i < READERS; i++) {
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status))
			wrong += 100;
		else
			wrong += WEXITSTATUS(status);
	}
	return wrong;
}

int main(void)
{
	char dir[] = "/tmp/enf-store-XXXXXX";
	struct store s, replaced;
	char cmd[64];

	if (!mkdtemp(dir))
		return 1;
	ok(store_open(&s, dir, "ks") == ENF_OK && store_rewrite(&s, fill, NULL) == ENF_OK && s.db,
	   "a store of %d records", RECORDS);
	/* GDBM seeks and then reads: on one shared file description the
	 * readers would move each other's offset and read wrong records. */
	ok(readers_wrong(&s) == 0, "%d processes forked from one view each read %d records right",
	   READERS, READS);

	/* The view is of the file as it was: reopened after the file was
	 * replaced, it still reads the replaced file. */
	ok(store_open(&replaced, dir, "ks") == ENF_OK && unlink(replaced.path) == 0 &&
	   store_rewrite(&s, fill, NULL) == ENF_OK, "the file is replaced under a view");
	ok(store_own_view(&replaced) == ENF_OK, "a view of a replaced file reopens");
	ok(readers_wrong(&replaced) == 0, "and reads right");
	store_close(&replaced);
	store_close(&s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
