/* spectral/fft_backend_fftw.c: the FFTW backend (host memory, f64 and f32).
 * One FFTW "many" plan per line shape (n, B, layout, kind, sign); executed
 * with the new-array interface on the scratch it was planned on, so the
 * alignment FFTW saw at planning is the alignment it always gets.
 * The data movement around the lines (copies, scaling, buffers) is the host
 * executor's (fft_exec_host.c). Collectives go through tess_comm.
 * Wisdom: FFTW keeps separate wisdom for double and single precision; a
 * wisdom file `path` holds the double part and `path.f32` the single part. */
#include "fft_backend.h"

#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tessera/comm.h>
#include <tessera/fft.h>
#include <tessera/log.h>

typedef struct {
  int single;
  fft_line_kind_t kind;
  int align_in, align_out;   /* fftw_alignment_of the planning scratch */
  union { fftw_plan d; fftwf_plan s; } p;
} fftw_line_t;

static int fftw_accepts(tess_memspace_t space) { return space == TESS_MEM_HOST; }

static unsigned fftw_rigor(unsigned rigor)
{
  if (rigor & TESS_FFT_PATIENT) return FFTW_PATIENT;
  if (rigor & TESS_FFT_MEASURE) return FFTW_MEASURE;
  return FFTW_ESTIMATE;
}

static int align_of(int single, const void *p)
{
  return single ? fftwf_alignment_of((float *)p) : fftw_alignment_of((double *)p);
}

/* Plan one shape with FFTW flags `extra` added (FFTW_WISDOM_ONLY: NULL plan,
 * reported as TESS_ERR_FFT, unless wisdom has it). */
static tess_err_t plan_line(const fft_line_desc_t *d, unsigned extra, void *in, void *out,
                            void **lp)
{
  tess_err_t err = TESS_OK;
  fftw_line_t *l = NULL;
  int n = (int)d->n, howmany = (int)d->batch;
  int m = d->kind == FFT_LINE_C2C ? n : n / 2 + 1;      /* complex length */
  int nin = d->kind == FFT_LINE_R2C ? n : m;             /* input line length */
  int nout = d->kind == FFT_LINE_C2R ? n : m;
  int inter = d->layout == FFT_LINES_INTERLEAVED;
  int ip = (int)(d->ipitch ? d->ipitch : inter ? howmany : nin);
  int op = (int)(d->opitch ? d->opitch : inter ? howmany : nout);
  int is = inter ? ip : 1, id = inter ? 1 : ip;
  int os = inter ? op : 1, od = inter ? 1 : op;
  /* a direct line may read the caller's input array: it must stay intact */
  unsigned keep = d->direct & FFT_DIRECT_IN ? FFTW_PRESERVE_INPUT : FFTW_DESTROY_INPUT;
  unsigned flags = fftw_rigor(d->rigor) | keep | extra;

  *lp = NULL;
  TESS_REQUIRE(d->n > 0 && d->n < INT32_MAX && d->batch > 0, TESS_ERR_ARG,
               "line length %lld / batch %lld out of FFTW's range", (long long)d->n,
               (long long)d->batch);
  l = calloc(1, sizeof *l);
  TESS_REQUIRE(l != NULL, TESS_ERR_MEM, "FFTW line plan");
  l->single = d->single;
  l->kind = d->kind;
  l->align_in = align_of(d->single, in);
  l->align_out = align_of(d->single, out);
  if (!d->single) {
    if (d->kind == FFT_LINE_C2C)
      l->p.d = fftw_plan_many_dft(1, &n, howmany, in, NULL, is, id, out, NULL, os, od,
                                  d->sign < 0 ? FFTW_FORWARD : FFTW_BACKWARD, flags);
    else if (d->kind == FFT_LINE_R2C)
      l->p.d = fftw_plan_many_dft_r2c(1, &n, howmany, in, NULL, is, id, out, NULL, os, od, flags);
    else
      l->p.d = fftw_plan_many_dft_c2r(1, &n, howmany, in, NULL, is, id, out, NULL, os, od, flags);
    TESS_REQUIRE(l->p.d != NULL, TESS_ERR_FFT, "FFTW could not plan n=%d batch=%d", n, howmany);
  } else {
    if (d->kind == FFT_LINE_C2C)
      l->p.s = fftwf_plan_many_dft(1, &n, howmany, in, NULL, is, id, out, NULL, os, od,
                                   d->sign < 0 ? FFTW_FORWARD : FFTW_BACKWARD, flags);
    else if (d->kind == FFT_LINE_R2C)
      l->p.s = fftwf_plan_many_dft_r2c(1, &n, howmany, in, NULL, is, id, out, NULL, os, od, flags);
    else
      l->p.s = fftwf_plan_many_dft_c2r(1, &n, howmany, in, NULL, is, id, out, NULL, os, od, flags);
    TESS_REQUIRE(l->p.s != NULL, TESS_ERR_FFT, "FFTW could not plan n=%d batch=%d (f32)", n,
                 howmany);
  }
  *lp = l;
  l = NULL;
cleanup:
  free(l);
  return err;
}

