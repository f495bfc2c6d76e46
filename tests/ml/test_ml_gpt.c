/* tests/ml/test_ml_gpt.c: the host GPT model (tessera/ml_gpt.h).
 * - the gradient of the loss against central finite differences in the
 *   parameters (f64, two layers, two heads, a masked target): rel <= 1e-7;
 * - the initial loss near ln(vocab) (GPT-2's small initial weights give
 *   nearly uniform predictions), and training on a repeating text lowers it;
 * - the data-parallel step at this run's rank count against the same steps
 *   on one rank (a mesh over MPI_COMM_SELF on every rank): losses and
 *   parameters bitwise equal, for f64 and f32;
 * - bad configurations and ids refused with what was wrong. */
#include <math.h>
#include <string.h>
#include <tessera/tessera.h>
#include <tessera/ml_gpt.h>

#include "tess_test_guard.h"

#define OK(call) CHECK((call) == TESS_OK, "%s failed", #call)

static double urand(uint64_t i) { return 2 * tess_rng_uniform(99, 7, i) - 1; }

static void check_gradient(void)
{
  tess_ml_gpt_config_t c = {11, 8, 8, 2, 2};
  tess_ml_gpt_t *g = NULL;
  double *p, *gr, *u, *g0, loss, worst = 0;
  size_t n;
  int32_t tok[10], tgt[10];
  for (int i = 0; i < 10; i++) {
    tok[i] = (int32_t)((i * 7 + 3) % 11);
    tgt[i] = i == 4 ? -1 : (int32_t)((i * 5 + 1) % 11);
  }
  OK(tess_ml_gpt_create(&c, TESS_F64, 5, &g));
  OK(tess_ml_gpt_params(g, &n, (void **)&p, (void **)&gr));
  /* larger weights than the init, so that every path carries gradient */
  for (size_t i = 0; i < n; i++) p[i] += 0.3 * urand(i);
  memset(gr, 0, sizeof *gr * n);
  OK(tess_ml_gpt_forward_backward(g, 2, 5, tok, tgt, 0, 1, &loss));
  g0 = malloc(sizeof *g0 * n);
  u = malloc(sizeof *u * n);
  memcpy(g0, gr, sizeof *g0 * n);
  for (int dir = 0; dir < 3; dir++) {
    double an = 0, fd[2], h = 1e-3;
    for (size_t i = 0; i < n; i++) an += g0[i] * (u[i] = urand(n * (size_t)(dir + 1) + i));
    for (int r = 0; r < 2; r++, h /= 2) {
      double lp, lm;
      for (size_t i = 0; i < n; i++) p[i] += h * u[i];
      OK(tess_ml_gpt_forward_backward(g, 2, 5, tok, tgt, 0, 0, &lp));
      for (size_t i = 0; i < n; i++) p[i] -= 2 * h * u[i];
      OK(tess_ml_gpt_forward_backward(g, 2, 5, tok, tgt, 0, 0, &lm));
      for (size_t i = 0; i < n; i++) p[i] += h * u[i];
      fd[r] = (lp - lm) / (2 * h);
    }
    double rich = (4 * fd[1] - fd[0]) / 3, rel = fabs(rich - an) / fmax(fabs(an), 1e-3);
    worst = fmax(worst, rel);
    CHECK(rel <= 1e-7, "gpt gradient, direction %d: backward %.15g, finite differences %.15g", dir,
          an, rich);
  }
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) printf("  gpt (%zu parameters) gradient vs finite differences: rel %.1e\n", n, worst);
  free(g0);
  free(u);
  tess_ml_gpt_destroy(&g);
}

/* nseq sequences of S+1 ids from a repeating text */
static void batch(int32_t *s, size_t nseq, size_t S, size_t V, int64_t step)
{
  for (size_t q = 0; q < nseq; q++)
    for (size_t i = 0; i <= S; i++) s[q * (S + 1) + i] = (int32_t)((q * 3 + (size_t)step + i * 2) % V);
}

static void train(tess_dtype_t t, tess_mesh_t *mesh, int steps, double *losses, void **params,
                  size_t *n)
{
  tess_ml_gpt_config_t c = {13, 12, 16, 2, 4};
  tess_ml_adamw_t o = {3e-3, 0.9, 0.95, 1e-8, 0.01};
  tess_ml_gpt_t *g = NULL;
  int32_t s[7 * 13];
  void *p;
  OK(tess_ml_gpt_create(&c, t, 2026, &g));
  for (int k = 0; k < steps; k++) {
    batch(s, 7, 12, c.vocab, k % 3);
    OK(tess_ml_gpt_train_step(g, mesh, TESS_AXES_ALL, 7, 12, s, &o, k + 1, 1.0, &losses[k]));
  }
  OK(tess_ml_gpt_params(g, n, &p, NULL));
  *params = malloc(*n * tess_dtype_size(t));
  memcpy(*params, p, *n * tess_dtype_size(t));
  tess_ml_gpt_destroy(&g);
}

