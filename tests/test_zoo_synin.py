#!/usr/bin/env python3
"""The synapse, output, input and source types of models/lib (synapses.json, outputs.json, inputs.json,
sources.json) and the equation language's rand() and dt, end to end through `bdyn run` on the cpu device:
- synapses: the time course of g after one presynaptic spike against the analytic solution (Expon, DualExpon
  with tau_rise < tau_decay, = tau_decay and > tau_decay, Alpha) or an RK4 integration written here (NMDA);
- outputs: MgBlock, COBA and the current-density variants at clamped voltages against their formulas, and the
  dimension check of an output against the post's input variable;
- inputs: each deterministic waveform (mV and uA/cm^2 variants) against its formula; OU (rand() form and the
  xi form) stationary mean, variance and correlation time; Wiener per-step variance;
- rand(): mean, variance, independence of call sites, elements and steps; PoissonGroup spike counts, and the
  same spike trains for the same seed (and on every other device present), other trains for another seed.
Statistical checks allow 4 standard deviations. Plain Python (no numpy): NPY files are read with struct."""
import json, math, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, devices, read_monitor, read_values, run_bdyn, summary, write_npy
from bdtest import run_model as run_bdyn_model

bdyn, models_dir = sys.argv[1], sys.argv[2]
os.environ["BDYN_MODEL_PATH"] = models_dir
out = tempfile.mkdtemp(prefix="zoo_synin")


def run_model(name, model, device="cpu", extra=()):
    """Writes the model, runs it; returns (rc, text, output folder)."""
    d = os.path.join(out, "%s.%s.%s" % (name, device.replace(":", ""), "_".join(extra).replace(" ", "")))
    rc, text = run_bdyn_model(bdyn, model, os.path.join(out, name + ".json"), d, device, extra=extra, timeout=300)
    return rc, text, d


def columns(d, mon):
    """A var monitor as (times, [column0 values, column1 values, ...])."""
    return read_monitor(os.path.join(d, mon + ".npy"), os.path.join(d, mon + "_t.npy"))


def mean_var(xs):
    m = sum(xs) / len(xs)
    return m, sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


# A neuron that spikes once, at the step ending at 5 ms, and a passive neuron to carry synapse state.
TRIGGER = {"kind": "neuron", "doc": "spikes once at 5 ms", "equations": [], "threshold": "abs(t - 5*ms) < 0.5*dt"}
SINK = {"kind": "neuron", "doc": "passive", "equations": ["dV/dt = (-V + I_syn) / (10*ms) : mV", "I_syn : mV"],
        "inputs": ["I_syn"], "method": "exp_euler"}
T0 = 5.0  # the spike's time: its weight is added at the start of the next step, which begins at 5 ms

# ------------------------------------------------------------------------------------------------------------
# Synapses: g after one spike of weight w at T0 (f64, dt 0.1 ms)


def dual(t, td, tr, w):
    if t <= 0:
        return 0.0
    if abs(td - tr) < 1e-12:
        return w * t / td * math.exp(1 - t / td)
    tp = td * tr / (td - tr) * math.log(td / tr)
    return w * (math.exp(-t / td) - math.exp(-t / tr)) / (math.exp(-tp / td) - math.exp(-tp / tr))


def nmda_rk4(tmax, w, a=0.5, td=100.0, tr=2.0, h=0.001):
    """(t, g) every 0.1 ms from the spike, RK4 with step h on g' = -g/td + a x (1 - g), x' = -x/tr."""
    f = lambda g, x: (-g / td + a * x * (1 - g), -x / tr)
    g, x, res = 0.0, w, [(0.0, 0.0)]
    per = int(round(0.1 / h))
    for i in range(1, int(round(tmax / h)) + 1):
        k1 = f(g, x)
        k2 = f(g + h / 2 * k1[0], x + h / 2 * k1[1])
        k3 = f(g + h / 2 * k2[0], x + h / 2 * k2[1])
        k4 = f(g + h * k3[0], x + h * k3[1])
        g += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        x += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        if i % per == 0:
            res.append((i * h, g))
    return res


