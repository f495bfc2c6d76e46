/* include/tessera/ml.h: the ML layer's operators on the host (ml/), each
 * forward with its exact backward: the building blocks of the transformer
 * of issue "ML I" (its model, training steps and CUDA kernels come later).
 *
 * Conventions. Row-major buffers in host memory; `t` is TESS_F64 or TESS_F32
 * for every tensor argument typed `void *` (TESS_ERR_UNSUPPORTED for other
 * dtypes); sums are accumulated in double in a fixed order, so the same
 * inputs give the same bits on any rank and thread count. Saved statistics
 * (norms' mean / 1/rms, attention's log-sum-exp) are always double. A
 * backward that produces parameter gradients *adds* into them (callers zero
 * them once per step, then accumulate over micro-batches); input gradients
 * are written. Every function returns a status: TESS_ERR_ARG names the
 * argument that is NULL or out of range. */
#ifndef TESSERA_ML_H
#define TESSERA_ML_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/dtype.h>
#include <tessera/error.h>
#include <tessera/export.h>
TESS_API_BEGIN

/* Linear layer on `rows` rows: y[rows x n] = x[rows x k] W[n x k]^T (+ bias[n]),
 * through tess_gemm (OpenBLAS pinned to one thread, or the plain loops: the
 * same bits for the same shapes). Backward: dx written (NULL: not wanted),
 * dW and dbias accumulated (dbias may be NULL). */
tess_err_t tess_ml_linear(tess_dtype_t t, size_t rows, size_t k, size_t n, const void *x,
                          const void *w, const void *bias, void *y);
tess_err_t tess_ml_linear_backward(tess_dtype_t t, size_t rows, size_t k, size_t n,
                                   const void *x, const void *w, const void *dy, void *dx,
                                   void *dw, void *dbias);

/* LayerNorm over the last dim d of `rows` rows: y = (x - mean) * rstd * gamma + beta.
 * mean/rstd: `rows` doubles each, kept for the backward (NULL: not kept). */
tess_err_t tess_ml_layernorm(tess_dtype_t t, size_t rows, size_t d, const void *x,
                             const void *gamma, const void *beta, double eps, void *y,
                             double *mean, double *rstd);
/* dx written; dgamma, dbeta accumulated (either may be NULL). */
tess_err_t tess_ml_layernorm_backward(tess_dtype_t t, size_t rows, size_t d, const void *x,
                                      const void *gamma, const double *mean, const double *rstd,
                                      const void *dy, void *dx, void *dgamma, void *dbeta);

/* RMSNorm: y = x * rstd * gamma, rstd = 1 / sqrt(mean(x^2) + eps). */
tess_err_t tess_ml_rmsnorm(tess_dtype_t t, size_t rows, size_t d, const void *x,
                           const void *gamma, double eps, void *y, double *rstd);
tess_err_t tess_ml_rmsnorm_backward(tess_dtype_t t, size_t rows, size_t d, const void *x,
                                    const void *gamma, const double *rstd, const void *dy,
                                    void *dx, void *dgamma);

/* GELU, tanh form (GPT-2's): y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), n values. */
tess_err_t tess_ml_gelu(tess_dtype_t t, size_t n, const void *x, void *y);
tess_err_t tess_ml_gelu_backward(tess_dtype_t t, size_t n, const void *x, const void *dy,
                                 void *dx);

/* SwiGLU on rows of 2h: y[r, j] = silu(a) * b with a = x[r, j], b = x[r, h + j]. */
tess_err_t tess_ml_swiglu(tess_dtype_t t, size_t rows, size_t h, const void *x, void *y);
tess_err_t tess_ml_swiglu_backward(tess_dtype_t t, size_t rows, size_t h, const void *x,
                                   const void *dy, void *dx);

/* Softmax over the last dim d (max-subtracted); backward from the output y. */
tess_err_t tess_ml_softmax(tess_dtype_t t, size_t rows, size_t d, const void *x, void *y);
tess_err_t tess_ml_softmax_backward(tess_dtype_t t, size_t rows, size_t d, const void *y,
                                    const void *dy, void *dx);

