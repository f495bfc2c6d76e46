/* apps/study_rl.c: `study = "rl"`, reinforcement learning of the host GPT
 * (tessera/ml_gpt.h) from a reward given in the deck, GRPO-style
 * (tessera/ml_rl.h): each step draws rl.prompts prompts of rl.prompt_len
 * bytes from data.text, samples rl.group completions of each from the
 * policy, scores them (reward.kind: the fraction of completion bytes in
 * reward.charset, or of positions matching reward.target; plus
 * reward.ref_weight times the frozen reference's mean log-likelihood of the
 * completion), and takes one AdamW step on the group-normalised REINFORCE
 * loss with a KL penalty (rl.beta) to the frozen copy of the initial policy.
 * Prompts, samples and the tree-summed gradient are keyed by step, prompt
 * and position, never by rank: the trajectory is bitwise the same at any
 * rank count. model.init may name a checkpoint (an sft one, say) to start
 * from. Checkpoints (checkpoint.*, as the sft and pinn studies spell them)
 * hold the policy with its AdamW moments (gpt/), the frozen reference (ref/)
 * and the per-step reward, KL and loss (rl/history); prompts and samples are
 * keyed by the step, so --restart / --resume continue bitwise on any rank
 * count. Not yet: a KV cache, the GPU. */
#include <tessera/tessera.h>
#include <tessera/ml_rl.h>
#include "study.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tess_deck_key_t keys[] = {
  {.path = "data.text", .type = TESS_KEY_STRING, .default_toml = "\"/usr/share/common-licenses/GPL-3\"",
   .help = "text file the prompts are drawn from (bytes are the tokens)"},
  {.path = "model.d_model", .type = TESS_KEY_INT, .default_toml = "32", .min = 1, .max = 65536,
   .help = "width of the residual stream (a multiple of model.n_head)"},
  {.path = "model.n_layer", .type = TESS_KEY_INT, .default_toml = "2", .min = 1, .max = 1024,
   .help = "transformer blocks"},
  {.path = "model.n_head", .type = TESS_KEY_INT, .default_toml = "2", .min = 1, .max = 1024,
   .help = "attention heads"},
  {.path = "model.ctx", .type = TESS_KEY_INT, .default_toml = "32", .min = 1, .max = 65536,
   .help = "context (position embeddings): at least rl.prompt_len + rl.completion - 1; an sft model's train.seq_len"},
  {.path = "model.dtype", .type = TESS_KEY_STRING, .default_toml = "\"f32\"", .choices = "f32|f64",
   .help = "parameter and activation storage (arithmetic in double)"},
  {.path = "model.init", .type = TESS_KEY_STRING, .default_toml = "\"\"",
   .help = "checkpoint to start from (its gpt/ datasets, e.g. an sft checkpoint of the same shape); \"\" = "
           "fresh weights from train.seed"},
  {.path = "rl.prompts", .type = TESS_KEY_INT, .default_toml = "4", .min = 1, .max = 1e6,
   .help = "prompts per step (global: whole groups split over the ranks)"},
  {.path = "rl.prompt_len", .type = TESS_KEY_INT, .default_toml = "8", .min = 1, .max = 65536,
   .help = "bytes per prompt, drawn from data.text at offsets keyed by (train.seed, step, prompt)"},
  {.path = "rl.group", .type = TESS_KEY_INT, .default_toml = "4", .min = 1, .max = 65536,
   .help = "completions sampled per prompt (the group of the normalised advantages)"},
  {.path = "rl.completion", .type = TESS_KEY_INT, .default_toml = "16", .min = 1, .max = 65536,
   .help = "bytes sampled per completion"},
  {.path = "rl.temperature", .type = TESS_KEY_FLOAT, .default_toml = "1.0", .min = 0, .max = 100,
   .help = "sampling temperature of the completions (0: greedy)"},
  {.path = "rl.beta", .type = TESS_KEY_FLOAT, .default_toml = "0.02", .min = 0, .max = 1e6,
   .help = "weight of the KL penalty to the frozen reference (the initial policy)"},
  {.path = "reward.kind", .type = TESS_KEY_STRING, .default_toml = "\"charset\"", .choices = "charset|target|none",
   .help = "rule: charset = fraction of completion bytes in reward.charset; target = fraction of positions "
           "matching reward.target (repeated); none = only the reference term"},
  {.path = "reward.charset", .type = TESS_KEY_STRING, .default_toml = "\"etaoin shrdlu\"",
   .help = "bytes that score (reward.kind = \"charset\")"},
  {.path = "reward.target", .type = TESS_KEY_STRING, .default_toml = "\"the \"",
   .help = "text the completion should spell, repeated (reward.kind = \"target\")"},
  {.path = "reward.ref_weight", .type = TESS_KEY_FLOAT, .default_toml = "0.0", .min = -1e6, .max = 1e6,
   .help = "plus this times the reference model's mean log-likelihood of the completion"},
  {.path = "train.steps", .type = TESS_KEY_INT, .default_toml = "40", .min = 1, .max = 1e9,
   .help = "GRPO steps"},
  {.path = "train.lr", .type = TESS_KEY_FLOAT, .default_toml = "1e-2", .min = 0, .max = 10,
   .help = "AdamW learning rate"},
  {.path = "train.weight_decay", .type = TESS_KEY_FLOAT, .default_toml = "0.0", .min = 0, .max = 10,
   .help = "AdamW decoupled weight decay"},
  {.path = "train.clip", .type = TESS_KEY_FLOAT, .default_toml = "1.0", .min = 0, .max = 1e9,
   .help = "global gradient-norm clip (0: none)"},
  {.path = "train.seed", .type = TESS_KEY_INT, .default_toml = "1", .min = 0, .max = 9e15,
   .help = "seed of the initialisation, the prompts and the samples"},
  {.path = "report.every", .type = TESS_KEY_INT, .default_toml = "5", .min = 1, .max = 1e9,
   .help = "print reward, KL and loss every this many steps (and at the last)"},
};

