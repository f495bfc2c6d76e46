/* src/cuda/exact_sum_cuda.cu: the exact sum on device data.
 * The same arithmetic as the CPU's fast path (exact_sum_fast.c), cut for a
 * GPU: each lane keeps NB Demmel-Nguyen bins S_k = 1.5*2^e_k + A_k,
 * e_k = e0 - STEP*k, fed by error-free Fast2Sum steps (3 flops per bin and
 * element, no data-dependent branch); whatever a bin cannot hold exactly
 * (elements above the bound, non-finite values, remainders after the last
 * bin) goes, exactly, to a radix-2^32 superaccumulator in shared memory
 * (integer atomics). e0 and the bin count are per warp (warp-uniform: all
 * lanes decide from warp reductions, so nothing diverges): e0 rises when a
 * tile of the warp holds an element too large for bin 0, the bin count
 * grows when a tile spilled. Every 64 adds per lane the bins are folded
 * into int64s (A_k in units of its ulp), which go to the superaccumulator
 * when e0 changes and at the end. Each block normalises its digits and adds
 * them to one global result; the host merges that into a tess_exact_acc_t.
 * So the value is the exact sum whatever the data, and its rounding (on the
 * host, by the CPU code) gives the CPU's bits.
 *
 * One read of the data, coalesced 8-byte loads (8 per lane in flight); the
 * arithmetic is 3*NB double adds per element (NB = 2 for data within ~34
 * binades of the largest, 4 for 2^+-60), under the H100/H200 FP64 rate at
 * HBM speed. No fast-math: the bins need round-to-nearest adds that the
 * compiler may not contract or reorder (intrinsics make that explicit). */
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdint.h>

extern "C" {
#include "device.h"
}

#define XS_NL 136            /* digits: must equal XACC_NLIMBS (checked at the call) */
#define XS_EMIN (-2176)      /* weight of digit 0: XACC_EMIN */
#define XS_NOUT (XS_NL + 3)  /* digits, then NaN, +Inf, -Inf counts */

#define NBMAX 5
#define HEAD 8                        /* headroom bits: |x| < 2^(e0 - HEAD) enters bin 0 */
#define STEP (52 - HEAD)              /* bits per bin */
#define MARGIN 2                      /* binades above the need when e0 rises */
#define E0_MIN (-960 + STEP * (NBMAX - 1))   /* keeps 2^(52 - e_k) finite */
#define E0_MAX 1022                   /* S_0 < 2^(e0 + 1) finite */
#define FOLD_ADDS 64                  /* adds per lane between folds (headroom allows 128) */
#define FOLDS_MAX 2048                /* folds of < 2^51 per int64 */
#define UNROLL 8                      /* elements per lane per tile */
#define THREADS 256
#define TILE (32 * UNROLL)
#define BLOCK_MAX_ELEMS ((size_t)1 << 26)   /* keeps every shared digit < 2^62 */

