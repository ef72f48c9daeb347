/* The integration driver: one kernel per run that loads the state, loops over many steps of a method
 * (core/integrate_rk.c, _sde.c, _dde.c, _fde.c), keeps delay and memory rings, and records samples into a
 * device buffer downloaded per chunk. Systems are in core/system.c, trajectory files in core/trajectory.c;
 * step control and output format: docs/integrate.md. */
#include "integrate_driver.h"
#include "error.h"
#include "nearest.h"
#include "ir_impl.h"
#include "bdyn/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

/* Steps per launch of a fixed-step kernel, and trial steps per launch of an adaptive one: enough to
 * hide the launch cost, well below llvmpipe's 65,535 loop iterations per invocation. */
#define STEPS_PER_LAUNCH 1000u
#define TRIALS_PER_LAUNCH 8192u
#define RECORD_CHUNK_BYTES ((size_t)16 << 20)
#define PROGRESS_UNDERFLOW 0xFFFFFFFFu /* adaptive: the element's step size underflowed */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------------ */
/* Methods                                                                                          */

static const bd_method *const *method_tables(void)
{
    static const bd_method *const t[] = {bd_methods_rk, bd_methods_sde, bd_methods_fde, NULL};
    return t;
}

const bd_method *bd_method_find(const char *name)
{
    for (const bd_method *const *t = method_tables(); name && *t; t++)
        for (const bd_method *m = *t; m->name; m++)
            if (strcmp(m->name, name) == 0) return m;
    return NULL;
}

#define MAX_METHODS 96
static const char *method_names[MAX_METHODS + 1];
static once_flag method_names_once = ONCE_FLAG_INIT;

/* Filled once (the tables live in other translation units, so no static initializer can list them). */
static void fill_method_names(void)
{
    size_t n = 0;
    for (const bd_method *const *t = method_tables(); *t; t++)
        for (const bd_method *m = *t; m->name && n < MAX_METHODS; m++) method_names[n++] = m->name;
    method_names[n] = NULL;
}

const char *const *bd_integrate_methods(void)
{
    call_once(&method_names_once, fill_method_names);
    return method_names;
}

const char *bd_integrate_method_doc(const char *method)
{
    const bd_method *m = bd_method_find(method);
    return m ? m->doc : NULL;
}

void bd_integrate_opts_init(bd_integrate_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->method = "rk4";
    o->dt = 0.1;
    o->n = 1;
    o->atol = o->rtol = 1e-6;
    o->alpha = 1;
    o->precision = BD_F64;
}

/* ------------------------------------------------------------------------------------------------ */
/* Helpers for the method families                                                                  */

/* The lowering environment at state xs and time tt: parameters and constants from c->sym_vals, each
 * algebraic variable lowered once and let-bound (core/expr_lower.c does no caching; an algebraic handle
 * is only valid for the state it was computed from, hence per call). */
/* rand() at call site `site` (core/expr.h): Philox counter (elem, step, site, 1) under the step's key. Word 3 is
 * 1 where the Wiener increments of bd_step_normal have 0, so the two never share a block; on the runner the key
 * is the population's noise key, so every population has its own draws. */
static bd_ir_val step_rand(bd_lower_env *env, int site)
{
    bd_step_ctx *c = env->user;
    bd_ir_val ctr[4] = {c->elem, c->step, bd_ir_const(c->k, BD_U32, (double)(uint32_t)site), bd_ir_const(c->k, BD_U32, 1)};
    bd_ir_val key[2] = {c->key0, c->key1};
    return bd_ir_let(c->k, bd_ir_rng(c->k, BD_RNG_UNIFORM, c->t, ctr, key, 0));
}

/* `dt` in an expression: the step of this kernel (ms), the current one for adaptive methods. */
static bd_ir_val step_dt(bd_lower_env *env) { return ((bd_step_ctx *)env->user)->dt; }

static bd_ir_val *env_vals(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, bd_lower_env *env)
{
    const bd_eqs *e = c->eqs;
    bd_ir_val *vals = malloc((size_t)e->nsyms * sizeof *vals);
    if (!vals) {
        bd_fail(BD_ERR_NOMEM, "method '%s': out of memory lowering the equations", c->method->name);
        return NULL;
    }
    memcpy(vals, c->sym_vals, (size_t)e->nsyms * sizeof *vals);
    vals[0] = tt;
    for (int v = 0; v < c->nstate; v++) vals[e->odes[v].sym] = xs[v];
    *env = (bd_lower_env){.k = c->k, .t = c->t, .eqs = e, .vals = vals, .delay = bd_dde_lower_delay, .rand = step_rand, .dt = step_dt, .user = c};
    for (int j = 0; j < e->nsyms; j++)
        if (e->syms[j].kind == BD_SYM_ALGEBRAIC && e->syms[j].def) vals[j] = bd_ir_let(c->k, bd_ex_lower(env, e->syms[j].def));
    return vals;
}

void bd_step_drift(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, bd_ir_val *out)
{
    bd_lower_env env;
    bd_ir_val *vals = env_vals(c, xs, tt, &env);
    for (int v = 0; v < c->nstate; v++) out[v] = vals ? bd_ir_let(c->k, bd_ex_lower(&env, c->eqs->odes[v].drift)) : -1;
    free(vals);
}

bd_ir_val bd_step_noise(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, int v, int k)
{
    if (v < 0 || v >= c->nstate || k < 0 || k >= c->eqs->odes[v].nnoise) return -1;
    return bd_step_lower(c, xs, tt, c->eqs->odes[v].noise[k]);
}

bd_ir_val bd_step_lower(bd_step_ctx *c, const bd_ir_val *xs, bd_ir_val tt, const bd_expr *e)
{
    bd_lower_env env;
    bd_ir_val *vals = env_vals(c, xs, tt, &env);
    bd_ir_val r = vals ? bd_ir_let(c->k, bd_ex_lower(&env, e)) : -1;
    free(vals);
    return r;
}

