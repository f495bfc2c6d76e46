/* tests/gpu/test_gpu_denoise.c: the denoising study (tess_denoise_run) on
 * the GPU, fft backend "cufft" (device arrays end to end), against the same
 * options on the host (FFTW) and against itself at every rank count.
 *
 * For each case, on the first s ranks of the job for s = 1 .. P (a
 * sub-communicator; the ranks share the machine's GPU(s)):
 *   - the GPU run says backend cufft and device memory, its fields are
 *     device arrays;
 *   - its results (the three field fingerprints, RMS errors, PSNRs, extrema,
 *     modes kept) are bitwise those of s = 1 (the cuFFT engine's line batches
 *     depend on n only, the sums are exact, the clean field and the noise
 *     are functions of the global index); on a fingerprint mismatch the gathered fields
 *     are compared and the worst difference printed;
 *   - its device metrics against the host recomputing them from copies of
 *     its fields: tess_denoise_fingerprint of host copies (the device
 *     fingerprint kernel), RMS errors from exact sums of the gathered
 *     differences and extrema of the gathered clean field (the device
 *     difference and extrema kernels): bitwise.
 * At s = P, the host (FFTW) run of the same options:
 *   - clean and noisy fields within the field tolerance below: the device
 *     draws them with the host's operations in its order but CUDA's cos,
 *     sin and log (a few ulps from glibc's: measured and printed), and the
 *     random field's clean field is an inverse FFT;
 *   - the same modes kept (a flip would mean a coefficient within rounding
 *     of the threshold: the message says so);
 *   - denoised field: max |gpu - cpu| <= 1e-12 max(1, max |cpu|). Each FFT's
 *     error is O(eps log2 N) of the field's size (cuFFT and FFTW both: a few
 *     1e-15 here, N <= 4096); 1e-12 leaves a factor > 100;
 *   - PSNR of the denoised field within 1e-8 dB: a field error e moves it by
 *     8.7 e / rms, and rms >= 1e-3 in every case here.
 * Cases: 2-D slab (relative, soft), 3-D slab with a rank owning nothing
 * (3 x 10 x 12 at 4 ranks, lowpass), 3-D pencil at odd sizes (Gaussian:
 * CUDA's exp), 3-D random field (keep_fraction: the host radix select on
 * device keys), 1-D replicated (hard). Each case prints its GPU hashes per
 * rank count: they must also agree between the np runs of this test.
 * Without a GPU or cuFFT: prints why, exits 77 (CTest: skipped).
 * -DTESS_TEST_HOST_AS_DEVICE: the "GPU" side runs FFTW on host arrays (checks
 * this test's own logic on a machine without a GPU; not built by CMake). */
#include <tessera/tessera.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tess_test.h"

#define SKIP 77
#ifdef TESS_TEST_HOST_AS_DEVICE
#define GPU_BACKEND "fftw"
#define GPU_SPACE TESS_MEM_HOST
#else
#define GPU_BACKEND "cufft"
#define GPU_SPACE TESS_MEM_DEVICE
#endif
#define FIELD_TOL 1e-12
#define PSNR_TOL 1e-8

typedef struct {
  const char *name;
  int ndim;
  int64_t n[3];
  tess_denoise_field_t field;
  int nmodes;
  int64_t modes[3][3];
  double amps[3];
  double sigma;
  tess_denoise_rule_t rule;
  double value;
  const char *decomp;
} dcase_t;

/* What one run gives that the checks compare, and its gathered fields
 * (rank 0 of the run's mesh; NULL elsewhere). */
typedef struct {
  tess_denoise_result_t r;
  double *f[3];   /* clean, noisy, denoised */
  int64_t N;
} run_t;

static const char *const fname[3] = {"clean", "noisy", "denoised"};

static void run_free(run_t *u)
{
  tess_denoise_result_free(&u->r);
  for (int i = 0; i < 3; i++) {
    free(u->f[i]);
    u->f[i] = NULL;
  }
}

