#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build, and run the default study
# (spectral denoising, inputs/denoise.toml) on 4 ranks; prints its summary,
# then draws labelled figures of its output with scripts/plot.py (colour
# bars, error maps with their scale, spectra, the loss curve of PINN decks)
# and prints where they are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TESS_ROOT"
DECK="${1:-inputs/denoise.toml}"
APP="$TESS_BUILD/apps/tessera_app"
mpirun -n 4 --oversubscribe "$APP" "$DECK"
# run.output_dir as the study saw it: the effective deck of --dry-run
OUT=$("$APP" "$DECK" --dry-run 2>/dev/null | sed -n 's/^output_dir = "\(.*\)".*/\1/p' | head -n 1)
if [ -z "$OUT" ] || [ ! -d "$OUT" ]; then
  echo "demo: this study writes no output directory: no figures"
elif python3 "$TESS_ROOT/scripts/plot.py" "$OUT" --out "$OUT/figures"; then
  echo "demo: labelled figures in $TESS_ROOT/$OUT/figures/ (the app's quick-look PNGs stay in $OUT/)"
else
  echo "demo: no figures (scripts/plot.py needs python3-matplotlib and python3-h5py)"
fi
