/* tests/gpu/test_cufft_lines.cu: the cuFFT executor's line copies checked
 * on the CPU, so CUDA builds on machines without a GPU test them too. The
 * gather and scatter kernels' thread bodies are host-callable: here every
 * thread of every launch shape (line_launch) runs in a loop, on random boxes
 * (2-4 dims, plain or in chunks along the line dim, empty chunks included),
 * random batches and pitches, interleaved and contiguous lines, 4/8/16-byte
 * elements, chunk tables cut in groups (SEGMAX 3) and grids cut in rows
 * (GRID_Y_MAX 2). Truth: the box layout written out from its definition
 * (fft_backend.h: chunk q row-major with the line dim's extent seg_len[q])
 * and the scratch layouts (element t of lane b at t*pitch + b interleaved,
 * b*pitch + t contiguous). Checked: each batch's scratch holds its lines and
 * zeros past the last one and nothing outside them is touched; gather, an
 * identity "transform" and a scaling scatter into a box cut in other chunks
 * reproduce the source box times the scale, touching nothing else. Also the
 * line batch: a power of two in [8, 16384], B*n <= 2^21 wherever B > 8. */
#define SEGMAX 3
#define GRID_Y_MAX 2
#include "../../spectral/cuda/fft_backend_cufft.cu"

#include <stdio.h>
#include <vector>

static int fails;
#define EXPECT(c, ...)                                                    \
  do {                                                                    \
    if (!(c) && fails++ < 20) { printf("FAIL: " __VA_ARGS__); printf("\n"); } \
  } while (0)

static uint64_t rng = 88172645463325252ull;
static int64_t rnd(int64_t n)   /* 0..n-1 */
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (int64_t)(rng % (uint64_t)n);
}

/* A box and its memory. */
struct tbox {
  fft_box_t b;
  int64_t st[8], len[8];
  size_t off[8];
  std::vector<unsigned char> mem;
};

/* nd dims of extents ext, element size es; split along k into p chunks of
 * random lengths (p = 0: plain). */
static void make_box(tbox &x, int nd, const int64_t *ext, size_t es, int k, int p)
{
  memset(&x.b, 0, sizeof x.b);
  x.b.nd = nd;
  x.b.es = es;
  for (int i = 0; i < nd; i++) x.b.ext[i] = ext[i];
  x.b.split = -1;
  int64_t total = 1;
  for (int i = 0; i < nd; i++) total *= ext[i];
  if (p > 0) {
    int64_t left = ext[k], t = 0;
    size_t o = 0, row = es;
    for (int i = 0; i < nd; i++)
      if (i != k) row *= (size_t)ext[i];
    for (int q = 0; q < p; q++) {
      int64_t l = q == p - 1 ? left : rnd(left + 1);
      x.st[q] = t;
      x.len[q] = l;
      x.off[q] = o;
      t += l;
      left -= l;
      o += row * (size_t)l;
    }
    x.b.split = k;
    x.b.nseg = p;
    x.b.seg_start = x.st;
    x.b.seg_len = x.len;
    x.b.seg_off = x.off;
  }
  x.mem.assign((size_t)total * es + 64, 0xA5);   /* 64 bytes of guard past the end */
}

/* Byte offset of element (o, t, i) from the layout's definition. */
static size_t ref_off(const tbox &x, int k, int64_t o, int64_t t, int64_t i)
{
  int64_t s = 1;
  for (int d = k + 1; d < x.b.nd; d++) s *= x.b.ext[d];
  if (x.b.split < 0) return (size_t)((o * x.b.ext[k] + t) * s + i) * x.b.es;
  for (int q = 0; q < x.b.nseg; q++)
    if (t >= x.st[q] && t < x.st[q] + x.len[q])
      return x.off[q] + (size_t)((o * x.len[q] + (t - x.st[q])) * s + i) * x.b.es;
  return (size_t)-1;
}

/* The value stored at element e (1-based: 0 means "zero lane"), as the
 * element's first real, small enough to be exact in float. */
