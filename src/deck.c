/* src/deck.c: loading and validating input decks.
 * Order: parse the file; parse each --set (a one-line TOML key/value, so it
 * has exactly TOML's value syntax); pick the study's schema from `study`;
 * match every leaf of the file and of the overrides to a schema key; fill
 * defaults; check types, ranges and choices. Every problem found is
 * reported (one error frame each, the first one first, at most MAX_PROBLEMS)
 * so a user fixes a deck in one round, not one error per run. */
#include "deck_internal.h"
#include "toml_internal.h"   /* toml_read_file */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROBLEMS 20

typedef struct {
  tess_deck_t *d;
  const tess_deck_key_t **keys;
  size_t nkeys;
  int nproblems;
} ctx_t;

static void problem(ctx_t *x, const char *where, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void problem(ctx_t *x, const char *where, int line, const char *fmt, ...)
{
  char msg[400], loc[160];
  if (++x->nproblems > MAX_PROBLEMS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0) snprintf(loc, sizeof loc, "%s:%d", where, line);
  else snprintf(loc, sizeof loc, "%s", where);
  tess_error_push(TESS_ERR_DECK, __FILE__, __LINE__, "tess_deck_load", "%s: %s", loc, msg);
}

static tess_err_t keep_doc(tess_deck_t *d, tess_toml_doc_t *doc)
{
  tess_toml_doc_t **p = realloc(d->docs, (d->ndocs + 1) * sizeof *p);
  if (!p) {
    tess_toml_doc_destroy(&doc);
    return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "deck");
  }
  d->docs = p;
  d->docs[d->ndocs++] = doc;
  return TESS_OK;
}

static long key_index(const ctx_t *x, const char *path)
{
  for (size_t i = 0; i < x->nkeys; i++)
    if (strcmp(x->keys[i]->path, path) == 0) return (long)i;
  return -1;
}

static int is_table_prefix(const ctx_t *x, const char *path)
{
  size_t n = strlen(path);
  for (size_t i = 0; i < x->nkeys; i++)
    if (strncmp(x->keys[i]->path, path, n) == 0 && x->keys[i]->path[n] == '.') return 1;
  return 0;
}

/* A short rendering of a value for messages. */
static const char *show(const tess_toml_value_t *v, char *buf, size_t cap)
{
  char *o = NULL;
  size_t l = 0, c = 0;
  buf[0] = '\0';
  if (deck_value_text(v, &o, &l, &c) == TESS_OK && o)
    snprintf(buf, cap, "%s %.60s%s", tess_toml_type_name(tess_toml_type(v)), o, l > 60 ? "..." : "");
  else
    tess_error_clear();
  free(o);
  return buf;
}

/* "integer 11" -> "11" */
static const char *value_only(const char *shown)
{
  const char *sp = strrchr(shown, ' ');
  return shown[0] && strncmp(shown, "string ", 7) != 0 && sp ? sp + 1
       : strncmp(shown, "string ", 7) == 0 ? shown + 7 : shown;
}

static void unknown_key(ctx_t *x, const char *where, int line, const char *path)
{
  const char **names = malloc(x->nkeys * sizeof *names);
  const char *s = NULL;
  if (names) {
    for (size_t i = 0; i < x->nkeys; i++) names[i] = x->keys[i]->path;
    s = deck_suggest(path, names, x->nkeys);
  }
  if (s) problem(x, where, line, "unknown key '%s' (did you mean '%s'?)", path, s);
  else problem(x, where, line, "unknown key '%s' (study '%s' has no such key; see tessera_app --help-deck %s)",
               path, x->d->study, x->d->study);
  free(names);
}

