#!/usr/bin/env python3
"""Deterministic mode across devices (issue 6): COBA and COBAHH at N = 4000 (models/coba.json,
models/cobahh.json, spike monitors only) for 1 s on every device `bdyn devices` lists.

- With --deterministic every device must give the cpu's spike trains exactly: every spike's element
  index and time (the step), E and I.
- Without it (the devices push events with atomics) every population rate must agree with the cpu's
  within 2 %.
- The cpu's own result must not depend on its thread count or on the flag (its push adds in the pull's
  order): 1 and 2 threads, with and without --deterministic, give the same bits; also at N = 150000 for
  50 ms, where the population kernels, the compaction and the push into E run on both threads
  (backends/cpu/cpu_push.c).

BDYN_DET_DURATION (ms, default 1000) shortens the runs (the sanitizer pass uses it).
usage: test_deterministic.py BDYN MODELS_DIR"""
import json, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bdtest
from bdtest import check

bdyn, models = sys.argv[1], os.path.abspath(sys.argv[2])
duration = os.environ.get("BDYN_DET_DURATION", "1000")
devs = bdtest.devices(bdyn)
tmp = tempfile.mkdtemp(prefix="bdyn-det-")


def spec(name, n=None):
    """The shipped model with its spike monitors only (the traces are not what this test compares), scaled
    to n neurons with 80 expected connections per presynaptic neuron when n is given."""
    with open(os.path.join(models, name + ".json")) as f:
        m = json.load(f)
    m["include"] = [os.path.join(models, inc) for inc in m["include"]]
    m["monitors"] = {k: v for k, v in m["monitors"].items() if "spikes" in v}
    if n:
        m["populations"]["E"]["size"], m["populations"]["I"]["size"] = n * 4 // 5, n - n * 4 // 5
        for proj in m["projections"].values():
            proj["conn"] = {"fixed_prob": 80.0 / n}
    return m


def run(name, device, extra, n=None, dur=None):
    tag = "%s%s_%s_%s" % (name, n or "", device.replace(":", ""), "_".join(x.strip("-") for x in extra) or "plain")
    out = os.path.join(tmp, tag)
    rc, text = bdtest.run_model(bdyn, spec(name, n), os.path.join(tmp, tag + ".json"), out, device=device,
                                extra=["--duration", dur or duration] + list(extra), timeout=900)
    if not check(rc == 0, "%s on %s %s runs" % (name, device, " ".join(extra))):
        print(text)
        return None
    with open(os.path.join(out, "manifest.json")) as f:
        man = json.load(f)
    trains = {}
    for pop in ("E", "I"):
        trains[pop] = (bdtest.read_values(os.path.join(out, "spikes_%s_i.npy" % pop)),
                       bdtest.read_values(os.path.join(out, "spikes_%s_t.npy" % pop)))
    return man, trains


def same_trains(a, b):
    """None when equal, else where they first differ."""
    for pop in ("E", "I"):
        (ia, ta), (ib, tb) = a[pop], b[pop]
        if len(ia) != len(ib):
            return "%s: %d vs %d spikes" % (pop, len(ia), len(ib))
        for k in range(len(ia)):
            if ia[k] != ib[k] or ta[k] != tb[k]:
                return "%s: spike %d is (%d, %.1f ms) vs (%d, %.1f ms)" % (pop, k, ia[k], ta[k], ib[k], tb[k])
    return None


for name in ("coba", "cobahh"):
    ref = run(name, "cpu", ["--deterministic", "--threads", "1"])
    if not ref:
        continue
    man0, trains0 = ref
    spikes0 = {p: man0["populations"][p]["spikes"] for p in ("E", "I")}
    check(min(spikes0.values()) > 0, "%s: both populations spike on cpu (%s)" % (name, spikes0))
    for extra in (["--threads", "2"], ["--deterministic", "--threads", "2"]):
        got = run(name, "cpu", extra)
        if got:
            diff = same_trains(trains0, got[1])
            check(diff is None, "%s: cpu %s gives the 1-thread spike trains bit for bit%s" %
                  (name, " ".join(extra), "" if diff is None else ": " + diff))
    for dev in devs:
        if dev == "cpu":
            continue
        got = run(name, dev, ["--deterministic"])
        if got:
            diff = same_trains(trains0, got[1])
            n = sum(spikes0.values())
            check(diff is None, "%s --deterministic: %s's spike trains equal cpu's (%d spikes, every index and step)%s"
                  % (name, dev, n, "" if diff is None else ": " + diff))
        got = run(name, dev, [])
        if got:
            for pop in ("E", "I"):
                r0, r = man0["populations"][pop]["mean_rate_hz"], got[0]["populations"][pop]["mean_rate_hz"]
                check(abs(r - r0) <= 0.02 * r0, "%s without --deterministic: %s rate of %s %.3f Hz within 2 %% of "
                      "cpu's %.3f Hz" % (name, dev, pop, r, r0))

big = [run("coba", "cpu", ["--threads", t], n=150000, dur="50") for t in ("1", "2")]
if big[0] and big[1]:
    diff = same_trains(big[0][1], big[1][1])
    n = sum(big[0][0]["populations"][p]["spikes"] for p in ("E", "I"))
    check(diff is None, "coba 150k: cpu with 2 threads (parallel kernels, compaction and push) gives the 1-thread spike trains bit for bit "
          "(%d spikes)%s" % (n, "" if diff is None else ": " + diff))

bdtest.summary()
