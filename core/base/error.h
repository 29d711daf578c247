/* error.h — how swarm's internal C API reports failure.
 *
 * Every fallible function returns 0 on success or a negative SW_E* code, and leaves a readable message
 * in the calling thread's error slot (the model is libgit2's git_error_last). The slot is thread-local:
 * it is the one piece of mutable global state in the engine besides what a module documents itself. */
#ifndef SW_ERROR_H
#define SW_ERROR_H

enum {
    SW_OK = 0,
    SW_ERROR = -1,     /* a failure: I/O, a library call, corrupt data */
    SW_ENOTFOUND = -2, /* the thing named does not exist */
    SW_EEXISTS = -3,   /* the thing to create exists already */
    SW_EINVALID = -4,  /* bad input from the user, a file or a peer */
    SW_ECONFLICT = -5, /* two different things under one name */
    SW_EPLUGIN = -6,   /* a plugin failed or broke the ABI (its message says which and how) */
    SW_ERETRY = -7,    /* a plugin variant cannot do this here, another variant may */
};

/* Sets the thread's message from a printf format and returns code, so callers can `return sw_error(...)`. */
int sw_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like sw_error, with ": strerror(errno)" appended (errno read before anything else). */
int sw_error_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with more context: "CONTEXT: old message". Returns code. */
int sw_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message set on this thread, or "unknown error". Never NULL. */
const char *sw_error_last(void);

#endif
