/* include/tessera/comm.h: collectives over mesh axes, behind backends.
 * Every call names the axes it runs over (a bit mask, as in mesh.h) and the
 * memory space of its buffers. The backend is picked per mesh: host MPI for
 * host memory; for device memory (CUDA builds) NCCL where every rank has a
 * GPU of its own, else CUDA-aware MPI where the MPI says it is, else host
 * staging (docs/core.md, "Collectives").
 * All calls are collective over the ranks that share this rank's
 * coordinates on the axes not in the mask (on meshes of more than 4 axes,
 * the first call for a multi-axis mask is collective over the whole mesh:
 * see tess_mesh_subset_comm). send == recv means in place. Counts are
 * size_t; a count MPI cannot take (above INT_MAX) is TESS_ERR_ARG with the
 * number. Device buffers without a GPU backend: TESS_ERR_UNSUPPORTED.
 * Floating-point sums follow MPI's order: use reduce.h for bitwise
 * reproducible sums.
 *
 * Every call takes a stream (stream.h; NULL = the mesh's default): the
 * host MPI backend ignores it, a GPU backend enqueues there. `axes` may be
 * TESS_AXES_ALL (every axis of the mesh). The non-blocking forms return a
 * tess_comm_request_t that tess_comm_wait*() completes; the buffers belong
 * to the operation until then. This is the one path by which the library
 * moves data between ranks (tests/layering/check_comm.sh enforces it). */
#ifndef TESSERA_COMM_H
#define TESSERA_COMM_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <tessera/dtype.h>
#include <tessera/memory.h>
#include <tessera/mesh.h>
#include <tessera/stream.h>

typedef enum {
  TESS_COMM_AUTO = 0,        /* pick by memory space and build */
  TESS_COMM_HOST_MPI,        /* host buffers, plain MPI */
  TESS_COMM_CUDA_AWARE_MPI,  /* device buffers handed to a CUDA-aware MPI */
  TESS_COMM_NCCL,            /* device buffers, NCCL */
  TESS_COMM_HOST_STAGED,     /* device buffers copied to host, then MPI */
  TESS_COMM_NBACKENDS
} tess_comm_backend_t;

typedef enum {
  TESS_OP_SUM = 0, TESS_OP_MAX, TESS_OP_MIN,
  TESS_OP_BOR, TESS_OP_LOR,      /* integer dtypes only: bitwise / logical or */
  TESS_NOPS
} tess_op_t;

#define TESS_AXES_ALL (~0u)      /* every axis of the mesh */

/* A pending non-blocking operation. A value (arrays of requests need no
 * allocation); start from TESS_COMM_REQUEST_NULL. `backend` is the backend
 * that started it (NULL: nothing pending), `mpi` the MPI backends' handle,
 * `impl` a device backend's own state (a CUDA event), `aux` comm.c's: the
 * plan a one-shot non-blocking call keeps alive until its wait frees it. */
typedef struct {
  const void *backend;
  MPI_Request mpi;
  void *impl;
  void *aux;
} tess_comm_request_t;
#define TESS_COMM_REQUEST_NULL ((tess_comm_request_t){NULL, MPI_REQUEST_NULL, NULL, NULL})

/* Override the automatic choice; TESS_ERR_UNSUPPORTED if not built in. */
tess_err_t tess_mesh_set_comm_backend(tess_mesh_t *mesh, tess_comm_backend_t b);
tess_comm_backend_t tess_mesh_comm_backend(const tess_mesh_t *mesh, tess_memspace_t space);
/* The override every mesh made from now on starts with (tessera_app sets
 * it from the deck's comm.backend after checking it on the world mesh). A
 * new mesh on which that backend cannot run keeps the automatic choice. */
void tess_comm_set_default_backend(tess_comm_backend_t b);
/* The backend named `name` ("auto", "nccl", "cuda-aware-mpi",
 * "host-staged", "host-mpi"); TESS_ERR_ARG listing them if none is. */
tess_err_t tess_comm_backend_parse(const char *name, tess_comm_backend_t *b);
const char *tess_comm_backend_name(tess_comm_backend_t b);

/* Rank and size in the subset communicator of `axes` (the numbering that
 * roots, peers and counts[] use). Collective the first time on meshes of
 * more than 4 axes, like tess_mesh_subset_comm. */
tess_err_t tess_comm_rank_size(tess_mesh_t *mesh, unsigned axes, int *rank, int *size);

/* A one-axis mesh over `comm`, for the conveniences that take an MPI_Comm
 * (sums in reduce.h, the PINN gradient sum): made collectively on the first
 * call for a communicator, cached on it (an MPI attribute) and destroyed
 * when the communicator is freed or at MPI_Finalize. Borrowed. */
tess_err_t tess_comm_mesh_of(MPI_Comm comm, tess_mesh_t **mesh);

tess_err_t tess_comm_allreduce(tess_mesh_t *mesh, unsigned axes, const void *send,
                               void *recv, size_t count, tess_dtype_t t, tess_op_t op,
                               tess_memspace_t space, tess_stream_t stream);
/* root is a rank of the axis-subset communicator. */
tess_err_t tess_comm_bcast(tess_mesh_t *mesh, unsigned axes, void *buf, size_t count,
                           tess_dtype_t t, int root, tess_memspace_t space,
                           tess_stream_t stream);
tess_err_t tess_comm_allgather(tess_mesh_t *mesh, unsigned axes, const void *send,
                               size_t count, void *recv, tess_dtype_t t,
                               tess_memspace_t space, tess_stream_t stream);
