#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build, run the whole test suite;
# then rebuild the parsers and core under AddressSanitizer + UBSan
# (build-asan/) and run the tests labelled `asan` there; and build against
# serial HDF5 and without PETSc (build-serialh5/) to run the tests labelled
# `hdf5` through the checkpoint code path of builds without parallel HDF5 (our
# GPU machine's) and `nopetsc` (the PETSc coupling is optional).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TESS_BUILD"
ctest --output-on-failure -j "$(nproc)" --timeout 900
if [ "${TESS_SKIP_SERIAL_HDF5:-0}" != 1 ]; then
  # also built as if PETSc were absent: the PETSc parts must stay optional
  tess_configure_build "$TESS_ROOT/build-serialh5" -DTESSERA_HDF5=serial -DTESSERA_BUILD_BENCH=OFF \
    -DTESSERA_PETSC=off
  (cd "$TESS_ROOT/build-serialh5" && ctest --output-on-failure -j "$(nproc)" -L 'hdf5|nopetsc' --timeout 900)
fi
if [ "${TESS_SKIP_ASAN:-0}" != 1 ]; then
  # TESSERA_FUZZ adds the libFuzzer smoke run (label asan) when clang is there.
  tess_configure_build "$TESS_ROOT/build-asan" -DTESSERA_SANITIZE=ON -DTESSERA_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ=ON
  cd "$TESS_ROOT/build-asan"
  # Open MPI's own allocations live until exit: suppressed by library name
  # (kept resolvable by not unloading its components); ours are not.
  export ASAN_OPTIONS=detect_leaks=1
  export LSAN_OPTIONS="suppressions=$TESS_ROOT/tests/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
  export OMPI_MCA_mca_base_component_disable_dlclose=1
  ctest --output-on-failure -j "$(nproc)" -L asan --timeout 900
fi
