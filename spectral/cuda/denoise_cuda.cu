/* spectral/cuda/denoise_cuda.cu: the device kernels of the denoising study
 * (declared in spectral/denoise_cuda.h, which states the contract): the
 * clean field and the noise drawn point by point from their global indices,
 * the random field's scaling, the difference fed to the exact sum, the
 * extrema and the fingerprint's local sum, on device arrays.
 *
 * Elementwise kernels: one grid-stride loop, each value one explicitly
 * rounded operation as the host loop writes it (no FMA contraction).
 * Reductions: per thread over its elements, then per warp by shuffles, then
 * one 64-bit atomic per warp into a device counter: max on an
 * order-preserving integer key of the double (exact, order-free), the
 * fingerprint a sum of 64-bit words mod 2^64 (unsigned wrap-around, also
 * order-free). So each result is the host loop's, bit for bit, except that a
 * maximum that is a zero comes out +0 where the host keeps the first zero
 * it meets (either sign). Everything on the default stream; each call ends
 * with a synchronous copy or stream synchronisation and reports launch and
 * execution errors as TESS_ERR_DEVICE. */
#include <cuda_runtime.h>
#include <math.h>
#include <mpi.h>   /* before the extern "C" block: tessera's headers include it */
#include <stdint.h>
#include <string.h>

extern "C" {
#include <tessera/error.h>
#include "cuda_finish.h"

#include <tessera/rng.h>
#include "../denoise_cuda.h"
}

#define CUDA_FAIL(e, what)                                                                \
  (cudaGetLastError(),                                                                  \
   tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, "%s: %s (%s)", what,   \
                   cudaGetErrorString(e), cudaGetErrorName(e)))

#define CUDA_TRY(call, what)                                                              \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) { err = CUDA_FAIL(e_, what); goto cleanup; }                   \
  } while (0)

#define THREADS 256   /* a multiple of the warp size: the warp shuffles need whole warps */

#define FOR_EACH(i, n)                                                                    \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);              \
       i += (int64_t)gridDim.x * blockDim.x)

/* Enough blocks to cover n once, at most 4096 (grid-stride beyond): the
 * reductions then make at most 4096 * 8 atomics. */
static unsigned blocks_for(int64_t n)
{
  int64_t b = (n + THREADS - 1) / THREADS;
  return (unsigned)(b < 1 ? 1 : b > 4096 ? 4096 : b);
}

#define finish(what) spectral_cuda_finish_(__FILE__, __LINE__, "denoise_cuda", what)

/* ---- elementwise ------------------------------------------------------------------ */

/* Local element i's global coordinates (tess_array_global_index) into g;
 * returns the global linear index (tess_array_global_linear). */
__device__ static int64_t block_index(const denoise_block_t &B, int64_t i, int64_t g[])
{
  int64_t r = i, gl = 0;
  for (int d = B.nd - 1; d >= 0; d--) {
    int64_t m = B.lsh[d] > 0 ? B.lsh[d] : 1;
    g[d] = B.lst[d] + r % m;
    r /= m;
  }
  for (int d = 0; d < B.nd; d++) gl = gl * B.gsh[d] + g[d];
  return gl;
}

/* host: fill_clean in denoise_fields.c, the same operations in its order */
__global__ void k_clean(double *y, int64_t n, denoise_block_t B, denoise_field_t F)
{
  FOR_EACH(i, n) {
    int64_t g[TESS_MAX_NDIM];
    double x[3] = {0, 0, 0}, s = 0;
    block_index(B, i, g);
    for (int d = 0; d < B.nd && d < 3; d++)
      x[d] = __ddiv_rn(__dmul_rn(2 * 3.14159265358979323846, (double)g[d]), (double)B.gsh[d]);
    if (!F.taylor_green) {
      for (int j = 0; j < F.nmodes; j++) {
        double ph = 0;
        for (int d = 0; d < B.nd; d++) ph = __dadd_rn(ph, __dmul_rn((double)F.modes[j][d], x[d]));
        s = __dadd_rn(s, __dmul_rn(F.amp[j], cos(ph)));
      }
    } else {
      s = __dmul_rn(__dmul_rn(sin(x[0]), cos(x[1])), B.nd == 3 ? cos(x[2]) : 1.0);
    }
    y[i] = s;
  }
}

/* host: noise_span + tess_rng_normal */
__global__ void k_noise(double *y, const double *c, int64_t n, denoise_block_t B, uint64_t seed,
                        double sigma)
{
  FOR_EACH(i, n) {
    int64_t g[TESS_MAX_NDIM];
    uint32_t w[4];
    double u1, u2;
    tess_rng_philox_words(seed, 1, (uint64_t)block_index(B, i, g), w);
    tess_rng_box_muller_uniforms(w, &u1, &u2);
    double z = __dmul_rn(__dsqrt_rn(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(TESS_RNG_TWO_PI, u2)));
    y[i] = __dadd_rn(c[i], __dmul_rn(sigma, z));
  }
}

__global__ void k_scale(double *x, int64_t n, double s)
{
  FOR_EACH(i, n) x[i] = __dmul_rn(x[i], s);
}

__global__ void k_diff(double *d, const double *x, const double *y, int64_t n)
{
  FOR_EACH(i, n) d[i] = __dsub_rn(x[i], y[i]);
}

/* ---- reductions ------------------------------------------------------------------- */

/* An unsigned key in the order of the doubles (-inf < ... < -0 < +0 < ... <
 * +inf): negative values have all bits flipped, others the sign bit set. A
 * value's key is never 0 (that would be a NaN's), so 0 means "none". */
