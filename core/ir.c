/* The kernel IR builder: typed expression nodes and a flat statement list with block markers.
 * Every builder call checks types and scopes and records the first error in the kernel, so a
 * caller can build a whole kernel and check once (bd_ir_status or compilation). */
#include "ir_impl.h"
#include "error.h"
#include "bdyn/ops.h"
#include "mathlib.h"

#include <math.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t bd_dtype_size(bd_dtype t) { return t == BD_F64 ? 8 : 4; }

const char *bd_dtype_name(bd_dtype t)
{
    static const char *names[] = {"f32", "f64", "i32", "u32", "bool"};
    return (unsigned)t <= BD_BOOL ? names[t] : "?";
}

static int is_float(bd_dtype t) { return t == BD_F32 || t == BD_F64; }
static int is_int(bd_dtype t) { return t == BD_I32 || t == BD_U32; }

/* Records the first error (later ones are consequences) and returns -1 for use as a handle. */
static int ir_error(bd_ir *k, bd_status s, const char *fmt, ...)
{
    if (k->error == BD_OK) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        k->error = bd_fail(s, "kernel '%s': %s", k->name, msg);
    }
    return -1;
}

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 32;
    while (ncap < need) ncap *= 2;
    void *np = realloc(*p, (size_t)ncap * elem);
    if (!np) return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

bd_status bd_ir_new(const char *name, bd_ir **out)
{
    if (!out) return bd_fail(BD_ERR_INVALID_ARG, "bd_ir_new: out is NULL");
    *out = NULL;
    size_t len = name ? strlen(name) : 0;
    int ok = len > 0 && len < sizeof(((bd_ir *)0)->name) && (name[0] == '_' || (name[0] | 32) >= 'a') &&
             (name[0] == '_' || (name[0] | 32) <= 'z');
    for (size_t i = 0; ok && i < len; i++) {
        char c = name[i];
        ok = c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
    }
    if (!ok)
        return bd_fail(BD_ERR_INVALID_ARG, "bd_ir_new: kernel name '%s' is not an identifier of at most 48 characters",
                       name ? name : "(null)");
    bd_ir *k = calloc(1, sizeof *k);
    if (!k) return bd_fail(BD_ERR_NOMEM, "bd_ir_new: out of memory");
    memcpy(k->name, name, len + 1);
    *out = k;
    return BD_OK;
}

void bd_ir_free(bd_ir *k)
{
    if (!k) return;
    free(k->nodes);
    free(k->stmts);
    free(k->locals);
    free(k->hash);
    free(k->cse);
    free(k);
}

/* A copy of n elements (at least one slot, so that an empty array is still a valid allocation). */
static void *dup_array(const void *src, int n, size_t elem)
{
    void *p = malloc((size_t)(n ? n : 1) * elem);
    if (p && n) memcpy(p, src, (size_t)n * elem);
    return p;
}

bd_status bd_ir_copy(const bd_ir *k, bd_ir **out)
{
    bd_ir *c = malloc(sizeof *c);
    if (!c) return bd_fail(BD_ERR_NOMEM, "out of memory copying kernel '%s'", k->name);
    *c = *k;
    c->nodes = dup_array(k->nodes, k->nnodes, sizeof *k->nodes);
    c->stmts = dup_array(k->stmts, k->nstmts, sizeof *k->stmts);
    c->locals = dup_array(k->locals, k->nlocals, sizeof *k->locals);
    c->hash = NULL, c->hash_cap = 0; /* rebuilt on the copy's first new node */
    c->cse = NULL, c->ncse = c->cap_cse = 0;
    if (!c->nodes || !c->stmts || !c->locals) {
        bd_ir_free(c);
        return bd_fail(BD_ERR_NOMEM, "out of memory copying kernel '%s'", k->name);
    }
    c->cap_nodes = k->nnodes ? k->nnodes : 1;
    c->cap_stmts = k->nstmts ? k->nstmts : 1;
    c->cap_locals = k->nlocals ? k->nlocals : 1;
    *out = c;
    return BD_OK;
}

