"""tests/python/test_tessera.py: the tessera Python package over libtessera,
run by pytest under mpirun at 1-3 ranks (TESS_PY_DENOISE_H5: a denoise.h5
that tessera_app wrote for inputs/denoise.toml).

- zero copy: an array's .local is a NumPy view of the C block (same address);
  a write through it is what gather() returns;
- the guide's A.3 snippet, as written, on the study's noisy field gives the
  study's denoised field bit for bit (tessera_app, same deck, 2 ranks);
- fft/ifft against numpy.fft; reduce_sum exact (math.fsum), the same bits at
  any rank count; bad arguments raise TesseraError with message and frames."""
import math
import os

import numpy as np
import pytest

import tessera
from tessera import _tessera, dist, op


def filled(shape, fn, spec=None, dtype="f64", mesh=None):
    mesh = mesh or dist.Mesh(axes=["x"])
    a = tessera.array(shape, dtype, mesh=mesh, spec=spec)
    idx = np.indices(a.local_shape)
    glob = [idx[d] + a.local_start[d] for d in range(len(shape))]
    a.local[...] = fn(*glob)
    return a


def test_local_is_a_view():
    a = filled((11, 7), lambda i, j: 100.0 * i + j)
    v = a.local
    assert v.__array_interface__["data"][0] == _tessera.array_address(a._h)
    v[...] += 0.5                       # through the view ...
    g = a.gather()                      # ... seen by the C library
    if tessera.rank() == 0:
        i, j = np.indices((11, 7))
        assert np.array_equal(g, 100.0 * i + j + 0.5)
    else:
        assert g is None


def test_guide_a3_denoise_bitwise():
    path = os.environ.get("TESS_PY_DENOISE_H5")
    if not path:
        pytest.skip("no TESS_PY_DENOISE_H5")
    import h5py
    with h5py.File(path, "r") as f:
        noisy, want = f["fields/noisy"][...], f["fields/denoised"][...]

    # the guide's A.3, as written
    from tessera import op  # noqa: F811

    def spectral_denoise(X, threshold=0.1):
        Xf = op.fft(X)
        Xf = op.threshold(Xf, threshold)
        return op.ifft(Xf)

    X = filled(noisy.shape, lambda i, j: noisy[i, j])
    Y = spectral_denoise(X)
    g = Y.gather()
    if tessera.rank() == 0:
        assert g.tobytes() == want.tobytes(), f"max diff {np.max(np.abs(g - want))}"


def test_fft_against_numpy():
    rng = np.random.default_rng(5)
    ref = rng.standard_normal((9, 10)) + 1j * rng.standard_normal((9, 10))
    X = filled(ref.shape, lambda i, j: ref[i, j], dtype="c128")
    F = op.fft(X).gather()
    back = op.ifft(op.fft(X)).gather()
    if tessera.rank() == 0:
        assert np.max(np.abs(F - np.fft.fft2(ref))) < 1e-12 * np.max(np.abs(F))
        assert np.max(np.abs(back - ref)) < 1e-14
    r = rng.standard_normal((12, 8))
    R = filled(r.shape, lambda i, j: r[i, j])
    H = op.rfft(R).gather()
    if tessera.rank() == 0:
        assert np.max(np.abs(H - np.fft.rfft2(r))) < 1e-12 * np.max(np.abs(H))


def test_reduce_sum_exact():
    # values whose plain sum loses digits: fsum is the truth
    v = np.array([1e16, 1.0, -1e16, 3.25e-5, 7.0, -2.5e10, 2.5e10, 0.1] * 50)
    a = filled((len(v),), lambda i: v[i])
    s = op.reduce_sum(a, stable=True)
    assert s == math.fsum(v)
    with pytest.raises(ValueError):
        op.reduce_sum(a, stable=False)


def test_errors_carry_frames():
    mesh = dist.Mesh(axes=["x"])
    with pytest.raises(tessera.TesseraError) as e:
        tessera.array((4, 4), "f99", mesh=mesh)
    msg, code, frames = e.value.args
    assert "unknown dtype 'f99'" in msg and code == "invalid argument"
    assert frames and frames[0][2] == "tess_dtype_parse" and frames[0][1] > 0
    with pytest.raises(ValueError):
        op.ifft(tessera.array((4, 4), mesh=mesh))


def test_mpi4py_communicator_and_reused_outputs():
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    sub = world.Split(world.Get_rank() % 2)      # evens and odds: two meshes
    mesh = dist.Mesh(axes=["x"], comm=sub)
    assert mesh.shape == (sub.Get_size(),)
    a = tessera.array((10,), "f64", mesh=mesh)
    a.local[...] = 1.5 + world.Get_rank() % 2    # 1.5 on the evens' mesh, 2.5 on the odds'
    assert op.reduce_sum(a) == 10 * (1.5 + world.Get_rank() % 2)
    # fft/ifft into outputs given back: the same arrays, the same values
    x = filled((8, 6), lambda i, j: np.cos(i + 0.5 * j), dtype="c128")
    X = op.fft(x)
    y = op.ifft(X)
    X2 = op.fft(x, out=X)
    y2 = op.ifft(X2, out=y)
    assert X2 is X and y2 is y
    g = y.gather()
    if tessera.rank() == 0:
        i, j = np.indices((8, 6))
        assert np.max(np.abs(g - np.cos(i + 0.5 * j))) < 1e-14
    sub.Free()


def test_spectral_operators_and_exact_dot():
    from fractions import Fraction
    ny, nx = 16, 12
    h = 2 * np.pi
    f = filled((ny, nx), lambda i, j: np.sin(2 * h * i / ny) * np.cos(3 * h * j / nx))
    i, j = np.indices((ny, nx))
    y, x = h * i / ny, h * j / nx
    F = op.fft(f)
    dy, dx = (op.ifft(g).gather() for g in op.gradient(F))
    lap = op.ifft(op.laplacian(F)).gather()
    u = op.ifft(op.poisson(F)).gather()
    G = op.fft(f)
    gau = op.ifft(op.gaussian(G, 2.0)).gather()
    low = op.ifft(op.lowpass(op.fft(f), 2.5)).gather()
    if tessera.rank() == 0:
        ref = np.sin(2 * y) * np.cos(3 * x)
        assert np.max(np.abs(dy - 2 * np.cos(2 * y) * np.cos(3 * x))) < 1e-12
        assert np.max(np.abs(dx + 3 * np.sin(2 * y) * np.sin(3 * x))) < 1e-12
        assert np.max(np.abs(lap + 13 * ref)) < 1e-11
        assert np.max(np.abs(u + ref / 13)) < 1e-14
        assert np.max(np.abs(gau - np.exp(-13 / 8) * ref)) < 1e-14
        assert np.max(np.abs(low)) < 1e-15          # |k| = sqrt(13) > 2.5: gone
    # exact dot and norm: the correctly rounded exact values (Fractions)
    rng = np.random.default_rng(9)
    va, vb = rng.standard_normal(101) * 10.0 ** rng.integers(-8, 8, 101), rng.standard_normal(101)
    m = dist.Mesh(axes=["x"])
    a, b = filled((101,), lambda k: va[k], mesh=m), filled((101,), lambda k: vb[k], mesh=m)
    want = float(sum(Fraction(p) * Fraction(q) for p, q in zip(va, vb)))
    assert op.dot(a, b) == want
    assert op.norm(a) == math.sqrt(float(sum(Fraction(p) ** 2 for p in va)))
    with pytest.raises(ValueError):
        op.dot(a, filled((101,), lambda k: vb[k]))      # another mesh
