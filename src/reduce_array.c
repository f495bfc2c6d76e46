/* src/reduce_array.c: exact sums over Tessera arrays (include/tessera/reduce.h).
 * Both calls feed exact accumulators from the local block, combine them
 * over the ranks that hold different parts of the data with integer
 * allreduces, and round once - so the result is independent of the mesh,
 * the spec and the rank count. Ranks that hold copies (they differ only
 * along mesh axes the spec does not use) must not be counted twice:
 * tess_array_sum lets only the copy at coordinate 0 of those axes
 * contribute; tess_array_reduce_sum reduces over the one axis that shards
 * `dim`, inside which every rank holds a different piece. */
#include <tessera/reduce.h>
#include "exact_acc_impl.h"

#include <stdlib.h>
#include <string.h>

#define RA_CHUNK 512     /* output elements per allreduce (about 570 KiB) */
#define RA_GATHER 4096   /* strided values gathered per fast-path call */

/* Components per element (1 real, 2 complex) and whether they are floats. */
static tess_err_t ra_dtype(tess_dtype_t t, int *ncomp, int *is32)
{
  tess_err_t err = TESS_OK;
  switch (t) {
  case TESS_F64: *ncomp = 1; *is32 = 0; break;
  case TESS_F32: *ncomp = 1; *is32 = 1; break;
  case TESS_C128: *ncomp = 2; *is32 = 0; break;
  case TESS_C64: *ncomp = 2; *is32 = 1; break;
  default:
    TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED,
                 "exact sums need a floating-point array (f32, f64, c64, c128), got %s",
                 tess_dtype_name(t));
  }
cleanup:
  return err;
}

/* acc += component `comp` of elements start, start+stride, ... (n of them).
 * Contiguous real data go straight to the fast path; the rest is gathered
 * (exactly: floats widen to double) into buf, RA_GATHER at a time. */
static void ra_add(tess_exact_acc_t *acc, const void *data, int ncomp, int is32, size_t start,
                   size_t stride, size_t n, int comp, double *buf)
{
  if (ncomp == 1 && stride == 1) {
    if (is32) tess_xacc_sum_f32(acc, (const float *)data + start, n);
    else tess_xacc_sum_f64(acc, (const double *)data + start, n);
    return;
  }
  for (size_t i0 = 0; i0 < n; i0 += RA_GATHER) {
    size_t len = n - i0 < RA_GATHER ? n - i0 : RA_GATHER;
    for (size_t i = 0; i < len; i++) {
      size_t k = ((start + (i0 + i) * stride) * (size_t)ncomp) + (size_t)comp;
      buf[i] = is32 ? (double)((const float *)data)[k] : ((const double *)data)[k];
    }
    tess_xacc_sum_f64(acc, buf, len);
  }
}

/* Round acc[0..ncomp) into element `k` of data. */
static tess_err_t ra_store(tess_exact_acc_t *acc, int ncomp, int is32, void *data, size_t k)
{
  tess_err_t err = TESS_OK;
  for (int c = 0; c < ncomp; c++) {
    size_t at = k * (size_t)ncomp + (size_t)c;
    if (is32) TESS_CHECK(tess_exact_acc_round_f32(&acc[c], (float *)data + at));
    else TESS_CHECK(tess_exact_acc_round_f64(&acc[c], (double *)data + at));
  }
cleanup:
  return err;
}

