/* pde/pinn_cuda.h: the PINN jet and adjoint kernels on the GPU (CUDA +
 * cuBLAS builds; pde/cuda/pinn_cuda.cu). The same contract as
 * pinn_jet_forward_* / pinn_jet_backward_* (pinn_internal.h) for ONE chunk
 * workspace held in device memory: each dense layer is one GEMM over all
 * jet components and points of the chunk (cuBLAS, deterministic setup), the
 * activation's jet recurrences and their adjoints are one fused elementwise
 * kernel per layer that mirrors taylor_jet.c / pinn_adjoint.c term for term
 * (built with -fmad=false, so each operation rounds as the CPU's does), bias
 * gradients a fixed-order reduction over the chunk's points. A chunk of the
 * same shape gives the same bits on the same GPU model, toolkit and cuBLAS,
 * wherever it runs; nothing here depends on the rank count.
 *
 * Everything runs on the default stream; every call returns once its work
 * is complete (it ends with a synchronising copy or cudaStreamSynchronize)
 * and reports launch, runtime and cuBLAS errors as TESS_ERR_DEVICE. Not
 * installed; C linkage. */
#ifndef TESSERA_PDE_PINN_CUDA_H
#define TESSERA_PDE_PINN_CUDA_H
#include <tessera/config.h>
#include <tessera/memory.h>
#include "pinn_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device workspace of one chunk of B points: the device twin of pinn_work_t
 * (same layouts, network dtype), plus the parameters and the chunk's points. */
typedef struct {
  tess_memspace_t space;       /* TESS_MEM_DEVICE, or TESS_MEM_HOST for the emulation */
  size_t B;
  int C;
  int nlayers;
  tess_dtype_t dtype;
  void **H, **Z;               /* host arrays of device pointers, as pinn_work_t */
  void *bar0, *bar1;           /* adjoints: C x B x maxwidth each */
  void *gpart;                 /* this chunk's parameter gradient (nparams) */
  void *theta;                 /* parameters in the network dtype (nparams) */
  double *x;                   /* the chunk's points, B x din (f64) */
  double *conv;                /* f64 staging: max(C x B x dout, nparams) */
  size_t nconv;
  double *jb;                  /* the output jet's adjoint in f64, C x B x dout */
  double *terms;               /* per-point loss terms, B */
} pinn_cuda_work_t;

/* A residual program (pinn_expr_program) copied to a work's memory space,
 * for pinn_cuda_residuals. */
typedef struct {
  tess_memspace_t space;
  int nops, nroots;
  pinn_op_t *ops;
  pinn_leaf_term_t *terms;
  int *roots;
} pinn_cuda_prog_t;
/* Ops an interpreter thread holds (their values and adjoints live in the
 * thread's local memory); larger programs stay on the host path. */
#define PINN_CUDA_PROG_MAX 128

#if TESSERA_HAVE_CUBLAS
/* Device buffers for chunks of B points (TESS_ERR_DEVICE/MEM on failure,
 * nothing left allocated). */
tess_err_t pinn_cuda_work_create(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B,
                                 pinn_cuda_work_t *w);
/* The same buffers in host memory: every call below then runs the same
 * element bodies, reduction orders and GEMM argument lists on the CPU (the
 * products as plain loops). Slow; for checking layouts and kernel bodies on
 * machines without a GPU (tests/pde/test_pinn_cuda_host.c). */
tess_err_t pinn_cuda_work_create_host(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B,
                                      pinn_cuda_work_t *w);
void pinn_cuda_work_destroy(pinn_cuda_work_t *w);        /* safe on a zeroed one */
/* Copies the network's parameters (theta, or theta32 for f32) to w->theta. */
tess_err_t pinn_cuda_set_params(const tess_mlp_t *mlp, pinn_cuda_work_t *w);
/* Copies the chunk's B x din points (host, f64) to w->x. */
tess_err_t pinn_cuda_set_points(pinn_cuda_work_t *w, const double *x_host, int din);

/* Forward jets of the points in w->x; the output jet is w->Z[L-1]
 * (C x B x dout, network dtype, device). */
tess_err_t pinn_cuda_jet_forward_f64(const tess_mlp_t *mlp, const pinn_layout_t *lay,
                                     pinn_cuda_work_t *w);
tess_err_t pinn_cuda_jet_forward_f32(const tess_mlp_t *mlp, const pinn_layout_t *lay,
                                     pinn_cuda_work_t *w);
/* Reverse mode: w->bar0 holds the output adjoint (C x B x dout, device) on
 * entry; on return w->gpart holds this chunk's d(loss)/d(theta). */
tess_err_t pinn_cuda_jet_backward_f64(const tess_mlp_t *mlp, const pinn_layout_t *lay,
                                      pinn_cuda_work_t *w);
tess_err_t pinn_cuda_jet_backward_f32(const tess_mlp_t *mlp, const pinn_layout_t *lay,
                                      pinn_cuda_work_t *w);

/* Copies pg (nops <= PINN_CUDA_PROG_MAX) to space. */
tess_err_t pinn_cuda_prog_create(const pinn_prog_t *pg, tess_memspace_t space, pinn_cuda_prog_t *dp);
void pinn_cuda_prog_destroy(pinn_cuda_prog_t *dp);                   /* safe on a zeroed one */
/* The residual program of one point set at the B points of the chunk in w
 * (x = w->x, output jet = w->Z[L-1] after a forward pass), a thread per
 * point, op by op as pinn_expr_eval / pinn_expr_adjoint do per point (the
 * same operations in the same order; sin, cos, exp, log, tanh, pow are
 * CUDA's): the loss terms weight * sum_r r^2 of the first nv points go to
 * terms (host, nv values); with `adjoint`, the output-jet adjoint of the
 * seeds 2 weight r (0 past nv) goes to w->bar0 (network dtype, rounded from
 * f64 as the CPU path does), ready for the backward pass. */
tess_err_t pinn_cuda_residuals(const tess_mlp_t *mlp, pinn_cuda_work_t *w, const pinn_cuda_prog_t *prog,
                               int din, double weight, size_t nv, int adjoint, double *terms);

/* Host <-> device copies of the output jet and its adjoint, converting
 * between the network dtype (device) and f64 (host) as the CPU path does
 * (f32 -> f64 exactly; f64 -> f32 rounded to nearest). n values. */
tess_err_t pinn_cuda_get_jet(const pinn_cuda_work_t *w, const void *dev, size_t n, double *host);
tess_err_t pinn_cuda_put_jetbar(pinn_cuda_work_t *w, const double *host, size_t n);
/* w->gpart (network dtype) to n host doubles. */
tess_err_t pinn_cuda_get_grad(const pinn_cuda_work_t *w, size_t n, double *host);
#endif

#ifdef __cplusplus
}
#endif
#endif
