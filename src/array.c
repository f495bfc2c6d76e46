/* src/array.c: distributed arrays described by a ShardSpec.
 * An array is metadata (dtype, global shape, spec) plus this rank's block,
 * row-major and contiguous, in host or device memory. Block extents are
 * computed from the spec and mesh coordinates alone, so any rank can say
 * what any other rank holds without asking it: reshard and gather rely on
 * that. Gather/scatter are for small arrays and tests (everything passes
 * through one rank). */
#include "array_internal.h"
#include "mesh_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void tess_block_range(int64_t n, int p, int c, int64_t *start, int64_t *len)
{
  int64_t q = n / p, r = n % p;
  *start = c * q + (c < r ? c : r);
  *len = q + (c < r ? 1 : 0);
}

void tess_array_block_at_(const tess_mesh_t *mesh, int ndim, const int64_t gshape[],
                          const tess_shardspec_t *spec, const tess_partition_t *part,
                          const int coords[], int64_t start[], int64_t len[])
{
  for (int d = 0; d < ndim; d++) {
    int a = spec->axis[d];
    if (a == TESS_REPLICATED) {
      start[d] = 0;
      len[d] = gshape[d];
    } else {
      tess_partition_range_(part ? part->off[d] : NULL, gshape[d], mesh->sizes[a], coords[a],
                            &start[d], &len[d]);
    }
  }
}

tess_err_t tess_shardspec_make(const tess_mesh_t *mesh, int ndim, const char *const names[],
                               tess_shardspec_t *spec)
{
  tess_err_t err = TESS_OK;
  tess_shardspec_t s;
  TESS_REQUIRE(mesh && spec, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(ndim >= 1 && ndim <= TESS_MAX_NDIM, TESS_ERR_ARG,
               "a ShardSpec has 1 to %d dimensions, got %d", TESS_MAX_NDIM, ndim);
  s.ndim = ndim;
  for (int d = 0; d < TESS_MAX_NDIM; d++) s.axis[d] = TESS_REPLICATED;
  for (int d = 0; d < ndim; d++) {
    if (!names || !names[d] || !names[d][0]) continue;
    TESS_CHECK(tess_mesh_axis_find(mesh, names[d], &s.axis[d]));
    for (int e = 0; e < d; e++)
      TESS_REQUIRE(s.axis[e] != s.axis[d], TESS_ERR_ARG,
                   "mesh axis '%s' shards both dimension %d and dimension %d; an axis may "
                   "shard at most one dimension", names[d], e, d);
  }
  *spec = s;
cleanup:
  return err;
}

int tess_shardspec_equal(const tess_shardspec_t *a, const tess_shardspec_t *b)
{
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->axis[d] != b->axis[d]) return 0;
  return 1;
}

static tess_err_t check_spec(const tess_mesh_t *mesh, int ndim, const tess_shardspec_t *spec)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(spec->ndim == ndim, TESS_ERR_SHAPE,
               "ShardSpec has %d dimensions but the array has %d", spec->ndim, ndim);
  for (int d = 0; d < ndim; d++) {
    int a = spec->axis[d];
    TESS_REQUIRE(a == TESS_REPLICATED || (a >= 0 && a < mesh->naxes), TESS_ERR_ARG,
                 "ShardSpec dimension %d names mesh axis %d; the mesh has axes 0..%d "
                 "(or TESS_REPLICATED)", d, a, mesh->naxes - 1);
    for (int e = 0; e < d; e++)
      TESS_REQUIRE(a == TESS_REPLICATED || spec->axis[e] != a, TESS_ERR_ARG,
                   "mesh axis '%s' shards both dimension %d and dimension %d",
                   mesh->names[a], e, d);
  }
cleanup:
  return err;
}

