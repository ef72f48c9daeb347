#!/usr/bin/env python3
"""BrainPy peer for the COBA, CUBA and COBAHH network benchmarks (reference/benchmarks.md, the same
definitions as models/coba.json, models/cuba.json, models/cobahh.json), on CPU JAX.

The neuron equations are integrated with BrainPy's exponential Euler (bp.odeint(method='exp_auto')),
every variable from the step-start state as in bdyn's models; synaptic conductances decay exactly
(exp(-dt/tau)); spikes are delivered on the next step through BrainPy's event-driven CSR product
(brainpy.math.event.csrmv, transpose=True). Connectivity is Bernoulli: every (pre, post) pair with
probability p = 80/N, self-connections allowed (--conn fixed_outdegree gives BrainPy's sparse
FixedProb instead: exactly round(p N_post) targets per presynaptic neuron, repeats allowed).

The whole run is one jitted lax.scan. It is called twice with the same initial state: the first
call includes JAX's compilation (first_run_s), the second is the simulation alone (run_s);
compile_s = first_run_s - run_s. setup_s is building the connectivity and the initial state.
Prints one JSON object (last line of stdout). Exits 0 with {"error": ...} when brainpy or jax is
missing, so bench/run can report it.

    /opt/bdyn-peers/bin/python bench/peers/brainpy_benchmarks.py coba --n 4000 --duration 1 --threads 1
"""
import argparse
import json
import math
import os
import sys
import time

MODELS = ("coba", "cuba", "cobahh")
DT = 0.1  # ms