bd_status bd_ir_status(const bd_ir *k) { return k ? k->error : BD_ERR_INVALID_ARG; }

int bd_ir_buffer(bd_ir *k, bd_dtype t, int writable)
{
    if (!k) return -1;
    if (k->nbuffers >= BD_IR_MAX_BUFFERS) return ir_error(k, BD_ERR_LIMIT, "more than %d buffers", BD_IR_MAX_BUFFERS);
    if ((unsigned)t > BD_U32) return ir_error(k, BD_ERR_INVALID_ARG, "buffer type must be f32, f64, i32 or u32");
    k->buffer_type[k->nbuffers] = t;
    k->buffer_writable[k->nbuffers] = writable != 0;
    return k->nbuffers++;
}

int bd_ir_scalar(bd_ir *k, bd_dtype t)
{
    if (!k) return -1;
    if (k->nscalars >= BD_IR_MAX_SCALARS) return ir_error(k, BD_ERR_LIMIT, "more than %d scalars", BD_IR_MAX_SCALARS);
    if ((unsigned)t > BD_U32) return ir_error(k, BD_ERR_INVALID_ARG, "scalar type must be f32, f64, i32 or u32");
    k->scalar_type[k->nscalars] = t;
    return k->nscalars++;
}

static int valid(const bd_ir *k, bd_ir_val v) { return v >= 0 && v < k->nnodes; }

/* Whether the block `scope` is still open, i.e. its locals may be referenced here. */
static int scope_open(const bd_ir *k, int scope)
{
    for (int d = 0; d <= k->depth; d++)
        if (k->open[d] == scope) return 1;
    return 0;
}

/* Of two open blocks, the one opened later (larger id) is the inner one. */
static int deeper(int a, int b) { return a > b ? a : b; }

/* Loads and random draws are never merged: equal ones may read different memory or draw anew. */
static int pure(const bd_ir_node *n) { return n->kind != BD_N_LOAD && n->kind != BD_N_RNG; }

static int same_node(const bd_ir_node *x, const bd_ir_node *y)
{
    return x->kind == y->kind && x->type == y->type && x->op == y->op && x->slot == y->slot && x->a == y->a &&
           x->b == y->b && x->c == y->c && memcmp(&x->value, &y->value, sizeof x->value) == 0 &&
           x->more[0] == y->more[0] && x->more[1] == y->more[1] && x->more[2] == y->more[2];
}

static uint32_t node_hash(const bd_ir_node *n)
{
    uint64_t bits;
    memcpy(&bits, &n->value, sizeof bits);
    uint32_t f[10] = {(uint32_t)n->kind, (uint32_t)n->type, (uint32_t)n->op, (uint32_t)n->slot, (uint32_t)n->a,
                      (uint32_t)n->b, (uint32_t)n->c, (uint32_t)bits, (uint32_t)(bits >> 32), (uint32_t)n->more[0]};
    uint32_t h = 2166136261u;
    for (int i = 0; i < 10; i++) h = (h ^ f[i]) * 16777619u;
    return h;
}

/* The slot of the hash table where n is or would go; rebuilds the table when it is missing or half full. */
static int32_t *hash_slot(bd_ir *k, const bd_ir_node *n)
{
    if (!k->hash || 2 * k->nnodes >= k->hash_cap) {
        int cap = 1024;
        while (cap <= 2 * k->nnodes + 2) cap *= 2;
        int32_t *t = malloc((size_t)cap * sizeof *t);
        if (!t) return NULL;
        for (int i = 0; i < cap; i++) t[i] = -1;
        free(k->hash);
        k->hash = t, k->hash_cap = cap;
        for (int v = 0; v < k->nnodes; v++) {
            if (!pure(&k->nodes[v])) continue;
            uint32_t h = node_hash(&k->nodes[v]) & (uint32_t)(cap - 1);
            while (t[h] >= 0) h = (h + 1) & (uint32_t)(cap - 1);
            t[h] = v;
        }
    }
    uint32_t h = node_hash(n) & (uint32_t)(k->hash_cap - 1);
    while (k->hash[h] >= 0 && !same_node(&k->nodes[k->hash[h]], n)) h = (h + 1) & (uint32_t)(k->hash_cap - 1);
    return &k->hash[h];
}

