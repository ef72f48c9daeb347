#!/usr/bin/env python3
"""Fractional-order neurons (models/lib/fractional.json) and delayed terms in network populations.

Checks, each against a reference written here (plain Python 3, no numpy; NPY files read with struct):
1. alpha = 1: FractionalIzhikevich is the ordinary Izhikevich neuron (lib/neurons.json, exponential Euler):
   at dt 0.01 ms, f64, every spike time within 0.1 ms of the ordinary model's (both first order in dt).
2. alpha = 0.9: one FractionalIzhikevich (I_ext 10 mV, memory 1000 steps) (reset V = c, u += d) and one FractionalFHR (upward crossing, no reset)
   through `bdyn run` (f64, cpu) against an independent explicit L1 integration of the Caputo equations with the
   memory kept through resets (the history is the state at the start of every step, as BrainPy's
   CaputoL1Schema): the same spike times (to 1e-9 ms) and traces within 1e-6.
3. The same fractional model on every other device that `bdyn devices --json` lists (opencl:0, vulkan:0): f64
   against the same reference (spike times equal, traces within 1e-6), and f32 against cpu f32 (spike times
   within one step, the FractionalFHR V trace within 1e-3; measured 2e-6).
4. FeedbackFHN (lib/rates.json, x(t - 10 ms)) in a network population against RK4 with the delayed value
   interpolated linearly between stored steps, constant history before t = 0: max |dx| < 1e-9.
5. Checkpoint at half time and resume: the traces equal one uninterrupted run bit for bit.
"""
import json, math, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, devices, read_values, run_bdyn, run_model, summary

bdyn, models = sys.argv[1], sys.argv[2]


def run(pops, dt, duration, precision="f64", device="cpu", var_mons=(), lib="lib/fractional.json"):
    """One bdyn run; returns {pop: spike times} and {"pop.var": trace of element 0}."""
    d = tempfile.mkdtemp(prefix="frac_")
    model = {"bdyn": 1, "name": "fractional", "include": [lib] if isinstance(lib, str) else lib,
             "run": {"dt": dt, "duration": duration, "precision": precision, "seed": 1},
             "populations": pops, "monitors": {}}
    for p, spec in pops.items():
        if spec.get("type", "") not in ("FeedbackFHN",):
            model["monitors"]["s_" + p] = {"spikes": p}
    for pv in var_mons:
        model["monitors"]["v_" + pv.replace(".", "_")] = {"var": pv, "indices": [0]}
    env = dict(os.environ, BDYN_MODEL_PATH=models)
    rc, text = run_model(bdyn, model, os.path.join(d, "m.json"), os.path.join(d, "out"), device, env, timeout=300)
    if not check(rc == 0, "bdyn run on %s (%s, dt %s): rc %d %s" % (device, precision, dt, rc, text[-300:])):
        sys.exit(1)
    out = {k[2:]: read_values(os.path.join(d, "out", "%s_t.npy" % k)) for k in model["monitors"] if k.startswith("s_")}
    for pv in var_mons:
        out[pv] = read_values(os.path.join(d, "out", "v_%s.npy" % pv.replace(".", "_")))
    return out


# ----------------------------------------------------------------------------- the independent L1 reference
def l1(f, x0, alpha, dt, steps, memory, after=None):
    """Explicit L1 for D^alpha x = f(x): x_{k+1} = x_k + Gamma(2-alpha) dt^alpha f(x_k)
    - sum_{j=1}^{min(k, memory)} b_j (X_{k+1-j} - X_{k-j}), b_j = (j+1)^(1-alpha) - j^(1-alpha), where X_i is the
    state at the start of step i (after any reset). after(x_new, x_start) applies the spike rule: returns
    (x after the reset, spiked). Returns the spike times and the trace of every step's end state."""
    beta = 1.0 - alpha
    b = [0.0] + [(j + 1) ** beta - j ** beta for j in range(1, memory + 1)]
    scale = math.gamma(2.0 - alpha) * dt ** alpha
    n = len(x0)
    diffs = [[] for _ in range(n)]  # diffs[v][i] = X_{i+1} - X_i
    x, spikes, trace = list(x0), [], []
    for k in range(steps):
        fx = f(x)
        new = []
        for v in range(n):
            dv = diffs[v]
            acc = 0.0
            for j in range(1, min(k, memory) + 1):
                acc += b[j] * dv[k - j]
            new.append(x[v] + scale * fx[v] - acc)
        spiked = False
        if after:
            new, spiked = after(new, x)
        if spiked:
            spikes.append((k + 1) * dt)
        for v in range(n):
            diffs[v].append(new[v] - x[v])
        x = new
        trace.append(list(x))
    return spikes, trace


