/* tessera/petsc.h: Tessera arrays and PETSc vectors, without copies
 * (libtessera_petsc; built where PETSc is found, see docs/petsc.md).
 *
 *   Tessera -> PETSc  tess_petsc_vec_create(a, &v): a Vec over the array's
 *                     local block (VecCreateMPIWithArray). Global order: the
 *                     ranks' blocks one after the other (PETSc's order, as a
 *                     DMDA global vector's), each block row-major.
 *   PETSc -> Tessera  tess_petsc_vec_get_array(v, ..., &a) ... 
 *                     tess_petsc_vec_restore_array(v, &a): an array over the
 *                     Vec's local values, between VecGetArray and
 *                     VecRestoreArray (so PETSc knows they may have changed).
 *   DMDA -> layout    tess_petsc_dmda_layout_create(da, &L): the mesh, shape,
 *                     ShardSpec and explicit partition of the DMDA's global
 *                     vectors, for the call above.
 * Host memory and real double PetscScalar (PETSc's default build) only; other
 * cases fail with TESS_ERR_UNSUPPORTED saying why. Link with
 * -ltessera_petsc -ltessera and PETSc. */
#ifndef TESSERA_PETSC_H
#define TESSERA_PETSC_H
#include <petscdmda.h>
#include <petscvec.h>
#include <tessera/array.h>
#include <tessera/export.h>
TESS_API_BEGIN

/* Collective on the array's mesh. A Vec over the array's local block (no
 * copy: the same address). The array must outlive the Vec (VecDestroy it
 * first). Every element must have one owner: arrays with replicated
 * dimensions over an axis of size > 1, device arrays, and dtypes other than
 * f64 are refused. */
tess_err_t tess_petsc_vec_create(tess_array_t *a, Vec *v);

/* Collective on the mesh. An array of the given shape and spec over v's local
 * values (VecGetArray: no copy). The local block the spec gives this rank
 * must have v's local size; an explicit partition (opts, as from
 * tess_petsc_dmda_layout_create) says how the dims are split. Give it back
 * with tess_petsc_vec_restore_array before using v through PETSc again. */
tess_err_t tess_petsc_vec_get_array(Vec v, tess_mesh_t *mesh, int ndim, const int64_t shape[],
                                    const tess_shardspec_t *spec, const tess_array_opts_t *opts,
                                    tess_array_t **a);
/* Destroys the view and calls VecRestoreArray. Safe on *a == NULL. */
tess_err_t tess_petsc_vec_restore_array(Vec v, tess_array_t **a);

/* The layout of a DMDA's global vectors as a Tessera array: a mesh over the
 * DM's communicator with one axis per DMDA dimension, slowest first
 * ("z", "y", "x": DMDA ranks run x fastest, as the mesh's row-major ranks
 * do), shape (P, N, M) for 3-D ((N, M) for 2-D, (M) for 1-D) with a last dim
 * of size dof when dof > 1 (not sharded), each dim sharded over its axis with
 * the DMDA's ownership ranges as the explicit partition. Global vectors only:
 * a DMDA's local (ghosted) vectors have other sizes and are refused by
 * tess_petsc_vec_get_array. */
typedef struct {
  tess_mesh_t *mesh;                 /* owned: destroyed by the layout's destroy */
  int ndim;
  int64_t shape[TESS_MAX_NDIM];
  tess_shardspec_t spec;
  tess_array_opts_t opts;            /* opts.partition[] point into `parts` */
  int64_t *parts;
} tess_petsc_dmda_layout_t;

/* Collective on the DM's communicator. */
tess_err_t tess_petsc_dmda_layout_create(DM da, tess_petsc_dmda_layout_t *layout);
/* Not collective... except that it destroys the mesh: call it on every rank. */
void tess_petsc_dmda_layout_destroy(tess_petsc_dmda_layout_t *layout);

TESS_API_END
#endif
