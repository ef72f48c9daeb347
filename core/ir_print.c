/* Prints IR kernels as C, OpenCL C or GLSL source (the entry-point contract is in ir_impl.h).
 * Every identifier in the output is ours (b0, s0, v0, ...) and every literal is printed here, so
 * nothing a model file says reaches a compiler as text. Integer division and out-of-range buffer
 * accesses are guarded so that no generated kernel can crash the process. */
#include "ir_impl.h"
#include "error.h"
#include "mathlib.h"
#include "bdyn/ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
    /* C only, while printing the fast loop: accesses at a uniform offset plus i (affine_offset) were
     * checked against their buffers once before the loop and print without a guard. */
    int in_bounds;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->failed = 1; return; }
        if (b->s && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->len + (size_t)n + 1) ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) { b->failed = 1; return; }
        b->s = ns;
        b->cap = ncap;
    }
}

static const char *type_name(bd_dialect d, bd_dtype t)
{
    switch (t) {
    case BD_F32: return "float";
    case BD_F64: return "double";
    case BD_I32: return d == BD_DIALECT_C ? "int32_t" : "int";
    case BD_U32: return d == BD_DIALECT_C ? "uint32_t" : "uint";
    case BD_BOOL: return d == BD_DIALECT_GLSL ? "bool" : "int";
    }
    return "?";
}

/* Suffix of the helper and mathlib function names: bd_min_f32, bd_exp_f64, ... */
static const char *sfx(bd_dtype t) { return bd_dtype_name(t); }

static void print_float(sbuf *b, bd_dialect d, bd_dtype t, double v)
{
    if (isfinite(v)) {
        char num[64];
        snprintf(num, sizeof num, t == BD_F32 ? "%.9g" : "%.17g", v);
        if (!strpbrk(num, ".e")) strcat(num, ".0");
        const char *suffix = t == BD_F32 ? "f" : d == BD_DIALECT_GLSL ? "lf" : "";
        put(b, "%s%s%s%s", v < 0 ? "(" : "", num, suffix, v < 0 ? ")" : "");
        return;
    }
    int nan = isnan(v), neg = !nan && v < 0;
    if (d == BD_DIALECT_C)
        put(b, "(%s__builtin_%s%s(%s))", neg ? "-" : "", nan ? "nan" : "inf", t == BD_F32 ? "f" : "", nan ? "\"\"" : "");
    else if (d == BD_DIALECT_OPENCL)
        put(b, "((%s)(%s%s))", type_name(d, t), neg ? "-" : "", nan ? "NAN" : "INFINITY");
    else if (t == BD_F32)
        put(b, "uintBitsToFloat(%s)", nan ? "0x7fc00000u" : neg ? "0xff800000u" : "0x7f800000u");
    else
        put(b, "packDouble2x32(uvec2(0u, %s))", nan ? "0x7ff80000u" : neg ? "0xfff00000u" : "0x7ff00000u");
}

static void print_expr(sbuf *b, const bd_ir *k, bd_dialect d, bd_ir_val v);

static void print_cast(sbuf *b, const bd_ir *k, bd_dialect d, bd_dtype t, bd_ir_val a)
{
    if (t == BD_BOOL && d != BD_DIALECT_GLSL) {
        put(b, "(");
        print_expr(b, k, d, a);
        put(b, " != 0)");
    } else if (d == BD_DIALECT_GLSL) {
        put(b, "%s(", type_name(d, t));
        print_expr(b, k, d, a);
        put(b, ")");
    } else {
        put(b, "((%s)(", type_name(d, t));
        print_expr(b, k, d, a);
        put(b, "))");
    }
}

/* The element count of buffer slot s, as a u32/u64 expression. */
static void print_len(sbuf *b, bd_dialect d, int s)
{
    if (d == BD_DIALECT_C) put(b, "bd_len[%d]", s);
    else if (d == BD_DIALECT_OPENCL) put(b, "l%d", s);
    else put(b, "uint(b%d.length())", s);
}

static void print_index_u32(sbuf *b, const bd_ir *k, bd_dialect d, bd_ir_val idx)
{
    if (k->nodes[idx].type == BD_U32) print_expr(b, k, d, idx);
    else print_cast(b, k, d, BD_U32, idx);
}

