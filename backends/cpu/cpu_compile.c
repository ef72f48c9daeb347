/* Kernels on the cpu: the IR printed as C, compiled by the system compiler ($CC, default cc) into a
 * shared object that is cached on disk by content, loaded with dlopen and run over index ranges. */
#include "cpu_backend.h"
#include "cache.h"
#include "error.h"
#include "kernel.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ISO C (no GNU dialect) so that nothing is contracted into FMAs; no fast-math ever, because results
 * must match the other devices bit for bit. -O3, not -O2: gcc 12's -O2 vectoriser will not version a
 * loop for possible aliasing of its buffers, which left saxpy scalar at half the bandwidth (measured
 * 13 vs 27 GB/s on 1e7 floats). -fno-math-errno changes no value: it only lets gcc inline sqrt as one
 * instruction (and so vectorise it) instead of branching to libm for errno's sake, and
 * -fno-trapping-math (no value changes either; we never read FP exception flags) lets gcc vectorise
 * the branch-free mathlib functions (log, log1p, expm1, tanh), checked bit-exact by test_mathlib. */
static const char *const cflags[] = {"-std=c11",          "-O3",           "-march=native",   "-fPIC",
                                     "-shared",           "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno",
                                     "-fno-trapping-math"};
#define NFLAGS (sizeof cflags / sizeof cflags[0])
/* gcc only: a population kernel touches a dozen buffers, and gcc's default of 10 run-time alias tests per
 * loop is below what proving them independent takes, which left those loops scalar (-fopt-info-vec). */
static const char gcc_alias_tests[] = "--param=vect-max-version-for-alias-checks=400";

typedef void (*cpu_entry)(uint32_t begin, uint32_t end, void *const *b, const uint64_t *len, const bd_value *s);

typedef struct cpu_kernel {
    void *so;
    cpu_entry fn;
} cpu_kernel;

/* Runs argv (argv[0] searched in PATH) with stdin from /dev/null and stdout and stderr captured into
 * *out (malloc'd, NUL-terminated). Returns the exit status, or -1 with errno set if it did not start. */
