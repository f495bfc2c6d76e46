/* pde/pinn_expr.c: residual expressions given as text.
 * A small recursive-descent parser builds a DAG of nodes in an arena (a node
 * only points at older nodes, so index order is a topological order).
 * grad(e, "x") and laplacian(e) are resolved at parse time by symbolic
 * differentiation, so the DAG that is evaluated holds only arithmetic,
 * coordinates, constants, functions and "leaves": derivatives d^alpha of a
 * network output (and the Laplacian of an output, which maps to the jet's
 * forward-Laplacian component). Constants fold as nodes are made. Per chunk
 * the DAG is evaluated on B points at once, and its reverse mode turns the
 * seeds d loss / d residual into the adjoint of the output jet.
 * Grammar and the mapping of leaves to jet components: docs/pinn.md. */
#include "pinn_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N_NUM, N_COORD, N_OUT, N_LAP, N_ADD, N_SUB, N_MUL, N_DIV, N_NEG, N_POW, N_FUN };
enum { F_SIN, F_COS, F_EXP, F_LOG, F_SQRT, F_TANH, F_N };
static const char *const fun_names[F_N] = { "sin", "cos", "exp", "log", "sqrt", "tanh" };

#define NAME_MAX_LEN 32

typedef struct {
  int kind, a, b, fun, idx, order;
  double num;
  unsigned char alpha[TESS_JET_MAX_IN];
  int term0, nterm;               /* bound leaf terms */
} node_t;

struct pinn_expr {
  int din, dout;
  char in_names[TESS_JET_MAX_IN][NAME_MAX_LEN];
  char (*out_names)[NAME_MAX_LEN];
  node_t *n;
  int nn, cap;
  char (*def_names)[NAME_MAX_LEN];
  int *def_node, ndefs, defcap;
  pinn_leaf_term_t *terms;
  int nterms, termcap;
  double *val, *bar;
  size_t scratch;
  char *mark;
  /* parser state */
  const char *text, *p;
};

/* ---- arena and folding constructors ------------------------------------ */
static int node_same(const node_t *a, const node_t *b, int din)
{
  if (a->kind != b->kind || a->a != b->a || a->b != b->b || a->idx != b->idx || a->fun != b->fun)
    return 0;
  if (memcmp(&a->num, &b->num, sizeof a->num) != 0) return 0;
  return memcmp(a->alpha, b->alpha, (size_t)din) == 0;
}

/* Hash-consing (linear search: expressions are small): an identical node is
 * reused, so equal subexpressions are one node (computed once) and the
 * folding rules below can see that a - a is zero. */
static int node_new(pinn_expr_t *ex, node_t nd)
{
  for (int k = ex->nn - 1; k >= 0; k--)
    if (node_same(&ex->n[k], &nd, ex->din)) return k;
  if (ex->nn == ex->cap) {
    int cap = ex->cap ? 2 * ex->cap : 256;
    node_t *n = realloc(ex->n, (size_t)cap * sizeof *n);
    if (!n) return -1;
    ex->n = n;
    ex->cap = cap;
  }
  nd.nterm = 0;
  ex->n[ex->nn] = nd;
  return ex->nn++;
}
static int is_num(const pinn_expr_t *ex, int a, double v)
{
  return a >= 0 && ex->n[a].kind == N_NUM && ex->n[a].num == v;
}
static int mk_num(pinn_expr_t *ex, double v)
{
  node_t nd = { .kind = N_NUM, .a = -1, .b = -1, .num = v };
  return node_new(ex, nd);
}
static int mk_coord(pinn_expr_t *ex, int i)
{
  node_t nd = { .kind = N_COORD, .a = -1, .b = -1, .idx = i };
  return node_new(ex, nd);
}
static int mk_out(pinn_expr_t *ex, int o, const unsigned char *alpha)
{
  node_t nd = { .kind = N_OUT, .a = -1, .b = -1, .idx = o };
  for (int i = 0; i < ex->din; i++) { nd.alpha[i] = alpha ? alpha[i] : 0; nd.order += nd.alpha[i]; }
  return node_new(ex, nd);
}
static int mk_lap(pinn_expr_t *ex, int o)
{
  node_t nd = { .kind = N_LAP, .a = -1, .b = -1, .idx = o, .order = 2 };
  return node_new(ex, nd);
}
static int mk_neg(pinn_expr_t *ex, int a);
static int mk_bin(pinn_expr_t *ex, int kind, int a, int b)
{
  if (a < 0 || b < 0) return -1;
  const node_t *A = &ex->n[a], *B = &ex->n[b];
  if (A->kind == N_NUM && B->kind == N_NUM) {
    double x = A->num, y = B->num;
    return mk_num(ex, kind == N_ADD ? x + y : kind == N_SUB ? x - y : kind == N_MUL ? x * y : x / y);
  }
  switch (kind) {
  case N_ADD:
    if (is_num(ex, a, 0)) return b;
    if (is_num(ex, b, 0)) return a;
    if (B->kind == N_NEG) return mk_bin(ex, N_SUB, a, B->a);       /* a + (-b) = a - b */
    if (A->kind == N_NEG) return mk_bin(ex, N_SUB, b, A->a);       /* (-a) + b = b - a */
    break;
  case N_SUB:
    if (a == b) return mk_num(ex, 0);                              /* exact for finite a */
    if (is_num(ex, b, 0)) return a;
    if (is_num(ex, a, 0)) return mk_neg(ex, b);
    break;
  case N_MUL:
    if (is_num(ex, a, 0) || is_num(ex, b, 0)) return mk_num(ex, 0);
    if (is_num(ex, a, 1)) return b;
    if (is_num(ex, b, 1)) return a;
    break;
  case N_DIV: if (is_num(ex, a, 0)) return mk_num(ex, 0); if (is_num(ex, b, 1)) return a; break;
  }
  node_t nd = { .kind = kind, .a = a, .b = b };
  return node_new(ex, nd);
}
static int mk_neg(pinn_expr_t *ex, int a)
{
  if (a < 0) return -1;
  if (ex->n[a].kind == N_NUM) return mk_num(ex, -ex->n[a].num);
  if (ex->n[a].kind == N_NEG) return ex->n[a].a;
  node_t nd = { .kind = N_NEG, .a = a, .b = -1 };
  return node_new(ex, nd);
}
static double fun_apply(int f, double x)
{
  switch (f) {
  case F_SIN: return sin(x);
  case F_COS: return cos(x);
  case F_EXP: return exp(x);
  case F_LOG: return log(x);
  case F_SQRT: return sqrt(x);
  default: return tanh(x);
  }
}
static int mk_fun(pinn_expr_t *ex, int f, int a)
{
  if (a < 0) return -1;
  if (ex->n[a].kind == N_NUM) return mk_num(ex, fun_apply(f, ex->n[a].num));
  node_t nd = { .kind = N_FUN, .a = a, .b = -1, .fun = f };
  return node_new(ex, nd);
}
static int mk_pow(pinn_expr_t *ex, int a, double p)
{
  if (a < 0) return -1;
  if (ex->n[a].kind == N_NUM) return mk_num(ex, pow(ex->n[a].num, p));
  if (p == 0) return mk_num(ex, 1);
  if (p == 1) return a;
  node_t nd = { .kind = N_POW, .a = a, .b = -1, .num = p };
  return node_new(ex, nd);
}

