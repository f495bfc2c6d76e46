#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build, run the whole test suite;
# then rebuild the parsers and core under AddressSanitizer + UBSan
# (build-asan/) and run the tests labelled `asan` there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TESS_BUILD"
ctest --output-on-failure -j "$(nproc)" --timeout 900
if [ "${TESS_SKIP_ASAN:-0}" != 1 ]; then
  # TESSERA_FUZZ adds the libFuzzer smoke run (label asan) when clang is there.
  tess_configure_build "$TESS_ROOT/build-asan" -DTESSERA_SANITIZE=ON -DTESSERA_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ=ON
  cd "$TESS_ROOT/build-asan"
  ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$(nproc)" -L asan --timeout 900
fi
