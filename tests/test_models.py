#!/usr/bin/env python3
"""Every model in models/ end to end through `bdyn check` and `bdyn run`: valid, runs on every device,
population spike counts within 2 % of cpu's and single-neuron traces within 1e-3 of their range; a run
checkpointed half way and resumed equals an uninterrupted one bit for bit (cpu); bad models exit 2.
Networks run for 100 ms here to keep CI short (the full 1 s runs are in the closing notes and bench/).
Plain Python (no numpy): NPY files are read with struct."""
import glob, json, os, re, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_npy, run_bdyn, summary, devices as list_devices

bdyn, models_dir, bad_dir = sys.argv[1], sys.argv[2], sys.argv[3]


def run(args):
    return run_bdyn(bdyn, args, timeout=900)


devices = list_devices(bdyn)
out = tempfile.mkdtemp()
for model in sorted(glob.glob(os.path.join(models_dir, "*.json"))):
    name = os.path.basename(model)[:-5]
    rc, text = run(["check", model])
    if not check(rc == 0, "check %s: %s" % (name, text.splitlines()[0][:160] if text else "")):
        continue
    ref = None
    for dev in devices:
        d = os.path.join(out, name + "." + dev)
        rc, text = run(["run", model, "--device", dev, "--duration", "100 ms", "--out", d])
        if not check(rc == 0, "run %s on %s: %s" % (name, dev, text.splitlines()[-1][:200] if text else "")):
            continue
        man = json.load(open(os.path.join(d, "manifest.json")))
        counts = {p: v["spikes"] for p, v in man["populations"].items()}
        traces = {}
        for mon in man["monitors"]:
            if mon.get("kind") == "var":
                traces[mon["name"]] = read_npy(os.path.join(d, mon["name"] + ".npy"))[1]
        check(all(os.path.getsize(os.path.join(d, f)) > 0 for f in os.listdir(d)), "%s on %s: %d files written" %
              (name, dev, len(os.listdir(d))))
        if ref is None:
            ref = (counts, traces)
            continue
        worst = max([abs(counts[p] - ref[0][p]) / max(ref[0][p], 1) for p in counts] or [0])
        check(set(counts) == set(ref[0]) and worst <= 0.02,
              "%s on %s: population spike counts %s within 2 %% of cpu's %s (worst %.2f %%)" %
              (name, dev, counts, ref[0], 100 * worst))
        for mon, vals in traces.items():
            rv = ref[1][mon]
            span = max(max(rv) - min(rv), 1e-9)
            err = max(abs(a - b) for a, b in zip(vals, rv)) / span if vals else 0
            check(len(vals) == len(rv) and err <= 1e-3, "%s on %s: trace %s within 1e-3 of its range of cpu's "
                  "(%.1e)" % (name, dev, mon, err))

# Checkpoint half way, resume: the same final state (checkpoint bytes) and the same spikes as one run.
coba = os.path.join(models_dir, "coba.json")
ck = {k: os.path.join(out, "ck_" + k) for k in ("a", "b1", "b2")}
rc1, t1 = run(["run", coba, "--device", "cpu", "--duration", "100 ms", "--checkpoint", ck["a"] + ".bin", "--out", ck["a"]])
rc2, t2 = run(["run", coba, "--device", "cpu", "--duration", "50 ms", "--checkpoint", ck["b1"] + ".bin", "--out", ck["b1"]])
rc3, t3 = run(["run", coba, "--device", "cpu", "--duration", "100 ms", "--resume", ck["b1"] + ".bin", "--checkpoint",
               ck["b2"] + ".bin", "--out", ck["b2"]])
if check(rc1 == rc2 == rc3 == 0, "checkpoint runs: %s | %s | %s" % (t1[-80:], t2[-80:], t3[-80:])):
    same_state = open(ck["a"] + ".bin", "rb").read() == open(ck["b2"] + ".bin", "rb").read()
    same_spikes = True
    for pop in ("E", "I"):
        for f in ("_i.npy", "_t.npy"):
            whole = read_npy(os.path.join(ck["a"], "spikes_" + pop + f))[1]
            parts = read_npy(os.path.join(ck["b1"], "spikes_" + pop + f))[1] + read_npy(os.path.join(ck["b2"], "spikes_" + pop + f))[1]
            same_spikes = same_spikes and whole == parts
    check(same_state and same_spikes, "coba 50 ms + checkpoint + 50 ms equals 100 ms on cpu: state bytes %s, "
          "spikes %s" % ("identical" if same_state else "DIFFER", "identical" if same_spikes else "DIFFER"))

# A result folder whose parents do not exist yet is created (as scripts/main's out/coba on a fresh clone).
nested = os.path.join(out, "fresh", "out", "lif")
rc, text = run(["run", os.path.join(models_dir, "lif_single.json"), "--device", "cpu", "--out", nested])
check(rc == 0 and os.path.exists(os.path.join(nested, "manifest.json")), "run into a new nested folder: %s" % text[-120:])

# Bad models: `bdyn check` exits 2 with a located message (test_model_load checks every message).
for bad in sorted(glob.glob(os.path.join(bad_dir, "*.json")))[:8]:
    rc, text = run(["check", bad])
    check(rc == 2 and re.search(r"\.json:\d+:\d+: ", text) is not None, "check %s exits 2 with a location: %s" %
          (os.path.basename(bad), text.splitlines()[0][:160] if text else ""))
summary(", 0 skipped")
