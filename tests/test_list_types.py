#!/usr/bin/env python3
"""`bdyn list-types` against the lib files themselves: every type of every models/lib/*.json is listed once,
with its kind, file, doc, equations, and each parameter's default and unit (the unit read here from the
equations' declaration `name : unit`, independently of the C code); --markdown has a section per kind and a
subsection per type; a folder in $BDYN_MODEL_PATH adds its lib/*.json; bad names and kinds exit 2.
Plain Python 3 (no numpy)."""
import glob, json, os, re, shutil, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdtest import check, run_bdyn, summary

bdyn, models_dir = sys.argv[1], sys.argv[2]


def run(args, env=None):
    return run_bdyn(bdyn, args, env=env, timeout=300, separate=True)


def declared_units(equations):
    """name -> unit of every declaration `name : unit [(flags)]` (parameters), read from the statements."""
    units = {}
    for stmt in equations:
        stmt = stmt.split("#")[0].strip()
        # the flags of docs/equations.md end a statement in parentheses; a unit may hold parentheses too
        stmt = re.sub(r"\(\s*(constant|shared|unless refractory)(\s*,\s*(constant|shared|unless refractory))*\s*\)$",
                      "", stmt).strip()
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$", stmt)
        if m:
            units[m.group(1)] = m.group(2).strip()
    return units


# the expectation: every type of every lib file, straight from the JSON
expected = {}
for path in sorted(glob.glob(os.path.join(models_dir, "lib", "*.json"))):
    data = json.load(open(path))
    for name, t in data.get("types", {}).items():
        expected.setdefault(name, []).append(("lib/" + os.path.basename(path), t))
dups = {n: [f for f, _ in v] for n, v in expected.items() if len(v) > 1}
check(not dups, "no type is defined in two lib files%s" % ("" if not dups else ": " + "; ".join(
    "%s in %s" % (n, ", ".join(f)) for n, f in sorted(dups.items()))))
nfiles = len(glob.glob(os.path.join(models_dir, "lib", "*.json")))

rc, out, err = run(["list-types", "--json"])
if not check(rc == 0, "list-types --json runs (%d lib files, %d types): %s" % (nfiles, len(expected), err.strip()[:300])):
    summary()
listed = json.loads(out)
by_name = {}
for t in listed:
    by_name.setdefault(t["name"], []).append(t)
missing = sorted(set(expected) - set(by_name))
extra = sorted(set(by_name) - set(expected))
twice = sorted(n for n, v in by_name.items() if len(v) > 1)
check(not missing and not extra and not twice, "every type listed once: %d listed, %d expected; missing %s, extra %s, twice %s"
      % (len(listed), len(expected), missing[:10], extra[:10], twice[:10]))

bad = []
for name, defs in sorted(expected.items()):
    if name not in by_name:
        continue
    got, (file, t) = by_name[name][0], defs[0]
    if got["kind"] != t["kind"] or got["file"] != file or got["doc"] != t.get("doc", ""):
        bad.append("%s: kind/file/doc %s %s" % (name, got["kind"], got["file"]))
        continue
    eqs = t.get("equations", [])
    eqs = eqs if isinstance(eqs, list) else [eqs]
    if got["equations"] != "\n".join(eqs):
        bad.append("%s: equations differ" % name)
    units = declared_units("\n".join(eqs).split("\n"))
    params = {p["name"]: p for p in got["params"]}
    for pname, default in t.get("params", {}).items():
        p = params.get(pname)
        if p is None:
            bad.append("%s.%s not listed" % (name, pname))
        elif p["default"] != (default if isinstance(default, str) else json.dumps(default)) and \
                not (isinstance(default, (int, float)) and p["default"] is not None and float(p["default"]) == default):
            bad.append("%s.%s default %r, want %r" % (name, pname, p["default"], default))
        elif t["kind"] != "group" and p["unit"] != units.get(pname, ""):
            bad.append("%s.%s unit %r, declared %r" % (name, pname, p["unit"], units.get(pname)))
    # every declared parameter is listed too, with its unit
    for pname, unit in units.items():
        if pname in params and params[pname]["unit"] != unit:
            bad.append("%s.%s unit %r, declared %r" % (name, pname, params[pname]["unit"], unit))
