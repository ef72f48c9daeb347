#!/usr/bin/env python3
"""The ion-channel and ion-pool zoo of models/lib/channels.json against kinetics written out again here, in
plain Python (no numpy), from the published equations and BrainPy's defaults, independently of the JSON.

1. Voltage clamp: every channel in a neuron whose V is a parameter (one population per channel, one neuron per
   clamp voltage, V read from an NPY file). At a fixed V each gate obeys dx/dt = (x_inf - x)/tau exactly, which
   exponential Euler integrates exactly, so the monitored gates must follow x_inf + (x0 - x_inf) exp(-t/tau) with
   x_inf and tau from the reference kinetics (to 1e-9). The steady state and time constant are also measured
   from the trace alone (three equally spaced samples) and printed. The current must equal g * gates * (V - E)
   and have the sign of V - E (outward positive). Calcium-dependent channels are clamped in V and Ca.
   Ih_De1996 (three coupled states) runs with rk4 and is compared with a Python rk4 at the same dt.
2. Temperature factors: INa_Ba2002 at T = 26 C is three times slower than at 36 C; ICaT_HM1992's phi_p.
3. Ion pools: Nernst E_Ca = RT/(2F) ln(C0/Ca) along a decaying calcium trace; the first-order pool decays as
   Ca0 exp(-beta t), the detailed one as C_rest + (Ca0 - C_rest) exp(-t/tau); a clamped T-current filling a
   detailed pool (with the pump on) against a Python rk4 of (p, q, Ca) with the 2 F d conversion written here.
4. HHcomposed (channels) against the monolithic HH type: spike times within 0.05 ms.
5. The shipped models: tc_rebound (a rebound burst after hyperpolarization, none without ICaT) and
   ahp_adaptation (interspike intervals grow with IAHP, not without).
Usage: test_zoo_channels.py BDYN MODELS_DIR"""
import json, math, os, re, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, columns, read_npy, run_bdyn, run_model, summary, write_npy

bdyn, models_dir = sys.argv[1], sys.argv[2]
t_start = time.time()


def load(path):
    """A 1-D array as its values; a 2-D one (samples x indices) as one list per index."""
    shape, vals = read_npy(path)
    return columns(shape, vals) if len(shape) == 2 else vals


env = dict(os.environ, BDYN_MODEL_PATH=models_dir)
work = tempfile.mkdtemp()


def run(model, name):
    out = os.path.join(work, name + ".out")
    rc, text = run_model(bdyn, model, os.path.join(work, name + ".json"), out, env=env, timeout=300)
    if not check(rc == 0, "run %s: %s" % (name, text.splitlines()[-1][:300])):
        sys.exit(1)
    return out


# ------------------------------------------------------------------------------------------------------------
# Reference kinetics (V in mV, t in ms, conductances mS/cm^2, currents uA/cm^2)

exp = math.exp


def lin(x, k):
    """x / (exp(x/k) - 1), with its limit k near x = 0 (the HH-style rate singularities)."""
    return k * (1 - x / (2 * k)) if abs(x) < 1e-7 else x / (math.exp(x / k) - 1)


def markov(a, b, phi=1.0):
    return a / (a + b), 1.0 / (phi * (a + b))


def boltz(v, half, k):
    return 1.0 / (1.0 + exp(-(v - half) / k))


# Each entry: (gates: {name: f(V) -> (x_inf, tau)}, current: f(V, gates) -> I, reversal E, reads Ca?)
def hh_na(vsh=-45.0, phi=1.0):
    u = lambda v: v - vsh
    return {"m": lambda v: markov(0.1 * lin(-(u(v) - 5), 10), 4 * exp(-(u(v) + 20) / 18), phi),
            "h": lambda v: markov(0.07 * exp(-(u(v) + 20) / 20), 1 / (1 + exp(-(u(v) - 10) / 10)), phi)}


def tm_na(vsh, phi=1.0):
    u = lambda v: v - vsh
    return {"m": lambda v: markov(0.32 * lin(13 - u(v), 4), 0.28 * lin(u(v) - 40, 5), phi),
            "h": lambda v: markov(0.128 * exp((17 - u(v)) / 18), 4 / (1 + exp((40 - u(v)) / 5)), phi)}


def tm_k(vsh, phi=1.0):
    u = lambda v: v - vsh
    return {"n": lambda v: markov(0.032 * lin(15 - u(v), 5), 0.5 * exp((10 - u(v)) / 40), phi)}


PHI_T = lambda base, T, Tref: base ** ((T - Tref) / 10.0)
KAP = lambda v: 0.37 + 1 / (exp((v + 35.8) / 19.7) + exp(-(v + 79.7) / 12.7))
KAQ = lambda v: (1 / (exp((v + 46) / 5) + exp(-(v + 238) / 37.5))) if v < -63 else 19.0
K2P = lambda v: 9.9 + 1 / (exp((v - 81) / 25.6) + exp(-(v + 132) / 18))
K2Q = lambda v: 1 / (exp((v - 1329) / 200) + exp(-(v + 130) / 7.1))


