/* spectral/cuda/fft_backend_cufft.cu: the cuFFT backend and its device
 * executor: FFT plans on device arrays (TESS_MEM_DEVICE). The engine
 * (fft_plan.c, fft_execute.c) is the host's: the same steps and scratch
 * layouts; only what touches the data is here, and the line batch.
 *
 *   line batch    B = a power of two with B*n near 2^21 elements (8..16384;
 *                 cufft_line_batch): a function of n only, so a line's
 *                 arithmetic does not depend on the rank count, and big enough
 *                 that the launches (three a batch) do not dominate.
 *   line plans    one cufftPlanMany per line shape (n, B, layout, kind,
 *                 sign), made at plan time with its work area; lines of
 *                 length 1 (cuFFT's smallest size is 2 for some kinds) are a
 *                 copy kernel. No measuring: every rank plans the same.
 *   exec_lines    per batch of B lines: a gather kernel (source box, plain
 *                 or split in chunks along the line dim, into the scratch,
 *                 zero lanes past the last line), the cuFFT plan, a scatter
 *                 kernel (scaling, into the destination box or its chunks).
 *                 Direct lines (fft_backend.h): a full batch of contiguous
 *                 rows is transformed where it lies, by the same plan (rows
 *                 laid out and aligned as the scratch), skipping the gather
 *                 (not for C2R: cuFFT overwrites a C2R input) and/or the
 *                 scatter (not onto its own input).
 *   exec_copy     a box repack kernel (any split on either side).
 *   local plans   TESS_FFT_FAST_LOCAL: one multi-dim cufftPlanMany of the
 *                 whole local block (not bitwise the line engine's results).
 *   buffers       device memory through the public memory API (tess_calloc).
 *
 * Everything runs on the default stream, in order with the device reshard
 * of the transposes; exec_finish synchronizes it and reports the first
 * failure (kernels and cuFFT calls cannot return errors through the
 * executor's void ops, so the first one is kept per thread until then).
 * Chunk tables travel as kernel parameters, SEGMAX chunks a launch (more
 * chunks: more launches): tess_fft_execute allocates nothing, on the host
 * or on the device. No plane groups (plane_group_bytes 0) or staged planes. */
#include <cuda_runtime.h>
#include <cufft.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include <tessera/memory.h>

#include "../fft_backend.h"
}

/* ---- the first failure, kept until exec_finish ------------------------------------ */

static thread_local cudaError_t first_cuda = cudaSuccess;
static thread_local cufftResult first_cufft = CUFFT_SUCCESS;
static thread_local const char *first_what = NULL;

static void note_cuda(cudaError_t e, const char *what)
{
  if (e != cudaSuccess && first_cuda == cudaSuccess && first_cufft == CUFFT_SUCCESS) {
    first_cuda = e;
    first_what = what;
  }
}

static void note_cufft(cufftResult r, const char *what)
{
  if (r != CUFFT_SUCCESS && first_cuda == cudaSuccess && first_cufft == CUFFT_SUCCESS) {
    first_cufft = r;
    first_what = what;
  }
}

static const char *cufft_name(cufftResult r)
{
  switch (r) {
  case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
  case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
  case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
  case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
  case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
  case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
  case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
  case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
  case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
  case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
  case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE";
  case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
  case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
  default: return "cufftResult (unknown)";
  }
}