tess_err_t tess_array_sum(const tess_array_t *a, void *result)
{
  tess_err_t err = TESS_OK;
  tess_exact_acc_t acc[2];
  tess_exact_acc_t *ptr[2] = {&acc[0], &acc[1]};
  double *buf = NULL;
  int ncomp = 1, is32 = 0, entered = 0;
  tess_xacc_fpenv_t env;
  TESS_REQUIRE(a && result, TESS_ERR_ARG, "NULL array or result");
  TESS_CHECK(ra_dtype(tess_array_dtype(a), &ncomp, &is32));
  memset(acc, 0, sizeof acc);

  tess_mesh_t *mesh = tess_array_mesh(a);
  tess_shardspec_t spec;
  tess_array_spec(a, &spec);
  unsigned used = 0;
  for (int d = 0; d < spec.ndim; d++)
    if (spec.axis[d] != TESS_REPLICATED) used |= 1u << spec.axis[d];
  int owner = 1;   /* the first of the copies of this block */
  for (int ax = 0; ax < tess_mesh_naxes(mesh); ax++)
    if (!(used & (1u << ax)) && tess_mesh_coord(mesh, ax) != 0) owner = 0;

  size_t n = (size_t)tess_array_local_count(a);
  tess_err_t local = TESS_OK;   /* a failing rank still joins the allreduce, flagged */
  if (owner && n > 0 && !tess_memspace_is_host(tess_array_memspace(a))) {
    if (!tess_device_available())
      local = tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                              "%s of a device array, but no GPU is visible to this rank", __func__);
    for (int c = 0; c < ncomp && !local; c++)   /* the GPU kernel: the same exact value */
      local = tess_xacc_device_add(&acc[c], is32 ? TESS_XACC_SUM_F32 : TESS_XACC_SUM_F64,
                                   (const char *)tess_array_local_data_const(a)
                                       + (size_t)c * (is32 ? 4 : 8),
                                   NULL, n, (size_t)ncomp);
    if (local) acc[0].fail = 1;
  } else if (owner && n > 0) {
    buf = malloc(RA_GATHER * sizeof *buf);
    TESS_REQUIRE(buf != NULL, TESS_ERR_MEM, "gather buffer");
    tess_xacc_fpenv_enter(&env);
    entered = 1;
    for (int c = 0; c < ncomp; c++)
      ra_add(&acc[c], tess_array_local_data_const(a), ncomp, is32, 0, 1, n, c, buf);
    tess_xacc_fpenv_leave(&env);
    entered = 0;
  }
  tess_err_t red = tess_exact_acc_allreduce_many(ptr, (size_t)ncomp, tess_mesh_comm(mesh));
  TESS_CHECK(local);   /* this rank's own failure first: it says why */
  TESS_CHECK(red);
  TESS_CHECK(ra_store(acc, ncomp, is32, result, 0));
cleanup:
  if (entered) tess_xacc_fpenv_leave(&env);
  free(buf);
  return err;
}

/* Device arrays: through a host copy of the block (same digits, same bits);
 * a device kernel for sums along a dimension is not written yet. */
static tess_err_t reduce_sum_staged(const tess_array_t *in, int dim, tess_array_t **out)
{
  tess_err_t err = TESS_OK;
  tess_array_t *h = NULL, *oh = NULL, *o = NULL;
  tess_shardspec_t spec;
  int64_t shape[TESS_MAX_NDIM];
  tess_array_spec(in, &spec);
  tess_array_global_shape(in, shape);
  TESS_CHECK(tess_array_create(tess_array_mesh(in), tess_array_dtype(in), tess_array_ndim(in),
                               shape, &spec, TESS_MEM_HOST, &h));
  TESS_CHECK(tess_array_copy(h, in));
  TESS_CHECK(tess_array_reduce_sum(h, dim, &oh));
  tess_array_spec(oh, &spec);
  tess_array_global_shape(oh, shape);
  TESS_CHECK(tess_array_create(tess_array_mesh(in), tess_array_dtype(in), tess_array_ndim(in),
                               shape, &spec, tess_array_memspace(in), &o));
  TESS_CHECK(tess_array_copy(o, oh));
  *out = o;
  o = NULL;
cleanup:
  tess_array_destroy(&h);
  tess_array_destroy(&oh);
  tess_array_destroy(&o);
  return err;
}

