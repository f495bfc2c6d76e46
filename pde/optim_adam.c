/* pde/optim_adam.c: Adam with learning-rate schedules. Elementwise on the
 * replicated f64 parameter vector: every rank does the same arithmetic on
 * the same bits, so no communication and no rank dependence. The state
 * (step count, first and second moments) exports as one f64 vector for
 * checkpoints; restoring it continues the same trajectory bitwise. */
#include "pinn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tess_adam {
  size_t n;
  tess_adam_opts_t o;
  long t;
  double *m, *v;
};

void tess_adam_opts_default(tess_adam_opts_t *o)
{
  memset(o, 0, sizeof *o);
  o->lr = 1e-3;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->schedule = TESS_SCHED_CONSTANT;
  o->decay_rate = 0.1;
  o->decay_steps = 1000;
  o->total_steps = 1000;
  o->lr_min = 0;
}

tess_err_t tess_sched_parse(const char *name, tess_sched_t *s)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(name && s, TESS_ERR_ARG, "NULL argument");
  if (strcmp(name, "constant") == 0) *s = TESS_SCHED_CONSTANT;
  else if (strcmp(name, "exponential") == 0 || strcmp(name, "exp") == 0) *s = TESS_SCHED_EXP;
  else if (strcmp(name, "cosine") == 0) *s = TESS_SCHED_COSINE;
  else TESS_REQUIRE(0, TESS_ERR_ARG, "unknown schedule '%s' (expected constant|exponential|cosine)", name);
cleanup:
  return err;
}

double tess_adam_lr(const tess_adam_opts_t *o, long step)
{
  switch (o->schedule) {
  case TESS_SCHED_EXP:
    return o->lr * pow(o->decay_rate, (double)step / o->decay_steps);
  case TESS_SCHED_COSINE: {
    double f = o->total_steps > 0 ? (double)(step < o->total_steps ? step : o->total_steps)
                                    / (double)o->total_steps : 1;
    return o->lr_min + (o->lr - o->lr_min) * 0.5 * (1 + cos(3.14159265358979323846 * f));
  }
  default:
    return o->lr;
  }
}

tess_err_t tess_adam_create(size_t n, const tess_adam_opts_t *opts, tess_adam_t **adam)
{
  tess_err_t err = TESS_OK;
  tess_adam_t *a = NULL;
  TESS_REQUIRE(opts && adam, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(opts->lr > 0 && opts->beta1 >= 0 && opts->beta1 < 1 && opts->beta2 >= 0 &&
               opts->beta2 < 1 && opts->eps > 0, TESS_ERR_ARG,
               "Adam options: lr %g > 0, beta1 %g and beta2 %g in [0,1), eps %g > 0",
               opts->lr, opts->beta1, opts->beta2, opts->eps);
  TESS_REQUIRE(opts->schedule != TESS_SCHED_EXP || (opts->decay_rate > 0 && opts->decay_steps > 0),
               TESS_ERR_ARG, "exponential schedule needs decay_rate > 0 and decay_steps > 0");
  a = calloc(1, sizeof *a);
  TESS_REQUIRE(a, TESS_ERR_MEM, "adam");
  a->n = n;
  a->o = *opts;
  a->m = calloc(n ? n : 1, sizeof *a->m);
  a->v = calloc(n ? n : 1, sizeof *a->v);
  TESS_REQUIRE(a->m && a->v, TESS_ERR_MEM, "adam moments (%zu)", n);
  *adam = a;
  a = NULL;
cleanup:
  tess_adam_destroy(&a);
  return err;
}

void tess_adam_destroy(tess_adam_t **adam)
{
  if (!adam || !*adam) return;
  free((*adam)->m);
  free((*adam)->v);
  free(*adam);
  *adam = NULL;
}

tess_err_t tess_adam_step(tess_adam_t *a, double *theta, const double *g)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(a && theta && g, TESS_ERR_ARG, "NULL argument");
  double lr = tess_adam_lr(&a->o, a->t);
  a->t++;
  const double b1 = a->o.beta1, b2 = a->o.beta2;
  const double c1 = 1 - pow(b1, (double)a->t), c2 = 1 - pow(b2, (double)a->t);
  for (size_t k = 0; k < a->n; k++) {
    a->m[k] = b1 * a->m[k] + (1 - b1) * g[k];
    a->v[k] = b2 * a->v[k] + (1 - b2) * g[k] * g[k];
    theta[k] -= lr * (a->m[k] / c1) / (sqrt(a->v[k] / c2) + a->o.eps);
  }
cleanup:
  return err;
}

long tess_adam_steps(const tess_adam_t *a) { return a ? a->t : 0; }
size_t tess_adam_state_size(const tess_adam_t *a) { return a ? 1 + 2 * a->n : 0; }

tess_err_t tess_adam_state_get(const tess_adam_t *a, double *st)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(a && st, TESS_ERR_ARG, "NULL argument");
  st[0] = (double)a->t;
  memcpy(st + 1, a->m, a->n * sizeof *st);
  memcpy(st + 1 + a->n, a->v, a->n * sizeof *st);
cleanup:
  return err;
}

tess_err_t tess_adam_state_set(tess_adam_t *a, const double *st)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(a && st, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(st[0] >= 0 && st[0] < 1e15, TESS_ERR_ARG, "bad Adam step count %g", st[0]);
  a->t = (long)st[0];
  memcpy(a->m, st + 1, a->n * sizeof *st);
  memcpy(a->v, st + 1 + a->n, a->n * sizeof *st);
cleanup:
  return err;
}