syn_cases = [  # name, synapse type and params, weight, analytic g(t - T0) or None (NMDA)
    ("expon", "Expon", {"tau": "8 ms"}, 0.7, lambda s: 0.7 * math.exp(-s / 8) if s > 0 else 0.0),
    ("dual", "DualExpon", {}, 1.0, lambda s: dual(s, 10.0, 1.0, 1.0)),
    ("dual_eq", "DualExpon", {"tau_decay": "5 ms", "tau_rise": "5 ms"}, 2.0, lambda s: dual(s, 5.0, 5.0, 2.0)),
    ("dual_swap", "DualExpon", {"tau_decay": "2 ms", "tau_rise": "6 ms"}, 1.0, lambda s: dual(s, 2.0, 6.0, 1.0)),
    ("alpha", "Alpha", {}, 1.0, lambda s: s / 10 * math.exp(-s / 10) if s > 0 else 0.0),
    ("nmda", "NMDA_post", {}, 1.0, None),
]
model = {"bdyn": 1, "name": "zoo_syn", "include": ["lib/synapses.json", "lib/outputs.json"],
         "run": {"dt": "0.1 ms", "duration": "80 ms", "seed": 1, "precision": "f64"},
         "types": {"Trigger": TRIGGER, "Sink": SINK},
         "populations": {"pre": {"type": "Trigger", "size": 1}}, "projections": {}, "monitors": {}}
for name, typ, params, w, _ in syn_cases:
    model["populations"][name] = {"type": "Sink", "size": 1}
    model["projections"]["P" + name] = {"pre": "pre", "post": name, "conn": {"all2all": {}}, "weight": w,
                                        "synapse": {"type": typ, "params": params}, "output": {"type": "CUBA"}}
    model["monitors"][name] = {"var": "%s.P%s__g" % (name, name), "indices": [0]}
model["monitors"]["pre_spikes"] = {"spikes": "pre"}
rc, text, d = run_model("zoo_syn", model)
if check(rc == 0, "synapse model runs: %s" % text.splitlines()[-1][:200]):
    st = read_values(os.path.join(d, "pre_spikes_t.npy"))
    check(len(st) == 1 and abs(st[0] - T0) < 1e-9, "trigger spikes once at %s ms" % st)
    nmda_ref = dict((round(s, 6), g) for s, g in nmda_rk4(75.0, 1.0))
    for name, typ, params, w, ana in syn_cases:
        t, (g,) = columns(d, name)
        if ana is None:
            pairs = [(gi, nmda_ref[round(ti - T0, 6)]) for ti, gi in zip(t, g) if ti > T0 + 1e-9]
            peak = max(r for _, r in pairs)
            err = max(abs(a - b) for a, b in pairs)
            gmax = max(g)
            check(err < 1e-4 * peak, "NMDA_post (a 0.5/ms, tau 100/2 ms, w 1) vs RK4 (h 0.001 ms): max |err| %.2e, "
                  "%.2e of the peak %.4f (limit 1e-4; exp_euler at dt 0.1 ms)" % (err, err / peak, gmax))
            continue
        err = max(abs(gi - ana(ti - T0)) for ti, gi in zip(t, g))
        gmax = max(g)
        tmax = t[g.index(gmax)] - T0
        check(err < 1e-9 * max(1, w), "%s %s: max |g - analytic| %.2e over %d samples; recorded peak %.6f at +%.1f ms"
              % (typ, params, err, len(g), gmax, tmax))
        if name == "dual":
            tp = 10 * 1 / 9 * math.log(10)
            # the continuous peak: a 1 us grid of the (verified) analytic curve around the samples' maximum
            fine = max((dual(tmax - 0.1 + k * 1e-3, 10.0, 1.0, 1.0), tmax - 0.1 + k * 1e-3) for k in range(201))
            check(abs(tmax - tp) <= 0.05 + 1e-9 and abs(fine[1] - tp) < 1e-3 and abs(fine[0] - 1.0) < 1e-6 and
                  abs(dual(tp, 10.0, 1.0, 1.0) - 1) < 1e-12 and gmax <= 1,
                  "DualExpon peak: t* = tau_d tau_r/(tau_d - tau_r) ln(tau_d/tau_r) = %.4f ms; samples peak at "
                  "+%.1f ms, curve at +%.3f ms with g = %.9f (w = 1)" % (tp, tmax, fine[1], fine[0]))
        if name == "dual_eq":
            check(abs(tmax - 5.0) < 1e-9 and abs(gmax - 2.0) < 1e-9,
                  "DualExpon tau_rise = tau_decay = 5 ms: alpha-shaped, peak %.9f (w 2) at +%.1f ms" % (gmax, tmax))
        if name == "alpha":
            check(abs(tmax - 10.0) < 1e-9 and abs(gmax - math.exp(-1)) < 1e-9,
                  "Alpha: peak at tau = 10 ms (+%.1f ms), value w/e = %.6f" % (tmax, gmax))