static bd_ir_val add_node(bd_ir *k, bd_ir_node n)
{
    if (k->error) return -1;
    if (grow((void **)&k->nodes, &k->cap_nodes, k->nnodes + 1, sizeof n))
        return ir_error(k, BD_ERR_NOMEM, "out of memory");
    n.scope = 0;
    int ops[6] = {n.a, n.b, n.c, n.more[0], n.more[1], n.more[2]};
    for (int i = 0; i < 6; i++)
        if (ops[i] >= 0 && n.kind != BD_N_CONST && n.kind != BD_N_PARAM && n.kind != BD_N_INDEX)
            n.scope = deeper(n.scope, k->nodes[ops[i]].scope);
    if (n.kind == BD_N_LOCAL) n.scope = k->locals[n.slot].scope;
    int32_t *slot = pure(&n) ? hash_slot(k, &n) : NULL;
    if (slot && *slot >= 0) return *slot;
    if (slot) *slot = k->nnodes;
    k->nodes[k->nnodes] = n;
    return k->nnodes++;
}

static bd_ir_node node(bd_ir_node_kind kind, bd_dtype t)
{
    bd_ir_node n = {kind, t, BD_IR_OP_COUNT, -1, -1, -1, -1, 0.0, 0, {-1, -1, -1}};
    return n;
}

/* Checks operands: present, built without error, and not referring to locals of closed blocks. */
static int check_operands(bd_ir *k, const char *what, int count, bd_ir_val a, bd_ir_val b, bd_ir_val c)
{
    if (!k || k->error) return -1;
    bd_ir_val v[3] = {a, b, c};
    for (int i = 0; i < count; i++) {
        if (!valid(k, v[i])) return ir_error(k, BD_ERR_INVALID_ARG, "%s: operand %d is not a value", what, i + 1);
        if (!scope_open(k, k->nodes[v[i]].scope))
            return ir_error(k, BD_ERR_INVALID_ARG, "%s: operand %d uses a local of a block that is closed", what, i + 1);
    }
    return 0;
}

bd_ir_val bd_ir_index(bd_ir *k)
{
    if (!k || k->error) return -1;
    return add_node(k, node(BD_N_INDEX, BD_U32));
}

bd_ir_val bd_ir_const(bd_ir *k, bd_dtype t, double v)
{
    if (!k || k->error) return -1;
    if ((unsigned)t > BD_BOOL) return ir_error(k, BD_ERR_INVALID_ARG, "const: unknown type");
    if (t == BD_I32 && (v != (double)(int32_t)v))
        return ir_error(k, BD_ERR_INVALID_ARG, "const: %g is not an i32", v);
    if (t == BD_U32 && (v < 0 || v > 4294967295.0 || v != (double)(uint32_t)v))
        return ir_error(k, BD_ERR_INVALID_ARG, "const: %g is not a u32", v);
    bd_ir_node n = node(BD_N_CONST, t);
    n.value = t == BD_F32 ? (double)(float)v : t == BD_BOOL ? (v != 0) : v;
    return add_node(k, n);
}

bd_ir_val bd_ir_param(bd_ir *k, int slot)
{
    if (!k || k->error) return -1;
    if (slot < 0 || slot >= k->nscalars) return ir_error(k, BD_ERR_INVALID_ARG, "param: no scalar slot %d", slot);
    bd_ir_node n = node(BD_N_PARAM, k->scalar_type[slot]);
    n.slot = slot;
    return add_node(k, n);
}