/* Match every leaf below table t (path prefix `pre`) to a schema key. */
static tess_err_t match_leaves(ctx_t *x, const tess_toml_value_t *t, const char *pre, int from,
                               const char *where, const char *set_text)
{
  tess_err_t err = TESS_OK;
  for (size_t i = 0; i < tess_toml_len(t); i++) {
    const tess_toml_value_t *v = tess_toml_at(t, i);
    const char *k = tess_toml_key_at(t, i);
    size_t n = strlen(pre) + strlen(k) + 2;
    char *path = malloc(n);
    TESS_REQUIRE(path, TESS_ERR_MEM, "key path");
    snprintf(path, n, "%s%s%s", pre, pre[0] ? "." : "", k);
    int line = from == DECK_FROM_FILE ? tess_toml_line(v) : 0;
    long idx = key_index(x, path);
    if (idx >= 0) {
      deck_entry_t *e = &x->d->e[idx];
      e->val = v;
      e->from = from;
      e->line = line;
      e->set_text = set_text;
    } else if (tess_toml_type(v) == TESS_TOML_TABLE && is_table_prefix(x, path)) {
      err = match_leaves(x, v, path, from, where, set_text);
    } else if (tess_toml_type(v) == TESS_TOML_TABLE && tess_toml_len(v) > 0 && !is_table_prefix(x, path)) {
      /* report the keys inside, so the suggestion can fix the table name */
      err = match_leaves(x, v, path, from, where, set_text);
    } else if (is_table_prefix(x, path)) {
      problem(x, where, line, "'%s' is a table of settings, not a value: write [%s] and keys below it",
              path, path);
    } else {
      unknown_key(x, where, line, path);
    }
    free(path);
    if (err) goto cleanup;
  }
cleanup:
  return err;
}

static const char *example(tess_key_type_t t)
{
  switch (t) {
  case TESS_KEY_INT: return "e.g. 64";
  case TESS_KEY_FLOAT: return "e.g. 0.5 or 1e-3";
  case TESS_KEY_BOOL: return "true or false";
  case TESS_KEY_STRING: return "e.g. \"text\"";
  case TESS_KEY_INT_ARRAY: return "e.g. [64, 64]";
  case TESS_KEY_FLOAT_ARRAY: return "e.g. [0.5, 1.0]";
  case TESS_KEY_STRING_ARRAY: return "e.g. [\"a\", \"b\"]";
  }
  return "";
}

static int scalar_ok(tess_key_type_t t, const tess_toml_value_t *v)
{
  tess_toml_type_t vt = tess_toml_type(v);
  switch (t) {
  case TESS_KEY_INT: case TESS_KEY_INT_ARRAY: return vt == TESS_TOML_INT;
  case TESS_KEY_FLOAT: case TESS_KEY_FLOAT_ARRAY: return vt == TESS_TOML_FLOAT || vt == TESS_TOML_INT;
  case TESS_KEY_BOOL: return vt == TESS_TOML_BOOL;
  case TESS_KEY_STRING: case TESS_KEY_STRING_ARRAY: return vt == TESS_TOML_STRING;
  }
  return 0;
}

/* "a float", "an integer", "an array of ...". */
static const char *article(const char *noun)
{
  return strchr("aeiou", noun[0]) ? "an" : "a";
}

