/* src/exact_acc.c: the exact superaccumulator and its one rounding.
 * Every double is an integer times a power of two, so a sum of doubles is a
 * fixed-point number: we keep it in 136 signed radix-2^32 digits (see
 * exact_acc_impl.h) and never round until the very end. Adding a double
 * touches 3 digits, an exact product 5; carries are propagated lazily (the
 * digits are int64, the values added < 2^32). Because integer addition is
 * associative, the result cannot depend on order, partition or rank count;
 * ranks combine with one allreduce (SUM) of the digits, through tess_comm.
 * Rounding reads the top 53 (or 24) bits, a guard bit and a sticky bit:
 * round to nearest, ties to even, with the subnormal and overflow cases of
 * IEEE 754.
 * The fast path that feeds this is in exact_sum_fast.c. */
#include "exact_acc_impl.h"
#include "device.h"

#include <tessera/comm.h>

#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

/* ---- the floating-point environment ---------------------------------- */

void tess_xacc_fpenv_enter(tess_xacc_fpenv_t *saved)
{
  saved->round = fegetround();
  if (saved->round != FE_TONEAREST) fesetround(FE_TONEAREST);
#if defined(__x86_64__) || defined(__i386__)
  saved->mxcsr = _mm_getcsr();
  /* clear FTZ (bit 15), DAZ (bit 6) and the rounding field (bits 13-14) */
  unsigned want = saved->mxcsr & ~((1u << 15) | (1u << 6) | (3u << 13));
  if (want != saved->mxcsr) _mm_setcsr(want);
#else
  saved->mxcsr = 0;
#endif
}

void tess_xacc_fpenv_leave(const tess_xacc_fpenv_t *saved)
{
#if defined(__x86_64__) || defined(__i386__)
  if (_mm_getcsr() != saved->mxcsr) _mm_setcsr(saved->mxcsr);
#endif
  if (fegetround() != saved->round) fesetround(saved->round);
}

/* ---- exact adds -------------------------------------------------------- */

/* acc += (-1)^neg * (hi:lo) * 2^e, an up-to-128-bit magnitude whose set
 * bits lie inside the accumulator. */
static void xacc_add_mag(tess_exact_acc_t *acc, uint64_t lo, uint64_t hi, int e, int neg)
{
  int pos = e - XACC_EMIN;            /* >= 0 for every double and product */
  int k = pos >> 5, sh = pos & 31;
  uint32_t d[4] = {(uint32_t)lo, (uint32_t)(lo >> 32), (uint32_t)hi, (uint32_t)(hi >> 32)};
  int nd = hi ? 4 : 2;
  uint64_t carry = 0;
  tess_xacc_reserve(acc, 1);
  for (int j = 0; j <= nd; j++) {
    uint64_t w = (j < nd ? (uint64_t)d[j] << sh : 0) | carry;
    int64_t digit = (int64_t)(uint32_t)w;
    carry = w >> 32;
    if (digit) acc->limb[k + j] += neg ? -digit : digit;
  }
}

/* Split a finite double into (-1)^neg * m * 2^e with m an integer < 2^53. */
static void split_double(double v, uint64_t *m, int *e, int *neg)
{
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  int be = (int)((bits >> 52) & 0x7ff);
  *neg = (int)(bits >> 63);
  *m = bits & ((UINT64_C(1) << 52) - 1);
  if (be == 0) {
    *e = -1074;                        /* subnormal (or zero) */
  } else {
    *m |= UINT64_C(1) << 52;
    *e = be - 1075;
  }
}

static void count_special(tess_exact_acc_t *acc, double v)
{
  if (isnan(v)) acc->nan++;
  else if (v > 0) acc->pinf++;
  else acc->ninf++;
}

void tess_xacc_add_double(tess_exact_acc_t *acc, double v)
{
  if (!isfinite(v)) {
    count_special(acc, v);
    return;
  }
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  tess_xacc_reserve(acc, 1);
  tess_xacc_add_finite_bits(acc, bits);
}

