/* src/comm_host_mpi.c: the host MPI collective backend.
 * Plain MPI on host buffers; the stream is ignored (MPI runs in order on
 * the calling thread). send == recv means in place (MPI_IN_PLACE). MPI
 * counts are int: this backend checks every size_t it is given against
 * INT_MAX and says which one is too large. Sums of floating-point data follow
 * MPI's reduction order, which is not rank-count invariant: deterministic
 * sums live in reduce.h, not here. */
#include "comm_backend.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MPI_Op mpi_op(tess_op_t op)
{
  switch (op) {
  case TESS_OP_MAX: return MPI_MAX;
  case TESS_OP_MIN: return MPI_MIN;
  case TESS_OP_BOR: return MPI_BOR;
  case TESS_OP_LOR: return MPI_LOR;
  default: return MPI_SUM;
  }
}

static int host_only(const tess_mesh_t *mesh, tess_memspace_t space)
{
  (void)mesh;
  return space == TESS_MEM_HOST;
}

static tess_err_t to_int(size_t n, const char *what, int *out)
{
  if (n > (size_t)INT_MAX)
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                           "%s %zu exceeds the MPI limit of %d elements per call; "
                           "split the call or use a larger dtype", what, n, INT_MAX);
  *out = (int)n;
  return TESS_OK;
}

/* n size_t values as ints into `out` (n ints). */
static tess_err_t to_ints(const size_t *in, int n, const char *what, int *out)
{
  tess_err_t err = TESS_OK;
  for (int i = 0; i < n; i++) TESS_CHECK(to_int(in[i], what, &out[i]));
cleanup:
  return err;
}

/* counts and displacements of one v-collective as ints: one allocation. */
static tess_err_t int_pair(const size_t *a, const size_t *b, int n, const char *wa,
                           const char *wb, int **out)
{
  tess_err_t err = TESS_OK;
  *out = malloc(sizeof(int) * (size_t)(2 * n + 1));
  TESS_REQUIRE(*out != NULL, TESS_ERR_MEM, "%s", wa);
  TESS_CHECK(to_ints(a, n, wa, *out));
  TESS_CHECK(to_ints(b, n, wb, *out + n));
cleanup:
  if (err) {
    free(*out);
    *out = NULL;
  }
  return err;
}

static tess_err_t h_allreduce(const tess_comm_ctx_t *c, const void *send, void *recv,
                              size_t count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  int n = 0;
  TESS_CHECK(to_int(count, "allreduce count", &n));
  TESS_MPI_CHECK(MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, n, tess_dtype_mpi(t),
                               mpi_op(op), c->comm));
cleanup:
  return err;
}

static tess_err_t h_bcast(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                          int root)
{
  tess_err_t err = TESS_OK;
  int n = 0;
  TESS_CHECK(to_int(count, "bcast count", &n));
  TESS_MPI_CHECK(MPI_Bcast(buf, n, tess_dtype_mpi(t), root, c->comm));
cleanup:
  return err;
}

static tess_err_t h_allgather(const tess_comm_ctx_t *c, const void *send, size_t count,
                              void *recv, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  int n = 0;
  TESS_CHECK(to_int(count * (size_t)c->size, "allgather total", &n));
  TESS_MPI_CHECK(MPI_Allgather(send == recv ? MPI_IN_PLACE : send, (int)count, mt, recv,
                               (int)count, mt, c->comm));
cleanup:
  return err;
}

static tess_err_t h_allgatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                               void *recv, const size_t counts[], const size_t displs[],
                               tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  int n = 0, *v = NULL;
  TESS_CHECK(to_int(count, "allgatherv count", &n));
  TESS_CHECK(int_pair(counts, displs, c->size, "allgatherv counts", "allgatherv displacement",
                      &v));
  TESS_MPI_CHECK(MPI_Allgatherv(send == recv ? MPI_IN_PLACE : send, n, mt, recv, v,
                                v + c->size, mt, c->comm));
cleanup:
  free(v);
  return err;
}

static tess_err_t h_gatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                            void *recv, const size_t counts[], const size_t displs[],
                            tess_dtype_t t, int root)
{
  tess_err_t err = TESS_OK, lerr = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  int n = 0, *v = NULL;
  TESS_CHECK(to_int(count, "gatherv count", &n));
  /* only the root reads the layout: a bad one must fail on every rank */
  if (c->rank == root)
    lerr = int_pair(counts, displs, c->size, "gatherv counts", "gatherv displacement", &v);
  int bad = lerr != TESS_OK;
  TESS_MPI_CHECK(MPI_Bcast(&bad, 1, MPI_INT, root, c->comm));
  if (lerr) {
    err = lerr;
    goto cleanup;
  }
  TESS_REQUIRE(!bad, TESS_ERR_ARG, "gatherv: the root rank %d rejected the layout", root);
  TESS_MPI_CHECK(MPI_Gatherv(send, n, mt, recv, v, v ? v + c->size : NULL, mt, root, c->comm));
cleanup:
  free(v);
  return err;
}

