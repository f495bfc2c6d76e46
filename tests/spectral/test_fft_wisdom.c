/* tests/spectral/test_fft_wisdom.c: FFTW_MEASURE plans share rank 0's
 * wisdom. A measured pencil/slab plan at P ranks must give bitwise the same
 * spectrum as the same measured plan on rank 0 alone (which reuses rank 0's
 * wisdom): if another rank had measured on its own and picked a different
 * algorithm, its lines would round differently. The wisdom file must be
 * written by rank 0 and be loadable (and the measured result must still
 * match serial FFTW to the usual tolerance). A malformed wisdom file fails
 * the plan on every rank (no hang), naming the file on rank 0.
 * usage: test_fft_wisdom FILE */
#include <tessera/tessera.h>
#include <fftw3.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "tess_test.h"

#define N0 20
#define N1 18
#define N2 16

static void fill(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  double *z = v;
  uint64_t lin = (uint64_t)((g[0] * N1 + g[1]) * N2 + g[2]);
  z[0] = tess_rng_uniform(3, 0, lin) - 0.5;
  z[1] = tess_rng_uniform(3, 1, lin) - 0.5;
}

static tess_err_t run(MPI_Comm comm, const char *wisdom, double *gout)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *x = NULL, *X = NULL;
  tess_fft_plan_t *p = NULL;
  tess_shardspec_t sp;
  tess_fft_opts_t o = {0};
  int P, dims[2] = {0, 0}, axes[2] = {0, 1};
  const char *names[2] = {"a", "b"};
  int64_t shape[3] = {N0, N1, N2};
  MPI_Comm_size(comm, &P);
  MPI_Dims_create(P, 2, dims);
  TESS_CHECK(tess_mesh_create(comm, 2, names, dims, &mesh));
  TESS_CHECK(tess_fft_spec(3, 3, 2, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(mesh, TESS_C128, 3, shape, &sp, TESS_MEM_HOST, &x));
  TESS_CHECK(tess_array_fill(x, fill, NULL));
  TESS_CHECK(tess_fft_create_output(x, 3, TESS_FFT_LAYOUT_TRANSPOSED, &X));
  o.flags = TESS_FFT_MEASURE;
  o.wisdom_file = wisdom;
  TESS_CHECK(tess_fft_plan_create_opts(x, X, TESS_FFT_FORWARD, &o, &p));
  TESS_CHECK(tess_fft_execute(p, x, X));
  TESS_CHECK(tess_array_gather(X, 0, gout));
cleanup:
  tess_fft_plan_destroy(&p);
  tess_array_destroy(&x);
  tess_array_destroy(&X);
  tess_mesh_destroy(&mesh);
  return err;
}

int main(int argc, char **argv)
{
  tess_init(&argc, &argv);
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  const char *file = argc > 1 ? argv[1] : "fft_wisdom_test.wis";
  size_t n = (size_t)N0 * N1 * N2;
  double *a = calloc(2 * n, sizeof(double)), *b = calloc(2 * n, sizeof(double));
  if (r == 0) { unlink(file); }
  tess_err_t e = run(MPI_COMM_WORLD, file, a);
  if (e) tess_error_print(stderr);
  CHECK(e == TESS_OK, "measured distributed plan failed");
  if (r == 0) {
    CHECK(access(file, R_OK) == 0, "wisdom file %s was not written", file);
    e = run(MPI_COMM_SELF, file, b);   /* loads the file, reuses rank 0's wisdom */
    if (e) tess_error_print(stderr);
    CHECK(e == TESS_OK, "measured 1-rank plan failed");
    CHECK(memcmp(a, b, 2 * n * sizeof(double)) == 0,
          "measured spectrum at all ranks differs bitwise from rank 0 alone");
    /* and it is still the right answer */
    fftw_complex *in = fftw_alloc_complex(n), *out = fftw_alloc_complex(n);
    fftw_plan fp = fftw_plan_dft_3d(N0, N1, N2, in, out, FFTW_FORWARD, FFTW_ESTIMATE);
    for (int i0 = 0; i0 < N0; i0++)
      for (int i1 = 0; i1 < N1; i1++)
        for (int i2 = 0; i2 < N2; i2++) {
          int64_t g[3] = {i0, i1, i2};
          fill(g, 3, in[(i0 * N1 + i1) * N2 + i2], NULL);
        }
    fftw_execute(fp);
    double me = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
      me = fmax(me, hypot(a[2 * i] - out[i][0], a[2 * i + 1] - out[i][1]));
      mr = fmax(mr, hypot(out[i][0], out[i][1]));
    }
    double tol = 20 * 0x1p-53 * (1 + log2((double)n));
    CHECK(me <= tol * mr, "measured plan vs serial FFTW: %.3g > %.3g", me, tol * mr);
    fftw_destroy_plan(fp);
    fftw_free(in);
    fftw_free(out);
  }
  {
    char bad[4096];
    snprintf(bad, sizeof bad, "%s.bad", file);
    if (r == 0) {
      FILE *fp = fopen(bad, "w");
      fputs("(fftw-3.3.10 fftw_wisdom #x0 this is not wisdom", fp);
      fclose(fp);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    e = run(MPI_COMM_WORLD, bad, a);
    CHECK(e != TESS_OK, "a malformed wisdom file was accepted");
    if (r == 0)
      CHECK(strstr(tess_error_message(), bad) != NULL && tess_error_code() == TESS_ERR_IO,
            "rank 0's error does not name the wisdom file: %s", tess_error_message());
    tess_error_clear();
    MPI_Barrier(MPI_COMM_WORLD);
    if (r == 0) unlink(bad);
  }
  free(a);
  free(b);
  int rc = tess_test_finish("spectral_fft_wisdom");
  tess_finalize();
  return rc;
}
