/* spectral/cuda/spectral_ops_cuda.cu: the elementwise spectral operators
 * (filters, thresholds, derivatives, Poisson) on device spectra. One thread
 * per local element: its coordinates come from its local linear index and
 * the block's shape, its global indices from the local start, its modes and
 * Hermitian weight by the formulas of tess_spectral_foreach, its
 * wavenumbers from the host's own table (spec_geom_make).
 *
 * Bitwise equal to the host path: every expression mirrors the host visitor
 * in the same order with explicitly rounded IEEE operations (__dmul_rn,
 * __dadd_rn, __ddiv_rn, __dsqrt_rn: no FMA contraction, which the host's
 * x86-64 build does not do either), and c64 elements are widened to double
 * and rounded back with __double2float_rn like spec_get/spec_set. The one
 * exception is the Gaussian filter: CUDA's exp() is within 1 ulp of the
 * exact value, glibc's is not the same function, so its factor may differ
 * by an ulp (relative 2^-52 in f64, then the product's rounding).
 *
 * Reductions: the max |c| is an atomicMax on the IEEE bits (monotone for
 * non-negative doubles; NaN is skipped like the host's `a > max`), counts are
 * 64-bit integer atomics: exact, so order does not matter. Everything runs
 * on the default stream (as the cuFFT backend) and is synchronized before
 * returning; errors are TESS_ERR_DEVICE with CUDA's error string. */
#include <cuda_runtime.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include <tessera/error.h>
#include "cuda_finish.h"

#include "../spectral_cuda.h"
}

#define CUDA_FAIL(e, what)                                                                \
  (cudaGetLastError(),                                                                  \
   tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, what ": %s (%s)",       \
                   cudaGetErrorString(e), cudaGetErrorName(e)))

#define CUDA_TRY(call, what)                                                              \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) { err = CUDA_FAIL(e_, what); goto cleanup; }                   \
  } while (0)

/* The geometry by value (kernel parameter) plus the device k table. */
typedef struct {
  int nd, off, rank, half;
  int64_t count;
  int64_t lsh[TESS_MAX_NDIM], lst[TESS_MAX_NDIM], gsh[TESS_MAX_NDIM];
  int64_t n[3], koff[3];
  const double *k;
} dgeom_t;

typedef struct {
  int64_t m[3];
  double k[3];
  int w;
  int64_t gl;
} elem_t;

/* tess_spectral_foreach's per-element values for local element l. */
__device__ static elem_t elem_at(const dgeom_t &G, int64_t l)
{
  elem_t e;
  int64_t c[TESS_MAX_NDIM], r = l;
  for (int i = G.nd - 1; i >= 0; i--) {
    c[i] = r % G.lsh[i];
    r /= G.lsh[i];
  }
  e.gl = 0;
  for (int i = 0; i < G.nd; i++) e.gl = e.gl * G.gsh[i] + G.lst[i] + c[i];
  e.w = 1;
  for (int d = 0; d < 3; d++) { e.m[d] = 0; e.k[d] = 0; }
  for (int d = 0; d < G.rank; d++) {
    int64_t gi = G.lst[G.off + d] + c[G.off + d], n = G.n[d];
    int half = G.half && d == G.rank - 1;
    e.m[d] = half ? gi : (gi <= n / 2 ? gi : gi - n);
    e.k[d] = G.k[G.koff[d] + c[G.off + d]];
    if (half && e.m[d] > 0 && 2 * e.m[d] != n) e.w = 2;
  }
  return e;
}

template <typename T> __device__ static void get(const T *p, int64_t l, double *re, double *im)
{
  *re = (double)p[2 * l];
  *im = (double)p[2 * l + 1];
}
__device__ static void put(float *p, int64_t l, double re, double im)
{
  p[2 * l] = __double2float_rn(re);
  p[2 * l + 1] = __double2float_rn(im);
}
__device__ static void put(double *p, int64_t l, double re, double im)
{
  p[2 * l] = re;
  p[2 * l + 1] = im;
}

/* k2 += k[d] * k[d], from 0, in dim order (the host's loop). */
__device__ static double ksq(const dgeom_t &G, const elem_t &e)
{
  double k2 = 0;
  for (int d = 0; d < G.rank; d++) k2 = __dadd_rn(k2, __dmul_rn(e.k[d], e.k[d]));
  return k2;
}