bd_ir_val bd_step_normal(bd_step_ctx *c, unsigned draw)
{
    bd_ir_val ctr[4] = {c->elem, c->step, bd_ir_const(c->k, BD_U32, draw), bd_ir_const(c->k, BD_U32, 0)};
    bd_ir_val key[2] = {c->key0, c->key1};
    return bd_ir_let(c->k, bd_ir_rng(c->k, BD_RNG_NORMAL, c->t, ctr, key, 0));
}

bd_ir_val bd_step_const(bd_step_ctx *c, double v) { return bd_ir_const(c->k, c->t, v); }

/* ------------------------------------------------------------------------------------------------ */
/* The driver                                                                                       */

typedef struct run {
    bd_device *dev;
    const bd_device_info *info;
    const bd_system *sys;
    const bd_eqs *eqs;
    bd_integrate_opts o;
    const bd_method *m;
    int adaptive, sde, fde;
    bd_dtype t;
    size_t es, n;
    int nstate;
    uint64_t nsteps; /* fixed step: steps of the run; sample r is at step min(r * every, nsteps) */
    uint32_t every;
    size_t nrec, chunk; /* samples, and samples per record chunk */
    int *par, npar;     /* per-element parameters, in buffer order (p * n + i) */
    int *cst, ncst;     /* constants */
    int cst_in_buffer;  /* more constants than free scalar slots: they go into a buffer */
    uint32_t hist_len;
    uint32_t per_launch; /* fixed step: steps per launch */
    /* buffer and scalar slots of the kernel (-1 if absent) */
    int b_state, b_rec, b_par, b_cst, b_hist, b_init, b_time, b_h, b_prog, b_count;
    int s_n, s_count, s_t0, s_rbase, s_step0, s_dt, s_every, s_last, s_key0, s_key1, s_recdt, s_tend, s_rend;
    int s_cst0;
    int nbuf, nscal;
    bd_buffer *buf[BD_IR_MAX_BUFFERS];
    bd_value scal[BD_IR_MAX_SCALARS];
} run;

static bd_ir_val u32c(bd_ir *k, uint64_t v) { return bd_ir_const(k, BD_U32, (double)v); }

/* a * n + i: the layout of every per-element array (state, parameters, records, rings). */
static bd_ir_val at(bd_ir *k, bd_ir_val a, bd_ir_val n, bd_ir_val i)
{
    return bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MUL, a, n), i);
}

static int add_buffer(run *r, bd_ir *k, bd_dtype t, int writable)
{
    r->nbuf++;
    return bd_ir_buffer(k, t, writable);
}

static int add_scalar(run *r, bd_ir *k, bd_dtype t)
{
    r->nscal++;
    return bd_ir_scalar(k, t);
}

static void put(void *p, bd_dtype t, size_t j, double v)
{
    if (t == BD_F64) ((double *)p)[j] = v;
    else ((float *)p)[j] = (float)v;
}

static double get(const void *p, bd_dtype t, size_t j)
{
    return t == BD_F64 ? ((const double *)p)[j] : (double)((const float *)p)[j];
}

static bd_value fval(bd_dtype t, double v)
{
    bd_value x;
    memset(&x, 0, sizeof x);
    if (t == BD_F64) x.f64 = v;
    else x.f32 = (float)v;
    return x;
}

static bd_value uval(uint64_t v)
{
    bd_value x;
    memset(&x, 0, sizeof x);
    x.u32 = (uint32_t)v;
    return x;
}

/* Stores the state into the record chunk at sample index ridx (relative to the chunk). */
static void store_record(run *r, bd_ir *k, bd_ir_val ridx, const bd_ir_val *x, bd_ir_val nn, bd_ir_val i)
{
    for (int v = 0; v < r->nstate; v++) {
        bd_ir_val row = bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MUL, ridx, u32c(k, (uint64_t)r->nstate)),
                                     u32c(k, (uint64_t)v));
        bd_ir_store(k, r->b_rec, at(k, row, nn, i), x[v]);
    }
}

/* The fixed-step loop: `count` steps from step0; time from the step index (no drift by accumulation). */
static bd_status build_fixed(run *r, bd_ir *k, bd_step_ctx *c, bd_ir_val nn, bd_ir_val i)
{
    bd_dtype t = r->t;
    c->time = bd_ir_var(k, bd_ir_const(k, t, 0));
    c->dt = bd_ir_param(k, r->s_dt);
    bd_ir_val step0 = bd_ir_param(k, r->s_step0), t0 = bd_ir_param(k, r->s_t0), every = bd_ir_param(k, r->s_every);
    bd_ir_val last = bd_ir_param(k, r->s_last), rbase = bd_ir_param(k, r->s_rbase);
    bd_ir_val j = bd_ir_for(k, bd_ir_param(k, r->s_count));
    c->step = bd_ir_let(k, bd_ir_binary(k, BD_IR_ADD, step0, j));
    bd_ir_assign(k, c->time, bd_ir_binary(k, BD_IR_ADD, t0, bd_ir_binary(k, BD_IR_MUL, bd_ir_cast(k, t, c->step), c->dt)));
    bd_status st = r->m->emit(c);
    if (st) return st;
    bd_ir_val s1 = bd_ir_let(k, bd_ir_binary(k, BD_IR_ADD, c->step, u32c(k, 1)));
    if (r->hist_len) {
        bd_ir_val slot = bd_ir_let(k, bd_ir_binary(k, BD_IR_MOD, s1, u32c(k, r->hist_len)));
        for (int v = 0; v < r->nstate; v++) {
            bd_ir_val row = bd_ir_binary(k, BD_IR_ADD, u32c(k, (uint64_t)v * r->hist_len), slot);
            bd_ir_store(k, r->b_hist, at(k, row, nn, i), c->x[v]);
        }
    }
    bd_ir_val due = bd_ir_binary(k, BD_IR_OR,
                                 bd_ir_binary(k, BD_IR_EQ, bd_ir_binary(k, BD_IR_MOD, s1, every), u32c(k, 0)),
                                 bd_ir_binary(k, BD_IR_EQ, s1, last));
    bd_ir_if(k, due);
    /* sample index ceil(s1 / every): the last sample may fall between two multiples of every */
    bd_ir_val ridx = bd_ir_binary(k, BD_IR_DIV, bd_ir_binary(k, BD_IR_ADD, s1, bd_ir_binary(k, BD_IR_SUB, every, u32c(k, 1))),
                                  every);
    store_record(r, k, bd_ir_let(k, bd_ir_binary(k, BD_IR_SUB, ridx, rbase)), c->x, nn, i);
    bd_ir_end(k);
    bd_ir_end(k);
    return bd_ir_status(k);
}

