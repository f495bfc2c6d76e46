/* tests/ml/test_ml_ops.c: the ML layer's host operators (include/tessera/ml.h).
 * - every backward against central finite differences of its forward in f64
 *   (directional derivatives along random directions, Richardson-extrapolated:
 *   relative error <= 1e-7), parameter gradients included;
 * - flash attention against a naive long-double attention that forms the
 *   whole S x S probability matrix (causal, non-causal, grouped-query heads,
 *   S past one key tile);
 * - f32 storage against f64 within f32 rounding; AdamW against the update
 *   written out in long double; bad arguments refused with their names. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tessera/tessera.h>
#include <tessera/ml.h>

#include "tess_test_guard.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void)   /* in [-1, 1) */
{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}
static void fill(double *x, size_t n, double s)
{
  for (size_t i = 0; i < n; i++) x[i] = s * urand();
}

/* An operator as the checker sees it: x (nx) -> y (ny), and the backward
 * dx = J^T dy. */
typedef struct op op_t;
struct op {
  const char *name;
  size_t nx, ny;
  void (*fwd)(const op_t *o, const double *x, double *y);
  void (*bwd)(const op_t *o, const double *x, const double *dy, double *dx);
  size_t rows, d, h, v;       /* shapes, by operator */
  const int32_t *ids;         /* labels / ids */
  const int64_t *pos;
  tess_ml_attn_t att;
};

static double dotv(const double *a, const double *b, size_t n)
{
  long double s = 0;
  for (size_t i = 0; i < n; i++) s += (long double)a[i] * b[i];
  return (double)s;
}

/* <w, f(x + t u)> */
static double along(const op_t *o, const double *x, const double *u, const double *w, double t,
                    double *xt, double *y)
{
  for (size_t i = 0; i < o->nx; i++) xt[i] = x[i] + t * u[i];
  o->fwd(o, xt, y);
  return dotv(w, y, o->ny);
}

static void check_grad(const op_t *o, double xscale)
{
  double *x = malloc(sizeof *x * o->nx), *u = malloc(sizeof *u * o->nx);
  double *xt = malloc(sizeof *xt * o->nx), *dx = malloc(sizeof *dx * o->nx);
  double *w = malloc(sizeof *w * o->ny), *y = malloc(sizeof *y * o->ny);
  double worst = 0;
  fill(x, o->nx, xscale);
  fill(w, o->ny, 1.0);
  o->bwd(o, x, w, dx);
  for (int dir = 0; dir < 3; dir++) {
    fill(u, o->nx, 1.0);
    double an = dotv(dx, u, o->nx), h = 1e-3, fd[2];
    for (int r = 0; r < 2; r++, h /= 2)
      fd[r] = (along(o, x, u, w, h, xt, y) - along(o, x, u, w, -h, xt, y)) / (2 * h);
    double rich = (4 * fd[1] - fd[0]) / 3;   /* O(h^4) */
    double scale = fabs(an) > 1e-3 ? fabs(an) : 1e-3;
    double rel = fabs(rich - an) / scale;
    if (rel > worst) worst = rel;
    CHECK(rel <= 1e-7, "%s: direction %d: backward %.15g, finite differences %.15g (rel %.2e)",
          o->name, dir, an, rich, rel);
  }
  printf("  %-34s backward vs finite differences: rel %.1e\n", o->name, worst);
  free(x); free(u); free(xt); free(dx); free(w); free(y);
}

#define OK(call) CHECK((call) == TESS_OK, "%s failed", #call)