static const char *unary_fn(bd_dialect d, bd_ir_op op, bd_dtype t)
{
    int c32 = d == BD_DIALECT_C && t == BD_F32;
    switch (op) {
    case BD_IR_SQRT: return c32 ? "sqrtf" : (d == BD_DIALECT_GLSL && t == BD_F32) ? "bd_sqrt" : "sqrt";
    case BD_IR_FLOOR: return c32 ? "floorf" : "floor";
    case BD_IR_CEIL: return c32 ? "ceilf" : "ceil";
    case BD_IR_ABS:
        if (t == BD_I32) return "bd_abs_i32";
        return d == BD_DIALECT_C ? (c32 ? "fabsf" : "fabs") : d == BD_DIALECT_OPENCL ? "fabs" : "abs";
    case BD_IR_EXP: return "bd_exp";
    case BD_IR_LOG: return "bd_log";
    case BD_IR_LOG1P: return "bd_log1p";
    case BD_IR_EXPM1: return "bd_expm1";
    case BD_IR_SIN: return "bd_sin";
    case BD_IR_COS: return "bd_cos";
    case BD_IR_TANH: return "bd_tanh";
    default: return NULL;
    }
}

static const char *infix(bd_ir_op op)
{
    static const char *ops[BD_IR_OP_COUNT] = {
        [BD_IR_ADD] = "+", [BD_IR_SUB] = "-", [BD_IR_MUL] = "*", [BD_IR_DIV] = "/",
        [BD_IR_LT] = "<",  [BD_IR_LE] = "<=", [BD_IR_GT] = ">",  [BD_IR_GE] = ">=",
        [BD_IR_EQ] = "==", [BD_IR_NE] = "!=", [BD_IR_AND] = "&&", [BD_IR_OR] = "||",
        [BD_IR_BAND] = "&", [BD_IR_BOR] = "|", [BD_IR_BXOR] = "^",
    };
    return (unsigned)op < BD_IR_OP_COUNT ? ops[op] : NULL;
}

/* True when v has one value for the whole launch: built from constants and scalars only. */
static int uniform(const bd_ir *k, bd_ir_val v)
{
    const bd_ir_node *n = &k->nodes[v];
    switch (n->kind) {
    case BD_N_CONST: case BD_N_PARAM: return 1;
    case BD_N_UNARY: case BD_N_CAST: return uniform(k, n->a);
    case BD_N_BINARY: return uniform(k, n->a) && uniform(k, n->b);
    case BD_N_SELECT: case BD_N_CLAMP: return uniform(k, n->a) && uniform(k, n->b) && uniform(k, n->c);
    default: return 0;
    }
}

/* For an index `u + i` (or `i + u`) with u uniform: u, else -1. Such accesses walk the buffer contiguously
 * with i; printed in 64-bit arithmetic (no u32 wrap-around), the C compiler can vectorise them. */
static bd_ir_val affine_offset(const bd_ir *k, bd_ir_val idx)
{
    const bd_ir_node *n = &k->nodes[idx];
    if (n->kind != BD_N_BINARY || n->op != BD_IR_ADD || n->type != BD_U32) return -1;
    if (k->nodes[n->b].kind == BD_N_INDEX && uniform(k, n->a)) return n->a;
    if (k->nodes[n->a].kind == BD_N_INDEX && uniform(k, n->b)) return n->b;
    return -1;
}

static void print_call2(sbuf *b, const bd_ir *k, bd_dialect d, const char *fn, bd_dtype t, bd_ir_val x, bd_ir_val y)
{
    put(b, "%s_%s(", fn, sfx(t));
    print_expr(b, k, d, x);
    put(b, ", ");
    print_expr(b, k, d, y);
    put(b, ")");
}

