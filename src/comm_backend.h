/* src/comm_backend.h: the interface a collective backend implements.
 * comm.c validates arguments, converts counts and picks a backend from the
 * table in comm.c by memory space; a backend only moves bytes. Counts here
 * are already checked to fit in int. The GPU issue adds NCCL, CUDA-aware MPI
 * and host-staged backends as further instances of this struct (each gets
 * the mesh and axis mask, so NCCL can cache one ncclComm per subset). */
#ifndef TESSERA_COMM_BACKEND_H
#define TESSERA_COMM_BACKEND_H
#include "mesh_internal.h"

typedef struct {
  tess_mesh_t *mesh;
  unsigned axes;      /* axis mask */
  MPI_Comm comm;      /* the subset communicator for `axes` */
  int rank, size;     /* in comm */
} tess_comm_ctx_t;

typedef struct {
  tess_comm_backend_t id;
  const char *name;
  /* 1 if this backend can take buffers in `space` in this run. */
  int (*handles)(tess_memspace_t space);
  tess_err_t (*allreduce)(const tess_comm_ctx_t *c, const void *send, void *recv, int count,
                          tess_dtype_t t, tess_op_t op);
  tess_err_t (*bcast)(const tess_comm_ctx_t *c, void *buf, int count, tess_dtype_t t, int root);
  tess_err_t (*allgather)(const tess_comm_ctx_t *c, const void *send, int count, void *recv,
                          tess_dtype_t t);
  tess_err_t (*allgatherv)(const tess_comm_ctx_t *c, const void *send, int count, void *recv,
                           const int counts[], const int displs[], tess_dtype_t t);
  tess_err_t (*alltoall)(const tess_comm_ctx_t *c, const void *send, void *recv, int count,
                         tess_dtype_t t);
  tess_err_t (*alltoallv)(const tess_comm_ctx_t *c, const void *send, const int scounts[],
                          const int sdispls[], void *recv, const int rcounts[],
                          const int rdispls[], tess_dtype_t t);
  /* NULL: this backend cannot take derived datatypes */
  tess_err_t (*alltoallw)(const tess_comm_ctx_t *c, const void *send, const int scounts[],
                          const int sdispls[], const MPI_Datatype stypes[], void *recv,
                          const int rcounts[], const int rdispls[], const MPI_Datatype rtypes[]);
  tess_err_t (*reduce_scatter)(const tess_comm_ctx_t *c, const void *send, void *recv,
                               int count, tess_dtype_t t, tess_op_t op);
} tess_comm_backend_ops_t;

extern const tess_comm_backend_ops_t tess_comm_backend_host_mpi;
#endif
