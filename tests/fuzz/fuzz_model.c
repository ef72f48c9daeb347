/* libFuzzer target for the model loader (tests/fuzz/README.md): bytes are read as a model file from memory
 * (bd_model_load_text), and a model that loads is resolved into a network, which is then checked for the
 * invariants the runner relies on. Any crash, sanitizer report or trap is a bug. */
#include "model_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_network(const bd_network *net)
{
    for (int p = 0; p < net->npops; p++) {
        const bd_net_pop *pop = &net->pops[p];
        if (!pop->eqs || pop->size < 1 || !pop->param_init || !pop->state_init) __builtin_trap();
        for (int r = 0; r < pop->nreset; r++)
            if (pop->reset[r].sym < 0 || pop->reset[r].sym >= pop->eqs->nsyms || !pop->reset[r].value) __builtin_trap();
    }
    for (int j = 0; j < net->nprojs; j++) {
        const bd_net_proj *pr = &net->projs[j];
        if (pr->pre < 0 || pr->pre >= net->npops || pr->post < 0 || pr->post >= net->npops) __builtin_trap();
        const bd_eqs *e = net->pops[pr->post].eqs, *pe = net->pops[pr->pre].eqs;
        if (pr->coupling) { /* a coupling feeds a parameter of post from a symbol of pre */
            if (pr->fed < 0 || pr->fed >= e->nsyms || e->syms[pr->fed].kind != BD_SYM_PARAM) __builtin_trap();
            if (pr->src_sym < 1 || pr->src_sym >= pe->nsyms) __builtin_trap();
        } else if (pr->target < 0 || pr->target >= e->nsyms || e->syms[pr->target].kind != BD_SYM_STATE) {
            __builtin_trap();
        }
        if (pr->scaled && (pr->scale_var < 0 || pr->scale_var >= pe->nodes)) __builtin_trap();
    }
    for (int m = 0; m < net->nmonitors; m++)
        if (net->monitors[m].pop < 0 || net->monitors[m].pop >= net->npops) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    bd_model *m = NULL;
    /* a name without folders: includes are looked up in the working directory, which holds none */
    if (bd_model_load_text(text, "fuzz.json", &m) == BD_OK) {
        bd_network *net = NULL;
        if (bd_model_resolve(m, &net) == BD_OK) check_network(net);
        else if (net) __builtin_trap(); /* a failed resolution returns no network */
        bd_network_free(net);
        char *sum = NULL;
        if (bd_model_describe(m, &sum) == BD_OK && !sum) __builtin_trap();
        free(sum);
    } else if (m) {
        __builtin_trap();
    }
    bd_model_free(m);
    free(text);
    return 0;
}