/* ---- symbolic differentiation ------------------------------------------ */
static int diff(pinn_expr_t *ex, int e, int i, int *memo)
{
  if (e < 0) return -1;
  if (memo[e] >= 0) return memo[e];
  node_t nd = ex->n[e];          /* copy: the arena may move */
  int r = -1, da, db;
  switch (nd.kind) {
  case N_NUM: r = mk_num(ex, 0); break;
  case N_COORD: r = mk_num(ex, nd.idx == i ? 1 : 0); break;
  case N_OUT: {
    unsigned char al[TESS_JET_MAX_IN];
    memcpy(al, nd.alpha, sizeof al);
    al[i]++;
    r = mk_out(ex, nd.idx, al);
    break;
  }
  case N_LAP:
    r = mk_num(ex, 0);
    for (int k = 0; k < ex->din && r >= 0; k++) {
      unsigned char al[TESS_JET_MAX_IN] = {0};
      al[k] = 2;
      al[i]++;
      r = mk_bin(ex, N_ADD, r, mk_out(ex, nd.idx, al));
    }
    break;
  case N_ADD: case N_SUB:
    da = diff(ex, nd.a, i, memo); db = diff(ex, nd.b, i, memo);
    r = mk_bin(ex, nd.kind, da, db);
    break;
  case N_NEG: r = mk_neg(ex, diff(ex, nd.a, i, memo)); break;
  case N_MUL:
    da = diff(ex, nd.a, i, memo); db = diff(ex, nd.b, i, memo);
    r = mk_bin(ex, N_ADD, mk_bin(ex, N_MUL, da, nd.b), mk_bin(ex, N_MUL, nd.a, db));
    break;
  case N_DIV:
    da = diff(ex, nd.a, i, memo); db = diff(ex, nd.b, i, memo);
    r = mk_bin(ex, N_SUB, mk_bin(ex, N_DIV, da, nd.b),
               mk_bin(ex, N_DIV, mk_bin(ex, N_MUL, nd.a, db), mk_pow(ex, nd.b, 2)));
    break;
  case N_POW:
    da = diff(ex, nd.a, i, memo);
    r = mk_bin(ex, N_MUL, mk_bin(ex, N_MUL, mk_num(ex, nd.num), mk_pow(ex, nd.a, nd.num - 1)), da);
    break;
  case N_FUN: {
    da = diff(ex, nd.a, i, memo);
    int g = -1;
    switch (nd.fun) {
    case F_SIN: g = mk_fun(ex, F_COS, nd.a); break;
    case F_COS: g = mk_neg(ex, mk_fun(ex, F_SIN, nd.a)); break;
    case F_EXP: g = e; break;
    case F_LOG: g = mk_bin(ex, N_DIV, mk_num(ex, 1), nd.a); break;
    case F_SQRT: g = mk_bin(ex, N_DIV, mk_num(ex, 0.5), e); break;
    default: g = mk_bin(ex, N_SUB, mk_num(ex, 1), mk_pow(ex, e, 2)); break;
    }
    r = mk_bin(ex, N_MUL, g, da);
    break;
  }
  }
  memo[e] = r;
  return r;
}

static int diff_root(pinn_expr_t *ex, int e, int i)
{
  int n0 = ex->nn;
  int *memo = malloc((size_t)n0 * sizeof *memo);
  if (!memo) return -1;
  for (int k = 0; k < n0; k++) memo[k] = -1;
  int r = diff(ex, e, i, memo);
  free(memo);
  return r;
}