#define CUDA_FAIL(e, what, ...)                                                         \
  (cudaGetLastError(),                                                                \
   tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, what ": %s (%s)",     \
                   ##__VA_ARGS__, cudaGetErrorString(e), cudaGetErrorName(e)))

namespace {

typedef unsigned long long u64;

__device__ __forceinline__ void digit(u64 *d, int k, long long v)
{
  if (v) atomicAdd(&d[k], (u64)v);
}

/* d += v * 2^e (|v| < 2^63, e >= XS_EMIN): three digits. */
__device__ void add_i64(u64 *d, long long v, int e)
{
  if (!v) return;
  int pos = e - XS_EMIN, k = pos >> 5, sh = pos & 31;
  long long sgn = v < 0 ? -1 : 1;
  u64 u = v < 0 ? 0ull - (u64)v : (u64)v;
  u64 d0 = (u & 0xffffffffull) << sh, d1 = (u >> 32) << sh;
  digit(d, k, sgn * (long long)(d0 & 0xffffffffull));
  digit(d, k + 1, sgn * (long long)((d0 >> 32) + (d1 & 0xffffffffull)));
  digit(d, k + 2, sgn * (long long)(d1 >> 32));
}

/* Split a finite double into m * 2^e, m signed, |m| < 2^53. */
__device__ __forceinline__ void split(double v, long long *m, int *e)
{
  u64 b = (u64)__double_as_longlong(v);
  int be = (int)((b >> 52) & 0x7ff);
  long long mm = (long long)(b & ((1ull << 52) - 1)) | ((long long)(be != 0) << 52);
  *e = be ? be - 1075 : -1074;
  *m = (b >> 63) ? -mm : mm;
}

/* d += v exactly; NaN and Inf are counted. */
__device__ void add_value(u64 *d, double v)
{
  if (isnan(v)) { atomicAdd(&d[XS_NL], 1ull); return; }
  if (isinf(v)) { atomicAdd(&d[v > 0 ? XS_NL + 1 : XS_NL + 2], 1ull); return; }
  long long m;
  int e;
  split(v, &m, &e);
  add_i64(d, m, e);
}

/* d += x*y exactly (106-bit product), IEEE rules for the specials. */
__device__ void add_product(u64 *d, double x, double y)
{
  if (isnan(x) || isnan(y)) { atomicAdd(&d[XS_NL], 1ull); return; }
  if (isinf(x) || isinf(y)) {
    int slot = (x == 0 || y == 0) ? XS_NL : ((x < 0) != (y < 0)) ? XS_NL + 2 : XS_NL + 1;
    atomicAdd(&d[slot], 1ull);
    return;
  }
  long long mx, my;
  int ex, ey;
  split(x, &mx, &ex);
  split(y, &my, &ey);
  if (!mx || !my) return;
  int neg = (mx < 0) != (my < 0);
  u64 ux = (u64)(mx < 0 ? -mx : mx), uy = (u64)(my < 0 ? -my : my);
  u64 lo = ux * uy, hi = __umul64hi(ux, uy);
  int pos = ex + ey - XS_EMIN, k = pos >> 5, sh = pos & 31;
  unsigned w[4] = {(unsigned)lo, (unsigned)(lo >> 32), (unsigned)hi, (unsigned)(hi >> 32)};
  u64 carry = 0;
  for (int j = 0; j <= 4; j++) {
    u64 t = (j < 4 ? (u64)w[j] << sh : 0) | carry;
    long long dg = (long long)(unsigned)t;
    carry = t >> 32;
    digit(d, k + j, neg ? -dg : dg);
  }
}

/* 2^e as a double (normal range), and 1.5 * 2^e. */
__device__ __forceinline__ double pow2(int e) { return __longlong_as_double((long long)(e + 1023) << 52); }
__device__ __forceinline__ double m_of(int e)
{
  return __longlong_as_double(((long long)(e + 1023) << 52) | (1ll << 51));
}
__device__ __forceinline__ unsigned key_of(double v)
{
  return (unsigned)((u64)__double_as_longlong(v) >> 32) & 0x7fffffffu;
}

__device__ __forceinline__ unsigned warp_max(unsigned v)
{
#if __CUDA_ARCH__ >= 800
  return __reduce_max_sync(0xffffffffu, v);
#else
  for (int o = 16; o; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
#endif
}

/* The state of one lane's bins (e0 and nb are the warp's). */
struct bins_t {
  double S[NBMAX];
  long long q[NBMAX];
  int e0, adds, folds;
  unsigned bound;   /* key of 2^(e0 - HEAD): keys below it enter bin 0 */
};

__device__ __forceinline__ void bins_reset(bins_t &b, int e0)
{
  b.e0 = e0;
  b.bound = (unsigned)(e0 - HEAD + 1023) << 20;
#pragma unroll
  for (int k = 0; k < NBMAX; k++) b.S[k] = m_of(e0 - STEP * k);
  b.adds = 0;
  b.folds = 0;
}

/* A_k (exact: S_k - M_k) in units of 2^(e_k - 52), an integer < 2^51. */
__device__ __forceinline__ void bins_fold(bins_t &b)
{
#pragma unroll
  for (int k = 0; k < NBMAX; k++) {
    int ek = b.e0 - STEP * k;
    double m = m_of(ek), a = __dsub_rn(b.S[k], m);
    b.q[k] += __double2ll_rn(__dmul_rn(a, pow2(52 - ek)));
    b.S[k] = m;
  }
  b.adds = 0;
  b.folds++;
}

__device__ __forceinline__ void bins_flush(bins_t &b, u64 *d)
{
#pragma unroll
  for (int k = 0; k < NBMAX; k++) {
    add_i64(d, b.q[k], b.e0 - STEP * k - 52);
    b.q[k] = 0;
  }
  b.folds = 0;
}

/* x into NB bins; returns 1 if a remainder had to be spilled. */
template <int NB>
__device__ __forceinline__ int bins_add(bins_t &b, double x, u64 *d)
{
  double r = x;
#pragma unroll
  for (int k = 0; k < NB; k++) {
    double s = __dadd_rn(b.S[k], r);
    double q = __dsub_rn(s, b.S[k]);
    r = __dsub_rn(r, q);
    b.S[k] = s;
  }
  if (r != 0) {
    add_value(d, r);
    return 1;
  }
  return 0;
}

/* x through bins 0..NB-1, the last one a plain add: exact when every value
 * of the tile is a multiple of that bin's ulp (the tile's NB is chosen so;
 * the CPU kernel's LAST rule). No remainder, nothing to test. */
template <int NB>
__device__ __forceinline__ void bins_add_last(bins_t &b, double x)
{
  double r = x;
#pragma unroll
  for (int k = 0; k < NB - 1; k++) {
    double s = __dadd_rn(b.S[k], r);
    double q = __dsub_rn(s, b.S[k]);
    r = __dsub_rn(r, q);
    b.S[k] = s;
  }
  b.S[NB - 1] = __dadd_rn(b.S[NB - 1], r);
}

/* One tile's values (and low parts for dot products) through NB bins;
 * EXACT_LAST: the tile's values are multiples of bin NB-1's ulp, else the
 * remainders after NBMAX bins are spilled. */
template <int NB, bool EXACT_LAST, bool DOT>
__device__ __forceinline__ void tile_add(bins_t &b, const double (&v)[UNROLL],
                                         const double (&w)[UNROLL], u64 *d)
{
#pragma unroll
  for (int j = 0; j < UNROLL; j++) {
    if (key_of(v[j]) < b.bound) {
      if (EXACT_LAST) {
        bins_add_last<NB>(b, v[j]);
        if (DOT) bins_add_last<NB>(b, w[j]);
      } else {
        bins_add<NB>(b, v[j], d);
        if (DOT) bins_add<NB>(b, w[j], d);
      }
    } else {   /* too large for bin 0, or Inf/NaN (for DOT: p finite, p + w exact) */
      add_value(d, v[j]);
      if (DOT) add_value(d, w[j]);
    }
  }
}

/* The bins a tile needs: values are multiples of their own ulp, so bin k
 * (ulp 2^(e0 - STEP*k - 52)) takes the last, exact add of a value of biased
 * exponent be once e0 - STEP*k - 52 <= be - 1075. From the smallest nonzero
 * value of the tile entering the bins (warp-uniform); NBMAX + 1: more than
 * the bins hold exactly (remainders spill). */
__device__ __forceinline__ int bins_needed(const bins_t &b, unsigned kmin)
{
  if (kmin == 0xffffffffu) return 2;   /* zeros only */
  int be = (int)(kmin >> 20);
  if (be < 1) be = 1;                  /* subnormals: ulp 2^-1074 */
  int nb = 1 + (b.e0 + 1023 - be + STEP - 1) / STEP;   /* e0 + 1023 - be > HEAD */
  return nb > NBMAX ? NBMAX + 1 : nb;
}

template <typename T>
__device__ __forceinline__ double load(const T *p, size_t i)
{
  return (double)__ldcs(p + i);   /* streamed: read once */
}

/* A whole tile in 16-byte loads (p 16-byte aligned): lane l holds
 * elements 2l + 64j, 2l + 64j + 1 (f64) or 4l + 128j + 0..3 (f32). Which
 * lane adds which element does not matter: the sum is exact. */
__device__ __forceinline__ void load_tile_vec(const double *p, unsigned lane, double (&v)[UNROLL])
{
  const double2 *q = reinterpret_cast<const double2 *>(p) + lane;
#pragma unroll
  for (int j = 0; j < UNROLL / 2; j++) {
    double2 a = __ldcs(q + 32 * j);
    v[2 * j] = a.x;
    v[2 * j + 1] = a.y;
  }
}
__device__ __forceinline__ void load_tile_vec(const float *p, unsigned lane, double (&v)[UNROLL])
{
  const float4 *q = reinterpret_cast<const float4 *>(p) + lane;
#pragma unroll
  for (int j = 0; j < UNROLL / 4; j++) {
    float4 a = __ldcs(q + 32 * j);
    v[4 * j] = a.x;
    v[4 * j + 1] = a.y;
    v[4 * j + 2] = a.z;
    v[4 * j + 3] = a.w;
  }
}

__device__ __forceinline__ unsigned warp_min(unsigned v)
{
#if __CUDA_ARCH__ >= 800
  return __reduce_min_sync(0xffffffffu, v);
#else
  for (int o = 16; o; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
#endif
}

/* Where a sum's result goes: the digits (zero between calls), the block
 * ticket, and the host-mapped copy the last block fills. */
struct xs_out_t {
  u64 *digits;
  unsigned *ticket;
  u64 *host;   /* device view of mapped pinned memory */
};

/* Sum (or dot) of n values x[i*stride] (y[i*stride]), plus the first `head`
 * values (stride 1) taken one by one; VEC: x + head (and y + head) are
 * 16-byte aligned and stride is 1. */
template <typename T, bool DOT, bool VEC>
__global__ void __launch_bounds__(THREADS) xsum_kernel(const T *x, const T *y, size_t n,
                                                       size_t stride, int head, xs_out_t out)
{
  __shared__ u64 sd[XS_NOUT];
  __shared__ int last_block;
  for (int i = threadIdx.x; i < XS_NOUT; i += blockDim.x) sd[i] = 0;
  __syncthreads();
  if (blockIdx.x == 0 && threadIdx.x < head) {   /* the unaligned head: exact, one by one */
    double a = (double)x[threadIdx.x];
    if (DOT) add_product(sd, a, (double)y[threadIdx.x]);
    else add_value(sd, a);
  }
  x += head;
  if (DOT) y += head;
  n -= (size_t)head;

  const unsigned lane = threadIdx.x & 31;
  const size_t warp = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const size_t nwarps = ((size_t)gridDim.x * blockDim.x) >> 5;
  const size_t ntiles = (n + TILE - 1) / TILE;

  bins_t b;
#pragma unroll
  for (int k = 0; k < NBMAX; k++) b.q[k] = 0;
  bins_reset(b, E0_MIN);

  for (size_t t = warp; t < ntiles; t += nwarps) {
    double v[UNROLL], w[UNROLL];
    size_t i0 = t * TILE + lane;
    if ((t + 1) * TILE <= n) {
      if (VEC) {
        load_tile_vec(x + t * TILE, lane, v);
        if (DOT) load_tile_vec(y + t * TILE, lane, w);
      } else {
#pragma unroll
        for (int j = 0; j < UNROLL; j++) v[j] = load(x, (i0 + 32 * j) * stride);
        if (DOT) {
#pragma unroll
          for (int j = 0; j < UNROLL; j++) w[j] = load(y, (i0 + 32 * j) * stride);
        }
      }
    } else {   /* the last tile: zeros past the end add nothing */
#pragma unroll
      for (int j = 0; j < UNROLL; j++) {
        size_t i = i0 + 32 * j;
        v[j] = i < n ? load(x, i * stride) : 0.0;
        if (DOT) w[j] = i < n ? load(y, i * stride) : 0.0;
      }
    }
    if (DOT) {   /* x*y = p + e exactly while p is finite and |p| >= 2^-968 */
#pragma unroll
      for (int j = 0; j < UNROLL; j++) {
        double xx = v[j], yy = w[j], p = __dmul_rn(xx, yy);
        double ap = fabs(p);
        if (ap >= 0x1p-968 && ap <= 1.7976931348623157e308) {
          v[j] = p;
          w[j] = __fma_rn(xx, yy, -p);
        } else {
          if (!(xx == 0 || yy == 0) || isnan(xx) || isnan(yy) || isinf(xx) || isinf(yy))
            add_product(sd, xx, yy);
          v[j] = 0;
          w[j] = 0;
        }
      }
    }
    unsigned key = 0;
#pragma unroll
    for (int j = 0; j < UNROLL; j++) key = max(key, key_of(v[j]));
    key = warp_max(key);
    if (key >= b.bound && key < 0x7ff00000u) {   /* raise e0 if it can rise */
      int need = (int)(key >> 20) - 1022 + HEAD + MARGIN;
      if (need > b.e0 && need <= E0_MAX) {
        bins_fold(b);
        bins_flush(b, sd);
        bins_reset(b, need);
      }
    }
    unsigned kmin = 0xffffffffu;   /* smallest nonzero value entering the bins */
#pragma unroll
    for (int j = 0; j < UNROLL; j++) {
      unsigned kv = key_of(v[j]);
      if (kv < b.bound) {
        if (v[j] != 0) kmin = min(kmin, kv);
        if (DOT && w[j] != 0) kmin = min(kmin, key_of(w[j]));
      }
    }
    switch (bins_needed(b, warp_min(kmin))) {
    case 2: tile_add<2, true, DOT>(b, v, w, sd); break;
    case 3: tile_add<3, true, DOT>(b, v, w, sd); break;
    case 4: tile_add<4, true, DOT>(b, v, w, sd); break;
    case 5: tile_add<5, true, DOT>(b, v, w, sd); break;
    default: tile_add<NBMAX, false, DOT>(b, v, w, sd); break;
    }
    b.adds += DOT ? 2 * UNROLL : UNROLL;
    if (b.adds >= FOLD_ADDS) {
      bins_fold(b);
      if (b.folds >= FOLDS_MAX) bins_flush(b, sd);
    }
  }
  bins_fold(b);
  bins_flush(b, sd);
  __syncthreads();
  if (threadIdx.x == 0) {   /* carries: digits 0..NL-2 in [0, 2^32) */
    long long carry = 0;
    for (int i = 0; i < XS_NL - 1; i++) {
      long long v = (long long)sd[i] + carry;
      long long low = v & 0xffffffffll;
      carry = (v - low) >> 32;   /* exact: v - low is a multiple of 2^32 */
      sd[i] = (u64)low;
    }
    sd[XS_NL - 1] += (u64)carry;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < XS_NOUT; i += blockDim.x)
    if (sd[i]) atomicAdd(&out.digits[i], sd[i]);
  /* The last block to finish hands the digits to the host and leaves them
   * zero for the next sum (no memset, no copy on the stream). */
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last_block = atomicAdd(out.ticket, 1u) == gridDim.x - 1;
  __syncthreads();
  if (last_block) {
    __threadfence();
    for (int i = threadIdx.x; i < XS_NOUT; i += blockDim.x)
      out.host[i] = atomicExch(&out.digits[i], 0ull);
    if (threadIdx.x == 0) *out.ticket = 0;
    __threadfence_system();
  }
}

template <typename T, bool DOT, bool VEC>
int blocks_for(size_t n)
{
  static int per_sm = -1, nsm = 0;   /* the device's, found once (a process's GPU is fixed) */
  if (per_sm < 0) {
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess
        || cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess
        || cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, xsum_kernel<T, DOT, VEC>,
                                                         THREADS, 0) != cudaSuccess) {
      cudaGetLastError();
      nsm = 1;
      per_sm = 1;
    }
  }
  size_t tiles_per_block = THREADS / 32;
  size_t need = (n + TILE * tiles_per_block - 1) / (TILE * tiles_per_block);   /* blocks with work */
  size_t full = (size_t)nsm * (size_t)(per_sm > 0 ? per_sm : 1);
  size_t floor_ = (n + BLOCK_MAX_ELEMS - 1) / BLOCK_MAX_ELEMS;
  size_t nb = need < full ? need : full;
  if (nb < floor_) nb = floor_;
  if (nb < 1) nb = 1;
  return (int)nb;
}

template <typename T, bool DOT>
cudaError_t launch(const void *xv, const void *yv, size_t n, size_t stride, xs_out_t out,
                   cudaStream_t s)
{
  const T *x = (const T *)xv, *y = (const T *)yv;
  /* 16-byte loads after a head of at most 15 bytes, where x and y line up */
  size_t mis = ((uintptr_t)x & 15) / sizeof(T);
  int head = mis ? (int)(16 / sizeof(T) - mis) : 0;
  bool vec = stride == 1 && (uintptr_t)x % sizeof(T) == 0 && (size_t)head < n
             && (!DOT || ((uintptr_t)y & 15) == ((uintptr_t)x & 15));
  if (vec)
    xsum_kernel<T, DOT, true><<<blocks_for<T, DOT, true>(n - head), THREADS, 0, s>>>(
        x, y, n, stride, head, out);
  else
    xsum_kernel<T, DOT, false><<<blocks_for<T, DOT, false>(n), THREADS, 0, s>>>(x, y, n, stride,
                                                                               0, out);
  return cudaGetLastError();
}

}  // namespace

extern "C" {

int tess_cuda_pointer_is_device(const void *p)
{
  cudaPointerAttributes a;
  if (!p) return 0;
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

/* Per device, the result digits and block ticket (zero between sums: the
 * kernel's last block leaves them so) and the host-mapped pinned copy it
 * fills, made on first use and kept (about 2 KiB): a sum costs one launch
 * and one synchronisation, no allocation. `dirty`: a sum that failed may
 * have left digits behind; the next one clears them first. The lock keeps
 * two threads of a process from sharing them at once. */
#define XS_MAX_DEVICES 64
static struct {
  u64 *digits, *host, *host_dev;
  unsigned *ticket;
  int dirty;
} xs_buf[XS_MAX_DEVICES];
static pthread_mutex_t xs_lock = PTHREAD_MUTEX_INITIALIZER;

static cudaError_t result_buffers(int dev, cudaStream_t s, xs_out_t *out)
{
  cudaError_t e = cudaSuccess;
  if (!xs_buf[dev].digits) {
    e = cudaMalloc((void **)&xs_buf[dev].digits, XS_NOUT * sizeof(u64) + 16);
    if (e != cudaSuccess) return e;
    xs_buf[dev].ticket = (unsigned *)(xs_buf[dev].digits + XS_NOUT);
    xs_buf[dev].dirty = 1;
  }
  if (!xs_buf[dev].host) {
    e = cudaHostAlloc((void **)&xs_buf[dev].host, XS_NOUT * sizeof(u64), cudaHostAllocMapped);
    if (e == cudaSuccess) e = cudaHostGetDevicePointer((void **)&xs_buf[dev].host_dev, xs_buf[dev].host, 0);
    if (e != cudaSuccess) {
      cudaFreeHost(xs_buf[dev].host);
      xs_buf[dev].host = NULL;
      return e;
    }
  }
  if (xs_buf[dev].dirty) e = cudaMemsetAsync(xs_buf[dev].digits, 0, XS_NOUT * sizeof(u64) + 16, s);
  out->digits = xs_buf[dev].digits;
  out->ticket = xs_buf[dev].ticket;
  out->host = xs_buf[dev].host_dev;
  return e;
}

/* out[0..136) += the exact sum's digits (not normalised: each < nblocks *
 * 2^32), out[136..139) the NaN, +Inf, -Inf counts. kind: 0 sum f64, 1 sum
 * f32, 2 dot f64, 3 dot f32. Synchronous on `stream`. */
tess_err_t tess_cuda_exact_sum(int kind, const void *x, const void *y, size_t n, size_t stride,
                               tess_stream_t stream, int nlimbs, int emin, int64_t *out)
{
  cudaStream_t s = (cudaStream_t)stream;
  xs_out_t o;
  int dev = 0;
  cudaError_t e;
  if (nlimbs != XS_NL || emin != XS_EMIN)
    return tess_error_push(TESS_ERR_INTERNAL, __FILE__, __LINE__, __func__,
                           "accumulator layout %d digits from 2^%d, kernel built for %d from 2^%d",
                           nlimbs, emin, XS_NL, XS_EMIN);
  if (n == 0) return TESS_OK;
  if ((e = cudaGetDevice(&dev)) != cudaSuccess) return CUDA_FAIL(e, "cudaGetDevice");
  if (dev < 0 || dev >= XS_MAX_DEVICES)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                           "device %d: the exact sum handles devices 0..%d", dev,
                           XS_MAX_DEVICES - 1);
  pthread_mutex_lock(&xs_lock);
  e = result_buffers(dev, s, &o);
  if (e == cudaSuccess) {
    xs_buf[dev].dirty = 1;
    switch (kind) {
    case 0: e = launch<double, false>(x, y, n, stride, o, s); break;
    case 1: e = launch<float, false>(x, y, n, stride, o, s); break;
    case 2: e = launch<double, true>(x, y, n, stride, o, s); break;
    default: e = launch<float, true>(x, y, n, stride, o, s); break;
    }
  }
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  if (e == cudaSuccess) {
    const volatile u64 *h = xs_buf[dev].host;
    for (int i = 0; i < XS_NOUT; i++) out[i] += (int64_t)h[i];
    xs_buf[dev].dirty = 0;
  }
  pthread_mutex_unlock(&xs_lock);
  if (e != cudaSuccess) return CUDA_FAIL(e, "exact sum of %zu values on the device", n);
  return TESS_OK;
}

}  // extern "C"
