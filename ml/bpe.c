/* ml/bpe.c: byte-level BPE (include/tessera/ml_bpe.h): training by repeated
 * most-frequent-pair merges, a merges file reader, encoding by applying the
 * merges in rank order, decoding through each token's byte length. Plain
 * loops over the sequence per merge: O(n x merges) time and a (256 +
 * merges)^2 count table, right for the study texts (tens of kB, hundreds of
 * merges), not for corpora. */
#include <tessera/ml_bpe.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tess_ml_bpe {
  size_t nm;            /* merges */
  int32_t (*pair)[2];   /* merge r: (a, b) -> 256 + r */
  size_t *len;          /* bytes of each token, 256 + nm */
};

void tess_ml_bpe_destroy(tess_ml_bpe_t **bpe)
{
  if (!bpe || !*bpe) return;
  free((*bpe)->pair);
  free((*bpe)->len);
  free(*bpe);
  *bpe = NULL;
}

/* An empty model with room for cap merges. */
static tess_err_t bpe_new(size_t cap, tess_ml_bpe_t **out)
{
  tess_err_t err = TESS_OK;
  tess_ml_bpe_t *b = calloc(1, sizeof *b);
  TESS_REQUIRE(b != NULL, TESS_ERR_MEM, "BPE model");
  b->pair = malloc(sizeof *b->pair * (cap ? cap : 1));
  b->len = malloc(sizeof *b->len * (256 + cap));
  TESS_REQUIRE(b->pair && b->len, TESS_ERR_MEM, "BPE model of %zu merges", cap);
  for (int i = 0; i < 256; i++) b->len[i] = 1;
  *out = b;
  b = NULL;
cleanup:
  tess_ml_bpe_destroy(&b);
  return err;
}

static void bpe_add(tess_ml_bpe_t *b, int32_t x, int32_t y)
{
  b->pair[b->nm][0] = x;
  b->pair[b->nm][1] = y;
  b->len[256 + b->nm] = b->len[x] + b->len[y];
  b->nm++;
}

/* Merge (x, y) -> z everywhere in t[*n], left to right, in place. */
static void apply(int32_t *t, size_t *n, int32_t x, int32_t y, int32_t z)
{
  size_t w = 0;
  for (size_t i = 0; i < *n; i++) {
    if (i + 1 < *n && t[i] == x && t[i + 1] == y) {
      t[w++] = z;
      i++;
    } else {
      t[w++] = t[i];
    }
  }
  *n = w;
}

tess_err_t tess_ml_bpe_train(const unsigned char *text, size_t n, size_t nmerges, tess_ml_bpe_t **bpe)
{
  tess_err_t err = TESS_OK;
  tess_ml_bpe_t *b = NULL;
  int32_t *t = NULL;
  uint32_t *cnt = NULL;
  size_t len = n, V;
  TESS_REQUIRE(bpe != NULL && (text != NULL || n == 0), TESS_ERR_ARG, "BPE training: NULL text or output");
  TESS_REQUIRE(nmerges <= TESS_ML_BPE_MAX_TRAIN, TESS_ERR_ARG, "BPE training: %zu merges (at most %d)", nmerges,
               TESS_ML_BPE_MAX_TRAIN);
  V = 256 + nmerges;
  TESS_CHECK(bpe_new(nmerges, &b));
  t = malloc(sizeof *t * (n ? n : 1));
  cnt = calloc(V * V, sizeof *cnt);   /* pair (a, b) at a * v + b, v the current vocabulary; zero between rounds */
  TESS_REQUIRE(t && cnt, TESS_ERR_MEM, "BPE training on %zu bytes with %zu merges", n, nmerges);
  for (size_t i = 0; i < n; i++) t[i] = text[i];
  while (b->nm < nmerges) {
    size_t v = 256 + b->nm, best = 0;
    uint32_t top = 1;
    for (size_t i = 0; i + 1 < len; i++) cnt[(size_t)t[i] * v + (size_t)t[i + 1]]++;
    for (size_t i = 0; i + 1 < len; i++) {   /* the most frequent; the smallest (a, b) of equal counts */
      size_t p = (size_t)t[i] * v + (size_t)t[i + 1];
      if (cnt[p] > top || (cnt[p] == top && top > 1 && p < best)) top = cnt[p], best = p;
    }
    for (size_t i = 0; i + 1 < len; i++) cnt[(size_t)t[i] * v + (size_t)t[i + 1]] = 0;
    if (top < 2) break;   /* no pair occurs twice */
    int32_t x = (int32_t)(best / v), y = (int32_t)(best % v);
    apply(t, &len, x, y, (int32_t)v);
    bpe_add(b, x, y);
  }
  *bpe = b;
  b = NULL;
cleanup:
  tess_ml_bpe_destroy(&b);
  free(t);
  free(cnt);
  return err;
}

