#!/usr/bin/env bash
# tests/ml/test_sft_study.sh APP DECK: the `sft` study end to end, small.
# Truth for the determinism: the same deck on 1 rank; the final loss (17
# digits) and the sample must be identical on 2 and 3 ranks; the loss must
# fall from about ln 256 (GPT-2's near-uniform start). Bad decks: exit 3
# naming the key. With data.tokenizer = "bpe": the vocabulary line, the same
# bits on 1 and 3 ranks, a start near ln(vocabulary), the same run from the
# merges written to a file (data.bpe_file), and a bad merges file named with
# its line.
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
# byte-level BPE: 64 merges learned from the text, then the same merges from a file
B=("${S[@]}" --set 'data.tokenizer="bpe"' --set data.bpe_merges=64)
for np in 1 3; do
  $MPI -n $np "$APP" "$DECK" "${B[@]}" > b$np.txt 2>&1 || { cat b$np.txt; echo "FAIL: bpe run on $np ranks"; exit 1; }
done
grep -q "byte-level BPE, vocabulary 320 (merges learned from the text)" b1.txt \
  || { cat b1.txt; echo "FAIL: no BPE vocabulary line (256 + 64 merges)"; exit 1; }
a=$(grep -E "final loss|sample:" b1.txt); b=$(grep -E "final loss|sample:" b3.txt)
[ -n "$a" ] && [ "$a" = "$b" ] || { echo "FAIL: bpe on 3 ranks differs from 1:"; echo "$a"; echo "$b"; exit 1; }
read -r l0 l1 <<< "$(sed -n 's/.*loss \([0-9.]*\) -> \([0-9.]*\).*/\1 \2/p' b1.txt)"
python3 -c "import math,sys; sys.exit(0 if abs($l0-math.log(320))<0.1 and $l1<$l0-0.5 else 1)" \
  || { echo "FAIL: bpe loss $l0 -> $l1 (expected a start near ln 320 = 5.768 and a drop)"; exit 1; }
# the merges the study learned, by the same rule, written out by a tiny independent trainer
python3 - "$(sed -n 's/^data.text *= *"\(.*\)"/\1/p' "$DECK" | head -1)" > merges.txt <<'PY' || { echo "FAIL: writing merges"; exit 1; }
import sys
t = list(open(sys.argv[1] if sys.argv[1] else "/usr/share/common-licenses/GPL-3", "rb").read())
print("#tessera-bpe 1")
for r in range(64):
    c = {}
    for p in zip(t, t[1:]): c[p] = c.get(p, 0) + 1
    best = min(c, key=lambda p: (-c[p], p))
    if c[best] < 2: break
    print(best[0], best[1])
    out, i = [], 0
    while i < len(t):
        if i + 1 < len(t) and (t[i], t[i + 1]) == best: out.append(256 + r); i += 2
        else: out.append(t[i]); i += 1
    t = out
PY
$MPI -n 2 "$APP" "$DECK" "${B[@]}" --set "data.bpe_file=\"$W/merges.txt\"" > bf.txt 2>&1 \
  || { cat bf.txt; echo "FAIL: bpe from a merges file"; exit 1; }
c=$(grep -E "final loss|sample:" bf.txt)
[ "$a" = "$c" ] || { echo "FAIL: the merges written by python give another run:"; echo "$c"; exit 1; }
printf '#tessera-bpe 1\n97 98\n256 999\n' > bad.txt
$MPI -n 1 "$APP" "$DECK" "${B[@]}" --set "data.bpe_file=\"$W/bad.txt\"" > bb.txt 2>&1
rc=$?; [ $rc != 0 ] && grep -q "bad.txt:3" bb.txt || { cat bb.txt; echo "FAIL: a bad merges file gave exit $rc"; exit 1; }
echo "sft study: ok"
