/* spectral/spectral_threshold.c: thresholding of distributed spectra.
 * Every decision depends only on values and global indices, never on where
 * a coefficient lives: the global max is an MPI MAX (exact), counts are
 * integer sums, and keep-largest-fraction selects the K largest |c|^2 by a
 * radix select on their IEEE bit patterns (monotone for non-negative
 * doubles) with global histograms, ties broken by the smaller global linear
 * index (a second radix select). So the kept set is the same on any rank
 * count and decomposition. */
#include <tessera/comm.h>
#include <tessera/spectral_ops.h>
#include "spectral_cuda.h"
#include "spectral_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tess_err_t tess_thresh_rule_parse(const char *name, tess_thresh_rule_t *rule)
{
  tess_err_t err = TESS_OK;
  static const char *const names[] = {"hard", "soft", "relative", "keep_fraction"};
  TESS_REQUIRE(name && rule, TESS_ERR_ARG, "NULL argument");
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) {
      *rule = (tess_thresh_rule_t)i;
      return TESS_OK;
    }
  TESS_REQUIRE(0, TESS_ERR_ARG,
               "unknown threshold rule '%s' (expected hard, soft, relative or keep_fraction)", name);
cleanup:
  return err;
}

static uint64_t key_of(double re, double im)
{
  double m2 = re * re + im * im;
  uint64_t k;
  memcpy(&k, &m2, sizeof k);
  return k;
}

/* The value v such that exactly `need` of the selected elements have
 * x[i] > v ... i.e. the need-th largest (descending) or smallest (ascending)
 * of x over `sel`, globally. On return *need is how many elements equal to
 * the result still belong to the selection. */
static tess_err_t radix_select(const uint64_t *x, const unsigned char *sel, int64_t n, int64_t *need,
                               int descending, tess_mesh_t *mesh, unsigned owners,
                               uint64_t *result)
{
  tess_err_t err = TESS_OK;
  uint64_t prefix = 0;
  int64_t hist[256];
  for (int shift = 56; shift >= 0; shift -= 8) {
    uint64_t hi_mask = shift == 56 ? 0 : ~(uint64_t)0 << (shift + 8);
    memset(hist, 0, sizeof hist);
    for (int64_t i = 0; i < n; i++)
      if (sel[i] && (x[i] & hi_mask) == (prefix & hi_mask)) hist[(x[i] >> shift) & 255]++;
    TESS_CHECK(tess_comm_allreduce(mesh, owners, hist, hist, 256, TESS_I64, TESS_OP_SUM,
                                   TESS_MEM_HOST, NULL));
    int d = descending ? 255 : 0, step = descending ? -1 : 1;
    for (; d >= 0 && d <= 255; d += step) {
      if (hist[d] >= *need) break;
      *need -= hist[d];
    }
    if (d < 0 || d > 255) d = descending ? 0 : 255;   /* cannot happen: need <= count */
    prefix |= (uint64_t)d << shift;
  }
  *result = prefix;
cleanup:
  return err;
}

typedef struct {
  int single;
  tess_thresh_rule_t rule;
  double t;                      /* magnitude threshold */
  uint64_t tkey, tidx;           /* keep_fraction: key > tkey, or == tkey and gidx <= tidx */
  int keep_all, keep_none;
  int64_t kept, total, kept_w, total_w;
  double maxabs;
  /* collection pass */
  uint64_t *keys, *gidx;
  int64_t n;
} th_ctx_t;

static void visit_max(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  th_ctx_t *c = ctx;
  double re, im;
  (void)m; (void)k;
  spec_get(e, c->single, &re, &im);
  double a = sqrt(re * re + im * im);
  if (a > c->maxabs) c->maxabs = a;
  c->total++;
  c->total_w += w;
  if (c->keys) {
    c->keys[c->n] = key_of(re, im);
    c->gidx[c->n] = (uint64_t)gi;
    c->n++;
  }
}

