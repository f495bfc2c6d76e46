"""bench/bench_python.py N reps: the Python side of bench/run_python.sh: the
calls bench/bench_pycall.c makes in C, through the tessera package.
  small: op.reduce_sum of a 16-element f64 array, per call;
  fft:   N^3 c2c op.fft + op.ifft with reused outputs, median of reps, max
         over ranks (the same data, plans and layout as the C side)."""
import sys
import time

import numpy as np

import tessera
from tessera import _tessera, dist, op

N = int(sys.argv[1]) if len(sys.argv) > 1 else 256
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
mesh = dist.Mesh(axes=["x"])
s = tessera.array((16,), "f64", mesh=mesh)
calls = 100000
t0 = time.perf_counter()
for _ in range(calls):
    op.reduce_sum(s)
us = (time.perf_counter() - t0) / calls * 1e6

x = tessera.array((N, N, N), "c128", mesh=mesh)
x.local.real[...] = np.random.default_rng(1 + tessera.rank()).random(x.local_shape)   # values in [0, 1)
X = op.fft(x)
y = op.ifft(X)
ts = []
for _ in range(reps):
    _tessera.max_over_ranks(mesh._h, 0.0)   # a barrier
    t1 = time.perf_counter()
    op.fft(x, out=X)
    op.ifft(X, out=y)
    ts.append(_tessera.max_over_ranks(mesh._h, time.perf_counter() - t1))
ts.sort()
if tessera.rank() == 0:
    print(f"python small {us:.3f} us/call  fft N={N} P={tessera.size()} median {ts[len(ts) // 2]:.4f} s")
