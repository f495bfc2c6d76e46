/* src/reshard.c: move an array between ShardSpecs (the FFT's transposes).
 * Planning is pure arithmetic: every rank can compute every block from the
 * specs and mesh coordinates, so each rank lists what it sends and receives
 * without talking to anyone (one allreduce picks the communicator).
 * Execution copies this rank's own overlap directly, then makes ONE
 * exchange over the smallest mesh subset that contains all exchanges:
 * either a packed alltoallv (boxes that are already contiguous are sent
 * from / received into the arrays in place, the rest are packed with memcpy
 * of whole innermost runs), or alltoallw with subarray datatypes, or (large
 * plans) point-to-point segments. All of it goes through tess_comm (comm.h):
 * planned all-to-alls made here, started per execute, so a GPU backend
 * moves the same bytes. The distributed FFT's transposes use the packed
 * form below (tess_reshard_create_packed): one transpose engine.
 *
 * Replicated sources: a block held by several ranks (the spec leaves some
 * mesh axes unused) is sent by the copy whose coordinates on the unused
 * axes equal the receiver's, so each receiver hears from exactly one copy
 * of each block and traffic stays within the receiver's replica group.
 *
 * Device arrays: the same plan, executed by execute_device below. Packing,
 * unpacking and the own part go through the device-ops table's box_copy
 * (a CUDA kernel), the staging buffers live in the arrays' memory space, and
 * the exchange is the planned alltoallv through tess_comm with that space
 * (the device comm backend: NCCL, CUDA-aware MPI or host staging). All of it
 * is enqueued on the default stream and synchronized before execute
 * returns. */
#include "array_internal.h"
#include "device.h"
#include "mesh_internal.h"

#include <tessera/comm.h>

#include <tessera/log.h>
#include <tessera/reshard.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef enum { METHOD_ALLTOALLV = 0, METHOD_ALLTOALLW } method_t;

typedef struct {
  int peer;                          /* rank in plan->comm */
  int64_t ext[TESS_MAX_NDIM];        /* box extent */
  int64_t off[TESS_MAX_NDIM];        /* box start in this rank's local block */
  int64_t count;                     /* elements */
} box_t;

struct tess_reshard {
  tess_mesh_t *mesh;
  tess_dtype_t dtype;
  size_t esize;
  int ndim;
  int64_t gshape[TESS_MAX_NDIM];
  tess_shardspec_t sspec, dspec;
  tess_partition_t spart, dpart;     /* owned copies of the arrays' partitions */
  int64_t slshape[TESS_MAX_NDIM], dlshape[TESS_MAX_NDIM];
  int has_self;
  box_t self_src, self_dst;          /* same extent; offsets in src and dst blocks */
  int nsend, nrecv;
  box_t *send, *recv;                /* excluding self */
  MPI_Comm comm;                     /* borrowed from the mesh's subset cache (peer ranks) */
  unsigned mask;                     /* its axes: what every tess_comm call runs over */
  int csize;
  int packed;                        /* tess_reshard_create_packed: chunks, no arrays */
  tess_memspace_t space;             /* of the staging buffers and the exchange */
  const tess_device_ops_t *dops;     /* device arrays: their ops (box_copy); NULL on the host */
  tess_comm_a2a_t *a2a;              /* the planned alltoallv / alltoallw */
  method_t method;
  int stream;                        /* copies use streaming stores (large plans) */
  int overlap;                       /* non-blocking exchange, own part copied meanwhile */
  int pipeline;                      /* point-to-point segments, each unpacked on arrival */
  int64_t seg_bytes;                 /* target segment size of the pipelined exchange */
  /* alltoallv */
  int *scounts, *sdispls, *rcounts, *rdispls;
  int send_direct, recv_direct;      /* 1: no pack / unpack needed */
  void *sendbuf, *recvbuf;           /* owned, reused by every execute */
  /* alltoallw */
  int *wscounts, *wsdispls, *wrcounts, *wrdispls;
  MPI_Datatype *stypes, *rtypes;
};

static tess_log_event_t ev_reshard = -1;

/* Local blocks from this size on are copied with streaming stores: they do
 * not fit in cache, so caching the copy would only cost bandwidth. */
#define STREAM_MIN_BYTES ((int64_t)16 << 20)
/* From this local size on, the exchange is started non-blocking and the own
 * part copied meanwhile. Below it the copy is too short to hide anything and
 * the non-blocking collectives (libnbc in Open MPI) cost more latency than
 * the blocking ones: measured 4x slower for alltoallw at 32^3 c128. */
#define OVERLAP_MIN_BYTES ((int64_t)1 << 20)
/* Pipelined exchange (alltoallv method) from this local size, in segments
 * of about this many bytes: small enough to stay in L2/L3 between the
 * transfer and the unpack, large enough that per-message costs vanish.
 * Measured (bench/results/reshard.md): 0.75-0.83x of a bare alltoall
 * without, 0.9-1.1x with, at 16-256 MiB per rank. */
#define PIPELINE_MIN_BYTES ((int64_t)4 << 20)
#define SEGMENT_BYTES ((int64_t)2 << 20)

/* Overlap of two blocks given by (start, len); 0 if empty. */
static int overlap(int ndim, const int64_t as[], const int64_t al[], const int64_t bs[],
                   const int64_t bl[], int64_t lo[], int64_t ext[])
{
  for (int d = 0; d < ndim; d++) {
    int64_t l = as[d] > bs[d] ? as[d] : bs[d];
    int64_t ha = as[d] + al[d], hb = bs[d] + bl[d];
    int64_t h = ha < hb ? ha : hb;
    if (h <= l) return 0;
    lo[d] = l;
    ext[d] = h - l;
  }
  return 1;
}

