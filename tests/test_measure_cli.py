#!/usr/bin/env python3
"""`bdyn measure` on a real run (models/coba.json, 200 ms on cpu), each result recomputed here from the NPY
files by the definitions of docs/measures.md, written independently in plain Python (no numpy): the windowed
population rate, ISI CV, Fano factor, coherence kappa (brute force over the pairs of the I population),
synchrony chi^2 and the FC matrix of the V traces, the spectrum's peak and its Parseval sum; the raster round
trip (pairs -> matrix -> pairs) is bit-exact; plain NPY files without a manifest give the same rate with --dt,
--n and --duration; text and JSON formats; bad input exits nonzero and names the path."""
import json, math, os, shutil, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, pearson, read_npy, run_bdyn, summary

bdyn, models_dir = sys.argv[1], sys.argv[2]


def run(args):
    return run_bdyn(bdyn, args, separate=True)


def measure(*args):
    rc, out, err = run(["measure"] + list(args) + ["--json"])
    if rc != 0:
        print("   ", err.strip())
        return {}
    return json.loads(out)


def close(a, b, rel=1e-9, abs_=1e-12):
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


tmp = tempfile.mkdtemp()
out = os.path.join(tmp, "coba")
rc, o, e = run(["run", os.path.join(models_dir, "coba.json"), "--duration", "200", "--device", "cpu", "--out", out])
if not check(rc == 0, "bdyn run coba.json --duration 200 --device cpu: %s" % (o + e).strip()[-200:]):
    sys.exit(1)
man = json.load(open(os.path.join(out, "manifest.json")))
dt, steps = man["dt_ms"], man["steps"]
t0 = (man["start_step"] + 1) * dt
NE, NI = man["populations"]["E"]["size"], man["populations"]["I"]["size"]
iE, tE = read_npy(os.path.join(out, "spikes_E_i.npy"))[1], read_npy(os.path.join(out, "spikes_E_t.npy"))[1]
iI, tI = read_npy(os.path.join(out, "spikes_I_i.npy"))[1], read_npy(os.path.join(out, "spikes_I_t.npy"))[1]


def step_of(t):
    return int(math.floor((t - t0) / dt + 0.5))


# --- rate: box window of 2*floor(w/2dt)+1 steps, mean over the part inside the record, Hz
j = measure("rate", os.path.join(out, "spikes_E"), "--window", "5 ms", "--out", os.path.join(tmp, "rE.npy"))
counts = [0] * steps
for t in tE:
    counts[step_of(t)] += 1
h = int(math.floor(5 / (2 * dt) + 1e-9))
want = []
for k in range(steps):
    a, b = max(0, k - h), min(steps, k + h + 1)
    want.append(sum(counts[a:b]) / (b - a) * 1000 / (NE * dt))
shape, got = read_npy(os.path.join(tmp, "rE.npy"))
err = max(abs(x - y) for x, y in zip(got, want)) if got else 1e9
check(j.get("n") == NE and j.get("steps") == steps and j.get("window_bins") == 2 * h + 1 and shape == (steps,) and err < 1e-9,
      "rate of spikes_E (N %s, %s steps, window %s bins): written array equals the definition (max error %.2g)"
      % (j.get("n"), j.get("steps"), j.get("window_bins"), err))
check(close(j.get("mean_rate_hz", -1), man["populations"]["E"]["mean_rate_hz"], 1e-12),
      "mean rate %.4f Hz equals the manifest's %.4f Hz" % (j.get("mean_rate_hz", -1), man["populations"]["E"]["mean_rate_hz"]))
tt = read_npy(os.path.join(tmp, "rE_t.npy"))[1]
check(len(tt) == steps and close(tt[0], t0) and close(tt[-1], t0 + (steps - 1) * dt), "rate times from %g to %g ms" % (tt[0], tt[-1]))

# --- ISI CV: std (ddof 0) / mean of the intervals, neurons with >= 3 spikes
by = {}
for i, t in zip(iE, tE):
    by.setdefault(i, []).append(t)
cvs = []
for ts in by.values():
    if len(ts) >= 3:
        ts = sorted(ts)
        isi = [b - a for a, b in zip(ts, ts[1:])]
        m = sum(isi) / len(isi)
        cvs.append(math.sqrt(sum((x - m) ** 2 for x in isi) / len(isi)) / m)
j = measure("cv", os.path.join(out, "spikes_E"))
check(j.get("used") == len(cvs) and j.get("excluded") == NE - len(cvs) and close(j.get("mean_cv", -1), sum(cvs) / len(cvs), 1e-9),
      "ISI CV: mean %.6f over %s neurons (want %.6f over %d)" % (j.get("mean_cv", -1), j.get("used"), sum(cvs) / len(cvs), len(cvs)))