__device__ static unsigned long long order_key(double v)
{
  unsigned long long b = (unsigned long long)__double_as_longlong(v);
  return (b >> 63) ? ~b : (b | 0x8000000000000000ull);
}

/* order_key's inverse, on the host. */
static double key_value(unsigned long long k)
{
  unsigned long long b = (k >> 63) ? (k & 0x7fffffffffffffffull) : ~k;
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}

__device__ static unsigned long long warp_max(unsigned long long v)
{
  for (int off = 16; off > 0; off >>= 1) {
    unsigned long long o = __shfl_xor_sync(0xffffffffu, v, off);
    v = o > v ? o : v;
  }
  return v;
}

__device__ static unsigned long long warp_sum(unsigned long long v)
{
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

/* out[0] = max key of x, out[1] = max key of -x (NaNs skipped). */
__global__ void k_extrema(const double *x, int64_t n, unsigned long long *out)
{
  unsigned long long hi = 0, lo = 0;
  FOR_EACH(i, n) {
    double v = x[i];
    if (!(v == v)) continue;   /* NaN: the host's comparisons skip it too */
    unsigned long long a = order_key(v), b = order_key(-v);
    if (a > hi) hi = a;
    if (b > lo) lo = b;
  }
  hi = warp_max(hi);   /* every thread of the block gets here: full warps */
  lo = warp_max(lo);
  if ((threadIdx.x & 31) == 0) {
    if (hi) atomicMax(&out[0], hi);
    if (lo) atomicMax(&out[1], lo);
  }
}

/* tess_array_global_index + tess_array_global_linear of local element i,
 * then the host's mix. */
__global__ void k_fingerprint(const double *x, int64_t n, denoise_block_t B,
                              unsigned long long *out)
{
  unsigned long long s = 0;
  FOR_EACH(i, n) {
    int64_t c[TESS_MAX_NDIM], gl = block_index(B, i, c);
    uint64_t bits = (uint64_t)__double_as_longlong(x[i]);
    s += (unsigned long long)denoise_mix64(bits ^ denoise_mix64((uint64_t)gl));
  }
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0 && s) atomicAdd(out, s);   /* wraps mod 2^64, as the host's sum */
}

/* ---- entry points ------------------------------------------------------------------ */

extern "C" tess_err_t denoise_cuda_clean(double *y, int64_t n, const denoise_block_t *b,
                                         const denoise_field_t *f)
{
  if (n <= 0) return TESS_OK;
  k_clean<<<blocks_for(n), THREADS>>>(y, n, *b, *f);
  return finish("clean field");
}

extern "C" tess_err_t denoise_cuda_noise(double *y, const double *c, int64_t n,
                                         const denoise_block_t *b, uint64_t seed, double sigma)
{
  if (n <= 0) return TESS_OK;
  k_noise<<<blocks_for(n), THREADS>>>(y, c, n, *b, seed, sigma);
  return finish("noise");
}

extern "C" tess_err_t denoise_cuda_scale(double *x, int64_t n, double s)
{
  if (n <= 0) return TESS_OK;
  k_scale<<<blocks_for(n), THREADS>>>(x, n, s);
  return finish("scaling");
}

extern "C" tess_err_t denoise_cuda_diff(double *d, const double *x, const double *y, int64_t n)
{
  if (n <= 0) return TESS_OK;
  k_diff<<<blocks_for(n), THREADS>>>(d, x, y, n);
  return finish("difference");
}

/* A zeroed device counter of `words` 64-bit words. */
static tess_err_t counters(int words, unsigned long long **d)
{
  tess_err_t err = TESS_OK;
  *d = NULL;
  CUDA_TRY(cudaMalloc((void **)d, sizeof(unsigned long long) * (size_t)words),
           "cudaMalloc of the reduction counters");
  CUDA_TRY(cudaMemset(*d, 0, sizeof(unsigned long long) * (size_t)words),
           "clearing the reduction counters");
cleanup:
  if (err) {
    cudaFree(*d);
    *d = NULL;
  }
  return err;
}

extern "C" tess_err_t denoise_cuda_extrema(const double *x, int64_t n, double mm[2])
{
  tess_err_t err = TESS_OK;
  unsigned long long *d = NULL, h[2] = {0, 0};
  if (n > 0) {
    TESS_CHECK(counters(2, &d));
    k_extrema<<<blocks_for(n), THREADS>>>(x, n, d);
    TESS_CHECK(finish("extrema"));
    CUDA_TRY(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost), "copying the extrema");
  }
  mm[0] = h[0] ? key_value(h[0]) : -HUGE_VAL;
  mm[1] = h[1] ? key_value(h[1]) : -HUGE_VAL;
cleanup:
  cudaFree(d);
  return err;
}

extern "C" tess_err_t denoise_cuda_fingerprint(const double *x, int64_t n, const denoise_block_t *b,
                                               uint64_t *sum)
{
  tess_err_t err = TESS_OK;
  unsigned long long *d = NULL, h = 0;
  if (n > 0) {
    TESS_CHECK(counters(1, &d));
    k_fingerprint<<<blocks_for(n), THREADS>>>(x, n, *b, d);
    TESS_CHECK(finish("fingerprint"));
    CUDA_TRY(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost), "copying the fingerprint");
  }
  *sum = (uint64_t)h;
cleanup:
  cudaFree(d);
  return err;
}
