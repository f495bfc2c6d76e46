/* src/comm.c: collectives over mesh axes, dispatched to a backend.
 * This file owns what every backend would otherwise repeat: argument
 * checks, the subset communicator lookup, the choice of backend and the
 * bookkeeping of requests and planned all-to-alls. Counts stay size_t down
 * to the backend (the MPI backend checks its int limit, NCCL has none).
 * Backends are a table, searched in order; the first that handles the
 * memory space wins unless the mesh overrides the choice. */
#include "comm_backend.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Searched in order: for device memory NCCL (each rank its own GPU), then
 * CUDA-aware MPI (where the MPI says so), then host staging; each one's
 * handles() reads only what the mesh's probe agreed on, so all ranks pick
 * the same. Host memory: host MPI. */
static const tess_comm_backend_ops_t *const backends[] = {
#if TESSERA_HAVE_NCCL
  &tess_comm_backend_nccl,
#endif
#if TESSERA_HAVE_CUDA
  &tess_comm_backend_cuda_mpi,
  &tess_comm_backend_host_staged,
#endif
  &tess_comm_backend_host_mpi,
};
#define NBACK (sizeof backends / sizeof backends[0])

/* For messages: the backends of this build, in the table's order. */
#if TESSERA_HAVE_NCCL
#define BUILT "nccl, cuda-aware-mpi, host-staged, host-mpi"
#elif TESSERA_HAVE_CUDA
#define BUILT "cuda-aware-mpi, host-staged, host-mpi"
#else
#define BUILT "host-mpi"
#endif

static const char *const backend_names[TESS_COMM_NBACKENDS] = {
  [TESS_COMM_AUTO] = "auto",
  [TESS_COMM_HOST_MPI] = "host-mpi",
  [TESS_COMM_CUDA_AWARE_MPI] = "cuda-aware-mpi",
  [TESS_COMM_NCCL] = "nccl",
  [TESS_COMM_HOST_STAGED] = "host-staged",
};

const char *tess_comm_backend_name(tess_comm_backend_t b)
{
  return (int)b >= 0 && b < TESS_COMM_NBACKENDS ? backend_names[b] : "invalid";
}

static tess_comm_backend_t default_backend = TESS_COMM_AUTO;

void tess_comm_set_default_backend(tess_comm_backend_t b)
{
  if ((int)b >= 0 && b < TESS_COMM_NBACKENDS) default_backend = b;
}

tess_err_t tess_comm_backend_parse(const char *name, tess_comm_backend_t *b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(b != NULL, TESS_ERR_ARG, "NULL output");
  for (int i = 0; name && i < TESS_COMM_NBACKENDS; i++)
    if (strcmp(name, backend_names[i]) == 0) {
      *b = (tess_comm_backend_t)i;
      goto cleanup;
    }
  TESS_REQUIRE(0, TESS_ERR_ARG, "unknown comm backend '%s' (allowed: auto, nccl, cuda-aware-mpi, "
               "host-staged, host-mpi)", name ? name : "(null)");
cleanup:
  return err;
}

static const tess_comm_backend_ops_t *find_backend(tess_comm_backend_t id)
{
  for (size_t i = 0; i < NBACK; i++)
    if (backends[i]->id == id) return backends[i];
  return NULL;
}

/* Why a built device backend cannot run on this mesh (its probe). */
static const char *unavailable_why(const tess_mesh_t *m, tess_comm_backend_t b)
{
  if (!m->gpu_all) return "not every rank of the mesh has a GPU";
  if (b == TESS_COMM_NCCL && !m->gpu_own)
    return "ranks of a node share a GPU, which NCCL refuses (one GPU per rank)";
  if (b == TESS_COMM_CUDA_AWARE_MPI && !m->cuda_aware)
    return "the MPI library is not CUDA-aware (MPIX_Query_cuda_support)";
  return "unavailable";
}

/* Collective in effect: the mesh's probe makes the answer the same on all
 * ranks, so all ranks accept or refuse together. */
