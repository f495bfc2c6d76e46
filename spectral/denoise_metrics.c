/* spectral/denoise_metrics.c: the denoise kernel's measurements, each the
 * same bits on any mesh: squared errors as exact sums over one copy of the
 * field (tess_spectral_owner_comm), extrema as exact maxima, and the
 * order-free fingerprint (a sum mod 2^64, so the order of addition is moot).
 * Host or device arrays: on the device the differences, the local extrema
 * and the local fingerprint sum are kernels (denoise_cuda.h) and the exact
 * sums take the device pointers (tess_nrm2sq_f64's GPU path), so the results
 * are the same bits as from the same data on the host; only the local
 * results cross to the host, for the reductions over the ranks. */
#include "denoise_cuda.h"
#include "denoise_internal.h"
#include "spectral_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/reduce.h>

static int on_device(const tess_array_t *a) { return !tess_memspace_is_host(tess_array_memspace(a)); }

tess_err_t denoise_sum_sq(const tess_array_t *a, double *out)
{
  tess_err_t err = TESS_OK;
  MPI_Comm owners;
  /* device data: tess_nrm2sq_f64 sees the device pointer and sums on the GPU */
  TESS_CHECK(tess_spectral_owner_comm(a, &owners));
  TESS_CHECK(tess_nrm2sq_f64(tess_array_local_data_const(a), (size_t)tess_array_local_count(a),
                             owners, out));
cleanup:
  return err;
}

tess_err_t denoise_sum_sq_diff(const tess_array_t *a, const tess_array_t *b, double *out)
{
  tess_err_t err = TESS_OK;
  int64_t n = tess_array_local_count(a);
  const double *x = tess_array_local_data_const(a), *y = tess_array_local_data_const(b);
  tess_memspace_t space = tess_array_memspace(a);
  void *buf = NULL;   /* the differences, in a's memory */
  double *d = NULL;
  MPI_Comm owners;
  TESS_REQUIRE(tess_array_memspace(b) == space, TESS_ERR_ARG,
               "squared difference of arrays in %s and %s memory", tess_memspace_name(space),
               tess_memspace_name(tess_array_memspace(b)));
  TESS_CHECK(tess_malloc(space, sizeof(double) * (size_t)(n + 1), &buf));
  d = buf;
  if (on_device(a)) {
    TESS_CHECK(denoise_cuda_diff(d, x, y, n));
  } else {
    for (int64_t i = 0; i < n; i++) d[i] = x[i] - y[i];
  }
  TESS_CHECK(tess_spectral_owner_comm(a, &owners));
  TESS_CHECK(tess_nrm2sq_f64(d, (size_t)n, owners, out));
cleanup:
  tess_free(space, &buf);
  return err;
}

tess_err_t denoise_extrema(const tess_array_t *a, double *lo, double *hi)
{
  tess_err_t err = TESS_OK;
  const double *c = tess_array_local_data_const(a);
  double mm[2] = {-INFINITY, -INFINITY};   /* max and -min: one MAX reduction */
  if (on_device(a)) {
    TESS_CHECK(denoise_cuda_extrema(c, tess_array_local_count(a), mm));
  } else {
    for (int64_t i = 0; i < tess_array_local_count(a); i++) {
      if (c[i] > mm[0]) mm[0] = c[i];
      if (-c[i] > mm[1]) mm[1] = -c[i];
    }
  }
  TESS_CHECK(tess_comm_allreduce(tess_array_mesh(a), TESS_AXES_ALL, mm, mm, 2, TESS_F64,
                                 TESS_OP_MAX, TESS_MEM_HOST, NULL));
  *hi = mm[0];
  *lo = -mm[1];
cleanup:
  return err;
}

tess_err_t tess_denoise_fingerprint(const tess_array_t *a, uint64_t *hash)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  unsigned axes = 0;
  const double *x = NULL;
  int64_t gidx[TESS_MAX_NDIM], n = 0;
  uint64_t s = 0, *all = NULL;
  int nr = 1, me = 0;
  TESS_REQUIRE(a && hash, TESS_ERR_ARG, "fingerprint: NULL array or hash");
  TESS_REQUIRE(tess_array_dtype(a) == TESS_F64, TESS_ERR_ARG,
               "fingerprint: an f64 array expected, got %s", tess_dtype_name(tess_array_dtype(a)));
  mesh = tess_array_mesh(a);
  axes = spec_owner_axes(a);
  x = tess_array_local_data_const(a);
  n = tess_array_local_count(a);
  if (on_device(a)) {
    denoise_block_t blk;
    denoise_block_of(a, &blk);
    TESS_CHECK(denoise_cuda_fingerprint(x, n, &blk, &s));
  } else {
    for (int64_t i = 0; i < n; i++) {
      uint64_t b;
      memcpy(&b, &x[i], sizeof b);
      tess_array_global_index(a, i, gidx);
      s += denoise_mix64(b ^ denoise_mix64((uint64_t)tess_array_global_linear(a, gidx)));
    }
  }
  /* gather the per-rank sums (as 64-bit words) and add them unsigned: an
   * integer SUM reduction would overflow a signed type */
  TESS_CHECK(tess_comm_rank_size(mesh, axes, &me, &nr));
  all = malloc(sizeof *all * (size_t)nr);
  TESS_REQUIRE(all != NULL, TESS_ERR_MEM, "fingerprint gather (%d ranks)", nr);
  TESS_CHECK(tess_comm_allgather(mesh, axes, &s, 1, all, TESS_I64, TESS_MEM_HOST, NULL));
  s = 0;
  for (int r = 0; r < nr; r++) s += all[r];
  *hash = s;
cleanup:
  free(all);
  return err;
}
