/* tests/tess_test.h: tiny helpers shared by the C tests.
 * A test's verdict is its exit code; CHECK prints what failed and where, on
 * the rank that saw it, and counts failures; tess_test_finish() agrees on
 * the verdict across ranks. */
#ifndef TESS_TEST_H
#define TESS_TEST_H
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int tess_test_failures;

#define CHECK(cond, ...) do { if (!(cond)) {                                   \
    int r_ = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r_);                             \
    fprintf(stderr, "[rank %d] %s:%d: CHECK(%s) failed: ", r_, __FILE__,       \
            __LINE__, #cond);                                                   \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr);                          \
    tess_test_failures++; } } while (0)

/* Collective: 0 if no rank failed. Prints a one-line verdict on rank 0. */
static inline int tess_test_finish(const char *name)
{
  int any = tess_test_failures, r = 0, n = 1;
  MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (r == 0) printf("%s (%d ranks): %s, %d failed checks\n", name, n, any ? "FAIL" : "ok", any);
  return any ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
