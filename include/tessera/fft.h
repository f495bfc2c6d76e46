/* include/tessera/fft.h: distributed FFTs on Tessera arrays (slab and pencil).
 *
 * A plan transforms the LAST `rank` dimensions (1, 2 or 3) of an array; any
 * leading dimensions are a batch (several fields at once; they may be sharded
 * too). The decomposition is read from the arrays' ShardSpecs:
 *
 *   natural form     transform dims 0..g-1 sharded over g distinct mesh axes,
 *                    the rest local (g <= rank-1). g = 1: slab; g = 2: pencil.
 *   transposed form  the natural spec shifted right by one dimension: dim 0
 *                    local, dims 1..g sharded (what the forward transform
 *                    produces when it skips the final transposes, like
 *                    FFTW_MPI_TRANSPOSED_OUT; the array is still indexed by
 *                    natural global indices, only its distribution differs).
 *
 * `in` and `out` may each be in either form; the plan inserts the transposes
 * needed (tess_fft_spec() builds either spec). Sizes need not divide the
 * process grid; ranks may own nothing (P > N works with pencils).
 *
 * Kinds follow the dtypes: c64->c64 / c128->c128 (c2c, f32 / f64),
 * f32->c64 / f64->c128 (r2c, forward only: last dim n -> n/2+1),
 * c64->f32 / c128->f64 (c2r, backward only; `out` gives the real length n).
 *
 * Sign and normalisation: FORWARD computes sum_x f(x) exp(-2 pi i k.x/n),
 * BACKWARD the same with +i; neither scales (FFTW's convention) unless a
 * TESS_FFT_NORM_* flag says so. backward(forward(f)) = N f with N the product
 * of the transformed (real-space) sizes.
 *
 * Determinism: every 1-D line is transformed by one backend plan whose size,
 * batch, strides and alignment depend only on the line length and on whether
 * the line is the last dimension, never on the rank count. Lines are copied
 * into an aligned scratch in fixed batches (the last batch zero-padded), so
 * a plan gives bitwise the same result on 1, 2, 3, 4... ranks and for slab
 * and pencil grids. With MEASURE/PATIENT, rank 0 plans and broadcasts FFTW
 * wisdom so all ranks of a run share algorithms; bitwise identity ACROSS runs
 * needs ESTIMATE or the same wisdom file (opts.wisdom_file). The one opt-in
 * exception: TESS_FFT_FAST_LOCAL (below). */
#ifndef TESSERA_FFT_H
#define TESSERA_FFT_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>
#include <tessera/array.h>

typedef struct tess_fft_plan tess_fft_plan_t;   /* opaque */

typedef enum { TESS_FFT_FORWARD = -1, TESS_FFT_BACKWARD = 1 } tess_fft_dir_t;

enum {
  TESS_FFT_ESTIMATE = 1u << 0,        /* default planner rigor */
  TESS_FFT_MEASURE = 1u << 1,
  TESS_FFT_PATIENT = 1u << 2,
  TESS_FFT_NORM_BACKWARD = 1u << 4,   /* scale the backward transform by 1/N */
  TESS_FFT_NORM_ORTHO = 1u << 5,      /* scale both directions by 1/sqrt(N) */
  TESS_FFT_NORM_FORWARD = 1u << 6,   /* scale the forward transform by 1/N */
  /* Where every transformed dim is local (1 rank, or only batch dims
   * sharded): one multi-dim backend plan (cuFFT's own 2-D/3-D algorithm)
   * instead of the line engine; as fast as the vendor library. NOT bitwise
   * identical to the line engine, so results then differ in the last bits
   * between rank counts (see Determinism above). Ignored where a transform
   * dim is distributed, a transformed size is 1, or the backend has no such
   * plan (FFTW); tess_fft_plan_info says whether it took effect. */
  TESS_FFT_FAST_LOCAL = 1u << 8
};

typedef enum { TESS_FFT_LAYOUT_NATURAL = 0, TESS_FFT_LAYOUT_TRANSPOSED = 1 } tess_fft_layout_t;

typedef struct {
  int rank;                  /* trailing dims transformed, 1..3; 0 = all (ndim <= 3) */
  unsigned flags;            /* planner rigor | normalisation; 0 = ESTIMATE, no scaling */
  const char *backend;       /* NULL, "" or "auto": first that accepts the memory (device
                                arrays: "cufft" in CUDA builds; host: "fftw"); or a name.
                                Which memory to make arrays in: tess_fft_backend_memspace */
  const char *wisdom_file;   /* MEASURE/PATIENT: imported before planning (if it exists)
                                and written after, by rank 0; NULL = none */
} tess_fft_opts_t;

