/* apps/study_spectral_denoise.c: `study = "spectral_denoise"`.
 * The seed example of the toolkit: a clean periodic field (a few Fourier
 * modes, Taylor-Green, or a random field with a power-law spectrum), plus
 * Gaussian noise from a counter-based RNG keyed by global index, is
 * denoised by r2c FFT -> a spectral rule -> c2r FFT. Reports RMS error and
 * PSNR (noisy vs clean, denoised vs clean), the fraction of modes kept and
 * timings; writes clean/noisy/denoised to HDF5 (+ XDMF) and a PNG of a slice.
 * Everything is deterministic: the same deck gives bitwise the same fields,
 * file contents and picture at any rank count. */
#include <tessera/tessera.h>
#include "study.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* TEMPORARY bridge until the checkpoint array writer lands on main: a weak
 * reference, so the study links without it and says it skipped the file. */
extern tess_err_t tess_checkpoint_write_array(tess_checkpoint_t *ck, const char *name,
                                              const tess_array_t *a) __attribute__((weak));

#define MAXMODES 64
#define PI 3.14159265358979323846

static const tess_deck_key_t keys[] = {
  {.path = "grid.n", .type = TESS_KEY_INT_ARRAY, .default_toml = "[256, 256]", .min = 1, .max = 1 << 20,
   .help = "grid points per dimension (1 to 3 dimensions), periodic domain [0, 2 pi)"},
  {.path = "grid.decomposition", .type = TESS_KEY_STRING, .default_toml = "\"auto\"",
   .choices = "auto|slab|pencil",
   .help = "process grid: slab (1 axis), pencil (2 axes, 3-D only), auto (pencil when ranks > n0 in 3-D)"},
  {.path = "field.kind", .type = TESS_KEY_STRING, .default_toml = "\"modes\"",
   .choices = "modes|taylor_green|random",
   .help = "clean field: sum of cosine modes, Taylor-Green (sin x cos y [cos z]), or random with a power-law spectrum"},
  {.path = "field.modes", .type = TESS_KEY_INT_ARRAY, .default_toml = "[1, 2, 3, 1, 5, 4]",
   .min = -1e6, .max = 1e6, .help = "modes: integer wave vectors, ndim entries per mode, flattened"},
  {.path = "field.amplitudes", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[1.0, 0.5, 0.25]",
   .min = -1e30, .max = 1e30, .help = "modes: one amplitude per mode: f = sum a_j cos(k_j . x)"},
  {.path = "field.slope", .type = TESS_KEY_FLOAT, .default_toml = "3.0", .min = 0, .max = 20,
   .help = "random: power spectrum E(k) ~ |k|^-slope"},
  {.path = "field.kmax", .type = TESS_KEY_FLOAT, .default_toml = "8.0", .min = 0, .max = 1e6,
   .help = "random: no power above this |k|"},
  {.path = "noise.sigma", .type = TESS_KEY_FLOAT, .default_toml = "0.5", .min = 0, .max = 1e30,
   .help = "standard deviation of the additive Gaussian noise (the seed is run.seed)"},
  {.path = "denoise.rule", .type = TESS_KEY_STRING, .default_toml = "\"relative\"",
   .choices = "hard|soft|relative|keep_fraction|lowpass|gaussian",
   .help = "spectral rule: thresholds on |c| (hard/soft: absolute, relative: x max|c|, keep_fraction), "
           "lowpass (|k| <= value), gaussian (exp(-|k|^2/2 value^2))"},
  {.path = "denoise.value", .type = TESS_KEY_FLOAT, .default_toml = "0.1", .min = 0, .max = 1e30,
   .help = "the rule's parameter (threshold, fraction in [0,1], or wavenumber)"},
  {.path = "fft.planner", .type = TESS_KEY_STRING, .default_toml = "\"estimate\"",
   .choices = "estimate|measure|patient",
   .help = "FFTW planner rigor; bitwise identity across runs needs estimate or a wisdom file"},
  {.path = "fft.wisdom_file", .type = TESS_KEY_STRING, .default_toml = "\"\"",
   .help = "FFTW wisdom loaded before and saved after planning (\"\" = none)"},
  {.path = "fft.backend", .type = TESS_KEY_STRING, .default_toml = "\"auto\"", .choices = "auto|fftw",
   .help = "FFT backend"},
  {.path = "output.hdf5", .type = TESS_KEY_BOOL, .default_toml = "true",
   .help = "write run.output_dir/denoise.h5 (+ .xmf) with clean, noisy and denoised fields"},
  {.path = "output.png", .type = TESS_KEY_BOOL, .default_toml = "true",
   .help = "write run.output_dir/denoise.png: a slice, clean | noisy | denoised"},
  {.path = "output.slice", .type = TESS_KEY_INT, .default_toml = "-1", .min = -1, .max = 1 << 20,
   .help = "3-D: index along dim 0 of the pictured slice (-1 = middle)"},
};

