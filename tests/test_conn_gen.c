/* Connectivity generators (core/conn_gen.c, docs/toolbox.md), checked statistically against their
 * definitions: exact degrees where the rule fixes them, counts within 4 standard deviations of the binomial
 * (or Poisson-binomial) expectation where it draws them, uniformity of the chosen partners by a chi-square
 * within 4 sd of its degrees of freedom, exact lattice neighbourhoods at borders and with wrap-around,
 * Watts-Strogatz edge conservation and rewired fraction, Barabasi-Albert edge count and heavy tail; and
 * every rule identical for the same seed on two runs and different for another seed. */
#include "test_common.h"
#include "conn_gen.h"

#include <math.h>

static bd_net_proj make(bd_conn_kind kind, int same)
{
    bd_net_proj p;
    memset(&p, 0, sizeof p);
    p.path = "test";
    p.conn = kind;
    p.pre = 0, p.post = same ? 0 : 1;
    p.include_self = 1;
    p.id = 7;
    return p;
}

static const uint32_t KEY[2] = {12345u, 678u}, KEY2[2] = {12346u, 678u};

static int gen(const bd_net_proj *p, size_t np, size_t nq, const uint32_t key[2], bd_conn_rows *f)
{
    bd_status st = bd_conn_generate(p, np, nq, key, f);
    if (st) tc_check(0, "%s: generate %zu x %zu: %s", bd_conn_kind_name(p->conn), np, nq, bd_last_error());
    return st == BD_OK;
}

static int within(double got, double mean, double sd) { return fabs(got - mean) <= 4 * sd + 1e-9; }

/* In-degrees (per post) of a CSR. */
static void indeg(const bd_conn_rows *f, size_t nq, double *d)
{
    for (size_t q = 0; q < nq; q++) d[q] = 0;
    for (size_t s = 0; s < f->nnz; s++) d[f->col[s]]++;
}

/* Chi-square of counts against equal expectation e; returns (chi2 - df) / sqrt(2 df). */
static double chi_z(const double *c, size_t n, double e)
{
    double chi = 0;
    for (size_t i = 0; i < n; i++) chi += (c[i] - e) * (c[i] - e) / e;
    return (chi - (double)(n - 1)) / sqrt(2.0 * (double)(n - 1));
}

static int has_dup_or_self(const bd_conn_rows *f, size_t np, int self_ok)
{
    for (size_t i = 0; i < np; i++)
        for (uint32_t s = f->rowptr[i]; s < f->rowptr[i + 1]; s++) {
            if (!self_ok && f->col[s] == i) return 1;
            if (s > f->rowptr[i] && f->col[s] <= f->col[s - 1]) return 1; /* sorted and distinct */
        }
    return 0;
}

static int same_rows(const bd_conn_rows *a, const bd_conn_rows *b, size_t np)
{
    if (a->nnz != b->nnz) return 0;
    return !memcmp(a->rowptr, b->rowptr, (np + 1) * 4) && !memcmp(a->col, b->col, a->nnz * 4);
}

/* Same seed twice: identical; another seed: different. */
static void repro(const bd_net_proj *p, size_t np, size_t nq)
{
    bd_conn_rows a, b, c;
    if (!gen(p, np, nq, KEY, &a)) return;
    if (!gen(p, np, nq, KEY, &b)) {
        bd_conn_rows_free(&a);
        return;
    }
    if (!gen(p, np, nq, KEY2, &c)) {
        bd_conn_rows_free(&a), bd_conn_rows_free(&b);
        return;
    }
    tc_check(same_rows(&a, &b, np) && !same_rows(&a, &c, np), "%s %zu x %zu: identical for one seed (%zu synapses), "
             "different for another (%zu)", bd_conn_kind_name(p->conn), np, nq, a.nnz, c.nnz);
    bd_conn_rows_free(&a), bd_conn_rows_free(&b), bd_conn_rows_free(&c);
}

