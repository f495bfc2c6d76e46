/* src/cuda/comm_nccl.cu: the NCCL comm backend, for device buffers when
 * every rank has its own GPU (the mesh's probe; NCCL refuses two ranks on
 * one GPU). One ncclComm per axis subset, made on the first collective over
 * it from the subset's MPI communicator (rank 0 makes the unique id, MPI
 * broadcasts it) and destroyed with the mesh. Operations are enqueued on
 * the caller's stream (NULL: the default stream); blocking calls
 * synchronize it before returning. Data movement goes as bytes; reductions
 * in NCCL's types (complex as pairs of reals, sum only). What NCCL lacks is
 * done by host staging: bitwise/logical or (allreduce), and point-to-point
 * (ncclSend/ncclRecv outside one group would deadlock a ring in which every
 * rank sends first, so isend/irecv are the staged ones, completed by their
 * waits). Alltoallw's MPI datatypes: TESS_ERR_UNSUPPORTED. */
#define OMPI_SKIP_MPICXX 1   /* the C bindings only, in C++ too */
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>

extern "C" {   /* the private headers are C */
#include "comm_backend.h"
#include "device.h"
}

#define NC_TRY(call, what, ...) do { ncclResult_t nc_e_ = (call);                       \
    if (nc_e_ != ncclSuccess) {                                                         \
      err = tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__,              \
                            what ": %s", ##__VA_ARGS__, ncclGetErrorString(nc_e_));     \
      goto cleanup; } } while (0)
#define CU_TRY(call, what) do { cudaError_t cu_e_ = (call);                             \
    if (cu_e_ != cudaSuccess) {                                                         \
      cudaGetLastError();                                                               \
      err = tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, what ": %s", \
                            cudaGetErrorString(cu_e_));                                 \
      goto cleanup; } } while (0)

static cudaStream_t stream_of(const tess_comm_ctx_t *c) { return (cudaStream_t)c->stream; }

/* ---- communicators, one per axis subset, cached on the mesh ------------------ */

static void nc_release(tess_mesh_t *m)
{
  ncclComm_t *cs = (ncclComm_t *)m->nccl;
  if (!cs) return;
  for (unsigned i = 0; i < TESS_MESH_NSUBSETS; i++)
    if (cs[i]) ncclCommDestroy(cs[i]);
  free(cs);
  m->nccl = NULL;
}

/* Collective over c->comm the first time for c->axes (it is called only
 * from collectives, so every rank of the subset is there). */
static tess_err_t nc_comm(const tess_comm_ctx_t *c, ncclComm_t *out)
{
  tess_err_t err = TESS_OK;
  ncclComm_t *cs = (ncclComm_t *)c->mesh->nccl;
  ncclUniqueId id;
  if (!cs) {
    cs = (ncclComm_t *)calloc(TESS_MESH_NSUBSETS, sizeof *cs);
    TESS_REQUIRE(cs != NULL, TESS_ERR_MEM, "NCCL communicator cache");
    c->mesh->nccl = cs;
  }
  if (!cs[c->axes]) {
    memset(&id, 0, sizeof id);
    if (c->rank == 0) NC_TRY(ncclGetUniqueId(&id), "ncclGetUniqueId");
    TESS_MPI_CHECK(MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, c->comm));
    NC_TRY(ncclCommInitRank(&cs[c->axes], c->size, id, c->rank),
           "ncclCommInitRank(%d ranks, axes 0x%x)", c->size, c->axes);
  }
  *out = cs[c->axes];
cleanup:
  return err;
}

static int nc_handles(const tess_mesh_t *mesh, tess_memspace_t space)
{
  return tess_memspace_kind(space) == TESS_MEM_DEVICE && mesh->gpu_own
         && tess_device_active_() != NULL;
}

/* NCCL's type for reductions of t (complex: pairs of reals), and how many
 * NCCL elements one element of t is. */
