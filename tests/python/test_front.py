"""tests/python/test_front.py: decks, studies, checkpoints and DLPack through
the tessera package, by pytest under mpirun at 1-3 ranks.

Truth is never the binding: tessera_app's own files (a fixture ran it at 2
ranks on inputs/denoise.toml -> TESS_PY_DENOISE_H5 and on pinn_short.toml ->
TESS_PY_PINN_DIR) must be what tessera.run writes, bit for bit, at any rank
count; checkpoint contents are checked against the formula that filled
them, after loading on another rank count (an mpi4py split of the world);
zero copy is equal addresses."""
import os
import pathlib

import numpy as np
import pytest

import tessera
from tessera import _tessera, dist

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = pathlib.Path(os.environ.get("TESS_PY_OUT", "out/python_front")) / f"np{tessera.size()}"


def barrier():
    _tessera.max_over_ranks(dist.Mesh(axes=["x"])._h, 0.0)


def on_root_write(path, text):
    if tessera.rank() == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    barrier()


def bits(x):
    """An array's bytes, so that equal means bitwise equal (NaNs, -0.0)."""
    return np.ascontiguousarray(x).tobytes()


# ---- decks ---------------------------------------------------------------------
def test_deck_load_typed_values_and_overrides():
    d = tessera.deck.load(ROOT / "inputs/denoise.toml",
                          overrides={"noise.sigma": 0.25, "grid.n": [32, 48], "fft.backend": "fftw"})
    assert d.study == "spectral_denoise" and d.path.endswith("inputs/denoise.toml")
    assert d.get("noise.sigma") == 0.25 and d.get("grid.n") == [32, 48]
    assert d["field.amplitudes"] == [1.0, 0.5, 0.25] and d["run.seed"] == 42
    assert d["output.hdf5"] is True and d["fft.backend"] == "fftw"
    assert d.is_set("noise.sigma") and not d.is_set("output.slice")
    assert d["output.slice"] == -1                       # a default
    d2 = tessera.deck.load(ROOT / "inputs/denoise.toml", overrides=["noise.sigma=0.125", 'denoise.rule="hard"'])
    assert d2["noise.sigma"] == 0.125 and d2["denoise.rule"] == "hard"
    assert "sigma = 0.125" in d2.text                    # the effective deck
    with pytest.raises(tessera.TesseraError):
        d.get("noise.nothing")                           # not a schema key


def test_bad_deck_errors_name_file_line_key():
    bad = OUT / "bad.toml"
    on_root_write(bad, 'study = "spectral_denoise"\n[noise]\nsigma = -1\n[grid]\nn = [8, 8]\nbogus = 1\n')
    with pytest.raises(tessera.TesseraError) as ei:
        tessera.deck.load(bad)
    e = ei.value
    assert (e.file, e.line, e.key) == (str(bad), 3, "noise.sigma")
    assert [(p[1], p[2]) for p in e.problems] == [(3, "noise.sigma"), (6, "grid.bogus")]
    assert "out of range" in e.problems[0][3]
    # an override that the study's own checks refuse names the key and the --set
    with pytest.raises(tessera.TesseraError) as ei:
        tessera.deck.load(ROOT / "inputs/denoise.toml", overrides={"field.amplitudes": [1.0]})
    assert ei.value.key == "field.amplitudes" and "--set" in ei.value.file
    # a typo gets the library's suggestion
    with pytest.raises(tessera.TesseraError) as ei:
        tessera.deck.load(ROOT / "inputs/denoise.toml", overrides=["noise.sigmaa=1"])
    assert ei.value.key == "noise.sigmaa" and "did you mean 'noise.sigma'" in str(ei.value.args[0])
    with pytest.raises(tessera.TesseraError) as ei:
        tessera.deck.load(OUT / "missing.toml")
    assert ei.value.file == str(OUT / "missing.toml") and ei.value.args[1] == "I/O error"


