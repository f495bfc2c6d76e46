/* spectral/spectral_modes.c: wavenumbers of distributed spectra.
 * Operators never assume a layout: they walk the local block with its global
 * coordinates (from the array's spec), so the same code serves natural and
 * transposed spectra, slabs, pencils and batches. */
#include <tessera/spectral_ops.h>
#include "spectral_cuda.h"
#include "spectral_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tess_err_t tess_spectral_grid_from_plan(const tess_fft_plan_t *plan, tess_spectral_grid_t *g)
{
  tess_err_t err = TESS_OK;
  tess_fft_info_t info;
  TESS_REQUIRE(plan && g, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(tess_fft_plan_info(plan, &info));
  memset(g, 0, sizeof *g);
  g->rank = info.rank;
  g->half = info.half;
  for (int d = 0; d < info.rank; d++) {
    g->n[d] = info.n[d];
    g->length[d] = 2 * TESS_PI;
  }
cleanup:
  return err;
}

int64_t tess_spectral_mode(int64_t i, int64_t n, int half)
{
  if (half) return i;
  return i <= n / 2 ? i : i - n;
}

double tess_spectral_wavenumber(const tess_spectral_grid_t *g, int d, int64_t i)
{
  double L = g->length[d] > 0 ? g->length[d] : 2 * TESS_PI;
  int half = g->half && d == g->rank - 1;
  return 2 * TESS_PI * (double)tess_spectral_mode(i, g->n[d], half) / L;
}

/* What every spectral operator checks first: a complex array whose last
 * g->rank dimensions are the grid's spectrum. */
static tess_err_t grid_check(const tess_array_t *X, const tess_spectral_grid_t *g)
{
  tess_err_t err = TESS_OK;
  int64_t gsh[TESS_MAX_NDIM];
  int nd = tess_array_ndim(X), off = nd - g->rank;
  TESS_REQUIRE(tess_dtype_is_complex(tess_array_dtype(X)), TESS_ERR_ARG,
               "spectral operators need a complex array, got %s",
               tess_dtype_name(tess_array_dtype(X)));
  TESS_REQUIRE(g->rank >= 1 && g->rank <= 3 && g->rank <= nd, TESS_ERR_ARG,
               "spectral grid rank %d for a %d-dim array", g->rank, nd);
  tess_array_global_shape(X, gsh);
  for (int d = 0; d < g->rank; d++) {
    int64_t expect = (g->half && d == g->rank - 1) ? g->n[d] / 2 + 1 : g->n[d];
    TESS_REQUIRE(gsh[off + d] == expect, TESS_ERR_SHAPE,
                 "spectrum dim %d has %lld entries, the grid expects %lld", off + d,
                 (long long)gsh[off + d], (long long)expect);
  }
cleanup:
  return err;
}

tess_err_t tess_spectral_foreach(tess_array_t *X, const tess_spectral_grid_t *g,
                                 tess_spectral_visit_fn fn, void *ctx)
{
  tess_err_t err = TESS_OK;
  int nd, off;
  int64_t lsh[TESS_MAX_NDIM], lst[TESS_MAX_NDIM], gsh[TESS_MAX_NDIM], c[TESS_MAX_NDIM] = {0};
  int64_t count, m[3] = {0, 0, 0};
  double k[3] = {0, 0, 0}, *kt[3] = {NULL, NULL, NULL};
  size_t es;
  char *data;
  TESS_REQUIRE(X && g && fn, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE_HOST(X);
  TESS_CHECK(grid_check(X, g));
  nd = tess_array_ndim(X);
  off = nd - g->rank;
  tess_array_local_shape(X, lsh);
  tess_array_local_start(X, lst);
  tess_array_global_shape(X, gsh);
  /* wavenumber tables of the local ranges */
  for (int d = 0; d < g->rank; d++) {
    kt[d] = malloc(sizeof(double) * (size_t)(lsh[off + d] + 1));
    TESS_REQUIRE(kt[d] != NULL, TESS_ERR_MEM, "wavenumber table");
    for (int64_t i = 0; i < lsh[off + d]; i++)
      kt[d][i] = tess_spectral_wavenumber(g, d, lst[off + d] + i);
  }
  count = tess_array_local_count(X);
  es = tess_dtype_size(tess_array_dtype(X));
  data = tess_array_local_data(X);
  for (int64_t l = 0; l < count; l++) {
    int64_t gl = 0;
    int w = 1;
    for (int i = 0; i < nd; i++) gl = gl * gsh[i] + lst[i] + c[i];
    for (int d = 0; d < g->rank; d++) {
      int64_t gi = lst[off + d] + c[off + d];
      int half = g->half && d == g->rank - 1;
      m[d] = tess_spectral_mode(gi, g->n[d], half);
      k[d] = kt[d][c[off + d]];
      if (half && m[d] > 0 && 2 * m[d] != g->n[d]) w = 2;
    }
    fn(m, k, w, data + (size_t)l * es, gl, ctx);
    for (int i = nd - 1; i >= 0; i--) {      /* next local coordinate */
      if (++c[i] < lsh[i]) break;
      c[i] = 0;
    }
  }
cleanup:
  for (int d = 0; d < 3; d++) free(kt[d]);
  return err;
}

tess_err_t tess_spectral_owner_comm(const tess_array_t *a, MPI_Comm *comm)
{
  tess_err_t err = TESS_OK;
  tess_shardspec_t sp;
  unsigned mask = 0;
  tess_array_spec(a, &sp);
  for (int i = 0; i < sp.ndim; i++)
    if (sp.axis[i] >= 0) mask |= 1u << sp.axis[i];
  TESS_CHECK(tess_mesh_subset_comm(tess_array_mesh(a), mask, comm));
cleanup:
  return err;
}

/* The checks and tables of tess_spectral_foreach, for the device paths: the
 * wavenumbers come from tess_spectral_wavenumber on the host, so the kernels
 * use the very bits the host visitors see. */
tess_err_t spec_geom_make(const tess_array_t *X, const tess_spectral_grid_t *g, spec_geom_t *geo)
{
  tess_err_t err = TESS_OK;
  int nd;
  memset(geo, 0, sizeof *geo);
  TESS_REQUIRE(X && g, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(grid_check(X, g));
  nd = tess_array_ndim(X);
  geo->nd = nd;
  geo->rank = g->rank;
  geo->off = nd - g->rank;
  geo->half = g->half;
  geo->single = tess_array_dtype(X) == TESS_C64;
  geo->count = tess_array_local_count(X);
  tess_array_local_shape(X, geo->lsh);
  tess_array_local_start(X, geo->lst);
  tess_array_global_shape(X, geo->gsh);
  for (int d = 0; d < g->rank; d++) {
    geo->n[d] = g->n[d];
    geo->koff[d + 1] = geo->koff[d] + geo->lsh[geo->off + d];
  }
  geo->k = malloc(sizeof(double) * (size_t)(geo->koff[g->rank] + 1));
  TESS_REQUIRE(geo->k != NULL, TESS_ERR_MEM, "wavenumber table");
  for (int d = 0; d < g->rank; d++)
    for (int64_t i = 0; i < geo->lsh[geo->off + d]; i++)
      geo->k[geo->koff[d] + i] = tess_spectral_wavenumber(g, d, geo->lst[geo->off + d] + i);
cleanup:
  if (err != TESS_OK) spec_geom_free(geo);
  return err;
}

void spec_geom_free(spec_geom_t *geo)
{
  free(geo->k);
  geo->k = NULL;
}

tess_err_t spec_require_device(const char *caller, int n, const tess_array_t *const a[])
{
  tess_err_t err = TESS_OK;
  for (int i = 0; i < n; i++)
    TESS_REQUIRE(tess_memspace_kind(tess_array_memspace(a[i])) == TESS_MEM_DEVICE,
                 TESS_ERR_UNSUPPORTED,
                 "%s: arrays must all be host or all device memory, got %s and %s", caller,
                 tess_memspace_name(tess_array_memspace(a[0])),
                 tess_memspace_name(tess_array_memspace(a[i])));
#if TESSERA_HAVE_CUFFT
  /* A device array without a visible GPU (a borrowed pointer) is refused
   * before any kernel could touch it. */
  TESS_REQUIRE(tess_device_count() > 0, TESS_ERR_UNSUPPORTED,
               "%s: %s array but no GPU is visible (copy it to the host)", caller,
               tess_memspace_name(tess_array_memspace(a[0])));
#else
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED,
               "%s needs host arrays in this build (no cuFFT), got %s memory (copy it to the host)",
               caller, tess_memspace_name(tess_array_memspace(a[0])));
#endif
cleanup:
  return err;
}