/* The array's metadata and this rank's block, no memory yet. */
static tess_err_t array_new(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                            const int64_t shape[], const tess_shardspec_t *spec,
                            tess_memspace_t space, const tess_array_opts_t *opts,
                            tess_array_t **arr)
{
  tess_err_t err = TESS_OK;
  tess_array_t *a = NULL;
  int64_t lcount = 1;
  TESS_REQUIRE(arr != NULL, TESS_ERR_ARG, "NULL array output");
  *arr = NULL;
  TESS_REQUIRE(mesh && shape && spec, TESS_ERR_ARG, "NULL mesh, shape or spec");
  TESS_REQUIRE(tess_dtype_size(dtype) > 0, TESS_ERR_ARG, "invalid dtype %d", (int)dtype);
  TESS_REQUIRE(ndim >= 1 && ndim <= TESS_MAX_NDIM, TESS_ERR_ARG,
               "arrays have 1 to %d dimensions, got %d", TESS_MAX_NDIM, ndim);
  TESS_REQUIRE(tess_memspace_valid(space), TESS_ERR_ARG, "invalid memory space %d", (int)space);
  for (int d = 0; d < ndim; d++)
    TESS_REQUIRE(shape[d] >= 0, TESS_ERR_ARG, "dimension %d has negative length %lld", d,
                 (long long)shape[d]);
  TESS_CHECK(check_spec(mesh, ndim, spec));

  a = calloc(1, sizeof *a);
  TESS_REQUIRE(a != NULL, TESS_ERR_MEM, "array");
  a->mesh = mesh;
  a->dtype = dtype;
  a->esize = tess_dtype_size(dtype);
  a->ndim = ndim;
  a->spec = *spec;
  for (int d = ndim; d < TESS_MAX_NDIM; d++) a->spec.axis[d] = TESS_REPLICATED;
  for (int d = 0; d < ndim; d++) a->gshape[d] = shape[d];
  TESS_CHECK(tess_partition_make_(&a->part, mesh, ndim, a->gshape, &a->spec,
                                  opts ? opts->partition : NULL));
  int64_t lshape[TESS_MAX_NDIM];
  tess_array_block_at_(mesh, ndim, a->gshape, &a->spec, &a->part, mesh->coords, a->lstart,
                       lshape);
  for (int d = 0; d < ndim; d++) {
    TESS_REQUIRE(lshape[d] == 0 || lcount <= INT64_MAX / lshape[d], TESS_ERR_ARG,
                 "local block too large");
    lcount *= lshape[d];
  }
  TESS_REQUIRE((uint64_t)lcount <= SIZE_MAX / a->esize, TESS_ERR_ARG, "local block too large");
  a->lcount = lcount;
  TESS_CHECK(tess_buffer_set_contiguous(&a->local, dtype, ndim, lshape));
  a->local.space = space;
  *arr = a;
  a = NULL;
cleanup:
  tess_array_destroy(&a);
  return err;
}

tess_err_t tess_array_create_ex(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                                const int64_t shape[], const tess_shardspec_t *spec,
                                tess_memspace_t space, const tess_array_opts_t *opts,
                                tess_array_t **arr)
{
  tess_err_t err = TESS_OK;
  tess_array_t *a = NULL;
  TESS_CHECK(array_new(mesh, dtype, ndim, shape, spec, space, opts, &a));
  size_t bytes = (size_t)a->lcount * a->esize;
  if (opts && opts->uninitialized)
    TESS_CHECK(tess_malloc(space, bytes, &a->local.data));
  else
    TESS_CHECK(tess_calloc(space, bytes, &a->local.data));
  a->local.owned = 1;
  *arr = a;
  a = NULL;
cleanup:
  tess_array_destroy(&a);
  return err;
}

tess_err_t tess_array_create(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                             const int64_t shape[], const tess_shardspec_t *spec,
                             tess_memspace_t space, tess_array_t **arr)
{
  return tess_array_create_ex(mesh, dtype, ndim, shape, spec, space, NULL, arr);
}