static void test_classic(void)
{
    bd_conn_rows f;
    bd_net_proj p = make(BD_CONN_FIXED_PROB, 0);
    p.p = 0.05;
    size_t np = 400, nq = 500;
    if (gen(&p, np, nq, KEY, &f)) {
        double n = (double)np * nq, mean = n * p.p, sd = sqrt(n * p.p * (1 - p.p));
        tc_check(within((double)f.nnz, mean, sd), "fixed_prob 0.05 on 400 x 500: %zu synapses, Binomial mean %.0f sd %.1f",
                 f.nnz, mean, sd);
        double d[500];
        indeg(&f, nq, d);
        double z = chi_z(d, nq, (double)f.nnz / nq);
        tc_check(fabs(z) < 4 + 4 * 0.05, "fixed_prob: in-degrees uniform over posts (chi-square z = %.2f)", z);
        bd_conn_rows_free(&f);
    }
    repro(&p, np, nq);
    p = make(BD_CONN_FIXED_PROB, 1);
    p.p = 0.5, p.include_self = 0;
    if (gen(&p, 200, 200, KEY, &f)) {
        double n = 200.0 * 199, sd = sqrt(n * 0.25);
        tc_check(!has_dup_or_self(&f, 200, 0) && within((double)f.nnz, n / 2, sd),
                 "fixed_prob 0.5 without self: no i -> i, %zu synapses (mean %.0f sd %.1f)", f.nnz, n / 2, sd);
        bd_conn_rows_free(&f);
    }
    p = make(BD_CONN_FIXED_OUTDEGREE, 0);
    p.k = 17;
    if (gen(&p, 300, 100, KEY, &f)) {
        int ok = 1;
        for (size_t i = 0; i < 300; i++) ok &= f.rowptr[i + 1] - f.rowptr[i] == 17;
        tc_check(ok && f.nnz == 300 * 17, "fixed_outdegree 17: every row has exactly 17 (%zu synapses)", f.nnz);
        bd_conn_rows_free(&f);
    }
    repro(&p, 300, 100);
    p = make(BD_CONN_ALL2ALL, 1);
    p.include_self = 0;
    if (gen(&p, 30, 30, KEY, &f)) {
        tc_check(f.nnz == 30 * 29 && !has_dup_or_self(&f, 30, 0), "all2all 30 without self: %zu = 870 synapses", f.nnz);
        bd_conn_rows_free(&f);
    }
    p = make(BD_CONN_ONE2ONE, 0);
    if (gen(&p, 30, 30, KEY, &f)) {
        int ok = f.nnz == 30;
        for (size_t i = 0; ok && i < 30; i++) ok = f.rowptr[i] == i && f.col[i] == i;
        tc_check(ok, "one2one 30: the diagonal (%zu synapses)", f.nnz);
        bd_conn_rows_free(&f);
    }
    uint32_t rows[] = {2, 0, 2, 1}, cols[] = {5, 1, 3, 0};
    p = make(BD_CONN_EXPLICIT, 0);
    p.rows = rows, p.cols = cols, p.nnz = 4;
    if (gen(&p, 3, 6, KEY, &f)) {
        int ok = f.nnz == 4 && f.rowptr[1] == 1 && f.rowptr[2] == 2 && f.col[2] == 5 && f.col[3] == 3 && f.order[2] == 0 &&
                 f.order[3] == 2;
        tc_check(ok, "explicit pairs: sorted by row, given order kept within a row with its index");
        bd_conn_rows_free(&f);
    }
    cols[0] = 6;
    tc_expect_status(bd_conn_generate(&p, 3, 6, KEY, &f), BD_ERR_MODEL, "explicit pair outside the populations");
}