# FractionalIzhikevich with the library defaults (tau = 1 ms), I_ext in mV
IZ = dict(a=0.02, b=0.2, c=-65.0, d=8.0, f=0.04, g=5.0, h=140.0, tau=1.0, V_th=30.0)


def izh_f(I):
    p = IZ
    return lambda x: [(p["f"] * x[0] ** 2 + p["g"] * x[0] + p["h"] - x[1] + I) / p["tau"],
                      p["a"] * (p["b"] * x[0] - x[1]) / p["tau"]]


def izh_after(x, start):
    if x[0] >= IZ["V_th"]:
        return [IZ["c"], x[1] + IZ["d"]], True
    return x, False


FHR = dict(a=0.7, b=0.8, c=-0.775, d=1.0, delta=0.08, mu=0.0001, V_th=1.8)


def fhr_f(I):
    p = FHR
    return lambda x: [x[0] - x[0] ** 3 / 3 - x[1] + x[2] + I, p["delta"] * (p["a"] + x[0] - p["b"] * x[1]),
                      p["mu"] * (p["c"] - x[0] - p["d"] * x[2])]


def fhr_after(x, start):
    # upward crossing; the runner's refractory condition V >= V_th is tested on the state at the step's start
    return x, x[0] >= FHR["V_th"] and start[0] < FHR["V_th"]


def close_spikes(a, b, tol):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def maxdiff(a, b):
    return max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) and a else float("inf")


# ----------------------------------------------------------------------------- 1. alpha = 1 is the ordinary model
izh_init = {"V": "-65 mV", "u": "-13 mV"}
o = run({"F": {"type": "FractionalIzhikevich", "size": 1, "params": {"alpha": 1, "I_ext": "10 mV"}, "init": izh_init},
         "O": {"type": "Izhikevich", "size": 1, "params": {"I_ext": "10 mV"}, "init": izh_init}},
        0.01, 200, lib=["lib/fractional.json", "lib/neurons.json"])
dev = max((abs(a - b) for a, b in zip(o["F"], o["O"])), default=float("inf"))
check(len(o["F"]) == len(o["O"]) >= 5 and dev <= 0.1,
      "alpha = 1: FractionalIzhikevich %d spikes, Izhikevich %d, largest spike-time difference %.3f ms (<= 0.1)"
      % (len(o["F"]), len(o["O"]), dev))

# ----------------------------------------------------------------------------- 2. alpha < 1 against the L1 reference
DT, T, ALPHA, MEM = 0.1, 150.0, 0.9, 1000
steps = int(round(T / DT))
ref_iz = l1(izh_f(10.0), [-65.0, -13.0], ALPHA, DT, steps, MEM, izh_after)
ref_fh = l1(fhr_f(0.8), [2.5, 0.0, 0.0], 0.9, DT, steps, 400, fhr_after)
pops = {"Z": {"type": "FractionalIzhikevich", "size": 1, "params": {"alpha": ALPHA, "I_ext": "10 mV"}, "init": izh_init},
        "H": {"type": "FractionalFHR", "size": 1, "params": {"alpha": 0.9, "num_memory": 400, "I_ext": 0.8},
              "init": {"V": 2.5, "w": 0, "y": 0}}}
mons = ("Z.V", "Z.u", "H.V", "H.w")


def compare_ref(o, where):
    ok = check(len(ref_iz[0]) >= 3 and close_spikes(o["Z"], ref_iz[0], 1e-9),
               "%s FractionalIzhikevich alpha 0.9: spikes %s vs L1 reference %s"
               % (where, [round(t, 2) for t in o["Z"]], [round(t, 2) for t in ref_iz[0]]))
    ok &= check(len(ref_fh[0]) >= 2 and close_spikes(o["H"], ref_fh[0], 1e-9),
                "%s FractionalFHR alpha 0.9 (memory 400, I_ext 0.8): spikes %s vs L1 reference %s"
                % (where, [round(t, 2) for t in o["H"]], [round(t, 2) for t in ref_fh[0]]))
    for key, ref, v in (("Z.V", ref_iz, 0), ("Z.u", ref_iz, 1), ("H.V", ref_fh, 0), ("H.w", ref_fh, 1)):
        d = maxdiff(o[key], [s[v] for s in ref[1]])
        ok &= check(d < 1e-6, "%s trace %s: max |bdyn - L1 reference| = %.2e (< 1e-6)" % (where, key, d))
    return ok


cpu64 = run(pops, DT, T, var_mons=mons)
compare_ref(cpu64, "cpu f64")
# the memory matters: the same neuron at alpha = 1 fires differently
check(ref_iz[0] != l1(izh_f(10.0), [-65.0, -13.0], 1.0, DT, steps, 1, izh_after)[0],
      "alpha 0.9 spikes differ from alpha 1 (%d vs %d)"
      % (len(ref_iz[0]), len(l1(izh_f(10.0), [-65.0, -13.0], 1.0, DT, steps, 1, izh_after)[0])))