static void visit_apply(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  th_ctx_t *c = ctx;
  double re, im;
  int keep;
  (void)m; (void)k;
  spec_get(e, c->single, &re, &im);
  double a = sqrt(re * re + im * im);
  switch (c->rule) {
  case TESS_THRESH_SOFT:
    keep = a > c->t;
    if (keep) {
      double f = 1.0 - c->t / a;
      spec_set(e, c->single, re * f, im * f);
    }
    break;
  case TESS_THRESH_KEEP_FRACTION: {
    uint64_t key = key_of(re, im);
    keep = !c->keep_none &&
           (c->keep_all || key > c->tkey || (key == c->tkey && (uint64_t)gi <= c->tidx));
    break;
  }
  default:
    keep = a >= c->t;
  }
  if (!keep) spec_set(e, c->single, 0.0, 0.0);
  else { c->kept++; c->kept_w += w; }
}

tess_err_t tess_spectral_threshold(tess_array_t *X, const tess_spectral_grid_t *g,
                                   tess_thresh_rule_t rule, double value,
                                   tess_thresh_stats_t *stats)
{
  tess_err_t err = TESS_OK;
  th_ctx_t c;
  tess_mesh_t *mesh = NULL;
  unsigned owners = 0;
  int64_t tot[2], kept[2];
  unsigned char *sel = NULL;
  spec_geom_t geo;
  int dev = 0;
  memset(&c, 0, sizeof c);
  memset(&geo, 0, sizeof geo);
  TESS_REQUIRE(X && g, TESS_ERR_ARG, "NULL argument");
  mesh = tess_array_mesh(X);
  owners = spec_owner_axes(X);
  TESS_REQUIRE(rule >= TESS_THRESH_HARD && rule <= TESS_THRESH_KEEP_FRACTION, TESS_ERR_ARG,
               "unknown threshold rule %d", (int)rule);
  TESS_REQUIRE(isfinite(value) && value >= 0, TESS_ERR_ARG,
               "threshold value %g: expected a finite number >= 0", value);
  TESS_REQUIRE(rule != TESS_THRESH_KEEP_FRACTION || value <= 1, TESS_ERR_ARG,
               "keep_fraction %g: expected a fraction in [0, 1]", value);
  c.single = tess_array_dtype(X) == TESS_C64;
  c.rule = rule;
  if (rule == TESS_THRESH_KEEP_FRACTION) {
    int64_t nloc = tess_array_local_count(X);
    c.keys = malloc(sizeof(uint64_t) * (size_t)(nloc + 1));
    c.gidx = malloc(sizeof(uint64_t) * (size_t)(nloc + 1));
    sel = malloc((size_t)nloc + 1);
    TESS_REQUIRE(c.keys && c.gidx && sel, TESS_ERR_MEM, "threshold keys (%lld)", (long long)nloc);
  }
  if (!tess_memspace_is_host(tess_array_memspace(X))) {
    /* Device spectra: the same local statistics (and keys, copied to the
     * host for the radix select) from a kernel; the rest is this code. */
    const tess_array_t *arr[1] = {X};
    int64_t nz[2];
    dev = 1;
    TESS_CHECK(spec_require_device(__func__, 1, arr));
    TESS_CHECK(spec_geom_make(X, g, &geo));
#if TESSERA_HAVE_CUFFT
    TESS_CHECK(spec_cuda_stats(&geo, tess_array_local_data_const(X), &c.maxabs, &c.total_w,
                               &nz[0], &nz[1], c.keys, c.gidx));
#endif
    (void)nz;
    c.total = geo.count;
    if (c.keys) c.n = geo.count;
  } else {
    TESS_CHECK(tess_spectral_foreach(X, g, visit_max, &c));
  }
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &c.maxabs, &c.maxabs, 1, TESS_F64,
                                 TESS_OP_MAX, TESS_MEM_HOST, NULL));
  tot[0] = c.total;
  tot[1] = c.total_w;
  TESS_CHECK(tess_comm_allreduce(mesh, owners, tot, tot, 2, TESS_I64, TESS_OP_SUM, TESS_MEM_HOST,
                                 NULL));
  switch (rule) {
  case TESS_THRESH_HARD:
  case TESS_THRESH_SOFT: c.t = value; break;
  case TESS_THRESH_RELATIVE: c.t = value * c.maxabs; break;
  case TESS_THRESH_KEEP_FRACTION: {
    int64_t K = llround(value * (double)tot[0]), need = K;
    double m2;
    if (K <= 0) { c.keep_none = 1; c.t = INFINITY; break; }
    if (K >= tot[0]) { c.keep_all = 1; break; }
    memset(sel, 1, (size_t)c.n + 1);
    TESS_CHECK(radix_select(c.keys, sel, c.n, &need, 1, mesh, owners, &c.tkey));
    /* ties at tkey: keep the `need` smallest global indices */
    for (int64_t i = 0; i < c.n; i++) sel[i] = c.keys[i] == c.tkey;
    TESS_CHECK(radix_select(c.gidx, sel, c.n, &need, 0, mesh, owners, &c.tidx));
    memcpy(&m2, &c.tkey, sizeof m2);
    c.t = sqrt(m2);
    break;
  }
  }
  if (dev) {
#if TESSERA_HAVE_CUFFT
    TESS_CHECK(spec_cuda_threshold(&geo, tess_array_local_data(X), (int)c.rule, c.t, c.tkey,
                                   c.tidx, c.keep_all, c.keep_none, &c.kept, &c.kept_w));
#endif
  } else {
    TESS_CHECK(tess_spectral_foreach(X, g, visit_apply, &c));
  }
  kept[0] = c.kept;
  kept[1] = c.kept_w;
  TESS_CHECK(tess_comm_allreduce(mesh, owners, kept, kept, 2, TESS_I64, TESS_OP_SUM,
                                 TESS_MEM_HOST, NULL));
  if (stats) {
    stats->kept = kept[0];
    stats->kept_modes = kept[1];
    stats->total = tot[0];
    stats->total_modes = tot[1];
    stats->threshold = c.t;
    stats->max_abs = c.maxabs;
  }
