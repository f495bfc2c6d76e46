/* include/tessera/reshard.h: move an array between ShardSpecs (and
 * explicit partitions). The one transpose engine: the distributed FFT runs
 * its transposes through the packed form below. Planning computes which
 * blocks overlap (no data moves); execution packs, exchanges over the
 * smallest subset of mesh axes (an alltoallv, pipelined point-to-point
 * segments for big blocks, or an alltoallw of subarray types) and unpacks.
 * Both arrays share mesh, dtype and global shape and memory: host (host and
 * pinned host mix) or the same device space. Device arrays are packed and
 * unpacked by GPU kernels and always use the alltoallv method, through the
 * device comm backend (at one rank no backend is needed); execute returns
 * when the device work is done. Every exchange goes through tess_comm
 * (comm.h). */
#ifndef TESSERA_RESHARD_H
#define TESSERA_RESHARD_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <tessera/array.h>
#include <tessera/stream.h>

typedef struct tess_reshard tess_reshard_t;   /* opaque */

/* Collective on the mesh. Reads specs and shapes, not data. The collective
 * is chosen here, the same on all ranks: packed alltoallv (auto; from 4 MiB
 * per rank as pipelined point-to-point segments), or alltoallw with
 * subarray types when the environment variable
 * TESS_RESHARD_METHOD=alltoallw asks for it (auto|alltoallv|alltoallw;
 * device arrays: packed alltoallv regardless). */
tess_err_t tess_reshard_create(const tess_array_t *src, const tess_array_t *dst,
                               tess_reshard_t **plan);
/* Collective. src and dst must have the specs and partitions the plan was
 * made for. */
tess_err_t tess_reshard_execute(const tess_reshard_t *plan, const tess_array_t *src,
                                tess_array_t *dst);
void tess_reshard_destroy(tess_reshard_t **plan);   /* safe on NULL */
/* "alltoallv" or "alltoallw": the collective the plan uses (for logs). */
const char *tess_reshard_method(const tess_reshard_t *plan);
/* The packed form, for engines that pack and unpack themselves (the FFT
 * fuses both into its line copies): chunk q of `send` (scounts[q] elements
 * at sdispls[q]) goes to rank q of the subset communicator of `axes`, into
 * recv at rdispls[q]. Planned once (not collective), executed per transform
 * (collective over the subset) with no allocation. */
tess_err_t tess_reshard_create_packed(tess_mesh_t *mesh, unsigned axes, tess_dtype_t t,
                                      tess_memspace_t space, const size_t scounts[],
                                      const size_t sdispls[], const size_t rcounts[],
                                      const size_t rdispls[], tess_reshard_t **plan);
tess_err_t tess_reshard_execute_packed(const tess_reshard_t *plan, const void *send, void *recv,
                                       tess_stream_t stream);
/* One-shot: plan, execute, destroy. */
tess_err_t tess_reshard(const tess_array_t *src, tess_array_t *dst);
TESS_API_END
#endif
