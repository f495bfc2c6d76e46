# Copied unchanged from ../shared/bench-anchors/pinn_jax.py (the anchor of issue 17, GPU III); only this line added. Run by bench/run_pinn_gpu.sh.
"""Anchor: the same PINN training step as pinn_torch.py (seed A.9: psi = MLP 2->256x3->1 tanh,
u=psi_y, v=-psi_x, incomp = u_x + v_y, residual = lap(psi) - sin(x)cos(y),
loss = sum(res^2 + incomp^2), then d loss / d params) in JAX under jit, with the input
Hessian by forward-over-reverse (jax.hessian) and vmap over points. Strongest common
framework path. Usage: pinn_jax.py [f32|f64] [N]"""
import sys, time
import jax
prec = sys.argv[1] if len(sys.argv) > 1 else "f32"
if prec == "f64":
    jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
N = int(sys.argv[2]) if len(sys.argv) > 2 else 16384
dt = jnp.float64 if prec == "f64" else jnp.float32
key = jax.random.PRNGKey(0)
sizes = [2, 256, 256, 256, 1]
params = []
for a, b in zip(sizes[:-1], sizes[1:]):
    key, k = jax.random.split(key)
    params.append((jax.random.normal(k, (b, a), dt) / jnp.sqrt(a), jnp.zeros((b,), dt)))
key, k = jax.random.split(key)
X = jax.random.uniform(k, (N, 2), dt)

def psi(params, x):
    h = x
    for W, b in params[:-1]:
        h = jnp.tanh(W @ h + b)
    W, b = params[-1]
    return (W @ h + b)[0]

def residuals(params, x):
    H = jax.hessian(psi, argnums=1)(params, x)
    incomp = H[1, 0] - H[0, 1]          # d(psi_y)/dx + d(-psi_x)/dy
    res = H[0, 0] + H[1, 1] - jnp.sin(x[0]) * jnp.cos(x[1])
    return res, incomp

def loss(params, X):
    r, i = jax.vmap(residuals, in_axes=(None, 0))(params, X)
    return jnp.sum(r ** 2 + i ** 2)

step = jax.jit(jax.value_and_grad(loss))
for _ in range(5):
    jax.block_until_ready(step(params, X))
ts = []
for _ in range(20):
    t0 = time.perf_counter(); jax.block_until_ready(step(params, X)); ts.append(time.perf_counter() - t0)
ts.sort(); m = ts[len(ts) // 2]
print(f"jax {jax.__version__} {jax.devices()[0].platform} {prec} N={N}: {m*1e3:.2f} ms/step, {N/m:.3e} points/s")