void tess_xacc_add_product(tess_exact_acc_t *acc, double x, double y)
{
  if (isnan(x) || isnan(y)) {
    acc->nan++;
    return;
  }
  if (isinf(x) || isinf(y)) {
    if (x == 0 || y == 0) acc->nan++;            /* Inf * 0 */
    else if ((x < 0) != (y < 0)) acc->ninf++;
    else acc->pinf++;
    return;
  }
  uint64_t mx, my;
  int ex, ey, nx, ny;
  split_double(x, &mx, &ex, &nx);
  split_double(y, &my, &ey, &ny);
  if (!mx || !my) return;
  /* 53 x 53 -> 106 bits, from 32-bit pieces (no __int128 needed) */
  uint64_t xl = mx & 0xffffffffu, xh = mx >> 32, yl = my & 0xffffffffu, yh = my >> 32;
  uint64_t ll = xl * yl, lh = xl * yh, hl = xh * yl, hh = xh * yh;
  uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  uint64_t lo = (ll & 0xffffffffu) | (mid << 32);
  uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  xacc_add_mag(acc, lo, hi, ex + ey, nx ^ ny);
}

void tess_xacc_normalize(tess_exact_acc_t *acc)
{
  int64_t carry = 0;
  for (int i = 0; i < XACC_NLIMBS - 1; i++) {
    int64_t v = acc->limb[i] + carry;
    int64_t low = v & INT64_C(0xffffffff);
    carry = (v - low) / (INT64_C(1) << 32);      /* exact: floor division */
    acc->limb[i] = low;
  }
  acc->limb[XACC_NLIMBS - 1] += carry;
  acc->pending = 0;
}

/* ---- rounding ------------------------------------------------------------ */

/* Bit at absolute weight 2^w of a normalised non-negative accumulator. */
static int mag_bit(const int64_t *limb, int w)
{
  int pos = w - XACC_EMIN;
  if (pos < 0) return 0;
  return (int)((limb[pos >> 5] >> (pos & 31)) & 1);
}

/* Any bit of weight < 2^w set? */
static int mag_sticky(const int64_t *limb, int w)
{
  int pos = w - XACC_EMIN;
  if (pos <= 0) return 0;
  int k = pos >> 5, sh = pos & 31;
  for (int i = 0; i < k; i++)
    if (limb[i]) return 1;
  return sh && (limb[k] & ((INT64_C(1) << sh) - 1)) != 0;
}

/* Round |exact value| to `prec` bits with least exponent `emin_lsb`
 * (the subnormal quantum): *mant * 2^*lsb, RNE. *mant <= 2^prec.
 * Returns 0 when the value is zero. */
static int round_mag(const int64_t *limb, int prec, int emin_lsb, uint64_t *mant, int *lsb)
{
  int h = XACC_NLIMBS - 1;
  while (h >= 0 && limb[h] == 0) h--;
  if (h < 0) return 0;
  uint64_t top = (uint64_t)limb[h];
  int msb = 63;
  while (!((top >> msb) & 1)) msb--;
  int E = 32 * h + msb + XACC_EMIN;             /* weight of the leading bit */
  int l = E - (prec - 1);
  if (l < emin_lsb) l = emin_lsb;               /* subnormal result */
  uint64_t m = 0;
  for (int w = E; w >= l; w--) m = (m << 1) | (uint64_t)mag_bit(limb, w);
  int guard = mag_bit(limb, l - 1), sticky = mag_sticky(limb, l - 1);
  if (guard && (sticky || (m & 1))) m++;
  *mant = m;
  *lsb = l;
  return 1;
}

/* m * 2^lsb with overflow decided here (ldexp would give DBL_MAX instead of
 * Inf under a directed rounding mode). bits/emax: 1024 for double, 128 float. */
static int overflows(uint64_t m, int lsb, int emax)
{
  int len = 0;
  while (len < 64 && (m >> len)) len++;
  return len + lsb - 1 >= emax;
}

