/* spectral/fft_plan.c: distributed FFT plans (slab and pencil decompositions).
 * Planning is slow (line plans, FFTW measuring, wisdom exchange, counts and
 * displacements); execution must be cheap. So all setup happens in
 * tess_fft_plan_create_opts() and tess_fft_execute() only moves data.
 *
 * A plan is a list of steps over "boxes" (the local block of the current
 * distribution, with the batch dims flattened into box dim 0):
 *   FFT    transform every line along one box dim, src box -> dst box;
 *   A2A    one all-to-all over a mesh axis (the transpose of a pencil FFT);
 *   COPY   repack between box layouts (only where no FFT can do it).
 * Boxes before an all-to-all are the send buffer split in one chunk per peer,
 * boxes after it the receive buffer split likewise; the FFT next to an
 * all-to-all reads or writes those chunks directly, so the transpose pack and
 * unpack are fused with the line copies (no separate pack pass).
 *
 * Lines are copied B at a time into an aligned scratch, transformed by one
 * backend plan per line shape and copied out (see fft.h on determinism). The
 * order in which dims are transformed is fixed (forward: last dim first;
 * backward: first dim first), whatever the decomposition, so slab, pencil and
 * serial plans give bitwise identical results. A plan never owns user arrays. */
#include <tessera/fft.h>
#include <tessera/log.h>
#include <tessera/memory.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fft_backend.h"

#define MAXD 4            /* box dims: flattened batch + up to 3 transform dims */
#define MAXLINES 8        /* distinct line shapes per plan */
/* Consecutive FFT steps run plane by plane when a plane (in + out) fits in
 * this many bytes: about an L2 cache, so a plane is read from memory once. */
#define FFT_PLANE_BYTES ((size_t)4 << 20)
/* An out-of-place step whose output box is at least this large writes it with
 * streaming (non-temporal) stores: the output is far bigger than the caches,
 * so fetching its lines only to overwrite them would cost a third of the
 * step's memory traffic. TESS_FFT_STREAM=0/1 forces it off/on (tests, A/B). */
#define FFT_STREAM_MIN_BYTES ((size_t)8 << 20)

enum { BUF_IN = 0, BUF_OUT, BUF_W0, BUF_W1, BUF_SEND, BUF_RECV, NBUF };
enum { STEP_FFT = 0, STEP_A2A, STEP_COPY };

typedef struct {
  int buf;                 /* BUF_* */
  int nd;
  int64_t ext[MAXD];       /* local extents of the whole box */
  size_t es;               /* element bytes */
  int split;               /* -1: plain row-major; else the dim split in chunks */
  int nseg;
  int64_t *seg_start;      /* chunk q holds [seg_start[q], +seg_len[q]) of dim split */
  int64_t *seg_len;
  size_t *seg_off;         /* byte offset of chunk q (row-major, ext[split]=seg_len[q]) */
} box_t;

typedef struct {
  int kind;
  box_t src, dst;
  int dim;                 /* FFT: box dim */
  int line;                /* FFT: index in plan->lines */
  double scale;            /* FFT: applied on copy-out */
  int stream;              /* FFT: copy out with streaming stores */
  int group_k0, group_len; /* FFT group head: steps done plane by plane over dims < k0;
                              results between a group's steps stay in plan->plane */
  MPI_Comm comm;           /* A2A: axis communicator (borrowed from the mesh) */
  int p;
  int *scnt, *sdsp, *rcnt, *rdsp;
  MPI_Datatype type;
} step_t;

typedef struct {
  fft_line_desc_t d;
  void *lp;
} line_t;

struct tess_fft_plan {
  const tess_fft_backend_t *be;
  tess_mesh_t *mesh;
  tess_fft_dir_t dir;
  unsigned flags;
  int rank, ndim, g, half;
  int64_t n[3];
  tess_dtype_t in_t, out_t;
  int64_t in_shape[TESS_MAX_NDIM], out_shape[TESS_MAX_NDIM];
  tess_shardspec_t in_spec, out_spec;
  int single;
  step_t *steps;
  int nsteps, cap;
  line_t lines[MAXLINES];
  int nlines;
  void *scr_in, *scr_out;  /* backend scratch */
  size_t scr_bytes;
  void *buf[NBUF];         /* owned work buffers (W0, W1, SEND, RECV) */
  size_t buf_bytes[NBUF];
  void *plane;             /* one plane between the steps of a group (cache-resident) */
  size_t plane_bytes;
  int ntransposes;
};

static tess_log_event_t ev_exec, ev_lines, ev_a2a;
static int ev_ready;

static tess_err_t events_init(void)
{
  tess_err_t err = TESS_OK;
  if (ev_ready) return TESS_OK;
  TESS_CHECK(tess_log_event_register("FFTExecute", &ev_exec));
  TESS_CHECK(tess_log_event_register("FFTLines", &ev_lines));
  TESS_CHECK(tess_log_event_register("FFTAlltoall", &ev_a2a));
  ev_ready = 1;
cleanup:
  return err;
}

/* ---- backends --------------------------------------------------------------- */

static const tess_fft_backend_t *const fft_backends[] = {
  &tess_fft_backend_fftw,
};
#define NBACKENDS ((int)(sizeof fft_backends / sizeof fft_backends[0]))

int tess_fft_backend_count(void) { return NBACKENDS; }
const char *tess_fft_backend_name(int i)
{
  return (i >= 0 && i < NBACKENDS) ? fft_backends[i]->name : NULL;
}

tess_err_t tess_fft_backend_select(const char *name, tess_memspace_t space,
                                   const tess_fft_backend_t **be)
{
  tess_err_t err = TESS_OK;
  int automatic = !name || !*name || strcmp(name, "auto") == 0;
  *be = NULL;
  for (int i = 0; i < NBACKENDS; i++) {
    if (!automatic && strcmp(name, fft_backends[i]->name) != 0) continue;
    if (!fft_backends[i]->accepts(space)) {
      TESS_REQUIRE(automatic, TESS_ERR_UNSUPPORTED, "FFT backend '%s' cannot use %s memory",
                   name, space == TESS_MEM_HOST ? "host" : "device");
      continue;
    }
    *be = fft_backends[i];
    return TESS_OK;
  }
  TESS_REQUIRE(!automatic, TESS_ERR_UNSUPPORTED, "no FFT backend in this build accepts %s memory",
               space == TESS_MEM_HOST ? "host" : "device");
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "unknown FFT backend '%s' (this build has: fftw)", name);
cleanup:
  return err;
}

