#!/usr/bin/env python3
"""scripts/plot.py OUTPUT_DIR [--out DIR]: labelled figures of a Tessera output.

Finds what tessera_app wrote under OUTPUT_DIR (recursively) and writes PNGs
with titles, axis labels in the run's coordinates and colour bars into DIR
(default OUTPUT_DIR/figures):

  spectral_denoise  denoise.h5 -> <name>_fields.png (clean | noisy | denoised
                    on one colour scale), <name>_error.png (noisy - clean,
                    denoised - clean, on one symmetric scale with its
                    magnitude), <name>_spectrum.png (radially averaged power
                    spectra of the three fields). 3-D runs: the slice the app
                    pictures (output.slice, default the middle of dim 0).
  pinn              pinn_fields.h5 -> pinn_<field>.png per reported field:
                    predicted | exact (one scale) | error (own symmetric
                    scale), in the deck's pde.lo..pde.hi coordinates.
  loss_history.csv  -> loss_history.png: total, interior and boundary loss
                    per step on a log axis, the Adam -> L-BFGS switch marked.
  anything else     every other real 2-D/3-D dataset of a .h5 -> one figure
                    with a colour bar (grid-index axes; 3-D: middle slice).

Headless (matplotlib's Agg backend). Needs python3-matplotlib and
python3-h5py (scripts/setup.sh installs both). Prints each file it writes;
exit 1 when there was nothing to plot, 2 on bad usage."""
import argparse
import csv
import os
import sys

try:
    import h5py
    import matplotlib
    import numpy as np
except ImportError as e:
    # A python3 first on PATH (pyenv, venv) may lack the distribution's packages.
    if os.path.realpath(sys.executable) != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("plot.py: %s (Debian: apt-get install python3-matplotlib python3-h5py)" % e)
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

try:
    import tomllib   # Python 3.11+: the deck stored in the file
except ImportError:
    tomllib = None

DPI = 110


def text_attr(f, key, default=None):
    v = f.attrs.get(key, default)
    return v.decode() if isinstance(v, bytes) else v


def deck_of(f):
    text = text_attr(f, "deck")
    if not text or tomllib is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def get(deck, path, default=None):
    for k in path.split("."):
        if not isinstance(deck, dict) or k not in deck:
            return default
        deck = deck[k]
    return deck


def save(fig, path, written):
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    written.append(path)
    print("plot.py: wrote %s" % path)


