#!/usr/bin/env bash
# tests/pde/test_pinn_progress.sh APP DECK NP: the pinn study prints progress
# lines (step, rate, ETA) every run.progress_seconds, as docs/app.md promises,
# and a final line with the steps it ran; after --restart the step numbers
# continue from the checkpoint and only the steps run count; 0 turns them off.
set -u
APP="$1"; DECK="$2"; NP="${3:-2}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe -n $NP"
S=(--set 'model.hidden=[16,16]' --set train.adam_steps=400 --set train.lbfgs_steps=50
   --set pde.points=300 --set boundary.points=64 --set 'report.grid=[9,9]' --set 'run.output_dir="o"'
   --set 'checkpoint.dir="ck"' --set checkpoint.every_steps=200 --set checkpoint.keep=5)
fail() { echo "FAIL: $*"; exit 1; }
$MPI "$APP" "$DECK" "${S[@]}" --set run.progress_seconds=0.01 > a.out 2> a.err || { cat a.out a.err; fail "run"; }
grep -qE "^pinn: step [0-9]+/450  [0-9.e+]+ steps/s  ETA [0-9]+ s$" a.err || { cat a.err; fail "no progress line"; }
grep -q "^pinn: 450 steps in " a.err || { cat a.err; fail "no final progress line"; }
echo "$(grep -c '^pinn: step' a.err) progress lines, e.g. '$(grep -m1 '^pinn: step' a.err)'"
$MPI "$APP" "$DECK" "${S[@]}" --set run.progress_seconds=0.01 --restart ck/pinn_000000200.h5 > b.out 2> b.err \
  || { cat b.out b.err; fail "restart"; }
first=$(grep -m1 -oE "^pinn: step [0-9]+" b.err | grep -oE "[0-9]+$")
[ -n "$first" ] && [ "$first" -gt 200 ] && grep -q "^pinn: 250 steps in " b.err || { cat b.err; fail "restart progress"; }
$MPI "$APP" "$DECK" "${S[@]}" --set run.progress_seconds=0 > c.out 2> c.err || fail "run without progress"
grep -q "^pinn: step [0-9]*/" c.err && fail "progress lines with run.progress_seconds = 0"
echo "pinn progress at $NP ranks: ok"