static int laplacian_of(pinn_expr_t *ex, int e)
{
  if (e < 0) return -1;
  if (ex->n[e].kind == N_OUT && ex->n[e].order == 0) return mk_lap(ex, ex->n[e].idx);
  int r = mk_num(ex, 0);
  for (int k = 0; k < ex->din && r >= 0; k++)
    r = mk_bin(ex, N_ADD, r, diff_root(ex, diff_root(ex, e, k), k));
  return r;
}

/* ---- parser ------------------------------------------------------------ */
#define PERR(...) do { err = tess_error_push(TESS_ERR_PARSE, __FILE__, __LINE__, __func__, \
    __VA_ARGS__); goto cleanup; } while (0)
#define COL(ex) ((int)((ex)->p - (ex)->text) + 1)

static void skip_ws(pinn_expr_t *ex) { while (isspace((unsigned char)*ex->p)) ex->p++; }
static int accept(pinn_expr_t *ex, const char *tok)
{
  skip_ws(ex);
  size_t n = strlen(tok);
  if (strncmp(ex->p, tok, n) != 0) return 0;
  if (n == 1 && tok[0] == '*' && ex->p[1] == '*') return 0;   /* '*' must not eat '**' */
  ex->p += n;
  return 1;
}
static int read_ident(pinn_expr_t *ex, char *buf)
{
  skip_ws(ex);
  const char *s = ex->p;
  if (!(isalpha((unsigned char)*s) || *s == '_')) return 0;
  size_t n = 0;
  while (isalnum((unsigned char)s[n]) || s[n] == '_') n++;
  if (n >= NAME_MAX_LEN) n = NAME_MAX_LEN - 1;
  memcpy(buf, s, n);
  buf[n] = 0;
  while (isalnum((unsigned char)*ex->p) || *ex->p == '_') ex->p++;
  return 1;
}
static int find_name(char (*names)[NAME_MAX_LEN], int n, const char *s)
{
  for (int i = 0; i < n; i++) if (strcmp(names[i], s) == 0) return i;
  return -1;
}

static tess_err_t parse_expr(pinn_expr_t *ex, int *out);

static tess_err_t parse_wrt(pinn_expr_t *ex, int *idx)
{
  tess_err_t err = TESS_OK;
  char name[NAME_MAX_LEN];
  skip_ws(ex);
  if (*ex->p == '"' || *ex->p == '\'') {
    char q = *ex->p++;
    size_t n = 0;
    while (ex->p[n] && ex->p[n] != q) n++;
    if (!ex->p[n]) PERR("in '%s' at column %d: unterminated string", ex->text, COL(ex));
    if (n >= NAME_MAX_LEN) n = NAME_MAX_LEN - 1;
    memcpy(name, ex->p, n);
    name[n] = 0;
    while (*ex->p != q) ex->p++;
    ex->p++;
  } else if (!read_ident(ex, name)) {
    PERR("in '%s' at column %d: expected a coordinate name after ','", ex->text, COL(ex));
  }
  *idx = find_name(ex->in_names, ex->din, name);
  if (*idx < 0) PERR("in '%s' at column %d: '%s' is not a coordinate (grad(e, \"x\") names one "
                     "of the inputs)", ex->text, COL(ex), name);
cleanup:
  return err;
}

static tess_err_t parse_primary(pinn_expr_t *ex, int *out)
{
  tess_err_t err = TESS_OK;
  char name[NAME_MAX_LEN];
  skip_ws(ex);
  *out = -1;
  if (accept(ex, "(")) {
    TESS_CHECK(parse_expr(ex, out));
    if (!accept(ex, ")")) PERR("in '%s' at column %d: expected ')'", ex->text, COL(ex));
  } else if (isdigit((unsigned char)*ex->p) || (*ex->p == '.' && isdigit((unsigned char)ex->p[1]))) {
    char *end;
    double v = strtod(ex->p, &end);
    ex->p = end;
    *out = mk_num(ex, v);
  } else if (read_ident(ex, name)) {
    if (accept(ex, "(")) {
      int a = -1, f;
      TESS_CHECK(parse_expr(ex, &a));
      if (strcmp(name, "grad") == 0) {
        int i;
        if (!accept(ex, ",")) PERR("in '%s' at column %d: grad needs two arguments: grad(e, \"x\")",
                                   ex->text, COL(ex));
        TESS_CHECK(parse_wrt(ex, &i));
        *out = diff_root(ex, a, i);
      } else if (strcmp(name, "laplacian") == 0) {
        *out = laplacian_of(ex, a);
      } else {
        for (f = 0; f < F_N; f++) if (strcmp(name, fun_names[f]) == 0) break;
        if (f == F_N) PERR("in '%s' at column %d: unknown function '%s' (known: grad, laplacian, "
                           "sin, cos, exp, log, sqrt, tanh)", ex->text, COL(ex), name);
        *out = mk_fun(ex, f, a);
      }
      if (!accept(ex, ")")) PERR("in '%s' at column %d: expected ')'", ex->text, COL(ex));
    } else {
      int k;
      if ((k = find_name(ex->def_names, ex->ndefs, name)) >= 0) *out = ex->def_node[k];
      else if ((k = find_name(ex->in_names, ex->din, name)) >= 0) *out = mk_coord(ex, k);
      else if ((k = find_name(ex->out_names, ex->dout, name)) >= 0) *out = mk_out(ex, k, NULL);
      else if (strcmp(name, "pi") == 0) *out = mk_num(ex, 3.14159265358979323846);
      else PERR("in '%s' at column %d: unknown name '%s' (not a coordinate, output, definition "
                "or pi)", ex->text, COL(ex), name);
    }
  } else {
    PERR("in '%s' at column %d: expected a number, a name or '('", ex->text, COL(ex));
  }
  if (*out < 0) PERR("out of memory building '%s'", ex->text);
cleanup:
  return err;
}

