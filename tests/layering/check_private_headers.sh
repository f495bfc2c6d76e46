#!/usr/bin/env bash
# tests/layering/check_private_headers.sh CC SRC_DIR MPI_DIRS SRC_LAYER SPECTRAL_LAYER PDE_LAYER ML_LAYER
# The build keeps the layers apart (CMakeLists.txt: one object library per
# folder): a file of one layer cannot include another folder's private
# header, because that folder is not on its include path. Each *_LAYER is the
# colon-joined include path of that object library. A control shows the probe
# itself works: src/'s own layer does find src/'s private headers.
set -u
cc="$1"; root="$2"; mpi="$3"; src="$4"; spectral="$5"; pde="$6"; ml="$7"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
flags() { local IFS=:; for d in $1 $mpi; do [ -n "$d" ] && printf -- '-I%s\n' "$d"; done; }
# probe LAYER_NAME LAYER_PATH HEADER WANT(0 found / 1 refused)
bad=0
probe() {
  printf '#include "%s"\nint tess_probe;\n' "$3" >"$tmp/probe.c"
  mapfile -t f < <(flags "$2")
  "$cc" -fsyntax-only "${f[@]}" "$tmp/probe.c" 2>/dev/null
  local got=$?; [ $got -ne 0 ] && got=1
  if [ $got -ne "$4" ]; then
    echo "layering: layer $1 $([ "$4" = 1 ] && echo "can include" || echo "cannot include") $3"; bad=1
  fi
}
for h in "$root"/src/*.h; do
  h=$(basename "$h")
  probe src "$src" "$h" 0
  probe spectral "$spectral" "$h" 1
  probe pde "$pde" "$h" 1
  probe ml "$ml" "$h" 1
done
for h in "$root"/spectral/*.h; do
  for l in src pde ml; do probe $l "${!l}" "$(basename "$h")" 1; done
done
for h in "$root"/pde/*.h; do
  for l in src spectral ml; do probe $l "${!l}" "$(basename "$h")" 1; done
done
for h in "$root"/ml/*.h; do
  for l in src spectral pde; do probe $l "${!l}" "$(basename "$h")" 1; done
done
[ $bad = 0 ] && echo "private headers stay in their layer"
exit $bad
