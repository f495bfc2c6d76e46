/* include/tessera/toml.h: TOML 1.0.0 parser and its read-only document tree.
 * Input decks are TOML; no packaged C TOML library exists on our platform, so
 * Tessera parses it itself, conformant to https://toml.io/en/v1.0.0 (checked
 * against the toml-test corpus). A document is immutable once parsed: values
 * are borrowed pointers into it, valid until tess_toml_doc_destroy().
 * Nothing here is collective; parsing is rank-local and deterministic. */
#ifndef TESSERA_TOML_H
#define TESSERA_TOML_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <stdint.h>
#include <tessera/error.h>

typedef struct tess_toml_doc tess_toml_doc_t;       /* opaque: a parsed document */
typedef struct tess_toml_value tess_toml_value_t;   /* opaque: one node in it */

typedef enum {
  TESS_TOML_TABLE = 0,      /* tables, inline tables, the root */
  TESS_TOML_ARRAY,          /* arrays and arrays of tables */
  TESS_TOML_STRING,
  TESS_TOML_INT,            /* int64 */
  TESS_TOML_FLOAT,          /* double, including inf and nan */
  TESS_TOML_BOOL,
  TESS_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
  TESS_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
  TESS_TOML_DATE_LOCAL,     /* 1979-05-27 */
  TESS_TOML_TIME_LOCAL      /* 07:32:00.999 */
} tess_toml_type_t;

/* A date-time of any of the four kinds; fields a kind lacks are zero. */
typedef struct {
  int year, month, day;          /* date kinds */
  int hour, minute, second;      /* time kinds */
  int nanosecond;                /* fractional seconds, truncated to ns */
  int offset_minutes;            /* TESS_TOML_DATETIME only: +05:30 -> 330, Z -> 0 */
} tess_toml_datetime_t;

/* Nesting of arrays and inline tables deeper than this is a parse error
 * (a clear message, never a stack overflow). */
#define TESS_TOML_MAX_DEPTH 128

/* Parse a file. `path` missing, unreadable or a directory -> TESS_ERR_IO;
 * invalid TOML -> TESS_ERR_PARSE whose message reads
 * "deck.toml:12:7: expected '=' after key 'grid', found '['".
 * On error *doc is NULL. */
tess_err_t tess_toml_parse_file(const char *path, tess_toml_doc_t **doc);
/* Parse `len` bytes of `text` (need not be NUL-terminated; an embedded NUL is
 * a parse error). `name` is used in messages (e.g. "<stdin>", "--set"). */
tess_err_t tess_toml_parse_string(const char *text, size_t len, const char *name,
                                  tess_toml_doc_t **doc);
/* Safe on NULL; sets *doc to NULL. */
void tess_toml_doc_destroy(tess_toml_doc_t **doc);
/* The name given at parse time (the file path). */
const char *tess_toml_doc_name(const tess_toml_doc_t *doc);

/* The root table. Never NULL for a parsed document. */
const tess_toml_value_t *tess_toml_root(const tess_toml_doc_t *doc);
/* Look up a dotted key path below `table`: "grid.n", "a.\"b.c\".d" (each part
 * bare or quoted, as in TOML). NULL when absent, when `table` is not a table,
 * or when the path walks through a non-table. Arrays of tables are not walked
 * (use tess_toml_at). */
const tess_toml_value_t *tess_toml_get(const tess_toml_value_t *table, const char *path);

tess_toml_type_t tess_toml_type(const tess_toml_value_t *v);
/* "table", "array", "string", "integer", "float", "boolean", "offset date-time",
 * "local date-time", "local date", "local time". */
const char *tess_toml_type_name(tess_toml_type_t t);
/* Where the value was defined (1-based; for tables: the header or first key
 * that created them). 0 for the root. */
int tess_toml_line(const tess_toml_value_t *v);
int tess_toml_column(const tess_toml_value_t *v);

/* Typed reads. A value of another type -> TESS_ERR_ARG naming both types and
 * the line. as_double accepts integers too (converted; exact up to 2^53). */
tess_err_t tess_toml_as_int(const tess_toml_value_t *v, int64_t *out);
tess_err_t tess_toml_as_double(const tess_toml_value_t *v, double *out);
tess_err_t tess_toml_as_bool(const tess_toml_value_t *v, int *out);
/* *out points into the document (NUL-terminated, UTF-8). The string may hold
 * U+0000 (from "\u0000"); *len (may be NULL) gives the full byte length. */
tess_err_t tess_toml_as_string(const tess_toml_value_t *v, const char **out, size_t *len);
/* Any of the four date-time kinds. */
tess_err_t tess_toml_as_datetime(const tess_toml_value_t *v, tess_toml_datetime_t *out);

/* Arrays: number of items; tables: number of keys. 0 for other types. */
size_t tess_toml_len(const tess_toml_value_t *v);
/* Item i of an array, or the value of the i-th key of a table, in file order
 * (the order keys were first defined). NULL when out of range. */
const tess_toml_value_t *tess_toml_at(const tess_toml_value_t *v, size_t i);
/* Key i of a table (file order), NUL-terminated UTF-8; NULL when out of range
 * or not a table. */
const char *tess_toml_key_at(const tess_toml_value_t *table, size_t i);
/* Byte length of key i (a quoted key may hold U+0000); 0 when out of range. */
size_t tess_toml_key_len(const tess_toml_value_t *table, size_t i);
TESS_API_END
#endif