/* The adaptive loop: trial steps until the element has recorded every sample of the chunk; per-element
 * time, step size, progress and counts live in buffers between launches. */
static bd_status build_adaptive(run *r, bd_ir *k, bd_step_ctx *c, bd_ir_val nn, bd_ir_val i)
{
    bd_dtype t = r->t;
    c->time = bd_ir_var(k, bd_ir_load(k, r->b_time, i));
    bd_ir_val h = bd_ir_var(k, bd_ir_load(k, r->b_h, i));
    bd_ir_val prog = bd_ir_var(k, bd_ir_load(k, r->b_prog, i));
    bd_ir_val acc = bd_ir_var(k, bd_ir_load(k, r->b_count, i));
    bd_ir_val rej = bd_ir_var(k, bd_ir_load(k, r->b_count, bd_ir_binary(k, BD_IR_ADD, nn, i)));
    c->dt = bd_ir_var(k, h);
    c->step = u32c(k, 0);
    bd_ir_val t0 = bd_ir_param(k, r->s_t0), recdt = bd_ir_param(k, r->s_recdt), tend = bd_ir_param(k, r->s_tend);
    bd_ir_val rend = bd_ir_param(k, r->s_rend), rbase = bd_ir_param(k, r->s_rbase);
    bd_ir_val one = bd_ir_const(k, t, 1), u0 = u32c(k, 0), u1 = u32c(k, 1);
    bd_ir_val *xnew = malloc((size_t)r->nstate * sizeof *xnew);
    if (!xnew) return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", r->m->name);

    bd_ir_for(k, bd_ir_param(k, r->s_count));
    bd_ir_if(k, bd_ir_binary(k, BD_IR_GE, prog, rend));
    bd_ir_break(k);
    bd_ir_end(k);
    bd_ir_val target = bd_ir_let(
        k, bd_ir_binary(k, BD_IR_MIN, bd_ir_binary(k, BD_IR_ADD, t0, bd_ir_binary(k, BD_IR_MUL, bd_ir_cast(k, t, prog), recdt)),
                        tend));
    bd_ir_val rem = bd_ir_let(k, bd_ir_binary(k, BD_IR_SUB, target, c->time));
    bd_ir_val lastu = bd_ir_let(k, bd_ir_select(k, bd_ir_binary(k, BD_IR_GE, h, rem), u1, u0));
    bd_ir_assign(k, c->dt, bd_ir_binary(k, BD_IR_MIN, h, rem));
    bd_ir_val err = -1;
    bd_status st = bd_rk_trial(c, xnew, &err);
    if (st) {
        free(xnew);
        return st;
    }
    /* NaN errors compare false: rejected, and the step shrinks until it underflows (reported) */
    bd_ir_val oku = bd_ir_let(k, bd_ir_select(k, bd_ir_binary(k, BD_IR_LE, err, one), u1, u0));
    bd_ir_val ok = bd_ir_binary(k, BD_IR_EQ, oku, u1);
    for (int v = 0; v < r->nstate; v++) bd_ir_assign(k, c->x[v], bd_ir_select(k, ok, xnew[v], c->x[v]));
    free(xnew);
    bd_ir_val reach = bd_ir_let(k, bd_ir_binary(k, BD_IR_BAND, oku, lastu));
    /* landing exactly on the record time, not within rounding of it */
    bd_ir_assign(k, c->time,
                 bd_ir_select(k, ok, bd_ir_select(k, bd_ir_binary(k, BD_IR_EQ, lastu, u1), target,
                                                  bd_ir_binary(k, BD_IR_ADD, c->time, c->dt)),
                              c->time));
    bd_ir_assign(k, acc, bd_ir_binary(k, BD_IR_ADD, acc, oku));
    bd_ir_assign(k, rej, bd_ir_binary(k, BD_IR_ADD, rej, bd_ir_binary(k, BD_IR_SUB, u1, oku)));
    bd_ir_if(k, bd_ir_binary(k, BD_IR_EQ, reach, u1));
    store_record(r, k, bd_ir_binary(k, BD_IR_SUB, prog, rbase), c->x, nn, i);
    bd_ir_assign(k, prog, bd_ir_binary(k, BD_IR_ADD, prog, u1));
    bd_ir_end(k);
    /* h_new = h * clamp(0.9 err^(-1/(q+1)), 0.2, 5); err clamped away from 0 (pow(0, -a)) and NaN */
    bd_ir_val errc = bd_ir_let(k, bd_ir_select(k, bd_ir_binary(k, BD_IR_LE, err, bd_ir_const(k, t, 1e30)),
                                               bd_ir_binary(k, BD_IR_MAX, err, bd_ir_const(k, t, 1e-10)),
                                               bd_ir_const(k, t, 1e30)));
    bd_ir_val fac = bd_ir_clamp(
        k,
        bd_ir_binary(k, BD_IR_MUL, bd_ir_const(k, t, 0.9),
                     bd_ir_binary(k, BD_IR_POW, errc, bd_ir_const(k, t, -bd_rk_control_exponent(r->m)))),
        bd_ir_const(k, t, 0.2), bd_ir_const(k, t, 5));
    bd_ir_val hnew = bd_ir_let(k, bd_ir_binary(k, BD_IR_MUL, c->dt, fac));
    /* a step clipped to a record time says nothing about the step the solution allows: keep h */
    bd_ir_assign(k, h, bd_ir_select(k, bd_ir_binary(k, BD_IR_EQ, reach, u1), bd_ir_binary(k, BD_IR_MAX, h, hnew), hnew));
    bd_ir_if(k, bd_ir_binary(k, BD_IR_EQ, bd_ir_binary(k, BD_IR_ADD, c->time, h), c->time));
    bd_ir_assign(k, prog, u32c(k, PROGRESS_UNDERFLOW));
    bd_ir_break(k);
    bd_ir_end(k);
    bd_ir_end(k);

    bd_ir_store(k, r->b_time, i, c->time);
    bd_ir_store(k, r->b_h, i, h);
    bd_ir_store(k, r->b_prog, i, prog);
    bd_ir_store(k, r->b_count, i, acc);
    bd_ir_store(k, r->b_count, bd_ir_binary(k, BD_IR_ADD, nn, i), rej);
    return bd_ir_status(k);
}

