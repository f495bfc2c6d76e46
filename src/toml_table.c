/* src/toml_table.c: the TOML document: key/value lines, [table] and
 * [[array]] headers, dotted keys, and every rule about what may be defined
 * where. Each table remembers how it came to be (toml_internal.h flags):
 *   - a [header] may define a table once, and only one that was not made by
 *     dotted keys or an inline table; it may pass through any table;
 *   - dotted keys may create tables and pass through tables they (or a
 *     header path, implicitly) created, never through one defined by a
 *     [header], an inline table, or an array;
 *   - [[x]] appends only to arrays made by [[x]], never to a static array.
 * Tables keep keys in file order and get a hash index once they grow, so a
 * table of 10^5 keys parses in linear time. */
#include "toml_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- nodes -------------------------------------------------------------- */

tess_toml_value_t *toml_node_new(tess_toml_type_t type, int line, int col, int depth)
{
  tess_toml_value_t *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  v->type = type;
  v->line = line;
  v->col = col;
  v->depth = depth;
  return v;
}

/* Depth is capped at parse time, so this recursion is bounded. */
void toml_node_free(tess_toml_value_t *v)
{
  if (!v) return;
  if (v->type == TESS_TOML_STRING) free(v->u.str.s);
  else if (v->type == TESS_TOML_ARRAY) {
    for (size_t i = 0; i < v->u.arr.n; i++) toml_node_free(v->u.arr.items[i]);
    free(v->u.arr.items);
  } else if (v->type == TESS_TOML_TABLE) {
    for (size_t i = 0; i < v->u.tab.n; i++) {
      free(v->u.tab.keys[i]);
      toml_node_free(v->u.tab.vals[i]);
    }
    free(v->u.tab.keys); free(v->u.tab.klen); free(v->u.tab.vals); free(v->u.tab.hash);
  }
  free(v);
}

void toml_freeze(tess_toml_value_t *v)
{
  if (v->type == TESS_TOML_TABLE) {
    v->flags |= TT_FROZEN;
    for (size_t i = 0; i < v->u.tab.n; i++) toml_freeze(v->u.tab.vals[i]);
  } else if (v->type == TESS_TOML_ARRAY) {
    for (size_t i = 0; i < v->u.arr.n; i++) toml_freeze(v->u.arr.items[i]);
  }
}

/* ---- tables ------------------------------------------------------------- */

#define HASH_MIN 16   /* below this many keys a linear scan is faster */

static uint32_t key_hash(const char *k, size_t len)
{
  uint32_t h = 2166136261u;              /* FNV-1a */
  for (size_t i = 0; i < len; i++) { h ^= (unsigned char)k[i]; h *= 16777619u; }
  return h;
}

static int key_eq(const tess_toml_value_t *t, size_t i, const char *k, size_t len)
{
  return t->u.tab.klen[i] == len && memcmp(t->u.tab.keys[i], k, len) == 0;
}

static tess_err_t rehash(tess_toml_value_t *t)
{
  size_t cap = 64;
  while (cap < 2 * t->u.tab.cap) cap *= 2;
  uint32_t *h = calloc(cap, sizeof *h);
  if (!h) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "table index");
  for (size_t i = 0; i < t->u.tab.n; i++) {
    size_t s = key_hash(t->u.tab.keys[i], t->u.tab.klen[i]) & (cap - 1);
    while (h[s]) s = (s + 1) & (cap - 1);
    h[s] = (uint32_t)(i + 1);
  }
  free(t->u.tab.hash);
  t->u.tab.hash = h;
  t->u.tab.hcap = cap;
  return TESS_OK;
}

long toml_table_find(const tess_toml_value_t *t, const char *key, size_t len)
{
  if (t->u.tab.hash) {
    size_t m = t->u.tab.hcap - 1, s = key_hash(key, len) & m;
    for (; t->u.tab.hash[s]; s = (s + 1) & m) {
      size_t i = t->u.tab.hash[s] - 1;
      if (key_eq(t, i, key, len)) return (long)i;
    }
    return -1;
  }
  for (size_t i = 0; i < t->u.tab.n; i++)
    if (key_eq(t, i, key, len)) return (long)i;
  return -1;
}

