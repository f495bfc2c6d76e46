/* src/toml_value.c: TOML values: strings (via toml_string.c), integers,
 * floats, booleans, the four date-time kinds, arrays and inline tables.
 * Arrays and inline tables recurse, but every level checks its depth against
 * TESS_TOML_MAX_DEPTH first, so hostile nesting gets a message, not a stack
 * overflow. Numbers are validated character by character (underscores only
 * between digits, no leading zeros, no sign on hex/octal/binary) before
 * conversion; integers are range-checked against int64. */
#include "toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(int x) { return x >= '0' && x <= '9'; }

static tess_err_t too_deep(toml_cur_t *c)
{
  return toml_error(c, "nesting deeper than %d levels (arrays, inline tables and dotted keys "
                    "together); flatten the document", TESS_TOML_MAX_DEPTH);
}

/* ---- date-times -------------------------------------------------------- */

/* Exactly n digits at the cursor -> value; -1 if not. */
static int fixed_digits(toml_cur_t *c, int n)
{
  int v = 0;
  for (int k = 0; k < n; k++) {
    int x = toml_peek_at(c, (size_t)k);
    if (!is_digit(x)) return -1;
    v = 10 * v + (x - '0');
  }
  c->pos += (size_t)n;
  return v;
}

static int days_in_month(int y, int m)
{
  static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : d[m - 1];
}

static tess_err_t expect_char(toml_cur_t *c, int ch, const char *what)
{
  if (toml_peek(c) == ch) { toml_adv(c); return TESS_OK; }
  char f[32];
  return toml_error(c, "expected '%c' in %s, found %s", ch, what, toml_found(c, f));
}

#define DT_FIELD(var, n, lo, hi, what, form) do {                                  \
    int l_ = c->line, col_ = toml_col(c);                                           \
    var = fixed_digits(c, n);                                                       \
    if (var < 0) {                                                                  \
      char f_[32];                                                                  \
      return toml_error(c, "expected %d-digit %s in %s, found %s", n, what, form,  \
                        toml_found(c, f_));                                         \
    }                                                                               \
    if (var < (lo) || var > (hi))                                                   \
      return toml_error_at(c, l_, col_, "%s %0*d out of range %0*d-%0*d in %s",     \
                           what, n, var, n, lo, n, hi, form);                       \
  } while (0)

static tess_err_t parse_time(toml_cur_t *c, tess_toml_datetime_t *dt, const char *form)
{
  tess_err_t err = TESS_OK;
  DT_FIELD(dt->hour, 2, 0, 23, "hour", form);
  if ((err = expect_char(c, ':', form))) return err;
  DT_FIELD(dt->minute, 2, 0, 59, "minute", form);
  if ((err = expect_char(c, ':', form))) return err;   /* TOML 1.0: seconds are required */
  DT_FIELD(dt->second, 2, 0, 60, "second", form);      /* 60: leap second (RFC 3339) */
  if (toml_peek(c) == '.') {
    toml_adv(c);
    if (!is_digit(toml_peek(c))) {
      char f[32];
      return toml_error(c, "expected digits after '.' in fractional seconds, found %s", toml_found(c, f));
    }
    int ns = 0, nd = 0;
    while (is_digit(toml_peek(c))) {
      if (nd < 9) { ns = 10 * ns + (toml_peek(c) - '0'); nd++; }  /* beyond ns: truncated */
      toml_adv(c);
    }
    for (; nd < 9; nd++) ns *= 10;
    dt->nanosecond = ns;
  }
  return err;
}

