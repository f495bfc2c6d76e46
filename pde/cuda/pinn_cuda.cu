/* pde/cuda/pinn_cuda.cu: the PINN's Taylor jets and their exact adjoints on
 * the GPU, one chunk at a time (contract: pde/pinn_cuda.h).
 *
 * Why it looks like this. A chunk's dense layer is linear in every jet
 * component, so as on the CPU it is ONE matrix product over all C*B rows of
 * the chunk (cuBLAS GEMM); the parameter gradient of a layer is one more
 * (Zbar^T H over the same rows) and the input adjoint a third. Between the
 * products, the activation's jet recurrences (Faa di Bruno) and their
 * adjoints are one fused elementwise kernel per layer: a thread per (point,
 * neuron) evaluates s_k = act^(k)(z_0) once and writes every component, so a
 * layer is one read of Z and one write of H instead of a pass per term.
 * The kernels copy taylor_jet.c, pinn_adjoint.c and activation.c term for
 * term and in the same order, and this file is compiled with -fmad=false
 * (no FMA contraction; the CPU library is built with -ffp-contract=off):
 * given the same inputs an elementwise kernel returns the CPU's bits (tanh
 * is Tessera's own polynomial, ported; sin, exp, log1p and erfc are CUDA's,
 * within an ulp or so of glibc's). The GEMMs round differently from
 * OpenBLAS, hence GPU vs CPU agree to rounding, not bitwise.
 *
 * Determinism. cuBLAS returns the same bits run to run on GPUs of the same
 * architecture and SM count with the same toolkit, when one stream is used
 * or each stream has its own workspace, and atomics are not allowed (cuBLAS
 * "Results reproducibility"). So: one handle per process (made lazily, on
 * the rank's device), the default stream, a fixed 32 MiB workspace given by
 * cublasSetWorkspace, CUBLAS_ATOMICS_NOT_ALLOWED, cublasGemmEx with
 * CUBLAS_GEMM_DEFAULT, f64 in CUBLAS_COMPUTE_64F and f32 in
 * CUBLAS_COMPUTE_32F_PEDANTIC (no TF32, no reduced-precision reduction). A
 * chunk has the same shapes wherever it runs, so the same algorithm and the
 * same bits at any rank count. Bias gradients are a fixed-order reduction
 * over the chunk's points (32 sequential partial sums per column, then a
 * fixed binary tree in shared memory): no atomics anywhere.
 *
 * The residual expressions run here too: an interpreter kernel, a thread
 * per point, over the set's compiled program (pinn_expr_program), op by op
 * the operations of pinn_expr_eval and pinn_expr_adjoint in f64, so the loss
 * terms come back to the host's exact sums and the output-jet adjoint goes
 * straight into the backward pass. An interpreter, not generated code: the
 * program is data (a few dozen ops for the shipped decks), one kernel serves
 * every deck, no run-time compiler.
 *
 * The passes are written once over an executor: dev_exec (cuBLAS and the
 * kernels) or host_exec, which runs the same element bodies and GEMM
 * argument lists on the CPU, so the layouts, transposes and kernel bodies
 * are tested on machines without a GPU (tests/pde/test_pinn_cuda_host.c).
 *
 * Layouts are those of pinn_work_t: H[l] is C x B x width[l] row-major (a
 * component's B x width block, then the next), so row-major products become
 * column-major cuBLAS calls with the operands swapped (noted at each call). */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <mpi.h>   /* before the extern "C" block: tessera's headers include it */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include <tessera/error.h>
#include <tessera/memory.h>

#include "../pinn_cuda.h"
#include "../activation_tanh.h"
}

#define THREADS 256
/* Element bodies run in the kernels and, for the host emulation that checks
 * layouts and bodies without a GPU (pinn_cuda_work_create_host), on the CPU. */
#define HD __host__ __device__ __forceinline__

#define CUDA_TRY(call, what)                                                              \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) {                                                              \
      cudaGetLastError();                                                                 \
      err = tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, "%s: %s (%s)",  \
                            what, cudaGetErrorString(e_), cudaGetErrorName(e_));          \
      goto cleanup;                                                                       \
    }                                                                                     \
  } while (0)

#define CUBLAS_TRY(call, what)                                                            \
  do {                                                                                    \
    cublasStatus_t s_ = (call);                                                           \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                    \
      err = tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, "%s: %s (%s)",  \
                            what, cublasGetStatusString(s_), cublasGetStatusName(s_));    \
      goto cleanup;                                                                       \
    }                                                                                     \
  } while (0)

/* The launch's error (kernel launches report asynchronously). */
#define LAUNCHED(what) CUDA_TRY(cudaGetLastError(), what)

#define FOR_EACH(i, n)                                                                    \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);              \
       i += (int64_t)gridDim.x * blockDim.x)

static unsigned blocks_for(int64_t n)
{
  int64_t b = (n + THREADS - 1) / THREADS;
  return (unsigned)(b < 1 ? 1 : b > (1 << 20) ? (1 << 20) : b);
}

/* ---- the cuBLAS handle: one per process, deterministic configuration -------- */

#define PINN_CUBLAS_WORKSPACE ((size_t)32 << 20)
/* The handle and its workspace live as long as the process (no teardown
 * hook runs before the CUDA context goes). */
static cublasHandle_t pinn_handle;

