/* src/deck_schema.c: the keys every study has, and schemas as documents.
 * Common keys are defined here once and merged into each study's schema at
 * load time, so a study file lists only its own keys. The same tables print
 * the --help-deck reference and docs/decks.md, so the docs cannot drift from
 * what the validator accepts. */
#include "deck_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const tess_deck_key_t common_keys[] = {
  {.path = "study", .type = TESS_KEY_STRING, .default_toml = NULL,
   .help = "which study to run (see tessera_app --help-deck all)"},
  {.path = "run.seed", .type = TESS_KEY_INT, .default_toml = "1", .min = 0, .max = 9.2e18,
   .help = "seed of the counter-based RNG: same seed, same results at any rank count"},
  {.path = "run.output_dir", .type = TESS_KEY_STRING, .default_toml = "\"out\"",
   .help = "folder for results (created if missing)"},
  {.path = "run.progress_seconds", .type = TESS_KEY_FLOAT, .default_toml = "10", .min = 0, .max = INFINITY,
   .units = "s", .help = "interval between progress lines (step, rate, ETA); 0 = none"},
  {.path = "job.nodes", .type = TESS_KEY_INT, .default_toml = "1", .min = 1, .max = 1e6,
   .help = "Slurm: nodes (tessera_app --emit-sbatch)"},
  {.path = "job.ntasks", .type = TESS_KEY_INT, .default_toml = "1", .min = 1, .max = 1e8,
   .help = "Slurm: MPI ranks in all (tessera_app --emit-sbatch)"},
  {.path = "job.time", .type = TESS_KEY_STRING, .default_toml = "\"01:00:00\"",
   .help = "Slurm: time limit, as sbatch takes it: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"},
  {.path = "job.partition", .type = TESS_KEY_STRING, .default_toml = "\"\"",
   .help = "Slurm: partition; \"\" = the cluster's default"},
  {.path = "job.signal_seconds", .type = TESS_KEY_INT, .default_toml = "120", .min = 10, .max = 86400,
   .units = "s", .help = "Slurm: SIGUSR1 this long before the time limit, so the run checkpoints and stops"},
  {.path = "comm.backend", .type = TESS_KEY_STRING, .default_toml = "\"auto\"",
   .choices = "auto|nccl|cuda-aware-mpi|host-staged|host-mpi",
   .help = "collectives on device memory: auto = NCCL where each rank has its own GPU, else "
           "CUDA-aware MPI if the MPI says so, else host staging; host memory always uses host MPI"},
  {.path = "checkpoint.every_steps", .type = TESS_KEY_INT, .default_toml = "0", .min = 0, .max = 9.2e18,
   .help = "write a checkpoint every this many steps; 0 = off"},
  {.path = "checkpoint.every_seconds", .type = TESS_KEY_FLOAT, .default_toml = "0", .min = 0, .max = INFINITY,
   .units = "s", .help = "write a checkpoint every this many seconds of wall time; 0 = off"},
  {.path = "checkpoint.keep", .type = TESS_KEY_INT, .default_toml = "2", .min = 1, .max = 1000,
   .help = "how many recent checkpoints to keep"},
  {.path = "checkpoint.dir", .type = TESS_KEY_STRING, .default_toml = "\"checkpoints\"",
   .help = "folder for checkpoint files"},
};

const tess_deck_key_t *tess_deck_common_keys(size_t *nkeys)
{
  if (nkeys) *nkeys = sizeof common_keys / sizeof common_keys[0];
  return common_keys;
}

int deck_key_is_number(tess_key_type_t t)
{
  return t == TESS_KEY_INT || t == TESS_KEY_FLOAT || t == TESS_KEY_INT_ARRAY || t == TESS_KEY_FLOAT_ARRAY;
}

const char *deck_type_name(tess_key_type_t t)
{
  switch (t) {
  case TESS_KEY_INT: return "integer";
  case TESS_KEY_FLOAT: return "float";
  case TESS_KEY_BOOL: return "boolean";
  case TESS_KEY_STRING: return "string";
  case TESS_KEY_INT_ARRAY: return "array of integers";
  case TESS_KEY_FLOAT_ARRAY: return "array of floats";
  case TESS_KEY_STRING_ARRAY: return "array of strings";
  }
  return "unknown";
}

int deck_has_range(const tess_deck_key_t *k)
{
  return deck_key_is_number(k->type) && !(k->min > k->max) && !(k->min == 0 && k->max == 0);
}

const char *deck_range_text(const tess_deck_key_t *k, char *buf, size_t cap)
{
  buf[0] = '\0';
  if (!deck_has_range(k)) return buf;
  int lo = isfinite(k->min) && k->min > -9e18, hi = isfinite(k->max) && k->max < 9e18;
  if (lo && hi) snprintf(buf, cap, "%.15g <= x <= %.15g", k->min, k->max);
  else if (lo) snprintf(buf, cap, "x >= %.15g", k->min);
  else if (hi) snprintf(buf, cap, "x <= %.15g", k->max);
  return buf;
}

static int is_prefix_path(const char *pre, const char *path)
{
  size_t n = strlen(pre);
  return strncmp(pre, path, n) == 0 && path[n] == '.';
}

