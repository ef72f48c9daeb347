#!/usr/bin/env python3
"""`bdyn integrate` end to end: every shipped system in examples/integrate runs on every device, writes
its manifest, NPY trajectories and traces figure, and agrees with the cpu run within a stated
tolerance; bad system files and options fail with exit code 1 or 2 and a message naming the file,
line, column or option. Plain Python (no numpy): NPY files are read with struct."""
import json, os, re, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, read_npy, run_bdyn, summary, devices as list_devices

bdyn, examples = sys.argv[1], sys.argv[2]


def run(args):
    return run_bdyn(bdyn, ["integrate"] + args)


devices = list_devices(bdyn)
# Per system: the tolerance against cpu (max abs difference over the final state, relative to its scale).
# Chaotic systems are compared over a short horizon, where rounding differences have not grown yet.
systems = {
    "van_der_pol.json": ([], 1e-9),
    "hh_squid.json": (["--duration", "20 ms"], 1e-6),
    "lorenz.json": (["--duration", "5 ms"], 1e-6),
    "ornstein_uhlenbeck.json": ([], 1e-9),
    "mackey_glass.json": (["--duration", "200 ms"], 1e-9),
    "fractional_relaxation.json": (["--duration", "2 ms"], 1e-9),
}
out = tempfile.mkdtemp()
for name, (extra, tol) in systems.items():
    ref = None
    for dev in devices:
        d = os.path.join(out, name + "." + dev)
        rc, text = run([os.path.join(examples, name), "--device", dev, "--out", d] + extra)
        if not check(rc == 0, "%s on %s runs (%s)" % (name, dev, text.strip().splitlines()[-1] if text.strip() else "")):
            continue
        man = json.load(open(os.path.join(d, "manifest.json")))
        check(os.path.getsize(os.path.join(d, "traces.png")) > 0, "%s on %s: traces.png" % (name, dev))
        final = []
        for var in man["variables"]:
            shape, vals = read_npy(os.path.join(d, var["file"]))
            check(len(shape) == 2 and shape[0] == man["nrec"], "%s on %s: %s has shape (samples, n)" % (name, dev, var["file"]))
            final += vals[-shape[1]:]
        finite = all(v == v and abs(v) < 1e30 for v in final)
        check(finite, "%s on %s: final state finite" % (name, dev))
        if ref is None:
            ref = final
            continue
        scale = max(1.0, max(abs(v) for v in ref))
        err = max(abs(a - b) for a, b in zip(ref, final)) / scale
        check(err <= tol, "%s on %s: final state within %g of %s (%.2e)" % (name, dev, tol, devices[0], err))

# Bad input: status, exit code and a message that says where.
bad = os.path.join(out, "bad")
os.makedirs(bad)


def write(name, text):
    p = os.path.join(bad, name)
    with open(p, "w") as f:
        f.write(text)
    return p


cases = [
    (write("malformed.json", '{\n  "equations": ["dx/dt = -x / ms : 1"],\n  "init": {"x": 1,}\n}\n'), [], 1,
     r"malformed\.json:3:\d+: malformed JSON"),
    (write("key.json", '{\n  "equations": ["dx/dt = -x / ms : 1"],\n  "inits": {"x": 1}\n}\n'), [], 1,
     r"key\.json:3:\d+: at \$\.inits.*did you mean 'init'"),
    (write("method.json", '{"equations": ["dx/dt = -x / ms : 1"],\n "integrate": {"method": "rk5"}}\n'), [], 1,
     r"method\.json:2:\d+: at \$\.integrate\.method.*unknown method"),
    (write("ident.json", '{\n  "equations": [\n    "dx/dt = -x / tua : 1",\n    "tau : ms (constant)"\n  ]\n}\n'),
     [], 1, r"ident\.json:3:\d+:.*'tua'.*did you mean 'tau'"),
    (write("units.json", '{\n  "equations": [\n    "dv/dt = (v - E) / tau : mV",\n    "E : mV (constant)",\n'
           '    "tau : mV (constant)"\n  ]\n}\n'), [], 1, r"units\.json:3:\d+:"),
    (os.path.join(examples, "van_der_pol.json"), ["--dt", "-1"], 1, r"dt"),
    (os.path.join(examples, "van_der_pol.json"), ["--precision", "f16"], 2, r"--precision"),
    (os.path.join(examples, "van_der_pol.json"), ["--device", "nosuch:3"], 1, r"nosuch:3"),
    (os.path.join(bad, "missing.json"), [], 1, r"missing\.json"),
]
for path, extra, want_rc, pattern in cases:
    rc, text = run([path, "--device", "cpu", "--out", os.path.join(bad, "o")] + extra)
    check(rc == want_rc and re.search(pattern, text, re.S) is not None,
          "bad input %s %s: exit %d (want %d), message /%s/: %s" % (os.path.basename(path), " ".join(extra), rc,
                                                                 want_rc, pattern, text.strip()))
summary(", 0 skipped")
