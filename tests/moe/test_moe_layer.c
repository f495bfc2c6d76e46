/* tests/moe/test_moe_layer.c: the MoE layer of tessera/ml_moe.h at every
 * mesh shape experts x dp of this rank count (1x1; 2x1, 1x2; 3x1, 1x3; 2x2,
 * 4x1, 1x4), 37 tokens (uneven over every dp size), 12 experts:
 * - output, aux losses, routing and all gradients (router, experts, input)
 *   against the dense long-double reference (moe_dense_ref.c) for top-1
 *   with drops, GShard top-2 with its random second choice, top-3 normalised,
 *   top-2 dropless, top-2 unnormalised, a tied router sending all 37 tokens
 *   to two experts (several row tiles): relative error <= 1e-12 (f64; the
 *   sums are a few dozen terms, measured ~1e-16), the same kept experts and
 *   drop count;
 * - bitwise: output, input gradient, parameter gradients and losses equal to
 *   a one-rank mesh's (MPI_COMM_SELF), f64 and f32;
 * - the loss gradient against central finite differences (Richardson, f64)
 *   along random directions in all parameters and the input: <= 1e-7;
 * - the aux losses against their closed forms on hand-built routings
 *   (one-hot tokens, a scaled identity router): <= 1e-14;
 * - capacity overflow: which choices drop (first choices before second
 *   choices, tokens in global order) and dropped tokens' output = x bitwise;
 * - a mesh without a dp axis (dp_axis NULL) bitwise the np x 1 mesh;
 * - bad arguments refused with their messages. */
#include <math.h>
#include <string.h>
#include <tessera/tessera.h>
#include <tessera/ml_moe.h>

#include "moe_dense_ref.h"
#include "tess_test.h"

#define OK(call) CHECK((call) == TESS_OK, "%s failed: %s", #call, tess_error_message())

enum { NT = 37 };
static int np, wrank;

typedef struct {
  double *y, *dx, *drouter, *dexperts;
  int32_t *kept;
  tess_ml_moe_stats_t st;
} res_t;

static void res_free(res_t *r)
{
  free(r->y); free(r->dx); free(r->drouter); free(r->dexperts); free(r->kept);
  memset(r, 0, sizeof *r);
}

static size_t kof(const tess_ml_moe_config_t *c)
{
  return c->policy == TESS_ML_MOE_TOP1 ? 1 : c->policy == TESS_ML_MOE_TOP2 ? 2 : c->k;
}
static size_t psize(const tess_ml_moe_config_t *c)
{
  return 2 * c->hidden * c->d_model + c->hidden + c->d_model;
}

/* Global parameters and data, by formula (every rank the same). */
typedef struct {
  double *router, *experts, *x, *dy;
  size_t T;
} data_t;

static void data_make(const tess_ml_moe_config_t *c, size_t T, double rscale, data_t *g)
{
  size_t d = c->d_model, E = c->n_experts, P = psize(c);
  g->T = T;
  g->router = malloc(E * d * sizeof *g->router);
  g->experts = malloc(E * P * sizeof *g->experts);
  g->x = malloc(T * d * sizeof *g->x);
  g->dy = malloc(T * d * sizeof *g->dy);
  for (size_t i = 0; i < E * d; i++) g->router[i] = rscale * (2 * tess_rng_uniform(7, 1, i) - 1);
  for (size_t i = 0; i < E * P; i++) g->experts[i] = 0.4 * (2 * tess_rng_uniform(7, 2, i) - 1);
  for (size_t i = 0; i < T * d; i++) g->x[i] = tess_rng_normal(7, 3, i);
  for (size_t i = 0; i < T * d; i++) g->dy[i] = tess_rng_normal(7, 4, i);
}
static void data_free(data_t *g) { free(g->router); free(g->experts); free(g->x); free(g->dy); }