tess_err_t deck_merge_keys(const tess_deck_schema_t *s, const tess_deck_key_t ***out, size_t *nout)
{
  tess_err_t err = TESS_OK;
  size_t nc = 0, n = 0;
  const tess_deck_key_t *common = tess_deck_common_keys(&nc);
  const tess_deck_key_t **k = NULL;
  *out = NULL;
  TESS_REQUIRE(s && (s->keys || s->nkeys == 0) && s->study, TESS_ERR_ARG, "schema without study name or keys");
  k = malloc((s->nkeys + nc) * sizeof *k);
  TESS_REQUIRE(k, TESS_ERR_MEM, "schema");
  for (size_t i = 0; i < nc; i++)
    if (!s->stateless || !is_prefix_path("checkpoint", common[i].path)) k[n++] = &common[i];
  for (size_t i = 0; i < s->nkeys; i++) k[n++] = &s->keys[i];
  /* The schema is code: mistakes in it are Tessera bugs, reported as such. */
  for (size_t i = 0; i < n; i++) {
    TESS_REQUIRE(k[i]->path && k[i]->path[0] && k[i]->help, TESS_ERR_INTERNAL,
                 "schema '%s': key %zu has no path or help", s->study, i);
    TESS_REQUIRE(strspn(k[i]->path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                 strlen(k[i]->path) && k[i]->path[0] != '.' && !strstr(k[i]->path, "..") &&
                 k[i]->path[strlen(k[i]->path) - 1] != '.', TESS_ERR_INTERNAL,
                 "schema '%s': key path '%s' must be bare TOML keys joined by '.'", s->study, k[i]->path);
    for (size_t j = 0; j < i; j++) {
      TESS_REQUIRE(strcmp(k[i]->path, k[j]->path) != 0, TESS_ERR_INTERNAL,
                   "schema '%s': key '%s' declared twice%s", s->study, k[i]->path,
                   j < nc ? " (it is a common key, defined by the deck code)" : "");
      TESS_REQUIRE(!is_prefix_path(k[i]->path, k[j]->path) && !is_prefix_path(k[j]->path, k[i]->path),
                   TESS_ERR_INTERNAL, "schema '%s': '%s' and '%s' make one key both a value and a table",
                   s->study, k[j]->path, k[i]->path);
    }
  }
  *out = k;
  *nout = n;
  k = NULL;
cleanup:
  free(k);
  return err;
}

static void print_key(FILE *fp, const tess_deck_key_t *k, int markdown)
{
  char range[96];
  const char *allowed = k->choices ? k->choices : deck_range_text(k, range, sizeof range);
  const char *def = k->default_toml ? k->default_toml : "(required)";
  if (markdown) {
    fprintf(fp, "| `%s` | %s | %s%s%s | ", k->path, deck_type_name(k->type), k->default_toml ? "`" : "",
            def, k->default_toml ? "`" : "");
    if (k->choices) {
      fputc('`', fp);
      for (const char *c = k->choices; *c; c++) {
        if (*c == '|') fputs("` \\| `", fp);
        else fputc(*c, fp);
      }
      fputc('`', fp);
    } else {
      fputs(allowed, fp);
    }
    fprintf(fp, " | %s | %s |\n", k->units ? k->units : "", k->help);
  } else {
    fprintf(fp, "  %-28s %-17s default %s", k->path, deck_type_name(k->type), def);
    if (allowed[0]) fprintf(fp, "; %s%s", k->choices ? "one of " : "", allowed);
    if (k->units) fprintf(fp, " [%s]", k->units);
    fprintf(fp, "\n      %s\n", k->help);
  }
}

tess_err_t tess_deck_schema_print(FILE *fp, const tess_deck_schema_t *schema, int markdown)
{
  tess_err_t err = TESS_OK;
  size_t n = 0;
  const tess_deck_key_t *keys;
  TESS_REQUIRE(fp, TESS_ERR_ARG, "NULL stream");
  if (schema) {
    keys = schema->keys;
    n = schema->nkeys;
    if (markdown) fprintf(fp, "## Study `%s`\n\n%s\n\n", schema->study, schema->summary ? schema->summary : "");
    else fprintf(fp, "study \"%s\": %s\nkeys (plus the common keys%s, see --help-deck common):\n", schema->study,
                 schema->summary ? schema->summary : "",
                 schema->stateless ? " but checkpoint.*: this study cannot resume, --restart is refused" : "");
    if (markdown && schema->stateless)
      fputs("This study cannot resume from a checkpoint: it refuses `--restart` and has no `checkpoint.*` "
            "keys.\n\n", fp);
  } else {
    keys = tess_deck_common_keys(&n);
    if (markdown) fputs("## Keys common to every study\n\n`checkpoint.*`: only studies that can resume "
                        "(`--restart`).\n\n", fp);
    else fputs("keys common to every study (checkpoint.*: only studies that can resume, --restart):\n", fp);
  }
  if (markdown) {
    fputs("| key | type | default | allowed | units | description |\n", fp);
    fputs("|-----|------|---------|---------|-------|-------------|\n", fp);
  }
  for (size_t i = 0; i < n; i++) print_key(fp, &keys[i], markdown);
  fputc('\n', fp);
cleanup:
  return err;
}
