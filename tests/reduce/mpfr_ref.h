/* tests/reduce/mpfr_ref.h: the independent reference of the exact-sum tests:
 * an MPFR sum wide enough to stay exact (an exactness loss aborts), with
 * IEEE special values counted aside and the result rounded once. */
#ifndef TESS_TEST_MPFR_REF_H
#define TESS_TEST_MPFR_REF_H
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  mpfr_t s;
  long nan, pinf, ninf;
} ref_t;

static inline void ref_init(ref_t *r, mpfr_prec_t prec)
{
  mpfr_init2(r->s, prec);
  mpfr_set_zero(r->s, 1);
  r->nan = r->pinf = r->ninf = 0;
}

static inline void ref_add(ref_t *r, double v)
{
  if (isnan(v)) r->nan++;
  else if (isinf(v)) (v > 0 ? r->pinf++ : r->ninf++);
  else if (mpfr_add_d(r->s, r->s, v, MPFR_RNDN) != 0) {
    fprintf(stderr, "reference lost exactness\n");
    abort();
  }
}

static inline void ref_add_product(ref_t *r, double x, double y)
{
  if (isnan(x) || isnan(y) || ((isinf(x) || isinf(y)) && (x == 0 || y == 0))) {
    r->nan++;
    return;
  }
  if (isinf(x) || isinf(y)) {
    (((x < 0) != (y < 0)) ? r->ninf++ : r->pinf++);
    return;
  }
  mpfr_t p;
  mpfr_init2(p, 120);
  if (mpfr_set_d(p, x, MPFR_RNDN) || mpfr_mul_d(p, p, y, MPFR_RNDN) ||
      mpfr_add(r->s, r->s, p, MPFR_RNDN)) {
    fprintf(stderr, "reference lost exactness\n");
    abort();
  }
  mpfr_clear(p);
}

/* NaN, +-Inf from the counted specials; 1 if one of them is the result. */
static inline int ref_special(const ref_t *r, double *out)
{
  if (r->nan || (r->pinf && r->ninf)) *out = NAN;
  else if (r->pinf) *out = INFINITY;
  else if (r->ninf) *out = -INFINITY;
  else return 0;
  return 1;
}

/* Documented: an exact zero is +0. */
static inline double ref_round_d(ref_t *r)
{
  double v;
  if (ref_special(r, &v)) return v;
  return mpfr_zero_p(r->s) ? 0.0 : mpfr_get_d(r->s, MPFR_RNDN);
}

static inline float ref_round_f(ref_t *r)
{
  double v;
  if (ref_special(r, &v)) return (float)v;
  return mpfr_zero_p(r->s) ? 0.0f : mpfr_get_flt(r->s, MPFR_RNDN);
}
#endif
