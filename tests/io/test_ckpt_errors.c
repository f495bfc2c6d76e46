/* tests/io/test_ckpt_errors.c: bad checkpoints give clear errors and load
 * nothing. Each case builds its bad input for real (a text file, a truncated
 * copy of a good checkpoint, a plain HDF5 file, a dataset of another shape
 * or dtype, another study or version), then checks the status, that the
 * message names the file and the dataset or key, that every rank got the
 * same status, and that the destination was not touched. Also the
 * checkpoint directory: made with its parents, or refused on every rank when
 * a file is in the way. Run in DIR. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <tessera/tessera.h>
#include "tess_test.h"

static int rank;
static char dir[1024];

static void path_of(char *buf, size_t cap, const char *name)
{
  snprintf(buf, cap, "%s/%s", dir, name);
}

/* status == code on all ranks and the message contains each needle. */
static void expect(tess_err_t got, tess_err_t code, const char *what, const char *n1,
                   const char *n2, const char *n3)
{
  int mine = got, lo = 0, hi = 0;
  MPI_Allreduce(&mine, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&mine, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  CHECK(lo == hi, "%s: ranks disagree on the status (%d..%d)", what, lo, hi);
  CHECK(got == code, "%s: status %d (%s), expected %d (%s); message: %s", what, got,
        tess_err_name(got), code, tess_err_name(code), tess_error_message());
  const char *msg = tess_error_message();
  const char *needles[3] = { n1, n2, n3 };
  for (int i = 0; i < 3; i++)
    if (needles[i]) CHECK(strstr(msg, needles[i]) != NULL, "%s: message lacks '%s': %s", what,
                          needles[i], msg);
  if (rank == 0) printf("  %-28s -> %s\n", what, msg);
  tess_error_clear();
}

static double formula(int64_t g) { return (double)g * 0.5 - 3.0; }

static void fill(const int64_t gidx[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  *(double *)v = formula(gidx[0] * 8 + gidx[1]);
}

/* Good checkpoint: fields/u (16x8 f64), opt/m (5 f64), study "errors". */
static tess_err_t write_good(tess_mesh_t *mesh, const char *path, const char *version,
                             int64_t format)
{
  tess_err_t err = TESS_OK;
  tess_array_t *u = NULL;
  tess_checkpoint_t *ck = NULL;
  tess_shardspec_t spec;
  const char *sp[2] = { "x", NULL };
  int64_t shape[2] = { 16, 8 };
  double m[5] = { 1, 2, 3, 4, 5 };
  tess_checkpoint_meta_t meta = { .study = "errors", .deck_text = "study = \"errors\"\n" };
  TESS_CHECK(tess_shardspec_make(mesh, 2, sp, &spec));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &u));
  TESS_CHECK(tess_array_fill(u, fill, NULL));
  TESS_CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, path, &ck));
  TESS_CHECK(tess_checkpoint_write_array(ck, "fields/u", u));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "opt/m", m, 5));
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  if (version) TESS_CHECK(tess_checkpoint_set_attr_string(ck, "tessera_version", version));
  if (format) TESS_CHECK(tess_checkpoint_set_attr_int(ck, "tessera_format", format));
  TESS_CHECK(tess_checkpoint_commit(&ck));
cleanup:
  tess_checkpoint_close(&ck);
  tess_array_destroy(&u);
  return err;
}

/* Every local element equals `v` (the sentinel a failed read must keep). */
static int untouched(tess_array_t *a, double v)
{
  const unsigned char *p = tess_array_local_data_const(a);
  size_t es = tess_dtype_size(tess_array_dtype(a));
  for (int64_t i = 0; i < tess_array_local_count(a); i++) {
    if (es == 8 && *(const double *)(p + i * 8) != v) return 0;
    if (es == 4 && *(const float *)(p + i * 4) != (float)v) return 0;
  }
  return 1;
}

static tess_err_t sentinel_array(tess_mesh_t *mesh, tess_dtype_t t, int64_t n0, int64_t n1,
                                 tess_array_t **a)
{
  tess_err_t err = TESS_OK;
  tess_shardspec_t spec;
  const char *sp[2] = { NULL, "x" };
  int64_t shape[2] = { n0, n1 };
  TESS_CHECK(tess_shardspec_make(mesh, 2, sp, &spec));
  TESS_CHECK(tess_array_create(mesh, t, 2, shape, &spec, TESS_MEM_HOST, a));
  unsigned char *p = tess_array_local_data(*a);
  for (int64_t i = 0; i < tess_array_local_count(*a); i++) {
    if (t == TESS_F64) ((double *)p)[i] = -77.0;
    else ((float *)p)[i] = -77.0f;
  }
cleanup:
  return err;
}

