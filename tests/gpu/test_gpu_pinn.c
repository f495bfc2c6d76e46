/* tests/gpu/test_gpu_pinn.c: the PINN on the GPU (tess_pinn_set_device
 * CUDA) against the CPU path, and against itself at other rank counts.
 *
 * Truth for the values is the CPU path (tested in tests/pde against finite
 * differences and closed forms); the GPU's GEMMs round differently, so:
 *  1. jets: tess_pinn_eval of psi, its gradient, its Laplacian, a mixed
 *     Hessian entry, a mixed 3rd and a 4th-order derivative (directional
 *     jets), and the residuals, at random points through random networks
 *     (random weights AND biases; tanh, sin, softplus, GELU; f64 and f32;
 *     a two-output network): GPU vs CPU within 1e-12 (f64) / 1e-5 (f32)
 *     relative to the field's largest value; 3rd and 4th orders in f32
 *     within 1e-4 (each order adds a layer of rounding that the
 *     derivative amplifies by the weights; f64 keeps 1e-12);
 *  2. loss and every parameter gradient: the same tolerances, the gradient
 *     normwise (largest difference over largest entry);
 *  3. the GPU's loss and gradient on P ranks (this run's) bitwise equal to
 *     rank 0 alone (MPI_COMM_SELF) on the same GPU: chunks of 64 points,
 *     uneven blocks over 3 ranks, a padded last chunk per set;
 *  4. 3 Adam + 2 L-BFGS steps on the GPU, P ranks vs rank 0 alone: every
 *     loss and the final parameters bitwise equal;
 *  5. device "auto" resolves to CUDA here, "cpu" stays on the CPU;
 *  6. a residual program too large for the GPU's interpreter (the host
 *     path for expressions, with the output jet copied down and its
 *     adjoint up) gives the CPU's values too.
 * Several ranks share the one GPU. Without a GPU, or in a build without
 * CUDA + cuBLAS, it says why and exits 77 (CTest: skipped). With
 * TESS_PINN_CUDA_EMULATE=1 the library runs its CUDA path on the host
 * emulation of the kernels instead (docs/pinn.md): the same checks then
 * cover the routing, copies and conversions on machines without a GPU
 * (tests pde_pinn_gpu_emulated_np*). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/config.h>
#include <tessera/tessera.h>
#include "tess_test.h"

#define SKIP 77

static int rank, nranks;

/* max |a - b| / max(max |b|, tiny) over n values */
static double rel_err(const double *a, const double *b, size_t n)
{
  double d = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs(a[i] - b[i]);
    if (!(e <= d)) d = e;   /* NaN sticks */
    if (fabs(b[i]) > m) m = fabs(b[i]);
  }
  return d / (m > 1e-300 ? m : 1e-300);
}

/* Random weights and biases (the init leaves biases 0, which would hide a
 * bias bug): uniform in +-scale, from the counter RNG. */
static tess_err_t randomize(tess_mlp_t *m, uint64_t seed, double scale)
{
  tess_err_t err = TESS_OK;
  size_t n = tess_mlp_nparams(m);
  double *th = malloc(n * sizeof *th);
  TESS_REQUIRE(th, TESS_ERR_MEM, "params");
  for (size_t k = 0; k < n; k++) th[k] = scale * (2 * tess_rng_uniform(seed, 7, k) - 1);
  TESS_CHECK(tess_mlp_set_params(m, th));
cleanup:
  free(th);
  return err;
}

typedef struct {
  const char *name;
  int nout;
  const char *outs[2];
  int nres;
  const char *res[2];
  int nbres;
  const char *bres[1];
  int nev;
  const char *ev[8];
  int high[8];          /* 3rd/4th order: f32 tolerance 1e-4 */
} problem_t;

/* problems[2]'s residual is made in main: a program above the GPU
 * interpreter's 128 ops, which takes the host path for its expressions */