check(not bad, "kind, file, doc, equations, every default and unit as in the lib files (%d types, %d parameters): %s" % (
    len(expected), sum(len(d[0][1].get("params", {})) for d in expected.values()), "; ".join(bad[:8])))

nodoc = sorted(n for n, d in expected.items() if not d[0][1].get("doc"))
check(not nodoc, "every type has a doc string: without one %s" % nodoc[:10])

# Markdown: one section per kind present, one subsection per type, its doc's first words and a parameter row
rc, md, err = run(["list-types", "--markdown"])
heads = set(re.findall(r"^### (\S+)$", md, re.M))
kinds = {d[0][1]["kind"] for d in expected.values()}
sections = re.findall(r"^## .*\(kind `([a-z]+)`\)$|^## Kind `([a-z]+)`$", md, re.M)
sect_kinds = {a or b for a, b in sections}
check(rc == 0 and heads == set(expected) and kinds <= sect_kinds,
      "--markdown: a subsection per type (%d of %d) and a section per kind (%s)" % (len(heads & set(expected)),
                                                                                  len(expected), sorted(sect_kinds)))
rows_ok = all(("| `%s` |" % p) in md for d in expected.values() for p in d[0][1].get("params", {}))
check(rows_ok, "--markdown: a table row for every parameter with a default")

# one type, a kind filter, --brief
name = sorted(expected)[0]
rc, out, err = run(["list-types", name])
check(rc == 0 and out.startswith(name + "  (") and ("parameters:" in out or not expected[name][0][1].get("params")),
      "list-types %s shows that type: %s" % (name, out.splitlines()[0] if out else err.strip()))
kind = expected[name][0][1]["kind"]
rc, out, err = run(["list-types", "--kind", kind, "--brief"])
names = [l.split()[0] for l in out.splitlines()]
want = sorted(n for n, d in expected.items() if d[0][1]["kind"] == kind)
check(rc == 0 and sorted(names) == want, "--kind %s --brief lists its %d types" % (kind, len(want)))
rc, out, err = run(["list-types", "NoSuchType"])
check(rc == 2 and "NoSuchType" in err, "an unknown type name exits 2 and names it: %s" % err.strip())
rc, out, err = run(["list-types", "--kind", "bogus"])
check(rc == 2 and "bogus" in err, "an unknown kind exits 2 and names it: %s" % err.strip())

# a folder in $BDYN_MODEL_PATH contributes its lib/*.json, like model includes
tmp = tempfile.mkdtemp()
os.makedirs(os.path.join(tmp, "lib"))
with open(os.path.join(tmp, "lib", "zz_extra_test.json"), "w") as f:
    json.dump({"bdyn": 1, "types": {"ZzTestNeuron": {
        "kind": "neuron", "doc": "A test type.", "params": {"tau": "7 ms"},
        "equations": ["dV/dt = -V / tau : mV", "tau : ms"], "threshold": "V > 1"}}}, f)
env = dict(os.environ, BDYN_MODEL_PATH=tmp)
rc, out, err = run(["list-types", "ZzTestNeuron", "--json"], env)
ok = rc == 0 and json.loads(out)[0]["file"] == "lib/zz_extra_test.json" and \
    json.loads(out)[0]["params"][0] == {"name": "tau", "default": "7 ms", "unit": "ms", "role": "parameter"}
check(ok, "a lib folder in $BDYN_MODEL_PATH adds its types (tau 7 ms, unit ms): %s" % (out.strip()[:200] or err.strip()))

shutil.rmtree(tmp, ignore_errors=True)
summary()