/* Magnitude and sign of the finite part, normalised, into mag[]. */
static int finite_magnitude(const tess_exact_acc_t *acc, int64_t *mag)
{
  tess_exact_acc_t t = *acc;
  tess_xacc_normalize(&t);
  int neg = t.limb[XACC_NLIMBS - 1] < 0;
  if (neg) {
    for (int i = 0; i < XACC_NLIMBS; i++) t.limb[i] = -t.limb[i];
    tess_xacc_normalize(&t);
  }
  memcpy(mag, t.limb, sizeof t.limb);
  return neg;
}

/* NaN/Inf rules; 1 if they decide the result. */
static int special_result(const tess_exact_acc_t *acc, double *r)
{
  if (acc->nan || (acc->pinf && acc->ninf)) *r = NAN;
  else if (acc->pinf) *r = INFINITY;
  else if (acc->ninf) *r = -INFINITY;
  else return 0;
  return 1;
}

tess_err_t tess_exact_acc_round_f64(const tess_exact_acc_t *acc, double *result)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc && result, TESS_ERR_ARG, "NULL argument (acc=%p, result=%p)",
               (const void *)acc, (void *)result);
  if (special_result(acc, result)) return TESS_OK;
  int64_t mag[XACC_NLIMBS];
  int neg = finite_magnitude(acc, mag), lsb;
  uint64_t m;
  double r = 0.0;
  if (round_mag(mag, 53, -1074, &m, &lsb)) {
    /* m <= 2^53 is exact as a double and below 2^1024 ldexp is exact. */
    tess_xacc_fpenv_t env;   /* a subnormal result must not be flushed */
    tess_xacc_fpenv_enter(&env);
    r = overflows(m, lsb, 1024) ? INFINITY : ldexp((double)m, lsb);
    tess_xacc_fpenv_leave(&env);
    if (neg) r = -r;
  }
  *result = r;
cleanup:
  return err;
}

tess_err_t tess_exact_acc_round_f32(const tess_exact_acc_t *acc, float *result)
{
  tess_err_t err = TESS_OK;
  double s;
  TESS_REQUIRE(acc && result, TESS_ERR_ARG, "NULL argument (acc=%p, result=%p)",
               (const void *)acc, (void *)result);
  if (special_result(acc, &s)) {
    *result = (float)s;
    return TESS_OK;
  }
  int64_t mag[XACC_NLIMBS];
  int neg = finite_magnitude(acc, mag), lsb;
  uint64_t m;
  float r = 0.0f;
  if (round_mag(mag, 24, -149, &m, &lsb)) {
    tess_xacc_fpenv_t env;
    tess_xacc_fpenv_enter(&env);
    r = overflows(m, lsb, 128) ? INFINITY : ldexpf((float)m, lsb);  /* m <= 2^24 */
    tess_xacc_fpenv_leave(&env);
    if (neg) r = -r;
  }
  *result = r;
cleanup:
  return err;
}

const char *tess_exact_acc_kernel(void) { return tess_xacc_kernel_name(); }

const char *tess_exact_acc_prefetch(void) { return tess_xacc_prefetch_state(); }

tess_err_t tess_exact_acc_set_kernel(const char *name)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(name != NULL, TESS_ERR_ARG, "NULL kernel name");
  int rc = tess_xacc_kernel_select(name);
  TESS_REQUIRE(rc != -1, TESS_ERR_ARG,
               "unknown exact-sum kernel \"%s\" (expected auto, avx512, avx2, generic, superacc, bins or large)",
               name);
  TESS_REQUIRE(rc != -2, TESS_ERR_UNSUPPORTED, "exact-sum kernel \"%s\" needs CPU features "
               "this machine lacks", name);
cleanup:
  return err;
}

int tess_exact_acc_sign(const tess_exact_acc_t *acc)
{
  tess_exact_acc_t t = *acc;
  tess_xacc_normalize(&t);
  if (t.limb[XACC_NLIMBS - 1] < 0) return -1;
  for (int i = 0; i < XACC_NLIMBS; i++)
    if (t.limb[i]) return 1;
  return 0;
}

/* ---- handles, adds, merges ------------------------------------------------ */