tess_err_t tess_array_create_with_data(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                                       const int64_t shape[], const tess_shardspec_t *spec,
                                       tess_memspace_t space, const tess_array_opts_t *opts,
                                       void *data, size_t bytes, tess_array_t **arr)
{
  tess_err_t err = TESS_OK;
  tess_array_t *a = NULL;
  TESS_CHECK(array_new(mesh, dtype, ndim, shape, spec, space, opts, &a));
  size_t need = (size_t)a->lcount * a->esize;
  TESS_REQUIRE(data != NULL || need == 0, TESS_ERR_ARG,
               "NULL data for a local block of %lld elements", (long long)a->lcount);
  TESS_REQUIRE(bytes >= need, TESS_ERR_SHAPE,
               "the caller's buffer has %zu bytes; this rank's block needs %zu (%lld %s)",
               bytes, need, (long long)a->lcount, tess_dtype_name(dtype));
  size_t align = tess_dtype_is_complex(dtype) ? a->esize / 2 : a->esize;
  TESS_REQUIRE((uintptr_t)data % align == 0, TESS_ERR_ARG,
               "the caller's buffer is not aligned to %zu bytes (its %s elements)", align,
               tess_dtype_name(dtype));
  a->local.data = data;
  a->local.owned = 0;
  *arr = a;
  a = NULL;
cleanup:
  tess_array_destroy(&a);
  return err;
}

tess_err_t tess_array_create_like(const tess_array_t *like, const tess_shardspec_t *spec,
                                  tess_array_t **arr)
{
  tess_err_t err = TESS_OK;
  tess_array_opts_t o = {0};
  int64_t *lens[TESS_MAX_NDIM] = {0};
  TESS_REQUIRE(like != NULL, TESS_ERR_ARG, "NULL template array");
  /* Without a new spec the layout is like's, partition included. */
  for (int d = 0; !spec && d < like->ndim; d++) {
    if (!like->part.off[d]) continue;
    int np = like->mesh->sizes[like->spec.axis[d]];
    lens[d] = malloc(sizeof(int64_t) * (size_t)np);
    TESS_REQUIRE(lens[d] != NULL, TESS_ERR_MEM, "partition");
    tess_array_partition(like, d, lens[d]);
    o.partition[d] = lens[d];
  }
  TESS_CHECK(tess_array_create_ex(like->mesh, like->dtype, like->ndim, like->gshape,
                                  spec ? spec : &like->spec, like->local.space, &o, arr));
cleanup:
  for (int d = 0; d < TESS_MAX_NDIM; d++) free(lens[d]);
  return err;
}

void tess_array_destroy(tess_array_t **arr)
{
  if (!arr || !*arr) return;
  if ((*arr)->local.owned) tess_free((*arr)->local.space, &(*arr)->local.data);
  tess_partition_free_(&(*arr)->part);
  free(*arr);
  *arr = NULL;
}

tess_mesh_t *tess_array_mesh(const tess_array_t *a) { return a->mesh; }
tess_dtype_t tess_array_dtype(const tess_array_t *a) { return a->dtype; }
int tess_array_ndim(const tess_array_t *a) { return a->ndim; }
tess_memspace_t tess_array_memspace(const tess_array_t *a) { return a->local.space; }
void tess_array_spec(const tess_array_t *a, tess_shardspec_t *spec) { *spec = a->spec; }
void tess_array_global_shape(const tess_array_t *a, int64_t shape[])
{
  memcpy(shape, a->gshape, sizeof(int64_t) * (size_t)a->ndim);
}
void tess_array_local_shape(const tess_array_t *a, int64_t shape[])
{
  memcpy(shape, a->local.shape, sizeof(int64_t) * (size_t)a->ndim);
}
void tess_array_local_start(const tess_array_t *a, int64_t start[])
{
  memcpy(start, a->lstart, sizeof(int64_t) * (size_t)a->ndim);
}
int64_t tess_array_local_count(const tess_array_t *a) { return a->lcount; }
int64_t tess_array_global_count(const tess_array_t *a)
{
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) n *= a->gshape[d];
  return n;
}
void *tess_array_local_data(tess_array_t *a) { return a->local.data; }
const void *tess_array_local_data_const(const tess_array_t *a) { return a->local.data; }
void tess_array_local_buffer(const tess_array_t *a, tess_buffer_t *buf) { *buf = a->local; }
int tess_array_owns_data(const tess_array_t *a) { return a->local.owned; }

