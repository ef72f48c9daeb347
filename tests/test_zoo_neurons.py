#!/usr/bin/env python3
"""The spiking-neuron types of models/lib/neurons.json on `cpu` against independent expectations.

Every reference below is written here from the published equations (not generated from the JSON): a classic
4th-order Runge-Kutta integration in plain Python with the same discrete spike rule as the runner (the state
is advanced one step, a spike is recorded at the end of the step where the threshold holds, then the resets
apply), plus analytic facts where they exist (LIF period with refractoriness, QuaIF/ExpIF rheobase, the QIF
period formula, the GIF period with a constant threshold, fixed points of Morris-Lecar and Wang-Buzsaki) and
the qualitative signatures of published patterns (Izhikevich 2003/2004 firing types by ISI shape,
Hindmarsh-Rose bursts, ALIF threshold growth). bdyn runs in f64 at dt 0.01 ms against the references (its
default methods, exponential Euler or RK4, are first/fourth order), and once more in f32 at dt 0.1 ms, the
default step, to show that every type is stable there and keeps its spike count. Tolerances are stated in
each line. Plain Python 3 (no numpy): NPY files are read with struct."""
import math, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_values, run_model, summary

bdyn, root = sys.argv[1], sys.argv[2]


def run(pops, dt, duration, precision, var_mons=()):
    """One bdyn run of single-neuron populations; returns {pop: spike times (ms)} and {"pop.var": trace}."""
    d = tempfile.mkdtemp(prefix="zoo_")
    model = {"bdyn": 1, "name": "zoo_neurons", "include": ["lib/neurons.json"],
             "run": {"dt": dt, "duration": duration, "precision": precision, "seed": 1},
             "populations": pops, "monitors": {}}
    for p in pops:
        model["monitors"]["s_" + p] = {"spikes": p}
    for pv in var_mons:
        model["monitors"]["v_" + pv.replace(".", "_")] = {"var": pv, "indices": [0]}
    env = dict(os.environ, BDYN_MODEL_PATH=os.path.join(root, "models"))
    rc, text = run_model(bdyn, model, os.path.join(d, "zoo.json"), os.path.join(d, "out"), env=env)
    if not check(rc == 0, "bdyn run at dt %s (%s, %s): %s" % (dt, precision, duration, text[-300:])):
        sys.exit(1)
    out = {q: read_values(os.path.join(d, "out", "s_%s_t.npy" % q)) for q in pops}
    for pv in var_mons:
        out[pv] = read_values(os.path.join(d, "out", "v_%s.npy" % pv.replace(".", "_")))
    return out


# ---------------------------------------------------------------- independent references (published equations)
def exprel(x):
    return 1.0 if abs(x) < 1e-12 else math.expm1(x) / x


def rk4(f, y, dt, p):
    k1 = f(y, p)
    k2 = f([a + 0.5 * dt * b for a, b in zip(y, k1)], p)
    k3 = f([a + 0.5 * dt * b for a, b in zip(y, k2)], p)
    k4 = f([a + dt * b for a, b in zip(y, k3)], p)
    return [a + dt / 6.0 * (b1 + 2 * b2 + 2 * b3 + b4) for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4)]


def simulate(f, y0, p, T, dt, thr, reset=None, crossing=False, vi=0, ref_steps=0):
    """RK4 with the runner's discrete rule. reset: spike when thr holds after the step (then reset, and hold
    y for ref_steps steps); crossing: spike when y[vi] >= thr after the step and < thr before it, nothing reset."""
    y, spikes, hold = list(y0), [], 0
    for s in range(int(round(T / dt))):
        if hold:
            hold -= 1
            continue
        old = y[vi]
        y = rk4(f, y, dt, p)
        th = thr(y, p)
        if crossing:
            if y[vi] >= th > old:
                spikes.append((s + 1) * dt)
        elif y[vi] >= th:
            spikes.append((s + 1) * dt)
            y, hold = reset(y, p), ref_steps
    return spikes, y


