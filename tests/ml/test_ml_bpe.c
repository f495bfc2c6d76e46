/* tests/ml/test_ml_bpe.c: byte-level BPE (include/tessera/ml_bpe.h).
 *   - The worked example of Gage's BPE ("aaabdaaabac": aa, ab, then the two
 *     merged tokens; "XdXac") by hand.
 *   - Training against a brute-force trainer written here (every distinct
 *     pair counted by its own scan, the largest count, the smallest pair of
 *     equal counts) on random texts over small alphabets: the same merges.
 *   - Encoding against GPT-2's loop written here (merge the lowest-ranked
 *     pair present, everywhere, until none is left), on texts other than the
 *     training text: the same ids.
 *   - decode(encode(x)) == x for random bytes and for a text file.
 *   - A merges file read back (same encoding) and bad files refused with the
 *     file and line in the message. */
#include <tessera/tessera.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tess_test_guard.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (unsigned)(rs % n);
}

/* ---- independent references ---- */

/* Brute force: the merges of up to nm rounds into m[][2]; returns their count. */
static size_t ref_train(const unsigned char *text, size_t n, size_t nm, int32_t (*m)[2])
{
  int32_t *t = malloc(sizeof *t * (n + 1));
  size_t len = n, k = 0;
  for (size_t i = 0; i < n; i++) t[i] = text[i];
  for (; k < nm; k++) {
    long bc = 1;
    int32_t bx = 0, by = 0;
    for (size_t i = 0; i + 1 < len; i++) {   /* each pair's count by a scan of its own */
      long c = 0;
      for (size_t j = 0; j + 1 < len; j++) c += t[j] == t[i] && t[j + 1] == t[i + 1];
      int smaller = t[i] < bx || (t[i] == bx && t[i + 1] < by);
      if (c > bc || (c == bc && c > 1 && smaller)) bc = c, bx = t[i], by = t[i + 1];
    }
    if (bc < 2) break;
    m[k][0] = bx;
    m[k][1] = by;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
      if (i + 1 < len && t[i] == bx && t[i + 1] == by) t[w++] = 256 + (int32_t)k, i++;
      else t[w++] = t[i];
    }
    len = w;
  }
  free(t);
  return k;
}

/* GPT-2's encoder loop: the lowest-ranked pair present, merged everywhere. */
static size_t ref_encode(const unsigned char *text, size_t n, size_t nm, int32_t (*m)[2], int32_t *t)
{
  size_t len = n;
  for (size_t i = 0; i < n; i++) t[i] = text[i];
  for (;;) {
    size_t best = nm;
    for (size_t i = 0; i + 1 < len; i++)
      for (size_t r = 0; r < best; r++)
        if (m[r][0] == t[i] && m[r][1] == t[i + 1]) { best = r; break; }
    if (best == nm) return len;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
      if (i + 1 < len && t[i] == m[best][0] && t[i + 1] == m[best][1]) t[w++] = 256 + (int32_t)best, i++;
      else t[w++] = t[i];
    }
    len = w;
  }
}

/* ---- checks ---- */

static void check_example(void)
{
  const unsigned char *s = (const unsigned char *)"aaabdaaabac";
  const int32_t want_m[3][2] = {{'a', 'a'}, {'a', 'b'}, {256, 257}}, want_ids[5] = {258, 'd', 258, 'a', 'c'};
  tess_ml_bpe_t *b = NULL;
  int32_t ids[16], pair[2];
  size_t v = 0, n = 0;
  CHECK(tess_ml_bpe_train(s, 11, 10, &b) == TESS_OK, "train");
  if (!b) return;
  tess_ml_bpe_vocab(b, &v);
  CHECK(v == 259, "vocabulary %zu, expected 256 + 3 merges", v);
  for (size_t r = 0; r < 3 && r + 256 < v; r++) {
    tess_ml_bpe_merge(b, r, pair);
    CHECK(pair[0] == want_m[r][0] && pair[1] == want_m[r][1], "merge %zu is (%d, %d), expected (%d, %d)", r,
          (int)pair[0], (int)pair[1], (int)want_m[r][0], (int)want_m[r][1]);
  }
  CHECK(tess_ml_bpe_encode(b, s, 11, ids, 16, &n) == TESS_OK && n == 5 && memcmp(ids, want_ids, sizeof want_ids) == 0,
        "encode of the example: %zu ids", n);
  tess_test_expect_err(tess_ml_bpe_encode(b, s, 11, ids, 4, &n), TESS_ERR_ARG, "room for 4", "encode into too small a buffer");
  int32_t bad = 259;
  unsigned char out[4];
  tess_test_expect_err(tess_ml_bpe_decode(b, &bad, 1, out, 4, &n), TESS_ERR_ARG, "outside the vocabulary", "decode of id 259");
  tess_ml_bpe_destroy(&b);
}