int tess_array_is_block(const tess_array_t *a)
{
  tess_partition_t none = {{0}};
  return tess_partition_equal_(&a->part, &none, a->mesh, a->ndim, a->gshape, &a->spec);
}

int tess_array_copy_axis(const tess_array_t *a)
{
  for (int ax = 0; ax < tess_mesh_naxes(a->mesh); ax++) {
    int used = 0;
    for (int d = 0; d < a->spec.ndim; d++) used |= a->spec.axis[d] == ax;
    if (!used && tess_mesh_axis_size(a->mesh, ax) > 1) return ax;
  }
  return -1;
}

void tess_array_partition(const tess_array_t *a, int d, int64_t lengths[])
{
  int ax = a->spec.axis[d];
  if (ax == TESS_REPLICATED) {
    lengths[0] = a->gshape[d];
    return;
  }
  for (int c = 0, np = a->mesh->sizes[ax]; c < np; c++) {
    int64_t st;
    tess_partition_range_(a->part.off[d], a->gshape[d], np, c, &st, &lengths[c]);
  }
}

void tess_array_global_index(const tess_array_t *a, int64_t local_linear, int64_t gidx[])
{
  for (int d = a->ndim - 1; d >= 0; d--) {
    int64_t n = a->local.shape[d] > 0 ? a->local.shape[d] : 1;
    gidx[d] = a->lstart[d] + local_linear % n;
    local_linear /= n;
  }
}

int64_t tess_array_global_linear(const tess_array_t *a, const int64_t gidx[])
{
  int64_t l = 0;
  for (int d = 0; d < a->ndim; d++) l = l * a->gshape[d] + gidx[d];
  return l;
}

tess_err_t tess_array_fill(tess_array_t *a, tess_array_fill_fn fn, void *ctx)
{
  tess_err_t err = TESS_OK;
  int64_t g[TESS_MAX_NDIM];
  TESS_REQUIRE(a && fn, TESS_ERR_ARG, "NULL array or function");
  TESS_REQUIRE_HOST(a);
  if (a->lcount == 0) goto cleanup;
  /* An odometer over the local block: no division per element. */
  for (int d = 0; d < a->ndim; d++) g[d] = a->lstart[d];
  char *p = a->local.data;
  for (int64_t i = 0; i < a->lcount; i++, p += a->esize) {
    fn(g, a->ndim, p, ctx);
    for (int d = a->ndim - 1; d >= 0; d--) {
      if (++g[d] < a->lstart[d] + a->local.shape[d]) break;
      g[d] = a->lstart[d];
    }
  }
cleanup:
  return err;
}

/* The one copy of each distinct block that gather/scatter move: the rank
 * whose coordinates are 0 on every axis the spec does not use. */
static int owns_copy(const tess_array_t *a, const int coords[])
{
  unsigned used = 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->spec.axis[d] != TESS_REPLICATED) used |= 1u << a->spec.axis[d];
  for (int i = 0; i < a->mesh->naxes; i++)
    if (!(used & (1u << i)) && coords[i] != 0) return 0;
  return 1;
}

/* Per-rank counts (elements) and displacements for gather/scatter; error if
 * the whole array does not fit the int counts of MPI_Gatherv. */
static tess_err_t gather_layout(const tess_array_t *a, int *counts, int *displs)
{
  tess_err_t err = TESS_OK;
  const tess_mesh_t *m = a->mesh;
  int coords[TESS_MESH_MAX_AXES];
  int64_t start[TESS_MAX_NDIM], len[TESS_MAX_NDIM], off = 0;
  for (int r = 0; r < m->size; r++) {
    int64_t n = 0;
    tess_mesh_coords_of(m, r, coords);
    if (owns_copy(a, coords)) {
      tess_array_block_at_(m, a->ndim, a->gshape, &a->spec, &a->part, coords, start, len);
      n = 1;
      for (int d = 0; d < a->ndim; d++) n *= len[d];
    }
    TESS_REQUIRE(off + n <= INT_MAX, TESS_ERR_UNSUPPORTED,
                 "gather/scatter are for small arrays: %lld elements exceed the MPI limit %d",
                 (long long)tess_array_global_count(a), INT_MAX);
    counts[r] = (int)n;
    displs[r] = (int)off;
    off += n;
  }
cleanup:
  return err;
}

