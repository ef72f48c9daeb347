/* libFuzzer target for the equation parser and the unit/quantity readers (tests/fuzz/README.md). Inputs that parse
 * are checked for tree invariants: every node well formed, symbols in range, spans inside the source. */
#include "expr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_tree(const bd_eqs *q, const bd_expr *e, int depth)
{
    int n = (int)strlen(q->source);
    if (!e || depth > 1000 || e->nargs < 0 || e->nargs > 3) __builtin_trap();
    if ((e->kind == BD_EX_SYM || e->kind == BD_EX_DELAY) && (e->sym < 0 || e->sym >= q->nsyms)) __builtin_trap();
    if (e->kind == BD_EX_DELAY && q->syms[e->sym].kind != BD_SYM_STATE) __builtin_trap();
    if (e->pos >= 0 && (e->len < 0 || e->pos + e->len > n)) __builtin_trap();
    for (int i = 0; i < e->nargs; i++) check_tree(q, e->arg[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: { /* quantities and units: the first byte picks the target unit */
        static const char *const targets[] = {"ms", "mV", "1", "uA/cm^2"};
        bd_unit u;
        double v;
        if (bd_unit_parse(targets[data[0] / 4 % 4], &u) == BD_OK) (void)bd_quantity_parse(text, &u, "fuzz", &v);
        (void)bd_unit_parse(text, &u);
        break;
    }
    default: {
        bd_eqs *q = NULL;
        if (bd_eqs_parse(text, "fuzz", &q) == BD_OK) {
            if (!q || q->nsyms < 1 || q->syms[0].kind != BD_SYM_TIME) __builtin_trap();
            for (int i = 0; i < q->nsyms; i++)
                if (q->syms[i].def) check_tree(q, q->syms[i].def, 0);
            for (int i = 0; i < q->nodes; i++) {
                check_tree(q, q->odes[i].drift, 0);
                if (q->odes[i].nnoise < 0 || q->odes[i].nnoise > BD_EQ_MAX_NOISE) __builtin_trap();
                for (int k = 0; k < q->odes[i].nnoise; k++) check_tree(q, q->odes[i].noise[k], 0);
            }
        } else if (q) {
            __builtin_trap(); /* a failed parse returns no system */
        }
        bd_eqs_free(q);
    }
    }
    free(text);
    return 0;
}