def lif(y, p):
    return [(-65.0 - y[0] + p["I"]) / 10.0]


def expif(y, p):
    V = y[0]
    return [(-65.0 - V + 3.48 * math.exp((V + 59.9) / 3.48) + p["I"]) / 10.0]


def adex(y, p):  # BrainPy defaults a = 1, b = 1 mV, tau_w = 30 ms
    V, w = y
    return [(-65.0 - V + 3.48 * math.exp((V + 59.9) / 3.48) - w + p["I"]) / 10.0, ((V + 65.0) - w) / 30.0]


def quaif(y, p):
    V = y[0]
    return [(0.07 * (V + 65.0) * (V + 50.0) + p["I"]) / 10.0]


def adqua(y, p):  # a = 1, b = 0.1 mV, tau_w = 10 ms
    V, w = y
    return [(0.07 * (V + 65.0) * (V + 50.0) - w + p["I"]) / 10.0, ((V + 65.0) - w) / 10.0]


def gif(y, p):  # Mihalas-Niebur: I1, I2 (nA), V_th, V; R = 20 Mohm, tau 20 ms, k1 0.2, k2 0.02, b 0.01
    I1, I2, Th, V = y
    return [-0.2 * I1, -0.02 * I2, p["a"] * (V + 70.0) - 0.01 * (Th + 50.0), (-70.0 - V + 20.0 * (I1 + I2) + p["I"]) / 20.0]


def gif_reset(y, p):
    I1, I2, Th, V = y
    return [0.0 * I1 + 0.0, 1.0 * I2 + p["A2"], max(-60.0, Th), -70.0]


def izh(y, p):
    V, u = y
    return [0.04 * V * V + 5 * V + 140 - u + p["I"], p["a"] * (p["b"] * V - u)]


def alif(y, p):  # tau 20 ms, tau_a 2000 ms
    return [(-70.0 - y[0] + p["I"]) / 20.0, -y[1] / 2000.0]


def hr(y, p):  # a 1, c 1, d 5, r 0.01, s 4, V_rest -1.6
    V, w, z = y
    return [w - V ** 3 + p["b"] * V * V - z + p["I"], 1 - 5 * V * V - w, 0.01 * (4 * (V + 1.6) - z)]


def fhn(y, p):  # a 0.7, b 0.8, tau 12.5
    V, w = y
    return [V - V ** 3 / 3 - w + p["I"], (V + 0.7 - 0.8 * w) / 12.5]


def ml(y, p):  # Morris-Lecar, BrainPy's set
    V, W = y
    minf, winf = 0.5 * (1 + math.tanh((V + 1.2) / 18)), 0.5 * (1 + math.tanh((V - 2) / 30))
    return [(p["I"] - 4.4 * minf * (V - 130) - 8 * W * (V + 84) - 2 * (V + 60)) / 20,
            0.04 * (winf - W) * math.cosh((V - 2) / 60)]


def wb_rates(V):
    am, bm = 0.1 * (V + 35) / (1 - math.exp(-(V + 35) / 10)) if V != -35 else 1.0, 4 * math.exp(-(V + 60) / 18)
    ah, bh = 0.07 * math.exp(-(V + 58) / 20), 1 / (1 + math.exp(-(V + 28) / 10))
    an, bn = 0.01 * (V + 34) / (1 - math.exp(-(V + 34) / 10)) if V != -34 else 0.1, 0.125 * math.exp(-(V + 44) / 80)
    return am / (am + bm), ah, bh, an, bn


def wb(y, p):
    V, h, n = y
    m, ah, bh, an, bn = wb_rates(V)
    return [p["I"] - 35 * m ** 3 * h * (V - 55) - 9 * n ** 4 * (V + 90) - 0.1 * (V + 65),
            5 * (ah * (1 - h) - bh * h), 5 * (an * (1 - n) - bn * n)]


