#!/usr/bin/env python3
"""The toolbox end to end (docs/toolbox.md): a model with the new connectivity rules and initializers through
`bdyn check` and `bdyn run --device cpu`. Synapse counts in the manifest equal what each rule fixes
(small_world n k, grid8 8 n, gridN's lattice, scale_free_ba 2 m (n - m), fixed_*_num, explicit matrix/csr/ij),
gaussian_prob's count is within 4 sd of the sum of its probabilities (computed here), weights from a matrix,
a csr's data and ij's third row arrive summed in the post variable, initializers give the right sample
means, runs repeat exactly for one seed and differ for another, and bad rules fail with the JSON path.
Plain Python (no numpy): NPY files are written and read with struct."""
import json, math, os, re, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_npy, run_bdyn, summary, write_npy

bdyn = sys.argv[1]


def run(args):
    return run_bdyn(bdyn, args)


d = tempfile.mkdtemp()
M = [[0.0, 1.5, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 0.5], [1, 0, 0, 0]]
write_npy(os.path.join(d, "m.npy"), M)
write_npy(os.path.join(d, "mb.npy"), [[x != 0 for x in r] for r in M], dtype="|b1")
write_npy(os.path.join(d, "indptr.npy"), [0, 2, 3, 3, 4], dtype="<i8")
write_npy(os.path.join(d, "indices.npy"), [1, 2, 0, 3], dtype="<i8")
write_npy(os.path.join(d, "data.npy"), [0.1, 0.2, 0.3, 0.4])
# E: a LIF population; A fires once at the start (V above threshold, long refractoriness), B and C integrate
# what arrives (time constant 1e9 ms: constant over the run); X holds initial values only.
lif = {"kind": "neuron", "params": {"tau": "20 ms", "El": "-60 mV", "Vt": "-50 mV"},
       "equations": ["dV/dt = (El - V + g) / tau : mV (unless refractory)", "dg/dt = -g / (5*ms) : mV",
                     "tau : ms", "El : mV", "Vt : mV"],
       "threshold": "V > Vt", "reset": ["V = El"], "refractory": "2 ms"}
src = {"kind": "neuron", "equations": ["dV/dt = -V / (1e9*ms) : mV"], "threshold": "V > 1*mV",
       "reset": ["V = 0*mV"], "refractory": "1000 ms"}
acc = {"kind": "neuron", "equations": ["dg/dt = -g / (1e9*ms) : mV", "dh/dt = -h / (1e9*ms) : mV",
                                       "dk/dt = -k / (1e9*ms) : mV",
                                       "dl/dt = -l / (1e9*ms) : mV"]}
vals = {"kind": "neuron", "equations": ["dx/dt = -x / (1e9*ms) : mV", "dy/dt = -y / (1e9*ms) : mV",
                                        "dz/dt = -z / (1e9*ms) : mV"]}
