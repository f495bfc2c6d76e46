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
if command -v Xvfb >/dev/null 2>&1; then
  X=$(mktemp -d)
  mkfifo "$X/display"
  Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$X/display" >"$X/log" 2>&1 &
  XPID=$!
  trap 'kill $XPID 2>/dev/null; wait $XPID 2>/dev/null; rm -rf "$X"' EXIT
  if ! read -r -t 60 N < "$X/display"; then
    cat "$X/log"; echo "FAIL: Xvfb did not start"; exit 1
  fi
  export DISPLAY=":$N"
elif [ -z "${DISPLAY:-}" ]; then
  echo "no DISPLAY and no Xvfb (Debian: apt-get install xvfb): skipped"
  exit 77
fi
pvpython --force-offscreen-rendering "$(dirname "$0")/check_paraview.py" "$@" 2>&1 |
  grep -v '^.\[0m$'   # pvpython's colour resets, one per log line
exit "${PIPESTATUS[0]}"