static void put(tess_dtype_t t, void *dst, const double *src, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (t == TESS_F64) ((double *)dst)[i] = src[i];
    else ((float *)dst)[i] = (float)src[i];
  }
}
static double get(tess_dtype_t t, const void *p, size_t i)
{
  return t == TESS_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* Run the layer on `comm` as an ne x ndp mesh: one forward and backward;
 * results gathered to global arrays on every rank. */
static int run(MPI_Comm comm, int ne, int ndp, tess_dtype_t t, const tess_ml_moe_config_t *c,
               int64_t step, const data_t *g, res_t *out)
{
  const char *names[] = {"experts", "dp"};
  int sizes[] = {ne, ndp}, ok = 1;
  tess_mesh_t *mesh = NULL;
  tess_ml_moe_t *moe = NULL;
  size_t d = c->d_model, E = c->n_experts, P = psize(c), k = kof(c), T = g->T;
  size_t es = tess_dtype_size(t);
  memset(out, 0, sizeof *out);
  if (tess_mesh_create(comm, 2, names, sizes, &mesh) != TESS_OK ||
      tess_ml_moe_create(mesh, "experts", "dp", c, t, &moe) != TESS_OK) {
    CHECK(0, "create %dx%d: %s", ne, ndp, tess_error_message());
    tess_mesh_destroy(&mesh);
    return 0;
  }
  void *router, *experts, *drouter, *dexperts;
  size_t e0, nl;
  OK(tess_ml_moe_params(moe, &router, &drouter, &experts, &dexperts, &e0, &nl));
  put(t, router, g->router, E * d);
  put(t, experts, g->experts + e0 * P, nl * P);
  int ce = tess_mesh_coord(mesh, 0), cd = tess_mesh_coord(mesh, 1);
  int64_t b0, bn;
  tess_block_range((int64_t)T, ndp, cd, &b0, &bn);
  void *x = malloc((size_t)(bn + 1) * d * es), *y = malloc((size_t)(bn + 1) * d * es);
  void *dy = malloc((size_t)(bn + 1) * d * es), *dx = malloc((size_t)(bn + 1) * d * es);
  put(t, x, g->x + b0 * (int64_t)d, (size_t)bn * d);
  put(t, dy, g->dy + b0 * (int64_t)d, (size_t)bn * d);
  if (tess_ml_moe_forward(moe, step, (size_t)bn, x, y, &out->st) != TESS_OK ||
      tess_ml_moe_backward(moe, dy, dx) != TESS_OK) {
    CHECK(0, "run %dx%d: %s", ne, ndp, tess_error_message());
    ok = 0;
  }
  out->y = calloc(T * d, sizeof *out->y);
  out->dx = calloc(T * d, sizeof *out->dx);
  out->drouter = calloc(E * d, sizeof *out->drouter);
  out->dexperts = calloc(E * P, sizeof *out->dexperts);
  out->kept = calloc(T * k, sizeof *out->kept);
  if (ok) {
    if (ce == 0)
      for (size_t i = 0; i < (size_t)bn * d; i++) {
        out->y[b0 * (int64_t)d + (int64_t)i] = get(t, y, i);
        out->dx[b0 * (int64_t)d + (int64_t)i] = get(t, dx, i);
      }
    if (cd == 0)
      for (size_t i = 0; i < nl * P; i++) out->dexperts[e0 * P + i] = get(t, dexperts, i);
    for (size_t i = 0; i < E * d; i++) out->drouter[i] = get(t, drouter, i);
    size_t s0, sn, kk;
    const int32_t *kept;
    OK(tess_ml_moe_routing(moe, &s0, &sn, &kk, NULL, &kept, NULL));
    for (size_t i = 0; i < sn * k; i++) out->kept[s0 * k + i] = kept[i] + 2;
  }
  MPI_Allreduce(MPI_IN_PLACE, out->y, (int)(T * d), MPI_DOUBLE, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, out->dx, (int)(T * d), MPI_DOUBLE, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, out->dexperts, (int)(E * P), MPI_DOUBLE, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, out->kept, (int)(T * k), MPI_INT32_T, MPI_SUM, comm);
  for (size_t i = 0; i < T * k; i++) out->kept[i] -= 2;
  /* replicated things must agree: y and dx along experts, the router gradient everywhere */
  if (ok) {
    int diff = 0;
    for (size_t i = 0; i < (size_t)bn * d; i++)
      diff += get(t, y, i) != out->y[b0 * (int64_t)d + (int64_t)i] ||
              get(t, dx, i) != out->dx[b0 * (int64_t)d + (int64_t)i];
    double *r0 = malloc(E * d * sizeof *r0);
    memcpy(r0, out->drouter, E * d * sizeof *r0);
    MPI_Bcast(r0, (int)(E * d), MPI_DOUBLE, 0, comm);
    diff += memcmp(r0, out->drouter, E * d * sizeof *r0) != 0;
    free(r0);
    CHECK(diff == 0, "%dx%d: replicated results differ between ranks (%d)", ne, ndp, diff);
  }
  free(x); free(y); free(dy); free(dx);
  tess_ml_moe_destroy(&moe);
  tess_mesh_destroy(&mesh);
  return ok;
}

static double relerr(const double *a, const double *b, size_t n)
{
  double e = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    e = fmax(e, fabs(a[i] - b[i]));
    m = fmax(m, fabs(b[i]));
  }
  return m > 0 ? e / m : e;
}