static void print_expr(sbuf *b, const bd_ir *k, bd_dialect d, bd_ir_val v)
{
    const bd_ir_node *n = &k->nodes[v];
    switch (n->kind) {
    case BD_N_INDEX: put(b, "i"); break;
    case BD_N_LOCAL: put(b, "v%d", n->slot); break;
    case BD_N_PARAM: put(b, "s%d", n->slot); break;
    case BD_N_CONST:
        if (n->type == BD_F32 || n->type == BD_F64) print_float(b, d, n->type, n->value);
        else if (n->type == BD_U32) put(b, "%uu", (unsigned)n->value);
        else if (n->type == BD_I32) {
            if (n->value == -2147483648.0) put(b, "(-2147483647 - 1)");
            else put(b, n->value < 0 ? "(%d)" : "%d", (int)n->value);
        } else if (d == BD_DIALECT_GLSL) put(b, n->value != 0 ? "true" : "false");
        else put(b, n->value != 0 ? "1" : "0");
        break;
    case BD_N_LOAD:
        if (k->nodes[n->a].kind == BD_N_INDEX) {
            put(b, "b%d[i]", n->slot);
        } else if (d == BD_DIALECT_C && affine_offset(k, n->a) >= 0) {
            bd_ir_val u = affine_offset(k, n->a);
            if (!b->in_bounds) {
                put(b, "((uint64_t)");
                print_expr(b, k, d, u);
                put(b, " + i < bd_len[%d] ? ", n->slot);
            }
            put(b, "b%d[(uint64_t)", n->slot);
            print_expr(b, k, d, u);
            put(b, " + i]");
            if (!b->in_bounds) put(b, " : 0)");
        } else {
            /* Guarded: an index past the end reads 0 instead of foreign memory. */
            put(b, "(");
            print_index_u32(b, k, d, n->a);
            put(b, " < ");
            print_len(b, d, n->slot);
            put(b, " ? b%d[", n->slot);
            print_index_u32(b, k, d, n->a);
            put(b, "] : %s(0))", d == BD_DIALECT_GLSL ? type_name(d, n->type) : "");
        }
        break;
    case BD_N_UNARY: {
        const char *fn = unary_fn(d, n->op, n->type);
        if (fn && strncmp(fn, "bd_", 3) == 0 && n->op != BD_IR_ABS) put(b, "%s_%s(", fn, sfx(n->type));
        else if (fn) put(b, "%s(", fn);
        else put(b, "(%s", n->op == BD_IR_NEG ? "-" : n->op == BD_IR_NOT ? "!" : "~");
        print_expr(b, k, d, n->a);
        put(b, ")");
        break;
    }
    case BD_N_BINARY: {
        bd_dtype t = k->nodes[n->a].type;
        int is_int = t == BD_I32 || t == BD_U32;
        if (n->op == BD_IR_MIN) print_call2(b, k, d, "bd_min", t, n->a, n->b);
        else if (n->op == BD_IR_MAX) print_call2(b, k, d, "bd_max", t, n->a, n->b);
        else if (n->op == BD_IR_POW) print_call2(b, k, d, "bd_pow", t, n->a, n->b);
        else if (n->op == BD_IR_DIV && is_int) print_call2(b, k, d, "bd_div", t, n->a, n->b);
        else if (n->op == BD_IR_DIV && t == BD_F32 && d == BD_DIALECT_GLSL) print_call2(b, k, d, "bd_div", t, n->a, n->b);
        else if (n->op == BD_IR_MOD) print_call2(b, k, d, "bd_mod", t, n->a, n->b);
        else if (n->op == BD_IR_SHL || n->op == BD_IR_SHR) {
            /* Shift counts are taken mod 32, as the hardware of every backend does. */
            put(b, "(");
            print_expr(b, k, d, n->a);
            put(b, n->op == BD_IR_SHL ? " << (" : " >> (");
            print_expr(b, k, d, n->b);
            put(b, t == BD_U32 ? " & 31u))" : " & 31))");
        } else {
            put(b, "(");
            print_expr(b, k, d, n->a);
            put(b, " %s ", infix(n->op));
            print_expr(b, k, d, n->b);
            put(b, ")");
        }
        break;
    }
    case BD_N_SELECT:
        put(b, "(");
        print_expr(b, k, d, n->a);
        put(b, " ? ");
        print_expr(b, k, d, n->b);
        put(b, " : ");
        print_expr(b, k, d, n->c);
        put(b, ")");
        break;
    case BD_N_CLAMP:
        put(b, "bd_clamp_%s(", sfx(n->type));
        print_expr(b, k, d, n->a);
        put(b, ", ");
        print_expr(b, k, d, n->b);
        put(b, ", ");
        print_expr(b, k, d, n->c);
        put(b, ")");
        break;
    case BD_N_CAST: print_cast(b, k, d, n->type, n->a); break;
    case BD_N_RNG: {
        /* mathlib.inc's bd_rng_<dist>_<type>(c0, c1, c2, c3, k0, k1, which) */
        put(b, "bd_rng_%s_%s(", n->op == (bd_ir_op)BD_RNG_NORMAL ? "normal" : "uniform", sfx(n->type));
        const bd_ir_val ops[6] = {n->a, n->b, n->c, n->more[0], n->more[1], n->more[2]};
        for (int j = 0; j < 6; j++) {
            print_expr(b, k, d, ops[j]);
            put(b, ", ");
        }
        put(b, "%du)", n->slot);
        break;
    }
    }
}

