/* Model files and the model tree (include/bdyn/model.h, docs/model-format.md): valid models resolve into the
 * expected flat network (channels, synapses and outputs flattened, group types instantiated with their
 * parameters, includes, unit conversions, initializers), and every malformed model of tests/models/bad fails
 * with the message fragment and location listed in its README table. */
#include "model_impl.h"
#include "test_common.h"

#include <math.h>
#include <unistd.h>

static const char lib_json[] =
    "{\"bdyn\": 1, \"types\": {\n"
    "  \"ExpSyn\": {\"kind\": \"synapse\", \"params\": {\"tau\": \"5 ms\"}, \"equations\": [\"dg/dt = -g/tau : 1\", \"tau : ms\"]},\n"
    "  \"COBA\": {\"kind\": \"output\", \"params\": {\"E\": \"0 mV\"},\n"
    "           \"equations\": [\"I = g*(E - V)/ms : mV/ms\", \"g : 1\", \"E : mV\", \"V : mV\"]}\n"
    "}}\n";

/* An HH area (channels IK, IL) as a group type instantiated twice, with synapse + output, a Poisson input. */
static const char hh_json[] =
    "{\n"
    "  \"bdyn\": 1, \"name\": \"hhnet\", \"include\": [\"lib.json\"],\n"
    "  \"run\": {\"dt\": \"0.01 ms\", \"duration\": \"0.05 s\"},\n"
    "  \"types\": {\n"
    "    \"IK\": {\"kind\": \"channel\", \"params\": {\"g_max\": \"%s\", \"E_K\": \"-77 mV\"},\n"
    "           \"equations\": [\"dn/dt = (0.01/mV*(V + 55*mV)/(1 - exp(-(V + 55*mV)/(10*mV)))*(1 - n) - "
    "0.125*exp(-(V + 65*mV)/(80*mV))*n)/ms : 1\",\n"
    "                         \"I = g_max*n**4*(V - E_K) : uA/cm^2\", \"g_max : mS/cm^2\", \"E_K : mV\", \"V : mV\"]},\n"
    "    \"IL\": {\"kind\": \"channel\", \"params\": {\"g_L\": \"0.3 mS/cm^2\", \"E_L\": \"-54.4 mV\"},\n"
    "           \"equations\": \"I = g_L*(V - E_L) : uA/cm^2\\ng_L : mS/cm^2\\nE_L : mV\\nV : mV\"},\n"
    "    \"HH\": {\"kind\": \"neuron\", \"params\": {\"C\": \"1 uF/cm^2\", \"Vt\": \"0 mV\"},\n"
    "           \"equations\": [\"dV/dt = (I_syn*C - I_channels) / C : mV\", \"I_channels : uA/cm^2\", \"I_syn : mV/ms\",\n"
    "                         \"C : uF/cm^2\", \"Vt : mV (constant)\"],\n"
    "           \"channels\": {\"IK\": {\"type\": \"IK\"}, \"IL\": {\"type\": \"IL\", \"params\": {\"g_L\": \"0.5 mS/cm^2\"}}},\n"
    "           \"threshold\": \"V > Vt\", \"refractory\": \"V > Vt\"},\n"
    "    \"Area\": {\"kind\": \"group\", \"params\": {\"n\": \"10\", \"w\": \"0.5\"},\n"
    "             \"populations\": {\"E\": {\"type\": \"HH\", \"size\": \"${n}\", \"init\": {\"V\": \"-0.065 V\", \"IK__n\": 0.3}}},\n"
    "             \"projections\": {\"EE\": {\"pre\": \"E\", \"post\": \"E\", \"conn\": {\"fixed_outdegree\": 2}, \"weight\": \"${w}\",\n"
    "                                    \"synapse\": {\"type\": \"ExpSyn\"}, \"output\": {\"type\": \"COBA\"}, \"delay\": \"1 ms\"}}}\n"
    "  },\n"
    "  \"groups\": {\"A1\": {\"type\": \"Area\", \"params\": {\"n\": 20}}, \"A2\": {\"type\": \"Area\", \"params\": {\"w\": \"0.25\"}}},\n"
    "  \"projections\": {\"X\": {\"pre\": \"A1.E\", \"post\": \"A2.E\", \"conn\": {\"all2all\": {}},\n"
    "                        \"weight\": {\"uniform\": [0.1, 0.2]}, \"target\": \"A2_EE__g\"}},\n"
    "  \"inputs\": {\"drive\": {\"poisson\": {\"rate\": \"0.01 kHz\", \"weight\": 0.1, \"target\": \"A1_EE__g\", \"count\": 5},"
    " \"into\": \"A1.E\"}},\n"
    "  \"monitors\": {\"v\": {\"var\": \"A1.E.V\", \"every\": \"0.1 ms\"}, \"s\": {\"spikes\": \"A2.E\"}}\n"
    "}\n";

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static double value(const bd_net_pop *p, const char *name)
{
    int s = bd_eqs_find(p->eqs, name);
    return s < 0 ? NAN : p->eqs->syms[s].value;
}