tess_err_t tess_mesh_set_comm_backend(tess_mesh_t *mesh, tess_comm_backend_t b)
{
  tess_err_t err = TESS_OK;
  const tess_comm_backend_ops_t *o = NULL;
  TESS_REQUIRE(mesh != NULL, TESS_ERR_ARG, "NULL mesh");
  TESS_REQUIRE((int)b >= 0 && b < TESS_COMM_NBACKENDS, TESS_ERR_ARG,
               "invalid comm backend %d", (int)b);
  o = find_backend(b);
  TESS_REQUIRE(b == TESS_COMM_AUTO || o != NULL, TESS_ERR_UNSUPPORTED,
               "comm backend '%s' is not built into this Tessera (built: " BUILT ")",
               tess_comm_backend_name(b));
  TESS_REQUIRE(b == TESS_COMM_AUTO || b == TESS_COMM_HOST_MPI
                   || o->handles(mesh, TESS_MEM_DEVICE), TESS_ERR_UNSUPPORTED,
               "comm backend '%s' is built but cannot run here: %s", tess_comm_backend_name(b),
               unavailable_why(mesh, b));
  mesh->backend = b;
cleanup:
  return err;
}

/* The override applies to the memory space it handles; the other space
 * keeps the automatic choice. */
static const tess_comm_backend_ops_t *pick(const tess_mesh_t *mesh, tess_memspace_t space)
{
  const tess_comm_backend_ops_t *o = find_backend(mesh->backend);
  if (o && o->handles(mesh, space)) return o;
  for (size_t i = 0; i < NBACK; i++)
    if (backends[i]->handles(mesh, space)) return backends[i];
  return NULL;
}

/* A new mesh's starting override: the process default where it can run. */
void tess_comm_mesh_default_(tess_mesh_t *mesh)
{
  const tess_comm_backend_ops_t *o = find_backend(default_backend);
  mesh->backend = TESS_COMM_AUTO;
  if (o && (o->id == TESS_COMM_HOST_MPI || o->handles(mesh, TESS_MEM_DEVICE)))
    mesh->backend = default_backend;
}

void tess_comm_mesh_release_(tess_mesh_t *mesh)
{
  for (size_t i = 0; i < NBACK; i++)
    if (backends[i]->release) backends[i]->release(mesh);
}

tess_comm_backend_t tess_mesh_comm_backend(const tess_mesh_t *mesh, tess_memspace_t space)
{
  const tess_comm_backend_ops_t *b = mesh ? pick(mesh, space) : NULL;
  return b ? b->id : TESS_COMM_AUTO;   /* AUTO here = no backend handles it */
}

/* The backend for `space` and the subset communicator of `axes`. */
static tess_err_t setup_comm(tess_mesh_t *mesh, unsigned axes, tess_memspace_t space,
                             tess_stream_t stream, tess_comm_ctx_t *c,
                             const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(mesh != NULL, TESS_ERR_ARG, "NULL mesh");
  *b = pick(mesh, space);
  TESS_REQUIRE(*b != NULL, TESS_ERR_UNSUPPORTED,
               "collective on %s memory, but no comm backend of this build handles it "
               "(built: " BUILT "%s)", tess_memspace_kind(space) == TESS_MEM_DEVICE ? "device"
               : "host", TESSERA_HAVE_CUDA ? "; the GPU backends need a GPU on every rank"
               : "; GPU backends need a CUDA build");
  unsigned full = (1u << mesh->naxes) - 1;
  if (axes == TESS_AXES_ALL) axes = full;
  c->mesh = mesh;
  c->axes = axes;
  c->stream = stream;
  if (axes == full && mesh->naxes > 0)
    c->comm = mesh->cart;   /* the same ranks in the same order, no subset needed */
  else
    TESS_CHECK(tess_mesh_subset_comm(mesh, axes, &c->comm));
  TESS_MPI_CHECK(MPI_Comm_rank(c->comm, &c->rank));
  TESS_MPI_CHECK(MPI_Comm_size(c->comm, &c->size));
cleanup:
  return err;
}

static tess_err_t setup(tess_mesh_t *mesh, unsigned axes, tess_dtype_t t, tess_memspace_t space,
                        tess_stream_t stream, tess_comm_ctx_t *c,
                        const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(tess_dtype_size(t) > 0, TESS_ERR_ARG, "invalid dtype %d", (int)t);
  TESS_CHECK(setup_comm(mesh, axes, space, stream, c, b));
cleanup:
  return err;
}