tess_err_t tess_exact_acc_create(tess_exact_acc_t **acc)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc != NULL, TESS_ERR_ARG, "NULL acc");
  *acc = calloc(1, sizeof **acc);
  TESS_REQUIRE(*acc != NULL, TESS_ERR_MEM, "exact accumulator (%zu bytes)", sizeof **acc);
cleanup:
  return err;
}

void tess_exact_acc_destroy(tess_exact_acc_t **acc)
{
  if (!acc) return;
  free(*acc);
  *acc = NULL;
}

tess_err_t tess_exact_acc_reset(tess_exact_acc_t *acc)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc != NULL, TESS_ERR_ARG, "NULL acc");
  memset(acc, 0, sizeof *acc);
cleanup:
  return err;
}

#define ARRAY_ARGS_OK(acc, x, n) ((acc) && ((x) || (n) == 0))

tess_err_t tess_exact_acc_add_f64(tess_exact_acc_t *acc, const double *x, size_t n)
{
  tess_err_t err = TESS_OK;
  tess_xacc_fpenv_t env;
  TESS_REQUIRE(ARRAY_ARGS_OK(acc, x, n), TESS_ERR_ARG, "NULL acc or x (n=%zu)", n);
  tess_xacc_fpenv_enter(&env);
  tess_xacc_sum_f64(acc, x, n);
  tess_xacc_fpenv_leave(&env);
cleanup:
  return err;
}

tess_err_t tess_exact_acc_add_f32(tess_exact_acc_t *acc, const float *x, size_t n)
{
  tess_err_t err = TESS_OK;
  tess_xacc_fpenv_t env;
  TESS_REQUIRE(ARRAY_ARGS_OK(acc, x, n), TESS_ERR_ARG, "NULL acc or x (n=%zu)", n);
  tess_xacc_fpenv_enter(&env);
  tess_xacc_sum_f32(acc, x, n);
  tess_xacc_fpenv_leave(&env);
cleanup:
  return err;
}

tess_err_t tess_exact_acc_add_value(tess_exact_acc_t *acc, double v)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc != NULL, TESS_ERR_ARG, "NULL acc");
  tess_xacc_add_double(acc, v);                  /* integer only: no FP env */
cleanup:
  return err;
}

tess_err_t tess_exact_acc_add_dot_f64(tess_exact_acc_t *acc, const double *x,
                                      const double *y, size_t n)
{
  tess_err_t err = TESS_OK;
  tess_xacc_fpenv_t env;
  TESS_REQUIRE(ARRAY_ARGS_OK(acc, x, n) && (y || n == 0), TESS_ERR_ARG,
               "NULL acc, x or y (n=%zu)", n);
  tess_xacc_fpenv_enter(&env);
  tess_xacc_dot_f64(acc, x, y, n);
  tess_xacc_fpenv_leave(&env);
cleanup:
  return err;
}

tess_err_t tess_exact_acc_add_dot_f32(tess_exact_acc_t *acc, const float *x,
                                      const float *y, size_t n)
{
  tess_err_t err = TESS_OK;
  tess_xacc_fpenv_t env;
  TESS_REQUIRE(ARRAY_ARGS_OK(acc, x, n) && (y || n == 0), TESS_ERR_ARG,
               "NULL acc, x or y (n=%zu)", n);
  tess_xacc_fpenv_enter(&env);
  tess_xacc_dot_f32(acc, x, y, n);
  tess_xacc_fpenv_leave(&env);
cleanup:
  return err;
}

tess_err_t tess_exact_acc_add_product(tess_exact_acc_t *acc, double x, double y)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc != NULL, TESS_ERR_ARG, "NULL acc");
  tess_xacc_add_product(acc, x, y);
cleanup:
  return err;
}

tess_err_t tess_exact_acc_negate(tess_exact_acc_t *acc)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc != NULL, TESS_ERR_ARG, "NULL acc");
  for (int i = 0; i < XACC_NLIMBS; i++) acc->limb[i] = -acc->limb[i];
  int64_t t = acc->pinf;
  acc->pinf = acc->ninf;
  acc->ninf = t;
cleanup:
  return err;
}

