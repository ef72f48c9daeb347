/* Setting the per-thread error message that bd_last_error() returns. */
#ifndef BD_ERROR_H
#define BD_ERROR_H

#include "bdyn/status.h"

/* Formats the message for this thread and returns s, so that callers can write
 * `return bd_fail(BD_ERR_LIMIT, "vulkan:0: buffer of %zu bytes exceeds ...", n);` */
bd_status bd_fail(bd_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to the current message (adding context on the way up) and returns s. */
bd_status bd_fail_context(bd_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bd_clear_error(void);

#endif