/* counts/displs in elements, one per rank of the subset communicator. */
tess_err_t tess_comm_allgatherv(tess_mesh_t *mesh, unsigned axes, const void *send,
                                size_t count, void *recv, const size_t counts[],
                                const size_t displs[], tess_dtype_t t,
                                tess_memspace_t space, tess_stream_t stream);
/* Gather to / scatter from `root`: counts/displs (elements, one per rank)
 * are read on the root only; `count` is this rank's part. */
tess_err_t tess_comm_gatherv(tess_mesh_t *mesh, unsigned axes, const void *send, size_t count,
                             void *recv, const size_t counts[], const size_t displs[],
                             tess_dtype_t t, int root, tess_memspace_t space,
                             tess_stream_t stream);
tess_err_t tess_comm_scatterv(tess_mesh_t *mesh, unsigned axes, const void *send,
                              const size_t counts[], const size_t displs[], void *recv,
                              size_t count, tess_dtype_t t, int root, tess_memspace_t space,
                              tess_stream_t stream);
tess_err_t tess_comm_alltoall(tess_mesh_t *mesh, unsigned axes, const void *send,
                              void *recv, size_t count, tess_dtype_t t,
                              tess_memspace_t space, tess_stream_t stream);
tess_err_t tess_comm_alltoallv(tess_mesh_t *mesh, unsigned axes,
                               const void *send, const size_t scounts[], const size_t sdispls[],
                               void *recv, const size_t rcounts[], const size_t rdispls[],
                               tess_dtype_t t, tess_memspace_t space, tess_stream_t stream);
/* Non-blocking alltoallv (not in place): the count arrays may be freed on
 * return; the buffers belong to the operation until tess_comm_wait(). */
tess_err_t tess_comm_ialltoallv(tess_mesh_t *mesh, unsigned axes,
                                const void *send, const size_t scounts[], const size_t sdispls[],
                                void *recv, const size_t rcounts[], const size_t rdispls[],
                                tess_dtype_t t, tess_memspace_t space, tess_stream_t stream,
                                tess_comm_request_t *req);
/* MPI_Alltoallw: one MPI datatype per peer (e.g. subarrays, so strided
 * blocks move without packing), counts in units of that type, displacements
 * in BYTES, as in MPI. Not in place. Host memory only for now: the device
 * backends move contiguous bytes (NCCL has no derived datatypes), so a device
 * buffer is TESS_ERR_UNSUPPORTED until a backend can take it. */
tess_err_t tess_comm_alltoallw(tess_mesh_t *mesh, unsigned axes,
                               const void *send, const size_t scounts[], const size_t sdispls[],
                               const MPI_Datatype stypes[], void *recv, const size_t rcounts[],
                               const size_t rdispls[], const MPI_Datatype rtypes[],
                               tess_memspace_t space, tess_stream_t stream);
/* Each rank gets `count` elements: block r of the reduced send buffer. */
tess_err_t tess_comm_reduce_scatter(tess_mesh_t *mesh, unsigned axes, const void *send,
                                    void *recv, size_t count, tess_dtype_t t,
                                    tess_op_t op, tess_memspace_t space, tess_stream_t stream);

/* Point-to-point within the subset communicator of `axes` (peer is a rank
 * there), non-blocking; tags 0..32767. For exchanges that pipeline their
 * segments (reshard.c); NCCL maps them to ncclSend/ncclRecv. */
tess_err_t tess_comm_isend(tess_mesh_t *mesh, unsigned axes, const void *buf, size_t count,
                           tess_dtype_t t, int peer, int tag, tess_memspace_t space,
                           tess_stream_t stream, tess_comm_request_t *req);
tess_err_t tess_comm_irecv(tess_mesh_t *mesh, unsigned axes, void *buf, size_t count,
                           tess_dtype_t t, int peer, int tag, tess_memspace_t space,
                           tess_stream_t stream, tess_comm_request_t *req);

/* Complete requests. A completed (or never started) request is
 * TESS_COMM_REQUEST_NULL again; waiting on one returns at once. waitany
 * sets *index to the request that completed, -1 if none was pending. */
tess_err_t tess_comm_wait(tess_comm_request_t *req);
tess_err_t tess_comm_waitany(int n, tess_comm_request_t req[], int *index);
tess_err_t tess_comm_waitall(int n, tess_comm_request_t req[]);

/* A planned all-to-all: counts, displacements (and datatypes) are checked
 * and converted once, so that each start costs no allocation (what the FFT
 * and reshard execute per transform). Collective only in start. */
typedef struct tess_comm_a2a tess_comm_a2a_t;   /* opaque */
tess_err_t tess_comm_alltoallv_plan(tess_mesh_t *mesh, unsigned axes, const size_t scounts[],
                                    const size_t sdispls[], const size_t rcounts[],
                                    const size_t rdispls[], tess_dtype_t t,
                                    tess_memspace_t space, tess_comm_a2a_t **plan);
/* Datatypes are borrowed: they must outlive the plan. */
tess_err_t tess_comm_alltoallw_plan(tess_mesh_t *mesh, unsigned axes, const size_t scounts[],
                                    const size_t sdispls[], const MPI_Datatype stypes[],
                                    const size_t rcounts[], const size_t rdispls[],
                                    const MPI_Datatype rtypes[], tess_memspace_t space,
                                    tess_comm_a2a_t **plan);
/* req NULL: blocking; else non-blocking, completed by tess_comm_wait(req). */
tess_err_t tess_comm_a2a_start(const tess_comm_a2a_t *plan, const void *send, void *recv,
                               tess_stream_t stream, tess_comm_request_t *req);
void tess_comm_a2a_destroy(tess_comm_a2a_t **plan);   /* safe on NULL */
TESS_API_END
#endif
