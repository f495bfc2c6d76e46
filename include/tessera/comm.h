/* include/tessera/comm.h: collectives over mesh axes, behind backends.
 * Every call names the axes it runs over (a bit mask, as in mesh.h) and the
 * memory space of its buffers. The backend is picked per mesh: host MPI for
 * host memory; for device memory NCCL, CUDA-aware MPI or host staging when
 * the build has them (the GPU backends plug in behind these same calls).
 * All calls are collective over the ranks that share this rank's
 * coordinates on the axes not in the mask (on meshes of more than 4 axes,
 * the first call for a multi-axis mask is collective over the whole mesh:
 * see tess_mesh_subset_comm). send == recv means in place. Counts are
 * size_t; a count MPI cannot take (above INT_MAX) is TESS_ERR_ARG with the
 * number. Device buffers without a GPU backend: TESS_ERR_UNSUPPORTED.
 * Floating-point sums follow MPI's order: use reduce.h for bitwise
 * reproducible sums. */
#ifndef TESSERA_COMM_H
#define TESSERA_COMM_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <tessera/dtype.h>
#include <tessera/memory.h>
#include <tessera/mesh.h>

typedef enum {
  TESS_COMM_AUTO = 0,        /* pick by memory space and build */
  TESS_COMM_HOST_MPI,        /* host buffers, plain MPI */
  TESS_COMM_CUDA_AWARE_MPI,  /* device buffers handed to a CUDA-aware MPI */
  TESS_COMM_NCCL,            /* device buffers, NCCL */
  TESS_COMM_HOST_STAGED,     /* device buffers copied to host, then MPI */
  TESS_COMM_NBACKENDS
} tess_comm_backend_t;

typedef enum { TESS_OP_SUM = 0, TESS_OP_MAX, TESS_OP_MIN } tess_op_t;

/* Override the automatic choice; TESS_ERR_UNSUPPORTED if not built in. */
tess_err_t tess_mesh_set_comm_backend(tess_mesh_t *mesh, tess_comm_backend_t b);
tess_comm_backend_t tess_mesh_comm_backend(const tess_mesh_t *mesh, tess_memspace_t space);
const char *tess_comm_backend_name(tess_comm_backend_t b);

tess_err_t tess_comm_allreduce(tess_mesh_t *mesh, unsigned axes, const void *send,
                               void *recv, size_t count, tess_dtype_t t, tess_op_t op,
                               tess_memspace_t space);
/* root is a rank of the axis-subset communicator. */
tess_err_t tess_comm_bcast(tess_mesh_t *mesh, unsigned axes, void *buf, size_t count,
                           tess_dtype_t t, int root, tess_memspace_t space);
tess_err_t tess_comm_allgather(tess_mesh_t *mesh, unsigned axes, const void *send,
                               size_t count, void *recv, tess_dtype_t t,
                               tess_memspace_t space);
/* counts/displs in elements, one per rank of the subset communicator. */
tess_err_t tess_comm_allgatherv(tess_mesh_t *mesh, unsigned axes, const void *send,
                                size_t count, void *recv, const size_t counts[],
                                const size_t displs[], tess_dtype_t t,
                                tess_memspace_t space);
tess_err_t tess_comm_alltoall(tess_mesh_t *mesh, unsigned axes, const void *send,
                              void *recv, size_t count, tess_dtype_t t,
                              tess_memspace_t space);
tess_err_t tess_comm_alltoallv(tess_mesh_t *mesh, unsigned axes,
                               const void *send, const size_t scounts[], const size_t sdispls[],
                               void *recv, const size_t rcounts[], const size_t rdispls[],
                               tess_dtype_t t, tess_memspace_t space);
/* MPI_Alltoallw: one MPI datatype per peer (e.g. subarrays, so strided
 * blocks move without packing), counts in units of that type, displacements
 * in BYTES, as in MPI. Not in place. Host memory only for now: the device
 * backends move contiguous bytes (NCCL has no derived datatypes), so a device
 * buffer is TESS_ERR_UNSUPPORTED until a backend can take it. */
tess_err_t tess_comm_alltoallw(tess_mesh_t *mesh, unsigned axes,
                               const void *send, const size_t scounts[], const size_t sdispls[],
                               const MPI_Datatype stypes[], void *recv, const size_t rcounts[],
                               const size_t rdispls[], const MPI_Datatype rtypes[],
                               tess_memspace_t space);
/* Each rank gets `count` elements: block r of the reduced send buffer. */
tess_err_t tess_comm_reduce_scatter(tess_mesh_t *mesh, unsigned axes, const void *send,
                                    void *recv, size_t count, tess_dtype_t t,
                                    tess_op_t op, tess_memspace_t space);
TESS_API_END
#endif