static tess_err_t h_scatterv(const tess_comm_ctx_t *c, const void *send, const size_t counts[],
                             const size_t displs[], void *recv, size_t count, tess_dtype_t t,
                             int root)
{
  tess_err_t err = TESS_OK, lerr = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  int n = 0, *v = NULL;
  TESS_CHECK(to_int(count, "scatterv count", &n));
  if (c->rank == root)
    lerr = int_pair(counts, displs, c->size, "scatterv counts", "scatterv displacement", &v);
  int bad = lerr != TESS_OK;
  TESS_MPI_CHECK(MPI_Bcast(&bad, 1, MPI_INT, root, c->comm));
  if (lerr) {
    err = lerr;
    goto cleanup;
  }
  TESS_REQUIRE(!bad, TESS_ERR_ARG, "scatterv: the root rank %d rejected the layout", root);
  TESS_MPI_CHECK(MPI_Scatterv(send, v, v ? v + c->size : NULL, mt, recv, n, mt, root, c->comm));
cleanup:
  free(v);
  return err;
}

static tess_err_t h_alltoall(const tess_comm_ctx_t *c, const void *send, void *recv,
                             size_t count, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  MPI_Datatype mt = tess_dtype_mpi(t);
  int n = 0;
  TESS_CHECK(to_int(count * (size_t)c->size, "alltoall total", &n));
  TESS_MPI_CHECK(MPI_Alltoall(send == recv ? MPI_IN_PLACE : send, (int)count, mt, recv,
                              (int)count, mt, c->comm));
cleanup:
  return err;
}

/* A planned alltoallv / alltoallw: the int arrays MPI takes, made once. */
typedef struct {
  int w, inplace;
  MPI_Datatype et;                 /* v: the element type */
  const MPI_Datatype *st, *rt;     /* w: borrowed */
  int *sc, *sd, *rc, *rd;          /* one allocation: sc | sd | rc | rd */
} h_a2a_t;

static void h_a2a_free(void *bp)
{
  h_a2a_t *p = bp;
  if (!p) return;
  free(p->sc);
  free(p);
}

static tess_err_t h_a2a_plan(const tess_comm_ctx_t *c, const size_t sc[], const size_t sd[],
                             const MPI_Datatype st[], const size_t rc[], const size_t rd[],
                             const MPI_Datatype rt[], tess_dtype_t t, void **bp)
{
  tess_err_t err = TESS_OK;
  int n = c->size;
  h_a2a_t *p = calloc(1, sizeof *p);
  const char *op = st ? "alltoallw" : "alltoallv";
  const char *unit = st ? "byte displacement" : "displacement";
  char what[4][80];
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "%s plan", op);
  p->w = st != NULL;
  p->inplace = sc == NULL;
  p->et = p->w ? MPI_DATATYPE_NULL : tess_dtype_mpi(t);
  p->st = st;
  p->rt = rt;
  p->sc = malloc(sizeof(int) * (size_t)(4 * n + 1));
  TESS_REQUIRE(p->sc != NULL, TESS_ERR_MEM, "%s counts", op);
  p->sd = p->sc + n;
  p->rc = p->sd + n;
  p->rd = p->rc + n;
  snprintf(what[0], sizeof what[0], "%s send count", op);
  snprintf(what[1], sizeof what[1], "%s send %s", op, unit);
  snprintf(what[2], sizeof what[2], "%s receive count", op);
  snprintf(what[3], sizeof what[3], "%s receive %s", op, unit);
  TESS_CHECK(to_ints(rc, n, what[2], p->rc));
  TESS_CHECK(to_ints(rd, n, what[3], p->rd));
  if (sc) {
    TESS_CHECK(to_ints(sc, n, what[0], p->sc));
    TESS_CHECK(to_ints(sd, n, what[1], p->sd));
  }
  *bp = p;
  p = NULL;
cleanup:
  h_a2a_free(p);
  return err;
}

