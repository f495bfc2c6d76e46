/* spectral/fft_exec_host.c: the host executor of FFT plans, used by the
 * FFTW backend: the line copies between boxes and the aligned scratch (B
 * lines at a time, fixed batches, zero-padded last batch: see fft.h on
 * determinism; direct lines straight on a box's rows), the scaling, the box
 * repacks and the work buffers (host memory, tess_malloc). A device backend
 * replaces all of it with kernels on device buffers; the planner and the
 * driver stay as they are. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tessera/memory.h>

#include "fft_internal.h"

tess_err_t fft_host_buf_alloc(size_t bytes, void **ptr)
{
  return tess_calloc(TESS_MEM_HOST, bytes, ptr);
}

void fft_host_buf_free(void **ptr) { tess_free(TESS_MEM_HOST, ptr); }

/* Segments of line (o, i) along dim k of box b (plain, or split along k). */
static int line_segs(const box_t *b, char *base, int k, int64_t o, int64_t i, int64_t s, seg_t *sg)
{
  size_t st = (size_t)s * b->es;
  if (b->split < 0) {
    sg[0].t0 = 0;
    sg[0].len = b->ext[k];
    sg[0].ptr = base + (size_t)((o * b->ext[k]) * s + i) * b->es;
    sg[0].stride = st;
    return 1;
  }
  int n = 0;
  for (int q = 0; q < b->nseg; q++) {
    if (b->seg_len[q] == 0) continue;
    sg[n].t0 = b->seg_start[q];
    sg[n].len = b->seg_len[q];
    sg[n].ptr = base + b->seg_off[q] + (size_t)((o * b->seg_len[q]) * s + i) * b->es;
    sg[n].stride = st;
    n++;
  }
  return n;
}

static inline void copy_elem(char *d, const char *s, size_t es)
{
  switch (es) {
  case 16: memcpy(d, s, 16); break;
  case 8: memcpy(d, s, 8); break;
  case 4: memcpy(d, s, 4); break;
  default: memcpy(d, s, es);
  }
}

static void scale_scratch(void *x, size_t nreal, int single, double scale)
{
  if (single) {
    float *f = x, sc = (float)scale;
    for (size_t i = 0; i < nreal; i++) f[i] *= sc;
  } else {
    double *f = x;
    for (size_t i = 0; i < nreal; i++) f[i] *= scale;
  }
}

/* Copies of nb elements between a row and scratch, by element size (so the
 * compiler sees fixed-size moves); `nt`: contiguous runs use streaming stores. */
typedef struct { double a, b; } e16_t;
#define COPY_STRIDED(T, d, dstep, s, sstep, n) do {                           \
    T *d_ = (T *)(void *)(d); const T *s_ = (const T *)(const void *)(s);     \
    for (int64_t c_ = 0; c_ < (n); c_++) d_[c_ * (dstep)] = s_[c_ * (sstep)]; \
  } while (0)
static void copy_strided(char *d, int64_t dstep, const char *s, int64_t sstep, int64_t n,
                         size_t es, int nt)
{
  if (dstep == 1 && sstep == 1) {
    if (nt) tess_memcpy_stream(d, s, (size_t)n * es);
    else memcpy(d, s, (size_t)n * es);
    return;
  }
  switch (es) {
  case 16: COPY_STRIDED(e16_t, d, dstep, s, sstep, n); break;
  case 8: COPY_STRIDED(double, d, dstep, s, sstep, n); break;
  case 4: COPY_STRIDED(float, d, dstep, s, sstep, n); break;
  default:
    for (int64_t c = 0; c < n; c++) memcpy(d + (size_t)(c * dstep) * es, s + (size_t)(c * sstep) * es, es);
  }
}

/* One FFT step: every line along box dim k, B lines at a time. The last dim
 * uses contiguous scratch lines (line b at b*pitch: whole-line memcpy);
 * other dims interleaved scratch (element t of line b at t*pitch + b), so
 * B neighbouring lines move as rows of B contiguous elements. */
/* Write n elements that follow each other in the natural order of a staged
 * box, from natural index f on (src: n elements `sstep` apart), into its
 * images: in runs along one of the reader's lines (its dim is the last) or
 * across its lines (consecutive lines are consecutive lanes of an image). */