static char big_res[8192];
static problem_t problems[] = {
  { "seed", 1, { "psi" }, 2, { "laplacian(psi) - sin(x)*cos(y)", "grad(u,\"x\") + grad(v,\"y\")" },
    1, { "psi - sin(pi*x)*sin(pi*y)" }, 8,
    { "psi", "grad(psi,\"x\")", "grad(psi,\"y\")", "laplacian(psi)", "grad(grad(psi,\"x\"),\"y\")",
      "laplacian(psi) - sin(x)*cos(y)", "grad(grad(grad(psi,\"x\"),\"x\"),\"y\")", "laplacian(laplacian(psi))" },
    { 0, 0, 0, 0, 0, 0, 1, 1 } },
  { "kovasznay-like", 2, { "psi", "omega" }, 2,
    { "omega + laplacian(psi)", "grad(psi,\"y\")*grad(omega,\"x\") - grad(psi,\"x\")*grad(omega,\"y\") - laplacian(omega)/20" },
    1, { "grad(psi,\"y\") - 1" }, 4,
    { "omega", "grad(omega,\"y\")", "laplacian(omega)", "omega + laplacian(psi)" }, { 0, 0, 0, 0 } },
  { "large-program", 1, { "psi" }, 1, { NULL }, 1, { "psi" }, 1, { NULL }, { 0 } },
};

static void make_big_residual(void)
{
  size_t len = 0;
  len += (size_t)snprintf(big_res + len, sizeof big_res - len, "laplacian(psi)");
  for (int k = 1; k <= 40 && len < sizeof big_res - 64; k++)
    len += (size_t)snprintf(big_res + len, sizeof big_res - len, " + sin(%d*x + y/%d)*grad(psi,\"x\")", k, k + 1);
  problems[2].res[0] = big_res;
  problems[2].ev[0] = big_res;
}

typedef struct {
  tess_mlp_t *m;
  tess_pinn_t *p;
  tess_pinn_box_t bi, bb;
} setup_t;

static void setup_free(setup_t *s)
{
  tess_pinn_destroy(&s->p);
}

/* A problem on network m, device dev, over comm, in chunks of `chunk`. */
static tess_err_t make(const problem_t *pb, tess_mlp_t *m, tess_pinn_device_t dev, MPI_Comm comm, int chunk,
                       int64_t npts, setup_t *s)
{
  tess_err_t err = TESS_OK;
  const char *in[] = { "x", "y" };
  s->m = m;
  s->bi = (tess_pinn_box_t){ .din = 2, .lo = { -0.5, -0.5 }, .hi = { 1, 1.5 }, .seed = 9, .stream = 1 };
  s->bb = s->bi;
  s->bb.stream = 2;
  TESS_CHECK(tess_pinn_create(m, in, pb->outs, &s->p));
  TESS_CHECK(tess_pinn_define(s->p, "u", "grad(psi,\"y\")"));
  TESS_CHECK(tess_pinn_define(s->p, "v", "-grad(psi,\"x\")"));
  TESS_CHECK(tess_pinn_set_chunk(s->p, chunk));
  TESS_CHECK(tess_pinn_set_device(s->p, dev));
  TESS_CHECK(tess_pinn_add_set(s->p, "interior", npts, tess_pinn_box_interior, &s->bi, 1.0 / (double)npts,
                               pb->nres, pb->res));
  TESS_CHECK(tess_pinn_add_set(s->p, "boundary", npts / 5, tess_pinn_box_boundary, &s->bb, 2.0, pb->nbres,
                               pb->bres));
  TESS_CHECK(tess_pinn_setup_comm(s->p, comm));
cleanup:
  return err;
}