/* Direction of the move between the packed per-rank buffer and the global array. */
static void unpack_all(const tess_array_t *a, const int *displs, const int *counts, char *packed,
                       char *global, int to_global)
{
  const tess_mesh_t *m = a->mesh;
  int coords[TESS_MESH_MAX_AXES];
  int64_t start[TESS_MAX_NDIM], len[TESS_MAX_NDIM], zero[TESS_MAX_NDIM] = {0};
  for (int r = 0; r < m->size; r++) {
    if (counts[r] == 0) continue;
    tess_mesh_coords_of(m, r, coords);
    tess_array_block_at_(m, a->ndim, a->gshape, &a->spec, &a->part, coords, start, len);
    char *blk = packed + (size_t)displs[r] * a->esize;
    if (to_global)
      tess_box_copy_(a->ndim, a->esize, len, global, a->gshape, start, blk, len, zero, 0);
    else
      tess_box_copy_(a->ndim, a->esize, len, blk, len, zero, global, a->gshape, start, 0);
  }
}

static tess_err_t gather_scatter(tess_array_t *a, int root, void *global, int to_root)
{
  tess_err_t err = TESS_OK;
  int *counts = NULL, *displs = NULL, rank;
  size_t *zc = NULL, *zd = NULL;
  char *packed = NULL, *staged = NULL;
  void *local = NULL;   /* the host copy of the local block that MPI moves */
  TESS_REQUIRE(a != NULL, TESS_ERR_ARG, "NULL array");
  /* A device array needs a GPU to stage it; say so before any collective. */
  TESS_REQUIRE(tess_memspace_is_host(a->local.space) || tess_device_available(),
               TESS_ERR_UNSUPPORTED, "%s of a %s array, but no GPU is visible to this rank",
               to_root ? "tess_array_gather" : "tess_array_scatter",
               tess_memspace_name(a->local.space));
  rank = a->mesh->rank;
  local = a->local.data;
  TESS_REQUIRE(root >= 0 && root < a->mesh->size, TESS_ERR_ARG,
               "root %d is not a rank of the %d-rank mesh", root, a->mesh->size);
  /* Only the root knows whether its buffer is there: tell everyone, so that
   * a bad call fails on all ranks instead of leaving them in Gatherv. */
  int root_ok = global != NULL || tess_array_global_count(a) == 0;
  TESS_CHECK(tess_comm_bcast(a->mesh, TESS_AXES_ALL, &root_ok, 1, TESS_I32, root, TESS_MEM_HOST,
                             NULL));
  TESS_REQUIRE(root_ok, TESS_ERR_ARG, "NULL global buffer on the root rank %d", root);
  counts = malloc(sizeof(int) * (size_t)a->mesh->size);
  displs = malloc(sizeof(int) * (size_t)a->mesh->size);
  zc = malloc(sizeof *zc * (size_t)a->mesh->size);
  zd = malloc(sizeof *zd * (size_t)a->mesh->size);
  TESS_REQUIRE(counts && displs && zc && zd, TESS_ERR_MEM, "gather layout");
  TESS_CHECK(gather_layout(a, counts, displs));
  for (int r = 0; r < a->mesh->size; r++) {
    zc[r] = (size_t)counts[r];
    zd[r] = (size_t)displs[r];
  }
  if (rank == root) {
    int64_t total = (int64_t)displs[a->mesh->size - 1] + counts[a->mesh->size - 1];
    TESS_CHECK(tess_malloc(TESS_MEM_HOST, (size_t)total * a->esize, (void **)&packed));
  }
  /* Device arrays go through a host copy of the local block: these calls are
   * for small arrays and tests, and the root's side is host memory anyway. */
  if (!tess_memspace_is_host(a->local.space)) {
    size_t bytes = (size_t)a->lcount * a->esize;
    TESS_CHECK(tess_malloc(TESS_MEM_HOST, bytes, (void **)&staged));
    if (to_root)
      TESS_CHECK(tess_memcpy(TESS_MEM_HOST, staged, a->local.space, a->local.data, bytes));
    local = staged;
  }
  size_t mine = zc[rank];
  /* mesh rank r is rank r of the all-axes communicator: the layout's order */
  if (to_root) {
    TESS_CHECK(tess_comm_gatherv(a->mesh, TESS_AXES_ALL, local, mine, packed, zc, zd, a->dtype,
                                 root, TESS_MEM_HOST, NULL));
    if (rank == root) unpack_all(a, displs, counts, packed, global, 1);
  } else {
    if (rank == root) unpack_all(a, displs, counts, packed, (char *)global, 0);
    TESS_CHECK(tess_comm_scatterv(a->mesh, TESS_AXES_ALL, packed, zc, zd, local, mine,
                                  a->dtype, root, TESS_MEM_HOST, NULL));
    /* Replicas: the owner is rank 0 of the communicator over the unused axes
     * (its coordinates there are all 0); it passes its block on. */
    unsigned unused = (1u << a->mesh->naxes) - 1;
    for (int d = 0; d < a->ndim; d++)
      if (a->spec.axis[d] != TESS_REPLICATED) unused &= ~(1u << a->spec.axis[d]);
    if (unused) {
      TESS_REQUIRE(a->lcount <= INT_MAX, TESS_ERR_UNSUPPORTED, "block too large to scatter");
      TESS_CHECK(tess_comm_bcast(a->mesh, unused, local, (size_t)a->lcount, a->dtype, 0,
                                 TESS_MEM_HOST, NULL));
    }
    if (staged)
      TESS_CHECK(tess_memcpy(a->local.space, a->local.data, TESS_MEM_HOST, staged,
                             (size_t)a->lcount * a->esize));
  }
cleanup:
  tess_free(TESS_MEM_HOST, (void **)&packed);
  tess_free(TESS_MEM_HOST, (void **)&staged);
  free(counts);
  free(displs);
  free(zc);
  free(zd);
  return err;
}

