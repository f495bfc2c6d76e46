/* src/reduce_sum.c: tess_sum_f64/f32, tess_dot_*, tess_nrm2sq_*: the
 * collective exact sums of include/tessera/reduce.h. Each is: fill a local
 * exact accumulator (fast path), one MPI_Allreduce of its integer digits,
 * round once. Device pointers (CUDA builds) are summed by the GPU kernel
 * into the same accumulator: same value, same bits. The accumulator lives on the stack: no allocation, nothing to
 * set up, so these work right after MPI_Init. A rank that is given bad
 * arguments still joins the allreduce (flagged), so the others get an
 * error too instead of hanging. */
#include <tessera/reduce.h>
#include "exact_acc_impl.h"

#include <string.h>

typedef enum { SUM_F64, SUM_F32, DOT_F64, DOT_F32 } sum_kind_t;

static tess_err_t exact_reduce(sum_kind_t kind, const void *x, const void *y, size_t n,
                               MPI_Comm comm, double *r64, float *r32, const char *who)
{
  tess_err_t err = TESS_OK, local = TESS_OK;
  tess_exact_acc_t acc;
  memset(&acc, 0, sizeof acc);
  int dot = kind == DOT_F64 || kind == DOT_F32;
  if ((x == NULL || (dot && y == NULL)) && n > 0) {
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    local = tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, who,
                            "rank %d: NULL %s with n = %zu", rank, x ? "y" : "x", n);
  } else if (r64 == NULL && r32 == NULL) {
    local = tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, who, "NULL result");
  }
  int dx = local ? 0 : tess_xacc_device_data(x), dy = dot ? tess_xacc_device_data(y) : dx;
  if (!local && n > 0 && dx != dy) {
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    local = tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, who,
                            "rank %d: x is in %s memory but y in %s memory (both must be on "
                            "the device or both on the host)", rank, dx ? "device" : "host",
                            dy ? "device" : "host");
  }
  if (local) {
    acc.fail = 1;
  } else if (dx && n > 0) {   /* device data: the GPU kernel, same exact value */
    static const tess_xacc_kind_t kinds[] = {TESS_XACC_SUM_F64, TESS_XACC_SUM_F32,
                                             TESS_XACC_DOT_F64, TESS_XACC_DOT_F32};
    local = tess_xacc_device_add(&acc, kinds[kind], x, y, n, 1);
    if (local) acc.fail = 1;
  } else {
    tess_xacc_fpenv_t env;
    tess_xacc_fpenv_enter(&env);
    switch (kind) {
    case SUM_F64: tess_xacc_sum_f64(&acc, x, n); break;
    case SUM_F32: tess_xacc_sum_f32(&acc, x, n); break;
    case DOT_F64: tess_xacc_dot_f64(&acc, x, y, n); break;
    case DOT_F32: tess_xacc_dot_f32(&acc, x, y, n); break;
    }
    tess_xacc_fpenv_leave(&env);
  }
  TESS_CHECK(tess_exact_acc_allreduce(&acc, comm));
  TESS_CHECK(local);
  if (r64) TESS_CHECK(tess_exact_acc_round_f64(&acc, r64));
  if (r32) TESS_CHECK(tess_exact_acc_round_f32(&acc, r32));
cleanup:
  return local ? local : err;
}

int tess_sum_f64(const double *x, size_t n, MPI_Comm comm, double *result)
{
  return exact_reduce(SUM_F64, x, NULL, n, comm, result, NULL, __func__);
}

int tess_sum_f32(const float *x, size_t n, MPI_Comm comm, float *result)
{
  return exact_reduce(SUM_F32, x, NULL, n, comm, NULL, result, __func__);
}

int tess_dot_f64(const double *x, const double *y, size_t n, MPI_Comm comm, double *result)
{
  return exact_reduce(DOT_F64, x, y, n, comm, result, NULL, __func__);
}

int tess_dot_f32(const float *x, const float *y, size_t n, MPI_Comm comm, float *result)
{
  return exact_reduce(DOT_F32, x, y, n, comm, NULL, result, __func__);
}

int tess_nrm2sq_f64(const double *x, size_t n, MPI_Comm comm, double *result)
{
  return exact_reduce(DOT_F64, x, x, n, comm, result, NULL, __func__);
}

int tess_nrm2sq_f32(const float *x, size_t n, MPI_Comm comm, float *result)
{
  return exact_reduce(DOT_F32, x, x, n, comm, NULL, result, __func__);
}