tess_err_t toml_table_add(tess_toml_value_t *t, const char *key, size_t len, tess_toml_value_t *val)
{
  if (t->u.tab.n == t->u.tab.cap) {
    size_t cap = t->u.tab.cap ? 2 * t->u.tab.cap : 4;
    if (cap > UINT32_MAX / 2) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "table too large");
    char **k = realloc(t->u.tab.keys, cap * sizeof *k);
    if (k) t->u.tab.keys = k;
    size_t *l = realloc(t->u.tab.klen, cap * sizeof *l);
    if (l) t->u.tab.klen = l;
    tess_toml_value_t **v = realloc(t->u.tab.vals, cap * sizeof *v);
    if (v) t->u.tab.vals = v;
    if (!k || !l || !v) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "table");
    t->u.tab.cap = cap;
    if (cap >= HASH_MIN) {
      tess_err_t e = rehash(t);
      if (e) return e;
    }
  }
  char *copy = malloc(len + 1);
  if (!copy) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "key");
  memcpy(copy, key, len);
  copy[len] = '\0';
  size_t i = t->u.tab.n++;
  t->u.tab.keys[i] = copy;
  t->u.tab.klen[i] = len;
  t->u.tab.vals[i] = val;
  if (t->u.tab.hash) {
    size_t m = t->u.tab.hcap - 1, s = key_hash(key, len) & m;
    while (t->u.tab.hash[s]) s = (s + 1) & m;
    t->u.tab.hash[s] = (uint32_t)(i + 1);
  }
  return TESS_OK;
}

tess_err_t toml_array_add(tess_toml_value_t *a, tess_toml_value_t *val)
{
  if (a->u.arr.n == a->u.arr.cap) {
    size_t cap = a->u.arr.cap ? 2 * a->u.arr.cap : 4;
    tess_toml_value_t **p = realloc(a->u.arr.items, cap * sizeof *p);
    if (!p) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "array");
    a->u.arr.items = p;
    a->u.arr.cap = cap;
  }
  a->u.arr.items[a->u.arr.n++] = val;
  return TESS_OK;
}

/* "a.b.c" from the first `upto` parts of k, for messages. */
static const char *key_path(const toml_key_t *k, size_t upto, char *buf, size_t cap)
{
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < upto && o + 16 < cap; i++) {
    char part[128];
    o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "." : "",
                          toml_key_show(k->part[i], k->len[i], part, sizeof part));
  }
  if (o >= cap) o = cap - 1;
  return buf;
}

static tess_err_t too_deep(toml_cur_t *c, const toml_key_t *k, size_t i)
{
  return toml_error_at(c, k->line[i], k->col[i], "nesting deeper than %d levels; flatten the document",
                       TESS_TOML_MAX_DEPTH);
}

static const char *article(const char *w)
{
  return strchr("aeiou", w[0]) ? "an" : "a";
}

static const char *how_defined(const tess_toml_value_t *v)
{
  if (v->type == TESS_TOML_ARRAY) return (v->flags & TA_OF_TABLES) ? "array of tables" : "static array";
  if (v->type != TESS_TOML_TABLE) return tess_toml_type_name(v->type);
  if (v->flags & TT_FROZEN) return "inline table";
  if (v->flags & TT_EXPLICIT) return "table defined by a [header]";
  if (v->flags & TT_DOTTED) return "table defined by dotted keys";
  return "table";
}

