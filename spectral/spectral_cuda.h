/* spectral/spectral_cuda.h: device paths of the elementwise spectral
 * operators (spectral/cuda/spectral_ops_cuda.cu), private to spectral/.
 * The C operators validate their arguments, build the geometry below on the
 * host (wavenumber tables from tess_spectral_wavenumber itself, so the device
 * sees the host's k bits) and call these for device arrays. Declared only in
 * cuFFT builds: elsewhere device arrays stay TESS_ERR_UNSUPPORTED. */
#ifndef TESSERA_SPECTRAL_CUDA_H
#define TESSERA_SPECTRAL_CUDA_H
#include <stdint.h>
#include <tessera/array.h>
#include <tessera/config.h>
#include <tessera/spectral_ops.h>

/* Where the local block of a spectrum sits (tess_spectral_foreach's view). */
typedef struct {
  int nd, off, rank, half, single;   /* off = nd - rank: leading batch dims */
  int64_t count;                     /* local elements */
  int64_t lsh[TESS_MAX_NDIM], lst[TESS_MAX_NDIM], gsh[TESS_MAX_NDIM];
  int64_t n[3];                      /* real-space sizes of the transform dims */
  int64_t koff[4];                   /* k[koff[d] + i]: wavenumber of local i in dim d */
  double *k;                         /* host table (malloc), koff[rank] entries */
} spec_geom_t;

/* Validates X against g like tess_spectral_foreach and fills geo (free with
 * spec_geom_free). Any memory space. */
tess_err_t spec_geom_make(const tess_array_t *X, const tess_spectral_grid_t *g, spec_geom_t *geo);
void spec_geom_free(spec_geom_t *geo);

/* TESS_OK when every array is in device memory and a GPU is visible; else
 * TESS_ERR_UNSUPPORTED naming `caller`. Mixed host/device is refused. */
tess_err_t spec_require_device(const char *caller, int n, const tess_array_t *const a[]);

#if TESSERA_HAVE_CUFFT
#ifdef __cplusplus
extern "C" {
#endif
typedef enum { SPEC_LOWPASS, SPEC_GAUSS, SPEC_DEALIAS } spec_filter_t;
typedef enum { SPEC_GRAD, SPEC_DIV, SPEC_LAP, SPEC_ILAP } spec_deriv_t;

/* In place on the device data x (c64/c128 as geo->single). */
tess_err_t spec_cuda_filter(const spec_geom_t *geo, void *x, spec_filter_t op, double a);
/* GRAD: out[d] = i k_d x; DIV: x = sum_d i k_d in[d]; LAP / ILAP: out[0]. */
tess_err_t spec_cuda_deriv(const spec_geom_t *geo, spec_deriv_t op, void *x,
                           const void *const in[], void *const out[]);
/* max |c| (0 if none), total weight, count and weight of c != 0; keys/gidx
 * (host arrays of geo->count, may be NULL): |c|^2 bit patterns and global
 * linear indices, as spectral_threshold.c collects them. */
tess_err_t spec_cuda_stats(const spec_geom_t *geo, const void *x, double *maxabs,
                           int64_t *total_w, int64_t *nonzero, int64_t *nonzero_w,
                           uint64_t *keys, uint64_t *gidx);
/* The threshold's apply pass (visit_apply), counting the kept. */
tess_err_t spec_cuda_threshold(const spec_geom_t *geo, void *x, int rule, double t,
                               uint64_t tkey, uint64_t tidx, int keep_all, int keep_none,
                               int64_t *kept, int64_t *kept_w);
#ifdef __cplusplus
}
#endif
#endif
#endif
