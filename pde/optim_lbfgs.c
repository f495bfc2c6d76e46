/* pde/optim_lbfgs.c: L-BFGS (two-loop recursion) with a backtracking
 * (Armijo) or strong-Wolfe line search (Nocedal & Wright, alg. 3.5/3.6, zoom
 * by safeguarded cubic interpolation). All vectors are replicated and every
 * rank runs the same arithmetic on the same bits, so with a deterministic
 * objective the iterates are identical everywhere. The history exports as
 * one f64 vector for checkpoints. */
#include "pinn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tess_lbfgs {
  size_t n;
  tess_lbfgs_opts_t o;
  long k;                      /* iterations done */
  int count, head;             /* stored pairs; next slot */
  double *S, *Y, *rho, *alpha;
  double *d, *xt, *gt, *xb, *gb;
};

void tess_lbfgs_opts_default(tess_lbfgs_opts_t *o)
{
  memset(o, 0, sizeof *o);
  o->history = 10;
  o->line_search = TESS_LS_STRONG_WOLFE;
  o->c1 = 1e-4;
  o->c2 = 0.9;
  o->max_evals = 25;
  o->step0 = 1;
}

void tess_lbfgs_destroy(tess_lbfgs_t **lb)
{
  if (!lb || !*lb) return;
  tess_lbfgs_t *l = *lb;
  free(l->S); free(l->Y); free(l->rho); free(l->alpha);
  free(l->d); free(l->xt); free(l->gt); free(l->xb); free(l->gb);
  free(l);
  *lb = NULL;
}

tess_err_t tess_lbfgs_create(size_t n, const tess_lbfgs_opts_t *opts, tess_lbfgs_t **lb)
{
  tess_err_t err = TESS_OK;
  tess_lbfgs_t *l = NULL;
  TESS_REQUIRE(opts && lb && n > 0, TESS_ERR_ARG, "NULL argument or n = 0");
  TESS_REQUIRE(opts->history >= 1 && opts->history <= 1000, TESS_ERR_ARG,
               "L-BFGS history %d, expected 1..1000", opts->history);
  TESS_REQUIRE(opts->c1 > 0 && opts->c1 < opts->c2 && opts->c2 < 1, TESS_ERR_ARG,
               "line search needs 0 < c1 (%g) < c2 (%g) < 1", opts->c1, opts->c2);
  TESS_REQUIRE(opts->max_evals >= 1 && opts->step0 > 0, TESS_ERR_ARG, "max_evals >= 1, step0 > 0");
  l = calloc(1, sizeof *l);
  TESS_REQUIRE(l, TESS_ERR_MEM, "lbfgs");
  l->n = n;
  l->o = *opts;
  size_t m = (size_t)opts->history;
  l->S = calloc(m * n, sizeof *l->S);
  l->Y = calloc(m * n, sizeof *l->Y);
  l->rho = calloc(m, sizeof *l->rho);
  l->alpha = calloc(m, sizeof *l->alpha);
  l->d = malloc(n * sizeof *l->d);
  l->xt = malloc(n * sizeof *l->xt);
  l->gt = malloc(n * sizeof *l->gt);
  l->xb = malloc(n * sizeof *l->xb);
  l->gb = malloc(n * sizeof *l->gb);
  TESS_REQUIRE(l->S && l->Y && l->rho && l->alpha && l->d && l->xt && l->gt && l->xb && l->gb,
               TESS_ERR_MEM, "L-BFGS history (%zu x %zu)", m, n);
  *lb = l;
  l = NULL;
cleanup:
  tess_lbfgs_destroy(&l);
  return err;
}

static double dot(const double *a, const double *b, size_t n)
{
  double s = 0;
  for (size_t k = 0; k < n; k++) s += a[k] * b[k];
  return s;
}

/* d = -H g by the two-loop recursion, H0 = gamma I. */
static void direction(tess_lbfgs_t *l, const double *g)
{
  const size_t n = l->n;
  const int m = l->o.history;
  for (size_t k = 0; k < n; k++) l->d[k] = -g[k];
  for (int i = 0; i < l->count; i++) {
    int j = ((l->head - 1 - i) % m + m) % m;
    l->alpha[j] = l->rho[j] * dot(l->S + (size_t)j * n, l->d, n);
    const double *y = l->Y + (size_t)j * n;
    for (size_t k = 0; k < n; k++) l->d[k] -= l->alpha[j] * y[k];
  }
  if (l->count > 0) {
    int j = ((l->head - 1) % m + m) % m;
    const double *y = l->Y + (size_t)j * n;
    double gamma = 1 / (l->rho[j] * dot(y, y, n));
    for (size_t k = 0; k < n; k++) l->d[k] *= gamma;
  }
  for (int i = l->count - 1; i >= 0; i--) {
    int j = ((l->head - 1 - i) % m + m) % m;
    double beta = l->rho[j] * dot(l->Y + (size_t)j * n, l->d, n);
    const double *s = l->S + (size_t)j * n;
    for (size_t k = 0; k < n; k++) l->d[k] += (l->alpha[j] - beta) * s[k];
  }
}

