/* Plain serial reference implementations of every fixed operator, on host memory.
 * They define the operators' results: every device is tested against them. Used by the cpu device
 * opened as "cpu:ref", whose buffers' ctx are host pointers. */
#ifndef BD_REF_OPS_H
#define BD_REF_OPS_H

#include "backend.h"

/* Runs a validated op whose buffers are host buffers (buf->ctx is the data). */
bd_status bd_ref_run_op(const bd_op *op);

#endif