static tess_err_t check_op(tess_op_t op, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE((int)op >= 0 && op < TESS_NOPS, TESS_ERR_ARG, "invalid reduction op %d", (int)op);
  TESS_REQUIRE(!(op == TESS_OP_BOR || op == TESS_OP_LOR) || t == TESS_I32 || t == TESS_I64,
               TESS_ERR_ARG, "bitwise/logical or of %s data: expected i32 or i64",
               tess_dtype_name(t));
  TESS_REQUIRE(!tess_dtype_is_complex(t) || op == TESS_OP_SUM, TESS_ERR_ARG,
               "max/min of complex %s data", tess_dtype_name(t));
  /* 16-bit floats travel as uint16 patterns: MPI would reduce the integers. */
  TESS_REQUIRE(t != TESS_BF16 && t != TESS_F16, TESS_ERR_ARG,
               "reduction of %s data: convert to f32 first (tess_convert_to_f32)",
               tess_dtype_name(t));
cleanup:
  return err;
}

tess_err_t tess_comm_rank_size(tess_mesh_t *mesh, unsigned axes, int *rank, int *size)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup_comm(mesh, axes, TESS_MEM_HOST, NULL, &c, &b));
  if (rank) *rank = c.rank;
  if (size) *size = c.size;
cleanup:
  return err;
}

tess_err_t tess_comm_allreduce(tess_mesh_t *mesh, unsigned axes, const void *send, void *recv,
                               size_t count, tess_dtype_t t, tess_op_t op, tess_memspace_t space,
                               tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, &c, &b));
  TESS_CHECK(check_op(op, t));
  TESS_CHECK(b->allreduce(&c, send, recv, count, t, op));
cleanup:
  return err;
}

tess_err_t tess_comm_bcast(tess_mesh_t *mesh, unsigned axes, void *buf, size_t count,
                           tess_dtype_t t, int root, tess_memspace_t space, tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, &c, &b));
  TESS_REQUIRE(root >= 0 && root < c.size, TESS_ERR_ARG,
               "bcast root %d is not a rank of the %d-rank axis communicator", root, c.size);
  TESS_CHECK(b->bcast(&c, buf, count, t, root));
cleanup:
  return err;
}

tess_err_t tess_comm_allgather(tess_mesh_t *mesh, unsigned axes, const void *send, size_t count,
                               void *recv, tess_dtype_t t, tess_memspace_t space,
                               tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, &c, &b));
  TESS_CHECK(b->allgather(&c, send, count, recv, t));
cleanup:
  return err;
}

tess_err_t tess_comm_allgatherv(tess_mesh_t *mesh, unsigned axes, const void *send, size_t count,
                                void *recv, const size_t counts[], const size_t displs[],
                                tess_dtype_t t, tess_memspace_t space, tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, &c, &b));
  TESS_REQUIRE(counts && displs, TESS_ERR_ARG, "NULL counts or displs");
  TESS_REQUIRE(counts[c.rank] == count, TESS_ERR_ARG,
               "allgatherv: this rank sends %zu elements but counts[%d] = %zu", count, c.rank,
               counts[c.rank]);
  TESS_CHECK(b->allgatherv(&c, send, count, recv, counts, displs, t));
cleanup:
  return err;
}

static tess_err_t rooted(tess_mesh_t *mesh, unsigned axes, tess_dtype_t t, int root,
                         tess_memspace_t space, tess_stream_t stream, const char *op,
                         tess_comm_ctx_t *c, const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(setup(mesh, axes, t, space, stream, c, b));
  TESS_REQUIRE(root >= 0 && root < c->size, TESS_ERR_ARG,
               "%s root %d is not a rank of the %d-rank axis communicator", op, root, c->size);
cleanup:
  return err;
}