static tess_err_t fftw_line_plan(const fft_line_desc_t *d, void *in, void *out, void **lp)
{
  return plan_line(d, 0, in, out, lp);
}

static void fftw_line_exec(void *lp, void *in, void *out)
{
  fftw_line_t *l = lp;
  if (!l->single) {
    if (l->kind == FFT_LINE_C2C) fftw_execute_dft(l->p.d, in, out);
    else if (l->kind == FFT_LINE_R2C) fftw_execute_dft_r2c(l->p.d, in, out);
    else fftw_execute_dft_c2r(l->p.d, in, out);
  } else {
    if (l->kind == FFT_LINE_C2C) fftwf_execute_dft(l->p.s, in, out);
    else if (l->kind == FFT_LINE_R2C) fftwf_execute_dft_r2c(l->p.s, in, out);
    else fftwf_execute_dft_c2r(l->p.s, in, out);
  }
}

static int fftw_line_fits(const void *lp, const void *in, const void *out)
{
  const fftw_line_t *l = lp;
  return (!in || align_of(l->single, in) == l->align_in) &&
         (!out || align_of(l->single, out) == l->align_out);
}

static void fftw_line_destroy(void *lp)
{
  fftw_line_t *l = lp;
  if (!l) return;
  if (!l->single) fftw_destroy_plan(l->p.d);
  else fftwf_destroy_plan(l->p.s);
  free(l);
}

static int comm_rank(tess_mesh_t *mesh) { return tess_mesh_rank(mesh); }

static tess_err_t wisdom_import_file(const char *file)
{
  tess_err_t err = TESS_OK;
  char f32[4096];
  snprintf(f32, sizeof f32, "%s.f32", file);
  if (access(file, R_OK) == 0)
    TESS_REQUIRE(fftw_import_wisdom_from_filename(file), TESS_ERR_IO,
                 "FFTW wisdom file '%s' is unreadable or malformed", file);
  if (access(f32, R_OK) == 0)
    TESS_REQUIRE(fftwf_import_wisdom_from_filename(f32), TESS_ERR_IO,
                 "FFTW wisdom file '%s' is unreadable or malformed", f32);
cleanup:
  return err;
}

static tess_err_t wisdom_export_file(const char *file)
{
  tess_err_t err = TESS_OK;
  char f32[4096];
  snprintf(f32, sizeof f32, "%s.f32", file);
  TESS_REQUIRE(fftw_export_wisdom_to_filename(file), TESS_ERR_IO,
               "cannot write FFTW wisdom file '%s'", file);
  TESS_REQUIRE(fftwf_export_wisdom_to_filename(f32), TESS_ERR_IO,
               "cannot write FFTW wisdom file '%s'", f32);
cleanup:
  return err;
}

/* Rank 0's string to all: its length, then its bytes as whole int64 words
 * (tess_comm moves typed elements; the padding past the NUL is ignored). */
static tess_err_t bcast_string(tess_mesh_t *mesh, char **s)
{
  tess_err_t err = TESS_OK;
  int64_t len = (comm_rank(mesh) == 0 && *s) ? (int64_t)strlen(*s) + 1 : 0;
  size_t words = 0;
  char *w = NULL;
  TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, &len, 1, TESS_I64, 0, TESS_MEM_HOST, NULL));
  words = ((size_t)len + 7) / 8;
  w = calloc(words + 1, 8);
  TESS_REQUIRE(w != NULL, TESS_ERR_MEM, "wisdom string of %lld bytes", (long long)len);
  if (comm_rank(mesh) == 0 && len) memcpy(w, *s, (size_t)len);
  TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, w, words, TESS_I64, 0, TESS_MEM_HOST, NULL));
  if (comm_rank(mesh) != 0) {
    *s = w;
    w = NULL;
  }
cleanup:
  free(w);
  return err;
}

/* Rank 0's wisdom (both precisions) replaces what the other ranks know. */
static tess_err_t wisdom_share(tess_mesh_t *mesh)
{
  tess_err_t err = TESS_OK;
  char *wd = NULL, *ws = NULL;
  int root = comm_rank(mesh) == 0;
  if (root) {
    wd = fftw_export_wisdom_to_string();
    ws = fftwf_export_wisdom_to_string();
  }
  TESS_CHECK(bcast_string(mesh, &wd));
  TESS_CHECK(bcast_string(mesh, &ws));
  if (!root) {
    fftw_forget_wisdom();
    fftwf_forget_wisdom();
    TESS_REQUIRE(fftw_import_wisdom_from_string(wd), TESS_ERR_FFT, "cannot import FFTW wisdom");
    TESS_REQUIRE(fftwf_import_wisdom_from_string(ws), TESS_ERR_FFT, "cannot import FFTW wisdom");
  }
cleanup:
  free(wd);   /* FFTW's export strings are malloc'ed; ours too */
  free(ws);
  return err;
}