tess_err_t tess_array_reduce_sum(const tess_array_t *in, int dim, tess_array_t **out)
{
  tess_err_t err = TESS_OK;
  tess_array_t *o = NULL;
  tess_exact_acc_t *acc = NULL, **ptr = NULL;
  double *buf = NULL;
  int ncomp = 1, is32 = 0, entered = 0;
  tess_xacc_fpenv_t env;
  TESS_REQUIRE(in && out, TESS_ERR_ARG, "NULL array or out");
  *out = NULL;
  int ndim = tess_array_ndim(in);
  TESS_REQUIRE(dim >= 0 && dim < ndim, TESS_ERR_ARG,
               "dimension %d out of range: the array has %d dimension(s), expected 0..%d", dim,
               ndim, ndim - 1);
  TESS_REQUIRE(tess_array_is_block(in), TESS_ERR_UNSUPPORTED,
               "tess_array_reduce_sum needs the block rule (reshard an explicitly partitioned "
               "array to it first)");
  TESS_CHECK(ra_dtype(tess_array_dtype(in), &ncomp, &is32));
  if (!tess_memspace_is_host(tess_array_memspace(in))) {
    TESS_CHECK(reduce_sum_staged(in, dim, out));
    goto cleanup;
  }

  tess_mesh_t *mesh = tess_array_mesh(in);
  tess_shardspec_t spec;
  int64_t gshape[TESS_MAX_NDIM], lshape[TESS_MAX_NDIM];
  tess_array_spec(in, &spec);
  tess_array_global_shape(in, gshape);
  tess_array_local_shape(in, lshape);
  int axis = spec.axis[dim];
  spec.axis[dim] = TESS_REPLICATED;
  gshape[dim] = 1;
  TESS_CHECK(tess_array_create(mesh, tess_array_dtype(in), ndim, gshape, &spec, TESS_MEM_HOST, &o));

  /* the local block as [A, D, B]: outputs are (a, b), summed over d */
  size_t A = 1, D = (size_t)lshape[dim], B = 1;
  for (int d = 0; d < dim; d++) A *= (size_t)lshape[d];
  for (int d = dim + 1; d < ndim; d++) B *= (size_t)lshape[d];
  size_t nout = A * B;
  TESS_REQUIRE((int64_t)nout == tess_array_local_count(o), TESS_ERR_INTERNAL,
               "output block has %lld elements, expected %zu",
               (long long)tess_array_local_count(o), nout);

  size_t chunk = nout < RA_CHUNK ? nout : RA_CHUNK;
  acc = malloc((chunk * (size_t)ncomp + 1) * sizeof *acc);
  ptr = malloc((chunk * (size_t)ncomp + 1) * sizeof *ptr);
  buf = malloc(RA_GATHER * sizeof *buf);
  TESS_REQUIRE(acc && ptr && buf, TESS_ERR_MEM, "%zu accumulators", chunk * (size_t)ncomp);
  for (size_t i = 0; i < chunk * (size_t)ncomp; i++) ptr[i] = &acc[i];

  const void *src = tess_array_local_data_const(in);
  void *dst = tess_array_local_data(o);
  /* every rank of the axis communicator has the same A and B: the chunk
   * loop (and its allreduces) line up */
  for (size_t c0 = 0; c0 < nout; c0 += chunk) {
    size_t cnt = nout - c0 < chunk ? nout - c0 : chunk;
    memset(acc, 0, cnt * (size_t)ncomp * sizeof *acc);
    tess_xacc_fpenv_enter(&env);
    entered = 1;
    for (size_t k = c0; k < c0 + cnt; k++) {
      size_t a = k / B, b = k % B;
      for (int c = 0; c < ncomp; c++)
        ra_add(&acc[(k - c0) * (size_t)ncomp + (size_t)c], src, ncomp, is32, a * D * B + b, B, D,
               c, buf);
    }
    tess_xacc_fpenv_leave(&env);
    entered = 0;
    if (axis != TESS_REPLICATED)
      TESS_CHECK(tess_exact_acc_allreduce_many(ptr, cnt * (size_t)ncomp,
                                               tess_mesh_axis_comm(mesh, axis)));
    for (size_t k = c0; k < c0 + cnt; k++)
      TESS_CHECK(ra_store(&acc[(k - c0) * (size_t)ncomp], ncomp, is32, dst, k));
  }
  *out = o;
  o = NULL;
cleanup:
  if (entered) tess_xacc_fpenv_leave(&env);
  tess_array_destroy(&o);
  free(acc);
  free(ptr);
  free(buf);
  return err;
}