def image(ax, fig, data, extent, title, xlabel, ylabel, cmap, vmin, vmax, clabel):
    im = ax.imshow(data, origin="lower", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax,
                   aspect="equal", interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label(clabel)
    return im


def sym_scale(*arrays):
    m = max(float(np.max(np.abs(a))) for a in arrays)
    return m if m > 0 else 1.0


def panel_width(extent):
    """Inches per panel so that panels of any aspect ratio fit a row."""
    w, h = extent[1] - extent[0], extent[3] - extent[2]
    return 4.6 if w >= h else max(2.6, 4.6 * w / h)


# ---- spectral_denoise -----------------------------------------------------

def radial_spectrum(a):
    """Mean |FFT|^2 / N^2 over shells of integer |k| (wavenumbers in cycles
    per box; the domain is [0, 2pi)^d so k is the integer mode number)."""
    p = np.abs(np.fft.fftn(a)) ** 2 / a.size ** 2
    ks = np.meshgrid(*[np.fft.fftfreq(n) * n for n in a.shape], indexing="ij")
    kr = np.rint(np.sqrt(sum(k * k for k in ks))).astype(int).ravel()
    tot = np.bincount(kr, weights=p.ravel())
    cnt = np.bincount(kr)
    kmax = min(a.shape) // 2   # shells beyond the smallest Nyquist are partial
    k = np.arange(len(tot))[: kmax + 1]
    return k, tot[: kmax + 1] / np.maximum(cnt[: kmax + 1], 1)


def plot_denoise(f, h5, stem, out, written):
    deck = deck_of(f)
    clean, noisy, den = (f["fields/" + n][()] for n in ("clean", "noisy", "denoised"))
    nd = clean.ndim
    where = ""
    if nd == 3:
        s = get(deck, "output.slice", -1)
        s = clean.shape[0] // 2 if s is None or s < 0 or s >= clean.shape[0] else s
        where = ", slice dim 0 = %d of %d" % (s, clean.shape[0])
        c2, n2, d2 = clean[s], noisy[s], den[s]
    elif nd == 2:
        c2, n2, d2 = clean, noisy, den
    else:
        c2 = None
    psnr_n, psnr_d = f.attrs.get("psnr_noisy_db"), f.attrs.get("psnr_denoised_db")
    info = "%s grid, noise sigma %s, rule %s %s" % (
        "x".join(str(n) for n in clean.shape), get(deck, "noise.sigma", "?"),
        get(deck, "denoise.rule", "?"), get(deck, "denoise.value", "?"))
    if c2 is not None:
        ny, nx = c2.shape
        # grid point i of n sits at 2 pi i / n; pixels are centred on points
        hx, hy = 2 * np.pi / nx, 2 * np.pi / ny
        extent = [-hx / 2, 2 * np.pi - hx / 2, -hy / 2, 2 * np.pi - hy / 2]
        xl = "x%d (dim %d) in [0, 2π)" % (nd - 1, nd - 1)
        yl = "x%d (dim %d) in [0, 2π)" % (nd - 2, nd - 2)
        pw = panel_width(extent)
        lo, hi = float(np.min(c2)), float(np.max(c2))
        lo, hi = min(lo, float(np.min(d2))), max(hi, float(np.max(d2)))
        fig, axs = plt.subplots(1, 3, figsize=(3 * pw + 1.5, 4.2), constrained_layout=True)
        for ax, a, t in zip(axs, (c2, n2, d2), ("clean", "noisy", "denoised")):
            extra = ""
            if t == "noisy" and psnr_n is not None:
                extra = " (PSNR %.2f dB)" % psnr_n
            if t == "denoised" and psnr_d is not None:
                extra = " (PSNR %.2f dB)" % psnr_d
            image(ax, fig, a, extent, t + extra, xl, yl, "viridis", lo, hi, "field value")
        fig.suptitle("spectral_denoise: %s%s; one colour scale (clean's range; noisy "
                     "values beyond it saturate)" % (info, where))
        save(fig, os.path.join(out, stem + "_fields.png"), written)

        # Each error on its own symmetric scale: the denoised error is often
        # 100x smaller than the noise and would be one flat colour otherwise.
        fig, axs = plt.subplots(1, 2, figsize=(2 * pw + 1.5, 4.2), constrained_layout=True)
        for ax, e, t in zip(axs, (n2 - c2, d2 - c2), ("noisy - clean", "denoised - clean")):
            rms, m = float(np.sqrt(np.mean(e * e))), sym_scale(e)
            image(ax, fig, e, extent, "%s: RMS %.3g, max |e| %.3g" % (t, rms, m),
                  xl, yl, "RdBu_r", -m, m, "%s (field units)" % t)
        fig.suptitle("spectral_denoise errors%s: each on its own symmetric scale (see the colour bars)"
                     % where)
        save(fig, os.path.join(out, stem + "_error.png"), written)

    fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    spectra = [(t, st) + radial_spectrum(a) for a, t, st in
               ((noisy, "noisy", "-"), (clean, "clean", "o"), (den, "denoised", "x"))]
    # Shells the clean field does not occupy hold FFT round-off (~1e-33):
    # keep the axis on the physics, 4 decades below the noise floor.
    floor = float(np.min(spectra[0][3][1:])) * 1e-4 if len(spectra[0][3]) > 1 else 1e-20
    for t, st, k, p in spectra:
        pos = p > floor
        if st == "-":
            ax.semilogy(k[pos], p[pos], "-", color="0.6", label=t)
        else:
            ax.semilogy(k[pos], p[pos], st, ms=6, mfc="none" if st == "o" else None, label=t)
    sigma = get(deck, "noise.sigma")
    if isinstance(sigma, (int, float)) and sigma > 0:
        # white noise of variance sigma^2: E|F(k)|^2 / N^2 = sigma^2 / N
        ax.axhline(sigma ** 2 / clean.size, color="k", ls="--", lw=0.8, label="σ²/N (white noise)")
    ax.set_ylim(bottom=floor)
    ax.set_xlabel("|k| (integer wavenumber, shells of width 1)")
    ax.set_ylabel("mean power |F(k)|² / N² per shell")
    ax.set_title("spectral_denoise: radially averaged power spectrum\n%s; shells below %.1e "
                 "(round-off) not shown" % (info, floor), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    save(fig, os.path.join(out, stem + "_spectrum.png"), written)


# ---- pinn -----------------------------------------------------------------

def plot_pinn(f, h5, stem, out, written):
    deck = deck_of(f)
    lo = get(deck, "pde.lo", [0.0, 0.0])
    hi = get(deck, "pde.hi", [1.0, 1.0])
    ins = get(deck, "pde.inputs", ["x", "y"])
    names = sorted({k[: -len("_predicted")] for k in f["fields"] if k.endswith("_predicted")})
    for n in names:
        pred, ex, err = (f["fields/%s_%s" % (n, w)][()] for w in ("predicted", "exact", "error"))
        # the report grid includes lo and hi; pixels are centred on its points
        hx, hy = (hi[0] - lo[0]) / max(pred.shape[1] - 1, 1), (hi[1] - lo[1]) / max(pred.shape[0] - 1, 1)
        extent = [lo[0] - hx / 2, hi[0] + hx / 2, lo[1] - hy / 2, hi[1] + hy / 2]
        pw = panel_width(extent)
        vlo, vhi = float(np.min(ex)), float(np.max(ex))
        rel = float(np.linalg.norm(err) / max(np.linalg.norm(ex), 1e-300))
        m = sym_scale(err)
        fig, axs = plt.subplots(1, 3, figsize=(3 * pw + 1.8, 4.2), constrained_layout=True)
        image(axs[0], fig, pred, extent, "%s predicted" % n, ins[0], ins[1], "viridis", vlo, vhi, n)
        image(axs[1], fig, ex, extent, "%s exact" % n, ins[0], ins[1], "viridis", vlo, vhi, n)
        image(axs[2], fig, err, extent, "error: max |e| %.3g" % m, ins[0], ins[1], "RdBu_r", -m, m,
              "%s predicted - exact" % n)
        fig.suptitle("pinn: %s on a %dx%d grid, relative L2 error %.3e, step %s"
                     % (n, pred.shape[1], pred.shape[0], rel, f.attrs.get("step", "?")))
        save(fig, os.path.join(out, "%s_%s.png" % (stem.replace("pinn_fields", "pinn"), n)), written)


# ---- anything else ----------------------------------------------------------

def plot_generic(f, h5, stem, out, written, skip):
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim in (2, 3) and obj.dtype.kind in "fiu" \
                and name not in skip:
            found.append(name)
    f.visititems(visit)
    for name in found:
        a = f[name][()]
        where = ""
        if a.ndim == 3:
            where = ", slice dim 0 = %d" % (a.shape[0] // 2)
            a = a[a.shape[0] // 2]
        ny, nx = a.shape
        extent = [-0.5, nx - 0.5, -0.5, ny - 0.5]
        fig, ax = plt.subplots(figsize=(panel_width(extent) + 1.5, 4.2), constrained_layout=True)
        image(ax, fig, a, extent, "%s:/%s%s" % (os.path.basename(h5), name, where),
              "index, last dim", "index, dim before last", "viridis", None, None, name)
        save(fig, os.path.join(out, "%s_%s.png" % (stem, name.replace("/", "_"))), written)


# ---- loss history -----------------------------------------------------------

def plot_loss(csv_path, stem, out, written):
    cols = {}
    phases = []
    with open(csv_path) as fh:
        for row in csv.DictReader(fh):
            for k, v in row.items():
                if k == "phase":
                    phases.append(v)
                else:
                    cols.setdefault(k, []).append(float(v))
    if not cols.get("step"):
        return
    step = np.array(cols["step"])
    fig, ax = plt.subplots(figsize=(7.5, 4.6), constrained_layout=True)
    for k, style in (("loss", "-"), ("interior", "--"), ("boundary", ":")):
        if k in cols:
            v = np.array(cols[k])
            pos = v > 0
            ax.semilogy(step[pos], v[pos], style, label=k if k != "loss" else "total loss")
    for i in range(1, len(phases)):
        if phases[i] != phases[i - 1]:
            ax.axvline(step[i] - 0.5, color="0.5", lw=0.8)
            ax.text(step[i], ax.get_ylim()[0], " %s -> %s" % (phases[i - 1], phases[i]),
                    va="bottom", fontsize=9, color="0.3")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (weighted sum of squared residuals)")
    ax.set_title("loss history: %s (%d steps)" % (os.path.relpath(csv_path), len(step)))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right")
    save(fig, os.path.join(out, stem + ".png"), written)


def main():
    ap = argparse.ArgumentParser(description="Labelled figures of a Tessera output directory.")
    ap.add_argument("output_dir", help="what tessera_app wrote (run.output_dir)")
    ap.add_argument("--out", help="where the PNGs go (default OUTPUT_DIR/figures)")
    args = ap.parse_args()
    src = args.output_dir
    if not os.path.isdir(src):
        ap.error("%s is not a directory" % src)
    out = args.out or os.path.join(src, "figures")
    os.makedirs(out, exist_ok=True)
    written = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if os.path.abspath(os.path.join(root, d)) != os.path.abspath(out))
        rel = os.path.relpath(root, src)
        prefix = "" if rel == "." else rel.replace(os.sep, "_") + "_"
        for name in sorted(files):
            path = os.path.join(root, name)
            stem = prefix + os.path.splitext(name)[0]
            if name == "loss_history.csv":
                plot_loss(path, stem, out, written)
                continue
            if not name.endswith(".h5"):
                continue
            try:
                f = h5py.File(path, "r")
            except OSError as e:
                print("plot.py: skipping %s: %s" % (path, e))
                continue
            with f:
                study = text_attr(f, "study")
                skip = set()
                if study == "spectral_denoise" and all("fields/" + n in f for n in
                                                       ("clean", "noisy", "denoised")):
                    plot_denoise(f, path, stem, out, written)
                    skip = {"fields/clean", "fields/noisy", "fields/denoised"}
                elif study == "pinn" and "fields" in f:
                    plot_pinn(f, path, stem, out, written)
                    skip = {"fields/" + k for k in f["fields"]}
                plot_generic(f, path, stem, out, written, skip)
    if not written:
        print("plot.py: nothing to plot under %s (no Tessera .h5 fields or loss_history.csv)" % src)
        return 1
    print("plot.py: %d figures in %s" % (len(written), out))
    return 0


sys.exit(main())
