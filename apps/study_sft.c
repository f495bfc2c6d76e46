/* apps/study_sft.c: `study = "sft"`, supervised next-token training of the
 * host GPT model (tessera/ml_gpt.h) on a text file, byte tokens
 * (vocabulary 256) or byte-level BPE (data.tokenizer = "bpe": merges learned
 * from the text, or read from data.bpe_file; tessera/ml_bpe.h). Each step
 * takes train.batch windows of seq_len + 1 tokens at offsets drawn from the
 * counter-based RNG keyed by (seed, step, window), data-parallel over the ranks with the tree-summed gradient: the
 * loss trajectory is bitwise the same at any rank count. Prints the loss
 * every report.every steps, tokens/s, and a sample continuation drawn with
 * the same RNG (temperature sample.temperature; 0: greedy).
 * Checkpoints (checkpoint.*, as the pinn study spells them): the model's
 * parameters and AdamW moments (tess_ml_gpt_checkpoint_write) with the step
 * in the run metadata; the batches are keyed by the step, not drawn from a
 * stream, so --restart / --resume continue the same loss trajectory bitwise,
 * on any rank count. Not yet: GPU. */
#include <tessera/tessera.h>
#include "study.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tess_deck_key_t keys[] = {
  {.path = "data.text", .type = TESS_KEY_STRING, .default_toml = "\"/usr/share/common-licenses/GPL-3\"",
   .help = "text file to train on"},
  {.path = "data.tokenizer", .type = TESS_KEY_STRING, .default_toml = "\"bytes\"", .choices = "bytes|bpe",
   .help = "bytes: the 256 byte values are the tokens; bpe: byte-level BPE (tessera/ml_bpe.h)"},
  {.path = "data.bpe_merges", .type = TESS_KEY_INT, .default_toml = "256", .min = 0, .max = TESS_ML_BPE_MAX_TRAIN,
   .help = "bpe: merges learned from data.text (when data.bpe_file is empty); vocabulary 256 + merges"},
  {.path = "data.bpe_file", .type = TESS_KEY_STRING, .default_toml = "\"\"",
   .help = "bpe: a merges file to use instead of learning them ('#tessera-bpe 1', then 'a b' per line)"},
  {.path = "model.d_model", .type = TESS_KEY_INT, .default_toml = "64", .min = 1, .max = 65536,
   .help = "width of the residual stream (a multiple of model.n_head)"},
  {.path = "model.n_layer", .type = TESS_KEY_INT, .default_toml = "2", .min = 1, .max = 1024,
   .help = "transformer blocks"},
  {.path = "model.n_head", .type = TESS_KEY_INT, .default_toml = "4", .min = 1, .max = 1024,
   .help = "attention heads"},
  {.path = "model.dtype", .type = TESS_KEY_STRING, .default_toml = "\"f32\"", .choices = "f32|f64",
   .help = "parameter and activation storage (arithmetic in double)"},
  {.path = "train.steps", .type = TESS_KEY_INT, .default_toml = "200", .min = 1, .max = 1e9,
   .help = "AdamW steps"},
  {.path = "train.batch", .type = TESS_KEY_INT, .default_toml = "8", .min = 1, .max = 1e6,
   .help = "sequences per step (global: split over the ranks)"},
  {.path = "train.seq_len", .type = TESS_KEY_INT, .default_toml = "64", .min = 1, .max = 65536,
   .help = "tokens per sequence (also the model's context)"},
  {.path = "train.lr", .type = TESS_KEY_FLOAT, .default_toml = "3e-3", .min = 0, .max = 10,
   .help = "AdamW learning rate"},
  {.path = "train.weight_decay", .type = TESS_KEY_FLOAT, .default_toml = "0.01", .min = 0, .max = 10,
   .help = "AdamW decoupled weight decay"},
  {.path = "train.clip", .type = TESS_KEY_FLOAT, .default_toml = "1.0", .min = 0, .max = 1e9,
   .help = "global gradient-norm clip (0: none)"},
  {.path = "train.seed", .type = TESS_KEY_INT, .default_toml = "1", .min = 0, .max = 9e15,
   .help = "seed of the initialisation, the batches and the sample"},
  {.path = "sample.tokens", .type = TESS_KEY_INT, .default_toml = "80", .min = 0, .max = 1e6,
   .help = "tokens to generate after training (bytes with data.tokenizer = \"bytes\"; 0: no sample)"},
  {.path = "sample.prompt", .type = TESS_KEY_STRING, .default_toml = "\"The \"",
   .help = "text the sample continues"},
  {.path = "sample.temperature", .type = TESS_KEY_FLOAT, .default_toml = "0.8", .min = 0, .max = 100,
   .help = "sampling temperature (0: greedy)"},
  {.path = "report.every", .type = TESS_KEY_INT, .default_toml = "10", .min = 1, .max = 1e9,
   .help = "print the loss every this many steps (and at the last)"},
};