static bd_status build_kernel(run *r, bd_ir **out)
{
    *out = NULL;
    char name[49];
    snprintf(name, sizeof name, "integrate_%s", r->m->name);
    bd_ir *k = NULL;
    bd_status st = bd_ir_new(name, &k);
    if (st) return st;
    bd_dtype t = r->t;
    r->b_state = add_buffer(r, k, t, 1);
    r->b_rec = add_buffer(r, k, t, 1);
    r->b_par = r->npar ? add_buffer(r, k, t, 0) : -1;
    r->b_hist = r->hist_len ? add_buffer(r, k, t, 1) : -1;
    r->b_init = r->fde ? add_buffer(r, k, t, 0) : -1;
    r->b_time = r->b_h = r->b_prog = r->b_count = -1;
    if (r->adaptive) {
        r->b_time = add_buffer(r, k, t, 1);
        r->b_h = add_buffer(r, k, t, 1);
        r->b_prog = add_buffer(r, k, BD_U32, 1);
        r->b_count = add_buffer(r, k, BD_U32, 1);
    }
    r->s_n = add_scalar(r, k, BD_U32);
    r->s_count = add_scalar(r, k, BD_U32);
    r->s_t0 = add_scalar(r, k, t);
    r->s_rbase = add_scalar(r, k, BD_U32);
    r->s_step0 = r->s_dt = r->s_every = r->s_last = r->s_key0 = r->s_key1 = r->s_recdt = r->s_tend = r->s_rend = -1;
    if (r->adaptive) {
        r->s_recdt = add_scalar(r, k, t);
        r->s_tend = add_scalar(r, k, t);
        r->s_rend = add_scalar(r, k, BD_U32);
    } else {
        r->s_step0 = add_scalar(r, k, BD_U32);
        r->s_dt = add_scalar(r, k, t);
        r->s_every = add_scalar(r, k, BD_U32);
        r->s_last = add_scalar(r, k, BD_U32);
    }
    if (r->sde) {
        r->s_key0 = add_scalar(r, k, BD_U32);
        r->s_key1 = add_scalar(r, k, BD_U32);
    }
    r->cst_in_buffer = r->ncst > BD_IR_MAX_SCALARS - r->nscal;
    r->b_cst = r->cst_in_buffer ? add_buffer(r, k, t, 0) : -1;
    r->s_cst0 = r->nscal;
    for (int j = 0; j < r->ncst && !r->cst_in_buffer; j++) add_scalar(r, k, t);

    bd_ir_val i = bd_ir_index(k), nn = bd_ir_param(k, r->s_n);
    bd_ir_val *vals = malloc((size_t)r->eqs->nsyms * sizeof *vals);
    bd_ir_val *x = malloc((size_t)r->nstate * sizeof *x);
    if (!vals || !x) {
        free(vals), free(x), bd_ir_free(k);
        return bd_fail(BD_ERR_NOMEM, "method '%s': out of memory building the kernel", r->m->name);
    }
    for (int j = 0; j < r->eqs->nsyms; j++) vals[j] = -1;
    for (int p = 0; p < r->npar; p++) vals[r->par[p]] = bd_ir_let(k, bd_ir_load(k, r->b_par, at(k, u32c(k, (uint64_t)p), nn, i)));
    for (int j = 0; j < r->ncst; j++)
        vals[r->cst[j]] = r->cst_in_buffer ? bd_ir_let(k, bd_ir_load(k, r->b_cst, u32c(k, (uint64_t)j)))
                                           : bd_ir_param(k, r->s_cst0 + j);
    for (int v = 0; v < r->nstate; v++) x[v] = bd_ir_var(k, bd_ir_load(k, r->b_state, at(k, u32c(k, (uint64_t)v), nn, i)));

    bd_step_ctx c = {
        .k = k, .t = t, .sys = r->sys, .eqs = r->eqs, .method = r->m, .opts = &r->o, .nstate = r->nstate, .x = x,
        .elem = i, .sym_vals = vals, .hist_slot = r->b_hist, .hist_len = r->hist_len, .init_slot = r->b_init, .n = nn,
        .key0 = r->sde ? bd_ir_param(k, r->s_key0) : u32c(k, 0), .key1 = r->sde ? bd_ir_param(k, r->s_key1) : u32c(k, 0),
    };
    st = r->adaptive ? build_adaptive(r, k, &c, nn, i) : build_fixed(r, k, &c, nn, i);
    for (int v = 0; v < r->nstate && !st; v++) bd_ir_store(k, r->b_state, at(k, u32c(k, (uint64_t)v), nn, i), x[v]);
    if (!st) st = bd_ir_status(k);
    free(vals), free(x);
    if (st) {
        bd_ir_free(k);
        return bd_fail_context(st, "method '%s'", r->m->name);
    }
    *out = k;
    return BD_OK;
}

