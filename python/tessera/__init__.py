"""tessera: Python front end over libtessera (a binding, never a second
implementation: every number comes from the C library).

    import tessera
    from tessera import dist, op
    mesh = dist.Mesh(axes=["x"])                 # over MPI_COMM_WORLD
    X = tessera.array((64, 64), "f64", mesh=mesh, spec=("x", None))
    X.local[...] = ...                           # a NumPy view of this rank's block
    Y = op.ifft(op.threshold(op.fft(X), 0.1))    # the guide's A.3
    total = op.reduce_sum(Y, stable=True)        # exact, the same at any rank count

    d = tessera.deck.load("deck.toml", overrides={"noise.sigma": 0.2})
    tessera.run(d)                               # as `tessera_app deck.toml` does
    tessera.checkpoint.save("s.h5", arrays={"x": X}); tessera.checkpoint.load("s.h5", ["x"], mesh)
    np.from_dlpack(X); tessera.from_dlpack(np_block, mesh=mesh)   # no copies

MPI starts on import (tessera.init(); mpi4py is not needed) and stops at exit.
Errors raise tessera.TesseraError(message, code, frames)."""
import atexit

from . import _tessera
from ._tessera import TesseraError

__all__ = ["init", "finalize", "array", "Array", "TesseraError", "dist", "op", "rank", "size",
           "deck", "run", "checkpoint", "from_dlpack"]


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

    def __dlpack__(self, stream=None, **kwargs):
        """The local block as a DLPack capsule (no copy; keeps the array alive)."""
        del stream, kwargs  # host blocks need no stream; device ones: the caller's order
        return _tessera.array_dlpack(self._h)

    def __dlpack_device__(self):
        return _tessera.array_dlpack_device(self._h)

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


def from_dlpack(x, mesh=None, spec=None):
    """A tessera array over this rank's block x, without copying: an object
    with __dlpack__ (NumPy, torch, cupy, a tessera array), a DLPack capsule,
    or a writable C-contiguous buffer. Collective on the mesh; the global
    shape is the blocks' (sharded dims: the sum along their mesh axis, any
    split). spec as for tessera.array. x must outlive nothing: the array
    keeps it alive."""
    from . import dist
    mesh = mesh or dist.Mesh(axes=["x"])
    nd = len(x.shape) if hasattr(x, "shape") else len(memoryview(x).shape)
    if spec is None:
        spec = (mesh.axes[0],) + (None,) * (nd - 1)
    idx = [-1 if a is None else mesh.axes.index(a) for a in spec]
    src = x.__dlpack__() if hasattr(x, "__dlpack__") else x
    a = Array(_tessera.array_from_dlpack(mesh._h, src, idx), mesh)
    return a


def run(deck, restart=None, resume=False):
    """Run the deck's study (collective on MPI_COMM_WORLD) with tessera_app's
    own code: the same files and printed summary as `mpirun -n P tessera_app
    deck.toml`. deck: a tessera.deck.Deck or a path. Returns the seconds taken.
    restart: a checkpoint to continue from; resume: from the newest in
    checkpoint.dir (resumable studies)."""
    from . import deck as deck_mod
    if not isinstance(deck, deck_mod.Deck):
        deck = deck_mod.load(deck)
    try:
        return _tessera.run(deck._h, None if restart is None else str(restart), bool(resume))
    except TesseraError as e:
        raise deck_mod._locate(e) from None


init()
atexit.register(finalize)

from . import checkpoint, deck, dist, op  # noqa: E402  (after init: they create handles)
