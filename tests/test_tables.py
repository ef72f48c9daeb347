#!/usr/bin/env python3
"""Tabulated inputs (docs/model-format.md "Input", "Population"): NPY time series summed into an input variable and
spike-time sources, through `bdyn run`, against values computed here step by step.

- NPY input of shape (T,) (one value for all elements), (T, N) (one per element), a row interval that is a whole
  number of steps and one that is not (resampled), and one into a named input variable ("target"): the monitored
  input variable equals the file's row floor(s dt / dt_file) at every step s (0 past the end), and V of
  dV/dt = I (Euler) equals the running sum exactly (the values are multiples of 1/4, exact in f32).
- Spike times (inline and from an (n, 2) NPY file): the spike monitor holds exactly the given (index, time) pairs
  at round(t/dt) * dt; a duplicate in one step gives one spike; a time past the run gives none.
- A projection from the source drives a post neuron: V jumps by the weight at the step after the spike's time.
- The same model on opencl:0 and vulkan:0, when present, gives byte-identical files.
- A spike time before dt/2 is refused with its message.
Usage: test_tables.py BDYN. Plain Python (no numpy): NPY files written and read with struct."""
import json, math, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, devices, read_npy, run_model, summary, write_npy

bdyn = sys.argv[1]


def run(model, folder, device="cpu", expect_ok=True):
    """Runs the model on the device; returns (exit status, output, result folder)."""
    out = os.path.join(folder, "out_" + device.replace(":", "_"))
    rc, text = run_model(bdyn, model, os.path.join(folder, "m.json"), out, device)
    if expect_ok and rc != 0:
        print(text)
    return rc, text, out


DT, STEPS, N = 0.5, 16, 3
tmp = tempfile.mkdtemp(prefix="bdyn_tables_")
# series: A (T,) at 1 ms (stride 2), B (T, N) at 0.5 ms (stride 1), C (T,) at 0.75 ms (resampled), D into I_ext
A = [0.25 * (k + 1) for k in range(5)]
B = [[1.0 * k + 0.25 * i for i in range(N)] for k in range(6)]
C = [-0.5 * (k + 1) for k in range(4)]
D = [2.0, -1.0, 0.5]
write_npy(os.path.join(tmp, "A.npy"), A, (len(A),))
write_npy(os.path.join(tmp, "B.npy"), [x for row in B for x in row], (len(B), N), "<f4")
write_npy(os.path.join(tmp, "C.npy"), C, (len(C),))
write_npy(os.path.join(tmp, "D.npy"), D, (len(D), 1))
# spikes: inline (with a duplicate and one past the run) and from a file
inline = ([0, 1, 0, 1, 1, 0], ["1 ms", "1.5 ms", "3 ms", "1.6 ms", "0.3 ms", "100 ms"])
filed = [(1, 2.0), (0, 0.5), (1, 7.75)]
write_npy(os.path.join(tmp, "spk.npy"), [x for p in filed for x in p], (len(filed), 2))

model = {
    "bdyn": 1, "name": "tables", "run": {"dt": "%g ms" % DT, "duration": "%g ms" % (DT * STEPS)},
    "types": {"Int": {"kind": "neuron", "equations": ["dV/dt = I_syn + I_ext : mV", "I_syn : mV/ms", "I_ext : mV/ms"],
                      "inputs": ["I_syn", "I_ext"], "method": "euler"},
              "Post": {"kind": "neuron", "equations": ["dV/dt = 0 * V / ms : mV"], "method": "euler"}},
    "populations": {"E": {"type": "Int", "size": N},
                    "S": {"spike_times": {"indices": inline[0], "times": inline[1]}, "size": 2},
                    "F": {"spike_times": {"file": "spk.npy"}, "size": 2},
                    "P": {"type": "Post", "size": 1}},
    "projections": {"SP": {"pre": "S", "post": "P", "conn": {"all2all": {}}, "weight": "1 mV", "target": "V"},
                    "FP": {"pre": "F", "post": "P", "conn": {"all2all": {}}, "weight": "10 mV", "target": "V"}},
    "inputs": {"a": {"file": "A.npy", "dt": "1 ms", "into": "E"},
               "b": {"file": "B.npy", "dt": "0.5 ms", "into": "E"},
               "c": {"file": "C.npy", "dt": "0.75 ms", "into": "E"},
               "d": {"file": "D.npy", "dt": "2 ms", "into": "E", "target": "I_ext"}},
    "monitors": {"I": {"var": "E.I_syn"}, "X": {"var": "E.I_ext"}, "V": {"var": "E.V"}, "PV": {"var": "P.V"},
                 "sS": {"spikes": "S"}, "sF": {"spikes": "F"}},
}


