/* The kernel IR: type and scope errors of the builder (status and message), the printed C, OpenCL C
 * and GLSL (entry points, no user text), constants that survive printing bit for bit, and integer
 * semantics that cannot trap — division by zero, INT_MIN / -1, shifts by 32 or more — on every
 * device. Devices: every one listed, restricted by $BDYN_TEST_DEVICES. */
#include "test_common.h"
#include "ir_impl.h"

#include <float.h>
#include <math.h>

#define MAXDEV 16

typedef struct tdev {
    char name[40];
    bd_device *d;
} tdev;

static tdev devs[MAXDEV];
static int ndevs;

static int has(const char *text, const char *needle) { return text && strstr(text, needle) != NULL; }

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += len) n++;
    return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Builder errors: each case builds a fresh kernel, makes one mistake, and expects the first error
 * to be kept with a message that names it.                                                        */

typedef struct kb {
    bd_ir *k;
    int fbuf, fro, ibuf;
    bd_ir_val i, x, n;
} kb;

static void kb_new(kb *b, const char *name)
{
    memset(b, 0, sizeof *b);
    bd_ir_new(name, &b->k);
    b->fbuf = bd_ir_buffer(b->k, BD_F32, 1);
    b->fro = bd_ir_buffer(b->k, BD_F32, 0);
    b->ibuf = bd_ir_buffer(b->k, BD_I32, 1);
    b->i = bd_ir_index(b->k);
    b->x = bd_ir_load(b->k, b->fro, b->i);
    b->n = bd_ir_load(b->k, b->ibuf, b->i);
}

/* The kernel must now report `want` with a message containing `needle`, keep it, and refuse to compile. */
static void kb_expect(kb *b, bd_status want, const char *needle, const char *what)
{
    bd_status st = bd_ir_status(b->k);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", bd_last_error());
    tc_check(st == want && has(msg, needle), "ir builder: %s -> %s (want %s, message with '%s'): %s", what,
             bd_status_name(st), bd_status_name(want), needle, msg);
    /* later calls do not replace the first error, and compilation refuses the kernel */
    bd_ir_val v = bd_ir_binary(b->k, BD_IR_ADD, b->x, b->x);
    bd_kernel *kern = NULL;
    bd_status cst = ndevs ? bd_kernel_compile(devs[0].d, b->k, &kern) : want;
    tc_check(v < 0 && bd_ir_status(b->k) == want && cst != BD_OK && kern == NULL,
             "ir builder: %s: first error kept (%s), later calls fail, compile refuses (%s)", what,
             bd_status_name(bd_ir_status(b->k)), bd_status_name(cst));
    bd_kernel_free(kern);
    bd_ir_free(b->k);
}

