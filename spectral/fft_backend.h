/* spectral/fft_backend.h: the boundary between the distributed FFT engine
 * and a backend. The engine is device-neutral: fft_plan.c plans the steps
 * (line transforms, box copies, transposes), fft_layout.c holds the
 * geometry (line batches, boxes, spec forms), fft_execute.c drives the
 * steps, and each transpose is a packed reshard (src/reshard.c, moving its
 * data through tess_comm). A backend owns everything that touches the data:
 * transforming a batch of 1-D lines (FFTW; cuFFT's cufftPlanMany in
 * cuda/fft_backend_cufft.cu, with its own device executor), the line copies in and out of scratch with the scaling,
 * the box copies between layouts, and the plan's work buffers, allocated
 * once at plan time with its buf_alloc in its memory space (the EXECUTOR
 * ops below; tess_fft_execute allocates nothing). FFTW's host executor is
 * fft_exec_host.c (cache-batched strided copies); fft_registry.c lists the
 * backends and picks one (tess_fft_backend_select).
 *
 * The engine hands a backend ONE shape of work: B lines of length n, stored
 * either contiguously (line b at b*dist, "LINES_CONTIG") or interleaved
 * (element t of line b at t*pitch + b, "LINES_INTERLEAVED"), in the plan's
 * scratch. The backend plans that shape once and executes it on the same
 * scratch every time, or, for a `direct` shape, on rows of a box laid out
 * and aligned as that scratch (line_fits), so a line's arithmetic never
 * depends on where the line came from (the determinism contract of fft.h).
 * Private to spectral/. */
#ifndef TESSERA_SPECTRAL_FFT_BACKEND_H
#define TESSERA_SPECTRAL_FFT_BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/config.h>
#include <tessera/error.h>
#include <tessera/memory.h>
#include <tessera/mesh.h>

typedef enum { FFT_LINE_C2C = 0, FFT_LINE_R2C, FFT_LINE_C2R } fft_line_kind_t;
typedef enum { FFT_LINES_CONTIG = 0, FFT_LINES_INTERLEAVED = 1 } fft_line_layout_t;
enum { FFT_DIRECT_IN = 1u, FFT_DIRECT_OUT = 2u };

typedef struct {
  fft_line_kind_t kind;
  int single;                /* 1: f32/c64, 0: f64/c128 */
  int sign;                  /* -1 forward, +1 backward (c2c) */
  int64_t n;                 /* logical (real-space) line length */
  int64_t batch;             /* B */
  fft_line_layout_t layout;
  int64_t ipitch, opitch;    /* CONTIG: elements between line starts (>= length);
                                INTERLEAVED: between a line's elements (>= B) */
  unsigned rigor;            /* TESS_FFT_ESTIMATE / MEASURE / PATIENT */
  unsigned direct;           /* CONTIG only: FFT_DIRECT_IN: ipitch = the input line length,
                                FFT_DIRECT_OUT: opitch = the output's; the executor may run
                                the plan straight on a box's rows on that side (a plan
                                with a direct input keeps its input intact) */
} fft_line_desc_t;

/* ---- the engine's work, as the executor sees it ---- */

#define FFT_MAXD 4        /* box dims: flattened batch + up to 3 transform dims */

/* The local block of one distribution in one buffer, row-major, optionally
 * split along one dim into chunks (one per peer of an all-to-all), chunk q
 * stored contiguously at seg_off[q]. */
typedef struct {
  int buf;                 /* which plan buffer (fft_internal.h BUF_*) */
  int nd;
  int64_t ext[FFT_MAXD];   /* local extents of the whole box */
  size_t es;               /* element bytes */
  int split;               /* -1: plain row-major; else the dim split in chunks */
  int nseg;
  int64_t *seg_start;      /* chunk q holds [seg_start[q], +seg_len[q]) of dim split */
  int64_t *seg_len;
  size_t *seg_off;         /* byte offset of chunk q (row-major, ext[split]=seg_len[q]) */
} fft_box_t;

/* A run of elements of one line (or row) inside one chunk. */
typedef struct {
  int64_t t0, len;   /* range of the line's coordinate */
  char *ptr;         /* element t0 */
  size_t stride;     /* bytes between consecutive t */
} fft_seg_t;

/* A plain box stored "staged": as the input scratch images of the line step
 * that reads it next, B lines per image, laid out as that step's scratch
 * (layout, pitch; zero lanes past the last line). The reading step transforms
 * straight from the images, so the writing step's copy-out is the only copy
 * between the two (fft_layout.c sizes it, the executor writes it). Same
 * plans, same lines, same bits: only a copy pass is gone. */
typedef struct {
  int on;
  int inter;                 /* the reader's lines are interleaved */
  size_t es;                 /* element bytes */
  int64_t B, pitch;          /* the reader's batch and input pitch */
  int64_t nt, s;             /* the reader's line length, elements after its dim */
  int64_t img;               /* elements per image */
} fft_stage_t;

/* One FFT step for the executor: every line along box dim `dim` of src,
 * B at a time through the scratch, transformed by `lp`, scaled, into dst.
 * Everything it touches is the plan's: no allocation per execution. */
typedef struct {
  const fft_box_t *src, *dst;
  char *src_data, *dst_data;
  int dim;
  const fft_line_desc_t *line;
  void *lp;
  double scale;              /* 1.0: none */
  int stream;                /* copy out with streaming stores */
  int dst_hot;               /* dst is in cache (fft_execute.c): direct lines write it */
  int single;
  void *scr_in, *scr_out;    /* the plan's scratch, in the backend's space */
  fft_seg_t *seg;            /* the plan's workspace: one per chunk */
  const fft_stage_t *src_stage;   /* non-NULL: src is staged for this step */
  const fft_stage_t *dst_stage;   /* non-NULL: write dst staged for the next step */
} fft_lines_job_t;

