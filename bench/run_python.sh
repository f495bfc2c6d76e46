#!/usr/bin/env bash
# bench/run_python.sh [build-dir]: the Python binding's overhead, in one run:
# bench_python.py (through `tessera`) and bench_pycall (the same calls in C),
# alternating, ROUNDS times: per-call time of a small exact sum (the binding's
# call overhead = the difference) and a 256^3 c2c FFT forward + backward
# (ratio Python / C). Writes bench/results/python.md (OUT overrides).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ROUNDS="${ROUNDS:-3}" N="${N:-256}" REPS="${REPS:-5}"
OUT="${OUT:-$ROOT/bench/results/python.md}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PYTHONPATH="$BUILD/python"
rows=()
for P in 1 2; do
  for ((r = 0; r < ROUNDS; r++)); do
    c=$(mpirun -n $P "$BUILD/bench/bench_pycall" "$N" "$REPS")
    p=$(mpirun -n $P /usr/bin/python3 "$ROOT/bench/bench_python.py" "$N" "$REPS")
    cs=$(sed -n 's/.*small \([0-9.]*\) us.*/\1/p' <<<"$c"); cf=$(sed -n 's/.*median \([0-9.]*\) s/\1/p' <<<"$c")
    ps=$(sed -n 's/.*small \([0-9.]*\) us.*/\1/p' <<<"$p"); pf=$(sed -n 's/.*median \([0-9.]*\) s/\1/p' <<<"$p")
    rows+=("| $P | $r | $cs | $ps | $(awk -v a="$ps" -v b="$cs" 'BEGIN{printf "%.2f", a-b}') | $cf | $pf | $(awk -v a="$pf" -v b="$cf" 'BEGIN{printf "%.3f", a/b}') |")
    echo "  P=$P round $r: C $cs us / $cf s, Python $ps us / $pf s" >&2
  done
done
{
  echo "# The Python binding's overhead (bench/run_python.sh)"
  echo
  echo "Generated on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
  echo "Small: op.reduce_sum of 16 doubles (an exact sum + one allreduce) per call, 100,000 calls;"
  echo "FFT: ${N}³ c2c forward + backward with reused outputs, median of $REPS, max over ranks."
  echo
  echo "| ranks | round | C small (µs) | Python small (µs) | overhead (µs) | C FFT (s) | Python FFT (s) | Python / C |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$OUT"
cat "$OUT"
