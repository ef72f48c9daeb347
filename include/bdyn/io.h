/* Result files: NPY arrays and atomic writes (a file is either complete or absent, never truncated). */
#ifndef BDYN_IO_H
#define BDYN_IO_H

#include <stddef.h>
#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a folder and any missing parents (mkdir -p); an existing folder is fine. */
BD_API bd_status bd_dir_create(const char *path);

/* Writes data to path through a temporary file in the same directory and rename(). */
BD_API bd_status bd_file_write_atomic(const char *path, const void *data, size_t len);

/* Writes a C-order NPY (format 1.0) array of dtype f32, f64, i32 or u32, atomically. */
BD_API bd_status bd_npy_write(const char *path, bd_dtype t, int ndim, const size_t *shape, const void *data);

#ifdef __cplusplus
}
#endif
#endif