/* One scalar (or array element `idx`, -1 for none): range and choices. */
static void check_scalar(ctx_t *x, const deck_entry_t *e, const char *where, int line,
                         const tess_toml_value_t *v, long idx)
{
  const tess_deck_key_t *k = e->key;
  char elem[32] = "", buf[128], range[96];
  if (idx >= 0) snprintf(elem, sizeof elem, "[%ld]", idx);
  if (!scalar_ok(k->type, v)) {
    if (idx >= 0)
    {
      const char *what =
          k->type == TESS_KEY_INT_ARRAY ? "integer" : k->type == TESS_KEY_FLOAT_ARRAY ? "float" : "string";
      problem(x, where, line, "key '%s'%s: expected every element to be %s %s (%s), found %s", k->path, elem,
              article(what), what, example(k->type), show(v, buf, sizeof buf));
    }
    else
      problem(x, where, line, "key '%s': expected %s %s (%s), found %s", k->path,
              article(deck_type_name(k->type)), deck_type_name(k->type), example(k->type),
              show(v, buf, sizeof buf));
    return;
  }
  if (deck_has_range(k)) {
    double dv = 0;
    tess_toml_as_double(v, &dv);
    if (!(dv >= k->min && dv <= k->max))
      problem(x, where, line, "key '%s'%s = %s is out of range: expected %s%s%s", k->path, elem,
              value_only(show(v, buf, sizeof buf)),
              deck_range_text(k, range, sizeof range), k->units ? " " : "", k->units ? k->units : "");
  }
  if (k->choices && tess_toml_type(v) == TESS_TOML_STRING) {
    const char *s;
    tess_toml_as_string(v, &s, NULL);
    if (!deck_choice_ok(s, k->choices)) {
      const char *sug = deck_suggest_choice(s, k->choices, range, sizeof range);
      problem(x, where, line, "key '%s'%s = \"%s\" is not allowed: expected one of %s%s%s%s", k->path, elem, s,
              k->choices, sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
    }
  }
}

static void check_entry(ctx_t *x, const deck_entry_t *e)
{
  char where[300];
  int line = e->line;
  if (e->from == DECK_FROM_SET) snprintf(where, sizeof where, "--set '%s'", e->set_text);
  else if (e->from == DECK_FROM_DEFAULT) snprintf(where, sizeof where, "default of '%s'", e->key->path);
  else snprintf(where, sizeof where, "%s", x->d->path);
  tess_key_type_t t = e->key->type;
  int is_array = t == TESS_KEY_INT_ARRAY || t == TESS_KEY_FLOAT_ARRAY || t == TESS_KEY_STRING_ARRAY;
  if (is_array) {
    char buf[128];
    if (tess_toml_type(e->val) != TESS_TOML_ARRAY) {
      problem(x, where, line, "key '%s': expected an %s (%s), found %s", e->key->path, deck_type_name(t),
              example(t), show(e->val, buf, sizeof buf));
      return;
    }
    for (size_t i = 0; i < tess_toml_len(e->val); i++)
      check_scalar(x, e, where, line, tess_toml_at(e->val, i), (long)i);
  } else {
    check_scalar(x, e, where, line, e->val, -1);
  }
}

/* --set "path=value": one TOML key/value line. */
static tess_err_t parse_set(tess_deck_t *d, const char *set, tess_toml_doc_t **doc)
{
  tess_err_t err = TESS_OK;
  char name[300];
  *doc = NULL;
  snprintf(name, sizeof name, "--set '%s'", set);
  TESS_REQUIRE(strchr(set, '=') != NULL, TESS_ERR_PARSE,
               "%s: expected key.path=value (value in TOML syntax, e.g. noise.sigma=0.2 or "
               "fft.backend=\"fftw\")", name);
  TESS_REQUIRE(!strchr(set, '\n') && !strchr(set, '\r'), TESS_ERR_PARSE,
               "%s: one key=value per --set (no newlines)", name);
  TESS_REQUIRE(set[0] != '[', TESS_ERR_PARSE, "%s: expected key.path=value, not a [table] header", name);
  TESS_CHECK(tess_toml_parse_string(set, strlen(set), name, doc));
  TESS_CHECK(keep_doc(d, *doc));
cleanup:
  if (err) *doc = NULL;
  return err;
}

static const tess_deck_schema_t *find_schema(const char *study, const tess_deck_schema_t *const *schemas, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (schemas[i] && strcmp(schemas[i]->study, study) == 0) return schemas[i];
  return NULL;
}

static tess_err_t choose_study(ctx_t *x, tess_toml_doc_t *const *setdocs, size_t nsets, const char *const *sets,
                               const tess_deck_schema_t *const *schemas, size_t nschemas)
{
  tess_err_t err = TESS_OK;
  tess_deck_t *d = x->d;
  const tess_toml_value_t *v = tess_toml_get(tess_toml_root(d->docs[0]), "study");
  const char *where = d->path;
  char buf[128], known[512] = "";
  int line = tess_toml_line(v);
  for (size_t i = 0; i < nsets; i++) {
    const tess_toml_value_t *sv = tess_toml_get(tess_toml_root(setdocs[i]), "study");
    if (sv) { v = sv; where = sets[i]; line = 0; }
  }
  for (size_t i = 0, o = 0; i < nschemas && o < sizeof known - 40; i++)
    o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "", schemas[i]->study);
  if (!v) {
    problem(x, d->path, 0, "missing required key 'study' (the study to run, e.g. study = \"%s\"; known: %s)",
            nschemas ? schemas[0]->study : "name", known);
    return TESS_ERR_DECK;
  }
  if (tess_toml_type(v) != TESS_TOML_STRING) {
    problem(x, where, line, "key 'study': expected a string (one of: %s), found %s", known, show(v, buf, sizeof buf));
    return TESS_ERR_DECK;
  }
  const char *name;
  TESS_CHECK(tess_toml_as_string(v, &name, NULL));
  d->schema = find_schema(name, schemas, nschemas);
  if (!d->schema) {
    const char **names = malloc((nschemas ? nschemas : 1) * sizeof *names);
    TESS_REQUIRE(names, TESS_ERR_MEM, "study names");
    for (size_t i = 0; i < nschemas; i++) names[i] = schemas[i]->study;
    const char *s = deck_suggest(name, names, nschemas);
    if (s) problem(x, where, line, "unknown study \"%s\" (did you mean \"%s\"? known: %s)", name, s, known);
    else problem(x, where, line, "unknown study \"%s\" (known: %s)", name, known);
    free(names);
    return TESS_ERR_DECK;
  }
  d->study = strdup(name);
  TESS_REQUIRE(d->study, TESS_ERR_MEM, "study");
cleanup:
  return err;
}

