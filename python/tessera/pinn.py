"""tessera.pinn: physics-informed networks from Python (the guide's A.9), over
libtessera's PINN library (include/tessera/pinn.h, docs/pinn.md). A binding:
expressions built with Python operators render to the text the C expression
language takes (tess_pinn_define); the network, its derivatives, the losses
and their exact gradients, evaluation and the optimizers are all C.

    psi = op.mlp(in_dim=2, hidden=[256, 256, 256], out_dim=1)
    x, y = psi.inputs
    forcing = op.sin(x) * op.cos(y)
    u = op.grad(psi, wrt="y"); v = -op.grad(psi, wrt="x")
    incomp = op.grad(u, "x") + op.grad(v, "y")
    residual = op.laplacian(psi) - forcing
    loss = op.reduce_sum(residual**2 + incomp**2, stable=True)   # a Loss
    f, g = loss.value_and_grad()          # collective; the same bits at any rank count

A Loss is a sum over point sets of weight * sum over points of sum over
residuals r^2 (the C problem's definition); reduce_sum of an expression takes
its summand as a sum of (constant times) squares. Its points default to the
`pinn` study's: 4096 uniform in the unit box from the network's seed (deck
keys pde.points, pde.lo/hi, run.seed), so a deck and a script that say the
same thing give the same bits."""
import numbers

import numpy as np

from . import _tessera
from ._tessera import TesseraError

__all__ = ["MLP", "Expr", "Loss", "Adam", "LBFGS", "mlp", "grad", "laplacian", "input", "define", "const",
           "sin", "cos", "exp", "log", "sqrt", "tanh", "uniform", "boundary", "reduce_sum", "evaluate"]

_INTERIOR_STREAM, _BOUNDARY_STREAM = 101, 102   # the pinn study's point streams (pde/pinn_driver.c)


def _error(msg):
    """A TesseraError raised by the Python side (no C frames)."""
    return TesseraError(msg, "invalid argument", [])


# ---- expressions --------------------------------------------------------------
# precedence levels of the C grammar: sum 1, product 2, unary minus 3, power 4, primary 5
class Expr:
    """A scalar field over the network's inputs. Build with + - * / unary -,
    ** (a constant exponent), numbers, op.grad, op.laplacian, op.sin, ...;
    str(e) is the text tess_pinn_define takes."""
    prec = 5

    def _kids(self):
        return ()

    def __add__(self, o): return _Bin("+", self, _wrap(o))
    def __radd__(self, o): return _Bin("+", _wrap(o), self)
    def __sub__(self, o): return _Bin("-", self, _wrap(o))
    def __rsub__(self, o): return _Bin("-", _wrap(o), self)
    def __mul__(self, o): return _Bin("*", self, _wrap(o))
    def __rmul__(self, o): return _Bin("*", _wrap(o), self)
    def __truediv__(self, o): return _Bin("/", self, _wrap(o))
    def __rtruediv__(self, o): return _Bin("/", _wrap(o), self)
    def __neg__(self): return _Neg(self)
    def __pos__(self): return self

    def __pow__(self, k):
        if isinstance(k, Expr) and not isinstance(k, _Num):
            raise _error(f"power: the exponent must be a number (got {k})")
        return _Pow(self, _wrap(k))

    def __str__(self):
        return self._render()

    def __repr__(self):
        return f"tessera.op.Expr({self._render()!r})"

    def eval(self, points, params=None):
        """Values at points (n x in_dim, NumPy) as a NumPy vector; rank-local.
        params: a parameter vector (default: the network's current ones)."""
        return evaluate(self, points, params)


def _wrap(v):
    if isinstance(v, Expr):
        return v
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return _Num(float(v))
    raise _error(f"expression: cannot use {type(v).__name__} {v!r} (numbers and expressions only)")


def _paren(e, level):
    s = e._render()
    return f"({s})" if e.prec < level else s


