/* tests/spectral/test_spectral_ops.c: spectral operators against independent
 * truth, on slab and pencil grids, natural and transposed spectra.
 *  - gradient, divergence, Laplacian of an analytic trigonometric field
 *    against its analytic derivatives; Poisson (inverse Laplacian) against
 *    the analytic zero-mean solution. Tolerance 1e-12 relative to the max of
 *    the exact field: these fields are exactly band-limited, so the only
 *    error is FFT rounding (~eps log N times the largest |k|^2 ~ 1e2).
 *  - thresholds (hard, soft, relative, keep_fraction) against a serial
 *    implementation on the gathered spectrum: qsort by (|c|^2 desc, global
 *    index asc) for keep_fraction, with many exact ties on purpose; the
 *    result must match bitwise.
 *  - low-pass, Gaussian, 2/3 dealiasing against direct per-mode formulas.
 *  - bad arguments give TESS_ERR_ARG with a message. */
#include <tessera/tessera.h>
#include <math.h>
#include <string.h>
#include "tess_test.h"

#define NX 12
#define NY 10
#define NZ 9
#define PI 3.14159265358979323846

static double x_of(int64_t i, int64_t n) { return 2 * PI * (double)i / (double)n; }

/* u = sin(x) cos(2y) + 0.5 cos(3z - y) + 0.25 sin(2x + z) */
static double u_exact(double x, double y, double z)
{
  return sin(x) * cos(2 * y) + 0.5 * cos(3 * z - y) + 0.25 * sin(2 * x + z);
}
static void grad_exact(double x, double y, double z, double g[3])
{
  g[0] = cos(x) * cos(2 * y) + 0.5 * cos(2 * x + z);
  g[1] = -2 * sin(x) * sin(2 * y) + 0.5 * sin(3 * z - y);
  g[2] = -1.5 * sin(3 * z - y) + 0.25 * cos(2 * x + z);
}
static double lap_exact(double x, double y, double z)
{
  return -5 * sin(x) * cos(2 * y) - 5 * cos(3 * z - y) - 1.25 * sin(2 * x + z);
}

static void fill_u(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  *(double *)v = u_exact(x_of(g[0], NX), x_of(g[1], NY), x_of(g[2], NZ));
}
static void fill_lap(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  *(double *)v = lap_exact(x_of(g[0], NX), x_of(g[1], NY), x_of(g[2], NZ));
}

typedef struct { int pencil; tess_fft_layout_t layout; } setup_t;

static tess_err_t make_mesh(int pencil, tess_mesh_t **mesh)
{
  int P, dims[2] = {0, 0};
  const char *names[2] = {"x", "y"};
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Dims_create(P, pencil ? 2 : 1, dims);
  return tess_mesh_create(MPI_COMM_WORLD, pencil ? 2 : 1, names, dims, mesh);
}

static double max_abs_diff(const tess_array_t *a, const double *ref_global, int64_t n, int root_only)
{
  (void)root_only;
  double *g = malloc(sizeof(double) * (size_t)n), m = 0;
  tess_array_gather(a, 0, g);
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(g[i] - ref_global[i]));
  free(g);
  MPI_Bcast(&m, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return m;
}

