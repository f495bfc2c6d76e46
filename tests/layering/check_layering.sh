#!/usr/bin/env bash
# tests/layering/check_layering.sh SRC_DIR: dependencies point one way,
# apps/ -> spectral/, pde/, ml/ -> src/ -> include/tessera/, and the PETSc adapter
# petsc/ -> include/tessera/ (nothing below includes it). Fails listing every
# include that crosses a line the wrong way.
set -u
cd "$1"
bad=0
report() { echo "layering: $1"; bad=1; }
for f in $(ls src/*.[ch] src/*/*.cu 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*(spectral|pde|ml|apps)/' "$f" && report "$f includes spectral/, pde/, ml/ or apps/"
done
for f in $(ls spectral/*.[ch] 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*(pde|ml|apps)/' "$f" && report "$f includes pde/, ml/ or apps/"
done
for f in $(ls spectral/*/*.cu 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*(src|pde|apps)/|#include *"(\.\./)*device\.h"' "$f" && report "$f includes src/, pde/, apps/ or device.h"
done
for f in $(ls src/*.[ch] spectral/*.[ch] pde/*.[ch] ml/*.[ch] 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*petsc/|#include *<tessera/petsc\.h>' "$f" && report "$f includes the PETSc adapter"
done
for f in $(ls petsc/*.[ch] 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*(src|spectral|pde|apps)/' "$f" && report "$f includes src/, spectral/, pde/ or apps/"
done
for f in $(ls pde/*.[ch] 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*(spectral|ml|apps)/' "$f" && report "$f includes spectral/, ml/ or apps/"
done
for f in $(ls ml/*.[ch] 2>/dev/null); do
  grep -nE '#include *[<"](\.\./)*(src|spectral|pde|apps)/|#include *"(\.\./)*device\.h"' "$f" && report "$f includes src/, spectral/, pde/, apps/ or device.h"
done
for f in include/tessera/*.h; do
  grep -nE '#include *"' "$f" && report "$f uses a quoted include (public headers include only <tessera/...> and system headers)"
done
[ $bad = 0 ] && echo "layering ok"
exit $bad
