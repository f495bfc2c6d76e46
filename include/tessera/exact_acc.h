/* include/tessera/exact_acc.h: the exact accumulator behind tess_sum_*().
 * A tess_exact_acc_t holds a sum of doubles (and of exact products of
 * doubles) with no rounding at all: a fixed-point number wide enough for
 * every product of two doubles (2^-2148 .. 2^2048) plus 64 bits of headroom,
 * and separate counts of NaN, +Inf and -Inf. Adding is order-independent and
 * exact, so accumulators may be filled in any order, combined locally with
 * tess_exact_acc_merge(), across ranks with tess_exact_acc_allreduce(), and
 * rounded once at the end (round to nearest, ties to even).
 *
 * Use it when a sum is built from several pieces (a loss made of terms, a
 * norm over several arrays, one sum per output element):
 *     tess_exact_acc_t *acc;
 *     TESS_CHECK(tess_exact_acc_create(&acc));
 *     TESS_CHECK(tess_exact_acc_add_f64(acc, r, n));          // sum r
 *     TESS_CHECK(tess_exact_acc_add_dot_f64(acc, g, g, m));   // + sum g*g
 *     TESS_CHECK(tess_exact_acc_allreduce(acc, comm));        // one MPI_Allreduce
 *     TESS_CHECK(tess_exact_acc_round_f64(acc, &total));      // same bits everywhere
 *     tess_exact_acc_destroy(&acc);
 * Special values: any NaN -> NaN; +Inf together with -Inf -> NaN; otherwise
 * an Inf wins; a finite exact sum beyond the range rounds to +-Inf. An exact
 * zero rounds to +0. An accumulator is not thread-safe; use one per thread
 * and merge. Nothing here needs tess_init(); the MPI calls need MPI_Init. */
#ifndef TESSERA_EXACT_ACC_H
#define TESSERA_EXACT_ACC_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <mpi.h>
#include <tessera/error.h>

typedef struct tess_exact_acc tess_exact_acc_t;   /* opaque, about 1.1 KiB */

/* A new accumulator holding exact zero. */
tess_err_t tess_exact_acc_create(tess_exact_acc_t **acc);
/* Safe on NULL; sets *acc to NULL. */
void tess_exact_acc_destroy(tess_exact_acc_t **acc);
/* Back to exact zero (no NaN/Inf seen). */
tess_err_t tess_exact_acc_reset(tess_exact_acc_t *acc);

/* acc += sum of x[0..n) (exact). x may be NULL when n == 0. */
tess_err_t tess_exact_acc_add_f64(tess_exact_acc_t *acc, const double *x, size_t n);
tess_err_t tess_exact_acc_add_f32(tess_exact_acc_t *acc, const float *x, size_t n);
/* acc += one value (exact; no fast path: for scattered values). */
tess_err_t tess_exact_acc_add_value(tess_exact_acc_t *acc, double v);
/* acc += sum of x[i]*y[i], each product exact (NaN for Inf*0). */
tess_err_t tess_exact_acc_add_dot_f64(tess_exact_acc_t *acc, const double *x,
                                      const double *y, size_t n);
tess_err_t tess_exact_acc_add_dot_f32(tess_exact_acc_t *acc, const float *x,
                                      const float *y, size_t n);
/* acc += x*y (one exact product). */
tess_err_t tess_exact_acc_add_product(tess_exact_acc_t *acc, double x, double y);
/* acc -= ...: negate, so differences of sums stay exact. */
tess_err_t tess_exact_acc_negate(tess_exact_acc_t *acc);

/* dst += src, locally (about 140 integer additions: cheap; use it to
 * combine per-thread or per-block accumulators). */
tess_err_t tess_exact_acc_merge(tess_exact_acc_t *dst, const tess_exact_acc_t *src);

/* Collective on comm: every rank's accumulator becomes the sum over all
 * ranks. One allreduce of integer limbs (TESS_I64, SUM, through tess_comm on
 * tess_comm_mesh_of(comm)): integer addition is associative, so the
 * reduction order the backend picks cannot matter.
 * No derived datatype or user op is created. */
tess_err_t tess_exact_acc_allreduce(tess_exact_acc_t *acc, MPI_Comm comm);
/* Collective: the same for `count` accumulators (count must agree across
 * ranks). count > 1 takes two allreduces: a tiny one agrees on the span of
 * digits in use, the second sends only those (a few per accumulator for
 * data of modest dynamic range, instead of 140). acc[i] may not repeat. */
tess_err_t tess_exact_acc_allreduce_many(tess_exact_acc_t *const acc[], size_t count,
                                         MPI_Comm comm);

/* The exact value rounded once to the nearest double / float (ties to even,
 * subnormals exact, overflow to +-Inf). The accumulator is not changed. */
tess_err_t tess_exact_acc_round_f64(const tess_exact_acc_t *acc, double *result);
tess_err_t tess_exact_acc_round_f32(const tess_exact_acc_t *acc, float *result);
/* The fast-path kernel in use: "avx512", "avx2" or "generic" (picked at run
 * time for this CPU), or "superacc" (no fast path). Every kernel gives the
 * same bits; they differ in speed only. */
const char *tess_exact_acc_kernel(void);
/* For tests and benchmarks: force a kernel by name, or "auto". Process-wide,
 * not thread-safe. TESS_ERR_UNSUPPORTED if this CPU cannot run it. "bins"
 * and "large" force one level of the fast path's per-block switch (fixed
 * bins, large superaccumulator; see docs/reductions.md) on the best ISA. */
tess_err_t tess_exact_acc_set_kernel(const char *name);
/* The calling thread's software-prefetch choice for long sums: "on" or "off",
 * "(measured)" (its first sums of >= 2^20 elements time both) or
 * "(TESS_XSUM_PREFETCH)" (forced), or "not yet measured". Speed only. */
const char *tess_exact_acc_prefetch(void);
/* Sign of the exact finite part: -1, 0 or +1 (ignores NaN/Inf counts). */
int tess_exact_acc_sign(const tess_exact_acc_t *acc);
TESS_API_END
#endif
