#!/usr/bin/env bash
# bench/run_fft_gpu.sh BUILD OUT.md: on the GPU machine, Tessera's 3-D FFT
# forward+inverse on device arrays (bench_fft_gpu, one rank) next to cuFFT
# through torch (bench/anchors/fft_gpu.py), case by case in the same run:
# the anchor, then the line engine, then TESS_FFT_FAST_LOCAL. Ratio =
# Tessera's median / torch's median (the issue's target: <= 1.05). Writes a
# markdown table to OUT.md. CASES overrides the list (N:kind, kind one of
# c128 c64 r2c64 r2c32).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:?usage: run_fft_gpu.sh BUILD OUT.md}"
OUTMD="${2:?usage: run_fft_gpu.sh BUILD OUT.md}"
CASES="${CASES:-256:c128 512:c128 512:c64 1024:c64 512:r2c64}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
{
  echo "# 3-D FFT forward+inverse on one GPU: Tessera (cuFFT backend) vs torch.fft"
  echo
  echo "$gpu, $(date -u +%Y-%m-%d), bench/run_fft_gpu.sh (median of 20 after 3 warm-ups, out of place, inverse scaled by 1/N)."
  echo "lines: the line engine (bitwise the same at every rank count); fast: TESS_FFT_FAST_LOCAL (one cuFFT plan)."
  echo "limit: the plan's passes x bytes read+written / measured D2D copy bandwidth."
  echo
  echo "| case | torch ms | lines ms | lines/torch | passes | limit ms | fast ms | fast/torch |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$OUTMD"
num() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" | head -1; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && python3 -c "print(f'{$1/$2:.2f}')" || echo "n/a"; }
for c in $CASES; do
  n="${c%%:*}" k="${c##*:}"
  a="$(python3 "$ROOT/bench/anchors/fft_gpu.py" "$c" 2>&1)"; echo "$a"
  l="$(mpirun -n 1 "$BUILD/bench/bench_fft_gpu" "$n" "$k" lines 2>&1)"; echo "$l"
  f="$(mpirun -n 1 "$BUILD/bench/bench_fft_gpu" "$n" "$k" fast 2>&1)"; echo "$f"
  ta="$(echo "$a" | num "fwd+inv")"; tl="$(echo "$l" | num "median")"; tf="$(echo "$f" | num "median")"
  ps="$(echo "$l" | sed -n 's/.*passes \([0-9]*\).*/\1/p')"; lim="$(echo "$l" | num "limit")"
  echo "| ${n}³ $k | ${ta:-fail} | ${tl:-fail} | $(ratio "$tl" "$ta") | ${ps:-} | ${lim:-} | ${tf:-fail} | $(ratio "$tf" "$ta") |" >> "$OUTMD"
done
cat "$OUTMD"
