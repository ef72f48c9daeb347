/* `bdyn list-types [NAME]`: every built-in type (the JSON files of models/lib, found like model includes) or the types of a
 * model file, with kind, doc, parameters (default, unit, role) and equations; as text, JSON, or the Markdown
 * that docs/models.md is generated from (scripts/gen-models-doc). */
#include "cli.h"
#include "bdyn/model_types.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "list-types"

static const char usage[] =
    "usage: bdyn list-types [NAME] [--kind KIND] [--brief | --json | --markdown] [--model MODEL.json]\n"
    "  NAME           show this type only\n"
    "  --kind KIND    only types of this kind (neuron, channel, synapse, output, rate, input, plasticity, group)\n"
    "  --brief        one line per type: name, kind, file\n"
    "  --json         a JSON array of the types\n"
    "  --markdown     the Markdown of docs/models.md: one section per kind, one subsection per type\n"
    "  --model FILE   the types of a model file (and what it includes) instead of the built-in library\n"
    "The built-in library is every lib/*.json in each folder of $BDYN_MODEL_PATH, then in the shipped models/\n"
    "folder; a file name found twice is taken from the first place, as model includes do.\n";

/* Kinds in the order the documentation presents them, with section titles; other kinds follow by name. */
static const char *const kind_order[][2] = {
    {"neuron", "Neurons"},
    {"channel", "Ion channels and ion pools"},
    {"synapse", "Synapse dynamics"},
    {"output", "Synaptic outputs"},
    {"plasticity", "Plasticity"},
    {"rate", "Rate and population models"},
    {"input", "Inputs"},
    {"group", "Group types"},
};
#define NKIND_ORDER ((int)(sizeof kind_order / sizeof kind_order[0]))

static int kind_rank(const char *kind)
{
    for (int k = 0; k < NKIND_ORDER; k++)
        if (!strcmp(kind, kind_order[k][0])) return k;
    return NKIND_ORDER;
}

static const char *kind_title(const char *kind)
{
    int r = kind_rank(kind);
    return r < NKIND_ORDER ? kind_order[r][1] : NULL;
}

/* "…/models/lib/neurons.json" -> "lib/neurons.json": the name a model includes it by; other paths stay. */
static const char *short_file(const char *path)
{
    const char *best = NULL;
    for (const char *p = strstr(path, "/lib/"); p; p = strstr(p + 1, "/lib/")) best = p + 1;
    return best ? best : path;
}

/* Prints text wrapped at `width` columns, each line indented. */
static void wrap(const char *text, int indent, int width)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        int col = indent;
        printf("%*s", indent, "");
        int first = 1;
        while (*p && *p != '\n') {
            size_t w = strcspn(p, " \n");
            if (!first && col + 1 + (int)w > width) break;
            if (!first) putchar(' '), col++;
            printf("%.*s", (int)w, p);
            col += (int)w, first = 0;
            p += w;
            while (*p == ' ') p++;
        }
        if (*p == '\n') p++;
        putchar('\n');
    }
}

static void print_text(const bd_type_info *t)
{
    printf("%s  (%s, %s)\n", t->name, t->kind, short_file(t->file));
    if (t->doc[0]) wrap(t->doc, 4, 100);
    if (t->nparams) {
        printf("  parameters:\n");
        int wn = 4, wd = 7, wu = 4;
        for (int k = 0; k < t->nparams; k++) {
            const bd_type_param *p = &t->params[k];
            int ln = (int)strlen(p->name), ld = p->default_value ? (int)strlen(p->default_value) : 1, lu = (int)strlen(p->unit);
            wn = ln > wn ? ln : wn, wd = ld > wd ? ld : wd, wu = lu > wu ? lu : wu;
        }
        for (int k = 0; k < t->nparams; k++) {
            const bd_type_param *p = &t->params[k];
            printf("    %-*s  %-*s  %-*s  %s\n", wn, p->name, wd, p->default_value ? p->default_value : "-", wu,
                   p->unit[0] ? p->unit : "?", p->role);
        }
    }
    if (t->equations[0]) {
        printf("  equations:\n");
        for (const char *p = t->equations; *p;) {
            size_t w = strcspn(p, "\n");
            printf("    %.*s\n", (int)w, p);
            p += w + (p[w] == '\n');
        }
    }
    for (int k = 0; k < t->nkeys; k++) printf("  %s: %s\n", t->keys[k], t->values[k][0] ? t->values[k] : "(none)");
    printf("\n");
}