def pr(y, p):  # Pinsky & Rinzel 1994 in the paper's voltage U = V + 60 mV
    Vs, Vd, Ca, h, n, s, c, q = y
    U, Ud = Vs + 60, Vd + 60
    am, bm = 1.28 / exprel((13.1 - U) / 4), 1.4 / exprel((U - 40.1) / 5)
    an, bn = 0.08 / exprel((35.1 - U) / 5), 0.25 * math.exp(0.5 - 0.025 * U)
    ah, bh = 0.128 * math.exp((17 - U) / 18), 4 / (1 + math.exp((40 - U) / 5))
    a_s, b_s = 1.6 / (1 + math.exp(-0.072 * (Ud - 65))), 0.1 / exprel((Ud - 51.1) / 5)
    if Ud <= 50:
        ac = math.exp((Ud - 10) / 11 - (Ud - 6.5) / 27) / 18.975
        bc = 2 * math.exp((6.5 - Ud) / 27) - ac
    else:
        ac, bc = 2 * math.exp((6.5 - Ud) / 27), 0.0
    aq, bq, m = min(2e-5 * Ca, 0.01), 0.001, am / (am + bm)
    ICa = 10 * s * s * (Vd - 80)
    return [(-0.1 * (Vs + 60) - 30 * m * m * h * (Vs - 60) - 15 * n * (Vs + 75) + 2.1 / 0.5 * (Vd - Vs) + p["I"] / 0.5) / 3,
            (-0.1 * (Vd + 60) - ICa - 0.8 * q * (Vd + 75) - 15 * c * min(Ca / 250, 1) * (Vd + 75) + 2.1 / 0.5 * (Vs - Vd)) / 3,
            -0.13 * ICa - 0.075 * Ca, ah * (1 - h) - bh * h, an * (1 - n) - bn * n, a_s * (1 - s) - b_s * s,
            ac * (1 - c) - bc * c, aq * (1 - q) - bq * q]


def bisect(g, lo, hi, it=100):
    for _ in range(it):
        mid = 0.5 * (lo + hi)
        if (g(lo) < 0) == (g(mid) < 0):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def isis(sp):
    return [b - a for a, b in zip(sp, sp[1:])]


def fmt(ts, n=6):
    return "[" + ", ".join("%.2f" % t for t in ts[:n]) + (", ..." if len(ts) > n else "") + "]"


def compare(name, got, ref, abs_tol, rel_tol, count_tol=0):
    """Spike counts equal (within count_tol) and the common spike times within abs_tol + rel_tol * t."""
    k = min(len(got), len(ref))
    worst = max([abs(a - b) - (abs_tol + rel_tol * b) for a, b in zip(got, ref)] or [-1])
    dev = max([abs(a - b) for a, b in zip(got, ref)] or [0])
    return check(abs(len(got) - len(ref)) <= count_tol and worst <= 0 and k > 0 or (len(got) == len(ref) == 0),
                 "%s: %d spikes vs reference %d; max |dt| %.3f ms (tolerance %.2f ms + %.1f %% of t); bdyn %s, "
                 "reference %s" % (name, len(got), len(ref), dev, abs_tol, 100 * rel_tol, fmt(got), fmt(ref)))


# ---------------------------------------------------------------- the populations (one neuron each)
IZH = {"RS": (0.02, 0.2, -65, 8), "IB": (0.02, 0.2, -55, 4), "CH": (0.02, 0.2, -50, 2), "FS": (0.1, 0.2, -65, 2),
       "LTS": (0.02, 0.25, -65, 2), "TC": (0.02, 0.25, -65, 0.05)}
