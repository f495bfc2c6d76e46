#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build, and run the default study
# (spectral denoising, inputs/denoise.toml) on 4 ranks; prints its summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TESS_ROOT"
DECK="${1:-inputs/denoise.toml}"
mpirun -n 4 --oversubscribe "$TESS_BUILD/apps/tessera_app" "$DECK"
