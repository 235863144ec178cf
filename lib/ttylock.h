/* One prompt at a time on a terminal: parallel programs (make -j) that all
 * need a passphrase take turns, so that each asks once and no typing is
 * split between them. */
#ifndef ENF_TTYLOCK_H
#define ENF_TTYLOCK_H

/* An exclusive flock on the controlling terminal, held until tty_unlock;
 * returns the fd to pass to it, or -1 (no terminal: nothing to serialise). */
int tty_lock(void);
void tty_unlock(int fd);

#endif
