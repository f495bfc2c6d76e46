"""Exact sum of device data (tess_sum_f64 on a CUDA pointer) vs torch.sum (not exact) on the
same tensor, in one process: libtessera is called through ctypes on torch's device pointers,
so both read the same bytes. Also: the device-to-device copy ceiling, tess_sum_f32 / tess_dot_f64
for the record, and the exact GPU result checked bitwise against Tessera's CPU path on the
same data. Run on the GPU machine: mpirun -n 1 python3 bench/bench_sum_gpu.py BUILD_DIR [OUT.md]
(scripts/gpu-test.sh does). Times: median of 20 after 3 warm-ups; tess_sum is synchronous (it
returns the rounded sum on the host), so both sides are timed the same way: host clock around
the call, torch synchronised after each call. torch.sum with CUDA events is printed too."""
import ctypes, os, statistics, sys, time
import torch

build = sys.argv[1]
out_md = sys.argv[2] if len(sys.argv) > 2 else None
mpi = ctypes.CDLL("libmpi.so.40", mode=ctypes.RTLD_GLOBAL)
mpi.MPI_Init(None, None)
COMM_SELF = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.in_dll(mpi, "ompi_mpi_comm_self")))
lib = ctypes.CDLL(os.path.join(build, "libtessera.so"))
for name, t in (("tess_sum_f64", ctypes.c_double), ("tess_sum_f32", ctypes.c_float)):
    f = getattr(lib, name)
    f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.POINTER(t)]
    f.restype = ctypes.c_int
lib.tess_dot_f64.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                             ctypes.POINTER(ctypes.c_double)]
lib.tess_dot_f64.restype = ctypes.c_int

def tess_sum(x):
    r = ctypes.c_double() if x.dtype == torch.float64 else ctypes.c_float()
    f = lib.tess_sum_f64 if x.dtype == torch.float64 else lib.tess_sum_f32
    rc = f(x.data_ptr(), x.numel(), COMM_SELF, ctypes.byref(r))
    assert rc == 0, f"tess_sum returned {rc}"
    return r.value

def tess_dot(x, y):
    r = ctypes.c_double()
    assert lib.tess_dot_f64(x.data_ptr(), y.data_ptr(), x.numel(), COMM_SELF, ctypes.byref(r)) == 0
    return r.value

def host_timed(fn, reps=20):
    for _ in range(3): fn()
    torch.cuda.synchronize(); ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def event_timed(fn, reps=20):
    for _ in range(3): fn()
    torch.cuda.synchronize(); ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True); b = torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize(); ts.append(a.elapsed_time(b) / 1e3)
    return statistics.median(ts)

dev = torch.cuda.get_device_name()
rows = []
g = torch.Generator(device="cuda"); g.manual_seed(20261207)
x = torch.empty(1 << 30, device="cuda", dtype=torch.uint8); y = torch.empty_like(x)
tcopy = event_timed(lambda: y.copy_(x)); del x, y
copy_bw = 2 * (1 << 30) / tcopy / 1e9
for n in (1 << 24, 1 << 28):
    for label in ("uniform [0,1)", "2^+-60, random signs"):
        if label.startswith("uniform"):
            x = torch.rand(n, device="cuda", dtype=torch.float64, generator=g)
        else:
            e = torch.rand(n, device="cuda", dtype=torch.float64, generator=g) * 120 - 60
            s = torch.randint(0, 2, (n,), device="cuda", generator=g).to(torch.float64) * 2 - 1
            x = s * torch.exp2(e); del e, s
        t_torch = host_timed(lambda: x.sum().item())
        t_torch_ev = event_timed(lambda: x.sum())
        t_tess = host_timed(lambda: tess_sum(x))
        got = tess_sum(x)
        cpu = ctypes.c_double()
        xc = x.cpu()
        assert lib.tess_sum_f64(xc.data_ptr(), n, COMM_SELF, ctypes.byref(cpu)) == 0
        same = got.hex() == cpu.value.hex()
        bw = lambda t: 8 * n / t / 1e9
        rows.append((label, n, "f64", t_torch * 1e6, bw(t_torch), t_torch_ev * 1e6, bw(t_torch_ev),
                     t_tess * 1e6, bw(t_tess), bw(t_tess) / bw(t_torch), same, float(x.sum().item()) - got))
        print(rows[-1], flush=True)
        del x, xc
n = 1 << 28
x = torch.rand(n, device="cuda", dtype=torch.float32, generator=g)
t_torch = host_timed(lambda: x.sum().item()); t_tess = host_timed(lambda: tess_sum(x))
rows.append(("uniform [0,1)", n, "f32", t_torch * 1e6, 4 * n / t_torch / 1e9, 0, 0, t_tess * 1e6,
             4 * n / t_tess / 1e9, t_torch / t_tess, None, 0.0))
del x
n = 1 << 27
x = torch.rand(n, device="cuda", dtype=torch.float64, generator=g)
y = torch.randn(n, device="cuda", dtype=torch.float64, generator=g)
t_torch = host_timed(lambda: torch.dot(x, y).item()); t_tess = host_timed(lambda: tess_dot(x, y))
rows.append(("dot uniform x normal", n, "f64", t_torch * 1e6, 16 * n / t_torch / 1e9, 0, 0,
             t_tess * 1e6, 16 * n / t_tess / 1e9, t_torch / t_tess, None, 0.0))

lines = [f"Device: {dev}. Device-to-device copy of 1 GiB: {copy_bw:.0f} GB/s (read + write).", "",
         "| data | n | dtype | torch (us, host clock) | torch GB/s | torch (us, events) | torch GB/s (events) "
         "| Tessera exact (us) | Tessera GB/s | ratio (Tessera bw / torch bw, host clock) | exact = CPU bits | torch - exact |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r[0]} | 2^{r[1].bit_length()-1} | {r[2]} | {r[3]:.1f} | {r[4]:.0f} | "
                 + (f"{r[5]:.1f} | {r[6]:.0f}" if r[5] else "- | -")
                 + f" | {r[7]:.1f} | {r[8]:.0f} | {r[9]:.2f} | {'-' if r[10] is None else ('yes' if r[10] else 'NO')} | {r[11]:.3g} |")
text = "\n".join(lines)
print(text)
if out_md:
    open(out_md, "w").write(text + "\n")
mpi.MPI_Finalize()
