/* src/comm_host_staged.c: the host-staged device backend: device buffers
 * are copied to pinned host memory, moved by host MPI, and copied back.
 * Plain C over the device-ops table (device.h), so it serves any GPU
 * runtime that fills the table.
 *
 * Every collective runs as rounds of one engine (st_pipe): each side of an
 * operation is a list of pieces (one per peer, or one), and round r moves
 * elements [r*L, r*L + L) of every piece, packed into a pinned slot. Two
 * slots per side let the copy for round r+1 (device to host) and the copy
 * back of round r-1 run on the stream while round r is in MPI. A round is
 * at most ST_CHUNK bytes per side, so MPI's int counts never overflow and
 * buffers above 2^31 bytes work. The rounds must agree on all ranks: where
 * a rank cannot know everyone's counts (gatherv, scatterv, alltoallv) one
 * allreduce agrees on their number.
 *
 * The pinned slots come from a per-mesh cache, grown on demand and freed
 * with the mesh (tess_comm_mesh_release_). Stream order makes slot reuse
 * safe: a slot is refilled only by copies enqueued after the copy that
 * emptied it, and MPI touches a slot only after the event of its fill. */
#include "comm_backend.h"
#include "device.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if TESSERA_HAVE_CUDA

#define ST_CHUNK ((size_t)4 << 20)   /* bytes of one side of one round */
#define ST_ROUND_BYTES ((size_t)1 << 20)

/* ---- the pinned buffer cache of a mesh ------------------------------------ */

typedef struct {
  void *p;
  size_t bytes;
  int busy;
} st_block_t;

typedef struct {
  st_block_t *b;
  int n, cap;
  tess_event_t ev[2];   /* the fills of the two send slots */
} st_cache_t;

void tess_comm_staged_release_(tess_mesh_t *m)
{
  st_cache_t *k = m->staged;
  const tess_device_ops_t *g = tess_device_active_();
  if (!k) return;
  for (int i = 0; i < k->n; i++) g->free_pinned(k->b[i].p);
  for (int i = 0; i < 2; i++)
    if (k->ev[i]) (void)g->event_destroy(k->ev[i]);
  free(k->b);
  free(k);
  m->staged = NULL;
}

static void st_release(tess_mesh_t *m) { tess_comm_staged_release_(m); }

static tess_err_t st_cache(tess_mesh_t *m, st_cache_t **out)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_active_();
  if (!m->staged) {
    st_cache_t *k = calloc(1, sizeof *k);
    TESS_REQUIRE(k != NULL, TESS_ERR_MEM, "staging cache");
    m->staged = k;
    for (int i = 0; i < 2; i++) TESS_CHECK(g->event_create(&k->ev[i]));
  }
  *out = m->staged;
cleanup:
  return err;
}

/* A free pinned block of at least `bytes`: the smallest that fits, else a
 * free one replaced by a larger one (grow only), else a new one. */
static tess_err_t st_get(st_cache_t *k, size_t bytes, void **p)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_active_();
  int fit = -1, spare = -1;
  *p = NULL;
  bytes = (bytes + ST_ROUND_BYTES - 1) / ST_ROUND_BYTES * ST_ROUND_BYTES;
  for (int i = 0; i < k->n; i++) {
    if (k->b[i].busy) continue;
    if (k->b[i].bytes >= bytes) {
      if (fit < 0 || k->b[i].bytes < k->b[fit].bytes) fit = i;
    } else {
      spare = i;
    }
  }
  if (fit < 0 && spare >= 0) {
    g->free_pinned(k->b[spare].p);
    k->b[spare].p = NULL;
    k->b[spare].bytes = 0;
    TESS_CHECK(g->alloc_pinned(bytes, &k->b[spare].p));
    k->b[spare].bytes = bytes;
    fit = spare;
  }
  if (fit < 0) {
    if (k->n == k->cap) {
      int cap = k->cap ? 2 * k->cap : 4;
      st_block_t *b = realloc(k->b, sizeof *b * (size_t)cap);
      TESS_REQUIRE(b != NULL, TESS_ERR_MEM, "staging cache");
      k->b = b;
      k->cap = cap;
    }
    void *q = NULL;
    TESS_CHECK(g->alloc_pinned(bytes, &q));
    k->b[k->n] = (st_block_t){q, bytes, 0};
    fit = k->n++;
  }
  k->b[fit].busy = 1;
  *p = k->b[fit].p;
