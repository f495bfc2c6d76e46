/* src/comm_probe.c: what the device comm backends may use on a mesh, agreed
 * by all its ranks once, at mesh creation. The automatic choice must be the
 * same on every rank (two ranks on different backends would deadlock), and
 * its inputs are per-rank facts: whether the rank has a GPU, whether another
 * rank of its node has the same GPU (NCCL refuses that; compared by UUID,
 * so per-rank CUDA_VISIBLE_DEVICES numberings do not fool it) and whether
 * its MPI takes device pointers. One allreduce agrees whether every rank
 * has a GPU; only then a node split, one allgather and a second allreduce
 * make the rest mesh-wide. A backend file (tests/layering/check_comm.sh
 * lets only comm backends call MPI collectives): this is the backends'
 * shared set-up, and it cannot go through tess_comm_* on a mesh that is
 * not made yet. */
#include "comm_backend.h"
#include "device.h"

#include <stdlib.h>
#include <string.h>

#define ID_BYTES 17   /* has-GPU flag + UUID */

tess_err_t tess_comm_probe_(tess_mesh_t *m)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_gpu_();
  MPI_Comm node = MPI_COMM_NULL;
  unsigned char mine[ID_BYTES] = {0}, *all = NULL;
  int nlocal = 0, me = 0, flags[3] = {0, 1, 0};   /* has GPU, owns it, CUDA-aware */
  m->gpu_all = m->gpu_own = m->cuda_aware = 0;
  if (!g) goto cleanup;   /* no GPU backend built: the same on every rank */
  if (m->device >= 0 && g->device_uuid) {
    TESS_CHECK(g->device_uuid(m->device, mine + 1));
    mine[0] = 1;
  }
  flags[0] = mine[0];
  /* Without a GPU on some rank no device backend can run on this mesh: one
   * allreduce says so, and a CUDA build on GPU-less machines (CI) makes no
   * node communicator per mesh. */
  TESS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &flags[0], 1, MPI_INT, MPI_MIN, m->cart));
  if (!flags[0]) goto cleanup;
  flags[2] = tess_comm_cuda_aware_local_();
  TESS_MPI_CHECK(MPI_Comm_split_type(m->cart, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  TESS_MPI_CHECK(MPI_Comm_size(node, &nlocal));
  TESS_MPI_CHECK(MPI_Comm_rank(node, &me));
  all = malloc((size_t)nlocal * ID_BYTES);
  TESS_REQUIRE(all != NULL, TESS_ERR_MEM, "device ids of %d ranks", nlocal);
  TESS_MPI_CHECK(MPI_Allgather(mine, ID_BYTES, MPI_BYTE, all, ID_BYTES, MPI_BYTE, node));
  for (int r = 0; r < nlocal; r++)
    if (r != me && mine[0] && memcmp(all + (size_t)r * ID_BYTES, mine, ID_BYTES) == 0)
      flags[1] = 0;
  TESS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, flags + 1, 2, MPI_INT, MPI_MIN, m->cart));
  m->gpu_all = flags[0];
  m->gpu_own = flags[0] && flags[1];
  m->cuda_aware = flags[0] && flags[2];
cleanup:
  free(all);
  if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
  return err;
}
