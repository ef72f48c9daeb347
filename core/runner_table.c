/* Tabulated parameters of the runner (network.h bd_net_table): NPY time-series inputs and spike-time sources.
 * Each population's tables are laid out on the host, one after the other, in the run's precision and uploaded
 * once into one device buffer; the population kernel reads its row from the step scalar, so that nothing is
 * uploaded per step and every device reads the same values (docs/model-format.md "Input", "Population").
 *
 * A table of `rows` rows of `width` values holds row k for the steps s with s / stride == k (integer division),
 * and the parameter is 0 from row `rows` on. An NPY series whose row interval is a whole number m of steps gets
 * stride m and is stored as it is; any other interval is resampled onto the steps (stride 1, row s = the sample
 * floor(s dt / dt_file)). Spike times become a dense steps x elements table of 0 and 1 (stride 1). */
#include "runner_impl.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_MAX_BYTES ((size_t)64 << 20) /* per population: the device buffer of all its tables */

typedef struct run_tab {
    int sym;
    uint32_t offset, rows, width, stride;
} run_tab;

static void put(void *p, bd_dtype t, size_t j, double v)
{
    if (t == BD_F64) ((double *)p)[j] = v;
    else ((float *)p)[j] = (float)v;
}

/* Rows, width and stride of table tb at the run's dt (no values yet). */
static bd_status shape(const bd_run *r, const run_pop *p, const bd_net_table *tb, run_tab *o, double *nrows)
{
    o->sym = tb->sym;
    if (tb->spikes) {
        double last = 0;
        for (size_t k = 0; k < tb->rows; k++) {
            double step = floor(tb->values[2 * k + 1] / r->dt + 0.5);
            if (step < 1)
                return bd_fail(BD_ERR_MODEL, "spike-time source '%s': element %.0f spikes at %g ms, before the end of the "
                               "first step (dt = %g ms): a spike at time t is emitted by the step ending at round(t/dt)*dt, "
                               "so times must be >= dt/2", p->path, tb->values[2 * k], tb->values[2 * k + 1], r->dt);
            if (step > last) last = step;
        }
        *nrows = last; /* step round(t/dt) - 1 is the last row */
        o->width = (uint32_t)p->n, o->stride = 1;
        return BD_OK;
    }
    double ratio = tb->dt_ms / r->dt, m = floor(ratio + 0.5);
    o->width = (uint32_t)tb->width;
    if (m >= 1 && fabs(ratio - m) <= 1e-9 * ratio && m <= 4e9) {
        o->stride = (uint32_t)m;
        *nrows = (double)tb->rows;
    } else { /* resampled: the steps s with floor(s dt / dt_file) < rows */
        o->stride = 1;
        *nrows = ceil((double)tb->rows * tb->dt_ms / r->dt - 1e-9);
        if (*nrows < 1) *nrows = 1;
    }
    return BD_OK;
}

bd_status run_table_plan(bd_run *r, int pi)
{
    run_pop *p = &r->pops[pi];
    const bd_net_pop *np = &r->net->pops[pi];
    p->ntab = 0, p->b_tab = -1;
    if (!np->ntables) return BD_OK;
    run_tab *tabs = calloc((size_t)np->ntables, sizeof *tabs);
    if (!tabs) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory for its tables", p->path);
    double total = 0, nrows[64];
    bd_status st = np->ntables > 64 ? bd_fail(BD_ERR_LIMIT, "population '%s': more than 64 tables", p->path) : BD_OK;
    for (int j = 0; j < np->ntables && !st; j++) {
        if ((st = shape(r, p, &np->tables[j], &tabs[j], &nrows[j]))) break;
        if (nrows[j] < 1) nrows[j] = 1; /* no spikes at all: one row of zeros */
        tabs[j].offset = (uint32_t)(total < 4e9 ? total : 0);
        total += nrows[j] * tabs[j].width;
        if (total * (double)r->es > (double)TABLE_MAX_BYTES)
            st = bd_fail(BD_ERR_LIMIT, "population '%s': its %s table%s need%s %.0f MB on the device (limit %zu MB)%s", p->path,
                         np->tables[j].spikes ? "spike-time" : "input", j ? "s" : "", j ? "" : "s",
                         ceil(total * (double)r->es / 1048576.0), TABLE_MAX_BYTES >> 20,
                         np->tables[j].spikes ? ": a spike-time source stores steps x elements (up to its last spike); "
                                                "use fewer elements, a coarser dt or split it" : "");
        tabs[j].rows = (uint32_t)nrows[j];
    }
    if (st) return free(tabs), st;
    p->tabs = tabs;
    p->ntab = np->ntables;
    p->tab_len = (size_t)total;
    return BD_OK;
}