static void stage_put(const fft_stage_t *st, char *base, int64_t f, const char *src,
                      int64_t sstep, int64_t n)
{
  size_t es = st->es;
  while (n > 0) {
    int64_t t = (f / st->s) % st->nt, i = f % st->s;
    int64_t l = (f / (st->s * st->nt)) * st->s + i, b = l % st->B, run, dstep;
    int64_t at = (l / st->B) * st->img + (st->inter ? t * st->pitch + b : b * st->pitch + t);
    if (st->s == 1) {
      run = st->nt - t;
      dstep = st->inter ? st->pitch : 1;
    } else {
      run = st->s - i < st->B - b ? st->s - i : st->B - b;
      dstep = 1;
    }
    if (run > n) run = n;
    copy_strided(base + (size_t)at * es, dstep, src, sstep, run, es, 0);
    f += run;
    src += (size_t)(run * sstep) * es;
    n -= run;
  }
}

/* Staging a group's planes saves their copy-in, but the next step then
 * transforms straight from the plane rather than from a scratch the copy has
 * just pulled into L1/L2: a gain only while the plane stays in L2 with the
 * rest (measured: 128^2 planes of c128 on a 2 MiB L2 Xeon ~5-9 % faster,
 * 256^2 planes slower; on a 1 MiB L2 EPYC no gain at 128^2). So: planes below
 * a quarter of L2. TESS_FFT_STAGE=0/1 forces it off/on (tests, A/B). */
size_t fft_host_plane_stage_max(void)
{
  const char *e = getenv("TESS_FFT_STAGE");
  long l2 = -1;
  if (e && *e) return atoi(e) ? SIZE_MAX : 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
  l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  if (l2 <= 0) l2 = 1L << 20;
  return (size_t)l2 / 4;
}

/* The geometry of one line step, as its copies see it. */
typedef struct {
  const fft_lines_job_t *job;
  int64_t B, s, nl, nin, nout;
  int64_t lbi, lti, lbz, ltz;   /* scratch steps between lines (lb), elements (lt) */
  size_t esi, eso;
} lines_t;

/* Lines l0..l0+nb-1 of the source box into the input scratch. */
static void lines_copy_in(const lines_t *g, int64_t l0, int64_t nb)
{
  const fft_lines_job_t *st = g->job;
  char *si = st->scr_in;
  seg_t *sg = st->seg;
  int64_t s = g->s, o0 = l0 / s, i0 = l0 % s;
  if (i0 + nb <= s) {                        /* lines i0..i0+nb-1 of outer row o0 */
    int ns = line_segs(st->src, st->src_data, st->dim, o0, i0, s, sg);
    for (int q = 0; q < ns; q++)
      for (int64_t t = 0; t < sg[q].len; t++)
        copy_strided(si + (size_t)((sg[q].t0 + t) * g->lti) * g->esi, g->lbi,
                     sg[q].ptr + (size_t)t * sg[q].stride, 1, nb, g->esi, 0);
    return;
  }
  for (int64_t b = 0; b < nb; b++) {
    int64_t l = l0 + b;
    int ns = line_segs(st->src, st->src_data, st->dim, l / s, l % s, s, sg);
    for (int q = 0; q < ns; q++)
      copy_strided(si + (size_t)(b * g->lbi + sg[q].t0 * g->lti) * g->esi, g->lti, sg[q].ptr,
                   (int64_t)(sg[q].stride / g->esi), sg[q].len, g->esi, 0);
  }
}

/* The output scratch of lines l0..l0+nb-1 into the destination box. */
static void lines_copy_out(const lines_t *g, int64_t l0, int64_t nb)
{
  const fft_lines_job_t *st = g->job;
  const char *so = st->scr_out;
  seg_t *sg = st->seg;
  int64_t s = g->s, o0 = l0 / s, i0 = l0 % s;
  if (i0 + nb <= s) {
    int ns = line_segs(st->dst, st->dst_data, st->dim, o0, i0, s, sg);
    for (int q = 0; q < ns; q++)
      for (int64_t t = 0; t < sg[q].len; t++)
        copy_strided(sg[q].ptr + (size_t)t * sg[q].stride, 1,
                     so + (size_t)((sg[q].t0 + t) * g->ltz) * g->eso, g->lbz, nb, g->eso,
                     st->stream);
    return;
  }
  for (int64_t b = 0; b < nb; b++) {
    int64_t l = l0 + b;
    int ns = line_segs(st->dst, st->dst_data, st->dim, l / s, l % s, s, sg);
    for (int q = 0; q < ns; q++)
      copy_strided(sg[q].ptr, (int64_t)(sg[q].stride / g->eso),
                   so + (size_t)(b * g->lbz + sg[q].t0 * g->ltz) * g->eso, g->ltz, sg[q].len,
                   g->eso, st->stream);
  }
}

