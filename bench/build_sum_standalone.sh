#!/usr/bin/env bash
# bench/build_sum_standalone.sh OUT: build bench_sum from just the sources it
# needs with mpicc (no CMake, FFTW, HDF5): for a quiet machine that lacks
# Tessera's other dependencies. Same flags as the Release build (-O3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-bench_sum}"
CFG="$(mktemp -d)"
mkdir -p "$CFG/tessera"
cat > "$CFG/tessera/config.h" <<'H'
#ifndef TESSERA_CONFIG_H
#define TESSERA_CONFIG_H
#define TESSERA_VERSION "standalone"
#define TESSERA_GIT_REVISION "standalone"
#define TESSERA_HAVE_PARALLEL_HDF5 0
#define TESSERA_HAVE_CUDA 0
#define TESSERA_HAVE_OPENBLAS 0
#define TESSERA_HAVE_PETSC 0
#endif
H
mpicc -std=c11 -O3 -DNDEBUG -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
  -I"$ROOT/include" -I"$CFG" -I"$ROOT/src" \
  "$ROOT"/src/{exact_acc,exact_sum_fast,reduce_sum,error,rng,memory,comm,comm_host_mpi,mesh,dtype}.c "$ROOT/bench/bench_sum.c" \
  -lm -o "$OUT"
rm -rf "$CFG"
