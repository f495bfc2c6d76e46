/* spectral/denoise_metrics.c: the denoise kernel's measurements, each the
 * same bits on any mesh: squared errors as exact sums over one copy of the
 * field (tess_spectral_owner_comm), extrema as exact maxima, and the
 * order-free fingerprint (a sum mod 2^64, so the order of addition is moot). */
#include "denoise_internal.h"
#include "spectral_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/reduce.h>

/* Mask of the mesh axes a's spec uses: one copy of the array. */
static unsigned owner_axes(const tess_array_t *a)
{
  tess_shardspec_t sp;
  unsigned mask = 0;
  tess_array_spec(a, &sp);
  for (int i = 0; i < sp.ndim; i++)
    if (sp.axis[i] >= 0) mask |= 1u << sp.axis[i];
  return mask;
}

tess_err_t denoise_sum_sq(const tess_array_t *a, double *out)
{
  tess_err_t err = TESS_OK;
  MPI_Comm owners;
  TESS_REQUIRE_HOST(a);
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
  double *d = NULL;
  MPI_Comm owners;
  TESS_REQUIRE_HOST(a);
  TESS_REQUIRE_HOST(b);
  d = malloc(sizeof(double) * (size_t)(n + 1));
  TESS_REQUIRE(d != NULL, TESS_ERR_MEM, "difference buffer (%lld values)", (long long)n);
  for (int64_t i = 0; i < n; i++) d[i] = x[i] - y[i];
  TESS_CHECK(tess_spectral_owner_comm(a, &owners));
  TESS_CHECK(tess_nrm2sq_f64(d, (size_t)n, owners, out));
cleanup:
  free(d);
  return err;
}

tess_err_t denoise_extrema(const tess_array_t *a, double *lo, double *hi)
{
  tess_err_t err = TESS_OK;
  const double *c = tess_array_local_data_const(a);
  double mm[2] = {-INFINITY, -INFINITY};   /* max and -min: one MAX reduction */
  TESS_REQUIRE_HOST(a);
  for (int64_t i = 0; i < tess_array_local_count(a); i++) {
    if (c[i] > mm[0]) mm[0] = c[i];
    if (-c[i] > mm[1]) mm[1] = -c[i];
  }
  TESS_CHECK(tess_comm_allreduce(tess_array_mesh(a), TESS_AXES_ALL, mm, mm, 2, TESS_F64,
                                 TESS_OP_MAX, TESS_MEM_HOST, NULL));
  *hi = mm[0];
  *lo = -mm[1];
cleanup:
  return err;
}

static uint64_t mix64(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

tess_err_t tess_denoise_fingerprint(const tess_array_t *a, uint64_t *hash)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = tess_array_mesh(a);
  unsigned axes = owner_axes(a);
  const double *x = tess_array_local_data_const(a);
  int64_t gidx[TESS_MAX_NDIM];
  uint64_t s = 0, *all = NULL;
  int nr = 1, me = 0;
  TESS_REQUIRE(tess_array_dtype(a) == TESS_F64 && tess_array_memspace(a) == TESS_MEM_HOST,
               TESS_ERR_ARG, "fingerprint: a host f64 array expected");
  for (int64_t i = 0; i < tess_array_local_count(a); i++) {
    uint64_t b;
    memcpy(&b, &x[i], sizeof b);
    tess_array_global_index(a, i, gidx);
    s += mix64(b ^ mix64((uint64_t)tess_array_global_linear(a, gidx)));
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
