/* src/comm.c: collectives over mesh axes, dispatched to a backend.
 * This file owns what every backend would otherwise repeat: argument
 * checks, size_t -> int count conversion (MPI takes int; an overflow is a
 * clear error, not a wrap), the subset communicator lookup and the choice
 * of backend. Backends are a table, searched in order; the first that
 * handles the memory space wins unless the mesh overrides the choice. */
#include "comm_backend.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tess_comm_backend_ops_t *const backends[] = {
  /* GPU backends (NCCL, CUDA-aware MPI, host-staged) go first here when
   * built: they are the only ones that handle TESS_MEM_DEVICE. */
  &tess_comm_backend_host_mpi,
};
#define NBACK (sizeof backends / sizeof backends[0])

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

static const tess_comm_backend_ops_t *find_backend(tess_comm_backend_t id)
{
  for (size_t i = 0; i < NBACK; i++)
    if (backends[i]->id == id) return backends[i];
  return NULL;
}

tess_err_t tess_mesh_set_comm_backend(tess_mesh_t *mesh, tess_comm_backend_t b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(mesh != NULL, TESS_ERR_ARG, "NULL mesh");
  TESS_REQUIRE((int)b >= 0 && b < TESS_COMM_NBACKENDS, TESS_ERR_ARG,
               "invalid comm backend %d", (int)b);
  TESS_REQUIRE(b == TESS_COMM_AUTO || find_backend(b) != NULL, TESS_ERR_UNSUPPORTED,
               "comm backend '%s' is not built into this Tessera (built: host-mpi)",
               tess_comm_backend_name(b));
  mesh->backend = b;
cleanup:
  return err;
}

/* The override applies to the memory space it handles; the other space
 * keeps the automatic choice. */
static const tess_comm_backend_ops_t *pick(const tess_mesh_t *mesh, tess_memspace_t space)
{
  const tess_comm_backend_ops_t *o = find_backend(mesh->backend);
  if (o && o->handles(space)) return o;
  for (size_t i = 0; i < NBACK; i++)
    if (backends[i]->handles(space)) return backends[i];
  return NULL;
}

tess_comm_backend_t tess_mesh_comm_backend(const tess_mesh_t *mesh, tess_memspace_t space)
{
  const tess_comm_backend_ops_t *b = mesh ? pick(mesh, space) : NULL;
  return b ? b->id : TESS_COMM_AUTO;   /* AUTO here = no backend handles it */
}

/* The backend for `space` and the subset communicator of `axes`. */
static tess_err_t setup_comm(tess_mesh_t *mesh, unsigned axes, tess_memspace_t space,
                             tess_comm_ctx_t *c, const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(mesh != NULL, TESS_ERR_ARG, "NULL mesh");
  *b = pick(mesh, space);
  TESS_REQUIRE(*b != NULL, TESS_ERR_UNSUPPORTED,
               "collective on %s memory, but no comm backend of this build handles it "
               "(built: host-mpi; GPU backends need a CUDA build)",
               space == TESS_MEM_DEVICE ? "device" : "host");
  c->mesh = mesh;
  c->axes = axes;
  TESS_CHECK(tess_mesh_subset_comm(mesh, axes, &c->comm));
  TESS_MPI_CHECK(MPI_Comm_rank(c->comm, &c->rank));
  TESS_MPI_CHECK(MPI_Comm_size(c->comm, &c->size));
cleanup:
  return err;
}

static tess_err_t setup(tess_mesh_t *mesh, unsigned axes, tess_dtype_t t, tess_memspace_t space,
                        tess_comm_ctx_t *c, const tess_comm_backend_ops_t **b)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(tess_dtype_size(t) > 0, TESS_ERR_ARG, "invalid dtype %d", (int)t);
  TESS_CHECK(setup_comm(mesh, axes, space, c, b));
cleanup:
  return err;
}

#define FITS_INT(n) ((n) <= (size_t)INT_MAX)