tess_err_t tess_exact_acc_merge(tess_exact_acc_t *dst, const tess_exact_acc_t *src)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(dst && src, TESS_ERR_ARG, "NULL dst or src");
  TESS_REQUIRE(dst != src, TESS_ERR_ARG, "dst and src are the same accumulator");
  /* src's digits are bounded by (src->pending + 1) * 2^32 */
  if (dst->pending + src->pending + 1 >= XACC_PENDING_MAX) tess_xacc_normalize(dst);
  dst->pending += src->pending + 1;
  for (int i = 0; i < XACC_NLIMBS; i++) dst->limb[i] += src->limb[i];
  dst->nan += src->nan;
  dst->pinf += src->pinf;
  dst->ninf += src->ninf;
  dst->fail += src->fail;
cleanup:
  return err;
}

/* ---- across ranks ---------------------------------------------------------- */

#define XACC_WIRE (XACC_NLIMBS + 4)   /* digits + nan, +inf, -inf, fail counts */

/* Carries propagated with digits in [-2^31, 2^31) ("balanced"): then a value
 * occupies only the digits its bits span, whatever its sign (the [0, 2^32)
 * form of a small negative value has 2^32-1 in every digit above it), and
 * P such digits sum without overflow for P < 2^32. */
static void normalize_balanced(tess_exact_acc_t *acc)
{
  int64_t carry = 0;
  for (int i = 0; i < XACC_NLIMBS - 1; i++) {
    int64_t v = acc->limb[i] + carry;
    int64_t low = ((v + (INT64_C(1) << 31)) & INT64_C(0xffffffff)) - (INT64_C(1) << 31);
    carry = (v - low) / (INT64_C(1) << 32);
    acc->limb[i] = low;
  }
  acc->limb[XACC_NLIMBS - 1] += carry;
  acc->pending = 0;
}

tess_err_t tess_exact_acc_allreduce_many(tess_exact_acc_t *const acc[], size_t count,
                                         MPI_Comm comm)
{
  tess_err_t err = TESS_OK;
  int64_t *wire = NULL, one[XACC_WIRE];   /* a single accumulator: no malloc */
  int size = 1, lo = 0, hi = XACC_NLIMBS - 1;
  tess_mesh_t *mesh = NULL;   /* borrowed: the cached one-axis mesh of comm */
  TESS_REQUIRE(acc != NULL || count == 0, TESS_ERR_ARG, "NULL acc array (count=%zu)", count);
  TESS_REQUIRE(count <= (size_t)INT32_MAX / XACC_WIRE, TESS_ERR_ARG,
               "too many accumulators in one allreduce: %zu (at most %d)", count,
               INT32_MAX / XACC_WIRE);
  for (size_t i = 0; i < count; i++)
    TESS_REQUIRE(acc[i] != NULL, TESS_ERR_ARG, "acc[%zu] is NULL", i);
  TESS_MPI_CHECK(MPI_Comm_size(comm, &size));
  if (size == 1 || count == 0) goto cleanup;
  TESS_REQUIRE(size < (1 << 30), TESS_ERR_UNSUPPORTED, "communicator of %d ranks", size);
  TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
  for (size_t i = 0; i < count; i++) normalize_balanced(acc[i]);
  if (count > 1) {
    /* agree on the digits in use (one small allreduce), send only those */
    int span[2] = {-1, -XACC_NLIMBS};   /* max used digit, -(min used digit) */
    for (size_t i = 0; i < count; i++)
      for (int d = 0; d < XACC_NLIMBS; d++)
        if (acc[i]->limb[d]) {
          if (d > span[0]) span[0] = d;
          if (-d > span[1]) span[1] = -d;
        }
    TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, span, span, 2, TESS_I32, TESS_OP_MAX,
                                   TESS_MEM_HOST, NULL));
    hi = span[0];
    lo = -span[1];
  }
  int width = hi >= lo ? hi - lo + 1 : 0, stride = width + 4;
  wire = count == 1 ? one : malloc(count * (size_t)stride * sizeof *wire);
  TESS_REQUIRE(wire != NULL, TESS_ERR_MEM, "allreduce buffer for %zu accumulators", count);
  for (size_t i = 0; i < count; i++) {
    int64_t *w = wire + i * (size_t)stride;
    if (width) memcpy(w, acc[i]->limb + lo, (size_t)width * sizeof *w);
    w[width] = acc[i]->nan;
    w[width + 1] = acc[i]->pinf;
    w[width + 2] = acc[i]->ninf;
    w[width + 3] = acc[i]->fail;
  }
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, wire, wire, count * (size_t)stride,
                                 TESS_I64, TESS_OP_SUM, TESS_MEM_HOST, NULL));
  for (size_t i = 0; i < count; i++) {
    const int64_t *w = wire + i * (size_t)stride;
    memset(acc[i]->limb, 0, sizeof acc[i]->limb);
    if (width) memcpy(acc[i]->limb + lo, w, (size_t)width * sizeof *w);
    acc[i]->nan = w[width];
    acc[i]->pinf = w[width + 1];
    acc[i]->ninf = w[width + 2];
    acc[i]->fail = w[width + 3];
    acc[i]->pending = size;
    tess_xacc_normalize(acc[i]);
  }
  for (size_t i = 0; i < count; i++)
    TESS_REQUIRE(acc[i]->fail == 0, TESS_ERR_ARG,
                 "%lld rank(s) of the communicator passed invalid arguments to this "
                 "collective sum (their own messages say which)", (long long)acc[i]->fail);
