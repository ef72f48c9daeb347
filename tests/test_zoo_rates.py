#!/usr/bin/env python3
"""The rate and population types of models/lib/rates.json, each run through `bdyn run` on cpu (f64) and compared
with an expectation computed here independently: fixed points solved by bisection (WilsonCowan, QIF mean field,
FHNPopulation), the analytic linear solve (ThresholdLinear), the limit cycle radius sqrt(a) and angular frequency omega
(StuartLandau), the phase advance (omega + input) * t (Kuramoto), the alpha-band spectral peak of y1 - y2 by a
plain DFT (JansenRit), the stationary variance of the OU noise (FHNPopulation), and trajectories against Runge-Kutta
integrations written here (StuartLandau, WilsonCowan, FHNPopulation period, FeedbackFHN through `bdyn integrate`).
Plain Python (no numpy): NPY files are read and written with struct.
Usage: test_zoo_rates.py BDYN MODELS_DIR"""
import json, math, os, shutil, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_monitor, read_values, run_bdyn, run_model as run_bdyn_model, summary, write_npy

bdyn, models_dir = sys.argv[1], sys.argv[2]
env = dict(os.environ, BDYN_MODEL_PATH=models_dir)
out = tempfile.mkdtemp(prefix="zoo_rates_")


def per_element(name, values):
    return {"file": write_npy(os.path.join(out, name + ".npy"), values)}


def run_model(name, dt, duration, populations, monitors, inputs=None):
    """Runs a model of rates.json types on cpu in f64; returns monitor name -> (t, [series per index]) or None."""
    model = {"bdyn": 1, "name": name, "include": ["lib/rates.json"],
             "run": {"dt": dt, "duration": duration, "precision": "f64", "seed": 3},
             "populations": populations, "monitors": monitors}
    if inputs:
        model["inputs"] = inputs
    d = os.path.join(out, name)
    rc, text = run_bdyn_model(bdyn, model, os.path.join(out, name + ".json"), d, env=env, timeout=300)
    if not check(rc == 0, "run %s: %s" % (name, text.splitlines()[-1][:200])):
        return None
    res = {}
    for mon in json.load(open(os.path.join(d, "manifest.json")))["monitors"]:
        res[mon["name"]] = read_monitor(os.path.join(d, mon["files"]["values"]), os.path.join(d, mon["files"]["t"]))
    return res


def bisect(f, lo, hi, iters=200):
    flo = f(lo)
    if flo == 0:
        return lo
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if fm == 0:
            return mid
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def roots(f, grid):
    """All sign changes of f on the grid, refined by bisection."""
    found, prev = [], f(grid[0])
    for a, b in zip(grid, grid[1:]):
        fb = f(b)
        if prev == 0 or prev * fb < 0:
            found.append(bisect(f, a, b))
        prev = fb
    return found


def rk4(f, y, dt, steps, every=1):
    """Classical RK4 on a list state; returns the states after every `every` steps."""
    trace = []
    for k in range(steps):
        k1 = f(y)
        k2 = f([a + 0.5 * dt * b for a, b in zip(y, k1)])
        k3 = f([a + 0.5 * dt * b for a, b in zip(y, k2)])
        k4 = f([a + dt * b for a, b in zip(y, k3)])
        y = [a + dt / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(y, k1, k2, k3, k4)]
        if (k + 1) % every == 0:
            trace.append(y)
    return trace


def sig(x):
    return 1 / (1 + math.exp(-x))


def up_crossings(t, x, level):
    return [t[k] + (level - x[k]) / (x[k + 1] - x[k]) * (t[k + 1] - t[k])
            for k in range(len(x) - 1) if x[k] < level <= x[k + 1]]


lib = json.load(open(os.path.join(models_dir, "lib", "rates.json")))["types"]

# ---- WilsonCowan: fixed points from the nullclines, trajectory against RK4 ------------------------------------
WC = dict(aE=1.2, thE=2.8, aI=1.0, thI=4.0, wEE=12.0, wIE=4.0, wEI=13.0, wII=11.0, r=1.0)


