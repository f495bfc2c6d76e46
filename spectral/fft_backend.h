/* spectral/fft_backend.h: the boundary between the distributed FFT engine
 * (spectral/fft_plan.c: decomposition, transposes, line batching) and the
 * library that transforms a batch of 1-D lines (FFTW now, cuFFT later).
 *
 * The engine hands a backend ONE shape of work: B lines of length n, stored
 * either contiguously (line b at b*dist, "LINES_CONTIG") or interleaved
 * (element t of line b at t*pitch + b, "LINES_INTERLEAVED"), in scratch the engine
 * allocated in the backend's memory space. The backend plans that shape once
 * and executes it on the same scratch every time, so a line's arithmetic never
 * depends on where the line came from (the determinism contract of fft.h).
 * Private to spectral/. */
#ifndef TESSERA_SPECTRAL_FFT_BACKEND_H
#define TESSERA_SPECTRAL_FFT_BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/error.h>
#include <tessera/memory.h>

typedef enum { FFT_LINE_C2C = 0, FFT_LINE_R2C, FFT_LINE_C2R } fft_line_kind_t;
typedef enum { FFT_LINES_CONTIG = 0, FFT_LINES_INTERLEAVED = 1 } fft_line_layout_t;

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
} fft_line_desc_t;

typedef struct tess_fft_backend {
  const char *name;
  /* 1 if the backend can work on memory in `space`. */
  int (*accepts)(tess_memspace_t space);
  tess_memspace_t scratch_space;
  /* Plan `d` on scratch in/out (not aliased; contents may be destroyed). */
  tess_err_t (*line_plan)(const fft_line_desc_t *d, void *in, void *out, void **lp);
  /* Transform the batch in `in` into `out` (the planning scratch). */
  void (*line_exec)(void *lp, void *in, void *out);
  void (*line_destroy)(void *lp);
  /* Collective on comm: plan the n shapes d[i] into lp[i] with a measuring
   * rigor so that every rank gets the SAME algorithm for each shape (ranks
   * measuring on their own could pick different ones, which round
   * differently). `wisdom_file` (may be NULL) is read before and written
   * after by rank 0. On error no lp[i] is left allocated. */
  tess_err_t (*line_plan_measured)(MPI_Comm comm, const char *wisdom_file, int n,
                                   const fft_line_desc_t *d, void *in, void *out, void **lp);
} tess_fft_backend_t;

extern const tess_fft_backend_t tess_fft_backend_fftw;

/* Pick by name (NULL/""/"auto": the first that accepts `space`). */
tess_err_t tess_fft_backend_select(const char *name, tess_memspace_t space,
                                   const tess_fft_backend_t **be);
#endif