static const tess_deck_schema_t schema = {
  .study = "sft",
  .summary = "Trains a small GPT on a text file (byte tokens), data-parallel, bitwise the same at any rank count.",
  .keys = keys,
  .nkeys = sizeof keys / sizeof keys[0],
  .stateless = 0,   /* resumes: --restart, --resume, checkpoint.* */
};

static tess_err_t check(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  int64_t d, h;
  const char *prompt;
  TESS_CHECK(tess_deck_get_int(deck, "model.d_model", &d));
  TESS_CHECK(tess_deck_get_int(deck, "model.n_head", &h));
  if (d % h)
    TESS_CHECK(tess_deck_key_error(deck, "model.d_model", "%" PRId64 " is not a multiple of model.n_head = %" PRId64,
                                   d, h));
  TESS_CHECK(tess_deck_get_string(deck, "sample.prompt", &prompt));
  if (!prompt[0]) TESS_CHECK(tess_deck_key_error(deck, "sample.prompt", "is empty (give at least one byte)"));
cleanup:
  return err;
}

static int sample_next(const double *logit, size_t v, double temp, uint64_t seed, uint64_t i)
{
  size_t best = 0;
  for (size_t j = 1; j < v; j++)
    if (logit[j] > logit[best]) best = j;
  if (temp <= 0) return (int)best;
  double s = 0, u = tess_rng_uniform(seed, 0x5A3, i), acc = 0;
  for (size_t j = 0; j < v; j++) s += exp((logit[j] - logit[best]) / temp);
  for (size_t j = 0; j < v; j++) {
    acc += exp((logit[j] - logit[best]) / temp) / s;
    if (u < acc) return (int)j;
  }
  return (int)best;
}

/* The model and its optimizer state after `step` steps, and the losses of
 * the first and the last step (so a resumed run prints the same summary). */
static tess_err_t save(tess_checkpoint_manager_t *mgr, tess_ml_gpt_t *g, tess_mesh_t *mesh, const tess_deck_t *deck,
                       int64_t step, uint64_t seed, double first, double last, int on_signal, char *path,
                       size_t cap)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta = {.study = "sft", .deck_text = tess_deck_text(deck), .step = step, .rng_seed = seed};
  TESS_CHECK(tess_checkpoint_manager_begin(mgr, step, &ck));
  snprintf(path, cap, "%s", tess_checkpoint_path(ck));
  if (on_signal) tess_study_checkpoint_note(path, 0);
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "sft_first_loss", first));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "sft_last_loss", last));
  TESS_CHECK(tess_ml_gpt_checkpoint_write(g, mesh, ck, "gpt"));
  TESS_CHECK(tess_checkpoint_commit(&ck));
  if (on_signal) tess_study_checkpoint_note(path, 1);