cleanup:
  if (spare >= 0 && k->b[spare].p == NULL && k->b[spare].bytes == 0) {
    /* a failed regrow: drop the empty entry */
    k->b[spare] = k->b[--k->n];
  }
  return err;
}

static void st_put(st_cache_t *k, void *p)
{
  for (int i = 0; p && i < k->n; i++)
    if (k->b[i].p == p) k->b[i].busy = 0;
}

/* ---- the round engine ------------------------------------------------------- */

/* One side of an operation: n pieces of device memory. cnt NULL: every
 * piece is `ucnt` elements at p * ucnt. */
typedef struct {
  int n;
  char *base;
  const size_t *cnt, *dsp;
  size_t ucnt;
} st_side_t;

static size_t piece_cnt(const st_side_t *s, int p) { return s->cnt ? s->cnt[p] : s->ucnt; }
static size_t piece_dsp(const st_side_t *s, int p)
{
  return s->cnt ? s->dsp[p] : (size_t)p * s->ucnt;
}
static size_t piece_len(const st_side_t *s, int p, size_t off, size_t L)
{
  size_t n = piece_cnt(s, p);
  return n > off ? (n - off < L ? n - off : L) : 0;
}

static size_t side_rounds(const st_side_t *s, size_t L)
{
  size_t r = 0;
  for (int p = 0; p < s->n; p++) {
    size_t q = (piece_cnt(s, p) + L - 1) / L;
    if (q > r) r = q;
  }
  return r;
}

/* Elements per piece per round, the same on every rank (it depends only on
 * the element size and the piece count of the operation). */
static size_t st_L(size_t es, int npieces)
{
  size_t L = ST_CHUNK / (es * (size_t)(npieces > 0 ? npieces : 1));
  return L ? L : 1;
}

/* The number of rounds where ranks see different counts: their maximum. */
static tess_err_t st_agree(const tess_comm_ctx_t *c, size_t local, size_t *rounds)
{
  tess_err_t err = TESS_OK;
  unsigned long long r = local;
  TESS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &r, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, c->comm));
  *rounds = (size_t)r;
cleanup:
  return err;
}

/* Counts and packed displacements (elements) of round `off` of a side. */
static void layout(const st_side_t *s, size_t off, size_t L, int *cnt, int *dsp)
{
  size_t pos = 0;
  for (int p = 0; p < s->n; p++) {
    size_t len = piece_len(s, p, off, L);
    cnt[p] = (int)len;
    dsp[p] = (int)pos;
    pos += len;
  }
}

static tess_err_t copy_round(const st_side_t *s, size_t off, size_t L, size_t es, char *host,
                             int d2h, tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_active_();
  size_t pos = 0;
  for (int p = 0; p < s->n; p++) {
    size_t len = piece_len(s, p, off, L);
    char *dev = s->base + (piece_dsp(s, p) + off) * es;
    if (len == 0) continue;
    if (d2h) TESS_CHECK(g->memcpy_async(host + pos * es, dev, len * es, TESS_COPY_D2H, stream));
    else TESS_CHECK(g->memcpy_async(dev, host + pos * es, len * es, TESS_COPY_H2D, stream));
    pos += len;
  }
cleanup:
  return err;
}

/* The MPI part of one round: host slots and the round's int layouts. */
typedef tess_err_t (*st_round_fn)(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                                  const int *sc, const int *sd, const int *rc, const int *rd);