tess_err_t tess_comm_gatherv(tess_mesh_t *mesh, unsigned axes, const void *send, size_t count,
                             void *recv, const size_t counts[], const size_t displs[],
                             tess_dtype_t t, int root, tess_memspace_t space,
                             tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(rooted(mesh, axes, t, root, space, stream, "gatherv", &c, &b));
  TESS_REQUIRE(c.rank != root || (counts && displs), TESS_ERR_ARG,
               "gatherv: NULL counts or displs on the root");
  TESS_CHECK(b->gatherv(&c, send, count, recv, counts, displs, t, root));
cleanup:
  return err;
}

tess_err_t tess_comm_scatterv(tess_mesh_t *mesh, unsigned axes, const void *send,
                              const size_t counts[], const size_t displs[], void *recv,
                              size_t count, tess_dtype_t t, int root, tess_memspace_t space,
                              tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(rooted(mesh, axes, t, root, space, stream, "scatterv", &c, &b));
  TESS_REQUIRE(c.rank != root || (counts && displs), TESS_ERR_ARG,
               "scatterv: NULL counts or displs on the root");
  TESS_CHECK(b->scatterv(&c, send, counts, displs, recv, count, t, root));
cleanup:
  return err;
}

tess_err_t tess_comm_alltoall(tess_mesh_t *mesh, unsigned axes, const void *send, void *recv,
                              size_t count, tess_dtype_t t, tess_memspace_t space,
                              tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, &c, &b));
  TESS_CHECK(b->alltoall(&c, send, recv, count, t));
cleanup:
  return err;
}

/* ---- planned all-to-alls ------------------------------------------------ */

struct tess_comm_a2a {
  const tess_comm_backend_ops_t *b;
  tess_comm_ctx_t c;
  void *bp;                /* the backend's plan */
};

void tess_comm_a2a_destroy(tess_comm_a2a_t **plan)
{
  if (!plan || !*plan) return;
  if ((*plan)->bp) (*plan)->b->a2a_free((*plan)->bp);
  free(*plan);
  *plan = NULL;
}

static tess_err_t a2a_plan(tess_mesh_t *mesh, unsigned axes, const size_t sc[], const size_t sd[],
                           const MPI_Datatype st[], const size_t rc[], const size_t rd[],
                           const MPI_Datatype rt[], tess_dtype_t t, tess_memspace_t space,
                           tess_comm_a2a_t **plan)
{
  tess_err_t err = TESS_OK;
  tess_comm_a2a_t *p = NULL;
  TESS_REQUIRE(plan != NULL, TESS_ERR_ARG, "NULL plan output");
  *plan = NULL;
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "all-to-all plan");
  if (st) TESS_CHECK(setup_comm(mesh, axes, space, NULL, &p->c, &p->b));
  else TESS_CHECK(setup(mesh, axes, t, space, NULL, &p->c, &p->b));
  TESS_REQUIRE(!st || p->b->a2a_plan != NULL, TESS_ERR_UNSUPPORTED,
               "alltoallw: the %s backend takes no MPI datatypes (pack, then alltoallv)",
               p->b->name);
  TESS_CHECK(p->b->a2a_plan(&p->c, sc, sd, st, rc, rd, rt, t, &p->bp));
  *plan = p;
  p = NULL;
cleanup:
  tess_comm_a2a_destroy(&p);
  return err;
}

tess_err_t tess_comm_alltoallv_plan(tess_mesh_t *mesh, unsigned axes, const size_t scounts[],
                                    const size_t sdispls[], const size_t rcounts[],
                                    const size_t rdispls[], tess_dtype_t t,
                                    tess_memspace_t space, tess_comm_a2a_t **plan)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(rcounts && rdispls && scounts && sdispls, TESS_ERR_ARG,
               "NULL counts or displacements");
  TESS_CHECK(a2a_plan(mesh, axes, scounts, sdispls, NULL, rcounts, rdispls, NULL, t, space, plan));
cleanup:
  return err;
}

tess_err_t tess_comm_alltoallw_plan(tess_mesh_t *mesh, unsigned axes, const size_t scounts[],
                                    const size_t sdispls[], const MPI_Datatype stypes[],
                                    const size_t rcounts[], const size_t rdispls[],
                                    const MPI_Datatype rtypes[], tess_memspace_t space,
                                    tess_comm_a2a_t **plan)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(scounts && sdispls && stypes && rcounts && rdispls && rtypes, TESS_ERR_ARG,
               "NULL counts, displacements or datatypes");
  TESS_CHECK(a2a_plan(mesh, axes, scounts, sdispls, stypes, rcounts, rdispls, rtypes, TESS_I32,
                      space, plan));
