/* src/comm_cuda_mpi.c: the CUDA-aware MPI backend: host MPI's calls
 * (comm_host_mpi.c, reached through its table, not copied) handed device
 * pointers. Only where the MPI library says at run time that it takes them
 * (Open MPI's MPIX_Query_cuda_support; an MPI without the query is taken to
 * be not CUDA-aware: never assumed), and the mesh's probe makes that a
 * mesh-wide answer. MPI does not know our streams, so each call first
 * synchronizes the caller's stream: the buffers are then complete, and the
 * MPI call's return is Tessera's blocking completion. */
#include "comm_backend.h"
#include "device.h"

#if defined(OPEN_MPI) && OPEN_MPI
#include <mpi-ext.h>   /* MPIX_CUDA_AWARE_SUPPORT, MPIX_Query_cuda_support */
#endif

int tess_comm_cuda_aware_local_(void)
{
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  return MPIX_Query_cuda_support() == 1;   /* built with CUDA; asked of the runtime */
#else
  return 0;
#endif
}

#if TESSERA_HAVE_CUDA
static const tess_comm_backend_ops_t *const H = &tess_comm_backend_host_mpi;

static int ca_handles(const tess_mesh_t *mesh, tess_memspace_t space)
{
  return tess_memspace_kind(space) == TESS_MEM_DEVICE && mesh->cuda_aware
         && tess_device_active_() != NULL;
}

static tess_err_t ca_sync(const tess_comm_ctx_t *c)
{
  return tess_device_active_()->stream_sync(c->stream);
}

/* Each op: synchronize the stream, then the host backend's call. */
#define CA_SYNC()                                                                       \
  do {                                                                                  \
    tess_err_t e_ = ca_sync(c);                                                         \
    if (e_) return tess_error_push(e_, __FILE__, __LINE__, __func__, NULL);              \
  } while (0)

static tess_err_t ca_allreduce(const tess_comm_ctx_t *c, const void *send, void *recv,
                               size_t count, tess_dtype_t t, tess_op_t op)
{
  CA_SYNC();
  return H->allreduce(c, send, recv, count, t, op);
}

static tess_err_t ca_bcast(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                           int root)
{
  CA_SYNC();
  return H->bcast(c, buf, count, t, root);
}

static tess_err_t ca_allgather(const tess_comm_ctx_t *c, const void *send, size_t count,
                               void *recv, tess_dtype_t t)
{
  CA_SYNC();
  return H->allgather(c, send, count, recv, t);
}

static tess_err_t ca_allgatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                                void *recv, const size_t counts[], const size_t displs[],
                                tess_dtype_t t)
{
  CA_SYNC();
  return H->allgatherv(c, send, count, recv, counts, displs, t);
}

static tess_err_t ca_gatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                             void *recv, const size_t counts[], const size_t displs[],
                             tess_dtype_t t, int root)
{
  CA_SYNC();
  return H->gatherv(c, send, count, recv, counts, displs, t, root);
}

static tess_err_t ca_scatterv(const tess_comm_ctx_t *c, const void *send, const size_t counts[],
                              const size_t displs[], void *recv, size_t count, tess_dtype_t t,
                              int root)
{
  CA_SYNC();
  return H->scatterv(c, send, counts, displs, recv, count, t, root);
}

static tess_err_t ca_alltoall(const tess_comm_ctx_t *c, const void *send, void *recv,
                              size_t count, tess_dtype_t t)
{
  CA_SYNC();
  return H->alltoall(c, send, recv, count, t);
}

/* Datatypes (alltoallw) on device memory: comm.h promises a refusal. */
static tess_err_t ca_a2a_plan(const tess_comm_ctx_t *c, const size_t sc[], const size_t sd[],
                              const MPI_Datatype st[], const size_t rc[], const size_t rd[],
                              const MPI_Datatype rt[], tess_dtype_t t, void **bp)
{
  if (st)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                           "alltoallw with MPI datatypes on device memory: pack, then alltoallv");
  return H->a2a_plan(c, sc, sd, st, rc, rd, rt, t, bp);
}

static tess_err_t ca_a2a_start(void *bp, const tess_comm_ctx_t *c, const void *send, void *recv,
                               tess_comm_request_t *req)
{
  CA_SYNC();
  return H->a2a_start(bp, c, send, recv, req);
}

static tess_err_t ca_reduce_scatter(const tess_comm_ctx_t *c, const void *send, void *recv,
                                    size_t count, tess_dtype_t t, tess_op_t op)
{
  CA_SYNC();
  return H->reduce_scatter(c, send, recv, count, t, op);
}

static tess_err_t ca_isend(const tess_comm_ctx_t *c, const void *buf, size_t count,
                           tess_dtype_t t, int peer, int tag, tess_comm_request_t *req)
{
  CA_SYNC();
  return H->isend(c, buf, count, t, peer, tag, req);
}

static tess_err_t ca_irecv(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                           int peer, int tag, tess_comm_request_t *req)
{
  CA_SYNC();
  return H->irecv(c, buf, count, t, peer, tag, req);
}

static tess_err_t ca_wait(tess_comm_request_t *req) { return H->wait(req); }
static tess_err_t ca_waitany(int n, tess_comm_request_t req[], int *index)
{
  return H->waitany(n, req, index);
}
static tess_err_t ca_waitall(int n, tess_comm_request_t req[]) { return H->waitall(n, req); }
static void ca_a2a_free(void *bp) { H->a2a_free(bp); }

const tess_comm_backend_ops_t tess_comm_backend_cuda_mpi = {
  .id = TESS_COMM_CUDA_AWARE_MPI,
  .name = "cuda-aware-mpi",
  .handles = ca_handles,
  .allreduce = ca_allreduce,
  .bcast = ca_bcast,
  .allgather = ca_allgather,
  .allgatherv = ca_allgatherv,
  .gatherv = ca_gatherv,
  .scatterv = ca_scatterv,
  .alltoall = ca_alltoall,
  .a2a_plan = ca_a2a_plan,
  .a2a_start = ca_a2a_start,
  .a2a_free = ca_a2a_free,
  .reduce_scatter = ca_reduce_scatter,
  .isend = ca_isend,
  .irecv = ca_irecv,
  .wait = ca_wait,
  .waitany = ca_waitany,
  .waitall = ca_waitall,
  .release = NULL,
};
#endif
