/* bench/bench_pinn_util.h: what the PINN benchmarks share (bench_pinn.c,
 * bench_pinn_gpu.c): the seed problem of the anchors
 * (bench/anchors/pinn_{jax,torch}.py): psi = MLP 2->256x3->1 tanh, u = psi_y,
 * v = -psi_x, residuals laplacian(psi) - sin(x)cos(y) and `incomp` over N
 * points uniform in [0,1)^2, set up on MPI_COMM_WORLD. */
#ifndef TESSERA_BENCH_PINN_UTIL_H
#define TESSERA_BENCH_PINN_UTIL_H
#include <tessera/pinn.h>
#include "bench_util.h"

static inline tess_err_t bench_pinn_seed(tess_dtype_t dt, long N, int chunk, int cuda,
                                         const char *incomp, tess_mlp_t **m, tess_pinn_t **p)
{
  tess_err_t err = TESS_OK;
  int widths[5] = { 2, 256, 256, 256, 1 };
  const char *in[] = { "x", "y" }, *out[] = { "psi" };
  const char *res[] = { "laplacian(psi) - forcing", incomp };
  tess_pinn_box_t box = { .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 1, .stream = 1 };
  TESS_CHECK(tess_mlp_create(4, widths, TESS_ACT_TANH, dt, m));
  TESS_CHECK(tess_mlp_init(*m, TESS_INIT_GLOROT, 0));
  TESS_CHECK(tess_pinn_create(*m, in, out, p));
  TESS_CHECK(tess_pinn_define(*p, "u", "grad(psi, \"y\")"));
  TESS_CHECK(tess_pinn_define(*p, "v", "-grad(psi, \"x\")"));
  TESS_CHECK(tess_pinn_define(*p, "forcing", "sin(x)*cos(y)"));
  TESS_CHECK(tess_pinn_set_chunk(*p, chunk));
  if (cuda) TESS_CHECK(tess_pinn_set_device(*p, TESS_PINN_DEVICE_CUDA));
  TESS_CHECK(tess_pinn_add_set(*p, "interior", N, tess_pinn_box_interior, &box, 1.0, 2, res));
  TESS_CHECK(tess_pinn_setup_comm(*p, MPI_COMM_WORLD));
cleanup:
  return err;
}
#endif