static const tess_deck_schema_t schema = {
  .study = "rl",
  .summary = "GRPO-style RL of a small GPT from a deck-given reward, KL to a frozen reference, bitwise the same at "
             "any rank count.",
  .keys = keys,
  .nkeys = sizeof keys / sizeof keys[0],
  .stateless = 0,   /* resumes: --restart, --resume, checkpoint.* */
};

static tess_err_t check(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  int64_t d, h, ctx, np, nc;
  const char *kind, *set, *target;
  TESS_CHECK(tess_deck_get_int(deck, "model.d_model", &d));
  TESS_CHECK(tess_deck_get_int(deck, "model.n_head", &h));
  TESS_CHECK(tess_deck_get_int(deck, "model.ctx", &ctx));
  TESS_CHECK(tess_deck_get_int(deck, "rl.prompt_len", &np));
  TESS_CHECK(tess_deck_get_int(deck, "rl.completion", &nc));
  TESS_CHECK(tess_deck_get_string(deck, "reward.kind", &kind));
  TESS_CHECK(tess_deck_get_string(deck, "reward.charset", &set));
  TESS_CHECK(tess_deck_get_string(deck, "reward.target", &target));
  if (d % h)
    TESS_CHECK(tess_deck_key_error(deck, "model.d_model", "%" PRId64 " is not a multiple of model.n_head = %" PRId64,
                                   d, h));
  if (np + nc - 1 > ctx)
    TESS_CHECK(tess_deck_key_error(deck, "model.ctx", "%" PRId64 " is shorter than rl.prompt_len + rl.completion - 1 = %"
                                   PRId64, ctx, np + nc - 1));
  if (strcmp(kind, "charset") == 0 && !set[0])
    TESS_CHECK(tess_deck_key_error(deck, "reward.charset", "is empty (no byte could score)"));
  if (strcmp(kind, "target") == 0 && !target[0])
    TESS_CHECK(tess_deck_key_error(deck, "reward.target", "is empty (give at least one byte)"));
cleanup:
  return err;
}

typedef struct {
  int kind;                 /* 0 charset, 1 target, 2 none */
  unsigned char in[256];    /* charset membership */
  const char *target;
  size_t ntarget;
  double ref_weight;
  tess_ml_gpt_t *ref;
  int32_t *tok, *tgt;       /* ctx-long scratch for the reference term */
  double *lp;
} reward_t;

