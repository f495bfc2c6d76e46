/* bench/bench_sum.c: the exact sum against plain sums, in one run.
 *   bench_sum [log2n reps [data]]  single rank: prints one line per kernel
 *       data: uniform (default, [-0.5, 0.5)), uniform01 ([0, 1)), normal,
 *       sign20 (random sign x 2^U(-20,20)), pos20 (2^U(-20,20)), sign30 (60
 *       binades), sign60,
 *       full (random sign, mantissa and biased exponent 1..2046)
 *   mpirun -n P bench_sum mpi   one-allreduce-per-call check + latency
 * Kernels (all on the same data, interleaved round by round so the noise of
 * a shared machine hits all alike; the best round reported):
 *   plain_O2      for (i) s += x[i]; compiled -O2: the plain loop (anchor)
 *   plain_simd    the same loop at -O3 with AVX-512/AVX2 and reassociation
 *                 (what -O3 -march=native -ffast-math makes of it, via target
 *                 and optimize attributes so it lives in this one file)
 *   exact         tess_sum_f64(x, n, MPI_COMM_SELF): fast path + rounding
 *   exact_avx2, exact_sse2   the same with the AVX2 / baseline kernel forced
 *   bins          the same with every block on the fixed bins
 *   large         the same with every block on the large superaccumulator
 *                 (Neal's: one integer add per element). bins and large
 *                 print "n/a" in builds that predate them.
 *   superacc      the same with no fast path: every element added to the
 *                 superaccumulator (a "small superaccumulator" as in Neal's
 *                 xsum: 3 digit updates per element)
 * MPI_Allreduce is interposed here (PMPI) to count the calls a sum makes. */
#include <tessera/tessera.h>
#include <tessera/exact_acc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"

static long allreduce_calls;
int MPI_Allreduce(const void *s, void *r, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c)
{
  allreduce_calls++;
  return PMPI_Allreduce(s, r, n, t, op, c);
}

__attribute__((noinline, optimize("O2"))) static double plain_O2(const double *x, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s;
}

#define SIMD_SUM_BODY                                \
  {                                                  \
    double s = 0.0;                                  \
    for (size_t i = 0; i < n; i++) s += x[i];        \
    return s;                                        \
  }
#define SIMD_OPT optimize("O3", "associative-math", "no-signed-zeros", "no-trapping-math")
__attribute__((noinline, SIMD_OPT, target("avx512f,avx512vl,avx2,fma"))) static double
plain_simd_avx512(const double *x, size_t n) SIMD_SUM_BODY
__attribute__((noinline, SIMD_OPT, target("avx2,fma"))) static double
plain_simd_avx2(const double *x, size_t n) SIMD_SUM_BODY
__attribute__((noinline, SIMD_OPT)) static double plain_simd_sse2(const double *x, size_t n)
SIMD_SUM_BODY

static const char *simd_isa = "sse2";
static double (*plain_simd)(const double *, size_t) = plain_simd_sse2;

static double exact_with(const char *kernel, const double *x, size_t n)
{
  double r = 0;
  if (tess_exact_acc_set_kernel(kernel) || tess_sum_f64(x, n, MPI_COMM_SELF, &r))
    tess_error_print(stderr);
  return r;
}
static double exact(const double *x, size_t n) { return exact_with("auto", x, n); }
static double exact_avx2(const double *x, size_t n) { return exact_with("avx2", x, n); }
static double exact_generic(const double *x, size_t n) { return exact_with("generic", x, n); }
static double superacc(const double *x, size_t n) { return exact_with("superacc", x, n); }
static double large(const double *x, size_t n) { return exact_with("large", x, n); }
static double bins(const double *x, size_t n) { return exact_with("bins", x, n); }

enum { NK = 8 };
static const char *names[NK] = {"plain_O2", "plain_simd", "exact", "exact_avx2", "exact_sse2",
                                "superacc", "large", "bins"};
static int have[NK] = {1, 1, 1, 1, 1, 1, 1, 1};   /* kernels this build and CPU can run */

/* Best seconds per call of each kernel over `rounds` rounds; each timing
 * covers `inner` calls. */
static void run_size(const double *x, size_t n, int rounds, int inner, double med[NK])
{
  double (*fn[NK])(const double *, size_t) = {plain_O2, plain_simd, exact, exact_avx2,
                                              exact_generic, superacc, large, bins};
  double *t = malloc((size_t)rounds * NK * sizeof *t);
  volatile double sink = 0;
  for (int r = 0; r < rounds; r++)
    for (int k = 0; k < NK; k++) {
      if (!have[k]) {
        t[k * rounds + r] = 0;
        continue;
      }
      size_t m = n;
      int reps = inner;
      double t0 = tess_wtime();
      for (int i = 0; i < reps; i++) sink += fn[k](x, m);
      t[k * rounds + r] = (tess_wtime() - t0) / reps * ((double)n / (double)m);
    }
  for (int k = 0; k < NK; k++) {
    qsort(t + k * rounds, (size_t)rounds, sizeof *t, bench_cmp_double);
    med[k] = t[k * rounds];   /* best of the rounds: the least disturbed by neighbours */
  }
  (void)sink;
  free(t);
}