/* ---- helpers ------------------------------------------------------------------ */

/* Fixed line batch: a function of the line length only (never of the rank
 * count or dtype): as many lines as keep one scratch near 256 KiB (L2),
 * between 8 and 64, a multiple of 4 so SIMD lanes are always full. */
static int64_t line_batch(int64_t n)
{
  int64_t b = 64;
  while (b > 8 && n * b * 16 > ((int64_t)256 << 10)) b /= 2;
  return b;
}

/* Scratch pitch: a multiple of 4 elements (every line equally aligned) plus
 * 4, so scratch rows never sit a power of two apart (cache-set conflicts). */
static int64_t line_pitch(int64_t len) { return (len + 3) / 4 * 4 + 4; }

static int64_t prod(const int64_t *x, int a, int b)   /* x[a] * ... * x[b-1] */
{
  int64_t r = 1;
  for (int i = a; i < b; i++) r *= x[i];
  return r;
}

static void box_free(box_t *b)
{
  free(b->seg_start);
  free(b->seg_len);
  free(b->seg_off);
  b->seg_start = b->seg_len = NULL;
  b->seg_off = NULL;
}

static size_t box_bytes(const box_t *b) { return (size_t)prod(b->ext, 0, b->nd) * b->es; }

/* Split `b` along dim `dim` into the p blocks of its (full) extent. */
static tess_err_t box_split(box_t *b, int dim, int p)
{
  tess_err_t err = TESS_OK;
  size_t off = 0, row = b->es;
  b->split = dim;
  b->nseg = p;
  b->seg_start = calloc((size_t)p, sizeof *b->seg_start);
  b->seg_len = calloc((size_t)p, sizeof *b->seg_len);
  b->seg_off = calloc((size_t)p, sizeof *b->seg_off);
  TESS_REQUIRE(b->seg_start && b->seg_len && b->seg_off, TESS_ERR_MEM, "FFT box");
  for (int i = 0; i < b->nd; i++)
    if (i != dim) row *= (size_t)b->ext[i];
  for (int q = 0; q < p; q++) {
    tess_block_range(b->ext[dim], p, q, &b->seg_start[q], &b->seg_len[q]);
    b->seg_off[q] = off;
    off += row * (size_t)b->seg_len[q];
  }
cleanup:
  return err;
}

static tess_err_t box_clone(box_t *dst, const box_t *src)
{
  tess_err_t err = TESS_OK;
  *dst = *src;
  dst->seg_start = NULL;
  dst->seg_len = NULL;
  dst->seg_off = NULL;
  if (src->split >= 0) TESS_CHECK(box_split(dst, src->split, src->nseg));
cleanup:
  return err;
}

/* ---- line copies --------------------------------------------------------------- */

typedef struct {
  int64_t t0, len;   /* range of the line's coordinate */
  char *ptr;         /* element t0 */
  size_t stride;     /* bytes between consecutive t */
} seg_t;

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
static void run_fft_step(const tess_fft_plan_t *p, const step_t *st, char *src, char *dst,
                         seg_t *sg)
{
  const box_t *a = &st->src, *z = &st->dst;
  const line_t *ln = &p->lines[st->line];
  int k = st->dim;
  int inter = ln->d.layout == FFT_LINES_INTERLEAVED;
  int64_t B = ln->d.batch, pi = ln->d.ipitch, pz = ln->d.opitch;
  int64_t nin = a->ext[k], nout = z->ext[k];
  int64_t s = prod(a->ext, k + 1, a->nd), outer = prod(a->ext, 0, k);
  int64_t nl = outer * s;
  /* scratch steps: between lines (lb) and between a line's elements (lt) */
  int64_t lbi = inter ? 1 : pi, lti = inter ? pi : 1, lbz = inter ? 1 : pz, ltz = inter ? pz : 1;
  size_t esi = a->es, eso = z->es;
  char *si = p->scr_in, *so = p->scr_out;
  size_t scr_in_elems = (size_t)(inter ? pi * nin : pi * B);
  size_t nreal_out = (size_t)(inter ? pz * nout : pz * B) * eso /
                     (p->single ? sizeof(float) : sizeof(double));

  for (int64_t l0 = 0; l0 < nl; l0 += B) {
    int64_t nb = nl - l0 < B ? nl - l0 : B;
    int64_t o0 = l0 / s, i0 = l0 % s;
    if (nb < B) memset(si, 0, scr_in_elems * esi);
    /* copy in */
    if (i0 + nb <= s) {                        /* lines i0..i0+nb-1 of outer row o0 */
      int ns = line_segs(a, src, k, o0, i0, s, sg);
      for (int q = 0; q < ns; q++)
        for (int64_t t = 0; t < sg[q].len; t++)
          copy_strided(si + (size_t)((sg[q].t0 + t) * lti) * esi, lbi,
                       sg[q].ptr + (size_t)t * sg[q].stride, 1, nb, esi, 0);
    } else {
      for (int64_t b = 0; b < nb; b++) {
        int64_t l = l0 + b;
        int ns = line_segs(a, src, k, l / s, l % s, s, sg);
        for (int q = 0; q < ns; q++)
          copy_strided(si + (size_t)(b * lbi + sg[q].t0 * lti) * esi, lti, sg[q].ptr,
                       (int64_t)(sg[q].stride / esi), sg[q].len, esi, 0);
      }
    }
    p->be->line_exec(ln->lp, si, so);
    if (st->scale != 1.0) scale_scratch(so, nreal_out, p->single, st->scale);
    /* copy out */
    if (i0 + nb <= s) {
      int ns = line_segs(z, dst, k, o0, i0, s, sg);
      for (int q = 0; q < ns; q++)
        for (int64_t t = 0; t < sg[q].len; t++)
          copy_strided(sg[q].ptr + (size_t)t * sg[q].stride, 1,
                       so + (size_t)((sg[q].t0 + t) * ltz) * eso, lbz, nb, eso, st->stream);
    } else {
      for (int64_t b = 0; b < nb; b++) {
        int64_t l = l0 + b;
        int ns = line_segs(z, dst, k, l / s, l % s, s, sg);
        for (int q = 0; q < ns; q++)
          copy_strided(sg[q].ptr, (int64_t)(sg[q].stride / eso),
                       so + (size_t)(b * lbz + sg[q].t0 * ltz) * eso, ltz, sg[q].len, eso,
                       st->stream);
      }
    }
  }
  if (st->stream) tess_stream_fence();
}

