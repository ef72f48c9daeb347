/* Stochastic methods for dx = f dt + sum_k g_k dW_k (Euler–Maruyama, Milstein in Itô and Stratonovich
 * form, derivative-free Milstein, stochastic Heun), lowered one step of one element at a time.
 *
 * Noise terms of different equations that name the same Wiener symbol are one process: each step draws
 * one normal per distinct symbol, on the Philox stream given by the symbol's rank among the noise
 * symbols of the system, so a path depends only on (seed, element, step, symbol) and is the same on
 * every device. The Milstein corrections use the commutative-noise form (no Lévy areas): exact for one
 * Wiener process or diagonal noise, strong order 0.5 for non-commutative noise (docs/integrate.md). */
#include "integrate_driver.h"
#include "error.h"

#include <stdlib.h>

/* One step's noise: the distinct Wiener processes, their increments and sqrt(dt). */
typedef struct sde_step {
    bd_step_ctx *c;
    bd_ir *k;
    int nw;        /* distinct Wiener processes */
    int *wsym;     /* their symbols, in symbol order */
    int *term_w;   /* [v * BD_EQ_MAX_NOISE + k]: index into wsym of equation v's term k */
    bd_ir_val *dW; /* nw increments of this step */
    bd_ir_val sqdt;
} sde_step;

static bd_ir_val let(bd_ir *k, bd_ir_val v) { return bd_ir_let(k, v); }
static bd_ir_val add(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_ADD, a, b); }
static bd_ir_val sub(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_SUB, a, b); }
static bd_ir_val mul(bd_ir *k, bd_ir_val a, bd_ir_val b) { return bd_ir_binary(k, BD_IR_MUL, a, b); }

static void sde_free(sde_step *s)
{
    free(s->wsym);
    free(s->term_w);
    free(s->dW);
}

/* Finds the Wiener processes and draws this step's increments dW = sqrt(dt) N(0, 1). */
static bd_status sde_begin(sde_step *s, bd_step_ctx *c)
{
    const bd_eqs *eqs = c->eqs;
    *s = (sde_step){.c = c, .k = c->k};
    s->wsym = malloc(sizeof *s->wsym * (size_t)(eqs->nsyms + 1));
    s->term_w = malloc(sizeof *s->term_w * (size_t)(c->nstate * BD_EQ_MAX_NOISE + 1));
    s->dW = malloc(sizeof *s->dW * (size_t)(eqs->nsyms + 1));
    if (!s->wsym || !s->term_w || !s->dW) {
        sde_free(s);
        return bd_fail(BD_ERR_NOMEM, "sde: out of memory");
    }
    s->sqdt = let(s->k, bd_ir_unary(s->k, BD_IR_SQRT, c->dt));
    /* The stream of a Wiener symbol is its rank among all noise symbols: stable for a given text,
     * independent of which equation mentions it first. */
    unsigned rank = 0;
    for (int sym = 0; sym < eqs->nsyms; sym++) {
        if (eqs->syms[sym].kind != BD_SYM_NOISE) continue;
        s->wsym[s->nw] = sym;
        s->dW[s->nw] = let(s->k, mul(s->k, s->sqdt, bd_step_normal(c, rank++)));
        s->nw++;
    }
    for (int v = 0; v < c->nstate; v++)
        for (int t = 0; t < eqs->odes[v].nnoise; t++) {
            int w = 0;
            while (w < s->nw && s->wsym[w] != eqs->odes[v].noise_sym[t])
                w++;
            if (w == s->nw) {
                sde_free(s);
                return bd_fail(BD_ERR_MODEL, "%s:%d: noise term %d of the equation of %s has no Wiener symbol",
                               eqs->source_name, eqs->odes[v].line, t + 1, eqs->syms[eqs->odes[v].sym].name);
            }
            s->term_w[v * BD_EQ_MAX_NOISE + t] = w;
        }
    return BD_OK;
}

/* g[v * BD_EQ_MAX_NOISE + t]: every noise coefficient at (xs, tt), as locals. */
static void noise_at(sde_step *s, const bd_ir_val *xs, bd_ir_val tt, bd_ir_val *g)
{
    for (int v = 0; v < s->c->nstate; v++)
        for (int t = 0; t < s->c->eqs->odes[v].nnoise; t++)
            g[v * BD_EQ_MAX_NOISE + t] = bd_step_noise(s->c, xs, tt, v, t);
}