static tess_err_t nc_type(tess_dtype_t t, ncclDataType_t *nt, size_t *mult)
{
  tess_err_t err = TESS_OK;
  *mult = 1;
  switch (t) {
  case TESS_F32: *nt = ncclFloat32; break;
  case TESS_F64: *nt = ncclFloat64; break;
  case TESS_C64: *nt = ncclFloat32; *mult = 2; break;
  case TESS_C128: *nt = ncclFloat64; *mult = 2; break;
  case TESS_I32: *nt = ncclInt32; break;
  case TESS_I64: *nt = ncclInt64; break;
  default:
    TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "NCCL reduction of %s data", tess_dtype_name(t));
  }
cleanup:
  return err;
}

static ncclRedOp_t nc_op(tess_op_t op)
{
  return op == TESS_OP_MAX ? ncclMax : op == TESS_OP_MIN ? ncclMin : ncclSum;
}

static int nc_has_op(tess_op_t op)
{
  return op == TESS_OP_SUM || op == TESS_OP_MAX || op == TESS_OP_MIN;
}

static tess_err_t nc_sync(const tess_comm_ctx_t *c)
{
  tess_err_t err = TESS_OK;
  CU_TRY(cudaStreamSynchronize(stream_of(c)), "cudaStreamSynchronize");
cleanup:
  return err;
}

static tess_err_t nc_allreduce(const tess_comm_ctx_t *c, const void *send, void *recv,
                               size_t count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  ncclDataType_t nt;
  size_t mult = 1;
  if (!nc_has_op(op)) return tess_comm_staged_allreduce_(c, send, recv, count, t, op);
  TESS_CHECK(nc_type(t, &nt, &mult));
  TESS_CHECK(nc_comm(c, &nc));
  NC_TRY(ncclAllReduce(send, recv, count * mult, nt, nc_op(op), nc, stream_of(c)),
         "ncclAllReduce(%zu elements)", count);
  TESS_CHECK(nc_sync(c));
cleanup:
  return err;
}

static tess_err_t nc_bcast(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                           int root)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  TESS_CHECK(nc_comm(c, &nc));
  NC_TRY(ncclBroadcast(buf, buf, count * tess_dtype_size(t), ncclUint8, root, nc, stream_of(c)),
         "ncclBroadcast(%zu elements)", count);
  TESS_CHECK(nc_sync(c));
cleanup:
  return err;
}

/* NCCL's in-place allgather is MPI's: this rank's block already in recv. */
static tess_err_t nc_allgather(const tess_comm_ctx_t *c, const void *send, size_t count,
                               void *recv, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  size_t b = count * tess_dtype_size(t);
  const void *s = send == recv ? (const char *)recv + (size_t)c->rank * b : send;
  TESS_CHECK(nc_comm(c, &nc));
  NC_TRY(ncclAllGather(s, recv, b, ncclUint8, nc, stream_of(c)), "ncclAllGather(%zu bytes)", b);
  TESS_CHECK(nc_sync(c));
cleanup:
  return err;
}

/* MPI's in-place reduce_scatter leaves the result at the start of recv,
 * NCCL's at this rank's block: in place goes through a device temporary. */
static tess_err_t nc_reduce_scatter(const tess_comm_ctx_t *c, const void *send, void *recv,
                                    size_t count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  ncclDataType_t nt;
  size_t mult = 1, b = count * tess_dtype_size(t);
  void *tmp = NULL;
  TESS_REQUIRE(nc_has_op(op), TESS_ERR_UNSUPPORTED,
               "reduce_scatter with bitwise/logical or on the NCCL backend (NCCL has sum, max, "
               "min): choose host-staged (tess_mesh_set_comm_backend or [comm] backend)");
  TESS_CHECK(nc_type(t, &nt, &mult));
  TESS_CHECK(nc_comm(c, &nc));
  if (send == recv) CU_TRY(cudaMalloc(&tmp, b ? b : 1), "cudaMalloc (in-place reduce_scatter)");
  NC_TRY(ncclReduceScatter(send, tmp ? tmp : recv, count * mult, nt, nc_op(op), nc, stream_of(c)),
         "ncclReduceScatter(%zu elements)", count);
  if (tmp) CU_TRY(cudaMemcpyAsync(recv, tmp, b, cudaMemcpyDeviceToDevice, stream_of(c)),
                  "cudaMemcpyAsync");
  TESS_CHECK(nc_sync(c));
cleanup:
  if (tmp) {
    if (err) cudaStreamSynchronize(stream_of(c));
    cudaFree(tmp);
  }
  return err;
}