static int run_tool(char *const argv[], char **out)
{
    extern char **environ;
    int fds[2];
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e != 0) {
        close(fds[0]);
        errno = e;
        return -1;
    }
    /* Drain the pipe to the end before waiting, or a chatty compiler would block on a full pipe.
     * Only the first 64 KiB are kept: enough for any useful error log. */
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap + 1);
    char scratch[4096];
    for (;;) {
        char *dst = (buf && len < cap) ? buf + len : scratch;
        size_t room = (buf && len < cap) ? cap - len : sizeof scratch;
        ssize_t r = read(fds[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != scratch) len += (size_t)r;
    }
    close(fds[0]);
    if (buf) buf[len] = '\0';
    *out = buf;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        /* ECHILD: the application ignores SIGCHLD, so the child was reaped for us and its status is
         * lost; callers then judge by the output file. */
        if (errno != EINTR) return 0;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static cpu_compiler comp;
static char comp_words[sizeof comp.cmd];
static pthread_once_t comp_once = PTHREAD_ONCE_INIT;

/* "gcc 12.2.0" / "clang 14.0.6" from a --version text; the first line itself if it is neither. */
static void name_compiler(const char *text)
{
    const char *cl = strstr(comp.version, "clang version ");
    int n = 0;
    if (cl) {
        n = (int)strcspn(cl + 14, " ");
        snprintf(comp.short_name, sizeof comp.short_name, "clang %.*s", n, cl + 14);
    } else if (strstr(text, "Free Software Foundation") && strrchr(comp.version, ' ')) {
        snprintf(comp.short_name, sizeof comp.short_name, "gcc %s", strrchr(comp.version, ' ') + 1);
    } else {
        snprintf(comp.short_name, sizeof comp.short_name, "%.63s", comp.version[0] ? comp.version : "no C compiler");
    }
}

static void find_compiler(void)
{
    const char *cc = getenv("CC");
    if (!cc || strspn(cc, " \t") == strlen(cc)) cc = "cc";
    snprintf(comp.cmd, sizeof comp.cmd, "%s", cc);
    memcpy(comp_words, comp.cmd, sizeof comp_words);
    char *save = NULL;
    /* Room is left for the flags, -o, both paths and the terminating NULL of an argv. */
    for (char *w = strtok_r(comp_words, " \t", &save); w && comp.argc < 15; w = strtok_r(NULL, " \t", &save))
        comp.argv[comp.argc++] = w;
    char *argv[17];
    memcpy(argv, comp.argv, sizeof(char *) * (size_t)comp.argc);
    argv[comp.argc] = "--version";
    argv[comp.argc + 1] = NULL;
    char *text = NULL;
    if (run_tool(argv, &text) == 0 && text) {
        size_t n = strcspn(text, "\n");
        snprintf(comp.version, sizeof comp.version, "%.*s", (int)(n < 255 ? n : 255), text);
    }
    name_compiler(text ? text : "");
    free(text);
}

const cpu_compiler *bd_cpu_compiler(void)
{
    pthread_once(&comp_once, find_compiler);
    return &comp;
}

/* Everything that changes the machine code: the source, the compiler and its flags, the CPU. */
static uint64_t cache_key(const char *source)
{
    const cpu_compiler *c = bd_cpu_compiler();
    const cpu_host *h = bd_cpu_host();
    uint64_t k = bd_hash_str(BD_HASH_INIT, "bdyn cpu kernel v1");
    k = bd_hash_str(k, source);
    k = bd_hash_str(k, c->cmd);
    k = bd_hash_str(k, c->version);
    for (size_t i = 0; i < NFLAGS; i++) k = bd_hash_str(k, cflags[i]);
    k = bd_hash_str(k, gcc_alias_tests);
    k = bd_hash_str(k, h->model);
    return bd_hash_str(k, h->flags);
}

static bd_status load(const char *path, const char *name, cpu_kernel *ck)
{
    ck->so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!ck->so) return bd_fail(BD_ERR_COMPILE, "cpu: kernel '%s': cannot load %s: %s", name, path, dlerror());
    /* ISO C has no object-to-function pointer conversion; POSIX guarantees the representation. */
    void *sym = dlsym(ck->so, "bd_kernel");
    memcpy(&ck->fn, &sym, sizeof sym);
    if (ck->fn) return BD_OK;
    dlclose(ck->so);
    ck->so = NULL;
    return bd_fail(BD_ERR_COMPILE, "cpu: kernel '%s': %s has no bd_kernel entry point", name, path);
}

static bd_status write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return bd_fail(BD_ERR_IO, "cpu: cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    return ok ? BD_OK : bd_fail(BD_ERR_IO, "cpu: cannot write %s: %s", path, strerror(errno));
}

/* dir/file into out (PATH_MAX bytes); nonzero if it does not fit. */
static int in_dir(char *out, const char *dir, const char *file)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, file);
    return n < 0 || n >= PATH_MAX;
}

/* Compiles source in the private directory dir (dir/k.c -> dir/k.so, whose path goes to so). The source
 * is written unchanged, so the compiler's line numbers are those of the generated text quoted in the error. */
static bd_status compile_in(const char *dir, const char *name, const char *source, char so[PATH_MAX])
{
    const cpu_compiler *c = bd_cpu_compiler();
    char src[PATH_MAX];
    if (in_dir(src, dir, "k.c") || in_dir(so, dir, "k.so"))
        return bd_fail(BD_ERR_IO, "cpu: kernel '%s': path too long in %s", name, dir);
    bd_status st = write_text(src, source);
    if (st) return st;
    char *argv[32];
    int n = 0;
    for (int i = 0; i < c->argc; i++) argv[n++] = c->argv[i];
    for (size_t i = 0; i < NFLAGS; i++) argv[n++] = (char *)cflags[i];
    if (strncmp(c->short_name, "gcc ", 4) == 0) argv[n++] = (char *)gcc_alias_tests;
    argv[n++] = "-o";
    argv[n++] = so;
    argv[n++] = src;
    argv[n] = NULL;
    char *log = NULL;
    int rc = run_tool(argv, &log);
    if (rc < 0) {
        st = bd_fail(BD_ERR_COMPILE, "cpu: kernel '%s': cannot run the C compiler '%s' (set $CC): %s", name, c->cmd,
                     strerror(errno));
    } else if (rc != 0 || access(so, R_OK) != 0) {
        st = bd_compile_error("cpu", name, source, log && *log ? log : "(the compiler printed nothing)");
    }
    free(log);
    unlink(src);
    return st;
}

