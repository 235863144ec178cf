/* Shared by the libFuzzer targets in t/fuzz/ (see t/fuzz/README).  A target
 * is one file NAME.c defining LLVMFuzzerTestOneInput; its seeds live in
 * corpus/NAME/, its dictionary (optional) in NAME.dict. */
#ifndef ENF_FUZZ_H
#define ENF_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "crypto.h"
#include "enf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: a violation is a finding. */
#define fuzz_assert(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz: %s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

/* The input as a NUL-terminated string (free()). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	fuzz_assert(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A file for the whole run that each input is written into, for code that
 * reads an fd or a path: in $TMPDIR (t/fuzz/run points it at its scratch
 * directory, on tmpfs), removed at exit.  Once per run because a fresh
 * file per input — a memfd and its /proc/self/fd/N path — cost more than
 * some of the parsers under test (perf: memfd_create, inode eviction and
 * the walk through /proc on every input). */
struct fuzz_file {
	int fd;
	char path[4096];
};

static inline void fuzz_file_open(struct fuzz_file *f, const char *name)
{
	const char *dir = getenv("TMPDIR");

	snprintf(f->path, sizeof f->path, "%s/enf-fuzz-%s.XXXXXX", dir && *dir ? dir : "/tmp", name);
	f->fd = mkostemp(f->path, O_CLOEXEC);
	fuzz_assert(f->fd >= 0);
}

/* The file now holds exactly data; its fd is at offset 0. */
static inline int fuzz_file_fill(struct fuzz_file *f, const uint8_t *data, size_t size)
{
	fuzz_assert(ftruncate(f->fd, (off_t)size) == 0);
	fuzz_assert(size == 0 || pwrite(f->fd, data, size, 0) == (ssize_t)size);
	fuzz_assert(lseek(f->fd, 0, SEEK_SET) == 0);
	return f->fd;
}

static inline void fuzz_file_remove(struct fuzz_file *f)
{
	unlink(f->path);
	close(f->fd);
}

/* The self-tests and libgcrypt once, outside the measured inputs. */
#define FUZZ_INIT_CRYPTO \
int LLVMFuzzerInitialize(int *argc, char ***argv) \
{ \
	(void)argc; (void)argv; \
	fuzz_assert(crypto_init() == ENF_OK); \
	return 0; \
}

#endif
