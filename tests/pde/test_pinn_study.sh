#!/usr/bin/env bash
# tests/pde/test_pinn_study.sh APP DECK [--set ...]: the `pinn` study end to
# end, small (extra arguments go to every run: --set 'run.device="cuda"' runs
# it on the GPU path; with TESS_TEST_GPU=1 a first run that finds no GPU is
# exit 77, skipped).
# Run the seed deck (shrunk by --set) on 2 ranks with a checkpoint at step 60,
# then restart from that checkpoint on 3 ranks: the final loss (printed with
# 17 digits) and the reported errors must be identical, and the PNGs, the
# loss history and both checkpoints must exist (the output directory's parent
# does not exist beforehand). Truth: the uninterrupted run. An output
# directory that is a file is a runtime error naming run.output_dir.
set -u
APP="$1"; DECK="$2"; shift 2
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe"
S=(--set 'model.hidden=[16,16]' --set train.adam_steps=80 --set train.lbfgs_steps=40
   --set pde.points=300 --set boundary.points=100 --set train.chunk=64
   --set 'run.output_dir="out/run1"' --set 'checkpoint.dir="ck"' --set checkpoint.every_steps=60
   --set 'report.grid=[31,31]' "$@")
if ! $MPI -n 2 "$APP" "$DECK" "${S[@]}" > a.txt 2>&1; then
  if [ "${TESS_TEST_GPU:-0}" = 1 ] && grep -qE "sees no GPU|no CUDA \+ cuBLAS" a.txt; then
    echo "pinn study: no GPU here: skipped"; exit 77
  fi
  cat a.txt; echo "FAIL: first run"; exit 1
fi
for f in out/run1/loss_history.csv out/run1/pinn_u.png out/run1/pinn_v_error.png ck/pinn_000000060.h5 ck/pinn_000000120.h5; do
  [ -s "$f" ] || { echo "FAIL: $f missing"; exit 1; }
done
[ "$(wc -l < out/run1/loss_history.csv)" = 121 ] || { echo "FAIL: loss history rows"; exit 1; }
$MPI -n 3 "$APP" "$DECK" "${S[@]}" --restart ck/pinn_000000060.h5 > b.txt 2>&1 || { cat b.txt; echo "FAIL: restart"; exit 1; }
a=$(grep -E "final loss|error of" a.txt | sed 's/(first.*//'); b=$(grep -E "final loss|error of" b.txt | sed 's/(first.*//')
echo "$a"
[ -n "$a" ] && [ "$a" = "$b" ] || { echo "FAIL: restart on 3 ranks differs:"; echo "$b"; exit 1; }
# a bad residual is a deck error naming the key (exit 3)
$MPI -n 1 "$APP" "$DECK" "${S[@]}" --set 'pde.definitions=["u = grad(psi, \"q\")"]' > c.txt 2>&1
rc=$?
[ $rc = 3 ] && grep -q "pde.definitions" c.txt || { cat c.txt; echo "FAIL: bad expression gave exit $rc"; exit 1; }
# an output directory that cannot be made: exit 4, naming the key
: > notadir
$MPI -n 2 "$APP" "$DECK" "${S[@]}" --set train.adam_steps=1 --set train.lbfgs_steps=0 \
  --set 'run.output_dir="notadir"' > d.txt 2>&1
rc=$?
[ $rc = 4 ] && grep -q "run.output_dir" d.txt || { cat d.txt; echo "FAIL: output dir on a file gave exit $rc"; exit 1; }
echo "pinn study: restart on another rank count identical; ok"
