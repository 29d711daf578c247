/* crash.h — a last word when foreign code crashes swarm.
 *
 * Plugins are C code loaded into swarm's process; one that dereferences a bad pointer would kill swarm
 * with a bare "Segmentation fault". With sw_crash_install, a fatal signal (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE) instead prints one line, "swarm: error: crashed (SIGNAL) in WHAT", naming what the crashing
 * thread was doing, and exits with status 1. WHAT is set by each thread around calls into foreign code
 * (sw_crash_doing); the handler only reads it and writes with write(2), so it is async-signal-safe.
 * Nothing is cleaned up on the way down: the store is crash-safe, and temp files a crashed process
 * leaves are removed by the next process that opens the store (cache/store.h, sw_store_open). */
#ifndef SW_CRASH_H
#define SW_CRASH_H

/* Installs the handlers (process-wide; call once, from main). */
void sw_crash_install(void);
/* What this thread is doing from now on (NULL: nothing worth naming). The text is not copied: it must
 * stay valid until the next call on this thread. */
void sw_crash_doing(const char *what);

#endif