def row(series, dt_file, s):
    k = math.floor(s * DT / dt_file + 1e-9)
    return series[k] if k < len(series) else None


exp_I, exp_X, exp_V = [], [], []
V = [0.0] * N
for s in range(STEPS):
    a, b, c, d = row(A, 1.0, s), row(B, 0.5, s), row(C, 0.75, s), row(D, 2.0, s)
    I = [(a or 0) + (b[i] if b else 0) + (c or 0) for i in range(N)]
    X = [d or 0] * N
    V = [V[i] + DT * (I[i] + X[i]) for i in range(N)]
    exp_I.append(I), exp_X.append(X), exp_V.append(list(V))

rc, _, out = run(model, tmp)
check(rc == 0, "bdyn run with NPY inputs and spike-time sources")
if rc == 0:
    for name, exp in (("I", exp_I), ("X", exp_X), ("V", exp_V)):
        shape, vals = read_npy(os.path.join(out, name + ".npy"))
        got = [vals[k * N:(k + 1) * N] for k in range(shape[0])]
        bad = [(s, got[s], exp[s]) for s in range(STEPS) if got[s] != exp[s]]
        check(shape == (STEPS, N) and not bad, "%s: every step equals the file rows (first difference: %s)" %
              (name, bad[0] if bad else None))

    def spikes(stem):
        _, i = read_npy(os.path.join(out, stem + "_i.npy"))
        _, t = read_npy(os.path.join(out, stem + "_t.npy"))
        return sorted(zip(t, i))

    exp_S = sorted({(round(float(t.split()[0]) / DT) * DT, i) for i, t in zip(*inline) if float(t.split()[0]) <= DT * STEPS})
    exp_F = sorted((round(t / DT) * DT, i) for i, t in filed)
    check(spikes("sS") == exp_S, "inline spike times at round(t/dt)*dt: %s" % spikes("sS"))
    check(spikes("sF") == exp_F, "file spike times at round(t/dt)*dt: %s" % spikes("sF"))
    # P.V after step s: the sum of weights of spikes reported at times <= s * dt (delivered in step round(t/dt))
    shape, pv = read_npy(os.path.join(out, "PV.npy"))
    exp_pv = [sum(1.0 for t, _ in exp_S if t <= s * DT + 1e-9) + sum(10.0 for t, _ in exp_F if t <= s * DT + 1e-9)
              for s in range(STEPS)]
    check(pv == exp_pv, "post V through the projections: %s" % pv)

    devs = devices(bdyn)
    for dev in ("opencl:0", "vulkan:0"):
        if dev not in devs:
            print("skip %s: not present" % dev)
            continue
        q, _, dout = run(model, tmp, dev)
        same = q == 0 and all(open(os.path.join(out, f), "rb").read() == open(os.path.join(dout, f), "rb").read()
                                         for f in os.listdir(out) if f.endswith(".npy"))
        check(same, "%s: every NPY file identical to cpu" % dev)

early = json.loads(json.dumps(model))
early["populations"]["S"]["spike_times"] = {"indices": [1], "times": ["0.2 ms"]}
rc, text, _ = run(early, tmp, expect_ok=False)
check(rc != 0 and "times must be >= dt/2" in text, "a spike time before dt/2 is refused: %s" % text)

summary()