# ---- studies: the same bits as tessera_app -----------------------------------------
def test_run_denoise_bitwise_as_tessera_app():
    ref = os.environ.get("TESS_PY_DENOISE_H5")
    if not ref:
        pytest.skip("no TESS_PY_DENOISE_H5")
    import h5py
    out = OUT / "denoise"
    # the fixture's backend (fftw): on a GPU machine "auto" would take cufft
    d = tessera.deck.load(ROOT / "inputs/denoise.toml", overrides={"run.output_dir": str(out), "output.png": False,
                                                                   "fft.backend": "fftw"})
    assert tessera.run(d) > 0
    if tessera.rank() == 0:
        with h5py.File(ref, "r") as a, h5py.File(out / "denoise.h5", "r") as b:
            for f in ("clean", "noisy", "denoised"):
                assert bits(a["fields/" + f][...]) == bits(b["fields/" + f][...]), f
            for k in ("hash_clean", "hash_noisy", "hash_denoised"):
                if k in a.attrs:
                    assert a.attrs[k] == b.attrs[k], k


def test_run_pinn_bitwise_as_tessera_app():
    ref = os.environ.get("TESS_PY_PINN_DIR")
    if not ref:
        pytest.skip("no TESS_PY_PINN_DIR")
    import h5py
    ref, out = pathlib.Path(ref), OUT / "pinn"
    d = tessera.deck.load(HERE / "pinn_short.toml",
                          overrides={"run.output_dir": str(out), "checkpoint.dir": str(out / "checkpoints")})
    tessera.run(d)
    if tessera.rank() == 0:
        assert (ref / "loss_history.csv").read_bytes() == (out / "loss_history.csv").read_bytes()
        for png in ("pinn_u.png", "pinn_v.png"):
            assert (ref / png).read_bytes() == (out / png).read_bytes(), png
        with h5py.File(ref / "pinn_fields.h5", "r") as a, h5py.File(out / "pinn_fields.h5", "r") as b:
            names = []
            a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
            assert len(names) == 6
            for n in names:
                assert bits(a[n][...]) == bits(b[n][...]), n


# ---- checkpoints -------------------------------------------------------------------
def filled(shape, fn, dtype="f64", mesh=None, spec=None):
    a = tessera.array(shape, dtype, mesh=mesh or dist.Mesh(axes=["x"]), spec=spec)
    idx = np.indices(a.local_shape)
    a.local[...] = fn(*[idx[d] + a.local_start[d] for d in range(len(shape))])
    return a


def f_u(i, j):
    return np.sin(0.1 * i + 1) / (j + 3.0)        # not exactly representable: bitwise matters


def f_z(i, j):
    return (i - 2.5 * j) + 1j / (i + j + 1.0)


def test_checkpoint_save_load_on_other_rank_counts():
    from mpi4py import MPI
    path = OUT / "state.h5"
    on_root_write(OUT / ".keep", "")
    u = filled((13, 7), f_u)
    z = filled((5, 9), f_z, dtype="c128")
    n = filled((6, 4), lambda i, j: 1000 * i + j, dtype="i64")
    tessera.checkpoint.save(path, arrays={"u": u, "fields/z": z, "n": n},
                            attrs={"step": 12, "time": 0.75, "note": "py", "flag": True})
    assert os.path.exists(path) and not os.path.exists(str(path) + ".tmp")
    # load where the writer's rank count is not: rank 0 alone, and the others
    world = MPI.COMM_WORLD
    sub = world.Split(0 if world.Get_rank() == 0 else 1)
    m = dist.Mesh(axes=["x"], comm=sub)
    arrs, attrs = tessera.checkpoint.load(path, ["u", "fields/z", "n"], m, spec={"u": (None, "x")},
                                          attrs=["step", "time", "note", "flag"])
    assert attrs == {"step": 12, "time": 0.75, "note": "py", "flag": 1}
    assert arrs["u"].spec == (None, "x") and arrs["z" if False else "fields/z"].dtype == "c128"
    for name, fn, shape in (("u", f_u, (13, 7)), ("fields/z", f_z, (5, 9)), ("n", lambda i, j: 1000 * i + j, (6, 4))):
        g = arrs[name].gather()
        if m.rank == 0:
            want = np.empty(shape, g.dtype)
            want[...] = fn(*np.indices(shape))
            assert bits(g) == bits(want), name
    sub.Free()