/* The same, into a staged (plain) destination: by natural index. */
static void lines_copy_out_staged(const lines_t *g, int64_t l0, int64_t nb)
{
  const fft_lines_job_t *st = g->job;
  const fft_stage_t *sd = st->dst_stage;
  const char *so = st->scr_out;
  int64_t s = g->s, nout = g->nout, o0 = l0 / s, i0 = l0 % s;
  if (i0 + nb <= s) {
    for (int64_t t = 0; t < nout; t++)
      stage_put(sd, st->dst_data, (o0 * nout + t) * s + i0,
                so + (size_t)(t * g->ltz) * g->eso, g->lbz, nb);
    return;
  }
  for (int64_t b = 0; b < nb; b++) {
    int64_t l = l0 + b, o = l / s, i = l % s;
    const char *sl = so + (size_t)(b * g->lbz) * g->eso;
    if (s == 1) {
      stage_put(sd, st->dst_data, o * nout, sl, g->ltz, nout);
    } else {
      for (int64_t t = 0; t < nout; t++)
        stage_put(sd, st->dst_data, (o * nout + t) * s + i,
                  sl + (size_t)(t * g->ltz) * g->eso, 1, 1);
    }
  }
}

/* Rows l0..l0+nb-1 of box b (lines along its last dim) if they lie one
 * after the other in one chunk, as a direct line's scratch would: the first
 * row; else NULL. */
static char *rows_direct(const box_t *b, char *base, int64_t l0, int64_t nb, seg_t *sg)
{
  int k = b->nd - 1;
  char *first;
  if (line_segs(b, base, k, l0, 0, 1, sg) != 1 || sg[0].len != b->ext[k]) return NULL;
  first = sg[0].ptr;
  if (line_segs(b, base, k, l0 + nb - 1, 0, 1, sg) != 1 ||
      sg[0].ptr != first + (size_t)((nb - 1) * b->ext[k]) * b->es)
    return NULL;
  return first;
}

/* One FFT step: every line along box dim k, B lines at a time. The last dim
 * uses contiguous scratch lines (line b at b*pitch: whole-line memcpy);
 * other dims interleaved scratch (element t of line b at t*pitch + b), so
 * B neighbouring lines move as rows of B contiguous elements. A staged source
 * is already in that form: its images are transformed where they lie. A
 * `direct` line's scratch is laid out as a box's rows, so a whole batch of
 * contiguous rows is transformed straight from the source rows and/or into
 * the destination rows, by the same plan (same arithmetic, no copy); the
 * zero-padded last batch and rows split across chunks go through scratch. */
void fft_host_exec_lines(const tess_fft_backend_t *be, const fft_lines_job_t *st)
{
  const box_t *a = st->src, *z = st->dst;
  const fft_line_desc_t *ld = st->line;
  int k = st->dim, inter = ld->layout == FFT_LINES_INTERLEAVED;
  int64_t pi = ld->ipitch, pz = ld->opitch;
  lines_t g = {
    .job = st, .B = ld->batch, .s = fft_prod(a->ext, k + 1, a->nd),
    .nin = a->ext[k], .nout = z->ext[k],
    .lbi = inter ? 1 : pi, .lti = inter ? pi : 1, .lbz = inter ? 1 : pz, .ltz = inter ? pz : 1,
    .esi = a->es, .eso = z->es,
  };
  size_t scr_in_bytes = (size_t)(inter ? pi * g.nin : pi * g.B) * g.esi;
  size_t rsz = st->single ? sizeof(float) : sizeof(double);
  size_t nreal_out = (size_t)(inter ? pz * g.nout : pz * g.B) * g.eso / rsz;
  g.nl = fft_prod(a->ext, 0, k) * g.s;

  for (int64_t l0 = 0; l0 < g.nl; l0 += g.B) {
    int64_t nb = g.nl - l0 < g.B ? g.nl - l0 : g.B;
    char *in = st->scr_in, *out = st->scr_out, *r;
    if (st->src_stage) {
      in = st->src_data + (size_t)(l0 / g.B * st->src_stage->img) * g.esi;
    } else if (nb == g.B && (ld->direct & FFT_DIRECT_IN) &&
               (r = rows_direct(a, st->src_data, l0, nb, st->seg)) &&
               be->line_fits(st->lp, r, NULL)) {
      in = r;
    } else {
      if (nb < g.B) memset(st->scr_in, 0, scr_in_bytes);
      lines_copy_in(&g, l0, nb);
    }
    if (nb == g.B && (ld->direct & FFT_DIRECT_OUT) && st->dst_hot && !st->dst_stage &&
        (r = rows_direct(z, st->dst_data, l0, nb, st->seg)) && be->line_fits(st->lp, NULL, r)) {
      size_t ib = (size_t)(nb * g.nin) * g.esi, ob = (size_t)(nb * g.nout) * g.eso;
      if (r + ob <= in || in + ib <= r) out = r;   /* in place: through the scratch */
    }
    be->line_exec(st->lp, in, out);
    if (out != st->scr_out) {                      /* written in place: only the scaling */
      if (st->scale != 1.0)
        scale_scratch(out, (size_t)(nb * g.nout) * g.eso / rsz, st->single, st->scale);
      continue;
    }
    if (st->scale != 1.0) scale_scratch(st->scr_out, nreal_out, st->single, st->scale);
    if (st->dst_stage) lines_copy_out_staged(&g, l0, nb);
    else lines_copy_out(&g, l0, nb);
  }
  if (st->stream) tess_stream_fence();
}

