"""tests/python/test_pinn.py: the PINN part of the tessera package (the
guide's A.9) under pytest, by mpirun at 1-3 ranks. TESS_PY_PINN_DIR: where
tessera_app wrote its run of tests/python/pinn_a9.toml (2 ranks).

- the A.9 snippet, as written (forcing sin(x) cos(y) as in
  shared/bench-anchors/pinn_torch.py), then 2 Adam + 2 L-BFGS steps through
  op.Adam / op.LBFGS: every loss equals tessera_app's loss_history.csv
  (printed with 17 digits: exact) and the final parameters and both
  optimizer states equal its checkpoint bit for bit (so did every gradient
  they consumed); op.evaluate of u equals its pinn_fields.h5 prediction;
- the exact gradient agrees with central finite differences of the loss;
- expressions render to text the C parser reads as Python meant it (checked
  by evaluating them in C against NumPy), a definition changes no bit;
- bad names, shapes and expressions raise TesseraError naming the problem."""
import glob
import math
import os

import numpy as np
import pytest

import tessera
from tessera import op

D = os.environ.get("TESS_PY_PINN_DIR")


def test_guide_a9_bitwise_against_app():
    if not D:
        pytest.skip("no TESS_PY_PINN_DIR")
    import h5py
    hist = np.loadtxt(os.path.join(D, "loss_history.csv"), delimiter=",", skiprows=1, usecols=2)
    (ck,) = glob.glob(os.path.join(D, "checkpoints", "pinn_*.h5"))
    with h5py.File(ck, "r") as f:
        want = {k: f["pinn/" + k][...] for k in ("theta", "adam", "lbfgs")}
    with h5py.File(os.path.join(D, "pinn_fields.h5"), "r") as f:
        u_app = f["fields/u_predicted"][...]

    x, y = op.input("x"), op.input("y")               # the network's inputs, by name
    forcing = op.sin(x) * op.cos(y)

    # the guide's A.9, as written
    psi = op.mlp(in_dim=2, hidden=[256,256,256], out_dim=1)  # noqa: E231

    # Stream-function derivatives
    u = op.grad(psi, wrt="y")
    v = -op.grad(psi, wrt="x")

    # Incompressibility: div(u,v)=0
    incomp = op.grad(u,"x") + op.grad(v,"y")  # noqa: E231

    # PDE residual (Navier–Stokes)
    residual = op.laplacian(psi) - forcing

    # Loss: PDE residual + incompressibility
    loss = op.reduce_sum(residual**2 + incomp**2, stable=True)

    # the deck's training: 2 Adam steps (lr 1e-3, constant), then 2 L-BFGS (history 20)
    theta = psi.params
    got = []
    adam = op.Adam(loss, lr=1e-3)
    for _ in range(2):
        f, g = loss.value_and_grad(theta)
        got.append(f)
        adam.step(theta, g)
    lb = op.LBFGS(loss, history=20)
    f, g = loss.value_and_grad(theta)
    for _ in range(2):
        f, _ = lb.step(loss, theta, f, g)
        got.append(f)
    assert got == list(hist), f"{got} vs {list(hist)}"
    assert theta.tobytes() == want["theta"].tobytes()
    assert adam.state().tobytes() == want["adam"].tobytes()
    assert lb.state().tobytes() == want["lbfgs"].tobytes()
    # the study's report grid as pinn_fields.h5 stores it (y increasing down the rows;
    # the coordinates computed as pde/pinn_driver.c does, for the image's rows)
    ny, nx = u_app.shape
    j, i = np.indices((ny, nx))
    pts = np.stack([(1.0 * i) / (nx - 1), 1.0 - (1.0 * (ny - 1 - j)) / (ny - 1)], axis=-1).reshape(-1, 2)
    assert op.evaluate(u, pts, params=theta).tobytes() == u_app.reshape(-1).tobytes()


def small_problem(points=48, **kw):
    psi = op.mlp(in_dim=2, hidden=[12, 10], out_dim=1, seed=7, **kw)
    x, y = psi.inputs
    u, v = op.grad(psi, "y"), -op.grad(psi, "x")
    res = op.laplacian(psi) - op.sin(x) * op.cos(y)
    interior = op.reduce_sum((res + u * v) ** 2 + 0.5 * (op.grad(u, "x") + op.grad(v, "y") - y) ** 2,
                             points=op.uniform(points, lo=[-1, 0], hi=[1, 2]))
    wall = op.reduce_sum((psi - x * y) ** 2, points=op.boundary(20, lo=[-1, 0], hi=[1, 2]), weight=3.0)
    return psi, interior + wall


def test_gradient_against_finite_differences():
    psi, loss = small_problem()
    theta = psi.params
    f, g = loss.value_and_grad(theta)
    assert len(loss.set_losses()) == 3              # weights 1, 0.5 (one set each) and the wall's 3
    assert f == loss.value(theta)
    gmax = np.max(np.abs(g))
    rng = np.random.default_rng(3)
    idx = np.concatenate([[0, len(theta) - 1], rng.choice(len(theta), 14, replace=False)])
    for k in idx:
        # central differences: truncation ~h^2 f''' ~ 1e-12, rounding ~1e-16 f / h ~ 1e-11
        h = 1e-5
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        fd = (loss.value(tp) - loss.value(tm)) / (tp[k] - tm[k])
        assert abs(fd - g[k]) <= 1e-6 * max(abs(g[k]), 1e-3 * gmax), (k, fd, g[k])