static uint64_t xorshift(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* The data kinds of the header; 0 on success. */
static int fill(double *x, size_t n, const char *kind)
{
  uint64_t s = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < n; i++) {
    uint64_t r = xorshift(&s);
    double u = (double)(r >> 11) * 0x1.0p-53, sg = (r & 1) ? -1.0 : 1.0;
    if (strcmp(kind, "uniform") == 0) x[i] = u - 0.5;
    else if (strcmp(kind, "uniform01") == 0) x[i] = u;
    else if (strcmp(kind, "normal") == 0) x[i] = tess_rng_normal(7, 0, i);
    else if (strcmp(kind, "sign20") == 0) x[i] = sg * exp2(40.0 * u - 20.0);
    else if (strcmp(kind, "pos20") == 0) x[i] = exp2(40.0 * u - 20.0);
    else if (strcmp(kind, "sign30") == 0) x[i] = sg * exp2(60.0 * u - 30.0);
    else if (strcmp(kind, "sign60") == 0) x[i] = sg * exp2(120.0 * u - 60.0);
    else if (strcmp(kind, "full") == 0) {
      uint64_t r2 = xorshift(&s), be = 1 + r2 % 2046;
      uint64_t b = (r & (UINT64_C(1) << 63)) | (be << 52) | (r2 >> 12);
      memcpy(&x[i], &b, sizeof b);
    } else return 1;
  }
  return 0;
}

static int bench_single(int log2n, int rounds, const char *kind)
{
  size_t n = (size_t)1 << log2n;
  double *x = NULL;
  if (tess_malloc(TESS_MEM_HOST, n * sizeof *x, (void **)&x)) return 1;
  if (fill(x, n, kind)) {
    fprintf(stderr, "unknown data kind %s\n", kind);
    return 1;
  }
  const char *kn[NK] = {NULL, NULL, "auto", "avx2", "generic", "superacc", "large", "bins"};
  for (int k = 0; k < NK; k++)
    if (kn[k] && tess_exact_acc_set_kernel(kn[k])) {
      have[k] = 0;
      tess_error_clear();
    }
  tess_exact_acc_set_kernel("auto");
  /* enough calls per timing that each lasts >= ~20 ms */
  int inner = n >= (1u << 24) ? 1 : (int)((1u << 24) / n);
  double med[NK];
  run_size(x, n, rounds, inner, med);
  double e = exact(x, n);   /* also puts the kernel back to auto */
  printf("n=2^%d data=%s bytes=%zu kernel_isa=%s simd_isa=%s prefetch=\"%s\" exact_result=%a "
         "plain_result=%a\n", log2n, kind, n * sizeof *x, tess_exact_acc_kernel(), simd_isa,
         tess_exact_acc_prefetch(), e, plain_O2(x, n));
  for (int k = 0; k < NK; k++)
    if (!have[k]) printf("%-10s best n/a\n", names[k]);
    else
    printf("%-10s best %.4e s/call  %.2f GB/s  %.3f ns/elem  time/plain_O2 %.3f  time/plain_simd %.3f\n",
           names[k], med[k], (double)(n * sizeof *x) / med[k] * 1e-9, med[k] / (double)n * 1e9,
           med[k] / med[0], med[k] / med[1]);
  tess_free(TESS_MEM_HOST, (void **)&x);
  return 0;
}

/* Collective: count MPI_Allreduce calls per tess_sum_f64, time a call. */
static int bench_mpi(void)
{
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t n = 1 << 16;
  double *x = malloc(n * sizeof *x), r = 0, r2 = 0;
  for (size_t i = 0; i < n; i++) x[i] = tess_rng_normal(1, 1, (uint64_t)rank * n + i);
  const int calls = 200;
  MPI_Barrier(MPI_COMM_WORLD);
  long before = allreduce_calls;
  double t0 = tess_wtime();
  for (int i = 0; i < calls; i++) tess_sum_f64(x, n, MPI_COMM_WORLD, &r);
  double t = (tess_wtime() - t0) / calls;
  long per = (allreduce_calls - before) / calls;
  before = allreduce_calls;
  tess_dot_f64(x, x, n, MPI_COMM_WORLD, &r2);
  long per_dot = allreduce_calls - before;
  double tmax;
  PMPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0)
    printf("ranks=%d n_per_rank=%zu allreduce_per_sum=%ld allreduce_per_dot=%ld "
           "time_per_sum=%.3e s result=%a\n", size, n, per, per_dot, tmax, r);
  free(x);
  return per == 1 && per_dot == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    plain_simd = plain_simd_avx512;
    simd_isa = "avx512";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    plain_simd = plain_simd_avx2;
    simd_isa = "avx2";
  }
  int rc;
  if (argc > 1 && strcmp(argv[1], "mpi") == 0) rc = bench_mpi();
  else rc = bench_single(argc > 1 ? atoi(argv[1]) : 16, argc > 2 ? atoi(argv[2]) : 7,
                         argc > 3 ? argv[3] : "uniform");
  MPI_Finalize();
  return rc;
}
