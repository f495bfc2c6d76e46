/* pde/pinn_problem.c: a PINN loss and its exact gradient, data parallel.
 * The points of every set are cut into fixed-size global chunks (the last
 * one padded with copies of its last point, whose adjoint seeds are zero);
 * the chunks of all sets, in set order, are split in contiguous blocks over
 * the ranks. A chunk's work (jets, residuals, reverse mode, its partial
 * gradient) has the same shapes and inputs wherever it runs, so it gives
 * the same bits; the loss is the exactly rounded sum of the per-point terms
 * (tess_sum_f64) and the chunk gradients are added over a fixed dyadic tree
 * (tess_chunk_tree_sum, src/tree_sum.c). Together: loss and gradient do
 * not depend on the rank count, and neither does any trajectory built from
 * them.
 *
 * With device CUDA (tess_pinn_set_device) a chunk's work (jets, the
 * residual program of its set, loss terms, adjoints, parameter-gradient
 * products) runs on the GPU (pinn_cuda.h); its loss terms and gradient come
 * back to the chunk tree and the exact sums here, unchanged. A residual
 * program too large for the GPU's interpreter runs here on the host instead,
 * fed with the chunk's output jet and giving back its adjoint. The GPU's
 * chunk has the same bits wherever it runs, so the same argument gives
 * rank-count independence. */
#include "pinn_internal.h"
#include "pinn_cuda.h"

#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/log.h>
#include <tessera/memory.h>
#include <tessera/reduce.h>

#define SET_NAME_LEN 32

typedef struct {
  char name[SET_NAME_LEN];
  int64_t npts;
  tess_pinn_point_fn fill;
  void *ctx;
  double weight;
  int nres;
  int *roots;
  int64_t chunk0, nchunks;     /* global chunk range */
  size_t toff, tcount;         /* this rank's per-point terms */
  double loss;
#if TESSERA_HAVE_CUBLAS
  pinn_cuda_prog_t dprog;      /* its residual program on the device (nops 0: host path) */
#endif
} pinn_set_t;

struct tess_pinn {
  tess_mlp_t *mlp;
  int din, dout;
  pinn_expr_t *ex;
  pinn_set_t *sets;
  int nsets;
  int chunk;
  int ready;
  MPI_Comm comm;
  tess_pinn_device_t device;   /* asked; after setup CPU or CUDA */
  int on_gpu;
  int emulated;                /* on_gpu through the host emulation (tests) */
  tess_jet_spec_t spec;
  pinn_layout_t lay;
  pinn_work_t work;            /* host chunk workspace (CPU runs) */
#if TESSERA_HAVE_CUBLAS
  pinn_cuda_work_t cwork;      /* device chunk workspace (CUDA runs) */
#endif
  int64_t nchunks, c0, c1;
  double *x;                   /* local chunks' points: (c1-c0) x chunk x din */
  double *jet, *jetbar;        /* f64 output jet and its adjoint: C x B x dout */
  double *vals, *seeds;        /* maxres x B */
  double *terms;               /* local per-point loss terms */
  size_t nterms;
  size_t *cterm;               /* first term of each local chunk */
  int maxres;
};

/* Timed events for --log-view: jets (forward), adjoint (expression reverse
 * mode + network backward), the loss sums. Registered once per process. */
static tess_log_event_t ev_fwd, ev_adj, ev_sum;
static int ev_ready;

static tess_err_t events_register(void)
{
  tess_err_t err = TESS_OK;
  if (ev_ready) return TESS_OK;
  TESS_CHECK(tess_log_event_register("PinnJets", &ev_fwd));
  TESS_CHECK(tess_log_event_register("PinnAdjoint", &ev_adj));
  TESS_CHECK(tess_log_event_register("PinnLossSum", &ev_sum));
  ev_ready = 1;
cleanup:
  return err;
}

static void block_range(int64_t n, int p, int c, int64_t *start, int64_t *len)
{
  int64_t q = n / p, r = n % p;   /* first r parts get one more, as tess_block_range */
  *len = q + (c < r ? 1 : 0);
  *start = c * q + (c < r ? c : r);
}

