"""tessera.op: operators on distributed arrays (the guide's spelling).

fft/ifft: c2c over the trailing `rank` dims (all dims by default), for complex
arrays; rfft/irfft: r2c/c2r for real ones; fft of a real array is rfft.
ifft undoes fft exactly as numpy does (1/N on the backward transform) and
returns an array of the forward input's kind and spec. Plans are cached by
shape, spec and dtype. threshold: spectral thresholding (rule "relative" by
default: keep |c| >= value * max |c|, the guide's op.threshold(Xf, 0.1)).
reduce_sum(x, stable=True): the exact sum, bitwise the same at any rank count;
dot and norm likewise exact. lowpass, gaussian, dealias (in place), laplacian,
poisson, gradient (new spectra) on spectra from fft, grids of period 2 pi.

PINNs (tessera.pinn, the guide's A.9): mlp, grad, laplacian of an expression,
sin/cos/exp/log/sqrt/tanh, input, define, reduce_sum of an expression (an
exact loss over points: uniform, boundary or an array), evaluate, Adam, LBFGS."""
import math

from . import Array, _tessera
from . import pinn as _pinn
from .pinn import (MLP, Adam, Expr, LBFGS, Loss, boundary, const, cos, define, evaluate, exp, grad,  # noqa: F401
                   input, log, mlp, sin, sqrt, tanh, uniform)

_plans = {}


def _key(a, *extra):
    return (id(a.mesh), a.shape, a.spec, a.dtype) + extra


def _forward(x, rank, out=None):
    rank = rank or len(x.shape)
    key = _key(x, rank, "fwd")
    if key not in _plans:
        out = Array(_tessera.fft_output(x._h, rank), x.mesh)
        plan = _tessera.fft_plan(x._h, out._h, True, False, rank)
        back_in = Array(_tessera.array_like(out._h), x.mesh)
        back_out = Array(_tessera.array_like(x._h), x.mesh)
        bplan = _tessera.fft_plan(back_in._h, back_out._h, False, True, rank)
        _plans[key] = (plan, bplan, rank, x.mesh)   # the mesh outlives its plans
    plan, bplan, rank, _ = _plans[key]
    if out is None:
        out = Array(_tessera.fft_output(x._h, rank), x.mesh, fft=(x, plan, bplan))
    else:
        out._fft = (x, plan, bplan)
    _tessera.fft_execute(plan, x._h, out._h)
    return out


def fft(x, rank=None, out=None):
    """Forward transform (c2c for complex arrays, r2c for real ones). out: an
    earlier result of fft on an array like x, to reuse (no allocation)."""
    return _forward(x, rank, out)


rfft = fft


def ifft(xf, out=None):
    """Back to the forward input's kind and spec (normalised: ifft(fft(x)) = x).
    out: an array like the forward input, to reuse."""
    if xf._fft is None:
        raise ValueError("ifft: this array is not a spectrum from op.fft")
    src, plan, bplan = xf._fft
    if out is None:
        out = Array(_tessera.array_like(src._h), src.mesh)
    _tessera.fft_execute(bplan, xf._h, out._h)
    return out


irfft = ifft


def threshold(xf, value, rule="relative"):
    """In place on the spectrum (returned): hard, soft, relative or keep_fraction."""
    if xf._fft is None:
        raise ValueError("threshold: this array is not a spectrum from op.fft")
    kept, total = _tessera.threshold(xf._h, xf._fft[1], rule, float(value))
    xf.kept, xf.total = kept, total
    return xf


def reduce_sum(x, stable=True, **loss_opts):
    """The sum of all elements; stable=True: exact (rounded once), the same bits
    at any rank count. (stable=False is not offered: there is one sum.)
    Of a PINN expression: the exact loss over a point set (tessera.pinn.reduce_sum:
    points=, weight=, chunk=, mesh=, dp=, comm=)."""
    if not stable:
        raise ValueError("reduce_sum: only the exact sum is implemented (stable=True)")
    if isinstance(x, Expr):
        return _pinn.reduce_sum(x, stable, **loss_opts)
    return _tessera.array_sum(x._h)


def _spectrum(xf, what):
    if xf._fft is None:
        raise ValueError(f"{what}: this array is not a spectrum from op.fft")
    return xf._fft[1]


def _like_spectrum(xf):
    y = Array(_tessera.array_like(xf._h), xf.mesh)
    y._fft = xf._fft
    return y


def lowpass(xf, kcut):
    """In place: zero the modes with |k| > kcut (domain 2 pi per dim)."""
    _tessera.spectral("lowpass", xf._h, _spectrum(xf, "lowpass"), None, float(kcut))
    return xf


def gaussian(xf, kwidth):
    """In place: multiply by exp(-|k|^2 / (2 kwidth^2))."""
    _tessera.spectral("gaussian", xf._h, _spectrum(xf, "gaussian"), None, float(kwidth))
    return xf


def dealias(xf):
    """In place: the 2/3 rule."""
    _tessera.spectral("dealias", xf._h, _spectrum(xf, "dealias"), None, 0.0)
    return xf


def laplacian(xf):
    """A new spectrum: -|k|^2 xf (ifft gives the Laplacian of the field); of a
    PINN expression (an MLP output, ...): its Laplacian expression (A.9)."""
    if not isinstance(xf, Array):
        return _pinn.laplacian(xf)
    y = _like_spectrum(xf)
    _tessera.spectral("laplacian", xf._h, _spectrum(xf, "laplacian"), y._h, 0.0)
    return y


def poisson(xf):
    """A new spectrum: the zero-mean solution of lap u = f, -xf / |k|^2."""
    y = _like_spectrum(xf)
    _tessera.spectral("inverse_laplacian", xf._h, _spectrum(xf, "poisson"), y._h, 0.0)
    return y


def gradient(xf):
    """New spectra i k_d xf, one per transformed dim (slowest first)."""
    plan = _spectrum(xf, "gradient")
    ys = [_like_spectrum(xf) for _ in range(_tessera.fft_rank(plan))]
    _tessera.spectral("gradient", xf._h, plan, [y._h for y in ys], 0.0)
    return ys


def dot(x, y):
    """The exact dot product of two f64 arrays (the same bits at any rank count)."""
    return _tessera.dot(x._h, y._h)


def norm(x):
    """The 2-norm, from the exact sum of squares (rounded once, then sqrt)."""
    return math.sqrt(_tessera.dot(x._h, x._h))