/* A box at `off` in an array of `shape` is one contiguous range when it is
 * [1, ..., 1, partial, whole, ..., whole]. Its first element is returned. */
static int contiguous(int ndim, const int64_t shape[], const box_t *b, int64_t *first)
{
  int d = ndim - 1;
  while (d > 0 && b->ext[d] == shape[d]) d--;
  for (int e = 0; e < d; e++)
    if (b->ext[e] != 1) return 0;
  int64_t l = 0;
  for (int e = 0; e < ndim; e++) l = l * shape[e] + b->off[e];
  *first = l;
  return 1;
}

static unsigned used_axes(const tess_shardspec_t *s)
{
  unsigned u = 0;
  for (int d = 0; d < s->ndim; d++)
    if (s->axis[d] != TESS_REPLICATED) u |= 1u << s->axis[d];
  return u;
}

static tess_err_t check_arrays(const tess_array_t *src, const tess_array_t *dst)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(src && dst, TESS_ERR_ARG, "NULL array");
  TESS_REQUIRE(src != dst, TESS_ERR_ARG, "reshard needs distinct source and destination arrays");
  TESS_REQUIRE(src->mesh == dst->mesh, TESS_ERR_SHAPE, "reshard arrays live on different meshes");
  TESS_REQUIRE(src->dtype == dst->dtype, TESS_ERR_SHAPE, "reshard from %s to %s: dtypes differ",
               tess_dtype_name(src->dtype), tess_dtype_name(dst->dtype));
  TESS_REQUIRE(src->ndim == dst->ndim, TESS_ERR_SHAPE, "reshard from %d-D to %d-D", src->ndim,
               dst->ndim);
  for (int d = 0; d < src->ndim; d++)
    TESS_REQUIRE(src->gshape[d] == dst->gshape[d], TESS_ERR_SHAPE,
                 "reshard: dimension %d is %lld in the source, %lld in the destination", d,
                 (long long)src->gshape[d], (long long)dst->gshape[d]);
  /* Host and pinned host mix freely: both are plain CPU memory to a reshard. */
  TESS_REQUIRE(src->local.space == dst->local.space
                   || (tess_memspace_is_host(src->local.space)
                       && tess_memspace_is_host(dst->local.space)), TESS_ERR_SHAPE,
               "reshard between %s and %s arrays (copy first)",
               tess_memspace_name(src->local.space), tess_memspace_name(dst->local.space));
cleanup:
  return err;
}

static tess_err_t to_int(int64_t v, const char *what, int *out)
{
  if (v > INT_MAX)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                           "reshard: %s of %lld elements exceeds the MPI int limit %d; use more "
                           "ranks", what, (long long)v, INT_MAX);
  *out = (int)v;
  return TESS_OK;
}

/* Lists of boxes this rank sends and receives; peers are mesh ranks here. */
static tess_err_t list_boxes(tess_reshard_t *p, unsigned *diff_mask)
{
  tess_err_t err = TESS_OK;
  const tess_mesh_t *m = p->mesh;
  const int *me = m->coords;
  unsigned unused = ((1u << m->naxes) - 1) & ~used_axes(&p->sspec);
  int c[TESS_MESH_MAX_AXES];
  int64_t ss[TESS_MAX_NDIM], sl[TESS_MAX_NDIM], ds[TESS_MAX_NDIM], dl[TESS_MAX_NDIM];
  int64_t ms[TESS_MAX_NDIM], ml[TESS_MAX_NDIM], md[TESS_MAX_NDIM], mdl[TESS_MAX_NDIM];
  int64_t lo[TESS_MAX_NDIM], ext[TESS_MAX_NDIM];

  tess_array_block_at_(m, p->ndim, p->gshape, &p->sspec, &p->spart, me, ms, ml);
  tess_array_block_at_(m, p->ndim, p->gshape, &p->dspec, &p->dpart, me, md, mdl);
  p->send = calloc((size_t)m->size, sizeof *p->send);
  p->recv = calloc((size_t)m->size, sizeof *p->recv);
  TESS_REQUIRE(p->send && p->recv, TESS_ERR_MEM, "reshard plan");
  *diff_mask = 0;
  for (int r = 0; r < m->size; r++) {
    tess_mesh_coords_of(m, r, c);
    int same_group = 1;
    unsigned diff = 0;
    for (int a = 0; a < m->naxes; a++) {
      if (c[a] != me[a]) diff |= 1u << a;
      if ((unused >> a & 1u) && c[a] != me[a]) same_group = 0;
    }
    if (!same_group) continue;
    /* r as receiver: my source block against its destination block. */
    tess_array_block_at_(m, p->ndim, p->gshape, &p->dspec, &p->dpart, c, ds, dl);
    if (overlap(p->ndim, ms, ml, ds, dl, lo, ext)) {
      box_t b = {.peer = r, .count = 1};
      for (int d = 0; d < p->ndim; d++) {
        b.ext[d] = ext[d];
        b.off[d] = lo[d] - ms[d];
        b.count *= ext[d];
      }
      if (r == m->rank) {
        p->has_self = 1;
        p->self_src = b;
        p->self_dst = b;
        for (int d = 0; d < p->ndim; d++) p->self_dst.off[d] = lo[d] - md[d];
      } else {
        p->send[p->nsend++] = b;
        *diff_mask |= diff;
      }
    }
    if (r == m->rank) continue;
    /* r as sender: its source block against my destination block. */
    tess_array_block_at_(m, p->ndim, p->gshape, &p->sspec, &p->spart, c, ss, sl);
    if (overlap(p->ndim, ss, sl, md, mdl, lo, ext)) {
      box_t b = {.peer = r, .count = 1};
      for (int d = 0; d < p->ndim; d++) {
        b.ext[d] = ext[d];
        b.off[d] = lo[d] - md[d];
        b.count *= ext[d];
      }
      p->recv[p->nrecv++] = b;
      *diff_mask |= diff;
    }
  }
cleanup:
  return err;
}

