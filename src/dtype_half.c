/* src/dtype_half.c: conversions between f32 and the 16-bit storage types
 * (bfloat16, IEEE binary16), bit by bit on the integer patterns so that the
 * result does not depend on the compiler's or the CPU's half support. */
#include <tessera/dtype.h>

#include <string.h>

static uint32_t bits_of(float x)
{
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static float float_of(uint32_t u)
{
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

uint16_t tess_f32_to_bf16(float x)
{
  uint32_t u = bits_of(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);   /* quiet NaN */
  /* Adding 0x7fff plus the kept lsb rounds the dropped 16 bits to even;
   * a carry into the exponent is the right answer (up to infinity). */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

float tess_bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t tess_f32_to_f16(float x)
{
  uint32_t u = bits_of(x), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));   /* NaN */
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);   /* rounds to >= 2^16: infinity */
  int e = (int)(a >> 23) - 127;                               /* unbiased exponent */
  if (e >= -14) {
    /* Normal: drop 13 mantissa bits, ties to even; a carry bumps the exponent. */
    uint32_t m = a - ((uint32_t)(127 - 15) << 23);
    m += 0x0fffu + ((m >> 13) & 1u);
    return (uint16_t)(sign | (m >> 13));
  }
  if (e < -25) return (uint16_t)sign;                         /* below half the least subnormal */
  /* Subnormal: the value in units of 2^-24 is (1.m) * 2^(e+24); shift the
   * 24-bit significand right by -e-1 (>= 14) and round to even. */
  uint32_t sig = (a & 0x7fffffu) | 0x800000u;
  int shift = -e - 1;
  uint32_t q = sig >> shift, rem = sig & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) q++;
  return (uint16_t)(sign | q);   /* q == 0x400 is the least normal: right */
}

float tess_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return float_of(sign | 0x7f800000u | (m << 13));   /* inf, NaN */
  if (e != 0) return float_of(sign | ((e + 127 - 15) << 23) | (m << 13));
  if (m == 0) return float_of(sign);
  /* Subnormal: normalise the mantissa. */
  int sh = 0;
  while (!(m & 0x400u)) { m <<= 1; sh++; }
  return float_of(sign | ((uint32_t)(127 - 15 + 1 - sh) << 23) | ((m & 0x3ffu) << 13));
}

tess_err_t tess_convert_from_f32(tess_dtype_t to, void *dst, const float *src, size_t n)
{
  tess_err_t err = TESS_OK;
  uint16_t *d = dst;
  TESS_REQUIRE(to == TESS_BF16 || to == TESS_F16, TESS_ERR_ARG,
               "tess_convert_from_f32 converts to bf16 or f16, not %s", tess_dtype_name(to));
  TESS_REQUIRE(n == 0 || (dst && src), TESS_ERR_ARG, "NULL buffer");
  if (to == TESS_BF16)
    for (size_t i = 0; i < n; i++) d[i] = tess_f32_to_bf16(src[i]);
  else
    for (size_t i = 0; i < n; i++) d[i] = tess_f32_to_f16(src[i]);
cleanup:
  return err;
}

tess_err_t tess_convert_to_f32(tess_dtype_t from, float *dst, const void *src, size_t n)
{
  tess_err_t err = TESS_OK;
  const uint16_t *s = src;
  TESS_REQUIRE(from == TESS_BF16 || from == TESS_F16, TESS_ERR_ARG,
               "tess_convert_to_f32 converts from bf16 or f16, not %s", tess_dtype_name(from));
  TESS_REQUIRE(n == 0 || (dst && src), TESS_ERR_ARG, "NULL buffer");
  if (from == TESS_BF16)
    for (size_t i = 0; i < n; i++) dst[i] = tess_bf16_to_f32(s[i]);
  else
    for (size_t i = 0; i < n; i++) dst[i] = tess_f16_to_f32(s[i]);
cleanup:
  return err;
}