/* FNV-1a of both precisions' wisdom: has planning added anything? */
static uint64_t fnv1a(uint64_t h, const char *s)
{
  for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

#define FNV_OFFSET 1469598103934665603ull

static uint64_t wisdom_hash(const char *wd, const char *ws)
{
  return fnv1a(fnv1a(FNV_OFFSET, wd), ws);
}

static uint64_t wisdom_fingerprint(void)
{
  char *wd = fftw_export_wisdom_to_string(), *ws = fftwf_export_wisdom_to_string();
  uint64_t h = wisdom_hash(wd, ws);
  free(wd);
  free(ws);
  return h;
}

/* FFTW's own description of a plan's algorithm (solvers, radices, sizes). */
static uint64_t plan_fingerprint(const fftw_line_t *l)
{
  char *s = l->single ? fftwf_sprint_plan(l->p.s) : fftw_sprint_plan(l->p.d);
  uint64_t h = fnv1a(FNV_OFFSET, s);
  free(s);
  return h;
}

static void destroy_all(int n, void **lp)
{
  for (int i = 0; i < n; i++) {
    fftw_line_destroy(lp[i]);
    lp[i] = NULL;
  }
}

/* Seconds per execution of `l`: the best of TIME_ROUNDS rounds, each long
 * enough (>= 1 ms) for the clock. Called right after FFTW measured the plan,
 * which zeroed the input first, so no round runs on denormals. */
#define TIME_ROUNDS 5
static double time_line(fftw_line_t *l, void *in, void *out)
{
  double best = 1e300;
  int reps = 1;
  for (double t = 0; t < 1e-3 && reps < (1 << 20); reps *= 2) {
    double t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++) fftw_line_exec(l, in, out);
    t = MPI_Wtime() - t0;
  }
  for (int k = 0; k < TIME_ROUNDS; k++) {
    double t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++) fftw_line_exec(l, in, out);
    double t = (MPI_Wtime() - t0) / reps;
    if (t < best) best = t;
  }
  return best;
}

static void wisdom_restore(const char *wd, const char *ws)
{
  fftw_forget_wisdom();
  fftwf_forget_wisdom();
  (void)fftw_import_wisdom_from_string(wd);   /* strings FFTW itself exported */
  (void)fftwf_import_wisdom_from_string(ws);
}

/* One FFTW_MEASURE pass times each candidate algorithm once; on a shared
 * machine a disturbed timing often keeps a plan 1.5x slower than the best it
 * saw (64 interleaved lines of 128 here: "n1fv_128" at 11 us a batch, a
 * ct-dit/4 loop at 16 us, chosen in 1 to 5 runs of 6). So rank 0 plans each
 * shape that its wisdom does not already hold MEASURE_TRIALS times from the
 * same starting wisdom, times each plan itself, and keeps the wisdom of the
 * fastest. A shape found in wisdom (a wisdom file) is taken as it is. */
#define MEASURE_TRIALS 3
static tess_err_t plan_best_of(const fft_line_desc_t *d, void *in, void *out)
{
  tess_err_t err = TESS_OK;
  char *base_d = fftw_export_wisdom_to_string(), *base_s = fftwf_export_wisdom_to_string();
  char *best_d = NULL, *best_s = NULL;
  uint64_t h0 = wisdom_hash(base_d, base_s);
  double best = 1e300;
  void *lp = NULL;
  TESS_REQUIRE(base_d && base_s, TESS_ERR_MEM, "FFTW wisdom export");
  for (int t = 0; t < MEASURE_TRIALS; t++) {
    if (t > 0) wisdom_restore(base_d, base_s);
    TESS_CHECK(plan_line(d, 0, in, out, &lp));
    if (t == 0 && wisdom_fingerprint() == h0) break;   /* all from wisdom */
    double s = time_line(lp, in, out);
    tess_log(TESS_LOG_DEBUG, "FFT line n=%lld batch %lld %s: MEASURE trial %d runs %.2f us",
             (long long)d->n, (long long)d->batch,
             d->layout == FFT_LINES_INTERLEAVED ? "interleaved" : "contiguous", t, s * 1e6);
    fftw_line_destroy(lp);
    lp = NULL;
    if (s < best) {
      best = s;
      free(best_d);
      free(best_s);
      best_d = fftw_export_wisdom_to_string();
      best_s = fftwf_export_wisdom_to_string();
      TESS_REQUIRE(best_d && best_s, TESS_ERR_MEM, "FFTW wisdom export");
    }
  }
  if (best_d) wisdom_restore(best_d, best_s);
cleanup:
  fftw_line_destroy(lp);
  free(base_d);
  free(base_s);
  free(best_d);
  free(best_s);
  return err;
}

