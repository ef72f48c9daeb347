#!/usr/bin/env python3
"""models/kuramoto.json: all-to-all Kuramoto oscillators through two additive coupling projections of
sin(theta) and cos(theta). (1) K = 0.05 /ms (5 K_c) synchronises: order parameter r > 0.95 at 300 ms;
K = 0 stays incoherent: r < 0.3. (2) A 20-oscillator copy with given phases and frequencies equals an
independent integration written here of the documented scheme (couplings from the step-start state, then
RK4 with them held) to 1e-9. Plain Python (no numpy)."""
import cmath, json, math, os, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_npy, run_model, summary, write_npy

bdyn, src = sys.argv[1], os.path.abspath(sys.argv[2])
model = json.load(open(os.path.join(src, "models", "kuramoto.json")))
out = tempfile.mkdtemp()


def order(path):
    (T, N), th = read_npy(os.path.join(path, "theta.npy"))
    return [abs(sum(cmath.exp(1j * th[t * N + i]) for i in range(N))) / N for t in range(T)]


for K, ok, what in (("0.05 1/ms", lambda r: r > 0.95, "> 0.95"), ("0 1/ms", lambda r: r < 0.3, "< 0.3")):
    m = json.loads(json.dumps(model))
    m["types"]["KuramotoOscillator"]["params"]["K"] = K
    d = os.path.join(out, "K" + K.split()[0])
    rc, text = run_model(bdyn, m, os.path.join(out, "k.json"), d)
    r = order(d) if rc == 0 else [float("nan")]
    check(rc == 0 and ok(r[-1]), "K = %s: r(1 ms) %.3f, r(300 ms) %.3f (bound %s)" % (K, r[0], r[-1], what))

# 20 oscillators from given phases and frequencies against the scheme written out here
N, dt, steps, K = 20, 0.1, 500, 0.05
theta0 = [2 * math.pi * ((7 * i) % N) / N for i in range(N)]
omega = [0.0628 + 0.004 * math.sin(1.3 * i) for i in range(N)]
m = json.loads(json.dumps(model))
m["types"]["KuramotoOscillator"]["params"]["N"] = str(N)
m["populations"]["osc"]["size"] = N
m["populations"]["osc"]["params"]["omega"] = {"file": write_npy(os.path.join(out, "omega.npy"), omega)}
m["populations"]["osc"]["init"]["theta"] = {"file": write_npy(os.path.join(out, "theta0.npy"), theta0)}
m["monitors"]["theta"]["every"] = "0.1 ms"
m["run"]["duration"] = "%g ms" % (steps * dt)
d = os.path.join(out, "small")
rc, text = run_model(bdyn, m, os.path.join(out, "small.json"), d)
_, got = read_npy(os.path.join(d, "theta.npy")) if rc == 0 else ((0, 0), [])
th, err = theta0[:], 0.0
for s in range(steps):
    S, C = sum(math.sin(x) for x in th), sum(math.cos(x) for x in th)
    f = lambda x, w: w + K / N * (math.cos(x) * S - math.sin(x) * C)
    nxt = []
    for x, w in zip(th, omega):
        k1 = f(x, w)
        k2 = f(x + dt / 2 * k1, w)
        k3 = f(x + dt / 2 * k2, w)
        k4 = f(x + dt * k3, w)
        nxt.append(x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
    th = nxt
    if got:
        err = max(err, max(abs(a - b) for a, b in zip(th, got[s * N:(s + 1) * N])))
check(rc == 0 and err < 1e-9, "20 oscillators vs the scheme written here: max |theta - reference| = %.2e rad (bound 1e-9)" % err)
summary()