static int kind_of(const bd_net_pop *p, const char *name)
{
    int s = bd_eqs_find(p->eqs, name);
    return s < 0 ? -1 : (int)p->eqs->syms[s].kind;
}

static bd_network *load_hh(const char *dir, const char *gmax)
{
    char path[512], text[sizeof hh_json + 64];
    snprintf(text, sizeof text, hh_json, gmax);
    snprintf(path, sizeof path, "%s/lib.json", dir);
    write_file(path, lib_json);
    snprintf(path, sizeof path, "%s/hh.json", dir);
    write_file(path, text);
    bd_model *m = NULL;
    bd_network *net = NULL;
    bd_status st = bd_model_load(path, &m);
    if (!st) st = bd_model_resolve(m, &net);
    tc_check(st == BD_OK, "hh model (g_max %s) resolves%s%s", gmax, st ? ": " : "", st ? bd_last_error() : "");
    bd_model_free(m);
    return net;
}

static void test_hh(const char *dir)
{
    bd_network *net = load_hh(dir, "36 mS/cm^2");
    if (!net) return;
    tc_check(net->npops == 2 && !strcmp(net->pops[0].path, "A1.E") && !strcmp(net->pops[1].path, "A2.E"),
             "group type instantiated twice: A1.E, A2.E");
    tc_check(net->pops[0].size == 20 && net->pops[1].size == 10, "${n} substituted (20) and defaulted (10)");
    tc_check(fabs(net->dt_ms - 0.01) < 1e-12 && fabs(net->duration_ms - 50) < 1e-9, "run: dt 0.01 ms, 0.05 s = 50 ms");
    const bd_net_pop *a = &net->pops[0], *b = &net->pops[1];
    tc_check(kind_of(a, "IK__n") == BD_SYM_STATE && kind_of(a, "IL__I") == BD_SYM_ALGEBRAIC,
             "channel symbols renamed: IK__n state, IL__I algebraic");
    tc_check(kind_of(a, "I_channels") == BD_SYM_ALGEBRAIC && kind_of(a, "I_syn") == BD_SYM_ALGEBRAIC,
             "I_channels and I_syn defined as sums");
    tc_check(kind_of(a, "A1_EE__g") == BD_SYM_STATE && kind_of(a, "A1_EE__I") == BD_SYM_ALGEBRAIC &&
             kind_of(a, "A1_EE__E") == BD_SYM_PARAM && kind_of(a, "A2_EE__g") == -1,
             "synapse and output flattened into their post population only");
    tc_check(value(a, "IK__g_max") == 36 && value(b, "IK__g_max") == 36, "channel default in both instances");
    tc_check(value(a, "IL__g_L") == 0.5, "channel instance override (0.5 mS/cm^2)");
    tc_check(value(a, "A1_EE__tau") == 5 && value(a, "Vt") == 0, "synapse and neuron defaults");
    tc_check(strstr(a->eqs->source, "I_syn = A1_EE__I : mV/ms") != NULL, "I_syn sums the output current");
    tc_check(strstr(a->eqs->source, "I_channels = IK__I + IL__I : uA/cm^2") != NULL, "I_channels sums the channels");
    int n = bd_eqs_find(a->eqs, "IK__n"), v = bd_eqs_find(a->eqs, "V"), vi = -1, ni = -1;
    for (int k = 0; k < a->eqs->nodes; k++) {
        if (a->eqs->odes[k].sym == v) vi = k;
        if (a->eqs->odes[k].sym == n) ni = k;
    }
    tc_check(vi >= 0 && ni >= 0 && fabs(a->state_init[vi].a + 65) < 1e-9 && a->state_init[ni].a == 0.3,
             "init: -0.065 V = -65 mV, IK__n 0.3");
    tc_check(a->threshold && a->refractory_cond && !strcmp(a->method, "exp_euler"), "threshold, refractory condition, "
             "default method exp_euler");
    tc_check(net->nprojs == 3 && !strcmp(net->projs[1].path, "A1.EE") && net->projs[1].target == bd_eqs_find(a->eqs, "A1_EE__g")
             && net->projs[1].conn == BD_CONN_FIXED_OUTDEGREE && net->projs[1].k == 2 && net->projs[1].delay_ms == 1,
             "projection A1.EE targets its synapse state A1_EE__g");
    tc_check(net->projs[1].weight.a == 0.5 && net->projs[2].weight.a == 0.25, "weights ${w}: 0.5 and 0.25");
    tc_check(net->projs[0].weight.kind == BD_DIST_UNIFORM && net->projs[0].weight.b == 0.2, "uniform weight");
    tc_check(net->npoisson == 1 && net->poisson[0].rate_hz == 10 && net->poisson[0].count == 5, "poisson 0.01 kHz = 10 Hz");
    tc_check(net->nmonitors == 2 && net->monitors[0].kind == BD_MON_VAR && net->monitors[0].sym == v &&
             net->monitors[0].every_ms == 0.1, "monitors");
    bd_network_free(net);
    /* a parameter change in the channel type reaches every neuron built from it */
    net = load_hh(dir, "30 mS/cm^2");
    if (net) tc_check(value(&net->pops[0], "IK__g_max") == 30 && value(&net->pops[1], "IK__g_max") == 30,
                      "IK g_max changed in the type: 30 in both areas");
    bd_network_free(net);
}