static int is_floating(bd_dtype t) { return t == BD_F32 || t == BD_F64; }

/* GLSL marks float temporaries `precise` so that GPU compilers do not fuse a*b+c into an FMA. */
static const char *precise(bd_dialect d, bd_dtype t) { return d == BD_DIALECT_GLSL && is_floating(t) ? "precise " : ""; }

static void print_body(sbuf *b, const bd_ir *k, bd_dialect d, int indent)
{
    for (int s = 0; s < k->nstmts; s++) {
        const bd_ir_stmt *st = &k->stmts[s];
        if (st->kind == BD_S_END || st->kind == BD_S_ELSE || st->kind == BD_S_END_LOOP) indent--;
        put(b, "%*s", indent * 4, "");
        switch (st->kind) {
        case BD_S_LET: {
            bd_dtype t = k->locals[st->local].type;
            put(b, "%s%s v%d = ", precise(d, t), type_name(d, t), st->local);
            print_expr(b, k, d, st->value);
            put(b, ";\n");
            break;
        }
        case BD_S_ASSIGN:
            put(b, "v%d = ", st->local);
            print_expr(b, k, d, st->value);
            put(b, ";\n");
            break;
        case BD_S_STORE: {
            bd_dtype t = k->buffer_type[st->slot];
            put(b, "{ %s%s bd_t = ", precise(d, t), type_name(d, t));
            print_expr(b, k, d, st->value);
            bd_ir_val u = d == BD_DIALECT_C ? affine_offset(k, st->index) : -1;
            if (k->nodes[st->index].kind == BD_N_INDEX) {
                put(b, "; b%d[i] = bd_t; }\n", st->slot);
            } else if (u >= 0) {
                put(b, "; uint64_t bd_j = (uint64_t)");
                print_expr(b, k, d, u);
                put(b, " + i; ");
                if (!b->in_bounds) put(b, "if (bd_j < bd_len[%d]) ", st->slot);
                put(b, "b%d[bd_j] = bd_t; }\n", st->slot);
            } else {
                put(b, "; %s bd_j = ", type_name(d, BD_U32));
                print_index_u32(b, k, d, st->index);
                put(b, "; if (bd_j < ");
                print_len(b, d, st->slot);
                put(b, ") b%d[bd_j] = bd_t; }\n", st->slot);
            }
            break;
        }
        case BD_S_IF:
            put(b, "if (");
            print_expr(b, k, d, st->value);
            put(b, ") {\n");
            indent++;
            break;
        case BD_S_ELSE:
            put(b, "} else {\n");
            indent++;
            break;
        case BD_S_END: put(b, "}\n"); break;
        case BD_S_FOR: {
            /* The count is evaluated once, before the loop, whatever the body assigns. */
            const char *U = type_name(d, BD_U32);
            put(b, "{ const %s bd_c%d = ", U, st->local);
            print_expr(b, k, d, st->value);
            put(b, "; for (%s v%d = 0u; v%d < bd_c%d; v%d++) {\n", U, st->local, st->local, st->local, st->local);
            indent++;
            break;
        }
        case BD_S_END_LOOP: put(b, "} }\n"); break;
        case BD_S_BREAK: put(b, "break;\n"); break;
        }
    }
}

