/* include/tessera/array.h: distributed arrays described by a ShardSpec.
 * An array is a dtype, a global shape and, for each dimension, the mesh axis
 * that shards it (or TESS_REPLICATED). A sharded dimension of length n over an
 * axis of size p is split in blocks: the first n % p coordinates get
 * n / p + 1 elements, the rest n / p (possibly 0). Each rank stores its block
 * contiguously in row-major (C) order. A mesh axis shards at most one
 * dimension; ranks that differ only along axes no dimension uses hold
 * copies of the same block. */
#ifndef TESSERA_ARRAY_H
#define TESSERA_ARRAY_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>
#include <tessera/buffer.h>
#include <tessera/dtype.h>
#include <tessera/memory.h>
#include <tessera/mesh.h>

#define TESS_REPLICATED (-1)

typedef struct {
  int ndim;
  int axis[TESS_MAX_NDIM];   /* mesh axis index sharding dim d, or TESS_REPLICATED */
} tess_shardspec_t;

typedef struct tess_array tess_array_t;   /* opaque */

/* Build a spec from axis names per dimension (NULL or "" = replicated).
 * Errors name an unknown axis or an axis used twice. */
tess_err_t tess_shardspec_make(const tess_mesh_t *mesh, int ndim,
                               const char *const axis_names[], tess_shardspec_t *spec);
int tess_shardspec_equal(const tess_shardspec_t *a, const tess_shardspec_t *b);

/* Block of a length-n dimension held by part c of p. */
void tess_block_range(int64_t n, int p, int c, int64_t *start, int64_t *len);

/* Collective on the mesh (no communication, but all ranks must agree).
 * Memory is zero-filled. The array borrows the mesh: destroy it first. */
tess_err_t tess_array_create(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                             const int64_t shape[], const tess_shardspec_t *spec,
                             tess_memspace_t space, tess_array_t **arr);
/* Same mesh, dtype, shape and space as `like`; spec NULL = like's spec. */
tess_err_t tess_array_create_like(const tess_array_t *like, const tess_shardspec_t *spec,
                                  tess_array_t **arr);
void tess_array_destroy(tess_array_t **arr);   /* safe on NULL */

tess_mesh_t *tess_array_mesh(const tess_array_t *a);
tess_dtype_t tess_array_dtype(const tess_array_t *a);
int tess_array_ndim(const tess_array_t *a);
tess_memspace_t tess_array_memspace(const tess_array_t *a);
void tess_array_spec(const tess_array_t *a, tess_shardspec_t *spec);
void tess_array_global_shape(const tess_array_t *a, int64_t shape[]);
void tess_array_local_shape(const tess_array_t *a, int64_t shape[]);
void tess_array_local_start(const tess_array_t *a, int64_t start[]);
int64_t tess_array_local_count(const tess_array_t *a);   /* elements */
int64_t tess_array_global_count(const tess_array_t *a);
void *tess_array_local_data(tess_array_t *a);
const void *tess_array_local_data_const(const tess_array_t *a);

/* Global coordinates of local element `local_linear` (row-major). */
void tess_array_global_index(const tess_array_t *a, int64_t local_linear, int64_t gidx[]);
/* Row-major linear index of global coordinates in the global shape. */
int64_t tess_array_global_linear(const tess_array_t *a, const int64_t gidx[]);

/* Set every local element from a function of its global index. `value`
 * points at one element of the array's dtype. Host arrays only. */
typedef void (*tess_array_fill_fn)(const int64_t gidx[], int ndim, void *value, void *ctx);
tess_err_t tess_array_fill(tess_array_t *a, tess_array_fill_fn fn, void *ctx);

/* Collective. The whole array in row-major order on rank `root` of the mesh
 * communicator (global may be NULL elsewhere). For small arrays and tests. */
tess_err_t tess_array_gather(const tess_array_t *a, int root, void *global);
/* Collective. Inverse of gather: root's row-major global data into blocks. */
tess_err_t tess_array_scatter(tess_array_t *a, int root, const void *global);
/* Copy local blocks; same mesh, dtype, shape and spec. */
tess_err_t tess_array_copy(tess_array_t *dst, const tess_array_t *src);
TESS_API_END
#endif
