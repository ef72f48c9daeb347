/* Status names and the per-thread last-error message. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[4096];

const char *bd_status_name(bd_status s)
{
    switch (s) {
    case BD_OK: return "BD_OK";
    case BD_ERR_INVALID_ARG: return "BD_ERR_INVALID_ARG";
    case BD_ERR_NOT_FOUND: return "BD_ERR_NOT_FOUND";
    case BD_ERR_PARSE: return "BD_ERR_PARSE";
    case BD_ERR_IO: return "BD_ERR_IO";
    case BD_ERR_MODEL: return "BD_ERR_MODEL";
    case BD_ERR_UNITS: return "BD_ERR_UNITS";
    case BD_ERR_DEVICE: return "BD_ERR_DEVICE";
    case BD_ERR_UNSUPPORTED: return "BD_ERR_UNSUPPORTED";
    case BD_ERR_COMPILE: return "BD_ERR_COMPILE";
    case BD_ERR_LIMIT: return "BD_ERR_LIMIT";
    case BD_ERR_BACKEND_MISSING: return "BD_ERR_BACKEND_MISSING";
    case BD_ERR_NOMEM: return "BD_ERR_NOMEM";
    case BD_ERR_DEVICE_NOMEM: return "BD_ERR_DEVICE_NOMEM";
    case BD_ERR_NUMERIC: return "BD_ERR_NUMERIC";
    }
    return "BD_ERR_UNKNOWN";
}

const char *bd_last_error(void) { return last_error; }

void bd_clear_error(void) { last_error[0] = '\0'; }

bd_status bd_fail(bd_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

bd_status bd_fail_context(bd_status s, const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix) + 2, old = strnlen(last_error, sizeof last_error - 1);
    if (plen + old >= sizeof last_error) old = sizeof last_error - 1 - plen; /* keep the start of the old message */
    memmove(last_error + plen, last_error, old);
    memcpy(last_error, prefix, plen - 2);
    memcpy(last_error + plen - 2, ": ", 2);
    last_error[plen + old] = '\0';
    return s;
}
