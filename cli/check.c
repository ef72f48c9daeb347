/* `bdyn check MODEL.json`: loads and resolves a model file (docs/model-format.md) and prints a one-paragraph
 * summary; exit 0 when the model is valid, 2 with the loader's message otherwise. */
#include "cli.h"
#include "bdyn/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_check(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            printf("usage: bdyn check MODEL.json\n");
            return 0;
        }
        return cli_usage_error("check", "usage: bdyn check MODEL.json");
    }
    bd_model *m = NULL;
    char *summary = NULL;
    bd_status st = bd_model_load(argv[1], &m);
    if (st == BD_OK) st = bd_model_describe(m, &summary);
    bd_model_free(m);
    if (st != BD_OK) {
        fprintf(stderr, "%s\n", bd_last_error());
        return 2;
    }
    printf("%s\n", summary);
    free(summary);
    return 0;
}
