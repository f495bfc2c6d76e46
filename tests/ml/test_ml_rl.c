/* tests/ml/test_ml_rl.c: the RL pieces of tessera/ml_rl.h.
 * - the GRPO loss through the model: d/dθ of sum_i loss_i(logp_i(θ)) (policy
 *   log-probs from tess_ml_gpt_logprobs, its callback giving d loss/d logp)
 *   against central finite differences in the parameters, f64, with a KL
 *   weight large enough to matter: rel <= 1e-7 (Richardson, O(h^4); 5e-11 measured);
 * - tess_ml_grpo_loss's d loss/d logp against finite differences alone;
 * - group-normalised advantages against the formula worked by hand;
 * - sampling: the empirical distribution of 60,000 draws (uniforms from the
 *   counter RNG, a fixed seed) against softmax(logits / T) on a vocabulary
 *   of 6: chi-square below 20.52 (5 degrees of freedom, p = 0.001); T = 0
 *   gives the argmax;
 * - the data-parallel GRPO step at this run's rank count against the same
 *   steps on one rank (a mesh over MPI_COMM_SELF): stats and parameters
 *   bitwise equal, f64 and f32, 5 prompts (uneven over 2-4 ranks). */
#include <math.h>
#include <string.h>
#include <tessera/tessera.h>
#include <tessera/ml_rl.h>

#include "tess_test.h"

#define OK(call) CHECK((call) == TESS_OK, "%s failed", #call)

static int rank;
static double urand(uint64_t i) { return 2 * tess_rng_uniform(77, 3, i) - 1; }

enum { NC = 3, NP = 3, C = 5, S = NP + C - 1 };

typedef struct {
  const double *ref;
  double adv, beta, scale, loss;
} fd_ctx_t;

static tess_err_t cb(size_t n, const double *logp, double *dlogp, void *vctx)
{
  fd_ctx_t *x = vctx;
  for (size_t i = 0; i < n - C; i++) dlogp[i] = 0;
  return tess_ml_grpo_loss(C, logp + n - C, x->ref, x->adv, x->beta, x->scale, &x->loss, NULL, dlogp + n - C);
}

/* sum over the completions of their GRPO loss; with grad, the gradient is added */
static double total(tess_ml_gpt_t *g, int32_t tok[NC][S], int32_t tgt[NC][S], double ref[NC][C],
                    const double *adv, int grad)
{
  double sum = 0, lp[S];
  for (int i = 0; i < NC; i++) {
    fd_ctx_t x = {ref[i], adv[i], 0.7, 1.0 / (NC * C), 0};
    if (grad) {
      OK(tess_ml_gpt_logprobs(g, 1, S, tok[i], tgt[i], lp, cb, &x));
    } else {
      OK(tess_ml_gpt_logprobs(g, 1, S, tok[i], tgt[i], lp, NULL, NULL));
      OK(tess_ml_grpo_loss(C, lp + NP - 1, ref[i], adv[i], x.beta, x.scale, &x.loss, NULL, NULL));
    }
    sum += x.loss;
  }
  return sum;
}

