/* src/mesh.c: named process axes mapped onto MPI communicators.
 * Everything a mesh will be asked for repeatedly (axis communicators,
 * coordinates) is made once at creation; communicators over axis subsets
 * are made on first request and cached, since MPI_Cart_sub is collective
 * and not free. The Cartesian communicator is never reordered, so the mesh
 * rank of a process equals its rank in the communicator it was made from. */
#include "device.h"
#include "mesh_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESS_MESH_EAGER_AXES 4   /* up to 15 subset communicators made up front */

static int valid_name(const char *s)
{
  if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
  for (const char *c = s; *c; c++)
    if (!(isalnum((unsigned char)*c) || *c == '_')) return 0;
  return strlen(s) < TESS_MESH_NAME_LEN;
}

/* "{x:2, y:?}" for messages; '?' marks the inferred axis. */
static void describe(int naxes, const char *const names[], const int sizes[], char *buf,
                     size_t len)
{
  size_t off = 0;
  off += (size_t)snprintf(buf + off, len - off, "{");
  for (int i = 0; i < naxes && off < len; i++) {
    if (sizes[i] == TESS_MESH_INFER)
      off += (size_t)snprintf(buf + off, len - off, "%s%s:?", i ? ", " : "", names[i]);
    else
      off += (size_t)snprintf(buf + off, len - off, "%s%s:%d", i ? ", " : "", names[i], sizes[i]);
  }
  if (off < len) snprintf(buf + off, len - off, "}");
}

/* One GPU per rank, chosen by node-local rank (ranks of a node share its
 * GPUs round-robin) and made current through the device-ops table, so later
 * device allocations, comm backends and FFT plans of this rank land on it. */
static tess_err_t bind_device(MPI_Comm comm, int *device)
{
  tess_err_t err = TESS_OK;
  MPI_Comm node = MPI_COMM_NULL;
  const tess_device_ops_t *gpu = tess_device_active_();
  int local = 0, ndev = gpu ? gpu->device_count() : 0;
  *device = -1;
  if (ndev == 0) return TESS_OK;
  TESS_MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  TESS_MPI_CHECK(MPI_Comm_rank(node, &local));
  TESS_CHECK(gpu->set_device(local % ndev));
  *device = local % ndev;
cleanup:
  if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
  return err;
}