static int index_ok(bd_ir *k, const char *what, int slot, bd_ir_val index)
{
    if (slot < 0 || slot >= k->nbuffers) return ir_error(k, BD_ERR_INVALID_ARG, "%s: no buffer slot %d", what, slot);
    bd_dtype it = k->nodes[index].type;
    if (it != BD_U32 && it != BD_I32)
        return ir_error(k, BD_ERR_INVALID_ARG, "%s: index must be u32 or i32, not %s", what, bd_dtype_name(it));
    if (k->nodes[index].kind == BD_N_INDEX) k->buffer_by_i[slot] = 1;
    return 0;
}

bd_ir_val bd_ir_load(bd_ir *k, int slot, bd_ir_val index)
{
    if (check_operands(k, "load", 1, index, -1, -1) || index_ok(k, "load", slot, index)) return -1;
    bd_ir_node n = node(BD_N_LOAD, k->buffer_type[slot]);
    n.slot = slot;
    n.a = index;
    return add_node(k, n);
}

/* Constant folding of float operations whose operands are constants: computed on the host in the node's
 * type with the library's own math (core/mathlib.c, the same algorithms every dialect uses), so a kernel
 * gets the value its device would compute, without computing it for every element and step. */
static int fold_unary(bd_dtype t, bd_ir_op op, double x, double *out)
{
    if (t == BD_F32) {
        float f = (float)x, r;
        switch (op) {
        case BD_IR_NEG: r = -f; break;
        case BD_IR_EXP: r = bd_exp_f32(f); break;
        case BD_IR_EXPM1: r = bd_expm1_f32(f); break;
        case BD_IR_LOG: r = bd_log_f32(f); break;
        case BD_IR_LOG1P: r = bd_log1p_f32(f); break;
        default: return 0;
        }
        *out = r;
        return 1;
    }
    if (t != BD_F64) return 0;
    switch (op) {
    case BD_IR_NEG: *out = -x; break;
    case BD_IR_EXP: *out = bd_exp_f64(x); break;
    case BD_IR_EXPM1: *out = bd_expm1_f64(x); break;
    case BD_IR_LOG: *out = bd_log_f64(x); break;
    case BD_IR_LOG1P: *out = bd_log1p_f64(x); break;
    default: return 0;
    }
    return 1;
}

static int fold_binary(bd_dtype t, bd_ir_op op, double x, double y, double *out)
{
    if (t == BD_F32) {
        float a = (float)x, b = (float)y, r;
        switch (op) {
        case BD_IR_ADD: r = a + b; break;
        case BD_IR_SUB: r = a - b; break;
        case BD_IR_MUL: r = a * b; break;
        case BD_IR_DIV: r = a / b; break;
        default: return 0;
        }
        *out = r;
        return 1;
    }
    if (t != BD_F64) return 0;
    switch (op) {
    case BD_IR_ADD: *out = x + y; break;
    case BD_IR_SUB: *out = x - y; break;
    case BD_IR_MUL: *out = x * y; break;
    case BD_IR_DIV: *out = x / y; break;
    default: return 0;
    }
    return 1;
}

bd_ir_val bd_ir_unary(bd_ir *k, bd_ir_op op, bd_ir_val a)
{
    if (check_operands(k, "unary", 1, a, -1, -1)) return -1;
    bd_dtype t = k->nodes[a].type;
    int ok;
    switch (op) {
    case BD_IR_NEG: ok = t != BD_BOOL && t != BD_U32; break;
    case BD_IR_NOT: ok = t == BD_BOOL; break;
    case BD_IR_BNOT: ok = is_int(t); break;
    case BD_IR_ABS: ok = t != BD_BOOL && t != BD_U32; break;
    case BD_IR_SQRT: case BD_IR_EXP: case BD_IR_LOG: case BD_IR_LOG1P: case BD_IR_EXPM1: case BD_IR_SIN:
    case BD_IR_COS: case BD_IR_TANH: case BD_IR_FLOOR: case BD_IR_CEIL: ok = is_float(t); break;
    default: return ir_error(k, BD_ERR_INVALID_ARG, "unary: op %d is not a unary operator", (int)op);
    }
    if (!ok) return ir_error(k, BD_ERR_INVALID_ARG, "unary op %d does not apply to %s", (int)op, bd_dtype_name(t));
    double v;
    if (k->nodes[a].kind == BD_N_CONST && fold_unary(t, op, k->nodes[a].value, &v) && isfinite(v)) return bd_ir_const(k, t, v);
    bd_ir_node n = node(BD_N_UNARY, t);
    n.op = op;
    n.a = a;
    return add_node(k, n);
}

