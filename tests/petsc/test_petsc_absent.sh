#!/usr/bin/env bash
# tests/petsc/test_petsc_absent.sh APP DECK: in a build without PETSc the
# poisson deck still validates (--dry-run, exit 0) and running it fails with
# exit 4 saying PETSc is missing and how to get it.
set -u
APP="$1"; DECK="$2"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
"$APP" "$DECK" --dry-run --set "run.output_dir=\"$W/o\"" > "$W/d.txt" 2>&1 || { cat "$W/d.txt"; echo "FAIL: --dry-run"; exit 1; }
"$APP" "$DECK" --set "run.output_dir=\"$W/o\"" > "$W/r.txt" 2>&1
rc=$?
[ $rc = 4 ] && grep -q "built without PETSc" "$W/r.txt" && grep -q "petsc-dev" "$W/r.txt" ||
  { cat "$W/r.txt"; echo "FAIL: exit $rc without the message"; exit 1; }
echo "without PETSc: --dry-run validates, the run exits 4: $(grep -o 'built without PETSc[^:]*' "$W/r.txt" | head -1)"
