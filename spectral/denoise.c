/* spectral/denoise.c: tess_denoise_run, the spectral denoising study as a
 * library call (include/tessera/denoise.h): options, the mesh, and the
 * pipeline clean field -> noise -> r2c -> rule -> c2r -> metrics. The fields
 * are in denoise_fields.c, the measurements in denoise_metrics.c.
 *
 * The run's memory follows the FFT backend (run_space): host arrays for
 * FFTW, device arrays for cuFFT. The pipeline is the same code either way:
 * the FFTs, the spectral rules and the exact sums have device paths, and
 * the study's own loops have kernels (denoise_cuda.h). */
#include "denoise_internal.h"

#include <math.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/log.h>

void tess_denoise_options_default(tess_denoise_options_t *o)
{
  static const int64_t modes[3][2] = {{1, 2}, {3, 1}, {5, 4}};
  static const double amps[3] = {1.0, 0.5, 0.25};
  memset(o, 0, sizeof *o);
  o->ndim = 2;
  o->n[0] = o->n[1] = 256;
  o->field = TESS_DENOISE_FIELD_MODES;
  o->nmodes = 3;
  for (int j = 0; j < 3; j++) {
    o->modes[j][0] = modes[j][0];
    o->modes[j][1] = modes[j][1];
    o->amplitudes[j] = amps[j];
  }
  o->slope = 3.0;
  o->kmax = 8.0;
  o->sigma = 0.5;
  o->seed = 42;
  o->rule = TESS_DENOISE_RELATIVE;
  o->value = 0.1;
  o->planner = TESS_FFT_ESTIMATE;
}

static const char *const field_names[] = {"modes", "taylor_green", "random"};
static const char *const rule_names[] = {"hard", "soft", "relative", "keep_fraction", "lowpass",
                                         "gaussian"};
#define NFIELDS ((int)(sizeof field_names / sizeof field_names[0]))
#define NRULES ((int)(sizeof rule_names / sizeof rule_names[0]))

tess_err_t tess_denoise_field_parse(const char *name, tess_denoise_field_t *field)
{
  for (int i = 0; name && i < NFIELDS; i++)
    if (strcmp(name, field_names[i]) == 0) { *field = (tess_denoise_field_t)i; return TESS_OK; }
  return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                        "unknown denoise field '%s': expected modes, taylor_green or random",
                        name ? name : "(null)");
}

tess_err_t tess_denoise_rule_parse(const char *name, tess_denoise_rule_t *rule)
{
  for (int i = 0; name && i < NRULES; i++)
    if (strcmp(name, rule_names[i]) == 0) { *rule = (tess_denoise_rule_t)i; return TESS_OK; }
  return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                        "unknown denoise rule '%s': expected hard, soft, relative, keep_fraction, "
                        "lowpass or gaussian", name ? name : "(null)");
}

const char *tess_denoise_rule_name(tess_denoise_rule_t rule)
{
  return (int)rule >= 0 && (int)rule < NRULES ? rule_names[rule] : "?";
}

tess_err_t tess_denoise_mesh_create(MPI_Comm comm, int ndim, const int64_t n[],
                                    const char *decomposition, tess_mesh_t **mesh)
{
  tess_err_t err = TESS_OK;
  const char *names[2] = {"x", "y"};
  const char *dec = decomposition ? decomposition : "auto";
  int dims[2] = {0, 0}, size = 1, pencil = 0, ng;
  TESS_REQUIRE(ndim >= 1 && ndim <= 3, TESS_ERR_ARG, "denoise mesh: ndim %d, expected 1 to 3", ndim);
  TESS_REQUIRE(!strcmp(dec, "auto") || !strcmp(dec, "slab") || !strcmp(dec, "pencil"), TESS_ERR_ARG,
               "denoise mesh: decomposition '%s', expected auto, slab or pencil", dec);
  TESS_REQUIRE(ndim == 3 || strcmp(dec, "pencil") != 0, TESS_ERR_ARG,
               "denoise mesh: pencil needs a 3-D grid (ndim %d)", ndim);
  TESS_MPI_CHECK(MPI_Comm_size(comm, &size));
  if (ndim == 3) pencil = !strcmp(dec, "pencil") || (!strcmp(dec, "auto") && size > n[0]);
  ng = ndim == 1 ? 0 : pencil ? 2 : 1;
  if (ng == 0) { names[0] = "r"; dims[0] = size; }   /* 1-D: replicated over "r" */
  else TESS_MPI_CHECK(MPI_Dims_create(size, ng, dims));
  TESS_CHECK(tess_mesh_create(comm, ng ? ng : 1, names, dims, mesh));
cleanup:
  return err;
}