class _Num(Expr):
    def __init__(self, v):
        if not np.isfinite(v):
            raise _error(f"expression: the constant {v} is not finite")
        self.v = v
        self.prec = 5 if v >= 0 else 3     # "-2" parses as a unary minus

    def _render(self):
        v = self.v
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


class _Sym(Expr):
    """A name: a coordinate, a network output or a definition (def_ set)."""

    def __init__(self, name, net=None, def_=None):
        self.name, self.net, self.def_ = name, net, def_

    def _kids(self):
        return (self.def_,) if self.def_ is not None else ()

    def _render(self):
        return self.name


class _Bin(Expr):
    def __init__(self, op, a, b):
        self.op, self.a, self.b = op, a, b
        self.prec = 1 if op in "+-" else 2

    def _kids(self):
        return (self.a, self.b)

    def _render(self):
        # left-associative: the right operand of - and / binds tighter
        right = self.prec + 1 if self.op in "-/" else self.prec
        return f"{_paren(self.a, self.prec)} {self.op} {_paren(self.b, right)}"


class _Neg(Expr):
    prec = 3

    def __init__(self, a):
        self.a = a

    def _kids(self):
        return (self.a,)

    def _render(self):
        return "-" + _paren(self.a, 3)


class _Pow(Expr):
    prec = 4

    def __init__(self, a, k):
        self.a, self.k = a, k

    def _kids(self):
        return (self.a, self.k)

    def _render(self):
        return f"{_paren(self.a, 5)}^{_paren(self.k, 5)}"


class _Call(Expr):
    def __init__(self, fn, arg, coord=None):
        self.fn, self.a, self.coord = fn, arg, coord

    def _kids(self):
        return (self.a,)

    def _render(self):
        if self.coord is not None:
            return f'{self.fn}({self.a._render()}, "{self.coord}")'
        return f"{self.fn}({self.a._render()})"


def input(name):
    """A coordinate by name (resolved against the network's input names)."""
    return _Sym(str(name))


def const(v):
    """A number as an expression."""
    return _wrap(v)


def define(name, expr):
    """A named field or constant (tess_pinn_define(name, text)): renders as
    its name, so errors and tess_pinn_jet_spec read like a deck."""
    return _Sym(str(name), def_=_wrap(expr))


def grad(f, wrt):
    """d f / d wrt (wrt: an input name, or an input expression)."""
    if isinstance(wrt, _Sym):
        wrt = wrt.name
    if not isinstance(wrt, str):
        raise _error(f"grad: wrt must be an input name (got {wrt!r})")
    return _Call("grad", _wrap(f), wrt)


def laplacian(f):
    """The Laplacian over all inputs (of an MLP output: one forward-Laplacian
    jet component). Spectra from op.fft go to tessera.op.laplacian's FFT form."""
    return _Call("laplacian", _wrap(f))


def _fn(name):
    def f(e):
        return _Call(name, _wrap(e))
    f.__name__ = name
    f.__doc__ = f"{name}(e), elementwise"
    return f


sin, cos, exp, log, sqrt, tanh = (_fn(n) for n in ("sin", "cos", "exp", "log", "sqrt", "tanh"))


def _walk(e, seen=None):
    """Every node of e once (definitions' bodies too), children first."""
    seen = set() if seen is None else seen
    if id(e) in seen:
        return
    seen.add(id(e))
    for k in e._kids():
        yield from _walk(k, seen)
    yield e


def _scan(exprs):
    """(network, [(name, text)] definitions in dependency order) of exprs."""
    nets, defs = {}, {}
    for e in exprs:
        for n in _walk(e):
            if isinstance(n, _Sym):
                if n.net is not None:
                    nets[id(n.net)] = n.net
                if n.def_ is not None:
                    text = n.def_._render()
                    if defs.setdefault(n.name, text) != text:
                        raise _error(f"define: '{n.name}' defined twice: '{defs[n.name]}' and '{text}'")
    if len(nets) != 1:
        raise _error(f"an expression over {len(nets)} networks: expected exactly one (op.mlp)")
    return next(iter(nets.values())), list(defs.items())