static tess_err_t parse_unary(pinn_expr_t *ex, int *out);

static tess_err_t parse_power(pinn_expr_t *ex, int *out)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(parse_primary(ex, out));
  if (accept(ex, "**") || accept(ex, "^")) {
    int e = -1;
    int col = COL(ex);
    TESS_CHECK(parse_unary(ex, &e));
    if (ex->n[e].kind != N_NUM)
      PERR("in '%s' at column %d: an exponent must be a constant", ex->text, col);
    *out = mk_pow(ex, *out, ex->n[e].num);
  }
cleanup:
  return err;
}

static tess_err_t parse_unary(pinn_expr_t *ex, int *out)
{
  tess_err_t err = TESS_OK;
  if (accept(ex, "-")) {
    TESS_CHECK(parse_unary(ex, out));
    *out = mk_neg(ex, *out);
  } else if (accept(ex, "+")) {
    TESS_CHECK(parse_unary(ex, out));
  } else {
    TESS_CHECK(parse_power(ex, out));
  }
cleanup:
  return err;
}

static tess_err_t parse_term(pinn_expr_t *ex, int *out)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(parse_unary(ex, out));
  for (;;) {
    int kind, r = -1;
    if (accept(ex, "*")) kind = N_MUL;
    else if (accept(ex, "/")) kind = N_DIV;
    else break;
    TESS_CHECK(parse_unary(ex, &r));
    *out = mk_bin(ex, kind, *out, r);
  }
cleanup:
  return err;
}

static tess_err_t parse_expr(pinn_expr_t *ex, int *out)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(parse_term(ex, out));
  for (;;) {
    int kind, r = -1;
    if (accept(ex, "+")) kind = N_ADD;
    else if (accept(ex, "-")) kind = N_SUB;
    else break;
    TESS_CHECK(parse_term(ex, &r));
    *out = mk_bin(ex, kind, *out, r);
  }
cleanup:
  return err;
}

tess_err_t pinn_expr_parse(pinn_expr_t *ex, const char *text, int *root)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(ex && text && root, TESS_ERR_ARG, "NULL argument");
  ex->text = text;
  ex->p = text;
  TESS_CHECK(parse_expr(ex, root));
  skip_ws(ex);
  if (*ex->p) PERR("in '%s' at column %d: unexpected '%c'", text, COL(ex), *ex->p);
  for (int k = 0; k < ex->nn; k++)
    TESS_REQUIRE(ex->n[k].kind != N_OUT || ex->n[k].order <= 4, TESS_ERR_UNSUPPORTED,
                 "'%s' needs a derivative of order %d; jets go to order 4", text, ex->n[k].order);
cleanup:
  return err;
}

