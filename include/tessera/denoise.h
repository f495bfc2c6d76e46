/* include/tessera/denoise.h: spectral denoising of a periodic field, as one
 * library call (the kernel of tessera_app's `spectral_denoise` study, callable
 * from any program: a PETSc code, a binding).
 *
 * A clean periodic field on [0, 2 pi)^d (cosine modes, Taylor-Green, or a
 * random field with a power-law spectrum) plus Gaussian noise keyed by
 * global index (tess_rng_normal(seed, 1, global linear index)) is denoised
 * by r2c FFT -> a spectral rule -> c2r FFT (normalised backward). The result
 * carries the errors, PSNRs, the modes kept, timings and an order-free
 * fingerprint of each field. Everything is deterministic: the same options
 * give bitwise the same fields and metrics on any mesh of any rank count
 * (norms are exact sums, extrema exact maxima).
 *
 * Memory: the FFT backend decides (tess_fft_backend_memspace). With cuFFT
 * ("cufft", or "auto" in a cuFFT build where every rank sees a GPU) the
 * fields and the spectrum are device arrays and every step runs on the GPU
 * except what needs libm: the clean field's points (or the random field's
 * coefficients) and the normal deviates are computed on the host and copied
 * over, so they are the host run's bits. The denoised field then differs
 * from the host run's by the FFTs' rounding (cuFFT is not FFTW), and is
 * again bitwise the same at any rank count sharing the same kind of GPU. */
#ifndef TESSERA_DENOISE_H
#define TESSERA_DENOISE_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>
#include <mpi.h>
#include <tessera/array.h>
#include <tessera/checkpoint.h>
#include <tessera/fft.h>
#include <tessera/spectral_ops.h>

#define TESS_DENOISE_MAX_MODES 64

typedef enum {
  TESS_DENOISE_FIELD_MODES = 0,      /* sum_j a_j cos(k_j . x) */
  TESS_DENOISE_FIELD_TAYLOR_GREEN,   /* sin x cos y [cos z] (2-D, 3-D) */
  TESS_DENOISE_FIELD_RANDOM          /* |c| ~ |k|^(-slope/2) up to kmax, unit RMS */
} tess_denoise_field_t;

typedef enum {
  TESS_DENOISE_HARD = 0,             /* the tess_thresh_rule_t rules, same order */
  TESS_DENOISE_SOFT,
  TESS_DENOISE_RELATIVE,
  TESS_DENOISE_KEEP_FRACTION,
  TESS_DENOISE_LOWPASS,              /* zero |k| > value */
  TESS_DENOISE_GAUSSIAN              /* times exp(-|k|^2 / (2 value^2)) */
} tess_denoise_rule_t;

typedef struct {
  int ndim;                          /* 1..3 */
  int64_t n[3];                      /* grid points per dim */
  tess_denoise_field_t field;
  int nmodes;                        /* MODES: wave vectors and amplitudes */
  int64_t modes[TESS_DENOISE_MAX_MODES][3];
  double amplitudes[TESS_DENOISE_MAX_MODES];
  double slope, kmax;                /* RANDOM */
  double sigma;                      /* noise standard deviation, >= 0 */
  uint64_t seed;                     /* noise (stream 1) and random field (stream 7) */
  tess_denoise_rule_t rule;
  double value;                      /* the rule's parameter (fraction in [0, 1] for
                                        RELATIVE and KEEP_FRACTION, > 0 for GAUSSIAN) */
  unsigned planner;                  /* TESS_FFT_ESTIMATE (0 = estimate), _MEASURE, _PATIENT */
  const char *fft_backend;           /* NULL/"auto" or a backend name ("fftw": host
                                        arrays, "cufft": device arrays; auto: cufft
                                        where every rank sees a GPU, else fftw) */
  const char *wisdom_file;           /* NULL = none */
  int keep_fields;                   /* 1: the result keeps the three fields */
} tess_denoise_options_t;

