/* spectral/denoise_cuda.h: the denoising study's own device kernels
 * (spectral/cuda/denoise_cuda.cu), private to spectral/: the elementwise
 * steps and local reductions that denoise_fields.c and denoise_metrics.c do
 * by loops on host arrays, for device arrays. The FFTs, the spectral rules
 * and the exact sums have device paths of their own (cuFFT backend,
 * spectral_cuda.h, tess_nrm2sq_f64 on device pointers).
 *
 * Each call works on the calling rank's current GPU, on the default stream
 * (the one the cuFFT backend and the exact sums use), and is synchronous:
 * its results are complete (and on the host, for the reductions) on return.
 * n == 0 is a no-op. CUDA failures are TESS_ERR_DEVICE with CUDA's error
 * string. In builds without cuFFT (spectral/cuda/ is not compiled) the same
 * names are stubs returning TESS_ERR_UNSUPPORTED: no device array reaches
 * them there, since the study then never asks for device memory.
 *
 * Bitwise contract: every arithmetic step is one explicitly rounded IEEE
 * operation (__dadd_rn, __dmul_rn, __dsub_rn: no FMA contraction), in the
 * host loop's order, so device and host give the same bits from the same
 * inputs, except for cos, sin and log (the clean field and the noise): those
 * are CUDA's, within an ulp or two of glibc's, so the drawn fields can
 * differ from a host run's in the last bits (never between rank counts:
 * each value is a function of its global index); the reductions are
 * order-free (max on an order-preserving integer key, sums of 64-bit words
 * mod 2^64). The fingerprint's mix below is the one definition both sides
 * compile. */
#ifndef TESSERA_SPECTRAL_DENOISE_CUDA_H
#define TESSERA_SPECTRAL_DENOISE_CUDA_H
#include <stdint.h>
#include <tessera/buffer.h>   /* TESS_MAX_NDIM */
#include <tessera/config.h>
#include <tessera/error.h>

#ifdef __CUDACC__
#define DENOISE_HD __host__ __device__
#else
#define DENOISE_HD
#endif

/* splitmix64's finaliser: the fingerprint hashes mix(bits ^ mix(global index)). */
static inline DENOISE_HD uint64_t denoise_mix64(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Where a rank's block sits in the global array (row-major, contiguous):
 * local shape, local start, global shape of nd dims. */
typedef struct {
  int nd;
  int64_t lsh[TESS_MAX_NDIM], lst[TESS_MAX_NDIM], gsh[TESS_MAX_NDIM];
} denoise_block_t;

/* The clean field's definition, for the device (denoise_fields.c fills it
 * from the options): cosine modes sum_j amp[j] cos(modes[j] . x), or
 * Taylor-Green sin x0 cos x1 (cos x2), at x_d = 2 pi g_d / n_d over the
 * block's global shape. */
#define DENOISE_CUDA_MAX_MODES 64
typedef struct {
  int taylor_green;
  int nmodes;
  int64_t modes[DENOISE_CUDA_MAX_MODES][3];
  double amp[DENOISE_CUDA_MAX_MODES];
} denoise_field_t;

#if TESSERA_HAVE_CUFFT
#ifdef __cplusplus
extern "C" {
#endif
/* The clean field f (modes or Taylor-Green) at the block's n points. */
tess_err_t denoise_cuda_clean(double *y, int64_t n, const denoise_block_t *b,
                              const denoise_field_t *f);
/* y[i] = c[i] + sigma * z, z the normal deviate of tess_rng_normal(seed, 1,
 * global linear index of i): the same Philox words and uniforms, CUDA's log
 * and cos (so z can be an ulp or two from the host's). */
tess_err_t denoise_cuda_noise(double *y, const double *c, int64_t n, const denoise_block_t *b,
                              uint64_t seed, double sigma);
/* x[i] = x[i] * s (the random field's scaling to unit RMS). */
tess_err_t denoise_cuda_scale(double *x, int64_t n, double s);
/* d[i] = x[i] - y[i]. */
tess_err_t denoise_cuda_diff(double *d, const double *x, const double *y, int64_t n);
/* mm[0] = max x[i], mm[1] = max -x[i] over the values that are not NaN;
 * -inf when there are none (the host loop's start). Host output. */
tess_err_t denoise_cuda_extrema(const double *x, int64_t n, double mm[2]);
/* *sum = sum over the block's n elements of mix(bits ^ mix(global linear
 * index)), mod 2^64. Host output. */
tess_err_t denoise_cuda_fingerprint(const double *x, int64_t n, const denoise_block_t *b,
                                    uint64_t *sum);
#ifdef __cplusplus
}
#endif
#else
static inline tess_err_t denoise_no_cuda_(const char *fn)
{
  return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, fn,
                         "device arrays in the denoising study need a build with cuFFT");
}
static inline tess_err_t denoise_cuda_clean(double *y, int64_t n, const denoise_block_t *b,
                                            const denoise_field_t *f)
{
  (void)y; (void)n; (void)b; (void)f;
  return denoise_no_cuda_(__func__);
}
static inline tess_err_t denoise_cuda_noise(double *y, const double *c, int64_t n,
                                            const denoise_block_t *b, uint64_t seed, double sigma)
{
  (void)y; (void)c; (void)n; (void)b; (void)seed; (void)sigma;
  return denoise_no_cuda_(__func__);
}
static inline tess_err_t denoise_cuda_scale(double *x, int64_t n, double s)
{
  (void)x; (void)n; (void)s;
  return denoise_no_cuda_(__func__);
}
static inline tess_err_t denoise_cuda_diff(double *d, const double *x, const double *y, int64_t n)
{
  (void)d; (void)x; (void)y; (void)n;
  return denoise_no_cuda_(__func__);
}
static inline tess_err_t denoise_cuda_extrema(const double *x, int64_t n, double mm[2])
{
  (void)x; (void)n; (void)mm;
  return denoise_no_cuda_(__func__);
}
static inline tess_err_t denoise_cuda_fingerprint(const double *x, int64_t n,
                                                  const denoise_block_t *b, uint64_t *sum)
{
  (void)x; (void)n; (void)b; (void)sum;
  return denoise_no_cuda_(__func__);
}
#endif
#endif
