/* src/array_internal.h: the array struct and the strided box copy shared
 * by array.c (gather/scatter) and reshard.c (pack/unpack). Not installed. */
#ifndef TESSERA_ARRAY_INTERNAL_H
#define TESSERA_ARRAY_INTERNAL_H
#include <tessera/array.h>

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
};

/* Block of `spec` held by the process at mesh coordinates `coords`. */
void tess_array_block_at_(const tess_mesh_t *mesh, int ndim, const int64_t gshape[],
                          const tess_shardspec_t *spec, const int coords[], int64_t start[],
                          int64_t len[]);

/* Host copy of a box of extent ext[] between two row-major arrays: from src
 * (shape sshape, box at soff) to dst (shape dshape, box at doff). Trailing
 * dimensions that are whole in both are merged, so the inner loop is one
 * memcpy of the longest contiguous run. stream != 0 asks for non-temporal
 * stores (for copies far larger than the cache). */
void tess_box_copy_(int ndim, size_t esize, const int64_t ext[], void *dst,
                    const int64_t dshape[], const int64_t doff[], const void *src,
                    const int64_t sshape[], const int64_t soff[], int stream);
#endif