/* sqrt(re * re + im * im) and its square (visit_max, key_of). */
__device__ static double mag2(double re, double im)
{
  return __dadd_rn(__dmul_rn(re, re), __dmul_rn(im, im));
}

#define FOR_EACH(l, G)                                                                    \
  for (int64_t l = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; l < (G).count;        \
       l += (int64_t)gridDim.x * blockDim.x)

/* ---- filters (spectral_filter.c) ------------------------------------------------- */

template <typename T> __global__ void k_filter(dgeom_t G, T *x, int op, double a)
{
  FOR_EACH(l, G) {
    elem_t e = elem_at(G, l);
    double re, im;
    if (op == SPEC_LOWPASS) {
      if (ksq(G, e) > __dmul_rn(a, a)) put(x, l, 0, 0);
    } else if (op == SPEC_GAUSS) {
      /* exp(-0.5 * k2 / (a * a)): host order (-0.5 * k2) / (a * a) */
      double f = exp(__ddiv_rn(__dmul_rn(-0.5, ksq(G, e)), __dmul_rn(a, a)));
      get(x, l, &re, &im);
      put(x, l, __dmul_rn(re, f), __dmul_rn(im, f));
    } else {
      for (int d = 0; d < G.rank; d++) {
        int64_t am = e.m[d] < 0 ? -e.m[d] : e.m[d];
        if (3 * am > G.n[d]) { put(x, l, 0, 0); break; }
      }
    }
  }
}

/* ---- derivatives (spectral_deriv.c) ---------------------------------------------- */

typedef struct { void *p[3]; } ptr3_t;

template <typename T>
__global__ void k_deriv(dgeom_t G, int op, T *x, ptr3_t in, ptr3_t out)
{
  FOR_EACH(l, G) {
    elem_t e = elem_at(G, l);
    double re, im;
    if (op == SPEC_GRAD) {
      get(x, l, &re, &im);
      for (int d = 0; d < G.rank; d++) {
        int64_t am = e.m[d] < 0 ? -e.m[d] : e.m[d];
        double kd = (G.n[d] % 2 == 0 && 2 * am == G.n[d]) ? 0.0 : e.k[d];
        put((T *)out.p[d], l, __dmul_rn(-kd, im), __dmul_rn(kd, re));
      }
    } else if (op == SPEC_DIV) {
      double sr = 0, si = 0;
      for (int d = 0; d < G.rank; d++) {
        int64_t am = e.m[d] < 0 ? -e.m[d] : e.m[d];
        double kd = (G.n[d] % 2 == 0 && 2 * am == G.n[d]) ? 0.0 : e.k[d];
        get((const T *)in.p[d], l, &re, &im);
        sr = __dadd_rn(sr, __dmul_rn(-kd, im));
        si = __dadd_rn(si, __dmul_rn(kd, re));
      }
      put(x, l, sr, si);
    } else if (op == SPEC_LAP) {
      double k2 = ksq(G, e);
      get(x, l, &re, &im);
      put((T *)out.p[0], l, __dmul_rn(-k2, re), __dmul_rn(-k2, im));
    } else {
      double k2 = ksq(G, e);
      get(x, l, &re, &im);
      if (k2 == 0) put((T *)out.p[0], l, 0, 0);
      else put((T *)out.p[0], l, __ddiv_rn(-re, k2), __ddiv_rn(-im, k2));
    }
  }
}

/* ---- thresholds (spectral_threshold.c) ------------------------------------------- */

typedef struct {
  unsigned long long maxbits, total_w, nonzero, nonzero_w, kept, kept_w;
} counters_t;

template <typename T>
__global__ void k_stats(dgeom_t G, const T *x, counters_t *cnt, uint64_t *keys, uint64_t *gidx)
{
  unsigned long long mx = 0, tw = 0, nz = 0, nzw = 0;
  FOR_EACH(l, G) {
    elem_t e = elem_at(G, l);
    double re, im;
    get(x, l, &re, &im);
    double m2 = mag2(re, im), a = __dsqrt_rn(m2);
    if (a > __longlong_as_double((long long)mx)) mx = (unsigned long long)__double_as_longlong(a);
    tw += (unsigned long long)e.w;
    if (a != 0) { nz++; nzw += (unsigned long long)e.w; }
    if (keys) {
      keys[l] = (uint64_t)__double_as_longlong(m2);
      gidx[l] = (uint64_t)e.gl;
    }
  }
  if (mx) atomicMax(&cnt->maxbits, mx);
  if (tw) atomicAdd(&cnt->total_w, tw);
  if (nz) { atomicAdd(&cnt->nonzero, nz); atomicAdd(&cnt->nonzero_w, nzw); }
}

