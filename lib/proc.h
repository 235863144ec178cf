/* Process start-up: the first call of every program's main(). */
#ifndef ENF_PROC_H
#define ENF_PROC_H

/* Before anything is opened or any secret is read:
 *  - sets the program name for messages (enf_setprogname(argv0));
 *  - no core dumps and no ptrace by other users: PR_SET_DUMPABLE 0 and
 *    RLIMIT_CORE 0 (soft and hard), so a crash during an unlock cannot
 *    leave the passphrase or key bytes in a core file;
 *  - SIGPIPE ignored: a reader that goes away makes a write fail (exit 3)
 *    instead of killing the program between its decision and its record;
 *  - fds 0, 1 and 2 made valid: a closed one gets /dev/null opened the
 *    wrong way round (0 write-only, 1 and 2 read-only), so that no file we
 *    open later takes its number, and using it still fails loudly;
 *  - at exit, a standard output that could not be written turns the exit
 *    status into 3 with a message (the product was lost).
 * ENF_OK, or ENF_FAIL with a message (print it with enf_report). */
int enf_start(const char *argv0);

#endif
