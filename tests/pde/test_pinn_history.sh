#!/usr/bin/env bash
# tests/pde/test_pinn_history.sh APP DECK NP: the pinn study's loss_history.csv.
# 1. A history that cannot be written (the file is a link to /dev/full, and
#    where we are root, a full tmpfs as run.output_dir) is a runtime error
#    (exit 4) naming loss_history.csv and the reason, at NP ranks; before the
#    fix the run ended with exit 0 and an empty file.
# 2. Restart after a killed run: the output directory holds the rows up to
#    the checkpoint (step 60) followed by rows a killed run wrote after it --
#    some of them twice, the last one torn -- and --restart must leave the
#    file byte for byte equal to the uninterrupted run's (truth: that run).
set -u
APP="$1"; DECK="$2"; NP="${3:-2}"
W=$(mktemp -d); MNT=""
trap '[ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
MPI="mpirun --oversubscribe -n $NP"
S=(--set 'model.hidden=[8,8]' --set train.adam_steps=80 --set train.lbfgs_steps=20
   --set pde.points=200 --set boundary.points=64 --set train.chunk=32
   --set 'report.grid=[9,9]' --set checkpoint.every_steps=60)
fail() { echo "FAIL: $*"; exit 1; }

# 1a. /dev/full
mkdir full
ln -s /dev/full full/loss_history.csv
$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="full"' --set 'checkpoint.dir="ckf"' > f.txt 2>&1
rc=$?
[ $rc = 4 ] && grep -q "loss_history.csv.*No space left on device" f.txt || { cat f.txt; fail "/dev/full history gave exit $rc"; }
grep -q "final loss" f.txt && { cat f.txt; fail "/dev/full: the run went on to its report"; }
echo "/dev/full: exit 4, $(grep -o 'full/loss_history.csv[^(]*' f.txt | head -1)"

# 1b. a full tmpfs (root only)
if [ "$(id -u)" = 0 ] && mkdir mnt && mount -t tmpfs -o size=256k tessera_hist "$W/mnt" 2>/dev/null; then
  MNT="$W/mnt"
  mkdir mnt/out
  dd if=/dev/zero of=mnt/filler bs=4k 2>/dev/null   # fill it to the last block
  $MPI "$APP" "$DECK" "${S[@]}" --set "run.output_dir=\"$MNT/out\"" --set 'checkpoint.dir="ckt"' > t.txt 2>&1
  rc=$?
  # tessera_app writes run.output_dir/status.toml before any work (docs/signals.md), so a disk
  # full from the start is found there; either way: exit 4 with the ENOSPC message
  [ $rc = 4 ] && grep -Eq "(loss_history.csv|run.output_dir).*No space left on device" t.txt || { cat t.txt; fail "full tmpfs gave exit $rc"; }
  echo "full tmpfs: exit 4, $(grep -Eo '(loss_history.csv|run.output_dir)[^:]*' t.txt | head -1)"
  umount "$MNT"; MNT=""
else
  echo "full tmpfs: skipped (needs root and mount)"
fi

# 2. restart after a kill, simulated: rows after the checkpoint, duplicates, a torn line
$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="a"' --set 'checkpoint.dir="cka"' > a.txt 2>&1 || { cat a.txt; fail "uninterrupted run"; }
[ "$(wc -l < a/loss_history.csv)" = 101 ] || fail "uninterrupted history has $(wc -l < a/loss_history.csv) lines"
mkdir b
{ head -n 61 a/loss_history.csv; sed -n 62,75p a/loss_history.csv; sed -n 62,66p a/loss_history.csv
  sed -n 67p a/loss_history.csv | head -c 20; } > b/loss_history.csv
$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="b"' --set 'checkpoint.dir="ckb"' \
  --restart cka/pinn_000000060.h5 > b.txt 2>&1 || { cat b.txt; fail "restart"; }
cmp a/loss_history.csv b/loss_history.csv || { diff a/loss_history.csv b/loss_history.csv | head; fail "history after restart differs"; }
# a restart into a fresh directory says where the earlier rows are
$MPI "$APP" "$DECK" "${S[@]}" --set 'run.output_dir="c"' --set 'checkpoint.dir="ckc"' \
  --restart cka/pinn_000000060.h5 > c.txt 2>&1 || { cat c.txt; fail "restart into a new directory"; }
grep -q "had 0 of the 60 rows" c.txt || { cat c.txt; fail "no note about the missing rows"; }
[ "$(wc -l < c/loss_history.csv)" = 41 ] && tail -n 40 c/loss_history.csv | cmp - <(tail -n 40 a/loss_history.csv) \
  || fail "fresh-directory restart rows"
# 3. a real hard kill: the app alone (no mpirun, so the kill reaches the
#    process that writes), SIGKILL soon after its first checkpoint, then
#    --restart from its newest checkpoint at NP ranks; truth: the same deck
#    uninterrupted.
K=(--set train.adam_steps=12000 --set train.lbfgs_steps=10 --set checkpoint.every_steps=500 --set checkpoint.keep=3)
"$APP" "$DECK" "${S[@]}" "${K[@]}" --set 'run.output_dir="k"' --set 'checkpoint.dir="ckk"' > k.txt 2>&1 &
kpid=$!
for i in $(seq 1 600); do [ -e ckk/pinn_000000500.h5 ] && break; sleep 0.1; done
sleep 0.3
kill -9 $kpid 2>/dev/null; wait $kpid 2>/dev/null
echo "killed at $(tail -c 60 k/loss_history.csv | tail -n 1 | cut -c1-30)... ($(wc -l < k/loss_history.csv) lines on disk)"
last=$(ls ckk/pinn_*.h5 2>/dev/null | sort | tail -1)
[ -n "$last" ] || fail "the killed run left no checkpoint"
if [ "$last" = ckk/pinn_000012010.h5 ]; then echo "kill: the run finished before the kill (machine too fast); restart still checked"; fi
$MPI "$APP" "$DECK" "${S[@]}" "${K[@]}" --set 'run.output_dir="k"' --set 'checkpoint.dir="ckk2"' --restart "$last" > k2.txt 2>&1 \
  || { cat k2.txt; fail "restart after kill"; }
$MPI "$APP" "$DECK" "${S[@]}" "${K[@]}" --set 'run.output_dir="u"' --set 'checkpoint.dir="cku"' > u.txt 2>&1 || fail "uninterrupted 12010 steps"
cmp u/loss_history.csv k/loss_history.csv || { diff u/loss_history.csv k/loss_history.csv | head; fail "history after kill + restart from $last differs"; }
echo "hard kill: restart from $last, history byte-identical to the uninterrupted run"
echo "pinn history: full disk is exit 4 naming the file; restart history byte-identical; ok"