static void derivative_case(const setup_t *s)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL, *U = NULL, *G[3] = {NULL, NULL, NULL}, *g = NULL, *D = NULL, *L = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_shardspec_t sp;
  tess_spectral_grid_t grid;
  tess_fft_opts_t o = {0};
  int axes[2] = {0, 1};
  int64_t shape[3] = {NX, NY, NZ}, N = NX * NY * NZ;
  double *ref = malloc(sizeof(double) * (size_t)N);

  TESS_CHECK(make_mesh(s->pencil, &mesh));
  TESS_CHECK(tess_fft_spec(3, 3, s->pencil ? 2 : 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 3, shape, &sp, TESS_MEM_HOST, &u));
  TESS_CHECK(tess_array_create_like(u, NULL, &g));
  TESS_CHECK(tess_array_fill(u, fill_u, NULL));
  TESS_CHECK(tess_fft_create_output(u, 3, s->layout, &U));
  for (int d = 0; d < 3; d++) TESS_CHECK(tess_array_create_like(U, NULL, &G[d]));
  TESS_CHECK(tess_array_create_like(U, NULL, &D));
  TESS_CHECK(tess_array_create_like(U, NULL, &L));
  o.flags = TESS_FFT_NORM_BACKWARD;
  TESS_CHECK(tess_fft_plan_create_opts(u, U, TESS_FFT_FORWARD, &o, &pf));
  TESS_CHECK(tess_fft_plan_create_opts(U, g, TESS_FFT_BACKWARD, &o, &pb));
  TESS_CHECK(tess_spectral_grid_from_plan(pf, &grid));
  TESS_CHECK(tess_fft_execute(pf, u, U));

  /* gradient */
  TESS_CHECK(tess_spectral_gradient(U, &grid, G));
  for (int d = 0; d < 3; d++) {
    for (int64_t i = 0; i < N; i++) {
      double gg[3];
      grad_exact(x_of(i / (NY * NZ), NX), x_of(i / NZ % NY, NY), x_of(i % NZ, NZ), gg);
      ref[i] = gg[d];
    }
    tess_array_t *tmp = NULL;
    TESS_CHECK(tess_array_create_like(G[d], NULL, &tmp));
    TESS_CHECK(tess_array_copy(tmp, G[d]));                 /* c2r may not keep its input */
    TESS_CHECK(tess_fft_execute(pb, tmp, g));
    tess_array_destroy(&tmp);
    double e = max_abs_diff(g, ref, N, 1);
    CHECK(e < 1e-12 * 3, "gradient d=%d (pencil %d layout %d): max err %.3g", d, s->pencil, s->layout, e);
  }
  /* divergence of the gradient = Laplacian */
  TESS_CHECK(tess_spectral_divergence((const tess_array_t *const *)G, &grid, D));
  for (int64_t i = 0; i < N; i++)
    ref[i] = lap_exact(x_of(i / (NY * NZ), NX), x_of(i / NZ % NY, NY), x_of(i % NZ, NZ));
  TESS_CHECK(tess_fft_execute(pb, D, g));
  CHECK(max_abs_diff(g, ref, N, 1) < 1e-12 * 10, "divergence of gradient");
  /* Laplacian */
  TESS_CHECK(tess_spectral_laplacian(U, &grid, L));
  TESS_CHECK(tess_fft_execute(pb, L, g));
  {
    double e = max_abs_diff(g, ref, N, 1);
    CHECK(e < 1e-12 * 10, "Laplacian: max err %.3g", e);
  }
  /* Poisson: lap u = f with f analytic; u has zero mean */
  TESS_CHECK(tess_array_fill(u, fill_lap, NULL));
  TESS_CHECK(tess_fft_execute(pf, u, U));
  TESS_CHECK(tess_spectral_inverse_laplacian(U, &grid, U));
  TESS_CHECK(tess_fft_execute(pb, U, g));
  for (int64_t i = 0; i < N; i++)
    ref[i] = u_exact(x_of(i / (NY * NZ), NX), x_of(i / NZ % NY, NY), x_of(i % NZ, NZ));
  {
    double e = max_abs_diff(g, ref, N, 1);
    CHECK(e < 1e-12, "Poisson solve: max err %.3g", e);
  }
cleanup:
  if (err) { tess_error_print(stderr); CHECK(0, "derivative case failed"); }
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&u); tess_array_destroy(&U); tess_array_destroy(&g);
  tess_array_destroy(&D); tess_array_destroy(&L);
  for (int d = 0; d < 3; d++) tess_array_destroy(&G[d]);
  tess_mesh_destroy(&mesh);
  free(ref);
}

/* ---- thresholds and filters against serial formulas on gathered data ---- */

static void fill_quant(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  int64_t lin = (g[0] * NY + g[1]) * (NZ / 2 + 1) + g[2];
  /* few distinct magnitudes: many exact ties */
  double a = (double)(tess_rng_u64(5, 1, (uint64_t)lin) % 7);
  double ph = (double)(tess_rng_u64(5, 2, (uint64_t)lin) % 4);
  double *z = v;
  z[0] = ph == 0 ? a : ph == 1 ? -a : 0;
  z[1] = ph == 2 ? a : ph == 3 ? -a : 0;
}

