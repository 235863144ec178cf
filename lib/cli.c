/* The programs' skeleton (cli.h): one usage, one version line, one verb
 * lookup, one wording of a lost stdout, one exit path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "cli.h"
#include "io.h"
#include "proc.h"

static const char *usage_text = "";

int cli_start(int argc, char **argv, const char *usage)
{
	int rc = enf_start(argc > 0 ? argv[0] : NULL);

	usage_text = usage;
	/* glibc's getopt names argv[0] in its messages. */
	if (argc > 0)
		argv[0] = (char *)enf_progname();
	return rc;
}

void cli_usage(FILE *f) { fputs(usage_text, f); }

_Noreturn void cli_help(void)
{
	cli_usage(stdout);
	exit(ENF_OK);
}

_Noreturn void cli_version(void)
{
	printf("%s %s\n", enf_progname(), ENF_VERSION);
	exit(ENF_OK);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == 'h')
		cli_help();
	if (c == CLI_OPT_VERSION)
		cli_version();
	return c;
}

static const char *verb_name(const void *table, size_t i, size_t size)
{
	return *(const char *const *)(const void *)((const char *)table + i * size);
}

const void *cli_verb_find(const void *table, size_t n, size_t size, int argc, char **argv)
{
	char list[256] = "";
	size_t used = 0;

	if (argc > 0) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[0], verb_name(table, i, size)) == 0)
				return (const char *)table + i * size;
		enf_err(ENF_USAGE, "unknown command \"%s\"", argv[0]);
		return NULL;
	}
	for (size_t i = 0; i < n && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
					 verb_name(table, i, size));
	enf_err(ENF_USAGE, "no command (%s)", list);
	return NULL;
}

int cli_is_stdin(const char *path) { return !path || strcmp(path, "-") == 0; }

int cli_stdout_error(int errnum)
{
	return enf_err(ENF_FAIL, "cannot write standard output%s%s", errnum ? ": " : "",
		       errnum ? strerror(errnum) : "");
}

int cli_write_stdout(const void *p, size_t n)
{
	return io_write_all(STDOUT_FILENO, p, n) < 0 ? cli_stdout_error(errno) : ENF_OK;
}

int cli_flush_stdout(void)
{
	errno = 0;
	if (fflush(stdout) != 0)
		return cli_stdout_error(errno);
	return ferror(stdout) ? cli_stdout_error(0) : ENF_OK;
}

int cli_exit(int rc)
{
	if (rc != ENF_USAGE && cli_flush_stdout() != ENF_OK)
		rc = ENF_FAIL;
	enf_report(rc);
	if (rc == ENF_USAGE)
		cli_usage(stderr);
	return rc;
}