/* A LIF network built with the C API, checked like the JSON one. */
static void test_api(void)
{
    bd_model *m;
    bd_mtype *lif;
    bd_minst *e, *pr, *in;
    bd_mmonitor *mon;
    bd_status st = bd_model_new("api", &m);
    if (!st) st = bd_model_add_type(m, "LIF", BD_TYPE_NEURON, &lif);
    if (!st) st = bd_mtype_add(lif, "equations", "dV/dt = (El - V + I_syn)/tau : mV (unless refractory)");
    if (!st) st = bd_mtype_add(lif, "equations", "I_syn : mV");
    if (!st) st = bd_mtype_add(lif, "equations", "tau : ms (constant)");
    if (!st) st = bd_mtype_add(lif, "equations", "El : mV");
    if (!st) st = bd_mtype_param(lif, "tau", "0.02 s");
    if (!st) st = bd_mtype_set(lif, "threshold", "V > -50*mV");
    if (!st) st = bd_mtype_add(lif, "reset", "V = El");
    if (!st) st = bd_mtype_set(lif, "refractory", "2 ms");
    if (!st) st = bd_model_add_population(m, NULL, "E", "LIF", 100, &e);
    if (!st) st = bd_minst_param(e, "El", BD_INIT_NORMAL, "-60 mV", "1 mV");
    if (!st) st = bd_minst_init(e, "V", BD_INIT_UNIFORM, "-70 mV", "-50 mV");
    if (!st) st = bd_model_add_projection(m, NULL, "EE", "E", "E", &pr);
    if (!st) st = bd_minst_set_conn(pr, "fixed_prob", "0.1");
    if (!st) st = bd_minst_set(pr, "target", "V");
    if (!st) st = bd_minst_weight(pr, BD_INIT_VALUE, "0.5 mV", NULL);
    if (!st) st = bd_model_add_input(m, NULL, "bias", "constant", "E", &in);
    if (!st) st = bd_minst_param(in, "value", BD_INIT_VALUE, "0.015 V", NULL);
    if (!st) st = bd_model_add_monitor(m, "sp", "spikes", "E", &mon);
    bd_network *net = NULL;
    if (!st) st = bd_model_resolve(m, &net);
    if (tc_check(st == BD_OK, "C API model resolves%s%s", st ? ": " : "", st ? bd_last_error() : "")) {
        const bd_net_pop *p = &net->pops[0];
        int el = bd_eqs_find(p->eqs, "El");
        tc_check(value(p, "tau") == 20 && p->param_init[el].kind == BD_DIST_NORMAL && p->param_init[el].a == -60,
                 "0.02 s into ms; per-element El drawn from normal(-60, 1)");
        tc_check(value(p, "bias__value") == 15 && strstr(p->eqs->source, "I_syn = bias__value : mV"),
                 "constant input: 0.015 V = 15 mV summed into I_syn");
        tc_check(p->nreset == 1 && p->reset[0].sym == bd_eqs_find(p->eqs, "V") && p->refractory_ms == 2, "reset, refractory");
        tc_check(net->projs[0].conn == BD_CONN_FIXED_PROB && net->projs[0].p == 0.1 && net->projs[0].weight.a == 0.5,
                 "projection");
    }
    bd_network_free(net);
    /* messages of code-built models name the model and the JSON-like path */
    bd_minst *bad;
    st = bd_model_add_population(m, NULL, "E", "LIF", 5, &bad);
    tc_check(st == BD_ERR_MODEL && strstr(bd_last_error(), "api: at $.populations.E: duplicate name 'E'"),
             "API duplicate: %s", bd_last_error());
    char *sum = NULL;
    st = bd_model_describe(m, &sum);
    tc_check(st == BD_OK && sum && strstr(sum, "E: 100"), "describe: %s", sum ? sum : bd_last_error());
    free(sum);
    bd_model_free(m);
}