/* G[l * nw + w]: the total coefficient of Wiener process w in equation l (terms naming one symbol add),
 * or -1 where equation l has no term in w. */
static void noise_by_process(sde_step *s, const bd_ir_val *g, bd_ir_val *G)
{
    for (int l = 0; l < s->c->nstate; l++) {
        for (int w = 0; w < s->nw; w++)
            G[l * s->nw + w] = -1;
        for (int t = 0; t < s->c->eqs->odes[l].nnoise; t++) {
            bd_ir_val *slot = &G[l * s->nw + s->term_w[l * BD_EQ_MAX_NOISE + t]];
            bd_ir_val gt = g[l * BD_EQ_MAX_NOISE + t];
            *slot = *slot < 0 ? gt : add(s->k, *slot, gt);
        }
    }
}

/* The multiple-integral weight of the pair (w1, w2) under commutative noise: I_w1w2 + I_w2w1 summed
 * halves, i.e. (dW1 dW2 - [Itô and w1 == w2] dt) / 2. */
static bd_ir_val pair_weight(sde_step *s, int w1, int w2, int ito)
{
    bd_ir_val p = mul(s->k, s->dW[w1], s->dW[w2]);
    if (ito && w1 == w2) p = sub(s->k, p, s->c->dt);
    return mul(s->k, bd_step_const(s->c, 0.5), p);
}

/* x_v + f_v dt + sum_t g_vt dW_t for every v (the Euler–Maruyama update, also Heun's predictor). */
static void euler_update(sde_step *s, const bd_ir_val *f, const bd_ir_val *g, bd_ir_val *out)
{
    bd_step_ctx *c = s->c;
    for (int v = 0; v < c->nstate; v++) {
        bd_ir_val acc = add(s->k, c->x[v], mul(s->k, f[v], c->dt));
        for (int t = 0; t < c->eqs->odes[v].nnoise; t++)
            acc = add(s->k, acc, mul(s->k, g[v * BD_EQ_MAX_NOISE + t], s->dW[s->term_w[v * BD_EQ_MAX_NOISE + t]]));
        out[v] = acc;
    }
}

/* Assigns the new state (computed from the old one as lets first, so no update sees another's result)
 * and advances the time. */
static void commit(sde_step *s, const bd_ir_val *xn)
{
    bd_step_ctx *c = s->c;
    bd_ir_val *tmp = malloc(sizeof *tmp * (size_t)c->nstate);
    for (int v = 0; v < c->nstate; v++) {
        bd_ir_val l = let(s->k, xn[v]);
        if (tmp)
            tmp[v] = l;
        else
            bd_ir_assign(s->k, c->x[v], l);
    }
    if (tmp)
        for (int v = 0; v < c->nstate; v++)
            bd_ir_assign(s->k, c->x[v], tmp[v]);
    free(tmp);
    bd_ir_assign(s->k, c->time, add(s->k, c->time, c->dt));
}

typedef struct work {
    bd_ir_val *f, *g, *G, *xn, *aux;
} work;

static void work_free(work *w)
{
    free(w->f);
    free(w->g);
    free(w->G);
    free(w->xn);
    free(w->aux);
}

static bd_status work_alloc(work *w, const sde_step *s)
{
    size_t n = (size_t)s->c->nstate + 1;
    *w = (work){0};
    w->f = malloc(sizeof *w->f * n);
    w->g = malloc(sizeof *w->g * n * BD_EQ_MAX_NOISE);
    w->G = malloc(sizeof *w->G * n * (size_t)(s->nw + 1));
    w->xn = malloc(sizeof *w->xn * n);
    w->aux = malloc(sizeof *w->aux * n * (size_t)(s->nw + 1));
    if (!w->f || !w->g || !w->G || !w->xn || !w->aux) {
        work_free(w);
        *w = (work){0};
        return bd_fail(BD_ERR_NOMEM, "sde: out of memory");
    }
    return BD_OK;
}

/* --- Euler–Maruyama (Itô, strong order 0.5) ---------------------------------------------------- */

static bd_status emit_euler_maruyama(bd_step_ctx *c)
{
    sde_step s;
    work w;
    bd_status st = sde_begin(&s, c);
    if (st) return st;
    if (!(st = work_alloc(&w, &s))) {
        bd_step_drift(c, c->x, c->time, w.f);
        noise_at(&s, c->x, c->time, w.g);
        euler_update(&s, w.f, w.g, w.xn);
        commit(&s, w.xn);
        work_free(&w);
    }
    sde_free(&s);
    return st;
}

