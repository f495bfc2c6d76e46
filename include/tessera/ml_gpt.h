/* include/tessera/ml_gpt.h: a decoder-only GPT-style transformer on the host
 * (GPT-2's shape: token and learned position embeddings, pre-LayerNorm
 * blocks of causal multi-head flash attention and a GELU MLP, a final
 * LayerNorm, the output head tied to the token embedding), its exact
 * backward, and a data-parallel training step whose gradient sum does not
 * depend on the number of ranks. Built from the operators of tessera/ml.h.
 *
 * Not yet: CUDA, bf16, grouped-query heads and rotary positions in the
 * model (the operators have them), the sft / rl studies. */
#ifndef TESSERA_ML_GPT_H
#define TESSERA_ML_GPT_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/checkpoint.h>
#include <tessera/dtype.h>
#include <tessera/error.h>
#include <tessera/export.h>
#include <tessera/mesh.h>
#include <tessera/ml.h>
TESS_API_BEGIN

typedef struct {
  size_t vocab;     /* tokens 0..vocab-1 */
  size_t ctx;       /* longest sequence (position embeddings) */
  size_t d_model;   /* a multiple of n_head */
  size_t n_layer;
  size_t n_head;
} tess_ml_gpt_config_t;

typedef struct tess_ml_gpt tess_ml_gpt_t;

/* Parameters drawn from the counter-based RNG keyed by (seed, parameter
 * index): GPT-2's initialisation (weights N(0, 0.02), the residual
 * projections N(0, 0.02 / sqrt(2 n_layer)), biases 0, LayerNorm gains 1), the
 * same bits on every rank. t: TESS_F64 or TESS_F32 storage. */
tess_err_t tess_ml_gpt_create(const tess_ml_gpt_config_t *cfg, tess_dtype_t t, uint64_t seed,
                              tess_ml_gpt_t **gpt);
void tess_ml_gpt_destroy(tess_ml_gpt_t **gpt);   /* safe on NULL */
/* The flat parameter and gradient buffers (n values of the model's dtype). */
tess_err_t tess_ml_gpt_params(tess_ml_gpt_t *gpt, size_t *n, void **params, void **grads);

/* The model's configuration and storage dtype (either may be NULL). */
tess_err_t tess_ml_gpt_config(const tess_ml_gpt_t *gpt, tess_ml_gpt_config_t *cfg, tess_dtype_t *t);
/* AdamW's first and second moments (n values each, the model's dtype, laid
 * out as the parameters): the optimizer state a checkpoint keeps. */
tess_err_t tess_ml_gpt_moments(tess_ml_gpt_t *gpt, void **m, void **v);

/* Checkpoints in Tessera's HDF5 layout (tessera/checkpoint.h): under
 * `group` ("gpt" if NULL), datasets config (int64: vocab, ctx, d_model,
 * n_layer, n_head), params, adam_m and adam_v (1-D, n values of the model's
 * dtype, global datasets written once whatever the rank count). Collective on
 * the checkpoint's communicator; `mesh` spans the same ranks (the arrays are
 * replicated over it). The read refuses a checkpoint of another model shape
 * or dtype (TESS_ERR_SHAPE naming the file, the dataset and both values)
 * and leaves the model unchanged on any error. */
tess_err_t tess_ml_gpt_checkpoint_write(tess_ml_gpt_t *gpt, tess_mesh_t *mesh, tess_checkpoint_t *ck,
                                        const char *group);
tess_err_t tess_ml_gpt_checkpoint_read(tess_ml_gpt_t *gpt, tess_mesh_t *mesh, tess_checkpoint_t *ck,
                                       const char *group);

/* Loss of B sequences of S tokens (S <= ctx): tokens and targets are B*S ids
 * (a target < 0 is masked); *loss = the exact sum of the unmasked tokens'
 * cross-entropies / scale_div (0: 1). With want_grad, the gradient of *loss
 * is *added* to the model's gradient buffer. Work memory is allocated per
 * call. */
tess_err_t tess_ml_gpt_forward_backward(tess_ml_gpt_t *gpt, size_t B, size_t S,
                                        const int32_t *tokens, const int32_t *targets,
                                        double scale_div, int want_grad, double *loss);

/* Per-token log-probabilities of the targets, and the exact gradient of any
 * function f of them. logp[i] = log softmax(logits_i)[targets[i]] for the B*S
 * positions (0 where targets[i] < 0: masked). With dlogp_fn (NULL: forward
 * only), it is called once with logp and fills dlogp[i] = df/dlogp[i]; the
 * gradient of f is then *added* to the model's gradient buffer (one forward,
 * one backward: f may depend on logp itself, as a KL penalty does). */
typedef tess_err_t (*tess_ml_dlogp_fn)(size_t n, const double *logp, double *dlogp, void *ctx);
tess_err_t tess_ml_gpt_logprobs(tess_ml_gpt_t *gpt, size_t B, size_t S, const int32_t *tokens,
                                const int32_t *targets, double *logp, tess_ml_dlogp_fn dlogp_fn,
                                void *ctx);

/* A copy of the model: parameters and AdamW moments (a frozen reference
 * policy, say). Gradients start at zero. */
tess_err_t tess_ml_gpt_clone(const tess_ml_gpt_t *src, tess_ml_gpt_t **dst);

/* The logits of the token after `tokens` (one sequence of S <= ctx ids):
 * vocab doubles (for sampling). */
tess_err_t tess_ml_gpt_next_logits(tess_ml_gpt_t *gpt, size_t S, const int32_t *tokens,
                                   double *logits);

/* One training step, collective over the mesh axes `axes` (data parallel):
 * the global batch is nseq sequences of S+1 ids (`seqs`, the same on every
 * rank; inputs ids 0..S-1, targets 1..S), each rank takes a contiguous block
 * of sequences, and the loss and gradient are summed per sequence over one
 * fixed tree (tess_chunk_tree_sum): the mean token loss and the update are
 * bitwise the same at any rank count. Then clipping to clip_norm (<= 0: no
 * clipping) and one AdamW step (step >= 1). *loss: the batch's mean loss. */
tess_err_t tess_ml_gpt_train_step(tess_ml_gpt_t *gpt, tess_mesh_t *mesh, unsigned axes,
                                  size_t nseq, size_t S, const int32_t *seqs,
                                  const tess_ml_adamw_t *opt, int64_t step, double clip_norm,
                                  double *loss);
TESS_API_END
#endif
