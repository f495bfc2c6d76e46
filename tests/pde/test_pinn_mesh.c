/* tests/pde/test_pinn_mesh.c: tess_pinn_setup on a mesh axis. The seed
 * problem's loss and gradient with the chunks spread over axis "dp" of 2-axis
 * meshes of every shape dp x rep of the world (P x 1, 1 x P, 2 x P/2) are
 * bitwise those of the same problem set up alone on MPI_COMM_SELF (truth:
 * the serial run on each rank; replicas along "rep" agree by construction).
 * An axis that is not the mesh's is TESS_ERR_ARG naming the axes. */
#include <stdlib.h>
#include <string.h>
#include <tessera/pinn.h>
#include "tess_test.h"

static const char *const in[] = { "x", "y" }, *const out[] = { "psi" };
static const char *const res[] = { "laplacian(psi) - forcing", "grad(u,\"x\") + grad(v,\"y\")" };
static const char *const bres[] = { "psi - sin(pi*x)*sin(pi*y)" };
static tess_pinn_box_t bi = { .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 5, .stream = 1 };
static tess_pinn_box_t bb = { .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 5, .stream = 2 };

/* Build the problem; setup on (mesh, axis) or, with mesh NULL, on MPI_COMM_SELF. */
static tess_err_t build(tess_mesh_t *mesh, const char *axis, tess_mlp_t **m, tess_pinn_t **p)
{
  tess_err_t err = TESS_OK;
  int widths[4] = { 2, 12, 10, 1 };
  TESS_CHECK(tess_mlp_create(3, widths, TESS_ACT_TANH, TESS_F64, m));
  TESS_CHECK(tess_mlp_init(*m, TESS_INIT_GLOROT, 7));
  TESS_CHECK(tess_pinn_create(*m, in, out, p));
  TESS_CHECK(tess_pinn_define(*p, "u", "grad(psi,\"y\")"));
  TESS_CHECK(tess_pinn_define(*p, "v", "-grad(psi,\"x\")"));
  TESS_CHECK(tess_pinn_define(*p, "forcing", "-2*pi^2*sin(pi*x)*sin(pi*y)"));
  TESS_CHECK(tess_pinn_set_chunk(*p, 32));
  TESS_CHECK(tess_pinn_add_set(*p, "interior", 333, tess_pinn_box_interior, &bi, 1.0 / 333, 2, res));
  TESS_CHECK(tess_pinn_add_set(*p, "boundary", 70, tess_pinn_box_boundary, &bb, 10.0 / 70, 1, bres));
  if (mesh) TESS_CHECK(tess_pinn_setup(*p, mesh, axis));
  else TESS_CHECK(tess_pinn_setup_comm(*p, MPI_COMM_SELF));
cleanup:
  return err;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int P = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  tess_mlp_t *m0 = NULL;
  tess_pinn_t *p0 = NULL;
  CHECK(build(NULL, NULL, &m0, &p0) == TESS_OK, "serial build");
  size_t n = tess_pinn_nparams(p0);
  double *th = malloc(n * sizeof *th), *g0 = malloc(n * sizeof *g0), *g = malloc(n * sizeof *g), L0 = 0;
  tess_mlp_get_params(m0, th);
  CHECK(tess_pinn_loss_grad(p0, th, &L0, g0) == TESS_OK, "serial loss");
  int shapes[3][2] = { { P, 1 }, { 1, P }, { 2, P / 2 } };
  for (int k = 0; k < (P % 2 == 0 && P > 2 ? 3 : 2); k++) {
    const char *names[2] = { "dp", "rep" };
    tess_mesh_t *mesh = NULL;
    tess_mlp_t *m = NULL;
    tess_pinn_t *p = NULL;
    double L = 0;
    CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, shapes[k], &mesh) == TESS_OK, "mesh");
    CHECK(build(mesh, "dp", &m, &p) == TESS_OK, "build on %dx%d", shapes[k][0], shapes[k][1]);
    CHECK(p && tess_pinn_loss_grad(p, th, &L, g) == TESS_OK, "loss on %dx%d", shapes[k][0], shapes[k][1]);
    CHECK(memcmp(&L, &L0, sizeof L) == 0 && memcmp(g, g0, n * sizeof *g) == 0,
          "mesh %dx%d: loss %.17g vs serial %.17g or gradient bits differ", shapes[k][0], shapes[k][1], L, L0);
    tess_pinn_destroy(&p);
    tess_mlp_destroy(&m);
    /* a wrong axis name is an argument error that names the axes */
    CHECK(build(mesh, "data", &m, &p) == TESS_ERR_ARG && strstr(tess_error_message(), "dp"),
          "bad axis: '%s'", tess_error_message());
    tess_error_clear();
    tess_pinn_destroy(&p);
    tess_mlp_destroy(&m);
    tess_mesh_destroy(&mesh);
  }
  tess_pinn_destroy(&p0);
  tess_mlp_destroy(&m0);
  free(th); free(g0); free(g);
  int rc = tess_test_finish("test_pinn_mesh");
  MPI_Finalize();
  return rc;
}
