/* What the cpu backend knows about the host: model, vendor, ISA flags, memory and cores.
 * Read once per process; the model and flags also key the kernel cache (-march=native). */
#include "cpu_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static cpu_host host;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* "key\t: value" -> value, if the line starts with key. */
static const char *field(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || (line[k] != ' ' && line[k] != '\t' && line[k] != ':')) return NULL;
    const char *v = strchr(line + k, ':');
    if (!v) return NULL;
    v++;
    while (*v == ' ' || *v == '\t') v++;
    return v;
}

static void copy_value(char *dst, size_t cap, const char *v)
{
    size_t n = strcspn(v, "\n");
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* x86 vendor_id strings and ARM "CPU implementer" codes, as people know the companies. */
static const char *vendor_name(const char *id)
{
    static const char *const names[][2] = {
        {"GenuineIntel", "Intel"}, {"AuthenticAMD", "AMD"},   {"HygonGenuine", "Hygon"},
        {"CentaurHauls", "Centaur"}, {"  Shanghai  ", "Zhaoxin"}, {"0x41", "ARM"},
        {"0x42", "Broadcom"},      {"0x46", "Fujitsu"},       {"0x48", "HiSilicon"},
        {"0x4e", "NVIDIA"},        {"0x51", "Qualcomm"},      {"0x61", "Apple"},
        {"0xc0", "Ampere"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(id, names[i][0]) == 0) return names[i][1];
    return id;
}

static uint32_t simd_f32_lanes(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 16;
    if (__builtin_cpu_supports("avx")) return 8;
    if (__builtin_cpu_supports("sse2")) return 4;
    return 0;
#elif defined(__aarch64__)
    return 4; /* NEON is mandatory on AArch64; SVE widths are not reported here */
#else
    return 0;
#endif
}

static void read_host(void)
{
    char vendor_id[64] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[4096];
        const char *v;
        /* The first processor's block is enough: every core of a machine runs the same kernels. */
        while (fgets(line, sizeof line, f) && line[0] != '\n') {
            if ((v = field(line, "model name")) && !host.model[0]) copy_value(host.model, sizeof host.model, v);
            else if ((v = field(line, "vendor_id")) && !vendor_id[0]) copy_value(vendor_id, sizeof vendor_id, v);
            else if ((v = field(line, "CPU implementer")) && !vendor_id[0]) copy_value(vendor_id, sizeof vendor_id, v);
            else if ((v = field(line, "flags")) || (v = field(line, "Features")))
                copy_value(host.flags, sizeof host.flags, v);
        }
        fclose(f);
    }
    if (!host.model[0]) {
        struct utsname u;
        snprintf(host.model, sizeof host.model, "%s CPU", uname(&u) == 0 ? u.machine : "unknown");
    }
    snprintf(host.vendor, sizeof host.vendor, "%s", vendor_id[0] ? vendor_name(vendor_id) : "unknown");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    host.memory = (pages > 0 && page > 0) ? (uint64_t)pages * (uint64_t)page : 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    host.cpus = cpus > 0 ? (uint32_t)cpus : 1;
    host.f32_lanes = simd_f32_lanes();
}

const cpu_host *bd_cpu_host(void)
{
    pthread_once(&host_once, read_host);
    return &host;
}
