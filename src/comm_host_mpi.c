/* src/comm_host_mpi.c: the host MPI collective backend.
 * Plain MPI on host buffers. send == recv means in place (MPI_IN_PLACE).
 * Sums of floating-point data follow MPI's reduction order, which is not
 * rank-count invariant: deterministic sums live in reduce.h, not here. */
#include "comm_backend.h"

static MPI_Op mpi_op(tess_op_t op)
{
  switch (op) {
  case TESS_OP_MAX: return MPI_MAX;
  case TESS_OP_MIN: return MPI_MIN;
  default: return MPI_SUM;
  }
}

static int host_only(tess_memspace_t space) { return space == TESS_MEM_HOST; }

static tess_err_t h_allreduce(const tess_comm_ctx_t *c, const void *send, void *recv, int count,
                              tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  TESS_MPI_CHECK(MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, count,
                               tess_dtype_mpi(t), mpi_op(op), c->comm));
cleanup:
  return err;
}

static tess_err_t h_bcast(const tess_comm_ctx_t *c, void *buf, int count, tess_dtype_t t,
                          int root)
{
  tess_err_t err = TESS_OK;
  TESS_MPI_CHECK(MPI_Bcast(buf, count, tess_dtype_mpi(t), root, c->comm));
cleanup:
  return err;
}

static tess_err_t h_allgather(const tess_comm_ctx_t *c, const void *send, int count, void *recv,
                              tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  TESS_MPI_CHECK(MPI_Allgather(send == recv ? MPI_IN_PLACE : send, count, mt, recv, count, mt,
                               c->comm));
cleanup:
  return err;
}

static tess_err_t h_allgatherv(const tess_comm_ctx_t *c, const void *send, int count, void *recv,
                               const int counts[], const int displs[], tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  TESS_MPI_CHECK(MPI_Allgatherv(send == recv ? MPI_IN_PLACE : send, count, mt, recv, counts,
                                displs, mt, c->comm));
cleanup:
  return err;
}

static tess_err_t h_alltoall(const tess_comm_ctx_t *c, const void *send, void *recv, int count,
                             tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  TESS_MPI_CHECK(MPI_Alltoall(send == recv ? MPI_IN_PLACE : send, count, mt, recv, count, mt,
                              c->comm));
cleanup:
  return err;
}

static tess_err_t h_alltoallv(const tess_comm_ctx_t *c, const void *send, const int scounts[],
                              const int sdispls[], void *recv, const int rcounts[],
                              const int rdispls[], tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  TESS_MPI_CHECK(MPI_Alltoallv(send == recv ? MPI_IN_PLACE : send, scounts, sdispls, mt, recv,
                               rcounts, rdispls, mt, c->comm));
cleanup:
  return err;
}

static tess_err_t h_alltoallw(const tess_comm_ctx_t *c, const void *send, const int scounts[],
                              const int sdispls[], const MPI_Datatype stypes[], void *recv,
                              const int rcounts[], const int rdispls[],
                              const MPI_Datatype rtypes[])
{
  tess_err_t err = TESS_OK;
  TESS_MPI_CHECK(MPI_Alltoallw(send, scounts, sdispls, stypes, recv, rcounts, rdispls, rtypes,
                               c->comm));
cleanup:
  return err;
}

static tess_err_t h_reduce_scatter(const tess_comm_ctx_t *c, const void *send, void *recv,
                                   int count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  TESS_MPI_CHECK(MPI_Reduce_scatter_block(send == recv ? MPI_IN_PLACE : send, recv, count,
                                          tess_dtype_mpi(t), mpi_op(op), c->comm));
cleanup:
  return err;
}

const tess_comm_backend_ops_t tess_comm_backend_host_mpi = {
  .id = TESS_COMM_HOST_MPI,
  .name = "host-mpi",
  .handles = host_only,
  .allreduce = h_allreduce,
  .bcast = h_bcast,
  .allgather = h_allgather,
  .allgatherv = h_allgatherv,
  .alltoall = h_alltoall,
  .alltoallv = h_alltoallv,
  .alltoallw = h_alltoallw,
  .reduce_scatter = h_reduce_scatter,
};