/* Mesh ranks of the peers -> ranks in the chosen subset communicator. */
static tess_err_t translate_peers(tess_reshard_t *p)
{
  tess_err_t err = TESS_OK;
  MPI_Group gm = MPI_GROUP_NULL, gc = MPI_GROUP_NULL;
  int n = p->nsend + p->nrecv, *in = NULL, *out = NULL;
  in = malloc(sizeof(int) * (size_t)(n ? n : 1));
  out = malloc(sizeof(int) * (size_t)(n ? n : 1));
  TESS_REQUIRE(in && out, TESS_ERR_MEM, "reshard plan");
  for (int i = 0; i < p->nsend; i++) in[i] = p->send[i].peer;
  for (int i = 0; i < p->nrecv; i++) in[p->nsend + i] = p->recv[i].peer;
  TESS_MPI_CHECK(MPI_Comm_group(p->mesh->cart, &gm));
  TESS_MPI_CHECK(MPI_Comm_group(p->comm, &gc));
  if (n) TESS_MPI_CHECK(MPI_Group_translate_ranks(gm, n, in, gc, out));
  for (int i = 0; i < n; i++)
    TESS_REQUIRE(out[i] != MPI_UNDEFINED, TESS_ERR_INTERNAL, "reshard peer outside its subset");
  for (int i = 0; i < p->nsend; i++) p->send[i].peer = out[i];
  for (int i = 0; i < p->nrecv; i++) p->recv[i].peer = out[p->nsend + i];
cleanup:
  if (gm != MPI_GROUP_NULL) MPI_Group_free(&gm);
  if (gc != MPI_GROUP_NULL) MPI_Group_free(&gc);
  free(in);
  free(out);
  return err;
}

/* The planned all-to-all of the int layout arrays (size_t for tess_comm). */
static tess_err_t plan_a2a(tess_reshard_t *p, const int *sc, const int *sd,
                           const MPI_Datatype *st, const int *rc, const int *rd,
                           const MPI_Datatype *rt)
{
  tess_err_t err = TESS_OK;
  int n = p->csize;
  size_t *v = malloc(sizeof *v * (size_t)(4 * n + 1));
  TESS_REQUIRE(v != NULL, TESS_ERR_MEM, "reshard plan");
  for (int i = 0; i < n; i++) {
    v[i] = (size_t)sc[i];
    v[n + i] = (size_t)sd[i];
    v[2 * n + i] = (size_t)rc[i];
    v[3 * n + i] = (size_t)rd[i];
  }
  if (st)
    TESS_CHECK(tess_comm_alltoallw_plan(p->mesh, p->mask, v, v + n, st, v + 2 * n, v + 3 * n, rt,
                                        p->space, &p->a2a));
  else
    TESS_CHECK(tess_comm_alltoallv_plan(p->mesh, p->mask, v, v + n, v + 2 * n, v + 3 * n,
                                        p->dtype, p->space, &p->a2a));
cleanup:
  free(v);
  return err;
}

static tess_err_t setup_alltoallv(tess_reshard_t *p)
{
  tess_err_t err = TESS_OK;
  int n = p->csize;
  int64_t first = 0, soff = 0, roff = 0;
  p->scounts = calloc((size_t)n, sizeof(int));
  p->sdispls = calloc((size_t)n, sizeof(int));
  p->rcounts = calloc((size_t)n, sizeof(int));
  p->rdispls = calloc((size_t)n, sizeof(int));
  TESS_REQUIRE(p->scounts && p->sdispls && p->rcounts && p->rdispls, TESS_ERR_MEM, "plan");
  /* Send from the source block in place when every box is one range of it. */
  p->send_direct = 1;
  for (int i = 0; i < p->nsend && p->send_direct; i++)
    p->send_direct = contiguous(p->ndim, p->slshape, &p->send[i], &first) && first <= INT_MAX;
  p->recv_direct = 1;
  for (int i = 0; i < p->nrecv && p->recv_direct; i++)
    p->recv_direct = contiguous(p->ndim, p->dlshape, &p->recv[i], &first) && first <= INT_MAX;
  for (int i = 0; i < p->nsend; i++) {
    box_t *b = &p->send[i];
    TESS_CHECK(to_int(b->count, "a block sent to one rank", &p->scounts[b->peer]));
    if (p->send_direct) {
      contiguous(p->ndim, p->slshape, b, &first);
      p->sdispls[b->peer] = (int)first;
    } else {
      TESS_CHECK(to_int(soff, "the packed send buffer", &p->sdispls[b->peer]));
      soff += b->count;
    }
  }
  for (int i = 0; i < p->nrecv; i++) {
    box_t *b = &p->recv[i];
    TESS_CHECK(to_int(b->count, "a block received from one rank", &p->rcounts[b->peer]));
    if (p->recv_direct) {
      contiguous(p->ndim, p->dlshape, b, &first);
      p->rdispls[b->peer] = (int)first;
    } else {
      TESS_CHECK(to_int(roff, "the packed receive buffer", &p->rdispls[b->peer]));
      roff += b->count;
    }
  }
  if (!p->send_direct) TESS_CHECK(tess_malloc(p->space, (size_t)soff * p->esize, &p->sendbuf));
  if (!p->recv_direct) TESS_CHECK(tess_malloc(p->space, (size_t)roff * p->esize, &p->recvbuf));
  /* A device plan on one rank only copies its own part (execute_device):
   * no exchange to plan, so no device comm backend needed. */
  if (!p->pipeline && !(p->dops && p->csize == 1))
    TESS_CHECK(plan_a2a(p, p->scounts, p->sdispls, NULL, p->rcounts, p->rdispls, NULL));
cleanup:
  return err;
}