tess_err_t tess_mesh_create(MPI_Comm comm, int naxes, const char *const names[],
                            const int sizes[], tess_mesh_t **mesh)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *m = NULL;
  char desc[TESS_MESH_MAX_AXES * (TESS_MESH_NAME_LEN + 16) + 4];
  int nranks = 0, infer = -1, dims[TESS_MESH_MAX_AXES], periods[TESS_MESH_MAX_AXES] = {0};
  long long product = 1;

  TESS_REQUIRE(mesh != NULL, TESS_ERR_ARG, "NULL mesh output");
  *mesh = NULL;
  TESS_REQUIRE(naxes >= 1 && naxes <= TESS_MESH_MAX_AXES, TESS_ERR_ARG,
               "a mesh has 1 to %d axes, got %d", TESS_MESH_MAX_AXES, naxes);
  TESS_REQUIRE(names && sizes, TESS_ERR_ARG, "NULL names or sizes");
  for (int i = 0; i < naxes; i++) {
    TESS_REQUIRE(valid_name(names[i]), TESS_ERR_ARG,
                 "mesh axis %d name '%s' is not an identifier ([A-Za-z_][A-Za-z0-9_]*, "
                 "under %d characters)", i, names[i] ? names[i] : "(null)", TESS_MESH_NAME_LEN);
    for (int j = 0; j < i; j++)
      TESS_REQUIRE(strcmp(names[i], names[j]) != 0, TESS_ERR_ARG,
                   "mesh axis name '%s' is used twice (axes %d and %d)", names[i], j, i);
  }
  describe(naxes, names, sizes, desc, sizeof desc);
  TESS_MPI_CHECK(MPI_Comm_size(comm, &nranks));
  for (int i = 0; i < naxes; i++) {
    TESS_REQUIRE(sizes[i] >= 0, TESS_ERR_ARG, "mesh %s: axis '%s' has negative size %d",
                 desc, names[i], sizes[i]);
    if (sizes[i] == TESS_MESH_INFER) {
      TESS_REQUIRE(infer < 0, TESS_ERR_ARG,
                   "mesh %s: at most one axis size may be inferred, but '%s' and '%s' both are",
                   desc, names[infer], names[i]);
      infer = i;
    } else if (product <= INT_MAX) {
      product *= sizes[i];   /* saturates above INT_MAX: no overflow with 8 int sizes */
    }
  }
  for (int i = 0; i < naxes; i++) dims[i] = sizes[i];
  if (infer >= 0) {
    TESS_REQUIRE(product <= nranks && nranks % product == 0, TESS_ERR_ARG,
                 "mesh %s: cannot infer '%s': %d ranks are not a multiple of %lld (the product "
                 "of the other sizes)", desc, names[infer], nranks, product);
    dims[infer] = (int)(nranks / product);
    product = nranks;
  }
  TESS_REQUIRE(product == nranks, TESS_ERR_ARG,
               "mesh %s needs %s%lld ranks (the product of the sizes), but the communicator has %d",
               desc, product > INT_MAX ? "more than " : "", product > INT_MAX ? (long long)INT_MAX
               : product, nranks);

  m = calloc(1, sizeof *m);
  TESS_REQUIRE(m != NULL, TESS_ERR_MEM, "mesh");
  m->cart = MPI_COMM_NULL;
  for (unsigned s = 0; s < TESS_MESH_NSUBSETS; s++) m->subset[s] = MPI_COMM_NULL;
  m->naxes = naxes;
  m->device = -1;
  m->backend = TESS_COMM_AUTO;
  for (int i = 0; i < naxes; i++) {
    snprintf(m->names[i], TESS_MESH_NAME_LEN, "%s", names[i]);
    m->sizes[i] = dims[i];
  }
  TESS_MPI_CHECK(MPI_Cart_create(comm, naxes, dims, periods, 0, &m->cart));
  TESS_MPI_CHECK(MPI_Comm_set_errhandler(m->cart, MPI_ERRORS_RETURN));
  TESS_MPI_CHECK(MPI_Comm_rank(m->cart, &m->rank));
  TESS_MPI_CHECK(MPI_Comm_size(m->cart, &m->size));
  TESS_MPI_CHECK(MPI_Cart_coords(m->cart, m->rank, naxes, m->coords));
  /* Axis communicators always; every subset when there are few axes, so that
   * a collective over a subset never has to create its communicator (which
   * would make it collective over the whole mesh). */
  for (unsigned mask = 0; mask < (1u << naxes); mask++) {   /* 0: this rank alone */
    MPI_Comm c;
    int single = (mask & (mask - 1)) == 0;
    if (single || naxes <= TESS_MESH_EAGER_AXES) TESS_CHECK(tess_mesh_subset_comm(m, mask, &c));
  }
  TESS_CHECK(bind_device(m->cart, &m->device));
  TESS_CHECK(tess_comm_probe_(m));   /* collective: what the device backends may use */
  tess_comm_mesh_default_(m);
  *mesh = m;
  m = NULL;
cleanup:
  tess_mesh_destroy(&m);
  return err;
}

void tess_mesh_destroy(tess_mesh_t **mesh)
{
  if (!mesh || !*mesh) return;
  tess_mesh_t *m = *mesh;
  tess_comm_mesh_release_(m);   /* NCCL communicators, pinned buffers */
  for (unsigned s = 0; s < TESS_MESH_NSUBSETS; s++)
    if (m->subset[s] != MPI_COMM_NULL) MPI_Comm_free(&m->subset[s]);
  if (m->cart != MPI_COMM_NULL) MPI_Comm_free(&m->cart);
  free(m);
  *mesh = NULL;
}

