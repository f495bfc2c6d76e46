#!/usr/bin/env python3
"""tests/layering/check_exports.py LIB INCLUDE_DIR [PETSC_LIB]: libtessera
exports exactly its public API. Every dynamic symbol it defines is a tess_
name declared in include/tessera/ (nothing internal leaks: ck_*, deck_*,
pinn_* helpers stay hidden), and every function a public header declares is
exported (static inline helpers defined in a header, such as rng.h's
host/device Philox rounds, are not library symbols). tessera/petsc*.h belong to libtessera_petsc: checked against
PETSC_LIB the same way where it is built, left out otherwise."""
import re, subprocess, sys, pathlib

ADAPTERS = {"petsc.h", "petsc_poisson.h", "petsc_ts.h"}          # headers of the adapter libraries, not of libtessera


def exports(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    linker = {"__bss_start", "_edata", "_end", "_init", "_fini"}   # the linker's own markers
    return {l.split()[-1] for l in out.splitlines()
            if len(l.split()) == 3 and l.split()[1] in "TDBRVWi" and l.split()[-1] not in linker}


def declarations(headers):
    declared = set()
    for h in headers:
        text = re.sub(r"/\*.*?\*/", " ", h.read_text(), flags=re.S)
        text = re.sub(r"#define[^\n]*(\\\n[^\n]*)*", " ", text)          # macros call, not declare
        for m in re.finditer(r"\b(tess_\w+)\s*\(", text):
            name = m.group(1)
            start = max(text.rfind(";", 0, m.start()), text.rfind("}", 0, m.start()))
            if re.search(r"\bstatic\b", text[start + 1:m.start()]):       # header-only inline: not exported
                continue
            if not re.search(r"_(t|fn)$", name):                          # typedef'd function types
                declared.add(name)
    return declared


def compare(libname, exported, declared):
    bad = 0
    for s in sorted(exported - declared):
        print(f"exports: {libname} exports {s}, which no public header of it declares"); bad = 1
    for s in sorted(declared - exported):
        print(f"exports: {s} is declared in include/tessera/ but {libname} does not export it"); bad = 1
    if not bad:
        print(f"exports ok: {libname}: {len(exported)} symbols, all declared in include/tessera/")
    return bad


lib, inc = sys.argv[1], pathlib.Path(sys.argv[2])
headers = sorted(inc.glob("*.h"))
bad = compare("libtessera", exports(lib), declarations(h for h in headers if h.name not in ADAPTERS))
if len(sys.argv) > 3 and sys.argv[3]:
    bad |= compare("libtessera_petsc", exports(sys.argv[3]),
                   declarations(h for h in headers if h.name in ADAPTERS))
sys.exit(bad)