tess_err_t toml_assign(toml_cur_t *c, tess_toml_value_t *t, const toml_key_t *k, tess_toml_value_t *val)
{
  tess_err_t err = TESS_OK;
  char path[512];
  tess_toml_value_t *cur = t;
  for (size_t i = 0; i + 1 < k->n; i++) {
    long idx = toml_table_find(cur, k->part[i], k->len[i]);
    if (idx < 0) {
      if (cur->depth + 1 > TESS_TOML_MAX_DEPTH) { err = too_deep(c, k, i); goto cleanup; }
      tess_toml_value_t *sub = toml_node_new(TESS_TOML_TABLE, k->line[i], k->col[i], cur->depth + 1);
      TESS_REQUIRE(sub, TESS_ERR_MEM, "table");
      sub->flags = TT_DOTTED;
      if ((err = toml_table_add(cur, k->part[i], k->len[i], sub))) { toml_node_free(sub); goto cleanup; }
      cur = sub;
      continue;
    }
    tess_toml_value_t *ch = cur->u.tab.vals[idx];
    if (ch->type != TESS_TOML_TABLE || (ch->flags & (TT_FROZEN | TT_EXPLICIT))) {
      err = toml_error_at(c, k->line[i], k->col[i],
                          "cannot add keys to '%s' with dotted keys: it is already %s %s (line %d)",
                          key_path(k, i + 1, path, sizeof path), article(how_defined(ch)), how_defined(ch),
                          ch->line);
      goto cleanup;
    }
    ch->flags = (ch->flags & ~(unsigned)TT_IMPLICIT) | TT_DOTTED;
    cur = ch;
  }
  size_t last = k->n - 1;
  long idx = toml_table_find(cur, k->part[last], k->len[last]);
  if (idx >= 0) {
    tess_toml_value_t *old = cur->u.tab.vals[idx];
    err = toml_error_at(c, k->line[last], k->col[last], "duplicate key '%s' (already defined at line %d as %s %s)",
                        key_path(k, k->n, path, sizeof path), old->line,
                        article(how_defined(old)),
                        how_defined(old));
    goto cleanup;
  }
  TESS_CHECK(toml_table_add(cur, k->part[last], k->len[last], val));
cleanup:
  return err;
}