def wc_rhs(extE):
    def FE(u):
        return sig(WC["aE"] * (u - WC["thE"])) - sig(-WC["aE"] * WC["thE"])

    def FI(u):
        return sig(WC["aI"] * (u - WC["thI"])) - sig(-WC["aI"] * WC["thI"])

    def f(y):
        E, I = y
        return [-E + (1 - WC["r"] * E) * FE(WC["wEE"] * E - WC["wIE"] * I + extE),
                -I + (1 - WC["r"] * I) * FI(WC["wEI"] * E - WC["wII"] * I)]
    return f


def wc_fixed_points(extE):
    """For each E, I solves its own equation uniquely (left side decreasing in I); the roots of the E equation
    along that curve are the fixed points; stability from the Jacobian (finite differences)."""
    f = wc_rhs(extE)

    def I_of(E):
        return bisect(lambda I: f([E, I])[1], -0.5, 1.0)

    fps = []
    for E in roots(lambda E: f([E, I_of(E)])[0], [-0.1 + 1.099 * k / 4000 for k in range(4001)]):
        I, h = I_of(E), 1e-7
        f0, fe, fi = f([E, I]), f([E + h, I]), f([E, I + h])
        a, b, c, d = (fe[0] - f0[0]) / h, (fi[0] - f0[0]) / h, (fe[1] - f0[1]) / h, (fi[1] - f0[1]) / h
        fps.append((E, I, a + d < 0 and a * d - b * c > 0))
    return fps


wc_ext, wc_init = [0.0, 0.0, 1.0], [(0.1, 0.0), (0.3, 0.1), (0.0, 0.0)]
res = run_model("wc", "0.1 ms", "60 ms",
                {"P": {"type": "WilsonCowan", "size": 3, "params": {"ext_E": per_element("wc_ext", wc_ext)},
                       "init": {"E": per_element("wc_E0", [e for e, _ in wc_init]),
                                "I": per_element("wc_I0", [i for _, i in wc_init])}}},
                {"E": {"var": "P.E"}, "I": {"var": "P.I"}})
if res:
    t, E = res["E"]
    I = res["I"][1]
    for k, (ext, (e0, i0)) in enumerate(zip(wc_ext, wc_init)):
        fps = wc_fixed_points(ext)
        stable = [(e, i) for e, i, s in fps if s]
        near = min(stable, key=lambda p: abs(p[0] - E[k][-1]) + abs(p[1] - I[k][-1]))
        err = max(abs(near[0] - E[k][-1]), abs(near[1] - I[k][-1]))
        check(err < 1e-9, "WilsonCowan ext_E=%g from (%g, %g): fixed points %s; late state (%.6f, %.6f) at the stable "
              "one (%.6f, %.6f), error %.1e" % (ext, e0, i0, ["(%.4f, %.4f)%s" % (e, i, "" if s else " unstable")
                                                              for e, i, s in fps], E[k][-1], I[k][-1], near[0], near[1], err))
    check(E[0][-1] < 1e-9 and E[1][-1] > 0.4, "WilsonCowan bistable at ext_E = 0: from E = 0.1 to rest (%.2e), from "
          "E = 0.3 to the active state (%.4f)" % (E[0][-1], E[1][-1]))
    ref = rk4(wc_rhs(0.0), [0.3, 0.1], 0.1, 600)
    err = max(max(abs(a[0] - b), abs(a[1] - c)) for a, b, c in zip(ref, E[1], I[1]))
    check(err < 1e-10, "WilsonCowan trajectory from (0.3, 0.1) equals an independent RK4 at dt 0.1 ms over 60 ms "
          "(max difference %.1e)" % err)

# ---- StuartLandau: radius sqrt(a), angular frequency omega, decay for a < 0, RK4 trajectory -------------------
sl_a, sl_w = [0.25, 1.0, -0.1], [0.2, 0.05, 0.2]
res = run_model("sl", "0.1 ms", "300 ms",
                {"S": {"type": "StuartLandau", "size": 3, "params": {"a": per_element("sl_a", sl_a),
                                                                     "omega": per_element("sl_w", sl_w)},
                       "init": {"x": 0.1}}},
                {"x": {"var": "S.x"}, "y": {"var": "S.y"}})
