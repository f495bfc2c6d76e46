#!/usr/bin/env bash
# scripts/gpu-test.sh [--all] [--no-bench]: on the GPU machine (Ubuntu 24.04
# image with nvcc, CMake, ninja, Open MPI, NCCL, HDF5, FFTW, PyTorch; see
# docs/gpu.md), in one command: build Tessera with CUDA (build-gpu/), run
# the tests labelled `gpu` at 1-4 ranks sharing the GPU (--all: the whole
# suite; TESS_GPU_BIG=1 adds the collectives above 2^31 bytes), then the
# GPU benchmarks. Results go to $OUT when it is set (the
# device tool's folder), else to build-gpu/results/. Exit status: the tests'.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TESS_GPU_BUILD:-$root/build-gpu}"
res="${OUT:-$build/results}"
all=0 bench=1
for a in "$@"; do
  case "$a" in
    --all) all=1 ;;
    --no-bench) bench=0 ;;
    *) echo "gpu-test.sh: unknown option '$a' (expected --all, --no-bench)" >&2; exit 2 ;;
  esac
done
mkdir -p "$res"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader \
  | tee "$res/gpu.txt" || { echo "gpu-test.sh: no NVIDIA GPU here" >&2; exit 1; }
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTESSERA_CUDA=on \
  > "$res/build.log" 2>&1 || { tail -30 "$res/build.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >> "$res/build.log" 2>&1 || { grep -E "error|Error" "$res/build.log" | head -40; exit 1; }
echo "built in $build"
cd "$build"
label=(-L gpu); [ "$all" = 1 ] && label=()
TESS_GPU_BIG=1 ctest --output-on-failure -j 2 --timeout 180 "${label[@]}" > "$res/ctest.log" 2>&1
rc=$?
grep -E "tests passed|Skipped|Failed|\(Failed\)|\*\*\*" "$res/ctest.log" | tail -40
if [ "$bench" = 1 ]; then
  mpirun -n 1 python3 "$root/bench/bench_sum_gpu.py" "$build" "$res/sum_gpu.md" > "$res/bench_sum.log" 2>&1 \
    || tail -20 "$res/bench_sum.log"
  for b in "$build"/bench/bench_comm_gpu; do
    [ -x "$b" ] || continue
    for np in 1 2 4; do   # one file: the device tool brings back at most 8
      mpirun -n "$np" "$b" >> "$res/comm_gpu.md" 2>&1 || tail -20 "$res/comm_gpu.md"
    done
  done
  if [ -x "$build/bench/bench_pinn_gpu" ]; then   # the PINN step vs JAX and torch (JAX: where installed)
    bash "$root/bench/run_pinn_gpu.sh" "$build" "$res/pinn_gpu.md" > "$res/bench_pinn.log" 2>&1 \
      || tail -20 "$res/bench_pinn.log"
  fi
  cat "$res"/*.md 2>/dev/null
fi
exit $rc