/* ---- the operators, wrapped ---- */
static void lin_f(const op_t *o, const double *x, double *y)
{
  size_t nx = o->rows * o->d, nw = o->h * o->d;
  OK(tess_ml_linear(TESS_F64, o->rows, o->d, o->h, x, x + nx, x + nx + nw, y));
}
static void lin_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  size_t nx = o->rows * o->d, nw = o->h * o->d;
  memset(dx + nx, 0, sizeof *dx * (nw + o->h));
  OK(tess_ml_linear_backward(TESS_F64, o->rows, o->d, o->h, x, x + nx, dy, dx, dx + nx,
                             dx + nx + nw));
}
static void ln_f(const op_t *o, const double *x, double *y)
{
  size_t n = o->rows * o->d;
  OK(tess_ml_layernorm(TESS_F64, o->rows, o->d, x, x + n, x + n + o->d, 1e-5, y, NULL, NULL));
}
static void ln_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  size_t n = o->rows * o->d;
  double mean[64], rstd[64], *y = malloc(sizeof *y * n);
  OK(tess_ml_layernorm(TESS_F64, o->rows, o->d, x, x + n, x + n + o->d, 1e-5, y, mean, rstd));
  memset(dx + n, 0, sizeof *dx * 2 * o->d);
  OK(tess_ml_layernorm_backward(TESS_F64, o->rows, o->d, x, x + n, mean, rstd, dy, dx, dx + n,
                                dx + n + o->d));
  free(y);
}
static void rms_f(const op_t *o, const double *x, double *y)
{
  size_t n = o->rows * o->d;
  OK(tess_ml_rmsnorm(TESS_F64, o->rows, o->d, x, x + n, 1e-6, y, NULL));
}
static void rms_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  size_t n = o->rows * o->d;
  double rstd[64], *y = malloc(sizeof *y * n);
  OK(tess_ml_rmsnorm(TESS_F64, o->rows, o->d, x, x + n, 1e-6, y, rstd));
  memset(dx + n, 0, sizeof *dx * o->d);
  OK(tess_ml_rmsnorm_backward(TESS_F64, o->rows, o->d, x, x + n, rstd, dy, dx, dx + n));
  free(y);
}
static void gelu_f(const op_t *o, const double *x, double *y) { OK(tess_ml_gelu(TESS_F64, o->nx, x, y)); }
static void gelu_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  OK(tess_ml_gelu_backward(TESS_F64, o->nx, x, dy, dx));
}
static void swi_f(const op_t *o, const double *x, double *y) { OK(tess_ml_swiglu(TESS_F64, o->rows, o->h, x, y)); }
static void swi_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  OK(tess_ml_swiglu_backward(TESS_F64, o->rows, o->h, x, dy, dx));
}
static void sm_f(const op_t *o, const double *x, double *y) { OK(tess_ml_softmax(TESS_F64, o->rows, o->d, x, y)); }
static void sm_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  double *y = malloc(sizeof *y * o->ny);
  OK(tess_ml_softmax(TESS_F64, o->rows, o->d, x, y));
  OK(tess_ml_softmax_backward(TESS_F64, o->rows, o->d, y, dy, dx));
  free(y);
}
static void ce_f(const op_t *o, const double *x, double *y)
{
  OK(tess_ml_cross_entropy(TESS_F64, o->rows, o->v, x, o->ids, 5.0, y, NULL, NULL));
}
static void ce_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  double loss;
  OK(tess_ml_cross_entropy(TESS_F64, o->rows, o->v, x, o->ids, 5.0, &loss, NULL, dx));
  for (size_t i = 0; i < o->nx; i++) dx[i] *= dy[0];
}
static void rot_f(const op_t *o, const double *x, double *y)
{
  OK(tess_ml_rotary(TESS_F64, o->rows, o->h, o->d, o->pos, 10000.0, x, y));
}
static void rot_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  (void)x;
  OK(tess_ml_rotary_backward(TESS_F64, o->rows, o->h, o->d, o->pos, 10000.0, dy, dx));
}
static void emb_f(const op_t *o, const double *x, double *y)
{
  OK(tess_ml_embedding(TESS_F64, o->rows, o->v, o->d, o->ids, x, y));
}
static void emb_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  (void)x;
  memset(dx, 0, sizeof *dx * o->nx);
  OK(tess_ml_embedding_backward(TESS_F64, o->rows, o->v, o->d, o->ids, dy, dx));
}
static void att_sizes(const tess_ml_attn_t *a, size_t *nq, size_t *nk)
{
  *nq = a->B * a->Hq * a->S * a->D;
  *nk = a->B * a->Hkv * a->S * a->D;
}
static void att_f(const op_t *o, const double *x, double *y)
{
  size_t nq, nk;
  att_sizes(&o->att, &nq, &nk);
  OK(tess_ml_flash_attention(TESS_F64, &o->att, x, x + nq, x + nq + nk, y, NULL));
}
static void att_b(const op_t *o, const double *x, const double *dy, double *dx)
{
  size_t nq, nk;
  att_sizes(&o->att, &nq, &nk);
  double *y = malloc(sizeof *y * nq), *lse = malloc(sizeof *lse * nq / o->att.D);
  OK(tess_ml_flash_attention(TESS_F64, &o->att, x, x + nq, x + nq + nk, y, lse));
  OK(tess_ml_flash_attention_backward(TESS_F64, &o->att, x, x + nq, x + nq + nk, y, lse, dy, dx,
                                      dx + nq, dx + nq + nk));
  free(y);
  free(lse);
}