tess_err_t tess_deck_load_string(const char *text, size_t len, const char *name,
                                 const char *const *sets, size_t nsets,
                                 const tess_deck_schema_t *const *schemas, size_t nschemas,
                                 tess_deck_t **deck)
{
  tess_err_t err = TESS_OK;
  tess_toml_doc_t *doc = NULL, **setdocs = NULL;
  ctx_t x = {0};
  TESS_REQUIRE(deck && (text || len == 0) && (sets || nsets == 0) && (schemas || nschemas == 0),
               TESS_ERR_ARG, "NULL argument");
  *deck = NULL;
  x.d = calloc(1, sizeof *x.d);
  TESS_REQUIRE(x.d, TESS_ERR_MEM, "deck");
  x.d->path = strdup(name ? name : "<deck>");
  TESS_REQUIRE(x.d->path, TESS_ERR_MEM, "deck");

  TESS_CHECK(tess_toml_parse_string(text, len, x.d->path, &doc));
  TESS_CHECK(keep_doc(x.d, doc));
  if (nsets) {
    setdocs = calloc(nsets, sizeof *setdocs);
    TESS_REQUIRE(setdocs, TESS_ERR_MEM, "--set");
  }
  for (size_t i = 0; i < nsets; i++) TESS_CHECK(parse_set(x.d, sets[i], &setdocs[i]));

  err = choose_study(&x, setdocs, nsets, sets, schemas, nschemas);
  if (err) goto cleanup;   /* its problem is already on the stack */
  TESS_CHECK(deck_merge_keys(x.d->schema, &x.keys, &x.nkeys));
  x.d->n = x.nkeys;
  x.d->e = calloc(x.nkeys, sizeof *x.d->e);
  TESS_REQUIRE(x.d->e, TESS_ERR_MEM, "deck");
  for (size_t i = 0; i < x.nkeys; i++) x.d->e[i].key = x.keys[i];

  TESS_CHECK(match_leaves(&x, tess_toml_root(doc), "", DECK_FROM_FILE, x.d->path, NULL));
  for (size_t i = 0; i < nsets; i++) {
    char where[300];
    snprintf(where, sizeof where, "--set '%s'", sets[i]);
    TESS_CHECK(match_leaves(&x, tess_toml_root(setdocs[i]), "", DECK_FROM_SET, where, sets[i]));
  }
  for (size_t i = 0; i < x.nkeys; i++) {
    deck_entry_t *e = &x.d->e[i];
    if (e->val) continue;
    if (!e->key->default_toml) {
      char range[96];
      problem(&x, x.d->path, 0, "missing required key '%s' (%s%s%s: %s)", e->key->path,
              deck_type_name(e->key->type), deck_has_range(e->key) ? ", " : "",
              deck_range_text(e->key, range, sizeof range), e->key->help);
      continue;
    }
    char def[512], dname[160];
    tess_toml_doc_t *dd = NULL;
    snprintf(def, sizeof def, "v = %s", e->key->default_toml);
    snprintf(dname, sizeof dname, "schema '%s': default of '%s'", x.d->schema->study, e->key->path);
    if (tess_toml_parse_string(def, strlen(def), dname, &dd) != TESS_OK) {
      err = tess_error_push(TESS_ERR_INTERNAL, __FILE__, __LINE__, __func__,
                            "schema bug: default of '%s' is not a TOML value", e->key->path);
      goto cleanup;
    }
    TESS_CHECK(keep_doc(x.d, dd));
    e->val = tess_toml_get(tess_toml_root(dd), "v");
    e->from = DECK_FROM_DEFAULT;
  }
  for (size_t i = 0; i < x.nkeys; i++)
    if (x.d->e[i].val) check_entry(&x, &x.d->e[i]);
  if (x.nproblems) {
    if (x.nproblems > MAX_PROBLEMS)
      tess_error_push(TESS_ERR_DECK, __FILE__, __LINE__, __func__, "... and %d more problems",
                      x.nproblems - MAX_PROBLEMS);
    err = tess_error_push(TESS_ERR_DECK, __FILE__, __LINE__, __func__, "%d problem%s in deck '%s'",
                          x.nproblems, x.nproblems > 1 ? "s" : "", x.d->path);
    goto cleanup;
  }
  TESS_CHECK(deck_build_text(x.d));
  *deck = x.d;
  x.d = NULL;
cleanup:
  free(setdocs);
  free(x.keys);
  tess_deck_destroy(&x.d);
  return err;
}

