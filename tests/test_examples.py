#!/usr/bin/env python3
"""The example models of models/ (cann_wu2008, stdp_example, stp_example), each on cpu against an independent
expectation: the CANN's persistent bump against a pure-Python integration of the same equations (N = 128, f64)
and against the paper's stationary solution, and its tracking of a moving stimulus; STDP's weight competition
(correlated inputs win, the weights become bimodal) as statistics; STP's delivered amplitudes against the
Tsodyks-Markram recursion and the membrane potential against the sum of analytic PSP kernels.
Plain Python (no numpy): NPY files are read and written with struct."""
import cmath, json, math, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_npy, run_bdyn, summary, write_npy

bdyn, models = sys.argv[1], sys.argv[2]
out = tempfile.mkdtemp()


def run(model, name, *extra):
    d = os.path.join(out, name)
    t0 = time.time()
    rc, text = run_bdyn(bdyn, ["run", model, "--device", "cpu", "--out", d] + list(extra))
    ok = check(rc == 0, "run %s (%.1f s): %s" % (name, time.time() - t0, text[-160:]))
    return d if ok else None


def rows(path):
    shape, v = read_npy(path)
    return [v[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])]


def pop_vector(u, x):
    """Decoded bump position: the angle of sum_i u_i exp(i x_i)."""
    return cmath.phase(sum(ui * cmath.exp(1j * xi) for ui, xi in zip(u, x)))


def ring_dist(a, b):
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


# ---------------------------------------------------------------------------------------------------------------
# CANN (Wu, Hamaguchi & Amari 2008)
TAU, K, A_W, J0, A_S = 1.0, 8.1, 0.5, 4.0, 10.0


def cann_u0(n):
    """The paper's stationary bump height: u0 = J0/(4 sqrt(pi) a k) (1 + sqrt(1 - k/k_c)), k_c = rho J0^2/(8 sqrt(2 pi) a)."""
    kc = n / (2 * math.pi) * J0 ** 2 / (8 * math.sqrt(2 * math.pi) * A_W)
    return J0 / (4 * math.sqrt(math.pi) * A_W * K) * (1 + math.sqrt(1 - K / kc))


cann = os.path.join(models, "cann_wu2008.json")
xs512 = read_npy(os.path.join(models, "cann_wu2008_x.npy"))[1]
check(len(xs512) == 512 and max(abs(x - (-math.pi + 2 * math.pi * i / 512)) for i, x in enumerate(xs512)) < 1e-15,
      "cann_wu2008_x.npy holds the 512 positions -pi + 2 pi i/512")

# (a) The shipped model (N = 512, f32, 150 ms): encoding, persistence, tracking.
d = run(cann, "cann512")
if d:
    U = rows(os.path.join(d, "u.npy"))  # sample r at (r + 1) ms
    dx = 2 * math.pi / 512
    persist = [ring_dist(pop_vector(U[r], xs512), 0.0) for r in range(14, 49)]
    h = U[48][256]
    check(max(persist) < dx and all(max(U[r]) == U[r][256] for r in range(14, 49)),
          "CANN N=512: after the cue is removed (10 ms) the bump stays at x = 0 (peak neuron 256) until 49 ms; "
          "max |population vector| = %.1e rad (one neuron: %.4f rad)" % (max(persist), dx))
    check(abs(h / cann_u0(512) - 1) < 1e-4, "CANN N=512: persistent bump height %.6f, the paper's stationary solution "
          "%.6f (relative %.1e, bound 1e-4)" % (h, cann_u0(512), h / cann_u0(512) - 1))
    lag = [ring_dist(pop_vector(U[r], xs512), 0.02 * (r + 1 - 50)) for r in range(59, 150)]
    v = (pop_vector(U[149], xs512) - pop_vector(U[99], xs512)) / 50
    check(max(lag) < 2 * dx and abs(v / 0.02 - 1) < 0.01, "CANN N=512: the bump tracks the stimulus moving at 0.02 rad/ms "
          "(60-150 ms): max |decoded - z(t)| = %.4f rad (a lag; bound two neurons, %.4f), speed 100-150 ms %.5f rad/ms"
          % (max(lag), 2 * dx, v))