static tess_err_t h_a2a_start(void *bp, const tess_comm_ctx_t *c, const void *send, void *recv,
                              tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  const h_a2a_t *p = bp;
  const void *s = p->inplace || send == recv ? MPI_IN_PLACE : send;
  if (p->w && req)
    TESS_MPI_CHECK(MPI_Ialltoallw(send, p->sc, p->sd, p->st, recv, p->rc, p->rd, p->rt, c->comm,
                                  &req->mpi));
  else if (p->w)
    TESS_MPI_CHECK(MPI_Alltoallw(send, p->sc, p->sd, p->st, recv, p->rc, p->rd, p->rt, c->comm));
  else if (req)
    TESS_MPI_CHECK(MPI_Ialltoallv(s, p->sc, p->sd, p->et, recv, p->rc, p->rd, p->et, c->comm,
                                  &req->mpi));
  else
    TESS_MPI_CHECK(MPI_Alltoallv(s, p->sc, p->sd, p->et, recv, p->rc, p->rd, p->et, c->comm));
cleanup:
  return err;
}

static tess_err_t h_reduce_scatter(const tess_comm_ctx_t *c, const void *send, void *recv,
                                   size_t count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  int n = 0;
  TESS_CHECK(to_int(count * (size_t)c->size, "reduce_scatter total", &n));
  TESS_MPI_CHECK(MPI_Reduce_scatter_block(send == recv ? MPI_IN_PLACE : send, recv, (int)count,
                                          tess_dtype_mpi(t), mpi_op(op), c->comm));
cleanup:
  return err;
}

static tess_err_t h_isend(const tess_comm_ctx_t *c, const void *buf, size_t count,
                          tess_dtype_t t, int peer, int tag, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  int n = 0;
  TESS_CHECK(to_int(count, "send count", &n));
  TESS_MPI_CHECK(MPI_Isend(buf, n, tess_dtype_mpi(t), peer, tag, c->comm, &req->mpi));
cleanup:
  return err;
}

static tess_err_t h_irecv(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                          int peer, int tag, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  int n = 0;
  TESS_CHECK(to_int(count, "receive count", &n));
  TESS_MPI_CHECK(MPI_Irecv(buf, n, tess_dtype_mpi(t), peer, tag, c->comm, &req->mpi));
cleanup:
  return err;
}

static tess_err_t h_wait(tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  TESS_MPI_CHECK(MPI_Wait(&req->mpi, MPI_STATUS_IGNORE));
cleanup:
  return err;
}

/* MPI wants a plain MPI_Request array: the handles are copied in and the
 * completed one set back to MPI_REQUEST_NULL (on the stack up to STACK_REQ;
 * the exchanges here have tens of segments, not thousands). */
#define STACK_REQ 256
static tess_err_t h_waitany(int n, tess_comm_request_t req[], int *index)
{
  tess_err_t err = TESS_OK;
  MPI_Request stack[STACK_REQ], *r = n <= STACK_REQ ? stack : malloc(sizeof *r * (size_t)n);
  int idx = MPI_UNDEFINED;
  *index = -1;
  TESS_REQUIRE(r != NULL, TESS_ERR_MEM, "%d requests", n);
  for (int i = 0; i < n; i++) r[i] = req[i].mpi;
  TESS_MPI_CHECK(MPI_Waitany(n, r, &idx, MPI_STATUS_IGNORE));
  if (idx != MPI_UNDEFINED) {
    req[idx].mpi = r[idx];
    *index = idx;
  }
cleanup:
  if (r != stack) free(r);
  return err;
}

static tess_err_t h_waitall(int n, tess_comm_request_t req[])
{
  tess_err_t err = TESS_OK;
  MPI_Request stack[STACK_REQ], *r = n <= STACK_REQ ? stack : malloc(sizeof *r * (size_t)n);
  TESS_REQUIRE(r != NULL, TESS_ERR_MEM, "%d requests", n);
  for (int i = 0; i < n; i++) r[i] = req[i].mpi;
  TESS_MPI_CHECK(MPI_Waitall(n, r, MPI_STATUSES_IGNORE));
  for (int i = 0; i < n; i++) req[i].mpi = r[i];
cleanup:
  if (r != stack) free(r);
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
  .gatherv = h_gatherv,
  .scatterv = h_scatterv,
  .alltoall = h_alltoall,
  .a2a_plan = h_a2a_plan,
  .a2a_start = h_a2a_start,
  .a2a_free = h_a2a_free,
  .reduce_scatter = h_reduce_scatter,
  .isend = h_isend,
  .irecv = h_irecv,
  .wait = h_wait,
  .waitany = h_waitany,
  .waitall = h_waitall,
};