static tess_ml_moe_config_t base_cfg(tess_ml_moe_policy_t pol, size_t k, int nrm, double cf)
{
  tess_ml_moe_config_t c = { .d_model = 8, .hidden = 16, .n_experts = 12, .policy = pol,
                             .k = k, .normalize = nrm, .capacity_factor = cf,
                             .aux_weight = 0.3, .z_weight = 0.05, .seed = 21 };
  return c;
}

/* ---- against the dense reference, and bitwise against one rank ---- */
static double worst_ref;

static void check_shape(int ne, int ndp, const tess_ml_moe_config_t *c, const char *name,
                        double rscale)
{
  data_t g;
  data_make(c, NT, rscale, &g);
  size_t d = c->d_model, E = c->n_experts, P = psize(c), k = kof(c);
  moe_ref_out_t ref;
  CHECK(moe_ref_run(c, 3, NT, g.x, g.router, g.experts, g.dy, &ref) == 0, "reference");
  res_t r, s;
  if (run(MPI_COMM_WORLD, ne, ndp, TESS_F64, c, 3, &g, &r)) {
    double ey = relerr(r.y, ref.y, NT * d), edx = relerr(r.dx, ref.dx, NT * d);
    double er = relerr(r.drouter, ref.drouter, E * d), ee = relerr(r.dexperts, ref.dexperts, E * P);
    double ea = fabs(r.st.aux_loss - ref.aux) / ref.aux, ez = fabs(r.st.z_loss - ref.z) / ref.z;
    double w = fmax(fmax(fmax(ey, edx), fmax(er, ee)), fmax(ea, ez));
    worst_ref = fmax(worst_ref, w);
    CHECK(w <= 1e-12, "%s %dx%d vs dense reference: y %.1e dx %.1e drouter %.1e dexperts %.1e "
          "aux %.1e z %.1e", name, ne, ndp, ey, edx, er, ee, ea, ez);
    CHECK(memcmp(r.kept, ref.kept, NT * k * sizeof *r.kept) == 0, "%s %dx%d: kept experts differ",
          name, ne, ndp);
    if (wrank == 0 && ne == np)
      printf("moe_layer %s: %lld of %lld assignments dropped (capacity %lld), aux %.6f z %.6f\n",
             name, (long long)r.st.dropped, (long long)r.st.assigned, (long long)r.st.capacity,
             r.st.aux_loss, r.st.z_loss);
    CHECK(r.st.dropped == ref.dropped, "%s %dx%d: %lld dropped, reference %ld", name, ne, ndp,
          (long long)r.st.dropped, ref.dropped);
  }
  /* bitwise against one rank, f64 and f32 */
  for (int ti = 0; ti < 2; ti++) {
    tess_dtype_t t = ti ? TESS_F32 : TESS_F64;
    res_t a, b;
    int oka = ti ? run(MPI_COMM_WORLD, ne, ndp, t, c, 3, &g, &a) : 1;
    if (!ti) a = r;
    int okb = run(MPI_COMM_SELF, 1, 1, t, c, 3, &g, &b);
    if (oka && okb) {
      int same = memcmp(a.y, b.y, NT * d * 8) == 0 && memcmp(a.dx, b.dx, NT * d * 8) == 0 &&
                 memcmp(a.drouter, b.drouter, E * d * 8) == 0 &&
                 memcmp(a.dexperts, b.dexperts, E * P * 8) == 0 &&
                 memcmp(&a.st.aux_loss, &b.st.aux_loss, 8) == 0 &&
                 memcmp(&a.st.z_loss, &b.st.z_loss, 8) == 0;
      CHECK(same, "%s %dx%d %s: not bitwise the one-rank result (y %.1e dx %.1e dR %.1e dE %.1e)",
            name, ne, ndp, tess_dtype_name(t), relerr(a.y, b.y, NT * d),
            relerr(a.dx, b.dx, NT * d), relerr(a.drouter, b.drouter, E * d),
            relerr(a.dexperts, b.dexperts, E * P));
    }
    if (ti) res_free(&a);
    res_free(&b);
  }
  s = r;
  res_free(&s);
  moe_ref_free(&ref);
  data_free(&g);
}