static cJSON *to_json(const bd_type_info *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "kind", t->kind);
    cJSON_AddStringToObject(o, "file", short_file(t->file));
    cJSON_AddStringToObject(o, "doc", t->doc);
    cJSON *ps = cJSON_AddArrayToObject(o, "params");
    for (int k = 0; k < t->nparams; k++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", t->params[k].name);
        if (t->params[k].default_value) cJSON_AddStringToObject(p, "default", t->params[k].default_value);
        else cJSON_AddNullToObject(p, "default");
        cJSON_AddStringToObject(p, "unit", t->params[k].unit);
        cJSON_AddStringToObject(p, "role", t->params[k].role);
        cJSON_AddItemToArray(ps, p);
    }
    cJSON_AddStringToObject(o, "equations", t->equations);
    for (int k = 0; k < t->nkeys; k++) cJSON_AddStringToObject(o, t->keys[k], t->values[k]);
    return o;
}

/* Markdown-safe text for a paragraph or a table cell: * and _ pairs, < and | would be read as markup. */
static void md_text(const char *s, int cell)
{
    for (; *s; s++) {
        if (*s == '*' || *s == '`' || (cell && *s == '|')) printf("\\%c", *s);
        else if (*s == '<') printf("&lt;");
        else if (*s == '\n') printf(cell ? " " : "\n\n");
        else putchar(*s);
    }
}

/* A code span that survives backticks in the text (none are expected in equations). */
static void md_code(const char *s)
{
    printf("`");
    for (; *s; s++) putchar(*s == '`' ? '\'' : *s == '|' ? '/' : *s);
    printf("`");
}

static void print_markdown_type(const bd_type_info *t)
{
    printf("### %s\n\n", t->name);
    printf("*%s* — `%s`\n\n", t->kind, short_file(t->file));
    if (t->doc[0]) {
        md_text(t->doc, 0);
        printf("\n\n");
    }
    if (t->nparams) {
        printf("| parameter | default | unit | role |\n|---|---|---|---|\n");
        for (int k = 0; k < t->nparams; k++) {
            const bd_type_param *p = &t->params[k];
            printf("| ");
            md_code(p->name);
            printf(" | ");
            if (p->default_value) md_text(p->default_value, 1);
            else printf("—");
            printf(" | ");
            if (p->unit[0]) md_code(p->unit);
            printf(" | %s |\n", p->role);
        }
        printf("\n");
    }
    if (t->equations[0]) printf("```\n%s\n```\n\n", t->equations);
    for (int k = 0; k < t->nkeys; k++) {
        printf("- %s: ", t->keys[k]);
        if (t->values[k][0]) md_code(t->values[k]);
        else printf("(none)");
        printf("\n");
    }
    if (t->nkeys) printf("\n");
}

typedef struct entry {
    bd_type_info *info;
    int order;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int rx = kind_rank(x->info->kind), ry = kind_rank(y->info->kind);
    if (rx != ry) return rx - ry;
    int c = rx == NKIND_ORDER ? strcmp(x->info->kind, y->info->kind) : 0;
    return c ? c : x->order - y->order;
}

static void print_markdown(entry *e, int n)
{
    qsort(e, (size_t)n, sizeof *e, entry_cmp);
    /* contents: one line per kind with links to its types */
    printf("## Contents\n\n");
    for (int a = 0; a < n;) {
        int b = a;
        while (b < n && !strcmp(e[b].info->kind, e[a].info->kind)) b++;
        const char *title = kind_title(e[a].info->kind);
        if (title) printf("- **%s** (%d):", title, b - a);
        else printf("- **Kind %s** (%d):", e[a].info->kind, b - a);
        for (int k = a; k < b; k++) {
            /* GitHub's heading anchors: lower case, characters other than letters, digits, - and _ dropped */
            printf("%s [%s](#", k > a ? "," : "", e[k].info->name);
            for (const char *p = e[k].info->name; *p; p++)
                if ((*p >= 'A' && *p <= 'Z')) putchar(*p - 'A' + 'a');
                else putchar(*p);
            printf(")");
        }
        printf("\n");
        a = b;
    }
    printf("\n");
    for (int a = 0; a < n;) {
        int b = a;
        while (b < n && !strcmp(e[b].info->kind, e[a].info->kind)) b++;
        const char *title = kind_title(e[a].info->kind);
        if (title) printf("## %s (kind `%s`)\n\n", title, e[a].info->kind);
        else printf("## Kind `%s`\n\n", e[a].info->kind);
        for (int k = a; k < b; k++) print_markdown_type(e[k].info);
        a = b;
    }
}