static tess_err_t subarray(int ndim, const int64_t shape[], const box_t *b, MPI_Datatype et,
                           MPI_Datatype *t)
{
  tess_err_t err = TESS_OK;
  int sz[TESS_MAX_NDIM], sub[TESS_MAX_NDIM], st[TESS_MAX_NDIM];
  for (int d = 0; d < ndim; d++) {
    TESS_CHECK(to_int(shape[d], "a local dimension", &sz[d]));
    sub[d] = (int)b->ext[d];
    st[d] = (int)b->off[d];
  }
  TESS_MPI_CHECK(MPI_Type_create_subarray(ndim, sz, sub, st, MPI_ORDER_C, et, t));
  TESS_MPI_CHECK(MPI_Type_commit(t));
cleanup:
  return err;
}

static tess_err_t setup_alltoallw(tess_reshard_t *p)
{
  tess_err_t err = TESS_OK;
  int n = p->csize;
  MPI_Datatype et = tess_dtype_mpi(p->dtype);
  p->wscounts = calloc((size_t)n, sizeof(int));
  p->wsdispls = calloc((size_t)n, sizeof(int));
  p->wrcounts = calloc((size_t)n, sizeof(int));
  p->wrdispls = calloc((size_t)n, sizeof(int));
  p->stypes = malloc(sizeof(MPI_Datatype) * (size_t)n);
  p->rtypes = malloc(sizeof(MPI_Datatype) * (size_t)n);
  TESS_REQUIRE(p->wscounts && p->wsdispls && p->wrcounts && p->wrdispls && p->stypes && p->rtypes,
               TESS_ERR_MEM, "plan");
  for (int i = 0; i < n; i++) p->stypes[i] = p->rtypes[i] = MPI_DATATYPE_NULL;
  for (int i = 0; i < p->nsend; i++) {
    TESS_CHECK(subarray(p->ndim, p->slshape, &p->send[i], et, &p->stypes[p->send[i].peer]));
    p->wscounts[p->send[i].peer] = 1;
  }
  for (int i = 0; i < p->nrecv; i++) {
    TESS_CHECK(subarray(p->ndim, p->dlshape, &p->recv[i], et, &p->rtypes[p->recv[i].peer]));
    p->wrcounts[p->recv[i].peer] = 1;
  }
cleanup:
  /* Unused slots need a valid type even with count 0. */
  for (int i = 0; p->stypes && p->rtypes && i < n; i++) {
    if (p->stypes[i] == MPI_DATATYPE_NULL) p->stypes[i] = MPI_BYTE;
    if (p->rtypes[i] == MPI_DATATYPE_NULL) p->rtypes[i] = MPI_BYTE;
  }
  if (err == TESS_OK)   /* (after the loop above: every slot holds a valid type) */
    err = plan_a2a(p, p->wscounts, p->wsdispls, p->stypes, p->wrcounts, p->wrdispls, p->rtypes);
  return err;
}

/* auto = packed alltoallv. Measured on the 2-core machine (bench/results/
 * reshard.md): on large arrays alltoallw is 5-10x slower (Open MPI's
 * single-copy path only takes contiguous data); on small ones (32^3 c128) it
 * ranged from 0.25x to 1.47x of a bare alltoall depending on the hour and the
 * rank count, while alltoallv stayed at 0.85-1.0. A size rule would have
 * chased noise, so alltoallw is there on request (TESS_RESHARD_METHOD), and
 * for GPU backends, where the trade-off will be measured again. */

static tess_err_t choose_method(tess_reshard_t *p)
{
  tess_err_t err = TESS_OK;
  const char *e = getenv("TESS_RESHARD_METHOD");
  if (!e || !*e || strcmp(e, "auto") == 0)
    p->method = METHOD_ALLTOALLV;
  else if (strcmp(e, "alltoallv") == 0)
    p->method = METHOD_ALLTOALLV;
  else if (strcmp(e, "alltoallw") == 0)
    p->method = METHOD_ALLTOALLW;
  else
    TESS_REQUIRE(0, TESS_ERR_ARG, "TESS_RESHARD_METHOD='%s' (expected auto, alltoallv or "
                 "alltoallw)", e);
cleanup:
  return err;
}

const char *tess_reshard_method(const tess_reshard_t *plan)
{
  if (!plan) return "none";
  return plan->method == METHOD_ALLTOALLW ? "alltoallw" : "alltoallv";
}

