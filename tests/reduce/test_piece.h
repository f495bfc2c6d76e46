/* tests/reduce/test_piece.h: one rank's uneven contiguous piece of n
 * elements, the same cut on every rank: nranks-1 points drawn from the
 * counter-based RNG (seed, stream), sorted; empty pieces allowed. Keyed by
 * the rank count, so 1..4 ranks each split the data differently. */
#ifndef TESS_TEST_PIECE_H
#define TESS_TEST_PIECE_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <tessera/rng.h>

#define TEST_PIECE_MAX_RANKS 64

static void test_piece(uint64_t seed, uint64_t stream, size_t n, int rank, int nranks,
                       size_t *start, size_t *len)
{
  size_t cut[TEST_PIECE_MAX_RANKS + 1];
  if (nranks > TEST_PIECE_MAX_RANKS) abort();   /* the tests run at 1..4 ranks */
  cut[0] = 0;
  cut[nranks] = n;
  for (int r = 1; r < nranks; r++)
    cut[r] = (size_t)(tess_rng_u64(seed, stream, (uint64_t)r) % (n + 1));
  for (int a = 1; a < nranks; a++)   /* sort the inner cuts */
    for (int b = a + 1; b < nranks; b++)
      if (cut[b] < cut[a]) {
        size_t t = cut[a];
        cut[a] = cut[b];
        cut[b] = t;
      }
  *start = cut[rank];
  *len = cut[rank + 1] - cut[rank];
}
#endif