/* 1 + 2: GPU vs CPU for one network. */
static void compare_cpu(const problem_t *pb, tess_act_t act, tess_dtype_t dt, uint64_t seed)
{
  const int hidden = 24, L = 4;
  int widths[5] = { 2, hidden, hidden, hidden, pb->nout };
  const double tol = dt == TESS_F64 ? 1e-12 : 1e-5, tol_hi = dt == TESS_F64 ? 1e-12 : 1e-4;
  const size_t NP = 300;
  tess_mlp_t *m = NULL;
  setup_t cpu = {0}, gpu = {0};
  double *x = malloc(2 * NP * sizeof *x), *vc = malloc(NP * sizeof *vc), *vg = malloc(NP * sizeof *vg);
  double *th = NULL, *gc = NULL, *gg = NULL, lc = 0, lg = 0;
  int ok = x && vc && vg && tess_mlp_create(L, widths, act, dt, &m) == TESS_OK &&
           tess_mlp_init(m, TESS_INIT_GLOROT, seed) == TESS_OK && randomize(m, seed, 0.6) == TESS_OK &&
           make(pb, m, TESS_PINN_DEVICE_CPU, MPI_COMM_WORLD, 64, 700, &cpu) == TESS_OK &&
           make(pb, m, TESS_PINN_DEVICE_CUDA, MPI_COMM_WORLD, 64, 700, &gpu) == TESS_OK;
  if (!ok) tess_error_print(stderr);
  CHECK(ok, "%s %s %s: setup", pb->name, tess_act_name(act), tess_dtype_name(dt));
  if (!ok) goto done;
  CHECK(tess_pinn_device(gpu.p) == TESS_PINN_DEVICE_CUDA && tess_pinn_device(cpu.p) == TESS_PINN_DEVICE_CPU,
        "devices after setup: %s / %s", tess_pinn_device_name(tess_pinn_device(gpu.p)),
        tess_pinn_device_name(tess_pinn_device(cpu.p)));
  for (size_t i = 0; i < NP; i++) {
    x[2 * i] = -0.5 + 1.5 * tess_rng_uniform(seed, 11, 2 * i);
    x[2 * i + 1] = -0.5 + 2.0 * tess_rng_uniform(seed, 11, 2 * i + 1);
  }
  for (int e = 0; e < pb->nev; e++) {
    int r1 = tess_pinn_eval(cpu.p, pb->ev[e], NP, x, vc), r2 = tess_pinn_eval(gpu.p, pb->ev[e], NP, x, vg);
    if (r1 || r2) tess_error_print(stderr);
    CHECK(!r1 && !r2, "eval %s", pb->ev[e]);
    double r = rel_err(vg, vc, NP), t = pb->high[e] ? tol_hi : tol;
    CHECK(r <= t, "%s %s %s: %s: GPU vs CPU %.3e > %.0e", pb->name, tess_act_name(act), tess_dtype_name(dt),
          pb->ev[e], r, t);
    if (rank == 0 && act == TESS_ACT_TANH)
      printf("  %s %s %s: %-40.40s GPU vs CPU %.2e\n", pb->name, tess_act_name(act), tess_dtype_name(dt), pb->ev[e], r);
  }
  {
    size_t n = tess_mlp_nparams(m);
    th = malloc(n * sizeof *th);
    gc = malloc(n * sizeof *gc);
    gg = malloc(n * sizeof *gg);
    CHECK(th && gc && gg, "alloc");
    if (!(th && gc && gg)) goto done;
    tess_mlp_get_params(m, th);
    int r1 = tess_pinn_loss_grad(cpu.p, th, &lc, gc), r2 = tess_pinn_loss_grad(gpu.p, th, &lg, gg);
    if (r1 || r2) tess_error_print(stderr);
    CHECK(!r1 && !r2, "loss_grad");
    double el = fabs(lg - lc) / fabs(lc), eg = rel_err(gg, gc, n);
    CHECK(el <= tol, "%s %s %s: loss GPU %.17g vs CPU %.17g (%.3e)", pb->name, tess_act_name(act),
          tess_dtype_name(dt), lg, lc, el);
    CHECK(eg <= tol, "%s %s %s: gradient GPU vs CPU %.3e > %.0e", pb->name, tess_act_name(act),
          tess_dtype_name(dt), eg, tol);
    if (rank == 0)
      printf("%s %s %s: loss %.6e, GPU vs CPU: loss %.2e, gradient %.2e\n", pb->name, tess_act_name(act),
             tess_dtype_name(dt), lc, el, eg);
  }
done:
  setup_free(&cpu);
  setup_free(&gpu);
  tess_mlp_destroy(&m);
  free(x); free(vc); free(vg); free(th); free(gc); free(gg);
}

