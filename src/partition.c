/* src/partition.c: explicit partitions, the alternative to the block rule
 * (PETSc DMDA's lx/ly/lz): the caller names the length of every block of a
 * sharded dimension. Offsets are kept, not lengths, so any rank finds any
 * block in O(1), as with the block rule. */
#include "array_internal.h"
#include "mesh_internal.h"

#include <stdlib.h>
#include <string.h>

void tess_partition_range_(const int64_t *off, int64_t n, int p, int c, int64_t *start,
                           int64_t *len)
{
  if (!off) {
    tess_block_range(n, p, c, start, len);
    return;
  }
  *start = off[c];
  *len = off[c + 1] - off[c];
}

void tess_partition_free_(tess_partition_t *p)
{
  for (int d = 0; d < TESS_MAX_NDIM; d++) {
    free(p->off[d]);
    p->off[d] = NULL;
  }
}

tess_err_t tess_partition_make_(tess_partition_t *p, const tess_mesh_t *mesh, int ndim,
                                const int64_t shape[], const tess_shardspec_t *spec,
                                const int64_t *const lens[])
{
  tess_err_t err = TESS_OK;
  memset(p, 0, sizeof *p);
  for (int d = 0; lens && d < ndim; d++) {
    if (!lens[d]) continue;
    int a = spec->axis[d];
    TESS_REQUIRE(a != TESS_REPLICATED, TESS_ERR_ARG,
                 "dimension %d is replicated: it takes no partition (NULL)", d);
    int np = mesh->sizes[a];
    p->off[d] = malloc(sizeof(int64_t) * (size_t)(np + 1));
    TESS_REQUIRE(p->off[d] != NULL, TESS_ERR_MEM, "partition");
    p->off[d][0] = 0;
    for (int c = 0; c < np; c++) {
      TESS_REQUIRE(lens[d][c] >= 0, TESS_ERR_ARG,
                   "partition of dimension %d: block %d has negative length %lld", d, c,
                   (long long)lens[d][c]);
      TESS_REQUIRE(lens[d][c] <= shape[d] - p->off[d][c], TESS_ERR_SHAPE,
                   "partition of dimension %d: blocks 0..%d exceed its length %lld", d, c,
                   (long long)shape[d]);
      p->off[d][c + 1] = p->off[d][c] + lens[d][c];
    }
    TESS_REQUIRE(p->off[d][np] == shape[d], TESS_ERR_SHAPE,
                 "partition of dimension %d: the %d blocks along axis '%s' sum to %lld, the "
                 "dimension is %lld", d, np, mesh->names[a], (long long)p->off[d][np],
                 (long long)shape[d]);
  }
cleanup:
  if (err != TESS_OK) tess_partition_free_(p);
  return err;
}

tess_err_t tess_partition_copy_(tess_partition_t *dst, const tess_partition_t *src,
                                const tess_mesh_t *mesh, int ndim, const tess_shardspec_t *spec)
{
  tess_err_t err = TESS_OK;
  memset(dst, 0, sizeof *dst);
  for (int d = 0; d < ndim; d++) {
    if (!src->off[d]) continue;
    size_t n = (size_t)mesh->sizes[spec->axis[d]] + 1;
    dst->off[d] = malloc(sizeof(int64_t) * n);
    TESS_REQUIRE(dst->off[d] != NULL, TESS_ERR_MEM, "partition");
    memcpy(dst->off[d], src->off[d], sizeof(int64_t) * n);
  }
cleanup:
  if (err != TESS_OK) tess_partition_free_(dst);
  return err;
}

int tess_partition_equal_(const tess_partition_t *a, const tess_partition_t *b,
                          const tess_mesh_t *mesh, int ndim, const int64_t shape[],
                          const tess_shardspec_t *spec)
{
  for (int d = 0; d < ndim; d++) {
    if (!a->off[d] && !b->off[d]) continue;
    int np = mesh->sizes[spec->axis[d]];
    for (int c = 0; c < np; c++) {
      int64_t sa, la, sb, lb;
      tess_partition_range_(a->off[d], shape[d], np, c, &sa, &la);
      tess_partition_range_(b->off[d], shape[d], np, c, &sb, &lb);
      if (sa != sb || la != lb) return 0;
    }
  }
  return 1;
}