def cat_hm(vsh, pp, pq):
    return {"p": lambda v: (boltz(v, -59 + vsh, 6.2),
                            (0.612 + 1 / (exp(-(v + 132 - vsh) / 16.7) + exp((v + 16.8 - vsh) / 18.2))) / pp),
            "q": lambda v: (1 / (1 + exp((v + 83 - vsh) / 4)),
                            (exp(-(v + 22 - vsh) / 10.5) + 28 if v >= -80 + vsh else exp((v + 467 - vsh) / 66.6)) / pq)}


E_CA = 120.0
CH = {
    "INa_HH1952": (hh_na(), lambda v, g: 120 * g["m"] ** 3 * g["h"] * (v - 50), 50),
    "IK_HH1952": ({"n": lambda v: markov(0.01 * lin(-(v + 55), 10), 0.125 * exp(-(v + 65) / 80))},
                  lambda v, g: 10 * g["n"] ** 4 * (v + 90), -90),
    "IL": ({}, lambda v, g: 0.1 * (v + 70), -70),
    "INa_TM1991": (tm_na(-63), lambda v, g: 120 * g["m"] ** 3 * g["h"] * (v - 50), 50),
    "IK_TM1991": (tm_k(-60), lambda v, g: 10 * g["n"] ** 4 * (v + 90), -90),
    "INa_Ba2002": ({"m": lambda v: markov(0.32 * lin(-(v + 50 - 13), 4), 0.28 * lin(v + 50 - 40, 5)),
                    "h": lambda v: markov(0.128 * exp(-(v + 50 - 17) / 18), 4 / (1 + exp(-(v + 50 - 40) / 5)))},
                   lambda v, g: 90 * g["m"] ** 3 * g["h"] * (v - 50), 50),
    "IKDR_Ba2002": ({"n": lambda v: markov(0.032 * lin(-(v + 50 - 15), 5), 0.5 * exp(-(v + 50 - 10) / 40))},
                    lambda v, g: 10 * g["n"] ** 4 * (v + 90), -90),
    "IKA1_HM1992": ({"p": lambda v: (boltz(v, -60, 8.5), KAP(v)), "q": lambda v: (1 - boltz(v, -78, 6), KAQ(v))},
                    lambda v, g: 30 * g["p"] ** 4 * g["q"] * (v + 90), -90),
    "IKA2_HM1992": ({"p": lambda v: (boltz(v, -36, 20), KAP(v)), "q": lambda v: (1 - boltz(v, -78, 6), KAQ(v))},
                    lambda v, g: 20 * g["p"] ** 4 * g["q"] * (v + 90), -90),
    "IKK2A_HM1992": ({"p": lambda v: (boltz(v, -43, 17), K2P(v)), "q": lambda v: (1 - boltz(v, -58, 10.6), K2Q(v))},
                     lambda v, g: 10 * g["p"] * g["q"] * (v + 90), -90),
    "IKK2B_HM1992": ({"p": lambda v: (boltz(v, -43, 17), K2P(v)),
                      "q": lambda v: (1 - boltz(v, -58, 10.6), K2Q(v) if v < -70 else 8.9)},
                     lambda v, g: 10 * g["p"] * g["q"] * (v + 90), -90),
    "IKNI_Ya1989": ({"p": lambda v: (boltz(v, -35, 10), 4000 / (3.3 * exp((v + 35) / 20) + exp(-(v + 35) / 20)))},
                    lambda v, g: 0.004 * g["p"] * (v + 90), -90),
    "IK_Leak": ({}, lambda v, g: 0.005 * (v + 90), -90),
    "IKL": ({}, lambda v, g: 0.005 * (v + 90), -90),
    "ICaT_HM1992": (cat_hm(-3, PHI_T(3.55, 36, 24), PHI_T(3, 36, 24)),
                    lambda v, g: 2 * g["p"] ** 2 * g["q"] * (v - E_CA), E_CA),
    "ICaHT_HM1992": (cat_hm(25, PHI_T(3.55, 36, 24), PHI_T(3, 36, 24)),
                     lambda v, g: 2 * g["p"] ** 2 * g["q"] * (v - E_CA), E_CA),
    "ICaT_HP1992": ({"p": lambda v: (boltz(v, -55, 7.4),
                                     (3 + 1 / (exp((v + 30) / 10) + exp(-(v + 105) / 15))) / PHI_T(5, 36, 24)),
                     "q": lambda v: (1 - boltz(v, -83, 5),
                                     (85 + 1 / (exp((v + 51) / 4) + exp(-(v + 410) / 50))) / PHI_T(3, 36, 24))},
                    lambda v, g: 1.75 * g["p"] ** 2 * g["q"] * (v - E_CA), E_CA),
    "ICaL_IS2008": ({"p": lambda v: (boltz(v, -10, 4),
                                     (0.4 + 0.7 / (exp(-(v + 5) / 15) + exp((v + 5) / 15))) / PHI_T(3.55, 36, 24)),
                     "q": lambda v: (1 - boltz(v, -25, 2),
                                     (300 + 100 / (exp((v + 40) / 9.5) + exp(-(v + 40) / 9.5))) / PHI_T(3, 36, 24))},
                    lambda v, g: 1 * g["p"] ** 2 * g["q"] * (v - E_CA), E_CA),
    "ICaHT_Re1993": ({"p": lambda v: markov(0.055 * lin(-27 - v, 3.8), 0.94 * exp((-75 - v) / 17), PHI_T(2.3, 36, 23)),
                      "q": lambda v: markov(0.000457 * exp((-13 - v) / 50), 0.0065 / (exp((-15 - v) / 28) + 1),
                                            PHI_T(2.3, 36, 23))},
                     lambda v, g: 1 * g["p"] ** 2 * g["q"] * (v - E_CA), E_CA),
    "Ih_HM1992": ({"p": lambda v: (1 - boltz(v, -75, 5.5), 1 / (exp(-0.086 * v - 14.59) + exp(0.0701 * v - 1.87)))},
                  lambda v, g: 10 * g["p"] * (v - 43), 43),
}
CA_CLAMP = 0.01  # mM, for the calcium-dependent channels under voltage clamp
CH["ICaN_IS2008"] = ({"p": lambda v: (boltz(v, -43, 5.2), 1.6 + 2.7 / (exp(-(v + 55) / 15) + exp((v + 55) / 15)))},
                     lambda v, g: 1 * CA_CLAMP / (CA_CLAMP + 0.2) * g["p"] * (v - 10), 10)
