#!/usr/bin/env python3
"""models/decision_making_wang2002.json (Wang 2002, Neuron 36:955, as BrainPy defines it): 20 trials (seeds 1-20) on
cpu at coherence 25.6 %. The winner of a trial is the selective group with the higher mean rate in the delay period
(1100-1600 ms, no stimulus): the favoured group A must win at least 80 % of the trials (Wang 2002 Fig. 2: about 90 %
correct at this coherence). Sanity checks: winner-take-all with working memory (the winner keeps firing above 15 Hz
through the delay while the loser stays below 5 Hz, in at least 18 of 20 trials); low spontaneous rates before the
stimulus; and the stimulus itself: the per-50-ms-bin rates drawn by rateA/rateB have the mean mu = 40*(1 +- c/100) Hz and
sd 10 Hz over the 400 bins of each group, are 0 outside 100-1100 ms, and the spike counts of the stimulus groups match
240 * sum over bins of max(rate, 0) * 50 ms (Poisson, within 4 sd).
The trials run two at a time (one thread each). Plain Python (no numpy): NPY files are read with struct."""
import json, math, os, re, struct, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

bdyn, model = sys.argv[1], sys.argv[2]
passed = failed = 0
# 20 trials; the sanitizer pass of scripts/test runs the first 4 (BDYN_DM_TRIALS) to keep CI short: the
# 80 % criterion is measured in the normal build
SEEDS = range(1, 1 + int(os.environ.get("BDYN_DM_TRIALS", "20")))
C = 25.6
MU = {"A": 40 * (1 + C / 100), "B": 40 * (1 - C / 100)}


def check(ok, what):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print("PASS" if ok else "FAIL", what)
    return ok


def read_npy(path):
    data = open(path, "rb").read()
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hlen].decode()
    shape = tuple(int(x) for x in re.search(r"'shape': \(([^)]*)\)", header).group(1).split(",") if x.strip())
    fmt = {"<i4": "i", "<f8": "d", "<f4": "f"}[re.search(r"'descr': '([^']*)'", header).group(1)]
    count = 1
    for s in shape:
        count *= s
    return list(struct.unpack("<%d%s" % (count, fmt), data[10 + hlen:10 + hlen + struct.calcsize(fmt) * count]))


out = tempfile.mkdtemp()


def trial(seed):
    d = os.path.join(out, "seed%d" % seed)
    t0 = time.time()
    p = subprocess.run([bdyn, "run", model, "--device", "cpu", "--threads", "1", "--seed", str(seed), "--out", d],
                       capture_output=True, text=True, timeout=1200)
    return seed, p.returncode, (p.stdout + p.stderr).strip(), time.time() - t0, d


def rate(times, lo, hi, n=240):
    """mean rate (Hz) of a group of n neurons from its spike times (ms) in [lo, hi) ms"""
    return sum(1 for x in times if lo <= x < hi) / n / ((hi - lo) * 1e-3)


t0 = time.time()
with ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(trial, SEEDS))
wall = time.time() - t0
print("%d trials in %.1f s wall (two at a time), %.1f s per trial" % (len(results), wall,
                                                                        sum(r[3] for r in results) / len(results)))

a_wins = persistent = 0
bins = {"A": [], "B": []}
outside_zero = True
stim_ok = []
print("seed  pre A/B (Hz)  late stim A/B (Hz)  delay A/B (Hz)  winner")
for seed, rc, text, secs, d in results:
    if not check(rc == 0, "seed %d runs (%.1f s): %s" % (seed, secs, text.splitlines()[-1][:160] if text else "")):
        continue
    spk = {g: read_npy(os.path.join(d, "spikes_%s_t.npy" % g)) for g in "AB"}
    pre = {g: rate(spk[g], 50, 100) for g in "AB"}
    late = {g: rate(spk[g], 600, 1100) for g in "AB"}
    delay = {g: rate(spk[g], 1100, 1600) for g in "AB"}
    win, lose = ("A", "B") if delay["A"] > delay["B"] else ("B", "A")
    a_wins += win == "A"
    persistent += delay[win] > 15 and delay[lose] < 5
    print("%4d  %5.2f %5.2f    %6.2f %6.2f       %6.2f %6.2f    %s" % (seed, pre["A"], pre["B"], late["A"], late["B"],
                                                                     delay["A"], delay["B"], win))
    check(pre["A"] < 10 and pre["B"] < 10, "seed %d: spontaneous rates before the stimulus %.2f, %.2f Hz < 10 Hz" %
          (seed, pre["A"], pre["B"]))
    # The stimulus: the rate sample of the step ending at t (ms) is the rate used from then on.
    man = json.load(open(os.path.join(d, "manifest.json")))
    for g in "AB":
        r = read_npy(os.path.join(d, "r_%s.npy" % g))
        t = read_npy(os.path.join(d, "r_%s_t.npy" % g))
        dt = t[1] - t[0]
        val = lambda ms: r[int(round(ms / dt)) - 1]
        drawn = [val(100 + 50 * k + 25) for k in range(20)]
        bins[g] += drawn
        outside_zero = outside_zero and all(val(ms) == 0 for ms in (50, 99.9, 1100.1, 1350, 1599.9))
        expected = 240 * sum(max(x, 0) * 0.05 for x in drawn)
        got = man["populations"]["stim" + g]["spikes"]
        stim_ok.append(abs(got - expected) <= 4 * math.sqrt(expected) + 2)
        if not stim_ok[-1]:
            print("  stim%s: %d spikes, expected %.0f" % (g, got, expected))

n = len(results)
check(a_wins >= 0.8 * n, "coherence %.1f %%: A (mu %.2f Hz) wins %d of %d trials (%.0f %%; B mu %.2f Hz); need >= 80 %%" %
      (C, MU["A"], a_wins, n, 100.0 * a_wins / n, MU["B"]))
check(persistent >= n - 2, "winner-take-all with persistent activity: winner > 15 Hz and loser < 5 Hz through the delay "
      "in %d of %d trials (need >= %d)" % (persistent, n, n - 2))
for g in "AB":
    x = bins[g]
    m = sum(x) / len(x)
    sd = math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))
    se = 10 / math.sqrt(len(x))
    check(abs(m - MU[g]) < 4 * se and abs(sd - 10) < 4 * 10 / math.sqrt(2 * (len(x) - 1)),
          "stimulus rate of %s over %d bins: mean %.2f Hz (mu %.2f, 4 se %.2f), sd %.2f Hz (10)" %
          (g, len(x), m, MU[g], 4 * se, sd))
check(outside_zero, "stimulus rates are 0 before 100 ms and after 1100 ms in every trial")
check(stim_ok and all(stim_ok), "stimulus spike counts match 240 * sum max(rate, 0) * 50 ms within 4 sd (%d of %d groups)"
      % (sum(stim_ok), len(stim_ok)))
print("%d passed, %d failed, 0 skipped" % (passed, failed))
sys.exit(1 if failed else 0)