# ------------------------------------------------------------------------------------------------------------
# Outputs at clamped voltages


def mgblock(g, V, E=0.0, cc=1.2, alpha=0.062, beta=3.57, Voff=0.0):
    return g * (E - V) / (1 + cc / beta * math.exp(alpha * (Voff - V)))


volts = [-80.0, -65.0, -40.0, -20.0, 0.0, 25.0]
vfile = os.path.join(out, "volts.npy")
write_npy(vfile, volts)
HOLD = {"kind": "synapse", "doc": "a state that stays as initialised", "equations": ["dg/dt = 0 : 1"],
        "on_spike": ["g = g + w"]}
CLAMP = {"kind": "neuron", "doc": "voltage held", "equations": ["dV/dt = 0*mV/ms : mV", "I_syn : mV"], "inputs": ["I_syn"]}
CLAMP_HH = {"kind": "neuron", "doc": "voltage held, density input",
            "equations": ["dV/dt = 0*mV/ms : mV", "I_syn : uA/cm^2"], "inputs": ["I_syn"]}
out_cases = [  # population, output type and params, g, formula(V)
    ("c", "MgBlock", {}, 0.5, lambda V: mgblock(0.5, V)),
    ("c", "COBA", {"E": "-80 mV"}, 0.3, lambda V: 0.3 * (-80 - V)),
    ("c", "CUBA", {"scale": "2 mV"}, 0.25, lambda V: 0.5),
    ("h", "MgBlock_density", {"g_max": "0.2 mS/cm^2", "cc_Mg": "2 mM", "V_offset": "5 mV"}, 1.5,
     lambda V: 0.2 * mgblock(1.5, V, cc=2.0, Voff=5.0)),
    ("h", "COBA_density", {"g_max": "0.1 mS/cm^2", "E": "10 mV"}, 2.0, lambda V: 0.1 * 2.0 * (10 - V)),
    ("h", "CUBA_density", {"scale": "3 uA/cm^2"}, 0.5, lambda V: 1.5),
]
model = {"bdyn": 1, "name": "zoo_out", "include": ["lib/outputs.json"],
         "run": {"dt": "0.1 ms", "duration": "0.3 ms", "seed": 1, "precision": "f64"},
         "types": {"Hold": HOLD, "Clamp": CLAMP, "ClampHH": CLAMP_HH, "Trigger": TRIGGER},
         "populations": {"src": {"type": "Trigger", "size": 1},
                         "c": {"type": "Clamp", "size": len(volts), "init": {"V": {"file": vfile}}},
                         "h": {"type": "ClampHH", "size": len(volts), "init": {"V": {"file": vfile}}}},
         "projections": {}, "monitors": {}}
for k, (pop, typ, params, g, _) in enumerate(out_cases):
    pn = "O%d" % k
    model["projections"][pn] = {"pre": "src", "post": pop, "conn": {"all2all": {}}, "weight": 0,
                                "synapse": {"type": "Hold"}, "output": {"type": typ, "params": params}}
    model["populations"][pop]["init"]["%s__g" % pn] = g
    model["monitors"][pn] = {"var": "%s.%s__I" % (pop, pn), "indices": list(range(len(volts)))}