static void check_gradient(void)
{
  tess_ml_gpt_config_t c = {11, 8, 8, 2, 2};
  tess_ml_gpt_t *g = NULL, *r = NULL;
  double *p, *gr, *pr, *u, *g0, worst = 0, lp[S];
  double ref[NC][C], adv[NC] = {1.3, -0.4, -0.9};
  int32_t tok[NC][S], tgt[NC][S];
  size_t n;
  for (int i = 0; i < NC; i++)
    for (int j = 0; j < S; j++) {
      tok[i][j] = (int32_t)((i * 5 + j * 7 + 2) % 11);
      tgt[i][j] = j + 1 >= NP ? (int32_t)((i * 3 + j * 4 + 1) % 11) : -1;
    }
  OK(tess_ml_gpt_create(&c, TESS_F64, 9, &g));
  OK(tess_ml_gpt_params(g, &n, (void **)&p, (void **)&gr));
  for (size_t i = 0; i < n; i++) p[i] += 0.3 * urand(i);
  /* the reference: the policy moved a little, so that ref - logp is O(0.1) */
  OK(tess_ml_gpt_clone(g, &r));
  OK(tess_ml_gpt_params(r, NULL, (void **)&pr, NULL));
  for (size_t i = 0; i < n; i++) pr[i] += 0.05 * urand(5 * n + i);
  for (int i = 0; i < NC; i++) {
    OK(tess_ml_gpt_logprobs(r, 1, S, tok[i], tgt[i], lp, NULL, NULL));
    memcpy(ref[i], lp + NP - 1, sizeof ref[i]);
  }
  memset(gr, 0, sizeof *gr * n);
  total(g, tok, tgt, ref, adv, 1);
  g0 = malloc(sizeof *g0 * n);
  u = malloc(sizeof *u * n);
  memcpy(g0, gr, sizeof *g0 * n);
  for (int dir = 0; dir < 3; dir++) {
    double an = 0, fd[2], h = 2.5e-4;   /* 1e-3: O(h^4) truncation 2e-8 (exp of the KL term) */
    for (size_t i = 0; i < n; i++) an += g0[i] * (u[i] = urand(n * (size_t)(dir + 1) + i));
    for (int k = 0; k < 2; k++, h /= 2) {
      for (size_t i = 0; i < n; i++) p[i] += h * u[i];
      double fp = total(g, tok, tgt, ref, adv, 0);
      for (size_t i = 0; i < n; i++) p[i] -= 2 * h * u[i];
      double fm = total(g, tok, tgt, ref, adv, 0);
      for (size_t i = 0; i < n; i++) p[i] += h * u[i];
      fd[k] = (fp - fm) / (2 * h);
    }
    double rich = (4 * fd[1] - fd[0]) / 3, rel = fabs(rich - an) / fmax(fabs(an), 1e-3);
    worst = fmax(worst, rel);
    CHECK(rel <= 1e-7, "GRPO gradient, direction %d: backward %.15g, finite differences %.15g", dir, an, rich);
  }
  if (rank == 0) printf("  GRPO loss through the gpt (%zu parameters, beta 0.7) vs finite differences: rel %.1e\n", n,
                        worst);
  free(g0);
  free(u);
  tess_ml_gpt_destroy(&g);
  tess_ml_gpt_destroy(&r);
}

/* the loss alone: d loss / d logp_t, and its value at ref == logp (k3 = 0) */
static void check_loss(void)
{
  double lp[4] = {-1.2, -0.3, -2.5, -0.8}, ref[4] = {-1.0, -0.9, -2.0, -0.8}, d[4], l, kl, worst = 0;
  OK(tess_ml_grpo_loss(4, lp, ref, 0.6, 0.3, 0.25, &l, &kl, d));
  for (int t = 0; t < 4; t++) {
    double h = 1e-4, f[2];
    for (int k = 0; k < 2; k++, h /= 2) {
      double q[4], lpv, lmv;
      memcpy(q, lp, sizeof q);
      q[t] += h;
      OK(tess_ml_grpo_loss(4, q, ref, 0.6, 0.3, 0.25, &lpv, NULL, NULL));
      q[t] -= 2 * h;
      OK(tess_ml_grpo_loss(4, q, ref, 0.6, 0.3, 0.25, &lmv, NULL, NULL));
      f[k] = (lpv - lmv) / (2 * h);
    }
    double rich = (4 * f[1] - f[0]) / 3;
    worst = fmax(worst, fabs(rich - d[t]) / fmax(fabs(d[t]), 1e-3));
  }
  CHECK(worst <= 1e-9, "grpo_loss d/dlogp vs finite differences: rel %.2e", worst);
  CHECK(kl > 0, "KL estimate %g (k3 >= 0, > 0 where ref != logp)", kl);
  OK(tess_ml_grpo_loss(4, lp, lp, 0.6, 0.3, 0.25, &l, &kl, d));
  CHECK(kl == 0 && l == 0.25 * -0.6 * (-1.2 - 0.3 - 2.5 - 0.8), "at ref == logp: loss %.17g, kl %g", l, kl);
}

static void check_advantages(void)
{
  double r[6] = {1, 2, 3, 5, 5, 5}, a[6], sd = sqrt(2.0 / 3.0);
  OK(tess_ml_grpo_advantages(2, 3, r, 0, a));
  CHECK(fabs(a[0] + 1 / sd) < 1e-15 && a[1] == 0 && fabs(a[2] - 1 / sd) < 1e-15,
        "advantages %g %g %g, expected %g 0 %g", a[0], a[1], a[2], -1 / sd, 1 / sd);
  CHECK(a[3] == 0 && a[4] == 0 && a[5] == 0, "a group of equal rewards: %g %g %g", a[3], a[4], a[5]);
}