/* 3: loss and gradient (and the per-set losses) on comm. */
static tess_err_t loss_on(MPI_Comm comm, tess_dtype_t dt, double *loss, double *sets, double *grad)
{
  tess_err_t err = TESS_OK;
  int widths[5] = { 2, 32, 32, 32, 1 };
  tess_mlp_t *m = NULL;
  setup_t s = {0};
  double *th = NULL;
  TESS_CHECK(tess_mlp_create(4, widths, TESS_ACT_TANH, dt, &m));
  TESS_CHECK(tess_mlp_init(m, TESS_INIT_GLOROT, 77));
  TESS_CHECK(randomize(m, 77, 0.5));
  TESS_CHECK(make(&problems[0], m, TESS_PINN_DEVICE_CUDA, comm, 64, 1000, &s));
  th = malloc(tess_mlp_nparams(m) * sizeof *th);
  TESS_REQUIRE(th, TESS_ERR_MEM, "params");
  TESS_CHECK(tess_mlp_get_params(m, th));
  TESS_CHECK(tess_pinn_loss_grad(s.p, th, loss, grad));
  TESS_CHECK(tess_pinn_set_losses(s.p, sets, 2, NULL));
cleanup:
  free(th);
  setup_free(&s);
  tess_mlp_destroy(&m);
  return err;
}

/* 4: a few training steps on comm. */
#define NSTEP 5
static tess_err_t train_on(MPI_Comm comm, tess_dtype_t dt, double *losses, double *theta)
{
  tess_err_t err = TESS_OK;
  int widths[4] = { 2, 24, 24, 1 };
  tess_mlp_t *m = NULL;
  setup_t s = {0};
  tess_adam_t *adam = NULL;
  tess_lbfgs_t *lb = NULL;
  double *g = NULL, f = 0;
  tess_adam_opts_t ao;
  tess_lbfgs_opts_t lo;
  tess_adam_opts_default(&ao);
  ao.lr = 1e-2;
  ao.total_steps = 3;
  tess_lbfgs_opts_default(&lo);
  lo.history = 4;
  TESS_CHECK(tess_mlp_create(3, widths, TESS_ACT_TANH, dt, &m));
  TESS_CHECK(tess_mlp_init(m, TESS_INIT_GLOROT, 2024));
  TESS_CHECK(make(&problems[0], m, TESS_PINN_DEVICE_CUDA, comm, 64, 1000, &s));
  size_t n = tess_mlp_nparams(m);
  g = malloc(n * sizeof *g);
  TESS_REQUIRE(g, TESS_ERR_MEM, "gradient");
  TESS_CHECK(tess_mlp_get_params(m, theta));
  TESS_CHECK(tess_adam_create(n, &ao, &adam));
  TESS_CHECK(tess_lbfgs_create(n, &lo, &lb));
  for (int k = 0; k < NSTEP; k++) {
    if (k < 3) {
      TESS_CHECK(tess_pinn_loss_grad(s.p, theta, &f, g));
      TESS_CHECK(tess_adam_step(adam, theta, g));
    } else {
      if (k == 3) TESS_CHECK(tess_pinn_loss_grad(s.p, theta, &f, g));
      TESS_CHECK(tess_lbfgs_step(lb, tess_pinn_objective, s.p, theta, &f, g, NULL));
    }
    losses[k] = f;
  }
cleanup:
  free(g);
  tess_adam_destroy(&adam);
  tess_lbfgs_destroy(&lb);
  setup_free(&s);
  tess_mlp_destroy(&m);
  return err;
}