static void test_fixed_num(void)
{
    bd_conn_rows f;
    /* fixed_post_num: k distinct targets per pre; each post is in a row with probability k / n_post */
    bd_net_proj p = make(BD_CONN_FIXED_POST_NUM, 0);
    p.k = 20;
    size_t np = 600, nq = 150;
    if (gen(&p, np, nq, KEY, &f)) {
        int ok = f.nnz == np * p.k && !has_dup_or_self(&f, np, 1);
        for (size_t i = 0; i < np; i++) ok &= f.rowptr[i + 1] - f.rowptr[i] == p.k;
        double d[150], pr = (double)p.k / nq, mean = np * pr, var = np * pr * (1 - pr), sv = 0;
        indeg(&f, nq, d);
        for (size_t q = 0; q < nq; q++) sv += (d[q] - mean) * (d[q] - mean);
        sv /= nq;
        double sd_var = var * sqrt(2.0 / nq);
        tc_check(ok, "fixed_post_num 20: every row 20 distinct targets");
        tc_check(within(sv, var, sd_var), "fixed_post_num: in-degree variance %.2f vs Binomial(%zu, %.3f) %.2f (sd %.2f)",
                 sv, np, pr, var, sd_var);
        bd_conn_rows_free(&f);
    }
    repro(&p, np, nq);
    p = make(BD_CONN_FIXED_POST_NUM, 1);
    p.k = 99, p.include_self = 0;
    if (gen(&p, 100, 100, KEY, &f)) {
        tc_check(f.nnz == 9900 && !has_dup_or_self(&f, 100, 0), "fixed_post_num 99 of 100 without self: all2all minus "
                 "the diagonal (%zu)", f.nnz);
        bd_conn_rows_free(&f);
    }
    /* fixed_pre_num: exact in-degree, distinct sources, uniform out-degrees */
    p = make(BD_CONN_FIXED_PRE_NUM, 1);
    p.k = 25, p.include_self = 0;
    np = nq = 400;
    if (gen(&p, np, nq, KEY, &f)) {
        double d[400], out[400];
        indeg(&f, nq, d);
        int ok = f.nnz == nq * p.k && !has_dup_or_self(&f, np, 0);
        for (size_t q = 0; q < nq; q++) ok &= d[q] == p.k;
        for (size_t i = 0; i < np; i++) out[i] = f.rowptr[i + 1] - f.rowptr[i];
        double pr = 25.0 / 399, var = nq * pr * (1 - pr), sv = 0;
        for (size_t i = 0; i < np; i++) sv += (out[i] - 25) * (out[i] - 25);
        sv /= np;
        tc_check(ok, "fixed_pre_num 25 without self: every post has exactly 25 distinct sources");
        tc_check(within(sv, var, var * sqrt(2.0 / np)), "fixed_pre_num: out-degree variance %.2f vs %.2f", sv, var);
        bd_conn_rows_free(&f);
    }
    repro(&p, np, nq);
    p.allow_multi = 1, p.k = 600;
    if (gen(&p, 300, 50, KEY, &f)) {
        double d[50];
        indeg(&f, 50, d);
        int ok = 1;
        for (size_t q = 0; q < 50; q++) ok &= d[q] == 600;
        tc_check(ok && f.nnz == 30000, "fixed_pre_num 600 from 300 with multi-connections: every post 600");
        bd_conn_rows_free(&f);
    }
    /* fixed_total_num: exact count, distinct pairs, rows uniform */
    p = make(BD_CONN_FIXED_TOTAL_NUM, 1);
    p.k = 20000, p.include_self = 0;
    np = 300;
    if (gen(&p, np, np, KEY, &f)) {
        /* row counts are multivariate hypergeometric: variance K p (1 - p) (M - K) / (M - 1), p = 1 / n */
        double rows = 0, sv = 0, M = 300.0 * 299, K = 20000, pr = 1.0 / np;
        double var = K * pr * (1 - pr) * (M - K) / (M - 1);
        for (size_t i = 0; i < np; i++) rows = f.rowptr[i + 1] - f.rowptr[i], sv += (rows - K / np) * (rows - K / np);
        sv /= np;
        tc_check(f.nnz == 20000 && !has_dup_or_self(&f, np, 0) && within(sv, var, var * sqrt(2.0 / np)),
                 "fixed_total_num 20000 of 300 x 299: exact, distinct, no i -> i, row variance %.2f (hypergeometric %.2f)",
                 sv, var);
        bd_conn_rows_free(&f);
    }
    repro(&p, np, np);
    p.k = 300 * 299;
    if (gen(&p, np, np, KEY, &f)) {
        tc_check(f.nnz == 89700 && !has_dup_or_self(&f, np, 0), "fixed_total_num of every pair: all2all minus the diagonal");
        bd_conn_rows_free(&f);
    }
    p.k = 300 * 299 + 1;
    tc_expect_status(bd_conn_generate(&p, np, np, KEY, &f), BD_ERR_MODEL, "fixed_total_num above the possible pairs");
    p.allow_multi = 1, p.k = 5000;
    if (gen(&p, 20, 20, KEY, &f)) {
        tc_check(f.nnz == 5000, "fixed_total_num 5000 of 380 pairs with multi-connections: %zu", f.nnz);
        bd_conn_rows_free(&f);
    }
}

