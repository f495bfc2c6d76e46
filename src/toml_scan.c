/* src/toml_scan.c: the TOML cursor: bytes in, positions and errors out.
 * The whole input is checked once up front (UTF-8, control characters, bare
 * CR), so the grammar code can assume clean text and report grammar errors
 * only. Columns count characters, not bytes; they are computed lazily with a
 * cache so that a megabyte-long line costs linear time, not quadratic. */
#include "toml_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned char b = s[0];
  if (b < 0x80) return 1;
  size_t len;
  uint32_t cp, min;
  if (b >= 0xC2 && b <= 0xDF) { len = 2; cp = b & 0x1F; min = 0x80; }
  else if (b >= 0xE0 && b <= 0xEF) { len = 3; cp = b & 0x0F; min = 0x800; }
  else if (b >= 0xF0 && b <= 0xF4) { len = 4; cp = b & 0x07; min = 0x10000; }
  else return 0;
  if (n < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

tess_err_t toml_scan_init(toml_cur_t *c, const char *text, size_t len, const char *name)
{
  memset(c, 0, sizeof *c);
  c->name = name ? name : "<toml>";
  c->s = (const unsigned char *)text;
  c->n = len;
  c->line = 1;
  size_t i = 0;
  if (len >= 3 && c->s[0] == 0xEF && c->s[1] == 0xBB && c->s[2] == 0xBF) i = 3;  /* BOM */
  c->pos = i;
  c->line_start = i;
  int line = 1;
  size_t line_start = i;
  while (i < len) {
    unsigned char b = c->s[i];
    if (b == '\n') { if (line < INT_MAX) line++; line_start = ++i; continue; }
    c->line = line;
    c->line_start = line_start;
    c->pos = i;
    if (b == '\r') {
      if (i + 1 < len && c->s[i + 1] == '\n') { i++; continue; }
      return toml_error(c, "carriage return (U+000D) not followed by a line feed");
    }
    if ((b < 0x20 && b != '\t') || b == 0x7F)
      return toml_error(c, "control character U+%04X is not allowed in TOML "
                        "(in strings write it as an escape, e.g. \\u%04X)", b, b);
    size_t l = utf8_len(c->s + i, len - i);
    if (l == 0) return toml_error(c, "invalid UTF-8 byte 0x%02X", b);
    i += l;
  }
  c->line = 1;
  c->pos = c->line_start = (len >= 3 && c->s[0] == 0xEF && c->s[1] == 0xBB && c->s[2] == 0xBF) ? 3 : 0;
  return TESS_OK;
}

int toml_col(const toml_cur_t *cc)
{
  toml_cur_t *c = (toml_cur_t *)cc;   /* only the column cache changes */
  if (c->ccol == 0 || c->cpos < c->line_start || c->cpos > c->pos) {
    c->cpos = c->line_start;
    c->ccol = 1;
  }
  for (; c->cpos < c->pos && c->cpos < c->n; c->cpos++)
    if ((c->s[c->cpos] & 0xC0) != 0x80 && c->ccol < INT_MAX) c->ccol++;   /* saturate past 2^31 */
  return c->ccol;
}

void toml_adv(toml_cur_t *c)
{
  if (c->pos >= c->n) return;
  if (c->s[c->pos] == '\n') { if (c->line < INT_MAX) c->line++; c->line_start = c->pos + 1; }
  c->pos++;
}

int toml_at_newline(const toml_cur_t *c)
{
  int b = toml_peek(c);
  return b == '\n' || (b == '\r' && toml_peek_at(c, 1) == '\n');
}

int toml_eat_newline(toml_cur_t *c)
{
  if (!toml_at_newline(c)) return 0;
  if (toml_peek(c) == '\r') toml_adv(c);
  toml_adv(c);
  return 1;
}

void toml_skip_ws(toml_cur_t *c)
{
  while (c->pos < c->n && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t')) c->pos++;
}

void toml_skip_comment(toml_cur_t *c)
{
  if (toml_peek(c) != '#') return;
  while (c->pos < c->n && c->s[c->pos] != '\n' && c->s[c->pos] != '\r') c->pos++;
}

void toml_skip_ws_nl(toml_cur_t *c)
{
  for (;;) {
    toml_skip_ws(c);
    toml_skip_comment(c);
    if (!toml_eat_newline(c)) return;
  }
}

const char *toml_found(const toml_cur_t *c, char buf[32])
{
  if (toml_eof(c)) return "end of input";
  if (toml_at_newline(c)) return "end of line";
  unsigned char b = c->s[c->pos];
  size_t l = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  if (c->pos + l > c->n) l = 1;
  if (b == '\t') return "a tab";
  if (b == ' ') return "a space";
  buf[0] = '\'';
  memcpy(buf + 1, c->s + c->pos, l);
  buf[1 + l] = '\'';
  buf[2 + l] = '\0';
  return buf;
}

static tess_err_t vpush(const toml_cur_t *c, int line, int col, const char *fmt, va_list ap)
{
  char msg[400];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return tess_error_push(TESS_ERR_PARSE, __FILE__, __LINE__, "toml_parse",
                         "%s:%d:%d: %s", c->name, line, col, msg);
}

tess_err_t toml_error(const toml_cur_t *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  tess_err_t e = vpush(c, c->line, toml_col(c), fmt, ap);
  va_end(ap);
  return e;
}

tess_err_t toml_error_at(const toml_cur_t *c, int line, int col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  tess_err_t e = vpush(c, line, col, fmt, ap);
  va_end(ap);
  return e;
}

tess_err_t toml_buf_put(toml_buf_t *b, const void *data, size_t len)
{
  if (b->n + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 32;
    while (cap < b->n + len + 1) {
      if (cap > SIZE_MAX / 2) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "string too long");
      cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "string of %zu bytes", cap);
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, len);
  b->n += len;
  b->p[b->n] = '\0';
  return TESS_OK;
}

tess_err_t toml_buf_utf8(toml_buf_t *b, uint32_t cp)
{
  unsigned char o[4];
  size_t n;
  if (cp < 0x80) { o[0] = (unsigned char)cp; n = 1; }
  else if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | (cp >> 6)); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12)); o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    o[0] = (unsigned char)(0xF0 | (cp >> 18)); o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4;
  }
  return toml_buf_put(b, o, n);
}