static void options(const dcase_t *c, const char *backend, tess_denoise_options_t *o)
{
  tess_denoise_options_default(o);
  o->ndim = c->ndim;
  for (int d = 0; d < 3; d++) o->n[d] = d < c->ndim ? c->n[d] : 0;
  o->field = c->field;
  if (c->nmodes > 0) {
    o->nmodes = c->nmodes;
    memset(o->modes, 0, sizeof o->modes);
    for (int j = 0; j < c->nmodes; j++) {
      for (int d = 0; d < 3; d++) o->modes[j][d] = c->modes[j][d];
      o->amplitudes[j] = c->amps[j];
    }
  }
  o->sigma = c->sigma;
  o->seed = 2026;
  o->rule = c->rule;
  o->value = c->value;
  o->fft_backend = backend;
  o->keep_fields = 1;
}

/* A host copy of a (same mesh, dtype, shape, spec). */
static tess_err_t host_copy(const tess_array_t *a, tess_array_t **h)
{
  tess_err_t err = TESS_OK;
  int64_t sh[TESS_MAX_NDIM];
  tess_shardspec_t sp;
  tess_array_global_shape(a, sh);
  tess_array_spec(a, &sp);
  TESS_CHECK(tess_array_create(tess_array_mesh(a), tess_array_dtype(a), tess_array_ndim(a), sh,
                               &sp, TESS_MEM_HOST, h));
  TESS_CHECK(tess_array_copy(*h, a));
cleanup:
  return err;
}

/* One run on `mesh`: the study, then its fields gathered to the mesh's rank 0. */
static tess_err_t run_one(tess_mesh_t *mesh, const dcase_t *c, const char *backend, run_t *u)
{
  tess_err_t err = TESS_OK;
  tess_denoise_options_t o;
  int root = tess_mesh_rank(mesh) == 0;
  tess_array_t *fields[3];
  memset(u, 0, sizeof *u);
  options(c, backend, &o);
  TESS_CHECK(tess_denoise_run(mesh, &o, &u->r));
  fields[0] = u->r.clean;
  fields[1] = u->r.noisy;
  fields[2] = u->r.denoised;
  u->N = tess_array_global_count(u->r.clean);
  for (int i = 0; i < 3; i++) {
    if (root) {
      u->f[i] = malloc(sizeof(double) * (size_t)u->N);
      TESS_REQUIRE(u->f[i] != NULL, TESS_ERR_MEM, "gather buffer");
    }
    TESS_CHECK(tess_array_gather(fields[i], 0, u->f[i]));
  }
cleanup:
  return err;
}