# --- Fano factor in 20 ms bins
per = 200
nb = steps // per
fs = []
pop = [0] * nb
for i in range(NE):
    c = [0] * nb
    for t in by.get(i, []):
        b = step_of(t) // per
        if b < nb:
            c[b] += 1
            pop[b] += 1
    m = sum(c) / nb
    if m > 0:
        fs.append((sum(x * x for x in c) / nb - m * m) / m)
pm = sum(pop) / nb
pf = (sum(x * x for x in pop) / nb - pm * pm) / pm
j = measure("fano", os.path.join(out, "spikes_E"), "--bin", "20")
check(j.get("bins") == nb and j.get("used") == len(fs) and close(j.get("mean_fano", -1), sum(fs) / len(fs), 1e-9)
      and close(j.get("population_fano", -1), pf, 1e-9),
      "Fano (20 ms bins): mean %.6f, population %.4f (want %.6f, %.4f)" % (j.get("mean_fano", -1), j.get("population_fano", -1),
                                                                           sum(fs) / len(fs), pf))

# --- coherence of the I population by brute force over all pairs (binary 5 ms bins)
per = 50
nb = steps // per
sets = [set() for _ in range(NI)]
for i, t in zip(iI, tI):
    b = step_of(t) // per
    if b < nb:
        sets[i].add(b)
total = 0.0
for a in range(NI):
    if not sets[a]:
        continue
    for b in range(a + 1, NI):
        if sets[b]:
            total += len(sets[a] & sets[b]) / math.sqrt(len(sets[a]) * len(sets[b]))
kappa = total / (NI * (NI - 1) / 2)
j = measure("coherence", os.path.join(out, "spikes_I"), "--bin", "5")
check(close(j.get("kappa", -1), kappa, 1e-9) and j.get("silent") == sum(1 for s in sets if not s),
      "coherence of spikes_I (5 ms): kappa %.6f (brute force %.6f), %s silent" % (j.get("kappa", -1), kappa, j.get("silent")))

# --- synchrony and FC of the V traces
shape, V = read_npy(os.path.join(out, "V_E.npy"))
T, n = shape
cols = [[V[k * n + i] for k in range(T)] for i in range(n)]


def var(x):
    m = sum(x) / len(x)
    return sum((v - m) ** 2 for v in x) / len(x)


meanV = [sum(V[k * n:(k + 1) * n]) / n for k in range(T)]
chi2 = var(meanV) / (sum(var(c) for c in cols) / n)
j = measure("synchrony", os.path.join(out, "V_E"))
check(close(j.get("chi2", -1), chi2, 1e-9), "synchrony of V_E (%d traces): chi^2 %.6f (want %.6f)" % (n, j.get("chi2", -1), chi2))


j = measure("fc", os.path.join(out, "V_E"), "--out", os.path.join(tmp, "fc.npy"))
shape, fc = read_npy(os.path.join(tmp, "fc.npy"))
err = max(abs(fc[a * n + b] - (1.0 if a == b else pearson(cols[a], cols[b]))) for a in range(n) for b in range(n))
check(shape == (n, n) and err < 1e-9 and j.get("matrix") and len(j["matrix"]) == n,
      "FC of V_E: %s matrix equals the Pearson correlations (max error %.2g)" % (shape, err))

# --- spectrum of rate_E: the peak is the largest power above 0 Hz; sum(P) df = sum((x - mean) w)^2 / sum(w^2)
j = measure("spectrum", os.path.join(out, "rate_E"), "--out", os.path.join(tmp, "spec.npy"))
P = read_npy(os.path.join(tmp, "spec.npy"))[1]
F = read_npy(os.path.join(tmp, "spec_f.npy"))[1]
x = read_npy(os.path.join(out, "rate_E.npy"))[1]
nfft = 1
while nfft < len(x):
    nfft *= 2
kmax = max(range(1, len(P)), key=lambda k: P[k])
df = 1000 / dt / nfft
mx = sum(x) / len(x)
w = [0.5 - 0.5 * math.cos(2 * math.pi * k / len(x)) for k in range(len(x))]
parseval = sum(((v - mx) * ww) ** 2 for v, ww in zip(x, w)) / sum(ww * ww for ww in w)
check(len(P) == nfft // 2 + 1 and close(F[1], df) and close(j.get("peak_hz", -1), F[kmax]) and
      close(sum(P) * df, parseval, 1e-9),
      "spectrum of rate_E: %d frequencies, df %.4g Hz, peak %.4g Hz, sum(P) df = %.6g (want %.6g)" % (
          len(P), F[1], j.get("peak_hz", -1), sum(P) * df, parseval))