def test_failed_save_keeps_last_good_file():
    path = OUT / "good.h5"
    on_root_write(OUT / ".keep", "")
    u = filled((8, 3), f_u)
    tessera.checkpoint.save(path, arrays={"u": u}, attrs={"step": 1})
    before = path.read_bytes() if tessera.rank() == 0 else None
    # "u" is a dataset, so "u/v" cannot be made below it: fails after begin
    with pytest.raises(tessera.TesseraError):
        tessera.checkpoint.save(path, arrays={"u": u, "u/v": u}, attrs={"step": 2})
    with pytest.raises(TypeError):           # refused before any file is touched
        tessera.checkpoint.save(path, arrays={"u": u}, attrs={"bad": [1, 2]})
    with pytest.raises(tessera.TesseraError):
        tessera.checkpoint.load(path, ["nothere"])
    if tessera.rank() == 0:
        assert path.read_bytes() == before
        assert not os.path.exists(str(path) + ".tmp")
    arrs, at = tessera.checkpoint.load(path, ["u"], attrs=["step"])
    assert at == {"step": 1}
    g = arrs["u"].gather()
    if tessera.rank() == 0:
        assert bits(g) == bits(f_u(*np.indices((8, 3))))


# ---- DLPack ------------------------------------------------------------------------
def test_dlpack_export_is_zero_copy():
    a = filled((9, 5), f_u)
    assert a.__dlpack_device__() == (1, 0)                # kDLCPU
    v = np.from_dlpack(a)
    assert v.__array_interface__["data"][0] == _tessera.array_address(a._h)
    assert v.shape == a.local_shape
    a.local[...] += 1.0                                   # the view sees the C block
    assert bits(v) == bits(a.local)
    g = a.gather()
    del a                                                 # the view keeps the array alive
    assert v.sum() == v.copy().sum()                      # still valid memory
    if tessera.rank() == 0:
        assert bits(g) == bits(f_u(*np.indices((9, 5))) + 1.0)


def test_from_dlpack_over_numpy_is_zero_copy():
    r, p = tessera.rank(), tessera.size()
    block = np.full((r + 1, 3), float(r)) + np.arange(3)   # uneven rows: any split
    a = tessera.from_dlpack(block)
    assert a.shape == (p * (p + 1) // 2, 3) and a.local_shape == block.shape
    assert _tessera.array_address(a._h) == block.__array_interface__["data"][0]
    block[0, 0] = -7.0                                    # the array sees NumPy's writes
    g = a.gather()
    if r == 0:
        blocks = [np.full((q + 1, 3), float(q)) + np.arange(3) for q in range(p)]
        for b in blocks:
            b[0, 0] = -7.0                                # every rank wrote its first element
        want = np.vstack(blocks)
        assert bits(g) == bits(want)
    # a plain buffer (no __dlpack__): the buffer protocol, also without a copy
    buf = bytearray(16 * 2)
    mv = memoryview(buf).cast("d", (2, 2))
    b = tessera.from_dlpack(mv, spec=(None, None))
    b.local[...] = 3.0
    assert np.frombuffer(buf)[0] == 3.0
    with pytest.raises(ValueError):
        tessera.from_dlpack(np.zeros((4, 4))[:, ::2])    # strided: refused on every rank
    # a tessera array's block, through DLPack, into another tessera array
    c = tessera.from_dlpack(a)
    assert _tessera.array_address(c._h) == _tessera.array_address(a._h)