tess_err_t tess_array_gather(const tess_array_t *a, int root, void *global)
{
  return gather_scatter((tess_array_t *)a, root, global, 1);
}

tess_err_t tess_array_scatter(tess_array_t *a, int root, const void *global)
{
  return gather_scatter(a, root, (void *)global, 0);
}

tess_err_t tess_array_copy(tess_array_t *dst, const tess_array_t *src)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(dst && src, TESS_ERR_ARG, "NULL array");
  TESS_REQUIRE(dst->mesh == src->mesh && dst->dtype == src->dtype && dst->ndim == src->ndim
                   && tess_shardspec_equal(&dst->spec, &src->spec),
               TESS_ERR_SHAPE, "tess_array_copy needs the same mesh, dtype and spec "
               "(use tess_reshard to change the spec)");
  for (int d = 0; d < src->ndim; d++)
    TESS_REQUIRE(dst->gshape[d] == src->gshape[d], TESS_ERR_SHAPE,
                 "tess_array_copy: dimension %d is %lld in the source, %lld in the destination",
                 d, (long long)src->gshape[d], (long long)dst->gshape[d]);
  TESS_REQUIRE(tess_partition_equal_(&dst->part, &src->part, src->mesh, src->ndim, src->gshape,
                                     &src->spec), TESS_ERR_SHAPE,
               "tess_array_copy needs the same partition (use tess_reshard to change it)");
  TESS_CHECK(tess_memcpy(dst->local.space, dst->local.data, src->local.space, src->local.data,
                         (size_t)src->lcount * src->esize));
cleanup:
  return err;
}
