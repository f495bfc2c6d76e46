/* src/tree_sum.c: partition-independent sum of per-chunk vectors
 * (include/tessera/tree_sum.h; the PINN's gradient sum in pde/). Chunk c's
 * vector (e.g. a partial gradient) is computed the same way wherever
 * it runs. They are added over ONE fixed binary tree whose nodes are the
 * aligned dyadic intervals [k 2^l, (k+1) 2^l) of chunk indices (clipped to
 * the number of chunks); a node's sum is left + right, or left alone when
 * the right half is past the end. A rank holding the contiguous chunks
 * [c0, c1) computes the maximal tree nodes inside its range (at most about
 * 2 log2(nchunks) of them), all ranks gather those node sums, and every
 * rank finishes the tree top-down from them. Every node not inside one
 * rank's range has children that are either gathered or themselves
 * finished the same way, so the arithmetic, hence the bits, are those of
 * the serial tree whatever the rank count. Memory: O(log nchunks) vectors. */
#include <tessera/comm.h>
#include <tessera/tree_sum.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
  int64_t n, c0, c1;
  size_t len;
  tess_chunk_fn fn;
  void *ctx;
  double **tmp;                /* one scratch vector per tree depth */
  int ntmp;
  int64_t *ids;                /* emitted nodes: lo, size */
  double *data;
  int nemit, capemit;
} tree_t;

static int64_t eff_hi(const tree_t *t, int64_t lo, int64_t size)
{
  return lo + size < t->n ? lo + size : t->n;
}

static tess_err_t local_sum(tree_t *t, int64_t lo, int64_t size, int depth, double *out)
{
  tess_err_t err = TESS_OK;
  if (size == 1) {
    TESS_CHECK(t->fn(lo, out, t->ctx));
    goto cleanup;
  }
  TESS_CHECK(local_sum(t, lo, size / 2, depth + 1, out));
  if (lo + size / 2 < t->n) {
    TESS_REQUIRE(depth < t->ntmp, TESS_ERR_INTERNAL, "tree depth");
    double *r = t->tmp[depth];
    TESS_CHECK(local_sum(t, lo + size / 2, size / 2, depth + 1, r));
    for (size_t k = 0; k < t->len; k++) out[k] += r[k];
  }
cleanup:
  return err;
}

static tess_err_t visit(tree_t *t, int64_t lo, int64_t size)
{
  tess_err_t err = TESS_OK;
  int64_t hi = eff_hi(t, lo, size);
  if (lo >= t->n || hi <= t->c0 || lo >= t->c1) return TESS_OK;
  if (lo >= t->c0 && hi <= t->c1) {
    if (t->nemit == t->capemit) {
      int cap = t->capemit ? 2 * t->capemit : 8;
      int64_t *ids = realloc(t->ids, (size_t)cap * 2 * sizeof *ids);
      TESS_REQUIRE(ids, TESS_ERR_MEM, "tree nodes");
      t->ids = ids;
      double *d = realloc(t->data, (size_t)cap * t->len * sizeof *d);
      TESS_REQUIRE(d, TESS_ERR_MEM, "tree node sums (%d x %zu)", cap, t->len);
      t->data = d;
      t->capemit = cap;
    }
    t->ids[2 * t->nemit] = lo;
    t->ids[2 * t->nemit + 1] = size;
    /* nodes are summed one after another, so they share the scratch */
    TESS_CHECK(local_sum(t, lo, size, 0, t->data + (size_t)t->nemit * t->len));
    t->nemit++;
    goto cleanup;
  }
  TESS_CHECK(visit(t, lo, size / 2));
  TESS_CHECK(visit(t, lo + size / 2, size / 2));
cleanup:
  return err;
}

typedef struct {
  int64_t n;
  size_t len;
  const int64_t *ids;
  const double *data;
  int nall;
  double **tmp;
  int ntmp;
} top_t;

static tess_err_t top_sum(const top_t *t, int64_t lo, int64_t size, int depth, double *out)
{
  tess_err_t err = TESS_OK;
  int64_t hi = lo + size < t->n ? lo + size : t->n;
  for (int k = 0; k < t->nall; k++) {
    int64_t l2 = t->ids[2 * k], s2 = t->ids[2 * k + 1];
    int64_t h2 = l2 + s2 < t->n ? l2 + s2 : t->n;
    if (l2 == lo && h2 == hi) {
      memcpy(out, t->data + (size_t)k * t->len, t->len * sizeof *out);
      goto cleanup;
    }
  }
  TESS_REQUIRE(size > 1, TESS_ERR_INTERNAL, "chunk %lld missing from the gathered tree nodes",
               (long long)lo);
  TESS_CHECK(top_sum(t, lo, size / 2, depth + 1, out));
  if (lo + size / 2 < t->n) {
    TESS_REQUIRE(depth < t->ntmp, TESS_ERR_INTERNAL, "tree depth");
    double *r = t->tmp[depth];
    TESS_CHECK(top_sum(t, lo + size / 2, size / 2, depth + 1, r));
    for (size_t k = 0; k < t->len; k++) out[k] += r[k];
  }
cleanup:
  return err;
}