/* Planning a shape under MEASURE can overwrite wisdom that an earlier shape's
 * plan was built from, so plans made while measuring are not all
 * reconstructible from the final wisdom. Rank 0 therefore re-plans every shape
 * until a whole pass adds nothing to its wisdom (a fixed point, normally the
 * first re-plan); then every rank builds its plans from that wisdom alone
 * (FFTW_WISDOM_ONLY: nothing is timed, so nothing can differ), and the plans'
 * descriptions are compared across ranks. */
#define REPLAN_PASSES 6
static tess_err_t fftw_line_plan_measured(tess_mesh_t *mesh, const char *file, int n,
                                          const fft_line_desc_t *d, void *in, void *out,
                                          void **lp)
{
  tess_err_t err = TESS_OK, e0 = TESS_OK;
  int root = comm_rank(mesh) == 0, ok = 1, okall = 0;
  for (int i = 0; i < n; i++) lp[i] = NULL;
  if (root) {
    uint64_t before = 0;
    int pass = 0;
    if (file && *file) e0 = wisdom_import_file(file);
    for (int i = 0; i < n && e0 == TESS_OK; i++) e0 = plan_best_of(&d[i], in, out);
    for (; pass < REPLAN_PASSES && e0 == TESS_OK; pass++) {
      before = wisdom_fingerprint();
      destroy_all(n, lp);
      for (int i = 0; i < n && e0 == TESS_OK; i++) e0 = plan_line(&d[i], 0, in, out, &lp[i]);
      if (wisdom_fingerprint() == before) break;   /* plan_best_of measured already */
    }
    destroy_all(n, lp);
    if (e0 == TESS_OK && pass == REPLAN_PASSES)
      tess_log(TESS_LOG_WARN, "FFTW wisdom still changing after %d planning passes",
               REPLAN_PASSES);
    ok = e0 == TESS_OK;   /* on failure rank 0's error stays on its stack */
  }
  TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, &ok, 1, TESS_I32, 0, TESS_MEM_HOST, NULL));
  TESS_REQUIRE(ok, TESS_ERR_FFT, "FFT line planning failed on rank 0");
  TESS_CHECK(wisdom_share(mesh));
  for (int i = 0; i < n && ok; i++)
    ok = plan_line(&d[i], FFTW_WISDOM_ONLY, in, out, &lp[i]) == TESS_OK;
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &ok, &okall, 1, TESS_I32, TESS_OP_MIN,
                                 TESS_MEM_HOST, NULL));
  TESS_REQUIRE(okall, TESS_ERR_FFT,
               "a rank could not rebuild an FFT line plan from rank 0's FFTW wisdom%s",
               ok ? "" : " (this one)");
  for (int i = 0; i < n; i++) {
    /* all equal iff max(h) == h and max(~h) == ~h (signed or not: ~ reverses order) */
    int64_t h[2], m[2];
    h[0] = (int64_t)plan_fingerprint(lp[i]);
    h[1] = ~h[0];
    TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, h, m, 2, TESS_I64, TESS_OP_MAX,
                                   TESS_MEM_HOST, NULL));
    TESS_REQUIRE(m[0] == h[0] && m[1] == h[1], TESS_ERR_FFT,
                 "FFTW chose different algorithms on different ranks for lines of length %lld",
                 (long long)d[i].n);
  }
  if (root && file && *file) TESS_CHECK(wisdom_export_file(file));
cleanup:
  if (err) destroy_all(n, lp);
  return err;
}

const tess_fft_backend_t tess_fft_backend_fftw = {
  .name = "fftw",
  .accepts = fftw_accepts,
  .scratch_space = TESS_MEM_HOST,
  .line_batch = fft_line_batch,
  .plane_group_bytes = FFT_HOST_PLANE_BYTES,
  .line_plan = fftw_line_plan,
  .line_exec = fftw_line_exec,
  .line_fits = fftw_line_fits,
  .line_destroy = fftw_line_destroy,
  .line_plan_measured = fftw_line_plan_measured,
  /* FFTW works on host memory: the host executor (fft_exec_host.c) */
  .buf_alloc = fft_host_buf_alloc,
  .buf_free = fft_host_buf_free,
  .plane_stage_max = fft_host_plane_stage_max,
  .exec_lines = fft_host_exec_lines,
  .exec_copy = fft_host_exec_copy,
};