rc, text, d = run_model("zoo_out", model)
if check(rc == 0, "output model runs: %s" % text.splitlines()[-1][:200]):
    for k, (pop, typ, params, g, f) in enumerate(out_cases):
        t, cols = columns(d, "O%d" % k)
        got = [c[-1] for c in cols]
        want = [f(V) for V in volts]
        err = max(abs(a - b) for a, b in zip(got, want))
        check(err < 1e-9 * max(1, max(abs(x) for x in want)), "%s %s, g %s at V = %s mV: I = %s (formula %s)"
              % (typ, params, g, volts, " ".join("%.6g" % x for x in got), " ".join("%.6g" % x for x in want)))
bad = dict(model)
bad["projections"] = {"X": {"pre": "src", "post": "h", "conn": {"all2all": {}}, "weight": 0,
                            "synapse": {"type": "Hold"}, "output": {"type": "MgBlock"}}}
bad["populations"] = {"src": model["populations"]["src"], "h": {"type": "ClampHH", "size": 1}}
bad["monitors"] = {}
rc, text, d = run_model("zoo_out_bad", bad)
check(rc != 0 and "uA" in text and ("mV" in text or "V" in text) and "Traceback" not in text,
      "MgBlock (mV) into a uA/cm^2 input variable is refused (rc %d): %s" % (rc, text.replace("\n", " | ")[:300]))

# ------------------------------------------------------------------------------------------------------------
# Deterministic inputs: the recorded I against the formula at the recorded times


def where(c, a, b):
    return a if c else b


def section(t, I, dd, t0):
    if t < t0:
        return 0.0
    end = t0
    for v, dur in zip(I, dd):
        end += dur
        if t < end:
            return v
    return 0.0


def square(t, A, f, duty, bias, t0, t1):
    if not (t0 <= t < t1):
        return 0.0
    x = 2 * math.pi * f * 1e-3 * (t - t0)
    return bias + (A if math.cos(x - math.pi * duty) >= math.cos(math.pi * duty) else -A)


wave_cases = [  # input type, params in unit u (%s), formula of t (ms) with values in u
    ("Section", {"I1": "2 %s", "I2": "-1 %s", "I3": "4 %s", "d1": "10.02 ms", "d2": "5 ms", "d3": "20 ms",
                 "t_start": "3.05 ms"}, lambda t: section(t, [2, -1, 4, 0], [10.02, 5, 20, 0], 3.05)),
    ("Ramp", {"c_start": "1 %s", "c_end": "6 %s", "t_start": "10.05 ms", "t_end": "40.05 ms"},
     lambda t: 1 + 5 * (t - 10.05) / 30 if 10.05 <= t < 40.05 else 0.0),
    ("Sinusoidal", {"amplitude": "3 %s", "frequency": "40 Hz", "bias": "0.5 %s", "t_start": "5.05 ms",
                    "t_end": "45.05 ms"},
     lambda t: 3 * math.sin(2 * math.pi * 0.04 * (t - 5.05)) + 0.5 if 5.05 <= t < 45.05 else 0.0),
    ("Square", {"amplitude": "2 %s", "frequency": "30 Hz", "duty": "0.3", "bias": "1 %s", "t_start": "2.02 ms",
                "t_end": "48.05 ms"}, lambda t: square(t, 2, 30, 0.3, 1, 2.02, 48.05)),
]
PROBE = {"kind": "neuron", "doc": "input probe", "equations": ["dV/dt = (-V + I_syn) / (10*ms) : mV", "I_syn : mV"],
         "inputs": ["I_syn"]}
PROBE_HH = {"kind": "neuron", "doc": "input probe, density",
            "equations": ["dV/dt = (-V*uA/(mV*cm^2) + I_syn) / (1*uF/cm^2) : mV", "I_syn : uA/cm^2"],
            "inputs": ["I_syn"]}
model = {"bdyn": 1, "name": "zoo_in", "include": ["lib/inputs.json"],
         "run": {"dt": "0.1 ms", "duration": "50 ms", "seed": 1, "precision": "f64"},
         "types": {"Probe": PROBE, "ProbeHH": PROBE_HH},
         "populations": {"p": {"type": "Probe", "size": 1}, "q": {"type": "ProbeHH", "size": 1}},
         "inputs": {}, "monitors": {}}