typedef struct {
  tess_lbfgs_t *l;
  tess_objective_fn fn;
  void *ctx;
  const double *x;
  int evals;
  double fbest, abest;           /* best sufficient-decrease point so far */
  int have_best;
} ls_t;

static tess_err_t trial(ls_t *ls, double a, double *f, double *dg)
{
  tess_err_t err = TESS_OK;
  tess_lbfgs_t *l = ls->l;
  for (size_t k = 0; k < l->n; k++) l->xt[k] = ls->x[k] + a * l->d[k];
  TESS_CHECK(ls->fn(l->xt, f, l->gt, ls->ctx));
  ls->evals++;
  *dg = dot(l->gt, l->d, l->n);
  if (isfinite(*f) && (!ls->have_best || *f < ls->fbest)) {
    ls->have_best = 1;
    ls->fbest = *f;
    ls->abest = a;
    memcpy(l->xb, l->xt, l->n * sizeof *l->xb);
    memcpy(l->gb, l->gt, l->n * sizeof *l->gb);
  }
cleanup:
  return err;
}

static double cubic_min(double x1, double f1, double g1, double x2, double f2, double g2)
{
  double lo = x1 < x2 ? x1 : x2, hi = x1 < x2 ? x2 : x1;
  double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2), d2sq = d1 * d1 - g1 * g2, pos;
  if (d2sq >= 0) {
    double d2 = sqrt(d2sq);
    pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                   : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  } else {
    pos = 0.5 * (lo + hi);
  }
  /* safeguard: keep away from the ends, else bisect */
  double w = hi - lo;
  if (!(pos > lo + 0.1 * w && pos < hi - 0.1 * w)) pos = 0.5 * (lo + hi);
  return pos;
}

/* Returns 1 with the accepted point in xt/gt and its f in *fa; 0 if none. */
static tess_err_t wolfe(ls_t *ls, double f0, double dg0, double a, double *fa, int *ok)
{
  tess_err_t err = TESS_OK;
  const double c1 = ls->l->o.c1, c2 = ls->l->o.c2;
  double ap = 0, fp = f0, gp = dg0, f = 0, g = 0;
  double lo = 0, flo = 0, glo = 0, hi = 0, fhi = 0, ghi = 0;
  int zoom = 0;
  *ok = 0;
  while (ls->evals < ls->l->o.max_evals) {
    TESS_CHECK(trial(ls, a, &f, &g));
    if (!isfinite(f) || f > f0 + c1 * a * dg0 || (ls->evals > 1 && f >= fp)) {
      lo = ap; flo = fp; glo = gp; hi = a; fhi = f; ghi = g; zoom = 1; break;
    }
    if (fabs(g) <= -c2 * dg0) { *ok = 1; *fa = f; goto cleanup; }
    if (g >= 0) { lo = a; flo = f; glo = g; hi = ap; fhi = fp; ghi = gp; zoom = 1; break; }
    ap = a; fp = f; gp = g;
    a *= 2;
  }
  while (zoom && ls->evals < ls->l->o.max_evals) {
    double at = isfinite(fhi) ? cubic_min(lo, flo, glo, hi, fhi, ghi) : 0.5 * (lo + hi);
    TESS_CHECK(trial(ls, at, &f, &g));
    if (!isfinite(f) || f > f0 + c1 * at * dg0 || f >= flo) {
      hi = at; fhi = f; ghi = g;
    } else {
      if (fabs(g) <= -c2 * dg0) { *ok = 1; *fa = f; goto cleanup; }
      if (g * (hi - lo) >= 0) { hi = lo; fhi = flo; ghi = glo; }
      lo = at; flo = f; glo = g;
    }
    if (fabs(hi - lo) < 1e-14 * (fabs(lo) + fabs(hi))) break;
  }
cleanup:
  return err;
}

static tess_err_t backtrack(ls_t *ls, double f0, double dg0, double a, double *fa, int *ok)
{
  tess_err_t err = TESS_OK;
  double f = 0, g = 0;
  *ok = 0;
  while (ls->evals < ls->l->o.max_evals) {
    TESS_CHECK(trial(ls, a, &f, &g));
    if (isfinite(f) && f <= f0 + ls->l->o.c1 * a * dg0) { *ok = 1; *fa = f; goto cleanup; }
    a *= 0.5;
  }
cleanup:
  return err;
}

