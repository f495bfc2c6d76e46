#!/usr/bin/env bash
# scripts/dbg_hang.sh EXE NP SECONDS: run an MPI program at NP ranks with
# line-buffered output into $OUT/dbg_NP.log (the device tool's folder; else
# the current directory); if it is still running after SECONDS, append every
# rank's stack (gdb where installed, else the kernel's wait channel) and kill
# it. For a test that hangs on the GPU machine, where a ctest timeout may not
# get through to ranks stuck in a CUDA call.
set -u
exe="${1:?usage: dbg_hang.sh EXE NP SECONDS}"; np="${2:?}"; lim="${3:?}"
OUT="${OUT:-.}"
mpirun -n "$np" stdbuf -oL -eL "$exe" > "$OUT/dbg_${np}.log" 2>&1 &
mp=$!
for i in $(seq 1 "$lim"); do sleep 1; kill -0 $mp 2>/dev/null || { wait $mp; echo "exit $? after $i s" >> "$OUT/dbg_${np}.log"; exit 0; }; done
echo "=== still running after $lim s: stacks" >> "$OUT/dbg_${np}.log"
for p in $(pgrep -f "$(basename "$exe")" | grep -v $$); do
  echo "--- pid $p $(cat /proc/$p/cmdline | tr '\0' ' ')" >> "$OUT/dbg_${np}.log"
  if command -v gdb >/dev/null; then timeout 30 gdb -batch -p "$p" -ex "thread apply all bt 20" 2>&1 | grep -E "^#|^Thread" | head -80 >> "$OUT/dbg_${np}.log"
  else cat /proc/$p/wchan >> "$OUT/dbg_${np}.log"; echo >> "$OUT/dbg_${np}.log"; fi
done
pkill -9 -f "$(basename "$exe")"; kill -9 $mp 2>/dev/null