cleanup:
  if (wire != one) free(wire);
  return err;
}

tess_err_t tess_exact_acc_allreduce(tess_exact_acc_t *acc, MPI_Comm comm)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(acc != NULL, TESS_ERR_ARG, "NULL acc");
  TESS_CHECK(tess_exact_acc_allreduce_many(&acc, 1, comm));
cleanup:
  return err;
}

/* ---- device data ---------------------------------------------------------- */

#if TESSERA_HAVE_CUDA
int tess_cuda_pointer_is_device(const void *p);
tess_err_t tess_cuda_exact_sum(int kind, const void *x, const void *y, size_t n, size_t stride,
                               tess_stream_t stream, int nlimbs, int emin, int64_t *out);
#endif

int tess_xacc_device_data(const void *p)
{
#if TESSERA_HAVE_CUDA
  /* No visible GPU: nothing can be device memory (and the runtime is not
   * asked about every host pointer). */
  return p != NULL && tess_device_active_() != NULL && tess_cuda_pointer_is_device(p);
#else
  (void)p;
  return 0;
#endif
}

tess_err_t tess_xacc_device_add(tess_exact_acc_t *acc, tess_xacc_kind_t kind, const void *x,
                                const void *y, size_t n, size_t stride)
{
  tess_err_t err = TESS_OK;
#if TESSERA_HAVE_CUDA
  /* the kernel's digits (each below blocks * 2^32) and special counts,
   * normalised here and merged as one more accumulator */
  int64_t out[XACC_NLIMBS + 3];
  tess_exact_acc_t part;
  memset(out, 0, sizeof out);
  TESS_REQUIRE(tess_device_active_() != NULL, TESS_ERR_UNSUPPORTED,
               "exact sum of device data, but no GPU is visible to this rank");
  TESS_CHECK(tess_cuda_exact_sum((int)kind, x, y, n, stride, TESS_STREAM_DEFAULT, XACC_NLIMBS,
                                 XACC_EMIN, out));
  memset(&part, 0, sizeof part);
  memcpy(part.limb, out, sizeof part.limb);
  part.nan = out[XACC_NLIMBS];
  part.pinf = out[XACC_NLIMBS + 1];
  part.ninf = out[XACC_NLIMBS + 2];
  tess_xacc_normalize(&part);
  TESS_CHECK(tess_exact_acc_merge(acc, &part));
#else
  (void)acc; (void)kind; (void)x; (void)y; (void)n; (void)stride;
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "device data, but this Tessera has no GPU backend");
#endif
cleanup:
  return err;
}
