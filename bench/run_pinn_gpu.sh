#!/usr/bin/env bash
# bench/run_pinn_gpu.sh BUILD OUT.md: on the GPU machine, the seed step of
# issue 17 (MLP 2->256x3->1 tanh, loss and all parameter gradients) in
# Tessera (bench_pinn_gpu, one rank, device cuda) next to the anchors
# bench/anchors/pinn_jax.py (jit of value_and_grad) and pinn_torch.py
# (nested autograd), case by case in the same run: JAX, torch, Tessera.
# Each prints its median of 20 timed steps after 5 warm-ups. Ratios are
# time ratios (Tessera / anchor; the issue's target: <= 0.5 x JAX). The
# FLOP-rate fraction counts Tessera's GEMM flops only (bench_pinn_gpu prints
# them) against PEAK_F32 / PEAK_F64 (defaults: the H100/H200 SXM datasheet
# rates Tessera's GEMMs can use: 67 TFLOP/s FP32 without TF32, 67 TFLOP/s
# FP64 tensor core). Writes a markdown table to OUT.md. CASES overrides the
# list (prec:N); CHUNK passes a chunk size (default: auto).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:?usage: run_pinn_gpu.sh BUILD OUT.md}"
OUTMD="${2:?usage: run_pinn_gpu.sh BUILD OUT.md}"
CASES="${CASES:-f32:16384 f32:65536 f64:16384}"
CHUNK="${CHUNK:-0}"
PEAK_F32="${PEAK_F32:-67e12}"
PEAK_F64="${PEAK_F64:-67e12}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
{
  echo "# PINN seed step on one GPU: Tessera vs JAX and PyTorch"
  echo
  echo "${gpu:-unknown GPU}, $(date -u +%Y-%m-%d), bench/run_pinn_gpu.sh: MLP 2->256x3->1 tanh, loss + all parameter"
  echo "gradients, N points; median of 20 after 5 warm-ups each. Tessera: f32 GEMMs in CUBLAS_COMPUTE_32F_PEDANTIC"
  echo "(no TF32), f64 in CUBLAS_COMPUTE_64F; JAX at its default matmul precision (XLA may use TF32 for f32),"
  echo "torch at its defaults. GEMM TFLOP/s and % of peak: Tessera's layer products only (peak f32 $PEAK_F32,"
  echo "f64 $PEAK_F64 flop/s)."
  echo
  echo "| case | JAX ms | torch ms | Tessera ms | Tessera/JAX | Tessera/torch | Tessera points/s | chunk | GEMM TFLOP/s | % of peak |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$OUTMD"
ms() { sed -n 's/.* \([0-9.]*\) ms\/step.*/\1/p' | head -1; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && python3 -c "print(f'{$1/$2:.2f}')" || echo "n/a"; }
for c in $CASES; do
  prec="${c%%:*}" n="${c##*:}"
  j="$(python3 "$ROOT/bench/anchors/pinn_jax.py" "$prec" "$n" 2>&1)"; echo "$j" | tail -1
  t="$(python3 "$ROOT/bench/anchors/pinn_torch.py" cuda "$prec" "$n" 2>&1)"; echo "$t" | tail -1
  s="$(mpirun -n 1 "$BUILD/bench/bench_pinn_gpu" "$prec" "$n" "$CHUNK" 20 2>&1)"; echo "$s" | tail -1
  tj="$(echo "$j" | ms)"; tt="$(echo "$t" | ms)"
  ts="$(echo "$s" | sed -n 's/.*median \([0-9.]*\) ms\/step.*/\1/p' | head -1)"
  pps="$(echo "$s" | sed -n 's/.* \([0-9.e+]*\) points\/s.*/\1/p' | head -1)"
  tf="$(echo "$s" | sed -n 's/.* \([0-9.]*\) TFLOP\/s.*/\1/p' | head -1)"
  ch="$(echo "$s" | sed -n 's/.*chunk=\([0-9]*\).*/\1/p' | head -1)"
  peak="$PEAK_F32"; [ "$prec" = f64 ] && peak="$PEAK_F64"
  pct="n/a"; [ -n "$tf" ] && pct="$(python3 -c "print(f'{100*$tf*1e12/$peak:.1f}')")"
  echo "| $prec N=$n | ${tj:-fail} | ${tt:-fail} | ${ts:-fail} | $(ratio "$ts" "$tj") | $(ratio "$ts" "$tt") | ${pps:-} | ${ch:-} | ${tf:-} | $pct |" >> "$OUTMD"
done
cat "$OUTMD"