n_e, sig = 100, 5.0
model = {
    "bdyn": 1, "name": "toolbox", "run": {"dt": "0.1 ms", "duration": "5 ms", "seed": 3},
    "types": {"LIF": lif, "Src": src, "Acc": acc, "Vals": vals},
    "populations": {
        "E": {"type": "LIF", "size": n_e,
              "init": {"V": {"truncated_normal": {"mean": "-55 mV", "sd": "3 mV", "lower": "-58 mV", "upper": "-52 mV"}}},
              "params": {"tau": {"lognormal": {"mu": 3, "sigma": 0.1, "scale": "1 ms"}}}},
        "A": {"type": "Src", "size": 4, "init": {"V": "2 mV"}},
        "B": {"type": "Acc", "size": 4},
        "X": {"type": "Vals", "size": 4000,
              "init": {"x": {"gamma": {"shape": 3, "scale": "2 mV"}}, "y": {"exponential": "0.5 mV"},
                       "z": {"kaiming_normal": {"fan_in": 50}}}}},
    "projections": {
        "sw": {"pre": "E", "post": "E", "conn": {"small_world": {"num_neighbor": 4, "prob": 0.2}},
               "weight": {"xavier_normal": {}}, "target": "g"},
        "gp": {"pre": "E", "post": "E", "conn": {"gaussian_prob": {"sigma": sig, "periodic": True}},
               "weight": {"gaussian_decay": {"sigma": 5, "max_w": "1 mV", "periodic": True}}, "target": "g"},
        "g8": {"pre": "E", "post": "E", "conn": {"grid8": {"shape": [10, 10], "periodic": True}},
               "weight": {"exponential": "0.5 mV"}, "target": "g"},
        "ba": {"pre": "E", "post": "E", "conn": {"scale_free_ba": {"m": 2}}, "weight": {"kaiming_uniform": {}},
               "target": "g"},
        "tot": {"pre": "E", "post": "E", "conn": {"fixed_total_num": {"num": 500}},
                "weight": {"dog_decay": {"sigmas": [3, 10], "max_ws": ["2 mV", "1 mV"]}}, "target": "g"},
        "pre": {"pre": "E", "post": "E", "conn": {"fixed_pre_num": 5}, "weight": 0.1, "target": "g"},
        "post": {"pre": "E", "post": "E", "conn": {"fixed_post_num": {"num": 0.05}}, "weight": 0.1, "target": "g"},
        "gn": {"pre": "E", "post": "E", "conn": {"gridN": {"n": 2, "shape": [10, 10]}}, "weight": 0.1, "target": "g"},
        "mat": {"pre": "A", "post": "B", "conn": {"matrix": "m.npy"}, "weight": {"from_conn": {}}, "target": "g"},
        "matb": {"pre": "A", "post": "B", "conn": {"matrix": "mb.npy"}, "weight": "0.25 mV", "target": "l"},
        "csr": {"pre": "A", "post": "B", "conn": {"csr": {"indptr": "indptr.npy", "indices": "indices.npy",
                                                           "data": "data.npy"}},
                "weight": {"from_conn": True}, "target": "h"},
        "ij": {"pre": "A", "post": "B", "conn": {"ij": [[0, 1, 2, 2], [3, 2, 1, 0], [0.5, 0.6, 0.7, 0.8]]},
               "weight": {"from_conn": {}}, "target": "k"},
        "orth": {"pre": "A", "post": "E", "conn": {"all2all": {}}, "weight": {"orthogonal": {"gain": 2}},
                 "target": "g"},
    },
    "monitors": {"sp": {"spikes": "E"}, "B": {"var": "B.g"}, "Bh": {"var": "B.h"}, "Bk": {"var": "B.k"}, "Bl": {"var": "B.l"},
                 "x": {"var": "X.x"}, "y": {"var": "X.y"}, "z": {"var": "X.z"}, "V": {"var": "E.V"}},
}
path = os.path.join(d, "toolbox.json")
json.dump(model, open(path, "w"), indent=1)

