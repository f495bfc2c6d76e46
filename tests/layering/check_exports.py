#!/usr/bin/env python3
"""tests/layering/check_exports.py LIB INCLUDE_DIR: libtessera exports exactly
its public API. Every dynamic symbol it defines is a tess_ name declared in
include/tessera/ (nothing internal leaks: ck_*, deck_*, pinn_* helpers stay
hidden), and every function a public header declares is exported."""
import re, subprocess, sys, pathlib

lib, inc = sys.argv[1], pathlib.Path(sys.argv[2])
out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
exported = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3 and l.split()[1] in "TDBRVWi"}
declared = set()
for h in sorted(inc.glob("*.h")):
    text = re.sub(r"/\*.*?\*/", " ", h.read_text(), flags=re.S)
    text = re.sub(r"#define[^\n]*(\\\n[^\n]*)*", " ", text)          # macros call, not declare
    for name in re.findall(r"\b(tess_\w+)\s*\(", text):
        if not re.search(r"_(t|fn)$", name):                          # typedef'd function types
            declared.add(name)
bad = 0
for s in sorted(exported - declared):
    print(f"exports: libtessera exports {s}, which no public header declares"); bad = 1
for s in sorted(declared - exported):
    print(f"exports: {s} is declared in include/tessera/ but not exported"); bad = 1
if not bad:
    print(f"exports ok: {len(exported)} symbols, all declared in include/tessera/")
sys.exit(bad)
