#!/usr/bin/env bash
# tests/io/check_paraview.sh SHOTDIR XMF...: run check_paraview.py with
# ParaView's pvpython, offscreen. Debian's ParaView renders through GLX only
# (no EGL/OSMesa build), so without a display it needs a virtual X server:
# xvfb-run. Exit 77 (CTest: skipped) with a message when pvpython or a
# display is missing (scripts/setup.sh installs paraview, python3-paraview,
# xvfb and xauth).
set -u
if ! command -v pvpython >/dev/null 2>&1; then
  echo "pvpython not found (Debian: apt-get install paraview python3-paraview xvfb xauth): skipped"
  exit 77
fi
X=()
if command -v xvfb-run >/dev/null 2>&1; then
  X=(xvfb-run -a -s "-screen 0 1024x768x24")
elif [ -z "${DISPLAY:-}" ]; then
  echo "no DISPLAY and no xvfb-run (Debian: apt-get install xvfb xauth): skipped"
  exit 77
fi
"${X[@]}" pvpython --force-offscreen-rendering "$(dirname "$0")/check_paraview.py" "$@" 2>&1 |
  grep -v '^.\[0m$'   # pvpython's colour resets, one per log line
exit "${PIPESTATUS[0]}"
