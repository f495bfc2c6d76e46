/* include/tessera/tree_sum.h: a partition-independent sum of per-chunk
 * vectors (data-parallel gradients). The chunk vectors are added over one
 * fixed binary tree of chunk indices, so the result has the bits of the
 * serial tree whatever the number of ranks and however the chunks are
 * split between them (contiguous blocks). Memory: O(log nchunks) vectors
 * plus the gathered node sums (about 2 log2(nchunks) per rank). */
#ifndef TESSERA_TREE_SUM_H
#define TESSERA_TREE_SUM_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/error.h>
#include <tessera/mesh.h>

/* Writes chunk c's vector (len values) to out; called only for this rank's
 * chunks, once each. A failure stops the sum and is returned. */
typedef tess_err_t (*tess_chunk_fn)(int64_t c, double *out, void *ctx);

/* Collective over the mesh axes `axes` (TESS_AXES_ALL: the whole mesh): this
 * rank holds chunks [c0, c1) of nchunks (the ranks' ranges tile [0, nchunks)
 * without overlap). result (len doubles) gets the same bits on every rank
 * at any rank count. nchunks == 0 gives zeros. */
tess_err_t tess_chunk_tree_sum(tess_mesh_t *mesh, unsigned axes, int64_t nchunks, int64_t c0,
                               int64_t c1, size_t len, tess_chunk_fn fn, void *ctx,
                               double *result);
/* The same over a communicator (its one-axis mesh, tess_comm_mesh_of). */
tess_err_t tess_chunk_tree_sum_comm(MPI_Comm comm, int64_t nchunks, int64_t c0, int64_t c1,
                                    size_t len, tess_chunk_fn fn, void *ctx, double *result);
TESS_API_END
#endif
