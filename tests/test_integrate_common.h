/* Shared by the integrator tests: the devices (cpu, opencl:0, vulkan:0, restricted by $BDYN_TEST_DEVICES),
 * systems from equation text with parameter values, and the fitted order of a convergence run. */
#ifndef BD_TEST_INTEGRATE_COMMON_H
#define BD_TEST_INTEGRATE_COMMON_H

#include "test_common.h"

#include <math.h>

static const char *const device_names[] = {"cpu", "opencl:0", "vulkan:0"};
#define NDEV (sizeof device_names / sizeof device_names[0])

static bd_device *devs[NDEV];

/* Opens every selected device (a missing OpenCL or Vulkan device is a skip, a missing cpu a failure);
 * returns whether cpu, the reference, is open. */
static inline int ti_open_devices(void)
{
    for (size_t d = 0; d < NDEV; d++) {
        if (!tc_device_selected(device_names[d])) continue;
        bd_status st = bd_device_open(device_names[d], &devs[d]);
        if (st) {
            devs[d] = NULL;
            tc_line(d ? TC_SKIP : TC_FAIL, "device %s: %s: %s", device_names[d], bd_status_name(st), bd_last_error());
        }
    }
    return devs[0] != NULL;
}

static inline void ti_close_devices(void)
{
    for (size_t d = 0; d < NDEV; d++) bd_device_close(devs[d]);
}

/* A system from equation text with parameters set to numbers in their declared units. */
static inline bd_system *ti_system(const char *text, const char *const *params, const double *values, int nparams)
{
    bd_system *s = NULL;
    bd_status st = bd_system_new(text, "<test>", &s);
    if (st) {
        tc_line(TC_FAIL, "system_new: %s: %s", bd_status_name(st), bd_last_error());
        return NULL;
    }
    for (int p = 0; p < nparams; p++)
        if ((st = bd_system_set_value(s, params[p], values[p]))) {
            tc_line(TC_FAIL, "set %s: %s: %s", params[p], bd_status_name(st), bd_last_error());
            bd_system_free(s);
            return NULL;
        }
    return s;
}

/* Least-squares slope of log(err) against log(dt): the measured order. */
static inline double ti_slope(const double *dt, const double *err, int n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double x = log(dt[i]), y = log(err[i]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

#endif