static tess_err_t validate(const tess_denoise_options_t *o)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(o->ndim >= 1 && o->ndim <= 3, TESS_ERR_ARG, "denoise: ndim %d, expected 1 to 3", o->ndim);
  for (int d = 0; d < o->ndim; d++)
    TESS_REQUIRE(o->n[d] >= 1, TESS_ERR_ARG, "denoise: n[%d] = %lld, expected >= 1", d,
                 (long long)o->n[d]);
  TESS_REQUIRE((int)o->field >= 0 && (int)o->field < NFIELDS, TESS_ERR_ARG,
               "denoise: field kind %d unknown", (int)o->field);
  TESS_REQUIRE((int)o->rule >= 0 && (int)o->rule < NRULES, TESS_ERR_ARG,
               "denoise: rule %d unknown", (int)o->rule);
  if (o->field == TESS_DENOISE_FIELD_MODES)
    TESS_REQUIRE(o->nmodes >= 1 && o->nmodes <= TESS_DENOISE_MAX_MODES, TESS_ERR_ARG,
                 "denoise: nmodes %d, expected 1 to %d", o->nmodes, TESS_DENOISE_MAX_MODES);
  TESS_REQUIRE(o->field != TESS_DENOISE_FIELD_TAYLOR_GREEN || o->ndim >= 2, TESS_ERR_ARG,
               "denoise: taylor_green needs a 2-D or 3-D grid");
  TESS_REQUIRE(o->sigma >= 0, TESS_ERR_ARG, "denoise: sigma %g, expected >= 0", o->sigma);
  TESS_REQUIRE(o->value >= 0, TESS_ERR_ARG, "denoise: value %g, expected >= 0", o->value);
  TESS_REQUIRE(!((o->rule == TESS_DENOISE_RELATIVE || o->rule == TESS_DENOISE_KEEP_FRACTION) &&
                 o->value > 1), TESS_ERR_ARG,
               "denoise: value %g: rule '%s' takes a fraction in [0, 1]", o->value,
               tess_denoise_rule_name(o->rule));
  TESS_REQUIRE(o->rule != TESS_DENOISE_GAUSSIAN || o->value > 0, TESS_ERR_ARG,
               "denoise: the Gaussian width must be > 0");
cleanup:
  return err;
}

void tess_denoise_result_free(tess_denoise_result_t *res)
{
  if (!res) return;
  tess_array_destroy(&res->clean);
  tess_array_destroy(&res->noisy);
  tess_array_destroy(&res->denoised);
}

/* The memory the run's arrays live in, the same on every rank: the
 * backend's (tess_fft_backend_memspace). "auto" takes the device only when
 * every rank sees a GPU; a device backend named outright, with a rank that
 * sees none, fails on every rank (rather than on some, which would leave the
 * others waiting in the FFT planning's collectives). */
static tess_err_t run_space(tess_mesh_t *mesh, const char *backend, tess_memspace_t *space)
{
  tess_err_t err = TESS_OK;
  tess_memspace_t s = TESS_MEM_HOST;
  int v[2];   /* device asked for, a GPU visible: the minimum over the ranks */
  TESS_CHECK(tess_fft_backend_memspace(backend, &s));
  v[0] = !tess_memspace_is_host(s);
  v[1] = tess_device_available();
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, v, v, 2, TESS_I32, TESS_OP_MIN,
                                 TESS_MEM_HOST, NULL));
  TESS_REQUIRE(!v[0] || v[1], TESS_ERR_UNSUPPORTED,
               "denoise: FFT backend '%s' works on device memory, but %s sees no GPU "
               "(device backend: %s)", backend ? backend : "auto", tess_device_available() ? "another rank" : "this rank",
               tess_device_backend_name());
  *space = v[0] ? TESS_MEM_DEVICE : TESS_MEM_HOST;
cleanup:
  return err;
}

/* A barrier through tess_comm, so the timed phases start together. */
static tess_err_t sync_ranks(tess_mesh_t *mesh)
{
  int one = 1;
  return tess_comm_allreduce(mesh, TESS_AXES_ALL, &one, &one, 1, TESS_I32, TESS_OP_MAX,
                             TESS_MEM_HOST, NULL);
}

