/* tests/spectral/test_host_guard.c: the host-only spectral paths handed a
 * device array (a borrowed "device" buffer whose pointer is never valid)
 * fail with TESS_ERR_UNSUPPORTED naming the function instead of touching
 * the memory: FFT execute, foreach, the filters (without a visible GPU), and
 * gradient, divergence, both Laplacians given host and device arrays mixed. An explicitly partitioned array is refused by
 * the FFT (plans use the block rule), and a fresh host array still runs.
 * Usage: test_host_guard */
#include "tess_test.h"
#include "tess_test_guard.h"

#include <string.h>
#include <tessera/tessera.h>

static void visit_none(const int64_t m[], const double k[], int weight, void *elem, int64_t gidx,
                       void *ctx)
{
  (void)m; (void)k; (void)weight; (void)elem; (void)gidx; (void)ctx;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  tess_err_t err = TESS_OK;
  int nranks;
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL, *U = NULL, *dev = NULL, *part = NULL, *Y[3] = {NULL, NULL, NULL};
  tess_fft_plan_t *plan = NULL;
  tess_spectral_grid_t g;
  const char *names[] = {"x"};
  int sz[] = {nranks}, axes[] = {0};
  int64_t shape[] = {8, 6, 5};
  tess_shardspec_t spec;
  void *fake = (void *)(uintptr_t)0x40;
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  TESS_CHECK(tess_fft_spec(3, 3, 1, axes, TESS_FFT_LAYOUT_NATURAL, &spec));
  TESS_CHECK(tess_array_create(mesh, TESS_C128, 3, shape, &spec, TESS_MEM_HOST, &u));
  TESS_CHECK(tess_fft_create_output(u, 3, TESS_FFT_LAYOUT_NATURAL, &U));
  TESS_CHECK(tess_fft_plan_create(u, U, TESS_FFT_FORWARD, 0, &plan));
  TESS_CHECK(tess_spectral_grid_from_plan(plan, &g));
  TESS_CHECK(tess_array_create_with_data(mesh, TESS_C128, 3, shape, &spec, TESS_MEM_DEVICE, NULL,
                                         fake, (size_t)tess_array_local_count(u) * 16, &dev));
  for (int d = 0; d < 3; d++) TESS_CHECK(tess_array_create_like(U, NULL, &Y[d]));

  tess_test_expect_unsupported(tess_fft_execute(plan, dev, U), "tess_fft_execute");
  tess_test_expect_unsupported(tess_spectral_foreach(dev, &g, visit_none, NULL), "tess_spectral_foreach");
  /* The filters run device spectra where a GPU is visible (tests/gpu): the
   * fake pointer must not reach a kernel there. */
  if (tess_device_count() == 0)
    tess_test_expect_unsupported(tess_spectral_lowpass(dev, &g, 1.0), "tess_spectral_lowpass");
  tess_test_expect_unsupported(tess_spectral_gradient(dev, &g, Y), "tess_spectral_gradient");
  {
    tess_array_t *Yd[3] = {dev, Y[1], Y[2]};
    tess_test_expect_unsupported(tess_spectral_gradient(U, &g, Yd), "tess_spectral_gradient");
    const tess_array_t *Xd[3] = {Y[0], dev, Y[2]};
    tess_test_expect_unsupported(tess_spectral_divergence(Xd, &g, U), "tess_spectral_divergence");
  }
  tess_test_expect_unsupported(tess_spectral_laplacian(dev, &g, U), "tess_spectral_laplacian");
  tess_test_expect_unsupported(tess_spectral_inverse_laplacian(U, &g, dev),
                     "tess_spectral_inverse_laplacian");

  /* Explicit partition of the sharded dimension: the plan refuses it, unless
   * it is the block rule itself (one rank). */
  {
    int64_t lens[4] = {0, 0, 0, 0};
    lens[nranks - 1] = 8;
    tess_array_opts_t o = {0};
    o.partition[0] = lens;
    TESS_CHECK(tess_array_create_ex(mesh, TESS_C128, 3, shape, &spec, TESS_MEM_HOST, &o, &part));
    tess_err_t e = tess_fft_execute(plan, part, U);
    CHECK((e == TESS_OK) == (nranks == 1), "FFT of a partitioned array gave %s",
          tess_err_name(e));
    tess_error_clear();
  }
  TESS_CHECK(tess_fft_execute(plan, u, U));
cleanup:
  CHECK(err == TESS_OK, "%s", tess_error_message());
  tess_error_clear();
  tess_fft_plan_destroy(&plan);
  for (int d = 0; d < 3; d++) tess_array_destroy(&Y[d]);
  tess_array_destroy(&part);
  tess_array_destroy(&dev);
  tess_array_destroy(&U);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  int rc = tess_test_finish("spectral host guard");
  MPI_Finalize();
  return rc;
}