void run_table_emit(bd_run *r, int pi, bd_ir *k, bd_ir_val *vals)
{
    run_pop *p = &r->pops[pi];
    bd_ir_val i = bd_ir_index(k), step = bd_ir_param(k, p->s_step);
    for (int j = 0; j < p->ntab; j++) {
        const run_tab *tb = &p->tabs[j];
        bd_ir_val row = tb->stride > 1 ? bd_ir_binary(k, BD_IR_DIV, step, bd_ir_const(k, BD_U32, tb->stride)) : step;
        row = bd_ir_let(k, row);
        /* the index stays inside the table past its end; the value there is replaced by 0 */
        bd_ir_val at = bd_ir_binary(k, BD_IR_MIN, row, bd_ir_const(k, BD_U32, tb->rows - 1));
        at = bd_ir_binary(k, BD_IR_MUL, at, bd_ir_const(k, BD_U32, tb->width));
        if (tb->width > 1) at = bd_ir_binary(k, BD_IR_ADD, at, i);
        at = bd_ir_binary(k, BD_IR_ADD, at, bd_ir_const(k, BD_U32, tb->offset));
        bd_ir_val v = bd_ir_load(k, p->b_tab, at);
        vals[tb->sym] = bd_ir_let(k, bd_ir_select(k, bd_ir_binary(k, BD_IR_LT, row, bd_ir_const(k, BD_U32, tb->rows)), v,
                                                  bd_ir_const(k, r->t, 0)));
    }
}

bd_status run_table_buffers(bd_run *r)
{
    for (int pi = 0; pi < r->net->npops; pi++) {
        run_pop *p = &r->pops[pi];
        const bd_net_pop *np = &r->net->pops[pi];
        if (!p->ntab) continue;
        void *host = calloc(p->tab_len ? p->tab_len : 1, r->es);
        if (!host) return bd_fail(BD_ERR_NOMEM, "population '%s': out of memory for its tables", p->path);
        for (int j = 0; j < p->ntab; j++) {
            const bd_net_table *tb = &np->tables[j];
            const run_tab *o = &p->tabs[j];
            if (tb->spikes) {
                for (size_t k = 0; k < tb->rows; k++) {
                    size_t row = (size_t)floor(tb->values[2 * k + 1] / r->dt + 0.5) - 1, e = (size_t)tb->values[2 * k];
                    put(host, r->t, o->offset + row * o->width + e, 1);
                }
            } else if (o->stride > 1 || fabs(tb->dt_ms / r->dt - 1) <= 1e-9) {
                for (size_t k = 0; k < (size_t)o->rows * o->width; k++) put(host, r->t, o->offset + k, tb->values[k]);
            } else {
                for (size_t s = 0; s < o->rows; s++) {
                    double q = floor((double)s * r->dt / tb->dt_ms + 1e-9);
                    size_t src = q < (double)tb->rows ? (size_t)q : tb->rows - 1;
                    for (size_t c = 0; c < o->width; c++) put(host, r->t, o->offset + s * o->width + c, tb->values[src * o->width + c]);
                }
            }
        }
        bd_status st = run_buffer(r, p->tab_len * r->es, host, &p->tab, "table", p->path);
        free(host);
        if (st) return st;
    }
    return BD_OK;
}

void run_table_free(run_pop *p)
{
    bd_buffer_free(p->tab);
    free(p->tabs);
    p->tab = NULL, p->tabs = NULL;
}