/* The part of box b with fixed index j over its dims < k0 (flattened), as a
 * box whose leading extents are 1. `offs` holds nseg offsets for a split box. */
static char *box_view(const box_t *b, char *base, int k0, int64_t j, box_t *v, size_t *offs)
{
  *v = *b;
  for (int i = 0; i < k0; i++) v->ext[i] = 1;
  if (b->split < 0) return base + (size_t)(j * prod(b->ext, k0, b->nd)) * b->es;
  int64_t rest = 1;
  for (int i = k0; i < b->nd; i++)
    if (i != b->split) rest *= b->ext[i];
  for (int q = 0; q < b->nseg; q++)
    offs[q] = b->seg_off[q] + (size_t)(j * rest * b->seg_len[q]) * b->es;
  v->seg_off = offs;
  return base;
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

static void run_copy_step(const step_t *st, char *src, char *dst, seg_t *sa, seg_t *sz)
{
  const box_t *a = &st->src, *z = &st->dst;
  int nd = a->nd, last = nd - 1;
  int64_t nrows = prod(a->ext, 0, last), c[MAXD] = {0};
  size_t es = a->es;
  if (a->ext[last] == 0) return;
  for (int64_t r = 0; r < nrows; r++) {
    int64_t rem = r;
    for (int i = last - 1; i >= 0; i--) {
      c[i] = rem % a->ext[i];
      rem /= a->ext[i];
    }
    int na = row_segs(a, src, c, sa), nz = row_segs(z, dst, c, sz);
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

/* ---- planning -------------------------------------------------------------------- */

typedef struct {            /* the distribution while steps are generated */
  int nd;
  int64_t G[MAXD];         /* global extents (box dim 0: local batch count) */
  int ax[MAXD];            /* mesh axis sharding box dim, or -1 */
  size_t es;
} dist_t;

static void dist_local(const tess_fft_plan_t *p, const dist_t *d, int64_t ext[])
{
  for (int i = 0; i < d->nd; i++) {
    if (d->ax[i] < 0) {
      ext[i] = d->G[i];
    } else {
      int64_t st;
      tess_block_range(d->G[i], tess_mesh_axis_size(p->mesh, d->ax[i]),
                       tess_mesh_coord(p->mesh, d->ax[i]), &st, &ext[i]);
    }
  }
}

static tess_err_t push_step(tess_fft_plan_t *p, step_t **st)
{
  tess_err_t err = TESS_OK;
  if (p->nsteps == p->cap) {
    int cap = p->cap ? 2 * p->cap : 8;
    step_t *s = realloc(p->steps, (size_t)cap * sizeof *s);
    TESS_REQUIRE(s != NULL, TESS_ERR_MEM, "FFT steps");
    p->steps = s;
    p->cap = cap;
  }
  *st = &p->steps[p->nsteps++];
  memset(*st, 0, sizeof **st);
  (*st)->src.split = (*st)->dst.split = -1;
  (*st)->type = MPI_DATATYPE_NULL;
  (*st)->comm = MPI_COMM_NULL;
cleanup:
  return err;
}

static void need_buf(tess_fft_plan_t *p, const box_t *b)
{
  size_t n = box_bytes(b);
  if (b->buf >= BUF_W0 && n > p->buf_bytes[b->buf]) p->buf_bytes[b->buf] = n;
}

static tess_err_t get_line(tess_fft_plan_t *p, const fft_line_desc_t *d, int *idx)
{
  tess_err_t err = TESS_OK;
  for (int i = 0; i < p->nlines; i++)
    if (memcmp(&p->lines[i].d, d, sizeof *d) == 0) {
      *idx = i;
      return TESS_OK;
    }
  TESS_REQUIRE(p->nlines < MAXLINES, TESS_ERR_INTERNAL, "too many line shapes");
  p->lines[p->nlines].d = *d;
  p->lines[p->nlines].lp = NULL;
  *idx = p->nlines++;
cleanup:
  return err;
}

/* One op of the abstract pipeline. */
typedef struct { int kind; int dim; int axis, u, v; } op_t;

/* Which form a transform-dims spec is in; fills the axes (g of them). */
static void spec_forms(const int *t, int d, int *nat, int *tra, int *gn, int *gt, int an[3],
                       int at[3])
{
  int g = 0;
  while (g < d && t[g] >= 0) { an[g] = t[g]; g++; }
  *gn = g;
  *nat = g <= d - 1;
  for (int i = g; i < d; i++) if (t[i] >= 0) *nat = 0;
  *tra = 0;
  *gt = 0;
  if (t[0] < 0) {
    g = 0;
    while (g + 1 < d && t[g + 1] >= 0) { at[g] = t[g + 1]; g++; }
    *gt = g;
    *tra = 1;
    for (int i = g + 1; i < d; i++) if (t[i] >= 0) *tra = 0;
  }
}

tess_err_t tess_fft_spec(int ndim, int rank, int naxes, const int axes[],
                         tess_fft_layout_t layout, tess_shardspec_t *spec)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(spec != NULL && ndim >= 1 && ndim <= TESS_MAX_NDIM, TESS_ERR_ARG,
               "bad ndim %d", ndim);
  if (rank == 0) rank = ndim;
  TESS_REQUIRE(rank >= 1 && rank <= 3 && rank <= ndim, TESS_ERR_ARG,
               "FFT rank %d must be 1..3 and at most ndim %d", rank, ndim);
  TESS_REQUIRE(naxes >= 0 && naxes <= rank - 1, TESS_ERR_ARG,
               "a rank-%d FFT can be distributed over 0..%d mesh axes, not %d", rank, rank - 1,
               naxes);
  spec->ndim = ndim;
  for (int i = 0; i < ndim; i++) spec->axis[i] = TESS_REPLICATED;
  for (int i = 0; i < naxes; i++)
    spec->axis[ndim - rank + i + (layout == TESS_FFT_LAYOUT_TRANSPOSED)] = axes[i];
cleanup:
  return err;
}

static void plan_free_parts(tess_fft_plan_t *p)
{
  for (int i = 0; i < p->nsteps; i++) {
    step_t *s = &p->steps[i];
    box_free(&s->src);
    box_free(&s->dst);
    free(s->scnt); free(s->sdsp); free(s->rcnt); free(s->rdsp);
    if (s->type != MPI_DATATYPE_NULL) MPI_Type_free(&s->type);
  }
  free(p->steps);
  p->steps = NULL;
  for (int i = 0; i < p->nlines; i++)
    if (p->lines[i].lp) p->be->line_destroy(p->lines[i].lp);
  p->nlines = 0;
  if (p->be) {
    tess_free(p->be->scratch_space, &p->scr_in);
    tess_free(p->be->scratch_space, &p->scr_out);
  }
  for (int i = BUF_W0; i < NBUF; i++) tess_free(TESS_MEM_HOST, &p->buf[i]);
  tess_free(TESS_MEM_HOST, &p->plane);
}

void tess_fft_plan_destroy(tess_fft_plan_t **plan)
{
  if (!plan || !*plan) return;
  plan_free_parts(*plan);
  free(*plan);
  *plan = NULL;
}

static tess_err_t check_arrays(tess_fft_plan_t *p, const tess_array_t *in, const tess_array_t *out,
                               int rank_opt)
{
  tess_err_t err = TESS_OK;
  int nd = tess_array_ndim(in);
  tess_dtype_t ti = tess_array_dtype(in), to = tess_array_dtype(out);
  int ci = tess_dtype_is_complex(ti), co = tess_dtype_is_complex(to);
  p->ndim = nd;
  p->rank = rank_opt == 0 ? nd : rank_opt;
  TESS_REQUIRE(tess_array_mesh(in) == tess_array_mesh(out), TESS_ERR_ARG,
               "FFT input and output live on different meshes");
  TESS_REQUIRE(tess_array_memspace(in) == tess_array_memspace(out), TESS_ERR_ARG,
               "FFT input and output live in different memory spaces");
  TESS_REQUIRE(tess_array_ndim(out) == nd, TESS_ERR_SHAPE, "FFT input has %d dims, output %d", nd,
               tess_array_ndim(out));
  TESS_REQUIRE(p->rank >= 1 && p->rank <= 3 && p->rank <= nd, TESS_ERR_ARG,
               "FFT rank %d: must be 1..3 and at most the array's %d dims (batch dims lead)",
               p->rank, nd);
  TESS_REQUIRE(ti == TESS_F32 || ti == TESS_F64 || ti == TESS_C64 || ti == TESS_C128,
               TESS_ERR_ARG, "FFT input dtype %s: expected f32, f64, c64 or c128",
               tess_dtype_name(ti));
  TESS_REQUIRE(to == TESS_F32 || to == TESS_F64 || to == TESS_C64 || to == TESS_C128,
               TESS_ERR_ARG, "FFT output dtype %s: expected f32, f64, c64 or c128",
               tess_dtype_name(to));
  p->single = (ti == TESS_F32 || ti == TESS_C64);
  TESS_REQUIRE(p->single == (to == TESS_F32 || to == TESS_C64), TESS_ERR_ARG,
               "FFT input %s and output %s differ in precision", tess_dtype_name(ti),
               tess_dtype_name(to));
  TESS_REQUIRE(co || ci, TESS_ERR_ARG, "FFT of real %s to real %s: one side must be complex",
               tess_dtype_name(ti), tess_dtype_name(to));
  TESS_REQUIRE(ci || p->dir == TESS_FFT_FORWARD, TESS_ERR_ARG,
               "a real input (%s) needs a FORWARD (r2c) plan", tess_dtype_name(ti));
  TESS_REQUIRE(co || p->dir == TESS_FFT_BACKWARD, TESS_ERR_ARG,
               "a real output (%s) needs a BACKWARD (c2r) plan", tess_dtype_name(to));
  p->half = !(ci && co);
  p->in_t = ti;
  p->out_t = to;
  tess_array_global_shape(in, p->in_shape);
  tess_array_global_shape(out, p->out_shape);
  tess_array_spec(in, &p->in_spec);
  tess_array_spec(out, &p->out_spec);
  for (int i = 0; i < nd; i++) {
    int last = i == nd - 1;
    int64_t a = p->in_shape[i], b = p->out_shape[i];
    int ok = (!last || !p->half) ? a == b : (!ci ? b == a / 2 + 1 : a == b / 2 + 1);
    TESS_REQUIRE(a > 0 && b > 0, TESS_ERR_SHAPE, "FFT array dim %d has size 0", i);
    TESS_REQUIRE(ok, TESS_ERR_SHAPE,
                 "FFT shapes differ in dim %d: input %lld, output %lld%s", i, (long long)a,
                 (long long)b, last && p->half ? " (the complex side holds n/2+1)" : "");
  }
  for (int i = 0; i < nd - p->rank; i++)
    TESS_REQUIRE(p->in_spec.axis[i] == p->out_spec.axis[i], TESS_ERR_SHAPE,
                 "batch dim %d is sharded differently in FFT input and output", i);
  for (int i = 0; i < p->rank; i++)
    p->n[i] = !ci ? p->in_shape[nd - p->rank + i] : p->out_shape[nd - p->rank + i];
cleanup:
  return err;
}

/* Build the abstract op list from the specs. */
static tess_err_t make_ops(tess_fft_plan_t *p, op_t *ops, int *nops, int axes[3])
{
  tess_err_t err = TESS_OK;
  int d = p->rank, off = p->ndim - d;
  int ti[3], to[3], nat_i, tra_i, gn_i, gt_i, nat_o, tra_o, gn_o, gt_o;
  int an_i[3], at_i[3], an_o[3], at_o[3];
  int in_nat, out_nat, g, n = 0;
  const int *ax_in, *ax_out;
  int fwd = p->dir == TESS_FFT_FORWARD;
  for (int i = 0; i < d; i++) {
    ti[i] = p->in_spec.axis[off + i];
    to[i] = p->out_spec.axis[off + i];
  }
  spec_forms(ti, d, &nat_i, &tra_i, &gn_i, &gt_i, an_i, at_i);
  spec_forms(to, d, &nat_o, &tra_o, &gn_o, &gt_o, an_o, at_o);
  TESS_REQUIRE(nat_i || tra_i, TESS_ERR_UNSUPPORTED,
               "FFT input spec: the transformed dims must be sharded as a prefix (natural "
               "form: slab/pencil) or that shifted by one dim (transposed form); see fft.h");
  TESS_REQUIRE(nat_o || tra_o, TESS_ERR_UNSUPPORTED,
               "FFT output spec: the transformed dims must be sharded as a prefix (natural "
               "form) or that shifted by one dim (transposed form); see fft.h");
  /* when both forms apply (all local), prefer the canonical one */
  in_nat = nat_i && (!tra_i || fwd);
  out_nat = nat_o && (!tra_o || !fwd);
  g = in_nat ? gn_i : gt_i;
  ax_in = in_nat ? an_i : at_i;
  ax_out = out_nat ? an_o : at_o;
  TESS_REQUIRE((out_nat ? gn_o : gt_o) == g, TESS_ERR_SHAPE,
               "FFT input is distributed over %d mesh axes, output over %d", g,
               out_nat ? gn_o : gt_o);
  for (int i = 0; i < g; i++)
    TESS_REQUIRE(ax_in[i] == ax_out[i], TESS_ERR_SHAPE,
                 "FFT input and output use different mesh axes for the process grid");
  for (int i = 0; i < g; i++) axes[i] = ax_in[i];
  p->g = g;
#define OP_FFT(k) (ops[n++] = (op_t){STEP_FFT, (k), -1, 0, 0})
#define OP_A2A(a, uu, vv) (ops[n++] = (op_t){STEP_A2A, 0, (a), (uu), (vv)})
  if (fwd) {
    if (!in_nat)
      for (int i = 0; i < g; i++) OP_A2A(axes[i], i + 1, i);          /* T -> N */
    for (int k = d - 1; k >= g; k--) OP_FFT(k);
    for (int i = g - 1; i >= 0; i--) { OP_A2A(axes[i], i, i + 1); OP_FFT(i); }
    if (out_nat)
      for (int i = 0; i < g; i++) OP_A2A(axes[i], i + 1, i);          /* T -> N */
  } else {
    if (in_nat)
      for (int i = g - 1; i >= 0; i--) OP_A2A(axes[i], i, i + 1);     /* N -> T */
    for (int i = 0; i < g; i++) { OP_FFT(i); OP_A2A(axes[i], i + 1, i); }
    for (int k = g; k < d; k++) OP_FFT(k);
    if (!out_nat)
      for (int i = g - 1; i >= 0; i--) OP_A2A(axes[i], i, i + 1);     /* N -> T */
  }
#undef OP_FFT
#undef OP_A2A
  {   /* an all-to-all over an axis of size 1 moves nothing: drop it */
    int m = 0;
    for (int i = 0; i < n; i++)
      if (ops[i].kind != STEP_A2A || tess_mesh_axis_size(p->mesh, ops[i].axis) > 1) ops[m++] = ops[i];
    n = m;
  }
  *nops = n;
cleanup:
  return err;
}

static int ops_have_a2a_after(const op_t *ops, int nops, int i)
{
  for (int j = i + 1; j < nops; j++)
    if (ops[j].kind == STEP_A2A) return 1;
  return 0;
}

tess_err_t tess_fft_plan_create_opts(const tess_array_t *in, const tess_array_t *out,
                                     tess_fft_dir_t dir, const tess_fft_opts_t *opts,
                                     tess_fft_plan_t **plan)
{
  tess_err_t err = TESS_OK;
  tess_fft_plan_t *p = NULL;
  tess_fft_opts_t o = {0};
  op_t ops[16];
  int nops = 0, axes[3] = {0};
  dist_t ds;
  box_t cur;
  size_t esc, esr;
  int64_t N = 1, local_out[MAXD];
  unsigned rigor;
  MPI_Comm comm;

  memset(&cur, 0, sizeof cur);
  TESS_REQUIRE(in && out && plan, TESS_ERR_ARG, "NULL argument");
  *plan = NULL;
  TESS_REQUIRE(dir == TESS_FFT_FORWARD || dir == TESS_FFT_BACKWARD, TESS_ERR_ARG,
               "FFT direction %d: expected TESS_FFT_FORWARD or TESS_FFT_BACKWARD", (int)dir);
  if (opts) o = *opts;
  TESS_CHECK(events_init());
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "FFT plan");
  p->dir = dir;
  p->flags = o.flags;
  p->mesh = tess_array_mesh(in);
  TESS_CHECK(tess_fft_backend_select(o.backend, tess_array_memspace(in), &p->be));
  TESS_CHECK(check_arrays(p, in, out, o.rank));
  TESS_CHECK(make_ops(p, ops, &nops, axes));
  comm = tess_mesh_comm(p->mesh);

  esc = p->single ? 8 : 16;
  esr = p->single ? 4 : 8;
  for (int i = 0; i < p->rank; i++) N *= p->n[i];

  /* starting distribution: the input array */
  {
    int64_t lshape[TESS_MAX_NDIM];
    int off = p->ndim - p->rank;
    tess_array_local_shape(in, lshape);
    ds.nd = 1 + p->rank;
    ds.G[0] = prod(lshape, 0, off);
    ds.ax[0] = -1;
    for (int i = 0; i < p->rank; i++) {
      ds.G[1 + i] = p->in_shape[off + i];
      ds.ax[1 + i] = p->in_spec.axis[off + i];
    }
    ds.es = tess_dtype_size(p->in_t);
    cur.buf = BUF_IN;
    cur.nd = ds.nd;
    cur.es = ds.es;
    cur.split = -1;
    dist_local(p, &ds, cur.ext);
  }
  {   /* the output box, to know when an FFT may write into `out` directly */
    dist_t dz = ds;
    int off = p->ndim - p->rank;
    for (int i = 0; i < p->rank; i++) {
      dz.G[1 + i] = p->out_shape[off + i];
      dz.ax[1 + i] = p->out_spec.axis[off + i];
    }
    dist_local(p, &dz, local_out);
  }

  for (int i = 0; i < nops; i++) {
    step_t *st = NULL;
    const op_t *op = &ops[i];
    if (op->kind == STEP_FFT) {
      int k = 1 + op->dim, last = op->dim == p->rank - 1;
      fft_line_desc_t ld;
      box_t nb;
      memset(&ld, 0, sizeof ld);
      memset(&nb, 0, sizeof nb);
      if (cur.split >= 0 && cur.split != k) {
        /* lines would cross chunks in another dim: repack into a plain box */
        box_t wb;
        memset(&wb, 0, sizeof wb);
        wb.buf = BUF_W0;
        wb.nd = cur.nd;
        wb.es = cur.es;
        wb.split = -1;
        memcpy(wb.ext, cur.ext, sizeof wb.ext);
        TESS_CHECK(push_step(p, &st));
        st->kind = STEP_COPY;
        TESS_CHECK(box_clone(&st->src, &cur));
        st->dst = wb;
        need_buf(p, &wb);
        box_free(&cur);
        cur = wb;
      }
      ld.single = p->single;
      ld.n = p->n[op->dim];
      ld.batch = line_batch(ld.n);
      ld.layout = k == ds.nd - 1 ? FFT_LINES_CONTIG : FFT_LINES_INTERLEAVED;
      ld.rigor = o.flags & (TESS_FFT_ESTIMATE | TESS_FFT_MEASURE | TESS_FFT_PATIENT);
      ld.sign = dir == TESS_FFT_FORWARD ? -1 : 1;
      ld.kind = !(last && p->half) ? FFT_LINE_C2C
                : dir == TESS_FFT_FORWARD ? FFT_LINE_R2C : FFT_LINE_C2R;
      {
        int64_t m = ld.kind == FFT_LINE_C2C ? ld.n : ld.n / 2 + 1;
        int64_t lin = ld.kind == FFT_LINE_R2C ? ld.n : m, lout = ld.kind == FFT_LINE_C2R ? ld.n : m;
        ld.ipitch = line_pitch(ld.layout == FFT_LINES_CONTIG ? lin : ld.batch);
        ld.opitch = line_pitch(ld.layout == FFT_LINES_CONTIG ? lout : ld.batch);
        size_t nin = (size_t)(ld.layout == FFT_LINES_CONTIG ? ld.batch * ld.ipitch : lin * ld.ipitch) *
                     (ld.kind == FFT_LINE_R2C ? esr : esc);
        size_t nout = (size_t)(ld.layout == FFT_LINES_CONTIG ? ld.batch * ld.opitch : lout * ld.opitch) *
                      (ld.kind == FFT_LINE_C2R ? esr : esc);
        if (nin > p->scr_bytes) p->scr_bytes = nin;
        if (nout > p->scr_bytes) p->scr_bytes = nout;
        if (ld.kind == FFT_LINE_R2C) { ds.G[k] = m; ds.es = esc; }
        if (ld.kind == FFT_LINE_C2R) { ds.G[k] = ld.n; ds.es = esr; }
      }
      TESS_CHECK(push_step(p, &st));
      st->kind = STEP_FFT;
      st->dim = k;
      TESS_CHECK(get_line(p, &ld, &st->line));
      TESS_CHECK(box_clone(&st->src, &cur));
      nb.nd = ds.nd;
      nb.es = ds.es;
      nb.split = -1;
      dist_local(p, &ds, nb.ext);
      if (i + 1 < nops && ops[i + 1].kind == STEP_A2A && 1 + ops[i + 1].v == k) {
        nb.buf = BUF_SEND;                         /* fused with the transpose pack */
        TESS_CHECK(box_split(&nb, k, tess_mesh_axis_size(p->mesh, ops[i + 1].axis)));
      } else if (i == nops - 1 ||
                 (!ops_have_a2a_after(ops, nops, i) &&
                  !(p->half && dir == TESS_FFT_BACKWARD) &&
                  memcmp(nb.ext, local_out, sizeof(int64_t) * (size_t)nb.nd) == 0)) {
        nb.buf = BUF_OUT;                          /* the rest happens in `out` */
      } else if (cur.split < 0 && (cur.buf == BUF_W0 || cur.buf == BUF_W1) && cur.es == nb.es) {
        nb.buf = cur.buf;                          /* in place */
      } else {
        nb.buf = cur.buf == BUF_W0 ? BUF_W1 : BUF_W0;
      }
      need_buf(p, &nb);
      st->dst = nb;
      box_free(&cur);
      TESS_CHECK(box_clone(&cur, &nb));
      continue;
    }
    /* all-to-all: make sure the data sits in the send box first */
    {
      int a = op->axis, u = 1 + op->u, v = 1 + op->v;
      int pp = tess_mesh_axis_size(p->mesh, a);
      box_t sb, rb;
      memset(&sb, 0, sizeof sb);
      memset(&rb, 0, sizeof rb);
      sb.nd = ds.nd;
      sb.es = ds.es;
      sb.split = -1;
      sb.buf = BUF_SEND;
      dist_local(p, &ds, sb.ext);
      TESS_CHECK(box_split(&sb, v, pp));
      if (cur.buf != BUF_SEND) {
        TESS_CHECK(push_step(p, &st));
        st->kind = STEP_COPY;
        TESS_CHECK(box_clone(&st->src, &cur));
        TESS_CHECK(box_clone(&st->dst, &sb));
      }
      need_buf(p, &sb);
      ds.ax[u] = -1;
      ds.ax[v] = a;
      rb.nd = ds.nd;
      rb.es = ds.es;
      rb.split = -1;
      rb.buf = BUF_RECV;
      dist_local(p, &ds, rb.ext);
      TESS_CHECK(box_split(&rb, u, pp));
      need_buf(p, &rb);
      TESS_CHECK(push_step(p, &st));
      st->kind = STEP_A2A;
      st->comm = tess_mesh_axis_comm(p->mesh, a);
      st->p = pp;
      st->scnt = calloc((size_t)pp, sizeof(int));
      st->sdsp = calloc((size_t)pp, sizeof(int));
      st->rcnt = calloc((size_t)pp, sizeof(int));
      st->rdsp = calloc((size_t)pp, sizeof(int));
      TESS_REQUIRE(st->scnt && st->sdsp && st->rcnt && st->rdsp, TESS_ERR_MEM, "FFT counts");
      for (int q = 0; q < pp; q++) {
        size_t sc = (q + 1 < pp ? sb.seg_off[q + 1] : box_bytes(&sb)) - sb.seg_off[q];
        size_t rc = (q + 1 < pp ? rb.seg_off[q + 1] : box_bytes(&rb)) - rb.seg_off[q];
        TESS_REQUIRE(sc / ds.es < INT32_MAX && rc / ds.es < INT32_MAX && sb.seg_off[q] / ds.es < INT32_MAX &&
                     rb.seg_off[q] / ds.es < INT32_MAX, TESS_ERR_UNSUPPORTED,
                     "FFT transpose block too large for MPI int counts");
        st->scnt[q] = (int)(sc / ds.es);
        st->rcnt[q] = (int)(rc / ds.es);
        st->sdsp[q] = (int)(sb.seg_off[q] / ds.es);
        st->rdsp[q] = (int)(rb.seg_off[q] / ds.es);
      }
      TESS_MPI_CHECK(MPI_Type_contiguous((int)ds.es, MPI_BYTE, &st->type));
      TESS_MPI_CHECK(MPI_Type_commit(&st->type));
      box_free(&sb);
      box_free(&cur);
      cur = rb;
      p->ntransposes++;
    }
  }
  if (cur.buf != BUF_OUT) {
    step_t *st = NULL;
    box_t ob;
    memset(&ob, 0, sizeof ob);
    ob.buf = BUF_OUT;
    ob.nd = ds.nd;
    ob.es = ds.es;
    ob.split = -1;
    memcpy(ob.ext, cur.ext, sizeof ob.ext);
    TESS_CHECK(push_step(p, &st));
    st->kind = STEP_COPY;
    TESS_CHECK(box_clone(&st->src, &cur));
    st->dst = ob;
  }

  /* normalisation on the last FFT step */
  {
    double sc = 1.0;
    unsigned f = o.flags;
    if (f & TESS_FFT_NORM_ORTHO) sc = 1.0 / sqrt((double)N);
    else if ((f & TESS_FFT_NORM_BACKWARD) && dir == TESS_FFT_BACKWARD) sc = 1.0 / (double)N;
    else if ((f & TESS_FFT_NORM_FORWARD) && dir == TESS_FFT_FORWARD) sc = 1.0 / (double)N;
    for (int i = p->nsteps - 1; i >= 0; i--)
      if (p->steps[i].kind == STEP_FFT) { p->steps[i].scale = sc; break; }
    for (int i = 0; i < p->nsteps; i++)
      if (p->steps[i].kind == STEP_FFT && p->steps[i].scale == 0.0) p->steps[i].scale = 1.0;
  }

  /* group consecutive FFT steps whose common planes fit in cache */
  for (int i = 0; i < p->nsteps;) {
    int len = 1, k0 = p->steps[i].dim;
    if (p->steps[i].kind != STEP_FFT) { i++; continue; }
    while (i + len < p->nsteps && p->steps[i + len].kind == STEP_FFT) {
      const step_t *nx = &p->steps[i + len];
      int kk = nx->dim < k0 ? nx->dim : k0, ok = 1;
      for (int m = 0; m <= len && ok; m++) {
        const step_t *q = &p->steps[i + m];
        size_t pin = (size_t)prod(q->src.ext, kk, q->src.nd) * q->src.es;
        size_t pout = (size_t)prod(q->dst.ext, kk, q->dst.nd) * q->dst.es;
        if ((q->src.split >= 0 && q->src.split < kk) || (q->dst.split >= 0 && q->dst.split < kk) ||
            (m < len && q->dst.split >= 0) || pin + pout > FFT_PLANE_BYTES)
          ok = 0;   /* (results between steps live in one plain plane) */
      }
      if (!ok) break;
      k0 = kk;
      len++;
    }
    p->steps[i].group_len = len;
    p->steps[i].group_k0 = k0;
    i += len;
  }

  /* streaming stores on big out-of-place outputs; the plane between grouped steps */
  {
    const char *env = getenv("TESS_FFT_STREAM");
    int force = env && *env ? atoi(env) != 0 : -1;
    for (int i = 0; i < p->nsteps;) {
      step_t *h = &p->steps[i], *last;
      int len = h->group_len;
      if (h->kind != STEP_FFT) { i++; continue; }
      last = &p->steps[i + len - 1];
      last->stream = last->dst.buf != h->src.buf &&
                     (force >= 0 ? force : box_bytes(&last->dst) >= FFT_STREAM_MIN_BYTES);
      for (int m = 0; m + 1 < len; m++) {
        const box_t *d = &p->steps[i + m].dst;
        size_t b = (size_t)prod(d->ext, h->group_k0, d->nd) * d->es;
        if (b > p->plane_bytes) p->plane_bytes = b;
      }
      i += len;
    }
  }

  /* buffers and line plans */
  for (int b = BUF_W0; b < NBUF; b++)
    if (p->buf_bytes[b]) TESS_CHECK(tess_malloc(TESS_MEM_HOST, p->buf_bytes[b], &p->buf[b]));
  if (p->plane_bytes) TESS_CHECK(tess_malloc(TESS_MEM_HOST, p->plane_bytes, &p->plane));
  TESS_CHECK(tess_malloc(p->be->scratch_space, p->scr_bytes, &p->scr_in));
  TESS_CHECK(tess_malloc(p->be->scratch_space, p->scr_bytes, &p->scr_out));
  rigor = o.flags & (TESS_FFT_MEASURE | TESS_FFT_PATIENT);
  if (rigor) {
    fft_line_desc_t d[MAXLINES];
    void *lp[MAXLINES];
    for (int i = 0; i < p->nlines; i++) d[i] = p->lines[i].d;
    TESS_CHECK(p->be->line_plan_measured(comm, o.wisdom_file, p->nlines, d, p->scr_in,
                                         p->scr_out, lp));
    for (int i = 0; i < p->nlines; i++) p->lines[i].lp = lp[i];
  } else {
    for (int i = 0; i < p->nlines; i++)
      TESS_CHECK(p->be->line_plan(&p->lines[i].d, p->scr_in, p->scr_out, &p->lines[i].lp));
  }
  *plan = p;
  p = NULL;
cleanup:
  box_free(&cur);
  tess_fft_plan_destroy(&p);
  return err;
}

tess_err_t tess_fft_plan_create(const tess_array_t *in, const tess_array_t *out,
                                tess_fft_dir_t dir, unsigned flags, tess_fft_plan_t **plan)
{
  tess_fft_opts_t o = {0};
  o.flags = flags;
  return tess_fft_plan_create_opts(in, out, dir, &o, plan);
}

tess_err_t tess_fft_execute(const tess_fft_plan_t *p, const tess_array_t *in, tess_array_t *out)
{
  tess_err_t err = TESS_OK;
  char *bufs[NBUF];
  seg_t *sa = NULL, *sz = NULL;
  size_t *offa = NULL, *offz = NULL;
  int maxp = 1;
  int64_t shp[TESS_MAX_NDIM];
  tess_shardspec_t sp;

  TESS_REQUIRE(p && in && out, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(tess_array_mesh(in) == p->mesh && tess_array_mesh(out) == p->mesh, TESS_ERR_ARG,
               "FFT arrays are not on the plan's mesh");
  TESS_REQUIRE(tess_array_dtype(in) == p->in_t && tess_array_dtype(out) == p->out_t,
               TESS_ERR_SHAPE, "FFT dtypes %s->%s differ from the plan's %s->%s",
               tess_dtype_name(tess_array_dtype(in)), tess_dtype_name(tess_array_dtype(out)),
               tess_dtype_name(p->in_t), tess_dtype_name(p->out_t));
  TESS_REQUIRE(tess_array_ndim(in) == p->ndim && tess_array_ndim(out) == p->ndim, TESS_ERR_SHAPE,
               "FFT arrays have %d/%d dims, the plan %d", tess_array_ndim(in),
               tess_array_ndim(out), p->ndim);
  tess_array_global_shape(in, shp);
  TESS_REQUIRE(memcmp(shp, p->in_shape, sizeof(int64_t) * (size_t)p->ndim) == 0, TESS_ERR_SHAPE,
               "FFT input shape differs from the plan's");
  tess_array_global_shape(out, shp);
  TESS_REQUIRE(memcmp(shp, p->out_shape, sizeof(int64_t) * (size_t)p->ndim) == 0,
               TESS_ERR_SHAPE, "FFT output shape differs from the plan's");
  tess_array_spec(in, &sp);
  TESS_REQUIRE(tess_shardspec_equal(&sp, &p->in_spec), TESS_ERR_SHAPE,
               "FFT input spec differs from the plan's");
  tess_array_spec(out, &sp);
  TESS_REQUIRE(tess_shardspec_equal(&sp, &p->out_spec), TESS_ERR_SHAPE,
               "FFT output spec differs from the plan's");
  TESS_REQUIRE(in != out || !p->half, TESS_ERR_ARG, "r2c/c2r cannot run in place");

  for (int i = 0; i < p->nsteps; i++)
    if (p->steps[i].p > maxp) maxp = p->steps[i].p;
  sa = malloc((size_t)maxp * sizeof *sa);
  sz = malloc((size_t)maxp * sizeof *sz);
  offa = malloc((size_t)maxp * sizeof *offa);
  offz = malloc((size_t)maxp * sizeof *offz);
  TESS_REQUIRE(sa && sz && offa && offz, TESS_ERR_MEM, "FFT segments");
  bufs[BUF_IN] = (char *)tess_array_local_data_const(in);
  bufs[BUF_OUT] = tess_array_local_data(out);
  for (int b = BUF_W0; b < NBUF; b++) bufs[b] = p->buf[b];

  tess_log_event_begin(ev_exec);
  for (int i = 0; i < p->nsteps && err == TESS_OK; i++) {
    const step_t *st = &p->steps[i];
    if (st->kind == STEP_FFT && st->group_len > 1) {
      /* consecutive FFTs plane by plane, so each plane stays in cache */
      int k0 = st->group_k0;
      int64_t nplanes = prod(st->src.ext, 0, k0);
      tess_log_event_begin(ev_lines);
      for (int64_t j = 0; j < nplanes; j++)
        for (int m = 0; m < st->group_len; m++) {
          step_t v = p->steps[i + m];
          char *s0 = box_view(&p->steps[i + m].src, bufs[v.src.buf], k0, j, &v.src, offa);
          char *d0 = box_view(&p->steps[i + m].dst, bufs[v.dst.buf], k0, j, &v.dst, offz);
          if (m > 0) s0 = p->plane;                      /* the previous step's plane */
          if (m < st->group_len - 1) d0 = p->plane;      /* in place there: lines copy out */
          run_fft_step(p, &v, s0, d0, sa);
        }
      tess_log_event_end(ev_lines);
      i += st->group_len - 1;
    } else if (st->kind == STEP_FFT) {
      tess_log_event_begin(ev_lines);
      run_fft_step(p, st, bufs[st->src.buf], bufs[st->dst.buf], sa);
      tess_log_event_end(ev_lines);
    } else if (st->kind == STEP_COPY) {
      run_copy_step(st, bufs[st->src.buf], bufs[st->dst.buf], sa, sz);
    } else {
      int rc;
      tess_log_event_begin(ev_a2a);
      rc = MPI_Alltoallv(bufs[BUF_SEND], st->scnt, st->sdsp, st->type, bufs[BUF_RECV], st->rcnt,
                         st->rdsp, st->type, st->comm);
      tess_log_event_end(ev_a2a);
      if (rc != MPI_SUCCESS)
        err = tess_error_push_mpi(rc, __FILE__, __LINE__, __func__, "MPI_Alltoallv");
    }
  }
  tess_log_event_end(ev_exec);
cleanup:
  free(sa);
  free(sz);
  free(offa);
  free(offz);
  return err;
}

tess_err_t tess_fft_plan_info(const tess_fft_plan_t *p, tess_fft_info_t *info)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && info, TESS_ERR_ARG, "NULL argument");
  memset(info, 0, sizeof *info);
  info->rank = p->rank;
  info->half = p->half;
  info->grid_axes = p->g;
  info->ntransposes = p->ntransposes;
  info->backend = p->be->name;
  for (int i = 0; i < p->rank; i++) {
    info->n[i] = p->n[i];
    info->batch_lines[i] = line_batch(p->n[i]);
  }
cleanup:
  return err;
}