/* ---- no dp axis: a one-axis mesh {experts: np}, dp_axis NULL, against the
 * np x 1 mesh's results (bitwise) ---- */
static void check_no_dp(void)
{
  if (12 % np) return;
  tess_ml_moe_config_t c = base_cfg(TESS_ML_MOE_TOP2, 2, 1, 1.25);
  data_t g;
  data_make(&c, NT, 1.5, &g);
  size_t d = c.d_model, E = c.n_experts, P = psize(&c);
  res_t r;
  if (!run(MPI_COMM_WORLD, np, 1, TESS_F64, &c, 3, &g, &r)) return;
  const char *names[] = {"experts"};
  int sizes[] = {np};
  tess_mesh_t *mesh = NULL;
  tess_ml_moe_t *moe = NULL;
  double *y = malloc(NT * d * 8), *dx = malloc(NT * d * 8), *router, *experts, *drouter, *dexp;
  size_t e0, nl;
  OK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sizes, &mesh));
  OK(tess_ml_moe_create(mesh, "experts", NULL, &c, TESS_F64, &moe));
  if (moe) {
    OK(tess_ml_moe_params(moe, (void **)&router, (void **)&drouter, (void **)&experts,
                          (void **)&dexp, &e0, &nl));
    memcpy(router, g.router, E * d * 8);
    memcpy(experts, g.experts + e0 * P, nl * P * 8);
    OK(tess_ml_moe_forward(moe, 3, NT, g.x, y, NULL));
    OK(tess_ml_moe_backward(moe, g.dy, dx));
    CHECK(memcmp(y, r.y, NT * d * 8) == 0 && memcmp(dx, r.dx, NT * d * 8) == 0 &&
              memcmp(drouter, r.drouter, E * d * 8) == 0 &&
              memcmp(dexp, r.dexperts + e0 * P, nl * P * 8) == 0,
          "no dp axis: not bitwise the %dx1 mesh's results", np);
  }
  tess_ml_moe_destroy(&moe);
  tess_mesh_destroy(&mesh);
  free(y); free(dx);
  res_free(&r);
  data_free(&g);
}

/* ---- finite differences ---- */
static double loss_of(int ne, int ndp, const tess_ml_moe_config_t *c, const data_t *g)
{
  res_t r;
  double L = 0;
  if (run(MPI_COMM_WORLD, ne, ndp, TESS_F64, c, 5, g, &r)) {
    for (size_t i = 0; i < g->T * c->d_model; i++) L += g->dy[i] * r.y[i];
    L += c->aux_weight * r.st.aux_loss + c->z_weight * r.st.z_loss;
  }
  res_free(&r);
  return L;
}

