#!/usr/bin/env bash
# bench/run_checkpoint.sh: checkpoint write bandwidth vs `dd conv=fsync`
# writing the same number of bytes into the same directory, interleaved in
# one run (dd, tessera, dd, tessera, ...), at 1 and 2 ranks. Medians go to
# bench/results/checkpoint.md. Knobs: BYTES (default 1 GiB), REPS (7),
# BENCH_DIR (default build/bench-ckpt: the disk the build lives on).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${TESS_BUILD:-$ROOT/build}"
BYTES="${BYTES:-1073741824}"
REPS="${REPS:-7}"
DIR="${BENCH_DIR:-$BUILD/bench-ckpt}"
OUT="$ROOT/bench/results/checkpoint.md"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
[ -x "$BUILD/bench/bench_checkpoint" ] || { echo "build first (scripts/test.sh or cmake)"; exit 1; }
mkdir -p "$DIR"
BS=$((4 * 1024 * 1024))
COUNT=$((BYTES / BS))
# dd copies non-zero bytes (like the checkpoint's), from RAM (tmpfs), so a disk
# or hypervisor that special-cases zero blocks cannot flatter the anchor.
SRC=/dev/zero
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SRC=/dev/shm/tessera_bench_src.$$
  head -c "$BYTES" /dev/urandom > "$SRC"
  trap 'rm -f "$SRC"' EXIT
fi

calc() { awk "BEGIN { printf \"%.9f\", $1 }"; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

rows=""
for np in 1 2; do
  dd_t=(); ts_t=()
  for ((r = 0; r < REPS; r++)); do
    sync
    t0=$(date +%s.%N)
    dd if="$SRC" of="$DIR/dd.bin" bs=$BS count=$COUNT conv=fsync status=none
    t1=$(date +%s.%N)
    rm -f "$DIR/dd.bin"
    dd_t+=("$(calc "$t1 - $t0")")
    sync
    t=$(mpirun -n "$np" --oversubscribe "$BUILD/bench/bench_checkpoint" "$DIR" "$BYTES" 1 |
        awk '/tessera_seconds/ {print $2}')
    ts_t+=("$t")
    echo "np=$np rep=$r dd=${dd_t[-1]}s tessera=${t}s"
  done
  dmed=$(printf '%s\n' "${dd_t[@]}" | median)
  tmed=$(printf '%s\n' "${ts_t[@]}" | median)
  gib=$(calc "$BYTES / 1073741824")
  dbw=$(calc "$gib / $dmed")
  tbw=$(calc "$gib / $tmed")
  ratio=$(calc "$tbw / $dbw")
  rows+=$(printf '| %d | %.2f | %.3f | %.2f | %.3f | %.2f | **%.2f** |\n' "$np" "$gib" "$dmed" "$dbw" \
          "$tmed" "$tbw" "$ratio")$'\n'
done
rmdir "$DIR" 2>/dev/null || true

h5flavour=$(grep -q 'TESSERA_HAVE_PARALLEL_HDF5 1' "$BUILD/include/tessera/config.h" &&
            echo "parallel HDF5 (MPI-IO, collective write)" || echo "serial HDF5 (rank-0 I/O)")
{
  echo "# Checkpoint write bandwidth vs dd"
  echo
  echo "Run by \`bench/run_checkpoint.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores,"
  echo "$h5flavour, directory \`$DIR\` ($(df -T "$(dirname "$DIR")" | awk 'NR==2 {print $2}'))."
  echo "Tessera: \`tess_checkpoint_begin\` + \`write_array\` (one f64 array, rows sharded over"
  echo "the ranks) + \`commit\` (flush, fsync, rename, directory fsync), timed on rank 0"
  echo "between barriers. Anchor: \`dd bs=4M conv=fsync\` of the same bytes to"
  echo "the same directory, interleaved with the Tessera runs. Median of $REPS each."
  echo "dd reads from \`$SRC\` (random bytes in RAM when /dev/shm exists, else /dev/zero)."
  echo
  echo "| ranks | GiB | dd s | dd GiB/s | Tessera s | Tessera GiB/s | Tessera/dd |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  echo "Machine: $(nproc) cores, one virtual disk, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "A shared virtual disk makes single fsync'd writes swing by 3x, so each configuration"
  echo "runs $REPS interleaved pairs; the ratio of medians is the meaningful number."
  echo "Target: >= 0.8x of dd."
} > "$OUT"
cat "$OUT"
