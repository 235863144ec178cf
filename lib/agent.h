/* enf-agent, the signing service (SPEC "The signing service", enf-agent(1)):
 * one unlocked operator session for an instance, serving enf-sign and
 * enf-seal seal|open over a Unix socket (the protocol: agent_proto.h).
 *
 * Design: the agent process only accepts; each connection is served by a
 * child process of its own, which inherits the unlocked session, runs the
 * one signing transaction (sign.h) or the seal stream, and exits.  So a
 * hostile or stalled client holds one child (bounded by a per-read timeout
 * and a cap on live children) and can crash nothing but it; the library
 * needs no locking (it keeps one error buffer per process); and a change of
 * the keystore is noticed, and re-authenticated, in the one place that
 * forks.  The children die with the agent (PR_SET_PDEATHSIG).  One child
 * is forked ahead of its connection (agent.c, "the spare handler"), so
 * that the fork is off a request's path; it is used only if the session
 * has not changed since it was forked. */
#ifndef ENF_AGENT_H
#define ENF_AGENT_H

#include "sign.h"

#define AGENT_ENV "ENF_AGENT_SOCK"
#define AGENT_MAX_CONN 64
#define AGENT_TIMEOUT 30		/* seconds a connection may stay silent */
#define AGENT_CLIENT_TIMEOUT 120	/* seconds a client waits for the agent */

struct agent_opts {
	const char *home, *passfile;
	const char *socket;		/* -a, or NULL: a fresh private directory */
	const char *group;		/* --group: socket 0660 for it */
	unsigned long lifetime;		/* seconds, 0: until stopped */
	unsigned timeout;		/* per-connection, seconds */
	unsigned max_conn;
	int foreground;			/* -D */
};

/* The whole of enf-agent: check the socket path, unlock, fork (unless -D),
 * print the eval line, serve until SIGTERM, -k or the lifetime's end.
 * Returns the exit code. */
int agent_run(const struct agent_opts *o);
/* -k: ask the agent at socket to stop.  Returns the exit code. */
int agent_stop(const char *socket);

/* Parse a lifetime: seconds, or a number with s, m, h or d.  -1 if bad. */
long agent_parse_lifetime(const char *s);

/* Clients.  socket: --agent, else $ENF_AGENT_SOCK (the caller decides).
 * Each prints what the in-process path prints and returns its exit code. */
int agent_sign(const char *socket, const struct sign_job *j);
/* from: open --from's identity file, or NULL. */
int agent_seal(const char *socket, int open, const char *from, const char *in, const char *out);

#endif