template <typename R> static void put(unsigned char *p, size_t es, double v)
{
  memset(p, 0, es);
  R r = (R)v;
  memcpy(p, &r, sizeof r);
}
template <typename R> static double get(const unsigned char *p)
{
  R r;
  memcpy(&r, p, sizeof r);
  return (double)r;
}

template <typename F> static void run_grid(dim3 grid, dim3 block, F f)
{
  for (unsigned by = 0; by < grid.y; by++)
    for (unsigned bx = 0; bx < grid.x; bx++)
      for (unsigned ty = 0; ty < block.y; ty++)
        for (unsigned tx = 0; tx < block.x; tx++) {
          thr_t h = {bx, by, tx, ty, block.x, block.y, grid.y};
          f(h);
        }
}

/* The host twin of gather(): the same launch shape, every thread in turn. */
static void gather_h(const dsegs_t &g, const char *src, int64_t s, int64_t l0, int64_t nb,
                     int64_t B, int64_t tlo, int64_t thi, int inter, int64_t pitch, void *scr,
                     size_t es)
{
  dim3 grid, block;
  int64_t ny;
  line_launch(inter, B, thi - tlo, &grid, &block, &ny);
  run_grid(grid, block, [&](const thr_t &h) {
    if (es == 4)
      gather_thread(h, g, src, s, l0, nb, B, tlo, thi, inter, pitch, (elem_t<unsigned, 1> *)scr,
                    ny);
    else if (es == 8)
      gather_thread(h, g, src, s, l0, nb, B, tlo, thi, inter, pitch, (elem_t<unsigned, 2> *)scr,
                    ny);
    else
      gather_thread(h, g, src, s, l0, nb, B, tlo, thi, inter, pitch,
                    (elem_t<unsigned long long, 2> *)scr, ny);
  });
}

template <typename R, int NC>
static void scatter_h(const dsegs_t &g, char *dst, int64_t s, int64_t l0, int64_t nb, int64_t tlo,
                      int64_t thi, int inter, int64_t pitch, const void *scr, double scale)
{
  dim3 grid, block;
  int64_t ny;
  line_launch(inter, nb, thi - tlo, &grid, &block, &ny);
  run_grid(grid, block, [&](const thr_t &h) {
    scatter_thread(h, g, dst, s, l0, nb, tlo, thi, inter, pitch, (const elem_t<R, NC> *)scr,
                   (R)scale, scale != 1.0, ny);
  });
}

