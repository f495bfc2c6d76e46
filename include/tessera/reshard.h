/* include/tessera/reshard.h: move an array between ShardSpecs.
 * This is the transpose engine of the distributed FFT: planning computes
 * which blocks overlap (no data moves); execution packs, does one all-to-all
 * over the mesh and unpacks. Both arrays must share mesh, dtype, global shape
 * and memory space. */
#ifndef TESSERA_RESHARD_H
#define TESSERA_RESHARD_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <tessera/array.h>

typedef struct tess_reshard tess_reshard_t;   /* opaque */

/* Collective on the mesh. Reads specs and shapes, not data. The collective
 * is chosen here, the same on all ranks: packed MPI_Alltoallv (auto), or
 * MPI_Alltoallw with subarray types when the environment variable
 * TESS_RESHARD_METHOD=alltoallw asks for it (auto|alltoallv|alltoallw). */
tess_err_t tess_reshard_create(const tess_array_t *src, const tess_array_t *dst,
                               tess_reshard_t **plan);
/* Collective. src and dst must have the specs the plan was made for. */
tess_err_t tess_reshard_execute(const tess_reshard_t *plan, const tess_array_t *src,
                                tess_array_t *dst);
void tess_reshard_destroy(tess_reshard_t **plan);   /* safe on NULL */
/* "alltoallv" or "alltoallw": the collective the plan uses (for logs). */
const char *tess_reshard_method(const tess_reshard_t *plan);
/* One-shot: plan, execute, destroy. */
tess_err_t tess_reshard(const tess_array_t *src, tess_array_t *dst);
TESS_API_END
#endif
