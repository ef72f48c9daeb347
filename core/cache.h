/* The on-disk compilation cache shared by the backends: content hashes, paths, atomic writes.
 * Directory: $BDYN_CACHE_DIR, else $XDG_CACHE_HOME/bdyn, else $HOME/.cache/bdyn, else
 * /tmp/bdyn-cache-<uid>. BDYN_CACHE=0 disables reading and writing (every compile is cold). */
#ifndef BD_CACHE_H
#define BD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "bdyn/status.h"

/* 64-bit FNV-1a over several parts, chained: h = bd_hash(h, data, len), start with BD_HASH_INIT. */
#define BD_HASH_INIT 0xcbf29ce484222325ULL
uint64_t bd_hash(uint64_t h, const void *data, size_t len);
uint64_t bd_hash_str(uint64_t h, const char *s); /* includes the terminating NUL as a separator */

/* 1 if the cache is enabled and its directory exists or could be created. */
int bd_cache_enabled(void);
/* Writes "<dir>/<kind>-<hash>.<ext>" into out; BD_ERR_IO if the cache is unusable. */
bd_status bd_cache_path(char *out, size_t cap, const char *kind, uint64_t hash, const char *ext);
/* Reads a whole cached file (malloc'd into *data). BD_ERR_NOT_FOUND on a miss (no message set). */
bd_status bd_cache_read(const char *path, void **data, size_t *len);
/* bd_file_write_atomic (include/bdyn/io.h) writes cache entries, so readers never see a partial file. */
#include "bdyn/io.h"

#endif
