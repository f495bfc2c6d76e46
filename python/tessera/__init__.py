"""tessera: Python front end over libtessera (a binding, never a second
implementation: every number comes from the C library).

    import tessera
    from tessera import dist, op
    mesh = dist.Mesh(axes=["x"])                 # over MPI_COMM_WORLD
    X = tessera.array((64, 64), "f64", mesh=mesh, spec=("x", None))
    X.local[...] = ...                           # a NumPy view of this rank's block
    Y = op.ifft(op.threshold(op.fft(X), 0.1))    # the guide's A.3
    total = op.reduce_sum(Y, stable=True)        # exact, the same at any rank count

MPI starts on import (tessera.init(); mpi4py is not needed) and stops at exit.
Errors raise tessera.TesseraError(message, code, frames)."""
import atexit

from . import _tessera
from ._tessera import TesseraError

__all__ = ["init", "finalize", "array", "Array", "TesseraError", "dist", "op", "rank", "size"]


def init():
    """Start Tessera (and MPI if nobody has); idempotent."""
    _tessera.init()


def finalize():
    """Stop Tessera (and MPI if Tessera started it). Called at exit."""
    _tessera.finalize()


def rank():
    return _tessera.world()[0]


def size():
    return _tessera.world()[1]


class Array:
    """A distributed array: dtype, global shape, a ShardSpec over a mesh.
    `.local` is this rank's block as a NumPy array over the same memory."""

    def __init__(self, handle, mesh, fft=None):
        self._h = handle
        self.mesh = mesh
        self._fft = fft          # for spectra: how op.ifft goes back
        dt, g, l, s, sp = _tessera.array_info(handle)
        self.dtype, self.shape, self.local_shape, self.local_start = dt, g, l, s
        self.spec = tuple(None if a < 0 else mesh.axes[a] for a in sp)

    @property
    def local(self):
        return _tessera.array_local(self._h)

    def gather(self):
        """The whole array as a NumPy array on rank 0; None on the others."""
        return _tessera.array_gather(self._h)

    def __repr__(self):
        return f"tessera.Array({self.shape}, {self.dtype!r}, spec={self.spec})"


def array(shape, dtype="f64", mesh=None, spec=None):
    """A new zero-filled array. spec: one mesh axis name (or None) per dim;
    default: dim 0 over the mesh's first axis."""
    from . import dist
    mesh = mesh or dist.Mesh(axes=["x"])
    shape = tuple(int(n) for n in shape)
    if spec is None:
        spec = (mesh.axes[0],) + (None,) * (len(shape) - 1)
    if len(spec) != len(shape):
        raise ValueError(f"spec has {len(spec)} entries for {len(shape)} dims")
    idx = [-1 if a is None else mesh.axes.index(a) for a in spec]
    return Array(_tessera.array_create(mesh._h, dtype, shape, idx), mesh)


def reshard(src, spec):
    """A new array with src's values under another spec (one collective)."""
    dst = array(src.shape, src.dtype, src.mesh, spec)
    _tessera.reshard(src._h, dst._h)
    return dst


init()
atexit.register(finalize)

from . import dist, op  # noqa: E402  (after init: they create handles)