/* ---- the v-collectives as grouped send/recv -------------------------------------- */

/* One exchange: to peer p, sc[p] bytes at send + sd[p]; from p, rc[p]
 * bytes to recv + rd[p] (NULL arrays: nothing that way). This rank's own
 * block is a device copy. All enqueued as one NCCL group. */
static tess_err_t nc_exchange(const tess_comm_ctx_t *c, ncclComm_t nc, const char *send,
                              const size_t *sc, const size_t *sd, char *recv, const size_t *rc,
                              const size_t *rd)
{
  tess_err_t err = TESS_OK;
  int open = 0;
  cudaStream_t s = stream_of(c);
  NC_TRY(ncclGroupStart(), "ncclGroupStart");
  open = 1;
  for (int p = 0; p < c->size; p++) {
    if (p == c->rank) continue;
    if (sc && sc[p])
      NC_TRY(ncclSend(send + sd[p], sc[p], ncclUint8, p, nc, s), "ncclSend(%zu bytes to %d)",
             sc[p], p);
    if (rc && rc[p])
      NC_TRY(ncclRecv(recv + rd[p], rc[p], ncclUint8, p, nc, s), "ncclRecv(%zu bytes from %d)",
             rc[p], p);
  }
  open = 0;
  NC_TRY(ncclGroupEnd(), "ncclGroupEnd");
  if (sc && rc && rc[c->rank] && recv + rd[c->rank] != send + sd[c->rank])
    CU_TRY(cudaMemcpyAsync(recv + rd[c->rank], send + sd[c->rank], rc[c->rank],
                           cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (own block)");
cleanup:
  if (open) ncclGroupEnd();
  return err;
}

/* Element counts/displacements as bytes: one allocation of 2n (or 4n). */
static tess_err_t nc_bytes(int n, size_t es, const size_t *const in[], int nin, size_t **out)
{
  tess_err_t err = TESS_OK;
  *out = (size_t *)malloc(sizeof(size_t) * (size_t)(n * nin + 1));
  TESS_REQUIRE(*out != NULL, TESS_ERR_MEM, "byte layouts of %d peers", n);
  for (int a = 0; a < nin; a++)
    for (int p = 0; p < n; p++) (*out)[a * n + p] = in[a] ? in[a][p] * es : 0;
cleanup:
  return err;
}

static tess_err_t nc_allgatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                                void *recv, const size_t counts[], const size_t displs[],
                                tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  size_t es = tess_dtype_size(t), *v = NULL, *sc = NULL, *sd;
  const size_t *in[2] = {counts, displs};
  const char *s = send == recv ? (const char *)recv + displs[c->rank] * es : (const char *)send;
  TESS_CHECK(nc_comm(c, &nc));
  TESS_CHECK(nc_bytes(c->size, es, in, 2, &v));
  /* to everyone: my block; the layout's displacements are receive-side */
  sc = (size_t *)malloc(sizeof(size_t) * 2 * (size_t)c->size);
  TESS_REQUIRE(sc != NULL, TESS_ERR_MEM, "allgatherv layout");
  sd = sc + c->size;
  for (int p = 0; p < c->size; p++) {
    sc[p] = count * es;
    sd[p] = 0;
  }
  TESS_CHECK(nc_exchange(c, nc, s, sc, sd, (char *)recv, v, v + c->size));
  TESS_CHECK(nc_sync(c));
cleanup:
  free(sc);
  free(v);
  return err;
}

static tess_err_t nc_gatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                             void *recv, const size_t counts[], const size_t displs[],
                             tess_dtype_t t, int root)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  size_t es = tess_dtype_size(t), *v = NULL;
  cudaStream_t s = stream_of(c);
  int open = 0;
  TESS_CHECK(nc_comm(c, &nc));
  if (c->rank == root) {
    const size_t *in[2] = {counts, displs};
    TESS_CHECK(nc_bytes(c->size, es, in, 2, &v));
    if (v[root])
      CU_TRY(cudaMemcpyAsync((char *)recv + v[c->size + root], send, v[root],
                             cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (own block)");
  }
  NC_TRY(ncclGroupStart(), "ncclGroupStart");
  open = 1;
  if (c->rank != root && count)
    NC_TRY(ncclSend(send, count * es, ncclUint8, root, nc, s), "ncclSend(to root %d)", root);
  for (int p = 0; c->rank == root && p < c->size; p++)
    if (p != root && v[p])
      NC_TRY(ncclRecv((char *)recv + v[c->size + p], v[p], ncclUint8, p, nc, s),
             "ncclRecv(from %d)", p);
  open = 0;
  NC_TRY(ncclGroupEnd(), "ncclGroupEnd");
  TESS_CHECK(nc_sync(c));
cleanup:
  if (open) ncclGroupEnd();
  free(v);
  return err;
}

static tess_err_t nc_scatterv(const tess_comm_ctx_t *c, const void *send, const size_t counts[],
                              const size_t displs[], void *recv, size_t count, tess_dtype_t t,
                              int root)
{
  tess_err_t err = TESS_OK;
  ncclComm_t nc;
  size_t es = tess_dtype_size(t), *v = NULL;
  cudaStream_t s = stream_of(c);
  int open = 0;
  TESS_CHECK(nc_comm(c, &nc));
  if (c->rank == root) {
    const size_t *in[2] = {counts, displs};
    TESS_CHECK(nc_bytes(c->size, es, in, 2, &v));
    if (v[root])
      CU_TRY(cudaMemcpyAsync(recv, (const char *)send + v[c->size + root], v[root],
                             cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (own block)");
  }
  NC_TRY(ncclGroupStart(), "ncclGroupStart");
  open = 1;
  if (c->rank != root && count)
    NC_TRY(ncclRecv(recv, count * es, ncclUint8, root, nc, s), "ncclRecv(from root %d)", root);
  for (int p = 0; c->rank == root && p < c->size; p++)
    if (p != root && v[p])
      NC_TRY(ncclSend((const char *)send + v[c->size + p], v[p], ncclUint8, p, nc, s),
             "ncclSend(to %d)", p);
  open = 0;
  NC_TRY(ncclGroupEnd(), "ncclGroupEnd");
  TESS_CHECK(nc_sync(c));
cleanup:
  if (open) ncclGroupEnd();
  free(v);
  return err;
}

/* ---- all-to-alls ---------------------------------------------------------------------- */

typedef struct {
  int inplace;
  size_t *sc, *sd, *rc, *rd;   /* bytes; one allocation */
  size_t rbytes;               /* extent of the receive layout (in-place temporary) */
} nc_a2a_t;

static void nc_a2a_free(void *bp)
{
  nc_a2a_t *p = (nc_a2a_t *)bp;
  if (!p) return;
  free(p->sc);
  free(p);
}

static tess_err_t nc_a2a_plan(const tess_comm_ctx_t *c, const size_t sc[], const size_t sd[],
                              const MPI_Datatype st[], const size_t rc[], const size_t rd[],
                              const MPI_Datatype rt[], tess_dtype_t t, void **bp)
{
  tess_err_t err = TESS_OK;
  nc_a2a_t *p = NULL;
  size_t es = tess_dtype_size(t);
  const size_t *in[4] = {sc ? sc : rc, sc ? sd : rd, rc, rd};
  (void)rt;
  TESS_REQUIRE(st == NULL, TESS_ERR_UNSUPPORTED,
               "alltoallw with MPI datatypes on device memory (NCCL has no derived datatypes): "
               "pack, then alltoallv");
  p = (nc_a2a_t *)calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "alltoallv plan");
  p->inplace = sc == NULL;
  TESS_CHECK(nc_bytes(c->size, es, in, 4, &p->sc));
  p->sd = p->sc + c->size;
  p->rc = p->sd + c->size;
  p->rd = p->rc + c->size;
  for (int q = 0; q < c->size; q++)
    if (p->rd[q] + p->rc[q] > p->rbytes) p->rbytes = p->rd[q] + p->rc[q];
  *bp = p;
  p = NULL;
cleanup:
  nc_a2a_free(p);
  return err;
}

/* In place, the data to send is first copied aside (NCCL has no in-place
 * all-to-all). A non-blocking start completes at once (the stream is
 * synchronized here), which comm.h allows: the request's wait returns. */
static tess_err_t nc_a2a_start(void *bp, const tess_comm_ctx_t *c, const void *send, void *recv,
                               tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  nc_a2a_t *p = (nc_a2a_t *)bp;
  ncclComm_t nc;
  void *tmp = NULL;
  const char *s = (const char *)send;
  (void)req;
  TESS_CHECK(nc_comm(c, &nc));
  if (p->inplace || send == recv) {
    CU_TRY(cudaMalloc(&tmp, p->rbytes ? p->rbytes : 1), "cudaMalloc (in-place alltoallv)");
    CU_TRY(cudaMemcpyAsync(tmp, recv, p->rbytes, cudaMemcpyDeviceToDevice, stream_of(c)),
           "cudaMemcpyAsync");
    s = (const char *)tmp;
  }
  TESS_CHECK(nc_exchange(c, nc, s, p->inplace || send == recv ? p->rc : p->sc,
                         p->inplace || send == recv ? p->rd : p->sd, (char *)recv, p->rc, p->rd));
  TESS_CHECK(nc_sync(c));
cleanup:
  if (tmp) {
    if (err) cudaStreamSynchronize(stream_of(c));
    cudaFree(tmp);
  }
  return err;
}

static tess_err_t nc_alltoall(const tess_comm_ctx_t *c, const void *send, void *recv,
                              size_t count, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  size_t *v = NULL;
  void *bp = NULL;
  TESS_REQUIRE((v = (size_t *)malloc(sizeof(size_t) * 2 * (size_t)c->size)) != NULL,
               TESS_ERR_MEM, "alltoall layout");
  for (int q = 0; q < c->size; q++) {
    v[q] = count;
    v[c->size + q] = (size_t)q * count;
  }
  TESS_CHECK(nc_a2a_plan(c, send == recv ? NULL : v, v + c->size, NULL, v, v + c->size, NULL, t,
                         &bp));
  TESS_CHECK(nc_a2a_start(bp, c, send, recv, NULL));
cleanup:
  nc_a2a_free(bp);
  free(v);
  return err;
}

extern "C" {
const tess_comm_backend_ops_t tess_comm_backend_nccl = {
  TESS_COMM_NCCL,
  "nccl",
  nc_handles,
  nc_allreduce,
  nc_bcast,
  nc_allgather,
  nc_allgatherv,
  nc_gatherv,
  nc_scatterv,
  nc_alltoall,
  nc_a2a_plan,
  nc_a2a_start,
  nc_a2a_free,
  nc_reduce_scatter,
  tess_comm_staged_isend_,
  tess_comm_staged_irecv_,
  tess_comm_staged_wait_,
  tess_comm_staged_waitany_,
  tess_comm_staged_waitall_,
  nc_release,
};
}