tess_err_t tess_pinn_create(tess_mlp_t *mlp, const char *const in_names[],
                            const char *const out_names[], tess_pinn_t **pinn)
{
  tess_err_t err = TESS_OK;
  tess_pinn_t *p = NULL;
  TESS_REQUIRE(mlp && in_names && out_names && pinn, TESS_ERR_ARG, "NULL argument");
  *pinn = NULL;
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p, TESS_ERR_MEM, "pinn");
  p->mlp = mlp;
  p->din = mlp->width[0];
  p->dout = mlp->width[mlp->nlayers];
  p->chunk = TESS_PINN_CHUNK_AUTO;
  p->comm = MPI_COMM_NULL;
  TESS_CHECK(pinn_expr_create(p->din, in_names, p->dout, out_names, &p->ex));
  *pinn = p;
  p = NULL;
cleanup:
  tess_pinn_destroy(&p);
  return err;
}

void tess_pinn_destroy(tess_pinn_t **pinn)
{
  if (!pinn || !*pinn) return;
  tess_pinn_t *p = *pinn;
  pinn_expr_destroy(&p->ex);
  for (int s = 0; s < p->nsets; s++) {
    free(p->sets[s].roots);
#if TESSERA_HAVE_CUBLAS
    pinn_cuda_prog_destroy(&p->sets[s].dprog);
#endif
  }
  free(p->sets);
  pinn_work_destroy(p->mlp, &p->work);
#if TESSERA_HAVE_CUBLAS
  pinn_cuda_work_destroy(&p->cwork);
#endif
  free(p->x);
  free(p->jet);
  free(p->jetbar);
  free(p->vals);
  free(p->seeds);
  free(p->terms);
  free(p->cterm);
  if (p->comm != MPI_COMM_NULL) MPI_Comm_free(&p->comm);
  free(p);
  *pinn = NULL;
}

tess_err_t tess_pinn_define(tess_pinn_t *p, const char *name, const char *text)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && !p->ready, TESS_ERR_ARG, "define '%s' before tess_pinn_setup", name ? name : "?");
  TESS_CHECK(pinn_expr_define(p->ex, name, text));
cleanup:
  return err;
}

tess_err_t tess_pinn_add_set(tess_pinn_t *p, const char *name, int64_t npoints,
                             tess_pinn_point_fn fill, void *ctx, double weight,
                             int nres, const char *const residuals[])
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && name && fill && residuals, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(!p->ready, TESS_ERR_ARG, "add set '%s' before tess_pinn_setup", name);
  TESS_REQUIRE(npoints >= 1, TESS_ERR_ARG, "set '%s': %lld points, expected >= 1", name,
               (long long)npoints);
  TESS_REQUIRE(nres >= 1 && nres <= 64, TESS_ERR_ARG, "set '%s': %d residuals, expected 1..64",
               name, nres);
  pinn_set_t *ns = realloc(p->sets, (size_t)(p->nsets + 1) * sizeof *ns);
  TESS_REQUIRE(ns, TESS_ERR_MEM, "sets");
  p->sets = ns;
  pinn_set_t *s = &p->sets[p->nsets];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  s->npts = npoints;
  s->fill = fill;
  s->ctx = ctx;
  s->weight = weight;
  s->roots = malloc((size_t)nres * sizeof *s->roots);
  TESS_REQUIRE(s->roots, TESS_ERR_MEM, "residuals");
  p->nsets++;                       /* owns roots now */
  for (int r = 0; r < nres; r++) {
    TESS_REQUIRE(residuals[r], TESS_ERR_ARG, "set '%s': residual %d is NULL", name, r);
    TESS_CHECK(pinn_expr_parse(p->ex, residuals[r], &s->roots[r]));
    s->nres++;
  }
  if (nres > p->maxres) p->maxres = nres;
cleanup:
  return err;
}

