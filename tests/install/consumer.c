/* tests/install/consumer.c: a downstream program using an installed Tessera:
 * initialises MPI itself (as a PETSc code would), then Tessera, then an
 * exact sum whose answer is known (1e308 + 1 - 1e308 = 1). */
#include <tessera/tessera.h>
#include <stdio.h>

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int ok = tess_init(&argc, &argv) == TESS_OK;
  double x[3] = {1e308, 1.0, -1e308}, s = 0;
  ok = ok && tess_sum_f64(x, 3, MPI_COMM_SELF, &s) == TESS_OK && s == 1.0;
  ok = ok && tess_finalize() == TESS_OK;
  printf("consumer: tessera %s %s\n", tess_version(), ok ? "ok" : "FAILED");
  MPI_Finalize();
  return ok ? 0 : 1;
}