static tess_err_t handle_get(cublasHandle_t *h)
{
  tess_err_t err = TESS_OK;
  if (pinn_handle) { *h = pinn_handle; return TESS_OK; }
  cublasHandle_t nh = NULL;
  void *ws = NULL;
  CUBLAS_TRY(cublasCreate(&nh), "cublasCreate");
  CUDA_TRY(cudaMalloc(&ws, PINN_CUBLAS_WORKSPACE), "cudaMalloc (cuBLAS workspace)");
  CUBLAS_TRY(cublasSetStream(nh, (cudaStream_t)0), "cublasSetStream");
  /* a fixed workspace: cuBLAS then picks nothing by what memory it finds */
  CUBLAS_TRY(cublasSetWorkspace(nh, ws, PINN_CUBLAS_WORKSPACE), "cublasSetWorkspace");
  CUBLAS_TRY(cublasSetAtomicsMode(nh, CUBLAS_ATOMICS_NOT_ALLOWED), "cublasSetAtomicsMode");
  CUBLAS_TRY(cublasSetMathMode(nh, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  CUBLAS_TRY(cublasSetPointerMode(nh, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
  pinn_handle = nh;
  nh = NULL;
  ws = NULL;
  *h = pinn_handle;
cleanup:
  if (nh) cublasDestroy(nh);
  if (ws) cudaFree(ws);
  return err;
}

template <typename T> struct gemm_types;
template <> struct gemm_types<double> {
  static constexpr cudaDataType dt = CUDA_R_64F;
  static constexpr cublasComputeType_t ct = CUBLAS_COMPUTE_64F;
};
template <> struct gemm_types<float> {
  static constexpr cudaDataType dt = CUDA_R_32F;
  static constexpr cublasComputeType_t ct = CUBLAS_COMPUTE_32F_PEDANTIC;   /* no TF32 */
};

/* Column-major C (m x n) = op(A) op(B), beta 0, the fixed algorithm. */
template <typename T>
static tess_err_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, size_t m,
                       size_t n, size_t k, const T *A, size_t lda, const T *B, size_t ldb, T *C,
                       size_t ldc)
{
  tess_err_t err = TESS_OK;
  const T one = 1, zero = 0;
  TESS_REQUIRE(m <= INT32_MAX && n <= INT32_MAX && k <= INT32_MAX && lda <= INT32_MAX
               && ldb <= INT32_MAX && ldc <= INT32_MAX, TESS_ERR_UNSUPPORTED,
               "GEMM %zu x %zu x %zu exceeds cuBLAS's 32-bit sizes (use a smaller chunk)", m, n, k);
  CUBLAS_TRY(cublasGemmEx(h, ta, tb, (int)m, (int)n, (int)k, &one, A, gemm_types<T>::dt, (int)lda,
                          B, gemm_types<T>::dt, (int)ldb, &zero, C, gemm_types<T>::dt, (int)ldc,
                          gemm_types<T>::ct, CUBLAS_GEMM_DEFAULT),
             "cublasGemmEx");
cleanup:
  return err;
}

/* ---- activations: activation.c on the device ------------------------------ */

/* The jet layout without the direction vectors (those only seed layer 0):
 * small enough to pass by value to every kernel. */
typedef struct {
  int din, ncomp, npairs, c_pair, c_lap, ndirs, maxord;
  int pi[TESS_JET_MAX_PAIRS], pj[TESS_JET_MAX_PAIRS];
  int c_dir[TESS_JET_MAX_DIRS], dord[TESS_JET_MAX_DIRS];
} dev_layout_t;

static dev_layout_t dev_layout(const pinn_layout_t *L)
{
  dev_layout_t d;
  memset(&d, 0, sizeof d);
  d.din = L->din;
  d.ncomp = L->ncomp;
  d.npairs = L->npairs;
  d.c_pair = L->c_pair;
  d.c_lap = L->c_lap;
  d.ndirs = L->ndirs;
  d.maxord = L->maxord;
  for (int p = 0; p < L->npairs; p++) { d.pi[p] = L->pi[p]; d.pj[p] = L->pj[p]; }
  for (int k = 0; k < L->ndirs; k++) { d.c_dir[k] = L->c_dir[k]; d.dord[k] = L->dord[k]; }
  return d;
}

/* activation.c's tanh (pde/activation_tanh.h), operation for operation. */
HD double act_tanh(double x) { return pinn_tanh(x); }
HD float act_tanh(float x) { return pinn_tanhf(x); }

HD double m_sin(double x) { return sin(x); }
HD float m_sin(float x) { return sinf(x); }
HD double m_cos(double x) { return cos(x); }
HD float m_cos(float x) { return cosf(x); }
HD double m_exp(double x) { return exp(x); }
HD float m_exp(float x) { return expf(x); }
HD double m_fabs(double x) { return fabs(x); }
HD float m_fabs(float x) { return fabsf(x); }
HD double m_log1p(double x) { return log1p(x); }
HD float m_log1p(float x) { return log1pf(x); }
HD double m_erfc(double x) { return erfc(x); }
HD float m_erfc(float x) { return erfcf(x); }

/* s[k] = act^(k)(z), k = 0..m (m <= 5), as pinn_act_eval for one value;
 * h0: act(z) when known (has_h0; tanh's backward pass reuses t). */
template <typename T>
HD void act_eval(int act, T z, T h0, int has_h0, int m, T s[6])
{
  switch (act) {
  case TESS_ACT_TANH: {
    T t = has_h0 ? h0 : act_tanh(z);
    s[0] = t;
    if (m >= 1) s[1] = 1 - t * t;
    if (m >= 2) s[2] = -2 * t * (1 - t * t);
    if (m >= 3) { T t2 = t * t; s[3] = -2 + t2 * (8 - 6 * t2); }
    if (m >= 4) { T t2 = t * t; s[4] = t * (16 + t2 * (-40 + 24 * t2)); }
    if (m >= 5) { T t2 = t * t; s[5] = 16 + t2 * (-136 + t2 * (240 - 120 * t2)); }
    break;
  }
  case TESS_ACT_SIN: {
    T sn = has_h0 ? h0 : m_sin(z), cs = m_cos(z);
    s[0] = sn;
    if (m >= 1) s[1] = cs;
    if (m >= 2) s[2] = -sn;
    if (m >= 3) s[3] = -cs;
    if (m >= 4) s[4] = sn;
    if (m >= 5) s[5] = cs;
    break;
  }
  case TESS_ACT_SOFTPLUS: {
    T x = z, e = m_exp(-m_fabs(x));
    T p = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    T r = x >= 0 ? e / (1 + e) : 1 / (1 + e);
    T pq = p * r, d = r - p;
    s[0] = has_h0 ? h0 : (x > 0 ? x : 0) + m_log1p(e);
    if (m >= 1) s[1] = p;
    if (m >= 2) s[2] = pq;
    if (m >= 3) s[3] = pq * d;
    if (m >= 4) s[4] = pq * (1 - 6 * pq);
    if (m >= 5) s[5] = pq * d * (1 - 12 * pq);
    break;
  }
  case TESS_ACT_GELU:
  default: {
    const T rsqrt2 = (T)0.70710678118654752440, rsqrt2pi = (T)0.39894228040143267794;
    T x = z, x2 = x * x, phi = rsqrt2pi * m_exp(-x2 / 2);
    T Phi = (T)0.5 * m_erfc(-x * rsqrt2);
    s[0] = has_h0 ? h0 : x * Phi;
    if (m >= 1) s[1] = Phi + x * phi;
    if (m >= 2) s[2] = phi * (2 - x2);
    if (m >= 3) s[3] = phi * x * (x2 - 4);
    if (m >= 4) s[4] = phi * (-4 + x2 * (7 - x2));
    if (m >= 5) s[5] = phi * x * (18 + x2 * (-11 + x2));
    break;
  }
  }
}

/* ---- element bodies (one thread's work) ------------------------------------------ */

/* Layer 0's jet (pinn_jet_forward): value x, gradient e_i, first directional
 * order v_k, zeros elsewhere. Entry e of C x B x din. */
template <typename T>
HD T input_jet_elem(const dev_layout_t &L, int64_t B, const double *x, const double *dirs, int64_t e)
{
  const int din = L.din;
  int64_t c = e / (B * din), r = e % (B * din);
  int i = (int)(r % din);
  T v = 0;
  if (c == 0) v = (T)x[r];
  else if (c <= din) v = (c - 1 == i) ? 1 : 0;
  else
    for (int k = 0; k < L.ndirs; k++)
      if (c == L.c_dir[k]) v = (T)dirs[k * din + i];
  return v;
}

/* One activation layer at value q (act_forward of taylor_jet.c), n = B x
 * nout values per component, components n apart; the bias joins z_0 here
 * (the GEMM ran with beta 0), written back since the adjoint reads Z. */
template <typename T>
HD void act_forward_elem(int act, const dev_layout_t &L, int64_t n, int nout, const T *bias, T *Z, T *H,
                         int64_t q)
{
#define ZC(c) Z[(int64_t)(c) * n + q]
#define HC(c) H[(int64_t)(c) * n + q]
  T z0 = Z[q] + bias[q % nout];
  Z[q] = z0;
  T s[6] = {0, 0, 0, 0, 0, 0};
  act_eval<T>(act, z0, (T)0, 0, L.maxord, s);
  const T s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4];
  HC(0) = s[0];
  for (int i = 0; i < L.din; i++) HC(1 + i) = s1 * ZC(1 + i);
  for (int p = 0; p < L.npairs; p++)
    HC(L.c_pair + p) = s1 * ZC(L.c_pair + p) + s2 * ZC(1 + L.pi[p]) * ZC(1 + L.pj[p]);
  if (L.c_lap >= 0) {
    T hl = s1 * ZC(L.c_lap);
    for (int i = 0; i < L.din; i++) {
      T zi = ZC(1 + i);
      hl += s2 * zi * zi;
    }
    HC(L.c_lap) = hl;
  }
  for (int k = 0; k < L.ndirs; k++) {
    const int K = L.dord[k], c = L.c_dir[k];
    T a1 = ZC(c), a2 = K >= 2 ? ZC(c + 1) : 0, a3 = K >= 3 ? ZC(c + 2) : 0, a4 = K >= 4 ? ZC(c + 3) : 0;
    HC(c) = s1 * a1;
    if (K >= 2) HC(c + 1) = s1 * a2 + s2 * a1 * a1;
    if (K >= 3) HC(c + 2) = s1 * a3 + 3 * s2 * a1 * a2 + s3 * a1 * a1 * a1;
    if (K >= 4) {
      T x1 = a1, x2 = a2, x12 = x1 * x1;
      HC(c + 3) = s1 * a4 + s2 * (4 * x1 * a3 + 3 * x2 * x2) + 6 * s3 * x12 * x2 + s4 * x12 * x12;
    }
  }
#undef ZC
#undef HC
}

/* act_backward of pinn_adjoint.c at value q: Hb (adjoint of the activation
 * output), Z and H (the forward jet of this layer) -> Zb; n values per
 * component. Each entry of Zb is updated in the CPU's order. */
template <typename T>
HD void act_backward_elem(int act, const dev_layout_t &L, int64_t n, const T *Z, const T *H, const T *Hb,
                          T *Zb, int64_t q)
{
#define ZC(c) Z[(int64_t)(c) * n + q]
#define HB(c) Hb[(int64_t)(c) * n + q]
#define ZB(c) Zb[(int64_t)(c) * n + q]
  T s[6] = {0, 0, 0, 0, 0, 0};
  /* tanh recovers its derivatives from the stored value t = H_0 */
  act_eval<T>(act, ZC(0), H[q], act == TESS_ACT_TANH, L.maxord + 1, s);
  const T s1 = s[1], s2 = s[2], s3 = s[3];
  T zb0 = s1 * HB(0);
  for (int i = 0; i < L.din; i++) {
    T zi = ZC(1 + i), hbi = HB(1 + i);
    ZB(1 + i) = s1 * hbi;
    zb0 += s2 * zi * hbi;
  }
  for (int p = 0; p < L.npairs; p++) {
    const int c = L.c_pair + p, i = L.pi[p], j = L.pj[p];
    T g = HB(c), zp = ZC(c), zi = ZC(1 + i), zj = ZC(1 + j);
    ZB(c) = s1 * g;
    zb0 += (s2 * zp + s3 * zi * zj) * g;
    ZB(1 + i) += s2 * zj * g;
    ZB(1 + j) += s2 * zi * g;
  }
  if (L.c_lap >= 0) {
    T hbl = HB(L.c_lap);
    ZB(L.c_lap) = s1 * hbl;
    zb0 += s2 * ZC(L.c_lap) * hbl;
    for (int i = 0; i < L.din; i++) {
      T zi = ZC(1 + i), g = hbl;
      zb0 += s3 * zi * zi * g;
      ZB(1 + i) += 2 * s2 * zi * g;
    }
  }
  for (int k = 0; k < L.ndirs; k++) {
    const int K = L.dord[k], c = L.c_dir[k];
    T a1 = ZC(c), a2 = K >= 2 ? ZC(c + 1) : 0, a3 = K >= 3 ? ZC(c + 2) : 0, a4 = K >= 4 ? ZC(c + 3) : 0;
    T g1 = HB(c), g2 = K >= 2 ? HB(c + 1) : 0, g3 = K >= 3 ? HB(c + 2) : 0, g4 = K >= 4 ? HB(c + 3) : 0;
    T S1 = s1, S2 = s2, S3 = s3, S4 = K >= 3 ? s[4] : 0, S5 = K >= 4 ? s[5] : 0;
    T b1 = S1 * g1, z0 = S2 * a1 * g1;
    if (K >= 2) {
      b1 += 2 * S2 * a1 * g2;
      ZB(c + 1) = S1 * g2;
      z0 += (S2 * a2 + S3 * a1 * a1) * g2;
    }
    if (K >= 3) {
      b1 += (3 * S2 * a2 + 3 * S3 * a1 * a1) * g3;
      ZB(c + 1) += 3 * S2 * a1 * g3;
      ZB(c + 2) = S1 * g3;
      z0 += (S2 * a3 + 3 * S3 * a1 * a2 + S4 * a1 * a1 * a1) * g3;
    }
    if (K >= 4) {
      b1 += (4 * S2 * a3 + 12 * S3 * a1 * a2 + 4 * S4 * a1 * a1 * a1) * g4;
      ZB(c + 1) += (6 * S2 * a2 + 6 * S3 * a1 * a1) * g4;
      ZB(c + 2) += 4 * S2 * a1 * g4;
      ZB(c + 3) = S1 * g4;
      z0 += (S2 * a4 + 4 * S3 * a1 * a3 + 3 * S3 * a2 * a2 + 6 * S4 * a1 * a1 * a2
             + S5 * a1 * a1 * a1 * a1) * g4;
    }
    ZB(c) = b1;
    zb0 += z0;
  }
  ZB(0) = zb0;
#undef ZC
#undef HB
#undef ZB
}

/* The residual program at point q (pinn_expr_eval, then the loss term and,
 * with adj, pinn_expr_adjoint and the seeds of chunk_run in pinn_problem.c),
 * the same operations in the same order per point. */
HD double fun_apply(int f, double x)
{
  switch (f) {
  case PINN_FUN_SIN: return sin(x);
  case PINN_FUN_COS: return cos(x);
  case PINN_FUN_EXP: return exp(x);
  case PINN_FUN_LOG: return log(x);
  case PINN_FUN_SQRT: return sqrt(x);
  default: return tanh(x);
  }
}

typedef struct {
  const pinn_op_t *ops;
  const pinn_leaf_term_t *terms;
  const int *roots;
  int nops, nroots;
  int64_t B;
  int C, dout, din;
  double weight;
  int64_t nv;
  int adj;
} res_args_t;

template <typename T>
HD void residual_elem(const res_args_t &A, const T *jet, const double *x, double *tterm, double *jb, T *bar0,
                      int64_t q)
{
  double val[PINN_CUDA_PROG_MAX], bar[PINN_CUDA_PROG_MAX];
  const int64_t B = A.B;
  const int dout = A.dout;
  for (int k = 0; k < A.nops; k++) {
    const pinn_op_t *o = &A.ops[k];
    const double va = o->a >= 0 ? val[o->a] : 0, vb = o->b >= 0 ? val[o->b] : 0;
    double v = 0;
    switch (o->kind) {
    case PINN_OP_NUM: v = o->num; break;
    case PINN_OP_COORD: v = x[q * A.din + o->idx]; break;
    case PINN_OP_OUT: case PINN_OP_LAP: {
      double sum = 0;
      for (int t = 0; t < o->nterm; t++) {
        const pinn_leaf_term_t *tm = &A.terms[o->term0 + t];
        sum += tm->coef * (double)jet[((int64_t)tm->comp * B + q) * dout + tm->out];
      }
      v = sum;
      break;
    }
    case PINN_OP_ADD: v = va + vb; break;
    case PINN_OP_SUB: v = va - vb; break;
    case PINN_OP_MUL: v = va * vb; break;
    case PINN_OP_DIV: v = va / vb; break;
    case PINN_OP_NEG: v = -va; break;
    case PINN_OP_POW: v = o->num == 2 ? va * va : pow(va, o->num); break;
    default: v = fun_apply(o->fun, va); break;
    }
    val[k] = v;
  }
  double acc = 0;
  for (int r = 0; r < A.nroots; r++) {
    double v = val[A.roots[r]];
    acc += v * v;
  }
  tterm[q] = A.weight * acc;
  if (!A.adj) return;
  for (int c = 0; c < A.C; c++)
    for (int o = 0; o < dout; o++) jb[((int64_t)c * B + q) * dout + o] = 0;
  for (int k = 0; k < A.nops; k++) bar[k] = 0;
  for (int r = 0; r < A.nroots; r++) bar[A.roots[r]] += q < A.nv ? 2 * A.weight * val[A.roots[r]] : 0;
  for (int k = A.nops - 1; k >= 0; k--) {
    const pinn_op_t *o = &A.ops[k];
    const double g = bar[k], v = val[k];
    const int a = o->a, b = o->b;
    const double va = a >= 0 ? val[a] : 0, vb = b >= 0 ? val[b] : 0;
    switch (o->kind) {
    case PINN_OP_NUM: case PINN_OP_COORD: break;
    case PINN_OP_OUT: case PINN_OP_LAP:
      for (int t = 0; t < o->nterm; t++) {
        const pinn_leaf_term_t *tm = &A.terms[o->term0 + t];
        jb[((int64_t)tm->comp * B + q) * dout + tm->out] += tm->coef * g;
      }
      break;
    case PINN_OP_ADD: bar[a] += g; bar[b] += g; break;
    case PINN_OP_SUB: bar[a] += g; bar[b] -= g; break;
    case PINN_OP_MUL: bar[a] += g * vb; bar[b] += g * va; break;
    case PINN_OP_DIV: bar[a] += g / vb; bar[b] -= g * v / vb; break;
    case PINN_OP_NEG: bar[a] -= g; break;
    case PINN_OP_POW:
      if (o->num == 2) bar[a] += 2 * g * va;
      else bar[a] += g * o->num * pow(va, o->num - 1);
      break;
    default: {
      double d;
      switch (o->fun) {
      case PINN_FUN_SIN: d = cos(va); break;
      case PINN_FUN_COS: d = -sin(va); break;
      case PINN_FUN_EXP: d = v; break;
      case PINN_FUN_LOG: d = 1 / va; break;
      case PINN_FUN_SQRT: d = 0.5 / v; break;
      default: d = 1 - v * v; break;
      }
      bar[a] += g * d;
      break;
    }
    }
  }
  for (int c = 0; c < A.C; c++)
    for (int o = 0; o < dout; o++) {
      int64_t i = ((int64_t)c * B + q) * dout + o;
      bar0[i] = (T)jb[i];
    }
}

/* ---- kernels ----------------------------------------------------------------------- */

template <typename T>
__global__ void k_residuals(res_args_t A, const T *jet, const double *x, double *tterm, double *jb, T *bar0)
{
  FOR_EACH(q, A.B) residual_elem<T>(A, jet, x, tterm, jb, bar0, q);
}


template <typename T>
__global__ void k_input_jet(dev_layout_t L, int64_t B, const double *x, const double *dirs, T *H0, int64_t n)
{
  FOR_EACH(e, n) H0[e] = input_jet_elem<T>(L, B, x, dirs, e);
}

/* z_0 += b: the value rows of the last layer (no activation after it). */
template <typename T>
__global__ void k_bias(int64_t n, int nout, const T *bias, T *Z)
{
  FOR_EACH(q, n) Z[q] = Z[q] + bias[q % nout];
}

template <typename T>
__global__ void k_act_forward(int act, dev_layout_t L, int64_t n, int nout, const T *bias, T *Z, T *H)
{
  FOR_EACH(q, n) act_forward_elem<T>(act, L, n, nout, bias, Z, H, q);
}

template <typename T>
__global__ void k_act_backward(int act, dev_layout_t L, int64_t n, const T *Z, const T *H, const T *Hb, T *Zb)
{
  FOR_EACH(q, n) act_backward_elem<T>(act, L, n, Z, H, Hb, Zb, q);
}

/* bbar_j = sum over the B points of Zbar_0[b][j]: a block of 32 x RED_ROWS
 * threads per 32 columns; thread (tx, ty) adds points ty, ty + RED_ROWS, ...
 * in order, then the RED_ROWS partials meet in a fixed binary tree. The
 * order depends on B alone, never on timing: deterministic, no atomics.
 * bias_grad_host below is the same order written serially. */
#define RED_ROWS 32
template <typename T>
__global__ void k_bias_grad(int64_t B, int nout, const T *zb, T *gb)
{
  __shared__ T part[RED_ROWS][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = (int64_t)blockIdx.x * 32 + tx;
  T acc = 0;
  if (j < nout)
    for (int64_t b = ty; b < B; b += RED_ROWS) acc += zb[b * nout + j];
  part[ty][tx] = acc;
  __syncthreads();
  for (int w = RED_ROWS / 2; w >= 1; w /= 2) {
    if (ty < w) part[ty][tx] = part[ty][tx] + part[ty + w][tx];
    __syncthreads();
  }
  if (ty == 0 && j < nout) gb[j] = part[0][tx];
}

template <typename S, typename D>
__global__ void k_convert(int64_t n, const S *src, D *dst)
{
  FOR_EACH(i, n) dst[i] = (D)src[i];   /* f64 -> f32: round to nearest, as the CPU's cast */
}

/* ---- executors: the GPU, and the host emulation ----------------------------------- */

/* The GPU: cuBLAS for the products, the kernels above for the rest, all on
 * the default stream; finish() waits and reports. */
struct dev_exec {
  cublasHandle_t h = NULL;
  tess_err_t begin() { return handle_get(&h); }
  template <typename T>
  tess_err_t gemm_(cublasOperation_t ta, cublasOperation_t tb, size_t m, size_t n, size_t k, const T *A,
                   size_t lda, const T *B, size_t ldb, T *C, size_t ldc)
  {
    return gemm<T>(h, ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
  }
  template <typename T>
  tess_err_t input_jet(const dev_layout_t &L, int64_t B, const double *x, const double *dirs, T *H0, int64_t n)
  {
    tess_err_t err = TESS_OK;
    k_input_jet<T><<<blocks_for(n), THREADS>>>(L, B, x, dirs, H0, n);
    LAUNCHED("input jet kernel");
  cleanup:
    return err;
  }
  template <typename T>
  tess_err_t act_forward(int act, const dev_layout_t &L, int64_t n, int nout, const T *bias, T *Z, T *H)
  {
    tess_err_t err = TESS_OK;
    k_act_forward<T><<<blocks_for(n), THREADS>>>(act, L, n, nout, bias, Z, H);
    LAUNCHED("activation forward kernel");
  cleanup:
    return err;
  }
  template <typename T>
  tess_err_t bias(int64_t n, int nout, const T *b, T *Z)
  {
    tess_err_t err = TESS_OK;
    k_bias<T><<<blocks_for(n), THREADS>>>(n, nout, b, Z);
    LAUNCHED("bias kernel");
  cleanup:
    return err;
  }
  template <typename T>
  tess_err_t bias_grad(int64_t B, int nout, const T *zb, T *gb)
  {
    tess_err_t err = TESS_OK;
    k_bias_grad<T><<<(unsigned)((nout + 31) / 32), dim3(32, RED_ROWS)>>>(B, nout, zb, gb);
    LAUNCHED("bias gradient kernel");
  cleanup:
    return err;
  }
  template <typename T>
  tess_err_t act_backward(int act, const dev_layout_t &L, int64_t n, const T *Z, const T *H, const T *Hb, T *Zb)
  {
    tess_err_t err = TESS_OK;
    k_act_backward<T><<<blocks_for(n), THREADS>>>(act, L, n, Z, H, Hb, Zb);
    LAUNCHED("activation adjoint kernel");
  cleanup:
    return err;
  }
  tess_err_t finish(const char *what)
  {
    tess_err_t err = TESS_OK;
    CUDA_TRY(cudaStreamSynchronize((cudaStream_t)0), what);
  cleanup:
    return err;
  }
};

/* The host emulation: the same element bodies in loops, the same bias
 * reduction order, and the products as plain column-major loops with the
 * cuBLAS calls' arguments. Slow; it exists so that a machine without a GPU
 * checks the operand layouts, transposes and leading dimensions of every
 * product and the kernel bodies against the CPU path
 * (tests/pde/test_pinn_cuda_host.c). */
struct host_exec {
  tess_err_t begin() { return TESS_OK; }
  template <typename T>
  tess_err_t gemm_(cublasOperation_t ta, cublasOperation_t tb, size_t m, size_t n, size_t k, const T *A,
                   size_t lda, const T *B, size_t ldb, T *C, size_t ldc)
  {
    for (size_t j = 0; j < n; j++)
      for (size_t i = 0; i < m; i++) {
        T acc = 0;
        for (size_t l = 0; l < k; l++) {
          T a = ta == CUBLAS_OP_N ? A[i + l * lda] : A[l + i * lda];
          T b = tb == CUBLAS_OP_N ? B[l + j * ldb] : B[j + l * ldb];
          acc += a * b;
        }
        C[i + j * ldc] = acc;
      }
    return TESS_OK;
  }
  template <typename T>
  tess_err_t input_jet(const dev_layout_t &L, int64_t B, const double *x, const double *dirs, T *H0, int64_t n)
  {
    for (int64_t e = 0; e < n; e++) H0[e] = input_jet_elem<T>(L, B, x, dirs, e);
    return TESS_OK;
  }
  template <typename T>
  tess_err_t act_forward(int act, const dev_layout_t &L, int64_t n, int nout, const T *bias, T *Z, T *H)
  {
    for (int64_t q = 0; q < n; q++) act_forward_elem<T>(act, L, n, nout, bias, Z, H, q);
    return TESS_OK;
  }
  template <typename T>
  tess_err_t bias(int64_t n, int nout, const T *b, T *Z)
  {
    for (int64_t q = 0; q < n; q++) Z[q] = Z[q] + b[q % nout];
    return TESS_OK;
  }
  template <typename T>
  tess_err_t bias_grad(int64_t B, int nout, const T *zb, T *gb)
  {
    for (int j = 0; j < nout; j++) {
      T part[RED_ROWS];
      for (int r = 0; r < RED_ROWS; r++) {
        T acc = 0;
        for (int64_t b = r; b < B; b += RED_ROWS) acc += zb[b * nout + j];
        part[r] = acc;
      }
      for (int w = RED_ROWS / 2; w >= 1; w /= 2)
        for (int r = 0; r < w; r++) part[r] = part[r] + part[r + w];
      gb[j] = part[0];
    }
    return TESS_OK;
  }
  template <typename T>
  tess_err_t act_backward(int act, const dev_layout_t &L, int64_t n, const T *Z, const T *H, const T *Hb, T *Zb)
  {
    for (int64_t q = 0; q < n; q++) act_backward_elem<T>(act, L, n, Z, H, Hb, Zb, q);
    return TESS_OK;
  }
  tess_err_t finish(const char *) { return TESS_OK; }
};

/* ---- the passes ------------------------------------------------------------------ */

template <typename T, typename X>
static tess_err_t jet_forward(X &ex, const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  tess_err_t err = TESS_OK;
  const size_t B = w->B, C = (size_t)lay->ncomp;
  const dev_layout_t L = dev_layout(lay);
  const T *theta = (const T *)w->theta;
  TESS_CHECK(ex.begin());
  TESS_CHECK(ex.template input_jet<T>(L, (int64_t)B, w->x, w->conv + w->nconv, (T *)w->H[0],
                                      (int64_t)(C * B * (size_t)lay->din)));
  for (int l = 0; l < mlp->nlayers; l++) {
    const size_t nin = (size_t)mlp->width[l], nout = (size_t)mlp->width[l + 1];
    const T *W = theta + mlp->woff[l], *bias = theta + mlp->boff[l];
    T *Z = (T *)w->Z[l];
    /* row-major Z (CB x nout) = H (CB x nin) W^T  <=>  column-major
     * Z^T (nout x CB) = W (stored as W^T, nin x nout: op T) H^T (nin x CB) */
    TESS_CHECK(ex.template gemm_<T>(CUBLAS_OP_T, CUBLAS_OP_N, nout, C * B, nin, W, nin, (const T *)w->H[l], nin,
                                    Z, nout));
    const int64_t n = (int64_t)(B * nout);
    if (l + 1 < mlp->nlayers)
      TESS_CHECK(ex.template act_forward<T>((int)mlp->act, L, n, (int)nout, bias, Z, (T *)w->H[l + 1]));
    else
      TESS_CHECK(ex.template bias<T>(n, (int)nout, bias, Z));
  }
  TESS_CHECK(ex.finish("jet forward"));
cleanup:
  return err;
}

template <typename T, typename X>
static tess_err_t jet_backward(X &ex, const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  tess_err_t err = TESS_OK;
  const size_t B = w->B, C = (size_t)lay->ncomp;
  const dev_layout_t L = dev_layout(lay);
  const T *theta = (const T *)w->theta;
  T *g = (T *)w->gpart, *zb = (T *)w->bar0, *hb = (T *)w->bar1;
  TESS_CHECK(ex.begin());
  for (int l = mlp->nlayers - 1; l >= 0; l--) {
    const size_t nin = (size_t)mlp->width[l], nout = (size_t)mlp->width[l + 1];
    const T *W = theta + mlp->woff[l];
    /* row-major Wbar (nout x nin) = Zb^T (nout x CB) H (CB x nin)  <=>
     * column-major Wbar^T (nin x nout) = H^T (nin x CB: op N) Zb (stored as
     * Zb^T, nout x CB: op T) */
    TESS_CHECK(ex.template gemm_<T>(CUBLAS_OP_N, CUBLAS_OP_T, nin, nout, C * B, (const T *)w->H[l], nin, zb, nout,
                                    g + mlp->woff[l], nin));
    TESS_CHECK(ex.template bias_grad<T>((int64_t)B, (int)nout, zb, g + mlp->boff[l]));
    if (l == 0) break;
    /* row-major Hb (CB x nin) = Zb (CB x nout) W (nout x nin)  <=>
     * column-major Hb^T (nin x CB) = W^T (nin x nout: op N) Zb^T (nout x CB: op N) */
    TESS_CHECK(ex.template gemm_<T>(CUBLAS_OP_N, CUBLAS_OP_N, nin, C * B, nout, W, nin, zb, nout, hb, nin));
    TESS_CHECK(ex.template act_backward<T>((int)mlp->act, L, (int64_t)(B * nin), (const T *)w->Z[l - 1],
                                           (const T *)w->H[l], hb, zb));
  }
  TESS_CHECK(ex.finish("jet backward"));
cleanup:
  return err;
}

template <typename T>
static tess_err_t forward_any(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  if (w->space == TESS_MEM_HOST) { host_exec ex; return jet_forward<T>(ex, mlp, lay, w); }
  dev_exec ex;
  return jet_forward<T>(ex, mlp, lay, w);
}

template <typename T>
static tess_err_t backward_any(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  if (w->space == TESS_MEM_HOST) { host_exec ex; return jet_backward<T>(ex, mlp, lay, w); }
  dev_exec ex;
  return jet_backward<T>(ex, mlp, lay, w);
}

/* ---- the residual program of one set (pinn_cuda_residuals) -------------------------- */

template <typename T>
static tess_err_t residuals(const tess_mlp_t *mlp, pinn_cuda_work_t *w, const pinn_cuda_prog_t *prog, int din,
                            double weight, size_t nv, int adjoint, double *terms)
{
  tess_err_t err = TESS_OK;
  res_args_t A;
  A.ops = prog->ops;
  A.terms = prog->terms;
  A.roots = prog->roots;
  A.nops = prog->nops;
  A.nroots = prog->nroots;
  A.B = (int64_t)w->B;
  A.C = w->C;
  A.dout = mlp->width[mlp->nlayers];
  A.din = din;
  A.weight = weight;
  A.nv = (int64_t)nv;
  A.adj = adjoint;
  const T *jet = (const T *)w->Z[mlp->nlayers - 1];
  TESS_REQUIRE(prog->space == w->space && nv <= w->B, TESS_ERR_INTERNAL, "residual program / work mismatch");
  if (w->space == TESS_MEM_HOST) {
    for (int64_t q = 0; q < A.B; q++) residual_elem<T>(A, jet, w->x, w->terms, w->jb, (T *)w->bar0, q);
  } else {
    /* 128 threads a block: each holds 2 x PINN_CUDA_PROG_MAX doubles of local memory */
    k_residuals<T><<<(unsigned)((A.B + 127) / 128), 128>>>(A, jet, w->x, w->terms, w->jb, (T *)w->bar0);
    LAUNCHED("residual kernel");
  }
  TESS_CHECK(tess_memcpy(TESS_MEM_HOST, terms, w->space, w->terms, nv * sizeof(double)));   /* waits */
cleanup:
  return err;
}

/* ---- C entry points --------------------------------------------------------------- */

extern "C" {

void pinn_cuda_work_destroy(pinn_cuda_work_t *w)
{
  if (!w) return;
  const tess_memspace_t sp = w->space;
  if (w->H)
    for (int l = 0; l < w->nlayers; l++) tess_free(sp, &w->H[l]);
  if (w->Z)
    for (int l = 0; l < w->nlayers; l++) tess_free(sp, &w->Z[l]);
  free(w->H);
  free(w->Z);
  tess_free(sp, &w->bar0);
  tess_free(sp, &w->bar1);
  tess_free(sp, &w->gpart);
  tess_free(sp, &w->theta);
  tess_free(sp, (void **)&w->x);
  tess_free(sp, (void **)&w->conv);
  tess_free(sp, (void **)&w->jb);
  tess_free(sp, (void **)&w->terms);
  memset(w, 0, sizeof *w);
}

static tess_err_t work_create(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B, tess_memspace_t sp,
                              pinn_cuda_work_t *w)
{
  tess_err_t err = TESS_OK;
  memset(w, 0, sizeof *w);
  const size_t es = tess_dtype_size(mlp->dtype), C = (size_t)lay->ncomp;
  const size_t dout = (size_t)mlp->width[mlp->nlayers];
  double dirs[TESS_JET_MAX_DIRS * TESS_JET_MAX_IN];
  TESS_REQUIRE(mlp->dtype == TESS_F64 || mlp->dtype == TESS_F32, TESS_ERR_UNSUPPORTED,
               "PINN on the GPU: dtype %s (f64 or f32)", tess_dtype_name(mlp->dtype));
  w->space = sp;
  w->B = B;
  w->C = lay->ncomp;
  w->nlayers = mlp->nlayers;
  w->dtype = mlp->dtype;
  w->H = (void **)calloc((size_t)mlp->nlayers, sizeof *w->H);
  w->Z = (void **)calloc((size_t)mlp->nlayers, sizeof *w->Z);
  TESS_REQUIRE(w->H && w->Z, TESS_ERR_MEM, "jet workspace");
  for (int l = 0; l < mlp->nlayers; l++) {
    TESS_CHECK(tess_malloc(sp, C * B * (size_t)mlp->width[l] * es, &w->H[l]));
    TESS_CHECK(tess_malloc(sp, C * B * (size_t)mlp->width[l + 1] * es, &w->Z[l]));
  }
  TESS_CHECK(tess_malloc(sp, C * B * (size_t)mlp->maxwidth * es, &w->bar0));
  TESS_CHECK(tess_malloc(sp, C * B * (size_t)mlp->maxwidth * es, &w->bar1));
  TESS_CHECK(tess_malloc(sp, mlp->nparams * es, &w->gpart));
  TESS_CHECK(tess_malloc(sp, mlp->nparams * es, &w->theta));
  TESS_CHECK(tess_malloc(sp, B * (size_t)lay->din * sizeof(double), (void **)&w->x));
  /* staging for conversions (nconv doubles), then the direction vectors
   * that seed layer 0 (ndirs x din doubles, read by the input jet) */
  w->nconv = C * B * dout > mlp->nparams ? C * B * dout : mlp->nparams;
  TESS_CHECK(tess_malloc(sp, (w->nconv + (size_t)TESS_JET_MAX_DIRS * TESS_JET_MAX_IN) * sizeof(double),
                         (void **)&w->conv));
  TESS_CHECK(tess_malloc(sp, C * B * dout * sizeof(double), (void **)&w->jb));
  TESS_CHECK(tess_malloc(sp, B * sizeof(double), (void **)&w->terms));
  for (int k = 0; k < lay->ndirs; k++)
    for (int i = 0; i < lay->din; i++) dirs[k * lay->din + i] = lay->dir[k][i];
  if (lay->ndirs)
    TESS_CHECK(tess_memcpy(sp, w->conv + w->nconv, TESS_MEM_HOST, dirs,
                           (size_t)lay->ndirs * (size_t)lay->din * sizeof(double)));
cleanup:
  if (err) pinn_cuda_work_destroy(w);
  return err;
}

tess_err_t pinn_cuda_work_create(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B, pinn_cuda_work_t *w)
{
  return work_create(mlp, lay, B, TESS_MEM_DEVICE, w);
}

tess_err_t pinn_cuda_work_create_host(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B,
                                      pinn_cuda_work_t *w)
{
  return work_create(mlp, lay, B, TESS_MEM_HOST, w);
}

tess_err_t pinn_cuda_set_params(const tess_mlp_t *mlp, pinn_cuda_work_t *w)
{
  tess_err_t err = TESS_OK;
  const void *src = mlp->dtype == TESS_F64 ? (const void *)mlp->theta : (const void *)mlp->theta32;
  TESS_CHECK(tess_memcpy(w->space, w->theta, TESS_MEM_HOST, src, mlp->nparams * tess_dtype_size(mlp->dtype)));
cleanup:
  return err;
}

tess_err_t pinn_cuda_set_points(pinn_cuda_work_t *w, const double *x_host, int din)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(tess_memcpy(w->space, w->x, TESS_MEM_HOST, x_host, w->B * (size_t)din * sizeof(double)));
cleanup:
  return err;
}

tess_err_t pinn_cuda_get_jet(const pinn_cuda_work_t *w, const void *src, size_t n, double *host)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(n <= w->nconv, TESS_ERR_INTERNAL, "%zu values > staging %zu", n, w->nconv);
  if (w->dtype == TESS_F64) {
    TESS_CHECK(tess_memcpy(TESS_MEM_HOST, host, w->space, src, n * sizeof(double)));
  } else if (w->space == TESS_MEM_HOST) {
    for (size_t i = 0; i < n; i++) host[i] = ((const float *)src)[i];
  } else {
    k_convert<float, double><<<blocks_for((int64_t)n), THREADS>>>((int64_t)n, (const float *)src, w->conv);
    LAUNCHED("f32 -> f64 kernel");
    TESS_CHECK(tess_memcpy(TESS_MEM_HOST, host, TESS_MEM_DEVICE, w->conv, n * sizeof(double)));
  }
cleanup:
  return err;
}

tess_err_t pinn_cuda_get_grad(const pinn_cuda_work_t *w, size_t n, double *host)
{
  return pinn_cuda_get_jet(w, w->gpart, n, host);
}

tess_err_t pinn_cuda_put_jetbar(pinn_cuda_work_t *w, const double *host, size_t n)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(n <= w->nconv, TESS_ERR_INTERNAL, "%zu values > staging %zu", n, w->nconv);
  if (w->dtype == TESS_F64) {
    TESS_CHECK(tess_memcpy(w->space, w->bar0, TESS_MEM_HOST, host, n * sizeof(double)));
  } else if (w->space == TESS_MEM_HOST) {
    for (size_t i = 0; i < n; i++) ((float *)w->bar0)[i] = (float)host[i];
  } else {
    TESS_CHECK(tess_memcpy(TESS_MEM_DEVICE, w->conv, TESS_MEM_HOST, host, n * sizeof(double)));
    k_convert<double, float><<<blocks_for((int64_t)n), THREADS>>>((int64_t)n, w->conv, (float *)w->bar0);
    LAUNCHED("f64 -> f32 kernel");
    CUDA_TRY(cudaStreamSynchronize((cudaStream_t)0), "f64 -> f32 kernel");
  }
cleanup:
  return err;
}

void pinn_cuda_prog_destroy(pinn_cuda_prog_t *dp)
{
  if (!dp) return;
  tess_free(dp->space, (void **)&dp->ops);
  tess_free(dp->space, (void **)&dp->terms);
  tess_free(dp->space, (void **)&dp->roots);
  memset(dp, 0, sizeof *dp);
}

tess_err_t pinn_cuda_prog_create(const pinn_prog_t *pg, tess_memspace_t space, pinn_cuda_prog_t *dp)
{
  tess_err_t err = TESS_OK;
  memset(dp, 0, sizeof *dp);
  TESS_REQUIRE(pg->nops >= 1 && pg->nops <= PINN_CUDA_PROG_MAX, TESS_ERR_UNSUPPORTED,
               "residual program of %d ops (the GPU interpreter holds 1..%d)", pg->nops, PINN_CUDA_PROG_MAX);
  dp->space = space;
  {
    const size_t bo = (size_t)pg->nops * sizeof *pg->ops, bt = (size_t)(pg->nterms ? pg->nterms : 1) * sizeof *pg->terms,
                 br = (size_t)pg->nroots * sizeof *pg->roots;
    TESS_CHECK(tess_malloc(space, bo, (void **)&dp->ops));
    TESS_CHECK(tess_malloc(space, bt, (void **)&dp->terms));
    TESS_CHECK(tess_malloc(space, br ? br : sizeof(int), (void **)&dp->roots));
    TESS_CHECK(tess_memcpy(space, dp->ops, TESS_MEM_HOST, pg->ops, bo));
    if (pg->nterms) TESS_CHECK(tess_memcpy(space, dp->terms, TESS_MEM_HOST, pg->terms, bt));
    if (br) TESS_CHECK(tess_memcpy(space, dp->roots, TESS_MEM_HOST, pg->roots, br));
  }
  dp->nops = pg->nops;
  dp->nroots = pg->nroots;
cleanup:
  if (err) pinn_cuda_prog_destroy(dp);
  return err;
}

tess_err_t pinn_cuda_residuals(const tess_mlp_t *mlp, pinn_cuda_work_t *w, const pinn_cuda_prog_t *prog, int din,
                               double weight, size_t nv, int adjoint, double *terms)
{
  return mlp->dtype == TESS_F64 ? residuals<double>(mlp, w, prog, din, weight, nv, adjoint, terms)
                                : residuals<float>(mlp, w, prog, din, weight, nv, adjoint, terms);
}

tess_err_t pinn_cuda_jet_forward_f64(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  return forward_any<double>(mlp, lay, w);
}
tess_err_t pinn_cuda_jet_forward_f32(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  return forward_any<float>(mlp, lay, w);
}
tess_err_t pinn_cuda_jet_backward_f64(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  return backward_any<double>(mlp, lay, w);
}
tess_err_t pinn_cuda_jet_backward_f32(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_cuda_work_t *w)
{
  return backward_any<float>(mlp, lay, w);
}

} /* extern "C" */