/* Naive attention in long double, the whole probability matrix of a head. */
static void naive_attention(const tess_ml_attn_t *a, const double *q, const double *k,
                            const double *v, double *o)
{
  size_t L = a->S, D = a->D, grp = a->Hq / a->Hkv;
  long double *p = malloc(sizeof *p * L * L);
  for (size_t b = 0; b < a->B; b++)
    for (size_t h = 0; h < a->Hq; h++) {
      size_t qo = (b * a->Hq + h) * L * D, ko = (b * a->Hkv + h / grp) * L * D;
      for (size_t i = 0; i < L; i++) {
        long double m = -INFINITY, s = 0;
        for (size_t j = 0; j < L; j++) {
          long double z = 0;
          for (size_t d = 0; d < D; d++) z += (long double)q[qo + i * D + d] * k[ko + j * D + d];
          p[i * L + j] = (a->causal && j > i) ? -INFINITY : z * a->scale;
          if (p[i * L + j] > m) m = p[i * L + j];
        }
        for (size_t j = 0; j < L; j++) s += (p[i * L + j] = expl(p[i * L + j] - m));
        for (size_t d = 0; d < D; d++) {
          long double z = 0;
          for (size_t j = 0; j < L; j++) z += p[i * L + j] / s * v[ko + j * D + d];
          o[qo + i * D + d] = (double)z;
        }
      }
    }
  free(p);
}

static void check_attention(const tess_ml_attn_t *a, const char *name)
{
  size_t nq, nk;
  att_sizes(a, &nq, &nk);
  double *q = malloc(sizeof(double) * nq), *k = malloc(sizeof(double) * nk);
  double *v = malloc(sizeof(double) * nk), *o = malloc(sizeof(double) * nq);
  double *r = malloc(sizeof(double) * nq), *o2 = malloc(sizeof(double) * nq);
  double *lse = malloc(sizeof(double) * nq / a->D), err = 0;
  fill(q, nq, 2.0);
  fill(k, nk, 2.0);
  fill(v, nk, 1.0);
  OK(tess_ml_flash_attention(TESS_F64, a, q, k, v, o, lse));
  naive_attention(a, q, k, v, r);
  for (size_t i = 0; i < nq; i++) err = fmax(err, fabs(o[i] - r[i]));
  CHECK(err <= 1e-13, "%s: flash vs naive long-double attention: max error %.2e", name, err);
  OK(tess_ml_flash_attention(TESS_F64, a, q, k, v, o2, NULL));
  CHECK(memcmp(o, o2, sizeof(double) * nq) == 0, "%s: a second run differs bitwise", name);
  printf("  %-34s flash vs naive (long double): max err %.1e\n", name, err);
  free(q); free(k); free(v); free(o); free(r); free(o2); free(lse);
}