bd_ir_val bd_ir_binary(bd_ir *k, bd_ir_op op, bd_ir_val a, bd_ir_val b)
{
    if (check_operands(k, "binary", 2, a, b, -1)) return -1;
    bd_dtype t = k->nodes[a].type, tb = k->nodes[b].type;
    if (t != tb)
        return ir_error(k, BD_ERR_INVALID_ARG, "binary op %d: operand types differ (%s, %s); cast one", (int)op,
                        bd_dtype_name(t), bd_dtype_name(tb));
    bd_dtype rt = t;
    int ok;
    switch (op) {
    case BD_IR_ADD: case BD_IR_SUB: case BD_IR_MUL: case BD_IR_DIV: case BD_IR_MIN: case BD_IR_MAX:
        ok = t != BD_BOOL; break;
    case BD_IR_MOD: case BD_IR_BAND: case BD_IR_BOR: case BD_IR_BXOR: case BD_IR_SHL: case BD_IR_SHR:
        ok = is_int(t); break;
    case BD_IR_POW: ok = is_float(t); break;
    case BD_IR_LT: case BD_IR_LE: case BD_IR_GT: case BD_IR_GE: ok = t != BD_BOOL; rt = BD_BOOL; break;
    case BD_IR_EQ: case BD_IR_NE: ok = 1; rt = BD_BOOL; break;
    case BD_IR_AND: case BD_IR_OR: ok = t == BD_BOOL; break;
    default: return ir_error(k, BD_ERR_INVALID_ARG, "binary: op %d is not a binary operator", (int)op);
    }
    if (!ok) return ir_error(k, BD_ERR_INVALID_ARG, "binary op %d does not apply to %s", (int)op, bd_dtype_name(t));
    double v;
    if (k->nodes[a].kind == BD_N_CONST && k->nodes[b].kind == BD_N_CONST && is_float(t)) {
        double x = k->nodes[a].value, y = k->nodes[b].value; /* exact in the node's type already */
        if (rt == BD_BOOL && (op == BD_IR_EQ || op == BD_IR_NE || op == BD_IR_LT || op == BD_IR_LE || op == BD_IR_GT ||
                              op == BD_IR_GE))
            return bd_ir_const(k, BD_BOOL, op == BD_IR_EQ ? x == y : op == BD_IR_NE ? x != y : op == BD_IR_LT ? x < y
                                               : op == BD_IR_LE ? x <= y : op == BD_IR_GT ? x > y : x >= y);
        if (fold_binary(t, op, x, y, &v) && isfinite(v)) return bd_ir_const(k, t, v);
    }
    bd_ir_node n = node(BD_N_BINARY, rt);
    n.op = op;
    n.a = a;
    n.b = b;
    return add_node(k, n);
}

bd_ir_val bd_ir_select(bd_ir *k, bd_ir_val cond, bd_ir_val x, bd_ir_val y)
{
    if (check_operands(k, "select", 3, cond, x, y)) return -1;
    if (k->nodes[cond].type != BD_BOOL) return ir_error(k, BD_ERR_INVALID_ARG, "select: condition must be bool");
    if (k->nodes[x].type != k->nodes[y].type) return ir_error(k, BD_ERR_INVALID_ARG, "select: branch types differ");
    if (k->nodes[cond].kind == BD_N_CONST) return k->nodes[cond].value != 0 ? x : y; /* known at build time */
    bd_ir_node n = node(BD_N_SELECT, k->nodes[x].type);
    n.a = cond;
    n.b = x;
    n.c = y;
    return add_node(k, n);
}