static void test_gaussian(void)
{
    bd_conn_rows f;
    for (int two = 0; two < 2; two++) {
        bd_net_proj p = make(BD_CONN_GAUSSIAN_PROB, 1);
        size_t n = two ? 400 : 300;
        p.sigma = two ? 2.0 : 6.0, p.normalize = 1, p.include_self = 0;
        p.geom.ndim = two ? 2 : 1;
        p.geom.shape[0] = p.geom.post_shape[0] = two ? 20 : 300;
        p.geom.shape[1] = p.geom.post_shape[1] = two ? 20 : 1;
        p.geom.hi[0] = p.geom.shape[0], p.geom.hi[1] = p.geom.shape[1];
        p.geom.periodic = !two;
        if (!gen(&p, n, n, KEY, &f)) continue;
        double mean = 0, var = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t q = 0; q < n; q++) {
                if (i == q) continue;
                double pr = exp(-bd_geom_dist2(&p.geom, i, q) / (2 * p.sigma * p.sigma));
                mean += pr, var += pr * (1 - pr);
            }
        /* every synapse within 6 sigma (p < 1.5e-8 beyond) */
        int near = 1;
        for (size_t i = 0; i < n; i++)
            for (uint32_t s = f.rowptr[i]; s < f.rowptr[i + 1]; s++)
                near &= bd_geom_dist2(&p.geom, i, f.col[s]) < 36 * p.sigma * p.sigma && f.col[s] != i;
        tc_check(within((double)f.nnz, mean, sqrt(var)) && near, "gaussian_prob %s sigma %g: %zu synapses vs sum of p %.1f "
                 "(sd %.1f), all within 6 sigma", two ? "20 x 20" : "ring of 300 (periodic)", p.sigma, f.nnz, mean, sqrt(var));
        if (!two) {
            /* the periodic ring: every in-degree is Poisson-binomial with the same variance sum p (1 - p) */
            double d[300], pv = 0, sv = 0, mu = (double)f.nnz / n;
            indeg(&f, n, d);
            for (size_t q = 1; q < n; q++) {
                double pr = exp(-bd_geom_dist2(&p.geom, 0, q) / (2 * p.sigma * p.sigma));
                pv += pr * (1 - pr);
            }
            for (size_t q = 0; q < n; q++) sv += (d[q] - mu) * (d[q] - mu);
            sv /= n - 1;
            tc_check(within(sv, pv, pv * sqrt(2.0 / (n - 1))), "gaussian_prob ring: in-degree variance %.2f vs "
                     "Poisson-binomial %.2f (the same around the ring)", sv, pv);
        }
        bd_conn_rows_free(&f);
        if (two) repro(&p, n, n);
    }
}

