/* Helpers the backends share when compiling generated kernels. */
#ifndef BD_KERNEL_H
#define BD_KERNEL_H

#include "bdyn/status.h"

/* Builds the BD_ERR_COMPILE message: "<what>: kernel '<name>' failed to compile:\n<log>\n
 * offending generated line N: <text>". The line number is the first one found in the log in any of
 * the usual forms (gcc/clang "file:12:5: error", glslang "ERROR: 0:12:"). Returns BD_ERR_COMPILE. */
bd_status bd_compile_error(const char *what, const char *kernel_name, const char *source, const char *log);

#endif
