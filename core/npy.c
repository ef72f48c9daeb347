/* NPY writer (format version 1.0), for results that numpy and every analysis tool can read. */
#include "bdyn/io.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bd_status bd_npy_write(const char *path, bd_dtype t, int ndim, const size_t *shape, const void *data)
{
    static const char *descr[] = {"<f4", "<f8", "<i4", "<u4"};
    if (!path || (unsigned)t > BD_U32 || ndim < 1 || ndim > 8 || !shape)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_npy_write: bad arguments for '%s'", path ? path : "(null)");
    size_t count = 1;
    char dims[256] = "";
    for (int d = 0; d < ndim; d++) {
        count *= shape[d];
        size_t len = strlen(dims);
        snprintf(dims + len, sizeof dims - len, "%zu%s", shape[d], ndim == 1 ? "," : d + 1 < ndim ? ", " : "");
    }
    if (count && !data) return bd_fail(BD_ERR_INVALID_ARG, "bd_npy_write: no data for '%s'", path);
    char header[512];
    int hlen = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr[t],
                        dims);
    /* Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64 and ended by \n. */
    size_t total_header = ((size_t)10 + (size_t)hlen + 1 + 63) / 64 * 64;
    size_t bytes = count * bd_dtype_size(t);
    unsigned char *buf = malloc(total_header + bytes);
    if (!buf) return bd_fail(BD_ERR_NOMEM, "bd_npy_write: out of memory for '%s'", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    size_t body = total_header - 10;
    buf[8] = (unsigned char)(body & 0xff);
    buf[9] = (unsigned char)(body >> 8);
    memset(buf + 10, ' ', body);
    memcpy(buf + 10, header, (size_t)hlen);
    buf[total_header - 1] = '\n';
    if (bytes) memcpy(buf + total_header, data, bytes);
    bd_status st = bd_file_write_atomic(path, buf, total_header + bytes);
    free(buf);
    return st;
}