static tess_err_t st_pipe(const tess_comm_ctx_t *c, const st_side_t *snd, const st_side_t *rcv,
                          size_t es, size_t L, size_t rounds, st_round_fn fn, const void *arg)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_active_();
  st_cache_t *k = NULL;
  void *block = NULL;
  char *hs[2], *hr[2];
  int np = snd->n > rcv->n ? snd->n : rcv->n, *iv = NULL, started = 0;
  size_t slot = (size_t)(np > 0 ? np : 1) * L * es;
  if (rounds == 0) goto cleanup;
  TESS_CHECK(st_cache(c->mesh, &k));
  iv = malloc(sizeof(int) * (size_t)(4 * np + 4));
  TESS_REQUIRE(iv != NULL, TESS_ERR_MEM, "staging layouts of %d peers", np);
  TESS_CHECK(st_get(k, 4 * slot, &block));
  for (int i = 0; i < 2; i++) {
    hs[i] = (char *)block + (size_t)i * slot;
    hr[i] = (char *)block + (size_t)(2 + i) * slot;
  }
  started = 1;
  TESS_CHECK(copy_round(snd, 0, L, es, hs[0], 1, c->stream));
  TESS_CHECK(g->event_record(k->ev[0], c->stream));
  for (size_t r = 0; r < rounds; r++) {
    int s = (int)(r & 1);
    if (r + 1 < rounds) {   /* the next round's copy overlaps this round's MPI */
      TESS_CHECK(copy_round(snd, (r + 1) * L, L, es, hs[!s], 1, c->stream));
      TESS_CHECK(g->event_record(k->ev[!s], c->stream));
    }
    TESS_CHECK(g->event_sync(k->ev[s]));
    layout(snd, r * L, L, iv, iv + np);
    layout(rcv, r * L, L, iv + 2 * np, iv + 3 * np);
    TESS_CHECK(fn(c, arg, hs[s], hr[s], iv, iv + np, iv + 2 * np, iv + 3 * np));
    TESS_CHECK(copy_round(rcv, r * L, L, es, hr[s], 0, c->stream));
  }
  TESS_CHECK(g->stream_sync(c->stream));   /* blocking: the data is in place */
  started = 0;
cleanup:
  if (started) (void)g->stream_sync(c->stream);   /* no copy may still use the block */
  if (k) st_put(k, block);
  free(iv);
  return err;
}

static MPI_Op mpi_op(tess_op_t op)
{
  switch (op) {
  case TESS_OP_MAX: return MPI_MAX;
  case TESS_OP_MIN: return MPI_MIN;
  case TESS_OP_BOR: return MPI_BOR;
  case TESS_OP_LOR: return MPI_LOR;
  default: return MPI_SUM;
  }
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* ---- the collectives -------------------------------------------------------- */

typedef struct {
  MPI_Datatype mt;
  MPI_Op op;
  int root;
} st_arg_t;

static tess_err_t rf_allreduce(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                               const int *sc, const int *sd, const int *rc, const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  (void)sd, (void)rc, (void)rd;
  TESS_MPI_CHECK(MPI_Allreduce(hs, hr, sc[0], a->mt, a->op, c->comm));
cleanup:
  return err;
}

tess_err_t tess_comm_staged_allreduce_(const tess_comm_ctx_t *c, const void *send, void *recv,
                                       size_t count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, 1);
  st_arg_t a = {tess_dtype_mpi(t), mpi_op(op), 0};
  st_side_t snd = {1, (char *)send, NULL, NULL, count}, rcv = {1, recv, NULL, NULL, count};
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, ceil_div(count, L), rf_allreduce, &a));
cleanup:
  return err;
}

static tess_err_t rf_bcast(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                           const int *sc, const int *sd, const int *rc, const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  int root = c->rank == a->root;
  (void)sd, (void)rd;
  TESS_MPI_CHECK(MPI_Bcast(root ? hs : hr, root ? sc[0] : rc[0], a->mt, a->root, c->comm));
cleanup:
  return err;
}

static tess_err_t st_bcast(const tess_comm_ctx_t *c, void *buf, size_t count, tess_dtype_t t,
                           int root)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, 1);
  int me = c->rank == root;
  st_arg_t a = {tess_dtype_mpi(t), MPI_OP_NULL, root};
  st_side_t snd = {me, buf, NULL, NULL, count}, rcv = {!me, buf, NULL, NULL, count};
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, ceil_div(count, L), rf_bcast, &a));
cleanup:
  return err;
}

