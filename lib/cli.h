/* The skeleton every enf program's main() is built on: start-up, options,
 * a verb table, one usage text, one version line, one exit path.
 *
 *	int main(int argc, char **argv)
 *	{
 *		if (cli_start(argc, argv, usage) != ENF_OK)
 *			return cli_exit(ENF_FAIL);
 *		while ((c = cli_getopt(argc, argv, "hH:...", longopts)) != -1)
 *			switch (c) { ...; default: return cli_exit(ENF_USAGE); }
 *		... one library call ...
 *		return cli_exit(rc);
 *	}
 *
 * Messages follow SPEC "Conventions": "enf-xxx: ..." on stderr, usage on
 * stdout for -h/--help (exit 0) and on stderr after a usage error (exit 2). */
#ifndef ENF_CLI_H
#define ENF_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

/* enf_start(argv[0]) (proc.h), then argv[0] becomes the bare program name,
 * so that getopt's own messages read "enf-sign: invalid option -- 'x'"
 * rather than "/usr/local/bin/enf-sign: ...".  usage is the program's
 * synopsis ("usage: enf-xxx ...\n" lines), printed by cli_help and after a
 * usage error. */
int cli_start(int argc, char **argv, const char *usage);

/* The getopt_long value of --version; every long option table ends with
 * CLI_LONGOPTS_END, which gives --help ('h') and --version. */
#define CLI_OPT_VERSION 0x7f00
#define CLI_LONGOPTS_END \
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, CLI_OPT_VERSION }, \
	{ NULL, 0, NULL, 0 }

/* getopt_long, with -h/--help and --version answered here (they exit 0).
 * Anything else getopt_long returns is the caller's, '?' included (getopt
 * has printed why). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* The usage text on stdout, exit 0 (a lost stdout still exits 3). */
_Noreturn void cli_help(void);
/* "enf-xxx VERSION" on stdout, exit 0: the one version line. */
_Noreturn void cli_version(void);
/* The usage text on f. */
void cli_usage(FILE *f);

/* A verb table is an array of structs whose first member is the verb's
 * `const char *name`; each main declares the rest (the function and what
 * it takes).  CLI_VERB finds argv[0] in it: the entry, or NULL with an
 * ENF_USAGE message ("no command (a, b, c)", "unknown command \"x\""). */
const void *cli_verb_find(const void *table, size_t n, size_t size, int argc, char **argv);
#define CLI_VERB(table, argc, argv)                                                      \
	((__typeof__(&(table)[0]))cli_verb_find((table), sizeof(table) / sizeof((table)[0]), \
						sizeof((table)[0]), (argc), (argv)))

/* The one test for "this path means standard input", as io_read_file and
 * io_write_atomic read it: NULL or "-". */
int cli_is_stdin(const char *path);

/* The one wording of a lost standard output: ENF_FAIL with
 * "cannot write standard output[: strerror(errnum)]" recorded. */
int cli_stdout_error(int errnum);
/* Write p[0..n) to fd 1, all of it: ENF_OK, or cli_stdout_error. */
int cli_write_stdout(const void *p, size_t n);
/* Flush stdout: ENF_OK, or cli_stdout_error. */
int cli_flush_stdout(void);

/* The end of every main: a stdout that could not be written turns rc into
 * ENF_FAIL; the recorded message is printed (enf_report); a usage error is
 * followed by the usage text on stderr.  Returns the exit code. */
int cli_exit(int rc);

#endif
