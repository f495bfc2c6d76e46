/* spectral/fft_layout.c: the geometry of FFT plans: the fixed line
 * batches and scratch pitches (determinism: functions of the line length
 * only), boxes and their chunks, the natural / transposed spec forms, and
 * the output array of a forward transform. No data moves here. */
#include <stdlib.h>
#include <string.h>

#include "fft_internal.h"


/* The host executor's fixed line batch (backends' line_batch; the cuFFT
 * backend has its own): a function of the line length only (never of the
 * rank count or dtype): as many lines as keep one scratch near 256 KiB (L2),
 * between 8 and 64, a multiple of 4 so SIMD lanes are always full. */
int64_t fft_line_batch(int64_t n)
{
  int64_t b = 64;
  while (b > 8 && n * b * 16 > ((int64_t)256 << 10)) b /= 2;
  return b;
}

/* Scratch pitch: a multiple of 4 elements (every line equally aligned) plus
 * 4, so scratch rows never sit a power of two apart (cache-set conflicts). */
int64_t fft_line_pitch(int64_t len) { return (len + 3) / 4 * 4 + 4; }

int64_t fft_prod(const int64_t *x, int a, int b)   /* x[a] * ... * x[b-1] */
{
  int64_t r = 1;
  for (int i = a; i < b; i++) r *= x[i];
  return r;
}

void fft_box_free(box_t *b)
{
  free(b->seg_start);
  free(b->seg_len);
  free(b->seg_off);
  b->seg_start = b->seg_len = NULL;
  b->seg_off = NULL;
}

size_t fft_box_bytes(const box_t *b) { return (size_t)fft_prod(b->ext, 0, b->nd) * b->es; }

/* Split `b` along dim `dim` into the p blocks of its (full) extent. */
tess_err_t fft_box_split(box_t *b, int dim, int p)
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

tess_err_t fft_box_clone(box_t *dst, const box_t *src)
{
  tess_err_t err = TESS_OK;
  *dst = *src;
  dst->seg_start = NULL;
  dst->seg_len = NULL;
  dst->seg_off = NULL;
  if (src->split >= 0) TESS_CHECK(fft_box_split(dst, src->split, src->nseg));
cleanup:
  return err;
}

/* The part of box b with fixed index j over its dims < k0 (flattened), as a
 * box whose leading extents are 1. `offs` holds nseg offsets for a split box. */
char *fft_box_view(const box_t *b, char *base, int k0, int64_t j, box_t *v, size_t *offs)
{
  *v = *b;
  for (int i = 0; i < k0; i++) v->ext[i] = 1;
  if (b->split < 0) return base + (size_t)(j * fft_prod(b->ext, k0, b->nd)) * b->es;
  int64_t rest = 1;
  for (int i = k0; i < b->nd; i++)
    if (i != b->split) rest *= b->ext[i];
  for (int q = 0; q < b->nseg; q++)
    offs[q] = b->seg_off[q] + (size_t)(j * rest * b->seg_len[q]) * b->es;
  v->seg_off = offs;
  return base;
}

/* The staged form of plain box b for the line step along box dim kc
 * described by d (see fft_backend.h). Images are whole multiples of 64
 * bytes, so each starts as aligned as the scratch the line plan was made on. */
void fft_stage_init(fft_stage_t *st, const box_t *b, int kc, const fft_line_desc_t *d)
{
  int64_t align = 64 / (int64_t)b->es > 0 ? 64 / (int64_t)b->es : 1;
  memset(st, 0, sizeof *st);
  st->on = 1;
  st->inter = d->layout == FFT_LINES_INTERLEAVED;
  st->es = b->es;
  st->B = d->batch;
  st->pitch = d->ipitch;
  st->nt = b->ext[kc];
  st->s = fft_prod(b->ext, kc + 1, b->nd);
  st->img = st->inter ? st->pitch * st->nt : st->B * st->pitch;
  st->img = (st->img + align - 1) / align * align;
}

/* Bytes of box b staged as st. */
size_t fft_stage_bytes(const fft_stage_t *st, const box_t *b)
{
  int64_t lines = st->nt ? fft_prod(b->ext, 0, b->nd) / st->nt : 0;
  return (size_t)((lines + st->B - 1) / st->B * st->img) * st->es;
}

/* Which form a transform-dims spec is in; fills the axes (g of them). */
void fft_spec_forms(const int *t, int d, int *nat, int *tra, int *gn, int *gt, int an[3],
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
  fft_spec_forms(t, d, &nat, &tra, &gn, &gt, an, at);
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