static void check_fd(int ne, int ndp)
{
  tess_ml_moe_config_t c = base_cfg(TESS_ML_MOE_TOP2, 2, 1, 1.25);
  c.aux_weight = 2.0;
  c.z_weight = 0.5;
  data_t g, p;
  data_make(&c, NT, 1.5, &g);
  data_make(&c, NT, 1.5, &p);
  size_t d = c.d_model, E = c.n_experts, P = psize(&c);
  res_t r;
  double worst = 0;
  if (!run(MPI_COMM_WORLD, ne, ndp, TESS_F64, &c, 5, &g, &r)) return;
  for (int dir = 0; dir < 3; dir++) {
    double *vr = malloc(E * d * 8), *ve = malloc(E * P * 8), *vx = malloc(NT * d * 8);
    double an = 0;
    for (size_t i = 0; i < E * d; i++) an += r.drouter[i] * (vr[i] = tess_rng_normal(9, dir, i));
    for (size_t i = 0; i < E * P; i++)
      an += r.dexperts[i] * (ve[i] = tess_rng_normal(9, 10 + dir, i));
    for (size_t i = 0; i < NT * d; i++) an += r.dx[i] * (vx[i] = tess_rng_normal(9, 20 + dir, i));
    double D[2];
    for (int q = 0; q < 2; q++) {
      double h = 1e-4 / (1 << q), L[2];
      for (int sg = 0; sg < 2; sg++) {
        double s = sg ? -h : h;
        for (size_t i = 0; i < E * d; i++) p.router[i] = g.router[i] + s * vr[i];
        for (size_t i = 0; i < E * P; i++) p.experts[i] = g.experts[i] + s * ve[i];
        for (size_t i = 0; i < NT * d; i++) p.x[i] = g.x[i] + s * vx[i];
        L[sg] = loss_of(ne, ndp, &c, &p);
      }
      D[q] = (L[0] - L[1]) / (2 * h);
    }
    double rich = (4 * D[1] - D[0]) / 3, e = fabs(rich - an) / fmax(fabs(an), 1e-300);
    worst = fmax(worst, e);
    free(vr); free(ve); free(vx);
  }
  CHECK(worst <= 1e-7, "%dx%d: gradient vs finite differences %.2e", ne, ndp, worst);
  if (wrank == 0) printf("moe_layer %dx%d: gradient vs finite differences %.1e\n", ne, ndp, worst);
  res_free(&r);
  data_free(&g);
  data_free(&p);
}

/* ---- hand-built routings: closed forms and capacity ---- */
/* d = E = 4, router = s I, tokens given by their logits pattern */
static void hand_data(const tess_ml_moe_config_t *c, size_t T, double s, const double *xrows,
                      data_t *g)
{
  data_make(c, T, 1.0, g);
  size_t d = c->d_model, E = c->n_experts;
  for (size_t e = 0; e < E; e++)
    for (size_t j = 0; j < d; j++) g->router[e * d + j] = e == j ? s : 0.0;
  memcpy(g->x, xrows, T * d * sizeof *g->x);
}

static void check_closed_forms(int ne, int ndp)
{
  enum { T = 10 };
  double s = 1.7, x[T * 4] = {0};
  int cls[T];
  for (int t = 0; t < T; t++) {
    cls[t] = (t * t + 1) % 3;    /* expert 3 never first */
    x[t * 4 + cls[t]] = 1.0;
  }
  double es = exp(s), phi = es / (es + 3), plo = 1 / (es + 3), lse = log(es + 3);
  for (int pol = 0; pol < 2; pol++) {
    tess_ml_moe_config_t c = base_cfg(pol ? TESS_ML_MOE_TOPK : TESS_ML_MOE_TOP1, 2, 1, 0);
    c.d_model = 4;
    c.n_experts = 4;
    c.hidden = 4;
    if (4 % ne) return;
    data_t g;
    hand_data(&c, T, s, x, &g);
    res_t r;
    if (run(MPI_COMM_WORLD, ne, ndp, TESS_F64, &c, 0, &g, &r)) {
      double f[4] = {0}, Pm[4], aux = 0;
      for (int t = 0; t < T; t++) {
        int second = cls[t] == 0 ? 1 : 0;   /* ties among the low ones: lowest index */
        f[cls[t]] += pol ? 0.5 / T : 1.0 / T;
        if (pol) f[second] += 0.5 / T;
        if (pol) CHECK(r.kept[t * 2] == cls[t] && r.kept[t * 2 + 1] == second,
                       "token %d routed to %d, %d; want %d, %d", t, r.kept[t * 2],
                       r.kept[t * 2 + 1], cls[t], second);
        else CHECK(r.kept[t] == cls[t], "token %d routed to %d, want %d", t, r.kept[t], cls[t]);
      }
      for (int e = 0; e < 4; e++) {
        double n_e = 0;
        for (int t = 0; t < T; t++) n_e += cls[t] == e;
        Pm[e] = (n_e * phi + (T - n_e) * plo) / T;
        aux += 4 * f[e] * Pm[e];
      }
      double ea = fabs(r.st.aux_loss - aux) / aux, ez = fabs(r.st.z_loss - lse * lse) / (lse * lse);
      CHECK(ea <= 1e-14 && ez <= 1e-14, "%s %dx%d: aux %.17g vs %.17g, z %.17g vs %.17g",
            pol ? "top2" : "top1", ne, ndp, r.st.aux_loss, aux, r.st.z_loss, lse * lse);
    }
    res_free(&r);
    data_free(&g);
  }
}