static const tess_deck_schema_t schema = {
  .study = "spectral_denoise",
  .summary = "Denoise a periodic field by FFT, a spectral rule and inverse FFT; PSNR, HDF5, PNG.",
  .keys = keys,
  .nkeys = sizeof keys / sizeof keys[0],
  .stateless = 1,   /* one pass, seconds long: nothing to resume */
};

typedef struct {
  int nd;
  int64_t n[3];
  int64_t modes[MAXMODES][3];
  double amp[MAXMODES];
  int nmodes;
  int kind;                    /* 0 modes, 1 taylor_green, 2 random */
  double slope, kmax, sigma;
  uint64_t seed;
} field_t;

static tess_err_t check(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  int64_t n[4], m[3 * MAXMODES + 1];
  double a[MAXMODES + 1], v;
  size_t nd = 0, nm = 0, na = 0;
  const char *rule = NULL, *kind = NULL;
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n, 4, &nd));
  if (nd < 1 || nd > 3) TESS_CHECK(tess_deck_key_error(deck, "grid.n", "needs 1 to 3 sizes, got %zu", nd));
  for (size_t i = 0; i < nd; i++)
    if (n[i] < 1) TESS_CHECK(tess_deck_key_error(deck, "grid.n", "size %" PRId64 " in dim %zu: expected >= 1", n[i], i));
  TESS_CHECK(tess_deck_get_string(deck, "field.kind", &kind));
  if (strcmp(kind, "modes") == 0) {
    TESS_CHECK(tess_deck_get_int_array(deck, "field.modes", m, 3 * MAXMODES + 1, &nm));
    TESS_CHECK(tess_deck_get_double_array(deck, "field.amplitudes", a, MAXMODES + 1, &na));
    if (nm == 0 || nm % nd != 0)
      TESS_CHECK(tess_deck_key_error(deck, "field.modes", "has %zu entries: expected %zu per mode "
                                     "(one per grid dimension)", nm, nd));
    if (na != nm / nd)
      TESS_CHECK(tess_deck_key_error(deck, "field.amplitudes", "has %zu entries but field.modes "
                                     "lists %zu modes", na, nm / nd));
  }
  if (strcmp(kind, "taylor_green") == 0 && nd < 2)
    TESS_CHECK(tess_deck_key_error(deck, "field.kind", "taylor_green needs a 2-D or 3-D grid"));
  TESS_CHECK(tess_deck_get_string(deck, "denoise.rule", &rule));
  TESS_CHECK(tess_deck_get_double(deck, "denoise.value", &v));
  if ((strcmp(rule, "keep_fraction") == 0 || strcmp(rule, "relative") == 0) && v > 1)
    TESS_CHECK(tess_deck_key_error(deck, "denoise.value", "%g: rule '%s' takes a fraction in [0, 1]", v, rule));
  if (strcmp(rule, "gaussian") == 0 && v <= 0)
    TESS_CHECK(tess_deck_key_error(deck, "denoise.value", "the Gaussian width must be > 0"));
