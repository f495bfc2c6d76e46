/* tests/core/test_half.c: bf16/f16 conversions against an independent
 * reference: values worked out by hand (numpy's float16 and the bfloat16
 * definition agree with them), every 16-bit pattern decoded by the formula
 * (-1)^s 2^(e-bias) (1 + m/2^10) in double, and rounding of random and
 * boundary f32 values checked by searching the sorted table of representable
 * values for the nearest one (ties to the even pattern) in double arithmetic
 * — not the bit tricks of src/dtype_half.c.
 * Usage: test_half [samples] */
#include "tess_test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tessera/dtype.h>

static float f32_of(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }
static uint32_t bits_of(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }

/* The value of an f16 pattern by its definition. */
static double f16_value(uint16_t h)
{
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : (e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25));
  return s ? -v : v;
}

static double bf16_value(uint16_t h)
{
  int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
  double v = e == 0 ? ldexp(m, -133) : (e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134));
  return s ? -v : v;
}

/* Nearest in a sorted table of non-negative values with their patterns;
 * ties to the even pattern; past the top by half an ulp or more: inf. */
static uint16_t nearest(const double *tab, const uint16_t *pat, int n, double top_ulp,
                        uint16_t inf, double x)
{
  double a = fabs(x);
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  if (a >= tab[n - 1] + top_ulp / 2) {
    /* exactly half an ulp above the top: the tie goes to the even pattern,
     * which is infinity since the top pattern is odd */
    return (uint16_t)(sign | inf);
  }
  int lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (tab[mid] <= a) lo = mid; else hi = mid;
  }
  if (a >= tab[hi]) lo = hi;
  double dl = a - tab[lo], dh = lo + 1 < n ? tab[lo + 1] - a : INFINITY;
  int k = dl < dh ? lo : (dh < dl ? lo + 1 : ((pat[lo] & 1) ? lo + 1 : lo));
  return (uint16_t)(sign | pat[k]);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next32(void)
{
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  long samples = argc > 1 ? atol(argv[1]) : 2000000;
  /* By hand: 1, -2, pi, 0.1, 65504 (f16 max; bf16 rounds it up to 2^16),
   * 65520 (half an f16 ulp over: ties to even = inf), 2^-24 (least subnormal), 2^-25 (tie to 0),
   * 1.5*2^-25 (over the tie: 2^-24), 2^-14 (least normal), 1/3. */
  struct { float x; uint16_t f16, bf16; } hand[] = {
    {1.0f, 0x3C00, 0x3F80},          {-2.0f, 0xC000, 0xC000},
    {3.14159265f, 0x4248, 0x4049},   {0.1f, 0x2E66, 0x3DCD},
    {65504.0f, 0x7BFF, 0x4780},      {65520.0f, 0x7C00, 0x4780},
    {0x1p-24f, 0x0001, 0x3380},      {0x1p-25f, 0x0000, 0x3300},
    {0x1.8p-25f, 0x0001, 0x3340},    {0x1p-14f, 0x0400, 0x3880},
    {1.0f / 3.0f, 0x3555, 0x3EAB},   {-0.0f, 0x8000, 0x8000},
    {INFINITY, 0x7C00, 0x7F80},      {1e10f, 0x7C00, 0x5015},
    /* ties: 1 + 2^-8 and 1 + 3*2^-8 for bf16, 1 + 2^-11 and 1 + 3*2^-11 for f16 */
    {0x1.01p0f, 0x3C04, 0x3F80},     {0x1.03p0f, 0x3C0C, 0x3F82},
    {0x1.002p0f, 0x3C00, 0x3F80},    {0x1.006p0f, 0x3C02, 0x3F80},
  };
  for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
    CHECK(tess_f32_to_f16(hand[i].x) == hand[i].f16, "f16(%a) = 0x%04X, want 0x%04X",
          (double)hand[i].x, tess_f32_to_f16(hand[i].x), hand[i].f16);
    CHECK(tess_f32_to_bf16(hand[i].x) == hand[i].bf16, "bf16(%a) = 0x%04X, want 0x%04X",
          (double)hand[i].x, tess_f32_to_bf16(hand[i].x), hand[i].bf16);
  }
  uint16_t qn = tess_f32_to_f16(NAN), qb = tess_f32_to_bf16(NAN);
  CHECK((qn & 0x7C00) == 0x7C00 && (qn & 0x3FF), "f16(NaN) = 0x%04X is not a NaN", qn);
  CHECK((qb & 0x7F80) == 0x7F80 && (qb & 0x7F), "bf16(NaN) = 0x%04X is not a NaN", qb);
  /* a signalling NaN whose payload sits in the dropped bits stays a NaN */
  CHECK(isnan(tess_bf16_to_f32(tess_f32_to_bf16(f32_of(0x7F800001u)))), "bf16 sNaN lost");
  CHECK(isnan(tess_f16_to_f32(tess_f32_to_f16(f32_of(0xFF800001u)))), "f16 sNaN lost");

  /* Every pattern: decoding equals the definition; encoding its value
   * returns the pattern (NaNs stay NaNs). */
  long bad16 = 0, badb = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    double v16 = f16_value((uint16_t)h), vb = bf16_value((uint16_t)h);
    float w16 = tess_f16_to_f32((uint16_t)h), wb = tess_bf16_to_f32((uint16_t)h);
    if (isnan(v16) ? !isnan(w16) || tess_f32_to_f16(w16) == 0
                   : ((double)w16 != v16 || !signbit(w16) != !signbit(v16)
                      || tess_f32_to_f16(w16) != h)) bad16++;
    if (isnan(vb) ? !isnan(wb) : ((double)wb != vb || !signbit(wb) != !signbit(vb)
                                  || tess_f32_to_bf16(wb) != h)) badb++;
  }
  CHECK(bad16 == 0, "%ld f16 patterns decode or round-trip wrong", bad16);
  CHECK(badb == 0, "%ld bf16 patterns decode or round-trip wrong", badb);

  /* Tables of the finite non-negative values, increasing with the pattern. */
  static double t16[0x7C00], tb[0x7F80];
  static uint16_t p16[0x7C00], pb[0x7F80];
  for (int h = 0; h < 0x7C00; h++) { t16[h] = f16_value((uint16_t)h); p16[h] = (uint16_t)h; }
  for (int h = 0; h < 0x7F80; h++) { tb[h] = bf16_value((uint16_t)h); pb[h] = (uint16_t)h; }
  long r16 = 0, rb = 0;
  for (long i = 0; i < samples; i++) {
    uint32_t u;
    switch (i % 4) {
    case 0: u = next32(); break;                                  /* anything */
    case 1: u = (next32() & 0x87FFFFFFu) | 0x30000000u; break;   /* f16's range */
    case 2: {  /* a midpoint between two f16 values, or one ulp off it */
      int h = (int)(next32() % 0x7BFF);
      float mid = (float)((t16[h] + t16[h + 1]) / 2);
      u = bits_of(mid) + (uint32_t)((int)(next32() % 3) - 1);
      break;
    }
    default: u = (next32() & 0xFFFF0000u) | 0x8000u; break;      /* bf16 ties */
    }
    float x = f32_of(u);
    if (isnan(x)) continue;
    if (tess_f32_to_f16(x) != nearest(t16, p16, 0x7C00, ldexp(1, 5), 0x7C00, x)) {
      if (r16++ < 5) fprintf(stderr, "f16(%a): 0x%04X, nearest 0x%04X\n", (double)x,
                             tess_f32_to_f16(x), nearest(t16, p16, 0x7C00, ldexp(1, 5), 0x7C00, x));
    }
    if (tess_f32_to_bf16(x) != nearest(tb, pb, 0x7F80, ldexp(1, 120), 0x7F80, x)) {
      if (rb++ < 5) fprintf(stderr, "bf16(%a): 0x%04X, nearest 0x%04X\n", (double)x,
                            tess_f32_to_bf16(x), nearest(tb, pb, 0x7F80, ldexp(1, 120), 0x7F80, x));
    }
  }
  CHECK(r16 == 0, "%ld of %ld f32 values round to the wrong f16", r16, samples);
  CHECK(rb == 0, "%ld of %ld f32 values round to the wrong bf16", rb, samples);

  /* Bulk forms, and their refusals. */
  float in[5] = {1.0f, -2.0f, 65520.0f, 0x1p-25f, 0.1f}, out[5];
  uint16_t h[5];
  CHECK(tess_convert_from_f32(TESS_F16, h, in, 5) == TESS_OK && h[0] == 0x3C00 && h[2] == 0x7C00
            && h[3] == 0 && h[4] == 0x2E66, "bulk f16");
  CHECK(tess_convert_to_f32(TESS_F16, out, h, 5) == TESS_OK && out[1] == -2.0f && isinf(out[2]),
        "bulk f16 back");
  CHECK(tess_convert_from_f32(TESS_BF16, h, in, 5) == TESS_OK && h[4] == 0x3DCD, "bulk bf16");
  CHECK(tess_convert_to_f32(TESS_BF16, out, h, 5) == TESS_OK && out[0] == 1.0f, "bulk bf16 back");
  CHECK(tess_convert_from_f32(TESS_F64, h, in, 5) == TESS_ERR_ARG, "f32 -> f64 accepted");
  tess_error_clear();
  tess_dtype_t t;
  CHECK(tess_dtype_parse("bf16", &t) == TESS_OK && t == TESS_BF16 && tess_dtype_size(t) == 2,
        "bf16 dtype");
  CHECK(tess_dtype_parse("f16", &t) == TESS_OK && t == TESS_F16 && tess_dtype_size(t) == 2,
        "f16 dtype");
  int rc = tess_test_finish("half");
  MPI_Finalize();
  return rc;
}