bd_ir_val bd_ir_clamp(bd_ir *k, bd_ir_val x, bd_ir_val lo, bd_ir_val hi)
{
    if (check_operands(k, "clamp", 3, x, lo, hi)) return -1;
    bd_dtype t = k->nodes[x].type;
    if (t == BD_BOOL || k->nodes[lo].type != t || k->nodes[hi].type != t)
        return ir_error(k, BD_ERR_INVALID_ARG, "clamp: operands must share one numeric type");
    bd_ir_node n = node(BD_N_CLAMP, t);
    n.a = x;
    n.b = lo;
    n.c = hi;
    return add_node(k, n);
}

bd_ir_val bd_ir_cast(bd_ir *k, bd_dtype t, bd_ir_val a)
{
    if (check_operands(k, "cast", 1, a, -1, -1)) return -1;
    if ((unsigned)t > BD_BOOL) return ir_error(k, BD_ERR_INVALID_ARG, "cast: unknown type");
    if (k->nodes[a].type == t) return a;
    bd_ir_node n = node(BD_N_CAST, t);
    n.a = a;
    return add_node(k, n);
}

bd_dtype bd_ir_type(const bd_ir *k, bd_ir_val v) { return (k && valid(k, v)) ? k->nodes[v].type : BD_BOOL; }

static int add_stmt(bd_ir *k, bd_ir_stmt s)
{
    if (grow((void **)&k->stmts, &k->cap_stmts, k->nstmts + 1, sizeof s))
        return ir_error(k, BD_ERR_NOMEM, "out of memory");
    k->stmts[k->nstmts++] = s;
    return 0;
}

static bd_ir_val new_local(bd_ir *k, bd_ir_val e, int mutable)
{
    if (check_operands(k, "let", 1, e, -1, -1)) return -1;
    /* A named constant stays a constant, so that expressions using it fold at build time. */
    if (!mutable && k->nodes[e].kind == BD_N_CONST) return e;
    if (!mutable) /* the same value, let-bound since the last assignment in a block still open */
        for (int j = k->ncse - 1; j >= 0; j--)
            if (k->cse[j].expr == e && scope_open(k, k->locals[k->cse[j].local].scope)) {
                bd_ir_node n = node(BD_N_LOCAL, k->nodes[e].type);
                n.slot = k->cse[j].local;
                return add_node(k, n);
            }
    if (grow((void **)&k->locals, &k->cap_locals, k->nlocals + 1, sizeof *k->locals))
        return ir_error(k, BD_ERR_NOMEM, "out of memory");
    int id = k->nlocals++;
    k->locals[id].type = k->nodes[e].type;
    k->locals[id].scope = k->open[k->depth];
    k->locals[id].mutable = mutable;
    bd_ir_stmt s = {BD_S_LET, id, -1, -1, e};
    if (add_stmt(k, s)) return -1;
    if (!mutable && !grow((void **)&k->cse, &k->cap_cse, k->ncse + 1, sizeof *k->cse))
        k->cse[k->ncse++] = (struct bd_ir_cse){e, id};
    bd_ir_node n = node(BD_N_LOCAL, k->nodes[e].type);
    n.slot = id;
    return add_node(k, n);
}

bd_ir_val bd_ir_let(bd_ir *k, bd_ir_val e) { return new_local(k, e, 0); }
bd_ir_val bd_ir_var(bd_ir *k, bd_ir_val e) { return new_local(k, e, 1); }

