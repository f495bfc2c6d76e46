/* src/deck_internal.h: shared by the deck_*.c files only.
 *   deck_schema.c   the common keys, merging them into a study's schema,
 *                   schema sanity checks, the printed reference
 *   deck_suggest.c  "did you mean": edit distance over key names and choices
 *   deck.c          loading, --set overrides, validation, typed getters
 *   deck_text.c     the effective deck written back as TOML */
#ifndef TESS_DECK_INTERNAL_H
#define TESS_DECK_INTERNAL_H
#include <tessera/deck.h>
#include <tessera/toml.h>

/* Where a key's value came from. */
enum { DECK_FROM_DEFAULT = 0, DECK_FROM_FILE = 1, DECK_FROM_SET = 2 };

typedef struct {
  const tess_deck_key_t *key;
  const tess_toml_value_t *val;   /* borrowed from one of the deck's documents */
  int from;
  int line;                       /* in the deck file (DECK_FROM_FILE) */
  const char *set_text;           /* the --set argument (DECK_FROM_SET) */
} deck_entry_t;

struct tess_deck {
  char *path, *study, *text;
  const tess_deck_schema_t *schema;
  deck_entry_t *e;
  size_t n;
  tess_toml_doc_t **docs;         /* file, --set and default documents, owned */
  size_t ndocs;
};

/* The schema's keys followed by the common ones: *keys is malloc'd (pointers
 * into static schema storage). Checks the schema for programming errors. */
tess_err_t deck_merge_keys(const tess_deck_schema_t *s, const tess_deck_key_t ***keys, size_t *n);
int deck_key_is_number(tess_key_type_t t);
const char *deck_type_name(tess_key_type_t t);
int deck_has_range(const tess_deck_key_t *k);
/* "0 <= x <= 10", ">= 1", ... into buf. */
const char *deck_range_text(const tess_deck_key_t *k, char *buf, size_t cap);

/* Closest candidate to `word` within a sensible distance, or NULL. */
const char *deck_suggest(const char *word, const char *const *cands, size_t n);
/* Same over '|'-separated choices; writes the match into buf. */
const char *deck_suggest_choice(const char *word, const char *choices, char *buf, size_t cap);
int deck_choice_ok(const char *word, const char *choices);

/* Write v as TOML value text. */
tess_err_t deck_value_text(const tess_toml_value_t *v, char **out, size_t *len, size_t *cap);
tess_err_t deck_build_text(tess_deck_t *d);
#endif