tess_err_t tess_pinn_set_chunk(tess_pinn_t *p, int chunk)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && !p->ready, TESS_ERR_ARG, "set the chunk size before tess_pinn_setup");
  TESS_REQUIRE(chunk >= 0 && chunk <= 65536, TESS_ERR_ARG,
               "chunk %d, expected 1..65536 or 0 (TESS_PINN_CHUNK_AUTO)", chunk);
  p->chunk = chunk;
cleanup:
  return err;
}

size_t tess_pinn_nparams(const tess_pinn_t *p) { return p ? p->mlp->nparams : 0; }

static const char *const device_names[] = { "cpu", "auto", "cuda" };

tess_err_t tess_pinn_device_parse(const char *name, tess_pinn_device_t *dev)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(name && dev, TESS_ERR_ARG, "NULL argument");
  for (int d = 0; d < 3; d++)
    if (strcmp(name, device_names[d]) == 0) { *dev = (tess_pinn_device_t)d; return TESS_OK; }
  TESS_REQUIRE(0, TESS_ERR_ARG, "unknown PINN device '%s' (expected auto|cpu|cuda)", name);
cleanup:
  return err;
}

const char *tess_pinn_device_name(tess_pinn_device_t dev)
{
  return (dev >= TESS_PINN_DEVICE_CPU && dev <= TESS_PINN_DEVICE_CUDA) ? device_names[dev] : "?";
}

tess_err_t tess_pinn_set_device(tess_pinn_t *p, tess_pinn_device_t dev)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && !p->ready, TESS_ERR_ARG, "set the device before tess_pinn_setup");
  TESS_REQUIRE(dev >= TESS_PINN_DEVICE_CPU && dev <= TESS_PINN_DEVICE_CUDA, TESS_ERR_ARG,
               "bad PINN device %d", (int)dev);
  p->device = dev;
cleanup:
  return err;
}

tess_pinn_device_t tess_pinn_device(const tess_pinn_t *p)
{
  return p ? p->device : TESS_PINN_DEVICE_CPU;
}

/* TESS_PINN_CUDA_EMULATE=1 (tests, debugging): the CUDA path runs, but on
 * the host emulation of pinn_cuda.cu (its kernels' element bodies and GEMM
 * argument lists as loops, pinn_cuda_work_create_host) instead of a GPU, so
 * machines without one exercise the routing, the copies and conversions
 * around the device passes and their rank-count independence. Slow. */
static int cuda_emulated(void)
{
  const char *e = getenv("TESS_PINN_CUDA_EMULATE");
  return TESSERA_HAVE_CUBLAS && e && *e && strcmp(e, "0") != 0;
}

/* Collective over p->comm: CPU or CUDA, the same on every rank. CUDA needs
 * this build's device PINN path (CUDA + cuBLAS) and a GPU on every rank;
 * asked outright without one, every rank fails (none is left waiting in a
 * later collective). */
static tess_err_t device_choose(tess_pinn_t *p)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  int v[2];   /* -(CUDA asked), GPU path usable here: minimum over the ranks */
  p->on_gpu = 0;
  if (p->device == TESS_PINN_DEVICE_CPU) return TESS_OK;
  TESS_CHECK(tess_comm_mesh_of(p->comm, &mesh));
  v[0] = p->device == TESS_PINN_DEVICE_CUDA ? -1 : 0;
  p->emulated = cuda_emulated();
  v[1] = TESSERA_HAVE_CUBLAS && (p->emulated || tess_device_available());
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, v, v, 2, TESS_I32, TESS_OP_MIN,
                                 TESS_MEM_HOST, NULL));
  TESS_REQUIRE(v[0] == 0 || v[1], TESS_ERR_UNSUPPORTED, "PINN device 'cuda': %s",
               !TESSERA_HAVE_CUBLAS ? "this build has no CUDA + cuBLAS"
               : !tess_device_available() ? "this rank sees no GPU" : "another rank sees no GPU");
  p->on_gpu = v[1];
  p->emulated = p->emulated && p->on_gpu;
  p->device = p->on_gpu ? TESS_PINN_DEVICE_CUDA : TESS_PINN_DEVICE_CPU;
cleanup:
  return err;
}