#define CUFFT_FAIL(r, what, ...)                                                          \
  tess_error_push(TESS_ERR_FFT, __FILE__, __LINE__, __func__, what ": %s (%d)",          \
                  ##__VA_ARGS__, cufft_name(r), (int)(r))
#define CUDA_FAIL(e, what, ...)                                                           \
  (cudaGetLastError(),                                                                  \
   tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, what ": %s (%s)",       \
                   ##__VA_ARGS__, cudaGetErrorString(e), cudaGetErrorName(e)))

/* ---- line plans -------------------------------------------------------------------- */

typedef struct {
  fft_line_kind_t kind;
  int single, sign, inter;
  int64_t n, B, ipitch, opitch;
  int trivial;              /* n == 1: a copy kernel, no cuFFT plan */
  cufftHandle h;
} cufft_line_t;

static int cufft_accepts(tess_memspace_t space)
{
  return tess_memspace_kind(space) == TESS_MEM_DEVICE;
}

static cufftType line_type(const fft_line_desc_t *d)
{
  if (d->single)
    return d->kind == FFT_LINE_C2C ? CUFFT_C2C : d->kind == FFT_LINE_R2C ? CUFFT_R2C : CUFFT_C2R;
  return d->kind == FFT_LINE_C2C ? CUFFT_Z2Z : d->kind == FFT_LINE_R2C ? CUFFT_D2Z : CUFFT_Z2D;
}

static tess_err_t cufft_line_plan(const fft_line_desc_t *d, void *in, void *out, void **lp)
{
  tess_err_t err = TESS_OK;
  cufft_line_t *l = NULL;
  cufftResult r;
  int n = (int)d->n, B = (int)d->batch;
  int m = d->kind == FFT_LINE_C2C ? n : n / 2 + 1;
  int nin = d->kind == FFT_LINE_R2C ? n : m, nout = d->kind == FFT_LINE_C2R ? n : m;
  int inter = d->layout == FFT_LINES_INTERLEAVED;
  int ip = (int)d->ipitch, op = (int)d->opitch;
  int is = inter ? ip : 1, id = inter ? 1 : ip, os = inter ? op : 1, od = inter ? 1 : op;
  int inembed[1] = {inter ? nin : ip}, onembed[1] = {inter ? nout : op};
  size_t work = 0;
  (void)in;
  (void)out;

  *lp = NULL;
  TESS_REQUIRE(d->n > 0 && d->n < INT32_MAX && d->batch > 0 && d->batch < INT32_MAX &&
                   d->ipitch < INT32_MAX && d->opitch < INT32_MAX,
               TESS_ERR_ARG, "line length %lld / batch %lld out of cuFFT's range",
               (long long)d->n, (long long)d->batch);
  l = (cufft_line_t *)calloc(1, sizeof *l);
  TESS_REQUIRE(l != NULL, TESS_ERR_MEM, "cuFFT line plan");
  l->kind = d->kind;
  l->single = d->single;
  l->sign = d->sign;
  l->inter = inter;
  l->n = d->n;
  l->B = d->batch;
  l->ipitch = d->ipitch;
  l->opitch = d->opitch;
  l->trivial = d->n == 1;
  if (!l->trivial) {
    r = cufftCreate(&l->h);
    TESS_REQUIRE(r == CUFFT_SUCCESS, TESS_ERR_FFT, "cufftCreate: %s", cufft_name(r));
    /* advanced layout: non-NULL embeds, or cuFFT ignores the strides */
    r = cufftMakePlanMany(l->h, 1, &n, inembed, is, id, onembed, os, od, line_type(d), B, &work);
    if (r != CUFFT_SUCCESS) {
      cufftDestroy(l->h);
      TESS_REQUIRE(0, TESS_ERR_FFT, "cufftMakePlanMany n=%d batch=%d %s%s: %s", n, B,
                   inter ? "interleaved" : "contiguous", d->single ? " (f32)" : "",
                   cufft_name(r));
    }
    r = cufftSetStream(l->h, (cudaStream_t)0);
    if (r != CUFFT_SUCCESS) {
      cufftDestroy(l->h);
      TESS_REQUIRE(0, TESS_ERR_FFT, "cufftSetStream: %s", cufft_name(r));
    }
  }
  *lp = l;
  l = NULL;
cleanup:
  free(l);
  return err;
}

/* Lines of length 1: the DFT is the identity (r2c: a zero imaginary part,
 * c2r: the real part). Element 0 of line b sits at b (interleaved) or
 * b*pitch (contiguous). */
template <typename R>
__global__ void k_trivial(int kind, int64_t B, int64_t ist, int64_t ost, const R *in, R *out)
{
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < B;
       b += (int64_t)gridDim.x * blockDim.x) {
    if (kind == FFT_LINE_C2C) {
      out[2 * b * ost] = in[2 * b * ist];
      out[2 * b * ost + 1] = in[2 * b * ist + 1];
    } else if (kind == FFT_LINE_R2C) {
      out[2 * b * ost] = in[b * ist];
      out[2 * b * ost + 1] = (R)0;
    } else {
      out[b * ost] = in[2 * b * ist];
    }
  }
}

static unsigned blocks_for(int64_t n)
{
  int64_t b = (n + 255) / 256;
  return (unsigned)(b < 1 ? 1 : b > (1 << 20) ? (1 << 20) : b);
}

/* One execution of a cuFFT plan of the given kind (in == out: in place). */
static void exec_handle(cufftHandle h, fft_line_kind_t kind, int single, int sign, void *in,
                        void *out)
{
  int dir = sign < 0 ? CUFFT_FORWARD : CUFFT_INVERSE;
  cufftResult r;
  if (!single) {
    if (kind == FFT_LINE_C2C)
      r = cufftExecZ2Z(h, (cufftDoubleComplex *)in, (cufftDoubleComplex *)out, dir);
    else if (kind == FFT_LINE_R2C)
      r = cufftExecD2Z(h, (cufftDoubleReal *)in, (cufftDoubleComplex *)out);
    else
      r = cufftExecZ2D(h, (cufftDoubleComplex *)in, (cufftDoubleReal *)out);
  } else {
    if (kind == FFT_LINE_C2C)
      r = cufftExecC2C(h, (cufftComplex *)in, (cufftComplex *)out, dir);
    else if (kind == FFT_LINE_R2C)
      r = cufftExecR2C(h, (cufftReal *)in, (cufftComplex *)out);
    else
      r = cufftExecC2R(h, (cufftComplex *)in, (cufftReal *)out);
  }
  note_cufft(r, "cufftExec");
}

static void cufft_line_exec(void *lp, void *in, void *out)
{
  cufft_line_t *l = (cufft_line_t *)lp;
  if (l->trivial) {
    int64_t ist = l->inter ? 1 : l->ipitch, ost = l->inter ? 1 : l->opitch;
    if (l->single)
      k_trivial<float><<<blocks_for(l->B), 256>>>((int)l->kind, l->B, ist, ost, (const float *)in,
                                                  (float *)out);
    else
      k_trivial<double><<<blocks_for(l->B), 256>>>((int)l->kind, l->B, ist, ost,
                                                   (const double *)in, (double *)out);
    note_cuda(cudaGetLastError(), "FFT line kernel (n = 1)");
    return;
  }
  exec_handle(l->h, l->kind, l->single, l->sign, in, out);
}

/* A plan runs on memory aligned as its planning scratch was (cudaMalloc:
 * 256 bytes); NULL stands for the scratch itself. */
static int cufft_line_fits(const void *lp, const void *in, const void *out)
{
  (void)lp;
  return (uintptr_t)in % 256 == 0 && (uintptr_t)out % 256 == 0;
}

/* Elements per batch of lines (B*n). 2^19 kept both scratch buffers (8 MiB
 * each in c128) in L2, but then a 256^3 transform is ~600 launches and the
 * launches, not the bytes, set its time; on an H100 (2026-12-07, fwd+inv vs
 * torch.fft): 2^19 2.77x (256^3 c128) and 3.78x (512^3 c64), 2^21 2.34x and
 * 2.33x, 2^23 2.26x and 2.19x. 2^21 takes most of that for 32 MiB of scratch
 * a buffer in c128. TESS_CUFFT_LINE_ELEMS overrides it: a tuning knob that
 * changes B, hence the bits; every rank must see the same. */
static int64_t line_elems(void)
{
  const char *e = getenv("TESS_CUFFT_LINE_ELEMS");
  long long v = e && *e ? atoll(e) : 0;
  return v >= 64 ? (int64_t)v : (int64_t)1 << 21;
}

/* B: a power of two, 8..16384, with B*n <= line_elems() where n allows. */
static int64_t cufft_line_batch(int64_t n)
{
  int64_t b = 8, cap = line_elems();
  while (b < 16384 && 2 * b * n <= cap) b *= 2;
  return b;
}

static void cufft_line_destroy(void *lp)
{
  cufft_line_t *l = (cufft_line_t *)lp;
  if (!l) return;
  if (!l->trivial) cufftDestroy(l->h);
  free(l);
}

/* cuFFT does not measure: a plan is a function of its shape, the same on
 * every rank, so "measured" planning is plain planning (no wisdom). */
static tess_err_t cufft_line_plan_measured(tess_mesh_t *mesh, const char *wisdom_file, int n,
                                           const fft_line_desc_t *d, void *in, void *out,
                                           void **lp)
{
  tess_err_t err = TESS_OK;
  (void)mesh;
  (void)wisdom_file;
  for (int i = 0; i < n; i++) lp[i] = NULL;
  for (int i = 0; i < n; i++) TESS_CHECK(cufft_line_plan(&d[i], in, out, &lp[i]));
cleanup:
  if (err)
    for (int i = 0; i < n; i++) {
      cufft_line_destroy(lp[i]);
      lp[i] = NULL;
    }
  return err;
}

/* ---- executor ---------------------------------------------------------------------- */

static tess_err_t cufft_buf_alloc(size_t bytes, void **ptr)
{
  return tess_calloc(TESS_MEM_DEVICE, bytes, ptr);
}

static void cufft_buf_free(void **ptr) { tess_free(TESS_MEM_DEVICE, ptr); }

static size_t cufft_plane_stage_max(void) { return 0; }

/* An element of es bytes as NC reals of type R (bit copies and scaling). */
template <typename R, int NC> struct elem_t { R v[NC]; };

#ifndef SEGMAX   /* -DSEGMAX=2 exercises the multi-launch path with few ranks */
#define SEGMAX 32
#endif
/* The chunks of a box along one dim (nonempty ones, SEGMAX at most), by value
 * in a kernel's parameters. A plain box is one chunk over the whole dim. */
typedef struct {
  int nseg;
  int dim;                   /* the dim split in chunks */
  int nd;
  int64_t ext[FFT_MAXD];
  int64_t t0[SEGMAX], len[SEGMAX];
  size_t off[SEGMAX];
} dsegs_t;

/* Fill `g` with the nonempty chunks from index *q on, SEGMAX at most; the
 * range of dim coordinates they cover in [*lo, *hi). 0 when none are left.
 * A plain box is one chunk along dim `pdim` (the line dim for line steps). */
static int segs_next(const fft_box_t *b, int pdim, int *q, dsegs_t *g, int64_t *lo, int64_t *hi)
{
  g->nseg = 0;
  g->nd = b->nd;
  for (int i = 0; i < FFT_MAXD; i++) g->ext[i] = i < b->nd ? b->ext[i] : 1;
  if (b->split < 0) {
    if (*q > 0) return 0;
    *q = 1;
    g->dim = pdim;
    g->nseg = 1;
    g->t0[0] = 0;
    g->len[0] = b->ext[pdim];
    g->off[0] = 0;
    *lo = 0;
    *hi = b->ext[pdim];
    return 1;
  }
  g->dim = b->split;
  for (; *q < b->nseg && g->nseg < SEGMAX; (*q)++) {
    if (b->seg_len[*q] == 0) continue;
    g->t0[g->nseg] = b->seg_start[*q];
    g->len[g->nseg] = b->seg_len[*q];
    g->off[g->nseg] = b->seg_off[*q];
    g->nseg++;
  }
  if (g->nseg == 0) return 0;
  *lo = g->t0[0];
  *hi = g->t0[g->nseg - 1] + g->len[g->nseg - 1];
  return 1;
}

__host__ __device__ __forceinline__ int seg_find(const dsegs_t &g, int64_t t)
{
  int lo = 0, hi = g.nseg - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (g.t0[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* Byte offset of element (o, t, i) of a line box: o the index over the
 * dims before the line dim, t along it, i over the dims after it (s of
 * them); the box is plain or split along the line dim. */
__host__ __device__ __forceinline__ size_t line_off(const dsegs_t &g, int64_t o, int64_t t,
                                                    int64_t i, int64_t s, size_t es)
{
  int q = seg_find(g, t);
  return g.off[q] + (size_t)(((o * g.len[q]) + (t - g.t0[q])) * s + i) * es;
}

/* The line copies between a box and the scratch, for line coordinates t in
 * [tlo, thi) (one group of chunks). Each thread moves TPT elements with its
 * index arithmetic done once, neighbouring threads neighbouring elements of
 * the box and of the scratch:
 *   interleaved (element t of lane b at t*pitch + b; neighbour lines are
 *   neighbours in the box): thread (lane b, tile y), t = tlo + y*TPT + j;
 *   contiguous (line b at b*pitch; a line is a row of the box, s = 1):
 *   thread (t, group y), lanes b = y*TPT + j.
 * The gather writes all B lanes (zeros past the last line nb), the scatter
 * reads the nb lanes that hold lines, scaled by sc unless `scale` is 0.
 * The per-thread bodies are host-callable, so the index arithmetic can be
 * checked without a GPU. */
#define TPT 4
#ifndef GRID_Y_MAX   /* a small value exercises the grids' y-stride loops (tests) */
#define GRID_Y_MAX 65535
#endif

template <typename E>
__host__ __device__ inline void gather_inter(const dsegs_t &g, const char *src, int64_t s,
                                             int64_t l0, int64_t nb, int64_t tlo, int64_t thi,
                                             int64_t pitch, E *scr, int64_t b, int64_t y)
{
  int64_t o = 0, i = 0;
  if (b < nb) {
    int64_t l = l0 + b;
    o = l / s;
    i = l - o * s;
  }
  for (int j = 0; j < TPT; j++) {
    int64_t t = tlo + y * TPT + j;
    if (t < thi) {
      E v = E();   /* zeros: lanes past the last line */
      if (b < nb) v = *(const E *)(src + line_off(g, o, t, i, s, sizeof(E)));
      scr[t * pitch + b] = v;
    }
  }
}

template <typename E>
__host__ __device__ inline void gather_contig(const dsegs_t &g, const char *src, int64_t l0,
                                              int64_t nb, int64_t B, int64_t pitch, E *scr,
                                              int64_t t, int64_t y)
{
  for (int j = 0; j < TPT; j++) {
    int64_t b = y * TPT + j;
    if (b < B) {
      E v = E();
      if (b < nb) v = *(const E *)(src + line_off(g, l0 + b, t, 0, 1, sizeof(E)));
      scr[b * pitch + t] = v;
    }
  }
}

template <typename R, int NC>
__host__ __device__ inline void scatter_inter(const dsegs_t &g, char *dst, int64_t s, int64_t l0,
                                              int64_t tlo, int64_t thi, int64_t pitch,
                                              const elem_t<R, NC> *scr, R sc, int scale,
                                              int64_t b, int64_t y)
{
  int64_t l = l0 + b, o = l / s, i = l - o * s;
  for (int j = 0; j < TPT; j++) {
    int64_t t = tlo + y * TPT + j;
    if (t < thi) {
      elem_t<R, NC> v = scr[t * pitch + b];
      if (scale)
        for (int c = 0; c < NC; c++) v.v[c] = v.v[c] * sc;
      *(elem_t<R, NC> *)(dst + line_off(g, o, t, i, s, sizeof v)) = v;
    }
  }
}

template <typename R, int NC>
__host__ __device__ inline void scatter_contig(const dsegs_t &g, char *dst, int64_t l0,
                                               int64_t nb, int64_t pitch,
                                               const elem_t<R, NC> *scr, R sc, int scale,
                                               int64_t t, int64_t y)
{
  for (int j = 0; j < TPT; j++) {
    int64_t b = y * TPT + j;
    if (b < nb) {
      elem_t<R, NC> v = scr[b * pitch + t];
      if (scale)
        for (int c = 0; c < NC; c++) v.v[c] = v.v[c] * sc;
      *(elem_t<R, NC> *)(dst + line_off(g, l0 + b, t, 0, 1, sizeof v)) = v;
    }
  }
}

/* Launch shapes: interleaved, 128 lanes a block along x and tiles of TPT
 * coordinates along y; contiguous, up to 128 coordinates along x (a warp
 * multiple) and groups of TPT lanes along y. `lanes`: B (gather) or nb
 * (scatter). Grids stride along y past GRID_Y_MAX rows of blocks. */
static void line_launch(int inter, int64_t lanes, int64_t T, dim3 *grid, dim3 *block,
                        int64_t *ny)
{
  int64_t gx, gy;
  if (inter) {
    *block = dim3(128, 1, 1);
    gx = (lanes + 127) / 128;
    *ny = gy = (T + TPT - 1) / TPT;
  } else {
    unsigned bx = T >= 128 ? 128u : (unsigned)((T + 31) / 32 * 32), by = 128u / bx;
    *block = dim3(bx, by, 1);
    gx = (T + bx - 1) / bx;
    *ny = (lanes + TPT - 1) / TPT;
    gy = (*ny + by - 1) / by;
  }
  *grid = dim3((unsigned)gx, (unsigned)(gy < GRID_Y_MAX ? gy : GRID_Y_MAX), 1);
}

/* A thread of a line_launch grid: block (bx, by), thread (tx, ty), block
 * dims (bdx, bdy), grid rows gdy. */
typedef struct {
  int64_t bx, by, tx, ty, bdx, bdy, gdy;
} thr_t;

__device__ inline thr_t this_thread(void)
{
  thr_t h = {blockIdx.x, blockIdx.y, threadIdx.x, threadIdx.y, blockDim.x, blockDim.y, gridDim.y};
  return h;
}

template <typename E>
__host__ __device__ inline void gather_thread(const thr_t &h, const dsegs_t &g, const char *src,
                                              int64_t s, int64_t l0, int64_t nb, int64_t B,
                                              int64_t tlo, int64_t thi, int inter, int64_t pitch,
                                              E *scr, int64_t ny)
{
  if (inter) {
    int64_t b = h.bx * h.bdx + h.tx;
    if (b >= B) return;
    for (int64_t y = h.by; y < ny; y += h.gdy)
      gather_inter(g, src, s, l0, nb, tlo, thi, pitch, scr, b, y);
  } else {
    int64_t t = tlo + h.bx * h.bdx + h.tx;
    if (t >= thi) return;
    for (int64_t y = h.by * h.bdy + h.ty; y < ny; y += h.gdy * h.bdy)
      gather_contig(g, src, l0, nb, B, pitch, scr, t, y);
  }
}

template <typename R, int NC>
__host__ __device__ inline void scatter_thread(const thr_t &h, const dsegs_t &g, char *dst,
                                               int64_t s, int64_t l0, int64_t nb, int64_t tlo,
                                               int64_t thi, int inter, int64_t pitch,
                                               const elem_t<R, NC> *scr, R sc, int scale,
                                               int64_t ny)
{
  if (inter) {
    int64_t b = h.bx * h.bdx + h.tx;
    if (b >= nb) return;
    for (int64_t y = h.by; y < ny; y += h.gdy)
      scatter_inter(g, dst, s, l0, tlo, thi, pitch, scr, sc, scale, b, y);
  } else {
    int64_t t = tlo + h.bx * h.bdx + h.tx;
    if (t >= thi) return;
    for (int64_t y = h.by * h.bdy + h.ty; y < ny; y += h.gdy * h.bdy)
      scatter_contig(g, dst, l0, nb, pitch, scr, sc, scale, t, y);
  }
}

template <typename E>
__global__ void k_gather(dsegs_t g, const char *src, int64_t s, int64_t l0, int64_t nb, int64_t B,
                         int64_t tlo, int64_t thi, int inter, int64_t pitch, E *scr, int64_t ny)
{
  gather_thread(this_thread(), g, src, s, l0, nb, B, tlo, thi, inter, pitch, scr, ny);
}

template <typename R, int NC>
__global__ void k_scatter(dsegs_t g, char *dst, int64_t s, int64_t l0, int64_t nb, int64_t tlo,
                          int64_t thi, int inter, int64_t pitch, const elem_t<R, NC> *scr, R sc,
                          int scale, int64_t ny)
{
  scatter_thread(this_thread(), g, dst, s, l0, nb, tlo, thi, inter, pitch, scr, sc, scale, ny);
}

static void gather(const dsegs_t &g, const char *src, int64_t s, int64_t l0, int64_t nb,
                   int64_t B, int64_t tlo, int64_t thi, int inter, int64_t pitch, void *scr,
                   size_t es)
{
  dim3 grid, block;
  int64_t ny;
  line_launch(inter, B, thi - tlo, &grid, &block, &ny);
  switch (es) {
  case 4:
    k_gather<elem_t<unsigned, 1>><<<grid, block>>>(g, src, s, l0, nb, B, tlo, thi, inter, pitch,
                                                   (elem_t<unsigned, 1> *)scr, ny);
    break;
  case 8:
    k_gather<elem_t<unsigned, 2>><<<grid, block>>>(g, src, s, l0, nb, B, tlo, thi, inter, pitch,
                                                   (elem_t<unsigned, 2> *)scr, ny);
    break;
  default:
    k_gather<elem_t<unsigned long long, 2>><<<grid, block>>>(
        g, src, s, l0, nb, B, tlo, thi, inter, pitch, (elem_t<unsigned long long, 2> *)scr, ny);
  }
  note_cuda(cudaGetLastError(), "FFT gather kernel");
}

static void scatter(const dsegs_t &g, char *dst, int64_t s, int64_t l0, int64_t nb, int64_t tlo,
                    int64_t thi, int inter, int64_t pitch, const void *scr, size_t es, int single,
                    double scale)
{
  dim3 grid, block;
  int64_t ny;
  int sc = scale != 1.0;
  line_launch(inter, nb, thi - tlo, &grid, &block, &ny);
  if (single && es == 4)
    k_scatter<float, 1><<<grid, block>>>(g, dst, s, l0, nb, tlo, thi, inter, pitch,
                                         (const elem_t<float, 1> *)scr, (float)scale, sc, ny);
  else if (single)
    k_scatter<float, 2><<<grid, block>>>(g, dst, s, l0, nb, tlo, thi, inter, pitch,
                                         (const elem_t<float, 2> *)scr, (float)scale, sc, ny);
  else if (es == 8)
    k_scatter<double, 1><<<grid, block>>>(g, dst, s, l0, nb, tlo, thi, inter, pitch,
                                          (const elem_t<double, 1> *)scr, scale, sc, ny);
  else
    k_scatter<double, 2><<<grid, block>>>(g, dst, s, l0, nb, tlo, thi, inter, pitch,
                                          (const elem_t<double, 2> *)scr, scale, sc, ny);
  note_cuda(cudaGetLastError(), "FFT scatter kernel");
}

template <typename R>
__global__ void k_scale(R *x, int64_t n, R sc)
{
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    x[i] *= sc;
}

/* x[0..nreal) *= sc on the device. */
static void scale_dev(void *x, int64_t nreal, int single, double sc)
{
  if (single) k_scale<float><<<blocks_for(nreal), 256>>>((float *)x, nreal, (float)sc);
  else k_scale<double><<<blocks_for(nreal), 256>>>((double *)x, nreal, sc);
  note_cuda(cudaGetLastError(), "FFT scaling kernel");
}

/* Rows l0.. of a plain box whose lines run along its last dim: one after the
 * other, as a direct line's scratch is laid out. NULL for a box in chunks. */
static char *rows_direct(const fft_box_t *b, char *base, int64_t l0)
{
  if (b->split >= 0) return NULL;
  return base + (size_t)(l0 * b->ext[b->nd - 1]) * b->es;
}

/* One FFT step: every line along box dim k, B at a time (the planner's
 * batches; the last one zero-padded in the scratch). A full batch of a
 * direct line shape runs on the rows themselves where they are aligned as
 * the scratch (cufft_line_fits): the same plan on the same layout, so the
 * same arithmetic, one copy fewer per side. Not from the rows of a C2R
 * line (cuFFT overwrites a C2R input: the user's array, or data a later
 * batch still needs), nor onto the rows it reads (in place). */
static void cufft_exec_lines(const tess_fft_backend_t *be, const fft_lines_job_t *job)
{
  const fft_box_t *a = job->src, *z = job->dst;
  const fft_line_desc_t *ld = job->line;
  int k = job->dim, inter = ld->layout == FFT_LINES_INTERLEAVED;
  int64_t B = ld->batch, s = 1, nl = 1;
  if (job->src_stage || job->dst_stage || (a->split >= 0 && a->split != k) ||
      (z->split >= 0 && z->split != k)) {
    /* plane_stage_max is 0 and the planner splits FFT boxes along the line
     * dim only: neither can happen */
    note_cuda(cudaErrorNotSupported, "cuFFT executor: staged or cross-split FFT box");
    return;
  }
  for (int i = k + 1; i < a->nd; i++) s *= a->ext[i];
  for (int i = 0; i < k; i++) nl *= a->ext[i];
  nl *= s;
  size_t ib = (size_t)(B * a->ext[k]) * a->es, ob = (size_t)(B * z->ext[k]) * z->es;
  size_t rsz = job->single ? sizeof(float) : sizeof(double);
  for (int64_t l0 = 0; l0 < nl; l0 += B) {
    int64_t nb = nl - l0 < B ? nl - l0 : B, lo, hi;
    char *in = (char *)job->scr_in, *out = (char *)job->scr_out, *r;
    dsegs_t g;
    int q = 0;
    if (nb == B && (ld->direct & FFT_DIRECT_IN) && ld->kind != FFT_LINE_C2R &&
        (r = rows_direct(a, job->src_data, l0)) != NULL && be->line_fits(job->lp, r, NULL)) {
      in = r;
    } else {
      while (segs_next(a, k, &q, &g, &lo, &hi))
        gather(g, job->src_data, s, l0, nb, B, lo, hi, inter, ld->ipitch, job->scr_in, a->es);
    }
    if (nb == B && (ld->direct & FFT_DIRECT_OUT) &&
        (r = rows_direct(z, job->dst_data, l0)) != NULL && be->line_fits(job->lp, NULL, r) &&
        (r + ob <= in || in + ib <= r))
      out = r;
    be->line_exec(job->lp, in, out);
    if (out != job->scr_out) {   /* written in the rows: only the scaling is left */
      if (job->scale != 1.0) scale_dev(out, (int64_t)(ob / rsz), job->single, job->scale);
      continue;
    }
    q = 0;
    while (segs_next(z, k, &q, &g, &lo, &hi))
      scatter(g, job->dst_data, s, l0, nb, lo, hi, inter, ld->opitch, job->scr_out, z->es,
              job->single, job->scale);
  }
}

/* Byte offset of element c[] of a box plain or split along g.dim. */
__device__ __forceinline__ size_t box_off(const dsegs_t &g, const int64_t *c, size_t es)
{
  int j = g.dim, q = seg_find(g, c[j]);
  int64_t lin = 0;
  for (int i = 0; i < g.nd; i++) {
    int64_t e = i == j ? g.len[q] : g.ext[i], x = i == j ? c[i] - g.t0[q] : c[i];
    lin = lin * e + x;
  }
  return g.off[q] + (size_t)lin * es;
}

/* Copy the sub-box [lo, lo+ext) of box ga (in src) to the same elements of
 * box gz (in dst); row-major over the sub-box, last dim fastest. */
template <typename E>
__global__ void k_repack(dsegs_t ga, const char *src, dsegs_t gz, char *dst, int nd,
                         elem_t<int64_t, FFT_MAXD> lo, elem_t<int64_t, FFT_MAXD> ext, int64_t total)
{
  for (int64_t x = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; x < total;
       x += (int64_t)gridDim.x * blockDim.x) {
    int64_t c[FFT_MAXD], r = x;
    for (int i = nd - 1; i >= 0; i--) {
      c[i] = lo.v[i] + r % ext.v[i];
      r /= ext.v[i];
    }
    *(E *)(dst + box_off(gz, c, sizeof(E))) = *(const E *)(src + box_off(ga, c, sizeof(E)));
  }
}

static void cufft_exec_copy(const fft_box_t *a, const char *src, const fft_box_t *z, char *dst,
                            fft_seg_t *sa, fft_seg_t *sz)
{
  dsegs_t ga, gz;
  int qa = 0;
  int64_t alo, ahi, zlo, zhi;
  (void)sa;
  (void)sz;
  while (segs_next(a, 0, &qa, &ga, &alo, &ahi)) {
    int qz = 0;
    while (segs_next(z, 0, &qz, &gz, &zlo, &zhi)) {
      elem_t<int64_t, FFT_MAXD> lo, ext;
      int64_t total = 1;
      for (int i = 0; i < FFT_MAXD; i++) {
        lo.v[i] = 0;
        ext.v[i] = i < a->nd ? a->ext[i] : 1;
      }
      /* the chunk groups' ranges along their split dims (a plain box: all) */
      if (a->split >= 0) { lo.v[ga.dim] = alo; ext.v[ga.dim] = ahi - alo; }
      if (z->split >= 0) {
        int64_t l = lo.v[gz.dim] > zlo ? lo.v[gz.dim] : zlo;
        int64_t h = lo.v[gz.dim] + ext.v[gz.dim] < zhi ? lo.v[gz.dim] + ext.v[gz.dim] : zhi;
        lo.v[gz.dim] = l;
        ext.v[gz.dim] = h > l ? h - l : 0;
      }
      for (int i = 0; i < a->nd; i++) total *= ext.v[i];
      if (total == 0) continue;
      unsigned nblk = blocks_for(total);
      if (a->es == 4)
        k_repack<elem_t<unsigned, 1>><<<nblk, 256>>>(ga, src, gz, dst, a->nd, lo, ext, total);
      else if (a->es == 8)
        k_repack<elem_t<unsigned, 2>><<<nblk, 256>>>(ga, src, gz, dst, a->nd, lo, ext, total);
      else
        k_repack<elem_t<unsigned long long, 2>><<<nblk, 256>>>(ga, src, gz, dst, a->nd, lo, ext,
                                                               total);
      note_cuda(cudaGetLastError(), "FFT repack kernel");
    }
  }
}

/* The end of an execution: the default stream drained, the first failure
 * (if any) reported and forgotten. */
static tess_err_t cufft_exec_finish(void)
{
  tess_err_t err = TESS_OK;
  cudaError_t e = cudaStreamSynchronize((cudaStream_t)0);
  if (first_cufft != CUFFT_SUCCESS)
    err = CUFFT_FAIL(first_cufft, "%s", first_what);
  else if (first_cuda != cudaSuccess)
    err = CUDA_FAIL(first_cuda, "%s", first_what);
  else if (e != cudaSuccess)
    err = CUDA_FAIL(e, "cudaStreamSynchronize after the FFT");
  first_cuda = cudaSuccess;
  first_cufft = CUFFT_SUCCESS;
  first_what = NULL;
  return err;
}

/* ---- whole local transforms (TESS_FFT_FAST_LOCAL) ---------------------------------- */

/* One multi-dim cuFFT plan over the whole local block: cuFFT's own 3-D (or
 * 2-D) algorithm, so about one pass over the data per dim, but not the line
 * engine's arithmetic: results differ in the last bits from the same plan
 * at other rank counts (fft.h). */
typedef struct {
  fft_line_kind_t kind;
  int single, sign;
  int64_t howmany;           /* 0: nothing to do on this rank */
  size_t in_bytes, out_reals;
  double scale;
  cufftHandle h;
  void *copy;                /* C2R: the input's copy that cuFFT may overwrite */
} cufft_local_t;

static void cufft_local_destroy(void *lp)
{
  cufft_local_t *l = (cufft_local_t *)lp;
  if (!l) return;
  if (l->howmany > 0) cufftDestroy(l->h);
  tess_free(TESS_MEM_DEVICE, &l->copy);
  free(l);
}

static tess_err_t cufft_local_plan(const fft_local_desc_t *d, void **lp)
{
  tess_err_t err = TESS_OK;
  cufft_local_t *l = NULL;
  long long n[3];
  int64_t in_elems = 1, out_elems = 1;
  size_t es_c = d->single ? 8 : 16, es_r = d->single ? 4 : 8, work = 0;
  cufftResult r;
  fft_line_desc_t t;

  *lp = NULL;
  TESS_REQUIRE(d->rank >= 1 && d->rank <= 3 && d->howmany >= 0, TESS_ERR_INTERNAL,
               "local FFT rank %d, %lld arrays", d->rank, (long long)d->howmany);
  l = (cufft_local_t *)calloc(1, sizeof *l);
  TESS_REQUIRE(l != NULL, TESS_ERR_MEM, "cuFFT local plan");
  l->kind = d->kind;
  l->single = d->single;
  l->sign = d->sign;
  l->howmany = d->howmany;
  l->scale = d->scale;
  for (int i = 0; i < d->rank; i++) {
    int last = i == d->rank - 1;
    int64_t m = last && d->kind != FFT_LINE_C2C ? d->n[i] / 2 + 1 : d->n[i];
    n[i] = (long long)d->n[i];
    in_elems *= last && d->kind == FFT_LINE_C2R ? m : d->n[i];
    out_elems *= last && d->kind == FFT_LINE_R2C ? m : d->n[i];
  }
  l->in_bytes = (size_t)(in_elems * d->howmany) * (d->kind == FFT_LINE_R2C ? es_r : es_c);
  l->out_reals = (size_t)(out_elems * d->howmany) * (d->kind == FFT_LINE_C2R ? 1 : 2);
  if (d->howmany > 0) {
    memset(&t, 0, sizeof t);
    t.kind = d->kind;
    t.single = d->single;
    r = cufftCreate(&l->h);
    TESS_REQUIRE(r == CUFFT_SUCCESS, TESS_ERR_FFT, "cufftCreate: %s", cufft_name(r));
    /* NULL embeds: each array contiguous, the next right after it */
    r = cufftMakePlanMany64(l->h, d->rank, n, NULL, 1, 0, NULL, 1, 0, line_type(&t),
                            (long long)d->howmany, &work);
    if (r == CUFFT_SUCCESS) r = cufftSetStream(l->h, (cudaStream_t)0);
    if (r != CUFFT_SUCCESS) {
      cufftDestroy(l->h);
      l->howmany = 0;
      TESS_REQUIRE(0, TESS_ERR_FFT,
                   "cufftMakePlanMany64 (%d-D %lld x %lld x %lld, %lld arrays%s): %s", d->rank,
                   n[0], d->rank > 1 ? n[1] : 1LL, d->rank > 2 ? n[2] : 1LL,
                   (long long)d->howmany, d->single ? ", f32" : "", cufft_name(r));
    }
    if (d->kind == FFT_LINE_C2R) TESS_CHECK(tess_malloc(TESS_MEM_DEVICE, l->in_bytes, &l->copy));
  }
  *lp = l;
  l = NULL;
cleanup:
  cufft_local_destroy(l);
  return err;
}

static void cufft_local_exec(void *lp, const void *in, void *out)
{
  cufft_local_t *l = (cufft_local_t *)lp;
  void *src = (void *)in;
  if (l->howmany == 0) return;
  if (l->kind == FFT_LINE_C2R) {   /* `in` stays as it was */
    note_cuda(cudaMemcpyAsync(l->copy, in, l->in_bytes, cudaMemcpyDeviceToDevice, (cudaStream_t)0),
              "cudaMemcpyAsync (C2R input copy)");
    src = l->copy;
  }
  exec_handle(l->h, l->kind, l->single, l->sign, src, out);
  if (l->scale != 1.0) scale_dev(out, (int64_t)l->out_reals, l->single, l->scale);
}

extern "C" const tess_fft_backend_t tess_fft_backend_cufft = {
  /* .name = */ "cufft",
  /* .accepts = */ cufft_accepts,
  /* .scratch_space = */ TESS_MEM_DEVICE,
  /* .line_batch = */ cufft_line_batch,
  /* .plane_group_bytes = */ 0,
  /* .line_plan = */ cufft_line_plan,
  /* .line_exec = */ cufft_line_exec,
  /* .line_fits = */ cufft_line_fits,
  /* .line_destroy = */ cufft_line_destroy,
  /* .line_plan_measured = */ cufft_line_plan_measured,
  /* .buf_alloc = */ cufft_buf_alloc,
  /* .buf_free = */ cufft_buf_free,
  /* .plane_stage_max = */ cufft_plane_stage_max,
  /* .exec_lines = */ cufft_exec_lines,
  /* .exec_copy = */ cufft_exec_copy,
  /* .exec_finish = */ cufft_exec_finish,
  /* .local_plan = */ cufft_local_plan,
  /* .local_exec = */ cufft_local_exec,
  /* .local_destroy = */ cufft_local_destroy,
};