cleanup:
  spec_geom_free(&geo);
  free(c.keys);
  free(c.gidx);
  free(sel);
  return err;
}

static void visit_count(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  th_ctx_t *c = ctx;
  double re, im;
  (void)m; (void)k; (void)gi;
  spec_get(e, c->single, &re, &im);
  double a = sqrt(re * re + im * im);
  if (a > c->maxabs) c->maxabs = a;
  c->total++;
  c->total_w += w;
  if (a != 0) { c->kept++; c->kept_w += w; }
}

tess_err_t tess_spectral_count_nonzero(tess_array_t *X, const tess_spectral_grid_t *g,
                                       tess_thresh_stats_t *stats)
{
  tess_err_t err = TESS_OK;
  th_ctx_t c;
  int64_t cnt[4];
  memset(&c, 0, sizeof c);
  TESS_REQUIRE(X && g && stats, TESS_ERR_ARG, "NULL argument");
  c.single = tess_array_dtype(X) == TESS_C64;
  if (!tess_memspace_is_host(tess_array_memspace(X))) {
    const tess_array_t *arr[1] = {X};
    spec_geom_t geo;
    memset(&geo, 0, sizeof geo);
    TESS_CHECK(spec_require_device(__func__, 1, arr));
    TESS_CHECK(spec_geom_make(X, g, &geo));
#if TESSERA_HAVE_CUFFT
    err = spec_cuda_stats(&geo, tess_array_local_data_const(X), &c.maxabs, &c.total_w, &c.kept,
                          &c.kept_w, NULL, NULL);
#endif
    c.total = geo.count;
    spec_geom_free(&geo);
    TESS_CHECK(err);
  } else {
    TESS_CHECK(tess_spectral_foreach(X, g, visit_count, &c));
  }
  cnt[0] = c.kept;
  cnt[1] = c.kept_w;
  cnt[2] = c.total;
  cnt[3] = c.total_w;
  TESS_CHECK(tess_comm_allreduce(tess_array_mesh(X), spec_owner_axes(X), cnt, cnt, 4, TESS_I64,
                                 TESS_OP_SUM, TESS_MEM_HOST, NULL));
  TESS_CHECK(tess_comm_allreduce(tess_array_mesh(X), TESS_AXES_ALL, &c.maxabs, &c.maxabs, 1,
                                 TESS_F64, TESS_OP_MAX, TESS_MEM_HOST, NULL));
  memset(stats, 0, sizeof *stats);
  stats->kept = cnt[0];
  stats->kept_modes = cnt[1];
  stats->total = cnt[2];
  stats->total_modes = cnt[3];
  stats->max_abs = c.maxabs;
cleanup:
  return err;
}