tess_err_t tess_reshard_create(const tess_array_t *src, const tess_array_t *dst,
                               tess_reshard_t **plan)
{
  tess_err_t err = TESS_OK;
  tess_reshard_t *p = NULL;
  unsigned mask = 0;
  TESS_REQUIRE(plan != NULL, TESS_ERR_ARG, "NULL plan output");
  *plan = NULL;
  TESS_CHECK(check_arrays(src, dst));
  if (ev_reshard < 0) TESS_CHECK(tess_log_event_register("Reshard", &ev_reshard));
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "reshard plan");
  p->mesh = src->mesh;
  p->dtype = src->dtype;
  p->esize = src->esize;
  p->ndim = src->ndim;
  p->sspec = src->spec;
  p->dspec = dst->spec;
  p->comm = MPI_COMM_NULL;
  /* Host and pinned arrays stage through pageable host memory, as always;
   * device arrays through their own space. */
  p->space = TESS_MEM_HOST;
  if (!tess_memspace_is_host(src->local.space)) {
    p->space = src->local.space;
    TESS_CHECK(tess_device_ops_for_(p->space, &p->dops));
  }
  TESS_CHECK(tess_partition_copy_(&p->spart, &src->part, p->mesh, p->ndim, &p->sspec));
  TESS_CHECK(tess_partition_copy_(&p->dpart, &dst->part, p->mesh, p->ndim, &p->dspec));
  for (int d = 0; d < p->ndim; d++) {
    p->gshape[d] = src->gshape[d];
    p->slshape[d] = src->local.shape[d];
    p->dlshape[d] = dst->local.shape[d];
  }
  TESS_CHECK(list_boxes(p, &mask));
  /* Every exchange stays within the subset of axes along which any pair
   * of partners differs: the smallest communicator for the collective. */
  TESS_CHECK(tess_comm_allreduce(p->mesh, TESS_AXES_ALL, &mask, &mask, 1, TESS_I32, TESS_OP_BOR,
                                 TESS_MEM_HOST, NULL));
  p->mask = mask;
  TESS_CHECK(tess_mesh_subset_comm(p->mesh, mask, &p->comm));
  TESS_MPI_CHECK(MPI_Comm_size(p->comm, &p->csize));
  TESS_CHECK(translate_peers(p));
  {
    /* Stream when this rank's copies alone overflow a typical L3 share. */
    int64_t local = 1;
    for (int d = 0; d < p->ndim; d++) local *= p->dlshape[d];
    const char *e = getenv("TESS_RESHARD_STREAM");
    p->stream = e ? atoi(e) : local * (int64_t)p->esize >= STREAM_MIN_BYTES;
    /* Must agree across ranks (different collectives otherwise): decided on
     * the largest local block, which the allreduce below makes common. */
    p->overlap = local * (int64_t)p->esize >= OVERLAP_MIN_BYTES;
    /* Large exchanges go in segments so that each one is unpacked while it
     * is still in cache, instead of one more pass over memory at the end. */
    e = getenv("TESS_RESHARD_PIPELINE");
    p->pipeline = e ? atoi(e) != 0 : local * (int64_t)p->esize >= PIPELINE_MIN_BYTES;
    e = getenv("TESS_RESHARD_SEGMENT");
    p->seg_bytes = e && atoll(e) > 0 ? atoll(e) : SEGMENT_BYTES;
  }
  /* What can fail on one rank alone (an int limit, memory, the environment)
   * must fail on all, or the others would wait in execute forever. */
  tess_err_t lerr = choose_method(p);
  if (lerr == TESS_OK && p->dops) {
    /* Device plans: packed alltoallv, whatever TESS_RESHARD_METHOD says.
     * alltoallw needs MPI datatypes over device memory (NCCL has none) and
     * the pipelined segments unpack on the CPU as each arrives; the device
     * path packs with a kernel and makes one blocking exchange on the stream.
     * Streaming stores are a CPU matter: off. */
    p->method = METHOD_ALLTOALLV;
    p->stream = p->overlap = p->pipeline = 0;
  }
  if (lerr == TESS_OK)
    lerr = p->method == METHOD_ALLTOALLW ? setup_alltoallw(p) : setup_alltoallv(p);
  const int dev = p->dops != NULL;
  int agree[7] = {lerr != TESS_OK, (int)p->method, -(int)p->method, p->overlap, p->pipeline,
                  dev, -dev};
  TESS_CHECK(tess_comm_allreduce(p->mesh, TESS_AXES_ALL, agree, agree, 7, TESS_I32, TESS_OP_MAX,
                                 TESS_MEM_HOST, NULL));
  p->overlap = agree[3];
  p->pipeline = agree[4];   /* point-to-point on one rank means on all */
  if (lerr != TESS_OK) {
    err = tess_error_push(lerr, __FILE__, __LINE__, __func__, NULL);
    goto cleanup;
  }
  TESS_REQUIRE(!agree[0], TESS_ERR_ARG, "reshard planning failed on another rank (see its error)");
  TESS_REQUIRE(agree[1] == -agree[2], TESS_ERR_ARG,
               "ranks chose different reshard methods: is TESS_RESHARD_METHOD the same on all?");
  TESS_REQUIRE(agree[5] == -agree[6], TESS_ERR_ARG,
               "reshard of device arrays on some ranks and host arrays on others");

  *plan = p;
  p = NULL;
cleanup:
  tess_reshard_destroy(&p);
  return err;
}

void tess_reshard_destroy(tess_reshard_t **plan)
{
  if (!plan || !*plan) return;
  tess_reshard_t *p = *plan;
  for (int i = 0; p->stypes && i < p->csize; i++)
    if (p->stypes[i] != MPI_BYTE && p->stypes[i] != MPI_DATATYPE_NULL) MPI_Type_free(&p->stypes[i]);
  for (int i = 0; p->rtypes && i < p->csize; i++)
    if (p->rtypes[i] != MPI_BYTE && p->rtypes[i] != MPI_DATATYPE_NULL) MPI_Type_free(&p->rtypes[i]);
  tess_comm_a2a_destroy(&p->a2a);   /* before the types it borrows */
  tess_partition_free_(&p->spart);
  tess_partition_free_(&p->dpart);
  free(p->stypes);
  free(p->rtypes);
  free(p->wscounts);
  free(p->wsdispls);
  free(p->wrcounts);
  free(p->wrdispls);
  free(p->scounts);
  free(p->sdispls);
  free(p->rcounts);
  free(p->rdispls);
  tess_free(p->space, &p->sendbuf);
  tess_free(p->space, &p->recvbuf);
  free(p->send);
  free(p->recv);
  free(p);
  *plan = NULL;
}