static void test_builder_errors(void)
{
    kb b;
    kb_new(&b, "mismatch");
    bd_ir_binary(b.k, BD_IR_ADD, b.x, b.n);
    kb_expect(&b, BD_ERR_INVALID_ARG, "differ", "binary op on f32 and i32");

    kb_new(&b, "readonly");
    bd_ir_store(b.k, b.fro, b.i, b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "read-only", "store to a read-only buffer");

    kb_new(&b, "closed_local");
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_GT, b.x, bd_ir_const(b.k, BD_F32, 0)));
    bd_ir_val inner = bd_ir_let(b.k, bd_ir_binary(b.k, BD_IR_MUL, b.x, b.x));
    bd_ir_end(b.k);
    bd_ir_store(b.k, b.fbuf, b.i, inner);
    kb_expect(&b, BD_ERR_INVALID_ARG, "closed", "use of a local from a closed block");

    kb_new(&b, "else_sees_then");
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_GT, b.x, bd_ir_const(b.k, BD_F32, 0)));
    inner = bd_ir_let(b.k, bd_ir_binary(b.k, BD_IR_MUL, b.x, b.x));
    bd_ir_else(b.k);
    bd_ir_store(b.k, b.fbuf, b.i, inner);
    kb_expect(&b, BD_ERR_INVALID_ARG, "closed", "else branch using a local of the then branch");

    kb_new(&b, "closed_expr");
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_GT, b.x, bd_ir_const(b.k, BD_F32, 0)));
    inner = bd_ir_let(b.k, b.x);
    bd_ir_val derived = bd_ir_binary(b.k, BD_IR_ADD, inner, b.x); /* an expression over the local */
    bd_ir_end(b.k);
    bd_ir_store(b.k, b.fbuf, b.i, derived);
    kb_expect(&b, BD_ERR_INVALID_ARG, "closed", "use of an expression over a closed block's local");

    kb_new(&b, "cond_type");
    bd_ir_if(b.k, b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "bool", "if on an f32 condition");

    kb_new(&b, "select_cond");
    bd_ir_select(b.k, b.x, b.x, b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "bool", "select on an f32 condition");

    kb_new(&b, "select_branches");
    bd_ir_select(b.k, bd_ir_binary(b.k, BD_IR_LT, b.x, b.x), b.x, b.n);
    kb_expect(&b, BD_ERR_INVALID_ARG, "differ", "select with f32 and i32 branches");

    kb_new(&b, "clamp_types");
    bd_ir_clamp(b.k, b.x, bd_ir_const(b.k, BD_F64, 0), b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "clamp", "clamp with an f64 bound on f32");

    kb_new(&b, "store_type");
    bd_ir_store(b.k, b.fbuf, b.i, b.n);
    kb_expect(&b, BD_ERR_INVALID_ARG, "differs", "store of an i32 into an f32 buffer");

    kb_new(&b, "float_index");
    bd_ir_load(b.k, b.fro, b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "index", "load at an f32 index");

    kb_new(&b, "assign_type");
    bd_ir_val var = bd_ir_var(b.k, b.x);
    bd_ir_assign(b.k, var, b.n);
    kb_expect(&b, BD_ERR_INVALID_ARG, "differs", "assign of an i32 to an f32 variable");

    kb_new(&b, "assign_nonvar");
    bd_ir_assign(b.k, b.x, b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "variable", "assign to a load");

    kb_new(&b, "assign_let");
    bd_ir_assign(b.k, bd_ir_let(b.k, b.x), b.x);
    kb_expect(&b, BD_ERR_INVALID_ARG, "variable", "assign to a let (constant) local");

    static const struct {
        bd_ir_op op;
        int binary;
        int on_int;
        const char *what;
    } badops[] = {
        {BD_IR_SQRT, 0, 1, "sqrt of an i32"},      {BD_IR_NOT, 0, 0, "logical not of an f32"},
        {BD_IR_BNOT, 0, 0, "bitwise not of an f32"}, {BD_IR_POW, 1, 1, "pow of i32"},
        {BD_IR_MOD, 1, 0, "mod of f32"},           {BD_IR_SHL, 1, 0, "shift of f32"},
        {BD_IR_AND, 1, 0, "logical and of f32"},   {BD_IR_ADD, 0, 0, "add used as a unary op"},
    };
    for (size_t t = 0; t < sizeof badops / sizeof badops[0]; t++) {
        kb_new(&b, "bad_op");
        bd_ir_val a = badops[t].on_int ? b.n : b.x;
        if (badops[t].binary) bd_ir_binary(b.k, badops[t].op, a, a);
        else bd_ir_unary(b.k, badops[t].op, a);
        kb_expect(&b, BD_ERR_INVALID_ARG, "op", badops[t].what);
    }

    kb_new(&b, "const_i32");
    bd_ir_const(b.k, BD_I32, 1.5);
    kb_expect(&b, BD_ERR_INVALID_ARG, "i32", "i32 constant 1.5");

    kb_new(&b, "const_u32");
    bd_ir_const(b.k, BD_U32, -1);
    kb_expect(&b, BD_ERR_INVALID_ARG, "u32", "u32 constant -1");

    kb_new(&b, "param_slot");
    bd_ir_param(b.k, 3);
    kb_expect(&b, BD_ERR_INVALID_ARG, "slot", "parameter of a scalar slot that does not exist");

    kb_new(&b, "buffer_slot");
    bd_ir_load(b.k, 9, b.i);
    kb_expect(&b, BD_ERR_INVALID_ARG, "slot", "load from a buffer slot that does not exist");

    kb_new(&b, "too_many");
    for (int s = 0; s < BD_IR_MAX_BUFFERS; s++) bd_ir_buffer(b.k, BD_F32, 0);
    kb_expect(&b, BD_ERR_LIMIT, "buffers", "more buffers than the IR allows");

    kb_new(&b, "bad_else");
    bd_ir_else(b.k);
    kb_expect(&b, BD_ERR_INVALID_ARG, "if", "else without if");

    kb_new(&b, "bad_end");
    bd_ir_end(b.k);
    kb_expect(&b, BD_ERR_INVALID_ARG, "block", "end without an open block");

    kb_new(&b, "double_else");
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_LT, b.x, b.x));
    bd_ir_else(b.k);
    bd_ir_else(b.k);
    kb_expect(&b, BD_ERR_INVALID_ARG, "if", "a second else");

    /* an unclosed block is not a builder error but must stop compilation, with a message */
    kb_new(&b, "unclosed");
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_LT, b.x, b.x));
    bd_ir_store(b.k, b.fbuf, b.i, b.x);
    for (int d = 0; d < ndevs; d++) {
        bd_kernel *kern = NULL;
        bd_status st = bd_kernel_compile(devs[d].d, b.k, &kern);
        tc_check(st == BD_ERR_INVALID_ARG && kern == NULL && has(bd_last_error(), "not closed"),
                 "ir compile: unclosed block on %s -> %s: %s", devs[d].name, bd_status_name(st), bd_last_error());
        bd_kernel_free(kern);
    }
    bd_ir_free(b.k);

    /* what is allowed: locals of enclosing open blocks inside nested ones, a variable assigned in a
     * branch and used after it */
    kb_new(&b, "scopes_ok");
    bd_ir_val outer = bd_ir_let(b.k, bd_ir_binary(b.k, BD_IR_MUL, b.x, bd_ir_const(b.k, BD_F32, 2)));
    bd_ir_val v = bd_ir_var(b.k, outer);
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_GT, outer, bd_ir_const(b.k, BD_F32, 1)));
    bd_ir_if(b.k, bd_ir_binary(b.k, BD_IR_LT, outer, bd_ir_const(b.k, BD_F32, 3)));
    bd_ir_assign(b.k, v, bd_ir_binary(b.k, BD_IR_ADD, outer, b.x));
    bd_ir_end(b.k);
    bd_ir_end(b.k);
    bd_ir_store(b.k, b.fbuf, b.i, v);
    tc_check(bd_ir_status(b.k) == BD_OK, "ir builder: outer locals in nested blocks and a branch-assigned variable -> %s",
             bd_status_name(bd_ir_status(b.k)));
    bd_ir_free(b.k);

    /* kernel names are identifiers of at most 48 characters: nothing else reaches the printers */
    static const char *const bad_names[] = {"", "1abc", "a-b", "a b", "x*/ system(\"id\"); /*", "k\n",
                                            "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi"};
    for (size_t s = 0; s < sizeof bad_names / sizeof bad_names[0]; s++) {
        bd_ir *k = (bd_ir *)1;
        bd_status st = bd_ir_new(bad_names[s], &k);
        tc_check(st == BD_ERR_INVALID_ARG && k == NULL && bd_last_error()[0], "ir name %zu (%zu chars) rejected -> %s: %s",
                 s, strlen(bad_names[s]), bd_status_name(st), bd_last_error());
    }
    bd_ir *k = NULL;
    bd_status st = bd_ir_new(NULL, &k);
    tc_check(st == BD_ERR_INVALID_ARG && k == NULL, "ir name NULL rejected -> %s", bd_status_name(st));
    st = bd_ir_new("abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh", &k);
    tc_check(st == BD_OK && k, "ir name of 48 characters accepted -> %s", bd_status_name(st));
    bd_ir_free(k);
}

