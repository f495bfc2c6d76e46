#!/usr/bin/env bash
# bench/run_denoise_gpu.sh BUILD OUT.md: on the GPU machine, the denoising
# study (tessera_app, inputs/denoise.toml with overrides) on one GPU (fft
# backend cufft, 1 rank) against the CPU path (fftw) on every core of the
# host (one rank per core), at 1024^2 (the deck's modes field) and 256^3
# (taylor_green), no output files. Speed-up = CPU total / GPU total, from
# the study's own timing line (plan excluded from both, listed apart).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:?usage: run_denoise_gpu.sh BUILD OUT.md}"
OUTMD="${2:?usage: run_denoise_gpu.sh BUILD OUT.md}"
NPCPU="${NPCPU:-$(nproc)}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
APP="$BUILD/apps/tessera_app"
DECK="$ROOT/inputs/denoise.toml"
gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
{
  echo "# Denoising study: one GPU vs the CPU path on $NPCPU cores of the same host"
  echo
  echo "$gpu, $(date -u +%Y-%m-%d), bench/run_denoise_gpu.sh: tessera_app on inputs/denoise.toml, no output files;"
  echo "times are the study's (forward FFT + rule + backward FFT + the rest of the run, plan apart), best of 3 runs."
  echo
  echo "| grid | field | CPU ($NPCPU ranks, fftw) s | GPU (1 rank, cufft) s | speed-up | CPU plan s | GPU plan s | PSNR CPU / GPU dB |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$OUTMD"
# best "total" and its plan time over 3 runs, and the denoised PSNR
one() {   # np backend grid field
  local best="" plan="" psnr=""
  for k in 1 2 3; do
    local o
    o="$(mpirun -n "$1" "$APP" "$DECK" --set "fft.backend=\"$2\"" --set "grid.n=$3" \
         --set "field.kind=\"$4\"" --set output.hdf5=false --set output.png=false \
         --set "run.output_dir=\"/tmp/tess_denoise_bench\"" 2>&1)" || { echo "$o" | tail -5 >&2; echo "fail fail fail"; return; }
    local t p
    t="$(echo "$o" | sed -n 's/.*total \([0-9.]*\) s.*/\1/p')"
    p="$(echo "$o" | sed -n 's/.*timings: plan \([0-9.]*\) s.*/\1/p')"
    psnr="$(echo "$o" | sed -n 's/.*denoised vs clean:.*PSNR *\([0-9.]*\) dB.*/\1/p')"
    t="$(python3 -c "print(f'{$t-$p:.4f}')")"
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best="$t" plan="$p"; fi
  done
  echo "$best $plan $psnr"
}
for g in "[1024, 1024]:modes" "[256, 256, 256]:taylor_green"; do
  grid="${g%%:*}" field="${g##*:}"
  read -r tc pc sc <<< "$(one "$NPCPU" fftw "$grid" "$field")"
  read -r tg pg sg <<< "$(one 1 cufft "$grid" "$field")"
  sp="$(python3 -c "print(f'{$tc/$tg:.1f}')" 2>/dev/null || echo n/a)"
  echo "| $grid | $field | $tc | $tg | $sp | $pc | $pg | $sc / $sg |" >> "$OUTMD"
done
cat "$OUTMD"