if res:
    t, X = res["x"]
    Y = res["y"][1]
    for k in range(2):
        radius = [math.hypot(x, y) for x, y in zip(X[k][-1000:], Y[k][-1000:])]
        rerr = max(abs(r - math.sqrt(sl_a[k])) for r in radius)
        ph = [math.atan2(y, x) for x, y in zip(X[k][-1000:], Y[k][-1000:])]
        turn = sum((b - a + math.pi) % (2 * math.pi) - math.pi for a, b in zip(ph, ph[1:]))
        w = turn / (t[-1] - t[-1000])
        # rk4's error at dt 0.1 ms shifts the discrete cycle by about 1e-8 at a = 1
        check(rerr < 1e-7 and abs(w - sl_w[k]) < 1e-9, "StuartLandau a=%g omega=%g/ms: radius over the last 100 ms "
              "%.9f (sqrt(a) = %.9f, max error %.1e), angular frequency %.9f /ms" %
              (sl_a[k], sl_w[k], radius[-1], math.sqrt(sl_a[k]), rerr, w))
    check(math.hypot(X[2][-1], Y[2][-1]) < 1e-10, "StuartLandau a=-0.1: the focus at the origin attracts (|z| = %.1e "
          "at 300 ms; exp(-0.1*300)*0.1 = %.1e)" % (math.hypot(X[2][-1], Y[2][-1]), 0.1 * math.exp(-30)))

    def sl_rhs(y):
        q = 0.25 - y[0] ** 2 - y[1] ** 2
        return [q * y[0] - 0.2 * y[1], q * y[1] + 0.2 * y[0]]
    ref = rk4(sl_rhs, [0.1, 0.0], 0.1, 500)
    err = max(max(abs(a[0] - b), abs(a[1] - c)) for a, b, c in zip(ref, X[0], Y[0]))
    check(err < 1e-10, "StuartLandau trajectory from (0.1, 0) equals an independent RK4 at dt 0.1 ms over 50 ms "
          "(max difference %.1e)" % err)

# ---- QIF mean field: both stable fixed points of the bistable default, and with an input --------------------
def qif_fixed_points(eta, delta=1.0, J=15.0):
    """R = tau*r solves Delta^2/(4 pi^2 R^2) + eta + J R - pi^2 R^2 = 0, v = -Delta/(2 pi R); stable where both
    eigenvalues 2v +- sqrt(2R(J - 2 pi^2 R)) of the Jacobian have negative real part."""
    F = lambda R: delta ** 2 / (4 * math.pi ** 2 * R * R) + eta + J * R - math.pi ** 2 * R * R
    fps = []
    for R in roots(F, [1e-4 * 1.01 ** k for k in range(1400)]):
        v, disc = -delta / (2 * math.pi * R), 2 * R * (J - 2 * math.pi ** 2 * R)
        fps.append((R, v, 2 * v + (math.sqrt(disc) if disc > 0 else 0) < 0))
    return fps


res = run_model("qif", "0.01 ms", "150 ms",
                {"Q": {"type": "QIF", "size": 2, "init": {"r": per_element("q_r0", [10.0, 1000.0]),
                                                          "v": per_element("q_v0", [-2.0, -0.2])}},
                 "Qin": {"type": "QIF", "size": 1, "init": {"r": 10.0, "v": -2.0}}},
                {"r": {"var": "Q.r"}, "v": {"var": "Q.v"}, "rin": {"var": "Qin.r"}, "vin": {"var": "Qin.v"}},
                {"step": {"constant": "3", "into": "Qin"}})
