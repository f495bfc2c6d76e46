/* src/toml_string.c: TOML strings (basic, literal, and their multi-line
 * forms) and keys (bare, quoted, dotted). A key part is a string without the
 * multi-line forms, so both live here. Escapes are exactly TOML 1.0's:
 * \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX (Unicode scalar values only). */
#include "toml_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int b)
{
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

/* At the character after a backslash (not a line-ending one). */
static tess_err_t parse_escape(toml_cur_t *c, toml_buf_t *b)
{
  int line = c->line, col = toml_col(c) - 1;
  int e = toml_peek(c);
  char ch;
  switch (e) {
  case 'b': ch = '\b'; break;
  case 't': ch = '\t'; break;
  case 'n': ch = '\n'; break;
  case 'f': ch = '\f'; break;
  case 'r': ch = '\r'; break;
  case '"': ch = '"'; break;
  case '\\': ch = '\\'; break;
  case 'u': case 'U': {
    int nd = e == 'u' ? 4 : 8;
    uint32_t cp = 0;
    toml_adv(c);
    for (int k = 0; k < nd; k++) {
      int h = hexval(toml_peek(c));
      if (h < 0) {
        char f[32];
        return toml_error(c, "expected %d hex digits after \\%c, found %s", nd, e, toml_found(c, f));
      }
      cp = (cp << 4) | (uint32_t)h;
      toml_adv(c);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return toml_error_at(c, line, col, "escape \\%c%0*X is not a Unicode scalar value "
                           "(surrogates D800-DFFF and values above 10FFFF are not allowed)", e, nd, cp);
    return toml_buf_utf8(b, cp);
  }
  default: {
    char f[32];
    if (e < 0 || toml_at_newline(c)) return toml_error_at(c, line, col, "unterminated escape at end of line");
    if (e == ' ' || e == '\t')
      return toml_error_at(c, line, col, "a backslash followed by %s is not an escape (a line-ending "
                           "backslash needs only whitespace after it, in multi-line basic strings)",
                           e == ' ' ? "a space" : "a tab");
    const char *fs = toml_found(c, f);
    int flen = fs[0] == '\'' ? (int)strlen(fs) - 2 : (int)strlen(fs);
    return toml_error_at(c, line, col, "invalid escape \\%.*s (expected one of \\b \\t \\n \\f \\r \\\" "
                         "\\\\ \\uXXXX \\UXXXXXXXX)", flen, fs[0] == '\'' ? fs + 1 : fs);
  }
  }
  toml_adv(c);
  return toml_buf_put(b, &ch, 1);
}

/* Copy one (already validated) UTF-8 character. */
static tess_err_t copy_char(toml_cur_t *c, toml_buf_t *b)
{
  unsigned char x = c->s[c->pos];
  size_t l = x < 0x80 ? 1 : x >= 0xF0 ? 4 : x >= 0xE0 ? 3 : 2;
  tess_err_t e = toml_buf_put(b, c->s + c->pos, l);
  c->pos += l;   /* never a newline */
  return e;
}

tess_err_t toml_parse_string(toml_cur_t *c, int allow_multiline, char **out, size_t *len)
{
  tess_err_t err = TESS_OK;
  toml_buf_t b = {0};
  int q = toml_peek(c);               /* '"' or '\'' */
  int basic = q == '"';
  int line = c->line, col = toml_col(c);
  int multi = toml_peek_at(c, 1) == q && toml_peek_at(c, 2) == q;
  *out = NULL;
  TESS_CHECK(toml_buf_put(&b, "", 0));   /* an empty string is still a buffer */
  if (multi && !allow_multiline) {
    err = toml_error(c, "a key cannot be a multi-line string");
    goto cleanup;
  }
  if (multi) {
    toml_adv(c); toml_adv(c); toml_adv(c);
    toml_eat_newline(c);               /* a newline right after the opening is trimmed */
    for (;;) {
      int x = toml_peek(c);
      if (x < 0) {
        err = toml_error_at(c, line, col, "unterminated multi-line string (expected closing %s)",
                            basic ? "\"\"\"" : "'''");
        goto cleanup;
      }
      if (x == q) {
        size_t run = 0;
        while (toml_peek_at(c, run) == q) run++;
        if (run >= 3) {
          if (run > 5) {
            c->pos += 5;
            err = toml_error(c, "too many quotes: at most two may precede the closing %s",
                             basic ? "\"\"\"" : "'''");
            goto cleanup;
          }
          TESS_CHECK(toml_buf_put(&b, c->s + c->pos, run - 3));
          c->pos += run;
          break;
        }
        TESS_CHECK(toml_buf_put(&b, c->s + c->pos, run));
        c->pos += run;
      } else if (toml_at_newline(c)) {
        toml_eat_newline(c);
        TESS_CHECK(toml_buf_put(&b, "\n", 1));
      } else if (basic && x == '\\') {
        toml_adv(c);
        size_t k = 0;
        while (toml_peek_at(c, k) == ' ' || toml_peek_at(c, k) == '\t') k++;
        int nx = toml_peek_at(c, k);
        if (nx == '\n' || (nx == '\r' && toml_peek_at(c, k + 1) == '\n')) {
          /* line-ending backslash: drop all whitespace and newlines after it */
          for (;;) {
            toml_skip_ws(c);
            if (!toml_eat_newline(c)) break;
          }
        } else {
          TESS_CHECK(parse_escape(c, &b));
        }
      } else {
        TESS_CHECK(copy_char(c, &b));
      }
    }
  } else {
    toml_adv(c);
    for (;;) {
      int x = toml_peek(c);
      if (x < 0 || toml_at_newline(c)) {
        err = toml_error(c, "unterminated string: expected closing %s before %s",
                         basic ? "'\"'" : "\"'\"", x < 0 ? "end of input" : "end of line");
        goto cleanup;
      }
      if (x == q) { toml_adv(c); break; }
      if (basic && x == '\\') {
        toml_adv(c);
        TESS_CHECK(parse_escape(c, &b));
      } else {
        TESS_CHECK(copy_char(c, &b));
      }
    }
  }
  *out = b.p;
  *len = b.n;
  b.p = NULL;
cleanup:
  free(b.p);
  return err;
}

static int is_bare(int x)
{
  return (x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z') || (x >= '0' && x <= '9') || x == '_' || x == '-';
}

static tess_err_t key_push(toml_key_t *k, char *s, size_t len, int line, int col)
{
  if (k->n == k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 4;
    char **p = realloc(k->part, cap * sizeof *p);
    if (p) k->part = p;
    size_t *l = realloc(k->len, cap * sizeof *l);
    if (l) k->len = l;
    int *ln = realloc(k->line, cap * sizeof *ln);
    if (ln) k->line = ln;
    int *cl = realloc(k->col, cap * sizeof *cl);
    if (cl) k->col = cl;
    if (!p || !l || !ln || !cl) {
      free(s);
      return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "key");
    }
    k->cap = cap;
  }
  k->part[k->n] = s;
  k->len[k->n] = len;
  k->line[k->n] = line;
  k->col[k->n] = col;
  k->n++;
  return TESS_OK;
}

tess_err_t toml_parse_key(toml_cur_t *c, toml_key_t *k)
{
  tess_err_t err = TESS_OK;
  toml_key_clear(k);
  for (;;) {
    toml_skip_ws(c);
    int x = toml_peek(c), line = c->line, col = toml_col(c);
    char *s = NULL;
    size_t len = 0;
    if (x == '"' || x == '\'') {
      TESS_CHECK(toml_parse_string(c, 0, &s, &len));
    } else {
      size_t start = c->pos;
      while (is_bare(toml_peek(c))) c->pos++;
      len = c->pos - start;
      if (len == 0) {
        char f[32];
        err = toml_error(c, "expected a key (letters, digits, '_', '-', or a quoted string), found %s",
                         toml_found(c, f));
        goto cleanup;
      }
      s = malloc(len + 1);
      TESS_REQUIRE(s, TESS_ERR_MEM, "key");
      memcpy(s, c->s + start, len);
      s[len] = '\0';
    }
    TESS_CHECK(key_push(k, s, len, line, col));
    toml_skip_ws(c);
    if (toml_peek(c) != '.') break;
    toml_adv(c);
  }
cleanup:
  return err;
}

void toml_key_clear(toml_key_t *k)
{
  for (size_t i = 0; i < k->n; i++) free(k->part[i]);
  k->n = 0;
}

void toml_key_free(toml_key_t *k)
{
  toml_key_clear(k);
  free(k->part); free(k->len); free(k->line); free(k->col);
  memset(k, 0, sizeof *k);
}

const char *toml_key_show(const char *s, size_t len, char *buf, size_t cap)
{
  int bare = len > 0;
  for (size_t i = 0; i < len; i++) if (!is_bare((unsigned char)s[i])) bare = 0;
  size_t o = 0;
  if (cap < 8) return "";
  if (!bare) buf[o++] = '"';
  for (size_t i = 0; i < len && o + 8 < cap; i++) {
    unsigned char x = (unsigned char)s[i];
    if (x < 0x20 || x == 0x7F) o += (size_t)snprintf(buf + o, cap - o, "\\u%04X", x);
    else if (x == '"' || x == '\\') { buf[o++] = '\\'; buf[o++] = (char)x; }
    else buf[o++] = (char)x;
  }
  if (!bare) buf[o++] = '"';
  buf[o] = '\0';
  return buf;
}
