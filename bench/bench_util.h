/* bench/bench_util.h: what every benchmark shares: the comparison that
 * sorts timings (qsort) for medians and minima. */
#ifndef TESSERA_BENCH_UTIL_H
#define TESSERA_BENCH_UTIL_H

static inline int bench_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
#endif
