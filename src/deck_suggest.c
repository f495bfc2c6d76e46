/* src/deck_suggest.c: "did you mean" for deck keys and string choices.
 * Optimal-string-alignment distance (Levenshtein plus adjacent swaps, so
 * "sigam" is one edit from "sigma"). A suggestion is offered only when it is
 * close relative to the word's length, or when the last path component
 * matches exactly (the key was put in the wrong table). */
#include "deck_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t osa_distance(const char *a, const char *b)
{
  size_t n = strlen(a), m = strlen(b);
  if (n > 256 || m > 256) return (size_t)-1;
  size_t *d = malloc((n + 1) * (m + 1) * sizeof *d);
  if (!d) return (size_t)-1;
#define D(i, j) d[(i) * (m + 1) + (j)]
  for (size_t i = 0; i <= n; i++) D(i, 0) = i;
  for (size_t j = 0; j <= m; j++) D(0, j) = j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      size_t cost = a[i - 1] != b[j - 1];
      size_t v = D(i - 1, j) + 1;
      if (D(i, j - 1) + 1 < v) v = D(i, j - 1) + 1;
      if (D(i - 1, j - 1) + cost < v) v = D(i - 1, j - 1) + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
        v = D(i - 2, j - 2) + 1;
      D(i, j) = v;
    }
  size_t r = D(n, m);
#undef D
  free(d);
  return r;
}

static const char *last_part(const char *p)
{
  const char *dot = strrchr(p, '.');
  return dot ? dot + 1 : p;
}

const char *deck_suggest(const char *word, const char *const *cands, size_t n)
{
  const char *best = NULL;
  size_t bestd = (size_t)-1, len = strlen(word);
  size_t limit = len / 3 > 2 ? len / 3 : 2;
  for (size_t i = 0; i < n; i++) {
    size_t dd = osa_distance(word, cands[i]);
    if (dd < bestd) { bestd = dd; best = cands[i]; }
  }
  if (best && bestd <= limit) return best;
  /* same last component, other table: "sigma" -> "noise.sigma" */
  for (size_t i = 0; i < n; i++)
    if (strcmp(last_part(word), last_part(cands[i])) == 0) return cands[i];
  return NULL;
}

int deck_choice_ok(const char *word, const char *choices)
{
  size_t len = strlen(word);
  for (const char *c = choices; c;) {
    const char *bar = strchr(c, '|');
    size_t l = bar ? (size_t)(bar - c) : strlen(c);
    if (l == len && strncmp(c, word, l) == 0) return 1;
    c = bar ? bar + 1 : NULL;
  }
  return 0;
}

const char *deck_suggest_choice(const char *word, const char *choices, char *buf, size_t cap)
{
  size_t bestd = (size_t)-1, len = strlen(word);
  size_t limit = len / 3 > 2 ? len / 3 : 2;
  buf[0] = '\0';
  for (const char *c = choices; c;) {
    const char *bar = strchr(c, '|');
    size_t l = bar ? (size_t)(bar - c) : strlen(c);
    char opt[128];
    if (l < sizeof opt) {
      memcpy(opt, c, l);
      opt[l] = '\0';
      size_t dd = osa_distance(word, opt);
      if (dd < bestd && dd <= limit && l < cap) { bestd = dd; memcpy(buf, opt, l + 1); }
    }
    c = bar ? bar + 1 : NULL;
  }
  return buf[0] ? buf : NULL;
}