static void copy_prefix(const char *from, const char *to, double fraction)
{
  if (rank == 0) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    fseek(in, 0, SEEK_END);
    long n = ftell(in), keep = (long)((double)n * fraction);
    fseek(in, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    if (fread(buf, 1, (size_t)n, in) != (size_t)n) keep = 0;
    fwrite(buf, 1, (size_t)keep, out);
    free(buf);
    fclose(in);
    fclose(out);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
  tess_mesh_t *mesh = NULL;
  tess_checkpoint_t *ck = NULL;
  tess_array_t *a = NULL;
  char good[1100], p[1200];
  int size = 1, sizes[1];
  const char *names[1] = { "x" };
  tess_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : ".");
  sizes[0] = size;
  CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sizes, &mesh) == TESS_OK, "mesh");
  path_of(good, sizeof good, "good.h5");
  CHECK(write_good(mesh, good, NULL, 0) == TESS_OK, "good file: %s", tess_error_message());

  /* missing file */
  path_of(p, sizeof p, "no_such_checkpoint.h5");
  expect(tess_checkpoint_open(MPI_COMM_WORLD, p, &ck), TESS_ERR_IO, "missing file", p,
         "No such file", NULL);
  CHECK(ck == NULL, "no handle on failure");

  /* a text file */
  path_of(p, sizeof p, "notes.txt");
  if (rank == 0) { FILE *f = fopen(p, "w"); fputs("this is not HDF5\n", f); fclose(f); }
  MPI_Barrier(MPI_COMM_WORLD);
  expect(tess_checkpoint_open(MPI_COMM_WORLD, p, &ck), TESS_ERR_HDF5, "not HDF5", p,
         "not an HDF5 file", NULL);

  /* truncated copies of a good checkpoint */
  path_of(p, sizeof p, "truncated.h5");
  copy_prefix(good, p, 0.5);
  expect(tess_checkpoint_open(MPI_COMM_WORLD, p, &ck), TESS_ERR_HDF5, "truncated (half)", p,
         "truncated", NULL);
  copy_prefix(good, p, 0.001);
  tess_err_t e = tess_checkpoint_open(MPI_COMM_WORLD, p, &ck);
  expect(e, TESS_ERR_HDF5, "truncated (header only)", p, NULL, NULL);

  /* HDF5, but not a Tessera checkpoint */
  path_of(p, sizeof p, "plain.h5");
  if (rank == 0) {
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect(tess_checkpoint_open(MPI_COMM_WORLD, p, &ck), TESS_ERR_HDF5, "plain HDF5", p,
         "tessera_format", NULL);

  /* a newer format */
  path_of(p, sizeof p, "future.h5");
  CHECK(write_good(mesh, p, NULL, 99) == TESS_OK, "future file");
  expect(tess_checkpoint_open(MPI_COMM_WORLD, p, &ck), TESS_ERR_HDF5, "newer format", p,
         "format version 99", NULL);

  /* another major version of Tessera */
  path_of(p, sizeof p, "oldversion.h5");
  CHECK(write_good(mesh, p, "99.1.0", 0) == TESS_OK, "old version file");
  CHECK(tess_checkpoint_open(MPI_COMM_WORLD, p, &ck) == TESS_OK, "open old version");
  expect(tess_checkpoint_check_study(ck, "errors"), TESS_ERR_ARG, "other major version", p,
         "99.1.0", tess_version());
  tess_checkpoint_close(&ck);

  /* the good file, read wrongly */
  CHECK(tess_checkpoint_open(MPI_COMM_WORLD, good, &ck) == TESS_OK, "open good: %s",
        tess_error_message());
  CHECK(tess_checkpoint_check_study(ck, "errors") == TESS_OK, "right study");
  expect(tess_checkpoint_check_study(ck, "spectral_denoise"), TESS_ERR_ARG, "other study", good,
         "'errors'", "'spectral_denoise'");

  CHECK(sentinel_array(mesh, TESS_F64, 16, 9, &a) == TESS_OK, "array");
  expect(tess_checkpoint_read_array(ck, "fields/u", a), TESS_ERR_SHAPE, "wrong shape",
         "fields/u", "16x8", "16x9");
  CHECK(untouched(a, -77.0), "wrong shape: array untouched");
  tess_array_destroy(&a);

  CHECK(sentinel_array(mesh, TESS_F32, 16, 8, &a) == TESS_OK, "array");
  expect(tess_checkpoint_read_array(ck, "fields/u", a), TESS_ERR_SHAPE, "wrong dtype",
         "fields/u", "float64", good);
  CHECK(untouched(a, -77.0), "wrong dtype: array untouched");
  tess_array_destroy(&a);

  CHECK(sentinel_array(mesh, TESS_F64, 16, 8, &a) == TESS_OK, "array");
  expect(tess_checkpoint_read_array(ck, "fields/v", a), TESS_ERR_HDF5, "missing dataset",
         "fields/v", good, NULL);
  CHECK(untouched(a, -77.0), "missing dataset: array untouched");
  CHECK(tess_checkpoint_read_array(ck, "fields/u", a) == TESS_OK, "right read");
  tess_array_destroy(&a);

  double m[5] = { 9, 9, 9, 9, 9 };
  int64_t mi[5] = { 9, 9, 9, 9, 9 };
  expect(tess_checkpoint_read_f64(ck, "opt/m", m, 4), TESS_ERR_SHAPE, "vector length", "opt/m",
         "5 elements", "expected 4");
  CHECK(m[0] == 9 && m[3] == 9, "vector untouched");
  expect(tess_checkpoint_read_i64(ck, "opt/m", mi, 5), TESS_ERR_SHAPE, "vector dtype", "opt/m",
         "float64", NULL);
  CHECK(mi[0] == 9, "vector untouched");
  int64_t iv = 0;
  expect(tess_checkpoint_get_attr_int(ck, "no_such_key", &iv), TESS_ERR_ARG, "missing attribute",
         "no_such_key", good, NULL);
  expect(tess_checkpoint_get_attr_int(ck, "study", &iv), TESS_ERR_ARG, "attribute type", "study",
         "integer", NULL);
  tess_checkpoint_close(&ck);

  /* writing where it cannot: nothing left behind */
  path_of(p, sizeof p, "no_such_dir/x.h5");
  expect(tess_checkpoint_begin(MPI_COMM_WORLD, p, &ck), TESS_ERR_HDF5, "unwritable directory",
         "no_such_dir/x.h5.tmp", NULL, NULL);

  /* abandoned write: the previous file at the final name is untouched */
  CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, good, &ck) == TESS_OK, "begin over good");
  double z[2] = { 0, 0 };
  CHECK(tess_checkpoint_write_f64(ck, "opt/z", z, 2) == TESS_OK, "write");
  expect(tess_checkpoint_write_f64(ck, "opt/z", z, 2), TESS_ERR_HDF5, "dataset written twice",
         "opt/z", NULL, NULL);
  tess_checkpoint_close(&ck);   /* abort */
  snprintf(p, sizeof p, "%s.tmp", good);
  CHECK(access(p, F_OK) != 0, "temporary file removed on abort");
  CHECK(tess_checkpoint_open(MPI_COMM_WORLD, good, &ck) == TESS_OK, "good still opens");
  CHECK(tess_checkpoint_read_f64(ck, "opt/m", m, 5) == TESS_OK && m[4] == 5.0, "good intact");
  int has = 1;
  CHECK(tess_checkpoint_has(ck, "opt/z", &has) == TESS_OK && !has, "abandoned data not there");
  tess_checkpoint_close(&ck);

  /* checkpoint.dir: nested parents are made; a file in the way is refused */
  {
    tess_checkpoint_policy_t pol = { .prefix = "c", .keep = 1 };
    tess_checkpoint_manager_t *cm = NULL;
    char d[1200];
    struct stat st;
    path_of(d, sizeof d, "ckdir/a/b");
    pol.dir = d;
    CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, &cm) == TESS_OK,
          "nested checkpoint.dir: %s", tess_error_message());
    CHECK(stat(d, &st) == 0 && S_ISDIR(st.st_mode), "%s was not made", d);
    tess_checkpoint_manager_destroy(&cm);
    path_of(d, sizeof d, "notes.txt/sub");   /* notes.txt is a file */
    expect(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, &cm), TESS_ERR_IO,
           "checkpoint.dir under a file", "checkpoint.dir", d, NULL);
    CHECK(cm == NULL, "no manager on failure");
    path_of(d, sizeof d, "notes.txt");
    expect(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, &cm), TESS_ERR_IO,
           "checkpoint.dir is a file", "is not a directory", d, NULL);
  }

  tess_mesh_destroy(&mesh);
  int rc = tess_test_finish("checkpoint bad input");
  tess_finalize();
  return rc;
}
