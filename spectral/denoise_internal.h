/* spectral/denoise_internal.h: what the denoise kernel's files share
 * (private to spectral/): the fields (denoise_fields.c) and the metrics
 * (denoise_metrics.c) that tess_denoise_run (denoise.c) strings together. */
#ifndef TESSERA_SPECTRAL_DENOISE_INTERNAL_H
#define TESSERA_SPECTRAL_DENOISE_INTERNAL_H
#include <tessera/denoise.h>
#include "denoise_cuda.h"

/* The clean field into `clean`. RANDOM draws its half spectrum into `spec`
 * and transforms it back with `pb` (spec -> clean), then scales to unit RMS;
 * the others are filled point by point. Device arrays: the points are a
 * kernel; the random field's coefficients are computed on the host, in a
 * host twin of the array, and copied over, its transform and scaling run on
 * the device. Collective. */
tess_err_t denoise_fill_clean(const tess_denoise_options_t *o, int nthreads, tess_array_t *clean,
                              tess_array_t *spec, const tess_spectral_grid_t *grid,
                              const tess_fft_plan_t *pb);
/* noisy = clean + sigma * tess_rng_normal(seed, 1, global linear index).
 * Device arrays: one kernel (CUDA's log and cos, so a deviate can be an ulp
 * or two from the host's). Local. */
tess_err_t denoise_add_noise(const tess_denoise_options_t *o, int nthreads,
                             const tess_array_t *clean, tess_array_t *noisy);
/* Where a's local block sits in the global array, for the kernels. */
void denoise_block_of(const tess_array_t *a, denoise_block_t *b);
/* Threads for drawing the fields on this rank (both calls above take it):
 * TESS_HOST_THREADS, else the node's online cores over the ranks on the
 * node. Collective over the mesh (it counts the node's ranks). */
tess_err_t denoise_host_threads(tess_mesh_t *mesh, int *nthreads);

/* The metrics take host or device arrays (both of one call in the same
 * memory); device data never leaves the device, only the local results do. */
/* Exact sum over one copy of the array of (a - b)^2. Collective. */
tess_err_t denoise_sum_sq_diff(const tess_array_t *a, const tess_array_t *b, double *out);
/* Exact global min and max. Collective. */
tess_err_t denoise_extrema(const tess_array_t *a, double *lo, double *hi);
/* Exact sum of squares over one copy of the array. Collective. */
tess_err_t denoise_sum_sq(const tess_array_t *a, double *out);
#endif