tess_err_t tess_fft_create_output(const tess_array_t *in, int rank, tess_fft_layout_t layout,
                                  tess_array_t **out)
{
  tess_err_t err = TESS_OK;
  int nd, d, nat, tra, gn, gt, an[3], at[3], t[3];
  int64_t shape[TESS_MAX_NDIM];
  tess_shardspec_t sp, osp;
  tess_dtype_t dt;
  TESS_REQUIRE(in && out, TESS_ERR_ARG, "NULL argument");
  *out = NULL;
  nd = tess_array_ndim(in);
  d = rank == 0 ? nd : rank;
  TESS_REQUIRE(d >= 1 && d <= 3 && d <= nd, TESS_ERR_ARG, "FFT rank %d for a %d-dim array", d,
               nd);
  tess_array_spec(in, &sp);
  for (int i = 0; i < d; i++) t[i] = sp.axis[nd - d + i];
  spec_forms(t, d, &nat, &tra, &gn, &gt, an, at);
  TESS_REQUIRE(nat, TESS_ERR_ARG, "tess_fft_create_output: input spec must be in natural form");
  TESS_CHECK(tess_fft_spec(nd, d, gn, an, layout, &osp));
  for (int i = 0; i < nd - d; i++) osp.axis[i] = sp.axis[i];
  tess_array_global_shape(in, shape);
  dt = tess_array_dtype(in);
  if (dt == TESS_F64) { dt = TESS_C128; shape[nd - 1] = shape[nd - 1] / 2 + 1; }
  else if (dt == TESS_F32) { dt = TESS_C64; shape[nd - 1] = shape[nd - 1] / 2 + 1; }
  TESS_CHECK(tess_array_create(tess_array_mesh(in), dt, nd, shape, &osp, tess_array_memspace(in),
                               out));
cleanup:
  return err;
}
