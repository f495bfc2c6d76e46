/* bench/bench_pinn.c: one training step of the seed example (A.9):
 * psi = MLP 2->256x3->1 tanh, u = psi_y, v = -psi_x, incomp = u_x + v_y,
 * residual = laplacian(psi) - sin(x)cos(y), loss = sum(residual^2 + incomp^2),
 * exact gradient, one Adam update. Same loss as the anchors
 * /work/shared/bench-anchors/pinn_{torch,jax}.py (points uniform in [0,1)^2).
 * Usage: mpirun -n P bench_pinn [f64|f32] [N] [chunk] [steps] [seed|hess]
 * Prints the median ms/step over `steps` timed steps (after 2 warm-up). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/pinn.h>
#include <tessera/log.h>
#include <tessera/gemm.h>
#include "bench_pinn_util.h"

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char *prec = argc > 1 ? argv[1] : "f64";
  long N = argc > 2 ? atol(argv[2]) : 4096;
  int chunk = argc > 3 ? atoi(argv[3]) : TESS_PINN_CHUNK_AUTO;   /* 0: auto */
  int steps = argc > 4 ? atoi(argv[4]) : 10;
  tess_dtype_t dt = strcmp(prec, "f32") == 0 ? TESS_F32 : TESS_F64;
  /* "hess": a residual that keeps psi_xy in the plan (5 jet components, as
   * the seed costs without the symbolic simplification psi_yx - psi_xy = 0) */
  int hess = argc > 5 && strcmp(argv[5], "hess") == 0;
  const char *incomp = hess ? "grad(u,\"x\") - grad(v,\"y\")" : "grad(u,\"x\") + grad(v,\"y\")";
  tess_mlp_t *m = NULL;
  tess_pinn_t *p = NULL;
  tess_adam_t *adam = NULL;
  tess_adam_opts_t ao;
  double *th = NULL, *g = NULL, *ts = NULL, loss = 0, loss0 = 0;
  TESS_CHECK(bench_pinn_seed(dt, N, chunk, 0, incomp, &m, &p));
  size_t n = tess_pinn_nparams(p);
  tess_jet_spec_t spec;
  TESS_CHECK(tess_pinn_jet_spec(p, &spec));
  if (rank == 0)
    printf("jet plan: %d components (value, gradient, %d Hessian entries, %s)\n",
           tess_jet_ncomp(&spec, 2), spec.npairs, spec.laplacian ? "Laplacian" : "no Laplacian");
  th = malloc(n * sizeof *th);
  g = malloc(n * sizeof *g);
  ts = malloc((size_t)(steps + 2) * sizeof *ts);
  TESS_REQUIRE(th && g && ts, TESS_ERR_MEM, "bench buffers");
  TESS_CHECK(tess_mlp_get_params(m, th));
  tess_adam_opts_default(&ao);
  TESS_CHECK(tess_adam_create(n, &ao, &adam));
  for (int s = 0; s < steps + 2; s++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    TESS_CHECK(tess_pinn_loss_grad(p, th, &loss, g));
    if (s == 0) loss0 = loss;
    TESS_CHECK(tess_adam_step(adam, th, g));
    MPI_Barrier(MPI_COMM_WORLD);
    ts[s] = MPI_Wtime() - t0;
  }
  qsort(ts + 2, (size_t)steps, sizeof *ts, bench_cmp_double);
  double med = ts[2 + steps / 2];
  if (rank == 0)
    printf("tessera %s N=%ld ranks=%d chunk=%d gemm=%s: %.2f ms/step, %.3e points/s (first loss %.6e)\n",
           prec, N, size, tess_pinn_chunk(p), tess_gemm_name(), med * 1e3, N / med, loss0);
cleanup:
  if (err) tess_error_print(stderr);
  free(th); free(g); free(ts);
  tess_adam_destroy(&adam);
  tess_pinn_destroy(&p);
  tess_mlp_destroy(&m);
  MPI_Finalize();
  return err ? 1 : 0;
}
