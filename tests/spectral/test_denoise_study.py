#!/usr/bin/env python3
"""tests/spectral/test_denoise_study.py: the spectral_denoise study end to end.

1. Bitwise identity across rank counts: the same deck at 1, 2, 3, 4 ranks
   (2-D slab; 3-D pencil with a dim smaller than the grid; random field with
   keep_fraction) prints the same field fingerprints (order-free hashes of
   every value's bits with its global index) and writes byte-identical PNGs.
2. Known answer: a band-limited clean field (all modes inside |k| <= kc) plus
   white Gaussian noise, low-pass at kc. The clean part passes unchanged, so
   the denoised error is the noise projected on the D kept real modes:
   E[MSE_den] = sigma^2 D / N while MSE_noisy ~ sigma^2. The improvement must
   be 10 log10(N / D) within 4 standard deviations of the chi-square(D)
   fluctuation; D is counted here independently (lattice points in the disk),
   and must equal the study's "real modes" count exactly.
3. Bad decks (negative sigma, unknown rule, size 0, modes/amplitudes mismatch)
   exit with status 3 and name the key.
4. With output.hdf5 on (the default), a run at 2 ranks writes denoise.h5 (an
   HDF5 file: its signature) and denoise.xmf beside it; with h5py present,
   the three fields have the grid's shape.
usage: test_denoise_study.py MPIEXEC TESSERA_APP DECK WORKDIR"""
import math, os, re, subprocess, sys

mpiexec, app, deck, work = sys.argv[1:5]
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def run(np, sets, expect=0):
    cmd = [mpiexec, "-n", str(np), "--oversubscribe", app, deck]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if p.returncode != expect:
        fail(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}\n{p.stdout}\n{p.stderr}")
    return p


def field(out, name):
    m = re.search(name + r"\s*(\S+)", out)
    return m.group(1) if m else None


# ---- 1. bitwise identity across rank counts ----------------------------------
cases = {
    "2d": ["grid.n=[40,30]", "noise.sigma=0.3"],
    "3d_pencil": ["grid.n=[3,10,12]", 'grid.decomposition="pencil"', 'field.kind="taylor_green"',
                  'denoise.rule="soft"', "denoise.value=20.0"],
    "3d_random": ["grid.n=[12,9,8]", 'field.kind="random"', 'denoise.rule="keep_fraction"',
                  "denoise.value=0.07", "output.slice=5"],
}
for name, sets in cases.items():
    ref = None
    for np in (1, 2, 3, 4):
        outdir = os.path.join(work, f"{name}_np{np}")
        p = run(np, sets + [f'run.output_dir="{outdir}"', "output.hdf5=false"])
        m = re.search(r"field hashes: clean (\w+) noisy (\w+) denoised (\w+)", p.stdout)
        if not m:
            fail(f"{name} np{np}: no hashes in output")
            continue
        png = open(os.path.join(outdir, "denoise.png"), "rb").read()
        got = (m.groups(), png)
        if ref is None:
            ref = got
        elif got[0] != ref[0]:
            fail(f"{name}: field hashes at {np} ranks {got[0]} differ from 1 rank {ref[0]}")
        elif got[1] != ref[1]:
            fail(f"{name}: PNG at {np} ranks differs from 1 rank")
    print(f"{name}: fields and picture identical at 1-4 ranks" if ref else f"{name}: no reference")

# ---- 2. known answer: low-pass of a band-limited field ------------------------
n, kc, sigma = 128, 10.0, 0.4
D = sum(1 for kx in range(-n // 2 + 1, n // 2 + 1) for ky in range(-n // 2 + 1, n // 2 + 1)
        if kx * kx + ky * ky <= kc * kc)
N = n * n
for np in (1, 3):
    p = run(np, [f"grid.n=[{n},{n}]", f"noise.sigma={sigma}", 'denoise.rule="lowpass"',
                 f"denoise.value={kc}", "field.modes=[1,2,3,1,5,4,0,7]",
                 "field.amplitudes=[1.0,0.5,0.25,0.3]", "output.hdf5=false", "output.png=false",
                 f'run.output_dir="{work}/ka"', "run.seed=11"])
    m = re.search(r"improvement ([-\d.]+) dB", p.stdout)
    k = re.search(r"(\d+) of (\d+) real modes", p.stdout)
    if not m or not k:
        fail("known-answer run printed no improvement/modes")
        continue
    imp, kept, total = float(m.group(1)), int(k.group(1)), int(k.group(2))
    expect = 10 * math.log10(N / D)
    sd = math.sqrt(2.0 / D)
    tol = 10 * math.log10(1 + 4 * sd) + 10 * math.log10(1 + 4 * math.sqrt(2.0 / N))
    if kept != D or total != N:
        fail(f"kept {kept} of {total} real modes, independent count {D} of {N}")
    if abs(imp - expect) > tol:
        fail(f"PSNR improvement {imp:.3f} dB, model 10 log10(N/D) = {expect:.3f} +- {tol:.3f}")
    print(f"known answer np{np}: improvement {imp:.3f} dB, model {expect:.3f} +- {tol:.3f} dB, D={D}")

# ---- 3. bad decks -----------------------------------------------------------------
bad = [(["noise.sigma=-0.1"], "noise.sigma"),
       (['denoise.rule="median"'], "denoise.rule"),
       (["grid.n=[0,16]"], "grid.n"),
       (["field.amplitudes=[1.0]"], "field.amplitudes"),
       (['denoise.rule="keep_fraction"', "denoise.value=1.5"], "denoise.value")]
for sets, key in bad:
    p = run(1, sets + [f'run.output_dir="{work}/bad"'], expect=3)
    if key not in p.stderr:
        fail(f"bad deck {sets}: message does not name '{key}':\n{p.stderr}")
    else:
        print(f"bad deck {sets}: exit 3, names {key}")

# ---- 4. denoise.h5 is written ----------------------------------------------------
h5dir = os.path.join(work, "h5")
h5 = os.path.join(h5dir, "denoise.h5")
for f in (h5, os.path.join(h5dir, "denoise.xmf")):
    if os.path.exists(f):
        os.remove(f)
p = run(2, ["grid.n=[24,20]", f'run.output_dir="{h5dir}"', "output.png=false"])
if not os.path.isfile(h5):
    fail(f"no {h5} after a run with output.hdf5 on:\n{p.stdout}")
else:
    with open(h5, "rb") as fh:
        if fh.read(8) != b"\x89HDF\r\n\x1a\n":
            fail(f"{h5} lacks the HDF5 signature")
    if not os.path.isfile(os.path.join(h5dir, "denoise.xmf")):
        fail("no denoise.xmf beside denoise.h5")
    try:
        import h5py
    except ImportError:
        h5py = None
    if h5py:
        with h5py.File(h5, "r") as fh:
            for name in ("clean", "noisy", "denoised"):
                shape = fh["fields/" + name].shape
                if tuple(shape) != (24, 20):
                    fail(f"fields/{name} has shape {shape}, expected (24, 20)")
    print(f"denoise.h5 written at 2 ranks{' (fields checked with h5py)' if h5py else ''}")

print("denoise study:", "FAIL" if failures else "ok", f"({failures} failures)")
sys.exit(1 if failures else 0)