# ---- the network -------------------------------------------------------------------
class MLP(_Sym):
    """op.mlp(...): a C tess_mlp_t. For one output it is that output as an
    expression; net[k] or net.outputs for more. .params: a copy of the
    parameter vector (f64; assigning sets them)."""

    def __init__(self, in_dim, hidden, out_dim, act="tanh", seed=1, dtype="f64", init="glorot",
                 inputs=None, outputs=None):
        in_dim, out_dim = int(in_dim), int(out_dim)
        if inputs is None:
            inputs = ("x", "y", "z", "t")[:in_dim] if in_dim <= 4 else [f"x{i}" for i in range(in_dim)]
        if outputs is None:
            outputs = ("psi",) if out_dim == 1 else [f"psi{k}" for k in range(out_dim)]
        self.input_names, self.output_names = tuple(inputs), tuple(outputs)
        if len(self.input_names) != in_dim or len(self.output_names) != out_dim:
            raise _error(f"mlp: {len(self.input_names)} input names for in_dim={in_dim}, "
                         f"{len(self.output_names)} output names for out_dim={out_dim}")
        self.seed, self.act, self.dtype = int(seed), act, dtype
        self.widths = [in_dim] + [int(h) for h in hidden] + [out_dim]
        self._h = _tessera.mlp_create(self.widths, act, dtype, init, self.seed)
        super().__init__(self.output_names[0], net=self)
        self.outputs = (self,) if out_dim == 1 else tuple(_Sym(n, net=self) for n in self.output_names)
        self.inputs = tuple(_Sym(n) for n in self.input_names)
        self._eval = {}     # definitions -> an evaluation-only problem

    def __getitem__(self, k):
        return self.outputs[k]

    def _render(self):
        if len(self.output_names) != 1:
            raise _error(f"a network of {len(self.output_names)} outputs: use net[k] or net.outputs")
        return self.name

    @property
    def nparams(self):
        return _tessera.mlp_nparams(self._h)

    @property
    def params(self):
        return _tessera.mlp_get_params(self._h)

    @params.setter
    def params(self, theta):
        _tessera.mlp_set_params(self._h, theta)

    def __repr__(self):
        return f"tessera.op.MLP(widths={self.widths}, act={self.act!r}, dtype={self.dtype!r}, seed={self.seed})"


def mlp(in_dim, hidden=(64, 64, 64), out_dim=1, act="tanh", seed=1, dtype="f64", init="glorot",
        inputs=None, outputs=None):
    """A multilayer perceptron in_dim -> hidden... -> out_dim, activation
    (tanh|sin|softplus|gelu) after every layer but the last, Glorot (or He)
    weights from the counter RNG keyed by seed (the same network at any rank
    count), zero biases. inputs / outputs: names in expressions (default x, y,
    z, t and psi)."""
    return MLP(in_dim, hidden, out_dim, act, seed, dtype, init, inputs, outputs)


def _problem(net, defs, sets=(), chunk=0, mesh=None, dp=None, comm=None):
    mh, dpn, fc = None, "", -1
    if mesh is not None:
        mh, dpn = mesh._h, dp or mesh.axes[0]
    elif comm is not None:
        fc = comm.py2f()
    return _tessera.pinn_create(net._h, list(net.input_names), list(net.output_names), list(defs), list(sets),
                                int(chunk), mh, dpn, fc)


def evaluate(expr, points, params=None):
    """expr at points (n x in_dim) as a NumPy vector, rank-local, with the
    network's current parameters (or params)."""
    expr = _wrap(expr)
    net, defs = _scan([expr])
    key = tuple(defs)
    if key not in net._eval:
        net._eval[key] = _problem(net, defs)
    if params is not None:
        net.params = params
    return _tessera.pinn_eval(net._eval[key], expr._render(), points)


