/* src/exact_acc_impl.h: the layout of tess_exact_acc_t, shared by
 * src/exact_acc.c (the superaccumulator: exact adds, merge, rounding),
 * src/exact_sum_fast.c (the vectorised fast path that feeds it) and
 * src/reduce_sum.c. Not installed. */
#ifndef TESSERA_EXACT_ACC_IMPL_H
#define TESSERA_EXACT_ACC_IMPL_H
#include <stdint.h>
#include <string.h>
#include <tessera/exact_acc.h>

/* Fixed point in radix 2^32: limb i holds a signed digit of weight
 * 2^(32 i + XACC_EMIN). 136 limbs cover 2^-2176 .. 2^2176: every bit of an
 * exact product of two doubles (2^-2148 .. 2^2048) and of a sum of up to
 * 2^64 of them. Digits are int64; one add changes a digit by < 2^33, so
 * 2^29 unnormalised adds fit (< 2^62) before carries must be propagated:
 * XACC_PENDING_MAX leaves 2x slack for merges. */
#define XACC_NLIMBS 136
#define XACC_EMIN (-2176)
#define XACC_PENDING_MAX ((int64_t)1 << 28)

struct tess_exact_acc {
  int64_t limb[XACC_NLIMBS];
  int64_t nan, pinf, ninf;   /* special values seen, tracked apart */
  int64_t fail;              /* ranks that gave bad arguments to a collective */
  int64_t pending;           /* adds since the last carry propagation */
};

/* Propagate carries: limbs 0..N-2 in [0, 2^32), the top limb signed. */
void tess_xacc_normalize(tess_exact_acc_t *acc);

/* Make room for `adds` more digit additions (propagates carries first if
 * the int64 headroom would run out). */
static inline void tess_xacc_reserve(tess_exact_acc_t *acc, int64_t adds)
{
  if (acc->pending + adds >= XACC_PENDING_MAX) tess_xacc_normalize(acc);
  acc->pending += adds;
}

/* acc += the finite double with bit pattern `bits`; the caller reserved
 * one add. Branch-free: 3 digits, the middle one may get up to 2^33. */
static inline void tess_xacc_add_finite_bits(tess_exact_acc_t *acc, uint64_t bits)
{
  int be = (int)((bits >> 52) & 0x7ff);
  uint64_t m = (bits & ((UINT64_C(1) << 52) - 1)) | ((uint64_t)(be != 0) << 52);
  int pos = be - 1075 + (be == 0) - XACC_EMIN;    /* subnormals: exponent -1074 */
  int k = pos >> 5, sh = pos & 31;
  int64_t sgn = 1 - 2 * (int64_t)(bits >> 63);
  uint64_t d0 = (m & 0xffffffffu) << sh, d1 = (m >> 32) << sh;
  acc->limb[k] += sgn * (int64_t)(d0 & 0xffffffffu);
  acc->limb[k + 1] += sgn * (int64_t)((d0 >> 32) + (d1 & 0xffffffffu));
  acc->limb[k + 2] += sgn * (int64_t)(d1 >> 32);
}

/* acc += v * 2^e for |v| <= 2^63 and e >= -1074 (a chunk of the large
 * superaccumulator); the caller reserved one add. 3 digits, as above. */
static inline void tess_xacc_add_i64(tess_exact_acc_t *acc, int64_t v, int e)
{
  int pos = e - XACC_EMIN;
  int k = pos >> 5, sh = pos & 31;
  int64_t sgn = v < 0 ? -1 : 1;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  uint64_t d0 = (u & 0xffffffffu) << sh, d1 = (u >> 32) << sh;   /* < 2^63, < 2^63 */
  acc->limb[k] += sgn * (int64_t)(d0 & 0xffffffffu);
  acc->limb[k + 1] += sgn * (int64_t)((d0 >> 32) + (d1 & 0xffffffffu));
  acc->limb[k + 2] += sgn * (int64_t)(d1 >> 32);
}

/* acc += v for a finite double v (or NaN/Inf: then only counted). */
void tess_xacc_add_double(tess_exact_acc_t *acc, double v);
/* acc += x*y exactly; specials by IEEE product rules. */
void tess_xacc_add_product(tess_exact_acc_t *acc, double x, double y);

/* Fast path (src/exact_sum_fast.c). Exact for every input; falls back on
 * the adds above for blocks holding NaN/Inf, lane overflow or products
 * whose low part would underflow. The caller has set the FP environment
 * (tess_xacc_fpenv_enter). */
void tess_xacc_sum_f64(tess_exact_acc_t *acc, const double *x, size_t n);
void tess_xacc_sum_f32(tess_exact_acc_t *acc, const float *x, size_t n);
void tess_xacc_dot_f64(tess_exact_acc_t *acc, const double *x, const double *y, size_t n);
void tess_xacc_dot_f32(tess_exact_acc_t *acc, const float *x, const float *y, size_t n);
/* Name of the kernel in use ("avx512", "avx2", "generic", "superacc"). */
const char *tess_xacc_kernel_name(void);
/* The software-prefetch choice of the calling thread (see exact_sum_fast.c). */
const char *tess_xacc_prefetch_state(void);
/* Force a kernel by name ("auto" = run-time dispatch); 0 on success,
 * -1 unknown name, -2 not supported by this CPU/build. */
int tess_xacc_kernel_select(const char *name);

/* Device data (src/cuda/exact_sum_cuda.cu). kind: what the fast path
 * above would be called for; stride: elements between the values summed
 * (2 picks one part of complex data). tess_xacc_device_data says whether p
 * is device memory (0 in builds or runs without a GPU, at no cost); the
 * add is exact, synchronous, on the default stream, and gives the same
 * accumulator value as the host path on the same data. */
typedef enum { TESS_XACC_SUM_F64, TESS_XACC_SUM_F32, TESS_XACC_DOT_F64, TESS_XACC_DOT_F32 } tess_xacc_kind_t;
int tess_xacc_device_data(const void *p);
tess_err_t tess_xacc_device_add(tess_exact_acc_t *acc, tess_xacc_kind_t kind, const void *x,
                                const void *y, size_t n, size_t stride);

/* The bins' Fast2Sum is exact only in round-to-nearest with subnormals
 * kept: a caller built with -ffast-math may have set FTZ/DAZ. Save, set,
 * restore. */
typedef struct { unsigned mxcsr; int round; } tess_xacc_fpenv_t;
void tess_xacc_fpenv_enter(tess_xacc_fpenv_t *saved);
void tess_xacc_fpenv_leave(const tess_xacc_fpenv_t *saved);
#endif