VOLTS = [-90.0, -70.0, -55.0, -40.0, -20.0, 0.0]
CAS = [0.001, 0.01, 0.03, 0.1]  # IAHP is clamped in Ca at V = -60 mV


def neuron_type(channel, method="exp_euler"):
    """A clamp: V, Ca and E_Ca are parameters; the calcium channels (all ICa* but ICaN) add into I_Ca."""
    feeds = channel.startswith("ICa") and channel != "ICaN_IS2008"
    return {"kind": "neuron", "equations": ["V : mV", "Ca : mM", "E_Ca : mV", "I_channels : uA/cm^2"] +
            (["I_Ca : uA/cm^2"] if feeds else []), "params": {"Ca": "%g mM" % CA_CLAMP, "E_Ca": "%g mV" % E_CA},
            "channels": {"ch": {"type": channel}}, "method": method}


# ------------------------------------------------------------------------------------------------------------
# 1. Voltage clamp of every channel

write_npy(os.path.join(work, "volts.npy"), VOLTS)
write_npy(os.path.join(work, "cas.npy"), CAS)
# exponential Euler is exact at a fixed V, so one run at dt = 0.1 ms sampled every 1 ms serves all time constants
runs = {"clamp": (0.1, 3000.0, "1 ms")}
outs = {}
for key, (dt, dur, every) in runs.items():
    model = {"bdyn": 1, "name": "clamp_" + key, "include": ["lib/channels.json"],
             "run": {"dt": "%g ms" % dt, "duration": "%g ms" % dur, "precision": "f64"},
             "types": {}, "populations": {}, "monitors": {}}
    for name, (gates, cur, E) in list(CH.items()) + [("IAHP_De1994", ({"p": None}, None, -95))]:
        model["types"]["Clamp_" + name] = neuron_type(name)
        ca = name == "IAHP_De1994"
        model["populations"][name] = {
            "type": "Clamp_" + name, "size": len(CAS if ca else VOLTS),
            "params": {"V": "-60 mV" if ca else {"file": "volts.npy"}, "Ca": {"file": "cas.npy"} if ca else "%g mM" % CA_CLAMP,
                       "E_Ca": "%g mV" % E_CA}}
        mon = {"indices": list(range(len(CAS if ca else VOLTS)))}
        if every:
            mon["every"] = every
        for gname in gates:
            model["monitors"]["%s_%s" % (name, gname)] = dict(mon, var="%s.ch__%s" % (name, gname))
        model["monitors"][name + "_I"] = dict(mon, var="%s.ch__I" % name)
    outs[key] = run(model, "clamp_" + key)


def series(key, mon):
    d = outs[key]
    return load(os.path.join(d, mon + "_t.npy")), load(os.path.join(d, mon + ".npy"))