static void check_random(void)
{
  enum { N = 400, NM = 40 };
  for (int trial = 0; trial < 12; trial++) {
    unsigned alpha = 2 + (unsigned)trial % 5;
    unsigned char tr[N], te[N], back[N];
    int32_t m[NM][2], ids[N], rids[N], pair[2];
    tess_ml_bpe_t *b = NULL;
    size_t v = 0, n = 0, rn, nb = 0;
    for (int i = 0; i < N; i++) tr[i] = (unsigned char)('a' + rnd(alpha)), te[i] = (unsigned char)('a' + rnd(alpha));
    size_t k = ref_train(tr, N, NM, m);
    CHECK(tess_ml_bpe_train(tr, N, NM, &b) == TESS_OK, "train, trial %d", trial);
    if (!b) continue;
    tess_ml_bpe_vocab(b, &v);
    CHECK(v == 256 + k, "trial %d: %zu merges, the brute-force trainer %zu", trial, v - 256, k);
    for (size_t r = 0; r < k && r + 256 < v; r++) {
      tess_ml_bpe_merge(b, r, pair);
      CHECK(pair[0] == m[r][0] && pair[1] == m[r][1], "trial %d merge %zu: (%d, %d) vs brute force (%d, %d)", trial,
            r, (int)pair[0], (int)pair[1], (int)m[r][0], (int)m[r][1]);
    }
    CHECK(tess_ml_bpe_encode(b, te, N, ids, N, &n) == TESS_OK, "encode, trial %d", trial);
    rn = ref_encode(te, N, k, m, rids);
    CHECK(n == rn && memcmp(ids, rids, sizeof *ids * n) == 0, "trial %d: %zu ids, GPT-2's loop %zu (or other ids)",
          trial, n, rn);
    CHECK(tess_ml_bpe_decode(b, ids, n, back, N, &nb) == TESS_OK && nb == N && memcmp(back, te, N) == 0,
          "trial %d: decode(encode) is not the text", trial);
    tess_ml_bpe_destroy(&b);
  }
}

/* A real text (and arbitrary bytes) round trip, and a merges file. */
static void check_file(const char *dir)
{
  const char *src = "/usr/share/common-licenses/GPL-3";
  FILE *f = fopen(src, "rb");
  unsigned char *text = NULL, *back = NULL;
  int32_t *ids = NULL, *ids2 = NULL;
  size_t n = 0, ni = 0, ni2 = 0, nb = 0, v = 0;
  tess_ml_bpe_t *b = NULL, *c = NULL;
  char path[4096];
  if (f) {
    text = malloc(1 << 20);
    n = fread(text, 1, 1 << 20, f);
    fclose(f);
  } else {   /* no such file: random bytes with some repetition */
    text = malloc(20000);
    n = 20000;
    for (size_t i = 0; i < n; i++) text[i] = (unsigned char)(i % 7 ? rnd(256) : 'x');
  }
  ids = malloc(sizeof *ids * n);
  ids2 = malloc(sizeof *ids2 * n);
  back = malloc(n);
  CHECK(tess_ml_bpe_train(text, n, 300, &b) == TESS_OK, "train on %s", f ? src : "random bytes");
  if (!b) goto done;
  tess_ml_bpe_vocab(b, &v);
  CHECK(tess_ml_bpe_encode(b, text, n, ids, n, &ni) == TESS_OK, "encode");
  CHECK(ni < n, "%zu bytes -> %zu ids: no compression", n, ni);
  CHECK(tess_ml_bpe_decode(b, ids, ni, back, n, &nb) == TESS_OK && nb == n && memcmp(back, text, n) == 0,
        "decode(encode) of %zu bytes", n);
  printf("  bpe: %zu bytes -> %zu tokens with %zu merges (%.2f bytes/token)\n", n, ni, v - 256, (double)n / (double)ni);
  /* the merges written out and read back */
  snprintf(path, sizeof path, "%s/bpe_merges.txt", dir);
  f = fopen(path, "w");
  if (f) {
    int32_t p[2];
    fprintf(f, "#tessera-bpe 1\n# a comment\n\n");
    for (size_t r = 0; r + 256 < v; r++) {
      tess_ml_bpe_merge(b, r, p);
      fprintf(f, "%d %d\n", (int)p[0], (int)p[1]);
    }
    fclose(f);
    CHECK(tess_ml_bpe_load(path, &c) == TESS_OK, "load %s", path);
    if (c) {
      CHECK(tess_ml_bpe_encode(c, text, n, ids2, n, &ni2) == TESS_OK && ni2 == ni &&
                memcmp(ids, ids2, sizeof *ids * ni) == 0,
            "the loaded merges encode differently");
    }
  }
  /* bad files */
  struct { const char *body, *needle; } bad[] = {
    {"0 1\n", ":1: expected the header"},
    {"#tessera-bpe 1\n97 98\n97 x\n", ":3: expected two token ids"},
    {"#tessera-bpe 1\n97 98\n256 300\n", ":3: merge 1 pairs ids 256 and 300"},
    {"#tessera-bpe 1\n-1 98\n", ":2: merge 0 pairs ids -1"},
    {"#tessera-bpe 1\n97 98 99\n", ":2: expected two token ids"},
    {"", "empty"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tess_ml_bpe_t *d = NULL;
    snprintf(path, sizeof path, "%s/bpe_bad_%zu.txt", dir, i);
    f = fopen(path, "w");
    if (!f) continue;
    fputs(bad[i].body, f);
    fclose(f);
    tess_test_expect_err(tess_ml_bpe_load(path, &d), TESS_ERR_ARG, bad[i].needle, bad[i].body);
    CHECK(d == NULL, "a refused file left a model");
    tess_ml_bpe_destroy(&d);
  }
  {
    tess_ml_bpe_t *d = NULL;
    tess_test_expect_err(tess_ml_bpe_load("/nonexistent/merges.txt", &d), TESS_ERR_IO, "cannot open", "missing file");
  }
done:
  tess_ml_bpe_destroy(&b);
  tess_ml_bpe_destroy(&c);
  free(text);
  free(back);
  free(ids);
  free(ids2);
}

int main(int argc, char **argv)
{
  int rc;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  check_example();
  check_random();
  check_file(argc > 1 ? argv[1] : ".");
  rc = tess_test_finish("ml_bpe");
  tess_finalize();
  return rc;
}