/* Small helpers the printed expressions call, for every type, in the dialect's syntax. */
static void print_helpers(sbuf *b, bd_dialect d)
{
    const char *fn = d == BD_DIALECT_C ? "static inline " : "";
    const bd_dtype types[] = {BD_F32, BD_F64, BD_I32, BD_U32};
    for (int i = 0; i < 4; i++) {
        bd_dtype t = types[i];
        const char *T = type_name(d, t), *x = sfx(t);
        if (t == BD_F64 && d != BD_DIALECT_C) put(b, "#ifdef BD_ENABLE_F64\n");
        put(b, "%s%s bd_min_%s(%s a, %s b) { return b < a ? b : a; }\n", fn, T, x, T, T);
        put(b, "%s%s bd_max_%s(%s a, %s b) { return a < b ? b : a; }\n", fn, T, x, T, T);
        put(b, "%s%s bd_clamp_%s(%s x, %s lo, %s hi) { return bd_min_%s(bd_max_%s(x, lo), hi); }\n", fn, T, x, T, T,
            T, x, x);
        if (t == BD_F64 && d != BD_DIALECT_C) put(b, "#endif\n");
    }
    const char *I = type_name(d, BD_I32), *U = type_name(d, BD_U32);
    put(b, "%s%s bd_abs_i32(%s a) { return a < 0 ? -a : a; }\n", fn, I, I);
    /* Division by zero (and INT_MIN / -1) gives 0 instead of a trap; GLSL's own signed / and % are undefined
     * for negative operands, so it divides through bd_sdiv_i32 (mathlib_glsl.h). */
    const char *q = d == BD_DIALECT_GLSL ? "bd_sdiv_i32(a, b)" : "a / b";
    put(b, "%s%s bd_div_i32(%s a, %s b) { return (b == 0 || (b == -1 && a == (-2147483647 - 1))) ? 0 : %s; }\n",
        fn, I, I, I, q);
    put(b, "%s%s bd_mod_i32(%s a, %s b) { return (b == 0 || b == -1) ? 0 : a - (%s) * b; }\n", fn, I, I, I, q);
    put(b, "%s%s bd_div_u32(%s a, %s b) { return b == 0u ? 0u : a / b; }\n", fn, U, U, U);
    put(b, "%s%s bd_mod_u32(%s a, %s b) { return b == 0u ? 0u : a %% b; }\n", fn, U, U, U);
}

/* One term of the bounds test below, for an access to buffer `slot` at index `index`, if it is affine. */
static void put_bound(sbuf *b, const bd_ir *k, bd_ir_val index, int slot, int *any)
{
    bd_ir_val u = affine_offset(k, index);
    if (u < 0) return;
    put(b, *any ? " &&\n        (uint64_t)" : "    if ((uint64_t)");
    print_expr(b, k, BD_DIALECT_C, u);
    put(b, " + bd_end <= bd_len[%d]", slot);
    *any = 1;
}

/* C: opens `if (<every affine access stays in bounds for i < bd_end>) {` and returns 1, or prints
 * nothing and returns 0 when the kernel has no affine access. */
static int print_bounds_test(sbuf *b, const bd_ir *k)
{
    int any = 0;
    for (int v = 0; v < k->nnodes; v++)
        if (k->nodes[v].kind == BD_N_LOAD) put_bound(b, k, k->nodes[v].a, k->nodes[v].slot, &any);
    for (int s = 0; s < k->nstmts; s++)
        if (k->stmts[s].kind == BD_S_STORE) put_bound(b, k, k->stmts[s].index, k->stmts[s].slot, &any);
    if (any) put(b, ") {\n");
    return any;
}

