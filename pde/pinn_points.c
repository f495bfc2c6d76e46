/* pde/pinn_points.c: built-in collocation point sets. Each point is a pure
 * function of (seed, stream, global index) through the counter RNG, so a
 * rank makes exactly the points of its own chunks and every rank count sees
 * the same set. */
#include "pinn_internal.h"

#include <tessera/rng.h>

void tess_pinn_box_interior(int64_t gidx, double *x, void *ctx)
{
  const tess_pinn_box_t *b = ctx;
  for (int i = 0; i < b->din; i++)
    x[i] = b->lo[i] + (b->hi[i] - b->lo[i])
                      * tess_rng_uniform(b->seed, b->stream, (uint64_t)gidx * b->din + i);
}

/* Uniform by arc length on the rectangle's perimeter, counter-clockwise
 * from (lo0, lo1). */
void tess_pinn_box_boundary(int64_t gidx, double *x, void *ctx)
{
  const tess_pinn_box_t *b = ctx;
  double lx = b->hi[0] - b->lo[0], ly = b->hi[1] - b->lo[1];
  double s = 2 * (lx + ly) * tess_rng_uniform(b->seed, b->stream, (uint64_t)gidx);
  if (s < lx) { x[0] = b->lo[0] + s; x[1] = b->lo[1]; return; }
  s -= lx;
  if (s < ly) { x[0] = b->hi[0]; x[1] = b->lo[1] + s; return; }
  s -= ly;
  if (s < lx) { x[0] = b->hi[0] - s; x[1] = b->hi[1]; return; }
  s -= lx;
  x[0] = b->lo[0];
  x[1] = b->hi[1] - (s < ly ? s : ly);
}