static void check_capacity(int ne, int ndp)
{
  if (4 % ne) return;
  /* top-1, every token to expert 0, T = 12, cf 1: capacity 3, tokens 0..2 served */
  {
    enum { T = 12 };
    double x[T * 4] = {0};
    for (int t = 0; t < T; t++) x[t * 4] = 1.0 + 0.01 * t;
    tess_ml_moe_config_t c = base_cfg(TESS_ML_MOE_TOP1, 1, 0, 1.0);
    c.d_model = c.n_experts = c.hidden = 4;
    data_t g;
    hand_data(&c, T, 2.0, x, &g);
    res_t r;
    if (run(MPI_COMM_WORLD, ne, ndp, TESS_F64, &c, 0, &g, &r)) {
      CHECK(r.st.capacity == 3 && r.st.dropped == 9 && r.st.assigned == 12,
            "capacity %lld dropped %lld assigned %lld", (long long)r.st.capacity,
            (long long)r.st.dropped, (long long)r.st.assigned);
      for (int t = 0; t < T; t++) {
        CHECK(r.kept[t] == (t < 3 ? 0 : -1), "top-1 token %d kept %d", t, r.kept[t]);
        int same = memcmp(r.y + t * 4, x + t * 4, 4 * sizeof *x) == 0;
        CHECK(same == (t >= 3), "token %d: output %s the input", t, same ? "is" : "is not");
      }
    }
    res_free(&r);
    data_free(&g);
  }
  /* top-2 (k = 2 unnormalised, no random drop), T = 8: tokens 0-3 prefer 1 then 0,
   * tokens 4-7 prefer 0 then 1. cf 1: capacity 4, first choices fill both experts;
   * cf 1.5: capacity 6, second choices of tokens 0, 1 (expert 0) and 4, 5 (expert 1) */
  enum { T = 8 };
  double x[T * 4] = {0};
  for (int t = 0; t < T; t++) {
    x[t * 4 + (t < 4 ? 1 : 0)] = 2.0;
    x[t * 4 + (t < 4 ? 0 : 1)] = 1.0;
  }
  for (int q = 0; q < 2; q++) {
    tess_ml_moe_config_t c = base_cfg(TESS_ML_MOE_TOPK, 2, 0, q ? 1.5 : 1.0);
    c.d_model = c.n_experts = c.hidden = 4;
    data_t g;
    hand_data(&c, T, 1.0, x, &g);
    res_t r;
    if (run(MPI_COMM_WORLD, ne, ndp, TESS_F64, &c, 0, &g, &r)) {
      for (int t = 0; t < T; t++) {
        int first = t < 4 ? 1 : 0, second = 1 - first;
        int keep2 = q && (t == 0 || t == 1 || t == 4 || t == 5);
        CHECK(r.kept[t * 2] == first && r.kept[t * 2 + 1] == (keep2 ? second : -1),
              "cf %g token %d kept %d, %d", c.capacity_factor, t, r.kept[t * 2],
              r.kept[t * 2 + 1]);
      }
      CHECK(r.st.dropped == (q ? 4 : 8), "cf %g: %lld dropped", c.capacity_factor,
            (long long)r.st.dropped);
    }
    res_free(&r);
    data_free(&g);
  }
}

/* ---- refusals ---- */
static void expect_arg(tess_err_t e, const char *what, const char *label)
{
  CHECK(e == TESS_ERR_ARG && strstr(tess_error_message(), what), "%s: got %s, '%s'", label,
        tess_err_name(e), tess_error_message());
  tess_error_clear();
}

