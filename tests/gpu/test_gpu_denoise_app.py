#!/usr/bin/env python3
"""tests/gpu/test_gpu_denoise_app.py: tessera_app's spectral_denoise study on
the GPU, from the outside, with the GPU deck inputs/denoise_gpu.toml
([fft] backend = "cufft"; ranks share the machine's GPU).

1. At 1, 2, 3, 4 ranks (a 2-D case and a 3-D pencil case, sizes from --set):
   the summary says "backend cufft, device memory"; the field hashes and the
   PNG are identical at every rank count (separate processes, so this also
   covers cuFFT choosing the same algorithms in every run); denoise.h5 and
   denoise.xmf are written.
2. The same deck with --set fft.backend="fftw" (the CPU run, 2 ranks): says
   "backend fftw, host memory"; the modes kept are equal (the clean and noisy
   hashes may differ: the GPU draws the fields with CUDA's cos/sin/log, an
   ulp or two from glibc's; printed), the PSNRs
   agree within 1e-8 dB (a field error e moves a PSNR by 8.7 e / rms; cuFFT
   vs FFTW: e ~ 1e-15, rms ~ 1e-2 here): the summary's 3 decimals, and with
   h5dump the attributes of denoise.h5 at full precision.
3. The files have the CPU run's format: `h5dump -H` (groups, datasets, types,
   shapes, attribute names; the deck string's length aside) and the XDMF
   sidecar are the same as the CPU run's at the same rank count; with
   h5diff: all three fields within 4e-12 (1e-12 of the field's size, as
   tests/gpu/test_gpu_denoise.c).
Exit 77 (CTest: skipped) when `tessera_app DECK --dry-run` does not say the
run would use device memory (no GPU visible, or no cuFFT in this build).
TESS_TEST_HOST_AS_DEVICE=1 in the environment: the "GPU" runs use fftw on the
host (checks this script's own logic on a machine without a GPU).
usage: test_gpu_denoise_app.py MPIEXEC TESSERA_APP DECK WORKDIR"""
import os, re, shutil, subprocess, sys

mpiexec, app, deck, work = sys.argv[1:5]
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
failures = 0
HOST_AS_DEVICE = os.environ.get("TESS_TEST_HOST_AS_DEVICE") == "1"
GPU = ("fftw", "host") if HOST_AS_DEVICE else ("cufft", "device")
GPU_SETS = ['fft.backend="fftw"'] if HOST_AS_DEVICE else []
PSNR_TOL = 1e-8
DENOISED_DELTA = "4e-12"


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def run(np, sets, expect=0):
    cmd = [mpiexec, "-n", str(np), "--oversubscribe", app, deck]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if p.returncode != expect:
        fail(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}\n{p.stdout}\n{p.stderr}")
    return p


def summary(out):
    """hashes, PSNRs, modes kept and the backend line of a run's summary."""
    h = re.search(r"field hashes: clean (\w+) noisy (\w+) denoised (\w+)", out)
    pn = re.search(r"noisy\s+vs clean: RMS error \S+\s+PSNR\s+(\S+) dB", out)
    pd = re.search(r"denoised vs clean: RMS error \S+\s+PSNR\s+(\S+) dB", out)
    k = re.search(r"modes kept: (\d+) of (\d+) coefficients, (\d+) of (\d+) real modes", out)
    b = re.search(r"backend (\w+), (\w+) memory", out)
    if not (h and pn and pd and k and b):
        return None
    return {"hashes": h.groups(), "psnr": (float(pn.group(1)), float(pd.group(1))),
            "kept": k.groups(), "backend": b.groups()}


# ---- skip without a GPU ---------------------------------------------------------------
p = subprocess.run([app, deck, "--dry-run"] + [a for s in GPU_SETS for a in ("--set", s)], env=env,
                   capture_output=True, text=True, timeout=60)
if p.returncode != 0 or not re.search(rf"fft backend {GPU[0]}: {GPU[1]} memory$", p.stdout, re.M):
    line = [l for l in p.stdout.splitlines() if l.startswith("spectral_denoise:")]
    print("test_gpu_denoise_app: skipped:", line[-1] if line else f"dry run exit {p.returncode}")
    sys.exit(77)

