/* spectral/fft_plan.c: the device-neutral step planner of distributed FFTs
 * (slab and pencil). Planning is slow (line plans, FFTW measuring, wisdom
 * exchange, transpose plans); execution must be cheap, so all setup happens
 * in tess_fft_plan_create_opts() and tess_fft_execute() (fft_execute.c) only
 * moves data. The phases:
 *   1. check the arrays, read the decomposition from their specs (make_ops:
 *      the abstract FFT / all-to-all sequence, fft_internal.h);
 *   2. turn ops into steps over boxes, fusing every transpose's pack and
 *      unpack with the neighbouring FFT's line copies, and plan each
 *      transpose as a packed reshard;
 *   3. normalisation on the last FFT step; group consecutive FFT steps whose
 *      planes fit in cache; streaming stores for big outputs;
 *   4. buffers and workspace from the backend, then the line plans.
 * Lines are copied B at a time into an aligned scratch, transformed by one
 * backend plan per line shape and copied out (see fft.h on determinism). The
 * order in which dims are transformed is fixed (forward: last dim first;
 * backward: first dim first), whatever the decomposition, so slab, pencil and
 * serial plans give bitwise identical results. A plan never owns user arrays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/comm.h>

#include "fft_internal.h"

/* An out-of-place step whose output box is at least this large writes it with
 * streaming (non-temporal) stores: the output is far bigger than the caches,
 * so fetching its lines only to overwrite them would cost a third of the
 * step's memory traffic. TESS_FFT_STREAM=0/1 forces it off/on (tests, A/B). */
#define FFT_STREAM_MIN_BYTES ((size_t)8 << 20)

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
cleanup:
  return err;
}