/* ---- create / define ------------------------------------------------------ */
tess_err_t pinn_expr_create(int din, const char *const in_names[], int dout,
                            const char *const out_names[], pinn_expr_t **exp)
{
  tess_err_t err = TESS_OK;
  pinn_expr_t *ex = NULL;
  TESS_REQUIRE(exp && in_names && out_names, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(din >= 1 && din <= TESS_JET_MAX_IN && dout >= 1, TESS_ERR_ARG,
               "din %d dout %d", din, dout);
  ex = calloc(1, sizeof *ex);
  TESS_REQUIRE(ex, TESS_ERR_MEM, "expressions");
  ex->din = din;
  ex->dout = dout;
  ex->out_names = calloc((size_t)dout, sizeof *ex->out_names);
  TESS_REQUIRE(ex->out_names, TESS_ERR_MEM, "names");
  for (int i = 0; i < din + dout; i++) {
    const char *s = i < din ? in_names[i] : out_names[i - din];
    TESS_REQUIRE(s && s[0] && strlen(s) < NAME_MAX_LEN, TESS_ERR_ARG,
                 "%s name %d missing or longer than %d", i < din ? "input" : "output",
                 i < din ? i : i - din, NAME_MAX_LEN - 1);
    strcpy(i < din ? ex->in_names[i] : ex->out_names[i - din], s);
  }
  *exp = ex;
  ex = NULL;
cleanup:
  pinn_expr_destroy(&ex);
  return err;
}

void pinn_expr_destroy(pinn_expr_t **exp)
{
  if (!exp || !*exp) return;
  pinn_expr_t *ex = *exp;
  free(ex->out_names);
  free(ex->n);
  free(ex->def_names);
  free(ex->def_node);
  free(ex->terms);
  free(ex->val);
  free(ex->bar);
  free(ex->mark);
  free(ex);
  *exp = NULL;
}

tess_err_t pinn_expr_define(pinn_expr_t *ex, const char *name, const char *text)
{
  tess_err_t err = TESS_OK;
  int root = -1;
  TESS_REQUIRE(ex && name && text, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(name[0] && strlen(name) < NAME_MAX_LEN, TESS_ERR_ARG, "bad name '%s'", name);
  for (const char *c = name; *c; c++)
    TESS_REQUIRE(isalnum((unsigned char)*c) || *c == '_', TESS_ERR_ARG,
                 "name '%s': letters, digits and '_' only", name);
  TESS_REQUIRE(find_name(ex->in_names, ex->din, name) < 0 && find_name(ex->out_names, ex->dout, name) < 0,
               TESS_ERR_ARG, "'%s' is a coordinate or output name and cannot be redefined", name);
  TESS_CHECK(pinn_expr_parse(ex, text, &root));
  int k = find_name(ex->def_names, ex->ndefs, name);
  if (k < 0) {
    if (ex->ndefs == ex->defcap) {
      int cap = ex->defcap ? 2 * ex->defcap : 16;
      void *a = realloc(ex->def_names, (size_t)cap * sizeof *ex->def_names);
      TESS_REQUIRE(a, TESS_ERR_MEM, "definitions");
      ex->def_names = a;
      void *b = realloc(ex->def_node, (size_t)cap * sizeof *ex->def_node);
      TESS_REQUIRE(b, TESS_ERR_MEM, "definitions");
      ex->def_node = b;
      ex->defcap = cap;
    }
    k = ex->ndefs++;
    strcpy(ex->def_names[k], name);
  }
  ex->def_node[k] = root;
cleanup:
  return err;
}

/* ---- planning and binding ------------------------------------------------ */
static tess_err_t mark_reach(pinn_expr_t *ex, const int *roots, int nroots)
{
  tess_err_t err = TESS_OK;
  char *m = realloc(ex->mark, (size_t)(ex->nn ? ex->nn : 1));
  TESS_REQUIRE(m, TESS_ERR_MEM, "marks");
  ex->mark = m;
  memset(m, 0, (size_t)ex->nn);
  for (int r = 0; r < nroots; r++) m[roots[r]] = 1;
  for (int k = ex->nn - 1; k >= 0; k--)
    if (m[k]) {
      if (ex->n[k].a >= 0) m[ex->n[k].a] = 1;
      if (ex->n[k].b >= 0) m[ex->n[k].b] = 1;
    }
cleanup:
  return err;
}

/* Multi-indices of order k in d dimensions, in a fixed order. */
static int multi_indices(int d, int k, unsigned char (*out)[TESS_JET_MAX_IN])
{
  int n = 0;
  unsigned char a[TESS_JET_MAX_IN] = {0};
  a[0] = (unsigned char)k;
  for (;;) {
    memcpy(out[n++], a, sizeof a);
    /* next composition of k into d parts (reverse lexicographic) */
    int i = d - 2;
    while (i >= 0 && a[i] == 0) i--;
    if (i < 0) break;
    a[i]--;
    int rest = 0;
    for (int j = i + 1; j < d; j++) { rest += a[j]; a[j] = 0; }
    a[i + 1] = (unsigned char)(rest + 1);
  }
  return n;
}

static int pure_axis(const unsigned char *alpha, int d)
{
  int nz = 0, ax = -1;
  for (int i = 0; i < d; i++) if (alpha[i]) { nz++; ax = i; }
  return nz == 1 ? ax : -1;
}

static void dir_of(const unsigned char *beta, int d, int k, double *v)
{
  for (int i = 0; i < d; i++) v[i] = (double)beta[i] / k;
}

static tess_err_t spec_add_dir(tess_jet_spec_t *s, int d, const double *v, int order)
{
  tess_err_t err = TESS_OK;
  for (int k = 0; k < s->ndirs; k++)
    if (memcmp(s->dir[k], v, (size_t)d * sizeof *v) == 0) {
      if (s->dir_order[k] < order) s->dir_order[k] = order;
      return TESS_OK;
    }
  TESS_REQUIRE(s->ndirs < TESS_JET_MAX_DIRS, TESS_ERR_UNSUPPORTED,
               "more than %d jet directions needed", TESS_JET_MAX_DIRS);
  memset(s->dir[s->ndirs], 0, sizeof s->dir[0]);
  memcpy(s->dir[s->ndirs], v, (size_t)d * sizeof *v);
  s->dir_order[s->ndirs++] = order;
cleanup:
  return err;
}

tess_err_t pinn_expr_plan(pinn_expr_t *ex, const int *roots, int nroots, int din,
                          tess_jet_spec_t *spec)
{
  tess_err_t err = TESS_OK;
  unsigned char (*mi)[TESS_JET_MAX_IN] = NULL;
  TESS_CHECK(mark_reach(ex, roots, nroots));
  mi = malloc(400 * sizeof *mi);
  TESS_REQUIRE(mi, TESS_ERR_MEM, "multi-indices");
  for (int k = 0; k < ex->nn; k++) {
    const node_t *nd = &ex->n[k];
    if (!ex->mark[k]) continue;
    if (nd->kind == N_LAP) spec->laplacian = 1;
    if (nd->kind != N_OUT || nd->order < 2) continue;
    if (nd->order == 2) {
      int i = -1, j = -1;
      for (int a = 0; a < din; a++)
        for (int c = 0; c < nd->alpha[a]; c++) { if (i < 0) i = a; else j = a; }
      int have = 0;
      for (int p = 0; p < spec->npairs; p++) have |= spec->pair[p][0] == i && spec->pair[p][1] == j;
      if (!have) {
        TESS_REQUIRE(spec->npairs < TESS_JET_MAX_PAIRS, TESS_ERR_UNSUPPORTED, "too many pairs");
        spec->pair[spec->npairs][0] = i;
        spec->pair[spec->npairs][1] = j;
        spec->npairs++;
      }
      continue;
    }
    double v[TESS_JET_MAX_IN] = {0};
    int ax = pure_axis(nd->alpha, din);
    if (ax >= 0) {
      v[ax] = 1;
      TESS_CHECK(spec_add_dir(spec, din, v, nd->order));
    } else {
      TESS_REQUIRE(din <= 4, TESS_ERR_UNSUPPORTED,
                   "mixed derivatives of order %d need din <= 4 (have %d)", nd->order, din);
      int nb = multi_indices(din, nd->order, mi);
      for (int b = 0; b < nb; b++) {
        dir_of(mi[b], din, nd->order, v);
        TESS_CHECK(spec_add_dir(spec, din, v, nd->order));
      }
    }
  }
cleanup:
  free(mi);
  return err;
}

static tess_err_t add_term(pinn_expr_t *ex, int out, int comp, double coef)
{
  tess_err_t err = TESS_OK;
  if (ex->nterms == ex->termcap) {
    int cap = ex->termcap ? 2 * ex->termcap : 64;
    void *t = realloc(ex->terms, (size_t)cap * sizeof *ex->terms);
    TESS_REQUIRE(t, TESS_ERR_MEM, "leaf terms");
    ex->terms = t;
    ex->termcap = cap;
  }
  ex->terms[ex->nterms++] = (pinn_leaf_term_t){ out, comp, coef };
cleanup:
  return err;
}

static int layout_dir(const pinn_layout_t *L, const double *v, int order)
{
  for (int k = 0; k < L->ndirs; k++)
    if (L->dord[k] >= order && memcmp(L->dir[k], v, (size_t)L->din * sizeof *v) == 0) return k;
  return -1;
}

/* Solve M c = e for the polarization coefficients (Gauss, partial pivoting). */
static int solve(int n, double *M, double *rhs)
{
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int r = c + 1; r < n; r++) if (fabs(M[r * n + c]) > fabs(M[p * n + c])) p = r;
    if (M[p * n + c] == 0) return -1;
    for (int j = 0; j < n; j++) { double t = M[c * n + j]; M[c * n + j] = M[p * n + j]; M[p * n + j] = t; }
    double t = rhs[c]; rhs[c] = rhs[p]; rhs[p] = t;
    for (int r = c + 1; r < n; r++) {
      double f = M[r * n + c] / M[c * n + c];
      for (int j = c; j < n; j++) M[r * n + j] -= f * M[c * n + j];
      rhs[r] -= f * rhs[c];
    }
  }
  for (int c = n - 1; c >= 0; c--) {
    double s = rhs[c];
    for (int j = c + 1; j < n; j++) s -= M[c * n + j] * rhs[j];
    rhs[c] = s / M[c * n + c];
  }
  return 0;
}