static void check_refusals(void)
{
  const char *names[] = {"experts", "dp"};
  int ne = np % 2 == 0 ? 2 : 1, sizes[] = {ne, np / ne};
  tess_mesh_t *mesh = NULL;
  tess_ml_moe_t *moe = NULL;
  OK(tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh));
  tess_ml_moe_config_t c = base_cfg(TESS_ML_MOE_TOPK, 13, 1, 1.0);
  expect_arg(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe), "needs 1 <= k <= E",
             "k > E");
  c.k = 0;
  expect_arg(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe), "top-0", "k = 0");
  c = base_cfg(TESS_ML_MOE_TOP1, 1, 0, -1);
  expect_arg(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe), "capacity factor",
             "cf < 0");
  c = base_cfg((tess_ml_moe_policy_t)9, 1, 0, 1);
  expect_arg(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe), "policy 9", "policy");
  c = base_cfg(TESS_ML_MOE_TOP2, 2, 0, 1);
  c.n_experts = 1;
  expect_arg(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe), "E = 1", "top2, E 1");
  c = base_cfg(TESS_ML_MOE_TOP1, 1, 0, 1);
  expect_arg(tess_ml_moe_create(mesh, "experts", "experts", &c, TESS_F64, &moe), "both",
             "same axis");
  CHECK(tess_ml_moe_create(mesh, "expert", "dp", &c, TESS_F64, &moe) == TESS_ERR_ARG,
        "unknown axis accepted");
  tess_error_clear();
  CHECK(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_I32, &moe) == TESS_ERR_UNSUPPORTED,
        "i32 accepted");
  tess_error_clear();
  if (ne == 2) {
    c.n_experts = 5;
    expect_arg(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe),
               "5 experts do not divide over the 2 ranks of axis 'experts'", "E % ne");
    c.n_experts = 12;
  }
  OK(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F64, &moe));
  double x[3 * 8] = {0}, y[3 * 8];
  expect_arg(tess_ml_moe_backward(moe, x, y), "no forward", "backward first");
  expect_arg(tess_ml_moe_forward(moe, 0, 3, NULL, y, NULL), "'x'", "NULL x");
  if (ne == 2) {
    /* a dp block that differs along the experts axis */
    int ce = tess_mesh_coord(mesh, 0);
    expect_arg(tess_ml_moe_forward(moe, 0, ce ? 3 : 2, x, y, NULL), "replicated along 'experts'",
               "n differs along experts");
  }
  tess_ml_moe_destroy(&moe);
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  tess_init(&argc, &argv);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
  /* the last case: a zero router ties every probability, so experts 0 and 1 take all
   * 37 tokens: two tiles of expert rows on one rank, one on others */
  struct { tess_ml_moe_config_t c; const char *name; double rscale; } cases[] = {
    { base_cfg(TESS_ML_MOE_TOP1, 1, 0, 1.0), "top1 cf1", 1.5 },
    { base_cfg(TESS_ML_MOE_TOP2, 2, 1, 1.25), "top2 cf1.25", 1.5 },
    { base_cfg(TESS_ML_MOE_TOPK, 3, 1, 2.0), "top3 cf2", 1.5 },
    { base_cfg(TESS_ML_MOE_TOP2, 2, 1, 0), "top2 dropless", 1.5 },
    { base_cfg(TESS_ML_MOE_TOPK, 2, 0, 1.0), "top2 unnormalised cf1", 1.5 },
    { base_cfg(TESS_ML_MOE_TOPK, 2, 1, 0), "top2 tied dropless", 0.0 },
  };
  int first = 1;
  for (int ne = np; ne >= 1; ne--) {
    if (np % ne || 12 % ne) continue;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      check_shape(ne, np / ne, &cases[i].c, cases[i].name, cases[i].rscale);
    check_closed_forms(ne, np / ne);
    check_capacity(ne, np / ne);
    if (first) check_fd(ne, np / ne);
    first = 0;
  }
  check_no_dp();
  check_refusals();
  double w = worst_ref;
  MPI_Allreduce(MPI_IN_PLACE, &w, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (wrank == 0)
    printf("moe_layer: worst relative error vs the dense reference %.1e (GEMM %s)\n", w,
           tess_gemm_name());
  int rc = tess_test_finish("moe_layer");
  tess_finalize();
  MPI_Finalize();
  return rc;
}