PR_INIT = {"V": "-64.6 mV", "Vd": "-64.5 mV", "Ca": 0.2, "h": 0.999, "n": 0.0001, "s": 0.009, "c": 0.007, "q": 0.01}
pops = {
    "lif": {"type": "LIF", "size": 1, "params": {"I_ext": "20 mV"}, "init": {"V": "-65 mV"}},
    "expif_lo": {"type": "ExpIF", "size": 1, "params": {"I_ext": "1.54 mV"}, "init": {"V": "-65 mV"}},
    "expif_hi": {"type": "ExpIF", "size": 1, "params": {"I_ext": "1.70 mV"}, "init": {"V": "-65 mV"}},
    "expif": {"type": "ExpIF", "size": 1, "params": {"I_ext": "5 mV"}, "init": {"V": "-65 mV"}},
    "adex": {"type": "AdExIF", "size": 1, "params": {"I_ext": "10 mV"}, "init": {"V": "-65 mV"}},
    "qua_lo": {"type": "QuaIF", "size": 1, "params": {"I_ext": "3.85 mV"}, "init": {"V": "-65 mV"}},
    "qua_hi": {"type": "QuaIF", "size": 1, "params": {"I_ext": "4.05 mV"}, "init": {"V": "-65 mV"}},
    "qua": {"type": "QuaIF", "size": 1, "params": {"I_ext": "6 mV"}, "init": {"V": "-65 mV"}},
    "adqua": {"type": "AdQuaIF", "size": 1, "params": {"I_ext": "20 mV"}, "init": {"V": "-65 mV"}},
    "gif": {"type": "GIF", "size": 1, "params": {"I_ext": "30 mV"}, "init": {"V": "-70 mV", "V_th": "-50 mV"}},
    "gif_adapt": {"type": "GIF", "size": 1, "params": {"I_ext": "40 mV", "a": "0.005 1/ms", "A2": "-0.3 nA"},
                  "init": {"V": "-70 mV", "V_th": "-50 mV"}},
    "alif": {"type": "ALIF", "size": 1, "params": {"I_ext": "25 mV"}, "init": {"V": "-70 mV"}},
    "hr": {"type": "HindmarshRose", "size": 1, "params": {"I_ext": 3, "b": 2.5}, "init": {"V": -1.6, "y": -10}},
    "fhn_rest": {"type": "FHN", "size": 1, "params": {"I_ext": 0}, "init": {"V": -1.0, "w": -0.5}},
    "fhn": {"type": "FHN", "size": 1, "params": {"I_ext": 0.5}, "init": {"V": -1.2, "w": -0.62}},
    "ml_rest": {"type": "MorrisLecar", "size": 1, "params": {"I_ext": "0 uA/cm^2"}, "init": {"V": "-50 mV"}},
    "ml": {"type": "MorrisLecar", "size": 1, "params": {"I_ext": "100 uA/cm^2"}, "init": {"V": "-60 mV"}},
    "wb_rest": {"type": "WangBuzsakiHH", "size": 1, "init": {"V": "-60 mV", "h": 0.7, "n": 0.1}},
    "wb": {"type": "WangBuzsakiHH", "size": 1, "params": {"I_ext": "1 uA/cm^2"}, "init": {"V": "-64 mV", "h": 0.78, "n": 0.09}},
    "pr": {"type": "PinskyRinzel", "size": 1, "params": {"I_ext": "0.75 uA/cm^2"}, "init": PR_INIT},
}
for k, (a, b, c, d) in IZH.items():
    pops["izh_" + k] = {"type": "Izhikevich", "size": 1,
                        "params": {"a": "%g 1/ms" % a, "b": b, "c": "%g mV" % c, "d": "%g mV" % d, "I_ext": "10 mV"},
                        "init": {"V": "-65 mV", "u": "%g mV" % (b * -65)}}

T, DT = 1000.0, 0.01
fine = run(pops, "0.01 ms", "1000 ms", "f64", var_mons=["alif.a", "ml_rest.V", "wb_rest.V", "fhn_rest.V", "pr.V"])
coarse = run(pops, "0.1 ms", "1000 ms", "f32", var_mons=["lif.V"])