static tess_err_t rf_allgatherv(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                                const int *sc, const int *sd, const int *rc, const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  (void)sd;
  TESS_MPI_CHECK(MPI_Allgatherv(hs, sc[0], a->mt, hr, rc, rd, a->mt, c->comm));
cleanup:
  return err;
}

static tess_err_t st_allgather(const tess_comm_ctx_t *c, const void *send, size_t count,
                               void *recv, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, c->size);
  st_arg_t a = {tess_dtype_mpi(t), MPI_OP_NULL, 0};
  const char *s = send == recv ? (const char *)recv + (size_t)c->rank * count * es : send;
  st_side_t snd = {1, (char *)s, NULL, NULL, count}, rcv = {c->size, recv, NULL, NULL, count};
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, ceil_div(count, L), rf_allgatherv, &a));
cleanup:
  return err;
}

static tess_err_t st_allgatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                                void *recv, const size_t counts[], const size_t displs[],
                                tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, c->size);
  st_arg_t a = {tess_dtype_mpi(t), MPI_OP_NULL, 0};
  const char *s = send == recv ? (const char *)recv + displs[c->rank] * es : send;
  st_side_t snd = {1, (char *)s, NULL, NULL, count}, rcv = {c->size, recv, counts, displs, 0};
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, side_rounds(&rcv, L), rf_allgatherv, &a));
cleanup:
  return err;
}

static tess_err_t rf_gatherv(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                             const int *sc, const int *sd, const int *rc, const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  (void)sd;
  TESS_MPI_CHECK(MPI_Gatherv(hs, sc[0], a->mt, hr, rc, rd, a->mt, a->root, c->comm));
cleanup:
  return err;
}

static tess_err_t st_gatherv(const tess_comm_ctx_t *c, const void *send, size_t count,
                             void *recv, const size_t counts[], const size_t displs[],
                             tess_dtype_t t, int root)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, c->size), rounds = 0;
  int me = c->rank == root;
  st_arg_t a = {tess_dtype_mpi(t), MPI_OP_NULL, root};
  st_side_t snd = {1, (char *)send, NULL, NULL, count};
  st_side_t rcv = {me ? c->size : 0, recv, counts, displs, 0};
  TESS_CHECK(st_agree(c, me ? side_rounds(&rcv, L) : ceil_div(count, L), &rounds));
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, rounds, rf_gatherv, &a));
cleanup:
  return err;
}

static tess_err_t rf_scatterv(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                              const int *sc, const int *sd, const int *rc, const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  (void)rd;
  TESS_MPI_CHECK(MPI_Scatterv(hs, sc, sd, a->mt, hr, rc[0], a->mt, a->root, c->comm));
cleanup:
  return err;
}

static tess_err_t st_scatterv(const tess_comm_ctx_t *c, const void *send, const size_t counts[],
                              const size_t displs[], void *recv, size_t count, tess_dtype_t t,
                              int root)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, c->size), rounds = 0;
  int me = c->rank == root;
  st_arg_t a = {tess_dtype_mpi(t), MPI_OP_NULL, root};
  st_side_t snd = {me ? c->size : 0, (char *)send, counts, displs, 0};
  st_side_t rcv = {1, recv, NULL, NULL, count};
  TESS_CHECK(st_agree(c, me ? side_rounds(&snd, L) : ceil_div(count, L), &rounds));
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, rounds, rf_scatterv, &a));
cleanup:
  return err;
}

static tess_err_t rf_alltoallv(const tess_comm_ctx_t *c, const void *arg, void *hs, void *hr,
                               const int *sc, const int *sd, const int *rc, const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  TESS_MPI_CHECK(MPI_Alltoallv(hs, sc, sd, a->mt, hr, rc, rd, a->mt, c->comm));
cleanup:
  return err;
}

/* In place: the send pieces are the receive pieces. Safe, because round r
 * reads and writes only elements [r*L, r*L + L) of each piece, and a
 * round's copy to the host is enqueued before its copy back. */
