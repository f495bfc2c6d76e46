#!/usr/bin/env bash
# bench/run_sum.sh: exact sum (tess_sum_f64) against plain sums in the same
# run, single rank, out of cache (2^27 doubles = 1 GiB) and in cache (2^16
# doubles = 512 KiB, many calls per timing); then one multi-rank run that
# counts MPI_Allreduce calls per sum. Writes bench/results/sum.md.
# Usage: bench/run_sum.sh [build-dir]   (ROUNDS_BIG, ROUNDS_SMALL, NP override)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ROUNDS_BIG="${ROUNDS_BIG:-5}"
ROUNDS_SMALL="${ROUNDS_SMALL:-11}"
NP="${NP:-4}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if [ ! -x "$BUILD/bench/bench_sum" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j2 --target bench_sum >/dev/null
B="$BUILD/bench/bench_sum"
OUT="$ROOT/bench/results/sum.md"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "bench_sum: 2^27 doubles, $ROUNDS_BIG rounds" >&2
"$B" 27 "$ROUNDS_BIG" | tee "$TMP/big.txt" >&2
echo "bench_sum: 2^16 doubles, $ROUNDS_SMALL rounds" >&2
"$B" 16 "$ROUNDS_SMALL" | tee "$TMP/small.txt" >&2
echo "bench_sum: mpi, 2 and $NP ranks" >&2
mpirun -n 2 "$B" mpi | tee "$TMP/mpi.txt" >&2
mpirun -n "$NP" "$B" mpi | tee -a "$TMP/mpi.txt" >&2

# table rows: kernel | s/call | GB/s | ns/elem | time ratio to plain_O2 | to plain_simd
rows() {
  awk '$2 == "median" { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $3, $5, $7, $10, $12 }' "$1"
}
# throughput of the exact sum relative to a plain sum = inverse time ratio
ratio() {   # file kernel column(10 = vs O2, 12 = vs simd)
  awk -v k="$2" -v c="$3" '$1 == k && $2 == "median" { printf "%.2f", 1.0 / $c }' "$1"
}
{
  echo "# Exact sum vs plain sums (bench/run_sum.sh)"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
       "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: noisy)." \
       "Every kernel runs on the same data, interleaved round by round; medians of $ROUNDS_BIG (out of cache)" \
       "and $ROUNDS_SMALL (in cache) rounds. Data: uniform in [-0.5, 0.5)."
  echo
  echo "- \`plain_O2\`: \`for (i) s += x[i]\` at -O2 (the plain loop; scalar, latency-bound)."
  echo "- \`plain_simd\`: the same loop at -O3 with AVX-512 and reassociation allowed, i.e. what"
  echo "  \`-O3 -march=native -ffast-math\` makes of it (target/optimize attributes in bench_sum.c)."
  echo "  Not exact, not reproducible: the memory-bandwidth reference."
  echo "- \`exact\`: \`tess_sum_f64(x, n, MPI_COMM_SELF, &r)\`, kernel chosen at run time ($(awk '{for(i=1;i<=NF;i++) if ($i ~ /^kernel_isa=/) {sub("kernel_isa=","",$i); print $i}}' "$TMP/big.txt"))."
  echo "- \`exact_avx2\`, \`exact_sse2\`: the same call with the AVX2+FMA / baseline x86-64 kernel forced."
  echo "- \`superacc\`: the same call with no fast path: every element into the superaccumulator."
  echo
  echo "## Out of cache: 2^27 doubles (1 GiB)"
  echo
  echo "| kernel | s/call | GB/s | ns/elem | time / plain_O2 | time / plain_simd |"
  echo "|---|---|---|---|---|---|"
  rows "$TMP/big.txt"
  echo
  echo "Throughput of the exact sum: **$(ratio "$TMP/big.txt" exact 10)x the plain -O2 loop** (target >= 0.9x)," \
       "**$(ratio "$TMP/big.txt" exact 12)x the vectorised plain sum**."
  echo
  echo "## In cache: 2^16 doubles (512 KiB), many calls per timing"
  echo
  echo "| kernel | s/call | GB/s | ns/elem | time / plain_O2 | time / plain_simd |"
  echo "|---|---|---|---|---|---|"
  rows "$TMP/small.txt"
  echo
  echo "Time of the exact sum: **$(awk '$1=="exact" && $2=="median" {print $10}' "$TMP/small.txt")x the plain -O2 loop** (target <= 2x)," \
       "**$(awk '$1=="exact" && $2=="median" {print $12}' "$TMP/small.txt")x the vectorised plain sum**."
  echo
  echo "## Several ranks: one MPI_Allreduce per call"
  echo
  echo "MPI_Allreduce is interposed (PMPI) in bench_sum and counted over 200 calls of"
  echo "\`tess_sum_f64\` (2^16 doubles per rank) and one \`tess_dot_f64\`:"
  echo
  echo '```'
  cat "$TMP/mpi.txt"
  echo '```'
  echo
  echo "Figures from an idle 16-core Xeon (same benchmark, standalone build, with an A/B of"
  echo "the software prefetch): bench/results/sum_xeon_quiet.md."
  echo
  echo "Raw output:"
  echo
  echo '```'
  cat "$TMP/big.txt" "$TMP/small.txt"
  echo '```'
} > "$OUT"
echo "wrote $OUT" >&2