# ---------------------------------------------------------------- LIF: analytic period with refractoriness
t_first, period = 10 * math.log(20 / 5), 10 * math.log(20 / 5) + 5.0
got = fine["lif"]
expect = [t_first + k * period for k in range(len(got))]
dev = max(abs(a - b) - (k + 1) * DT for k, (a, b) in enumerate(zip(got, expect)))
check(len(got) == int((T - t_first) / period) + 1 and dev <= 0,
      "LIF I_ext = 20 mV: %d spikes at %s; analytic t_k = %.3f + k*%.3f ms (tau ln(I/(I - 15 mV)) + 5 ms refractory), "
      "each within (k+1)*dt (step quantisation), worst excess %.4f ms" % (len(got), fmt(got), t_first, period, dev))
V = coarse["lif.V"]
held = []
for t in coarse["lif"]:
    s = int(round(t / 0.1))  # V sample index s-1 is the state at the spike step's end (after the reset)
    held.append(max(abs(v + 65.0) for v in V[s - 1:s - 1 + 50]))
check(held and max(held) < 1e-4 and abs(V[int(round(coarse["lif"][0] / 0.1)) + 50] + 65.0) > 1e-3,
      "LIF refractoriness (dt 0.1 ms, f32): V stays at V_reset = -65 mV for the 50 steps (5 ms) after each of the "
      "%d spikes (max deviation %.1e mV) and moves on the 51st" % (len(held), max(held)))

# ---------------------------------------------------------------- ExpIF: rheobase V_T - V_rest - delta_T = 1.62 mV
rheo = -59.9 + 65 - 3.48
check(rheo - 1.54 > 0 and not fine["expif_lo"] and 1.70 > rheo and len(fine["expif_hi"]) >= 2,
      "ExpIF rheobase %.2f mV (V_T - V_rest - delta_T): I_ext = 1.54 mV (0.95x) gives %d spikes in 1 s, 1.70 mV (1.05x) "
      "gives %d (first at %.1f ms)" % (rheo, len(fine["expif_lo"]), len(fine["expif_hi"]),
                                         fine["expif_hi"][0] if fine["expif_hi"] else -1))
ref = simulate(expif, [-65.0], {"I": 1.70}, T, DT, lambda y, p: -55.0, lambda y, p: [-68.0])[0]
compare("ExpIF I_ext = 1.70 mV (slow passage near the saddle-node)", fine["expif_hi"], ref, 0.5, 0.005)
ref = simulate(expif, [-65.0], {"I": 5.0}, T, DT, lambda y, p: -55.0, lambda y, p: [-68.0])[0]
compare("ExpIF I_ext = 5 mV", fine["expif"], ref, 0.1, 0.001)

# ---------------------------------------------------------------- AdExIF, AdQuaIF: reference and adaptation
ref = simulate(adex, [-65.0, 0.0], {"I": 10.0}, T, DT, lambda y, p: -55.0, lambda y, p: [-68.0, y[1] + 1.0])[0]
compare("AdExIF I_ext = 10 mV", fine["adex"], ref, 0.1, 0.002)
i = isis(fine["adex"])
check(len(i) > 3 and i[-1] > i[0], "AdExIF adapts: first ISI %.2f ms, last %.2f ms" % (i[0], i[-1]) if i else "AdExIF: no ISIs")
ref = simulate(adqua, [-65.0, 0.0], {"I": 20.0}, T, DT, lambda y, p: -30.0, lambda y, p: [-68.0, y[1] + 0.1])[0]
compare("AdQuaIF I_ext = 20 mV (above its rheobase of 15 mV with w)", fine["adqua"], ref, 0.1, 0.002)
i = isis(fine["adqua"])
check(len(i) > 3 and i[-1] > i[0], "AdQuaIF adapts: first ISI %.2f ms, last %.2f ms" % (i[0], i[-1]) if i else "AdQuaIF: no ISIs")

# ---------------------------------------------------------------- QuaIF: rheobase and the QIF period formula
c, Vm = 0.07, (-65 - 50) / 2.0
rheo = c * (-50 + 65) ** 2 / 4
check(not fine["qua_lo"] and len(fine["qua_hi"]) >= 2,
      "QuaIF rheobase c*(V_c - V_rest)^2/4 = %.4f mV: I_ext = 3.85 mV gives %d spikes in 1 s, 4.05 mV gives %d"
      % (rheo, len(fine["qua_lo"]), len(fine["qua_hi"])))
