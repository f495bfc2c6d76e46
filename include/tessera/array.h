/* include/tessera/array.h: distributed arrays described by a ShardSpec.
 * An array is a dtype, a global shape and, for each dimension, the mesh axis
 * that shards it (or TESS_REPLICATED). A sharded dimension of length n over an
 * axis of size p is split in blocks: the first n % p coordinates get
 * n / p + 1 elements, the rest n / p (possibly 0), unless the array was
 * created with an explicit partition (tess_array_opts_t: the length of every
 * block, as PETSc DMDA's lx/ly/lz). Each rank stores its block contiguously
 * in row-major (C) order, in memory the array owns or borrows from the
 * caller (tess_array_create_with_data). A mesh axis shards at most one
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

/* Options of tess_array_create_ex and tess_array_create_with_data; {0} or
 * NULL gives the defaults (zero-filled, block rule). */
typedef struct {
  int uninitialized;   /* 1: leave new memory as allocated (no zero-fill) */
  /* Explicit partition: for a dimension d sharded over an axis of size p,
   * partition[d] points at p block lengths (>= 0, summing to shape[d]),
   * block c held at axis coordinate c. NULL = the block rule. Replicated
   * dimensions take NULL. The array keeps a copy. */
  const int64_t *partition[TESS_MAX_NDIM];
} tess_array_opts_t;

/* Collective on the mesh (no communication, but all ranks must agree).
 * Memory is zero-filled. The array borrows the mesh: destroy it first. */
tess_err_t tess_array_create(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                             const int64_t shape[], const tess_shardspec_t *spec,
                             tess_memspace_t space, tess_array_t **arr);
/* tess_array_create with options (opts may be NULL). */
tess_err_t tess_array_create_ex(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                                const int64_t shape[], const tess_shardspec_t *spec,
                                tess_memspace_t space, const tess_array_opts_t *opts,
                                tess_array_t **arr);
/* An array over memory the caller owns (a PETSc Vec's array, a NumPy or
 * DLPack buffer, a device pointer): `data` holds this rank's block, row-major
 * and contiguous, in `space`, and is `bytes` long (at least the block).
 * Nothing is copied or zeroed (opts->uninitialized is moot), the pointer is
 * not dereferenced here, and destroy leaves the memory to the caller, who
 * keeps it alive until then. data may be NULL when the block is empty. */
tess_err_t tess_array_create_with_data(tess_mesh_t *mesh, tess_dtype_t dtype, int ndim,
                                       const int64_t shape[], const tess_shardspec_t *spec,
                                       tess_memspace_t space, const tess_array_opts_t *opts,
                                       void *data, size_t bytes, tess_array_t **arr);
/* Same mesh, dtype, shape and space as `like`, owning zero-filled memory;
 * spec NULL = like's spec and partition. */
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
/* The local block's memory, in tess_array_memspace(a): a device pointer
 * for a device array. Host-only code checks with TESS_REQUIRE_HOST first. */
void *tess_array_local_data(tess_array_t *a);
const void *tess_array_local_data_const(const tess_array_t *a);
/* The local buffer (space, dtype, shape, strides, owned): a copy. */
void tess_array_local_buffer(const tess_array_t *a, tess_buffer_t *buf);
/* 1 if the array owns its memory, 0 if it borrows the caller's. */
int tess_array_owns_data(const tess_array_t *a);
/* 1 if every sharded dimension follows the block rule (no explicit partition). */
int tess_array_is_block(const tess_array_t *a);
/* A mesh axis of size > 1 that shards no dimension, so that the ranks along
 * it hold copies of the same block; -1 if every element has one owner
 * (what a PETSc Vec or an exact dot over local blocks needs). */
int tess_array_copy_axis(const tess_array_t *a);
/* Block lengths of dimension d along its axis (p entries for an axis of
 * size p; one entry, the whole length, for a replicated dimension). */
void tess_array_partition(const tess_array_t *a, int d, int64_t lengths[]);

/* In a function with `err` and a cleanup label: fail with
 * TESS_ERR_UNSUPPORTED, naming the function, unless `arr` lives in memory
 * the CPU may dereference (host or pinned host). For host-only paths
 * handed a device array: a clean error instead of a crash. */
#define TESS_REQUIRE_HOST(arr)                                                        \
  TESS_REQUIRE(tess_memspace_is_host(tess_array_memspace(arr)), TESS_ERR_UNSUPPORTED,  \
               "%s needs a host array, got one in %s memory (copy it to the host)",    \
               __func__, tess_memspace_name(tess_array_memspace(arr)))

/* Global coordinates of local element `local_linear` (row-major). */
void tess_array_global_index(const tess_array_t *a, int64_t local_linear, int64_t gidx[]);
/* Row-major linear index of global coordinates in the global shape. */
int64_t tess_array_global_linear(const tess_array_t *a, const int64_t gidx[]);

/* Set every local element from a function of its global index. `value`
 * points at one element of the array's dtype. Host arrays only. */
typedef void (*tess_array_fill_fn)(const int64_t gidx[], int ndim, void *value, void *ctx);
tess_err_t tess_array_fill(tess_array_t *a, tess_array_fill_fn fn, void *ctx);

/* Collective. The whole array in row-major order on rank `root` of the mesh
 * communicator (global may be NULL elsewhere). For small arrays and tests.
 * `global` is host memory; a device array's block is staged through a host
 * copy (TESS_ERR_UNSUPPORTED where no GPU is visible). */
tess_err_t tess_array_gather(const tess_array_t *a, int root, void *global);
/* Collective. Inverse of gather: root's row-major global data into blocks. */
tess_err_t tess_array_scatter(tess_array_t *a, int root, const void *global);
/* Copy local blocks; same mesh, dtype, shape, spec and partition. */
tess_err_t tess_array_copy(tess_array_t *dst, const tess_array_t *src);
TESS_API_END
#endif
