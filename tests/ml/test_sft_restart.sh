#!/usr/bin/env bash
# tests/ml/test_sft_restart.sh APP DECK: checkpoint and restart of the `sft`
# study. Truth: the same deck run straight through on 1 rank. A run of K
# steps on 2 ranks, restarted from its checkpoint on 3 ranks to N, and one
# resumed (--resume) on 4 ranks, must print the straight run's losses of
# every step (17 digits) and its final line and sample, and leave a final
# checkpoint whose parameters and AdamW moments are bitwise the straight
# run's (extracted by h5dump, an independent reader, and compared with cmp).
# SIGUSR1 checkpoints and exits 5, and that checkpoint restarts on 3 ranks
# onto the straight trajectory. A checkpoint of another model shape or dtype
# is refused naming the file and the dataset.
set -u
APP="$1"; DECK="$2"
command -v h5dump > /dev/null || { echo "no h5dump (hdf5-tools): skipped"; exit 77; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe"
N=10 K=4
S=(--set model.d_model=32 --set model.n_head=2 --set train.batch=6 --set train.seq_len=32
   --set sample.tokens=24 --set report.every=1)
run() {   # run NP OUT ARGS...: fails the test on a non-zero exit
  local np=$1 out=$2; shift 2
  $MPI -n "$np" "$APP" "$DECK" "${S[@]}" "$@" > "$out" 2>&1
  local rc=$?
  [ $rc = 0 ] || { cat "$out"; echo "FAIL: $out (exit $rc)"; exit 1; }
}
run 1 straight.txt --set train.steps=$N --set 'checkpoint.dir="a"'
run 2 first.txt --set train.steps=$K --set 'checkpoint.dir="b"'
ck=$(printf "b/sft_%09d.h5" $K)
[ -f "$ck" ] || { ls -R; echo "FAIL: no checkpoint $ck after $K steps"; exit 1; }
run 3 second.txt --set train.steps=$N --set 'checkpoint.dir="b"' --restart "$ck"
grep -q "restarted from $ck at step $K on 3 ranks" second.txt || { cat second.txt; echo "FAIL: no restart line"; exit 1; }
run 2 c1.txt --set train.steps=$K --set 'checkpoint.dir="c"'
run 4 c2.txt --set train.steps=$N --set 'checkpoint.dir="c"' --resume

losses() { grep -hE "^sft: step [0-9]+ loss" "$@" | sed 's/  .*//'; }
tail_lines() { grep -E "final loss|sample:" "$1"; }
losses straight.txt > s.txt
[ "$(wc -l < s.txt)" = $N ] || { cat straight.txt; echo "FAIL: expected $N loss lines"; exit 1; }
losses first.txt second.txt > r.txt
losses c1.txt c2.txt > q.txt
cmp -s s.txt r.txt || { diff s.txt r.txt; echo "FAIL: restarted trajectory (2 -> 3 ranks) differs"; exit 1; }
cmp -s s.txt q.txt || { diff s.txt q.txt; echo "FAIL: resumed trajectory (2 -> 4 ranks) differs"; exit 1; }
[ "$(tail_lines straight.txt)" = "$(tail_lines second.txt)" ] && [ "$(tail_lines straight.txt)" = "$(tail_lines c2.txt)" ] \
  || { tail_lines straight.txt; tail_lines second.txt; tail_lines c2.txt; echo "FAIL: final loss or sample differ"; exit 1; }
fin=$(printf "sft_%09d.h5" $N)
for d in a b c; do
  for ds in params adam_m adam_v; do
    h5dump -d /gpt/$ds -b LE -o $d.$ds.bin $d/$fin > /dev/null || { echo "FAIL: h5dump $d/$fin /gpt/$ds"; exit 1; }
  done
done
for ds in params adam_m adam_v; do
  [ -s a.$ds.bin ] && cmp -s a.$ds.bin b.$ds.bin && cmp -s a.$ds.bin c.$ds.bin \
    || { echo "FAIL: final /gpt/$ds differs from the straight run's"; exit 1; }
done
echo "trajectory of $N steps and final parameters bitwise equal: 1 rank straight, 2 -> 3 ranks restarted, 2 -> 4 resumed"

# a signal: SIGUSR1 to mpirun checkpoints at the next step and exits 5; the
# restart from that checkpoint on 3 ranks continues the straight trajectory.
# (Where mpirun does not forward SIGUSR1, OMPI_MCA_plm=isolated: docs/signals.md, skipped.)
if [ "${OMPI_MCA_plm:-}" != isolated ]; then
$MPI -n 2 "$APP" "$DECK" "${S[@]}" --set train.steps=1000000 --set 'checkpoint.dir="g"' > g.txt 2>&1 &
pid=$!
for _ in $(seq 300); do grep -q "^sft: step 3 " g.txt && break; sleep 0.1; done
kill -USR1 $pid
wait $pid
rc=$?
gck=$(sed -n 's/^sft: checkpoint \(.*\)$/\1/p' g.txt | tail -1)
[ $rc = 5 ] && [ -f "$gck" ] && grep -q "stopped by a signal after writing a checkpoint" g.txt \
  || { cat g.txt; echo "FAIL: SIGUSR1 gave exit $rc, checkpoint '$gck'"; exit 1; }
gstep=$((10#$(basename "$gck" .h5 | sed 's/sft_//')))
G=$((gstep + 3))
run 1 gs.txt --set train.steps=$G --set 'checkpoint.dir="gs"'
run 3 gr.txt --set train.steps=$G --set 'checkpoint.dir="g"' --restart "$gck"
losses gs.txt | tail -3 > gs3.txt
losses gr.txt > gr3.txt
cmp -s gs3.txt gr3.txt && [ "$(tail_lines gs.txt)" = "$(tail_lines gr.txt)" ] \
  || { diff gs3.txt gr3.txt; echo "FAIL: the restart after SIGUSR1 (step $gstep) left the straight trajectory"; exit 1; }
echo "SIGUSR1 at step $gstep: exit 5, checkpoint $gck; restarted on 3 ranks to $G: bitwise the straight run"
fi

# refusals: another width (the config dataset), another dtype (the parameters' dtype)
bad() {   # bad NEEDLE ARGS...: exit 4 and a message naming the file and NEEDLE
  local needle=$1; shift
  $MPI -n 2 "$APP" "$DECK" "${S[@]}" --set train.steps=$N --set 'checkpoint.dir="e"' --restart "$ck" "$@" > e.txt 2>&1
  local rc=$?
  [ $rc = 4 ] && grep -q "^error: $ck: dataset '$needle'" e.txt || { cat e.txt; echo "FAIL: $* gave exit $rc"; exit 1; }
  grep "^error:" e.txt
}
bad gpt/config --set model.d_model=64
bad gpt/params --set 'model.dtype="f64"'
echo "sft restart: ok"