# ----------------------------------------------------------------------------- 3. other devices
listed = devices(bdyn, info=True)
names = [d["name"] for d in listed]
cpu32 = run(pops, DT, T, precision="f32", var_mons=mons)
compare32 = lambda o, where: (
    check(all(len(o[p]) == len(cpu32[p]) and all(abs(a - b) <= DT + 1e-6 for a, b in zip(o[p], cpu32[p]))
              for p in ("Z", "H")),
          "%s f32: spikes Z %s, H %s as on cpu f32 (within one step)" % (where, o["Z"], o["H"])))
for dn in ("opencl:0", "vulkan:0"):
    if dn not in names:
        print("SKIP", dn, "not listed")
        continue
    info = [d for d in listed if d["name"] == dn][0]
    if info.get("fp64"):
        compare_ref(run(pops, DT, T, device=dn, var_mons=mons), dn + " f64")
    o32 = run(pops, DT, T, precision="f32", device=dn, var_mons=mons)
    compare32(o32, dn)
    d = maxdiff(o32["H.V"], cpu32["H.V"])
    check(d < 1e-3, "%s f32 FractionalFHR V vs cpu f32: max diff %.2e (< 1e-3)" % (dn, d))

# ----------------------------------------------------------------------------- 4. FeedbackFHN: a delayed term
FB = dict(a=0.7, b=0.8, tau=12.5, mu=1.6886, x0=-1.0, delay=10.0)
dt, T = 0.1, 200.0
n = int(round(T / dt))
hist = []  # x at the start of every step


def delayed(tq):
    """x(tq) from the stored steps, linear between them; the initial value before t = 0."""
    p = tq / dt
    i = math.floor(p + 1e-9)
    fr = min(max(p - i, 0.0), 1.0)
    get = lambda k: hist[k] if k >= 0 else hist[0]
    return get(i) + fr * (get(i + 1) - get(i)) if fr > 0 else get(i)


def fb(x, y, t):
    return [x - x ** 3 / 3 - y + FB["mu"] * (delayed(t - FB["delay"]) - FB["x0"]), (x + FB["a"] - FB["b"] * y) / FB["tau"]]


x, y, ref = -1.2, -0.6, []
for k in range(n):
    hist.append(x)
    t = k * dt
    k1 = fb(x, y, t)
    k2 = fb(x + dt / 2 * k1[0], y + dt / 2 * k1[1], t + dt / 2)
    k3 = fb(x + dt / 2 * k2[0], y + dt / 2 * k2[1], t + dt / 2)
    k4 = fb(x + dt * k3[0], y + dt * k3[1], t + dt)
    x += dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
    y += dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    ref.append(x)
o = run({"F": {"type": "FeedbackFHN", "size": 1, "init": {"x": -1.2, "y": -0.6}}}, dt, T, var_mons=("F.x",),
        lib="lib/rates.json")
d = maxdiff(o["F.x"], ref)
check(d < 1e-9, "FeedbackFHN x(t - 10 ms) in a network population vs RK4 with linear delay interpolation: max diff "
      "%.2e (< 1e-9); x range %.3f .. %.3f" % (d, min(ref), max(ref)))

# ----------------------------------------------------------------------------- 5. checkpoint and resume
# the history ring and x(t0) are part of the checkpoint: 75 ms + resume to 150 ms equals one 150 ms run
d = tempfile.mkdtemp(prefix="frac_ck_")
model = {"bdyn": 1, "name": "fractional_ck", "include": ["lib/fractional.json"],
         "run": {"dt": DT, "duration": T, "precision": "f64", "seed": 1}, "populations": pops,
         "monitors": {"v": {"var": "Z.V", "indices": [0]}, "w": {"var": "H.V", "indices": [0]}}}
path = os.path.join(d, "m.json")
with open(path, "w") as f:
    json.dump(model, f)
env = dict(os.environ, BDYN_MODEL_PATH=models)
ck = os.path.join(d, "ck.bin")
rcs = [run_bdyn(bdyn, ["run", path, "--device", "cpu", "--out", os.path.join(d, o)] + extra, env=env, timeout=300)[0]
       for o, extra in (("full", []), ("half", ["--duration", str(T / 2), "--checkpoint", ck]), ("rest", ["--resume", ck]))]
if check(rcs == [0, 0, 0], "checkpoint runs: exit codes %s" % rcs):
    for m in ("v", "w"):
        full = read_values(os.path.join(d, "full", m + ".npy"))
        parts = read_values(os.path.join(d, "half", m + ".npy")) + read_values(os.path.join(d, "rest", m + ".npy"))
        check(parts == full, "checkpoint at %g ms + resume reproduces the %s trace bit for bit (%d samples)"
              % (T / 2, "Z.V" if m == "v" else "H.V", len(full)))

summary()
