# Copied unchanged from ../shared/bench-anchors/pinn_torch.py (the anchor of issue 17, GPU III); only this line added. Run by bench/run_pinn_gpu.sh.
"""Anchor: one PINN training step (2D Navier-Stokes stream-function example of the
seed's A.9) in PyTorch: psi = MLP 2->256x3->1 tanh; u=dpsi/dy, v=-dpsi/dx,
incomp = du/dx + dv/dy, residual = lap(psi) - forcing, loss = sum(res^2+incomp^2),
then d loss / d params. Nested reverse-mode autograd (what DeepXDE/PINN codes do).
Prints median ms per step and collocation points per second."""
import sys, time, torch
dev = sys.argv[1] if len(sys.argv) > 1 else ("cuda" if torch.cuda.is_available() else "cpu")
dtype = {"f32": torch.float32, "f64": torch.float64}[sys.argv[2] if len(sys.argv) > 2 else "f32"]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 16384
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(2,256), torch.nn.Tanh(), torch.nn.Linear(256,256), torch.nn.Tanh(),
                          torch.nn.Linear(256,256), torch.nn.Tanh(), torch.nn.Linear(256,1)).to(dev, dtype)
xy = torch.rand(N, 2, device=dev, dtype=dtype)
def step():
    p = xy.clone().requires_grad_(True)
    psi = net(p)
    g = torch.autograd.grad(psi.sum(), p, create_graph=True)[0]
    u, v = g[:,1], -g[:,0]
    gu = torch.autograd.grad(u.sum(), p, create_graph=True)[0]
    gv = torch.autograd.grad(v.sum(), p, create_graph=True)[0]
    incomp = gu[:,0] + gv[:,1]
    psi_xx = -gv[:,0]; psi_yy = gu[:,1]
    forcing = torch.sin(p[:,0]) * torch.cos(p[:,1])
    res = psi_xx + psi_yy - forcing
    loss = (res**2 + incomp**2).sum()
    net.zero_grad(); loss.backward()
    return loss
def sync():
    if dev == "cuda": torch.cuda.synchronize()
for _ in range(5): step()
sync(); ts = []
for _ in range(20):
    t0 = time.perf_counter(); step(); sync(); ts.append(time.perf_counter() - t0)
ts.sort(); m = ts[len(ts)//2]
print(f"torch {torch.__version__} {dev} {sys.argv[2] if len(sys.argv)>2 else 'f32'} N={N}: {m*1e3:.2f} ms/step, {N/m:.3e} points/s")