/* TESS_PINN_CHUNK_AUTO on the GPU: the largest power of two in [16, 16384]
 * points whose one-layer jet fits in 32 MiB, but no larger than the
 * smallest power of two holding the largest point set (no chunk of mostly
 * padding). A GPU wants thousands of rows per product (a 128-point chunk
 * leaves most of it idle and pays a launch per kernel per chunk); like the
 * CPU's rule it depends on the network, the jet layout and the problem
 * only, never on the machine or the rank count. */
#define PINN_GPU_CHUNK_BYTES ((size_t)32 << 20)
static size_t gpu_auto_chunk(const tess_mlp_t *mlp, const pinn_layout_t *lay, int64_t maxpts)
{
  size_t wmax = 1, B = 16384;
  for (int l = 0; l <= mlp->nlayers; l++)
    if ((size_t)mlp->width[l] > wmax) wmax = (size_t)mlp->width[l];
  size_t per_point = (size_t)lay->ncomp * wmax * tess_dtype_size(mlp->dtype);
  while (B > 16 && B * per_point > PINN_GPU_CHUNK_BYTES) B /= 2;
  while (B > 16 && (int64_t)(B / 2) >= maxpts) B /= 2;
  return B;
}

int tess_pinn_chunk(const tess_pinn_t *p) { return p ? p->chunk : 0; }

tess_err_t tess_pinn_jet_spec(const tess_pinn_t *p, tess_jet_spec_t *spec)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && spec && p->ready, TESS_ERR_ARG, "problem not set up");
  *spec = p->spec;
cleanup:
  return err;
}

tess_err_t tess_pinn_setup(tess_pinn_t *p, tess_mesh_t *mesh, const char *dp_axis)
{
  tess_err_t err = TESS_OK;
  int ax = -1;
  TESS_REQUIRE(mesh && dp_axis, TESS_ERR_ARG, "NULL mesh or axis name");
  TESS_CHECK(tess_mesh_axis_find(mesh, dp_axis, &ax));
  TESS_CHECK(tess_pinn_setup_comm(p, tess_mesh_axis_comm(mesh, ax)));
cleanup:
  return err;
}

