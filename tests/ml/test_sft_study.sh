#!/usr/bin/env bash
# tests/ml/test_sft_study.sh APP DECK: the `sft` study end to end, small.
# Truth for the determinism: the same deck on 1 rank; the final loss (17
# digits) and the sample must be identical on 2 and 3 ranks; the loss must
# fall from about ln 256 (GPT-2's near-uniform start). Bad decks: exit 3
# naming the key.
set -u
APP="$1"; DECK="$2"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe"
S=(--set model.d_model=32 --set model.n_head=2 --set train.steps=30 --set train.batch=6
   --set train.seq_len=32 --set sample.tokens=24 --set report.every=30)
for np in 1 2 3; do
  $MPI -n $np "$APP" "$DECK" "${S[@]}" > r$np.txt 2>&1 || { cat r$np.txt; echo "FAIL: run on $np ranks"; exit 1; }
done
a=$(grep -E "final loss|sample:" r1.txt)
echo "$a"
[ "$(echo "$a" | wc -l)" = 2 ] || { cat r1.txt; echo "FAIL: no final loss / sample line"; exit 1; }
for np in 2 3; do
  b=$(grep -E "final loss|sample:" r$np.txt)
  [ "$a" = "$b" ] || { echo "FAIL: $np ranks differ from 1:"; echo "$b"; exit 1; }
done
read -r l0 l1 <<< "$(sed -n 's/.*loss \([0-9.]*\) -> \([0-9.]*\).*/\1 \2/p' r1.txt)"
python3 -c "import math,sys; sys.exit(0 if abs($l0-math.log(256))<0.1 and $l1<$l0-0.5 else 1)" \
  || { echo "FAIL: loss $l0 -> $l1 (expected a start near ln 256 = 5.545 and a drop)"; exit 1; }
$MPI -n 1 "$APP" "$DECK" "${S[@]}" --dry-run > d.txt 2>&1 && grep -q "planned work: GPT" d.txt \
  || { cat d.txt; echo "FAIL: dry run"; exit 1; }
$MPI -n 1 "$APP" "$DECK" "${S[@]}" --set model.n_head=3 > e.txt 2>&1
rc=$?; [ $rc = 3 ] && grep -q "model.d_model" e.txt || { cat e.txt; echo "FAIL: d_model 32 over 3 heads gave exit $rc"; exit 1; }
$MPI -n 1 "$APP" "$DECK" "${S[@]}" --set 'data.text="no/such/file"' > f.txt 2>&1
rc=$?; [ $rc = 3 ] && grep -q "data.text" f.txt && grep -q "no/such/file" f.txt \
  || { cat f.txt; echo "FAIL: a missing text gave exit $rc"; exit 1; }
echo "sft study: ok"