static int expr_has_delay(const bd_expr *e)
{
    if (!e) return 0;
    if (e->kind == BD_EX_DELAY) return 1;
    for (int a = 0; a < 3; a++)
        if (e->arg[a] && expr_has_delay(e->arg[a])) return 1;
    return 0;
}

static int eqs_have_delay(const bd_eqs *e)
{
    for (int v = 0; v < e->nodes; v++) {
        if (expr_has_delay(e->odes[v].drift)) return 1;
        for (int k = 0; k < e->odes[v].nnoise; k++)
            if (expr_has_delay(e->odes[v].noise[k])) return 1;
    }
    for (int j = 0; j < e->nsyms; j++)
        if (e->syms[j].kind == BD_SYM_ALGEBRAIC && expr_has_delay(e->syms[j].def)) return 1;
    return 0;
}

static bd_status unknown_method(const char *name)
{
    const char *const *names = bd_integrate_methods();
    size_t count = 0;
    while (names[count]) count++;
    const char *near = bd_nearest_name(name, names, count);
    return bd_fail(BD_ERR_NOT_FOUND, "bd_integrate: unknown method '%s'%s%s%s (bd_integrate_methods() lists them)", name,
                   near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
}

/* Checks the options and the system, and works out the sizes of the run. */
static bd_status plan(run *r)
{
    bd_integrate_opts *o = &r->o;
    if (!o->method) o->method = "rk4";
    r->m = bd_method_find(o->method);
    if (!r->m) return unknown_method(o->method);
    int noisy = 0;
    for (int v = 0; v < r->eqs->nodes; v++) noisy |= r->eqs->odes[v].nnoise > 0;
    if (noisy && strcmp(r->m->name, "euler") == 0) r->m = bd_method_find("euler_maruyama"); /* as BrainPy's sdeint */
    const char *mn = r->m->name, *dn = r->info->name;
    if (!(o->dt > 0) || !isfinite(o->dt)) return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): dt must be > 0, got %g ms", mn, o->dt);
    if (!(o->duration >= 0) || !isfinite(o->duration))
        return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): duration must be >= 0, got %g ms", mn, o->duration);
    if (!isfinite(o->t0)) return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): t0 is not finite", mn);
    if (!(o->record_every >= 0) || !isfinite(o->record_every))
        return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): record_every must be >= 0, got %g ms", mn, o->record_every);
    if (o->n < 1) return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): n must be >= 1", mn);
    if (o->n > UINT32_MAX / 4) return bd_fail(BD_ERR_LIMIT, "bd_integrate (%s): n = %zu elements is too many", mn, o->n);
    if (o->precision != BD_F32 && o->precision != BD_F64)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): precision must be BD_F32 or BD_F64, got %s", mn,
                       bd_dtype_name(o->precision));
    if (o->precision == BD_F64 && !r->info->fp64)
        return bd_fail(BD_ERR_UNSUPPORTED, "bd_integrate (%s): device '%s' (%s) has no double precision; use precision "
                       "BD_F32", mn, dn, r->info->description);
    if (o->atol < 0 || o->rtol < 0 || !isfinite(o->atol) || !isfinite(o->rtol))
        return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): atol and rtol must be >= 0 (0 = default 1e-6)", mn);
    if (o->atol == 0) o->atol = 1e-6;
    if (o->rtol == 0) o->rtol = 1e-6;
    r->adaptive = r->m->kind == BD_METHOD_ADAPTIVE;
    r->sde = r->m->kind == BD_METHOD_SDE;
    r->fde = r->m->kind == BD_METHOD_FDE;
    if (r->fde && !(o->alpha > 0 && o->alpha <= 1))
        return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate (%s): alpha must be in (0, 1], got %g", mn, o->alpha);
    r->t = o->precision;
    r->es = bd_dtype_size(r->t);
    r->n = o->n;

    const bd_eqs *e = r->eqs;
    r->nstate = e->nodes;
    for (int v = 0; v < e->nodes; v++) {
        const char *vn = e->syms[e->odes[v].sym].name;
        if (e->odes[v].nnoise && !r->sde)
            return bd_fail(BD_ERR_MODEL, "bd_integrate: the equation of '%s' (%s line %d) has noise; '%s' is not an SDE "
                           "method (use euler_maruyama, milstein, milstein_strat, milstein_dfree or heun)",
                           vn, e->source_name, e->odes[v].line, mn);
        if (r->sys->init_array[v] && r->sys->init_n[v] != r->n)
            return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate: initial values of '%s' have %zu elements, the run has n = %zu",
                           vn, r->sys->init_n[v], r->n);
    }
    r->par = malloc((size_t)e->nsyms * sizeof *r->par);
    r->cst = malloc((size_t)e->nsyms * sizeof *r->cst);
    if (!r->par || !r->cst) return bd_fail(BD_ERR_NOMEM, "bd_integrate: out of memory");
    for (int j = 0; j < e->nsyms; j++) {
        const bd_symbol *y = &e->syms[j];
        if (y->kind != BD_SYM_PARAM && y->kind != BD_SYM_CONST) continue;
        if (isnan(y->value) && !r->sys->param_array[j])
            return bd_fail(BD_ERR_MODEL, "bd_integrate: %s '%s' (%s line %d) has no value (bd_system_set)",
                           y->kind == BD_SYM_CONST ? "constant" : "parameter", y->name, e->source_name, y->line);
        if (r->sys->param_array[j] && r->sys->param_n[j] != r->n)
            return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate: parameter '%s' has %zu values, the run has n = %zu", y->name,
                           r->sys->param_n[j], r->n);
        if (y->kind == BD_SYM_PARAM) r->par[r->npar++] = j;
        else r->cst[r->ncst++] = j;
    }

    /* samples: every record interval, plus the end if it falls between two */
    double D = o->duration;
    if (r->adaptive) {
        double rec = o->record_every > 0 ? o->record_every : o->dt;
        double q = D / rec;
        double whole = floor(q + 1e-9);
        r->nrec = 1 + (size_t)whole + (D - whole * rec > 1e-9 * fmax(D, 1) ? 1 : 0);
        o->record_every = rec;
    } else {
        double steps = floor(D / o->dt + 0.5);
        if (steps > 0xFFFFFF00u)
            return bd_fail(BD_ERR_LIMIT, "bd_integrate (%s): %.0f steps (duration / dt) exceed the limit of 2^32 - 256", mn, steps);
        r->nsteps = (uint64_t)steps;
        double every = o->record_every > 0 ? floor(o->record_every / o->dt + 0.5) : 1;
        r->every = (uint32_t)fmin(fmax(every, 1), (double)(r->nsteps ? r->nsteps : 1));
        r->nrec = 1 + (size_t)((r->nsteps + r->every - 1) / r->every);
    }
    size_t row = (size_t)r->nstate * r->n * r->es;
    r->chunk = RECORD_CHUNK_BYTES / row;
    if (r->chunk < 1) r->chunk = 1;
    if (r->chunk > r->nrec - 1 && r->nrec > 1) r->chunk = r->nrec - 1;

    int delays = eqs_have_delay(e);
    if (delays && r->adaptive)
        return bd_fail(BD_ERR_UNSUPPORTED, "bd_integrate (%s): the equations have delays, which need a fixed-step method",
                       mn);
    uint32_t len = 0;
    if (delays) {
        bd_status st = bd_dde_ring_len(r->sys, r->n, o->dt, &len);
        if (st) return bd_fail_context(st, "bd_integrate (%s)", mn);
    }
    if (r->fde) {
        /* the memory's steps plus the current one (the L1 differences reach one step further) */
        uint64_t want = (o->memory ? (uint64_t)o->memory : r->nsteps) + 1;
        if (want > UINT32_MAX / 2) return bd_fail(BD_ERR_LIMIT, "bd_integrate (%s): memory of %llu steps is too long", mn,
                                                   (unsigned long long)want);
        if (want > len) len = (uint32_t)want;
    }
    r->hist_len = len;
    /* llvmpipe stops an invocation after 65,535 loop iterations in all: an FDE step loops over the memory, so
     * fewer steps go into one launch, and a memory longer than that cannot run there at all. */
    r->per_launch = STEPS_PER_LAUNCH;
    if (r->fde) {
        uint64_t per = 60000 / ((uint64_t)len + 1);
        r->per_launch = per < 1 ? 1 : per > STEPS_PER_LAUNCH ? STEPS_PER_LAUNCH : (uint32_t)per;
        if (len + 1 > 60000 && strstr(r->info->description, "llvmpipe"))
            return bd_fail(BD_ERR_LIMIT, "bd_integrate (%s) on %s (%s): a memory of %u steps exceeds the 65,535 loop "
                           "iterations llvmpipe allows one invocation; set a shorter memory or use another device",
                           mn, dn, r->info->description, len - 1);
    }
    return BD_OK;
}