typedef struct {
  double rms_noisy, rms_denoised;    /* sqrt(mean (f - clean)^2) */
  double psnr_noisy_db, psnr_denoised_db;   /* 20 log10(peak / rms) */
  double clean_min, clean_max, peak; /* peak = clean_max - clean_min */
  tess_thresh_stats_t modes;         /* coefficients and real modes kept */
  uint64_t hash_clean, hash_noisy, hash_denoised;   /* tess_denoise_fingerprint */
  tess_fft_info_t fft;               /* the forward plan (backend, transposes) */
  tess_memspace_t memspace;          /* where the fields and spectrum lived: TESS_MEM_HOST
                                        (fftw) or TESS_MEM_DEVICE (cufft) */
  double t_plan, t_forward, t_rule, t_backward, t_total;   /* seconds */
  /* keep_fields: f64 fields in the natural FFT layout over the mesh, in
   * `memspace` (device arrays after a cuFFT run: tess_array_gather and
   * tess_denoise_write_h5 stage them through the host); the caller releases
   * them with tess_denoise_result_free. NULL otherwise. */
  tess_array_t *clean, *noisy, *denoised;
} tess_denoise_result_t;

/* The defaults of the study's deck: 256x256, three modes, sigma 0.5, seed
 * 42, relative threshold 0.1, estimate planner, no fields kept. */
void tess_denoise_options_default(tess_denoise_options_t *o);
/* "modes" | "taylor_green" | "random"; TESS_ERR_ARG listing them. */
tess_err_t tess_denoise_field_parse(const char *name, tess_denoise_field_t *field);
/* "hard" | "soft" | "relative" | "keep_fraction" | "lowpass" | "gaussian". */
tess_err_t tess_denoise_rule_parse(const char *name, tess_denoise_rule_t *rule);
const char *tess_denoise_rule_name(tess_denoise_rule_t rule);

/* A mesh for an ndim grid over comm: "slab" (one axis "x"), "pencil" (two
 * axes "x", "y"; 3-D only), "auto" (pencil when 3-D and the ranks outnumber
 * n[0]); a 1-D grid gets one axis "r" and the field is replicated on it.
 * Collective; the caller destroys *mesh. */
tess_err_t tess_denoise_mesh_create(MPI_Comm comm, int ndim, const int64_t n[],
                                    const char *decomposition, tess_mesh_t **mesh);

/* Run the study on `mesh` (one axis, or two for a 3-D pencil; a 1-D grid is
 * replicated over any one-axis mesh). Collective on the mesh; every rank
 * gets the same *res. Bad options: TESS_ERR_ARG naming the field. */
tess_err_t tess_denoise_run(tess_mesh_t *mesh, const tess_denoise_options_t *opts,
                            tess_denoise_result_t *res);
/* Destroy the kept fields. Safe on a zeroed or already freed result. */
void tess_denoise_result_free(tess_denoise_result_t *res);

/* Write the kept fields to `path` (HDF5 + XDMF, through the checkpoint
 * writer: fields/clean, fields/noisy, fields/denoised) with the metrics as
 * attributes; meta (may be NULL) names the study, deck and seed. Device
 * fields are staged through host memory: the file is the same format as a
 * host run's. Collective. */
tess_err_t tess_denoise_write_h5(MPI_Comm comm, const char *path, const tess_denoise_result_t *res,
                                 const tess_checkpoint_meta_t *meta);

/* Order-free fingerprint of an f64 array: the sum mod 2^64 of a mix of each
 * value's bits with its global linear index, each element counted once
 * (replicas over unused mesh axes are not added twice). Equal on any rank
 * count iff (with overwhelming probability) the arrays are bitwise equal.
 * Host or device arrays (cuFFT builds: the local sum is a kernel; the same
 * hash as for the same values on the host). Collective on the array's mesh. */
tess_err_t tess_denoise_fingerprint(const tess_array_t *a, uint64_t *hash);
TESS_API_END
#endif
