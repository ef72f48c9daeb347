#!/usr/bin/env python3
"""Brian2 peer for the COBA, CUBA and COBAHH network benchmarks, with the definitions of
reference/benchmarks.md (the same as models/coba.json, models/cuba.json, models/cobahh.json).

Prints per model the mean E and I firing rates over the run and the wall time, as JSON and as a
table. With --bdyn BINARY it also runs `BINARY run models/<model>.json --out DIR` and reads the
rates from DIR/manifest.json (or, failing that, from the spike monitor files) for a side-by-side view.
Each Brian2 run happens in a child process, so the code-generation targets never share state.
Exits 0 with a note when brian2 is not installed (Debian: apt install python3-brian).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("coba", "cuba", "cobahh")
REPO = Path(__file__).resolve().parents[2]


def have_brian2():
    try:
        import brian2  # noqa: F401
        return True
    except Exception:
        return False


def pick_target(requested):
    if requested != "auto":
        return requested
    if shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++"):
        return "cpp_standalone"
    try:
        import Cython  # noqa: F401
        return "cython"
    except Exception:
        return "numpy"


# ---------------------------------------------------------------- Brian2 side (child process)

def build_and_run(model, n, duration_s, seed, target, threads, workdir):
    """Builds one benchmark in Brian2, runs it, returns a result dict."""
    import numpy as np
    import brian2 as b2
    from brian2 import ms, mV, nS, pF, uS, umetre, NeuronGroup, Synapses, SpikeMonitor, Network

    t_start = time.perf_counter()
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
        if threads > 1:
            b2.prefs.devices.cpp_standalone.openmp_threads = threads
    else:
        b2.prefs.codegen.target = target
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(seed)
    n_e = int(round(0.8 * n))
    p = 80.0 / n  # 0.02 at N = 4000: 80 expected connections per presynaptic neuron

    if model == "coba":
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV,
                  Ee=0 * mV, Ei=-80 * mV, we=0.6, wi=6.7)
        eqs = """dv/dt = (ge*(Ee - v) + gi*(Ei - v) - (v - El)) / taum : volt (unless refractory)
                 dge/dt = -ge / taue : 1
                 dgi/dt = -gi / taui : 1"""
        P = NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                        method="exponential_euler", namespace=ns)
        P.v = "El + (randn()*5 - 5)*mV"
        P.ge = "randn()*1.5 + 4"
        P.gi = "randn()*12 + 20"
    elif model == "cuba":
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV,
                  we=60 * 0.27 / 10 * mV, wi=-20 * 4.5 / 10 * mV)
        eqs = """dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
                 dge/dt = -ge / taue : volt
                 dgi/dt = -gi / taui : volt"""
        P = NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                        method="exact", namespace=ns)
        P.v = "Vr + rand()*(Vt - Vr)"
        P.ge = 0 * mV
        P.gi = 0 * mV
    elif model == "cobahh":
        area = 20000 * umetre ** 2
        ns = dict(Cm=200 * pF, gl=10 * nS, El=-60 * mV, EK=-90 * mV, ENa=50 * mV, g_na=20 * uS,
                  g_kd=6 * uS, VT=-63 * mV, taue=5 * ms, taui=10 * ms, Ee=0 * mV, Ei=-80 * mV,
                  we=6 * nS, wi=67 * nS, area=area)
        eqs = """dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v)
                          - g_na*(m*m*m)*h*(v - ENa) - g_kd*(n*n*n*n)*(v - EK)) / Cm : volt
                 dm/dt = alpha_m*(1 - m) - beta_m*m : 1
                 dn/dt = alpha_n*(1 - n) - beta_n*n : 1
                 dh/dt = alpha_h*(1 - h) - beta_h*h : 1
                 dge/dt = -ge / taue : siemens
                 dgi/dt = -gi / taui : siemens
                 alpha_m = 0.32*4/exprel((13*mV - v + VT)/(4*mV))/ms : Hz
                 beta_m = 0.28*5/exprel((v - VT - 40*mV)/(5*mV))/ms : Hz
                 alpha_h = 0.128*exp((17*mV - v + VT)/(18*mV))/ms : Hz
                 beta_h = 4/(1 + exp((40*mV - v + VT)/(5*mV)))/ms : Hz
                 alpha_n = 0.032*5/exprel((15*mV - v + VT)/(5*mV))/ms : Hz
                 beta_n = 0.5*exp((10*mV - v + VT)/(40*mV))/ms : Hz"""
        P = NeuronGroup(n, eqs, threshold="v > -20*mV", refractory=3 * ms,
                        method="exponential_euler", namespace=ns)
        P.v = "El + (randn()*5 - 5)*mV"
        P.ge = "(randn()*15 + 40)*nS"
        P.gi = "(randn()*120 + 200)*nS"
        P.m = 0
        P.h = 0
        P.n = 0
    else:
        raise ValueError(model)

    Pe, Pi = P[:n_e], P[n_e:]
    Ce = Synapses(Pe, P, on_pre="ge += we", namespace=ns)
    Ci = Synapses(Pi, P, on_pre="gi += wi", namespace=ns)
    Ce.connect(p=p)
    Ci.connect(p=p)
    mon = SpikeMonitor(P)
    net = Network(P, Ce, Ci, mon)
    t_run = time.perf_counter()
    net.run(duration_s * b2.second)
    run_s = None
    compile_s = binary_s = None
    if target == "cpp_standalone":
        b2.device.build(directory=workdir, compile=True, run=True, debug=False)
        run_s = getattr(b2.device, "_last_run_time", None)
        # The device's own timers: 'make' (+ 'make clean') is the C++ compilation, run_binary the
        # whole binary (connectivity and initial state built in C++, then the simulation).
        timers = getattr(b2.device, "timers", {}) or {}
        comp = timers.get("compile") or {}
        parts = [v for v in (comp.get("clean"), comp.get("make")) if isinstance(v, (int, float))]
        compile_s = sum(parts) if parts else None
        binary_s = timers.get("run_binary")
    else:
        run_s = time.perf_counter() - t_run
    wall_s = time.perf_counter() - t_start
    # setup_s: everything but the simulation and the C++ compilation (Python network building, code
    # generation, the binary's own initialisation).
    setup_s = None
    if isinstance(run_s, (int, float)):
        setup_s = wall_s - run_s - (compile_s or 0.0)
    idx = np.asarray(mon.i[:])
    ne_spikes = int(np.sum(idx < n_e))
    ni_spikes = int(idx.size - ne_spikes)
    return {
        "model": model, "simulator": "brian2", "version": b2.__version__, "target": target,
        "threads": threads, "n": n, "n_e": n_e, "n_i": n - n_e, "p": p, "duration_s": duration_s,
        "seed": seed, "synapses": int(len(Ce) + len(Ci)),
        "spikes_e": ne_spikes, "spikes_i": ni_spikes,
        "rate_e_hz": ne_spikes / (n_e * duration_s), "rate_i_hz": ni_spikes / ((n - n_e) * duration_s),
        "run_s": run_s, "wall_s": wall_s, "compile_s": compile_s, "setup_s": setup_s, "binary_s": binary_s,
    }


def run_child(args, model):
    """Runs one Brian2 benchmark in a child process; returns its result or an error dict."""
    with tempfile.TemporaryDirectory(prefix="brian2_%s_" % model) as work:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", model, "--n", str(args.n),
               "--duration", str(args.duration), "--seed", str(args.seed), "--target", args.target,
               "--threads", str(args.threads), "--workdir", work]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return {"model": model, "simulator": "brian2", "error": "timed out after %d s" % args.timeout}
        for line in reversed(r.stdout.splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    break
        tail = (r.stderr or r.stdout).strip().splitlines()[-5:]
        return {"model": model, "simulator": "brian2", "error": "exit %d: %s" % (r.returncode, " | ".join(tail))}


# ---------------------------------------------------------------- bdyn side

def _find_pop(manifest, pop):
    """Looks for a per-population record in a manifest whose layout may vary: returns a dict or None."""
    if not isinstance(manifest, dict):
        return None
    for key in ("populations", "pops", "stats", "summary"):
        sub = manifest.get(key)
        if isinstance(sub, dict) and isinstance(sub.get(pop), dict):
            return sub[pop]
        if isinstance(sub, list):
            for item in sub:
                if isinstance(item, dict) and item.get("name", item.get("path")) == pop:
                    return item
    for value in manifest.values():
        if isinstance(value, dict):
            found = _find_pop(value, pop)
            if found is not None:
                return found
    return None


def _num(d, *keys):
    for k in keys:
        v = d.get(k) if isinstance(d, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def bdyn_rates(out_dir, pop, size, duration_s):
    """Mean rate of a population from manifest.json, else from the spike monitor's index file."""
    man = {}
    try:
        with open(os.path.join(out_dir, "manifest.json")) as f:
            man = json.load(f)
    except (OSError, ValueError):
        pass
    rec = _find_pop(man, pop)
    rate = _num(rec, "rate_hz", "mean_rate_hz", "rate", "mean_rate")
    if rate is not None:
        return rate, "manifest"
    count = _num(rec, "spikes", "spike_count", "nspikes", "n_spikes")
    n = _num(rec, "size", "n") or size
    if count is not None and n:
        return count / (n * duration_s), "manifest"
    path = os.path.join(out_dir, "spikes_%s_i.npy" % pop)
    if os.path.exists(path):
        try:
            import numpy as np
            return float(np.load(path).size) / (size * duration_s), "spikes_%s_i.npy" % pop
        except Exception:
            pass
    return None, "not found"