int cmd_list_types(int argc, char **argv)
{
    const char *name = NULL, *kind = NULL, *model = NULL;
    int mode = 0; /* 0 text, 1 brief, 2 json, 3 markdown */
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) return fputs(usage, stdout), 0;
        if (!strcmp(s, "--brief")) mode = 1;
        else if (!strcmp(s, "--json")) mode = 2;
        else if (!strcmp(s, "--markdown")) mode = 3;
        else if (!strcmp(s, "--kind") || !strcmp(s, "--model")) {
            if (a + 1 >= argc) return cli_usage_error(CMD, "option '%s' needs a value\n%s", s, usage);
            *(!strcmp(s, "--kind") ? &kind : &model) = argv[++a];
        } else if (s[0] == '-') return cli_usage_error(CMD, "unknown option '%s'\n%s", s, usage);
        else if (name) return cli_usage_error(CMD, "more than one type name ('%s', '%s')", name, s);
        else name = s;
    }
    bd_model *m = NULL;
    bd_status st = model ? bd_model_load(model, &m) : bd_model_load_library(&m);
    if (st) {
        fprintf(stderr, "bdyn " CMD ": %s\n", bd_last_error());
        return model ? 2 : 1;
    }
    int count = bd_model_type_count(m), n = 0, rc = 0, kind_known = 0;
    entry *e = calloc((size_t)(count ? count : 1), sizeof *e);
    if (!e) {
        bd_model_free(m);
        return cli_usage_error(CMD, "out of memory");
    }
    for (int k = 0; k < count && !rc; k++) {
        bd_type_info *t;
        if ((st = bd_model_type_info(m, k, &t))) {
            rc = cli_fail(CMD, st);
            break;
        }
        kind_known |= kind && !strcmp(t->kind, kind);
        if ((kind && strcmp(t->kind, kind)) || (name && strcmp(t->name, name))) {
            bd_type_info_free(t);
            continue;
        }
        e[n].info = t, e[n].order = n;
        n++;
    }
    /* a documented kind without types lists nothing; an unknown kind is a mistake */
    if (!rc && kind && !kind_known && kind_rank(kind) == NKIND_ORDER) {
        fprintf(stderr, "bdyn " CMD ": no type of kind '%s'; the kinds are:", kind);
        for (int k = 0; k <= NKIND_ORDER - 1; k++) fprintf(stderr, " %s", kind_order[k][0]);
        fprintf(stderr, "\n");
        rc = 2;
    } else if (!rc && name && !n) {
        fprintf(stderr, "bdyn " CMD ": no %s%stype named '%s' among the %d %s (bdyn list-types --brief lists them)\n",
                kind ? kind : "", kind ? " " : "", name, count, model ? "types of the model" : "built-in types");
        rc = 2;
    }
    if (!rc) {
        if (mode == 2) {
            cJSON *arr = cJSON_CreateArray();
            for (int k = 0; k < n; k++) cJSON_AddItemToArray(arr, to_json(e[k].info));
            char *s = cJSON_Print(arr);
            if (s) printf("%s\n", s);
            cJSON_free(s);
            cJSON_Delete(arr);
        } else if (mode == 3) {
            print_markdown(e, n);
        } else {
            for (int k = 0; k < n; k++) {
                if (mode == 1) {
                    printf("%-24s %-11s %s\n", e[k].info->name, e[k].info->kind, short_file(e[k].info->file));
                } else {
                    print_text(e[k].info);
                }
            }
        }
    }
    for (int k = 0; k < n; k++) bd_type_info_free(e[k].info);
    free(e);
    bd_model_free(m);
    return rc;
}