D = 6.0 - rheo
k = math.sqrt(c / D)
per = 10 / math.sqrt(c * D) * (math.atan((-30 - Vm) * k) - math.atan((-68 - Vm) * k))
i = isis(fine["qua"])
worst = max(abs(x - per) for x in i)
check(len(i) > 10 and worst <= 2 * DT + 0.001 * per,
      "QuaIF I_ext = 6 mV: %d ISIs, mean %.3f ms, analytic period %.3f ms (tau/sqrt(cD)*(atan(x_th*sqrt(c/D)) - "
      "atan(x_reset*sqrt(c/D)))); worst ISI error %.3f ms (tolerance 2 dt + 0.1 %%)" % (len(i), sum(i) / len(i), per, worst))
ref = simulate(quaif, [-65.0], {"I": 6.0}, T, DT, lambda y, p: -30.0, lambda y, p: [-68.0])[0]
compare("QuaIF I_ext = 6 mV", fine["qua"], ref, 0.1, 0.002)

# ---------------------------------------------------------------- GIF (Mihalas-Niebur)
per = 20 * math.log(30 / (30 - 20))
i = isis(fine["gif"])
worst = max(abs(x - per) for x in i)
check(len(i) > 10 and worst <= 2 * DT,
      "GIF defaults, I_ext = 30 mV (R*I = 20 Mohm * 1.5 nA): threshold stays at V_th_inf, so the period is "
      "tau ln(30/(30 - 20)) = %.3f ms; %d ISIs, worst error %.3f ms (tolerance 2 dt)" % (per, len(i), worst))
ref = simulate(gif, [0, 0, -50.0, -70.0], {"I": 30.0, "a": 0.0, "A2": 0.0}, T, DT, lambda y, p: y[2], gif_reset, vi=3)[0]
compare("GIF defaults, I_ext = 30 mV", fine["gif"], ref, 0.05, 0.001)
ref = simulate(gif, [0, 0, -50.0, -70.0], {"I": 40.0, "a": 0.005, "A2": -0.3}, T, DT, lambda y, p: y[2], gif_reset, vi=3)[0]
compare("GIF a = 0.005/ms, A2 = -0.3 nA (threshold and current adaptation), I_ext = 40 mV", fine["gif_adapt"], ref, 0.2, 0.002)
i = isis(fine["gif_adapt"])
check(len(i) > 3 and i[-1] > 1.5 * i[0], "GIF adaptation: first ISI %.2f ms, last %.2f ms" % (i[0], i[-1]) if i else "GIF: no ISIs")

# ---------------------------------------------------------------- Izhikevich patterns (2003 Fig. 2, I = 10)
for name, (a, b, c_, d) in IZH.items():
    ref = simulate(izh, [-65.0, b * -65.0], {"a": a, "b": b, "I": 10.0}, T, DT, lambda y, p: 30.0,
                   lambda y, p, c_=c_, d=d: [c_, y[1] + d])[0]
    compare("Izhikevich %s (a %g, b %g, c %g, d %g), I = 10" % (name, a, b, c_, d), fine["izh_" + name], ref, 0.3, 0.005, 1)
sp = {k: fine["izh_" + k] for k in IZH}
i = {k: isis(v) for k, v in sp.items()}
check(len(i["RS"]) >= 4 and i["RS"][1] > 1.5 * i["RS"][0] and abs(i["RS"][-1] - i["RS"][-2]) < 0.05 * i["RS"][-1],
      "RS: adapting then tonic, ISIs %s ms" % fmt(i["RS"], 5))
