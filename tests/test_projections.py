#!/usr/bin/env python3
"""Projection kinds beyond plain events, each against an independent computation written here:
gap junctions (diffusive coupling) against an exponential-Euler integration of two coupled LIFs; STP and
STD jumps against the Tsodyks-Markram recursion; the STDP window against its exponentials; align-pre
NMDA: the post side receives w * sum of the presynaptic g. Every model also runs on every other device
and must match cpu. Plain Python (no numpy)."""
import math, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, devices, run_bdyn, summary
from bdtest import read_values as npy

bdyn, src = sys.argv[1], sys.argv[2]
models = os.path.join(src, "tests", "models", "proj")
out = tempfile.mkdtemp()


def run(model, device="cpu"):
    d = os.path.join(out, model + "_" + device.replace(":", ""))
    rc, text = run_bdyn(bdyn, ["run", os.path.join(models, model + ".json"), "--device", device, "--out", d])
    if rc:
        print(text)
    return d


# gap junctions: tau dV/dt = V_rest - V + I_ext + g (V_j - V), coupling from the step-start state
d = run("gap")
V = npy(d + "/V.npy")
tau, Vr, dt, g, I = 10.0, -65.0, 0.1, 0.5, [0.0, 12.0]
v, err = [-65.0, -65.0], 0.0
for s in range(500):
    c = [g * (v[1] - v[0]), g * (v[0] - v[1])]
    v = [Vr + I[i] + c[i] + (v[i] - Vr - I[i] - c[i]) * math.exp(-dt / tau) for i in range(2)]
    err = max(err, abs(v[0] - V[2 * s]), abs(v[1] - V[2 * s + 1]))
check(err < 1e-9, "gap junction: max |V - independent| = %.2e mV (bound 1e-9)" % err)

# STP / STD: each jump of the never-decaying g is the delivered u*x (x for STD)
d = run("stp")
ts = npy(d + "/sp_t.npy")
for name, mon in (("STP", "g"), ("STD", "d")):
    gs = npy(d + "/%s.npy" % mon)
    jumps = [b - a for a, b in zip([0.0] + gs[:-1], gs) if b - a > 1e-12]
    ref, u, x, last = [], 0.0, 1.0, None
    for t in ts:
        if last is not None:
            h = t - last
            if name == "STP":
                u *= math.exp(-h / 200.0)
                x = 1 - (1 - x) * math.exp(-h / 100.0)
            else:
                x = 1 - (1 - x) * math.exp(-h / 150.0)
        if name == "STP":
            u = u + 0.2 * (1 - u)
            ref.append(u * x)
            x -= u * x
        else:
            ref.append(x)
            x -= 0.3 * x
        last = t
    n = min(len(jumps), len(ref))
    e = max(abs(a - b) for a, b in zip(jumps[:n], ref[:n]))
    check(n >= 10 and e < 1e-9, "%s: %d jumps, max |jump - recursion| = %.2e; ratio last/first %.3f (recursion %.3f)"
          % (name, n, e, jumps[n - 1] / jumps[0], ref[n - 1] / ref[0]))
check(ref[-1] / ref[0] < 1, "STD depresses")

# STDP window: pre at 50 ms, post at t_q; dw = A1 exp(-delta/tau_s) (delta > 0), -A2 exp(delta/tau_t) (delta < 0)
d = run("stdp")
w = npy(d + "/weights_PQ.npy")
worst = 0.0
for tq, wi in zip([30, 40, 45, 49, 51, 55, 60, 70], w):
    delta = tq - 50.0
    ref = 0.01 * math.exp(-delta / 16.8) if delta > 0 else -0.0105 * math.exp(delta / 33.7)
    worst = max(worst, abs((wi - 0.5) - ref) / abs(ref))
    print("  delta %+5.1f ms: dw %+.6f (exponential %+.6f)" % (delta, wi - 0.5, ref))
check(worst < 0.02, "STDP window: sign and shape, worst relative error %.4f (bound 0.02: timing to one step)" % worst)

# align-pre NMDA: post's PQ__g_sum at step s = 0.25 * sum_j g_j at the end of step s - 1
d = run("nmda")
gp, gs = npy(d + "/gpre.npy"), npy(d + "/gpost.npy")
e = max(abs(gs[2 * s] - 0.25 * sum(gp[3 * (s - 1):3 * s])) for s in range(1, 1000))
check(e < 1e-12 and max(gp) < 1 and max(gp) > 0.1, "align-pre NMDA: |g_post - w sum g_pre| = %.2e, peak g %.3f" % (e, max(gp)))

