"""tessera.dist: meshes of named axes over MPI_COMM_WORLD or an mpi4py
communicator."""
from . import _tessera


class Mesh:
    """Named axes over all ranks: dist.Mesh(axes=["x", "y"], shape=(2, 2)).
    shape: one size per axis; None or 0 entries are inferred (MPI_Dims_create
    style: at most one may be left open). Default: all ranks on the first axis."""

    def __init__(self, axes, shape=None, devices=None, comm=None):
        """comm: an mpi4py communicator (default: MPI_COMM_WORLD)."""
        del devices  # GPUs: one per rank where present (not in this slice)
        axes = list(axes)
        n = comm.Get_size() if comm is not None else _tessera.world()[1]
        if shape is None:
            shape = [n] + [1] * (len(axes) - 1)
        shape = [int(s or 0) for s in shape]
        if len(shape) != len(axes):
            raise ValueError(f"{len(axes)} axes but {len(shape)} sizes")
        open_ = [i for i, s in enumerate(shape) if s == 0]
        known = 1
        for s in shape:
            known *= s or 1
        if len(open_) > 1:
            raise ValueError("at most one axis size may be inferred")
        if open_:
            if n % known:
                raise ValueError(f"{n} ranks do not divide by {known}")
            shape[open_[0]] = n // known
        self._h = _tessera.mesh_create(axes, shape, -1 if comm is None else comm.py2f())
        self.axes, self.shape, self.rank = _tessera.mesh_info(self._h)
        self.axes, self.shape = tuple(self.axes), tuple(self.shape)

    def __repr__(self):
        return f"tessera.dist.Mesh(axes={list(self.axes)}, shape={self.shape})"