/* Allocates and uploads buffer `slot` with `bytes` from host (or filled with zeros if host is NULL). */
static bd_status make_buffer(run *r, int slot, size_t bytes, const void *host, const char *what)
{
    if (slot < 0) return BD_OK;
    bd_status st = bd_buffer_alloc(r->dev, bytes ? bytes : 8, &r->buf[slot]);
    if (!st && host) st = bd_buffer_upload(r->buf[slot], 0, host, bytes);
    if (!st && !host) {
        uint32_t zero = 0;
        st = bd_buffer_fill(r->buf[slot], 0, (bytes ? bytes : 8) / 4 * 4, &zero, 4);
    }
    return st ? bd_fail_context(st, "bd_integrate (%s) on %s: %s buffer (%zu bytes)", r->m->name, r->info->name, what, bytes)
              : BD_OK;
}

static double param_value(const run *r, int sym, size_t e)
{
    const double *a = r->sys->param_array[sym];
    return a ? a[e] : r->eqs->syms[sym].value;
}

static double init_value(const run *r, int v, size_t e)
{
    const double *a = r->sys->init_array[v];
    return a ? a[e] : r->sys->init[v];
}

/* The history ring for steps <= 0: the history expression at t0 + s dt (or the initial value). */
static bd_status fill_history(run *r, void *host)
{
    const bd_eqs *e = r->eqs;
    double *vals = malloc((size_t)e->nsyms * sizeof *vals);
    if (!vals) return bd_fail(BD_ERR_NOMEM, "bd_integrate: out of memory for the history");
    uint32_t L = r->hist_len;
    for (size_t el = 0; el < r->n; el++) {
        for (int j = 0; j < e->nsyms; j++)
            vals[j] = e->syms[j].kind == BD_SYM_PARAM || e->syms[j].kind == BD_SYM_CONST ? param_value(r, j, el) : NAN;
        for (int v = 0; v < r->nstate; v++) {
            const bd_expr *hx = r->sys->history[v];
            for (uint32_t back = 0; back < L; back++) { /* step s = -back sits in slot (-back) mod L */
                double x = init_value(r, v, el);
                if (back > 0 && hx && !r->fde) {
                    vals[0] = r->o.t0 - (double)back * r->o.dt;
                    x = bd_ex_eval(e, hx, vals, NULL, NULL);
                }
                uint32_t slot = (L - back % L) % L;
                put(host, r->t, ((size_t)v * L + slot) * r->n + el, x);
            }
        }
    }
    free(vals);
    return BD_OK;
}

