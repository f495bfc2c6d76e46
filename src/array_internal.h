/* src/array_internal.h: the array struct and the strided box copy shared
 * by array.c (gather/scatter) and reshard.c (pack/unpack). Not installed. */
#ifndef TESSERA_ARRAY_INTERNAL_H
#define TESSERA_ARRAY_INTERNAL_H
#include <tessera/array.h>

/* An explicit partition (partition.c): off[d] holds p + 1 block offsets
 * (0 = off[0] <= ... <= off[p] = length) for a dimension sharded over an
 * axis of size p; NULL where the block rule applies. */
typedef struct {
  int64_t *off[TESS_MAX_NDIM];
} tess_partition_t;

/* From per-dimension block lengths (tess_array_opts_t.partition; lens NULL
 * or all-NULL = block rule), checked against the shape and spec. */
tess_err_t tess_partition_make_(tess_partition_t *p, const tess_mesh_t *mesh, int ndim,
                                const int64_t shape[], const tess_shardspec_t *spec,
                                const int64_t *const lens[]);
tess_err_t tess_partition_copy_(tess_partition_t *dst, const tess_partition_t *src,
                                const tess_mesh_t *mesh, int ndim, const tess_shardspec_t *spec);
/* 1 if both give the same blocks (an explicit partition equal to the
 * block rule counts as equal). */
int tess_partition_equal_(const tess_partition_t *a, const tess_partition_t *b,
                          const tess_mesh_t *mesh, int ndim, const int64_t shape[],
                          const tess_shardspec_t *spec);
void tess_partition_free_(tess_partition_t *p);
/* Range of block c of p along one dimension: the partition's or the block rule's. */
void tess_partition_range_(const int64_t *off, int64_t n, int p, int c, int64_t *start,
                           int64_t *len);

struct tess_array {
  tess_mesh_t *mesh;                 /* borrowed */
  tess_dtype_t dtype;
  size_t esize;                      /* bytes per element */
  int ndim;
  tess_shardspec_t spec;
  int64_t gshape[TESS_MAX_NDIM];
  int64_t lstart[TESS_MAX_NDIM];
  int64_t lcount;
  /* data, space, local shape, strides; owned (tess_malloc'ed in its space)
   * or borrowed from the caller (tess_array_create_with_data). */
  tess_buffer_t local;
  tess_partition_t part;             /* owned; all NULL = block rule */
};

/* Block of `spec` (and `part`, NULL = block rule throughout) held by the
 * process at mesh coordinates `coords`. */
void tess_array_block_at_(const tess_mesh_t *mesh, int ndim, const int64_t gshape[],
                          const tess_shardspec_t *spec, const tess_partition_t *part,
                          const int coords[], int64_t start[], int64_t len[]);

/* Host copy of a box of extent ext[] between two row-major arrays: from src
 * (shape sshape, box at soff) to dst (shape dshape, box at doff). Trailing
 * dimensions that are whole in both are merged, so the inner loop is one
 * memcpy of the longest contiguous run. stream != 0 asks for non-temporal
 * stores (for copies far larger than the cache). */
void tess_box_copy_(int ndim, size_t esize, const int64_t ext[], void *dst,
                    const int64_t dshape[], const int64_t doff[], const void *src,
                    const int64_t sshape[], const int64_t soff[], int stream);
#endif