/* ---------------------------------------------------------------------------------------------- */
/* Printers.                                                                                       */

#define KNAME "user_named_kernel_42"

static bd_ir *printable(bd_dtype t)
{
    bd_ir *k = NULL;
    bd_ir_new(KNAME, &k);
    int out = bd_ir_buffer(k, t, 1), in = bd_ir_buffer(k, t, 0), idx = bd_ir_buffer(k, BD_U32, 0);
    int s0 = bd_ir_scalar(k, t);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val x = bd_ir_let(k, bd_ir_load(k, in, bd_ir_load(k, idx, i)));
    bd_ir_val v = bd_ir_var(k, bd_ir_unary(k, BD_IR_EXP, x));
    bd_ir_if(k, bd_ir_binary(k, BD_IR_GT, v, bd_ir_param(k, s0)));
    bd_ir_assign(k, v, bd_ir_const(k, t, 0.1));
    bd_ir_end(k);
    bd_ir_store(k, out, i, v);
    return k;
}

static void test_printers(void)
{
    static const char *const dname[3] = {"C", "OpenCL C", "GLSL"};
    static const char *const entry[3][3] = {
        {"void bd_kernel(uint32_t bd_begin, uint32_t bd_end", "#include <stdint.h>", "-ffp-contract"},
        {"__kernel void bd_kernel(", "#pragma OPENCL FP_CONTRACT OFF", "get_global_id(0)"},
        {"#version 450", "void main()", "layout(local_size_x_id = 0) in;"},
    };
    for (int ti = 0; ti < 2; ti++) {
        bd_dtype t = ti ? BD_F64 : BD_F32;
        bd_ir *k = printable(t);
        for (int d = 0; d < 3; d++) {
            char *src = bd_ir_print(k, (bd_dialect)d), *again = bd_ir_print(k, (bd_dialect)d);
            if (!src || !again) {
                tc_line(TC_FAIL, "print %s %s: NULL (%s)", dname[d], bd_dtype_name(t), bd_last_error());
                free(src), free(again);
                continue;
            }
            /* the C dialect's contraction rule is a compiler flag, not text: check the other two */
            int ok_entry = has(src, entry[d][0]) && has(src, entry[d][1]) && (d == 0 || has(src, entry[d][2]));
            tc_check(ok_entry, "print %s %s: entry point '%s' and '%s' present", dname[d], bd_dtype_name(t), entry[d][0],
                     entry[d][1]);
            /* the kernel name is the only user text, and it appears once, in the header comment */
            const char *at = strstr(src, KNAME);
            const char *line = at;
            while (line && line > src && line[-1] != '\n') line--;
            int name_ok = count_of(src, KNAME) == 1 && at && strncmp(line, "/* bdyn kernel '", 16) == 0;
            tc_check(name_ok, "print %s %s: kernel name only in the header comment (%zu times)", dname[d],
                     bd_dtype_name(t), count_of(src, KNAME));
            if (d == 2) tc_check(has(src, "precise"), "print GLSL %s: float temporaries marked precise", bd_dtype_name(t));
            tc_check(strcmp(src, again) == 0, "print %s %s: printing is deterministic", dname[d], bd_dtype_name(t));
            free(src), free(again);
        }
        bd_ir_free(k);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Constants through a compiled kernel: stored at constant indices, read back bit for bit.         */

static double elem(const void *p, bd_dtype t, size_t j)
{
    const unsigned char *b = (const unsigned char *)p + j * bd_dtype_size(t);
    float f;
    double d;
    int32_t i;
    uint32_t u;
    switch (t) {
    case BD_F32: memcpy(&f, b, 4); return f;
    case BD_F64: memcpy(&d, b, 8); return d;
    case BD_I32: memcpy(&i, b, 4); return i;
    default: memcpy(&u, b, 4); return u;
    }
}

static void test_constants(void)
{
    const float f32v[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0.1f, 1.0f / 3.0f, -2.5f, FLT_MIN, FLT_MAX,
                          -FLT_MAX, 16777216.0f, 1e-30f, 3.14159265f};
    const float f32d[] = {FLT_TRUE_MIN, 1e-40f, -1e-39f}; /* denormals */
    const double f64v[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0.1, 1.0 / 3.0, -2.5, DBL_MIN, DBL_MAX,
                           -DBL_MAX, 9007199254740993.0, 1e300, 3.141592653589793};
    const double f64d[] = {DBL_TRUE_MIN, 1e-310, -2.5e-320};
    /* 16777217 is not an f32: the builder keeps (float)16777217 = 16777216 */
    const double f32as[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0.1, 1.0 / 3.0, -2.5, FLT_MIN, FLT_MAX,
                            -FLT_MAX, 16777217.0, 1e-30, 3.14159265};
    const int32_t i32v[] = {INT32_MIN, INT32_MAX, -1, 0, 123456789};
    const uint32_t u32v[] = {0xFFFFFFFFu, 0x80000000u, 0u, 1u};
    for (int ti = 0; ti < 4; ti++) {
        bd_dtype t = (bd_dtype[]){BD_F32, BD_F64, BD_I32, BD_U32}[ti];
        size_t nv = t == BD_F32 || t == BD_F64 ? 14 + 3 : t == BD_I32 ? 5 : 4;
        size_t es = bd_dtype_size(t);
        unsigned char want[17 * 8];
        bd_ir *k = NULL;
        bd_ir_new("constants", &k);
        int out = bd_ir_buffer(k, t, 1);
        for (size_t j = 0; j < nv; j++) {
            double v;
            if (t == BD_F32) {
                float f = j < 14 ? f32v[j] : f32d[j - 14];
                v = j < 14 ? f32as[j] : f32d[j - 14];
                memcpy(want + j * 4, &f, 4);
            } else if (t == BD_F64) {
                double f = j < 14 ? f64v[j] : f64d[j - 14];
                v = f;
                memcpy(want + j * 8, &f, 8);
            } else if (t == BD_I32) {
                v = i32v[j];
                memcpy(want + j * 4, &i32v[j], 4);
            } else {
                v = u32v[j];
                memcpy(want + j * 4, &u32v[j], 4);
            }
            bd_ir_store(k, out, bd_ir_const(k, BD_U32, (double)j), bd_ir_const(k, t, v));
        }
        for (int d = 0; d < ndevs; d++) {
            bd_kernel *kern = NULL;
            bd_buffer *b = NULL;
            unsigned char got[17 * 8];
            memset(got, 0x5A, sizeof got);
            bd_status st = bd_kernel_compile(devs[d].d, k, &kern);
            if (st == BD_ERR_UNSUPPORTED) {
                tc_line(TC_SKIP, "constants %s on %s: %s", bd_dtype_name(t), devs[d].name, bd_last_error());
                continue;
            }
            if (!st) st = bd_buffer_alloc(devs[d].d, nv * es, &b);
            if (!st) st = bd_buffer_upload(b, 0, got, nv * es);
            if (!st) st = bd_kernel_launch(kern, 1, &b, 1, NULL, 0);
            if (!st) st = bd_buffer_download(b, 0, got, nv * es);
            if (st) {
                tc_line(TC_FAIL, "constants %s on %s: %s: %s", bd_dtype_name(t), devs[d].name, bd_status_name(st),
                        bd_last_error());
            } else {
                char bad[512] = "";
                size_t nbad = 0;
                for (size_t j = 0; j < nv; j++) {
                    int same = memcmp(got + j * es, want + j * es, es) == 0;
                    if (isnan(elem(want, t, j))) same = isnan(elem(got, t, j));
                    if (same) continue;
                    nbad++;
                    size_t len = strlen(bad);
                    snprintf(bad + len, sizeof bad - len, " [%zu] got %.17g want %.17g;", j, elem(got, t, j),
                             elem(want, t, j));
                }
                const char *what = t == BD_F32 || t == BD_F64 ? "incl. -0, inf, nan, denormals, 0.1" : "incl. the extremes";
                tc_check(nbad == 0, "constants %s on %s: %zu of %zu values %s bit-exact%s%s", bd_dtype_name(t),
                         devs[d].name, nv - nbad, nv, what, nbad ? ":" : "", bad);
            }
            bd_buffer_free(b);
            bd_kernel_free(kern);
        }
        bd_ir_free(k);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Integer semantics that must not trap and must agree on every device.                            */

static int32_t h_div(int32_t a, int32_t b) { return (b == 0 || (b == -1 && a == INT32_MIN)) ? 0 : a / b; }
static int32_t h_mod(int32_t a, int32_t b) { return (b == 0 || b == -1) ? 0 : a % b; }

/* Runs a kernel over n elements with the given buffers (host arrays of 4-byte elements; writable
 * ones are read back). Returns the status. */
static bd_status run_kernel(const tdev *dv, bd_ir *k, size_t n, void **host, int nb)
{
    bd_kernel *kern = NULL;
    bd_buffer *b[8] = {0};
    bd_status st = bd_kernel_compile(dv->d, k, &kern);
    for (int s = 0; s < nb && !st; s++) {
        st = bd_buffer_alloc(dv->d, n * 4, &b[s]);
        if (!st) st = bd_buffer_upload(b[s], 0, host[s], n * 4);
    }
    if (!st) st = bd_kernel_launch(kern, n, b, (size_t)nb, NULL, 0);
    for (int s = 0; s < nb && !st; s++)
        if (k->buffer_writable[s]) st = bd_buffer_download(b[s], 0, host[s], n * 4);
    for (int s = 0; s < nb; s++) bd_buffer_free(b[s]);
    bd_kernel_free(kern);
    return st;
}

static void test_int_division(void)
{
    static const int32_t a[] = {7, INT32_MIN, INT32_MIN, -7, 7, -7, 0, INT32_MAX, INT32_MIN, 5, -1, 100};
    static const int32_t b[] = {0, -1, 1, 2, -2, -2, 0, -1, 0, 5, -1, 7};
    static const uint32_t ua[] = {7, 0xFFFFFFFFu, 0xFFFFFFFFu, 0, 0x80000000u, 5, 1, 100, 9, 8, 3, 2};
    static const uint32_t ub[] = {0, 0, 2, 0, 0xFFFFFFFFu, 5, 3, 7, 0, 0, 1, 3};
    enum { N = 12 };
    bd_ir *k = NULL;
    bd_ir_new("int_division", &k);
    int ba = bd_ir_buffer(k, BD_I32, 0), bb = bd_ir_buffer(k, BD_I32, 0), bq = bd_ir_buffer(k, BD_I32, 1),
        br = bd_ir_buffer(k, BD_I32, 1), bua = bd_ir_buffer(k, BD_U32, 0), bub = bd_ir_buffer(k, BD_U32, 0),
        buq = bd_ir_buffer(k, BD_U32, 1), bur = bd_ir_buffer(k, BD_U32, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val x = bd_ir_load(k, ba, i), y = bd_ir_load(k, bb, i), ux = bd_ir_load(k, bua, i), uy = bd_ir_load(k, bub, i);
    /* the quotient plus a division by a literal zero, which a compiler could otherwise fold into a trap */
    bd_ir_store(k, bq, i, bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_DIV, x, y),
                                       bd_ir_binary(k, BD_IR_DIV, x, bd_ir_const(k, BD_I32, 0))));
    bd_ir_store(k, br, i, bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MOD, x, y),
                                       bd_ir_binary(k, BD_IR_MOD, x, bd_ir_const(k, BD_I32, 0))));
    bd_ir_store(k, buq, i, bd_ir_binary(k, BD_IR_DIV, ux, uy));
    bd_ir_store(k, bur, i, bd_ir_binary(k, BD_IR_MOD, ux, uy));
    for (int d = 0; d < ndevs; d++) {
        int32_t ha[N], hb[N], hq[N], hr[N];
        uint32_t hua[N], hub[N], huq[N], hur[N];
        memcpy(ha, a, sizeof ha), memcpy(hb, b, sizeof hb), memcpy(hua, ua, sizeof hua), memcpy(hub, ub, sizeof hub);
        memset(hq, 0x55, sizeof hq), memset(hr, 0x55, sizeof hr), memset(huq, 0x55, sizeof huq), memset(hur, 0x55, sizeof hur);
        void *host[8] = {ha, hb, hq, hr, hua, hub, huq, hur};
        bd_status st = run_kernel(&devs[d], k, N, host, 8);
        if (st) {
            tc_line(TC_FAIL, "int division on %s: %s: %s", devs[d].name, bd_status_name(st), bd_last_error());
            continue;
        }
        char bad[512] = "";
        for (int e = 0; e < N; e++) {
            int32_t wq = h_div(a[e], b[e]), wr = h_mod(a[e], b[e]);
            uint32_t wuq = ub[e] ? ua[e] / ub[e] : 0, wur = ub[e] ? ua[e] % ub[e] : 0;
            size_t len = strlen(bad);
            if (hq[e] != wq || hr[e] != wr)
                snprintf(bad + len, sizeof bad - len, " %d/%d: got %d r %d, want %d r %d;", a[e], b[e], hq[e], hr[e], wq, wr);
            else if (huq[e] != wuq || hur[e] != wur)
                snprintf(bad + len, sizeof bad - len, " %uu/%uu: got %u r %u, want %u r %u;", ua[e], ub[e], huq[e], hur[e],
                         wuq, wur);
        }
        tc_check(!bad[0], "int division on %s: x/0 = x%%0 = 0, INT_MIN/-1 = 0, C truncation otherwise%s", devs[d].name, bad);
    }
    bd_ir_free(k);
}

static void test_shifts(void)
{
    static const uint32_t x[] = {1, 0x80000001u, 0xFFFFFFFFu, 12345, 1, 0xF0F0F0F0u, 3, 7, 1};
    static const uint32_t c[] = {0, 1, 31, 32, 33, 63, 64, 0xFFFFFFFFu, 100};
    static const int32_t y[] = {-8, INT32_MIN, -1, 1000, -1000, 123, 1, -77, 5};
    enum { N = 9 };
    bd_ir *k = NULL;
    bd_ir_new("shifts", &k);
    int bx = bd_ir_buffer(k, BD_U32, 0), bc = bd_ir_buffer(k, BD_U32, 0), by = bd_ir_buffer(k, BD_I32, 0),
        o1 = bd_ir_buffer(k, BD_U32, 1), o2 = bd_ir_buffer(k, BD_U32, 1), o3 = bd_ir_buffer(k, BD_I32, 1),
        o4 = bd_ir_buffer(k, BD_I32, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val xv = bd_ir_load(k, bx, i), cv = bd_ir_load(k, bc, i), yv = bd_ir_load(k, by, i);
    bd_ir_val ci = bd_ir_cast(k, BD_I32, cv);
    bd_ir_store(k, o1, i, bd_ir_binary(k, BD_IR_SHL, xv, cv));
    bd_ir_store(k, o2, i, bd_ir_binary(k, BD_IR_SHR, xv, cv));
    bd_ir_store(k, o3, i, bd_ir_binary(k, BD_IR_SHR, yv, ci)); /* arithmetic: the sign is kept */
    /* a left shift of i32 only where the result is representable (anything else is undefined in C) */
    bd_ir_store(k, o4, i, bd_ir_binary(k, BD_IR_SHL, bd_ir_const(k, BD_I32, 1),
                                       bd_ir_binary(k, BD_IR_BAND, ci, bd_ir_const(k, BD_I32, 0x3E))));
    for (int d = 0; d < ndevs; d++) {
        uint32_t hx[N], hc[N], h1[N], h2[N];
        int32_t hy[N], h3[N], h4[N];
        memcpy(hx, x, sizeof hx), memcpy(hc, c, sizeof hc), memcpy(hy, y, sizeof hy);
        memset(h1, 0x55, sizeof h1), memset(h2, 0x55, sizeof h2), memset(h3, 0x55, sizeof h3), memset(h4, 0x55, sizeof h4);
        void *host[7] = {hx, hc, hy, h1, h2, h3, h4};
        bd_status st = run_kernel(&devs[d], k, N, host, 7);
        if (st) {
            tc_line(TC_FAIL, "shifts on %s: %s: %s", devs[d].name, bd_status_name(st), bd_last_error());
            continue;
        }
        char bad[512] = "";
        for (int e = 0; e < N; e++) {
            uint32_t s = c[e] & 31u;
            uint32_t w1 = x[e] << s, w2 = x[e] >> s;
            int32_t w3 = y[e] >> s, w4 = (int32_t)(1u << ((c[e] & 0x3Eu) & 31u));
            size_t len = strlen(bad);
            if (h1[e] != w1 || h2[e] != w2 || h3[e] != w3 || h4[e] != w4)
                snprintf(bad + len, sizeof bad - len, " count %u: got %08x %08x %d %d, want %08x %08x %d %d;", c[e], h1[e],
                         h2[e], h3[e], h4[e], w1, w2, w3, w4);
        }
        tc_check(!bad[0], "shifts on %s: counts of 32 and more taken mod 32, i32 >> arithmetic%s", devs[d].name, bad);
    }
    bd_ir_free(k);
}


/* ---------------------------------------------------------------------------------------------- */
/* Loops (count evaluated once, break, nesting) and the rng node, which must give bd_rng_fill's bits. */

static int download_check(bd_device *d, bd_buffer *buf, void *host, size_t bytes, const char *what, const char *dev)
{
    bd_status st = bd_buffer_download(buf, 0, host, bytes);
    if (st == BD_OK) st = bd_device_sync(d);
    return tc_check(st == BD_OK, "%s on %s: download %s", what, dev, bd_status_name(st));
}

static void test_loops(tdev *td)
{
    /* out[i] = sum over j < (i % 50) of j, leaving at j == 30; plus a loop whose body grows the variable its
     * count was computed from (count evaluated once: 5 iterations), and a nested 3 x 4 loop. */
    bd_ir *k;
    bd_ir_new("loops", &k);
    int out = bd_ir_buffer(k, BD_U32, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val sum = bd_ir_var(k, bd_ir_const(k, BD_U32, 0));
    bd_ir_val j = bd_ir_for(k, bd_ir_binary(k, BD_IR_MOD, i, bd_ir_const(k, BD_U32, 50)));
    bd_ir_if(k, bd_ir_binary(k, BD_IR_EQ, j, bd_ir_const(k, BD_U32, 30)));
    bd_ir_break(k);
    bd_ir_end(k);
    bd_ir_assign(k, sum, bd_ir_binary(k, BD_IR_ADD, sum, j));
    bd_ir_end(k);
    bd_ir_val c = bd_ir_var(k, bd_ir_const(k, BD_U32, 5));
    bd_ir_val iters = bd_ir_var(k, bd_ir_const(k, BD_U32, 0));
    bd_ir_for(k, c);
    bd_ir_assign(k, c, bd_ir_binary(k, BD_IR_ADD, c, bd_ir_const(k, BD_U32, 1)));
    bd_ir_assign(k, iters, bd_ir_binary(k, BD_IR_ADD, iters, bd_ir_const(k, BD_U32, 1)));
    bd_ir_end(k);
    bd_ir_val nest = bd_ir_var(k, bd_ir_const(k, BD_U32, 0));
    bd_ir_val a = bd_ir_for(k, bd_ir_const(k, BD_U32, 3));
    bd_ir_val b = bd_ir_for(k, bd_ir_const(k, BD_U32, 4));
    bd_ir_assign(k, nest, bd_ir_binary(k, BD_IR_ADD, nest,
                                       bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MUL, a, bd_ir_const(k, BD_U32, 10)), b)));
    bd_ir_end(k);
    bd_ir_end(k);
    bd_ir_val base = bd_ir_binary(k, BD_IR_MUL, i, bd_ir_const(k, BD_U32, 3));
    bd_ir_store(k, out, base, sum);
    bd_ir_store(k, out, bd_ir_binary(k, BD_IR_ADD, base, bd_ir_const(k, BD_U32, 1)), iters);
    bd_ir_store(k, out, bd_ir_binary(k, BD_IR_ADD, base, bd_ir_const(k, BD_U32, 2)), nest);

    enum { N = 200 };
    bd_kernel *kern = NULL;
    bd_buffer *buf = NULL;
    uint32_t host[3 * N];
    bd_status st = bd_kernel_compile(td->d, k, &kern);
    if (st == BD_OK) st = bd_buffer_alloc(td->d, 3 * N * sizeof(uint32_t), &buf);
    if (st == BD_OK) st = bd_kernel_launch(kern, N, &buf, 1, NULL, 0);
    if (tc_check(st == BD_OK, "loops on %s: compile and launch (%s %s)", td->name, bd_status_name(st),
                 st ? bd_last_error() : "") &&
        download_check(td->d, buf, host, sizeof host, "loops", td->name)) {
        int bad = 0;
        for (uint32_t e = 0; e < N; e++) {
            uint32_t m = e % 50 < 30 ? e % 50 : 30, want = m * (m - (m > 0)) / 2;
            bad += host[3 * e] != want || host[3 * e + 1] != 5 || host[3 * e + 2] != 3 * 4 * 10 + 3 * 6;
        }
        tc_check(bad == 0, "loops on %s: break, count evaluated once, nesting (%d wrong)", td->name, bad);
    }
    bd_buffer_free(buf);
    bd_kernel_free(kern);
    bd_ir_free(k);
}

static void test_rng_node(tdev *td, bd_rng_dist dist, bd_dtype t)
{
    /* Element (i, w) of the kernel draws with counter (i, 0, c2, c3) and which = w; bd_rng_fill's element
     * per * i + w uses the same block and number, so the two must agree bit for bit. */
    const bd_rng_key key = {0x12345678u, 0x9abcdef0u, 77u, 3u};
    const unsigned per = t == BD_F32 ? 4 : 2;
    bd_ir *k;
    bd_ir_new("rng_node", &k);
    int out = bd_ir_buffer(k, t, 1);
    bd_ir_val i = bd_ir_index(k);
    bd_ir_val c[4] = {i, bd_ir_const(k, BD_U32, 0), bd_ir_const(k, BD_U32, key.c2), bd_ir_const(k, BD_U32, key.c3)};
    bd_ir_val kk[2] = {bd_ir_const(k, BD_U32, key.k0), bd_ir_const(k, BD_U32, key.k1)};
    for (unsigned w = 0; w < per; w++)
        bd_ir_store(k, out, bd_ir_binary(k, BD_IR_ADD, bd_ir_binary(k, BD_IR_MUL, i, bd_ir_const(k, BD_U32, per)),
                                         bd_ir_const(k, BD_U32, w)),
                    bd_ir_rng(k, dist, t, c, kk, w));
    enum { N = 4099 };
    size_t total = (size_t)N * per, bytes = total * bd_dtype_size(t);
    char *got = malloc(bytes), *want = malloc(bytes);
    bd_kernel *kern = NULL;
    bd_buffer *buf = NULL, *ref = NULL;
    char what[64];
    snprintf(what, sizeof what, "rng node %s %s", dist == BD_RNG_NORMAL ? "normal" : "uniform", bd_dtype_name(t));
    bd_status st = bd_kernel_compile(td->d, k, &kern);
    if (st == BD_OK) st = bd_buffer_alloc(td->d, bytes, &buf);
    if (st == BD_OK) st = bd_buffer_alloc(td->d, bytes, &ref);
    if (st == BD_OK) st = bd_kernel_launch(kern, N, &buf, 1, NULL, 0);
    if (st == BD_OK) st = bd_rng_fill(td->d, dist, t, &key, ref, total);
    if (t == BD_F64 && st == BD_ERR_UNSUPPORTED) tc_line(TC_SKIP, "%s on %s: %s", what, td->name, bd_last_error());
    else if (tc_check(st == BD_OK && got && want, "%s on %s: compile and launch (%s %s)", what, td->name,
                      bd_status_name(st), st ? bd_last_error() : "") &&
             download_check(td->d, buf, got, bytes, what, td->name) &&
             download_check(td->d, ref, want, bytes, what, td->name))
        tc_check(memcmp(got, want, bytes) == 0, "%s on %s: bit-identical to bd_rng_fill over %zu numbers", what,
                 td->name, total);
    bd_buffer_free(buf);
    bd_buffer_free(ref);
    bd_kernel_free(kern);
    bd_ir_free(k);
    free(got);
    free(want);
}

static void test_control_errors(void)
{
    kb b;
    kb_new(&b, "break_outside");
    bd_ir_break(b.k);
    kb_expect(&b, BD_ERR_INVALID_ARG, "loop", "break outside a loop");

    kb_new(&b, "for_count_type");
    bd_ir_for(b.k, b.n);
    kb_expect(&b, BD_ERR_INVALID_ARG, "u32", "for with an i32 count");

    kb_new(&b, "loop_counter_assign");
    bd_ir_val j = bd_ir_for(b.k, bd_ir_const(b.k, BD_U32, 3));
    bd_ir_assign(b.k, j, j);
    kb_expect(&b, BD_ERR_INVALID_ARG, "variable", "assign to a loop counter");

    kb_new(&b, "loop_else");
    bd_ir_for(b.k, bd_ir_const(b.k, BD_U32, 3));
    bd_ir_else(b.k);
    kb_expect(&b, BD_ERR_INVALID_ARG, "else", "else on a loop");

    kb_new(&b, "rng_types");
    bd_ir_val c[4] = {b.n, b.n, b.n, b.n};
    bd_ir_rng(b.k, BD_RNG_NORMAL, BD_F32, c, c, 0);
    kb_expect(&b, BD_ERR_INVALID_ARG, "u32", "rng with i32 counter words");
}

int main(void)
{
    tc_begin();
    size_t count = bd_device_count();
    for (size_t i = 0; i < count && ndevs < MAXDEV; i++) {
        bd_device_info info;
        if (bd_device_info_get(i, &info) || !tc_device_selected(info.name)) continue;
        bd_status st = bd_device_open(info.name, &devs[ndevs].d);
        if (st) {
            tc_line(TC_FAIL, "open %s: %s: %s", info.name, bd_status_name(st), bd_last_error());
            continue;
        }
        snprintf(devs[ndevs].name, sizeof devs[ndevs].name, "%s", info.name);
        ndevs++;
    }
    test_builder_errors();
    test_printers();
    test_constants();
    test_int_division();
    test_shifts();
    test_control_errors();
    for (int d = 0; d < ndevs; d++) {
        test_loops(&devs[d]);
        const bd_rng_dist dists[2] = {BD_RNG_UNIFORM, BD_RNG_NORMAL};
        for (int q = 0; q < 2; q++) {
            test_rng_node(&devs[d], dists[q], BD_F32);
            test_rng_node(&devs[d], dists[q], BD_F64);
        }
    }
    for (int d = 0; d < ndevs; d++) bd_device_close(devs[d].d);
    return tc_finish();
}
