"""Shared helpers of the Python tests in tests/ (plain Python 3 stdlib, no numpy).

A test imports it from its own folder:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bdtest

- check(ok, what) prints "PASS what" or "FAIL what", counts it and returns ok; summary() prints the counts and
  exits with status 1 when a check failed (0 otherwise).
- read_npy(path) -> (shape, values): NPY version 1/2 files of <f8, <f4, <i4, <i8, |u1 or |b1 (C order), values
  as one flat list; read_values(path) the flat list alone; columns(shape, values) splits a (samples, n)
  array into its n columns; read_monitor(values_path, t_path) -> (times, columns) of a var monitor.
- write_npy(path, values, shape=None, dtype="<f8") writes a C-order NPY file (values flat, or a list of rows).
- run_bdyn(bdyn, args, ...) -> (rc, output) runs the CLI; run_model(bdyn, model, path, out, ...) writes a model
  dict to path and runs it; devices(bdyn) lists the names `bdyn devices --json` prints.
- mean, pearson: the statistics several tests recompute independently of the C code."""
import json, math, re, struct, subprocess, sys

passed = failed = 0

# NPY descr -> struct code
_CODES = {"<f8": "d", "<f4": "f", "<i4": "i", "<i8": "q", "|u1": "B", "|b1": "?"}


def check(ok, what):
    """Prints PASS/FAIL and the description, counts the result, returns ok (so `if not check(...)` works)."""
    global passed, failed
    ok = bool(ok)
    passed, failed = passed + ok, failed + (not ok)
    print("PASS" if ok else "FAIL", what)
    return ok


def summary(note=""):
    """Prints "N passed, M failed" (and an optional note) and exits: 1 if any check failed, else 0."""
    print("%d passed, %d failed%s" % (passed, failed, note))
    sys.exit(1 if failed else 0)


def read_npy(path):
    """(shape, flat list of values) of an NPY file; the dtypes of _CODES only, C order."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("%s: not an NPY file" % path)
    if data[6] == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:  # versions 2 and 3: a 4-byte header length
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = data[start:start + hlen].decode("latin1")
    descr = re.search(r"'descr': '([^']*)'", header).group(1)
    if descr not in _CODES:
        raise ValueError("%s: dtype %s not supported here" % (path, descr))
    if "'fortran_order': True" in header:
        raise ValueError("%s: Fortran order not supported here" % path)
    shape = tuple(int(x) for x in re.search(r"'shape': \(([^)]*)\)", header).group(1).split(",") if x.strip())
    code = _CODES[descr]
    count = 1
    for s in shape:
        count *= s
    body = data[start + hlen:start + hlen + struct.calcsize(code) * count]
    return shape, list(struct.unpack("<%d%s" % (count, code), body))


def read_values(path):
    """The flat list of values of an NPY file (read_npy without the shape)."""
    return read_npy(path)[1]


def columns(shape, values):
    """A (samples, n) array as n lists (one per column); a 1-D array as one list."""
    n = shape[1] if len(shape) > 1 else 1
    return [values[c::n] for c in range(n)]


def read_monitor(values_path, t_path):
    """A var monitor's files as (times, [column 0 values, column 1 values, ...])."""
    shape, values = read_npy(values_path)
    return read_values(t_path), columns(shape, values)


def write_npy(path, values, shape=None, dtype="<f8"):
    """Writes values (a flat list, or a list of equal-length rows) as an NPY file; shape defaults to (len,) or
    (rows, cols); the header is padded so the data starts at a multiple of 64 bytes. Returns path."""
    if values and isinstance(values[0], (list, tuple)):
        if shape is None:
            shape = (len(values), len(values[0]))
        values = [x for row in values for x in row]
    if shape is None:
        shape = (len(values),)
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(values), _CODES[dtype]), *values))
    return path


def run_bdyn(bdyn, args, env=None, timeout=600, separate=False):
    """Runs `bdyn ARGS`; returns (exit status, stdout + stderr stripped), or with separate=True
    (exit status, stdout, stderr) unstripped."""
    p = subprocess.run([bdyn] + list(args), capture_output=True, text=True, env=env, timeout=timeout)
    if separate:
        return p.returncode, p.stdout, p.stderr
    return p.returncode, (p.stdout + p.stderr).strip()


def run_model(bdyn, model, path, out, device="cpu", env=None, extra=(), timeout=600):
    """Writes the model dict as JSON to path and runs `bdyn run path --device DEVICE --out OUT EXTRA`;
    returns (exit status, stdout + stderr stripped)."""
    with open(path, "w") as f:
        json.dump(model, f, indent=1)
    return run_bdyn(bdyn, ["run", path, "--device", device, "--out", out] + list(extra), env=env, timeout=timeout)


def devices(bdyn, info=False):
    """Names of the devices `bdyn devices --json` lists (cpu first); with info=True its whole entries (dicts
    with "name", "fp64", ...)."""
    p = subprocess.run([bdyn, "devices", "--json"], capture_output=True, text=True, timeout=120)
    listed = json.loads(p.stdout)
    return listed if info else [d["name"] for d in listed]


def mean(xs):
    return sum(xs) / len(xs)


def pearson(x, y):
    """Pearson correlation of two equal-length sequences."""
    mx, my = mean(x), mean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return sxy / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))