static tess_err_t st_alltoall(const tess_comm_ctx_t *c, const void *send, void *recv,
                              size_t count, tess_dtype_t t)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, c->size);
  st_arg_t a = {tess_dtype_mpi(t), MPI_OP_NULL, 0};
  st_side_t snd = {c->size, (char *)send, NULL, NULL, count};
  st_side_t rcv = {c->size, recv, NULL, NULL, count};
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, ceil_div(count, L), rf_alltoallv, &a));
cleanup:
  return err;
}

static tess_err_t rf_reduce_scatter(const tess_comm_ctx_t *c, const void *arg, void *hs,
                                    void *hr, const int *sc, const int *sd, const int *rc,
                                    const int *rd)
{
  tess_err_t err = TESS_OK;
  const st_arg_t *a = arg;
  (void)sc, (void)sd, (void)rd;
  TESS_MPI_CHECK(MPI_Reduce_scatter_block(hs, hr, rc[0], a->mt, a->op, c->comm));
cleanup:
  return err;
}

/* Round r packs columns [r*L, r*L + L) of every block: the blocks of equal
 * length that MPI_Reduce_scatter_block wants. In place, the result goes to
 * the first `count` elements, which later rounds no longer read. */
static tess_err_t st_reduce_scatter(const tess_comm_ctx_t *c, const void *send, void *recv,
                                    size_t count, tess_dtype_t t, tess_op_t op)
{
  tess_err_t err = TESS_OK;
  size_t es = tess_dtype_size(t), L = st_L(es, c->size);
  st_arg_t a = {tess_dtype_mpi(t), mpi_op(op), 0};
  st_side_t snd = {c->size, (char *)send, NULL, NULL, count};
  st_side_t rcv = {1, recv, NULL, NULL, count};
  TESS_CHECK(st_pipe(c, &snd, &rcv, es, L, ceil_div(count, L), rf_reduce_scatter, &a));
cleanup:
  return err;
}

/* ---- planned all-to-alls ------------------------------------------------------ */

typedef struct {
  int n, inplace;
  size_t rounds;           /* agreed at the first start; SIZE_MAX until then */
  size_t es;
  MPI_Datatype mt;
  size_t *sc, *sd, *rc, *rd;   /* one allocation */
} st_a2a_t;

static void st_a2a_free(void *bp)
{
  st_a2a_t *p = bp;
  if (!p) return;
  free(p->sc);
  free(p);
}

static tess_err_t st_a2a_plan(const tess_comm_ctx_t *c, const size_t sc[], const size_t sd[],
                              const MPI_Datatype st[], const size_t rc[], const size_t rd[],
                              const MPI_Datatype rt[], tess_dtype_t t, void **bp)
{
  tess_err_t err = TESS_OK;
  st_a2a_t *p = NULL;
  size_t n = (size_t)c->size;
  (void)rt;
  TESS_REQUIRE(st == NULL, TESS_ERR_UNSUPPORTED,
               "alltoallw with MPI datatypes on device memory (host-staged backend): pack, "
               "then alltoallv");
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "alltoallv plan");
  p->n = c->size;
  p->inplace = sc == NULL;
  p->rounds = SIZE_MAX;
  p->es = tess_dtype_size(t);
  p->mt = tess_dtype_mpi(t);
  p->sc = malloc(sizeof(size_t) * 4 * n);
  TESS_REQUIRE(p->sc != NULL, TESS_ERR_MEM, "alltoallv plan of %d peers", c->size);
  p->sd = p->sc + n;
  p->rc = p->sd + n;
  p->rd = p->rc + n;
  memcpy(p->rc, rc, sizeof(size_t) * n);
  memcpy(p->rd, rd, sizeof(size_t) * n);
  memcpy(p->sc, sc ? sc : rc, sizeof(size_t) * n);
  memcpy(p->sd, sc ? sd : rd, sizeof(size_t) * n);
  *bp = p;
  p = NULL;
cleanup:
  st_a2a_free(p);
  return err;
}

/* A non-blocking start completes here (the request stays pending in name
 * only; its wait returns at once): staging needs the host thread anyway. */