static tess_err_t check_plan(const tess_reshard_t *p, const tess_array_t *src,
                             const tess_array_t *dst)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p != NULL, TESS_ERR_ARG, "NULL plan");
  TESS_REQUIRE(!p->packed, TESS_ERR_ARG,
               "a packed reshard plan runs with tess_reshard_execute_packed, not on arrays");
  TESS_CHECK(check_arrays(src, dst));
  TESS_REQUIRE(src->mesh == p->mesh && src->dtype == p->dtype && src->ndim == p->ndim
                   && tess_shardspec_equal(&src->spec, &p->sspec)
                   && tess_shardspec_equal(&dst->spec, &p->dspec),
               TESS_ERR_SHAPE, "arrays do not match the specs the reshard plan was made for");
  for (int d = 0; d < p->ndim; d++)
    TESS_REQUIRE(src->gshape[d] == p->gshape[d], TESS_ERR_SHAPE,
                 "dimension %d is %lld, the plan was made for %lld", d,
                 (long long)src->gshape[d], (long long)p->gshape[d]);
  TESS_REQUIRE(tess_partition_equal_(&src->part, &p->spart, p->mesh, p->ndim, p->gshape,
                                     &p->sspec)
                   && tess_partition_equal_(&dst->part, &p->dpart, p->mesh, p->ndim, p->gshape,
                                            &p->dspec),
               TESS_ERR_SHAPE, "arrays do not match the partitions the reshard plan was made for");
cleanup:
  return err;
}

static void copy_self(const tess_reshard_t *p, const tess_array_t *src, tess_array_t *dst)
{
  if (p->has_self)
    tess_box_copy_(p->ndim, p->esize, p->self_src.ext, dst->local.data, p->dlshape, p->self_dst.off,
                   src->local.data, p->slshape, p->self_src.off, p->stream);
}

/* Rows of a box's first dimension per segment, and the number of segments.
 * Both sides of a transfer see the same box extent, so they split it alike.
 * Rows of DIRECT_ROW_MIN_BYTES and more go one per segment: such a row that
 * is contiguous in the array itself is sent from / received into the array
 * in place, so it is copied once (by MPI), like a bare alltoall's data. */
#define DIRECT_ROW_MIN_BYTES ((int64_t)64 << 10)
static void segments(const tess_reshard_t *p, const box_t *b, int64_t *rows, int *nseg)
{
  int64_t row = b->ext[0] > 0 ? b->count / b->ext[0] : 0;
  int64_t rowb = row * (int64_t)p->esize;
  int64_t r = rowb >= DIRECT_ROW_MIN_BYTES ? 1 : rowb > 0 ? p->seg_bytes / rowb : 1;
  if (r < 1) r = 1;
  if ((b->ext[0] + r - 1) / r > 30000) r = (b->ext[0] + 29999) / 30000;   /* tags <= 32767 */
  *rows = r;
  *nseg = b->count > 0 ? (int)((b->ext[0] + r - 1) / r) : 0;
}

/* Element offset of row `r0` of box b (cut in segments of `rows` rows) in a
 * block of `shape`, or -1 if the box does not go one row per segment or its
 * rows are not contiguous there. */
static int64_t direct_row(const tess_reshard_t *p, const box_t *b, int64_t rows,
                          const int64_t shape[], int64_t r0)
{
  int d;
  if (rows != 1 || p->ndim < 2) return -1;
  for (d = 2; d < p->ndim; d++)
    if (b->off[d] != 0 || b->ext[d] != shape[d]) return -1;
  int64_t l = 0;
  for (d = 0; d < p->ndim; d++) l = l * shape[d] + b->off[d] + (d == 0 ? r0 : 0);
  return l;
}

/* Where the segment of box b starting at row r0 lives: in the array `arr`
 * (block shape `shape`) if its row is contiguous there -- unless the packed
 * buffer already is the array (`whole`) -- else in the packed buffer at the
 * peer's displacement `displ`. Sends and receives use the same rule. */
static char *segment_buf(const tess_reshard_t *p, const box_t *b, int64_t rows, int64_t r0,
                         int whole, char *arr, const int64_t shape[], char *packed, int displ,
                         int *inplace)
{
  int64_t at = whole ? -1 : direct_row(p, b, rows, shape, r0);
  int64_t row = b->count / b->ext[0];
  *inplace = at >= 0;
  return at >= 0 ? arr + (size_t)at * p->esize
                 : packed + ((size_t)displ + (size_t)(r0 * row)) * p->esize;
}

/* The alltoallv exchange as point-to-point segments: every segment is a
 * contiguous range of the (packed or in-place) buffers, tagged by its index;
 * each received one is unpacked as soon as it arrives. */