static tess_err_t reward_fn(size_t np, const int32_t *prompt, size_t nc, const int32_t *y, double *r, void *vctx)
{
  tess_err_t err = TESS_OK;
  reward_t *x = vctx;
  double s = 0;
  for (size_t j = 0; j < nc; j++) {
    if (x->kind == 0) s += x->in[y[j] & 255];
    else if (x->kind == 1) s += y[j] == (unsigned char)x->target[j % x->ntarget];
  }
  *r = x->kind == 2 ? 0 : s / (double)nc;
  if (x->ref_weight != 0) {   /* the frozen reference's mean log-likelihood of the completion */
    size_t S = np + nc - 1;
    double ll = 0;
    for (size_t j = 0; j < S; j++) {
      int32_t cur = j < np ? prompt[j] : y[j - np], next = j + 1 < np ? prompt[j + 1] : y[j + 1 - np];
      x->tok[j] = cur;
      x->tgt[j] = j + 1 >= np ? next : -1;
    }
    TESS_CHECK(tess_ml_gpt_logprobs(x->ref, 1, S, x->tok, x->tgt, x->lp, NULL, NULL));
    for (size_t j = np - 1; j < S; j++) ll += x->lp[j];
    *r += x->ref_weight * ll / (double)nc;
  }
cleanup:
  return err;
}

/* model.init: the parameters of a checkpoint's gpt/ group; its optimizer
 * moments are dropped (a new run, a new optimizer). Collective. */
static tess_err_t load_init(tess_ml_gpt_t *g, tess_mesh_t *mesh, const char *path)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  size_t n = 0;
  void *m, *v;
  tess_dtype_t t;
  TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, path, &ck));
  TESS_CHECK(tess_ml_gpt_checkpoint_read(g, mesh, ck, "gpt"));
  TESS_CHECK(tess_ml_gpt_params(g, &n, NULL, NULL));
  TESS_CHECK(tess_ml_gpt_moments(g, &m, &v));
  TESS_CHECK(tess_ml_gpt_config(g, NULL, &t));
  memset(m, 0, n * tess_dtype_size(t));
  memset(v, 0, n * tess_dtype_size(t));
cleanup:
  tess_checkpoint_close(&ck);
  return err;
}

/* Step k's prompts: rl.prompt_len bytes at offsets keyed by (seed, k, prompt). */
static void draw_prompts(int32_t *prompts, int64_t k, int64_t nprompt, int64_t plen, uint64_t seed,
                         const unsigned char *text, size_t len)
{
  for (int64_t q = 0; q < nprompt; q++) {
    size_t at = (size_t)(tess_rng_u64(seed, 0xDA7B, (uint64_t)(k * nprompt + q)) % (len - (size_t)plen));
    for (int64_t i = 0; i < plen; i++) prompts[q * plen + i] = text[at + (size_t)i];
  }
}

/* The policy and its moments, the reference, and the history of `step` steps. */
static tess_err_t save(tess_checkpoint_manager_t *mgr, tess_ml_gpt_t *g, tess_ml_gpt_t *ref, tess_mesh_t *mesh,
                       const tess_deck_t *deck, int64_t step, uint64_t seed, const double *hist, int on_signal,
                       char *path, size_t cap)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta = {.study = "rl", .deck_text = tess_deck_text(deck), .step = step, .rng_seed = seed};
  TESS_CHECK(tess_checkpoint_manager_begin(mgr, step, &ck));
  snprintf(path, cap, "%s", tess_checkpoint_path(ck));
  if (on_signal) tess_study_checkpoint_note(path, 0);
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  TESS_CHECK(tess_ml_gpt_checkpoint_write(g, mesh, ck, "gpt"));
  TESS_CHECK(tess_ml_gpt_checkpoint_write(ref, mesh, ck, "ref"));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "rl/history", hist, 3 * (size_t)step));
  TESS_CHECK(tess_checkpoint_commit(&ck));
  if (on_signal) tess_study_checkpoint_note(path, 1);
cleanup:
  tess_checkpoint_close(&ck);
  return err;
}