tess_err_t tess_denoise_run(tess_mesh_t *mesh, const tess_denoise_options_t *o,
                            tess_denoise_result_t *res)
{
  tess_err_t err = TESS_OK;
  double t_total = tess_wtime();
  int nd, ng, axes[2] = {0, 1}, nthreads = 1;
  tess_array_t *clean = NULL, *noisy = NULL, *den = NULL, *spec = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_fft_opts_t fo = {0};
  tess_shardspec_t sp;
  tess_spectral_grid_t grid;
  tess_memspace_t space = TESS_MEM_HOST;
  TESS_REQUIRE(mesh && o && res, TESS_ERR_ARG, "denoise: NULL mesh, options or result");
  memset(res, 0, sizeof *res);
  TESS_CHECK(validate(o));
  nd = o->ndim;
  ng = nd == 1 ? 0 : tess_mesh_naxes(mesh);
  TESS_REQUIRE(ng <= 2 && (ng < 2 || nd == 3), TESS_ERR_ARG,
               "denoise: a %d-D grid on a mesh of %d axes (1 axis, or 2 for a 3-D pencil)", nd,
               tess_mesh_naxes(mesh));

  TESS_CHECK(run_space(mesh, o->fft_backend, &space));
  res->memspace = space;

  /* natural-form real fields, transposed-form spectrum, all in `space` */
  TESS_CHECK(tess_fft_spec(nd, nd, ng, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, nd, o->n, &sp, space, &clean));
  TESS_CHECK(tess_array_create_like(clean, NULL, &noisy));
  TESS_CHECK(tess_array_create_like(clean, NULL, &den));
  TESS_CHECK(tess_fft_create_output(clean, nd, TESS_FFT_LAYOUT_TRANSPOSED, &spec));
  fo.rank = nd;
  fo.flags = TESS_FFT_NORM_BACKWARD | (o->planner ? o->planner : TESS_FFT_ESTIMATE);
  fo.wisdom_file = o->wisdom_file && *o->wisdom_file ? o->wisdom_file : NULL;
  fo.backend = o->fft_backend;
  res->t_plan = tess_wtime();
  TESS_CHECK(tess_fft_plan_create_opts(clean, spec, TESS_FFT_FORWARD, &fo, &pf));
  TESS_CHECK(tess_fft_plan_create_opts(spec, den, TESS_FFT_BACKWARD, &fo, &pb));
  res->t_plan = tess_wtime() - res->t_plan;
  TESS_CHECK(tess_spectral_grid_from_plan(pf, &grid));
  TESS_CHECK(tess_fft_plan_info(pf, &res->fft));

  TESS_CHECK(denoise_host_threads(mesh, &nthreads));
  TESS_CHECK(denoise_fill_clean(o, nthreads, clean, spec, &grid, pb));
  TESS_CHECK(denoise_add_noise(o, nthreads, clean, noisy));

  TESS_CHECK(sync_ranks(mesh));
  res->t_forward = tess_wtime();
  TESS_CHECK(tess_fft_execute(pf, noisy, spec));
  res->t_forward = tess_wtime() - res->t_forward;
  res->t_rule = tess_wtime();
  if (o->rule == TESS_DENOISE_LOWPASS || o->rule == TESS_DENOISE_GAUSSIAN) {
    if (o->rule == TESS_DENOISE_LOWPASS) TESS_CHECK(tess_spectral_lowpass(spec, &grid, o->value));
    else TESS_CHECK(tess_spectral_gaussian(spec, &grid, o->value));
    TESS_CHECK(tess_spectral_count_nonzero(spec, &grid, &res->modes));
  } else {   /* the first four rules are tess_thresh_rule_t's, in order */
    TESS_CHECK(tess_spectral_threshold(spec, &grid, (tess_thresh_rule_t)o->rule, o->value,
                                       &res->modes));
  }
  res->t_rule = tess_wtime() - res->t_rule;
  res->t_backward = tess_wtime();
  TESS_CHECK(tess_fft_execute(pb, spec, den));
  res->t_backward = tess_wtime() - res->t_backward;

  {
    double e_noisy = 0, e_den = 0, N = (double)tess_array_global_count(clean);
    TESS_CHECK(denoise_extrema(clean, &res->clean_min, &res->clean_max));
    TESS_CHECK(denoise_sum_sq_diff(noisy, clean, &e_noisy));
    TESS_CHECK(denoise_sum_sq_diff(den, clean, &e_den));
    res->peak = res->clean_max - res->clean_min;
    res->rms_noisy = sqrt(e_noisy / N);
    res->rms_denoised = sqrt(e_den / N);
    res->psnr_noisy_db = 20 * log10(res->peak / res->rms_noisy);
    res->psnr_denoised_db = 20 * log10(res->peak / res->rms_denoised);
    TESS_CHECK(tess_denoise_fingerprint(clean, &res->hash_clean));
    TESS_CHECK(tess_denoise_fingerprint(noisy, &res->hash_noisy));
    TESS_CHECK(tess_denoise_fingerprint(den, &res->hash_denoised));
  }
  res->t_total = tess_wtime() - t_total;
  if (o->keep_fields) {   /* hand the fields over */
    res->clean = clean;
    res->noisy = noisy;
    res->denoised = den;
    clean = noisy = den = NULL;
  }
cleanup:
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&clean);
  tess_array_destroy(&noisy);
  tess_array_destroy(&den);
  tess_array_destroy(&spec);
  return err;
}