/* f32 storage vs f64: forward of every operator on the same (rounded) inputs. */
static void check_f32(void)
{
  enum { R = 5, D = 24, N = R * D };
  double x[2 * N], g[D], b[D], y[2 * N], st[2 * R];
  float xf[2 * N], gf[D], bf[D], yf[2 * N];
  double worst = 0;
  fill(x, 2 * N, 2.0);
  fill(g, D, 1.0);
  fill(b, D, 1.0);
  for (int i = 0; i < 2 * N; i++) x[i] = xf[i] = (float)x[i];
  for (int i = 0; i < D; i++) { g[i] = gf[i] = (float)g[i]; b[i] = bf[i] = (float)b[i]; }
#define CMP(what, n) do { double e_ = 0;                                                    \
    for (int i_ = 0; i_ < (n); i_++) e_ = fmax(e_, fabs(y[i_] - yf[i_]) / (1 + fabs(y[i_]))); \
    CHECK(e_ <= 2e-6, "%s: f32 vs f64 %.2e", what, e_); worst = fmax(worst, e_); } while (0)
  OK(tess_ml_layernorm(TESS_F64, R, D, x, g, b, 1e-5, y, st, st + R));
  OK(tess_ml_layernorm(TESS_F32, R, D, xf, gf, bf, 1e-5, yf, NULL, NULL));
  CMP("layernorm", N);
  OK(tess_ml_rmsnorm(TESS_F64, R, D, x, g, 1e-6, y, NULL));
  OK(tess_ml_rmsnorm(TESS_F32, R, D, xf, gf, 1e-6, yf, NULL));
  CMP("rmsnorm", N);
  OK(tess_ml_gelu(TESS_F64, N, x, y));
  OK(tess_ml_gelu(TESS_F32, N, xf, yf));
  CMP("gelu", N);
  OK(tess_ml_swiglu(TESS_F64, R, D, x, y));
  OK(tess_ml_swiglu(TESS_F32, R, D, xf, yf));
  CMP("swiglu", N);
  OK(tess_ml_softmax(TESS_F64, R, D, x, y));
  OK(tess_ml_softmax(TESS_F32, R, D, xf, yf));
  CMP("softmax", N);
  tess_ml_attn_t a = {1, 2, 1, 12, 10, 1 / sqrt(10.0), 1};
  OK(tess_ml_flash_attention(TESS_F64, &a, x, x, x + 120, y, NULL));
  OK(tess_ml_flash_attention(TESS_F32, &a, xf, xf, xf + 120, yf, NULL));
  CMP("flash attention", 240);
  printf("  f32 storage vs f64: max rel %.1e\n", worst);
#undef CMP
}

static void check_adamw(void)
{
  enum { N = 7 };
  double p[N], g[N], m[N], v[N];
  long double P[N], M[N], V[N];
  tess_ml_adamw_t o = {1e-2, 0.9, 0.95, 1e-8, 0.1};
  fill(p, N, 1.0);
  fill(m, N, 0.1);
  for (int i = 0; i < N; i++) { v[i] = fabs(urand()) * 0.01; P[i] = p[i]; M[i] = m[i]; V[i] = v[i]; }
  for (int64_t step = 3; step <= 5; step++) {
    fill(g, N, 1.0);
    OK(tess_ml_adamw_step(TESS_F64, N, &o, step, 0.5, p, g, m, v));
    for (int i = 0; i < N; i++) {
      long double gi = 0.5L * g[i];
      M[i] = 0.9L * M[i] + 0.1L * gi;
      V[i] = 0.95L * V[i] + 0.05L * gi * gi;
      long double mh = M[i] / (1 - powl(0.9L, step)), vh = V[i] / (1 - powl(0.95L, step));
      P[i] -= 1e-2L * (mh / (sqrtl(vh) + 1e-8L) + 0.1L * P[i]);
    }
  }
  double e = 0;
  for (int i = 0; i < N; i++) e = fmax(e, fabs(p[i] - (double)P[i]));
  CHECK(e <= 1e-14, "adamw: three steps vs the long-double update: %.2e", e);
  double s;
  OK(tess_ml_clip_scale(25.0, 1.0, &s));
  CHECK(fabs(s - 1.0 / (5.0 + 1e-6)) < 1e-15, "clip scale of norm 5 to 1: %.17g", s);
  OK(tess_ml_clip_scale(0.25, 1.0, &s));
  CHECK(s == 1.0, "clip scale of norm 0.5 to 1: %.17g (expected 1)", s);
  printf("  adamw vs long double (3 steps): %.1e\n", e);
}