tess_err_t tess_pinn_setup_comm(tess_pinn_t *p, MPI_Comm comm)
{
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1;
  TESS_REQUIRE(p && !p->ready, TESS_ERR_ARG, "NULL or already set up");
  TESS_REQUIRE(p->nsets >= 1, TESS_ERR_ARG, "no point sets: call tess_pinn_add_set first");
  TESS_CHECK(events_register());
  TESS_MPI_CHECK(MPI_Comm_dup(comm, &p->comm));
  TESS_MPI_CHECK(MPI_Comm_rank(p->comm, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(p->comm, &size));
  TESS_CHECK(device_choose(p));
  memset(&p->spec, 0, sizeof p->spec);
  for (int s = 0; s < p->nsets; s++)
    TESS_CHECK(pinn_expr_plan(p->ex, p->sets[s].roots, p->sets[s].nres, p->din, &p->spec));
  TESS_CHECK(pinn_layout_make(&p->spec, p->din, &p->lay));
  TESS_CHECK(pinn_expr_bind(p->ex, &p->lay));
  if (p->chunk == TESS_PINN_CHUNK_AUTO) {
    int64_t maxpts = 1;
    for (int s = 0; s < p->nsets; s++) maxpts = p->sets[s].npts > maxpts ? p->sets[s].npts : maxpts;
    p->chunk = (int)(p->on_gpu ? gpu_auto_chunk(p->mlp, &p->lay, maxpts) : pinn_auto_chunk(p->mlp, &p->lay));
  }
  const size_t B = (size_t)p->chunk, C = (size_t)p->lay.ncomp;
  p->nchunks = 0;
  for (int s = 0; s < p->nsets; s++) {
    p->sets[s].chunk0 = p->nchunks;
    p->sets[s].nchunks = (p->sets[s].npts + p->chunk - 1) / p->chunk;
    p->nchunks += p->sets[s].nchunks;
  }
  int64_t len;
  block_range(p->nchunks, size, rank, &p->c0, &len);
  p->c1 = p->c0 + len;
#if TESSERA_HAVE_CUBLAS
  if (p->on_gpu)
    TESS_CHECK(p->emulated ? pinn_cuda_work_create_host(p->mlp, &p->lay, B, &p->cwork)
                           : pinn_cuda_work_create(p->mlp, &p->lay, B, &p->cwork));
  else
#endif
    TESS_CHECK(pinn_work_create(p->mlp, &p->lay, B, &p->work));
#if TESSERA_HAVE_CUBLAS
  /* each set's residuals as a program for the GPU's interpreter; one too
   * large for it keeps the host path (expressions on the host) */
  for (int s = 0; s < p->nsets && p->on_gpu; s++) {
    pinn_prog_t pg;
    TESS_CHECK(pinn_expr_program(p->ex, p->sets[s].roots, p->sets[s].nres, &pg));
    if (pg.nops <= PINN_CUDA_PROG_MAX)
      err = pinn_cuda_prog_create(&pg, p->cwork.space, &p->sets[s].dprog);
    pinn_prog_free(&pg);
    TESS_CHECK(err);
  }
#endif
  p->x = malloc(((size_t)len * B + 1) * (size_t)p->din * sizeof *p->x);
  p->jet = malloc(C * B * (size_t)p->dout * sizeof *p->jet);
  p->jetbar = malloc(C * B * (size_t)p->dout * sizeof *p->jetbar);
  p->vals = malloc((size_t)p->maxres * B * sizeof *p->vals);
  p->seeds = malloc((size_t)p->maxres * B * sizeof *p->seeds);
  p->cterm = malloc(((size_t)len + 1) * sizeof *p->cterm);
  TESS_REQUIRE(p->x && p->jet && p->jetbar && p->vals && p->seeds && p->cterm, TESS_ERR_MEM,
               "problem buffers (%lld local chunks of %zu points)", (long long)len, B);
  /* points and term offsets of the local chunks */
  size_t nt = 0;
  for (int s = 0; s < p->nsets; s++) p->sets[s].tcount = 0;
  for (int64_t c = p->c0; c < p->c1; c++) {
    int s = 0;
    while (c >= p->sets[s].chunk0 + p->sets[s].nchunks) s++;
    pinn_set_t *S = &p->sets[s];
    int64_t g0 = (c - S->chunk0) * p->chunk;
    int64_t nv = S->npts - g0 < p->chunk ? S->npts - g0 : p->chunk;
    double *xc = p->x + (size_t)(c - p->c0) * B * (size_t)p->din;
    for (int64_t b = 0; b < (int64_t)B; b++) {
      if (b < nv) S->fill(g0 + b, xc + (size_t)b * p->din, S->ctx);
      else memcpy(xc + (size_t)b * p->din, xc + (size_t)(nv - 1) * p->din, (size_t)p->din * sizeof *xc);
    }
    if (S->tcount == 0) S->toff = nt;
    p->cterm[c - p->c0] = nt;
    nt += (size_t)nv;
    S->tcount += (size_t)nv;
  }
  p->nterms = nt;
  p->terms = malloc((nt ? nt : 1) * sizeof *p->terms);
  TESS_REQUIRE(p->terms, TESS_ERR_MEM, "%zu loss terms", nt);
  p->ready = 1;
cleanup:
  return err;
}

#if TESSERA_HAVE_CUBLAS
/* The device halves of a chunk's pass: points in and forward jets; reverse
 * mode from the output adjoint in the device workspace to the gradient. */
static tess_err_t gpu_forward(tess_pinn_t *p, const double *xc)
{
  const tess_mlp_t *m = p->mlp;
  tess_err_t err = pinn_cuda_set_points(&p->cwork, xc, p->din);
  if (!err) err = m->dtype == TESS_F64 ? pinn_cuda_jet_forward_f64(m, &p->lay, &p->cwork)
                                       : pinn_cuda_jet_forward_f32(m, &p->lay, &p->cwork);
  return err;
}

static tess_err_t gpu_backward(tess_pinn_t *p, double *grad)
{
  const tess_mlp_t *m = p->mlp;
  tess_err_t err = m->dtype == TESS_F64 ? pinn_cuda_jet_backward_f64(m, &p->lay, &p->cwork)
                                        : pinn_cuda_jet_backward_f32(m, &p->lay, &p->cwork);
  if (!err) err = pinn_cuda_get_grad(&p->cwork, m->nparams, grad);
  return err;
}
#endif

/* The network's forward jets of one chunk (points xc) into p->jet (f64). */
static tess_err_t net_forward(tess_pinn_t *p, const double *xc)
{
  const tess_mlp_t *m = p->mlp;
  const size_t njet = (size_t)p->lay.ncomp * (size_t)p->chunk * (size_t)p->dout;
#if TESSERA_HAVE_CUBLAS
  if (p->on_gpu) {
    tess_err_t err = gpu_forward(p, xc);
    if (!err) err = pinn_cuda_get_jet(&p->cwork, p->cwork.Z[m->nlayers - 1], njet, p->jet);
    return err;
  }
#endif
  if (m->dtype == TESS_F64) {
    pinn_jet_forward_f64(m, &p->lay, &p->work, xc);
    memcpy(p->jet, p->work.Z[m->nlayers - 1], njet * sizeof *p->jet);
  } else {
    pinn_jet_forward_f32(m, &p->lay, &p->work, xc);
    const float *z = p->work.Z[m->nlayers - 1];
    for (size_t k = 0; k < njet; k++) p->jet[k] = z[k];
  }
  return TESS_OK;
}

/* Reverse mode from p->jetbar (f64) to the chunk's gradient (nparams f64). */
static tess_err_t net_backward(tess_pinn_t *p, double *grad)
{
  const tess_mlp_t *m = p->mlp;
  const size_t njet = (size_t)p->lay.ncomp * (size_t)p->chunk * (size_t)p->dout;
#if TESSERA_HAVE_CUBLAS
  if (p->on_gpu) {
    tess_err_t err = pinn_cuda_put_jetbar(&p->cwork, p->jetbar, njet);
    if (!err) err = gpu_backward(p, grad);
    return err;
  }
#endif
  if (m->dtype == TESS_F64) {
    memcpy(p->work.bar0, p->jetbar, njet * sizeof *p->jetbar);
    pinn_jet_backward_f64(m, &p->lay, &p->work);
    memcpy(grad, p->work.gpart, m->nparams * sizeof *grad);
  } else {
    float *zb = p->work.bar0;
    for (size_t k = 0; k < njet; k++) zb[k] = (float)p->jetbar[k];
    pinn_jet_backward_f32(m, &p->lay, &p->work);
    const float *gp = p->work.gpart;
    for (size_t k = 0; k < m->nparams; k++) grad[k] = gp[k];
  }
  return TESS_OK;
}

/* Forward (and with grad, reverse) over local chunk c. */
static tess_err_t chunk_run(tess_pinn_t *p, int64_t c, double *grad)
{
  tess_err_t err = TESS_OK;
  const size_t B = (size_t)p->chunk, C = (size_t)p->lay.ncomp, D = (size_t)p->dout;
  int s = 0;
  while (c >= p->sets[s].chunk0 + p->sets[s].nchunks) s++;
  const pinn_set_t *S = &p->sets[s];
  int64_t g0 = (c - S->chunk0) * p->chunk;
  size_t nv = (size_t)(S->npts - g0 < p->chunk ? S->npts - g0 : p->chunk);
  const double *xc = p->x + (size_t)(c - p->c0) * B * (size_t)p->din;
  const size_t njet = C * B * D;
#if TESSERA_HAVE_CUBLAS
  if (p->on_gpu && S->dprog.nops) {   /* everything but the chunk tree and the sums on the device */
    double *t = p->terms + p->cterm[c - p->c0];
    tess_log_event_begin(ev_fwd);
    err = gpu_forward(p, xc);
    if (!err) err = pinn_cuda_residuals(p->mlp, &p->cwork, &S->dprog, p->din, S->weight, nv, grad != NULL, t);
    tess_log_event_end(ev_fwd);
    TESS_CHECK(err);
    if (!grad) goto cleanup;
    tess_log_event_begin(ev_adj);
    err = gpu_backward(p, grad);
    tess_log_event_end(ev_adj);
    TESS_CHECK(err);
    goto cleanup;
  }
#endif
  tess_log_event_begin(ev_fwd);
  err = net_forward(p, xc);
  if (!err) err = pinn_expr_eval(p->ex, S->roots, S->nres, B, p->jet, p->dout, xc, p->vals);
  tess_log_event_end(ev_fwd);
  TESS_CHECK(err);
  double *t = p->terms + p->cterm[c - p->c0];
  for (size_t b = 0; b < nv; b++) {
    double acc = 0;
    for (int r = 0; r < S->nres; r++) {
      double v = p->vals[(size_t)r * B + b];
      acc += v * v;
    }
    t[b] = S->weight * acc;
  }
  if (!grad) goto cleanup;
  for (int r = 0; r < S->nres; r++)
    for (size_t b = 0; b < B; b++)
      p->seeds[(size_t)r * B + b] = b < nv ? 2 * S->weight * p->vals[(size_t)r * B + b] : 0;
  memset(p->jetbar, 0, njet * sizeof *p->jetbar);
  tess_log_event_begin(ev_adj);
  err = pinn_expr_adjoint(p->ex, S->roots, S->nres, B, p->dout, p->seeds, p->jetbar);
  if (!err) err = net_backward(p, grad);
  tess_log_event_end(ev_adj);
  TESS_CHECK(err);
cleanup:
  return err;
}

static tess_err_t chunk_fn(int64_t c, double *out, void *ctx)
{
  return chunk_run(ctx, c, out);
}

tess_err_t tess_pinn_loss_grad(tess_pinn_t *p, const double *theta, double *loss, double *grad)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && theta && loss, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(p->ready, TESS_ERR_ARG, "call tess_pinn_setup first");
  TESS_CHECK(tess_mlp_set_params(p->mlp, theta));
#if TESSERA_HAVE_CUBLAS
  if (p->on_gpu) TESS_CHECK(pinn_cuda_set_params(p->mlp, &p->cwork));
#endif
  if (grad) {
    TESS_CHECK(tess_chunk_tree_sum_comm(p->comm, p->nchunks, p->c0, p->c1, p->mlp->nparams,
                                        chunk_fn, p, grad));
  } else {
    for (int64_t c = p->c0; c < p->c1; c++) TESS_CHECK(chunk_run(p, c, NULL));
  }
  tess_log_event_begin(ev_sum);
  err = tess_sum_f64(p->terms, p->nterms, p->comm, loss);
  for (int s = 0; s < p->nsets && !err; s++)
    err = tess_sum_f64(p->terms + p->sets[s].toff, p->sets[s].tcount, p->comm, &p->sets[s].loss);
  tess_log_event_end(ev_sum);
  TESS_CHECK(err);
cleanup:
  return err;
}