tess_err_t tess_lbfgs_step(tess_lbfgs_t *l, tess_objective_fn fn, void *ctx, double *x,
                           double *f, double *g, int *nevals)
{
  tess_err_t err = TESS_OK;
  ls_t ls = { .l = l, .fn = fn, .ctx = ctx, .x = x };
  int ok = 0;
  double fa = 0;
  TESS_REQUIRE(l && fn && x && f && g, TESS_ERR_ARG, "NULL argument");
  const size_t n = l->n;
  direction(l, g);
  double dg0 = dot(g, l->d, n);
  if (!(dg0 < 0)) {                        /* not a descent direction: restart */
    l->count = 0;
    direction(l, g);
    dg0 = dot(g, l->d, n);
  }
  TESS_REQUIRE(dg0 < 0, TESS_ERR_NUMERIC, "L-BFGS: zero or non-finite gradient (g.d = %g)", dg0);
  double a = 1;
  if (l->count == 0) {
    double g1 = 0;
    for (size_t k = 0; k < n; k++) g1 += fabs(g[k]);
    a = l->o.step0 * (g1 > 1 ? 1 / g1 : 1);
  }
  if (l->o.line_search == TESS_LS_STRONG_WOLFE) TESS_CHECK(wolfe(&ls, *f, dg0, a, &fa, &ok));
  else TESS_CHECK(backtrack(&ls, *f, dg0, a, &fa, &ok));
  if (!ok) {
    /* take the best decrease seen, if any; else stop with the history cleared */
    if (ls.have_best && ls.fbest < *f) {
      memcpy(l->xt, l->xb, n * sizeof *l->xt);
      memcpy(l->gt, l->gb, n * sizeof *l->gt);
      fa = ls.fbest;
    } else {
      l->count = 0;
      TESS_REQUIRE(0, TESS_ERR_NUMERIC, "L-BFGS line search found no decrease in %d evaluations "
                   "(f = %.17g)", ls.evals, *f);
    }
  }
  /* new pair s = xt - x, y = gt - g (curvature condition, else skip) */
  {
    const int m = l->o.history;
    double *s = l->S + (size_t)l->head * n, *y = l->Y + (size_t)l->head * n;
    for (size_t k = 0; k < n; k++) { s[k] = l->xt[k] - x[k]; y[k] = l->gt[k] - g[k]; }
    double sy = dot(s, y, n);
    if (sy > 1e-12 * sqrt(dot(y, y, n) * dot(s, s, n)) && sy > 0) {
      l->rho[l->head] = 1 / sy;
      l->head = (l->head + 1) % m;
      if (l->count < m) l->count++;
    }
  }
  memcpy(x, l->xt, n * sizeof *x);
  memcpy(g, l->gt, n * sizeof *g);
  *f = fa;
  l->k++;
cleanup:
  if (nevals) *nevals = ls.evals;
  return err;
}

long tess_lbfgs_iters(const tess_lbfgs_t *l) { return l ? l->k : 0; }

size_t tess_lbfgs_state_size(const tess_lbfgs_t *l)
{
  return l ? 3 + (size_t)l->o.history * (1 + 2 * l->n) : 0;
}

tess_err_t tess_lbfgs_state_get(const tess_lbfgs_t *l, double *st)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(l && st, TESS_ERR_ARG, "NULL argument");
  size_t m = (size_t)l->o.history;
  st[0] = (double)l->k; st[1] = l->count; st[2] = l->head;
  memcpy(st + 3, l->rho, m * sizeof *st);
  memcpy(st + 3 + m, l->S, m * l->n * sizeof *st);
  memcpy(st + 3 + m + m * l->n, l->Y, m * l->n * sizeof *st);
cleanup:
  return err;
}

tess_err_t tess_lbfgs_state_set(tess_lbfgs_t *l, const double *st)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(l && st, TESS_ERR_ARG, "NULL argument");
  size_t m = (size_t)l->o.history;
  TESS_REQUIRE(st[1] >= 0 && st[1] <= (double)m && st[2] >= 0 && st[2] < (double)m, TESS_ERR_ARG,
               "L-BFGS state: count %g, head %g do not fit history %zu", st[1], st[2], m);
  l->k = (long)st[0]; l->count = (int)st[1]; l->head = (int)st[2];
  memcpy(l->rho, st + 3, m * sizeof *st);
  memcpy(l->S, st + 3 + m, m * l->n * sizeof *st);
  memcpy(l->Y, st + 3 + m + m * l->n, m * l->n * sizeof *st);
cleanup:
  return err;
}
