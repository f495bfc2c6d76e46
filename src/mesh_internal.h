/* src/mesh_internal.h: the mesh struct, shared by mesh.c, comm.c and the
 * comm backends (which need the cached communicators and the backend
 * override). Not installed: users see an opaque handle. */
#ifndef TESSERA_MESH_INTERNAL_H
#define TESSERA_MESH_INTERNAL_H
#include <tessera/comm.h>
#include <tessera/mesh.h>

#define TESS_MESH_NAME_LEN 32
#define TESS_MESH_NSUBSETS (1u << TESS_MESH_MAX_AXES)

struct tess_mesh {
  int naxes;
  char names[TESS_MESH_MAX_AXES][TESS_MESH_NAME_LEN];
  int sizes[TESS_MESH_MAX_AXES];
  int coords[TESS_MESH_MAX_AXES];
  int rank, size;
  MPI_Comm cart;                          /* owned */
  MPI_Comm subset[TESS_MESH_NSUBSETS];    /* by axis mask; MPI_COMM_NULL until asked */
  int device;                             /* bound GPU or -1 */
  tess_comm_backend_t backend;            /* TESS_COMM_AUTO unless overridden */
  /* What the device comm backends may use, agreed by all ranks at creation
   * (tess_comm_probe_), so that every rank picks the same backend. */
  int gpu_all;                            /* every rank has a bound GPU */
  int gpu_own;                            /* ... and no two ranks share one (NCCL) */
  int cuda_aware;                         /* every rank's MPI takes device pointers */
  void *staged;                           /* host-staged: pinned buffer cache */
  void *nccl;                             /* NCCL: communicators by axis mask */
};

/* Collective over the mesh: fills gpu_all, gpu_own, cuda_aware
 * (comm_probe.c). Called by tess_mesh_create after binding the device. */
tess_err_t tess_comm_probe_(struct tess_mesh *m);
/* Sets the mesh's override from tess_comm_set_default_backend (comm.c). */
void tess_comm_mesh_default_(struct tess_mesh *m);
/* Frees what the comm backends cached on the mesh (not collective). */
void tess_comm_mesh_release_(struct tess_mesh *m);
#endif
