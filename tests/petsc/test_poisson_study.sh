#!/usr/bin/env bash
# tests/petsc/test_poisson_study.sh APP DECK NP: the poisson study through
# tessera_app under mpirun: the FFT solve meets the exact discrete solution
# to rounding and PETSc's KSP meets it to its tolerance (2-D and 3-D); PETSc
# options from the deck and from the command line (which wins); -log_view
# (PETSc's table) and --log-view (Tessera's) both print; a bad PETSc option
# is a runtime failure (exit 4) that names it.
set -u
APP="$1"; DECK="$2"; NP="$3"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
MPI="mpirun --oversubscribe -n $NP"
S=(--set "run.output_dir=\"$W/out\"" --set solver.rtol=1e-12)
fail() { echo "FAIL: $*"; exit 1; }
num() { sed -n "s/.*$1 \([0-9.e+-]*\).*/\1/p" "$2" | head -1; }
small() { awk -v x="$1" -v t="$2" 'BEGIN { exit !(x != "" && x + 0 < t + 0) }'; }

for grid in "[40, 27]" "[12, 10, 9]"; do
  len=$([ "$grid" = "[40, 27]" ] && echo "[1.0, 2.0]" || echo "[1.0, 1.5, 2.0]")
  $MPI "$APP" "$DECK" "${S[@]}" --set "grid.n=$grid" --set "grid.length=$len" > a.txt 2>&1 ||
    { cat a.txt; fail "grid $grid: exit $?"; }
  e=$(num "exact discrete solution" a.txt); r=$(num "PETSc residual" a.txt)
  k=$(num "max error" <(grep "KSP (PETSc" a.txt)); d=$(num "max difference" a.txt)
  small "$e" 1e-13 && small "$r" 1e-12 || { cat a.txt; fail "grid $grid: FFT error $e, residual $r"; }
  small "$k" 1e-9 && small "$d" 1e-9 || { cat a.txt; fail "grid $grid: KSP error $k, FFT vs KSP $d"; }
  grep -q "KSP (PETSc cg + gamg)" a.txt || { cat a.txt; fail "the deck's -ksp_type cg -pc_type gamg not used"; }
  echo "grid $grid at $NP ranks: FFT error $e, KSP error $k, FFT vs KSP $d"
done

# the command line over the deck; both logs
$MPI "$APP" "$DECK" "${S[@]}" --set 'grid.n=[24, 17]' --set 'grid.length=[1.0, 1.0]' \
  -ksp_type gmres -pc_type jacobi -log_view --log-view > b.txt 2>&1 || { cat b.txt; fail "gmres run"; }
grep -q "KSP (PETSc gmres + jacobi)" b.txt || { cat b.txt; fail "command-line PETSc options not used"; }
grep -q "PETSc Performance Summary" b.txt || { cat b.txt; fail "-log_view printed nothing"; }
grep -q "StudyRun" b.txt || { cat b.txt; fail "--log-view printed nothing"; }
# the deck's options alone
$MPI "$APP" "$DECK" "${S[@]}" --set 'grid.n=[24, 17]' --set 'grid.length=[1.0, 1.0]' \
  --set 'petsc.options="-ksp_type cg -pc_type jacobi"' > c.txt 2>&1 || { cat c.txt; fail "deck options run"; }
grep -q "KSP (PETSc cg + jacobi)" c.txt || { cat c.txt; fail "the deck's petsc.options not used"; }
# a PETSc option PETSc rejects
$MPI "$APP" "$DECK" "${S[@]}" --set 'grid.n=[24, 17]' --set 'grid.length=[1.0, 1.0]' -ksp_type nosuch > d.txt 2>&1
rc=$?
[ $rc = 4 ] && grep -q "nosuch" d.txt && grep -q "PETSc" d.txt || { cat d.txt; fail "-ksp_type nosuch: exit $rc"; }
echo "options: command line over deck, both logs, a bad option exits 4 naming it"