def run_bdyn(args, model):
    model_file = REPO / "models" / ("%s.json" % model)
    res = {"model": model, "simulator": "bdyn", "binary": args.bdyn, "seed": args.seed}
    try:
        with open(model_file) as f:
            spec = json.load(f)
        sizes = {k: int(v.get("size", 0)) for k, v in spec.get("populations", {}).items()}
    except (OSError, ValueError) as e:
        res["error"] = "cannot read %s: %s" % (model_file, e)
        return res
    out = tempfile.mkdtemp(prefix="bdyn_%s_" % model)
    cmd = [args.bdyn, "run", str(model_file), "--out", out, "--seed", str(args.seed)]
    if args.duration != 1.0:
        cmd += ["--duration", "%g s" % args.duration]
    cmd += args.bdyn_arg
    res["command"] = " ".join(cmd)
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        res["error"] = str(e)
        return res
    res["wall_s"] = time.perf_counter() - t0
    if r.returncode != 0:
        res["error"] = "exit %d: %s" % (r.returncode, " | ".join((r.stderr or r.stdout).strip().splitlines()[-5:]))
        return res
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            man = json.load(f)
        for k in ("wall_time_s", "run_s", "sim_s", "wall_s", "elapsed_s"):
            v = _num(man, k) if isinstance(man, dict) else None
            if v is not None:
                res["run_s"] = v
                break
        res["device"] = man.get("device") if isinstance(man, dict) else None
    except (OSError, ValueError):
        pass
    for pop in ("E", "I"):
        rate, src = bdyn_rates(out, pop, sizes.get(pop, 0), args.duration)
        res["rate_%s_hz" % pop.lower()] = rate
        res["rate_%s_source" % pop.lower()] = src
    res["out"] = out
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
        res.pop("out")
    return res


