#!/usr/bin/env python3
"""The whole-brain model (models/whole_brain_fhn.json): 80 FHN nodes with diffusive, per-connection-delayed
coupling through the shipped connectome. Its functional connectivity (Pearson correlation of x over the last
1.5 s of 2 s) must follow the structural connectivity (correlation with the weights > 0.2), and must not
without coupling (|correlation| < 0.1: the structure comes through the coupling, not the analysis).
Plain Python (no numpy)."""
import json, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, pearson, read_npy, run_bdyn, summary

bdyn, src = sys.argv[1], os.path.abspath(sys.argv[2])
model = os.path.join(src, "models", "whole_brain_fhn.json")
out = tempfile.mkdtemp()


def sc_fc(path):
    (T, N), x = read_npy(os.path.join(path, "x.npy"))
    _, W = read_npy(os.path.join(src, "models", "data", "connectome80_weights.npy"))
    cols = [[x[t * N + i] for t in range(T // 4, T)] for i in range(N)]
    fc, sc = [], []
    for i in range(N):
        for j in range(i + 1, N):
            fc.append(pearson(cols[i], cols[j]))
            sc.append(W[i * N + j])
    return pearson(sc, fc)


coupled = os.path.join(out, "coupled")
rc, text = run_bdyn(bdyn, ["run", model, "--device", "cpu", "--out", coupled])
if not check(rc == 0, "run the coupled model: %s" % text[-200:]):
    summary()
r = sc_fc(coupled)
check(r > 0.2, "coupled (K = 0.6 /ms): corr(SC, FC) = %.3f (bound > 0.2)" % r)
m = json.load(open(model))
m["projections"]["sc"]["weight"]["matrix"]["scale"] = "0 1/ms"
for k in ("weight", "delay"):
    v = m["projections"]["sc"][k]["matrix"]
    if isinstance(v, dict):
        v["file"] = os.path.join(src, "models", v["file"])
    else:
        m["projections"]["sc"][k]["matrix"] = os.path.join(src, "models", v)
m["include"] = [os.path.join(src, "models", "lib", "rates.json")]
uncoupled_model = os.path.join(out, "uncoupled.json")
json.dump(m, open(uncoupled_model, "w"))
uncoupled = os.path.join(out, "uncoupled")
rc, text = run_bdyn(bdyn, ["run", uncoupled_model, "--device", "cpu", "--out", uncoupled])
if not check(rc == 0, "run the uncoupled model: %s" % text[-200:]):
    summary()
r0 = sc_fc(uncoupled)
check(abs(r0) < 0.1, "uncoupled: corr(SC, FC) = %.3f (bound |r| < 0.1)" % r0)
summary()