if res:
    fps = qif_fixed_points(-5.0)
    stable = [(R, v) for R, v, s in fps if s]
    check(len(fps) == 3 and len(stable) == 2, "QIF eta=-5, Delta=1, J=15, tau=1 ms: fixed points tau*r* = %s (two "
          "stable: bistable, as in Montbrio et al. 2015 Fig. 1)" % ["%.5f%s" % (R, "" if s else " saddle") for R, _, s in fps])
    for k in range(2):
        r, v = res["r"][1][k][-1], res["v"][1][k][-1]
        R, vs = stable[k]
        err = max(abs(r / 1000 - R) / R, abs(v - vs))
        check(err < 1e-9, "QIF from r=%g Hz: late state r = %.6f Hz, v = %.6f; analytic r* = %.6f Hz, v* = %.6f "
              "(error %.1e)" % ([10, 1000][k], r, v, 1000 * R, vs, err))
    fps = qif_fixed_points(-2.0)
    r, v = res["rin"][1][0][-1], res["vin"][1][0][-1]
    R, vs = min([(R, v) for R, v, s in fps if s], key=lambda p: abs(1000 * p[0] - r))
    err = max(abs(r / 1000 - R) / R, abs(v - vs))
    check(err < 1e-9, "QIF with a constant input I_v = 3 (eta + I = -2): r = %.6f Hz, v = %.6f; analytic %.6f Hz, "
          "%.6f (error %.1e)" % (r, v, 1000 * R, vs, err))

# ---- ThresholdLinear: the linear steady state and the rectified one -------------------------------------------
TL = dict(bE=0.066, bI=0.351, wEE=24.3, wEI=19.7, wIE=12.2, wII=12.5)


def tl_steady(extE, extI):
    """Active E and I: (1 - beta W) r = beta ext (Cramer); E silent: r_E = 0, r_I = beta_I ext_I/(1 + beta_I w_II)."""
    a, b = 1 - TL["bE"] * TL["wEE"], TL["bE"] * TL["wEI"]
    c, d = -TL["bI"] * TL["wIE"], 1 + TL["bI"] * TL["wII"]
    e, f = TL["bE"] * extE, TL["bI"] * extI
    det = a * d - b * c
    rE, rI = (e * d - b * f) / det, (a * f - c * e) / det
    if rE > 0 and TL["wIE"] * rE - TL["wII"] * rI + extI > 0:
        return rE, rI
    rI = TL["bI"] * extI / (1 + TL["bI"] * TL["wII"])
    assert -TL["wEI"] * rI + extE <= 0
    return 0.0, rI


tl_cases = [(50.0, 20.0), (0.0, 30.0)]
res = run_model("tl", "0.1 ms", "1000 ms",
                {"T": {"type": "ThresholdLinear", "size": 2,
                       "params": {"ext_E": per_element("tl_e", [c[0] for c in tl_cases]),
                                  "ext_I": per_element("tl_i", [c[1] for c in tl_cases])}},
                 "Tin": {"type": "ThresholdLinear", "size": 1, "params": {"ext_I": "20 pA"}}},
                {"rE": {"var": "T.r_E"}, "rI": {"var": "T.r_I"}, "inE": {"var": "Tin.r_E"}, "inI": {"var": "Tin.r_I"}},
                {"drive": {"constant": "50 pA", "into": "Tin"}})
if res:
    for k, (eE, eI) in enumerate(tl_cases):
        want = tl_steady(eE, eI)
        got = (res["rE"][1][k][-1], res["rI"][1][k][-1])
        err = max(abs(a - b) for a, b in zip(got, want))
        check(err < 1e-9, "ThresholdLinear ext = (%g, %g) pA: steady rates (%.6f, %.6f) Hz, analytic (%.6f, %.6f) Hz "
              "(error %.1e)" % (eE, eI, got[0], got[1], want[0], want[1], err))
    got = (res["inE"][1][0][-1], res["inI"][1][0][-1])
    want = tl_steady(50.0, 20.0)
    err = max(abs(a - b) for a, b in zip(got, want))
    check(err < 1e-9, "ThresholdLinear with a constant input of 50 pA into I_E: (%.6f, %.6f) Hz, analytic (%.6f, %.6f) "
          "(error %.1e)" % (got[0], got[1], want[0], want[1], err))

