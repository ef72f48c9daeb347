/* bdyn: brain dynamics programming on CPUs, OpenCL and Vulkan devices. The umbrella header. */
#ifndef BDYN_H
#define BDYN_H

#define BDYN_VERSION "0.1.0"

#include "status.h"
#include "device.h"
#include "ir.h"
#include "ops.h"
#include "io.h"
#include "integrate.h"
#include "model.h"
#include "model_types.h"
#include "run.h"
#include "measure.h"

#endif
