/* include/tessera/deck.h: input-deck schemas and validated decks.
 * A study declares its keys (type, default, range or choices, units, a
 * one-line description) in a tess_deck_schema_t. Loading a deck parses the
 * TOML, applies --set overrides, merges the keys common to every study, then
 * checks everything BEFORE any work starts: unknown keys (with a "did you
 * mean" suggestion), missing required keys, wrong types, values out of range
 * or not among the choices. Each message names the file, line and key and the
 * expected form. A loaded deck is read-only, with every default applied, and
 * can be written back as TOML (the effective deck: logged, checkpointed).
 * Nothing here is collective. */
#ifndef TESSERA_DECK_H
#define TESSERA_DECK_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <tessera/error.h>

typedef enum {
  TESS_KEY_INT, TESS_KEY_FLOAT, TESS_KEY_BOOL, TESS_KEY_STRING,
  TESS_KEY_INT_ARRAY, TESS_KEY_FLOAT_ARRAY, TESS_KEY_STRING_ARRAY
} tess_key_type_t;

/* One leaf key of a schema. Use designated initializers; what you leave out
 * is zero, which means: no range, any string, no units. */
typedef struct {
  const char *path;          /* dotted key path, e.g. "noise.sigma" */
  tess_key_type_t type;      /* FLOAT keys also accept TOML integers (1 -> 1.0) */
  const char *default_toml;  /* default as TOML value text ("0.1", "\"hard\"",
                                "[64, 64]"); NULL = required key */
  double min, max;           /* inclusive range for numbers (each element of a
                                numeric array); unbounded when min > max or
                                min == max == 0; one side open: -INFINITY/INFINITY */
  const char *choices;       /* strings (and string-array elements): "hard|soft";
                                NULL = any */
  const char *units;         /* "s", "m^-1", ... or NULL */
  const char *help;          /* one-line description */
} tess_deck_key_t;

typedef struct {
  const char *study;         /* the value of the deck's `study` key */
  const char *summary;       /* one line */
  const tess_deck_key_t *keys;
  size_t nkeys;
  int stateless;             /* 1: the study cannot resume from a checkpoint: the
                                checkpoint.* common keys are not part of it
                                (a deck setting one is told the key is unknown) */
} tess_deck_schema_t;

/* Keys common to all studies, defined once here and merged into every schema
 * (a study's own keys must not repeat them):
 *   study                     string, required: the study name
 *   run.seed                  int, default 1
 *   run.output_dir            string, default "out"
 *   run.progress_seconds      float, default 10 (0 = no progress lines)
 *   job.nodes, job.ntasks     int, default 1 (Slurm resources: tessera_app --emit-sbatch)
 *   job.time                  string, default "01:00:00"
 *   job.partition             string, default "" (the cluster's default)
 *   job.signal_seconds        int, default 120 (SIGUSR1 that long before the limit)
 *   comm.backend              string, default "auto" (device collectives: tess_comm_backend_parse)
 *   checkpoint.every_steps    int, default 0 (0 = off)
 *   checkpoint.every_seconds  float, default 0 (0 = off)
 *   checkpoint.keep           int, default 2
 *   checkpoint.dir            string, default "checkpoints"
 * (the checkpoint.* keys only for schemas that are not `stateless`) */
const tess_deck_key_t *tess_deck_common_keys(size_t *nkeys);

typedef struct tess_deck tess_deck_t;   /* opaque: validated, defaults and overrides applied */

/* Load and validate. The study is chosen by the deck's `study` key (after
 * overrides) among `schemas` (an unknown study gets a "did you mean" and the
 * list of known ones). `sets` are --set overrides "key.path=value" with the
 * value in TOML syntax (`noise.sigma=0.2`, `fft.backend="fftw"`,
 * `grid.n=[64,64]`); they replace deck values and are validated like them.
 * Errors: TESS_ERR_IO (missing file, directory), TESS_ERR_PARSE (bad TOML or
 * bad --set), TESS_ERR_DECK (schema violations; every one found is listed in
 * the message, first one first). On error *deck is NULL. */
tess_err_t tess_deck_load(const char *path, const char *const *sets, size_t nsets,
                          const tess_deck_schema_t *const *schemas, size_t nschemas,
                          tess_deck_t **deck);
/* Same from text already in memory (e.g. read by rank 0 and broadcast);
 * `name` is used as the file name in messages. */
tess_err_t tess_deck_load_string(const char *text, size_t len, const char *name,
                                 const char *const *sets, size_t nsets,
                                 const tess_deck_schema_t *const *schemas, size_t nschemas,
                                 tess_deck_t **deck);
/* Safe on NULL; sets *deck to NULL. */
void tess_deck_destroy(tess_deck_t **deck);

/* Typed reads of schema keys (defaults applied, so a schema key is always
 * there). A path not in the schema, or of another type, is a programming
 * error: TESS_ERR_ARG naming the key. Strings point into the deck. */
tess_err_t tess_deck_get_int(const tess_deck_t *deck, const char *path, int64_t *out);
tess_err_t tess_deck_get_double(const tess_deck_t *deck, const char *path, double *out);
tess_err_t tess_deck_get_bool(const tess_deck_t *deck, const char *path, int *out);
tess_err_t tess_deck_get_string(const tess_deck_t *deck, const char *path, const char **out);
/* Arrays: copies up to `max` items into out and sets *n to the array length;
 * a longer array is TESS_ERR_DECK naming file, line and key (so a study can
 * pass its capacity as the limit). */
tess_err_t tess_deck_get_int_array(const tess_deck_t *deck, const char *path,
                                   int64_t *out, size_t max, size_t *n);
tess_err_t tess_deck_get_double_array(const tess_deck_t *deck, const char *path,
                                      double *out, size_t max, size_t *n);
tess_err_t tess_deck_get_string_array(const tess_deck_t *deck, const char *path,
                                      const char **out, size_t max, size_t *n);

/* A study's own cross-key check failed: pushes TESS_ERR_DECK with
 * "FILE:LINE: key 'PATH': <message>" (LINE of the value, or "(default)"),
 * and returns TESS_ERR_DECK. Use inside TESS_CHECK. */
tess_err_t tess_deck_key_error(const tess_deck_t *deck, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The effective deck as TOML text: every schema key, defaults filled in,
 * overrides applied, grouped in tables, in schema order. Parsing it back
 * gives the same deck. Owned by the deck. */
const char *tess_deck_text(const tess_deck_t *deck);
/* The file the deck came from (the `name` for tess_deck_load_string). */
const char *tess_deck_path(const tess_deck_t *deck);
/* The study name and the schema it was validated against. */
const char *tess_deck_study(const tess_deck_t *deck);
const tess_deck_schema_t *tess_deck_schema(const tess_deck_t *deck);
/* 1 if the key was given in the deck or by --set, 0 if its default applies. */
int tess_deck_is_set(const tess_deck_t *deck, const char *path);

/* Reference of a schema (common keys included): plain text, or Markdown
 * (one table per study) when markdown != 0. */
tess_err_t tess_deck_schema_print(FILE *fp, const tess_deck_schema_t *schema, int markdown);
TESS_API_END
#endif