/* Every row "| `file.json` | fragment | location |" of tests/models/bad/README.md. */
static void test_bad(const char *dir)
{
    char path[2048];
    if (snprintf(path, sizeof path, "%s/README.md", dir) >= (int)sizeof path) return;
    FILE *f = fopen(path, "r");
    if (!tc_check(f != NULL, "open %s", path)) return;
    char line[2048];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char file[256], frag[1024], loc[256];
        if (sscanf(line, "| `%255[^`]` | %1023[^|]| %255[^|]|", file, frag, loc) != 3) continue;
        for (char *s = frag + strlen(frag); s > frag && s[-1] == ' ';) *--s = '\0';
        for (char *s = loc + strlen(loc); s > loc && s[-1] == ' ';) *--s = '\0';
        /* fragments are written in backquotes in the table */
        char *fr = frag, *lc = loc;
        if (*fr == '`') fr++, fr[strlen(fr) - 1] = '\0';
        if (*lc == '`') lc++, lc[strlen(lc) - 1] = '\0';
        rows++;
        if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) continue;
        bd_model *m = NULL;
        bd_status st = bd_model_load(path, &m);
        if (!st) st = bd_model_check(m);
        bd_model_free(m);
        const char *msg = bd_last_error();
        /* the location: "line:col" right after the file name, and/or the JSON path */
        char want[400] = "";
        char lpart[128] = "", jpart[200] = "";
        sscanf(lc, "%127s %199s", lpart, jpart);
        if (lc[0] == '$') snprintf(jpart, sizeof jpart, "%s", lc), lpart[0] = '\0';
        if (strstr(lpart, ".json:")) snprintf(want, sizeof want, "%s:", lpart); /* about an included file */
        else if (lpart[0]) snprintf(want, sizeof want, "%s:%s:", file, lpart);
        int ok = st != BD_OK && strstr(msg, fr) && (!lpart[0] || strstr(msg, want)) &&
                 (!jpart[0] || strstr(msg, jpart));
        tc_check(ok, "%s: %s (want '%s' at '%s')", file, st ? msg : "loaded without error", fr, lc);
    }
    fclose(f);
    tc_check(rows >= 35, "%d bad models listed", rows);
}

int main(void)
{
    tc_begin();
    char dir[] = "/tmp/bdyn-model-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_hh(dir);
    test_api();
    char bad[1024];
    const char *src = getenv("BDYN_SOURCE_ROOT");
    if (src) snprintf(bad, sizeof bad, "%s/tests/models/bad", src);
    else {
        /* __FILE__ is the path the compiler was given: from the build folder, where meson runs tests */
        snprintf(bad, sizeof bad, "%s", __FILE__);
        char *slash = strrchr(bad, '/');
        snprintf(slash ? slash + 1 : bad, sizeof bad - (size_t)(slash ? slash + 1 - bad : 0), "models/bad");
    }
    test_bad(bad);
    char path[600];
    snprintf(path, sizeof path, "%s/lib.json", dir), unlink(path);
    snprintf(path, sizeof path, "%s/hh.json", dir), unlink(path);
    rmdir(dir);
    return tc_finish();
}