/* --- Milstein with the symbolic derivative of g ------------------------------------------------ */

/* d g_vt / d x_l lowered at the step's start, or -1 when it vanishes identically. */
static bd_status lower_dg(sde_step *s, int v, int t, int l, bd_ir_val *out)
{
    bd_step_ctx *c = s->c;
    const bd_eqs *eqs = c->eqs;
    *out = -1;
    if (!bd_ex_depends(eqs, eqs->odes[v].noise[t], eqs->odes[l].sym)) return BD_OK;
    bd_expr *d = bd_ex_diff(eqs, eqs->odes[v].noise[t], eqs->odes[l].sym);
    if (!d)
        return bd_fail(BD_ERR_NOMEM, "milstein: cannot differentiate the noise of %s",
                       eqs->syms[eqs->odes[v].sym].name);
    if (d->kind == BD_EX_NUM && d->value == 0.0) {
        bd_ex_free(d);
        return BD_OK;
    }
    *out = bd_step_lower(c, c->x, c->time, d);
    bd_ex_free(d);
    return BD_OK;
}

/* x += f dt + g dW + sum over pairs (w1, w2) of (L^w1 g_w2) I_w1w2, with L^w = sum_l G_lw d/dx_l. */
static bd_status emit_milstein_common(bd_step_ctx *c, int ito)
{
    sde_step s;
    work w;
    bd_status st = sde_begin(&s, c);
    if (st) return st;
    if ((st = work_alloc(&w, &s))) goto out;
    bd_step_drift(c, c->x, c->time, w.f);
    noise_at(&s, c->x, c->time, w.g);
    noise_by_process(&s, w.g, w.G);
    euler_update(&s, w.f, w.g, w.xn);
    for (int v = 0; v < c->nstate && !st; v++)
        for (int t = 0; t < c->eqs->odes[v].nnoise && !st; t++) {
            int w2 = s.term_w[v * BD_EQ_MAX_NOISE + t];
            bd_ir_val *Lg = w.aux; /* L^w1 g_vt for every w1, -1 while zero */
            for (int w1 = 0; w1 < s.nw; w1++)
                Lg[w1] = -1;
            for (int l = 0; l < c->nstate && !st; l++) {
                bd_ir_val dg;
                if ((st = lower_dg(&s, v, t, l, &dg)) || dg < 0) continue;
                for (int w1 = 0; w1 < s.nw; w1++) {
                    if (w.G[l * s.nw + w1] < 0) continue;
                    bd_ir_val term = mul(s.k, w.G[l * s.nw + w1], dg);
                    Lg[w1] = Lg[w1] < 0 ? term : add(s.k, Lg[w1], term);
                }
            }
            for (int w1 = 0; w1 < s.nw && !st; w1++)
                if (Lg[w1] >= 0) w.xn[v] = add(s.k, w.xn[v], mul(s.k, Lg[w1], pair_weight(&s, w1, w2, ito)));
        }
    if (!st) commit(&s, w.xn);
out:
    work_free(&w);
    sde_free(&s);
    return st;
}

static bd_status emit_milstein(bd_step_ctx *c) { return emit_milstein_common(c, 1); }
static bd_status emit_milstein_strat(bd_step_ctx *c) { return emit_milstein_common(c, 0); }

/* --- derivative-free Milstein (Itô; Kloeden & Platen 1992, eq. 11.1.5) ------------------------- */

/* L^w1 g is replaced by the difference quotient (g(x̄_w1) - g(x)) / sqrt(dt) at the supporting value
 * x̄_w1 = x + f dt + G_w1 sqrt(dt), one per Wiener process. */
