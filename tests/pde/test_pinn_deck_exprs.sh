#!/usr/bin/env bash
# tests/pde/test_pinn_deck_exprs.sh APP DECK: every expression of a pinn deck
# is parsed and resolved in the study's check phase, so --dry-run (and a
# real run, before any work) rejects an unknown name, a missing ')' and a
# bad coordinate in pde.residuals, pde.definitions and report.exact with
# exit 3 and a message naming the file, the line and the key (docs/decks.md:
# "before any work starts"). Truth: the line numbers grep finds in the deck.
set -u
APP="$1"; DECK="$2"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*"; exit 1; }
n=0
# key | sed pattern of the good text | bad replacements
check() {
  local key="$1" table="$2" name="$3" good="$4"; shift 4
  for bad in "$@"; do
    n=$((n + 1))
    sed "s|$good|$bad|" "$DECK" > bad$n.toml
    cmp -s "$DECK" bad$n.toml && fail "pattern '$good' not in the deck"
    line=$(awk -v t="[$table]" -v k="$name" '$0 == t {in_t = 1; next} /^\[/ {in_t = 0}
           in_t && $1 == k {print NR; exit}' bad$n.toml)
    "$APP" bad$n.toml --dry-run > out$n.txt 2>&1
    rc=$?
    want="bad$n.toml:$line: key '$key': entry"
    [ $rc = 3 ] && grep -qF "$want" out$n.txt || { cat out$n.txt; fail "$key = $bad: exit $rc, want 3 and '$want'"; }
    grep -F "$want" out$n.txt | sed 's/^ *//'
  done
}
check pde.residuals pde residuals "laplacian(psi) - forcing" \
  "laplacian(psi) - forcin" "laplacian(psi - forcing" 'grad(psi, "q") - forcing'
check pde.definitions pde definitions "sin(pi\*x)\*sin(pi\*y)'," \
  "sin(pi*x)*sin(pi*yy)'," "sin(pi*x)*sin(pi*y'," "grad(psi, \"z\")',"
check report.exact report exact "pi\*sin(pi\*x)\*cos(pi\*y)" \
  "pi*sin(pi*x)*cos(pi*w)" "pi*sin(pi*x*cos(pi*y)" 'grad(x, "t")'
# the same in a real run at 2 ranks: a deck error before any work
mpirun --oversubscribe -n 2 "$APP" bad1.toml --set train.adam_steps=1 --set train.lbfgs_steps=0 \
  --set 'run.output_dir="o"' > r.txt 2>&1
rc=$?
[ $rc = 3 ] && grep -q "key 'pde.residuals'" r.txt && ! grep -q "pinn: step" r.txt && [ ! -e o ] \
  || { cat r.txt; fail "real run with a bad residual: exit $rc"; }
echo "pinn deck expressions: $n bad expressions rejected at check time with file, line and key; ok"