static void grid_case(int grid4, uint32_t radius, uint32_t R, uint32_t C, int periodic, int self, size_t want_total,
                      const char *what, int (*deg_ok)(size_t pre, size_t deg, uint32_t R, uint32_t C))
{
    bd_net_proj p = make(BD_CONN_GRID, 1);
    p.grid4 = grid4, p.radius = radius, p.include_self = self;
    p.geom.ndim = 2, p.geom.periodic = periodic;
    p.geom.shape[0] = p.geom.post_shape[0] = R, p.geom.shape[1] = p.geom.post_shape[1] = C;
    bd_conn_rows f;
    if (!gen(&p, (size_t)R * C, (size_t)R * C, KEY, &f)) return;
    int ok = f.nnz == want_total && !has_dup_or_self(&f, (size_t)R * C, self);
    for (size_t i = 0; deg_ok && i < (size_t)R * C; i++) ok &= deg_ok(i, f.rowptr[i + 1] - f.rowptr[i], R, C);
    /* symmetric: j in row i iff i in row j */
    for (size_t i = 0; i < (size_t)R * C; i++)
        for (uint32_t s = f.rowptr[i]; s < f.rowptr[i + 1]; s++) {
            uint32_t j = f.col[s], t = f.rowptr[j];
            while (t < f.rowptr[j + 1] && f.col[t] != i) t++;
            ok &= t < f.rowptr[j + 1];
        }
    tc_check(ok, "%s: %zu synapses (want %zu), degrees as the lattice says, symmetric", what, f.nnz, want_total);
    bd_conn_rows_free(&f);
}

static int deg4_border(size_t i, size_t deg, uint32_t R, uint32_t C)
{
    size_t r = i / C, c = i % C;
    size_t want = (r > 0) + (r + 1 < R) + (c > 0) + (c + 1 < C);
    return deg == want;
}
static int deg4_wrap(size_t i, size_t deg, uint32_t R, uint32_t C) { return (void)i, (void)R, (void)C, deg == 4; }
static int deg8_border(size_t i, size_t deg, uint32_t R, uint32_t C)
{
    size_t r = i / C, c = i % C, nr = 1 + (r > 0) + (r + 1 < R), nc = 1 + (c > 0) + (c + 1 < C);
    return deg == nr * nc - 1;
}
static int deg24(size_t i, size_t deg, uint32_t R, uint32_t C) { return (void)i, (void)R, (void)C, deg == 24; }

static void test_grid(void)
{
    grid_case(1, 1, 5, 7, 0, 0, 2 * (5 * 6 + 7 * 4), "grid4 5 x 7: corners 2, borders 3, inside 4", deg4_border);
    grid_case(1, 1, 5, 7, 1, 0, 4 * 35, "grid4 5 x 7 periodic: 4 each", deg4_wrap);
    grid_case(1, 1, 5, 7, 1, 1, 5 * 35, "grid4 5 x 7 periodic with self: 5 each", NULL);
    /* 2 rows wrapped: up and down are the same neighbour, counted once (3 distinct + ...): 3 per neuron */
    grid_case(1, 1, 2, 6, 1, 0, 3 * 12, "grid4 2 x 6 periodic: up = down, 3 each", NULL);
    grid_case(0, 1, 6, 4, 0, 0, 2 * (6 * 3 + 4 * 5) + 4 * 5 * 3, "grid8 6 x 4: corners 3, borders 5, inside 8", deg8_border);
    grid_case(0, 2, 10, 10, 1, 0, 2400, "gridN 2 on 10 x 10 periodic: 24 each", deg24);
    grid_case(0, 2, 10, 10, 0, 0, 44 * 44 - 100, "gridN 2 on 10 x 10: (10 + 2 (9 + 8))^2 - 100 pairs", NULL);
}

/* ring distance of i and j on n */
static size_t ring(size_t i, size_t j, size_t n)
{
    size_t d = i > j ? i - j : j - i;
    return d < n - d ? d : n - d;
}