static tess_err_t st_a2a_start(void *bp, const tess_comm_ctx_t *c, const void *send, void *recv,
                               tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  st_a2a_t *p = bp;
  size_t L = st_L(p->es, p->n);
  int inplace = p->inplace || send == recv;
  st_arg_t a = {p->mt, MPI_OP_NULL, 0};
  st_side_t snd = {p->n, inplace ? recv : (char *)send, inplace ? p->rc : p->sc,
                   inplace ? p->rd : p->sd, 0};
  st_side_t rcv = {p->n, recv, p->rc, p->rd, 0};
  (void)req;
  if (p->rounds == SIZE_MAX) {
    size_t a1 = side_rounds(&snd, L), a2 = side_rounds(&rcv, L);
    TESS_CHECK(st_agree(c, a1 > a2 ? a1 : a2, &p->rounds));
  }
  TESS_CHECK(st_pipe(c, &snd, &rcv, p->es, L, p->rounds, rf_alltoallv, &a));
cleanup:
  return err;
}

/* ---- point-to-point ------------------------------------------------------------ */

/* A staged transfer: its pinned block, and for a receive where it goes. */
typedef struct {
  st_cache_t *k;
  void *host;
  void *dev;            /* receive: the device buffer; send: NULL */
  size_t bytes;
  tess_stream_t stream;
} st_req_t;

static tess_err_t st_p2p_begin(const tess_comm_ctx_t *c, size_t count, tess_dtype_t t,
                               int *n, st_req_t **out)
{
  tess_err_t err = TESS_OK;
  st_req_t *r = NULL;
  *out = NULL;
  TESS_REQUIRE(count <= (size_t)INT_MAX, TESS_ERR_ARG,
               "point-to-point count %zu exceeds the MPI limit of %d elements per call; split "
               "the message", count, INT_MAX);
  *n = (int)count;
  r = calloc(1, sizeof *r);
  TESS_REQUIRE(r != NULL, TESS_ERR_MEM, "staged request");
  TESS_CHECK(st_cache(c->mesh, &r->k));
  r->bytes = count * tess_dtype_size(t);
  r->stream = c->stream;
  TESS_CHECK(st_get(r->k, r->bytes, &r->host));
  *out = r;
  r = NULL;
cleanup:
  free(r);
  return err;
}

static void st_p2p_drop(st_req_t *r)
{
  if (!r) return;
  st_put(r->k, r->host);
  free(r);
}

tess_err_t tess_comm_staged_isend_(const tess_comm_ctx_t *c, const void *buf, size_t count,
                                   tess_dtype_t t, int peer, int tag, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_active_();
  st_req_t *r = NULL;
  int n = 0;
  TESS_CHECK(st_p2p_begin(c, count, t, &n, &r));
  TESS_CHECK(g->memcpy_async(r->host, buf, r->bytes, TESS_COPY_D2H, c->stream));
  TESS_CHECK(g->stream_sync(c->stream));
  TESS_MPI_CHECK(MPI_Isend(r->host, n, tess_dtype_mpi(t), peer, tag, c->comm, &req->mpi));
  req->impl = r;
  r = NULL;
cleanup:
  st_p2p_drop(r);
  return err;
}

tess_err_t tess_comm_staged_irecv_(const tess_comm_ctx_t *c, void *buf, size_t count,
                                   tess_dtype_t t, int peer, int tag, tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  st_req_t *r = NULL;
  int n = 0;
  TESS_CHECK(st_p2p_begin(c, count, t, &n, &r));
  r->dev = buf;
  TESS_MPI_CHECK(MPI_Irecv(r->host, n, tess_dtype_mpi(t), peer, tag, c->comm, &req->mpi));
  req->impl = r;
  r = NULL;
cleanup:
  st_p2p_drop(r);
  return err;
}

/* After MPI completed the request: a receive's copy to the device. */
static tess_err_t st_finish(tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  st_req_t *r = req->impl;
  const tess_device_ops_t *g = tess_device_active_();
  if (!r) goto cleanup;
  if (r->dev) {
    TESS_CHECK(g->memcpy_async(r->dev, r->host, r->bytes, TESS_COPY_H2D, r->stream));
    TESS_CHECK(g->stream_sync(r->stream));
  }
cleanup:
  if (r && err) (void)g->stream_sync(r->stream);
  st_p2p_drop(r);
  req->impl = NULL;
  return err;
}