static void print_entry(sbuf *b, const bd_ir *k, bd_dialect d)
{
    if (d == BD_DIALECT_C) {
        put(b, "__attribute__((visibility(\"default\")))\n"
               "void bd_kernel(uint32_t bd_begin, uint32_t bd_end, void *const *bd_b, const uint64_t *bd_len,\n"
               "               const bd_value_t *bd_s)\n{\n");
        for (int s = 0; s < k->nbuffers; s++)
            put(b, "    %s%s *b%d = (%s%s *)bd_b[%d];\n", k->buffer_writable[s] ? "" : "const ",
                type_name(d, k->buffer_type[s]), s, k->buffer_writable[s] ? "" : "const ",
                type_name(d, k->buffer_type[s]), s);
        for (int s = 0; s < k->nscalars; s++)
            put(b, "    const %s s%d = bd_s[%d].%s;\n", type_name(d, k->scalar_type[s]), s, s, sfx(k->scalar_type[s]));
        put(b, "    (void)bd_b; (void)bd_len; (void)bd_s;\n");
        /* Two copies of the loop when some accesses are affine: the first runs when all of them stay inside
         * their buffers over [begin, end), checked here once, and prints them unguarded. */
        if (print_bounds_test(b, k)) {
            b->in_bounds = 1;
            put(b, "        for (uint32_t i = bd_begin; i < bd_end; i++) {\n");
            print_body(b, k, d, 3);
            b->in_bounds = 0;
            put(b, "        }\n        return;\n    }\n");
        }
        put(b, "    for (uint32_t i = bd_begin; i < bd_end; i++) {\n");
        print_body(b, k, d, 2);
        put(b, "    }\n}\n");
    } else if (d == BD_DIALECT_OPENCL) {
        put(b, "__kernel void bd_kernel(");
        for (int s = 0; s < k->nbuffers; s++)
            put(b, "__global %s%s *b%d, ", k->buffer_writable[s] ? "" : "const ", type_name(d, k->buffer_type[s]), s);
        for (int s = 0; s < k->nbuffers; s++) put(b, "const uint l%d, ", s);
        for (int s = 0; s < k->nscalars; s++) put(b, "const %s s%d, ", type_name(d, k->scalar_type[s]), s);
        put(b, "const uint bd_n)\n{\n    const uint i = (uint)get_global_id(0);\n    if (i >= bd_n) return;\n");
        print_body(b, k, d, 1);
        put(b, "}\n");
    } else {
        put(b, "layout(local_size_x_id = 0) in;\n");
        for (int s = 0; s < k->nbuffers; s++)
            put(b, "layout(std430, set = 0, binding = %d) restrict %sbuffer B%d { %s b%d[]; };\n", s,
                k->buffer_writable[s] ? "" : "readonly ", s, type_name(d, k->buffer_type[s]), s);
        size_t off[BD_IR_MAX_SCALARS];
        bd_ir_push_offsets(k, off);
        put(b, "layout(push_constant) uniform BdPush {\n    layout(offset = 0) uint bd_base;\n"
               "    layout(offset = 4) uint bd_n;\n");
        for (int s = 0; s < k->nscalars; s++)
            put(b, "    layout(offset = %zu) %s s%d;\n", off[s], type_name(d, k->scalar_type[s]), s);
        put(b, "} bd_pc;\n\nvoid main()\n{\n    const uint i = bd_pc.bd_base + gl_GlobalInvocationID.x;\n"
               "    if (i >= bd_pc.bd_n) return;\n");
        for (int s = 0; s < k->nscalars; s++)
            put(b, "    const %s s%d = bd_pc.s%d;\n", type_name(d, k->scalar_type[s]), s, s);
        print_body(b, k, d, 1);
        put(b, "}\n");
    }
}

char *bd_ir_print(const bd_ir *k, bd_dialect d)
{
    sbuf b = {0};
    int f64 = bd_ir_uses_f64(k);
    if (d == BD_DIALECT_GLSL) put(&b, "#version 450\n");
    put(&b, "/* bdyn kernel '%s', generated from IR; do not edit. */\n", k->name);
    if (d == BD_DIALECT_C) {
        put(&b, "#include <stdint.h>\n#include <math.h>\n"
                "typedef union { float f32; double f64; int32_t i32; uint32_t u32; } bd_value_t;\n");
    }
    if (d == BD_DIALECT_OPENCL) put(&b, "#pragma OPENCL FP_CONTRACT OFF\n");
    if (f64 || d == BD_DIALECT_C) put(&b, "#define BD_ENABLE_F64 1\n");
    put(&b, "%s\n", bd_mathlib_source(d));
    print_helpers(&b, d);
    put(&b, "\n");
    print_entry(&b, k, d);
    if (b.failed) {
        free(b.s);
        bd_fail(BD_ERR_NOMEM, "out of memory printing kernel '%s'", k->name);
        return NULL;
    }
    return b.s;
}