/* Worst |a - b| over n values, how many differ bitwise, the first that does. */
static double field_diff(const double *a, const double *b, int64_t n, int64_t *ndiff, int64_t *first)
{
  double worst = 0;
  *ndiff = 0;
  *first = -1;
  for (int64_t i = 0; i < n; i++) {
    if (memcmp(&a[i], &b[i], sizeof(double)) == 0) continue;
    if (*first < 0) *first = i;
    (*ndiff)++;
    double d = fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;   /* NaN sticks */
  }
  return worst;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The device metrics against the host, on the GPU run's own fields: host
 * copies fingerprinted by the host loop (collective on the run's mesh), RMS
 * errors and extrema recomputed on rank 0 from the gathered fields. */
static tess_err_t check_metrics(const char *cname, int s, const run_t *u)
{
  tess_err_t err = TESS_OK;
  tess_array_t *h = NULL;
  const tess_array_t *fields[3] = {u->r.clean, u->r.noisy, u->r.denoised};
  const uint64_t want[3] = {u->r.hash_clean, u->r.hash_noisy, u->r.hash_denoised};
  double *d = NULL;
  for (int i = 0; i < 3; i++) {
    uint64_t hh = 0;
    TESS_CHECK(host_copy(fields[i], &h));
    TESS_CHECK(tess_denoise_fingerprint(h, &hh));
    CHECK(hh == want[i], "%s at %d rank(s): %s fingerprint on the device %016llx, of its host copy "
          "%016llx (device fingerprint kernel)", cname, s, fname[i], (unsigned long long)want[i],
          (unsigned long long)hh);
    tess_array_destroy(&h);
  }
  if (u->f[0]) {   /* the mesh's rank 0: gathered fields */
    double e[2], lo = INFINITY, hi = -INFINITY;
    d = malloc(sizeof(double) * (size_t)u->N);
    TESS_REQUIRE(d != NULL, TESS_ERR_MEM, "difference buffer");
    for (int k = 0; k < 2; k++) {
      for (int64_t i = 0; i < u->N; i++) d[i] = u->f[k + 1][i] - u->f[0][i];
      TESS_CHECK(tess_nrm2sq_f64(d, (size_t)u->N, MPI_COMM_SELF, &e[k]));
      e[k] = sqrt(e[k] / (double)u->N);
    }
    for (int64_t i = 0; i < u->N; i++) {
      if (u->f[0][i] > hi) hi = u->f[0][i];
      if (u->f[0][i] < lo) lo = u->f[0][i];
    }
    CHECK(same_bits(e[0], u->r.rms_noisy) && same_bits(e[1], u->r.rms_denoised),
          "%s at %d rank(s): RMS errors from the device noisy %.17g denoised %.17g, from the "
          "gathered fields %.17g %.17g (device difference kernel + exact sum)", cname, s,
          u->r.rms_noisy, u->r.rms_denoised, e[0], e[1]);
    CHECK(lo == u->r.clean_min && hi == u->r.clean_max,
          "%s at %d rank(s): clean extrema from the device [%.17g, %.17g], from the gathered "
          "field [%.17g, %.17g] (device extrema kernel)", cname, s, u->r.clean_min,
          u->r.clean_max, lo, hi);
  }
cleanup:
  tess_array_destroy(&h);
  free(d);
  return err;
}

/* The GPU run on s ranks against the one on 1 rank (rank 0 holds both). */
static void check_same(const char *cname, int s, const run_t *a, const run_t *b)
{
  const tess_denoise_result_t *x = &a->r, *y = &b->r;
  const uint64_t hx[3] = {x->hash_clean, x->hash_noisy, x->hash_denoised};
  const uint64_t hy[3] = {y->hash_clean, y->hash_noisy, y->hash_denoised};
  for (int i = 0; i < 3; i++) {
    if (hx[i] == hy[i]) continue;
    int64_t nd, first;
    double w = field_diff(a->f[i], b->f[i], a->N, &nd, &first);
    CHECK(0, "%s: GPU %s field at %d ranks (hash %016llx) differs from 1 rank (%016llx): %lld "
          "of %lld values differ, max |diff| %.3g, first at global index %lld (%.17g vs %.17g)",
          cname, fname[i], s, (unsigned long long)hy[i], (unsigned long long)hx[i],
          (long long)nd, (long long)a->N, w, (long long)first, first >= 0 ? b->f[i][first] : 0.0,
          first >= 0 ? a->f[i][first] : 0.0);
  }
  CHECK(same_bits(x->rms_noisy, y->rms_noisy) && same_bits(x->rms_denoised, y->rms_denoised) &&
            same_bits(x->psnr_noisy_db, y->psnr_noisy_db) &&
            same_bits(x->psnr_denoised_db, y->psnr_denoised_db) &&
            same_bits(x->clean_min, y->clean_min) && same_bits(x->clean_max, y->clean_max),
        "%s: GPU metrics at %d ranks differ from 1 rank: rms %.17g %.17g vs %.17g %.17g, psnr "
        "%.17g %.17g vs %.17g %.17g, clean [%.17g, %.17g] vs [%.17g, %.17g]", cname, s,
        y->rms_noisy, y->rms_denoised, x->rms_noisy, x->rms_denoised, y->psnr_noisy_db,
        y->psnr_denoised_db, x->psnr_noisy_db, x->psnr_denoised_db, y->clean_min, y->clean_max,
        x->clean_min, x->clean_max);
  CHECK(x->modes.kept == y->modes.kept && x->modes.kept_modes == y->modes.kept_modes &&
            x->modes.total == y->modes.total,
        "%s: GPU modes kept at %d ranks %lld/%lld of %lld, at 1 rank %lld/%lld of %lld", cname, s,
        (long long)y->modes.kept, (long long)y->modes.kept_modes, (long long)y->modes.total,
        (long long)x->modes.kept, (long long)x->modes.kept_modes, (long long)x->modes.total);
}

/* The GPU run against the host run of the same options, both on P ranks. */
static void check_cpu(const dcase_t *c, const run_t *g, const run_t *h)
{
  const tess_denoise_result_t *x = &g->r, *y = &h->r;
  int exact_fields = c->field != TESS_DENOISE_FIELD_RANDOM;
  double scale = 1, w[3];
  int64_t nd[3], first[3];
  for (int i = 0; i < 3; i++) w[i] = field_diff(g->f[i], h->f[i], g->N, &nd[i], &first[i]);
  for (int64_t i = 0; i < g->N; i++) scale = fmax(scale, fabs(h->f[2][i]));
  CHECK(w[0] <= FIELD_TOL * scale && w[1] <= FIELD_TOL * scale,
        "%s: clean/noisy fields GPU vs CPU: max |diff| %.3g / %.3g > %.3g", c->name, w[0], w[1],
        FIELD_TOL * scale);
  if (exact_fields)   /* how far CUDA's libm took the drawn fields (printed, not asserted) */
    printf("  %-40s GPU vs CPU drawn fields: clean %lld, noisy %lld of %lld values differ, "
           "max |diff| %.3g / %.3g\n", c->name, (long long)nd[0], (long long)nd[1],
           (long long)g->N, w[0], w[1]);
  CHECK(x->modes.kept == y->modes.kept && x->modes.kept_modes == y->modes.kept_modes &&
            x->modes.total == y->modes.total && x->modes.total_modes == y->modes.total_modes,
        "%s: modes kept GPU %lld/%lld of %lld/%lld, CPU %lld/%lld of %lld/%lld (a coefficient "
        "within rounding of the threshold?)", c->name, (long long)x->modes.kept,
        (long long)x->modes.kept_modes, (long long)x->modes.total, (long long)x->modes.total_modes,
        (long long)y->modes.kept, (long long)y->modes.kept_modes, (long long)y->modes.total,
        (long long)y->modes.total_modes);
  CHECK(w[2] <= FIELD_TOL * scale,
        "%s: denoised field GPU vs CPU: max |diff| %.3g > %.3g (%lld of %lld values differ, "
        "first at %lld)", c->name, w[2], FIELD_TOL * scale, (long long)nd[2], (long long)g->N,
        (long long)first[2]);
  CHECK(fabs(x->psnr_denoised_db - y->psnr_denoised_db) <= PSNR_TOL &&
            fabs(x->psnr_noisy_db - y->psnr_noisy_db) <= PSNR_TOL,
        "%s: PSNR GPU noisy %.12f denoised %.12f dB, CPU %.12f %.12f dB (tolerance %.1g dB)",
        c->name, x->psnr_noisy_db, x->psnr_denoised_db, y->psnr_noisy_db, y->psnr_denoised_db,
        PSNR_TOL);
  CHECK(x->rms_denoised >= 1e-3, "%s: rms_denoised %.3g below the 1e-3 the PSNR tolerance assumes",
        c->name, x->rms_denoised);
  printf("  %-40s CPU vs GPU: PSNR %.9f / %.9f dB (diff %.2e), denoised max |diff| %.2e, "
         "%lld of %lld kept\n", c->name, y->psnr_denoised_db, x->psnr_denoised_db,
         x->psnr_denoised_db - y->psnr_denoised_db, w[2], (long long)x->modes.kept,
         (long long)x->modes.total);
}

static void run_case(const dcase_t *c)
{
  tess_err_t err = TESS_OK;
  int P, me;
  run_t ref, cur, cpu;
  tess_mesh_t *mesh = NULL;
  MPI_Comm sub = MPI_COMM_NULL;
  memset(&ref, 0, sizeof ref);
  memset(&cur, 0, sizeof cur);
  memset(&cpu, 0, sizeof cpu);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  for (int s = 1; s <= P; s++) {
    MPI_Comm_split(MPI_COMM_WORLD, me < s ? 0 : MPI_UNDEFINED, me, &sub);
    if (sub != MPI_COMM_NULL) {
      run_t *u = s == 1 ? &ref : &cur;
      TESS_CHECK(tess_denoise_mesh_create(sub, c->ndim, c->n, c->decomp, &mesh));
      TESS_CHECK(run_one(mesh, c, GPU_BACKEND, u));
      CHECK(strcmp(u->r.fft.backend, GPU_BACKEND) == 0 && u->r.memspace == GPU_SPACE &&
                tess_memspace_kind(tess_array_memspace(u->r.denoised)) == GPU_SPACE,
            "%s at %d rank(s): backend %s, %s memory, fields in %s memory; expected %s on %s",
            c->name, s, u->r.fft.backend, tess_memspace_name(u->r.memspace),
            tess_memspace_name(tess_array_memspace(u->r.denoised)), GPU_BACKEND,
            tess_memspace_name(GPU_SPACE));
      TESS_CHECK(check_metrics(c->name, s, u));
      if (me == 0)
        printf("  %-40s GPU %d rank%s %s: hashes clean %016llx noisy %016llx denoised %016llx, "
               "PSNR %.3f -> %.3f dB\n", c->name, s, s > 1 ? "s" : " ",
               u->r.fft.grid_axes == 2 ? "pencil" : u->r.fft.grid_axes ? "slab  " : "repl. ",
               (unsigned long long)u->r.hash_clean, (unsigned long long)u->r.hash_noisy,
               (unsigned long long)u->r.hash_denoised, u->r.psnr_noisy_db, u->r.psnr_denoised_db);
      if (s > 1 && me == 0) check_same(c->name, s, &ref, &cur);
      if (s == P) {
        TESS_CHECK(run_one(mesh, c, "fftw", &cpu));
        if (me == 0) check_cpu(c, u, &cpu);
        run_free(&cpu);
      }
      /* the arrays go before their mesh; the scalars and gathered fields stay */
      tess_denoise_result_free(&u->r);
      if (s > 1) run_free(&cur);
      tess_mesh_destroy(&mesh);
      MPI_Comm_free(&sub);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
cleanup:
  if (err) {
    tess_error_print(stderr);
    CHECK(0, "%s: run failed (see the error trace above)", c->name);
  }
  run_free(&cpu);
  run_free(&cur);
  run_free(&ref);
  tess_mesh_destroy(&mesh);
  if (sub != MPI_COMM_NULL) MPI_Comm_free(&sub);
}

int main(int argc, char **argv)
{
  int me, found = 0;
  tess_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
#ifndef TESS_TEST_HOST_AS_DEVICE
  for (int i = 0; i < tess_fft_backend_count(); i++)
    found |= strcmp(tess_fft_backend_name(i), "cufft") == 0;
  {
    int all = tess_device_available() && found;
    MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all) {
      if (me == 0)
        printf("test_gpu_denoise: skipped: %s\n",
               !found ? "this build has no cuFFT backend" : "no GPU visible (on some rank)");
      tess_finalize();
      return SKIP;
    }
  }
#else
  (void)found;
#endif
  static const dcase_t cases[] = {
    {"2-D modes relative 64x48 slab", 2, {64, 48, 0}, TESS_DENOISE_FIELD_MODES, 3,
     {{1, 2, 0}, {3, 1, 0}, {5, 4, 0}}, {1.0, 0.5, 0.25}, 0.5, TESS_DENOISE_RELATIVE, 0.1, "slab"},
    {"2-D taylor_green soft 45x33 slab", 2, {45, 33, 0}, TESS_DENOISE_FIELD_TAYLOR_GREEN, 0,
     {{0}}, {0}, 0.3, TESS_DENOISE_SOFT, 40.0, "slab"},
    {"3-D modes lowpass 3x10x12 (empty rank)", 3, {3, 10, 12}, TESS_DENOISE_FIELD_MODES, 2,
     {{1, 2, 3}, {0, 1, 1}}, {1.0, 0.5}, 0.4, TESS_DENOISE_LOWPASS, 4.0, "slab"},
    {"3-D taylor_green gaussian 7x11x13 pencil", 3, {7, 11, 13},
     TESS_DENOISE_FIELD_TAYLOR_GREEN, 0, {{0}}, {0}, 0.2, TESS_DENOISE_GAUSSIAN, 3.0, "pencil"},
    {"3-D random keep_fraction 12x10x9", 3, {12, 10, 9}, TESS_DENOISE_FIELD_RANDOM, 0, {{0}},
     {0}, 0.2, TESS_DENOISE_KEEP_FRACTION, 0.07, "auto"},
    {"1-D modes hard 96 replicated", 1, {96, 0, 0}, TESS_DENOISE_FIELD_MODES, 2,
     {{3, 0, 0}, {7, 0, 0}}, {1.0, -0.5}, 0.3, TESS_DENOISE_HARD, 15.0, "auto"},
  };
  if (me == 0)
    printf("test_gpu_denoise: GPU backend %s; tolerances vs the CPU: fields %.0e x max(1, "
           "max|field|), PSNR %.0e dB\n", GPU_BACKEND, FIELD_TOL, PSNR_TOL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
  int rc = tess_test_finish("gpu_denoise");
  tess_finalize();
  return rc;
}
