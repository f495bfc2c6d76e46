/* bench/bench_pinn_gpu.c: the seed step of issue 17 on one GPU: psi = MLP
 * 2->256x3->1 tanh, u = psi_y, v = -psi_x, residual = laplacian(psi) -
 * sin(x)cos(y), incomp = u_x + v_y (folds to an exact 0 in Taylor mode:
 * docs/pinn.md), loss = sum(residual^2 + incomp^2) over N points uniform in
 * [0,1)^2, and every parameter gradient: tess_pinn_loss_grad with device
 * CUDA, what bench/anchors/pinn_{jax,torch}.py time (value_and_grad /
 * loss.backward(), no optimizer update).
 * Usage: mpirun -n 1 bench_pinn_gpu [f32|f64] [N] [chunk] [steps]
 * Prints the median ms of `steps` timed calls (default 20) after 5 warm-up
 * calls, each closed by cudaDeviceSynchronize, points/s, and the GEMM flops
 * of a step (every layer product of every chunk: forward C*B x nin x nout,
 * backward the weight-gradient product and, above layer 0, the input
 * adjoint product; 2 flops per multiply-add) with the rate they imply. */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/tessera.h>
#include "bench_pinn_util.h"

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  tess_err_t err = TESS_OK;
  const char *prec = argc > 1 ? argv[1] : "f32";
  long N = argc > 2 ? atol(argv[2]) : 16384;
  int chunk = argc > 3 ? atoi(argv[3]) : TESS_PINN_CHUNK_AUTO;
  int steps = argc > 4 ? atoi(argv[4]) : 20;
  const int warm = 5;
  tess_dtype_t dt = strcmp(prec, "f64") == 0 ? TESS_F64 : TESS_F32;
  tess_mlp_t *m = NULL;
  tess_pinn_t *p = NULL;
  double *th = NULL, *g = NULL, *ts = NULL, loss = 0;
  TESS_CHECK(tess_init(&argc, &argv));
  TESS_REQUIRE(steps >= 1 && N >= 1, TESS_ERR_ARG, "steps %d, N %ld", steps, N);
  TESS_CHECK(bench_pinn_seed(dt, N, chunk, 1, "grad(u,\"x\") + grad(v,\"y\")", &m, &p));
  size_t n = tess_pinn_nparams(p);
  tess_jet_spec_t spec;
  TESS_CHECK(tess_pinn_jet_spec(p, &spec));
  const int C = tess_jet_ncomp(&spec, 2), B = tess_pinn_chunk(p);
  const long nchunks = (N + B - 1) / B;
  const int widths[5] = { 2, 256, 256, 256, 1 };   /* bench_pinn_seed's network */
  double S = 0;   /* sum over layers of nin * nout */
  for (int l = 0; l < 4; l++) S += (double)widths[l] * widths[l + 1];
  const double rows = (double)C * B * nchunks;
  const double flops = 2 * rows * (3 * S - (double)widths[0] * widths[1]);
  th = malloc(n * sizeof *th);
  g = malloc(n * sizeof *g);
  ts = malloc((size_t)(steps + warm) * sizeof *ts);
  TESS_REQUIRE(th && g && ts, TESS_ERR_MEM, "bench buffers");
  TESS_CHECK(tess_mlp_get_params(m, th));
  for (int s = 0; s < steps + warm; s++) {
    cudaDeviceSynchronize();
    double t0 = MPI_Wtime();
    TESS_CHECK(tess_pinn_loss_grad(p, th, &loss, g));
    cudaDeviceSynchronize();
    ts[s] = MPI_Wtime() - t0;
  }
  qsort(ts + warm, (size_t)steps, sizeof *ts, bench_cmp_double);
  double med = ts[warm + steps / 2];
  printf("tessera %s N=%ld chunk=%d components=%d: median %.3f ms/step, %.3e points/s, "
         "gemm %.3e flop/step, %.2f TFLOP/s (loss %.6e)\n", prec, N, B, C, med * 1e3, N / med, flops,
         flops / med * 1e-12, loss);
cleanup:
  if (err) tess_error_print(stderr);
  free(th); free(g); free(ts);
  tess_pinn_destroy(&p);
  tess_mlp_destroy(&m);
  if (tess_initialized()) tess_finalize();
  MPI_Finalize();
  return err ? 1 : 0;
}