static bd_status emit_milstein_dfree(bd_step_ctx *c)
{
    sde_step s;
    work w;
    bd_status st = sde_begin(&s, c);
    if (st) return st;
    if ((st = work_alloc(&w, &s))) goto out;
    bd_ir_val *gbar = malloc(sizeof *gbar * ((size_t)c->nstate * BD_EQ_MAX_NOISE + 1));
    if (!gbar) {
        st = bd_fail(BD_ERR_NOMEM, "milstein_dfree: out of memory");
        goto out;
    }
    bd_step_drift(c, c->x, c->time, w.f);
    noise_at(&s, c->x, c->time, w.g);
    noise_by_process(&s, w.g, w.G);
    euler_update(&s, w.f, w.g, w.xn);
    bd_ir_val inv_sqdt = let(s.k, bd_ir_binary(s.k, BD_IR_DIV, bd_step_const(c, 1.0), s.sqdt));
    for (int w1 = 0; w1 < s.nw; w1++) {
        bd_ir_val *xbar = w.aux;
        for (int l = 0; l < c->nstate; l++) {
            bd_ir_val G = w.G[l * s.nw + w1];
            xbar[l] = add(s.k, c->x[l], mul(s.k, w.f[l], c->dt));
            if (G >= 0) xbar[l] = add(s.k, xbar[l], mul(s.k, G, s.sqdt));
            xbar[l] = let(s.k, xbar[l]);
        }
        noise_at(&s, xbar, c->time, gbar);
        for (int v = 0; v < c->nstate; v++)
            for (int t = 0; t < c->eqs->odes[v].nnoise; t++) {
                int i = v * BD_EQ_MAX_NOISE + t;
                bd_ir_val q = mul(s.k, sub(s.k, gbar[i], w.g[i]), inv_sqdt);
                w.xn[v] = add(s.k, w.xn[v], mul(s.k, q, pair_weight(&s, w1, s.term_w[i], 1)));
            }
    }
    commit(&s, w.xn);
    free(gbar);
out:
    work_free(&w);
    sde_free(&s);
    return st;
}

/* --- stochastic Heun (Stratonovich, strong order 1 for commutative noise) ---------------------- */

/* Predictor x̄ = x + f dt + g dW, corrector x + (f + f̄) dt / 2 + (g + ḡ) dW / 2 with f̄, ḡ at (x̄, t + dt). */
static bd_status emit_heun(bd_step_ctx *c)
{
    sde_step s;
    work w;
    bd_status st = sde_begin(&s, c);
    if (st) return st;
    if ((st = work_alloc(&w, &s))) goto out;
    bd_ir_val *f1 = w.aux;
    bd_ir_val *g1 = malloc(sizeof *g1 * ((size_t)c->nstate * BD_EQ_MAX_NOISE + 1));
    if (!g1) {
        st = bd_fail(BD_ERR_NOMEM, "heun: out of memory");
        goto out;
    }
    bd_step_drift(c, c->x, c->time, w.f);
    noise_at(&s, c->x, c->time, w.g);
    euler_update(&s, w.f, w.g, w.xn);
    for (int v = 0; v < c->nstate; v++)
        w.xn[v] = let(s.k, w.xn[v]);
    bd_ir_val t1 = let(s.k, add(s.k, c->time, c->dt));
    bd_step_drift(c, w.xn, t1, f1);
    noise_at(&s, w.xn, t1, g1);
    bd_ir_val half = bd_step_const(c, 0.5);
    for (int v = 0; v < c->nstate; v++) {
        bd_ir_val acc = add(s.k, c->x[v], mul(s.k, mul(s.k, half, add(s.k, w.f[v], f1[v])), c->dt));
        for (int t = 0; t < c->eqs->odes[v].nnoise; t++) {
            int i = v * BD_EQ_MAX_NOISE + t;
            acc = add(s.k, acc, mul(s.k, mul(s.k, half, add(s.k, w.g[i], g1[i])), s.dW[s.term_w[i]]));
        }
        w.xn[v] = acc;
    }
    commit(&s, w.xn);
    free(g1);
out:
    work_free(&w);
    sde_free(&s);
    return st;
}

const bd_method bd_methods_sde[] = {
    {"euler_maruyama", BD_METHOD_SDE, 0.5, "Euler–Maruyama (Itô), strong order 0.5", emit_euler_maruyama},
    {"milstein", BD_METHOD_SDE, 1.0, "Milstein (Itô) with the symbolic dg/dx, strong order 1 for commutative noise",
     emit_milstein},
    {"milstein_strat", BD_METHOD_SDE, 1.0,
     "Milstein (Stratonovich) with the symbolic dg/dx, strong order 1 for commutative noise", emit_milstein_strat},
    {"milstein_dfree", BD_METHOD_SDE, 1.0,
     "derivative-free Milstein (Itô, Kloeden–Platen 11.1.5), strong order 1 for commutative noise",
     emit_milstein_dfree},
    {"heun", BD_METHOD_SDE, 1.0, "stochastic Heun (Stratonovich), strong order 1 for commutative noise", emit_heun},
    {0},
};