/* At '[': a [table] or [[array of tables]] header; sets *cur to its table. */
static tess_err_t parse_header(toml_cur_t *c, tess_toml_value_t *root, toml_key_t *k,
                               tess_toml_value_t **cur)
{
  tess_err_t err = TESS_OK;
  char path[512], path2[256], f[32];
  int line = c->line, col = toml_col(c);
  int is_array = toml_peek_at(c, 1) == '[';
  toml_adv(c);
  if (is_array) toml_adv(c);
  TESS_CHECK(toml_parse_key(c, k));
  if (toml_peek(c) != ']' || (is_array && toml_peek_at(c, 1) != ']')) {
    err = toml_error(c, "expected '%s' to close the %s header, found %s", is_array ? "]]" : "]",
                     is_array ? "[[array of tables]]" : "[table]", toml_found(c, f));
    goto cleanup;
  }
  toml_adv(c);
  if (is_array) toml_adv(c);

  tess_toml_value_t *t = root;
  for (size_t i = 0; i + 1 < k->n; i++) {
    long idx = toml_table_find(t, k->part[i], k->len[i]);
    if (idx < 0) {
      if (t->depth + 1 > TESS_TOML_MAX_DEPTH) { err = too_deep(c, k, i); goto cleanup; }
      tess_toml_value_t *sub = toml_node_new(TESS_TOML_TABLE, line, col, t->depth + 1);
      TESS_REQUIRE(sub, TESS_ERR_MEM, "table");
      sub->flags = TT_IMPLICIT;
      if ((err = toml_table_add(t, k->part[i], k->len[i], sub))) { toml_node_free(sub); goto cleanup; }
      t = sub;
      continue;
    }
    tess_toml_value_t *ch = t->u.tab.vals[idx];
    if (ch->type == TESS_TOML_TABLE && !(ch->flags & TT_FROZEN)) { t = ch; continue; }
    if (ch->type == TESS_TOML_ARRAY && (ch->flags & TA_OF_TABLES)) {
      t = ch->u.arr.items[ch->u.arr.n - 1];     /* the latest element */
      continue;
    }
    err = toml_error_at(c, line, col, "header [%s] cannot extend '%s': it is already %s %s (line %d)",
                        key_path(k, k->n, path, sizeof path), key_path(k, i + 1, path2, sizeof path2),
                        article(how_defined(ch)), how_defined(ch), ch->line);
    goto cleanup;
  }
  size_t last = k->n - 1;
  long idx = toml_table_find(t, k->part[last], k->len[last]);
  key_path(k, k->n, path, sizeof path);
  if (t->depth + 1 + is_array > TESS_TOML_MAX_DEPTH) { err = too_deep(c, k, last); goto cleanup; }
  if (!is_array) {
    if (idx < 0) {
      tess_toml_value_t *sub = toml_node_new(TESS_TOML_TABLE, line, col, t->depth + 1);
      TESS_REQUIRE(sub, TESS_ERR_MEM, "table");
      sub->flags = TT_EXPLICIT;
      if ((err = toml_table_add(t, k->part[last], k->len[last], sub))) { toml_node_free(sub); goto cleanup; }
      *cur = sub;
      goto cleanup;
    }
    tess_toml_value_t *ch = t->u.tab.vals[idx];
    if (ch->type == TESS_TOML_TABLE && (ch->flags & TT_IMPLICIT)) {
      ch->flags = TT_EXPLICIT;
      ch->line = line;
      ch->col = col;
      *cur = ch;
      goto cleanup;
    }
    if (ch->type == TESS_TOML_TABLE && (ch->flags & TT_EXPLICIT) && !(ch->flags & TT_FROZEN))
      err = toml_error_at(c, line, col, "table [%s] defined twice (first at line %d)", path, ch->line);
    else if (ch->type == TESS_TOML_ARRAY && (ch->flags & TA_OF_TABLES))
      err = toml_error_at(c, line, col, "[%s] is an array of tables (line %d): use [[%s]] to add an element",
                          path, ch->line, path);
    else
      err = toml_error_at(c, line, col, "cannot define table [%s]: the key is already %s %s (line %d)",
                          path, article(how_defined(ch)), how_defined(ch), ch->line);
    goto cleanup;
  }
  tess_toml_value_t *arr;
  if (idx < 0) {
    arr = toml_node_new(TESS_TOML_ARRAY, line, col, t->depth + 1);
    TESS_REQUIRE(arr, TESS_ERR_MEM, "array");
    arr->flags = TA_OF_TABLES;
    if ((err = toml_table_add(t, k->part[last], k->len[last], arr))) { toml_node_free(arr); goto cleanup; }
  } else {
    arr = t->u.tab.vals[idx];
    if (arr->type != TESS_TOML_ARRAY || !(arr->flags & TA_OF_TABLES)) {
      err = toml_error_at(c, line, col, "[[%s]] cannot append: the key is already %s %s (line %d)%s",
                          path, article(how_defined(arr)), how_defined(arr), arr->line,
                          arr->type == TESS_TOML_ARRAY ? "; static arrays cannot be extended" : "");
      goto cleanup;
    }
  }
  tess_toml_value_t *elem = toml_node_new(TESS_TOML_TABLE, line, col, arr->depth + 1);
  TESS_REQUIRE(elem, TESS_ERR_MEM, "table");
  elem->flags = TT_EXPLICIT;
  if ((err = toml_array_add(arr, elem))) { toml_node_free(elem); goto cleanup; }
  *cur = elem;
cleanup:
  return err;
}