/* At a digit that starts YYYY- or HH:. */
static tess_err_t parse_datetime(toml_cur_t *c, tess_toml_value_t *v)
{
  tess_err_t err = TESS_OK;
  tess_toml_datetime_t *dt = &v->u.dt;
  if (toml_peek_at(c, 2) == ':') {
    v->type = TESS_TOML_TIME_LOCAL;
    return parse_time(c, dt, "local time HH:MM:SS[.frac]");
  }
  const char *form = "date YYYY-MM-DD";
  DT_FIELD(dt->year, 4, 0, 9999, "year", form);
  if ((err = expect_char(c, '-', form))) return err;
  DT_FIELD(dt->month, 2, 1, 12, "month", form);
  if ((err = expect_char(c, '-', form))) return err;
  int l = c->line, col = toml_col(c);
  DT_FIELD(dt->day, 2, 1, 31, "day", form);
  if (dt->day > days_in_month(dt->year, dt->month))
    return toml_error_at(c, l, col, "day %02d does not exist in %04d-%02d", dt->day, dt->year, dt->month);
  v->type = TESS_TOML_DATE_LOCAL;
  int sep = toml_peek(c);
  /* 'T', 't' or a space, but a space only when a time follows */
  if (!(sep == 'T' || sep == 't' ||
        (sep == ' ' && is_digit(toml_peek_at(c, 1)) && is_digit(toml_peek_at(c, 2)) &&
         toml_peek_at(c, 3) == ':')))
    return TESS_OK;
  toml_adv(c);
  const char *tform = "date-time YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM]";
  if ((err = parse_time(c, dt, tform))) return err;
  v->type = TESS_TOML_DATETIME_LOCAL;
  int z = toml_peek(c);
  if (z == 'Z' || z == 'z') {
    toml_adv(c);
    v->type = TESS_TOML_DATETIME;
  } else if (z == '+' || z == '-') {
    toml_adv(c);
    int oh, om;
    DT_FIELD(oh, 2, 0, 23, "offset hour", tform);
    if ((err = expect_char(c, ':', tform))) return err;
    DT_FIELD(om, 2, 0, 59, "offset minute", tform);
    dt->offset_minutes = (z == '-' ? -1 : 1) * (60 * oh + om);
    v->type = TESS_TOML_DATETIME;
  }
  return TESS_OK;
}

/* ---- numbers ----------------------------------------------------------- */

static int digit_in(int x, int base)
{
  if (base == 16) return is_digit(x) || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F');
  if (base == 8) return x >= '0' && x <= '7';
  if (base == 2) return x == '0' || x == '1';
  return is_digit(x);
}

/* digit ( '_'? digit )* at t[*i]; copies digits to out; returns count or -1
 * for a misplaced underscore (*i at it). */
static long digit_run(const char *t, size_t n, size_t *i, int base, toml_buf_t *out)
{
  long nd = 0;
  while (*i < n) {
    if (digit_in(t[*i], base)) {
      if (out && toml_buf_put(out, t + *i, 1)) return -2;
      nd++; (*i)++;
    } else if (t[*i] == '_') {
      if (nd == 0 || *i + 1 >= n || !digit_in(t[*i + 1], base)) return -1;
      (*i)++;
    } else break;
  }
  return nd;
}