static tess_err_t exchange_pipelined(const tess_reshard_t *p, const tess_array_t *src,
                                     tess_array_t *dst, const char *sb, char *rb)
{
  tess_err_t err = TESS_OK;
  int nr = 0, ns = 0, k = 0, inplace = 0;
  tess_comm_request_t *rq = NULL;
  int *rbox = NULL, *nseg = NULL;
  int64_t *rrow = NULL, *rows = NULL;
  const int nbox = p->nrecv + p->nsend;   /* receive boxes, then send boxes */
  rows = malloc(sizeof *rows * (size_t)(nbox + 1));
  nseg = malloc(sizeof *nseg * (size_t)(nbox + 1));
  TESS_REQUIRE(rows && nseg, TESS_ERR_MEM, "%d reshard boxes", nbox);
  for (int i = 0; i < nbox; i++) {
    segments(p, i < p->nrecv ? &p->recv[i] : &p->send[i - p->nrecv], &rows[i], &nseg[i]);
    if (i < p->nrecv) nr += nseg[i];
    else ns += nseg[i];
  }
  rq = malloc(sizeof *rq * (size_t)(nr + ns + 1));
  rbox = malloc(sizeof *rbox * (size_t)(nr + 1));
  rrow = malloc(sizeof *rrow * (size_t)(nr + 1));
  TESS_REQUIRE(rq && rbox && rrow, TESS_ERR_MEM, "%d reshard segments", nr + ns);
  for (int i = 0; i < nr + ns; i++) rq[i] = TESS_COMM_REQUEST_NULL;
  for (int i = 0; i < nbox; i++) {
    const int recv = i < p->nrecv;
    const box_t *b = recv ? &p->recv[i] : &p->send[i - p->nrecv];
    const int64_t row = b->count / b->ext[0];
    for (int j = 0; j < nseg[i]; j++, k++) {
      int64_t r0 = j * rows[i], nrow = b->ext[0] - r0 < rows[i] ? b->ext[0] - r0 : rows[i];
      size_t cnt = (size_t)(nrow * row);
      if (recv) {
        char *buf = segment_buf(p, b, rows[i], r0, p->recv_direct, (char *)dst->local.data, p->dlshape,
                                rb, p->rdispls[b->peer], &inplace);
        rbox[k] = i;
        rrow[k] = inplace ? -1 : r0;   /* -1: landed in place, nothing to unpack */
        TESS_CHECK(tess_comm_irecv(p->mesh, p->mask, buf, cnt, p->dtype, b->peer, j,
                                   TESS_MEM_HOST, NULL, &rq[k]));
      } else {
        const char *buf = segment_buf(p, b, rows[i], r0, p->send_direct, (char *)src->local.data,
                                      p->slshape, (char *)sb, p->sdispls[b->peer], &inplace);
        TESS_CHECK(tess_comm_isend(p->mesh, p->mask, buf, cnt, p->dtype, b->peer, j,
                                   TESS_MEM_HOST, NULL, &rq[k]));
      }
    }
  }
  copy_self(p, src, dst);
  for (int done = 0; done < nr; done++) {
    int idx = -1;
    TESS_CHECK(tess_comm_waitany(nr, rq, &idx));
    if (idx < 0 || p->recv_direct || rrow[idx] < 0) continue;
    const int i = rbox[idx];
    const box_t *b = &p->recv[i];
    int64_t row = b->count / b->ext[0], ext[TESS_MAX_NDIM], off[TESS_MAX_NDIM];
    static const int64_t zero[TESS_MAX_NDIM] = {0};
    memcpy(ext, b->ext, sizeof ext);
    memcpy(off, b->off, sizeof off);
    ext[0] = b->ext[0] - rrow[idx] < rows[i] ? b->ext[0] - rrow[idx] : rows[i];
    off[0] += rrow[idx];
    tess_box_copy_(p->ndim, p->esize, ext, dst->local.data, p->dlshape, off,
                   rb + ((size_t)p->rdispls[b->peer] + (size_t)(rrow[idx] * row)) * p->esize, ext,
                   zero, p->stream);
  }
  TESS_CHECK(tess_comm_waitall(ns, rq + nr));
cleanup:
  /* never leave a request active (freeing one is erroneous in MPI) */
  if (err && rq)
    for (int i = 0; i < nr + ns; i++) (void)tess_comm_wait(&rq[i]);
  free(rq);
  free(rbox);
  free(rrow);
  free(rows);
  free(nseg);
  return err;
}

/* The device form of the alltoallv method: pack, own part, exchange, unpack,
 * all enqueued in that order on the default stream (the comm backend orders
 * its transfer there too), then one synchronization, so that the caller
 * sees a finished reshard as on the host. */
static tess_err_t execute_device(const tess_reshard_t *p, const tess_array_t *src,
                                 tess_array_t *dst)
{
  tess_err_t err = TESS_OK;
  static const int64_t zero[TESS_MAX_NDIM] = {0};
  const tess_device_ops_t *o = p->dops;
  const tess_stream_t s = TESS_STREAM_DEFAULT;
  char *sb = p->send_direct ? (char *)src->local.data : p->sendbuf;
  char *rb = p->recv_direct ? (char *)dst->local.data : p->recvbuf;
  if (p->csize > 1 && !p->send_direct)
    for (int i = 0; i < p->nsend; i++) {
      const box_t *b = &p->send[i];
      TESS_CHECK(o->box_copy(p->ndim, p->esize, b->ext, sb + (size_t)p->sdispls[b->peer] * p->esize,
                             b->ext, zero, src->local.data, p->slshape, b->off, s));
    }
  if (p->has_self)
    TESS_CHECK(o->box_copy(p->ndim, p->esize, p->self_src.ext, dst->local.data, p->dlshape,
                           p->self_dst.off, src->local.data, p->slshape, p->self_src.off, s));
  if (p->csize > 1) {
    TESS_CHECK(tess_comm_a2a_start(p->a2a, sb, rb, s, NULL));
    if (!p->recv_direct)
      for (int i = 0; i < p->nrecv; i++) {
        const box_t *b = &p->recv[i];
        TESS_CHECK(o->box_copy(p->ndim, p->esize, b->ext, dst->local.data, p->dlshape, b->off,
                               rb + (size_t)p->rdispls[b->peer] * p->esize, b->ext, zero, s));
      }
  }
cleanup:
  /* Also after a failure: nothing of ours may still run on the buffers. */
  if (o->stream_sync(s) != TESS_OK && err == TESS_OK)
    err = tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, "reshard on the device");
  return err;
}