# ---- JansenRit: spectral peak of y1 - y2 in the alpha band ---------------------------------------------------
jr_p = [220.0, 300.0]
res = run_model("jr", "0.1 ms", "3000 ms",
                {"J": {"type": "JansenRit", "size": 2, "params": {"p": per_element("jr_p", jr_p)}}},
                {"y1": {"var": "J.y1", "every": "1 ms"}, "y2": {"var": "J.y2", "every": "1 ms"}})
if res:
    for k, p in enumerate(jr_p):
        s = [a - b for a, b in zip(res["y1"][1][k][1000:], res["y2"][1][k][1000:])]  # the last 2 s, 1 kHz
        mean = sum(s) / len(s)
        s = [x - mean for x in s]
        best = (0, -1)
        for q in range(4, 161):  # 1 .. 40 Hz in steps of 0.25 Hz
            f = q / 4
            w = 2 * math.pi * f / 1000
            re_ = sum(x * math.cos(w * n) for n, x in enumerate(s))
            im_ = sum(x * math.sin(w * n) for n, x in enumerate(s))
            if re_ * re_ + im_ * im_ > best[1]:
                best = (f, re_ * re_ + im_ * im_)
        check(8 <= best[0] <= 12 and max(s) - min(s) > 1, "JansenRit p = %g Hz: spectral peak of y1 - y2 at %.2f Hz "
              "(alpha band 8-12 Hz), peak-to-peak %.2f mV" % (p, best[0], max(s) - min(s)))

# ---- FHNPopulation: stable fixed point, limit cycle period against RK4, OU noise statistics ----------------------------
def fhn_rhs(ext, al=3.0, be=4.0, ga=-1.5, de=0.0, ep=0.5, tau=20.0):
    return lambda y: [-al * y[0] ** 3 + be * y[0] ** 2 + ga * y[0] - y[1] + ext, (y[0] - de - ep * y[1]) / tau]


def fhn_fixed_point(ext):
    x = bisect(lambda x: -3 * x ** 3 + 4 * x ** 2 - 1.5 * x - x / 0.5 + ext, -5, 5)
    a = -9 * x * x + 8 * x - 1.5
    return x, x / 0.5, a - 0.5 / 20 < 0  # trace of the Jacobian (its determinant is positive here)


fhn_ext = [0.4, 1.0]
res = run_model("fhn", "0.05 ms", "600 ms",
                {"F": {"type": "FHNPopulation", "size": 2, "params": {"ext_x": per_element("fhn_ext", fhn_ext)}},
                 "N": {"type": "FHNPopulation", "size": 2000, "params": {"x_ou_sigma": "0.1 1/ms", "y_ou_sigma": "0.05 1/ms"}}},
                {"x": {"var": "F.x"}, "y": {"var": "F.y"}, "ou": {"var": "N.x_ou", "every": "50 ms"},
                 "nx": {"var": "N.x", "every": "50 ms"}, "yo": {"var": "N.y_ou", "every": "50 ms"}})