static tess_err_t parse_number(toml_cur_t *c, tess_toml_value_t *v)
{
  tess_err_t err = TESS_OK;
  toml_buf_t clean = {0};
  int line = c->line, col = toml_col(c);
  size_t start = c->pos;
  while (c->pos < c->n) {
    int x = c->s[c->pos];
    if (is_digit(x) || (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || x == '_' || x == '.' ||
        ((x == '+' || x == '-') && (c->pos == start || c->s[c->pos - 1] == 'e' || c->s[c->pos - 1] == 'E')))
      c->pos++;
    else break;
  }
  const char *t = (const char *)c->s + start;
  size_t n = c->pos - start, i = 0;
  char shown[64];   /* filled only when a message needs it: see SHOWN */
#define SHOWN (snprintf(shown, sizeof shown, "%.*s%s", (int)(n < 40 ? n : 40), t, n > 40 ? "..." : ""), shown)
  int neg = 0, sign = 0;
  if (n && (t[0] == '+' || t[0] == '-')) { sign = 1; neg = t[0] == '-'; i = 1; }
  if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
    v->type = TESS_TOML_FLOAT;
    if (t[i] == 'i') v->u.f = neg ? -HUGE_VAL : HUGE_VAL;
    else { v->u.f = nan(""); if (neg) v->u.f = -v->u.f; }
    return TESS_OK;
  }
  if (n - i >= 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'o' || t[i + 1] == 'b')) {
    int base = t[i + 1] == 'x' ? 16 : t[i + 1] == 'o' ? 8 : 2;
    const char *bname = base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary";
    if (sign) return toml_error_at(c, line, col, "'%s': a sign is not allowed on %s integers", SHOWN, bname);
    i += 2;
    uint64_t u = 0;
    size_t d0 = i;
    long nd = digit_run(t, n, &i, base, NULL);
    if (nd <= 0 || i != n)
      return toml_error_at(c, line, col, "invalid %s integer '%s' (expected 0%c then digits, "
                           "'_' only between digits)", bname, SHOWN, t[d0 - 1]);
    for (size_t k = d0; k < n; k++) {
      if (t[k] == '_') continue;
      int dv = is_digit(t[k]) ? t[k] - '0' : (t[k] | 0x20) - 'a' + 10;
      if (u > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base || u * (uint64_t)base + (uint64_t)dv > (uint64_t)INT64_MAX)
        return toml_error_at(c, line, col, "integer '%s' does not fit in 64 bits (max 0x7FFFFFFFFFFFFFFF)", SHOWN);
      u = u * (uint64_t)base + (uint64_t)dv;
    }
    v->type = TESS_TOML_INT;
    v->u.i = (int64_t)u;
    return TESS_OK;
  }
  if (neg) TESS_CHECK(toml_buf_put(&clean, "-", 1));
  size_t int0 = i;
  long nd = digit_run(t, n, &i, 10, &clean);
  if (nd == -2) { err = TESS_ERR_MEM; goto cleanup; }
  if (nd <= 0) {
    err = toml_error_at(c, line, col, "invalid number '%s' (expected digits; '_' only between digits)", SHOWN);
    goto cleanup;
  }
  if (t[int0] == '0' && nd > 1) {
    err = toml_error_at(c, line, col, "leading zeros are not allowed in '%s'", SHOWN);
    goto cleanup;
  }
  int is_float = 0;
  if (i < n && t[i] == '.') {
    is_float = 1;
    i++;
    TESS_CHECK(toml_buf_put(&clean, ".", 1));
    nd = digit_run(t, n, &i, 10, &clean);
    if (nd <= 0) {
      err = toml_error_at(c, line, col, "invalid float '%s' (expected digits after '.')", SHOWN);
      goto cleanup;
    }
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    is_float = 1;
    i++;
    TESS_CHECK(toml_buf_put(&clean, "e", 1));
    if (i < n && (t[i] == '+' || t[i] == '-')) TESS_CHECK(toml_buf_put(&clean, t + i++, 1));
    nd = digit_run(t, n, &i, 10, &clean);
    if (nd <= 0) {
      err = toml_error_at(c, line, col, "invalid float '%s' (expected digits in the exponent)", SHOWN);
      goto cleanup;
    }
  }
  if (i != n) {
    err = toml_error_at(c, line, col, "invalid number '%s' (expected an integer, a float such as "
                        "1.5e-3, inf or nan)", SHOWN);
    goto cleanup;
  }
  if (is_float) {
    v->type = TESS_TOML_FLOAT;
    v->u.f = strtod(clean.p, NULL);
  } else {
    errno = 0;
    long long x = strtoll(clean.p, NULL, 10);
    if (errno == ERANGE) {
      err = toml_error_at(c, line, col, "integer '%s' out of the 64-bit range "
                          "-9223372036854775808..9223372036854775807", SHOWN);
      goto cleanup;
    }
    v->type = TESS_TOML_INT;
    v->u.i = (int64_t)x;
  }
cleanup:
  free(clean.p);
  return err;
#undef SHOWN
}

/* ---- arrays and inline tables ------------------------------------------ */

static tess_err_t parse_array(toml_cur_t *c, tess_toml_value_t *a)
{
  tess_err_t err = TESS_OK;
  tess_toml_value_t *item = NULL;
  int line = a->line, col = a->col;
  toml_adv(c);                                 /* '[' */
  for (;;) {
    toml_skip_ws_nl(c);
    if (toml_peek(c) == ']') { toml_adv(c); break; }
    if (toml_eof(c)) {
      err = toml_error(c, "unterminated array (opened at line %d, column %d): expected ']'", line, col);
      goto cleanup;
    }
    TESS_CHECK(toml_parse_value(c, a->depth + 1, &item));
    TESS_CHECK(toml_array_add(a, item));
    item = NULL;
    toml_skip_ws_nl(c);
    int x = toml_peek(c);
    if (x == ',') { toml_adv(c); continue; }
    if (x == ']') { toml_adv(c); break; }
    char f[32];
    err = toml_error(c, "expected ',' or ']' in array (opened at line %d, column %d), found %s",
                     line, col, toml_found(c, f));
    goto cleanup;
  }
cleanup:
  toml_node_free(item);
  return err;
}