static bd_status setup(run *r)
{
    size_t n = r->n, ns = (size_t)r->nstate, es = r->es;
    size_t big = ns * n;
    if (r->npar * n > big) big = (size_t)r->npar * n;
    if ((size_t)r->ncst > big) big = (size_t)r->ncst;
    if (2 * n > big) big = 2 * n;
    if (r->hist_len && (size_t)r->hist_len * ns * n > big) big = (size_t)r->hist_len * ns * n;
    void *host = malloc(big * 8);
    if (!host) return bd_fail(BD_ERR_NOMEM, "bd_integrate: out of memory for %zu values", big);
    for (int v = 0; v < r->nstate; v++)
        for (size_t e = 0; e < n; e++) put(host, r->t, (size_t)v * n + e, init_value(r, v, e));
    bd_status st = make_buffer(r, r->b_state, ns * n * es, host, "state");
    if (!st) st = make_buffer(r, r->b_init, ns * n * es, host, "initial state");
    if (!st) st = make_buffer(r, r->b_rec, r->chunk * ns * n * es, NULL, "record");
    if (!st && r->b_par >= 0) {
        for (int p = 0; p < r->npar; p++)
            for (size_t e = 0; e < n; e++) put(host, r->t, (size_t)p * n + e, param_value(r, r->par[p], e));
        st = make_buffer(r, r->b_par, (size_t)r->npar * n * es, host, "parameter");
    }
    if (!st && r->b_cst >= 0) {
        for (int j = 0; j < r->ncst; j++) put(host, r->t, (size_t)j, r->eqs->syms[r->cst[j]].value);
        st = make_buffer(r, r->b_cst, (size_t)r->ncst * es, host, "constant");
    }
    if (!st && r->hist_len) {
        st = fill_history(r, host);
        if (!st) st = make_buffer(r, r->b_hist, (size_t)r->hist_len * ns * n * es, host, "history ring");
    }
    if (!st && r->adaptive) {
        for (size_t e = 0; e < n; e++) put(host, r->t, e, r->o.t0);
        st = make_buffer(r, r->b_time, n * es, host, "time");
        for (size_t e = 0; !st && e < n; e++) put(host, r->t, e, r->o.dt);
        if (!st) st = make_buffer(r, r->b_h, n * es, host, "step size");
        for (size_t e = 0; !st && e < n; e++) ((uint32_t *)host)[e] = 1; /* sample 0 is the initial state */
        if (!st) st = make_buffer(r, r->b_prog, n * 4, host, "progress");
        if (!st) st = make_buffer(r, r->b_count, 2 * n * 4, NULL, "step count");
    }
    free(host);
    /* scalars that stay the same for the whole run */
    r->scal[r->s_n] = uval(n);
    r->scal[r->s_t0] = fval(r->t, r->o.t0);
    if (r->adaptive) {
        r->scal[r->s_recdt] = fval(r->t, r->o.record_every);
        r->scal[r->s_tend] = fval(r->t, r->o.t0 + r->o.duration);
    } else {
        r->scal[r->s_dt] = fval(r->t, r->o.dt);
        r->scal[r->s_every] = uval(r->every);
        r->scal[r->s_last] = uval(r->nsteps);
    }
    if (r->sde) {
        r->scal[r->s_key0] = uval(r->o.seed & 0xFFFFFFFFu);
        r->scal[r->s_key1] = uval(r->o.seed >> 32);
    }
    for (int j = 0; j < r->ncst && !r->cst_in_buffer; j++) r->scal[r->s_cst0 + j] = fval(r->t, r->eqs->syms[r->cst[j]].value);
    return st;
}

static double sample_time(const run *r, size_t s)
{
    if (r->adaptive) return fmin(r->o.t0 + (double)s * r->o.record_every, r->o.t0 + r->o.duration);
    uint64_t step = (uint64_t)s * r->every;
    return r->o.t0 + (double)(step < r->nsteps ? step : r->nsteps) * r->o.dt;
}

/* Downloads samples [ra, rb) from the record chunk into the trajectory, refusing NaN and Inf. */
static bd_status take_chunk(run *r, bd_trajectory *tr, size_t ra, size_t rb, void *host)
{
    size_t n = r->n, ns = (size_t)r->nstate;
    bd_status st = bd_buffer_download(r->buf[r->b_rec], 0, host, (rb - ra) * ns * n * r->es);
    if (st) return bd_fail_context(st, "bd_integrate (%s) on %s: downloading samples", r->m->name, r->info->name);
    for (size_t s = ra; s < rb; s++)
        for (size_t v = 0; v < ns; v++)
            for (size_t e = 0; e < n; e++) {
                double x = get(host, r->t, ((s - ra) * ns + v) * n + e);
                if (!isfinite(x))
                    return bd_fail(BD_ERR_NUMERIC, "bd_integrate (%s) on %s: '%s' of element %zu is %g at t = %g ms "
                                   "(sample %zu%s); try a smaller dt%s", r->m->name, r->info->name, tr->names[v], e, x,
                                   sample_time(r, s), s, r->adaptive ? "" : ", or earlier", r->adaptive ? " or tolerance" : "");
                tr->x[v][s * n + e] = x;
            }
    return BD_OK;
}

static bd_status launch(run *r, bd_kernel *kern)
{
    bd_status st = bd_kernel_launch(kern, r->n, r->buf, (size_t)r->nbuf, r->scal, (size_t)r->nscal);
    return st ? bd_fail_context(st, "bd_integrate (%s) on %s", r->m->name, r->info->name) : BD_OK;
}

static bd_status run_fixed(run *r, bd_kernel *kern, bd_trajectory *tr, void *host)
{
    uint64_t step = 0;
    for (size_t ra = 1; ra < r->nrec;) {
        size_t rb = ra + r->chunk < r->nrec ? ra + r->chunk : r->nrec;
        uint64_t end = (uint64_t)(rb - 1) * r->every;
        if (end > r->nsteps) end = r->nsteps;
        r->scal[r->s_rbase] = uval(ra);
        while (step < end) {
            uint64_t count = end - step < r->per_launch ? end - step : r->per_launch;
            r->scal[r->s_step0] = uval(step);
            r->scal[r->s_count] = uval(count);
            bd_status st = launch(r, kern);
            if (st) return st;
            step += count;
        }
        bd_status st = take_chunk(r, tr, ra, rb, host);
        if (st) return st;
        ra = rb;
    }
    tr->steps = r->nsteps;
    return BD_OK;
}