if res:
    t, X = res["x"]
    Y = res["y"][1]
    x, y, stable = fhn_fixed_point(0.4)
    err = max(abs(X[0][-1] - x), abs(Y[0][-1] - y))
    check(stable and err < 1e-9, "FHNPopulation ext_x = 0.4/ms: stable fixed point (%.6f, %.6f), late state (%.6f, %.6f), "
          "error %.1e" % (x, y, X[0][-1], Y[0][-1], err))
    x, y, stable = fhn_fixed_point(1.0)
    ups = up_crossings(t, X[1], 0.5)[-6:]
    period = (ups[-1] - ups[0]) / (len(ups) - 1) if len(ups) > 2 else 0
    ref = rk4(fhn_rhs(1.0), [0.0, 0.0], 0.01, 60000, every=5)
    rups = up_crossings([0.05 * (k + 1) for k in range(len(ref))], [s[0] for s in ref], 0.5)[-6:]
    rperiod = (rups[-1] - rups[0]) / (len(rups) - 1)
    amp = max(X[1][-4000:]) - min(X[1][-4000:])
    check(not stable and amp > 0.5 and abs(period - rperiod) < 2e-3 * rperiod,
          "FHNPopulation ext_x = 1/ms: unstable fixed point (%.4f, %.4f), limit cycle of amplitude %.3f and period %.4f ms "
          "(heun, dt 0.05 ms) vs %.4f ms by an independent RK4 at dt 0.01 ms" % (x, y, amp, period, rperiod))
    ou = [v for col in res["ou"][1] for v in col[2:]]  # t = 150 .. 600 ms, samples 50 ms = 10 tau apart
    n = len(ou)
    mean = sum(ou) / n
    var = sum((v - mean) ** 2 for v in ou) / (n - 1)
    want = 0.1 ** 2 * 5 / 2  # sigma^2 tau / 2
    check(abs(mean) < 4 * math.sqrt(want / n) and abs(var - want) < 4 * want * math.sqrt(2 / n),
          "FHNPopulation OU input x_ou (sigma 0.1, tau 5 ms), %d samples: mean %.5f (0 +- %.5f), variance %.6f (sigma^2 tau/2 = "
          "%.6f +- %.6f)" % (n, mean, 4 * math.sqrt(want / n), var, want, 4 * want * math.sqrt(2 / n)))
    yo = [v for col in res["yo"][1] for v in col[2:]]
    vy = sum(v * v for v in yo) / len(yo)
    check(abs(vy - 0.05 ** 2 * 2.5) < 4 * 0.05 ** 2 * 2.5 * math.sqrt(2 / len(yo)), "FHNPopulation OU input y_ou (sigma 0.05): "
          "variance %.6f (%.6f); independent of x_ou" % (vy, 0.05 ** 2 * 2.5))
    nx = [col[-1] for col in res["nx"][1]]
    sd = math.sqrt(sum((v - sum(nx) / len(nx)) ** 2 for v in nx) / len(nx))
    check(sd > 0.01, "FHNPopulation with noise: x spreads over the 2000 elements (standard deviation %.4f at 600 ms)" % sd)

# ---- Kuramoto: the phase advances at omega + input -------------------------------------------------------------
k_w = [0.01, 0.2]
res = run_model("kur", "0.1 ms", "100 ms",
                {"K": {"type": "Kuramoto", "size": 1, "init": {"theta": 0.5}},
                 "Kin": {"type": "Kuramoto", "size": 2, "params": {"omega": per_element("k_w", k_w)}}},
                {"th": {"var": "K.theta"}, "thin": {"var": "Kin.theta"}},
                {"c": {"constant": "0.005 1/ms", "into": "Kin"}})
if res:
    t, th = res["th"]
    w = 2 * math.pi * 10 / 1000
    err = max(abs(v - (0.5 + w * s)) for s, v in zip(t, th[0]))
    check(err < 1e-8, "Kuramoto default omega (2 pi 10 Hz = %.7f /ms): theta(100 ms) = %.7f, 0.5 + omega t = %.7f "
          "(max error %.1e)" % (w, th[0][-1], 0.5 + w * 100, err))
    for k, wk in enumerate(k_w):
        v = res["thin"][1][k]
        err = max(abs(a - (wk + 0.005) * s) for s, a in zip(t, v))
        check(err < 1e-9, "Kuramoto omega %g/ms with a constant input 0.005/ms into I_coupling: theta(100 ms) = %.7f "
              "= (omega + input) t = %.7f (max error %.1e)" % (wk, v[-1], (wk + 0.005) * 100, err))

# ---- FeedbackFHN: bdyn integrate against a method-of-steps RK4, and the fixed point -----------------------------
ft = lib["FeedbackFHN"]
params = dict(ft["params"])
params["I_x"] = "0 1/ms"
system = {"name": "feedback_fhn", "equations": ft["equations"], "parameters": params, "init": {"x": -1.0, "y": 0.5},
          "integrate": {"method": "rk4", "dt": "0.05 ms", "duration": "600 ms", "record_every": "0.5 ms"}}
