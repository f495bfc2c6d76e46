#!/usr/bin/env python3
"""tests/toml/run_toml_test.py: run a TOML decoder over a toml-test style corpus.

usage: run_toml_test.py DECODER DIR [DIR...]

Each DIR holds valid/**/X.toml (+ X.json, the expected tagged JSON) and/or
invalid/**/X.toml. A valid case passes when the decoder exits 0 and its JSON
equals the expected JSON semantically: same tables and arrays, same tags,
integers by value, floats by value (nan == nan, -0.0 == 0.0), strings exactly,
offset date-times by instant, local date/times by their fields. An invalid case
passes when the decoder exits 1 with a message on stderr. A crash (signal,
sanitizer report, other exit code) or a hang (timeout) fails either kind.
The truth is the corpus' JSON, written by another implementation, never ours.
Exit status 0 only if every case passes; prints the counts either way.
"""
import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

TIMEOUT = 20
ENV = dict(os.environ)
# Make sanitizer failures distinguishable from an ordinary "invalid" exit.
ENV["ASAN_OPTIONS"] = ENV.get("ASAN_OPTIONS", "detect_leaks=1") + ":exitcode=86"
ENV["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=87"
# The decoder needs no BLAS threads; not starting them makes ~600 runs faster.
ENV["OPENBLAS_NUM_THREADS"] = "1"


def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


DATE = r"(\d{4})-(\d{2})-(\d{2})"
TIME = r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"


def frac(s):
    return Fraction(int(s), 10 ** len(s)) if s else Fraction(0)


def norm_datetime(kind, text):
    t = text.strip()
    if kind == "datetime":
        m = re.fullmatch(DATE + r"[Tt ]" + TIME + r"([Zz]|[+-]\d{2}:\d{2})", t)
        if not m:
            return ("bad", t)
        y, mo, d, h, mi, s, f, off = m.groups()
        secs = (days_from_civil(int(y), int(mo), int(d)) * 86400 + int(h) * 3600 + int(mi) * 60
                + int(s or 0))
        if off not in ("Z", "z"):
            sign = -1 if off[0] == "-" else 1
            secs -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
        return ("instant", secs + frac(f))
    if kind == "datetime-local":
        m = re.fullmatch(DATE + r"[Tt ]" + TIME, t)
        if not m:
            return ("bad", t)
        y, mo, d, h, mi, s, f = m.groups()
        return (int(y), int(mo), int(d), int(h), int(mi), int(s or 0), frac(f))
    if kind == "date-local":
        m = re.fullmatch(DATE, t)
        return tuple(map(int, m.groups())) if m else ("bad", t)
    m = re.fullmatch(TIME, t)
    if not m:
        return ("bad", t)
    h, mi, s, f = m.groups()
    return (int(h), int(mi), int(s or 0), frac(f))


def is_leaf(x):
    return (isinstance(x, dict) and set(x) == {"type", "value"}
            and isinstance(x["type"], str) and isinstance(x["value"], str))


def parse_float(s):
    s = s.strip().replace("_", "")
    if s.lstrip("+-") == "nan":
        return math.nan
    if s.lstrip("+-") == "inf":
        return -math.inf if s.startswith("-") else math.inf
    return float(s)


def equal(want, got, path, why):
    if is_leaf(want):
        if not is_leaf(got):
            why.append(f"{path}: expected a {want['type']} value, got {json.dumps(got)[:80]}")
            return False
        wt, gt = want["type"], got["type"]
        if wt != gt:
            why.append(f"{path}: expected type {wt}, got {gt}")
            return False
        wv, gv = want["value"], got["value"]
        if wt == "integer":
            ok = int(wv) == int(gv)
        elif wt == "float":
            a, b = parse_float(wv), parse_float(gv)
            ok = (math.isnan(a) and math.isnan(b)) or a == b
        elif wt in ("datetime", "datetime-local", "date-local", "time-local"):
            ok = norm_datetime(wt, wv) == norm_datetime(wt, gv)
        else:
            ok = wv == gv
        if not ok:
            why.append(f"{path}: expected {wt} {wv!r}, got {gv!r}")
        return ok
    if isinstance(want, dict):
        if not isinstance(got, dict) or is_leaf(got):
            why.append(f"{path}: expected a table, got {json.dumps(got)[:80]}")
            return False
        if set(want) != set(got):
            why.append(f"{path}: keys differ: missing {sorted(set(want) - set(got))}, "
                       f"extra {sorted(set(got) - set(want))}")
            return False
        return all(equal(want[k], got[k], f"{path}.{k}", why) for k in want)
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            why.append(f"{path}: expected an array of {len(want)}, got {json.dumps(got)[:80]}")
            return False
        return all(equal(w, g, f"{path}[{i}]", why) for i, (w, g) in enumerate(zip(want, got)))
    why.append(f"{path}: unexpected expected-JSON node {want!r}")
    return False


def run(decoder, path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        p = subprocess.run([decoder], input=data, capture_output=True, timeout=TIMEOUT, env=ENV)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout"
    return p.returncode, p.stdout, p.stderr


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    decoder = sys.argv[1]
    counts = {"valid": [0, 0], "invalid": [0, 0]}
    failures = []
    jobs = []
    for root in sys.argv[2:]:
        for kind in ("valid", "invalid"):
            base = os.path.join(root, kind)
            for d, _, files in os.walk(base):
                jobs += [(root, kind, os.path.join(d, f)) for f in files if f.endswith(".toml")]
    jobs.sort()
    # Each case is a process start; overlap them (the verdicts do not depend on order).
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda j: run(decoder, j[2]), jobs))
    for (root, kind, case), (rc, out, err) in zip(jobs, results):
        counts[kind][1] += 1
        name = os.path.relpath(case, root)
        crashed = rc is None or rc < 0 or rc not in (0, 1) or b"Sanitizer" in err
        if crashed:
            failures.append(f"{name}: CRASH/HANG (exit {rc}): {err.decode(errors='replace')[:1500]}")
            continue
        if kind == "invalid":
            if rc == 1 and err.strip():
                counts[kind][0] += 1
            else:
                failures.append(f"{name}: accepted, but it is invalid TOML")
            continue
        if rc != 0:
            failures.append(f"{name}: rejected: {err.decode(errors='replace').strip()}")
            continue
        with open(case[:-5] + ".json", encoding="utf-8") as f:
            want = json.load(f)
        try:
            got = json.loads(out.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            failures.append(f"{name}: decoder printed bad JSON: {e}")
            continue
        why = []
        if equal(want, got, "$", why):
            counts[kind][0] += 1
        else:
            failures.append(f"{name}: {why[0]}")
    for f in failures:
        print("FAIL", f)
    v, i = counts["valid"], counts["invalid"]
    print(f"toml conformance: valid {v[0]}/{v[1]} passed, invalid {i[0]}/{i[1]} rejected")
    return 0 if not failures and v[1] + i[1] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