cleanup:
  return err;
}

static void req_begin(tess_comm_request_t *req, const tess_comm_backend_ops_t *b)
{
  *req = TESS_COMM_REQUEST_NULL;
  req->backend = b;
}

tess_err_t tess_comm_a2a_start(const tess_comm_a2a_t *p, const void *send, void *recv,
                               tess_stream_t stream, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  TESS_REQUIRE(p != NULL, TESS_ERR_ARG, "NULL all-to-all plan");
  c = p->c;
  c.stream = stream;
  if (req) req_begin(req, p->b);
  err = p->b->a2a_start(p->bp, &c, send, recv, req);
  if (err && req) *req = TESS_COMM_REQUEST_NULL;
  TESS_CHECK(err);
cleanup:
  return err;
}

/* One-shot: plan, start, and (blocking) destroy; a non-blocking one leaves
 * the plan with the request, whose wait frees it. */
static tess_err_t a2a_once(tess_mesh_t *mesh, unsigned axes, const void *send, const size_t sc[],
                           const size_t sd[], const MPI_Datatype st[], void *recv,
                           const size_t rc[], const size_t rd[], const MPI_Datatype rt[],
                           tess_dtype_t t, tess_memspace_t space, tess_stream_t stream,
                           tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  tess_comm_a2a_t *p = NULL;
  TESS_CHECK(a2a_plan(mesh, axes, sc, sd, st, rc, rd, rt, t, space, &p));
  TESS_CHECK(tess_comm_a2a_start(p, send, recv, stream, req));
  if (req) {
    req->aux = p;
    p = NULL;
  }
cleanup:
  tess_comm_a2a_destroy(&p);
  return err;
}

tess_err_t tess_comm_alltoallv(tess_mesh_t *mesh, unsigned axes, const void *send,
                               const size_t scounts[], const size_t sdispls[], void *recv,
                               const size_t rcounts[], const size_t rdispls[], tess_dtype_t t,
                               tess_memspace_t space, tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(rcounts && rdispls && (send == recv || (scounts && sdispls)), TESS_ERR_ARG,
               "NULL counts or displacements");
  TESS_CHECK(a2a_once(mesh, axes, send, send != recv ? scounts : NULL, sdispls, NULL, recv,
                      rcounts, rdispls, NULL, t, space, stream, NULL));
cleanup:
  return err;
}

tess_err_t tess_comm_ialltoallv(tess_mesh_t *mesh, unsigned axes, const void *send,
                                const size_t scounts[], const size_t sdispls[], void *recv,
                                const size_t rcounts[], const size_t rdispls[], tess_dtype_t t,
                                tess_memspace_t space, tess_stream_t stream,
                                tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(req != NULL, TESS_ERR_ARG, "NULL request");
  *req = TESS_COMM_REQUEST_NULL;
  TESS_REQUIRE(send != recv, TESS_ERR_ARG, "ialltoallv cannot run in place");
  TESS_REQUIRE(rcounts && rdispls && scounts && sdispls, TESS_ERR_ARG,
               "NULL counts or displacements");
  TESS_CHECK(a2a_once(mesh, axes, send, scounts, sdispls, NULL, recv, rcounts, rdispls, NULL, t,
                      space, stream, req));
cleanup:
  return err;
}

tess_err_t tess_comm_alltoallw(tess_mesh_t *mesh, unsigned axes, const void *send,
                               const size_t scounts[], const size_t sdispls[],
                               const MPI_Datatype stypes[], void *recv, const size_t rcounts[],
                               const size_t rdispls[], const MPI_Datatype rtypes[],
                               tess_memspace_t space, tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup_comm(mesh, axes, space, stream, &c, &b));
  TESS_REQUIRE(send != recv, TESS_ERR_ARG, "alltoallw cannot run in place");
  TESS_REQUIRE(scounts && sdispls && stypes && rcounts && rdispls && rtypes, TESS_ERR_ARG,
               "NULL counts, displacements or datatypes");
  TESS_CHECK(a2a_once(mesh, axes, send, scounts, sdispls, stypes, recv, rcounts, rdispls, rtypes,
                      TESS_I32, space, stream, NULL));