for typ, params, _ in wave_cases:
    for pop, suffix, unit in (("p", "", "mV"), ("q", "_density", "uA/cm^2")):
        iname = typ.lower() + suffix
        model["inputs"][iname] = {"type": typ + suffix, "into": pop,
                                  "params": {k: v.replace("%s", unit) for k, v in params.items()}}
        model["monitors"][iname] = {"var": "%s.%s__I" % (pop, iname), "indices": [0]}
rc, text, d = run_model("zoo_in", model)
if check(rc == 0, "input model runs: %s" % text.splitlines()[-1][:200]):
    for typ, params, f in wave_cases:
        for suffix in ("", "_density"):
            t, (I,) = columns(d, typ.lower() + suffix)
            err = max(abs(a - f(ti)) for ti, a in zip(t, I))
            nz = sum(1 for a in I if a != 0)
            check(err < 1e-9, "%s%s: max |I - formula| %.2e over %d samples (%d nonzero, range %.3f .. %.3f)"
                  % (typ, suffix, err, len(I), nz, min(I), max(I)))

# ------------------------------------------------------------------------------------------------------------
# Noise inputs: OU (rand() form with exp_euler; xi form with euler_maruyama), Wiener

N, T, DT = 200, 1000.0, 0.1
mean, sigma, tau = 2.0, 1.5, 5.0
SDE_PROBE = dict(PROBE, method="euler_maruyama")
model = {"bdyn": 1, "name": "zoo_noise", "include": ["lib/inputs.json"],
         "run": {"dt": "%g ms" % DT, "duration": "%g ms" % T, "seed": 3, "precision": "f64"},
         "types": {"Probe": PROBE, "ProbeSDE": SDE_PROBE},
         "populations": {"a": {"type": "Probe", "size": N, "init": {"ou__x": mean}},
                         "b": {"type": "ProbeSDE", "size": N, "init": {"ous__x": mean}},
                         "w": {"type": "Probe", "size": N}},
         "inputs": {"ou": {"type": "OU", "into": "a", "params": {"mean": "%g mV" % mean, "sigma": "%g mV" % sigma,
                                                                 "tau": "%g ms" % tau}},
                    "ous": {"type": "OU_sde", "into": "b", "params": {"mean": "%g mV" % mean,
                                                                      "sigma": "%g mV" % sigma, "tau": "%g ms" % tau}},
                    "wn": {"type": "Wiener", "into": "w", "params": {"sigma": "0.5 mV", "tau": "2 ms"}}},
         "monitors": {"ou": {"var": "a.ou__x", "indices": list(range(N)), "every": "1 ms"},
                      "ous": {"var": "b.ous__x", "indices": list(range(N)), "every": "1 ms"},
                      "wn": {"var": "w.wn__I", "indices": list(range(20))}}}
rc, text, d = run_model("zoo_noise", model)
if check(rc == 0, "noise input model runs: %s" % text.splitlines()[-1][:200]):
    for mon, label in (("ou", "OU (rand(), exp_euler)"), ("ous", "OU_sde (xi, euler_maruyama)")):
        t, cols = columns(d, mon)
        xs = [x for c in cols for x in c]
        m, v = mean_var(xs)
        # time averages of an OU path: var(mean) = 2 tau sigma^2 / T per neuron, var(sample var) = 2 tau sigma^4 / T
        sd_m = sigma * math.sqrt(2 * tau / (T * N))
        sd_v = sigma ** 2 * math.sqrt(2 * tau / (T * N))
        lag = int(round(tau))  # samples every 1 ms: lag tau
        num = sum((c[i] - m) * (c[i + lag] - m) for c in cols for i in range(len(c) - lag))
        rho = num / (v * sum(len(c) - lag for c in cols))
        sd_rho = math.sqrt(2 * tau / (T * N)) * 1.5  # the same order as the variance's, with some margin
        check(abs(m - mean) < 4 * sd_m and abs(v - sigma ** 2) < 4 * sd_v and abs(rho - math.exp(-1)) < 4 * sd_rho,
              "%s mean %.2f mV, sigma %.2f mV, tau %.0f ms: mean %.4f (4 sd %.4f), variance %.4f (want %.4f, 4 sd "
              "%.4f), autocorrelation at tau %.4f (want e^-1 = %.4f, 4 sd %.4f); %d samples"
              % (label, mean, sigma, tau, m, 4 * sd_m, v, sigma ** 2, 4 * sd_v, rho, math.exp(-1), 4 * sd_rho, len(xs)))
    t, cols = columns(d, "wn")
    xs = [x for c in cols for x in c]
    m, v = mean_var(xs)
    want = 0.5 ** 2 * 2 / DT
    n = len(xs)
    lag1 = sum(c[i] * c[i + 1] for c in cols for i in range(len(c) - 1)) / (v * sum(len(c) - 1 for c in cols))
    check(abs(m) < 4 * math.sqrt(want / n) and abs(v - want) < 4 * want * math.sqrt(2 / n) and
          abs(lag1) < 4 / math.sqrt(n), "Wiener sigma 0.5 mV, tau 2 ms: per-step I mean %.4f, variance %.3f (want "
          "sigma^2 tau/dt = %.3f, 4 sd %.3f), lag-1 correlation %.4f; %d samples"
          % (m, v, want, 4 * want * math.sqrt(2 / n), lag1, n))

