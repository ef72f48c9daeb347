/* The network runner (include/bdyn/run.h) on networks built by hand: a LIF neuron against its analytic
 * inter-spike interval, COBA on every device (same spike count), exact synaptic delays, checkpoint and
 * resume bit-identical to an uninterrupted run, NaN reports, and the monitor files and their shapes. */
#include "test_common.h"
#include "bdyn/run.h"
#include "network.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------ */
/* Building networks                                                                                */

static bd_network *net_new(const char *name, double dt, double duration, uint64_t seed)
{
    bd_network *n = calloc(1, sizeof *n);
    n->name = strdup(name);
    n->dt_ms = dt;
    n->duration_ms = duration;
    n->seed = seed;
    n->precision = BD_F32;
    return n;
}

static int sym(const bd_net_pop *p, const char *name)
{
    int s = bd_eqs_find(p->eqs, name);
    if (s < 0) fprintf(stderr, "test: no symbol '%s' in '%s'\n", name, p->path);
    return s;
}

static int state_of(const bd_net_pop *p, const char *name)
{
    int s = sym(p, name);
    for (int v = 0; v < p->eqs->nodes; v++)
        if (p->eqs->odes[v].sym == s) return v;
    return -1;
}

/* Returns the population index, or -1 (message printed) if the equations do not parse. */
static int add_pop(bd_network *n, const char *path, size_t size, const char *eqs, const char *method)
{
    bd_eqs *e = NULL;
    if (bd_eqs_parse(eqs, path, &e) != BD_OK) {
        fprintf(stderr, "test: %s\n", bd_last_error());
        return -1;
    }
    n->pops = realloc(n->pops, (size_t)(n->npops + 1) * sizeof *n->pops);
    bd_net_pop *p = &n->pops[n->npops];
    memset(p, 0, sizeof *p);
    p->path = strdup(path);
    p->size = size;
    p->eqs = e;
    p->state_init = calloc((size_t)e->nodes + 1, sizeof *p->state_init);
    snprintf(p->method, sizeof p->method, "%s", method);
    return n->npops++;
}

static void set_param(bd_net_pop *p, const char *name, double v) { p->eqs->syms[sym(p, name)].value = v; }
static void set_init(bd_net_pop *p, const char *var, bd_dist d) { p->state_init[state_of(p, var)] = d; }

/* threshold var > value; reset var = value */
static void spiking(bd_net_pop *p, const char *var, double vt, double vr, double ref_ms)
{
    p->threshold = bd_ex_binary(BD_EX_GT, bd_ex_sym(sym(p, var)), bd_ex_num(vt));
    p->reset = calloc(1, sizeof *p->reset);
    p->reset[0] = (bd_net_reset){sym(p, var), bd_ex_num(vr)};
    p->nreset = 1;
    p->refractory_ms = ref_ms;
}

static void add_proj(bd_network *n, const char *path, int pre, int post, bd_conn_kind conn, double prob, double w,
                     double delay, const char *target)
{
    n->projs = realloc(n->projs, (size_t)(n->nprojs + 1) * sizeof *n->projs);
    bd_net_proj *j = &n->projs[n->nprojs];
    memset(j, 0, sizeof *j);
    j->path = strdup(path);
    j->pre = pre, j->post = post, j->conn = conn, j->p = prob, j->include_self = 1;
    j->weight = (bd_dist){.kind = BD_DIST_CONST, .a = w};
    j->delay_ms = delay;
    j->target = sym(&n->pops[post], target);
    j->id = (uint32_t)n->nprojs++;
}

static void add_mon(bd_network *n, const char *name, bd_monitor_kind kind, int pop, const char *var,
                    const uint32_t *idx, size_t nidx, double every, double window)
{
    n->monitors = realloc(n->monitors, (size_t)(n->nmonitors + 1) * sizeof *n->monitors);
    bd_net_monitor *m = &n->monitors[n->nmonitors++];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    m->kind = kind, m->pop = pop, m->every_ms = every, m->window_ms = window;
    m->sym = var ? sym(&n->pops[pop], var) : -1;
    if (idx) {
        m->indices = malloc(nidx * sizeof *idx);
        memcpy(m->indices, idx, nidx * sizeof *idx);
        m->nindices = nidx;
    }
}

