/* Helpers shared by the bdyn test programs: PASS/FAIL/SKIP accounting with the closing
 * "N passed, M failed, K skipped" line that CI reads, device selection ($BDYN_TEST_DEVICES) and a
 * seeded generator for test inputs. Header-only: every test is a single translation unit. */
#ifndef BD_TEST_COMMON_H
#define BD_TEST_COMMON_H

#include "bdyn/bdyn.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tc_passed, tc_failed, tc_skipped;

typedef enum tc_kind { TC_PASS, TC_FAIL, TC_SKIP } tc_kind;

/* Line-buffered stdout, so that the lines written before a crash are not lost in a pipe. */
static inline void tc_begin(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

/* Prints one result line "PASS|FAIL|SKIP <text>" and counts it. */
static inline void tc_vline(tc_kind kind, const char *fmt, va_list ap)
{
    static const char *const words[] = {"PASS", "FAIL", "SKIP"};
    char text[8192];
    vsnprintf(text, sizeof text, fmt, ap);
    /* one result per line: continuation lines of a message (compiler logs) are indented */
    printf("%s ", words[kind]);
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1]) fputs("    ", stdout);
    }
    printf("\n");
    if (kind == TC_PASS) tc_passed++;
    else if (kind == TC_FAIL) tc_failed++;
    else tc_skipped++;
}

static inline void tc_line(tc_kind kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tc_line(tc_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc_vline(kind, fmt, ap);
    va_end(ap);
}

/* PASS or FAIL depending on ok; returns ok. */
static inline int tc_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int tc_check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc_vline(ok ? TC_PASS : TC_FAIL, fmt, ap);
    va_end(ap);
    return ok;
}

/* Checks that a call failed with the expected status and left a message behind. */
static inline int tc_expect_status(bd_status got, bd_status want, const char *what)
{
    const char *msg = bd_last_error();
    int ok = got == want && msg && *msg;
    return tc_check(ok, "%s -> %s (want %s): %s", what, bd_status_name(got), bd_status_name(want),
                    msg && *msg ? msg : "(no message)");
}

/* The closing summary line; returns the process exit status. */
static inline int tc_finish(void)
{
    printf("%d passed, %d failed, %d skipped\n", tc_passed, tc_failed, tc_skipped);
    fflush(stdout);
    return tc_failed ? 1 : 0;
}

/* Whether device `name` is selected by $BDYN_TEST_DEVICES (a comma-separated list such as
 * "cpu,vulkan:0"; unset or empty selects every device). */
static inline int tc_device_selected(const char *name)
{
    const char *list = getenv("BDYN_TEST_DEVICES");
    if (!list || !*list) return 1;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, ", ");
        if (w == len && strncmp(p, name, len) == 0) return 1;
        p += w;
        while (*p == ',' || *p == ' ') p++;
    }
    return 0;
}

/* splitmix64: a small, fast, well-mixed generator for test inputs (not the library's Philox). */
static inline uint64_t tc_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double tc_uniform(uint64_t *s) { return (double)(tc_rand(s) >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n). */
static inline uint32_t tc_below(uint64_t *s, uint32_t n) { return n ? (uint32_t)((tc_rand(s) >> 32) % n) : 0; }

#endif
