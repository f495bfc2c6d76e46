/* include/tessera/mesh.h: named process axes mapped onto MPI communicators.
 * A mesh {"x":2,"y":3} over 6 ranks is a 2x3 Cartesian communicator (axis 0
 * varies slowest, as in MPI_Cart_create, ranks not reordered) plus one
 * communicator per axis and, on request, per subset of axes. Subsets are
 * named by a bit mask: bit i set = axis i included. */
#ifndef TESSERA_MESH_H
#define TESSERA_MESH_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <mpi.h>
#include <tessera/error.h>

typedef struct tess_mesh tess_mesh_t;   /* opaque */

#define TESS_MESH_MAX_AXES 8
#define TESS_MESH_INFER 0               /* a size left for Tessera to infer */

/* Collective on comm (which is duplicated, not kept). names are distinct,
 * non-empty identifiers; at most one size may be TESS_MESH_INFER. The product
 * of the sizes must equal the size of comm: otherwise TESS_ERR_ARG with both
 * numbers in the message. Binds one GPU per rank (by node-local rank) when the
 * build has a device backend and GPUs are visible. */
tess_err_t tess_mesh_create(MPI_Comm comm, int naxes, const char *const names[],
                            const int sizes[], tess_mesh_t **mesh);
/* Collective. Safe on NULL; sets *mesh to NULL. */
void tess_mesh_destroy(tess_mesh_t **mesh);

int tess_mesh_naxes(const tess_mesh_t *mesh);
const char *tess_mesh_axis_name(const tess_mesh_t *mesh, int axis);
int tess_mesh_axis_size(const tess_mesh_t *mesh, int axis);
/* TESS_ERR_ARG naming the mesh's axes if `name` is not one of them. */
tess_err_t tess_mesh_axis_find(const tess_mesh_t *mesh, const char *name, int *axis);
/* This rank's coordinate along an axis. */
int tess_mesh_coord(const tess_mesh_t *mesh, int axis);
/* Rank and size in the Cartesian communicator. */
int tess_mesh_rank(const tess_mesh_t *mesh);
int tess_mesh_size(const tess_mesh_t *mesh);
/* Cartesian rank of the process at coords[naxes], and the reverse. */
int tess_mesh_rank_of(const tess_mesh_t *mesh, const int coords[]);
void tess_mesh_coords_of(const tess_mesh_t *mesh, int rank, int coords[]);

/* Borrowed communicators, valid until tess_mesh_destroy(). */
MPI_Comm tess_mesh_comm(const tess_mesh_t *mesh);                 /* Cartesian */
MPI_Comm tess_mesh_axis_comm(const tess_mesh_t *mesh, int axis);
/* Cached communicator over the axes in the mask. Meshes of up to 4 axes make
 * every subset at creation, so this is then a lookup. With more axes a
 * subset of two or more axes is made on first request, which is collective
 * over the whole mesh. mask 0 is a communicator of this rank alone. */
tess_err_t tess_mesh_subset_comm(tess_mesh_t *mesh, unsigned axis_mask, MPI_Comm *comm);

/* GPU bound to this rank, or -1 when none. */
int tess_mesh_device(const tess_mesh_t *mesh);
TESS_API_END
#endif