# align-pre receptor kinetics after one spike. AMPA/GABAa are linear in g for a given transmitter, so each
# step is the exact exponential relaxation (transmitter on while the countdown Tl > 0 at the step's start);
# NMDA and BioNMDA against RK4 at dt/100 written here (with the same transmitter steps for BioNMDA).
d = run("kinetics")
ts = npy(d + "/sp_t.npy")
dt = 0.1
for name, g_f, t_f, alpha, beta, Tc in (("AMPA", "ga", "ta", 0.98, 0.18, 0.5), ("GABAa", "gg", "tg", 0.53, 0.18, 1.0)):
    g, tl = npy(d + "/%s.npy" % g_f), npy(d + "/%s.npy" % t_f)
    x, e = 0.0, 0.0
    for s in range(1, len(g)):
        on = tl[s - 1] > 0
        k = alpha * Tc * on + beta
        inf = alpha * Tc * on / k
        x = inf + (x - inf) * math.exp(-k * dt) if s > 0 else x
        e = max(e, abs(x - g[s]))
    check(len(ts) == 1 and e < 1e-12 and max(g) > 0.05, "%s: peak g %.4f, max |g - exact relaxation| = %.1e" % (name, max(g), e))


def rk4(f, y, h, n):
    for _ in range(n):
        k1 = f(y)
        k2 = f([a + h / 2 * b for a, b in zip(y, k1)])
        k3 = f([a + h / 2 * b for a, b in zip(y, k2)])
        k4 = f([a + h * b for a, b in zip(y, k3)])
        y = [a + h / 6 * (b + 2 * c + 2 * dd + ee) for a, b, c, dd, ee in zip(y, k1, k2, k3, k4)]
    return y


def kinetic_errors(d, dt):
    """Max |g - RK4| of NMDA and BioNMDA (RK4 at dt/20, the same spike step and transmitter steps)."""
    gn, gb, tb = npy(d + "/gn.npy"), npy(d + "/gb.npy"), npy(d + "/tb.npy")
    spike_step = round(npy(d + "/sp_t.npy")[0] / dt) - 1
    y, z, en, eb = [0.0, 0.0], [0.0, 0.0], 0.0, 0.0
    for s in range(len(gn)):
        if s == spike_step + 1:
            y[1] += 1  # NMDA: x = x + 1 at the spike (a reset: after the spike step)
        if s > 0:
            y = rk4(lambda v: [-v[0] / 100 + 0.5 * v[1] * (1 - v[0]), -v[1] / 2], y, dt / 20, 20)
            T = 1.0 if tb[s - 1] > 0 else 0.0
            z = rk4(lambda v: [2 * v[1] * (1 - v[0]) - 0.01 * v[0], 1 * T * (1 - v[1]) - 0.5 * v[1]], z, dt / 20, 20)
        en, eb = max(en, abs(y[0] - gn[s]) / max(gn)), max(eb, abs(z[0] - gb[s]) / max(gb))
    return en, eb


coarse = kinetic_errors(d, 0.1)
fine_dir = os.path.join(out, "kinetics_fine")
run_bdyn(bdyn, ["run", os.path.join(models, "kinetics.json"), "--device", "cpu", "--dt", "0.01", "--out", fine_dir])
fine = kinetic_errors(fine_dir, 0.01)
for k, name in enumerate(("NMDA", "BioNMDA")):
    order = math.log10(coarse[k] / fine[k])
    check(abs(order - 1) < 0.15 and fine[k] < 5e-3, "%s vs RK4: error %.2e (dt 0.1 ms) / %.2e (dt 0.01 ms) of the peak, "
          "order %.3f (exponential Euler: 1 +- 0.15)" % (name, coarse[k], fine[k], order))

# per-connection delays from a matrix: post k receives sum_j x_j(t - d_jk), x_j = s_j t (start of each step)
d = run("delays")
c = npy(d + "/c.npy")
D, S = [[2.0, 5.0], [7.3, 0.0], [1.0, 12.0]], [1, 2, 3]
e = max(abs(c[2 * s + k] - sum(S[j] * max(s - round(D[j][k] / 0.1), 0) * 0.1 for j in range(3)))
        for s in range(300) for k in range(2))
check(e < 1e-9, "per-connection delays (matrix): max |c - sum x_j(t - d_jk)| = %.2e (bound 1e-9)" % e)

# every other device gives the cpu's results
for dev in devices(bdyn):
    if dev == "cpu":
        continue
    for model, files in (("gap", ["V"]), ("stp", ["g", "d"]), ("stdp", ["weights_PQ"]), ("nmda", ["gpre", "gpost"]), ("delays", ["c"]), ("kinetics", ["ga", "gg", "gn", "gb"])):
        a, b = run(model), run(model, dev)
        e = 0.0
        for f in files:
            x, y = npy("%s/%s.npy" % (a, f)), npy("%s/%s.npy" % (b, f))
            e = max([e] + [abs(p - q) / (1 + abs(p)) for p, q in zip(x, y)] + [float(len(x) != len(y))])
        check(e < 1e-9, "%s on %s vs cpu: max relative difference %.2e (bound 1e-9)" % (model, dev, e))
summary()