# ------------------------------------------------------------------------------------------------------------
# rand(): uniform, independent between call sites, elements and steps

NR, STEPS = 50, 400
model = {"bdyn": 1, "name": "zoo_rand",
         "run": {"dt": "0.1 ms", "duration": "%g ms" % (STEPS * 0.1), "seed": 5},
         "types": {"R": {"kind": "neuron", "doc": "two draws", "equations": ["u1 = rand() : 1", "u2 = rand() : 1"]}},
         "populations": {"r": {"type": "R", "size": NR}},
         "monitors": {"u1": {"var": "r.u1", "indices": list(range(NR))},
                      "u2": {"var": "r.u2", "indices": list(range(NR))}}}
rc, text, d = run_model("zoo_rand", model)
if check(rc == 0, "rand() model runs: %s" % text.splitlines()[-1][:200]):
    _, c1 = columns(d, "u1")
    _, c2 = columns(d, "u2")
    a = [x for c in c1 for x in c]
    b = [x for c in c2 for x in c]
    n = len(a)
    m, v = mean_var(a)
    corr = sum((x - 0.5) * (y - 0.5) for x, y in zip(a, b)) / (n / 12)
    lag = sum((c[i] - 0.5) * (c[i + 1] - 0.5) for c in c1 for i in range(len(c) - 1)) / (
        sum(len(c) - 1 for c in c1) / 12)
    elem = sum((c1[j][i] - 0.5) * (c1[j + 1][i] - 0.5) for j in range(NR - 1) for i in range(len(c1[0]))) / (
        (NR - 1) * len(c1[0]) / 12)
    check(min(a) >= 0 and max(a) < 1 and abs(m - 0.5) < 4 * math.sqrt(1 / 12 / n) and
          abs(v - 1 / 12) < 4 * math.sqrt(1 / 180 / n) and max(abs(corr), abs(lag), abs(elem)) < 4 / math.sqrt(n - NR),
          "rand(): %d draws in [%.5f, %.5f], mean %.4f, variance %.5f (1/12 = %.5f); correlation between call "
          "sites %.4f, steps %.4f, elements %.4f (4 sd %.4f)" % (n, min(a), max(a), m, v, 1 / 12, corr, lag, elem,
                                                                 4 / math.sqrt(n - NR)))

# ------------------------------------------------------------------------------------------------------------
# PoissonGroup: counts, reproducibility, devices


def pg_model(seed):
    return {"bdyn": 1, "name": "zoo_pg", "include": ["lib/sources.json"],
            "run": {"dt": "0.1 ms", "duration": "1000 ms", "seed": seed},
            "populations": {"slow": {"type": "PoissonGroup", "size": 100, "params": {"rate": "5 Hz"}},
                            "fast": {"type": "PoissonGroup", "size": 100, "params": {"rate": "80 Hz"}}},
            "monitors": {"s": {"spikes": "slow"}, "f": {"spikes": "fast"}}}


