/* apps/study_spectral_denoise.c: `study = "spectral_denoise"`.
 * The seed example of the toolkit, as a deck around the library call
 * tess_denoise_run (include/tessera/denoise.h, spectral/denoise*.c: a clean
 * periodic field plus Gaussian noise, denoised by r2c FFT -> a spectral rule
 * -> c2r FFT). This file keeps what is the app's: the schema, the deck ->
 * options translation, the summary on rank 0 and the files (denoise.h5 +
 * XDMF through tess_denoise_write_h5, a PNG of a slice). Everything is
 * deterministic: the same deck gives bitwise the same fields, file contents
 * and picture at any rank count. */
#include <tessera/tessera.h>
#include "study.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAXMODES TESS_DENOISE_MAX_MODES

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
  {.path = "fft.backend", .type = TESS_KEY_STRING, .default_toml = "\"auto\"", .choices = "auto|fftw|cufft",
   .help = "FFT backend and the memory the run uses: fftw (host arrays), cufft (device arrays: FFTs, rule and "
           "metrics on the GPU), auto (cufft in a cuFFT build where every rank sees a GPU, else fftw)"},
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

/* Deck -> library options. The schema's choices already restrict the
 * strings, so the parses cannot fail on a validated deck. */
static tess_err_t deck_options(const tess_deck_t *deck, tess_denoise_options_t *o)
{
  tess_err_t err = TESS_OK;
  int64_t n4[4], mflat[3 * MAXMODES], seed = 1;
  size_t nd = 0, nm = 0, na = 0;
  const char *kind, *rule, *planner, *wisdom, *backend;
  tess_denoise_options_default(o);
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n4, 4, &nd));
  o->ndim = (int)nd;
  for (size_t d = 0; d < nd; d++) o->n[d] = n4[d];
  TESS_CHECK(tess_deck_get_string(deck, "field.kind", &kind));
  TESS_CHECK(tess_denoise_field_parse(kind, &o->field));
  TESS_CHECK(tess_deck_get_int_array(deck, "field.modes", mflat, 3 * MAXMODES, &nm));
  TESS_CHECK(tess_deck_get_double_array(deck, "field.amplitudes", o->amplitudes, MAXMODES, &na));
  o->nmodes = (int)(nm / nd);
  memset(o->modes, 0, sizeof o->modes);
  for (int j = 0; j < o->nmodes; j++)
    for (size_t d = 0; d < nd; d++) o->modes[j][d] = mflat[(size_t)j * nd + d];
  TESS_CHECK(tess_deck_get_double(deck, "field.slope", &o->slope));
  TESS_CHECK(tess_deck_get_double(deck, "field.kmax", &o->kmax));
  TESS_CHECK(tess_deck_get_double(deck, "noise.sigma", &o->sigma));
  TESS_CHECK(tess_deck_get_int(deck, "run.seed", &seed));
  o->seed = (uint64_t)seed;
  TESS_CHECK(tess_deck_get_string(deck, "denoise.rule", &rule));
  TESS_CHECK(tess_denoise_rule_parse(rule, &o->rule));
  TESS_CHECK(tess_deck_get_double(deck, "denoise.value", &o->value));
  TESS_CHECK(tess_deck_get_string(deck, "fft.planner", &planner));
  o->planner = strcmp(planner, "measure") == 0   ? TESS_FFT_MEASURE
               : strcmp(planner, "patient") == 0 ? TESS_FFT_PATIENT
                                                 : TESS_FFT_ESTIMATE;
  TESS_CHECK(tess_deck_get_string(deck, "fft.wisdom_file", &wisdom));
  o->wisdom_file = *wisdom ? wisdom : NULL;
  TESS_CHECK(tess_deck_get_string(deck, "fft.backend", &backend));
  o->fft_backend = backend;
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