/* A whole local transform in one backend plan (TESS_FFT_FAST_LOCAL, fft.h):
 * `howmany` arrays of `rank` dims n[], each row-major and contiguous, one
 * after the other (the local block when every transform dim is local). */
typedef struct {
  fft_line_kind_t kind;      /* C2C, R2C (forward) or C2R (backward) */
  int single, sign, rank;
  int64_t n[3];              /* real-space sizes (r2c/c2r: the last is the real length) */
  int64_t howmany;           /* arrays; 0: the plan does nothing */
  double scale;              /* applied to the output (1.0: none) */
} fft_local_desc_t;

typedef struct tess_fft_backend {
  const char *name;
  /* 1 if the backend can work on memory in `space`. */
  int (*accepts)(tess_memspace_t space);
  tess_memspace_t scratch_space;
  /* The fixed line batch B for lines of length n: a function of n only
   * (never of the rank count), so every rank plans the same line shapes. */
  int64_t (*line_batch)(int64_t n);
  /* Consecutive line steps run plane by plane where a plane (in + out) fits
   * in this many bytes (a cache: each plane read from memory once); 0: never. */
  size_t plane_group_bytes;
  /* Plan `d` on scratch in/out (not aliased; contents may be destroyed). */
  tess_err_t (*line_plan)(const fft_line_desc_t *d, void *in, void *out, void **lp);
  /* Transform the batch in `in` into `out` (the planning scratch, or for a
   * `direct` line other memory that line_fits accepts). */
  void (*line_exec)(void *lp, void *in, void *out);
  /* 1 if `in`/`out` (NULL: the scratch) are aligned as the planning scratch
   * was, so the plan runs on them doing the same arithmetic. */
  int (*line_fits)(const void *lp, const void *in, const void *out);
  void (*line_destroy)(void *lp);
  /* Collective on the mesh: plan the n shapes d[i] into lp[i] with a measuring
   * rigor so that every rank gets the SAME algorithm for each shape (ranks
   * measuring on their own could pick different ones, which round
   * differently). `wisdom_file` (may be NULL) is read before and written
   * after by rank 0. On error no lp[i] is left allocated. */
  tess_err_t (*line_plan_measured)(tess_mesh_t *mesh, const char *wisdom_file, int n,
                                   const fft_line_desc_t *d, void *in, void *out, void **lp);

  /* ---- executor ---- */
  /* Work buffers and scratch in this backend's memory space (aligned,
   * zero-filled: staged boxes rely on zero lanes past their last line). */
  tess_err_t (*buf_alloc)(size_t bytes, void **ptr);
  void (*buf_free)(void **ptr);                  /* safe on NULL; sets NULL */
  /* Group planes (between line steps) smaller than this many bytes are
   * staged (fft_stage_t) rather than kept in place; 0: never. */
  size_t (*plane_stage_max)(void);
  /* One FFT step (copy-in, line_exec, scaling, copy-out). */
  void (*exec_lines)(const struct tess_fft_backend *be, const fft_lines_job_t *job);
  /* Repack box a (in `src`) into box z (in `dst`): same extents, other
   * layouts. sa, sz: workspace of one fft_seg_t per chunk. */
  void (*exec_copy)(const fft_box_t *a, const char *src, const fft_box_t *z, char *dst,
                    fft_seg_t *sa, fft_seg_t *sz);
  /* NULL, or called once at the end of every execution: wait for the work
   * enqueued (a device executor's stream) and return the first failure of
   * this execution's exec_lines/exec_copy/line_exec (which cannot return
   * one), forgetting it. */
  tess_err_t (*exec_finish)(void);

  /* ---- whole local transforms (optional: NULL where a backend has none) ---- */
  /* Plan d (made once; no data is touched). */
  tess_err_t (*local_plan)(const fft_local_desc_t *d, void **lp);
  /* Transform in -> out (c2c: in may be out). `in` is left as it was (a C2R
   * plan transforms a copy). Failures are reported by exec_finish. */
  void (*local_exec)(void *lp, const void *in, void *out);
  void (*local_destroy)(void *lp);
} tess_fft_backend_t;

/* The host executor (fft_exec_host.c), shared by host backends; its line
 * batch (fft_layout.c) and plane budget (about an L2 cache). */
int64_t fft_line_batch(int64_t n);
#define FFT_HOST_PLANE_BYTES ((size_t)4 << 20)
tess_err_t fft_host_buf_alloc(size_t bytes, void **ptr);
void fft_host_buf_free(void **ptr);
size_t fft_host_plane_stage_max(void);
void fft_host_exec_lines(const tess_fft_backend_t *be, const fft_lines_job_t *job);
void fft_host_exec_copy(const fft_box_t *a, const char *src, const fft_box_t *z, char *dst,
                        fft_seg_t *sa, fft_seg_t *sz);

extern const tess_fft_backend_t tess_fft_backend_fftw;
#if TESSERA_HAVE_CUFFT
/* cuda/fft_backend_cufft.cu: device arrays (its own device executor). */
extern const tess_fft_backend_t tess_fft_backend_cufft;
#endif

/* Pick by name (NULL/""/"auto": the first that accepts `space`);
 * fft_registry.c. */
tess_err_t tess_fft_backend_select(const char *name, tess_memspace_t space,
                                   const tess_fft_backend_t **be);
#endif
