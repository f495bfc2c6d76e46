#!/usr/bin/env bash
# tests/io/check_paraview.sh SHOTDIR XMF...: run check_paraview.py with
# ParaView's pvpython, offscreen. Debian's ParaView renders through GLX only
# (no EGL/OSMesa build), so it needs an X server: a private Xvfb that picks
# a free display itself (-displayfd; xvfb-run -a can race another one for
# :99) and is stopped at exit. Exit 77 (CTest: skipped) with a message when
# pvpython, or both Xvfb and a DISPLAY, are missing (scripts/setup.sh
# installs paraview, python3-paraview and xvfb).
set -u
if ! command -v pvpython >/dev/null 2>&1; then
  echo "pvpython not found (Debian: apt-get install paraview python3-paraview xvfb): skipped"
  exit 77
fi
# Start a private Xvfb; sets DISPLAY and XPID. Waits for its socket too
# (once, under load, pvpython found no server at the display just announced).
start_xvfb() {
  rm -f "$X/display"
  mkfifo "$X/display"
  Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$X/display" >"$X/log" 2>&1 &
  XPID=$!
  if ! read -r -t 60 N < "$X/display"; then
    cat "$X/log"; echo "FAIL: Xvfb did not start"; exit 1
  fi
  for _ in $(seq 100); do [ -S "/tmp/.X11-unix/X$N" ] && break; sleep 0.1; done
  export DISPLAY=":$N"
}
stop_xvfb() { kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null; }
run_pv() {
  pvpython --force-offscreen-rendering "$(dirname "$0")/check_paraview.py" "$@" >"$X/out" 2>&1
  local rc=$?
  grep -v '^.\[0m$' "$X/out"   # pvpython's colour resets, one per log line
  return $rc
}
if command -v Xvfb >/dev/null 2>&1; then
  X=$(mktemp -d)
  trap 'stop_xvfb; rm -rf "$X"' EXIT
  start_xvfb
  run_pv "$@"
  rc=$?
  # The X server, not the files, failed: a new one, once (the checks run again whole).
  if [ $rc -ne 0 ] && grep -q "bad X server connection" "$X/out"; then
    echo "the X server at :$N refused pvpython ($(tail -3 "$X/log" | tr '\n' ' ')); a new one, once"
    stop_xvfb
    start_xvfb
    run_pv "$@"
    rc=$?
  fi
  exit $rc
elif [ -z "${DISPLAY:-}" ]; then
  echo "no DISPLAY and no Xvfb (Debian: apt-get install xvfb): skipped"
  exit 77
fi
X=$(mktemp -d)
trap 'rm -rf "$X"' EXIT
run_pv "$@"