tess_err_t tess_chunk_tree_sum(tess_mesh_t *mesh, unsigned axes, int64_t nchunks, int64_t c0,
                               int64_t c1, size_t len, tess_chunk_fn fn, void *ctx,
                               double *result)
{
  tess_err_t err = TESS_OK;
  tree_t t = { .n = nchunks, .c0 = c0, .c1 = c1, .len = len, .fn = fn, .ctx = ctx };
  int nranks = 1, me = 0, *cnt = NULL;
  size_t *icnt = NULL, *idispl = NULL, *dcnt = NULL, *ddispl = NULL;
  int64_t none = 0;   /* a send buffer for ranks that emit nothing (never read) */
  int64_t *allids = NULL;
  double *alldata = NULL;
  int64_t root = 1;
  TESS_REQUIRE(mesh && fn && result && 0 <= c0 && c0 <= c1 && c1 <= nchunks, TESS_ERR_ARG,
               "chunk tree sum: chunks [%lld, %lld) of %lld", (long long)c0, (long long)c1,
               (long long)nchunks);
  while (root < nchunks) root *= 2;
  int depth = 1;
  for (int64_t s = root; s > 1; s /= 2) depth++;
  t.ntmp = depth;
  t.tmp = calloc((size_t)depth, sizeof *t.tmp);
  TESS_REQUIRE(t.tmp, TESS_ERR_MEM, "tree scratch");
  for (int k = 0; k < depth; k++) {
    t.tmp[k] = malloc((len ? len : 1) * sizeof **t.tmp);
    TESS_REQUIRE(t.tmp[k], TESS_ERR_MEM, "tree scratch (%zu doubles)", len);
  }
  if (nchunks == 0) {
    memset(result, 0, len * sizeof *result);
    goto cleanup;
  }
  TESS_CHECK(visit(&t, 0, root));

  TESS_CHECK(tess_comm_rank_size(mesh, axes, &me, &nranks));
  cnt = malloc((size_t)nranks * sizeof *cnt);
  icnt = malloc((size_t)nranks * sizeof *icnt);
  idispl = malloc((size_t)nranks * sizeof *idispl);
  dcnt = malloc((size_t)nranks * sizeof *dcnt);
  ddispl = malloc((size_t)nranks * sizeof *ddispl);
  TESS_REQUIRE(cnt && icnt && idispl && dcnt && ddispl, TESS_ERR_MEM, "counts");
  TESS_CHECK(tess_comm_allgather(mesh, axes, &t.nemit, 1, cnt, TESS_I32, TESS_MEM_HOST,
                                 NULL));
  int nall = 0;
  for (int r = 0; r < nranks; r++) nall += cnt[r];
  TESS_REQUIRE((double)nall * (double)len < 2147483647.0, TESS_ERR_UNSUPPORTED,
               "gradient exchange of %d nodes x %zu values exceeds MPI counts", nall, len);
  allids = malloc((size_t)(nall ? nall : 1) * 2 * sizeof *allids);
  alldata = malloc((size_t)(nall ? nall : 1) * len * sizeof *alldata);
  TESS_REQUIRE(allids && alldata, TESS_ERR_MEM, "gathered tree nodes (%d x %zu)", nall, len);
  int off = 0;
  for (int r = 0; r < nranks; r++) {
    idispl[r] = 2 * (size_t)off; icnt[r] = 2 * (size_t)cnt[r];
    ddispl[r] = (size_t)off * len; dcnt[r] = (size_t)cnt[r] * len;
    off += cnt[r];
  }
  TESS_CHECK(tess_comm_allgatherv(mesh, axes, t.ids ? (void *)t.ids : &none,
                                  2 * (size_t)t.nemit, allids, icnt, idispl, TESS_I64,
                                  TESS_MEM_HOST, NULL));
  TESS_CHECK(tess_comm_allgatherv(mesh, axes, t.data ? (void *)t.data : &none,
                                  (size_t)t.nemit * len, alldata, dcnt, ddispl, TESS_F64,
                                  TESS_MEM_HOST, NULL));
  top_t top = { .n = nchunks, .len = len, .ids = allids, .data = alldata, .nall = nall,
                .tmp = t.tmp, .ntmp = t.ntmp };
  TESS_CHECK(top_sum(&top, 0, root, 0, result));
cleanup:
  if (t.tmp)
    for (int k = 0; k < t.ntmp; k++) free(t.tmp[k]);
  free(t.tmp);
  free(t.ids);
  free(t.data);
  free(cnt);
  free(icnt);
  free(idispl);
  free(dcnt);
  free(ddispl);
  free(allids);
  free(alldata);
  return err;
}

tess_err_t tess_chunk_tree_sum_comm(MPI_Comm comm, int64_t nchunks, int64_t c0, int64_t c1,
                                    size_t len, tess_chunk_fn fn, void *ctx, double *result)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
  TESS_CHECK(tess_chunk_tree_sum(mesh, TESS_AXES_ALL, nchunks, c0, c1, len, fn, ctx, result));
cleanup:
  return err;
}