/* Collective on the mesh of `in`. Reads shapes and specs, not data; planning
 * overwrites nothing the caller owns. Transforms all dims (ndim <= 3).
 * Errors: TESS_ERR_ARG/TESS_ERR_SHAPE (dtype, shape or spec mismatch, with the
 * values), TESS_ERR_UNSUPPORTED (spec in neither form, unknown backend),
 * TESS_ERR_FFT (backend planning failed). */
tess_err_t tess_fft_plan_create(const tess_array_t *in, const tess_array_t *out,
                                tess_fft_dir_t dir, unsigned flags, tess_fft_plan_t **plan);
/* Same with options (batched plans: opts->rank < ndim). opts may be NULL. */
tess_err_t tess_fft_plan_create_opts(const tess_array_t *in, const tess_array_t *out,
                                     tess_fft_dir_t dir, const tess_fft_opts_t *opts,
                                     tess_fft_plan_t **plan);
/* Collective. Arrays with the same mesh, dtypes, shapes and specs as at
 * planning. `in` is not modified, except in place: for c2c, out may be in,
 * or an array of out's spec over in's memory (tess_array_create_with_data;
 * see docs/spectral.md). Same bits either way. */
tess_err_t tess_fft_execute(const tess_fft_plan_t *plan, const tess_array_t *in,
                            tess_array_t *out);
/* Safe on NULL; sets *plan to NULL. Not collective. */
void tess_fft_plan_destroy(tess_fft_plan_t **plan);

/* The spec of the last `rank` dims of an ndim-dim array in natural or
 * transposed form over the given mesh axes (naxes = g: 0 all local, 1 slab,
 * 2 pencil), leading batch dims replicated. */
tess_err_t tess_fft_spec(int ndim, int rank, int naxes, const int axes[],
                         tess_fft_layout_t layout, tess_shardspec_t *spec);
/* Collective. A new array for the output of a forward transform of `in`:
 * complex of in's precision, last dim n/2+1 for a real `in`, in `layout`
 * (the decomposition axes are read from in's spec, which must be in natural
 * form). rank as in tess_fft_opts_t. */
tess_err_t tess_fft_create_output(const tess_array_t *in, int rank, tess_fft_layout_t layout,
                                  tess_array_t **out);

/* What a plan does, for logs and the study summary. */
typedef struct {
  int rank;                  /* transformed dims */
  int64_t n[3];              /* real-space sizes of the transformed dims */
  int half;                  /* r2c/c2r: the complex side holds n/2+1 in the last dim */
  int grid_axes;             /* g: 0 local, 1 slab, 2 pencil */
  int ntransposes;           /* all-to-alls per execution */
  const char *backend;       /* "fftw" or "cufft" */
  int64_t batch_lines[3];    /* fixed line batch B per transformed dim (the backend's) */
  int local_plan;            /* 1: TESS_FFT_FAST_LOCAL took effect (one backend plan) */
  int passes;                /* sweeps over the local data per execution: line steps (a group
                                of cache-resident planes counts once), box copies, all-to-alls;
                                a local plan: one per dim (cuFFT's own kernels may differ) plus
                                its scaling and its C2R input copy */
} tess_fft_info_t;
tess_err_t tess_fft_plan_info(const tess_fft_plan_t *plan, tess_fft_info_t *info);

/* Names of the backends compiled in, in the order auto-selection tries them. */
int tess_fft_backend_count(void);
const char *tess_fft_backend_name(int i);
/* The memory a backend name asks for, for code that makes its arrays from
 * a name (the denoising study's [fft] backend): a backend that takes device
 * arrays ("cufft") gives TESS_MEM_DEVICE, one that takes host arrays
 * ("fftw") TESS_MEM_HOST; NULL, "" or "auto" give TESS_MEM_DEVICE when this
 * build has a device backend (cuFFT) and this process sees a GPU
 * (tess_device_available), else TESS_MEM_HOST. Local, not collective: a
 * caller on several ranks agrees on the answer itself. Errors:
 * TESS_ERR_UNSUPPORTED for a name this build lacks (listing its backends). */
tess_err_t tess_fft_backend_memspace(const char *name, tess_memspace_t *space);
TESS_API_END
#endif
