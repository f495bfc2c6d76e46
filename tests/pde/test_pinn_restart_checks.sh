#!/usr/bin/env bash
# tests/pde/test_pinn_restart_checks.sh APP DECK NP: pinn --restart edge cases.
# Truth: an uninterrupted run of 80 Adam + 20 L-BFGS steps (checkpoints at 60
# and 100) at NP ranks.
# 1. From the final checkpoint: exit 0, "nothing left to do", 0 steps in the
#    summary, and the final loss and errors of the uninterrupted run (its last
#    step is L-BFGS, whose loss is at the final parameters), not "0 (first nan)".
# 2. From step 60 with a deck that now plans 50 steps: the same, honestly.
# 3. From step 60: the summary counts the 40 steps run (20 Adam), not 100.
# 4. A deck that differs in the network or the problem is exit 3 naming the
#    differing key (activation and dtype keep the parameter count, so before
#    this was checked a tanh checkpoint went on as a sin network).
set -u
APP="$1"; DECK="$2"; NP="${3:-2}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe -n $NP"
S=(--set 'model.hidden=[8,8]' --set train.adam_steps=80 --set train.lbfgs_steps=20
   --set pde.points=200 --set boundary.points=64 --set train.chunk=32
   --set 'report.grid=[9,9]' --set checkpoint.every_steps=60 --set 'checkpoint.dir="ck"')
fail() { echo "FAIL: $*"; exit 1; }
res() { grep -E "final loss|error of" "$1" | sed 's/(first.*//; s/(no steps.*//'; }

$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="a"' > a.txt 2>&1 || { cat a.txt; fail "uninterrupted run"; }
[ -s ck/pinn_000000100.h5 ] && [ -s ck/pinn_000000060.h5 ] || fail "checkpoints missing"
cp ck/pinn_000000060.h5 ck60.h5; cp ck/pinn_000000100.h5 ck100.h5

# 1. the final checkpoint
$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="b"' --restart ck100.h5 > b.txt 2>&1
rc=$?
[ $rc = 0 ] && grep -q "nothing left to do" b.txt && grep -q ", 0 steps (0 Adam)" b.txt || { cat b.txt; fail "final checkpoint: exit $rc"; }
grep -q "first nan" b.txt && fail "final checkpoint: still 'first nan'"
[ "$(res a.txt)" = "$(res b.txt)" ] && [ -n "$(res a.txt)" ] || { res a.txt; res b.txt; fail "final checkpoint: report differs"; }
cmp a/loss_history.csv b/loss_history.csv 2>/dev/null || [ "$(wc -l < b/loss_history.csv)" = 1 ] || fail "final checkpoint: history"
echo "final checkpoint: $(grep 'nothing left' b.txt | cut -c1-60)... report identical"

# 2. a step beyond what the deck plans
$MPI "$APP" "$DECK" "${S[@]}" --set train.adam_steps=40 --set train.lbfgs_steps=10 --set 'run.output_dir="c"' \
  --restart ck60.h5 > c.txt 2>&1
rc=$?
[ $rc = 0 ] && grep -q "nothing left to do: the checkpoint is at step 60 and the deck plans 50" c.txt \
  && ! grep -q "first nan" c.txt || { cat c.txt; fail "step 60 of 50: exit $rc"; }

# 3. steps counted
$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="d"' --restart ck60.h5 > d.txt 2>&1 || { cat d.txt; fail "restart at 60"; }
grep -q ", 40 steps (20 Adam) after step 60 in" d.txt || { grep "MLP" d.txt; fail "summary does not count the steps run"; }
[ "$(res a.txt)" = "$(res d.txt)" ] || fail "restart at 60: result differs"

# 4. incompatible decks: exit 3 naming the key
bad() {
  local key="$1"; shift
  $MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="e"' "$@" --restart ck60.h5 > e.txt 2>&1
  rc=$?
  [ $rc = 3 ] && grep -q "key '$key': --restart ck60.h5: the checkpoint was trained with $key = " e.txt \
    || { cat e.txt; fail "$key changed: exit $rc"; }
  grep -o "the checkpoint was trained with.*this deck has [^(]*" e.txt | head -1
}
bad model.activation --set 'model.activation="sin"'
bad model.dtype --set 'model.dtype="f32"'
bad model.hidden --set 'model.hidden=[8,9]'
bad pde.residuals --set "pde.residuals=['laplacian(psi) - forcing', 'grad(u, \"x\")']"
bad pde.definitions --set "pde.definitions=['u = grad(psi, \"y\")', 'v = -grad(psi, \"x\")', 'psi_exact = sin(pi*x)*sin(pi*y)', 'forcing = -pi^2*sin(pi*x)*sin(pi*y)']"
echo "pinn restart checks at $NP ranks: ok"