static void test_small_world(void)
{
    bd_conn_rows f;
    size_t n = 2000;
    for (int dir = 0; dir < 2; dir++) {
        bd_net_proj p = make(BD_CONN_SMALL_WORLD, 1);
        p.k = 10, p.p = 0.1, p.include_self = 0, p.directed = dir;
        if (!gen(&p, n, n, KEY, &f)) continue;
        size_t far = 0;
        int sym = 1;
        for (size_t i = 0; i < n; i++)
            for (uint32_t s = f.rowptr[i]; s < f.rowptr[i + 1]; s++) {
                far += ring(i, f.col[s], n) > 5;
                if (!dir) {
                    uint32_t j = f.col[s], t = f.rowptr[j];
                    while (t < f.rowptr[j + 1] && f.col[t] != i) t++;
                    sym &= t < f.rowptr[j + 1];
                }
            }
        /* undirected: n k / 2 edges, each rewired with p; directed: n k arcs, each with p */
        double edges = dir ? (double)n * p.k : (double)n * p.k / 2, got = dir ? (double)far : far / 2.0;
        double sd = sqrt(edges * p.p * (1 - p.p));
        tc_check(f.nnz == n * p.k && !has_dup_or_self(&f, n, 0) && sym,
                 "small_world %s n 2000 k 10: %zu = n k synapses, no duplicates, no self%s", dir ? "directed" : "undirected",
                 f.nnz, dir ? "" : ", symmetric");
        tc_check(within(got, edges * p.p, sd), "small_world %s: %.0f rewired of %.0f, Binomial mean %.0f sd %.1f",
                 dir ? "directed" : "undirected", got, edges, edges * p.p, sd);
        bd_conn_rows_free(&f);
        if (dir) repro(&p, n, n);
    }
    bd_net_proj p = make(BD_CONN_SMALL_WORLD, 1);
    p.k = 6, p.p = 0;
    if (gen(&p, 50, 50, KEY, &f)) {
        int ok = f.nnz == 300;
        for (size_t i = 0; i < 50; i++)
            for (uint32_t s = f.rowptr[i]; s < f.rowptr[i + 1]; s++) ok &= ring(i, f.col[s], 50) >= 1 && ring(i, f.col[s], 50) <= 3;
        tc_check(ok, "small_world p = 0: the ring lattice of 3 on either side");
        bd_conn_rows_free(&f);
    }
}

static void test_ba(void)
{
    bd_conn_rows f;
    size_t n = 3000, m = 3;
    bd_net_proj p = make(BD_CONN_SCALE_FREE_BA, 1);
    p.k = (uint32_t)m;
    if (gen(&p, n, n, KEY, &f)) {
        size_t maxd = 0, mind = n;
        for (size_t i = 0; i < n; i++) {
            size_t d = f.rowptr[i + 1] - f.rowptr[i];
            maxd = d > maxd ? d : maxd;
            if (i >= m) mind = d < mind ? d : mind;
        }
        double mean = (double)f.nnz / n;
        /* an Erdos-Renyi graph of this mean degree (6) would have a largest degree near 17; BA's grows as sqrt(n) */
        tc_check(f.nnz == 2 * m * (n - m) && !has_dup_or_self(&f, n, 0) && mind >= m,
                 "scale_free_ba m 3 on 3000: 2 m (n - m) = %zu synapses, every new node degree >= m", f.nnz);
        tc_check(maxd > 8 * mean, "scale_free_ba: heavy tail, largest degree %zu vs mean %.2f", maxd, mean);
        /* the tail of the degree distribution: P(k >= 4m) is 1/16 for p(k) ~ k^-3 (m^2 / k^2), vs 1e-3 for Poisson */
        size_t big = 0;
        for (size_t i = 0; i < n; i++) big += f.rowptr[i + 1] - f.rowptr[i] >= 4 * m;
        double frac = (double)big / n;
        tc_check(frac > 0.03 && frac < 0.12, "scale_free_ba: fraction with degree >= 4 m %.3f (power law k^-3: ~0.06)", frac);
        bd_conn_rows_free(&f);
    }
    repro(&p, n, n);
    p.directed = 1;
    if (gen(&p, n, n, KEY, &f)) {
        int ok = f.nnz == m * (n - m);
        for (size_t i = 0; i < n; i++) ok &= f.rowptr[i + 1] - f.rowptr[i] == (i < m ? 0 : m);
        tc_check(ok, "scale_free_ba directed: each new node sends exactly m (%zu synapses)", f.nnz);
        bd_conn_rows_free(&f);
    }
    p.k = 3000;
    tc_expect_status(bd_conn_generate(&p, n, n, KEY, &f), BD_ERR_MODEL, "scale_free_ba with m = n");
}

int main(void)
{
    tc_begin();
    test_classic();
    test_fixed_num();
    test_gaussian();
    test_grid();
    test_small_world();
    test_ba();
    return tc_finish();
}