rc, text = run(["check", path])
check(rc == 0 and "small_world" in text and "scale_free_ba" in text, "check toolbox.json: %s" % text[:200])
rc, text = run(["run", path, "--device", "cpu", "--out", os.path.join(d, "a")])
if check(rc == 0, "run toolbox.json on cpu: %s" % text[-200:]):
    man = json.load(open(os.path.join(d, "a", "manifest.json")))
    syn = {k: v.get("synapses") for k, v in man["projections"].items()}
    want = {"sw": 400, "g8": 800, "ba": 2 * 2 * (n_e - 2), "tot": 500, "pre": 500, "post": 500,
            "gn": (10 + 2 * (9 + 8)) ** 2 - 100, "mat": 4, "matb": 4, "csr": 4, "ij": 4, "orth": 400}
    check(all(syn[k] == v for k, v in want.items()), "synapse counts as the rules fix them: %s" % syn)
    # gaussian_prob on a periodic ring of 100 (positions 0..99, distance wrapped at 50)
    ps = [math.exp(-min(k, n_e - k) ** 2 / (2 * sig * sig)) for k in range(n_e)]
    mean, sd = n_e * sum(ps), math.sqrt(n_e * sum(p * (1 - p) for p in ps))
    check(abs(syn["gp"] - mean) <= 4 * sd, "gaussian_prob sigma 5 on a ring of 100: %d synapses, sum of p %.1f sd %.1f"
          % (syn["gp"], mean, sd))
    last = lambda name: read_npy(os.path.join(d, "a", name + ".npy"))[1][-4:]
    colsum = [sum(M[i][j] for i in range(4)) for j in range(4)]
    csr = [0.3, 0.1, 0.2, 0.4]  # post 0 <- 1 (0.3), 1 <- 0 (0.1), 2 <- 0 (0.2), 3 <- 3 (0.4)
    ijw = [0.8, 0.7, 0.6, 0.5]
    ok = all(abs(a - b) < 1e-5 for a, b in zip(last("B"), colsum)) and \
        all(abs(a - b) < 1e-5 for a, b in zip(last("Bh"), csr)) and all(abs(a - b) < 1e-5 for a, b in zip(last("Bk"), ijw)) \
        and all(abs(a - 0.25) < 1e-6 for a in last("Bl"))
    check(ok, "weights arrive: matrix entries %s (want %s), csr data %s, ij third row %s, bool matrix x 0.25 mV %s"
          % ([round(x, 4) for x in last("B")], colsum, [round(x, 4) for x in last("Bh")], [round(x, 4) for x in last("Bk")],
             [round(x, 4) for x in last("Bl")]))
    first = lambda name, n: read_npy(os.path.join(d, "a", name + ".npy"))[1][:n]
    for name, mu, var in (("x", 6.0, 12.0), ("y", 0.5, 0.25), ("z", 0.0, 2.0 / 50)):
        v = first(name, 4000)
        m = sum(v) / len(v)
        check(abs(m - mu) < 4 * math.sqrt(var / len(v)), "X.%s initial mean %.4f (theory %g, sd %.4f)"
              % (name, m, mu, math.sqrt(var / len(v))))
    v = first("V", n_e)
    check(all(-58.0001 <= x <= -51.9999 for x in v), "truncated_normal V in [-58, -52] mV (first sample: %.3f .. %.3f)"
          % (min(v), max(v)))
    rc2, _ = run(["run", path, "--device", "cpu", "--out", os.path.join(d, "b")])
    rc3, _ = run(["run", path, "--device", "cpu", "--seed", "4", "--out", os.path.join(d, "c")])
    same = open(os.path.join(d, "a", "V.npy"), "rb").read() == open(os.path.join(d, "b", "V.npy"), "rb").read()
    other = open(os.path.join(d, "a", "V.npy"), "rb").read() != open(os.path.join(d, "c", "V.npy"), "rb").read()
    check(rc2 == 0 and rc3 == 0 and same and other, "a second run with seed 3 is identical, seed 4 differs")

# bad input: the message names the JSON path of the value at fault
bad = [({"gaussian_prob": {"sigma": -1}}, None, "$.projections.gp.conn.gaussian_prob.sigma"),
       ({"small_wrld": {"num_neighbor": 4, "prob": 0.1}}, None, "did you mean 'small_world'"),
       ({"scale_free_ba": {"m": 100}}, None, "$.projections.gp.conn.scale_free_ba.m"),
       ({"all2all": {}}, {"gaussian_decay": {"sigma": 1}}, "$.projections.gp.weight.gaussian_decay"),
       ({"all2all": {}}, {"gamma": {"shape": 2, "scale": "2 mV", "rate": 1}}, "unknown key 'rate'"),
       ({"ij": [[0, 1], [5, 200]]}, None, "$.projections.gp.conn.ij[1][1]")]
for k, (conn, weight, frag) in enumerate(bad):
    m = json.loads(json.dumps(model))
    m["projections"] = {"gp": dict(model["projections"]["gp"], conn=conn)}
    if weight:
        m["projections"]["gp"]["weight"] = weight
    p = os.path.join(d, "bad%d.json" % k)
    json.dump(m, open(p, "w"), indent=1)
    rc, text = run(["check", p])
    check(rc == 2 and frag in text and re.search(r"bad%d\.json:\d+:\d+: at \$" % k, text), "bad %s: %s" % (
        list(conn)[0], text.splitlines()[0] if text else "(no message)"))

summary(", 0 skipped")