def bernoulli_csr(np, rng, n_pre, n_post, p):
    """CSR (indptr, indices) of a Bernoulli(p) connectivity, self-connections allowed, no repeats.

    Each row's count is Binomial(n_post, p); targets are drawn with replacement and repeats are
    redrawn until every row has its count of distinct targets (exactly Bernoulli per pair)."""
    counts = rng.binomial(n_post, p, size=n_pre).astype(np.int64)
    rows = np.repeat(np.arange(n_pre, dtype=np.int64), counts)
    cols = rng.integers(0, n_post, size=rows.size, dtype=np.int64)
    while True:
        key = np.unique(rows * n_post + cols)
        have = np.bincount(key // n_post, minlength=n_pre)
        missing = counts - have
        if not missing.any():
            break
        extra_rows = np.repeat(np.arange(n_pre, dtype=np.int64), missing)
        extra_cols = rng.integers(0, n_post, size=extra_rows.size, dtype=np.int64)
        rows = np.concatenate([key // n_post, extra_rows])
        cols = np.concatenate([key % n_post, extra_cols])
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, (key % n_post)  # key is sorted by row, then column


def outdegree_csr(np, rng, n_pre, n_post, p):
    """BrainPy's sparse FixedProb: exactly round(p * n_post) targets per row, repeats allowed."""
    k = int(round(p * n_post))
    indptr = np.arange(n_pre + 1, dtype=np.int64) * k
    return indptr, rng.integers(0, n_post, size=n_pre * k, dtype=np.int64)


def exprel(jnp, x):
    """(exp(x) - 1) / x with its removable singularity at 0 (HH rate functions)."""
    small = jnp.abs(x) < 1e-6
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + 0.5 * x, jnp.expm1(safe) / safe)


def build(model, n, p, seed, conn):
    """Returns (step_fn, init_state, n_e, synapses); setup work (connectivity, initial state) done here."""
    import numpy as np
    import jax.numpy as jnp
    import brainpy as bp
    import brainpy.math as bm

    rng = np.random.default_rng(seed)
    n_e = int(round(0.8 * n))
    n_i = n - n_e
    make = bernoulli_csr if conn == "bernoulli" else outdegree_csr
    # Two projections cover the four of the bdyn model: E -> all and I -> all (post = the whole network).
    e_ptr, e_idx = make(np, rng, n_e, n, p)
    i_ptr, i_idx = make(np, rng, n_i, n, p)
    synapses = int(e_idx.size + i_idx.size)
    e_ptr, e_idx = jnp.asarray(e_ptr, jnp.int32), jnp.asarray(e_idx, jnp.int32)
    i_ptr, i_idx = jnp.asarray(i_ptr, jnp.int32), jnp.asarray(i_idx, jnp.int32)

    if model == "coba":
        tau, taue, taui, El, Vt, Vr, Ee, Ei = 20.0, 5.0, 10.0, -60.0, -50.0, -60.0, 0.0, -80.0
        we, wi, tref = 0.6, 6.7, 5.0
        V0 = rng.normal(-65.0, 5.0, n)
        ge0 = rng.normal(4.0, 1.5, n)
        gi0 = rng.normal(20.0, 12.0, n)
        dV = bp.odeint(lambda V, t, ge, gi: (ge * (Ee - V) + gi * (Ei - V) - (V - El)) / tau, method="exp_auto")
        held = True
    elif model == "cuba":
        tau, taue, taui, El, Vt, Vr = 20.0, 5.0, 10.0, -49.0, -50.0, -60.0
        we, wi, tref = 60 * 0.27 / 10, -20 * 4.5 / 10, 5.0
        V0 = rng.uniform(Vr, Vt, n)
        ge0 = np.zeros(n)
        gi0 = np.zeros(n)
        dV = bp.odeint(lambda V, t, ge, gi: (ge + gi - (V - El)) / tau, method="exp_auto")
        held = True
    elif model == "cobahh":
        Cm, gl, El, EK, ENa, gna, gkd, VT = 200.0, 10.0, -60.0, -90.0, 50.0, 20000.0, 6000.0, -63.0
        taue, taui, Ee, Ei, Vt = 5.0, 10.0, 0.0, -80.0, -20.0
        we, wi, tref = 6.0, 67.0, 3.0  # nS; pF, nS, mV, ms throughout
        V0 = rng.normal(-65.0, 5.0, n)
        ge0 = rng.normal(40.0, 15.0, n)
        gi0 = rng.normal(200.0, 120.0, n)
        held = False

        def rates(V):
            u = V - VT
            am = 0.32 * 4.0 / exprel(jnp, (13.0 - u) / 4.0)
            bm_ = 0.28 * 5.0 / exprel(jnp, (u - 40.0) / 5.0)
            ah = 0.128 * jnp.exp((17.0 - u) / 18.0)
            bh = 4.0 / (1.0 + jnp.exp((40.0 - u) / 5.0))
            an = 0.032 * 5.0 / exprel(jnp, (15.0 - u) / 5.0)
            bn = 0.5 * jnp.exp((10.0 - u) / 40.0)
            return am, bm_, ah, bh, an, bn

        dV = bp.odeint(lambda V, t, m, h, nn, ge, gi: (gl * (El - V) + ge * (Ee - V) + gi * (Ei - V)
                                                      - gna * m ** 3 * h * (V - ENa) - gkd * nn ** 4 * (V - EK)) / Cm,
                       method="exp_auto")
        dgate = bp.odeint(lambda x, t, a, b: a * (1.0 - x) - b * x, method="exp_auto")
    else:
        raise ValueError(model)

    de, di = math.exp(-DT / taue), math.exp(-DT / taui)
    ref_steps = int(round(tref / DT))
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731

    def propagate(spk, ge, gi):
        # Event-driven: only the rows of neurons that spiked are visited (BrainPy's csrmv on events).
        ge = ge + bm.event.csrmv(we, e_idx, e_ptr, spk[:n_e], shape=(n_e, n), transpose=True)
        gi = gi + bm.event.csrmv(wi, i_idx, i_ptr, spk[n_e:], shape=(n_i, n), transpose=True)
        return ge, gi

    if model in ("coba", "cuba"):
        init = (f32(V0), f32(ge0), f32(gi0), jnp.full(n, -10 ** 6, jnp.int32))

        def step(state, k):
            V, ge, gi, last = state
            refractory = (k - last) < ref_steps
            Vn = dV(V, 0.0, ge, gi, dt=DT)
            Vn = jnp.where(refractory, V, Vn) if held else Vn
            spk = (Vn > Vt) & ~refractory
            Vn = jnp.where(spk, Vr, Vn)
            last = jnp.where(spk, k, last)
            ge, gi = propagate(spk, ge * de, gi * di)
            return (Vn, ge, gi, last), spk
    else:
        z = jnp.zeros(n, jnp.float32)
        init = (f32(V0), z, z, z, f32(ge0), f32(gi0), jnp.full(n, -10 ** 6, jnp.int32))

        def step(state, k):
            V, m, h, nn, ge, gi, last = state
            am, bm_, ah, bh, an, bn = rates(V)
            Vn = dV(V, 0.0, m, h, nn, ge, gi, dt=DT)
            m = dgate(m, 0.0, am, bm_, dt=DT)
            h = dgate(h, 0.0, ah, bh, dt=DT)
            nn = dgate(nn, 0.0, an, bn, dt=DT)
            refractory = (k - last) < ref_steps  # detection only: V is not held
            spk = (Vn > Vt) & ~refractory
            last = jnp.where(spk, k, last)
            ge, gi = propagate(spk, ge * de, gi * di)
            return (Vn, m, h, nn, ge, gi, last), spk

    return step, init, n_e, synapses


def run(args):
    res = {"model": args.model, "simulator": "brainpy", "n": args.n, "duration_s": args.duration,
           "seed": args.seed, "threads": args.threads, "conn": args.conn, "method": "exp_auto (exponential Euler)"}
    if args.threads > 0 and hasattr(os, "sched_setaffinity"):
        # Pin before JAX starts its thread pools: XLA's CPU backend sizes them from the usable cores.
        cpus = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, set(cpus))
        res["cpus"] = cpus
    try:
        import numpy as np
        import jax
        import jax.numpy as jnp
        import brainpy as bp
    except Exception as e:  # report, never crash: bench/run shows it as "not installed"
        res["error"] = "not installed (%s: %s); pip install brainpy 'jax[cpu]' numba" % (type(e).__name__, e)
        return res
    res["version"] = bp.__version__
    res["jax_version"] = jax.__version__
    t0 = time.perf_counter()
    step, init, n_e, synapses = build(args.model, args.n, 80.0 / args.n, args.seed, args.conn)
    steps = int(round(args.duration * 1000.0 / DT))

    def simulate(state):
        def body(carry, k):
            st, ce, ci = carry
            st, spk = step(st, k)
            ce = ce + jnp.sum(spk[:n_e], dtype=jnp.int32)
            ci = ci + jnp.sum(spk[n_e:], dtype=jnp.int32)
            return (st, ce, ci), None
        (st, ce, ci), _ = jax.lax.scan(body, (state, jnp.int32(0), jnp.int32(0)),
                                       jnp.arange(steps, dtype=jnp.int32))
        return ce, ci

    sim = jax.jit(simulate)
    init = jax.block_until_ready(init)
    res["setup_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    jax.block_until_ready(sim(init))
    res["first_run_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    ce, ci = jax.block_until_ready(sim(init))
    res["run_s"] = time.perf_counter() - t2
    res["compile_s"] = max(res["first_run_s"] - res["run_s"], 0.0)
    n_i = args.n - n_e
    res.update({"n_e": n_e, "n_i": n_i, "p": 80.0 / args.n, "synapses": synapses, "steps": steps,
                "spikes_e": int(ce), "spikes_i": int(ci),
                "rate_e_hz": int(ce) / (n_e * args.duration), "rate_i_hz": int(ci) / (n_i * args.duration)})
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("--n", type=int, default=4000, help="neurons, 80%% E; p = 80/N (default 4000)")
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds (default 1)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=0, help="pin to this many cores (default: all)")
    ap.add_argument("--conn", choices=["bernoulli", "fixed_outdegree"], default="bernoulli")
    args = ap.parse_args()
    if args.n < 10 or args.duration <= 0:
        ap.error("--n must be >= 10 and --duration > 0")
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