check(len(i["FS"]) > 30 and max(i["FS"][5:]) < 1.1 * min(i["FS"][5:]) and len(sp["FS"]) > 3 * len(sp["RS"]),
      "FS: fast and hardly adapting, %d spikes (RS %d), ISIs %s ms" % (len(sp["FS"]), len(sp["RS"]), fmt(i["FS"], 5)))
check(len(i["IB"]) > 4 and max(i["IB"][:2]) < 6 and min(i["IB"][2:]) > 5 * max(i["IB"][:2]),
      "IB: an initial burst (ISIs %s ms) then tonic spikes (ISIs >= %.1f ms)" % (fmt(i["IB"][:2]), min(i["IB"][2:])))
short = [x for x in i["CH"] if x < 6]
long_ = [x for x in i["CH"] if x > 30]
check(len(long_) >= 5 and len(short) >= 2 * len(long_) and len(short) + len(long_) == len(i["CH"]),
      "CH: repetitive bursts, %d intra-burst ISIs < 6 ms and %d inter-burst ISIs > 30 ms (nothing between)" % (len(short), len(long_)))
check(len(i["LTS"]) > 10 and i["LTS"][0] < 4 and i["LTS"][-1] > 3 * i["LTS"][0],
      "LTS: high initial frequency, then adapting: first ISI %.2f ms, last %.2f ms" % (i["LTS"][0], i["LTS"][-1]))
check(len(sp["TC"]) > len(sp["RS"]) and max(i["TC"]) < 1.5 * min(i["TC"]),
      "TC at I = 10: tonic, %d spikes, ISIs %.2f..%.2f ms (within a factor 1.5)" % (len(sp["TC"]), min(i["TC"]), max(i["TC"])))

# ---------------------------------------------------------------- ALIF: the threshold rises with every spike
ref = simulate(alif, [-70.0, 0.0], {"I": 25.0}, T, DT, lambda y, p: -60.0 + 1.6 * y[1], lambda y, p: [y[0] - 10.0, y[1] + 1])
compare("ALIF I_ext = 25 mV", fine["alif"], ref[0], 0.1, 0.002)
a_end = fine["alif.a"][-1]
a_sum = sum(math.exp(-(T - t) / 2000.0) for t in fine["alif"])
i = isis(fine["alif"])
check(abs(a_end - a_sum) < 1e-3 * a_sum and abs(a_end - ref[1][1]) < 0.05 and i[-1] > 1.5 * i[0],
      "ALIF: a(1 s) = %.4f = sum of exp(-(T - t_k)/tau_a) over the %d spikes (%.4f; reference %.4f), threshold "
      "-60 + 1.6*a = %.2f mV; ISIs grow %.2f -> %.2f ms" % (a_end, len(fine["alif"]), a_sum, ref[1][1], -60 + 1.6 * a_end, i[0], i[-1]))

# ---------------------------------------------------------------- Hindmarsh-Rose bursting
ref = simulate(hr, [-1.6, -10.0, 0.0], {"b": 2.5, "I": 3.0}, T, DT, lambda y, p: 1.0, crossing=True)[0]
compare("HindmarshRose b 2.5, I 3", fine["hr"], ref, 0.1, 0.002)
i = isis(fine["hr"])
gaps = [k for k, x in enumerate(i) if x > 50]
bursts = [b - a for a, b in zip([-1] + gaps, gaps + [len(i)])]
check(len(gaps) >= 4 and min(bursts[:-1]) >= 5 and max(x for x in i if x <= 50) < 15,
      "HindmarshRose bursts: %d gaps > 50 ms between groups of %s spikes, intra-burst ISIs <= %.1f ms"
      % (len(gaps), bursts, max(x for x in i if x <= 50)))

# ---------------------------------------------------------------- FitzHugh-Nagumo
ref = simulate(fhn, [-1.2, -0.62], {"I": 0.5}, T, DT, lambda y, p: 1.8, crossing=True)[0]
compare("FHN I 0.5", fine["fhn"], ref, 0.05, 0.001)
Vr = bisect(lambda v: v - v ** 3 / 3 - (v + 0.7) / 0.8, -3, 0)
check(not fine["fhn_rest"] and abs(fine["fhn_rest.V"][-1] - Vr) < 1e-3,
      "FHN I 0: no spike, V -> %.5f; fixed point of V - V^3/3 = (V + a)/b: %.5f" % (fine["fhn_rest.V"][-1], Vr))

