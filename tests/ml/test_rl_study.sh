#!/usr/bin/env bash
# tests/ml/test_rl_study.sh APP RL_DECK SFT_DECK: the `rl` study end to end.
# Truth for the determinism: the demo deck on 1 rank; every step's reward,
# KL and loss (17 digits), the final line and the sample must be identical
# on 2, 3 and 4 ranks. The reward must improve: the mean of the last 5
# steps at least 0.2 above the mean of the first 5 (computed here from the
# per-step lines, not taken from the summary). A policy started from an sft
# checkpoint (model.init) runs; one of another shape is refused naming the
# file and dataset; a context too short for prompt + completion is a deck
# error (exit 3) naming model.ctx. The target rule with the reference's
# log-likelihood added gives the same bits on 1 and 3 ranks. A checkpoint
# after 4 steps on 2 ranks, restarted on 3 (--restart) and resumed on 4
# (--resume), continues the straight run's lines exactly.
set -u
APP="$1"; DECK="$2"; SFT="$3"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe"
S=(--set train.steps=20 --set report.every=1)
for np in 1 2 3 4; do
  $MPI -n $np "$APP" "$DECK" "${S[@]}" > r$np.txt 2>&1 || { cat r$np.txt; echo "FAIL: run on $np ranks"; exit 1; }
  grep -E "^rl: (step|final|sample)" r$np.txt | sed 's/  [0-9]* completion tokens\/s$//' > k$np.txt
done
[ "$(grep -c '^rl: step' k1.txt)" = 20 ] || { cat r1.txt; echo "FAIL: expected 20 step lines"; exit 1; }
for np in 2 3 4; do
  cmp -s k1.txt k$np.txt || { diff k1.txt k$np.txt; echo "FAIL: $np ranks differ from 1"; exit 1; }
done
grep -E "final|sample" k1.txt
python3 - k1.txt <<'PY' || exit 1
import re, sys
r = [float(m.group(1)) for m in (re.match(r"rl: step \d+ reward (\S+)", l) for l in open(sys.argv[1])) if m]
a, b = sum(r[:5]) / 5, sum(r[-5:]) / 5
print(f"reward: first 5 steps {a:.4f}, last 5 {b:.4f}")
sys.exit(0 if b >= a + 0.2 else print("FAIL: the reward did not improve by 0.2") or 1)
PY
# the other rule and the reference's log-likelihood in the reward: the same bits on 1 and 3 ranks
R=(--set train.steps=5 --set report.every=1 --set 'reward.kind="target"' --set reward.ref_weight=0.5)
for np in 1 3; do
  $MPI -n $np "$APP" "$DECK" "${R[@]}" > t$np.txt 2>&1 || { cat t$np.txt; echo "FAIL: target reward on $np ranks"; exit 1; }
  grep -E "^rl: (step|final|sample)" t$np.txt | sed 's/  [0-9]* completion tokens\/s$//' > u$np.txt
done
[ "$(grep -c '^rl: step' u1.txt)" = 5 ] && cmp -s u1.txt u3.txt || { diff u1.txt u3.txt; echo "FAIL: target + reference reward differs"; exit 1; }
# checkpoint and restart: 4 steps on 2 ranks, --restart on 3 ranks to 20, and
# 4 on 2 ranks then --resume on 4: the straight 1-rank run's lines exactly
C=(--set report.every=1 --set 'checkpoint.dir="ck"')
$MPI -n 2 "$APP" "$DECK" "${C[@]}" --set train.steps=4 > a1.txt 2>&1 || { cat a1.txt; echo "FAIL: 4 steps"; exit 1; }
$MPI -n 3 "$APP" "$DECK" "${C[@]}" --set train.steps=20 --restart ck/rl_000000004.h5 > a2.txt 2>&1 \
  || { cat a2.txt; echo "FAIL: restart"; exit 1; }
grep -q "restarted from ck/rl_000000004.h5 at step 4 on 3 ranks" a2.txt || { cat a2.txt; echo "FAIL: no restart line"; exit 1; }
C=(--set report.every=1 --set 'checkpoint.dir="cr"')
$MPI -n 2 "$APP" "$DECK" "${C[@]}" --set train.steps=4 > b1.txt 2>&1 || { cat b1.txt; echo "FAIL: 4 steps"; exit 1; }
$MPI -n 4 "$APP" "$DECK" "${C[@]}" --set train.steps=20 --resume > b2.txt 2>&1 || { cat b2.txt; echo "FAIL: resume"; exit 1; }
for x in a b; do
  cat ${x}1.txt ${x}2.txt | grep -E "^rl: step" | sed 's/  [0-9]* completion tokens\/s$//' > ${x}k.txt
  grep -E "^rl: (final|sample)" ${x}2.txt >> ${x}k.txt
  cmp -s k1.txt ${x}k.txt || { diff k1.txt ${x}k.txt; echo "FAIL: the restarted run ($x) left the straight trajectory"; exit 1; }
done
summary() { grep "^rl: reward" "$1" | sed 's/ kl \([^,]*\),.*/ kl \1/'; }   # without the timings
[ "$(summary r1.txt)" = "$(summary a2.txt)" ] || { summary r1.txt; summary a2.txt; echo "FAIL: the summary after a restart"; exit 1; }
echo "checkpoint at step 4 on 2 ranks, restarted on 3 and resumed on 4: the straight trajectory"
$MPI -n 1 "$APP" "$DECK" --dry-run > d.txt 2>&1 && grep -q "planned work: GPT" d.txt || { cat d.txt; echo "FAIL: dry run"; exit 1; }
$MPI -n 1 "$APP" "$DECK" --set model.ctx=16 > e.txt 2>&1
rc=$?; [ $rc = 3 ] && grep -q "model.ctx" e.txt || { cat e.txt; echo "FAIL: ctx 16 for 8 + 16 bytes gave exit $rc"; exit 1; }
# from an sft model of the same shape (3 steps), then one of another context
M=(--set model.d_model=32 --set model.n_head=2)
$MPI -n 2 "$APP" "$SFT" "${M[@]}" --set train.seq_len=32 --set train.steps=3 --set sample.tokens=0 \
  --set 'checkpoint.dir="sft"' > s.txt 2>&1 || { cat s.txt; echo "FAIL: sft run"; exit 1; }
$MPI -n 3 "$APP" "$DECK" "${M[@]}" --set train.steps=3 --set 'model.init="sft/sft_000000003.h5"' > i.txt 2>&1 \
  && grep -q "rl: policy from sft/sft_000000003.h5" i.txt || { cat i.txt; echo "FAIL: rl from an sft checkpoint"; exit 1; }
$MPI -n 2 "$APP" "$DECK" "${M[@]}" --set model.ctx=24 --set train.steps=3 --set 'model.init="sft/sft_000000003.h5"' > j.txt 2>&1
rc=$?; [ $rc = 4 ] && grep -q "^error: sft/sft_000000003.h5: dataset 'gpt/config'.*ctx" j.txt \
  || { cat j.txt; echo "FAIL: an init checkpoint of another context gave exit $rc"; exit 1; }
echo "rl study: ok"
