/* Compile-error reporting for generated kernels: the backend's log plus the offending source line. */
#include "kernel.h"
#include "error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Finds the first "<something>:<line>:" (gcc, clang, PoCL) or "ERROR: <n>:<line>:" (glslang). */
static long first_line_number(const char *log)
{
    for (const char *p = log; p && *p; p++) {
        if (strncmp(p, "ERROR: ", 7) == 0) {
            const char *q = p + 7;
            while (isdigit((unsigned char)*q)) q++;
            if (*q == ':' && isdigit((unsigned char)q[1])) return strtol(q + 1, NULL, 10);
        }
        if (*p == ':' && isdigit((unsigned char)p[1])) {
            char *end;
            long line = strtol(p + 1, &end, 10);
            if (*end == ':' && line > 0) return line;
        }
    }
    return 0;
}

bd_status bd_compile_error(const char *what, const char *kernel_name, const char *source, const char *log)
{
    long line = first_line_number(log);
    const char *text = source;
    for (long l = 1; text && l < line; l++) {
        text = strchr(text, '\n');
        if (text) text++;
    }
    if (line > 0 && text && *text) {
        int len = (int)strcspn(text, "\n");
        return bd_fail(BD_ERR_COMPILE, "%s: kernel '%s' failed to compile:\n%s\noffending generated line %ld: %.*s",
                       what, kernel_name, log ? log : "", line, len, text);
    }
    return bd_fail(BD_ERR_COMPILE, "%s: kernel '%s' failed to compile:\n%s", what, kernel_name, log ? log : "");
}