def trains(d):
    return tuple(tuple(read_values(os.path.join(d, "%s_%s.npy" % (m, k)))) for m in ("s", "f") for k in ("i", "t"))


rc, text, d = run_model("zoo_pg", pg_model(11))
if check(rc == 0, "PoissonGroup model runs: %s" % text.splitlines()[-1][:200]):
    ref = trains(d)
    steps = 10000
    for label, idx, rate in (("slow", 0, 5.0), ("fast", 2, 80.0)):
        count = len(ref[idx])
        p = rate * 1e-4
        want, sd = 100 * steps * p, math.sqrt(100 * steps * p * (1 - p))
        per = [0] * 100
        for i in ref[idx]:
            per[i] += 1
        check(abs(count - want) < 4 * sd and min(per) >= 0, "PoissonGroup %g Hz, 100 x 1 s: %d spikes (expected %.0f, "
              "4 sd %.0f); per neuron %d .. %d" % (rate, count, want, 4 * sd, min(per), max(per)))
    rc2, _, d2 = run_model("zoo_pg", pg_model(11), extra=("--threads", "1"))
    check(rc2 == 0 and trains(d2) == ref, "PoissonGroup: same seed, same spike trains (%d + %d spikes)"
          % (len(ref[0]), len(ref[2])))
    rc3, _, d3 = run_model("zoo_pg2", pg_model(12))
    check(rc3 == 0 and trains(d3) != ref, "PoissonGroup: another seed, other trains (%d + %d spikes)"
          % (len(trains(d3)[0]), len(trains(d3)[2])))
    for dev in devices(bdyn):
        if dev == "cpu" or not (dev.startswith("opencl") or dev.startswith("vulkan")):
            continue
        rc4, text4, d4 = run_model("zoo_pg", pg_model(11), device=dev)
        check(rc4 == 0 and trains(d4) == ref, "PoissonGroup on %s: the cpu's spike trains (%s)"
              % (dev, text4.splitlines()[-1][:120] if text4 else ""))

# ------------------------------------------------------------------------------------------------------------
# rand() and dt in the language: misuse is refused with a message; a declared `dt` shadows the step


def one_type(name, eqs, threshold=None, params=None):
    t = {"kind": "neuron", "doc": name, "equations": eqs}
    if threshold:
        t["threshold"] = threshold
    if params:
        t["params"] = params
    return {"bdyn": 1, "name": name, "run": {"duration": "100 ms", "precision": "f64"}, "types": {"R": t},
            "populations": {"r": {"type": "R", "size": 1}}, "monitors": {"v": {"var": "r.v", "indices": [0]}}}


for name, eqs, thr, want in (
        ("rand_args", ["dv/dt = -v/(10*ms) : 1", "u = rand(2) : 1"], "u < 0.5", "rand() takes 0 arguments, got 1"),
        ("rand_name", ["dv/dt = rand : 1"], None, "'rand' is a function"),
        ("dt_delay", ["dv/dt = -v(t - dt)/(10*ms) : 1"], None, "a delay must be constant"),
        ("rand_delay", ["dv/dt = -v(t - rand()*ms)/(10*ms) : 1"], None, "a delay must be constant"),
        ("dt_unit", ["dv/dt = -v/dt : mV"], "v > dt", "cannot compare")):
    path = os.path.join(out, name + ".json")
    json.dump(one_type(name, eqs, thr), open(path, "w"))
    rc, text = run_bdyn(bdyn, ["check", path], timeout=60)
    check(rc == 2 and want in text, "%s refused (rc %d): %s" % (name, rc, text.splitlines()[0][-90:] if text else ""))
rc, text, d = run_model("dt_shadow", one_type("dt_shadow", ["dv/dt = (dt/ms - v)/(10*ms) : 1", "dt : ms (constant)"],
                                              params={"dt": "0.3 ms"}))
if check(rc == 0, "a declared parameter dt runs: %s" % text.splitlines()[-1][:100]):
    t, (v,) = columns(d, "v")
    check(abs(v[-1] - 0.3) < 1e-4, "a declared dt (0.3 ms) shadows the step (0.1 ms): v -> %.6f" % v[-1])

summary()