spath = os.path.join(out, "feedback_fhn.json")
json.dump(system, open(spath, "w"), indent=1)
d = os.path.join(out, "feedback_fhn")
rc, text = run_bdyn(bdyn, ["integrate", spath, "--device", "cpu", "--out", d], env=env)
if check(rc == 0, "bdyn integrate FeedbackFHN's equations: %s" % text[-160:]):
    X, Y = read_values(os.path.join(d, "x.npy")), read_values(os.path.join(d, "y.npy"))
    a, b, tau, mu, x0, delay, dt = 0.7, 0.8, 12.5, 1.6886, -1.0, 10.0, 0.05
    hist = [-1.0]  # x at the steps; constant initial history

    def past(ts):
        u = (ts - delay) / dt
        if u <= 0:
            return hist[0]
        i = int(math.floor(u))
        return hist[i] + (u - i) * (hist[i + 1] - hist[i]) if i + 1 < len(hist) else hist[i]

    def frhs(s, ts):
        return [s[0] - s[0] ** 3 / 3 - s[1] + mu * (past(ts) - x0), (s[0] + a - b * s[1]) / tau]
    s, err = [-1.0, 0.5], 0.0
    for k in range(12000):
        tk = k * dt
        k1 = frhs(s, tk)
        k2 = frhs([u + dt / 2 * v for u, v in zip(s, k1)], tk + dt / 2)
        k3 = frhs([u + dt / 2 * v for u, v in zip(s, k2)], tk + dt / 2)
        k4 = frhs([u + dt * v for u, v in zip(s, k3)], tk + dt)
        s = [u + dt / 6 * (p1 + 2 * p2 + 2 * p3 + p4) for u, p1, p2, p3, p4 in zip(s, k1, k2, k3, k4)]
        hist.append(s[0])
        if (k + 1) % 10 == 0:
            r = (k + 1) // 10
            err = max(err, abs(s[0] - X[r]), abs(s[1] - Y[r]))
    check(err < 1e-9, "FeedbackFHN (delay 10 ms) by bdyn integrate rk4 equals a method-of-steps RK4 written here, "
          "600 ms at dt 0.05 ms (max difference %.1e)" % err)
    g = lambda x: x - x ** 3 / 3 - (x + a) / b + mu * (x - x0)
    fps = roots(g, [-4 + k / 1000 for k in range(8001)])
    xs = min(fps, key=lambda x: abs(x - X[-1]))
    err = max(abs(X[-1] - xs), abs(Y[-1] - (xs + a) / b))
    # the approach is a slowly damped oscillation: about 2e-5 left at 600 ms
    check(err < 1e-4, "FeedbackFHN settles on a fixed point of x - x^3/3 - y + mu (x - x0) = 0, x + a = b y "
          "(roots x* = %s): late state %.6f, %.6f vs %.6f, %.6f (error %.1e)" %
          (["%.4f" % x for x in fps], X[-1], Y[-1], xs, (xs + a) / b, err))
# In a network: run it if the runner takes delayed terms, otherwise a clean refusal (never a crash).
mpath = os.path.join(out, "ffhn_net.json")
json.dump({"bdyn": 1, "name": "ffhn_net", "include": ["lib/rates.json"],
           "run": {"dt": "0.05 ms", "duration": "600 ms", "precision": "f64"},
           "populations": {"F": {"type": "FeedbackFHN", "size": 1, "init": {"x": -1.0, "y": 0.5}}},
           "monitors": {"x": {"var": "F.x", "every": "0.5 ms"}}}, open(mpath, "w"))
rc, msg = run_bdyn(bdyn, ["run", mpath, "--device", "cpu", "--out", os.path.join(out, "ffhn_net")], env=env)
if rc == 0:
    xr = read_values(os.path.join(out, "ffhn_net", "x.npy"))
    err = max(abs(u - v) for u, v in zip(xr, X[1:])) if rc == 0 else 1
    check(err < 1e-6, "FeedbackFHN runs in a network; x equals bdyn integrate's (max difference %.1e)" % err)
else:
    check(rc in (1, 2) and "delay" in msg, "FeedbackFHN in a network: the runner refuses delayed terms "
          "cleanly (exit %d: %s)" % (rc, msg.splitlines()[-1][:200] if msg else ""))

shutil.rmtree(out, ignore_errors=True)
summary()
