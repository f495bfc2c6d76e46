/* src/toml_internal.h: what the toml_*.c files share and nobody else sees.
 * The parser is split by concept:
 *   toml_scan.c    the cursor: bytes, lines, columns, UTF-8 and control-
 *                  character checks, whitespace/comments, error messages
 *   toml_string.c  the four string forms and keys
 *   toml_value.c   scalars (numbers, booleans, date-times), arrays, inline tables
 *   toml_table.c   the document: tables, headers, dotted keys and the rules
 *                  about what may be defined where; the node allocator
 *   toml_access.c  the public read-only accessors
 * Errors: the first one stops the parse; it is pushed on the error stack as
 * "NAME:LINE:COL: what was expected, what was found". */
#ifndef TESS_TOML_INTERNAL_H
#define TESS_TOML_INTERNAL_H
#include <tessera/toml.h>

#include <stddef.h>
#include <stdint.h>

/* Table flags: how a table came to exist decides what may later touch it. */
enum {
  TT_EXPLICIT = 1u << 0,  /* defined by a [header] (or as an [[array]] element) */
  TT_IMPLICIT = 1u << 1,  /* created as a parent by a header path, not yet defined */
  TT_DOTTED   = 1u << 2,  /* created by a dotted key in a key/value pair */
  TT_FROZEN   = 1u << 3,  /* inline table (or inside one): immutable */
  TA_OF_TABLES = 1u << 4  /* array made by [[header]]: the only kind one may append to */
};

struct tess_toml_value {
  tess_toml_type_t type;
  unsigned flags;
  int line, col;
  int depth;                           /* nesting below the root, capped */
  union {
    struct { char *s; size_t len; } str;
    int64_t i;
    double f;
    int b;
    tess_toml_datetime_t dt;
    struct { tess_toml_value_t **items; size_t n, cap; } arr;
    struct {
      char **keys; size_t *klen; tess_toml_value_t **vals;
      size_t n, cap;
      uint32_t *hash; size_t hcap;     /* open addressing over indices+1, when n is large */
    } tab;
  } u;
};

struct tess_toml_doc {
  char *name;
  tess_toml_value_t *root;
};

/* ---- the cursor (toml_scan.c) ---------------------------------------- */
typedef struct {
  const char *name;
  const unsigned char *s;
  size_t n, pos;
  int line;                 /* 1-based */
  size_t line_start;        /* offset of the current line's first byte */
  size_t cpos; int ccol;    /* column cache: column ccol is at byte cpos */
} toml_cur_t;

/* Check the whole input once: valid UTF-8 (no overlongs, surrogates or
 * > U+10FFFF), no control characters other than tab and LF, CR only in CRLF.
 * After this the grammar code never meets an illegal byte. Skips a BOM. */
tess_err_t toml_scan_init(toml_cur_t *c, const char *text, size_t len, const char *name);
static inline int toml_eof(const toml_cur_t *c) { return c->pos >= c->n; }
static inline int toml_peek(const toml_cur_t *c) { return c->pos < c->n ? c->s[c->pos] : -1; }
static inline int toml_peek_at(const toml_cur_t *c, size_t k)
{ return c->pos + k < c->n ? c->s[c->pos + k] : -1; }
/* Column (1-based, in characters) of the cursor. */
int toml_col(const toml_cur_t *c);
/* Advance one byte; keeps line counting right across LF. */
void toml_adv(toml_cur_t *c);
/* At a newline ("\n" or "\r\n")? Consume it if so. */
int toml_at_newline(const toml_cur_t *c);
int toml_eat_newline(toml_cur_t *c);
/* Skip spaces and tabs. */
void toml_skip_ws(toml_cur_t *c);
/* Skip a comment if at '#' (to, not including, the newline). */
void toml_skip_comment(toml_cur_t *c);
/* Skip whitespace, comments and newlines (inside arrays). */
void toml_skip_ws_nl(toml_cur_t *c);
/* Describe what is at the cursor for messages: "'x'", "end of line", "end of input". */
const char *toml_found(const toml_cur_t *c, char buf[32]);
/* Push TESS_ERR_PARSE "name:line:col: <message>" at the cursor / at a place. */
tess_err_t toml_error(const toml_cur_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
tess_err_t toml_error_at(const toml_cur_t *c, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- growable byte buffer -------------------------------------------- */
typedef struct { char *p; size_t n, cap; } toml_buf_t;
tess_err_t toml_buf_put(toml_buf_t *b, const void *data, size_t len);
tess_err_t toml_buf_utf8(toml_buf_t *b, uint32_t cp);

/* ---- strings and keys (toml_string.c) -------------------------------- */
/* At '"' or '\'': parse any string form into a fresh NUL-terminated buffer. */
tess_err_t toml_parse_string(toml_cur_t *c, int allow_multiline, char **out, size_t *len);

/* A dotted key: parts with lengths and where each part started. */
typedef struct {
  char **part; size_t *len; int *line, *col;
  size_t n, cap;
} toml_key_t;
tess_err_t toml_parse_key(toml_cur_t *c, toml_key_t *k);
void toml_key_clear(toml_key_t *k);   /* frees the parts, keeps the arrays */
void toml_key_free(toml_key_t *k);
/* A key part as it would be written in TOML (bare or quoted), for messages. */
const char *toml_key_show(const char *s, size_t len, char *buf, size_t cap);

/* ---- values (toml_value.c) ------------------------------------------- */
/* Parse a value at the cursor; `depth` is the nesting the value will have. */
tess_err_t toml_parse_value(toml_cur_t *c, int depth, tess_toml_value_t **out);

/* ---- nodes and tables (toml_table.c) --------------------------------- */
tess_toml_value_t *toml_node_new(tess_toml_type_t type, int line, int col, int depth);
void toml_node_free(tess_toml_value_t *v);
/* Index of key in table, or -1. */
long toml_table_find(const tess_toml_value_t *t, const char *key, size_t len);
/* Append key -> val (key copied; val owned by the table on success). */
tess_err_t toml_table_add(tess_toml_value_t *t, const char *key, size_t len, tess_toml_value_t *val);
tess_err_t toml_array_add(tess_toml_value_t *a, tess_toml_value_t *val);
/* Store `val` under dotted key `k` in table `t`, creating dotted sub-tables,
 * with all the redefinition rules (shared by documents and inline tables). */
tess_err_t toml_assign(toml_cur_t *c, tess_toml_value_t *t, const toml_key_t *k,
                       tess_toml_value_t *val);
/* The whole file in a malloc'd buffer; TESS_ERR_IO for missing files and
 * directories (shared with the deck loader). */
tess_err_t toml_read_file(const char *path, char **text, size_t *len);
/* Mark an inline table and everything inside as immutable. */
void toml_freeze(tess_toml_value_t *v);
#endif