cleanup:
  return err;
}

tess_err_t tess_comm_reduce_scatter(tess_mesh_t *mesh, unsigned axes, const void *send,
                                    void *recv, size_t count, tess_dtype_t t, tess_op_t op,
                                    tess_memspace_t space, tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, &c, &b));
  TESS_CHECK(check_op(op, t));
  TESS_CHECK(b->reduce_scatter(&c, send, recv, count, t, op));
cleanup:
  return err;
}

/* ---- point-to-point and requests ------------------------------------------ */

static tess_err_t p2p(tess_mesh_t *mesh, unsigned axes, tess_dtype_t t, int peer, int tag,
                      tess_memspace_t space, tess_stream_t stream, tess_comm_request_t *req,
                      tess_comm_ctx_t *c, const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(req != NULL, TESS_ERR_ARG, "NULL request");
  *req = TESS_COMM_REQUEST_NULL;
  TESS_CHECK(setup(mesh, axes, t, space, stream, c, b));
  TESS_REQUIRE(peer >= 0 && peer < c->size, TESS_ERR_ARG,
               "peer %d is not a rank of the %d-rank axis communicator", peer, c->size);
  TESS_REQUIRE(tag >= 0 && tag <= 32767, TESS_ERR_ARG, "tag %d outside 0..32767", tag);
  req_begin(req, *b);
cleanup:
  return err;
}

tess_err_t tess_comm_isend(tess_mesh_t *mesh, unsigned axes, const void *buf, size_t count,
                           tess_dtype_t t, int peer, int tag, tess_memspace_t space,
                           tess_stream_t stream, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(p2p(mesh, axes, t, peer, tag, space, stream, req, &c, &b));
  err = b->isend(&c, buf, count, t, peer, tag, req);
  if (err) *req = TESS_COMM_REQUEST_NULL;
  TESS_CHECK(err);
cleanup:
  return err;
}

tess_err_t tess_comm_irecv(tess_mesh_t *mesh, unsigned axes, void *buf, size_t count,
                           tess_dtype_t t, int peer, int tag, tess_memspace_t space,
                           tess_stream_t stream, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(p2p(mesh, axes, t, peer, tag, space, stream, req, &c, &b));
  err = b->irecv(&c, buf, count, t, peer, tag, req);
  if (err) *req = TESS_COMM_REQUEST_NULL;
  TESS_CHECK(err);
cleanup:
  return err;
}

static void req_done(tess_comm_request_t *req)
{
  tess_comm_a2a_t *p = req->aux;
  tess_comm_a2a_destroy(&p);
  *req = TESS_COMM_REQUEST_NULL;
}

tess_err_t tess_comm_wait(tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(req != NULL, TESS_ERR_ARG, "NULL request");
  if (!req->backend) goto cleanup;
  err = ((const tess_comm_backend_ops_t *)req->backend)->wait(req);
  req_done(req);
  TESS_CHECK(err);
cleanup:
  return err;
}

/* The one backend of the pending requests (NULL: none pending). */
static tess_err_t common_backend(int n, const tess_comm_request_t req[],
                                 const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  *b = NULL;
  TESS_REQUIRE(n >= 0 && (n == 0 || req), TESS_ERR_ARG, "NULL requests");
  for (int i = 0; i < n; i++) {
    if (!req[i].backend) continue;
    TESS_REQUIRE(!*b || *b == req[i].backend, TESS_ERR_UNSUPPORTED,
                 "waiting on requests of two comm backends at once");
    *b = req[i].backend;
  }
cleanup:
  return err;
}

tess_err_t tess_comm_waitany(int n, tess_comm_request_t req[], int *index)
{
  tess_err_t err = TESS_OK;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_REQUIRE(index != NULL, TESS_ERR_ARG, "NULL index");
  *index = -1;
  TESS_CHECK(common_backend(n, req, &b));
  if (!b) goto cleanup;
  TESS_CHECK(b->waitany(n, req, index));
  if (*index >= 0) req_done(&req[*index]);
cleanup:
  return err;
}

