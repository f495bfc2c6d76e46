/* src/toml_access.c: the public, read-only view of a parsed TOML document.
 * Lookups by dotted path reuse the parser's key grammar, so a path is written
 * exactly as in a TOML file ("a.\"b.c\".d"). Type mismatches are errors with
 * both type names and the line, since a deck author has to fix them. */
#include "toml_internal.h"

#include <string.h>

static const char *const type_names[] = {
  [TESS_TOML_TABLE] = "table", [TESS_TOML_ARRAY] = "array", [TESS_TOML_STRING] = "string",
  [TESS_TOML_INT] = "integer", [TESS_TOML_FLOAT] = "float", [TESS_TOML_BOOL] = "boolean",
  [TESS_TOML_DATETIME] = "offset date-time", [TESS_TOML_DATETIME_LOCAL] = "local date-time",
  [TESS_TOML_DATE_LOCAL] = "local date", [TESS_TOML_TIME_LOCAL] = "local time",
};

const char *tess_toml_type_name(tess_toml_type_t t)
{
  if ((unsigned)t >= sizeof type_names / sizeof type_names[0]) return "unknown";
  return type_names[t];
}

const char *tess_toml_doc_name(const tess_toml_doc_t *doc) { return doc ? doc->name : NULL; }
const tess_toml_value_t *tess_toml_root(const tess_toml_doc_t *doc) { return doc ? doc->root : NULL; }
tess_toml_type_t tess_toml_type(const tess_toml_value_t *v) { return v ? v->type : TESS_TOML_TABLE; }
int tess_toml_line(const tess_toml_value_t *v) { return v ? v->line : 0; }
int tess_toml_column(const tess_toml_value_t *v) { return v ? v->col : 0; }

const tess_toml_value_t *tess_toml_get(const tess_toml_value_t *table, const char *path)
{
  if (!table || !path || table->type != TESS_TOML_TABLE) return NULL;
  toml_cur_t c;
  toml_key_t k = {0};
  const tess_toml_value_t *v = NULL;
  int depth = tess_error_depth();
  if (toml_scan_init(&c, path, strlen(path), "path") == TESS_OK && toml_parse_key(&c, &k) == TESS_OK &&
      toml_eof(&c)) {
    v = table;
    for (size_t i = 0; v && i < k.n; i++) {
      if (v->type != TESS_TOML_TABLE) { v = NULL; break; }
      long idx = toml_table_find(v, k.part[i], k.len[i]);
      v = idx < 0 ? NULL : v->u.tab.vals[idx];
    }
  }
  /* A malformed path is just "absent": drop what the key parser pushed. */
  if (depth == 0 && tess_error_depth() > 0) tess_error_clear();
  toml_key_free(&k);
  return v;
}

static tess_err_t wrong_type(const tess_toml_value_t *v, const char *want)
{
  if (!v) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, "tess_toml_as", "NULL value (expected %s)", want);
  return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, "tess_toml_as",
                         "line %d: expected %s, found %s", v->line, want, tess_toml_type_name(v->type));
}

tess_err_t tess_toml_as_int(const tess_toml_value_t *v, int64_t *out)
{
  if (!v || v->type != TESS_TOML_INT || !out) return wrong_type(v, "integer");
  *out = v->u.i;
  return TESS_OK;
}

tess_err_t tess_toml_as_double(const tess_toml_value_t *v, double *out)
{
  if (v && out && v->type == TESS_TOML_FLOAT) { *out = v->u.f; return TESS_OK; }
  if (v && out && v->type == TESS_TOML_INT) { *out = (double)v->u.i; return TESS_OK; }
  return wrong_type(v, "float");
}

tess_err_t tess_toml_as_bool(const tess_toml_value_t *v, int *out)
{
  if (!v || v->type != TESS_TOML_BOOL || !out) return wrong_type(v, "boolean");
  *out = v->u.b;
  return TESS_OK;
}

tess_err_t tess_toml_as_string(const tess_toml_value_t *v, const char **out, size_t *len)
{
  if (!v || v->type != TESS_TOML_STRING || !out) return wrong_type(v, "string");
  *out = v->u.str.s;
  if (len) *len = v->u.str.len;
  return TESS_OK;
}

tess_err_t tess_toml_as_datetime(const tess_toml_value_t *v, tess_toml_datetime_t *out)
{
  if (!v || !out || v->type < TESS_TOML_DATETIME || v->type > TESS_TOML_TIME_LOCAL)
    return wrong_type(v, "date-time");
  *out = v->u.dt;
  return TESS_OK;
}

size_t tess_toml_len(const tess_toml_value_t *v)
{
  if (!v) return 0;
  if (v->type == TESS_TOML_ARRAY) return v->u.arr.n;
  if (v->type == TESS_TOML_TABLE) return v->u.tab.n;
  return 0;
}

const tess_toml_value_t *tess_toml_at(const tess_toml_value_t *v, size_t i)
{
  if (!v) return NULL;
  if (v->type == TESS_TOML_ARRAY) return i < v->u.arr.n ? v->u.arr.items[i] : NULL;
  if (v->type == TESS_TOML_TABLE) return i < v->u.tab.n ? v->u.tab.vals[i] : NULL;
  return NULL;
}

const char *tess_toml_key_at(const tess_toml_value_t *table, size_t i)
{
  if (!table || table->type != TESS_TOML_TABLE || i >= table->u.tab.n) return NULL;
  return table->u.tab.keys[i];
}

size_t tess_toml_key_len(const tess_toml_value_t *table, size_t i)
{
  if (!table || table->type != TESS_TOML_TABLE || i >= table->u.tab.n) return 0;
  return table->u.tab.klen[i];
}