cleanup:
  return err;
}

/* ---- fields ----------------------------------------------------------------- */

static double coord(int64_t i, int64_t n) { return 2 * PI * (double)i / (double)n; }

static void fill_clean(const int64_t g[], int nd, void *v, void *ctx)
{
  const field_t *f = ctx;
  double x[3] = {0, 0, 0}, s = 0;
  for (int d = 0; d < nd; d++) x[d] = coord(g[d], f->n[d]);
  if (f->kind == 0) {
    for (int j = 0; j < f->nmodes; j++) {
      double ph = 0;
      for (int d = 0; d < nd; d++) ph += (double)f->modes[j][d] * x[d];
      s += f->amp[j] * cos(ph);
    }
  } else {
    s = sin(x[0]) * cos(x[1]) * (nd == 3 ? cos(x[2]) : 1.0);
  }
  *(double *)v = s;
}

/* Random field: half-spectrum coefficients with |c| ~ |k|^(-slope/2) times a
 * complex normal keyed by the coefficient's global index. */
typedef struct { const field_t *f; tess_spectral_grid_t *g; } rand_ctx_t;
static void visit_random(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  const rand_ctx_t *c = ctx;
  double k2 = 0, *z = e;
  (void)m; (void)w;
  for (int d = 0; d < c->g->rank; d++) k2 += k[d] * k[d];
  double kk = sqrt(k2);
  if (kk == 0 || kk > c->f->kmax) { z[0] = z[1] = 0; return; }
  double a = pow(kk, -0.5 * c->f->slope - 0.5 * (c->g->rank - 1));   /* shell-averaged E(k) ~ k^-slope */
  z[0] = a * tess_rng_normal(c->f->seed, 7, 2 * (uint64_t)gi);
  z[1] = a * tess_rng_normal(c->f->seed, 7, 2 * (uint64_t)gi + 1);
}

typedef struct { const field_t *f; double *base; } noise_ctx_t;

/* ---- helpers ------------------------------------------------------------------ */

static tess_err_t sum_sq_diff(const tess_array_t *a, const tess_array_t *b, MPI_Comm comm, double *out)
{
  tess_err_t err = TESS_OK;
  int64_t n = tess_array_local_count(a);
  const double *x = tess_array_local_data_const(a), *y = tess_array_local_data_const(b);
  double *d = malloc(sizeof(double) * (size_t)(n + 1));
  TESS_REQUIRE(d != NULL, TESS_ERR_MEM, "difference buffer");
  for (int64_t i = 0; i < n; i++) d[i] = x[i] - y[i];
  TESS_CHECK(tess_nrm2sq_f64(d, (size_t)n, comm, out));
cleanup:
  free(d);
  return err;
}

/* Order-free fingerprint of a field: the sum mod 2^64 of a mix of each
 * value's bits with its global index. Equal on any rank count iff (with
 * overwhelming probability) the fields are bitwise equal. */
static uint64_t mix64(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static tess_err_t field_hash(const tess_array_t *a, MPI_Comm comm, uint64_t *h)
{
  tess_err_t err = TESS_OK;
  const double *x = tess_array_local_data_const(a);
  int64_t gidx[3];
  uint64_t s = 0;
  for (int64_t i = 0; i < tess_array_local_count(a); i++) {
    uint64_t b;
    memcpy(&b, &x[i], sizeof b);
    tess_array_global_index(a, i, gidx);
    s += mix64(b ^ mix64((uint64_t)tess_array_global_linear(a, gidx)));
  }
  TESS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_UINT64_T, MPI_SUM, comm));
  *h = s;
cleanup:
  return err;
}