static tess_err_t to_int(size_t n, const char *what, int *out)
{
  if (!FITS_INT(n))
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                           "%s %zu exceeds the MPI limit of %d elements per call; "
                           "split the call or use a larger dtype", what, n, INT_MAX);
  *out = (int)n;
  return TESS_OK;
}

/* counts/displs arrays of the subset size, converted to int. */
static tess_err_t to_int_array(const size_t *in, int n, const char *what, int **out)
{
  tess_err_t err = TESS_OK;
  *out = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  TESS_REQUIRE(*out != NULL, TESS_ERR_MEM, "%s", what);
  for (int i = 0; i < n; i++) TESS_CHECK(to_int(in[i], what, &(*out)[i]));
cleanup:
  return err;
}

tess_err_t tess_comm_allreduce(tess_mesh_t *mesh, unsigned axes, const void *send, void *recv,
                               size_t count, tess_dtype_t t, tess_op_t op, tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  int n = 0;
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_CHECK(to_int(count, "allreduce count", &n));
  TESS_CHECK(b->allreduce(&c, send, recv, n, t, op));
cleanup:
  return err;
}

tess_err_t tess_comm_bcast(tess_mesh_t *mesh, unsigned axes, void *buf, size_t count,
                           tess_dtype_t t, int root, tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  int n = 0;
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_REQUIRE(root >= 0 && root < c.size, TESS_ERR_ARG,
               "bcast root %d is not a rank of the %d-rank axis communicator", root, c.size);
  TESS_CHECK(to_int(count, "bcast count", &n));
  TESS_CHECK(b->bcast(&c, buf, n, t, root));
cleanup:
  return err;
}

tess_err_t tess_comm_allgather(tess_mesh_t *mesh, unsigned axes, const void *send, size_t count,
                               void *recv, tess_dtype_t t, tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  int n = 0;
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_CHECK(to_int(count * (size_t)c.size, "allgather total", &n));
  TESS_CHECK(b->allgather(&c, send, (int)count, recv, t));
cleanup:
  return err;
}

tess_err_t tess_comm_allgatherv(tess_mesh_t *mesh, unsigned axes, const void *send, size_t count,
                                void *recv, const size_t counts[], const size_t displs[],
                                tess_dtype_t t, tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  int n = 0, *ic = NULL, *id = NULL;
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_REQUIRE(counts && displs, TESS_ERR_ARG, "NULL counts or displs");
  TESS_CHECK(to_int(count, "allgatherv count", &n));
  TESS_CHECK(to_int_array(counts, c.size, "allgatherv counts", &ic));
  TESS_CHECK(to_int_array(displs, c.size, "allgatherv displacement", &id));
  TESS_REQUIRE(counts[c.rank] == count, TESS_ERR_ARG,
               "allgatherv: this rank sends %zu elements but counts[%d] = %zu", count, c.rank,
               counts[c.rank]);
  TESS_CHECK(b->allgatherv(&c, send, n, recv, ic, id, t));
cleanup:
  free(ic);
  free(id);
  return err;
}

tess_err_t tess_comm_alltoall(tess_mesh_t *mesh, unsigned axes, const void *send, void *recv,
                              size_t count, tess_dtype_t t, tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  int n = 0;
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_CHECK(to_int(count * (size_t)c.size, "alltoall total", &n));
  TESS_CHECK(b->alltoall(&c, send, recv, (int)count, t));
cleanup:
  return err;
}

/* The counts and displacements of an all-to-all as the int arrays MPI takes
 * (the send pair only if scounts != NULL); `unit` names what a displacement
 * counts, for the messages. a2a_ints_free() frees them, on success or not. */