tess_err_t tess_deck_load(const char *path, const char *const *sets, size_t nsets,
                          const tess_deck_schema_t *const *schemas, size_t nschemas, tess_deck_t **deck)
{
  tess_err_t err = TESS_OK;
  char *text = NULL;
  size_t n = 0;
  TESS_REQUIRE(path && deck, TESS_ERR_ARG, "NULL argument");
  *deck = NULL;
  TESS_CHECK(toml_read_file(path, &text, &n));
  TESS_CHECK(tess_deck_load_string(text, n, path, sets, nsets, schemas, nschemas, deck));
cleanup:
  free(text);
  return err;
}

void tess_deck_destroy(tess_deck_t **deck)
{
  if (!deck || !*deck) return;
  tess_deck_t *d = *deck;
  for (size_t i = 0; i < d->ndocs; i++) tess_toml_doc_destroy(&d->docs[i]);
  free(d->docs);
  free(d->e);
  free(d->path);
  free(d->study);
  free(d->text);
  free(d);
  *deck = NULL;
}

/* ---- reads -------------------------------------------------------------- */

static tess_err_t entry(const tess_deck_t *d, const char *path, int want, const deck_entry_t **out)
{
  if (!d || !path || !out) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__, "NULL argument");
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->e[i].key->path, path) == 0) {
      tess_key_type_t t = d->e[i].key->type;
      int ok = (int)t == want || (want == TESS_KEY_FLOAT && t == TESS_KEY_INT) ||
               (want == TESS_KEY_FLOAT_ARRAY && t == TESS_KEY_INT_ARRAY);
      if (!ok)
        return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                               "deck key '%s' is declared as %s in schema '%s', read as %s", path,
                               deck_type_name(t), d->schema->study, deck_type_name((tess_key_type_t)want));
      *out = &d->e[i];
      return TESS_OK;
    }
  return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                         "key '%s' is not in the schema of study '%s' (add it there)", path,
                         d->schema ? d->schema->study : "?");
}

tess_err_t tess_deck_get_int(const tess_deck_t *d, const char *path, int64_t *out)
{
  tess_err_t err = TESS_OK;
  const deck_entry_t *e;
  TESS_CHECK(entry(d, path, TESS_KEY_INT, &e));
  TESS_CHECK(tess_toml_as_int(e->val, out));
cleanup:
  return err;
}

tess_err_t tess_deck_get_double(const tess_deck_t *d, const char *path, double *out)
{
  tess_err_t err = TESS_OK;
  const deck_entry_t *e;
  TESS_CHECK(entry(d, path, TESS_KEY_FLOAT, &e));
  TESS_CHECK(tess_toml_as_double(e->val, out));
cleanup:
  return err;
}