# ---------------------------------------------------------------- Morris-Lecar: rest below, oscillation above
def ml_fixed(V):
    minf, winf = 0.5 * (1 + math.tanh((V + 1.2) / 18)), 0.5 * (1 + math.tanh((V - 2) / 30))
    return -4.4 * minf * (V - 130) - 8 * winf * (V + 84) - 2 * (V + 60)


Vr = bisect(ml_fixed, -80, -40)
check(not fine["ml_rest"] and abs(fine["ml_rest.V"][-1] - Vr) < 0.01,
      "MorrisLecar I_ext 0: rests at V = %.4f mV (fixed point %.4f mV), no spike" % (fine["ml_rest.V"][-1], Vr))
ref = simulate(ml, [-60.0, 0.0], {"I": 100.0}, T, DT, lambda y, p: 10.0, crossing=True)[0]
compare("MorrisLecar I_ext 100 uA/cm^2 (periodic)", fine["ml"], ref, 0.1, 0.001)

# ---------------------------------------------------------------- Wang-Buzsaki
def wb_fixed(V):
    m, ah, bh, an, bn = wb_rates(V)
    h, n = ah / (ah + bh), an / (an + bn)
    return -35 * m ** 3 * h * (V - 55) - 9 * n ** 4 * (V + 90) - 0.1 * (V + 65)


Vr = bisect(wb_fixed, -80, -55)
check(not fine["wb_rest"] and abs(fine["wb_rest.V"][-1] - Vr) < 0.01,
      "WangBuzsakiHH I_ext 0: rests at V = %.4f mV (fixed point %.4f mV), no spike" % (fine["wb_rest.V"][-1], Vr))
ref = simulate(wb, [-64.0, 0.78, 0.09], {"I": 1.0}, T, DT, lambda y, p: 20.0, crossing=True)[0]
compare("WangBuzsakiHH I_ext 1 uA/cm^2", fine["wb"], ref, 0.1, 0.002)

# ---------------------------------------------------------------- Pinsky-Rinzel (600 ms of reference: slow in Python)
y0 = [-64.6, -64.5, 0.2, 0.999, 0.0001, 0.009, 0.007, 0.01]
ref = simulate(pr, y0, {"I": 0.75}, 600.0, DT, lambda y, p: 10.0, crossing=True)[0]
compare("PinskyRinzel I_ext 0.75 uA/cm^2, first 600 ms (full somatic spikes, V_th 10 mV)",
        [t for t in fine["pr"] if t <= 600], ref, 0.2, 0.01)
Vp = fine["pr.V"]
peaks = [k for k in range(1, len(Vp) - 1) if Vp[k] > -20 and Vp[k] >= Vp[k - 1] and Vp[k] > Vp[k + 1]]
check(len(peaks) >= 2 * len(fine["pr"]) and all(min(abs(k * DT - t) for t in fine["pr"]) < 6 for k in peaks),
      "PinskyRinzel bursts: %d somatic peaks above -20 mV, each within 6 ms of one of the %d full spikes "
      "(a full spike followed by smaller burst spikes)" % (len(peaks), len(fine["pr"])))

# ---------------------------------------------------------------- the default dt 0.1 ms in f32: stable, same counts
for p in sorted(pops):
    a, b = len(fine[p]), len(coarse[p])
    tol = max(1, 0.1 * a) if p not in ("pr",) else max(2, 0.5 * a)
    check(abs(a - b) <= tol, "%s at dt 0.1 ms f32: %d spikes, at dt 0.01 ms f64: %d (tolerance %g)" % (p, b, a, tol))
summary(", 0 skipped")