/* Gather a 2-D slice (3-D: index `s` along dim 0) of a field onto rank 0. */
static tess_err_t gather_slice(const tess_array_t *a, int nd, const int64_t n[], int64_t s, double *out)
{
  tess_err_t err = TESS_OK;
  int rank = tess_mesh_rank(tess_array_mesh(a));
  int64_t tot = 1;
  double *all = NULL;
  for (int d = 0; d < nd; d++) tot *= n[d];
  if (rank == 0) {
    all = malloc(sizeof(double) * (size_t)tot);
    TESS_REQUIRE(all != NULL, TESS_ERR_MEM, "picture gather (%" PRId64 " values)", tot);
  }
  TESS_CHECK(tess_array_gather(a, 0, all));
  if (rank == 0) {
    int64_t plane = nd == 3 ? n[1] * n[2] : tot;
    memcpy(out, all + (nd == 3 ? s * plane : 0), sizeof(double) * (size_t)plane);
  }
cleanup:
  free(all);
  return err;
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  field_t f;
  int rank = 0, size = 1, pencil = 0, want_h5 = 1, want_png = 1;
  int64_t n4[4], mflat[3 * MAXMODES], slice = -1, seed = 1, N = 1;
  size_t nd = 0, nm = 0, na = 0;
  const char *kind, *rule_s, *decomp, *planner, *wisdom, *backend, *outdir;
  double value, t_plan = 0, t_fwd = 0, t_rule = 0, t_bwd = 0, t_total = tess_wtime();
  tess_mesh_t *mesh = NULL;
  tess_array_t *clean = NULL, *noisy = NULL, *den = NULL, *spec = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_fft_opts_t fo = {0};
  tess_spectral_grid_t grid;
  tess_thresh_stats_t st;
  tess_checkpoint_t *ck = NULL;
  double *pics[3] = {NULL, NULL, NULL};
  char path[4096];
  MPI_Comm owners = MPI_COMM_NULL;

  memset(&f, 0, sizeof f);
  memset(&st, 0, sizeof st);
  TESS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n4, 4, &nd));
  f.nd = (int)nd;
  for (size_t d = 0; d < nd; d++) { f.n[d] = n4[d]; N *= n4[d]; }
  TESS_CHECK(tess_deck_get_string(deck, "grid.decomposition", &decomp));
  TESS_CHECK(tess_deck_get_string(deck, "field.kind", &kind));
  f.kind = strcmp(kind, "modes") == 0 ? 0 : strcmp(kind, "taylor_green") == 0 ? 1 : 2;
  TESS_CHECK(tess_deck_get_int_array(deck, "field.modes", mflat, 3 * MAXMODES, &nm));
  TESS_CHECK(tess_deck_get_double_array(deck, "field.amplitudes", f.amp, MAXMODES, &na));
  f.nmodes = (int)(nm / nd);
  for (int j = 0; j < f.nmodes; j++)
    for (size_t d = 0; d < nd; d++) f.modes[j][d] = mflat[(size_t)j * nd + d];
  TESS_CHECK(tess_deck_get_double(deck, "field.slope", &f.slope));
  TESS_CHECK(tess_deck_get_double(deck, "field.kmax", &f.kmax));
  TESS_CHECK(tess_deck_get_double(deck, "noise.sigma", &f.sigma));
  TESS_CHECK(tess_deck_get_int(deck, "run.seed", &seed));
  f.seed = (uint64_t)seed;
  TESS_CHECK(tess_deck_get_string(deck, "denoise.rule", &rule_s));
  TESS_CHECK(tess_deck_get_double(deck, "denoise.value", &value));
  TESS_CHECK(tess_deck_get_string(deck, "fft.planner", &planner));
  TESS_CHECK(tess_deck_get_string(deck, "fft.wisdom_file", &wisdom));
  TESS_CHECK(tess_deck_get_string(deck, "fft.backend", &backend));
  TESS_CHECK(tess_deck_get_string(deck, "run.output_dir", &outdir));
  TESS_CHECK(tess_deck_get_bool(deck, "output.hdf5", &want_h5));
  TESS_CHECK(tess_deck_get_bool(deck, "output.png", &want_png));
  TESS_CHECK(tess_deck_get_int(deck, "output.slice", &slice));
  if (nd == 3 && (slice < 0 || slice >= f.n[0])) slice = f.n[0] / 2;
  if (nd == 3)
    pencil = strcmp(decomp, "pencil") == 0 || (strcmp(decomp, "auto") == 0 && size > f.n[0]);
  else if (strcmp(decomp, "pencil") == 0)
    TESS_CHECK(tess_deck_key_error(deck, "grid.decomposition", "pencil needs a 3-D grid (grid.n has %zu sizes)", nd));

  if (opts->dry_run) {
    if (rank == 0)
      printf("spectral_denoise: %zu-D grid, %s field, sigma %g, rule %s %g, %s decomposition on %d ranks\n",
             nd, kind, f.sigma, rule_s, value, nd == 1 ? "replicated" : pencil ? "pencil" : "slab", size);
    goto cleanup;
  }

  /* mesh and arrays: natural-form real fields, transposed-form spectrum */
  {
    const char *names[2] = {"x", "y"};
    int dims[2] = {0, 0}, axes[2] = {0, 1}, ng = nd == 1 ? 0 : pencil ? 2 : 1;
    tess_shardspec_t sp;
    if (ng == 0) { names[0] = "r"; dims[0] = size; }
    else MPI_Dims_create(size, ng, dims);
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, ng ? ng : 1, names, dims, &mesh));
    TESS_CHECK(tess_fft_spec((int)nd, (int)nd, ng, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
    TESS_CHECK(tess_array_create(mesh, TESS_F64, (int)nd, f.n, &sp, TESS_MEM_HOST, &clean));
    TESS_CHECK(tess_array_create_like(clean, NULL, &noisy));
    TESS_CHECK(tess_array_create_like(clean, NULL, &den));
    TESS_CHECK(tess_fft_create_output(clean, (int)nd, TESS_FFT_LAYOUT_TRANSPOSED, &spec));
    /* sums over one copy of the fields (all mesh axes are used here) */
    owners = tess_mesh_comm(mesh);
  }
  fo.rank = (int)nd;
  fo.flags = TESS_FFT_NORM_BACKWARD |
             (strcmp(planner, "measure") == 0 ? TESS_FFT_MEASURE
              : strcmp(planner, "patient") == 0 ? TESS_FFT_PATIENT : TESS_FFT_ESTIMATE);
  fo.wisdom_file = *wisdom ? wisdom : NULL;
  fo.backend = backend;
  t_plan = tess_wtime();
  TESS_CHECK(tess_fft_plan_create_opts(clean, spec, TESS_FFT_FORWARD, &fo, &pf));
  TESS_CHECK(tess_fft_plan_create_opts(spec, den, TESS_FFT_BACKWARD, &fo, &pb));
  t_plan = tess_wtime() - t_plan;
  TESS_CHECK(tess_spectral_grid_from_plan(pf, &grid));

  /* clean field */
  if (f.kind == 2) {
    rand_ctx_t rc = {&f, &grid};
    double ss = 0;
    TESS_CHECK(tess_spectral_foreach(spec, &grid, visit_random, &rc));
    TESS_CHECK(tess_fft_execute(pb, spec, clean));
    TESS_CHECK(tess_nrm2sq_f64(tess_array_local_data_const(clean), (size_t)tess_array_local_count(clean),
                               owners, &ss));
    if (ss > 0) {   /* unit RMS */
      double sc = 1.0 / sqrt(ss / (double)N), *x = tess_array_local_data(clean);
      for (int64_t i = 0; i < tess_array_local_count(clean); i++) x[i] *= sc;
    }
  } else {
    TESS_CHECK(tess_array_fill(clean, fill_clean, &f));
  }
  /* noise keyed by global linear index */
  {
    const double *c = tess_array_local_data_const(clean);
    double *y = tess_array_local_data(noisy);
    int64_t gidx[3];
    for (int64_t i = 0; i < tess_array_local_count(noisy); i++) {
      tess_array_global_index(noisy, i, gidx);
      uint64_t gl = (uint64_t)tess_array_global_linear(noisy, gidx);
      y[i] = c[i] + f.sigma * tess_rng_normal(f.seed, 1, gl);
    }
  }
  /* denoise */
  TESS_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  t_fwd = tess_wtime();
  TESS_CHECK(tess_fft_execute(pf, noisy, spec));
  t_fwd = tess_wtime() - t_fwd;
  t_rule = tess_wtime();
  if (strcmp(rule_s, "lowpass") == 0 || strcmp(rule_s, "gaussian") == 0) {
    if (rule_s[0] == 'l') TESS_CHECK(tess_spectral_lowpass(spec, &grid, value));
    else TESS_CHECK(tess_spectral_gaussian(spec, &grid, value));
    TESS_CHECK(tess_spectral_count_nonzero(spec, &grid, &st));
  } else {
    tess_thresh_rule_t rule;
    TESS_CHECK(tess_thresh_rule_parse(rule_s, &rule));
    TESS_CHECK(tess_spectral_threshold(spec, &grid, rule, value, &st));
  }
  t_rule = tess_wtime() - t_rule;
  t_bwd = tess_wtime();
  TESS_CHECK(tess_fft_execute(pb, spec, den));
  t_bwd = tess_wtime() - t_bwd;

  /* metrics: exact sums, exact max/min */
  {
    double e_noisy = 0, e_den = 0, mm[2], lo, hi;
    const double *c = tess_array_local_data_const(clean);
    mm[0] = -INFINITY;
    mm[1] = -INFINITY;
    for (int64_t i = 0; i < tess_array_local_count(clean); i++) {
      if (c[i] > mm[0]) mm[0] = c[i];
      if (-c[i] > mm[1]) mm[1] = -c[i];
    }
    TESS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    hi = mm[0];
    lo = -mm[1];
    TESS_CHECK(sum_sq_diff(noisy, clean, owners, &e_noisy));
    TESS_CHECK(sum_sq_diff(den, clean, owners, &e_den));
    double rms_n = sqrt(e_noisy / (double)N), rms_d = sqrt(e_den / (double)N), peak = hi - lo;
    double psnr_n = 20 * log10(peak / rms_n), psnr_d = 20 * log10(peak / rms_d);
    uint64_t hc = 0, hn = 0, hd = 0;
    TESS_CHECK(field_hash(clean, owners, &hc));
    TESS_CHECK(field_hash(noisy, owners, &hn));
    TESS_CHECK(field_hash(den, owners, &hd));
    t_total = tess_wtime() - t_total;
    if (rank == 0) {
      tess_fft_info_t info;
      tess_fft_plan_info(pf, &info);
      printf("spectral_denoise: %zu-D grid %" PRId64, nd, f.n[0]);
      for (size_t d = 1; d < nd; d++) printf("x%" PRId64, f.n[d]);
      printf(", %s field, noise sigma %g (seed %" PRId64 "), rule %s %g\n", kind, f.sigma, seed, rule_s, value);
      printf("  ranks %d, %s decomposition, %d transposes per FFT, backend %s, planner %s\n", size,
             info.grid_axes == 2 ? "pencil" : info.grid_axes == 1 ? "slab" : "replicated",
             info.ntransposes, info.backend, planner);
      printf("  noisy    vs clean: RMS error %.6e  PSNR %8.3f dB\n", rms_n, psnr_n);
      printf("  denoised vs clean: RMS error %.6e  PSNR %8.3f dB  (improvement %.3f dB)\n", rms_d,
             psnr_d, psnr_d - psnr_n);
      printf("  modes kept: %" PRId64 " of %" PRId64 " coefficients, %" PRId64 " of %" PRId64
             " real modes (fraction %.6e)\n", st.kept, st.total, st.kept_modes, st.total_modes,
             (double)st.kept_modes / (double)st.total_modes);
      printf("  timings: plan %.4f s, forward FFT %.4f s, rule %.4f s, backward FFT %.4f s, total %.4f s\n",
             t_plan, t_fwd, t_rule, t_bwd, t_total);
      printf("  peak (max-min of clean) %.17g\n", peak);
      printf("  field hashes: clean %016" PRIx64 " noisy %016" PRIx64 " denoised %016" PRIx64 "\n",
             hc, hn, hd);
    }
    if (want_h5 && !tess_checkpoint_write_array) {
      if (rank == 0) printf("  HDF5 output skipped: this build's checkpoint code cannot write arrays yet\n");
    } else if (want_h5) {
      TESS_CHECK(tess_mkdir_all(MPI_COMM_WORLD, outdir, "run.output_dir"));
      snprintf(path, sizeof path, "%s/denoise.h5", outdir);
      TESS_CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, path, &ck));
      {
        tess_checkpoint_meta_t meta = {0};
        meta.study = "spectral_denoise";
        meta.deck_text = tess_deck_text(deck);
        meta.rng_seed = (uint64_t)seed;
        TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
      }
      TESS_CHECK(tess_checkpoint_write_array(ck, "fields/clean", clean));
      TESS_CHECK(tess_checkpoint_write_array(ck, "fields/noisy", noisy));
      TESS_CHECK(tess_checkpoint_write_array(ck, "fields/denoised", den));
      TESS_CHECK(tess_checkpoint_set_attr_double(ck, "psnr_noisy_db", psnr_n));
      TESS_CHECK(tess_checkpoint_set_attr_double(ck, "psnr_denoised_db", psnr_d));
      TESS_CHECK(tess_checkpoint_set_attr_double(ck, "rms_noisy", rms_n));
      TESS_CHECK(tess_checkpoint_set_attr_double(ck, "rms_denoised", rms_d));
      TESS_CHECK(tess_checkpoint_set_attr_int(ck, "modes_kept", st.kept_modes));
      TESS_CHECK(tess_checkpoint_set_attr_int(ck, "modes_total", st.total_modes));
      TESS_CHECK(tess_checkpoint_commit(&ck));
      if (rank == 0) printf("  wrote %s (+ XDMF)\n", path);
    }
    if (want_png && nd >= 2) {
      int64_t w = f.n[nd - 1], h = f.n[nd - 2];
      TESS_CHECK(tess_mkdir_all(MPI_COMM_WORLD, outdir, "run.output_dir"));
      for (int i = 0; i < 3; i++) {
        pics[i] = malloc(sizeof(double) * (size_t)(w * h));
        TESS_REQUIRE(pics[i] != NULL, TESS_ERR_MEM, "picture");
      }
      TESS_CHECK(gather_slice(clean, (int)nd, f.n, slice, pics[0]));
      TESS_CHECK(gather_slice(noisy, (int)nd, f.n, slice, pics[1]));
      TESS_CHECK(gather_slice(den, (int)nd, f.n, slice, pics[2]));
      if (rank == 0) {
        snprintf(path, sizeof path, "%s/denoise.png", outdir);
        TESS_CHECK(tess_image_panels_png(path, 3, (const double *const *)pics, (int)w, (int)h, lo, hi));
        printf("  wrote %s (clean | noisy | denoised%s)\n", path, nd == 3 ? ", slice at dim-0 middle" : "");
      }
    }
  }
cleanup:
  tess_checkpoint_close(&ck);
  for (int i = 0; i < 3; i++) free(pics[i]);
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&clean);
  tess_array_destroy(&noisy);
  tess_array_destroy(&den);
  tess_array_destroy(&spec);
  tess_mesh_destroy(&mesh);
  return err;
}

const tess_study_t tess_study_spectral_denoise = {"spectral_denoise", &schema, run, check};