static const char coba_eqs[] =
    "dV/dt = (ge*(Ee - V) + gi*(Ei - V) - (V - El) + Ib) / tau : mV (unless refractory)\n"
    "dge/dt = -ge / taue : 1\n"
    "dgi/dt = -gi / taui : 1\n"
    "Ee : mV (constant)\nEi : mV (constant)\nEl : mV (constant)\nIb : mV (constant)\n"
    "tau : ms (constant)\ntaue : ms (constant)\ntaui : ms (constant)\n";

/* BrainPy's COBA (docs: reference benchmarks) at n neurons, 80 % E, p = 80 / n, Bernoulli. */
static bd_network *coba(size_t n, double duration, uint64_t seed, int poisson)
{
    bd_network *net = net_new("COBA", 0.1, duration, seed);
    size_t ne = n * 4 / 5;
    int pops[2] = {add_pop(net, "E", ne, coba_eqs, "exp_euler"), add_pop(net, "I", n - ne, coba_eqs, "exp_euler")};
    for (int k = 0; k < 2; k++) {
        bd_net_pop *p = &net->pops[pops[k]];
        set_param(p, "Ee", 0), set_param(p, "Ei", -80), set_param(p, "El", -60), set_param(p, "Ib", 20);
        set_param(p, "tau", 20), set_param(p, "taue", 5), set_param(p, "taui", 10);
        set_init(p, "V", (bd_dist){.kind = BD_DIST_NORMAL, .a = -55, .b = 5});
        spiking(p, "V", -50, -60, 5);
    }
    double prob = 80.0 / (double)n;
    add_proj(net, "EE", 0, 0, BD_CONN_FIXED_PROB, prob, 0.6, 0, "ge");
    add_proj(net, "EI", 0, 1, BD_CONN_FIXED_PROB, prob, 0.6, 0, "ge");
    add_proj(net, "IE", 1, 0, BD_CONN_FIXED_PROB, prob, 6.7, 0, "gi");
    add_proj(net, "II", 1, 1, BD_CONN_FIXED_PROB, prob, 6.7, 0, "gi");
    add_mon(net, "E_spikes", BD_MON_SPIKES, 0, NULL, NULL, 0, 0, 0);
    if (poisson) {
        net->poisson = calloc(1, sizeof *net->poisson);
        net->poisson[0] = (bd_net_poisson){strdup("bg"), 0, sym(&net->pops[0], "ge"), 5.0, 0.1, 100, 0};
        net->npoisson = 1;
    }
    return net;
}

/* ------------------------------------------------------------------------------------------------ */
/* Tests                                                                                            */

/* (a) dV/dt = (El + RI - V) / tau from Vr: crossing Vt after tau ln((V_inf - Vr) / (V_inf - Vt)), then t_ref. */
static void test_lif_isi(void)
{
    bd_network *net = net_new("lif", 0.1, 200, 1);
    int p = add_pop(net, "N", 1,
                    "dV/dt = (El + RI - V) / tau : mV (unless refractory)\nEl : mV (constant)\nRI : mV (constant)\n"
                    "tau : ms (constant)\n", "exp_euler");
    bd_net_pop *pp = &net->pops[p];
    set_param(pp, "El", -65), set_param(pp, "RI", 20), set_param(pp, "tau", 10);
    set_init(pp, "V", (bd_dist){.kind = BD_DIST_CONST, .a = -65});
    spiking(pp, "V", -50, -65, 2);
    add_mon(net, "spikes", BD_MON_SPIKES, p, NULL, NULL, 0, 0, 0);
    bd_device *dev = NULL;
    bd_run *r = NULL;
    bd_status st = bd_device_open("cpu", &dev);
    if (!st) st = bd_run_new(dev, net, NULL, &r);
    if (!st) st = bd_run_to_end(r);
    if (!tc_check(st == BD_OK, "LIF run: %s", st ? bd_last_error() : "ok")) goto done;
    bd_run_monitor m;
    bd_run_monitor_get(r, 0, &m);
    double tstar = 10 * log(20.0 / 5.0), isi = 2 + tstar;
    int ok = m.n >= 10 && fabs(m.t[0] - tstar) <= 0.1 + 1e-9;
    double worst = fabs(m.t[0] - tstar);
    for (size_t k = 1; k < m.n; k++) {
        double d = fabs(m.t[k] - m.t[k - 1] - isi);
        if (d > worst) worst = d;
        ok &= d <= 0.1 + 1e-9;
    }
    tc_check(ok, "LIF: %zu spikes, first at %.2f ms (analytic %.3f), ISIs within %.3f ms of %.3f ms (dt 0.1)", m.n,
             m.n ? m.t[0] : -1, tstar, worst, isi);
done:
    bd_run_free(r);
    bd_device_close(dev);
    bd_network_free(net);
}

