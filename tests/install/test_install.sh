#!/usr/bin/env bash
# tests/install/test_install.sh BUILD_DIR WORK_DIR: install Tessera into a
# prefix, then build and run a consumer both ways a user would link it:
# pkg-config (tessera.pc) and CMake (find_package(Tessera)).
set -euo pipefail
build="$1"; work="$2"
rm -rf "$work"; mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
here="$(cd "$(dirname "$0")" && pwd)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
libdir=$(dirname "$(find "$prefix" -name tessera.pc | head -1)")
export PKG_CONFIG_PATH="$libdir" LD_LIBRARY_PATH="$prefix/lib:$(dirname "$libdir")"
mpicc -o "$work/consumer_pc" "$here/consumer.c" $(pkg-config --cflags --libs tessera)
mpirun -n 2 "$work/consumer_pc"
cmake -S "$here/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
mpirun -n 2 "$work/cmake/consumer"
# The installed programs, with no LD_LIBRARY_PATH: they find libtessera
# through their RPATH ($ORIGIN/../lib), not the build tree's.
(
  unset LD_LIBRARY_PATH
  # ldd's output is captured first: "ldd | grep -q" under pipefail fails
  # when grep exits at its match and ldd, still writing, gets SIGPIPE.
  deps=$(ldd "$prefix/bin/tessera_app")
  grep -q "$prefix/.*libtessera" <<<"$deps" ||
    { echo "install: tessera_app does not resolve libtessera under $prefix:"; echo "$deps"; exit 1; }
  "$prefix/bin/tessera_app" --version
  grep -q '"a"' <<<"$(echo 'a = 1' | "$prefix/bin/tessera_toml2json")"
  mpirun -n 2 "$prefix/bin/tessera_app" "$here/../../inputs/mesh_info.toml" --set "run.output_dir=\"$work/mesh_out\"" >/dev/null
)
# Tessera from a PETSc program (docs/examples/petsc_program), where the PETSc
# adapter was built: pkg-config (tessera-petsc) and find_package, both run.
if [ -n "$(find "$prefix" -name 'libtessera_petsc.so*' | head -1)" ]; then
  cp -r "$here/../../docs/examples/petsc_program" "$work/petsc_program"
  make -s -C "$work/petsc_program" >/dev/null
  mpirun -n 2 "$work/petsc_program/petsc_program" | grep -q "Poisson.*: ok" ||
    { echo "install: the pkg-config build of docs/examples/petsc_program failed its run"; exit 1; }
  cmake -S "$work/petsc_program" -B "$work/petsc_cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$work/petsc_cmake" >/dev/null
  mpirun -n 2 "$work/petsc_cmake/petsc_program"
  echo "petsc_program: built with pkg-config and with find_package(Tessera), both ran"
fi
# The Python package, installed beside the library, imports from the prefix
pyd=$(dirname "$(find "$prefix" -path '*dist-packages/tessera/__init__.py' | head -1)")
if [ "$pyd" != . ]; then
  (unset LD_LIBRARY_PATH; PYTHONPATH=$(dirname "$pyd") /usr/bin/python3 -c \
    "import tessera; from tessera import op; a = tessera.array((5, 3)); a.local[...] = 2.0; assert op.reduce_sum(a) == 30.0; print('python: tessera', tessera.__file__)")
fi
[ -f "$prefix/include/tessera/tessera.h" ] && [ -f "$prefix/include/tessera/config.h" ]
echo "install: pkg-config and find_package consumers ok; installed tessera_app runs"
