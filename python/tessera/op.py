"""tessera.op: operators on distributed arrays (the guide's spelling).

fft/ifft: c2c over the trailing `rank` dims (all dims by default), for complex
arrays; rfft/irfft: r2c/c2r for real ones; fft of a real array is rfft.
ifft undoes fft exactly as numpy does (1/N on the backward transform) and
returns an array of the forward input's kind and spec. Plans are cached by
shape, spec and dtype. threshold: spectral thresholding (rule "relative" by
default: keep |c| >= value * max |c|, the guide's op.threshold(Xf, 0.1)).
reduce_sum(x, stable=True): the exact sum, bitwise the same at any rank count."""
from . import Array, _tessera

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


def reduce_sum(x, stable=True):
    """The sum of all elements; stable=True: exact (rounded once), the same bits
    at any rank count. (stable=False is not offered: there is one sum.)"""
    if not stable:
        raise ValueError("reduce_sum: only the exact sum is implemented (stable=True)")
    return _tessera.array_sum(x._h)