/* (b) COBA at 400 neurons on every device: the same spike count within 2 %. */
static void test_coba_devices(void)
{
    bd_network *net = coba(400, 100, 7, 0);
    double ref = -1;
    for (size_t d = 0; d < bd_device_count(); d++) {
        bd_device_info info;
        if (bd_device_info_get(d, &info) || !tc_device_selected(info.name)) continue;
        if (info.backend != BD_BACKEND_CPU && strcmp(info.name, "opencl:0") && strcmp(info.name, "vulkan:0")) continue;
        bd_device *dev = NULL;
        bd_run *r = NULL;
        bd_status st = bd_device_open(info.name, &dev);
        if (!st) st = bd_run_new(dev, net, NULL, &r);
        if (!st) st = bd_run_to_end(r);
        uint64_t se = 0, si = 0;
        bd_run_pop_spikes(r, 0, &se, NULL);
        bd_run_pop_spikes(r, 1, &si, NULL);
        double wall = 0;
        bd_run_times(r, NULL, NULL, &wall);
        if (tc_check(st == BD_OK, "COBA 400 on %s: %llu E + %llu I spikes in 100 ms (%.2f s wall)%s%s", info.name,
                     (unsigned long long)se, (unsigned long long)si, wall, st ? ": " : "", st ? bd_last_error() : "")) {
            double total = (double)(se + si);
            if (ref < 0) {
                ref = total;
                tc_check(total > 400, "COBA 400 on %s is active (%.0f spikes)", info.name, total);
            } else {
                tc_check(fabs(total - ref) <= 0.02 * ref, "COBA 400 on %s: %.0f spikes vs %.0f on the first device",
                         info.name, total, ref);
            }
        }
        bd_run_free(r);
        bd_device_close(dev);
    }
    bd_network_free(net);
}

/* (c) One spike of A at step 5 reaches B's g1 after exactly 10 steps (1 ms) and g0 after 1 step (delay 0). */
static void test_delay(void)
{
    bd_network *net = net_new("delay", 0.1, 3, 1);
    int a = add_pop(net, "A", 1, "dV/dt = c : 1\nc : 1/ms (constant)\n", "euler");
    int b = add_pop(net, "B", 1, "dg0/dt = -g0 / tau : 1\ndg1/dt = -g1 / tau : 1\ntau : ms (constant)\n", "exp_euler");
    set_param(&net->pops[a], "c", 1);
    set_param(&net->pops[b], "tau", 1e12);
    spiking(&net->pops[a], "V", 0.55, -1e6, 0);
    add_proj(net, "AB1", a, b, BD_CONN_ONE2ONE, 0, 1, 1.0, "g1");
    add_proj(net, "AB0", a, b, BD_CONN_ONE2ONE, 0, 1, 0, "g0");
    add_mon(net, "A_spikes", BD_MON_SPIKES, a, NULL, NULL, 0, 0, 0);
    add_mon(net, "g1", BD_MON_VAR, b, "g1", NULL, 0, 0, 0);
    add_mon(net, "g0", BD_MON_VAR, b, "g0", NULL, 0, 0, 0);
    bd_device *dev = NULL;
    bd_run *r = NULL;
    bd_status st = bd_device_open("cpu", &dev);
    bd_run_opts o;
    bd_run_opts_init(&o);
    o.chunk_steps = 7; /* chunks that do not divide the delay */
    if (!st) st = bd_run_new(dev, net, &o, &r);
    if (!st) st = bd_run_to_end(r);
    if (tc_check(st == BD_OK, "delay run: %s", st ? bd_last_error() : "ok")) {
        bd_run_monitor sp, g1, g0;
        bd_run_monitor_get(r, 0, &sp), bd_run_monitor_get(r, 1, &g1), bd_run_monitor_get(r, 2, &g0);
        double ts = sp.n == 1 ? sp.t[0] : -1, t1 = -1, t0 = -1;
        for (size_t k = 0; k < g1.n && t1 < 0; k++)
            if (g1.x[k] > 0.5) t1 = g1.t[k];
        for (size_t k = 0; k < g0.n && t0 < 0; k++)
            if (g0.x[k] > 0.5) t0 = g0.t[k];
        tc_check(sp.n == 1 && fabs(ts - 0.6) < 1e-9, "delay: one presynaptic spike at %.2f ms (want 0.60)", ts);
        tc_check(fabs(t1 - ts - 1.0) < 1e-9, "delay 1 ms: arrives at %.2f ms, %.2f ms after the spike", t1, t1 - ts);
        tc_check(fabs(t0 - ts - 0.1) < 1e-9, "delay 0: arrives at %.2f ms, the next step", t0);
    }
    bd_run_free(r);
    bd_device_close(dev);
    bd_network_free(net);
}

