/* src/comm_backend.h: the interface a collective backend implements.
 * comm.c validates arguments, resolves the subset communicator and picks a
 * backend from the table in comm.c by memory space; a backend only moves
 * bytes. Counts are size_t here: a backend with an int limit (MPI) checks
 * it itself and says so (TESS_ERR_ARG with the number), NCCL takes size_t.
 * The context carries the stream (NULL = default; host MPI ignores it).
 * The device backends (NCCL, CUDA-aware MPI, host-staged) are further
 * instances of this struct; each gets the mesh and axis mask, so NCCL can
 * cache one ncclComm per subset and staging its pinned buffers per mesh. */
#ifndef TESSERA_COMM_BACKEND_H
#define TESSERA_COMM_BACKEND_H
#include "mesh_internal.h"

#include <tessera/config.h>

typedef struct {
  tess_mesh_t *mesh;
  unsigned axes;      /* axis mask */
  MPI_Comm comm;      /* the subset communicator for `axes` */
  int rank, size;     /* in comm */
  tess_stream_t stream;
} tess_comm_ctx_t;

typedef struct tess_comm_backend_ops {
  tess_comm_backend_t id;
  const char *name;
  /* 1 if this backend can take buffers in `space` on this mesh in this
   * run. Reads only what all ranks agree on (the mesh's probe), so every
   * rank answers the same. */
  int (*handles)(const tess_mesh_t *mesh, tess_memspace_t space);
  tess_err_t (*allreduce)(const tess_comm_ctx_t *c, const void *send, void *recv, size_t count,
                          tess_dtype_t t, tess_op_t op);
  tess_err_t (*bcast)(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                      int root);
  tess_err_t (*allgather)(const tess_comm_ctx_t *c, const void *send, size_t count, void *recv,
                          tess_dtype_t t);
  tess_err_t (*allgatherv)(const tess_comm_ctx_t *c, const void *send, size_t count, void *recv,
                           const size_t counts[], const size_t displs[], tess_dtype_t t);
  /* counts/displs only read on the root */
  tess_err_t (*gatherv)(const tess_comm_ctx_t *c, const void *send, size_t count, void *recv,
                        const size_t counts[], const size_t displs[], tess_dtype_t t, int root);
  tess_err_t (*scatterv)(const tess_comm_ctx_t *c, const void *send, const size_t counts[],
                         const size_t displs[], void *recv, size_t count, tess_dtype_t t,
                         int root);
  tess_err_t (*alltoall)(const tess_comm_ctx_t *c, const void *send, void *recv, size_t count,
                         tess_dtype_t t);
  /* Planned all-to-all. stypes/rtypes NULL: alltoallv of dtype t (scounts
   * NULL: in place); else alltoallw with byte displacements (a backend that
   * takes no MPI datatypes returns TESS_ERR_UNSUPPORTED). The plan copies
   * what it needs from the arrays; datatypes are borrowed. */
  tess_err_t (*a2a_plan)(const tess_comm_ctx_t *c, const size_t sc[], const size_t sd[],
                         const MPI_Datatype st[], const size_t rc[], const size_t rd[],
                         const MPI_Datatype rt[], tess_dtype_t t, void **bp);
  /* req NULL: blocking. send == recv: in place (alltoallv only). */
  tess_err_t (*a2a_start)(void *bp, const tess_comm_ctx_t *c, const void *send, void *recv,
                          tess_comm_request_t *req);
  void (*a2a_free)(void *bp);
  tess_err_t (*reduce_scatter)(const tess_comm_ctx_t *c, const void *send, void *recv,
                               size_t count, tess_dtype_t t, tess_op_t op);
  tess_err_t (*isend)(const tess_comm_ctx_t *c, const void *buf, size_t count, tess_dtype_t t,
                      int peer, int tag, tess_comm_request_t *req);
  tess_err_t (*irecv)(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                      int peer, int tag, tess_comm_request_t *req);
  /* Requests handed to these were all started by this backend. */
  tess_err_t (*wait)(tess_comm_request_t *req);
  tess_err_t (*waitany)(int n, tess_comm_request_t req[], int *index);
  tess_err_t (*waitall)(int n, tess_comm_request_t req[]);
  /* Frees what the backend cached on the mesh; NULL if nothing. */
  void (*release)(tess_mesh_t *mesh);
} tess_comm_backend_ops_t;

extern const tess_comm_backend_ops_t tess_comm_backend_host_mpi;
#if TESSERA_HAVE_CUDA
extern const tess_comm_backend_ops_t tess_comm_backend_host_staged;
extern const tess_comm_backend_ops_t tess_comm_backend_cuda_mpi;
#endif
#if TESSERA_HAVE_NCCL
extern const tess_comm_backend_ops_t tess_comm_backend_nccl;
#endif

/* 1 when this process's MPI says it takes device pointers
 * (MPIX_Query_cuda_support; 0 where the MPI cannot tell). Local. */
int tess_comm_cuda_aware_local_(void);

/* Host staging's point-to-point, which the NCCL backend uses too (NCCL
 * send/recv outside a group can deadlock on a ring). The request's impl is
 * staging state; these complete it (H2D of a receive at its wait). */
tess_err_t tess_comm_staged_isend_(const tess_comm_ctx_t *c, const void *buf, size_t count,
                                   tess_dtype_t t, int peer, int tag, tess_comm_request_t *req);
tess_err_t tess_comm_staged_irecv_(const tess_comm_ctx_t *c, void *buf, size_t count,
                                   tess_dtype_t t, int peer, int tag, tess_comm_request_t *req);
tess_err_t tess_comm_staged_wait_(tess_comm_request_t *req);
tess_err_t tess_comm_staged_waitany_(int n, tess_comm_request_t req[], int *index);
tess_err_t tess_comm_staged_waitall_(int n, tess_comm_request_t req[]);
/* The staged allreduce, NCCL's fallback for ops NCCL lacks (BOR, LOR). */
tess_err_t tess_comm_staged_allreduce_(const tess_comm_ctx_t *c, const void *send, void *recv,
                                       size_t count, tess_dtype_t t, tess_op_t op);
void tess_comm_staged_release_(tess_mesh_t *mesh);
#endif
