#!/usr/bin/env python3
"""NEST 3 peer for the COBA, CUBA and COBAHH network benchmarks (reference/benchmarks.md; the same
definitions as models/coba.json, models/cuba.json, models/cobahh.json).

NEST's built-in models with the benchmark's parameters converted to NEST units (pF, nS, pA, mV, ms):
- COBA: iaf_cond_exp, C_m 200 pF, g_L 10 nS (tau 20 ms), conductance jumps we = 0.6 x 10 nS = 6 nS and
  wi = 6.7 x 10 nS = 67 nS (negative weight = inhibitory in NEST's conductance models).
- CUBA: iaf_psc_exp, C_m 200 pF, tau_m 20 ms: a jump of x mV in the benchmark's ge (tau dV/dt = ge + ...)
  is a current jump of x * C_m / tau_m = x * 10 pA: we = 16.2 pA, wi = -90 pA.
- COBAHH: hh_cond_exp_traub (the Traub-Miles model of the benchmark: g_Na 20 uS, g_K 6 uS, g_L 10 nS,
  V_T -63 mV), refractory 3 ms, m = h = n = 0 at the start.
NEST integrates iaf_psc_exp exactly, iaf_cond_exp and hh_cond_exp_traub with an adaptive RK45 (GSL),
not exponential Euler. Connectivity pairwise_bernoulli with p = 80/N and autapses; delay 0.1 ms (one
step: the next step, as bdyn). setup_s is building the network; run_s is nest.Simulate alone.
Prints one JSON object (last line of stdout); {"error": ...} when NEST cannot be imported.

    python3 bench/peers/nest_benchmarks.py coba --n 4000 --duration 1 --threads 1
"""
import argparse
import json
import os
import sys
import time

MODELS = ("coba", "cuba", "cobahh")


def run(args):
    res = {"model": args.model, "simulator": "nest", "n": args.n, "duration_s": args.duration,
           "seed": args.seed, "threads": args.threads}
    try:
        import numpy as np
        os.environ.setdefault("PYNEST_QUIET", "1")
        import nest
    except Exception as e:
        res["error"] = "not installed (%s: %s); pip install nest-simulator" % (type(e).__name__, e)
        return res
    res["version"] = getattr(nest, "__version__", None)
    t0 = time.perf_counter()
    nest.ResetKernel()
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR  # NEST >= 3.9
    except AttributeError:
        nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus({"resolution": 0.1, "rng_seed": args.seed, "local_num_threads": max(args.threads, 1)})
    rng = np.random.default_rng(args.seed)
    n = args.n
    n_e = int(round(0.8 * n))
    p = 80.0 / n
    extra_conns = 0  # connections that are not synapses of the network (initial-state kicks)
    if args.model == "coba":
        params = {"C_m": 200.0, "g_L": 10.0, "E_L": -60.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0,
                  "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "I_e": 0.0}
        pop = nest.Create("iaf_cond_exp", n, params=params)
        pop.set({"V_m": rng.normal(-65.0, 5.0, n).tolist(), "g_ex": (10.0 * rng.normal(4.0, 1.5, n)).tolist(),
                 "g_in": (10.0 * rng.normal(20.0, 12.0, n)).tolist()})
        we, wi = 6.0, -67.0
    elif args.model == "cuba":
        params = {"C_m": 200.0, "tau_m": 20.0, "E_L": -49.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0,
                  "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "I_e": 0.0}
        pop = nest.Create("iaf_psc_exp", n, params=params)
        pop.set({"V_m": rng.uniform(-60.0, -50.0, n).tolist()})
        we, wi = 16.2, -90.0
    else:
        params = {"C_m": 200.0, "g_L": 10.0, "g_Na": 20000.0, "g_K": 6000.0, "E_L": -60.0, "E_Na": 50.0,
                  "E_K": -90.0, "V_T": -63.0, "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0,
                  "t_ref": 3.0, "I_e": 0.0}
        pop = nest.Create("hh_cond_exp_traub", n, params=params)
        pop.set({"V_m": rng.normal(-65.0, 5.0, n).tolist(), "Act_m": 0.0, "Inact_h": 0.0, "Act_n": 0.0})
        # hh_cond_exp_traub's conductances cannot be set directly: a spike at the first step, with a
        # per-neuron weight, gives each neuron its initial ge and gi (negative draws are clipped to 0,
        # since NEST routes a negative weight to the other conductance).
        ge0 = np.clip(rng.normal(40.0, 15.0, n), 0.0, None)
        gi0 = np.clip(rng.normal(200.0, 120.0, n), 0.0, None)
        for g0, sign in ((ge0, 1.0), (gi0, -1.0)):
            gen = nest.Create("spike_generator", params={"spike_times": [0.1]})
            nest.Connect(gen, pop, "all_to_all", {"weight": (sign * np.maximum(g0, 1e-9)).reshape(n, 1), "delay": 0.1})
        res["note"] = "initial ge, gi given by a spike at t = 0.1 ms (negative draws clipped to 0)"
        extra_conns = 2 * n
        we, wi = 6.0, -67.0
    pe, pi = pop[:n_e], pop[n_e:]
    rule = {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": True}
    nest.Connect(pe, pop, rule, {"weight": we, "delay": 0.1})
    nest.Connect(pi, pop, rule, {"weight": wi, "delay": 0.1})
    rec_e = nest.Create("spike_recorder")
    rec_i = nest.Create("spike_recorder")
    nest.Connect(pe, rec_e)
    nest.Connect(pi, rec_i)
    nest.Prepare()  # NEST's own setup (buffers, communication) stays out of the simulation time
    res["setup_s"] = time.perf_counter() - t0
    res["compile_s"] = 0.0
    t1 = time.perf_counter()
    nest.Run(args.duration * 1000.0)
    res["run_s"] = time.perf_counter() - t1
    nest.Cleanup()
    se, si = int(rec_e.n_events), int(rec_i.n_events)
    n_i = n - n_e
    res.update({"n_e": n_e, "n_i": n_i, "p": p, "synapses": int(nest.GetKernelStatus("num_connections")) - n - extra_conns,
                "spikes_e": se, "spikes_i": si, "rate_e_hz": se / (n_e * args.duration),
                "rate_i_hz": si / (n_i * args.duration), "neuron_model": pop.get("model")[0] if n else None})
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds (default 1)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.n < 10 or args.duration <= 0:
        ap.error("--n must be >= 10 and --duration > 0")
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
