/* tests/pde/test_act_tanh.c: the library's own branch-free tanh (pde/
 * activation.c) against long-double tanhl (64-bit mantissa: an independent
 * reference 11 bits finer than double). Over 2.3e5 arguments from subnormals
 * to past saturation, both signs: at most 3 ulp in double (2.1 seen); +-0, +-Inf, NaN
 * and saturation exact; odd symmetry bitwise; the derivatives returned with
 * it are the closed forms in t = tanh z. The f32 tanh (computed in float)
 * likewise over every float exponent: at most 3 ulp of float. */
#include <math.h>
#include <string.h>
#include <tessera/pinn.h>
#include "tess_test.h"

static double ulp_of(double v)
{
  double a = fabs(v);
  return a < 0x1p-1021 ? 0x1p-1074 : nextafter(a, INFINITY) - a;
}

static double tanh_of(double z)
{
  double s[TESS_ACT_MAX_ORDER + 1];
  if (tess_act_derivs(TESS_ACT_TANH, z, TESS_ACT_MAX_ORDER, s) != TESS_OK) return -99;
  return s[0];
}

static float tanhf_of(float z)
{
  float s[TESS_ACT_MAX_ORDER + 1];
  if (tess_act_derivs_f32(TESS_ACT_TANH, z, TESS_ACT_MAX_ORDER, s) != TESS_OK) return -99;
  return s[0];
}

static void check_f32(void)
{
  double worst = 0;
  float at = 0;
  long n = 0;
  for (int e = -149; e <= 6; e++)
    for (int j = 0; j < 256; j++) {
      float x = ldexpf(1 + j / 256.0f, e);
      for (int sg = -1; sg <= 1; sg += 2) {
        float z = (float)sg * x, got = tanhf_of(z);
        long double ref = tanhl((long double)z);
        float rf = (float)ref;
        float a = fabsf(rf);
        double ulp = a < 0x1p-125f ? 0x1p-149 : (double)(nextafterf(a, INFINITY) - a);
        double u = (double)(fabsl((long double)got - ref) / ulp);
        if (u > worst) { worst = u; at = z; }
        n++;
      }
      float m = -tanhf_of(x), p = tanhf_of(-x);
      CHECK(memcmp(&m, &p, sizeof m) == 0, "f32 tanh(-x) != -tanh(x) at %a", (double)x);
    }
  CHECK(worst <= 3.0, "f32: max error %.3f ulp at %a over %ld arguments", worst, (double)at, n);
  printf("tanh f32: max error %.3f ulp over %ld arguments (at %a)\n", worst, n, (double)at);
  CHECK(tanhf_of(0.0f) == 0 && !signbit(tanhf_of(0.0f)), "f32 tanh(+0)");
  CHECK(tanhf_of(-0.0f) == 0 && signbit(tanhf_of(-0.0f)), "f32 tanh(-0) must be -0");
  CHECK(tanhf_of(INFINITY) == 1 && tanhf_of(-INFINITY) == -1, "f32 tanh(+-Inf)");
  CHECK(isnan(tanhf_of(NAN)), "f32 tanh(NaN)");
  CHECK(tanhf_of(9.1f) == 1 && tanhf_of(1e30f) == 1 && tanhf_of(-25) == -1, "f32 saturation");
  CHECK(tanhf_of(0x1p-149f) == 0x1p-149f, "f32 smallest subnormal");
  float s[TESS_ACT_MAX_ORDER + 1];
  CHECK(tess_act_derivs_f32(TESS_ACT_TANH, 0.3f, TESS_ACT_MAX_ORDER, s) == TESS_OK, "f32 derivs");
  long double t = tanhl(0.3L);
  CHECK(fabsl(s[1] - (1 - t * t)) < 1e-6L && fabsl(s[2] + 2 * t * (1 - t * t)) < 1e-6L,
        "f32 s1 %a s2 %a", (double)s[1], (double)s[2]);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  double worst = 0, at = 0;
  long n = 0;
  for (int e = -1074; e <= 6; e++)
    for (int j = 0; j < 108; j++) {
      double x = ldexp(1 + j / 108.0, e);
      for (int sg = -1; sg <= 1; sg += 2) {
        double z = sg * x, got = tanh_of(z);
        long double ref = tanhl((long double)z);
        double u = (double)(fabsl((long double)got - ref) / ulp_of((double)ref));
        if (u > worst) { worst = u; at = z; }
        n++;
      }
      CHECK(memcmp(&(double){ -tanh_of(x) }, &(double){ tanh_of(-x) }, sizeof(double)) == 0,
            "tanh(-x) != -tanh(x) at %a", x);
    }
  CHECK(worst <= 3.0, "max error %.3f ulp at %a over %ld arguments", worst, at, n);
  printf("tanh: max error %.3f ulp over %ld arguments (at %a)\n", worst, n, at);

  CHECK(tanh_of(0.0) == 0 && !signbit(tanh_of(0.0)), "tanh(+0)");
  CHECK(tanh_of(-0.0) == 0 && signbit(tanh_of(-0.0)), "tanh(-0) must be -0");
  CHECK(tanh_of(INFINITY) == 1 && tanh_of(-INFINITY) == -1, "tanh(+-Inf)");
  CHECK(isnan(tanh_of(NAN)), "tanh(NaN)");
  CHECK(tanh_of(19.1) == 1 && tanh_of(1e300) == 1 && tanh_of(-25) == -1, "saturation");
  CHECK(tanh_of(0x1p-1074) == 0x1p-1074, "smallest subnormal");

  /* derivatives: closed forms in t, e.g. s1 = 1 - t^2, s2 = -2 t (1 - t^2) */
  double s[TESS_ACT_MAX_ORDER + 1];
  CHECK(tess_act_derivs(TESS_ACT_TANH, 0.3, TESS_ACT_MAX_ORDER, s) == TESS_OK, "derivs");
  long double t = tanhl(0.3L);
  CHECK(fabsl(s[1] - (1 - t * t)) < 1e-15L && fabsl(s[2] + 2 * t * (1 - t * t)) < 1e-15L,
        "s1 %a s2 %a", s[1], s[2]);
  check_f32();
  int rc = tess_test_finish("act_tanh");
  MPI_Finalize();
  return rc;
}
