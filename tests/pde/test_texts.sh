#!/usr/bin/env bash
# tests/pde/test_texts.sh APP SRC: user-facing texts (issue 13 item 14). At 1
# rank the summaries say "1 rank" and "1 transpose", never "1 ranks" or
# "1 transposes"; no "a integer" in the sources; the README states the
# array rank limit TESS_MAX_NDIM, not "up to 4-D"; docs/pinn.md states the
# Kovasznay timing with the machine it was measured on.
set -u
APP="$1"; SRC="$2"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*"; exit 1; }
"$APP" "$SRC/inputs/pinn_seed.toml" --set 'model.hidden=[4]' --set train.adam_steps=2 --set train.lbfgs_steps=0 \
  --set pde.points=20 --set boundary.points=8 --set 'report.grid=[3,3]' --set 'run.output_dir="p"' \
  --set 'checkpoint.dir="ck"' > p.txt 2>&1 || { cat p.txt; fail "pinn run"; }
"$APP" "$SRC/inputs/pinn_seed.toml" --dry-run > pd.txt 2>&1 || fail "pinn dry run"
"$APP" "$SRC/inputs/denoise.toml" --set 'grid.n=[16,16]' --set 'run.output_dir="d"' > d.txt 2>&1 || { cat d.txt; fail "denoise run"; }
"$APP" "$SRC/inputs/denoise.toml" --dry-run > dd.txt 2>&1 || fail "denoise dry run"
grep -q ", 1 rank," p.txt && grep -q "over 1 rank;" pd.txt && grep -qE "on 1 rank(,|$)" dd.txt \
  && grep -q "^  1 rank, " d.txt || { cat p.txt pd.txt d.txt dd.txt | grep -i rank; fail "singular rank texts"; }
if grep -nE "\b1 (ranks|transposes)\b" p.txt pd.txt d.txt dd.txt; then fail "plural after 1"; fi
if grep -rnE "\ba integer" "$SRC/src" "$SRC/apps" "$SRC/spectral" "$SRC/pde"; then fail "'a integer'"; fi
grep -q "up to 4-D" "$SRC/README.md" && fail "README: up to 4-D"
grep -q "up to 6-D" "$SRC/README.md" || fail "README: no 6-D limit"
grep -q "20 s on the 2-core" "$SRC/docs/pinn.md" && fail "docs/pinn.md: the old 20 s"
grep -q "at 1 rank and 18.1 s at 2 ranks" "$SRC/docs/pinn.md" || fail "docs/pinn.md: measured timings"
echo "texts: ok"