static void check_sampling(void)
{
  enum { V = 6, N = 60000 };
  const double logit[V] = {0.3, -1.2, 2.0, 0.0, 0.7, -0.4}, T = 0.8;
  double p[V], z = 0, chi2 = 0;
  long cnt[V] = {0};
  int32_t tok = -1;
  for (int j = 0; j < V; j++) z += p[j] = exp(logit[j] / T);
  for (int i = 0; i < N; i++) {
    OK(tess_ml_sample_token(V, logit, T, tess_rng_uniform(2026, 0xC41, (uint64_t)i), &tok));
    if (tok >= 0 && tok < V) cnt[tok]++;
  }
  for (int j = 0; j < V; j++) {
    double e = N * p[j] / z;
    chi2 += (cnt[j] - e) * (cnt[j] - e) / e;
  }
  CHECK(chi2 < 20.52, "sampling: chi-square %.2f over 5 degrees of freedom (p = 0.001 bound 20.52)", chi2);
  OK(tess_ml_sample_token(V, logit, 0, 0.99, &tok));
  CHECK(tok == 2, "temperature 0: token %d, the argmax is 2", (int)tok);
  CHECK(tess_ml_sample_token(V, logit, T, 1.0, &tok) == TESS_ERR_ARG, "u = 1 accepted");
  tess_error_clear();
  if (rank == 0) printf("  sampling, %d draws over %d tokens at T %.1f: chi-square %.2f (bound 20.52)\n", N, V, T, chi2);
}

/* reward: the fraction of completion tokens equal to 3 */
static tess_err_t reward3(size_t np, const int32_t *prompt, size_t nc, const int32_t *y, double *r, void *ctx)
{
  (void)np, (void)prompt, (void)ctx;
  double s = 0;
  for (size_t j = 0; j < nc; j++) s += y[j] == 3;
  *r = s / (double)nc;
  return TESS_OK;
}

static void train(tess_dtype_t t, tess_mesh_t *mesh, int steps, tess_ml_grpo_stats_t *st, void **params, size_t *n)
{
  tess_ml_gpt_config_t c = {11, 8, 8, 2, 2};
  tess_ml_adamw_t o = {1e-2, 0.9, 0.95, 1e-8, 0.0};
  tess_ml_grpo_t go = {3, 4, 1.0, 0.05, 1e-6, 31};
  tess_ml_gpt_t *g = NULL, *ref = NULL;
  int32_t prompts[5 * 3];
  void *p;
  OK(tess_ml_gpt_create(&c, t, 2027, &g));
  OK(tess_ml_gpt_clone(g, &ref));
  for (int k = 0; k < steps; k++) {
    for (int i = 0; i < 15; i++) prompts[i] = (int32_t)((i * 4 + k) % 11);
    OK(tess_ml_gpt_grpo_step(g, ref, mesh, TESS_AXES_ALL, 5, 3, prompts, &go, reward3, NULL, &o, k + 1, 1.0, &st[k]));
  }
  OK(tess_ml_gpt_params(g, n, &p, NULL));
  *params = malloc(*n * tess_dtype_size(t));
  memcpy(*params, p, *n * tess_dtype_size(t));
  tess_ml_gpt_destroy(&g);
  tess_ml_gpt_destroy(&ref);
}

static void check_step(tess_dtype_t t)
{
  enum { STEPS = 6 };
  int P;
  tess_ml_grpo_stats_t sw[STEPS], ss[STEPS];
  void *pw = NULL, *ps = NULL;
  size_t nw = 0, ns = 0;
  tess_mesh_t *world = NULL, *self = NULL;
  const char *names[1] = {"dp"};
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  OK(tess_mesh_create(MPI_COMM_WORLD, 1, names, (int[]){P}, &world));
  OK(tess_mesh_create(MPI_COMM_SELF, 1, names, (int[]){1}, &self));
  train(t, world, STEPS, sw, &pw, &nw);
  train(t, self, STEPS, ss, &ps, &ns);
  CHECK(nw == ns && pw && ps && memcmp(pw, ps, nw * tess_dtype_size(t)) == 0,
        "%s: parameters after %d GRPO steps on %d ranks differ from 1 rank", tess_dtype_name(t), STEPS, P);
  CHECK(memcmp(sw, ss, sizeof sw) == 0, "%s: GRPO stats on %d ranks differ from 1 rank", tess_dtype_name(t), P);
  if (rank == 0)
    printf("  %s GRPO steps, %d ranks vs 1: reward %.4f -> %.4f, kl %.2e, bitwise equal: %s\n", tess_dtype_name(t),
           P, sw[0].reward, sw[STEPS - 1].reward, sw[STEPS - 1].kl,
           memcmp(sw, ss, sizeof sw) == 0 && memcmp(pw, ps, nw * tess_dtype_size(t)) == 0 ? "yes" : "no");
  free(pw);
  free(ps);
  tess_mesh_destroy(&world);
  tess_mesh_destroy(&self);
}

int main(int argc, char **argv)
{
  int rc;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  check_gradient();
  check_loss();
  check_advantages();
  check_sampling();
  check_step(TESS_F64);
  check_step(TESS_F32);
  rc = tess_test_finish("ml_rl");
  tess_finalize();
  return rc;
}