# ---------------------------------------------------------------- driver

def fmt(x, spec):
    return format(x, spec) if isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x)) else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=list(MODELS), help="any of coba cuba cobahh (default: all)")
    ap.add_argument("--n", type=int, default=4000, help="neurons (80%% E); p = 80/N (default 4000, p = 0.02)")
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds (default 1)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--seeds", type=int, default=1,
                    help="run the seeds seed .. seed+K-1 and print each simulator's mean rates and bdyn's relative "
                         "difference (these networks' rates vary by several %% between connectivity draws)")
    ap.add_argument("--target", default="auto", choices=["auto", "cpp_standalone", "cython", "numpy"],
                    help="Brian2 code generation (auto: cpp_standalone when a C++ compiler is found, "
                         "else cython, else numpy)")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads for cpp_standalone (default 1)")
    ap.add_argument("--bdyn", metavar="BDYN_BINARY", help="also run BDYN_BINARY run models/<m>.json --out DIR")
    ap.add_argument("--bdyn-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for bdyn run (repeatable), e.g. --bdyn-arg=--device --bdyn-arg=cpu")
    ap.add_argument("--no-brian", action="store_true", help="run only bdyn")
    ap.add_argument("--keep", action="store_true", help="keep bdyn's output directories")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per simulator run (default 3600)")
    ap.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        res = build_and_run(args.child, args.n, args.duration, args.seed, args.target, args.threads, args.workdir)
        print(json.dumps(res))
        return 0

    bad = [m for m in args.models if m not in MODELS]
    if bad:
        ap.error("unknown model(s): %s (choose from %s)" % (", ".join(bad), ", ".join(MODELS)))
    notes = []
    use_brian = not args.no_brian
    if use_brian and not have_brian2():
        notes.append("brian2 is not installed for %s: Brian2 runs skipped (Debian/Ubuntu: "
                      "sudo apt install python3-brian, then run with /usr/bin/python3; or pip install brian2)"
                      % sys.executable)
        use_brian = False
    if use_brian:
        args.target = pick_target(args.target)
    if args.bdyn and not (os.path.exists(args.bdyn) or shutil.which(args.bdyn)):
        notes.append("bdyn binary %s not found: bdyn runs skipped" % args.bdyn)
        args.bdyn = None

    results = []
    first_seed = args.seed
    for seed in range(first_seed, first_seed + max(args.seeds, 1)):
        args.seed = seed
        for m in args.models:
            if use_brian:
                r = run_child(args, m)
                r.setdefault("seed", seed)
                results.append(r)
                print("# brian2 %s seed %d done" % (m, seed), file=sys.stderr)
            if args.bdyn:
                results.append(run_bdyn(args, m))
                print("# bdyn %s seed %d done" % (m, seed), file=sys.stderr)
    args.seed = first_seed

    doc = {"benchmark": "brette2007", "n": args.n, "duration_s": args.duration, "seed": args.seed,
           "results": results, "notes": notes}
    print(json.dumps(doc, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
    print()
    print("%-7s %-7s %-15s %10s %10s %9s %9s" % ("model", "sim", "target", "E rate Hz", "I rate Hz", "run s", "wall s"))
    for r in results:
        if "error" in r:
            print("%-7s %-7s error: %s" % (r["model"], r["simulator"], r["error"]))
            continue
        print("%-7s %-7s %-15s %10s %10s %9s %9s" % (
            r["model"], r["simulator"], r.get("target", r.get("device") or "-"),
            fmt(r.get("rate_e_hz"), ".2f"), fmt(r.get("rate_i_hz"), ".2f"),
            fmt(r.get("run_s"), ".2f"), fmt(r.get("wall_s"), ".2f")))
    summary = mean_rates(results, args.models)
    if summary:
        print()
        print("%-7s %-7s %6s %10s %10s %12s %12s" % ("model", "sim", "seeds", "mean E Hz", "mean I Hz", "bdyn-brian E",
                                                     "bdyn-brian I"))
        for line in summary:
            print(line)
    for n in notes:
        print("note: " + n)
    return 0


def mean_rates(results, models):
    """Per model and simulator, the mean E and I rates over the seeds run, and bdyn's relative difference."""
    lines = []
    for m in models:
        means = {}
        for sim in ("brian2", "bdyn"):
            rs = [r for r in results if r["model"] == m and r["simulator"] == sim and "error" not in r
                  and isinstance(r.get("rate_e_hz"), (int, float)) and isinstance(r.get("rate_i_hz"), (int, float))]
            if rs:
                means[sim] = (len(rs), sum(r["rate_e_hz"] for r in rs) / len(rs), sum(r["rate_i_hz"] for r in rs) / len(rs))
        for sim, (k, e, i) in means.items():
            de = di = "-"
            if sim == "bdyn" and "brian2" in means:
                be, bi = means["brian2"][1], means["brian2"][2]
                de = "%+.1f %%" % (100 * (e - be) / be) if be else "-"
                di = "%+.1f %%" % (100 * (i - bi) / bi) if bi else "-"
            lines.append("%-7s %-7s %6d %10.2f %10.2f %12s %12s" % (m, sim, k, e, i, de, di))
    return lines


if __name__ == "__main__":
    sys.exit(main())
