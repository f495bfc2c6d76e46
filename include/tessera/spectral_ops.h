/* include/tessera/spectral_ops.h: operators on distributed spectra.
 * A spectrum is a complex Tessera array produced by a tess_fft plan (any
 * spec: natural or transposed layout, batch dims leading). A grid tells the
 * operators which real-space grid it came from, so they can compute the
 * wavenumber of every local element wherever it lives.
 *
 * Conventions: the domain of dim d is [0, L_d) (default L_d = 2 pi), mode
 * index m of coordinate i is i for i <= n/2 and i - n above (so m lies in
 * (-n/2, n/2]), wavenumber k = 2 pi m / L. In a half spectrum (r2c) the last
 * dim holds m = 0..n/2 and every mode with 0 < m < n/2 (n even) or
 * 0 < m <= n/2 (n odd) stands for itself and its conjugate: its "weight" is 2.
 *
 * All reductions are deterministic: maxima by MPI MAX, counts as exact
 * integer sums, energies by tess_sum (exact), so every result is the same on
 * any rank count. Calls are collective on the array's mesh. */
#ifndef TESSERA_SPECTRAL_OPS_H
#define TESSERA_SPECTRAL_OPS_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>
#include <tessera/array.h>
#include <tessera/fft.h>

typedef struct {
  int rank;                  /* transformed trailing dims, 1..3 */
  int64_t n[3];              /* real-space sizes */
  int half;                  /* 1: r2c half spectrum in the last dim */
  double length[3];          /* domain lengths; 0 means 2 pi */
} tess_spectral_grid_t;

/* The grid of a plan's spectrum side (lengths 2 pi). */
tess_err_t tess_spectral_grid_from_plan(const tess_fft_plan_t *plan, tess_spectral_grid_t *g);

/* Signed mode index of coordinate i along a dim of real size n (half: i). */
int64_t tess_spectral_mode(int64_t i, int64_t n, int half);
/* Wavenumber 2 pi m / L of coordinate i along transform dim d. */
double tess_spectral_wavenumber(const tess_spectral_grid_t *g, int d, int64_t i);

/* Visit every local element of spectrum X: m[] mode indices and k[] wavenumbers
 * of the transform dims, its Hermitian weight (1 or 2), a pointer to the
 * element (c64 or c128) and its global linear index. Not collective. */
typedef void (*tess_spectral_visit_fn)(const int64_t m[], const double k[], int weight,
                                       void *elem, int64_t gidx, void *ctx);
tess_err_t tess_spectral_foreach(tess_array_t *X, const tess_spectral_grid_t *g,
                                 tess_spectral_visit_fn fn, void *ctx);

/* ---- thresholds ----------------------------------------------------------- */
typedef enum {
  TESS_THRESH_HARD = 0,      /* keep |c| >= value, zero the rest */
  TESS_THRESH_SOFT,          /* c -> c * max(0, 1 - value/|c|) */
  TESS_THRESH_RELATIVE,      /* hard at value * max|c| (global max) */
  TESS_THRESH_KEEP_FRACTION  /* keep the round(value * count) largest |c| */
} tess_thresh_rule_t;

typedef struct {
  int64_t kept, total;            /* stored coefficients (exact counts) */
  int64_t kept_modes, total_modes;/* the same with Hermitian weights (real DOF) */
  double threshold;               /* magnitude threshold applied (hard/soft/relative) */
  double max_abs;                 /* global max |c| before thresholding */
} tess_thresh_stats_t;

/* In place. KEEP_FRACTION counts stored coefficients and breaks ties in |c|
 * by the smaller global linear index, so the kept set is the same on any
 * rank count. value: >= 0 (a fraction in [0, 1] for KEEP_FRACTION and
 * RELATIVE). stats may be NULL. */
tess_err_t tess_spectral_threshold(tess_array_t *X, const tess_spectral_grid_t *g,
                                   tess_thresh_rule_t rule, double value,
                                   tess_thresh_stats_t *stats);
/* Count the nonzero coefficients (kept, kept_modes) and all of them (total,
 * total_modes) after a filter; max_abs is filled, threshold is 0. */
tess_err_t tess_spectral_count_nonzero(tess_array_t *X, const tess_spectral_grid_t *g,
                                       tess_thresh_stats_t *stats);
/* "hard", "soft", "relative", "keep_fraction" -> rule; TESS_ERR_ARG listing them. */
tess_err_t tess_thresh_rule_parse(const char *name, tess_thresh_rule_t *rule);

/* ---- filters (in place) ----------------------------------------------------- */
/* Zero modes with |k| > kcut. */
tess_err_t tess_spectral_lowpass(tess_array_t *X, const tess_spectral_grid_t *g, double kcut);
/* Multiply by exp(-|k|^2 / (2 kwidth^2)). */
tess_err_t tess_spectral_gaussian(tess_array_t *X, const tess_spectral_grid_t *g, double kwidth);
/* 2/3 rule: zero modes with 3 |m_d| > n_d in any dim. */
tess_err_t tess_spectral_dealias(tess_array_t *X, const tess_spectral_grid_t *g);

/* ---- derivatives ------------------------------------------------------------ */
/* Y[d] = i k_d X for d < g->rank (Y[d] may not be X). The Nyquist mode of an
 * even dim is set to 0 in first derivatives (keeps real fields real). */
tess_err_t tess_spectral_gradient(const tess_array_t *X, const tess_spectral_grid_t *g,
                                  tess_array_t *const Y[]);
/* Y = sum_d i k_d X[d]. */
tess_err_t tess_spectral_divergence(const tess_array_t *const X[], const tess_spectral_grid_t *g,
                                    tess_array_t *Y);
/* Y = -|k|^2 X (Y may be X). */
tess_err_t tess_spectral_laplacian(const tess_array_t *X, const tess_spectral_grid_t *g,
                                   tess_array_t *Y);
/* Periodic Poisson: Y = -X / |k|^2, Y(k=0) = 0 (zero-mean solution of
 * lap u = f with f's mean removed). Y may be X. */
tess_err_t tess_spectral_inverse_laplacian(const tess_array_t *X, const tess_spectral_grid_t *g,
                                           tess_array_t *Y);
TESS_API_END
#endif
