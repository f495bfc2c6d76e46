#!/usr/bin/env bash
# run test $1 at np $2 with line-buffered output; after $3 s dump stacks
exe="$1"; np="$2"; lim="$3"
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