bd_status bd_ir_assign(bd_ir *k, bd_ir_val var, bd_ir_val e)
{
    if (check_operands(k, "assign", 2, var, e, -1)) return k ? k->error : BD_ERR_INVALID_ARG;
    if (k->nodes[var].kind != BD_N_LOCAL || !k->locals[k->nodes[var].slot].mutable)
        return ir_error(k, BD_ERR_INVALID_ARG, "assign: target is not a variable (made by bd_ir_var)"), k->error;
    if (k->nodes[var].type != k->nodes[e].type)
        return ir_error(k, BD_ERR_INVALID_ARG, "assign: value type %s differs from the variable's %s",
                        bd_dtype_name(k->nodes[e].type), bd_dtype_name(k->nodes[var].type)), k->error;
    bd_ir_stmt s = {BD_S_ASSIGN, k->nodes[var].slot, -1, -1, e};
    add_stmt(k, s);
    k->ncse = 0; /* a let bound before may have read the old value */
    return k->error;
}

bd_status bd_ir_store(bd_ir *k, int slot, bd_ir_val index, bd_ir_val v)
{
    if (check_operands(k, "store", 2, index, v, -1) || index_ok(k, "store", slot, index))
        return k ? k->error : BD_ERR_INVALID_ARG;
    if (!k->buffer_writable[slot]) return ir_error(k, BD_ERR_INVALID_ARG, "store: buffer %d is read-only", slot), k->error;
    if (k->nodes[v].type != k->buffer_type[slot])
        return ir_error(k, BD_ERR_INVALID_ARG, "store: value type %s differs from buffer %d's %s",
                        bd_dtype_name(k->nodes[v].type), slot, bd_dtype_name(k->buffer_type[slot])), k->error;
    bd_ir_stmt s = {BD_S_STORE, -1, slot, index, v};
    add_stmt(k, s);
    return k->error;
}

bd_status bd_ir_if(bd_ir *k, bd_ir_val cond)
{
    if (check_operands(k, "if", 1, cond, -1, -1)) return k ? k->error : BD_ERR_INVALID_ARG;
    if (k->nodes[cond].type != BD_BOOL) return ir_error(k, BD_ERR_INVALID_ARG, "if: condition must be bool"), k->error;
    if (k->depth + 1 >= (int)(sizeof k->open / sizeof k->open[0]))
        return ir_error(k, BD_ERR_LIMIT, "if: blocks nested too deeply"), k->error;
    bd_ir_stmt s = {BD_S_IF, -1, -1, -1, cond};
    if (add_stmt(k, s)) return k->error;
    k->open[++k->depth] = ++k->nblocks;
    k->else_seen[k->depth] = 0;
    k->is_loop[k->depth] = 0;
    return BD_OK;
}

bd_status bd_ir_else(bd_ir *k)
{
    if (!k || k->error) return k ? k->error : BD_ERR_INVALID_ARG;
    if (k->depth == 0 || k->else_seen[k->depth])
        return ir_error(k, BD_ERR_INVALID_ARG, "else: no open if block"), k->error;
    bd_ir_stmt s = {BD_S_ELSE, -1, -1, -1, -1};
    if (add_stmt(k, s)) return k->error;
    k->open[k->depth] = ++k->nblocks; /* the else branch cannot see the then branch's locals */
    k->else_seen[k->depth] = 1;
    return BD_OK;
}

bd_status bd_ir_end(bd_ir *k)
{
    if (!k || k->error) return k ? k->error : BD_ERR_INVALID_ARG;
    if (k->depth == 0) return ir_error(k, BD_ERR_INVALID_ARG, "end: no open block"), k->error;
    bd_ir_stmt s = {k->is_loop[k->depth] ? BD_S_END_LOOP : BD_S_END, -1, -1, -1, -1};
    if (add_stmt(k, s)) return k->error;
    k->depth--;
    return BD_OK;
}