static void check_training(tess_dtype_t t)
{
  enum { STEPS = 12 };
  int P;
  double lw[STEPS], ls[STEPS];
  void *pw = NULL, *ps = NULL;
  size_t nw, ns;
  tess_mesh_t *world = NULL, *self = NULL;
  const char *names[1] = {"dp"};
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  OK(tess_mesh_create(MPI_COMM_WORLD, 1, names, (int[]){P}, &world));
  OK(tess_mesh_create(MPI_COMM_SELF, 1, names, (int[]){1}, &self));
  train(t, world, STEPS, lw, &pw, &nw);
  train(t, self, STEPS, ls, &ps, &ns);
  CHECK(nw == ns && memcmp(pw, ps, nw * tess_dtype_size(t)) == 0,
        "%s: parameters after %d steps on %d ranks differ from 1 rank", tess_dtype_name(t), STEPS, P);
  CHECK(memcmp(lw, ls, sizeof lw) == 0, "%s: loss trajectory on %d ranks differs from 1 rank",
        tess_dtype_name(t), P);
  CHECK(fabs(lw[0] - log(13.0)) < 0.05, "%s: initial loss %.4f, ln(13) = %.4f", tess_dtype_name(t),
        lw[0], log(13.0));
  CHECK(lw[STEPS - 1] < 0.9 * lw[0], "%s: loss %.4f -> %.4f in %d steps (expected a drop)",
        tess_dtype_name(t), lw[0], lw[STEPS - 1], STEPS);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    printf("  %s training, %d ranks vs 1: loss %.4f -> %.4f in %d steps, bitwise equal: %s\n",
         tess_dtype_name(t), P, lw[0], lw[STEPS - 1], STEPS,
         memcmp(lw, ls, sizeof lw) == 0 && memcmp(pw, ps, nw * tess_dtype_size(t)) == 0 ? "yes"
                                                                                          : "no");
  free(pw);
  free(ps);
  tess_mesh_destroy(&world);
  tess_mesh_destroy(&self);
}


static void check_bad_input(void)
{
  tess_ml_gpt_t *g = NULL;
  tess_ml_gpt_config_t c = {10, 4, 6, 1, 4};
  tess_ml_adamw_t o = {1e-3, 0.9, 0.95, 1e-8, 0};
  tess_mesh_t *self = NULL;
  tess_test_expect_err(tess_ml_gpt_create(&c, TESS_F64, 1, &g), TESS_ERR_ARG, "a multiple of n_head",
             "d_model 6 over 4 heads");
  CHECK(g == NULL, "a refused model was handed out");
  c.n_head = 3;
  OK(tess_ml_gpt_create(&c, TESS_F64, 1, &g));
  int32_t tok[5] = {1, 2, 3, 4, 5}, tgt[5] = {1, 2, 3, 4, 10}, seq[5] = {1, 2, 10, 3, 4};
  double loss, logit[10];
  tess_test_expect_err(tess_ml_gpt_forward_backward(g, 1, 5, tok, tgt, 0, 0, &loss), TESS_ERR_ARG,
             "ctx 4", "a sequence longer than ctx");
  tess_test_expect_err(tess_ml_gpt_forward_backward(g, 1, 4, tok, tgt + 1, 0, 0, &loss), TESS_ERR_ARG,
             "labels[3] = 10", "a target outside the vocabulary");
  tess_test_expect_err(tess_ml_gpt_next_logits(g, 3, seq, logit), TESS_ERR_ARG, "ids[2] = 10",
             "a token outside the vocabulary");
  OK(tess_mesh_create(MPI_COMM_SELF, 1, (const char *[]){"dp"}, (int[]){1}, &self));
  tess_test_expect_err(tess_ml_gpt_train_step(g, self, TESS_AXES_ALL, 1, 4, seq, &o, 1, 0, &loss),
             TESS_ERR_ARG, "seqs[2] = 10", "a batch id outside the vocabulary");
  tess_mesh_destroy(&self);
  tess_ml_gpt_destroy(&g);
}

int main(int argc, char **argv)
{
  int rc;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  check_gradient();
  check_training(TESS_F64);
  check_training(TESS_F32);
  check_bad_input();
  rc = tess_test_finish("ml_gpt");
  tess_finalize();
  return rc;
}
