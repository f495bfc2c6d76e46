#!/usr/bin/env bash
# scripts/setup.sh: shared by demo.sh and test.sh. On a fresh Debian 12 (even
# a minbase one, as root) installs what is missing, then configures and builds
# into build/. Fast when all is there: only missing packages are fetched and
# the build is incremental. Source it; it defines TESS_ROOT and TESS_BUILD.
set -euo pipefail
TESS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESS_BUILD="${TESS_BUILD:-$TESS_ROOT/build}"

TESS_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev libhdf5-dev hdf5-tools
  libfftw3-dev libfftw3-mpi-dev
  libmpfr-dev libgmp-dev libpng-dev libopenblas-dev
  clang libclang-rt-14-dev
  python3 python3-h5py python3-numpy
  python3-dev python3-pytest python3-mpi4py   # python/ (the tessera package) and tests/python
  python3-matplotlib                      # scripts/plot.py
  paraview python3-paraview xvfb          # tests/io/check_paraview.sh: pvpython on a private Xvfb
  slurmctld slurmd slurm-client munge     # tests/slurm: a one-node Slurm the tests start themselves
  petsc-dev                               # libtessera_petsc and tests/petsc (optional at build time)
)

tess_install_missing() {
  local missing=() p
  for p in "${TESS_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"ok installed"* ]] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "tessera: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # packaged daemons (munge, slurmctld, slurmd) must not be started by their
  # install scripts: the tests start their own; policy-rc.d 101 says "no"
  local policy=/usr/sbin/policy-rc.d ours=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && ours=1
  fi
  local rc=0
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    rc=$?
  [ $ours = 0 ] || $sudo rm -f "$policy"
  return $rc
}

tess_configure_build() {
  local dir="$1"; shift
  cmake -S "$TESS_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

# Open MPI refuses root without these; tests oversubscribe the 2-core CI box.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

tess_install_missing
tess_configure_build "$TESS_BUILD"