/* One random FFT step with an identity transform: R, NC the element type. */
template <typename R, int NC> static void one_case(int c)
{
  const size_t es = sizeof(R) * NC;
  int nd = 2 + (int)rnd(3), k = 1 + (int)rnd(nd - 1), inter = k < nd - 1;
  int64_t ext[4];
  for (int i = 0; i < nd; i++) ext[i] = 1 + rnd(i == k ? 9 : 5);
  int64_t s = 1, nl = 1;
  for (int i = k + 1; i < nd; i++) s *= ext[i];
  for (int i = 0; i < k; i++) nl *= ext[i];
  nl *= s;
  const int64_t Bs[] = {1, 2, 3, 4, 5, 8, 16, 64};
  int64_t B = Bs[rnd(8)], n = ext[k];
  int64_t pitch = (inter ? B : n) + rnd(4);
  double scale = rnd(2) ? 2.0 : 1.0;
  tbox a, z;
  make_box(a, nd, ext, es, k, (int)rnd(6));
  make_box(z, nd, ext, es, k, (int)rnd(6));
  /* source values: 1 + the element's row-major index */
  for (int64_t o = 0; o < nl / s; o++)
    for (int64_t t = 0; t < n; t++)
      for (int64_t i = 0; i < s; i++)
        put<R>(&a.mem[ref_off(a, k, o, t, i)], es, (double)(1 + (o * n + t) * s + i));
  std::vector<unsigned char> before_a = a.mem, before_z = z.mem;
  size_t scr_elems = (size_t)(inter ? pitch * n : pitch * B) + 8;
  std::vector<unsigned char> scr((size_t)scr_elems * es);
  for (int64_t l0 = 0; l0 < nl; l0 += B) {
    int64_t nb = nl - l0 < B ? nl - l0 : B, lo, hi;
    dsegs_t g;
    int q = 0;
    memset(scr.data(), 0x5A, scr.size());
    while (segs_next(&a.b, k, &q, &g, &lo, &hi))
      gather_h(g, (const char *)a.mem.data(), s, l0, nb, B, lo, hi, inter, pitch, scr.data(), es);
    for (size_t e = 0; e < scr_elems; e++) {
      int64_t b = inter ? (int64_t)e % pitch : (int64_t)e / pitch;
      int64_t t = inter ? (int64_t)e / pitch : (int64_t)e % pitch;
      const unsigned char *p = &scr[e * es];
      int inside = b < B && t < n && (int64_t)e < (inter ? n * pitch : B * pitch);
      if (!inside) {
        int untouched = 1;
        for (size_t j = 0; j < es; j++) untouched &= p[j] == 0x5A;
        EXPECT(untouched, "case %d: scratch element %zu (b %lld t %lld) outside the lines written",
               c, e, (long long)b, (long long)t);
        continue;
      }
      double want = 0;
      if (b < nb) {
        int64_t l = l0 + b;
        want = (double)(1 + ((l / s) * n + t) * s + l % s);
      }
      EXPECT(get<R>(p) == want, "case %d (nd %d k %d inter %d B %lld pitch %lld split %d): "
             "scratch b %lld t %lld holds %g, want %g", c, nd, k, inter, (long long)B,
             (long long)pitch, a.b.split >= 0 ? a.b.nseg : 0, (long long)b, (long long)t,
             get<R>(p), want);
    }
    q = 0;   /* identity transform: the output scratch is the input scratch */
    while (segs_next(&z.b, k, &q, &g, &lo, &hi))
      scatter_h<R, NC>(g, (char *)z.mem.data(), s, l0, nb, lo, hi, inter, pitch, scr.data(),
                       scale);
  }
  EXPECT(a.mem == before_a, "case %d: the source box changed", c);
  for (int64_t o = 0; o < nl / s; o++)
    for (int64_t t = 0; t < n; t++)
      for (int64_t i = 0; i < s; i++) {
        size_t off = ref_off(z, k, o, t, i);
        double want = scale * (double)(1 + (o * n + t) * s + i);
        EXPECT(get<R>(&z.mem[off]) == want, "case %d: dst (%lld,%lld,%lld) holds %g, want %g", c,
               (long long)o, (long long)t, (long long)i, get<R>(&z.mem[off]), want);
        memcpy(&z.mem[off], &before_z[off], es);   /* for the "nothing else" check */
      }
  EXPECT(z.mem == before_z, "case %d: the scatter wrote outside the lines", c);
}

int main(void)
{
  for (int c = 0; c < 4000; c++) {
    switch (c % 4) {
    case 0: one_case<double, 2>(c); break;
    case 1: one_case<double, 1>(c); break;
    case 2: one_case<float, 2>(c); break;
    default: one_case<float, 1>(c);
    }
  }
  for (int64_t n = 1; n <= ((int64_t)1 << 22); n = n * 3 / 2 + 1) {
    int64_t B = cufft_line_batch(n);
    EXPECT(B >= 8 && B <= 16384 && (B & (B - 1)) == 0, "line batch %lld for n %lld", (long long)B,
           (long long)n);
    EXPECT(B == 8 || B * n <= ((int64_t)1 << 21), "line batch %lld for n %lld: B*n > 2^21",
           (long long)B, (long long)n);
    EXPECT(B == 16384 || 2 * B * n > ((int64_t)1 << 21), "line batch %lld for n %lld not the "
           "largest", (long long)B, (long long)n);
  }
  printf("cufft_lines: %s (%d failures)\n", fails ? "FAILED" : "ok", fails);
  return fails ? 1 : 0;
}