tess_err_t tess_ml_bpe_load(const char *path, tess_ml_bpe_t **bpe)
{
  tess_err_t err = TESS_OK;
  tess_ml_bpe_t *b = NULL;
  FILE *f = NULL;
  char line[256];
  size_t cap = 0, lno = 0;
  TESS_REQUIRE(path != NULL && bpe != NULL, TESS_ERR_ARG, "BPE load: NULL path or output");
  f = fopen(path, "r");
  TESS_REQUIRE(f != NULL, TESS_ERR_IO, "BPE merges file '%s': cannot open: %s", path, strerror(errno));
  while (fgets(line, sizeof line, f)) cap++;   /* lines bound the merges */
  rewind(f);
  TESS_CHECK(bpe_new(cap, &b));
  while (fgets(line, sizeof line, f)) {
    long long x, y;
    char extra;
    lno++;
    TESS_REQUIRE(strchr(line, '\n') || feof(f), TESS_ERR_ARG, "%s:%zu: line longer than %zu characters", path,
                 lno, sizeof line - 2);
    if (lno == 1) {
      TESS_REQUIRE(strncmp(line, "#tessera-bpe 1", 14) == 0 && (line[14] == '\n' || line[14] == 0 ||
                                                                 line[14] == '\r'),
                   TESS_ERR_ARG, "%s:1: expected the header '#tessera-bpe 1'", path);
      continue;
    }
    if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line)) continue;
    int k = sscanf(line, "%lld %lld %c", &x, &y, &extra);
    TESS_REQUIRE(k == 2, TESS_ERR_ARG, "%s:%zu: expected two token ids 'a b', got '%.*s'", path, lno,
                 (int)strcspn(line, "\r\n"), line);
    long long lim = 256 + (long long)b->nm;
    TESS_REQUIRE(x >= 0 && y >= 0 && x < lim && y < lim, TESS_ERR_ARG,
                 "%s:%zu: merge %zu pairs ids %lld and %lld; ids must be in [0, %lld) (the bytes and the "
                 "merges before it)", path, lno, b->nm, x, y, lim);
    bpe_add(b, (int32_t)x, (int32_t)y);
  }
  TESS_REQUIRE(!ferror(f), TESS_ERR_IO, "BPE merges file '%s': read error", path);
  TESS_REQUIRE(lno >= 1, TESS_ERR_ARG, "%s: empty (expected the header '#tessera-bpe 1')", path);
  *bpe = b;
  b = NULL;
cleanup:
  if (f) fclose(f);
  tess_ml_bpe_destroy(&b);
  return err;
}

tess_err_t tess_ml_bpe_vocab(const tess_ml_bpe_t *bpe, size_t *vocab)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(bpe && vocab, TESS_ERR_ARG, "BPE vocab: NULL argument");
  *vocab = 256 + bpe->nm;
cleanup:
  return err;
}

tess_err_t tess_ml_bpe_merge(const tess_ml_bpe_t *bpe, size_t r, int32_t pair[2])
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(bpe, TESS_ERR_ARG, "BPE merge: NULL model");
  TESS_REQUIRE(r < bpe->nm, TESS_ERR_ARG, "BPE merge %zu of %zu", r, bpe->nm);
  if (pair) memcpy(pair, bpe->pair[r], sizeof bpe->pair[r]);
cleanup:
  return err;
}

tess_err_t tess_ml_bpe_encode(const tess_ml_bpe_t *bpe, const unsigned char *text, size_t n, int32_t *ids,
                              size_t cap, size_t *nids)
{
  tess_err_t err = TESS_OK;
  int32_t *t = NULL;
  size_t len = n;
  TESS_REQUIRE(bpe && nids && (text || n == 0) && (ids || cap == 0), TESS_ERR_ARG, "BPE encode: NULL argument");
  t = malloc(sizeof *t * (n ? n : 1));
  TESS_REQUIRE(t != NULL, TESS_ERR_MEM, "BPE encode of %zu bytes", n);
  for (size_t i = 0; i < n; i++) t[i] = text[i];
  for (size_t r = 0; r < bpe->nm && len > 1; r++) apply(t, &len, bpe->pair[r][0], bpe->pair[r][1], (int32_t)(256 + r));
  TESS_REQUIRE(len <= cap, TESS_ERR_ARG, "BPE encode: %zu ids, room for %zu", len, cap);
  memcpy(ids, t, sizeof *t * len);
  *nids = len;
cleanup:
  free(t);
  return err;
}

/* Token z's bytes into out (its length is bpe->len[z]). */
static void expand(const tess_ml_bpe_t *b, int32_t z, unsigned char *out)
{
  while (z >= 256) {   /* the left part recursively, the right part by the loop */
    const int32_t *p = b->pair[z - 256];
    expand(b, p[0], out);
    out += b->len[p[0]];
    z = p[1];
  }
  *out = (unsigned char)z;
}

tess_err_t tess_ml_bpe_decode(const tess_ml_bpe_t *bpe, const int32_t *ids, size_t nids, unsigned char *out,
                              size_t cap, size_t *nout)
{
  tess_err_t err = TESS_OK;
  size_t w = 0;
  TESS_REQUIRE(bpe && nout && (ids || nids == 0), TESS_ERR_ARG, "BPE decode: NULL argument");
  for (size_t i = 0; i < nids; i++) {
    TESS_REQUIRE(ids[i] >= 0 && (size_t)ids[i] < 256 + bpe->nm, TESS_ERR_ARG,
                 "BPE decode: id %d at %zu outside the vocabulary [0, %zu)", (int)ids[i], i, 256 + bpe->nm);
    TESS_REQUIRE(!out || w + bpe->len[ids[i]] <= cap, TESS_ERR_ARG, "BPE decode: more than %zu bytes", cap);
    if (out) expand(bpe, ids[i], out + w);
    w += bpe->len[ids[i]];
  }
  *nout = w;
cleanup:
  return err;
}