# (b) A copy at N = 128 in f64 against a pure-Python Euler integration of the same equations: the bump that persists
# after the cue is the same fixed point of u = J r(u) whatever the time stepping, so the profiles agree closely.
N = 128
m = json.load(open(cann))
m["populations"]["U"]["size"] = N
write_npy(os.path.join(out, "x128.npy"), [-math.pi + 2 * math.pi * i / N for i in range(N)])
m["inputs"] = {"cue": m["inputs"]["cue"]}
m["inputs"]["cue"]["params"]["x"] = {"file": os.path.join(out, "x128.npy")}
m["run"].update({"duration": "50 ms", "precision": "f64"})
m["monitors"] = {"u": {"var": "U.u", "every": "50 ms"}}
copy = os.path.join(out, "cann128.json")
json.dump(m, open(copy, "w"))
d = run(copy, "cann128")
if d:
    ub = rows(os.path.join(d, "u.npy"))[-1]
    x = [-math.pi + 2 * math.pi * i / N for i in range(N)]
    dist = [[ring_dist(x[i], x[j]) for j in range(N)] for i in range(N)]
    J = [[J0 * math.exp(-dist[i][j] ** 2 / (2 * A_W ** 2)) / (math.sqrt(2 * math.pi) * A_W) for j in range(N)] for i in range(N)]
    stim = [A_S * math.exp(-ring_dist(xi, 0.0) ** 2 / (4 * A_W ** 2)) for xi in x]
    u, dt = [0.0] * N, 0.1
    t0 = time.time()
    for s in range(500):
        u2 = [v * v for v in u]
        den = 1 + K * sum(u2)
        rec = [sum(Ji[j] * u2[j] for j in range(N)) / den for Ji in J]
        I = stim if s * dt < 10 else [0.0] * N
        u = [u[i] + dt / TAU * (-u[i] + rec[i] + I[i]) for i in range(N)]
    err = max(abs(a - b) for a, b in zip(ub, u)) / max(u)
    check(err < 1e-6, "CANN N=128 f64: bump at 50 ms against a pure-Python Euler integration (%.1f s): height %.9f vs "
          "%.9f, max |u - u_ref| / max u_ref = %.1e (bound 1e-6)" % (time.time() - t0, max(ub), max(u), err))
    check(ub.index(max(ub)) == N // 2 and ring_dist(pop_vector(ub, x), 0.0) < 2 * math.pi / N,
          "CANN N=128: the bump sits at the cue (neuron %d, decoded %.1e rad)" % (ub.index(max(ub)), pop_vector(ub, x)))
    check(abs(max(ub) / cann_u0(N) - 1) < 1e-4, "CANN N=128: height %.6f vs the paper's stationary solution %.6f"
          % (max(ub), cann_u0(N)))

# ---------------------------------------------------------------------------------------------------------------
# STDP competition (Song, Miller & Abbott 2000; Song & Abbott 2001)
d = run(os.path.join(models, "stdp_example.json"), "stdp")
if d:
    wmax = 0.035
    wc = [w / wmax for w in read_npy(os.path.join(d, "weights_CP.npy"))[1]]
    wu = [w / wmax for w in read_npy(os.path.join(d, "weights_UP.npy"))[1]]
    mc, mu = sum(wc) / len(wc), sum(wu) / len(wu)
    sc = math.sqrt(sum((w - mc) ** 2 for w in wc) / (len(wc) - 1))
    su = math.sqrt(sum((w - mu) ** 2 for w in wu) / (len(wu) - 1))
    tstat = (mc - mu) / math.sqrt(sc ** 2 / len(wc) + su ** 2 / len(wu))
    check(len(wc) == len(wu) == 100 and all(-1e-6 <= w <= 1 + 1e-6 for w in wc + wu), "STDP: 2 x 100 weights within [0, w_max]")
    check(mc > 0.7 and mu < 0.3 and tstat > 10, "STDP: the correlated group wins: mean weight C %.3f, U %.3f w_max "
          "(Welch t = %.1f; bounds C > 0.7, U < 0.3, t > 10)" % (mc, mu, tstat))
    allw = wc + wu
    outer = sum(1 for w in allw if w < 0.2 or w >= 0.8)
    middle = sum(1 for w in allw if 0.4 <= w < 0.6)
    # From uniform initial weights 40 % are in the outer fifths (sd of that count 6.9); bimodal: far more there,
    # and the middle fifth emptier than each outer fifth.
    lo, hi = sum(1 for w in allw if w < 0.2), sum(1 for w in allw if w >= 0.8)
    check(outer >= 120 and middle < min(lo, hi) / 2, "STDP: bimodal weights: %d of 200 in the outer fifths (uniform: 80 "
          "+- 7; bound 120), %d low, %d high, %d in the middle fifth" % (outer, lo, hi, middle))
    nspk = len(read_npy(os.path.join(d, "post_spikes_t.npy"))[1])
    check(60 < nspk < 3000, "STDP: the post neuron fires %d spikes in 60 s (%.1f Hz)" % (nspk, nspk / 60))