static void need_buf(tess_fft_plan_t *p, const box_t *b)
{
  size_t n = fft_box_bytes(b);
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

static void plan_free_parts(tess_fft_plan_t *p)
{
  for (int i = 0; i < p->nsteps; i++) {
    step_t *s = &p->steps[i];
    fft_box_free(&s->src);
    fft_box_free(&s->dst);
    tess_reshard_destroy(&s->xchg);
  }
  free(p->steps);
  p->steps = NULL;
  for (int i = 0; i < p->nlines; i++)
    if (p->lines[i].lp) p->be->line_destroy(p->lines[i].lp);
  p->nlines = 0;
  if (p->local) p->be->local_destroy(p->local);
  p->local = NULL;
  if (p->be) {
    p->be->buf_free(&p->scr_in);
    p->be->buf_free(&p->scr_out);
    if (p->recv_in_send) p->buf[BUF_RECV] = NULL;   /* part of SEND's allocation */
    for (int i = BUF_W0; i < NBUF; i++) p->be->buf_free(&p->buf[i]);
    p->be->buf_free(&p->plane[0]);
    p->be->buf_free(&p->plane[1]);
  }
  for (int i = 0; i < 2; i++) {
    free(p->ws_seg[i]);
    free(p->ws_off[i]);
    p->ws_seg[i] = NULL;
    p->ws_off[i] = NULL;
  }
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
  fft_spec_forms(ti, d, &nat_i, &tra_i, &gn_i, &gt_i, an_i, at_i);
  fft_spec_forms(to, d, &nat_o, &tra_o, &gn_o, &gt_o, an_o, at_o);
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

/* The scaling of a transform of N points (the TESS_FFT_NORM_* flags). */
static double norm_scale(unsigned f, tess_fft_dir_t dir, int64_t N)
{
  if (f & TESS_FFT_NORM_ORTHO) return 1.0 / sqrt((double)N);
  if ((f & TESS_FFT_NORM_BACKWARD) && dir == TESS_FFT_BACKWARD) return 1.0 / (double)N;
  if ((f & TESS_FFT_NORM_FORWARD) && dir == TESS_FFT_FORWARD) return 1.0 / (double)N;
  return 1.0;
}

/* TESS_FFT_FAST_LOCAL applies: no all-to-all is left (every grid axis has
 * size 1, so every transform dim is whole on every rank: in and out are
 * row-major local blocks of `howmany` arrays) and no transformed size is 1
 * (not every cuFFT kind takes it). */
static int local_plan_applies(const tess_fft_plan_t *p, const op_t *ops, int nops)
{
  if (!(p->flags & TESS_FFT_FAST_LOCAL) || !p->be->local_plan) return 0;
  for (int i = 0; i < nops; i++)
    if (ops[i].kind == STEP_A2A) return 0;
  for (int i = 0; i < p->rank; i++)
    if (p->n[i] < 2) return 0;
  return 1;
}

/* Whether a step before step `end`, back to the last transpose, reads the
 * receive buffer (then the transpose at `end` cannot have its own chunk
 * written into it: the step would overwrite what it has yet to read). */
static int reads_recv_before(const tess_fft_plan_t *p, int end)
{
  for (int i = end - 1; i >= 0 && p->steps[i].kind != STEP_A2A; i--)
    if (p->steps[i].src.buf == BUF_RECV) return 1;
  return 0;
}

static tess_err_t plan_local(tess_fft_plan_t *p, int64_t howmany, double scale)
{
  tess_err_t err = TESS_OK;
  fft_local_desc_t d;
  memset(&d, 0, sizeof d);
  d.kind = !p->half ? FFT_LINE_C2C : p->dir == TESS_FFT_FORWARD ? FFT_LINE_R2C : FFT_LINE_C2R;
  d.single = p->single;
  d.sign = p->dir == TESS_FFT_FORWARD ? -1 : 1;
  d.rank = p->rank;
  for (int i = 0; i < p->rank; i++) d.n[i] = p->n[i];
  d.howmany = howmany;
  d.scale = scale;
  TESS_CHECK(p->be->local_plan(&d, &p->local));
  p->passes = p->rank + (scale != 1.0) + (d.kind == FFT_LINE_C2R);
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
  int nops = 0, axes[3] = {0}, nplanes = 1;
  dist_t ds;
  box_t cur;
  size_t esc, esr;
  int64_t N = 1, local_out[MAXD];
  unsigned rigor;

  memset(&cur, 0, sizeof cur);
  TESS_REQUIRE(in && out && plan, TESS_ERR_ARG, "NULL argument");
  *plan = NULL;
  TESS_REQUIRE(dir == TESS_FFT_FORWARD || dir == TESS_FFT_BACKWARD, TESS_ERR_ARG,
               "FFT direction %d: expected TESS_FFT_FORWARD or TESS_FFT_BACKWARD", (int)dir);
  if (opts) o = *opts;
  TESS_CHECK(tess_fft_events_init());
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "FFT plan");
  p->dir = dir;
  p->flags = o.flags;
  p->mesh = tess_array_mesh(in);
  p->space = tess_array_memspace(in);
  TESS_CHECK(tess_fft_backend_select(o.backend, tess_array_memspace(in), &p->be));
  TESS_CHECK(check_arrays(p, in, out, o.rank));
  TESS_CHECK(make_ops(p, ops, &nops, axes));

  esc = p->single ? 8 : 16;
  esr = p->single ? 4 : 8;
  for (int i = 0; i < p->rank; i++) N *= p->n[i];

  /* starting distribution: the input array */
  {
    int64_t lshape[TESS_MAX_NDIM];
    int off = p->ndim - p->rank;
    tess_array_local_shape(in, lshape);
    ds.nd = 1 + p->rank;
    ds.G[0] = fft_prod(lshape, 0, off);
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
  if (local_plan_applies(p, ops, nops)) {   /* one backend plan, no steps */
    TESS_CHECK(plan_local(p, ds.G[0], norm_scale(o.flags, dir, N)));
    *plan = p;
    p = NULL;
    goto cleanup;
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
        TESS_CHECK(fft_box_clone(&st->src, &cur));
        st->dst = wb;
        need_buf(p, &wb);
        fft_box_free(&cur);
        cur = wb;
      }
      ld.single = p->single;
      ld.n = p->n[op->dim];
      ld.batch = p->be->line_batch(ld.n);
      ld.layout = k == ds.nd - 1 ? FFT_LINES_CONTIG : FFT_LINES_INTERLEAVED;
      ld.rigor = o.flags & (TESS_FFT_ESTIMATE | TESS_FFT_MEASURE | TESS_FFT_PATIENT);
      ld.sign = dir == TESS_FFT_FORWARD ? -1 : 1;
      ld.kind = !(last && p->half) ? FFT_LINE_C2C
                : dir == TESS_FFT_FORWARD ? FFT_LINE_R2C : FFT_LINE_C2R;
      {
        int64_t m = ld.kind == FFT_LINE_C2C ? ld.n : ld.n / 2 + 1;
        int64_t lin = ld.kind == FFT_LINE_R2C ? ld.n : m, lout = ld.kind == FFT_LINE_C2R ? ld.n : m;
        ld.ipitch = fft_line_pitch(ld.layout == FFT_LINES_CONTIG ? lin : ld.batch);
        ld.opitch = fft_line_pitch(ld.layout == FFT_LINES_CONTIG ? lout : ld.batch);
        /* Contiguous lines whose rows keep the cache-line alignment one
         * after the other: scratch lines sit as a box's rows do, so the
         * executor can run the plan on the rows themselves (no copy) where a
         * batch's rows are contiguous. Depends on n and dtype only: the same
         * plan at every rank count. */
        if (ld.layout == FFT_LINES_CONTIG) {
          if ((lin * (ld.kind == FFT_LINE_R2C ? esr : esc)) % 64 == 0) {
            ld.direct |= FFT_DIRECT_IN;
            ld.ipitch = lin;
          }
          if ((lout * (ld.kind == FFT_LINE_C2R ? esr : esc)) % 64 == 0) {
            ld.direct |= FFT_DIRECT_OUT;
            ld.opitch = lout;
          }
        }
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
      TESS_CHECK(fft_box_clone(&st->src, &cur));
      nb.nd = ds.nd;
      nb.es = ds.es;
      nb.split = -1;
      dist_local(p, &ds, nb.ext);
      if (i + 1 < nops && ops[i + 1].kind == STEP_A2A && 1 + ops[i + 1].v == k) {
        nb.buf = BUF_SEND;                         /* fused with the transpose pack */
        TESS_CHECK(fft_box_split(&nb, k, tess_mesh_axis_size(p->mesh, ops[i + 1].axis)));
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
      fft_box_free(&cur);
      TESS_CHECK(fft_box_clone(&cur, &nb));
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
      TESS_CHECK(fft_box_split(&sb, v, pp));
      if (cur.buf != BUF_SEND) {
        TESS_CHECK(push_step(p, &st));
        st->kind = STEP_COPY;
        TESS_CHECK(fft_box_clone(&st->src, &cur));
        TESS_CHECK(fft_box_clone(&st->dst, &sb));
      }
      need_buf(p, &sb);
      ds.ax[u] = -1;
      ds.ax[v] = a;
      rb.nd = ds.nd;
      rb.es = ds.es;
      rb.split = -1;
      rb.buf = BUF_RECV;
      dist_local(p, &ds, rb.ext);
      TESS_CHECK(fft_box_split(&rb, u, pp));
      need_buf(p, &rb);
      TESS_CHECK(push_step(p, &st));
      st->kind = STEP_A2A;
      st->p = pp;
      {
        /* the transpose: chunk q of the send box to peer q, into chunk q of
         * the receive box; a packed reshard over the axis, planned here */
        size_t *v = malloc(sizeof *v * (size_t)(4 * pp));
        tess_dtype_t et = ds.es == 16 ? TESS_C128 : ds.es == 8 ? TESS_F64 : TESS_F32;
        TESS_REQUIRE(v != NULL, TESS_ERR_MEM, "FFT transpose counts");
        int me = -1;
        /* host plans: the own chunk skips the exchange (an MPI self copy
         * of 1/pp of the data, ~10 % of a 2-rank 128^3 transform); the step
         * before writes it where the exchange would have put it */
        if (p->space == TESS_MEM_HOST && !reads_recv_before(p, p->nsteps - 1))
          TESS_CHECK(tess_comm_rank_size(p->mesh, 1u << a, &me, NULL));
        st->self_q = me;
        st->self_roff = me >= 0 ? rb.seg_off[me] : 0;
        for (int q = 0; q < pp; q++) {
          size_t sc = (q + 1 < pp ? sb.seg_off[q + 1] : fft_box_bytes(&sb)) - sb.seg_off[q];
          size_t rc = (q + 1 < pp ? rb.seg_off[q + 1] : fft_box_bytes(&rb)) - rb.seg_off[q];
          v[q] = q == me ? 0 : sc / ds.es;
          v[pp + q] = sb.seg_off[q] / ds.es;
          v[2 * pp + q] = q == me ? 0 : rc / ds.es;
          v[3 * pp + q] = rb.seg_off[q] / ds.es;
        }
        err = tess_reshard_create_packed(p->mesh, 1u << a, et, tess_array_memspace(in), v, v + pp,
                                         v + 2 * pp, v + 3 * pp, &st->xchg);
        free(v);
        TESS_CHECK(err);
      }
      fft_box_free(&sb);
      fft_box_free(&cur);
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
    TESS_CHECK(fft_box_clone(&st->src, &cur));
    st->dst = ob;
  }

  /* normalisation on the last FFT step */
  {
    double sc = norm_scale(o.flags, dir, N);
    for (int i = p->nsteps - 1; i >= 0; i--)
      if (p->steps[i].kind == STEP_FFT) { p->steps[i].scale = sc; break; }
    for (int i = 0; i < p->nsteps; i++)
      if (p->steps[i].kind == STEP_FFT && p->steps[i].scale == 0.0) p->steps[i].scale = 1.0;
  }

  /* group consecutive FFT steps whose common planes fit in cache (the
   * backend's plane budget: about an L2 on the host, none on a GPU) */
  for (int i = 0; i < p->nsteps;) {
    int len = 1, k0 = p->steps[i].dim;
    if (p->steps[i].kind != STEP_FFT) { i++; continue; }
    while (i + len < p->nsteps && p->steps[i + len].kind == STEP_FFT) {
      const step_t *nx = &p->steps[i + len];
      int kk = nx->dim < k0 ? nx->dim : k0, ok = 1;
      for (int m = 0; m <= len && ok; m++) {
        const step_t *q = &p->steps[i + m];
        size_t pin = (size_t)fft_prod(q->src.ext, kk, q->src.nd) * q->src.es;
        size_t pout = (size_t)fft_prod(q->dst.ext, kk, q->dst.nd) * q->dst.es;
        if ((q->src.split >= 0 && q->src.split < kk) || (q->dst.split >= 0 && q->dst.split < kk) ||
            (m < len && q->dst.split >= 0) || pin + pout > p->be->plane_group_bytes)
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

  /* sweeps over the data: a group of steps on cache-resident planes counts once */
  for (int i = 0; i < p->nsteps; i += p->steps[i].kind == STEP_FFT ? p->steps[i].group_len : 1)
    p->passes++;

  /* streaming stores on big out-of-place outputs; the planes between grouped steps */
  {
    const char *env = getenv("TESS_FFT_STREAM");
    int force = env && *env ? atoi(env) != 0 : -1;
    for (int i = 0; i < p->nsteps;) {
      step_t *h = &p->steps[i], *last;
      int len = h->group_len;
      if (h->kind != STEP_FFT) { i++; continue; }
      last = &p->steps[i + len - 1];
      last->stream = last->dst.buf != h->src.buf &&
                     (force >= 0 ? force : fft_box_bytes(&last->dst) >= FFT_STREAM_MIN_BYTES);
      size_t pmax = 0;
      for (int m = 0; m + 1 < len; m++) {
        const box_t *d = &p->steps[i + m].dst;
        size_t b = (size_t)fft_prod(d->ext, h->group_k0, d->nd) * d->es;
        if (b > p->plane_bytes) p->plane_bytes = b;
        if (b > pmax) pmax = b;
      }
      /* where the planes are small against the cache, each holds the next
       * step's input staged (fft_backend.h), alternating between two */
      if (len > 1 && pmax < p->be->plane_stage_max()) {
        for (int m = 0; m + 1 < len; m++) {
          step_t *w = &p->steps[i + m], *r = &p->steps[i + m + 1];
          box_t v = r->src;
          for (int d = 0; d < h->group_k0; d++) v.ext[d] = 1;
          fft_stage_init(&r->stage_in, &v, r->dim, &p->lines[r->line].d);
          w->stage_out = r->stage_in;
          size_t b = fft_stage_bytes(&r->stage_in, &v);
          if (b > p->plane_bytes) p->plane_bytes = b;
        }
        if (len > 2) nplanes = 2;
      }
      i += len;
    }
  }

  /* buffers and line plans */
  {
    /* own chunks of the transposes: RECV after SEND in one allocation, and
     * each such chunk's send offset moved to its place in RECV; never at
     * SEND's address, even where this rank sends nothing (send == recv
     * would mean MPI_IN_PLACE to the exchange) */
    size_t rel = (p->buf_bytes[BUF_SEND] + 4096) & ~(size_t)4095;
    for (int i = 0; i < p->nsteps; i++)
      if (p->steps[i].kind == STEP_A2A && p->steps[i].self_q >= 0) p->recv_in_send = 1;
    for (int b = BUF_W0; b < NBUF; b++) {
      size_t n = p->buf_bytes[b];
      if (p->recv_in_send && b == BUF_SEND) n = rel + p->buf_bytes[BUF_RECV];
      if (p->recv_in_send && b == BUF_RECV) p->buf[b] = (char *)p->buf[BUF_SEND] + rel;
      else if (n) TESS_CHECK(p->be->buf_alloc(n, &p->buf[b]));
    }
    for (int i = 1; i < p->nsteps; i++) {
      step_t *x = &p->steps[i], *w = &p->steps[i - 1];
      if (x->kind != STEP_A2A || x->self_q < 0) continue;
      TESS_REQUIRE(w->dst.buf == BUF_SEND && w->dst.split >= 0, TESS_ERR_INTERNAL,
                   "FFT plan: the step before a transpose does not write its send chunks");
      w->dst.seg_off[x->self_q] = rel + x->self_roff;
    }
  }
  for (int i = 0; i < nplanes && p->plane_bytes; i++)
    TESS_CHECK(p->be->buf_alloc(p->plane_bytes, &p->plane[i]));
  TESS_CHECK(p->be->buf_alloc(p->scr_bytes, &p->scr_in));
  TESS_CHECK(p->be->buf_alloc(p->scr_bytes, &p->scr_out));
  /* the executor's segment lists and chunk offsets: one per chunk of the
   * most split box, so that tess_fft_execute allocates nothing */
  p->maxseg = 1;
  for (int i = 0; i < p->nsteps; i++)
    if (p->steps[i].p > p->maxseg) p->maxseg = p->steps[i].p;
  for (int i = 0; i < 2; i++) {
    p->ws_seg[i] = malloc(sizeof *p->ws_seg[i] * (size_t)p->maxseg);
    p->ws_off[i] = malloc(sizeof *p->ws_off[i] * (size_t)p->maxseg);
    TESS_REQUIRE(p->ws_seg[i] && p->ws_off[i], TESS_ERR_MEM, "FFT execution workspace");
  }
  rigor = o.flags & (TESS_FFT_MEASURE | TESS_FFT_PATIENT);
  if (rigor) {
    fft_line_desc_t d[MAXLINES];
    void *lp[MAXLINES];
    for (int i = 0; i < p->nlines; i++) d[i] = p->lines[i].d;
    TESS_CHECK(p->be->line_plan_measured(p->mesh, o.wisdom_file, p->nlines, d, p->scr_in,
                                         p->scr_out, lp));
    for (int i = 0; i < p->nlines; i++) p->lines[i].lp = lp[i];
  } else {
    for (int i = 0; i < p->nlines; i++)
      TESS_CHECK(p->be->line_plan(&p->lines[i].d, p->scr_in, p->scr_out, &p->lines[i].lp));
  }
  *plan = p;
  p = NULL;
cleanup:
  fft_box_free(&cur);
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
  info->local_plan = p->local != NULL;
  info->passes = p->passes;
  for (int i = 0; i < p->rank; i++) {
    info->n[i] = p->n[i];
    info->batch_lines[i] = p->be->line_batch(p->n[i]);
  }
cleanup:
  return err;
}
