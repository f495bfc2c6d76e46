"""Anchor: single-GPU 3-D FFT forward+inverse through cuFFT (torch.fft), median ms.

The timing of ../shared/bench-anchors/fft_gpu.py (torch.randn input, 3 warm-ups,
20 timed runs between CUDA events, median), for several cases in one process:
  python3 fft_gpu.py 256:c128 512:c128 512:c64 1024:c64 512:r2c64
cNN: torch.fft.ifftn(torch.fft.fftn(x)); r2cNN: torch.fft.irfftn(torch.fft.rfftn(x), s=x.shape)
on a real x (float64 for r2c64, float32 for r2c32). One line per case."""
import sys
import torch

DT = {"c128": torch.complex128, "c64": torch.complex64, "r2c64": torch.float64, "r2c32": torch.float32}

for case in sys.argv[1:] or ["512:c128"]:
    n, kind = case.split(":")
    N, dt = int(n), DT[kind]
    x = torch.randn(N, N, N, dtype=dt, device="cuda")
    if kind.startswith("r2c"):
        step = lambda: torch.fft.irfftn(torch.fft.rfftn(x), s=x.shape)
    else:
        step = lambda: torch.fft.ifftn(torch.fft.fftn(x))
    for _ in range(3):
        y = step()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for _ in range(20):
        s.record(); y = step(); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
    ts.sort()
    m = ts[len(ts) // 2]
    b = x.element_size() * x.numel()
    print(f"cufft(torch) N={N} {kind}: fwd+inv {m:.3f} ms; bytes r+w per pass {2*b/1e9:.2f} GB", flush=True)
    del x, y
    torch.cuda.empty_cache()