typedef struct { double m2; int64_t i; } ent_t;
static int ent_cmp(const void *a, const void *b)
{
  const ent_t *x = a, *y = b;
  if (x->m2 != y->m2) return x->m2 > y->m2 ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

static void threshold_case(const setup_t *s, tess_thresh_rule_t rule, double value)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *X = NULL, *u = NULL;
  tess_shardspec_t sp;
  tess_spectral_grid_t grid = {3, {NX, NY, NZ}, 1, {0, 0, 0}};
  tess_thresh_stats_t st;
  int axes[2] = {0, 1}, r;
  int64_t shape[3] = {NX, NY, NZ}, M = NX * NY * (NZ / 2 + 1);
  double *g0 = malloc(sizeof(double) * 2 * (size_t)M), *g1 = malloc(sizeof(double) * 2 * (size_t)M);
  MPI_Comm_rank(MPI_COMM_WORLD, &r);

  TESS_CHECK(make_mesh(s->pencil, &mesh));
  TESS_CHECK(tess_fft_spec(3, 3, s->pencil ? 2 : 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 3, shape, &sp, TESS_MEM_HOST, &u));
  TESS_CHECK(tess_fft_create_output(u, 3, s->layout, &X));
  TESS_CHECK(tess_array_fill(X, fill_quant, NULL));
  TESS_CHECK(tess_array_gather(X, 0, g0));
  TESS_CHECK(tess_spectral_threshold(X, &grid, rule, value, &st));
  TESS_CHECK(tess_array_gather(X, 0, g1));
  if (r == 0) {
    /* serial truth */
    double mx = 0;
    int64_t kept = 0, keptw = 0, totw = 0;
    for (int64_t i = 0; i < M; i++) mx = fmax(mx, hypot(g0[2 * i], g0[2 * i + 1]));
    unsigned char *keep = calloc((size_t)M, 1);
    if (rule == TESS_THRESH_KEEP_FRACTION) {
      ent_t *e = malloc(sizeof(ent_t) * (size_t)M);
      for (int64_t i = 0; i < M; i++) {
        e[i].m2 = g0[2 * i] * g0[2 * i] + g0[2 * i + 1] * g0[2 * i + 1];
        e[i].i = i;
      }
      qsort(e, (size_t)M, sizeof(ent_t), ent_cmp);
      int64_t K = llround(value * (double)M);
      for (int64_t j = 0; j < K; j++) keep[e[j].i] = 1;
      free(e);
    } else {
      double t = rule == TESS_THRESH_RELATIVE ? value * mx : value;
      for (int64_t i = 0; i < M; i++) {
        double a = hypot(g0[2 * i], g0[2 * i + 1]);
        keep[i] = rule == TESS_THRESH_SOFT ? a > t : a >= t;
      }
    }
    int bad = 0;
    for (int64_t i = 0; i < M; i++) {
      int64_t kz = i % (NZ / 2 + 1);
      int w = (kz > 0 && 2 * kz != NZ) ? 2 : 1;
      totw += w;
      double er = keep[i] ? g0[2 * i] : 0, ei = keep[i] ? g0[2 * i + 1] : 0;
      if (keep[i] && rule == TESS_THRESH_SOFT) {
        double a = sqrt(g0[2 * i] * g0[2 * i] + g0[2 * i + 1] * g0[2 * i + 1]), f = 1 - value / a;
        er = g0[2 * i] * f;
        ei = g0[2 * i + 1] * f;
      }
      if (keep[i]) { kept++; keptw += w; }
      if (er != g1[2 * i] || ei != g1[2 * i + 1]) bad++;
    }
    CHECK(bad == 0, "threshold rule %d value %g (pencil %d layout %d): %d coefficients differ from "
          "the serial truth", (int)rule, value, s->pencil, s->layout, bad);
    CHECK(st.kept == kept && st.total == M && st.kept_modes == keptw && st.total_modes == totw,
          "threshold stats: kept %lld/%lld (truth %lld/%lld), modes %lld/%lld (truth %lld/%lld)",
          (long long)st.kept, (long long)st.total, (long long)kept, (long long)M,
          (long long)st.kept_modes, (long long)st.total_modes, (long long)keptw, (long long)totw);
    CHECK(st.max_abs == mx, "threshold max %.17g vs %.17g", st.max_abs, mx);
    free(keep);
  }
cleanup:
  if (err) { tess_error_print(stderr); CHECK(0, "threshold case failed"); }
  tess_array_destroy(&X);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  free(g0);
  free(g1);
}