tess_err_t tess_comm_waitall(int n, tess_comm_request_t req[])
{
  tess_err_t err = TESS_OK;
  const tess_comm_backend_ops_t *b = NULL;
  TESS_CHECK(common_backend(n, req, &b));
  if (!b) goto cleanup;
  err = b->waitall(n, req);
  if (err == TESS_OK)
    for (int i = 0; i < n; i++) req_done(&req[i]);
  TESS_CHECK(err);
cleanup:
  return err;
}

/* ---- one-axis meshes over a communicator ---------------------------------- */

/* The mesh is an attribute of its communicator. Attributes of
 * MPI_COMM_WORLD are not reliably deleted while MPI can still free
 * communicators, so every communicator with a mesh is listed and a
 * sentinel attribute on MPI_COMM_SELF (deleted first in MPI_Finalize, when
 * MPI is fully alive) deletes them all. */
static int mesh_key = MPI_KEYVAL_INVALID, self_key = MPI_KEYVAL_INVALID;
static MPI_Comm *mesh_comms;
static int nmesh_comms, cap_mesh_comms;

static int mesh_attr_delete(MPI_Comm comm, int key, void *val, void *extra)
{
  (void)key;
  (void)extra;
  tess_mesh_t *m = val;
  tess_mesh_destroy(&m);
  for (int i = 0; i < nmesh_comms; i++)
    if (mesh_comms[i] == comm) {
      mesh_comms[i] = mesh_comms[--nmesh_comms];
      break;
    }
  return MPI_SUCCESS;
}

static int self_attr_delete(MPI_Comm comm, int key, void *val, void *extra)
{
  (void)comm;
  (void)key;
  (void)val;
  (void)extra;
  while (nmesh_comms > 0) {
    int n = nmesh_comms;
    MPI_Comm_delete_attr(mesh_comms[n - 1], mesh_key);   /* removes it from the list */
    if (nmesh_comms == n) nmesh_comms--;                 /* (should not happen) */
  }
  free(mesh_comms);
  mesh_comms = NULL;
  cap_mesh_comms = 0;
  MPI_Comm_free_keyval(&mesh_key);
  MPI_Comm_free_keyval(&self_key);
  return MPI_SUCCESS;
}

tess_err_t tess_comm_mesh_of(MPI_Comm comm, tess_mesh_t **mesh)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *m = NULL;
  void *val = NULL;
  int found = 0, size = 0;
  TESS_REQUIRE(mesh != NULL && comm != MPI_COMM_NULL, TESS_ERR_ARG, "NULL communicator");
  *mesh = NULL;
  if (mesh_key == MPI_KEYVAL_INVALID) {
    TESS_MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, mesh_attr_delete, &mesh_key,
                                          NULL));
    TESS_MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, self_attr_delete, &self_key,
                                          NULL));
    TESS_MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_SELF, self_key, NULL));
  }
  TESS_MPI_CHECK(MPI_Comm_get_attr(comm, mesh_key, &val, &found));
  if (found) {
    *mesh = val;
    goto cleanup;
  }
  if (nmesh_comms == cap_mesh_comms) {
    int cap = cap_mesh_comms ? 2 * cap_mesh_comms : 8;
    MPI_Comm *c = realloc(mesh_comms, sizeof *c * (size_t)cap);
    TESS_REQUIRE(c != NULL, TESS_ERR_MEM, "mesh cache");
    mesh_comms = c;
    cap_mesh_comms = cap;
  }
  TESS_MPI_CHECK(MPI_Comm_size(comm, &size));
  {
    const char *names[] = {"ranks"};
    int sizes[] = {size};
    TESS_CHECK(tess_mesh_create(comm, 1, names, sizes, &m));
  }
  TESS_MPI_CHECK(MPI_Comm_set_attr(comm, mesh_key, m));
  mesh_comms[nmesh_comms++] = comm;
  *mesh = m;
  m = NULL;
cleanup:
  tess_mesh_destroy(&m);
  return err;
}
