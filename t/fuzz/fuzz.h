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
#include <sys/mman.h>
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

/* The input in an anonymous file at offset 0, for code that reads fds or
 * paths (/proc/self/fd/N). */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	fuzz_assert(fd >= 0);
	fuzz_assert(size == 0 || write(fd, data, size) == (ssize_t)size);
	fuzz_assert(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
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
