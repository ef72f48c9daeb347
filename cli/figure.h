/* PNG figures of simulation results. */
#ifndef BD_FIGURE_H
#define BD_FIGURE_H

#include <stddef.h>
#include <stdint.h>

/* Spike raster (time on x up to t_end, neuron on y; indices >= split drawn in red). 0 on success. */
int figure_raster(const char *path, const int32_t *idx, const double *t, size_t nspikes, int32_t nneurons,
                  double t_end, int32_t split);

/* Traces: one panel per series (stacked), each scaled to its own range, x = t from t[0] to t[n-1];
 * ncurves curves per panel, curve c of panel v at y[v][r * stride + c]. 0 on success. */
int figure_traces(const char *path, const double *t, size_t n, const double *const *y, size_t npanels,
                  size_t ncurves, size_t stride);

#endif
