"""tessera.checkpoint: HDF5 checkpoints (tess_checkpoint_*), atomic and
restartable on any rank count.

    tessera.checkpoint.save("state.h5", arrays={"u": U, "fields/v": V},
                            attrs={"step": 10, "time": 0.5, "note": "x"})
    arrays, attrs = tessera.checkpoint.load("state.h5", ["u"], mesh, attrs=["step"])

save writes "<path>.tmp" and renames it when complete: a failure leaves the
previous file as it was. Arrays are stored whole (global datasets), so load
may use another mesh, spec and rank count. Both are collective (save on the
arrays' mesh, load on `mesh`)."""
from . import Array, _tessera

__all__ = ["save", "load"]


def save(path, arrays=None, attrs=None):
    """arrays: {dataset name: tessera.Array} (one mesh); attrs: {key: int,
    float, bool or str} as root attributes."""
    arrays = arrays or {}
    items = [(str(k), a._h) for k, a in arrays.items()]
    _tessera.ckpt_save(str(path), items, dict(attrs or {}))


def load(path, names, mesh=None, spec=None, attrs=None):
    """{name: tessera.Array} on `mesh` (default: all ranks on one axis "x").
    spec: one spec for all arrays or {name: spec} (a mesh axis name or None
    per dimension; default: dim 0 over the mesh's first axis). attrs: root
    attribute keys to read too: then the result is (arrays, {key: value})."""
    from . import dist
    mesh = mesh or dist.Mesh(axes=["x"])
    names = [names] if isinstance(names, str) else list(names)

    def idx(n):
        s = spec.get(n) if isinstance(spec, dict) else spec
        return None if s is None else [-1 if a is None else mesh.axes.index(a) for a in s]

    hs, at = _tessera.ckpt_load(str(path), mesh._h, [(n, idx(n)) for n in names], list(attrs or []))
    out = {n: Array(h, mesh) for n, h in zip(names, hs)}
    return (out, at) if attrs is not None else out
