/* error.c — the thread-local error slot behind sw_error (see error.h). */
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char sw_error_msg[1024];

int sw_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sw_error_msg, sizeof sw_error_msg, fmt, ap);
    va_end(ap);
    return code;
}

int sw_error_errno(int code, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sw_error_msg, sizeof sw_error_msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof sw_error_msg)
        snprintf(sw_error_msg + n, sizeof sw_error_msg - (size_t)n, ": %s", strerror(e));
    return code;
}

int sw_error_wrap(int code, const char *fmt, ...)
{
    char old[sizeof sw_error_msg];
    memcpy(old, sw_error_msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sw_error_msg, sizeof sw_error_msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof sw_error_msg)
        snprintf(sw_error_msg + n, sizeof sw_error_msg - (size_t)n, ": %s", old[0] ? old : "unknown error");
    return code;
}

const char *sw_error_last(void)
{
    return sw_error_msg[0] ? sw_error_msg : "unknown error";
}