# ---- points and losses --------------------------------------------------------------
class Points:
    def __init__(self, kind, n=None, lo=0.0, hi=1.0, seed=None, stream=None, x=None):
        self.kind, self.n, self.lo, self.hi, self.seed, self.stream, self.x = kind, n, lo, hi, seed, stream, x

    def _spec(self, net):
        if self.kind == "points":
            return self.x
        d = net.widths[0]
        lo = [float(self.lo)] * d if isinstance(self.lo, numbers.Real) else [float(v) for v in self.lo]
        hi = [float(self.hi)] * d if isinstance(self.hi, numbers.Real) else [float(v) for v in self.hi]
        seed = net.seed if self.seed is None else int(self.seed)
        return (int(self.n), lo, hi, seed, int(self.stream))


def uniform(n, lo=0.0, hi=1.0, seed=None, stream=_INTERIOR_STREAM):
    """n points uniform in the box [lo, hi) (numbers or one per input), from
    the counter RNG keyed by (seed, stream, index); seed None: the network's.
    The defaults are the pinn study's interior points."""
    return Points("uniform", int(n), lo, hi, seed, stream)


def boundary(n, lo=0.0, hi=1.0, seed=None, stream=_BOUNDARY_STREAM):
    """n points uniform by length on the boundary of a 2-d box (the pinn
    study's boundary points by default)."""
    return Points("boundary", int(n), lo, hi, seed, stream)


def _squares(e):
    """e as [(c, r)] with e = sum c * r^2; None if it is not such a sum."""
    if isinstance(e, _Bin) and e.op in "+-":
        a, b = _squares(e.a), _squares(e.b)
        if a is None or b is None:
            return None
        return a + ([(-c, r) for c, r in b] if e.op == "-" else b)
    if isinstance(e, _Neg):
        a = _squares(e.a)
        return None if a is None else [(-c, r) for c, r in a]
    if isinstance(e, _Pow) and isinstance(e.k, _Num) and e.k.v == 2:
        return [(1.0, e.a)]
    if isinstance(e, _Bin) and e.op == "*":
        for c, s in ((e.a, e.b), (e.b, e.a)):
            if isinstance(c, _Num):
                t = _squares(s)
                return None if t is None else [(c.v * k, r) for k, r in t]
    return None


class Loss:
    """sum over its terms of weight * sum over points of sum over residuals
    r^2 (built by op.reduce_sum; add Losses, scale by numbers). Set up (a
    collective over all ranks, or the mesh's dp axis) on first use."""

    def __init__(self, terms, chunk=0, mesh=None, dp=None, comm=None):
        self.terms = terms      # [(weight, [residual Expr], Points)]
        self.chunk, self.mesh, self.dp, self.comm = chunk, mesh, dp, comm
        self._p = None
        self.net, self.definitions = _scan([r for _, rs, _ in terms for r in rs])

    def __add__(self, o):
        if not isinstance(o, Loss):
            return NotImplemented
        return Loss(self.terms + o.terms, self.chunk or o.chunk, self.mesh or o.mesh, self.dp or o.dp,
                    self.comm or o.comm)

    def __mul__(self, c):
        if not isinstance(c, numbers.Real):
            return NotImplemented
        return Loss([(w * c, rs, p) for w, rs, p in self.terms], self.chunk, self.mesh, self.dp, self.comm)

    __rmul__ = __mul__

    @property
    def residuals(self):
        """The residual texts per point set, as tess_pinn_add_set gets them."""
        return [[r._render() for r in rs] for _, rs, _ in self.terms]

    def _problem(self):
        if self._p is None:
            sets = [(f"set{i}", p.kind, p._spec(self.net), float(w), [r._render() for r in rs])
                    for i, (w, rs, p) in enumerate(self.terms)]
            self._p = _problem(self.net, self.definitions, sets, self.chunk, self.mesh, self.dp, self.comm)
        return self._p

    @property
    def nparams(self):
        return self.net.nparams

    @property
    def chunk_size(self):
        return _tessera.pinn_info(self._problem())[1]

    def value(self, params=None):
        """The loss at params (default: the network's). Collective."""
        return _tessera.pinn_loss_grad(self._problem(), self._theta(params), False)[0]

    def value_and_grad(self, params=None):
        """(loss, exact d loss / d params as a NumPy vector). Collective; the
        same bits on every rank and at any rank count. The network keeps params."""
        return _tessera.pinn_loss_grad(self._problem(), self._theta(params), True)

    def set_losses(self):
        """The per-set terms of the last evaluation."""
        return _tessera.pinn_set_losses(self._problem())

    def _theta(self, params):
        return self.net.params if params is None else params

    def __repr__(self):
        return f"tessera.op.Loss({self.residuals})"