static tess_err_t parse_inline_table(toml_cur_t *c, tess_toml_value_t *t)
{
  tess_err_t err = TESS_OK;
  tess_toml_value_t *val = NULL;
  toml_key_t k = {0};
  char f[32];
  toml_adv(c);                                 /* '{' */
  toml_skip_ws(c);
  if (toml_peek(c) == '}') { toml_adv(c); goto done; }
  for (;;) {
    TESS_CHECK(toml_parse_key(c, &k));
    if (toml_peek(c) != '=') {
      err = toml_error(c, "expected '=' after key in inline table, found %s", toml_found(c, f));
      goto cleanup;
    }
    toml_adv(c);
    toml_skip_ws(c);
    if (t->depth + (int)k.n > TESS_TOML_MAX_DEPTH) { err = too_deep(c); goto cleanup; }
    TESS_CHECK(toml_parse_value(c, t->depth + (int)k.n, &val));
    TESS_CHECK(toml_assign(c, t, &k, val));
    val = NULL;
    toml_skip_ws(c);
    int x = toml_peek(c);
    if (x == '}') { toml_adv(c); break; }
    if (x == ',') {
      toml_adv(c);
      toml_skip_ws(c);
      if (toml_peek(c) == '}') {
        err = toml_error(c, "trailing comma in inline table (not allowed in TOML 1.0)");
        goto cleanup;
      }
      continue;
    }
    if (toml_at_newline(c) || toml_eof(c))
      err = toml_error(c, "expected ',' or '}': an inline table must be on one line (TOML 1.0), found %s",
                       toml_found(c, f));
    else
      err = toml_error(c, "expected ',' or '}' in inline table, found %s", toml_found(c, f));
    goto cleanup;
  }
done:
  toml_freeze(t);
cleanup:
  toml_node_free(val);
  toml_key_free(&k);
  return err;
}

tess_err_t toml_parse_value(toml_cur_t *c, int depth, tess_toml_value_t **out)
{
  tess_err_t err = TESS_OK;
  tess_toml_value_t *v = NULL;
  char f[32];
  *out = NULL;
  if (depth > TESS_TOML_MAX_DEPTH) return too_deep(c);
  int x = toml_peek(c), line = c->line, col = toml_col(c);
  v = toml_node_new(TESS_TOML_BOOL, line, col, depth);
  TESS_REQUIRE(v, TESS_ERR_MEM, "value");
  if (x == '"' || x == '\'') {
    v->type = TESS_TOML_STRING;
    TESS_CHECK(toml_parse_string(c, 1, &v->u.str.s, &v->u.str.len));
  } else if (x == 't' && c->n - c->pos >= 4 && memcmp(c->s + c->pos, "true", 4) == 0) {
    v->u.b = 1;
    c->pos += 4;
  } else if (x == 'f' && c->n - c->pos >= 5 && memcmp(c->s + c->pos, "false", 5) == 0) {
    v->u.b = 0;
    c->pos += 5;
  } else if (x == '[') {
    v->type = TESS_TOML_ARRAY;
    TESS_CHECK(parse_array(c, v));
  } else if (x == '{') {
    v->type = TESS_TOML_TABLE;
    TESS_CHECK(parse_inline_table(c, v));
  } else if (is_digit(x) && is_digit(toml_peek_at(c, 1)) &&
             ((is_digit(toml_peek_at(c, 2)) && is_digit(toml_peek_at(c, 3)) && toml_peek_at(c, 4) == '-') ||
              toml_peek_at(c, 2) == ':')) {
    TESS_CHECK(parse_datetime(c, v));
  } else if (is_digit(x) || x == '+' || x == '-' || x == 'i' || x == 'n') {
    TESS_CHECK(parse_number(c, v));
  } else {
    if (x < 0 || toml_at_newline(c) || x == '#')
      err = toml_error(c, "expected a value after '=', found %s", x == '#' ? "a comment" : toml_found(c, f));
    else
      err = toml_error(c, "expected a value (string, number, true/false, date-time, array or inline "
                       "table), found %s", toml_found(c, f));
    goto cleanup;
  }
  *out = v;
  v = NULL;
cleanup:
  toml_node_free(v);
  return err;
}