def test_expressions_render_and_evaluate():
    psi = op.mlp(in_dim=2, hidden=[4], out_dim=1)
    x, y = psi.inputs
    cases = [
        (x - (y - 1), "x - (y - 1)", lambda x, y: x - (y - 1)),
        (x / (y * 2), "x / (y * 2)", lambda x, y: x / (y * 2)),
        (-(x + y) ** 2, "-(x + y)^2", lambda x, y: -(x + y) ** 2),
        ((x * y) ** 3, "(x * y)^3", lambda x, y: (x * y) ** 3),
        (x ** -1 + 0.1, "x^(-1) + 0.1", lambda x, y: x ** -1.0 + 0.1),
        (2 - x * -2.5, "2 - x * -2.5", lambda x, y: 2 - x * -2.5),
        (op.exp(-x) * op.sqrt(y) / 3, "exp(-x) * sqrt(y) / 3", lambda x, y: np.exp(-x) * np.sqrt(y) / 3),
        ((x - y) - (x - y) * 1e-3, "x - y - (x - y) * 0.001", lambda x, y: (x - y) - (x - y) * 1e-3),
    ]
    pts = np.array([[0.3, 0.7], [1.25, 0.5], [-0.4, 2.0]])
    for e, text, fn in cases:
        assert str(e) == text
        got = op.evaluate(e + 0 * psi, pts)            # 0 * psi folds away in C: the expression alone
        assert np.allclose(got, fn(pts[:, 0], pts[:, 1]), rtol=1e-14, atol=0), text
    u = op.grad(psi, wrt="y")
    assert str(op.grad(-u, "x") + op.laplacian(psi)) == 'grad(-grad(psi, "y"), "x") + laplacian(psi)'
    # a definition renders as its name and changes no bit of the loss
    forcing = op.define("forcing", op.sin(x) * op.cos(y))
    assert str(op.laplacian(psi) - forcing) == "laplacian(psi) - forcing"
    a = op.reduce_sum((op.laplacian(psi) - forcing) ** 2, points=op.uniform(40))
    b = op.reduce_sum((op.laplacian(psi) - op.sin(x) * op.cos(y)) ** 2, points=op.uniform(40))
    fa, ga = a.value_and_grad()
    fb, gb = b.value_and_grad()
    assert fa == fb and ga.tobytes() == gb.tobytes()
    # explicit points: the loss is the exactly rounded sum of the squares (fsum)
    r = op.evaluate(psi - x, pts)
    assert op.reduce_sum((psi - x) ** 2, points=pts).value() == math.fsum(r * r)


def errmsg(fn):
    with pytest.raises(tessera.TesseraError) as e:
        fn()
    msg, code, frames = e.value.args
    return msg, code, frames


def test_errors_name_the_problem():
    psi = op.mlp(in_dim=2, hidden=[4], out_dim=1)
    x, y = psi.inputs
    msg, code, frames = errmsg(lambda: op.evaluate(op.grad(psi, "z"), np.zeros((2, 2))))
    assert "z" in msg and frames and frames[0][1] > 0
    msg, _, _ = errmsg(lambda: op.evaluate(psi * op.input("q"), np.zeros((2, 2))))
    assert "q" in msg
    msg, _, _ = errmsg(lambda: op.reduce_sum((psi - op.input("w")) ** 2, points=op.uniform(8)).value())
    assert "w" in msg
    msg, code, _ = errmsg(lambda: op.evaluate(psi, np.zeros((3, 3))))
    assert "(3, 3)" in msg and "(n, 2)" in msg and code == "shape mismatch"
    loss = op.reduce_sum((psi - x) ** 2, points=op.uniform(8))
    msg, _, _ = errmsg(lambda: loss.value_and_grad(np.zeros(5)))
    assert "theta" in msg and "5" in msg and str(psi.nparams) in msg
    msg, _, _ = errmsg(lambda: op.reduce_sum((psi - x) ** 2, points=np.zeros((6, 3))).value())
    assert "(6, 3)" in msg
    msg, _, _ = errmsg(lambda: op.reduce_sum(psi * x))
    assert "sum of squares" in msg
    msg, _, _ = errmsg(lambda: op.mlp(in_dim=2, hidden=[4], out_dim=1, act="relu"))
    assert "relu" in msg
    msg, _, _ = errmsg(lambda: op.evaluate(op.log(psi) ** x, np.zeros((1, 2))))
    assert "exponent" in msg
    msg, _, _ = errmsg(lambda: op.Adam(loss, schedule="linear"))
    assert "linear" in msg
    adam = op.Adam(loss)
    msg, _, _ = errmsg(lambda: adam.step([1.0] * psi.nparams, np.zeros(psi.nparams)))
    assert "in place" in msg
    msg, _, _ = errmsg(lambda: op.LBFGS(7).step(loss, psi.params, 0.0, np.zeros(psi.nparams)))
    assert "7 parameters" in msg