def reduce_sum(expr, stable=True, points=None, weight=1.0, chunk=0, mesh=None, dp=None, comm=None):
    """The exact loss sum over points of expr, expr a sum of constant times
    squares (c * r**2; terms of equal c share one point set). points:
    op.uniform(...) / op.boundary(...) / an n x in_dim array (default:
    op.uniform(4096), the pinn study's). chunk: points per chunk (0: auto;
    part of the bits' definition). mesh, dp: data parallel over a mesh axis
    (default all ranks, or the mpi4py comm)."""
    if not stable:
        raise ValueError("reduce_sum: only the exact sum is implemented (stable=True)")
    expr = _wrap(expr)
    sq = _squares(expr)
    if not sq:
        raise _error(f"reduce_sum: '{expr._render()}' is not a sum of squares c * r**2 (a least-squares loss)")
    if points is None:
        points = uniform(4096)
    elif not isinstance(points, Points):
        points = Points("points", x=np.ascontiguousarray(points, dtype=np.float64))
    groups = {}
    for c, r in sq:
        groups.setdefault(c, []).append(r)
    terms = [(weight * c, rs, points) for c, rs in groups.items()]
    return Loss(terms, chunk, mesh, dp, comm)


# ---- optimizers ------------------------------------------------------------------------
def _n(x):
    return x.nparams if isinstance(x, (Loss, MLP)) else int(x)


class Adam:
    """tess_adam: Adam(n or loss or net, lr=1e-3, beta1=0.9, beta2=0.999,
    eps=1e-8, schedule="constant"|"exponential"|"cosine", decay_rate,
    decay_steps, total_steps, lr_min). step(theta, grad) updates theta (a
    float64 NumPy vector) in place."""

    def __init__(self, n, **opts):
        self._h = _tessera.adam_create(_n(n), **opts)

    def step(self, theta, grad):
        self.steps = _tessera.adam_step(self._h, theta, grad)
        return theta

    def state(self):
        """[t, m, v] as checkpoints store it (dataset pinn/adam)."""
        return _tessera.opt_state(self._h)


class LBFGS:
    """tess_lbfgs: LBFGS(n or loss or net, history=10, line_search=
    "strong_wolfe"|"backtracking", c1, c2, max_evals, step0). step(loss,
    theta, f, grad): one iteration from theta (f, grad at theta); theta and
    grad are updated in place, returns (f, objective evaluations). A search
    without decrease raises TesseraError (code "numerical failure") and
    leaves theta alone."""

    def __init__(self, n, **opts):
        self.n = _n(n)
        self._h = _tessera.lbfgs_create(self.n, **opts)

    def step(self, loss, theta, f, grad):
        if loss.nparams != self.n:   # the C state has no size to check against
            raise _error(f"LBFGS of {self.n} parameters stepping a loss of {loss.nparams}")
        return _tessera.lbfgs_step(self._h, loss._problem(), theta, float(f), grad)

    def state(self):
        """[iters, count, head, rho, S, Y] as checkpoints store it (pinn/lbfgs)."""
        return _tessera.opt_state(self._h)
