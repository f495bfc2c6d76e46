/* spectral/spectral_internal.h: small helpers shared by the spectral
 * operators (private to spectral/). */
#ifndef TESSERA_SPECTRAL_INTERNAL_H
#define TESSERA_SPECTRAL_INTERNAL_H
#include <mpi.h>
#include <tessera/array.h>

#define TESS_PI 3.14159265358979323846

/* Element access for c64 / c128 spectra. */
static inline void spec_get(const void *e, int single, double *re, double *im)
{
  if (single) { const float *f = e; *re = f[0]; *im = f[1]; }
  else { const double *f = e; *re = f[0]; *im = f[1]; }
}
static inline void spec_set(void *e, int single, double re, double im)
{
  if (single) { float *f = e; f[0] = (float)re; f[1] = (float)im; }
  else { double *f = e; f[0] = re; f[1] = im; }
}

/* The mesh axes of one full copy of the array (those its spec uses): sums
 * over them count every element once even when the mesh has axes the array
 * is replicated over. */
static inline unsigned spec_owner_axes(const tess_array_t *a)
{
  tess_shardspec_t sp;
  unsigned mask = 0;
  tess_array_spec(a, &sp);
  for (int i = 0; i < sp.ndim; i++)
    if (sp.axis[i] >= 0) mask |= 1u << sp.axis[i];
  return mask;
}

/* Communicator over one full copy of the array (the mesh axes its spec
 * uses): sums over it count every element once even when the mesh has axes
 * the array is replicated over. Borrowed from the mesh. */
tess_err_t tess_spectral_owner_comm(const tess_array_t *a, MPI_Comm *comm);
#endif