h5dump, h5diff = shutil.which("h5dump"), shutil.which("h5diff")


def h5attr(path, name):
    """A double attribute of the file's root group at full precision, or None."""
    if not h5dump or not os.path.isfile(path):
        return None
    out = subprocess.run([h5dump, "-m", "%.17g", "-a", "/" + name, path], capture_output=True,
                         text=True).stdout
    m = re.search(r"\(0\): (\S+)", out)
    return float(m.group(1)) if m else None


cases = {
    "2d": ["grid.n=[160,120]"],
    "3d_pencil": ["grid.n=[9,14,11]", 'grid.decomposition="pencil"', 'field.kind="taylor_green"',
                  'denoise.rule="keep_fraction"', "denoise.value=0.05", "output.slice=4"],
}
for name, sets in cases.items():
    # ---- 1. GPU at 1-4 ranks: same hashes and picture --------------------------------
    ref, gpu2 = None, None
    for np in (1, 2, 3, 4):
        outdir = os.path.join(work, f"{name}_gpu_np{np}")
        p = run(np, sets + GPU_SETS + [f'run.output_dir="{outdir}"'])
        s = summary(p.stdout)
        if not s:
            fail(f"{name} GPU np{np}: no summary in the output:\n{p.stdout}\n{p.stderr}")
            continue
        if s["backend"] != GPU:
            fail(f"{name} GPU np{np}: summary says backend {s['backend'][0]}, {s['backend'][1]} "
                 f"memory; expected {GPU[0]}, {GPU[1]}")
        comm = re.search(r"device comm backend: (\S+)", p.stderr)
        print(f"{name} GPU np{np}: hashes {' '.join(s['hashes'])}, PSNR {s['psnr'][0]:.6f} -> "
              f"{s['psnr'][1]:.6f} dB, device comm backend {comm.group(1) if comm else '?'}")
        for f in ("denoise.h5", "denoise.xmf", "denoise.png"):
            if not os.path.isfile(os.path.join(outdir, f)):
                fail(f"{name} GPU np{np}: no {f} in {outdir}")
        png_path = os.path.join(outdir, "denoise.png")
        png = open(png_path, "rb").read() if os.path.isfile(png_path) else b""
        if np == 2:
            gpu2 = (s, outdir)
        if ref is None:
            ref = (s, png)
            continue
        if s["hashes"] != ref[0]["hashes"]:
            fail(f"{name}: GPU field hashes at {np} ranks {s['hashes']} differ from 1 rank "
                 f"{ref[0]['hashes']}")
        if s["psnr"] != ref[0]["psnr"] or s["kept"] != ref[0]["kept"]:
            fail(f"{name}: GPU PSNR / modes at {np} ranks {s['psnr']} {s['kept']} differ from "
                 f"1 rank {ref[0]['psnr']} {ref[0]['kept']}")
        if png != ref[1]:
            fail(f"{name}: GPU PNG at {np} ranks differs from 1 rank")
    if ref is None or gpu2 is None:
        continue

    # ---- 2. the CPU run of the same deck ----------------------------------------------
    cpudir = os.path.join(work, f"{name}_cpu_np2")
    p = run(2, sets + [f'run.output_dir="{cpudir}"', 'fft.backend="fftw"'])
    c = summary(p.stdout)
    if not c:
        fail(f"{name} CPU: no summary in the output:\n{p.stdout}\n{p.stderr}")
        continue
    g = gpu2[0]
    if c["backend"] != ("fftw", "host"):
        fail(f"{name} CPU: summary says backend {c['backend']}, expected fftw, host")
    if c["hashes"][:2] != g["hashes"][:2]:   # CUDA's libm vs glibc: h5diff bounds them below
        print(f"{name}: clean/noisy hashes CPU {c['hashes'][:2]} vs GPU {g['hashes'][:2]} "
              "(drawn with different libms)")
    if c["kept"] != g["kept"]:
        fail(f"{name}: modes kept CPU {c['kept']} vs GPU {g['kept']}")
    # the summary prints 3 decimals: equal up to that rounding; full digits from the files
    dp = [abs(a - b) for a, b in zip(c["psnr"], g["psnr"])]
    if max(dp) > 0.0011:
        fail(f"{name}: PSNR CPU {c['psnr']} vs GPU {g['psnr']} dB (summary, 3 decimals)")
    cpudir_h5, gpu_h5 = os.path.join(cpudir, "denoise.h5"), os.path.join(gpu2[1], "denoise.h5")
    full = [[h5attr(f, a) for a in ("psnr_noisy_db", "psnr_denoised_db")] for f in (cpudir_h5, gpu_h5)]
    if None not in full[0] + full[1]:
        dp = [abs(a - b) for a, b in zip(full[0], full[1])]
        if max(dp) > PSNR_TOL:
            fail(f"{name}: PSNR CPU {full[0]} vs GPU {full[1]} dB (denoise.h5): differ by "
                 f"{max(dp):.3g} > {PSNR_TOL}")
        print(f"{name} CPU np2: hashes {' '.join(c['hashes'])}, PSNR {full[0][1]:.12f} dB vs GPU "
              f"{full[1][1]:.12f} dB (diff {full[1][1] - full[0][1]:.2e})")
    else:
        print(f"{name} CPU np2: hashes {' '.join(c['hashes'])}, PSNR {c['psnr'][1]:.3f} dB vs GPU "
              f"{g['psnr'][1]:.3f} dB (h5dump not found: summary digits only)")

    # ---- 3. the same file format as the CPU run's ---------------------------------------
    gh5, ch5 = os.path.join(gpu2[1], "denoise.h5"), os.path.join(cpudir, "denoise.h5")
    if os.path.isfile(gh5):
        with open(gh5, "rb") as fh:
            if fh.read(8) != b"\x89HDF\r\n\x1a\n":
                fail(f"{gh5} lacks the HDF5 signature")
    gx, cx = os.path.join(gpu2[1], "denoise.xmf"), os.path.join(cpudir, "denoise.xmf")
    if os.path.isfile(gx) and os.path.isfile(cx) and open(gx).read() != open(cx).read():
        fail(f"{name}: XDMF sidecar of the GPU run differs from the CPU run's ({gx} vs {cx})")
    if h5dump and os.path.isfile(gh5) and os.path.isfile(ch5):
        def header(path):
            out = subprocess.run([h5dump, "-H", path], capture_output=True, text=True).stdout
            return [l for l in out.splitlines()[1:] if "STRSIZE" not in l]
        hg, hc = header(gh5), header(ch5)
        if hg != hc or not hg:
            diff = [f"  gpu: {a!r}\n  cpu: {b!r}" for a, b in zip(hg, hc) if a != b][:5]
            fail(f"{name}: h5dump -H of the GPU file differs from the CPU file's "
                 f"({len(hg)} vs {len(hc)} lines):\n" + "\n".join(diff))
    if h5diff and os.path.isfile(gh5) and os.path.isfile(ch5):
        for field in ("clean", "noisy", "denoised"):
            opts = ["-d", DENOISED_DELTA]
            q = subprocess.run([h5diff, "-q"] + opts + [ch5, gh5, f"/fields/{field}", f"/fields/{field}"],
                               capture_output=True, text=True)
            if q.returncode != 0:
                r = subprocess.run([h5diff, "-r"] + opts + [ch5, gh5, f"/fields/{field}", f"/fields/{field}"],
                                   capture_output=True, text=True)
                fail(f"{name}: fields/{field} CPU vs GPU differ{' beyond ' + opts[1] if opts else ''}:\n"
                     + "\n".join((r.stdout + r.stderr).splitlines()[:12]))
        print(f"{name}: denoise.h5 and .xmf in the CPU run's format; clean, noisy and denoised "
              f"within {DENOISED_DELTA} (h5diff)")
    elif not h5diff:
        print(f"{name}: h5diff not found (Debian: hdf5-tools): file contents not compared")

print("gpu denoise app:", "FAIL" if failures else "ok", f"({failures} failures)")
sys.exit(1 if failures else 0)