int tess_mesh_naxes(const tess_mesh_t *m) { return m->naxes; }
const char *tess_mesh_axis_name(const tess_mesh_t *m, int axis)
{
  return axis >= 0 && axis < m->naxes ? m->names[axis] : NULL;
}
int tess_mesh_axis_size(const tess_mesh_t *m, int axis)
{
  return axis >= 0 && axis < m->naxes ? m->sizes[axis] : 0;
}
int tess_mesh_coord(const tess_mesh_t *m, int axis)
{
  return axis >= 0 && axis < m->naxes ? m->coords[axis] : -1;
}
int tess_mesh_rank(const tess_mesh_t *m) { return m->rank; }
int tess_mesh_size(const tess_mesh_t *m) { return m->size; }
int tess_mesh_device(const tess_mesh_t *m) { return m->device; }
MPI_Comm tess_mesh_comm(const tess_mesh_t *m) { return m->cart; }
MPI_Comm tess_mesh_axis_comm(const tess_mesh_t *m, int axis)
{
  return axis >= 0 && axis < m->naxes ? m->subset[1u << axis] : MPI_COMM_NULL;
}

tess_err_t tess_mesh_axis_find(const tess_mesh_t *m, const char *name, int *axis)
{
  tess_err_t err = TESS_OK;
  char list[TESS_MESH_MAX_AXES * (TESS_MESH_NAME_LEN + 4)] = "";
  size_t off = 0;
  TESS_REQUIRE(m && axis, TESS_ERR_ARG, "NULL argument");
  for (int i = 0; i < m->naxes; i++)
    if (name && strcmp(name, m->names[i]) == 0) { *axis = i; return TESS_OK; }
  for (int i = 0; i < m->naxes && off < sizeof list; i++)
    off += (size_t)snprintf(list + off, sizeof list - off, "%s'%s'", i ? ", " : "", m->names[i]);
  TESS_REQUIRE(0, TESS_ERR_ARG, "no mesh axis named '%s' (the mesh has %s)",
               name ? name : "(null)", list);
cleanup:
  return err;
}

/* Row-major over the axes, axis 0 slowest: what MPI_Cart_rank gives for a
 * non-reordered communicator, computed without a call. */
int tess_mesh_rank_of(const tess_mesh_t *m, const int coords[])
{
  int r = 0;
  for (int i = 0; i < m->naxes; i++) r = r * m->sizes[i] + coords[i];
  return r;
}

void tess_mesh_coords_of(const tess_mesh_t *m, int rank, int coords[])
{
  for (int i = m->naxes - 1; i >= 0; i--) {
    coords[i] = rank % m->sizes[i];
    rank /= m->sizes[i];
  }
}

tess_err_t tess_mesh_subset_comm(tess_mesh_t *m, unsigned mask, MPI_Comm *comm)
{
  tess_err_t err = TESS_OK;
  int remain[TESS_MESH_MAX_AXES];
  TESS_REQUIRE(m && comm, TESS_ERR_ARG, "NULL argument");
  *comm = MPI_COMM_NULL;
  TESS_REQUIRE(mask < (1u << m->naxes), TESS_ERR_ARG,
               "axis mask 0x%x names axes the %d-axis mesh does not have", mask, m->naxes);
  if (m->subset[mask] == MPI_COMM_NULL) {
    if (mask == 0) {
      /* A communicator of this rank alone; avoids 0-d MPI_Cart_sub corners. */
      TESS_MPI_CHECK(MPI_Comm_split(m->cart, m->rank, 0, &m->subset[0]));
    } else {
      for (int i = 0; i < m->naxes; i++) remain[i] = (int)((mask >> i) & 1u);
      TESS_MPI_CHECK(MPI_Cart_sub(m->cart, remain, &m->subset[mask]));
    }
    TESS_MPI_CHECK(MPI_Comm_set_errhandler(m->subset[mask], MPI_ERRORS_RETURN));
  }
  *comm = m->subset[mask];
cleanup:
  return err;
}