tess_err_t tess_pinn_objective(const double *x, double *f, double *g, void *ctx)
{
  return tess_pinn_loss_grad(ctx, x, f, g);
}

tess_err_t tess_pinn_set_losses(const tess_pinn_t *p, double *losses, int max, int *nsets)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(p && (losses || max == 0), TESS_ERR_ARG, "NULL argument");
  for (int s = 0; s < p->nsets && s < max; s++) losses[s] = p->sets[s].loss;
  if (nsets) *nsets = p->nsets;
cleanup:
  return err;
}

tess_err_t tess_pinn_check_expr(tess_pinn_t *p, const char *text)
{
  tess_err_t err = TESS_OK;
  tess_jet_spec_t spec;
  int root = -1;
  TESS_REQUIRE(p && text, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(pinn_expr_parse(p->ex, text, &root));
  memset(&spec, 0, sizeof spec);
  TESS_CHECK(pinn_expr_plan(p->ex, &root, 1, p->din, &spec));
cleanup:
  return err;
}

tess_err_t tess_pinn_eval(tess_pinn_t *p, const char *text, size_t npts, const double *x,
                          double *out)
{
  tess_err_t err = TESS_OK;
  tess_jet_spec_t spec;
  pinn_layout_t lay;
  pinn_work_t w = {0};
#if TESSERA_HAVE_CUBLAS
  pinn_cuda_work_t cw;
  memset(&cw, 0, sizeof cw);
#endif
  double *xb = NULL, *jet = NULL, *vals = NULL;
  int root = -1, gpu = 0;
  size_t B;
  TESS_REQUIRE(p && text && (x || !npts) && (out || !npts), TESS_ERR_ARG, "NULL argument");
  const tess_mlp_t *m = p->mlp;
  TESS_CHECK(pinn_expr_parse(p->ex, text, &root));
  memset(&spec, 0, sizeof spec);
  TESS_CHECK(pinn_expr_plan(p->ex, &root, 1, p->din, &spec));
  TESS_CHECK(pinn_layout_make(&spec, p->din, &lay));
  TESS_CHECK(pinn_expr_bind(p->ex, &lay));
  B = pinn_auto_chunk(m, &lay);   /* evaluation only: no sums depend on it */
  gpu = p->ready && p->on_gpu;      /* a problem set up on the GPU evaluates there too */
#if TESSERA_HAVE_CUBLAS
  if (gpu) {
    B = gpu_auto_chunk(m, &lay, (int64_t)(npts ? npts : 1));
    TESS_CHECK(p->emulated ? pinn_cuda_work_create_host(m, &lay, B, &cw) : pinn_cuda_work_create(m, &lay, B, &cw));
    TESS_CHECK(pinn_cuda_set_params(m, &cw));
  } else
#endif
    TESS_CHECK(pinn_work_create(m, &lay, B, &w));
  const size_t C = (size_t)lay.ncomp, njet = C * B * (size_t)p->dout;
  xb = malloc(B * (size_t)p->din * sizeof *xb);
  jet = malloc(njet * sizeof *jet);
  vals = malloc(B * sizeof *vals);
  TESS_REQUIRE(xb && jet && vals, TESS_ERR_MEM, "eval buffers");
  for (size_t p0 = 0; p0 < npts; p0 += B) {
    size_t nb = npts - p0 < B ? npts - p0 : B;
    for (size_t b = 0; b < B; b++)
      memcpy(xb + b * p->din, x + (p0 + (b < nb ? b : nb - 1)) * p->din, (size_t)p->din * sizeof *xb);
    if (gpu) {
#if TESSERA_HAVE_CUBLAS
      TESS_CHECK(pinn_cuda_set_points(&cw, xb, p->din));
      TESS_CHECK(m->dtype == TESS_F64 ? pinn_cuda_jet_forward_f64(m, &lay, &cw)
                                      : pinn_cuda_jet_forward_f32(m, &lay, &cw));
      TESS_CHECK(pinn_cuda_get_jet(&cw, cw.Z[m->nlayers - 1], njet, jet));
#endif
    } else if (m->dtype == TESS_F64) {
      pinn_jet_forward_f64(m, &lay, &w, xb);
      memcpy(jet, w.Z[m->nlayers - 1], njet * sizeof *jet);
    } else {
      pinn_jet_forward_f32(m, &lay, &w, xb);
      const float *z = w.Z[m->nlayers - 1];
      for (size_t k = 0; k < njet; k++) jet[k] = z[k];
    }
    TESS_CHECK(pinn_expr_eval(p->ex, &root, 1, B, jet, p->dout, xb, vals));
    memcpy(out + p0, vals, nb * sizeof *out);
  }
cleanup:
  if (p && p->ready && root >= 0) {
    tess_err_t e2 = pinn_expr_bind(p->ex, &p->lay);   /* back to the problem's plan */
    if (e2 && !err) err = e2;
  }
  if (p) pinn_work_destroy(p->mlp, &w);
#if TESSERA_HAVE_CUBLAS
  pinn_cuda_work_destroy(&cw);
#endif
  free(xb);
  free(jet);
  free(vals);
  return err;
}