static void print_summary(const tess_denoise_options_t *o, const tess_denoise_result_t *r,
                          const char *kind, const char *rule, const char *planner, int size)
{
  int nd = o->ndim;
  printf("spectral_denoise: %d-D grid %" PRId64, nd, o->n[0]);
  for (int d = 1; d < nd; d++) printf("x%" PRId64, o->n[d]);
  printf(", %s field, noise sigma %g (seed %" PRId64 "), rule %s %g\n", kind, o->sigma,
         (int64_t)o->seed, rule, o->value);
  printf("  %d rank%s, %s decomposition, %d transpose%s per FFT, backend %s, %s memory, planner %s\n",
         size, size == 1 ? "" : "s",
         r->fft.grid_axes == 2 ? "pencil" : r->fft.grid_axes == 1 ? "slab" : "replicated",
         r->fft.ntransposes, r->fft.ntransposes == 1 ? "" : "s", r->fft.backend,
         tess_memspace_name(r->memspace), planner);
  printf("  noisy    vs clean: RMS error %.6e  PSNR %8.3f dB\n", r->rms_noisy, r->psnr_noisy_db);
  printf("  denoised vs clean: RMS error %.6e  PSNR %8.3f dB  (improvement %.3f dB)\n",
         r->rms_denoised, r->psnr_denoised_db, r->psnr_denoised_db - r->psnr_noisy_db);
  printf("  modes kept: %" PRId64 " of %" PRId64 " coefficients, %" PRId64 " of %" PRId64
         " real modes (fraction %.6e)\n", r->modes.kept, r->modes.total, r->modes.kept_modes,
         r->modes.total_modes, (double)r->modes.kept_modes / (double)r->modes.total_modes);
  printf("  timings: plan %.4f s, forward FFT %.4f s, rule %.4f s, backward FFT %.4f s, total %.4f s\n",
         r->t_plan, r->t_forward, r->t_rule, r->t_backward, r->t_total);
  printf("  peak (max-min of clean) %.17g\n", r->peak);
  printf("  field hashes: clean %016" PRIx64 " noisy %016" PRIx64 " denoised %016" PRIx64 "\n",
         r->hash_clean, r->hash_noisy, r->hash_denoised);
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  tess_denoise_options_t o;
  tess_denoise_result_t res;
  int rank = 0, size = 1, want_h5 = 1, want_png = 1;
  int64_t slice = -1;
  const char *kind, *rule, *decomp, *planner, *outdir;
  tess_mesh_t *mesh = NULL;
  double *pics[3] = {NULL, NULL, NULL};
  char path[4096];

  memset(&res, 0, sizeof res);
  TESS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  TESS_CHECK(deck_options(deck, &o));
  TESS_CHECK(tess_deck_get_string(deck, "field.kind", &kind));
  TESS_CHECK(tess_deck_get_string(deck, "denoise.rule", &rule));
  TESS_CHECK(tess_deck_get_string(deck, "fft.planner", &planner));
  TESS_CHECK(tess_deck_get_string(deck, "grid.decomposition", &decomp));
  TESS_CHECK(tess_deck_get_string(deck, "run.output_dir", &outdir));
  TESS_CHECK(tess_deck_get_bool(deck, "output.hdf5", &want_h5));
  TESS_CHECK(tess_deck_get_bool(deck, "output.png", &want_png));
  TESS_CHECK(tess_deck_get_int(deck, "output.slice", &slice));
  if (o.ndim == 3 && (slice < 0 || slice >= o.n[0])) slice = o.n[0] / 2;
  if (o.ndim != 3 && strcmp(decomp, "pencil") == 0)
    TESS_CHECK(tess_deck_key_error(deck, "grid.decomposition", "pencil needs a 3-D grid (grid.n has %d sizes)",
                                   o.ndim));

  if (opts->dry_run) {
    int pencil = o.ndim == 3 && (strcmp(decomp, "pencil") == 0 || (strcmp(decomp, "auto") == 0 && size > o.n[0]));
    if (rank == 0) {
      /* the memory the run would take, as rank 0 sees it (the run agrees over all ranks) */
      tess_memspace_t space = TESS_MEM_HOST;
      int known = tess_fft_backend_memspace(o.fft_backend, &space) == TESS_OK;
      int usable = known && (tess_memspace_is_host(space) || tess_device_available());
      if (!known) tess_error_clear();
      printf("spectral_denoise: %d-D grid, %s field, sigma %g, rule %s %g, %s decomposition on %d rank%s, "
             "fft backend %s: %s\n",
             o.ndim, kind, o.sigma, rule, o.value, o.ndim == 1 ? "replicated" : pencil ? "pencil" : "slab",
             size, size == 1 ? "" : "s", o.fft_backend,
             !known    ? "not in this build"
             : !usable ? "device memory, but no GPU is visible (the run would fail)"
             : tess_memspace_is_host(space) ? "host memory" : "device memory");
    }
    goto cleanup;
  }

  o.keep_fields = want_h5 || want_png;
  TESS_CHECK(tess_denoise_mesh_create(MPI_COMM_WORLD, o.ndim, o.n, decomp, &mesh));
  TESS_CHECK(tess_denoise_run(mesh, &o, &res));
  if (rank == 0) print_summary(&o, &res, kind, rule, planner, size);
  if (want_h5) {
    tess_checkpoint_meta_t meta = {0};
    meta.study = "spectral_denoise";
    meta.deck_text = tess_deck_text(deck);
    meta.rng_seed = o.seed;
    TESS_CHECK(tess_mkdir_all(MPI_COMM_WORLD, outdir, "run.output_dir"));
    snprintf(path, sizeof path, "%s/denoise.h5", outdir);
    TESS_CHECK(tess_denoise_write_h5(MPI_COMM_WORLD, path, &res, &meta));
    if (rank == 0) printf("  wrote %s (+ XDMF)\n", path);
  }
  if (want_png && o.ndim >= 2) {
    int nd = o.ndim;
    int64_t w = o.n[nd - 1], h = o.n[nd - 2];
    TESS_CHECK(tess_mkdir_all(MPI_COMM_WORLD, outdir, "run.output_dir"));
    for (int i = 0; i < 3; i++) {
      pics[i] = malloc(sizeof(double) * (size_t)(w * h));
      TESS_REQUIRE(pics[i] != NULL, TESS_ERR_MEM, "picture");
    }
    TESS_CHECK(gather_slice(res.clean, nd, o.n, slice, pics[0]));
    TESS_CHECK(gather_slice(res.noisy, nd, o.n, slice, pics[1]));
    TESS_CHECK(gather_slice(res.denoised, nd, o.n, slice, pics[2]));
    if (rank == 0) {
      snprintf(path, sizeof path, "%s/denoise.png", outdir);
      TESS_CHECK(tess_image_panels_png(path, 3, (const double *const *)pics, (int)w, (int)h,
                                       res.clean_min, res.clean_max));
      printf("  wrote %s (clean | noisy | denoised%s)\n", path, nd == 3 ? ", slice at dim-0 middle" : "");
    }
  }
cleanup:
  for (int i = 0; i < 3; i++) free(pics[i]);
  tess_denoise_result_free(&res);
  tess_mesh_destroy(&mesh);
  return err;
}

const tess_study_t tess_study_spectral_denoise = {"spectral_denoise", &schema, run, check, 0};