static bd_status run_adaptive(run *r, bd_kernel *kern, bd_trajectory *tr, void *host)
{
    size_t n = r->n;
    uint32_t *prog = malloc(2 * n * sizeof *prog);
    if (!prog) return bd_fail(BD_ERR_NOMEM, "bd_integrate: out of memory");
    bd_status st = BD_OK;
    r->scal[r->s_count] = uval(TRIALS_PER_LAUNCH);
    for (size_t ra = 1; ra < r->nrec && !st;) {
        size_t rb = ra + r->chunk < r->nrec ? ra + r->chunk : r->nrec;
        r->scal[r->s_rbase] = uval(ra);
        r->scal[r->s_rend] = uval(rb);
        for (int done = 0; !done && !st;) {
            st = launch(r, kern);
            if (!st) st = bd_buffer_download(r->buf[r->b_prog], 0, prog, n * 4);
            done = 1;
            for (size_t e = 0; e < n && !st; e++) {
                if (prog[e] == PROGRESS_UNDERFLOW) {
                    double te = NAN;
                    if (!bd_buffer_download(r->buf[r->b_time], e * r->es, host, r->es)) te = get(host, r->t, 0);
                    st = bd_fail(BD_ERR_NUMERIC, "bd_integrate (%s) on %s: the step size of element %zu underflowed at "
                                 "t = %g ms (a singularity, NaN or a stiff problem: try exp_euler or looser tolerances)",
                                 r->m->name, r->info->name, e, te);
                }
                if (prog[e] < rb) done = 0;
            }
        }
        if (!st) st = take_chunk(r, tr, ra, rb, host);
        ra = rb;
    }
    if (!st) st = bd_buffer_download(r->buf[r->b_count], 0, prog, 2 * n * 4);
    for (size_t e = 0; e < n && !st; e++) {
        tr->accepted += prog[e];
        tr->rejected += prog[n + e];
        if ((uint64_t)prog[e] + prog[n + e] > tr->steps) tr->steps = (uint64_t)prog[e] + prog[n + e];
    }
    free(prog);
    return st;
}

static bd_trajectory *traj_new(const run *r)
{
    bd_trajectory *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->nvars = (size_t)r->nstate;
    tr->n = r->n;
    tr->nrec = r->nrec;
    tr->t = malloc(r->nrec * sizeof *tr->t);
    tr->x = calloc(tr->nvars, sizeof *tr->x);
    tr->names = calloc(tr->nvars, sizeof *tr->names);
    tr->units = calloc(tr->nvars, sizeof *tr->units);
    int ok = tr->t && tr->x && tr->names && tr->units;
    for (size_t v = 0; ok && v < tr->nvars; v++) {
        tr->x[v] = malloc(r->nrec * r->n * sizeof *tr->x[v]);
        tr->names[v] = strdup(bd_system_state_name(r->sys, v));
        tr->units[v] = strdup(bd_system_state_unit(r->sys, v));
        ok = tr->x[v] && tr->names[v] && tr->units[v];
    }
    if (!ok) {
        bd_trajectory_free(tr);
        return NULL;
    }
    for (size_t s = 0; s < r->nrec; s++) tr->t[s] = sample_time(r, s);
    for (size_t v = 0; v < tr->nvars; v++)
        for (size_t e = 0; e < r->n; e++) tr->x[v][e] = init_value(r, (int)v, e);
    snprintf(tr->method, sizeof tr->method, "%s", r->m->name);
    snprintf(tr->device, sizeof tr->device, "%s", r->info->name);
    tr->dt = r->o.dt;
    tr->t0 = r->o.t0;
    tr->duration = r->o.duration;
    tr->record_every = r->adaptive ? r->o.record_every : r->every * r->o.dt;
    tr->atol = r->o.atol;
    tr->rtol = r->o.rtol;
    tr->precision = r->t;
    return tr;
}

bd_status bd_integrate(bd_device *dev, const bd_system *s, const bd_integrate_opts *o, bd_trajectory **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate: out is NULL");
    *out = NULL;
    if (!dev || !s || !o) return bd_fail(BD_ERR_INVALID_ARG, "bd_integrate: NULL argument");
    run r;
    memset(&r, 0, sizeof r);
    r.dev = dev;
    r.info = bd_device_get_info(dev);
    r.sys = s;
    r.eqs = s->eqs;
    r.o = *o;
    bd_ir *k = NULL;
    bd_kernel *kern = NULL;
    bd_trajectory *f = NULL;
    void *host = NULL;
    bd_status st = plan(&r);
    if (!st) st = build_kernel(&r, &k);
    double t_compile = now_s();
    if (!st) {
        st = bd_kernel_compile(dev, k, &kern);
        if (st) bd_fail_context(st, "bd_integrate (%s) on %s", r.m->name, r.info->name);
    }
    t_compile = now_s() - t_compile;
    if (!st) st = setup(&r);
    if (!st) {
        f = traj_new(&r);
        host = malloc(r.chunk * (size_t)r.nstate * r.n * r.es);
        if (!f || !host) st = bd_fail(BD_ERR_NOMEM, "bd_integrate: out of memory for %zu samples", r.nrec);
    }
    if (!st) {
        double t_run = now_s();
        st = r.adaptive ? run_adaptive(&r, kern, f, host) : run_fixed(&r, kern, f, host);
        f->wall_s = now_s() - t_run;
        f->compile_s = t_compile;
    }
    for (int b = 0; b < BD_IR_MAX_BUFFERS; b++) bd_buffer_free(r.buf[b]);
    bd_kernel_free(kern);
    bd_ir_free(k);
    free(r.par), free(r.cst), free(host);
    if (st) {
        bd_trajectory_free(f);
        return st;
    }
    *out = f;
    return BD_OK;
}