typedef struct { int *sc, *sd, *rc, *rd; } a2a_ints_t;
static tess_err_t a2a_ints(const char *op, const char *unit, int n, const size_t scounts[],
                           const size_t sdispls[], const size_t rcounts[],
                           const size_t rdispls[], a2a_ints_t *o)
{
  tess_err_t err = TESS_OK;
  char what[4][80];
  snprintf(what[0], sizeof what[0], "%s send count", op);
  snprintf(what[1], sizeof what[1], "%s send %s", op, unit);
  snprintf(what[2], sizeof what[2], "%s receive count", op);
  snprintf(what[3], sizeof what[3], "%s receive %s", op, unit);
  memset(o, 0, sizeof *o);
  TESS_CHECK(to_int_array(rcounts, n, what[2], &o->rc));
  TESS_CHECK(to_int_array(rdispls, n, what[3], &o->rd));
  if (scounts) {
    TESS_CHECK(to_int_array(scounts, n, what[0], &o->sc));
    TESS_CHECK(to_int_array(sdispls, n, what[1], &o->sd));
  }
cleanup:
  return err;
}

static void a2a_ints_free(a2a_ints_t *o)
{
  free(o->sc);
  free(o->sd);
  free(o->rc);
  free(o->rd);
  memset(o, 0, sizeof *o);
}

tess_err_t tess_comm_alltoallv(tess_mesh_t *mesh, unsigned axes, const void *send,
                               const size_t scounts[], const size_t sdispls[], void *recv,
                               const size_t rcounts[], const size_t rdispls[], tess_dtype_t t,
                               tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  a2a_ints_t v = {0};
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_REQUIRE(rcounts && rdispls && (send == recv || (scounts && sdispls)), TESS_ERR_ARG,
               "NULL counts or displacements");
  TESS_CHECK(a2a_ints("alltoallv", "displacement", c.size, send != recv ? scounts : NULL,
                      sdispls, rcounts, rdispls, &v));
  TESS_CHECK(b->alltoallv(&c, send, v.sc, v.sd, recv, v.rc, v.rd, t));
cleanup:
  a2a_ints_free(&v);
  return err;
}

tess_err_t tess_comm_alltoallw(tess_mesh_t *mesh, unsigned axes, const void *send,
                               const size_t scounts[], const size_t sdispls[],
                               const MPI_Datatype stypes[], void *recv, const size_t rcounts[],
                               const size_t rdispls[], const MPI_Datatype rtypes[],
                               tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  a2a_ints_t v = {0};
  TESS_CHECK(setup_comm(mesh, axes, space, &c, &b));
  TESS_REQUIRE(b->alltoallw != NULL, TESS_ERR_UNSUPPORTED,
               "alltoallw: the %s backend takes no MPI datatypes (pack, then alltoallv)", b->name);
  TESS_REQUIRE(send != recv, TESS_ERR_ARG, "alltoallw cannot run in place");
  TESS_REQUIRE(scounts && sdispls && stypes && rcounts && rdispls && rtypes, TESS_ERR_ARG,
               "NULL counts, displacements or datatypes");
  TESS_CHECK(a2a_ints("alltoallw", "byte displacement", c.size, scounts, sdispls, rcounts,
                      rdispls, &v));
  TESS_CHECK(b->alltoallw(&c, send, v.sc, v.sd, stypes, recv, v.rc, v.rd, rtypes));
cleanup:
  a2a_ints_free(&v);
  return err;
}

tess_err_t tess_comm_reduce_scatter(tess_mesh_t *mesh, unsigned axes, const void *send,
                                    void *recv, size_t count, tess_dtype_t t, tess_op_t op,
                                    tess_memspace_t space)
{
  tess_err_t err = TESS_OK;
  tess_comm_ctx_t c;
  const tess_comm_backend_ops_t *b = NULL;
  int n = 0;
  TESS_CHECK(setup(mesh, axes, t, space, &c, &b));
  TESS_CHECK(to_int(count * (size_t)c.size, "reduce_scatter total", &n));
  TESS_CHECK(b->reduce_scatter(&c, send, recv, (int)count, t, op));
cleanup:
  return err;
}