static void filter_case(const setup_t *s)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *X = NULL, *u = NULL;
  tess_shardspec_t sp;
  tess_spectral_grid_t grid = {3, {NX, NY, NZ}, 1, {0, 0, 0}};
  int axes[2] = {0, 1}, r;
  int64_t shape[3] = {NX, NY, NZ}, mz = NZ / 2 + 1, M = NX * NY * mz;
  double *g0 = malloc(sizeof(double) * 2 * (size_t)M), *g1 = malloc(sizeof(double) * 2 * (size_t)M);
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  TESS_CHECK(make_mesh(s->pencil, &mesh));
  TESS_CHECK(tess_fft_spec(3, 3, s->pencil ? 2 : 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 3, shape, &sp, TESS_MEM_HOST, &u));
  TESS_CHECK(tess_fft_create_output(u, 3, s->layout, &X));
  for (int which = 0; which < 3; which++) {
    TESS_CHECK(tess_array_fill(X, fill_quant, NULL));
    TESS_CHECK(tess_array_gather(X, 0, g0));
    if (which == 0) TESS_CHECK(tess_spectral_lowpass(X, &grid, 3.5));
    if (which == 1) TESS_CHECK(tess_spectral_gaussian(X, &grid, 2.0));
    if (which == 2) TESS_CHECK(tess_spectral_dealias(X, &grid));
    TESS_CHECK(tess_array_gather(X, 0, g1));
    if (r != 0) continue;
    double maxerr = 0;
    for (int64_t i = 0; i < M; i++) {
      int64_t ix = i / (NY * mz), iy = i / mz % NY, iz = i % mz;
      int64_t mxi = ix <= NX / 2 ? ix : ix - NX, myi = iy <= NY / 2 ? iy : iy - NY, mzi = iz;
      double k2 = (double)(mxi * mxi + myi * myi + mzi * mzi), f;
      if (which == 0) f = k2 > 3.5 * 3.5 ? 0 : 1;
      else if (which == 1) f = exp(-k2 / 8.0);
      else f = (3 * llabs(mxi) > NX || 3 * llabs(myi) > NY || 3 * mzi > NZ) ? 0 : 1;
      maxerr = fmax(maxerr, fabs(g1[2 * i] - f * g0[2 * i]) + fabs(g1[2 * i + 1] - f * g0[2 * i + 1]));
    }
    CHECK(maxerr <= 1e-15 * 8, "filter %d (pencil %d layout %d): max err %.3g", which, s->pencil,
          s->layout, maxerr);
  }
cleanup:
  if (err) { tess_error_print(stderr); CHECK(0, "filter case failed"); }
  tess_array_destroy(&X);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  free(g0);
  free(g1);
}

static void bad_args(void)
{
  tess_thresh_rule_t rule;
  tess_err_t e = tess_thresh_rule_parse("median", &rule);
  CHECK(e == TESS_ERR_ARG && strstr(tess_error_message(), "keep_fraction") != NULL,
        "unknown rule message: %s", tess_error_message());
  tess_error_clear();
}

int main(int argc, char **argv)
{
  tess_init(&argc, &argv);
  setup_t setups[] = {{0, TESS_FFT_LAYOUT_NATURAL}, {1, TESS_FFT_LAYOUT_TRANSPOSED},
                      {1, TESS_FFT_LAYOUT_NATURAL}};
  for (int i = 0; i < 3; i++) {
    derivative_case(&setups[i]);
    threshold_case(&setups[i], TESS_THRESH_HARD, 3.0);
    threshold_case(&setups[i], TESS_THRESH_SOFT, 2.5);
    threshold_case(&setups[i], TESS_THRESH_RELATIVE, 0.5);
    threshold_case(&setups[i], TESS_THRESH_KEEP_FRACTION, 0.3);
    threshold_case(&setups[i], TESS_THRESH_KEEP_FRACTION, 0.0);
    threshold_case(&setups[i], TESS_THRESH_KEEP_FRACTION, 1.0);
    threshold_case(&setups[i], TESS_THRESH_KEEP_FRACTION, 0.777);
    filter_case(&setups[i]);
  }
  bad_args();
  int rc = tess_test_finish("spectral_ops");
  tess_finalize();
  return rc;
}