static void remove_dir(const char *dir)
{
    char p[PATH_MAX];
    if (in_dir(p, dir, "k.so") == 0) unlink(p);
    rmdir(dir);
}

bd_status bd_cpu_kernel_compile(bd_device *dev, bd_kernel *kern)
{
    (void)dev;
    const char *name = kern->ir->name;
    char *source = bd_ir_print(kern->ir, BD_DIALECT_C);
    if (!source) return bd_fail_context(BD_ERR_NOMEM, "cpu: kernel '%s'", name);
    cpu_kernel *ck = calloc(1, sizeof *ck);
    if (!ck) {
        free(source);
        return bd_fail(BD_ERR_NOMEM, "cpu: kernel '%s': out of host memory", name);
    }
    char path[PATH_MAX], dir[PATH_MAX], so[PATH_MAX];
    int cached = bd_cache_enabled() && bd_cache_path(path, sizeof path, "cpu", cache_key(source), "so") == BD_OK;
    /* A hit loads directly; a cached object that does not load (truncated by a crash, foreign) is rebuilt. */
    bd_status st = (cached && access(path, R_OK) == 0) ? load(path, name, ck) : BD_ERR_NOT_FOUND;
    if (st != BD_OK) {
        /* The work directory sits beside the final file, so the rename into the cache is atomic;
         * without a cache it is a private temporary directory that disappears after dlopen. */
        const char *tmp = getenv("TMPDIR");
        int n = cached ? snprintf(dir, sizeof dir, "%s.XXXXXX", path)
                       : snprintf(dir, sizeof dir, "%s/bdyn-cpu-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fits = n > 0 && n < (int)sizeof dir;
        if (!fits) errno = ENAMETOOLONG;
        if (!fits || !mkdtemp(dir)) {
            st = bd_fail(BD_ERR_IO, "cpu: kernel '%s': cannot create a work directory %s: %s", name, dir,
                         strerror(errno));
        } else {
            st = compile_in(dir, name, source, so);
            if (st == BD_OK) st = load(cached && rename(so, path) == 0 ? path : so, name, ck);
            remove_dir(dir);
        }
    }
    free(source);
    if (st != BD_OK) {
        free(ck);
        return st;
    }
    kern->ctx = ck;
    return BD_OK;
}

void bd_cpu_kernel_free(bd_device *dev, bd_kernel *kern)
{
    (void)dev;
    cpu_kernel *ck = kern->ctx;
    if (!ck) return;
    dlclose(ck->so);
    free(ck);
    kern->ctx = NULL;
}

typedef struct launch {
    cpu_entry fn;
    void *b[BD_IR_MAX_BUFFERS];
    uint64_t len[BD_IR_MAX_BUFFERS];
    const bd_value *s;
} launch;

static void launch_range(void *arg, int chunk, size_t begin, size_t end)
{
    const launch *l = arg;
    (void)chunk;
    l->fn((uint32_t)begin, (uint32_t)end, l->b, l->len, l->s);
}

bd_status bd_cpu_kernel_launch(bd_device *dev, bd_kernel *kern, size_t n, bd_buffer *const *bufs,
                               const bd_value *scalars)
{
    const bd_ir *ir = kern->ir;
    if (n > UINT32_MAX)
        return bd_fail(BD_ERR_LIMIT, "cpu: kernel '%s': launch of %zu elements exceeds the 32-bit index range",
                       ir->name, n);
    if (n == 0) return BD_OK;
    launch l = {.fn = ((cpu_kernel *)kern->ctx)->fn, .s = scalars};
    for (int k = 0; k < ir->nbuffers; k++) {
        l.b[k] = bufs[k]->ctx;
        l.len[k] = bufs[k]->size / bd_dtype_size(ir->buffer_type[k]);
    }
    int threads = dev->reference ? 1 : dev->threads;
    bd_cpu_parallel(bd_cpu_chunks(threads, n, CPU_GRAIN), n, launch_range, &l);
    return BD_OK;
}
