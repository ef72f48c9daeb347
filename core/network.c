/* Freeing a resolved network (core/network.h). */
#include "network.h"

#include <stdlib.h>

static void dist_free(bd_dist *d)
{
    if (d) free(d->values);
}

void bd_network_free(bd_network *net)
{
    if (!net) return;
    for (int p = 0; p < net->npops; p++) {
        bd_net_pop *pop = &net->pops[p];
        int nsyms = pop->eqs ? pop->eqs->nsyms : 0, nstate = pop->eqs ? pop->eqs->nodes : 0;
        for (int s = 0; pop->param_init && s < nsyms; s++) dist_free(&pop->param_init[s]);
        for (int v = 0; pop->state_init && v < nstate; v++) dist_free(&pop->state_init[v]);
        for (int r = 0; r < pop->nreset; r++) bd_ex_free(pop->reset[r].value);
        free(pop->param_init), free(pop->state_init), free(pop->reset);
        for (int k = 0; k < pop->ntables; k++) free(pop->tables[k].values);
        free(pop->tables);
        bd_ex_free(pop->threshold);
        bd_ex_free(pop->refractory_cond);
        bd_eqs_free(pop->eqs);
        free(pop->path);
    }
    for (int j = 0; j < net->nprojs; j++) {
        bd_net_proj *pr = &net->projs[j];
        free(pr->path), free(pr->rows), free(pr->cols);
        dist_free(&pr->weight);
        dist_free(pr->delays), free(pr->delays);
        if (pr->plastic) {
            bd_eqs_free(pr->plastic->rule);
            free(pr->plastic->pre_var), free(pr->plastic->post_var), free(pr->plastic);
        }
    }
    for (int j = 0; j < net->npoisson; j++) free(net->poisson[j].path);
    for (int m = 0; m < net->nmonitors; m++) free(net->monitors[m].name), free(net->monitors[m].indices);
    free(net->pops), free(net->projs), free(net->poisson), free(net->monitors);
    free(net->name), free(net->source);
    free(net);
}