def three_point(ts, xs):
    """x_inf and tau of x(t) = a + (x0 - a) exp(-t/tau) from the trace alone: samples at 0, h, 2h with h the
    time of half the change seen (x0 = 0, the gates' initial value)."""
    x0, xe = 0.0, xs[-1]
    i = next((k for k, x in enumerate(xs) if abs(x - x0) >= 0.5 * abs(xe - x0)), len(xs) // 2)
    i = max(1, min(i, (len(xs) - 1) // 2))
    t1, t2 = ts[i - 1], ts[2 * i - 1]  # samples are at every, 2 every, ...: t2 = 2 t1
    x1, x2 = xs[i - 1], xs[2 * i - 1]
    if abs(t2 - 2 * t1) > 1e-9:  # uneven: fall back to the last sample
        return xe, float("nan")
    r = (x2 - x1) / (x1 - x0) if x1 != x0 else 0.0
    if not 0 < r < 1:
        return xe, float("nan")
    return x0 + (x1 - x0) / (1 - r), -t1 / math.log(r)


print("\nvoltage clamp: V (mV), gate, x_inf and tau (ms) measured from the trace / reference; current I (uA/cm^2)")
fit_bad = []
for name, (gates, cur, E) in CH.items():
    worst = 0.0
    lines = []
    for gname, f in gates.items():
        ts, cols = series("clamp", "%s_%s" % (name, gname))
        for j, v in enumerate(VOLTS):
            xinf, tau = f(v)
            ref = [xinf * (1 - math.exp(-t / tau)) for t in ts]
            worst = max(worst, max(abs(a - b) for a, b in zip(cols[j], ref)))
            # steady state and time constant measured from the trace alone
            mi, mt = three_point(ts, cols[j])
            if j in (0, 2, 4):
                lines.append("  %s V %5.0f %s: x_inf %.6g / %.6g, tau %.5g / %.5g ms (measured / reference)" % (
                    name, v, gname, mi, xinf, mt, tau))
            if xinf > 1e-6 and abs(mi - xinf) > 1e-6 * xinf or abs(mt - tau) > 1e-4 * tau:
                fit_bad.append("%s %s at %g mV: %g, %g ms" % (name, gname, v, mi, mt))
    print("\n".join(lines))
    check(worst < 1e-9, "%s: gates follow x_inf + (x0 - x_inf) exp(-t/tau) of the reference kinetics at %s mV "
          "(worst %.1e)" % (name, VOLTS, worst))
    # the current: g * gates * (V - E), outward positive, reversing at E
    ts, Icols = series("clamp", name + "_I")
    gv = {g: series("clamp", "%s_%s" % (name, g))[1] for g in gates}
    err, signs = 0.0, True
    for j, v in enumerate(VOLTS):
        for k in (0, len(ts) // 3, len(ts) - 1):
            g = {gn: gv[gn][j][k] for gn in gates}
            want = cur(v, g)
            err = max(err, abs(Icols[j][k] - want) / max(1e-12, abs(want)) if abs(want) > 1e-12 else abs(Icols[j][k]))
            if abs(want) > 1e-9:
                signs &= (Icols[j][k] > 0) == (v > E)
    print("  %s: I at %s mV = %s (E = %g mV)" % (name, VOLTS, ["%.4g" % Icols[j][-1] for j in range(len(VOLTS))], E))
    check(err < 1e-9 and signs, "%s: current = g * gates * (V - E) (rel. err %.1e), outward positive, reversing at "
          "E = %g mV" % (name, err, E))

# IAHP under calcium clamp: p_inf = alpha Ca^n/(alpha Ca^n + beta), tau = 1/(alpha Ca^n + beta)
worst = 0.0
ts, cols = series("clamp", "IAHP_De1994_p")
for j, ca in enumerate(CAS):
    k = 48 * ca ** 2
    ref = [k / (k + 0.09) * (1 - math.exp(-(k + 0.09) * t)) for t in ts]
    worst = max(worst, max(abs(a - b) for a, b in zip(cols[j], ref)))
meas = [three_point(ts, cols[j]) for j in range(len(CAS))]
print("  IAHP_De1994 at Ca %s mM: p_inf %s / %s, tau %s / %s ms" % (
    CAS, ["%.5g" % m[0] for m in meas], ["%.5g" % (48 * c * c / (48 * c * c + 0.09)) for c in CAS],
    ["%.5g" % m[1] for m in meas], ["%.5g" % (1 / (48 * c * c + 0.09)) for c in CAS]))
_, Ic = series("clamp", "IAHP_De1994_I")
check(worst < 1e-9 and all(abs(Ic[j][-1] - 10 * cols[j][-1] ** 2 * 35) < 1e-9 * max(1, Ic[j][-1]) for j in range(len(CAS))),
      "IAHP_De1994: p follows the calcium-clamped kinetics (worst %.1e); I = g p^2 (V + 95) > 0 at -60 mV" % worst)

check(not fit_bad, "steady states and time constants measured from the traces alone (three equally spaced "
      "samples) agree with the reference to 1e-6 and 1e-4%s" % ("; off: " + "; ".join(fit_bad[:5]) if fit_bad else ""))

# Ih_De1996: O, OL, P1 coupled; rk4 in bdyn and here at the same dt, V and Ca clamped
IHV, IHCA, IHDT, IHDUR = [-90.0, -75.0, -60.0], [0.002, 0.004, 0.002], 0.5, 2000.0
write_npy(os.path.join(work, "ihv.npy"), IHV)
write_npy(os.path.join(work, "ihca.npy"), IHCA)
model = {"bdyn": 1, "name": "ih", "include": ["lib/channels.json"],
         "run": {"dt": "%g ms" % IHDT, "duration": "%g ms" % IHDUR, "precision": "f64"},
         "types": {"Clamp": neuron_type("Ih_De1996", "rk4")},
         "populations": {"ih": {"type": "Clamp", "size": 3, "params": {"V": {"file": "ihv.npy"}, "Ca": {"file": "ihca.npy"},
                                                                   "E_Ca": "120 mV"},
                                "init": {"ch__O": 0.0, "ch__OL": 0.0, "ch__P1": 0.0}}},
         "monitors": {k: {"var": "ih.ch__" + k, "indices": [0, 1, 2], "every": "10 ms"} for k in ("O", "OL", "P1", "I")}}
ihout = run(model, "ih")


def ih_rhs(y, v, ca):
    o, ol, p1 = y
    phi = 3 ** ((36 - 24) / 10)
    hinf = 1 / (1 + exp((v + 75) / 5.5))
    tau = (20 + 1000 / (exp((v + 71.5) / 14.2) + exp(-(v + 89) / 11.6))) / phi
    a, b = hinf / tau, (1 - hinf) / tau
    k2, k4 = 4e-4, 1e-3
    k1, k3 = k2 / 0.002 ** 4, k4 / 0.01
    return (a * (1 - o - ol) - b * o, k3 * p1 * o - k4 * ol, k1 * ca ** 4 * (1 - p1) - k2 * p1)


def rk4(f, y, dt, n, rec_every):
    rec = []
    for s in range(1, n + 1):
        k1 = f(y)
        k2 = f([a + 0.5 * dt * b for a, b in zip(y, k1)])
        k3 = f([a + 0.5 * dt * b for a, b in zip(y, k2)])
        k4 = f([a + dt * b for a, b in zip(y, k3)])
        y = [a + dt / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(y, k1, k2, k3, k4)]
        if s % rec_every == 0:
            rec.append(y)
    return rec


worst = 0.0
mons = {k: load(os.path.join(ihout, k + ".npy")) for k in ("O", "OL", "P1", "I")}
for j, (v, ca) in enumerate(zip(IHV, IHCA)):
    rec = rk4(lambda y: ih_rhs(y, v, ca), [0.0, 0.0, 0.0], IHDT, int(IHDUR / IHDT), int(10 / IHDT))
    for k, nm in enumerate(("O", "OL", "P1")):
        worst = max(worst, max(abs(a - r[k]) for a, r in zip(mons[nm][j], rec)))
    o, ol = rec[-1][0], rec[-1][1]
    worst = max(worst, abs(mons["I"][j][-1] - 0.02 * (o + 2 * ol) * (v + 40)))
    print("  Ih_De1996 V %g mV, Ca %g mM, t = %g ms: O %.6g, OL %.6g, P1 %.6g (reference %.6g, %.6g, %.6g)" % (
        v, ca, IHDUR, mons["O"][j][-1], mons["OL"][j][-1], mons["P1"][j][-1], rec[-1][0], rec[-1][1], rec[-1][2]))
check(worst < 1e-9, "Ih_De1996: O, OL, P1 and I = g (O + g_inc OL)(V - E) equal a Python rk4 of the published scheme "
      "(worst %.1e)" % worst)

# ------------------------------------------------------------------------------------------------------------
# 2. Temperature factors: INa_Ba2002 at T = 26 C has phi = 3^-1; ICaT_HM1992's p at T = 36 C has 3.55^1.2

model = {"bdyn": 1, "name": "temp", "include": ["lib/channels.json"], "run": {"dt": "0.01 ms", "duration": "20 ms",
                                                                               "precision": "f64"},
         "types": {"Clamp": neuron_type("INa_Ba2002")},
         "populations": {"T36": {"type": "Clamp", "size": 1, "params": {"V": "-40 mV"}},
                         "T26": {"type": "Clamp", "size": 1, "params": {"V": "-40 mV", "ch__T": "26"}}},
         "monitors": {"T36": {"var": "T36.ch__h", "indices": [0]}, "T26": {"var": "T26.ch__h", "indices": [0]}}}
tout = run(model, "temp")
tt = load(os.path.join(tout, "T36_t.npy"))
taus = [three_point(tt, load(os.path.join(tout, k + ".npy"))[0])[1] for k in ("T36", "T26")]
print("  INa_Ba2002 h at -40 mV: tau %.5g ms at 36 C, %.5g ms at 26 C, ratio %.6f (expected 3)" % (taus[0], taus[1],
                                                                                               taus[1] / taus[0]))
check(abs(taus[1] / taus[0] - 3) < 1e-4, "INa_Ba2002: temperature factor 3^((T - 36)/10) (tau ratio %.6f)" %
      (taus[1] / taus[0]))
ts, cols = series("clamp", "ICaT_HM1992_p")
mt = three_point(ts, cols[VOLTS.index(-40.0)])[1]
raw = 0.612 + 1 / (exp(-(-40 + 132 + 3) / 16.7) + exp((-40 + 16.8 + 3) / 18.2))
print("  ICaT_HM1992 p at -40 mV: tau %.5g ms, unscaled %.5g ms, factor %.5f (3.55^1.2 = %.5f)" % (mt, raw, raw / mt,
                                                                                                3.55 ** 1.2))
check(abs(raw / mt - 3.55 ** 1.2) < 1e-3, "ICaT_HM1992: phi_p = 3.55^((36 - 24)/10)")

# ------------------------------------------------------------------------------------------------------------
# 3. Ion pools

R_GAS, FARADAY, T_K = 8.31441, 96489.0, 36 + 273.15
nernst = lambda ca, c0=2.0: R_GAS * T_K / (2 * FARADAY) * math.log(c0 / ca) * 1e3  # mV


def pool_neuron(pool, extra=None, method="exp_euler"):
    """V clamped; the pool defines Ca and E_Ca; I_Ca sums the calcium channels (a parameter, 0, without any)."""
    ch = {"pool": {"type": pool}}
    ch.update(extra or {})
    return {"kind": "neuron", "equations": ["V : mV", "Ca : mM", "E_Ca : mV", "I_Ca : uA/cm^2", "I_channels : uA/cm^2"],
            "channels": ch, "method": method}


model = {"bdyn": 1, "name": "pools", "include": ["lib/channels.json"],
         "run": {"dt": "0.05 ms", "duration": "200 ms", "precision": "f64"},
         "types": {"P1": pool_neuron("CalciumFirstOrder"), "PD": pool_neuron("CalciumDetailed"),
                   "PF": pool_neuron("CalciumFixed"),
                   "PT": pool_neuron("CalciumDetailed", {"ICaT": {"type": "ICaT_HM1992"}}, "rk4")},
         "populations": {
             "first": {"type": "P1", "size": 1, "params": {"V": "-60 mV", "I_Ca": "0 uA/cm^2"}, "init": {"Ca": "0.01 mM"}},
             "detailed": {"type": "PD", "size": 1, "params": {"V": "-60 mV", "I_Ca": "0 uA/cm^2"}, "init": {"Ca": "0.01 mM"}},
             "fixed": {"type": "PF", "size": 1, "params": {"V": "-60 mV", "I_Ca": "0 uA/cm^2"}},
             "tpool": {"type": "PT", "size": 1, "params": {"V": "-50 mV", "pool__K_T": "1e-4 mM/ms"},
                       "init": {"Ca": "2.4e-4 mM", "ICaT__q": 0.8}}},
         "monitors": {"%s_%s" % (p, v): {"var": "%s.%s" % (p, v), "indices": [0], "every": "1 ms"}
                      for p in ("first", "detailed", "fixed", "tpool") for v in ("Ca", "E_Ca")}}
model["monitors"].update({"tpool_p": {"var": "tpool.ICaT__p", "indices": [0], "every": "1 ms"},
                          "tpool_ICa": {"var": "tpool.I_Ca", "indices": [0], "every": "1 ms"}})
pout = run(model, "pools")
mon = lambda k: load(os.path.join(pout, k + ".npy"))[0]
pt = load(os.path.join(pout, "first_Ca_t.npy"))
worst = max(abs(e - nernst(c)) for p in ("first", "detailed", "tpool") for c, e in zip(mon(p + "_Ca"), mon(p + "_E_Ca")))
print("  Nernst: E_Ca at Ca = 2.4e-4 mM: %.4f mV (fixed pool %.4f mV); along the traces worst |E - RT/2F ln(C0/Ca)| "
      "= %.1e mV" % (nernst(2.4e-4), mon("fixed_E_Ca")[-1], worst))
check(worst < 1e-9 and abs(mon("fixed_E_Ca")[-1] - 120) < 1e-12 and abs(mon("fixed_Ca")[-1] - 2.4e-4) < 1e-15,
      "pools: E_Ca by Nernst (R = 8.31441 J/(mol K), F = 96489 C/mol, 36 C, C0 = 2 mM); CalciumFixed 120 mV, 2.4e-4 mM")
ca1, cad = mon("first_Ca"), mon("detailed_Ca")
k = len(pt) // 4
tau1 = -pt[k] / math.log(ca1[k] / 0.01)
taud = -pt[k] / math.log((cad[k] - 2.4e-4) / (0.01 - 2.4e-4))
err1 = max(abs(c - 0.01 * math.exp(-0.075 * t)) for t, c in zip(pt, ca1))
errd = max(abs(c - (2.4e-4 + (0.01 - 2.4e-4) * math.exp(-t / 5))) for t, c in zip(pt, cad))
print("  decay without influx: CalciumFirstOrder tau %.6f ms (1/beta = %.6f), CalciumDetailed tau %.6f ms (5)" % (
    tau1, 1 / 0.075, taud))
check(err1 < 1e-12 and abs(tau1 - 1 / 0.075) < 1e-6, "CalciumFirstOrder: Ca0 exp(-beta t) (worst %.1e mM)" % err1)
check(errd < 1e-12 and abs(taud - 5) < 1e-6, "CalciumDetailed: C_rest + (Ca0 - C_rest) exp(-t/tau) (worst %.1e mM)" % errd)


# a clamped T-current feeding a detailed pool with the pump on: (p, q, Ca) against a Python rk4
def tpool_rhs(y, v=-50.0):
    p, q, ca = y
    g = cat_hm(-3, PHI_T(3.55, 36, 24), PHI_T(3, 36, 24))
    (pi, tp), (qi, tq) = g["p"](v), g["q"](v)
    ica = 2 * p * p * q * (v - nernst(ca))  # uA/cm^2
    # uA/cm^2 -> mol/(s cm^2) / shell depth (1 um = 1e-4 cm) -> mol/(s cm^3) -> mM/ms
    influx = max(-ica * 1e-6 / (2 * FARADAY) / 1e-4 * 1e6 / 1e3, 0.0)
    return ((pi - p) / tp, (qi - q) / tq, influx - 1e-4 * ca / (ca + 1e-4) + (2.4e-4 - ca) / 5)


rec = rk4(tpool_rhs, [0.0, 0.8, 2.4e-4], 0.05, 4000, 20)
caT, pT, iT = mon("tpool_Ca"), mon("tpool_p"), mon("tpool_ICa")
errT = max(abs(a - r[2]) / r[2] for a, r in zip(caT, rec))
errp = max(abs(a - r[0]) for a, r in zip(pT, rec))
peak = max(range(len(caT)), key=lambda i: caT[i])
print("  ICaT into CalciumDetailed at -50 mV (pump K_T 1e-4 mM/ms): Ca peaks at %.6g mM (t = %g ms; reference %.6g), "
      "I_Ca there %.4g uA/cm^2, Ca at 200 ms %.6g mM (reference %.6g)" % (caT[peak], pt[peak], rec[peak][2], iT[peak],
                                                                        caT[-1], rec[-1][2]))
check(errT < 1e-8 and errp < 1e-9 and min(iT) < 0, "CalciumDetailed fed by ICaT through I_Ca (into) and read back "
      "through E_Ca: equals a Python rk4 with the 2 F d conversion (rel. err %.1e)" % errT)

# ------------------------------------------------------------------------------------------------------------
# 4. HHcomposed against the monolithic HH type

rest = {"V": "-65 mV"}
model = {"bdyn": 1, "name": "hh_eq", "include": ["lib/channels.json", "lib/neurons.json"],
         "run": {"dt": "0.01 ms", "duration": "100 ms"},
         "populations": {
             "mono": {"type": "HH", "size": 1, "params": {"I_ext": "10 uA/cm^2"},
                      "init": dict(rest, m=0.0529, h=0.5961, n=0.3177)},
             "comp": {"type": "HHcomposed", "size": 1, "params": {"I_ext": "10 uA/cm^2"},
                      "init": dict(rest, INa__m=0.0529, INa__h=0.5961, IK__n=0.3177)}},
         "monitors": {"mono": {"spikes": "mono"}, "comp": {"spikes": "comp"}}}
hout = run(model, "hh_eq")
sm, sc = load(os.path.join(hout, "mono_t.npy")), load(os.path.join(hout, "comp_t.npy"))
d = max([abs(a - b) for a, b in zip(sm, sc)] or [float("inf")])
print("  HH spikes %s ms; HHcomposed %s ms" % (["%.2f" % x for x in sm], ["%.2f" % x for x in sc]))
check(len(sm) == len(sc) == 7 and d <= 0.05, "HHcomposed equals HH: %d spikes each, worst difference %.4f ms" %
      (len(sc), d))

# ------------------------------------------------------------------------------------------------------------
# 5. The shipped neurons built from channels and pools

for name in ("tc_rebound", "ahp_adaptation"):
    out = os.path.join(work, name)
    rc = run_bdyn(bdyn, ["run", os.path.join(models_dir, name + ".json"), "--device", "cpu", "--out", out], env=env,
                  timeout=300)[0]
    check(rc == 0, "run %s" % name)
tc = load(os.path.join(work, "tc_rebound", "spikes_t.npy"))
tc0 = load(os.path.join(work, "tc_rebound", "spikes_no_it_t.npy"))
Vtc = load(os.path.join(work, "tc_rebound", "V.npy"))[0]
vmin = min(Vtc[int(250 / 0.02):int(300 / 0.02)])
isis = [b - a for a, b in zip(tc, tc[1:])]
print("  tc_rebound: V at the end of the step %.2f mV; spikes %s ms (ISIs %s); without ICaT %d spikes" % (
    vmin, ["%.2f" % x for x in tc], ["%.2f" % x for x in isis], len(tc0)))
check(len(tc) >= 3 and all(300 < x < 400 for x in tc) and max(isis) < 15 and len(tc0) == 0 and vmin < -80,
      "TCRelay: no firing at rest or while hyperpolarized, a burst of %d spikes within 100 ms of release; none "
      "without ICaT" % len(tc))
ad = load(os.path.join(work, "ahp_adaptation", "spikes_t.npy"))
na = load(os.path.join(work, "ahp_adaptation", "spikes_no_ahp_t.npy"))
i_ad = [b - a for a, b in zip(ad, ad[1:])]
i_na = [b - a for a, b in zip(na, na[1:])]
print("  ahp_adaptation: %d spikes, ISI %.2f -> %.2f ms; without IAHP %d spikes, ISI %.2f -> %.2f ms" % (
    len(ad), i_ad[0], i_ad[-1], len(na), i_na[0], i_na[-1]))
check(i_ad[-1] > 2.5 * i_ad[0] and abs(i_na[-1] - i_na[1]) < 0.1 * i_na[1] and len(na) > 1.5 * len(ad),
      "AHPNeuron: interspike intervals grow %.1f-fold through IAHP; regular without it" % (i_ad[-1] / i_ad[0]))

# ------------------------------------------------------------------------------------------------------------
# 6. Mistakes in composing channels and pools give clear messages (bdyn check exits 2)

base = ["V : mV", "I_channels : uA/cm^2"]
bad = {
    "into_undeclared": (base + ["E_Ca : mV"], {"ICaT": {"type": "ICaT_HM1992"}},
                        "adds its current into 'I_Ca', which type 'N' does not declare as a sum"),
    "two_pools": (base + ["Ca : mM", "E_Ca : mV", "I_Ca : uA/cm^2"],
                  {"a": {"type": "CalciumDetailed"}, "b": {"type": "CalciumFirstOrder"}},
                  "'Ca' of type 'N' is defined by channel 'a' and by channel 'b'"),
    "pool_units": (base + ["Ca : mV", "E_Ca : mV", "I_Ca : uA/cm^2"], {"pool": {"type": "CalciumDetailed"}},
                   "defines 'Ca' in mM, but type 'N' declares it in mV"),
    "pool_unbound": (base + ["I_Ca : uA/cm^2"], {"pool": {"type": "CalciumDetailed"}},
                     "an ion pool has none but must define a name its neuron declares"),
    "read_missing": (base, {"IAHP": {"type": "IAHP_De1994"}}, "reads 'Ca', which the population does not define"),
}
for nm, (eqs, chans, want) in bad.items():
    path = os.path.join(work, "bad_%s.json" % nm)
    json.dump({"bdyn": 1, "name": nm, "include": ["lib/channels.json"],
               "types": {"N": {"kind": "neuron", "equations": eqs, "channels": chans}},
               "populations": {"n": {"type": "N", "size": 1, "params": {"V": "-60 mV"}}}}, open(path, "w"))
    rc, msg = run_bdyn(bdyn, ["check", path], env=env, timeout=60)
    check(rc == 2 and want in msg and re.search(r"\.json:\d+:\d+: ", msg) is not None,
          "bad composition %s: exit %d, %s" % (nm, rc, msg.splitlines()[0][:220] if msg else ""))

print()
summary(" (%.1f s)" % (time.time() - t_start))
