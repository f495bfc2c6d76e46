/* include/tessera/reduce.h: deterministic reductions.
 * Sums here are EXACT and rounded once (round to nearest, ties to even): the
 * result does not depend on the rank count, the partition, the order of the
 * data or the hardware. Special values: any NaN -> NaN; +Inf and -Inf -> NaN;
 * otherwise an Inf propagates; a finite exact sum beyond the range rounds to
 * +-Inf as IEEE rounding would. Callable right after MPI_Init, with no other
 * Tessera set-up. All functions are collective on comm and give the same
 * result on every rank; comm may be MPI_COMM_SELF. */
#ifndef TESSERA_REDUCE_H
#define TESSERA_REDUCE_H
#include <stddef.h>
#include <mpi.h>
#include <tessera/error.h>

int tess_sum_f64(const double *x, size_t n, MPI_Comm comm, double *result);
int tess_sum_f32(const float *x, size_t n, MPI_Comm comm, float *result);
/* Products are formed exactly (FMA two-product) and summed exactly. */
int tess_dot_f64(const double *x, const double *y, size_t n, MPI_Comm comm, double *result);
int tess_dot_f32(const float *x, const float *y, size_t n, MPI_Comm comm, float *result);
int tess_nrm2sq_f64(const double *x, size_t n, MPI_Comm comm, double *result);
int tess_nrm2sq_f32(const float *x, size_t n, MPI_Comm comm, float *result);
#endif