tess_err_t tess_comm_staged_wait_(tess_comm_request_t *req)
{
  tess_err_t err = TESS_OK;
  tess_err_t e2 = TESS_OK;
  if (req->mpi != MPI_REQUEST_NULL) TESS_MPI_CHECK(MPI_Wait(&req->mpi, MPI_STATUS_IGNORE));
cleanup:
  e2 = st_finish(req);   /* frees the block even after an MPI failure */
  if (!err && e2) err = tess_error_push(e2, __FILE__, __LINE__, __func__, NULL);
  return err;
}

#define STACK_REQ 256
tess_err_t tess_comm_staged_waitany_(int n, tess_comm_request_t req[], int *index)
{
  tess_err_t err = TESS_OK;
  MPI_Request stack[STACK_REQ], *r = NULL;
  int idx = MPI_UNDEFINED;
  *index = -1;
  /* A request with nothing left in MPI (an all-to-all done at its start,
   * or a completed transfer) counts as complete. */
  for (int i = 0; i < n; i++)
    if (req[i].backend && req[i].mpi == MPI_REQUEST_NULL) {
      *index = i;
      TESS_CHECK(st_finish(&req[i]));
      goto cleanup;
    }
  r = n <= STACK_REQ ? stack : malloc(sizeof *r * (size_t)n);
  TESS_REQUIRE(r != NULL, TESS_ERR_MEM, "%d requests", n);
  for (int i = 0; i < n; i++) r[i] = req[i].mpi;
  TESS_MPI_CHECK(MPI_Waitany(n, r, &idx, MPI_STATUS_IGNORE));
  if (idx != MPI_UNDEFINED) {
    req[idx].mpi = r[idx];
    *index = idx;
    TESS_CHECK(st_finish(&req[idx]));
  }
cleanup:
  if (r != stack) free(r);
  return err;
}

tess_err_t tess_comm_staged_waitall_(int n, tess_comm_request_t req[])
{
  tess_err_t err = TESS_OK;
  MPI_Request stack[STACK_REQ], *r = n <= STACK_REQ ? stack : malloc(sizeof *r * (size_t)n);
  TESS_REQUIRE(r != NULL, TESS_ERR_MEM, "%d requests", n);
  for (int i = 0; i < n; i++) r[i] = req[i].mpi;
  TESS_MPI_CHECK(MPI_Waitall(n, r, MPI_STATUSES_IGNORE));
  for (int i = 0; i < n; i++) req[i].mpi = r[i];
cleanup:
  for (int i = 0; i < n; i++) {   /* every block back, even after a failure */
    tess_err_t e2 = req[i].impl ? st_finish(&req[i]) : TESS_OK;
    if (!err && e2) err = tess_error_push(e2, __FILE__, __LINE__, __func__, NULL);
  }
  if (r != stack) free(r);
  return err;
}

static int st_handles(const tess_mesh_t *mesh, tess_memspace_t space)
{
  return tess_memspace_kind(space) == TESS_MEM_DEVICE && mesh->gpu_all
         && tess_device_active_() != NULL;
}

const tess_comm_backend_ops_t tess_comm_backend_host_staged = {
  .id = TESS_COMM_HOST_STAGED,
  .name = "host-staged",
  .handles = st_handles,
  .allreduce = tess_comm_staged_allreduce_,
  .bcast = st_bcast,
  .allgather = st_allgather,
  .allgatherv = st_allgatherv,
  .gatherv = st_gatherv,
  .scatterv = st_scatterv,
  .alltoall = st_alltoall,
  .a2a_plan = st_a2a_plan,
  .a2a_start = st_a2a_start,
  .a2a_free = st_a2a_free,
  .reduce_scatter = st_reduce_scatter,
  .isend = tess_comm_staged_isend_,
  .irecv = tess_comm_staged_irecv_,
  .wait = tess_comm_staged_wait_,
  .waitany = tess_comm_staged_waitany_,
  .waitall = tess_comm_staged_waitall_,
  .release = st_release,
};
#endif
