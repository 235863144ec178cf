/* Wall time of whole processes, measured in rounds: each round runs every
 * command once, in an order that rotates from round to round, so that all
 * commands see the same machine.  (hyperfine runs all of one command's
 * runs, then all of the next's; on a shared machine a slow minute then
 * lands on one command only, and the ratio between them swings by a
 * fifth from run to run.)
 *
 *   rounds [-n ROUNDS] [-w WARMUP] [-s FILE] [-u PATH]... NAME=COMMAND...
 *
 * A COMMAND is split at spaces and run without a shell (fork, exec),
 * stdin and stderr on /dev/null, stdout too or, with -s, on FILE as
 * "> FILE" would put it (created or truncated for each run).  Every
 * -u PATH is removed before each run (ssh-keygen will not write over its
 * FILE.sig).  Prints one line
 * per command: NAME, median, mean and minimum in ms, and median and mean
 * relative to the first command's; exits 1, naming the command and how it
 * ended, when a run does not exit 0. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8
#define MAX_ARGS 32
#define MAX_UNLINK 8

struct cmd {
	const char *name;
	char *argv[MAX_ARGS + 1];
	double *ms;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int parse(char *spec, struct cmd *c, int rounds)
{
	char *eq = strchr(spec, '='), *save = NULL;
	int n = 0;

	if (!eq || eq == spec)
		return -1;
	*eq = '\0';
	c->name = spec;
	for (char *w = strtok_r(eq + 1, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == MAX_ARGS)
			return -1;
		c->argv[n++] = w;
	}
	c->argv[n] = NULL;
	c->ms = calloc(rounds, sizeof *c->ms);
	return n && c->ms ? 0 : -1;
}

/* ms of wall time from fork to exit, or -1 (*st: its wait status) if it
 * did not exit 0. */
static double run(const struct cmd *c, const char *out_path, char *const *unlinks, int nunlink,
		  int *st)
{
	double t0;
	pid_t pid;

	for (int i = 0; i < nunlink; i++)
		unlink(unlinks[i]);
	t0 = now_ms();
	if ((pid = fork()) == 0) {
		int in = open("/dev/null", O_RDONLY), null = open("/dev/null", O_WRONLY);
		int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
		if (in < 0 || null < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(null, 2) < 0)
			_exit(127);
		execvp(c->argv[0], c->argv);
		_exit(127);
	}
	*st = -1;
	if (pid < 0 || waitpid(pid, st, 0) != pid || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0)
		return -1;
	return now_ms() - t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void summarise(struct cmd *c, int rounds, double *median, double *mean)
{
	double sum = 0;

	qsort(c->ms, rounds, sizeof *c->ms, by_value);
	for (int i = 0; i < rounds; i++)
		sum += c->ms[i];
	*median = rounds % 2 ? c->ms[rounds / 2] : (c->ms[rounds / 2 - 1] + c->ms[rounds / 2]) / 2;
	*mean = sum / rounds;
}

static void usage(void)
{
	fprintf(stderr, "usage: rounds [-n ROUNDS] [-w WARMUP] [-s FILE] [-u PATH]... "
		"NAME=COMMAND...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	char *unlinks[MAX_UNLINK], *out_path = NULL;
	double median[MAX_CMDS], mean[MAX_CMDS];
	int rounds = 100, warmup = 3, nunlink = 0, ncmd = 0, opt;

	while ((opt = getopt(argc, argv, "+n:w:s:u:")) != -1) {
		if (opt == 'n' && (rounds = atoi(optarg)) > 0)
			continue;
		if (opt == 'w' && (warmup = atoi(optarg)) >= 0)
			continue;
		if (opt == 's') {
			out_path = optarg;
			continue;
		}
		if (opt == 'u' && nunlink < MAX_UNLINK) {
			unlinks[nunlink++] = optarg;
			continue;
		}
		usage();
	}
	if (optind == argc || argc - optind > MAX_CMDS)
		usage();
	for (int i = optind; i < argc; i++)
		if (parse(argv[i], &cmds[ncmd++], rounds) < 0)
			usage();
	for (int r = -warmup; r < rounds; r++)
		for (int k = 0; k < ncmd; k++) {
			int i = (k + (r < 0 ? 0 : r)) % ncmd;
			int st;
			double ms = run(&cmds[i], out_path, unlinks, nunlink, &st);
			if (ms < 0) {
				if (st != -1 && WIFEXITED(st))
					fprintf(stderr, "rounds: %s: exit %d\n", cmds[i].name,
						WEXITSTATUS(st));
				else
					fprintf(stderr, "rounds: %s: did not run or was killed\n",
						cmds[i].name);
				return 1;
			}
			if (r >= 0)
				cmds[i].ms[r] = ms;
		}
	for (int i = 0; i < ncmd; i++) {
		summarise(&cmds[i], rounds, &median[i], &mean[i]);
		printf("%-28s %9.2f %9.2f %9.2f %8.2f %8.2f\n", cmds[i].name, median[i], mean[i],
		       cmds[i].ms[0], median[i] / median[0], mean[i] / mean[0]);
	}
	return 0;
}
