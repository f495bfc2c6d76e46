/* petsc/petsc_dmda.c: a DMDA's global vectors as Tessera arrays: the mesh,
 * shape, ShardSpec and explicit partition (tessera/petsc.h). A DMDA global
 * vector holds, on each rank, its box of the grid in row-major order with x
 * fastest and the dof components innermost; its ranks run x fastest. A mesh
 * with axes (z, y, x) over the same communicator (row-major ranks, not
 * reordered) puts each rank at the same box, and the ownership ranges are
 * the explicit partition. */
#include <stdlib.h>
#include <string.h>
#include <tessera/petsc.h>

#include "petsc_internal.h"

tess_err_t tess_petsc_dmda_layout_create(DM da, tess_petsc_dmda_layout_t *L)
{
  tess_err_t err = TESS_OK;
  PetscInt dim = 0, M = 0, N = 0, P = 0, m = 0, n = 0, p = 0, dof = 0;
  const PetscInt *own[3] = { NULL, NULL, NULL };
  static const char *const names3[3] = { "z", "y", "x" };
  const char *names[3];
  int sizes[3];
  int64_t ext[3], cnt = 0;
  PetscInt procs[3];
  MPI_Comm comm;
  TESS_REQUIRE(da && L, TESS_ERR_ARG, "NULL argument");
  memset(L, 0, sizeof *L);
  TESS_PETSC_CHECK(DMDAGetInfo(da, &dim, &M, &N, &P, &m, &n, &p, &dof, NULL, NULL, NULL, NULL, NULL));
  TESS_PETSC_CHECK(DMDAGetOwnershipRanges(da, &own[0], &own[1], &own[2]));
  TESS_PETSC_CHECK(PetscObjectGetComm((PetscObject)da, &comm));
  TESS_REQUIRE(dim >= 1 && dim <= 3, TESS_ERR_UNSUPPORTED, "a %d-D DMDA", (int)dim);
  /* DMDA order x, y, z -> Tessera dims slowest first: z, y, x */
  {
    const PetscInt g[3] = { M, N, P }, pr[3] = { m, n, p };
    for (int d = 0; d < dim; d++) {
      int k = (int)dim - 1 - d;   /* Tessera dim of DMDA direction d */
      ext[k] = g[d];
      procs[k] = pr[d];
      sizes[k] = (int)pr[d];
      names[k] = names3[3 - dim + k];
    }
  }
  TESS_CHECK(tess_mesh_create(comm, (int)dim, names, sizes, &L->mesh));
  L->ndim = (int)dim + (dof > 1);
  L->spec.ndim = L->ndim;
  for (int k = 0; k < (int)dim; k++) {
    L->shape[k] = ext[k];
    L->spec.axis[k] = k;
    cnt += procs[k];
  }
  if (dof > 1) {
    L->shape[dim] = dof;
    L->spec.axis[dim] = TESS_REPLICATED;
  }
  L->parts = malloc(sizeof *L->parts * (size_t)cnt);
  TESS_REQUIRE(L->parts, TESS_ERR_MEM, "DMDA partition");
  cnt = 0;
  for (int d = 0; d < dim; d++) {
    int k = (int)dim - 1 - d;
    for (PetscInt q = 0; q < procs[k]; q++) L->parts[cnt + q] = own[d][q];
    L->opts.partition[k] = L->parts + cnt;
    cnt += procs[k];
  }
cleanup:
  if (err && L) tess_petsc_dmda_layout_destroy(L);
  return err;
}

void tess_petsc_dmda_layout_destroy(tess_petsc_dmda_layout_t *L)
{
  if (!L) return;
  tess_mesh_destroy(&L->mesh);
  free(L->parts);
  memset(L, 0, sizeof *L);
}