static void check_bad_input(void)
{
  double x[16] = {0}, y[16], loss;
  int32_t lab[2] = {1, 9};
  tess_ml_attn_t a = {1, 3, 2, 4, 2, 1.0, 0};
  tess_test_expect_err(tess_ml_layernorm(TESS_F64, 2, 4, NULL, x, x, 1e-5, y, NULL, NULL), TESS_ERR_ARG,
             "'x'", "layernorm NULL x");
  tess_test_expect_err(tess_ml_gelu(TESS_C128, 4, x, y), TESS_ERR_UNSUPPORTED, "c128", "gelu on c128");
  tess_test_expect_err(tess_ml_cross_entropy(TESS_F64, 2, 8, x, lab, 0, &loss, NULL, NULL), TESS_ERR_ARG,
             "labels[1] = 9", "label outside the vocabulary");
  tess_test_expect_err(tess_ml_flash_attention(TESS_F64, &a, x, x, x, y, NULL), TESS_ERR_ARG,
             "not a multiple", "3 query heads over 2 kv heads");
  tess_test_expect_err(tess_ml_rotary(TESS_F64, 1, 1, 3, (int64_t[]){0}, 1e4, x, y), TESS_ERR_ARG, "odd",
             "rotary on an odd head dim");
  tess_test_expect_err(tess_ml_embedding(TESS_F64, 2, 8, 2, lab, x, y), TESS_ERR_ARG, "ids[1] = 9",
             "embedding id outside the vocabulary");
  tess_ml_adamw_t o = {1e-3, 0.9, 1.0, 1e-8, 0};
  tess_test_expect_err(tess_ml_adamw_step(TESS_F64, 2, &o, 1, 1, x, x, x, x), TESS_ERR_ARG, "betas",
             "adamw beta2 = 1");
}

int main(int argc, char **argv)
{
  int rc;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  {
    enum { R = 6, D = 16 };
    int32_t lab[R] = {3, -1, 0, 15, 7, 7}, ids[R] = {2, 5, 2, 0, 9, 2};
    int64_t pos[R] = {0, 1, 2, 17, 400, 4095};
    op_t ops[] = {
      {.name = "linear (x, W, bias)", .nx = R * D + 5 * D + 5, .ny = R * 5, .fwd = lin_f, .bwd = lin_b, .rows = R, .d = D, .h = 5},
      {.name = "layernorm (x, gamma, beta)", .nx = R * D + 2 * D, .ny = R * D, .fwd = ln_f, .bwd = ln_b, .rows = R, .d = D},
      {.name = "rmsnorm (x, gamma)", .nx = R * D + D, .ny = R * D, .fwd = rms_f, .bwd = rms_b, .rows = R, .d = D},
      {.name = "gelu", .nx = R * D, .ny = R * D, .fwd = gelu_f, .bwd = gelu_b},
      {.name = "swiglu", .nx = R * D, .ny = R * D / 2, .fwd = swi_f, .bwd = swi_b, .rows = R, .h = D / 2},
      {.name = "softmax", .nx = R * D, .ny = R * D, .fwd = sm_f, .bwd = sm_b, .rows = R, .d = D},
      {.name = "cross-entropy (one masked row)", .nx = R * D, .ny = 1, .fwd = ce_f, .bwd = ce_b, .rows = R, .v = D, .ids = lab},
      {.name = "rotary", .nx = R * 2 * D, .ny = R * 2 * D, .fwd = rot_f, .bwd = rot_b, .rows = R, .h = 2, .d = D, .pos = pos},
      {.name = "embedding (repeated ids)", .nx = 10 * D, .ny = R * D, .fwd = emb_f, .bwd = emb_b, .rows = R, .v = 10, .d = D, .ids = ids},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) check_grad(&ops[i], 2.0);
    /* attention: S = 70 spans two key tiles; grouped-query heads 4 over 2 */
    const struct { tess_ml_attn_t a; const char *name; } at[] = {
      {{2, 4, 2, 70, 8, 1 / sqrt(8.0), 0}, "attention, GQA 4/2, S 70"},
      {{2, 4, 2, 70, 8, 1 / sqrt(8.0), 1}, "attention causal, GQA 4/2, S 70"},
      {{1, 2, 2, 9, 64, 1 / sqrt(64.0), 1}, "attention causal, D 64, S 9"},
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
      size_t nq, nk;
      att_sizes(&at[i].a, &nq, &nk);
      op_t o = {.name = at[i].name, .nx = nq + 2 * nk, .ny = nq, .fwd = att_f, .bwd = att_b, .att = at[i].a};
      check_grad(&o, 1.0);
      check_attention(&at[i].a, at[i].name);
    }
    check_f32();
    check_adamw();
    check_bad_input();
  }
  rc = tess_test_finish("ml_ops");
  tess_finalize();
  return rc;
}