template <typename T>
__global__ void k_thresh(dgeom_t G, T *x, int rule, double t, uint64_t tkey, uint64_t tidx,
                         int keep_all, int keep_none, counters_t *cnt)
{
  unsigned long long kept = 0, kept_w = 0;
  FOR_EACH(l, G) {
    elem_t e = elem_at(G, l);
    double re, im;
    int keep;
    get(x, l, &re, &im);
    double m2 = mag2(re, im), a = __dsqrt_rn(m2);
    if (rule == TESS_THRESH_SOFT) {
      keep = a > t;
      if (keep) {
        double f = __dadd_rn(1.0, -__ddiv_rn(t, a));   /* 1.0 - t / a */
        put(x, l, __dmul_rn(re, f), __dmul_rn(im, f));
      }
    } else if (rule == TESS_THRESH_KEEP_FRACTION) {
      uint64_t key = (uint64_t)__double_as_longlong(m2);
      keep = !keep_none && (keep_all || key > tkey || (key == tkey && (uint64_t)e.gl <= tidx));
    } else {
      keep = a >= t;
    }
    if (!keep) put(x, l, 0.0, 0.0);
    else { kept++; kept_w += (unsigned long long)e.w; }
  }
  if (kept) { atomicAdd(&cnt->kept, kept); atomicAdd(&cnt->kept_w, kept_w); }
}

/* ---- entry points ------------------------------------------------------------------ */