tess_err_t tess_reshard_execute(const tess_reshard_t *p, const tess_array_t *src,
                                tess_array_t *dst)
{
  tess_err_t err = TESS_OK;
  static const int64_t zero[TESS_MAX_NDIM] = {0};
  tess_comm_request_t rq = TESS_COMM_REQUEST_NULL;
  TESS_CHECK(check_plan(p, src, dst));
  tess_log_event_begin(ev_reshard);
  if (p->dops) {
    TESS_CHECK(execute_device(p, src, dst));
    goto cleanup;
  }
  if (p->csize == 1) {
    copy_self(p, src, dst);
    goto cleanup;
  }
  /* Large plans start the exchange non-blocking so that this rank's own part
   * is copied while the peers read and write the other parts (disjoint boxes). */
  if (p->method == METHOD_ALLTOALLW) {
    if (p->overlap) {
      TESS_CHECK(tess_comm_a2a_start(p->a2a, src->local.data, dst->local.data, NULL, &rq));
      copy_self(p, src, dst);
      TESS_CHECK(tess_comm_wait(&rq));
    } else {
      copy_self(p, src, dst);
      TESS_CHECK(tess_comm_a2a_start(p->a2a, src->local.data, dst->local.data, NULL, NULL));
    }
  } else {
    char *sb = p->send_direct ? (char *)src->local.data : p->sendbuf;
    char *rb = p->recv_direct ? (char *)dst->local.data : p->recvbuf;
    if (!p->send_direct)
      for (int i = 0; i < p->nsend; i++) {
        const box_t *b = &p->send[i];
        if (p->pipeline) {
          int64_t rows;
          int nseg;
          segments(p, b, &rows, &nseg);
          if (direct_row(p, b, rows, p->slshape, 0) >= 0) continue;   /* sent in place */
        }
        tess_box_copy_(p->ndim, p->esize, b->ext, sb + (size_t)p->sdispls[b->peer] * p->esize,
                       b->ext, zero, src->local.data, p->slshape, b->off, p->stream);
      }
    if (p->pipeline) {
      TESS_CHECK(exchange_pipelined(p, src, dst, sb, rb));
      goto cleanup;   /* unpacked segment by segment */
    } else if (p->overlap) {
      TESS_CHECK(tess_comm_a2a_start(p->a2a, sb, rb, NULL, &rq));
      copy_self(p, src, dst);
      TESS_CHECK(tess_comm_wait(&rq));
    } else {
      copy_self(p, src, dst);
      TESS_CHECK(tess_comm_a2a_start(p->a2a, sb, rb, NULL, NULL));
    }
    if (!p->recv_direct)
      for (int i = 0; i < p->nrecv; i++) {
        const box_t *b = &p->recv[i];
        tess_box_copy_(p->ndim, p->esize, b->ext, dst->local.data, p->dlshape, b->off,
                       rb + (size_t)p->rdispls[b->peer] * p->esize, b->ext, zero, p->stream);
      }
  }
cleanup:
  /* Freeing an active collective request is erroneous in MPI: complete it. */
  (void)tess_comm_wait(&rq);
  tess_log_event_end(ev_reshard);
  return err;
}

tess_err_t tess_reshard(const tess_array_t *src, tess_array_t *dst)
{
  tess_err_t err = TESS_OK;
  tess_reshard_t *p = NULL;
  TESS_CHECK(tess_reshard_create(src, dst, &p));
  TESS_CHECK(tess_reshard_execute(p, src, dst));
cleanup:
  tess_reshard_destroy(&p);
  return err;
}

tess_err_t tess_reshard_create_packed(tess_mesh_t *mesh, unsigned axes, tess_dtype_t t,
                                      tess_memspace_t space, const size_t scounts[],
                                      const size_t sdispls[], const size_t rcounts[],
                                      const size_t rdispls[], tess_reshard_t **plan)
{
  tess_err_t err = TESS_OK;
  tess_reshard_t *p = NULL;
  TESS_REQUIRE(plan != NULL && mesh != NULL, TESS_ERR_ARG, "NULL argument");
  *plan = NULL;
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "reshard plan");
  p->packed = 1;
  p->mesh = mesh;
  p->dtype = t;
  p->esize = tess_dtype_size(t);
  p->mask = axes;
  p->comm = MPI_COMM_NULL;
  TESS_CHECK(tess_comm_rank_size(mesh, axes, NULL, &p->csize));
  TESS_CHECK(tess_comm_alltoallv_plan(mesh, axes, scounts, sdispls, rcounts, rdispls, t, space,
                                      &p->a2a));
  *plan = p;
  p = NULL;
cleanup:
  tess_reshard_destroy(&p);
  return err;
}

tess_err_t tess_reshard_execute_packed(const tess_reshard_t *p, const void *send, void *recv,
                                       tess_stream_t stream)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p != NULL && p->packed, TESS_ERR_ARG,
               "tess_reshard_execute_packed needs a plan from tess_reshard_create_packed");
  TESS_CHECK(tess_comm_a2a_start(p->a2a, send, recv, stream, NULL));
cleanup:
  return err;
}