static tess_err_t parse_document(toml_cur_t *c, tess_toml_value_t *root)
{
  tess_err_t err = TESS_OK;
  toml_key_t k = {0};
  tess_toml_value_t *cur = root, *val = NULL;
  char f[32], path[512];
  for (;;) {
    toml_skip_ws(c);
    if (toml_eof(c)) break;
    int x = toml_peek(c);
    if (x == '#') { toml_skip_comment(c); }
    else if (toml_eat_newline(c)) { continue; }
    else if (x == '[') {
      TESS_CHECK(parse_header(c, root, &k, &cur));
      toml_skip_ws(c);
      if (!toml_eof(c) && toml_peek(c) != '#' && !toml_at_newline(c)) {
        err = toml_error(c, "expected end of line after the table header, found %s", toml_found(c, f));
        goto cleanup;
      }
    } else {
      TESS_CHECK(toml_parse_key(c, &k));
      if (toml_peek(c) != '=') {
        err = toml_error(c, "expected '=' after key '%s', found %s", key_path(&k, k.n, path, sizeof path),
                         toml_found(c, f));
        goto cleanup;
      }
      toml_adv(c);
      toml_skip_ws(c);
      if (cur->depth + (int)k.n > TESS_TOML_MAX_DEPTH) { err = too_deep(c, &k, k.n - 1); goto cleanup; }
      TESS_CHECK(toml_parse_value(c, cur->depth + (int)k.n, &val));
      TESS_CHECK(toml_assign(c, cur, &k, val));
      val = NULL;
      toml_skip_ws(c);
      if (!toml_eof(c) && toml_peek(c) != '#' && !toml_at_newline(c)) {
        err = toml_error(c, "expected end of line after the value of '%s', found %s",
                         key_path(&k, k.n, path, sizeof path), toml_found(c, f));
        goto cleanup;
      }
    }
    toml_skip_comment(c);
    if (!toml_eof(c) && !toml_eat_newline(c)) {
      err = toml_error(c, "expected end of line, found %s", toml_found(c, f));
      goto cleanup;
    }
  }
cleanup:
  toml_node_free(val);
  toml_key_free(&k);
  return err;
}

/* ---- documents ---------------------------------------------------------- */

tess_err_t tess_toml_parse_string(const char *text, size_t len, const char *name, tess_toml_doc_t **doc)
{
  tess_err_t err = TESS_OK;
  tess_toml_doc_t *d = NULL;
  toml_cur_t c;
  TESS_REQUIRE(doc && (text || len == 0), TESS_ERR_ARG, "NULL argument");
  *doc = NULL;
  if (!name) name = "<toml>";
  d = calloc(1, sizeof *d);
  TESS_REQUIRE(d, TESS_ERR_MEM, "document");
  d->name = strdup(name);
  d->root = toml_node_new(TESS_TOML_TABLE, 0, 0, 0);
  TESS_REQUIRE(d->name && d->root, TESS_ERR_MEM, "document");
  d->root->flags = TT_EXPLICIT;
  TESS_CHECK(toml_scan_init(&c, text ? text : "", len, d->name));
  TESS_CHECK(parse_document(&c, d->root));
  *doc = d;
  d = NULL;
cleanup:
  tess_toml_doc_destroy(&d);
  return err;
}

tess_err_t toml_read_file(const char *path, char **text, size_t *len)
{
  tess_err_t err = TESS_OK;
  FILE *fp = NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  struct stat st;
  TESS_REQUIRE(path && text && len, TESS_ERR_ARG, "NULL argument");
  *text = NULL;
  *len = 0;
  TESS_REQUIRE(stat(path, &st) == 0, TESS_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
  TESS_REQUIRE(!S_ISDIR(st.st_mode), TESS_ERR_IO, "'%s' is a directory, expected a TOML file", path);
  fp = fopen(path, "rb");
  TESS_REQUIRE(fp, TESS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 65536;
      char *p = realloc(buf, cap);
      TESS_REQUIRE(p, TESS_ERR_MEM, "reading '%s' (%zu bytes)", path, cap);
      buf = p;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) break;
  }
  TESS_REQUIRE(!ferror(fp), TESS_ERR_IO, "error reading '%s': %s", path, strerror(errno));
  *text = buf;
  *len = n;
  buf = NULL;
cleanup:
  if (fp) fclose(fp);
  free(buf);
  return err;
}

tess_err_t tess_toml_parse_file(const char *path, tess_toml_doc_t **doc)
{
  tess_err_t err = TESS_OK;
  char *text = NULL;
  size_t n = 0;
  TESS_REQUIRE(path && doc, TESS_ERR_ARG, "NULL argument");
  *doc = NULL;
  TESS_CHECK(toml_read_file(path, &text, &n));
  TESS_CHECK(tess_toml_parse_string(text, n, path, doc));
cleanup:
  free(text);
  return err;
}

void tess_toml_doc_destroy(tess_toml_doc_t **doc)
{
  if (!doc || !*doc) return;
  toml_node_free((*doc)->root);
  free((*doc)->name);
  free(*doc);
  *doc = NULL;
}
