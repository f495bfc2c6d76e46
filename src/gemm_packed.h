/* src/gemm_packed.h: Tessera's own packed GEMM (src/gemm_packed.c), the
 * "tessera" backend behind include/tessera/gemm.h. Internal. */
#ifndef TESSERA_SRC_GEMM_PACKED_H
#define TESSERA_SRC_GEMM_PACKED_H
#include <stddef.h>

typedef struct gp_isa gp_isa_t;

/* The kernel set of that name ("tessera-avx512", "tessera-avx2",
 * "tessera-generic"), or the best one this CPU runs for name NULL; NULL if
 * the CPU cannot run the one named. */
const gp_isa_t *tess_gemm_packed_isa(const char *name);
const char *tess_gemm_packed_name(const gp_isa_t *isa);

/* C[m x n] (row-major) chained with sum_p A(i,p) B(p,j), where
 * A(i,p) = A[i*ars + p*acs] and B(p,j) = B[p*brs + j*bcs]: each element one
 * fma chain in p order from its value in C. 0, or -1 if the packing buffer
 * could not be allocated (C untouched then). */
int tess_gemm_packed_f64(const gp_isa_t *isa, size_t m, size_t n, size_t k,
                         const double *A, size_t ars, size_t acs,
                         const double *B, size_t brs, size_t bcs, double *C);
int tess_gemm_packed_f32(const gp_isa_t *isa, size_t m, size_t n, size_t k,
                         const float *A, size_t ars, size_t acs,
                         const float *B, size_t brs, size_t bcs, float *C);
#endif
