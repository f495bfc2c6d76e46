#!/usr/bin/env bash
# bench/run_sum.sh: the exact sum (tess_sum_f64) against plain sums, on every
# data kind of bench_sum (uniform, normal, sign20, pos20, sign30, sign60, full), out of
# cache (2^27 doubles = 1 GiB) and in cache (2^16 doubles = 512 KiB), before
# and after: "before" is bench_sum of the tree at BEFORE_REV, "after" the
# CMake build here. The two binaries alternate kind by kind; inside each run
# every kernel is interleaved round by round and the best round is kept (a
# shared machine: the least disturbed). Then one multi-rank run counts
# MPI_Allreduce calls per sum. Writes bench/results/sum.md.
# Usage: bench/run_sum.sh [build-dir]   (ROUNDS_BIG, ROUNDS_SMALL, NP, BEFORE_REV
# (default HEAD: the last commit against the work tree) or BEFORE_BIN (a
# bench_sum binary of an older tree), KINDS, SIZES, OUT)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ROUNDS_BIG="${ROUNDS_BIG:-3}"
ROUNDS_SMALL="${ROUNDS_SMALL:-9}"
NP="${NP:-4}"
BEFORE_REV="${BEFORE_REV:-HEAD}"
KINDS="${KINDS:-uniform normal sign20 pos20 sign30 sign60 full}"
SIZES="${SIZES:-27 16}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if [ ! -x "$BUILD/bench/bench_sum" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j2 --target bench_sum >/dev/null
AFTER="$BUILD/bench/bench_sum"
OUT="${OUT:-$ROOT/bench/results/sum.md}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# "before": that revision's whole tree, built here (Release, no tests), or a
# bench_sum binary given as BEFORE_BIN; kernels the old library lacks print n/a
if [ -n "${BEFORE_BIN:-}" ]; then
  cp "$BEFORE_BIN" "$TMP/bench_before"
else
  mkdir -p "$TMP/before"
  git -C "$ROOT" archive "$BEFORE_REV" | tar -x -C "$TMP/before"
  cmake -S "$TMP/before" -B "$TMP/before/build" -DCMAKE_BUILD_TYPE=Release \
    -DTESSERA_BUILD_TESTS=OFF >/dev/null
  cmake --build "$TMP/before/build" -j2 --target bench_sum >/dev/null
  ln -s "$TMP/before/build/bench/bench_sum" "$TMP/bench_before"
fi

for k in $KINDS; do
  for size in $SIZES; do
    r=$ROUNDS_SMALL; [ "$size" = 27 ] && r=$ROUNDS_BIG
    echo "bench_sum: 2^$size $k, $r rounds (before, after)" >&2
    "$TMP/bench_before" "$size" "$r" "$k" > "$TMP/before_${size}_$k.txt" ||
      echo "(the older bench_sum has no data kind $k)" > "$TMP/before_${size}_$k.txt"
    "$AFTER" "$size" "$r" "$k" > "$TMP/after_${size}_$k.txt"
    cat "$TMP/before_${size}_$k.txt" "$TMP/after_${size}_$k.txt" >&2
  done
done
echo "bench_sum: mpi, 2 and $NP ranks" >&2
mpirun -n 2 "$AFTER" mpi | tee "$TMP/mpi.txt" >&2
mpirun -n "$NP" "$AFTER" mpi | tee -a "$TMP/mpi.txt" >&2

col() {   # file kernel field -> value (n/a if absent)
  awk -v k="$2" -v f="$3" '$1 == k && $2 == "best" { v = ($3 == "n/a") ? "n/a" : $f } END { print (v == "" ? "n/a" : v) }' "$1"
}
inv() { awk -v v="$1" 'BEGIN { if (v == "n/a" || v == 0) print "n/a"; else printf "%.2f", 1.0 / v }'; }
table() {   # size
  echo "| data | plain ns/elem | before: exact time/plain | after: exact time/plain | after: exact throughput/plain | superacc time/plain | bins | large | after/before speed-up |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for k in $KINDS; do
    b="$TMP/before_${1}_$k.txt"; a="$TMP/after_${1}_$k.txt"
    eb=$(col "$b" exact 12); ea=$(col "$a" exact 12)
    echo "| $k | $(col "$a" plain_simd 7) | $eb | $ea | **$(inv "$ea")** | $(col "$a" superacc 12) | $(col "$a" bins 12) | $(col "$a" large 12) | $(awk -v b="$eb" -v a="$ea" 'BEGIN { if (b == "n/a" || a == "n/a") print "n/a"; else printf "%.2fx", b / a }') |"
  done
}
{
  echo "# Exact sum vs the plain loop, by data kind (bench/run_sum.sh)"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
       "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared with other jobs: noisy;" \
       "ratios are taken inside one run, kernels interleaved round by round, best of $ROUNDS_BIG rounds" \
       "out of cache and $ROUNDS_SMALL in cache). Kernel chosen at run time: $(awk '{for(i=1;i<=NF;i++) if ($i ~ /^kernel_isa=/) {sub("kernel_isa=","",$i); print $i; exit}}' "$(ls "$TMP"/after_*.txt | head -1)")."
  echo
  echo "- *plain*: \`for (i) s += x[i]\` at -O3 with the widest vector ISA and reassociation"
  echo "  (\`plain_simd\` in bench_sum.c: what \`-O3 -march=native -ffast-math\` makes of it, several"
  echo "  vector accumulators). Not exact, not reproducible: the bandwidth reference. \"time/plain\" is"
  echo "  the exact sum's time over its time on the same data in the same run; throughput = 1/that."
  echo "- *before*: the library at ${BEFORE_BIN:+the tree of }${BEFORE_BIN:-$BEFORE_REV}."
  echo "- *after*: this tree: fixed bins (2-6 per SIMD lane), switching per block to the large superaccumulator"
  echo "  (docs/reductions.md); Inf/NaN blocks to the small one. *superacc*, *bins*, *large*: one path forced."
  echo "- Data: uniform [-0.5, 0.5); normal(0,1); sign20 = random sign x 2^U(-20,20); pos20 ="
  echo "  2^U(-20,20); sign30 = random sign x 2^U(-30,30) (60 binades); sign60 = random sign x"
  echo "  2^U(-60,60); full = random sign, mantissa and biased"
  echo "  exponent 1..2046 (the sum overflows: -inf)."
  echo
  for size in $SIZES; do
    if [ "$size" = 27 ]; then echo "## Out of cache: 2^27 doubles (1 GiB)"
    elif [ "$size" = 16 ]; then echo "## In cache: 2^16 doubles (512 KiB), many calls per timing"
    else echo "## 2^$size doubles"; fi
    echo
    table "$size"
    echo
  done
  echo "## Several ranks: one MPI_Allreduce per call"
  echo
  echo '```'
  cat "$TMP/mpi.txt"
  echo '```'
  echo
  echo "Raw output (before, after for each kind and size):"
  echo
  echo '```'
  for k in $KINDS; do for size in $SIZES; do cat "$TMP/before_${size}_$k.txt" "$TMP/after_${size}_$k.txt"; done; done
  echo '```'
} > "$OUT"
echo "wrote $OUT" >&2