static double factorial(int k) { double f = 1; for (int i = 2; i <= k; i++) f *= i; return f; }

tess_err_t pinn_expr_bind(pinn_expr_t *ex, const pinn_layout_t *L)
{
  tess_err_t err = TESS_OK;
  unsigned char (*mi)[TESS_JET_MAX_IN] = NULL;
  double *M = NULL, *rhs = NULL;
  const int d = L->din;
  ex->nterms = 0;
  mi = malloc(400 * sizeof *mi);
  M = malloc(400 * 400 * sizeof *M);
  rhs = malloc(400 * sizeof *rhs);
  TESS_REQUIRE(mi && M && rhs, TESS_ERR_MEM, "binding");
  for (int k = 0; k < ex->nn; k++) {
    node_t *nd = &ex->n[k];
    nd->term0 = ex->nterms;
    nd->nterm = 0;
    if (nd->kind == N_LAP) {
      if (L->c_lap < 0) continue;   /* not reachable from the planned roots */
      TESS_CHECK(add_term(ex, nd->idx, L->c_lap, 1));
    } else if (nd->kind == N_OUT && nd->order <= 1) {
      int c = 0;
      for (int i = 0; i < d; i++) if (nd->alpha[i]) c = 1 + i;
      TESS_CHECK(add_term(ex, nd->idx, c, 1));
    } else if (nd->kind == N_OUT && nd->order == 2) {
      int i = -1, j = -1, c = -1;
      for (int a = 0; a < d; a++)
        for (int t = 0; t < nd->alpha[a]; t++) { if (i < 0) i = a; else j = a; }
      for (int p = 0; p < L->npairs; p++) if (L->pi[p] == i && L->pj[p] == j) c = L->c_pair + p;
      if (c < 0) continue;   /* not reachable from the planned roots */
      TESS_CHECK(add_term(ex, nd->idx, c, 1));
    } else if (nd->kind == N_OUT) {
      const int K = nd->order;
      double v[TESS_JET_MAX_IN] = {0};
      int ax = pure_axis(nd->alpha, d);
      if (ax >= 0) {
        v[ax] = 1;
        int kd = layout_dir(L, v, K);
        if (kd < 0) continue;
        TESS_CHECK(add_term(ex, nd->idx, L->c_dir[kd] + K - 1, 1));
      } else {
        int nb = multi_indices(d, K, mi), ok = 1, dk[400];
        for (int b = 0; b < nb && ok; b++) {
          dir_of(mi[b], d, K, v);
          dk[b] = layout_dir(L, v, K);
          ok = dk[b] >= 0;
        }
        if (!ok) continue;
        /* D_v^K f = sum_alpha K!/alpha! v^alpha d^alpha f; row b = direction b.
         * We need d^alpha f = sum_b c_b D_b^K f, i.e. M^T c = e_alpha. */
        int ia = -1;
        for (int a = 0; a < nb; a++) if (memcmp(mi[a], nd->alpha, (size_t)d) == 0) ia = a;
        TESS_REQUIRE(ia >= 0, TESS_ERR_INTERNAL, "multi-index not found");
        for (int b = 0; b < nb; b++) {
          dir_of(mi[b], d, K, v);
          for (int a = 0; a < nb; a++) {
            double m = factorial(K);
            for (int i = 0; i < d; i++) m *= pow(v[i], mi[a][i]) / factorial(mi[a][i]);
            M[a * nb + b] = m;                       /* transposed */
          }
        }
        for (int a = 0; a < nb; a++) rhs[a] = a == ia ? 1 : 0;
        TESS_REQUIRE(solve(nb, M, rhs) == 0, TESS_ERR_INTERNAL, "singular polarization");
        for (int b = 0; b < nb; b++)
          if (rhs[b] != 0) TESS_CHECK(add_term(ex, nd->idx, L->c_dir[dk[b]] + K - 1, rhs[b]));
      }
    }
    nd->nterm = ex->nterms - nd->term0;
  }
cleanup:
  free(mi);
  free(M);
  free(rhs);
  return err;
}