/* Segments of the row (coords c[0..nd-2]) along the last dim of box b. */
static int row_segs(const box_t *b, char *base, const int64_t *c, seg_t *sg)
{
  int nd = b->nd, last = nd - 1;
  if (b->split < 0 || b->split == last) {
    int n = 0;
    int nseg = b->split < 0 ? 1 : b->nseg;
    for (int q = 0; q < nseg; q++) {
      int64_t len = b->split < 0 ? b->ext[last] : b->seg_len[q];
      if (len == 0) continue;
      int64_t lin = 0;
      for (int i = 0; i < last; i++) lin = lin * b->ext[i] + c[i];
      sg[n].t0 = b->split < 0 ? 0 : b->seg_start[q];
      sg[n].len = len;
      sg[n].ptr = base + (b->split < 0 ? 0 : b->seg_off[q]) + (size_t)(lin * len) * b->es;
      sg[n].stride = b->es;
      n++;
    }
    return n;
  }
  /* split along an earlier dim: the row lies in one chunk */
  int j = b->split, q = 0;
  while (q + 1 < b->nseg && c[j] >= b->seg_start[q] + b->seg_len[q]) q++;
  int64_t lin = 0;
  for (int i = 0; i < last; i++) {
    int64_t e = i == j ? b->seg_len[q] : b->ext[i];
    int64_t x = i == j ? c[i] - b->seg_start[q] : c[i];
    lin = lin * e + x;
  }
  sg[0].t0 = 0;
  sg[0].len = b->ext[last];
  sg[0].ptr = base + b->seg_off[q] + (size_t)(lin * b->ext[last]) * b->es;
  sg[0].stride = b->es;
  return 1;
}

void fft_host_exec_copy(const box_t *a, const char *src, const box_t *z, char *dst, seg_t *sa,
                        seg_t *sz)
{
  int nd = a->nd, last = nd - 1;
  int64_t nrows = fft_prod(a->ext, 0, last), c[MAXD] = {0};
  size_t es = a->es;
  if (a->ext[last] == 0) return;
  for (int64_t r = 0; r < nrows; r++) {
    int64_t rem = r;
    for (int i = last - 1; i >= 0; i--) {
      c[i] = rem % a->ext[i];
      rem /= a->ext[i];
    }
    int na = row_segs(a, (char *)src, c, sa), nz = row_segs(z, dst, c, sz);
    int qa = 0, qz = 0;
    int64_t t = 0;
    while (qa < na && qz < nz) {       /* merge the two segment lists */
      int64_t ea = sa[qa].t0 + sa[qa].len, ez = sz[qz].t0 + sz[qz].len;
      int64_t e = ea < ez ? ea : ez;
      memcpy(sz[qz].ptr + (size_t)(t - sz[qz].t0) * es, sa[qa].ptr + (size_t)(t - sa[qa].t0) * es,
             (size_t)(e - t) * es);
      t = e;
      if (t == ea) qa++;
      if (t == ez) qz++;
    }
  }
}
