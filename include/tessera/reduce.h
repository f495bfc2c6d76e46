/* include/tessera/reduce.h: deterministic reductions.
 * Sums here are EXACT and rounded once (round to nearest, ties to even): the
 * result does not depend on the rank count, the partition, the order of the
 * data or the hardware. Special values: any NaN -> NaN; +Inf and -Inf -> NaN;
 * otherwise an Inf propagates; a finite exact sum beyond the range rounds to
 * +-Inf as IEEE rounding would. Callable right after MPI_Init, with no other
 * Tessera set-up. All functions are collective on comm and give the same
 * result on every rank; comm may be MPI_COMM_SELF.
 * In CUDA builds x and y may be device pointers (both, or neither): a GPU
 * kernel adds them exactly, so the result has the same bits as for the same
 * data on the host. It reads the data on the default stream: work on other
 * streams that writes them must be complete. */
#ifndef TESSERA_REDUCE_H
#define TESSERA_REDUCE_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <mpi.h>
#include <tessera/array.h>
#include <tessera/error.h>
#include <tessera/exact_acc.h>   /* the accumulator behind all of these */

int tess_sum_f64(const double *x, size_t n, MPI_Comm comm, double *result);
int tess_sum_f32(const float *x, size_t n, MPI_Comm comm, float *result);
/* Products are formed exactly (FMA two-product) and summed exactly. */
int tess_dot_f64(const double *x, const double *y, size_t n, MPI_Comm comm, double *result);
int tess_dot_f32(const float *x, const float *y, size_t n, MPI_Comm comm, float *result);
int tess_nrm2sq_f64(const double *x, size_t n, MPI_Comm comm, double *result);
int tess_nrm2sq_f32(const float *x, size_t n, MPI_Comm comm, float *result);

/* Over Tessera arrays (host or device memory; dtypes f32, f64, c64, c128 - complex
 * values sum real and imaginary parts, each exact and rounded once).
 * Collective on the array's mesh. Each element counts once: copies held by
 * ranks that differ only along axes the spec does not use are not added
 * twice. */

/* Sum of all elements; `result` points to one element of the array's dtype
 * and gets the same bits on every rank. One MPI_Allreduce. */
tess_err_t tess_array_sum(const tess_array_t *a, void *result);
/* *out = a new array: `in` summed over dimension `dim` (numpy's keepdims:
 * same ndim, extent 1 in `dim`, which becomes replicated; every other
 * dimension keeps its extent and mesh axis). Each output element is the
 * exact sum rounded once, whatever axis shards `dim`. The caller destroys
 * *out (in the input's memory space; device input is summed through a host
 * copy of the block for now). One MPI_Allreduce over the axis sharding `dim` per 512 output
 * elements (none if `dim` is not sharded). */
tess_err_t tess_array_reduce_sum(const tess_array_t *in, int dim, tess_array_t **out);
TESS_API_END
#endif