cleanup:
  tess_checkpoint_close(&ck);
  return err;
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1;
  int64_t d, nl, nh, steps, batch, S, seed, ntok, every;
  double lr, wd, clip, temp, loss = 0, first = 0, t0;
  const char *path, *dt, *prompt, *tkz, *bfile;
  unsigned char *text = NULL;
  size_t len = 0, nparam = 0, V = 256, ntext = 0;   /* vocabulary; tokens of the text */
  int64_t nmerge;
  tess_ml_bpe_t *bpe = NULL;
  int32_t *tok = NULL;   /* bpe: the text's ids */
  int32_t *seqs = NULL, *ctx = NULL;
  double *logit = NULL;
  char *out = NULL;
  tess_ml_gpt_t *g = NULL;
  tess_mesh_t *mesh = NULL;
  tess_checkpoint_manager_t *mgr = NULL;
  tess_checkpoint_t *rck = NULL;
  tess_checkpoint_policy_t pol = {.prefix = "sft"};
  int64_t step0 = 0, keep = 2;
  int interrupted = 0;
  static char latest[4096], cpath[4096];   /* --resume's file; the last checkpoint written */
  const char *restart = opts->restart;
  TESS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  TESS_CHECK(tess_deck_get_string(deck, "data.text", &path));
  TESS_CHECK(tess_deck_get_string(deck, "data.tokenizer", &tkz));
  TESS_CHECK(tess_deck_get_int(deck, "data.bpe_merges", &nmerge));
  TESS_CHECK(tess_deck_get_string(deck, "data.bpe_file", &bfile));
  TESS_CHECK(tess_deck_get_int(deck, "model.d_model", &d));
  TESS_CHECK(tess_deck_get_int(deck, "model.n_layer", &nl));
  TESS_CHECK(tess_deck_get_int(deck, "model.n_head", &nh));
  TESS_CHECK(tess_deck_get_string(deck, "model.dtype", &dt));
  TESS_CHECK(tess_deck_get_int(deck, "train.steps", &steps));
  TESS_CHECK(tess_deck_get_int(deck, "train.batch", &batch));
  TESS_CHECK(tess_deck_get_int(deck, "train.seq_len", &S));
  TESS_CHECK(tess_deck_get_double(deck, "train.lr", &lr));
  TESS_CHECK(tess_deck_get_double(deck, "train.weight_decay", &wd));
  TESS_CHECK(tess_deck_get_double(deck, "train.clip", &clip));
  TESS_CHECK(tess_deck_get_int(deck, "train.seed", &seed));
  TESS_CHECK(tess_deck_get_int(deck, "sample.tokens", &ntok));
  TESS_CHECK(tess_deck_get_string(deck, "sample.prompt", &prompt));
  TESS_CHECK(tess_deck_get_double(deck, "sample.temperature", &temp));
  TESS_CHECK(tess_deck_get_int(deck, "report.every", &every));
  TESS_CHECK(tess_deck_get_int(deck, "checkpoint.every_steps", &pol.every_steps));
  TESS_CHECK(tess_deck_get_double(deck, "checkpoint.every_seconds", &pol.every_seconds));
  TESS_CHECK(tess_deck_get_int(deck, "checkpoint.keep", &keep));
  TESS_CHECK(tess_deck_get_string(deck, "checkpoint.dir", &pol.dir));
  pol.keep = (int)keep;
  const int use_bpe = strcmp(tkz, "bpe") == 0;
  const char *unit = use_bpe ? "tokens" : "bytes";
  if (use_bpe) {   /* the vocabulary sizes the model: the text is tokenized first (every rank: the same ids) */
    TESS_CHECK(tess_study_read_text(deck, "data.text", &text, &len));
    if (bfile[0]) TESS_CHECK(tess_ml_bpe_load(bfile, &bpe));
    else TESS_CHECK(tess_ml_bpe_train(text, len, (size_t)nmerge, &bpe));
    TESS_CHECK(tess_ml_bpe_vocab(bpe, &V));
    tok = malloc(sizeof *tok * (len ? len : 1));
    TESS_REQUIRE(tok != NULL, TESS_ERR_MEM, "sft: the ids of %zu bytes", len);
    TESS_CHECK(tess_ml_bpe_encode(bpe, text, len, tok, len, &ntext));
  }
  tess_ml_gpt_config_t c = {V, (size_t)S, (size_t)d, (size_t)nl, (size_t)nh};
  tess_dtype_t t = strcmp(dt, "f64") == 0 ? TESS_F64 : TESS_F32;
  TESS_CHECK(tess_ml_gpt_create(&c, t, (uint64_t)seed, &g));
  TESS_CHECK(tess_ml_gpt_params(g, &nparam, NULL, NULL));
  if (opts->dry_run) {
    if (rank == 0)
      printf("planned work: GPT %" PRId64 " layers x %" PRId64 " wide, %" PRId64 " heads, %zu parameters (%s), "
             "vocabulary %zu; %" PRId64 " steps of %" PRId64 " sequences x %" PRId64 " %s of '%s' over %d rank%s\n",
             nl, d, nh, nparam, dt, V, steps, batch, S, unit, path, size, size > 1 ? "s" : "");
    goto cleanup;
  }
  if (!use_bpe) {
    TESS_CHECK(tess_study_read_text(deck, "data.text", &text, &len));
    ntext = len;
  }
  if (ntext < (size_t)S + 2)
    TESS_CHECK(tess_deck_key_error(deck, "data.text", "'%s' has %zu %s, fewer than train.seq_len + 2 = %" PRId64,
                                   path, ntext, unit, S + 2));
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, (const char *[]){"dp"}, (int[]){size}, &mesh));
  if (opts->resume) {
    int found = 0;
    TESS_CHECK(tess_study_find_resume("sft", &pol, latest, sizeof latest, &found));
    if (found) restart = latest;
  }
  if (restart) {   /* the model, its moments and the step; the batches follow from the step */
    tess_checkpoint_meta_t meta;
    TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, restart, &rck));
    TESS_CHECK(tess_checkpoint_check_study(rck, "sft"));
    TESS_CHECK(tess_checkpoint_get_meta(rck, &meta));
    TESS_CHECK(tess_ml_gpt_checkpoint_read(g, mesh, rck, "gpt"));
    TESS_CHECK(tess_checkpoint_get_attr_double(rck, "sft_first_loss", &first));
    TESS_CHECK(tess_checkpoint_get_attr_double(rck, "sft_last_loss", &loss));
    step0 = meta.step;
    tess_checkpoint_close(&rck);
    if (rank == 0) printf("sft: restarted from %s at step %" PRId64 " on %d rank%s\n", restart, step0, size,
                          size > 1 ? "s" : "");
  }
  TESS_CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, &mgr));
  TESS_CHECK(tess_signal_install());
  seqs = malloc(sizeof *seqs * (size_t)(batch * (S + 1)));
  TESS_REQUIRE(seqs != NULL, TESS_ERR_MEM, "sft: batch of %" PRId64 " x %" PRId64, batch, S + 1);
  tess_ml_adamw_t o = {lr, 0.9, 0.95, 1e-8, wd};
  tess_progress_t prog;
  tess_progress_start(&prog, deck, "sft", (long)steps);
  prog.first = (long)(step0 < steps ? step0 : steps);
  if (step0 >= steps && rank == 0)
    printf("sft: nothing left to do: the checkpoint is at step %" PRId64 " and the deck plans %" PRId64
           " (train.steps); reporting the checkpoint's model\n", step0, steps);
  t0 = MPI_Wtime();
  for (int64_t k = step0; k < steps; k++) {
    for (int64_t q = 0; q < batch; q++) {
      size_t at = (size_t)(tess_rng_u64((uint64_t)seed, 0xDA7A, (uint64_t)(k * batch + q)) % (ntext - (size_t)S - 1));
      for (int64_t i = 0; i <= S; i++) seqs[q * (S + 1) + i] = use_bpe ? tok[at + (size_t)i] : text[at + (size_t)i];
    }
    TESS_CHECK(tess_ml_gpt_train_step(g, mesh, TESS_AXES_ALL, (size_t)batch, (size_t)S, seqs, &o, k + 1, clip, &loss));
    if (k == 0) first = loss;
    if (rank == 0 && ((k + 1) % every == 0 || k + 1 == steps)) {
      double dt_ = MPI_Wtime() - t0;
      printf("sft: step %" PRId64 " loss %.17g  %.0f tokens/s\n", k + 1, loss,
             (double)((k + 1 - step0) * batch * S) / dt_);
      fflush(stdout);
    }
    /* The safe point, once per step, as the pinn study's: a signal seen
     * here is checkpointed here, then the run stops (exit 5). The last step
     * is always kept, so a longer train.steps continues it. */
    int due = 0, pending = 0;
    TESS_CHECK(tess_signal_pending(MPI_COMM_WORLD, &pending));
    if (!pending) TESS_CHECK(tess_checkpoint_manager_due(mgr, k + 1, &due));
    if (due || pending || k + 1 == steps) {
      TESS_CHECK(save(mgr, g, mesh, deck, k + 1, (uint64_t)seed, first, loss, pending, cpath, sizeof cpath));
      if (rank == 0 && (due || pending)) printf("sft: checkpoint %s\n", cpath);
    }
    tess_progress_step(&prog, (long)(k + 1));
    if (pending) {
      interrupted = 1;
      break;
    }
  }
  tess_progress_end(&prog, (long)steps);
  if (interrupted) {
    if (rank == 0) printf("sft: stopped by a signal after writing a checkpoint\n");
    err = TESS_ERR_INTERRUPTED;
    goto cleanup;
  }
  double secs = MPI_Wtime() - t0;
  if (rank == 0) {   /* the summary and a sample (every rank's model has the same bits) */
    size_t np = strlen(prompt), cap = np + (size_t)ntok, nout = cap;
    ctx = malloc(sizeof *ctx * (cap ? cap : 1));
    logit = malloc(sizeof *logit * V);
    TESS_REQUIRE(ctx && logit, TESS_ERR_MEM, "sft: sample of %zu tokens", cap);
    if (use_bpe) TESS_CHECK(tess_ml_bpe_encode(bpe, (const unsigned char *)prompt, np, ctx, np, &np));
    else for (size_t i = 0; i < np; i++) ctx[i] = (unsigned char)prompt[i];
    cap = np + (size_t)ntok;
    for (size_t i = np; i < cap; i++) {
      size_t w = i < (size_t)S ? i : (size_t)S, s0 = i - w;
      TESS_CHECK(tess_ml_gpt_next_logits(g, w, ctx + s0, logit));
      ctx[i] = sample_next(logit, V, temp, (uint64_t)seed, i);
    }
    if (use_bpe) TESS_CHECK(tess_ml_bpe_decode(bpe, ctx, cap, NULL, 0, &nout));
    out = malloc(nout + 1);
    TESS_REQUIRE(out != NULL, TESS_ERR_MEM, "sft: sample of %zu bytes", nout);
    if (use_bpe) {
      TESS_CHECK(tess_ml_bpe_decode(bpe, ctx, cap, (unsigned char *)out, nout, &nout));
    } else {
      for (size_t i = 0; i < cap; i++) out[i] = (char)ctx[i];
    }
    for (size_t i = 0; i < nout; i++) {
      int ch = (unsigned char)out[i];
      out[i] = (char)(ch == '\n' ? '|' : isprint(ch) ? ch : '.');   /* one line: newlines as | */
    }
    out[nout] = 0;
    printf("sft: %d rank%s, GPT %" PRId64 "x%" PRId64 " (%" PRId64 " heads, %zu parameters, %s), %" PRId64
           " steps of %" PRId64 "x%" PRId64 " %s of %s\n", size, size > 1 ? "s" : "", nl, d, nh, nparam, dt, steps,
           batch, S, unit, path);
    if (use_bpe)
      printf("sft: byte-level BPE, vocabulary %zu (%s), %zu bytes -> %zu tokens\n", V,
             bfile[0] ? bfile : "merges learned from the text", len, ntext);
    printf("sft: loss %.4f -> %.4f (ln %zu = %.4f), %.0f tokens/s, %.2f s\n", first, loss, V, log((double)V),
           steps > step0 ? (double)((steps - step0) * batch * S) / secs : 0.0, secs);
    if (cpath[0]) printf("sft: model %s\n", cpath);
    printf("sft: final loss %.17g\n", loss);
    printf("sft: sample: %s\n", out);
    fflush(stdout);
  }
cleanup:
  tess_checkpoint_close(&rck);
  tess_checkpoint_manager_destroy(&mgr);
  tess_ml_gpt_destroy(&g);
  tess_mesh_destroy(&mesh);
  free(text);
  free(tok);
  tess_ml_bpe_destroy(&bpe);
  free(seqs);
  free(ctx);
  free(logit);
  free(out);
  return err;
}

const tess_study_t tess_study_sft = {"sft", &schema, run, check, 0};