static void show(char *out, const int32_t *t, size_t n)   /* one printable line */
{
  for (size_t i = 0; i < n; i++) out[i] = (char)(t[i] == '\n' ? '|' : isprint(t[i]) ? t[i] : '.');
  out[n] = 0;
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1;
  int64_t d, nl, nh, ctx, steps, seed, every, nprompt, plen, group, ncomp;
  double lr, wd, clip, temp, beta, t0, first_r = 0, last_r = 0;
  const char *path, *dt, *init, *kind, *set;
  unsigned char *text = NULL;
  size_t len = 0, nparam = 0;
  int32_t *prompts = NULL, *comp = NULL;
  char *line = NULL;
  tess_ml_gpt_t *g = NULL, *ref = NULL;
  tess_mesh_t *mesh = NULL;
  tess_checkpoint_manager_t *mgr = NULL;
  tess_checkpoint_t *rck = NULL;
  tess_checkpoint_policy_t pol = {.prefix = "rl"};
  int64_t step0 = 0, keep = 2;
  int interrupted = 0;
  double *hist = NULL;   /* reward, kl, loss of every step */
  static char latest[4096], cpath[4096];
  const char *restart = opts->restart;
  reward_t rw = {0};
  tess_ml_grpo_stats_t st = {0};
  TESS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  TESS_CHECK(tess_deck_get_string(deck, "data.text", &path));
  TESS_CHECK(tess_deck_get_int(deck, "model.d_model", &d));
  TESS_CHECK(tess_deck_get_int(deck, "model.n_layer", &nl));
  TESS_CHECK(tess_deck_get_int(deck, "model.n_head", &nh));
  TESS_CHECK(tess_deck_get_int(deck, "model.ctx", &ctx));
  TESS_CHECK(tess_deck_get_string(deck, "model.dtype", &dt));
  TESS_CHECK(tess_deck_get_string(deck, "model.init", &init));
  TESS_CHECK(tess_deck_get_int(deck, "rl.prompts", &nprompt));
  TESS_CHECK(tess_deck_get_int(deck, "rl.prompt_len", &plen));
  TESS_CHECK(tess_deck_get_int(deck, "rl.group", &group));
  TESS_CHECK(tess_deck_get_int(deck, "rl.completion", &ncomp));
  TESS_CHECK(tess_deck_get_double(deck, "rl.temperature", &temp));
  TESS_CHECK(tess_deck_get_double(deck, "rl.beta", &beta));
  TESS_CHECK(tess_deck_get_string(deck, "reward.kind", &kind));
  TESS_CHECK(tess_deck_get_string(deck, "reward.charset", &set));
  TESS_CHECK(tess_deck_get_string(deck, "reward.target", &rw.target));
  TESS_CHECK(tess_deck_get_double(deck, "reward.ref_weight", &rw.ref_weight));
  TESS_CHECK(tess_deck_get_int(deck, "train.steps", &steps));
  TESS_CHECK(tess_deck_get_double(deck, "train.lr", &lr));
  TESS_CHECK(tess_deck_get_double(deck, "train.weight_decay", &wd));
  TESS_CHECK(tess_deck_get_double(deck, "train.clip", &clip));
  TESS_CHECK(tess_deck_get_int(deck, "train.seed", &seed));
  TESS_CHECK(tess_deck_get_int(deck, "report.every", &every));
  TESS_CHECK(tess_deck_get_int(deck, "checkpoint.every_steps", &pol.every_steps));
  TESS_CHECK(tess_deck_get_double(deck, "checkpoint.every_seconds", &pol.every_seconds));
  TESS_CHECK(tess_deck_get_int(deck, "checkpoint.keep", &keep));
  TESS_CHECK(tess_deck_get_string(deck, "checkpoint.dir", &pol.dir));
  pol.keep = (int)keep;
  tess_ml_gpt_config_t c = {256, (size_t)ctx, (size_t)d, (size_t)nl, (size_t)nh};
  tess_dtype_t t = strcmp(dt, "f64") == 0 ? TESS_F64 : TESS_F32;
  TESS_CHECK(tess_ml_gpt_create(&c, t, (uint64_t)seed, &g));
  TESS_CHECK(tess_ml_gpt_params(g, &nparam, NULL, NULL));
  if (opts->dry_run) {
    if (rank == 0)
      printf("planned work: GPT %" PRId64 " layers x %" PRId64 " wide, %" PRId64 " heads, ctx %" PRId64
             ", %zu parameters (%s, %s); %" PRId64 " GRPO steps of %" PRId64 " prompts x %" PRId64
             " completions of %" PRId64 " bytes, reward %s, over %d rank%s\n",
             nl, d, nh, ctx, nparam, dt, init[0] ? init : "fresh", steps, nprompt, group, ncomp, kind, size,
             size > 1 ? "s" : "");
    goto cleanup;
  }
  TESS_CHECK(tess_study_read_text(deck, "data.text", &text, &len));
  if (len < (size_t)plen + 1)
    TESS_CHECK(tess_deck_key_error(deck, "data.text", "'%s' has %zu bytes, fewer than rl.prompt_len + 1 = %" PRId64,
                                   path, len, plen + 1));
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, (const char *[]){"dp"}, (int[]){size}, &mesh));
  if (opts->resume) {
    int found = 0;
    TESS_CHECK(tess_study_find_resume("rl", &pol, latest, sizeof latest, &found));
    if (found) restart = latest;
  }
  if (init[0] && !restart) {
    TESS_CHECK(load_init(g, mesh, init));
    if (rank == 0) printf("rl: policy from %s\n", init);
  }
  TESS_CHECK(tess_ml_gpt_clone(g, &ref));   /* the frozen reference: the initial policy */
  if (restart) {   /* policy, moments, reference, history; prompts and samples follow from the step */
    tess_checkpoint_meta_t meta;
    TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, restart, &rck));
    TESS_CHECK(tess_checkpoint_check_study(rck, "rl"));
    TESS_CHECK(tess_checkpoint_get_meta(rck, &meta));
    step0 = meta.step;
    TESS_CHECK(tess_ml_gpt_checkpoint_read(g, mesh, rck, "gpt"));
    TESS_CHECK(tess_ml_gpt_checkpoint_read(ref, mesh, rck, "ref"));
    hist = calloc(3 * (size_t)(steps > step0 ? steps : step0), sizeof *hist);
    TESS_REQUIRE(hist != NULL, TESS_ERR_MEM, "rl: history of %" PRId64 " steps", step0);
    TESS_CHECK(tess_checkpoint_read_f64(rck, "rl/history", hist, 3 * (size_t)step0));
    tess_checkpoint_close(&rck);
    if (rank == 0) printf("rl: restarted from %s at step %" PRId64 " on %d rank%s\n", restart, step0, size,
                          size > 1 ? "s" : "");
  } else {
    hist = calloc(3 * (size_t)steps, sizeof *hist);
    TESS_REQUIRE(hist != NULL, TESS_ERR_MEM, "rl: history of %" PRId64 " steps", steps);
  }
  TESS_CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, &mgr));
  TESS_CHECK(tess_signal_install());
  rw.kind = strcmp(kind, "charset") == 0 ? 0 : strcmp(kind, "target") == 0 ? 1 : 2;
  for (const char *p = set; *p; p++) rw.in[(unsigned char)*p] = 1;
  rw.ntarget = strlen(rw.target);
  rw.ref = ref;
  rw.tok = malloc(sizeof *rw.tok * (size_t)ctx);
  rw.tgt = malloc(sizeof *rw.tgt * (size_t)ctx);
  rw.lp = malloc(sizeof *rw.lp * (size_t)ctx);
  prompts = malloc(sizeof *prompts * (size_t)(nprompt * plen));
  comp = malloc(sizeof *comp * (size_t)ncomp);
  line = malloc((size_t)(plen + ncomp) + 2);
  TESS_REQUIRE(rw.tok && rw.tgt && rw.lp && prompts && comp && line, TESS_ERR_MEM, "rl: %" PRId64 " prompts",
               nprompt);
  tess_ml_adamw_t o = {lr, 0.9, 0.95, 1e-8, wd};
  tess_ml_grpo_t go = {(size_t)group, (size_t)ncomp, temp, beta, 1e-6, (uint64_t)seed};
  tess_progress_t prog;
  tess_progress_start(&prog, deck, "rl", (long)steps);
  prog.first = (long)(step0 < steps ? step0 : steps);
  if (step0 >= steps && rank == 0)
    printf("rl: nothing left to do: the checkpoint is at step %" PRId64 " and the deck plans %" PRId64
           " (train.steps); reporting the checkpoint's policy\n", step0, steps);
  t0 = MPI_Wtime();
  for (int64_t k = step0; k < steps; k++) {
    draw_prompts(prompts, k, nprompt, plen, (uint64_t)seed, text, len);
    TESS_CHECK(tess_ml_gpt_grpo_step(g, ref, mesh, TESS_AXES_ALL, (size_t)nprompt, (size_t)plen, prompts, &go,
                                     reward_fn, &rw, &o, k + 1, clip, &st));
    hist[3 * k] = st.reward, hist[3 * k + 1] = st.kl, hist[3 * k + 2] = st.loss;
    if (rank == 0 && ((k + 1) % every == 0 || k + 1 == steps)) {
      double dt_ = MPI_Wtime() - t0;
      printf("rl: step %" PRId64 " reward %.17g kl %.17g loss %.17g  %.0f completion tokens/s\n", k + 1, st.reward, st.kl,
             st.loss, (double)((k + 1 - step0) * nprompt * group * ncomp) / dt_);
      fflush(stdout);
    }
    /* the safe point, as the sft study's: a signal is checkpointed here, then exit 5 */
    int due = 0, pending = 0;
    TESS_CHECK(tess_signal_pending(MPI_COMM_WORLD, &pending));
    if (!pending) TESS_CHECK(tess_checkpoint_manager_due(mgr, k + 1, &due));
    if (due || pending || k + 1 == steps) {
      TESS_CHECK(save(mgr, g, ref, mesh, deck, k + 1, (uint64_t)seed, hist, pending, cpath, sizeof cpath));
      if (rank == 0 && (due || pending)) printf("rl: checkpoint %s\n", cpath);
    }
    tess_progress_step(&prog, (long)(k + 1));
    if (pending) {
      interrupted = 1;
      break;
    }
  }
  tess_progress_end(&prog, (long)steps);
  if (interrupted) {
    if (rank == 0) printf("rl: stopped by a signal after writing a checkpoint\n");
    err = TESS_ERR_INTERRUPTED;
    goto cleanup;
  }
  double secs = MPI_Wtime() - t0;
  int64_t done = steps > step0 ? steps : step0, avg = done < 5 ? done : 5;   /* first and last `avg` steps */
  for (int64_t k = 0; k < avg; k++) {
    first_r += hist[3 * k] / (double)avg;
    last_r += hist[3 * (done - avg + k)] / (double)avg;
  }
  st.reward = hist[3 * (done - 1)], st.kl = hist[3 * (done - 1) + 1], st.loss = hist[3 * (done - 1) + 2];
  if (rank == 0) {   /* the summary and one completion of the last prompt (every rank has the same model) */
    draw_prompts(prompts, done - 1, nprompt, plen, (uint64_t)seed, text, len);
    TESS_CHECK(tess_ml_gpt_sample(g, (size_t)plen, prompts + (nprompt - 1) * plen, (size_t)ncomp, temp, (uint64_t)seed,
                                  TESS_ML_RL_STREAM(done + 1), 0, comp));
    show(line, prompts + (nprompt - 1) * plen, (size_t)plen);
    line[plen] = '>';
    show(line + plen + 1, comp, (size_t)ncomp);
    printf("rl: %d rank%s, GPT %" PRId64 "x%" PRId64 " (%" PRId64 " heads, %zu parameters, %s), %" PRId64
           " steps of %" PRId64 " prompts x %" PRId64 " completions of %" PRId64 " bytes, reward %s\n", size,
           size > 1 ? "s" : "", nl, d, nh, nparam, dt, done, nprompt, group, ncomp, kind);
    printf("rl: reward %.4f -> %.4f (mean of the first and last %" PRId64 " steps), kl %.4g, %.0f completion tokens/s, %.2f s\n",
           first_r, last_r, avg, st.kl, steps > step0 ? (double)((steps - step0) * nprompt * group * ncomp) / secs : 0.0,
           secs);
    if (cpath[0]) printf("rl: model %s\n", cpath);
    printf("rl: final reward %.17g loss %.17g\n", st.reward, st.loss);
    printf("rl: sample: %s\n", line);
    fflush(stdout);
  }
cleanup:
  tess_checkpoint_close(&rck);
  tess_checkpoint_manager_destroy(&mgr);
  free(hist);
  tess_ml_gpt_destroy(&g);
  tess_ml_gpt_destroy(&ref);
  tess_mesh_destroy(&mesh);
  free(text);
  free(prompts);
  free(comp);
  free(line);
  free(rw.tok);
  free(rw.tgt);
  free(rw.lp);
  return err;
}

const tess_study_t tess_study_rl = {"rl", &schema, run, check, 0};