/* (d) 500 steps + checkpoint + 500 steps (a new run restored from the file) == 1000 steps, bit for bit. */
static void test_checkpoint(void)
{
    bd_network *net = coba(200, 100, 11, 1);
    bd_device *dev = NULL;
    bd_run *full = NULL, *half = NULL, *rest = NULL;
    char path[] = "test_runner_ckpt.bin";
    bd_status st = bd_device_open("cpu", &dev);
    if (!st) st = bd_run_new(dev, net, NULL, &full);
    if (!st) st = bd_run_to_end(full);
    if (!st) st = bd_run_new(dev, net, NULL, &half);
    if (!st) st = bd_run_advance(half, 500);
    if (!st) st = bd_run_save(half, path);
    if (!st) st = bd_run_new(dev, net, NULL, &rest);
    if (!st) st = bd_run_restore(rest, path);
    if (!st) st = bd_run_to_end(rest);
    if (tc_check(st == BD_OK && bd_run_step(rest) == 1000, "checkpoint at step 500 and resume: %s",
                 st ? bd_last_error() : "ok")) {
        bd_run_monitor a, b;
        bd_run_monitor_get(full, 0, &a), bd_run_monitor_get(rest, 0, &b);
        size_t first = 0;
        while (first < a.n && a.t[first] <= 50.0 + 1e-9) first++;
        int same = a.n - first == b.n && b.n > 0;
        for (size_t k = 0; same && k < b.n; k++) same = a.i[first + k] == b.i[k] && a.t[first + k] == b.t[k];
        tc_check(same, "resumed spikes equal the uninterrupted run's after 50 ms (%zu vs %zu)", b.n, a.n - first);
        static const char *const vars[] = {"V", "ge", "gi"};
        for (int p = 0; p < 2; p++)
            for (int v = 0; v < 3; v++) {
                size_t n = net->pops[p].size;
                double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
                bd_status s1 = bd_run_state(full, p, vars[v], x, n), s2 = bd_run_state(rest, p, vars[v], y, n);
                tc_check(!s1 && !s2 && memcmp(x, y, n * sizeof *x) == 0, "final %s.%s bit-identical after resume",
                         net->pops[p].path, vars[v]);
                free(x), free(y);
            }
        bd_network *other = coba(200, 100, 12, 1);
        bd_run *wrong = NULL;
        st = bd_run_new(dev, other, NULL, &wrong);
        if (!st) tc_expect_status(bd_run_restore(wrong, path), BD_ERR_MODEL, "restoring into another seed");
        bd_run_free(wrong);
        bd_network_free(other);
    }
    remove(path);
    bd_run_free(full), bd_run_free(half), bd_run_free(rest);
    bd_device_close(dev);
    bd_network_free(net);
}

