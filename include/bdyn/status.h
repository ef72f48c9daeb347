/* bdyn status codes and the per-thread error message.
 * Every public function returns bd_status (BD_OK == 0) and leaves a readable message behind. */
#ifndef BDYN_STATUS_H
#define BDYN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BD_BUILDING_LIBRARY)
#define BD_API __attribute__((visibility("default")))
#else
#define BD_API
#endif

/* Codes are grouped by kind in hundreds so that callers can test the group with code / 100. */
typedef enum bd_status {
    BD_OK = 0,
    /* input: what the caller passed is wrong */
    BD_ERR_INVALID_ARG = 100, /* a NULL, a size or a type that does not fit the call */
    BD_ERR_NOT_FOUND = 101,   /* an unknown name (device, file, identifier) */
    BD_ERR_PARSE = 102,       /* malformed text (JSON, equations) */
    BD_ERR_IO = 103,          /* a file could not be read or written */
    /* model: the description is well-formed but inconsistent */
    BD_ERR_MODEL = 200,
    BD_ERR_UNITS = 201,
    /* device: the backend or the device could not do it */
    BD_ERR_DEVICE = 300,          /* a driver call failed */
    BD_ERR_UNSUPPORTED = 301,     /* the device lacks a feature this call needs (fp64, atomics, ...) */
    BD_ERR_COMPILE = 302,         /* a generated kernel did not compile */
    BD_ERR_LIMIT = 303,           /* a size above a device limit (allocation, binding range, push constants) */
    BD_ERR_BACKEND_MISSING = 304, /* the backend's runtime library is not installed */
    /* memory */
    BD_ERR_NOMEM = 400,        /* host out of memory */
    BD_ERR_DEVICE_NOMEM = 401, /* device out of memory */
    /* numerics */
    BD_ERR_NUMERIC = 500 /* NaN or Inf in a state */
} bd_status;

/* Short constant name of a code, e.g. "BD_ERR_LIMIT". */
BD_API const char *bd_status_name(bd_status s);

/* The message of the last failed call on this thread ("" if none). Valid until the next bdyn call. */
BD_API const char *bd_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