/* Softmax + cross-entropy + backward in one pass over each row of `logits`
 * (rows x v), no probabilities kept: loss_rows[r] = logsumexp - logit[label]
 * (NULL: not kept); *loss = the correctly rounded sum of the labelled rows'
 * losses (exact sum) divided by `scale_div` (e.g. the global count of
 * labelled tokens; 0: 1). Across ranks, sum loss_rows with tess_sum_f64 on
 * the data-parallel communicator: the same bits however the rows are split.
 * If dlogits is not NULL it gets d(*loss)/d(logits) (it may be `logits`
 * itself). labels[r] < 0 masks a row (no loss, zero gradient); >= v is
 * TESS_ERR_ARG. */
tess_err_t tess_ml_cross_entropy(tess_dtype_t t, size_t rows, size_t v, const void *logits,
                                 const int32_t *labels, double scale_div, double *loss,
                                 double *loss_rows, void *dlogits);

/* Rotary embedding on x of shape [n, heads, d] (d even) for positions pos[n]:
 * pairs (x[2i], x[2i+1]) rotated by pos * base^(-2i/d). Backward: the inverse
 * rotation of dy. In place allowed (y == x). */
tess_err_t tess_ml_rotary(tess_dtype_t t, size_t n, size_t heads, size_t d,
                          const int64_t *pos, double base, const void *x, void *y);
tess_err_t tess_ml_rotary_backward(tess_dtype_t t, size_t n, size_t heads, size_t d,
                                   const int64_t *pos, double base, const void *dy, void *dx);

/* Embedding lookup: out[i, :] = table[ids[i], :] (n ids, width d, vocab v).
 * Backward accumulates dout rows into dtable in the order of i (deterministic). */
tess_err_t tess_ml_embedding(tess_dtype_t t, size_t n, size_t v, size_t d, const int32_t *ids,
                             const void *table, void *out);
tess_err_t tess_ml_embedding_backward(tess_dtype_t t, size_t n, size_t v, size_t d,
                                      const int32_t *ids, const void *dout, void *dtable);

/* Attention shapes: Q, O, dQ, dO [B, Hq, S, D]; K, V, dK, dV [B, Hkv, S, D]
 * (Hq a multiple of Hkv: grouped-query heads, query head h reads kv head
 * h / (Hq / Hkv)); lse [B, Hq, S] (double). scale: usually 1/sqrt(D). */
typedef struct {
  size_t B, Hq, Hkv, S, D;
  double scale;
  int causal;    /* query i sees keys j <= i */
} tess_ml_attn_t;

/* Fused (flash) attention: tiled, online softmax, no S x S matrix; O and the
 * row log-sum-exp for the backward (lse may be NULL in inference). */
tess_err_t tess_ml_flash_attention(tess_dtype_t t, const tess_ml_attn_t *a, const void *q,
                                   const void *k, const void *v, void *o, double *lse);
/* Its backward, recomputing the probabilities tile by tile from lse: dQ, dK,
 * dV written. Deterministic: a fixed loop order, no atomics. */
tess_err_t tess_ml_flash_attention_backward(tess_dtype_t t, const tess_ml_attn_t *a,
                                            const void *q, const void *k, const void *v,
                                            const void *o, const double *lse, const void *dout,
                                            void *dq, void *dk, void *dv);

/* AdamW, one step over n parameters (p, gradient g, moments m and v of the
 * same dtype), step number `step` >= 1 for the bias corrections; g is
 * multiplied by grad_scale first (clipping: tess_ml_clip_scale). Decoupled
 * weight decay: p -= lr * wd * p. */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
} tess_ml_adamw_t;
tess_err_t tess_ml_adamw_step(tess_dtype_t t, size_t n, const tess_ml_adamw_t *o, int64_t step,
                              double grad_scale, void *p, const void *g, void *m, void *v);
/* The factor that clips a gradient of squared global norm `sumsq` (from the
 * exact sums, tess_dot_f64) to max_norm: 1 where the norm is at most
 * max_norm (or max_norm <= 0: no clipping), else max_norm / (norm + 1e-6). */
tess_err_t tess_ml_clip_scale(double sumsq, double max_norm, double *scale);

TESS_API_END
#endif
