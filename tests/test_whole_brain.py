#!/usr/bin/env python3
"""The whole-brain model (models/whole_brain_fhn.json): 80 FHN nodes with diffusive, per-connection-delayed
coupling through the shipped connectome. Its functional connectivity (Pearson correlation of x over the last
1.5 s of 2 s) must follow the structural connectivity (correlation with the weights > 0.2), and must not
without coupling (|correlation| < 0.1: the structure comes through the coupling, not the analysis).
Plain Python (no numpy)."""
import json, math, os, re, struct, subprocess, sys, tempfile

bdyn, src = sys.argv[1], os.path.abspath(sys.argv[2])
model = os.path.join(src, "models", "whole_brain_fhn.json")
out = tempfile.mkdtemp()


def npy(path):
    d = open(path, "rb").read()
    hl = struct.unpack("<H", d[8:10])[0]
    h = d[10:10 + hl].decode()
    shape = tuple(int(x) for x in re.search(r"'shape': \(([^)]*)\)", h).group(1).split(",") if x.strip())
    n = 1
    for s in shape:
        n *= s
    return shape, struct.unpack("<%dd" % n, d[10 + hl:10 + hl + 8 * n])


def pearson(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    sa = math.sqrt(sum((u - ma) ** 2 for u in a))
    sb = math.sqrt(sum((v - mb) ** 2 for v in b))
    return sum((u - ma) * (v - mb) for u, v in zip(a, b)) / (sa * sb)


def sc_fc(path):
    (T, N), x = npy(os.path.join(path, "x.npy"))
    _, W = npy(os.path.join(src, "models", "data", "connectome80_weights.npy"))
    cols = [[x[t * N + i] for t in range(T // 4, T)] for i in range(N)]
    fc, sc = [], []
    for i in range(N):
        for j in range(i + 1, N):
            fc.append(pearson(cols[i], cols[j]))
            sc.append(W[i * N + j])
    return pearson(sc, fc)


failed = 0
coupled = os.path.join(out, "coupled")
subprocess.run([bdyn, "run", model, "--device", "cpu", "--out", coupled], check=True, capture_output=True)
r = sc_fc(coupled)
print("PASS" if r > 0.2 else "FAIL", "coupled (K = 0.6 /ms): corr(SC, FC) = %.3f (bound > 0.2)" % r)
failed += r <= 0.2
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
subprocess.run([bdyn, "run", uncoupled_model, "--device", "cpu", "--out", uncoupled], check=True, capture_output=True)
r0 = sc_fc(uncoupled)
print("PASS" if abs(r0) < 0.1 else "FAIL", "uncoupled: corr(SC, FC) = %.3f (bound |r| < 0.1)" % r0)
failed += abs(r0) >= 0.1
sys.exit(1 if failed else 0)