static unsigned blocks_for(int64_t n)
{
  int64_t b = (n + 255) / 256;
  return (unsigned)(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

/* The device copy of geo's k table; *dg points at it. */
static tess_err_t upload(const spec_geom_t *geo, dgeom_t *dg, double **dk)
{
  tess_err_t err = TESS_OK;
  size_t nk = (size_t)geo->koff[geo->rank];
  memset(dg, 0, sizeof *dg);
  *dk = NULL;
  dg->nd = geo->nd;
  dg->off = geo->off;
  dg->rank = geo->rank;
  dg->half = geo->half;
  dg->count = geo->count;
  memcpy(dg->lsh, geo->lsh, sizeof dg->lsh);
  memcpy(dg->lst, geo->lst, sizeof dg->lst);
  memcpy(dg->gsh, geo->gsh, sizeof dg->gsh);
  memcpy(dg->n, geo->n, sizeof dg->n);
  memcpy(dg->koff, geo->koff, sizeof dg->koff);
  CUDA_TRY(cudaMalloc((void **)dk, sizeof(double) * (nk + 1)), "cudaMalloc of the wavenumber table");
  CUDA_TRY(cudaMemcpy(*dk, geo->k, sizeof(double) * nk, cudaMemcpyHostToDevice),
           "copying the wavenumber table");
  dg->k = *dk;
cleanup:
  if (err != TESS_OK) { cudaFree(*dk); *dk = NULL; }
  return err;
}

#define finish(what) spectral_cuda_finish_(__FILE__, __LINE__, "spectral_ops_cuda", what)

extern "C" tess_err_t spec_cuda_filter(const spec_geom_t *geo, void *x, spec_filter_t op, double a)
{
  tess_err_t err = TESS_OK;
  dgeom_t G;
  double *dk = NULL;
  if (geo->count == 0) return TESS_OK;
  TESS_CHECK(upload(geo, &G, &dk));
  if (geo->single) k_filter<float><<<blocks_for(G.count), 256>>>(G, (float *)x, (int)op, a);
  else k_filter<double><<<blocks_for(G.count), 256>>>(G, (double *)x, (int)op, a);
  TESS_CHECK(finish("spectral filter"));
cleanup:
  cudaFree(dk);
  return err;
}

extern "C" tess_err_t spec_cuda_deriv(const spec_geom_t *geo, spec_deriv_t op, void *x,
                                      const void *const in[], void *const out[])
{
  tess_err_t err = TESS_OK;
  dgeom_t G;
  double *dk = NULL;
  ptr3_t pi, po;
  memset(&pi, 0, sizeof pi);
  memset(&po, 0, sizeof po);
  for (int d = 0; d < 3; d++) {
    if (in && d < geo->rank) pi.p[d] = (void *)in[d];
    if (out && d < (op == SPEC_GRAD ? geo->rank : 1)) po.p[d] = out[d];
  }
  if (geo->count == 0) return TESS_OK;
  TESS_CHECK(upload(geo, &G, &dk));
  if (geo->single) k_deriv<float><<<blocks_for(G.count), 256>>>(G, (int)op, (float *)x, pi, po);
  else k_deriv<double><<<blocks_for(G.count), 256>>>(G, (int)op, (double *)x, pi, po);
  TESS_CHECK(finish("spectral derivative"));
cleanup:
  cudaFree(dk);
  return err;
}

extern "C" tess_err_t spec_cuda_stats(const spec_geom_t *geo, const void *x, double *maxabs,
                                      int64_t *total_w, int64_t *nonzero, int64_t *nonzero_w,
                                      uint64_t *keys, uint64_t *gidx)
{
  tess_err_t err = TESS_OK;
  dgeom_t G;
  double *dk = NULL;
  counters_t *dc = NULL, hc;
  uint64_t *dkeys = NULL, *dgidx = NULL;
  size_t bytes = sizeof(uint64_t) * (size_t)geo->count;
  memset(&hc, 0, sizeof hc);
  if (geo->count > 0) {
    TESS_CHECK(upload(geo, &G, &dk));
    CUDA_TRY(cudaMalloc((void **)&dc, sizeof *dc), "cudaMalloc of the counters");
    CUDA_TRY(cudaMemset(dc, 0, sizeof *dc), "clearing the counters");
    if (keys) {
      CUDA_TRY(cudaMalloc((void **)&dkeys, bytes), "cudaMalloc of the threshold keys");
      CUDA_TRY(cudaMalloc((void **)&dgidx, bytes), "cudaMalloc of the global indices");
    }
    if (geo->single)
      k_stats<float><<<blocks_for(G.count), 256>>>(G, (const float *)x, dc, dkeys, dgidx);
    else k_stats<double><<<blocks_for(G.count), 256>>>(G, (const double *)x, dc, dkeys, dgidx);
    TESS_CHECK(finish("spectral statistics"));
    CUDA_TRY(cudaMemcpy(&hc, dc, sizeof hc, cudaMemcpyDeviceToHost), "copying the counters");
    if (keys) {
      /* the radix select of keep_fraction runs on the host, on these */
      CUDA_TRY(cudaMemcpy(keys, dkeys, bytes, cudaMemcpyDeviceToHost), "copying the keys");
      CUDA_TRY(cudaMemcpy(gidx, dgidx, bytes, cudaMemcpyDeviceToHost), "copying the indices");
    }
  }
  {
    double m;
    memcpy(&m, &hc.maxbits, sizeof m);
    *maxabs = m;
  }
  *total_w = (int64_t)hc.total_w;
  *nonzero = (int64_t)hc.nonzero;
  *nonzero_w = (int64_t)hc.nonzero_w;
cleanup:
  cudaFree(dk);
  cudaFree(dc);
  cudaFree(dkeys);
  cudaFree(dgidx);
  return err;
}

extern "C" tess_err_t spec_cuda_threshold(const spec_geom_t *geo, void *x, int rule, double t,
                                          uint64_t tkey, uint64_t tidx, int keep_all,
                                          int keep_none, int64_t *kept, int64_t *kept_w)
{
  tess_err_t err = TESS_OK;
  dgeom_t G;
  double *dk = NULL;
  counters_t *dc = NULL, hc;
  memset(&hc, 0, sizeof hc);
  if (geo->count > 0) {
    TESS_CHECK(upload(geo, &G, &dk));
    CUDA_TRY(cudaMalloc((void **)&dc, sizeof *dc), "cudaMalloc of the counters");
    CUDA_TRY(cudaMemset(dc, 0, sizeof *dc), "clearing the counters");
    if (geo->single)
      k_thresh<float><<<blocks_for(G.count), 256>>>(G, (float *)x, rule, t, tkey, tidx, keep_all,
                                                     keep_none, dc);
    else k_thresh<double><<<blocks_for(G.count), 256>>>(G, (double *)x, rule, t, tkey, tidx,
                                                         keep_all, keep_none, dc);
    TESS_CHECK(finish("spectral threshold"));
    CUDA_TRY(cudaMemcpy(&hc, dc, sizeof hc, cudaMemcpyDeviceToHost), "copying the counters");
  }
  *kept = (int64_t)hc.kept;
  *kept_w = (int64_t)hc.kept_w;
cleanup:
  cudaFree(dk);
  cudaFree(dc);
  return err;
}