/* ---- the program of some roots (for the GPU's interpreter) --------------- */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(N_NUM, PINN_OP_NUM) && SAME(N_COORD, PINN_OP_COORD) && SAME(N_OUT, PINN_OP_OUT) &&
               SAME(N_LAP, PINN_OP_LAP) && SAME(N_ADD, PINN_OP_ADD) && SAME(N_SUB, PINN_OP_SUB) &&
               SAME(N_MUL, PINN_OP_MUL) && SAME(N_DIV, PINN_OP_DIV) && SAME(N_NEG, PINN_OP_NEG) &&
               SAME(N_POW, PINN_OP_POW) && SAME(N_FUN, PINN_OP_FUN), "op kinds: pinn_internal.h");
_Static_assert(SAME(F_SIN, PINN_FUN_SIN) && SAME(F_COS, PINN_FUN_COS) && SAME(F_EXP, PINN_FUN_EXP) &&
               SAME(F_LOG, PINN_FUN_LOG) && SAME(F_SQRT, PINN_FUN_SQRT) && SAME(F_TANH, PINN_FUN_TANH),
               "functions: pinn_internal.h");
#undef SAME

static tess_err_t mark_reach(pinn_expr_t *ex, const int *roots, int nroots);

void pinn_prog_free(pinn_prog_t *pg)
{
  if (!pg) return;
  free(pg->ops);
  free(pg->terms);
  free(pg->roots);
  memset(pg, 0, sizeof *pg);
}

tess_err_t pinn_expr_program(pinn_expr_t *ex, const int *roots, int nroots, pinn_prog_t *pg)
{
  tess_err_t err = TESS_OK;
  int *slot = NULL;
  size_t nops = 0;
  memset(pg, 0, sizeof *pg);
  TESS_REQUIRE(nroots >= 0 && ex->nn >= 0 && ex->nterms >= 0, TESS_ERR_INTERNAL, "program sizes");
  TESS_CHECK(mark_reach(ex, roots, nroots));
  for (int k = 0; k < ex->nn; k++) nops += ex->mark[k] != 0;
  slot = malloc(((size_t)ex->nn + 1) * sizeof *slot);
  pg->ops = calloc(nops + 1, sizeof *pg->ops);
  pg->terms = malloc(((size_t)ex->nterms + 1) * sizeof *pg->terms);
  pg->roots = malloc(((size_t)nroots + 1) * sizeof *pg->roots);
  TESS_REQUIRE(slot && pg->ops && pg->terms && pg->roots, TESS_ERR_MEM, "expression program");
  if (ex->nterms) memcpy(pg->terms, ex->terms, (size_t)ex->nterms * sizeof *pg->terms);
  pg->nterms = ex->nterms;
  for (int k = 0, j = 0; k < ex->nn; k++) {
    if (!ex->mark[k]) continue;
    const node_t *nd = &ex->n[k];
    TESS_REQUIRE(!(nd->kind == N_OUT || nd->kind == N_LAP) || nd->nterm > 0, TESS_ERR_INTERNAL,
                 "unbound leaf %d", k);
    slot[k] = j;
    pg->ops[j] = (pinn_op_t){ .kind = nd->kind, .a = nd->a >= 0 ? slot[nd->a] : -1,
                              .b = nd->b >= 0 ? slot[nd->b] : -1, .fun = nd->fun, .idx = nd->idx,
                              .term0 = nd->term0, .nterm = nd->nterm, .num = nd->num };
    j++;
  }
  pg->nops = (int)nops;
  for (int r = 0; r < nroots; r++) pg->roots[r] = slot[roots[r]];
  pg->nroots = nroots;
cleanup:
  free(slot);
  if (err) pinn_prog_free(pg);
  return err;
}

/* ---- evaluation and reverse mode ---------------------------------------- */
static tess_err_t scratch(pinn_expr_t *ex, size_t B)
{
  tess_err_t err = TESS_OK;
  size_t need = (size_t)ex->nn * B;
  if (need > ex->scratch) {
    double *v = realloc(ex->val, need * sizeof *v);
    TESS_REQUIRE(v, TESS_ERR_MEM, "expression values");
    ex->val = v;
    double *b = realloc(ex->bar, need * sizeof *b);
    TESS_REQUIRE(b, TESS_ERR_MEM, "expression adjoints");
    ex->bar = b;
    ex->scratch = need;
  }
cleanup:
  return err;
}