bd_ir_val bd_ir_for(bd_ir *k, bd_ir_val count)
{
    if (check_operands(k, "for", 1, count, -1, -1)) return -1;
    if (k->nodes[count].type != BD_U32) return ir_error(k, BD_ERR_INVALID_ARG, "for: the count must be u32");
    if (k->depth + 1 >= (int)(sizeof k->open / sizeof k->open[0]))
        return ir_error(k, BD_ERR_LIMIT, "for: blocks nested too deeply");
    if (grow((void **)&k->locals, &k->cap_locals, k->nlocals + 1, sizeof *k->locals))
        return ir_error(k, BD_ERR_NOMEM, "out of memory");
    k->ncse = 0; /* a later iteration sees the assignments of the earlier ones */
    k->open[++k->depth] = ++k->nblocks;
    k->else_seen[k->depth] = 1; /* no else for a loop */
    k->is_loop[k->depth] = 1;
    int id = k->nlocals++;
    k->locals[id] = (struct bd_ir_local){BD_U32, k->nblocks, 0};
    bd_ir_stmt s = {BD_S_FOR, id, -1, -1, count};
    if (add_stmt(k, s)) return -1;
    bd_ir_node n = node(BD_N_LOCAL, BD_U32);
    n.slot = id;
    return add_node(k, n);
}

bd_status bd_ir_break(bd_ir *k)
{
    if (!k || k->error) return k ? k->error : BD_ERR_INVALID_ARG;
    int in_loop = 0;
    for (int d = 1; d <= k->depth; d++) in_loop |= k->is_loop[d];
    if (!in_loop) return ir_error(k, BD_ERR_INVALID_ARG, "break: not inside a loop"), k->error;
    bd_ir_stmt s = {BD_S_BREAK, -1, -1, -1, -1};
    add_stmt(k, s);
    return k->error;
}

bd_ir_val bd_ir_rng(bd_ir *k, int dist, bd_dtype t, const bd_ir_val c[4], const bd_ir_val key[2], unsigned which)
{
    if (!k || k->error) return -1;
    if (!c || !key) return ir_error(k, BD_ERR_INVALID_ARG, "rng: counter or key is NULL");
    if (check_operands(k, "rng", 3, c[0], c[1], c[2]) || check_operands(k, "rng", 3, c[3], key[0], key[1])) return -1;
    const bd_ir_val ops[6] = {c[0], c[1], c[2], c[3], key[0], key[1]};
    for (int i = 0; i < 6; i++)
        if (k->nodes[ops[i]].type != BD_U32) return ir_error(k, BD_ERR_INVALID_ARG, "rng: counter and key words must be u32");
    if (dist != BD_RNG_UNIFORM && dist != BD_RNG_NORMAL)
        return ir_error(k, BD_ERR_INVALID_ARG, "rng: dist must be BD_RNG_UNIFORM or BD_RNG_NORMAL");
    if (!is_float(t)) return ir_error(k, BD_ERR_INVALID_ARG, "rng: type must be f32 or f64");
    if (which > (t == BD_F32 ? 3u : 1u)) return ir_error(k, BD_ERR_INVALID_ARG, "rng: which %u out of range", which);
    bd_ir_node n = node(BD_N_RNG, t);
    n.op = (bd_ir_op)dist;
    n.slot = (int)which;
    n.a = c[0], n.b = c[1], n.c = c[2];
    n.more[0] = c[3], n.more[1] = key[0], n.more[2] = key[1];
    return add_node(k, n);
}

int bd_ir_uses_f64(const bd_ir *k)
{
    for (int i = 0; i < k->nbuffers; i++)
        if (k->buffer_type[i] == BD_F64) return 1;
    for (int i = 0; i < k->nscalars; i++)
        if (k->scalar_type[i] == BD_F64) return 1;
    for (int i = 0; i < k->nnodes; i++)
        if (k->nodes[i].type == BD_F64) return 1;
    return 0;
}

size_t bd_ir_push_offsets(const bd_ir *k, size_t offsets[BD_IR_MAX_SCALARS])
{
    size_t off = 8; /* bd_base, bd_n */
    for (int i = 0; i < k->nscalars; i++) {
        size_t sz = bd_dtype_size(k->scalar_type[i]);
        off = (off + sz - 1) / sz * sz;
        offsets[i] = off;
        off += sz;
    }
    return off;
}