# ---------------------------------------------------------------------------------------------------------------
# STP: depression vs facilitation
d = run(os.path.join(models, "stp_example.json"), "stp")
if d:
    ts = read_npy(os.path.join(d, "pre_spikes_t.npy"))[1]
    check(ts == [50.0 * k for k in range(1, 9)], "STP: presynaptic spikes at %s ms" % ts)
    dt, tau_s, tau_m = 0.1, 5.0, 20.0
    for name, U, tf, td, w in (("dep", 0.5, 50.0, 750.0, 20.0), ("fac", 0.15, 1500.0, 200.0, 50.0)):
        # Tsodyks-Markram recursion: u facilitated before the delivery, x depleted after it.
        u, x, last, A = 0.0, 1.0, None, []
        for t in ts:
            if last is not None:
                u *= math.exp(-(t - last) / tf)
                x = 1 - (1 - x) * math.exp(-(t - last) / td)
            u += U * (1 - u)
            A.append(w * u * x)
            x -= u * x
            last = t
        # delivered amplitudes: with exponential Euler g_s = (g_{s-1} + jump) exp(-dt/tau_s)
        g = read_npy(os.path.join(d, "g_%s.npy" % name))[1]
        jumps = [g[s] * math.exp(dt / tau_s) - (g[s - 1] if s else 0.0) for s in range(len(g))]
        jumps = [j for j in jumps if j > 1e-9]
        e = max(abs(a - b) for a, b in zip(jumps, A)) / A[0] if len(jumps) == len(A) else float("inf")
        check(e < 1e-9, "STP %s: %d delivered amplitudes, ratios n-th/1st %s; Tsodyks-Markram %s (max error %.1e of the "
              "first)" % (name, len(jumps), " ".join("%.3f" % (j / jumps[0]) for j in jumps),
                          " ".join("%.3f" % (a / A[0]) for a in A), e))
        # V against the sum of continuous PSP kernels scaled by the recursion's amplitudes
        V = read_npy(os.path.join(d, "V_%s.npy" % name))[1]
        ref = [sum(a * tau_s / (tau_m - tau_s) * (math.exp(-(t - tn) / tau_m) - math.exp(-(t - tn) / tau_s))
                   for a, tn in zip(A, ts) if t >= tn) for t in ((s + 1) * dt for s in range(len(V)))]
        span = max(ref) - min(ref)
        err = max(abs(v + 65 - r) for v, r in zip(V, ref)) / span
        check(err < 0.02, "STP %s: V = -65 mV + sum of PSP kernels within %.2f %% of its range %.3f mV (bound 2 %%: the "
              "exponential Euler step)" % (name, 100 * err, span))
        if name == "dep":
            check(jumps[-1] / jumps[0] < 0.2, "STP dep: the 8th response is %.3f of the first (depression)" % (jumps[-1] / jumps[0]))
        else:
            check(jumps[1] / jumps[0] > 1.5 and jumps[2] > jumps[1], "STP fac: 2nd/1st %.3f, 3rd/1st %.3f (facilitation)"
                  % (jumps[1] / jumps[0], jumps[2] / jumps[0]))

summary()