/* (e) dV/dt = V / tau with euler grows 101-fold per step: element 3 (the only nonzero one) overflows. */
static void test_nan(void)
{
    bd_network *net = net_new("blowup", 0.1, 10, 1);
    int p = add_pop(net, "Exc", 5, "dV/dt = V / tau : 1\ntau : ms (constant)\n", "euler");
    set_param(&net->pops[p], "tau", 0.001);
    double *v = calloc(5, sizeof *v);
    v[3] = 1;
    set_init(&net->pops[p], "V", (bd_dist){.kind = BD_DIST_FILE, .values = v, .nvalues = 5});
    bd_device *dev = NULL;
    bd_run *r = NULL;
    bd_status st = bd_device_open("cpu", &dev);
    if (!st) st = bd_run_new(dev, net, NULL, &r);
    if (!st) st = bd_run_to_end(r);
    const char *msg = bd_last_error();
    /* V + dt V / tau: V / tau = 1000 V overflows f32 (3.4e38) once V = 101^18 > 3.4e35, in step 18 */
    tc_check(st == BD_ERR_NUMERIC && strstr(msg, "'Exc'") && strstr(msg, "'V'") && strstr(msg, "element 3") &&
                 strstr(msg, "step 18"), "NaN/Inf report: %s: %s", bd_status_name(st), msg);
    bd_run_free(r);
    bd_device_close(dev);
    bd_network_free(net);
}

static int npy_shape_is(const char *path, const char *shape)
{
    char head[256] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    for (size_t k = 0; k < n; k++)
        if (!head[k]) head[k] = ' ';
    return strstr(head, shape) != NULL;
}

/* (f) The files of every monitor kind and their shapes. */
static void test_monitor_files(void)
{
    bd_network *net = coba(100, 20, 3, 0);
    static const uint32_t idx[] = {0, 5, 7};
    add_mon(net, "V", BD_MON_VAR, 0, "V", idx, 3, 1.0, 0);
    add_mon(net, "rate", BD_MON_RATE, 1, NULL, NULL, 0, 0, 2.0);
    bd_device *dev = NULL;
    bd_run *r = NULL;
    char dir[] = "test_runner_out";
    bd_status st = bd_device_open("cpu", &dev);
    if (!st) st = bd_run_new(dev, net, NULL, &r);
    if (!st) st = bd_run_to_end(r);
    if (!st) st = bd_run_write(r, dir);
    if (tc_check(st == BD_OK, "monitors written to %s: %s", dir, st ? bd_last_error() : "ok")) {
        bd_run_monitor sp;
        bd_run_monitor_get(r, 0, &sp);
        char shape[64], path[256];
        snprintf(shape, sizeof shape, "'shape': (%zu,)", sp.n);
        snprintf(path, sizeof path, "%s/E_spikes_i.npy", dir);
        tc_check(npy_shape_is(path, shape) && npy_shape_is(path, "<i4"), "%s: int32 %s", path, shape);
        snprintf(path, sizeof path, "%s/E_spikes_t.npy", dir);
        tc_check(npy_shape_is(path, shape) && npy_shape_is(path, "<f8"), "%s: float64 %s", path, shape);
        snprintf(path, sizeof path, "%s/V.npy", dir);
        tc_check(npy_shape_is(path, "'shape': (20, 3)"), "%s: 20 samples x 3 elements", path);
        snprintf(path, sizeof path, "%s/V_t.npy", dir);
        tc_check(npy_shape_is(path, "'shape': (20,)"), "%s: 20 times", path);
        snprintf(path, sizeof path, "%s/rate.npy", dir);
        tc_check(npy_shape_is(path, "'shape': (200,)"), "%s: 200 steps", path);
        snprintf(path, sizeof path, "%s/manifest.json", dir);
        struct stat sb;
        tc_check(stat(path, &sb) == 0 && sb.st_size > 100, "%s written", path);
        bd_run_monitor vm;
        bd_run_monitor_get(r, 1, &vm);
        tc_check(vm.n == 20 && fabs(vm.t[0] - 1.0) < 1e-9 && fabs(vm.t[19] - 20.0) < 1e-9 && vm.x[0] > -90 && vm.x[0] < -40,
                 "V samples every 1 ms from 1 to 20 ms (first %.3f mV)", vm.n ? vm.x[0] : NAN);
        static const char *const files[] = {"E_spikes_i.npy", "E_spikes_t.npy", "V.npy", "V_t.npy", "rate.npy",
                                            "rate_t.npy", "manifest.json"};
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[k]);
            remove(path);
        }
        rmdir(dir);
    }
    bd_run_free(r);
    bd_device_close(dev);
    bd_network_free(net);
}

int main(void)
{
    tc_begin();
    test_lif_isi();
    test_delay();
    test_nan();
    test_monitor_files();
    test_checkpoint();
    test_coba_devices();
    return tc_finish();
}