static void check_ranks(tess_dtype_t dt)
{
  const size_t n = 2 * 32 + 32 + 2 * (32 * 32 + 32) + 32 + 1;
  double *gw = malloc(n * sizeof *gw), *gs = malloc(n * sizeof *gs), lw = 0, ls = 0, sw[2], ss[2];
  CHECK(gw && gs, "alloc");
  if (!gw || !gs) goto done;
  CHECK(loss_on(MPI_COMM_WORLD, dt, &lw, sw, gw) == TESS_OK, "GPU loss on %d ranks", nranks);
  if (rank == 0) {
    CHECK(loss_on(MPI_COMM_SELF, dt, &ls, ss, gs) == TESS_OK, "GPU loss on 1 rank");
    CHECK(memcmp(&lw, &ls, sizeof lw) == 0 && memcmp(sw, ss, sizeof sw) == 0,
          "%s: GPU loss on %d ranks %.17g differs from 1 rank %.17g", tess_dtype_name(dt), nranks, lw, ls);
    CHECK(memcmp(gw, gs, n * sizeof *gw) == 0, "%s: GPU gradient on %d ranks differs from 1 rank",
          tess_dtype_name(dt), nranks);
  }
  {
    enum { NT = 2 * 24 + 24 + 24 * 24 + 24 + 24 + 1 };
    double tw[NT], ts[NT], fw[NSTEP], fs[NSTEP];
    CHECK(train_on(MPI_COMM_WORLD, dt, fw, tw) == TESS_OK, "GPU training on %d ranks", nranks);
    if (rank == 0) {
      CHECK(train_on(MPI_COMM_SELF, dt, fs, ts) == TESS_OK, "GPU training on 1 rank");
      CHECK(memcmp(fw, fs, sizeof fw) == 0 && memcmp(tw, ts, sizeof tw) == 0,
            "%s: GPU trajectory on %d ranks differs from 1 rank", tess_dtype_name(dt), nranks);
      CHECK(fw[NSTEP - 1] < fw[0], "%s: GPU training did not reduce the loss (%g -> %g)", tess_dtype_name(dt),
            fw[0], fw[NSTEP - 1]);
      printf("%s: %d ranks vs 1 on the GPU: loss %.17g, trajectory %.6e -> %.6e\n", tess_dtype_name(dt),
             nranks, lw, fw[0], fw[NSTEP - 1]);
    }
  }
done:
  free(gw);
  free(gs);
}

/* 5: "auto" takes the GPU here (every rank sees one), "cpu" does not. */
static void check_auto(void)
{
  int widths[3] = { 2, 8, 1 };
  tess_mlp_t *m = NULL;
  setup_t a = {0};
  tess_pinn_device_t d = TESS_PINN_DEVICE_CPU;
  int ok = tess_pinn_device_parse("auto", &d) == TESS_OK && d == TESS_PINN_DEVICE_AUTO &&
           tess_mlp_create(2, widths, TESS_ACT_TANH, TESS_F64, &m) == TESS_OK &&
           make(&problems[0], m, TESS_PINN_DEVICE_AUTO, MPI_COMM_WORLD, 0, 100, &a) == TESS_OK;
  if (!ok) tess_error_print(stderr);
  CHECK(ok && tess_pinn_device(a.p) == TESS_PINN_DEVICE_CUDA, "device auto: %s",
        ok ? tess_pinn_device_name(tess_pinn_device(a.p)) : "setup failed");
  setup_free(&a);
  tess_mlp_destroy(&m);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  CHECK(tess_init(&argc, &argv) == TESS_OK, "tess_init");
  const char *emu = getenv("TESS_PINN_CUDA_EMULATE");
  int emulated = emu && *emu && strcmp(emu, "0") != 0;
  int have = TESSERA_HAVE_CUBLAS && (emulated || tess_device_available());
  MPI_Allreduce(MPI_IN_PLACE, &have, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!have) {
    if (rank == 0)
      printf("test_gpu_pinn: skipped: %s\n", TESSERA_HAVE_CUBLAS ? "no GPU visible on every rank"
                                                                 : "this build has no CUDA + cuBLAS");
    tess_finalize();
    MPI_Finalize();
    return SKIP;
  }
  if (rank == 0) printf("test_gpu_pinn: CUDA path on %s\n", emulated ? "the host emulation" : "the GPU");
  make_big_residual();
  static const tess_act_t acts[] = { TESS_ACT_TANH, TESS_ACT_SIN, TESS_ACT_SOFTPLUS, TESS_ACT_GELU };
  for (int d = 0; d < 2; d++) {
    tess_dtype_t dt = d ? TESS_F32 : TESS_F64;
    for (int a = 0; a < 4; a++) compare_cpu(&problems[0], acts[a], dt, 100 + (uint64_t)a);
    compare_cpu(&problems[1], TESS_ACT_TANH, dt, 200);
    compare_cpu(&problems[2], TESS_ACT_TANH, dt, 300);
    check_ranks(dt);
  }
  check_auto();
  int rc = tess_test_finish("gpu_pinn");
  tess_finalize();
  MPI_Finalize();
  return rc;
}
