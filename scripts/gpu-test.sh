#!/usr/bin/env bash
# scripts/gpu-test.sh [--all] [--no-bench] [--no-test]: on the GPU machine
# (Ubuntu 24.04 image with nvcc, CMake, ninja, Open MPI, NCCL, HDF5, FFTW,
# PyTorch; see docs/gpu.md), in one command: build Tessera with CUDA
# (build-gpu/), run the tests labelled `gpu` at 1-4 ranks sharing the GPU
# (--all: the whole suite; TESS_GPU_BIG=1 adds the collectives above 2^31
# bytes; TESS_GPU_TESTS=regex picks tests), then the GPU benchmarks (exact
# sums, comm backends, FFT vs torch.fft, the denoising study vs the CPU).
# Results go to $OUT when it is set (the device tool's folder, which brings
# back at most 8 files: this script writes 8; logs of the benchmarks stay in /tmp), else to build-gpu/results/.
# Exit status: the tests'.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TESS_GPU_BUILD:-$root/build-gpu}"
res="${OUT:-$build/results}"
all=0 bench=1 test=1
for a in "$@"; do
  case "$a" in
    --all) all=1 ;;
    --no-bench) bench=0 ;;
    --no-test) test=0 ;;
    *) echo "gpu-test.sh: unknown option '$a' (expected --all, --no-bench, --no-test)" >&2; exit 2 ;;
  esac
done
mkdir -p "$res"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export NCCL_NVLS_ENABLE=0   # multicast off (the device tool's README)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader \
  | tee "$res/gpu.txt" || { echo "gpu-test.sh: no NVIDIA GPU here" >&2; exit 1; }
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTESSERA_CUDA=on \
  > "$res/build.log" 2>&1 || { tail -30 "$res/build.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >> "$res/build.log" 2>&1 || { grep -E "error|Error" "$res/build.log" | head -40; exit 1; }
echo "built in $build"
cd "$build"
label=(-L gpu); [ "$all" = 1 ] && label=()
[ -n "${TESS_GPU_TESTS:-}" ] && label+=(-R "$TESS_GPU_TESTS")
rc=0
if [ "$test" = 1 ]; then
  ctest --output-on-failure -j 2 --timeout 120 "${label[@]}" > "$res/ctest.log" 2>&1
  rc=$?
  grep -E "tests passed|Skipped|Failed|\(Failed\)|\*\*\*" "$res/ctest.log" | tail -40
fi
if [ "$bench" = 1 ]; then
  mpirun -n 1 python3 "$root/bench/bench_sum_gpu.py" "$build" "$res/sum_gpu.md" > /tmp/tess_bench_sum.log 2>&1 \
    || tail -20 /tmp/tess_bench_sum.log
  for b in "$build"/bench/bench_comm_gpu; do
    [ -x "$b" ] || continue
    for np in 1 2 4; do   # one file: the device tool brings back at most 8
      mpirun -n "$np" "$b" >> "$res/comm_gpu.md" 2>&1 || tail -20 "$res/comm_gpu.md"
    done
  done
  [ -x "$build/bench/bench_fft_gpu" ] && bash "$root/bench/run_fft_gpu.sh" "$build" "$res/fft_gpu.md" > /dev/null 2>&1
  bash "$root/bench/run_denoise_gpu.sh" "$build" "$res/denoise_gpu.md" > /dev/null 2>&1
  if [ -x "$build/bench/bench_pinn_gpu" ]; then   # the PINN step vs JAX and torch (JAX: where installed)
    bash "$root/bench/run_pinn_gpu.sh" "$build" "$res/pinn_gpu.md" > /tmp/tess_bench_pinn.log 2>&1 \
      || tail -20 /tmp/tess_bench_pinn.log
  fi
  cat "$res"/*.md 2>/dev/null
fi
exit $rc