j = measure("spectrum", os.path.join(out, "spikes_E"), "--segment", "51.2 ms", "--fmin", "10", "--fmax", "200")
check(j.get("method") == "welch" and j.get("segment_samples") == 512 and 10 <= j.get("peak_hz", -1) <= 200,
      "spectrum of spikes_E (its rate), Welch 512-sample segments, peak %.4g Hz inside [10, 200]" % j.get("peak_hz", -1))

# --- raster round trip: pairs -> matrix -> pairs, bit for bit
rc1 = run(["measure", "raster", os.path.join(out, "spikes_I"), "--out", os.path.join(tmp, "mat.npy")])[0]
rc2 = run(["measure", "raster", os.path.join(tmp, "mat"), "--out", os.path.join(tmp, "back")])[0]
shape = read_npy(os.path.join(tmp, "mat.npy"))[0] if rc1 == 0 else None
same = rc2 == 0 and all(open(os.path.join(tmp, "back" + s + ".npy"), "rb").read() ==
                         open(os.path.join(out, "spikes_I" + s + ".npy"), "rb").read() for s in ("_i", "_t"))
check(rc1 == 0 and shape == (steps, NI) and same, "raster: spikes_I -> %s matrix -> pairs identical to the run's files" % (shape,))

# --- no manifest: plain NPY files with --dt, --n and --duration give the same rate
plain = os.path.join(tmp, "plain")
os.makedirs(plain)
for s in ("_i", "_t"):
    open(os.path.join(plain, "sp" + s + ".npy"), "wb").write(open(os.path.join(out, "spikes_E" + s + ".npy"), "rb").read())
j = measure("rate", os.path.join(plain, "sp"), "--dt", "0.1", "--n", str(NE), "--duration", "200 ms", "--out",
            os.path.join(tmp, "rP.npy"))
check(read_npy(os.path.join(tmp, "rP.npy"))[1] == read_npy(os.path.join(tmp, "rE.npy"))[1] and "population" not in j,
      "without a manifest (--dt 0.1 --n %d --duration 200 ms) the rate is the same" % NE)
rc, o, e = run(["measure", "rate", os.path.join(plain, "sp")])
check(rc == 1 and "--dt" in e, "without a manifest and --dt: exit 1 asking for --dt: %s" % e.strip())

# --- text output
rc, o, e = run(["measure", "rate", os.path.join(out, "spikes_E")])
check(rc == 0 and o.startswith("rate of spikes_E: N = %d" % NE) and "mean " in o, "text output: %s" % o.splitlines()[0])
rc, o, e = run(["measure", "cv", os.path.join(out, "spikes_E")])
check(rc == 0 and o.startswith("ISI CV of spikes_E: mean "), "text output: %s" % o.strip())

# --- bad input
missing = os.path.join(out, "no_such_monitor")
rc, o, e = run(["measure", "rate", missing])
check(rc != 0 and missing in e, "missing monitor: exit %d, message names the path: %s" % (rc, e.strip()))
rc, o, e = run(["measure", "cv", os.path.join(tmp, "missing.npy")])
check(rc != 0 and os.path.join(tmp, "missing.npy") in e, "missing file: exit %d: %s" % (rc, e.strip()))
rc, o, e = run(["measure", "synchrony", os.path.join(out, "spikes_E")])
check(rc == 1 and "spike monitor" in e, "synchrony of spikes: exit 1: %s" % e.strip())
rc, o, e = run(["measure", "cv", os.path.join(out, "rate_E")])
check(rc == 1 and "rate monitor" in e, "cv of a rate: exit 1: %s" % e.strip())
open(os.path.join(tmp, "junk.npy"), "wb").write(b"not an npy file")
rc, o, e = run(["measure", "fc", os.path.join(tmp, "junk.npy")])
check(rc == 1 and "junk.npy" in e and "NPY" in e, "a file that is not NPY: exit 1: %s" % e.strip())
rc, o, e = run(["measure", "fano", os.path.join(out, "spikes_E"), "--bin", "150"])
check(rc == 1 and "at least 2" in e, "a bin leaving one whole bin: exit 1: %s" % e.strip())
rc, o, e = run(["measure", "nonsense", os.path.join(out, "spikes_E")])
check(rc == 2 and "nonsense" in e, "unknown measure: exit 2: %s" % e.strip())

shutil.rmtree(tmp, ignore_errors=True)
summary()