tess_err_t pinn_expr_eval(pinn_expr_t *ex, const int *roots, int nroots, size_t B,
                          const double *jet, int dout, const double *x, double *vals)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(mark_reach(ex, roots, nroots));
  TESS_CHECK(scratch(ex, B));
  for (int k = 0; k < ex->nn; k++) {
    if (!ex->mark[k]) continue;
    const node_t *nd = &ex->n[k];
    double *v = ex->val + (size_t)k * B;
    const double *va = nd->a >= 0 ? ex->val + (size_t)nd->a * B : NULL;
    const double *vb = nd->b >= 0 ? ex->val + (size_t)nd->b * B : NULL;
    switch (nd->kind) {
    case N_NUM: for (size_t q = 0; q < B; q++) v[q] = nd->num; break;
    case N_COORD: for (size_t q = 0; q < B; q++) v[q] = x[q * ex->din + nd->idx]; break;
    case N_OUT: case N_LAP:
      TESS_REQUIRE(nd->nterm > 0, TESS_ERR_INTERNAL, "unbound leaf %d", k);
      for (size_t q = 0; q < B; q++) {
        double s = 0;
        for (int t = 0; t < nd->nterm; t++) {
          const pinn_leaf_term_t *tm = &ex->terms[nd->term0 + t];
          s += tm->coef * jet[((size_t)tm->comp * B + q) * dout + tm->out];
        }
        v[q] = s;
      }
      break;
    case N_ADD: for (size_t q = 0; q < B; q++) v[q] = va[q] + vb[q]; break;
    case N_SUB: for (size_t q = 0; q < B; q++) v[q] = va[q] - vb[q]; break;
    case N_MUL: for (size_t q = 0; q < B; q++) v[q] = va[q] * vb[q]; break;
    case N_DIV: for (size_t q = 0; q < B; q++) v[q] = va[q] / vb[q]; break;
    case N_NEG: for (size_t q = 0; q < B; q++) v[q] = -va[q]; break;
    case N_POW:
      if (nd->num == 2) for (size_t q = 0; q < B; q++) v[q] = va[q] * va[q];
      else for (size_t q = 0; q < B; q++) v[q] = pow(va[q], nd->num);
      break;
    case N_FUN: for (size_t q = 0; q < B; q++) v[q] = fun_apply(nd->fun, va[q]); break;
    }
  }
  for (int r = 0; r < nroots; r++)
    memcpy(vals + (size_t)r * B, ex->val + (size_t)roots[r] * B, B * sizeof *vals);
cleanup:
  return err;
}

tess_err_t pinn_expr_adjoint(pinn_expr_t *ex, const int *roots, int nroots, size_t B,
                             int dout, const double *seeds, double *jetbar)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(mark_reach(ex, roots, nroots));
  for (int k = 0; k < ex->nn; k++)
    if (ex->mark[k]) memset(ex->bar + (size_t)k * B, 0, B * sizeof *ex->bar);
  for (int r = 0; r < nroots; r++) {
    double *g = ex->bar + (size_t)roots[r] * B;
    for (size_t q = 0; q < B; q++) g[q] += seeds[(size_t)r * B + q];
  }
  for (int k = ex->nn - 1; k >= 0; k--) {
    if (!ex->mark[k]) continue;
    const node_t *nd = &ex->n[k];
    const double *g = ex->bar + (size_t)k * B, *v = ex->val + (size_t)k * B;
    double *ga = nd->a >= 0 ? ex->bar + (size_t)nd->a * B : NULL;
    double *gb = nd->b >= 0 ? ex->bar + (size_t)nd->b * B : NULL;
    const double *va = nd->a >= 0 ? ex->val + (size_t)nd->a * B : NULL;
    const double *vb = nd->b >= 0 ? ex->val + (size_t)nd->b * B : NULL;
    switch (nd->kind) {
    case N_NUM: case N_COORD: break;
    case N_OUT: case N_LAP:
      for (int t = 0; t < nd->nterm; t++) {
        const pinn_leaf_term_t *tm = &ex->terms[nd->term0 + t];
        for (size_t q = 0; q < B; q++)
          jetbar[((size_t)tm->comp * B + q) * dout + tm->out] += tm->coef * g[q];
      }
      break;
    case N_ADD: for (size_t q = 0; q < B; q++) { ga[q] += g[q]; gb[q] += g[q]; } break;
    case N_SUB: for (size_t q = 0; q < B; q++) { ga[q] += g[q]; gb[q] -= g[q]; } break;
    case N_MUL:
      for (size_t q = 0; q < B; q++) { ga[q] += g[q] * vb[q]; gb[q] += g[q] * va[q]; }
      break;
    case N_DIV:
      for (size_t q = 0; q < B; q++) { ga[q] += g[q] / vb[q]; gb[q] -= g[q] * v[q] / vb[q]; }
      break;
    case N_NEG: for (size_t q = 0; q < B; q++) ga[q] -= g[q]; break;
    case N_POW:
      if (nd->num == 2) for (size_t q = 0; q < B; q++) ga[q] += 2 * g[q] * va[q];
      else for (size_t q = 0; q < B; q++) ga[q] += g[q] * nd->num * pow(va[q], nd->num - 1);
      break;
    case N_FUN:
      for (size_t q = 0; q < B; q++) {
        double d;
        switch (nd->fun) {
        case F_SIN: d = cos(va[q]); break;
        case F_COS: d = -sin(va[q]); break;
        case F_EXP: d = v[q]; break;
        case F_LOG: d = 1 / va[q]; break;
        case F_SQRT: d = 0.5 / v[q]; break;
        default: d = 1 - v[q] * v[q]; break;
        }
        ga[q] += g[q] * d;
      }
      break;
    }
  }
cleanup:
  return err;
}