tess_err_t tess_deck_get_bool(const tess_deck_t *d, const char *path, int *out)
{
  tess_err_t err = TESS_OK;
  const deck_entry_t *e;
  TESS_CHECK(entry(d, path, TESS_KEY_BOOL, &e));
  TESS_CHECK(tess_toml_as_bool(e->val, out));
cleanup:
  return err;
}

tess_err_t tess_deck_get_string(const tess_deck_t *d, const char *path, const char **out)
{
  tess_err_t err = TESS_OK;
  const deck_entry_t *e;
  TESS_CHECK(entry(d, path, TESS_KEY_STRING, &e));
  TESS_CHECK(tess_toml_as_string(e->val, out, NULL));
cleanup:
  return err;
}

static tess_err_t get_array(const tess_deck_t *d, const char *path, int type, void *out, size_t max, size_t *n)
{
  tess_err_t err = TESS_OK;
  const deck_entry_t *e;
  TESS_REQUIRE(n && (out || max == 0), TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(entry(d, path, type, &e));
  *n = tess_toml_len(e->val);
  if (*n > max) {
    err = tess_deck_key_error(d, path, "has %zu entries, at most %zu are allowed", *n, max);
    goto cleanup;
  }
  for (size_t i = 0; i < *n; i++) {
    const tess_toml_value_t *v = tess_toml_at(e->val, i);
    if (type == TESS_KEY_INT_ARRAY) TESS_CHECK(tess_toml_as_int(v, (int64_t *)out + i));
    else if (type == TESS_KEY_FLOAT_ARRAY) TESS_CHECK(tess_toml_as_double(v, (double *)out + i));
    else TESS_CHECK(tess_toml_as_string(v, (const char **)out + i, NULL));
  }
cleanup:
  return err;
}

tess_err_t tess_deck_get_int_array(const tess_deck_t *d, const char *path, int64_t *out, size_t max, size_t *n)
{ return get_array(d, path, TESS_KEY_INT_ARRAY, out, max, n); }
tess_err_t tess_deck_get_double_array(const tess_deck_t *d, const char *path, double *out, size_t max, size_t *n)
{ return get_array(d, path, TESS_KEY_FLOAT_ARRAY, out, max, n); }
tess_err_t tess_deck_get_string_array(const tess_deck_t *d, const char *path, const char **out, size_t max,
                                      size_t *n)
{ return get_array(d, path, TESS_KEY_STRING_ARRAY, (void *)out, max, n); }

tess_err_t tess_deck_key_error(const tess_deck_t *d, const char *path, const char *fmt, ...)
{
  char msg[400], loc[320] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (d && path)
    for (size_t i = 0; i < d->n; i++)
      if (strcmp(d->e[i].key->path, path) == 0) {
        const deck_entry_t *e = &d->e[i];
        if (e->from == DECK_FROM_FILE) snprintf(loc, sizeof loc, "%s:%d", d->path, e->line);
        else if (e->from == DECK_FROM_SET) snprintf(loc, sizeof loc, "--set '%s'", e->set_text);
        else snprintf(loc, sizeof loc, "%s (default)", d->path);
      }
  if (!loc[0]) snprintf(loc, sizeof loc, "%s", d && d->path ? d->path : "<deck>");
  return tess_error_push(TESS_ERR_DECK, __FILE__, __LINE__, __func__, "%s: key '%s': %s", loc,
                         path ? path : "?", msg);
}

const char *tess_deck_text(const tess_deck_t *d) { return d ? d->text : NULL; }
const char *tess_deck_path(const tess_deck_t *d) { return d ? d->path : NULL; }
const char *tess_deck_study(const tess_deck_t *d) { return d ? d->study : NULL; }
const tess_deck_schema_t *tess_deck_schema(const tess_deck_t *d) { return d ? d->schema : NULL; }

int tess_deck_is_set(const tess_deck_t *d, const char *path)
{
  for (size_t i = 0; d && path && i < d->n; i++)
    if (strcmp(d->e[i].key->path, path) == 0) return d->e[i].from != DECK_FROM_DEFAULT;
  return 0;
}
