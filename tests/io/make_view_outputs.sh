#!/usr/bin/env bash
# tests/io/make_view_outputs.sh APP SRCDIR DIR: small real study outputs for
# the viewer tests (check_paraview.sh, test_plot.py), made by tessera_app as a
# user runs it: a non-square 2-D denoise on 3 ranks (48 x 64: a transposed
# or edge-on grid shows), a 3-D denoise on 2 ranks (12 x 16 x 20), and a
# short PINN run on 2 ranks with a non-square report grid (41 x 31).
set -u
APP="$(realpath "$1")"; SRC="$(realpath "$2")"; DIR="$3"
rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
MPI="mpirun --oversubscribe"
run() {   # run LOG ARGS...: quiet unless it fails
  local log="$1"; shift
  $MPI "$@" > "$log" 2>&1 || { cat "$log"; echo "FAIL: $*"; exit 1; }
}
run den2.log -n 3 "$APP" "$SRC/inputs/denoise.toml" --set 'grid.n=[48,64]' \
  --set 'run.output_dir="den2"'
run den3.log -n 2 "$APP" "$SRC/inputs/denoise.toml" --set 'grid.n=[12,16,20]' \
  --set 'field.modes=[1,2,1,2,1,3]' --set 'field.amplitudes=[1.0,0.5]' --set 'run.output_dir="den3"'
run pinn.log -n 2 "$APP" "$SRC/inputs/pinn_seed.toml" --set 'model.hidden=[16,16]' \
  --set train.adam_steps=60 --set train.lbfgs_steps=20 --set pde.points=300 \
  --set boundary.points=100 --set train.chunk=64 --set 'run.output_dir="pinn"' \
  --set 'checkpoint.dir="pinn/checkpoints"' --set checkpoint.every_steps=40 \
  --set 'report.grid=[41,31]'
for f in den2/denoise.h5 den2/denoise.xmf den3/denoise.xmf pinn/pinn_fields.h5 pinn/pinn_fields.xmf \
         pinn/loss_history.csv; do
  [ -s "$f" ] || { echo "FAIL: $DIR/$f missing"; exit 1; }
done
echo "viewer test outputs in $DIR: ok"
