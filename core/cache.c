/* On-disk cache for compiled kernels: where it lives, content hashing, atomic writes. */
#include "cache.h"
#include "error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t bd_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t bd_hash_str(uint64_t h, const char *s) { return bd_hash(h, s ? s : "", strlen(s ? s : "") + 1); }

/* mkdir -p with the given mode for the folders it creates; 0 on success, -1 with errno set. */
static int make_dirs(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return errno = ENAMETOOLONG, -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(tmp, mode) == 0 || errno == EEXIST) ? 0 : -1;
}

bd_status bd_dir_create(const char *path)
{
    if (!path || !*path) return bd_fail(BD_ERR_INVALID_ARG, "bd_dir_create: no folder given");
    if (make_dirs(path, 0755) != 0) return bd_fail(BD_ERR_IO, "cannot create the folder '%s': %s", path, strerror(errno));
    return BD_OK;
}

/* Resolved once per call; cheap compared with any compilation. */
static int cache_dir(char *out, size_t cap)
{
    const char *env = getenv("BDYN_CACHE");
    if (env && strcmp(env, "0") == 0) return -1;
    const char *dir = getenv("BDYN_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (dir && *dir) n = snprintf(out, cap, "%s", dir);
    else if (xdg && *xdg) n = snprintf(out, cap, "%s/bdyn", xdg);
    else if (home && *home) n = snprintf(out, cap, "%s/.cache/bdyn", home);
    else n = snprintf(out, cap, "/tmp/bdyn-cache-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= cap) return -1;
    if (make_dirs(out, 0700) == 0 && access(out, W_OK) == 0) return 0;
    /* An unwritable HOME (e.g. user nobody) must not disable compilation caching altogether. */
    n = snprintf(out, cap, "/tmp/bdyn-cache-%u", (unsigned)getuid());
    return (n > 0 && (size_t)n < cap && make_dirs(out, 0700) == 0 && access(out, W_OK) == 0) ? 0 : -1;
}

int bd_cache_enabled(void)
{
    char dir[PATH_MAX];
    return cache_dir(dir, sizeof dir) == 0;
}

bd_status bd_cache_path(char *out, size_t cap, const char *kind, uint64_t hash, const char *ext)
{
    char dir[PATH_MAX];
    if (cache_dir(dir, sizeof dir) != 0) return bd_fail(BD_ERR_IO, "kernel cache directory is not usable");
    int n = snprintf(out, cap, "%s/%s-%016llx.%s", dir, kind, (unsigned long long)hash, ext);
    if (n < 0 || (size_t)n >= cap) return bd_fail(BD_ERR_IO, "kernel cache path too long");
    return BD_OK;
}

bd_status bd_cache_read(const char *path, void **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return BD_ERR_NOT_FOUND;
    bd_status st = BD_ERR_NOT_FOUND;
    long size = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : -1;
    if (size > 0 && fseek(f, 0, SEEK_SET) == 0) {
        void *buf = malloc((size_t)size);
        if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
            *data = buf;
            *len = (size_t)size;
            st = BD_OK;
        } else {
            free(buf);
        }
    }
    fclose(f);
    return st;
}

bd_status bd_file_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return bd_fail(BD_ERR_IO, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return bd_fail(BD_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fwrite(data, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return bd_fail(BD_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return BD_OK;
}
