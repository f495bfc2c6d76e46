#!/usr/bin/env python3
"""tests/io/test_plot.py PLOT_PY VIEWDIR WORKDIR: scripts/plot.py on real
study outputs (made by make_view_outputs.sh) writes the figures it promises,
each a valid PNG (signature, IHDR, decodable) of a sensible size that is not
blank; a directory without Tessera output is exit 1 with a message. The
PNG header is parsed here with struct, independently of matplotlib.
Exit 77 (CTest: skipped) when matplotlib or h5py is not importable."""
import os
import shutil
import struct
import subprocess
import sys

try:
    import h5py  # noqa: F401
    import matplotlib
    import numpy as np
except ImportError:
    if os.path.realpath(sys.executable) != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("matplotlib/h5py not importable (Debian: python3-matplotlib python3-h5py): skipped")
    sys.exit(77)
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402

plot, view, work = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def run(args):
    p = subprocess.run([sys.executable, plot] + args, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
# study -> (output subdir, figures expected, smallest width)
cases = {
    "den2": (["denoise_fields.png", "denoise_error.png", "denoise_spectrum.png"], 700),
    "den3": (["denoise_fields.png", "denoise_error.png", "denoise_spectrum.png"], 700),
    "pinn": (["pinn_u.png", "pinn_v.png", "loss_history.png"], 700),
}
for sub, (names, minw) in cases.items():
    out = os.path.join(work, sub)
    rc, text = run([os.path.join(view, sub), "--out", out])
    if not check(rc == 0, "plot.py %s: exit %d\n%s" % (sub, rc, text)):
        continue
    for n in names:
        path = os.path.join(out, n)
        if not check(os.path.isfile(path), "%s: %s missing (wrote: %s)" % (sub, n, sorted(os.listdir(out)))):
            continue
        check(path in text, "%s: plot.py does not say it wrote %s" % (sub, path))
        size = png_size(path)
        if not check(size is not None, "%s: not a PNG" % path):
            continue
        w, h = size
        check(minw <= w <= 4000 and 300 <= h <= 3000, "%s: %dx%d pixels, not a sensible figure" % (path, w, h))
        img = matplotlib.image.imread(path)
        check(img.shape[:2] == (h, w), "%s: decodes to %s, header says %dx%d" % (path, img.shape, w, h))
        rgb = img[..., :3].reshape(-1, 3)
        ncol = len(np.unique((rgb * 255).astype(np.uint8), axis=0))
        white = float(np.mean(np.all(rgb > 0.98, axis=1)))
        print("%s: %dx%d, %d colours, %.0f%% white" % (path, w, h, ncol, 100 * white))
        check(ncol >= 32 and white < 0.97, "%s: (nearly) blank: %d colours" % (path, ncol))
    extra = sorted(set(os.listdir(out)) - set(names))
    check(not extra, "%s: unexpected figures %s" % (sub, extra))

empty = os.path.join(work, "empty")
os.makedirs(empty)
rc, text = run([empty])
check(rc == 1 and "nothing to plot" in text, "plot.py on an empty directory: exit %d\n%s" % (rc, text))
rc, text = run([os.path.join(work, "missing")])
check(rc == 2 and "not a directory" in text, "plot.py on a missing directory: exit %d\n%s" % (rc, text))

print("plot.py check: %s" % ("FAIL" if failures else "ok"))
sys.exit(1 if failures else 0)
