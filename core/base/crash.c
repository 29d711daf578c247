/* crash.c — the fatal-signal report (see crash.h). Its global state: the handlers, installed once, and
 * one thread-local pointer per thread. */
#include "base/crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __thread const char *sw_crash_what;

void sw_crash_doing(const char *what)
{
    sw_crash_what = what;
}

static void sw_crash_put(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t k = write(2, s, n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static void sw_crash_handler(int sig)
{
    const char *name = sig == SIGSEGV ? "SIGSEGV, a bad memory access"
                       : sig == SIGBUS ? "SIGBUS, a bad memory access"
                       : sig == SIGILL ? "SIGILL, an illegal instruction"
                                       : "SIGFPE, an arithmetic fault";
    sw_crash_put("swarm: error: crashed (");
    sw_crash_put(name);
    sw_crash_put(") in ");
    sw_crash_put(sw_crash_what ? sw_crash_what : "swarm itself (a bug: please report it)");
    sw_crash_put("\n");
    _exit(1);
}

void sw_crash_install(void)
{
    static char stack[64 * 1024]; /* for the main thread: a stack overflow still gets its line */
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sw_crash_handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
}
