/* include/tessera/ml_rl.h: reinforcement learning from rewards on the host
 * GPT (tessera/ml_gpt.h): sampling with the counter-based RNG, a GRPO-style
 * loss (REINFORCE on group-normalised advantages with a KL penalty to a
 * frozen reference policy) with its exact gradient, and a data-parallel step
 * whose samples, rewards and update are bitwise the same at any rank count.
 *
 * Determinism. A sampled token is a pure function of the logits and one
 * uniform, and the uniform of position j of completion k at step s is
 * tess_rng_uniform(seed, TESS_ML_RL_STREAM(s), k * C + j): keyed by step,
 * completion (prompt * group + member) and position, never by rank. The
 * gradient is summed per completion over one fixed tree (tess_chunk_tree_sum),
 * as the sft step's. */
#ifndef TESSERA_ML_RL_H
#define TESSERA_ML_RL_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/error.h>
#include <tessera/export.h>
#include <tessera/mesh.h>
#include <tessera/ml.h>
#include <tessera/ml_gpt.h>
TESS_API_BEGIN

/* The RNG stream of the samples of step `s` (its low 48 bits). */
#define TESS_ML_RL_STREAM(s) ((UINT64_C(0x524C) << 48) | ((uint64_t)(s) & UINT64_C(0xFFFFFFFFFFFF)))

/* A token drawn from softmax(logits / temperature) over v logits by
 * inverting the cumulative distribution at u in [0, 1), summed in index
 * order (the same u gives the same token anywhere). temperature 0: the
 * argmax (the first of ties). TESS_ERR_ARG for u outside [0, 1), a negative
 * or non-finite temperature, v == 0. */
tess_err_t tess_ml_sample_token(size_t v, const double *logits, double temperature, double u,
                                int32_t *tok);

/* Completes `prompt` (np >= 1 ids) with nc sampled tokens into out[nc]: the
 * uniform of token j is tess_rng_uniform(seed, stream, index0 + j). The
 * context never slides: np + nc - 1 <= the model's ctx (TESS_ERR_ARG). One
 * forward of the whole prefix per token (no KV cache yet). */
tess_err_t tess_ml_gpt_sample(tess_ml_gpt_t *gpt, size_t np, const int32_t *prompt, size_t nc,
                              double temperature, uint64_t seed, uint64_t stream, uint64_t index0,
                              int32_t *out);

/* Group-normalised advantages of ngroups groups of G rewards (row-major):
 * adv = (r - mean) / (std + eps), std the population standard deviation of
 * the group; a group of equal rewards gets 0. */
tess_err_t tess_ml_grpo_advantages(size_t ngroups, size_t G, const double *rewards, double eps,
                                   double *adv);

/* The GRPO-style loss of one completion of C tokens, from the policy's and
 * the reference's token log-probabilities:
 *   loss = scale * sum_t [ -adv * logp_t + beta * k3_t ],
 *   k3_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1   (>= 0, an unbiased
 *          estimate of KL(policy || reference) on the policy's own samples),
 * *kl = scale * sum_t k3_t (may be NULL), and dlogp[t] = d loss / d logp_t
 * (NULL: not wanted). On-policy (one update per sample), -adv * logp has the
 * clipped-ratio surrogate's gradient. */
tess_err_t tess_ml_grpo_loss(size_t C, const double *logp, const double *ref_logp, double adv,
                             double beta, double scale, double *loss, double *kl, double *dlogp);

/* A completion's reward: `prompt` (np ids) and `completion` (nc ids) in,
 * *reward out. Called for this rank's completions only. */
typedef tess_err_t (*tess_ml_reward_fn)(size_t np, const int32_t *prompt, size_t nc,
                                        const int32_t *completion, double *reward, void *ctx);

typedef struct {
  size_t group;          /* completions per prompt (G >= 1) */
  size_t ncomplete;      /* tokens per completion (C >= 1) */
  double temperature;    /* sampling temperature (0: greedy) */
  double beta;           /* weight of the KL penalty to the reference */
  double adv_eps;        /* advantages' eps (tess_ml_grpo_advantages) */
  uint64_t seed;         /* the samples' RNG seed */
} tess_ml_grpo_t;

typedef struct {
  double loss;           /* the GRPO loss, mean over the batch's completion tokens */
  double kl;             /* its KL part (without beta), same mean */
  double reward;         /* mean reward of the batch's completions */
} tess_ml_grpo_stats_t;

/* One GRPO step, collective over the mesh axes `axes` (data parallel): the
 * batch is nprompts prompts of np ids each (`prompts`, the same on every
 * rank); each rank takes a contiguous block of prompts, samples G
 * completions of each from `policy` (keys above, `step` >= 1), scores them
 * (`reward`), normalises the advantages within each group and computes the
 * loss against `ref` (a frozen copy: tess_ml_gpt_clone; only read). The
 * loss, reward and gradient are summed per completion over one fixed tree,
 * then clipped to clip_norm (<= 0: none) and applied by one AdamW step. */
tess_err_t tess_ml_gpt_grpo_step(tess_ml_gpt_t *policy, tess_ml_gpt_t *ref, tess_mesh_t *mesh,
                                 unsigned axes, size_t nprompts, size_t np, const int32_t *prompts,
                                 const tess_ml_grpo_t *o, tess_ml_reward_fn reward, void *reward_ctx,
                                 const tess_ml_adamw_t *opt, int64_t step, double clip_norm,
                                 tess_ml_grpo_stats_t *stats);
TESS_API_END
#endif
